//! Orders: create (protected by an `Idempotency-Key`), get, list, and wait until final.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_core::Stream;
use payout_core::{Decimal, Error, ErrorKind, IdempotencyKey, Page, Request, Result};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::catalog::{Catalog, Product, ProductId, ProductTypeCode};
use crate::client::{Client, PROVIDER};
use crate::list::{check_paging, into_page};

/// The header the provider deduplicates order creation on.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// An order id (a UUID string).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub String);

impl OrderId {
    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OrderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for OrderId {
    fn from(s: &str) -> Self {
        OrderId(s.to_string())
    }
}

impl From<String> for OrderId {
    fn from(s: String) -> Self {
        OrderId(s)
    }
}

impl From<&OrderId> for OrderId {
    fn from(id: &OrderId) -> Self {
        id.clone()
    }
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

/// An order, as returned by create, get and list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The order id; persist it beside your own reference and the idempotency key.
    pub id: OrderId,
    /// The product ordered.
    #[serde(default)]
    pub product_id: Option<ProductId>,
    /// Your reference, echoed.
    #[serde(default)]
    pub external_ref: Option<String>,
    /// The `Idempotency-Key` the order was created with (echoed by the provider; filled in
    /// by [`Orders::create`] if the provider leaves it out).
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
    /// Creation time (ISO 8601, UTC).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Completion time, once completed.
    #[serde(default)]
    pub completed_at: Option<String>,
    /// Failure time, once failed.
    #[serde(default)]
    pub failed_at: Option<String>,
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
#[derive(Clone, PartialEq, Serialize)]
pub struct TopupRequest {
    #[serde(serialize_with = "serialize_decimal_amount")]
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

/// `POST /agent/{agent_id}/orders`: one business order attempt.
///
/// [`CreateOrder::new`] generates the `Idempotency-Key` at once, so the key belongs to the
/// request value: persist [`CreateOrder::get_idempotency_key`] beside your own order id
/// **before** sending, and send the same value again (or rebuild it with the same key through
/// [`CreateOrder::idempotency_key`]) to retry the same attempt. The provider answers a repeat
/// with the first order instead of charging twice. A new business attempt is a new value.
///
/// ```
/// use agent_catalog::{CreateOrder, Decimal, IdempotencyKey, TopupRequest};
/// let req = CreateOrder::new(456)
///     .external_ref("INV-1001")
///     .topup_request(
///         TopupRequest::new(Decimal::new(1000, 2))
///             .account("steam_login", "player123")
///             .account("email", "user@example.com"),
///     )
///     .quantity(1)
///     .test(false)
///     .idempotency_key(IdempotencyKey::new("order-1001").unwrap());
/// assert_eq!(req.get_idempotency_key().as_str(), "order-1001");
/// req.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateOrder {
    product_id: ProductId,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topup_request: Option<TopupRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quantity: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test: Option<bool>,
    #[serde(skip)]
    idempotency_key: IdempotencyKey,
}

/// The longest `external_ref` accepted before sending (ASSUMPTION: no limit is published;
/// 255 is the common database column size).
pub const MAX_EXTERNAL_REF_LEN: usize = 255;

impl CreateOrder {
    /// An order for `product_id`, with a freshly generated idempotency key.
    pub fn new(product_id: impl Into<ProductId>) -> Self {
        CreateOrder {
            product_id: product_id.into(),
            external_ref: None,
            currency_code: None,
            topup_request: None,
            quantity: None,
            test: None,
            idempotency_key: IdempotencyKey::generate(),
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
    /// Uses your own key instead of the generated one, e.g. derived from your order id
    /// (`IdempotencyKey::new(format!("order-{id}"))`), so a restart after a crash retries
    /// the same attempt.
    ///
    /// A key names one payload: never reuse it for a request with a different body (what
    /// the provider does then is not documented; Plexy's Pay API answers 409, which this
    /// client reports as an error and does not retry).
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = key;
        self
    }
    /// The key this attempt is sent with on every try.
    pub fn get_idempotency_key(&self) -> &IdempotencyKey {
        &self.idempotency_key
    }
    /// The product ordered.
    pub fn get_product_id(&self) -> ProductId {
        self.product_id
    }
    /// The currency set with [`CreateOrder::currency_code`].
    pub fn get_currency_code(&self) -> Option<&str> {
        self.currency_code.as_deref()
    }
    /// The top-up, if any.
    pub fn get_topup_request(&self) -> Option<&TopupRequest> {
        self.topup_request.as_ref()
    }
    /// The quantity (1 when not set).
    pub fn get_quantity(&self) -> u32 {
        self.quantity.unwrap_or(1)
    }

    /// Checks the request on its own; the error names the field and the rule. Called by
    /// [`Orders::create`] before anything is sent.
    pub fn validate(&self) -> Result<()> {
        if self.product_id.0 <= 0 {
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
                .and_then(|p| p.checked_mul(Decimal::from(self.get_quantity()))),
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

/// Filters for [`Orders::list`] (`page`, `pageSize`, `status`, `product_id`).
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
}

/// How [`Orders::wait_until_final`] polls: the first interval, doubling up to a cap, until
/// a deadline. Defaults: 2 s, doubling to 30 s, for at most 10 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollOptions {
    initial_interval: Duration,
    max_interval: Duration,
    timeout: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            initial_interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(600),
        }
    }
}

impl PollOptions {
    /// The default schedule.
    pub fn new() -> Self {
        Self::default()
    }
    /// The wait before the second look.
    pub fn initial_interval(mut self, d: Duration) -> Self {
        self.initial_interval = d;
        self
    }
    /// The longest wait between looks.
    pub fn max_interval(mut self, d: Duration) -> Self {
        self.max_interval = d;
        self
    }
    /// Give up after this long.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
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
    /// order. The key is on the returned order and on every error
    /// ([`payout_core::Error::idempotency_key`]). HTTP 400 `insufficient_balance` is never
    /// retried: see [`crate::ErrorCode::InsufficientBalance`].
    pub async fn create(&self, req: &CreateOrder) -> Result<Order> {
        req.validate()?;
        let key = req.idempotency_key.clone();
        let request = Request::post("orders.create", "/agent/{agent_id}/orders")
            .path(self.client.path("/orders"))
            .json(req)
            .map_err(|e| {
                Error::invalid_input(PROVIDER, "body", "could not be serialized")
                    .with_source(e)
                    .with_idempotency_key(Some(key.clone()))
            })?
            .idempotency_header(IDEMPOTENCY_HEADER, key.clone());
        let resp = self
            .client
            .transport
            .send(request)
            .await
            .map_err(|e| explain_unknown_outcome(e, &key))
            .inspect_err(report_insufficient_balance)?;
        let mut order: Order = resp
            .json()
            .map_err(|e| without_order_content(self.client, resp.body(), e))?;
        if order.idempotency_key.is_none() {
            order.idempotency_key = Some(key);
        }
        Ok(order)
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
                .map_err(|e| e.with_idempotency_key(Some(req.idempotency_key.clone())))
                .inspect_err(report_insufficient_balance)?;
        } else {
            tracing::warn!(
                product_id = %req.product_id,
                idempotency_key = req.idempotency_key.as_str(),
                "balance pre-check skipped: the product has no price or currency; the provider decides"
            );
        }
        self.create(req).await
    }

