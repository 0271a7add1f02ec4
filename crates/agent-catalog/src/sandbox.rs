//! An offline Plexy Gate (feature `sandbox`): the documented agent API served in-process on a
//! random loopback port, with a small catalog, per-currency balances, idempotent orders, a
//! deposit history and scriptable faults.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use agent_catalog::sandbox::{STEAM_TOP_UP, Sandbox};
//! use agent_catalog::{CreateOrder, Decimal, OrderStatus, TopupRequest};
//!
//! let sandbox = Sandbox::start().await.unwrap();
//! let client = sandbox.client();
//! let req = CreateOrder::new(STEAM_TOP_UP)
//!     .topup_request(TopupRequest::new(Decimal::from(10)).account("steam_login", "player123"));
//! let order = client.orders().create(&req).await.unwrap();
//! assert_eq!(order.status, OrderStatus::Pending);
//! assert_eq!(order.charged_amount, Some(Decimal::new(1250, 2))); // 10.00 + 25 % margin
//! assert_eq!(sandbox.balance("USD"), Decimal::new(8750, 2));
//!
//! // The same request again (same Idempotency-Key): the first order, no second charge.
//! let again = client.orders().create(&req).await.unwrap();
//! assert_eq!(again.id, order.id);
//! assert_eq!(sandbox.balance("USD"), Decimal::new(8750, 2));
//!
//! sandbox.advance(); // pending -> completed
//! let done = client.orders().get(&order.id).await.unwrap();
//! assert_eq!(done.status, OrderStatus::Completed);
//! assert!(done.order_content.vendor_order_id().is_some());
//! # });
//! ```
//!
//! What it models, from the provider's documentation (ASSUMPTION marks what the sandbox had
//! to choose where the documentation is silent):
//!
//! * **Endpoints**: every path under `/agent/{agent_id}/` (`product-types`,
//!   `product-categories`, `products`, `products/{productId}`, `orders` GET and POST,
//!   `orders/{orderId}`, `balance`, `deposits`) and the unauthenticated `GET /health`
//!   (also answered at `/agent/{agent_id}/health`).
//! * **Auth**: the raw API key in `Authorization` (no `Bearer`). A missing or wrong key is
//!   `401 {"error": "unauthorized", "message": ...}`; a right key with another agent id is
//!   `404 {"error": "not_found", ...}`.
//! * **Catalog**: the three canonical product types, three categories and seven products
//!   covering `redeem_card`, `direct_transfer` and `direct_top_up` in USD, EUR and KZT (one of
//!   them inactive). Prices are JSON numbers, as in the documented example. Products and
//!   orders and deposits are paged with `page`/`pageSize` (1-based, default 50, capped at 100:
//!   ASSUMPTION) in `{items, page, pageSize, total}`; products filter on `category_id`,
//!   `product_type_id`, `region_code`, `currency_code` and `is_active`, orders on `status` and
//!   `product_id`, deposits on `status`.
//! * **Balances** per currency (`available` as a `DecimalAmount` string and
//!   `available_minor` in minor units), starting at USD 100.00, EUR 40.00 and KZT 50000.00,
//!   the sum of the posted deposits.
//! * **Orders**: `POST .../orders` requires `Idempotency-Key` (ASSUMPTION: the sandbox refuses
//!   a create without one with 400, to catch the mistake early). It charges the face value
//!   (top-up amount, or price × quantity) plus a 25 % margin (ASSUMPTION, chosen so the
//!   documented 10.00 top-up charges the documented 12.50; see [`Sandbox::set_margin_bps`];
//!   test orders, `"test": true`, are charged too: ASSUMPTION),
//!   answers `201` with a `pending` order carrying `charged_amount`, `balance_before` and
//!   `balance_after`, and `vendor_order_id` in `order_content` at once for top-ups and
//!   transfers. A balance that cannot cover the charge is `400 {"error":
//!   "insufficient_balance"}`. Orders move `pending` → `completed` (a `voucher_code` for
//!   `redeem_card`) or `failed` (the charge is refunded: ASSUMPTION) with
//!   [`Sandbox::advance`], [`Sandbox::complete`], [`Sandbox::fail`] or on a timer with
//!   [`Sandbox::auto_advance`]; an order whose `customer_account` holds [`FAILING_ACCOUNT`]
//!   fails when advanced.
//! * **Idempotency**: a repeat with the same key and the same body is answered with the
//!   first response (same order, no second charge, header `idempotent-replayed: true`); the
//!   same key with another body is `409 {"error": "idempotency_conflict"}` (as Plexy's Pay API
//!   documents; the Gate documentation is silent). A request the sandbox refuses (400, for
//!   example `insufficient_balance`) does not use up its key: the provider's advice is to
//!   send the same order with the same key again once a deposit has posted.
//! * **Deposits**: a seeded funding history (posted and pending, `bank_wire` and `manual`),
//!   newest first, with `amount` and `amount_minor`; [`Sandbox::add_deposit`] and
//!   [`Sandbox::post_deposit`] add to it and credit the balance.
//! * No webhooks (the provider has none) and no rate limit (none is documented); faults,
//!   including 429 with `Retry-After`, and the request log come from [`SandboxServer`]
//!   ([`Sandbox::server`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use payout_core::money::{MAX_EXPONENT, parse_decimal, to_minor_units};
use payout_core::sandbox::axum::Router;
use payout_core::sandbox::axum::body::{Body, Bytes};
use payout_core::sandbox::axum::extract::rejection::QueryRejection;
use payout_core::sandbox::axum::extract::{Path, Query, State};
use payout_core::sandbox::axum::http::{HeaderMap, HeaderValue, StatusCode};
use payout_core::sandbox::axum::response::Response;
use payout_core::sandbox::axum::routing::get;
pub use payout_core::sandbox::{Fault, RecordedRequest, SandboxServer};
use payout_core::sandbox::{IdempotencyStore, KeyState, json_response};
use payout_core::{Decimal, IdempotencyKey, ReconcilePolicy, RetryPolicy, Timestamp};
use serde_json::{Map, Value, json};

