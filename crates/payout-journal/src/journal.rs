//! [`Journal`]: `pay`, `pay_unprotected`, `recover` and the operator's `decide`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use payout_core::reconcile::{outcome_unknown, send_reconciled};
use payout_core::{ApiClient, Endpoint, ErrorKind, Keyed, Reconcile, ReconcilePolicy, Safety};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{Inserted, IntentRecord, Lease, NewIntent, State, Store, StoredError, now_ms};

/// A point in a payout where the crash tests stop the process (test support only).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// The intent is committed as `sent`; nothing has been written to the network yet.
    Committed,
    /// The provider's answer (or error) is in hand; the outcome is not recorded yet.
    Answered,
}

type Hook = Arc<dyn Fn(Checkpoint, &str) + Send + Sync>;

/// A write-ahead journal of payout intents, keyed by your business id.
///
/// See the crate docs for an example, and `docs/journal.md` for the state machine and what
/// each backend promises.
pub struct Journal<S: Store = crate::sqlite::SqliteStore> {
    store: S,
    worker: String,
    lease: Duration,
    policy: ReconcilePolicy,
    batch: u32,
    hook: Option<Hook>,
    replay_window: Duration,
    /// One journal's own calls share its worker id, so a lease alone cannot keep them apart
    /// (a claim takes back the worker's own leases, as a restarted worker must). A recovery
    /// pass holds this for writing, each `pay` for reading: a pass never takes over a payout
    /// this journal is sending right now, and a payout waits for a running pass.
    gate: tokio::sync::RwLock<()>,
    /// Business ids one of this journal's calls is sending or resolving now: a second call
    /// for the same id answers `Busy` instead of claiming it from under the first.
    active: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Marks a business id as being handled by one call of this journal; unmarks on drop.
struct Held<'a> {
    active: &'a std::sync::Mutex<std::collections::HashSet<String>>,
    id: String,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.active.lock() {
            set.remove(&self.id);
        }
    }
}

impl<S: Store> std::fmt::Debug for Journal<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("worker", &self.worker)
            .field("lease", &self.lease)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Journal<crate::sqlite::SqliteStore> {
    /// Opens (or creates) a SQLite journal file with full durability.
    ///
    /// # Errors
    /// If the file cannot be opened.
    pub async fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        Ok(Journal::new(crate::sqlite::SqliteStore::open(path).await?))
    }
}

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
impl Journal<crate::postgres::PgStore> {
    /// Connects to PostgreSQL (`postgres://user@host:port/db` or `host=... user=...`) and
    /// creates the tables if missing.
    ///
    /// # Errors
    /// If the connection or the schema fails.
    pub async fn connect_postgres(url: &str) -> Result<Self> {
        Ok(Journal::new(crate::postgres::PgStore::connect(url).await?))
    }
}

/// Which way an intent was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Sent,
    Found,
    Resent,
}

enum Resolution<T> {
    Settled(T, How),
    Failed(payout_core::Error),
    Ambiguous(payout_core::Error),
    /// Nothing left; sent again by the next `pay` or `recover`.
    Pending(payout_core::Error),
    NeedsDecision(String, Vec<serde_json::Value>),
    LeaseLost,
}

/// An intent that is still open after recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unresolved {
    /// Your business id.
    pub business_id: String,
    /// The key it was sent with (none for a call that carries no key).
    pub key: Option<String>,
    /// What is known (the last error's message).
    pub message: String,
    /// For a decision: what the provider's lookup found that may be this payout (as JSON).
    pub candidates: Vec<serde_json::Value>,
}

/// What [`Journal::recover`] did, one entry per business id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// Recorded but never sent (the outbox, or a send refused before anything left): sent
    /// now for the first time and settled.
    pub sent: Vec<String>,
    /// Found by the provider's lookup: settled without sending anything.
    pub settled: Vec<String>,
    /// Not found, the provider deduplicates on the key: sent again with the same key, settled.
    pub resent: Vec<String>,
    /// Refused by the provider (or the key belongs to another object): recorded as failed.
    pub failed: Vec<String>,
    /// Still unknown (the lookup failed, or the re-send's outcome is unknown again): run
    /// `recover` again later.
    pub still_ambiguous: Vec<Unresolved>,
    /// Not sent (nothing left): sent by the next `recover`.
    pub pending: Vec<Unresolved>,
    /// An unprotected call that may have happened and was not found: never sent again
    /// automatically. A person decides ([`Journal::decide`]).
    pub needs_decision: Vec<Unresolved>,
}

impl RecoveryReport {
    /// True when every intent looked at is final (settled or failed).
    pub fn all_final(&self) -> bool {
        self.still_ambiguous.is_empty() && self.pending.is_empty() && self.needs_decision.is_empty()
    }

    /// How many intents were looked at.
    pub fn len(&self) -> usize {
        self.sent.len()
            + self.settled.len()
            + self.resent.len()
            + self.failed.len()
            + self.still_ambiguous.len()
            + self.pending.len()
            + self.needs_decision.len()
    }

    /// True when there was nothing to recover.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn absorb(&mut self, other: RecoveryReport) {
        self.sent.extend(other.sent);
        self.settled.extend(other.settled);
        self.resent.extend(other.resent);
        self.failed.extend(other.failed);
        self.still_ambiguous.extend(other.still_ambiguous);
        self.pending.extend(other.pending);
        self.needs_decision.extend(other.needs_decision);
    }
}

/// An operator's decision on an intent that needs one (see `docs/journal.md`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Decision {
    /// The payout happened (found in the provider's dashboard): settle it with this result
    /// (the output as JSON, or `null`).
    Happened(serde_json::Value),
    /// The payout did not happen: record it as failed with this reason. Pay again under a
    /// **new** business id if it is still owed.
    DidNotHappen(String),
}

