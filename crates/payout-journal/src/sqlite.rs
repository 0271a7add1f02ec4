//! The SQLite backend (the default): one file, WAL mode, compiled in (`rusqlite` with its
//! bundled SQLite, so no system library is needed).
//!
//! **Durability.** [`Durability::Full`] (the default) runs `PRAGMA synchronous = FULL`: every
//! commit waits for the write-ahead log to reach the disk, so a recorded intent survives a
//! process crash *and* a power loss or kernel panic. [`Durability::Normal`] skips that wait
//! (WAL with `synchronous = NORMAL`): it survives a process crash (SIGKILL, OOM kill, panic)
//! but the last commits may be lost if the machine itself goes down. Its measured cost is in
//! `docs/journal.md`.
//!
//! **Several processes** may open the same file (SQLite serialises writers; a busy writer is
//! waited for up to 10 s). For several machines, use PostgreSQL.
//!
//! The journal's calls run on tokio's blocking pool ([`tokio::task::spawn_blocking`]), so a
//! `fsync` never stalls the async executor.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use payout_core::{ApiClient, Keyed};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::store::{Inserted, IntentRecord, Lease, NewIntent, State, Store, now_ms};

pub use rusqlite;

/// How hard a commit waits for the disk (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous = FULL`: survives power loss. The default.
    #[default]
    Full,
    /// `synchronous = NORMAL`: survives a process crash; the last commits may be lost on power
    /// loss.
    Normal,
}

/// The tables the journal uses, created if missing. Safe to run on every start and on the
/// application's own database (the outbox form keeps the journal beside the application's
/// tables so that one transaction covers both).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS payout_intents (
    business_id TEXT PRIMARY KEY,
    provider    TEXT NOT NULL,
    operation   TEXT NOT NULL,
    safety      TEXT NOT NULL,
    key_name    TEXT,
    key         TEXT,
    request     TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    result      TEXT,
    error       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    lease_owner TEXT,
    lease_until INTEGER
);
CREATE INDEX IF NOT EXISTS payout_intents_open ON payout_intents (provider, operation, state, created_at);
CREATE TABLE IF NOT EXISTS payout_dedupe (
    key        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS payout_dedupe_expiry ON payout_dedupe (expires_at);
CREATE TABLE IF NOT EXISTS payout_dedupe_claims (
    key        TEXT PRIMARY KEY,
    done       INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS payout_dedupe_claims_expiry ON payout_dedupe_claims (expires_at);
";

const COLS: &str = "business_id, provider, operation, safety, key_name, key, request, state, attempts, \
                    result, error, created_at, updated_at, sent_at, lease_owner, lease_until";
const OPEN: &str = "('recorded', 'sent', 'ambiguous')";

/// Creates the journal's tables on `conn` if missing (for the outbox form on your own
/// database; [`SqliteStore::open`] does it for you).
///
/// # Errors
/// If the statements fail.
pub fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch(SCHEMA).map_err(Error::storage)
}

fn row(r: &Row<'_>) -> rusqlite::Result<IntentRecord> {
    let state: String = r.get(7)?;
    Ok(IntentRecord {
        business_id: r.get(0)?,
        provider: r.get(1)?,
        operation: r.get(2)?,
        safety: r.get(3)?,
        key_name: r.get(4)?,
        key: r.get(5)?,
        request: r.get(6)?,
        state: State::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                7,
                rusqlite::types::Type::Text,
                format!("unknown intent state `{state}`").into(),
            )
        })?,
        attempts: r.get(8)?,
        result: r.get(9)?,
        error: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        sent_at: r.get(13)?,
        lease_owner: r.get(14)?,
        lease_until: r.get(15)?,
    })
}

fn insert_on(conn: &Connection, new: &NewIntent, lease: &Lease) -> rusqlite::Result<Inserted> {
    let now = now_ms();
    let sent = new.state == State::Sent;
    let inserted = conn
        .query_row(
            &format!(
                "INSERT INTO payout_intents ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, NULL, ?10, ?10, ?11, ?12, ?13) \
                 ON CONFLICT (business_id) DO NOTHING RETURNING {COLS}"
            ),
            params![
                new.business_id,
                new.provider,
                new.operation,
                new.safety,
                new.key_name,
                new.key,
                new.request,
                new.state.as_str(),
                u32::from(sent),
                now,
                sent.then_some(now),
                sent.then_some(lease.owner.as_str()),
                sent.then_some(lease.until),
            ],
            row,
        )
        .optional()?;
    match inserted {
        Some(r) => Ok(Inserted::New(r)),
        None => conn
            .query_row(
                &format!("SELECT {COLS} FROM payout_intents WHERE business_id = ?1"),
                params![new.business_id],
                row,
            )
            .map(Inserted::Existing),
    }
}