use crate::{
    CategoryId, Client, Deposit, DepositId, DepositMethod, DepositStatus, Order, OrderContent, OrderId,
    OrderStatus, Product, ProductCategory, ProductId, ProductType, ProductTypeCode, ProductTypeId,
};

/// The API key the sandbox accepts unless you choose another.
pub const SANDBOX_API_KEY: &str = "gk_sandbox_3f9a1c7e5b2d";
/// The agent id the sandbox serves (the one in the provider's examples).
pub const SANDBOX_AGENT_ID: &str = "a12d5be1-3456-4c18-b111-33cdd0a1cc99";
/// A `customer_account` value that makes a top-up fail when it is advanced (the vendor
/// rejects the account). Vouchers and transfers have no account: an `external_ref` equal to
/// this value makes them fail the same way. [`Sandbox::fail`] fails any pending order.
pub const FAILING_ACCOUNT: &str = "sandbox-fail";

/// `redeem_card`, USD 25.00: Google Play 25 USD.
pub const GOOGLE_PLAY_25: ProductId = ProductId::new(101);
/// `redeem_card`, EUR 10.00: Amazon.de 10 EUR.
pub const AMAZON_DE_10: ProductId = ProductId::new(102);
/// `redeem_card`, USD 50.00, inactive (cannot be ordered).
pub const PLAYSTATION_50_INACTIVE: ProductId = ProductId::new(103);
/// `direct_transfer`, USD 0.99: Free Fire 100 Diamonds.
pub const FREE_FIRE_100: ProductId = ProductId::new(201);
/// `direct_transfer`, USD 1.10: PUBG Mobile 60 UC.
pub const PUBG_60_UC: ProductId = ProductId::new(202);
/// `direct_top_up`, USD 5..=100 in steps of 1: Steam Wallet Top Up (the documented product).
pub const STEAM_TOP_UP: ProductId = ProductId::new(456);
/// `direct_top_up`, KZT 500..=20000 in steps of 100: Kcell mobile top-up.
pub const KCELL_TOP_UP: ProductId = ProductId::new(501);

/// The default page size of the list endpoints (ASSUMPTION: the documented example's).
const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page served (ASSUMPTION).
const MAX_PAGE_SIZE: usize = 100;
/// All the sandbox's currencies have two decimals.
const EXPONENT: u32 = 2;
// `Decimal::new(minor, EXPONENT)` cannot panic: checked when this crate compiles.
const _: () = assert!(EXPONENT <= MAX_EXPONENT);

struct StoredOrder {
    order: Order,
    charged_minor: i64,
    currency: String,
    type_code: ProductTypeCode,
    fails: bool,
    seq: u64,
}

struct Data {
    /// Minor units and the time of the last change, per currency.
    balances: BTreeMap<String, (i64, Timestamp)>,
    orders: Vec<StoredOrder>,
    /// Keys that created an order (and so are in the idempotency store).
    used_keys: HashSet<String>,
    deposits: Vec<Deposit>,
    next_deposit: i64,
    margin_bps: i64,
}

struct Shared {
    api_key: String,
    agent_id: String,
    types: Vec<ProductType>,
    categories: Vec<ProductCategory>,
    products: Vec<Product>,
    keys: IdempotencyStore,
    data: Mutex<Data>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn type_code(&self, product: &Product) -> Option<ProductTypeCode> {
        let id = product.product_type_id;
        self.types.iter().find(|t| t.id == id).map(|t| t.code.clone())
    }
}

/// A running Plexy Gate sandbox. Stops when dropped.
pub struct Sandbox {
    server: SandboxServer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.server.base_url())
            .field("agent_id", &self.shared.agent_id)
            .finish()
    }
}

