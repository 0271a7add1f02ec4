//! Webhook intake (feature `axum`): one route that verifies, deduplicates and hands a typed
//! event to your handler, answering each provider the status it needs.
//!
//! You rarely use this module directly: each provider crate's `webhook::axum` module (feature
//! `axum`) builds a [`WebhookRouter`] with the provider's verifier, dedupe key and default path:
//!
//! ```ignore
//! let app = axum::Router::new().merge(
//!     rocheap::webhook::axum::router(Verifier::new(api_key), |event| async move {
//!         /* your work */ Ok::<(), MyError>(())
//!     }),
//! );
//! ```
//!
//! What a delivery goes through, and what the provider reads back:
//!
//! | step | outcome | status |
//! |---|---|---|
//! | the raw body (axum `Bytes`, never a JSON extractor) and the headers are verified | bad or missing signature, stale timestamp | `401`, handler not called |
//! | the verified body is parsed | not the provider's format at all | `400`, handler not called |
//! | the dedupe key is claimed | handled already | `200`, handler not called |
//! | | being handled by another request | `409`, handler not called (the provider retries; the first attempt may still fail) |
//! | | the store failed | `503`, handler not called |
//! | your handler runs | `Ok(())`: the key is committed | `200` |
//! | | `Err(_)` or a panic: the key is released | `500` (the provider retries, and the retry is handled) |
//!
//! The statuses are [`Outcome::status`]; every provider retries on a non-2xx answer (see
//! `docs/webhooks.md` for each provider's retry behaviour).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

pub use axum;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use sha2::{Digest, Sha256};

use crate::contract::{VerifiedDelivery, WebhookVerifier};
use crate::dedupe::{Claim, Dedupe, MemoryDedupe};

/// The error a handler returns: anything that converts into a boxed error (`anyhow::Error`,
/// `std::io::Error`, a `String`, your own error type).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A type-erased handler: the event in, a future of the outcome out.
pub type HandlerFn<E> =
    Arc<dyn Fn(E) -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>> + Send + Sync>;

/// Wraps a user's `async` handler (`Fn(E) -> impl Future<Output = Result<(), Err>>`).
pub fn handler_fn<E, H, Fut, Err>(handler: H) -> HandlerFn<E>
where
    E: Send + 'static,
    H: Fn(E) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Err>> + Send + 'static,
    Err: Into<BoxError> + 'static,
{
    Arc::new(move |event| {
        let fut = handler(event);
        Box::pin(async move { fut.await.map_err(Into::into) })
    })
}

/// How a delivery ended, and the status answered for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The handler ran and succeeded: `200`.
    Handled,
    /// The key was handled already: `200`, handler not called.
    Duplicate,
    /// The key is being handled by another request: `409` (so the provider retries later).
    InFlight,
    /// Bad or missing signature or token, stale timestamp: `401`, handler not called.
    Refused,
    /// Verified but not the provider's format: `400`, handler not called.
    Unreadable,
    /// The handler failed (or panicked): `500`, so the provider retries; the key was released.
    HandlerFailed,
    /// The dedupe store, or a confirmation look-up (RomplHub), failed: `503`, handler not called.
    Unavailable,
}

impl Outcome {
    /// The HTTP status answered for this outcome.
    pub fn status(self) -> StatusCode {
        match self {
            Outcome::Handled | Outcome::Duplicate => StatusCode::OK,
            Outcome::InFlight => StatusCode::CONFLICT,
            Outcome::Refused => StatusCode::UNAUTHORIZED,
            Outcome::Unreadable => StatusCode::BAD_REQUEST,
            Outcome::HandlerFailed => StatusCode::INTERNAL_SERVER_ERROR,
            Outcome::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A short body for the answer (never an error detail: the caller may be an attacker).
    fn text(self) -> &'static str {
        match self {
            Outcome::Handled => "ok",
            Outcome::Duplicate => "ok (duplicate)",
            Outcome::InFlight => "being processed; retry later",
            Outcome::Refused => "invalid signature",
            Outcome::Unreadable => "unreadable body",
            Outcome::HandlerFailed => "handler failed; retry later",
            Outcome::Unavailable => "temporarily unavailable; retry later",
        }
    }
}

impl IntoResponse for Outcome {
    fn into_response(self) -> Response {
        (self.status(), self.text()).into_response()
    }
}

/// Runs one delivery's processing on its own task and waits for it.
///
/// hyper drops a request's future when the client goes away, and providers do go away: RohoPay
/// gives up on an attempt after 10 s, others after their own timeouts. Dropped half-way, the
/// handler would stop wherever it was and the dedupe claim would stay "in flight" until its
/// TTL, so every re-delivery in that window would get 409 and the event could be lost for good
/// once the provider stops retrying. On its own task the work always finishes: the claim is
/// committed (the next attempt is a 200 duplicate) or released (the next attempt runs the
/// handler again). A panic that escapes is answered 500.
pub async fn run_to_completion<F>(work: F) -> Outcome
where
    F: Future<Output = Outcome> + Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::error!(error = %e, "webhook processing task failed: answered 500");
            Outcome::HandlerFailed
        }
    }
}

