//! Withdrawals from your app's balance to external blockchain addresses (irreversible),
//! withdrawal links a user confirms in Telegram, and the quotas and fees per asset and
//! network.

use std::borrow::Cow;
use std::future::Future;

use futures_core::Stream;
use payout_core::reconcile::send_reconciled;
use payout_core::{
    ApiClient, Decimal, Error, KeySlot, Keyed, Page, PollOptions, Reconcile, Request, Result, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::client::{Client, PROVIDER};
use crate::common::{
    Asset, Callback, Lookup, Network, check_amount, check_client_id, check_limit, check_required, date_range,
    judge, key_of, lookup_from_id, max_decimals, opt_string_or_number, stream_pages, with_json,
};

payout_core::id! {
    /// xRocket's id of a withdrawal. A JSON number is accepted too.
    pub struct WithdrawalId(String);
}
lookup_from_id!(WithdrawalId);

/// One page of withdrawals.
pub type WithdrawalPage = Page<Withdrawal, String>;

payout_core::open_enum! {
    /// The state of a withdrawal (xRocket writes these in upper case).
    pub enum WithdrawalStatus {
        /// Accepted, not yet on chain.
        Created => "CREATED",
        /// Sent; see [`Withdrawal::tx_hash`].
        Completed => "COMPLETED",
        /// Failed; the funds stay on your balance.
        Fail => "FAIL",
    }
}

impl WithdrawalStatus {
    /// True for `COMPLETED` and `FAIL`.
    pub fn is_final(&self) -> bool {
        matches!(self, WithdrawalStatus::Completed | WithdrawalStatus::Fail)
    }
}

/// A withdrawal as xRocket reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Withdrawal {
    /// xRocket's id.
    pub withdrawal_id: WithdrawalId,
    /// Your client id (filled in by the crate after a create if the response leaves it out).
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub client_withdrawal_id: Option<String>,
    /// The network.
    pub network: Network,
    /// The destination address.
    #[serde(default)]
    pub address: String,
    /// The asset.
    pub asset: Asset,
    /// The amount.
    #[serde(with = "payout_core::money::decimal")]
    pub amount: Decimal,
    /// The state.
    pub status: WithdrawalStatus,
    /// The memo / comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// The transaction hash, once sent.
    #[serde(default)]
    pub tx_hash: Option<String>,
    /// A block-explorer link, once sent.
    #[serde(default)]
    pub tx_link: Option<String>,
    /// The per-withdrawal webhook, if set.
    #[serde(default)]
    pub callback: Option<Callback>,
}

/// `POST /api/v1/withdrawals`: send `amount` of `asset` to `address` on `network`.
///
/// ```
/// use xrocket::{Asset, CreateWithdrawal, Decimal, Network};
/// let w = CreateWithdrawal::new(Network::Ton, "UQBvI0aFLnw2QbZgjMPCLRdtRHxhUyinQudg6sdiohIwg5jL", Asset::Toncoin, Decimal::new(25, 1))
///     .client_withdrawal_id("wd-2026-0001")
///     .comment("invoice 77");
/// w.validate()?;
/// # Ok::<(), xrocket::Error>(())
/// ```
///
/// It serializes exactly as the wire body (with its client id), and deserializes back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateWithdrawal {
    network: Network,
    address: String,
    asset: Asset,
    #[serde(with = "payout_core::money::decimal")]
    amount: Decimal,
    client_withdrawal_id: KeySlot,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback: Option<Callback>,
    #[serde(default, skip)]
    places: Option<u32>,
}

fn check_address(address: &str) -> Result<()> {
    check_required("address", address, 200)?;
    if address.chars().any(char::is_whitespace) {
        return Err(Error::invalid_input(
            PROVIDER,
            "address",
            "must not contain whitespace",
        ));
    }
    Ok(())
}

