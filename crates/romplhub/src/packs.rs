//! Packs: saved bundles of products. `POST /packs`, `GET /packs`, `DELETE /packs/{id}` and
//! `POST /packs/{id}/order`, plus client-side pricing ([`Totals`]) so you can show what a
//! pack costs before ordering it.
//!
//! ASSUMPTION: only the create request is documented. The pack object is read as
//! `{id, name, items, total_tokens, total_robux}` with every field but `id` optional (an id may
//! be a number or a string), the list as a bare array or `{"packs": [...]}`, and the order
//! answer as an array of orders or `{"orders": [...]}`.
//!
//! Ordering a pack creates one order per item and spends tokens: like
//! [`crate::orders::Orders::create`], it is never re-sent once the request may have left.

use std::fmt;

use payout_core::{Error, Request, Result, SecretString};
use serde::{Deserialize, Serialize};

use crate::PROVIDER;
use crate::client::{Client, json_body, redact_all};
use crate::orders::{
    Order, WLID_FEE_TOKENS, WlidTokens, account_secrets, find_product, overflow, redact_url,
    validate_account, validate_webhook_url,
};
use crate::products::{Product, ProductId};
use crate::serde_util::string_id;

string_id! {
    /// A pack id (RomplHub may send a number; it is kept as its decimal text).
    PackId
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

/// The body of `POST /packs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// Its items.
    #[serde(default)]
    pub items: Vec<PackItem>,
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
    /// since the pack was saved).
    pub fn totals(&self, products: &[Product]) -> Result<Totals> {
        Totals::of(&self.items, products)
    }
}

/// The body of `POST /packs/{id}/order`: the Roblox account to credit, and optionally a
/// backup code, a webhook URL and WLID tokens (a flat fee per resulting order).
#[derive(Clone, Serialize)]
pub struct OrderPack {
    login: String,
    #[serde(serialize_with = "payout_core::secret::expose")]
    password: SecretString,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "payout_core::secret::expose_option"
    )]
    backup_code: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wlid_tokens: Option<WlidTokens>,
}

impl fmt::Debug for OrderPack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderPack")
            .field("login", &self.login)
            .field("password", &"[REDACTED]")
            .field("backup_code", &self.backup_code.as_ref().map(|_| "[REDACTED]"))
            .field("webhook_url", &self.webhook_url.as_deref().map(redact_url))
            .field("wlid_tokens", &self.wlid_tokens)
            .finish()
    }
}

impl OrderPack {
    /// Orders the pack for the Roblox account `login` with its `password`.
    pub fn new(login: impl Into<String>, password: impl Into<SecretString>) -> Self {
        OrderPack {
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
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PackList {
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
        req.validate()?;
        let request = json_body(Request::post("packs.create", "/packs"), req)?;
        self.client.send(request).await?.json()
    }

    /// `GET /packs`: every saved pack.
    pub async fn list(&self) -> Result<Vec<Pack>> {
        let list: PackList = self
            .client
            .send(Request::get("packs.list", "/packs"))
            .await?
            .json()?;
        Ok(match list {
            PackList::Bare(p) | PackList::Wrapped { packs: p } => p,
        })
    }

    /// `DELETE /packs/{id}`: deletes a pack (retried like a read: deleting twice changes
    /// nothing). A 404 means it was already gone.
    pub async fn delete(&self, id: impl Into<PackId>) -> Result<()> {
        let path = pack_path(&id.into(), "")?;
        self.client
            .send(Request::delete("packs.delete", "/packs/{id}").path(path))
            .await?;
        Ok(())
    }

    /// `POST /packs/{id}/order`: orders every item of the pack for the account, one order per
    /// item, and returns those orders. Spends tokens: **never re-sent** once the request may
    /// have left; on [`payout_core::ErrorKind::Ambiguous`] list your orders before trying
    /// again.
    pub async fn order(&self, id: impl Into<PackId>, req: &OrderPack) -> Result<Vec<Order>> {
        req.validate()?;
        let path = pack_path(&id.into(), "/order")?;
        let secrets = account_secrets(&req.password, req.backup_code.as_ref(), req.wlid_tokens.as_ref());
        let request = redact_all(
            json_body(Request::post("packs.order", "/packs/{id}/order").path(path), req)?,
            &secrets,
        );
        let orders: OrderArray = self.client.send(request).await?.json()?;
        Ok(match orders {
            OrderArray::Bare(o) | OrderArray::Wrapped { orders: o } => o,
        })
    }
}
