//! Orders: `POST /orders`, `GET /orders`, `GET /orders/{order_uid}` and
//! `POST /orders/{order_uid}/2fa`.
//!
//! # Creating an order is never retried
//!
//! `POST /orders` spends tokens and logs into a real Roblox account, and RomplHub offers no
//! idempotency key or client reference. Once the request may have reached RomplHub (a timeout,
//! a dropped connection or a 5xx after sending), the client does **not** send it again: it
//! returns [`payout_core::ErrorKind::Ambiguous`]. Then look for the order with
//! [`Orders::find_candidates`] (your recent orders of the same product and quantity) before
//! you decide to order again. Only a failure to connect (nothing was sent) is retried.
//!
//! # The 2FA flow
//!
//! After creation an order moves through `pending`, `authenticating`, `purchasing`,
//! `granting` to `completed` (or `failed`, tokens refunded automatically). If the account has
//! two-step verification and no `backup_code` was given, it stops at `waiting_2fa` until you
//! submit the code the account owner received. [`Orders::wait_until_final`] returns such an
//! order as soon as it sees it (the pause is a stop condition of the same poll):
//!
//! ```no_run
//! # async fn run(client: romplhub::Client) -> romplhub::Result<()> {
//! use std::time::Duration;
//! use romplhub::{CreateOrder, PollOptions};
//! let created = client.orders().create(&CreateOrder::new("user@roblox.com", "account-password", "robux_2200")).await?;
//! let order = client.orders().wait_until_final(&created.order_uid, &PollOptions::default()).await?;
//! if order.needs_2fa() {
//!     let code = String::from("847291"); // ask the account owner
//!     client.orders().submit_2fa(&created.order_uid, code).await?;
//!     // Not wait_until_final: the order may still read `waiting_2fa` for a moment.
//!     let order = client
//!         .orders()
//!         .wait_after_2fa(&created.order_uid, Duration::from_secs(60), &PollOptions::default())
//!         .await?;
//!     if order.needs_2fa() { /* the code was refused: ask for a new one */ }
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_core::Stream;
use payout_core::pagination::{next_offset, paginate};
use payout_core::poll::{Poll, wait_until};
use payout_core::{
    Error, ErrorKind, ExposeSecret, Page, PollOptions, Request, Response, Result, SecretString, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::PROVIDER;
use crate::client::{Client, json_body, redact_all};
use crate::packs::Totals;
use crate::products::{Product, ProductId};

payout_core::id! {
    /// An order id such as `VX-5A8115EA`; treat it as opaque.
    pub struct OrderUid(String);
}

payout_core::open_enum! {
    /// Where an order is in RomplHub's pipeline.
    pub enum OrderStatus {
        /// Queued for processing.
        Pending => "pending",
        /// Logging into the Roblox account.
        Authenticating => "authenticating",
        /// Needs a 2FA code: submit it with [`Orders::submit_2fa`].
        Waiting2fa => "waiting_2fa",
        /// Buying from the Microsoft Store.
        Purchasing => "purchasing",
        /// Granting Robux to the account.
        Granting => "granting",
        /// Done: the Robux were delivered.
        Completed => "completed",
        /// An error occurred (see [`Order::error_message`]); the tokens were refunded automatically.
        Failed => "failed",
    }
}

impl OrderStatus {
    /// True for `completed` and `failed`: the order will not change any more.
    pub fn is_final(&self) -> bool {
        matches!(self, OrderStatus::Completed | OrderStatus::Failed)
    }

    /// True for `waiting_2fa`: the order is stuck until you submit a code.
    pub fn needs_2fa(&self) -> bool {
        matches!(self, OrderStatus::Waiting2fa)
    }
}

/// Microsoft/Xbox WLID tokens for the account: with them RomplHub charges a flat 3-token fee
/// per order instead of the product's token price. Both values are secrets: they are sent to
/// RomplHub in the order's body but never serialized anywhere else (a request value stored in
/// a journal keeps no tokens), never shown by `Debug`, and masked in errors.
#[derive(Clone)]
pub struct WlidTokens {
    refresh_token: SecretString,
    wlid_token: SecretString,
}

impl fmt::Debug for WlidTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WlidTokens")
            .field("refresh_token", &"[REDACTED]")
            .field("wlid_token", &"[REDACTED]")
            .finish()
    }
}

