//! An offline xRocket Pay (feature `sandbox`): the current Bearer API served in-process on a
//! random loopback port, with balances, objects moving through their statuses, signed
//! webhooks and scriptable faults. Think of it as a testnet that needs no network and no bot.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use xrocket::sandbox::Sandbox;
//! use xrocket::{Asset, CreateTransfer, Decimal, TransferStatus};
//! let sandbox = Sandbox::start().await.unwrap();
//! let client = sandbox.client();
//! let before = sandbox.balance("TONCOIN").available;
//! let t = client
//!     .transfers()
//!     .create(&CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, Decimal::new(125, 2)))
//!     .await
//!     .unwrap();
//! assert_eq!(sandbox.balance("TONCOIN").available, before - Decimal::new(125, 2));
//! sandbox.advance().await; // pending -> finished, `transfer` webhook
//! let done = client.transfers().get(&t.transfer_id).await.unwrap();
//! assert_eq!(done.status, Some(TransferStatus::Finished));
//! # });
//! ```
//!
//! # What it models
//!
//! From xRocket's documentation and the crate's reference notes:
//!
//! * `Authorization: Bearer <token>` on private calls; a missing or wrong token is answered
//!   401 `application/problem+json` with type `/api/problems/unauthorized`. `/health`,
//!   currencies, rates and withdrawal quotas are public.
//! * RFC 9457 problems for every error, with the documented `type` codes
//!   (`client_id_already_taken`, `amount_more_than_app_balance`, `target_user_not_found`,
//!   `invoice_expired`, `withdrawal_incorrect_address`, ...), `detail` and `instance`.
//! * Amounts as decimal strings (a JSON number is refused with `validation_error`), checked
//!   against each asset's precision (`amount_invalid`).
//! * Balances per asset (`balance`, `available`, `holds`): cheques reserve their amount until
//!   redeemed ([`Sandbox::redeem_cheque`]), deleted or expired ([`Sandbox::expire_cheque`]);
//!   transfers debit at once; withdrawals hold `amount + fee` until they complete (debit) or
//!   fail (released); paid invoices credit.
//! * Client ids (`clientTransferId`, `clientWithdrawalId`, `clientChequeId`,
//!   `clientInvoiceId`, and per mass-transfer item) are unique: a repeat is refused with 400
//!   `client_id_already_taken` and moves nothing, so the crate's reconciliation runs for real.
//! * Transfers (`pending` → `finished`), withdrawals (`CREATED` → `COMPLETED`, or `FAIL` for
//!   addresses set up with [`Sandbox::fail_withdrawals_to`]) moving on demand
//!   ([`Sandbox::advance`], [`Sandbox::complete_withdrawal`], [`Sandbox::fail_withdrawal`]) or
//!   on a timer ([`Sandbox::auto_advance`]); invoices that expire on
//!   a virtual clock ([`Sandbox::advance_clock`]); mass transfers with per-item successes and
//!   failures (an unknown recipient, a blocked one, an insufficient balance for one item).
//! * The testnet-only `PUT /api/v1/invoices/pay`, on-chain payment addresses, withdrawal links
//!   and quotas, currencies and rates from a small table, cursor pagination
//!   (`pagination.next`), and both transfer namings (`/api/v1/transfers` and `/api/v1/payouts`).
//! * Webhooks in the `{id, timestamp, type, data}` envelope, signed with the webhook secret
//!   (`Signature` = hex HMAC-SHA256 of `"<Signature-Timestamp>.<raw body>"`,
//!   `Signature-Version: v1`), to the object's `callback.callbackUrl` or the app-wide URL
//!   ([`Sandbox::set_webhook_url`]); a delivery your URL does not answer 2xx is delivered
//!   again with the same `id` and body and a fresh `Signature-Timestamp`
//!   ([`Sandbox::webhook_retry`]).
//! * Rate limits are not published (about 20 requests per minute per endpoint is reported), so
//!   none applies by default; [`Sandbox::set_rate_limit`] scripts one, answered 429
//!   `rate_limit_exceeded` with `Retry-After`.
//!
//! Faults and the request log come from [`SandboxServer`] ([`Sandbox::server`]); a failure
//! *after* the work was done (xRocket created the transfer, then answered 500) is scripted
//! with [`Sandbox::fail_after_processing`]. The sandbox's own record: objects and balances
//! ([`Sandbox::transfers_created`], [`Sandbox::balance`], ...) and every problem it answered
//! ([`Sandbox::problems`]), so a test can see a retry refused with `client_id_already_taken`.

// Handlers return the problem response itself as their error: boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use payout_core::sandbox::axum::Router;
use payout_core::sandbox::axum::body::{Body, Bytes};
use payout_core::sandbox::axum::extract::State;
use payout_core::sandbox::axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use payout_core::sandbox::axum::response::Response;
pub use payout_core::sandbox::{
    Attempt, Delivery, Fault, RecordedRequest, SandboxServer, WebhookInbox, WebhookRetry,
};
use payout_core::sandbox::{WebhookSender, json_response};
use payout_core::{Decimal, RetryPolicy, Timestamp};
use serde_json::{Map, Value, json};

use crate::client::{Client, ClientBuilder};
use crate::transfers::Transfer;
use crate::webhook;
use crate::withdrawals::Withdrawal;
use crate::{Cheque, ChequeId, Invoice, InvoiceId, WithdrawalId};

/// The API token the sandbox accepts unless you choose another.
pub const SANDBOX_API_KEY: &str = "xrocket_sandbox_token";
/// The webhook secret the sandbox signs with unless you choose another.
pub const SANDBOX_WEBHOOK_SECRET: &str = "xrocket_sandbox_webhook_secret";
/// A Telegram user who never started @xRocket: transfers to them fail with
/// `target_user_not_found`.
pub const UNKNOWN_TELEGRAM_USER: i64 = 404;
/// A blocked Telegram user: transfers to them fail with `payout_user_blocked`.
pub const BLOCKED_TELEGRAM_USER: i64 = 403;

/// code, title, kind, networks, USD rate, precision.
type CurrencyRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    u32,
);

/// The sandbox's currency table.
const CURRENCIES: &[CurrencyRow] = &[
    ("TONCOIN", "Toncoin", "crypto", &["TON"], "5.25", 9),
    (
        "USDT",
        "Tether USD",
        "crypto",
        &["TON", "TRX", "BSC", "ETH"],
        "1",
        6,
    ),
    ("BTC", "Bitcoin", "crypto", &["BTC"], "65000", 8),
    ("ETH", "Ether", "crypto", &["ETH"], "3200", 9),
    ("USD", "US Dollar", "fiat", &[], "1", 2),
    ("EUR", "Euro", "fiat", &[], "1.08", 2),
];

/// network, asset, minimum, fee (in the asset), precision.
const QUOTAS: &[(&str, &str, &str, &str, u32)] = &[
    ("TON", "TONCOIN", "0.1", "0.01", 9),
    ("TON", "USDT", "1", "0.3", 6),
    ("TRX", "USDT", "5", "1", 6),
    ("BSC", "USDT", "5", "0.5", 6),
    ("ETH", "USDT", "10", "3", 6),
    ("BTC", "BTC", "0.0002", "0.00005", 8),
    ("ETH", "ETH", "0.005", "0.001", 9),
];

const NETWORKS: &[&str] = &["TON", "BSC", "ETH", "BTC", "TRX", "SOL"];

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

fn currency(code: &str) -> Option<&'static CurrencyRow> {
    CURRENCIES.iter().find(|c| c.0 == code)
}

fn is_crypto(code: &str) -> bool {
    currency(code).is_some_and(|c| c.2 == "crypto")
}

fn usd_rate(code: &str) -> Option<Decimal> {
    currency(code).map(|c| dec(c.4))
}

fn precision(code: &str) -> u32 {
    currency(code).map(|c| c.5).unwrap_or(9)
}

/// An asset's balance as the sandbox holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SandboxBalance {
    /// The total balance.
    pub balance: Decimal,
    /// Reserved by active cheques and pending withdrawals.
    pub holds: Decimal,
    /// `balance - holds`: what can be spent now.
    pub available: Decimal,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bal {
    balance: Decimal,
    holds: Decimal,
}

impl Bal {
    fn available(&self) -> Decimal {
        self.balance - self.holds
    }
}

/// A transfer, withdrawal or cheque as stored: its JSON (docs naming) and what the books need.
struct Rec {
    v: Value,
    asset: String,
    amount: Decimal,
    fee: Decimal,
    hook_url: Option<String>,
    payouts: bool,
    created_ms: u64,
}

struct Inv {
    v: Value,
    deleted: bool,
    payments: Vec<Value>,
    expires_ms: Option<u64>,
    hook_url: Option<String>,
}

struct Hook {
    url: String,
    label: String,
    body: Vec<u8>,
}

struct AfterFault {
    method: String,
    path_prefix: String,
    status: u16,
}

