//! A core-only fake provider ("fakepay") on `payout_core::sandbox::SandboxServer`, for the
//! journal's tests: a key-protected payout (deduplicated on `Idempotency-Key`), a keyed but
//! unprotected payout (looked up by key, never deduplicated), and an unkeyed order.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use payout_core::sandbox::axum::{
    self, Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response as AxResponse},
    routing::{get, post},
};
use payout_core::sandbox::{IdempotencyStore, KeyState, SandboxServer};
use payout_core::{
    ApiClient, AuthScheme, ClientOptions, Endpoint, EndpointMeta, Error, ErrorInfo, ErrorKind, HttpMethod,
    IdempotencyKey, Keyed, Reconcile, Request, Response, Result, RetryPolicy, Safety, Transport,
    TransportConfig,
};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- the sandbox

#[derive(Default)]
pub struct Books {
    /// key -> payout (both keyed kinds).
    by_key: HashMap<String, Payout>,
    /// Every creation, in order: the key (or `order:<to>` for orders). Duplicates show here.
    pub created: Vec<String>,
    /// Every creation, in order: the recipient (the crash tests use the business id).
    pub created_to: Vec<String>,
    orders: Vec<Order>,
}

#[derive(Clone, Default)]
pub struct Fake {
    pub books: Arc<Mutex<Books>>,
    idem: IdempotencyStore,
}

impl Fake {
    pub fn created(&self) -> Vec<String> {
        self.books.lock().unwrap().created.clone()
    }
    /// Keys created more than once.
    pub fn duplicates(&self) -> Vec<String> {
        let mut n: HashMap<String, usize> = HashMap::new();
        for k in self.created() {
            *n.entry(k).or_default() += 1;
        }
        let mut d: Vec<String> = n.into_iter().filter(|(_, c)| *c > 1).map(|(k, _)| k).collect();
        d.sort();
        d
    }
    /// Recipients paid more than once, and how many recipients were paid.
    pub fn duplicates_by_to(&self) -> (Vec<String>, usize) {
        let mut n: HashMap<String, usize> = HashMap::new();
        for k in self.books.lock().unwrap().created_to.clone() {
            *n.entry(k).or_default() += 1;
        }
        let paid = n.len();
        let mut d: Vec<String> = n.into_iter().filter(|(_, c)| *c > 1).map(|(k, _)| k).collect();
        d.sort();
        (d, paid)
    }
    pub fn router(&self) -> Router {
        Router::new()
            .route("/payouts", post(create_payout))
            .route("/unprotected-payouts", post(create_unprotected))
            .route("/payouts/by-key/{key}", get(payout_by_key))
            .route("/orders", post(create_order).get(list_orders))
            .with_state(self.clone())
    }
}

fn err(status: StatusCode, msg: &str) -> AxResponse {
    (status, Json(serde_json::json!({ "error": msg }))).into_response()
}

fn make_payout(fake: &Fake, body: &NewPayoutBody) -> Result<Payout, AxResponse> {
    if body.amount <= 0 {
        return Err(err(StatusCode::UNPROCESSABLE_ENTITY, "amount must be positive"));
    }
    if body.to == "refuse" {
        return Err(err(StatusCode::UNPROCESSABLE_ENTITY, "recipient refused"));
    }
    let mut b = fake.books.lock().unwrap();
    let p = Payout {
        id: format!("p-{}", b.created.len() + 1),
        key: body.key.clone(),
        to: body.to.clone(),
        amount: body.amount,
    };
    b.by_key.insert(body.key.clone(), p.clone());
    b.created.push(body.key.clone());
    b.created_to.push(body.to.clone());
    Ok(p)
}

#[derive(Deserialize)]
struct NewPayoutBody {
    key: String,
    to: String,
    amount: i64,
}

async fn create_payout(State(fake): State<Fake>, headers: HeaderMap, raw: axum::body::Bytes) -> AxResponse {
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return err(StatusCode::BAD_REQUEST, "Idempotency-Key required");
    };
    let Ok(body) = serde_json::from_slice::<NewPayoutBody>(&raw) else {
        return err(StatusCode::BAD_REQUEST, "bad body");
    };
    match fake.idem.begin(&key, &raw) {
        KeyState::Replay(s, b) => {
            return (
                StatusCode::from_u16(s).unwrap(),
                [("content-type", "application/json")],
                b,
            )
                .into_response();
        }
        KeyState::Conflict => return err(StatusCode::CONFLICT, "idempotency key reused or in flight"),
        KeyState::New => {}
    }
    match make_payout(&fake, &body) {
        Ok(p) => {
            let bytes = serde_json::to_vec(&p).unwrap();
            fake.idem.finish(&key, 200, bytes.clone().into());
            (StatusCode::OK, [("content-type", "application/json")], bytes).into_response()
        }
        Err(r) => {
            fake.idem.release(&key);
            r
        }
    }
}

