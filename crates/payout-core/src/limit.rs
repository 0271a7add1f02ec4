//! Client-side protection: rate limits ([`RateLimit`], with the in-process [`RateLimiter`]
//! as the default and `redis::RedisRateLimiter` (feature `redis`) for
//! several instances), a per-client [`RetryBudget`] that keeps an outage from turning into a
//! retry storm, and an opt-in circuit breaker that stops hammering a provider that is down.
//!
//! See `docs/rate-limits.md` for what is limited where and the numbers.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// A rate as providers publish it: at most `limit` requests in any window of `period`,
/// optionally with a burst.
///
/// Limiters built from a spec keep **every** window of `period` (sliding or fixed, whichever
/// the provider counts) at `limit - 1` requests or fewer, one request of slack for network
/// jitter between our clock and the provider's: a rate of `limit` and a provider that
/// counts arrivals could otherwise see `limit + 1` when one request travels slower than the
/// next. Internally this is GCRA (the generic cell rate algorithm): one request every
/// [`RateLimitSpec::emission_interval`] = `period / (limit - burst)`, with `burst` requests
/// allowed at once. A larger burst lowers the sustained rate by the same amount, since the
/// window bound holds either way.
///
/// [`RateLimitSpec::token_bucket`] is the other shape, the one [`RateLimiter::new`] and
/// [`RateLimiter::per_minute`] have always had: a full burst of `capacity`, refilled at
/// `capacity` per `period`. It gives the most throughput but does not bound a window:
/// right after a burst, a sliding window can see up to `2 * capacity - 1`.
///
/// ```
/// use std::time::Duration;
/// use payout_core::RateLimitSpec;
/// let rohopay_checkout = RateLimitSpec::per_minute(30);
/// // One every 60 s / 29, a little over 2 s.
/// assert_eq!(rohopay_checkout.emission_interval(), Duration::from_micros(2_068_966));
/// let bursty = RateLimitSpec::per_minute(60).burst(6);
/// assert_eq!(bursty.emission_interval(), Duration::from_micros(1_111_112));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimitSpec {
    limit: u32,
    period: Duration,
    burst: u32,
    /// A token bucket (refill `limit` per `period`) instead of a window bound.
    token_bucket: bool,
}

impl RateLimitSpec {
    /// At most `limit` requests in any window of `period` (zero is treated as one request and
    /// one millisecond), no burst.
    pub fn new(limit: u32, period: Duration) -> Self {
        RateLimitSpec {
            limit: limit.max(1),
            period: period.max(Duration::from_millis(1)),
            burst: 1,
            token_bucket: false,
        }
    }
    /// A token bucket: bursts of up to `capacity`, refilled at `capacity` per `period`
    /// (what [`RateLimiter::new`] has always built). Up to `2 * capacity - 1` requests can
    /// fall in one sliding window of `period`; use [`RateLimitSpec::new`] when a provider
    /// refuses more than its limit in any window.
    pub fn token_bucket(capacity: u32, period: Duration) -> Self {
        let capacity = capacity.max(1);
        RateLimitSpec {
            limit: capacity,
            period: period.max(Duration::from_millis(1)),
            burst: capacity,
            token_bucket: true,
        }
    }
    /// At most `n` requests per second.
    pub fn per_second(n: u32) -> Self {
        RateLimitSpec::new(n, Duration::from_secs(1))
    }
    /// At most `n` requests per minute, the form providers publish (RohoPay's checkout 30,
    /// RomplHub 60).
    pub fn per_minute(n: u32) -> Self {
        RateLimitSpec::new(n, Duration::from_secs(60))
    }
    /// At most `n` requests per hour.
    pub fn per_hour(n: u32) -> Self {
        RateLimitSpec::new(n, Duration::from_secs(3600))
    }
    /// Allows `burst` requests at once (clamped to `1..=limit - 1`); the sustained rate
    /// drops to `limit - burst` per period so that no window ever holds more than the limit.
    /// On a [`RateLimitSpec::token_bucket`], sets the bucket's size (`1..=limit`) and leaves
    /// the refill rate alone.
    pub fn burst(mut self, burst: u32) -> Self {
        let max = if self.token_bucket {
            self.limit
        } else {
            self.limit.saturating_sub(1).max(1)
        };
        self.burst = burst.clamp(1, max);
        self
    }
    /// The published limit.
    pub fn get_limit(&self) -> u32 {
        self.limit
    }
    /// The window the limit is counted over.
    pub fn get_period(&self) -> Duration {
        self.period
    }
    /// Requests allowed at once.
    pub fn get_burst(&self) -> u32 {
        self.burst
    }
    /// True for a [`RateLimitSpec::token_bucket`] (no window bound).
    pub fn is_token_bucket(&self) -> bool {
        self.token_bucket
    }
    /// The spacing of requests at the sustained rate: `period / max(limit - burst, 1)`
    /// (`period / limit` for a token bucket), rounded **up** to a whole microsecond (the
    /// unit the Redis script counts in), so that rounding can never squeeze one more request
    /// into a window.
    pub fn emission_interval(&self) -> Duration {
        let per_period = if self.token_bucket {
            self.limit
        } else {
            self.limit.saturating_sub(self.burst).max(1)
        };
        let n = u128::from(per_period);
        let micros = self.period.as_nanos().div_ceil(n * 1000);
        Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }
    /// How far ahead of the sustained rate a burst may run: `(burst - 1)` intervals.
    pub fn burst_tolerance(&self) -> Duration {
        self.emission_interval() * (self.burst - 1)
    }
}

