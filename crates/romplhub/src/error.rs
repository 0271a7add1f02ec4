//! How RomplHub reports errors, and how they map onto [`payout_core::ErrorKind`].
//!
//! RomplHub signals errors by HTTP status only; it has no error codes of its own. The body
//! follows FastAPI's convention (an ASSUMPTION: the page does not show it): `{"detail": "text"}`
//! for errors raised by the service and `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`
//! for request validation (422). The decoder reads both, tolerates anything else (HTML pages,
//! truncated JSON) and never copies a validation item's `input` (it can echo a password).
//!
//! | HTTP | documented meaning | [`ErrorCode`] | [`payout_core::ErrorKind`] | what to do |
//! |---|---|---|---|---|
//! | 401 | invalid or missing authentication | `unauthorized` | `Auth` | check the API key; log in again if the JWT expired |
//! | 402 | insufficient token balance | `insufficient_tokens` | `Provider` | top up (`client.balance().top_up(..)`) |
//! | 403 | admin access required | `forbidden` | `Auth` | the credential lacks the permission |
//! | 404 | resource not found | `not_found` | `NotFound` | check the order uid or pack id |
//! | 422 | validation error (see `detail`) | `validation_error` | `Provider` | fix the field named in the message |
//! | 429 | rate limit exceeded (60/min) | `rate_limited` | `RateLimited` | retried automatically after `Retry-After`; see [`crate::rate_limiter`] |

use payout_core::reqwest::header::HeaderMap;
use payout_core::{Error, ErrorInfo, ProviderErrorCode};
use serde::Deserialize;

payout_core::open_enum! {
    /// The error category, derived from the HTTP status because RomplHub sends no codes.
    /// Read it from an error with [`ErrorCode::of`].
    pub enum ErrorCode {
        /// HTTP 401: the API key or JWT is missing, wrong or expired.
        Unauthorized => "unauthorized",
        /// HTTP 402: the token balance does not cover the order; top up first.
        InsufficientTokens => "insufficient_tokens",
        /// HTTP 403: the credential is not allowed to do this (admin access required).
        Forbidden => "forbidden",
        /// HTTP 404: the order or pack does not exist (or is not yours).
        NotFound => "not_found",
        /// HTTP 422: the request failed the provider's validation; the message names the field.
        ValidationError => "validation_error",
        /// HTTP 429: more than 60 requests in a minute.
        RateLimited => "rate_limited",
    }
}

impl ProviderErrorCode for ErrorCode {
    const PROVIDER: &'static str = crate::PROVIDER;
}

impl ErrorCode {
    /// The code of a RomplHub error, if it came from one of the documented statuses (through
    /// [`payout_core::ProviderErrorCode`]; an error of another provider has none).
    pub fn of(error: &Error) -> Option<ErrorCode> {
        <ErrorCode as ProviderErrorCode>::of(error)
    }

    fn for_status(status: u16) -> Option<(ErrorCode, &'static str)> {
        Some(match status {
            401 => (
                ErrorCode::Unauthorized,
                "invalid or missing authentication: check the API key, or log in again if the JWT expired",
            ),
            402 => (
                ErrorCode::InsufficientTokens,
                "insufficient token balance: top up with client.balance().top_up(..)",
            ),
            403 => (ErrorCode::Forbidden, "admin access required"),
            404 => (ErrorCode::NotFound, "resource not found"),
            422 => (ErrorCode::ValidationError, "validation error"),
            429 => (
                ErrorCode::RateLimited,
                "rate limit exceeded (60 requests per minute)",
            ),
            _ => return None,
        })
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    detail: Option<Detail>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Detail {
    Text(String),
    Items(Vec<ValidationItem>),
    Other(serde_json::Value),
}

/// One FastAPI validation error. `input` and `ctx` are deliberately not read: they echo the
/// submitted value, which may be an account password.
#[derive(Deserialize)]
struct ValidationItem {
    #[serde(default)]
    loc: Vec<serde_json::Value>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl ValidationItem {
    fn describe(&self) -> String {
        let loc: Vec<String> = self
            .loc
            .iter()
            .map(|p| match p {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        let msg = self.msg.as_deref().unwrap_or("invalid");
        let mut out = if loc.is_empty() {
            msg.to_string()
        } else {
            format!("{}: {msg}", loc.join("."))
        };
        if let Some(k) = &self.kind {
            out.push_str(&format!(" [{k}]"));
        }
        out
    }
}

/// The text of a `detail` member, or `None` when the body is not the FastAPI envelope.
fn detail_text(body: &[u8]) -> Option<String> {
    let env: Envelope = serde_json::from_slice(body).ok()?;
    match env.detail? {
        Detail::Text(s) if !s.trim().is_empty() => Some(s),
        Detail::Text(_) => None,
        Detail::Items(items) if !items.is_empty() => Some(
            items
                .iter()
                .map(ValidationItem::describe)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Detail::Items(_) => None,
        // An object or number: keep only its `msg`/`message` if it has one; never dump it whole.
        Detail::Other(v) => v
            .get("msg")
            .or_else(|| v.get("message"))
            .and_then(|m| m.as_str())
            .map(str::to_string),
    }
}

/// The [`payout_core::ErrorDecoder`] for RomplHub responses. Never panics.
pub(crate) fn decode_error(status: u16, _headers: &HeaderMap, body: &[u8]) -> ErrorInfo {
    let detail = detail_text(body);
    let known = ErrorCode::for_status(status);
    let message = match (&known, detail) {
        // 402 and 401 carry advice the provider's own text lacks.
        (Some((ErrorCode::InsufficientTokens | ErrorCode::Unauthorized, meaning)), Some(d)) => {
            Some(format!("{d} ({meaning})"))
        }
        (_, Some(d)) => Some(d),
        (Some((_, meaning)), None) => Some((*meaning).to_string()),
        (None, None) => None,
    };
    ErrorInfo {
        code: known.map(|(c, _)| c.as_str().to_string()),
        message,
        request_id: None,
        kind: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(status: u16, body: &str) -> ErrorInfo {
        decode_error(status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn reads_string_and_list_details() {
        let i = decode(404, r#"{"detail":"Order not found"}"#);
        assert_eq!(i.code.as_deref(), Some("not_found"));
        assert_eq!(i.message.as_deref(), Some("Order not found"));
        let i = decode(
            422,
            r#"{"detail":[{"loc":["body","quantity"],"msg":"Input should be greater than 0","type":"greater_than","input":0},{"loc":["body",0],"msg":"x"}]}"#,
        );
        assert_eq!(i.code.as_deref(), Some("validation_error"));
        assert_eq!(
            i.message.as_deref(),
            Some("body.quantity: Input should be greater than 0 [greater_than]; body.0: x")
        );
    }

    #[test]
    fn never_copies_the_echoed_input() {
        let i = decode(
            422,
            r#"{"detail":[{"loc":["body","password"],"msg":"too short","type":"string_too_short","input":"hunter2-secret"}]}"#,
        );
        assert!(!i.message.unwrap().contains("hunter2-secret"));
        let i = decode(400, r#"{"detail":{"input":"hunter2-secret"}}"#);
        assert!(i.message.is_none());
    }

    #[test]
    fn survives_garbage() {
        for body in [
            "",
            "<html>502</html>",
            "{\"detail\":",
            "[]",
            "null",
            "{\"detail\":null}",
        ] {
            let i = decode(500, body);
            assert!(i.code.is_none());
            assert!(i.message.is_none());
        }
        let i = decode(402, "<html>nope</html>");
        assert_eq!(i.code.as_deref(), Some("insufficient_tokens"));
    }
}
