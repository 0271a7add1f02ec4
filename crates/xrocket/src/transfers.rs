//! Transfers: instant, irreversible payments from your app's balance to xRocket users, one
//! at a time or up to 500 at once (Telegram users only).
//!
//! Every transfer carries a client transfer id that xRocket deduplicates on. The crate fills
//! it with a fresh UUID when you set none, so the value you build is one logical payment:
//! sending the same [`CreateTransfer`] twice (a retry after a timeout, a restart of your job)
//! pays once. Store [`CreateTransfer::client_transfer_id`] beside your own payment record
//! before calling [`Transfers::create`].
//!
//! **Naming.** The docs call this resource "transfers" (`GET /api/v1/transfer` is the only
//! path they show), public integrations call it "payouts" (`/api/v1/payouts`). See
//! [`crate::TransferNaming`].

use std::borrow::Cow;
use std::future::Future;

use futures_core::Stream;
use payout_core::reconcile::{outcome_unknown, send_reconciled};
use payout_core::{
    ApiClient, Decimal, Error, ErrorKind, KeySlot, Keyed, Page, PollOptions, Reconcile, Request, Response,
    Result, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::client::{Client, TransferNaming};
use crate::common::{
    Asset, Callback, Lookup, TargetType, check_amount, check_client_id, check_limit, check_required,
    date_range, judge, key_of, lookup_from_id, max_decimals, opt_string_or_number, stream_pages, with_json,
};
use crate::error::{ErrorCode, Problem};

payout_core::id! {
    /// xRocket's id of a transfer (`transferId`, or `payoutId` in the payout naming). A JSON
    /// number is accepted too (ids were numbers in xRocket's legacy API).
    pub struct TransferId(String);
}
lookup_from_id!(TransferId);

/// One page of transfers.
pub type TransferPage = Page<Transfer, String>;

payout_core::open_enum! {
    /// Where a transfer stands. xRocket has not published the full list; treat unknown values
    /// as still in progress.
    pub enum TransferStatus {
        /// Accepted, not yet settled.
        Pending => "pending",
        /// Delivered to the recipient.
        Finished => "finished",
        /// Not delivered; the funds stay on your balance.
        Failed => "failed",
    }
}

impl TransferStatus {
    /// True for `finished` and `failed`.
    pub fn is_final(&self) -> bool {
        matches!(self, TransferStatus::Finished | TransferStatus::Failed)
    }
}

/// A transfer as xRocket reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Transfer {
    /// xRocket's id.
    #[serde(alias = "payoutId")]
    pub transfer_id: TransferId,
    /// Your client id (filled in by the crate if the response leaves it out).
    #[serde(default, alias = "clientPayoutId", deserialize_with = "opt_string_or_number")]
    pub client_transfer_id: Option<String>,
    /// The recipient (a Telegram user id, as a string).
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub target: Option<String>,
    /// How `target` identifies the recipient.
    #[serde(default)]
    pub target_type: Option<TargetType>,
    /// The asset sent.
    pub asset: Asset,
    /// The amount sent.
    #[serde(with = "payout_core::money::decimal")]
    pub amount: Decimal,
    /// Your note to the recipient.
    #[serde(default)]
    pub description: Option<String>,
    /// The status, when xRocket reports one.
    #[serde(default)]
    pub status: Option<TransferStatus>,
    /// The per-transfer webhook, if one was set.
    #[serde(default)]
    pub callback: Option<Callback>,
}

/// `POST /api/v1/transfers`: send `amount` of `asset` to one xRocket user.
///
/// ```
/// use xrocket::{Asset, CreateTransfer, Decimal};
/// let t = CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, Decimal::new(123, 2))
///     .client_transfer_id("payout-1001")
///     .description("You are awesome!");
/// use payout_core::Keyed;
/// assert_eq!(t.key(), "payout-1001");
/// t.validate()?;
/// # Ok::<(), xrocket::Error>(())
/// ```
///
/// Serializes (for a journal) with its client id, so a stored value re-sent later is the
/// same logical payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTransfer {
    target: String,
    target_type: TargetType,
    asset: Asset,
    #[serde(with = "payout_core::money::decimal")]
    amount: Decimal,
    client_transfer_id: KeySlot,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    callback: Option<Callback>,
    #[serde(default, skip)]
    naming: TransferNaming,
    #[serde(default, skip)]
    places: Option<u32>,
}

/// The wire body of a transfer, in either naming.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransferBody<'a> {
    target: &'a str,
    target_type: &'a TargetType,
    asset: &'a Asset,
    #[serde(with = "payout_core::money::decimal")]
    amount: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_transfer_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_payout_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback: Option<&'a Callback>,
}

/// `(clientTransferId, clientPayoutId)`: the client id under the naming's field name.
fn client_id_fields(naming: TransferNaming, id: &str) -> (Option<&str>, Option<&str>) {
    match naming {
        TransferNaming::Payouts => (None, Some(id)),
        _ => (Some(id), None),
    }
}

impl CreateTransfer {
    /// A transfer to `target` (identified as `target_type`). Its client transfer id is a UUID
    /// generated on first read and kept by this value and its clones
    /// ([`payout_core::KeySlot`]); [`CreateTransfer::client_transfer_id`] gives yours instead,
    /// and then nothing is generated.
    pub fn new(
        target: impl Into<String>,
        target_type: TargetType,
        asset: impl Into<Asset>,
        amount: Decimal,
    ) -> Self {
        CreateTransfer {
            target: target.into(),
            target_type,
            asset: asset.into(),
            amount,
            client_transfer_id: KeySlot::generated(),
            description: None,
            callback: None,
            naming: TransferNaming::default(),
            places: None,
        }
    }

    /// A transfer to a Telegram user id (the recipient must have started @xRocket once).
    pub fn to_telegram_user(user_id: i64, asset: impl Into<Asset>, amount: Decimal) -> Self {
        CreateTransfer::new(user_id.to_string(), TargetType::TelegramUserId, asset, amount)
    }

    /// Your id for this transfer (1 to 100 printable ASCII characters); xRocket refuses a
    /// second transfer with the same id, which is what makes retries safe. It replaces the
    /// generated one; an id that breaks the rule is refused as
    /// [`payout_core::ErrorKind::InvalidInput`] before anything is sent.
    pub fn client_transfer_id(mut self, id: impl Into<String>) -> Self {
        self.client_transfer_id = KeySlot::given(id);
        self
    }

    /// A note shown to the recipient.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// A webhook for this transfer only.
    pub fn callback(mut self, callback: Callback) -> Self {
        self.callback = Some(callback);
        self
    }

    /// The paths and field names to send (see [`TransferNaming`]). The handler
    /// (`client.transfers()`) sets the client's; set it yourself for `client.send(&req)`.
    pub fn naming(mut self, naming: TransferNaming) -> Self {
        self.naming = naming;
        self
    }