fn safety_name(s: Safety) -> &'static str {
    match s {
        Safety::Idempotent => "idempotent",
        Safety::KeyProtected => "key_protected",
        Safety::Unprotected => "unprotected",
    }
}

pub(crate) fn new_intent<C: ApiClient, E: Endpoint + Serialize>(
    business_id: &str,
    req: &E,
    key: Option<&str>,
    state: State,
) -> Result<NewIntent> {
    let request = serde_json::to_string(req).map_err(|e| Error::Decode {
        business_id: business_id.to_string(),
        what: "request",
        message: e.to_string(),
    })?;
    Ok(NewIntent {
        business_id: business_id.to_string(),
        provider: C::PROVIDER.to_string(),
        operation: E::META.operation.to_string(),
        safety: safety_name(E::META.safety).to_string(),
        key_name: None,
        key: key.map(str::to_string),
        request,
        state,
    })
}

pub(crate) fn keyed_intent<C: ApiClient, E: Endpoint + Keyed + Serialize>(
    business_id: &str,
    req: &E,
    state: State,
) -> Result<NewIntent> {
    let mut new = new_intent::<C, E>(business_id, req, Some(req.key()), state)?;
    new.key_name = Some(E::KEY_NAME.to_string());
    Ok(new)
}

/// The request JSON with every string equal to the key replaced, and every field named like
/// the key (`Keyed::KEY_NAME`, e.g. each item's `clientTransferId` in an xRocket mass
/// transfer) blanked, so that "the same request built again with fresh keys" compares equal.
fn normalized(json: &str, key: Option<&str>, key_name: Option<&str>) -> Option<serde_json::Value> {
    const BLANK: &str = "\u{0}key";
    fn walk(v: &mut serde_json::Value, key: Option<&str>, key_name: Option<&str>) {
        match v {
            serde_json::Value::String(s) if Some(s.as_str()) == key => *s = BLANK.to_string(),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| walk(x, key, key_name)),
            serde_json::Value::Object(o) => {
                for (name, x) in o.iter_mut() {
                    if Some(name.as_str()) == key_name && x.is_string() {
                        *x = serde_json::Value::String(BLANK.to_string());
                    } else {
                        walk(x, key, key_name);
                    }
                }
            }
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_str(json).ok()?;
    walk(
        &mut v,
        key.filter(|k| !k.is_empty()),
        key_name.filter(|n| !n.is_empty()),
    );
    Some(v)
}

pub(crate) fn check_same(rec: &IntentRecord, new: &NewIntent, key: Option<&str>) -> Result<()> {
    let conflict = |what| {
        Err(Error::Conflict {
            business_id: rec.business_id.clone(),
            what,
        })
    };
    if rec.provider != new.provider {
        return conflict("provider");
    }
    if rec.operation != new.operation {
        return conflict("operation");
    }
    let key_name = new.key_name.as_deref().or(rec.key_name.as_deref());
    if normalized(&rec.request, rec.key.as_deref(), key_name) != normalized(&new.request, key, key_name) {
        return conflict("request");
    }
    Ok(())
}

fn decode_request<E: DeserializeOwned + Keyed>(rec: &IntentRecord) -> Result<E> {
    let req: E = decode_stored_request(rec)?;
    if rec.key.as_deref() != Some(req.key()) {
        return Err(Error::Decode {
            business_id: rec.business_id.clone(),
            what: "request",
            message: "the stored request does not carry its key (the request type must serialize its key)"
                .to_string(),
        });
    }
    Ok(req)
}

fn decode_stored_request<E: DeserializeOwned>(rec: &IntentRecord) -> Result<E> {
    serde_json::from_str(&rec.request).map_err(|e| Error::Decode {
        business_id: rec.business_id.clone(),
        what: "request",
        message: e.to_string(),
    })
}

/// The state after a send that failed with `e`.
fn classify(e: &payout_core::Error, maybe_sent_before: bool) -> State {
    if e.kind() == ErrorKind::Ambiguous || outcome_unknown(e) {
        State::Ambiguous
    } else if !e.was_sent() {
        if maybe_sent_before {
            // Nothing left this time, so nothing new was learned about the earlier attempt
            // (for example a journaled request whose secrets were masked fails validation).
            State::Ambiguous
        } else if e.kind() == ErrorKind::InvalidInput {
            // Refused by validation before anything left: it would be refused again.
            State::Failed
        } else {
            // An open circuit, no connection: nothing left; send it later.
            State::Recorded
        }
    } else if e.is_retryable() {
        // Refused before it could act (a rate limit).
        if maybe_sent_before {
            State::Ambiguous
        } else {
            State::Recorded
        }
    } else {
        State::Failed
    }
}

/// The instant a recovery pass starts from: intents last touched at or before it are claimed.
/// It waits until the clock has moved past it, so that every intent this pass touches is
/// stamped later (and claimed once), while one touched in the same millisecond just before
/// the pass began is not missed.
async fn recovery_start() -> i64 {
    let started = now_ms();
    while now_ms() <= started {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    started
}

fn require_key_protected<C: ApiClient, E: Endpoint>() -> Result<()> {
    if E::META.safety == Safety::KeyProtected {
        return Ok(());
    }
    Err(Error::Payout(payout_core::Error::invalid_input(
        C::PROVIDER,
        E::META.operation,
        "pay_keyed and recover_keyed take only key-protected calls (the provider deduplicates on the key); use pay or pay_unprotected",
    )))
}

fn ambiguous_not_found<C: ApiClient>(rec: &IntentRecord) -> String {
    let name = rec.key_name.as_deref().unwrap_or("key");
    let key = rec.key.as_deref().unwrap_or("");
    format!(
        "{}: the outcome of `{}` is unknown and no object with {name} `{key}` was found; the provider does not deduplicate this call, so it is never sent again automatically",
        C::PROVIDER,
        rec.operation
    )
}

impl<S: Store> Journal<S> {
    /// A journal on `store`, with a fresh worker id, a 120 s lease and the default
    /// reconcile policy.
    pub fn new(store: S) -> Self {
        Journal {
            store,
            worker: uuid::Uuid::new_v4().to_string(),
            lease: Duration::from_secs(120),
            policy: ReconcilePolicy::default(),
            batch: 32,
            hook: None,
            replay_window: Duration::from_secs(24 * 3600),
            gate: tokio::sync::RwLock::new(()),
            active: std::sync::Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// Marks `business_id` as handled by this call, or `Busy` if another call of this journal
    /// handles it now.
    fn hold(&self, business_id: &str) -> Result<Held<'_>> {
        let mut set = self
            .active
            .lock()
            .map_err(|_| Error::Storage("the journal's in-process registry is poisoned".into()))?;
        if !set.insert(business_id.to_string()) {
            return Err(Error::Busy {
                business_id: business_id.to_string(),
                lease_secs: self.lease.as_secs(),
            });
        }
        Ok(Held {
            active: &self.active,
            id: business_id.to_string(),
        })
    }

    /// How long the provider deduplicates a key for [`Journal::pay_keyed`]'s re-sends
    /// (default 24 h, RohoPay's documented window: "safe to reuse for up to 24 h"). An
    /// unfinished intent first recorded longer ago than this is never re-sent (the key may
    /// have expired at the provider, and the re-send would be a second payout): it is
    /// reported as needing a decision.
    pub fn replay_window(mut self, window: Duration) -> Self {
        self.replay_window = window;
        self
    }

    /// How long a worker owns an intent it is sending or resolving. Must exceed the client's
    /// total timeout plus the reconcile lookups: another worker takes over an intent whose
    /// lease expired (safe either way: it looks the payout up first, and re-sends only with
    /// the same key where the provider deduplicates on it).
    pub fn lease(mut self, d: Duration) -> Self {
        self.lease = d;
        self
    }

    /// How hard the lookup after an unknown outcome tries.
    pub fn reconcile_policy(mut self, policy: ReconcilePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets this worker's id (default: a random UUID). Use a stable id per process slot (a
    /// host or pod name): a process restarted after a crash under the same id takes its dead
    /// incarnation's leases back at once, where a new random id waits for them to expire.
    /// Two **live** workers must never share one.
    pub fn worker_id(mut self, id: impl Into<String>) -> Self {
        self.worker = id.into();
        self
    }

    #[doc(hidden)]
    pub fn checkpoint_hook(mut self, f: impl Fn(Checkpoint, &str) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(f));
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// This worker's id.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// The recorded intent for `business_id`.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn get(&self, business_id: &str) -> Result<Option<IntentRecord>> {
        self.store.get(business_id).await
    }

    /// Every unfinished intent (any provider and operation).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn unfinished(&self) -> Result<Vec<IntentRecord>> {
        self.store.unfinished().await
    }

    fn new_lease(&self) -> Lease {
        Lease::new(&self.worker, self.lease)
    }

    fn checkpoint(&self, at: Checkpoint, business_id: &str) {
        if let Some(h) = &self.hook {
            h(at, business_id);
        }
    }

    /// Pays `req` once for `business_id`, crash or no crash.
    ///
    /// 1. The intent (provider, operation, the request with its key) is committed as `sent`
    ///    **before** the first byte is sent.
    /// 2. It is sent through `payout_core::reconcile` (an unknown outcome is looked up by the
    ///    request's key).
    /// 3. The outcome is recorded: `settled` with the output, `failed` with the error, or left
    ///    `ambiguous` for [`Journal::recover`].
    ///
    /// Called again with the same business id, it returns the recorded output (or error), or
    /// resumes the unfinished intent **with the recorded request and key**: it looks the
    /// payout up first and re-sends only where the provider deduplicates on the key. The same
    /// request built again with a fresh key counts as the same request; anything else is
    /// [`Error::Conflict`].
    ///
    /// # Errors
    /// [`Error::Payout`] with the provider's error (`ErrorKind::Ambiguous` with the key when
    /// the outcome is unknown: call `pay` again with the same business id, or `recover`);
    /// [`Error::Conflict`]; [`Error::Busy`] while another worker holds the intent;
    /// [`Error::NeedsDecision`]; storage errors (nothing was sent if the intent could not be
    /// committed).
    pub async fn pay<C, E>(&self, client: &C, business_id: &str, req: &E) -> Result<E::Output>
    where
        C: ApiClient,
        E: Reconcile + Serialize + DeserializeOwned,
        E::Output: Serialize + DeserializeOwned,
    {
        let new = keyed_intent::<C, E>(business_id, req, State::Sent)?;
        let _gate = self.gate.read().await;
        let _held = self.hold(business_id)?;
        let lease = self.new_lease();
        match self.store.insert(&new, &lease).await? {
            Inserted::New(_) => {
                self.checkpoint(Checkpoint::Committed, business_id);
                let res = send_reconciled(client, req, &self.policy).await;
                self.checkpoint(Checkpoint::Answered, business_id);
                let r = self
                    .record::<E::Output>(business_id, &lease, false, res, How::Sent)
                    .await?;
                into_result(business_id, r, self.lease)
            }
            Inserted::Existing(rec) => {
                check_same(&rec, &new, Some(req.key()))?;
                if let Some(done) = final_outcome::<C, E::Output>(&rec) {
                    return done;
                }
                let lease = self.new_lease();
                let Some(rec) = self.store.claim(business_id, &lease).await? else {
                    return self.after_failed_claim::<C, E::Output>(business_id).await;
                };
                let owned;
                let req = if rec.key.as_deref() == Some(req.key()) {
                    req
                } else {
                    owned = decode_request::<E>(&rec)?;
                    &owned
                };
                let r = self.resolve(client, &rec, req, &lease).await?;
                into_result(business_id, r, self.lease)
            }
        }
    }

    /// Pays a call that carries **no key** the provider could deduplicate or look up by
    /// (RomplHub's `POST /orders`): recorded before the first byte like [`Journal::pay`], but
    /// once it may have left it is never sent again. A repeated call returns the recorded
    /// outcome, or [`Error::NeedsDecision`] while the outcome is unknown.
    ///
    /// # Errors
    /// As [`Journal::pay`].
    pub async fn pay_unprotected<C, E>(&self, client: &C, business_id: &str, req: &E) -> Result<E::Output>
    where
        C: ApiClient,
        E: Endpoint + Serialize + DeserializeOwned,
        E::Output: Serialize + DeserializeOwned,
    {
        let new = new_intent::<C, E>(business_id, req, None, State::Sent)?;
        let _gate = self.gate.read().await;
        let _held = self.hold(business_id)?;
        let lease = self.new_lease();
        match self.store.insert(&new, &lease).await? {
            Inserted::New(_) => {
                self.checkpoint(Checkpoint::Committed, business_id);
                let res = client.send(req).await;
                self.checkpoint(Checkpoint::Answered, business_id);
                let r = self
                    .record::<E::Output>(business_id, &lease, false, res, How::Sent)
                    .await?;
                into_result(business_id, r, self.lease)
            }
            Inserted::Existing(rec) => {
                check_same(&rec, &new, None)?;
                if let Some(done) = final_outcome::<C, E::Output>(&rec) {
                    return done;
                }
                let lease = self.new_lease();
                let Some(rec) = self.store.claim(business_id, &lease).await? else {
                    return self.after_failed_claim::<C, E::Output>(business_id).await;
                };
                let r = self
                    .resolve_unprotected(client, &rec, req, &lease, None::<&NoFinder<C, E, E::Output>>)
                    .await?;
                into_result(business_id, r, self.lease)
            }
        }
    }

    /// Pays a **keyed, key-protected** call whose provider offers no lookup by the key but
    /// replays its first answer for a repeated key (RohoPay's collect, disburse and checkout):
    /// recorded before the first byte like [`Journal::pay`], and sent with the request's key.
    ///
    /// An unfinished intent (a crash, an unknown outcome) is resolved by **re-sending the
    /// recorded request with the same key**: the provider deduplicates on it, so the re-send
    /// creates nothing new and its answer is the first one, which is recorded. A journaled
    /// request that no longer passes the crate's own validation (a card checkout, whose card
    /// data is masked when journaled) is never re-sent: it is reported as needing a decision
    /// with its key. Passing the original request again (the same key, the card in memory)
    /// re-sends it.
    ///
    /// # Errors
    /// As [`Journal::pay`]; `InvalidInput` (nothing recorded, nothing sent) when
    /// `E::META.safety` is not `KeyProtected` (use [`Journal::pay`] or
    /// [`Journal::pay_unprotected`]).
    pub async fn pay_keyed<C, E>(&self, client: &C, business_id: &str, req: &E) -> Result<E::Output>
    where
        C: ApiClient,
        E: Endpoint + Keyed + Serialize + DeserializeOwned,
        E::Output: Serialize + DeserializeOwned,
    {
        require_key_protected::<C, E>()?;
        let new = keyed_intent::<C, E>(business_id, req, State::Sent)?;
        let _gate = self.gate.read().await;
        let _held = self.hold(business_id)?;
        let lease = self.new_lease();
        match self.store.insert(&new, &lease).await? {
            Inserted::New(_) => {
                self.checkpoint(Checkpoint::Committed, business_id);
                let res = client.send(req).await;
                self.checkpoint(Checkpoint::Answered, business_id);
                let r = self
                    .record::<E::Output>(business_id, &lease, false, res, How::Sent)
                    .await?;
                into_result(business_id, r, self.lease)
            }
            Inserted::Existing(rec) => {
                check_same(&rec, &new, Some(req.key()))?;
                if let Some(done) = final_outcome::<C, E::Output>(&rec) {
                    return done;
                }
                let lease = self.new_lease();
                let Some(rec) = self.store.claim(business_id, &lease).await? else {
                    return self.after_failed_claim::<C, E::Output>(business_id).await;
                };
                let owned;
                let req = if rec.key.as_deref() == Some(req.key()) {
                    req
                } else {
                    owned = decode_request::<E>(&rec)?;
                    &owned
                };
                let r = self.resolve_keyed(client, &rec, req, &lease).await?;
                into_result(business_id, r, self.lease)
            }
        }
    }

    /// Recovery for calls paid with [`Journal::pay_keyed`]: a `recorded` intent is sent; an
    /// unfinished one is re-sent **with its recorded key** (the provider replays the first
    /// answer), and the answer recorded (`resent` in the report). A journaled request that no
    /// longer validates (a card checkout, its card masked in the journal) is never re-sent
    /// and is reported in `needs_decision` with its key.
    ///
    /// # Errors
    /// Storage errors; `InvalidInput` when `E::META.safety` is not `KeyProtected`.
    pub async fn recover_keyed<C, E>(&self, client: &C) -> Result<RecoveryReport>
    where
        C: ApiClient,
        E: Endpoint + Keyed + Serialize + DeserializeOwned,
        E::Output: Serialize + DeserializeOwned,
    {
        require_key_protected::<C, E>()?;
        self.recover_each::<C, E, _>(async |rec, req, lease| {
            self.resolve_keyed(client, rec, req, lease).await
        })
        .await
    }

    /// Resolves one claimed, unfinished intent of a keyed, key-protected call without lookup.
    async fn resolve_keyed<C, E>(
        &self,
        client: &C,
        rec: &IntentRecord,
        req: &E,
        lease: &Lease,
    ) -> Result<Resolution<E::Output>>
    where
        C: ApiClient,
        E: Endpoint + Keyed,
        E::Output: Serialize,
    {
        let id = rec.business_id.as_str();
        let maybe_sent_before = rec.state != State::Recorded;
        let window_ms = i64::try_from(self.replay_window.as_millis()).unwrap_or(i64::MAX);
        if maybe_sent_before && now_ms().saturating_sub(rec.created_at) > window_ms {
            let msg = format!(
                "{}: `{}` may have reached the provider and was recorded more than {} s ago, beyond the time the provider deduplicates {} `{}`; it is never re-sent automatically. Check the provider's record and record a decision",
                C::PROVIDER,
                rec.operation,
                self.replay_window.as_secs(),
                E::KEY_NAME,
                req.key()
            );
            let amb = payout_core::Error::new(ErrorKind::Ambiguous, C::PROVIDER, msg.clone());
            self.keep_open(id, lease, State::Ambiguous, &amb).await?;
            return Ok(Resolution::NeedsDecision(msg, Vec::new()));
        }
        if maybe_sent_before {
            // The request as journaled must still be the request that was sent: one whose
            // secrets were masked when journaled no longer validates, and re-sending it under
            // the same key would be refused (or, worse, differ from the first request).
            if let Err(e) = req.to_request() {
                let msg = format!(
                    "{}: `{}` may have reached the provider and the journaled request cannot be sent again ({}); it is never re-sent with masked data. Check the provider's record for {} `{}` and record a decision, or pay again with the original request (same key)",
                    C::PROVIDER,
                    rec.operation,
                    e.message(),
                    E::KEY_NAME,
                    req.key()
                );
                let amb = payout_core::Error::new(ErrorKind::Ambiguous, C::PROVIDER, msg.clone());
                self.keep_open(id, lease, State::Ambiguous, &amb).await?;
                return Ok(Resolution::NeedsDecision(msg, Vec::new()));
            }
        }
        if !self.store.mark_sent(id, lease).await? {
            return Ok(Resolution::LeaseLost);
        }
        self.checkpoint(Checkpoint::Committed, id);
        let res = client.send(req).await;
        self.checkpoint(Checkpoint::Answered, id);
        let how = if maybe_sent_before { How::Resent } else { How::Sent };
        self.record::<E::Output>(id, lease, maybe_sent_before, res, how)
            .await
    }

    async fn after_failed_claim<C: ApiClient, T: DeserializeOwned>(&self, business_id: &str) -> Result<T> {
        match self.store.get(business_id).await? {
            Some(rec) => match final_outcome::<C, T>(&rec) {
                Some(done) => done,
                None => Err(Error::Busy {
                    business_id: business_id.to_string(),
                    lease_secs: self.lease.as_secs(),
                }),
            },
            None => Err(Error::Storage(format!(
                "business id `{business_id}` vanished from the journal"
            ))),
        }
    }

    /// Resolves every unfinished intent of this provider client and request type `E`, oldest
    /// first, and returns what happened to each. Run it at startup (and periodically: it is
    /// also the outbox dispatcher).
    ///
    /// * `recorded` (never left): sent now, through the core reconcile.
    /// * `sent` / `ambiguous`: looked up by the key first. Found and matching: settled. Found
    ///   but different: failed (the key belongs to another object). Not found: re-sent with the
    ///   same key only when `E::META.safety` is `KeyProtected`; otherwise reported as needing
    ///   a decision, never re-sent. The lookup failed: still ambiguous.
    ///
    /// Intents of other request types are left alone: call `recover` once per money-moving
    /// request type you use (or see [`Journal::unfinished`]). Intents another live worker
    /// holds are skipped.
    ///
    /// # Errors
    /// Storage errors (each intent already resolved stays resolved).
    pub async fn recover<C, E>(&self, client: &C) -> Result<RecoveryReport>
    where
        C: ApiClient,
        E: Reconcile + Serialize + DeserializeOwned,
        E::Output: Serialize + DeserializeOwned,
    {
        self.recover_each::<C, E, _>(async |rec, req, lease| self.resolve(client, rec, req, lease).await)
            .await
    }

    /// The claim-and-resolve loop both recoveries share: claim a batch of this operation's
    /// unfinished intents under a fresh lease, resolve each with `resolve`, until none is left.
    /// A stored request that no longer decodes is reported, with its key, as still ambiguous.
    async fn recover_each<C, E, R>(&self, resolve: R) -> Result<RecoveryReport>
    where
        C: ApiClient,
        E: Endpoint + Keyed + DeserializeOwned,
        R: AsyncFn(&IntentRecord, &E, &Lease) -> Result<Resolution<E::Output>>,
    {
        let _gate = self.gate.write().await;
        let started = recovery_start().await;
        let mut report = RecoveryReport::default();
        loop {
            let lease = self.new_lease();
            let batch = self
                .store
                .claim_batch(C::PROVIDER, E::META.operation, self.batch, started, &lease)
                .await?;
            if batch.is_empty() {
                return Ok(report);
            }
            for rec in batch {
                let id = rec.business_id.clone();
                let key = rec.key.clone();
                let r = match decode_request::<E>(&rec) {
                    Ok(req) => resolve(&rec, &req, &lease).await?,
                    Err(e) => {
                        self.store
                            .finish(&id, &lease, rec.state, None, rec.error.clone())
                            .await?;
                        report.still_ambiguous.push(Unresolved {
                            business_id: id,
                            key,
                            message: e.to_string(),
                            candidates: Vec::new(),
                        });
                        continue;
                    }
                };
                report.absorb(entry(id, key, r));
            }
        }
    }

    /// The outbox dispatcher: the same as [`Journal::recover`] (a recorded intent is sent, an
    /// unfinished one resolved). Call it after your transaction commits, and periodically.
    ///
    /// # Errors
    /// As [`Journal::recover`].
    pub async fn dispatch<C, E>(&self, client: &C) -> Result<RecoveryReport>
    where
        C: ApiClient,
        E: Reconcile + Serialize + DeserializeOwned,
        E::Output: Serialize + DeserializeOwned,
    {
        self.recover::<C, E>(client).await
    }

    /// Recovery for calls paid with [`Journal::pay_unprotected`]: a recorded intent that never
    /// left is sent; one that may have left is **never** sent again and is reported in
    /// `needs_decision`. See [`Journal::recover_unprotected_with`] to attach candidates.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn recover_unprotected<C, E>(&self, client: &C) -> Result<RecoveryReport>
    where
        C: ApiClient,
        E: Endpoint + Serialize + DeserializeOwned,
        E::Output: Serialize + DeserializeOwned,
    {
        self.recover_unprotected_inner(client, None::<&NoFinder<C, E, E::Output>>)
            .await
    }

    /// [`Journal::recover_unprotected`], with the candidates `finder` returns for each intent
    /// that needs a decision (for example the account's recent orders for the same
    /// recipient). A plain `fn` is the easy way to write one:
    ///
    /// ```ignore
    /// fn recent<'a>(c: &'a romplhub::Client, r: &'a romplhub::CreateOrder) -> Candidates<'a, romplhub::Order> {
    ///     Box::pin(async move { /* list the account's recent orders for r */ })
    /// }
    /// journal.recover_unprotected_with(&client, recent).await?;
    /// ```
    ///
    /// # Errors
    /// Storage errors.
    pub async fn recover_unprotected_with<C, E, F>(&self, client: &C, finder: F) -> Result<RecoveryReport>
    where
        C: ApiClient,
        E: Endpoint + Serialize + DeserializeOwned,
        E::Output: Serialize + DeserializeOwned,
        F: for<'a> Fn(&'a C, &'a E) -> Candidates<'a, E::Output> + Send + Sync,
    {
        self.recover_unprotected_inner(client, Some(&finder)).await
    }

    async fn recover_unprotected_inner<C, E, F>(
        &self,
        client: &C,
        finder: Option<&F>,
    ) -> Result<RecoveryReport>
    where
        C: ApiClient,
        E: Endpoint + Serialize + DeserializeOwned,
        E::Output: Serialize + DeserializeOwned,
        F: for<'a> Fn(&'a C, &'a E) -> Candidates<'a, E::Output> + Send + Sync,
    {
        let _gate = self.gate.write().await;
        let started = recovery_start().await;
        let mut report = RecoveryReport::default();
        loop {
            let lease = self.new_lease();
            let batch = self
                .store
                .claim_batch(C::PROVIDER, E::META.operation, self.batch, started, &lease)
                .await?;
            if batch.is_empty() {
                return Ok(report);
            }
            for rec in batch {
                let id = rec.business_id.clone();
                let r = match decode_stored_request::<E>(&rec) {
                    Ok(req) => {
                        self.resolve_unprotected(client, &rec, &req, &lease, finder)
                            .await?
                    }
                    Err(e) => {
                        self.store
                            .finish(&id, &lease, rec.state, None, rec.error.clone())
                            .await?;
                        Resolution::NeedsDecision(e.to_string(), Vec::new())
                    }
                };
                report.absorb(entry(id, None, r));
            }
        }
    }

    /// Records an operator's decision on an unfinished intent (one in `needs_decision`, or a
    /// long-ambiguous one checked by hand in the provider's dashboard).
    ///
    /// # Errors
    /// [`Error::Busy`] if a worker holds it now; [`Error::Storage`] if it is not unfinished.
    pub async fn decide(&self, business_id: &str, decision: Decision) -> Result<()> {
        let _gate = self.gate.read().await;
        let _held = self.hold(business_id)?;
        let lease = self.new_lease();
        let Some(_) = self.store.claim(business_id, &lease).await? else {
            return Err(match self.store.get(business_id).await? {
                Some(r) if r.state.is_final() => Error::Storage(format!(
                    "business id `{business_id}` is already {}",
                    r.state.as_str()
                )),
                Some(_) => Error::Busy {
                    business_id: business_id.to_string(),
                    lease_secs: self.lease.as_secs(),
                },
                None => Error::Storage(format!("business id `{business_id}` is not in the journal")),
            });
        };
        let (state, result, error) = match decision {
            Decision::Happened(v) => (State::Settled, Some(v.to_string()), None),
            Decision::DidNotHappen(reason) => {
                let e = StoredError {
                    kind: "provider".to_string(),
                    status: None,
                    code: Some("operator_decision".to_string()),
                    message: format!("an operator decided it did not happen: {reason}"),
                };
                (State::Failed, None, serde_json::to_string(&e).ok())
            }
        };
        self.store
            .finish(business_id, &lease, state, result, error)
            .await?;
        Ok(())
    }

    /// Resolves one claimed, unfinished, keyed intent.
    async fn resolve<C, E>(
        &self,
        client: &C,
        rec: &IntentRecord,
        req: &E,
        lease: &Lease,
    ) -> Result<Resolution<E::Output>>
    where
        C: ApiClient,
        E: Reconcile,
        E::Output: Serialize,
    {
        let id = rec.business_id.as_str();
        if rec.state == State::Recorded {
            return self.send_now(client, id, req, lease, false, How::Sent).await;
        }
        // It may have reached the provider: look it up by its key before anything else.
        let mut lookup_error = None;
        let mut absent = false;
        for i in 0..self.policy.lookups.max(1) {
            if i > 0 && !self.policy.spacing.is_zero() {
                tokio::time::sleep(self.policy.spacing).await;
            }
            match req.lookup(client).await {
                Ok(Some(found)) => {
                    return match req.matches(&found) {
                        Ok(()) => {
                            self.record::<E::Output>(id, lease, true, Ok(found), How::Found)
                                .await
                        }
                        Err(field) => {
                            let e = payout_core::Error::new(
                                ErrorKind::Provider,
                                C::PROVIDER,
                                format!(
                                    "an object with {} `{}` exists but its `{field}` differs from the recorded request: the key belongs to another payout",
                                    E::KEY_NAME,
                                    req.key()
                                ),
                            )
                            .with_field(field)
                            .with_retryable(false);
                            self.record::<E::Output>(id, lease, true, Err(e), How::Found)
                                .await
                        }
                    };
                }
                Ok(None) => {
                    absent = true;
                    lookup_error = None;
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    absent = true;
                    lookup_error = None;
                }
                Err(e) => lookup_error = Some(e),
            }
        }
        if !absent {
            let e = lookup_error
                .unwrap_or_else(unknown::<C>).with_kind(ErrorKind::Ambiguous).with_message(format!(
                "the outcome of business id `{id}` is unknown and looking it up by {} `{}` failed: run recover again later",
                E::KEY_NAME,
                req.key()
            ));
            self.keep_open(id, lease, State::Ambiguous, &e).await?;
            return Ok(Resolution::Ambiguous(e));
        }
        if E::META.safety == Safety::KeyProtected {
            return self.send_now(client, id, req, lease, true, How::Resent).await;
        }
        let msg = ambiguous_not_found::<C>(rec);
        let e = payout_core::Error::new(ErrorKind::Ambiguous, C::PROVIDER, msg.clone());
        self.keep_open(id, lease, State::Ambiguous, &e).await?;
        Ok(Resolution::NeedsDecision(msg, Vec::new()))
    }

    async fn resolve_unprotected<C, E, F>(
        &self,
        client: &C,
        rec: &IntentRecord,
        req: &E,
        lease: &Lease,
        finder: Option<&F>,
    ) -> Result<Resolution<E::Output>>
    where
        C: ApiClient,
        E: Endpoint,
        E::Output: Serialize,
        F: for<'a> Fn(&'a C, &'a E) -> Candidates<'a, E::Output> + Send + Sync,
    {
        let id = rec.business_id.as_str();
        if rec.state == State::Recorded {
            if !self.store.mark_sent(id, lease).await? {
                return Ok(Resolution::LeaseLost);
            }
            self.checkpoint(Checkpoint::Committed, id);
            let res = client.send(req).await;
            self.checkpoint(Checkpoint::Answered, id);
            return self.record::<E::Output>(id, lease, false, res, How::Sent).await;
        }
        let mut candidates = Vec::new();
        let mut note = String::new();
        if let Some(f) = finder {
            match f(client, req).await {
                Ok(found) => {
                    candidates = found
                        .iter()
                        .filter_map(|o| serde_json::to_value(o).ok())
                        .collect();
                }
                Err(e) => note = format!("; the candidate search failed: {}", e.message()),
            }
        }
        let msg = format!(
            "{}: `{}` may have reached the provider and carries no key it deduplicates on; it is never sent again automatically. Check the {} candidate(s) and record a decision{note}",
            C::PROVIDER,
            rec.operation,
            candidates.len()
        );
        let e = payout_core::Error::new(ErrorKind::Ambiguous, C::PROVIDER, msg.clone());
        self.keep_open(id, lease, State::Ambiguous, &e).await?;
        Ok(Resolution::NeedsDecision(msg, candidates))
    }

    async fn send_now<C, E>(
        &self,
        client: &C,
        id: &str,
        req: &E,
        lease: &Lease,
        maybe_sent_before: bool,
        how: How,
    ) -> Result<Resolution<E::Output>>
    where
        C: ApiClient,
        E: Reconcile,
        E::Output: Serialize,
    {
        if !self.store.mark_sent(id, lease).await? {
            return Ok(Resolution::LeaseLost);
        }
        self.checkpoint(Checkpoint::Committed, id);
        let res = send_reconciled(client, req, &self.policy).await;
        self.checkpoint(Checkpoint::Answered, id);
        self.record::<E::Output>(id, lease, maybe_sent_before, res, how)
            .await
    }

    async fn keep_open(&self, id: &str, lease: &Lease, state: State, e: &payout_core::Error) -> Result<()> {
        let err = serde_json::to_string(&StoredError::of(e)).ok();
        // The intent may have reached the provider: a failed write leaves it unfinished
        // (still `sent`), which is what an unresolved error tells the caller.
        self.store
            .finish(id, lease, state, None, err)
            .await
            .map_err(|e| unrecorded(id, "its outcome is unknown", e))?;
        Ok(())
    }

    /// Records the outcome of a send (or a lookup) and releases the lease.
    async fn record<T: Serialize>(
        &self,
        id: &str,
        lease: &Lease,
        maybe_sent_before: bool,
        res: payout_core::Result<T>,
        how: How,
    ) -> Result<Resolution<T>> {
        let (state, result, error, resolution) = match res {
            Ok(out) => {
                let json = serde_json::to_string(&out).ok();
                (State::Settled, json, None, Resolution::Settled(out, how))
            }
            Err(e) => {
                let state = classify(&e, maybe_sent_before);
                let stored = serde_json::to_string(&StoredError::of(&e)).ok();
                let r = match state {
                    State::Failed => Resolution::Failed(e),
                    State::Recorded => Resolution::Pending(e),
                    _ => Resolution::Ambiguous(e),
                };
                (state, None, stored, r)
            }
        };
        let outcome = match &resolution {
            Resolution::Settled(..) => "the provider accepted it",
            Resolution::Failed(_) => "the provider refused it",
            _ => "its outcome is unknown",
        };
        let finished = self
            .store
            .finish(id, lease, state, result, error)
            .await
            .map_err(|e| unrecorded(id, outcome, e))?;
        if !finished {
            tracing::warn!(
                payout.business_id = id,
                "the journal lease expired before the outcome was recorded; another worker resolves it by lookup"
            );
        }
        Ok(resolution)
    }
}

/// What a candidate finder for [`Journal::recover_unprotected`] returns: a boxed future of
/// the objects that may be the unprotected payout (`|c, r| Box::pin(find(c, r))`).
pub type Candidates<'a, T> = Pin<Box<dyn Future<Output = payout_core::Result<Vec<T>>> + Send + 'a>>;

/// The type of "no candidate finder".
type NoFinder<C, E, O> = for<'a> fn(&'a C, &'a E) -> Candidates<'a, O>;

fn unknown<C: ApiClient>() -> payout_core::Error {
    payout_core::Error::new(ErrorKind::Ambiguous, C::PROVIDER, "lookup failed")
}

fn final_outcome<C: ApiClient, T: DeserializeOwned>(rec: &IntentRecord) -> Option<Result<T>> {
    match rec.state {
        State::Settled => Some(
            serde_json::from_str(rec.result.as_deref().unwrap_or("null")).map_err(|e| Error::Decode {
                business_id: rec.business_id.clone(),
                what: "result",
                message: e.to_string(),
            }),
        ),
        State::Failed => Some(Err(Error::Payout(
            rec.stored_error()
                .map(|s| s.to_error(C::PROVIDER))
                .unwrap_or_else(|| {
                    payout_core::Error::new(ErrorKind::Provider, C::PROVIDER, "(recorded earlier) failed")
                }),
        ))),
        _ => None,
    }
}

fn into_result<T>(id: &str, r: Resolution<T>, lease: Duration) -> Result<T> {
    match r {
        Resolution::Settled(out, _) => Ok(out),
        Resolution::Failed(e) | Resolution::Ambiguous(e) | Resolution::Pending(e) => Err(Error::Payout(e)),
        Resolution::NeedsDecision(message, _) => Err(Error::NeedsDecision {
            business_id: id.to_string(),
            message,
        }),
        Resolution::LeaseLost => Err(Error::Busy {
            business_id: id.to_string(),
            lease_secs: lease.as_secs(),
        }),
    }
}

fn entry<T>(id: String, key: Option<String>, r: Resolution<T>) -> RecoveryReport {
    let mut rep = RecoveryReport::default();
    let unresolved = |message: String, candidates| Unresolved {
        business_id: id.clone(),
        key: key.clone(),
        message,
        candidates,
    };
    match r {
        Resolution::Settled(_, How::Sent) => rep.sent.push(id.clone()),
        Resolution::Settled(_, How::Found) => rep.settled.push(id.clone()),
        Resolution::Settled(_, How::Resent) => rep.resent.push(id.clone()),
        Resolution::Failed(_) => rep.failed.push(id.clone()),
        Resolution::Ambiguous(e) => rep.still_ambiguous.push(unresolved(e.to_string(), Vec::new())),
        Resolution::Pending(e) => rep.pending.push(unresolved(e.to_string(), Vec::new())),
        Resolution::NeedsDecision(m, c) => rep.needs_decision.push(unresolved(m, c)),
        Resolution::LeaseLost => {
            rep.still_ambiguous.push(unresolved(
                "another worker took this intent over".to_string(),
                Vec::new(),
            ));
        }
    }
    rep
}

/// A storage error after a send: the payout may exist, the intent stays unfinished.
fn unrecorded(business_id: &str, outcome: &'static str, e: Error) -> Error {
    match e {
        Error::Storage(message) => Error::Unrecorded {
            business_id: business_id.to_string(),
            outcome,
            message,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_blanked_when_comparing_requests() {
        let a = normalized(r#"{"key":"k-1","to":"x","n":[1,"k-1"]}"#, Some("k-1"), None);
        let b = normalized(r#"{"key":"k-2","to":"x","n":[1,"k-2"]}"#, Some("k-2"), None);
        let c = normalized(r#"{"key":"k-2","to":"y","n":[1,"k-2"]}"#, Some("k-2"), None);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn every_field_named_like_the_key_is_blanked_when_comparing_requests() {
        // A batch: the first item's id is the key, every item carries its own.
        let batch = |k1: &str, k2: &str, amount: u32| {
            format!(
                r#"{{"asset":"USDT","items":[{{"target":"1","amount":"5","clientTransferId":"{k1}"}},{{"target":"2","amount":"{amount}","clientTransferId":"{k2}"}}]}}"#
            )
        };
        let name = Some("clientTransferId");
        let a = normalized(&batch("a-1", "a-2", 3), Some("a-1"), name);
        let b = normalized(&batch("b-1", "b-2", 3), Some("b-1"), name);
        let c = normalized(&batch("b-1", "b-2", 4), Some("b-1"), name);
        assert_eq!(a, b, "the same batch built again with fresh client ids");
        assert_ne!(a, c, "another amount");
        assert_ne!(
            normalized(&batch("a-1", "a-2", 3), Some("a-1"), None),
            normalized(&batch("b-1", "b-2", 3), Some("b-1"), None),
            "without the key name, only the key itself is blanked"
        );
    }

    #[test]
    fn an_error_after_a_possible_send_never_closes_the_intent_unless_definite() {
        let not_sent = payout_core::Error::invalid_input("p", "card", "masked");
        assert_eq!(classify(&not_sent, false), State::Failed);
        assert_eq!(classify(&not_sent, true), State::Ambiguous);
        let open = payout_core::Error::new(ErrorKind::CircuitOpen, "p", "open");
        assert_eq!(classify(&open, false), State::Recorded);
        assert_eq!(classify(&open, true), State::Ambiguous);
        let refused = payout_core::Error::provider("p", Some("declined".into()), "declined")
            .with_status(422)
            .with_sent(true);
        assert_eq!(classify(&refused, true), State::Failed);
        assert_eq!(classify(&refused, false), State::Failed);
    }
}
