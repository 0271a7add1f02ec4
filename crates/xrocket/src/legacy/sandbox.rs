//! An offline xRocket legacy Pay API (feature `sandbox`), served in-process on a random
//! loopback port: balances, transfers, withdrawals, invoices and multi-cheques kept in memory,
//! `invoicePay` webhooks signed as xRocket signs them, and the faults of
//! [`payout_core::sandbox::SandboxServer`] ([`Sandbox::server`]).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use xrocket::Decimal;
//! use xrocket::legacy::sandbox::Sandbox;
//! use xrocket::legacy::{CreateTransfer, WithdrawalStatus};
//! let sandbox = Sandbox::start().await.unwrap();
//! let client = sandbox.client();
//! client.transfers().create(&CreateTransfer::new(87209764, "TONCOIN", Decimal::new(125, 2))).await.unwrap();
//! assert_eq!(sandbox.balance("TONCOIN"), Decimal::new(99875, 2));
//! # });
//! ```
//!
//! What it models (xRocket Pay API 1.3.1): the `Rocket-Pay-Key` header (401
//! `{"success":false,"message":"Unauthorized"}` without it; `/version`, `/health`,
//! `/currencies/available` and `/withdrawal-link` are public); `{success, data}` bodies and 201
//! on the creates and the withdrawal status; amounts as JSON numbers (a string amount is a 400
//! with `errors[]`); a `transferId` or `withdrawalId` used twice is refused with 400 and moves
//! nothing; transfers to [`UNKNOWN_TELEGRAM_USER`] are 400 "User not found"; a balance too low
//! is 400; withdrawals move `CREATED` → `COMPLETED` (or `FAIL` for addresses set up with
//! [`Sandbox::fail_withdrawals_to`], refunded) on [`Sandbox::advance`]; cheques reserve
//! `perUser × users` and a delete refunds what is unclaimed; invoices are paid with
//! [`Sandbox::pay_invoice`], which credits the balance and delivers `invoicePay` to
//! [`Sandbox::set_webhook_url`]; lists page by `limit`/`offset`.

// Handlers return the error response itself as their error.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use payout_core::sandbox::axum::Router;
use payout_core::sandbox::axum::body::Bytes;
use payout_core::sandbox::axum::extract::State;
use payout_core::sandbox::axum::http::{HeaderMap, Method, StatusCode, Uri};
use payout_core::sandbox::axum::response::Response;
pub use payout_core::sandbox::{Attempt, Delivery, Fault, RecordedRequest, SandboxServer, WebhookRetry};
use payout_core::sandbox::{WebhookSender, json_response};
use payout_core::{Decimal, RetryPolicy};
use serde_json::{Value, json};

use super::client::{Client, ClientBuilder, KEY_HEADER};

/// The app token the sandbox accepts unless you choose another (also the webhook key).
pub const SANDBOX_API_KEY: &str = "1000001:xrocket-legacy-sandbox-token";
/// A Telegram user who never started @xRocket: transfers are refused with "User not found".
pub const UNKNOWN_TELEGRAM_USER: i64 = 404;

/// currency, name, minimum, withdrawal fee, network.
const COINS: &[(&str, &str, &str, &str, &str)] = &[
    ("TONCOIN", "TON", "0.001", "0.01", "TON"),
    ("USDT", "USDT", "0.01", "0.3", "TON"),
    ("BTC", "BTC", "0.00001", "0.0001", "BTC"),
];

/// The fee on incoming payments, in percent.
const FEE_PERCENTS: &str = "1.5";

type Reply = Response;

#[derive(Default)]
struct Data {
    balances: BTreeMap<String, Decimal>,
    transfer_ids: HashSet<String>,
    transfers: Vec<Value>,
    withdrawals: BTreeMap<String, Value>,
    failing_addresses: HashSet<String>,
    invoices: BTreeMap<u64, Value>,
    cheques: BTreeMap<u64, Value>,
    next_id: u64,
    webhook_url: Option<String>,
}

impl Data {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
    fn bal(&mut self, c: &str) -> &mut Decimal {
        self.balances.entry(c.to_string()).or_default()
    }
}

struct Shared {
    api_key: String,
    data: Mutex<Data>,
    webhooks: WebhookSender,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running legacy sandbox. Stops when dropped.
pub struct Sandbox {
    server: SandboxServer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("legacy::Sandbox")
            .field("base_url", &self.server.base_url())
            .finish()
    }
}