impl Sandbox {
    /// Starts a sandbox accepting [`SANDBOX_API_KEY`] for [`SANDBOX_AGENT_ID`].
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(SANDBOX_API_KEY, SANDBOX_AGENT_ID).await
    }

    /// Starts a sandbox accepting `api_key` for `agent_id`.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start_with(api_key: &str, agent_id: &str) -> std::io::Result<Self> {
        let (deposits, balances) = seed_deposits();
        let shared = Arc::new(Shared {
            api_key: api_key.to_string(),
            agent_id: agent_id.to_string(),
            types: seed_types(),
            categories: seed_categories(),
            products: seed_products(),
            keys: IdempotencyStore::default(),
            data: Mutex::new(Data {
                balances,
                orders: Vec::new(),
                used_keys: HashSet::new(),
                next_deposit: 1206,
                deposits,
                margin_bps: 2500,
            }),
        });
        let router = Router::new()
            .route("/health", get(health))
            .route("/agent/{agent_id}/health", get(agent_health))
            .route("/agent/{agent_id}/product-types", get(product_types))
            .route("/agent/{agent_id}/product-categories", get(product_categories))
            .route("/agent/{agent_id}/products", get(list_products))
            .route("/agent/{agent_id}/products/{product_id}", get(get_product))
            .route("/agent/{agent_id}/orders", get(list_orders).post(create_order))
            .route("/agent/{agent_id}/orders/{order_id}", get(get_order))
            .route("/agent/{agent_id}/balance", get(balance))
            .route("/agent/{agent_id}/deposits", get(list_deposits))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "No such endpoint") })
            .with_state(shared.clone());
        Ok(Sandbox {
            server: SandboxServer::start(router).await?,
            shared,
        })
    }

    /// The base URL to give [`crate::ClientBuilder::base_url`].
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The API key the sandbox accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// The agent id the sandbox serves.
    pub fn agent_id(&self) -> &str {
        &self.shared.agent_id
    }

    /// A client pointed at the sandbox, with quick retries (20 ms back-off, up to 3 retries,
    /// 2 s per attempt) and quick reconcile lookups (2, 20 ms apart).
    pub fn client(&self) -> Client {
        let built = Client::builder()
            .api_key(self.shared.api_key.clone())
            .agent_id(self.shared.agent_id.clone())
            .base_url(self.base_url())
            .retry_policy(
                RetryPolicy::default()
                    .max_retries(3)
                    .base_delay(Duration::from_millis(20))
                    .max_delay(Duration::from_millis(100)),
            )
            .attempt_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .reconcile_policy(ReconcilePolicy {
                lookups: 2,
                spacing: Duration::from_millis(20),
            })
            .build();
        match built {
            Ok(c) => c,
            // The base URL is ours, the key and the agent id are non-empty: cannot fail.
            Err(e) => unreachable!("sandbox client: {e}"),
        }
    }

    /// Faults and the request log.
    pub fn server(&self) -> &SandboxServer {
        &self.server
    }

    /// The available balance in `currency` (zero for a currency the account does not hold).
    pub fn balance(&self, currency: &str) -> Decimal {
        Decimal::new(self.balance_minor(currency), EXPONENT)
    }

    /// The available balance in `currency`, in minor units.
    pub fn balance_minor(&self, currency: &str) -> i64 {
        self.shared
            .lock()
            .balances
            .get(&currency.to_ascii_uppercase())
            .map(|b| b.0)
            .unwrap_or(0)
    }

    /// Sets the available balance in `currency` (rounded to cents).
    pub fn set_balance(&self, currency: &str, amount: Decimal) {
        let minor = to_minor_units(amount.round_dp(EXPONENT), EXPONENT).unwrap_or(0);
        self.shared
            .lock()
            .balances
            .insert(currency.to_ascii_uppercase(), (minor, now_iso()));
    }

    /// The margin added to each order's face value, in basis points (default 2500 = 25 %).
    pub fn set_margin_bps(&self, bps: u32) {
        self.shared.lock().margin_bps = i64::from(bps);
    }

    /// How many orders exist (a retried or replayed create must count once).
    pub fn orders_created(&self) -> usize {
        self.shared.lock().orders.len()
    }

    /// Every order, oldest first, as the sandbox holds it.
    pub fn orders(&self) -> Vec<Order> {
        self.shared
            .lock()
            .orders
            .iter()
            .map(|o| o.order.clone())
            .collect()
    }

    /// The order as the sandbox holds it.
    pub fn order(&self, id: &OrderId) -> Option<Order> {
        self.shared
            .lock()
            .orders
            .iter()
            .find(|o| &o.order.id == id)
            .map(|o| o.order.clone())
    }

    /// The catalog's products.
    pub fn products(&self) -> &[Product] {
        &self.shared.products
    }

    /// Moves every `pending` order to `completed`, or to `failed` (refunded) when its
    /// `customer_account` holds [`FAILING_ACCOUNT`]. Returns the ids of the orders that
    /// changed.
    pub fn advance(&self) -> Vec<String> {
        advance(&self.shared)
            .into_iter()
            .map(OrderId::into_string)
            .collect()
    }

    /// Completes a `pending` order (a `voucher_code` for `redeem_card`). False if it is not
    /// pending or does not exist.
    pub fn complete(&self, id: &OrderId) -> bool {
        self.settle(id, false)
    }

    /// Fails a `pending` order and refunds its charge. False if it is not pending or does
    /// not exist.
    pub fn fail(&self, id: &OrderId) -> bool {
        self.settle(id, true)
    }

    fn settle(&self, id: &OrderId, failed: bool) -> bool {
        let mut d = self.shared.lock();
        match d.orders.iter().position(|o| &o.order.id == id) {
            Some(i) => settle(&mut d, i, failed),
            None => false,
        }
    }

    /// Advances all pending orders every `every`, in the background, while the sandbox lives.
    pub fn auto_advance(&self, every: Duration) {
        payout_core::sandbox::tick_while_alive(&self.shared, every, |shared| async move {
            advance(&shared);
        });
    }

    /// Records a `pending` bank wire of `amount` in `currency` (rounded to cents); the
    /// balance does not change until [`Sandbox::post_deposit`].
    pub fn add_deposit(&self, currency: &str, amount: Decimal) -> DepositId {
        let mut d = self.shared.lock();
        let id = DepositId::new(d.next_deposit);
        d.next_deposit += 1;
        let amount = amount.round_dp(EXPONENT);
        let minor = to_minor_units(amount, EXPONENT).unwrap_or(0);
        d.deposits.push(Deposit {
            id,
            currency_code: Some(currency.to_ascii_uppercase()),
            amount: Decimal::new(minor, EXPONENT),
            amount_minor: Some(minor),
            method: Some(DepositMethod::BankWire),
            status: DepositStatus::Pending,
            external_ref: Some(format!("WIRE-SBX-{id}")),
            created_at: Some(now_iso()),
            posted_at: None,
            extra: Map::new(),
        });
        id
    }

    /// Posts a pending deposit: it becomes `posted` and its amount is credited. False if it
    /// does not exist or is already posted.
    pub fn post_deposit(&self, id: DepositId) -> bool {
        let mut d = self.shared.lock();
        let now = now_iso();
        let Some(dep) = d
            .deposits
            .iter_mut()
            .find(|x| x.id == id && x.status == DepositStatus::Pending)
        else {
            return false;
        };
        dep.status = DepositStatus::Posted;
        dep.posted_at = Some(now.clone());
        let currency = dep.currency_code.clone().unwrap_or_default();
        let minor = dep.amount_minor.unwrap_or(0);
        credit(&mut d, &currency, minor, &now);
        true
    }

    /// A deposit recorded and posted at once.
    pub fn deposit(&self, currency: &str, amount: Decimal) -> DepositId {
        let id = self.add_deposit(currency, amount);
        self.post_deposit(id);
        id
    }
}

