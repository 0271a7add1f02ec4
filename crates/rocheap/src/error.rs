//! ROCheap's error and failure codes, and the mapping of its failure fields (`error`,
//! `failure_code`, `status`) to the shared error type.

use payout_core::reqwest::header::HeaderMap;
use payout_core::{ErrorInfo, ErrorKind, ProviderErrorCode};
use serde::Deserialize;

use crate::client::PROVIDER;

payout_core::open_enum! {
    /// A code from `error.code` (request-level) or `failure_code.code` (an order that failed).
    /// Read it from an error with [`ErrorCode::of`](payout_core::ProviderErrorCode::of).
    ///
    /// Unknown codes are kept as [`ErrorCode::Unknown`]: ROCheap's full list is not public.
    ///
    /// ```
    /// use rocheap::{Error, ErrorCode, ProviderErrorCode};
    /// let e = Error::provider("rocheap", Some("INSUFFICIENT_BALANCE".into()), "top up");
    /// assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientBalance));
    /// ```
    pub enum ErrorCode {
        /// No for-sale game pass at the required price was found in the universe (user-caused).
        GamepassNotFound => "GAMEPASS_NOT_FOUND",
        /// The receiver's game pass was not on sale at the required price, or its price changed
        /// while the order was processing (user-caused).
        OrderFailedUserError => "ORDER_FAILED_USER_ERROR",
        /// The order was refunded to your balance.
        OrderRefunded => "ORDER_REFUNDED",
        /// Your ROCheap balance cannot cover the order (top up; caused by you).
        InsufficientBalance => "INSUFFICIENT_BALANCE",
        /// The Roblox user id does not exist (check the id you sent).
        UserDoesNotExist => "USER_DOES_NOT_EXIST",
        /// No order with that id (or custom id).
        OrderNotFound => "ORDER_NOT_FOUND",
    }
}

impl ErrorCode {
    /// True for failures the receiving user caused and can fix (publish a game pass at the
    /// right price, keep it on sale). ROCheap's "Getting Started" page asks you to notify your
    /// user of these.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            ErrorCode::GamepassNotFound | ErrorCode::OrderFailedUserError | ErrorCode::OrderRefunded
        )
    }

    /// True for failures caused on your side (balance, a wrong user id).
    pub fn is_integrator_error(&self) -> bool {
        matches!(self, ErrorCode::InsufficientBalance | ErrorCode::UserDoesNotExist)
    }
}

impl ProviderErrorCode for ErrorCode {
    const PROVIDER: &'static str = PROVIDER;
}

/// `{code, message}` or, as the "invalid API key" example on ROCheap's "Getting Started" page
/// shows, a bare string.
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

/// The failure fields of a `success: false` body. All optional: which of them ROCheap sends
/// depends on the endpoint (the create-order sample prints `status` and `failure_code`).
#[derive(Deserialize)]
struct Failure {
    #[serde(default)]
    error: Option<ErrorField>,
    #[serde(default)]
    status: Option<CodeMessage>,
    #[serde(default)]
    failure_code: Option<CodeMessage>,
    #[serde(default)]
    message: Option<String>,
}

impl Failure {
    /// Code and message, most specific first.
    fn info(self) -> ErrorInfo {
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

/// The failure fields of a body (2xx `success: false`, or any non-2xx); an HTML page or
/// truncated JSON yields an empty [`ErrorInfo`], never a panic.
pub(crate) fn failure_info(body: &[u8]) -> ErrorInfo {
    payout_core::envelope::failure_info(body, Failure::info)
}

/// The transport's decoder for non-2xx bodies.
pub(crate) fn decode_error(_status: u16, _headers: &HeaderMap, body: &[u8]) -> ErrorInfo {
    failure_info(body)
}
