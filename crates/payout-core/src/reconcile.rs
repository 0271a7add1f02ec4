//! The one protocol of a money-moving call: send → (the outcome is unknown, or the provider
//! answered "already exists") → look the object up by the request's own key → compare it with
//! the request → `Ok` or [`ErrorKind::Ambiguous`].
//!
//! A provider crate supplies only the lookup and the match ([`Reconcile`]); the decision of
//! what an error means for the money lives here, once, for every crate.
//!
//! | after sending | lookup says | result |
//! |---|---|---|
//! | success | (no lookup) | `Ok` |
//! | failed before any byte left, or a definite refusal (4xx) | (no lookup) | the error |
//! | unknown outcome (timeout, reset, 5xx, undecodable 2xx) or "already exists" | found, matches | `Ok(found)` |
//! | same | found, differs | key-protected: `Provider` error (the key belongs to another object; use a new key); unprotected: `Ambiguous` (ours may exist beside it) |
//! | unknown outcome, key the provider deduplicates | not found | the original error, retryable with the **same** key |
//! | unknown outcome, no dedup ([`Safety::Unprotected`]) | not found | `Ambiguous` with the key: look it up later, never pay anew |
//! | unknown outcome or "already exists" | lookup failed, or the call's deadline passed first | `Ambiguous` with the key |
//!
//! The client's total timeout bounds the whole call, send and lookups together: no lookup
//! starts after it, and one still running then is abandoned.

use std::future::Future;
use std::time::Duration;

use crate::endpoint::{ApiClient, Endpoint};
use crate::error::{Error, ErrorKind, Result};
use crate::retry::Safety;

/// A money-moving request value that carries the key the provider deduplicates or looks up on
/// (an idempotency key, a client id or a custom order id) **from construction**, so the caller
/// can persist it before anything is sent.
pub trait Keyed {
    /// The name of the key on the wire (`"Idempotency-Key"`, `"clientTransferId"`,
    /// `"custom_order_id"`), for messages and journals.
    const KEY_NAME: &'static str;
    /// The key, exactly as it will be sent.
    fn key(&self) -> &str;
}

/// What a lookup by key found, judged against the request.
#[derive(Debug)]
pub enum Found<T> {
    /// The object exists and is the one this request creates.
    Match(T),
    /// An object exists under this key but differs: names the first differing field.
    Mismatch(&'static str),
    /// Nothing exists under this key (yet).
    Absent,
}

/// A money-moving endpoint whose unknown outcome can be settled by a lookup.
pub trait Reconcile: Endpoint + Keyed {
    /// Looks the object up by this request's key. `Ok(None)` or an error of kind
    /// [`ErrorKind::NotFound`] both mean "absent".
    fn lookup<C: ApiClient>(&self, client: &C) -> impl Future<Output = Result<Option<Self::Output>>> + Send;
    /// Compares what the lookup found with this request.
    fn matches(&self, found: &Self::Output) -> std::result::Result<(), &'static str>;
    /// True if `err` is the provider's "this key is already taken" answer (xRocket's
    /// `client_id_already_taken`): the object exists, look it up.
    fn already_exists(_err: &Error) -> bool {
        false
    }
    /// Finishes a **successful** answer before the call returns it (and before a journal
    /// records it). Default: the answer unchanged.
    ///
    /// A batch answer can list as refused the items an earlier attempt already paid (xRocket's
    /// mass transfer refuses each such item as `client_id_already_taken`): the batch's
    /// implementation looks those items up and reports them as paid, so that neither a caller
    /// nor a journal ever records a paid item as a failure and pays it again.
    fn complete<C: ApiClient>(
        &self,
        _client: &C,
        output: Self::Output,
    ) -> impl Future<Output = Result<Self::Output>> + Send {
        std::future::ready(Ok(output))
    }
}

/// How hard a reconcile looks before it reports an unknown outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcilePolicy {
    /// How many lookups (at least one).
    pub lookups: u32,
    /// The pause between lookups (a provider may need a moment to show a new object).
    pub spacing: Duration,
}