    /// Checks the request with the crate's default precisions (see
    /// [`crate::common::max_decimals`]); the client also applies its overrides.
    pub fn validate(&self) -> Result<()> {
        self.check(&|code| self.places.unwrap_or_else(|| max_decimals(code)))
    }

    pub(crate) fn check(&self, precision: &dyn Fn(&str) -> u32) -> Result<()> {
        check_target(&self.target, &self.target_type)?;
        check_amount("amount", self.amount, precision(self.asset.as_str()))?;
        check_required("asset", self.asset.as_str(), 50)?;
        check_client_id(self.key_field(), self.client_transfer_id.get(), 100)?;
        if let Some(c) = &self.callback {
            c.check("callback")?;
        }
        Ok(())
    }

    fn key_field(&self) -> &'static str {
        paths(self.naming).client_id
    }

    /// This value as the client sends it: its naming and the precision it allows for the
    /// asset.
    pub(crate) fn in_context(&self, c: &Client) -> Cow<'_, Self> {
        let places = Some(c.precision(self.asset.as_str()));
        // Borrowed when the precision the value would use on its own is the client's: no copy
        // of the request per call.
        if self.naming == c.naming()
            && self.places.unwrap_or_else(|| max_decimals(self.asset.as_str()))
                == c.precision(self.asset.as_str())
        {
            return Cow::Borrowed(self);
        }
        let mut v = self.clone();
        v.naming = c.naming();
        v.places = places;
        Cow::Owned(v)
    }

    /// Validates the value and builds `POST /api/v1/transfers` (or `/api/v1/payouts`) with
    /// the client id as the key every retry carries.
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let id = self.client_transfer_id.get();
        let key = key_of(self.key_field(), id)?;
        let (client_transfer_id, client_payout_id) = client_id_fields(self.naming, id);
        let body = TransferBody {
            target: &self.target,
            target_type: &self.target_type,
            asset: &self.asset,
            amount: self.amount,
            client_transfer_id,
            client_payout_id,
            description: self.description.as_deref(),
            callback: self.callback.as_ref(),
        };
        Ok(with_json(req.path(paths(self.naming).create), &body)?.idempotency_key(key))
    }
}

impl Keyed for CreateTransfer {
    const KEY_NAME: &'static str = "clientTransferId";
    fn key(&self) -> &str {
        self.client_transfer_id.get()
    }
}

impl Reconcile for CreateTransfer {
    fn lookup<C: ApiClient>(&self, client: &C) -> impl Future<Output = Result<Option<Transfer>>> + Send {
        let get = GetTransfer::new(Lookup::client_id(self.client_transfer_id.get())).naming(self.naming);
        async move { client.send(&get).await.map(Some) }
    }

    /// Whether a transfer fetched by this request's client id is this very transfer. The
    /// recipient is compared only when reported in the same form (xRocket may normalise a
    /// username), and case-insensitively.
    fn matches(&self, t: &Transfer) -> std::result::Result<(), &'static str> {
        if t.asset != self.asset {
            return Err("asset");
        }
        if t.amount != self.amount {
            return Err("amount");
        }
        match (&t.target, &t.target_type) {
            (Some(target), Some(tt))
                if *tt == self.target_type && !target.eq_ignore_ascii_case(&self.target) =>
            {
                Err("target")
            }
            _ => Ok(()),
        }
    }

    fn already_exists(err: &Error) -> bool {
        client_id_already_taken(err)
    }
}

/// xRocket's "this client id is already used" answer, in any of its spellings.
pub(crate) fn client_id_already_taken(err: &Error) -> bool {
    ErrorCode::of(err).is_some_and(|c| c.is_client_id_taken())
}

fn check_target(target: &str, target_type: &TargetType) -> Result<()> {
    check_required("target", target, 100)?;
    match target_type {
        TargetType::TelegramUserId if !target.bytes().all(|b| b.is_ascii_digit()) => {
            Err(payout_core::Error::invalid_input(
                crate::client::PROVIDER,
                "target",
                "must be a numeric Telegram user id",
            ))
        }
        TargetType::TelegramUsername if target.starts_with('@') => Err(payout_core::Error::invalid_input(
            crate::client::PROVIDER,
            "target",
            "must be a Telegram username without the leading @",
        )),
        _ => Ok(()),
    }
}

/// Filters for `GET /api/v1/transfers`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTransfers {
    from_date: Option<Timestamp>,
    to_date: Option<Timestamp>,
    cursor: Option<String>,
    limit: Option<u32>,
    naming: TransferNaming,
}

impl ListTransfers {
    /// No filter: every transfer, newest pages first as xRocket orders them.
    pub fn new() -> Self {
        Self::default()
    }
    /// Transfers created at or after this date-time (`fromDate`): a [`Timestamp`], a
    /// [`std::time::SystemTime`], or RFC 3339 text with an offset (`"2026-01-31T00:00:00Z"`),
    /// sent as written. Text that is not such a date-time is refused as
    /// [`crate::ErrorKind::InvalidInput`] (field `fromDate`) before anything is sent.
    pub fn from_date(mut self, date: impl Into<Timestamp>) -> Self {
        self.from_date = Some(date.into());
        self
    }
    /// Transfers created at or before this date-time (`toDate`), taken like
    /// [`Self::from_date`]; a `toDate` earlier than `fromDate` is refused (field `fromDate`).
    pub fn to_date(mut self, date: impl Into<Timestamp>) -> Self {
        self.to_date = Some(date.into());
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
    /// The path to call (see [`TransferNaming`]); the handler sets the client's.
    pub fn naming(mut self, naming: TransferNaming) -> Self {
        self.naming = naming;
        self
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_limit(self.limit)?;
        let (from, to) = date_range(self.from_date.as_ref(), self.to_date.as_ref())?;
        Ok(req
            .path(paths(self.naming).create)
            .query_opt("fromDate", from)
            .query_opt("toDate", to)
            .query_opt("cursor", self.cursor.as_deref())
            .query_opt("limit", self.limit))
    }
}

/// `GET /api/v1/transfer?transferId=..|clientTransferId=..`: one transfer.
///
/// ```
/// use xrocket::{GetTransfer, Lookup};
/// let by_mine = GetTransfer::new(Lookup::client_id("payout-1001"));
/// # let _ = by_mine;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetTransfer {
    lookup: Lookup,
    naming: TransferNaming,
}

impl GetTransfer {
    /// The transfer with this id (a [`TransferId`]) or client id ([`Lookup::client_id`]).
    pub fn new(lookup: impl Into<Lookup>) -> Self {
        GetTransfer {
            lookup: lookup.into(),
            naming: TransferNaming::default(),
        }
    }
    /// The path and parameter names to send (see [`TransferNaming`]).
    pub fn naming(mut self, naming: TransferNaming) -> Self {
        self.naming = naming;
        self
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        let p = paths(self.naming);
        let (name, value) = self.lookup.query(p.id, p.client_id)?;
        Ok(req.path(p.one).query(name, value))
    }
}

