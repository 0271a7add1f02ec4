//! Building blocks for the offline provider sandboxes (feature `sandbox`).
//!
//! Each provider crate's `Sandbox` is an axum [`Router`](axum::Router) holding the provider's
//! state (balances, orders, invoices...). [`SandboxServer::start`] serves it on a random
//! loopback port and adds what every sandbox needs and no provider offers:
//!
//! * **scriptable faults**: fail the next N requests with a 5xx, a 429 with `Retry-After`, an
//!   HTML error page, a delay past your timeout, a connection dropped before or after the
//!   request was processed, a 5xx or a truncated JSON body after it was processed (the cases
//!   that make payouts ambiguous);
//! * **random faults** ([`SandboxServer::random_faults`]): a seeded share of all requests
//!   gets a fault, cycling through the kinds you give, for soak tests;
//! * **a record of every request**, so a test can assert that a payout was created exactly once;
//! * [`IdempotencyStore`], replaying a response for a repeated key and refusing a key reused
//!   with a different body, as the providers that take `Idempotency-Key` document;
//! * [`WebhookSender`], delivering signed webhooks to a URL on this machine your test gives,
//!   and delivering them again on a [`WebhookRetry`] schedule while the receiver does not
//!   answer 2xx, recording every [`Attempt`].

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

pub use axum;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::oneshot;

/// A misbehaviour the sandbox applies to upcoming requests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and a JSON error body, without processing the request.
    Status(u16),
    /// Answer 429 with `Retry-After` in whole seconds, without processing the request.
    RateLimited(Duration),
    /// Answer with an HTML error page (a load balancer's), without processing the request.
    HtmlPage(u16),
    /// Wait this long, then process the request normally (exceed the client's timeout to
    /// make an outcome ambiguous: the request *is* processed).
    Delay(Duration),
    /// Process the request, then close the connection without answering: the client cannot
    /// know that it succeeded.
    DropAfterProcessing,
    /// Read the request and close the connection without processing it.
    DropAfterRead,
    /// Process the request, then answer this status (a 5xx) with a JSON error body instead
    /// of the result: the work is done but the client is told it failed.
    StatusAfterProcessing(u16),
    /// Process the request, then answer its status and headers with only the first half of
    /// its body (a response cut off mid-JSON).
    TruncatedJson,
}

/// Random faults for soak tests: each request (that no scripted fault claims) gets a fault
/// with probability `percent`/100, drawn from a seeded generator so that a run can be
/// reproduced; the faults cycle through `kinds` in order.
struct RandomFaults {
    percent: u32,
    rng: crate::retry::Jitter,
    kinds: Vec<Fault>,
    next: usize,
    injected: Vec<usize>,
}

struct Scripted {
    method: Option<String>,
    path_prefix: Option<String>,
    fault: Fault,
}

/// One request the sandbox received.
#[derive(Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// The headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl std::fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values and bodies carry keys and card data: names and sizes only.
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl RecordedRequest {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

#[derive(Default)]
struct Control {
    faults: Mutex<VecDeque<Scripted>>,
    random: Mutex<Option<RandomFaults>>,
    log: Mutex<Vec<RecordedRequest>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Control {
    fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut q = lock(&self.faults);
        let i = q.iter().position(|s| {
            s.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
                && s.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
        });
        if let Some(i) = i {
            return q.remove(i).map(|s| s.fault);
        }
        drop(q);
        let mut random = lock(&self.random);
        let r = random.as_mut()?;
        if r.kinds.is_empty() || r.rng.next_f64() * 100.0 >= f64::from(r.percent) {
            return None;
        }
        let i = r.next % r.kinds.len();
        r.next += 1;
        r.injected[i] += 1;
        Some(r.kinds[i].clone())
    }
}

/// A running sandbox: a router served on `127.0.0.1:<random port>`, with faults and a request
/// log. Stops when dropped.
pub struct SandboxServer {
    addr: SocketAddr,
    control: Arc<Control>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for SandboxServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxServer").field("addr", &self.addr).finish()
    }
}

