//! `poll::wait_until`: final, stop, timeout with the last state, tolerated lookup errors, and
//! a state that turns final at the deadline. Runs on paused tokio time: no real waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use payout_core::poll::{OnLookupError, Poll, PollOptions, wait_until};
use payout_core::{Error, ErrorKind};

fn opts() -> PollOptions {
    PollOptions::default()
        .interval(Duration::from_secs(1))
        .backoff(1.0)
        .timeout(Duration::from_secs(10))
}

fn judge(s: &&'static str) -> Poll {
    match *s {
        "done" => Poll::Final,
        "needs_2fa" => Poll::Stop("a person must act"),
        _ => Poll::Pending,
    }
}

/// A fetch that returns `states` in order (the last one repeated), counting calls.
fn scripted(
    states: Vec<Result<&'static str, ErrorKind>>,
) -> (
    Arc<AtomicU32>,
    impl FnMut() -> std::future::Ready<payout_core::Result<&'static str>>,
) {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let fetch = move || {
        let i = c.fetch_add(1, Ordering::SeqCst) as usize;
        let s = states[i.min(states.len() - 1)];
        std::future::ready(s.map_err(|k| Error::new(k, "fakepay", "lookup failed")))
    };
    (calls, fetch)
}

#[tokio::test(start_paused = true)]
async fn returns_the_final_state() {
    let (calls, fetch) = scripted(vec![Ok("processing"), Ok("processing"), Ok("done")]);
    let out = wait_until("fakepay", &opts(), fetch, judge).await.unwrap();
    assert_eq!(out, "done");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_stop_condition_returns_ok_with_the_state() {
    let (calls, fetch) = scripted(vec![Ok("processing"), Ok("needs_2fa"), Ok("done")]);
    let out = wait_until("fakepay", &opts(), fetch, judge).await.unwrap();
    assert_eq!(out, "needs_2fa");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_is_a_timeout_carrying_the_last_state() {
    let (_calls, fetch) = scripted(vec![Ok("queued"), Ok("processing")]);
    let started = tokio::time::Instant::now();
    let e = wait_until("fakepay", &opts(), fetch, judge).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(e.last_state::<&str>(), Some(&"processing"));
    assert!(e.message().contains("never create it again"), "{}", e.message());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(12),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_without_any_state_says_so() {
    let (_calls, fetch) = scripted(vec![Err(ErrorKind::Timeout)]);
    let o = opts().on_lookup_error(OnLookupError::Retry(100));
    let e = wait_until("fakepay", &o, fetch, judge).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.last_state::<&str>().is_none());
    assert!(e.message().contains("no state was read"), "{}", e.message());
}

#[tokio::test(start_paused = true)]
async fn retryable_lookup_errors_are_tolerated_up_to_the_limit() {
    let (calls, fetch) = scripted(vec![
        Err(ErrorKind::Timeout),
        Err(ErrorKind::RateLimited),
        Ok("done"),
    ]);
    let o = opts().on_lookup_error(OnLookupError::Retry(2));
    assert_eq!(wait_until("fakepay", &o, fetch, judge).await.unwrap(), "done");
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // Three in a row with a limit of two: the third is returned.
    let (calls, fetch) = scripted(vec![
        Err(ErrorKind::Timeout),
        Err(ErrorKind::Timeout),
        Err(ErrorKind::Transport),
        Ok("done"),
    ]);
    let e = wait_until("fakepay", &o, fetch, judge).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // A success resets the count.
    let (_calls, fetch) = scripted(vec![
        Err(ErrorKind::Timeout),
        Err(ErrorKind::Timeout),
        Ok("processing"),
        Err(ErrorKind::Timeout),
        Err(ErrorKind::Timeout),
        Ok("done"),
    ]);
    assert_eq!(wait_until("fakepay", &o, fetch, judge).await.unwrap(), "done");
}

#[tokio::test(start_paused = true)]
async fn a_non_retryable_lookup_error_or_fail_mode_returns_at_once() {
    let (calls, fetch) = scripted(vec![Err(ErrorKind::Auth), Ok("done")]);
    let e = wait_until("fakepay", &opts(), fetch, judge).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let (calls, fetch) = scripted(vec![Err(ErrorKind::Timeout), Ok("done")]);
    let o = opts().on_lookup_error(OnLookupError::Fail);
    let e = wait_until("fakepay", &o, fetch, judge).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_state_that_turns_final_at_the_deadline_is_ok() {
    // Interval longer than the timeout: one look, one pause to the deadline, one last look.
    let o = PollOptions::default()
        .interval(Duration::from_secs(30))
        .timeout(Duration::from_secs(5));
    let (calls, fetch) = scripted(vec![Ok("processing"), Ok("done")]);
    assert_eq!(wait_until("fakepay", &o, fetch, judge).await.unwrap(), "done");
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // Still pending at that last look: a timeout carrying it.
    let (_calls, fetch) = scripted(vec![Ok("queued"), Ok("processing")]);
    let e = wait_until("fakepay", &o, fetch, judge).await.unwrap_err();
    assert_eq!(e.last_state::<&str>(), Some(&"processing"));
}

#[tokio::test(start_paused = true)]
async fn pauses_grow_by_the_backoff_and_are_capped() {
    let o = PollOptions::default()
        .interval(Duration::from_secs(1))
        .backoff(2.0)
        .max_interval(Duration::from_secs(4))
        .timeout(Duration::from_secs(60));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let start = tokio::time::Instant::now();
    let fetch = move || {
        let mut v = s.lock().unwrap();
        v.push(start.elapsed().as_secs());
        let n = v.len();
        std::future::ready(Ok::<_, Error>(if n >= 6 { "done" } else { "processing" }))
    };
    wait_until("fakepay", &o, fetch, judge).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![0, 1, 3, 7, 11, 15]);
}

#[tokio::test(start_paused = true)]
async fn huge_settings_do_not_panic() {
    let o = PollOptions::default()
        .interval(Duration::from_secs(1))
        .backoff(1e300)
        .max_interval(Duration::MAX)
        .timeout(Duration::MAX);
    let (_calls, fetch) = scripted(vec![Ok("processing"), Ok("processing"), Ok("done")]);
    assert_eq!(wait_until("fakepay", &o, fetch, judge).await.unwrap(), "done");
}
