//! An offline RomplHub (feature `sandbox`): the documented API served in-process on a random
//! loopback port, with accounts, a token balance, orders that walk through RomplHub's statuses
//! (stopping at `waiting_2fa` for accounts that need a code), packs, USDT top-ups, unsigned
//! webhooks, the 60 requests/minute limit and scriptable faults.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use romplhub::sandbox::{Sandbox, TWO_FA_CODE, TWO_FA_LOGIN};
//! use romplhub::{CreateOrder, OrderStatus};
//!
//! let sandbox = Sandbox::start().await.unwrap();
//! let client = sandbox.client(); // the seeded account's `vx_` key, 485 tokens
//! let order = client
//!     .orders()
//!     .create(&CreateOrder::new(TWO_FA_LOGIN, "account-password", "robux_2200"))
//!     .await
//!     .unwrap();
//! assert_eq!(sandbox.tokens(), 385);
//! sandbox.settle().await; // pending -> authenticating -> waiting_2fa, and it stops there
//! assert!(client.orders().get(&order.order_uid).await.unwrap().needs_2fa());
//! client.orders().submit_2fa(&order.order_uid, TWO_FA_CODE).await.unwrap();
//! sandbox.settle().await; // -> purchasing -> granting -> completed
//! let done = client.orders().get(&order.order_uid).await.unwrap();
//! assert_eq!(done.status, OrderStatus::Completed);
//! assert_eq!(done.robux_granted, Some(2200));
//! # });
//! ```
//!
//! What it models, from RomplHub's API page:
//!
//! * **Auth**: `POST /auth/register` and `POST /auth/login` answer a JWT
//!   (`{access_token, token_type: "bearer", user_id, username}`), `POST /auth/api-key` mints a
//!   `vx_...` key (answered as `{"api_key": ...}`); every other endpoint takes either
//!   `Authorization: Bearer <jwt>` or `X-API-Key: vx_...`, and answers 401
//!   `{"detail": ...}` without one. The sandbox starts with one account ([`SANDBOX_USERNAME`],
//!   [`SANDBOX_PASSWORD`], key [`SANDBOX_API_KEY`], [`SANDBOX_TOKENS`] tokens, the API
//!   page's example balance); registered accounts start with 0 tokens.
//! * **Tokens**: `POST /orders` and `POST /packs/{id}/order` debit the product price × quantity
//!   (or the flat 3-token WLID fee per order) and answer 402 when the balance is short, creating
//!   nothing; a failed order is refunded automatically. `POST /balance/topup` answers 201
//!   `{tokens_amount, wallet_address, status: "pending"}` at [`TOKENS_PER_USDT`] tokens per
//!   USDT; the tokens arrive when "an admin approves" ([`Sandbox::approve_topups`]).
//! * **Orders** move `pending` → `authenticating` → (`waiting_2fa`) → `purchasing` →
//!   `granting` → `completed`, one step per [`Sandbox::advance`] (or on a timer with
//!   [`Sandbox::auto_advance`]). Orders for [`TWO_FA_LOGIN`] (or any login given to
//!   [`Sandbox::require_2fa`]) without a `backup_code` stop at `waiting_2fa` until
//!   `POST /orders/{uid}/2fa` submits a code; the right one ([`TWO_FA_CODE`]) lets the order
//!   go on, a wrong one fails it (`error_message: "Invalid 2FA code"`, tokens refunded).
//!   Orders for [`BAD_PASSWORD_LOGIN`] (or [`Sandbox::fail_orders_for`]) fail while
//!   authenticating. `GET /orders` filters by `status` and pages with `limit`/`offset`, newest
//!   first.
//! * **Products**: the page's four products (`robux_88`, `robux_550`, `robux_1000`,
//!   `robux_2200`), so the API page's example pack (2 × `robux_550` + 1 × `robux_1000`) costs 95 tokens
//!   and grants 2100 Robux. **Packs**: create, list, delete, and order (one order per item).
//! * **Errors** in FastAPI's shape: `{"detail": "text"}`, and 422
//!   `{"detail": [{"type", "loc", "msg", "input"}]}` for bad input.
//! * **Rate limit**: 60 requests per minute per account (unauthenticated calls share one
//!   bucket), then 429 with `Retry-After`; see [`Sandbox::set_rate_limit`].
//! * **Webhooks**: `order.completed` / `order.failed` POSTed to the order's `webhook_url`,
//!   **unsigned**, as RomplHub sends them; confirm them with [`crate::webhook::confirm`]. One
//!   your URL does not answer 2xx is delivered again ([`Sandbox::webhook_retry`]).
//!
//! Faults and the request log come from [`SandboxServer`] ([`Sandbox::server`]). Where the
//! page is silent (answer shapes of login, API key, packs, 2FA; error texts; the token rate of
//! a top-up) the sandbox follows the same ASSUMPTIONS as the client.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use payout_core::Decimal;
use payout_core::sandbox::axum::Router;
use payout_core::sandbox::axum::body::Bytes;
use payout_core::sandbox::axum::extract::{Path, RawQuery, State};
use payout_core::sandbox::axum::http::{HeaderMap, HeaderValue, StatusCode};
use payout_core::sandbox::axum::response::{IntoResponse, Response};
use payout_core::sandbox::axum::routing::{delete, get, post};
pub use payout_core::sandbox::{
    Attempt, Delivery, Fault, RecordedRequest, SandboxServer, WebhookInbox, WebhookRetry,
};
use payout_core::sandbox::{WebhookSender, json_response};
use serde_json::{Map, Value, json};

use crate::orders::{Order, OrderStatus, OrderUid, WLID_FEE_TOKENS};
use crate::products::{Product, ProductId};
use crate::{Client, RetryPolicy};