#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sandbox fault: connection dropped on purpose")
    }
}

impl std::error::Error for DropConnection {}

impl SandboxServer {
    /// Serves `router` on a random loopback port until dropped.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start(router: axum::Router) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let control = Arc::new(Control::default());
        let (tx, mut rx) = oneshot::channel::<()>();
        let ctl = control.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut rx => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let router = router.clone();
                        let ctl = ctl.clone();
                        tokio::spawn(async move {
                            let svc = hyper::service::service_fn(move |req| {
                                handle(router.clone(), ctl.clone(), req)
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                }
            }
        });
        Ok(SandboxServer {
            addr,
            control,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:<port>`: give it to the client's `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Applies `fault` to each of the next `n` requests, whatever their path.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut q = lock(&self.control.faults);
        for _ in 0..n {
            q.push_back(Scripted {
                method: None,
                path_prefix: None,
                fault: fault.clone(),
            });
        }
    }

    /// Applies `fault` to each of the next `n` requests with this method whose path starts
    /// with `path_prefix`.
    pub fn fail_next_on(&self, method: &str, path_prefix: &str, n: usize, fault: Fault) {
        let mut q = lock(&self.control.faults);
        for _ in 0..n {
            q.push_back(Scripted {
                method: Some(method.to_string()),
                path_prefix: Some(path_prefix.to_string()),
                fault: fault.clone(),
            });
        }
    }

    /// From now on, gives each request that no scripted fault claims a fault with probability
    /// `percent`/100 (capped at 100), decided by a generator seeded with `seed` (the same seed
    /// gives the same sequence of decisions), cycling through `kinds` in order. Replaces an
    /// earlier random mode and its counts; an empty `kinds` injects nothing.
    pub fn random_faults(&self, percent: u32, seed: u64, kinds: Vec<Fault>) {
        let injected = vec![0; kinds.len()];
        *lock(&self.control.random) = Some(RandomFaults {
            percent: percent.min(100),
            rng: crate::retry::Jitter::seeded(seed),
            kinds,
            next: 0,
            injected,
        });
    }

    /// Ends the random mode (scripted faults are unaffected); [`SandboxServer::faults_injected`]
    /// still reports what it injected.
    pub fn stop_random_faults(&self) {
        if let Some(r) = lock(&self.control.random).as_mut() {
            r.percent = 0;
        }
    }

    /// How many times the random mode injected each of its kinds, in the order given.
    pub fn faults_injected(&self) -> Vec<(Fault, usize)> {
        lock(&self.control.random)
            .as_ref()
            .map(|r| r.kinds.iter().cloned().zip(r.injected.iter().copied()).collect())
            .unwrap_or_default()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.control.log).clone()
    }

    /// How many requests had this method and exactly this path.
    pub fn count(&self, method: &str, path: &str) -> usize {
        lock(&self.control.log)
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
            .count()
    }

    /// How many requests had this method and a path starting with `prefix`.
    pub fn count_prefix(&self, method: &str, prefix: &str) -> usize {
        lock(&self.control.log)
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(prefix))
            .count()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.control.log).clear();
    }
}