#[derive(Default)]
struct Data {
    balances: BTreeMap<String, Bal>,
    seq: u64,
    event_seq: u64,
    transfers: Vec<Rec>,
    transfer_ids: HashMap<String, usize>,
    withdrawals: Vec<Rec>,
    withdrawal_ids: HashMap<String, usize>,
    cheques: Vec<Rec>,
    cheque_ids: HashMap<String, usize>,
    invoices: Vec<Inv>,
    invoice_ids: HashMap<String, usize>,
    webhook_url: Option<String>,
    unknown_users: HashSet<String>,
    blocked_users: HashSet<String>,
    fail_addresses: HashSet<String>,
    after_faults: VecDeque<AfterFault>,
    rate_limit: Option<(usize, Duration)>,
    rate_windows: HashMap<String, VecDeque<Instant>>,
    clock_offset: Duration,
    health: String,
    problems: Vec<String>,
}

impl Data {
    fn next_id(&mut self) -> String {
        self.seq += 1;
        format!("{}", 1_000_000 + self.seq)
    }

    fn now_ms(&self) -> u64 {
        let now = SystemTime::now() + self.clock_offset;
        now.duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn bal(&mut self, asset: &str) -> &mut Bal {
        self.balances.entry(asset.to_string()).or_default()
    }

    fn event(&mut self, url: Option<&String>, kind: &str, label: String, data: Value) -> Option<Hook> {
        let url = url.or(self.webhook_url.as_ref())?.clone();
        self.event_seq += 1;
        let body = json!({
            "id": format!("evt-{:06}", self.event_seq),
            "timestamp": iso(self.now_ms()),
            "type": kind,
            "data": data,
        });
        Some(Hook {
            url,
            label,
            body: serde_json::to_vec(&body).unwrap_or_default(),
        })
    }
}

struct Shared {
    api_key: String,
    webhook_secret: String,
    data: Mutex<Data>,
    webhooks: WebhookSender,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn deliver(&self, hooks: Vec<Hook>) {
        for h in hooks {
            // Each attempt is signed when it is sent: xRocket's signature covers a timestamp
            // that a receiver checks against a 5-minute window, while the body (and its
            // envelope `id`) stays the same on every retry.
            let secret = self.webhook_secret.clone();
            let sign = move |body: &[u8]| {
                let ts = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0)
                    .to_string();
                let sig = webhook::signature(&secret, &ts, body);
                vec![
                    (webhook::SIGNATURE_HEADER.to_string(), sig),
                    (webhook::TIMESTAMP_HEADER.to_string(), ts),
                    (
                        webhook::VERSION_HEADER.to_string(),
                        webhook::SIGNATURE_VERSION.to_string(),
                    ),
                ]
            };
            self.webhooks.send_signed(&h.url, &h.label, h.body, sign).await;
        }
    }
}

/// A running xRocket Pay sandbox. Stops when dropped.
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
    /// Starts a sandbox accepting [`SANDBOX_API_KEY`] and signing with
    /// [`SANDBOX_WEBHOOK_SECRET`], with 1000 TONCOIN, 1000 USDT, 0.5 BTC and 2 ETH.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(SANDBOX_API_KEY, SANDBOX_WEBHOOK_SECRET).await
    }

    /// Starts a sandbox accepting `api_key` and signing webhooks with `webhook_secret`.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start_with(api_key: &str, webhook_secret: &str) -> std::io::Result<Self> {
        let mut data = Data {
            health: "ok".into(),
            ..Data::default()
        };
        for (asset, amount) in [
            ("TONCOIN", "1000"),
            ("USDT", "1000"),
            ("BTC", "0.5"),
            ("ETH", "2"),
        ] {
            data.bal(asset).balance = dec(amount);
        }
        data.unknown_users.insert(UNKNOWN_TELEGRAM_USER.to_string());
        data.blocked_users.insert(BLOCKED_TELEGRAM_USER.to_string());
        let shared = Arc::new(Shared {
            api_key: api_key.to_string(),
            webhook_secret: webhook_secret.to_string(),
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

    /// The API token the sandbox accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// The secret webhooks are signed with (give it to [`webhook::Verifier::new`]).
    pub fn webhook_secret(&self) -> &str {
        &self.shared.webhook_secret
    }

    /// A builder pointed at the sandbox with its token and quick retries; add your own
    /// settings (e.g. `.transfer_naming(TransferNaming::Payouts)`) and build.
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder()
            .api_key(self.shared.api_key.clone())
            .base_url(self.base_url())
            .retry_policy(
                RetryPolicy::default()
                    .base_delay(Duration::from_millis(20))
                    .max_delay(Duration::from_millis(100))
                    .max_retry_after(Duration::from_secs(5)),
            )
            .attempt_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
    }

    /// A client pointed at the sandbox, with quick retries.
    pub fn client(&self) -> Client {
        match self.client_builder().build() {
            Ok(c) => c,
            // The base URL is ours and the token non-empty: building cannot fail.
            Err(e) => unreachable!("sandbox client: {e}"),
        }
    }

    /// Faults and the request log.
    pub fn server(&self) -> &SandboxServer {
        &self.server
    }

    /// When a webhook your URL did not answer 2xx (or did not answer within the attempt
    /// timeout) is delivered again: the same envelope `id` and body, signed afresh with a new
    /// `Signature-Timestamp`. xRocket says your endpoint must answer `200 OK` but publishes no
    /// retry count or schedule, so the default is ours, not xRocket's:
    /// [`WebhookRetry::conservative`] (retries after 10 s, 1 min, 5 min, 30 min and 2 h; 10 s
    /// per attempt). In tests, make it fast: `sandbox.webhook_retry(WebhookRetry::every(
    /// Duration::from_millis(20), 3))`; `WebhookRetry::none()` delivers once. Every attempt is
    /// in [`Delivery::attempts`]. Applies to webhooks sent from now on.
    pub fn webhook_retry(&self, schedule: WebhookRetry) {
        self.shared.webhooks.set_retry(schedule);
    }

    /// Sends every webhook without a per-object `callback` to `url` (the bot's app setting).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.shared.lock().webhook_url = Some(url.into());
    }

    /// Sets the total balance of `asset` (holds are kept).
    pub fn set_balance(&self, asset: &str, balance: Decimal) {
        self.shared.lock().bal(asset).balance = balance;
    }

    /// The balance of `asset`.
    pub fn balance(&self, asset: &str) -> SandboxBalance {
        let b = self
            .shared
            .lock()
            .balances
            .get(asset)
            .copied()
            .unwrap_or_default();
        SandboxBalance {
            balance: b.balance,
            holds: b.holds,
            available: b.available(),
        }
    }

    /// Makes transfers to `target` (a Telegram user id, user id or username) fail with
    /// `target_user_not_found`. [`UNKNOWN_TELEGRAM_USER`] is unknown from the start.
    pub fn add_unknown_user(&self, target: impl Into<String>) {
        self.shared.lock().unknown_users.insert(target.into());
    }

    /// Makes withdrawals to `address` end in `FAIL` when advanced (the hold is released).
    pub fn fail_withdrawals_to(&self, address: impl Into<String>) {
        self.shared.lock().fail_addresses.insert(address.into());
    }

    /// Allows `limit` requests per `per` to each method and path; more are answered 429
    /// `rate_limit_exceeded` with `Retry-After`. xRocket publishes no number (about 20 per
    /// minute per endpoint is reported), so no limit applies until you set one.
    pub fn set_rate_limit(&self, limit: usize, per: Duration) {
        let mut d = self.shared.lock();
        d.rate_limit = Some((limit.max(1), per));
        d.rate_windows.clear();
    }

    /// Processes the next `n` requests with this method whose path starts with `path_prefix`
    /// normally, then answers `status` with an `internal_error` problem instead of the
    /// result: the work is done but the client is told it failed.
    pub fn fail_after_processing(&self, method: &str, path_prefix: &str, n: usize, status: u16) {
        let mut d = self.shared.lock();
        for _ in 0..n {
            d.after_faults.push_back(AfterFault {
                method: method.to_string(),
                path_prefix: path_prefix.to_string(),
                status,
            });
        }
    }

    /// What `GET /health` reports (`ok`, `error`, `shutting_down`); anything but `ok` is
    /// answered 503.
    pub fn set_health(&self, status: &str) {
        self.shared.lock().health = status.to_string();
    }

    /// Moves the sandbox's clock forward (invoices expire on it), delivering the webhooks.
    pub async fn advance_clock(&self, by: Duration) {
        let hooks = {
            let mut d = self.shared.lock();
            d.clock_offset += by;
            let mut hooks = Vec::new();
            expire_invoices(&mut d, &mut hooks);
            hooks
        };
        self.shared.deliver(hooks).await;
    }

    /// Moves every open object one step: transfers `pending` → `finished`, withdrawals
    /// `CREATED` → `COMPLETED` (debited) or `FAIL` (released), delivering webhooks. Returns
    /// the ids of the objects that changed (transfer and withdrawal ids).
    pub async fn advance(&self) -> Vec<String> {
        advance(&self.shared).await
    }

    /// Advances every `every`, in the background, while the sandbox lives.
    pub fn auto_advance(&self, every: Duration) {
        payout_core::sandbox::tick_while_alive(&self.shared, every, |shared| async move {
            advance(&shared).await;
        });
    }

    /// Completes one `CREATED` withdrawal now (debit, transaction hash, webhook). False if
    /// there is no such withdrawal in `CREATED`.
    pub async fn complete_withdrawal(&self, id: &WithdrawalId) -> bool {
        self.settle(id, true).await
    }

    /// Fails one `CREATED` withdrawal now (the hold is released, webhook). False if there is
    /// no such withdrawal in `CREATED`.
    pub async fn fail_withdrawal(&self, id: &WithdrawalId) -> bool {
        self.settle(id, false).await
    }

    async fn settle(&self, id: &WithdrawalId, complete: bool) -> bool {
        let hooks = {
            let mut d = self.shared.lock();
            let Some(i) = d
                .withdrawals
                .iter()
                .position(|w| w.v["withdrawalId"] == id.as_str() && w.v["status"] == "CREATED")
            else {
                return false;
            };
            let mut hooks = Vec::new();
            settle_withdrawal(&mut d, i, complete, &mut hooks);
            hooks
        };
        self.shared.deliver(hooks).await;
        true
    }

    /// The recipient redeems the cheque: `completed`, the hold becomes a debit, a `cheque`
    /// webhook goes out. False if there is no such active cheque.
    pub async fn redeem_cheque(&self, id: &ChequeId) -> bool {
        self.end_cheque(id, true).await
    }

    /// The cheque lapses unredeemed (xRocket does not document cheque lifetimes; this is the
    /// same as a delete): `deleted: true`, the hold is released, a `cheque` webhook goes out.
    pub async fn expire_cheque(&self, id: &ChequeId) -> bool {
        self.end_cheque(id, false).await
    }

    async fn end_cheque(&self, id: &ChequeId, redeem: bool) -> bool {
        let hooks = {
            let mut d = self.shared.lock();
            let Some(i) = d.cheques.iter().position(|c| c.v["chequeId"] == id.as_str()) else {
                return false;
            };
            if d.cheques[i].v["state"] != "active" || d.cheques[i].v["deleted"] == true {
                return false;
            }
            let (asset, amount) = (d.cheques[i].asset.clone(), d.cheques[i].amount);
            let b = d.bal(&asset);
            b.holds -= amount;
            if redeem {
                b.balance -= amount;
                d.cheques[i].v["state"] = json!("completed");
            } else {
                d.cheques[i].v["deleted"] = json!(true);
            }
            let v = d.cheques[i].v.clone();
            let url = d.cheques[i].hook_url.clone();
            let label = format!("cheque {} {}", id, if redeem { "completed" } else { "deleted" });
            d.event(url.as_ref(), "cheque", label, v)
                .into_iter()
                .collect::<Vec<_>>()
        };
        self.shared.deliver(hooks).await;
        true
    }

    /// Pays an invoice as a payer would (what `PUT /api/v1/invoices/pay` does), delivering
    /// `payment_status_changed` and `invoice_status_changed`. False if it cannot be paid.
    pub async fn pay_invoice(&self, id: &InvoiceId) -> bool {
        let (ok, hooks) = {
            let mut d = self.shared.lock();
            let mut hooks = Vec::new();
            // By xRocket's invoice id (what `Invoice::id` holds); a client invoice id is
            // accepted too, as the lookup endpoint accepts either.
            let found = d
                .invoices
                .iter()
                .position(|i| i.v["id"] == id.as_str())
                .or_else(|| d.invoice_ids.get(id.as_str()).copied());
            let ok = match found {
                Some(i) => pay(&mut d, i, &mut hooks).is_ok(),
                None => false,
            };
            (ok, hooks)
        };
        self.shared.deliver(hooks).await;
        ok
    }

    /// How many transfers exist (single and mass; a retried or reconciled create counts once).
    pub fn transfers_created(&self) -> usize {
        self.shared.lock().transfers.len()
    }

    /// How many transfers went to `target`.
    pub fn transfers_to(&self, target: &str) -> usize {
        self.shared
            .lock()
            .transfers
            .iter()
            .filter(|t| t.v["target"] == target)
            .count()
    }

    /// How many withdrawals exist.
    pub fn withdrawals_created(&self) -> usize {
        self.shared.lock().withdrawals.len()
    }

    /// How many cheques exist (deleted ones included).
    pub fn cheques_created(&self) -> usize {
        self.shared.lock().cheques.len()
    }

    /// How many invoices were created (deleted ones included).
    pub fn invoices_created(&self) -> usize {
        self.shared.lock().invoices.len()
    }

    /// The transfer with this client id, as the sandbox holds it.
    pub fn transfer(&self, client_id: &str) -> Option<Transfer> {
        let d = self.shared.lock();
        let i = *d.transfer_ids.get(client_id)?;
        serde_json::from_value(d.transfers[i].v.clone()).ok()
    }

    /// The withdrawal with this client id, as the sandbox holds it.
    pub fn withdrawal(&self, client_id: &str) -> Option<Withdrawal> {
        let d = self.shared.lock();
        let i = *d.withdrawal_ids.get(client_id)?;
        serde_json::from_value(d.withdrawals[i].v.clone()).ok()
    }

    /// The cheque with this client id, as the sandbox holds it.
    pub fn cheque(&self, client_id: &str) -> Option<Cheque> {
        let d = self.shared.lock();
        let i = *d.cheque_ids.get(client_id)?;
        serde_json::from_value(d.cheques[i].v.clone()).ok()
    }

    /// The invoice with this client id, as the sandbox holds it.
    pub fn invoice(&self, client_id: &str) -> Option<Invoice> {
        let d = self.shared.lock();
        let i = *d.invoice_ids.get(client_id)?;
        serde_json::from_value(d.invoices[i].v.clone()).ok()
    }

    /// Every problem the sandbox answered, in order, as `"METHOD /path code"` (for example
    /// `"POST /api/v1/transfers client_id_already_taken"`): the provider's side of the story
    /// that the request log alone does not show.
    pub fn problems(&self) -> Vec<String> {
        self.shared.lock().problems.clone()
    }

    /// The webhooks delivered so far, each with the headers and raw body sent, so a test can
    /// check it with [`webhook::Verifier`]: `verifier.verify(&d.header_map(), &d.body)`.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.webhooks.deliveries()
    }
}

