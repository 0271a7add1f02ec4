//! Packs: saved bundles of products. `POST /packs`, `GET /packs`, `DELETE /packs/{id}` and
//! `POST /packs/{id}/order`, plus client-side pricing ([`Totals`]) so you can show what a
//! pack costs before ordering it.
//!
//! ASSUMPTION: RomplHub's API page documents only the create request. The pack object is read
//! as `{id, name, items, total_tokens, total_robux}` with every field but `id` optional (an id
//! may be a number or a string; `items` is `None` when not sent, never an empty list), the list
//! as a bare array or `{"packs": [...]}`, and the order answer as an array of orders or
//! `{"orders": [...]}`. Any other shape is a `Decode` error that keeps the status.
//!
//! Ordering a pack creates one order per item and spends tokens: like
//! [`crate::orders::Orders::create`], it is never re-sent once the request may have left.

use std::fmt;

use payout_core::{Error, Request, Response, Result, SecretString};
use serde::{Deserialize, Serialize};

use crate::PROVIDER;
use crate::client::{Client, json_body, redact_all};
use crate::orders::{
    AccountBody, Order, WLID_FEE_TOKENS, WlidBody, WlidTokens, account_secrets, advise_on_unknown,
    find_product, overflow, redact_url, validate_account, validate_webhook_url,
};
use crate::products::{Product, ProductId};

payout_core::id! {
    /// A pack id (RomplHub may send a number; it is kept as its decimal text).
    pub struct PackId(String);
}

/// One line of a pack: a product and how many of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PackItem {
    /// The product id, e.g. `robux_550`.
    pub product: ProductId,
    /// How many units (at least 1).
    #[serde(default = "one")]
    pub quantity: u32,
}

fn one() -> u32 {
    1
}

impl PackItem {
    /// `quantity` units of `product`.
    pub fn new(product: impl Into<ProductId>, quantity: u32) -> Self {
        PackItem {
            product: product.into(),
            quantity,
        }
    }
}

/// What a set of items costs in tokens and grants in Robux, computed from the product list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Totals {
    /// Tokens charged.
    pub tokens: u64,
    /// Robux granted.
    pub robux: u64,
}

impl Totals {
    /// Sums price × quantity and Robux × quantity over `items`, priced from `products`
    /// (from [`crate::products::Products::list`]). Fails with an input error naming the
    /// first product not in the list.
    ///
    /// ```
    /// use romplhub::{PackItem, Product, Totals};
    /// let products = [Product::new("robux_550", 550, 25), Product::new("robux_1000", 1000, 45)];
    /// let items = [PackItem::new("robux_550", 2), PackItem::new("robux_1000", 1)];
    /// let totals = Totals::of(&items, &products)?;
    /// assert_eq!((totals.tokens, totals.robux), (95, 2100));
    /// # Ok::<(), romplhub::Error>(())
    /// ```
    pub fn of(items: &[PackItem], products: &[Product]) -> Result<Totals> {
        let mut t = Totals::default();
        for item in items {
            let p = find_product(products, &item.product, "items.product")?;
            let q = u64::from(item.quantity);
            let tokens = p
                .tokens
                .checked_mul(q)
                .ok_or_else(|| overflow("items.quantity"))?;
            let robux = p.robux.checked_mul(q).ok_or_else(|| overflow("items.quantity"))?;
            t.tokens = t.tokens.checked_add(tokens).ok_or_else(|| overflow("items"))?;
            t.robux = t.robux.checked_add(robux).ok_or_else(|| overflow("items"))?;
        }
        Ok(t)
    }
}

/// `POST /packs` as a value: a name and its items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePack {
    name: String,
    items: Vec<PackItem>,
}

impl CreatePack {
    /// A pack called `name` with no items yet; add them with [`CreatePack::item`].
    pub fn new(name: impl Into<String>) -> Self {
        CreatePack {
            name: name.into(),
            items: Vec::new(),
        }
    }

    /// Adds `quantity` units of `product`.
    pub fn item(mut self, product: impl Into<ProductId>, quantity: u32) -> Self {
        self.items.push(PackItem::new(product, quantity));
        self
    }

    /// The items so far.
    pub fn items(&self) -> &[PackItem] {
        &self.items
    }

    /// What the pack will cost and grant, priced from `products`.
    pub fn totals(&self, products: &[Product]) -> Result<Totals> {
        Totals::of(&self.items, products)
    }

