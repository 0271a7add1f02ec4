//! Orders: create (protected by an `Idempotency-Key`), get, list, and wait until final.

use std::collections::BTreeMap;

use futures_core::Stream;
use payout_core::reconcile::send_reconciled;
use payout_core::{
    ApiClient, Decimal, Error, ErrorKind, IdempotencyKey, KeySlot, Keyed, Page, Poll, PollOptions, Reconcile,
    Request, Response, Result, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Product, ProductId, ProductTypeCode};
use crate::client::{Client, PROVIDER};
use crate::list::{Listing, check_paging};

/// The header the provider deduplicates order creation on.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

payout_core::id! {
    /// An order id (a UUID string).
    pub struct OrderId(String);
}

payout_core::open_enum! {
    /// An order's state. Documented: `pending`, `completed`; `failed` is implied by the
    /// order's `failed_at`. Anything else (a future `processing`, `refunded`, ...) decodes
    /// to `Unknown` and is treated as not final.
    pub enum OrderStatus {
        /// Accepted; the balance is reserved and the vendor is working on it.
        Pending => "pending",
        /// Delivered: `order_content` holds what to give the buyer.
        Completed => "completed",
        /// Not delivered.
        Failed => "failed",
    }
}

impl OrderStatus {
    /// True for `completed` and `failed`: polling can stop.
    pub fn is_final(&self) -> bool {
        matches!(self, OrderStatus::Completed | OrderStatus::Failed)
    }
}

/// What an order delivered, kept whole because it depends on the product: a voucher
/// (`{"voucher_code": "ABCD-EFGH-IJKL"}`), a vendor reference for a top-up
/// (`{"vendor_order_id": "LC-123456"}`), or fields this crate does not know.
///
/// Its `Debug` prints only the field names: a voucher code is redeemable value and must not
/// end up in logs. Persist [`OrderContent::vendor_order_id`] for reconciliation and support.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderContent(pub serde_json::Value);

impl OrderContent {
    /// The voucher / PIN of a completed `redeem_card` order.
    pub fn voucher_code(&self) -> Option<&str> {
        self.str_field("voucher_code")
    }
    /// The vendor's reference of a top-up or transfer.
    pub fn vendor_order_id(&self) -> Option<&str> {
        self.str_field("vendor_order_id")
    }
    /// Any field, as JSON.
    pub fn get(&self, field: &str) -> Option<&serde_json::Value> {
        self.0.get(field)
    }
    /// A string field (numbers are not converted).
    pub fn str_field(&self, field: &str) -> Option<&str> {
        self.0.get(field).and_then(serde_json::Value::as_str)
    }
    /// True when there is nothing (absent, `null` or `{}`).
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            serde_json::Value::Null => true,
            serde_json::Value::Object(m) => m.is_empty(),
            _ => false,
        }
    }
    /// The whole content as JSON.
    pub fn as_json(&self) -> &serde_json::Value {
        &self.0
    }
}

impl std::fmt::Debug for OrderContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            serde_json::Value::Object(m) => f
                .debug_struct("OrderContent")
                .field("fields", &m.keys().collect::<Vec<_>>())
                .finish(),
            serde_json::Value::Null => f.write_str("OrderContent(null)"),
            _ => f.write_str("OrderContent([REDACTED])"),
        }
    }
}

