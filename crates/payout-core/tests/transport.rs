//! The transport's failure scenarios against a real HTTP server (httpmock) and a
//! connection-dropping TCP server: what is retried, what is not, and what the error says.

use std::sync::Arc;
use std::time::{Duration, Instant};

use httpmock::prelude::*;
use payout_core::reqwest::header::HeaderName;
use payout_core::test_util::{DropMode, DropServer, LogCapture, assert_no_secret, refused_base_url};
use payout_core::{
    AuthScheme, CircuitBreaker, ClientOptions, ErrorInfo, ErrorKind, IdempotencyKey, Request, RetryPolicy,
    Safety, SecretString, Transport, TransportConfig,
};
use serde_json::json;

const KEY: &str = "sk_test_DO_NOT_LEAK_4f9a8b7c";

fn decoder() -> Arc<dyn payout_core::ErrorDecoder> {
    Arc::new(
        |_status: u16, _h: &payout_core::reqwest::header::HeaderMap, body: &[u8]| {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            ErrorInfo {
                code: v["code"].as_str().map(str::to_string),
                message: v["message"].as_str().map(str::to_string),
                request_id: None,
                kind: None,
            }
        },
    )
}

fn options() -> ClientOptions {
    ClientOptions::default()
        .retry_policy(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(20))
                .max_delay(Duration::from_millis(50))
                .jitter_seed(1),
        )
        .attempt_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
}

fn transport_with(base: &str, auth: AuthScheme, options: ClientOptions) -> Transport {
    Transport::new(TransportConfig {
        provider: "testpay",
        version: "0.1.0",
        base_url: base.to_string(),
        credential: Some(SecretString::from(KEY)),
        auth,
        request_id_headers: &["x-test-request-id"],
        error_decoder: decoder(),
        options,
    })
    .unwrap()
}

fn transport(base: &str) -> Transport {
    transport_with(
        base,
        AuthScheme::Header(HeaderName::from_static("x-api-key")),
        options(),
    )
}

/// Waits until `mock` has been called `n` times (the client runs concurrently).
async fn wait_calls(mock: &httpmock::Mock<'_>, n: usize) {
    let start = Instant::now();
    while mock.calls_async().await < n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "mock never reached {n} calls"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn rate_limited_429_with_retry_after_then_200() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(429)
                .header("Retry-After", "1")
                .json_body(json!({"code": "RATE_LIMIT"}));
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(200).json_body(json!({"balance": "10.00"}));
        })
        .await;
    let t = transport(&server.base_url());
    let started = Instant::now();
    let call = tokio::spawn(async move { t.send(Request::get("balance.get", "/balance")).await });
    wait_calls(&limited, 1).await;
    limited.delete_async().await;
    let resp = call.await.unwrap().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.attempts(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After was not honoured"
    );
    ok.assert_calls_async(1).await;
}

#[tokio::test]
async fn server_error_then_success_reuses_the_same_idempotency_key() {
    let server = MockServer::start_async().await;
    let key = IdempotencyKey::generate();
    let k = key.as_str().to_string();
    let failing = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/orders")
                .header("idempotency-key", &k)
                .json_body(json!({"amount": 5}));
            // Retry-After keeps the test's timing deterministic.
            then.status(500).header("Retry-After", "1").body("oops");
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/orders")
                .header("idempotency-key", &k)
                .json_body(json!({"amount": 5}));
            then.status(201).json_body(json!({"id": "o_1"}));
        })
        .await;
    let t = transport(&server.base_url());
    let req = Request::post("orders.create", "/orders")
        .json(&json!({"amount": 5}))
        .unwrap()
        .idempotency_header("idempotency-key", key.clone());
    assert_eq!(req.get_safety(), Safety::KeyProtected);
    let call = tokio::spawn(async move { t.send(req).await });
    wait_calls(&failing, 1).await;
    failing.delete_async().await;
    let resp = call.await.unwrap().unwrap();
    let resp_attempts = resp.attempts();
    assert_eq!(resp.idempotency_key(), Some(&key));
    let v: serde_json::Value = resp.json().unwrap();
    assert_eq!(v["id"], "o_1");
    // Both attempts matched a mock that requires the same key: one hit each.
    ok.assert_calls_async(1).await;
    assert_eq!(resp_attempts, 2);
}

