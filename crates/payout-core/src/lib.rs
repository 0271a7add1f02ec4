//! # payout-core
//!
//! The thin shared core of the payout-rs provider clients (`rocheap`, `romplhub`, `xrocket`,
//! `agent-catalog`, `rohopay`). It holds no provider knowledge and no models; it owns:
//!
//! * [`Error`] and [`ErrorKind`]: one error type with the HTTP status, provider code and
//!   message, request id, `Retry-After` and the idempotency key, and a `Display` a person can act on.
//! * [`retry`]: the pure decision function that makes retries safe by construction
//!   (see `docs/retries-and-idempotency.md`), full-jitter backoff and `Retry-After` parsing.
//! * [`Transport`]: one pooled `reqwest` client (TLS by feature: `rustls-aws-lc` (default),
//!   `rustls-ring` or `native-tls`), auth injection, connect /
//!   per-attempt / total timeouts, the retry loop with a per-client [`RetryBudget`], an
//!   optional [`RateLimit`] ([`RateLimiter`] in process, `redis::RedisRateLimiter` across instances) and
//!   [`CircuitBreaker`], tracing spans that never carry bodies or secrets.
//! * [`IdempotencyKey`]: generated once per logical call and reused across attempts.
//! * [`webhook`]: HMAC-SHA256, constant-time comparison, timestamp tolerance, key rotation.
//! * [`dedupe`]: the webhook deduplication trait ([`Dedupe`]) and its bounded in-memory
//!   default; `intake` (feature `axum`): one webhook route that verifies, dedupes and calls
//!   your handler.
//! * [`pagination`]: offset, page and cursor APIs as a `Stream`, and a capped `collect_all`.
//! * [`money`]: exact `Decimal` from JSON strings or numbers, and minor units.
//! * [`Timestamp`] ([`time`]): a provider's date-time as sent, with the instant it names when it
//!   is RFC 3339 with an offset; no date-time crate needed (features `jiff` and `time` convert).
//! * The call protocol: [`Endpoint`] (a request as a value) and [`ApiClient::send`],
//!   [`reconcile`] (settling an unknown outcome by the request's own key), [`poll`] (one
//!   `wait_until_final` loop), [`envelope`] (the `{success, ...}` envelope), [`id!`] and the
//!   [`contract`] traits every provider crate implements.
//!
//! Application code rarely uses this crate directly: each provider crate re-exports what
//! its users need (`rocheap::Error` is `payout_core::Error`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod contract;
pub mod dedupe;
pub mod endpoint;
pub mod envelope;
pub mod error;
#[doc(hidden)]
pub mod id;
pub mod idempotency;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod intake;
pub mod limit;
pub mod money;
mod open_enum;
pub mod options;
pub mod pagination;
pub mod poll;
pub mod reconcile;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
pub mod retry;
#[cfg(feature = "sandbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "sandbox")))]
pub mod sandbox;
pub mod secret;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
pub mod time;
pub mod transport;
pub mod webhook;

pub use contract::{ProviderErrorCode, VerifiedDelivery, WebhookVerifier};
pub use dedupe::{Claim, Dedupe, MemoryDedupe};
pub use endpoint::{ApiClient, Endpoint, EndpointMeta, HttpMethod};
pub use error::{Error, ErrorKind, Result};
pub use idempotency::{IdempotencyKey, KeySlot};
pub use limit::{
    CircuitBreaker, CircuitState, Denied, PerOperation, RateKey, RateLimit, RateLimitSpec, RateLimiter,
    RetryBudget,
};
pub use options::{ClientOptions, RequestOptions};
pub use pagination::{Page, collect_all, paginate};
pub use poll::{OnLookupError, Poll, PollOptions};
pub use reconcile::{Found, Keyed, Reconcile, ReconcilePolicy};
pub use retry::{RetryPolicy, Safety};
pub use time::{Timestamp, TimestampError};
pub use transport::{
    AuthScheme, ErrorDecoder, ErrorInfo, RawApi, Request, Response, Transport, TransportConfig, decode_json,
    env_var, require_env,
};

#[doc(hidden)]
pub use serde as __serde;

/// Re-exported so provider crates and their users share one version.
pub use reqwest;
pub use rust_decimal::Decimal;
pub use secrecy::{self, ExposeSecret, SecretString};

/// Percent-encodes one path segment (`/`, `?`, `#`, `%`, spaces and non-ASCII included), so
/// a caller's id such as `inv 1/2` cannot change which endpoint is called.
///
/// ```
/// assert_eq!(payout_core::encode_path_segment("inv 1/2?x"), "inv%201%2F2%3Fx");
/// assert_eq!(payout_core::encode_path_segment("abc-123_~."), "abc-123_~.");
/// ```
pub fn encode_path_segment(segment: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    // RFC 3986 unreserved characters stay; everything else is encoded.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(segment, SEGMENT).to_string()
}
