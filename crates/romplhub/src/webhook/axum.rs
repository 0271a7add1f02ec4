//! A ready webhook route for axum (feature `axum`). RomplHub does not sign its webhooks, so
//! the route checks what can be checked and hands your handler the **confirmed** order:
//!
//! 1. the token in the URL's query string (`?t=<token>`, which you put in every order's
//!    `webhook_url` with [`webhook_url`]): missing or wrong is `401`, and nothing is fetched;
//! 2. the raw body is parsed ([`super::parse`]): not a RomplHub webhook is `400`;
//! 3. the claimed order is fetched again with your client's own credentials
//!    (`GET /orders/{order_uid}`, [`super::confirm`]): an order RomplHub does not know is `401`
//!    (a forgery); a failed look-up is `503`, so a retry can confirm it later;
//! 4. deduplicated on `romplhub:<order_uid>:<confirmed status>`: a repeat is `200` and your
//!    handler is not called again;
//! 5. your handler gets the [`Confirmation`]: act on `confirmation.order.status` (what RomplHub
//!    answered you), never on the claim. `confirmation.agrees()` is false when the claim was
//!    stale or forged. An `Err` is `500` with the key released.
//!
//! ```no_run
//! use romplhub::webhook::Confirmation;
//! # async fn run(client: romplhub::Client) -> std::io::Result<()> {
//! let token = std::env::var("ROMPLHUB_WEBHOOK_TOKEN").unwrap_or_default();
//! let hook = romplhub::webhook::axum::webhook_url("https://bot.example/webhooks/romplhub", &token);
//! // ... CreateOrder::new(login, password, product).webhook_url(&hook) ...
//! let app = payout_core::intake::axum::Router::new().merge(romplhub::webhook::axum::router(
//!     client,
//!     token,
//!     |confirmed: Confirmation| async move {
//!         if confirmed.order.status == romplhub::OrderStatus::Completed {
//!             println!("{} delivered", confirmed.order.order_uid);
//!         }
//!         Ok::<(), std::io::Error>(())
//!     },
//! )); // POST /webhooks/romplhub
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! payout_core::intake::axum::serve(listener, app).await
//! # }
//! ```
//!
//! **Retries**: RomplHub documents none for webhooks (it is not known whether a `500` is
//! retried). Its webhooks are hints: keep `wait_until_final` or a periodic `orders().get(..)`
//! for orders whose webhook your handler failed on.
//!
//! The confirmation look-up counts against RomplHub's 60 requests a minute: the token check
//! comes first so junk never spends it.

use std::future::Future;
use std::sync::Arc;

pub use payout_core::dedupe::{Claim, Dedupe, MemoryDedupe};
use payout_core::intake::axum::body::Bytes;
use payout_core::intake::axum::extract::RawQuery;
pub use payout_core::intake::{BoxError, HandlerFn, Outcome};
use payout_core::{ErrorKind, SecretString};
use secrecy::ExposeSecret;

use super::{Confirmation, confirm, parse};
use crate::client::Client;

/// Where [`router`] serves `POST` unless told otherwise ([`Receiver::path`]).
pub const DEFAULT_PATH: &str = "/webhooks/romplhub";
/// The query parameter carrying the token (`?t=<token>`).
pub const TOKEN_PARAM: &str = "t";

/// `url` with the token appended as `t=<token>` (percent-encoded), for every order's
/// `webhook_url`, so the receiver can shed forged calls before spending a look-up.
pub fn webhook_url(url: &str, token: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    format!("{url}{sep}{TOKEN_PARAM}={encoded}")
}

/// The RomplHub webhook route: token, parse, confirm, dedupe, your handler. Built by
/// [`router`]; mount it with `Router::merge` or call [`Receiver::receive`].
pub struct Receiver {
    client: Client,
    token: SecretString,
    path: String,
    dedupe: Arc<dyn Dedupe>,
    handler: HandlerFn<Confirmation>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("path", &self.path)
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The webhook route: `POST` [`DEFAULT_PATH`], checking `?t=<token>`, confirming each claim
/// with `client`, deduplicated in memory (see [`Receiver::with_dedupe`]), handled by
/// `handler`. An empty `token` refuses every delivery (it would authenticate nothing).
pub fn router<H, Fut, E>(client: Client, token: impl Into<String>, handler: H) -> Receiver
where
    H: Fn(Confirmation) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError> + 'static,
{
    Receiver {
        client,
        token: SecretString::from(token.into()),
        path: DEFAULT_PATH.to_string(),
        dedupe: Arc::new(MemoryDedupe::default()),
        handler: payout_core::intake::handler_fn(handler),
    }
}

impl Receiver {
    /// Deduplicates with `store` (a shared or durable one, `payout-journal`'s for instance).
    pub fn with_dedupe(mut self, store: impl Dedupe + 'static) -> Self {
        self.dedupe = Arc::new(store);
        self
    }

    /// Serves the route at `path` instead of [`DEFAULT_PATH`].
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Processes one delivery: the request's raw query string and raw body.
    pub async fn receive(&self, query: Option<&str>, body: &[u8]) -> Outcome {
        let provider = crate::PROVIDER;
        let given = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .find(|(k, _)| k == TOKEN_PARAM)
            .map(|(_, v)| v.into_owned());
        let token_ok = given
            .as_deref()
            .is_some_and(|t| payout_core::intake::token_matches(self.token.expose_secret(), t));
        if !token_ok {
            tracing::warn!(
                provider,
                "webhook refused: missing or wrong URL token; answered 401"
            );
            return Outcome::Refused;
        }
        let event = match parse(body) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(provider, error = %e, "webhook is unreadable: answered 400");
                return Outcome::Unreadable;
            }
        };
        let confirmation = match confirm(&self.client, &event).await {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                tracing::warn!(
                    provider,
                    "webhook names an order RomplHub does not know: answered 401"
                );
                return Outcome::Refused;
            }
            Err(e) if e.kind() == ErrorKind::InvalidInput => {
                tracing::warn!(provider, error = %e, "webhook names no order: answered 400");
                return Outcome::Unreadable;
            }
            Err(e) => {
                tracing::warn!(provider, error = %e, "webhook confirmation failed: answered 503");
                return Outcome::Unavailable;
            }
        };
        let key = format!(
            "{provider}:{}:{}",
            confirmation.order.order_uid.as_str(),
            confirmation.order.status.as_str()
        );
        payout_core::intake::deliver(provider, self.dedupe.as_ref(), &key, (self.handler)(confirmation)).await
    }

    /// The axum router serving `POST` on the route's path (any state type).
    pub fn into_router<S>(self) -> payout_core::intake::axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let path = self.path.clone();
        let this = Arc::new(self);
        payout_core::intake::axum::Router::new().route(
            &path,
            payout_core::intake::axum::routing::post(move |RawQuery(query): RawQuery, body: Bytes| {
                let this = this.clone();
                // On its own task: a provider that hangs up must not leave the claim in flight.
                payout_core::intake::run_to_completion(
                    async move { this.receive(query.as_deref(), &body).await },
                )
            }),
        )
    }
}

impl<S> From<Receiver> for payout_core::intake::axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn from(r: Receiver) -> Self {
        r.into_router()
    }
}
