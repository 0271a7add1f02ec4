//! `GET /products`: the Robux products and their prices in tokens.
//!
//! The page documents the products as a table (id, Robux, tokens, USD) but not the JSON
//! field names. ASSUMPTION: `id`, `robux`, `tokens`, `usd`; the aliases `product_id`/`product`,
//! `robux_amount`, `price_tokens`/`token_price`/`price`, `price_usd`/`usd_price` are accepted,
//! as is a bare array or an object with a `products` (or `items`) array. Do not hard-code
//! prices: read them here and price packs with [`crate::packs::Totals`].

use payout_core::{Decimal, Request, Response, Result};
use serde::{Deserialize, Serialize};

use crate::client::Client;

payout_core::id! {
    /// A product id such as `robux_2200`.
    pub struct ProductId(String);
}

/// One Robux product.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Product {
    /// The id to order with, e.g. `robux_2200`.
    pub id: ProductId,
    /// Robux granted per unit.
    pub robux: u64,
    /// Price in tokens per unit, without WLID tokens.
    pub tokens: u64,
    /// The reference price in US dollars, if sent.
    #[serde(
        with = "payout_core::money::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub usd: Option<Decimal>,
    /// A display name, if sent (e.g. `"2200 Robux"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The accepted spellings of each field, in order of preference. A hand-written reader rather
/// than serde aliases: aliases fail on a body that carries two spellings at once (say a numeric
/// `id` and a `product_id`), and here the first usable one should simply win.
const ID_KEYS: &[&str] = &["product_id", "product", "id"];
const ROBUX_KEYS: &[&str] = &["robux", "robux_amount"];
const TOKENS_KEYS: &[&str] = &["tokens", "price_tokens", "token_price", "price"];
const USD_KEYS: &[&str] = &["usd", "price_usd", "usd_price"];

impl<'de> Deserialize<'de> for Product {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let mut take = |keys: &[&str]| -> Vec<(String, serde_json::Value)> {
            keys.iter()
                .filter_map(|k| map.remove(*k).map(|v| ((*k).to_string(), v)))
                .collect()
        };
        let ids = take(ID_KEYS);
        let robux = take(ROBUX_KEYS);
        let tokens = take(TOKENS_KEYS);
        let usd = take(USD_KEYS);
        let name = map.remove("name");
        // An id key that is not a product id (a numeric database id) goes back to `extra`.
        let mut id = None;
        for (k, v) in ids {
            match (&id, v) {
                (None, serde_json::Value::String(s)) if !s.is_empty() => id = Some(ProductId::new(s)),
                (_, v) => {
                    map.insert(k, v);
                }
            }
        }
        let id = id.ok_or_else(|| D::Error::custom("product has no string `id` (or `product_id`)"))?;
        let first_u64 =
            |vals: Vec<(String, serde_json::Value)>, what: &str| -> std::result::Result<u64, D::Error> {
                vals.into_iter()
                    .find_map(|(_, v)| crate::serde_util::u64_lenient(v).ok())
                    .ok_or_else(|| D::Error::custom(format!("product has no integer `{what}`")))
            };
        let robux = first_u64(robux, "robux")?;
        let tokens = first_u64(tokens, "tokens")?;
        let usd = usd
            .into_iter()
            .find_map(|(_, v)| payout_core::money::option_decimal::deserialize(v).ok().flatten());
        let name = name.and_then(|v| v.as_str().map(str::to_string));
        Ok(Product {
            id,
            robux,
            tokens,
            usd,
            name,
            extra: map,
        })
    }
}

impl Product {
    /// A product with its id, Robux and token price (for tests and offline pricing).
    pub fn new(id: impl Into<ProductId>, robux: u64, tokens: u64) -> Self {
        Product {
            id: id.into(),
            robux,
            tokens,
            usd: None,
            name: None,
            extra: serde_json::Map::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ProductListBody {
    Bare(Vec<Product>),
    Wrapped {
        #[serde(alias = "items")]
        products: Vec<Product>,
    },
}

/// `GET /products` as a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ListProducts;

impl ListProducts {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
}

/// Every product, as `GET /products` returns them.
pub type ProductList = Vec<Product>;

/// A bare array of products or `{"products": [...]}` (or `{"items": [...]}`); anything else
/// is a `Decode` error that keeps the status, never an empty list.
pub(crate) fn decode_products(resp: &Response) -> Result<ProductList> {
    Ok(match resp.json::<ProductListBody>()? {
        ProductListBody::Bare(p) | ProductListBody::Wrapped { products: p } => p,
    })
}

/// The handler for `/products`; see [`Client::products`].
#[derive(Debug, Clone, Copy)]
pub struct Products<'a> {
    pub(crate) client: &'a Client,
}

impl Products<'_> {
    /// `GET /products`: every product with its Robux amount and token price.
    pub async fn list(&self) -> Result<Vec<Product>> {
        self.client.send(&ListProducts).await
    }
}
