//! Error shapes: 401, 404, an HTML page, an undecodable 200, and the circuit breaker.

use std::time::Duration;

use agent_catalog::{CircuitBreaker, CircuitState, ErrorKind, Keyed, RetryPolicy};
use httpmock::prelude::*;
use serde_json::json;

use crate::{builder, client, p, wait_calls};

#[tokio::test]
async fn unauthorized_401_is_an_auth_error() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/balance"));
            then.status(401)
                .json_body(json!({"error": "unauthorized", "message": "Invalid API key"}));
        })
        .await;
    let err = client(&server).balance().get().await.unwrap_err();
    m.assert_calls_async(1).await;
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.provider_code(), Some("unauthorized"));
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "agent-catalog: unauthorized: Invalid API key (HTTP 401)"
    );
}

#[tokio::test]
async fn not_found_404_on_product_and_order() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/products/999"));
            then.status(404)
                .json_body(json!({"message": "Product not found"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders/missing"));
            then.status(404)
                .json_body(json!({"error": {"code": "not_found", "message": "Order not found"}}));
        })
        .await;
    let c = client(&server);
    let err = c.products().get(999).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.message(), "Product not found");
    let err = c.orders().get("missing").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.provider_code(), Some("not_found"));
}

#[tokio::test]
async fn html_error_page_keeps_status_and_snippet() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/product-types"));
            then.status(502)
                .header("content-type", "text/html")
                .body("<html><body><h1>502 Bad Gateway</h1>nginx</body></html>");
        })
        .await;
    let err = client(&server).product_types().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(err.status(), Some(502));
    assert_eq!(err.message(), "HTTP 502 Bad Gateway");
    assert!(err.body_snippet().unwrap().contains("nginx"));
    assert!(err.is_retryable());
    m.assert_calls_async(3).await;
}

#[tokio::test]
async fn undecodable_201_on_create_may_have_succeeded() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            then.status(201).body(r#"{"id": "o-1", "status": "#);
        })
        .await;
    let req = agent_catalog::CreateOrder::new(101);
    let err = client(&server).orders().create(&req).await.unwrap_err();
    m.assert_calls_async(1).await;
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.may_have_succeeded());
    assert!(!err.is_retryable());
    assert_eq!(err.idempotency_key().map(|k| k.as_str()), Some(req.key()));
    assert!(err.to_string().contains("look it up by"), "{err}");
}

#[tokio::test]
async fn a_wrong_type_names_the_json_path() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/deposits"));
            then.status(200)
                .json_body(json!({"items": [{"id": 1, "amount": "lots", "status": "posted"}]}));
        })
        .await;
    let err = client(&server)
        .deposits()
        .list(&agent_catalog::DepositFilter::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.message().contains("items[0].amount"), "{}", err.message());
}

/// The Plexy Gate documentation: "implement backoff or circuit-breaking on repeated failures". The breaker is
/// payout-core's, opt-in through the builder; refused calls are never sent.
#[tokio::test]
async fn circuit_breaker_opens_after_repeated_failures_and_probes_after_cool_down() {
    let server = MockServer::start_async().await;
    let down = server
        .mock_async(|when, then| {
            when.method(GET).path("/health");
            then.status(503);
        })
        .await;
    let breaker = CircuitBreaker::new(2, Duration::from_millis(300));
    let c = builder(&server.base_url())
        .retry_policy(RetryPolicy::none())
        .circuit_breaker(breaker.clone())
        .build()
        .unwrap();
    for _ in 0..2 {
        assert_eq!(c.health().await.unwrap_err().kind(), ErrorKind::Provider);
    }
    assert_eq!(breaker.state(), CircuitState::Open);
    let err = c.balance().get().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CircuitOpen);
    assert_eq!(err.attempts(), 0, "nothing was sent");
    assert!(err.retry_after().is_some());
    down.assert_calls_async(2).await;

    // After the cool-down one probe goes out; its success closes the circuit.
    down.delete_async().await;
    let up = server
        .mock_async(|when, then| {
            when.method(GET).path("/health");
            then.status(200).json_body(json!({"status": "ok"}));
        })
        .await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    assert!(c.health().await.unwrap().is_healthy());
    assert_eq!(breaker.state(), CircuitState::Closed);
    wait_calls(&up, 1).await;
}

/// FastAPI-style 400 bodies (the decoder already expects `detail`) must still be recognised
/// as `insufficient_balance`, or the caller cannot tell "fund the account" from any other
/// refusal. Before the fix `{"detail": "insufficient_balance"}` had no code at all.
#[tokio::test]
async fn insufficient_balance_in_a_detail_body_is_recognised() {
    for body in [
        json!({"detail": "insufficient_balance"}),
        json!({"detail": {"code": "insufficient_balance", "message": "Balance too low"}}),
        json!({"detail": "Insufficient balance"}),
    ] {
        let server = MockServer::start_async().await;
        let m = server
            .mock_async(|when, then| {
                when.method(POST).path(p("/orders"));
                then.status(400).json_body(body.clone());
            })
            .await;
        let err = client(&server)
            .orders()
            .create(&agent_catalog::CreateOrder::new(101))
            .await
            .unwrap_err();
        m.assert_calls_async(1).await;
        use agent_catalog::ErrorCode;
        assert_eq!(
            ErrorCode::of(&err),
            Some(ErrorCode::InsufficientBalance),
            "{body}: {err}"
        );
        assert!(!err.is_retryable());
    }
}
