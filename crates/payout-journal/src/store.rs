//! The storage behind a [`crate::Journal`]: one trait, two backends ([`crate::sqlite`] and,
//! with the `postgres` feature, `postgres`).
//!
//! Every method is one atomic statement (or one short transaction) that is durable when it
//! returns. Leases make "claim then send" safe across workers: only the lease holder may move
//! an intent to `sent` or record its outcome, and an expired lease may be taken by anyone.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Where an intent stands.
///
/// ```text
/// recorded ──claim──▶ sent ──▶ settled (with the result)
///    ▲                 │  └──▶ failed  (with a final error)
///    └─(never left)────┤
///                      └──▶ ambiguous ──recover: lookup──▶ settled | failed | (re-sent) | needs a decision
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Committed, not sent: nothing has left (the outbox form, or a send refused before any
    /// byte left, such as an open circuit).
    Recorded,
    /// Committed as about to be sent: the request may have reached the provider.
    Sent,
    /// Final: the provider created the object; the result is stored.
    Settled,
    /// Final: the provider refused (or the key belongs to another object); the error is stored.
    Failed,
    /// The outcome is unknown; `recover` resolves it by lookup.
    Ambiguous,
}

impl State {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Recorded => "recorded",
            State::Sent => "sent",
            State::Settled => "settled",
            State::Failed => "failed",
            State::Ambiguous => "ambiguous",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "recorded" => State::Recorded,
            "sent" => State::Sent,
            "settled" => State::Settled,
            "failed" => State::Failed,
            "ambiguous" => State::Ambiguous,
            _ => return None,
        })
    }

    /// `settled` or `failed`.
    pub fn is_final(self) -> bool {
        matches!(self, State::Settled | State::Failed)
    }

    /// The request may have reached the provider at some point.
    pub fn maybe_sent(self) -> bool {
        matches!(self, State::Sent | State::Ambiguous)
    }
}

/// The parts of a final error the journal keeps (never a request body or a secret: the
/// message is the provider crate's, which is already redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredError {
    /// `payout_core::ErrorKind::as_str()`.
    pub kind: String,
    /// The HTTP status, if any.
    pub status: Option<u16>,
    /// The provider's error code, if any.
    pub code: Option<String>,
    /// The message.
    pub message: String,
}

impl StoredError {
    /// Keeps what a later caller needs from `err`.
    pub fn of(err: &payout_core::Error) -> Self {
        StoredError {
            kind: err.kind().as_str().to_string(),
            status: err.status(),
            code: err.provider_code().map(str::to_string),
            message: err.message().to_string(),
        }
    }

    /// Rebuilds a `payout_core::Error` (for a caller asking again about a failed payout).
    pub fn to_error(&self, provider: &'static str) -> payout_core::Error {
        use payout_core::ErrorKind as K;
        let kind = [
            K::Config,
            K::InvalidInput,
            K::Transport,
            K::Timeout,
            K::RateLimited,
            K::Auth,
            K::NotFound,
            K::Provider,
            K::Decode,
            K::Ambiguous,
            K::CircuitOpen,
        ]
        .into_iter()
        .find(|k| k.as_str() == self.kind)
        .unwrap_or(K::Provider);
        let mut e = payout_core::Error::new(kind, provider, format!("(recorded earlier) {}", self.message))
            .with_retryable(false)
            .with_may_have_succeeded(false);
        if let Some(s) = self.status {
            e = e.with_status(s);
        }
        if let Some(c) = &self.code {
            e = e.with_code(c.clone());
        }
        e
    }
}

/// One intent as stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentRecord {
    /// The caller's business id (`"order-42"`): the primary key.
    pub business_id: String,
    /// `ApiClient::PROVIDER` (`"rocheap"`).
    pub provider: String,
    /// `Endpoint::META.operation` (`"orders.create"`).
    pub operation: String,
    /// `"key_protected"`, `"unprotected"` or `"idempotent"` (`Endpoint::META.safety`).
    pub safety: String,
    /// `Keyed::KEY_NAME`, if the request carries a key.
    pub key_name: Option<String>,
    /// The key, exactly as sent.
    pub key: Option<String>,
    /// The request value as JSON (secrets masked or skipped by the request type's `Serialize`).
    pub request: String,
    /// The state.
    pub state: State,
    /// How many times the request was (or may have been) sent.
    pub attempts: u32,
    /// The output as JSON, once settled.
    pub result: Option<String>,
    /// The final or last error as JSON ([`StoredError`]).
    pub error: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
    /// Unix milliseconds of the last send.
    pub sent_at: Option<i64>,
    /// The worker holding the lease.
    pub lease_owner: Option<String>,
    /// Unix milliseconds when the lease expires.
    pub lease_until: Option<i64>,
}