/// What a call asks a [`RateLimit`] for: the provider and the operation being called
/// (`"orders.create"`), so a limiter can keep one bucket per provider, per operation, or
/// one for everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RateKey<'a> {
    /// The provider name (`"rohopay"`), as in errors and traces.
    pub provider: &'a str,
    /// The stable operation name (`"checkout.create"`).
    pub operation: &'a str,
}

impl<'a> RateKey<'a> {
    /// The key of one call.
    pub const fn new(provider: &'a str, operation: &'a str) -> Self {
        RateKey { provider, operation }
    }
}

/// Why a [`RateLimit`] did not let a call go.
#[derive(Debug)]
#[non_exhaustive]
pub enum Denied {
    /// No slot before the call's deadline: this is the wait the call would have needed.
    /// Nothing was reserved. The transport reports it as
    /// [`crate::ErrorKind::RateLimited`] with [`crate::Error::retry_after`] set to it.
    Wait(Duration),
    /// The limiter could not decide (its Redis is unreachable). The transport refuses the
    /// call rather than risk exceeding a shared limit: [`crate::ErrorKind::Transport`],
    /// retryable, nothing sent.
    Unavailable(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denied::Wait(w) => write!(f, "rate limit: the next slot is {} ms away", w.as_millis()),
            Denied::Unavailable(e) => write!(f, "rate limiter unavailable: {e}"),
        }
    }
}

impl std::error::Error for Denied {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Denied::Unavailable(e) => Some(&**e),
            Denied::Wait(_) => None,
        }
    }
}

/// The future a [`RateLimit`] returns: boxed, so the trait stays object-safe
/// (`Arc<dyn RateLimit>`).
pub type AcquireFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Denied>> + Send + 'a>>;

/// A client-side rate limit, asked once before every attempt the transport sends.
///
/// [`RateLimiter`] (in process) is the default implementation;
/// `redis::RedisRateLimiter` (feature `redis`) shares a limit between processes.
/// Implement it to plug in your own (a database, a gateway's quota API).
///
/// The contract: `acquire` returns `Ok(())` once the call may be sent **now** (it waits for
/// the slot itself, up to `max_wait`), or [`Denied::Wait`] with the wait that would have
/// been needed, at once and without reserving anything, when that is longer than `max_wait`.
///
/// ```
/// use std::time::Duration;
/// use payout_core::limit::{RateKey, RateLimit};
/// use payout_core::{RateLimitSpec, RateLimiter};
/// # tokio_test_rt(async {
/// let limiter = RateLimiter::from_spec(RateLimitSpec::per_minute(30));
/// let key = RateKey::new("rohopay", "checkout.create");
/// // `RateLimiter` also has an older inherent `acquire()`, hence the trait path here.
/// assert!(RateLimit::acquire(&limiter, &key, Duration::ZERO).await.is_ok());
/// // The next slot is two seconds away: refused at once with the wait it needed.
/// assert!(RateLimit::acquire(&limiter, &key, Duration::ZERO).await.is_err());
/// # });
/// # fn tokio_test_rt(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
/// # }
/// ```
pub trait RateLimit: Send + Sync + std::fmt::Debug {
    /// Waits for a slot for this call, at most `max_wait`.
    fn acquire<'a>(&'a self, key: &'a RateKey<'a>, max_wait: Duration) -> AcquireFuture<'a>;
}