/// An order, as returned by create, get and list (Plexy Gate agent API documentation,
/// "Create order" and "Get order by ID").
///
/// `extra` keeps the fields this version does not model: an order is what you store and
/// hand to support, and the documentation names fields (`plexy_margin`, `agent_charge`)
/// that its examples do not show, so a field the provider adds must survive a round trip
/// through your records (and payout-journal's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The order id; persist it beside your own reference and the idempotency key.
    pub id: OrderId,
    /// The product ordered (required: the reconcile of a create compares it).
    pub product_id: ProductId,
    /// Your reference, echoed.
    #[serde(default)]
    pub external_ref: Option<String>,
    /// The `Idempotency-Key` the order was created with (echoed by the provider; filled in
    /// from the request on a create if the provider leaves it out).
    #[serde(default)]
    pub idempotency_key: Option<IdempotencyKey>,
    /// The state.
    pub status: OrderStatus,
    /// What was delivered; see [`OrderContent`].
    #[serde(default)]
    pub order_content: OrderContent,
    /// ISO 4217 currency of the amounts below.
    #[serde(default)]
    pub currency_code: Option<String>,
    /// What your balance was charged (face value plus the provider's margin).
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub charged_amount: Option<Decimal>,
    /// The balance before the charge.
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub balance_before: Option<Decimal>,
    /// The balance after the charge.
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub balance_after: Option<Decimal>,
    /// The provider's margin, when reported (ASSUMPTION: named in the docs, absent from the
    /// examples).
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub plexy_margin: Option<Decimal>,
    /// The agent charge, when reported (ASSUMPTION, as `plexy_margin`).
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub agent_charge: Option<Decimal>,
    /// True for a test order (`null` or absent reads as `false`).
    #[serde(default, deserialize_with = "null_as_false")]
    pub is_test: bool,
    /// The product's region.
    #[serde(default)]
    pub region_code: Option<String>,
    /// The quantity, when reported.
    #[serde(default)]
    pub quantity: Option<u32>,
    /// When the order was created (`created_at`, an ISO 8601 UTC date-time such as
    /// `2024-11-01T10:00:00Z` in the provider's examples), as a [`Timestamp`]: the text as
    /// sent, and the instant when it is RFC 3339 with an offset.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// When the order completed (`completed_at`, `null` until then), as a [`Timestamp`].
    #[serde(default)]
    pub completed_at: Option<Timestamp>,
    /// When the order failed (`failed_at`, `null` unless it failed), as a [`Timestamp`].
    #[serde(default)]
    pub failed_at: Option<Timestamp>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `is_test: null` is `false`. The create response is the one body that must decode: an
/// order that exists but cannot be read is an error the caller can only resolve by asking
/// again, and a flag the provider leaves `null` must not be the reason.
fn null_as_false<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

impl Order {
    /// True once the order is completed or failed (by status, or by `completed_at` /
    /// `failed_at` when the status is one this version does not know).
    pub fn is_final(&self) -> bool {
        self.status.is_final() || self.completed_at.is_some() || self.failed_at.is_some()
    }
    /// True when the order was delivered.
    pub fn is_completed(&self) -> bool {
        self.status == OrderStatus::Completed || (self.status.is_unknown() && self.completed_at.is_some())
    }
    /// True when the order failed.
    pub fn is_failed(&self) -> bool {
        self.status == OrderStatus::Failed || (self.status.is_unknown() && self.failed_at.is_some())
    }
}

/// The `topup_request` of a `direct_top_up` order: the amount and the vendor-specific
/// account fields (`steam_login`, `email`, ...; which ones depends on the product).
///
/// Its `Debug` shows the account field names, not their values (they identify your buyer).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TopupRequest {
    #[serde(
        serialize_with = "serialize_decimal_amount",
        deserialize_with = "payout_core::money::decimal::deserialize"
    )]
    amount: Decimal,
    customer_account: BTreeMap<String, String>,
}