#[tokio::test]
async fn unprotected_post_that_times_out_is_not_resent_and_is_ambiguous() {
    let server = MockServer::start_async().await;
    let slow = server
        .mock_async(|when, then| {
            when.method(POST).path("/payouts");
            then.status(200)
                .delay(Duration::from_millis(1500))
                .json_body(json!({"ok": true}));
        })
        .await;
    let t = transport_with(
        &server.base_url(),
        AuthScheme::Bearer,
        options().attempt_timeout(Duration::from_millis(200)),
    );
    let key = IdempotencyKey::new("my-ref-77").unwrap();
    let err = t
        .send(
            Request::post("payouts.create", "/payouts")
                .json(&json!({"amount": 1}))
                .unwrap()
                .idempotency_key(key.clone()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(err.may_have_succeeded());
    assert!(!err.is_retryable());
    assert_eq!(err.idempotency_key(), Some(&key));
    assert_eq!(err.attempts(), 1);
    assert!(err.to_string().contains("look it up by `my-ref-77`"), "{err}");
    // Give a wrongful retry time to arrive before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.assert_calls_async(1).await;
}

#[tokio::test]
async fn unprotected_post_answered_500_is_ambiguous_and_not_resent() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/payouts");
            then.status(500)
                .json_body(json!({"code": "INTERNAL", "message": "try later"}));
        })
        .await;
    let err = transport(&server.base_url())
        .send(
            Request::post("payouts.create", "/payouts")
                .json(&json!({}))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.provider_code(), Some("INTERNAL"));
    assert!(err.was_sent());
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn dropped_connection_after_sending() {
    // An idempotent GET is retried; the final error is a retryable transport error.
    let srv = DropServer::start(DropMode::CloseAfterRequest);
    let err = transport(&srv.base_url())
        .send(Request::get("thing.get", "/thing"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(err.is_retryable());
    assert_eq!(srv.requests(), 3, "1 attempt + 2 retries");

    // An unprotected POST is sent exactly once and reported as ambiguous.
    let srv = DropServer::start(DropMode::CloseAfterRequest);
    let err = transport(&srv.base_url())
        .send(
            Request::post("payouts.create", "/payouts")
                .json(&json!({"a": 1}))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(err.was_sent());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(srv.requests(), 1);

    // A truncated response is the same story.
    let srv = DropServer::start(DropMode::TruncatedResponse);
    let err = transport(&srv.base_url())
        .send(
            Request::post("payouts.create", "/payouts")
                .json(&json!({"a": 1}))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert_eq!(srv.requests(), 1);
}

#[tokio::test]
async fn connection_refused_is_retried_even_for_unprotected_calls() {
    let base = refused_base_url();
    let err = transport(&base)
        .send(
            Request::post("payouts.create", "/payouts")
                .json(&json!({}))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(err.is_retryable(), "nothing was sent, so the caller may retry");
    assert!(!err.may_have_succeeded());
    assert!(!err.was_sent(), "every attempt failed to connect");
    assert_eq!(err.attempts(), 3);
}

#[tokio::test]
async fn html_502_page_keeps_status_and_a_snippet() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(502)
                .header("content-type", "text/html")
                .body("<html><body><h1>502 Bad Gateway</h1>cloudflare</body></html>");
        })
        .await;
    let err = transport(&server.base_url())
        .send(Request::get("balance.get", "/balance"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(err.status(), Some(502));
    assert!(err.is_retryable());
    assert_eq!(err.message(), "HTTP 502 Bad Gateway");
    assert!(err.body_snippet().unwrap().contains("cloudflare"));
    assert_eq!(err.attempts(), 3);
    m.assert_calls_async(3).await;
}

#[tokio::test]
async fn undecodable_200_is_a_decode_error_that_may_have_succeeded() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/payouts");
            then.status(200)
                .header("x-test-request-id", "req-9")
                .body("{\"id\": \"p_1\", \"amount\": ");
        })
        .await;
    let resp = transport(&server.base_url())
        .send(
            Request::post("payouts.create", "/payouts")
                .json(&json!({}))
                .unwrap(),
        )
        .await
        .unwrap();
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Payout {
        id: String,
        amount: u64,
    }
    let err = resp.json::<Payout>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.status(), Some(200));
    assert_eq!(err.request_id(), Some("req-9"));
    assert!(err.may_have_succeeded());
    assert!(!err.is_retryable());
    m.assert_calls_async(1).await;

    // A wrong type names the field's JSON path.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/p");
            then.status(200).body(r#"{"id":"p_1","amount":"ten"}"#);
        })
        .await;
    let err = transport(&server.base_url())
        .send(Request::get("p.get", "/p"))
        .await
        .unwrap()
        .json::<Payout>()
        .unwrap_err();
    assert!(err.message().contains("at `amount`"), "{}", err.message());
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_fails_fast() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(429).header("Retry-After", "30");
        })
        .await;
    let t = transport_with(
        &server.base_url(),
        AuthScheme::Bearer,
        options().timeout(Duration::from_secs(5)),
    );
    let started = Instant::now();
    let err = t.send(Request::get("balance.get", "/balance")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "should not sleep");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert!(err.is_retryable());
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn auth_schemes_put_the_key_where_the_provider_wants_it() {
    let server = MockServer::start_async().await;
    let header = server
        .mock_async(|when, then| {
            when.path("/h")
                .header("x-api-key", KEY)
                .header_exists("user-agent");
            then.status(200).body("{}");
        })
        .await;
    let bearer = server
        .mock_async(|when, then| {
            when.path("/b").header("authorization", format!("Bearer {KEY}"));
            then.status(200).body("{}");
        })
        .await;
    let raw = server
        .mock_async(|when, then| {
            when.path("/r").header("authorization", KEY);
            then.status(200).body("{}");
        })
        .await;
    let body = server
        .mock_async(|when, then| {
            when.path("/j")
                .header_missing("authorization")
                .header("content-type", "application/json")
                .json_body(json!({"api_key": KEY, "amount": 5000}));
            then.status(200).body("{}");
        })
        .await;
    let t = transport(&server.base_url());
    t.send(Request::get("h", "/h")).await.unwrap();
    let b = transport_with(&server.base_url(), AuthScheme::Bearer, options());
    b.send(Request::get("b", "/b")).await.unwrap();
    let r = transport_with(&server.base_url(), AuthScheme::RawAuthorization, options());
    r.send(Request::get("r", "/r")).await.unwrap();
    b.send(
        Request::post("j", "/j")
            .json(&json!({"amount": 5000}))
            .unwrap()
            .auth(AuthScheme::JsonBodyField("api_key")),
    )
    .await
    .unwrap();
    header.assert_calls_async(1).await;
    bearer.assert_calls_async(1).await;
    raw.assert_calls_async(1).await;
    body.assert_calls_async(1).await;
}

