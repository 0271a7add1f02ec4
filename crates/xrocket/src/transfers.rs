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

use futures_core::Stream;
use payout_core::{Decimal, Error, ErrorKind, IdempotencyKey, Page, Request, Result, Safety};
use serde::{Deserialize, Serialize};

use crate::client::{Client, TransferNaming};
use crate::common::{
    Asset, Callback, Lookup, TargetType, check_amount, check_client_id, check_limit, check_required,
    id_newtype, key_of, opt_string_or_number, rename_key, stream_pages, to_value,
};
use crate::error::{Problem, ProblemCode};
use crate::reconcile::{create_reconciling, outcome_unknown};

id_newtype! {
    /// xRocket's id of a transfer (`transferId`, or `payoutId` in the payout naming).
    TransferId
}

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
/// assert_eq!(t.client_id(), "payout-1001");
/// t.validate()?;
/// # Ok::<(), xrocket::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTransfer {
    target: String,
    target_type: TargetType,
    asset: Asset,
    amount: Decimal,
    client_transfer_id: String,
    description: Option<String>,
    callback: Option<Callback>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransferBody<'a> {
    target: &'a str,
    target_type: &'a TargetType,
    asset: &'a Asset,
    #[serde(with = "payout_core::money::decimal")]
    amount: Decimal,
    client_transfer_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback: Option<&'a Callback>,
}