    /// `GET /agent/{agent_id}/orders/{orderId}`. An unknown id is
    /// [`payout_core::ErrorKind::NotFound`].
    pub async fn get(&self, id: impl Into<OrderId>) -> Result<Order> {
        let id = id.into();
        if id.0.trim().is_empty() {
            return Err(Error::invalid_input(PROVIDER, "orderId", "must not be empty"));
        }
        let req = Request::get("orders.get", "/agent/{agent_id}/orders/{orderId}").path(
            self.client
                .path(&format!("/orders/{}", payout_core::encode_path_segment(&id.0))),
        );
        let resp = self.client.transport.send(req).await?;
        resp.json()
            .map_err(|e| without_order_content(self.client, resp.body(), e))
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
    /// provider recommends (there are no webhooks), and returns it. Check
    /// [`Order::is_completed`] and deliver [`Order::order_content`].
    ///
    /// A transient failure of one look (a timeout, a 5xx, a 429 that outlasted the client's
    /// own retries) does not end the wait: polling goes on until the deadline. Any other
    /// error (401, 404, ...) is returned at once.
    ///
    /// Past `options`' timeout the error is [`payout_core::ErrorKind::Timeout`]; the order
    /// still exists: look at it again later, never re-create it.
    pub async fn wait_until_final(&self, id: impl Into<OrderId>, options: PollOptions) -> Result<Order> {
        let id = id.into();
        // `None` when the timeout is too large to represent: no deadline.
        let deadline = Instant::now().checked_add(options.timeout);
        let mut interval = options.initial_interval;
        let mut looks: u32 = 0;
        loop {
            let seen = match self.get(&id).await {
                Ok(order) => {
                    if order.is_final() {
                        return Ok(order);
                    }
                    format!("still {}", order.status)
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(order_id = %id, kind = %e.kind(), status = e.status(), "order look failed; polling on");
                    format!("not readable ({})", e.kind())
                }
                Err(e) => return Err(e),
            };
            looks = looks.saturating_add(1);
            let next_look = Instant::now().checked_add(interval);
            if let (Some(deadline), Some(next_look)) = (deadline, next_look)
                && next_look > deadline
            {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    PROVIDER,
                    format!(
                        "order {id} is {seen} after {looks} looks; it was created, so look it up later instead of creating it again"
                    ),
                ));
            }
            tracing::debug!(order_id = %id, looks, "order not final yet");
            tokio::time::sleep(interval).await;
            interval = interval
                .saturating_mul(2)
                .min(options.max_interval.max(options.initial_interval));
        }
    }
}

