//! An offline ROCheap (feature `sandbox`): the documented API served in-process on a random
//! loopback port, with state, signed callbacks and scriptable faults.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use rocheap::sandbox::Sandbox;
//! use rocheap::{CreateOrder, OrderStatus};
//! let sandbox = Sandbox::start().await.unwrap();
//! let client = sandbox.client();
//! let order = client.orders().create(&CreateOrder::new(10, 1, 2, 3)).await.unwrap();
//! sandbox.advance().await; // CREATED -> PROCESSING
//! sandbox.advance().await; // PROCESSING -> COMPLETED
//! let done = client.orders().get(&order.order_id).await.unwrap();
//! assert_eq!(done.status.code, OrderStatus::Completed);
//! # });
//! ```
//!
//! What it models, from ROCheap's documentation: the `rocheap-api-key` check (`success: false,
//! error: "Invalid API key."`), the balance debited by each order's `cost` and refunded when an
//! order fails, orders moving `CREATED` → `PROCESSING` → `COMPLETED` or `FAILED` (on demand with
//! [`Sandbox::advance`], or on a timer with [`Sandbox::auto_advance`]), `INSUFFICIENT_BALANCE` at
//! creation, `ORDER_NOT_FOUND` lookups, and a signed callback to your URL on every status change,
//! delivered again while your URL does not answer 2xx ([`Sandbox::webhook_retry`]).
//! Faults and the request log come from [`SandboxServer`] ([`Sandbox::server`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use payout_core::Decimal;
use payout_core::reqwest::header::HeaderMap as SignedHeaders;
use payout_core::sandbox::axum::Router;
use payout_core::sandbox::axum::extract::{Path, State};
use payout_core::sandbox::axum::http::{HeaderMap, StatusCode};
use payout_core::sandbox::axum::response::Response;
use payout_core::sandbox::axum::routing::{get, post};
pub use payout_core::sandbox::{
    Attempt, Delivery, Fault, RecordedRequest, SandboxServer, WebhookInbox, WebhookRetry,
};
use payout_core::sandbox::{WebhookSender, json_response};
use serde_json::{Value, json};

use crate::error::ErrorCode;
use crate::orders::{Order, OrderId};
use crate::{Client, ReconcilePolicy, RetryPolicy, webhook};

/// The API key the sandbox accepts unless you choose another.
pub const SANDBOX_API_KEY: &str = "rocheap_sandbox_key";

/// A Roblox user id whose orders fail with `USER_DOES_NOT_EXIST` when advanced.
pub const USER_DOES_NOT_EXIST: u64 = 404;
/// A Roblox user id whose orders fail with `ORDER_FAILED_USER_ERROR` (game pass priced wrong).
pub const USER_WITH_WRONG_PASS_PRICE: u64 = 409;

#[derive(Default)]
struct Data {
    balance: Decimal,
    orders: HashMap<String, Value>,
    costs: HashMap<String, Decimal>,
    order_seq: u64,
    by_custom_id: HashMap<String, String>,
    callback_url: Option<String>,
    fail_users: HashMap<u64, ErrorCode>,
}

struct Shared {
    api_key: String,
    cost_per_robux: Decimal,
    data: Mutex<Data>,
    webhooks: WebhookSender,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running ROCheap sandbox. Stops when dropped.
pub struct Sandbox {
    server: SandboxServer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.server.base_url())
            .finish()
    }
}