impl Drop for SandboxServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn handle(
    router: axum::Router,
    ctl: Arc<Control>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response, DropConnection> {
    use tower_service::Service;
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(Body::new(body), 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    lock(&ctl.log).push(RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: bytes.clone(),
    });
    let fault = ctl.take_fault(&method, &path);
    match &fault {
        Some(Fault::DropAfterRead) => return Err(DropConnection),
        Some(Fault::Status(s)) => {
            let status = StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(json_response(
                status,
                &serde_json::json!({"error": "sandbox fault", "status": s}),
            ));
        }
        Some(Fault::RateLimited(after)) => {
            let mut r = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &serde_json::json!({"error": "rate limited (sandbox fault)"}),
            );
            if let Ok(v) = HeaderValue::from_str(&after.as_secs().max(1).to_string()) {
                r.headers_mut().insert("retry-after", v);
            }
            return Ok(r);
        }
        Some(Fault::HtmlPage(s)) => {
            let status = StatusCode::from_u16(*s).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut r = Response::new(Body::from(format!(
                "<!DOCTYPE html><html><head><title>{s}</title></head><body><h1>{s} {}</h1><p>sandbox load balancer</p></body></html>",
                status.canonical_reason().unwrap_or("Error")
            )));
            *r.status_mut() = status;
            r.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            return Ok(r);
        }
        Some(
            Fault::Delay(_)
            | Fault::DropAfterProcessing
            | Fault::StatusAfterProcessing(_)
            | Fault::TruncatedJson,
        )
        | None => {}
    }
    let delay = match &fault {
        Some(Fault::Delay(d)) => Some(*d),
        _ => None,
    };
    // Processing runs in its own task: like a real provider, the sandbox finishes the work
    // even when the client gives up and closes the connection.
    let mut router = router;
    let work = tokio::spawn(async move {
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        match router.call(Request::from_parts(parts, Body::from(bytes))).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    });
    let resp = work.await.map_err(|_| DropConnection)?;
    match fault {
        Some(Fault::DropAfterProcessing) => Err(DropConnection),
        Some(Fault::StatusAfterProcessing(s)) => {
            let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Ok(json_response(
                status,
                &serde_json::json!({"error": "sandbox fault after processing", "status": s}),
            ))
        }
        Some(Fault::TruncatedJson) => {
            let (mut parts, body) = resp.into_parts();
            let full = axum::body::to_bytes(body, 16 * 1024 * 1024)
                .await
                .unwrap_or_default();
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            Ok(Response::from_parts(
                parts,
                Body::from(full.slice(..full.len() / 2)),
            ))
        }
        _ => Ok(resp),
    }
}

/// Calls `tick(state)` every `every` in a background task for as long as `state` has another
/// owner (the sandbox); it stops by itself when the sandbox is dropped. Sandboxes use it for
/// `auto_advance`: orders moving through their statuses on a timer.
pub fn tick_while_alive<T, F, Fut>(state: &Arc<T>, every: Duration, tick: F)
where
    T: Send + Sync + 'static,
    F: Fn(Arc<T>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let weak = Arc::downgrade(state);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Some(state) = weak.upgrade() else { break };
            tick(state).await;
        }
    });
}

/// A JSON response with `status`.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut r = Response::new(Body::from(serde_json::to_vec(body).unwrap_or_default()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// What [`IdempotencyStore::begin`] found for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// First use: process the request, then [`IdempotencyStore::finish`].
    New,
    /// Seen with the same body: answer with the stored status and body.
    Replay(u16, Bytes),
    /// Seen with a different body: refuse (the providers answer 409 or 422).
    Conflict,
}

/// Remembers the response to each idempotency key, as providers that take `Idempotency-Key`
/// do: a repeat with the same body is answered from memory, a reuse with another body refused.
#[derive(Debug, Default, Clone)]
pub struct IdempotencyStore {
    inner: Arc<Mutex<HashMap<String, KeyEntry>>>,
}

/// The body first seen with a key, and the response once it is known.
type KeyEntry = (Bytes, Option<(u16, Bytes)>);

impl IdempotencyStore {
    /// Looks `key` up for a request with `body`, reserving it when new.
    pub fn begin(&self, key: &str, body: &[u8]) -> KeyState {
        let mut m = lock(&self.inner);
        match m.get(key) {
            None => {
                m.insert(key.to_string(), (Bytes::copy_from_slice(body), None));
                KeyState::New
            }
            Some((b, _)) if b.as_ref() != body => KeyState::Conflict,
            Some((_, Some((s, r)))) => KeyState::Replay(*s, r.clone()),
            // Still in flight: a concurrent duplicate. Treat as a conflict, as providers do (409).
            Some((_, None)) => KeyState::Conflict,
        }
    }