/// One recipient of a [`MassTransfer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MassTransferItem {
    target: String,
    #[serde(with = "payout_core::money::decimal")]
    amount: Decimal,
    client_transfer_id: KeySlot,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    callback: Option<Callback>,
}

impl MassTransferItem {
    /// `amount` to a Telegram user id. Its client transfer id is a UUID generated on first
    /// read and kept by this value and its clones, unless you give one.
    pub fn new(telegram_user_id: i64, amount: Decimal) -> Self {
        MassTransferItem {
            target: telegram_user_id.to_string(),
            amount,
            client_transfer_id: KeySlot::generated(),
            description: None,
            callback: None,
        }
    }
    /// Your id for this item (1 to 100 printable ASCII characters).
    pub fn client_transfer_id(mut self, id: impl Into<String>) -> Self {
        self.client_transfer_id = KeySlot::given(id);
        self
    }
    /// A note shown to the recipient.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
    /// A webhook for this transfer only.
    pub fn callback(mut self, callback: Callback) -> Self {
        self.callback = Some(callback);
        self
    }
    /// The client transfer id that will be sent. Persist it.
    pub fn client_id(&self) -> &str {
        self.client_transfer_id.get()
    }
}

/// `POST /api/v1/mass-transfers`: one asset to 1 to 500 Telegram users.
///
/// ```
/// use xrocket::{Asset, Decimal, MassTransfer, MassTransferItem};
/// let batch = MassTransfer::new(Asset::Usdt)
///     .item(MassTransferItem::new(87209764, Decimal::new(5, 0)).client_transfer_id("bonus-1"))
///     .item(MassTransferItem::new(11111111, Decimal::new(250, 2)));
/// batch.validate()?;
/// assert_eq!(batch.items().len(), 2);
/// # Ok::<(), xrocket::Error>(())
/// ```
///
/// Every item carries its own client id from construction (a fresh UUID unless you set one);
/// [`Keyed::key`] is the first item's, which names the batch in errors and journals.
///
/// **Reconciled item by item** ([`Reconcile`]): an unknown outcome, or an answer in which
/// every item not paid now is refused as `client_id_already_taken` (an earlier attempt of the
/// same batch paid it), is settled by looking **every** item up by its client id; the batch
/// is known only when every item is found. So `payout_core::reconcile::send_reconciled` and
/// `payout-journal` (`journal.pay(&client, "payroll-2026-12", &batch)`, then
/// `journal.recover::<_, MassTransfer>(&client)` after a crash) work with it as with a single
/// transfer: re-sending the same value pays only the items xRocket does not have yet.
///
/// Serializes (for a journal) with the asset and every item's client id; nothing secret is
/// in it. The naming and the client's precision override are not serialized: a journal
/// re-sends with the default naming (`/api/v1/mass-transfers`) and precisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MassTransfer {
    asset: Asset,
    items: Vec<MassTransferItem>,
    #[serde(default, skip)]
    naming: TransferNaming,
    #[serde(default, skip)]
    places: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MassItemBody<'a> {
    target: &'a str,
    target_type: TargetType,
    #[serde(with = "payout_core::money::decimal")]
    amount: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_transfer_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_payout_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback: Option<&'a Callback>,
}

/// The wire body of a mass transfer: the list is `transfers` or `payouts` by naming.
#[derive(Serialize)]
struct MassBody<'a> {
    asset: &'a Asset,
    #[serde(skip_serializing_if = "Option::is_none")]
    transfers: Option<Vec<MassItemBody<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payouts: Option<Vec<MassItemBody<'a>>>,
}

impl MassTransfer {
    /// An empty batch of `asset`.
    pub fn new(asset: impl Into<Asset>) -> Self {
        MassTransfer {
            asset: asset.into(),
            items: Vec::new(),
            naming: TransferNaming::default(),
            places: None,
        }
    }
    /// Adds a recipient.
    pub fn item(mut self, item: MassTransferItem) -> Self {
        self.items.push(item);
        self
    }
    /// Adds several recipients.
    pub fn items_from(mut self, items: impl IntoIterator<Item = MassTransferItem>) -> Self {
        self.items.extend(items);
        self
    }
    /// The recipients, with their client ids.
    pub fn items(&self) -> &[MassTransferItem] {
        &self.items
    }

    /// The paths and field names to send (see [`TransferNaming`]); the handler sets the
    /// client's.
    pub fn naming(mut self, naming: TransferNaming) -> Self {
        self.naming = naming;
        self
    }

    /// Checks the batch with the crate's default precisions.
    pub fn validate(&self) -> Result<()> {
        self.check(&|code| self.places.unwrap_or_else(|| max_decimals(code)))
    }

