//! RohoPay's error codes and its `{success, data | error}` envelope.
//!
//! Every call returns [`payout_core::Error`]. RohoPay's error body
//! `{"success": false, "error": {"code", "message", "reference"}}` becomes its
//! [`Error::provider_code`], [`Error::message`] and [`Error::request_id`] (the `RHP-…`
//! reference, when the error concerns a transaction). [`ErrorExt`] adds the typed
//! [`ErrorCode`] and the idempotency-conflict check.

use payout_core::reqwest::header::HeaderMap;
use payout_core::{Error, ErrorInfo, ErrorKind, Response, Result, SecretString, Transport};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
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
}

/// RohoPay-specific questions about a [`payout_core::Error`].
///
/// ```
/// use rohopay::{ErrorCode, ErrorExt};
/// let e = rohopay::Error::provider("rohopay", Some("CARD_EXPIRED".into()), "card expired");
/// assert_eq!(e.rohopay_code(), Some(ErrorCode::CardExpired));
/// assert!(!e.is_idempotency_conflict());
/// ```
pub trait ErrorExt {
    /// The RohoPay error code, typed.
    fn rohopay_code(&self) -> Option<ErrorCode>;
    /// True for HTTP 409: the `Idempotency-Key` was already used with different parameters.
    /// Nothing new was created. Resend the original request unchanged to get its result, or
    /// use a new key if this really is a new payment.
    fn is_idempotency_conflict(&self) -> bool;
}

impl ErrorExt for Error {
    fn rohopay_code(&self) -> Option<ErrorCode> {
        self.provider_code().map(ErrorCode::from)
    }
    fn is_idempotency_conflict(&self) -> bool {
        self.status() == Some(409) || self.provider_code() == Some(ErrorCode::IdempotencyConflict.as_str())
    }
}

const CONFLICT_HINT: &str = "the Idempotency-Key was already used with different parameters; nothing new was created: resend the original request unchanged to get its result, or use a new key for a new payment";

/// What the envelope of an error said.
#[derive(Default)]
struct Envelope {
    success: Option<bool>,
    code: Option<String>,
    message: Option<String>,
    reference: Option<String>,
}

fn read_envelope(body: &[u8]) -> Option<Envelope> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let mut env = Envelope {
        success: obj.get("success").and_then(Value::as_bool),
        ..Envelope::default()
    };
    match obj.get("error") {
        Some(Value::Object(e)) => {
            env.code = text(e.get("code"));
            env.message = text(e.get("message"));
            env.reference = text(e.get("reference"));
        }
        // Some error paths answer `"error": "<text>"`.
        Some(Value::String(s)) => env.message = Some(s.clone()),
        _ => {}
    }
    // The official SDK falls back to a top-level `message` (and so do we).
    if env.message.is_none() {
        env.message = text(obj.get("message"));
    }
    if env.code.is_none() {
        env.code = text(obj.get("code"));
    }
    Some(env)
}

/// The [`payout_core::ErrorDecoder`] for RohoPay's non-2xx responses. Never panics: HTML
/// pages and truncated JSON simply yield no code (the core then keeps a redacted snippet).
pub(crate) fn decode_error(status: u16, _headers: &HeaderMap, body: &[u8]) -> ErrorInfo {
    let env = read_envelope(body).unwrap_or_default();
    let mut info = ErrorInfo {
        kind: env.code.as_deref().map(ErrorCode::from).and_then(|c| c.kind()),
        code: env.code,
        message: env.message,
        request_id: env.reference,
    };
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

/// The decoder the client installs: [`decode_error`], then every occurrence of the API key
/// masked, in case RohoPay echoes a bad `api_key` back in its message.
pub(crate) fn decoder(
    key: SecretString,
) -> impl Fn(u16, &HeaderMap, &[u8]) -> ErrorInfo + Send + Sync + 'static {
    move |status, headers, body| {
        let mut info = decode_error(status, headers, body);
        let secrets = [key.expose_secret()];
        for text in [&mut info.code, &mut info.message, &mut info.request_id]
            .into_iter()
            .flatten()
        {
            *text = scrub_text(text, &secrets);
        }
        info
    }
}

