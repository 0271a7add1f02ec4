//! The attempt loop: send, classify what happened, ask [`crate::retry::decide`] once, then
//! retry or stop with an error that says whether the request was sent and may have been
//! processed.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::time::Instant;
use tracing::Instrument;

use super::auth::AuthHeader;
use super::errors::{log_stop, transport_error};
use super::response::request_id_str;
use super::{MAX_BODY, Request, Response, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::idempotency::IdempotencyKey;
use crate::limit::{Denied, RateKey};
use crate::retry::{
    Decision, Outcome, RetryPolicy, Safety, Stop, decide, is_transient_status, parse_retry_after,
};

/// The settings of one call: the client's, or a [`crate::RequestOptions`] override.
pub(super) struct Settings<'a> {
    pub(super) retry: &'a RetryPolicy,
    pub(super) attempt_timeout: Duration,
    pub(super) total_timeout: Duration,
    pub(super) key: Option<IdempotencyKey>,
}

/// An HTTP answer, body read in full.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    pub(super) retry_after: Option<Duration>,
}

/// What one attempt ended with.
struct Attempt {
    outcome: Outcome,
    answer: Option<Answer>,
    source: Option<reqwest::Error>,
}

/// One call in progress.
struct Call<'a> {
    transport: &'a Transport,
    req: &'a Request,
    key: Option<IdempotencyKey>,
    /// The idempotency header's value, built once per call.
    key_header: Option<HeaderValue>,
    retry: &'a RetryPolicy,
    attempt_timeout: Duration,
    deadline: Instant,
    attempt: u32,
    /// Whether any attempt may have reached the provider (only a connect failure proves one
    /// did not).
    sent: bool,
    /// Whether any attempt may have been processed (a timeout, a broken connection or a 5xx
    /// after sending). For a key-protected call that means the operation may have succeeded,
    /// while repeating it with the same key stays safe.
    processed: bool,
    /// What the last retry drew from the client's retry budget (given back on success).
    budget_held: Option<u32>,
}

