//! RohoPay's error codes and its error envelope.
//!
//! Every call returns [`payout_core::Error`]. RohoPay's error body
//! `{"success": false, "error": {"code", "message", "reference"}}` (RohoPay documentation,
//! `docs.rohopay.com/core-concepts/error-handling`) becomes its [`Error::provider_code`],
//! [`Error::message`] and [`Error::request_id`] (the `RHP-…` reference, when the error
//! concerns a transaction).
//! [`ErrorCode::of`] reads the typed code.

use payout_core::reqwest::header::HeaderMap;
use payout_core::{Error, ErrorInfo, ErrorKind, ProviderErrorCode};
use serde_json::Value;

use crate::client::PROVIDER;

payout_core::open_enum! {
    /// RohoPay's error codes (`error.code`). New codes decode to `Unknown`.
    pub enum ErrorCode {
        /// Missing or invalid API key (also a bad `api_key` in the checkout body). HTTP 401.
        Unauthorized => "UNAUTHORIZED",
        /// The key was revoked or rotated. HTTP 401.
        ApiKeyInactive => "API_KEY_INACTIVE",
        /// A `test_` key used with live parameters, or the reverse.
        EnvironmentMismatch => "ENVIRONMENT_MISMATCH",
        /// One or more fields are invalid; the message says which. HTTP 400.
        ValidationError => "VALIDATION_ERROR",
        /// `/collect` or `/disburse` without an `Idempotency-Key` header. HTTP 400.
        MissingIdempotencyKey => "MISSING_IDEMPOTENCY_KEY",
        /// The phone number is not in international format without `+`. HTTP 400.
        InvalidPhone => "INVALID_PHONE",
        /// The currency is not supported. HTTP 400.
        InvalidCurrency => "INVALID_CURRENCY",
        /// Zero, negative or below the minimum. HTTP 400.
        InvalidAmount => "INVALID_AMOUNT",
        /// Card number, expiry or CVV invalid. HTTP 400.
        InvalidCard => "INVALID_CARD",
        /// The card's expiry date is in the past (checked before any charge). HTTP 400.
        CardExpired => "CARD_EXPIRED",
        /// The live wallet cannot cover the disbursement. HTTP 422.
        InsufficientBalance => "INSUFFICIENT_BALANCE",
        /// Disbursement attempted with a `test_` key. HTTP 403.
        DisburseTestBlocked => "DISBURSE_TEST_BLOCKED",
        /// The daily volume limit is reached.
        DailyLimitExceeded => "DAILY_LIMIT_EXCEEDED",
        /// The daily request quota of `test_` keys is used up.
        TestQuotaExceeded => "TEST_QUOTA_EXCEEDED",
        /// The upstream provider rejected the request. HTTP 422.
        ProviderError => "PROVIDER_ERROR",
        /// The upstream provider network is unreachable. HTTP 503.
        ProviderLineDown => "PROVIDER_LINE_DOWN",
        /// The upstream provider did not answer in time.
        ProviderTimeout => "PROVIDER_TIMEOUT",
        /// Too many requests. HTTP 429.
        RateLimitExceeded => "RATE_LIMIT_EXCEEDED",
        /// The transaction reference is unknown. HTTP 404.
        NotFound => "NOT_FOUND",
        /// Not a RohoPay code: set by this crate on an HTTP 409 that carries no code of its
        /// own. The `Idempotency-Key` was already used with different parameters.
        IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
    }
}

impl ErrorCode {
    /// The error kind this code means, when it is more precise than the HTTP status.
    fn kind(&self) -> Option<ErrorKind> {
        match self {
            ErrorCode::Unauthorized | ErrorCode::ApiKeyInactive => Some(ErrorKind::Auth),
            ErrorCode::RateLimitExceeded | ErrorCode::TestQuotaExceeded => Some(ErrorKind::RateLimited),
            ErrorCode::NotFound => Some(ErrorKind::NotFound),
            _ => None,
        }
    }

    /// The RohoPay error code of `err`, typed; `None` for an error that did not come from
    /// RohoPay or carries no code. An HTTP 409 without a code of RohoPay's own is
    /// [`ErrorCode::IdempotencyConflict`] (a 409 with RohoPay's code keeps that code; its
    /// status and message still say conflict): the `Idempotency-Key` was already used with
    /// different parameters and nothing new was created (resend the original request
    /// unchanged, or use a new key for a new payment).
    ///
    /// ```
    /// use rohopay::ErrorCode;
    /// let e = rohopay::Error::provider("rohopay", Some("CARD_EXPIRED".into()), "card expired");
    /// assert_eq!(ErrorCode::of(&e), Some(ErrorCode::CardExpired));
    /// let other = rohopay::Error::provider("xrocket", Some("CARD_EXPIRED".into()), "x");
    /// assert_eq!(ErrorCode::of(&other), None);
    /// ```
    pub fn of(err: &Error) -> Option<ErrorCode> {
        <ErrorCode as ProviderErrorCode>::of(err)
    }
}

