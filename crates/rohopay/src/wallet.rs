//! The wallet balance.

use payout_core::{Decimal, Request, Result};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::transactions::Currency;

/// `GET /api/v1/wallet/balance`: what your account holds, in the smallest unit.
///
/// Both balances are required (RohoPay's disbursements guide, `docs.rohopay.com/mobile-money/disbursements`): an answer without
/// them is a decode error, never a balance of nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WalletBalance {
    /// The live wallet: what [`crate::MobileMoney::disburse`] draws on.
    #[serde(with = "payout_core::money::decimal")]
    pub balance_live: Decimal,
    /// The test wallet (`test_` keys; no real money).
    #[serde(with = "payout_core::money::decimal")]
    pub balance_test: Decimal,
    /// The wallet currency (`UGX`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
}

/// `GET /api/v1/wallet/balance` as a request value for [`Client::send`];
/// [`Wallet::balance`] is the usual way to send it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetWalletBalance;

impl GetWalletBalance {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
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
        self.client.send(&GetWalletBalance).await
    }
}
