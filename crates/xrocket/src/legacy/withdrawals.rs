//! Withdrawals to external wallets: create, status, fees and withdrawal links.
//!
//! **Never pays twice.** [`CreateWithdrawal`] carries **your** `withdrawalId` (≤ 50
//! characters), generated when the value is built and readable with
//! [`payout_core::Keyed::key`]. The call is sent once (it is
//! [`payout_core::Safety::Unprotected`]: xRocket Pay API 1.3.1 does not say what a repeated
//! `withdrawalId` answers). When its outcome is unknown, [`Withdrawals::create`] looks the
//! withdrawal up with `GET /app/withdrawal/status/{withdrawalId}`: found and equal is `Ok`,
//! anything else is [`crate::ErrorKind::Ambiguous`] with the `withdrawalId`.

use std::future::Future;

use payout_core::reconcile::send_reconciled;
use payout_core::{ApiClient, Decimal, Error, KeySlot, Keyed, PollOptions, Reconcile, Request, Result};
use serde::{Deserialize, Serialize};

use super::client::{Client, PROVIDER};
use super::wire::{
    check_amount, check_caller_id, check_len, check_required, new_caller_id, number, segment, with_json,
};

payout_core::open_enum! {
    /// A blockchain network (xRocket Pay API 1.3.1, `Network`).
    pub enum Network {
        /// The Open Network.
        Ton => "TON",
        /// BNB Smart Chain.
        Bsc => "BSC",
        /// Ethereum.
        Eth => "ETH",
        /// Bitcoin.
        Btc => "BTC",
        /// Tron.
        Trx => "TRX",
        /// Solana.
        Sol => "SOL",
    }
}

payout_core::open_enum! {
    /// Where a withdrawal stands.
    pub enum WithdrawalStatus {
        /// Accepted, not yet on chain.
        Created => "CREATED",
        /// Sent: `tx_hash` and `tx_link` are set.
        Completed => "COMPLETED",
        /// Failed: the funds stay on your balance (`error` may say why).
        Fail => "FAIL",
    }
}

impl WithdrawalStatus {
    /// `COMPLETED` and `FAIL`.
    pub fn is_final(&self) -> bool {
        matches!(self, WithdrawalStatus::Completed | WithdrawalStatus::Fail)
    }
}

/// A withdrawal as xRocket reports it (`WithdrawalDto`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Withdrawal {
    /// The network.
    pub network: Network,
    /// The destination address.
    pub address: String,
    /// The currency.
    pub currency: String,
    /// The amount.
    #[serde(with = "number")]
    pub amount: Decimal,
    /// **Your** id, echoed.
    pub withdrawal_id: String,
    /// The status (optional in the spec; treat a missing one as not final).
    #[serde(default)]
    pub status: Option<WithdrawalStatus>,
    /// The memo.
    #[serde(default)]
    pub comment: Option<String>,
    /// The transaction hash, once sent.
    #[serde(default)]
    pub tx_hash: Option<String>,
    /// A link to the transaction, once sent.
    #[serde(default)]
    pub tx_link: Option<String>,
    /// Why it failed (xRocket's SDK reads it on `FAIL`).
    #[serde(default)]
    pub error: Option<String>,
}

impl Withdrawal {
    /// True once the status is final.
    pub fn is_final(&self) -> bool {
        self.status.as_ref().is_some_and(WithdrawalStatus::is_final)
    }
}

/// `POST /app/withdrawal`.
///
/// ```
/// use xrocket::legacy::{CreateWithdrawal, Network};
/// use xrocket::{Decimal, Keyed};
/// let w = CreateWithdrawal::new(Network::Ton, "EQB1cmpxb3R-YLA3HLDV01Rx6OHpMQA_7MOglhqL2CwJx_dz", "TONCOIN", Decimal::new(123, 2))
///     .withdrawal_id("wd-1001");
/// assert_eq!(w.key(), "wd-1001");
/// # w.validate()?;
/// # Ok::<(), xrocket::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateWithdrawal {
    network: Network,
    address: String,
    currency: String,
    #[serde(with = "number")]
    amount: Decimal,
    withdrawal_id: KeySlot,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