/// A webhook request exactly as xRocket would send it, to test your own handler without the
/// sandbox.
///
/// ```
/// use xrocket::sandbox::SignedWebhook;
/// use xrocket::webhook::{EventKind, Verifier};
/// let hook = SignedWebhook::new(
///     "my-webhook-secret",
///     "withdrawal",
///     serde_json::json!({"withdrawalId": "9", "network": "TON", "address": "UQ..", "asset": "TONCOIN",
///                        "amount": "2.5", "status": "COMPLETED"}),
/// );
/// let event = Verifier::new("my-webhook-secret").verify(&hook.headers, &hook.body)?.parse()?;
/// assert!(matches!(event.kind, EventKind::Withdrawal(_)));
/// # Ok::<(), xrocket::webhook::WebhookError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SignedWebhook {
    /// `Signature`, `Signature-Timestamp`, `Signature-Version` and `Content-Type`.
    pub headers: Vec<(String, String)>,
    /// The raw JSON body.
    pub body: Vec<u8>,
}

impl SignedWebhook {
    /// An envelope `{id, timestamp, type, data}` of `event_type` (`invoice`, `cheque`,
    /// `transfer`, `withdrawal`, ...), signed now with `secret`.
    pub fn new(secret: &str, event_type: &str, data: Value) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let body = json!({
            "id": format!("evt-test-{now}"),
            "timestamp": iso(now),
            "type": event_type,
            "data": data,
        });
        Self::from_body(secret, now, serde_json::to_vec(&body).unwrap_or_default())
    }

    /// `invoice` / `invoice_status_changed` for `invoice`, signed now with `secret`.
    pub fn invoice_status_changed(secret: &str, invoice: &Invoice) -> Self {
        let invoice = serde_json::to_value(invoice).unwrap_or(Value::Null);
        Self::new(
            secret,
            "invoice",
            json!({"event": "invoice_status_changed", "invoice": invoice}),
        )
    }

    /// Signs `body` as is, at `timestamp_ms` (Unix milliseconds): for stale timestamps,
    /// bodies of your own, or a wrong secret.
    pub fn from_body(secret: &str, timestamp_ms: u64, body: Vec<u8>) -> Self {
        let ts = timestamp_ms.to_string();
        let sig = webhook::signature(secret, &ts, &body);
        SignedWebhook {
            headers: vec![
                (webhook::SIGNATURE_HEADER.to_string(), sig),
                (webhook::TIMESTAMP_HEADER.to_string(), ts),
                (
                    webhook::VERSION_HEADER.to_string(),
                    webhook::SIGNATURE_VERSION.to_string(),
                ),
                ("Content-Type".to_string(), "application/json".to_string()),
            ],
            body,
        }
    }
}

// ----- time -----

/// xRocket's date-time shape, UTC with exactly three fractional digits
/// (`2026-01-01T00:00:00.000Z`).
fn iso(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(Timestamp::from_unix_millis)
        .map(Timestamp::into_string)
        .unwrap_or_default()
}

// ----- requests -----

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(q: Option<&str>) -> Self {
        let pairs = q
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Query(pairs)
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
    /// Repeated keys or comma-joined values: both encodings are accepted.
    fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == k || n == &format!("{k}[]"))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

type Reply = Response;

fn ok(v: Value) -> Reply {
    json_response(StatusCode::OK, &v)
}

