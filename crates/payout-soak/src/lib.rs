//! A soak of the five provider crates against their offline sandboxes (issue 16).
//!
//! For each provider, `calls` money-moving calls run from [`CONCURRENCY`] tasks against the
//! provider's stateful sandbox while the sandbox injects a fault into [`FAULT_PERCENT`] % of
//! all requests (creates and the lookups that reconcile them alike), drawn from a seeded
//! generator and cycling through [`fault_kinds`]. The run is then judged from the sandbox's
//! own record ([`ProviderReport::problems`]):
//!
//! * no payout exists twice;
//! * every call ended settled (`Ok`, and the sandbox has it), failed with an error, or
//!   `Ambiguous` carrying its key; an error that does not say the outcome is unknown must
//!   not hide a payout that happened;
//! * for each `Ambiguous`, whether the payout happened (the split is reported);
//! * no call outlived [`outer_timeout`] (the client's total deadline plus a margin).
//!
//! `tests/soak.rs` runs it with 100 calls per provider in the ordinary test suite;
//! `PAYOUT_SOAK_CALLS=1000` (or `cargo xtask soak`) runs the full version.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use payout_core::sandbox::{Fault, SandboxServer};
use payout_core::{Error, ErrorKind, Keyed, RetryPolicy};

/// Concurrent tasks per provider.
pub const CONCURRENCY: usize = 64;
/// The share of requests that get a fault, in percent.
pub const FAULT_PERCENT: u32 = 20;
/// The seed of the fault generator (and of the clients' retry jitter).
pub const SEED: u64 = 16;
/// The per-attempt timeout of the soak clients.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(200);
/// The total deadline of one call of the soak clients (it must leave room for one
/// `Retry-After: 1`).
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a delayed request is held before the sandbox processes it: past
/// [`ATTEMPT_TIMEOUT`].
pub const DELAY: Duration = Duration::from_millis(350);

/// The bound on each call: the client's total deadline plus a margin for the reconcile
/// lookups. A call still running then counts as a failure.
pub fn outer_timeout() -> Duration {
    TOTAL_TIMEOUT + Duration::from_millis(500)
}

/// Every fault kind the core sandbox has, in the order the random mode cycles through them.
pub fn fault_kinds() -> Vec<Fault> {
    vec![
        Fault::DropAfterRead,
        Fault::DropAfterProcessing,
        Fault::Status(503),
        Fault::StatusAfterProcessing(500),
        Fault::RateLimited(Duration::from_secs(1)),
        Fault::HtmlPage(502),
        Fault::TruncatedJson,
        Fault::Delay(DELAY),
    ]
}

/// A short name for a fault, for reports.
pub fn fault_name(f: &Fault) -> String {
    match f {
        Fault::DropAfterRead => "drop before processing".into(),
        Fault::DropAfterProcessing => "drop after processing".into(),
        Fault::Status(s) => format!("{s} before processing"),
        Fault::StatusAfterProcessing(s) => format!("{s} after processing"),
        Fault::RateLimited(d) => format!("429 Retry-After {}s", d.as_secs().max(1)),
        Fault::HtmlPage(s) => format!("HTML {s} page"),
        Fault::TruncatedJson => "truncated JSON (processed)".into(),
        Fault::Delay(d) => format!("delay {} ms (processed)", d.as_millis()),
        other => format!("{other:?}"),
    }
}

fn retry_policy() -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(5)
        .base_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(50))
        .max_retry_after(Duration::from_secs(2))
        .jitter_seed(SEED)
}

/// How one call ended.
#[derive(Debug)]
pub enum Ending {
    /// The call returned `Ok`.
    Settled,
    /// The call returned this error.
    Failed(Error),
    /// The call was still running at [`outer_timeout`].
    Overran,
}

/// One call of the soak.
#[derive(Debug)]
pub struct Call {
    /// The call's key (idempotency key, client id, custom order id; for RomplHub, which has
    /// none, the distinct quantity the soak gives each order).
    pub key: String,
    /// How it ended.
    pub ending: Ending,
    /// How long it took.
    pub elapsed: Duration,
}

