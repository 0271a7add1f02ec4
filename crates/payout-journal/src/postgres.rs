//! The PostgreSQL backend (feature `postgres`): one database shared by many instances, and
//! by many tasks of one instance.
//!
//! # Leases
//!
//! Workers claim intents with a lease: `recover` takes a batch with
//! `UPDATE ... WHERE business_id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING ...`, so two
//! workers never take the same intent, and an intent whose worker died (its lease expired)
//! is taken by the next `recover`. Only the lease holder may mark an intent `sent` or record
//! its outcome. Each statement commits on its own (PostgreSQL's default `synchronous_commit
//! = on`: durable when it returns).
//!
//! Every claim is **one statement**, so it runs in one transaction on one connection: the
//! `SELECT ... FOR UPDATE SKIP LOCKED` and the `UPDATE` that writes the lease cannot be split
//! across pooled connections. What follows a claim (`mark_sent`, the outcome) may run on any
//! other connection of the pool: each such statement is guarded by
//! `lease_owner = <this worker>` (and, when retried, by this call's exact lease expiry), so it
//! changes nothing once the lease was lost.
//!
//! # The pool
//!
//! [`PgStore`] keeps a small pool of `tokio-postgres` connections ([`PgOptions::pool_size`],
//! default 4; about 150 lines of our own rather than deadpool or bb8). Each journal call checks a
//! connection out for one statement and hands it back at once (never across a provider call),
//! so the tasks of one instance do not queue behind one connection, and a pool of 1 still
//! serves any number of tasks, one statement at a time.
//!
//! # A lost connection (PostgreSQL restarted, a failover, a proxy cut)
//!
//! A connection that is closed is never used again. One whose statement fails at the
//! connection level (the socket failed, the server ended the session: SQLSTATE class `08`,
//! `57P01`–`57P03`, or any `FATAL`; or no answer within [`PgOptions::statement_timeout`]) is
//! dropped, with every idle connection (they most likely went down together), and replaced on
//! next use; opening a connection is retried with an exponential backoff
//! ([`PgOptions::connect_attempts`], [`PgOptions::backoff`]), so the call that hit the dead
//! connection and every later one succeed as soon as the server answers again.
//!
//! **What such a failure means for the write.** A statement whose answer was lost may or may
//! not have committed: the server may have committed it and died (or been cut off) before its
//! answer reached us. That is the journal's own "ambiguous", and each write is designed so
//! that either outcome is safe:
//!
//! * Recording the intent before the first byte is sent (`insert`): it is retried on a fresh
//!   connection. The business id is the primary key, so exactly one insert wins: if the lost
//!   one committed, the retry finds the intent recorded as `sent` and held by this worker, and
//!   `pay` resumes it as an unfinished intent: it looks the payout up by its key **before**
//!   sending anything (nothing was sent: the store answered with an error), and re-sends only
//!   where the provider deduplicates on the key (an unprotected call becomes "needs a
//!   decision"). If the retries fail too, the call fails with [`Error::Storage`] saying that
//!   the intent may have been recorded and that nothing was sent; `recover` (or `pay` again
//!   with the same business id) finds it unfinished and resolves it the same way. It is never
//!   lost and never sent twice.
//! * Taking a lease (`claim`), marking an intent `sent`, recording an outcome: retried on a
//!   fresh connection, guarded by this worker's lease (a retry only applies while this call's
//!   lease is still in place). If the lost outcome had committed, the retry finds it
//!   recorded and reports success. If the retries fail too, the outcome may be unrecorded: the
//!   intent stays unfinished (`sent`) and `recover` settles it by the provider's lookup.
//! * Claiming a batch (`recover`), the webhook dedupe's claim, `seen_or_insert`, `forget`
//!   and `release`: **not** retried once the statement may have run (a retry could hand out a
//!   second claim, or delete another instance's claim). The call fails with
//!   [`Error::Storage`] saying what may have happened; a lost batch claim leaves its intents
//!   leased to this worker, and this worker's next `recover` takes them back at once.
//! * Reads are retried.
//!
//! A write that fails before it could reach the server (no connection could be opened) says
//! that nothing was recorded.
//!
//! No TLS: use it on loopback, a unix socket or a private network.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use payout_core::{ApiClient, Keyed};
use serde::Serialize;
use tokio_postgres::{Client, Row};