impl std::fmt::Debug for TopupRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopupRequest")
            .field("amount", &self.amount)
            .field(
                "customer_account",
                &self.customer_account.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Writes a `DecimalAmount`: a string in major units with at least two decimals
/// (`10` → `"10.00"`, as the provider's examples show); more precision is kept as given.
fn serialize_decimal_amount<S: serde::Serializer>(
    amount: &Decimal,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    let mut a = *amount;
    if a.scale() < 2 {
        a.rescale(2);
    }
    s.collect_str(&a)
}

impl TopupRequest {
    /// A top-up of `amount` in major units, sent as a `DecimalAmount` string with at least
    /// two decimals (`Decimal::from(10)` and `Decimal::new(1000, 2)` are both `"10.00"`).
    pub fn new(amount: Decimal) -> Self {
        TopupRequest {
            amount,
            customer_account: BTreeMap::new(),
        }
    }
    /// Adds a `customer_account` field (`.account("steam_login", "player123")`).
    pub fn account(mut self, field: impl Into<String>, value: impl Into<String>) -> Self {
        self.customer_account.insert(field.into(), value.into());
        self
    }
    /// The amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }
    /// The account fields.
    pub fn customer_account(&self) -> &BTreeMap<String, String> {
        &self.customer_account
    }
    fn validate(&self) -> Result<()> {
        if self.amount <= Decimal::ZERO {
            return Err(Error::invalid_input(
                PROVIDER,
                "topup_request.amount",
                "must be greater than zero",
            ));
        }
        if self.customer_account.is_empty() {
            return Err(Error::invalid_input(
                PROVIDER,
                "topup_request.customer_account",
                "must name at least one account field (e.g. steam_login or email)",
            ));
        }
        if self
            .customer_account
            .iter()
            .any(|(k, v)| k.trim().is_empty() || v.trim().is_empty())
        {
            return Err(Error::invalid_input(
                PROVIDER,
                "topup_request.customer_account",
                "field names and values must not be empty",
            ));
        }
        Ok(())
    }
}

/// `POST /agent/{agent_id}/orders`: one business order attempt, as a request value.
///
/// [`CreateOrder::new`] gives the request value its own `Idempotency-Key` (generated on first
/// read, then kept by the value and its clones), so the key belongs to the request value:
/// persist `req.key()` ([`payout_core::Keyed`]) beside your own order id
/// **before** sending, and send the same value again (or rebuild it with the same key through
/// [`CreateOrder::with_key`]) to retry the same attempt. The provider answers a repeat with
/// the first order instead of charging twice (Plexy Gate agent API documentation, "Idempotent
/// orders"). A new business attempt is a new value.
///
/// It serializes with its key (`idempotency_key`) so a journal can store it and send it again
/// after a crash; the wire body never carries the key (it travels in the header).
///
/// ```
/// use agent_catalog::{CreateOrder, Decimal, Keyed, TopupRequest};
/// let req = CreateOrder::with_key(456, "order-1001")
///     .unwrap()
///     .external_ref("INV-1001")
///     .topup_request(
///         TopupRequest::new(Decimal::new(1000, 2))
///             .account("steam_login", "player123")
///             .account("email", "user@example.com"),
///     )
///     .quantity(1)
///     .test(false);
/// assert_eq!(req.key(), "order-1001");
/// req.validate().unwrap();
/// // A key that cannot travel in a header is refused, never dropped.
/// assert!(CreateOrder::with_key(456, "order 1001").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateOrder {
    product_id: ProductId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    currency_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    topup_request: Option<TopupRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quantity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    test: Option<bool>,
    #[serde(deserialize_with = "checked_key")]
    idempotency_key: KeySlot,
}

/// A stored key is checked like a new one: a journal entry edited by hand must not send a
/// header the provider cannot read.
fn checked_key<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<KeySlot, D::Error> {
    let raw = String::deserialize(d)?;
    IdempotencyKey::new(raw)
        .map(KeySlot::from)
        .map_err(|e| serde::de::Error::custom(format!("idempotency_key {e}")))
}

/// The documented JSON body of a create (the key travels in the header, not here).
#[derive(Serialize)]
struct CreateOrderBody<'a> {
    product_id: ProductId,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_ref: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topup_request: Option<&'a TopupRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quantity: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test: Option<bool>,
}

/// The longest `external_ref` accepted before sending (ASSUMPTION: no limit is published;
/// 255 is the common database column size).
pub const MAX_EXTERNAL_REF_LEN: usize = 255;

