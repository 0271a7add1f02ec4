//! The HTTP transport every provider client is built on: one pooled `reqwest::Client`,
//! auth injection, timeouts, the retry loop that obeys [`crate::retry::decide`], the
//! rate limiter, the circuit breaker and tracing without bodies or secrets.

use std::borrow::Cow;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::{Error, ErrorKind, Result, redact_snippet};
use crate::idempotency::IdempotencyKey;
use crate::options::ClientOptions;
use crate::retry::{Decision, Outcome, Safety, Stop, decide, parse_retry_after};

/// An auth header computed once per call.
type AuthHeader = (HeaderName, HeaderValue);

/// The largest response body we read; anything bigger is refused as a decode error.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// How much of an undecodable body an error keeps.
const SNIPPET_LEN: usize = 240;

/// Where the credential goes on each request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthScheme {
    /// No credential (public endpoints).
    None,
    /// A custom header carrying the key as is (`rocheap-api-key: <key>`, `X-API-Key: <key>`).
    Header(HeaderName),
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: <key>`, no scheme word (the agent catalog API).
    RawAuthorization,
    /// The key as a string field of the JSON request body (RohoPay checkout:
    /// `{"api_key": "...", ...}`). The body must be a JSON object.
    JsonBodyField(&'static str),
}

/// What a provider's error envelope said, decoded by the provider crate.
#[derive(Debug, Clone, Default)]
pub struct ErrorInfo {
    /// The provider's error code.
    pub code: Option<String>,
    /// The provider's message.
    pub message: Option<String>,
    /// A request id found in the body.
    pub request_id: Option<String>,
    /// A more precise kind than the HTTP status suggests (an ambiguous outcome is never
    /// downgraded by it).
    pub kind: Option<ErrorKind>,
}

/// Turns a provider's non-2xx response into [`ErrorInfo`]. Implemented by each provider crate;
/// any `Fn(u16, &HeaderMap, &[u8]) -> ErrorInfo` works.
pub trait ErrorDecoder: Send + Sync + 'static {
    /// Decodes the error body. Must not panic on any input (HTML pages, truncated JSON).
    fn decode(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> ErrorInfo;
}

impl<F> ErrorDecoder for F
where
    F: Fn(u16, &HeaderMap, &[u8]) -> ErrorInfo + Send + Sync + 'static,
{
    fn decode(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> ErrorInfo {
        self(status, headers, body)
    }
}

/// What a provider crate tells [`Transport::new`].
pub struct TransportConfig {
    /// Short provider name used in errors and traces (`"rocheap"`).
    pub provider: &'static str,
    /// The crate's version, for the user agent `<provider>/<version>`.
    pub version: &'static str,
    /// The base URL every path is appended to (no trailing slash needed).
    pub base_url: String,
    /// The credential, if the provider needs one.
    pub credential: Option<SecretString>,
    /// Where the credential goes by default (a request may override it).
    pub auth: AuthScheme,
    /// Response headers that carry the provider's request id, checked in order.
    pub request_id_headers: &'static [&'static str],
    /// Decodes the provider's error envelope.
    pub error_decoder: Arc<dyn ErrorDecoder>,
    /// The user's transport settings.
    pub options: ClientOptions,
}

/// A cheap-to-clone handle on one pooled HTTP client and its settings.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    provider: &'static str,
    base_url: String,
    client: reqwest::Client,
    user_agent: HeaderValue,
    credential: RwLock<Option<SecretString>>,
    auth: AuthScheme,
    request_id_headers: &'static [&'static str],
    error_decoder: Arc<dyn ErrorDecoder>,
    options: ClientOptions,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let has_cred = self
            .inner
            .credential
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        f.debug_struct("Transport")
            .field("provider", &self.inner.provider)
            .field("base_url", &self.inner.base_url)
            .field("auth", &self.inner.auth)
            .field("credential", &if has_cred { "[REDACTED]" } else { "none" })
            .field("options", &self.inner.options)
            .finish()
    }
}

impl Transport {
    /// Builds the transport and its one pooled `reqwest::Client` (unless one was injected).
    pub fn new(config: TransportConfig) -> Result<Self> {
        let provider = config.provider;
        let base = config.base_url.trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&base)
            .map_err(|e| Error::config(provider, format!("base URL `{base}` is not a valid URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::config(
                provider,
                format!("base URL `{base}` must start with https:// (or http:// for a local mock)"),
            ));
        }
        let mut ua = format!("{}/{} (payout-rs)", provider, config.version);
        if let Some(s) = &config.options.user_agent_suffix {
            ua.push(' ');
            ua.push_str(s);
        }
        let user_agent = HeaderValue::from_str(&ua)
            .map_err(|_| Error::config(provider, "user agent suffix must be visible ASCII"))?;
        let client = match &config.options.http_client {
            Some(c) => c.clone(),
            None => {
                let mut b = reqwest::Client::builder()
                    .connect_timeout(config.options.connect_timeout)
                    // Below the ~60 s keep-alive most providers' load balancers use, so we do
                    // not pick a socket the server is about to close.
                    .pool_idle_timeout(Duration::from_secs(50));
                if let Some(p) = &config.options.proxy {
                    let proxy = reqwest::Proxy::all(p.expose_secret())
                        .map_err(|_| Error::config(provider, "proxy URL is not valid"))?;
                    b = b.proxy(proxy);
                }
                b.build()
                    .map_err(|e| Error::config(provider, "could not build the HTTP client").with_source(e))?
            }
        };
        Ok(Transport {
            inner: Arc::new(Inner {
                provider,
                base_url: base,
                client,
                user_agent,
                credential: RwLock::new(config.credential),
                auth: config.auth,
                request_id_headers: config.request_id_headers,
                error_decoder: config.error_decoder,
                options: config.options,
            }),
        })
    }

    /// The provider name used in errors and traces.
    pub fn provider(&self) -> &'static str {
        self.inner.provider
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The transport settings.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// Replaces the credential for every clone of this transport (a JWT after login).
    pub fn set_credential(&self, credential: SecretString) {
        *self
            .inner
            .credential
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(credential);
    }

    /// True if a credential is configured.
    pub fn has_credential(&self) -> bool {
        self.inner
            .credential
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Truncates and scrubs a body for an error message (the credential and long digit runs
    /// are masked).
    pub fn snippet(&self, body: &[u8]) -> String {
        self.scrub(body, SNIPPET_LEN)
    }

    /// Truncates `text` to `max` characters and masks the credential and long digit runs:
    /// for anything the provider sent that ends up in an error (it may echo what it got).
    pub fn scrub(&self, text: &[u8], max: usize) -> String {
        self.scrub_with(text, max, &[])
    }

    /// Like [`Transport::scrub`], also masking `extra` secrets (a request's own, see
    /// [`Request::redact`]), each in plain and JSON-escaped form, before truncating.
    pub fn scrub_with(&self, text: &[u8], max: usize, extra: &[SecretString]) -> String {
        let guard = self
            .inner
            .credential
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut forms: Vec<String> = Vec::new();
        for secret in guard.iter().chain(extra.iter()) {
            let plain = secret.expose_secret();
            // The provider may echo it JSON-escaped (`\"`, `\/` as PHP writes slashes).
            let json = serde_json::to_string(plain).unwrap_or_default();
            let json = json
                .get(1..json.len().saturating_sub(1))
                .unwrap_or("")
                .to_string();
            let slashes = json.replace('/', "\\/");
            for form in [plain.to_string(), json, slashes] {
                if !form.is_empty() && !forms.contains(&form) {
                    forms.push(form);
                }
            }
        }
        // Longest first, so a form that contains another is masked whole.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        let refs: Vec<&str> = forms.iter().map(String::as_str).collect();
        redact_snippet(text, max, &refs)
    }

    /// Sends `req`, retrying as [`crate::retry::decide`] allows, and returns the first 2xx
    /// response. Every other outcome is an [`Error`] that keeps the status, the provider's
    /// code and message, the request id and the idempotency key.
    pub async fn send(&self, req: Request) -> Result<Response> {
        let span = tracing::info_span!(
            "payout.call",
            provider = self.inner.provider,
            operation = req.operation,
            http.request.method = %req.method,
            url.template = req.template,
            idempotency_key = req.idempotency.as_ref().map(|k| k.as_str()).unwrap_or(""),
            attempts = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        self.send_inner(req).instrument(span).await
    }

    async fn send_inner(&self, req: Request) -> Result<Response> {
        let inner = &*self.inner;
        let provider = inner.provider;
        let opts = &inner.options;
        let key = req.idempotency.clone();
        // `sent`: whether any attempt may have reached the provider (only a connect failure
        // proves one did not).
        // `processed`: whether any attempt may have been processed (a timeout, a broken
        // connection or a 5xx after sending). For a key-protected call that means the operation
        // may have succeeded, while repeating it with the same key stays safe.
        let protected = req.safety == Safety::KeyProtected;
        let err_ctx = |e: Error, attempts: u32, sent: bool, processed: bool| {
            let e = e
                .with_idempotency_key(key.clone())
                .with_attempts(attempts)
                .with_sent(sent);
            if protected && processed {
                e.with_may_have_succeeded(true)
            } else {
                e
            }
        };

        if req.safety == Safety::KeyProtected && key.is_none() {
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
            return Err(err_ctx(
                Error::new(
                    ErrorKind::CircuitOpen,
                    provider,
                    "circuit breaker is open after repeated failures; nothing was sent",
                )
                .with_retry_after(Some(wait))
                .with_retryable(true),
                0,
                false,
                false,
            ));
        }

        let started = Instant::now();
        let deadline = started + opts.total_timeout;
        let url = self.build_url(&req)?;
        let (auth_header, body) = self.prepare_auth(&req)?;

        let mut attempt: u32 = 0;
        let mut sent = false;
        let mut processed = false;
        loop {
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            if let Some(l) = &opts.rate_limiter {
                match l.reserve(Some(left)) {
                    Some(w) if !w.is_zero() => tokio::time::sleep(w).await,
                    Some(_) => {}
                    None => {
                        return Err(err_ctx(
                            Error::new(
                                ErrorKind::RateLimited,
                                provider,
                                "client-side rate limit: no slot before the deadline; nothing was sent",
                            )
                            .with_retryable(true),
                            attempt,
                            sent,
                            processed,
                        ));
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let e = Error::new(ErrorKind::Timeout, provider, "deadline reached before sending")
                    .with_retryable(true);
                return Err(err_ctx(e, attempt, sent, processed));
            }
            attempt += 1;
            let mut rb = inner
                .client
                .request(req.method.clone(), url.clone())
                .header(header::USER_AGENT, inner.user_agent.clone())
                .header(header::ACCEPT, HeaderValue::from_static("application/json"));
            if let Some((name, value)) = &auth_header {
                rb = rb.header(name.clone(), value.clone());
            }
            if let (Some(name), Some(k)) = (&req.idempotency_header, &key)
                && let Ok(v) = HeaderValue::from_str(k.as_str())
            {
                rb = rb.header(name.clone(), v);
            }
            for (n, v) in &req.headers {
                rb = rb.header(n.clone(), v.clone());
            }
            if let Some(b) = &body {
                // `Bytes` clones are a reference count, not a copy of the body.
                rb = rb
                    .header(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(b.clone());
            }
            let sent_at = Instant::now();
            let result = tokio::time::timeout(left.min(opts.attempt_timeout), async {
                let resp = rb.send().await?;
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let body = read_body(resp).await?;
                Ok::<_, BodyError>((status, headers, body))
            })
            .await;
            let latency_ms = sent_at.elapsed().as_millis() as u64;

            let (outcome, response, source): (
                Outcome,
                Option<(u16, HeaderMap, Bytes)>,
                Option<reqwest::Error>,
            ) = match result {
                Err(_elapsed) => (Outcome::TimedOut, None, None),
                Ok(Err(BodyError::TooLarge(status))) => {
                    let e = Error::decode(provider, Some(status), "response body larger than 16 MiB");
                    return Err(err_ctx(e, attempt, true, processed));
                }
                Ok(Err(BodyError::Http(e))) => (classify(&e), None, Some(e.without_url())),
                Ok(Ok((status, headers, body))) => {
                    let retry_after = headers
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    (
                        Outcome::Status { status, retry_after },
                        Some((status, headers, body)),
                        None,
                    )
                }
            };
            sent |= outcome != Outcome::NotSent;
            processed |= matches!(
                outcome,
                Outcome::TimedOut
                    | Outcome::Interrupted
                    | Outcome::Status {
                        status: 500 | 502 | 503 | 504,
                        ..
                    }
            );
            let request_id = response.as_ref().and_then(|(_, h, _)| self.request_id(h));
            tracing::debug!(
                attempt,
                outcome = outcome_label(&outcome),
                status = response.as_ref().map(|r| r.0),
                latency_ms,
                request_id = request_id.as_deref().unwrap_or(""),
                "attempt finished"
            );
            if let Some(b) = &opts.circuit_breaker {
                b.record(!is_failure(&outcome));
            }

            if let Some((status, headers, body)) = response {
                if (200..300).contains(&status) {
                    let span = tracing::Span::current();
                    span.record("attempts", attempt);
                    span.record("http.response.status_code", status);
                    if let Some(r) = &request_id {
                        span.record("request_id", r.as_str());
                    }
                    return Ok(Response {
                        transport: self.clone(),
                        status,
                        headers,
                        body,
                        request_id,
                        idempotency_key: key,
                        attempts: attempt,
                        redact: req.redact.clone(),
                    });
                }
                let decision = decide(
                    &opts.retry,
                    req.safety,
                    &outcome,
                    attempt - 1,
                    opts.retry.sample_jitter(),
                    Some(deadline.saturating_duration_since(Instant::now())),
                );
                match decision {
                    Decision::Retry(delay) => {
                        tracing::info!(attempt, status, delay_ms = delay.as_millis() as u64, "retrying");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    Decision::Stop(stop) => {
                        let e = self.status_error(
                            &req.redact,
                            req.safety,
                            &stop,
                            status,
                            &headers,
                            &body,
                            &outcome,
                        );
                        let e = err_ctx(e.with_request_id(request_id), attempt, sent, processed);
                        log_stop(&e);
                        return Err(e);
                    }
                }
            }

            let decision = decide(
                &opts.retry,
                req.safety,
                &outcome,
                attempt - 1,
                opts.retry.sample_jitter(),
                Some(deadline.saturating_duration_since(Instant::now())),
            );
            match decision {
                Decision::Retry(delay) => {
                    tracing::info!(
                        attempt,
                        outcome = outcome_label(&outcome),
                        delay_ms = delay.as_millis() as u64,
                        "retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                Decision::Stop(stop) => {
                    let e = transport_error(provider, req.safety, &stop, &outcome);
                    let e = match source {
                        Some(s) => e.with_source(s),
                        None => e,
                    };
                    let e = err_ctx(e, attempt, sent, processed);
                    log_stop(&e);
                    return Err(e);
                }
            }
        }
    }

    fn build_url(&self, req: &Request) -> Result<url::Url> {
        let mut s = String::with_capacity(self.inner.base_url.len() + req.path.len() + 1);
        s.push_str(&self.inner.base_url);
        if !req.path.starts_with('/') {
            s.push('/');
        }
        s.push_str(&req.path);
        let mut url = url::Url::parse(&s).map_err(|e| {
            Error::invalid_input(
                self.inner.provider,
                "path",
                format!("does not form a valid URL: {e}"),
            )
        })?;
        if !req.query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in &req.query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Computes the auth header (marked sensitive so no `Debug` of it prints the value) or
    /// splices the key into the JSON body, once per call.
    fn prepare_auth(&self, req: &Request) -> Result<(Option<AuthHeader>, Option<Bytes>)> {
        let provider = self.inner.provider;
        let scheme = req.auth.as_ref().unwrap_or(&self.inner.auth);
        let guard = self
            .inner
            .credential
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let cred = match (scheme, guard.as_ref()) {
            (AuthScheme::None, _) => return Ok((None, req.body.clone())),
            (_, Some(c)) => c.expose_secret(),
            (_, None) => {
                return Err(Error::new(
                    ErrorKind::Auth,
                    provider,
                    "no credential configured for an endpoint that needs one; nothing was sent",
                )
                .with_sent(false));
            }
        };
        let bad = || {
            Error::config(
                provider,
                "the credential contains characters not allowed in an HTTP header",
            )
        };
        let header_value = |v: Cow<'_, str>| -> Result<HeaderValue> {
            let mut hv = HeaderValue::from_str(&v).map_err(|_| bad())?;
            hv.set_sensitive(true);
            Ok(hv)
        };
        Ok(match scheme {
            AuthScheme::None => (None, req.body.clone()),
            AuthScheme::Header(name) => (
                Some((name.clone(), header_value(Cow::Borrowed(cred))?)),
                req.body.clone(),
            ),
            AuthScheme::Bearer => (
                Some((
                    header::AUTHORIZATION,
                    header_value(Cow::Owned(format!("Bearer {cred}")))?,
                )),
                req.body.clone(),
            ),
            AuthScheme::RawAuthorization => (
                Some((header::AUTHORIZATION, header_value(Cow::Borrowed(cred))?)),
                req.body.clone(),
            ),
            AuthScheme::JsonBodyField(field) => {
                let body = req.body.as_deref().unwrap_or(b"{}");
                (None, Some(splice_json_field(provider, body, field, cred)?))
            }
        })
    }

    fn request_id(&self, headers: &HeaderMap) -> Option<String> {
        self.inner
            .request_id_headers
            .iter()
            .chain(["x-request-id", "request-id"].iter())
            .find_map(|h| headers.get(*h))
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(128).collect())
    }

    #[allow(clippy::too_many_arguments)]
    fn status_error(
        &self,
        redact: &[SecretString],
        safety: Safety,
        stop: &Stop,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        outcome: &Outcome,
    ) -> Error {
        let provider = self.inner.provider;
        let info = self.inner.error_decoder.decode(status, headers, body);
        let retry_after = match outcome {
            Outcome::Status { retry_after, .. } => *retry_after,
            _ => None,
        };
        let kind = match (status, stop) {
            (_, Stop::Ambiguous) => ErrorKind::Ambiguous,
            (429, _) => ErrorKind::RateLimited,
            (401 | 403, _) => ErrorKind::Auth,
            (404, _) => ErrorKind::NotFound,
            _ => ErrorKind::Provider,
        };
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error");
        let mut message = info
            .message
            .map(|m| self.scrub_with(m.as_bytes(), 500, redact))
            .unwrap_or_else(|| format!("HTTP {status} {reason}"));
        if kind == ErrorKind::Ambiguous {
            message = format!("{message}; the {status} came after the request was sent");
        }
        let snippet = if info.code.is_none() && !body.is_empty() {
            Some(self.scrub_with(body, SNIPPET_LEN, redact))
        } else {
            None
        };
        let retryable = matches!(
            (status, safety),
            (429, _) | (500 | 502 | 503 | 504, Safety::Idempotent | Safety::KeyProtected)
        );
        let mut e = Error::new(kind, provider, message)
            .with_status(status)
            .with_retry_after(retry_after)
            .with_request_id(info.request_id)
            .with_body_snippet(snippet)
            .with_retryable(retryable);
        if let Some(c) = info.code {
            e = e.with_code(self.scrub_with(c.as_bytes(), 120, redact));
        }
        if let Some(k) = info.kind {
            e = e.with_kind(k);
        }
        e
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

fn transport_error(provider: &'static str, safety: Safety, stop: &Stop, outcome: &Outcome) -> Error {
    match (outcome, stop) {
        (_, Stop::Ambiguous) => {
            let what = if *outcome == Outcome::TimedOut {
                "timed out after the request was sent"
            } else {
                "the connection broke after the request was sent"
            };
            Error::new(ErrorKind::Ambiguous, provider, what)
        }
        (Outcome::NotSent, _) => Error::new(
            ErrorKind::Transport,
            provider,
            "could not connect; the request was not sent",
        )
        .with_retryable(true),
        (Outcome::TimedOut, _) => {
            Error::new(ErrorKind::Timeout, provider, "timed out waiting for the provider")
                .with_retryable(safety != Safety::Unprotected)
        }
        _ => Error::new(
            ErrorKind::Transport,
            provider,
            "the connection broke before a response arrived",
        )
        .with_retryable(safety != Safety::Unprotected),
    }
}

fn log_stop(e: &Error) {
    if e.kind() == ErrorKind::Ambiguous {
        tracing::warn!(
            kind = %e.kind(),
            status = e.status(),
            idempotency_key = e.idempotency_key().map(|k| k.as_str()).unwrap_or(""),
            "outcome unknown: not retried"
        );
    } else {
        tracing::debug!(kind = %e.kind(), status = e.status(), "call failed");
    }
}

fn outcome_label(o: &Outcome) -> &'static str {
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

async fn read_body(mut resp: reqwest::Response) -> std::result::Result<Bytes, BodyError> {
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

/// Inserts `"field": "<secret>"` as the first member of a JSON object body.
fn splice_json_field(provider: &'static str, body: &[u8], field: &str, secret: &str) -> Result<Bytes> {
    let trimmed = body.trim_ascii_start();
    if trimmed.first() != Some(&b'{') {
        return Err(Error::config(
            provider,
            "a body-key request needs a JSON object body",
        ));
    }
    let rest = trimmed[1..].trim_ascii_start();
    let field_json =
        serde_json::to_string(field).map_err(|e| Error::config(provider, "bad field").with_source(e))?;
    let secret_json = serde_json::to_string(secret)
        .map_err(|_| Error::config(provider, "the credential could not be encoded"))?;
    let mut out = Vec::with_capacity(body.len() + field_json.len() + secret_json.len() + 3);
    out.push(b'{');
    out.extend_from_slice(field_json.as_bytes());
    out.push(b':');
    out.extend_from_slice(secret_json.as_bytes());
    if rest.first() != Some(&b'}') {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Ok(Bytes::from(out))
}

/// One logical API call: method, path, query, body, and how it may be retried.
///
/// Built by provider crates; the path is already expanded and percent-encoded (see
/// [`crate::encode_path_segment`]), the template is kept for tracing so ids never become
/// span names. POST and PATCH default to [`Safety::Unprotected`] (never re-sent after the
/// request may have left); GET, HEAD, PUT and DELETE to [`Safety::Idempotent`].
#[derive(Clone)]
pub struct Request {
    method: Method,
    operation: &'static str,
    template: &'static str,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Bytes>,
    safety: Safety,
    idempotency: Option<IdempotencyKey>,
    idempotency_header: Option<HeaderName>,
    auth: Option<AuthScheme>,
    headers: Vec<(HeaderName, HeaderValue)>,
    redact: Vec<SecretString>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the body: it may carry a card number, a password or an embedded key.
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("operation", &self.operation)
            .field("path", &self.template)
            .field(
                "query_params",
                &self.query.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.as_ref().map(|b| b.len()))
            .field("safety", &self.safety)
            .field("idempotency_key", &self.idempotency)
            .finish()
    }
}

impl Request {
    /// A request for `operation` (a stable name such as `"orders.create"`) on `template`
    /// (the documented path, e.g. `"/orders/{order_uid}"`; also used as the path until
    /// [`Request::path`] sets the expanded one).
    pub fn new(method: Method, operation: &'static str, template: &'static str) -> Self {
        let safety = match method {
            Method::POST | Method::PATCH => Safety::Unprotected,
            _ => Safety::Idempotent,
        };
        Request {
            method,
            operation,
            template,
            path: template.to_string(),
            query: Vec::new(),
            body: None,
            safety,
            idempotency: None,
            idempotency_header: None,
            auth: None,
            headers: Vec::new(),
            redact: Vec::new(),
        }
    }
    /// A GET request.
    pub fn get(operation: &'static str, template: &'static str) -> Self {
        Request::new(Method::GET, operation, template)
    }
    /// A POST request (unprotected until you say otherwise).
    pub fn post(operation: &'static str, template: &'static str) -> Self {
        Request::new(Method::POST, operation, template)
    }
    /// A DELETE request.
    pub fn delete(operation: &'static str, template: &'static str) -> Self {
        Request::new(Method::DELETE, operation, template)
    }
    /// A PUT request (idempotent unless you declare otherwise).
    pub fn put(operation: &'static str, template: &'static str) -> Self {
        Request::new(Method::PUT, operation, template)
    }
    /// A PATCH request (unprotected until you say otherwise).
    pub fn patch(operation: &'static str, template: &'static str) -> Self {
        Request::new(Method::PATCH, operation, template)
    }
    /// The expanded path, with every dynamic segment percent-encoded.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }
    /// Adds a query parameter.
    pub fn query(mut self, name: &'static str, value: impl ToString) -> Self {
        self.query.push((name, value.to_string()));
        self
    }
    /// Adds a query parameter when `value` is `Some`.
    pub fn query_opt<V: ToString>(self, name: &'static str, value: Option<V>) -> Self {
        match value {
            Some(v) => self.query(name, v),
            None => self,
        }
    }
    /// Serializes `body` as the JSON body, once; retries reuse the same bytes.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> std::result::Result<Self, serde_json::Error> {
        self.body = Some(Bytes::from(serde_json::to_vec(body)?));
        Ok(self)
    }
    /// Uses already-serialized JSON bytes as the body.
    pub fn json_bytes(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }
    /// Declares how the request may be retried.
    pub fn safety(mut self, safety: Safety) -> Self {
        self.safety = safety;
        self
    }
    /// Records the key (or client reference) protecting this call, without sending a header:
    /// for providers that deduplicate on a body field. Returned on the response and errors.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency = Some(key);
        self
    }
    /// Sends `key` in header `name` on every attempt and marks the call key-protected.
    pub fn idempotency_header(mut self, name: &'static str, key: IdempotencyKey) -> Self {
        self.idempotency = Some(key);
        self.idempotency_header = Some(HeaderName::from_static(name));
        self.safety = Safety::KeyProtected;
        self
    }
    /// Overrides where the credential goes for this request.
    pub fn auth(mut self, scheme: AuthScheme) -> Self {
        self.auth = Some(scheme);
        self
    }
    /// Masks `secret` (a password, card number or code the body carries) wherever the
    /// provider might echo it back: this call's error messages, codes and body snippets, in
    /// plain and JSON-escaped form, before anything is truncated. The client's own credential
    /// is always masked; use this for the secrets of the request itself.
    pub fn redact(mut self, secret: &SecretString) -> Self {
        if !secret.expose_secret().is_empty() {
            self.redact.push(secret.clone());
        }
        self
    }
    /// Adds a header (never a secret: header values here are not redacted).
    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers
            .push((HeaderName::from_static(name), HeaderValue::from_static(value)));
        self
    }
    /// The operation name.
    pub fn operation(&self) -> &'static str {
        self.operation
    }
    /// The declared safety.
    pub fn get_safety(&self) -> Safety {
        self.safety
    }
    /// The idempotency key, if any.
    pub fn get_idempotency_key(&self) -> Option<&IdempotencyKey> {
        self.idempotency.as_ref()
    }
}

/// A successful (2xx) response, body fully read.
pub struct Response {
    transport: Transport,
    status: u16,
    headers: HeaderMap,
    body: Bytes,
    request_id: Option<String>,
    idempotency_key: Option<IdempotencyKey>,
    attempts: u32,
    redact: Vec<SecretString>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .field("request_id", &self.request_id)
            .field("idempotency_key", &self.idempotency_key)
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl Response {
    /// Decodes the body as JSON. A failure is an [`ErrorKind::Decode`] error that keeps the
    /// status, the JSON path of the offending field and a redacted snippet, and is marked
    /// "may have succeeded" (never retried).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        decode_json_with(&self.transport, self.status, &self.body, &self.redact).map_err(|e| {
            e.with_request_id(self.request_id.clone())
                .with_idempotency_key(self.idempotency_key.clone())
        })
    }
    /// Decodes the body with a `serde` seed (for envelope fields picked without an
    /// intermediate `Value`); a failure is a decode error like [`Response::json`]'s.
    pub fn json_seeded<'de, S: serde::de::DeserializeSeed<'de>>(&'de self, seed: S) -> Result<S::Value> {
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        seed.deserialize(&mut de)
            .and_then(|v| de.end().map(|()| v))
            .map_err(|e| {
                let msg = self
                    .transport
                    .scrub_with(e.to_string().as_bytes(), 200, &self.redact);
                self.decode_error(format!("could not decode the response: {msg}"))
            })
    }
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// The raw body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// The provider's request id, if it sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
    /// The idempotency key the call used.
    pub fn idempotency_key(&self) -> Option<&IdempotencyKey> {
        self.idempotency_key.as_ref()
    }
    /// How many attempts it took.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
    /// The transport that produced this response.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }
    /// The secrets of the request itself (see [`Request::redact`]), masked in errors.
    pub fn redactions(&self) -> &[SecretString] {
        &self.redact
    }
    /// A decode error for this response, for provider crates whose envelope decides success
    /// by a field rather than the status.
    pub fn decode_error(&self, message: impl Into<String>) -> Error {
        Error::decode(self.transport.provider(), Some(self.status), message)
            .with_body_snippet(Some(self.transport.scrub_with(
                &self.body,
                SNIPPET_LEN,
                &self.redact,
            )))
            .with_request_id(self.request_id.clone())
            .with_idempotency_key(self.idempotency_key.clone())
    }
}

/// Decodes `body` as `T`, producing a [`ErrorKind::Decode`] error with the JSON path,
/// the status and a redacted snippet on failure.
pub fn decode_json<T: DeserializeOwned>(transport: &Transport, status: u16, body: &[u8]) -> Result<T> {
    decode_json_with(transport, status, body, &[])
}

fn decode_json_with<T: DeserializeOwned>(
    transport: &Transport,
    status: u16,
    body: &[u8],
    redact: &[SecretString],
) -> Result<T> {
    // The fast path allocates only what `T` needs; `serde_path_to_error` (which allocates for
    // every key) runs again only to explain a failure: the body is already in memory.
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(_) => Err(explain_decode_failure::<T>(transport, status, body, redact)),
    }
}

