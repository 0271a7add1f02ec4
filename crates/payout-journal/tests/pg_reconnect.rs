//! The PostgreSQL journal's pool against a real server (`PAYOUT_TEST_POSTGRES_URL`, provided
//! by `cargo xtask test` / `cargo xtask with-services`; these tests fail, never skip, without
//! it): the journal's connections killed between payouts and during them, a commit whose answer
//! is lost (through a loopback proxy that swallows it), many tasks on one journal, and a pool of
//! one. Every test counts the payouts in the sandbox's own books: each business id paid once.
#![cfg(feature = "postgres")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use payout_core::ReconcilePolicy;
use payout_journal::postgres::{PgOptions, PgStore, record_in, tokio_postgres};
use payout_journal::{Checkpoint, Journal, State};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ------------------------------------------------------------------ helpers

/// A connection to the test server's admin database (not the journal's).
async fn admin() -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PAYOUT_TEST_POSTGRES_URL: {e}"));
    tokio::spawn(conn);
    c
}

/// The database name in a URL made by `fresh_postgres_db`.
fn db_name(url: &str) -> String {
    match url.rsplit_once(" dbname=") {
        Some((_, db)) => db.to_string(),
        None => url.rsplit('/').next().unwrap_or_default().to_string(),
    }
}

/// Terminates every server-side connection to `db` (the journal's), from the admin
/// connection; returns how many were terminated. Does not wait for them to go away.
async fn kill_connections(admin: &tokio_postgres::Client, db: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&db],
        )
        .await
        .unwrap()
        .get(0)
}

/// The server-side connections to `db` now.
async fn connections(admin: &tokio_postgres::Client, db: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&db],
        )
        .await
        .unwrap()
        .get(0)
}

/// The pids of `db`'s connections waiting on a lock.
async fn lock_waiters(admin: &tokio_postgres::Client, db: &str) -> Vec<i32> {
    admin
        .query(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
            &[&db],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn wait_for_lock_waiter(admin: &tokio_postgres::Client, db: &str, not: Option<i32>) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(pid) = lock_waiters(admin, db)
            .await
            .into_iter()
            .find(|p| Some(*p) != not)
        {
            return pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no journal statement waited on the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn store(url: &str, options: PgOptions) -> Journal<PgStore> {
    Journal::new(PgStore::connect_with(url, options).await.unwrap()).reconcile_policy(ReconcilePolicy::once())
}

/// Each business id (the recipient in these tests) paid exactly once, `n` paid in all.
fn assert_paid_once(fake: &Fake, n: usize) {
    let (dups, paid) = fake.duplicates_by_to();
    assert!(dups.is_empty(), "paid twice: {dups:?}");
    assert!(fake.duplicates().is_empty(), "a key created twice");
    assert_eq!(paid, n, "payouts made");
}

async fn assert_all_settled(j: &Journal<PgStore>, ids: &[String]) {
    assert!(
        j.unfinished().await.unwrap().is_empty(),
        "an intent left unfinished"
    );
    for id in ids {
        let rec = j.get(id).await.unwrap().unwrap_or_else(|| panic!("{id} lost"));
        assert_eq!(rec.state, State::Settled, "{id}");
    }
}

/// A loopback TCP proxy in front of PostgreSQL that, when armed with a command tag
/// (`INSERT 0 1`, `UPDATE 1`), swallows the first server answer carrying it and cuts that
/// connection: the statement committed and its answer never arrives (a proxy or network cut
/// at the worst instant).
struct Proxy {
    port: u16,
    armed: Arc<std::sync::Mutex<Option<&'static [u8]>>>,
    cuts: Arc<std::sync::atomic::AtomicUsize>,
}

impl Proxy {
    async fn start(upstream_port: u16) -> Proxy {
        Self::start_on(0, upstream_port).await
    }

    /// On `port` (0: any free one).
    async fn start_on(port: u16, upstream_port: u16) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed: Arc<std::sync::Mutex<Option<&'static [u8]>>> = Arc::default();
        let cuts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (a, k) = (armed.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(("127.0.0.1", upstream_port)).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let stop = Arc::new(AtomicBool::new(false));
                let stop2 = stop.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 || stop2.load(Ordering::SeqCst) || sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                let (a, k) = (a.clone(), k.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let cut = {
                            let mut armed = a.lock().unwrap();
                            match *armed {
                                Some(tag) if buf[..n].windows(tag.len()).any(|w| w == tag) => {
                                    *armed = None;
                                    true
                                }
                                _ => false,
                            }
                        };
                        if cut {
                            k.fetch_add(1, Ordering::SeqCst);
                            stop.store(true, Ordering::SeqCst);
                            break; // both halves dropped: the client sees the socket close
                        }
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = cw.shutdown().await;
                });
            }
        });
        Proxy { port, armed, cuts }
    }

    fn arm(&self, tag: &'static [u8]) {
        *self.armed.lock().unwrap() = Some(tag);
    }

    fn cuts(&self) -> usize {
        self.cuts.load(Ordering::SeqCst)
    }

    /// `url` (made by `fresh_postgres_db`) pointed at the proxy.
    fn url(&self, url: &str) -> String {
        let (before, after) = url.split_once('@').expect("a postgres:// URL");
        let (_, path) = after.split_once('/').expect("a postgres:// URL with a database");
        format!("{before}@127.0.0.1:{}/{path}", self.port)
    }
}

