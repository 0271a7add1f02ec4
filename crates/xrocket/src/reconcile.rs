//! The one place that decides what a failed create means.
//!
//! Every create carries a client id (`clientTransferId`, `clientWithdrawalId`, ...) that
//! xRocket deduplicates on, so the transport may repeat it after a timeout, a dropped
//! connection or a 5xx ([`payout_core::Safety::KeyProtected`]). When a repeat reaches xRocket
//! after the first attempt went through, xRocket answers `client_id_already_taken`: the
//! object exists. We then fetch it by client id and return it, so the caller sees one
//! successful create and money moved once. The fetched object must match the request
//! (asset, amount, recipient); if it does not, the caller reused a client id for a different
//! operation and gets the error, with a message saying so.
//!
//! When every attempt failed with a timeout, a broken connection or a 5xx, the crate looks
//! the object up once: found, it is returned; "not found" means the create did not go through
//! and the (retryable) error stands; if the lookup fails too, nobody knows whether the money
//! moved, and the error is [`payout_core::ErrorKind::Ambiguous`].

use std::future::Future;

use payout_core::{Error, ErrorKind, Request, Result};
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::ProblemCode;

pub(crate) async fn create_reconciling<T, L, Fut, M>(
    client: &Client,
    req: Request,
    what: &'static str,
    lookup: L,
    matches_request: M,
) -> Result<T>
where
    T: DeserializeOwned,
    L: FnOnce() -> Fut,
    Fut: Future<Output = Result<T>>,
    M: Fn(&T) -> bool,
{
    let err = match client.transport.send(req).await {
        Ok(resp) => return resp.json(),
        Err(e) => e,
    };
    let taken = ProblemCode::of(&err).is_some_and(|c| c.is_client_id_taken());
    // After a transient failure that outlived every retry, the first attempt may still have
    // gone through: one lookup turns "unknown" into an answer when xRocket has the object.
    // A request that provably never left (every attempt failed to connect) needs no lookup.
    if !(taken || outcome_unknown(&err)) {
        return Err(err);
    }
    match lookup().await {
        Ok(found) if matches_request(&found) => {
            tracing::info!(operation = what, "create reconciled by client id");
            Ok(found)
        }
        Ok(_) => Err(mismatch(err, what)),
        // xRocket said the object exists but we could not read it: it must not be created
        // again, so say "may have succeeded" and let the caller look it up.
        Err(_) if taken => Err(err.with_kind(ErrorKind::Ambiguous).with_message(format!(
            "xRocket already has a {what} with this client id (an earlier attempt went through), but fetching it failed"
        ))),
        // xRocket answered that it has no object with this client id: the create did not go
        // through. The original error stands; it is retryable with the same client id.
        Err(e) if e.kind() == ErrorKind::NotFound => Err(err),
        // The create may have gone through and the lookup could not tell: the outcome is
        // unknown, and the caller must not treat it as a failure (a new client id would pay
        // twice). Re-sending the same request is safe: xRocket deduplicates the client id.
        Err(_) => {
            let message = format!(
                "{}; whether the {what} was created is unknown (looking it up by its client id failed too): re-send the same request (same client id, which xRocket deduplicates) or look it up by client id, never create it under a new client id",
                err.message()
            );
            Err(err.with_kind(ErrorKind::Ambiguous).with_message(message))
        }
    }
}

/// True when a create that failed this way may nevertheless have been executed: it was sent
/// and the last answer was a timeout, a broken connection or a 5xx, or it was refused as
/// rate-limited after an earlier attempt (whose own outcome, a 5xx or a timeout, is unknown).
pub(crate) fn outcome_unknown(err: &Error) -> bool {
    err.was_sent()
        && (matches!(
            err.kind(),
            ErrorKind::Timeout | ErrorKind::Transport | ErrorKind::Ambiguous
        ) || matches!(err.status(), Some(500 | 502 | 503 | 504))
            || (err.kind() == ErrorKind::RateLimited && err.attempts() > 1))
}

fn mismatch(err: Error, what: &'static str) -> Error {
    err.with_kind(ErrorKind::Provider).with_retryable(false).with_message(format!(
        "this client id already belongs to a different {what} (asset, amount or recipient differ): use a new client id for a new {what}"
    ))
}