fn advance(shared: &Shared) -> Vec<OrderId> {
    let mut d = shared.lock();
    let mut changed = Vec::new();
    for i in 0..d.orders.len() {
        let fails = d.orders[i].fails;
        if settle(&mut d, i, fails) {
            changed.push(d.orders[i].order.id.clone());
        }
    }
    changed
}

/// Moves order `i` from `pending` to `completed` or `failed` (refunding the charge).
fn settle(d: &mut Data, i: usize, failed: bool) -> bool {
    let now = now_iso();
    let Some(so) = d.orders.get_mut(i) else {
        return false;
    };
    if so.order.status != OrderStatus::Pending {
        return false;
    }
    if failed {
        so.order.status = OrderStatus::Failed;
        so.order.failed_at = Some(now.clone());
        let (currency, minor) = (so.currency.clone(), so.charged_minor);
        credit(d, &currency, minor, &now);
    } else {
        so.order.status = OrderStatus::Completed;
        so.order.completed_at = Some(now);
        if so.type_code == ProductTypeCode::RedeemCard {
            let qty = so.order.quantity.unwrap_or(1).max(1);
            let codes: Vec<String> = (0..qty).map(|n| voucher_code(so.seq, n)).collect();
            let mut content = Map::new();
            content.insert("voucher_code".into(), json!(codes[0]));
            if qty > 1 {
                content.insert("voucher_codes".into(), json!(codes));
            }
            so.order.order_content = OrderContent(Value::Object(content));
        }
    }
    true
}

fn credit(d: &mut Data, currency: &str, minor: i64, now: &Timestamp) {
    let entry = d.balances.entry(currency.to_string()).or_insert((0, now.clone()));
    entry.0 += minor;
    entry.1 = now.clone();
}

