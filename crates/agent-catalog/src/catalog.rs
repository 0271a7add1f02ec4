//! The catalog: product types, product categories, products, and [`Catalog`], a snapshot of
//! all three with lookups and an explicit refresh.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use futures_core::Stream;
use payout_core::{Decimal, Error, Page, Request, Result};
use serde::{Deserialize, Serialize};

use crate::client::{Client, PROVIDER};
use crate::list::check_paging;

payout_core::id! {
    /// A product type id (`1`). Look types up by [`ProductTypeCode`] rather than hard-coding ids.
    pub struct ProductTypeId(i64);
}
payout_core::id! {
    /// A product category id.
    pub struct CategoryId(i64);
}
payout_core::id! {
    /// A product id (`456`).
    pub struct ProductId(i64);
}

payout_core::open_enum! {
    /// The canonical product types; they decide how an order is placed and delivered.
    pub enum ProductTypeCode {
        /// A voucher or PIN, delivered in the order's `order_content` (`voucher_code`).
        RedeemCard => "redeem_card",
        /// A fixed-denomination credit sent straight to an account.
        DirectTransfer => "direct_transfer",
        /// An open-amount top-up: the order needs a [`crate::TopupRequest`] with the amount and
        /// the vendor-specific `customer_account` fields.
        DirectTopUp => "direct_top_up",
    }
}

/// A product type (Plexy Gate agent API documentation, "List product types").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductType {
    /// The id products refer to in `product_type_id`.
    pub id: ProductTypeId,
    /// The stable code (`redeem_card`, `direct_transfer`, `direct_top_up`).
    pub code: ProductTypeCode,
    /// A display name ("Redeemable Card").
    #[serde(default)]
    pub name: String,
}

/// A product category (`GET /agent/{agent_id}/product-categories`).
///
/// ASSUMPTION: the schema is not published; only `id` is required, everything else is
/// optional and unknown fields are kept in `extra` (a catalog has few categories, and with
/// no published schema the unknown fields are the only place a display attribute such as an
/// icon can be found).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductCategory {
    /// The id products refer to in `category_id`.
    pub id: CategoryId,
    /// A display name.
    #[serde(default)]
    pub name: String,
    /// A URL-friendly name.
    #[serde(default)]
    pub slug: Option<String>,
    /// The parent category, for nested catalogs.
    #[serde(default)]
    pub parent_id: Option<CategoryId>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn default_true() -> bool {
    true
}

fn null_as_true<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

/// A product (Plexy Gate agent API documentation, "Get product").
///
/// Prices arrive as JSON numbers in the documented example although the API's convention is
/// decimal strings: both are read exactly into [`Decimal`], never through `f64`. Fields this
/// version does not model are ignored (a catalog holds thousands of products, and keeping
/// every unknown field of each would buffer the whole catalog twice); read them with
/// [`Client::raw`] if you need one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// The product id.
    pub id: ProductId,
    /// A display name ("Steam Wallet Top Up").
    #[serde(default)]
    pub name: String,
    /// A URL-friendly name.
    #[serde(default)]
    pub slug: Option<String>,
    /// Its category.
    #[serde(default)]
    pub category_id: Option<CategoryId>,
    /// Its type; resolve with [`Catalog::type_code_of`]. Required: the type decides how an
    /// order is placed (a `direct_top_up` needs a `topup_request`), so a product without one
    /// is a decode error, never a product of no type.
    pub product_type_id: ProductTypeId,
    /// Where it can be used (`"GLOBAL"` or, ASSUMPTION, an ISO 3166 code).
    #[serde(default)]
    pub region_code: Option<String>,
    /// ISO 4217 currency of the price (`"USD"`).
    #[serde(default)]
    pub currency_code: Option<String>,
    /// A logo URL.
    #[serde(default)]
    pub logo: Option<String>,
    /// Face value (for top-ups, a reference value). Excludes the provider's margin: the
    /// order's `charged_amount` says what your balance paid.
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub price: Option<Decimal>,
    /// The smallest top-up amount.
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub min_amount: Option<Decimal>,
    /// The largest top-up amount.
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub max_amount: Option<Decimal>,
    /// The allowed top-up increment, counted from `min_amount`.
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub step: Option<Decimal>,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// False when the product cannot be ordered now (`null` or absent reads as `true`; the
    /// provider still refuses an order for an inactive product).
    #[serde(default = "default_true", deserialize_with = "null_as_true")]
    pub is_active: bool,
}

