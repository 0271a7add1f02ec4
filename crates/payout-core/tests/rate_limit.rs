//! Client-side rate limits through the [`RateLimit`] trait and the per-client retry budget,
//! at the wire (httpmock on loopback): what is sent, what waits, what fails and with what.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use httpmock::prelude::*;
use payout_core::limit::AcquireFuture;
use payout_core::{
    AuthScheme, ClientOptions, Denied, ErrorKind, RateKey, RateLimit, RateLimitSpec, RateLimiter, Request,
    RetryBudget, RetryPolicy, SecretString, Transport, TransportConfig,
};

fn transport(base: &str, options: ClientOptions) -> Transport {
    Transport::new(TransportConfig {
        provider: "testpay",
        version: "0.1.0",
        base_url: base.to_string(),
        credential: Some(SecretString::from("sk_test_rl")),
        auth: AuthScheme::Bearer,
        request_id_headers: &[],
        error_decoder: Arc::new(
            |_s: u16, _h: &payout_core::reqwest::header::HeaderMap, _b: &[u8]| {
                payout_core::ErrorInfo::default()
            },
        ),
        options,
    })
    .unwrap()
}

fn fast_retries(n: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(n)
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(2))
        .jitter_seed(3)
}

#[tokio::test]
async fn a_call_past_the_limit_waits_for_its_slot_then_is_sent() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/x");
            then.status(200).body("{}");
        })
        .await;
    // 3 per 600 ms: one every 300 ms.
    let limiter = RateLimiter::from_spec(RateLimitSpec::new(3, Duration::from_millis(600)));
    let t = transport(&server.base_url(), ClientOptions::default().rate_limiter(limiter));
    let start = Instant::now();
    t.send(Request::get("x.get", "/x")).await.unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(250),
        "the first call does not wait"
    );
    t.send(Request::get("x.get", "/x")).await.unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(290),
        "the second call waited for its slot: {waited:?}"
    );
    m.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_slot_after_the_deadline_fails_rate_limited_with_the_wait_and_nothing_sent() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.path("/x");
            then.status(200).body("{}");
        })
        .await;
    // 2 a minute, never more in any minute: the next slot is 60 s after the first.
    let t = transport(
        &server.base_url(),
        ClientOptions::default()
            .timeout(Duration::from_secs(1))
            .rate_limiter(RateLimiter::from_spec(RateLimitSpec::per_minute(2))),
    );
    t.send(Request::get("x.get", "/x")).await.unwrap();
    let start = Instant::now();
    let e = t.send(Request::get("x.get", "/x")).await.unwrap_err();
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "refused at once, not after waiting"
    );
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    let needed = e.retry_after().expect("the wait it needed");
    assert!(
        needed > Duration::from_secs(58) && needed <= Duration::from_secs(60),
        "{needed:?}"
    );
    assert!(!e.was_sent());
    assert!(e.is_retryable());
    m.assert_calls_async(1).await;
}

/// A limiter of the caller's own, recording what it was asked.
#[derive(Debug, Default)]
struct Recording {
    asked: Mutex<Vec<(String, String, Duration)>>,
    refuse: Option<Duration>,
    broken: bool,
}

impl RateLimit for Recording {
    fn acquire<'a>(&'a self, key: &'a RateKey<'a>, max_wait: Duration) -> AcquireFuture<'a> {
        self.asked
            .lock()
            .unwrap()
            .push((key.provider.to_string(), key.operation.to_string(), max_wait));
        let (refuse, broken) = (self.refuse, self.broken);
        Box::pin(async move {
            if broken {
                return Err(Denied::Unavailable("backend down".into()));
            }
            match refuse {
                Some(w) => Err(Denied::Wait(w)),
                None => Ok(()),
            }
        })
    }
}

#[tokio::test]
async fn any_rate_limit_plugs_in_and_is_asked_before_every_attempt() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.path("/flaky");
            then.status(503);
        })
        .await;
    let limit = Arc::new(Recording::default());
    let t = transport(
        &server.base_url(),
        ClientOptions::default()
            .retry_policy(fast_retries(2))
            .timeout(Duration::from_secs(10))
            .rate_limiter(limit.clone()),
    );
    assert!(t.options().get_rate_limiter().is_none(), "not the in-process one");
    assert!(t.options().get_rate_limit().is_some());
    let _ = t.send(Request::get("flaky.get", "/flaky")).await.unwrap_err();
    m.assert_calls_async(3).await;
    let asked = limit.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 3, "once per attempt: {asked:?}");
    for (provider, op, max_wait) in &asked {
        assert_eq!((provider.as_str(), op.as_str()), ("testpay", "flaky.get"));
        assert!(*max_wait <= Duration::from_secs(10) && *max_wait > Duration::from_secs(9));
    }
}

