//! One journal's own concurrent calls share its worker id, so leases alone cannot keep them
//! apart (a claim takes back the worker's own leases, as a restarted worker must). These tests
//! hold the in-process rules: a recovery pass never takes over a payout the same journal is
//! sending, and a second call for a business id in flight answers `Busy`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use payout_core::ReconcilePolicy;
use payout_core::sandbox::Fault;
use payout_journal::{Error, Journal, State};
use support::*;

async fn journal(name: &str) -> Arc<Journal> {
    let dir = temp_dir(name);
    Arc::new(
        Journal::open(dir.join("journal.db"))
            .await
            .unwrap()
            .reconcile_policy(ReconcilePolicy::once()),
    )
}

#[tokio::test]
async fn recover_during_a_payout_of_the_same_journal_waits_and_sends_nothing() {
    let (fake, sb) = start().await;
    let client = Arc::new(FakeClient::new(&sb.base_url()));
    let j = journal("in-process-recover").await;
    // The provider takes 600 ms: the intent is `sent` and unfinished all that time.
    sb.fail_next_on("POST", "/payouts", 1, Fault::Delay(Duration::from_millis(600)));
    let paying = {
        let (j, client) = (j.clone(), client.clone());
        tokio::spawn(async move {
            j.pay(&*client, "order-slow", &CreatePayout::new("k-slow", "alice", 500))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(j.get("order-slow").await.unwrap().unwrap().state, State::Sent);

    let report = j.recover::<_, CreatePayout>(&*client).await.unwrap();
    assert!(
        report.is_empty(),
        "the pass waited for the payout, then found nothing open: {report:?}"
    );
    paying.await.unwrap().unwrap();
    assert_eq!(fake.created(), vec!["k-slow".to_string()]);
    let posts = sb.requests().iter().filter(|r| r.method == "POST").count();
    let lookups = sb.requests().iter().filter(|r| r.method == "GET").count();
    assert_eq!(
        (posts, lookups),
        (1, 0),
        "no second send, no lookup of a payout in flight"
    );
}

#[tokio::test]
async fn a_second_call_for_a_business_id_in_flight_is_busy() {
    let (fake, sb) = start().await;
    let client = Arc::new(FakeClient::new(&sb.base_url()));
    let j = journal("in-process-busy").await;
    sb.fail_next_on("POST", "/payouts", 1, Fault::Delay(Duration::from_millis(500)));
    let req = CreatePayout::new("k-busy", "bob", 700);
    let first = {
        let (j, client, req) = (j.clone(), client.clone(), req.clone());
        tokio::spawn(async move { j.pay(&*client, "order-busy", &req).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let err = j.pay(&*client, "order-busy", &req).await.unwrap_err();
    assert!(matches!(err, Error::Busy { .. }), "{err:?}");
    assert!(err.is_unresolved());
    let out = first.await.unwrap().unwrap();
    // Once the first call is done, the same call answers from the journal.
    assert_eq!(j.pay(&*client, "order-busy", &req).await.unwrap(), out);
    assert_eq!(fake.created(), vec!["k-busy".to_string()]);
    assert_eq!(sb.requests().iter().filter(|r| r.method == "POST").count(), 1);
}
