//! The journal on SQLite against the fake provider: pay once, resume, conflict, recovery
//! by lookup, re-send only where the key is deduplicated, report-only recovery, outbox and
//! durable dedupe.

mod support;

use std::time::Duration;

use payout_core::sandbox::Fault;
use payout_core::{ErrorKind, ReconcilePolicy};
use payout_journal::dedupe::DedupeStore;
use payout_journal::sqlite::{SqliteStore, migrate, record_in, rusqlite};
use payout_journal::{Candidates, Decision, Error, Journal, State};
use support::*;

async fn journal(name: &str) -> Journal {
    let dir = temp_dir(name);
    Journal::open(dir.join("journal.db"))
        .await
        .unwrap()
        .reconcile_policy(ReconcilePolicy::once())
}

#[tokio::test]
async fn pays_once_and_answers_a_repeat_from_the_journal() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let j = journal("once").await;
    let req = CreatePayout::new("k-1", "alice", 500);
    let first = j.pay(&client, "order-1", &req).await.unwrap();
    assert_eq!(first.to, "alice");
    let before = sb.requests().len();
    let again = j.pay(&client, "order-1", &req).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(
        sb.requests().len(),
        before,
        "a settled intent is answered without any request"
    );
    // The same payout built again with a fresh key is the same request: recorded result.
    let rebuilt = CreatePayout::new("k-fresh", "alice", 500);
    assert_eq!(j.pay(&client, "order-1", &rebuilt).await.unwrap(), first);
    assert_eq!(fake.created(), vec!["k-1".to_string()]);
    let rec = j.get("order-1").await.unwrap().unwrap();
    assert_eq!(rec.state, State::Settled);
    assert_eq!(rec.attempts, 1);
    assert_eq!(rec.key.as_deref(), Some("k-1"));
    assert_eq!(rec.key_name.as_deref(), Some("Idempotency-Key"));
    assert_eq!(rec.provider, "fakepay");
    assert_eq!(rec.operation, "payouts.create");
}

#[tokio::test]
async fn a_business_id_with_another_request_is_a_conflict() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let j = journal("conflict").await;
    j.pay(&client, "order-2", &CreatePayout::new("k-2", "bob", 100))
        .await
        .unwrap();
    let err = j
        .pay(&client, "order-2", &CreatePayout::new("k-2", "bob", 999))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { what: "request", .. }), "{err:?}");
    let err = j
        .pay(&client, "order-2", &CreatePayout::new("k-3", "carol", 100))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { what: "request", .. }), "{err:?}");
    let err = j
        .pay_unprotected(
            &client,
            "order-2",
            &CreateOrder {
                to: "bob".into(),
                amount: 100,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Conflict {
                what: "operation",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fake.created().len(), 1);
}

#[tokio::test]
async fn a_refusal_is_recorded_as_failed_and_never_sent_again() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let j = journal("refused").await;
    let req = CreatePayout::new("k-r", "refuse", 100);
    let err = j.pay(&client, "order-r", &req).await.unwrap_err();
    assert_eq!(err.payout().unwrap().status(), Some(422));
    let n = sb.requests().len();
    let again = j.pay(&client, "order-r", &req).await.unwrap_err();
    assert_eq!(again.payout().unwrap().status(), Some(422));
    assert!(again.to_string().contains("recorded earlier"), "{again}");
    assert_eq!(sb.requests().len(), n);
    assert_eq!(j.get("order-r").await.unwrap().unwrap().state, State::Failed);
    assert!(fake.created().is_empty());
}

