//! The crash test, for real: a worker **process** pays intents through the journal against
//! a sandbox that runs in this test process (so the sandbox and its record survive), and is
//! killed with SIGKILL
//!
//! * at each window deterministically: after the intent is committed, after the request is
//!   written (the sandbox holds it), after the answer arrived but before it is recorded;
//! * at random instants (`PAYOUT_JOURNAL_KILLS`, default 25; `cargo xtask journal-crash`
//!   runs 100);
//! * and, on PostgreSQL, with two workers paying the same 1,000 intents at once, one of
//!   them killed.
//!
//! Each time it is restarted (it runs `recover` first), and the sandbox's own record must
//! show every business id paid exactly once: 0 duplicates, 0 lost.
//!
//! RohoPay (collect, disburse, checkout) cannot be looked up by key: its worker recovers with
//! `recover_keyed` (a re-send with the recorded key, which RohoPay replays) and pays with
//! `pay_keyed`; its sandbox's record must hold each key once, with one transaction per
//! settled business id.

mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::HashSet;

use payout_core::sandbox::Fault;
use payout_core::{ApiClient, Reconcile, ReconcilePolicy};
use payout_journal::sqlite::SqliteStore;
use payout_journal::{Checkpoint, Journal, State, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;
use support::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

const WORKER_ENV: &str = "PAYOUT_JOURNAL_CRASH_WORKER";

// ------------------------------------------------------------------ the worker process

/// Not a test: the worker process the crash tests start (this binary, re-executed). Run
/// directly (no worker variable), it has nothing to do and passes; it is not marked ignored, so a
/// plain test run never reports a skipped test.
#[test]
fn worker() {
    if std::env::var_os(WORKER_ENV).is_none() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(worker_main());
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

async fn worker_main() {
    let n: usize = var("W_N").parse().unwrap();
    let prefix = var("W_PREFIX");
    let mut ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    if var("W_REVERSE") == "1" {
        ids.reverse();
    }
    let pause = var("W_PAUSE");
    let hook = move |at: Checkpoint, id: &str| {
        let hit = matches!(
            (at, pause.as_str()),
            (Checkpoint::Committed, "committed") | (Checkpoint::Answered, "answered")
        );
        if hit {
            use std::io::Write;
            println!("JW PAUSED {id}");
            let _ = std::io::stdout().flush();
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    };
    let concurrency: usize = var("W_CONCURRENCY").parse().unwrap_or(1);
    let db = var("W_DB");
    match var("W_BACKEND").as_str() {
        "sqlite" => {
            let j = Journal::new(SqliteStore::open(&db).await.unwrap());
            provider_work(configure(j, hook), ids, concurrency).await
        }
        #[cfg(feature = "postgres")]
        "postgres" => {
            let j = Journal::new(payout_journal::postgres::PgStore::connect(&db).await.unwrap());
            provider_work(configure(j, hook), ids, concurrency).await
        }
        other => panic!("unknown backend {other}"),
    }
}

fn configure<S: Store>(j: Journal<S>, hook: impl Fn(Checkpoint, &str) + Send + Sync + 'static) -> Journal<S> {
    j.worker_id(var("W_ID"))
        .reconcile_policy(ReconcilePolicy::once())
        .checkpoint_hook(hook)
}

type Maker<E> = fn(usize) -> E;

type Fut<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;
/// Recovery is awaited in place, never spawned (its future is not `Send` for every lifetime).
type LocalFut<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T>>>;

/// What a restarted worker's recovery pass reports: how many intents it looked at, and the
/// business ids it left for a decision.
struct Recovered {
    looked_at: usize,
    needs_decision: Vec<String>,
    summary: String,
}

/// Recovers (at startup and between rounds), then pays every business id until each is
/// settled, failed or reported for a decision. `pay_reported`: whether an intent recovery
/// reported for a decision is paid again with the original request (RohoPay's card checkout,
/// masked in the journal, is re-sent only from the request in memory, same key); otherwise
/// it is never paid again and counts as "reported with its key".
async fn pay_all(
    ids: Vec<String>,
    concurrency: usize,
    pay_reported: bool,
    recover: impl Fn() -> LocalFut<Recovered>,
    pay: Arc<dyn Fn(String) -> Fut<Result<(), payout_journal::Error>> + Send + Sync>,
) {
    let report = recover().await;
    println!("JW RECOVERED {} {}", report.looked_at, report.summary);
    let mut reported: HashSet<String> = if pay_reported {
        HashSet::new()
    } else {
        report.needs_decision.into_iter().collect()
    };
    let mut todo: Vec<String> = ids.into_iter().filter(|id| !reported.contains(id)).collect();
    for round in 0.. {
        let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let mut set = tokio::task::JoinSet::new();
        for id in todo.clone() {
            let (pay, sem) = (pay.clone(), sem.clone());
            set.spawn(async move {
                let _permit = sem.acquire_owned().await.unwrap();
                let res = pay(id.clone()).await;
                (id, res)
            });
        }
        let mut again = Vec::new();
        while let Some(r) = set.join_next().await {
            let (id, res) = r.unwrap();
            match res {
                Ok(()) => {}
                Err(payout_journal::Error::NeedsDecision { .. }) => {
                    reported.insert(id);
                }
                Err(e) => {
                    assert!(
                        e.is_unresolved()
                            || e.payout()
                                .is_some_and(|p| p.is_retryable() || p.may_have_succeeded()),
                        "{id}: {e}"
                    );
                    again.push(id);
                }
            }
        }
        if again.is_empty() {
            break;
        }
        assert!(round < 100, "still unresolved after 100 rounds: {again:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let report = recover().await;
        if !pay_reported {
            reported.extend(report.needs_decision);
        }
        todo = again.into_iter().filter(|id| !reported.contains(id)).collect();
    }
    println!("JW DONE reported={}", reported.len());
}

fn index_of(id: &str) -> usize {
    id.rsplit('-').next().unwrap().parse().unwrap()
}

async fn work<S, C, E>(j: Journal<S>, client: Arc<C>, ids: Vec<String>, concurrency: usize, make: Maker<E>)
where
    S: Store,
    C: ApiClient + 'static,
    E: Reconcile + Serialize + DeserializeOwned + Send + Sync + 'static,
    E::Output: Serialize + DeserializeOwned + Send + 'static,
{
    let j = Arc::new(j);
    let (j2, client2) = (j.clone(), client.clone());
    let recover = move || -> LocalFut<Recovered> {
        let (j, client) = (j2.clone(), client2.clone());
        Box::pin(async move {
            let report = j.recover::<C, E>(&*client).await.unwrap();
            Recovered {
                looked_at: report.len(),
                summary: format!("{report:?}"),
                // Intents reported for a person's decision (an unprotected call that may have
                // left): never paid again, and counted as "reported with its key".
                needs_decision: report.needs_decision.into_iter().map(|u| u.business_id).collect(),
            }
        })
    };
    let pay = Arc::new(move |id: String| -> Fut<Result<(), payout_journal::Error>> {
        let (j, client) = (j.clone(), client.clone());
        Box::pin(async move {
            // A fresh key each time: the journal keeps the first one.
            let req = make(index_of(&id));
            j.pay(&*client, &id, &req).await.map(drop)
        })
    });
    pay_all(ids, concurrency, false, recover, pay).await
}

fn fake_payout(i: usize) -> CreatePayout {
    CreatePayout::new(
        &uuid::Uuid::new_v4().to_string(),
        &format!("{}-{i}", var("W_PREFIX")),
        1,
    )
}

fn rocheap_order(i: usize) -> rocheap::CreateOrder {
    rocheap::CreateOrder::new(10, 1000 + i as u64, 1, 1)
}

fn xrocket_transfer(i: usize) -> xrocket::CreateTransfer {
    xrocket::CreateTransfer::to_telegram_user(
        1000 + i as i64,
        xrocket::Asset::Toncoin,
        xrocket::Decimal::new(1, 2),
    )
}

fn agent_catalog_order(i: usize) -> agent_catalog::CreateOrder {
    agent_catalog::CreateOrder::new(agent_catalog::sandbox::FREE_FIRE_100).external_ref(format!("inv-{i}"))
}

/// RohoPay's three keyed calls, chosen by `W_ROHOPAY` (`disburse`, `collect`, `checkout`,
/// or `mixed`: by the business id's index, `i % 3`).
fn rohopay_kind(mode: &str, i: usize) -> &'static str {
    match mode {
        "disburse" => "disburse",
        "collect" => "collect",
        "checkout" => "checkout",
        _ => ["disburse", "collect", "checkout"][i % 3],
    }
}

const ROHOPAY_PHONE: &str = "256712345678";

/// Intent `i`'s amount in UGX (the smallest disbursement is 1,000).
fn rohopay_amount(i: usize) -> u64 {
    1_000 + i as u64
}

// The description carries the business id, so the sandbox's record is counted per business
// id. Mobile money: a fresh key each time (the journal keeps the first one).
fn rohopay_disburse(id: &str, i: usize) -> rohopay::DisburseRequest {
    rohopay::DisburseRequest::new(ROHOPAY_PHONE, rohopay_amount(i), rohopay::Currency::Ugx).description(id)
}

fn rohopay_collect(id: &str, i: usize) -> rohopay::CollectRequest {
    rohopay::CollectRequest::new(ROHOPAY_PHONE, rohopay_amount(i), rohopay::Currency::Ugx).description(id)
}

/// A card checkout's card is masked in the journal, so recovery never re-sends it: the
/// worker pays it again with the original request, card in memory, under the key it keeps
/// with its order (derived from the business id here), and RohoPay replays the first answer.
fn rohopay_checkout(id: &str, i: usize) -> rohopay::CheckoutRequest {
    rohopay::CheckoutRequest::new(
        rohopay_amount(i),
        rohopay::Currency::Ugx,
        "Jane Mukasa",
        "jane@example.com",
        "https://shop.example/checkout/return",
        rohopay::Card::new("4111111111111111", "12/30", "123"),
    )
    .description(id)
    .idempotency_key(rohopay::IdempotencyKey::new(format!("checkout-{id}")).unwrap())
}

/// RohoPay has no lookup by key: `recover_keyed` re-sends each unfinished intent with its
/// recorded key, and `pay_keyed` pays.
async fn work_rohopay<S: Store>(
    j: Journal<S>,
    client: rohopay::Client,
    ids: Vec<String>,
    concurrency: usize,
) {
    use rohopay::{CheckoutRequest, CollectRequest, DisburseRequest};
    let (j, client) = (Arc::new(j), Arc::new(client));
    let (j2, client2) = (j.clone(), client.clone());
    let recover = move || -> LocalFut<Recovered> {
        let (j, c) = (j2.clone(), client2.clone());
        Box::pin(async move {
            let reports = [
                j.recover_keyed::<_, DisburseRequest>(&*c).await.unwrap(),
                j.recover_keyed::<_, CollectRequest>(&*c).await.unwrap(),
                j.recover_keyed::<_, CheckoutRequest>(&*c).await.unwrap(),
            ];
            Recovered {
                looked_at: reports.iter().map(|r| r.len()).sum(),
                summary: format!("{reports:?}"),
                needs_decision: reports
                    .into_iter()
                    .flat_map(|r| r.needs_decision.into_iter().map(|u| u.business_id))
                    .collect(),
            }
        })
    };
    let mode = var("W_ROHOPAY");
    let pay = Arc::new(move |id: String| -> Fut<Result<(), payout_journal::Error>> {
        let (j, c, mode) = (j.clone(), client.clone(), mode.clone());
        Box::pin(async move {
            let i = index_of(&id);
            match rohopay_kind(&mode, i) {
                "disburse" => j.pay_keyed(&*c, &id, &rohopay_disburse(&id, i)).await.map(drop),
                "collect" => j.pay_keyed(&*c, &id, &rohopay_collect(&id, i)).await.map(drop),
                _ => j.pay_keyed(&*c, &id, &rohopay_checkout(&id, i)).await.map(drop),
            }
        })
    });
    pay_all(ids, concurrency, true, recover, pay).await
}

async fn provider_work<S: Store>(j: Journal<S>, ids: Vec<String>, concurrency: usize) {
    let (url, key) = (var("W_SANDBOX"), var("W_KEY"));
    match var("W_PROVIDER").as_str() {
        "rocheap" => {
            let c = rocheap::Client::builder()
                .api_key(key)
                .base_url(url)
                .build()
                .unwrap();
            work(j, Arc::new(c), ids, concurrency, rocheap_order).await
        }
        "xrocket" => {
            let c = xrocket::Client::builder()
                .api_key(key)
                .base_url(url)
                .build()
                .unwrap();
            work(j, Arc::new(c), ids, concurrency, xrocket_transfer).await
        }
        "agent-catalog" => {
            let c = agent_catalog::Client::builder()
                .api_key(key)
                .agent_id(var("W_AGENT"))
                .base_url(url)
                .build()
                .unwrap();
            work(j, Arc::new(c), ids, concurrency, agent_catalog_order).await
        }
        "rohopay" => {
            let c = rohopay::Client::builder()
                .api_key(key)
                .base_url(url)
                .build()
                .unwrap();
            work_rohopay(j, c, ids, concurrency).await
        }
        _ => work(j, Arc::new(FakeClient::new(&url)), ids, concurrency, fake_payout).await,
    }
}

// ------------------------------------------------------------------ the test side

#[derive(Clone)]
struct Spec {
    provider: &'static str,
    key: String,
    agent: String,
    sandbox: String,
    backend: &'static str,
    db: String,
    prefix: String,
    n: usize,
    id: &'static str,
    pause: &'static str,
    concurrency: usize,
    reverse: bool,
    /// RohoPay only: which call the worker pays (see `rohopay_kind`).
    rohopay: &'static str,
}

fn spec(sandbox: &str, backend: &'static str, db: &str, prefix: &str, n: usize) -> Spec {
    Spec {
        provider: "fakepay",
        key: String::new(),
        agent: String::new(),
        sandbox: sandbox.to_string(),
        backend,
        db: db.to_string(),
        prefix: prefix.to_string(),
        n,
        id: "worker-a",
        pause: "",
        concurrency: 1,
        reverse: false,
        rohopay: "",
    }
}

struct Worker {
    child: Child,
    out: tokio::io::Lines<BufReader<ChildStdout>>,
}

fn spawn(s: &Spec) -> Worker {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "worker",
            "--exact",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(WORKER_ENV, "1")
        .env("W_SANDBOX", &s.sandbox)
        .env("W_PROVIDER", s.provider)
        .env("W_KEY", &s.key)
        .env("W_AGENT", &s.agent)
        .env("W_BACKEND", s.backend)
        .env("W_DB", &s.db)
        .env("W_PREFIX", &s.prefix)
        .env("W_N", s.n.to_string())
        .env("W_ID", s.id)
        .env("W_PAUSE", s.pause)
        .env("W_CONCURRENCY", s.concurrency.to_string())
        .env("W_REVERSE", if s.reverse { "1" } else { "0" })
        .env("W_ROHOPAY", s.rohopay)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap()).lines();
    Worker { child, out }
}

impl Worker {
    async fn wait_for_line(&mut self, prefix: &str) -> String {
        let deadline = Duration::from_secs(60);
        tokio::time::timeout(deadline, async {
            while let Some(line) = self.out.next_line().await.unwrap() {
                if line.starts_with(prefix) {
                    return line;
                }
            }
            panic!("the worker exited before printing `{prefix}`");
        })
        .await
        .unwrap_or_else(|_| panic!("no `{prefix}` from the worker within 60 s"))
    }

    /// SIGKILL: no destructor, no flush, no goodbye.
    async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    async fn finish(mut self) {
        self.wait_for_line("JW DONE").await;
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "worker failed: {status}");
    }
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Every business id paid once and recorded settled.
async fn assert_once<S: Store>(fake: &Fake, store: &S, prefix: &str, n: usize) {
    let (dups, _) = fake.duplicates_by_to();
    assert!(dups.is_empty(), "paid twice: {dups:?}");
    let created = fake.books.lock().unwrap().created_to.clone();
    let mut lost = Vec::new();
    for i in 0..n {
        let id = format!("{prefix}-{i}");
        let paid = created.iter().filter(|t| **t == id).count();
        let rec = store.get(&id).await.unwrap();
        if paid != 1 || rec.as_ref().map(|r| r.state) != Some(State::Settled) {
            lost.push(format!("{id}: paid {paid}x, {:?}", rec.map(|r| r.state)));
        }
    }
    assert!(lost.is_empty(), "lost or unsettled: {lost:?}");
}

fn kills_wanted() -> usize {
    std::env::var("PAYOUT_JOURNAL_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25)
}

/// A small xorshift, seeded from the clock and printed, so a failing run can be replayed.
struct Rng(u64);
impl Rng {
    fn new() -> Self {
        let seed = std::env::var("PAYOUT_JOURNAL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        println!("crash test seed: PAYOUT_JOURNAL_SEED={seed}");
        Rng(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_each_window_pays_once_on_sqlite() {
    let (fake, sb) = start().await;
    let dir = temp_dir("crash-windows");
    let db = dir.join("journal.db").display().to_string();
    let url = sb.base_url();

    // 1. After the intent is committed, before a byte is written.
    let mut w = spawn(&Spec {
        pause: "committed",
        ..spec(&url, "sqlite", &db, "committed", 1)
    });
    w.wait_for_line("JW PAUSED").await;
    w.kill().await;
    assert_eq!(
        sb.count("POST", "/payouts"),
        0,
        "nothing was written before the kill"
    );
    spawn(&spec(&url, "sqlite", &db, "committed", 1)).finish().await;

    // 2. After the request is written: the sandbox holds it (and processes it later).
    sb.fail_next_on("POST", "/payouts", 1, Fault::Delay(Duration::from_millis(800)));
    let before = sb.count("POST", "/payouts");
    let w = spawn(&spec(&url, "sqlite", &db, "written", 1));
    until("the request to arrive", || sb.count("POST", "/payouts") > before).await;
    w.kill().await;
    spawn(&spec(&url, "sqlite", &db, "written", 1)).finish().await;
    tokio::time::sleep(Duration::from_millis(900)).await; // the held request lands too

    // 3. After the answer, before the outcome is recorded.
    let mut w = spawn(&Spec {
        pause: "answered",
        ..spec(&url, "sqlite", &db, "answered", 1)
    });
    w.wait_for_line("JW PAUSED").await;
    w.kill().await;
    let posts = sb.count("POST", "/payouts");
    spawn(&spec(&url, "sqlite", &db, "answered", 1)).finish().await;
    assert_eq!(
        sb.count("POST", "/payouts"),
        posts,
        "settled by lookup, not sent again"
    );

    let store = SqliteStore::open(&db).await.unwrap();
    for p in ["committed", "written", "answered"] {
        assert_once(&fake, &store, p, 1).await;
    }
    println!("crash[sqlite/fakepay] windows: 3 kills (committed, written, answered), 0 duplicates, 0 lost");
}

async fn random_kills<S: Store>(fake: &Fake, url: &str, backend: &'static str, db: &str, store: &S) {
    let kills = kills_wanted();
    let n = kills * 4;
    let prefix = format!("rk-{backend}");
    let mut rng = Rng::new();
    let started = Instant::now();
    let (mut in_flight, mut open_intents) = (0, 0);
    for _ in 0..kills {
        let w = spawn(&Spec {
            concurrency: 2,
            ..spec(url, backend, db, &prefix, n)
        });
        tokio::time::sleep(Duration::from_millis(20 + rng.below(120))).await;
        w.kill().await;
        let open = store.unfinished().await.unwrap().len();
        if open > 0 {
            in_flight += 1;
            open_intents += open;
        }
    }
    spawn(&spec(url, backend, db, &prefix, n)).finish().await;
    assert_once(fake, store, &prefix, n).await;
    println!(
        "crash[{backend}/fakepay] random: {kills} SIGKILLs ({in_flight} left intents mid-payout, {open_intents} in all), {n} intents, 0 duplicates, 0 lost ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_instants_pays_once_on_sqlite() {
    let (fake, sb) = start().await;
    let dir = temp_dir("crash-random");
    let db = dir.join("journal.db").display().to_string();
    let store = SqliteStore::open(&db).await.unwrap();
    random_kills(&fake, &sb.base_url(), "sqlite", &db, &store).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_instants_pays_once_on_postgres() {
    let (fake, sb) = start().await;
    let db = fresh_postgres_db("random").await;
    let store = payout_journal::postgres::PgStore::connect(&db).await.unwrap();
    random_kills(&fake, &sb.base_url(), "postgres", &db, &store).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_postgres_create_each_of_1000_once() {
    let (fake, sb) = start().await;
    let db = fresh_postgres_db("two").await;
    let url = sb.base_url();
    let n = 1000;
    let base = spec(&url, "postgres", &db, "tw", n);
    let a = spawn(&Spec {
        concurrency: 8,
        ..spec(&url, "postgres", &db, "tw", n)
    });
    let b = spawn(&Spec {
        id: "worker-b",
        concurrency: 8,
        reverse: true,
        ..base
    });
    let mut rng = Rng::new();
    tokio::time::sleep(Duration::from_millis(300 + rng.below(700))).await;
    a.kill().await;
    // Worker A comes back under its own id and takes its leases back.
    spawn(&Spec {
        concurrency: 8,
        ..spec(&url, "postgres", &db, "tw", n)
    })
    .finish()
    .await;
    b.finish().await;
    let store = payout_journal::postgres::PgStore::connect(&db).await.unwrap();
    assert_once(&fake, &store, "tw", n).await;
    println!("crash[postgres/fakepay] two workers, {n} intents, 1 SIGKILL: 0 duplicates, 0 lost");
}

// ------------------------------------------------------------------ the provider crates

/// After random SIGKILLs against a provider crate's own sandbox, every business id is
/// settled (found by its key), failed (nothing created), or reported with its key; and the
/// sandbox created exactly as many objects as were found: 0 duplicates, 0 lost.
async fn provider_random_kills<C, E>(
    base: Spec,
    client: &C,
    db: &str,
    created: impl Fn() -> usize,
) -> (usize, usize)
where
    C: ApiClient,
    E: Reconcile + DeserializeOwned,
{
    let kills = kills_wanted();
    let n = kills * 2;
    let mut rng = Rng::new();
    let store = SqliteStore::open(db).await.unwrap();
    let started = Instant::now();
    let mut left_open = 0;
    for _ in 0..kills {
        let w = spawn(&Spec {
            concurrency: 2,
            n,
            ..base.clone()
        });
        tokio::time::sleep(Duration::from_millis(30 + rng.below(150))).await;
        w.kill().await;
        if !store.unfinished().await.unwrap().is_empty() {
            left_open += 1;
        }
    }
    spawn(&Spec { n, ..base }).finish().await;
    let (mut found, mut reported, mut lost) = (0, 0, Vec::new());
    for i in 0..n {
        let id = format!("{}-{i}", spec_prefix_of(db));
        let Some(rec) = store.get(&id).await.unwrap() else {
            lost.push(format!("{id}: not in the journal"));
            continue;
        };
        let req: E = serde_json::from_str(&rec.request).unwrap();
        // `Ok(None)` or a NotFound error both mean "absent" (the Reconcile contract).
        let obj = match req.lookup(client).await {
            Ok(o) => o,
            Err(e) if e.kind() == payout_core::ErrorKind::NotFound => None,
            Err(e) => panic!("{id}: lookup failed: {e}"),
        };
        match (rec.state, obj.is_some()) {
            (State::Settled, true) => found += 1,
            (State::Failed, false) => {}
            (State::Sent | State::Ambiguous | State::Recorded, exists) => {
                assert!(rec.key.is_some(), "{id} reported without its key");
                reported += 1;
                found += usize::from(exists);
            }
            (s, exists) => lost.push(format!("{id}: {s:?}, exists at the provider: {exists}")),
        }
    }
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert_eq!(
        created(),
        found,
        "the sandbox created objects no business id accounts for: duplicates"
    );
    println!(
        "crash[sqlite/{}] random: {kills} SIGKILLs ({left_open} left intents mid-payout), {n} intents, {found} paid once, {reported} reported for a decision, 0 duplicates, 0 lost ({:.1} s)",
        E::META.operation,
        started.elapsed().as_secs_f64()
    );
    (found, reported)
}

/// The crash tests name business ids `<db file stem>-<i>`.
fn spec_prefix_of(db: &str) -> String {
    std::path::Path::new(db)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn provider_spec(provider: &'static str, sandbox: String, key: &str, agent: &str, db: &str) -> Spec {
    Spec {
        provider,
        key: key.to_string(),
        agent: agent.to_string(),
        ..spec(&sandbox, "sqlite", db, &spec_prefix_of(db), 0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkills_against_the_rocheap_sandbox_never_pay_twice() {
    let sb = rocheap::sandbox::Sandbox::start().await.unwrap();
    sb.set_balance(rocheap::Decimal::from(1_000_000));
    let db = temp_dir("rocheap").join("rocheap.db").display().to_string();
    let base = provider_spec("rocheap", sb.base_url(), sb.api_key(), "", &db);
    let (found, _) =
        provider_random_kills::<_, rocheap::CreateOrder>(base, &sb.client(), &db, || sb.orders_created())
            .await;
    assert!(found > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkills_against_the_xrocket_sandbox_never_pay_twice() {
    let sb = xrocket::sandbox::Sandbox::start().await.unwrap();
    sb.set_balance("TONCOIN", xrocket::Decimal::from(1_000_000));
    let db = temp_dir("xrocket").join("xrocket.db").display().to_string();
    let base = provider_spec("xrocket", sb.base_url(), sb.api_key(), "", &db);
    let (found, reported) =
        provider_random_kills::<_, xrocket::CreateTransfer>(base, &sb.client(), &db, || {
            sb.transfers_created()
        })
        .await;
    assert_eq!(reported, 0, "key-protected: every intent settles");
    assert!(found > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkills_against_the_agent_catalog_sandbox_never_pay_twice() {
    let sb = agent_catalog::sandbox::Sandbox::start().await.unwrap();
    sb.set_balance("USD", agent_catalog::Decimal::from(1_000_000));
    let db = temp_dir("agent-catalog")
        .join("agentcatalog.db")
        .display()
        .to_string();
    let base = provider_spec("agent-catalog", sb.base_url(), sb.api_key(), sb.agent_id(), &db);
    let (found, reported) =
        provider_random_kills::<_, agent_catalog::CreateOrder>(base, &sb.client(), &db, || {
            sb.orders_created()
        })
        .await;
    assert_eq!(reported, 0, "key-protected: every intent settles");
    assert!(found > 0);
}

// ------------------------------------------------------------------ RohoPay (no lookup: re-sent with its key)

/// The live wallet the RohoPay sandbox starts with: every disbursement debits it once
/// (nothing is advanced, so nothing is credited or refunded).
const ROHOPAY_FLOAT: u64 = 1_000_000_000;

async fn rohopay_sandbox() -> rohopay::sandbox::Sandbox {
    let sb = rohopay::sandbox::Sandbox::start().await.unwrap();
    sb.set_balance_live(ROHOPAY_FLOAT);
    // RohoPay allows 30 checkouts and 100 collections a minute; hundreds of restarts would
    // wait the minute out. The limits are not what this test is about.
    sb.set_rate_window(Duration::from_millis(1));
    sb
}

fn rohopay_spec(
    url: &str,
    backend: &'static str,
    db: &str,
    prefix: &str,
    n: usize,
    mode: &'static str,
) -> Spec {
    Spec {
        provider: "rohopay",
        key: rohopay::sandbox::SANDBOX_LIVE_KEY.to_string(),
        rohopay: mode,
        ..spec(url, backend, db, prefix, n)
    }
}

/// What the sandbox's record and the journal say about business ids `<prefix>-0..n`.
#[derive(Debug, Default)]
struct RohoCount {
    settled: usize,
    reported: usize,
    /// Transactions the sandbox created for these business ids.
    created: usize,
    /// What the live wallet must have been debited for them: each disbursement's amount and
    /// its 1 % commission, once.
    debited: u64,
}

/// Counts from RohoPay's sandbox record (one transaction per `Idempotency-Key`, its
/// description the business id) and from the journal. Fails on any key holding two
/// transactions, any business id paid twice, any business id missing from the journal, a
/// settled intent without exactly one transaction under its recorded key, or a failed intent
/// that created one.
async fn assert_rohopay_once<S: Store>(
    sb: &rohopay::sandbox::Sandbox,
    store: &S,
    mode: &str,
    prefix: &str,
    n: usize,
) -> RohoCount {
    let record = sb.transactions_with_keys();
    let mut per_key: std::collections::HashMap<Option<&str>, usize> = Default::default();
    for (k, _) in &record {
        *per_key.entry(k.as_deref()).or_default() += 1;
    }
    let twice: Vec<_> = per_key.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "one key, two transactions: {twice:?}");
    assert!(
        !per_key.contains_key(&None),
        "a transaction created without a key"
    );
    let mut c = RohoCount::default();
    let (mut dups, mut lost) = (Vec::new(), Vec::new());
    for i in 0..n {
        let id = format!("{prefix}-{i}");
        let txs: Vec<_> = record
            .iter()
            .filter(|(_, tx)| tx.description.as_deref() == Some(id.as_str()))
            .collect();
        if txs.len() > 1 {
            dups.push(format!("{id}: {} transactions", txs.len()));
        }
        c.created += txs.len();
        let Some(rec) = store.get(&id).await.unwrap() else {
            lost.push(format!("{id}: not in the journal"));
            continue;
        };
        match rec.state {
            State::Settled => {
                let result = rec.result.clone().unwrap_or_default();
                let ok = txs.len() == 1
                    && txs[0].0 == rec.key
                    && result.contains(txs[0].1.internal_reference.as_str());
                if !ok {
                    lost.push(format!(
                        "{id}: settled, but {} transactions under its key",
                        txs.len()
                    ));
                }
                c.settled += 1;
                if rohopay_kind(mode, i) == "disburse" && txs.len() == 1 {
                    let amount = rohopay_amount(i);
                    c.debited += amount + amount * rohopay::sandbox::COMMISSION_PERCENT / 100;
                }
            }
            State::Failed if txs.is_empty() => {}
            State::Sent | State::Ambiguous | State::Recorded => {
                assert!(rec.key.is_some(), "{id} reported without its key");
                c.reported += 1;
            }
            s => lost.push(format!("{id}: {s:?} with {} transactions", txs.len())),
        }
    }
    assert!(dups.is_empty(), "paid twice: {dups:?}");
    assert!(lost.is_empty(), "lost: {lost:?}");
    c
}

/// Every request the sandbox received for `path` with business id `id` in its body, and the
/// `Idempotency-Key` each carried.
fn rohopay_keys_sent(sb: &rohopay::sandbox::Sandbox, path: &str, id: &str) -> Vec<Option<String>> {
    let needle = format!("\"{id}\"");
    sb.server()
        .requests()
        .iter()
        .filter(|r| r.path == path && String::from_utf8_lossy(&r.body).contains(&needle))
        .map(|r| r.header("idempotency-key").map(str::to_string))
        .collect()
}

/// RohoPay's disburse, collect and checkout, each killed at the three windows. RohoPay
/// cannot be asked whether a key was used, so every restart re-sends with the recorded key
/// (a checkout from the original request: its card is masked in the journal) and RohoPay
/// replays its first answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_each_window_pays_rohopay_once_on_sqlite() {
    let sb = rohopay_sandbox().await;
    let db = temp_dir("rohopay-windows")
        .join("journal.db")
        .display()
        .to_string();
    let url = sb.base_url();
    let posts = |path: &str| sb.server().count("POST", path);
    let mut kills = 0;
    let mut debited = 0;
    for mode in ["disburse", "collect", "checkout"] {
        let path = format!("/api/v1/{mode}");
        let base = |window: &str| rohopay_spec(&url, "sqlite", &db, &format!("{window}-{mode}"), 1, mode);

        // 1. After the intent is committed, before a byte is written.
        let mut w = spawn(&Spec {
            pause: "committed",
            ..base("committed")
        });
        w.wait_for_line("JW PAUSED").await;
        let before = posts(&path);
        w.kill().await;
        assert_eq!(posts(&path), before, "{mode}: nothing written before the kill");
        spawn(&base("committed")).finish().await;
        assert_eq!(posts(&path), before + 1, "{mode}: sent once, after the restart");

        // 2. After the request is written: the sandbox holds it for 400 ms, then processes it.
        sb.server()
            .fail_next_on("POST", &path, 1, Fault::Delay(Duration::from_millis(400)));
        let before = posts(&path);
        let w = spawn(&base("written"));
        until("the request to arrive", || posts(&path) > before).await;
        w.kill().await;
        spawn(&base("written")).finish().await;
        tokio::time::sleep(Duration::from_millis(500)).await; // the held request lands too
        let keys = rohopay_keys_sent(&sb, &path, &format!("written-{mode}-0"));
        assert_eq!(keys.len(), 2, "{mode}: the held request and one re-send");
        assert!(
            keys[0].is_some() && keys[0] == keys[1],
            "{mode}: the same key: {keys:?}"
        );

        // 3. After the answer arrived, before the outcome is recorded.
        let mut w = spawn(&Spec {
            pause: "answered",
            ..base("answered")
        });
        w.wait_for_line("JW PAUSED").await;
        w.kill().await;
        let (before, created) = (posts(&path), sb.transactions_created());
        spawn(&base("answered")).finish().await;
        assert_eq!(posts(&path), before + 1, "{mode}: re-sent once with its key");
        assert_eq!(
            sb.transactions_created(),
            created,
            "{mode}: RohoPay replayed the first answer, nothing new"
        );
        kills += 3;

        let store = SqliteStore::open(&db).await.unwrap();
        for window in ["committed", "written", "answered"] {
            let c = assert_rohopay_once(&sb, &store, mode, &format!("{window}-{mode}"), 1).await;
            assert_eq!(
                (c.settled, c.created, c.reported),
                (1, 1, 0),
                "{window}-{mode}: {c:?}"
            );
            debited += c.debited;
        }
    }
    assert_eq!(sb.transactions_created(), 9, "one transaction per business id");
    assert_eq!(
        sb.balance_live(),
        ROHOPAY_FLOAT - debited,
        "each disbursement debited once"
    );
    println!(
        "crash[sqlite/rohopay] windows: {kills} kills (committed, written, answered x disburse, collect, checkout), 9 intents, 9 settled, 0 duplicates, 0 lost"
    );
}

/// Random SIGKILLs while a worker pays RohoPay disbursements, collections and card
/// checkouts (by index, `i % 3`): afterwards the sandbox holds each key once, every business
/// id has exactly one transaction, and the journal has every one settled.
async fn rohopay_random_kills<S: Store>(backend: &'static str, db: &str, store: &S) {
    let sb = rohopay_sandbox().await;
    let kills = kills_wanted();
    let n = kills * 3;
    let prefix = format!("rohopay-{backend}");
    let base = rohopay_spec(&sb.base_url(), backend, db, &prefix, n, "mixed");
    let mut rng = Rng::new();
    // RohoPay holds every request 5 to 50 ms before processing it, and processes it even
    // when the worker is dead by then: many kills land with a request written and
    // unanswered, the window where a re-send must be replayed, not paid again.
    let delays = (1..=10).map(|k| Fault::Delay(Duration::from_millis(5 * k)));
    sb.server()
        .random_faults(100, rng.below(1 << 32), delays.collect());
    let started = Instant::now();
    let mut left_open = 0;
    for _ in 0..kills {
        let w = spawn(&Spec {
            concurrency: 2,
            ..base.clone()
        });
        tokio::time::sleep(Duration::from_millis(30 + rng.below(150))).await;
        w.kill().await;
        if !store.unfinished().await.unwrap().is_empty() {
            left_open += 1;
        }
    }
    spawn(&base).finish().await;
    tokio::time::sleep(Duration::from_millis(150)).await; // requests a dead worker left held
    let c = assert_rohopay_once(&sb, store, "mixed", &prefix, n).await;
    assert_eq!(c.reported, 0, "key-protected: every intent settles: {c:?}");
    assert_eq!(c.settled, n, "{c:?}");
    assert_eq!(
        c.created, c.settled,
        "created transactions = settled intents: {c:?}"
    );
    assert_eq!(sb.transactions_created(), n, "nothing created for no business id");
    assert_eq!(
        sb.balance_live(),
        ROHOPAY_FLOAT - c.debited,
        "each disbursement debited once"
    );
    let sent: usize = ["disburse", "collect", "checkout"]
        .iter()
        .map(|m| sb.server().count("POST", &format!("/api/v1/{m}")))
        .sum();
    println!(
        "crash[{backend}/rohopay] random: {kills} SIGKILLs ({left_open} left intents mid-payout), {n} intents (disburse, collect, checkout), {} settled, {sent} POSTs for {} transactions ({} re-sent with the same key and replayed), 0 duplicates, 0 lost ({:.1} s)",
        c.settled,
        c.created,
        sent - c.created,
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkills_against_the_rohopay_sandbox_never_pay_twice_on_sqlite() {
    let db = temp_dir("rohopay-random")
        .join("journal.db")
        .display()
        .to_string();
    let store = SqliteStore::open(&db).await.unwrap();
    rohopay_random_kills("sqlite", &db, &store).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkills_against_the_rohopay_sandbox_never_pay_twice_on_postgres() {
    let db = fresh_postgres_db("rohopay").await;
    let store = payout_journal::postgres::PgStore::connect(&db).await.unwrap();
    rohopay_random_kills("postgres", &db, &store).await;
}
