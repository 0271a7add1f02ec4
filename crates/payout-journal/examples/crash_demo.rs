//! A worker killed mid-payout, restarted, and the payout settled once.
//!
//! `cargo run -p payout-journal --example crash_demo` (also one of `cargo xtask demo`'s flows).
//! Offline: the xRocket sandbox runs in this process, so it and its record survive the kill.
//! The worker is this same binary, started again as a child process; it pays `order-42`
//! through the journal (SQLite in a temporary directory). The sandbox holds the request for
//! a moment; the worker is killed with SIGKILL as soon as the request has arrived, so the
//! journal holds an unfinished intent while the provider goes on to create the transfer.
//! The restarted worker runs `recover` first: it finds the transfer by its recorded
//! `clientTransferId` and settles the intent, without sending it again.

use std::process::Stdio;
use std::time::{Duration, Instant};

use payout_core::sandbox::Fault;
use payout_journal::{Journal, State};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const WORKER: &str = "PAYOUT_JOURNAL_DEMO_WORKER";
const BUSINESS_ID: &str = "order-42";
const RECIPIENT: i64 = 4242;

fn env(name: &str) -> Result<String, BoxError> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

/// The worker process: recover, then pay `order-42` (a fresh key each time: the journal keeps
/// the first one it recorded).
async fn worker() -> Result<(), BoxError> {
    let client = xrocket::Client::builder()
        .api_key(env("DEMO_KEY")?)
        .base_url(env("DEMO_URL")?)
        .build()?;
    let journal = Journal::open(env("DEMO_DB")?).await?.worker_id("demo-worker");
    let report = journal.recover::<_, xrocket::CreateTransfer>(&client).await?;
    println!(
        "worker: recover: {} unfinished intent(s): settled by lookup {:?}, re-sent {:?}, still ambiguous {}",
        report.len(),
        report.settled,
        report.resent,
        report.still_ambiguous.len()
    );
    let req = xrocket::CreateTransfer::to_telegram_user(
        RECIPIENT,
        xrocket::Asset::Toncoin,
        xrocket::Decimal::new(150, 2),
    );
    println!("worker: pay {BUSINESS_ID}: 1.50 TONCOIN to Telegram user {RECIPIENT}");
    let transfer = journal.pay(&client, BUSINESS_ID, &req).await?;
    println!(
        "worker: {BUSINESS_ID} paid: transfer {} (clientTransferId {})",
        transfer.transfer_id,
        transfer.client_transfer_id.as_deref().unwrap_or("-")
    );
    Ok(())
}

fn spawn(url: &str, key: &str, db: &str) -> Result<tokio::process::Child, BoxError> {
    Ok(Command::new(std::env::current_exe()?)
        .env(WORKER, "1")
        .env("DEMO_URL", url)
        .env("DEMO_KEY", key)
        .env("DEMO_DB", db)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?)
}

/// Forwards the worker's lines, indented.
fn relay(child: &mut tokio::process::Child) -> tokio::task::JoinHandle<()> {
    let out = child.stdout.take();
    tokio::spawn(async move {
        let Some(out) = out else { return };
        let mut lines = BufReader::new(out).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            println!("  | {line}");
        }
    })
}

async fn demo() -> Result<(), BoxError> {
    let started = Instant::now();
    let sb = xrocket::sandbox::Sandbox::start().await?;
    sb.set_balance("TONCOIN", xrocket::Decimal::from(100));
    let dir = std::env::temp_dir().join(format!("payout-journal-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("journal.db").display().to_string();
    let url = sb.base_url();
    println!("xRocket sandbox on {url}; journal {db}");

    // The sandbox holds the next transfer for 400 ms, then creates it: the worker is killed
    // while the request is at the provider and before any answer.
    sb.server().fail_next_on(
        "POST",
        "/api/v1/transfers",
        1,
        Fault::Delay(Duration::from_millis(400)),
    );
    println!("1. start the worker");
    let mut w = spawn(&url, sb.api_key(), &db)?;
    let relayed = relay(&mut w);
    let wait = Instant::now();
    while sb.server().count("POST", "/api/v1/transfers") == 0 {
        if wait.elapsed() > Duration::from_secs(30) {
            return Err("the worker's request never arrived".into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    w.kill().await?; // SIGKILL
    let _ = relayed.await;
    let after_kill = Journal::open(&db).await?.get(BUSINESS_ID).await?;
    println!(
        "2. SIGKILL right after the request was written; the journal holds {BUSINESS_ID} as {:?} with key {}",
        after_kill.as_ref().map(|r| r.state),
        after_kill
            .as_ref()
            .and_then(|r| r.key.clone())
            .unwrap_or_else(|| "-".into())
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    println!(
        "3. meanwhile the provider processed the request: {} transfer(s) in its record",
        sb.transfers_created()
    );

    println!("4. restart the worker (it runs recover first)");
    let mut w = spawn(&url, sb.api_key(), &db)?;
    let relayed = relay(&mut w);
    let status = tokio::time::timeout(Duration::from_secs(60), w.wait()).await??;
    let _ = relayed.await;
    if !status.success() {
        return Err(format!("the restarted worker failed: {status}").into());
    }

    let rec = Journal::open(&db)
        .await?
        .get(BUSINESS_ID)
        .await?
        .ok_or("order-42 is missing from the journal")?;
    let posts = sb.server().count("POST", "/api/v1/transfers");
    let created = sb.transfers_to(&RECIPIENT.to_string());
    println!(
        "5. the sandbox's record: {created} transfer(s) to {RECIPIENT}, {posts} POST /api/v1/transfers; journal: {BUSINESS_ID} {:?} after {} attempt(s)",
        rec.state, rec.attempts
    );
    let _ = std::fs::remove_dir_all(&dir);
    if created != 1 || rec.state != State::Settled {
        return Err(format!(
            "expected one transfer and a settled intent, got {created} and {:?}",
            rec.state
        )
        .into());
    }
    println!(
        "killed mid-payout, recovered: paid once ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    if std::env::var_os(WORKER).is_some() {
        worker().await
    } else {
        demo().await
    }
}
