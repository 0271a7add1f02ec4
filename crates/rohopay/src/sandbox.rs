//! An offline RohoPay (feature `sandbox`): the documented API served in-process on a random
//! loopback port, with wallet balances, transactions moving through their statuses, a 3-D
//! Secure step, signed webhooks and scriptable faults.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use rohopay::sandbox::{Sandbox, ThreeDs};
//! use rohopay::{Card, CheckoutRequest, CollectRequest, Currency, TransactionStatus, UntrustedCheckoutReturn};
//! let sandbox = Sandbox::start().await.unwrap();
//!
//! // A card payment: checkout, the sandbox's 3-D Secure step, the untrusted return URL, confirm.
//! let client = sandbox.client(); // a `test_` key
//! let session = client
//!     .checkout()
//!     .create(&CheckoutRequest::new(
//!         75_000,
//!         Currency::Ugx,
//!         "Jane Mukasa",
//!         "jane@example.com",
//!         "https://shop.example/checkout/return",
//!         Card::new("4111111111111111", "12/30", "123"),
//!     ))
//!     .await
//!     .unwrap();
//! let return_url = sandbox.complete_3ds(&session.payment_url, ThreeDs::Approve).await.unwrap();
//! let ret = UntrustedCheckoutReturn::parse(&return_url);
//! let reference = session.internal_reference;
//! let confirmation = client.checkout().confirm_return(&ret, &reference).await.unwrap();
//! assert!(confirmation.is_paid_for(75_000, &Currency::Ugx));
//!
//! // Mobile money: pending until the payer approves, here on demand.
//! let live = sandbox.live_client(); // the sandbox's own `live_` key: no real money
//! let initiated = live
//!     .mobile_money()
//!     .collect(&CollectRequest::new("256712345678", 50_000, Currency::Ugx))
//!     .await
//!     .unwrap();
//! assert_eq!(initiated.transaction.status, Some(TransactionStatus::Pending));
//! sandbox.advance().await;
//! assert_eq!(sandbox.balance_live(), 49_500); // 50,000 less the 1 % commission
//! # });
//! ```
//!
//! What it models, from RohoPay's documentation:
//!
//! * **Keys.** Bearer auth on every endpoint but checkout, which reads `api_key` from the JSON
//!   body. Two keys are accepted: [`SANDBOX_TEST_KEY`] (`test_…`) and, because RohoPay only
//!   disburses with live keys, the sandbox's own [`SANDBOX_LIVE_KEY`] (`live_…`, valid nowhere
//!   else). Anything else is `401 UNAUTHORIZED`; a disbursement with the test key is
//!   `403 DISBURSE_TEST_BLOCKED`.
//! * **Checkout.** `POST /api/v1/checkout` validates like RohoPay (`400 VALIDATION_ERROR`,
//!   `400 CARD_EXPIRED`) and answers a one-time `payment_url` on the sandbox itself. That page is
//!   a minimal 3-D Secure step: `GET <payment_url>` shows it, `GET <payment_url>?outcome=approve`
//!   (or `decline`) completes it and answers `302` to the checkout's `return_url` with `status`,
//!   `reference` and `order_ref`. A second use of the link is refused (`410`). Card data is never
//!   stored, logged or echoed; the transaction keeps only the amount.
//! * **Checkout keys.** An `Idempotency-Key` on checkout (the official SDK sends one on every
//!   POST) is honoured like on collect: the same key with the same body replays the first
//!   session, with another body is `409`. Only a keyed digest of the body is remembered.
//! * **Mobile money.** `POST /api/v1/collect` and `/disburse` require `Idempotency-Key`
//!   (`400 MISSING_IDEMPOTENCY_KEY`); the same key with the same body replays the first answer,
//!   with another body is `409`. A disbursement the live wallet cannot cover is
//!   `422 INSUFFICIENT_BALANCE`, and does not use up the key.
//! * **Transactions** start `pending` and become `successful` or `failed` on demand
//!   ([`Sandbox::advance`], [`Sandbox::complete`], [`Sandbox::fail`]) or on a timer
//!   ([`Sandbox::auto_advance`]). Card payments wait for the 3-D Secure step. A successful
//!   collection credits the wallet of its environment with `net_amount` (1 % commission); a
//!   disbursement debits the live wallet with amount plus commission when it is created and is
//!   refunded if it fails. Lookups by internal or provider reference (`404 NOT_FOUND`); the list
//!   with every documented filter, `limit` (default 20, at most 100) and `offset`, newest first.
//! * **Rate limits**: 30 checkouts and 100 collections per minute, then `429
//!   RATE_LIMIT_EXCEEDED` with `Retry-After`.
//! * **Webhooks** (`deposit.successful`, `withdraw.successful`, `withdraw.failed`, in the
//!   documented flat form), signed `x-rohopay-signature: sha256=<hex>` over the raw body with the
//!   **webhook secret** ([`SANDBOX_WEBHOOK_SECRET`], not the API key), sent to
//!   [`Sandbox::set_webhook_url`] (or to a transaction's loopback `callback_url`; the sandbox
//!   never calls the internet); one not answered 2xx within 10 s is delivered again
//!   ([`Sandbox::webhook_retry`]).
//!
//! Errors use the documented envelope `{"success": false, "error": {"code", "message",
//! "reference"?}}`. Faults and the request log come from [`SandboxServer`]
//! ([`Sandbox::server`]); [`signed_webhook`] builds a correctly signed delivery for testing your
//! own handler.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use payout_core::sandbox::axum::Router;
use payout_core::sandbox::axum::body::Body;
use payout_core::sandbox::axum::extract::{Path, RawQuery, State};
use payout_core::sandbox::axum::http::{HeaderMap, HeaderValue, StatusCode};
use payout_core::sandbox::axum::response::Response;
use payout_core::sandbox::axum::routing::{get, post};
pub use payout_core::sandbox::{
    Attempt, Delivery, Fault, RecordedRequest, SandboxServer, WebhookInbox, WebhookRetry,
};
use payout_core::sandbox::{IdempotencyStore, KeyState, WebhookSender, json_response};
use payout_core::{Decimal, SecretString, Timestamp};
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};

use crate::transactions::{
    Currency, PaymentMethod, Transaction, TransactionEnvironment, TransactionStatus, TransactionType,
    UpstreamProvider,
};
use crate::webhook::{self, EventType};
use crate::{Client, RetryPolicy, rate_limits, validate};

