//! Idempotency keys: made once per logical call, reused on every attempt.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A key that lets a provider recognise a repeated request (an `Idempotency-Key` header, or
/// a client reference such as xRocket's `clientTransferId` or ROCheap's `custom_order_id`).
///
/// A key is created **once per logical operation**, before the first attempt, and the same
/// value is sent on every retry. It is returned on the success value and on the error, so
/// store it beside your own order id: it is how you find out what happened after an
/// ambiguous failure.
///
/// ```
/// use payout_core::IdempotencyKey;
/// let generated = IdempotencyKey::generate();
/// assert_eq!(generated.as_str().len(), 36);
/// let mine = IdempotencyKey::new("order-1001-payout").unwrap();
/// assert_eq!(mine.as_str(), "order-1001-payout");
/// assert!(IdempotencyKey::new("").is_err());
/// ```
///
/// Deserializing runs the same check as [`IdempotencyKey::new`]: a key read back from a store
/// (a journal, a queue) that would not be accepted on the wire is refused there, not later.
///
/// ```
/// use payout_core::IdempotencyKey;
/// assert!(serde_json::from_str::<IdempotencyKey>("\"ok-1\"").is_ok());
/// assert!(serde_json::from_str::<IdempotencyKey>("\"has space\"").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

thread_local! {
    /// Keys generated on this thread (see [`IdempotencyKey::generated_on_this_thread`]).
    static GENERATED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl TryFrom<String> for IdempotencyKey {
    type Error = InvalidKey;
    fn try_from(key: String) -> Result<Self, InvalidKey> {
        IdempotencyKey::new(key)
    }
}

impl From<IdempotencyKey> for String {
    fn from(key: IdempotencyKey) -> String {
        key.0
    }
}

/// Why a caller-supplied idempotency key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidKey {
    /// The key was empty.
    #[error("must not be empty")]
    Empty,
    /// The key was longer than the limit.
    #[error("must be at most {max} characters, got {len}")]
    TooLong {
        /// The limit.
        max: usize,
        /// The length given.
        len: usize,
    },
    /// The key contained a character outside printable ASCII (it travels in an HTTP header).
    #[error("must be printable ASCII without spaces")]
    BadCharacter,
}

impl IdempotencyKey {
    /// The longest key accepted (the limit most providers document).
    pub const MAX_LEN: usize = 255;

    /// A fresh random key (UUID v4, 36 characters).
    pub fn generate() -> Self {
        GENERATED.with(|n| n.set(n.get() + 1));
        let mut buf = uuid::Uuid::encode_buffer();
        IdempotencyKey(
            uuid::Uuid::new_v4()
                .hyphenated()
                .encode_lower(&mut buf)
                .to_owned(),
        )
    }

    /// How many keys [`IdempotencyKey::generate`] has made on the current thread: for tests
    /// that hold a constructor taking the caller's key to generating none.
    #[doc(hidden)]
    pub fn generated_on_this_thread() -> u64 {
        GENERATED.with(std::cell::Cell::get)
    }

    /// Wraps a caller-chosen key: 1 to 255 printable ASCII characters, no spaces.
    pub fn new(key: impl Into<String>) -> Result<Self, InvalidKey> {
        let key = key.into();
        Self::check(&key, Self::MAX_LEN)?;
        Ok(IdempotencyKey(key))
    }

    /// Checks a key against a provider-specific maximum length.
    pub fn check(key: &str, max: usize) -> Result<(), InvalidKey> {
        if key.is_empty() {
            return Err(InvalidKey::Empty);
        }
        // Characters are counted only when the bytes could exceed the limit.
        if key.len() > max {
            let len = key.chars().count();
            if len > max {
                return Err(InvalidKey::TooLong { max, len });
            }
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidKey::BadCharacter);
        }
        Ok(())
    }

    /// The key as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not a secret: it is useless without the API key, and operators need it to reconcile.
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}

impl AsRef<str> for IdempotencyKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_unique() {
        assert_ne!(IdempotencyKey::generate(), IdempotencyKey::generate());
    }

    #[test]
    fn generated_keys_are_lowercase_hyphenated_uuids_and_counted() {
        let before = IdempotencyKey::generated_on_this_thread();
        let k = IdempotencyKey::generate();
        assert_eq!(IdempotencyKey::generated_on_this_thread(), before + 1);
        assert!(uuid::Uuid::parse_str(k.as_str()).is_ok());
        assert_eq!(k.as_str().len(), 36);
        assert_eq!(k.as_str(), k.as_str().to_lowercase());
        IdempotencyKey::new("caller-key").unwrap();
        assert_eq!(IdempotencyKey::generated_on_this_thread(), before + 1);
    }

    #[test]
    fn the_length_limit_counts_characters_not_bytes() {
        // 100 two-byte characters: 200 bytes, 100 characters (then refused as not ASCII).
        assert_eq!(
            IdempotencyKey::check(&"é".repeat(100), 150),
            Err(InvalidKey::BadCharacter)
        );
        assert_eq!(
            IdempotencyKey::check(&"é".repeat(100), 99),
            Err(InvalidKey::TooLong { max: 99, len: 100 })
        );
        assert_eq!(
            IdempotencyKey::check("abc", 2),
            Err(InvalidKey::TooLong { max: 2, len: 3 })
        );
    }

    #[test]
    fn caller_keys_are_checked() {
        assert_eq!(IdempotencyKey::new(""), Err(InvalidKey::Empty));
        assert_eq!(
            IdempotencyKey::new("a".repeat(256)),
            Err(InvalidKey::TooLong { max: 255, len: 256 })
        );
        assert_eq!(IdempotencyKey::new("has space"), Err(InvalidKey::BadCharacter));
        assert!(IdempotencyKey::new("a".repeat(255)).is_ok());
    }
}