/// The path prefix the sandbox serves the API under, as RomplHub does (`.../api/v1`).
pub const API_PREFIX: &str = "/api/v1";
/// The `vx_` API key of the seeded account; [`Sandbox::client`] uses it.
pub const SANDBOX_API_KEY: &str = "vx_sandbox_key_5a8115ea";
/// The seeded account's username (log in with [`SANDBOX_PASSWORD`]).
pub const SANDBOX_USERNAME: &str = "sandbox";
/// The seeded account's password.
pub const SANDBOX_PASSWORD: &str = "sandbox-password";
/// The seeded account's starting balance (the example balance on RomplHub's API page).
pub const SANDBOX_TOKENS: u64 = 485;
/// A Roblox login whose orders stop at `waiting_2fa` (unless a `backup_code` is given).
pub const TWO_FA_LOGIN: &str = "2fa@roblox.com";
/// The 2FA code the sandbox accepts for [`TWO_FA_LOGIN`] (the page's example code).
pub const TWO_FA_CODE: &str = "847291";
/// A Roblox login whose orders fail while authenticating (wrong account password).
pub const BAD_PASSWORD_LOGIN: &str = "wrong-password@roblox.com";
/// The `error_message` of an order for [`BAD_PASSWORD_LOGIN`].
pub const BAD_PASSWORD_MESSAGE: &str = "Roblox login failed: invalid account credentials";
/// The `error_message` of an order whose 2FA code was wrong.
pub const INVALID_2FA_MESSAGE: &str = "Invalid 2FA code";
/// Tokens per USDT in a top-up (ASSUMPTION: the top-up example on RomplHub's API page, 50.00 USDT → 250 tokens).
pub const TOKENS_PER_USDT: u64 = 5;
/// The Robux every Roblox account holds before its first sandbox order (the page's example).
pub const ROBUX_BEFORE: u64 = 150;

const STATUSES: &[&str] = &[
    "pending",
    "authenticating",
    "waiting_2fa",
    "purchasing",
    "granting",
    "completed",
    "failed",
];
const MAX_LIMIT: u64 = 100;
const DEFAULT_LIMIT: u64 = 50;

struct Account {
    id: u64,
    username: String,
    email: String,
    password: String,
    tokens: u64,
    /// Pending top-ups, in tokens.
    pending_topups: Vec<u64>,
}

struct OrderRec {
    owner: u64,
    order: Order,
    login: String,
    needs_2fa: bool,
    code: Option<String>,
    webhook_url: Option<String>,
}

struct PackRec {
    owner: u64,
    name: String,
    items: Vec<(ProductId, u64)>,
}

struct Data {
    accounts: Vec<Account>,
    jwts: HashMap<String, u64>,
    api_keys: HashMap<String, u64>,
    products: Vec<Product>,
    orders: Vec<OrderRec>,
    packs: BTreeMap<u64, PackRec>,
    pack_seq: u64,
    secret_seq: u64,
    topup_seq: u64,
    two_fa: HashMap<String, String>,
    fail_logins: HashMap<String, String>,
    roblox_robux: HashMap<String, u64>,
    rate_limit: (usize, Duration),
    rate: HashMap<String, VecDeque<Instant>>,
    /// Where webhooks of orders that name no `webhook_url` go ([`Sandbox::set_webhook_url`]).
    webhook_url: Option<String>,
}

struct Shared {
    data: Mutex<Data>,
    webhooks: WebhookSender,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running RomplHub sandbox. Stops when dropped.
pub struct Sandbox {
    server: SandboxServer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url())
            .finish()
    }
}

/// The four products on RomplHub's page.
fn documented_products() -> Vec<Product> {
    [
        ("robux_88", 88, 11, 99),
        ("robux_550", 550, 25, 499),
        ("robux_1000", 1000, 45, 999),
        ("robux_2200", 2200, 100, 1999),
    ]
    .into_iter()
    .map(|(id, robux, tokens, cents)| {
        let mut p = Product::new(id, robux, tokens);
        p.usd = Some(Decimal::new(cents, 2));
        p.name = Some(format!("{robux} Robux"));
        p
    })
    .collect()
}