    /// Forgets a key that [`IdempotencyStore::begin`] reserved but whose request was refused
    /// before anything happened (a validation error, insufficient funds): providers let the
    /// same key be used again once the problem is fixed. A finished key is kept.
    pub fn release(&self, key: &str) {
        let mut m = lock(&self.inner);
        if m.get(key).is_some_and(|(_, done)| done.is_none()) {
            m.remove(key);
        }
    }

    /// Stores the response for `key`.
    pub fn finish(&self, key: &str, status: u16, response: Bytes) {
        if let Some(e) = lock(&self.inner).get_mut(key) {
            e.1 = Some((status, response));
        }
    }
}

/// When a sandbox delivers a webhook again: after an answer that is not 2xx, a connection that
/// could not be made, or no answer within [`WebhookRetry::attempt_timeout`].
///
/// The first attempt goes out at once; attempt `n + 1` follows attempt `n` after the `n`-th
/// delay. Every attempt re-sends the same event with a byte-identical body (a sandbox whose
/// provider signs a timestamp signs each attempt afresh). The schedule is bounded: at most
/// [`WebhookRetry::MAX_RETRIES`] retries, each delay at most [`WebhookRetry::MAX_DELAY`], each
/// attempt at most [`WebhookRetry::MAX_ATTEMPT_TIMEOUT`]; retries stop when the sandbox is
/// dropped.
///
/// ```
/// use std::time::Duration;
/// use payout_core::sandbox::WebhookRetry;
///
/// // In a test: three retries 20 ms apart, so "delivered on attempt 3" takes milliseconds.
/// let fast = WebhookRetry::every(Duration::from_millis(20), 3);
/// assert_eq!(fast.max_attempts(), 4);
/// // The same, written as the CLI's `--webhook-retries` takes it.
/// assert_eq!("20ms,20ms,20ms".parse::<WebhookRetry>(), Ok(fast));
/// assert_eq!(WebhookRetry::none().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRetry {
    delays: Vec<Duration>,
    attempt_timeout: Duration,
}

impl Default for WebhookRetry {
    /// [`WebhookRetry::conservative`].
    fn default() -> Self {
        Self::conservative()
    }
}

impl WebhookRetry {
    /// The most retries a schedule keeps (more are dropped).
    pub const MAX_RETRIES: usize = 25;
    /// The longest delay between two attempts (longer ones are shortened to it).
    pub const MAX_DELAY: Duration = Duration::from_secs(24 * 60 * 60);
    /// The longest an attempt waits for an answer.
    pub const MAX_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
    /// How long an attempt waits for an answer unless set.
    pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

    /// The schedule of a sandbox whose provider publishes none (ours, not a provider's): five
    /// retries after 10 s, 1 min, 5 min, 30 min and 2 h (six attempts over about 2 h 36 min),
    /// each attempt waiting 10 s for an answer.
    pub fn conservative() -> Self {
        Self::after([
            Duration::from_secs(10),
            Duration::from_secs(60),
            Duration::from_secs(5 * 60),
            Duration::from_secs(30 * 60),
            Duration::from_secs(2 * 60 * 60),
        ])
    }

    /// One attempt, never retried (what the sandboxes did before they re-delivered).
    pub fn none() -> Self {
        Self::after([])
    }

    /// Retries after each of `delays` in turn (at most [`WebhookRetry::MAX_RETRIES`] of them,
    /// each at most [`WebhookRetry::MAX_DELAY`]).
    pub fn after(delays: impl IntoIterator<Item = Duration>) -> Self {
        WebhookRetry {
            delays: delays
                .into_iter()
                .take(Self::MAX_RETRIES)
                .map(|d| d.min(Self::MAX_DELAY))
                .collect(),
            attempt_timeout: Self::DEFAULT_ATTEMPT_TIMEOUT,
        }
    }

    /// `retries` retries, `delay` apart (for tests: milliseconds).
    pub fn every(delay: Duration, retries: usize) -> Self {
        Self::after(std::iter::repeat_n(delay, retries.min(Self::MAX_RETRIES)))
    }