/// Resident set size of this process, from `/proc/self/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rss {
    /// `VmRSS`, in KiB.
    pub rss_kib: u64,
    /// `VmHWM` (the peak), in KiB.
    pub peak_kib: u64,
}

impl Rss {
    /// Reads it now (zeros where `/proc` is not available).
    pub fn now() -> Rss {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Rss {
            rss_kib: field("VmRSS:"),
            peak_kib: field("VmHWM:"),
        }
    }
}

/// What one provider's soak found.
#[derive(Debug, Default)]
pub struct ProviderReport {
    /// The crate.
    pub provider: &'static str,
    /// Money-moving calls made.
    pub calls: usize,
    /// Requests the sandbox received (creates, retries and lookups).
    pub requests: usize,
    /// Faults injected, per kind.
    pub faults: Vec<(String, usize)>,
    /// Calls that returned `Ok`.
    pub settled: usize,
    /// Calls that returned an error other than `Ambiguous` whose outcome is definite (the
    /// error does not say it may have succeeded), by error kind.
    pub final_errors: BTreeMap<String, usize>,
    /// Calls that returned an error other than `Ambiguous` that says the outcome is unknown
    /// (retryable with the same key), by error kind.
    pub unknown_errors: BTreeMap<String, usize>,
    /// Of those, how many the sandbox has.
    pub unknown_happened: usize,
    /// Calls that returned `Ambiguous`.
    pub ambiguous: usize,
    /// Of those, how many the sandbox has.
    pub ambiguous_happened: usize,
    /// Calls still running at [`outer_timeout`].
    pub overran: usize,
    /// The longest call.
    pub max_elapsed: Duration,
    /// Payouts the sandbox holds.
    pub created: usize,
    /// Payouts that exist more than once (extra copies).
    pub duplicates: usize,
    /// Every violation found, in words (empty when the run passed).
    pub problems: Vec<String>,
    /// How long the provider's run took.
    pub wall: Duration,
    /// One error message per outcome class and kind (the first seen), for the report.
    pub examples: BTreeMap<String, String>,
}

/// What the sandbox holds, judged per call key.
struct Record {
    /// How many payouts exist per key (keys absent: none).
    per_key: HashMap<String, usize>,
    /// Payouts the sandbox holds in total (its own count).
    total: usize,
    /// Whether `per_key` counts every copy (a listing), or only says "exists" (a lookup by
    /// key; duplicates are then `total - found`).
    exact: bool,
}

/// Runs `calls` calls of `call(i)` from [`CONCURRENCY`] tasks, each bounded by
/// [`outer_timeout`].
async fn drive<F, Fut>(calls: usize, call: F) -> Vec<Call>
where
    F: Fn(usize) -> (String, Fut) + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY.min(calls.max(1)) {
        let call = call.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= calls {
                    break;
                }
                let (key, fut) = call(i);
                let start = Instant::now();
                let ending = match tokio::time::timeout(outer_timeout(), fut).await {
                    Ok(Ok(())) => Ending::Settled,
                    Ok(Err(e)) => Ending::Failed(e),
                    Err(_) => Ending::Overran,
                };
                done.push(Call {
                    key,
                    ending,
                    elapsed: start.elapsed(),
                });
            }
            done
        }));
    }
    let mut all = Vec::with_capacity(calls);
    for t in tasks {
        if let Ok(done) = t.await {
            all.extend(done);
        }
    }
    all
}

/// Does the error carry this call's key (as `idempotency_key()` or in its message)?
fn carries_key(e: &Error, key: &str) -> bool {
    e.idempotency_key().is_some_and(|k| k.as_str() == key) || e.to_string().contains(key)
}