impl Transport {
    /// Runs one call: checks, then attempts until success or a stop.
    #[expect(
        clippy::manual_async_fn,
        reason = "an `async fn` stores a by-value argument twice in its future (see `a_call_future_stays_small`)"
    )]
    pub(super) fn run<'a>(
        &'a self,
        req: &'a Request,
        settings: Settings<'a>,
    ) -> impl Future<Output = Result<Response>> + 'a {
        async move {
            let inner = &*self.inner;
            let provider = inner.provider;
            let opts = &inner.options;
            let key_header = match (&req.idempotency_header, &settings.key) {
                (Some(_), Some(k)) => HeaderValue::from_str(k.as_str()).ok(),
                _ => None,
            };
            let mut call = Call {
                transport: self,
                req,
                key: settings.key,
                key_header,
                retry: settings.retry,
                attempt_timeout: settings.attempt_timeout,
                deadline: crate::retry::deadline_after(Instant::now(), settings.total_timeout),
                attempt: 0,
                sent: false,
                processed: false,
                budget_held: None,
            };
            if req.safety == Safety::KeyProtected && call.key.is_none() {
                return Err(Error::config(
                    provider,
                    format!(
                        "operation `{}` is key-protected but no idempotency key was set",
                        req.operation
                    ),
                ));
            }
            // Whatever way this call ends (an error before any attempt, or the caller dropping the
            // future), a half-open breaker's probe slot is handed back; `record` below reports
            // the attempts themselves.
            let _probe = ProbeGuard(opts.circuit_breaker.as_ref());
            if let Some(b) = &opts.circuit_breaker
                && let Err(wait) = b.check()
            {
                return Err(call.fail(
                    Error::new(
                        ErrorKind::CircuitOpen,
                        provider,
                        "circuit breaker is open after repeated failures; nothing was sent",
                    )
                    .with_retry_after(Some(wait))
                    .with_retryable(true),
                ));
            }
            // Built before the first attempt (a bad path fails before anything is sent); a retry
            // builds it again rather than keeping a copy for an attempt that rarely comes.
            let mut first_url = Some(self.target(req)?);
            let (auth, body) = self.prepare_auth(req)?;

            loop {
                let now = call.wait_for_slot().await?;
                call.attempt += 1;
                let span = tracing::debug_span!(
                    "payout.attempt",
                    http.request.resend_count = call.attempt - 1,
                    http.response.status_code = tracing::field::Empty,
                    error.type = tracing::field::Empty,
                );
                let url = match first_url.take() {
                    Some(u) => u,
                    None => self.target(req)?,
                };
                let attempt = call.send_once(now, url, auth.as_ref(), body.as_ref());
                let attempt = if span.is_disabled() {
                    attempt.await?
                } else {
                    attempt.instrument(span.clone()).await?
                };
                call.note(&attempt, &span);
                let Attempt {
                    outcome,
                    answer,
                    source,
                } = attempt;
                let answer = match answer {
                    Some(a) if (200..300).contains(&a.status) => return Ok(call.success(a)),
                    other => other,
                };
                // Asked once per attempt, whatever the attempt ended with.
                let decision = decide(
                    call.retry,
                    req.safety,
                    &outcome,
                    call.attempt - 1,
                    call.retry.sample_jitter(),
                    Some(call.deadline.saturating_duration_since(Instant::now())),
                );
                // The client's retry budget pays for the retry, or turns it into a stop with the
                // transient error this attempt ended with.
                let (decision, budget_spent) = match (decision, &opts.retry_budget) {
                    (Decision::Retry(delay), Some(budget)) => {
                        let cost = budget.cost_of(outcome == Outcome::TimedOut);
                        if budget.try_withdraw(cost) {
                            call.budget_held = Some(cost);
                            (Decision::Retry(delay), false)
                        } else {
                            (Decision::Stop(Stop::Exhausted), true)
                        }
                    }
                    (d, _) => (d, false),
                };
                let stop = match decision {
                    Decision::Retry(delay) => {
                        tracing::info!(
                            attempt = call.attempt,
                            outcome = outcome_label(&outcome),
                            delay_ms = delay.as_millis() as u64,
                            "retrying"
                        );
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    Decision::Stop(stop) => stop,
                };
                let e = match answer {
                    Some(a) => {
                        let request_id = self.request_id(&a.headers);
                        self.status_error(&req.redact, req.safety, &stop, &a)
                            .with_request_id(request_id.as_ref().and_then(request_id_str).map(str::to_string))
                    }
                    None => {
                        let e = transport_error(provider, req.safety, &stop, &outcome);
                        match source {
                            Some(s) => e.with_source(s),
                            None => e,
                        }
                    }
                };
                let e = if budget_spent {
                    let m = format!(
                        "{}; not retried: this client's retry budget is spent (many retries lately: is the provider down?)",
                        e.message()
                    );
                    e.with_message(m)
                } else {
                    e
                };
                let e = call.fail(e);
                log_stop(&e);
                return Err(e);
            }
        }
    }

    /// The call's URL. The base URL was parsed once, in [`Transport::new`]: a call copies it
    /// and sets only its path and query (the scheme, host and port are not parsed again, and
    /// the result is the URL that parsing base, path and query as one string gives). A path
    /// carrying its own `?` or `#` takes the slow way: the whole string, parsed.
    pub(super) fn target(&self, req: &Request) -> Result<url::Url> {
        let path = &*req.path;
        if has_dot_segment(path) {
            // URL parsing (and `Url::set_path`) resolve `.` and `..` segments, so an id of `.`
            // or `..` would call another endpoint (`/orders/../cancel` is `/cancel`). No
            // percent-encoding protects it: `%2e` counts as a dot too.
            return Err(Error::invalid_input(
                self.inner.provider,
                "path",
                "has a `.` or `..` segment (an id cannot be `.` or `..`): it would call another endpoint",
            ));
        }
        if let Some(base) = &self.inner.base_parsed
            && !path.contains(['?', '#'])
        {
            let mut url = base.clone();
            let base_path = &*self.inner.base_path;
            if base_path.is_empty() && path.starts_with('/') {
                url.set_path(path);
            } else {
                let mut full = String::with_capacity(base_path.len() + path.len() + 1);
                full.push_str(base_path);
                if !path.starts_with('/') {
                    full.push('/');
                }
                full.push_str(path);
                url.set_path(&full);
            }
            if !req.query.is_empty() {
                url.query_pairs_mut()
                    .extend_pairs(req.query.iter().map(|(k, v)| (*k, v.as_str())));
            }
            return Ok(url);
        }
        let base = &self.inner.base_url;
        let mut s = String::with_capacity(base.len() + path.len() + 1 + req.query.len() * 16);
        s.push_str(base);
        if !path.starts_with('/') {
            s.push('/');
        }
        s.push_str(path);
        if !req.query.is_empty() {
            let start = match s.find('?') {
                Some(i) => i + 1,
                None => {
                    s.push('?');
                    s.len()
                }
            };
            let mut q = url::form_urlencoded::Serializer::for_suffix(s, start);
            for (k, v) in &req.query {
                q.append_pair(k, v);
            }
            s = q.finish();
        }
        parse_url(self.inner.provider, &s)
    }

    /// The first configured request id header present (no allocation: the value is a
    /// reference-counted view).
    pub(super) fn request_id(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        self.inner
            .request_id_headers
            .iter()
            .find_map(|h| headers.get(h))
            .cloned()
    }
}

