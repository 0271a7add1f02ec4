//! One "wait until final" loop for every provider: fetch, judge the state, sleep, repeat,
//! until the state is final, a stop condition holds, or the deadline passes.
//!
//! At the deadline the result is an [`ErrorKind::Timeout`] error that carries the last state
//! seen ([`Error::last_state`]), **never** `Ok` with a state that is not final: a caller that
//! reads `Ok` as "done" must not pay again for an order that is still processing.
//!
//! ```
//! # tokio_test_block_on(async {
//! use std::time::Duration;
//! use payout_core::poll::{PollOptions, Poll, wait_until};
//! use payout_core::ErrorKind;
//!
//! let opts = PollOptions::default()
//!     .interval(Duration::from_millis(1))
//!     .timeout(Duration::from_millis(20));
//! let err = wait_until("demo", &opts, || async { Ok::<_, payout_core::Error>("processing") }, |_| Poll::Pending)
//!     .await
//!     .unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Timeout);
//! assert_eq!(err.last_state::<&str>(), Some(&"processing"));
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Result};

/// What to do when one lookup of a poll fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnLookupError {
    /// Return the error at once.
    Fail,
    /// Keep polling while the error is retryable (a timeout, a 5xx, a 429), up to this many
    /// failures in a row; return it after that, or at once if it is not retryable.
    Retry(u32),
}

/// How a `wait_until_final` polls: the same options in every provider crate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollOptions {
    interval: Duration,
    backoff: f64,
    max_interval: Duration,
    timeout: Duration,
    on_lookup_error: OnLookupError,
}

impl Default for PollOptions {
    /// Every 2 s, growing by 1.5× up to 30 s, for at most 10 minutes; up to 3 failed lookups
    /// in a row are tolerated.
    fn default() -> Self {
        PollOptions {
            interval: Duration::from_secs(2),
            backoff: 1.5,
            max_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(600),
            on_lookup_error: OnLookupError::Retry(3),
        }
    }
}

impl PollOptions {
    /// The first pause between lookups.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
    /// The factor each pause grows by (1.0 for a fixed interval; values below 1 count as 1).
    pub fn backoff(mut self, factor: f64) -> Self {
        self.backoff = if factor.is_finite() { factor.max(1.0) } else { 1.0 };
        self
    }
    /// The longest pause.
    pub fn max_interval(mut self, max: Duration) -> Self {
        self.max_interval = max;
        self
    }
    /// The deadline, counted from the first lookup.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// What a failed lookup does.
    pub fn on_lookup_error(mut self, on: OnLookupError) -> Self {
        self.on_lookup_error = on;
        self
    }
    /// The first pause.
    pub fn get_interval(&self) -> Duration {
        self.interval
    }
    /// The deadline.
    pub fn get_timeout(&self) -> Duration {
        self.timeout
    }
}

/// The verdict on one state seen by a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// Final: return it.
    Final,
    /// Not final yet: keep polling.
    Pending,
    /// Not final, but polling cannot make progress (RomplHub's `waiting_2fa` needs a code from
    /// a person): return it as `Ok` so the caller can act. The reason is for logs.
    Stop(&'static str),
}

/// Polls `fetch` until `judge` says [`Poll::Final`] or [`Poll::Stop`], or the deadline passes
/// (then [`ErrorKind::Timeout`] carrying the last state seen).
pub async fn wait_until<T, F, Fut, J>(
    provider: &'static str,
    opts: &PollOptions,
    mut fetch: F,
    judge: J,
) -> Result<T>
where
    T: std::any::Any + Send + Sync,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
    J: Fn(&T) -> Poll,
{
    let deadline = crate::retry::deadline_after(Instant::now(), opts.timeout);
    let mut pause = opts.interval;
    let mut failures: u32 = 0;
    let mut last: Option<T> = None;
    loop {
        match fetch().await {
            Ok(state) => {
                failures = 0;
                match judge(&state) {
                    Poll::Final => return Ok(state),
                    Poll::Stop(why) => {
                        tracing::debug!(reason = why, "poll stopped before a final state");
                        return Ok(state);
                    }
                    Poll::Pending => last = Some(state),
                }
            }
            Err(e) => {
                failures += 1;
                let tolerated = match opts.on_lookup_error {
                    OnLookupError::Fail => false,
                    OnLookupError::Retry(n) => e.is_retryable() && failures <= n,
                };
                if !tolerated {
                    return Err(e);
                }
                tracing::debug!(failures, "poll lookup failed; polling on");
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(timeout(provider, opts, last));
        }
        let sleep = pause.min(deadline - now);
        tokio::time::sleep(sleep).await;
        if Instant::now() >= deadline {
            // One last look at the deadline, so a state that turned final during the last
            // pause is not reported as a timeout.
            return match fetch().await {
                Ok(state) if judge(&state) != Poll::Pending => Ok(state),
                Ok(state) => Err(timeout(provider, opts, Some(state))),
                Err(_) => Err(timeout(provider, opts, last)),
            };
        }
        // `try_from`: a huge `max_interval` (Duration::MAX) must not panic on the rounding.
        pause = Duration::try_from_secs_f64(
            (pause.as_secs_f64() * opts.backoff).min(opts.max_interval.as_secs_f64()),
        )
        .unwrap_or(opts.max_interval)
        .max(opts.interval.min(opts.max_interval));
    }
}

fn timeout<T: std::any::Any + Send + Sync>(
    provider: &'static str,
    opts: &PollOptions,
    last: Option<T>,
) -> Error {
    let seen = if last.is_some() {
        "the last state seen is attached (Error::last_state)"
    } else {
        "no state was read successfully"
    };
    let e = Error::new(
        ErrorKind::Timeout,
        provider,
        format!(
            "not final after waiting {:?}; {seen}. It is still in progress: poll again later (or wait for the provider's notification where it sends one); never create it again",
            opts.timeout
        ),
    )
    .with_sent(true);
    match last {
        Some(s) => e.with_last_state(s),
        None => e,
    }
}