fn judge(
    provider: &'static str,
    server: &SandboxServer,
    calls: Vec<Call>,
    record: Record,
    keyless: bool,
    wall: Duration,
) -> ProviderReport {
    let mut r = ProviderReport {
        provider,
        calls: calls.len(),
        requests: server.requests().len(),
        faults: server
            .faults_injected()
            .iter()
            .map(|(f, n)| (fault_name(f), *n))
            .collect(),
        created: record.total,
        wall,
        ..ProviderReport::default()
    };
    let count = |key: &str| record.per_key.get(key).copied().unwrap_or(0);
    let found: usize = record.per_key.values().map(|n| (*n).min(1)).sum();
    r.duplicates = if record.exact {
        record.per_key.values().map(|n| n.saturating_sub(1)).sum()
    } else {
        record.total.saturating_sub(found)
    };
    if r.duplicates > 0 {
        let keys: Vec<&String> = record
            .per_key
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, _)| k)
            .collect();
        r.problems.push(format!(
            "{} payout(s) created twice (sandbox holds {}, distinct keys {found}; keys {keys:?})",
            r.duplicates, record.total
        ));
    }
    let call_keys: std::collections::HashSet<&str> = calls.iter().map(|c| c.key.as_str()).collect();
    let strays = record
        .per_key
        .keys()
        .filter(|k| !call_keys.contains(k.as_str()))
        .count();
    if strays > 0 {
        r.problems
            .push(format!("{strays} payout(s) in the sandbox match no call"));
    }
    for c in &calls {
        r.max_elapsed = r.max_elapsed.max(c.elapsed);
        let n = count(&c.key);
        if let Ending::Failed(e) = &c.ending {
            let class = if e.kind() == ErrorKind::Ambiguous {
                "ambiguous"
            } else if payout_core::reconcile::outcome_unknown(e) {
                "unknown"
            } else {
                "definite"
            };
            let happened = if n > 0 { "happened" } else { "did not happen" };
            r.examples
                .entry(format!("{class} {} ({happened})", e.kind()))
                .or_insert_with(|| e.to_string());
        }
        match &c.ending {
            Ending::Settled => {
                r.settled += 1;
                if n == 0 {
                    r.problems.push(format!(
                        "call {} returned Ok but the sandbox has no payout",
                        c.key
                    ));
                }
            }
            Ending::Overran => {
                r.overran += 1;
                r.problems.push(format!(
                    "call {} still running after {:?} (client deadline {TOTAL_TIMEOUT:?})",
                    c.key,
                    outer_timeout()
                ));
            }
            Ending::Failed(e) if e.kind() == ErrorKind::Ambiguous => {
                r.ambiguous += 1;
                if n > 0 {
                    r.ambiguous_happened += 1;
                }
                if !keyless && !carries_key(e, &c.key) {
                    r.problems
                        .push(format!("Ambiguous without its key ({}): {e}", c.key));
                }
            }
            Ending::Failed(e) if payout_core::reconcile::outcome_unknown(e) => {
                *r.unknown_errors.entry(e.kind().as_str().to_string()).or_default() += 1;
                if n > 0 {
                    r.unknown_happened += 1;
                }
                if !keyless && !carries_key(e, &c.key) {
                    r.problems.push(format!(
                        "unknown outcome ({}) without its key ({}): {e}",
                        e.kind(),
                        c.key
                    ));
                }
            }
            Ending::Failed(e) => {
                *r.final_errors.entry(e.kind().as_str().to_string()).or_default() += 1;
                if n > 0 {
                    r.problems.push(format!(
                        "call {} failed with a definite error, yet the payout exists: {e}",
                        c.key
                    ));
                }
            }
        }
    }
    r
}

/// Lets the delayed requests finish processing, then stops the faults.
async fn quiesce(server: &SandboxServer) {
    server.stop_random_faults();
    tokio::time::sleep(DELAY + Duration::from_millis(300)).await;
}