/// True if a segment of `path` (before any `?` or `#`) is `.` or `..`, spelled plain or with
/// `%2e` in either case.
fn has_dot_segment(path: &str) -> bool {
    // Most paths have neither a dot nor a percent sign: one scan says so.
    if !path.bytes().any(|b| b == b'.' || b == b'%') {
        return false;
    }
    let path = path.split(['?', '#']).next().unwrap_or("");
    path.split('/').any(|seg| {
        let b = seg.as_bytes();
        let dots = |b: &[u8]| -> Option<usize> {
            let (mut i, mut n) = (0, 0);
            while i < b.len() {
                if b[i] == b'.' {
                    i += 1;
                } else if b.len() >= i + 3
                    && b[i] == b'%'
                    && b[i + 1] == b'2'
                    && b[i + 2].eq_ignore_ascii_case(&b'e')
                {
                    i += 3;
                } else {
                    return None;
                }
                n += 1;
            }
            Some(n)
        };
        matches!(dots(b), Some(1 | 2))
    })
}

fn parse_url(provider: &'static str, s: &str) -> Result<url::Url> {
    let url = url::Url::parse(s)
        .map_err(|e| Error::invalid_input(provider, "path", format!("does not form a valid URL: {e}")))?;
    // Dot segments in the call's path were refused in `target` before this (see
    // `has_dot_segment`); the base URL was normalised once, in `Transport::new`.
    Ok(url)
}

#[cfg(test)]
mod dot_tests {
    use super::has_dot_segment;

    #[test]
    fn dot_segments_are_found_in_every_spelling() {
        for p in [
            "/orders/./x",
            "/orders/..",
            "/a/%2e/b",
            "/a/%2E%2e",
            "/a/.%2e/b",
            "/..",
        ] {
            assert!(has_dot_segment(p), "{p}");
        }
        for p in [
            "/orders/a.b",
            "/orders/...",
            "/orders/x",
            "/",
            "/a/%2ex",
            "/a?x=..",
            "/v1.2/x",
        ] {
            assert!(!has_dot_segment(p), "{p}");
        }
    }
}