/// The `test_` key the sandbox accepts: checkout and collections, no disbursement (as RohoPay).
pub const SANDBOX_TEST_KEY: &str = "test_5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5";

/// The sandbox's own `live_` key, so that disbursements can be exercised. It moves no money
/// and is valid nowhere but in a [`Sandbox`].
pub const SANDBOX_LIVE_KEY: &str = "live_5a4db0c11fe5a4db0c11fe5a4db0c11fe5a4db0c11fe5a4db0c11fe5a4db0c11";

/// The secret the sandbox signs webhooks with (RohoPay's Dashboard → Webhooks secret). Not an
/// API key.
pub const SANDBOX_WEBHOOK_SECRET: &str = "whsec_rohopay_sandbox_0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// A phone number whose collections and disbursements fail when advanced (RohoPay's test
/// numbers start with `25670`).
pub const FAILING_PHONE: &str = "256700000009";

/// The commission the sandbox charges, in percent (RohoPay's documented default is 1 %).
pub const COMMISSION_PERCENT: u64 = 1;

const PATH_CHECKOUT: &str = "/api/v1/checkout";
const PATH_COLLECT: &str = "/api/v1/collect";
const PATH_DISBURSE: &str = "/api/v1/disburse";
const THREE_DS_PREFIX: &str = "/3ds/";

/// What the cardholder does on the sandbox's 3-D Secure page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreeDs {
    /// Authenticates: the payment succeeds and the redirect says `status=success`.
    Approve,
    /// Refuses: the payment fails and the redirect says `status=failed`.
    Decline,
}

impl ThreeDs {
    /// The value of the page's `outcome` query parameter (`approve` or `decline`).
    pub fn as_query(self) -> &'static str {
        match self {
            ThreeDs::Approve => "approve",
            ThreeDs::Decline => "decline",
        }
    }
}

/// One transaction as the sandbox keeps it.
struct Record {
    seq: u64,
    tx: Transaction,
    amount: u64,
    commission: u64,
    /// The `Idempotency-Key` the transaction was created under (a checkout may have none).
    key: Option<String>,
}

impl Record {
    fn reference(&self) -> &str {
        self.tx.internal_reference.as_str()
    }
    fn status(&self) -> TransactionStatus {
        self.tx.status.clone().unwrap_or(TransactionStatus::Pending)
    }
    fn is_live(&self) -> bool {
        self.tx.environment == Some(TransactionEnvironment::Live)
    }
}

/// A 3-D Secure session behind a one-time `payment_url`.
struct Session {
    reference: String,
    return_url: String,
    used: bool,
}

struct Data {
    balance_live: u64,
    balance_test: u64,
    records: Vec<Record>,
    sessions: HashMap<String, Session>,
    seq: u64,
    webhook_url: Option<String>,
    failing_phones: HashSet<String>,
    /// Idempotency keys that reached the store (a refused request does not use its key up).
    keys_seen: HashSet<String>,
    rate: HashMap<&'static str, VecDeque<Instant>>,
    rate_window: Duration,
}