impl Default for ReconcilePolicy {
    fn default() -> Self {
        ReconcilePolicy {
            lookups: 2,
            spacing: Duration::from_millis(500),
        }
    }
}

impl ReconcilePolicy {
    /// One lookup, no pause (tests).
    pub fn once() -> Self {
        ReconcilePolicy {
            lookups: 1,
            spacing: Duration::ZERO,
        }
    }
}

/// True when a call that failed this way may nevertheless have been executed by the provider:
/// it was sent and the last answer was a timeout, a broken connection, a transient 5xx or an
/// undecodable 2xx, or it was refused as rate-limited after an earlier attempt whose own
/// outcome is unknown.
pub fn outcome_unknown(err: &Error) -> bool {
    err.was_sent()
        && (err.may_have_succeeded()
            || matches!(
                err.kind(),
                ErrorKind::Timeout | ErrorKind::Transport | ErrorKind::Ambiguous
            )
            || err.status().is_some_and(crate::retry::is_transient_status)
            || (err.kind() == ErrorKind::RateLimited && err.attempts() > 1))
}

/// Sends `req` and settles an unknown outcome by looking it up by the request's own key (see
/// the module table). Used by every money-moving resource handler.
pub async fn send_reconciled<C, E>(client: &C, req: &E, policy: &ReconcilePolicy) -> Result<E::Output>
where
    C: ApiClient,
    E: Reconcile,
{
    // The lookups belong to the call: the client's total deadline bounds send and lookups.
    let deadline = crate::retry::deadline_after(
        tokio::time::Instant::now(),
        client.transport().options().get_timeout(),
    );
    let err = match client.send(req).await {
        Ok(out) => return req.complete(client, out).await,
        Err(e) => e,
    };
    reconcile_until(client, req, policy, err, deadline).await
}

/// [`send_reconciled`] with per-call overrides (a deadline, an attempt timeout, a retry
/// policy). An idempotency key override is refused with [`ErrorKind::InvalidInput`] before
/// anything is sent: the lookup settles an unknown outcome by the request's **own** key
/// ([`Keyed::key`]), so the wire key must be that one; build the request value with the key
/// you want instead.
pub async fn send_reconciled_with<C, E>(
    client: &C,
    req: &E,
    policy: &ReconcilePolicy,
    options: &crate::options::RequestOptions,
) -> Result<E::Output>
where
    C: ApiClient,
    E: Reconcile,
{
    if options.get_idempotency_key().is_some() {
        return Err(Error::invalid_input(
            C::PROVIDER,
            E::KEY_NAME,
            "cannot be overridden per call on a reconciled call (the lookup uses the request's own key); build the request with the key you want",
        ));
    }
    let deadline = crate::retry::deadline_after(
        tokio::time::Instant::now(),
        options
            .get_timeout()
            .unwrap_or_else(|| client.transport().options().get_timeout()),
    );
    let err = match client.send_with(req, options).await {
        Ok(out) => return req.complete(client, out).await,
        Err(e) => e,
    };
    reconcile_until(client, req, policy, err, deadline).await
}

/// The second half of [`send_reconciled`]: what to do with the error of a first send.
/// Public so that a journal can resume a call it recorded. The lookups get the client's
/// total timeout, counted from now.
pub async fn reconcile_error<C, E>(
    client: &C,
    req: &E,
    policy: &ReconcilePolicy,
    err: Error,
) -> Result<E::Output>
where
    C: ApiClient,
    E: Reconcile,
{
    let deadline = crate::retry::deadline_after(
        tokio::time::Instant::now(),
        client.transport().options().get_timeout(),
    );
    reconcile_until(client, req, policy, err, deadline).await
}