impl Sandbox {
    /// Starts a sandbox accepting [`SANDBOX_API_KEY`], with 1000 TONCOIN, 1000 USDT and 0.5 BTC.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(SANDBOX_API_KEY).await
    }

    /// Starts a sandbox accepting `api_key` (webhooks are signed with SHA-256 of it).
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start_with(api_key: &str) -> std::io::Result<Self> {
        let mut data = Data::default();
        for (c, a) in [("TONCOIN", "1000"), ("USDT", "1000"), ("BTC", "0.5")] {
            *data.bal(c) = dec(a);
        }
        let shared = Arc::new(Shared {
            api_key: api_key.to_string(),
            data: Mutex::new(data),
            webhooks: WebhookSender::default(),
        });
        let router = Router::new().fallback(dispatch).with_state(shared.clone());
        Ok(Sandbox {
            server: SandboxServer::start(router).await?,
            shared,
        })
    }

    /// The base URL to give [`ClientBuilder::base_url`].
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The app token the sandbox accepts (and signs webhooks with).
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// A builder pointed at the sandbox with its token and quick retries.
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder()
            .api_key(self.shared.api_key.clone())
            .base_url(self.base_url())
            .retry_policy(
                RetryPolicy::default()
                    .base_delay(Duration::from_millis(20))
                    .max_delay(Duration::from_millis(100)),
            )
            .attempt_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
    }

    /// A client pointed at the sandbox.
    pub fn client(&self) -> Client {
        match self.client_builder().build() {
            Ok(c) => c,
            // The base URL is ours and the token non-empty: building cannot fail.
            Err(e) => unreachable!("legacy sandbox client: {e}"),
        }
    }

    /// Faults and the request log.
    pub fn server(&self) -> &SandboxServer {
        &self.server
    }

    /// When an `invoicePay` webhook your URL did not answer 2xx (or did not answer within the
    /// attempt timeout) is delivered again, byte for byte with the same signature. The legacy
    /// API documents no retry policy, so the default is ours, not xRocket's:
    /// [`WebhookRetry::conservative`] (retries after 10 s, 1 min, 5 min, 30 min and 2 h; 10 s
    /// per attempt); `WebhookRetry::every(Duration::from_millis(20), 3)` in tests,
    /// `WebhookRetry::none()` to deliver once. Every attempt is in [`Delivery::attempts`].
    pub fn webhook_retry(&self, schedule: WebhookRetry) {
        self.shared.webhooks.set_retry(schedule);
    }

    /// Where `invoicePay` webhooks go (the app setting in the bot).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.shared.lock().webhook_url = Some(url.into());
    }

    /// The balance of `currency`.
    pub fn balance(&self, currency: &str) -> Decimal {
        self.shared
            .lock()
            .balances
            .get(currency)
            .copied()
            .unwrap_or_default()
    }

    /// Sets the balance of `currency`.
    pub fn set_balance(&self, currency: &str, amount: Decimal) {
        *self.shared.lock().bal(currency) = amount;
    }

    /// Withdrawals to `address` fail (and are refunded) on [`Sandbox::advance`].
    pub fn fail_withdrawals_to(&self, address: impl Into<String>) {
        self.shared.lock().failing_addresses.insert(address.into());
    }

    /// How many transfers were made.
    pub fn transfers_created(&self) -> usize {
        self.shared.lock().transfers.len()
    }

    /// How many withdrawals were made.
    pub fn withdrawals_created(&self) -> usize {
        self.shared.lock().withdrawals.len()
    }

    /// How many cheques exist.
    pub fn cheques_created(&self) -> usize {
        self.shared.lock().cheques.len()
    }

    /// Moves every `CREATED` withdrawal to `COMPLETED` (or `FAIL`, refunded, for addresses set
    /// up with [`Sandbox::fail_withdrawals_to`]). Returns their `withdrawalId`s.
    pub async fn advance(&self) -> Vec<String> {
        let mut d = self.shared.lock();
        let mut moved = Vec::new();
        let failing = d.failing_addresses.clone();
        let mut refunds = Vec::new();
        for (id, w) in d.withdrawals.iter_mut() {
            if w["status"] != "CREATED" {
                continue;
            }
            let address = w["address"].as_str().unwrap_or_default().to_string();
            if failing.contains(&address) {
                w["status"] = json!("FAIL");
                w["error"] = json!("sandbox: the address refused the transfer");
                refunds.push((
                    w["currency"].as_str().unwrap_or_default().to_string(),
                    w["_held"].clone(),
                ));
            } else {
                w["status"] = json!("COMPLETED");
                w["txHash"] = json!(format!("sandbox-tx-{id}"));
                w["txLink"] = json!(format!("https://tonviewer.com/transaction/sandbox-tx-{id}"));
            }
            moved.push(id.clone());
        }
        for (c, held) in refunds {
            let amount = held.as_str().map(dec).unwrap_or_default();
            *d.bal(&c) += amount;
        }
        moved
    }

    /// A payment of `amount` by Telegram user `user_id` to invoice `id`: recorded in its
    /// `payments`, credited net of the 1.5 % fee, and delivered as a signed `invoicePay` to the
    /// webhook URL. False if there is no such active invoice.
    pub async fn pay_invoice(&self, id: &str, user_id: i64, amount: Decimal) -> bool {
        let (url, body) = {
            let mut d = self.shared.lock();
            let Some(key) = id.parse::<u64>().ok() else {
                return false;
            };
            let Some(inv) = d.invoices.get_mut(&key) else {
                return false;
            };
            if inv["status"] != "active" {
                return false;
            }
            let fee = (amount * dec(FEE_PERCENTS) / Decimal::from(100)).round_dp(9);
            let received = amount - fee;
            let now = "2025-06-26T12:00:00.000Z";
            let num = inv["payments"].as_array().map(Vec::len).unwrap_or(0) + 1;
            let payment = json!({
                "userId": user_id, "paymentNum": num, "paymentAmount": num_of(amount),
                "paymentAmountReceived": num_of(received), "comment": "", "paid": now,
            });
            if let Some(p) = inv["payments"].as_array_mut() {
                p.push(payment.clone());
            }
            inv["paid"] = json!(now);
            let left = inv["activationsLeft"].as_u64().unwrap_or(0);
            if inv["totalActivations"].as_u64().unwrap_or(0) > 0 {
                let left = left.saturating_sub(1);
                inv["activationsLeft"] = json!(left);
                if left == 0 {
                    inv["status"] = json!("paid");
                }
            }
            let currency = inv["currency"].as_str().unwrap_or_default().to_string();
            let mut data = inv.clone();
            if let Some(o) = data.as_object_mut() {
                o.remove("payments");
                o.insert("payment".into(), payment);
            }
            *d.bal(&currency) += received;
            let body = json!({"type": "invoicePay", "timestamp": now, "data": data});
            (
                d.webhook_url.clone(),
                serde_json::to_vec(&body).unwrap_or_default(),
            )
        };
        if let Some(url) = url {
            let sig = super::webhook::signature(&self.shared.api_key, &body);
            self.shared
                .webhooks
                .send(
                    &url,
                    "invoicePay",
                    &[(super::webhook::SIGNATURE_HEADER, sig)],
                    body,
                )
                .await;
        }
        true
    }

    /// The webhooks delivered so far, with headers and raw body
    /// (`Verifier::new(sandbox.api_key()).verify(&d.header_map(), &d.body)`).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.webhooks.deliveries()
    }
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