impl CreateTransfer {
    /// A transfer to `target` (identified as `target_type`). A client transfer id is
    /// generated now; replace it with [`CreateTransfer::client_transfer_id`].
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
            client_transfer_id: IdempotencyKey::generate().into_string(),
            description: None,
            callback: None,
        }
    }

    /// A transfer to a Telegram user id (the recipient must have started @xRocket once).
    pub fn to_telegram_user(user_id: i64, asset: impl Into<Asset>, amount: Decimal) -> Self {
        CreateTransfer::new(user_id.to_string(), TargetType::TelegramUserId, asset, amount)
    }

    /// Your id for this transfer (1 to 100 printable ASCII characters); xRocket refuses a
    /// second transfer with the same id, which is what makes retries safe.
    pub fn client_transfer_id(mut self, id: impl Into<String>) -> Self {
        self.client_transfer_id = id.into();
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

    /// The client transfer id that will be sent (generated or yours). Persist it.
    pub fn client_id(&self) -> &str {
        &self.client_transfer_id
    }

    /// Checks the request with the crate's default precisions (see
    /// [`crate::common::max_decimals`]); the client also applies its overrides.
    pub fn validate(&self) -> Result<()> {
        self.check(&|code| crate::common::max_decimals(code))
    }

    pub(crate) fn check(&self, precision: &dyn Fn(&str) -> u32) -> Result<()> {
        check_target(&self.target, &self.target_type)?;
        check_amount("amount", self.amount, precision(self.asset.as_str()))?;
        check_required("asset", self.asset.as_str(), 50)?;
        check_client_id("clientTransferId", &self.client_transfer_id, 100)?;
        if let Some(c) = &self.callback {
            c.check("callback")?;
        }
        Ok(())
    }

    fn body(&self, naming: TransferNaming) -> Result<serde_json::Value> {
        let mut v = to_value(&TransferBody {
            target: &self.target,
            target_type: &self.target_type,
            asset: &self.asset,
            amount: self.amount,
            client_transfer_id: &self.client_transfer_id,
            description: self.description.as_deref(),
            callback: self.callback.as_ref(),
        })?;
        if naming == TransferNaming::Payouts {
            rename_key(&mut v, "clientTransferId", "clientPayoutId");
        }
        Ok(v)
    }

    /// Whether a transfer fetched by this request's client id is this very transfer.
    /// Whether a transfer fetched by this request's client id is this very transfer. The
    /// recipient is compared only when reported in the same form (xRocket may normalise a
    /// username), and case-insensitively.
    fn matches(&self, t: &Transfer) -> bool {
        let same_target = match (&t.target, &t.target_type) {
            (Some(target), Some(tt)) if *tt == self.target_type => target.eq_ignore_ascii_case(&self.target),
            _ => true,
        };
        t.asset == self.asset && t.amount == self.amount && same_target
    }
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
    from_date: Option<String>,
    to_date: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

impl ListTransfers {
    /// No filter: every transfer, newest pages first as xRocket orders them.
    pub fn new() -> Self {
        Self::default()
    }
    /// Transfers created at or after this ISO 8601 date-time (`2026-01-31T00:00:00Z`).
    pub fn from_date(mut self, date: impl Into<String>) -> Self {
        self.from_date = Some(date.into());
        self
    }
    /// Transfers created at or before this ISO 8601 date-time.
    pub fn to_date(mut self, date: impl Into<String>) -> Self {
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
}

/// One recipient of a [`MassTransfer`].
#[derive(Debug, Clone, PartialEq)]
pub struct MassTransferItem {
    target: String,
    amount: Decimal,
    client_transfer_id: String,
    description: Option<String>,
    callback: Option<Callback>,
}

impl MassTransferItem {
    /// `amount` to a Telegram user id. A client transfer id is generated now.
    pub fn new(telegram_user_id: i64, amount: Decimal) -> Self {
        MassTransferItem {
            target: telegram_user_id.to_string(),
            amount,
            client_transfer_id: IdempotencyKey::generate().into_string(),
            description: None,
            callback: None,
        }
    }
    /// Your id for this item (1 to 100 printable ASCII characters).
    pub fn client_transfer_id(mut self, id: impl Into<String>) -> Self {
        self.client_transfer_id = id.into();
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
        &self.client_transfer_id
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
#[derive(Debug, Clone, PartialEq)]
pub struct MassTransfer {
    asset: Asset,
    items: Vec<MassTransferItem>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MassItemBody<'a> {
    target: &'a str,
    target_type: TargetType,
    #[serde(with = "payout_core::money::decimal")]
    amount: Decimal,
    client_transfer_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback: Option<&'a Callback>,
}

impl MassTransfer {
    /// An empty batch of `asset`.
    pub fn new(asset: impl Into<Asset>) -> Self {
        MassTransfer {
            asset: asset.into(),
            items: Vec::new(),
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

    /// Checks the batch with the crate's default precisions.
    pub fn validate(&self) -> Result<()> {
        self.check(&|code| crate::common::max_decimals(code))
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
            check_client_id("clientTransferId", &item.client_transfer_id, 100)?;
            if !seen.insert(item.client_transfer_id.as_str()) {
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
        let same_target = match (&t.target, &t.target_type) {
            (Some(target), None | Some(TargetType::TelegramUserId)) => *target == item.target,
            _ => true,
        };
        t.asset == self.asset && t.amount == item.amount && same_target
    }

    fn body(&self, naming: TransferNaming) -> Result<serde_json::Value> {
        let (list_key, id_key) = match naming {
            TransferNaming::Transfers => ("transfers", "clientTransferId"),
            TransferNaming::Payouts => ("payouts", "clientPayoutId"),
        };
        let mut items = Vec::with_capacity(self.items.len());
        for i in &self.items {
            let mut v = to_value(&MassItemBody {
                target: &i.target,
                target_type: TargetType::TelegramUserId,
                amount: i.amount,
                client_transfer_id: &i.client_transfer_id,
                description: i.description.as_deref(),
                callback: i.callback.as_ref(),
            })?;
            rename_key(&mut v, "clientTransferId", id_key);
            items.push(v);
        }
        let mut body = serde_json::Map::new();
        body.insert("asset".into(), serde_json::Value::String(self.asset.to_string()));
        body.insert(list_key.into(), serde_json::Value::Array(items));
        Ok(serde_json::Value::Object(body))
    }
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
/// was taken by this very transfer) are fetched and listed in `successes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct MassTransferResult {
    /// Transfers made.
    #[serde(default, rename = "successTransfers", alias = "successPayouts")]
    pub successes: Vec<Transfer>,
    /// Items not paid by this call, with reasons. Nothing was sent for them, with one
    /// exception: an item whose reason says its client id is taken
    /// ([`ProblemCode::is_client_id_taken`]) that the crate could not fetch back (or that
    /// belongs to another transfer) may have been paid by an earlier attempt: look it up by
    /// its client id before re-sending it, and never re-send it under a new client id.
    #[serde(default, rename = "errorTransfers", alias = "errorPayouts")]
    pub failures: Vec<MassTransferFailure>,
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
    /// Safe to retry: the request carries its client transfer id; the transport repeats it
    /// after a timeout, dropped connection or 5xx, and when xRocket answers that the id is
    /// already taken, the crate fetches that transfer and returns it. An error therefore
    /// never hides a second payment; [`payout_core::Error::idempotency_key`] holds the client
    /// transfer id to look the transfer up with.
    pub async fn create(&self, req: &CreateTransfer) -> Result<Transfer> {
        let c = self.client;
        req.check(&|code| c.precision(code))?;
        let key = key_of("clientTransferId", &req.client_transfer_id)?;
        let p = paths(c.naming());
        let request = c
            .with_body(
                Request::post("transfers.create", p.create),
                &req.body(c.naming())?,
            )?
            .idempotency_key(key)
            .safety(Safety::KeyProtected);
        let lookup = Lookup::ClientId(req.client_transfer_id.clone());
        let mut t =
            create_reconciling(c, request, "transfer", || self.get(lookup), |t| req.matches(t)).await?;
        t.client_transfer_id
            .get_or_insert_with(|| req.client_transfer_id.clone());
        Ok(t)
    }

    /// `GET /api/v1/transfer?transferId=..|clientTransferId=..`: one transfer.
    pub async fn get(&self, lookup: impl Into<Lookup>) -> Result<Transfer> {
        let p = paths(self.client.naming());
        let lookup = lookup.into();
        let (name, value) = lookup.query(p.id, p.client_id)?;
        self.client
            .fetch(Request::get("transfers.get", p.one).query(name, value))
            .await
    }

    /// `GET /api/v1/transfers`: one page of transfers.
    pub async fn list(&self, filter: &ListTransfers) -> Result<Page<Transfer, String>> {
        check_limit(filter.limit)?;
        let p = paths(self.client.naming());
        let req = Request::get("transfers.list", p.create)
            .query_opt("fromDate", filter.from_date.as_deref())
            .query_opt("toDate", filter.to_date.as_deref())
            .query_opt("cursor", filter.cursor.as_deref())
            .query_opt("limit", filter.limit);
        Ok(self
            .client
            .fetch::<crate::common::ListResponse<Transfer>>(req)
            .await?
            .into_page())
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
    pub async fn mass(&self, req: &MassTransfer) -> Result<MassTransferResult> {
        let c = self.client;
        req.check(&|code| c.precision(code))?;
        // The transport needs one key to allow repeats; every item carries its own id, and
        // the first one names the batch in errors.
        let first = req
            .items
            .first()
            .map(|i| i.client_transfer_id.as_str())
            .unwrap_or("");
        let key = key_of("clientTransferId", first)?;
        let p = paths(c.naming());
        let request = c
            .with_body(Request::post("transfers.mass", p.mass), &req.body(c.naming())?)?
            .idempotency_key(key)
            .safety(Safety::KeyProtected);
        let mut result: MassTransferResult = match c.transport.send(request).await {
            Ok(resp) => resp.json()?,
            Err(e) if ProblemCode::of(&e).is_some_and(|code| code.is_client_id_taken()) => {
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
        let mut still_failed = Vec::with_capacity(result.failures.len());
        for f in std::mem::take(&mut result.failures) {
            let reconciled = match (&f.client_transfer_id, f.reason.code().is_client_id_taken()) {
                (Some(id), true) => match self.get(Lookup::ClientId(id.clone())).await {
                    Ok(t)
                        if req
                            .items
                            .iter()
                            .any(|i| &i.client_transfer_id == id && req.item_matches(i, &t)) =>
                    {
                        Some(t)
                    }
                    _ => None,
                },
                _ => None,
            };
            match reconciled {
                Some(t) => result.successes.push(t),
                None => still_failed.push(f),
            }
        }
        result.failures = still_failed;
        Ok(result)
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
            match self.get(Lookup::ClientId(item.client_transfer_id.clone())).await {
                Ok(t) if req.item_matches(item, &t) => out.successes.push(t),
                Err(e) if e.kind() == ErrorKind::NotFound => out.failures.push(MassTransferFailure {
                    target: Some(item.target.clone()),
                    target_type: Some(TargetType::TelegramUserId),
                    amount: Some(item.amount),
                    client_transfer_id: Some(item.client_transfer_id.clone()),
                    description: item.description.clone(),
                    reason: reason.clone(),
                }),
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
