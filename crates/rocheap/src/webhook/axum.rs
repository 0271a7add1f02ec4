//! A ready callback route for axum (feature `axum`): raw body, signature, deduplication,
//! then your handler with the typed [`Callback`].
//!
//! ```no_run
//! use rocheap::webhook::{Callback, Verifier};
//! # async fn run() -> std::io::Result<()> {
//! let api_key = std::env::var("ROCHEAP_API_KEY").unwrap_or_default();
//! let app = payout_core::intake::axum::Router::new().merge(rocheap::webhook::axum::router(
//!     Verifier::new(api_key),
//!     |callback: Callback| async move {
//!         if let Some(order) = callback.order() {
//!             println!("order {} is {:?}", order.order_id, order.status.code);
//!         }
//!         Ok::<(), std::io::Error>(()) // an Err answers 500; the key is released for a retry
//!     },
//! )); // POST /webhooks/rocheap; `.path("/cb")` to move it, `.with_dedupe(store)` to share
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! payout_core::intake::axum::serve(listener, app).await
//! # }
//! ```
//!
//! What ROCheap reads back (see `payout_core::intake` for the whole table): a missing,
//! malformed (uppercase, `sha256=`-prefixed) or wrong `rocheap-api-signature` is `401` and
//! your handler is not called; a callback handled already is `200` without calling it again;
//! your handler's `Err` is `500` with the key released.
//!
//! **Dedupe key**: [`Verified::dedupe_key`], a SHA-256 of the canonical body. ROCheap's
//! signature carries no timestamp, so without it a captured callback could be replayed at
//! will; the in-memory default remembers keys for 72 hours (at most 100 000 of them): give a
//! durable store (`payout-journal`) to remember them across restarts and instances.
//!
//! **Retries**: ROCheap documents no retry policy for callbacks. A `500` is the status that
//! asks for one, but do not rely on it: when your handler fails, the order's state stays
//! readable with `client.orders().get(..)` (ROCheap's "Get Order Info"), and ROCheap's own
//! guide says to poll orders that stay without a callback.

use std::future::Future;

pub use payout_core::dedupe::{Claim, Dedupe, MemoryDedupe};
pub use payout_core::intake::{BoxError, Outcome, WebhookRouter};

#[cfg(doc)]
use super::Verified;
use super::{Callback, Verifier};

/// Where [`router`] serves `POST` unless told otherwise ([`WebhookRouter::path`]).
pub const DEFAULT_PATH: &str = "/webhooks/rocheap";

/// The callback route: `POST` [`DEFAULT_PATH`], verified with `verifier`, deduplicated in
/// memory (see [`WebhookRouter::with_dedupe`]), handled by `handler`. Mount it with
/// `Router::merge`, or call [`WebhookRouter::receive`] from your own route.
pub fn router<H, Fut, E>(verifier: Verifier, handler: H) -> WebhookRouter<Verifier>
where
    H: Fn(Callback) -> Fut + Send + Sync + 'static,
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
