//! The Redis rate limit (feature `redis`) against a real `redis-server`, and two processes
//! sharing one limit in front of a sandbox that answers 429 beyond 30 requests in any 2 s.
//!
//! These tests need `PAYOUT_TEST_REDIS_URL` (`cargo xtask test` starts a server and sets it)
//! and fail, never skip, without it.
#![cfg(feature = "redis")]

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use payout_core::redis::RedisRateLimiter;
use payout_core::sandbox::SandboxServer;
use payout_core::sandbox::axum::{self, Router, extract::State, http::StatusCode, routing::get};
use payout_core::test_util::refused_base_url;
use payout_core::{
    AuthScheme, ClientOptions, Denied, ErrorKind, RateKey, RateLimit, RateLimitSpec, RateLimiter, Request,
    RetryPolicy, SecretString, Transport, TransportConfig,
};

const REDIS_ENV: &str = "PAYOUT_TEST_REDIS_URL";

fn redis_url() -> String {
    match std::env::var(REDIS_ENV) {
        Ok(u) if !u.trim().is_empty() => u,
        _ => panic!(
            "{REDIS_ENV} is not set. These tests need a Redis server and are never skipped. Run `cargo xtask test` \
             (it starts one), or start one yourself:\n\n    \
             redis-server --port 6390 --save '' --appendonly no --daemonize yes\n    \
             {REDIS_ENV}=redis://127.0.0.1:6390/ cargo test -p payout-core --all-features\n"
        ),
    }
}

/// A bucket name of its own per test run, so runs and tests never share a bucket.
fn fresh_key(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

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

const KEY: RateKey<'static> = RateKey::new("testpay", "x.get");

#[tokio::test]
async fn the_redis_limiter_spaces_calls_in_server_time() {
    // 5 per second, no burst: one every 250 ms.
    let l = RedisRateLimiter::new(
        &redis_url(),
        fresh_key("spacing"),
        RateLimitSpec::new(5, Duration::from_secs(1)),
    )
    .unwrap();
    l.acquire(&KEY, Duration::ZERO).await.unwrap();
    match l.acquire(&KEY, Duration::ZERO).await {
        Err(Denied::Wait(w)) => assert!(
            w > Duration::from_millis(150) && w <= Duration::from_millis(250),
            "{w:?}"
        ),
        other => panic!("expected a refusal with the wait, got {other:?}"),
    }
    let start = Instant::now();
    l.acquire(&KEY, Duration::from_secs(1)).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "it waited for the reserved slot"
    );
    // The bucket is namespaced and expires once idle.
    let ttl: i64 = l
        .raw_command(&["PTTL", &l.redis_key("testpay")])
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert!(ttl > 0 && ttl <= 2_000, "{ttl}");
    assert!(l.redis_key("testpay").starts_with("payout:rl:testpay:spacing-"));
}

#[tokio::test]
async fn instances_on_one_key_share_a_bucket_and_each_key_has_its_own_limit() {
    let url = redis_url();
    let shared = fresh_key("shared");
    let a = RedisRateLimiter::new(&url, shared.clone(), RateLimitSpec::per_minute(2)).unwrap();
    let b = RedisRateLimiter::new(&url, shared, RateLimitSpec::per_minute(2)).unwrap();
    a.acquire(&KEY, Duration::ZERO).await.unwrap();
    match b.acquire(&KEY, Duration::from_millis(10)).await {
        Err(Denied::Wait(w)) => assert!(w > Duration::from_secs(58), "{w:?}"),
        other => panic!("the second instance must see the first one's call: {other:?}"),
    }
    // Another key, another limit: unaffected.
    let c = RedisRateLimiter::new(&url, fresh_key("other"), RateLimitSpec::per_second(100)).unwrap();
    for _ in 0..3 {
        c.acquire(&KEY, Duration::from_millis(50)).await.unwrap();
    }
    // A sibling bucket on the same connections, with its own limit.
    let sibling = a
        .bucket(fresh_key("sibling"), RateLimitSpec::per_second(100))
        .unwrap();
    for _ in 0..3 {
        sibling.acquire(&KEY, Duration::from_millis(50)).await.unwrap();
    }
    // Another provider, same key name: its own bucket.
    let other_provider = RateKey::new("otherpay", "x.get");
    a.acquire(&other_provider, Duration::ZERO).await.unwrap();
}