impl CreateOrder {
    /// An order for `product_id`, with an idempotency key generated on first read (a UUID
    /// that this value and its clones keep: [`payout_core::KeySlot`]). Replacing it with
    /// [`CreateOrder::idempotency_key`] before any read generates nothing.
    pub fn new(product_id: impl Into<ProductId>) -> Self {
        CreateOrder::keyed(product_id.into(), KeySlot::generated())
    }
    /// The one constructor: every order carries its key from here on.
    fn keyed(product_id: ProductId, idempotency_key: KeySlot) -> Self {
        CreateOrder {
            product_id,
            external_ref: None,
            currency_code: None,
            topup_request: None,
            quantity: None,
            test: None,
            idempotency_key,
        }
    }
    /// Your own reference (invoice or order id), echoed on the order.
    pub fn external_ref(mut self, r: impl Into<String>) -> Self {
        self.external_ref = Some(r.into());
        self
    }
    /// The ISO 4217 currency to pay in (`"USD"`); also the currency the balance
    /// pre-check uses.
    pub fn currency_code(mut self, code: impl Into<String>) -> Self {
        self.currency_code = Some(code.into());
        self
    }
    /// The amount and account of a `direct_top_up` product.
    pub fn topup_request(mut self, topup: TopupRequest) -> Self {
        self.topup_request = Some(topup);
        self
    }
    /// How many units (vouchers) to order.
    pub fn quantity(mut self, quantity: u32) -> Self {
        self.quantity = Some(quantity);
        self
    }
    /// `true` creates a test order (`is_test` on the result).
    pub fn test(mut self, test: bool) -> Self {
        self.test = Some(test);
        self
    }
    /// An order for `product_id` with your own key instead of a generated one, e.g. derived
    /// from your order id (`format!("order-{id}")`), so a restart after a crash retries the
    /// same attempt. A key that is empty, longer than 255 characters or not printable ASCII
    /// without spaces is [`payout_core::ErrorKind::InvalidInput`] (field `Idempotency-Key`).
    ///
    /// A key names one payload: never reuse it for a request with a different body (what
    /// the provider does then is not documented; Plexy's Pay API answers 409, which this
    /// client reports as an error and does not retry).
    pub fn with_key(product_id: impl Into<ProductId>, key: impl Into<String>) -> Result<Self> {
        let key = IdempotencyKey::new(key)
            .map_err(|e| Error::invalid_input(PROVIDER, "Idempotency-Key", e.to_string()))?;
        // Not `new(..).idempotency_key(..)`: no random key generated only to be dropped.
        Ok(CreateOrder::keyed(product_id.into(), KeySlot::from(key)))
    }
    /// Uses an already checked key instead of the generated one (see
    /// [`CreateOrder::with_key`]).
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = KeySlot::from(key);
        self
    }
    /// The product ordered.
    pub fn product_id(&self) -> ProductId {
        self.product_id
    }
    fn quantity_or_one(&self) -> u32 {
        self.quantity.unwrap_or(1)
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let key = self
            .idempotency_key
            .to_key()
            .map_err(|e| Error::invalid_input(PROVIDER, "Idempotency-Key", e.to_string()))?;
        let body = CreateOrderBody {
            product_id: self.product_id,
            external_ref: self.external_ref.as_deref(),
            currency_code: self.currency_code.as_deref(),
            topup_request: self.topup_request.as_ref(),
            quantity: self.quantity,
            test: self.test,
        };
        let req = req.path("/orders").json(&body).map_err(|e| {
            Error::invalid_input(PROVIDER, "body", "could not be serialized")
                .with_source(e)
                .with_idempotency_key(Some(key.clone()))
        })?;
        Ok(req.idempotency_header(IDEMPOTENCY_HEADER, key))
    }

    /// Checks the request on its own; the error names the field and the rule. Called by
    /// [`Orders::create`] before anything is sent.
    pub fn validate(&self) -> Result<()> {
        if self.product_id.get() <= 0 {
            return Err(Error::invalid_input(
                PROVIDER,
                "product_id",
                "must be a positive id",
            ));
        }
        if let Some(r) = &self.external_ref {
            if r.trim().is_empty() {
                return Err(Error::invalid_input(
                    PROVIDER,
                    "external_ref",
                    "must not be empty when set",
                ));
            }
            if r.chars().count() > MAX_EXTERNAL_REF_LEN {
                return Err(Error::invalid_input(
                    PROVIDER,
                    "external_ref",
                    format!("must be at most {MAX_EXTERNAL_REF_LEN} characters"),
                ));
            }
        }
        if let Some(c) = &self.currency_code {
            check_currency("currency_code", c)?;
        }
        if self.quantity == Some(0) {
            return Err(Error::invalid_input(PROVIDER, "quantity", "must be 1 or more"));
        }
        if let Some(t) = &self.topup_request {
            t.validate()?;
        }
        Ok(())
    }

    /// Checks the request against the product it orders (from a [`Catalog`] or
    /// [`crate::Products::get`]): the product is active, the currency matches, a
    /// `direct_top_up` product has a top-up within `min_amount`..=`max_amount` on a multiple
    /// of `step`, and other products have none.
    pub fn validate_for(&self, product: &Product, type_code: Option<&ProductTypeCode>) -> Result<()> {
        self.validate()?;
        if product.id != self.product_id {
            return Err(Error::invalid_input(
                PROVIDER,
                "product_id",
                "does not match the product it is checked against",
            ));
        }
        if !product.is_active {
            return Err(Error::invalid_input(
                PROVIDER,
                "product_id",
                "refers to an inactive product",
            ));
        }
        if let (Some(mine), Some(theirs)) = (&self.currency_code, &product.currency_code)
            && !mine.eq_ignore_ascii_case(theirs)
        {
            return Err(Error::invalid_input(
                PROVIDER,
                "currency_code",
                "must match the product's currency",
            ));
        }
        match (type_code, &self.topup_request) {
            (Some(ProductTypeCode::DirectTopUp), None) => Err(Error::invalid_input(
                PROVIDER,
                "topup_request",
                "is required for a direct_top_up product",
            )),
            (Some(ProductTypeCode::DirectTopUp), Some(t)) => check_topup_range(t.amount, product),
            (Some(ProductTypeCode::RedeemCard | ProductTypeCode::DirectTransfer), Some(_)) => Err(
                Error::invalid_input(PROVIDER, "topup_request", "is only for direct_top_up products"),
            ),
            _ => Ok(()),
        }
    }

    /// The least this order will cost in the product's currency: the top-up amount, or the
    /// price times the quantity. It excludes the provider's margin (unknown before the order
    /// exists), so a balance below it certainly cannot cover the order. `None` when the
    /// product has no price and the order no top-up.
    pub fn minimum_cost(&self, product: &Product) -> Option<Decimal> {
        match &self.topup_request {
            Some(t) => Some(t.amount),
            None => product
                .price
                .and_then(|p| p.checked_mul(Decimal::from(self.quantity_or_one()))),
        }
    }
}

