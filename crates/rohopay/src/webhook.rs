//! Webhooks: [`verify`] the `x-rohopay-signature` header over the raw body, then
//! [`Verified::parse`] the event. Verification never parses; parsing never trusts.
//!
//! RohoPay signs the **raw request body** with HMAC-SHA256 under your **webhook secret**
//! (Dashboard → Webhooks, `webhook_secret`; it is not the API key) and sends
//! `x-rohopay-signature: sha256=<lowercase hex>`. Pass the body bytes exactly as received,
//! before any JSON parsing. Give several secrets during a rotation.
//!
//! Also accepted, as the official SDK does: the bare hex digest, its base64 form, and a
//! `t=<unix seconds>,v=<hex or base64>` header, whose timestamp must be within 5 minutes of
//! now (the digest still covers the body only).
//!
//! RohoPay retries a delivery that is not answered 2xx within 10 seconds, so handle events
//! idempotently ([`WebhookEvent::dedup_key`]).
//!
//! ```
//! use rohopay::SecretString;
//! use rohopay::webhook::{self, EventType};
//! let body = br#"{"event":"deposit.successful","internal_reference":"RHP-2024-ABC123","status":"successful","amount":50000,"currency":"UGX"}"#;
//! let headers = [(
//!     "x-rohopay-signature",
//!     "sha256=2d2740d65b86820b9f6d8efb394c040fba23ba10de280dbc3fad4cc238529abe",
//! )];
//! let secret = SecretString::from("test_webhook_secret");
//! let event = webhook::verify(&headers, body, [&secret])?.parse()?;
//! assert_eq!(event.event, EventType::DepositSuccessful);
//! assert!(event.transaction.unwrap().is_successful());
//! # Ok::<(), webhook::WebhookError>(())
//! ```

use std::time::{Duration, UNIX_EPOCH};

use payout_core::SecretString;
pub use payout_core::webhook::{Clock, FixedClock, Headers, SystemClock, WebhookError};
use payout_core::webhook::{any_secret_matches, check_timestamp, from_hex, verify_hex_signature};
use serde_json::Value;

use crate::transactions::Transaction;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-rohopay-signature";

/// How far a `t=` timestamp may be from now.
pub const TIMESTAMP_TOLERANCE: Duration = Duration::from_secs(300);

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

/// A request whose signature matched one of your secrets. Holds the raw body; call
/// [`Verified::parse`] to read it.
#[derive(Debug, Clone)]
pub struct Verified<'a> {
    body: &'a [u8],
}

impl<'a> Verified<'a> {
    /// The verified raw body.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Parses the verified body: the flat `{event, …transaction}` form or the
    /// `{type, data}` envelope. Unknown event types parse to [`EventType::Unknown`] with the
    /// raw JSON kept in [`WebhookEvent::raw`].
    pub fn parse(&self) -> Result<WebhookEvent, WebhookError> {
        parse_event(self.body)
    }
}

/// A parsed webhook.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// The event type (`event` in the flat form, `type` in the envelope).
    pub event: EventType,
    /// Which shape arrived.
    pub shape: PayloadShape,
    /// The envelope's event id (envelope form only).
    pub id: Option<String>,
    /// The envelope's creation time (envelope form only).
    pub created_at: Option<String>,
    /// The transaction. Always present for known events; for an unknown event, present when
    /// its payload reads as a transaction.
    pub transaction: Option<Transaction>,
    /// The whole body as JSON, for fields and events this crate does not model.
    pub raw: Value,
}

impl WebhookEvent {
    /// A key to deduplicate deliveries on (RohoPay retries): the envelope id, else
    /// `<internal_reference>:<event>`, as RohoPay recommends.
    pub fn dedup_key(&self) -> Option<String> {
        if let Some(id) = &self.id {
            return Some(id.clone());
        }
        let reference = self.transaction.as_ref()?.internal_reference.as_ref()?;
        Some(format!("{reference}:{}", self.event))
    }
}

/// Verifies `x-rohopay-signature` over `raw_body` against any of `secrets`, with the system
/// clock for the `t=` form. Pass the body bytes exactly as received.
pub fn verify<'b, 's, H>(
    headers: &H,
    raw_body: &'b [u8],
    secrets: impl IntoIterator<Item = &'s SecretString>,
) -> Result<Verified<'b>, WebhookError>
where
    H: Headers + ?Sized,
{
    verify_with_clock(headers, raw_body, secrets, &SystemClock)
}

/// [`verify`] with your own clock (tests, or a clock you trust more).
pub fn verify_with_clock<'b, 's, H>(
    headers: &H,
    raw_body: &'b [u8],
    secrets: impl IntoIterator<Item = &'s SecretString>,
    clock: &dyn Clock,
) -> Result<Verified<'b>, WebhookError>
where
    H: Headers + ?Sized,
{
    let value = headers
        .header(SIGNATURE_HEADER)
        .ok_or(WebhookError::MissingHeader(SIGNATURE_HEADER))?;
    verify_signature(value, raw_body, secrets, clock)
}