#[tokio::test]
async fn invalid_input_fails_before_any_byte() {
    let (_fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let j = journal("invalid").await;
    let err = j
        .pay(&client, "order-i", &CreatePayout::new("k-i", "", 1))
        .await
        .unwrap_err();
    assert_eq!(err.payout().unwrap().kind(), ErrorKind::InvalidInput);
    assert!(sb.requests().is_empty());
    assert_eq!(j.get("order-i").await.unwrap().unwrap().state, State::Failed);
}

#[tokio::test]
async fn an_unknown_outcome_is_settled_by_recover_without_paying_twice() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let j = journal("ambiguous").await;
    // The payout is made, the answer lost, and the lookups fail too.
    sb.fail_next_on("POST", "/payouts", 1, Fault::DropAfterProcessing);
    sb.fail_next_on("GET", "/payouts/by-key", 3, Fault::Status(503));
    let client_no_retry = FakeClient::with_options(
        &sb.base_url(),
        payout_core::ClientOptions::default().retry_policy(payout_core::RetryPolicy::none()),
    );
    let req = CreatePayout::new("k-a", "dave", 700);
    let err = j.pay(&client_no_retry, "order-a", &req).await.unwrap_err();
    assert!(err.is_unresolved(), "{err:?}");
    assert_eq!(j.get("order-a").await.unwrap().unwrap().state, State::Ambiguous);
    sb.clear_requests();
    let report = j.recover::<_, CreatePayout>(&client).await.unwrap();
    assert_eq!(report.settled, vec!["order-a".to_string()], "{report:?}");
    assert!(report.all_final());
    assert_eq!(
        sb.count("POST", "/payouts"),
        0,
        "found by lookup: nothing sent again"
    );
    assert_eq!(fake.created(), vec!["k-a".to_string()]);
    assert_eq!(j.pay(&client, "order-a", &req).await.unwrap().amount, 700);
}

#[tokio::test]
async fn a_protected_payout_that_never_arrived_is_resent_with_the_same_key() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let j = journal("resend").await;
    // Every attempt is read and dropped unprocessed: nothing was created, outcome unknown.
    sb.fail_next_on("POST", "/payouts", 3, Fault::DropAfterRead);
    let req = CreatePayout::new("k-s", "erin", 300);
    let err = j.pay(&client, "order-s", &req).await.unwrap_err();
    assert!(err.payout().is_some(), "{err:?}");
    assert_eq!(j.get("order-s").await.unwrap().unwrap().state, State::Ambiguous);
    let report = j.recover::<_, CreatePayout>(&client).await.unwrap();
    assert_eq!(report.resent, vec!["order-s".to_string()], "{report:?}");
    let keys: Vec<String> = sb
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.header("idempotency-key").unwrap_or("").to_string())
        .collect();
    assert!(keys.iter().all(|k| k == "k-s"), "{keys:?}");
    assert_eq!(fake.created(), vec!["k-s".to_string()]);
    let rec = j.get("order-s").await.unwrap().unwrap();
    assert_eq!(rec.state, State::Settled);
    assert_eq!(rec.attempts, 2);
}

#[tokio::test]
async fn an_unprotected_keyed_call_is_reported_never_resent() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let j = journal("unprot-keyed").await;
    sb.fail_next_on("POST", "/unprotected-payouts", 1, Fault::DropAfterRead);
    let req = CreateUnprotectedPayout {
        key: "k-u".into(),
        to: "frank".into(),
        amount: 10,
    };
    let err = j.pay(&client, "order-u", &req).await.unwrap_err();
    assert_eq!(err.payout().unwrap().kind(), ErrorKind::Ambiguous, "{err:?}");
    let report = j.recover::<_, CreateUnprotectedPayout>(&client).await.unwrap();
    assert_eq!(report.needs_decision.len(), 1, "{report:?}");
    assert_eq!(report.needs_decision[0].key.as_deref(), Some("k-u"));
    // pay again: still no re-send.
    assert!(j.pay(&client, "order-u", &req).await.unwrap_err().is_unresolved());
    assert_eq!(sb.count("POST", "/unprotected-payouts"), 1);
    assert!(fake.created().is_empty());
    j.decide("order-u", Decision::DidNotHappen("checked the dashboard".into()))
        .await
        .unwrap();
    assert_eq!(j.get("order-u").await.unwrap().unwrap().state, State::Failed);
    assert!(
        j.recover::<_, CreateUnprotectedPayout>(&client)
            .await
            .unwrap()
            .is_empty()
    );
}

fn finder<'a>(c: &'a FakeClient, r: &'a CreateOrder) -> Candidates<'a, Order> {
    Box::pin(find_orders(c, r))
}