fn check_topup_range(amount: Decimal, product: &Product) -> Result<()> {
    let field = "topup_request.amount";
    if let Some(min) = product.min_amount
        && amount < min
    {
        return Err(Error::invalid_input(
            PROVIDER,
            field,
            format!("must be at least the product's min_amount {min}"),
        ));
    }
    if let Some(max) = product.max_amount
        && amount > max
    {
        return Err(Error::invalid_input(
            PROVIDER,
            field,
            format!("must be at most the product's max_amount {max}"),
        ));
    }
    if let Some(step) = product.step
        && step > Decimal::ZERO
    {
        let from = product.min_amount.unwrap_or(Decimal::ZERO);
        let off = (amount - from).checked_rem(step);
        if off != Some(Decimal::ZERO) {
            return Err(Error::invalid_input(
                PROVIDER,
                field,
                format!("must be a multiple of the product's step {step}"),
            ));
        }
    }
    Ok(())
}

/// ISO 4217: three ASCII letters.
pub(crate) fn check_currency(field: &'static str, code: &str) -> Result<()> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(Error::invalid_input(
            PROVIDER,
            field,
            "must be a three-letter ISO 4217 code such as USD",
        ))
    }
}

/// `GET /agent/{agent_id}/orders`: the filters of [`Orders::list`] (`page`, `pageSize`,
/// `status`, `product_id`), and the request value of that endpoint (`client.send(&filter)`
/// answers one [`Listing`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFilter {
    page: Option<u32>,
    page_size: Option<u32>,
    status: Option<OrderStatus>,
    product_id: Option<ProductId>,
}

impl OrderFilter {
    /// No filter.
    pub fn new() -> Self {
        Self::default()
    }
    /// The page to fetch, from 1.
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }
    /// Items per page (sent as `pageSize`).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }
    /// Only orders in this state.
    pub fn status(mut self, status: OrderStatus) -> Self {
        self.status = Some(status);
        self
    }
    /// Only orders of this product.
    pub fn product_id(mut self, id: impl Into<ProductId>) -> Self {
        self.product_id = Some(id.into());
        self
    }
    /// Checks the filter.
    pub fn validate(&self) -> Result<()> {
        check_paging(self.page, self.page_size)
    }
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        Ok(req
            .path("/orders")
            .query_opt("page", self.page)
            .query_opt("pageSize", self.page_size)
            .query_opt("status", self.status.as_ref())
            .query_opt("product_id", self.product_id))
    }
}

/// `GET /agent/{agent_id}/orders/{orderId}` as a request value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GetOrder {
    id: OrderId,
}

impl GetOrder {
    /// The order with this id.
    pub fn new(id: impl Into<OrderId>) -> Self {
        GetOrder { id: id.into() }
    }
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        if self.id.as_str().trim().is_empty() {
            return Err(Error::invalid_input(PROVIDER, "orderId", "must not be empty"));
        }
        Ok(req.path(format!(
            "/orders/{}",
            payout_core::encode_path_segment(self.id.as_str())
        )))
    }
}