impl WlidTokens {
    /// The refresh token (`M.C507_BAY...`) and the WLID token (`EwA...`).
    pub fn new(refresh_token: impl Into<SecretString>, wlid_token: impl Into<SecretString>) -> Self {
        WlidTokens {
            refresh_token: refresh_token.into(),
            wlid_token: wlid_token.into(),
        }
    }

    pub(crate) fn secrets(&self) -> [&SecretString; 2] {
        [&self.refresh_token, &self.wlid_token]
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.refresh_token.expose_secret().trim().is_empty() {
            return Err(Error::invalid_input(
                PROVIDER,
                "wlid_tokens.refresh_token",
                "must not be empty",
            ));
        }
        if self.wlid_token.expose_secret().trim().is_empty() {
            return Err(Error::invalid_input(
                PROVIDER,
                "wlid_tokens.wlid_token",
                "must not be empty",
            ));
        }
        Ok(())
    }
}

/// The wire form of [`WlidTokens`]: the only place they are written in clear.
#[derive(Serialize)]
pub(crate) struct WlidBody<'a> {
    #[serde(serialize_with = "payout_core::secret::expose")]
    refresh_token: &'a SecretString,
    #[serde(serialize_with = "payout_core::secret::expose")]
    wlid_token: &'a SecretString,
}

impl<'a> From<&'a WlidTokens> for WlidBody<'a> {
    fn from(w: &'a WlidTokens) -> Self {
        WlidBody {
            refresh_token: &w.refresh_token,
            wlid_token: &w.wlid_token,
        }
    }
}

/// The account part of an order's wire body (`POST /orders` adds the product and quantity;
/// `POST /packs/{id}/order` sends it alone). The only place the account's password, backup
/// code and WLID tokens are written in clear.
#[derive(Serialize)]
pub(crate) struct AccountBody<'a> {
    pub(crate) login: &'a str,
    #[serde(serialize_with = "payout_core::secret::expose")]
    pub(crate) password: &'a SecretString,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) product: Option<&'a ProductId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) quantity: Option<u32>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::serde_util::expose_opt_ref"
    )]
    pub(crate) backup_code: Option<&'a SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) webhook_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) wlid_tokens: Option<WlidBody<'a>>,
}

/// The flat fee, in tokens, of an order placed with [`WlidTokens`].
pub const WLID_FEE_TOKENS: u64 = 3;

/// `POST /orders` as a value: a Roblox account's login and password, the product, and
/// optionally a quantity, a backup code, a webhook URL and WLID tokens.
///
/// RomplHub has no idempotency key and no client reference for orders, so this value carries
/// no key (it does not implement `payout_core::Keyed`); after an
/// [`ErrorKind::Ambiguous`] use [`Orders::find_candidates`] with it.
///
/// Serializes (for a journal) **without its secrets**: the password, the backup code and the
/// WLID tokens are skipped, and a value read back has an empty password, so it fails
/// validation and can never be sent as is. The wire body is built separately, in
/// `build_request`.
#[derive(Clone, Serialize, Deserialize)]
pub struct CreateOrder {
    login: String,
    #[serde(skip, default = "crate::serde_util::no_secret")]
    password: SecretString,
    product: ProductId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quantity: Option<u32>,
    #[serde(skip)]
    backup_code: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_url: Option<String>,
    #[serde(skip)]
    wlid_tokens: Option<WlidTokens>,
}

impl fmt::Debug for CreateOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateOrder")
            .field("login", &self.login)
            .field("password", &"[REDACTED]")
            .field("product", &self.product)
            .field("quantity", &self.quantity)
            .field("backup_code", &self.backup_code.as_ref().map(|_| "[REDACTED]"))
            .field("webhook_url", &self.webhook_url.as_deref().map(redact_url))
            .field("wlid_tokens", &self.wlid_tokens)
            .finish()
    }
}