/// A deterministic voucher code that looks like one.
fn voucher_code(seq: u64, n: u32) -> String {
    let h = (seq << 8 | u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!(
        "SBX-{:04X}-{:04X}-{:04X}",
        (h >> 48) & 0xffff,
        (h >> 32) & 0xffff,
        (h >> 16) & 0xffff
    )
}

// ---------------------------------------------------------------------------------------
// Seed data
// ---------------------------------------------------------------------------------------

fn seed_types() -> Vec<ProductType> {
    [
        (1, ProductTypeCode::RedeemCard, "Redeemable Card"),
        (2, ProductTypeCode::DirectTransfer, "Direct Transfer"),
        (3, ProductTypeCode::DirectTopUp, "Direct Top-up"),
    ]
    .into_iter()
    .map(|(id, code, name)| ProductType {
        id: ProductTypeId::new(id),
        code,
        name: name.into(),
    })
    .collect()
}

fn seed_categories() -> Vec<ProductCategory> {
    [
        (7, "Gift Cards", "gift-cards"),
        (12, "Games", "games"),
        (20, "Mobile", "mobile"),
    ]
    .into_iter()
    .map(|(id, name, slug)| ProductCategory {
        id: CategoryId::new(id),
        name: name.into(),
        slug: Some(slug.into()),
        parent_id: None,
        extra: Map::new(),
    })
    .collect()
}

struct Seed {
    id: ProductId,
    name: &'static str,
    slug: &'static str,
    category: i64,
    type_id: i64,
    region: &'static str,
    currency: &'static str,
    /// Price in minor units.
    price: i64,
    /// min, max and step of a top-up, in minor units.
    range: Option<(i64, i64, i64)>,
    description: &'static str,
    active: bool,
}

fn seed_products() -> Vec<Product> {
    let seeds = [
        Seed {
            id: GOOGLE_PLAY_25,
            name: "Google Play 25 USD",
            slug: "google-play-25-usd",
            category: 7,
            type_id: 1,
            region: "US",
            currency: "USD",
            price: 2500,
            range: None,
            description: "A Google Play gift code worth 25 USD",
            active: true,
        },
        Seed {
            id: AMAZON_DE_10,
            name: "Amazon.de 10 EUR",
            slug: "amazon-de-10-eur",
            category: 7,
            type_id: 1,
            region: "DE",
            currency: "EUR",
            price: 1000,
            range: None,
            description: "An Amazon.de gift card worth 10 EUR",
            active: true,
        },
        Seed {
            id: PLAYSTATION_50_INACTIVE,
            name: "PlayStation Store 50 USD",
            slug: "playstation-store-50-usd",
            category: 12,
            type_id: 1,
            region: "US",
            currency: "USD",
            price: 5000,
            range: None,
            description: "Temporarily out of stock",
            active: false,
        },
        Seed {
            id: FREE_FIRE_100,
            name: "Free Fire 100 Diamonds",
            slug: "free-fire-100-diamonds",
            category: 12,
            type_id: 2,
            region: "GLOBAL",
            currency: "USD",
            price: 99,
            range: None,
            description: "100 diamonds credited to a Free Fire player id",
            active: true,
        },
        Seed {
            id: PUBG_60_UC,
            name: "PUBG Mobile 60 UC",
            slug: "pubg-mobile-60-uc",
            category: 12,
            type_id: 2,
            region: "GLOBAL",
            currency: "USD",
            price: 110,
            range: None,
            description: "60 UC credited to a PUBG Mobile player id",
            active: true,
        },
        Seed {
            id: STEAM_TOP_UP,
            name: "Steam Wallet Top Up",
            slug: "steam-wallet-top-up",
            category: 12,
            type_id: 3,
            region: "GLOBAL",
            currency: "USD",
            price: 1000,
            range: Some((500, 10000, 100)),
            description: "Top up any Steam account",
            active: true,
        },
        Seed {
            id: KCELL_TOP_UP,
            name: "Kcell Mobile Top Up",
            slug: "kcell-mobile-top-up",
            category: 20,
            type_id: 3,
            region: "KZ",
            currency: "KZT",
            price: 100_000,
            range: Some((50_000, 2_000_000, 10_000)),
            description: "Airtime for a Kcell or Activ phone number",
            active: true,
        },
    ];
    let dec = |m: i64| Decimal::new(m, EXPONENT).normalize();
    seeds
        .into_iter()
        .map(|s| Product {
            id: s.id,
            name: s.name.into(),
            slug: Some(s.slug.into()),
            category_id: Some(CategoryId::new(s.category)),
            product_type_id: ProductTypeId::new(s.type_id),
            region_code: Some(s.region.into()),
            currency_code: Some(s.currency.into()),
            logo: Some(format!("https://cdn.sandbox.invalid/{}.png", s.slug)),
            price: Some(dec(s.price)),
            min_amount: s.range.map(|r| dec(r.0)),
            max_amount: s.range.map(|r| dec(r.1)),
            step: s.range.map(|r| dec(r.2)),
            description: Some(s.description.into()),
            is_active: s.active,
        })
        .collect()
}

/// The funding history and the balances it adds up to.
fn seed_deposits() -> (Vec<Deposit>, BTreeMap<String, (i64, Timestamp)>) {
    let rows = [
        (
            1201,
            "USD",
            6000,
            DepositMethod::BankWire,
            "WIRE-2024-10-17",
            "2024-10-17",
            true,
        ),
        (
            1202,
            "EUR",
            4000,
            DepositMethod::BankWire,
            "WIRE-2024-10-21",
            "2024-10-21",
            true,
        ),
        (
            1203,
            "USD",
            4000,
            DepositMethod::Manual,
            "MANUAL-2024-10-28",
            "2024-10-28",
            true,
        ),
        (
            1204,
            "KZT",
            5_000_000,
            DepositMethod::BankWire,
            "WIRE-2024-10-30",
            "2024-10-30",
            true,
        ),
        (
            1205,
            "USD",
            25_000,
            DepositMethod::BankWire,
            "WIRE-2024-11-02",
            "2024-11-02",
            false,
        ),
    ];
    let mut balances: BTreeMap<String, (i64, Timestamp)> = BTreeMap::new();
    let deposits = rows
        .into_iter()
        .map(|(id, currency, minor, method, reference, day, posted)| {
            if posted {
                let b = balances
                    .entry(currency.to_string())
                    .or_insert((0, Timestamp::parse("")));
                b.0 += minor;
                b.1 = Timestamp::parse(format!("{day}T15:00:00Z"));
            }
            Deposit {
                id: DepositId::new(id),
                currency_code: Some(currency.into()),
                amount: Decimal::new(minor, EXPONENT),
                amount_minor: Some(minor),
                method: Some(method),
                status: if posted {
                    DepositStatus::Posted
                } else {
                    DepositStatus::Pending
                },
                external_ref: Some(reference.into()),
                created_at: Some(Timestamp::parse(format!("{day}T09:00:00Z"))),
                posted_at: posted.then(|| Timestamp::parse(format!("{day}T15:00:00Z"))),
                extra: Map::new(),
            }
        })
        .collect();
    (deposits, balances)
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

type Shd = State<Arc<Shared>>;
type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

/// The error shape: `{"error": "<snake_case code>", "message": "..."}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &json!({"error": code, "message": message}))
}

/// A refused request, turned into [`error`]'s shape at the end of the handler.
struct Refusal(StatusCode, &'static str, String);

impl Refusal {
    fn response(self) -> Response {
        error(self.0, self.1, &self.2)
    }
}

fn bad_request(message: &str) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, "invalid_request", message.to_string())
}

/// `Some(response)` unless the request carries the key and names the sandbox's agent.
fn guard(shared: &Shared, headers: &HeaderMap, agent_id: &str) -> Option<Response> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    match auth {
        Some(k) if k == shared.api_key => {}
        None | Some("") => {
            return Some(error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Missing API key in the Authorization header",
            ));
        }
        Some(k)
            if k.strip_prefix("Bearer ")
                .is_some_and(|r| r.trim() == shared.api_key) =>
        {
            return Some(error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Send the raw API key in Authorization, without Bearer",
            ));
        }
        Some(_) => {
            return Some(error(StatusCode::UNAUTHORIZED, "unauthorized", "Invalid API key"));
        }
    }
    if agent_id != shared.agent_id {
        return Some(error(StatusCode::NOT_FOUND, "not_found", "Agent not found"));
    }
    None
}

fn params(q: Params) -> Result<HashMap<String, String>, Refusal> {
    q.map(|Query(m)| m)
        .map_err(|_| bad_request("The query string is malformed"))
}

fn int_param(q: &HashMap<String, String>, name: &str) -> Result<Option<i64>, Refusal> {
    match q.get(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| bad_request(&format!("{name} must be an integer"))),
    }
}

fn bool_param(q: &HashMap<String, String>, name: &str) -> Result<Option<bool>, Refusal> {
    match q.get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) if v == "true" || v == "1" => Ok(Some(true)),
        Some(v) if v == "false" || v == "0" => Ok(Some(false)),
        Some(_) => Err(bad_request(&format!("{name} must be true or false"))),
    }
}

