//! Legacy webhooks: verify first, then parse.
//!
//! xRocket signs each delivery of the legacy API (xRocket Pay API 1.3.1, "Webhooks") with
//! the header `rocket-pay-signature`: the lower-case hex HMAC-SHA-256 of the **raw body**,
//! keyed with the **SHA-256 digest of your app's API token** (the raw 32 bytes, as xRocket's
//! SDK computes it). There is no timestamp header, so nothing here expires a delivery.
//!
//! [`Verifier::verify`] checks the signature in constant time against every configured
//! token (add the old and new one during a rotation with [`Verifier::secret`]); it accepts only
//! the form xRocket sends, 64 lower-case hex characters with nothing around them, so one MAC
//! has one spelling. [`Verified::parse`] then reads `{type, timestamp, data}` into an
//! [`Event`]: `invoicePay` is typed ([`EventKind::InvoicePay`]); the types xRocket lists but
//! does not describe, and any new one, are [`EventKind::Unknown`]; an `invoicePay` whose data
//! does not decode is [`EventKind::Unparsed`], never a refused delivery. Answer 200.
//!
//! **Deduplicate.** Deliveries carry no event id. The key
//! ([`payout_core::contract::VerifiedDelivery::dedupe_key`]) is, for an `invoicePay`,
//! `xrocket-legacy:invoicePay:<invoice id>:<payment.userId>:<payment.paid>:<payment.paymentNum>`
//! (stable even if a retry re-stamps `timestamp`), and otherwise `xrocket-legacy:sha256:<hex>`,
//! the SHA-256 of the verified body. Each delivery is one payment: credit
//! `paymentAmountReceived` (net) and confirm with `client.invoices().get(id)` before crediting
//! large amounts.
//!
//! ```
//! use xrocket::legacy::webhook::{EventKind, Verifier, sign};
//! let body = br#"{"type":"invoicePay","timestamp":"2025-06-26T12:00:00.000Z","data":{"id":3,"currency":"TONCOIN","created":"2025-06-26T11:59:00.000Z","status":"active","link":"https://t.me/xRocket?start=inv_q","payment":{"userId":87209764,"paymentNum":1,"paymentAmount":5,"paid":"2025-06-26T12:00:00.000Z"}}}"#;
//! let headers = sign("my-app-token", body, std::time::SystemTime::now());
//! let event = Verifier::new("my-app-token").verify(&headers, body)?.parse()?;
//! assert!(matches!(event.kind, EventKind::InvoicePay { .. }));
//! # Ok::<(), xrocket::WebhookError>(())
//! ```

use std::sync::Arc;
use std::time::SystemTime;

use payout_core::Timestamp;
pub use payout_core::reqwest::header::HeaderMap;
use payout_core::reqwest::header::{HeaderName, HeaderValue};
pub use payout_core::webhook::{Clock, FixedClock, Headers, SystemClock, WebhookError};
use payout_core::webhook::{hmac_sha256, strict_hex_digest, to_hex};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::client::PROVIDER;
use super::invoices::{Invoice, InvoicePayment};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "rocket-pay-signature";

const HINT: &str =
    "the legacy API signs with SHA-256 of the app's API token (the Rocket-Pay-Key), not a webhook secret";

/// The HMAC key of a token: SHA-256 of its UTF-8 bytes.
struct Key([u8; 32]);

impl Key {
    fn of(token: &str) -> Key {
        Key(Sha256::digest(token.as_bytes()).into())
    }
}

/// Verifies `rocket-pay-signature`. Build it once with your app token(s) and reuse it.
#[derive(Clone)]
pub struct Verifier {
    keys: Arc<Vec<Key>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("legacy::webhook::Verifier")
            .field("tokens", &format_args!("[{} redacted]", self.keys.len()))
            .finish()
    }
}

impl Verifier {
    /// A verifier for one app API token (the `Rocket-Pay-Key`).
    pub fn new(token: impl AsRef<str>) -> Self {
        Verifier {
            keys: Arc::new(vec![Key::of(token.as_ref())]),
            clock: Arc::new(SystemClock),
        }
    }

    /// Also accepts deliveries signed for `token` (during a token rotation).
    pub fn secret(mut self, token: impl AsRef<str>) -> Self {
        let mut keys: Vec<Key> = self.keys.iter().map(|k| Key(k.0)).collect();
        keys.push(Key::of(token.as_ref()));
        self.keys = Arc::new(keys);
        self
    }