    /// Checks every field before anything is sent.
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid_input(PROVIDER, "name", "must not be empty"));
        }
        if self.items.is_empty() {
            return Err(Error::invalid_input(
                PROVIDER,
                "items",
                "must contain at least one item",
            ));
        }
        for item in &self.items {
            if item.product.as_str().trim().is_empty() {
                return Err(Error::invalid_input(
                    PROVIDER,
                    "items.product",
                    "must not be empty",
                ));
            }
            if item.quantity == 0 {
                return Err(Error::invalid_input(
                    PROVIDER,
                    "items.quantity",
                    "must be at least 1",
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        json_body(req, self)
    }
}

/// A saved pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Pack {
    /// The pack id, for [`Packs::delete`] and [`Packs::order`].
    pub id: PackId,
    /// The pack's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its items; `None` when RomplHub did not send them (never read as an empty pack).
    #[serde(default)]
    pub items: Option<Vec<PackItem>>,
    /// The total token price, if RomplHub sends it.
    #[serde(default, deserialize_with = "crate::serde_util::opt_u64_lenient")]
    pub total_tokens: Option<u64>,
    /// The total Robux, if RomplHub sends it.
    #[serde(default, deserialize_with = "crate::serde_util::opt_u64_lenient")]
    pub total_robux: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Pack {
    /// What the pack costs and grants today, priced from `products` (prices may have changed
    /// since the pack was saved). Fails with a `Decode` error when RomplHub did not send the
    /// pack's items.
    pub fn totals(&self, products: &[Product]) -> Result<Totals> {
        match &self.items {
            Some(items) => Totals::of(items, products),
            None => Err(Error::decode(
                PROVIDER,
                None,
                format!("pack {} came without its `items`: list the packs again", self.id),
            )),
        }
    }
}

/// `POST /packs/{id}/order` as a value: the pack, the Roblox account to credit, and
/// optionally a backup code, a webhook URL and WLID tokens (a flat fee per resulting order).
///
/// Like [`crate::CreateOrder`] it carries no key (RomplHub has none) and serializes (for a
/// journal) **without its secrets**: the password, backup code and WLID tokens are skipped,
/// and a value read back has an empty password, so it fails validation and cannot be sent.
#[derive(Clone, Serialize, Deserialize)]
pub struct OrderPack {
    pack: PackId,
    login: String,
    #[serde(skip, default = "crate::serde_util::no_secret")]
    password: SecretString,
    #[serde(skip)]
    backup_code: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_url: Option<String>,
    #[serde(skip)]
    wlid_tokens: Option<WlidTokens>,
}

impl fmt::Debug for OrderPack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderPack")
            .field("pack", &self.pack)
            .field("login", &self.login)
            .field("password", &"[REDACTED]")
            .field("backup_code", &self.backup_code.as_ref().map(|_| "[REDACTED]"))
            .field("webhook_url", &self.webhook_url.as_deref().map(redact_url))
            .field("wlid_tokens", &self.wlid_tokens)
            .finish()
    }
}

impl OrderPack {
    /// Orders the pack `pack` for the Roblox account `login` with its `password`.
    pub fn new(pack: impl Into<PackId>, login: impl Into<String>, password: impl Into<SecretString>) -> Self {
        OrderPack {
            pack: pack.into(),
            login: login.into(),
            password: password.into(),
            backup_code: None,
            webhook_url: None,
            wlid_tokens: None,
        }
    }

    /// A Roblox 2-step backup code, so the orders pass 2FA without waiting.
    pub fn backup_code(mut self, code: impl Into<SecretString>) -> Self {
        self.backup_code = Some(code.into());
        self
    }

    /// Where RomplHub POSTs each order's `order.completed` / `order.failed`.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Pays with WLID tokens: a flat [`WLID_FEE_TOKENS`] per resulting order.
    pub fn wlid_tokens(mut self, tokens: WlidTokens) -> Self {
        self.wlid_tokens = Some(tokens);
        self
    }

    /// What ordering `items` this way costs and grants: the pack's [`Totals`], or with WLID
    /// tokens the flat fee once per item (one order per item).
    pub fn estimate(&self, items: &[PackItem], products: &[Product]) -> Result<Totals> {
        let mut t = Totals::of(items, products)?;
        if self.wlid_tokens.is_some() {
            t.tokens = WLID_FEE_TOKENS
                .checked_mul(items.len() as u64)
                .ok_or_else(|| overflow("items"))?;
        }
        Ok(t)
    }

    /// The pack ordered.
    pub fn pack(&self) -> &PackId {
        &self.pack
    }

