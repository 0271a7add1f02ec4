//! Webhooks: verify first, then parse.
//!
//! xRocket signs each delivery with your app's **webhook secret** (from the xRocket bot; it
//! is not the API token):
//!
//! * `Signature-Timestamp`: Unix time in milliseconds;
//! * `Signature-Version`: `v1` (anything else is refused);
//! * `Signature`: lower-case hex HMAC-SHA256 of `"<Signature-Timestamp>.<raw body>"`.
//!
//! [`Verifier::verify`] checks the version, the signature (constant time, against every
//! configured secret, so a rotation needs no downtime) and that the timestamp is within five
//! minutes of now. It never parses. The signature must be exactly the documented form, 64
//! lower-case hex characters with nothing around them: an uppercase, prefixed (`sha256=`) or
//! padded value is [`WebhookError::MalformedHeader`], so one MAC has one spelling.
//! [`Verified::parse`] then reads the envelope `{id, timestamp, type, data}` into an
//! [`Event`]; types this crate does not know are kept raw in [`EventKind::Unknown`], and a
//! known type whose payload does not decode comes back as [`EventKind::Unparsed`] (raw JSON
//! and the decode error), never as a refused delivery.
//!
//! **Deduplicate on [`Event::id`].** xRocket retries a delivery until you answer 200 and keeps
//! the same `id` across retries, and the two invoice events of one payment can arrive in any
//! order. Store the ids you processed and answer 200 to a repeat without acting again. For
//! money decisions, count a payment when `payment_status_changed` says `paid` (or re-read the
//! invoice with `client.invoices().get(..)` first, as careful integrations do).
//!
//! ```
//! use xrocket::webhook::{Verifier, EventKind, sign};
//! let body = br#"{"id":"evt-1","timestamp":"2026-01-01T00:00:00Z","type":"withdrawal","data":{"withdrawalId":"9","network":"TON","address":"UQ..","asset":"TONCOIN","amount":"2.5","status":"COMPLETED"}}"#;
//! let headers = sign("whsec-test", body, std::time::SystemTime::now());
//! let event = Verifier::new("whsec-test").verify(&headers, body)?.parse()?;
//! assert_eq!(event.id, "evt-1");
//! assert!(matches!(event.kind, EventKind::Withdrawal(_)));
//! # Ok::<(), xrocket::webhook::WebhookError>(())
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use payout_core::reqwest::header::HeaderMap;
use payout_core::reqwest::header::{HeaderName, HeaderValue};
pub use payout_core::webhook::{Clock, FixedClock, Headers, SystemClock, WebhookError};
use payout_core::webhook::{check_timestamp, hmac_sha256, to_hex, unix_millis, verify_hex_signature};
use payout_core::{SecretString, Timestamp};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::cheques::Cheque;
use crate::invoices::{Invoice, InvoicePayment};
use crate::transfers::Transfer;
use crate::withdrawals::Withdrawal;

/// The header carrying the hex HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "Signature";
/// The header carrying the signing time in Unix milliseconds.
pub const TIMESTAMP_HEADER: &str = "Signature-Timestamp";
/// The header carrying the signature scheme version (`v1`).
pub const VERSION_HEADER: &str = "Signature-Version";
/// The only signature version this crate accepts.
pub const SIGNATURE_VERSION: &str = "v1";
/// How far the signing time may be from now: five minutes, as xRocket recommends.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

const HINT: &str = "xRocket signs with the app's webhook secret from the bot, not the API token";

/// Verifies xRocket webhook signatures. Build it once with your secret(s) and reuse it.
#[derive(Clone)]
pub struct Verifier {
    secrets: Vec<SecretString>,
    tolerance: Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &format_args!("[{} redacted]", self.secrets.len()))
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl Verifier {
    /// A verifier for one webhook secret, with the system clock and a five-minute tolerance.
    pub fn new(secret: impl Into<String>) -> Self {
        Verifier {
            secrets: vec![SecretString::from(secret.into())],
            tolerance: DEFAULT_TOLERANCE,
            clock: Arc::new(SystemClock),
        }
    }

    /// Also accepts `secret` (during a rotation, configure the old and the new one).
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secrets.push(SecretString::from(secret.into()));
        self
    }

    /// Changes the allowed distance between the signing time and now.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Uses another clock (tests, replays of stored deliveries).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks a delivery. Pass the **raw** request body, byte for byte as received: a body
    /// re-serialized by your framework will not verify. Headers may be a `HeaderMap` or any
    /// other [`Headers`] (a slice of pairs, a `HashMap`).
    pub fn verify<H: Headers + ?Sized>(
        &self,
        headers: &H,
        raw_body: &[u8],
    ) -> Result<Verified, WebhookError> {
        let version = headers
            .header(VERSION_HEADER)
            .ok_or(WebhookError::MissingHeader(VERSION_HEADER))?;
        if version != SIGNATURE_VERSION {
            return Err(WebhookError::MalformedHeader {
                header: VERSION_HEADER,
                reason: "unsupported signature version (this crate verifies v1); upgrade the crate",
            });
        }
        let ts = headers
            .header(TIMESTAMP_HEADER)
            .ok_or(WebhookError::MissingHeader(TIMESTAMP_HEADER))?;
        let malformed_ts = WebhookError::MalformedHeader {
            header: TIMESTAMP_HEADER,
            reason: "expected Unix time in milliseconds",
        };
        if ts.is_empty() || !ts.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed_ts);
        }
        let signed_at = ts.parse::<u64>().ok().and_then(unix_millis).ok_or(malformed_ts)?;
        let signature = headers
            .header(SIGNATURE_HEADER)
            .ok_or(WebhookError::MissingHeader(SIGNATURE_HEADER))?;
        verify_hex_signature(
            &self.secrets,
            &[ts.as_bytes(), b".", raw_body],
            signature,
            SIGNATURE_HEADER,
            HINT,
        )?;
        check_timestamp(signed_at, self.clock.now(), self.tolerance)?;
        Ok(Verified {
            body: raw_body.to_vec(),
            signed_at,
        })
    }
}