impl Sandbox {
    /// Starts a sandbox with the seeded account ([`SANDBOX_API_KEY`], [`SANDBOX_TOKENS`]
    /// tokens), the documented products and the 60 requests/minute limit.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let mut data = Data {
            accounts: vec![Account {
                id: 1,
                username: SANDBOX_USERNAME.to_string(),
                email: "sandbox@example.com".to_string(),
                password: SANDBOX_PASSWORD.to_string(),
                tokens: SANDBOX_TOKENS,
                pending_topups: Vec::new(),
            }],
            jwts: HashMap::new(),
            api_keys: HashMap::new(),
            products: documented_products(),
            orders: Vec::new(),
            packs: BTreeMap::new(),
            pack_seq: 0,
            secret_seq: 0,
            topup_seq: 0,
            two_fa: HashMap::new(),
            fail_logins: HashMap::new(),
            roblox_robux: HashMap::new(),
            rate_limit: (crate::RATE_LIMIT_PER_MINUTE as usize, Duration::from_secs(60)),
            rate: HashMap::new(),
            webhook_url: None,
        };
        data.api_keys.insert(SANDBOX_API_KEY.to_string(), 1);
        data.two_fa
            .insert(TWO_FA_LOGIN.to_string(), TWO_FA_CODE.to_string());
        data.fail_logins
            .insert(BAD_PASSWORD_LOGIN.to_string(), BAD_PASSWORD_MESSAGE.to_string());
        let shared = Arc::new(Shared {
            data: Mutex::new(data),
            webhooks: WebhookSender::default(),
        });
        let api = Router::new()
            .route("/auth/register", post(register))
            .route("/auth/login", post(login))
            .route("/auth/api-key", post(create_api_key))
            .route("/products", get(products))
            .route("/orders", post(create_order).get(list_orders))
            .route("/orders/{order_uid}", get(get_order))
            .route("/orders/{order_uid}/2fa", post(submit_2fa))
            .route("/packs", post(create_pack).get(list_packs))
            .route("/packs/{id}", delete(delete_pack))
            .route("/packs/{id}/order", post(order_pack))
            .route("/balance", get(balance))
            .route("/balance/topup", post(top_up))
            .with_state(shared.clone());
        let router = Router::new()
            .nest(API_PREFIX, api)
            .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
            .method_not_allowed_fallback(|| async {
                detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
            });
        Ok(Sandbox {
            server: SandboxServer::start(router).await?,
            shared,
        })
    }

    /// The base URL to give [`crate::ClientBuilder::base_url`] (it ends in `/api/v1`).
    pub fn base_url(&self) -> String {
        format!("{}{API_PREFIX}", self.server.base_url())
    }

    /// The seeded account's API key ([`SANDBOX_API_KEY`]).
    pub fn api_key(&self) -> &str {
        SANDBOX_API_KEY
    }

    /// A client pointed at the sandbox with the seeded account's API key and quick retries
    /// (a `Retry-After` over 2 s is not waited for: the call fails with `RateLimited`).
    pub fn client(&self) -> Client {
        self.build(Client::builder().api_key(SANDBOX_API_KEY))
    }

    /// A client pointed at the sandbox with no credential: `auth().register(..)` or
    /// `auth().login(..)` arm it with the JWT they return.
    pub fn unauthenticated_client(&self) -> Client {
        self.build(Client::builder())
    }

    fn build(&self, builder: crate::ClientBuilder) -> Client {
        let built = builder
            .base_url(self.base_url())
            .retry_policy(
                RetryPolicy::default()
                    .base_delay(Duration::from_millis(20))
                    .max_delay(Duration::from_millis(100))
                    .max_retry_after(Duration::from_secs(2)),
            )
            .build();
        match built {
            Ok(c) => c,
            // The base URL is ours and the key non-empty; building cannot fail.
            Err(e) => unreachable!("sandbox client: {e}"),
        }
    }

    /// Faults and the request log. Recorded paths include [`API_PREFIX`].
    pub fn server(&self) -> &SandboxServer {
        &self.server
    }

    /// How many requests had this method and this API path (`"/orders"`, without the
    /// [`API_PREFIX`]).
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.server.count(method, &format!("{API_PREFIX}{path}"))
    }

    /// The seeded account's token balance.
    pub fn tokens(&self) -> u64 {
        self.shared.lock().accounts[0].tokens
    }

    /// Sets the seeded account's token balance.
    pub fn set_tokens(&self, tokens: u64) {
        self.shared.lock().accounts[0].tokens = tokens;
    }

    /// The token balance of the account called `username`.
    pub fn tokens_of(&self, username: &str) -> Option<u64> {
        let d = self.shared.lock();
        d.accounts
            .iter()
            .find(|a| a.username == username)
            .map(|a| a.tokens)
    }

    /// Plays RomplHub's administrator: approves every pending top-up of every account and
    /// credits its tokens. Returns the tokens credited.
    pub fn approve_topups(&self) -> u64 {
        let mut d = self.shared.lock();
        let mut total = 0;
        for a in &mut d.accounts {
            let t: u64 = a.pending_topups.drain(..).sum();
            a.tokens += t;
            total += t;
        }
        total
    }

    /// Makes orders for the Roblox account `login` stop at `waiting_2fa` until `code` is
    /// submitted (unless the order carries a `backup_code`).
    pub fn require_2fa(&self, login: impl Into<String>, code: impl Into<String>) {
        self.shared.lock().two_fa.insert(login.into(), code.into());
    }

    /// Makes orders for the Roblox account `login` fail while authenticating, with
    /// `error_message` (their tokens are refunded).
    pub fn fail_orders_for(&self, login: impl Into<String>, error_message: impl Into<String>) {
        self.shared
            .lock()
            .fail_logins
            .insert(login.into(), error_message.into());
    }

    /// Replaces the product list (`GET /products`, and what orders and packs may name).
    pub fn set_products(&self, products: Vec<Product>) {
        self.shared.lock().products = products;
    }

    /// Sets the documented limit: at most `max` requests per account in any `window`
    /// (default 60 per minute). Beyond it the sandbox answers 429 with `Retry-After`.
    pub fn set_rate_limit(&self, max: usize, window: Duration) {
        let mut d = self.shared.lock();
        d.rate_limit = (max, window);
        d.rate.clear();
    }

    /// The order as the sandbox holds it.
    pub fn order(&self, uid: &OrderUid) -> Option<Order> {
        self.shared
            .lock()
            .orders
            .iter()
            .find(|o| &o.order.order_uid == uid)
            .map(|o| o.order.clone())
    }

    /// How many orders were created, by every account (a lost answer must not make two).
    pub fn orders_created(&self) -> usize {
        self.shared.lock().orders.len()
    }

    /// How many packs exist, across accounts.
    pub fn packs_saved(&self) -> usize {
        self.shared.lock().packs.len()
    }

    /// How many top-ups of the seeded account wait for approval.
    pub fn pending_topups(&self) -> usize {
        self.shared.lock().accounts[0].pending_topups.len()
    }

    /// When a webhook your URL did not answer 2xx (or did not answer within the attempt
    /// timeout) is delivered again, byte for byte (RomplHub signs nothing). RomplHub documents
    /// no retry policy, so the default is ours, not RomplHub's: [`WebhookRetry::conservative`]
    /// (retries after 10 s, 1 min, 5 min, 30 min and 2 h; 10 s per attempt). In tests, make it
    /// fast: `sandbox.webhook_retry(WebhookRetry::every(Duration::from_millis(20), 3))`;
    /// `WebhookRetry::none()` delivers once. Every attempt is in [`Delivery::attempts`].
    /// Applies to webhooks sent from now on.
    pub fn webhook_retry(&self, schedule: WebhookRetry) {
        self.shared.webhooks.set_retry(schedule);
    }

    /// Sends the webhooks of orders created without a `webhook_url` to `url` (RomplHub itself
    /// only has the per-order `webhook_url`; an order's own URL still wins).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.shared.lock().webhook_url = Some(url.into());
    }

    /// Moves every open order one step (`waiting_2fa` orders stay until a code is submitted),
    /// delivering `order.completed` / `order.failed` webhooks. Returns the ids of the orders
    /// that changed.
    pub async fn advance(&self) -> Vec<String> {
        advance(&self.shared)
            .await
            .into_iter()
            .map(OrderUid::into_string)
            .collect()
    }

    /// Advances until no order changes: every order ends `completed`, `failed` or
    /// `waiting_2fa`.
    pub async fn settle(&self) {
        while !advance(&self.shared).await.is_empty() {}
    }

    /// Advances all open orders every `every`, in the background, while the sandbox lives.
    pub fn auto_advance(&self, every: Duration) {
        payout_core::sandbox::tick_while_alive(&self.shared, every, |shared| async move {
            advance(&shared).await;
        });
    }

    /// The webhooks delivered so far, each with its headers (RomplHub sends no signature) and
    /// raw body, ready for [`crate::webhook::parse`].
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.webhooks.deliveries()
    }
}

