//! Webhooks: a [`Verifier`] checks the `x-rohopay-signature` header over the raw body, then
//! [`Verified::parse`] reads the event. Verification never parses; parsing never trusts.
//!
//! RohoPay signs the **raw request body** with HMAC-SHA256 under your **webhook secret**
//! (Dashboard → Webhooks, `webhook_secret`; it is not the API key) and sends
//! `x-rohopay-signature: sha256=<lowercase hex>` (RohoPay documentation,
//! `docs.rohopay.com/core-concepts/webhooks`). Pass the body bytes exactly as received, before any JSON parsing.
//! Add a second secret with [`Verifier::secret`] during a rotation.
//!
//! Only that documented form verifies: `sha256=` and exactly 64 lowercase hex characters.
//! Uppercase hex, a missing or other prefix, spaces, base64 or a `t=…,v=…` form are
//! [`WebhookError::MalformedHeader`]: accepting other spellings of a valid MAC makes the
//! signature malleable. The scheme carries no timestamp, so there is no tolerance to set:
//! deduplicate deliveries instead ([`WebhookEvent::dedup_key`]); RohoPay retries a delivery
//! that is not answered 2xx within 10 seconds.
//!
//! ```
//! use rohopay::webhook::{EventType, Verifier};
//! use rohopay::reqwest::header::HeaderMap;
//! let body = br#"{"event":"deposit.successful","internal_reference":"RHP-2024-ABC123","status":"successful","amount":50000,"currency":"UGX"}"#;
//! let mut headers = HeaderMap::new();
//! headers.insert(
//!     "x-rohopay-signature",
//!     "sha256=2d2740d65b86820b9f6d8efb394c040fba23ba10de280dbc3fad4cc238529abe".parse().unwrap(),
//! );
//! let event = Verifier::new("test_webhook_secret").verify(&headers, body)?.parse()?;
//! assert_eq!(event.event_type(), EventType::DepositSuccessful);
//! assert!(event.transaction().unwrap().is_successful());
//! # Ok::<(), rohopay::webhook::WebhookError>(())
//! ```

use std::time::SystemTime;

use payout_core::reqwest::header::{HeaderMap, HeaderValue};
/// The clocks [`crate::ClientBuilder::clock`] takes (for card-expiry checks).
pub use payout_core::webhook::{Clock, FixedClock, SystemClock};
pub use payout_core::webhook::{Headers, WebhookError};
use payout_core::webhook::{strip_documented_prefix, verify_hex_signature};
use payout_core::{SecretString, Timestamp};
use serde::Deserialize;
use serde_json::Value;

use crate::transactions::Transaction;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-rohopay-signature";

/// The documented prefix of the signature.
pub const SIGNATURE_PREFIX: &str = "sha256=";

const HINT: &str = "RohoPay signs with the webhook secret from Dashboard → Webhooks, not with the API key";

payout_core::open_enum! {
    /// What a webhook reports.
    pub enum EventType {
        /// A collection or card payment was confirmed.
        DepositSuccessful => "deposit.successful",
        /// A collection or card payment failed (handled by integrators; not in RohoPay's docs).
        DepositFailed => "deposit.failed",
        /// A payout reached the payee.
        WithdrawSuccessful => "withdraw.successful",
        /// A payout failed.
        WithdrawFailed => "withdraw.failed",
    }
}

payout_core::open_enum! {
    /// Which of the two payload shapes RohoPay is reported to send arrived.
    pub enum PayloadShape {
        /// The documented flat form: `event` plus the transaction fields at the top level.
        Flat => "flat",
        /// The official SDK's envelope: `{id, created_at, type, data: {…transaction…}}`.
        Envelope => "envelope",
    }
}