    /// The clock [`Verified::received_at`] reads (tests, replays). The scheme signs no time,
    /// so the clock never refuses a delivery.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks a delivery against the **raw** body, byte for byte as received.
    pub fn verify<H: Headers + ?Sized>(
        &self,
        headers: &H,
        raw_body: &[u8],
    ) -> Result<Verified, WebhookError> {
        let signature = headers
            .header(SIGNATURE_HEADER)
            .ok_or(WebhookError::MissingHeader(SIGNATURE_HEADER))?;
        let expected = strict_hex_digest(signature, SIGNATURE_HEADER)?;
        if self.keys.is_empty() {
            return Err(WebhookError::NoSecret);
        }
        let mut matched = false;
        for key in self.keys.iter() {
            let mac = hmac_sha256(&key.0, &[raw_body]);
            // Constant time: every byte of every key is compared.
            let diff = mac
                .iter()
                .zip(expected.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            matched |= diff == 0;
        }
        if !matched {
            return Err(WebhookError::SignatureMismatch { hint: HINT });
        }
        Ok(Verified {
            body: raw_body.to_vec(),
            received_at: self.clock.now(),
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

/// The headers xRocket would send with `body` for the app token `token`. `at` is accepted
/// for the shared argument order and does not change the signature (the scheme signs no
/// time). For testing your own webhook endpoint.
pub fn sign(token: &str, body: &[u8], at: SystemTime) -> HeaderMap {
    let _ = at;
    let mut map = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&signature(token, body)) {
        map.insert(HeaderName::from_static(SIGNATURE_HEADER), v);
    }
    map
}

/// The `rocket-pay-signature` value of `body` for `token`.
pub(crate) fn signature(token: &str, body: &[u8]) -> String {
    to_hex(&hmac_sha256(&Key::of(token).0, &[body]))
}

/// A delivery whose signature checked out. Nothing is parsed yet.
#[derive(Debug, Clone)]
pub struct Verified {
    body: Vec<u8>,
    received_at: SystemTime,
}

impl Verified {
    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// When it was verified (the verifier's clock).
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }

    /// Reads `{type, timestamp, data}` into an [`Event`].
    pub fn parse(&self) -> Result<Event, WebhookError> {
        parse_event(&self.body)
    }
}

impl payout_core::contract::VerifiedDelivery for Verified {
    type Event = Event;
    type Error = WebhookError;

    /// See the module docs: the payment's identity for `invoicePay`, else the body's SHA-256.
    fn dedupe_key(&self) -> String {
        match parse_event(&self.body) {
            Ok(Event {
                kind: EventKind::InvoicePay { invoice, payment },
                ..
            }) => format!(
                "{PROVIDER}:invoicePay:{}:{}:{}:{}",
                invoice.id,
                payment.user_id,
                payment.paid.as_str(),
                payment.payment_num.map(|n| n.to_string()).unwrap_or_default()
            ),
            _ => payout_core::dedupe::body_key(PROVIDER, &self.body),
        }
    }

    fn parse(&self) -> Result<Event, WebhookError> {
        Verified::parse(self)
    }
}

/// A verified legacy webhook.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// The envelope's `type` (`invoicePay`).
    pub event_type: String,
    /// When xRocket sent it (the envelope's `timestamp`, a date-time in xRocket Pay API
    /// 1.3.1's webhook body), as a [`Timestamp`]: the text as sent, and the instant when it
    /// parses (a number is kept as its decimal text). May change on a retry: never dedupe on it.
    pub timestamp: Option<Timestamp>,
    /// What happened.
    pub kind: EventKind,
}

/// What a legacy webhook reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventKind {
    /// `invoicePay`: one successful payment of an invoice.
    InvoicePay {
        /// The invoice as it is now (a multi-payment invoice stays `active`).
        invoice: Box<Invoice>,
        /// This payment.
        payment: Box<InvoicePayment>,
    },
    /// An `invoicePay` whose data did not decode: genuine, so never refused. Handle it from
    /// the raw JSON or re-read the invoice.
    Unparsed {
        /// The type.
        event_type: String,
        /// `data` as sent.
        data: serde_json::Value,
        /// Why it did not decode.
        error: String,
    },
    /// Any other type (`subscriptionPay`, `subscriptionEnd`, `exchangeOrderComplete` are listed
    /// by xRocket without a payload), kept as sent.
    Unknown {
        /// The type.
        event_type: String,
        /// `data` as sent.
        data: serde_json::Value,
    },
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    type_: String,
    #[serde(default)]
    timestamp: Option<serde_json::Value>,
    #[serde(default)]
    data: serde_json::Value,
}

/// Parses a (verified) body; never call it on an unverified one.
pub fn parse_event(body: &[u8]) -> Result<Event, WebhookError> {
    let env: Envelope =
        serde_json::from_slice(body).map_err(|e| WebhookError::InvalidBody(format!("envelope: {e}")))?;
    // Any other JSON type is dropped rather than refusing a genuine delivery.
    let timestamp = match env.timestamp {
        Some(serde_json::Value::String(s)) => Some(Timestamp::parse(s)),
        Some(serde_json::Value::Number(n)) => Some(Timestamp::parse(n.to_string())),
        _ => None,
    };
    let kind = match env.type_.as_str() {
        "invoicePay" => match invoice_pay(&env.data) {
            Ok((invoice, payment)) => EventKind::InvoicePay {
                invoice: Box::new(invoice),
                payment: Box::new(payment),
            },
            Err(error) => EventKind::Unparsed {
                event_type: env.type_.clone(),
                data: env.data,
                error,
            },
        },
        _ => EventKind::Unknown {
            event_type: env.type_.clone(),
            data: env.data,
        },
    };
    Ok(Event {
        event_type: env.type_,
        timestamp,
        kind,
    })
}

fn invoice_pay(data: &serde_json::Value) -> Result<(Invoice, InvoicePayment), String> {
    let invoice = Invoice::deserialize(data).map_err(|e| format!("data: {e}"))?;
    let payment = data
        .get("payment")
        .ok_or_else(|| "data.payment is missing".to_string())?;
    let payment = InvoicePayment::deserialize(payment).map_err(|e| format!("data.payment: {e}"))?;
    Ok((invoice, payment))
}
