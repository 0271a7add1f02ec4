//! Measures what the journal adds to one payout, in one run against one sandbox: the same
//! key-protected payout sent N times without a journal, through a SQLite journal
//! (`Durability::Full` and `Normal`: the difference is the fsync), and through PostgreSQL
//! when `PAYOUT_TEST_POSTGRES_URL` is set (feature `postgres`).
//!
//! `cargo run --release -p payout-journal --all-features --example overhead -- 500`
//! (or `cargo xtask with-services cargo run ...` for the PostgreSQL row).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use payout_core::ReconcilePolicy;
use payout_core::reconcile::send_reconciled;
use payout_journal::Journal;
use payout_journal::sqlite::{Durability, SqliteStore};
use support::*;

fn per_payout(total: Duration, n: usize) -> f64 {
    total.as_secs_f64() * 1e6 / n as f64
}

async fn run<S: payout_journal::Store>(j: &Journal<S>, client: &FakeClient, tag: &str, n: usize) -> Duration {
    let t = Instant::now();
    for i in 0..n {
        let req = CreatePayout::new(&format!("{tag}-{i}"), tag, 1);
        j.pay(client, &format!("{tag}-{i}"), &req).await.unwrap();
    }
    t.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    let (_fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let dir = std::env::var("PAYOUT_JOURNAL_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| temp_dir("overhead"));
    std::fs::create_dir_all(&dir).unwrap();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let policy = ReconcilePolicy::once();

    // Warm up the connection pool and the sandbox.
    for i in 0..50 {
        send_reconciled(&client, &CreatePayout::new(&format!("warm-{i}"), "w", 1), &policy)
            .await
            .unwrap();
    }
    let mut rows: Vec<(&str, f64)> = Vec::new();
    for round in 0..2 {
        let t = Instant::now();
        for i in 0..n {
            let req = CreatePayout::new(&format!("plain-{round}-{i}"), "plain", 1);
            send_reconciled(&client, &req, &policy).await.unwrap();
        }
        let base = per_payout(t.elapsed(), n);

        let full = Journal::new(
            SqliteStore::open_with(dir.join(format!("full-{stamp}-{round}.db")), Durability::Full)
                .await
                .unwrap(),
        )
        .reconcile_policy(policy);
        let full_t = per_payout(run(&full, &client, &format!("full-{round}"), n).await, n);

        let normal = Journal::new(
            SqliteStore::open_with(dir.join(format!("normal-{stamp}-{round}.db")), Durability::Normal)
                .await
                .unwrap(),
        )
        .reconcile_policy(policy);
        let normal_t = per_payout(run(&normal, &client, &format!("normal-{round}"), n).await, n);
        if round == 1 {
            rows.push(("no journal", base));
            rows.push(("SQLite, Durability::Full", full_t));
            rows.push(("SQLite, Durability::Normal", normal_t));
        }
        #[cfg(feature = "postgres")]
        if std::env::var_os("PAYOUT_TEST_POSTGRES_URL").is_some() {
            let url = support::fresh_postgres_db("overhead").await;
            let pg = Journal::connect_postgres(&url)
                .await
                .unwrap()
                .reconcile_policy(policy);
            let pg_t = per_payout(run(&pg, &client, &format!("pg-{round}"), n).await, n);
            if round == 1 {
                rows.push(("PostgreSQL (synchronous_commit=on)", pg_t));
            }
        }
    }
    let base = rows[0].1;
    println!("{n} payouts each, same sandbox, same run (second of two rounds):");
    println!("| path | µs per payout | journal overhead |");
    println!("|---|---|---|");
    for (name, us) in rows {
        println!("| {name} | {us:.0} | {:+.0} µs |", us - base);
    }
}