fn problem(status: u16, code: &str, detail: impl Into<String>) -> Reply {
    let st = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let kind = match status {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        429 => "rate_limit",
        500..=599 => "internal",
        _ => "bad_request",
    };
    let instance = format!("/api/problems/instances/{}", pseudo_uuid());
    let body = json!({
        "type": format!("/api/problems/{code}"),
        "title": st.canonical_reason().unwrap_or("Error"),
        "status": status,
        "detail": detail.into(),
        "instance": instance,
        "kind": kind,
    });
    let mut r = Response::new(Body::from(serde_json::to_vec(&body).unwrap_or_default()));
    *r.status_mut() = st;
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/problem+json"),
    );
    r.extensions_mut().insert(ProblemTag(code.to_string()));
    r
}

/// The problem code of a response, kept for [`Sandbox::problems`] (never sent).
#[derive(Clone)]
struct ProblemTag(String);

fn pseudo_uuid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("5b0c0e7a-0000-4000-8000-{n:012x}")
}

fn validation(detail: impl Into<String>) -> Reply {
    problem(400, "validation_error", detail)
}

/// A string field; numbers are read as their text (ids sent as numbers).
fn text(v: &Value, k: &str) -> Option<String> {
    match v.get(k)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A decimal-string amount of `asset`, positive, within the asset's precision.
fn amount(v: &Value, k: &str, asset: &str) -> Result<Decimal, Reply> {
    match v.get(k) {
        None | Some(Value::Null) => Err(validation(format!("{k} is required"))),
        Some(Value::String(s)) => match s.trim().parse::<Decimal>() {
            Ok(a) if a > Decimal::ZERO && a.normalize().scale() <= precision(asset) => Ok(a),
            Ok(a) if a > Decimal::ZERO => Err(problem(
                400,
                "amount_invalid",
                format!(
                    "{k} has more than {} decimal places for {asset}",
                    precision(asset)
                ),
            )),
            _ => Err(problem(
                400,
                "amount_invalid",
                format!("{k} must be a positive decimal"),
            )),
        },
        Some(_) => Err(validation(format!("{k} must be a decimal string"))),
    }
}

fn callback_url(v: &Value) -> Option<String> {
    v.get("callback")
        .and_then(|c| c.get("callbackUrl"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn check_client_id(id: &str, field: &str, max: usize) -> Result<(), Reply> {
    if id.chars().count() > max {
        return Err(validation(format!("{field} must be at most {max} characters")));
    }
    Ok(())
}

/// One cursor page of `items`: the cursor is the offset, `limit` 1..=1000 (default 100).
fn page(items: Vec<Value>, q: &Query) -> Reply {
    let limit = match q.get("limit").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(l)) if (1..=1000).contains(&l) => l,
        Some(_) => return validation("limit must be between 1 and 1000"),
    };
    let start = match q
        .get("cursor")
        .map(|c| c.strip_prefix("c").unwrap_or("x").parse::<usize>())
    {
        None => 0,
        Some(Ok(s)) if s <= items.len() => s,
        Some(_) => return validation("cursor is invalid"),
    };
    let total = items.len();
    let end = (start + limit).min(total);
    let next = (end < total).then(|| format!("c{end}"));
    ok(json!({
        "items": items[start..end].to_vec(),
        "pagination": {"total": total, "next": next},
    }))
}

/// Whether a creation time is within `fromDate` / `toDate`: by instant when the bound is an
/// RFC 3339 date-time with an offset (what the client sends), else (a date alone, a local
/// time, which xRocket's "ISO 8601" may allow) by its text against the UTC creation time.
fn in_dates(created_ms: u64, q: &Query) -> bool {
    let created = iso(created_ms);
    let created_text = created.get(..19).unwrap_or(&created);
    let created_ms = i64::try_from(created_ms).unwrap_or(i64::MAX);
    let cmp = |bound: &str| match Timestamp::parse(bound).unix_millis() {
        Some(ms) => created_ms.cmp(&ms),
        None => created_text.cmp(bound.get(..19).unwrap_or(bound)),
    };
    q.get("fromDate").is_none_or(|f| cmp(f).is_ge()) && q.get("toDate").is_none_or(|t| cmp(t).is_le())
}

/// The docs' transfer naming or the payout naming of public integrations.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Naming {
    Transfers,
    Payouts,
}

impl Naming {
    fn client_key(self) -> &'static str {
        match self {
            Naming::Transfers => "clientTransferId",
            Naming::Payouts => "clientPayoutId",
        }
    }
}

/// The stored transfer JSON (docs naming) in the caller's naming.
fn out_transfer(v: &Value, naming: Naming) -> Value {
    let mut v = v.clone();
    if naming == Naming::Payouts {
        rename_key(&mut v, "transferId", "payoutId");
        rename_key(&mut v, "clientTransferId", "clientPayoutId");
    }
    v
}

// ----- dispatch -----

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let q = Query::parse(uri.query());
    let mut hooks = Vec::new();
    let reply = {
        let mut d = shared.lock();
        expire_invoices(&mut d, &mut hooks);
        let reply = match gate(&shared, &mut d, &method, &path, &headers) {
            Some(r) => r,
            None => {
                let r = route(&mut d, &method, &path, &q, &body, &mut hooks);
                let m = method.as_str();
                match d
                    .after_faults
                    .iter()
                    .position(|f| f.method.eq_ignore_ascii_case(m) && path.starts_with(&f.path_prefix))
                {
                    Some(i) => {
                        let status = d.after_faults.remove(i).map(|f| f.status).unwrap_or(500);
                        problem(
                            status,
                            "internal_error",
                            "Internal server error (sandbox fault after processing)",
                        )
                    }
                    None => r,
                }
            }
        };
        if let Some(tag) = reply.extensions().get::<ProblemTag>() {
            d.problems.push(format!("{method} {path} {}", tag.0));
        }
        reply
    };
    if !hooks.is_empty() {
        let shared = shared.clone();
        tokio::spawn(async move { shared.deliver(hooks).await });
    }
    reply
}

/// Rate limit and authentication.
fn gate(shared: &Shared, d: &mut Data, method: &Method, path: &str, headers: &HeaderMap) -> Option<Reply> {
    if let Some((limit, per)) = d.rate_limit {
        let now = Instant::now();
        let w = d.rate_windows.entry(format!("{method} {path}")).or_default();
        while w.front().is_some_and(|t| now.duration_since(*t) >= per) {
            w.pop_front();
        }
        if w.len() >= limit {
            let wait = w
                .front()
                .map(|t| per.saturating_sub(now.duration_since(*t)))
                .unwrap_or(per);
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut r = problem(
                429,
                "rate_limit_exceeded",
                format!(
                    "Too many requests: at most {limit} per {}s on this endpoint",
                    per.as_secs().max(1)
                ),
            );
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                r.headers_mut().insert("retry-after", v);
            }
            return Some(r);
        }
        w.push_back(now);
    }
    if path == "/health" {
        return None;
    }
    let public = matches!(
        path,
        "/api/v1/currencies" | "/api/v1/rates" | "/api/v1/withdrawal-quotas"
    );
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        None if public => None,
        None => Some(problem(401, "unauthorized", "Unauthorized")),
        Some(h) => match h.strip_prefix("Bearer ") {
            Some(t) if t == shared.api_key => None,
            _ => Some(problem(401, "unauthorized", "Unknown API Key")),
        },
    }
}

fn route(d: &mut Data, method: &Method, path: &str, q: &Query, body: &[u8], hooks: &mut Vec<Hook>) -> Reply {
    let json_body = || -> Result<Value, Reply> {
        serde_json::from_slice::<Value>(body)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| validation("the body must be a JSON object"))
    };
    macro_rules! with_body {
        ($f:expr) => {
            match json_body() {
                Ok(b) => $f(b),
                Err(r) => r,
            }
        };
    }
    let m = method.as_str();
    match (m, path) {
        ("GET", "/health") => health(d),
        ("GET", "/api/v1/app-info") => ok(json!({"id": "424242", "name": "xRocket sandbox app"})),
        ("GET", "/api/v1/balances") => balances(d),
        ("GET", "/api/v1/currencies") => currencies(q),
        ("GET", "/api/v1/rates") => rates(q),
        ("GET", "/api/v1/withdrawal-quotas") => quotas(q),
        ("POST", "/api/v1/invoices") => with_body!(|b| create_invoice(d, &b)),
        ("GET", "/api/v1/invoices") => list_invoices(d, q),
        ("GET", "/api/v1/invoice") => find_invoice(d, q).map_or_else(|r| r, |i| ok(d.invoices[i].v.clone())),
        ("DELETE", "/api/v1/invoice") => delete_invoice(d, q),
        ("GET", "/api/v1/invoice/payments") => match find_invoice(d, q) {
            Ok(i) => page(d.invoices[i].payments.clone(), q),
            Err(r) => r,
        },
        ("POST", "/api/v1/invoices/payments/address") => with_body!(|b| payment_address(d, q, &b)),
        ("PUT", "/api/v1/invoices/pay") => match find_invoice(d, q) {
            Ok(i) => match pay(d, i, hooks) {
                Ok(()) => ok(d.invoices[i].v.clone()),
                Err(r) => r,
            },
            Err(r) => r,
        },
        ("POST", "/api/v1/cheques") => with_body!(|b| create_cheque(d, &b)),
        ("GET", "/api/v1/cheques") => list_cheques(d, q),
        ("GET", "/api/v1/cheque") => find_cheque(d, q).map_or_else(|r| r, |i| ok(d.cheques[i].v.clone())),
        ("PUT", "/api/v1/cheques") => with_body!(|b| update_cheque(d, q, &b)),
        ("DELETE", "/api/v1/cheques") => delete_cheque(d, q, hooks),
        ("POST", "/api/v1/transfers") => with_body!(|b| create_transfer(d, &b, Naming::Transfers)),
        ("POST", "/api/v1/payouts") => with_body!(|b| create_transfer(d, &b, Naming::Payouts)),
        ("GET", "/api/v1/transfers") => list_transfers(d, q, Naming::Transfers),
        ("GET", "/api/v1/payouts") => list_transfers(d, q, Naming::Payouts),
        ("GET", "/api/v1/transfer") => get_transfer(d, q, Naming::Transfers),
        ("GET", "/api/v1/payout") => get_transfer(d, q, Naming::Payouts),
        ("POST", "/api/v1/mass-transfers") => with_body!(|b| mass(d, &b, Naming::Transfers)),
        ("POST", "/api/v1/mass-payouts") => with_body!(|b| mass(d, &b, Naming::Payouts)),
        ("POST", "/api/v1/withdrawals") => with_body!(|b| create_withdrawal(d, &b)),
        ("GET", "/api/v1/withdrawals") => list_withdrawals(d, q),
        ("GET", "/api/v1/withdrawal") => {
            find_withdrawal(d, q).map_or_else(|r| r, |i| ok(d.withdrawals[i].v.clone()))
        }
        ("POST", "/api/v1/withdrawal-link") => with_body!(|b| withdrawal_link(d, &b)),
        _ => problem(404, "not_found", format!("Cannot {m} {path}")),
    }
}