impl Sandbox {
    /// Starts a sandbox accepting [`SANDBOX_API_KEY`], with a balance of 100.00.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with_key(SANDBOX_API_KEY).await
    }

    /// Starts a sandbox accepting `api_key`.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start_with_key(api_key: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            api_key: api_key.to_string(),
            cost_per_robux: Decimal::new(475, 5), // 10 R$ cost 0.0475 in the docs' example
            data: Mutex::new(Data {
                balance: Decimal::new(10000, 2),
                ..Data::default()
            }),
            webhooks: WebhookSender::default(),
        });
        let router = Router::new()
            .route("/ping", get(ping))
            .route("/balance", get(balance))
            .route("/create_order", post(create_order))
            .route("/get_order_info/{order_id}", get(get_order))
            .route(
                "/get_order_info_by_custom_id/{custom_order_id}",
                get(get_by_custom_id),
            )
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

    /// The API key the sandbox accepts (also the callback signing key).
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// A client pointed at the sandbox, with quick retries.
    pub fn client(&self) -> Client {
        let built = Client::builder()
            .api_key(self.shared.api_key.clone())
            .base_url(self.base_url())
            .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(20)))
            .reconcile_policy(ReconcilePolicy {
                lookups: 3,
                spacing: Duration::from_millis(50),
            })
            .build();
        match built {
            Ok(c) => c,
            // The base URL is ours and the key non-empty; building cannot fail.
            Err(e) => unreachable!("sandbox client: {e}"),
        }
    }

    /// Faults and the request log.
    pub fn server(&self) -> &SandboxServer {
        &self.server
    }

    /// Sets the account balance.
    pub fn set_balance(&self, balance: Decimal) {
        self.shared.lock().balance = balance;
    }

    /// The account balance.
    pub fn balance(&self) -> Decimal {
        self.shared.lock().balance
    }

    /// Sends a signed callback to `url` on every status change (the callback URL of ROCheap's
    /// Business Settings page).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.shared.lock().callback_url = Some(url.into());
    }

    /// When a callback your URL did not answer 2xx (or did not answer within the attempt
    /// timeout) is delivered again, byte for byte with the same signature (ROCheap signs no
    /// timestamp). ROCheap documents no retry policy, so the default is ours, not ROCheap's:
    /// [`WebhookRetry::conservative`] (retries after 10 s, 1 min, 5 min, 30 min and 2 h; 10 s
    /// per attempt). In tests, make it fast: `sandbox.webhook_retry(WebhookRetry::every(
    /// Duration::from_millis(20), 3))`; `WebhookRetry::none()` delivers once. Every attempt is
    /// in [`Delivery::attempts`]. Applies to callbacks sent from now on.
    pub fn webhook_retry(&self, schedule: WebhookRetry) {
        self.shared.webhooks.set_retry(schedule);
    }

    /// Makes every order to `roblox_user_id` fail with `code` when it is advanced.
    pub fn fail_orders_for_user(&self, roblox_user_id: u64, code: ErrorCode) {
        self.shared.lock().fail_users.insert(roblox_user_id, code);
    }

    /// The order as the sandbox holds it.
    pub fn order(&self, id: impl Into<OrderId>) -> Option<Order> {
        let id = id.into();
        let v = self.shared.lock().orders.get(id.as_str()).cloned()?;
        serde_json::from_value(v).ok()
    }

    /// How many orders were created (a retried or reconciled create must count once).
    pub fn orders_created(&self) -> usize {
        self.shared.lock().orders.len()
    }

    /// Moves every open order one step (`CREATED` → `PROCESSING` → `COMPLETED`, or `FAILED`
    /// for users set up to fail), delivering callbacks. Returns the ids of the orders that
    /// changed.
    pub async fn advance(&self) -> Vec<String> {
        advance(&self.shared).await
    }

    /// Advances all open orders every `every`, in the background, while the sandbox lives.
    pub fn auto_advance(&self, every: Duration) {
        payout_core::sandbox::tick_while_alive(&self.shared, every, |shared| async move {
            advance(&shared).await;
        });
    }

    /// The callbacks delivered so far, each with its headers and raw body (verify them with
    /// [`webhook::Verifier`]).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.webhooks.deliveries()
    }
}

/// A callback request exactly as ROCheap would send it.
#[derive(Debug, Clone)]
pub struct SignedCallback {
    /// The headers, including `rocheap-api-signature`.
    pub headers: SignedHeaders,
    /// The raw JSON body.
    pub body: Vec<u8>,
}

/// A correctly signed ROCheap callback for `order`, to test your own callback handler
/// without the sandbox.
///
/// # Errors
/// If the order cannot be serialized (it always can).
pub fn signed_callback(order: &Order, api_key: &str) -> Result<SignedCallback, String> {
    let mut v = serde_json::to_value(order).map_err(|e| e.to_string())?;
    if let Some(o) = v.as_object_mut() {
        o.insert("success".into(), Value::Bool(true));
    }
    let body = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
    Ok(SignedCallback {
        headers: webhook::sign(api_key, &body, std::time::SystemTime::now()),
        body,
    })
}

async fn advance(shared: &Arc<Shared>) -> Vec<String> {
    let mut changed = Vec::new();
    let mut callbacks = Vec::new();
    {
        let mut d = shared.lock();
        let fail_users = d.fail_users.clone();
        let cost_of = d.costs.clone();
        let mut refund = Decimal::ZERO;
        let mut ids: Vec<String> = d.orders.keys().cloned().collect();
        ids.sort();
        for id in ids {
            let Some(o) = d.orders.get_mut(&id) else { continue };
            let status = o["status"]["code"].as_str().unwrap_or("").to_string();
            let user = o["receiver_roblox_user_id"].as_u64().unwrap_or(0);
            match status.as_str() {
                "CREATED" => set_status(o, "PROCESSING", "Order is processing!"),
                "PROCESSING" => match fail_users.get(&user) {
                    Some(code) => {
                        set_status(o, "FAILED", "Order has failed!");
                        o["failure_code"] = json!({"code": code.as_str(), "message": failure_message(code)});
                        refund += cost_of.get(&id).copied().unwrap_or_default();
                    }
                    None => set_status(o, "COMPLETED", "Order has been completed!"),
                },
                _ => continue,
            }
            changed.push(id);
            callbacks.push(o.clone());
        }
        d.balance += refund;
    }
    let url = shared.lock().callback_url.clone();
    if let Some(url) = url {
        for body in callbacks {
            let Ok(bytes) = serde_json::to_vec(&body) else {
                continue;
            };
            let sig = webhook::signature(&shared.api_key, &bytes);
            let label = format!(
                "order {} {}",
                body["order_id"].as_str().unwrap_or("?"),
                body["status"]["code"].as_str().unwrap_or("?")
            );
            shared
                .webhooks
                .send(&url, &label, &[(webhook::SIGNATURE_HEADER, sig)], bytes)
                .await;
        }
    }
    changed
}