/// `page` (from 1) and `pageSize` (1..; capped at [`MAX_PAGE_SIZE`]).
fn paging(q: &HashMap<String, String>) -> Result<(usize, usize), Refusal> {
    let page = int_param(q, "page")?.unwrap_or(1);
    let size = int_param(q, "pageSize")?.unwrap_or(DEFAULT_PAGE_SIZE as i64);
    if page < 1 {
        return Err(bad_request("page must be 1 or more"));
    }
    if size < 1 {
        return Err(bad_request("pageSize must be 1 or more"));
    }
    let size = usize::try_from(size).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE);
    Ok((usize::try_from(page).unwrap_or(usize::MAX), size))
}

/// One page of `items` as `{items, page, pageSize, total}`.
fn page_of(items: Vec<Value>, (page, size): (usize, usize)) -> Response {
    let total = items.len();
    let start = (page - 1).saturating_mul(size);
    let items: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    json_response(
        StatusCode::OK,
        &json!({"items": items, "page": page, "pageSize": size, "total": total}),
    )
}

/// A decimal as a JSON number, as the provider's product examples show prices (`"price": 10`).
fn json_number(d: Decimal) -> Value {
    d.normalize()
        .to_string()
        .parse::<serde_json::Number>()
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn product_json(p: &Product) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "slug": p.slug,
        "category_id": p.category_id,
        "product_type_id": p.product_type_id,
        "region_code": p.region_code,
        "currency_code": p.currency_code,
        "logo": p.logo,
        "price": p.price.map(json_number),
        "min_amount": p.min_amount.map(json_number),
        "max_amount": p.max_amount.map(json_number),
        "step": p.step.map(json_number),
        "description": p.description,
        "is_active": p.is_active,
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

async fn health() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

async fn agent_health(State(sh): Shd, Path(agent): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = guard(&sh, &headers, &agent) {
        return r;
    }
    health().await
}

async fn product_types(State(sh): Shd, Path(agent): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = guard(&sh, &headers, &agent) {
        return r;
    }
    json_response(StatusCode::OK, &to_json(&sh.types))
}

async fn product_categories(State(sh): Shd, Path(agent): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = guard(&sh, &headers, &agent) {
        return r;
    }
    json_response(StatusCode::OK, &to_json(&sh.categories))
}

async fn list_products(State(sh): Shd, Path(agent): Path<String>, headers: HeaderMap, q: Params) -> Response {
    if let Some(r) = guard(&sh, &headers, &agent) {
        return r;
    }
    let run = || -> Result<Response, Refusal> {
        let q = params(q)?;
        let paging = paging(&q)?;
        let category = int_param(&q, "category_id")?.map(CategoryId::new);
        let ty = int_param(&q, "product_type_id")?.map(ProductTypeId::new);
        let active = bool_param(&q, "is_active")?;
        let region = q.get("region_code");
        let currency = q.get("currency_code");
        let items = sh
            .products
            .iter()
            .filter(|p| category.is_none() || p.category_id == category)
            .filter(|p| ty.is_none_or(|t| p.product_type_id == t))
            .filter(|p| active.is_none_or(|a| p.is_active == a))
            .filter(|p| {
                region.is_none_or(|r| {
                    p.region_code
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case(r))
                })
            })
            .filter(|p| {
                currency.is_none_or(|c| {
                    p.currency_code
                        .as_deref()
                        .is_some_and(|x| x.eq_ignore_ascii_case(c))
                })
            })
            .map(product_json)
            .collect();
        Ok(page_of(items, paging))
    };
    run().unwrap_or_else(Refusal::response)
}