// ----- app, currencies -----

fn health(d: &Data) -> Reply {
    let up = json!({"api": {"status": "up"}, "database": {"status": "up"}});
    if d.health == "ok" {
        ok(json!({"status": "ok", "info": up, "error": {}, "details": up}))
    } else {
        let down = json!({"database": {"status": "down", "message": "sandbox: set_health"}});
        json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": d.health, "info": {"api": {"status": "up"}}, "error": down, "details": down}),
        )
    }
}

fn balances(d: &Data) -> Reply {
    let list: Vec<Value> = d
        .balances
        .iter()
        .map(|(a, b)| {
            json!({
                "asset": a,
                "balance": b.balance.to_string(),
                "available": b.available().to_string(),
                "holds": b.holds.to_string(),
            })
        })
        .collect();
    ok(json!({ "balances": list }))
}

fn currencies(q: &Query) -> Reply {
    let kind = q.get("kind");
    if kind.is_some_and(|k| k != "crypto" && k != "fiat") {
        return validation("kind must be crypto or fiat");
    }
    let list: Vec<Value> = CURRENCIES
        .iter()
        .filter(|c| kind.is_none_or(|k| k == c.2))
        .map(|c| {
            json!({
                "code": c.0,
                "title": c.1,
                "kind": c.2,
                "networks": c.3.iter().map(|n| json!({"code": n})).collect::<Vec<_>>(),
            })
        })
        .collect();
    ok(Value::Array(list))
}

fn rates(q: &Query) -> Reply {
    let base = q.get("base").unwrap_or("USD");
    let Some(base_usd) = currency(base).filter(|c| c.2 == "fiat").map(|c| dec(c.4)) else {
        return problem(404, "currency_not_found", format!("Currency {base} not found"));
    };
    let wanted = q.all("assets");
    if let Some(bad) = wanted.iter().find(|a| !is_crypto(a)) {
        return problem(404, "asset_not_found", format!("Asset {bad} not found"));
    }
    let list: Vec<Value> = CURRENCIES
        .iter()
        .filter(|c| c.2 == "crypto" && (wanted.is_empty() || wanted.iter().any(|w| w == c.0)))
        .map(|c| {
            let rate = (dec(c.4) / base_usd).round_dp(8).normalize();
            json!({"currency": c.0, "rate": rate.to_string()})
        })
        .collect();
    ok(Value::Array(list))
}

fn quota(
    network: &str,
    asset: &str,
) -> Result<&'static (&'static str, &'static str, &'static str, &'static str, u32), Reply> {
    if !NETWORKS.contains(&network) {
        return Err(problem(
            404,
            "network_not_found",
            format!("Network {network} not found"),
        ));
    }
    if !is_crypto(asset) {
        return Err(problem(
            404,
            "asset_not_found",
            format!("Asset {asset} not found"),
        ));
    }
    QUOTAS
        .iter()
        .find(|r| r.0 == network && r.1 == asset)
        .ok_or_else(|| {
            problem(
                400,
                "withdrawal_asset_not_allowed",
                format!("{asset} cannot be withdrawn on {network}"),
            )
        })
}

fn quotas(q: &Query) -> Reply {
    let (Some(network), Some(asset)) = (q.get("network"), q.get("asset")) else {
        return validation("network and asset are required");
    };
    match quota(network, asset) {
        Ok(r) => ok(json!({
            "withdrawMinSize": r.2,
            "withdrawFee": r.3,
            "withdrawFeeAsset": r.1,
            "precision": r.4,
        })),
        Err(r) => r,
    }
}

// ----- invoices -----

fn expire_invoices(d: &mut Data, hooks: &mut Vec<Hook>) {
    let now = d.now_ms();
    for i in 0..d.invoices.len() {
        let inv = &mut d.invoices[i];
        let open = inv.v["status"] == "active" || inv.v["status"] == "partially_paid";
        if inv.deleted || !open || inv.expires_ms.is_none_or(|e| e > now) {
            continue;
        }
        inv.v["status"] = json!("expired");
        let (v, url) = (inv.v.clone(), inv.hook_url.clone());
        let label = format!("invoice {} expired", v["id"].as_str().unwrap_or("?"));
        hooks.extend(d.event(
            url.as_ref(),
            "invoice",
            label,
            json!({"event": "invoice_status_changed", "invoice": v}),
        ));
    }
}

fn create_invoice(d: &mut Data, b: &Value) -> Reply {
    let Some(cur) = text(b, "priceCurrency") else {
        return validation("priceCurrency is required");
    };
    if currency(&cur).is_none() {
        return problem(404, "currency_not_found", format!("Currency {cur} not found"));
    }
    let (price, min) = match (b.get("priceAmount"), b.get("minPayment")) {
        (Some(_), Some(_)) => {
            return problem(
                400,
                "amount_conflict",
                "Send either priceAmount or minPayment, not both",
            );
        }
        (None, None) => {
            return problem(
                400,
                "missing_invoice_amount",
                "priceAmount or minPayment is required",
            );
        }
        (Some(_), None) => match amount(b, "priceAmount", &cur) {
            Ok(a) => (Some(a), None),
            Err(r) => return r,
        },
        (None, Some(_)) => match amount(b, "minPayment", &cur) {
            Ok(a) => (None, Some(a)),
            Err(r) => return r,
        },
    };
    let num = b.get("numPayments").and_then(Value::as_u64).unwrap_or(1);
    if !(1..=1_000_000).contains(&num) {
        return validation("numPayments must be between 1 and 1000000");
    }
    if let Some(list) = b.get("payCurrencies").and_then(Value::as_array)
        && (list.len() != 1 || list[0] != cur.as_str())
    {
        return problem(
            500,
            "not_implemented",
            "Several pay currencies are not supported yet",
        );
    }
    if text(b, "description").is_some_and(|s| s.chars().count() > 1000) {
        return validation("description must be at most 1000 characters");
    }
    let payout = text(b, "payoutCurrency").unwrap_or_else(|| {
        if is_crypto(&cur) {
            cur.clone()
        } else {
            "USDT".into()
        }
    });
    if !is_crypto(&payout) {
        return problem(
            400,
            "invalid_pay_currency",
            format!("{payout} cannot be received"),
        );
    }
    let id = d.next_id();
    let client_id = text(b, "clientInvoiceId").unwrap_or_else(|| format!("auto-{id}"));
    if let Err(r) = check_client_id(&client_id, "clientInvoiceId", 100) {
        return r;
    }
    if d.invoice_ids.contains_key(&client_id) {
        return problem(
            400,
            "client_id_already_taken",
            format!("clientInvoiceId {client_id} is already taken"),
        );
    }
    let expires_in = b.get("expiresIn").and_then(Value::as_u64).unwrap_or(3_600_000);
    let now = d.now_ms();
    let expires_ms = (expires_in > 0).then_some(now + expires_in);
    let v = json!({
        "id": id,
        "priceAmount": price.map(|p| p.to_string()),
        "minPayment": min.map(|p| p.to_string()),
        "priceCurrency": cur,
        "payCurrencies": [if is_crypto(&cur) { cur.clone() } else { payout.clone() }],
        "payoutCurrency": payout,
        "clientInvoiceId": client_id,
        "description": b.get("description"),
        "numPayments": num,
        "expiresIn": expires_in,
        "createdAt": iso(now),
        "expiresAt": expires_ms.map(iso),
        "status": "active",
        "callback": b.get("callback"),
        "url": b.get("url"),
        "customer": b.get("customer"),
        "links": {
            "telegramBotLink": format!("https://t.me/xrocket?start=inv_{id}"),
            "telegramMiniAppLink": null,
            "webLink": null,
        },
        "isFeePaidByUser": b.get("isFeePaidByUser").and_then(Value::as_bool).unwrap_or(false),
        "data": b.get("data"),
    });
    let inv = Inv {
        v: v.clone(),
        deleted: false,
        payments: Vec::new(),
        expires_ms,
        hook_url: callback_url(b),
    };
    d.invoice_ids.insert(client_id, d.invoices.len());
    d.invoices.push(inv);
    ok(v)
}

