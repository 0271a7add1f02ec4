//! The wallet balance.

use payout_core::{Decimal, Request, Result};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::unwrap_data;
use crate::transactions::Currency;

/// `GET /api/v1/wallet/balance`: what your account holds, in the smallest unit.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WalletBalance {
    /// The live wallet: what [`crate::MobileMoney::disburse`] draws on.
    #[serde(
        default,
        with = "payout_core::money::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub balance_live: Option<Decimal>,
    /// The test wallet (`test_` keys; no real money).
    #[serde(
        default,
        with = "payout_core::money::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub balance_test: Option<Decimal>,
    /// The wallet currency (`UGX`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
}

/// `client.wallet()`: the wallet balance.
#[derive(Debug, Clone, Copy)]
pub struct Wallet<'a> {
    pub(crate) client: &'a Client,
}

impl Wallet<'_> {
    /// `GET /api/v1/wallet/balance`. Check it before a disbursement: RohoPay refuses one the
    /// live wallet cannot cover with `INSUFFICIENT_BALANCE`.
    pub async fn balance(&self) -> Result<WalletBalance> {
        let req = Request::get("wallet.balance", "/api/v1/wallet/balance");
        let resp = self.client.transport.send(req).await?;
        Ok(unwrap_data(&self.client.transport, &resp)?.0)
    }
}