impl Call<'_> {
    /// Adds what every error of this call carries: key, attempts, whether it was sent, and
    /// "may have succeeded" for a key-protected call that may have been processed.
    fn fail(&self, e: Error) -> Error {
        let e = e
            .with_idempotency_key(self.key.clone())
            .with_attempts(self.attempt)
            .with_sent(self.sent);
        if self.req.safety == Safety::KeyProtected && self.processed {
            e.with_may_have_succeeded(true)
        } else {
            e
        }
    }

    /// Waits for the client-side rate limit; fails when no slot comes before the deadline
    /// (with the wait it needed), when the limiter cannot decide, or when the deadline has
    /// passed. In each case this attempt is not sent. Returns the time it checked the deadline
    /// at: the attempt starts then (one clock read for both).
    async fn wait_for_slot(&self) -> Result<Instant> {
        let provider = self.transport.inner.provider;
        if let Some(l) = &self.transport.inner.options.rate_limit {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let key = RateKey::new(provider, self.req.operation);
            match l.acquire(&key, left).await {
                Ok(()) => {}
                Err(Denied::Wait(needed)) => {
                    return Err(self.fail(
                        Error::new(
                            ErrorKind::RateLimited,
                            provider,
                            format!(
                                "client-side rate limit: the next slot is {} ms away, after the deadline; nothing was sent",
                                needed.as_millis()
                            ),
                        )
                        .with_retry_after(Some(needed))
                        .with_retryable(true),
                    ));
                }
                Err(Denied::Unavailable(source)) => {
                    return Err(self.fail(
                        Error::new(
                            ErrorKind::Transport,
                            provider,
                            "the client-side rate limiter could not be asked; nothing was sent",
                        )
                        .with_boxed_source(source)
                        .with_retryable(true),
                    ));
                }
            }
        }
        let now = Instant::now();
        if now >= self.deadline {
            let e = Error::new(ErrorKind::Timeout, provider, "deadline reached before sending")
                .with_retryable(true);
            return Err(self.fail(e));
        }
        Ok(now)
    }

    /// Sends one attempt and reads the answer in full. `Err` only for a body too large to
    /// read (a final decode error).
    #[expect(
        clippy::manual_async_fn,
        reason = "an `async fn` stores a by-value argument twice in its future (see `a_call_future_stays_small`)"
    )]
    fn send_once<'b>(
        &'b self,
        now: Instant,
        url: url::Url,
        auth: Option<&'b AuthHeader>,
        body: Option<&'b Bytes>,
    ) -> impl Future<Output = Result<Attempt>> + 'b {
        async move {
            let inner = &*self.transport.inner;
            let req = self.req;
            let mut rb = inner
                .client
                .request(req.method.clone(), url)
                .header(header::USER_AGENT, inner.user_agent.clone())
                .header(header::ACCEPT, HeaderValue::from_static("application/json"));
            if let Some((name, value)) = auth {
                rb = rb.header(name.clone(), value.clone());
            }
            if let (Some(name), Some(v)) = (&req.idempotency_header, &self.key_header) {
                rb = rb.header(name.clone(), v.clone());
            }
            for (n, v) in &req.headers {
                rb = rb.header(n.clone(), v.clone());
            }
            if let Some(b) = body {
                // `Bytes` clones are a reference count, not a copy of the body.
                rb = rb
                    .header(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(b.clone());
            }
            // One timer per attempt, at the earlier of the call's deadline and this attempt's own
            // limit (`now` is when `wait_for_slot` checked the deadline, a moment ago).
            let until = now
                .checked_add(self.attempt_timeout)
                .map_or(self.deadline, |t| t.min(self.deadline));
            let result = tokio::time::timeout_at(until, async {
                let mut resp = rb.send().await?;
                let status = resp.status().as_u16();
                // Taken, not cloned: the response is consumed by the body read below.
                let headers = std::mem::take(resp.headers_mut());
                let body = read_body(resp).await?;
                Ok::<_, BodyError>((status, headers, body))
            })
            .await;
            let attempt = match result {
                Err(_elapsed) => Attempt {
                    outcome: Outcome::TimedOut,
                    answer: None,
                    source: None,
                },
                Ok(Err(BodyError::TooLarge(status))) => {
                    let e = Error::decode(inner.provider, Some(status), "response body larger than 16 MiB");
                    return Err(self.fail(e).with_sent(true));
                }
                Ok(Err(BodyError::Http(e))) => Attempt {
                    outcome: classify(&e),
                    answer: None,
                    source: Some(e.without_url()),
                },
                Ok(Ok((status, headers, body))) => {
                    let retry_after = headers
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    Attempt {
                        outcome: Outcome::Status { status, retry_after },
                        answer: Some(Answer {
                            status,
                            headers,
                            body,
                            retry_after,
                        }),
                        source: None,
                    }
                }
            };
            tracing::debug!(
                attempt = self.attempt,
                outcome = outcome_label(&attempt.outcome),
                status = attempt.answer.as_ref().map(|a| a.status),
                // Read the clock only when the event is wanted.
                latency_ms = now.elapsed().as_millis() as u64,
                "attempt finished"
            );
            Ok(attempt)
        }
    }

    /// Books what an attempt ended with: sent / processed, the circuit breaker, the span.
    fn note(&mut self, attempt: &Attempt, span: &tracing::Span) {
        let outcome = &attempt.outcome;
        self.sent |= *outcome != Outcome::NotSent;
        self.processed |= match outcome {
            Outcome::TimedOut | Outcome::Interrupted => true,
            Outcome::Status { status, .. } => is_transient_status(*status),
            Outcome::NotSent => false,
        };
        if let Some(b) = &self.transport.inner.options.circuit_breaker {
            b.record(!is_failure(outcome));
        }
        if !span.is_disabled() {
            match &attempt.answer {
                Some(a) => {
                    span.record("http.response.status_code", a.status);
                    if a.status >= 400 {
                        span.record("error.type", status_error_type(a.status));
                    }
                }
                None => {
                    span.record("error.type", outcome_label(outcome));
                }
            }
        }
    }

    /// The 2xx response.
    fn success(self, a: Answer) -> Response {
        if let Some(budget) = &self.transport.inner.options.retry_budget {
            budget.on_success(self.budget_held);
        }
        let request_id = self.transport.request_id(&a.headers);
        Response {
            transport: self.transport.clone(),
            status: a.status,
            headers: a.headers,
            body: a.body,
            request_id,
            idempotency_key: self.key,
            attempts: self.attempt,
            redact: self.req.redact.clone(),
        }
    }
}

