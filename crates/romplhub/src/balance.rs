//! `GET /balance` and `POST /balance/topup` (USDT TRC-20 to tokens).
//!
//! A top-up is a request, not a payment: RomplHub answers with a wallet address and the tokens
//! you will get; you then send the USDT (TRC-20) to that address yourself, and the tokens are
//! credited once an administrator approves it.

use payout_core::{Decimal, Error, Request, Result};
use serde::{Deserialize, Serialize};

use crate::PROVIDER;
use crate::client::Client;

/// The account's token balance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Balance {
    /// Tokens available for orders.
    #[serde(deserialize_with = "crate::serde_util::u64_lenient")]
    pub tokens: u64,
    /// Top-ups waiting for approval. Documented, so required: an answer without it is a
    /// `Decode` error, never read as "no top-up pending" (which could open a second one).
    #[serde(deserialize_with = "crate::serde_util::u64_lenient")]
    pub pending_topups: u64,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

payout_core::open_enum! {
    /// The state of a top-up request. Only `pending` is documented; others arrive as `Unknown`.
    pub enum TopUpStatus {
        /// Waiting for your USDT transfer and the administrator's approval.
        Pending => "pending",
    }
}

/// The answer to `POST /balance/topup`: where to send the USDT and what it will buy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TopUp {
    /// Tokens credited once the top-up is approved.
    #[serde(deserialize_with = "crate::serde_util::u64_lenient")]
    pub tokens_amount: u64,
    /// The TRC-20 address to send the USDT to.
    pub wallet_address: String,
    /// `pending` until approved.
    pub status: TopUpStatus,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `POST /balance/topup` as a value: an amount of USDT. Serializes (for a journal) as
/// `{"amount_usdt": "50.00"}` (a decimal string, exact).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUpRequest {
    #[serde(with = "payout_core::money::decimal")]
    amount_usdt: Decimal,
}

/// USDT on TRC-20 has 6 decimal places.
const USDT_DECIMALS: u32 = 6;

impl TopUpRequest {
    /// A top-up of `amount_usdt` USDT, e.g. `Decimal::new(5000, 2)` for 50.00.
    pub fn new(amount_usdt: Decimal) -> Self {
        TopUpRequest { amount_usdt }
    }

    /// The amount.
    pub fn amount_usdt(&self) -> Decimal {
        self.amount_usdt
    }

    /// Checks the amount before anything is sent.
    pub fn validate(&self) -> Result<()> {
        if self.amount_usdt <= Decimal::ZERO {
            return Err(Error::invalid_input(
                PROVIDER,
                "amount_usdt",
                "must be greater than zero",
            ));
        }
        if !payout_core::money::fits_precision(self.amount_usdt, USDT_DECIMALS) {
            return Err(Error::invalid_input(
                PROVIDER,
                "amount_usdt",
                "must have at most 6 decimal places (USDT precision)",
            ));
        }
        Ok(())
    }

    /// The JSON body. The amount is written as a JSON number, as documented (`50.00`), from
    /// the decimal's own digits: no float conversion, so no rounding.
    fn body(&self) -> Vec<u8> {
        format!("{{\"amount_usdt\":{}}}", self.amount_usdt).into_bytes()
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        Ok(req.json_bytes(self.body()))
    }
}

/// `GET /balance` as a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct GetBalance;

impl GetBalance {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
}

/// The handler for `/balance`; see [`Client::balance`].
#[derive(Debug, Clone, Copy)]
pub struct BalanceApi<'a> {
    pub(crate) client: &'a Client,
}

impl BalanceApi<'_> {
    /// `GET /balance`: tokens available and top-ups pending.
    pub async fn get(&self) -> Result<Balance> {
        self.client.send(&GetBalance).await
    }

    /// `POST /balance/topup`: requests a USDT top-up and returns the address to pay (201).
    /// Never re-sent once it may have left, so a lost answer cannot open two top-ups; read
    /// [`BalanceApi::get`]'s `pending_topups` before asking again.
    pub async fn top_up(&self, req: &TopUpRequest) -> Result<TopUp> {
        self.client.send(req).await
    }
}
