//! The journal's error type.

/// What can go wrong in the journal.
///
/// A payout's own outcome is [`Error::Payout`] (the provider crate's error, unchanged, with
/// [`payout_core::ErrorKind::Ambiguous`] and its key when the outcome is unknown). The other
/// variants are the journal's own and never mean that money moved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The payout failed, or its outcome is unknown (`ErrorKind::Ambiguous`, with its key).
    #[error(transparent)]
    Payout(#[from] payout_core::Error),
    /// This business id is already recorded for a different provider, operation or request.
    #[error(
        "business id `{business_id}` is already recorded for a different {what}: a business id names one payout; use a new business id for a new payout"
    )]
    Conflict {
        /// The business id.
        business_id: String,
        /// What differs: `"provider"`, `"operation"` or `"request"`.
        what: &'static str,
    },
    /// Another worker holds the lease on this intent (it is sending or resolving it now).
    #[error(
        "business id `{business_id}` is being sent or resolved by another worker right now (its lease expires in at most {lease_secs} s); ask again later"
    )]
    Busy {
        /// The business id.
        business_id: String,
        /// The configured lease, in seconds.
        lease_secs: u64,
    },
    /// The intent is recorded but cannot be resolved here: an unprotected call whose outcome is
    /// unknown. A person must decide (see `docs/journal.md`, "What an operator does").
    #[error(
        "business id `{business_id}` needs a decision: the call may have reached the provider and is not protected by a key, so it is never sent again automatically ({message})"
    )]
    NeedsDecision {
        /// The business id.
        business_id: String,
        /// What is known.
        message: String,
    },
    /// The payout was **sent**, but the journal could not record what the provider answered
    /// (the database failed after the send). The intent stays unfinished with its key, so
    /// nothing is forgotten: call `pay` again with the **same** business id, or run
    /// `recover`, and the journal resolves it by looking it up. Never pay it anew under
    /// another business id: the provider may have made the payout ([`Error::is_unresolved`]
    /// is true).
    #[error(
        "business id `{business_id}` was sent and {outcome}, but the journal could not record that ({message}); it stays unfinished with its key: call pay again with the same business id or run recover, and never pay it under another business id"
    )]
    Unrecorded {
        /// The business id.
        business_id: String,
        /// What the provider answered, in words: `"the provider accepted it"`,
        /// `"the provider refused it"` or `"its outcome is unknown"`.
        outcome: &'static str,
        /// The storage error.
        message: String,
    },
    /// The database failed (I/O, schema, a lost connection). Nothing was sent for the call
    /// that got this error unless the intent was already recorded as sent.
    #[error("payout journal storage: {0}")]
    Storage(String),
    /// A stored request or result does not decode as the type asked for (the journal was
    /// written by another version of the request type, or `recover` was called with the
    /// wrong type).
    #[error("payout journal: stored {what} of `{business_id}` does not decode: {message}")]
    Decode {
        /// The business id.
        business_id: String,
        /// `"request"` or `"result"`.
        what: &'static str,
        /// The serde error (never the stored value itself).
        message: String,
    },
}

impl Error {
    /// The payout error, if this is one.
    pub fn payout(&self) -> Option<&payout_core::Error> {
        match self {
            Error::Payout(e) => Some(e),
            _ => None,
        }
    }

    /// True when the payout may have happened and must not be paid anew under another
    /// business id or key: an ambiguous payout error, [`Error::NeedsDecision`],
    /// [`Error::Busy`] or [`Error::Unrecorded`].
    pub fn is_unresolved(&self) -> bool {
        match self {
            Error::Payout(e) => e.kind() == payout_core::ErrorKind::Ambiguous,
            Error::NeedsDecision { .. } | Error::Busy { .. } | Error::Unrecorded { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn storage(e: impl std::fmt::Display) -> Self {
        Error::Storage(e.to_string())
    }
}

/// The journal's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