/// A webhook request exactly as RomplHub sends it: a JSON body and **no signature header**
/// (RomplHub does not sign webhooks).
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    /// The headers (`content-type` only).
    pub headers: Vec<(String, String)>,
    /// The raw JSON body (`{"event": ..., "order": {...}}`).
    pub body: Vec<u8>,
}

/// The webhook RomplHub sends for `order` (`order.completed` or `order.failed`), to test your
/// own handler without the sandbox. `None` while the order is not final: RomplHub sends no
/// webhook for the other statuses.
pub fn webhook_request(order: &Order) -> Option<WebhookRequest> {
    let body = webhook_payload(order)?;
    Some(WebhookRequest {
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: serde_json::to_vec(&body).ok()?,
    })
}

fn webhook_payload(order: &Order) -> Option<Value> {
    let event = match order.status {
        OrderStatus::Completed => "order.completed",
        OrderStatus::Failed => "order.failed",
        _ => return None,
    };
    let mut o = json!({
        "id": order.order_uid,
        "status": order.status,
        "product": order.product_name,
        "robux_granted": order.robux_granted,
        "tokens_charged": order.tokens_charged,
    });
    if let Some(m) = &order.error_message {
        o["error_message"] = json!(m);
    }
    Some(json!({"event": event, "order": o}))
}

async fn advance(shared: &Arc<Shared>) -> Vec<OrderUid> {
    let mut changed = Vec::new();
    let mut hooks = Vec::new();
    {
        let mut guard = shared.lock();
        let Data {
            accounts,
            orders,
            two_fa,
            fail_logins,
            roblox_robux,
            webhook_url: default_url,
            ..
        } = &mut *guard;
        for rec in orders.iter_mut() {
            let o = &mut rec.order;
            let next = match o.status {
                OrderStatus::Pending => OrderStatus::Authenticating,
                OrderStatus::Authenticating => {
                    if let Some(msg) = fail_logins.get(&rec.login) {
                        o.error_message = Some(msg.clone());
                        OrderStatus::Failed
                    } else if rec.needs_2fa {
                        match (&rec.code, two_fa.get(&rec.login)) {
                            (None, _) => OrderStatus::Waiting2fa,
                            (Some(c), Some(expected)) if c == expected => OrderStatus::Purchasing,
                            (Some(_), _) => {
                                o.error_message = Some(INVALID_2FA_MESSAGE.to_string());
                                OrderStatus::Failed
                            }
                        }
                    } else {
                        OrderStatus::Purchasing
                    }
                }
                OrderStatus::Purchasing => OrderStatus::Granting,
                OrderStatus::Granting => {
                    let granted = o.product_robux.unwrap_or(0);
                    let robux = roblox_robux.entry(rec.login.clone()).or_insert(ROBUX_BEFORE);
                    o.robux_before = Some(*robux);
                    *robux += granted;
                    o.robux_after = Some(*robux);
                    o.robux_granted = Some(granted);
                    OrderStatus::Completed
                }
                // `waiting_2fa` waits for a code; final orders never change.
                _ => continue,
            };
            if next == OrderStatus::Failed
                && let Some(a) = accounts.iter_mut().find(|a| a.id == rec.owner)
            {
                // RomplHub's API page: "Tokens auto-refunded."
                a.tokens += o.tokens_charged.unwrap_or(0);
            }
            o.status = next;
            changed.push(o.order_uid.clone());
            if let (Some(url), Some(body)) = (
                rec.webhook_url.as_ref().or(default_url.as_ref()),
                webhook_payload(o),
            ) {
                let label = format!("{} {}", body["event"].as_str().unwrap_or("?"), o.order_uid);
                hooks.push((url.clone(), label, body));
            }
        }
    }
    for (url, label, body) in hooks {
        let Ok(bytes) = serde_json::to_vec(&body) else {
            continue;
        };
        // Unsigned, as RomplHub sends them.
        shared.webhooks.send(&url, &label, &[], bytes).await;
    }
    changed
}

// ---------------------------------------------------------------------------------------
// Responses in FastAPI's shapes.

/// An answer that ends a request early (boxed: a `Response` is large).
type Refusal = Box<Response>;

fn detail(status: StatusCode, text: &str) -> Response {
    json_response(status, &json!({ "detail": text }))
}

fn unauthorized(text: &str) -> Response {
    let mut r = detail(StatusCode::UNAUTHORIZED, text);
    r.headers_mut()
        .insert("www-authenticate", HeaderValue::from_static("Bearer"));
    r
}

/// One FastAPI validation error item.
fn item(kind: &str, loc: &[Value], msg: &str, input: Option<&Value>) -> Value {
    let mut v = json!({"type": kind, "loc": loc, "msg": msg});
    if let Some(i) = input {
        v["input"] = i.clone();
    }
    v
}

fn unprocessable(items: Vec<Value>) -> Response {
    json_response(StatusCode::UNPROCESSABLE_ENTITY, &json!({ "detail": items }))
}

fn created(body: &Value) -> Response {
    json_response(StatusCode::CREATED, body)
}

fn ok(body: &Value) -> Response {
    json_response(StatusCode::OK, body)
}

/// A JSON number from a decimal's own digits (no float on the way out).
fn json_number(d: Decimal) -> Value {
    d.to_string()
        .parse::<serde_json::Number>()
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// The body as a JSON object, or FastAPI's 422.
fn parse_body(body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Box::new(unprocessable(vec![item(
            "missing",
            &[json!("body")],
            "Field required",
            Some(&Value::Null),
        )])));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(Box::new(unprocessable(vec![item(
            "model_attributes_type",
            &[json!("body")],
            "Input should be a valid dictionary or object to extract fields from",
            Some(&other),
        )]))),
        Err(e) => Err(Box::new(unprocessable(vec![json!({
            "type": "json_invalid",
            "loc": ["body", e.column()],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": e.to_string()}
        })]))),
    }
}