impl Keyed for CreateOrder {
    const KEY_NAME: &'static str = "Idempotency-Key";
    fn key(&self) -> &str {
        self.idempotency_key.get()
    }
}

/// How many pages of 100 orders of the product a reconcile reads, newest first, looking for
/// the order that echoes the request's key.
const LOOKUP_PAGES: u32 = 5;
const LOOKUP_PAGE_SIZE: u32 = 100;

impl Reconcile for CreateOrder {
    /// The Plexy Gate agent API has no lookup by `Idempotency-Key`; every order echoes the
    /// key it was created with (`idempotency_key`, "Create order"), so the lookup lists the
    /// product's orders ("List orders", filter `product_id`) and takes the one with this key.
    /// It reads at most 5 pages of 100; an order not found there is reported as a failed
    /// lookup (the outcome stays unknown), never as "absent".
    async fn lookup<C: ApiClient>(&self, client: &C) -> Result<Option<Order>> {
        let key = self.key();
        for page in 1..=LOOKUP_PAGES {
            let filter = OrderFilter::new()
                .product_id(self.product_id)
                .page(page)
                .page_size(LOOKUP_PAGE_SIZE);
            let listing = client.send(&filter).await?;
            let next = listing.next_page(page, Some(LOOKUP_PAGE_SIZE));
            if let Some(found) = listing
                .items
                .into_iter()
                .find(|o| o.idempotency_key.as_ref().is_some_and(|k| k.as_str() == key))
            {
                return Ok(Some(found));
            }
            if next.is_none() {
                return Ok(None);
            }
        }
        Err(Error::new(
            ErrorKind::Ambiguous,
            PROVIDER,
            format!(
                "no order with this Idempotency-Key among the newest {} orders of product {}; the list was not read to its end",
                LOOKUP_PAGES * LOOKUP_PAGE_SIZE,
                self.product_id
            ),
        ))
    }

    /// The order must be for the same product, and where the order echoes them, the same
    /// `external_ref`, `currency_code`, `quantity` and test flag.
    fn matches(&self, found: &Order) -> std::result::Result<(), &'static str> {
        if found.product_id != self.product_id {
            return Err("product_id");
        }
        if let (Some(mine), Some(theirs)) = (&self.external_ref, &found.external_ref)
            && mine != theirs
        {
            return Err("external_ref");
        }
        if let (Some(mine), Some(theirs)) = (&self.currency_code, &found.currency_code)
            && !mine.eq_ignore_ascii_case(theirs)
        {
            return Err("currency_code");
        }
        if let (Some(mine), Some(theirs)) = (self.quantity, found.quantity)
            && mine != theirs
        {
            return Err("quantity");
        }
        if self.test.is_some_and(|t| t != found.is_test) {
            return Err("test");
        }
        Ok(())
    }
}

/// `client.orders()`.
#[derive(Debug, Clone, Copy)]
pub struct Orders<'a> {
    pub(crate) client: &'a Client,
}