/// ROCheap: `orders().create` (unprotected, reconciled by `custom_order_id`).
pub async fn rocheap(calls: usize) -> ProviderReport {
    use rocheap::sandbox::Sandbox;
    let Ok(sandbox) = Sandbox::start().await else {
        return failed_to_start("rocheap");
    };
    sandbox.set_balance(rocheap::Decimal::from(1_000_000_000u64));
    let built = rocheap::Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .retry_policy(retry_policy())
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .reconcile_policy(rocheap::ReconcilePolicy {
            lookups: 2,
            spacing: Duration::from_millis(20),
        })
        .build();
    let Ok(client) = built else {
        return failed_to_start("rocheap");
    };
    sandbox.server().random_faults(FAULT_PERCENT, SEED, fault_kinds());
    let start = Instant::now();
    let c = client.clone();
    let done = drive(calls, move |i| {
        let req = rocheap::CreateOrder::new(10, 1_000 + i as u64, 1, 2);
        let key = req.key().to_string();
        let c = c.clone();
        (key, async move { c.orders().create(&req).await.map(|_| ()) })
    })
    .await;
    let wall = start.elapsed();
    quiesce(sandbox.server()).await;
    let mut per_key = HashMap::new();
    for call in &done {
        if client.orders().get_by_custom_id(call.key.clone()).await.is_ok() {
            per_key.insert(call.key.clone(), 1);
        }
    }
    let record = Record {
        per_key,
        total: sandbox.orders_created(),
        exact: false,
    };
    judge("rocheap", sandbox.server(), done, record, false, wall)
}

/// xRocket: `transfers().create` (key-protected by `clientTransferId`, reconciled).
pub async fn xrocket(calls: usize) -> ProviderReport {
    use xrocket::sandbox::Sandbox;
    let Ok(sandbox) = Sandbox::start().await else {
        return failed_to_start("xrocket");
    };
    sandbox.set_balance("TONCOIN", xrocket::Decimal::from(1_000_000_000u64));
    let built = sandbox
        .client_builder()
        .retry_policy(retry_policy())
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .reconcile_policy(xrocket::ReconcilePolicy {
            lookups: 2,
            spacing: Duration::from_millis(20),
        })
        .build();
    let Ok(client) = built else {
        return failed_to_start("xrocket");
    };
    sandbox.server().random_faults(FAULT_PERCENT, SEED, fault_kinds());
    let start = Instant::now();
    let c = client.clone();
    let done = drive(calls, move |i| {
        let req = xrocket::CreateTransfer::to_telegram_user(
            87_209_764 + i as i64,
            xrocket::Asset::Toncoin,
            xrocket::Decimal::new(1, 2),
        );
        let key = req.key().to_string();
        let c = c.clone();
        (key, async move { c.transfers().create(&req).await.map(|_| ()) })
    })
    .await;
    let wall = start.elapsed();
    quiesce(sandbox.server()).await;
    let per_key = done
        .iter()
        .filter(|c| sandbox.transfer(&c.key).is_some())
        .map(|c| (c.key.clone(), 1))
        .collect();
    let record = Record {
        per_key,
        total: sandbox.transfers_created(),
        exact: false,
    };
    judge("xrocket", sandbox.server(), done, record, false, wall)
}

/// Plexy Gate: `orders().create` (key-protected by `Idempotency-Key`, reconciled).
pub async fn agent_catalog(calls: usize) -> ProviderReport {
    use agent_catalog::sandbox::{STEAM_TOP_UP, Sandbox};
    let Ok(sandbox) = Sandbox::start().await else {
        return failed_to_start("agent-catalog");
    };
    sandbox.set_balance("USD", agent_catalog::Decimal::from(1_000_000_000u64));
    let built = agent_catalog::Client::builder()
        .api_key(sandbox.api_key())
        .agent_id(sandbox.agent_id())
        .base_url(sandbox.base_url())
        .retry_policy(retry_policy())
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .reconcile_policy(agent_catalog::ReconcilePolicy {
            lookups: 2,
            spacing: Duration::from_millis(20),
        })
        .build();
    let Ok(client) = built else {
        return failed_to_start("agent-catalog");
    };
    sandbox.server().random_faults(FAULT_PERCENT, SEED, fault_kinds());
    let start = Instant::now();
    let c = client.clone();
    let done = drive(calls, move |i| {
        let req = agent_catalog::CreateOrder::new(STEAM_TOP_UP).topup_request(
            agent_catalog::TopupRequest::new(agent_catalog::Decimal::from(10))
                .account("steam_login", format!("soak{i}")),
        );
        let key = req.key().to_string();
        let c = c.clone();
        (key, async move { c.orders().create(&req).await.map(|_| ()) })
    })
    .await;
    let wall = start.elapsed();
    quiesce(sandbox.server()).await;
    let orders = sandbox.orders();
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for o in &orders {
        let key = o
            .idempotency_key
            .as_ref()
            .map(|k| k.as_str().to_string())
            .unwrap_or_default();
        *per_key.entry(key).or_default() += 1;
    }
    let record = Record {
        per_key,
        total: sandbox.orders_created(),
        exact: true,
    };
    judge("agent-catalog", sandbox.server(), done, record, false, wall)
}

