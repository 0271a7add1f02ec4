//! A ready webhook route for axum (feature `axum`): raw body, signature and timestamp,
//! deduplication, then your handler with the typed [`Event`].
//!
//! ```no_run
//! use xrocket::webhook::{Event, EventKind, Verifier};
//! # async fn run() -> std::io::Result<()> {
//! let secret = std::env::var("XROCKET_WEBHOOK_SECRET").unwrap_or_default();
//! let app = payout_core::intake::axum::Router::new().merge(xrocket::webhook::axum::router(
//!     Verifier::new(secret),
//!     |event: Event| async move {
//!         if let EventKind::PaymentStatusChanged { payment, .. } = &event.kind {
//!             println!("event {}: payment {:?}", event.id, payment.status);
//!         }
//!         Ok::<(), std::io::Error>(()) // an Err answers 500: xRocket delivers it again
//!     },
//! )); // POST /webhooks/xrocket; `.path("/hook")` to move it, `.with_dedupe(store)` to share
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! payout_core::intake::axum::serve(listener, app).await
//! # }
//! ```
//!
//! What xRocket reads back (see `payout_core::intake` for the whole table): a missing
//! `Signature`, `Signature-Timestamp` or `Signature-Version` header, a signature that is not
//! 64 lowercase hex characters, a wrong secret, a tampered body or a timestamp more than five
//! minutes away ([`Verifier::tolerance`]) is `401` and your handler is not called; a delivery
//! handled already is `200` without calling it again; your handler's `Err` is `500` with the
//! key released.
//!
//! **Retries**: xRocket expects `200` and delivers again otherwise, keeping the event `id`
//! (its schedule is not published). **Dedupe key**: the event `id`
//! (`VerifiedDelivery::dedupe_key` on [`Verified`]: `xrocket:<id>`), else a SHA-256 of the
//! body. The in-memory default remembers keys for 72 hours (at most 100 000); give a durable
//! store (`payout-journal`) to remember them across restarts and instances.

use std::future::Future;

pub use payout_core::dedupe::{Claim, Dedupe, MemoryDedupe};
pub use payout_core::intake::{BoxError, Outcome, WebhookRouter};

#[cfg(doc)]
use super::Verified;
use super::{Event, Verifier};

/// Where [`router`] serves `POST` unless told otherwise ([`WebhookRouter::path`]).
pub const DEFAULT_PATH: &str = "/webhooks/xrocket";

/// The webhook route: `POST` [`DEFAULT_PATH`], verified with `verifier`, deduplicated in
/// memory (see [`WebhookRouter::with_dedupe`]), handled by `handler`. Mount it with
/// `Router::merge`, or call [`WebhookRouter::receive`] from your own route.
pub fn router<H, Fut, E>(verifier: Verifier, handler: H) -> WebhookRouter<Verifier>
where
    H: Fn(Event) -> Fut + Send + Sync + 'static,
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