impl CreateOrder {
    /// An order of `product` (e.g. `"robux_2200"`) for the Roblox account `login` (its user
    /// name or e-mail) with its `password`. Costs the product's full token price unless
    /// [`CreateOrder::wlid_tokens`] is set.
    pub fn new(
        login: impl Into<String>,
        password: impl Into<SecretString>,
        product: impl Into<ProductId>,
    ) -> Self {
        CreateOrder {
            login: login.into(),
            password: password.into(),
            product: product.into(),
            quantity: None,
            backup_code: None,
            webhook_url: None,
            wlid_tokens: None,
        }
    }

    /// How many units of the product (at least 1; RomplHub's default is 1).
    pub fn quantity(mut self, quantity: u32) -> Self {
        self.quantity = Some(quantity);
        self
    }

    /// A Roblox 2-step backup code, so the order passes 2FA without stopping at `waiting_2fa`.
    pub fn backup_code(mut self, code: impl Into<SecretString>) -> Self {
        self.backup_code = Some(code.into());
        self
    }

    /// Where RomplHub POSTs `order.completed` / `order.failed` (see [`crate::webhook`]).
    /// Webhooks are not signed: add a random token of your own to the URL's query and confirm
    /// each event with [`crate::webhook::confirm`].
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Pays with WLID tokens: a flat fee of [`WLID_FEE_TOKENS`] instead of the product price.
    pub fn wlid_tokens(mut self, tokens: WlidTokens) -> Self {
        self.wlid_tokens = Some(tokens);
        self
    }

    /// The product ordered.
    pub fn product(&self) -> &ProductId {
        &self.product
    }

    /// The Roblox account credited (its user name or e-mail).
    pub fn login(&self) -> &str {
        &self.login
    }

    /// The quantity ordered (1 when not set, RomplHub's default).
    pub fn units(&self) -> u32 {
        self.quantity.unwrap_or(1)
    }

    /// Every secret in the body, for masking them in errors.
    pub(crate) fn secrets(&self) -> Vec<&SecretString> {
        account_secrets(
            &self.password,
            self.backup_code.as_ref(),
            self.wlid_tokens.as_ref(),
        )
    }

    /// Checks every field before anything is sent.
    pub fn validate(&self) -> Result<()> {
        validate_account(&self.login, &self.password, self.backup_code.as_ref())?;
        if self.product.as_str().trim().is_empty() || self.product.as_str().contains(char::is_whitespace) {
            return Err(Error::invalid_input(
                PROVIDER,
                "product",
                "must be a product id such as `robux_2200` (no spaces)",
            ));
        }
        if self.quantity == Some(0) {
            return Err(Error::invalid_input(PROVIDER, "quantity", "must be at least 1"));
        }
        if let Some(u) = &self.webhook_url {
            validate_webhook_url(u)?;
        }
        if let Some(w) = &self.wlid_tokens {
            w.validate()?;
        }
        Ok(())
    }

    /// Validates the value and fills the body and its redactions (called by the generated
    /// `payout_core::Endpoint` impl).
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let body = AccountBody {
            login: &self.login,
            password: &self.password,
            product: Some(&self.product),
            quantity: self.quantity,
            backup_code: self.backup_code.as_ref(),
            webhook_url: self.webhook_url.as_deref(),
            wlid_tokens: self.wlid_tokens.as_ref().map(WlidBody::from),
        };
        Ok(redact_all(json_body(req, &body)?, &self.secrets()))
    }

    /// True when `order` could be the one this request created: same product and quantity
    /// where the order reports them, and the same Roblox account where the order reports one
    /// (RomplHub's order object does not document the account, so it rarely can be compared).
    pub fn could_be(&self, order: &Order) -> bool {
        let product = order.product.as_ref().is_none_or(|p| p == &self.product);
        let quantity = order.quantity.is_none_or(|q| q == u64::from(self.units()));
        let login = match order.extra.get("login") {
            Some(serde_json::Value::String(l)) => l.trim().eq_ignore_ascii_case(self.login.trim()),
            _ => true,
        };
        product && quantity && login
    }

    /// What this order will cost and grant, priced from `products` (from
    /// [`crate::products::Products::list`]) before anything is sent: the product price ×
    /// quantity, or the flat [`WLID_FEE_TOKENS`] with WLID tokens (ASSUMPTION: per order,
    /// whatever the quantity). RomplHub's answer (`tokens_charged`) is authoritative.
    pub fn estimate(&self, products: &[Product]) -> Result<Totals> {
        let product = find_product(products, &self.product, "product")?;
        let qty = u64::from(self.quantity.unwrap_or(1));
        let robux = product
            .robux
            .checked_mul(qty)
            .ok_or_else(|| overflow("quantity"))?;
        let tokens = if self.wlid_tokens.is_some() {
            WLID_FEE_TOKENS
        } else {
            product
                .tokens
                .checked_mul(qty)
                .ok_or_else(|| overflow("quantity"))?
        };
        Ok(Totals { tokens, robux })
    }
}

