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

mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use payout_core::ReconcilePolicy;
use payout_core::sandbox::Fault;
use payout_journal::sqlite::SqliteStore;
use payout_journal::{Checkpoint, Journal, State, Store};
use support::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

const WORKER_ENV: &str = "PAYOUT_JOURNAL_CRASH_WORKER";

// ------------------------------------------------------------------ the worker process

/// Not a test: the worker process the crash tests start (this binary, re-executed).
#[test]
#[ignore = "the crash tests' worker process; they start it themselves"]
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
    let client = Arc::new(FakeClient::new(&var("W_SANDBOX")));
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
            work(configure(j, hook), client, ids, concurrency).await
        }
        #[cfg(feature = "postgres")]
        "postgres" => {
            let j = Journal::new(payout_journal::postgres::PgStore::connect(&db).await.unwrap());
            work(configure(j, hook), client, ids, concurrency).await
        }
        other => panic!("unknown backend {other}"),
    }
}

fn configure<S: Store>(j: Journal<S>, hook: impl Fn(Checkpoint, &str) + Send + Sync + 'static) -> Journal<S> {
    j.worker_id(var("W_ID"))
        .reconcile_policy(ReconcilePolicy::once())
        .checkpoint_hook(hook)
}

async fn work<S: Store>(j: Journal<S>, client: Arc<FakeClient>, ids: Vec<String>, concurrency: usize) {
    let j = Arc::new(j);
    let report = j.recover::<FakeClient, CreatePayout>(&client).await.unwrap();
    println!("JW RECOVERED {} {:?}", report.len(), report);
    let mut todo = ids;
    for round in 0.. {
        let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let mut set = tokio::task::JoinSet::new();
        for id in todo.clone() {
            let (j, client, sem) = (j.clone(), client.clone(), sem.clone());
            set.spawn(async move {
                let _permit = sem.acquire_owned().await.unwrap();
                // A fresh key each time: the journal keeps the first one.
                let req = CreatePayout::new(&uuid::Uuid::new_v4().to_string(), &id, 1);
                (id.clone(), j.pay(&*client, &id, &req).await)
            });
        }
        let mut again = Vec::new();
        while let Some(r) = set.join_next().await {
            let (id, res) = r.unwrap();
            if let Err(e) = res {
                assert!(
                    e.is_unresolved()
                        || e.payout()
                            .is_some_and(|p| p.is_retryable() || p.may_have_succeeded()),
                    "{id}: {e}"
                );
                again.push(id);
            }
        }
        if again.is_empty() {
            break;
        }
        assert!(round < 100, "still unresolved after 100 rounds: {again:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = j.recover::<FakeClient, CreatePayout>(&client).await.unwrap();
        todo = again;
    }
    println!("JW DONE");
}

// ------------------------------------------------------------------ the test side

struct Spec {
    sandbox: String,
    backend: &'static str,
    db: String,
    prefix: String,
    n: usize,
    id: &'static str,
    pause: &'static str,
    concurrency: usize,
    reverse: bool,
}

fn spec(sandbox: &str, backend: &'static str, db: &str, prefix: &str, n: usize) -> Spec {
    Spec {
        sandbox: sandbox.to_string(),
        backend,
        db: db.to_string(),
        prefix: prefix.to_string(),
        n,
        id: "worker-a",
        pause: "",
        concurrency: 1,
        reverse: false,
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
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(WORKER_ENV, "1")
        .env("W_SANDBOX", &s.sandbox)
        .env("W_BACKEND", s.backend)
        .env("W_DB", &s.db)
        .env("W_PREFIX", &s.prefix)
        .env("W_N", s.n.to_string())
        .env("W_ID", s.id)
        .env("W_PAUSE", s.pause)
        .env("W_CONCURRENCY", s.concurrency.to_string())
        .env("W_REVERSE", if s.reverse { "1" } else { "0" })
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