/// `GET /agent/{agent_id}/products`: the filters of [`Products::list`], and the request value
/// of that endpoint (`client.send(&filter)` answers one [`crate::Listing`]).
///
/// ASSUMPTION: the list's query parameters are not published. `page` and `pageSize` are the
/// API's convention; the other filters mirror the product's fields, and a server that does
/// not know one ignores it (check the results if you rely on a filter).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductFilter {
    page: Option<u32>,
    page_size: Option<u32>,
    category_id: Option<CategoryId>,
    product_type_id: Option<ProductTypeId>,
    region_code: Option<String>,
    currency_code: Option<String>,
    is_active: Option<bool>,
}

impl ProductFilter {
    /// No filter: the first page with the server's page size.
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
    /// Only this category (`category_id`).
    pub fn category_id(mut self, id: impl Into<CategoryId>) -> Self {
        self.category_id = Some(id.into());
        self
    }
    /// Only this type (`product_type_id`).
    pub fn product_type_id(mut self, id: impl Into<ProductTypeId>) -> Self {
        self.product_type_id = Some(id.into());
        self
    }
    /// Only this region (`region_code`).
    pub fn region_code(mut self, code: impl Into<String>) -> Self {
        self.region_code = Some(code.into());
        self
    }
    /// Only this currency (`currency_code`).
    pub fn currency_code(mut self, code: impl Into<String>) -> Self {
        self.currency_code = Some(code.into());
        self
    }
    /// Only active (or inactive) products (`is_active`).
    pub fn is_active(mut self, active: bool) -> Self {
        self.is_active = Some(active);
        self
    }
    /// Checks the filter; the error names the field and the rule.
    pub fn validate(&self) -> Result<()> {
        check_paging(self.page, self.page_size)?;
        if let Some(c) = &self.currency_code {
            crate::orders::check_currency("currency_code", c)?;
        }
        if self.region_code.as_deref().is_some_and(|r| r.trim().is_empty()) {
            return Err(Error::invalid_input(PROVIDER, "region_code", "must not be empty"));
        }
        Ok(())
    }
}

/// `GET /agent/{agent_id}/product-types` as a request value: the canonical types.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListProductTypes;

impl ListProductTypes {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req.path("/product-types"))
    }
}

/// `GET /agent/{agent_id}/product-categories` as a request value: one page of categories
/// (no query unless a page is set). [`ProductCategories::list`] walks every page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListProductCategories {
    page: Option<u32>,
    page_size: Option<u32>,
}

impl ListProductCategories {
    /// The first page, with the server's page size.
    pub fn new() -> Self {
        Self::default()
    }
    /// The page to fetch, from 1.
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }
    /// Items per page (sent as `pageSize`, only together with a page).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_paging(self.page, self.page_size)?;
        Ok(req
            .path("/product-categories")
            .query_opt("page", self.page)
            .query_opt("pageSize", self.page.and(self.page_size)))
    }
}

/// `GET /agent/{agent_id}/products/{productId}` as a request value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetProduct {
    id: ProductId,
}

impl GetProduct {
    /// The product with this id.
    pub fn new(id: impl Into<ProductId>) -> Self {
        GetProduct { id: id.into() }
    }
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req.path(format!("/products/{}", self.id)))
    }
}

impl ProductFilter {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        Ok(req
            .path("/products")
            .query_opt("page", self.page)
            .query_opt("pageSize", self.page_size)
            .query_opt("category_id", self.category_id)
            .query_opt("product_type_id", self.product_type_id)
            .query_opt("region_code", self.region_code.as_deref())
            .query_opt("currency_code", self.currency_code.as_deref())
            .query_opt("is_active", self.is_active))
    }
}

/// `client.product_types()`.
#[derive(Debug, Clone, Copy)]
pub struct ProductTypes<'a> {
    pub(crate) client: &'a Client,
}

impl ProductTypes<'_> {
    /// `GET /agent/{agent_id}/product-types`: the canonical types (a bare array).
    pub async fn list(&self) -> Result<Vec<ProductType>> {
        Ok(self.client.send(&ListProductTypes).await?.items)
    }
}

/// `client.product_categories()`.
#[derive(Debug, Clone, Copy)]
pub struct ProductCategories<'a> {
    pub(crate) client: &'a Client,
}