pub(crate) fn overflow(field: &'static str) -> Error {
    Error::invalid_input(PROVIDER, field, "makes the total overflow")
}

pub(crate) fn find_product<'p>(
    products: &'p [Product],
    id: &ProductId,
    field: &'static str,
) -> Result<&'p Product> {
    products.iter().find(|p| &p.id == id).ok_or_else(|| {
        Error::invalid_input(
            PROVIDER,
            field,
            format!("names product `{id}`, which is not in the product list (see client.products().list())"),
        )
    })
}

pub(crate) fn account_secrets<'a>(
    password: &'a SecretString,
    backup_code: Option<&'a SecretString>,
    wlid: Option<&'a WlidTokens>,
) -> Vec<&'a SecretString> {
    let mut v = vec![password];
    v.extend(backup_code);
    if let Some(w) = wlid {
        v.extend(w.secrets());
    }
    v
}

pub(crate) fn validate_account(
    login: &str,
    password: &SecretString,
    backup_code: Option<&SecretString>,
) -> Result<()> {
    if login.trim().is_empty() {
        return Err(Error::invalid_input(PROVIDER, "login", "must not be empty"));
    }
    if password.expose_secret().is_empty() {
        return Err(Error::invalid_input(PROVIDER, "password", "must not be empty"));
    }
    if let Some(c) = backup_code
        && c.expose_secret().trim().is_empty()
    {
        return Err(Error::invalid_input(
            PROVIDER,
            "backup_code",
            "must not be empty when set (leave it unset instead)",
        ));
    }
    Ok(())
}

/// A webhook URL for `Debug`: without its query, fragment and user info. The crate's own
/// advice is to put a secret per-order token in the query, so it must not reach a log.
pub(crate) fn redact_url(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut p) => {
            let had_query = p.query().is_some() || p.fragment().is_some();
            p.set_query(None);
            p.set_fragment(None);
            let _ = p.set_password(None);
            let _ = p.set_username("");
            let mut out = p.to_string();
            if had_query {
                out.push_str("?[REDACTED]");
            }
            out
        }
        Err(_) => "[REDACTED]".to_string(),
    }
}

pub(crate) fn validate_webhook_url(u: &str) -> Result<()> {
    match url::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "http" | "https") && p.host_str().is_some() => Ok(()),
        _ => Err(Error::invalid_input(
            PROVIDER,
            "webhook_url",
            "must be an absolute http(s) URL",
        )),
    }
}