impl CreateWithdrawal {
    /// A withdrawal. Its client withdrawal id is a UUID generated on first read and kept by this
    /// value and its clones, unless you give one.
    pub fn new(
        network: impl Into<Network>,
        address: impl Into<String>,
        asset: impl Into<Asset>,
        amount: Decimal,
    ) -> Self {
        CreateWithdrawal {
            network: network.into(),
            address: address.into(),
            asset: asset.into(),
            amount,
            client_withdrawal_id: KeySlot::generated(),
            comment: None,
            callback: None,
            places: None,
        }
    }
    /// Your id for this withdrawal (1 to 100 printable ASCII characters, unique), replacing
    /// the generated one; an id that breaks the rule is refused as
    /// [`payout_core::ErrorKind::InvalidInput`] before anything is sent.
    pub fn client_withdrawal_id(mut self, id: impl Into<String>) -> Self {
        self.client_withdrawal_id = KeySlot::given(id);
        self
    }
    /// A memo / comment (required by some exchanges' deposit addresses).
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }
    /// A webhook for this withdrawal only.
    pub fn callback(mut self, callback: Callback) -> Self {
        self.callback = Some(callback);
        self
    }
    /// Checks the request with the crate's default precisions.
    pub fn validate(&self) -> Result<()> {
        self.check(&|code| self.places.unwrap_or_else(|| max_decimals(code)))
    }

    pub(crate) fn in_context(&self, c: &Client) -> Cow<'_, Self> {
        let places = Some(c.precision(self.asset.as_str()));
        // Borrowed when the precision the value would use on its own is the client's: no copy
        // of the request per call.
        if self.places.unwrap_or_else(|| max_decimals(self.asset.as_str()))
            == c.precision(self.asset.as_str())
        {
            return Cow::Borrowed(self);
        }
        let mut v = self.clone();
        v.places = places;
        Cow::Owned(v)
    }

    /// Validates the value and builds `POST /api/v1/withdrawals`, keyed by its client id.
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let key = key_of("clientWithdrawalId", self.client_withdrawal_id.get())?;
        Ok(with_json(req, self)?.idempotency_key(key))
    }

    pub(crate) fn check(&self, precision: &dyn Fn(&str) -> u32) -> Result<()> {
        check_required("network", self.network.as_str(), 20)?;
        check_address(&self.address)?;
        check_required("asset", self.asset.as_str(), 50)?;
        check_amount("amount", self.amount, precision(self.asset.as_str()))?;
        check_client_id("clientWithdrawalId", self.client_withdrawal_id.get(), 100)?;
        if let Some(c) = &self.callback {
            c.check("callback")?;
        }
        Ok(())
    }
}

impl Keyed for CreateWithdrawal {
    const KEY_NAME: &'static str = "clientWithdrawalId";
    fn key(&self) -> &str {
        self.client_withdrawal_id.get()
    }
}

impl Reconcile for CreateWithdrawal {
    fn lookup<C: ApiClient>(&self, client: &C) -> impl Future<Output = Result<Option<Withdrawal>>> + Send {
        let get = GetWithdrawal::new(Lookup::client_id(self.client_withdrawal_id.get()));
        async move { client.send(&get).await.map(Some) }
    }

    /// Whether a withdrawal fetched by this request's client id is this very withdrawal. The
    /// address is not compared: xRocket may report it in another valid form (TON addresses
    /// have bounceable and non-bounceable spellings).
    fn matches(&self, w: &Withdrawal) -> std::result::Result<(), &'static str> {
        if w.asset != self.asset {
            return Err("asset");
        }
        if w.amount != self.amount {
            return Err("amount");
        }
        if w.network != self.network {
            return Err("network");
        }
        Ok(())
    }

    fn already_exists(err: &Error) -> bool {
        crate::transfers::client_id_already_taken(err)
    }
}

/// `GET /api/v1/withdrawal?withdrawalId=..|clientWithdrawalId=..`: one withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetWithdrawal {
    lookup: Lookup,
}

impl GetWithdrawal {
    /// The withdrawal with this id (a [`WithdrawalId`]) or client id ([`Lookup::client_id`]).
    pub fn new(lookup: impl Into<Lookup>) -> Self {
        GetWithdrawal {
            lookup: lookup.into(),
        }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        let (name, value) = self.lookup.query("withdrawalId", "clientWithdrawalId")?;
        Ok(req.query(name, value))
    }
}

/// `GET /api/v1/withdrawal-quotas?network=..&asset=..`: minimum, fee and precision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetWithdrawalQuotas {
    network: Network,
    asset: Asset,
}

impl GetWithdrawalQuotas {
    /// The quotas of `asset` on `network`.
    pub fn new(network: impl Into<Network>, asset: impl Into<Asset>) -> Self {
        GetWithdrawalQuotas {
            network: network.into(),
            asset: asset.into(),
        }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_required("network", self.network.as_str(), 20)?;
        check_required("asset", self.asset.as_str(), 50)?;
        Ok(req.query("network", &self.network).query("asset", &self.asset))
    }
}

