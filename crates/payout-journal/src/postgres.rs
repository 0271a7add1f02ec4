//! The PostgreSQL backend (feature `postgres`): one database shared by many instances.
//!
//! Workers claim intents with a lease: `recover` takes a batch with
//! `UPDATE ... WHERE business_id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING ...`, so two
//! workers never take the same intent, and an intent whose worker died (its lease expired)
//! is taken by the next `recover`. Only the lease holder may mark an intent `sent` or record
//! its outcome. Each statement commits on its own (PostgreSQL's default `synchronous_commit
//! = on`: durable when it returns).
//!
//! The store holds one connection (tokio-postgres pipelines concurrent statements on it). If
//! the connection is lost, calls fail with [`Error::Storage`]: connect again. No TLS: use it
//! on loopback, a unix socket or a private network.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use payout_core::{ApiClient, Keyed};
use serde::Serialize;
use tokio_postgres::{NoTls, Row};

use crate::error::{Error, Result};
use crate::store::{Inserted, IntentRecord, Lease, NewIntent, State, Store, now_ms};

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

/// Creates the journal's tables if missing, on any client or transaction (for the outbox
/// form on your own database; [`PgStore::connect`] does it for you).
///
/// # Errors
/// If the statements fail.
pub async fn migrate(client: &impl tokio_postgres::GenericClient) -> Result<()> {
    client
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock(7212034512); {SCHEMA} COMMIT;"
        ))
        .await
        .map_err(Error::storage)
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
    f().map_err(Error::storage)
}

async fn insert_on(
    c: &impl tokio_postgres::GenericClient,
    new: &NewIntent,
    lease: &Lease,
) -> Result<Inserted> {
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
        .await
        .map_err(Error::storage)?;
    if let Some(r) = rows.first() {
        return Ok(Inserted::New(row(r)?));
    }
    let r = c
        .query_one(
            &format!("SELECT {COLS} FROM payout_intents WHERE business_id = $1"),
            &[&new.business_id],
        )
        .await
        .map_err(Error::storage)?;
    Ok(Inserted::Existing(row(&r)?))
}

/// The outbox form on PostgreSQL: records the intent inside **your** transaction, so it
/// commits with (and only with) your own writes. [`crate::Journal::recover`] (the
/// dispatcher) sends it afterwards. Returns `true` when new, `false` when this business id
/// was already recorded with the same request.
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
    match insert_on(tx, &new, &lease).await? {
        Inserted::New(_) => Ok(true),
        Inserted::Existing(rec) => {
            crate::journal::check_same(&rec, &new, Some(req.key()))?;
            Ok(false)
        }
    }
}

