//! `GET /ping` and `GET /balance` (ROCheap's "Getting Started" page).

use payout_core::{Decimal, Request, Response, Result};
use serde::Deserialize;

/// `GET /ping`: checks connectivity and that the API key is accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ping;

impl Ping {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
}

/// `GET /balance`: your credit balance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetBalance;

impl GetBalance {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
}

/// The answer to `GET /ping`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Pong {
    /// `"pong"`.
    #[serde(default)]
    pub message: Option<String>,
}

/// Your ROCheap credit balance.
///
/// ROCheap documents the endpoint but not its response shape; the field is taken from `balance`,
/// `credits` or `amount`, whichever is present, and the whole body is kept in [`Balance::raw`]
/// so nothing the provider sends is lost. The currency is the one orders' `cost` is charged in
/// (not documented; USD is likely).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Balance {
    /// The available credit.
    pub amount: Decimal,
    /// The response body as received.
    pub raw: serde_json::Value,
}

impl Balance {
    pub(crate) fn from_value(raw: serde_json::Value) -> std::result::Result<Self, String> {
        let field = ["balance", "credits", "amount"]
            .iter()
            .find_map(|k| raw.get(*k).filter(|v| !v.is_null()))
            .ok_or_else(|| "balance response has none of `balance`, `credits`, `amount`".to_string())?;
        let amount = match field {
            serde_json::Value::String(s) => payout_core::money::parse_decimal(s),
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(Decimal::from)
                .or_else(|| n.as_u64().map(Decimal::from))
                .or_else(|| n.as_f64().and_then(payout_core::money::decimal_from_f64)),
            _ => None,
        }
        .ok_or_else(|| "balance is not a number".to_string())?;
        Ok(Balance { amount, raw })
    }

    /// True when the balance is below `threshold`: alert before payouts start failing with
    /// `INSUFFICIENT_BALANCE`.
    pub fn is_below(&self, threshold: Decimal) -> bool {
        self.amount < threshold
    }
}

/// Decodes `GET /balance` through the envelope, then picks the amount (see [`Balance`]).
pub(crate) fn decode_balance(resp: &Response) -> Result<Balance> {
    let value: serde_json::Value = crate::api::decode(resp)?;
    Balance::from_value(value).map_err(|m| resp.decode_error(m))
}
