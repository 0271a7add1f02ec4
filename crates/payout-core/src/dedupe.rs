//! Webhook deduplication: "has this delivery been handled already?"
//!
//! Providers deliver at least once: a receiver that answered slowly, or not 2xx, gets the same
//! delivery again (RohoPay after 10 seconds, xRocket until it reads `200`), and a signature
//! without a timestamp (ROCheap, RohoPay) can be replayed by anyone who captured one delivery.
//! A [`Dedupe`] store remembers delivery keys (an event id, or a SHA-256 of the verified body:
//! see each provider crate's `webhook::axum` module) in three steps:
//!
//! 1. [`Dedupe::claim`] before the handler runs: [`Claim::New`] marks the key *in flight*;
//!    [`Claim::Done`] means it was handled (answer `200`, do not handle it again);
//!    [`Claim::InFlight`] means another request is handling it right now (answer a status
//!    that makes the provider come back later: it may still fail).
//! 2. [`Dedupe::commit`] when the handler succeeded: the key is remembered as done for the
//!    store's time to live.
//! 3. [`Dedupe::release`] when the handler failed: the key is forgotten, so the provider's
//!    retry of the same delivery is handled again.
//!
//! An in-flight claim whose process died (neither committed nor released) expires after the
//! store's in-flight time to live, so the provider's next retry is handled.
//!
//! The trait is object-safe (boxed futures): the receivers hold an `Arc<dyn Dedupe>`.
//! [`MemoryDedupe`] is the bounded in-process default; `payout-journal` implements the trait
//! on SQLite (across restarts) and PostgreSQL (across instances).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), payout_core::dedupe::DedupeError> {
//! use payout_core::dedupe::{Claim, Dedupe, MemoryDedupe};
//! let store = MemoryDedupe::new(10_000);
//! assert_eq!(store.claim("xrocket:evt-1").await?, Claim::New);      // handle it
//! assert_eq!(store.claim("xrocket:evt-1").await?, Claim::InFlight); // a concurrent retry
//! store.commit("xrocket:evt-1").await?;                              // handler succeeded
//! assert_eq!(store.claim("xrocket:evt-1").await?, Claim::Done);     // a later retry: 200, skip
//! # Ok(()) }
//! ```

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The boxed future a [`Dedupe`] method returns.
pub type DedupeFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DedupeError>> + Send + 'a>>;

/// What [`Dedupe::claim`] found for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// Never seen (or expired, or released): it is now in flight; handle it, then
    /// [`Dedupe::commit`] or [`Dedupe::release`].
    New,
    /// Handled already: answer `200` without handling it again.
    Done,
    /// Being handled by another request right now: do not handle it, and answer a status that
    /// makes the provider retry (the first attempt may still fail and be released).
    InFlight,
}