    /// How long each attempt waits for an answer before it counts as failed (at most
    /// [`WebhookRetry::MAX_ATTEMPT_TIMEOUT`]; at least 1 ms).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout.clamp(Duration::from_millis(1), Self::MAX_ATTEMPT_TIMEOUT);
        self
    }

    /// The delays before each retry.
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// How long each attempt waits for an answer.
    pub fn timeout(&self) -> Duration {
        self.attempt_timeout
    }

    /// The first attempt and the retries.
    pub fn max_attempts(&self) -> usize {
        self.delays.len() + 1
    }

    /// The time from the first attempt to the start of the last one.
    pub fn span(&self) -> Duration {
        self.delays.iter().sum()
    }
}

impl std::fmt::Display for WebhookRetry {
    /// The form [`WebhookRetry`]'s `FromStr` reads: `none`, or the delays in milliseconds
    /// (`10000ms,60000ms`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.delays.is_empty() {
            return f.write_str("none");
        }
        let parts: Vec<String> = self
            .delays
            .iter()
            .map(|d| format!("{}ms", d.as_millis()))
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl std::str::FromStr for WebhookRetry {
    type Err = String;

    /// `none` (no retries), `default` ([`WebhookRetry::conservative`]), or the delays before
    /// each retry separated by commas, each a whole number with a unit `ms`, `s`, `m` or `h`
    /// (`50ms,50ms,50ms` or `10s,1m,5m`); `N*DELAY` repeats a delay (`3*50ms`).
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "none" | "0" => return Ok(Self::none()),
            "default" => return Ok(Self::conservative()),
            _ => {}
        }
        let mut delays = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            let (times, delay) = match part.split_once('*') {
                Some((n, d)) => (
                    n.trim()
                        .parse::<usize>()
                        .map_err(|_| format!("`{part}`: expected N*DELAY with N a whole number"))?,
                    d.trim(),
                ),
                None => (1, part),
            };
            let delay = parse_delay(delay).ok_or_else(|| {
                format!("`{part}`: expected a delay like 50ms, 10s, 5m or 2h (or `none`, `default`)")
            })?;
            if delays.len() + times > Self::MAX_RETRIES {
                return Err(format!(
                    "at most {} retries (a sandbox's re-delivery is bounded)",
                    Self::MAX_RETRIES
                ));
            }
            delays.extend(std::iter::repeat_n(delay, times));
        }
        if let Some(long) = delays.iter().find(|d| **d > Self::MAX_DELAY) {
            return Err(format!("{long:?} is longer than the 24 h a retry may wait"));
        }
        Ok(Self::after(delays))
    }
}

fn parse_delay(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let ms = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => None,
    }?;
    Some(Duration::from_millis(ms))
}

/// One attempt at delivering a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// 1 for the first attempt, 2 for the first retry...
    pub number: u32,
    /// When the attempt started.
    pub at: SystemTime,
    /// The HTTP status the receiver answered, or `None` if there was no answer.
    pub status: Option<u16>,
    /// Why there was no answer (`could not connect`, `no answer within 10s`, `not a loopback
    /// URL`); `None` when the receiver answered.
    pub error: Option<String>,
    /// The headers this attempt sent (a fresh signature timestamp where the provider signs one).
    pub headers: Vec<(String, String)>,
}

impl Attempt {
    /// The receiver answered 2xx: the provider would stop here.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A webhook the sandbox delivered (one event, however many attempts it took).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Delivery {
    /// Where it went.
    pub url: String,
    /// The event or object it reported (free text, for transcripts).
    pub label: String,
    /// The HTTP status the receiver answered the latest attempt, or `None` if it could not be
    /// reached.
    pub status: Option<u16>,
    /// The headers of the latest attempt (signature and timestamp included), so a test can
    /// verify the delivery.
    pub headers: Vec<(String, String)>,
    /// The raw body sent, byte for byte (the same on every attempt).
    pub body: Bytes,
    /// Every attempt so far, in order.
    pub attempts: Vec<Attempt>,
    /// `true` once no further attempt will be made: delivered, out of attempts, or refused
    /// (a URL that is not on loopback).
    pub finished: bool,
}