/// `POST /api/v1/withdrawal-link`: a link that lets a user withdraw to `address` after
/// confirming in Telegram. Nothing moves until the user confirms.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalLinkRequest {
    network: Network,
    address: String,
    asset: Asset,
    #[serde(with = "payout_core::money::decimal")]
    amount: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<String>,
    #[serde(skip)]
    places: Option<u32>,
}

impl WithdrawalLinkRequest {
    /// A link for `amount` of `asset` to `address` on `network`.
    pub fn new(
        network: impl Into<Network>,
        address: impl Into<String>,
        asset: impl Into<Asset>,
        amount: Decimal,
    ) -> Self {
        WithdrawalLinkRequest {
            network: network.into(),
            address: address.into(),
            asset: asset.into(),
            amount,
            comment: None,
            platform: None,
            places: None,
        }
    }
    /// A memo / comment.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }
    /// Your platform code, only if xRocket gave you one.
    pub fn platform(mut self, platform: impl Into<String>) -> Self {
        self.platform = Some(platform.into());
        self
    }
    /// Checks the request with the crate's default precisions.
    pub fn validate(&self) -> Result<()> {
        self.check(&|code| max_decimals(code))
    }
    pub(crate) fn check(&self, precision: &dyn Fn(&str) -> u32) -> Result<()> {
        check_required("network", self.network.as_str(), 20)?;
        check_address(&self.address)?;
        check_required("asset", self.asset.as_str(), 50)?;
        check_amount("amount", self.amount, precision(self.asset.as_str()))
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.check(&|code| self.places.unwrap_or_else(|| max_decimals(code)))?;
        with_json(req, self)
    }
}

/// The links of a withdrawal link (the mini-app and web links are announced as "soon").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WithdrawalLink {
    /// The Telegram bot link to give the user. Required: a response without it is a decode
    /// error, never an empty link.
    pub telegram_bot_link: String,
    /// A Telegram mini-app link.
    #[serde(default)]
    pub telegram_mini_app_link: Option<String>,
    /// A web link.
    #[serde(default)]
    pub web_link: Option<String>,
}

/// The minimum and fee for withdrawing an asset on a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WithdrawalQuotas {
    /// The smallest amount you can withdraw. The field is required (it may be `null`): a
    /// response without it is a decode error, never a quota of `None`s.
    #[serde(with = "payout_core::money::option_decimal")]
    pub withdraw_min_size: Option<Decimal>,
    /// The fee per withdrawal (required like `withdraw_min_size`).
    #[serde(with = "payout_core::money::option_decimal")]
    pub withdraw_fee: Option<Decimal>,
    /// The asset the fee is charged in.
    #[serde(default)]
    pub withdraw_fee_asset: Option<Asset>,
    /// Decimal places amounts may have (feed it to
    /// [`crate::ClientBuilder::asset_precision`]).
    #[serde(default)]
    pub precision: Option<u32>,
}

/// Filters for `GET /api/v1/withdrawals`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListWithdrawals {
    from_date: Option<Timestamp>,
    to_date: Option<Timestamp>,
    status: Option<WithdrawalStatus>,
    cursor: Option<String>,
    limit: Option<u32>,
}

impl ListWithdrawals {
    /// No filter.
    pub fn new() -> Self {
        Self::default()
    }
    /// Withdrawals created at or after this date-time (`fromDate`): a [`Timestamp`], a
    /// [`std::time::SystemTime`], or RFC 3339 text with an offset (`"2026-01-01T00:00:00Z"`),
    /// sent as written. Text that is not such a date-time is refused as
    /// [`crate::ErrorKind::InvalidInput`] (field `fromDate`) before anything is sent.
    pub fn from_date(mut self, date: impl Into<Timestamp>) -> Self {
        self.from_date = Some(date.into());
        self
    }
    /// Withdrawals created at or before this date-time (`toDate`), taken like
    /// [`Self::from_date`]; a `toDate` earlier than `fromDate` is refused (field `fromDate`).
    pub fn to_date(mut self, date: impl Into<Timestamp>) -> Self {
        self.to_date = Some(date.into());
        self
    }
    /// Only withdrawals in this state.
    pub fn status(mut self, status: WithdrawalStatus) -> Self {
        self.status = Some(status);
        self
    }
    /// Continue from a cursor returned as [`Page::next`].
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }
    /// Page size, 1 to 1000.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_limit(self.limit)?;
        let (from, to) = date_range(self.from_date.as_ref(), self.to_date.as_ref())?;
        Ok(req
            .query_opt("fromDate", from)
            .query_opt("toDate", to)
            .query_opt("status", self.status.as_ref())
            .query_opt("cursor", self.cursor.as_deref())
            .query_opt("limit", self.limit))
    }
}