use crate::error::{Error, Result};
use crate::pool::{Pool, Settings};
use crate::store::{Inserted, IntentRecord, Lease, NewIntent, State, Store, now_ms};

pub use crate::pool::{PoolStatus, PooledClient};
pub use tokio_postgres;

/// The tables the journal uses, created if missing (run under an advisory lock, so that
/// several instances starting at once do not race).
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
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    sent_at     BIGINT,
    lease_owner TEXT,
    lease_until BIGINT
);
CREATE INDEX IF NOT EXISTS payout_intents_open ON payout_intents (provider, operation, state, created_at);
CREATE TABLE IF NOT EXISTS payout_dedupe (
    key        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS payout_dedupe_expiry ON payout_dedupe (expires_at);
CREATE TABLE IF NOT EXISTS payout_dedupe_claims (
    key        TEXT PRIMARY KEY,
    done       BOOLEAN NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS payout_dedupe_claims_expiry ON payout_dedupe_claims (expires_at);
";

const COLS: &str = "business_id, provider, operation, safety, key_name, key, request, state, attempts, \
                    result, error, created_at, updated_at, sent_at, lease_owner, lease_until";
const OPEN: &str = "('recorded', 'sent', 'ambiguous')";

/// The `application_name` the store's connections carry unless the URL sets one (so an
/// operator can find them in `pg_stat_activity`).
pub const APPLICATION_NAME: &str = "payout-journal";

/// Creates the journal's tables if missing, on any client or transaction (for the outbox
/// form on your own database; [`PgStore::connect`] does it for you).
///
/// # Errors
/// If the statements fail.
pub async fn migrate(client: &impl tokio_postgres::GenericClient) -> Result<()> {
    migrate_raw(client)
        .await
        .map_err(|e| Error::Storage(describe(&e)))
}

async fn migrate_raw(client: &impl tokio_postgres::GenericClient) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock(7212034512); {SCHEMA} COMMIT;"
        ))
        .await
}

/// A tokio-postgres error with the server's own message (its `Display` says only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => match std::error::Error::source(e) {
            Some(src) => format!("{e}: {src}"),
            None => e.to_string(),
        },
    }
}

/// The `Display` of tokio-postgres's local errors (it exposes no kind for them).
const LOCAL_ERRORS: [&str; 5] = [
    "error serializing parameter",
    "error deserializing column",
    "invalid column",
    "query returned an unexpected number of",
    "expected ",
];

/// True when the error means the connection is unusable (or its state unknown): the server
/// ended the session, the socket failed, or the protocol broke. An ordinary SQL error (a
/// constraint, a syntax error) leaves the connection usable.
fn connection_level(e: &tokio_postgres::Error, client: &Client) -> bool {
    if e.is_closed() || client.is_closed() {
        return true;
    }
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            code.starts_with("08")
                || matches!(code, "57P01" | "57P02" | "57P03")
                || matches!(db.severity(), "FATAL" | "PANIC")
        }
        // A mistake on our side (a parameter or column that does not convert, a wrong
        // parameter count): nothing was sent, the connection is fine.
        None if LOCAL_ERRORS.iter().any(|p| e.to_string().starts_with(p)) => false,
        // Otherwise no answer from the server: I/O, an unexpected or unparsable message.
        None => true,
    }
}