/// A decimal as a JSON number.
fn num_of(d: Decimal) -> Value {
    serde_json::from_str(&d.normalize().to_string()).unwrap_or(Value::Null)
}

fn ok(status: u16, data: Value) -> Reply {
    json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        &json!({"success": true, "data": data}),
    )
}

fn fail(status: u16, message: &str) -> Reply {
    json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        &json!({"success": false, "message": message}),
    )
}

fn field_error(property: &str, error: &str) -> Reply {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"success": false, "message": "Bad request", "errors": [{"property": property, "error": error}]}),
    )
}

fn query(uri: &Uri) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let b = s.replace('+', " ");
        let bytes = b.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && i + 2 < bytes.len()
                && let Some(Ok(v)) = b.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
            {
                out.push(v);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn q<'a>(qs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    qs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// A required amount: a JSON number with at most 9 decimals, greater than zero.
fn amount(body: &Value, field: &str) -> Result<Decimal, Reply> {
    match &body[field] {
        Value::Number(n) => n
            .as_f64()
            .and_then(payout_core::money::decimal_from_f64)
            .filter(|d| *d > Decimal::ZERO)
            .ok_or_else(|| field_error(field, &format!("{field} must be a positive number"))),
        _ => Err(field_error(
            field,
            &format!("{field} must be a number conforming to the specified constraints"),
        )),
    }
}

fn text<'a>(body: &'a Value, field: &str) -> Result<&'a str, Reply> {
    body[field]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| field_error(field, &format!("{field} must be a string")))
}

