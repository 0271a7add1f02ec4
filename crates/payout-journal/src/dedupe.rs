//! A durable store for webhook deduplication: "have I handled this delivery already?",
//! answered across restarts (SQLite) and across instances (PostgreSQL).
//!
//! Implemented by [`crate::sqlite::SqliteStore`] and (feature `postgres`)
//! `postgres::PgStore` on their own table (`payout_dedupe`), beside the journal. Once
//! `payout-core` has its dedupe trait (the webhook receivers' issue), these stores implement
//! that trait too; this one keeps the same shape so the change is mechanical.
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

use crate::error::Result;

/// Remembers delivery keys (an event id, or a hash of the verified body) for a while.
pub trait DedupeStore: Send + Sync {
    /// Atomically: `true` if `key` was seen within its time to live (a duplicate: do not
    /// handle it again), otherwise remembers it for `ttl` and returns `false`.
    fn seen_or_insert(&self, key: &str, ttl: Duration) -> impl Future<Output = Result<bool>> + Send;

    /// Forgets `key`, so that a redelivery is handled again (call it when your handler failed
    /// and you answered the provider with a status that makes it retry).
    fn forget(&self, key: &str) -> impl Future<Output = Result<()>> + Send;
}