fn upstream_port(url: &str) -> u16 {
    let after = url.split_once('@').expect("a postgres:// URL").1;
    let hostport = after.split('/').next().unwrap();
    hostport.rsplit(':').next().unwrap().parse().unwrap()
}

// ------------------------------------------------------------------ (1) killed between payouts

#[tokio::test]
async fn every_connection_killed_between_payouts_the_next_pay_succeeds_once() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let url = fresh_postgres_db("pgkill").await;
    let db = db_name(&url);
    let admin = admin().await;
    let j = store(&url, PgOptions::default().pool_size(2)).await;
    let mut ids = vec!["order-0".to_string()];
    let first = j
        .pay(&client, "order-0", &CreatePayout::new("k-0", "order-0", 5))
        .await
        .unwrap();
    for round in 1..=5 {
        let killed = kill_connections(&admin, &db).await;
        assert!(
            killed >= 1,
            "round {round}: the journal had no connection to kill"
        );
        if round % 2 == 0 {
            // And once they are really gone, too (the other rounds pay at once, while the
            // server may still be ending them).
            while connections(&admin, &db).await > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let id = format!("order-{round}");
        j.pay(&client, &id, &CreatePayout::new(&format!("k-{round}"), &id, 5))
            .await
            .unwrap_or_else(|e| panic!("round {round}: the pay after the kill failed: {e}"));
        ids.push(id);
    }
    // Asked again after one more kill: the recorded payout, nothing sent.
    kill_connections(&admin, &db).await;
    let again = j
        .pay(&client, "order-0", &CreatePayout::new("k-new", "order-0", 5))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_paid_once(&fake, 6);
    assert_eq!(sb.count("POST", "/payouts"), 6, "one request per payout");
    assert_all_settled(&j, &ids).await;
    let status = j.store().pool_status();
    assert!(status.dropped >= 5, "{status:?}");
    assert!(
        status.opened >= 7,
        "a new connection after every kill: {status:?}"
    );
}

// ------------------------------------------------------------------ (2) killed during a payout

/// Terminates the journal's connections from inside the journal's checkpoint hook (after
/// the intent's commit, and after the provider's answer, before the outcome is recorded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_mid_payout_each_intent_settles_once() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let url = fresh_postgres_db("pgmid").await;
    let db = db_name(&url);
    let admin = Arc::new(admin().await);
    let (a, d) = (admin.clone(), db.clone());
    let j = store(&url, PgOptions::default().pool_size(2))
        .await
        .checkpoint_hook(move |at, id| {
            let kill = (at == Checkpoint::Committed && id.starts_with("committed"))
                || (at == Checkpoint::Answered && id.starts_with("answered"));
            if kill {
                let (a, d) = (a.clone(), d.clone());
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(async move {
                        assert!(kill_connections(&a, &d).await >= 1);
                    })
                });
            }
        });
    let ids: Vec<String> = ["committed-1", "answered-1", "committed-2", "answered-2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for id in &ids {
        j.pay(&client, id, &CreatePayout::new(&format!("k-{id}"), id, 7))
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
    }
    assert_paid_once(&fake, ids.len());
    assert_eq!(sb.count("POST", "/payouts"), ids.len());
    assert_all_settled(&j, &ids).await;
    assert!(j.store().pool_status().dropped >= 4);
}