/// The withdrawal handler: `client.withdrawals()`.
#[derive(Debug, Clone, Copy)]
pub struct Withdrawals<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> Withdrawals<'a> {
    /// Withdraws to an external address. **Irreversible.**
    ///
    /// Safe to retry: the client withdrawal id is sent on every attempt, and a repeat
    /// answered `client_id_already_taken` (or an unknown outcome) returns the existing
    /// withdrawal when it matches the request.
    pub async fn create(&self, req: &CreateWithdrawal) -> Result<Withdrawal> {
        let c = self.client;
        let req = req.in_context(c);
        let mut w = send_reconciled(c, req.as_ref(), c.reconcile_policy()).await?;
        w.client_withdrawal_id
            .get_or_insert_with(|| req.client_withdrawal_id.get().to_owned());
        Ok(w)
    }

    /// `GET /api/v1/withdrawal?withdrawalId=..`: one withdrawal.
    pub async fn get(&self, id: impl Into<WithdrawalId>) -> Result<Withdrawal> {
        self.client.send(&GetWithdrawal::new(id.into())).await
    }

    /// `GET /api/v1/withdrawal?clientWithdrawalId=..`: one withdrawal by your client id.
    pub async fn by_client_id(&self, client_id: impl Into<String>) -> Result<Withdrawal> {
        self.client
            .send(&GetWithdrawal::new(Lookup::client_id(client_id)))
            .await
    }

    /// Polls the withdrawal until it is `COMPLETED` or `FAIL`. At the deadline:
    /// [`payout_core::ErrorKind::Timeout`] carrying the last withdrawal seen
    /// (`err.last_state::<Withdrawal>()`), never `Ok` with a `CREATED` one.
    pub async fn wait_until_final(
        &self,
        id: impl Into<WithdrawalId>,
        opts: &PollOptions,
    ) -> Result<Withdrawal> {
        let id = id.into();
        payout_core::poll::wait_until(
            PROVIDER,
            opts,
            || self.get(&id),
            |w: &Withdrawal| judge(w.status.is_final()),
        )
        .await
    }

    /// `GET /api/v1/withdrawals`: one page of withdrawals.
    pub async fn list(&self, filter: &ListWithdrawals) -> Result<Page<Withdrawal, String>> {
        self.client.send(filter).await
    }

    /// Every withdrawal matching `filter`, page after page (from the filter's cursor, if set).
    pub fn stream(&self, filter: ListWithdrawals) -> impl Stream<Item = Result<Withdrawal>> + Send + 'a {
        let this = *self;
        stream_pages(filter.cursor.clone(), move |cursor| {
            let mut f = filter.clone();
            f.cursor = cursor;
            async move { this.list(&f).await }
        })
    }

    /// At most `max` withdrawals matching `filter`.
    pub async fn collect_all(&self, filter: ListWithdrawals, max: usize) -> Result<Vec<Withdrawal>> {
        payout_core::collect_all(self.stream(filter), max).await
    }

    /// `GET /api/v1/withdrawal-quotas?network=..&asset=..`: minimum, fee and precision.
    pub async fn quotas(
        &self,
        network: impl Into<Network>,
        asset: impl Into<Asset>,
    ) -> Result<WithdrawalQuotas> {
        self.client.send(&GetWithdrawalQuotas::new(network, asset)).await
    }

    /// `POST /api/v1/withdrawal-link`: a link the user follows to confirm a withdrawal. No
    /// funds move until the user confirms, so the call is retried like a read.
    pub async fn link(&self, req: &WithdrawalLinkRequest) -> Result<WithdrawalLink> {
        let c = self.client;
        let places = Some(c.precision(req.asset.as_str()));
        if req.places == places {
            return c.send(req).await;
        }
        let mut v = req.clone();
        v.places = places;
        c.send(&v).await
    }
}