impl CreateWithdrawal {
    /// `amount` of `currency` to `address` on `network`. Its `withdrawalId` is a UUID
    /// generated on first read and kept by this value and its clones, unless you give one.
    pub fn new(
        network: Network,
        address: impl Into<String>,
        currency: impl Into<String>,
        amount: Decimal,
    ) -> Self {
        CreateWithdrawal {
            network,
            address: address.into(),
            currency: currency.into(),
            amount,
            withdrawal_id: new_caller_id(),
            comment: None,
        }
    }

    /// Your id instead of the generated one: 1 to 50 of `A-Z a-z 0-9 - _`.
    pub fn withdrawal_id(mut self, id: impl Into<String>) -> Self {
        self.withdrawal_id = KeySlot::given(id);
        self
    }

    /// A memo (≤ 50 characters).
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Checks the value as it will be checked before sending.
    pub fn validate(&self) -> Result<()> {
        check_required("network", self.network.as_str(), 20)?;
        check_required("address", &self.address, 500)?;
        check_required("currency", &self.currency, 50)?;
        check_amount("amount", self.amount)?;
        check_caller_id("withdrawalId", self.withdrawal_id.get(), 50)?;
        if let Some(c) = &self.comment {
            check_len("comment", c, 50)?;
        }
        Ok(())
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let key = self
            .withdrawal_id
            .to_key()
            .map_err(|e| Error::invalid_input(PROVIDER, "withdrawalId", e.to_string()))?;
        Ok(with_json(req.path("/app/withdrawal"), self)?.idempotency_key(key))
    }
}

impl Keyed for CreateWithdrawal {
    const KEY_NAME: &'static str = "withdrawalId";
    fn key(&self) -> &str {
        self.withdrawal_id.get()
    }
}

impl Reconcile for CreateWithdrawal {
    fn lookup<C: ApiClient>(&self, client: &C) -> impl Future<Output = Result<Option<Withdrawal>>> + Send {
        let get = GetWithdrawalStatus::new(self.withdrawal_id.get());
        async move { client.send(&get).await.map(Some) }
    }

    fn matches(&self, w: &Withdrawal) -> std::result::Result<(), &'static str> {
        if w.withdrawal_id != self.withdrawal_id.get() {
            return Err("withdrawalId");
        }
        if w.network != self.network {
            return Err("network");
        }
        if w.currency != self.currency {
            return Err("currency");
        }
        if w.amount != self.amount {
            return Err("amount");
        }
        if w.address != self.address {
            return Err("address");
        }
        Ok(())
    }

    /// A 400 whose message says the id is already used (xRocket does not document the text:
    /// any message naming `withdrawalId` with "already", "exist" or "duplicate"): look it up.
    fn already_exists(err: &Error) -> bool {
        if err.provider_name() != PROVIDER || err.status() != Some(400) {
            return false;
        }
        let m = err.message().to_ascii_lowercase();
        m.contains("withdrawalid")
            && (m.contains("already") || m.contains("exist") || m.contains("duplicate"))
    }
}

/// `GET /app/withdrawal/status/{withdrawalId}`: a withdrawal by **your** id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetWithdrawalStatus {
    withdrawal_id: String,
}

impl GetWithdrawalStatus {
    /// The withdrawal you created with this `withdrawalId`.
    pub fn new(withdrawal_id: impl Into<String>) -> Self {
        GetWithdrawalStatus {
            withdrawal_id: withdrawal_id.into(),
        }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_required("withdrawalId", &self.withdrawal_id, 50)?;
        Ok(req.path(format!("/app/withdrawal/status/{}", segment(&self.withdrawal_id))))
    }
}

/// `GET /app/withdrawal/fees?currency=`: minimums and fees per coin and network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetWithdrawalFees {
    currency: Option<String>,
}

impl GetWithdrawalFees {
    /// Every coin.
    pub fn new() -> Self {
        Self::default()
    }
    /// One coin only.
    pub fn currency(mut self, currency: impl Into<String>) -> Self {
        self.currency = Some(currency.into());
        self
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req.query_opt("currency", self.currency.as_deref()))
    }
}