/// ROCheap sends money as JSON numbers (`"cost": 0.0475`). The decimal's text is handed to
/// serde_json as is; it prints the shortest form that reads back to the same value, which for
/// amounts like these is the same text.
fn json_number(d: Decimal) -> Value {
    d.normalize()
        .to_string()
        .parse::<serde_json::Number>()
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn set_status(o: &mut Value, code: &str, message: &str) {
    o["status"] = json!({"code": code, "message": message});
}

fn failure_message(code: &ErrorCode) -> &'static str {
    match code {
        ErrorCode::UserDoesNotExist => "Roblox user does not exist",
        ErrorCode::OrderFailedUserError => "Gamepass was not on sale at the required price",
        ErrorCode::GamepassNotFound => "No gamepass found for sale at the required price",
        _ => "Order has failed",
    }
}

fn fail(status: StatusCode, error: Value) -> Response {
    json_response(status, &json!({"success": false, "error": error}))
}

/// `Some(401 response)` unless the request carries the sandbox's key.
fn unauthorized(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    match headers.get(crate::API_KEY_HEADER).and_then(|v| v.to_str().ok()) {
        Some(k) if k == shared.api_key => None,
        _ => Some(fail(StatusCode::UNAUTHORIZED, json!("Invalid API key."))),
    }
}

async fn ping(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&shared, &headers) {
        return r;
    }
    json_response(StatusCode::OK, &json!({"success": true, "message": "pong"}))
}

async fn balance(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&shared, &headers) {
        return r;
    }
    let b = shared.lock().balance;
    json_response(
        StatusCode::OK,
        &json!({"success": true, "balance": json_number(b)}),
    )
}

async fn create_order(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = unauthorized(&shared, &headers) {
        return r;
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return fail(
            StatusCode::BAD_REQUEST,
            json!({"code": "INVALID_BODY", "message": "Body must be JSON"}),
        );
    };
    let field = |k: &str| req.get(k).and_then(Value::as_u64).filter(|v| *v > 0);
    let (Some(robux), Some(user), Some(universe), Some(place)) = (
        field("robux"),
        field("roblox_user_id"),
        field("universe_id"),
        field("place_id"),
    ) else {
        return fail(
            StatusCode::BAD_REQUEST,
            json!({"code": "INVALID_BODY", "message": "robux, roblox_user_id, universe_id and place_id are required"}),
        );
    };
    let custom = req
        .get("custom_order_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    if custom.as_ref().is_some_and(|c| c.chars().count() > 255) {
        return fail(
            StatusCode::BAD_REQUEST,
            json!({"code": "INVALID_BODY", "message": "custom_order_id is too long"}),
        );
    }
    let cost = shared.cost_per_robux * Decimal::from(robux);
    let mut d = shared.lock();
    if d.balance < cost {
        return json_response(
            StatusCode::OK,
            &json!({
                "success": false,
                "status": {"code": "FAILED", "message": "Order has failed!"},
                "failure_code": {"code": "INSUFFICIENT_BALANCE", "message": "Insufficient balance"}
            }),
        );
    }
    d.balance -= cost;
    d.order_seq += 1;
    let id = format!("sbx{:05}-0000-4000-8000-{:012}", d.order_seq, d.order_seq);
    let order = json!({
        "success": true,
        "status": {"code": "CREATED", "message": "Order has been created!"},
        "delivery_method": "gamepass",
        "cost": json_number(cost),
        "robux": robux,
        "after_tax_robux": robux * 7 / 10,
        "order_id": id,
        "custom_order_id": custom,
        "universe_id": universe,
        "place_id": place,
        "receiver_roblox_user_id": user,
        "receiver_roblox_username": format!("sandbox_user_{user}"),
        "gamepass_id": 424,
        "gamepass_product_id": 242536
    });
    if let Some(c) = &custom {
        d.by_custom_id.insert(c.clone(), id.clone());
    }
    d.costs.insert(id.clone(), cost);
    d.orders.insert(id, order.clone());
    json_response(StatusCode::OK, &order)
}

fn not_found() -> Response {
    fail(
        StatusCode::OK,
        json!({"code": "ORDER_NOT_FOUND", "message": "Order not found!"}),
    )
}

async fn get_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = unauthorized(&shared, &headers) {
        return r;
    }
    match shared.lock().orders.get(&id) {
        Some(o) => json_response(StatusCode::OK, o),
        None => not_found(),
    }
}

async fn get_by_custom_id(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(custom): Path<String>,
) -> Response {
    if let Some(r) = unauthorized(&shared, &headers) {
        return r;
    }
    let d = shared.lock();
    match d.by_custom_id.get(&custom).and_then(|id| d.orders.get(id)) {
        Some(o) => json_response(StatusCode::OK, o),
        None => not_found(),
    }
}