/// The journal's own statement is in flight (waiting on a lock another session holds) when
/// its connection is terminated: the statement dies with it, is repeated on a new
/// connection, and the payout is made once. Once for the intent's insert, once for the
/// outcome's update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_statement_killed_in_flight_is_repeated_and_pays_once() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let url = fresh_postgres_db("pginflight").await;
    let db = db_name(&url);
    let admin = admin().await;
    let j = Arc::new(store(&url, PgOptions::default()).await);
    // The locker holds a lock that blocks the journal's writes (reads still pass).
    let locker = Arc::new({
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        c
    });
    let lock = "BEGIN; LOCK TABLE payout_intents IN EXCLUSIVE MODE";

    // The insert.
    locker.batch_execute(lock).await.unwrap();
    let (j2, c2) = (j.clone(), client);
    let pay = tokio::spawn(async move {
        let r = j2
            .pay(&c2, "insert-1", &CreatePayout::new("k-i", "insert-1", 3))
            .await;
        (r, c2)
    });
    let first = wait_for_lock_waiter(&admin, &db, None).await;
    admin
        .execute("SELECT pg_terminate_backend($1)", &[&first])
        .await
        .unwrap();
    // The repeat, on a new connection, waits for the same lock: release it.
    wait_for_lock_waiter(&admin, &db, Some(first)).await;
    locker.batch_execute("COMMIT").await.unwrap();
    let (r, client) = pay.await.unwrap();
    r.unwrap();

    // The outcome: the lock is taken after the provider answered, before it is recorded.
    let l2 = locker.clone();
    let j = Arc::new(Arc::try_unwrap(j).unwrap().checkpoint_hook(move |at, id| {
        if at == Checkpoint::Answered && id == "finish-1" {
            let l2 = l2.clone();
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current()
                    .block_on(async move { l2.batch_execute(lock).await.unwrap() })
            });
        }
    }));
    let j2 = j.clone();
    let pay = tokio::spawn(async move {
        j2.pay(&client, "finish-1", &CreatePayout::new("k-f", "finish-1", 3))
            .await
    });
    let first = wait_for_lock_waiter(&admin, &db, None).await;
    admin
        .execute("SELECT pg_terminate_backend($1)", &[&first])
        .await
        .unwrap();
    wait_for_lock_waiter(&admin, &db, Some(first)).await;
    locker.batch_execute("COMMIT").await.unwrap();
    pay.await.unwrap().unwrap();

    assert_paid_once(&fake, 2);
    assert_eq!(sb.count("POST", "/payouts"), 2);
    assert_all_settled(&j, &["insert-1".to_string(), "finish-1".to_string()]).await;
}