#[tokio::test]
async fn an_unkeyed_order_needs_a_decision_with_candidates() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let j = journal("unkeyed").await;
    sb.fail_next_on("POST", "/orders", 1, Fault::DropAfterProcessing);
    let req = CreateOrder {
        to: "gina".into(),
        amount: 40,
    };
    let err = j.pay_unprotected(&client, "order-o", &req).await.unwrap_err();
    assert!(err.payout().is_some(), "{err:?}");
    let again = j.pay_unprotected(&client, "order-o", &req).await.unwrap_err();
    assert!(matches!(again, Error::NeedsDecision { .. }), "{again:?}");
    let report = j.recover_unprotected_with(&client, finder).await.unwrap();
    assert_eq!(report.needs_decision.len(), 1, "{report:?}");
    assert_eq!(report.needs_decision[0].candidates.len(), 1);
    assert_eq!(report.needs_decision[0].candidates[0]["to"], "gina");
    assert_eq!(sb.count("POST", "/orders"), 1, "never sent again");
    assert_eq!(fake.created().len(), 1);
    j.decide(
        "order-o",
        Decision::Happened(report.needs_decision[0].candidates[0].clone()),
    )
    .await
    .unwrap();
    let done = j.pay_unprotected(&client, "order-o", &req).await.unwrap();
    assert_eq!(done.to, "gina");
}

#[tokio::test]
async fn a_fine_unkeyed_order_settles() {
    let (_fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let j = journal("unkeyed-ok").await;
    let req = CreateOrder {
        to: "hal".into(),
        amount: 1,
    };
    let o = j.pay_unprotected(&client, "order-h", &req).await.unwrap();
    assert_eq!(j.pay_unprotected(&client, "order-h", &req).await.unwrap(), o);
    assert_eq!(sb.count("POST", "/orders"), 1);
}

#[tokio::test]
async fn the_outbox_commits_with_the_users_transaction_or_not_at_all() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let dir = temp_dir("outbox");
    let path = dir.join("app.db");
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    migrate(&conn).unwrap();
    conn.execute_batch("CREATE TABLE balances (user TEXT PRIMARY KEY, cents INTEGER NOT NULL); INSERT INTO balances VALUES ('ivy', 1000);")
        .unwrap();
    let req = CreatePayout::new("k-ob", "ivy", 400);
    {
        let tx = conn.transaction().unwrap();
        tx.execute("UPDATE balances SET cents = cents - 400 WHERE user = 'ivy'", [])
            .unwrap();
        assert!(record_in::<FakeClient, _>(&tx, "withdraw-1", &req).unwrap());
        tx.rollback().unwrap();
    }
    let j = Journal::new(SqliteStore::open(&path).await.unwrap());
    assert!(
        j.get("withdraw-1").await.unwrap().is_none(),
        "rolled back with the debit"
    );
    {
        let tx = conn.transaction().unwrap();
        tx.execute("UPDATE balances SET cents = cents - 400 WHERE user = 'ivy'", [])
            .unwrap();
        assert!(record_in::<FakeClient, _>(&tx, "withdraw-1", &req).unwrap());
        tx.commit().unwrap();
    }
    let tx = conn.transaction().unwrap();
    assert!(
        !record_in::<FakeClient, _>(&tx, "withdraw-1", &req).unwrap(),
        "already recorded"
    );
    assert!(record_in::<FakeClient, _>(&tx, "withdraw-1", &CreatePayout::new("k-ob", "ivy", 1)).is_err());
    drop(tx);
    assert_eq!(j.get("withdraw-1").await.unwrap().unwrap().state, State::Recorded);
    assert!(sb.requests().is_empty(), "recording sends nothing");
    let report = j.dispatch::<_, CreatePayout>(&client).await.unwrap();
    assert_eq!(report.sent, vec!["withdraw-1".to_string()], "{report:?}");
    assert!(j.dispatch::<_, CreatePayout>(&client).await.unwrap().is_empty());
    assert_eq!(fake.created(), vec!["k-ob".to_string()]);
}

#[tokio::test]
async fn two_workers_on_one_file_pay_once() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let dir = temp_dir("two");
    let a = Journal::open(dir.join("j.db")).await.unwrap();
    let b = Journal::open(dir.join("j.db")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let req = CreatePayout::new(&format!("k-{i}"), "jo", 5);
        let id = format!("order-{i}");
        tasks.push((
            a.pay(&client, &id, &req).await.is_ok(),
            b.pay(&client, &id, &req).await.is_ok(),
        ));
    }
    assert!(tasks.iter().all(|(x, y)| *x && *y));
    assert_eq!(fake.created().len(), 40);
    assert!(fake.duplicates().is_empty());
}