fn row(r: &Row) -> Result<IntentRecord> {
    let f = || -> std::result::Result<IntentRecord, tokio_postgres::Error> {
        let state: String = r.try_get(7)?;
        let attempts: i32 = r.try_get(8)?;
        Ok(IntentRecord {
            business_id: r.try_get(0)?,
            provider: r.try_get(1)?,
            operation: r.try_get(2)?,
            safety: r.try_get(3)?,
            key_name: r.try_get(4)?,
            key: r.try_get(5)?,
            request: r.try_get(6)?,
            state: State::parse(&state).unwrap_or(State::Ambiguous),
            attempts: u32::try_from(attempts).unwrap_or(0),
            result: r.try_get(9)?,
            error: r.try_get(10)?,
            created_at: r.try_get(11)?,
            updated_at: r.try_get(12)?,
            sent_at: r.try_get(13)?,
            lease_owner: r.try_get(14)?,
            lease_until: r.try_get(15)?,
        })
    };
    f().map_err(|e| Error::Storage(describe(&e)))
}

/// Inserts the intent unless its business id exists: `(true, row)` when new, `(false, the
/// stored row)` otherwise.
async fn insert_raw(
    c: &impl tokio_postgres::GenericClient,
    new: &NewIntent,
    lease: &Lease,
) -> Result<(bool, Row), tokio_postgres::Error> {
    let now = now_ms();
    let sent = new.state == State::Sent;
    let attempts = i32::from(sent);
    let sent_at = sent.then_some(now);
    let owner = sent.then_some(lease.owner.as_str());
    let until = sent.then_some(lease.until);
    let state = new.state.as_str();
    let rows = c
        .query(
            &format!(
                "INSERT INTO payout_intents ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, $10, $10, $11, $12, $13) \
                 ON CONFLICT (business_id) DO NOTHING RETURNING {COLS}"
            ),
            &[
                &new.business_id,
                &new.provider,
                &new.operation,
                &new.safety,
                &new.key_name,
                &new.key,
                &new.request,
                &state,
                &attempts,
                &now,
                &sent_at,
                &owner,
                &until,
            ],
        )
        .await?;
    if let Some(r) = rows.into_iter().next() {
        return Ok((true, r));
    }
    let r = c
        .query_one(
            &format!("SELECT {COLS} FROM payout_intents WHERE business_id = $1"),
            &[&new.business_id],
        )
        .await?;
    Ok((false, r))
}

fn inserted((new, r): (bool, Row)) -> Result<Inserted> {
    let rec = row(&r)?;
    Ok(if new {
        Inserted::New(rec)
    } else {
        Inserted::Existing(rec)
    })
}