/// Verifies a signature header value you already extracted.
pub fn verify_signature<'b, 's>(
    signature: &str,
    raw_body: &'b [u8],
    secrets: impl IntoIterator<Item = &'s SecretString>,
    clock: &dyn Clock,
) -> Result<Verified<'b>, WebhookError> {
    let secrets: Vec<&SecretString> = secrets.into_iter().collect();
    if secrets.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    let signature = signature.trim();
    let digest = match timestamped(signature) {
        Some((t, v)) => {
            // `t` comes from the request: `UNIX_EPOCH + t` would panic on overflow.
            let now = clock.now();
            let signed_at = UNIX_EPOCH.checked_add(Duration::from_secs(t)).ok_or_else(|| {
                WebhookError::TimestampOutsideTolerance {
                    age_secs: t
                        .saturating_sub(now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)),
                    tolerance_secs: TIMESTAMP_TOLERANCE.as_secs(),
                }
            })?;
            check_timestamp(signed_at, now, TIMESTAMP_TOLERANCE)?;
            v
        }
        None => signature,
    };
    let digest = payout_core::webhook::strip_sha256_prefix(digest);
    let is_hex = digest.len() == 64 && from_hex(digest).is_some();
    if is_hex {
        verify_hex_signature(secrets, &[raw_body], digest, SIGNATURE_HEADER, HINT)?;
        return Ok(Verified { body: raw_body });
    }
    match base64_decode(digest) {
        Some(bytes) if bytes.len() == 32 => {
            if any_secret_matches(secrets, &[raw_body], &bytes) {
                Ok(Verified { body: raw_body })
            } else {
                Err(WebhookError::SignatureMismatch { hint: HINT })
            }
        }
        _ => Err(WebhookError::MalformedHeader {
            header: SIGNATURE_HEADER,
            reason: "expected `sha256=` and 64 hex characters (an HMAC-SHA256 of the raw body)",
        }),
    }
}

/// Splits `t=<unix>,v=<digest>` (either order); `None` for any other form.
fn timestamped(sig: &str) -> Option<(u64, &str)> {
    if !sig.contains(',') {
        return None;
    }
    let mut t = None;
    let mut v = None;
    for part in sig.split(',') {
        match part.trim().split_once('=') {
            Some(("t", val)) => t = val.trim().parse::<u64>().ok(),
            Some(("v", val)) => v = Some(val.trim()),
            _ => {}
        }
    }
    Some((t?, v?))
}

/// Standard base64 (with or without padding); `None` on anything else.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim_end_matches('=').as_bytes();
    if s.is_empty() || s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
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
    let event = EventType::from(event);
    let transaction = match serde_json::from_value::<Transaction>(payload.clone()) {
        Ok(t) => Some(t),
        Err(e) if !event.is_unknown() => {
            return Err(WebhookError::InvalidBody(format!(
                "the transaction does not decode: {}",
                payout_core::error::redact_snippet(e.to_string().as_bytes(), 200, &[])
            )));
        }
        Err(_) => None,
    };
    let (id, created_at) = match shape {
        PayloadShape::Envelope => (text("id"), text("created_at")),
        _ => (None, None),
    };
    Ok(WebhookEvent {
        event,
        shape,
        id,
        created_at,
        transaction,
        raw,
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

/// The webhook secret from `ROHOPAY_WEBHOOK_SECRET` (Dashboard → Webhooks; not the API
/// key). The error names the variable when it is unset.
pub fn secret_from_env() -> payout_core::Result<SecretString> {
    payout_core::require_env(crate::client::PROVIDER, "ROHOPAY_WEBHOOK_SECRET").map(SecretString::from)
}

/// Signs `raw_body` the way RohoPay does (`sha256=<hex>`), to test your webhook handler.
pub fn sign(secret: &SecretString, raw_body: &[u8]) -> String {
    use secrecy::ExposeSecret;
    let mac = payout_core::webhook::hmac_sha256(secret.expose_secret().as_bytes(), &[raw_body]);
    format!("sha256={}", payout_core::webhook::to_hex(&mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_the_reference_vector() {
        let b = base64_decode("LSdA1luGggufbY77OUwED7ojuhDeKA28P61MwjhSmr4=").unwrap();
        assert_eq!(
            payout_core::webhook::to_hex(&b),
            "2d2740d65b86820b9f6d8efb394c040fba23ba10de280dbc3fad4cc238529abe"
        );
        assert_eq!(base64_decode("TWFu").unwrap(), b"Man");
        assert_eq!(base64_decode("TWE=").unwrap(), b"Ma");
        assert!(base64_decode("T").is_none());
        assert!(base64_decode("T*==").is_none());
    }

    #[test]
    fn timestamped_form_is_recognised() {
        assert_eq!(timestamped("t=10,v=abc"), Some((10, "abc")));
        assert_eq!(timestamped("v=abc, t=10"), Some((10, "abc")));
        assert_eq!(timestamped("sha256=abc"), None);
    }
}
