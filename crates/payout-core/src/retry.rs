//! When to try again, and when to stop: the safety table in code.
//!
//! [`decide`] is a pure function: given how a call is protected ([`Safety`]), what happened
//! on the last attempt ([`Outcome`]), how many retries were made and how much time is left,
//! it returns a [`Decision`]. The transport only obeys it. Every cell of the table in
//! `docs/retries-and-idempotency.md` has a unit test below.
//!
//! | what happened | `Idempotent` | `KeyProtected` | `Unprotected` |
//! |---|---|---|---|
//! | nothing was sent (connect, DNS, TLS failed) | retry | retry | retry |
//! | timeout or reset after the request was written | retry | retry, same key | stop: Ambiguous |
//! | 429 | retry after Retry-After | same | same |
//! | 500, 502, 503, 504 | retry | retry, same key | stop: Ambiguous |
//! | any other status | stop | stop | stop |

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How a request may be repeated. Declared by the provider crate for every endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Safety {
    /// Repeating it changes nothing (GET, DELETE of an id, a quote).
    Idempotent,
    /// It moves money but carries a key the provider deduplicates on (an `Idempotency-Key`
    /// header or a client id in the body), so a repeat with the same key is answered with
    /// the first result instead of acting twice.
    KeyProtected,
    /// It moves money (or logs into an account) and nothing protects a repeat: once the
    /// request may have left, it is never sent again.
    Unprotected,
}

/// What happened on one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The connection could not be made (refused, DNS, TLS handshake, connect timeout):
    /// the request provably never reached the provider.
    NotSent,
    /// No answer in time after the request may have been written.
    TimedOut,
    /// The connection broke after the request may have been written (reset, closed,
    /// truncated response).
    Interrupted,
    /// An HTTP response arrived.
    Status {
        /// The status code.
        status: u16,
        /// The parsed `Retry-After` header, if any.
        retry_after: Option<Duration>,
    },
}

/// Why the loop stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A final answer: success, or an error that repeating will not change.
    Final,
    /// The call is unprotected and may have been processed: report it as ambiguous.
    Ambiguous,
    /// The failure is transient but the retry budget is spent.
    Exhausted,
    /// The provider asked us to wait longer than the time left before the deadline.
    DeadlineTooShort,
}

/// The answer of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Sleep this long, then send the same request again (same idempotency key).
    Retry(Duration),
    /// Do not send again.
    Stop(Stop),
}

/// Retry settings. The defaults follow Stripe's official SDKs: 2 retries, exponential
/// backoff with full jitter from 0.5 s capped at 8 s, `Retry-After` honoured up to 60 s.
///
/// ```
/// use std::time::Duration;
/// use payout_core::RetryPolicy;
/// let policy = RetryPolicy::default().max_retries(3).base_delay(Duration::from_millis(200));
/// assert_eq!(policy.get_max_retries(), 3);
/// let never = RetryPolicy::none();
/// assert_eq!(never.get_max_retries(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    jitter: Jitter,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            jitter: Jitter::random(),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy::default().max_retries(0)
    }
    /// How many times a failed attempt may be repeated (attempts = retries + 1).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }
    /// The first backoff ceiling; it doubles per retry.
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }
    /// The largest backoff ceiling.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }
    /// The longest `Retry-After` we are willing to sleep; a longer one stops with
    /// [`crate::ErrorKind::RateLimited`] so the caller can schedule the work instead.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }
    /// Makes the jitter deterministic (tests, reproducible simulations).
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter = Jitter::seeded(seed);
        self
    }
    /// The configured number of retries.
    pub fn get_max_retries(&self) -> u32 {
        self.max_retries
    }
    /// The next jitter sample in `[0, 1)`.
    pub fn sample_jitter(&self) -> f64 {
        self.jitter.next_f64()
    }

    /// Full-jitter exponential backoff for retry number `retry` (0-based):
    /// a uniform draw in `[0, min(max_delay, base_delay * 2^retry)]`, scaled by `jitter` in `[0, 1)`.
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let exp = self.base_delay.saturating_mul(2u32.saturating_pow(retry.min(20)));
        let ceiling = exp.min(self.max_delay);
        // A NaN from a caller's own sampler counts as 0 (`clamp` keeps NaN, `mul_f64` panics on it).
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        ceiling.mul_f64(jitter)
    }
}

