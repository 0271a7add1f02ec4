//! A database that fails after the provider answered: the caller must learn that the payout
//! may exist (`Error::Unrecorded`, `is_unresolved()`), and the intent must stay unfinished so
//! that `pay` with the same business id or `recover` settles it without paying twice.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use payout_core::ReconcilePolicy;
use payout_journal::sqlite::SqliteStore;
use payout_journal::store::{Inserted, Lease, NewIntent};
use payout_journal::{Error, IntentRecord, Journal, Result, State, Store};
use support::*;

/// SQLite, except that recording an outcome fails while `broken` is set (a disk that fills
/// up, a lost connection) — after the send, the worst moment.
#[derive(Clone)]
struct FailingFinish {
    inner: Arc<SqliteStore>,
    broken: Arc<AtomicBool>,
}

impl Store for FailingFinish {
    async fn insert(&self, new: &NewIntent, lease: &Lease) -> Result<Inserted> {
        self.inner.insert(new, lease).await
    }
    async fn claim(&self, business_id: &str, lease: &Lease) -> Result<Option<IntentRecord>> {
        self.inner.claim(business_id, lease).await
    }
    async fn claim_batch(
        &self,
        provider: &str,
        operation: &str,
        limit: u32,
        touched_before: i64,
        lease: &Lease,
    ) -> Result<Vec<IntentRecord>> {
        self.inner
            .claim_batch(provider, operation, limit, touched_before, lease)
            .await
    }
    async fn mark_sent(&self, business_id: &str, lease: &Lease) -> Result<bool> {
        self.inner.mark_sent(business_id, lease).await
    }
    async fn finish(
        &self,
        business_id: &str,
        lease: &Lease,
        state: State,
        result: Option<String>,
        error: Option<String>,
    ) -> Result<bool> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(Error::Storage("disk I/O error (simulated)".into()));
        }
        self.inner.finish(business_id, lease, state, result, error).await
    }
    async fn get(&self, business_id: &str) -> Result<Option<IntentRecord>> {
        self.inner.get(business_id).await
    }
    async fn unfinished(&self) -> Result<Vec<IntentRecord>> {
        self.inner.unfinished().await
    }
}

#[tokio::test]
async fn an_outcome_that_cannot_be_recorded_is_unresolved_and_settles_once_later() {
    let (fake, sb) = start().await;
    let client = FakeClient::new(&sb.base_url());
    let dir = temp_dir("unrecorded");
    let store = FailingFinish {
        inner: Arc::new(SqliteStore::open(dir.join("journal.db")).await.unwrap()),
        broken: Arc::new(AtomicBool::new(true)),
    };
    let j = Journal::new(store.clone()).reconcile_policy(ReconcilePolicy::once());
    let req = CreatePayout::new("k-unrec", "alice", 500);

    let err = j.pay(&client, "order-unrec", &req).await.unwrap_err();
    assert!(
        matches!(&err, Error::Unrecorded { business_id, outcome, .. }
            if business_id == "order-unrec" && *outcome == "the provider accepted it"),
        "{err:?}"
    );
    assert!(
        err.is_unresolved(),
        "the payout exists: never pay it under another id"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("same business id") && msg.contains("never pay it under another"),
        "{msg}"
    );
    assert_eq!(fake.created(), vec!["k-unrec".to_string()], "paid once");
    let rec = j.get("order-unrec").await.unwrap().unwrap();
    assert_eq!(rec.state, State::Sent, "left unfinished, never forgotten");

    // The database is back: `recover` (a restart: the lease is this worker's own) finds the
    // payout by its key and settles it without a second payout.
    store.broken.store(false, Ordering::SeqCst);
    let report = j.recover::<_, CreatePayout>(&client).await.unwrap();
    assert_eq!(report.settled, vec!["order-unrec".to_string()], "{report:?}");
    assert_eq!(fake.created(), vec!["k-unrec".to_string()], "still paid once");
    assert_eq!(j.get("order-unrec").await.unwrap().unwrap().state, State::Settled);
    // And the caller's retry with the same business id now gets the payout.
    let out = j.pay(&client, "order-unrec", &req).await.unwrap();
    assert_eq!(out.to, "alice");
    assert_eq!(fake.created().len(), 1);
}