impl<T: RateLimit + ?Sized> RateLimit for Arc<T> {
    fn acquire<'a>(&'a self, key: &'a RateKey<'a>, max_wait: Duration) -> AcquireFuture<'a> {
        (**self).acquire(key, max_wait)
    }
}

/// Different limits for different operations of one client: RohoPay counts checkouts (30 a
/// minute) and collections (100 a minute) apart. Each call goes to the limit of its operation
/// (the stable name, e.g. `"checkout.create"`), or to [`PerOperation::others`], or, if
/// neither is set, is not limited.
///
/// ```
/// use payout_core::{PerOperation, RateLimitSpec, RateLimiter};
/// let limits = PerOperation::new()
///     .operation("checkout.create", RateLimiter::from_spec(RateLimitSpec::per_minute(30)))
///     .operation("mobile_money.collect", RateLimiter::from_spec(RateLimitSpec::per_minute(100)));
/// let options = payout_core::ClientOptions::default().rate_limiter(limits);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct PerOperation {
    routes: Vec<(String, Arc<dyn RateLimit>)>,
    others: Option<Arc<dyn RateLimit>>,
}

impl PerOperation {
    /// No limits yet.
    pub fn new() -> Self {
        PerOperation::default()
    }
    /// Calls of `operation` wait for `limit` (a later entry for the same name replaces it).
    pub fn operation(mut self, operation: impl Into<String>, limit: impl RateLimit + 'static) -> Self {
        let operation = operation.into();
        self.routes.retain(|(o, _)| *o != operation);
        self.routes.push((operation, Arc::new(limit)));
        self
    }
    /// Calls of every other operation wait for `limit`.
    pub fn others(mut self, limit: impl RateLimit + 'static) -> Self {
        self.others = Some(Arc::new(limit));
        self
    }
}

impl RateLimit for PerOperation {
    fn acquire<'a>(&'a self, key: &'a RateKey<'a>, max_wait: Duration) -> AcquireFuture<'a> {
        let limit = self
            .routes
            .iter()
            .find(|(o, _)| o == key.operation)
            .map(|(_, l)| l)
            .or(self.others.as_ref());
        match limit {
            Some(l) => l.acquire(key, max_wait),
            None => Box::pin(async { Ok(()) }),
        }
    }
}

/// One GCRA step, shared by the in-process limiter and (in Lua) the Redis one: given the
/// bucket's theoretical arrival time `tat` (`None`: never used), `now`, the spec and the
/// longest acceptable wait, either reserves a slot (`Ok((new_tat, wait))`) or refuses with
/// the wait it would have needed (`Err(wait)`).
pub(crate) fn gcra_step(
    tat: Option<Duration>,
    now: Duration,
    interval: Duration,
    tolerance: Duration,
    max_wait: Duration,
) -> Result<(Duration, Duration), Duration> {
    let tat = tat.map_or(now, |t| t.max(now));
    let wait = tat.saturating_sub(tolerance).saturating_sub(now);
    if wait > max_wait {
        return Err(wait);
    }
    Ok((tat + interval, wait))
}

/// The in-process limiter: one bucket shared by every clone, for every call of the
/// client(s) it is set on. The default [`RateLimit`].
///
/// Waiting callers reserve their slot, so they are served in order and a burst of callers
/// cannot all wake at once. A wait longer than the call's remaining deadline is refused up
/// front with [`crate::ErrorKind::RateLimited`], nothing sent. It holds within one process:
/// several instances sharing an IP or an account need
/// `redis::RedisRateLimiter` (feature `redis`).
///
/// ```
/// use std::time::Duration;
/// use payout_core::{RateLimitSpec, RateLimiter};
/// // Never more than the provider's 60 in any minute (one every ~1.02 s):
/// let provider_limit = RateLimiter::from_spec(RateLimitSpec::per_minute(60));
/// // The same with 5 at once (then one every ~1.09 s):
/// let bursty = RateLimiter::from_spec(RateLimitSpec::per_minute(60).burst(5));
/// // Token buckets, as these constructors have always built: 60 at once, then 1 a second.
/// let sixty_a_minute = RateLimiter::per_minute(60);
/// let custom = RateLimiter::new(10, Duration::from_secs(1));
/// # let _ = (sixty_a_minute, custom, bursty, provider_limit);
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Mutex<Bucket>>,
    spec: RateLimitSpec,
}