/// Decides whether to send the request again. Pure: no clock, no randomness of its own.
///
/// * `retries_done`: how many retries were already made (0 after the first attempt).
/// * `jitter`: a sample in `[0, 1)` used for backoff.
/// * `time_left`: time before the call's deadline, if it has one.
pub fn decide(
    policy: &RetryPolicy,
    safety: Safety,
    outcome: &Outcome,
    retries_done: u32,
    jitter: f64,
    time_left: Option<Duration>,
) -> Decision {
    // First: is repeating this request safe at all, and is the failure transient?
    let retry_after = match outcome {
        // Nothing reached the provider, so even an unprotected payout can be sent again.
        Outcome::NotSent => None,
        Outcome::TimedOut | Outcome::Interrupted => {
            if safety == Safety::Unprotected {
                // The provider may be processing it right now. Sending again could pay twice.
                return Decision::Stop(Stop::Ambiguous);
            }
            None
        }
        Outcome::Status { status, retry_after } => match *status {
            200..=399 => return Decision::Stop(Stop::Final),
            // The provider refused the request unprocessed; safe for every kind of call.
            429 => *retry_after,
            s if is_transient_status(s) => {
                if safety == Safety::Unprotected {
                    // A 5xx says nothing about whether the work was done before it failed.
                    return Decision::Stop(Stop::Ambiguous);
                }
                *retry_after
            }
            _ => return Decision::Stop(Stop::Final),
        },
    };
    if retries_done >= policy.max_retries {
        return Decision::Stop(Stop::Exhausted);
    }
    let delay = match retry_after {
        Some(ra) if ra > policy.max_retry_after => return Decision::Stop(Stop::DeadlineTooShort),
        // Honour the provider's wish, but never less than our own backoff floor of zero.
        Some(ra) => ra,
        None => policy.backoff(retries_done, jitter),
    };
    if let Some(left) = time_left
        && delay >= left
    {
        return Decision::Stop(if retry_after.is_some() {
            Stop::DeadlineTooShort
        } else {
            Stop::Exhausted
        });
    }
    Decision::Retry(delay)
}

/// The statuses that say "the provider failed transiently and may have done the work":
/// 500, 502, 503 and 504. Defined once; the retry table, the transport and every reconcile
/// read it from here.
pub const TRANSIENT_STATUSES: [u16; 4] = [500, 502, 503, 504];

/// True for a status in [`TRANSIENT_STATUSES`].
pub const fn is_transient_status(status: u16) -> bool {
    let mut i = 0;
    while i < TRANSIENT_STATUSES.len() {
        if TRANSIENT_STATUSES[i] == status {
            return true;
        }
        i += 1;
    }
    false
}

/// `now + timeout`, or a century from now when the sum would overflow (a `Duration::MAX`
/// timeout means "no deadline", not a panic).
pub(crate) fn deadline_after(now: tokio::time::Instant, timeout: Duration) -> tokio::time::Instant {
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

/// A source of jitter: random by default, seedable for deterministic tests.
///
/// splitmix64 over an atomic counter: lock-free, good enough for spreading retries, and it
/// spares every user a dependency on `rand`.
#[derive(Clone)]
pub struct Jitter {
    state: Arc<AtomicU64>,
}

impl std::fmt::Debug for Jitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jitter")
    }
}