/// Replaces every occurrence of each secret (three characters or more) with `[REDACTED]`.
pub(crate) fn scrub_text(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if s.len() >= 3 && out.contains(s) {
            out = out.replace(s, "[REDACTED]");
        }
    }
    out
}

/// Masks `secrets` in the code, message, body snippet and request id of an error, for calls
/// whose request carried data the provider might echo back (card number, expiry, CVV). The
/// JSON-escaped form of each secret (`08\/29`, as PHP's `json_encode` writes a slash) is
/// masked too: a body kept as a snippet is raw JSON.
pub(crate) fn scrub_error(e: Error, secrets: &[&str]) -> Error {
    let escaped: Vec<String> = secrets
        .iter()
        .filter(|s| s.contains('/'))
        .map(|s| s.replace('/', "\\/"))
        .collect();
    let all: Vec<&str> = escaped
        .iter()
        .map(String::as_str)
        .chain(secrets.iter().copied())
        .collect();
    let mut e = e;
    if let Some(code) = e.provider_code().and_then(|t| scrub_cut(t, &all)) {
        e = e.with_code(code);
    }
    if let Some(m) = scrub_cut(e.message(), &all) {
        e = e.with_message(m);
    }
    if let Some(s) = e.body_snippet().and_then(|t| scrub_cut(t, &all)) {
        e = e.with_body_snippet(Some(s));
    }
    if let Some(id) = e.request_id().and_then(|t| scrub_cut(t, &all)) {
        e = e.with_request_id(Some(id));
    }
    e
}

/// [`scrub_text`], plus the tail of a text the transport truncated (`…`) when it ends inside
/// a secret (`"cvv":"94…`): the full-value match cannot see a cut secret. `None` when
/// nothing changed.
fn scrub_cut(text: &str, secrets: &[&str]) -> Option<String> {
    let mut out = scrub_text(text, secrets);
    if let Some(body) = out.strip_suffix('…') {
        let cut = secrets
            .iter()
            .filter(|s| s.len() >= 3)
            .filter_map(|s| {
                (1..s.len())
                    .rev()
                    .find(|&n| s.is_char_boundary(n) && body.ends_with(&s[..n]))
            })
            .max();
        if let Some(n) = cut {
            out = format!("{}[REDACTED]…", &body[..body.len() - n]);
        }
    }
    (out != text).then_some(out)
}

/// Unwraps `{"success": true, "data": T, "message"?}` from a 2xx response.
///
/// A 2xx that says `"success": false` is an error (the official SDK agrees): it becomes a
/// provider error with RohoPay's code. A 2xx whose `data` does not decode is a
/// [`ErrorKind::Decode`] error marked "may have succeeded".
pub(crate) fn unwrap_data<T: DeserializeOwned>(
    transport: &Transport,
    resp: &Response,
) -> Result<(T, Option<String>)> {
    if let Some(env) = read_envelope(resp.body())
        && env.success == Some(false)
    {
        // The transport's scrub masks the API key and card-number-like digit runs (the
        // decoder that does this for non-2xx answers does not run on a 2xx).
        let env_code = env.code.map(|c| transport.scrub(c.as_bytes(), 128));
        let code = env_code.as_deref().map(ErrorCode::from);
        let message = env
            .message
            .map(|m| transport.snippet(m.as_bytes()))
            .unwrap_or_else(|| "RohoPay answered success: false".to_string());
        let mut e = Error::provider(PROVIDER, env_code.clone(), message)
            .with_status(resp.status())
            .with_request_id(
                env.reference
                    .map(|r| transport.snippet(r.as_bytes()))
                    .or_else(|| resp.request_id().map(str::to_string)),
            )
            .with_idempotency_key(resp.idempotency_key().cloned())
            .with_attempts(resp.attempts());
        if let Some(kind) = code.and_then(|c| c.kind()) {
            e = e.with_kind(kind);
        }
        return Err(e);
    }
    #[derive(Deserialize)]
    struct Data<T> {
        data: T,
        #[serde(default)]
        message: Option<String>,
    }
    let d: Data<T> = resp.json()?;
    Ok((d.data, d.message))
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
}