struct Bucket {
    /// The theoretical arrival time of the next request, from `origin`.
    tat: Option<Duration>,
    origin: Instant,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").field("spec", &self.spec).finish()
    }
}

impl RateLimiter {
    /// A token bucket: `requests` per `per` on average, bursts up to `requests`
    /// ([`RateLimitSpec::token_bucket`], unchanged from earlier releases). For a provider's
    /// published limit prefer `RateLimiter::from_spec(RateLimitSpec::new(requests, per))`,
    /// which never lets a window of `per` exceed it.
    pub fn new(requests: u32, per: Duration) -> Self {
        RateLimiter::from_spec(RateLimitSpec::token_bucket(requests, per))
    }

    /// A token bucket of `n` a minute (see [`RateLimiter::new`]); for a provider's published
    /// limit prefer `RateLimiter::from_spec(RateLimitSpec::per_minute(n))`.
    pub fn per_minute(n: u32) -> Self {
        RateLimiter::from_spec(RateLimitSpec::token_bucket(n, Duration::from_secs(60)))
    }

    /// A limiter holding to `spec`.
    pub fn from_spec(spec: RateLimitSpec) -> Self {
        RateLimiter {
            inner: Arc::new(Mutex::new(Bucket {
                tat: None,
                origin: Instant::now(),
            })),
            spec,
        }
    }

    /// The rate it holds to.
    pub fn spec(&self) -> RateLimitSpec {
        self.spec
    }

    /// Reserves a slot and returns how long to wait before using it; `None` if the wait
    /// would exceed `max_wait` (then nothing is reserved).
    pub fn reserve(&self, max_wait: Option<Duration>) -> Option<Duration> {
        self.try_reserve(max_wait.unwrap_or(Duration::MAX)).ok()
    }

    /// Like [`RateLimiter::reserve`], with the wait that was needed on refusal.
    fn try_reserve(&self, max_wait: Duration) -> Result<Duration, Duration> {
        let mut b = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now().saturating_duration_since(b.origin);
        let (tat, wait) = gcra_step(
            b.tat,
            now,
            self.spec.emission_interval(),
            self.spec.burst_tolerance(),
            max_wait,
        )?;
        b.tat = Some(tat);
        Ok(wait)
    }

    /// Waits for a slot (no deadline).
    pub async fn acquire(&self) {
        if let Some(w) = self.reserve(None)
            && !w.is_zero()
        {
            tokio::time::sleep(w).await;
        }
    }
}

impl RateLimit for RateLimiter {
    fn acquire<'a>(&'a self, _key: &'a RateKey<'a>, max_wait: Duration) -> AcquireFuture<'a> {
        let reserved = self.try_reserve(max_wait);
        Box::pin(async move {
            match reserved {
                Ok(w) if !w.is_zero() => {
                    tokio::time::sleep(w).await;
                    Ok(())
                }
                Ok(_) => Ok(()),
                Err(needed) => Err(Denied::Wait(needed)),
            }
        })
    }
}

/// A per-client retry budget, as aws-smithy-runtime's standard retry strategy keeps: a
/// token bucket that every retry draws from, so that a provider outage cannot multiply the
/// traffic of every caller by the retry count.
///
/// * it starts full, with [`RetryBudget::DEFAULT_CAPACITY`] (500) tokens;
/// * a retry after a timeout costs [`RetryBudget::DEFAULT_TIMEOUT_COST`] (10), any other
///   retry [`RetryBudget::DEFAULT_RETRY_COST`] (5);
/// * a call that succeeds at once refunds [`RetryBudget::DEFAULT_SUCCESS_REFUND`] (1), a call
///   that succeeds after retrying gives back the cost of its last retry;
/// * when a retry cannot be paid, the call stops with the transient error it had (a 503,
///   a timeout), marked retryable: never a silent drop.
///
/// So a client that has only seen failures makes at most 100 retries in total (500 / 5),
/// then sends each call once until successes refill the bucket. It is on by default
/// ([`crate::ClientOptions::retry_budget`]); clones of the options share it.
///
/// ```
/// use payout_core::RetryBudget;
/// let budget = RetryBudget::default();
/// assert_eq!(budget.available(), 500);
/// let small = RetryBudget::new(20).retry_cost(5).timeout_cost(10).success_refund(1);
/// assert_eq!(small.available(), 20);
/// ```
#[derive(Clone)]
pub struct RetryBudget {
    tokens: Arc<AtomicU32>,
    capacity: u32,
    retry_cost: u32,
    timeout_cost: u32,
    success_refund: u32,
}

