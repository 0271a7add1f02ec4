//! A small pool of `tokio-postgres` connections for [`crate::postgres::PgStore`] (about 150
//! lines of our own rather than deadpool or bb8: the store needs "a live connection, or a
//! fresh one after a bounded backoff", nothing more).
//!
//! * At most `size` connections are open; a call waits for a free one.
//! * A connection is checked out for one statement (or one short transaction) and handed back
//!   at once, never held across a provider call.
//! * A connection that is closed (`Client::is_closed`) is never handed out; one whose
//!   statement failed at the connection level is dropped by the caller
//!   ([`PooledClient::discard`]), together with every idle one (they most likely went down
//!   in the same restart, failover or proxy cut), and replaced on next use.
//! * Opening a connection is retried with an exponential backoff, bounded in attempts.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::{Client, Config, NoTls};

/// How the pool behaves (see [`crate::postgres::PgOptions`]).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) size: usize,
    pub(crate) connect_attempts: u32,
    pub(crate) backoff: Duration,
    pub(crate) max_backoff: Duration,
}

impl Settings {
    /// The wait before connect attempt `attempt + 1` (`attempt` starts at 1).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

pub(crate) struct Pool {
    config: Config,
    settings: Settings,
    idle: Mutex<Vec<Client>>,
    permits: Arc<Semaphore>,
    in_use: AtomicUsize,
    peak_in_use: AtomicUsize,
    opened: AtomicU64,
    dropped: AtomicU64,
}

/// A snapshot of the pool (for metrics and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStatus {
    /// The most connections the pool opens at once (`PgOptions::pool_size`).
    pub size: usize,
    /// Connections idle in the pool now.
    pub idle: usize,
    /// Connections checked out now.
    pub in_use: usize,
    /// The most connections ever checked out at the same time.
    pub peak_in_use: usize,
    /// Connections opened since the store was created (the first one included).
    pub opened: u64,
    /// Connections dropped because they were closed or failed at the connection level.
    pub dropped: u64,
}

impl Pool {
    pub(crate) fn new(config: Config, settings: Settings) -> Arc<Pool> {
        Arc::new(Pool {
            config,
            permits: Arc::new(Semaphore::new(settings.size.max(1))),
            settings,
            idle: Mutex::new(Vec::new()),
            in_use: AtomicUsize::new(0),
            peak_in_use: AtomicUsize::new(0),
            opened: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Client>> {
        // A panic while holding this lock leaves a plain Vec: still consistent.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A live connection: an idle one, or a new one (connect retried with the backoff).
    /// `Err` carries the last connect error and the number of attempts.
    pub(crate) async fn get(self: &Arc<Self>) -> Result<PooledClient, (tokio_postgres::Error, u32)> {
        // The semaphore is never closed, so `acquire_owned` cannot fail; fall back to
        // connecting without a permit rather than panicking if it ever did.
        let permit = Arc::clone(&self.permits).acquire_owned().await.ok();
        let reused = loop {
            let Some(c) = self.idle().pop() else { break None };
            if c.is_closed() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            } else {
                break Some(c);
            }
        };
        let client = match reused {
            Some(c) => c,
            None => self.open().await?,
        };
        let now = self.in_use.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_in_use.fetch_max(now, Ordering::Relaxed);
        Ok(PooledClient {
            pool: Arc::clone(self),
            client: Some(client),
            discarded: false,
            _permit: permit,
        })
    }

    async fn open(&self) -> Result<Client, (tokio_postgres::Error, u32)> {
        let mut attempt = 1;
        loop {
            match self.config.connect(NoTls).await {
                Ok((client, conn)) => {
                    self.opened.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "payout journal: a PostgreSQL connection closed");
                        }
                    });
                    return Ok(client);
                }
                Err(e) if attempt < self.settings.connect_attempts => {
                    let wait = self.settings.delay(attempt);
                    tracing::warn!(error = %e, attempt, wait_ms = wait.as_millis() as u64,
                        "payout journal: cannot connect to PostgreSQL; retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err((e, attempt)),
            }
        }
    }

    /// Drops every idle connection (after a connection-level failure: they most likely
    /// went down with it); each is reopened on next use.
    pub(crate) fn evict_idle(&self) {
        let n = std::mem::take(&mut *self.idle()).len();
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn status(&self) -> PoolStatus {
        PoolStatus {
            size: self.settings.size.max(1),
            idle: self.idle().len(),
            in_use: self.in_use.load(Ordering::Relaxed),
            peak_in_use: self.peak_in_use.load(Ordering::Relaxed),
            opened: self.opened.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// A connection checked out of the store's pool; it goes back to the pool when dropped
/// (unless it was closed). Dereferences to [`tokio_postgres::Client`] (mutably too, for
/// `transaction()`).
pub struct PooledClient {
    pool: Arc<Pool>,
    /// `Some` until dropped (only `Drop` takes it).
    client: Option<Client>,
    discarded: bool,
    _permit: Option<OwnedSemaphorePermit>,
}

impl std::fmt::Debug for PooledClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledClient").finish_non_exhaustive()
    }
}

impl PooledClient {
    /// Drops this connection instead of handing it back, and every idle one with it (a
    /// connection-level failure: they are reopened on next use).
    pub(crate) fn discard(mut self) {
        self.discarded = true;
        self.pool.evict_idle();
    }
}

impl std::ops::Deref for PooledClient {
    type Target = Client;
    fn deref(&self) -> &Client {
        match &self.client {
            Some(c) => c,
            None => unreachable!("only Drop takes the client"),
        }
    }
}

impl std::ops::DerefMut for PooledClient {
    fn deref_mut(&mut self) -> &mut Client {
        match &mut self.client {
            Some(c) => c,
            None => unreachable!("only Drop takes the client"),
        }
    }
}

impl Drop for PooledClient {
    fn drop(&mut self) {
        self.pool.in_use.fetch_sub(1, Ordering::Relaxed);
        if let Some(c) = self.client.take() {
            if self.discarded || c.is_closed() {
                self.pool.dropped.fetch_add(1, Ordering::Relaxed);
            } else {
                self.pool.idle().push(c);
            }
        }
    }
}