/// Reads fields of a JSON body, collecting FastAPI validation items.
struct Fields<'a> {
    body: &'a Map<String, Value>,
    prefix: Vec<Value>,
    errors: Vec<Value>,
}

impl<'a> Fields<'a> {
    fn new(body: &'a Map<String, Value>) -> Self {
        Fields {
            body,
            prefix: vec![json!("body")],
            errors: Vec::new(),
        }
    }

    fn nested(body: &'a Map<String, Value>, prefix: Vec<Value>) -> Self {
        Fields {
            body,
            prefix,
            errors: Vec::new(),
        }
    }

    fn loc(&self, name: &str) -> Vec<Value> {
        let mut l = self.prefix.clone();
        l.push(json!(name));
        l
    }

    fn fail(&mut self, name: &str, kind: &str, msg: &str, input: Option<&Value>) {
        let loc = self.loc(name);
        self.errors.push(item(kind, &loc, msg, input));
    }

    fn missing(&mut self, name: &str) {
        let whole = Value::Object(self.body.clone());
        self.fail(name, "missing", "Field required", Some(&whole));
    }

    /// A required, non-empty string.
    fn string(&mut self, name: &str) -> Option<String> {
        match self.body.get(name) {
            None => {
                self.missing(name);
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.fail(
                    name,
                    "string_too_short",
                    "String should have at least 1 character",
                    Some(&json!(s)),
                );
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                self.fail(name, "string_type", "Input should be a valid string", Some(v));
                None
            }
        }
    }

    /// An optional string (absent or `null` is `None`).
    fn opt_string(&mut self, name: &str) -> Option<String> {
        match self.body.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                self.fail(name, "string_type", "Input should be a valid string", Some(v));
                None
            }
        }
    }

    /// An optional integer of at least `min`.
    fn opt_int(&mut self, name: &str, min: u64) -> Option<u64> {
        let v = self.body.get(name)?;
        if v.is_null() {
            return None;
        }
        let n = v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
        match (n, v.as_i64()) {
            (Some(n), _) if n >= min => Some(n),
            (Some(_), _) | (None, Some(_)) => {
                self.fail(
                    name,
                    "greater_than_equal",
                    &format!("Input should be greater than or equal to {min}"),
                    Some(v),
                );
                None
            }
            (None, None) => {
                self.fail(
                    name,
                    "int_parsing",
                    "Input should be a valid integer, unable to parse string as an integer",
                    Some(v),
                );
                None
            }
        }
    }

    /// An optional http(s) URL.
    fn opt_url(&mut self, name: &str) -> Option<String> {
        let s = self.opt_string(name)?;
        match url::Url::parse(&s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Some(s),
            _ => {
                self.fail(
                    name,
                    "url_parsing",
                    "Input should be a valid URL",
                    Some(&json!(s)),
                );
                None
            }
        }
    }

    /// The optional `wlid_tokens` object; true when present and valid.
    fn opt_wlid(&mut self) -> bool {
        match self.body.get("wlid_tokens") {
            None | Some(Value::Null) => false,
            Some(Value::Object(m)) => {
                let mut inner = Fields::nested(m, self.loc("wlid_tokens"));
                let a = inner.string("refresh_token");
                let b = inner.string("wlid_token");
                self.errors.append(&mut inner.errors);
                a.is_some() && b.is_some()
            }
            Some(v) => {
                self.fail(
                    "wlid_tokens",
                    "model_attributes_type",
                    "Input should be a valid dictionary or object to extract fields from",
                    Some(v),
                );
                false
            }
        }
    }

    fn product(&mut self, name: &str, products: &[Product]) -> Option<Product> {
        let id = self.string(name)?;
        match products.iter().find(|p| p.id.as_str() == id) {
            Some(p) => Some(p.clone()),
            None => {
                self.fail(
                    name,
                    "value_error",
                    &format!("Value error, unknown product '{id}'"),
                    Some(&json!(id)),
                );
                None
            }
        }
    }

    fn finish(self) -> Result<(), Refusal> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Box::new(unprocessable(self.errors)))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Authentication and the rate limit.

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The account a request's credential names, if any: `X-API-Key` or `Authorization: Bearer`.
fn account_of(d: &Data, headers: &HeaderMap) -> Option<u64> {
    if let Some(k) = header(headers, "x-api-key") {
        return d.api_keys.get(k.trim()).copied();
    }
    let auth = header(headers, "authorization")?;
    let (scheme, token) = auth.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    d.jwts.get(token.trim()).copied()
}

/// Counts the request against its bucket; `Err(429)` beyond the limit.
fn rate_limit(d: &mut Data, bucket: String) -> Result<(), Refusal> {
    let (max, window) = d.rate_limit;
    let now = Instant::now();
    let hits = d.rate.entry(bucket).or_default();
    while hits.front().is_some_and(|t| now.duration_since(*t) >= window) {
        hits.pop_front();
    }
    if hits.len() >= max {
        let wait = hits
            .front()
            .map(|t| window.saturating_sub(now.duration_since(*t)))
            .unwrap_or(window);
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut r = detail(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Rate limit exceeded: {max} per {} seconds",
                window.as_secs().max(1)
            ),
        );
        if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
            r.headers_mut().insert("retry-after", v);
        }
        return Err(Box::new(r));
    }
    hits.push_back(now);
    Ok(())
}

/// Rate-limits an unauthenticated call (register, login).
fn gate_anonymous(shared: &Shared) -> Result<(), Refusal> {
    rate_limit(&mut shared.lock(), "anonymous".to_string())
}

/// Authenticates and rate-limits a call; the account id, or the 401/429 answer.
fn gate(shared: &Shared, headers: &HeaderMap) -> Result<u64, Refusal> {
    let mut d = shared.lock();
    let Some(user) = account_of(&d, headers) else {
        rate_limit(&mut d, "anonymous".to_string())?;
        let has_any = header(headers, "x-api-key").is_some() || header(headers, "authorization").is_some();
        return Err(Box::new(unauthorized(if has_any {
            "Invalid authentication credentials"
        } else {
            "Not authenticated"
        })));
    };
    rate_limit(&mut d, format!("account:{user}"))?;
    Ok(user)
}