impl Jitter {
    /// Seeded from the clock and a fresh UUID.
    pub fn random() -> Self {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let u = uuid::Uuid::new_v4().as_u64_pair().0;
        Jitter::seeded(t ^ u)
    }
    /// A deterministic sequence.
    pub fn seeded(seed: u64) -> Self {
        Jitter {
            state: Arc::new(AtomicU64::new(seed)),
        }
    }
    /// The next sample in `[0, 1)`.
    pub fn next_f64(&self) -> f64 {
        let mut z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Parses a `Retry-After` value: delta-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2026 07:28:00 GMT"`, relative to `now`). A date in the past means zero.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use payout_core::retry::parse_retry_after;
/// let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 21 Oct 2015 07:28:00 GMT
/// assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), Some(Duration::from_secs(30)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // Some servers send fractional seconds; accept them rather than ignore the wish.
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
        return None;
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only HTTP-date form
/// servers may send (RFC 9110 §5.6.7).
fn parse_http_date(s: &str) -> Option<SystemTime> {
    let rest = s.split_once(", ")?.1;
    let mut it = rest.split(' ');
    let day: u64 = it.next()?.parse().ok()?;
    let month = match it.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    // RFC 9110: `year = 4DIGIT`. A longer year is not an HTTP-date, and would overflow below.
    let year = it.next()?;
    if year.len() != 4 {
        return None;
    }
    let year: i64 = year.parse().ok()?;
    let mut hms = it.next()?.split(':');
    let h: u64 = hms.next()?.parse().ok()?;
    let m: u64 = hms.next()?.parse().ok()?;
    let sec: u64 = hms.next()?.parse().ok()?;
    if it.next()? != "GMT" || day == 0 || day > 31 || h > 23 || m > 59 || sec > 60 || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, month, day as i64);
    let secs = u64::try_from(days)
        .ok()?
        .checked_mul(86_400)?
        .checked_add(h * 3600 + m * 60 + sec)?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use Safety::*;

    fn p() -> RetryPolicy {
        RetryPolicy::default().jitter_seed(7)
    }
    fn status(s: u16) -> Outcome {
        Outcome::Status {
            status: s,
            retry_after: None,
        }
    }
    fn is_retry(d: &Decision) -> bool {
        matches!(d, Decision::Retry(_))
    }

    // ---- one test per row of the table, each asserting all three columns ----

    #[test]
    fn row_not_sent_retries_in_every_column() {
        for s in [Idempotent, KeyProtected, Unprotected] {
            assert!(
                is_retry(&decide(&p(), s, &Outcome::NotSent, 0, 0.5, None)),
                "{s:?}"
            );
        }
    }

    #[test]
    fn row_timeout_after_send_retries_only_protected_calls() {
        assert!(is_retry(&decide(
            &p(),
            Idempotent,
            &Outcome::TimedOut,
            0,
            0.5,
            None
        )));
        assert!(is_retry(&decide(
            &p(),
            KeyProtected,
            &Outcome::TimedOut,
            0,
            0.5,
            None
        )));
        assert_eq!(
            decide(&p(), Unprotected, &Outcome::TimedOut, 0, 0.5, None),
            Decision::Stop(Stop::Ambiguous)
        );
    }

    #[test]
    fn row_reset_after_send_retries_only_protected_calls() {
        assert!(is_retry(&decide(
            &p(),
            Idempotent,
            &Outcome::Interrupted,
            0,
            0.5,
            None
        )));
        assert!(is_retry(&decide(
            &p(),
            KeyProtected,
            &Outcome::Interrupted,
            0,
            0.5,
            None
        )));
        assert_eq!(
            decide(&p(), Unprotected, &Outcome::Interrupted, 0, 0.5, None),
            Decision::Stop(Stop::Ambiguous)
        );
    }

    #[test]
    fn row_429_waits_retry_after_in_every_column() {
        let o = Outcome::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(3)),
        };
        for s in [Idempotent, KeyProtected, Unprotected] {
            assert_eq!(
                decide(&p(), s, &o, 0, 0.5, None),
                Decision::Retry(Duration::from_secs(3)),
                "{s:?}"
            );
        }
        // Without Retry-After, 429 falls back to backoff.
        assert!(is_retry(&decide(&p(), Unprotected, &status(429), 0, 0.5, None)));
    }

    #[test]
    fn row_5xx_retries_protected_and_is_ambiguous_otherwise() {
        for code in [500, 502, 503, 504] {
            assert!(is_retry(&decide(&p(), Idempotent, &status(code), 0, 0.5, None)));
            assert!(is_retry(&decide(&p(), KeyProtected, &status(code), 0, 0.5, None)));
            assert_eq!(
                decide(&p(), Unprotected, &status(code), 0, 0.5, None),
                Decision::Stop(Stop::Ambiguous),
                "{code}"
            );
        }
    }

    #[test]
    fn row_other_statuses_stop_in_every_column() {
        for code in [200, 201, 204, 400, 401, 403, 404, 409, 422, 501, 505] {
            for s in [Idempotent, KeyProtected, Unprotected] {
                assert_eq!(
                    decide(&p(), s, &status(code), 0, 0.5, None),
                    Decision::Stop(Stop::Final),
                    "{code} {s:?}"
                );
            }
        }
    }

    // ---- budget, deadline, backoff ----

    #[test]
    fn retries_stop_when_budget_is_spent() {
        let policy = p().max_retries(2);
        assert!(is_retry(&decide(&policy, Idempotent, &status(500), 1, 0.5, None)));
        assert_eq!(
            decide(&policy, Idempotent, &status(500), 2, 0.5, None),
            Decision::Stop(Stop::Exhausted)
        );
        assert_eq!(
            decide(&RetryPolicy::none(), Idempotent, &Outcome::NotSent, 0, 0.5, None),
            Decision::Stop(Stop::Exhausted)
        );
    }

    #[test]
    fn retry_after_longer_than_deadline_fails_fast() {
        let o = Outcome::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(
            decide(&p(), Idempotent, &o, 0, 0.5, Some(Duration::from_secs(10))),
            Decision::Stop(Stop::DeadlineTooShort)
        );
        assert_eq!(
            decide(
                &p().max_retry_after(Duration::from_secs(5)),
                Idempotent,
                &o,
                0,
                0.5,
                None
            ),
            Decision::Stop(Stop::DeadlineTooShort)
        );
    }

    #[test]
    fn backoff_is_full_jitter_and_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(0, 0.0), Duration::ZERO);
        assert_eq!(policy.backoff(0, 1.0), Duration::from_millis(500));
        assert_eq!(policy.backoff(1, 1.0), Duration::from_millis(1000));
        assert_eq!(policy.backoff(3, 1.0), Duration::from_secs(4));
        assert_eq!(policy.backoff(10, 1.0), Duration::from_secs(8));
        assert_eq!(policy.backoff(u32::MAX, 0.5), Duration::from_secs(4));
    }

    #[test]
    fn seeded_jitter_is_deterministic_and_in_range() {
        let a = Jitter::seeded(42);
        let b = Jitter::seeded(42);
        for _ in 0..1000 {
            let x = a.next_f64();
            assert_eq!(x, b.next_f64());
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    fn http_dates_parse() {
        let d = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(d.duration_since(UNIX_EPOCH).unwrap().as_secs(), 784_111_777);
        assert!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC").is_none());
        assert!(parse_http_date("garbage").is_none());
        let now = UNIX_EPOCH + Duration::from_secs(784_111_800);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("1.5", now), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("-3", now), None);
    }
}
