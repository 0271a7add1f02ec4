//! The provider's error codes and the decoder of its error bodies.
//!
//! The error body schema is not published (ASSUMPTION): the decoder accepts the shapes Plexy
//! uses elsewhere — `{"error": {"code", "message", "request_id"}}`, `{"error": "<code>",
//! "message": ...}`, `{"code": ..., "message": ...}` and FastAPI-style `{"detail": ...}` — and
//! falls back to the HTTP status, which stays the primary discriminator (401 → `Auth`,
//! 404 → `NotFound`, 429 → `RateLimited`, the rest → `Provider`).

use payout_core::reqwest::header::HeaderMap;
use payout_core::{Error, ErrorInfo, ProviderErrorCode};
use serde_json::Value;

payout_core::open_enum! {
    /// An error code the provider returns, matched with [`ErrorCode::of`] (the
    /// [`payout_core::ProviderErrorCode`] shape every payout-rs crate shares).
    ///
    /// ```
    /// use agent_catalog::ErrorCode;
    /// # fn handle(err: agent_catalog::Error) {
    /// match ErrorCode::of(&err) {
    ///     Some(ErrorCode::InsufficientBalance) => {
    ///         // Tell finance; retry the *same* order (same idempotency key) after a deposit posts.
    ///     }
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
    /// The provider code carried by `err`, if it is an agent-catalog error with a code.
    /// Known codes match in any letter case (`INSUFFICIENT_BALANCE` is
    /// [`ErrorCode::InsufficientBalance`]); unknown ones are kept as sent.
    pub fn of(err: &Error) -> Option<ErrorCode> {
        <ErrorCode as ProviderErrorCode>::of(err)
    }
}

impl ProviderErrorCode for ErrorCode {
    const PROVIDER: &'static str = crate::client::PROVIDER;

    fn of(err: &Error) -> Option<ErrorCode> {
        if err.provider_name() != Self::PROVIDER {
            return None;
        }
        err.provider_code()
            .map(|c| match ErrorCode::from(c.to_ascii_lowercase().as_str()) {
                ErrorCode::Unknown(_) => ErrorCode::from(c),
                known => known,
            })
    }
}

/// The client-side "balance cannot cover this order" error: nothing was sent.
pub(crate) fn insufficient_balance_precheck(message: String) -> Error {
    Error::provider(
        crate::client::PROVIDER,
        Some(ErrorCode::InsufficientBalance.as_str().to_string()),
        message,
    )
    // `Error::provider` assumes a provider answered; this one was decided locally. (It is
    // not retryable already: only transport, timeout and rate-limit errors are.)
    .with_sent(false)
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A snake_case token such as `insufficient_balance` (a code), as opposed to a sentence.
fn as_code_token(v: &Value) -> Option<String> {
    as_text(v).filter(|s| !s.contains(char::is_whitespace))
}

/// True when `text` names the insufficient-balance condition in any spelling:
/// `insufficient_balance`, `Insufficient balance`, `INSUFFICIENT-BALANCE`, ...
fn mentions_insufficient_balance(text: &str) -> bool {
    let normalized: String = text
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    normalized.contains("insufficient_balance")
}

/// Decodes an error response. Never panics: HTML pages, empty and truncated bodies give an
/// empty [`ErrorInfo`] and the transport reports the status and a redacted snippet.
///
/// A 400 whose body names the insufficient-balance condition only in prose (`{"detail":
/// "Insufficient balance"}`, `{"error": "Insufficient balance"}`) still gets the code
/// `insufficient_balance`: the Plexy Gate agent API documentation names exactly that
/// condition on HTTP 400 ("Create order", "Balance management"), and the
/// caller must be able to tell it apart from every other refusal.
pub(crate) fn decode_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ErrorInfo {
    let mut info = decode_body(headers, body);
    if status == 400
        && info.code.is_none()
        && info.message.as_deref().is_some_and(mentions_insufficient_balance)
    {
        info.code = Some(ErrorCode::InsufficientBalance.as_str().to_string());
    }
    info
}

fn decode_body(_headers: &HeaderMap, body: &[u8]) -> ErrorInfo {
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
    // FastAPI's `HTTPException(detail=...)`: `{"detail": "insufficient_balance"}` or
    // `{"detail": {"code": ..., "message": ...}}`.
    match obj.get("detail") {
        Some(Value::Object(d)) => {
            if info.code.is_none() {
                info.code = d
                    .get("code")
                    .and_then(as_text)
                    .or_else(|| d.get("error").and_then(as_code_token))
                    .or_else(|| d.get("type").and_then(as_text));
            }
            if info.message.is_none() {
                info.message = d
                    .get("message")
                    .and_then(as_text)
                    .or_else(|| d.get("msg").and_then(as_text));
            }
        }
        Some(d @ Value::String(_)) if info.code.is_none() => info.code = as_code_token(d),
        _ => {}
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
    fn insufficient_balance_is_recognised_in_every_plausible_shape() {
        for body in [
            r#"{"detail":"insufficient_balance"}"#,
            r#"{"detail":{"code":"insufficient_balance","message":"Balance too low"}}"#,
            r#"{"detail":{"error":"insufficient_balance"}}"#,
            r#"{"detail":"Insufficient balance"}"#,
            r#"{"error":"Insufficient balance for this order"}"#,
            r#"{"message":"insufficient_balance"}"#,
            r#"{"error":{"message":"Insufficient balance"}}"#,
        ] {
            let i = d(body);
            assert_eq!(i.code.as_deref(), Some("insufficient_balance"), "{body}");
        }
        // Only on the documented 400: a 500 that mentions it is not relabelled.
        let i = decode_error(500, &HeaderMap::new(), br#"{"message":"insufficient balance"}"#);
        assert_eq!(i.code, None);
        // A code the provider sent wins over prose.
        let i = d(r#"{"code":"limit_exceeded","message":"insufficient balance for the limit"}"#);
        assert_eq!(i.code.as_deref(), Some("limit_exceeded"));
        // A detail sentence stays a message.
        let i = d(r#"{"detail":"Product is not active"}"#);
        assert_eq!(
            (i.code, i.message.as_deref()),
            (None, Some("Product is not active"))
        );
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
    fn known_codes_match_in_any_case() {
        let e = Error::provider("agent-catalog", Some("INSUFFICIENT_BALANCE".into()), "m");
        assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientBalance));
        let e = Error::provider("agent-catalog", Some("Agent_Suspended".into()), "m");
        assert_eq!(
            ErrorCode::of(&e),
            Some(ErrorCode::Unknown("Agent_Suspended".into()))
        );
        // Another provider's code is not ours.
        let e = Error::provider("rocheap", Some("insufficient_balance".into()), "m");
        assert_eq!(ErrorCode::of(&e), None);
    }

    #[test]
    fn unknown_codes_are_kept() {
        assert_eq!(
            ErrorCode::from("agent_suspended"),
            ErrorCode::Unknown("agent_suspended".into())
        );
    }
}
