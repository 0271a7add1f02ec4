//! Callback verification: ROCheap POSTs the order to your callback URL whenever its status
//! changes, signed in the `rocheap-api-signature` header (ROCheap's "Callbacks and
//! Verification" page).
//!
//! The signature is HMAC-SHA256, keyed with **your API key**, over the body with every
//! object's keys sorted recursively and printed as compact JSON (JavaScript's
//! `JSON.stringify`), as 64 lowercase hex characters. [`Verifier::verify`] reproduces that byte
//! for byte, compares in constant time, refuses any other spelling of the signature
//! (uppercase, a `sha256=` prefix, spaces) as [`WebhookError::MalformedHeader`], and never
//! parses the body into your types; [`Verified::parse`] does that afterwards.
//!
//! ```
//! use std::time::SystemTime;
//! use rocheap::webhook::{self, Callback, Verifier};
//! let body = br#"{"success":true,"order_id":"o1","status":{"code":"COMPLETED","message":"done"}}"#;
//! let headers = webhook::sign("test_api_key", body, SystemTime::now());
//! match Verifier::new("test_api_key").verify(&headers, body)?.parse()? {
//!     Callback::Order(order) => assert!(order.status.code.is_final()),
//!     Callback::Unparsed { error, .. } => panic!("not an order: {error}"),
//!     _ => {}
//! }
//! # Ok::<(), rocheap::webhook::WebhookError>(())
//! ```
//!
//! Callbacks may arrive more than once or out of order (ROCheap documents no retry policy):
//! make your handler idempotent on `(order_id, status.code)`, answer `200` quickly, and treat
//! a `COMPLETED` you already processed as a no-op.

use std::sync::Arc;
use std::time::SystemTime;

use payout_core::SecretString;
use payout_core::reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
pub use payout_core::webhook::{Clock, FixedClock, Headers, SystemClock, WebhookError};
use payout_core::webhook::{any_secret_matches, hmac_sha256, strict_hex_digest, to_hex};

use crate::orders::Order;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "rocheap-api-signature";

const HINT: &str = "ROCheap signs callbacks with your API key, the same value you send in `rocheap-api-key`";

/// Verifies ROCheap callbacks. Build it once with your API key and reuse it.
#[derive(Clone)]
pub struct Verifier {
    secrets: Vec<SecretString>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &format_args!("[{} redacted]", self.secrets.len()))
            .finish()
    }
}

impl Verifier {
    /// A verifier for callbacks signed with `api_key` (ROCheap signs with your API key; there
    /// is no separate webhook secret).
    pub fn new(api_key: impl Into<String>) -> Self {
        Verifier {
            secrets: Vec::new(),
            clock: Arc::new(SystemClock),
        }
        .secret(api_key)
    }

    /// Also accepts callbacks signed with `api_key` (while you rotate keys, configure the old
    /// and the new one). An empty key is ignored: it would authenticate nothing.
    pub fn secret(mut self, api_key: impl Into<String>) -> Self {
        let key = api_key.into();
        if !key.is_empty() {
            self.secrets.push(SecretString::from(key));
        }
        self
    }

    /// Uses another clock for [`Verified::received_at`]. ROCheap's scheme carries no
    /// timestamp, so there is no tolerance to check (and no `.tolerance(..)`).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks a callback. `headers` is your framework's header map (an `http::HeaderMap` as
    /// axum gives it, or name/value pairs); `raw_body` is the request body exactly as received.
    ///
    /// # Errors
    /// * [`WebhookError::MissingHeader`]: no `rocheap-api-signature` header;
    /// * [`WebhookError::MalformedHeader`]: not exactly 64 lowercase hex characters;
    /// * [`WebhookError::NoSecret`]: no non-empty API key was configured;
    /// * [`WebhookError::InvalidBody`]: the body is not JSON (so it cannot be canonicalized);
    /// * [`WebhookError::SignatureMismatch`]: a different key, or a modified body. The two
    ///   cannot be told apart by design: an HMAC reveals nothing about which input differs.
    pub fn verify<H: Headers + ?Sized>(
        &self,
        headers: &H,
        raw_body: &[u8],
    ) -> Result<Verified, WebhookError> {
        let header = headers
            .header(SIGNATURE_HEADER)
            .ok_or(WebhookError::MissingHeader(SIGNATURE_HEADER))?;
        let expected = strict_hex_digest(header, SIGNATURE_HEADER)?;
        if self.secrets.is_empty() {
            return Err(WebhookError::NoSecret);
        }
        let canonical = crate::canonical::canonicalize(raw_body).map_err(WebhookError::InvalidBody)?;
        // The documented scheme signs the canonical form; ROCheap usually sends it already
        // canonical, in which case it equals the raw body. Accepting an HMAC of the raw bytes
        // too costs nothing in security (it is still a MAC with your key over what you received).
        let ok = any_secret_matches(&self.secrets, &[canonical.as_bytes()], &expected)
            || (canonical.as_bytes() != raw_body
                && any_secret_matches(&self.secrets, &[raw_body], &expected));
        if ok {
            Ok(Verified {
                body: raw_body.to_vec(),
                received_at: self.clock.now(),
            })
        } else {
            Err(WebhookError::SignatureMismatch { hint: HINT })
        }
    }
}