struct Shared {
    data: Mutex<Data>,
    idempotency: IdempotencyStore,
    webhooks: WebhookSender,
    webhook_secret: SecretString,
    base_url: Mutex<String>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }
    fn base_url(&self) -> String {
        self.base_url
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A running RohoPay sandbox. Stops when dropped.
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
    /// Starts a sandbox accepting [`SANDBOX_TEST_KEY`] and [`SANDBOX_LIVE_KEY`], signing
    /// webhooks with [`SANDBOX_WEBHOOK_SECRET`], both wallets empty.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let mut failing_phones = HashSet::new();
        failing_phones.insert(FAILING_PHONE.to_string());
        let shared = Arc::new(Shared {
            data: Mutex::new(Data {
                balance_live: 0,
                balance_test: 0,
                records: Vec::new(),
                sessions: HashMap::new(),
                seq: 0,
                webhook_url: None,
                failing_phones,
                keys_seen: HashSet::new(),
                rate: HashMap::new(),
                rate_window: Duration::from_secs(60),
            }),
            idempotency: IdempotencyStore::default(),
            // RohoPay: a delivery not answered 2xx within 10 s is retried "with backoff".
            webhooks: WebhookSender::new(
                WebhookRetry::conservative().attempt_timeout(Duration::from_secs(10)),
            ),
            webhook_secret: SecretString::from(SANDBOX_WEBHOOK_SECRET),
            base_url: Mutex::new(String::new()),
        });
        let router = Router::new()
            .route(PATH_CHECKOUT, post(checkout))
            .route(PATH_COLLECT, post(collect))
            .route(PATH_DISBURSE, post(disburse))
            .route("/api/v1/transactions", get(list_transactions))
            .route("/api/v1/transactions/{reference}", get(get_transaction))
            .route("/api/v1/wallet/balance", get(wallet_balance))
            .route("/3ds/{token}", get(three_ds))
            .fallback(not_found_route)
            .with_state(shared.clone());
        let server = SandboxServer::start(router).await?;
        *shared.base_url.lock().unwrap_or_else(PoisonError::into_inner) = server.base_url();
        Ok(Sandbox { server, shared })
    }

    /// The base URL to give [`crate::ClientBuilder::base_url`].
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The sandbox's `test_` key ([`SANDBOX_TEST_KEY`]).
    pub fn test_key(&self) -> &'static str {
        SANDBOX_TEST_KEY
    }

    /// The sandbox's `live_` key ([`SANDBOX_LIVE_KEY`]).
    pub fn live_key(&self) -> &'static str {
        SANDBOX_LIVE_KEY
    }

    /// The secret webhooks are signed with: what your handler gives
    /// [`webhook::Verifier::new`].
    pub fn webhook_secret(&self) -> SecretString {
        self.shared.webhook_secret.clone()
    }

    /// A client with the `test_` key pointed at the sandbox, with quick retries.
    pub fn client(&self) -> Client {
        self.client_for(SANDBOX_TEST_KEY)
    }

    /// A client with the sandbox's `live_` key (needed for disbursements), with quick
    /// retries. It can only reach the sandbox's base URL: it moves no money.
    pub fn live_client(&self) -> Client {
        self.client_for(SANDBOX_LIVE_KEY)
    }

    fn client_for(&self, key: &'static str) -> Client {
        let built = Client::builder()
            .api_key(key)
            .base_url(self.base_url())
            .retry_policy(
                RetryPolicy::default()
                    .base_delay(Duration::from_millis(20))
                    .max_delay(Duration::from_millis(100))
                    .max_retry_after(Duration::from_secs(2)),
            )
            .attempt_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build();
        match built {
            Ok(c) => c,
            // The base URL is ours and the key well-formed; building cannot fail.
            Err(e) => unreachable!("sandbox client: {e}"),
        }
    }

    /// Faults and the request log.
    pub fn server(&self) -> &SandboxServer {
        &self.server
    }

    /// When a webhook your URL did not answer 2xx within the attempt timeout is delivered
    /// again, byte for byte with the same `x-rohopay-signature` (RohoPay signs no timestamp).
    /// RohoPay's Webhooks page says a delivery not answered 2xx within 10 s is retried with
    /// backoff but publishes no schedule, so the default is RohoPay's 10 s per attempt with
    /// our retries, not RohoPay's: [`WebhookRetry::conservative`] (after 10 s, 1 min, 5 min,
    /// 30 min and 2 h). In tests, make it fast: `sandbox.webhook_retry(WebhookRetry::every(
    /// Duration::from_millis(20), 3))`; `WebhookRetry::none()` delivers once. Every attempt is
    /// in [`Delivery::attempts`]. Applies to webhooks sent from now on.
    pub fn webhook_retry(&self, schedule: WebhookRetry) {
        self.shared.webhooks.set_retry(schedule);
    }

    /// Delivers every webhook to `url` (RohoPay's Dashboard → Webhooks), whatever the
    /// transaction's `callback_url`.
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.shared.lock().webhook_url = Some(url.into());
    }

    /// Sets the live wallet, in the smallest unit.
    pub fn set_balance_live(&self, amount: u64) {
        self.shared.lock().balance_live = amount;
    }

    /// Sets the test wallet, in the smallest unit.
    pub fn set_balance_test(&self, amount: u64) {
        self.shared.lock().balance_test = amount;
    }

    /// The live wallet, in the smallest unit.
    pub fn balance_live(&self) -> u64 {
        self.shared.lock().balance_live
    }

    /// The test wallet, in the smallest unit.
    pub fn balance_test(&self) -> u64 {
        self.shared.lock().balance_test
    }

    /// Makes collections from and disbursements to `phone` fail when advanced
    /// ([`FAILING_PHONE`] always does).
    pub fn fail_phone(&self, phone: impl Into<String>) {
        self.shared.lock().failing_phones.insert(phone.into());
    }

    /// Sets the window of the documented per-minute rate limits (default one minute), to test
    /// a limit running out quickly.
    pub fn set_rate_window(&self, window: Duration) {
        let mut d = self.shared.lock();
        d.rate_window = window;
        d.rate.clear();
    }

    /// The transaction as the sandbox holds it, by internal or provider reference.
    pub fn transaction(&self, reference: &str) -> Option<Transaction> {
        let d = self.shared.lock();
        d.records
            .iter()
            .find(|r| r.tx.has_reference(reference))
            .map(|r| r.tx.clone())
    }

    /// How many transactions were created (a retried create must count once).
    pub fn transactions_created(&self) -> usize {
        self.shared.lock().records.len()
    }

    /// Every transaction created, oldest first, with the `Idempotency-Key` it was created
    /// under (`None` for a checkout sent without one). A key that was sent again and
    /// replayed appears once, with the one transaction it created: crash tests count
    /// payouts from this record.
    pub fn transactions_with_keys(&self) -> Vec<(Option<String>, Transaction)> {
        self.shared
            .lock()
            .records
            .iter()
            .map(|r| (r.key.clone(), r.tx.clone()))
            .collect()
    }

    /// How many transactions of this type were created.
    pub fn transactions_of(&self, kind: TransactionType) -> usize {
        self.shared
            .lock()
            .records
            .iter()
            .filter(|r| r.tx.kind.as_ref() == Some(&kind))
            .count()
    }

    /// How many checkout sessions (`payment_url`s) were created.
    pub fn checkout_sessions_created(&self) -> usize {
        self.shared.lock().sessions.len()
    }

    /// Settles every pending mobile-money transaction: `successful`, or `failed` for the
    /// numbers set up to fail. Card payments wait for their 3-D Secure step. Delivers the
    /// webhooks and returns the internal references that changed.
    pub async fn advance(&self) -> Vec<String> {
        advance(&self.shared).await
    }

    /// Advances every `every`, in the background, while the sandbox lives.
    pub fn auto_advance(&self, every: Duration) {
        payout_core::sandbox::tick_while_alive(&self.shared, every, |shared| async move {
            advance(&shared).await;
        });
    }

    /// Makes the pending transaction `reference` `successful` (a card payment's 3-D Secure
    /// link is then used up). Returns false when it is unknown or already final.
    pub async fn complete(&self, reference: &str) -> bool {
        self.settle_one(reference, true).await
    }

    /// Makes the pending transaction `reference` `failed` (a disbursement is refunded).
    /// Returns false when it is unknown or already final.
    pub async fn fail(&self, reference: &str) -> bool {
        self.settle_one(reference, false).await
    }

    async fn settle_one(&self, reference: &str, success: bool) -> bool {
        let settled = {
            let mut d = self.shared.lock();
            let Some(i) = d.records.iter().position(|r| r.tx.has_reference(reference)) else {
                return false;
            };
            let internal = d.records[i].reference().to_string();
            for s in d.sessions.values_mut() {
                if s.reference == internal {
                    s.used = true;
                }
            }
            settle(&mut d, i, success)
        };
        match settled {
            Some(hook) => {
                deliver(&self.shared, hook.into_iter().collect()).await;
                true
            }
            None => false,
        }
    }

    /// Plays the cardholder on the sandbox's 3-D Secure page, as a browser would without
    /// following redirects: opens `payment_url`, submits `outcome`, and returns the `Location`
    /// the sandbox redirected to (the checkout's `return_url` with `status`, `reference` and
    /// `order_ref`).
    ///
    /// # Errors
    /// If the link is not this sandbox's, was already used, or the sandbox cannot be reached.
    pub async fn complete_3ds(&self, payment_url: &str, outcome: ThreeDs) -> Result<String, String> {
        if !payment_url.starts_with(&format!("{}{THREE_DS_PREFIX}", self.base_url())) {
            return Err("not a payment_url of this sandbox".into());
        }
        let browser = payout_core::reqwest::Client::builder()
            .redirect(payout_core::reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let page = browser.get(payment_url).send().await.map_err(|e| e.to_string())?;
        if page.status().as_u16() != 200 {
            return Err(format!("the 3-D Secure page answered {}", page.status()));
        }
        let submitted = browser
            .get(format!("{payment_url}?outcome={}", outcome.as_query()))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if submitted.status().as_u16() != 302 {
            return Err(format!("the 3-D Secure step answered {}", submitted.status()));
        }
        submitted
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| "the redirect has no Location".to_string())
    }

    /// The webhooks delivered so far, each with the headers and the raw body sent (verify
    /// one with [`webhook::Verifier::verify`] and [`Delivery::header_map`]) and the status
    /// the receiver answered.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.webhooks.deliveries()
    }
}