/// The outbox form on PostgreSQL: records the intent inside **your** transaction, so it
/// commits with (and only with) your own writes. [`crate::Journal::recover`] (the
/// dispatcher) sends it afterwards. Returns `true` when new, `false` when this business id
/// was already recorded with the same request.
///
/// Your transaction is yours: the store's pool never touches it, and a lost connection there
/// is yours to handle (if your `COMMIT`'s answer is lost, the intent and your own writes
/// committed together or not at all; `recover` finds the intent if they did).
///
/// # Errors
/// [`Error::Conflict`] if the business id is recorded for another request; storage errors.
pub async fn record_in<C, E>(tx: &tokio_postgres::Transaction<'_>, business_id: &str, req: &E) -> Result<bool>
where
    C: ApiClient,
    E: payout_core::Endpoint + Keyed + Serialize,
{
    let new = crate::journal::keyed_intent::<C, E>(business_id, req, State::Recorded)?;
    let lease = Lease::new("", Duration::ZERO);
    let raw = insert_raw(tx, &new, &lease)
        .await
        .map_err(|e| Error::Storage(describe(&e)))?;
    match inserted(raw)? {
        Inserted::New(_) => Ok(true),
        Inserted::Existing(rec) => {
            crate::journal::check_same(&rec, &new, Some(req.key()))?;
            Ok(false)
        }
    }
}

/// How the PostgreSQL store connects: the pool's size, the reconnect backoff and the
/// statement timeout.
///
/// ```
/// use std::time::Duration;
/// use payout_journal::postgres::PgOptions;
/// let options = PgOptions::default().pool_size(8).statement_timeout(Some(Duration::from_secs(20)));
/// assert_eq!(options.get_pool_size(), 8);
/// ```
#[derive(Debug, Clone)]
pub struct PgOptions {
    pool_size: usize,
    connect_attempts: u32,
    backoff: Duration,
    max_backoff: Duration,
    statement_attempts: u32,
    statement_timeout: Option<Duration>,
    connect_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: 4,
            connect_attempts: 6,
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            statement_attempts: 3,
            statement_timeout: Some(Duration::from_secs(60)),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl PgOptions {
    /// The most connections the store opens (default 4; at least 1). Tasks beyond it wait
    /// for a free connection; each holds one for a single statement.
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = n.max(1);
        self
    }

    /// The configured pool size.
    pub fn get_pool_size(&self) -> usize {
        self.pool_size
    }

    /// How many times one call tries to open a connection before it fails (default 6; at
    /// least 1), waiting [`PgOptions::backoff`], doubling up to `max_backoff`, in between:
    /// with the defaults a call waits at most 1.55 s for the server to come back.
    pub fn connect_attempts(mut self, n: u32) -> Self {
        self.connect_attempts = n.max(1);
        self
    }

    /// The first wait between connect attempts (default 50 ms) and its cap (default 1 s).
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = first;
        self.max_backoff = max.max(first);
        self
    }

    /// How many times a statement that is safe to repeat is tried on fresh connections
    /// after a connection-level failure (default 3; at least 1). See the module docs for
    /// which statements are repeated.
    pub fn statement_attempts(mut self, n: u32) -> Self {
        self.statement_attempts = n.max(1);
        self
    }

    /// How long the store waits for one statement's answer before it treats the connection
    /// as lost (default 60 s; `None`: forever). A connection cut without a reset (a silent
    /// proxy or network failure) otherwise hangs the call until TCP gives up.
    pub fn statement_timeout(mut self, t: Option<Duration>) -> Self {
        self.statement_timeout = t;
        self
    }

    /// How long one connect attempt may take, unless the URL sets `connect_timeout`
    /// (default 10 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }
}

/// Whether a statement may be repeated on a fresh connection after a connection-level failure.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Repeating it is safe whether or not the lost attempt committed.
    Safe,
    /// Never repeated once it may have run.
    Never,
}

/// One kind of statement: what it does and what a lost answer leaves behind.
struct Op {
    what: &'static str,
    retry: Retry,
    /// Said when the statement may have run and was not (or no longer) repeated.
    unknown: &'static str,
}

const READ: Op = Op {
    what: "reading the journal",
    retry: Retry::Safe,
    unknown: "Nothing was written.",
};
const MIGRATE: Op = Op {
    what: "creating the journal's tables",
    retry: Retry::Safe,
    unknown: "The tables may or may not exist yet; connecting again creates what is missing.",
};
const INSERT: Op = Op {
    what: "recording the intent",
    retry: Retry::Safe,
    unknown: "The intent may or may not have been recorded (its commit's answer was lost). Nothing was \
              sent for it by this call. If it was recorded it is unfinished: `pay` again with the same \
              business id, or `recover`, looks it up by its key before anything is sent, so it is never \
              sent twice.",
};
const CLAIM: Op = Op {
    what: "taking the intent's lease",
    retry: Retry::Safe,
    unknown: "This worker may now hold the intent's lease (until it expires, or this worker takes it \
              back). Nothing was sent.",
};
const CLAIM_BATCH: Op = Op {
    what: "claiming a batch of unfinished intents",
    retry: Retry::Never,
    unknown: "Some intents may now be leased to this worker: its next `recover` takes them back at once \
              (another worker's once the lease expires). Nothing was sent; run `recover` again.",
};
const MARK_SENT: Op = Op {
    what: "marking the intent sent",
    retry: Retry::Safe,
    unknown: "The intent may now be marked `sent`. Nothing was sent by this call; `recover` looks it up \
              before sending it.",
};
const FINISH: Op = Op {
    what: "recording the outcome",
    retry: Retry::Safe,
    unknown: "The payout may have been made, and its outcome may not be recorded: do not pay it under \
              another business id. The intent then stays unfinished, and `recover` (or `pay` again with \
              the same business id) settles it by the provider's lookup; it is never sent twice.",
};
const DEDUPE_WRITE: Op = Op {
    what: "updating the dedupe table",
    retry: Retry::Safe,
    unknown: "The change may or may not have been recorded.",
};
const DEDUPE_INSERT: Op = Op {
    what: "remembering a delivery key",
    retry: Retry::Never,
    unknown: "The key may have been remembered: if you do not handle this delivery, `forget` the key so \
              that its redelivery is handled.",
};
const DEDUPE_CLAIM: Op = Op {
    what: "claiming a delivery key",
    retry: Retry::Never,
    unknown: "The key may be claimed now: a redelivery is answered as in flight until the claim's \
              in-flight time expires, and handled after that.",
};
const DEDUPE_DELETE: Op = Op {
    what: "forgetting a delivery key",
    retry: Retry::Never,
    unknown: "The key may or may not have been forgotten.",
};