    pub(crate) fn in_context(&self, c: &Client) -> Cow<'_, Self> {
        let places = Some(c.precision(self.asset.as_str()));
        // Borrowed when the precision the value would use on its own is the client's: no copy
        // of the request per call.
        if self.naming == c.naming()
            && self.places.unwrap_or_else(|| max_decimals(self.asset.as_str()))
                == c.precision(self.asset.as_str())
        {
            return Cow::Borrowed(self);
        }
        let mut v = self.clone();
        v.naming = c.naming();
        v.places = places;
        Cow::Owned(v)
    }

    /// Validates the batch and builds `POST /api/v1/mass-transfers` (or
    /// `/api/v1/mass-payouts`). The transport needs one key to allow repeats; every item
    /// carries its own id, and the first one names the batch.
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let key = key_of(paths(self.naming).client_id, self.key())?;
        let items: Vec<MassItemBody<'_>> = self
            .items
            .iter()
            .map(|i| {
                let (client_transfer_id, client_payout_id) =
                    client_id_fields(self.naming, i.client_transfer_id.get());
                MassItemBody {
                    target: &i.target,
                    target_type: TargetType::TelegramUserId,
                    amount: i.amount,
                    client_transfer_id,
                    client_payout_id,
                    description: i.description.as_deref(),
                    callback: i.callback.as_ref(),
                }
            })
            .collect();
        let body = match self.naming {
            TransferNaming::Payouts => MassBody {
                asset: &self.asset,
                transfers: None,
                payouts: Some(items),
            },
            _ => MassBody {
                asset: &self.asset,
                transfers: Some(items),
                payouts: None,
            },
        };
        Ok(with_json(req.path(paths(self.naming).mass), &body)?.idempotency_key(key))
    }

    pub(crate) fn check(&self, precision: &dyn Fn(&str) -> u32) -> Result<()> {
        use payout_core::Error;
        let p = crate::client::PROVIDER;
        if self.items.is_empty() || self.items.len() > 500 {
            return Err(Error::invalid_input(
                p,
                "transfers",
                "must have between 1 and 500 items",
            ));
        }
        check_required("asset", self.asset.as_str(), 50)?;
        let places = precision(self.asset.as_str());
        let mut seen = std::collections::HashSet::new();
        for item in &self.items {
            check_target(&item.target, &TargetType::TelegramUserId)?;
            check_amount("amount", item.amount, places)?;
            check_client_id("clientTransferId", item.client_transfer_id.get(), 100)?;
            if !seen.insert(item.client_transfer_id.get()) {
                return Err(Error::invalid_input(
                    p,
                    "clientTransferId",
                    "must be unique within the batch",
                ));
            }
            if let Some(c) = &item.callback {
                c.check("callback")?;
            }
        }
        Ok(())
    }

    /// Whether a transfer fetched by an item's client id is that item: same asset, amount and
    /// recipient (compared when xRocket reports it as a Telegram user id, the form sent).
    fn item_matches(&self, item: &MassTransferItem, t: &Transfer) -> bool {
        self.item_differs(item, t).is_none()
    }

    /// The first field in which a transfer fetched by an item's client id differs from the
    /// item, if any.
    fn item_differs(&self, item: &MassTransferItem, t: &Transfer) -> Option<&'static str> {
        if t.asset != self.asset {
            return Some("asset");
        }
        if t.amount != item.amount {
            return Some("amount");
        }
        match (&t.target, &t.target_type) {
            (Some(target), None | Some(TargetType::TelegramUserId)) if *target != item.target => {
                Some("target")
            }
            _ => None,
        }
    }

    /// Files a transfer found under `item`'s client id: a success when it is that item, else
    /// a failure (the id belongs to another transfer, so this batch did not pay the item).
    fn file_found(&self, item: &MassTransferItem, mut t: Transfer, out: &mut MassTransferResult) {
        if self.item_matches(item, &t) {
            t.client_transfer_id
                .get_or_insert_with(|| item.client_transfer_id.get().to_owned());
            out.successes.push(t);
        } else {
            let detail = format!(
                "xRocket holds transfer {} under this client id and its asset, amount or recipient differ from this item: this batch did not pay it; pay it under a new client id if it is still owed",
                t.transfer_id
            );
            out.failures.push(item.failure(Problem {
                type_: Some("/api/problems/client_id_already_taken".to_string()),
                title: Some("Client id taken by another transfer".to_string()),
                status: None,
                detail: Some(detail),
                instance: None,
                kind: None,
                info: None,
            }));
        }
    }
}

impl MassTransferItem {
    /// This item as a failure with `reason`.
    fn failure(&self, reason: Problem) -> MassTransferFailure {
        MassTransferFailure {
            target: Some(self.target.clone()),
            target_type: Some(TargetType::TelegramUserId),
            amount: Some(self.amount),
            client_transfer_id: Some(self.client_transfer_id.get().to_owned()),
            description: self.description.clone(),
            reason,
        }
    }
}

impl Keyed for MassTransfer {
    const KEY_NAME: &'static str = "clientTransferId";
    /// The first item's client id (empty for an empty batch, which is refused before sending).
    /// Every other item carries its own, serialized with the batch.
    fn key(&self) -> &str {
        self.items
            .first()
            .map(|i| i.client_transfer_id.get())
            .unwrap_or("")
    }
}