/// The OpenTelemetry `error.type` of an HTTP status: the status code itself (a static string,
/// so recording it never formats), or its class for a code providers do not document.
fn status_error_type(status: u16) -> &'static str {
    match status {
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        422 => "422",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

/// Releases a circuit breaker's probe slot when a call ends, however it ends.
struct ProbeGuard<'a>(Option<&'a crate::limit::CircuitBreaker>);

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if let Some(b) = self.0 {
            b.release();
        }
    }
}

pub(super) fn outcome_label(o: &Outcome) -> &'static str {
    match o {
        Outcome::NotSent => "not_sent",
        Outcome::TimedOut => "timed_out",
        Outcome::Interrupted => "interrupted",
        Outcome::Status { .. } => "response",
    }
}

fn is_failure(o: &Outcome) -> bool {
    match o {
        Outcome::Status { status, .. } => *status >= 500,
        _ => true,
    }
}

fn classify(e: &reqwest::Error) -> Outcome {
    if e.is_connect() {
        Outcome::NotSent
    } else if e.is_timeout() {
        Outcome::TimedOut
    } else {
        Outcome::Interrupted
    }
}

enum BodyError {
    Http(reqwest::Error),
    TooLarge(u16),
}

impl From<reqwest::Error> for BodyError {
    fn from(e: reqwest::Error) -> Self {
        BodyError::Http(e)
    }
}