/// Runs one statement (or one short transaction), `$body`, on a pooled connection `$c`.
/// After a connection-level failure the connection is dropped and, if `$op` is safe to
/// repeat, `$body` runs again on a fresh one (`$retry` is then `true`). A macro rather than a
/// closure: the body borrows the pooled connection, which a closure's future cannot name.
macro_rules! run {
    ($store:expr, $op:expr, |$c:ident, $retry:pat_param| $body:expr) => {{
        let store: &PgStore = $store;
        let op: &Op = $op;
        let mut attempt: u32 = 0;
        let mut lost: Option<String> = None;
        loop {
            attempt += 1;
            let conn = match store.checkout(op, &lost).await {
                Ok(c) => c,
                Err(e) => break Err(e),
            };
            let res = {
                let $c: &Client = &conn;
                let $retry = lost.is_some();
                store.timed(async { $body }).await
            };
            if let Some(done) = store.settle(op, conn, res, attempt, &mut lost).await {
                break done;
            }
        }
    }};
}

/// The PostgreSQL store: a small pool of connections. Cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct PgStore {
    pool: Arc<Pool>,
    options: Arc<PgOptions>,
    calls: Arc<AtomicU64>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects (`postgres://user@host:port/db`, or `host=/run/postgresql user=...`) with
    /// the default [`PgOptions`] (a pool of 4) and creates the tables if missing. The
    /// connection's password, if any, never appears in an error.
    ///
    /// # Errors
    /// If the URL does not parse, no connection can be opened, or the schema fails.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, PgOptions::default()).await
    }

    /// Connects with `options` (the pool's size, the reconnect backoff, the statement
    /// timeout) and creates the tables if missing.
    ///
    /// # Errors
    /// As [`PgStore::connect`].
    pub async fn connect_with(url: &str, options: PgOptions) -> Result<Self> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| Error::Storage(format!("cannot connect to PostgreSQL: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name(APPLICATION_NAME);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        let settings = Settings {
            size: options.pool_size.max(1),
            connect_attempts: options.connect_attempts.max(1),
            backoff: options.backoff,
            max_backoff: options.max_backoff,
        };
        let store = PgStore {
            pool: Pool::new(config, settings),
            options: Arc::new(options),
            calls: Arc::new(AtomicU64::new(0)),
        };
        run!(&store, &MIGRATE, |c, _r| migrate_raw(c).await)?;
        Ok(store)
    }

    /// A connection from the store's pool, for your own statements (and [`record_in`]
    /// through `connection.transaction()`). It goes back to the pool when dropped; hold it
    /// briefly, as the journal waits for a free one. It is not repaired for you: if it fails,
    /// drop it and ask again.
    ///
    /// # Errors
    /// If no connection can be opened.
    pub async fn connection(&self) -> Result<PooledClient> {
        self.pool.get().await.map_err(|(e, n)| {
            Error::Storage(format!(
                "cannot connect to PostgreSQL ({n} attempt(s)): {}",
                describe(&e)
            ))
        })
    }

    /// The pool's state now: its size, open and busy connections, and how many were opened
    /// and dropped (a growing `dropped` count means lost connections).
    pub fn pool_status(&self) -> PoolStatus {
        self.pool.status()
    }

    /// A connection for `op`'s attempt; `lost` is the connection failure of an earlier
    /// attempt of the same call, if any.
    async fn checkout(&self, op: &Op, lost: &Option<String>) -> Result<PooledClient> {
        self.pool.get().await.map_err(|(e, n)| {
            let e = describe(&e);
            Error::Storage(match lost {
                None => format!(
                    "cannot connect to PostgreSQL ({n} attempt(s)) while {}: {e}. Nothing was recorded \
                     by this call.",
                    op.what
                ),
                Some(first) => format!(
                    "PostgreSQL connection lost while {} ({first}), and no new connection could be \
                     opened ({n} attempt(s)): {e}. {}",
                    op.what, op.unknown
                ),
            })
        })
    }

    /// Waits for a statement's answer, at most `statement_timeout` (`None`: no answer).
    async fn timed<T>(
        &self,
        f: impl std::future::Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    ) -> Option<std::result::Result<T, tokio_postgres::Error>> {
        match self.options.statement_timeout {
            Some(t) => tokio::time::timeout(t, f).await.ok(),
            None => Some(f.await),
        }
    }

    /// What to do with an attempt's result: done (the value, or an error saying what
    /// happened), or repeat on a fresh connection (after dropping this one).
    async fn settle<T>(
        &self,
        op: &Op,
        conn: PooledClient,
        res: Option<std::result::Result<T, tokio_postgres::Error>>,
        attempt: u32,
        lost: &mut Option<String>,
    ) -> Option<Result<T>> {
        let why = match res {
            Some(Ok(v)) => return Some(Ok(v)),
            Some(Err(e)) if !connection_level(&e, &conn) => {
                return Some(Err(Error::Storage(format!(
                    "PostgreSQL refused {}: {}",
                    op.what,
                    describe(&e)
                ))));
            }
            Some(Err(e)) => describe(&e),
            None => format!(
                "no answer within {} ms",
                self.options.statement_timeout.unwrap_or_default().as_millis()
            ),
        };
        conn.discard();
        let retry = op.retry == Retry::Safe && attempt < self.options.statement_attempts;
        tracing::warn!(
            error = %why,
            attempt,
            retry,
            "payout journal: PostgreSQL connection lost while {}; dropped, replaced on next use",
            op.what
        );
        if !retry {
            return Some(Err(Error::Storage(format!(
                "PostgreSQL connection lost while {} ({why}); the connection was dropped and is \
                 replaced on next use. {}",
                op.what, op.unknown
            ))));
        }
        // Give the other connections' tasks a moment to notice the same failure.
        tokio::time::sleep(self.pool.settings().delay(attempt)).await;
        lost.get_or_insert(why);
        None
    }

    fn every_256th_call(&self) -> bool {
        self.calls.fetch_add(1, Ordering::Relaxed).is_multiple_of(256)
    }
}