/// RohoPay: `mobile_money().disburse` (key-protected by `Idempotency-Key`; RohoPay has no
/// lookup by key, so nothing is reconciled). Each payout's description carries its key so the
/// sandbox's transaction list can be matched to the calls.
pub async fn rohopay(calls: usize) -> ProviderReport {
    use rohopay::sandbox::{SANDBOX_LIVE_KEY, Sandbox};
    let Ok(sandbox) = Sandbox::start().await else {
        return failed_to_start("rohopay");
    };
    sandbox.set_balance_live(1_000_000_000_000);
    let built = rohopay::Client::builder()
        .api_key(SANDBOX_LIVE_KEY)
        .base_url(sandbox.base_url())
        .retry_policy(retry_policy())
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .build();
    let Ok(client) = built else {
        return failed_to_start("rohopay");
    };
    sandbox.server().random_faults(FAULT_PERCENT, SEED, fault_kinds());
    let start = Instant::now();
    let c = client.clone();
    let done = drive(calls, move |_| {
        let req = rohopay::DisburseRequest::new("256712345678", 1_000, rohopay::Currency::Ugx);
        let key = req.key().to_string();
        let req = req.description(format!("soak {key}"));
        let c = c.clone();
        (
            key,
            async move { c.mobile_money().disburse(&req).await.map(|_| ()) },
        )
    })
    .await;
    let wall = start.elapsed();
    quiesce(sandbox.server()).await;
    let mut per_key: HashMap<String, usize> = HashMap::new();
    let mut offset = 0u64;
    loop {
        let filter = rohopay::ListTransactions::new().limit(100).offset(offset);
        let Ok(page) = client.transactions().list(&filter).await else {
            return listing_failed("rohopay", sandbox.server(), done, wall);
        };
        for t in &page.items {
            let key = t
                .description
                .as_deref()
                .and_then(|d| d.strip_prefix("soak "))
                .unwrap_or_default()
                .to_string();
            *per_key.entry(key).or_default() += 1;
        }
        match page.next {
            Some(n) if !page.items.is_empty() => offset = n,
            _ => break,
        }
    }
    let record = Record {
        per_key,
        total: sandbox.transactions_created(),
        exact: true,
    };
    judge("rohopay", sandbox.server(), done, record, false, wall)
}