/// After retries ran out on a failure that came after the request was sent (a timeout, a
/// dropped connection, a 5xx), the order may exist; the transport marks that as
/// `may_have_succeeded()` while keeping it retryable with the same key. Say what "retry" must
/// mean here, so nobody builds a fresh `CreateOrder` with a new key and pays twice.
fn explain_unknown_outcome(e: Error, key: &IdempotencyKey) -> Error {
    if !(e.may_have_succeeded() && e.is_retryable()) {
        return e;
    }
    e.with_advice(format!(
        "the order may have been created: retry only with the same CreateOrder (Idempotency-Key `{key}`), never a new one"
    ))
}

/// The excerpt asks to expose `insufficient_balance` to finance and operations: one `WARN`
/// event (target `agent_catalog::orders`) per refusal, for log-based alerting.
fn report_insufficient_balance(e: &Error) {
    use crate::error::ErrorExt;
    if e.is_insufficient_balance() {
        tracing::warn!(
            idempotency_key = e.idempotency_key().map(|k| k.as_str()).unwrap_or(""),
            status = e.status(),
            "order refused: insufficient_balance; fund the account, then retry the same order (same key) once the deposit posts"
        );
    }
}

async fn list_orders(client: &Client, filter: &OrderFilter) -> Result<Page<Order, u32>> {
    filter.validate()?;
    let req = Request::get("orders.list", "/agent/{agent_id}/orders")
        .path(client.path("/orders"))
        .query_opt("page", filter.page)
        .query_opt("pageSize", filter.page_size)
        .query_opt("status", filter.status.as_ref())
        .query_opt("product_id", filter.product_id);
    let resp = client.transport.send(req).await?;
    into_page(&resp, filter.page.unwrap_or(1), filter.page_size)
        .map_err(|e| without_order_content(client, resp.body(), e))
}

/// A decode error about an order body keeps a snippet for diagnosis, but never the
/// `order_content`: a delivered voucher code is money, and error `Debug` output ends up in
/// logs. A body that does not parse cannot be redacted field by field, so its snippet is
/// withheld.
fn without_order_content(client: &Client, body: &[u8], e: Error) -> Error {
    if e.body_snippet().is_none() {
        return e;
    }
    let snippet = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            redact_order_content(&mut v);
            serde_json::to_vec(&v).ok().map(|b| client.transport.snippet(&b))
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
