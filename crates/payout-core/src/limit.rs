//! Client-side protection: a rate limiter for providers that publish limits, and an opt-in
//! circuit breaker that stops hammering a provider that is down.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// A token-bucket limiter: at most `requests` per `per`, with bursts up to `requests`.
///
/// Shared by all clones of a client. Waiting callers reserve their slot, so they are served
/// in order and a burst of callers cannot all wake at once. A wait longer than the call's
/// remaining deadline is refused up front with [`crate::ErrorKind::RateLimited`], nothing sent.
///
/// ```
/// use std::time::Duration;
/// use payout_core::RateLimiter;
/// let sixty_a_minute = RateLimiter::per_minute(60);
/// let custom = RateLimiter::new(10, Duration::from_secs(1));
/// # let _ = (sixty_a_minute, custom);
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Mutex<Bucket>>,
    capacity: f64,
    per_sec: f64,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("capacity", &self.capacity)
            .field("per_second", &self.per_sec)
            .finish()
    }
}

impl RateLimiter {
    /// At most `requests` per `per` (both must be non-zero; zero is treated as one).
    pub fn new(requests: u32, per: Duration) -> Self {
        let requests = requests.max(1) as f64;
        let per = per.max(Duration::from_millis(1)).as_secs_f64();
        RateLimiter {
            inner: Arc::new(Mutex::new(Bucket {
                tokens: requests,
                last: Instant::now(),
            })),
            capacity: requests,
            per_sec: requests / per,
        }
    }

    /// At most `n` requests per minute, the form providers publish (RomplHub 60, RohoPay 30).
    pub fn per_minute(n: u32) -> Self {
        RateLimiter::new(n, Duration::from_secs(60))
    }

    /// Reserves a slot and returns how long to wait before using it; `None` if the wait
    /// would exceed `max_wait` (then nothing is reserved).
    pub fn reserve(&self, max_wait: Option<Duration>) -> Option<Duration> {
        let mut b = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_sec).min(self.capacity);
        b.last = now;
        let wait = if b.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - b.tokens) / self.per_sec)
        };
        if max_wait.is_some_and(|m| wait > m) {
            return None;
        }
        b.tokens -= 1.0;
        Some(wait)
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
    async fn limiter_allows_burst_then_spaces_calls() {
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