impl payout_core::WebhookVerifier for Verifier {
    type Verified = Verified;
    type Error = WebhookError;

    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Verified, WebhookError> {
        Verifier::verify(self, headers, body)
    }
}

/// The headers xRocket would send with `body` signed with `secret` at `at`: `Signature`,
/// `Signature-Timestamp` (Unix milliseconds) and `Signature-Version: v1`. For testing your
/// own webhook endpoint.
pub fn sign(secret: &str, body: &[u8], at: SystemTime) -> HeaderMap {
    let ts = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        .to_string();
    let mut map = HeaderMap::new();
    for (name, value) in [
        ("signature", signature(secret, &ts, body)),
        ("signature-timestamp", ts.clone()),
        ("signature-version", SIGNATURE_VERSION.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            map.insert(HeaderName::from_static(name), v);
        }
    }
    map
}

/// The `Signature` value for `body` at `timestamp_ms` (the decimal string of the
/// `Signature-Timestamp` header).
pub(crate) fn signature(secret: &str, timestamp_ms: &str, body: &[u8]) -> String {
    to_hex(&hmac_sha256(
        secret.as_bytes(),
        &[timestamp_ms.as_bytes(), b".", body],
    ))
}

#[cfg(feature = "axum")]
pub mod axum;

/// A delivery whose signature and timestamp checked out. Nothing is parsed yet.
#[derive(Debug, Clone)]
pub struct Verified {
    body: Vec<u8>,
    signed_at: SystemTime,
}

impl Verified {
    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// When xRocket signed the delivery.
    pub fn signed_at(&self) -> SystemTime {
        self.signed_at
    }

    /// Reads the envelope into an [`Event`]. Only an envelope that is not `{id, type, data}`
    /// is an error; a known type whose payload does not decode is [`EventKind::Unparsed`].
    pub fn parse(&self) -> Result<Event, WebhookError> {
        parse_event(&self.body)
    }
}

impl payout_core::contract::VerifiedDelivery for Verified {
    type Event = Event;
    type Error = WebhookError;

    /// `xrocket:<event id>` (xRocket keeps the id across retries); a body whose id cannot be
    /// read is keyed by its SHA-256 instead.
    fn dedupe_key(&self) -> String {
        #[derive(Deserialize)]
        struct Id {
            #[serde(deserialize_with = "crate::common::string_or_number")]
            id: String,
        }
        match serde_json::from_slice::<Id>(&self.body) {
            Ok(Id { id }) if !id.is_empty() => format!("{}:{id}", crate::client::PROVIDER),
            _ => payout_core::dedupe::body_key(crate::client::PROVIDER, &self.body),
        }
    }

    fn parse(&self) -> Result<Event, WebhookError> {
        Verified::parse(self)
    }
}

/// A verified webhook delivery.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// The delivery id. It stays the same when xRocket retries: deduplicate on it.
    pub id: String,
    /// When the event happened (the envelope's `timestamp`, a date-time in xRocket Pay's
    /// webhook envelope), as a [`Timestamp`]: the text as sent, and the instant when it parses
    /// (a number is kept as its decimal text, not interpreted). `None` when absent or `null`.
    /// Not the signing time: that is [`Verified::signed_at`].
    pub timestamp: Option<Timestamp>,
    /// What happened.
    pub kind: EventKind,
}