    /// Checks every field before anything is sent.
    pub fn validate(&self) -> Result<()> {
        validate_account(&self.login, &self.password, self.backup_code.as_ref())?;
        if let Some(u) = &self.webhook_url {
            validate_webhook_url(u)?;
        }
        if let Some(w) = &self.wlid_tokens {
            w.validate()?;
        }
        Ok(())
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let path = pack_path(&self.pack, "/order")?;
        let body = AccountBody {
            login: &self.login,
            password: &self.password,
            product: None,
            quantity: None,
            backup_code: self.backup_code.as_ref(),
            webhook_url: self.webhook_url.as_deref(),
            wlid_tokens: self.wlid_tokens.as_ref().map(WlidBody::from),
        };
        let secrets = account_secrets(
            &self.password,
            self.backup_code.as_ref(),
            self.wlid_tokens.as_ref(),
        );
        Ok(redact_all(json_body(req.path(path), &body)?, &secrets))
    }
}

/// `GET /packs` as a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ListPacks;

impl ListPacks {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
}

/// `DELETE /packs/{id}` as a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeletePack {
    id: PackId,
}

impl DeletePack {
    /// Deletes the pack `id`.
    pub fn new(id: impl Into<PackId>) -> Self {
        DeletePack { id: id.into() }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req.path(pack_path(&self.id, "")?))
    }
}

/// The answer to `DELETE /packs/{id}`: RomplHub's API page does not show it (204 or a small
/// JSON acknowledgement are both accepted), so it carries nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Deleted;

/// Every saved pack, as `GET /packs` returns them.
pub type PackList = Vec<Pack>;

/// The orders `POST /packs/{id}/order` created, one per pack item.
pub type PackOrders = Vec<Order>;

/// Any 2xx answer to a delete: its body is not documented and not needed.
pub(crate) fn decode_deleted(_resp: &Response) -> Result<Deleted> {
    Ok(Deleted)
}

/// A bare array of packs or `{"packs": [...]}` (or `{"items": [...]}`); anything else is a
/// `Decode` error that keeps the status.
pub(crate) fn decode_packs(resp: &Response) -> Result<PackList> {
    Ok(match resp.json::<PackListBody>()? {
        PackListBody::Bare(p) | PackListBody::Wrapped { packs: p } => p,
    })
}

/// A bare array of orders or `{"orders": [...]}`; anything else is a `Decode` error that
/// keeps the status (and, the call having spent tokens, is marked "may have succeeded").
pub(crate) fn decode_pack_orders(resp: &Response) -> Result<PackOrders> {
    Ok(match resp.json::<OrderArray>()? {
        OrderArray::Bare(o) | OrderArray::Wrapped { orders: o } => o,
    })
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PackListBody {
    Bare(Vec<Pack>),
    Wrapped {
        #[serde(alias = "items")]
        packs: Vec<Pack>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OrderArray {
    Bare(Vec<Order>),
    Wrapped { orders: Vec<Order> },
}

/// The handler for `/packs`; see [`Client::packs`].
#[derive(Debug, Clone, Copy)]
pub struct Packs<'a> {
    pub(crate) client: &'a Client,
}

fn pack_path(id: &PackId, suffix: &str) -> Result<String> {
    if id.as_str().trim().is_empty() {
        return Err(Error::invalid_input(PROVIDER, "id", "must not be empty"));
    }
    Ok(format!(
        "/packs/{}{suffix}",
        payout_core::encode_path_segment(id.as_str())
    ))
}

impl Packs<'_> {
    /// `POST /packs`: saves a pack. Moves no money; still never re-sent once it may have left,
    /// so a lost answer cannot save the pack twice.
    pub async fn create(&self, req: &CreatePack) -> Result<Pack> {
        self.client.send(req).await
    }

    /// `GET /packs`: every saved pack.
    pub async fn list(&self) -> Result<Vec<Pack>> {
        self.client.send(&ListPacks).await
    }

    /// `DELETE /packs/{id}`: deletes a pack (retried like a read: deleting twice changes
    /// nothing). A 404 means it was already gone.
    pub async fn delete(&self, id: impl Into<PackId>) -> Result<()> {
        self.client.send(&DeletePack::new(id)).await.map(|_| ())
    }

    /// `POST /packs/{id}/order`: orders every item of the pack for the account, one order per
    /// item, and returns those orders. Spends tokens: **never re-sent** once the request may
    /// have left; on [`payout_core::ErrorKind::Ambiguous`] look for the orders with
    /// [`crate::orders::Orders::find_candidates`] (one per pack item) before trying again.
    pub async fn order(&self, req: &OrderPack) -> Result<Vec<Order>> {
        self.client.send(req).await.map_err(advise_on_unknown)
    }
}