/// RomplHub: `orders().create` (unprotected and keyless: no retry once it may have left, an
/// unknown outcome is `Ambiguous`). Each order gets its own quantity, so the sandbox's order
/// list can be matched to the calls.
pub async fn romplhub(calls: usize) -> ProviderReport {
    use romplhub::sandbox::{SANDBOX_API_KEY, Sandbox};
    let Ok(sandbox) = Sandbox::start().await else {
        return failed_to_start("romplhub");
    };
    sandbox.set_tokens(u64::MAX / 4);
    sandbox.set_rate_limit(1_000_000, Duration::from_secs(60));
    let built = romplhub::Client::builder()
        .api_key(SANDBOX_API_KEY)
        .base_url(sandbox.base_url())
        .retry_policy(retry_policy())
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .build();
    let Ok(client) = built else {
        return failed_to_start("romplhub");
    };
    sandbox.server().random_faults(FAULT_PERCENT, SEED, fault_kinds());
    let start = Instant::now();
    let c = client.clone();
    let done = drive(calls, move |i| {
        let quantity = i as u32 + 1;
        let req = romplhub::CreateOrder::new("soak@roblox.com", "account-password", "robux_2200")
            .quantity(quantity);
        let c = c.clone();
        (format!("quantity={quantity}"), async move {
            c.orders().create(&req).await.map(|_| ())
        })
    })
    .await;
    let wall = start.elapsed();
    quiesce(sandbox.server()).await;
    let mut per_key: HashMap<String, usize> = HashMap::new();
    let mut offset = 0u64;
    loop {
        let filter = romplhub::ListOrders::new().limit(100).offset(offset);
        let Ok(page) = client.orders().list(&filter).await else {
            return listing_failed("romplhub", sandbox.server(), done, wall);
        };
        for o in &page.items {
            let key = format!("quantity={}", o.quantity.unwrap_or(0));
            *per_key.entry(key).or_default() += 1;
        }
        match page.next {
            Some(n) if !page.items.is_empty() => offset = n,
            _ => break,
        }
    }
    let record = Record {
        per_key,
        total: sandbox.orders_created(),
        exact: true,
    };
    judge("romplhub", sandbox.server(), done, record, true, wall)
}

fn failed_to_start(provider: &'static str) -> ProviderReport {
    ProviderReport {
        provider,
        problems: vec!["the sandbox or its client could not be started".into()],
        ..ProviderReport::default()
    }
}

fn listing_failed(
    provider: &'static str,
    server: &SandboxServer,
    calls: Vec<Call>,
    wall: Duration,
) -> ProviderReport {
    let record = Record {
        per_key: HashMap::new(),
        total: 0,
        exact: true,
    };
    let mut r = judge(provider, server, calls, record, true, wall);
    r.problems = vec!["listing the sandbox's payouts failed after the faults stopped".into()];
    r
}

/// The whole soak: every provider in turn, with memory read before and after.
#[derive(Debug, Default)]
pub struct SoakReport {
    /// Calls per provider.
    pub calls: usize,
    /// One report per provider.
    pub providers: Vec<ProviderReport>,
    /// After the warm-up.
    pub rss_after_warmup: Rss,
    /// At the end.
    pub rss_end: Rss,
}

/// The bound on memory growth: the peak may exceed the resident size after the warm-up by
/// at most this much.
pub const RSS_GROWTH_BOUND_KIB: u64 = 64 * 1024;

impl SoakReport {
    /// Peak growth after the warm-up, in KiB.
    pub fn peak_growth_kib(&self) -> u64 {
        self.rss_end
            .peak_kib
            .saturating_sub(self.rss_after_warmup.rss_kib)
    }

    /// Every violation, provider-prefixed, memory included.
    pub fn problems(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .providers
            .iter()
            .flat_map(|p| p.problems.iter().map(move |m| format!("{}: {m}", p.provider)))
            .collect();
        if self.peak_growth_kib() > RSS_GROWTH_BOUND_KIB {
            all.push(format!(
                "peak RSS grew by {} KiB after the warm-up (bound {RSS_GROWTH_BOUND_KIB} KiB)",
                self.peak_growth_kib()
            ));
        }
        all
    }