/// An order, as returned by create, get, list and pack orders. Only `order_uid` and `status`
/// are always present; the rest depends on the endpoint and the order's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Order {
    /// The order id (`VX-...`).
    pub order_uid: OrderUid,
    /// Where the order is.
    pub status: OrderStatus,
    /// Tokens charged (the product price, or 3 with WLID tokens; refunded if it fails).
    #[serde(default, deserialize_with = "crate::serde_util::opt_u64_lenient")]
    pub tokens_charged: Option<u64>,
    /// Robux in the product ordered (on creation).
    #[serde(default, deserialize_with = "crate::serde_util::opt_u64_lenient")]
    pub product_robux: Option<u64>,
    /// The product's display name (e.g. `"2200 Robux"`).
    #[serde(default)]
    pub product_name: Option<String>,
    /// The product id, if sent.
    #[serde(default)]
    pub product: Option<ProductId>,
    /// The quantity, if sent.
    #[serde(default, deserialize_with = "crate::serde_util::opt_u64_lenient")]
    pub quantity: Option<u64>,
    /// The account's Robux balance before the order.
    #[serde(default, deserialize_with = "crate::serde_util::opt_u64_lenient")]
    pub robux_before: Option<u64>,
    /// The account's Robux balance after the order.
    #[serde(default, deserialize_with = "crate::serde_util::opt_u64_lenient")]
    pub robux_after: Option<u64>,
    /// Robux granted (set once completed).
    #[serde(default, deserialize_with = "crate::serde_util::opt_u64_lenient")]
    pub robux_granted: Option<u64>,
    /// Why the order failed (with status `failed`).
    #[serde(default)]
    pub error_message: Option<String>,
    /// When the order was created, if sent (`created_at`: RomplHub's documentation shows no
    /// time on an order, so name and format are an ASSUMPTION), as a [`Timestamp`]: the text
    /// as sent, and the instant when it is an RFC 3339 date-time with an offset. A date-time
    /// without an offset (what a FastAPI backend writes for a naive time) is kept with no
    /// instant, since its zone is unknown.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Order {
    /// True when the order is stuck at `waiting_2fa`.
    pub fn needs_2fa(&self) -> bool {
        self.status.needs_2fa()
    }

    /// True when the order will not change any more (`completed` or `failed`).
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }
}

/// `GET /orders/{order_uid}` as a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GetOrder {
    order_uid: OrderUid,
}

impl GetOrder {
    /// Reads the order `order_uid`.
    pub fn new(order_uid: impl Into<OrderUid>) -> Self {
        GetOrder {
            order_uid: order_uid.into(),
        }
    }

    /// The order read.
    pub fn order_uid(&self) -> &OrderUid {
        &self.order_uid
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req.path(order_path(&self.order_uid, "")?))
    }
}

/// `GET /orders` as a value: an optional status filter and limit/offset paging. Sent with
/// [`Client::send`] it returns the raw [`OrderList`]; [`Orders::list`] returns a [`Page`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListOrders {
    status: Option<OrderStatus>,
    limit: Option<u32>,
    offset: Option<u64>,
}

/// The page size [`Orders::stream`] uses when the filter sets no limit (the documented example).
pub const DEFAULT_PAGE_SIZE: u32 = 50;

impl ListOrders {
    /// All orders, RomplHub's default page size.
    pub fn new() -> Self {
        ListOrders::default()
    }
    /// Only orders with this status.
    pub fn status(mut self, status: OrderStatus) -> Self {
        self.status = Some(status);
        self
    }
    /// At most this many orders per page (at least 1).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Skip this many orders.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }
    /// Checks the filter before anything is sent.
    pub fn validate(&self) -> Result<()> {
        if self.limit == Some(0) {
            return Err(Error::invalid_input(PROVIDER, "limit", "must be at least 1"));
        }
        Ok(())
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        Ok(req
            .query_opt("status", self.status.as_ref().map(|s| s.as_str().to_string()))
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset))
    }
}

/// The answer to `GET /orders`: `{total, orders}`. The `orders` array is required: an answer
/// without it is a `Decode` error that keeps the status, never an empty page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrderList {
    /// How many orders match the filter, if sent.
    #[serde(default, deserialize_with = "crate::serde_util::opt_u64_lenient")]
    pub total: Option<u64>,
    /// This page of orders.
    pub orders: Vec<Order>,
}

