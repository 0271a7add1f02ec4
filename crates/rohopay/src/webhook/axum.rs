//! A ready webhook route for axum (feature `axum`): raw body, signature, deduplication, then
//! your handler with the typed [`WebhookEvent`].
//!
//! ```no_run
//! use rohopay::webhook::{Verifier, WebhookEvent};
//! # async fn run() -> std::io::Result<()> {
//! let secret = std::env::var("ROHOPAY_WEBHOOK_SECRET").unwrap_or_default();
//! let app = payout_core::intake::axum::Router::new().merge(rohopay::webhook::axum::router(
//!     Verifier::new(secret),
//!     |event: WebhookEvent| async move {
//!         if let Some(tx) = event.transaction().filter(|t| t.is_successful()) {
//!             println!("{} succeeded", tx.internal_reference);
//!         }
//!         Ok::<(), std::io::Error>(()) // an Err answers 500: RohoPay retries it
//!     },
//! )); // POST /webhooks/rohopay; `.path("/hook")` to move it, `.with_dedupe(store)` to share
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! payout_core::intake::axum::serve(listener, app).await
//! # }
//! ```
//!
//! What RohoPay reads back (see `payout_core::intake` for the whole table): a missing,
//! malformed (uppercase, unprefixed) or wrong `x-rohopay-signature` is `401` and your handler
//! is not called; a delivery handled already is `200` without calling it again; your
//! handler's `Err` is `500` with the key released.
//!
//! **Retries**: RohoPay's "Webhooks" page says a delivery not answered 2xx within **10
//! seconds** is retried with backoff. Answer fast: a handler still running when the retry
//! arrives makes that retry a `409` (in flight), and RohoPay comes back again; do slow work
//! after answering (queue it) if your handler can take that long.
//!
//! **Dedupe key**: [`Verified::dedupe_key`]: the envelope `id`, else
//! `<internal_reference>:<event>` as RohoPay recommends, else a SHA-256 of the body. The
//! signature has no timestamp, so this is also the replay protection; the in-memory default
//! remembers keys for 72 hours (at most 100 000): give a durable store (`payout-journal`)
//! to remember them across restarts and instances.

use std::future::Future;

pub use payout_core::dedupe::{Claim, Dedupe, MemoryDedupe};
pub use payout_core::intake::{BoxError, Outcome, WebhookRouter};

#[cfg(doc)]
use super::Verified;
use super::{Verifier, WebhookEvent};

/// Where [`router`] serves `POST` unless told otherwise ([`WebhookRouter::path`]).
pub const DEFAULT_PATH: &str = "/webhooks/rohopay";

/// The webhook route: `POST` [`DEFAULT_PATH`], verified with `verifier`, deduplicated in
/// memory (see [`WebhookRouter::with_dedupe`]), handled by `handler`. Mount it with
/// `Router::merge`, or call [`WebhookRouter::receive`] from your own route.
pub fn router<H, Fut, E>(verifier: Verifier, handler: H) -> WebhookRouter<Verifier>
where
    H: Fn(WebhookEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError> + 'static,
{
    WebhookRouter::new(
        crate::client::PROVIDER,
        DEFAULT_PATH,
        verifier,
        payout_core::intake::handler_fn(handler),
    )
}
