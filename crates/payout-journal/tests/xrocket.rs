//! xRocket cheques, invoices and withdrawals through the journal, against the xrocket crate's
//! sandbox: each created once after the worker dies right after the request is written, and
//! after an injected fault (the answer lost once xRocket has processed the request). Transfers
//! are covered by the SIGKILL tests in `crash.rs`.
//!
//! "The worker died after the request was written" is made in-process: the sandbox holds the
//! request, and the task paying it is aborted as soon as the request has arrived, so the
//! journal keeps a committed `sent` intent with no outcome, as after a SIGKILL. A second
//! journal on the same file (the restarted worker, same worker id) runs `recover`.
//!
//! Mass transfers have their own file, `tests/xrocket_mass.rs`.

use std::time::{Duration, Instant};

use payout_core::Reconcile;
use payout_core::sandbox::Fault;
use payout_journal::{Journal, State};
use serde::Serialize;
use serde::de::DeserializeOwned;
use xrocket::sandbox::Sandbox;
use xrocket::{Asset, CreateCheque, CreateInvoice, CreateWithdrawal, Decimal, Network};

fn temp_db(name: &str) -> String {
    let d = std::env::temp_dir().join(format!(
        "payout-journal-xrocket-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d.join("journal.db").display().to_string()
}

async fn journal(db: &str) -> Journal {
    Journal::open(db).await.unwrap().worker_id("xrocket-worker")
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn sandbox() -> Sandbox {
    let sb = Sandbox::start().await.unwrap();
    sb.set_balance("TONCOIN", Decimal::from(1_000));
    sb
}

/// Kills the payer right after the request is written, lets the held request land, restarts
/// (recover), and checks the intent settled by lookup with one object at the provider; then
/// pays another business id with the answer lost after processing, and checks it settled with
/// one more object.
async fn once_after_kill_and_fault<E>(path: &str, make: fn() -> E, created: impl Fn(&Sandbox) -> usize)
where
    E: Reconcile + Serialize + DeserializeOwned + 'static,
    E::Output: Serialize + DeserializeOwned + Send,
{
    let sb = sandbox().await;
    let db = temp_db(E::META.operation);
    let op = E::META.operation;

    // 1. Killed after the request is written.
    sb.server()
        .fail_next_on("POST", path, 1, Fault::Delay(Duration::from_millis(300)));
    let (client, j) = (sb.client(), journal(&db).await);
    let req = make();
    let key = req.key().to_string();
    let task = tokio::spawn(async move {
        let _ = j.pay(&client, "killed-1", &req).await;
    });
    until("the request to arrive", || sb.server().count("POST", path) == 1).await;
    task.abort();
    let _ = task.await;
    let j = journal(&db).await;
    let rec = j.get("killed-1").await.unwrap().unwrap();
    assert_eq!(rec.state, State::Sent, "{op}: committed, never finished");
    assert_eq!(rec.key.as_deref(), Some(key.as_str()));
    tokio::time::sleep(Duration::from_millis(500)).await; // the held request lands
    assert_eq!(created(&sb), 1, "{op}");
    let report = j.recover::<_, E>(&sb.client()).await.unwrap();
    assert_eq!(report.settled, vec!["killed-1".to_string()], "{op}: {report:?}");
    assert!(report.all_final(), "{op}: {report:?}");
    assert_eq!(
        sb.server().count("POST", path),
        1,
        "{op}: found by its key, not sent again"
    );
    assert_eq!(created(&sb), 1, "{op}");
    // Asked again (a fresh key, same payout): the recorded result, nothing sent.
    j.pay(&sb.client(), "killed-1", &make()).await.unwrap();
    assert_eq!(sb.server().count("POST", path), 1, "{op}");

    // 2. An injected fault: processed, then the connection dropped.
    sb.server()
        .fail_next_on("POST", path, 1, Fault::DropAfterProcessing);
    let res = j.pay(&sb.client(), "fault-1", &make()).await;
    if res.is_err() {
        // Not settled inside the call: the next recover does it.
        let report = j.recover::<_, E>(&sb.client()).await.unwrap();
        assert!(report.all_final(), "{op}: {report:?}");
    }
    let rec = j.get("fault-1").await.unwrap().unwrap();
    assert_eq!(rec.state, State::Settled, "{op}: {:?}", res.err());
    assert_eq!(created(&sb), 2, "{op}: one object per business id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cheque_is_created_once_after_a_kill_and_after_a_lost_answer() {
    once_after_kill_and_fault(
        "/api/v1/cheques",
        || CreateCheque::new(Asset::Toncoin, Decimal::new(5, 1)).description("gift"),
        Sandbox::cheques_created,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_is_created_once_after_a_kill_and_after_a_lost_answer() {
    once_after_kill_and_fault(
        "/api/v1/invoices",
        || CreateInvoice::new("TONCOIN", Decimal::new(25, 1)).description("Order #42"),
        Sandbox::invoices_created,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_is_created_once_after_a_kill_and_after_a_lost_answer() {
    once_after_kill_and_fault(
        "/api/v1/withdrawals",
        || {
            CreateWithdrawal::new(
                Network::Ton,
                "UQBvI0aFLnw2QbZgjMPCLRdtRHxhUyinQudg6sdiohIwg5jL",
                Asset::Toncoin,
                Decimal::new(25, 1),
            )
        },
        Sandbox::withdrawals_created,
    )
    .await;
}