/// The answer to `POST /orders/{order_uid}/2fa`. RomplHub's API page does not show it
/// (ASSUMPTION): the updated order or a short acknowledgement is expected, so every field is
/// optional, and an empty body reads as all `None`. A member named `code` is never kept.
/// Follow up with [`Orders::wait_after_2fa`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct TwoFactorSubmitted {
    /// The order id, if echoed.
    #[serde(default)]
    pub order_uid: Option<OrderUid>,
    /// The order's status after the code was accepted, if sent.
    #[serde(default)]
    pub status: Option<OrderStatus>,
    /// A human-readable note, if sent.
    #[serde(default)]
    pub message: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `POST /orders/{order_uid}/2fa` as a value: the 2FA code (from e-mail or an authenticator)
/// for an order in `waiting_2fa`. The code is a secret: never serialized, never shown by
/// `Debug`, masked in errors. Surrounding whitespace (a pasted newline) is not sent.
#[derive(Clone)]
pub struct SubmitTwoFactor {
    order_uid: OrderUid,
    code: SecretString,
}

impl fmt::Debug for SubmitTwoFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmitTwoFactor")
            .field("order_uid", &self.order_uid)
            .field("code", &"[REDACTED]")
            .finish()
    }
}

#[derive(Serialize)]
struct TwoFactorBody<'a> {
    #[serde(serialize_with = "payout_core::secret::expose")]
    code: &'a SecretString,
}

impl SubmitTwoFactor {
    /// Submits `code` for the order `order_uid`.
    pub fn new(order_uid: impl Into<OrderUid>, code: impl Into<SecretString>) -> Self {
        SubmitTwoFactor {
            order_uid: order_uid.into(),
            code: code.into(),
        }
    }

    /// The order the code is for.
    pub fn order_uid(&self) -> &OrderUid {
        &self.order_uid
    }

    /// The code as sent: trimmed and checked.
    fn code(&self) -> Result<SecretString> {
        let c = self.code.expose_secret().trim();
        if c.is_empty() || c.len() > 64 || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') {
            return Err(Error::invalid_input(
                PROVIDER,
                "code",
                "must be 1 to 64 ASCII letters, digits or dashes",
            ));
        }
        Ok(SecretString::from(c))
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        let code = self.code()?;
        let path = order_path(&self.order_uid, "/2fa")?;
        Ok(json_body(req.path(path), &TwoFactorBody { code: &code })?
            .redact(&code)
            .redact(&self.code))
    }
}

/// Decodes the answer to `POST /orders/{order_uid}/2fa`: an empty body is an empty
/// acknowledgement, and a `code` member is dropped so the code never reaches a `Debug`.
pub(crate) fn decode_2fa(resp: &Response) -> Result<TwoFactorSubmitted> {
    if resp.body().iter().all(u8::is_ascii_whitespace) {
        return Ok(TwoFactorSubmitted::default());
    }
    let mut ack: TwoFactorSubmitted = resp.json()?;
    ack.extra.remove("code");
    Ok(ack)
}

/// How many of your most recent orders [`Orders::find_candidates`] reads at most.
pub const CANDIDATE_SCAN_LIMIT: usize = 200;

/// The handler for `/orders`; see [`Client::orders`].
#[derive(Debug, Clone, Copy)]
pub struct Orders<'a> {
    pub(crate) client: &'a Client,
}

pub(crate) fn order_path(uid: &OrderUid, suffix: &str) -> Result<String> {
    if uid.as_str().trim().is_empty() {
        return Err(Error::invalid_input(PROVIDER, "order_uid", "must not be empty"));
    }
    Ok(format!(
        "/orders/{}{suffix}",
        payout_core::encode_path_segment(uid.as_str())
    ))
}

/// The advice an unknown order outcome carries: RomplHub has nothing to look an order up by.
pub(crate) const AMBIGUOUS_ORDER_ADVICE: &str = "RomplHub has no idempotency key: do not order again blindly; \
find the order with client.orders().find_candidates(&req, since) (your recent orders of the same product \
and quantity) and wait for it, or check it later";