/// A webhook request exactly as RohoPay would send it.
#[derive(Debug, Clone)]
pub struct SignedWebhook {
    /// The headers, including `x-rohopay-signature: sha256=<hex>`.
    pub headers: Vec<(String, String)>,
    /// The raw JSON body: the documented flat form, `event` plus the transaction's fields.
    pub body: Vec<u8>,
}

/// A correctly signed RohoPay webhook reporting `event` for `transaction`, signed with your
/// webhook `secret`, to test your own webhook handler without the sandbox.
///
/// ```
/// use rohopay::sandbox::signed_webhook;
/// use rohopay::webhook::{self, EventType};
/// use rohopay::{SecretString, Transaction};
/// let tx: Transaction = serde_json::from_value(serde_json::json!({
///     "internal_reference": "RHP-2024-ABC123", "status": "successful", "amount": 50000, "currency": "UGX"
/// })).unwrap();
/// let secret = SecretString::from("my_webhook_secret");
/// let hook = signed_webhook(&EventType::DepositSuccessful, &tx, &secret);
/// let verifier = webhook::Verifier::new(secret);
/// let event = verifier.verify_headers(&hook.headers, &hook.body).unwrap().parse().unwrap();
/// assert_eq!(event.event_type(), EventType::DepositSuccessful);
/// ```
pub fn signed_webhook(event: &EventType, transaction: &Transaction, secret: &SecretString) -> SignedWebhook {
    let mut body = Map::new();
    body.insert("event".into(), Value::String(event.as_str().to_string()));
    if let Value::Object(fields) = wire_json(transaction) {
        body.extend(fields);
    }
    let body = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
    let headers = webhook::sign(secret.expose_secret(), &body, SystemTime::now())
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    SignedWebhook { headers, body }
}

/// The fields RohoPay sends as JSON numbers (the crate's model serializes decimals as strings).
const NUMBER_FIELDS: &[&str] = &[
    "amount",
    "commission_amount",
    "commission_rate",
    "provider_fee_amount",
    "provider_fee_rate",
    "net_amount",
];

/// The transaction as RohoPay writes it: the crate's model, money and rates as JSON numbers.
fn wire_json(tx: &Transaction) -> Value {
    let mut v = serde_json::to_value(tx).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut v {
        for name in NUMBER_FIELDS {
            if let Some(field) = fields.get_mut(*name)
                && let Value::String(s) = field
                && let Ok(d) = s.parse::<Decimal>()
                && let Ok(n) = d.normalize().to_string().parse::<serde_json::Number>()
            {
                *field = Value::Number(n);
            }
        }
    }
    v
}

/// A webhook to deliver once the lock is released.
struct Hook {
    url: String,
    label: String,
    body: Vec<u8>,
}

/// Moves record `i` from `pending` to its final status, moving the money. `None` when it was
/// not pending; otherwise the webhook to deliver, if any.
fn settle(d: &mut Data, i: usize, success: bool) -> Option<Option<Hook>> {
    let now = iso8601(SystemTime::now());
    let r = d.records.get_mut(i)?;
    if r.status() != TransactionStatus::Pending {
        return None;
    }
    let (status, provider_status) = if success {
        (TransactionStatus::Successful, "SUCCESSFUL")
    } else {
        (TransactionStatus::Failed, "FAILED")
    };
    r.tx.status = Some(status);
    r.tx.provider_status = Some(provider_status.to_string());
    r.tx.updated_at = Some(now);
    let live = r.is_live();
    let collection = r.tx.kind == Some(TransactionType::Collection);
    let net = if collection {
        r.amount - r.commission
    } else {
        r.amount + r.commission
    };
    let event = match (collection, success) {
        (true, true) => Some(EventType::DepositSuccessful),
        // RohoPay documents no webhook for a failed collection.
        (true, false) => None,
        (false, true) => Some(EventType::WithdrawSuccessful),
        (false, false) => Some(EventType::WithdrawFailed),
    };
    let tx = r.tx.clone();
    let wallet = if live {
        &mut d.balance_live
    } else {
        &mut d.balance_test
    };
    match (collection, success) {
        (true, true) | (false, false) => *wallet = wallet.saturating_add(net),
        _ => {}
    }
    let Some(event) = event else {
        return Some(None);
    };
    let Some(url) = d
        .webhook_url
        .clone()
        .or_else(|| tx.callback_url.clone().filter(|u| is_loopback(u)))
    else {
        return Some(None);
    };
    let secret = SecretString::from(SANDBOX_WEBHOOK_SECRET);
    let hook = signed_webhook(&event, &tx, &secret);
    Some(Some(Hook {
        url,
        label: format!("{} {}", event.as_str(), tx.internal_reference.as_str()),
        body: hook.body,
    }))
}

fn is_loopback(u: &str) -> bool {
    url::Url::parse(u)
        .ok()
        .is_some_and(|u| matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]" | "::1")))
}

async fn deliver(shared: &Shared, hooks: Vec<Hook>) {
    for h in hooks {
        let signed = webhook::sign(shared.webhook_secret.expose_secret(), &h.body, SystemTime::now());
        let sig = signed
            .get(webhook::SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        shared
            .webhooks
            .send(&h.url, &h.label, &[(webhook::SIGNATURE_HEADER, sig)], h.body)
            .await;
    }
}

async fn advance(shared: &Arc<Shared>) -> Vec<String> {
    let mut changed = Vec::new();
    let mut hooks = Vec::new();
    {
        let mut d = shared.lock();
        let pending: Vec<usize> = d
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.status() == TransactionStatus::Pending
                    && r.tx.payment_method == Some(PaymentMethod::MobileMoney)
            })
            .map(|(i, _)| i)
            .collect();
        for i in pending {
            let phone = d.records[i].tx.phone_number.clone().unwrap_or_default();
            let success = !d.failing_phones.contains(&phone);
            if let Some(hook) = settle(&mut d, i, success) {
                changed.push(d.records[i].reference().to_string());
                hooks.extend(hook);
            }
        }
    }
    deliver(shared, hooks).await;
    changed
}

