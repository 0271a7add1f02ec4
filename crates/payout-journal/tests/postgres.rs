//! The journal on a real PostgreSQL (`PAYOUT_TEST_POSTGRES_URL`, provided by
//! `cargo xtask test`; these tests fail, never skip, without it): pay once, recovery,
//! leases (a dead worker's intent is taken over after its lease expires, never before),
//! the outbox in the user's own transaction, and the durable dedupe store.
#![cfg(feature = "postgres")]

mod support;

use std::time::Duration;

use payout_core::sandbox::Fault;
use payout_core::{ApiClient, Endpoint, ReconcilePolicy};
use payout_journal::dedupe::DedupeStore;
use payout_journal::postgres::{PgStore, record_in, tokio_postgres};
use payout_journal::store::{Inserted, Lease, NewIntent};
use payout_journal::{Journal, State, Store};
use support::*;

async fn journal(name: &str) -> (Journal<PgStore>, String) {
    let url = fresh_postgres_db(name).await;
    let j = Journal::connect_postgres(&url)
        .await
        .unwrap()
        .reconcile_policy(ReconcilePolicy::once());
    (j, url)
}

#[tokio::test]
async fn pays_once_resumes_and_conflicts_on_postgres() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let (j, _) = journal("once").await;
    let req = CreatePayout::new("k-1", "alice", 5);
    let p = j.pay(&client, "order-1", &req).await.unwrap();
    assert_eq!(
        j.pay(&client, "order-1", &CreatePayout::new("k-x", "alice", 5))
            .await
            .unwrap(),
        p
    );
    assert!(
        j.pay(&client, "order-1", &CreatePayout::new("k-1", "alice", 6))
            .await
            .is_err()
    );
    // An unknown outcome, settled by recover's lookup.
    sb.fail_next_on("POST", "/payouts", 3, Fault::DropAfterRead);
    assert!(
        j.pay(&client, "order-2", &CreatePayout::new("k-2", "bob", 5))
            .await
            .is_err()
    );
    assert_eq!(j.get("order-2").await.unwrap().unwrap().state, State::Ambiguous);
    let report = j.recover::<_, CreatePayout>(&client).await.unwrap();
    assert_eq!(report.resent, vec!["order-2".to_string()], "{report:?}");
    assert_eq!(fake.created(), vec!["k-1".to_string(), "k-2".to_string()]);
}

fn intent(id: &str, key: &str) -> NewIntent {
    let req = CreatePayout::new(key, "zed", 9);
    NewIntent {
        business_id: id.to_string(),
        provider: FakeClient::PROVIDER.to_string(),
        operation: CreatePayout::META.operation.to_string(),
        safety: "key_protected".to_string(),
        key_name: Some("Idempotency-Key".to_string()),
        key: Some(key.to_string()),
        request: serde_json::to_string(&req).unwrap(),
        state: State::Sent,
    }
}

#[tokio::test]
async fn a_dead_workers_intent_waits_for_its_lease_then_is_taken_over() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let (j, url) = journal("lease").await;
    // Worker "dead" committed the intent as sent and died holding a 400 ms lease.
    let dead = Lease::new("dead", Duration::from_millis(400));
    assert!(matches!(
        j.store().insert(&intent("order-l", "k-l"), &dead).await.unwrap(),
        Inserted::New(_)
    ));
    let other = Journal::connect_postgres(&url)
        .await
        .unwrap()
        .reconcile_policy(ReconcilePolicy::once());
    assert!(
        other
            .recover::<_, CreatePayout>(&client)
            .await
            .unwrap()
            .is_empty(),
        "lease still alive"
    );
    let busy = other
        .pay(&client, "order-l", &CreatePayout::new("k-l", "zed", 9))
        .await
        .unwrap_err();
    assert!(matches!(busy, payout_journal::Error::Busy { .. }), "{busy:?}");
    assert!(sb.requests().is_empty());
    tokio::time::sleep(Duration::from_millis(450)).await;
    let report = other.recover::<_, CreatePayout>(&client).await.unwrap();
    assert_eq!(report.resent, vec!["order-l".to_string()], "{report:?}");
    assert_eq!(fake.created(), vec!["k-l".to_string()]);
    // The dead worker's lease is gone: it can no longer record anything.
    assert!(
        !j.store()
            .finish("order-l", &dead, State::Failed, None, None)
            .await
            .unwrap()
    );
    assert_eq!(j.get("order-l").await.unwrap().unwrap().state, State::Settled);
}