impl Reconcile for MassTransfer {
    /// Looks every item up by its client id (`GET /api/v1/transfer?clientTransferId=..`), in
    /// order. `Some` only when every item exists: each is a success when the transfer is the
    /// item (asset, amount, recipient), or a failure when its client id belongs to another
    /// transfer. `None` as soon as one item is absent (xRocket has not paid it: the batch is
    /// not settled, and re-sending it with the same client ids pays only the missing items).
    /// Any other lookup error is returned (the outcome stays unknown).
    async fn lookup<C: ApiClient>(&self, client: &C) -> Result<Option<MassTransferResult>> {
        let mut out = MassTransferResult::default();
        for item in &self.items {
            let get = GetTransfer::new(Lookup::client_id(item.client_transfer_id.get())).naming(self.naming);
            match client.send(&get).await {
                Ok(t) => self.file_found(item, t, &mut out),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Ok(Some(out))
    }

    /// Whether a result accounts for this batch: every success is one of its items (same
    /// client id, asset, amount and recipient), and every item is a success or a failure.
    fn matches(&self, found: &MassTransferResult) -> std::result::Result<(), &'static str> {
        let items: std::collections::HashMap<&str, &MassTransferItem> = self
            .items
            .iter()
            .map(|i| (i.client_transfer_id.get(), i))
            .collect();
        let mut seen = std::collections::HashSet::new();
        for t in &found.successes {
            let id = t.client_transfer_id.as_deref().ok_or("clientTransferId")?;
            let item = items.get(id).ok_or("clientTransferId")?;
            if let Some(field) = self.item_differs(item, t) {
                return Err(field);
            }
            seen.insert(id);
        }
        seen.extend(
            found
                .failures
                .iter()
                .filter_map(|f| f.client_transfer_id.as_deref()),
        );
        if items.keys().all(|id| seen.contains(id)) {
            Ok(())
        } else {
            Err("transfers")
        }
    }

    /// Items of a successful answer refused as `client_id_already_taken` were paid by an
    /// earlier attempt of this batch: each is looked up by its client id and, when the
    /// transfer is that item, moved to the successes. An item whose lookup fails or finds
    /// another transfer stays a failure, with the reason xRocket gave.
    async fn complete<C: ApiClient>(
        &self,
        client: &C,
        output: MassTransferResult,
    ) -> Result<MassTransferResult> {
        let mut result = output;
        let mut still_failed = Vec::with_capacity(result.failures.len());
        for f in std::mem::take(&mut result.failures) {
            let found = match (&f.client_transfer_id, f.reason.code().is_client_id_taken()) {
                (Some(id), true) => {
                    let get = GetTransfer::new(Lookup::client_id(id.clone())).naming(self.naming);
                    match client.send(&get).await {
                        Ok(t)
                            if self
                                .items
                                .iter()
                                .any(|i| i.client_transfer_id.get() == *id && self.item_matches(i, &t)) =>
                        {
                            Some(t)
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            match found {
                Some(t) => result.successes.push(t),
                None => still_failed.push(f),
            }
        }
        result.failures = still_failed;
        Ok(result)
    }

    /// xRocket's `client_id_already_taken` for the whole batch, or the crate's own error of
    /// that code for an answer (status 200) whose every unpaid item was refused as taken:
    /// look every item up.
    fn already_exists(err: &Error) -> bool {
        client_id_already_taken(err)
    }
}

/// Decodes a mass transfer answer. An answer in which at least one item was refused as
/// `client_id_already_taken` (or `payout_client_id_duplicate`) and no item was refused for
/// any other reason is a re-send of a batch that was already (partly) paid: it becomes a
/// [`ErrorKind::Provider`] error with code `client_id_already_taken`, status 200, marked
/// "may have succeeded", carrying the decoded answer (`err.last_state::<MassTransferResult>()`),
/// so that `payout_core::reconcile` looks every item up and returns them all as successes
/// instead of reporting paid items as failures. [`Transfers::mass`] reconciles it too.
///
/// An answer that also refuses items for other reasons (an unknown recipient) is returned
/// as it is: those items exist nowhere, so a lookup could not settle the batch; the items
/// refused as taken stay in `failures` with that reason (look them up by client id).
pub(crate) fn decode_mass(resp: &Response) -> Result<MassTransferResult> {
    let out: MassTransferResult = resp.json()?;
    let taken = out
        .failures
        .iter()
        .filter(|f| f.reason.code().is_client_id_taken())
        .count();
    if taken == 0 || taken < out.failures.len() {
        return Ok(out);
    }
    let message = format!(
        "{taken} item(s) of the batch were refused as client_id_already_taken (an earlier attempt paid them) and {} paid now: look every item up by its client id (the handler and send_reconciled do), never re-send them under new client ids",
        out.successes.len()
    );
    Err(Error::provider(
        crate::client::PROVIDER,
        Some("client_id_already_taken".to_string()),
        message,
    )
    .with_status(resp.status())
    .with_sent(true)
    .with_attempts(resp.attempts())
    .with_request_id(resp.request_id().map(str::to_string))
    .with_idempotency_key(resp.idempotency_key().cloned())
    .with_retryable(false)
    .with_may_have_succeeded(true)
    .with_last_state(out))
}

/// The problem code of a [`MassTransferFailure`] the crate reports itself: xRocket refused a
/// whole re-sent batch as a duplicate, and this item was unknown to xRocket, so it was not
/// sent. Re-send it (same client id) in a new batch.
pub const BATCH_REFUSED: &str = "batch_refused";

/// A batch item that was not sent, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MassTransferFailure {
    /// The recipient.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub target: Option<String>,
    /// How the recipient was identified.
    #[serde(default)]
    pub target_type: Option<TargetType>,
    /// The amount that was not sent.
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub amount: Option<Decimal>,
    /// Your client id for the item.
    #[serde(default, alias = "clientPayoutId", deserialize_with = "opt_string_or_number")]
    pub client_transfer_id: Option<String>,
    /// The note.
    #[serde(default)]
    pub description: Option<String>,
    /// Why it failed ([`Problem::code`] to branch on).
    #[serde(default)]
    pub reason: Problem,
}

/// What a mass transfer did, item by item. Items a retry found already done (their client id
/// was taken by this very transfer) are fetched and listed in `successes` (by
/// [`Transfers::mass`], and by the lookup of [`MassTransfer`]'s [`Reconcile`] impl).
///
/// A response with neither list (`successTransfers` / `errorTransfers`, or the payout
/// naming's `successPayouts` / `errorPayouts`) is a decode error that keeps the status, never
/// an empty result: "nothing paid, nothing failed" read from a body we did not understand
/// could make a caller pay again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(try_from = "RawMassTransferResult")]
#[non_exhaustive]
pub struct MassTransferResult {
    /// Transfers made.
    #[serde(default, rename = "successTransfers", alias = "successPayouts")]
    pub successes: Vec<Transfer>,
    /// Items not paid by this call, with reasons. Nothing was sent for them, with one
    /// exception: an item whose reason says its client id is taken
    /// ([`ErrorCode::is_client_id_taken`]) that the crate could not fetch back (or that
    /// belongs to another transfer) may have been paid by an earlier attempt: look it up by
    /// its client id before re-sending it, and never re-send it under a new client id.
    #[serde(default, rename = "errorTransfers", alias = "errorPayouts")]
    pub failures: Vec<MassTransferFailure>,
}

#[derive(Deserialize)]
struct RawMassTransferResult {
    #[serde(default, rename = "successTransfers", alias = "successPayouts")]
    successes: Option<Vec<Transfer>>,
    #[serde(default, rename = "errorTransfers", alias = "errorPayouts")]
    failures: Option<Vec<MassTransferFailure>>,
}

impl TryFrom<RawMassTransferResult> for MassTransferResult {
    type Error = String;
    fn try_from(raw: RawMassTransferResult) -> std::result::Result<Self, String> {
        if raw.successes.is_none() && raw.failures.is_none() {
            return Err(
                "a mass transfer response needs successTransfers or errorTransfers (successPayouts or errorPayouts)"
                    .to_string(),
            );
        }
        Ok(MassTransferResult {
            successes: raw.successes.unwrap_or_default(),
            failures: raw.failures.unwrap_or_default(),
        })
    }
}

/// The transfer handler: `client.transfers()`.
#[derive(Debug, Clone, Copy)]
pub struct Transfers<'a> {
    pub(crate) client: &'a Client,
}

struct Paths {
    create: &'static str,
    one: &'static str,
    mass: &'static str,
    id: &'static str,
    client_id: &'static str,
}

fn paths(naming: TransferNaming) -> Paths {
    match naming {
        TransferNaming::Transfers => Paths {
            create: "/api/v1/transfers",
            one: "/api/v1/transfer",
            mass: "/api/v1/mass-transfers",
            id: "transferId",
            client_id: "clientTransferId",
        },
        TransferNaming::Payouts => Paths {
            create: "/api/v1/payouts",
            one: "/api/v1/payout",
            mass: "/api/v1/mass-payouts",
            id: "payoutId",
            client_id: "clientPayoutId",
        },
    }
}

impl<'a> Transfers<'a> {
    /// Transfers funds to an xRocket user. **Irreversible.**
    ///
    /// Safe to retry: the request carries its client transfer id from construction; the
    /// transport repeats it after a timeout, dropped connection or 5xx, and when xRocket
    /// answers that the id is already taken, or the outcome is unknown, the crate fetches
    /// the transfer by that id and returns it if it matches (asset, amount, recipient)
    /// ([`payout_core::reconcile::send_reconciled`]). An error therefore never hides a second
    /// payment; [`payout_core::Error::idempotency_key`] holds the client transfer id to look
    /// the transfer up with.
    pub async fn create(&self, req: &CreateTransfer) -> Result<Transfer> {
        let c = self.client;
        let req = req.in_context(c);
        let mut t = send_reconciled(c, req.as_ref(), c.reconcile_policy()).await?;
        t.client_transfer_id
            .get_or_insert_with(|| req.client_transfer_id.get().to_owned());
        Ok(t)
    }

    /// `GET /api/v1/transfer?transferId=..`: one transfer by xRocket's id.
    pub async fn get(&self, id: impl Into<TransferId>) -> Result<Transfer> {
        self.lookup(Lookup::from(id.into())).await
    }

    /// `GET /api/v1/transfer?clientTransferId=..`: one transfer by your client id.
    pub async fn by_client_id(&self, client_id: impl Into<String>) -> Result<Transfer> {
        self.lookup(Lookup::client_id(client_id)).await
    }

    async fn lookup(&self, lookup: Lookup) -> Result<Transfer> {
        self.client
            .send(&GetTransfer::new(lookup).naming(self.client.naming()))
            .await
    }

    /// Polls the transfer until its status is final (`finished` or `failed`; a transfer
    /// reported without a status is returned as it is, since xRocket documents transfers as
    /// instant). At the deadline: [`ErrorKind::Timeout`] carrying the last transfer seen
    /// (`err.last_state::<Transfer>()`), never `Ok` with a pending transfer.
    pub async fn wait_until_final(&self, id: impl Into<TransferId>, opts: &PollOptions) -> Result<Transfer> {
        let id = id.into();
        payout_core::poll::wait_until(
            crate::client::PROVIDER,
            opts,
            || self.get(&id),
            |t: &Transfer| judge(t.status.as_ref().is_none_or(TransferStatus::is_final)),
        )
        .await
    }

    /// `GET /api/v1/transfers`: one page of transfers.
    pub async fn list(&self, filter: &ListTransfers) -> Result<Page<Transfer, String>> {
        let mut f = Cow::Borrowed(filter);
        if filter.naming != self.client.naming() {
            f.to_mut().naming = self.client.naming();
        }
        self.client.send(f.as_ref()).await
    }

    /// Every transfer matching `filter`, page after page (from the filter's cursor, if set).
    pub fn stream(&self, filter: ListTransfers) -> impl Stream<Item = Result<Transfer>> + Send + 'a {
        let this = *self;
        stream_pages(filter.cursor.clone(), move |cursor| {
            let mut f = filter.clone();
            f.cursor = cursor;
            async move { this.list(&f).await }
        })
    }

    /// At most `max` transfers matching `filter`.
    pub async fn collect_all(&self, filter: ListTransfers, max: usize) -> Result<Vec<Transfer>> {
        payout_core::collect_all(self.stream(filter), max).await
    }

    /// Transfers one asset to up to 500 Telegram users. **Irreversible.**
    ///
    /// Items succeed or fail one by one: check [`MassTransferResult::failures`]. Every item
    /// carries its own client id, so re-sending the same [`MassTransfer`] after an error
    /// never pays an item twice: items already done come back as `client_id_already_taken`
    /// and are fetched and reported in `successes`. When every attempt timed out, broke or
    /// got a 5xx, the error is [`ErrorKind::Ambiguous`]: any item may have been paid, so
    /// re-send the same value (or look the items up), never new client ids.
    ///
    /// To survive a crash of your process as well, pay the batch through `payout-journal`
    /// (`journal.pay(&client, business_id, &batch)`): [`MassTransfer`] implements
    /// [`Reconcile`], so the journal settles an interrupted batch by looking every item up,
    /// and re-sends it (same client ids) only when some item is missing.
    pub async fn mass(&self, req: &MassTransfer) -> Result<MassTransferResult> {
        let c = self.client;
        let req = req.in_context(c);
        let req = req.as_ref();
        let sent = c
            .send(req)
            .await
            .or_else(|e| match e.last_state::<MassTransferResult>() {
                // Every unpaid item was refused as taken (`decode_mass`): the answer itself,
                // whose taken items are fetched below.
                Some(answer) => Ok(answer.clone()),
                None => Err(e),
            });
        let result: MassTransferResult = match sent {
            Ok(r) => r,
            Err(e) if client_id_already_taken(&e) => {
                return self.reconcile_batch(req, e).await;
            }
            // Every attempt timed out, broke or got a 5xx: any item may have been paid.
            Err(e) if outcome_unknown(&e) => {
                let message = format!(
                    "{}; the batch may have been executed in whole or in part: re-send the same MassTransfer (same client ids, which xRocket deduplicates; items already paid come back as successes) or look each item up by its client id, never re-send the items under new client ids",
                    e.message()
                );
                return Err(e.with_kind(ErrorKind::Ambiguous).with_message(message));
            }
            Err(e) => return Err(e),
        };
        // Items refused as taken were paid by an earlier attempt: fetched and reported as paid.
        req.complete(c, result).await
    }

    /// The whole batch was refused because a client id is taken (an earlier attempt went
    /// through): fetch every item by its client id. Found items are successes; items xRocket
    /// does not know were not sent and are reported as `batch_refused` failures.
    async fn reconcile_batch(&self, req: &MassTransfer, err: Error) -> Result<MassTransferResult> {
        let reason = Problem {
            type_: Some(format!("/api/problems/{BATCH_REFUSED}")),
            title: Some("Not sent".to_string()),
            status: err.status(),
            detail: Some(format!(
                "the batch was refused ({}) and this item is unknown to xRocket, so it was not sent; re-send it with the same client id",
                err.message()
            )),
            instance: err.request_id().map(str::to_string),
            kind: None,
            info: None,
        };
        let mut out = MassTransferResult::default();
        for item in &req.items {
            match self.by_client_id(item.client_transfer_id.get()).await {
                Ok(t) if req.item_matches(item, &t) => out.successes.push(t),
                Err(e) if e.kind() == ErrorKind::NotFound => out.failures.push(item.failure(reason.clone())),
                _ => {
                    return Err(err.with_kind(ErrorKind::Ambiguous).with_message(
                        "the batch was refused as a duplicate and its items could not all be fetched: look each one up by its client id before re-sending",
                    ));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod hot_path_tests {
    use super::*;

    /// Hot-path rule: a create is copied only when the client changes how it is sent (its
    /// naming or an asset precision override), never on every call.
    #[test]
    fn in_context_copies_the_request_only_when_the_client_changes_it() {
        let t = CreateTransfer::to_telegram_user(1, Asset::Toncoin, Decimal::new(123, 2))
            .client_transfer_id("payout-1");
        let plain = Client::builder().api_key("k").build().unwrap();
        assert!(matches!(t.in_context(&plain), Cow::Borrowed(_)));

        let default = max_decimals("TONCOIN");
        let other = if default > 0 { default - 1 } else { 1 };
        let precise = Client::builder()
            .api_key("k")
            .asset_precision("TONCOIN", other)
            .build()
            .unwrap();
        match t.in_context(&precise) {
            Cow::Owned(v) => assert_eq!(v.places, Some(other)),
            Cow::Borrowed(_) => panic!("the client's precision was not applied"),
        }
        let payouts = Client::builder()
            .api_key("k")
            .transfer_naming(TransferNaming::Payouts)
            .build()
            .unwrap();
        match t.in_context(&payouts) {
            Cow::Owned(v) => assert_eq!(v.naming, TransferNaming::Payouts),
            Cow::Borrowed(_) => panic!("the client's naming was not applied"),
        }
    }
}

/// `MassTransfer` as a reconciled, journaled call: its lookup, match and the decoding of an
/// answer that refuses already-paid items, at the wire.
#[cfg(test)]
mod mass_reconcile_tests {
    use std::time::Duration;

    use httpmock::prelude::*;
    use payout_core::reconcile::send_reconciled;
    use payout_core::{ReconcilePolicy, RetryPolicy};
    use serde_json::json;

    use super::*;

    const KEY: &str = "mass-test-token";

    fn client(base: &str) -> Client {
        Client::builder()
            .api_key(KEY)
            .base_url(base)
            .retry_policy(
                RetryPolicy::default()
                    .base_delay(Duration::from_millis(10))
                    .max_delay(Duration::from_millis(20))
                    .jitter_seed(7),
            )
            .build()
            .unwrap()
    }

    fn batch() -> MassTransfer {
        MassTransfer::new(Asset::Usdt)
            .item(MassTransferItem::new(87209764, Decimal::new(5, 0)).client_transfer_id("pay-a"))
            .item(MassTransferItem::new(11111111, Decimal::new(250, 2)).client_transfer_id("pay-b"))
    }

    fn transfer(id: &str, client_id: &str, target: &str, amount: &str) -> serde_json::Value {
        json!({
            "transferId": id, "clientTransferId": client_id, "target": target,
            "targetType": "telegram_user_id", "asset": "USDT", "amount": amount, "status": "finished"
        })
    }

    fn taken(client_id: &str, target: &str, amount: &str) -> serde_json::Value {
        json!({
            "target": target, "targetType": "telegram_user_id", "amount": amount,
            "clientTransferId": client_id,
            "reason": {"type": "/api/problems/client_id_already_taken", "status": 400}
        })
    }

    /// `GET /api/v1/transfer?clientTransferId=<id>` answered with `status` and `body`.
    async fn by_client_id<'a>(
        server: &'a MockServer,
        id: &str,
        status: u16,
        body: serde_json::Value,
    ) -> httpmock::Mock<'a> {
        server
            .mock_async(|when, then| {
                when.method(GET)
                    .path("/api/v1/transfer")
                    .header("authorization", format!("Bearer {KEY}"))
                    .query_param("clientTransferId", id);
                then.status(status).json_body(body);
            })
            .await
    }

    fn not_found() -> serde_json::Value {
        json!({"type": "/api/problems/app_payout_not_found", "status": 404, "detail": "Transfer not found"})
    }

    #[tokio::test]
    async fn lookup_settles_a_batch_only_when_every_item_is_found() {
        let server = MockServer::start_async().await;
        let a = by_client_id(&server, "pay-a", 200, transfer("1", "pay-a", "87209764", "5")).await;
        let b = by_client_id(&server, "pay-b", 200, transfer("2", "pay-b", "11111111", "2.50")).await;
        let c = client(&server.base_url());
        let found = batch().lookup(&c).await.unwrap().expect("every item exists");
        a.assert_calls_async(1).await;
        b.assert_calls_async(1).await;
        assert_eq!(found.successes.len(), 2);
        assert!(found.failures.is_empty());
        assert_eq!(batch().matches(&found), Ok(()));

        // One item absent: not settled (None), and the lookup stops there.
        let server = MockServer::start_async().await;
        let a = by_client_id(&server, "pay-a", 404, not_found()).await;
        let b = by_client_id(&server, "pay-b", 200, transfer("2", "pay-b", "11111111", "2.5")).await;
        let found = batch().lookup(&client(&server.base_url())).await.unwrap();
        assert!(found.is_none(), "{found:?}");
        a.assert_calls_async(1).await;
        b.assert_calls_async(0).await;
    }

    #[tokio::test]
    async fn lookup_files_an_item_whose_client_id_belongs_to_another_transfer_as_a_failure() {
        let server = MockServer::start_async().await;
        by_client_id(&server, "pay-a", 200, transfer("1", "pay-a", "87209764", "5")).await;
        // Same client id, another recipient: not this item, and not paid by this batch.
        by_client_id(&server, "pay-b", 200, transfer("9", "pay-b", "55555555", "2.5")).await;
        let found = batch()
            .lookup(&client(&server.base_url()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.successes.len(), 1);
        assert_eq!(found.successes[0].transfer_id.as_str(), "1");
        assert_eq!(found.failures.len(), 1);
        let f = &found.failures[0];
        assert_eq!(f.client_transfer_id.as_deref(), Some("pay-b"));
        assert!(f.reason.code().is_client_id_taken());
        assert!(
            f.reason.message().contains("transfer 9"),
            "{}",
            f.reason.message()
        );
        assert_eq!(batch().matches(&found), Ok(()));
    }

    #[tokio::test]
    async fn a_lookup_error_other_than_not_found_is_returned() {
        let server = MockServer::start_async().await;
        by_client_id(&server, "pay-a", 200, transfer("1", "pay-a", "87209764", "5")).await;
        by_client_id(
            &server,
            "pay-b",
            401,
            json!({"type": "/api/problems/unauthorized", "status": 401}),
        )
        .await;
        let err = batch().lookup(&client(&server.base_url())).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
    }

    #[test]
    fn matches_checks_every_success_against_its_item_and_that_every_item_is_accounted_for() {
        let t = |id: &str, client_id: &str, target: &str, asset: &str, amount: &str| -> Transfer {
            serde_json::from_value(json!({
                "transferId": id, "clientTransferId": client_id, "target": target,
                "targetType": "telegram_user_id", "asset": asset, "amount": amount
            }))
            .unwrap()
        };
        let result = |successes: Vec<Transfer>| MassTransferResult {
            successes,
            failures: Vec::new(),
        };
        let b = batch();
        let a_ok = t("1", "pay-a", "87209764", "USDT", "5");
        let b_ok = t("2", "pay-b", "11111111", "USDT", "2.50");
        assert_eq!(b.matches(&result(vec![a_ok.clone(), b_ok.clone()])), Ok(()));
        assert_eq!(
            b.matches(&result(vec![
                a_ok.clone(),
                t("2", "pay-b", "11111111", "USDT", "3")
            ])),
            Err("amount")
        );
        assert_eq!(
            b.matches(&result(vec![
                a_ok.clone(),
                t("2", "pay-b", "11111111", "TONCOIN", "2.5")
            ])),
            Err("asset")
        );
        assert_eq!(
            b.matches(&result(vec![
                a_ok.clone(),
                t("2", "pay-b", "22222222", "USDT", "2.5")
            ])),
            Err("target")
        );
        assert_eq!(
            b.matches(&result(vec![
                a_ok.clone(),
                t("2", "other", "11111111", "USDT", "2.5")
            ])),
            Err("clientTransferId")
        );
        assert_eq!(
            b.matches(&result(vec![a_ok])),
            Err("transfers"),
            "pay-b is missing"
        );
    }

    /// A re-sent batch whose first item was paid by the earlier attempt: xRocket pays the
    /// second and refuses the first as taken. Through the core reconcile (what the journal
    /// uses) both come back as successes, found by their client ids; nothing is sent twice.
    #[tokio::test]
    async fn send_reconciled_turns_items_refused_as_taken_into_successes() {
        let server = MockServer::start_async().await;
        let post = server
            .mock_async(|when, then| {
                when.method(POST)
                    .path("/api/v1/mass-transfers")
                    .header("authorization", format!("Bearer {KEY}"))
                    .json_body(json!({
                        "asset": "USDT",
                        "transfers": [
                            {"target": "87209764", "targetType": "telegram_user_id", "amount": "5", "clientTransferId": "pay-a"},
                            {"target": "11111111", "targetType": "telegram_user_id", "amount": "2.50", "clientTransferId": "pay-b"}
                        ]
                    }));
                then.status(200).json_body(json!({
                    "successTransfers": [transfer("2", "pay-b", "11111111", "2.50")],
                    "errorTransfers": [taken("pay-a", "87209764", "5")]
                }));
            })
            .await;
        let a = by_client_id(&server, "pay-a", 200, transfer("1", "pay-a", "87209764", "5")).await;
        let b = by_client_id(&server, "pay-b", 200, transfer("2", "pay-b", "11111111", "2.50")).await;
        let c = client(&server.base_url());
        let out = send_reconciled(&c, &batch(), &ReconcilePolicy::once())
            .await
            .unwrap();
        post.assert_calls_async(1).await;
        a.assert_calls_async(1).await;
        b.assert_calls_async(1).await;
        assert!(out.failures.is_empty(), "{:?}", out.failures);
        let ids: Vec<&str> = out.successes.iter().map(|t| t.transfer_id.as_str()).collect();
        assert_eq!(ids, vec!["1", "2"]);

        // The raw call says so too: a provider error carrying the answer.
        let err = c.send(&batch()).await.unwrap_err();
        assert!(client_id_already_taken(&err), "{err:?}");
        assert_eq!(err.status(), Some(200));
        assert!(err.may_have_succeeded());
        let answer = err.last_state::<MassTransferResult>().unwrap();
        assert_eq!(answer.successes.len(), 1);
        assert_eq!(answer.failures.len(), 1);
    }

    /// An answer that also refuses an item for another reason is not a plain re-send: it is
    /// returned as it is (a lookup could not settle the refused item), nothing looked up.
    #[tokio::test]
    async fn an_answer_that_also_refuses_for_other_reasons_settles_the_taken_items_by_lookup() {
        // A re-sent batch: item a was paid by an earlier attempt (refused as taken now), item b
        // is refused for its own reason. `Reconcile::complete` looks a up: paid, not failed.
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(POST).path("/api/v1/mass-transfers");
                then.status(200).json_body(json!({
                    "successTransfers": [],
                    "errorTransfers": [
                        taken("pay-a", "87209764", "5"),
                        {
                            "target": "11111111", "targetType": "telegram_user_id", "amount": "2.50",
                            "clientTransferId": "pay-b",
                            "reason": {"type": "/api/problems/target_user_not_found", "status": 400}
                        }
                    ]
                }));
            })
            .await;
        let a = by_client_id(&server, "pay-a", 200, transfer("t-1", "pay-a", "87209764", "5")).await;
        let c = client(&server.base_url());
        let out = send_reconciled(&c, &batch(), &ReconcilePolicy::once())
            .await
            .unwrap();
        a.assert_calls_async(1).await;
        assert_eq!(out.successes.len(), 1, "{out:?}");
        assert_eq!(out.successes[0].client_transfer_id.as_deref(), Some("pay-a"));
        assert_eq!(out.failures.len(), 1, "{out:?}");
        assert_eq!(out.failures[0].client_transfer_id.as_deref(), Some("pay-b"));
        assert_eq!(out.failures[0].reason.code().as_str(), "target_user_not_found");
    }

    #[tokio::test]
    async fn a_taken_item_whose_lookup_fails_or_differs_stays_a_failure_with_its_reason() {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(POST).path("/api/v1/mass-transfers");
                then.status(200).json_body(json!({
                    "successTransfers": [],
                    "errorTransfers": [
                        taken("pay-a", "87209764", "5"),
                        taken("pay-b", "11111111", "2.50"),
                        {
                            "target": "33333333", "targetType": "telegram_user_id", "amount": "1",
                            "clientTransferId": "pay-c",
                            "reason": {"type": "/api/problems/target_user_not_found", "status": 400}
                        }
                    ]
                }));
            })
            .await;
        // a: the lookup fails; b: the client id belongs to another transfer (other amount).
        let a = by_client_id(&server, "pay-a", 500, json!({})).await;
        let b = by_client_id(&server, "pay-b", 200, transfer("t-9", "pay-b", "11111111", "99")).await;
        let c = client(&server.base_url());
        let req = batch().item(MassTransferItem::new(33333333, Decimal::ONE).client_transfer_id("pay-c"));
        let out = send_reconciled(&c, &req, &ReconcilePolicy::once()).await.unwrap();
        assert!(a.calls_async().await >= 1);
        b.assert_calls_async(1).await;
        assert!(out.successes.is_empty(), "{out:?}");
        let codes: Vec<_> = out
            .failures
            .iter()
            .map(|f| {
                (
                    f.client_transfer_id.clone().unwrap_or_default(),
                    f.reason.code().as_str().to_string(),
                )
            })
            .collect();
        assert_eq!(
            codes,
            [
                ("pay-a".to_string(), "client_id_already_taken".to_string()),
                ("pay-b".to_string(), "client_id_already_taken".to_string()),
                ("pay-c".to_string(), "target_user_not_found".to_string()),
            ]
        );
    }

    #[test]
    fn a_batch_round_trips_through_json_with_every_client_id() {
        let b = batch().item(MassTransferItem::new(22222222, Decimal::ONE).description("thanks"));
        let generated = b.items()[2].client_id().to_string();
        assert!(!generated.is_empty(), "an item gets a client id at construction");
        let json = serde_json::to_string(&b).unwrap();
        for id in ["pay-a", "pay-b", generated.as_str()] {
            assert!(json.contains(id), "{json}");
        }
        let back: MassTransfer = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
        assert_eq!(back.key(), "pay-a");
        assert_eq!(<MassTransfer as Keyed>::KEY_NAME, "clientTransferId");
    }
}