async fn create_unprotected(State(fake): State<Fake>, Json(body): Json<NewPayoutBody>) -> AxResponse {
    // No deduplication at all: every request that arrives pays.
    match make_payout(&fake, &body) {
        Ok(p) => Json(p).into_response(),
        Err(r) => r,
    }
}

async fn payout_by_key(State(fake): State<Fake>, Path(key): Path<String>) -> AxResponse {
    match fake.books.lock().unwrap().by_key.get(&key) {
        Some(p) => Json(p.clone()).into_response(),
        None => err(StatusCode::NOT_FOUND, "no such payout"),
    }
}

#[derive(Deserialize)]
struct NewOrderBody {
    to: String,
    amount: i64,
}

async fn create_order(State(fake): State<Fake>, Json(body): Json<NewOrderBody>) -> AxResponse {
    let mut b = fake.books.lock().unwrap();
    let o = Order {
        id: format!("o-{}", b.orders.len() + 1),
        to: body.to.clone(),
        amount: body.amount,
    };
    b.orders.push(o.clone());
    b.created.push(format!("order:{}", body.to));
    Json(o).into_response()
}

#[derive(Deserialize)]
struct ListQuery {
    to: String,
}

async fn list_orders(State(fake): State<Fake>, Query(q): Query<ListQuery>) -> AxResponse {
    let b = fake.books.lock().unwrap();
    let v: Vec<Order> = b.orders.iter().filter(|o| o.to == q.to).cloned().collect();
    Json(v).into_response()
}

pub async fn start() -> (Fake, SandboxServer) {
    let fake = Fake::default();
    let server = SandboxServer::start(fake.router()).await.unwrap();
    (fake, server)
}

// ---------------------------------------------------------------- the client

pub struct FakeClient {
    transport: Transport,
}

impl FakeClient {
    pub fn new(base_url: &str) -> Self {
        Self::with_options(
            base_url,
            ClientOptions::default()
                .timeout(Duration::from_secs(10))
                .attempt_timeout(Duration::from_secs(5))
                .retry_policy(
                    RetryPolicy::default()
                        .max_retries(2)
                        .base_delay(Duration::from_millis(5)),
                ),
        )
    }
    pub fn with_options(base_url: &str, options: ClientOptions) -> Self {
        let transport = Transport::new(TransportConfig {
            provider: "fakepay",
            version: "0.0.0",
            base_url: base_url.to_string(),
            credential: Some("fake-key".to_string().into()),
            auth: AuthScheme::Bearer,
            request_id_headers: &[],
            error_decoder: Arc::new(|_: u16, _: &reqwest::header::HeaderMap, _: &[u8]| ErrorInfo::default()),
            options,
        })
        .unwrap();
        FakeClient { transport }
    }
}

impl ApiClient for FakeClient {
    const PROVIDER: &'static str = "fakepay";
    fn transport(&self) -> &Transport {
        &self.transport
    }
}

use payout_core::reqwest;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub id: String,
    pub key: String,
    pub to: String,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub to: String,
    pub amount: i64,
}

/// `POST /payouts` with `Idempotency-Key`: key-protected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePayout {
    pub key: String,
    pub to: String,
    pub amount: i64,
}

impl CreatePayout {
    pub fn new(key: &str, to: &str, amount: i64) -> Self {
        CreatePayout {
            key: key.into(),
            to: to.into(),
            amount,
        }
    }
}

impl Endpoint for CreatePayout {
    type Output = Payout;
    const META: EndpointMeta = EndpointMeta {
        operation: "payouts.create",
        method: HttpMethod::Post,
        path: "/payouts",
        safety: Safety::KeyProtected,
    };
    fn to_request(&self) -> Result<Request> {
        if self.to.is_empty() {
            return Err(Error::invalid_input("fakepay", "to", "must not be empty"));
        }
        let key = IdempotencyKey::new(self.key.clone())
            .map_err(|_| Error::invalid_input("fakepay", "key", "not a valid key"))?;
        Ok(Self::META
            .request()
            .path("/payouts")
            .json(self)?
            .idempotency_header("idempotency-key", key))
    }
    fn decode(resp: &Response) -> Result<Payout> {
        resp.json()
    }
}

impl Keyed for CreatePayout {
    const KEY_NAME: &'static str = "Idempotency-Key";
    fn key(&self) -> &str {
        &self.key
    }
}

async fn lookup_by_key<C: ApiClient>(client: &C, key: &str) -> Result<Option<Payout>> {
    match client.send(&GetPayoutByKey { key: key.to_string() }).await {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl Reconcile for CreatePayout {
    fn lookup<C: ApiClient>(&self, client: &C) -> impl Future<Output = Result<Option<Payout>>> + Send {
        lookup_by_key(client, &self.key)
    }
    fn matches(&self, found: &Payout) -> std::result::Result<(), &'static str> {
        if found.to != self.to {
            return Err("to");
        }
        if found.amount != self.amount {
            return Err("amount");
        }
        Ok(())
    }
}

/// `POST /unprotected-payouts`: carries a key the provider can look up by, but does not
/// deduplicate on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUnprotectedPayout {
    pub key: String,
    pub to: String,
    pub amount: i64,
}