impl Store for PgStore {
    async fn insert(&self, new: &NewIntent, lease: &Lease) -> Result<Inserted> {
        // Repeating is safe: the primary key lets exactly one insert win, and an intent that
        // the lost attempt recorded comes back as `Existing`, which `pay` resumes by lookup.
        let raw = run!(self, &INSERT, |c, _| insert_raw(c, new, lease).await)?;
        inserted(raw)
    }

    async fn claim(&self, business_id: &str, lease: &Lease) -> Result<Option<IntentRecord>> {
        let rows = run!(self, &CLAIM, |c, _| {
            let now = now_ms();
            c.query(
                &format!(
                    "UPDATE payout_intents SET lease_owner = $2, lease_until = $3, updated_at = $4 \
                         WHERE business_id = $1 AND state IN {OPEN} \
                         AND (lease_owner IS NULL OR lease_until < $4 OR lease_owner = $2) RETURNING {COLS}"
                ),
                &[&business_id, &lease.owner, &lease.until, &now],
            )
            .await
        })?;
        rows.first().map(row).transpose()
    }

    async fn claim_batch(
        &self,
        provider: &str,
        operation: &str,
        limit: u32,
        touched_before: i64,
        lease: &Lease,
    ) -> Result<Vec<IntentRecord>> {
        let limit = i64::from(limit);
        // One statement: the SKIP LOCKED select and the lease update are one transaction on
        // one connection. Never repeated once it may have run (see `CLAIM_BATCH`).
        let rows = run!(self, &CLAIM_BATCH, |c, _| {
            let now = now_ms();
            c.query(
                    &format!(
                        "UPDATE payout_intents SET lease_owner = $1, lease_until = $2, updated_at = $3 \
                         WHERE business_id IN (SELECT business_id FROM payout_intents \
                           WHERE provider = $4 AND operation = $5 AND state IN {OPEN} \
                           AND (lease_owner IS NULL OR lease_until < $3 OR lease_owner = $1) AND updated_at <= $7 \
                           ORDER BY created_at LIMIT $6 FOR UPDATE SKIP LOCKED) RETURNING {COLS}"
                    ),
                    &[
                        &lease.owner,
                        &lease.until,
                        &now,
                        &provider,
                        &operation,
                        &limit,
                        &touched_before,
                    ],
                )
                .await
        })?;
        let mut v = rows.iter().map(row).collect::<Result<Vec<_>>>()?;
        v.sort_by_key(|r| r.created_at);
        Ok(v)
    }

