//! xRocket mass transfers through the journal, against the xrocket crate's sandbox: a batch
//! is one intent (one business id), every item carries its own `clientTransferId`, and the
//! sandbox's own record must show every item paid exactly once after each kind of crash.
//!
//! The crashes are made in-process, as in `xrocket.rs`: "killed after the commit" is a
//! checkpoint hook that panics the paying task once the intent is committed (nothing
//! written); "killed after the request was written" holds the request in the sandbox and
//! aborts the paying task as soon as it arrives. A second journal on the same file (the
//! restarted worker, same worker id) runs `recover`.

use std::time::{Duration, Instant};

use payout_core::Keyed;
use payout_core::sandbox::Fault;
use payout_journal::{Checkpoint, Error, Journal, State};
use xrocket::sandbox::Sandbox;
use xrocket::{Asset, Decimal, MassTransfer, MassTransferItem, MassTransferResult};

const PATH: &str = "/api/v1/mass-transfers";

/// The recipients and amounts of the test batch (Telegram user ids, TONCOIN).
const ITEMS: [(i64, i64, u32); 4] = [(1001, 15, 1), (1002, 2, 0), (1003, 25, 1), (1004, 3, 0)];

fn temp_db(name: &str) -> String {
    let d = std::env::temp_dir().join(format!(
        "payout-journal-xrocket-mass-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d.join("journal.db").display().to_string()
}

async fn journal(db: &str) -> Journal {
    Journal::open(db).await.unwrap().worker_id("xrocket-mass-worker")
}

/// A journal whose paying task dies right after `business_id`'s intent is committed, before
/// any byte is written (a SIGKILL at that instant, in-process).
async fn journal_killed_after_commit(db: &str, business_id: &'static str) -> Journal {
    journal(db).await.checkpoint_hook(move |at, id| {
        if at == Checkpoint::Committed && id == business_id {
            panic!("killed after the commit of {id}");
        }
    })
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

fn item(i: usize, prefix: &str) -> MassTransferItem {
    let (to, amount, scale) = ITEMS[i];
    MassTransferItem::new(to, Decimal::new(amount, scale)).client_transfer_id(format!("{prefix}-{to}"))
}

/// The test batch, with client ids `<prefix>-<recipient>`.
fn batch(prefix: &str) -> MassTransfer {
    MassTransfer::new(Asset::Toncoin).items_from((0..ITEMS.len()).map(|i| item(i, prefix)))
}

/// The test batch with a fresh, generated client id per item (the same payroll built again).
fn batch_with_fresh_ids() -> MassTransfer {
    MassTransfer::new(Asset::Toncoin).items_from(
        ITEMS
            .iter()
            .map(|&(to, amount, scale)| MassTransferItem::new(to, Decimal::new(amount, scale))),
    )
}

fn total() -> Decimal {
    ITEMS.iter().map(|&(_, a, s)| Decimal::new(a, s)).sum()
}

/// The sandbox's record: every recipient of the batch paid exactly once, under the batch's
/// client ids, and nothing else.
fn assert_each_item_paid_once(sb: &Sandbox, b: &MassTransfer) {
    assert_eq!(sb.transfers_created(), b.items().len(), "one transfer per item");
    for (i, it) in b.items().iter().enumerate() {
        let to = ITEMS[i].0.to_string();
        assert_eq!(sb.transfers_to(&to), 1, "recipient {to} paid once");
        let t = sb.transfer(it.client_id()).expect("paid under its client id");
        assert_eq!(t.target.as_deref(), Some(to.as_str()));
    }
}

/// The recorded result: every item a success, matched by client id, no failure.
fn assert_all_successes(r: &MassTransferResult, b: &MassTransfer) {
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    let mut got: Vec<&str> = r
        .successes
        .iter()
        .filter_map(|t| t.client_transfer_id.as_deref())
        .collect();
    let mut want: Vec<&str> = b.items().iter().map(|i| i.client_id()).collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
}

async fn recorded(j: &Journal, business_id: &str) -> (State, Option<MassTransferResult>) {
    let rec = j.get(business_id).await.unwrap().unwrap();
    let result = rec
        .result
        .as_deref()
        .map(|r| serde_json::from_str::<MassTransferResult>(r).unwrap());
    (rec.state, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_paid_through_the_journal_is_settled_with_one_transfer_per_item() {
    let sb = sandbox().await;
    let j = journal(&temp_db("pay")).await;
    let b = batch("payroll-1");
    let before = sb.balance("TONCOIN").available;

    let r = j.pay(&sb.client(), "payroll-2026-12", &b).await.unwrap();

    assert_all_successes(&r, &b);
    assert_eq!(sb.server().count("POST", PATH), 1);
    assert_each_item_paid_once(&sb, &b);
    assert_eq!(sb.balance("TONCOIN").available, before - total());
    let (state, result) = recorded(&j, "payroll-2026-12").await;
    assert_eq!(state, State::Settled);
    assert_eq!(result.as_ref(), Some(&r));
    let rec = j.get("payroll-2026-12").await.unwrap().unwrap();
    assert_eq!(
        rec.key.as_deref(),
        Some(b.key()),
        "the first item's client id names the batch"
    );
    assert_eq!(rec.operation, "transfers.mass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_business_id_again_returns_the_recorded_result_and_sends_nothing() {
    let sb = sandbox().await;
    let j = journal(&temp_db("again")).await;
    let b = batch_with_fresh_ids();
    let first = j.pay(&sb.client(), "payroll-again", &b).await.unwrap();

    // The same value, then the same payroll built again (every item a fresh client id).
    let same = j.pay(&sb.client(), "payroll-again", &b).await.unwrap();
    let rebuilt = batch_with_fresh_ids();
    assert_ne!(rebuilt.items()[1].client_id(), b.items()[1].client_id());
    let again = j.pay(&sb.client(), "payroll-again", &rebuilt).await.unwrap();

    assert_eq!(same, first);
    assert_eq!(again, first, "the recorded result, under the first client ids");
    assert_eq!(sb.server().count("POST", PATH), 1, "nothing sent again");
    assert_eq!(
        sb.server().count("GET", "/api/v1/transfer"),
        0,
        "nothing looked up"
    );
    assert_each_item_paid_once(&sb, &b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_commit_before_sending_recover_pays_each_item_once() {
    let sb = sandbox().await;
    let db = temp_db("committed");
    let b = batch("payroll-k");

    let (client, j) = (sb.client(), journal_killed_after_commit(&db, "payroll-k").await);
    let paying = b.clone();
    let died = tokio::spawn(async move { j.pay(&client, "payroll-k", &paying).await }).await;
    assert!(
        died.is_err_and(|e| e.is_panic()),
        "the payer died at the checkpoint"
    );
    assert_eq!(sb.server().count("POST", PATH), 0, "nothing written");
    assert_eq!(sb.transfers_created(), 0);

    let j = journal(&db).await;
    assert_eq!(
        recorded(&j, "payroll-k").await.0,
        State::Sent,
        "committed, never finished"
    );
    let report = j.recover::<_, MassTransfer>(&sb.client()).await.unwrap();

    assert_eq!(report.resent, vec!["payroll-k".to_string()], "{report:?}");
    assert!(report.all_final(), "{report:?}");
    assert_eq!(sb.server().count("POST", PATH), 1);
    assert_each_item_paid_once(&sb, &b);
    let (state, result) = recorded(&j, "payroll-k").await;
    assert_eq!(state, State::Settled);
    assert_all_successes(&result.unwrap(), &b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_request_reached_xrocket_recover_finds_every_item_and_sends_nothing() {
    let sb = sandbox().await;
    let db = temp_db("written");
    let b = batch("payroll-w");

    // xRocket holds the request; the payer dies as soon as it has arrived.
    sb.server()
        .fail_next_on("POST", PATH, 1, Fault::Delay(Duration::from_millis(300)));
    let (client, j, paying) = (sb.client(), journal(&db).await, b.clone());
    let task = tokio::spawn(async move {
        let _ = j.pay(&client, "payroll-w", &paying).await;
    });
    until("the request to arrive", || sb.server().count("POST", PATH) == 1).await;
    task.abort();
    let _ = task.await;
    until("the held request to land", || {
        sb.transfers_created() == b.items().len()
    })
    .await;

    let j = journal(&db).await;
    assert_eq!(recorded(&j, "payroll-w").await.0, State::Sent);
    let report = j.recover::<_, MassTransfer>(&sb.client()).await.unwrap();

    assert_eq!(report.settled, vec!["payroll-w".to_string()], "{report:?}");
    assert!(report.all_final(), "{report:?}");
    assert_eq!(
        sb.server().count("POST", PATH),
        1,
        "found by the items' client ids, not sent again"
    );
    assert_eq!(
        sb.server().count("GET", "/api/v1/transfer"),
        b.items().len(),
        "one lookup per item"
    );
    assert_each_item_paid_once(&sb, &b);
    let (state, result) = recorded(&j, "payroll-w").await;
    assert_eq!(state, State::Settled);
    assert_all_successes(&result.unwrap(), &b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_lost_after_processing_is_settled_inside_pay_each_item_once() {
    let sb = sandbox().await;
    let j = journal(&temp_db("lost")).await;
    let b = batch("payroll-l");

    // xRocket pays every item, then the connection drops: the transport re-sends the batch
    // (same client ids), xRocket refuses every item as already taken, and the reconcile
    // looks them all up.
    sb.server()
        .fail_next_on("POST", PATH, 1, Fault::DropAfterProcessing);
    let r = j.pay(&sb.client(), "payroll-l", &b).await.unwrap();
    assert_all_successes(&r, &b);

    assert_each_item_paid_once(&sb, &b);
    let (state, result) = recorded(&j, "payroll-l").await;
    assert_eq!(state, State::Settled);
    assert_eq!(result.as_ref(), Some(&r));
    assert_eq!(
        sb.server().count("POST", PATH),
        2,
        "the lost answer was retried once"
    );
    assert_eq!(
        sb.server().count("GET", "/api/v1/transfer"),
        b.items().len(),
        "every item looked up once, found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partly_paid_batch_is_completed_by_recover_each_item_once() {
    let sb = sandbox().await;
    let db = temp_db("partial");
    let b = batch("payroll-p");

    // The payer commits and dies; xRocket had already paid the first and third items (as an
    // earlier attempt of the same batch would have, under the same client ids).
    let (client, j, paying) = (
        sb.client(),
        journal_killed_after_commit(&db, "payroll-p").await,
        b.clone(),
    );
    let died = tokio::spawn(async move { j.pay(&client, "payroll-p", &paying).await }).await;
    assert!(died.is_err_and(|e| e.is_panic()));
    let earlier = MassTransfer::new(Asset::Toncoin)
        .item(item(0, "payroll-p"))
        .item(item(2, "payroll-p"));
    let r = sb.client().transfers().mass(&earlier).await.unwrap();
    assert_eq!((r.successes.len(), sb.transfers_created()), (2, 2));
    let posts_before = sb.server().count("POST", PATH);

    let j = journal(&db).await;
    let report = j.recover::<_, MassTransfer>(&sb.client()).await.unwrap();

    // Not every item exists, so the whole batch is re-sent with the same client ids: xRocket
    // pays the two missing items and refuses the two paid ones as taken; the lookup turns
    // those into successes.
    assert_eq!(report.resent, vec!["payroll-p".to_string()], "{report:?}");
    assert!(report.all_final(), "{report:?}");
    assert_eq!(sb.server().count("POST", PATH), posts_before + 1, "re-sent once");
    assert_each_item_paid_once(&sb, &b);
    let (state, result) = recorded(&j, "payroll-p").await;
    assert_eq!(state, State::Settled);
    let result = result.unwrap();
    assert_all_successes(&result, &b);
    for paid_earlier in [&earlier.items()[0], &earlier.items()[1]] {
        let t = sb.transfer(paid_earlier.client_id()).unwrap();
        assert!(
            result.successes.iter().any(|s| s.transfer_id == t.transfer_id),
            "{} is the earlier transfer",
            paid_earlier.client_id()
        );
    }
}

/// The case the core protocol cannot settle item by item: a partly paid batch whose re-send
/// also refuses an item for another reason (an unknown recipient). Nothing is paid twice;
/// the items paid earlier stay in `failures` with reason `client_id_already_taken` and
/// their client ids (see docs/journal.md), the refused one with its own reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partly_paid_batch_with_a_refused_item_pays_nothing_twice_and_reports_paid_items_as_paid() {
    let sb = sandbox().await;
    let db = temp_db("partial-refused");
    let b = batch("payroll-r");
    let unknown = ITEMS[2].0.to_string();
    sb.add_unknown_user(unknown.clone());

    let (client, j, paying) = (
        sb.client(),
        journal_killed_after_commit(&db, "payroll-r").await,
        b.clone(),
    );
    let died = tokio::spawn(async move { j.pay(&client, "payroll-r", &paying).await }).await;
    assert!(died.is_err_and(|e| e.is_panic()));
    let earlier = MassTransfer::new(Asset::Toncoin).item(item(0, "payroll-r"));
    sb.client().transfers().mass(&earlier).await.unwrap();

    let j = journal(&db).await;
    let report = j.recover::<_, MassTransfer>(&sb.client()).await.unwrap();

    assert!(report.all_final(), "{report:?}");
    assert_eq!(sb.transfers_created(), 3, "items 1 (earlier), 2 and 4; never 3");
    for (to, n) in [(ITEMS[0].0, 1), (ITEMS[1].0, 1), (ITEMS[2].0, 0), (ITEMS[3].0, 1)] {
        assert_eq!(sb.transfers_to(&to.to_string()), n, "recipient {to}");
    }
    let (state, result) = recorded(&j, "payroll-r").await;
    assert_eq!(state, State::Settled);
    let result = result.unwrap();
    // Item 1, paid by the earlier attempt and refused as taken on the re-send, is looked up
    // (`Reconcile::complete`) and recorded as paid: a caller reading the result never sees a
    // paid item as failed, so never pays it again. Only item 3 failed.
    let paid: Vec<_> = result
        .successes
        .iter()
        .filter_map(|t| t.client_transfer_id.clone())
        .collect();
    for i in [0, 1, 3] {
        assert!(
            paid.iter().any(|id| id == b.items()[i].client_id()),
            "item {i} is reported paid: {result:?}"
        );
    }
    assert_eq!(result.successes.len(), 3, "{result:?}");
    assert_eq!(result.failures.len(), 1, "{result:?}");
    assert_eq!(
        result.failures[0].client_transfer_id.as_deref(),
        Some(b.items()[2].client_id())
    );
    assert_eq!(result.failures[0].reason.code().as_str(), "target_user_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_batch_under_the_same_business_id_is_refused() {
    let sb = sandbox().await;
    let j = journal(&temp_db("conflict")).await;
    j.pay(&sb.client(), "payroll-c", &batch("payroll-c"))
        .await
        .unwrap();

    let more = batch("payroll-c").item(MassTransferItem::new(1005, Decimal::ONE));
    let other_amount = MassTransfer::new(Asset::Toncoin)
        .items_from((0..3).map(|i| item(i, "payroll-c")))
        .item(MassTransferItem::new(ITEMS[3].0, Decimal::new(4, 0)).client_transfer_id("payroll-c-1004"));
    let other_asset = MassTransfer::new(Asset::Usdt).items_from((0..4).map(|i| item(i, "payroll-c")));
    for (what, other) in [
        ("an extra item", more),
        ("another amount", other_amount),
        ("another asset", other_asset),
    ] {
        let err = j.pay(&sb.client(), "payroll-c", &other).await.unwrap_err();
        assert!(
            matches!(&err, Error::Conflict { business_id, what: "request" } if business_id == "payroll-c"),
            "{what}: {err:?}"
        );
    }
    assert_eq!(sb.server().count("POST", PATH), 1, "nothing else sent");
    assert_eq!(sb.transfers_created(), ITEMS.len());
}