/// The authenticated account's id, or return the 401/429 answer.
macro_rules! authed {
    ($shared:expr, $headers:expr) => {
        match gate(&$shared, &$headers) {
            Ok(u) => u,
            Err(r) => return *r,
        }
    };
}

macro_rules! try_resp {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return *r,
        }
    };
}

/// A deterministic, unique-looking number for ids and secrets (splitmix64).
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn issue_jwt(d: &mut Data, user: u64) -> String {
    d.secret_seq += 1;
    let jwt = format!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzYW5kYm94In0.sbx{user}{:016x}",
        mix(d.secret_seq)
    );
    d.jwts.insert(jwt.clone(), user);
    jwt
}

fn token_answer(d: &mut Data, user: u64) -> Value {
    let jwt = issue_jwt(d, user);
    let username = d
        .accounts
        .iter()
        .find(|a| a.id == user)
        .map(|a| a.username.clone());
    json!({"access_token": jwt, "token_type": "bearer", "user_id": user, "username": username})
}

async fn register(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    try_resp!(gate_anonymous(&shared));
    let body = try_resp!(parse_body(&body));
    let mut f = Fields::new(&body);
    let username = f.string("username");
    let email = f.string("email");
    let password = f.string("password");
    if let Some(e) = &email
        && !e
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !e.contains(char::is_whitespace))
    {
        f.fail(
            "email",
            "value_error",
            "value is not a valid email address: An email address must have an @-sign and a domain.",
            Some(&json!(e)),
        );
    }
    try_resp!(f.finish());
    let (Some(username), Some(email), Some(password)) = (username, email, password) else {
        return detail(StatusCode::UNPROCESSABLE_ENTITY, "invalid body");
    };
    let mut d = shared.lock();
    if d.accounts.iter().any(|a| a.username == username) {
        return detail(StatusCode::BAD_REQUEST, "Username already registered");
    }
    if d.accounts.iter().any(|a| a.email.eq_ignore_ascii_case(&email)) {
        return detail(StatusCode::BAD_REQUEST, "Email already registered");
    }
    let id = d.accounts.len() as u64 + 1;
    d.accounts.push(Account {
        id,
        username,
        email,
        password,
        tokens: 0,
        pending_topups: Vec::new(),
    });
    let answer = token_answer(&mut d, id);
    created(&answer)
}

async fn login(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    try_resp!(gate_anonymous(&shared));
    let body = try_resp!(parse_body(&body));
    let mut f = Fields::new(&body);
    let username = f.string("username");
    let password = f.string("password");
    try_resp!(f.finish());
    let mut d = shared.lock();
    let user = d
        .accounts
        .iter()
        .find(|a| Some(&a.username) == username.as_ref() && Some(&a.password) == password.as_ref())
        .map(|a| a.id);
    match user {
        Some(id) => {
            let answer = token_answer(&mut d, id);
            ok(&answer)
        }
        None => unauthorized("Incorrect username or password"),
    }
}

async fn create_api_key(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let user = authed!(shared, headers);
    let mut d = shared.lock();
    d.secret_seq += 1;
    let key = format!("vx_{:016x}{:016x}", mix(d.secret_seq), mix(d.secret_seq ^ user));
    d.api_keys.insert(key.clone(), user);
    created(&json!({
        "api_key": key,
        "message": "Store it securely — shown only once."
    }))
}

fn product_json(p: &Product) -> Value {
    json!({
        "id": p.id,
        "name": p.name.clone().unwrap_or_else(|| format!("{} Robux", p.robux)),
        "robux": p.robux,
        "tokens": p.tokens,
        "usd": p.usd.map(json_number),
    })
}

async fn products(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    authed!(shared, headers);
    let d = shared.lock();
    ok(&Value::Array(d.products.iter().map(product_json).collect()))
}

async fn balance(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let user = authed!(shared, headers);
    let d = shared.lock();
    match d.accounts.iter().find(|a| a.id == user) {
        Some(a) => ok(&json!({"tokens": a.tokens, "pending_topups": a.pending_topups.len()})),
        None => unauthorized("Invalid authentication credentials"),
    }
}

async fn top_up(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let user = authed!(shared, headers);
    let body = try_resp!(parse_body(&body));
    let amount = match body.get("amount_usdt") {
        None => {
            return unprocessable(vec![item(
                "missing",
                &[json!("body"), json!("amount_usdt")],
                "Field required",
                Some(&Value::Object(body.clone())),
            )]);
        }
        Some(v) => {
            let text = match v {
                Value::Number(n) => Some(n.to_string()),
                Value::String(s) => Some(s.trim().to_string()),
                _ => None,
            };
            match text.and_then(|t| Decimal::from_str(&t).ok()) {
                Some(a) if a > Decimal::ZERO => a,
                Some(_) => {
                    return unprocessable(vec![item(
                        "greater_than",
                        &[json!("body"), json!("amount_usdt")],
                        "Input should be greater than 0",
                        Some(v),
                    )]);
                }
                None => {
                    return unprocessable(vec![item(
                        "float_parsing",
                        &[json!("body"), json!("amount_usdt")],
                        "Input should be a valid number, unable to parse string as a number",
                        Some(v),
                    )]);
                }
            }
        }
    };
    let tokens = amount
        .checked_mul(Decimal::from(TOKENS_PER_USDT))
        .and_then(|t| t.trunc().to_string().parse::<u64>().ok());
    let Some(tokens) = tokens else {
        return unprocessable(vec![item(
            "less_than_equal",
            &[json!("body"), json!("amount_usdt")],
            "Input should be less than or equal to 1000000000",
            body.get("amount_usdt"),
        )]);
    };
    let mut d = shared.lock();
    d.topup_seq += 1;
    const B58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut seed = mix(d.topup_seq ^ (user << 32));
    let mut wallet = String::from("T");
    for i in 0..33 {
        if i % 10 == 0 {
            seed = mix(seed);
        }
        wallet.push(char::from(B58[(seed % 58) as usize]));
        seed /= 58;
    }
    if let Some(a) = d.accounts.iter_mut().find(|a| a.id == user) {
        a.pending_topups.push(tokens);
    }
    created(&json!({"tokens_amount": tokens, "wallet_address": wallet, "status": "pending"}))
}

