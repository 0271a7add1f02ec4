//! The provider's error codes and the decoder of its error bodies.
//!
//! The error body schema is not published (ASSUMPTION): the decoder accepts the shapes Plexy
//! uses elsewhere — `{"error": {"code", "message", "request_id"}}`, `{"error": "<code>",
//! "message": ...}`, `{"code": ..., "message": ...}` and FastAPI-style `{"detail": ...}` — and
//! falls back to the HTTP status, which stays the primary discriminator (401 → `Auth`,
//! 404 → `NotFound`, 429 → `RateLimited`, the rest → `Provider`).

use payout_core::reqwest::header::HeaderMap;
use payout_core::{Error, ErrorInfo};
use serde_json::Value;

payout_core::open_enum! {
    /// An error code the provider returns, matched with [`ErrorCode::of`] or
    /// [`ErrorExt::error_code`].
    ///
    /// ```
    /// use agent_catalog::{ErrorCode, ErrorExt};
    /// # fn handle(err: agent_catalog::Error) {
    /// if err.is_insufficient_balance() {
    ///     // Tell finance; retry the *same* order (same idempotency key) after a deposit posts.
    /// }
    /// match err.error_code() {
    ///     Some(ErrorCode::InsufficientBalance) => { /* ... */ }
    ///     Some(other) => eprintln!("provider said {other}"),
    ///     None => eprintln!("{err}"),
    /// }
    /// # }
    /// ```
    pub enum ErrorCode {
        /// HTTP 400 on order creation: your balance in the order's currency cannot cover the
        /// charge. Never retried by the client. Fund the account, wait for the deposit to post
        /// (see [`crate::Deposits`]), then send the *same* [`crate::CreateOrder`] again so the
        /// same `Idempotency-Key` is reused. Also produced, with no HTTP status, by the
        /// client-side pre-check ([`crate::Balances::ensure_covers`]) before anything is sent.
        InsufficientBalance => "insufficient_balance",
    }
}

impl ErrorCode {
    /// The provider code carried by `err`, if any.
    pub fn of(err: &Error) -> Option<ErrorCode> {
        err.provider_code().map(ErrorCode::from)
    }
}

/// Agent-catalog specific questions to ask a [`payout_core::Error`].
pub trait ErrorExt {
    /// The provider's error code as an [`ErrorCode`].
    fn error_code(&self) -> Option<ErrorCode>;
    /// True when the balance cannot cover the order: answered by the provider (HTTP 400
    /// `insufficient_balance`) or by the client-side pre-check (no HTTP status; nothing was
    /// sent). Do not retry blindly; see [`ErrorCode::InsufficientBalance`].
    fn is_insufficient_balance(&self) -> bool;
}

impl ErrorExt for Error {
    fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::of(self)
    }
    fn is_insufficient_balance(&self) -> bool {
        self.error_code() == Some(ErrorCode::InsufficientBalance)
    }
}

/// The client-side "balance cannot cover this order" error: nothing was sent.
pub(crate) fn insufficient_balance_precheck(message: String) -> Error {
    Error::provider(
        crate::client::PROVIDER,
        Some(ErrorCode::InsufficientBalance.as_str().to_string()),
        message,
    )
    .with_retryable(false)
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Decodes an error response. Never panics: HTML pages, empty and truncated bodies give an
/// empty [`ErrorInfo`] and the transport reports the status and a redacted snippet.
pub(crate) fn decode_error(_status: u16, _headers: &HeaderMap, body: &[u8]) -> ErrorInfo {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return ErrorInfo::default();
    };
    let Value::Object(obj) = &v else {
        return ErrorInfo::default();
    };
    let mut info = ErrorInfo::default();
    match obj.get("error") {
        Some(Value::Object(e)) => {
            info.code = e
                .get("code")
                .and_then(as_text)
                .or_else(|| e.get("type").and_then(as_text));
            info.message = e.get("message").and_then(as_text);
            info.request_id = e.get("request_id").and_then(as_text);
        }
        Some(e) => {
            // `{"error": "insufficient_balance", "message": "..."}`: a snake_case code. A
            // sentence in `error` is a message, not a code.
            if let Some(s) = as_text(e) {
                if s.contains(char::is_whitespace) {
                    info.message = Some(s);
                } else {
                    info.code = Some(s);
                }
            }
        }
        None => {}
    }
    if info.code.is_none() {
        info.code = obj.get("code").and_then(as_text);
    }
    if info.message.is_none() {
        info.message = obj
            .get("message")
            .and_then(as_text)
            .or_else(|| obj.get("error_description").and_then(as_text))
            .or_else(|| detail_message(obj.get("detail")));
    }
    if info.request_id.is_none() {
        info.request_id = obj.get("request_id").and_then(as_text);
    }
    info
}

/// FastAPI's `detail`: a string, or a list of `{loc, msg, type}`.
fn detail_message(detail: Option<&Value>) -> Option<String> {
    match detail? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(|i| {
                    let msg = i.get("msg").and_then(Value::as_str)?;
                    let loc = i
                        .get("loc")
                        .and_then(Value::as_array)
                        .map(|l| l.iter().filter_map(as_text).collect::<Vec<_>>().join("."))
                        .unwrap_or_default();
                    Some(if loc.is_empty() {
                        msg.to_string()
                    } else {
                        format!("{loc}: {msg}")
                    })
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(body: &str) -> ErrorInfo {
        decode_error(400, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn decodes_every_known_shape() {
        let i = d(r#"{"error":"insufficient_balance","message":"Balance too low"}"#);
        assert_eq!(i.code.as_deref(), Some("insufficient_balance"));
        assert_eq!(i.message.as_deref(), Some("Balance too low"));

        let i = d(
            r#"{"error":{"type":"invalid_request","code":"insufficient_balance","message":"m","request_id":"r1"}}"#,
        );
        assert_eq!(i.code.as_deref(), Some("insufficient_balance"));
        assert_eq!(i.message.as_deref(), Some("m"));
        assert_eq!(i.request_id.as_deref(), Some("r1"));

        let i = d(r#"{"code":"insufficient_balance","message":"m"}"#);
        assert_eq!(i.code.as_deref(), Some("insufficient_balance"));

        let i = d(r#"{"error":"Not authorized to access this agent"}"#);
        assert_eq!(i.code, None);
        assert_eq!(i.message.as_deref(), Some("Not authorized to access this agent"));

        let i = d(r#"{"detail":[{"loc":["body","product_id"],"msg":"field required","type":"missing"}]}"#);
        assert_eq!(i.message.as_deref(), Some("body.product_id: field required"));
        let i = d(r#"{"detail":"Not Found"}"#);
        assert_eq!(i.message.as_deref(), Some("Not Found"));
    }

    #[test]
    fn never_panics_on_garbage() {
        for body in [
            "",
            "<html>502</html>",
            "{\"error\":",
            "[1,2]",
            "null",
            "{\"error\":null}",
        ] {
            let i = d(body);
            assert!(i.code.is_none(), "{body}");
        }
    }

    #[test]
    fn unknown_codes_are_kept() {
        assert_eq!(
            ErrorCode::from("agent_suspended"),
            ErrorCode::Unknown("agent_suspended".into())
        );
    }
}