impl Orders<'_> {
    /// `POST /agent/{agent_id}/orders` with `Idempotency-Key: <req's key>`; `201` with the
    /// order (normally `pending`).
    ///
    /// Safety: the key is sent on every attempt, so a timeout, a dropped connection or a
    /// 5xx is retried with the same key, and the provider answers a repeat with the first
    /// order. When the outcome stays unknown, the order is looked up by its key
    /// ([`payout_core::reconcile::send_reconciled`], policy from
    /// [`crate::ClientBuilder::reconcile_policy`]): found and matching, it is returned; not
    /// there, the original error stands and is retryable with the **same** request; the
    /// lookup failing too gives [`payout_core::ErrorKind::Ambiguous`]. The key is on the
    /// returned order and on every error ([`payout_core::Error::idempotency_key`]). HTTP 400
    /// `insufficient_balance` is never retried: see [`crate::ErrorCode::InsufficientBalance`].
    pub async fn create(&self, req: &CreateOrder) -> Result<Order> {
        send_reconciled(self.client, req, &self.client.reconcile)
            .await
            .inspect_err(report_insufficient_balance)
    }

    /// The provider's integration flow in one call: checks `req` against its product in
    /// `catalog` ([`CreateOrder::validate_for`]), reads the balance and refuses an order it
    /// cannot cover ([`crate::Balances::ensure_covers`], error code `insufficient_balance`,
    /// nothing sent), then [`Orders::create`].
    ///
    /// The pre-check compares against [`CreateOrder::minimum_cost`], which excludes the
    /// provider's margin; the provider's own `insufficient_balance` stays the final word.
    /// When the cost or the currency cannot be known (a product without `price` or
    /// `currency_code` and no top-up or `currency_code` on the request) the balance is not
    /// checked: the order is sent and a `WARN` event says the pre-check was skipped.
    pub async fn create_checked(&self, req: &CreateOrder, catalog: &Catalog) -> Result<Order> {
        let product = catalog.product(req.product_id).ok_or_else(|| {
            Error::invalid_input(
                PROVIDER,
                "product_id",
                "is not in the catalog snapshot; refresh the catalog or check the id",
            )
        })?;
        req.validate_for(product, catalog.type_code_of(product))?;
        let currency = req.currency_code.as_deref().or(product.currency_code.as_deref());
        if let (Some(currency), Some(cost)) = (currency, req.minimum_cost(product)) {
            let balances = self.client.balance().get().await?;
            balances
                .ensure_covers(currency, cost)
                .map_err(|e| e.with_idempotency_key(req.idempotency_key.to_key().ok()))
                .inspect_err(report_insufficient_balance)?;
        } else {
            tracing::warn!(
                product_id = %req.product_id,
                idempotency_key = req.idempotency_key.get(),
                "balance pre-check skipped: the product has no price or currency; the provider decides"
            );
        }
        self.create(req).await
    }

    /// `GET /agent/{agent_id}/orders/{orderId}`. An unknown id is
    /// [`payout_core::ErrorKind::NotFound`].
    pub async fn get(&self, id: impl Into<OrderId>) -> Result<Order> {
        self.client.send(&GetOrder::new(id)).await
    }

    /// `GET /agent/{agent_id}/orders`: one page of orders (`page.next` is the next page
    /// number, `None` on the last page).
    pub async fn list(&self, filter: &OrderFilter) -> Result<Page<Order, u32>> {
        list_orders(self.client, filter).await
    }

    /// Every order matching `filter`, page after page.
    pub fn stream(&self, filter: OrderFilter) -> impl Stream<Item = Result<Order>> + Send + 'static {
        let client = self.client.clone();
        let start = filter.page.unwrap_or(1);
        payout_core::paginate(PROVIDER, start, move |page| {
            let client = client.clone();
            let filter = filter.clone().page(page);
            async move { list_orders(&client, &filter).await }
        })
    }

    /// At most `max` orders matching `filter`.
    pub async fn collect_all(&self, filter: OrderFilter, max: usize) -> Result<Vec<Order>> {
        payout_core::collect_all(self.stream(filter), max).await
    }

    /// Polls `GET .../orders/{orderId}` until the order is completed or failed, as the
    /// Plexy Gate agent API documentation recommends ("Track order"; there are no webhooks),
    /// and returns it. Check [`Order::is_completed`] and deliver [`Order::order_content`].
    ///
    /// `options` is the one [`PollOptions`] of every payout-rs crate: interval, backoff,
    /// deadline, and what a failed look does (by default up to 3 retryable failures in a
    /// row are polled through; any other error, such as 401 or 404, is returned at once).
    ///
    /// At the deadline the error is [`payout_core::ErrorKind::Timeout`] carrying the last
    /// order seen (`err.last_state::<Order>()`), never `Ok` with an order that is not final:
    /// the order exists, so look at it again later, never create it again.
    pub async fn wait_until_final(&self, id: impl Into<OrderId>, options: &PollOptions) -> Result<Order> {
        let id = id.into();
        let id = &id;
        payout_core::poll::wait_until(
            PROVIDER,
            options,
            move || self.get(id),
            |order: &Order| {
                if order.is_final() {
                    Poll::Final
                } else {
                    Poll::Pending
                }
            },
        )
        .await
    }
}

/// The Plexy Gate agent API documentation asks to expose `insufficient_balance` to finance
/// and operations ("Balance management"): one `WARN` event (target `agent_catalog::orders`)
/// per refusal, for log-based alerting.
fn report_insufficient_balance(e: &Error) {
    if crate::ErrorCode::of(e) == Some(crate::ErrorCode::InsufficientBalance) {
        tracing::warn!(
            idempotency_key = e.idempotency_key().map(|k| k.as_str()).unwrap_or(""),
            status = e.status(),
            "order refused: insufficient_balance; fund the account, then retry the same order (same key) once the deposit posts"
        );
    }
}