/// Verifies RohoPay webhooks with one or more webhook secrets.
///
/// ```
/// use rohopay::webhook::Verifier;
/// let verifier = Verifier::new("whsec_new").secret("whsec_old"); // during a rotation
/// # let _ = verifier;
/// ```
#[derive(Clone)]
pub struct Verifier {
    secrets: Vec<SecretString>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Verifier {
    /// A verifier for your webhook secret (Dashboard → Webhooks; not the API key).
    pub fn new(secret: impl Into<SecretString>) -> Self {
        Verifier {
            secrets: vec![secret.into()],
        }
    }

    /// A verifier for the secret in `ROHOPAY_WEBHOOK_SECRET`; the error names the variable
    /// when it is unset.
    pub fn from_env() -> payout_core::Result<Self> {
        payout_core::require_env(crate::client::PROVIDER, "ROHOPAY_WEBHOOK_SECRET").map(Verifier::new)
    }

    /// Also accepts signatures made with `secret` (key rotation: keep the old secret until
    /// every delivery signed with it has arrived).
    pub fn secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Checks `x-rohopay-signature` over `raw_body` (the bytes exactly as received).
    pub fn verify(&self, headers: &HeaderMap, raw_body: &[u8]) -> Result<Verified, WebhookError> {
        self.verify_headers(headers, raw_body)
    }

    /// [`Verifier::verify`] for any [`Headers`] (a `HashMap`, pairs, another framework's
    /// map); lookups are case-insensitive.
    pub fn verify_headers<H: Headers + ?Sized>(
        &self,
        headers: &H,
        raw_body: &[u8],
    ) -> Result<Verified, WebhookError> {
        let value = headers
            .header(SIGNATURE_HEADER)
            .ok_or(WebhookError::MissingHeader(SIGNATURE_HEADER))?;
        let digest = strip_documented_prefix(value, SIGNATURE_PREFIX, SIGNATURE_HEADER)?;
        verify_hex_signature(&self.secrets, &[raw_body], digest, SIGNATURE_HEADER, HINT)?;
        Ok(Verified {
            body: raw_body.to_vec(),
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

#[cfg(feature = "axum")]
pub mod axum;

/// A delivery whose signature matched one of your secrets. Holds the raw body; call
/// [`Verified::parse`] to read it.
#[derive(Debug, Clone)]
pub struct Verified {
    body: Vec<u8>,
}

impl Verified {
    /// The verified raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The key to deduplicate this delivery on: `rohopay:<key>` with the event's
    /// [`WebhookEvent::dedup_key`] (the envelope `id`, else `<internal_reference>:<event>`, on
    /// which RohoPay's documentation says to be idempotent), or `rohopay:sha256:<hex>` of the
    /// verified body when it names neither.
    pub fn dedupe_key(&self) -> String {
        match parse_event(&self.body).ok().and_then(|e| e.dedup_key()) {
            Some(k) => format!("{}:{k}", crate::client::PROVIDER),
            None => payout_core::dedupe::body_key(crate::client::PROVIDER, &self.body),
        }
    }

    /// Parses the verified body: the documented flat `{event, …transaction}` form or the
    /// official SDK's `{type, data}` envelope.
    ///
    /// An unknown event type is [`WebhookEvent::Unknown`] with the raw JSON; a known one whose
    /// transaction does not decode is [`WebhookEvent::Unparsed`] with the raw JSON and the
    /// decode error, never a rejected delivery. Only a body that is not a JSON object in
    /// either shape is an error.
    pub fn parse(&self) -> Result<WebhookEvent, WebhookError> {
        parse_event(&self.body)
    }
}

impl payout_core::VerifiedDelivery for Verified {
    type Event = WebhookEvent;
    type Error = WebhookError;
    fn dedupe_key(&self) -> String {
        Verified::dedupe_key(self)
    }
    fn parse(&self) -> Result<WebhookEvent, WebhookError> {
        Verified::parse(self)
    }
}

/// A known event and its transaction.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TransactionEvent {
    /// The event type (`event` in the flat form, `type` in the envelope).
    pub event: EventType,
    /// Which shape arrived.
    pub shape: PayloadShape,
    /// The envelope's event id (envelope form only).
    pub id: Option<String>,
    /// The envelope's creation time (`created_at`, envelope form only), as a [`Timestamp`]:
    /// the text as sent, and the instant when it is an RFC 3339 date-time with an offset.
    /// The transaction's own times are [`Transaction::created_at`] and
    /// [`Transaction::updated_at`].
    pub created_at: Option<Timestamp>,
    /// The transaction.
    pub transaction: Transaction,
    /// The whole body as JSON, for fields this crate does not model.
    pub raw: Value,
}

/// A parsed webhook.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// A known event type with its transaction.
    Transaction(TransactionEvent),
    /// An event type this crate does not know (RohoPay added one): the raw JSON, and the
    /// transaction when the payload reads as one.
    Unknown {
        /// The event type as sent.
        event: String,
        /// Which shape arrived.
        shape: PayloadShape,
        /// The payload as a transaction, if it reads as one.
        transaction: Option<Transaction>,
        /// The whole body.
        raw: Value,
    },
    /// A known event type whose transaction did not decode (RohoPay changed a field): the
    /// delivery is verified and kept, with the decode error; read what you need from `raw`.
    Unparsed {
        /// The event type.
        event: EventType,
        /// Which shape arrived.
        shape: PayloadShape,
        /// The whole body.
        raw: Value,
        /// Why the transaction did not decode (names the field, never quotes values).
        error: String,
    },
}

impl WebhookEvent {
    /// The event type (`EventType::Unknown` for a type this crate does not know).
    pub fn event_type(&self) -> EventType {
        match self {
            WebhookEvent::Transaction(t) => t.event.clone(),
            WebhookEvent::Unknown { event, .. } => EventType::from(event.as_str()),
            WebhookEvent::Unparsed { event, .. } => event.clone(),
        }
    }

    /// Which shape arrived.
    pub fn shape(&self) -> &PayloadShape {
        match self {
            WebhookEvent::Transaction(t) => &t.shape,
            WebhookEvent::Unknown { shape, .. } | WebhookEvent::Unparsed { shape, .. } => shape,
        }
    }

    /// The transaction, when the payload decoded as one.
    pub fn transaction(&self) -> Option<&Transaction> {
        match self {
            WebhookEvent::Transaction(t) => Some(&t.transaction),
            WebhookEvent::Unknown { transaction, .. } => transaction.as_ref(),
            WebhookEvent::Unparsed { .. } => None,
        }
    }

    /// The whole body as JSON.
    pub fn raw(&self) -> &Value {
        match self {
            WebhookEvent::Transaction(t) => &t.raw,
            WebhookEvent::Unknown { raw, .. } | WebhookEvent::Unparsed { raw, .. } => raw,
        }
    }

    /// A key to deduplicate deliveries on (RohoPay retries): the envelope id, else
    /// `<internal_reference>:<event>`, as RohoPay recommends (read from the raw JSON when the
    /// transaction did not decode).
    pub fn dedup_key(&self) -> Option<String> {
        let raw = self.raw();
        let payload = raw.get("data").filter(|d| d.is_object()).unwrap_or(raw);
        if *self.shape() == PayloadShape::Envelope
            && let Some(id) = raw.get("id").and_then(Value::as_str)
        {
            return Some(id.to_string());
        }
        let reference = match self.transaction() {
            Some(t) => t.internal_reference.as_str().to_string(),
            None => payload
                .get("internal_reference")
                .or_else(|| payload.get("reference"))
                .and_then(Value::as_str)?
                .to_string(),
        };
        Some(format!("{reference}:{}", self.event_type()))
    }
}

fn parse_event(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let raw: Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::InvalidBody(format!("not JSON ({})", json_category(&e))))?;
    let obj = raw
        .as_object()
        .ok_or_else(|| WebhookError::InvalidBody("expected a JSON object".into()))?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let (event, shape, payload) = if let Some(event) = text("event") {
        (event, PayloadShape::Flat, &raw)
    } else if let (Some(kind), Some(data)) = (text("type"), obj.get("data").filter(|d| d.is_object())) {
        (kind, PayloadShape::Envelope, data)
    } else {
        return Err(WebhookError::InvalidBody(
            "neither the flat form (an `event` field) nor the envelope (`type` and a `data` object)".into(),
        ));
    };
    let decoded = serde_json::from_value::<Transaction>(payload.clone());
    let (id, created_at) = match shape {
        // A `created_at` that is not text (a number) is kept as its text; `null` is `None`.
        PayloadShape::Envelope => (
            text("id"),
            obj.get("created_at").and_then(|v| Timestamp::deserialize(v).ok()),
        ),
        _ => (None, None),
    };
    let kind = EventType::from(event.as_str());
    if kind.is_unknown() {
        return Ok(WebhookEvent::Unknown {
            event,
            shape,
            transaction: decoded.ok(),
            raw,
        });
    }
    Ok(match decoded {
        Ok(transaction) => WebhookEvent::Transaction(TransactionEvent {
            event: kind,
            shape,
            id,
            created_at,
            transaction,
            raw,
        }),
        Err(e) => WebhookEvent::Unparsed {
            event: kind,
            shape,
            raw,
            // serde_json's message names the field and the expected type; it can quote an
            // unexpected string value, so it is passed through the snippet redactor.
            error: payout_core::error::redact_snippet(e.to_string().as_bytes(), 200, &[]),
        },
    })
}

/// Why the body is not JSON, without quoting any of it.
fn json_category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Eof => "truncated",
    }
}

/// Signs `raw_body` as RohoPay does, to test your webhook handler: the headers of a delivery
/// (`x-rohopay-signature: sha256=<lowercase hex>` and `content-type: application/json`).
///
/// `at` is the moment of sending, taken for the same argument order in every payout-rs crate;
/// RohoPay's scheme signs no timestamp, so it does not change the signature.
///
/// ```
/// use std::time::SystemTime;
/// use rohopay::webhook::{Verifier, sign};
/// let body = br#"{"event":"withdraw.failed","internal_reference":"RHP-2024-X","status":"failed"}"#;
/// let headers = sign("whsec_1", body, SystemTime::now());
/// assert!(Verifier::new("whsec_1").verify(&headers, body).is_ok());
/// ```
pub fn sign(secret: &str, raw_body: &[u8], at: SystemTime) -> HeaderMap {
    let _ = at;
    let mac = payout_core::webhook::hmac_sha256(secret.as_bytes(), &[raw_body]);
    let value = format!("{SIGNATURE_PREFIX}{}", payout_core::webhook::to_hex(&mac));
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(SIGNATURE_HEADER, v);
    }
    headers.insert(
        payout_core::reqwest::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers
}
