//! Idempotency keys: made once per logical call, reused on every attempt.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
        IdempotencyKey(generate_string(""))
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

/// `prefix` followed by a fresh UUID v4 (lowercase, hyphenated), in one allocation; counted
/// by [`IdempotencyKey::generated_on_this_thread`].
fn generate_string(prefix: &str) -> String {
    GENERATED.with(|n| n.set(n.get() + 1));
    let mut buf = uuid::Uuid::encode_buffer();
    let uuid = uuid::Uuid::new_v4().hyphenated();
    let mut out = String::with_capacity(prefix.len() + uuid::fmt::Hyphenated::LENGTH);
    out.push_str(prefix);
    out.push_str(uuid.encode_lower(&mut buf));
    out
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

/// The client id of a request value: either the caller's, or a random one **generated on
/// first read**.
///
/// Request constructors used to generate a UUID at once, and the documented idiom then
/// replaced it with the caller's id (`CreateTransfer::to_telegram_user(..).client_transfer_id("payout-1001")`):
/// a `getrandom` system call, a UUID format and an allocation per request, thrown away. A
/// `KeySlot` generates only when the id is first read (to build the request, by
/// [`Keyed::key`](crate::Keyed::key), to serialize, compare, clone or debug-print the value),
/// and a caller's id replaces it before that costs nothing.
///
/// **One id per value.** Generation happens once ([`std::sync::OnceLock`], so concurrent
/// first reads from several threads agree) and every way to observe or copy the slot sees the
/// same id, exactly as with eager generation:
///
/// * [`Clone`] generates first and copies the id: a clone and the original carry the same id,
///   so a clone re-sent is the same logical payment;
/// * [`PartialEq`], [`Eq`] and [`Hash`] compare the id; [`fmt::Debug`] prints it as a string;
/// * [`Serialize`] writes the id as a string and [`Deserialize`] reads it back as a given id,
///   so a journal that stores a request and re-sends it after a crash sends the same id.
///
/// ```
/// use payout_core::{IdempotencyKey, KeySlot};
/// let before = IdempotencyKey::generated_on_this_thread();
/// let mine = KeySlot::given("payout-1001");
/// assert_eq!(mine.get(), "payout-1001");
///
/// let slot = KeySlot::generated();
/// assert_eq!(IdempotencyKey::generated_on_this_thread(), before); // nothing yet
/// let copy = slot.clone(); // generates, and the copy shares the id
/// assert_eq!(slot.get(), copy.get());
/// assert_eq!(slot.get().len(), 36);
/// assert_eq!(IdempotencyKey::generated_on_this_thread(), before + 1);
///
/// let prefixed = KeySlot::generated_with_prefix("payout-rs-");
/// assert!(prefixed.get().starts_with("payout-rs-"));
/// let json = serde_json::to_string(&prefixed).unwrap();
/// assert_eq!(serde_json::from_str::<KeySlot>(&json).unwrap(), prefixed);
/// ```
pub struct KeySlot {
    /// Put before a generated UUID (empty for a plain UUID); unused for a given id.
    prefix: &'static str,
    /// The id: set at construction when given, on first read when generated.
    id: OnceLock<String>,
}

impl KeySlot {
    /// The caller's id, used as it is (the provider crate checks it before sending).
    pub fn given(id: impl Into<String>) -> Self {
        KeySlot {
            prefix: "",
            id: OnceLock::from(id.into()),
        }
    }

    /// A UUID v4 (lowercase, hyphenated, 36 characters), generated on first read.
    pub const fn generated() -> Self {
        KeySlot::generated_with_prefix("")
    }

    /// `prefix` followed by a UUID v4, generated on first read (ROCheap's `payout-rs-<uuid>`).
    pub const fn generated_with_prefix(prefix: &'static str) -> Self {
        KeySlot {
            prefix,
            id: OnceLock::new(),
        }
    }

    /// The id, generated now if this is the first read of a generated slot. Every read of
    /// this value (and of its clones) returns the same id.
    pub fn get(&self) -> &str {
        self.id.get_or_init(|| generate_string(self.prefix))
    }

    /// The id as an [`IdempotencyKey`] for the transport, checked like
    /// [`IdempotencyKey::new`] (a caller's id may break the rules; a generated one never does).
    pub fn to_key(&self) -> Result<IdempotencyKey, InvalidKey> {
        IdempotencyKey::new(self.get())
    }

    /// For `#[serde(deserialize_with = "payout_core::KeySlot::deserialize_checked")]`: reads
    /// a given id and refuses one that [`IdempotencyKey::new`] would refuse, so a stored
    /// request edited by hand cannot send a header the provider cannot read.
    pub fn deserialize_checked<'de, D: Deserializer<'de>>(d: D) -> Result<KeySlot, D::Error> {
        IdempotencyKey::deserialize(d).map(KeySlot::from)
    }
}

impl From<IdempotencyKey> for KeySlot {
    /// A given id (no copy).
    fn from(key: IdempotencyKey) -> Self {
        KeySlot::given(key.0)
    }
}

impl Clone for KeySlot {
    /// Generates first (if not yet done), then copies the id: the clone is the same logical
    /// request.
    fn clone(&self) -> Self {
        KeySlot {
            prefix: self.prefix,
            id: OnceLock::from(self.get().to_owned()),
        }
    }
}

impl PartialEq for KeySlot {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for KeySlot {}

impl std::hash::Hash for KeySlot {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.get().hash(state);
    }
}

impl fmt::Debug for KeySlot {
    /// The id as a quoted string, as a `String` field printed it (not a secret: see
    /// [`IdempotencyKey`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.get(), f)
    }
}