/// The PostgreSQL store. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    client: Arc<tokio_postgres::Client>,
    calls: Arc<AtomicU64>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects (`postgres://user@host:port/db`, or `host=/run/postgresql user=...`) and
    /// creates the tables if missing. The connection's password, if any, never appears in
    /// an error.
    ///
    /// # Errors
    /// If the connection or the schema fails.
    pub async fn connect(url: &str) -> Result<Self> {
        let (client, conn) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| Error::Storage(format!("cannot connect to PostgreSQL: {e}")))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::warn!(error = %e, "payout journal: PostgreSQL connection closed");
            }
        });
        migrate(&client).await?;
        Ok(PgStore {
            client: Arc::new(client),
            calls: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The connection, for your own statements (and [`record_in`] through a transaction of
    /// your own connection).
    pub fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

impl Store for PgStore {
    async fn insert(&self, new: &NewIntent, lease: &Lease) -> Result<Inserted> {
        insert_on(&*self.client, new, lease).await
    }

    async fn claim(&self, business_id: &str, lease: &Lease) -> Result<Option<IntentRecord>> {
        let now = now_ms();
        let rows = self
            .client
            .query(
                &format!(
                    "UPDATE payout_intents SET lease_owner = $2, lease_until = $3, updated_at = $4 \
                     WHERE business_id = $1 AND state IN {OPEN} \
                     AND (lease_owner IS NULL OR lease_until < $4 OR lease_owner = $2) RETURNING {COLS}"
                ),
                &[&business_id, &lease.owner, &lease.until, &now],
            )
            .await
            .map_err(Error::storage)?;
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
        let now = now_ms();
        let limit = i64::from(limit);
        let rows = self
            .client
            .query(
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
            .map_err(Error::storage)?;
        let mut v = rows.iter().map(row).collect::<Result<Vec<_>>>()?;
        v.sort_by_key(|r| r.created_at);
        Ok(v)
    }

    async fn mark_sent(&self, business_id: &str, lease: &Lease) -> Result<bool> {
        let now = now_ms();
        let n = self
            .client
            .execute(
                &format!(
                    "UPDATE payout_intents SET state = 'sent', attempts = attempts + 1, sent_at = $3, \
                     updated_at = $3, lease_until = $4 \
                     WHERE business_id = $1 AND lease_owner = $2 AND state IN {OPEN}"
                ),
                &[&business_id, &lease.owner, &now, &lease.until],
            )
            .await
            .map_err(Error::storage)?;
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
        let n = self
            .client
            .execute(
                &format!(
                    "UPDATE payout_intents SET state = $3, result = $4, error = $5, updated_at = $6, \
                     lease_owner = NULL, lease_until = NULL \
                     WHERE business_id = $1 AND lease_owner = $2 AND state IN {OPEN}"
                ),
                &[
                    &business_id,
                    &lease.owner,
                    &state.as_str(),
                    &result,
                    &error,
                    &now_ms(),
                ],
            )
            .await
            .map_err(Error::storage)?;
        Ok(n == 1)
    }

    async fn get(&self, business_id: &str) -> Result<Option<IntentRecord>> {
        let rows = self
            .client
            .query(
                &format!("SELECT {COLS} FROM payout_intents WHERE business_id = $1"),
                &[&business_id],
            )
            .await
            .map_err(Error::storage)?;
        rows.first().map(row).transpose()
    }

    async fn unfinished(&self) -> Result<Vec<IntentRecord>> {
        let rows = self
            .client
            .query(
                &format!("SELECT {COLS} FROM payout_intents WHERE state IN {OPEN} ORDER BY created_at"),
                &[],
            )
            .await
            .map_err(Error::storage)?;
        rows.iter().map(row).collect()
    }
}

impl crate::dedupe::DedupeStore for PgStore {
    async fn seen_or_insert(&self, key: &str, ttl: Duration) -> Result<bool> {
        let now = now_ms();
        let until = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2));
        if self.calls.fetch_add(1, Ordering::Relaxed).is_multiple_of(256) {
            self.client
                .execute("DELETE FROM payout_dedupe WHERE expires_at <= $1", &[&now])
                .await
                .map_err(Error::storage)?;
        }
        // New, or an expired entry renewed: a row comes back. Seen and alive: none.
        let rows = self
            .client
            .query(
                "INSERT INTO payout_dedupe (key, expires_at) VALUES ($1, $3) ON CONFLICT (key) \
                 DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE payout_dedupe.expires_at <= $2 \
                 RETURNING 1",
                &[&key, &now, &until],
            )
            .await
            .map_err(Error::storage)?;
        Ok(rows.is_empty())
    }

    async fn forget(&self, key: &str) -> Result<()> {
        self.client
            .execute("DELETE FROM payout_dedupe WHERE key = $1", &[&key])
            .await
            .map_err(Error::storage)?;
        Ok(())
    }

    async fn claim(&self, key: &str, in_flight_ttl: Duration) -> Result<payout_core::dedupe::Claim> {
        use payout_core::dedupe::Claim;
        let now = now_ms();
        let until = now.saturating_add(crate::dedupe::ttl_ms(in_flight_ttl));
        if self.calls.fetch_add(1, Ordering::Relaxed).is_multiple_of(256) {
            self.client
                .execute("DELETE FROM payout_dedupe_claims WHERE expires_at <= $1", &[&now])
                .await
                .map_err(Error::storage)?;
        }
        // New, or an expired entry taken over: a row comes back. Alive: none (one statement,
        // so two instances never both get `New`).
        let rows = self
            .client
            .query(
                "INSERT INTO payout_dedupe_claims (key, done, expires_at) VALUES ($1, false, $3) \
                 ON CONFLICT (key) DO UPDATE SET done = false, expires_at = EXCLUDED.expires_at \
                 WHERE payout_dedupe_claims.expires_at <= $2 RETURNING 1",
                &[&key, &now, &until],
            )
            .await
            .map_err(Error::storage)?;
        if !rows.is_empty() {
            return Ok(Claim::New);
        }
        let rows = self
            .client
            .query("SELECT done FROM payout_dedupe_claims WHERE key = $1", &[&key])
            .await
            .map_err(Error::storage)?;
        // Released between the two statements: another request is about to claim it; the
        // provider's next retry finds it settled one way or the other.
        Ok(match rows.first().and_then(|r| r.try_get::<_, bool>(0).ok()) {
            Some(true) => Claim::Done,
            _ => Claim::InFlight,
        })
    }

    async fn commit(&self, key: &str, ttl: Duration) -> Result<()> {
        let until = now_ms().saturating_add(crate::dedupe::ttl_ms(ttl));
        self.client
            .execute(
                "INSERT INTO payout_dedupe_claims (key, done, expires_at) VALUES ($1, true, $2) \
                 ON CONFLICT (key) DO UPDATE SET done = true, expires_at = EXCLUDED.expires_at",
                &[&key, &until],
            )
            .await
            .map_err(Error::storage)?;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<()> {
        self.client
            .execute(
                "DELETE FROM payout_dedupe_claims WHERE key = $1 AND done = false",
                &[&key],
            )
            .await
            .map_err(Error::storage)?;
        Ok(())
    }
}