#[cold]
fn explain_decode_failure<T: DeserializeOwned>(
    transport: &Transport,
    status: u16,
    body: &[u8],
    redact: &[SecretString],
) -> Error {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let (path, msg) = match serde_path_to_error::deserialize::<_, T>(de) {
        Err(e) => {
            let path = e.path().to_string();
            (path, e.into_inner().to_string())
        }
        // Cannot happen (the same input failed a moment ago); say so rather than panic.
        Ok(_) => (String::new(), "the body did not decode".to_string()),
    };
    // serde_json messages can quote the offending value; scrub them like a body.
    let msg = transport.scrub_with(msg.as_bytes(), 200, redact);
    let what = std::any::type_name::<T>()
        .rsplit("::")
        .next()
        .unwrap_or("response");
    let message = if path == "." || path.is_empty() {
        format!("could not decode {what}: {msg}")
    } else {
        format!("could not decode {what} at `{path}`: {msg}")
    };
    Error::decode(transport.provider(), Some(status), message).with_body_snippet(Some(transport.scrub_with(
        body,
        SNIPPET_LEN,
        redact,
    )))
}

/// Reads an environment variable for `from_env` constructors: `Ok(None)` when unset or
/// empty, a [`ErrorKind::Config`] error when it is not valid UTF-8.
pub fn env_var(provider: &'static str, name: &str) -> Result<Option<String>> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v.trim().to_string())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::config(
            provider,
            format!("environment variable {name} is not valid UTF-8"),
        )),
    }
}