#[tokio::test]
async fn dedupe_remembers_for_its_ttl_across_reopen() {
    let dir = temp_dir("dedupe");
    let s = SqliteStore::open(dir.join("d.db")).await.unwrap();
    let ttl = Duration::from_millis(300);
    assert!(!s.seen_or_insert("evt-1", ttl).await.unwrap());
    assert!(s.seen_or_insert("evt-1", ttl).await.unwrap());
    drop(s);
    let s = SqliteStore::open(dir.join("d.db")).await.unwrap();
    assert!(
        s.seen_or_insert("evt-1", ttl).await.unwrap(),
        "durable across reopen"
    );
    s.forget("evt-1").await.unwrap();
    assert!(
        !s.seen_or_insert("evt-1", ttl).await.unwrap(),
        "forgotten: handled again"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(!s.seen_or_insert("evt-1", ttl).await.unwrap(), "expired");
}

#[tokio::test]
async fn pay_keyed_refuses_a_call_the_provider_does_not_deduplicate_before_recording_it() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let j = journal("keyed-refuse").await;
    let req = CreateUnprotectedPayout {
        key: "k-u".into(),
        to: "carol".into(),
        amount: 5,
    };
    let err = j.pay_keyed(&client, "order-u", &req).await.unwrap_err();
    assert!(
        err.payout().is_some_and(|e| e.kind() == ErrorKind::InvalidInput),
        "{err:?}"
    );
    assert!(j.get("order-u").await.unwrap().is_none(), "nothing recorded");
    assert!(sb.requests().is_empty(), "nothing sent");
    assert!(
        j.recover_keyed::<_, CreateUnprotectedPayout>(&client)
            .await
            .is_err()
    );
    assert!(fake.books.lock().unwrap().created_to.is_empty());
}

#[tokio::test]
async fn pay_keyed_resends_an_ambiguous_key_protected_payout_with_its_key() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let j = journal("keyed-resend").await;
    // Processed, answer lost on each of the first call's 3 attempts (2 retries).
    sb.fail_next_on("POST", "/payouts", 3, Fault::DropAfterProcessing);
    let req = CreatePayout::new("k-r", "dave", 7);
    let err = j.pay_keyed(&client, "order-r", &req).await.unwrap_err();
    assert!(err.is_unresolved() || err.payout().is_some(), "{err:?}");
    assert_eq!(j.get("order-r").await.unwrap().unwrap().state, State::Ambiguous);
    let report = j.recover_keyed::<_, CreatePayout>(&client).await.unwrap();
    assert!(report.all_final(), "{report:?}");
    assert_eq!(report.resent, vec!["order-r".to_string()]);
    let (dups, _) = fake.duplicates_by_to();
    assert!(dups.is_empty(), "{dups:?}");
    assert_eq!(sb.count("POST", "/payouts"), 4, "3 attempts, then 1 re-send");
    assert_eq!(j.get("order-r").await.unwrap().unwrap().state, State::Settled);
}

#[tokio::test]
async fn pay_keyed_never_resends_beyond_the_providers_replay_window() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let j = journal("keyed-window")
        .await
        .replay_window(Duration::from_millis(50));
    sb.fail_next_on("POST", "/payouts", 3, Fault::DropAfterProcessing);
    let req = CreatePayout::new("k-w", "erin", 9);
    assert!(j.pay_keyed(&client, "order-w", &req).await.is_err());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let report = j.recover_keyed::<_, CreatePayout>(&client).await.unwrap();
    assert_eq!(report.needs_decision.len(), 1, "{report:?}");
    assert_eq!(report.needs_decision[0].key.as_deref(), Some("k-w"));
    assert_eq!(sb.count("POST", "/payouts"), 3, "not re-sent");
    let again = j.pay_keyed(&client, "order-w", &req).await.unwrap_err();
    assert!(matches!(again, Error::NeedsDecision { .. }), "{again:?}");
    assert_eq!(fake.books.lock().unwrap().created_to.len(), 1);
}