/// The outbox form: records the intent inside **your** transaction, so that it commits with
/// (and only with) your own writes, such as the debit of the customer's balance. Nothing is
/// sent; [`crate::Journal::recover`] (the dispatcher) sends it afterwards.
///
/// The journal's tables must exist in that database ([`migrate`]). Returns `true` when the
/// intent is new, `false` when this business id was already recorded with the same request.
///
/// ```
/// # use payout_journal::sqlite::{migrate, record_in, rusqlite::Connection};
/// # fn demo<C: payout_core::ApiClient, E>(req: &E) -> payout_journal::Result<()>
/// # where E: payout_core::Endpoint + payout_core::Keyed + serde::Serialize {
/// let mut conn = Connection::open_in_memory().unwrap();
/// migrate(&conn)?;
/// conn.execute_batch("CREATE TABLE balances (user TEXT PRIMARY KEY, cents INTEGER)").unwrap();
/// let tx = conn.transaction().unwrap();
/// tx.execute("UPDATE balances SET cents = cents - 500 WHERE user = 'u1'", []).unwrap();
/// record_in::<C, E>(&tx, "withdrawal-17", req)?;   // commits with the debit, or not at all
/// tx.commit().unwrap();
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Conflict`] if the business id is recorded for another request; storage errors.
pub fn record_in<C, E>(tx: &rusqlite::Transaction<'_>, business_id: &str, req: &E) -> Result<bool>
where
    C: ApiClient,
    E: payout_core::Endpoint + Keyed + Serialize,
{
    let new = crate::journal::keyed_intent::<C, E>(business_id, req, State::Recorded)?;
    let lease = Lease::new("", Duration::ZERO);
    match insert_on(tx, &new, &lease).map_err(Error::storage)? {
        Inserted::New(_) => Ok(true),
        Inserted::Existing(rec) => {
            crate::journal::check_same(&rec, &new, Some(req.key()))?;
            Ok(false)
        }
    }
}

/// The SQLite store. Cheap to clone (one connection behind a mutex).
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (or creates) the journal file at `path` with [`Durability::Full`].
    ///
    /// # Errors
    /// If the file cannot be opened or the schema created.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, Durability::Full).await
    }

    /// Opens (or creates) the journal file at `path` with the given durability.
    ///
    /// # Errors
    /// If the file cannot be opened or the schema created.
    pub async fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let conn = tokio::task::spawn_blocking(move || -> rusqlite::Result<Connection> {
            let conn = Connection::open(path)?;
            conn.busy_timeout(Duration::from_secs(10))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(
                None,
                "synchronous",
                match durability {
                    Durability::Full => "FULL",
                    Durability::Normal => "NORMAL",
                },
            )?;
            conn.execute_batch(SCHEMA)?;
            Ok(conn)
        })
        .await
        .map_err(Error::storage)?
        .map_err(Error::storage)?;
        Ok(Self::from_connection(conn))
    }

    /// Uses an open connection (its tables must exist: [`migrate`]). For an in-memory
    /// database in tests; nothing in memory survives a crash.
    pub fn from_connection(conn: Connection) -> Self {
        SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    async fn with<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut c)
        })
        .await
        .map_err(Error::storage)?
        .map_err(Error::storage)
    }
}

impl Store for SqliteStore {
    async fn insert(&self, new: &NewIntent, lease: &Lease) -> Result<Inserted> {
        let (new, lease) = (new.clone(), lease.clone());
        self.with(move |c| insert_on(c, &new, &lease)).await
    }

    async fn claim(&self, business_id: &str, lease: &Lease) -> Result<Option<IntentRecord>> {
        let (id, lease) = (business_id.to_string(), lease.clone());
        self.with(move |c| {
            let now = now_ms();
            c.query_row(
                &format!(
                    "UPDATE payout_intents SET lease_owner = ?2, lease_until = ?3, updated_at = ?4 \
                     WHERE business_id = ?1 AND state IN {OPEN} \
                     AND (lease_owner IS NULL OR lease_until < ?4 OR lease_owner = ?2) RETURNING {COLS}"
                ),
                params![id, lease.owner, lease.until, now],
                row,
            )
            .optional()
        })
        .await
    }

    async fn claim_batch(
        &self,
        provider: &str,
        operation: &str,
        limit: u32,
        touched_before: i64,
        lease: &Lease,
    ) -> Result<Vec<IntentRecord>> {
        let (p, o, lease) = (provider.to_string(), operation.to_string(), lease.clone());
        self.with(move |c| {
            let now = now_ms();
            // One statement: SQLite runs one writer at a time, so no row is claimed twice.
            let mut st = c.prepare(&format!(
                "UPDATE payout_intents SET lease_owner = ?1, lease_until = ?2, updated_at = ?3 \
                 WHERE business_id IN (SELECT business_id FROM payout_intents \
                   WHERE provider = ?4 AND operation = ?5 AND state IN {OPEN} \
                   AND (lease_owner IS NULL OR lease_until < ?3 OR lease_owner = ?1) AND updated_at <= ?7 \
                   ORDER BY created_at LIMIT ?6) RETURNING {COLS}"
            ))?;
            let rows = st.query_map(
                params![lease.owner, lease.until, now, p, o, limit, touched_before],
                row,
            )?;
            let mut v = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            v.sort_by_key(|r| r.created_at);
            Ok(v)
        })
        .await
    }

    async fn mark_sent(&self, business_id: &str, lease: &Lease) -> Result<bool> {
        let (id, lease) = (business_id.to_string(), lease.clone());
        self.with(move |c| {
            let now = now_ms();
            let n = c.execute(
                &format!(
                    "UPDATE payout_intents SET state = 'sent', attempts = attempts + 1, sent_at = ?3, \
                     updated_at = ?3, lease_until = ?4 \
                     WHERE business_id = ?1 AND lease_owner = ?2 AND state IN {OPEN}"
                ),
                params![id, lease.owner, now, lease.until],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn finish(
        &self,
        business_id: &str,
        lease: &Lease,
        state: State,
        result: Option<String>,
        error: Option<String>,
    ) -> Result<bool> {
        let (id, lease) = (business_id.to_string(), lease.clone());
        self.with(move |c| {
            let n = c.execute(
                &format!(
                    "UPDATE payout_intents SET state = ?3, result = ?4, error = ?5, updated_at = ?6, \
                     lease_owner = NULL, lease_until = NULL \
                     WHERE business_id = ?1 AND lease_owner = ?2 AND state IN {OPEN}"
                ),
                params![id, lease.owner, state.as_str(), result, error, now_ms()],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn get(&self, business_id: &str) -> Result<Option<IntentRecord>> {
        let id = business_id.to_string();
        self.with(move |c| {
            c.query_row(
                &format!("SELECT {COLS} FROM payout_intents WHERE business_id = ?1"),
                params![id],
                row,
            )
            .optional()
        })
        .await
    }

    async fn unfinished(&self) -> Result<Vec<IntentRecord>> {
        self.with(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLS} FROM payout_intents WHERE state IN {OPEN} ORDER BY created_at"
            ))?;
            let rows = st.query_map([], row)?;
            rows.collect()
        })
        .await
    }
}

impl crate::dedupe::DedupeStore for SqliteStore {
    async fn seen_or_insert(&self, key: &str, ttl: Duration) -> Result<bool> {
        let key = key.to_string();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        self.with(move |c| {
            let now = now_ms();
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM payout_dedupe WHERE expires_at <= ?1", params![now])?;
            let n = tx.execute(
                "INSERT INTO payout_dedupe (key, expires_at) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                params![key, now.saturating_add(ttl_ms)],
            )?;
            tx.commit()?;
            Ok(n == 0)
        })
        .await
    }

    async fn forget(&self, key: &str) -> Result<()> {
        let key = key.to_string();
        self.with(move |c| {
            c.execute("DELETE FROM payout_dedupe WHERE key = ?1", params![key])
                .map(|_| ())
        })
        .await
    }

    async fn claim(&self, key: &str, in_flight_ttl: Duration) -> Result<payout_core::dedupe::Claim> {
        use payout_core::dedupe::Claim;
        let key = key.to_string();
        let ttl = crate::dedupe::ttl_ms(in_flight_ttl);
        self.with(move |c| {
            let now = now_ms();
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM payout_dedupe_claims WHERE expires_at <= ?1",
                params![now],
            )?;
            let found: Option<bool> = tx
                .query_row(
                    "SELECT done FROM payout_dedupe_claims WHERE key = ?1",
                    params![key],
                    |r| r.get(0),
                )
                .optional()?;
            let claim = match found {
                Some(true) => Claim::Done,
                Some(false) => Claim::InFlight,
                None => {
                    tx.execute(
                        "INSERT INTO payout_dedupe_claims (key, done, expires_at) VALUES (?1, 0, ?2)",
                        params![key, now.saturating_add(ttl)],
                    )?;
                    Claim::New
                }
            };
            tx.commit()?;
            Ok(claim)
        })
        .await
    }

    async fn commit(&self, key: &str, ttl: Duration) -> Result<()> {
        let key = key.to_string();
        let ttl = crate::dedupe::ttl_ms(ttl);
        self.with(move |c| {
            c.execute(
                "INSERT INTO payout_dedupe_claims (key, done, expires_at) VALUES (?1, 1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET done = 1, expires_at = excluded.expires_at",
                params![key, now_ms().saturating_add(ttl)],
            )
            .map(|_| ())
        })
        .await
    }

    async fn release(&self, key: &str) -> Result<()> {
        let key = key.to_string();
        self.with(move |c| {
            c.execute(
                "DELETE FROM payout_dedupe_claims WHERE key = ?1 AND done = 0",
                params![key],
            )
            .map(|_| ())
        })
        .await
    }
}