impl ProviderErrorCode for ErrorCode {
    const PROVIDER: &'static str = PROVIDER;
}

const CONFLICT_HINT: &str = "the Idempotency-Key was already used with different parameters; nothing new was created: resend the original request unchanged to get its result, or use a new key for a new payment";

/// The failure fields of RohoPay's envelope: `error.code`, `error.message`,
/// `error.reference`; some error paths answer `"error": "<text>"`, and the official SDK falls
/// back to a top-level `message` and `code`. Never panics on any body.
pub(crate) fn envelope_failure(body: &[u8]) -> ErrorInfo {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return ErrorInfo::default();
    };
    let Some(obj) = v.as_object() else {
        return ErrorInfo::default();
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let mut info = ErrorInfo::default();
    match obj.get("error") {
        Some(Value::Object(e)) => {
            info.code = text(e.get("code"));
            info.message = text(e.get("message"));
            info.request_id = text(e.get("reference")).filter(|r| is_reference(r));
        }
        Some(Value::String(s)) => info.message = Some(s.clone()),
        _ => {}
    }
    if info.message.is_none() {
        info.message = text(obj.get("message"));
    }
    if info.code.is_none() {
        info.code = text(obj.get("code"));
    }
    info.kind = info.code.as_deref().map(ErrorCode::from).and_then(|c| c.kind());
    info
}

/// A transaction reference as RohoPay writes it (`RHP-<year>-<code>`): anything else in the
/// `reference` slot is not kept as the error's request id.
fn is_reference(r: &str) -> bool {
    r.starts_with("RHP-") && r.len() <= 64 && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The [`payout_core::ErrorDecoder`] for RohoPay's non-2xx responses. Never panics: HTML
/// pages and truncated JSON simply yield no code (the core then keeps a redacted snippet).
/// The transport masks the API key and the request's own secrets in what this returns.
pub(crate) fn decode_error(status: u16, _headers: &HeaderMap, body: &[u8]) -> ErrorInfo {
    let mut info = envelope_failure(body);
    if status == 409 {
        info.code
            .get_or_insert_with(|| ErrorCode::IdempotencyConflict.as_str().to_string());
        info.message = Some(match info.message {
            Some(m) => format!("{m} ({CONFLICT_HINT})"),
            None => CONFLICT_HINT.to_string(),
        });
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_reads_the_documented_envelope() {
        let body = br#"{"success":false,"error":{"code":"CARD_EXPIRED","message":"Card expired","reference":"RHP-2024-X"}}"#;
        let info = decode_error(400, &HeaderMap::new(), body);
        assert_eq!(info.code.as_deref(), Some("CARD_EXPIRED"));
        assert_eq!(info.message.as_deref(), Some("Card expired"));
        assert_eq!(info.request_id.as_deref(), Some("RHP-2024-X"));
        assert_eq!(info.kind, None);
    }

    #[test]
    fn decoder_survives_garbage() {
        for body in [
            &b"<html>502</html>"[..],
            b"{\"success\":false,",
            b"[1,2]",
            b"",
            b"null",
        ] {
            let info = decode_error(502, &HeaderMap::new(), body);
            assert!(info.code.is_none());
        }
        let info = decode_error(400, &HeaderMap::new(), br#"{"success":false,"message":"bad"}"#);
        assert_eq!(info.message.as_deref(), Some("bad"));
    }

    #[test]
    fn conflict_gets_a_code_and_a_hint() {
        let info = decode_error(409, &HeaderMap::new(), b"{}");
        assert_eq!(info.code.as_deref(), Some("IDEMPOTENCY_CONFLICT"));
        assert!(info.message.unwrap().contains("new key"));
    }

    #[test]
    fn only_a_transaction_reference_is_kept_as_the_request_id() {
        let body = br#"{"success":false,"error":{"code":"INVALID_CARD","message":"bad","reference":"4111111111111111"}}"#;
        assert_eq!(decode_error(400, &HeaderMap::new(), body).request_id, None);
    }
}