    async fn mark_sent(&self, business_id: &str, lease: &Lease) -> Result<bool> {
        let n = run!(self, &MARK_SENT, |c, retry| {
            // A repeat applies only while this call's own lease is in place (the lost
            // attempt, if it committed, wrote the same `lease_until`).
            let guard = if retry { " AND lease_until = $4" } else { "" };
            c.execute(
                &format!(
                    "UPDATE payout_intents SET state = 'sent', attempts = attempts + 1, sent_at = $3, \
                         updated_at = $3, lease_until = $4 \
                         WHERE business_id = $1 AND lease_owner = $2 AND state IN {OPEN}{guard}"
                ),
                &[&business_id, &lease.owner, &now_ms(), &lease.until],
            )
            .await
        })?;
        Ok(n == 1)
    }

    async fn finish(
        &self,
        business_id: &str,
        lease: &Lease,
        state: State,
        result: Option<String>,
        error: Option<String>,
    ) -> Result<bool> {
        let (n, repeated) = run!(self, &FINISH, |c, retry| {
            // A repeat applies only while this call's own lease is in place.
            let guard: Option<i64> = retry.then_some(lease.until);
            let n = c
                .execute(
                    &format!(
                        "UPDATE payout_intents SET state = $3, result = $4, error = $5, updated_at = $6, \
                             lease_owner = NULL, lease_until = NULL \
                             WHERE business_id = $1 AND lease_owner = $2 AND state IN {OPEN} \
                             AND ($7::BIGINT IS NULL OR lease_until = $7)"
                    ),
                    &[
                        &business_id,
                        &lease.owner,
                        &state.as_str(),
                        &result,
                        &error,
                        &now_ms(),
                        &guard,
                    ],
                )
                .await?;
            Ok((n, retry))
        })?;
        if n == 1 {
            return Ok(true);
        }
        if repeated {
            // The lost attempt may have committed: then the row holds exactly this outcome.
            if let Some(rec) = self.get(business_id).await? {
                return Ok(rec.state == state
                    && rec.result == result
                    && rec.error == error
                    && rec.lease_owner.is_none());
            }
        }
        Ok(false)
    }

    async fn get(&self, business_id: &str) -> Result<Option<IntentRecord>> {
        let rows = run!(self, &READ, |c, _| {
            c.query(
                &format!("SELECT {COLS} FROM payout_intents WHERE business_id = $1"),
                &[&business_id],
            )
            .await
        })?;
        rows.first().map(row).transpose()
    }