/// A dedupe store failed (a database was unreachable). Receivers answer `503` and do not call
/// the handler: a delivery is never handled without a claim.
#[derive(Debug)]
pub struct DedupeError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl DedupeError {
    /// An error with a message and the underlying cause.
    pub fn new(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        DedupeError {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An error with a message only.
    pub fn msg(message: impl Into<String>) -> Self {
        DedupeError {
            message: message.into(),
            source: None,
        }
    }
}

impl std::fmt::Display for DedupeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "webhook dedupe store: {}", self.message)?;
        if let Some(s) = &self.source {
            write!(f, ": {s}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DedupeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Remembers webhook delivery keys: claim before handling, commit on success, release on
/// failure. See the [module documentation](self).
pub trait Dedupe: Send + Sync {
    /// Atomically: if `key` is unknown (or expired), marks it in flight and returns
    /// [`Claim::New`]; otherwise says whether it is [`Claim::Done`] or [`Claim::InFlight`].
    fn claim<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, Claim>;

    /// The handler succeeded: remember `key` as done for the store's time to live.
    fn commit<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()>;

    /// The handler failed: forget `key` so that the provider's retry is handled again.
    fn release<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()>;
}

impl<T: Dedupe + ?Sized> Dedupe for Arc<T> {
    fn claim<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, Claim> {
        (**self).claim(key)
    }
    fn commit<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()> {
        (**self).commit(key)
    }
    fn release<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()> {
        (**self).release(key)
    }
}

/// A dedupe key for a delivery the provider gives no id to: `<provider>:sha256:<hex>` of
/// `bytes` (the verified body, or its canonical form where the scheme signs one). The
/// provider name keeps keys of several providers apart in one shared store.
///
/// ```
/// let k = payout_core::dedupe::body_key("rocheap", b"{}");
/// assert_eq!(k, "rocheap:sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
/// ```
pub fn body_key(provider: &str, bytes: &[u8]) -> String {
    format!(
        "{provider}:sha256:{}",
        crate::webhook::to_hex(&Sha256::digest(bytes))
    )
}

/// The default capacity of [`MemoryDedupe::default`]: 100 000 keys (a few tens of MB at most
/// for the longest keys; about 10 MB for the usual event ids and hashes).
pub const DEFAULT_CAPACITY: usize = 100_000;
/// The default time a handled key is remembered: 72 hours (longer than any provider's
/// documented or observed retry horizon).
pub const DEFAULT_TTL: Duration = Duration::from_secs(72 * 3600);
/// The default time an in-flight claim is held before it is considered abandoned (its process
/// died or its handler hangs): 5 minutes.
pub const DEFAULT_IN_FLIGHT_TTL: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Entry {
    done: bool,
    expires: Instant,
    /// Which push into `order` is this entry's current one (older pushes are stale).
    generation: u64,
}

#[derive(Debug, Default)]
struct State {
    map: HashMap<String, Entry>,
    /// Keys in claim order (oldest first), with the generation they were pushed with.
    order: VecDeque<(String, u64)>,
    next_generation: u64,
}

/// The in-process default [`Dedupe`]: a bounded map with a time to live.
///
/// Holds at most `capacity` keys ([`DEFAULT_CAPACITY`] by default). When full, the key claimed
/// longest ago is forgotten first (a replay of a key that old is handled again: use a durable
/// store, `payout-journal`, when that matters, and across restarts or instances). Handled keys
/// are remembered for [`DEFAULT_TTL`], in-flight claims held for [`DEFAULT_IN_FLIGHT_TTL`];
/// both are settable. Cheap to share: wrap it in an `Arc` (the receivers do).
#[derive(Debug)]
pub struct MemoryDedupe {
    capacity: usize,
    ttl: Duration,
    in_flight_ttl: Duration,
    state: Mutex<State>,
}

impl Default for MemoryDedupe {
    fn default() -> Self {
        MemoryDedupe::new(DEFAULT_CAPACITY)
    }
}

impl MemoryDedupe {
    /// A store holding at most `capacity` keys (at least 1).
    pub fn new(capacity: usize) -> Self {
        MemoryDedupe {
            capacity: capacity.max(1),
            ttl: DEFAULT_TTL,
            in_flight_ttl: DEFAULT_IN_FLIGHT_TTL,
            state: Mutex::new(State::default()),
        }
    }

    /// How long a handled key is remembered.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long an in-flight claim is held before a retry may claim the key again.
    pub fn in_flight_ttl(mut self, ttl: Duration) -> Self {
        self.in_flight_ttl = ttl;
        self
    }

    /// The most keys it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many keys it holds now (expired ones included until they are swept).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// True when it holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn deadline(now: Instant, ttl: Duration) -> Instant {
        // A huge ttl saturates at "about a century" instead of overflowing.
        now.checked_add(ttl)
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
            .unwrap_or(now)
    }

    fn claim_now(&self, key: &str, now: Instant) -> Claim {
        let mut s = self.lock();
        if let Some(e) = s.map.get(key)
            && e.expires > now
        {
            return if e.done { Claim::Done } else { Claim::InFlight };
        }
        let generation = s.next_generation;
        s.next_generation += 1;
        s.map.insert(
            key.to_string(),
            Entry {
                done: false,
                expires: Self::deadline(now, self.in_flight_ttl),
                generation,
            },
        );
        s.order.push_back((key.to_string(), generation));
        // Bound the bookkeeping: released and re-claimed keys leave stale entries in `order`.
        if s.order.len() > self.capacity.saturating_mul(2) {
            let State { map, order, .. } = &mut *s;
            order.retain(|(k, g)| map.get(k).is_some_and(|e| e.generation == *g));
        }
        // Bound the map: forget the keys claimed longest ago until within capacity.
        while s.map.len() > self.capacity {
            let Some((old, g)) = s.order.pop_front() else {
                break;
            };
            if s.map.get(&old).is_some_and(|e| e.generation == g) {
                s.map.remove(&old);
            }
        }
        Claim::New
    }
}

impl Dedupe for MemoryDedupe {
    fn claim<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, Claim> {
        let c = self.claim_now(key, Instant::now());
        Box::pin(async move { Ok(c) })
    }

    fn commit<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()> {
        {
            let mut s = self.lock();
            let expires = Self::deadline(Instant::now(), self.ttl);
            if let Some(e) = s.map.get_mut(key) {
                e.done = true;
                e.expires = expires;
            }
        }
        Box::pin(async { Ok(()) })
    }

    fn release<'a>(&'a self, key: &'a str) -> DedupeFuture<'a, ()> {
        {
            let mut s = self.lock();
            if s.map.get(key).is_some_and(|e| !e.done) {
                s.map.remove(key);
            }
        }
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn claim_commit_release() {
        let d = MemoryDedupe::new(10);
        assert_eq!(d.claim("a").await.unwrap(), Claim::New);
        assert_eq!(d.claim("a").await.unwrap(), Claim::InFlight);
        d.release("a").await.unwrap();
        assert_eq!(
            d.claim("a").await.unwrap(),
            Claim::New,
            "a released key is handled again"
        );
        d.commit("a").await.unwrap();
        assert_eq!(d.claim("a").await.unwrap(), Claim::Done);
        d.release("a").await.unwrap();
        assert_eq!(
            d.claim("a").await.unwrap(),
            Claim::Done,
            "release never forgets a done key"
        );
    }

    #[tokio::test]
    async fn ttls_expire() {
        let d = MemoryDedupe::new(10)
            .ttl(Duration::from_millis(40))
            .in_flight_ttl(Duration::from_millis(20));
        assert_eq!(d.claim("a").await.unwrap(), Claim::New);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(
            d.claim("a").await.unwrap(),
            Claim::New,
            "an abandoned claim expires"
        );
        d.commit("a").await.unwrap();
        assert_eq!(d.claim("a").await.unwrap(), Claim::Done);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            d.claim("a").await.unwrap(),
            Claim::New,
            "a done key expires after its ttl"
        );
    }

    #[tokio::test]
    async fn bounded_oldest_first() {
        let d = MemoryDedupe::new(3);
        for k in ["a", "b", "c", "d"] {
            assert_eq!(d.claim(k).await.unwrap(), Claim::New);
            d.commit(k).await.unwrap();
        }
        assert_eq!(d.len(), 3);
        assert_eq!(d.claim("d").await.unwrap(), Claim::Done);
        assert_eq!(d.claim("b").await.unwrap(), Claim::Done);
        assert_eq!(
            d.claim("a").await.unwrap(),
            Claim::New,
            "the oldest key was evicted"
        );
        // Re-claims of released keys do not grow the bookkeeping without bound.
        for _ in 0..1000 {
            let _ = d.claim("x").await.unwrap();
            d.release("x").await.unwrap();
        }
        assert!(d.lock().order.len() <= 6);
        assert!(d.len() <= 3);
    }

    #[test]
    fn object_safe() {
        let d: Arc<dyn Dedupe> = Arc::new(MemoryDedupe::default());
        let _ = d;
    }
}
