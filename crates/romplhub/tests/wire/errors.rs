use std::time::{Duration, Instant};

use httpmock::prelude::*;
use romplhub::{CreateOrder, ErrorCode, ErrorKind};
use serde_json::json;

use crate::client;
use crate::orders::PASSWORD;

async fn get_error(status: u16, body: serde_json::Value) -> romplhub::Error {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-1");
            then.status(status).json_body(body);
        })
        .await;
    client(&server.base_url()).orders().get("VX-1").await.unwrap_err()
}

#[tokio::test]
async fn documented_statuses_map_to_kinds_and_codes() {
    let e = get_error(401, json!({"detail": "Invalid API key"})).await;
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::Unauthorized));
    assert!(e.message().starts_with("Invalid API key"), "{e}");
    assert!(e.message().contains("log in again"), "{e}");

    let e = get_error(403, json!({"detail": "Admin access required"})).await;
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::Forbidden));

    let e = get_error(404, json!({"detail": "Order not found"})).await;
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::NotFound));
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.to_string(), "romplhub: not_found: Order not found (HTTP 404)");
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn insufficient_tokens_on_create_is_a_provider_error_with_advice() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/orders");
            then.status(402)
                .json_body(json!({"detail": "Insufficient token balance"}));
        })
        .await;
    let e = client(&server.base_url())
        .orders()
        .create(&CreateOrder::new("u", PASSWORD, "robux_2200"))
        .await
        .unwrap_err();
    mock.assert_calls_async(1).await;
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientTokens));
    assert_eq!(e.status(), Some(402));
    assert!(e.message().contains("top_up"), "{e}");
    assert!(!e.may_have_succeeded());
}

#[tokio::test]
async fn validation_error_lists_fields_without_echoing_input() {
    let e = get_error(
        422,
        json!({"detail": [
            {"loc": ["body", "password"], "msg": "String should have at least 8 characters", "type": "string_too_short", "input": PASSWORD},
            {"loc": ["query", "limit"], "msg": "Input should be less than or equal to 100", "type": "less_than_equal"}
        ]}),
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::ValidationError));
    assert_eq!(
        e.message(),
        "body.password: String should have at least 8 characters [string_too_short]; query.limit: Input should be less than or equal to 100 [less_than_equal]"
    );
    assert!(!format!("{e} {e:?}").contains(PASSWORD));

    let e = get_error(422, json!({"detail": "quantity must be positive"})).await;
    assert_eq!(e.message(), "quantity must be positive");
}

#[tokio::test]
async fn rate_limited_429_is_retried_after_retry_after() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(429)
                .header("Retry-After", "1")
                .json_body(json!({"detail": "Rate limit exceeded"}));
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(200)
                .json_body(json!({"tokens": 5, "pending_topups": 0}));
        })
        .await;
    let c = client(&server.base_url());
    let started = Instant::now();
    let call = tokio::spawn(async move { c.balance().get().await });
    while limited.calls_async().await < 1 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    limited.delete_async().await;
    let b = call.await.unwrap().unwrap();
    assert_eq!(b.tokens, 5);
    assert!(started.elapsed() >= Duration::from_millis(900));
    ok.assert_calls_async(1).await;
}

#[tokio::test]
async fn rate_limited_429_that_persists_is_reported() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-1");
            then.status(429)
                .json_body(json!({"detail": "Rate limit exceeded"}));
        })
        .await;
    let e = client(&server.base_url()).orders().get("VX-1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::RateLimited));
    assert!(e.is_retryable());
    mock.assert_calls_async(3).await;
}

#[tokio::test]
async fn html_error_page_is_kept_as_a_snippet() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/products");
            then.status(502)
                .header("content-type", "text/html")
                .body("<html><body><h1>502 Bad Gateway</h1></body></html>");
        })
        .await;
    let e = client(&server.base_url()).products().list().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(e.status(), Some(502));
    assert_eq!(ErrorCode::of(&e), None);
    assert!(e.body_snippet().unwrap().contains("502 Bad Gateway"));
    assert!(e.is_retryable(), "a GET may be tried again");
    mock.assert_calls_async(3).await;
}

#[tokio::test]
async fn undecodable_success_of_an_order_is_ambiguous() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/orders");
            then.status(201).body("{\"order_uid\": 5");
        })
        .await;
    let e = client(&server.base_url())
        .orders()
        .create(&CreateOrder::new("u", PASSWORD, "robux_2200"))
        .await
        .unwrap_err();
    // A truncated 201: the order was most likely created (tokens spent), so the outcome is
    // unknown, reported as Ambiguous like a timeout, never as a plain failure.
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(e.status(), Some(201));
    assert!(e.may_have_succeeded());
    assert!(!e.is_retryable());
}

#[test]
fn error_code_is_an_open_enum() {
    assert_eq!(
        ErrorCode::from("insufficient_tokens"),
        ErrorCode::InsufficientTokens
    );
    assert!(ErrorCode::from("teapot").is_unknown());
}

/// The preset is RomplHub's 60 a minute as a window bound: the second call within a second has
/// to wait about 1 s, so with a 300 ms deadline it is refused unsent (a token bucket would have
/// let 60 through at once and the provider would answer the rest of its minute with 429s).
#[tokio::test]
async fn rate_limiter_preset_spaces_calls_a_second_apart() {
    assert_eq!(
        romplhub::rate_limit_spec(),
        payout_core::RateLimitSpec::per_minute(60)
    );
    let server = MockServer::start_async().await;
    let ok = server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-1");
            then.status(404).json_body(json!({"detail": "Order not found"}));
        })
        .await;
    let c = romplhub::Client::builder()
        .api_key(crate::API_KEY)
        .base_url(server.base_url())
        .rate_limiter(romplhub::rate_limiter())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    assert_eq!(
        c.orders().get("VX-1").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let e = c.orders().get("VX-1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert!(!e.was_sent());
    let wait = e.retry_after().unwrap();
    assert!(
        wait > Duration::from_millis(500) && wait <= Duration::from_millis(1_020),
        "{wait:?}"
    );
    ok.assert_calls_async(1).await;
}