    async fn unfinished(&self) -> Result<Vec<IntentRecord>> {
        let rows = run!(self, &READ, |c, _| {
            c.query(
                &format!("SELECT {COLS} FROM payout_intents WHERE state IN {OPEN} ORDER BY created_at"),
                &[],
            )
            .await
        })?;
        rows.iter().map(row).collect()
    }
}

impl crate::dedupe::DedupeStore for PgStore {
    async fn seen_or_insert(&self, key: &str, ttl: Duration) -> Result<bool> {
        let now = now_ms();
        let until = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2));
        if self.every_256th_call() {
            run!(self, &DEDUPE_WRITE, |c, _| {
                c.execute("DELETE FROM payout_dedupe WHERE expires_at <= $1", &[&now])
                    .await
            })?;
        }
        // New, or an expired entry renewed: a row comes back. Seen and alive: none.
        let rows = run!(self, &DEDUPE_INSERT, |c, _| {
            c.query(
                "INSERT INTO payout_dedupe (key, expires_at) VALUES ($1, $3) ON CONFLICT (key) \
                     DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE payout_dedupe.expires_at <= $2 \
                     RETURNING 1",
                &[&key, &now, &until],
            )
            .await
        })?;
        Ok(rows.is_empty())
    }

    async fn forget(&self, key: &str) -> Result<()> {
        run!(self, &DEDUPE_DELETE, |c, _| {
            c.execute("DELETE FROM payout_dedupe WHERE key = $1", &[&key])
                .await
        })?;
        Ok(())
    }

    async fn claim(&self, key: &str, in_flight_ttl: Duration) -> Result<payout_core::dedupe::Claim> {
        use payout_core::dedupe::Claim;
        let now = now_ms();
        let until = now.saturating_add(crate::dedupe::ttl_ms(in_flight_ttl));
        if self.every_256th_call() {
            run!(self, &DEDUPE_WRITE, |c, _| {
                c.execute("DELETE FROM payout_dedupe_claims WHERE expires_at <= $1", &[&now])
                    .await
            })?;
        }
        // New, or an expired entry taken over: a row comes back. Alive: none (one statement,
        // so two instances never both get `New`).
        let rows = run!(self, &DEDUPE_CLAIM, |c, _| {
            c.query(
                "INSERT INTO payout_dedupe_claims (key, done, expires_at) VALUES ($1, false, $3) \
                     ON CONFLICT (key) DO UPDATE SET done = false, expires_at = EXCLUDED.expires_at \
                     WHERE payout_dedupe_claims.expires_at <= $2 RETURNING 1",
                &[&key, &now, &until],
            )
            .await
        })?;
        if !rows.is_empty() {
            return Ok(Claim::New);
        }
        let rows = run!(self, &READ, |c, _| {
            c.query("SELECT done FROM payout_dedupe_claims WHERE key = $1", &[&key])
                .await
        })?;
        // Released between the two statements: another request is about to claim it; the
        // provider's next retry finds it settled one way or the other.
        Ok(match rows.first().and_then(|r| r.try_get::<_, bool>(0).ok()) {
            Some(true) => Claim::Done,
            _ => Claim::InFlight,
        })
    }

    async fn commit(&self, key: &str, ttl: Duration) -> Result<()> {
        let until = now_ms().saturating_add(crate::dedupe::ttl_ms(ttl));
        // An upsert to the same final value: safe to repeat.
        run!(self, &DEDUPE_WRITE, |c, _| {
            c.execute(
                "INSERT INTO payout_dedupe_claims (key, done, expires_at) VALUES ($1, true, $2) \
                 ON CONFLICT (key) DO UPDATE SET done = true, expires_at = EXCLUDED.expires_at",
                &[&key, &until],
            )
            .await
        })?;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<()> {
        // Never repeated: between a lost release and its repeat another instance may have
        // claimed the key, and the repeat would delete that claim.
        run!(self, &DEDUPE_DELETE, |c, _| {
            c.execute(
                "DELETE FROM payout_dedupe_claims WHERE key = $1 AND done = false",
                &[&key],
            )
            .await
        })?;
        Ok(())
    }
}