/// [`reconcile_error`] with the lookups bounded by `deadline`: no lookup starts after it and a
/// lookup still running at it is abandoned (then the outcome stays unknown: `Ambiguous`).
async fn reconcile_until<C, E>(
    client: &C,
    req: &E,
    policy: &ReconcilePolicy,
    err: Error,
    deadline: tokio::time::Instant,
) -> Result<E::Output>
where
    C: ApiClient,
    E: Reconcile,
{
    let taken = E::already_exists(&err);
    if !(taken || outcome_unknown(&err)) {
        return Err(err);
    }
    let what = E::META.operation;
    let key = req.key().to_string();
    tracing::warn!(
        payout.operation = what,
        payout.idempotency_key = key.as_str(),
        "outcome unknown; looking the object up by its key"
    );
    let mut last_failure: Option<Error> = None;
    let mut absent = false;
    let mut out_of_time = false;
    for i in 0..policy.lookups.max(1) {
        if i > 0 && !policy.spacing.is_zero() {
            if tokio::time::Instant::now() + policy.spacing >= deadline {
                out_of_time = true;
                break;
            }
            tokio::time::sleep(policy.spacing).await;
        }
        if tokio::time::Instant::now() >= deadline {
            out_of_time = true;
            break;
        }
        let Ok(looked_up) = tokio::time::timeout_at(deadline, req.lookup(client)).await else {
            out_of_time = true;
            break;
        };
        match looked_up {
            Ok(Some(found)) => match req.matches(&found) {
                Ok(()) => {
                    tracing::info!(payout.operation = what, "unknown outcome reconciled by key");
                    return Ok(found);
                }
                Err(field) => return Err(mismatch(err, E::KEY_NAME, &key, field, E::META.safety)),
            },
            Ok(None) => {
                absent = true;
                last_failure = None;
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                absent = true;
                last_failure = None;
            }
            Err(e) => last_failure = Some(e),
        }
    }
    let name = E::KEY_NAME;
    match (absent && last_failure.is_none(), taken, E::META.safety) {
        // The provider deduplicates on the key and has no such object: the call did not go
        // through. The original error stands: retryable with the same key.
        (true, false, Safety::KeyProtected) => Err(err),
        // Nothing found, but the call was not protected (or the provider said the key is
        // taken): the object may still appear. Never re-send under a new key.
        (true, _, _) => Err(ambiguous(
            err,
            format!(
                "the outcome is unknown and no object with {name} `{key}` was found yet: look it up by this {name} later; never send it again under a new {name}"
            ),
        )),
        (false, _, _) if out_of_time && last_failure.is_none() => Err(ambiguous(
            err,
            format!(
                "the outcome is unknown and the call's deadline passed before it could be looked up by {name} `{key}`: look it up later (or re-send with the same {name} where the provider deduplicates it); never send it again under a new {name}"
            ),
        )),
        (false, _, _) => Err(ambiguous(
            err,
            format!(
                "the outcome is unknown and looking it up by {name} `{key}` failed too: look it up later (or re-send with the same {name} where the provider deduplicates it); never send it again under a new {name}"
            ),
        )),
    }
}

fn ambiguous(err: Error, why: String) -> Error {
    let message = format!("{}; {why}", err.message());
    err.with_kind(ErrorKind::Ambiguous).with_message(message)
}

fn mismatch(err: Error, name: &str, key: &str, field: &'static str, safety: Safety) -> Error {
    if safety != Safety::KeyProtected {
        // The provider does not deduplicate on this key, so an earlier object under it does
        // not prove ours was refused: ours may exist beside it. The outcome stays unknown.
        return ambiguous(
            err,
            format!(
                "an earlier object with {name} `{key}` exists but its `{field}` differs, so it is not this request's; whether this one was created is unknown: find it before paying again, and use a unique {name} per payout"
            ),
        )
        .with_field(field);
    }
    err.with_kind(ErrorKind::Provider)
        .with_retryable(false)
        .with_may_have_succeeded(false)
        .with_field(field)
        .with_message(format!(
            "an object with {name} `{key}` already exists but its `{field}` differs from this request: it is an earlier payout, so use a new {name} for a new payout"
        ))
}