#[tokio::test]
async fn statuses_map_to_kinds_with_the_provider_code() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/401");
            then.status(401)
                .json_body(json!({"code": "UNAUTHORIZED", "message": "bad key"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/404");
            then.status(404)
                .json_body(json!({"code": "NOT_FOUND", "message": "no such order"}));
        })
        .await;
    let t = transport(&server.base_url());
    let e = t.send(Request::get("x", "/401")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(e.to_string(), "testpay: UNAUTHORIZED: bad key (HTTP 401)");
    let e = t.send(Request::get("x", "/404")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.provider_code(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn circuit_breaker_stops_calling_after_repeated_failures() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.path("/down");
            then.status(503);
        })
        .await;
    let t = transport_with(
        &server.base_url(),
        AuthScheme::Bearer,
        options()
            .retry_policy(RetryPolicy::none())
            .circuit_breaker(CircuitBreaker::new(2, Duration::from_secs(60))),
    );
    for _ in 0..2 {
        assert_eq!(
            t.send(Request::get("x", "/down")).await.unwrap_err().kind(),
            ErrorKind::Provider
        );
    }
    let e = t.send(Request::get("x", "/down")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CircuitOpen);
    assert_eq!(e.attempts(), 0);
    assert!(!e.was_sent());
    m.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_half_open_probe_that_never_gets_sent_does_not_wedge_the_breaker() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/flaky");
            then.status(503);
        })
        .await;
    let t = transport_with(
        &server.base_url(),
        AuthScheme::Bearer,
        options()
            .retry_policy(RetryPolicy::none())
            .timeout(Duration::from_millis(500))
            .rate_limiter(payout_core::RateLimiter::per_minute(1))
            .circuit_breaker(CircuitBreaker::new(1, Duration::from_millis(50))),
    );
    let e = t.send(Request::get("x", "/flaky")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider, "503 opens the breaker");
    tokio::time::sleep(Duration::from_millis(80)).await;
    // Half-open: the probe is let through but the limiter has no slot, so nothing is sent.
    for _ in 0..2 {
        let e = t.send(Request::get("x", "/flaky")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited, "the probe slot was handed back");
    }
}