impl fmt::Display for KeySlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl AsRef<str> for KeySlot {
    fn as_ref(&self) -> &str {
        self.get()
    }
}

impl Serialize for KeySlot {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.get())
    }
}

impl<'de> Deserialize<'de> for KeySlot {
    /// Reads a given id (unchecked, like [`KeySlot::given`]; see
    /// [`KeySlot::deserialize_checked`]).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(KeySlot::given)
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

    #[test]
    fn a_given_slot_generates_nothing() {
        let before = IdempotencyKey::generated_on_this_thread();
        let slot = KeySlot::given("payout-1001");
        assert_eq!(slot.get(), "payout-1001");
        let copy = slot.clone();
        assert_eq!(copy, slot);
        assert_eq!(format!("{slot:?}"), "\"payout-1001\"");
        assert_eq!(serde_json::to_string(&slot).unwrap(), "\"payout-1001\"");
        assert_eq!(slot.to_key().unwrap().as_str(), "payout-1001");
        let from_key = KeySlot::from(IdempotencyKey::new("k-1").unwrap());
        assert_eq!(from_key.get(), "k-1");
        assert_eq!(IdempotencyKey::generated_on_this_thread(), before);
    }

    #[test]
    fn a_generated_slot_generates_once_on_first_read_and_clones_share_the_id() {
        let before = IdempotencyKey::generated_on_this_thread();
        let slot = KeySlot::generated();
        assert_eq!(
            IdempotencyKey::generated_on_this_thread(),
            before,
            "generated before any read"
        );
        let first = slot.get().to_owned();
        for _ in 0..100 {
            assert_eq!(slot.get(), first);
        }
        assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
        assert_eq!(first, first.to_lowercase());
        let copy = slot.clone();
        assert_eq!(copy.get(), first);
        assert_eq!(copy, slot);
        assert_eq!(format!("{slot:?}"), format!("{first:?}"));
        assert_eq!(IdempotencyKey::generated_on_this_thread(), before + 1);

        // A clone taken before any read generates, and the original keeps that id.
        let fresh = KeySlot::generated();
        let twin = fresh.clone();
        assert_eq!(twin.get(), fresh.get());
        // Comparing and hashing read the same id too.
        let other = KeySlot::generated();
        assert_ne!(other, fresh);
        let hasher = std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
        let hash = |k: &KeySlot| std::hash::BuildHasher::hash_one(&hasher, k);
        assert_eq!(hash(&fresh), hash(&twin));
        assert_eq!(IdempotencyKey::generated_on_this_thread(), before + 3);
    }

    #[test]
    fn a_prefixed_slot_is_the_prefix_and_one_uuid() {
        let before = IdempotencyKey::generated_on_this_thread();
        let slot = KeySlot::generated_with_prefix("payout-rs-");
        let id = slot.get();
        let uuid = id.strip_prefix("payout-rs-").unwrap();
        assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{id}");
        assert_eq!(id.len(), "payout-rs-".len() + 36);
        assert_eq!(slot.get(), id);
        assert_eq!(IdempotencyKey::generated_on_this_thread(), before + 1);
    }

    #[test]
    fn a_serde_round_trip_keeps_the_generated_id() {
        let slot = KeySlot::generated_with_prefix("p-");
        let json = serde_json::to_string(&slot).unwrap();
        assert_eq!(json, format!("\"{}\"", slot.get()));
        let before = IdempotencyKey::generated_on_this_thread();
        let back: KeySlot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, slot);
        assert_eq!(back.get(), slot.get());
        assert_eq!(
            IdempotencyKey::generated_on_this_thread(),
            before,
            "a read id is not regenerated"
        );
        // The plain reader takes any string (the provider crate checks it before sending);
        // the checked one refuses what cannot travel in a header.
        let loose: KeySlot = serde_json::from_str("\"has space\"").unwrap();
        assert_eq!(loose.get(), "has space");
        assert!(loose.to_key().is_err());
        #[derive(Deserialize)]
        struct Stored {
            #[serde(deserialize_with = "KeySlot::deserialize_checked")]
            key: KeySlot,
        }
        assert!(serde_json::from_str::<Stored>(r#"{"key":"has space"}"#).is_err());
        assert!(serde_json::from_str::<Stored>(r#"{"key":""}"#).is_err());
        let ok: Stored = serde_json::from_str(r#"{"key":"ok-1"}"#).unwrap();
        assert_eq!(ok.key.get(), "ok-1");
    }

    #[test]
    fn concurrent_first_reads_agree_and_generate_once() {
        for _ in 0..20 {
            let slot = KeySlot::generated();
            let barrier = std::sync::Barrier::new(8);
            let (ids, generated): (Vec<String>, Vec<u64>) = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            let before = IdempotencyKey::generated_on_this_thread();
                            barrier.wait();
                            let id = slot.get().to_owned();
                            (id, IdempotencyKey::generated_on_this_thread() - before)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).unzip()
            });
            assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
            assert_eq!(ids[0], slot.get());
            assert_eq!(generated.iter().sum::<u64>(), 1, "{generated:?}");
        }
    }
}
