//! The legacy error envelope `{success: false, message, errors?: [{property, error}]}`.
//!
//! xRocket Pay API 1.3.1 has no error codes, only free text: [`ErrorCode`] is the `message`
//! in snake case (`"User not found"` → [`ErrorCode::UserNotFound`]), and the field errors of a
//! 400 are kept in the message and read back with [`FieldError::of`].

use payout_core::reqwest::header::HeaderMap;
use payout_core::{Error, ErrorInfo};
use serde::Deserialize;

use super::client::PROVIDER;

payout_core::open_enum! {
    /// The legacy API's `message`, in snake case. The API documents only "User not found";
    /// the others are the messages its HTTP statuses carry. Anything else arrives as
    /// `Unknown` (the message in snake case).
    pub enum ErrorCode {
        /// 400 on a transfer to a Telegram user who never started @xRocket.
        UserNotFound => "user_not_found",
        /// 400, a field failed validation: see [`FieldError::of`].
        BadRequest => "bad_request",
        /// 401, the `Rocket-Pay-Key` is missing or wrong.
        Unauthorized => "unauthorized",
        /// 403.
        Forbidden => "forbidden",
        /// 404.
        NotFound => "not_found",
        /// 500.
        InternalServerError => "internal_server_error",
    }
}

impl payout_core::ProviderErrorCode for ErrorCode {
    const PROVIDER: &'static str = PROVIDER;
}

impl ErrorCode {
    /// The code of an error returned by the legacy client.
    ///
    /// ```
    /// use xrocket::legacy::ErrorCode;
    /// let e = xrocket::Error::provider("xrocket-legacy", Some("user_not_found".into()), "User not found");
    /// assert_eq!(ErrorCode::of(&e), Some(ErrorCode::UserNotFound));
    /// ```
    pub fn of(error: &Error) -> Option<ErrorCode> {
        <ErrorCode as payout_core::ProviderErrorCode>::of(error)
    }
}

/// One entry of a 400's `errors[]`: which request field, and why.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct FieldError {
    /// The request field (`refProgram`).
    pub property: String,
    /// xRocket's text (`refProgram must not be greater than 100`).
    pub error: String,
}

/// Where the field errors start in an error's message.
const FIELDS_OPEN: &str = " [fields: ";

impl FieldError {
    /// The field errors of a legacy 400, as xRocket listed them (empty for other errors).
    ///
    /// ```
    /// use xrocket::legacy::FieldError;
    /// let e = xrocket::Error::provider(
    ///     "xrocket-legacy",
    ///     Some("bad_request".into()),
    ///     "Bad request [fields: refProgram: refProgram must not be greater than 100]",
    /// );
    /// let f = FieldError::of(&e);
    /// assert_eq!(f[0].property, "refProgram");
    /// assert_eq!(f[0].error, "refProgram must not be greater than 100");
    /// ```
    pub fn of(error: &Error) -> Vec<FieldError> {
        if error.provider_name() != PROVIDER {
            return Vec::new();
        }
        let m = error.message();
        let Some(start) = m.rfind(FIELDS_OPEN) else {
            return Vec::new();
        };
        let rest = &m[start + FIELDS_OPEN.len()..];
        let Some(end) = rest.find(']') else {
            return Vec::new();
        };
        rest[..end]
            .split("; ")
            .filter_map(|p| p.split_once(": "))
            .map(|(property, error)| FieldError {
                property: property.to_string(),
                error: error.to_string(),
            })
            .collect()
    }
}

#[derive(Deserialize, Default)]
struct Failure {
    #[serde(default)]
    message: Option<serde_json::Value>,
    #[serde(default)]
    errors: Option<Vec<serde_json::Value>>,
}

/// The message in snake case: `User not found` → `user_not_found` (at most 64 characters).
fn slug(message: &str) -> String {
    let mut out = String::new();
    for c in message.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
        if out.len() >= 64 {
            break;
        }
    }
    out.trim_end_matches('_').to_string()
}

/// The error info of a legacy failure body (any status); never panics.
pub(crate) fn failure_info(body: &[u8]) -> ErrorInfo {
    let f: Failure = serde_json::from_slice(body).unwrap_or_default();
    let message = match f.message {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Array(parts)) => Some(
            parts
                .iter()
                .map(|p| p.as_str().map(str::to_string).unwrap_or_else(|| p.to_string()))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Some(serde_json::Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let fields: Vec<String> = f
        .errors
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            let text = |k: &str| match e.get(k) {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(serde_json::Value::Null) | None => None,
                Some(v) => Some(v.to_string()),
            };
            Some(format!(
                "{}: {}",
                text("property")?,
                text("error").unwrap_or_default()
            ))
        })
        .collect();
    let code = message.as_deref().map(slug).filter(|c| !c.is_empty());
    let message = match (message, fields.is_empty()) {
        (m, true) => m,
        (m, false) => Some(format!(
            "{}{FIELDS_OPEN}{}]",
            m.unwrap_or_else(|| "Bad request".to_string()),
            fields.join("; ")
        )),
    };
    ErrorInfo {
        code,
        message,
        request_id: None,
        kind: None,
    }
}

/// The transport's error decoder for non-2xx answers.
pub(crate) fn decode_error(status: u16, _headers: &HeaderMap, body: &[u8]) -> ErrorInfo {
    let mut info = failure_info(body);
    if status == 401 {
        let base = info.message.take().unwrap_or_else(|| "Unauthorized".to_string());
        info.message = Some(format!(
            "{base}: check the Rocket-Pay-Key (the legacy API's app token, from Rocket Pay → your app → API token; the /api/v1 token does not work here)"
        ));
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_garbage() {
        assert_eq!(slug("User not found"), "user_not_found");
        assert_eq!(slug("  Bad request!! "), "bad_request");
        for body in [
            &b""[..],
            b"<html>",
            b"{\"message\":",
            b"[1]",
            b"null",
            b"{\"errors\":5}",
        ] {
            let _ = failure_info(body);
        }
        let i = failure_info(br#"{"success":false,"message":["a","b"],"errors":[{"property":"x"}]}"#);
        assert_eq!(i.message.as_deref(), Some("a; b [fields: x: ]"));
    }
}