impl std::fmt::Debug for IntentRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The request and result may carry personal data: sizes only.
        f.debug_struct("IntentRecord")
            .field("business_id", &self.business_id)
            .field("provider", &self.provider)
            .field("operation", &self.operation)
            .field("key", &self.key)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .field("request_len", &self.request.len())
            .finish_non_exhaustive()
    }
}

impl IntentRecord {
    /// The stored final error, if any.
    pub fn stored_error(&self) -> Option<StoredError> {
        self.error.as_deref().and_then(|e| serde_json::from_str(e).ok())
    }
}

/// What to insert for a new intent.
#[derive(Clone)]
pub struct NewIntent {
    /// The caller's business id.
    pub business_id: String,
    /// Provider name.
    pub provider: String,
    /// Operation name.
    pub operation: String,
    /// Safety name.
    pub safety: String,
    /// Key name.
    pub key_name: Option<String>,
    /// Key.
    pub key: Option<String>,
    /// Request JSON.
    pub request: String,
    /// `Recorded` (outbox) or `Sent` (inserted and claimed at once by `pay`).
    pub state: State,
}

impl std::fmt::Debug for NewIntent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewIntent")
            .field("business_id", &self.business_id)
            .field("operation", &self.operation)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A worker's claim on intents until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The worker id (unique per `Journal` value).
    pub owner: String,
    /// Unix milliseconds.
    pub until: i64,
}

impl Lease {
    /// A lease for `owner` lasting `d` from now.
    pub fn new(owner: &str, d: Duration) -> Self {
        Lease {
            owner: owner.to_string(),
            until: now_ms().saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)),
        }
    }
}

/// What [`Store::insert`] did.
#[derive(Debug, Clone)]
pub enum Inserted {
    /// The intent is new and stored (claimed by the lease when inserted as `Sent`).
    New(IntentRecord),
    /// The business id was already recorded: the stored intent, unchanged.
    Existing(IntentRecord),
}

/// The current time in Unix milliseconds (the journal's clock; keep workers' clocks in sync
/// with NTP: leases compare them).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The storage a [`crate::Journal`] runs on. Implemented by [`crate::sqlite::SqliteStore`] and
/// (feature `postgres`) `postgres::PgStore`; implement it for another database with the same
/// guarantees: each method atomic and durable when it returns.
pub trait Store: Send + Sync + 'static {
    /// Inserts the intent if its business id is new (holding `lease` when `new.state` is
    /// `Sent`, `attempts = 1`); otherwise returns the stored one unchanged.
    fn insert(&self, new: &NewIntent, lease: &Lease) -> impl Future<Output = Result<Inserted>> + Send;

    /// Takes the lease on an unfinished intent if it is free, expired or already ours.
    /// `None`: final, unknown, or leased by another live worker.
    fn claim(
        &self,
        business_id: &str,
        lease: &Lease,
    ) -> impl Future<Output = Result<Option<IntentRecord>>> + Send;

    /// Takes the lease on up to `limit` unfinished intents of this provider and operation
    /// (oldest first) last touched at or before `touched_before` (Unix ms: so that one
    /// recovery pass looks at each intent once; the pass waits for the clock to pass it), skipping those another live worker holds (a worker
    /// restarted under the same id takes its own leases back at once).
    fn claim_batch(
        &self,
        provider: &str,
        operation: &str,
        limit: u32,
        touched_before: i64,
        lease: &Lease,
    ) -> impl Future<Output = Result<Vec<IntentRecord>>> + Send;

    /// Moves a claimed intent to `sent` (one more attempt) before a send. `false` when the
    /// lease was lost: the caller must not send.
    fn mark_sent(&self, business_id: &str, lease: &Lease) -> impl Future<Output = Result<bool>> + Send;

    /// Records the new state (with a result or an error) and releases the lease. `false`
    /// when the lease was lost (another worker resolves it).
    fn finish(
        &self,
        business_id: &str,
        lease: &Lease,
        state: State,
        result: Option<String>,
        error: Option<String>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// The intent, if recorded.
    fn get(&self, business_id: &str) -> impl Future<Output = Result<Option<IntentRecord>>> + Send;

    /// Every unfinished intent (`recorded`, `sent`, `ambiguous`), oldest first.
    fn unfinished(&self) -> impl Future<Output = Result<Vec<IntentRecord>>> + Send;
}
