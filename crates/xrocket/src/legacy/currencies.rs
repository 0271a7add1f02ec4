//! `GET /currencies/available` (public).

use payout_core::{Decimal, Request, Result};
use serde::{Deserialize, Serialize};

use super::client::Client;
use super::wire::number;
use super::withdrawals::Network;

/// `GET /currencies/available`: every currency and its minimums (not paginated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListCurrencies;

impl ListCurrencies {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
}

/// A currency (`Coin`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Coin {
    /// The API code (`TONCOIN`).
    pub currency: String,
    /// The display name (`TON`).
    pub name: String,
    /// Minimum transfer.
    #[serde(with = "number")]
    pub min_transfer: Decimal,
    /// Minimum amount per cheque user.
    #[serde(with = "number")]
    pub min_cheque: Decimal,
    /// Minimum invoice.
    #[serde(with = "number")]
    pub min_invoice: Decimal,
    /// Minimum withdrawal.
    #[serde(with = "number")]
    pub min_withdraw: Decimal,
    /// Withdrawal fees per network, when given.
    #[serde(default)]
    pub fee_withdraw: Option<CoinFee>,
}

/// The withdrawal fees of a coin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CoinFee {
    /// The coin.
    pub currency: String,
    /// One entry per network.
    #[serde(default)]
    pub networks: Vec<CoinNetwork>,
}

/// A network and its fee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CoinNetwork {
    /// The network.
    pub network_code: Network,
    /// The fee.
    pub fee_withdraw: Fee,
}

/// A fee: amount and currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Fee {
    /// The amount.
    #[serde(with = "number")]
    pub fee: Decimal,
    /// The currency the fee is charged in.
    pub currency: String,
}

/// Currencies (`client.currencies()`).
#[derive(Debug, Clone, Copy)]
pub struct Currencies<'a> {
    pub(crate) client: &'a Client,
}

impl Currencies<'_> {
    /// Every available currency.
    pub async fn list(&self) -> Result<Vec<Coin>> {
        self.client.send(&ListCurrencies).await
    }
}

/// The answer of `GET /currencies/available`.
pub type CoinList = Vec<Coin>;