#[tokio::test]
async fn client_side_rate_limit_refuses_when_no_slot_before_deadline() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.path("/x");
            then.status(200).body("{}");
        })
        .await;
    let t = transport_with(
        &server.base_url(),
        AuthScheme::Bearer,
        options()
            .timeout(Duration::from_secs(1))
            .rate_limiter(payout_core::RateLimiter::per_minute(1)),
    );
    t.send(Request::get("x", "/x")).await.unwrap();
    let e = t.send(Request::get("x", "/x")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert!(!e.was_sent(), "the client-side limiter refused it");
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn the_key_never_reaches_logs_debug_or_errors() {
    let capture = LogCapture::start();
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/ok");
            then.status(200).header("x-test-request-id", "rq-1").body("{}");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/echo");
            // A provider that echoes the key back in its error must not make us leak it.
            then.status(400).body(format!("invalid key {KEY}"));
        })
        .await;
    let opts = options().proxy(format!("http://user:{KEY}@127.0.0.1:9"));
    let mut debug = format!("{opts:?}");
    let t = transport_with(&server.base_url(), AuthScheme::Bearer, options());
    t.send(Request::get("ok", "/ok")).await.unwrap();
    let err = t.send(Request::get("echo", "/echo")).await.unwrap_err();
    let post = Request::post("p", "/p")
        .json(&json!({"api_key": KEY}))
        .unwrap()
        .auth(AuthScheme::JsonBodyField("api_key"));
    debug.push_str(&format!(
        "{t:?} {post:?} {err:?} {err} {:?}",
        ClientOptions::default()
    ));
    let _ = t.send(post).await;
    let logs = capture.contents();
    assert!(logs.contains("attempt finished"), "capture saw nothing: {logs}");
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "not capturing at low levels"
    );
    assert_no_secret(&logs, &[("api key", KEY)], "TRACE logs");
    assert_no_secret(&debug, &[("api key", KEY)], "Debug or Display output");
    assert_no_secret(
        err.body_snippet().unwrap_or(""),
        &[("api key", KEY)],
        "the error snippet",
    );
}

#[tokio::test]
async fn key_protected_call_that_keeps_failing_may_have_succeeded_but_stays_retryable() {
    let server = MockServer::start_async().await;
    let key = IdempotencyKey::new("order-77").unwrap();
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/orders")
                .header("idempotency-key", "order-77");
            then.status(503)
                .json_body(json!({"code": "DOWN", "message": "try later"}));
        })
        .await;
    let e = transport(&server.base_url())
        .send(
            Request::post("orders.create", "/orders")
                .json(&json!({"a": 1}))
                .unwrap()
                .idempotency_header("idempotency-key", key),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert!(
        e.may_have_succeeded(),
        "a 503 after sending may hide a processed order"
    );
    assert!(e.is_retryable(), "repeating with the same key is safe");
    assert!(
        e.to_string()
            .contains("repeat it only with the same key `order-77`"),
        "{e}"
    );
    m.assert_calls_async(3).await;
}

#[tokio::test]
async fn request_secrets_echoed_by_the_provider_are_masked_in_every_form() {
    let secret = "hunter2/pa\"ss";
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/login");
            // Echoed decoded in the message and JSON-escaped (with PHP's `\/`) in the body.
            then.status(400)
                .body(r#"{"message":"wrong password hunter2/pa\"ss","echo":"hunter2\/pa\"ss"}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/login-ok");
            then.status(200)
                .body(r#"{"token": 5, "echo": "hunter2\/pa\"ss"}"#);
        })
        .await;
    let t = transport(&server.base_url());
    let pw = SecretString::from(secret);
    let e = t
        .send(
            Request::post("login", "/login")
                .json(&json!({"password": secret}))
                .unwrap()
                .redact(&pw),
        )
        .await
        .unwrap_err();
    let seen = format!("{e} {e:?}");
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Token {
        token: String,
    }
    let d = t
        .send(
            Request::post("login", "/login-ok")
                .json(&json!({"password": secret}))
                .unwrap()
                .redact(&pw),
        )
        .await
        .unwrap()
        .json::<Token>()
        .unwrap_err();
    let seen = format!("{seen} {d} {d:?}");
    assert!(seen.contains("[REDACTED]"), "{seen}");
    assert_no_secret(
        &seen,
        &[
            ("password", "hunter2/pa\"ss"),
            ("password, JSON-escaped", r#"hunter2/pa\"ss"#),
            ("password, slash-escaped", r#"hunter2\/pa\"ss"#),
        ],
        "errors",
    );
}