    /// A Markdown summary (the tables of `docs/reliability.md`).
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "{} calls per provider, {CONCURRENCY} tasks, faults in {FAULT_PERCENT} % of requests (seed {SEED}), attempt timeout {} ms, total deadline {} s, each call bounded at {} ms.\n\n",
            self.calls,
            ATTEMPT_TIMEOUT.as_millis(),
            TOTAL_TIMEOUT.as_secs(),
            outer_timeout().as_millis()
        );
        let kinds = fault_kinds();
        s.push_str("| provider | requests | ");
        for k in &kinds {
            s.push_str(&fault_name(k));
            s.push_str(" | ");
        }
        s.push_str("\n|---|---|");
        for _ in &kinds {
            s.push_str("---|");
        }
        s.push('\n');
        for p in &self.providers {
            s.push_str(&format!("| {} | {} | ", p.provider, p.requests));
            for k in &kinds {
                let name = fault_name(k);
                let n = p.faults.iter().find(|(f, _)| *f == name).map_or(0, |(_, n)| *n);
                s.push_str(&format!("{n} | "));
            }
            s.push('\n');
        }
        s.push_str("\n| provider | Ok | Ambiguous (happened / not) | unknown, same key retryable (happened / not) | definite errors | created | duplicates | overran | longest call | wall |\n|---|---|---|---|---|---|---|---|---|---|\n");
        for p in &self.providers {
            let unknown: usize = p.unknown_errors.values().sum();
            let fmt_map = |m: &BTreeMap<String, usize>| {
                if m.is_empty() {
                    "0".to_string()
                } else {
                    m.iter()
                        .map(|(k, n)| format!("{n} {k}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            s.push_str(&format!(
                "| {} | {} | {} ({} / {}) | {} ({} / {}){} | {} | {} | {} | {} | {} ms | {:.1} s |\n",
                p.provider,
                p.settled,
                p.ambiguous,
                p.ambiguous_happened,
                p.ambiguous - p.ambiguous_happened,
                unknown,
                p.unknown_happened,
                unknown - p.unknown_happened,
                if unknown > 0 {
                    format!(": {}", fmt_map(&p.unknown_errors))
                } else {
                    String::new()
                },
                fmt_map(&p.final_errors),
                p.created,
                p.duplicates,
                p.overran,
                p.max_elapsed.as_millis(),
                p.wall.as_secs_f64(),
            ));
        }
        s.push_str(&format!(
            "\nRSS after warm-up {} MiB, at the end {} MiB, peak {} MiB (growth of the peak over the warmed-up size: {} MiB, bound {} MiB).\n",
            self.rss_after_warmup.rss_kib / 1024,
            self.rss_end.rss_kib / 1024,
            self.rss_end.peak_kib / 1024,
            self.peak_growth_kib() / 1024,
            RSS_GROWTH_BOUND_KIB / 1024
        ));
        s.push_str("\nOne error of each kind:\n");
        for p in &self.providers {
            for (class, message) in &p.examples {
                s.push_str(&format!("- {} {class}: `{message}`\n", p.provider));
            }
        }
        let problems = self.problems();
        if problems.is_empty() {
            s.push_str("\nNo problem found.\n");
        } else {
            s.push_str("\nProblems:\n");
            for p in problems {
                s.push_str(&format!("- {p}\n"));
            }
        }
        s
    }
}

/// Calls per provider: `PAYOUT_SOAK_CALLS`, or `default`.
pub fn calls_from_env(default: usize) -> usize {
    std::env::var("PAYOUT_SOAK_CALLS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// Warms up (a fault-free round against a ROCheap sandbox), then soaks every provider in
/// turn with `calls` calls each.
pub async fn run(calls: usize) -> SoakReport {
    warm_up().await;
    let rss_after_warmup = Rss::now();
    let providers = vec![
        rocheap(calls).await,
        romplhub(calls).await,
        xrocket(calls).await,
        agent_catalog(calls).await,
        rohopay(calls).await,
    ];
    SoakReport {
        calls,
        providers,
        rss_after_warmup,
        rss_end: Rss::now(),
    }
}

async fn warm_up() {
    let Ok(sandbox) = rocheap::sandbox::Sandbox::start().await else {
        return;
    };
    sandbox.set_balance(rocheap::Decimal::from(1_000_000u64));
    let client = sandbox.client();
    let _ = drive(CONCURRENCY * 2, move |i| {
        let req = rocheap::CreateOrder::new(10, 1 + i as u64, 1, 2);
        let c = client.clone();
        (
            String::new(),
            async move { c.orders().create(&req).await.map(|_| ()) },
        )
    })
    .await;
}
