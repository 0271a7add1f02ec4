//! `payout_core::dedupe::Dedupe` (the webhook receivers' claim / commit / release) on the
//! journal's stores, through `DurableDedupe`: SQLite (remembered across a reopen) and
//! PostgreSQL (shared by instances; `PAYOUT_TEST_POSTGRES_URL`, provided by `cargo xtask
//! test`, fails without it).

mod support;

use std::sync::Arc;
use std::time::Duration;

use payout_core::dedupe::{Claim, Dedupe};
use payout_journal::dedupe::DurableDedupe;
use payout_journal::sqlite::SqliteStore;
use support::*;

/// The protocol, on two handles of one store (`a`, `b`: two processes or instances).
async fn claim_commit_release(a: Arc<dyn Dedupe>, b: Arc<dyn Dedupe>) {
    // First delivery: new, then in flight for everyone else.
    assert_eq!(a.claim("evt-1").await.unwrap(), Claim::New);
    assert_eq!(b.claim("evt-1").await.unwrap(), Claim::InFlight);
    assert_eq!(a.claim("evt-1").await.unwrap(), Claim::InFlight);
    // The handler succeeded: done, for both.
    a.commit("evt-1").await.unwrap();
    assert_eq!(b.claim("evt-1").await.unwrap(), Claim::Done);
    // A release after the commit does not forget a handled delivery.
    b.release("evt-1").await.unwrap();
    assert_eq!(a.claim("evt-1").await.unwrap(), Claim::Done);

    // The handler failed: released, so the provider's retry is handled again.
    assert_eq!(b.claim("evt-2").await.unwrap(), Claim::New);
    b.release("evt-2").await.unwrap();
    assert_eq!(a.claim("evt-2").await.unwrap(), Claim::New);
    a.commit("evt-2").await.unwrap();

    // A claim whose process died (never committed nor released) expires: 200 ms here.
    assert_eq!(a.claim("evt-3").await.unwrap(), Claim::New);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        b.claim("evt-3").await.unwrap(),
        Claim::New,
        "the in-flight claim expired"
    );
    // A handled key is forgotten after its time to live: 600 ms here.
    b.commit("evt-3").await.unwrap();
    assert_eq!(a.claim("evt-3").await.unwrap(), Claim::Done);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        a.claim("evt-3").await.unwrap(),
        Claim::New,
        "expired after its ttl"
    );

    // Concurrent first deliveries: exactly one is new.
    for i in 0..20 {
        let key = format!("race-{i}");
        let (x, y) = tokio::join!(a.claim(&key), b.claim(&key));
        let new = [x.unwrap(), y.unwrap()]
            .iter()
            .filter(|c| **c == Claim::New)
            .count();
        assert_eq!(new, 1, "{key}");
    }
}

fn durable<S>(store: S) -> Arc<dyn Dedupe>
where
    DurableDedupe<S>: Dedupe + 'static,
{
    Arc::new(
        DurableDedupe::new(store)
            .ttl(Duration::from_millis(600))
            .in_flight_ttl(Duration::from_millis(200)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dedupe_protocol_on_sqlite_two_connections() {
    let db = temp_dir("dedupe-claims").join("d.db");
    let a = SqliteStore::open(&db).await.unwrap();
    let b = SqliteStore::open(&db).await.unwrap();
    claim_commit_release(durable(a), durable(b)).await;
}

#[tokio::test]
async fn a_committed_delivery_is_remembered_across_a_reopen_on_sqlite() {
    let db = temp_dir("dedupe-reopen").join("d.db");
    {
        let d = DurableDedupe::new(SqliteStore::open(&db).await.unwrap());
        assert_eq!(d.claim("rohopay:sha256:ab").await.unwrap(), Claim::New);
        d.commit("rohopay:sha256:ab").await.unwrap();
        assert_eq!(d.claim("xrocket:evt-9").await.unwrap(), Claim::New); // dies in flight
    }
    let d = DurableDedupe::new(SqliteStore::open(&db).await.unwrap());
    assert_eq!(d.claim("rohopay:sha256:ab").await.unwrap(), Claim::Done);
    assert_eq!(
        d.claim("xrocket:evt-9").await.unwrap(),
        Claim::InFlight,
        "held until the in-flight time expires (5 min by default)"
    );
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dedupe_protocol_on_postgres_two_instances() {
    use payout_journal::postgres::PgStore;
    let url = fresh_postgres_db("dedupeclaims").await;
    let a = PgStore::connect(&url).await.unwrap();
    let b = PgStore::connect(&url).await.unwrap();
    claim_commit_release(durable(a), durable(b)).await;
}