impl std::fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryBudget")
            .field("available", &self.available())
            .field("capacity", &self.capacity)
            .field("retry_cost", &self.retry_cost)
            .field("timeout_cost", &self.timeout_cost)
            .field("success_refund", &self.success_refund)
            .finish()
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new(RetryBudget::DEFAULT_CAPACITY)
    }
}

impl RetryBudget {
    /// Tokens in a full bucket (aws-smithy-runtime's `INITIAL_RETRY_TOKENS`).
    pub const DEFAULT_CAPACITY: u32 = 500;
    /// What a retry costs (aws-smithy-runtime's `RETRY_COST`).
    pub const DEFAULT_RETRY_COST: u32 = 5;
    /// What a retry after a timeout costs (aws-smithy-runtime's `RETRY_TIMEOUT_COST`).
    pub const DEFAULT_TIMEOUT_COST: u32 = 10;
    /// What a first-time success gives back (aws-smithy-runtime's `NO_RETRY_INCREMENT`).
    pub const DEFAULT_SUCCESS_REFUND: u32 = 1;

    /// A full bucket of `capacity` tokens with the default costs.
    pub fn new(capacity: u32) -> Self {
        RetryBudget {
            tokens: Arc::new(AtomicU32::new(capacity)),
            capacity,
            retry_cost: RetryBudget::DEFAULT_RETRY_COST,
            timeout_cost: RetryBudget::DEFAULT_TIMEOUT_COST,
            success_refund: RetryBudget::DEFAULT_SUCCESS_REFUND,
        }
    }
    /// What a retry costs (after a 5xx, a 429, a refused connection or a broken one).
    pub fn retry_cost(mut self, cost: u32) -> Self {
        self.retry_cost = cost;
        self
    }
    /// What a retry after a timeout costs.
    pub fn timeout_cost(mut self, cost: u32) -> Self {
        self.timeout_cost = cost;
        self
    }
    /// What a call that succeeds on its first attempt gives back.
    pub fn success_refund(mut self, refund: u32) -> Self {
        self.success_refund = refund;
        self
    }
    /// Tokens left.
    pub fn available(&self) -> u32 {
        self.tokens.load(Ordering::Relaxed)
    }
    /// Tokens in a full bucket.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }
    /// The cost of a retry (`timed_out`: after a timeout).
    pub fn cost_of(&self, timed_out: bool) -> u32 {
        if timed_out {
            self.timeout_cost
        } else {
            self.retry_cost
        }
    }
    /// Takes `cost` tokens; `false` (nothing taken) if fewer are left.
    pub fn try_withdraw(&self, cost: u32) -> bool {
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost))
            .is_ok()
    }
    /// Gives back `n` tokens, up to the capacity.
    pub fn refund(&self, n: u32) {
        self.refill(n);
    }
    /// [`RetryBudget::refund`]; true if it wrote the counter.
    fn refill(&self, n: u32) -> bool {
        let cap = self.capacity;
        // A full bucket stays full: a plain load, no write. Every successful call refunds, so
        // on a healthy client this is the common case, and a read keeps the counter's cache
        // line shared between cores instead of moving it to whichever core wrote last.
        if n == 0 || self.tokens.load(Ordering::Relaxed) >= cap {
            return false;
        }
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_add(n).min(cap))
            })
            .is_ok()
    }
    /// Books a successful call: `last_retry_cost` is what its last retry cost (`None` if it
    /// succeeded at once).
    pub fn on_success(&self, last_retry_cost: Option<u32>) {
        self.refund(last_retry_cost.unwrap_or(self.success_refund));
    }
}

/// An opt-in circuit breaker: after `failure_threshold` consecutive failures (network errors,
/// timeouts, 5xx), calls fail fast with [`crate::ErrorKind::CircuitOpen`] for `cool_down`;
/// then one probe call is let through, and its result closes or re-opens the circuit.
///
/// Failing fast is safe for money: a call refused by the breaker was never sent.
///
/// ```
/// use std::time::Duration;
/// use payout_core::CircuitBreaker;
/// let breaker = CircuitBreaker::new(5, Duration::from_secs(30));
/// assert!(breaker.check().is_ok());
/// for _ in 0..5 { breaker.record(false); }
/// assert!(breaker.check().is_err());
/// ```
#[derive(Clone)]
pub struct CircuitBreaker {
    inner: Arc<Mutex<BreakerState>>,
    threshold: u32,
    cool_down: Duration,
}

