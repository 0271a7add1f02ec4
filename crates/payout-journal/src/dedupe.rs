//! A durable store for webhook deduplication: "have I handled this delivery already?",
//! answered across restarts (SQLite) and across instances (PostgreSQL).
//!
//! Implemented by [`crate::sqlite::SqliteStore`] and (feature `postgres`)
//! `postgres::PgStore`, beside the journal: [`DedupeStore::seen_or_insert`] on the
//! `payout_dedupe` table, and the claim / commit / release protocol of the webhook receivers
//! ([`payout_core::dedupe::Dedupe`]) on `payout_dedupe_claims`. [`DurableDedupe`] wraps
//! either store as a `payout_core::dedupe::Dedupe`, with the same time-to-live defaults as
//! the in-memory `MemoryDedupe`, so a receiver remembers deliveries across restarts (SQLite)
//! or across instances (PostgreSQL):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use payout_core::dedupe::{Claim, Dedupe};
//! use payout_journal::dedupe::DurableDedupe;
//! let dir = std::env::temp_dir().join(format!("dedupe-claims-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let store = payout_journal::sqlite::SqliteStore::open(dir.join("journal.db")).await?;
//! let dedupe: Arc<dyn Dedupe> = Arc::new(DurableDedupe::new(store));
//! assert_eq!(dedupe.claim("xrocket:evt-1").await?, Claim::New);      // handle it
//! assert_eq!(dedupe.claim("xrocket:evt-1").await?, Claim::InFlight); // a concurrent retry
//! dedupe.commit("xrocket:evt-1").await?;                              // handler succeeded
//! assert_eq!(dedupe.claim("xrocket:evt-1").await?, Claim::Done);     // a later retry: skip
//! # std::fs::remove_dir_all(&dir).ok(); Ok(()) }
//! ```
//!
//! The older one-step form:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> payout_journal::Result<()> {
//! use std::time::Duration;
//! use payout_journal::dedupe::DedupeStore;
//! let dir = std::env::temp_dir().join(format!("dedupe-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let store = payout_journal::sqlite::SqliteStore::open(dir.join("journal.db")).await?;
//! let day = Duration::from_secs(86_400);
//! assert!(!store.seen_or_insert("evt_1", day).await?);   // first delivery: handle it
//! assert!(store.seen_or_insert("evt_1", day).await?);    // a retried delivery: skip it
//! # std::fs::remove_dir_all(&dir).ok(); Ok(()) }
//! ```

use std::future::Future;
use std::time::Duration;

use payout_core::dedupe::{Claim, DedupeError, DedupeFuture};

use crate::error::Result;

/// Remembers delivery keys (an event id, or a hash of the verified body) for a while.
pub trait DedupeStore: Send + Sync {
    /// Atomically: `true` if `key` was seen within its time to live (a duplicate: do not
    /// handle it again), otherwise remembers it for `ttl` and returns `false`.
    fn seen_or_insert(&self, key: &str, ttl: Duration) -> impl Future<Output = Result<bool>> + Send;

    /// Forgets `key`, so that a redelivery is handled again (call it when your handler failed
    /// and you answered the provider with a status that makes it retry).
    fn forget(&self, key: &str) -> impl Future<Output = Result<()>> + Send;

    /// Atomically: if `key` is unknown, expired or released, marks it in flight for
    /// `in_flight_ttl` and returns [`Claim::New`]; otherwise [`Claim::Done`] (committed) or
    /// [`Claim::InFlight`] (claimed, neither committed nor released, not expired).
    fn claim(&self, key: &str, in_flight_ttl: Duration) -> impl Future<Output = Result<Claim>> + Send;

    /// Remembers `key` as done for `ttl` (the handler succeeded).
    fn commit(&self, key: &str, ttl: Duration) -> impl Future<Output = Result<()>> + Send;

    /// Forgets an in-flight claim of `key` (the handler failed), so the provider's retry is
    /// handled again. A committed key stays done.
    fn release(&self, key: &str) -> impl Future<Output = Result<()>> + Send;
}

/// A durable [`payout_core::dedupe::Dedupe`] on a journal store: the webhook receivers'
/// claim / commit / release on SQLite (across restarts) or PostgreSQL (across instances).
///
/// Handled keys are remembered for `payout_core::dedupe::DEFAULT_TTL` (72 h) and in-flight
/// claims held for `DEFAULT_IN_FLIGHT_TTL` (5 min), as in `MemoryDedupe`; both are
/// settable. A claim whose process died is claimable again once its in-flight time expires.
#[derive(Debug, Clone)]
pub struct DurableDedupe<S> {
    store: S,
    ttl: Duration,
    in_flight_ttl: Duration,
}

impl<S> DurableDedupe<S> {
    /// Wraps `store` with the default times to live.
    pub fn new(store: S) -> Self {
        DurableDedupe {
            store,
            ttl: payout_core::dedupe::DEFAULT_TTL,
            in_flight_ttl: payout_core::dedupe::DEFAULT_IN_FLIGHT_TTL,
        }
    }

    /// How long a handled key is remembered.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long an in-flight claim is held before a retry may claim the key again.
    pub fn in_flight_ttl(mut self, ttl: Duration) -> Self {
        self.in_flight_ttl = ttl;
        self
    }

    /// The wrapped store.
    pub fn store(&self) -> &S {
        &self.store
    }
}

fn dedupe_error(e: crate::Error) -> DedupeError {
    DedupeError::new("the journal's dedupe table", e)
}

impl<S: DedupeStore> payout_core::dedupe::Dedupe for DurableDedupe<S> {
    fn claim<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, Claim> {
        Box::pin(async move {
            DedupeStore::claim(&self.store, key, self.in_flight_ttl)
                .await
                .map_err(dedupe_error)
        })
    }

    fn commit<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()> {
        Box::pin(async move {
            DedupeStore::commit(&self.store, key, self.ttl)
                .await
                .map_err(dedupe_error)
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()> {
        Box::pin(async move { DedupeStore::release(&self.store, key).await.map_err(dedupe_error) })
    }
}

pub(crate) fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)
}