/// (A function returning an `async move` block: an `async fn` would keep the response twice.)
#[expect(
    clippy::manual_async_fn,
    reason = "an `async fn` stores a by-value argument twice in its future (see `a_call_future_stays_small`)"
)]
fn read_body(mut resp: reqwest::Response) -> impl Future<Output = std::result::Result<Bytes, BodyError>> {
    async move {
        let status = resp.status().as_u16();
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(BodyError::TooLarge(status));
        }
        // Most bodies arrive in one chunk: keep it as is and copy only when a second one comes.
        let mut first: Option<Bytes> = None;
        let mut buf = bytes::BytesMut::new();
        while let Some(chunk) = resp.chunk().await? {
            if first.is_none() && buf.is_empty() {
                first = Some(chunk);
                continue;
            }
            if let Some(f) = first.take() {
                buf.extend_from_slice(&f);
            }
            if buf.len() + chunk.len() > MAX_BODY {
                return Err(BodyError::TooLarge(status));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(first.unwrap_or_else(|| buf.freeze()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::transport::{AuthScheme, TransportConfig};

    fn transport(base: &str) -> Transport {
        Transport::new(TransportConfig {
            provider: "test",
            version: "0",
            base_url: base.to_string(),
            credential: None,
            auth: AuthScheme::None,
            request_id_headers: &[],
            error_decoder: Arc::new(|_: u16, _: &HeaderMap, _: &[u8]| crate::transport::ErrorInfo::default()),
            options: Default::default(),
        })
        .unwrap()
    }

    /// Hot-path rule: a call's future stays small. Every layer above it (the provider's method,
    /// the caller's code, `tokio::spawn`) holds and copies it, and an `async fn` stores a
    /// by-value argument twice (the request is about 300 bytes, the response 136), so the
    /// transport's layers are functions returning `async move` blocks: 2,632 bytes with
    /// `async fn`s, 2,032 now.
    #[test]
    fn a_call_future_stays_small() {
        let t = transport("http://127.0.0.1:1");
        let size = std::mem::size_of_val(&t.send(Request::get("op", "/t")));
        assert!(size <= 2_200, "Transport::send's future is {size} bytes");
    }

    /// Hot-path rule: the base URL is parsed once and a call only sets its path and query.
    /// The URL must be exactly the one parsing `base + path + ?query` as one string gives.
    #[test]
    fn url_from_the_parsed_base_equals_parsing_the_whole_string() {
        let bases = [
            "http://127.0.0.1:8080",
            "https://api.example.com/",
            "https://api.example.com/agent/a12d5be1-3456",
            "https://api.example.com/v1/agent%2Fx/",
            "http://[::1]:9000/base",
            "https://user@host.example:8443/a/../b",
        ];
        let paths = [
            "/orders",
            "orders/42",
            "",
            "/",
            "/products/%2E%2E/x",
            "/a b/ü/%41",
            "//double/slash",
            "/x/./y/../z",
            "/with?already=1",
            "/frag#x",
        ];
        let queries: [&[(&'static str, &str)]; 3] = [
            &[],
            &[("transferId", "123")],
            &[("q", "a b&c=d+é"), ("cursor", "c/2?x#y"), ("empty", "")],
        ];
        for base in bases {
            let t = transport(base);
            for path in paths {
                for query in queries {
                    let mut req = Request::get("op", "/t").path(path);
                    for (k, v) in query {
                        req = req.query(k, v);
                    }
                    let got = match t.target(&req) {
                        Ok(url) => url,
                        // A `.`/`..` segment is refused before sending (it would call another
                        // endpoint); the other paths must build.
                        Err(e) => {
                            assert!(super::has_dot_segment(path), "{path}: {e}");
                            continue;
                        }
                    };
                    assert!(!super::has_dot_segment(path), "{path} was not refused");
                    // The reference: one string, parsed (the pre-cache behaviour).
                    let mut s = base.trim_end_matches('/').to_string();
                    if !path.starts_with('/') {
                        s.push('/');
                    }
                    s.push_str(path);
                    if !query.is_empty() {
                        let start = match s.find('?') {
                            Some(i) => i + 1,
                            None => {
                                s.push('?');
                                s.len()
                            }
                        };
                        let mut q = url::form_urlencoded::Serializer::for_suffix(s, start);
                        for (k, v) in query {
                            q.append_pair(k, v);
                        }
                        s = q.finish();
                    }
                    let want = url::Url::parse(&s).unwrap();
                    assert_eq!(
                        got.as_str(),
                        want.as_str(),
                        "base {base:?} path {path:?} query {query:?}"
                    );
                }
            }
        }
    }
}