/// What a webhook reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventKind {
    /// `type: invoice`, `data.event: invoice_status_changed`. Count the invoice as done when
    /// its status is `paid`.
    InvoiceStatusChanged {
        /// The invoice, as it is now.
        invoice: Box<Invoice>,
    },
    /// `type: invoice`, `data.event: payment_status_changed`. Count the payment when
    /// `payment.status` is `paid`; it is final once `payment.finalized_at` is set.
    PaymentStatusChanged {
        /// The invoice.
        invoice: Box<Invoice>,
        /// The payment that changed.
        payment: Box<InvoicePayment>,
    },
    /// `type: cheque`.
    Cheque(Box<Cheque>),
    /// `type: transfer` (or `payout`, the naming public integrations use).
    Transfer(Box<Transfer>),
    /// `type: withdrawal`.
    Withdrawal(Box<Withdrawal>),
    /// A known type whose payload this crate could not decode (xRocket added or changed a
    /// field): the delivery is genuine, so it is never refused. Handle it from the raw JSON,
    /// or re-read the object through the API, and report the error so the crate can follow.
    Unparsed {
        /// The envelope's `type` (with `data.event`, when present, after a `/`).
        event_type: String,
        /// The envelope's `data`, as sent.
        data: serde_json::Value,
        /// Why the payload did not decode.
        error: String,
    },
    /// A type or invoice event this crate does not know, kept as sent. Answer 200 and ignore
    /// it, or handle it from the raw JSON.
    Unknown {
        /// The envelope's `type` (with `data.event`, when present, after a `/`).
        event_type: String,
        /// The envelope's `data`.
        data: serde_json::Value,
    },
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(deserialize_with = "crate::common::string_or_number")]
    id: String,
    #[serde(default)]
    timestamp: Option<serde_json::Value>,
    #[serde(rename = "type")]
    type_: String,
    #[serde(default)]
    data: serde_json::Value,
}

/// Parses a (verified) body. Public for replaying stored deliveries; never call it on an
/// unverified body.
pub fn parse_event(body: &[u8]) -> Result<Event, WebhookError> {
    let env: Envelope = serde_json::from_slice(body).map_err(|e| invalid("envelope", &e))?;
    // Any other JSON type is dropped rather than refusing a genuine delivery.
    let timestamp = match env.timestamp {
        Some(serde_json::Value::String(s)) => Some(Timestamp::parse(s)),
        Some(serde_json::Value::Number(n)) => Some(Timestamp::parse(n.to_string())),
        _ => None,
    };
    let event_name = env.data.get("event").and_then(|v| v.as_str()).map(str::to_string);
    let event_type = match &event_name {
        Some(e) => format!("{}/{e}", env.type_),
        None => env.type_.clone(),
    };
    let typed: Option<Result<EventKind, WebhookError>> = match (env.type_.as_str(), event_name.as_deref()) {
        ("invoice", Some("invoice_status_changed")) => {
            Some(
                field(&env.data, "invoice").map(|invoice| EventKind::InvoiceStatusChanged {
                    invoice: Box::new(invoice),
                }),
            )
        }
        ("invoice", Some("payment_status_changed")) => {
            Some(field(&env.data, "invoice").and_then(|invoice| {
                field(&env.data, "payment").map(|payment| EventKind::PaymentStatusChanged {
                    invoice: Box::new(invoice),
                    payment: Box::new(payment),
                })
            }))
        }
        ("cheque", _) => Some(object(&env.data, "cheque").map(|c| EventKind::Cheque(Box::new(c)))),
        ("transfer" | "payout", _) => {
            let inner = if env.data.get("transfer").is_some() {
                "transfer"
            } else {
                "payout"
            };
            Some(object(&env.data, inner).map(|t| EventKind::Transfer(Box::new(t))))
        }
        ("withdrawal", _) => {
            Some(object(&env.data, "withdrawal").map(|w| EventKind::Withdrawal(Box::new(w))))
        }
        _ => None,
    };
    let kind = match typed {
        Some(Ok(kind)) => kind,
        Some(Err(e)) => EventKind::Unparsed {
            event_type,
            data: env.data,
            error: match e {
                WebhookError::InvalidBody(m) => m,
                other => other.to_string(),
            },
        },
        None => EventKind::Unknown {
            event_type,
            data: env.data,
        },
    };
    Ok(Event {
        id: env.id,
        timestamp,
        kind,
    })
}

fn invalid(what: &str, e: &serde_json::Error) -> WebhookError {
    // serde_json's message names the line, column and expected type, never whole values.
    WebhookError::InvalidBody(format!("{what}: {e}"))
}

/// `data.<name>`, required.
fn field<T: DeserializeOwned>(data: &serde_json::Value, name: &str) -> Result<T, WebhookError> {
    let v = data
        .get(name)
        .ok_or_else(|| WebhookError::InvalidBody(format!("data.{name} is missing")))?;
    T::deserialize(v).map_err(|e| invalid(&format!("data.{name}"), &e))
}

/// `data.<name>` when xRocket wraps the object, else `data` itself.
fn object<T: DeserializeOwned>(data: &serde_json::Value, name: &str) -> Result<T, WebhookError> {
    match data.get(name) {
        Some(v) if v.is_object() => T::deserialize(v).map_err(|e| invalid(&format!("data.{name}"), &e)),
        _ => T::deserialize(data).map_err(|e| invalid("data", &e)),
    }
}