/// Runs `work` under a dedupe claim on `key`: not at all if the key is done or in flight,
/// then commits on `Ok`, releases on `Err` or a panic. The building block of every receiver.
pub async fn deliver<F>(provider: &str, dedupe: &dyn Dedupe, key: &str, work: F) -> Outcome
where
    F: Future<Output = Result<(), BoxError>> + Send,
{
    match dedupe.claim(key).await {
        Ok(Claim::New) => {}
        Ok(Claim::Done) => {
            tracing::debug!(
                provider,
                key,
                "webhook duplicate: answered 200, not handled again"
            );
            return Outcome::Duplicate;
        }
        Ok(Claim::InFlight) => {
            tracing::info!(provider, key, "webhook already being handled: answered 409");
            return Outcome::InFlight;
        }
        Err(e) => {
            tracing::error!(provider, key, error = %e, "webhook dedupe claim failed: answered 503");
            return Outcome::Unavailable;
        }
    }
    let result = match AssertUnwindSafe(work).catch_unwind().await {
        Ok(r) => r,
        Err(_) => Err(BoxError::from("the webhook handler panicked")),
    };
    match result {
        Ok(()) => {
            if let Err(e) = dedupe.commit(key).await {
                // The work is done: answer 200 (a retry would only be a duplicate to handle).
                tracing::error!(provider, key, error = %e, "webhook handled but the dedupe commit failed");
            }
            Outcome::Handled
        }
        Err(err) => {
            tracing::warn!(provider, key, error = %err, "webhook handler failed: answered 500 so the provider retries");
            if let Err(e) = dedupe.release(key).await {
                tracing::error!(provider, key, error = %e, "webhook dedupe release failed: retries wait for the in-flight ttl");
            }
            Outcome::HandlerFailed
        }
    }
}

/// Compares a received token with the expected one without leaking, through timing, how much
/// of it matched (both are hashed first, then compared in constant time).
pub fn token_matches(expected: &str, received: &str) -> bool {
    let a = Sha256::digest(expected.as_bytes());
    let b = Sha256::digest(received.as_bytes());
    !expected.is_empty() && a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

type EventOf<V> = <<V as WebhookVerifier>::Verified as VerifiedDelivery>::Event;

/// One webhook route for a signing provider: verify → parse → dedupe → your handler.
///
/// Built by a provider crate's `webhook::axum::router(verifier, handler)`; mount it with
/// `Router::merge` (it serves `POST` on [`WebhookRouter::path`]), or call
/// [`WebhookRouter::receive`] from a route of your own. Dedupes with a [`MemoryDedupe`] unless
/// given another store with [`WebhookRouter::with_dedupe`].
pub struct WebhookRouter<V>
where
    V: WebhookVerifier + 'static,
    V::Verified: VerifiedDelivery,
{
    provider: &'static str,
    path: String,
    verifier: Arc<V>,
    dedupe: Arc<dyn Dedupe>,
    handler: HandlerFn<EventOf<V>>,
}

impl<V> std::fmt::Debug for WebhookRouter<V>
where
    V: WebhookVerifier + 'static,
    V::Verified: VerifiedDelivery,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRouter")
            .field("provider", &self.provider)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl<V> WebhookRouter<V>
where
    V: WebhookVerifier + 'static,
    V::Verified: VerifiedDelivery,
{
    /// A route for `provider` at `path`, with an in-memory dedupe store
    /// ([`MemoryDedupe::default`]).
    pub fn new(
        provider: &'static str,
        path: impl Into<String>,
        verifier: V,
        handler: HandlerFn<EventOf<V>>,
    ) -> Self {
        WebhookRouter {
            provider,
            path: path.into(),
            verifier: Arc::new(verifier),
            dedupe: Arc::new(MemoryDedupe::default()),
            handler,
        }
    }

    /// Deduplicates with `store` (a shared or durable one, `payout-journal`'s for instance).
    pub fn with_dedupe(mut self, store: impl Dedupe + 'static) -> Self {
        self.dedupe = Arc::new(store);
        self
    }

    /// Serves the route at `path` instead of the provider's default.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The path the route is served at.
    pub fn route_path(&self) -> &str {
        &self.path
    }

    /// Processes one delivery: `headers` and the raw `body` exactly as received.
    pub async fn receive(&self, headers: &HeaderMap, body: &[u8]) -> Outcome {
        let provider = self.provider;
        let verified = match self.verifier.verify(headers, body) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(provider, error = %e, "webhook refused: answered 401");
                return Outcome::Refused;
            }
        };
        let event = match VerifiedDelivery::parse(&verified) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(provider, error = %e, "verified webhook is unreadable: answered 400");
                return Outcome::Unreadable;
            }
        };
        let key = verified.dedupe_key();
        deliver(provider, self.dedupe.as_ref(), &key, (self.handler)(event)).await
    }

    /// The axum router serving `POST` on the route's path (any state type, so it merges
    /// into your app's router).
    pub fn into_router<S>(self) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let path = self.path.clone();
        let this = Arc::new(self);
        axum::Router::new().route(
            &path,
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let this = this.clone();
                run_to_completion(async move { this.receive(&headers, &body).await })
            }),
        )
    }
}

impl<V, S> From<WebhookRouter<V>> for axum::Router<S>
where
    V: WebhookVerifier + 'static,
    V::Verified: VerifiedDelivery,
    S: Clone + Send + Sync + 'static,
{
    fn from(r: WebhookRouter<V>) -> Self {
        r.into_router()
    }
}