/// The account part shared by `POST /orders` and `POST /packs/{id}/order`.
struct AccountPart {
    login: String,
    needs_2fa: bool,
    wlid: bool,
    webhook_url: Option<String>,
}

fn account_part(d: &Data, f: &mut Fields<'_>) -> Option<AccountPart> {
    let login = f.string("login");
    let password = f.string("password");
    let backup = f.opt_string("backup_code");
    let webhook_url = f.opt_url("webhook_url");
    let wlid = f.opt_wlid();
    let (login, _) = (login?, password?);
    let needs_2fa = backup.is_none_or(|b| b.trim().is_empty()) && d.two_fa.contains_key(&login);
    Some(AccountPart {
        login,
        needs_2fa,
        wlid,
        webhook_url,
    })
}

fn new_order(d: &mut Data, owner: u64, part: &AccountPart, product: &Product, quantity: u64) -> Order {
    let seq = d.orders.len() as u64 + 1;
    let uid = format!("VX-{:08X}", (seq as u32).wrapping_mul(0x9E37_79B1) ^ 0x5A81_15EA);
    let tokens = if part.wlid {
        WLID_FEE_TOKENS
    } else {
        product.tokens.saturating_mul(quantity)
    };
    let order = Order {
        order_uid: OrderUid::new(uid),
        status: OrderStatus::Pending,
        tokens_charged: Some(tokens),
        product_robux: Some(product.robux.saturating_mul(quantity)),
        product_name: Some(
            product
                .name
                .clone()
                .unwrap_or_else(|| format!("{} Robux", product.robux)),
        ),
        product: Some(product.id.clone()),
        quantity: Some(quantity),
        robux_before: None,
        robux_after: None,
        robux_granted: None,
        error_message: None,
        created_at: None,
        extra: Map::new(),
    };
    d.orders.push(OrderRec {
        owner,
        order: order.clone(),
        login: part.login.clone(),
        needs_2fa: part.needs_2fa,
        code: None,
        webhook_url: part.webhook_url.clone(),
    });
    order
}

fn order_json(o: &Order) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

fn insufficient(needed: u64, available: u64) -> Response {
    detail(
        StatusCode::PAYMENT_REQUIRED,
        &format!("Insufficient token balance: {needed} needed, {available} available"),
    )
}

async fn create_order(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let user = authed!(shared, headers);
    let body = try_resp!(parse_body(&body));
    let mut d = shared.lock();
    let mut f = Fields::new(&body);
    let products = d.products.clone();
    let part = account_part(&d, &mut f);
    let product = f.product("product", &products);
    let quantity = f.opt_int("quantity", 1).unwrap_or(1);
    try_resp!(f.finish());
    let (Some(part), Some(product)) = (part, product) else {
        return detail(StatusCode::UNPROCESSABLE_ENTITY, "invalid body");
    };
    let cost = if part.wlid {
        WLID_FEE_TOKENS
    } else {
        product.tokens.saturating_mul(quantity)
    };
    let Some(idx) = d.accounts.iter().position(|a| a.id == user) else {
        return unauthorized("Invalid authentication credentials");
    };
    if d.accounts[idx].tokens < cost {
        return insufficient(cost, d.accounts[idx].tokens);
    }
    d.accounts[idx].tokens -= cost;
    let o = new_order(&mut d, user, &part, &product, quantity);
    // The page's 201 example: exactly these four fields.
    created(&json!({
        "order_uid": o.order_uid,
        "status": o.status,
        "tokens_charged": o.tokens_charged,
        "product_robux": o.product_robux,
    }))
}

async fn get_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Response {
    let user = authed!(shared, headers);
    let d = shared.lock();
    match d
        .orders
        .iter()
        .find(|o| o.owner == user && o.order.order_uid.as_str() == uid)
    {
        Some(o) => ok(&order_json(&o.order)),
        None => detail(StatusCode::NOT_FOUND, "Order not found"),
    }
}

async fn list_orders(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let user = authed!(shared, headers);
    let mut status = None;
    let mut limit = DEFAULT_LIMIT;
    let mut offset = 0;
    let mut errors = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let loc = [json!("query"), json!(k.as_ref())];
        match k.as_ref() {
            "status" => {
                if STATUSES.contains(&v.as_ref()) {
                    status = Some(v.to_string());
                } else {
                    errors.push(item(
                        "enum",
                        &loc,
                        "Input should be 'pending', 'authenticating', 'waiting_2fa', 'purchasing', 'granting', 'completed' or 'failed'",
                        Some(&json!(v)),
                    ));
                }
            }
            "limit" | "offset" => {
                let (min, max) = if k == "limit" {
                    (1, MAX_LIMIT)
                } else {
                    (0, u64::MAX)
                };
                match v.parse::<i64>() {
                    Ok(n) if n < min as i64 => errors.push(item(
                        "greater_than_equal",
                        &loc,
                        &format!("Input should be greater than or equal to {min}"),
                        Some(&json!(v)),
                    )),
                    Ok(n) if n as u64 > max => errors.push(item(
                        "less_than_equal",
                        &loc,
                        &format!("Input should be less than or equal to {max}"),
                        Some(&json!(v)),
                    )),
                    Ok(n) if k == "limit" => limit = n as u64,
                    Ok(n) => offset = n as u64,
                    Err(_) => errors.push(item(
                        "int_parsing",
                        &loc,
                        "Input should be a valid integer, unable to parse string as an integer",
                        Some(&json!(v)),
                    )),
                }
            }
            _ => {}
        }
    }
    if !errors.is_empty() {
        return unprocessable(errors);
    }
    let d = shared.lock();
    let mine: Vec<&Order> = d
        .orders
        .iter()
        .rev()
        .filter(|o| o.owner == user)
        .map(|o| &o.order)
        .filter(|o| status.as_deref().is_none_or(|s| o.status.as_str() == s))
        .collect();
    let page: Vec<Value> = mine
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|o| order_json(o))
        .collect();
    ok(&json!({"total": mine.len(), "orders": page}))
}