fn page(items: Vec<Value>, qs: &[(String, String)]) -> Reply {
    let limit = q(qs, "limit").and_then(|v| v.parse().ok()).unwrap_or(100usize);
    let offset = q(qs, "offset").and_then(|v| v.parse().ok()).unwrap_or(0usize);
    if !(1..=1000).contains(&limit) {
        return field_error("limit", "limit must not be greater than 1000");
    }
    let total = items.len();
    let results: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    ok(
        200,
        json!({"total": total, "limit": limit, "offset": offset, "results": results}),
    )
}

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/').to_string();
    let qs = query(&uri);
    let public = matches!(
        path.as_str(),
        "/version" | "/health" | "/currencies/available" | "/withdrawal-link"
    );
    let key = headers.get(KEY_HEADER).and_then(|v| v.to_str().ok());
    if !public && key != Some(shared.api_key.as_str()) {
        return fail(401, "Unauthorized");
    }
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return fail(400, "Bad request"),
        }
    };
    let mut d = shared.lock();
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["version"]) => json_response(StatusCode::OK, &json!({"version": "1.3.1"})),
        ("GET", ["health"]) => json_response(
            StatusCode::OK,
            &json!({"status": "ok", "info": {}, "error": {}, "details": {}}),
        ),
        ("GET", ["currencies", "available"]) => ok(
            200,
            json!({"results": COINS.iter().map(|(c, n, min, fee, net)| json!({
                "currency": c, "name": n, "minTransfer": num_of(dec(min)), "minCheque": num_of(dec(min)),
                "minInvoice": num_of(dec(min)), "minWithdraw": num_of(dec(min)),
                "feeWithdraw": {"currency": c, "networks": [{"networkCode": net, "feeWithdraw": {"fee": num_of(dec(fee)), "currency": c}}]},
            })).collect::<Vec<_>>()}),
        ),
        ("GET", ["app", "info"]) => ok(
            200,
            json!({"name": "Sandbox App", "feePercents": num_of(dec(FEE_PERCENTS)),
                   "balances": d.balances.iter().map(|(c, b)| json!({"currency": c, "balance": num_of(*b)})).collect::<Vec<_>>()}),
        ),
        ("POST", ["app", "transfer"]) => transfer(&mut d, &body).unwrap_or_else(|r| r),
        ("POST", ["app", "withdrawal"]) => withdrawal(&mut d, &body).unwrap_or_else(|r| r),
        ("GET", ["app", "withdrawal", "status", id]) => match d.withdrawals.get(*id) {
            Some(w) => ok(201, public_view(w)),
            None => fail(404, "Withdrawal not found"),
        },
        ("GET", ["app", "withdrawal", "fees"]) => ok(
            200,
            Value::Array(
                COINS
                    .iter()
                    .filter(|c| q(&qs, "currency").is_none_or(|want| want == c.0))
                    .map(|(c, _, min, fee, net)| json!({"code": c, "minWithdraw": num_of(dec(min)),
                        "fees": [{"networkCode": net, "feeWithdraw": {"fee": num_of(dec(fee)), "currency": c}}]}))
                    .collect(),
            ),
        ),
        ("GET", ["withdrawal-link"]) => match (q(&qs, "currency"), q(&qs, "network"), q(&qs, "address")) {
            (Some(c), Some(n), Some(a)) => ok(
                200,
                json!({"telegramAppLink": format!("https://t.me/xrocket/app?startapp=withdraw-{c}-{n}-{}", a.len())}),
            ),
            _ => field_error("address", "currency, network and address are required"),
        },
        ("POST", ["tg-invoices"]) => create_invoice(&mut d, &body).unwrap_or_else(|r| r),
        ("GET", ["tg-invoices"]) => page(
            d.invoices
                .values()
                .map(|i| {
                    let mut i = i.clone();
                    if let Some(o) = i.as_object_mut() {
                        o.remove("payments");
                    }
                    i
                })
                .collect(),
            &qs,
        ),
        ("GET", ["tg-invoices", id]) => match id.parse::<u64>().ok().and_then(|k| d.invoices.get(&k)) {
            Some(i) => ok(200, i.clone()),
            None => fail(404, "Invoice not found"),
        },
        ("DELETE", ["tg-invoices", id]) => match id.parse::<u64>().ok().and_then(|k| d.invoices.remove(&k)) {
            Some(_) => json_response(StatusCode::OK, &json!({"success": true})),
            None => fail(404, "Invoice not found"),
        },
        ("POST", ["multi-cheque"]) => create_cheque(&mut d, &body).unwrap_or_else(|r| r),
        ("GET", ["multi-cheque"]) => page(d.cheques.values().cloned().collect(), &qs),
        ("GET", ["multi-cheque", id]) => match id.parse::<u64>().ok().and_then(|k| d.cheques.get(&k)) {
            Some(c) => ok(200, c.clone()),
            None => fail(404, "Cheque not found"),
        },
        ("PUT", ["multi-cheque", id]) => match id.parse::<u64>().ok().and_then(|k| d.cheques.get_mut(&k)) {
            Some(c) => {
                for (from, to) in [
                    ("password", "password"),
                    ("description", "description"),
                    ("sendNotifications", "sendNotifications"),
                    ("enableCaptcha", "captchaEnabled"),
                    ("forPremium", "forPremium"),
                    ("linkedWallet", "linkedWallet"),
                    ("disabledLanguages", "disabledLanguages"),
                    ("enabledCountries", "enabledCountries"),
                ] {
                    if let Some(v) = body.get(from) {
                        c[to] = v.clone();
                    }
                }
                ok(200, c.clone())
            }
            None => fail(404, "Cheque not found"),
        },
        ("DELETE", ["multi-cheque", id]) => match id.parse::<u64>().ok().and_then(|k| d.cheques.remove(&k)) {
            Some(c) => {
                let per_user = c["perUser"].as_f64().and_then(payout_core::money::decimal_from_f64).unwrap_or_default();
                let left = c["users"].as_u64().unwrap_or(0).saturating_sub(c["activations"].as_u64().unwrap_or(0));
                let currency = c["currency"].as_str().unwrap_or_default().to_string();
                *d.bal(&currency) += per_user * Decimal::from(left);
                json_response(StatusCode::OK, &json!({"success": true}))
            }
            None => fail(404, "Cheque not found"),
        },
        _ => fail(404, "Not found"),
    }
}

