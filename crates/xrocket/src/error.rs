//! xRocket's RFC 9457 problem errors: the `type` codes as an open enum and the decoder that
//! turns a problem body into the shared [`payout_core::Error`].
//!
//! An error body looks like
//! `{"type":"/api/problems/client_id_already_taken","title":"...","status":400,"detail":"...","instance":"/api/problems/instances/<uuid>","kind":"..."}`.
//! The last segment of `type` becomes [`payout_core::Error::provider_code`] (branch on it with
//! [`ErrorCode::of`], never on `detail` text), `detail` (or `title`) the message and
//! `instance` the request id to quote to xRocket support.

use payout_core::reqwest::header::HeaderMap;
use payout_core::{Error, ErrorInfo, ErrorKind};
use serde::{Deserialize, Serialize};

payout_core::open_enum! {
    /// The last segment of a problem's `type`. Codes this crate does not know arrive as
    /// `Unknown`.
    pub enum ErrorCode {
        /// Both `priceAmount` and `minPayment` were sent (400).
        AmountConflict => "amount_conflict",
        /// The amount is malformed or out of range (400).
        AmountInvalid => "amount_invalid",
        /// The amount is below the minimum deposit (400).
        AmountLessThanMinDeposit => "amount_less_than_min_deposit",
        /// The amount is below the minimum for this asset (400).
        AmountLessThanMinimum => "amount_less_than_minimum",
        /// The app balance is too low (400).
        AmountMoreThanAppBalance => "amount_more_than_app_balance",
        /// The asset was delisted (400).
        AssetDelisted => "asset_delisted",
        /// The cheque was already redeemed (400).
        ChequeAlreadyUsed => "cheque_already_used",
        /// This client id was already used: the object exists (400). The crate answers this
        /// itself on a retry by fetching the object.
        ClientIdAlreadyTaken => "client_id_already_taken",
        /// The pay currency is not accepted (400).
        InvalidPayCurrency => "invalid_pay_currency",
        /// The invoice has expired (400).
        InvoiceExpired => "invoice_expired",
        /// Neither `chequeId` nor `clientChequeId` was sent (400).
        MissingChequeIdentifier => "missing_cheque_identifier",
        /// Neither `priceAmount` nor `minPayment` was sent (400).
        MissingInvoiceAmount => "missing_invoice_amount",
        /// Neither `invoiceId` nor `clientInvoiceId` was sent (400).
        MissingInvoiceIdentifier => "missing_invoice_identifier",
        /// Neither transfer id nor client transfer id was sent (400).
        MissingPayoutIdentifier => "missing_payout_identifier",
        /// The network is suspended (400).
        NetworkIsSuspended => "network_is_suspended",
        /// The client transfer id was already used (400), the transfer variant of
        /// `client_id_already_taken`.
        PayoutClientIdDuplicate => "payout_client_id_duplicate",
        /// The recipient is blocked (400).
        PayoutUserBlocked => "payout_user_blocked",
        /// The recipient never used @xRocket (400).
        PayoutUserNotFound => "payout_user_not_found",
        /// The recipient never used @xRocket (400).
        TargetUserNotFound => "target_user_not_found",
        /// A field failed xRocket's validation (400).
        ValidationError => "validation_error",
        /// This asset cannot be withdrawn (400).
        WithdrawalAssetNotAllowed => "withdrawal_asset_not_allowed",
        /// The address is not valid for the network (400).
        WithdrawalIncorrectAddress => "withdrawal_incorrect_address",
        /// The comment (memo) is not valid (400).
        WithdrawalIncorrectComment => "withdrawal_incorrect_comment",
        /// The token is missing, unknown or revoked (401).
        Unauthorized => "unauthorized",
        /// Deposits of this coin are disabled (403).
        CoinDepositDisabled => "coin_deposit_disabled",
        /// The operation is disabled for this app (403).
        OperationDisabled => "operation_disabled",
        /// No such cheque (404).
        AppChequeNotFound => "app_cheque_not_found",
        /// No such app (404).
        AppNotFound => "app_not_found",
        /// No such transfer (404).
        AppPayoutNotFound => "app_payout_not_found",
        /// No such withdrawal (404).
        AppWithdrawalNotFound => "app_withdrawal_not_found",
        /// No such asset (404).
        AssetNotFound => "asset_not_found",
        /// No such currency (404).
        CurrencyNotFound => "currency_not_found",
        /// No such invoice (404).
        InvoiceNotFound => "invoice_not_found",
        /// No such network (404).
        NetworkNotFound => "network_not_found",
        /// Too many requests (429).
        RateLimitExceeded => "rate_limit_exceeded",
        /// xRocket failed (500).
        InternalError => "internal_error",
        /// The feature is not implemented yet, e.g. several pay currencies (500).
        NotImplemented => "not_implemented",
    }
}