#[tokio::test]
async fn claim_batch_never_hands_one_intent_to_two_workers() {
    let (j, url) = journal("skiplocked").await;
    let outbox = Lease::new("", Duration::ZERO);
    for i in 0..200 {
        let mut n = intent(&format!("b-{i}"), &format!("k-{i}"));
        n.state = State::Recorded;
        j.store().insert(&n, &outbox).await.unwrap();
    }
    let a = PgStore::connect(&url).await.unwrap();
    let b = PgStore::connect(&url).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    // As `recover` does: only intents last touched when this pass started...
    let now = payout_journal::store::now_ms();
    // ... and, as `recover` does, only once the clock has moved past it (the pass claims
    // intents touched at or before `now`; its own claims are stamped later).
    while payout_journal::store::now_ms() <= now {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (la, lb) = (
        Lease::new("a", Duration::from_secs(60)),
        Lease::new("b", Duration::from_secs(60)),
    );
    let mut got = Vec::new();
    for _ in 0..20 {
        let (x, y) = tokio::join!(
            a.claim_batch("fakepay", "payouts.create", 7, now, &la),
            b.claim_batch("fakepay", "payouts.create", 7, now, &lb)
        );
        got.extend(x.unwrap().into_iter().map(|r| r.business_id));
        got.extend(y.unwrap().into_iter().map(|r| r.business_id));
    }
    let n = got.len();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), n, "an intent was claimed twice");
    assert_eq!(n, 200);
}

#[tokio::test]
async fn the_outbox_commits_with_the_users_transaction_on_postgres() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let (j, url) = journal("outbox").await;
    let (mut user, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    user.batch_execute("CREATE TABLE balances (who TEXT PRIMARY KEY, cents BIGINT); INSERT INTO balances VALUES ('ivy', 1000)")
        .await
        .unwrap();
    let req = CreatePayout::new("k-ob", "ivy", 400);
    let tx = user.transaction().await.unwrap();
    tx.execute("UPDATE balances SET cents = cents - 400 WHERE who = 'ivy'", &[])
        .await
        .unwrap();
    assert!(record_in::<FakeClient, _>(&tx, "w-1", &req).await.unwrap());
    tx.rollback().await.unwrap();
    assert!(j.get("w-1").await.unwrap().is_none());
    let tx = user.transaction().await.unwrap();
    tx.execute("UPDATE balances SET cents = cents - 400 WHERE who = 'ivy'", &[])
        .await
        .unwrap();
    assert!(record_in::<FakeClient, _>(&tx, "w-1", &req).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(j.get("w-1").await.unwrap().unwrap().state, State::Recorded);
    let report = j.dispatch::<_, CreatePayout>(&client).await.unwrap();
    assert_eq!(report.sent, vec!["w-1".to_string()]);
    assert_eq!(fake.created(), vec!["k-ob".to_string()]);
}

#[tokio::test]
async fn dedupe_on_postgres_is_shared_and_expires() {
    let url = fresh_postgres_db("dedupe").await;
    let a = PgStore::connect(&url).await.unwrap();
    let b = PgStore::connect(&url).await.unwrap();
    let ttl = Duration::from_millis(300);
    assert!(!a.seen_or_insert("evt-1", ttl).await.unwrap());
    assert!(
        b.seen_or_insert("evt-1", ttl).await.unwrap(),
        "seen by another instance"
    );
    b.forget("evt-1").await.unwrap();
    assert!(!a.seen_or_insert("evt-1", ttl).await.unwrap());
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(!b.seen_or_insert("evt-1", ttl).await.unwrap(), "expired");
    // Concurrent first deliveries: exactly one is new.
    let (x, y) = tokio::join!(a.seen_or_insert("evt-2", ttl), b.seen_or_insert("evt-2", ttl));
    assert_ne!(x.unwrap(), y.unwrap());
}