impl Delivery {
    /// The headers as a `HeaderMap`, ready for a crate's `webhook::Verifier::verify`.
    pub fn header_map(&self) -> reqwest::header::HeaderMap {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(k.as_bytes()),
                reqwest::header::HeaderValue::from_str(v),
            ) {
                map.append(k, v);
            }
        }
        map
    }

    /// The number of the attempt the receiver answered 2xx (`Some(3)`: delivered on the
    /// second retry), or `None` if none did (yet).
    pub fn delivered_on(&self) -> Option<u32> {
        self.attempts.iter().find(|a| a.succeeded()).map(|a| a.number)
    }
}

/// Signs one attempt: the headers to send with `body`.
type Signer = dyn Fn(&[u8]) -> Vec<(String, String)> + Send + Sync;

struct SenderInner {
    client: reqwest::Client,
    log: Mutex<Vec<Delivery>>,
    retry: Mutex<WebhookRetry>,
}

impl Default for SenderInner {
    fn default() -> Self {
        // Loopback only: no proxy, and a redirect is an answer (a 3xx), never followed off
        // this machine.
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        SenderInner {
            client,
            log: Mutex::new(Vec::new()),
            retry: Mutex::new(WebhookRetry::default()),
        }
    }
}

/// Delivers signed webhooks from a sandbox to a URL on this machine, re-delivers them on the
/// sandbox's [`WebhookRetry`] schedule like the real providers, and records every attempt.
#[derive(Clone, Default)]
pub struct WebhookSender {
    inner: Arc<SenderInner>,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender")
            .field("retry", &*lock(&self.inner.retry))
            .finish()
    }
}