/// The fees of one coin (`code` here is the currency code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WithdrawalCoin {
    /// The currency code (`TONCOIN`).
    pub code: String,
    /// The minimum withdrawal.
    #[serde(with = "number")]
    pub min_withdraw: Decimal,
    /// One fee per network.
    #[serde(default)]
    pub fees: Vec<NetworkFee>,
}

/// A fee on one network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct NetworkFee {
    /// The network.
    pub network_code: Network,
    /// The fee.
    pub fee_withdraw: super::currencies::Fee,
}

/// `GET /withdrawal-link`: a Telegram deeplink in which the **user** confirms a withdrawal
/// (it does not spend your app's balance). Public: the token is sent only when the client has
/// one; never call it from a frontend with your token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetWithdrawalLink {
    currency: String,
    network: Network,
    address: String,
    amount: Option<String>,
    comment: Option<String>,
    platform: Option<String>,
}

impl GetWithdrawalLink {
    /// A link for `currency` to `address` on `network`.
    pub fn new(currency: impl Into<String>, network: Network, address: impl Into<String>) -> Self {
        GetWithdrawalLink {
            currency: currency.into(),
            network,
            address: address.into(),
            amount: None,
            comment: None,
            platform: None,
        }
    }
    /// A preset amount (sent as its decimal text, `1.23`).
    pub fn amount(mut self, amount: Decimal) -> Self {
        self.amount = Some(amount.normalize().to_string());
        self
    }
    /// A memo (≤ 50 characters).
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }
    /// Your platform id, only if xRocket issued you one.
    pub fn platform(mut self, platform: impl Into<String>) -> Self {
        self.platform = Some(platform.into());
        self
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_required("currency", &self.currency, 50)?;
        check_required("address", &self.address, 500)?;
        if let Some(c) = &self.comment {
            check_len("comment", c, 50)?;
        }
        Ok(req
            .query("currency", &self.currency)
            .query("network", self.network.as_str())
            .query("address", &self.address)
            .query_opt("amount", self.amount.as_deref())
            .query_opt("comment", self.comment.as_deref())
            .query_opt("platform", self.platform.as_deref()))
    }
}

/// The deeplink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WithdrawalLink {
    /// `https://t.me/...`: open it in Telegram.
    pub telegram_app_link: String,
}

/// Withdrawals (`client.withdrawals()`).
#[derive(Debug, Clone, Copy)]
pub struct Withdrawals<'a> {
    pub(crate) client: &'a Client,
}

impl Withdrawals<'_> {
    /// Sends the withdrawal once and settles an unknown outcome by `withdrawalId` (see the
    /// module docs).
    pub async fn create(&self, req: &CreateWithdrawal) -> Result<Withdrawal> {
        send_reconciled(self.client, req, self.client.reconcile_policy()).await
    }

    /// The withdrawal with this `withdrawalId` (yours).
    pub async fn get(&self, withdrawal_id: impl Into<String>) -> Result<Withdrawal> {
        self.client.send(&GetWithdrawalStatus::new(withdrawal_id)).await
    }

    /// Polls [`Withdrawals::get`] until `COMPLETED` or `FAIL` (xRocket's SDK polls every 5 s).
    /// At the deadline: [`crate::ErrorKind::Timeout`] with the last state.
    pub async fn wait_until_final(
        &self,
        withdrawal_id: impl Into<String>,
        opts: &PollOptions,
    ) -> Result<Withdrawal> {
        let id: String = withdrawal_id.into();
        payout_core::poll::wait_until(
            PROVIDER,
            opts,
            || self.get(id.clone()),
            |w: &Withdrawal| {
                if w.is_final() {
                    payout_core::Poll::Final
                } else {
                    payout_core::Poll::Pending
                }
            },
        )
        .await
    }

    /// Minimums and fees, for every coin or one.
    pub async fn fees(&self, query: &GetWithdrawalFees) -> Result<Vec<WithdrawalCoin>> {
        self.client.send(query).await
    }

    /// A withdrawal deeplink for a user to confirm in Telegram.
    pub async fn link(&self, req: &GetWithdrawalLink) -> Result<WithdrawalLink> {
        self.client.send(req).await
    }
}

/// The answer of `GET /app/withdrawal/fees`.
pub type WithdrawalCoins = Vec<WithdrawalCoin>;