fn find_invoice(d: &Data, q: &Query) -> Result<usize, Reply> {
    let found = if let Some(id) = q.get("invoiceId") {
        d.invoices.iter().position(|i| i.v["id"] == id)
    } else if let Some(c) = q.get("clientInvoiceId") {
        d.invoice_ids.get(c).copied()
    } else {
        return Err(problem(
            400,
            "missing_invoice_identifier",
            "invoiceId or clientInvoiceId is required",
        ));
    };
    match found {
        Some(i) if !d.invoices[i].deleted => Ok(i),
        _ => Err(problem(404, "invoice_not_found", "Invoice not found")),
    }
}

fn delete_invoice(d: &mut Data, q: &Query) -> Reply {
    match find_invoice(d, q) {
        Ok(i) => {
            // A deleted invoice answers 404 afterwards (observed on the live API).
            d.invoices[i].deleted = true;
            d.invoices[i].v["status"] = json!("cancelled");
            json_response(StatusCode::OK, &json!({}))
        }
        Err(r) => r,
    }
}

fn list_invoices(d: &Data, q: &Query) -> Reply {
    let ids = q.all("ids");
    let status = q.get("status");
    let items = d
        .invoices
        .iter()
        .filter(|i| !i.deleted)
        .filter(|i| ids.is_empty() || ids.iter().any(|x| i.v["id"] == x.as_str()))
        .filter(|i| status.is_none_or(|s| i.v["status"] == s))
        .filter(|i| q.get("asset").is_none_or(|a| i.v["priceCurrency"] == a))
        .filter(|i| q.get("fiat").is_none_or(|a| i.v["priceCurrency"] == a))
        .map(|i| i.v.clone())
        .collect();
    page(items, q)
}

/// One payment of an invoice: `payment_status_changed`, then `invoice_status_changed` when
/// the invoice's status changes; the app balance is credited.
fn pay(d: &mut Data, i: usize, hooks: &mut Vec<Hook>) -> Result<(), Reply> {
    let now = d.now_ms();
    let inv = &d.invoices[i];
    match inv.v["status"].as_str().unwrap_or("") {
        "expired" => return Err(problem(400, "invoice_expired", "Invoice expired")),
        "active" | "partially_paid" if !inv.deleted => {}
        s => return Err(validation(format!("Invoice is {s} and cannot be paid"))),
    }
    let cur = inv.v["priceCurrency"].as_str().unwrap_or("").to_string();
    let asset = inv.v["payoutCurrency"].as_str().unwrap_or("USDT").to_string();
    let price = inv.v["priceAmount"]
        .as_str()
        .or(inv.v["minPayment"].as_str())
        .map(dec)
        .unwrap_or_default();
    let credit = if cur == asset {
        price
    } else {
        let (from, to) = (
            usd_rate(&cur).unwrap_or_default(),
            usd_rate(&asset).unwrap_or(Decimal::ONE),
        );
        (price * from / to).round_dp(precision(&asset))
    };
    let num = inv.v["numPayments"].as_u64().unwrap_or(1) as usize;
    let pid = format!(
        "{}-{}",
        inv.v["id"].as_str().unwrap_or("0"),
        inv.payments.len() + 1
    );
    let payment = json!({
        "id": pid,
        "status": "paid",
        "finalizedAt": iso(now),
        "payAmount": credit.to_string(),
        "payCurrency": asset,
        "receiveAmount": price.to_string(),
        "receiveCurrency": cur,
        "transactions": [{
            "id": format!("tx-{pid}"),
            "status": "confirmed",
            "type": "internal",
            "payAmount": credit.to_string(),
            "payCurrency": asset,
            "receiveAmount": credit.to_string(),
            "receiveCurrency": asset,
            "payer": {"telegramId": "87209764", "telegramUsername": "sandbox_payer"},
            "createdAt": iso(now),
            "finalizedAt": iso(now),
        }],
    });
    d.bal(&asset).balance += credit;
    let inv = &mut d.invoices[i];
    inv.payments.push(payment.clone());
    let status = if inv.payments.len() >= num {
        "paid"
    } else {
        "partially_paid"
    };
    let changed = inv.v["status"] != status;
    inv.v["status"] = json!(status);
    let (v, url) = (inv.v.clone(), inv.hook_url.clone());
    let id = v["id"].as_str().unwrap_or("?").to_string();
    hooks.extend(d.event(
        url.as_ref(),
        "invoice",
        format!("invoice {id} payment paid"),
        json!({"event": "payment_status_changed", "invoice": v, "payment": payment}),
    ));
    if changed {
        hooks.extend(d.event(
            url.as_ref(),
            "invoice",
            format!("invoice {id} {status}"),
            json!({"event": "invoice_status_changed", "invoice": v}),
        ));
    }
    Ok(())
}

fn payment_address(d: &Data, q: &Query, b: &Value) -> Reply {
    let i = match find_invoice(d, q) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let Some(network) = text(b, "payNetwork") else {
        return validation("payNetwork is required");
    };
    if !NETWORKS.contains(&network.as_str()) {
        return problem(404, "network_not_found", format!("Network {network} not found"));
    }
    let inv = &d.invoices[i].v;
    let asset = inv["payCurrencies"][0].as_str().unwrap_or("USDT");
    if !currency(asset).is_some_and(|c| c.3.contains(&network.as_str())) {
        return problem(
            403,
            "coin_deposit_disabled",
            format!("{asset} deposits on {network} are disabled"),
        );
    }
    let id = inv["id"].as_str().unwrap_or("0");
    let address = match network.as_str() {
        "TON" => format!("UQSandbox{id:0>39}"),
        "TRX" => format!("TSandbox{id:0>26}"),
        "BTC" => format!("bc1qsandbox{id:0>31}"),
        _ => format!("0x5a4db0c{id:0>33}"),
    };
    let min = QUOTAS
        .iter()
        .find(|r| r.0 == network && r.1 == asset)
        .map(|r| r.2);
    json_response(
        StatusCode::CREATED,
        &json!({
            "address": address,
            "payCurrency": asset,
            "payNetwork": network,
            "expiresAt": inv["expiresAt"],
            "minAmount": min,
        }),
    )
}

// ----- cheques -----

fn create_cheque(d: &mut Data, b: &Value) -> Reply {
    let Some(asset) = text(b, "asset") else {
        return validation("asset is required");
    };
    let id = d.next_id();
    let client_id = text(b, "clientChequeId").unwrap_or_else(|| format!("auto-{id}"));
    if let Err(r) = check_client_id(&client_id, "clientChequeId", 50) {
        return r;
    }
    if d.cheque_ids.contains_key(&client_id) {
        return problem(
            400,
            "client_id_already_taken",
            format!("clientChequeId {client_id} is already taken"),
        );
    }
    if !is_crypto(&asset) {
        return problem(404, "asset_not_found", format!("Asset {asset} not found"));
    }
    let amt = match amount(b, "amount", &asset) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if b.get("targetType").is_some() != b.get("target").is_some() {
        return validation("targetType and target must be sent together");
    }
    if text(b, "password").is_some_and(|p| p.chars().count() > 100) {
        return validation("password must be at most 100 characters");
    }
    if text(b, "description").is_some_and(|s| s.chars().count() > 1000) {
        return validation("description must be at most 1000 characters");
    }
    if d.bal(&asset).available() < amt {
        return problem(
            400,
            "amount_more_than_app_balance",
            "The amount is more than the app balance",
        );
    }
    d.bal(&asset).holds += amt;
    let now = d.now_ms();
    let v = json!({
        "chequeId": id,
        "clientChequeId": client_id,
        "asset": asset,
        "amount": amt.to_string(),
        "description": b.get("description"),
        "targetType": b.get("targetType"),
        "target": text(b, "target"),
        "links": {
            "telegramBotLink": format!("https://t.me/xrocket?start=mci_{id}"),
            "telegramMiniAppLink": null,
            "webLink": null,
        },
        "state": "active",
        "deleted": false,
        "callback": b.get("callback"),
        "url": b.get("url"),
    });
    d.cheque_ids.insert(client_id, d.cheques.len());
    d.cheques.push(Rec {
        v: v.clone(),
        asset,
        amount: amt,
        fee: Decimal::ZERO,
        hook_url: callback_url(b),
        payouts: false,
        created_ms: now,
    });
    ok(v)
}

fn find_cheque(d: &Data, q: &Query) -> Result<usize, Reply> {
    let found = if let Some(id) = q.get("chequeId") {
        d.cheques.iter().position(|c| c.v["chequeId"] == id)
    } else if let Some(c) = q.get("clientChequeId") {
        d.cheque_ids.get(c).copied()
    } else {
        return Err(problem(
            400,
            "missing_cheque_identifier",
            "chequeId or clientChequeId is required",
        ));
    };
    found.ok_or_else(|| problem(404, "app_cheque_not_found", "Cheque not found"))
}