#[tokio::test]
async fn the_script_is_sent_again_when_redis_forgot_it() {
    let l = RedisRateLimiter::new(&redis_url(), fresh_key("flush"), RateLimitSpec::per_minute(2)).unwrap();
    l.acquire(&KEY, Duration::ZERO).await.unwrap();
    assert_eq!(l.raw_command(&["SCRIPT", "FLUSH"]).await.unwrap(), "OK");
    // EVALSHA now answers NOSCRIPT: the limiter falls back to EVAL and still sees the bucket.
    match l.acquire(&KEY, Duration::ZERO).await {
        Err(Denied::Wait(w)) => assert!(w > Duration::from_secs(58), "{w:?}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_call_past_the_shared_limit_fails_rate_limited_with_the_wait_and_is_not_sent() {
    let sandbox = SandboxServer::start(Router::new().route("/x", get(|| async { "{}" })))
        .await
        .unwrap();
    let key = fresh_key("transport");
    let instance = |key: &str| {
        let l = RedisRateLimiter::new(&redis_url(), key, RateLimitSpec::per_minute(2)).unwrap();
        transport(
            &sandbox.base_url(),
            ClientOptions::default()
                .timeout(Duration::from_secs(1))
                .rate_limiter(l),
        )
    };
    let (one, two) = (instance(&key), instance(&key));
    one.send(Request::get("x.get", "/x")).await.unwrap();
    let e = two.send(Request::get("x.get", "/x")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    let needed = e.retry_after().expect("the wait it needed");
    assert!(needed > Duration::from_secs(58), "{needed:?}");
    assert!(!e.was_sent() && e.is_retryable());
    assert_eq!(
        sandbox.count("GET", "/x"),
        1,
        "the refused call never reached the provider"
    );
}

#[tokio::test]
async fn an_unreachable_redis_refuses_the_call_unsent_without_leaking_the_password() {
    let sandbox = SandboxServer::start(Router::new().route("/x", get(|| async { "{}" })))
        .await
        .unwrap();
    let closed = refused_base_url().replace("http://", "");
    let url = format!("redis://:hunter2-redis-secret@{closed}/0");
    let l = RedisRateLimiter::new(&url, "k", RateLimitSpec::per_minute(30)).unwrap();
    assert!(!format!("{l:?}").contains("hunter2"));
    let t = transport(&sandbox.base_url(), ClientOptions::default().rate_limiter(l));
    let e = t.send(Request::post("x.create", "/x")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(e.is_retryable() && !e.was_sent());
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(sandbox.requests().len(), 0);
    // A URL it cannot use is a Config error that does not repeat the URL.
    let e = RedisRateLimiter::new("rediss://:hunter2@host/", "k", RateLimitSpec::per_minute(1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(!e.to_string().contains("hunter2"));
}

// ---- two processes, one limit ----

/// The sandbox's limit: 30 requests in any 2 s (RohoPay's 30 a minute, window shortened).
const LIMIT: usize = 30;
const WINDOW: Duration = Duration::from_secs(2);
/// Calls per process.
const CALLS: usize = 40;

#[derive(Default)]
struct Enforcer {
    /// Arrival time and process of every accepted request.
    accepted: Mutex<Vec<(Instant, String)>>,
    rejected: AtomicUsize,
}

async fn enforce(
    State(s): State<Arc<Enforcer>>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> (StatusCode, &'static str) {
    let now = Instant::now();
    let mut acc = s.accepted.lock().unwrap();
    let in_window = acc
        .iter()
        .filter(|(t, _)| now.duration_since(*t) < WINDOW)
        .count();
    if in_window >= LIMIT {
        s.rejected.fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"error":"RATE_LIMIT_EXCEEDED"}"#,
        );
    }
    acc.push((now, q.unwrap_or_default()));
    (StatusCode::OK, "{}")
}

/// Starts the sandbox, runs two child processes against it (`mode`: `redis` or `local`) and
/// returns what the sandbox saw.
async fn two_processes(mode: &str) -> (Arc<Enforcer>, Duration) {
    let state = Arc::new(Enforcer::default());
    let router = Router::new()
        .route("/ping", get(enforce))
        .with_state(state.clone());
    let sandbox = SandboxServer::start(router).await.unwrap();
    let key = fresh_key("two-processes");
    let redis = if mode == "redis" {
        redis_url()
    } else {
        String::new()
    };
    let start = Instant::now();
    let children: Vec<_> = ["a", "b"]
        .iter()
        .map(|id| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "child_process_calls_through_the_limit",
                    "--exact",
                    "--include-ignored",
                    "--nocapture",
                ])
                .env("PAYOUT_RL_CHILD", *id)
                .env("PAYOUT_RL_CHILD_MODE", mode)
                .env("PAYOUT_RL_CHILD_SANDBOX", sandbox.base_url())
                .env("PAYOUT_RL_CHILD_KEY", &key)
                .env(REDIS_ENV, &redis)
                // Captured, not inherited: the child is a test binary too, and its own
                // "test result" lines in our output would be counted as tests of this run.
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn the test binary again")
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for o in outputs {
        assert!(
            o.status.success(),
            "a child process failed: {}\n--- stdout\n{}\n--- stderr\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    (state, start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_one_redis_limit_never_draw_a_429() {
    let (state, took) = two_processes("redis").await;
    assert_eq!(
        state.rejected.load(Ordering::SeqCst),
        0,
        "a 429 reached the sandbox"
    );
    let accepted = state.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), 2 * CALLS, "every call went through");
    // The combined rate: no window of 2 s ever held more than the limit.
    let mut times: Vec<Instant> = accepted.iter().map(|(t, _)| *t).collect();
    times.sort();
    let busiest = (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| t.duration_since(times[i]) < WINDOW)
                .count()
        })
        .max()
        .unwrap();
    assert!(busiest <= LIMIT, "{busiest} requests in one window");
    // Both processes were sending at the same time (their calls interleave).
    let first_of = |id: &str| accepted.iter().position(|(_, q)| q.contains(id)).unwrap();
    let last_of = |id: &str| accepted.iter().rposition(|(_, q)| q.contains(id)).unwrap();
    assert!(first_of("child=a") < last_of("child=b") && first_of("child=b") < last_of("child=a"));
    assert!(took < Duration::from_secs(20), "{took:?}");
}

/// The control: the same two processes, each with its own in-process limiter at the same
/// rate, together exceed it. This is what the shared limit is for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_each_limiting_alone_draw_429s() {
    let (state, _) = two_processes("local").await;
    assert!(
        state.rejected.load(Ordering::SeqCst) > 0,
        "expected the sandbox to refuse some"
    );
}

/// Not a test on its own: the child process of the two tests above. Run directly (no
/// `PAYOUT_RL_CHILD`), it has nothing to do and passes; it is not marked ignored, so a plain
/// test run never reports a skipped test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process_calls_through_the_limit() {
    let Ok(id) = std::env::var("PAYOUT_RL_CHILD") else {
        return;
    };
    let env = |k: &str| std::env::var(k).unwrap();
    let spec = RateLimitSpec::new(LIMIT as u32, WINDOW);
    let options = ClientOptions::default()
        .timeout(Duration::from_secs(30))
        .retry_policy(RetryPolicy::none());
    let options = if env("PAYOUT_RL_CHILD_MODE") == "redis" {
        let l = RedisRateLimiter::new(&env(REDIS_ENV), env("PAYOUT_RL_CHILD_KEY"), spec).unwrap();
        options.rate_limiter(l)
    } else {
        options.rate_limiter(RateLimiter::from_spec(spec))
    };
    let t = transport(&env("PAYOUT_RL_CHILD_SANDBOX"), options);
    // Four lanes of sequential calls: each lane reserves its next slot only after its last
    // call, so the two processes' calls interleave instead of one queueing all of its own.
    const LANES: usize = 4;
    let lanes = (0..LANES).map(|_| {
        let t = t.clone();
        let id = id.clone();
        async move {
            let mut results = Vec::new();
            for _ in 0..CALLS / LANES {
                results.push(
                    t.send(Request::get("ping.get", "/ping").query("child", &id))
                        .await,
                );
            }
            results
        }
    });
    let results: Vec<_> = futures_util::future::join_all(lanes)
        .await
        .into_iter()
        .flatten()
        .collect();
    if env("PAYOUT_RL_CHILD_MODE") == "redis" {
        for r in results {
            r.unwrap();
        }
    }
}
