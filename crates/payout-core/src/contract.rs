//! The traits that hold every provider crate to one public shape (see
//! `docs/api-conventions.md`): typed error codes and webhook verification.

use crate::error::Error;

/// A provider's error codes as an open enum, reached the same way in every crate:
/// `P::ErrorCode::of(&err)`.
pub trait ProviderErrorCode: Sized + for<'a> From<&'a str> {
    /// The provider name errors of this crate carry (`"rocheap"`).
    const PROVIDER: &'static str;

    /// The typed code of `err`, if it came from this provider and carries a code.
    fn of(err: &Error) -> Option<Self> {
        if err.provider_name() != Self::PROVIDER {
            return None;
        }
        err.provider_code().map(Self::from)
    }
}

/// A webhook verifier: bytes and headers in, a verified (not yet parsed) delivery out.
///
/// Every signing provider's `webhook::Verifier` implements it, so a receiver (the `axum`
/// feature, or your own framework) can be written once for all of them.
pub trait WebhookVerifier: Send + Sync {
    /// What a successful verification yields (keeps the raw body; `parse()` it next).
    type Verified;
    /// Why a delivery was refused.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Checks the signature (and timestamp where the scheme has one) over the raw body.
    /// Never parses the body beyond what the signature scheme needs.
    fn verify(
        &self,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<Self::Verified, Self::Error>;
}

/// A verified webhook delivery, as a receiver needs it: the key to deduplicate it on, and the
/// typed event. Every signing provider's `webhook::Verified` implements it, so one receiver
/// (`payout_core::intake`, feature `axum`) serves them all.
pub trait VerifiedDelivery: Send + Sync + 'static {
    /// The typed event `parse` yields.
    type Event: Send + 'static;
    /// Why a verified body could not be read at all (not JSON, not the provider's envelope).
    type Error: std::error::Error + Send + Sync + 'static;
    /// The key a retried or replayed delivery shares with the first one: the provider's event
    /// id where it gives one, otherwise a SHA-256 of the verified body
    /// ([`crate::dedupe::body_key`]). Prefixed with the provider name, so keys of several
    /// providers never collide in one store.
    fn dedupe_key(&self) -> String;
    /// The typed event.
    fn parse(&self) -> Result<Self::Event, Self::Error>;
}