fn update_cheque(d: &mut Data, q: &Query, b: &Value) -> Reply {
    let i = match find_cheque(d, q) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let c = &mut d.cheques[i];
    if c.v["deleted"] == true {
        return problem(404, "app_cheque_not_found", "Cheque not found");
    }
    if c.v["state"] != "active" {
        return problem(400, "cheque_already_used", "The cheque was already redeemed");
    }
    let Some(desc) = b.get("description").and_then(Value::as_str) else {
        return validation("description is required");
    };
    if desc.chars().count() > 1000 {
        return validation("description must be at most 1000 characters");
    }
    c.v["description"] = if desc.is_empty() { Value::Null } else { json!(desc) };
    ok(c.v.clone())
}

fn delete_cheque(d: &mut Data, q: &Query, hooks: &mut Vec<Hook>) -> Reply {
    let i = match find_cheque(d, q) {
        Ok(i) => i,
        Err(r) => return r,
    };
    if d.cheques[i].v["deleted"] == true {
        return problem(404, "app_cheque_not_found", "Cheque not found");
    }
    if d.cheques[i].v["state"] != "active" {
        return problem(400, "cheque_already_used", "The cheque was already redeemed");
    }
    let (asset, amt) = (d.cheques[i].asset.clone(), d.cheques[i].amount);
    d.bal(&asset).holds -= amt;
    d.cheques[i].v["deleted"] = json!(true);
    let (v, url) = (d.cheques[i].v.clone(), d.cheques[i].hook_url.clone());
    let label = format!("cheque {} deleted", v["chequeId"].as_str().unwrap_or("?"));
    hooks.extend(d.event(url.as_ref(), "cheque", label, v));
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_default()
}

fn list_cheques(d: &Data, q: &Query) -> Reply {
    if q.get("targetType").is_some() != q.get("target").is_some() {
        return validation("targetType and target must be sent together");
    }
    let items = d
        .cheques
        .iter()
        .filter(|c| c.v["deleted"] != true)
        .filter(|c| q.get("state").is_none_or(|s| c.v["state"] == s))
        .filter(|c| q.get("targetType").is_none_or(|t| c.v["targetType"] == t))
        .filter(|c| q.get("target").is_none_or(|t| c.v["target"] == t))
        .filter(|c| in_dates(c.created_ms, q))
        .map(|c| c.v.clone())
        .collect();
    page(items, q)
}

// ----- transfers -----

/// Checks one recipient: `Ok(())` or the item's problem (code, detail).
fn check_recipient(d: &Data, target: &str, target_type: &str) -> Result<(), (&'static str, String)> {
    if target_type == "telegram_user_id" && !target.bytes().all(|c| c.is_ascii_digit()) {
        return Err((
            "validation_error",
            "target must be a numeric Telegram user id".into(),
        ));
    }
    if d.unknown_users.contains(target) {
        return Err((
            "target_user_not_found",
            format!("User {target} never used @xRocket"),
        ));
    }
    if d.blocked_users.contains(target) {
        return Err(("payout_user_blocked", format!("User {target} is blocked")));
    }
    Ok(())
}

/// Creates a transfer after every check passed.
fn book_transfer(
    d: &mut Data,
    item: &Value,
    asset: &str,
    amt: Decimal,
    client_id: String,
    naming: Naming,
) -> Value {
    let id = d.next_id();
    d.bal(asset).balance -= amt;
    let v = json!({
        "transferId": id,
        "clientTransferId": client_id,
        "target": text(item, "target"),
        "targetType": text(item, "targetType").unwrap_or_else(|| "telegram_user_id".into()),
        "asset": asset,
        "amount": amt.to_string(),
        "description": item.get("description"),
        "status": "pending",
        "callback": item.get("callback"),
    });
    let now = d.now_ms();
    d.transfer_ids.insert(client_id, d.transfers.len());
    d.transfers.push(Rec {
        v: v.clone(),
        asset: asset.to_string(),
        amount: amt,
        fee: Decimal::ZERO,
        hook_url: callback_url(item),
        payouts: naming == Naming::Payouts,
        created_ms: now,
    });
    v
}

fn create_transfer(d: &mut Data, b: &Value, naming: Naming) -> Reply {
    let (Some(target), Some(target_type), Some(asset)) =
        (text(b, "target"), text(b, "targetType"), text(b, "asset"))
    else {
        return validation("target, targetType and asset are required");
    };
    if !["telegram_user_id", "user_id", "telegram_username"].contains(&target_type.as_str()) {
        return validation("targetType must be telegram_user_id, user_id or telegram_username");
    }
    let key = naming.client_key();
    let Some(client_id) = text(b, key) else {
        return validation(format!("{key} is required"));
    };
    if let Err(r) = check_client_id(&client_id, key, 100) {
        return r;
    }
    if d.transfer_ids.contains_key(&client_id) {
        let code = match naming {
            Naming::Transfers => "client_id_already_taken",
            Naming::Payouts => "payout_client_id_duplicate",
        };
        return problem(400, code, format!("{key} {client_id} is already taken"));
    }
    if !is_crypto(&asset) {
        return problem(404, "asset_not_found", format!("Asset {asset} not found"));
    }
    let amt = match amount(b, "amount", &asset) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Err((code, detail)) = check_recipient(d, &target, &target_type) {
        return problem(400, code, detail);
    }
    if d.bal(&asset).available() < amt {
        return problem(
            400,
            "amount_more_than_app_balance",
            "The amount is more than the app balance",
        );
    }
    let v = book_transfer(d, b, &asset, amt, client_id, naming);
    ok(out_transfer(&v, naming))
}

fn get_transfer(d: &Data, q: &Query, naming: Naming) -> Reply {
    let (id_key, client_key) = match naming {
        Naming::Transfers => ("transferId", "clientTransferId"),
        Naming::Payouts => ("payoutId", "clientPayoutId"),
    };
    let found = if let Some(id) = q.get(id_key) {
        d.transfers.iter().position(|t| t.v["transferId"] == id)
    } else if let Some(c) = q.get(client_key) {
        d.transfer_ids.get(c).copied()
    } else {
        return problem(
            400,
            "missing_payout_identifier",
            format!("{id_key} or {client_key} is required"),
        );
    };
    match found {
        Some(i) => ok(out_transfer(&d.transfers[i].v, naming)),
        None => problem(404, "app_payout_not_found", "Transfer not found"),
    }
}

fn list_transfers(d: &Data, q: &Query, naming: Naming) -> Reply {
    let items = d
        .transfers
        .iter()
        .filter(|t| in_dates(t.created_ms, q))
        .map(|t| out_transfer(&t.v, naming))
        .collect();
    page(items, q)
}

fn mass(d: &mut Data, b: &Value, naming: Naming) -> Reply {
    let (list_key, ok_key, err_key) = match naming {
        Naming::Transfers => ("transfers", "successTransfers", "errorTransfers"),
        Naming::Payouts => ("payouts", "successPayouts", "errorPayouts"),
    };
    let Some(asset) = text(b, "asset") else {
        return validation("asset is required");
    };
    let Some(items) = b.get(list_key).and_then(Value::as_array) else {
        return validation(format!("{list_key} is required"));
    };
    if items.is_empty() || items.len() > 500 {
        return validation(format!("{list_key} must have between 1 and 500 items"));
    }
    if items
        .iter()
        .any(|i| i.get("targetType").and_then(Value::as_str) != Some("telegram_user_id"))
    {
        return validation("mass transfers accept only targetType telegram_user_id");
    }
    if !is_crypto(&asset) {
        return problem(404, "asset_not_found", format!("Asset {asset} not found"));
    }
    let key = naming.client_key();
    let (mut oks, mut errs) = (Vec::new(), Vec::new());
    for item in items {
        let target = text(item, "target").unwrap_or_default();
        let client_id = text(item, key).unwrap_or_else(|| format!("auto-{}", d.seq + 1));
        let outcome = (|| {
            if client_id.chars().count() > 100 {
                return Err((
                    "validation_error",
                    format!("{key} must be at most 100 characters"),
                ));
            }
            if d.transfer_ids.contains_key(&client_id) {
                return Err((
                    "client_id_already_taken",
                    format!("{key} {client_id} is already taken"),
                ));
            }
            let amt = match item
                .get("amount")
                .and_then(Value::as_str)
                .map(|s| s.parse::<Decimal>())
            {
                Some(Ok(a)) if a > Decimal::ZERO && a.normalize().scale() <= precision(&asset) => a,
                _ => {
                    return Err((
                        "amount_invalid",
                        "amount must be a positive decimal string".into(),
                    ));
                }
            };
            check_recipient(d, &target, "telegram_user_id")?;
            if d.bal(&asset).available() < amt {
                return Err((
                    "amount_more_than_app_balance",
                    "The amount is more than the app balance".into(),
                ));
            }
            Ok(amt)
        })();
        match outcome {
            Ok(amt) => {
                let v = book_transfer(d, item, &asset, amt, client_id, naming);
                oks.push(out_transfer(&v, naming));
            }
            Err((code, detail)) => {
                let mut f = json!({
                    "target": target,
                    "targetType": "telegram_user_id",
                    "amount": item.get("amount"),
                    key: client_id,
                    "description": item.get("description"),
                    "reason": {
                        "type": format!("/api/problems/{code}"),
                        "title": "Bad Request",
                        "status": 400,
                        "detail": detail,
                        "instance": format!("/api/problems/instances/{}", pseudo_uuid()),
                        "kind": "bad_request",
                    },
                });
                if let Some(o) = f.as_object_mut() {
                    o.retain(|_, v| !v.is_null());
                }
                errs.push(f);
            }
        }
    }
    let mut out = Map::new();
    out.insert(ok_key.into(), Value::Array(oks));
    out.insert(err_key.into(), Value::Array(errs));
    ok(Value::Object(out))
}