// ---------------------------------------------------------------------------------------------
// Responses

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"success": false, "error": {"code": code, "message": message}}),
    )
}

fn error_with_reference(status: StatusCode, code: &str, message: &str, reference: &str) -> Response {
    json_response(
        status,
        &json!({"success": false, "error": {"code": code, "message": message, "reference": reference}}),
    )
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "Invalid or missing API key",
    )
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let mut r = Response::new(Body::from(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>{body}</body></html>"
    )));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn escape_html(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The validation failure as RohoPay's message: the field and the rule, never the value.
fn invalid(code: &str, e: &payout_core::Error) -> Response {
    let message = match e.field() {
        Some(f) => format!("{f}: {}", e.message()),
        None => e.message().to_string(),
    };
    error(StatusCode::BAD_REQUEST, code, &message)
}

async fn not_found_route() -> Response {
    error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such endpoint")
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the handlers

/// A refusal to answer as is (boxed: a response is large).
type Refused = Box<Response>;

/// The environment of a Bearer key, or the 401 to answer.
fn bearer_env(headers: &HeaderMap) -> Result<TransactionEnvironment, Refused> {
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    key_env(key).ok_or_else(|| Box::new(unauthorized()))
}

fn key_env(key: Option<&str>) -> Option<TransactionEnvironment> {
    match key {
        Some(SANDBOX_TEST_KEY) => Some(TransactionEnvironment::Test),
        Some(SANDBOX_LIVE_KEY) => Some(TransactionEnvironment::Live),
        _ => None,
    }
}

impl Shared {
    /// `Some(429)` when `route` already took `limit` requests in the current window.
    fn rate_limited(&self, route: &'static str, limit: u32) -> Option<Response> {
        let now = Instant::now();
        let mut d = self.lock();
        let window = d.rate_window;
        let q = d.rate.entry(route).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        if q.len() >= limit as usize {
            let oldest = q.front().copied().unwrap_or(now);
            let wait = window.saturating_sub(now.duration_since(oldest));
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMIT_EXCEEDED",
                &format!("Too many requests: at most {limit} per minute"),
            );
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                r.headers_mut().insert("retry-after", v);
            }
            return Some(r);
        }
        q.push_back(now);
        None
    }
}

fn next_ids(d: &mut Data, now: SystemTime) -> (u64, String, String, String) {
    d.seq += 1;
    let seq = d.seq;
    let (year, _) = validate::year_month_utc(now);
    (
        seq,
        format!("01jsandbox{seq:016x}"),
        format!("RHP-{year}-SBX{seq:05}"),
        format!("relworx-sbx-{seq:05}"),
    )
}

fn commission(amount: u64) -> u64 {
    amount * COMMISSION_PERCENT / 100
}

fn commission_rate() -> Decimal {
    Decimal::new(i64::try_from(COMMISSION_PERCENT).unwrap_or(1), 2)
}

/// A positive JSON integer, or `None`.
fn positive_int(v: Option<&Value>) -> Option<u64> {
    v.and_then(Value::as_u64).filter(|a| *a > 0)
}

fn text<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

fn parse_currency(body: &Value) -> Result<Currency, Refused> {
    let c = Currency::from(text(body, "currency").unwrap_or_default());
    validate::currency("currency", &c).map_err(|e| Box::new(invalid("INVALID_CURRENCY", &e)))?;
    Ok(c)
}

// ---------------------------------------------------------------------------------------------
// POST /api/v1/checkout

async fn checkout(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = shared.rate_limited(PATH_CHECKOUT, rate_limits::CHECKOUT_PER_MINUTE) {
        return r;
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "The body must be a JSON object",
        );
    };
    // Checkout authenticates with `api_key` in the body, not with the Authorization header.
    let Some(env) = key_env(text(&req, "api_key")) else {
        return unauthorized();
    };
    let now = SystemTime::now();
    let Some(amount) = positive_int(req.get("amount")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "amount: must be a positive integer in the smallest unit",
        );
    };
    let currency = match parse_currency(&req) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let name = text(&req, "customer_name").unwrap_or_default();
    let email = text(&req, "customer_email").unwrap_or_default();
    let return_url = text(&req, "return_url").unwrap_or_default();
    let description = text(&req, "description").map(str::to_string);
    let checks = validate::not_blank("customer_name", name)
        .and_then(|()| validate::max_chars("customer_name", name, 255))
        .and_then(|()| validate::email("customer_email", email))
        .and_then(|()| validate::url("return_url", return_url, false))
        .and_then(|()| match &description {
            Some(d) => validate::max_chars("description", d, 255),
            None => Ok(()),
        })
        .and_then(|()| validate::card_number("card_number", text(&req, "card_number").unwrap_or_default()))
        .and_then(|()| validate::cvv("card_cvv", text(&req, "card_cvv").unwrap_or_default()));
    if let Err(e) = checks {
        return invalid("VALIDATION_ERROR", &e);
    }
    // Malformed expiry first (any date accepts a well-formed one), then expired.
    let expiry = text(&req, "card_expiry").unwrap_or_default();
    if let Err(e) = validate::card_expiry("card_expiry", expiry, UNIX_EPOCH) {
        return invalid("VALIDATION_ERROR", &e);
    }
    if let Err(e) = validate::card_expiry("card_expiry", expiry, now) {
        return invalid("CARD_EXPIRED", &e);
    }
    // The official SDK sends an Idempotency-Key on checkout too: the same key with the same
    // body replays the first answer, with another body is 409. The body carries the card, so
    // only a keyed digest of it is remembered, never the card itself.
    let key = idempotency_key(&headers);
    let fingerprint = payout_core::webhook::to_hex(&payout_core::webhook::hmac_sha256(
        b"rohopay-sandbox-checkout-fingerprint",
        &[env.as_str().as_bytes(), b"\n", body.as_bytes()],
    ));
    if let Some(key) = &key {
        match shared.idempotency.begin(key, fingerprint.as_bytes()) {
            KeyState::New => {}
            KeyState::Replay(status, bytes) => return replay(status, bytes),
            KeyState::Conflict => return conflict(),
        }
    }
    // The card passed; nothing of it is kept.
    let mut d = shared.lock();
    let (seq, id, reference, provider_reference) = next_ids(&mut d, now);
    let at = iso8601(now);
    let fee = commission(amount);
    let tx = Transaction {
        id: Some(id.clone().into()),
        internal_reference: reference.clone().into(),
        provider_reference: Some(provider_reference),
        kind: Some(TransactionType::Collection),
        status: Some(TransactionStatus::Pending),
        payment_method: Some(PaymentMethod::Card),
        provider: Some(UpstreamProvider::Relworx),
        provider_status: Some("PENDING".into()),
        amount: Some(Decimal::from(amount)),
        currency: Some(currency.clone()),
        commission_amount: Some(Decimal::from(fee)),
        commission_rate: Some(commission_rate()),
        provider_fee_amount: Some(Decimal::ZERO),
        provider_fee_rate: Some(Decimal::ZERO),
        net_amount: Some(Decimal::from(amount - fee)),
        description,
        failover_reason: Some(String::new()),
        environment: Some(env),
        created_at: Some(at.clone()),
        updated_at: Some(at),
        phone_number: None,
        callback_url: None,
    };
    d.records.push(Record {
        seq,
        tx,
        amount,
        commission: fee,
        key: key.clone(),
    });
    let token = format!("{:016x}{:016x}", uuid_like(seq), seq);
    d.sessions.insert(
        token.clone(),
        Session {
            reference: reference.clone(),
            return_url: return_url.to_string(),
            used: false,
        },
    );
    drop(d);
    let response = json!({
        "success": true,
        "data": {
            "transaction_id": id,
            "internal_reference": reference,
            "payment_url": format!("{}{THREE_DS_PREFIX}{token}", shared.base_url()),
            "status": "pending",
            "amount": amount,
            "currency": currency.as_str(),
        }
    });
    let bytes = serde_json::to_vec(&response).unwrap_or_default();
    if let Some(key) = &key {
        shared.idempotency.finish(key, 200, bytes.clone().into());
    }
    replay(200, bytes.into())
}