impl payout_core::ProviderErrorCode for ErrorCode {
    const PROVIDER: &'static str = crate::client::PROVIDER;
}

impl ErrorCode {
    /// The problem code of an error returned by this crate, if xRocket sent one.
    ///
    /// ```
    /// use xrocket::{Error, ErrorCode};
    /// let e = Error::provider("xrocket", Some("invoice_expired".into()), "Invoice expired");
    /// assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InvoiceExpired));
    /// ```
    pub fn of(error: &Error) -> Option<ErrorCode> {
        <ErrorCode as payout_core::ProviderErrorCode>::of(error)
    }

    /// True when the code says "this client id is already used": `client_id_already_taken`,
    /// `payout_client_id_duplicate`, or any other `*_client_id_duplicate` (the transfer
    /// naming may rename the payout code).
    pub fn is_client_id_taken(&self) -> bool {
        match self {
            ErrorCode::ClientIdAlreadyTaken | ErrorCode::PayoutClientIdDuplicate => true,
            ErrorCode::Unknown(s) => {
                s.ends_with("client_id_duplicate") || s.ends_with("client_id_already_taken")
            }
            _ => false,
        }
    }
}

/// An RFC 9457 problem as xRocket sends it, e.g. the `reason` of a failed mass-transfer item.
///
/// Decoding is lenient field by field: a field of an unexpected type (a numeric `type`, a
/// `status` sent as `"400"`, a `detail` that is a list of messages) never loses the others,
/// above all the code: a lost `client_id_already_taken` would skip reconciliation.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[non_exhaustive]
pub struct Problem {
    /// `/api/problems/<code>`; see [`Problem::code`].
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// A short summary.
    #[serde(default)]
    pub title: Option<String>,
    /// The HTTP status the problem corresponds to.
    #[serde(default)]
    pub status: Option<u16>,
    /// What went wrong, for people.
    #[serde(default)]
    pub detail: Option<String>,
    /// The occurrence id (`/api/problems/instances/<uuid>`), to quote to support.
    #[serde(default)]
    pub instance: Option<String>,
    /// A broad category (`unauthorized`, `internal`, ...).
    #[serde(default)]
    pub kind: Option<String>,
    /// Extra details some problems carry.
    #[serde(default)]
    pub info: Option<serde_json::Value>,
}

impl<'de> Deserialize<'de> for Problem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Problem::from_json(&v))
    }
}

impl Problem {
    /// Reads whatever problem fields `v` has; anything else (including a non-object) yields
    /// an empty problem.
    fn from_json(v: &serde_json::Value) -> Problem {
        use serde_json::Value;
        let text = |name: &str| -> Option<String> {
            match v.get(name)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Array(items) => {
                    let parts: Vec<String> = items
                        .iter()
                        .filter_map(|i| match i {
                            Value::String(s) => Some(s.clone()),
                            Value::Null => None,
                            other => Some(other.to_string()),
                        })
                        .collect();
                    (!parts.is_empty()).then(|| parts.join("; "))
                }
                Value::Null => None,
                other => Some(other.to_string()),
            }
        };
        let status = match v.get("status") {
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        Problem {
            type_: text("type"),
            title: text("title"),
            status,
            detail: text("detail"),
            instance: text("instance"),
            kind: text("kind"),
            info: v.get("info").filter(|i| !i.is_null()).cloned(),
        }
    }

    /// The last segment of `type` as a [`ErrorCode`] (`Unknown("")` when there is no type).
    pub fn code(&self) -> ErrorCode {
        ErrorCode::from(self.type_.as_deref().map(code_from_type).unwrap_or(""))
    }

    /// `detail`, else `title`, else the code.
    pub fn message(&self) -> String {
        self.detail
            .clone()
            .or_else(|| self.title.clone())
            .unwrap_or_else(|| self.code().to_string())
    }
}