// ----- withdrawals -----

fn valid_address(network: &str, address: &str) -> bool {
    let len = address.chars().count();
    let charset = address
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let shape = match network {
        "TON" => len == 48,
        "BSC" | "ETH" => address.starts_with("0x") && len == 42,
        "TRX" => address.starts_with('T') && len == 34,
        _ => (26..=90).contains(&len),
    };
    charset && shape
}

fn create_withdrawal(d: &mut Data, b: &Value) -> Reply {
    let (Some(network), Some(address), Some(asset)) =
        (text(b, "network"), text(b, "address"), text(b, "asset"))
    else {
        return validation("network, address and asset are required");
    };
    let Some(client_id) = text(b, "clientWithdrawalId") else {
        return validation("clientWithdrawalId is required");
    };
    if let Err(r) = check_client_id(&client_id, "clientWithdrawalId", 100) {
        return r;
    }
    if d.withdrawal_ids.contains_key(&client_id) {
        return problem(
            400,
            "client_id_already_taken",
            format!("clientWithdrawalId {client_id} is already taken"),
        );
    }
    let row = match quota(&network, &asset) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let amt = match amount(b, "amount", &asset) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if !valid_address(&network, &address) {
        return problem(
            400,
            "withdrawal_incorrect_address",
            format!("The address is not valid for {network}"),
        );
    }
    if text(b, "comment").is_some_and(|c| c.chars().count() > 50) {
        return problem(
            400,
            "withdrawal_incorrect_comment",
            "The comment must be at most 50 characters",
        );
    }
    if amt < dec(row.2) {
        return problem(
            400,
            "amount_less_than_minimum",
            format!("The minimum is {} {asset}", row.2),
        );
    }
    let fee = dec(row.3);
    if d.bal(&asset).available() < amt + fee {
        return problem(
            400,
            "amount_more_than_app_balance",
            format!("The amount plus the fee ({fee} {asset}) is more than the app balance"),
        );
    }
    d.bal(&asset).holds += amt + fee;
    let id = d.next_id();
    let now = d.now_ms();
    let v = json!({
        "withdrawalId": id,
        "clientWithdrawalId": client_id,
        "network": network,
        "address": address,
        "asset": asset,
        "amount": amt.to_string(),
        "status": "CREATED",
        "comment": b.get("comment"),
        "txHash": null,
        "txLink": null,
        "callback": b.get("callback"),
    });
    d.withdrawal_ids.insert(client_id, d.withdrawals.len());
    d.withdrawals.push(Rec {
        v: v.clone(),
        asset,
        amount: amt,
        fee,
        hook_url: callback_url(b),
        payouts: false,
        created_ms: now,
    });
    ok(v)
}

fn find_withdrawal(d: &Data, q: &Query) -> Result<usize, Reply> {
    let found = if let Some(id) = q.get("withdrawalId") {
        d.withdrawals.iter().position(|w| w.v["withdrawalId"] == id)
    } else if let Some(c) = q.get("clientWithdrawalId") {
        d.withdrawal_ids.get(c).copied()
    } else {
        return Err(validation("withdrawalId or clientWithdrawalId is required"));
    };
    found.ok_or_else(|| problem(404, "app_withdrawal_not_found", "Withdrawal not found"))
}

fn list_withdrawals(d: &Data, q: &Query) -> Reply {
    let items = d
        .withdrawals
        .iter()
        .filter(|w| q.get("status").is_none_or(|s| w.v["status"] == s))
        .filter(|w| in_dates(w.created_ms, q))
        .map(|w| w.v.clone())
        .collect();
    page(items, q)
}

fn withdrawal_link(d: &mut Data, b: &Value) -> Reply {
    let (Some(network), Some(address), Some(asset)) =
        (text(b, "network"), text(b, "address"), text(b, "asset"))
    else {
        return validation("network, address and asset are required");
    };
    if let Err(r) = quota(&network, &asset) {
        return r;
    }
    if let Err(r) = amount(b, "amount", &asset) {
        return r;
    }
    if !valid_address(&network, &address) {
        return problem(
            400,
            "withdrawal_incorrect_address",
            format!("The address is not valid for {network}"),
        );
    }
    let n = d.next_id();
    ok(json!({
        "telegramBotLink": format!("https://t.me/xrocket?start=wl_{n}"),
        "telegramMiniAppLink": null,
        "webLink": null,
    }))
}

// ----- advancing -----

async fn advance(shared: &Arc<Shared>) -> Vec<String> {
    let (changed, hooks) = {
        let mut d = shared.lock();
        let mut hooks = Vec::new();
        let mut changed = Vec::new();
        for i in 0..d.transfers.len() {
            if d.transfers[i].v["status"] != "pending" {
                continue;
            }
            d.transfers[i].v["status"] = json!("finished");
            changed.push(d.transfers[i].v["transferId"].as_str().unwrap_or("?").to_string());
            let t = &d.transfers[i];
            let naming = if t.payouts {
                Naming::Payouts
            } else {
                Naming::Transfers
            };
            let (kind, v, url) = (
                if t.payouts { "payout" } else { "transfer" },
                out_transfer(&t.v, naming),
                t.hook_url.clone(),
            );
            let label = format!("{kind} {} finished", t.v["transferId"].as_str().unwrap_or("?"));
            hooks.extend(d.event(url.as_ref(), kind, label, v));
        }
        for i in 0..d.withdrawals.len() {
            if d.withdrawals[i].v["status"] != "CREATED" {
                continue;
            }
            changed.push(
                d.withdrawals[i].v["withdrawalId"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string(),
            );
            let address = d.withdrawals[i].v["address"].as_str().unwrap_or("").to_string();
            let fails = d.fail_addresses.contains(&address);
            settle_withdrawal(&mut d, i, !fails, &mut hooks);
        }
        expire_invoices(&mut d, &mut hooks);
        (changed, hooks)
    };
    shared.deliver(hooks).await;
    changed
}

/// `CREATED` → `COMPLETED` (the hold becomes a debit, a transaction hash appears) or `FAIL`
/// (the hold is released), with a `withdrawal` webhook.
fn settle_withdrawal(d: &mut Data, i: usize, complete: bool, hooks: &mut Vec<Hook>) {
    let (asset, total) = (
        d.withdrawals[i].asset.clone(),
        d.withdrawals[i].amount + d.withdrawals[i].fee,
    );
    let b = d.bal(&asset);
    b.holds -= total;
    if complete {
        b.balance -= total;
    }
    let w = &mut d.withdrawals[i];
    if complete {
        let id = w.v["withdrawalId"].as_str().unwrap_or("0").to_string();
        let hash = format!("{:0>64}", format!("5a4db0c{id}"));
        w.v["status"] = json!("COMPLETED");
        w.v["txLink"] = json!(format!("https://tonviewer.com/transaction/{hash}"));
        w.v["txHash"] = json!(hash);
    } else {
        w.v["status"] = json!("FAIL");
    }
    let (v, url) = (w.v.clone(), w.hook_url.clone());
    let label = format!(
        "withdrawal {} {}",
        v["withdrawalId"].as_str().unwrap_or("?"),
        v["status"].as_str().unwrap_or("?")
    );
    hooks.extend(d.event(url.as_ref(), "withdrawal", label, v));
}

/// Renames a top-level key of a JSON object (the payout naming of the transfer bodies).
fn rename_key(v: &mut Value, from: &str, to: &str) {
    if let Some(obj) = v.as_object_mut()
        && let Some(x) = obj.remove(from)
    {
        obj.insert(to.to_string(), x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_767_225_600_123), "2026-01-01T00:00:00.123Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn date_filters_compare_instants_and_tolerate_any_text() {
        let at = 1_767_261_600_000; // 2026-01-01T10:00:00Z
        let within = |query: &str| in_dates(at, &Query::parse(Some(query)));
        assert!(within(
            "fromDate=2026-01-01T10:00:00Z&toDate=2026-01-01T10:00:00.000Z"
        ));
        // 15:30 at +05:30 is 10:00 UTC: compared as instants, not as text.
        assert!(within("fromDate=2026-01-01T15:30:00%2B05:30"));
        assert!(!within("fromDate=2026-01-01T15:30:01%2B05:30"));
        assert!(!within("toDate=2026-01-01T09:59:59.999Z"));
        // A date alone, by text as before; odd text never panics.
        assert!(within("fromDate=2026-01-01&toDate=2026-01-02"));
        assert!(!within("fromDate=2026-01-02"));
        let _ = within("fromDate=2026-01-01T00:00:0%C3%A9%C3%A9%C3%A9");
    }

    #[test]
    fn queries_decode_both_list_encodings() {
        let q = Query::parse(Some("assets=BTC&assets=USDT%2CTONCOIN&x=a+b"));
        assert_eq!(q.all("assets"), ["BTC", "USDT", "TONCOIN"]);
        assert_eq!(q.get("x"), Some("a b"));
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