impl payout_core::WebhookVerifier for Verifier {
    type Verified = Verified;
    type Error = WebhookError;
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Verified, WebhookError> {
        Verifier::verify(self, headers, body)
    }
}

#[cfg(feature = "axum")]
pub mod axum;

/// A callback whose signature checked out. Parse it with [`Verified::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    body: Vec<u8>,
    received_at: SystemTime,
}

impl Verified {
    /// The verified raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// When it was verified (by the verifier's clock).
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }

    /// The key to deduplicate this callback on: `rocheap:sha256:<hex>` of the canonical body
    /// (keys sorted, compact, as it is signed). ROCheap gives callbacks no id and its signature
    /// no timestamp, so a replay of a captured callback verifies forever: deduplicating on the
    /// signed content is the only replay protection there is. Each status change of an order
    /// is a different body, hence a different key; a re-sent or re-ordered copy is the same.
    pub fn dedupe_key(&self) -> String {
        match crate::canonical::canonicalize(&self.body) {
            Ok(canonical) => payout_core::dedupe::body_key(crate::client::PROVIDER, canonical.as_bytes()),
            Err(_) => payout_core::dedupe::body_key(crate::client::PROVIDER, &self.body),
        }
    }

    /// Parses the verified body into the order it reports. A JSON body that does not decode
    /// as an order (ROCheap changed a field's type, say) is **not** refused: it comes back as
    /// [`Callback::Unparsed`] with the raw JSON and the decode error, so a verified delivery
    /// is never unreadable.
    ///
    /// # Errors
    /// [`WebhookError::InvalidBody`] only if the body is not JSON at all.
    pub fn parse(&self) -> Result<Callback, WebhookError> {
        match serde_json::from_slice::<Order>(&self.body) {
            Ok(order) => Ok(Callback::Order(Box::new(order))),
            Err(e) => {
                let raw = serde_json::from_slice(&self.body)
                    .map_err(|j| WebhookError::InvalidBody(j.to_string()))?;
                Ok(Callback::Unparsed {
                    raw,
                    error: e.to_string(),
                })
            }
        }
    }
}

impl payout_core::VerifiedDelivery for Verified {
    type Event = Callback;
    type Error = WebhookError;
    fn dedupe_key(&self) -> String {
        Verified::dedupe_key(self)
    }
    fn parse(&self) -> Result<Callback, WebhookError> {
        Verified::parse(self)
    }
}

/// What a verified ROCheap callback reports. ROCheap sends one kind of callback: the order
/// whose status changed, as "Get Order Info" returns it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Callback {
    /// The order, with its new status.
    Order(Box<Order>),
    /// A verified order callback whose body did not decode as an [`Order`]: kept raw with
    /// the decode error (log it, and look the order up with `client.orders().get(..)`).
    Unparsed {
        /// The body as JSON.
        raw: serde_json::Value,
        /// Why it did not decode.
        error: String,
    },
}

impl Callback {
    /// The order, if the callback decoded.
    pub fn order(&self) -> Option<&Order> {
        match self {
            Callback::Order(o) => Some(o.as_ref()),
            Callback::Unparsed { .. } => None,
        }
    }
}

/// The signature ROCheap computes for `body`: over the canonical form, or over the raw bytes
/// if the body is not JSON (ROCheap never sends such a body; [`Verifier::verify`] refuses it).
pub(crate) fn signature(api_key: &str, body: &[u8]) -> String {
    let mac = match crate::canonical::canonicalize(body) {
        Ok(canonical) => hmac_sha256(api_key.as_bytes(), &[canonical.as_bytes()]),
        Err(_) => hmac_sha256(api_key.as_bytes(), &[body]),
    };
    to_hex(&mac)
}

/// The headers ROCheap would send with `body`, signed with `api_key`: for tests of your own
/// callback handler. `at` is accepted for the same argument order as the other payout-rs
/// crates and is not used: ROCheap's signature carries no timestamp.
pub fn sign(api_key: &str, body: &[u8], at: SystemTime) -> HeaderMap {
    let _ = at;
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&signature(api_key, body)) {
        headers.insert(HeaderName::from_static(SIGNATURE_HEADER), v);
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers
}