/// The worst instant: the journal's write commits and its answer is lost (the proxy swallows
/// it and cuts the connection). The insert's repeat finds the intent it recorded, so `pay`
/// looks the payout up before sending it (a `GET` before the only `POST`); the outcome's
/// repeat finds the outcome recorded. With repeats turned off, the call fails saying the
/// intent may have been recorded and nothing was sent, and `recover` finds it unfinished and
/// settles it: never lost, never sent twice.
#[tokio::test]
async fn a_commit_whose_answer_is_lost_is_resolved_once() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let url = fresh_postgres_db("pglost").await;
    let proxy = Arc::new(Proxy::start(upstream_port(&url)).await);
    let via = proxy.url(&url);

    // The insert's answer is lost; its repeat sees the intent recorded.
    let j = store(&via, PgOptions::default().pool_size(1)).await;
    proxy.arm(b"INSERT 0 1");
    sb.clear_requests();
    j.pay(
        &client,
        "lost-insert",
        &CreatePayout::new("k-li", "lost-insert", 4),
    )
    .await
    .unwrap();
    assert_eq!(proxy.cuts(), 1, "the proxy cut the insert's answer");
    let methods: Vec<String> = sb.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["GET", "POST"], "looked up before the only send");

    // The outcome's answer is lost; its repeat finds it recorded.
    let p = proxy.clone();
    let j = j.checkpoint_hook(move |at, id| {
        if at == Checkpoint::Answered && id == "lost-finish" {
            p.arm(b"UPDATE 1");
        }
    });
    j.pay(
        &client,
        "lost-finish",
        &CreatePayout::new("k-lf", "lost-finish", 4),
    )
    .await
    .unwrap();
    assert_eq!(proxy.cuts(), 2, "the proxy cut the outcome's answer");

    // No repeats: the call says what happened, and recover resolves it.
    let once = store(&via, PgOptions::default().pool_size(1).statement_attempts(1)).await;
    proxy.arm(b"INSERT 0 1");
    let err = once
        .pay(&client, "lost-once", &CreatePayout::new("k-lo", "lost-once", 4))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, payout_journal::Error::Storage(_)), "{err:?}");
    assert!(
        msg.contains("connection lost while recording the intent"),
        "{msg}"
    );
    assert!(msg.contains("may or may not have been recorded"), "{msg}");
    assert!(msg.contains("Nothing was sent"), "{msg}");
    assert_eq!(sb.count("POST", "/payouts"), 2, "nothing sent for lost-once");
    let open = once.unfinished().await.unwrap();
    assert_eq!(
        open.len(),
        1,
        "the committed intent is found unfinished: {open:?}"
    );
    assert_eq!(open[0].business_id, "lost-once");
    let report = once.recover::<_, CreatePayout>(&client).await.unwrap();
    assert_eq!(report.resent, vec!["lost-once".to_string()], "{report:?}");

    // An unprotected call whose insert answer was lost is never sent: it needs a decision.
    proxy.arm(b"INSERT 0 1");
    let err = j
        .pay_unprotected(
            &client,
            "lost-order",
            &CreateOrder {
                to: "lost-order".into(),
                amount: 4,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, payout_journal::Error::NeedsDecision { .. }),
        "{err:?}"
    );
    assert_eq!(
        sb.count("POST", "/orders"),
        0,
        "an unprotected call is never sent blind"
    );

    assert_eq!(proxy.cuts(), 4);
    assert_paid_once(&fake, 3);
    assert_eq!(sb.count("POST", "/payouts"), 3);
    let ids = ["lost-insert", "lost-finish", "lost-once"].map(String::from);
    for id in &ids {
        assert_eq!(j.get(id).await.unwrap().unwrap().state, State::Settled, "{id}");
    }
}

/// Kills at random instants while payouts run: a payout either succeeds, or fails with an
/// error; paying the failed ones again and recovering settles every one, once.
#[tokio::test]
async fn kills_at_random_instants_never_lose_or_double_a_payout() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let url = fresh_postgres_db("pgstorm").await;
    let db = db_name(&url);
    let admin = admin().await;
    let j = Arc::new(store(&url, PgOptions::default().pool_size(3)).await);
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let killer = tokio::spawn(async move {
        let mut kills = 0u32;
        let mut i = 0u64;
        while !s.load(Ordering::SeqCst) {
            // 3 to 17 ms apart: often inside a statement or a payout.
            i = i
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            tokio::time::sleep(Duration::from_millis(3 + (i >> 33) % 15)).await;
            if kill_connections(&admin, &db).await > 0 {
                kills += 1;
            }
        }
        kills
    });
    let n = 60;
    let ids: Vec<String> = (0..n).map(|i| format!("storm-{i}")).collect();
    let mut tasks = Vec::new();
    for chunk in ids.chunks(15) {
        let (j, chunk, base) = (j.clone(), chunk.to_vec(), sb.base_url());
        tasks.push(tokio::spawn(async move {
            let client = FakeClient::new(&base);
            let mut failed = Vec::new();
            for id in chunk {
                if let Err(e) = j
                    .pay(&client, &id, &CreatePayout::new(&format!("k-{id}"), &id, 1))
                    .await
                {
                    failed.push((id, e.to_string()));
                }
            }
            failed
        }));
    }
    let mut failed = Vec::new();
    for t in tasks {
        failed.extend(t.await.unwrap());
    }
    stop.store(true, Ordering::SeqCst);
    let kills = killer.await.unwrap();
    assert!(kills >= 3, "the killer ran: {kills} kills");
    eprintln!(
        "{kills} kills during {n} payouts; {} call(s) failed and were paid again",
        failed.len()
    );
    for (id, e) in &failed {
        eprintln!("  {id}: {e}");
    }
    // The failed calls, again with the same business id (a fresh key, as a caller would).
    for (id, _) in &failed {
        let r = j
            .pay(&client, id, &CreatePayout::new(&format!("again-{id}"), id, 1))
            .await;
        if let Err(e) = r {
            assert!(e.is_unresolved(), "{id}: {e}");
        }
    }
    let report = j.recover::<_, CreatePayout>(&client).await.unwrap();
    assert!(report.still_ambiguous.is_empty(), "{report:?}");
    assert_paid_once(&fake, n);
    assert_all_settled(&j, &ids).await;
}