/// The last path segment of a problem `type` (`/api/problems/invoice_expired` →
/// `invoice_expired`; a bare code stays as is).
fn code_from_type(t: &str) -> &str {
    let t = t.trim().trim_end_matches('/');
    t.rsplit(['/', '#']).next().unwrap_or(t)
}

/// The transport's error decoder: never panics, whatever the body (HTML, truncated JSON).
pub(crate) fn decode_error(status: u16, _headers: &HeaderMap, body: &[u8], environment: &str) -> ErrorInfo {
    let problem: Option<Problem> = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .filter(serde_json::Value::is_object)
        .map(|v| Problem::from_json(&v));
    let Some(problem) = problem else {
        let mut info = ErrorInfo::default();
        if status == 401 {
            info.message = Some(unauthorized_hint("the token was rejected", environment));
        }
        return info;
    };
    let code = problem
        .type_
        .as_deref()
        .map(code_from_type)
        .filter(|c| !c.is_empty() && *c != "about:blank")
        .map(str::to_string);
    let parsed = code.as_deref().map(ErrorCode::from);
    let mut message = problem.detail.clone().or_else(|| problem.title.clone());
    let kind = match &parsed {
        Some(ErrorCode::Unauthorized) => Some(ErrorKind::Auth),
        Some(ErrorCode::RateLimitExceeded) => Some(ErrorKind::RateLimited),
        // 403 here means "switched off", not "wrong credential".
        Some(ErrorCode::CoinDepositDisabled | ErrorCode::OperationDisabled) => Some(ErrorKind::Provider),
        _ => None,
    };
    if status == 401 || parsed == Some(ErrorCode::Unauthorized) {
        let base = message.unwrap_or_else(|| "the token was rejected".to_string());
        message = Some(unauthorized_hint(&base, environment));
    }
    ErrorInfo {
        code,
        message,
        request_id: problem.instance.filter(|i| !i.is_empty()),
        kind,
    }
}

fn unauthorized_hint(base: &str, environment: &str) -> String {
    format!(
        "{base}: check the Bearer token (this client talks to {environment}; testnet tokens work only with Environment::Testnet, production tokens only with Environment::Production)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_the_last_type_segment() {
        assert_eq!(code_from_type("/api/problems/invoice_expired"), "invoice_expired");
        assert_eq!(
            code_from_type("https://x/api/problems/unauthorized/"),
            "unauthorized"
        );
        assert_eq!(code_from_type("validation_error"), "validation_error");
    }

    #[test]
    fn garbage_bodies_never_panic() {
        let h = HeaderMap::new();
        for body in [
            &b""[..],
            b"<html>",
            b"{\"type\":",
            b"[1,2]",
            b"null",
            b"{\"type\":5}",
        ] {
            let _ = decode_error(500, &h, body, "production");
        }
    }

    #[test]
    fn odd_field_types_keep_the_code() {
        let h = HeaderMap::new();
        for body in [
            &br#"{"type":"/api/problems/client_id_already_taken","status":"400","detail":"taken"}"#[..],
            br#"{"type":"/api/problems/client_id_already_taken","status":400,"detail":["clientTransferId taken"],"kind":{"k":1}}"#,
            br#"{"type":"/api/problems/client_id_already_taken","status":400,"title":7,"instance":null}"#,
        ] {
            let info = decode_error(400, &h, body, "production");
            assert_eq!(info.code.as_deref(), Some("client_id_already_taken"), "{}", String::from_utf8_lossy(body));
        }
        let p: Problem = serde_json::from_str(
            r#"{"type":"/api/problems/validation_error","status":"422","detail":["amount too small","asset unknown"]}"#,
        )
        .unwrap();
        assert_eq!(p.code(), ErrorCode::ValidationError);
        assert_eq!(p.status, Some(422));
        assert_eq!(p.message(), "amount too small; asset unknown");
        let empty: Problem = serde_json::from_str("\"oops\"").unwrap();
        assert_eq!(empty, Problem::default());
    }

    #[test]
    fn client_id_taken_variants() {
        assert!(ErrorCode::ClientIdAlreadyTaken.is_client_id_taken());
        assert!(ErrorCode::from("transfer_client_id_duplicate").is_client_id_taken());
        assert!(!ErrorCode::InvoiceExpired.is_client_id_taken());
    }
}