impl ProductCategories<'_> {
    /// `GET /agent/{agent_id}/product-categories`: every category.
    ///
    /// ASSUMPTION: the response shape is not published; a bare array and a page object
    /// (`{items, page, pageSize, total}`) are both accepted. The first request carries no
    /// query; when the answer is a page object that says more pages follow, they are fetched
    /// with `page` (and the `pageSize` the server echoed) up to
    /// [`ProductCategories::MAX_PAGES`], so no category is silently dropped.
    pub async fn list(&self) -> Result<Vec<ProductCategory>> {
        let mut all = Vec::new();
        let mut req = ListProductCategories::new();
        for _ in 0..Self::MAX_PAGES {
            let body = self.client.send(&req).await?;
            let current = req.page.unwrap_or(1);
            let size = body.page_size.filter(|s| *s > 0).or(req.page_size);
            let next = body.next_page(current, size);
            all.extend(body.items);
            match next {
                Some(n) if n > current => {
                    req = ListProductCategories {
                        page: Some(n),
                        page_size: size,
                    }
                }
                Some(_) => {
                    return Err(Error::new(
                        payout_core::ErrorKind::Provider,
                        PROVIDER,
                        "product-categories pagination did not advance; stopped to avoid an endless loop",
                    ));
                }
                None => return Ok(all),
            }
        }
        Err(Error::new(
            payout_core::ErrorKind::Provider,
            PROVIDER,
            format!(
                "product-categories has more than {} pages; stopped to avoid an endless loop",
                Self::MAX_PAGES
            ),
        ))
    }

    /// The most pages [`ProductCategories::list`] follows.
    pub const MAX_PAGES: u32 = 100;
}

/// `client.products()`.
#[derive(Debug, Clone, Copy)]
pub struct Products<'a> {
    pub(crate) client: &'a Client,
}

impl Products<'_> {
    /// `GET /agent/{agent_id}/products`: one page of the catalog. `page.next` is the next
    /// page number, `None` on the last page.
    pub async fn list(&self, filter: &ProductFilter) -> Result<Page<Product, u32>> {
        list_products(self.client, filter).await
    }

    /// Every product matching `filter`, page after page, from `filter`'s page (default 1).
    pub fn stream(&self, filter: ProductFilter) -> impl Stream<Item = Result<Product>> + Send + 'static {
        let client = self.client.clone();
        let start = filter.page.unwrap_or(1);
        payout_core::paginate(PROVIDER, start, move |page| {
            let client = client.clone();
            let filter = filter.clone().page(page);
            async move { list_products(&client, &filter).await }
        })
    }

    /// At most `max` products matching `filter`; fetching stops at the cap.
    pub async fn collect_all(&self, filter: ProductFilter, max: usize) -> Result<Vec<Product>> {
        payout_core::collect_all(self.stream(filter), max).await
    }

    /// `GET /agent/{agent_id}/products/{productId}`. An unknown id is
    /// [`payout_core::ErrorKind::NotFound`].
    pub async fn get(&self, id: impl Into<ProductId>) -> Result<Product> {
        self.client.send(&GetProduct::new(id)).await
    }
}

async fn list_products(client: &Client, filter: &ProductFilter) -> Result<Page<Product, u32>> {
    let body = client.send(filter).await?;
    Ok(body.into_page(filter.page.unwrap_or(1), filter.page_size))
}

/// A snapshot of the catalog (product types, categories and products) with lookups by code
/// and id, as the provider recommends: cache the catalog, refresh it on a schedule or on
/// change. Refreshing is explicit ([`Catalog::refresh`]); [`Catalog::is_older_than`] tells
/// you when.
///
/// ```no_run
/// # async fn run(client: agent_catalog::Client) -> agent_catalog::Result<()> {
/// use std::time::Duration;
/// use agent_catalog::ProductTypeCode;
/// let mut catalog = client.sync_catalog().await?;
/// let product = catalog.product(456).expect("in the catalog");
/// if catalog.type_code_of(product) == Some(&ProductTypeCode::DirectTopUp) {
///     // needs a TopupRequest
/// }
/// if catalog.is_older_than(Duration::from_secs(15 * 60)) {
///     catalog.refresh(&client).await?; // on error the old snapshot stays usable
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Catalog {
    product_types: Vec<ProductType>,
    categories: Vec<ProductCategory>,
    products: Vec<Product>,
    fetched_at: SystemTime,
    filter: ProductFilter,
    max_products: usize,
    product_index: HashMap<ProductId, usize>,
}

impl Catalog {
    /// The cap [`Catalog::fetch`] puts on the number of products, so a runaway list cannot
    /// exhaust memory. Use [`Catalog::fetch_with`] for another cap or a filter.
    pub const DEFAULT_MAX_PRODUCTS: usize = 10_000;

    /// Fetches types, then categories, then every product (up to
    /// [`Catalog::DEFAULT_MAX_PRODUCTS`]).
    pub async fn fetch(client: &Client) -> Result<Catalog> {
        Catalog::fetch_with(client, ProductFilter::new(), Catalog::DEFAULT_MAX_PRODUCTS).await
    }