async fn list_orders(client: &Client, filter: &OrderFilter) -> Result<Page<Order, u32>> {
    let body = client.send(filter).await?;
    Ok(body.into_page(filter.page.unwrap_or(1), filter.page_size))
}

/// One order (create, get). A create whose order does not echo its key gets it from the
/// request.
pub(crate) fn decode_order(resp: &Response) -> Result<Order> {
    let mut order: Order = resp.json().map_err(|e| without_order_content(resp, e))?;
    if order.idempotency_key.is_none() {
        order.idempotency_key = resp.idempotency_key().cloned();
    }
    Ok(order)
}

/// A page of orders.
pub(crate) fn decode_order_list(resp: &Response) -> Result<Listing<Order>> {
    resp.json().map_err(|e| without_order_content(resp, e))
}

/// A decode error about an order body keeps a snippet for diagnosis, but never the
/// `order_content`: a delivered voucher code is money, and error `Debug` output ends up in
/// logs. A body that does not parse cannot be redacted field by field, so its snippet is
/// withheld.
fn without_order_content(resp: &Response, e: Error) -> Error {
    if e.body_snippet().is_none() {
        return e;
    }
    let snippet = match serde_json::from_slice::<serde_json::Value>(resp.body()) {
        Ok(mut v) => {
            redact_order_content(&mut v);
            serde_json::to_vec(&v).ok().map(|b| resp.transport().snippet(&b))
        }
        Err(_) => None,
    };
    let snippet = snippet.unwrap_or_else(|| {
        "(withheld: the body did not parse, and an order body may hold a voucher code)".to_string()
    });
    e.with_body_snippet(Some(snippet))
}

fn redact_order_content(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "order_content" {
                    if !x.is_null() {
                        *x = serde_json::Value::String("[REDACTED]".into());
                    }
                } else {
                    redact_order_content(x);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_order_content),
        _ => {}
    }
}

#[cfg(test)]
mod hot_path_tests {
    use super::*;

    /// Hot-path rule: a create built with the caller's key generates no random key only to
    /// drop it (a UUID costs a `getrandom` call and an allocation per order).
    #[test]
    fn with_key_generates_no_key() {
        let before = IdempotencyKey::generated_on_this_thread();
        let req = CreateOrder::with_key(456, "order-1001").unwrap();
        assert_eq!(req.key(), "order-1001");
        assert_eq!(IdempotencyKey::generated_on_this_thread(), before);
        // The counter counts: `new` generates exactly one, on first read.
        let generated = CreateOrder::new(456);
        assert_eq!(IdempotencyKey::generated_on_this_thread(), before);
        assert_eq!(generated.key().len(), 36);
        assert_eq!(IdempotencyKey::generated_on_this_thread(), before + 1);
    }

    /// Hot-path rule: `new(..).idempotency_key(..)` (the setter idiom) generates no key
    /// either, however the value is then read, copied, stored or built.
    #[test]
    fn new_then_setter_generates_no_key() {
        let before = IdempotencyKey::generated_on_this_thread();
        let req = CreateOrder::new(456).idempotency_key(IdempotencyKey::new("order-1002").unwrap());
        assert_eq!(req.key(), "order-1002");
        let copy = req.clone();
        assert_eq!(copy, req);
        let _ = format!("{req:?}");
        let back: CreateOrder = serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
        assert_eq!(back.key(), "order-1002");
        payout_core::Endpoint::to_request(&req).unwrap();
        assert_eq!(IdempotencyKey::generated_on_this_thread(), before);
    }

    /// One key per value: a clone taken before any read shares the key the clone generated.
    #[test]
    fn a_clone_shares_the_generated_key() {
        let before = IdempotencyKey::generated_on_this_thread();
        let req = CreateOrder::new(456);
        let copy = req.clone();
        assert_eq!(copy.key(), req.key());
        assert_eq!(copy, req);
        let back: CreateOrder = serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
        assert_eq!(back.key(), req.key());
        assert_eq!(IdempotencyKey::generated_on_this_thread(), before + 1);
    }
}