struct BreakerState {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

/// The breaker's state, for health endpoints and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls flow.
    Closed,
    /// Calls fail fast until the cool-down ends.
    Open,
    /// The cool-down ended; one probe call decides.
    HalfOpen,
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("threshold", &self.threshold)
            .field("cool_down", &self.cool_down)
            .field("state", &self.state())
            .finish()
    }
}

impl CircuitBreaker {
    /// Opens after `failure_threshold` consecutive failures, for `cool_down`.
    pub fn new(failure_threshold: u32, cool_down: Duration) -> Self {
        CircuitBreaker {
            inner: Arc::new(Mutex::new(BreakerState {
                consecutive_failures: 0,
                open_until: None,
                probing: false,
            })),
            threshold: failure_threshold.max(1),
            cool_down,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current state.
    pub fn state(&self) -> CircuitState {
        let s = self.lock();
        match s.open_until {
            None => CircuitState::Closed,
            Some(t) if Instant::now() < t => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }

    /// May a call go out now? `Err(remaining cool-down)` if not. In the half-open state
    /// exactly one caller gets `Ok` (the probe) until it reports back.
    pub fn check(&self) -> Result<(), Duration> {
        let mut s = self.lock();
        match s.open_until {
            None => Ok(()),
            Some(t) => {
                let now = Instant::now();
                if now < t {
                    Err(t - now)
                } else if s.probing {
                    Err(Duration::ZERO)
                } else {
                    s.probing = true;
                    Ok(())
                }
            }
        }
    }

    /// Lets another caller probe: for a call that `check` let through but that ended
    /// without an attempt whose result could be recorded (refused by the rate limiter, out of
    /// time before sending, or dropped by its caller). Changes nothing else.
    pub fn release(&self) {
        self.lock().probing = false;
    }

    /// Reports the result of a call that `check` let through.
    pub fn record(&self, success: bool) {
        let mut s = self.lock();
        s.probing = false;
        if success {
            s.consecutive_failures = 0;
            s.open_until = None;
        } else {
            s.consecutive_failures = s.consecutive_failures.saturating_add(1);
            if s.consecutive_failures >= self.threshold || s.open_until.is_some() {
                s.open_until = Some(Instant::now() + self.cool_down);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_token_bucket_allows_its_burst_then_spaces_calls() {
        // What RateLimiter::new has always done.
        let l = RateLimiter::new(2, Duration::from_secs(1));
        assert_eq!(l.reserve(None), Some(Duration::ZERO));
        assert_eq!(l.reserve(None), Some(Duration::ZERO));
        let w = l.reserve(None).unwrap();
        assert!(
            w > Duration::from_millis(400) && w <= Duration::from_millis(500),
            "{w:?}"
        );
        // A caller that cannot wait that long is refused and reserves nothing.
        assert_eq!(l.reserve(Some(Duration::from_millis(10))), None);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(l.reserve(Some(Duration::ZERO)), Some(Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn limiter_spaces_calls_and_refuses_without_reserving() {
        // 3 per second, no burst: one call every 1/2 s keeps every 1 s window at 2 or fewer.
        let l = RateLimiter::from_spec(RateLimitSpec::new(3, Duration::from_secs(1)));
        assert_eq!(l.reserve(None), Some(Duration::ZERO));
        assert_eq!(l.reserve(None), Some(Duration::from_millis(500)));
        // A caller that cannot wait that long is refused and reserves nothing.
        assert_eq!(l.reserve(Some(Duration::from_millis(10))), None);
        assert_eq!(l.reserve(None), Some(Duration::from_millis(1000)));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(l.reserve(Some(Duration::ZERO)), Some(Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_then_the_sustained_rate() {
        let l = RateLimiter::from_spec(RateLimitSpec::new(10, Duration::from_secs(1)).burst(4));
        for _ in 0..4 {
            assert_eq!(l.reserve(Some(Duration::ZERO)), Some(Duration::ZERO));
        }
        // period / (limit - burst) = 1/6 s, rounded up to the microsecond.
        assert_eq!(l.reserve(None), Some(Duration::from_micros(166_667)));
    }

    /// The bound every spec promises: no window of `period` (sliding, so fixed ones too)
    /// holds more than `limit - 1` slots, whatever the burst.
    #[test]
    fn no_window_holds_more_than_the_limit() {
        for (limit, burst) in [(1, 1), (2, 1), (30, 1), (30, 5), (60, 59), (7, 3)] {
            let spec = RateLimitSpec::new(limit, Duration::from_secs(60)).burst(burst);
            let (t, tol) = (spec.emission_interval(), spec.burst_tolerance());
            let mut tat = None;
            let mut sent = Vec::new();
            let mut now = Duration::ZERO;
            for _ in 0..(limit * 4) {
                let (next, wait) = gcra_step(tat, now, t, tol, Duration::MAX).unwrap();
                tat = Some(next);
                now += wait;
                sent.push(now);
            }
            for (i, start) in sent.iter().enumerate() {
                let in_window = sent[i..]
                    .iter()
                    .filter(|s| **s < *start + spec.get_period())
                    .count();
                assert!(
                    in_window as u32 <= (limit - 1).max(1),
                    "{limit}/{burst}: {in_window} in a window"
                );
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn per_operation_limits_route_by_operation() {
        let limits = PerOperation::new()
            .operation("checkout.create", RateLimiter::per_minute(1))
            .others(RateLimiter::per_minute(3));
        let checkout = RateKey::new("rohopay", "checkout.create");
        let other = RateKey::new("rohopay", "transactions.get");
        assert!(limits.acquire(&checkout, Duration::ZERO).await.is_ok());
        assert!(matches!(
            limits.acquire(&checkout, Duration::ZERO).await,
            Err(Denied::Wait(_))
        ));
        assert!(
            limits.acquire(&other, Duration::ZERO).await.is_ok(),
            "its own bucket"
        );
        let unlimited = PerOperation::new().operation("checkout.create", RateLimiter::per_minute(1));
        for _ in 0..5 {
            assert!(unlimited.acquire(&other, Duration::ZERO).await.is_ok());
        }
    }

    #[test]
    fn the_retry_budget_pays_retries_and_refunds_successes() {
        let b = RetryBudget::new(12)
            .retry_cost(5)
            .timeout_cost(10)
            .success_refund(1);
        assert!(b.try_withdraw(b.cost_of(false)));
        assert!(
            !b.try_withdraw(b.cost_of(true)),
            "7 left, a timeout retry costs 10"
        );
        assert_eq!(b.available(), 7, "a refused withdrawal takes nothing");
        b.on_success(Some(5));
        assert_eq!(b.available(), 12);
        b.on_success(None);
        assert_eq!(b.available(), 12, "never above the capacity");
        assert_eq!(RetryBudget::default().available(), 500);
    }

    /// Hot-path rule: a success on a full budget (a healthy client) reads the shared counter
    /// and does not write it, so concurrent calls on several cores do not contend on it.
    #[test]
    fn a_success_on_a_full_budget_does_not_write_it() {
        let b = RetryBudget::new(12).retry_cost(5).success_refund(1);
        assert!(!b.refill(1), "full: no write");
        assert!(!b.refill(0), "nothing to give back: no write");
        assert!(b.try_withdraw(5));
        assert!(b.refill(1), "below the capacity: written");
        assert_eq!(b.available(), 8);
        assert!(b.refill(100));
        assert_eq!(b.available(), 12, "up to the capacity");
        assert!(!b.refill(1));
        assert_eq!(b.available(), 12);
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_probes_and_closes() {
        let b = CircuitBreaker::new(3, Duration::from_secs(10));
        b.record(false);
        b.record(false);
        assert_eq!(b.state(), CircuitState::Closed);
        b.record(false);
        assert_eq!(b.state(), CircuitState::Open);
        assert!(b.check().is_err());
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(b.state(), CircuitState::HalfOpen);
        assert!(b.check().is_ok(), "one probe goes through");
        assert!(b.check().is_err(), "a second caller waits for the probe");
        b.record(false);
        assert_eq!(b.state(), CircuitState::Open, "a failed probe re-opens");
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(b.check().is_ok());
        b.record(true);
        assert_eq!(b.state(), CircuitState::Closed);
        assert!(b.check().is_ok());
    }
}