    /// Fetches types, categories and at most `max_products` products matching `filter`.
    /// [`Catalog::refresh`] reuses the same filter and cap.
    pub async fn fetch_with(client: &Client, filter: ProductFilter, max_products: usize) -> Result<Catalog> {
        filter.validate()?;
        let product_types = client.product_types().list().await?;
        let categories = client.product_categories().list().await?;
        let products = client
            .products()
            .collect_all(filter.clone(), max_products)
            .await?;
        Ok(Catalog::from_parts(product_types, categories, products).with_source(filter, max_products))
    }

    /// A snapshot from lists you already have (from your own cache or a test fixture).
    pub fn from_parts(
        product_types: Vec<ProductType>,
        categories: Vec<ProductCategory>,
        products: Vec<Product>,
    ) -> Catalog {
        let product_index = products.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
        Catalog {
            product_types,
            categories,
            products,
            fetched_at: SystemTime::now(),
            filter: ProductFilter::new(),
            max_products: Catalog::DEFAULT_MAX_PRODUCTS,
            product_index,
        }
    }

    fn with_source(mut self, filter: ProductFilter, max_products: usize) -> Self {
        self.filter = filter;
        self.max_products = max_products;
        self
    }

    /// Fetches a fresh snapshot and replaces this one. On error this snapshot is left as it
    /// was, so a flaky refresh never leaves you without a catalog.
    pub async fn refresh(&mut self, client: &Client) -> Result<()> {
        *self = Catalog::fetch_with(client, self.filter.clone(), self.max_products).await?;
        Ok(())
    }

    /// True when the product list hit the cap given to [`Catalog::fetch_with`] (or
    /// [`Catalog::DEFAULT_MAX_PRODUCTS`]): some products may be missing from the lookups.
    pub fn is_truncated(&self) -> bool {
        self.products.len() >= self.max_products
    }

    /// When this snapshot was fetched.
    pub fn fetched_at(&self) -> SystemTime {
        self.fetched_at
    }

    /// How old the snapshot is (zero if the clock went backwards).
    pub fn age(&self) -> Duration {
        self.fetched_at.elapsed().unwrap_or_default()
    }

    /// True when the snapshot is older than `ttl`: time to [`Catalog::refresh`].
    pub fn is_older_than(&self, ttl: Duration) -> bool {
        self.age() > ttl
    }

    /// Every product type.
    pub fn product_types(&self) -> &[ProductType] {
        &self.product_types
    }

    /// Every category.
    pub fn categories(&self) -> &[ProductCategory] {
        &self.categories
    }

    /// Every product in the snapshot.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// The product type with this id.
    pub fn product_type(&self, id: impl Into<ProductTypeId>) -> Option<&ProductType> {
        let id = id.into();
        self.product_types.iter().find(|t| t.id == id)
    }

    /// The product type with this code (the stable way to find "the top-up type").
    pub fn product_type_by_code(&self, code: &ProductTypeCode) -> Option<&ProductType> {
        self.product_types.iter().find(|t| &t.code == code)
    }

    /// The category with this id.
    pub fn category(&self, id: impl Into<CategoryId>) -> Option<&ProductCategory> {
        let id = id.into();
        self.categories.iter().find(|c| c.id == id)
    }

    /// The category with this slug.
    pub fn category_by_slug(&self, slug: &str) -> Option<&ProductCategory> {
        self.categories.iter().find(|c| c.slug.as_deref() == Some(slug))
    }

    /// The product with this id.
    pub fn product(&self, id: impl Into<ProductId>) -> Option<&Product> {
        self.product_index
            .get(&id.into())
            .and_then(|i| self.products.get(*i))
    }

    /// The product with this slug.
    pub fn product_by_slug(&self, slug: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.slug.as_deref() == Some(slug))
    }

    /// The type code of `product` (`None` if its type is not in the snapshot).
    pub fn type_code_of(&self, product: &Product) -> Option<&ProductTypeCode> {
        self.product_type(product.product_type_id).map(|t| &t.code)
    }

    /// The category of `product`.
    pub fn category_of(&self, product: &Product) -> Option<&ProductCategory> {
        product.category_id.and_then(|id| self.category(id))
    }

    /// Products of the type with this code.
    pub fn products_of_type<'a>(&'a self, code: &ProductTypeCode) -> impl Iterator<Item = &'a Product> + 'a {
        let id = self.product_type_by_code(code).map(|t| t.id);
        self.products
            .iter()
            .filter(move |p| id == Some(p.product_type_id))
    }

    /// Products in this category.
    pub fn products_in_category(&self, id: impl Into<CategoryId>) -> impl Iterator<Item = &Product> + '_ {
        let id = Some(id.into());
        self.products.iter().filter(move |p| p.category_id == id)
    }
}