/// The withdrawal without the sandbox's bookkeeping.
fn public_view(w: &Value) -> Value {
    let mut w = w.clone();
    if let Some(o) = w.as_object_mut() {
        o.remove("_held");
    }
    w
}

fn debit(d: &mut Data, currency: &str, amount: Decimal) -> Result<(), Reply> {
    let b = d.bal(currency);
    if *b < amount {
        return Err(fail(400, "Insufficient funds"));
    }
    *b -= amount;
    Ok(())
}

fn transfer(d: &mut Data, body: &Value) -> Result<Reply, Reply> {
    let user = body["tgUserId"]
        .as_i64()
        .ok_or_else(|| field_error("tgUserId", "tgUserId must be a number"))?;
    let currency = text(body, "currency")?.to_string();
    let amount = amount(body, "amount")?;
    let id = text(body, "transferId")?.to_string();
    if d.transfer_ids.contains(&id) {
        return Err(fail(400, "Transfer with this transferId already exists"));
    }
    if user == UNKNOWN_TELEGRAM_USER {
        return Err(fail(400, "User not found"));
    }
    debit(d, &currency, amount)?;
    d.transfer_ids.insert(id);
    let xid = d.id();
    let mut t = json!({"id": xid, "tgUserId": user, "currency": currency, "amount": num_of(amount)});
    if let Some(desc) = body["description"].as_str() {
        t["description"] = json!(desc);
    }
    d.transfers.push(t.clone());
    Ok(ok(201, t))
}