// ------------------------------------------------------------------ (3) many tasks

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_pay_at_once_on_several_connections() {
    let (fake, sb) = start().await;
    let admin = admin().await;
    let n = 64;
    // The same 64 concurrent payouts on a pool of 1 (the old single connection's queue) and
    // on a pool of 4; the times are printed, not asserted (the machine is shared).
    let mut took = Vec::new();
    for size in [1, 4] {
        let url = fresh_postgres_db(&format!("pgmany{size}")).await;
        let db = db_name(&url);
        let j = Arc::new(store(&url, PgOptions::default().pool_size(size)).await);
        let t = Instant::now();
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let (j, base) = (j.clone(), sb.base_url());
                tokio::spawn(async move {
                    let client = FakeClient::new(&base);
                    let id = format!("many{size}-{i}");
                    j.pay(&client, &id, &CreatePayout::new(&format!("k{size}-{i}"), &id, 2))
                        .await
                        .map(|_| id)
                })
            })
            .collect();
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(t.await.unwrap().unwrap());
        }
        took.push(t.elapsed());
        let status = j.store().pool_status();
        eprintln!(
            "{n} concurrent payouts, pool of {size}: {:?}; {status:?}",
            t.elapsed()
        );
        assert!(
            status.peak_in_use <= size && status.opened as usize <= size,
            "{status:?}"
        );
        assert_all_settled(&j, &ids).await;
        if size > 1 {
            assert!(
                status.peak_in_use > 1,
                "more than one connection in use at once: {status:?}"
            );
            let open = connections(&admin, &db).await;
            assert!((2..=4).contains(&open), "{open} server-side connections");
        }
    }
    eprintln!(
        "pool of 4 against pool of 1: {:.2}x the throughput",
        took[0].as_secs_f64() / took[1].as_secs_f64()
    );
    assert_paid_once(&fake, 2 * n);
}

/// One task's statement waits on a lock (here: the same business id, recorded by a user's
/// outbox transaction that has not committed yet). On one connection every other task would
/// queue behind it; on the pool they pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_waiting_on_a_lock_does_not_hold_up_other_tasks() {
    let (fake, sb) = start().await;
    let client = Arc::new(FakeClient::new(&sb.base_url()));
    let url = fresh_postgres_db("pghol").await;
    let db = db_name(&url);
    let admin = admin().await;
    let j = Arc::new(store(&url, PgOptions::default().pool_size(2)).await);
    let (mut user, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let tx = user.transaction().await.unwrap();
    let req = CreatePayout::new("k-held", "held", 8);
    assert!(record_in::<FakeClient, _>(&tx, "held", &req).await.unwrap());
    let (j2, c2, r2) = (j.clone(), client.clone(), req.clone());
    let held = tokio::spawn(async move { j2.pay(&*c2, "held", &r2).await });
    wait_for_lock_waiter(&admin, &db, None).await;
    // Another task pays meanwhile, on the pool's other connection.
    tokio::time::timeout(
        Duration::from_secs(10),
        j.pay(&*client, "other", &CreatePayout::new("k-other", "other", 8)),
    )
    .await
    .expect("the other payout queued behind the waiting statement")
    .unwrap();
    assert!(!held.is_finished());
    // The user's transaction commits: the waiting pay finds the recorded intent and sends it.
    tx.commit().await.unwrap();
    held.await.unwrap().unwrap();
    assert_paid_once(&fake, 2);
    assert_all_settled(&j, &["held".to_string(), "other".to_string()]).await;
}