/// Adds [`AMBIGUOUS_ORDER_ADVICE`] to an error whose order may exist.
pub(crate) fn advise_on_unknown(e: Error) -> Error {
    if e.kind() == ErrorKind::Ambiguous || e.may_have_succeeded() {
        // An undecodable 2xx (a truncated 201) on an order that spends tokens is an unknown
        // outcome like a timeout: the soak found the order existed every time. It is reported
        // as Ambiguous, so a caller matching on that kind never takes it for a failure.
        e.with_kind(ErrorKind::Ambiguous)
            .with_advice(AMBIGUOUS_ORDER_ADVICE)
    } else {
        e
    }
}

/// The verdict of [`Orders::wait_until_final`] on one state.
fn final_or_2fa(order: &Order) -> Poll {
    if order.is_final() {
        Poll::Final
    } else if order.needs_2fa() {
        Poll::Stop("waiting_2fa: the order needs a 2FA code")
    } else {
        Poll::Pending
    }
}

impl Orders<'_> {
    /// `POST /orders`: buys Robux for the account, paid in tokens (201 Created).
    ///
    /// **Never re-sent** once the request may have left: a timeout, dropped connection or 5xx
    /// after sending, or a 2xx whose body does not decode, returns [`ErrorKind::Ambiguous`]. Look for the order with [`Orders::find_candidates`]
    /// before creating it again. A 402 means the balance is too low.
    pub async fn create(&self, req: &CreateOrder) -> Result<Order> {
        self.client.send(req).await.map_err(advise_on_unknown)
    }

    /// `GET /orders/{order_uid}`: the order's current state.
    pub async fn get(&self, order_uid: impl Into<OrderUid>) -> Result<Order> {
        self.client.send(&GetOrder::new(order_uid)).await
    }

    /// `GET /orders?status=&limit=&offset=`: one page of orders, with the total and the offset
    /// of the next page (`None` on the last one).
    pub async fn list(&self, filter: &ListOrders) -> Result<Page<Order, u64>> {
        let list = self.client.send(filter).await?;
        let offset = filter.offset.unwrap_or(0);
        let received = list.orders.len();
        // Without a limit, a full page is whatever the provider's default size was.
        let limit = filter.limit.map_or(received as u64, u64::from);
        Ok(Page {
            next: next_offset(offset, limit, received, list.total),
            total: list.total,
            items: list.orders,
        })
    }

    /// Every order matching `filter`, page after page ([`DEFAULT_PAGE_SIZE`] per page unless
    /// the filter sets a limit), starting at the filter's offset.
    pub fn stream(&self, filter: ListOrders) -> impl Stream<Item = Result<Order>> + Send + 'static {
        let client = self.client.clone();
        let filter = match filter.limit {
            Some(_) => filter,
            None => filter.limit(DEFAULT_PAGE_SIZE),
        };
        let start = filter.offset.unwrap_or(0);
        paginate(PROVIDER, start, move |offset| {
            let client = client.clone();
            let f = filter.clone().offset(offset);
            async move { client.orders().list(&f).await }
        })
    }

    /// At most `max` orders matching `filter`; stops fetching pages once `max` are read.
    pub async fn collect_all(&self, filter: ListOrders, max: usize) -> Result<Vec<Order>> {
        payout_core::collect_all(self.stream(filter), max).await
    }

    /// After an [`ErrorKind::Ambiguous`] `create(&req)`: the orders that could be the one
    /// `req` created, newest first, so you can wait for it instead of paying again.
    ///
    /// RomplHub has no idempotency key and no client reference, so nothing identifies the
    /// order for certain. This reads your orders as `GET /orders` lists them and keeps those
    /// with the request's product and quantity (and its Roblox account, where an order reports
    /// one; see [`CreateOrder::could_be`]). It stops at `since`, the newest order id you knew
    /// **before** sending `req` (that order and the ones listed after it are not returned), or
    /// after [`CANDIDATE_SCAN_LIMIT`] orders.
    ///
    /// ASSUMPTION: RomplHub's API page does not state the order of `GET /orders`; newest first
    /// is assumed (as the sandbox does). If your account lists oldest first, pass `None`, so
    /// that no order is skipped.
    ///
    /// An empty answer does not prove that nothing was ordered (RomplHub may list a new order
    /// a moment late): look again later before ordering anew. Several candidates mean several
    /// orders of the same product for the account: decide with your own records.
    pub async fn find_candidates(&self, req: &CreateOrder, since: Option<&OrderUid>) -> Result<Vec<Order>> {
        use std::pin::pin;
        let mut stream = pin!(self.stream(ListOrders::new()));
        let mut out = Vec::new();
        let mut read = 0usize;
        while read < CANDIDATE_SCAN_LIMIT {
            let next = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await;
            let Some(order) = next else { break };
            let order = order?;
            read += 1;
            if since.is_some_and(|s| s == &order.order_uid) {
                break;
            }
            if req.could_be(&order) {
                out.push(order);
            }
        }
        Ok(out)
    }

    /// `POST /orders/{order_uid}/2fa`: submits the 2FA code (from e-mail or an authenticator)
    /// for an order in `waiting_2fa`. The code is a secret and never logged. Never re-sent once
    /// it may have left (codes are single-use).
    pub async fn submit_2fa(
        &self,
        order_uid: impl Into<OrderUid>,
        code: impl Into<SecretString>,
    ) -> Result<TwoFactorSubmitted> {
        let req = SubmitTwoFactor::new(order_uid, code);
        let mut ack = self.client.send(&req).await?;
        // An answer that echoes the code must not carry it into a `Debug` of the result.
        if let Ok(code) = req.code() {
            ack.extra
                .retain(|_, v| v.as_str().is_none_or(|s| s.trim() != code.expose_secret()));
        }
        Ok(ack)
    }

    /// Polls `GET /orders/{order_uid}` (through `payout_core::poll::wait_until`) until the
    /// order is final (`completed`, `failed`) or needs a 2FA code (`waiting_2fa`, a stop
    /// condition of the same loop), and returns it. On `waiting_2fa`, ask the account owner
    /// for the code, call [`Orders::submit_2fa`], then wait with [`Orders::wait_after_2fa`]
    /// (not this method: it would return the stale `waiting_2fa`).
    ///
    /// At the options' deadline it fails with [`ErrorKind::Timeout`] carrying the last order
    /// seen (`err.last_state::<Order>()`); the order is still in progress, so wait again,
    /// never order again. Failed lookups follow [`PollOptions::on_lookup_error`].
    pub async fn wait_until_final(
        &self,
        order_uid: impl Into<OrderUid>,
        options: &PollOptions,
    ) -> Result<Order> {
        let req = GetOrder::new(order_uid);
        wait_until(PROVIDER, options, || self.client.send(&req), final_or_2fa).await
    }

    /// Polls after [`Orders::submit_2fa`] until the order is final, or needs a code again.
    ///
    /// Right after a submission the order usually still reads `waiting_2fa` for a moment,
    /// so [`Orders::wait_until_final`] would hand that stale state straight back and your
    /// application would ask the account owner for a code they already gave (codes are
    /// single-use). This waits instead: a `waiting_2fa` counts as "still checking the code"
    /// until the order leaves that state or `code_grace` has passed (60 s is a fair value).
    /// A returned order that [`needs_2fa`](Order::needs_2fa) therefore really asks for a new
    /// code. At the deadline: [`ErrorKind::Timeout`] with the last order seen.
    pub async fn wait_after_2fa(
        &self,
        order_uid: impl Into<OrderUid>,
        code_grace: Duration,
        options: &PollOptions,
    ) -> Result<Order> {
        let req = GetOrder::new(order_uid);
        let grace_end = tokio::time::Instant::now() + code_grace;
        let left_2fa = AtomicBool::new(false);
        let judge = move |order: &Order| {
            if order.is_final() {
                Poll::Final
            } else if order.needs_2fa() {
                let checking_code =
                    !left_2fa.load(Ordering::Relaxed) && tokio::time::Instant::now() < grace_end;
                if checking_code {
                    Poll::Pending
                } else {
                    Poll::Stop("waiting_2fa again: the code was not accepted")
                }
            } else {
                left_2fa.store(true, Ordering::Relaxed);
                Poll::Pending
            }
        };
        wait_until(PROVIDER, options, || self.client.send(&req), judge).await
    }
}