/// The `Idempotency-Key` header, if present and not blank.
fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get(crate::mobile_money::IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
}

/// A JSON answer from stored bytes (a first answer or its replay).
fn replay(status: u16, bytes: payout_core::sandbox::axum::body::Bytes) -> Response {
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn conflict() -> Response {
    error(
        StatusCode::CONFLICT,
        "IDEMPOTENCY_CONFLICT",
        "This Idempotency-Key was already used with different parameters",
    )
}

/// An unguessable-looking token part (the link is one-time anyway).
fn uuid_like(seq: u64) -> u64 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // splitmix64
    let mut z = t ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ---------------------------------------------------------------------------------------------
// The 3-D Secure step behind payment_url

async fn three_ds(
    State(shared): State<Arc<Shared>>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let outcome = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "outcome")
        .map(|(_, v)| v.into_owned());
    let (hook, location) = {
        let mut d = shared.lock();
        let Some(session) = d.sessions.get(&token) else {
            return html(
                StatusCode::NOT_FOUND,
                "Unknown payment link",
                "<h1>Unknown payment link</h1>",
            );
        };
        if session.used {
            return html(
                StatusCode::GONE,
                "Link already used",
                "<h1>This payment link has already been used</h1><p>3-D Secure links are one-time. Start a new checkout if the payment did not go through.</p>",
            );
        }
        let reference = session.reference.clone();
        let return_url = session.return_url.clone();
        let Some(i) = d.records.iter().position(|r| r.reference() == reference) else {
            return html(
                StatusCode::NOT_FOUND,
                "Unknown payment",
                "<h1>Unknown payment</h1>",
            );
        };
        let success = match outcome.as_deref() {
            None => {
                let r = &d.records[i];
                let amount = r.amount;
                let currency = r.tx.currency.as_ref().map(Currency::as_str).unwrap_or("");
                let what = r.tx.description.as_deref().map(escape_html).unwrap_or_default();
                return html(
                    StatusCode::OK,
                    "3-D Secure",
                    &format!(
                        "<h1>RohoPay sandbox: 3-D Secure</h1><p>Authorise a payment of {amount} {currency} {what}.</p>\
                         <form method=\"get\" action=\"{THREE_DS_PREFIX}{token}\">\
                         <button name=\"outcome\" value=\"approve\">Approve</button> \
                         <button name=\"outcome\" value=\"decline\">Decline</button></form>"
                    ),
                );
            }
            Some("approve") => true,
            Some("decline") => false,
            Some(_) => {
                return html(
                    StatusCode::BAD_REQUEST,
                    "Bad request",
                    "<h1>outcome must be approve or decline</h1>",
                );
            }
        };
        if let Some(s) = d.sessions.get_mut(&token) {
            s.used = true;
        }
        let hook = settle(&mut d, i, success).flatten();
        let r = &d.records[i];
        let status = match r.status() {
            TransactionStatus::Successful => "success",
            _ => "failed",
        };
        let mut location = match url::Url::parse(&return_url) {
            Ok(u) => u,
            Err(_) => {
                return html(
                    StatusCode::BAD_REQUEST,
                    "Bad return URL",
                    "<h1>The checkout's return_url is not a URL</h1>",
                );
            }
        };
        location
            .query_pairs_mut()
            .append_pair("status", status)
            .append_pair("reference", &reference)
            .append_pair(
                "order_ref",
                r.tx.provider_reference.as_deref().unwrap_or_default(),
            );
        (hook, location.to_string())
    };
    if let Some(hook) = hook {
        let shared = shared.clone();
        tokio::spawn(async move { deliver(&shared, vec![hook]).await });
    }
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert("location", v);
    }
    r
}

// ---------------------------------------------------------------------------------------------
// POST /api/v1/collect and /api/v1/disburse

async fn collect(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = shared.rate_limited(PATH_COLLECT, rate_limits::COLLECT_PER_MINUTE) {
        return r;
    }
    mobile_money(&shared, &headers, &body, TransactionType::Collection)
}

async fn disburse(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    mobile_money(&shared, &headers, &body, TransactionType::Disbursement)
}

struct MoneyRequest {
    phone: String,
    amount: u64,
    currency: Currency,
    description: Option<String>,
    callback_url: Option<String>,
}