async fn get_product(
    State(sh): Shd,
    Path((agent, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = guard(&sh, &headers, &agent) {
        return r;
    }
    let found = id
        .parse::<i64>()
        .ok()
        .and_then(|id| sh.products.iter().find(|p| p.id == ProductId::new(id)));
    match found {
        Some(p) => json_response(StatusCode::OK, &product_json(p)),
        None => error(StatusCode::NOT_FOUND, "not_found", "Product not found"),
    }
}

async fn balance(State(sh): Shd, Path(agent): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = guard(&sh, &headers, &agent) {
        return r;
    }
    let d = sh.lock();
    let items: Vec<Value> = d
        .balances
        .iter()
        .map(|(currency, (minor, updated))| {
            json!({
                "currency_code": currency,
                "available": Decimal::new(*minor, EXPONENT).to_string(),
                "available_minor": minor,
                "updated_at": updated,
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({"items": items}))
}

async fn list_deposits(State(sh): Shd, Path(agent): Path<String>, headers: HeaderMap, q: Params) -> Response {
    if let Some(r) = guard(&sh, &headers, &agent) {
        return r;
    }
    let run = || -> Result<Response, Refusal> {
        let q = params(q)?;
        let paging = paging(&q)?;
        let status = q.get("status").map(|s| DepositStatus::from(s.as_str()));
        let d = sh.lock();
        let items = d
            .deposits
            .iter()
            .rev()
            .filter(|x| status.as_ref().is_none_or(|s| &x.status == s))
            .map(to_json)
            .collect();
        Ok(page_of(items, paging))
    };
    run().unwrap_or_else(Refusal::response)
}

async fn list_orders(State(sh): Shd, Path(agent): Path<String>, headers: HeaderMap, q: Params) -> Response {
    if let Some(r) = guard(&sh, &headers, &agent) {
        return r;
    }
    let run = || -> Result<Response, Refusal> {
        let q = params(q)?;
        let paging = paging(&q)?;
        let status = q.get("status").map(|s| OrderStatus::from(s.as_str()));
        let product = int_param(&q, "product_id")?.map(ProductId::new);
        let d = sh.lock();
        let items = d
            .orders
            .iter()
            .rev()
            .map(|o| &o.order)
            .filter(|o| status.as_ref().is_none_or(|s| &o.status == s))
            .filter(|o| product.is_none_or(|p| o.product_id == p))
            .map(to_json)
            .collect();
        Ok(page_of(items, paging))
    };
    run().unwrap_or_else(Refusal::response)
}

async fn get_order(
    State(sh): Shd,
    Path((agent, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = guard(&sh, &headers, &agent) {
        return r;
    }
    let d = sh.lock();
    match d.orders.iter().find(|o| o.order.id.as_str() == id) {
        Some(o) => json_response(StatusCode::OK, &to_json(&o.order)),
        None => error(StatusCode::NOT_FOUND, "not_found", "Order not found"),
    }
}

/// What an accepted create will do, computed before anything changes.
struct Plan {
    product: Product,
    type_code: ProductTypeCode,
    currency: String,
    quantity: u32,
    test: bool,
    external_ref: Option<String>,
    margin_minor: i64,
    charged_minor: i64,
    fails: bool,
}

async fn create_order(
    State(sh): Shd,
    Path(agent): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = guard(&sh, &headers, &agent) {
        return r;
    }
    let key = headers
        .get(crate::IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let Some(key) = key else {
        return bad_request("The Idempotency-Key header is required on order creation").response();
    };
    let mut d = sh.lock();
    if d.used_keys.contains(key) {
        return match sh.keys.begin(key, &body) {
            KeyState::Replay(status, stored) => replay(status, stored),
            KeyState::Conflict | KeyState::New => error(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "This Idempotency-Key was already used with a different request body",
            ),
        };
    }
    // A refused request does not use up its key: after `insufficient_balance` the provider
    // asks for the same order with the same key once a deposit has posted.
    let plan = match plan_order(&sh, &d, &body) {
        Ok(plan) => plan,
        Err(refusal) => return refusal.response(),
    };
    if sh.keys.begin(key, &body) != KeyState::New {
        return error(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "This Idempotency-Key is already in use",
        );
    }
    d.used_keys.insert(key.to_string());
    let order = place(&mut d, plan, key);
    let bytes = serde_json::to_vec(&order).unwrap_or_default();
    sh.keys.finish(key, 201, Bytes::from(bytes.clone()));
    raw_json(StatusCode::CREATED, bytes)
}

fn raw_json(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn replay(status: u16, body: Bytes) -> Response {
    let mut r = raw_json(StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED), body);
    r.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    r
}

/// A `DecimalAmount` string, or a number.
fn decimal_of(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => parse_decimal(s),
        Value::Number(n) => parse_decimal(&n.to_string()),
        _ => None,
    }
}

fn minor(amount: Decimal) -> Option<i64> {
    to_minor_units(amount, EXPONENT)
}

fn plan_order(sh: &Shared, d: &Data, body: &[u8]) -> Result<Plan, Refusal> {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(body) else {
        return Err(bad_request("The body must be a JSON object"));
    };
    let Some(product_id) = req.get("product_id").and_then(Value::as_i64) else {
        return Err(bad_request("product_id is required (an integer)"));
    };
    let Some(product) = sh.products.iter().find(|p| p.id == ProductId::new(product_id)) else {
        return Err(bad_request(&format!("product_id {product_id} does not exist")));
    };
    if !product.is_active {
        return Err(bad_request(&format!("product {product_id} is not active")));
    }
    let currency = product.currency_code.clone().unwrap_or_default();
    match req.get("currency_code") {
        None | Some(Value::Null) => {}
        Some(Value::String(c)) if c.eq_ignore_ascii_case(&currency) => {}
        Some(_) => {
            return Err(bad_request(&format!(
                "currency_code must be the product's currency ({currency})"
            )));
        }
    }
    let quantity = match req.get("quantity") {
        None | Some(Value::Null) => 1,
        Some(q) => match q.as_u64().and_then(|q| u32::try_from(q).ok()) {
            Some(q @ 1..=100) => q,
            _ => return Err(bad_request("quantity must be an integer from 1 to 100")),
        },
    };
    let test = match req.get("test") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad_request("test must be true or false")),
    };
    let external_ref = match req.get("external_ref") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= crate::MAX_EXTERNAL_REF_LEN => Some(s.clone()),
        Some(_) => {
            return Err(bad_request(
                "external_ref must be a string of at most 255 characters",
            ));
        }
    };
    let type_code = sh
        .type_code(product)
        .unwrap_or_else(|| ProductTypeCode::Unknown(String::new()));
    let topup = req.get("topup_request").filter(|t| !t.is_null());
    let (face, fails) = match (&type_code, topup) {
        (ProductTypeCode::DirectTopUp, None) => {
            return Err(bad_request(
                "topup_request is required for a direct_top_up product",
            ));
        }
        (ProductTypeCode::DirectTopUp, Some(t)) => {
            if quantity != 1 {
                return Err(bad_request("quantity must be 1 for a direct_top_up product"));
            }
            let amount = check_topup(t, product)?;
            let fails = t
                .get("customer_account")
                .and_then(Value::as_object)
                .is_some_and(|a| a.values().any(|v| v.as_str() == Some(FAILING_ACCOUNT)));
            (amount, fails)
        }
        (_, Some(_)) => {
            return Err(bad_request("topup_request is only for direct_top_up products"));
        }
        (_, None) => {
            let price = product.price.unwrap_or(Decimal::ZERO);
            let face = minor(price).and_then(|p| p.checked_mul(i64::from(quantity)));
            let Some(face) = face else {
                return Err(bad_request("the order's amount is out of range"));
            };
            // Cards and transfers have no account; an external_ref naming the failing
            // account makes them fail the same way.
            (face, external_ref.as_deref() == Some(FAILING_ACCOUNT))
        }
    };
    let margin_minor = (face * d.margin_bps + 5_000) / 10_000;
    let charged_minor = face + margin_minor;
    let available = d.balances.get(&currency).map(|b| b.0).unwrap_or(0);
    if available < charged_minor {
        return Err(Refusal(
            StatusCode::BAD_REQUEST,
            "insufficient_balance",
            format!(
                "The {currency} balance ({}) cannot cover this order ({})",
                Decimal::new(available, EXPONENT),
                Decimal::new(charged_minor, EXPONENT)
            ),
        ));
    }
    Ok(Plan {
        product: product.clone(),
        type_code,
        currency,
        quantity,
        test,
        external_ref,
        margin_minor,
        charged_minor,
        fails,
    })
}

/// The top-up amount in minor units, within the product's range and step.
fn check_topup(t: &Value, product: &Product) -> Result<i64, Refusal> {
    let Some(amount) = t.get("amount").and_then(decimal_of) else {
        return Err(bad_request(
            "topup_request.amount is required (a DecimalAmount string such as \"10.00\")",
        ));
    };
    let Some(amount_minor) = minor(amount).filter(|m| *m > 0) else {
        return Err(bad_request(
            "topup_request.amount must be positive with at most 2 decimals",
        ));
    };
    let account_ok = t
        .get("customer_account")
        .and_then(Value::as_object)
        .is_some_and(|a| {
            !a.is_empty()
                && a.values()
                    .all(|v| v.as_str().is_some_and(|s| !s.trim().is_empty()))
        });
    if !account_ok {
        return Err(bad_request(
            "topup_request.customer_account must be an object of non-empty strings",
        ));
    }
    let bound = |d: Option<Decimal>| d.and_then(minor);
    let (min, max, step) = (
        bound(product.min_amount),
        bound(product.max_amount),
        bound(product.step),
    );
    if min.is_some_and(|m| amount_minor < m) || max.is_some_and(|m| amount_minor > m) {
        return Err(bad_request(&format!(
            "topup_request.amount must be between {} and {}",
            product.min_amount.unwrap_or_default(),
            product.max_amount.unwrap_or_default()
        )));
    }
    if let Some(step) = step.filter(|s| *s > 0)
        && (amount_minor - min.unwrap_or(0)) % step != 0
    {
        return Err(bad_request(&format!(
            "topup_request.amount must be a multiple of the step {}",
            product.step.unwrap_or_default()
        )));
    }
    Ok(amount_minor)
}

/// Charges the balance and stores a `pending` order.
fn place(d: &mut Data, plan: Plan, key: &str) -> Order {
    let now = now_iso();
    let seq = d.orders.len() as u64 + 1;
    let before = d.balances.get(&plan.currency).map(|b| b.0).unwrap_or(0);
    let after = before - plan.charged_minor;
    d.balances.insert(plan.currency.clone(), (after, now.clone()));
    let content = match plan.type_code {
        ProductTypeCode::DirectTopUp | ProductTypeCode::DirectTransfer => {
            json!({"vendor_order_id": format!("LC-{}", 100_000 + seq)})
        }
        _ => json!({}),
    };
    let money = |m: i64| Some(Decimal::new(m, EXPONENT));
    let order = Order {
        id: OrderId::new(format!(
            "{seq:08x}-5b0c-4a7e-9c1d-{:012x}",
            0x5a4d_b0c5_0000 + seq
        )),
        product_id: plan.product.id,
        external_ref: plan.external_ref,
        idempotency_key: IdempotencyKey::new(key).ok(),
        status: OrderStatus::Pending,
        order_content: OrderContent(content),
        currency_code: Some(plan.currency.clone()),
        charged_amount: money(plan.charged_minor),
        balance_before: money(before),
        balance_after: money(after),
        plexy_margin: money(plan.margin_minor),
        agent_charge: money(plan.charged_minor),
        is_test: plan.test,
        region_code: plan.product.region_code.clone(),
        quantity: Some(plan.quantity),
        created_at: Some(now),
        completed_at: None,
        failed_at: None,
        extra: Map::new(),
    };
    d.orders.push(StoredOrder {
        order: order.clone(),
        charged_minor: plan.charged_minor,
        currency: plan.currency,
        type_code: plan.type_code,
        fails: plan.fails,
        seq,
    });
    order
}

/// The current UTC time to the second, in the shape of the provider's examples
/// (`2024-11-01T10:00:00Z`: no fraction, `Z`).
fn now_iso() -> Timestamp {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    i64::try_from(secs)
        .ok()
        .and_then(|secs| Timestamp::from_unix(secs, 0))
        .unwrap_or_else(|| Timestamp::parse("1970-01-01T00:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Now" is written like the provider's examples: `2024-11-01T10:00:00Z`, 20 bytes.
    #[test]
    fn now_has_the_documented_shape() {
        let now = now_iso();
        assert!(now.is_parsed(), "{now}");
        assert_eq!(now.as_str().len(), "2024-11-01T10:00:00Z".len(), "{now}");
        assert!(now.as_str().ends_with('Z'), "{now}");
        assert!(!now.as_str().contains('.'), "no fraction: {now}");
        assert_eq!(now.subsec_nanos(), Some(0));
    }

    #[test]
    fn seeded_balances_are_the_posted_deposits() {
        let (_, balances) = seed_deposits();
        assert_eq!(balances["USD"].0, 10_000);
        assert_eq!(balances["EUR"].0, 4_000);
        assert_eq!(balances["KZT"].0, 5_000_000);
    }

    #[test]
    fn voucher_codes_differ() {
        assert_ne!(voucher_code(1, 0), voucher_code(2, 0));
        assert_ne!(voucher_code(1, 0), voucher_code(1, 1));
        assert_eq!(voucher_code(1, 0).len(), 18);
    }
}
