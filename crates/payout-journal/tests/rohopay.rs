//! RohoPay's collect, disburse and checkout are keyed (`Idempotency-Key`) and key-protected
//! (RohoPay replays the first answer for a repeated key) but have no lookup by the key. Through
//! the journal (`pay_keyed` / `recover_keyed`) an unfinished intent is re-sent with the same
//! key and the replayed answer recorded; a card checkout, whose card is masked in the journal,
//! is never re-sent from the journal and is reported for a decision. Against the rohopay
//! crate's sandbox.
//!
//! "The worker died after the request was written" is made in-process: the sandbox holds the
//! request, and the task paying it is aborted as soon as the request has arrived, so the
//! journal is left with a committed `sent` intent and no outcome, exactly as after a SIGKILL.
//! A second journal on the same file (the restarted worker, same worker id) recovers it.

use std::time::{Duration, Instant};

use payout_core::sandbox::Fault;
use payout_journal::{Error, Journal, State};
use rohopay::{Card, CheckoutRequest, CollectRequest, Currency, DisburseRequest};

fn temp_db(name: &str) -> String {
    let d = std::env::temp_dir().join(format!(
        "payout-journal-rohopay-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d.join("journal.db").display().to_string()
}

async fn journal(db: &str) -> Journal {
    Journal::open(db).await.unwrap().worker_id("rohopay-worker")
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

/// Pays `req` in a task that dies right after the request is written (the sandbox holds it
/// for 300 ms, then processes it).
async fn die_after_written<E>(sb: &rohopay::sandbox::Sandbox, db: &str, path: &str, id: &str, req: E)
where
    E: payout_core::Endpoint + payout_core::Keyed + serde::Serialize + serde::de::DeserializeOwned + 'static,
    E::Output: serde::Serialize + serde::de::DeserializeOwned + Send,
{
    sb.server()
        .fail_next_on("POST", path, 1, Fault::Delay(Duration::from_millis(300)));
    let before = sb.server().count("POST", path);
    let (client, j, id2) = (sb.live_client(), journal(db).await, id.to_string());
    let task = tokio::spawn(async move {
        let _ = j.pay_keyed(&client, &id2, &req).await;
    });
    until("the request to arrive", || {
        sb.server().count("POST", path) > before
    })
    .await;
    task.abort(); // the worker is gone: no outcome recorded
    let _ = task.await;
    let rec = journal(db).await.get(id).await.unwrap().unwrap();
    assert_eq!(rec.state, State::Sent, "committed before sending, never finished");
    assert_eq!(rec.key_name.as_deref(), Some("Idempotency-Key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collect_cut_off_after_the_request_is_written_is_resent_with_its_key_and_created_once() {
    let sb = rohopay::sandbox::Sandbox::start().await.unwrap();
    let db = temp_db("collect");
    let req = CollectRequest::new("256712345678", 50_000, Currency::Ugx).description("Order #1001");
    let key = payout_core::Keyed::key(&req).to_string();
    die_after_written(&sb, &db, "/api/v1/collect", "order-1001", req).await;
    // The held request lands while the worker is dead.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sb.transactions_created(), 1);

    let j = journal(&db).await;
    let report = j
        .recover_keyed::<_, CollectRequest>(&sb.live_client())
        .await
        .unwrap();
    assert_eq!(report.resent, vec!["order-1001".to_string()], "{report:?}");
    assert!(report.all_final(), "{report:?}");
    assert_eq!(sb.server().count("POST", "/api/v1/collect"), 2, "re-sent once");
    assert_eq!(sb.transactions_created(), 1, "RohoPay replayed the first answer");
    let sent = sb.server().requests();
    let keys: Vec<_> = sent
        .iter()
        .filter(|r| r.path == "/api/v1/collect")
        .map(|r| r.header("idempotency-key").map(str::to_string))
        .collect();
    assert_eq!(
        keys,
        vec![Some(key.clone()), Some(key)],
        "the same key both times"
    );
    let rec = j.get("order-1001").await.unwrap().unwrap();
    assert_eq!(rec.state, State::Settled);
    assert_eq!(rec.attempts, 2);

    // Asked again (a fresh key, the same collection): the recorded answer, nothing sent.
    let again = CollectRequest::new("256712345678", 50_000, Currency::Ugx).description("Order #1001");
    let out = j
        .pay_keyed(&sb.live_client(), "order-1001", &again)
        .await
        .unwrap();
    assert!(
        sb.transaction(out.transaction.internal_reference.as_str())
            .is_some()
    );
    assert_eq!(sb.server().count("POST", "/api/v1/collect"), 2);
    // Another amount under the same business id is a conflict.
    let other = CollectRequest::new("256712345678", 50_001, Currency::Ugx).description("Order #1001");
    let err = j
        .pay_keyed(&sb.live_client(), "order-1001", &other)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disburse_resent_while_the_first_is_still_held_creates_one_payout() {
    let sb = rohopay::sandbox::Sandbox::start().await.unwrap();
    sb.set_balance_live(1_000_000);
    let db = temp_db("disburse");
    let req = DisburseRequest::new("256712345678", 20_000, Currency::Ugx).description("Payout #7");
    die_after_written(&sb, &db, "/api/v1/disburse", "payout-7", req).await;
    // Restarted at once: the re-send with the same key races the held first request.
    let j = journal(&db).await;
    let report = j
        .recover_keyed::<_, DisburseRequest>(&sb.live_client())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sb.transactions_created(),
        1,
        "one payout whatever the order: {report:?}"
    );
    assert_eq!(sb.server().count("POST", "/api/v1/disburse"), 2);
    if !report.all_final() {
        // RohoPay answered "still in progress" to the re-send: recover again later.
        let again = j
            .recover_keyed::<_, DisburseRequest>(&sb.live_client())
            .await
            .unwrap();
        assert!(again.all_final(), "{again:?}");
        assert_eq!(sb.transactions_created(), 1);
    }
    assert_eq!(j.get("payout-7").await.unwrap().unwrap().state, State::Settled);
    // 20,000 and the 1 % commission, once.
    assert_eq!(sb.balance_live(), 1_000_000 - 20_000 - 200, "debited once");
}

fn checkout() -> CheckoutRequest {
    CheckoutRequest::new(
        75_000,
        Currency::Ugx,
        "Jane Mukasa",
        "jane@example.com",
        "https://shop.example/checkout/return",
        Card::new("4111111111111111", "12/30", "123"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_checkout_with_its_card_masked_in_the_journal_is_never_resent_and_needs_a_decision() {
    let sb = rohopay::sandbox::Sandbox::start().await.unwrap();
    let db = temp_db("checkout");
    let req = checkout();
    let original = req.clone();
    die_after_written(&sb, &db, "/api/v1/checkout", "cart-9", req).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sb.checkout_sessions_created(), 1);

    let j = journal(&db).await;
    let rec = j.get("cart-9").await.unwrap().unwrap();
    for secret in ["4111111111111111", "12/30", "\"123\""] {
        assert!(!rec.request.contains(secret), "card data journaled: {secret}");
    }
    let report = j
        .recover_keyed::<_, CheckoutRequest>(&sb.live_client())
        .await
        .unwrap();
    assert_eq!(report.needs_decision.len(), 1, "{report:?}");
    let u = &report.needs_decision[0];
    assert_eq!(u.business_id, "cart-9");
    assert_eq!(u.key.as_deref(), Some(payout_core::Keyed::key(&original)));
    assert_eq!(
        sb.server().count("POST", "/api/v1/checkout"),
        1,
        "never re-sent masked"
    );
    assert_eq!(j.get("cart-9").await.unwrap().unwrap().state, State::Ambiguous);
    // The same checkout rebuilt (a fresh key): the journal would have to send its masked copy.
    let err = j
        .pay_keyed(&sb.live_client(), "cart-9", &checkout())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NeedsDecision { .. }), "{err:?}");
    assert!(!err.to_string().contains("4111111111111111"));
    assert_eq!(sb.server().count("POST", "/api/v1/checkout"), 1);

    // The original request (same key, the card in memory) is re-sent; RohoPay replays.
    let session = j.pay_keyed(&sb.live_client(), "cart-9", &original).await.unwrap();
    assert_eq!(sb.server().count("POST", "/api/v1/checkout"), 2);
    assert_eq!(sb.checkout_sessions_created(), 1, "one checkout session");
    assert!(!session.payment_url.is_empty());
    assert_eq!(j.get("cart-9").await.unwrap().unwrap().state, State::Settled);
}