impl Endpoint for CreateUnprotectedPayout {
    type Output = Payout;
    const META: EndpointMeta = EndpointMeta {
        operation: "payouts.create_unprotected",
        method: HttpMethod::Post,
        path: "/unprotected-payouts",
        safety: Safety::Unprotected,
    };
    fn to_request(&self) -> Result<Request> {
        Self::META.request().path("/unprotected-payouts").json(self)
    }
    fn decode(resp: &Response) -> Result<Payout> {
        resp.json()
    }
}

impl Keyed for CreateUnprotectedPayout {
    const KEY_NAME: &'static str = "key";
    fn key(&self) -> &str {
        &self.key
    }
}

impl Reconcile for CreateUnprotectedPayout {
    fn lookup<C: ApiClient>(&self, client: &C) -> impl Future<Output = Result<Option<Payout>>> + Send {
        lookup_by_key(client, &self.key)
    }
    fn matches(&self, found: &Payout) -> std::result::Result<(), &'static str> {
        if found.to != self.to { Err("to") } else { Ok(()) }
    }
}

/// `GET /payouts/by-key/{key}`.
#[derive(Debug, Clone)]
pub struct GetPayoutByKey {
    pub key: String,
}

impl Endpoint for GetPayoutByKey {
    type Output = Payout;
    const META: EndpointMeta = EndpointMeta {
        operation: "payouts.by_key",
        method: HttpMethod::Get,
        path: "/payouts/by-key/{key}",
        safety: Safety::Idempotent,
    };
    fn to_request(&self) -> Result<Request> {
        Ok(Self::META.request().path(format!(
            "/payouts/by-key/{}",
            payout_core::encode_path_segment(&self.key)
        )))
    }
    fn decode(resp: &Response) -> Result<Payout> {
        resp.json()
    }
}

/// `POST /orders`: no key at all (like RomplHub's orders).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrder {
    pub to: String,
    pub amount: i64,
}

impl Endpoint for CreateOrder {
    type Output = Order;
    const META: EndpointMeta = EndpointMeta {
        operation: "orders.create",
        method: HttpMethod::Post,
        path: "/orders",
        safety: Safety::Unprotected,
    };
    fn to_request(&self) -> Result<Request> {
        Self::META.request().path("/orders").json(self)
    }
    fn decode(resp: &Response) -> Result<Order> {
        resp.json()
    }
}

/// `GET /orders?to=`: the candidate finder for unkeyed orders.
#[derive(Debug, Clone)]
pub struct ListOrders {
    pub to: String,
}

impl Endpoint for ListOrders {
    type Output = Vec<Order>;
    const META: EndpointMeta = EndpointMeta {
        operation: "orders.list",
        method: HttpMethod::Get,
        path: "/orders",
        safety: Safety::Idempotent,
    };
    fn to_request(&self) -> Result<Request> {
        Ok(Self::META.request().path("/orders").query("to", &self.to))
    }
    fn decode(resp: &Response) -> Result<Vec<Order>> {
        resp.json()
    }
}

pub async fn find_orders(client: &FakeClient, req: &CreateOrder) -> Result<Vec<Order>> {
    client.send(&ListOrders { to: req.to.clone() }).await
}

/// A fresh temp dir for one test.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "payout-journal-{name}-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// `PAYOUT_TEST_POSTGRES_URL`, or a loud failure naming the command that provides it.
pub fn postgres_url() -> String {
    match std::env::var("PAYOUT_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => panic!(
            "PAYOUT_TEST_POSTGRES_URL is not set: these tests need a PostgreSQL server. Run them through \
             `cargo xtask test` (it installs and starts a throwaway one), or start one and set \
             PAYOUT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:<port>/postgres"
        ),
    }
}

/// A new, empty database on the test server (so parallel tests never see each other's
/// intents), and its URL.
#[cfg(feature = "postgres")]
pub async fn fresh_postgres_db(name: &str) -> String {
    let admin = postgres_url();
    let (client, conn) = payout_journal::postgres::tokio_postgres::connect(
        &admin,
        payout_journal::postgres::tokio_postgres::NoTls,
    )
    .await
    .unwrap_or_else(|e| panic!("cannot connect to PAYOUT_TEST_POSTGRES_URL: {e}"));
    tokio::spawn(conn);
    let db = format!("t_{}_{}", name, uuid_like() % 1_000_000_000_000);
    client
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    match admin.rfind('/') {
        Some(i) if admin[..i].contains('@') || admin.starts_with("postgres") => {
            format!("{}/{db}", &admin[..i])
        }
        _ => format!("{admin} dbname={db}"),
    }
}