#[tokio::test]
async fn a_refusing_or_broken_limiter_means_nothing_is_sent() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.path("/x");
            then.status(200).body("{}");
        })
        .await;
    let refusing = Recording {
        refuse: Some(Duration::from_secs(42)),
        ..Recording::default()
    };
    let t = transport(
        &server.base_url(),
        ClientOptions::default().rate_limiter(refusing),
    );
    let e = t.send(Request::post("x.create", "/x")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(42)));
    assert!(!e.was_sent());

    let broken = Recording {
        broken: true,
        ..Recording::default()
    };
    let t = transport(&server.base_url(), ClientOptions::default().rate_limiter(broken));
    let e = t.send(Request::post("x.create", "/x")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(e.is_retryable() && !e.was_sent());
    assert!(e.to_string().contains("rate limiter"), "{e}");
    m.assert_calls_async(0).await;
}

#[test]
fn the_old_setter_and_getter_still_work() {
    let o = ClientOptions::default().rate_limiter(RateLimiter::per_minute(60));
    assert_eq!(
        o.get_rate_limiter().map(|l| l.spec()),
        Some(RateLimitSpec::token_bucket(60, Duration::from_secs(60)))
    );
    assert!(o.get_rate_limit().is_some());
    assert!(ClientOptions::default().get_rate_limit().is_none());
}

// ---- the retry budget ----

#[test]
fn the_retry_budget_is_on_by_default_with_the_documented_size() {
    let o = ClientOptions::default();
    let b = o.get_retry_budget().expect("on by default");
    assert_eq!(b.capacity(), 500);
    assert_eq!(b.available(), 500);
    assert_eq!((b.cost_of(false), b.cost_of(true)), (5, 10));
    assert!(o.no_retry_budget().get_retry_budget().is_none());
}

async fn outage(options: ClientOptions, calls: usize) -> (usize, Vec<payout_core::Error>) {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.path("/down");
            then.status(503);
        })
        .await;
    let t = transport(&server.base_url(), options);
    let mut errors = Vec::new();
    for _ in 0..calls {
        errors.push(t.send(Request::get("down.get", "/down")).await.unwrap_err());
    }
    (m.calls_async().await, errors)
}

#[tokio::test]
async fn an_outage_does_not_multiply_calls_beyond_the_budget() {
    // 20 tokens, 5 a retry: 4 retries in all, then every call is sent once.
    let budget = RetryBudget::new(20).retry_cost(5);
    let (sent, errors) = outage(
        ClientOptions::default()
            .retry_policy(fast_retries(3))
            .retry_budget(budget.clone()),
        10,
    )
    .await;
    assert_eq!(sent, 10 + 4, "10 calls, 4 retries paid for");
    assert_eq!(budget.available(), 0);
    for e in &errors {
        // Never a silent drop: the transient error the call ended with, retryable.
        assert_eq!((e.kind(), e.status()), (ErrorKind::Provider, Some(503)));
        assert!(e.is_retryable() && e.was_sent());
    }
    let last = errors.last().unwrap();
    assert_eq!(last.attempts(), 1);
    assert!(last.to_string().contains("retry budget"), "{last}");
}

#[tokio::test]
async fn without_a_budget_the_same_outage_multiplies_calls() {
    let (sent, _) = outage(
        ClientOptions::default()
            .retry_policy(fast_retries(3))
            .no_retry_budget(),
        10,
    )
    .await;
    assert_eq!(sent, 40);
}

#[tokio::test]
async fn successes_refill_the_budget_and_timeouts_cost_more() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/ok");
            then.status(200).body("{}");
        })
        .await;
    let slow = server
        .mock_async(|when, then| {
            when.path("/slow");
            then.status(200).delay(Duration::from_secs(3)).body("{}");
        })
        .await;
    let budget = RetryBudget::new(25)
        .retry_cost(5)
        .timeout_cost(10)
        .success_refund(1);
    let t = transport(
        &server.base_url(),
        ClientOptions::default()
            .retry_policy(fast_retries(5))
            // Far from both the instant `/ok` and the 3 s `/slow`: a loaded machine cannot
            // turn an `/ok` call into a timeout, or a `/slow` one into an answer.
            .attempt_timeout(Duration::from_millis(500))
            .retry_budget(budget.clone()),
    );
    let e = t.send(Request::get("slow.get", "/slow")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(e.attempts(), 3, "two timeout retries at 10 each, then 5 left");
    slow.assert_calls_async(3).await;
    assert_eq!(budget.available(), 5);
    for _ in 0..3 {
        t.send(Request::get("ok.get", "/ok")).await.unwrap();
    }
    assert_eq!(budget.available(), 8, "a first-time success gives back 1");
}