fn parse_money(body: &str, kind: &TransactionType) -> Result<MoneyRequest, Refused> {
    let Ok(req) = serde_json::from_str::<Value>(body) else {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "The body must be a JSON object",
        )));
    };
    let phone = text(&req, "phone").unwrap_or_default().to_string();
    validate::phone("phone", &phone).map_err(|e| Box::new(invalid("INVALID_PHONE", &e)))?;
    let Some(amount) = positive_int(req.get("amount")) else {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "INVALID_AMOUNT",
            "amount: must be a positive integer in the smallest unit",
        )));
    };
    let currency = parse_currency(&req)?;
    if *kind == TransactionType::Disbursement
        && currency == Currency::Ugx
        && amount < crate::mobile_money::MIN_DISBURSE_UGX
    {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "INVALID_AMOUNT",
            "amount: the minimum disbursement is 1000 UGX",
        )));
    }
    let description = text(&req, "description").map(str::to_string);
    if let Some(d) = &description {
        validate::max_chars("description", d, 255).map_err(|e| Box::new(invalid("VALIDATION_ERROR", &e)))?;
    }
    let callback_url = text(&req, "callback_url").map(str::to_string);
    if let Some(u) = &callback_url {
        validate::url("callback_url", u, true).map_err(|e| Box::new(invalid("VALIDATION_ERROR", &e)))?;
    }
    Ok(MoneyRequest {
        phone,
        amount,
        currency,
        description,
        callback_url,
    })
}

fn mobile_money(shared: &Shared, headers: &HeaderMap, body: &str, kind: TransactionType) -> Response {
    let env = match bearer_env(headers) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let Some(key) = headers
        .get(crate::mobile_money::IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "MISSING_IDEMPOTENCY_KEY",
            "The Idempotency-Key header is required",
        );
    };
    let disbursement = kind == TransactionType::Disbursement;
    if disbursement && env == TransactionEnvironment::Test {
        return error(
            StatusCode::FORBIDDEN,
            "DISBURSE_TEST_BLOCKED",
            "Disbursements are not available with test keys; use a live key",
        );
    }
    let req = match parse_money(body, &kind) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let path = if disbursement { PATH_DISBURSE } else { PATH_COLLECT };
    // The key covers the endpoint, the environment and the exact body.
    let fingerprint = [
        path.as_bytes(),
        b"\n",
        env.as_str().as_bytes(),
        b"\n",
        body.as_bytes(),
    ]
    .concat();
    let fee = commission(req.amount);
    let mut d = shared.lock();
    if disbursement && !d.keys_seen.contains(key) && d.balance_live < req.amount + fee {
        // Refused before the key is recorded: RohoPay creates nothing on a 422, so a retry
        // with the same key after a top-up is safe.
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INSUFFICIENT_BALANCE",
            "The live wallet cannot cover this disbursement and its commission",
        );
    }
    d.keys_seen.insert(key.to_string());
    match shared.idempotency.begin(key, &fingerprint) {
        KeyState::New => {}
        KeyState::Replay(status, bytes) => return replay(status, bytes),
        KeyState::Conflict => return conflict(),
    }
    let now = SystemTime::now();
    let (seq, id, reference, provider_reference) = next_ids(&mut d, now);
    let at = iso8601(now);
    let net = if disbursement {
        req.amount + fee
    } else {
        req.amount - fee
    };
    let tx = Transaction {
        id: Some(id.into()),
        internal_reference: reference.into(),
        provider_reference: Some(provider_reference),
        kind: Some(kind),
        status: Some(TransactionStatus::Pending),
        payment_method: Some(PaymentMethod::MobileMoney),
        provider: Some(UpstreamProvider::Relworx),
        provider_status: Some("PENDING".into()),
        phone_number: Some(req.phone),
        amount: Some(Decimal::from(req.amount)),
        currency: Some(req.currency),
        commission_amount: Some(Decimal::from(fee)),
        commission_rate: Some(commission_rate()),
        provider_fee_amount: Some(Decimal::ZERO),
        provider_fee_rate: Some(Decimal::ZERO),
        net_amount: Some(Decimal::from(net)),
        description: req.description,
        callback_url: req.callback_url,
        failover_reason: Some(String::new()),
        environment: Some(env),
        created_at: Some(at.clone()),
        updated_at: Some(at),
    };
    if disbursement {
        // Reserved when the payout is accepted; refunded if it fails.
        d.balance_live = d.balance_live.saturating_sub(net);
    }
    let response = json!({
        "success": true,
        "message": if disbursement { "Disbursement initiated" } else { "Payment initiated" },
        "data": wire_json(&tx),
    });
    d.records.push(Record {
        seq,
        tx,
        amount: req.amount,
        commission: fee,
        key: Some(key.to_string()),
    });
    drop(d);
    let bytes = serde_json::to_vec(&response).unwrap_or_default();
    shared.idempotency.finish(key, 200, bytes.clone().into());
    let mut r = Response::new(Body::from(bytes));
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

// ---------------------------------------------------------------------------------------------
// GET /api/v1/transactions/{reference}, GET /api/v1/transactions, GET /api/v1/wallet/balance

async fn get_transaction(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    if let Err(r) = bearer_env(&headers) {
        return *r;
    }
    let d = shared.lock();
    match d.records.iter().find(|r| r.tx.has_reference(&reference)) {
        Some(r) => json_response(
            StatusCode::OK,
            &json!({"success": true, "data": wire_json(&r.tx)}),
        ),
        None => error_with_reference(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Transaction not found",
            &reference,
        ),
    }
}