fn withdrawal(d: &mut Data, body: &Value) -> Result<Reply, Reply> {
    let network = text(body, "network")?.to_string();
    let address = text(body, "address")?.to_string();
    let currency = text(body, "currency")?.to_string();
    let amount = amount(body, "amount")?;
    let id = text(body, "withdrawalId")?.to_string();
    if id.len() > 50 {
        return Err(field_error(
            "withdrawalId",
            "withdrawalId must be shorter than or equal to 50 characters",
        ));
    }
    if d.withdrawals.contains_key(&id) {
        return Err(fail(400, "Withdrawal with this withdrawalId already exists"));
    }
    let fee = COINS
        .iter()
        .find(|c| c.0 == currency)
        .map(|c| dec(c.3))
        .unwrap_or_default();
    debit(d, &currency, amount + fee)?;
    let mut w = json!({"network": network, "address": address, "currency": currency, "amount": num_of(amount),
                       "withdrawalId": id, "status": "CREATED", "_held": (amount + fee).to_string()});
    if let Some(c) = body["comment"].as_str() {
        w["comment"] = json!(c);
    }
    d.withdrawals.insert(id, w.clone());
    Ok(ok(201, public_view(&w)))
}

fn create_invoice(d: &mut Data, body: &Value) -> Result<Reply, Reply> {
    let currency = body["currency"].as_str().unwrap_or("TONCOIN").to_string();
    let num = body["numPayments"].as_u64().unwrap_or(1);
    if let Some(e) = body.get("expiredIn")
        && e.as_u64().is_none_or(|s| s > 86_400)
    {
        return Err(field_error(
            "expiredIn",
            "expiredIn must not be greater than 86400",
        ));
    }
    let id = d.id();
    let mut inv = json!({
        "id": id, "amount": body.get("amount").cloned().unwrap_or(json!(0)),
        "minPayment": body.get("minPayment").cloned().unwrap_or(json!(0)),
        "totalActivations": num, "activationsLeft": num, "currency": currency,
        "created": "2025-06-26T12:00:00.000Z", "status": "active",
        "expiredIn": body.get("expiredIn").cloned().unwrap_or(json!(0)),
        "link": format!("https://t.me/xRocket?start=inv_sandbox{id}"), "payments": [],
    });
    for f in [
        "description",
        "hiddenMessage",
        "payload",
        "callbackUrl",
        "commentsEnabled",
    ] {
        if let Some(v) = body.get(f) {
            inv[f] = v.clone();
        }
    }
    d.invoices.insert(id, inv.clone());
    if let Some(o) = inv.as_object_mut() {
        o.remove("payments");
    }
    Ok(ok(201, inv))
}

fn create_cheque(d: &mut Data, body: &Value) -> Result<Reply, Reply> {
    let currency = text(body, "currency")?.to_string();
    let per_user = amount(body, "chequePerUser")?;
    let users = body["usersNumber"]
        .as_u64()
        .filter(|u| *u >= 1)
        .ok_or_else(|| field_error("usersNumber", "usersNumber must be a positive number"))?;
    let ref_program = body["refProgram"].as_u64().unwrap_or(0);
    if ref_program > 100 {
        return Err(field_error(
            "refProgram",
            "refProgram must not be greater than 100",
        ));
    }
    let total = per_user * Decimal::from(users);
    debit(d, &currency, total)?;
    let id = d.id();
    let flag = |k: &str, default: bool| body[k].as_bool().unwrap_or(default);
    let c = json!({
        "id": id, "currency": currency, "total": num_of(total), "perUser": num_of(per_user), "users": users,
        "password": body["password"].as_str().unwrap_or(""), "description": body["description"].as_str().unwrap_or(""),
        "sendNotifications": flag("sendNotifications", true), "captchaEnabled": flag("enableCaptcha", true),
        "refProgramPercents": ref_program, "refRewardPerUser": 0, "state": "active",
        "link": format!("https://t.me/xRocket?start=mc_sandbox{id}"),
        "disabledLanguages": body.get("disabledLanguages").cloned().unwrap_or(json!([])),
        "enabledCountries": body.get("enabledCountries").cloned().unwrap_or(json!([])),
        "forPremium": u8::from(flag("forPremium", false)), "forNewUsersOnly": 0,
        "linkedWallet": u8::from(flag("linkedWallet", false)),
        "tgResources": body["telegramResourcesIds"].as_array().map(|ids| ids.iter()
            .map(|i| json!({"telegramId": i, "name": "Sandbox chat"})).collect::<Vec<_>>()).unwrap_or_default(),
        "activations": 0, "refRewards": 0,
    });
    d.cheques.insert(id, c.clone());
    Ok(ok(201, c))
}