async fn submit_2fa(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    body: Bytes,
) -> Response {
    let user = authed!(shared, headers);
    let body = try_resp!(parse_body(&body));
    let mut f = Fields::new(&body);
    let code = f.string("code");
    try_resp!(f.finish());
    let mut d = shared.lock();
    let Some(rec) = d
        .orders
        .iter_mut()
        .find(|o| o.owner == user && o.order.order_uid.as_str() == uid)
    else {
        return detail(StatusCode::NOT_FOUND, "Order not found");
    };
    if rec.order.status != OrderStatus::Waiting2fa {
        return detail(
            StatusCode::BAD_REQUEST,
            &format!(
                "Order is not waiting for a 2FA code (status: {})",
                rec.order.status
            ),
        );
    }
    // The bot resumes the login with the code; it is checked on the next step.
    rec.code = code;
    rec.order.status = OrderStatus::Authenticating;
    ok(&json!({
        "order_uid": rec.order.order_uid,
        "status": rec.order.status,
        "message": "2FA code submitted"
    }))
}

fn pack_json(id: u64, p: &PackRec, products: &[Product]) -> Value {
    let (mut tokens, mut robux) = (0u64, 0u64);
    for (pid, q) in &p.items {
        if let Some(prod) = products.iter().find(|x| &x.id == pid) {
            tokens = tokens.saturating_add(prod.tokens.saturating_mul(*q));
            robux = robux.saturating_add(prod.robux.saturating_mul(*q));
        }
    }
    json!({
        "id": id,
        "name": p.name,
        "items": p.items.iter().map(|(pid, q)| json!({"product": pid, "quantity": q})).collect::<Vec<_>>(),
        "total_tokens": tokens,
        "total_robux": robux,
    })
}

async fn create_pack(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let user = authed!(shared, headers);
    let body = try_resp!(parse_body(&body));
    let mut d = shared.lock();
    let products = d.products.clone();
    let mut f = Fields::new(&body);
    let name = f.string("name");
    let mut items = Vec::new();
    match body.get("items") {
        None => f.missing("items"),
        Some(Value::Array(list)) if list.is_empty() => f.fail(
            "items",
            "too_short",
            "List should have at least 1 item after validation, not 0",
            Some(&json!([])),
        ),
        Some(Value::Array(list)) => {
            for (i, it) in list.iter().enumerate() {
                let loc = vec![json!("body"), json!("items"), json!(i)];
                let Value::Object(m) = it else {
                    f.errors.push(item(
                        "model_attributes_type",
                        &loc,
                        "Input should be a valid dictionary or object to extract fields from",
                        Some(it),
                    ));
                    continue;
                };
                let mut inner = Fields::nested(m, loc);
                let p = inner.product("product", &products);
                let q = inner.opt_int("quantity", 1).unwrap_or(1);
                f.errors.append(&mut inner.errors);
                if let Some(p) = p {
                    items.push((p.id, q));
                }
            }
        }
        Some(v) => f.fail("items", "list_type", "Input should be a valid list", Some(v)),
    }
    try_resp!(f.finish());
    let Some(name) = name else {
        return detail(StatusCode::UNPROCESSABLE_ENTITY, "invalid body");
    };
    d.pack_seq += 1;
    let id = d.pack_seq;
    let rec = PackRec {
        owner: user,
        name,
        items,
    };
    let answer = pack_json(id, &rec, &products);
    d.packs.insert(id, rec);
    created(&answer)
}

async fn list_packs(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let user = authed!(shared, headers);
    let d = shared.lock();
    let list: Vec<Value> = d
        .packs
        .iter()
        .filter(|(_, p)| p.owner == user)
        .map(|(id, p)| pack_json(*id, p, &d.products))
        .collect();
    ok(&Value::Array(list))
}

/// The pack id from the path, or FastAPI's 422.
fn pack_id(raw: &str) -> Result<u64, Refusal> {
    raw.parse::<u64>().map_err(|_| {
        Box::new(unprocessable(vec![item(
            "int_parsing",
            &[json!("path"), json!("pack_id")],
            "Input should be a valid integer, unable to parse string as an integer",
            Some(&json!(raw)),
        )]))
    })
}

async fn delete_pack(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    let user = authed!(shared, headers);
    let id = try_resp!(pack_id(&raw));
    let mut d = shared.lock();
    match d.packs.get(&id) {
        Some(p) if p.owner == user => {
            d.packs.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => detail(StatusCode::NOT_FOUND, "Pack not found"),
    }
}

async fn order_pack(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let user = authed!(shared, headers);
    let id = try_resp!(pack_id(&raw));
    let body = try_resp!(parse_body(&body));
    let mut d = shared.lock();
    let items = match d.packs.get(&id) {
        Some(p) if p.owner == user => p.items.clone(),
        _ => return detail(StatusCode::NOT_FOUND, "Pack not found"),
    };
    let mut f = Fields::new(&body);
    let part = account_part(&d, &mut f);
    try_resp!(f.finish());
    let Some(part) = part else {
        return detail(StatusCode::UNPROCESSABLE_ENTITY, "invalid body");
    };
    let mut lines = Vec::new();
    for (pid, q) in &items {
        match d.products.iter().find(|p| &p.id == pid) {
            Some(p) => lines.push((p.clone(), *q)),
            None => {
                return detail(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("Pack item names product '{pid}', which is no longer sold"),
                );
            }
        }
    }
    let cost = lines.iter().fold(0u64, |acc, (p, q)| {
        acc.saturating_add(if part.wlid {
            WLID_FEE_TOKENS
        } else {
            p.tokens.saturating_mul(*q)
        })
    });
    let Some(idx) = d.accounts.iter().position(|a| a.id == user) else {
        return unauthorized("Invalid authentication credentials");
    };
    // All or nothing: a short balance creates none of the pack's orders.
    if d.accounts[idx].tokens < cost {
        return insufficient(cost, d.accounts[idx].tokens);
    }
    d.accounts[idx].tokens -= cost;
    let orders: Vec<Value> = lines
        .iter()
        .map(|(p, q)| order_json(&new_order(&mut d, user, &part, p, *q)))
        .collect();
    created(&Value::Array(orders))
}
