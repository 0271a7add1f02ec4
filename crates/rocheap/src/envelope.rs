//! ROCheap's response envelope. Every body carries `success`; the excerpt tells integrators
//! to decide on it, not on the HTTP status, because failures arrive inside HTTP 200 too.

use payout_core::reqwest::header::HeaderMap;
use payout_core::{Error, ErrorInfo, ErrorKind, Response, Result};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::client::PROVIDER;
use crate::error::ErrorCode;

/// `{code, message}` or, as the excerpt's "invalid API key" example shows, a bare string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    Object {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    },
    Text(String),
}

#[derive(Deserialize)]
struct CodeMessage {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    error: Option<ErrorField>,
    // The create-order sample prints `status` and `failure_code` on failure; take them too.
    #[serde(default)]
    status: Option<CodeMessage>,
    #[serde(default)]
    failure_code: Option<CodeMessage>,
    #[serde(default)]
    message: Option<String>,
}

impl Envelope {
    /// Code and message of a `success: false` body, most specific first.
    fn failure(self) -> ErrorInfo {
        let (mut code, mut message) = match self.error {
            Some(ErrorField::Object { code, message }) => (code, message),
            Some(ErrorField::Text(t)) => (None, Some(t)),
            None => (None, None),
        };
        if let Some(f) = self.failure_code {
            code = code.or(f.code);
            message = message.or(f.message);
        }
        if let Some(s) = self.status {
            code = code.or(s.code);
            message = message.or(s.message);
        }
        let message = message.or(self.message);
        let kind = match code.as_deref().map(ErrorCode::from) {
            Some(ErrorCode::OrderNotFound) => Some(ErrorKind::NotFound),
            Some(_) => None,
            // The only documented code-less failure is "Invalid API key.".
            None if message
                .as_deref()
                .is_some_and(|m| m.to_ascii_lowercase().contains("api key")) =>
            {
                Some(ErrorKind::Auth)
            }
            None => None,
        };
        ErrorInfo {
            code,
            message,
            request_id: None,
            kind,
        }
    }
}

/// Decodes a non-2xx body for the transport. Never panics: an HTML page simply yields nothing.
pub(crate) fn decode_error(_status: u16, _headers: &HeaderMap, body: &[u8]) -> ErrorInfo {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(env) => env.failure(),
        Err(_) => ErrorInfo::default(),
    }
}

/// Decodes a 2xx response: `success: true` into `T`, `success: false` into a typed error that
/// keeps the HTTP status.
pub(crate) fn decode<T: DeserializeOwned>(resp: &Response) -> Result<T> {
    let env: Envelope = resp.json()?;
    match env.success {
        Some(true) => resp.json(),
        Some(false) => Err(failure_error(resp, env.failure())),
        None => {
            Err(resp
                .decode_error("response has no `success` field; is the base URL the ROCheap business API?"))
        }
    }
}

fn failure_error(resp: &Response, info: ErrorInfo) -> Error {
    let message = info
        .message
        .unwrap_or_else(|| "ROCheap answered success: false without a message".to_string());
    let mut e = Error::provider(PROVIDER, info.code, message)
        .with_status(resp.status())
        .with_request_id(resp.request_id().map(str::to_string))
        .with_idempotency_key(resp.idempotency_key().cloned())
        .with_attempts(resp.attempts());
    if let Some(k) = info.kind {
        e = e.with_kind(k);
    }
    e
}