// ------------------------------------------------------------------ (4) a pool of one

#[tokio::test]
async fn a_pool_of_one_serves_many_tasks_recovers_and_reconnects() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let url = fresh_postgres_db("pgone").await;
    let db = db_name(&url);
    let admin = admin().await;
    let j = Arc::new(store(&url, PgOptions::default().pool_size(1)).await);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (j, base) = (j.clone(), sb.base_url());
            tokio::spawn(async move {
                let client = FakeClient::new(&base);
                let id = format!("one-{i}");
                j.pay(&client, &id, &CreatePayout::new(&format!("k-{i}"), &id, 2))
                    .await
                    .map(|_| id)
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap());
    }
    // An unknown outcome, then recover (claim_batch, lookups and outcomes on one connection).
    sb.fail_next_on("POST", "/payouts", 3, payout_core::sandbox::Fault::DropAfterRead);
    assert!(
        j.pay(&client, "one-amb", &CreatePayout::new("k-amb", "one-amb", 2))
            .await
            .is_err()
    );
    let report = j.recover::<_, CreatePayout>(&client).await.unwrap();
    assert_eq!(report.resent, vec!["one-amb".to_string()], "{report:?}");
    ids.push("one-amb".into());
    // Killed, then paid again at once.
    assert_eq!(kill_connections(&admin, &db).await, 1);
    j.pay(
        &client,
        "one-after",
        &CreatePayout::new("k-after", "one-after", 2),
    )
    .await
    .unwrap();
    ids.push("one-after".into());
    // The outbox through a pooled connection's transaction, then dispatched.
    {
        let mut c = j.store().connection().await.unwrap();
        let tx = c.transaction().await.unwrap();
        assert!(
            record_in::<FakeClient, _>(&tx, "one-outbox", &CreatePayout::new("k-ob", "one-outbox", 2))
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
    }
    let report = j.dispatch::<_, CreatePayout>(&client).await.unwrap();
    assert_eq!(report.sent, vec!["one-outbox".to_string()], "{report:?}");
    ids.push("one-outbox".into());
    let status = j.store().pool_status();
    assert_eq!(status.peak_in_use, 1, "{status:?}");
    assert_eq!(status.size, 1);
    assert_paid_once(&fake, ids.len());
    assert_all_settled(&j, &ids).await;
}

/// The server is down: a call waits a bounded time and fails saying nothing was recorded.
/// A server that comes back during the backoff (here: a proxy in front of it starts
/// listening) is used at once, and the call succeeds.
#[tokio::test]
async fn no_server_is_a_bounded_wait_and_a_server_back_in_time_is_used() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let url = fresh_postgres_db("pgdown").await;
    let free_port = || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let at = |port: u16| {
        format!(
            "{}@127.0.0.1:{port}/{}",
            url.split_once('@').unwrap().0,
            db_name(&url)
        )
    };
    // Nobody listens: 4 attempts, 20 + 40 + 40 ms of backoff, then a clear error.
    let t = Instant::now();
    let err = PgStore::connect_with(
        &at(free_port()),
        PgOptions::default()
            .connect_attempts(4)
            .backoff(Duration::from_millis(20), Duration::from_millis(40)),
    )
    .await
    .unwrap_err();
    let took = t.elapsed();
    let msg = err.to_string();
    assert!(
        msg.contains("cannot connect to PostgreSQL (4 attempt(s))"),
        "{msg}"
    );
    assert!(msg.contains("Nothing was recorded"), "{msg}");
    assert!(
        took >= Duration::from_millis(100) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // The server comes back 300 ms into the backoff: the same call connects.
    let port = free_port();
    let back = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Proxy::start_on(port, upstream_port(&postgres_url())).await
    });
    let store = PgStore::connect_with(&at(port), PgOptions::default())
        .await
        .unwrap();
    let _proxy = back.await.unwrap();
    let j = Journal::new(store).reconcile_policy(ReconcilePolicy::once());
    j.pay(&client, "up-1", &CreatePayout::new("k-up", "up-1", 1))
        .await
        .unwrap();
    assert_paid_once(&fake, 1);
    assert_eq!(j.get("up-1").await.unwrap().unwrap().state, State::Settled);
}