/// Reads a required environment variable, failing with an error that names it.
pub fn require_env(provider: &'static str, name: &str) -> Result<String> {
    env_var(provider, name)?.ok_or_else(|| {
        Error::config(
            provider,
            format!(
                "environment variable {name} is not set; export it or build the client with Client::builder()"
            ),
        )
    })
}

/// The raw escape hatch: call an endpoint the crate does not model yet, with the same
/// auth, retries, timeouts and tracing. POSTs are unprotected (never re-sent after they
/// may have left) unless you build a [`Request`] with a key yourself.
#[derive(Debug, Clone)]
pub struct RawApi {
    transport: Transport,
}

impl RawApi {
    /// Wraps a transport.
    pub fn new(transport: Transport) -> Self {
        RawApi { transport }
    }
    /// `GET path` (path relative to the base URL, already encoded), decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.transport
            .send(Request::get("raw.get", "{raw}").path(path))
            .await?
            .json()
    }
    /// `DELETE path`, decoded as `T` (use `serde_json::Value` for an empty body).
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let resp = self
            .transport
            .send(Request::delete("raw.delete", "{raw}").path(path))
            .await?;
        if resp.body().is_empty() {
            return resp.json_or_null();
        }
        resp.json()
    }
    /// `POST path` with a JSON body, decoded as `T`. Never retried once it may have been sent.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let req = Request::post("raw.post", "{raw}")
            .path(path)
            .json(body)
            .map_err(|e| {
                Error::invalid_input(self.transport.provider(), "body", "could not be serialized")
                    .with_source(e)
            })?;
        self.transport.send(req).await?.json()
    }
    /// Sends a fully built request.
    pub async fn send(&self, request: Request) -> Result<Response> {
        self.transport.send(request).await
    }
}

impl Response {
    fn json_or_null<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(serde_json::Value::Null).map_err(|e| {
            Error::decode(self.transport.provider(), Some(self.status), "empty body").with_source(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_key_into_json_object() {
        let out = splice_json_field("p", br#"{"amount":5}"#, "api_key", "k\"1").unwrap();
        assert_eq!(&out[..], br#"{"api_key":"k\"1","amount":5}"#);
        let out = splice_json_field("p", b"{ }", "api_key", "k").unwrap();
        assert_eq!(&out[..], br#"{"api_key":"k"}"#);
        assert!(splice_json_field("p", b"[1]", "api_key", "k").is_err());
    }
}