/// True for `http(s)://127.x.x.x`, `[::1]` and `localhost`: the only places a sandbox delivers.
fn is_loopback_url(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    if !matches!(u.scheme(), "http" | "https") {
        return false;
    }
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

impl WebhookSender {
    /// A sender re-delivering on `retry`.
    pub fn new(retry: WebhookRetry) -> Self {
        let sender = Self::default();
        sender.set_retry(retry);
        sender
    }

    /// The schedule for deliveries from now on (deliveries already under way keep theirs).
    pub fn set_retry(&self, retry: WebhookRetry) {
        *lock(&self.inner.retry) = retry;
    }

    /// The schedule new deliveries get.
    pub fn retry(&self) -> WebhookRetry {
        lock(&self.inner.retry).clone()
    }

    /// POSTs `body` with `headers` to `url`, records the outcome, and re-delivers the same
    /// headers and body on the schedule while the answer is not 2xx. Returns the first
    /// attempt's status. Never fails: a receiver that is down is recorded with `status: None`,
    /// as a real provider would just retry later.
    pub async fn send(
        &self,
        url: &str,
        label: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Option<u16> {
        let headers: Vec<(String, String)> =
            headers.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        self.send_signed(url, label, body, move |_| headers.clone()).await
    }

    /// Like [`WebhookSender::send`], but `sign` makes each attempt's headers from the body, so
    /// a provider that signs a timestamp gets a fresh one on every attempt (the body stays
    /// byte-identical).
    pub async fn send_signed<F>(&self, url: &str, label: &str, body: Vec<u8>, sign: F) -> Option<u16>
    where
        F: Fn(&[u8]) -> Vec<(String, String)> + Send + Sync + 'static,
    {
        let retry = self.retry();
        let body = Bytes::from(body);
        let sign: Arc<Signer> = Arc::new(sign);
        let index = {
            let mut log = lock(&self.inner.log);
            log.push(Delivery {
                url: url.to_string(),
                label: label.to_string(),
                status: None,
                headers: Vec::new(),
                body: body.clone(),
                attempts: Vec::new(),
                finished: false,
            });
            log.len() - 1
        };
        if !is_loopback_url(url) {
            let headers = sign(&body);
            let mut log = lock(&self.inner.log);
            if let Some(d) = log.get_mut(index) {
                d.headers = headers.clone();
                d.attempts.push(Attempt {
                    number: 1,
                    at: SystemTime::now(),
                    status: None,
                    error: Some("not a loopback URL: a sandbox delivers only on this machine".into()),
                    headers,
                });
                d.finished = true;
            }
            return None;
        }
        let first = attempt(&self.inner, index, 1, url, &body, &*sign, retry.attempt_timeout).await;
        if first.succeeded() || retry.delays.is_empty() {
            finish(&self.inner, index);
            return first.status;
        }
        let weak = Arc::downgrade(&self.inner);
        let url = url.to_string();
        tokio::spawn(async move {
            for (n, delay) in (2u32..).zip(retry.delays.iter().copied()) {
                tokio::time::sleep(delay).await;
                // The sandbox is gone: so is the provider that would retry.
                let Some(inner) = weak.upgrade() else { return };
                if attempt(&inner, index, n, &url, &body, &*sign, retry.attempt_timeout)
                    .await
                    .succeeded()
                {
                    break;
                }
            }
            if let Some(inner) = weak.upgrade() {
                finish(&inner, index);
            }
        });
        first.status
    }

    /// Every delivery so far, each with its attempts.
    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.inner.log).clone()
    }

    /// Waits up to `timeout` until every delivery so far is finished (delivered or out of
    /// attempts), and returns them all.
    pub async fn wait_finished(&self, timeout: Duration) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let all = self.deliveries();
            if all.iter().all(|d| d.finished) || tokio::time::Instant::now() >= deadline {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn attempt(
    inner: &SenderInner,
    index: usize,
    number: u32,
    url: &str,
    body: &Bytes,
    sign: &Signer,
    timeout: Duration,
) -> Attempt {
    let headers = sign(body);
    let at = SystemTime::now();
    let mut req = inner
        .client
        .post(url)
        .header("content-type", "application/json")
        .timeout(timeout)
        .body(body.clone());
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let (status, error) = match req.send().await {
        Ok(r) => (Some(r.status().as_u16()), None),
        // Never the error's text: it quotes the URL, which can carry a token.
        Err(e) if e.is_timeout() => (None, Some(format!("no answer within {timeout:?}"))),
        Err(e) if e.is_connect() => (None, Some("could not connect".to_string())),
        Err(_) => (None, Some("the request failed".to_string())),
    };
    let a = Attempt {
        number,
        at,
        status,
        error,
        headers,
    };
    if let Some(d) = lock(&inner.log).get_mut(index) {
        d.status = a.status;
        d.headers = a.headers.clone();
        d.attempts.push(a.clone());
    }
    a
}

fn finish(inner: &SenderInner, index: usize) {
    if let Some(d) = lock(&inner.log).get_mut(index) {
        d.finished = true;
    }
}

/// A tiny webhook receiver for tests and demos: records every POST it gets (headers and raw
/// body) and answers 200.
pub struct WebhookInbox {
    server: SandboxServer,
}

impl std::fmt::Debug for WebhookInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookInbox").field("url", &self.url()).finish()
    }
}

impl WebhookInbox {
    /// Starts the receiver on a random loopback port.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let router = axum::Router::new().fallback(|| async { StatusCode::OK });
        Ok(WebhookInbox {
            server: SandboxServer::start(router).await?,
        })
    }
    /// The URL to give the sandbox.
    pub fn url(&self) -> String {
        format!("{}/webhook", self.server.base_url())
    }
    /// The receiver's server: script its answers (`inbox.server().fail_next(2,
    /// Fault::Status(500))` makes it answer 500 twice, so a sandbox re-delivers).
    pub fn server(&self) -> &SandboxServer {
        &self.server
    }
    /// Everything received so far.
    pub fn received(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }
    /// Waits up to `timeout` for at least `n` deliveries.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