async fn list_transactions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(r) = bearer_env(&headers) {
        return *r;
    }
    let mut status = None;
    let mut kind = None;
    let mut environment = None;
    let mut from = None;
    let mut to = None;
    let mut limit = crate::ListTransactions::DEFAULT_LIMIT as usize;
    let mut offset = 0usize;
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", m);
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let v = v.into_owned();
        match k.as_ref() {
            "status" => {
                let s = TransactionStatus::from(v.as_str());
                if s.is_unknown() {
                    return bad("status: must be pending, successful or failed");
                }
                status = Some(s);
            }
            "type" => {
                let t = TransactionType::from(v.as_str());
                if t.is_unknown() {
                    return bad("type: must be collection or disbursement");
                }
                kind = Some(t);
            }
            "environment" => {
                let e = TransactionEnvironment::from(v.as_str());
                if e.is_unknown() {
                    return bad("environment: must be test or live");
                }
                environment = Some(e);
            }
            "from" => from = Some(v),
            // A bare date includes the whole day.
            "to" if v.len() == 10 => to = Some(format!("{v}T23:59:59.999Z")),
            "to" => to = Some(v),
            "limit" => match v.parse::<usize>() {
                Ok(l) if (1..=crate::ListTransactions::MAX_LIMIT as usize).contains(&l) => limit = l,
                _ => return bad("limit: must be an integer from 1 to 100"),
            },
            "offset" => match v.parse::<usize>() {
                Ok(o) => offset = o,
                Err(_) => return bad("offset: must be a non-negative integer"),
            },
            _ => {}
        }
    }
    let d = shared.lock();
    let mut matching: Vec<&Record> = d
        .records
        .iter()
        .filter(|r| status.as_ref().is_none_or(|s| r.tx.status.as_ref() == Some(s)))
        .filter(|r| kind.as_ref().is_none_or(|k| r.tx.kind.as_ref() == Some(k)))
        .filter(|r| {
            environment
                .as_ref()
                .is_none_or(|e| r.tx.environment.as_ref() == Some(e))
        })
        .filter(|r| {
            let created =
                r.tx.created_at
                    .as_ref()
                    .map(Timestamp::as_str)
                    .unwrap_or_default();
            from.as_deref().is_none_or(|f| not_after(f, created))
                && to.as_deref().is_none_or(|t| not_after(created, t))
        })
        .collect();
    matching.sort_by_key(|r| std::cmp::Reverse(r.seq));
    let page: Vec<Value> = matching
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|r| wire_json(&r.tx))
        .collect();
    json_response(StatusCode::OK, &json!({"success": true, "data": page}))
}

async fn wallet_balance(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = bearer_env(&headers) {
        return *r;
    }
    let d = shared.lock();
    json_response(
        StatusCode::OK,
        &json!({
            "success": true,
            "data": {"balance_live": d.balance_live, "balance_test": d.balance_test, "currency": "UGX"}
        }),
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds), the shape of RohoPay's examples.
fn iso8601(t: SystemTime) -> Timestamp {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    Timestamp::from_unix(secs, 0).unwrap_or_else(|| Timestamp::from(t))
}

/// `a` is at or before `b`: by instant when both are RFC 3339 date-times, else by text (a
/// bare date such as `2024-06-01`, which the sandbox also accepts in `from`/`to`).
fn not_after(a: &str, b: &str) -> bool {
    let (ta, tb) = (Timestamp::parse(a), Timestamp::parse(b));
    match (
        ta.unix_seconds().zip(ta.subsec_nanos()),
        tb.unix_seconds().zip(tb.subsec_nanos()),
    ) {
        (Some(x), Some(y)) => x <= y,
        _ => a <= b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso8601_utc() {
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(iso8601(t(0)).as_str(), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(t(1_709_251_199)).as_str(), "2024-02-29T23:59:59Z");
        assert_eq!(iso8601(t(1_795_239_884)).as_str(), "2026-11-21T05:44:44Z");
        // Whole seconds, as RohoPay's examples: a fraction of the clock is not written.
        assert_eq!(
            iso8601(t(1_795_239_884) + Duration::from_millis(250)).as_str(),
            "2026-11-21T05:44:44Z"
        );
    }

    #[test]
    fn list_bounds_compare_instants_and_accept_bare_dates() {
        // 12:00+03:00 is 09:00Z: the same instant, written in East Africa Time.
        assert!(not_after("2024-07-01T12:00:00+03:00", "2024-07-01T09:00:00Z"));
        assert!(not_after("2024-07-01T09:00:00Z", "2024-07-01T12:00:00+03:00"));
        assert!(!not_after("2024-07-01T12:00:01+03:00", "2024-07-01T09:00:00Z"));
        assert!(not_after("2024-07-01", "2024-07-01T09:00:00Z"));
        assert!(!not_after("2024-07-02", "2024-07-01T09:00:00Z"));
    }

    #[tokio::test]
    async fn the_record_holds_each_idempotency_key_once_with_its_transaction() {
        use crate::{Card, CheckoutRequest, CollectRequest, DisburseRequest, IdempotencyKey};
        let sb = Sandbox::start().await.unwrap();
        sb.set_balance_live(1_000_000);
        let live = sb.live_client();
        let key = |k: &str| IdempotencyKey::new(k).unwrap();
        let pay = DisburseRequest::new("256712345678", 20_000, Currency::Ugx).idempotency_key(key("k-pay"));
        let first = live.mobile_money().disburse(&pay).await.unwrap();
        // Sent again with the same key: replayed, nothing new in the record.
        let again = live.mobile_money().disburse(&pay).await.unwrap();
        assert_eq!(
            first.transaction.internal_reference,
            again.transaction.internal_reference
        );
        let collect = CollectRequest::new("256712345678", 5_000, Currency::Ugx).idempotency_key(key("k-col"));
        live.mobile_money().collect(&collect).await.unwrap();
        let card = Card::new("4111111111111111", "12/30", "123");
        let checkout = CheckoutRequest::new(
            75_000,
            Currency::Ugx,
            "Jane Mukasa",
            "jane@example.com",
            "https://shop.example/return",
            card,
        )
        .idempotency_key(key("k-card"));
        live.checkout().create(&checkout).await.unwrap();
        live.checkout().create(&checkout).await.unwrap();

        let record = sb.transactions_with_keys();
        let keys: Vec<_> = record.iter().map(|(k, _)| k.as_deref()).collect();
        assert_eq!(keys, vec![Some("k-pay"), Some("k-col"), Some("k-card")]);
        assert_eq!(
            record[0].1.internal_reference,
            first.transaction.internal_reference
        );
        assert_eq!(record[2].1.kind, Some(TransactionType::Collection));
        assert_eq!(sb.server().count("POST", PATH_DISBURSE), 2);
    }

    #[test]
    fn keys_have_the_documented_format() {
        for (key, prefix) in [(SANDBOX_TEST_KEY, "test_"), (SANDBOX_LIVE_KEY, "live_")] {
            let hex = key.strip_prefix(prefix).unwrap();
            assert_eq!(hex.len(), 64, "{key}");
            assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }

    #[test]
    fn wire_json_writes_money_as_numbers() {
        let tx: Transaction = serde_json::from_value(json!({
            "amount": "75000",
            "commission_rate": "0.01",
            "internal_reference": "RHP-2026-SBX00001",
        }))
        .unwrap();
        let v = wire_json(&tx);
        assert_eq!(v["amount"], json!(75000));
        assert_eq!(v["commission_rate"], json!(0.01));
        assert_eq!(v["internal_reference"], json!("RHP-2026-SBX00001"));
    }
}
