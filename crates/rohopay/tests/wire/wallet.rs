//! `GET /api/v1/wallet/balance`.

use httpmock::prelude::*;
use rohopay::{Currency, Decimal, ErrorKind};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn wallet_balance_is_documented_shape() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/wallet/balance")
                .query_param_count(".*", ".*", 0)
                .header("authorization", format!("Bearer {LIVE_KEY}"))
                .header("accept", "application/json")
                .header_missing("idempotency-key");
            then.status(200).json_body(json!({
                "success": true,
                "data": {"balance_live": 1250000, "balance_test": 50000, "currency": "UGX"}
            }));
        })
        .await;
    let balance = client(&server).wallet().balance().await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(balance.balance_live, Decimal::from(1_250_000));
    assert_eq!(balance.balance_test, Decimal::from(50_000));
    assert_eq!(balance.currency, Some(Currency::Ugx));
}

#[tokio::test]
async fn wallet_html_502_is_retried_then_kept_as_a_snippet() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/wallet/balance");
            then.status(502)
                .header("content-type", "text/html")
                .body("<html><body><h1>502 Bad Gateway</h1>cloudflare</body></html>");
        })
        .await;
    let err = client(&server).wallet().balance().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(err.status(), Some(502));
    assert!(err.is_retryable());
    assert_eq!(err.message(), "HTTP 502 Bad Gateway");
    assert!(err.body_snippet().unwrap().contains("cloudflare"));
    m.assert_calls_async(3).await;
}

#[tokio::test]
async fn wallet_401_is_an_auth_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/wallet/balance");
            then.status(401)
                .header("x-request-id", "req-42")
                .json_body(error_body("UNAUTHORIZED", "Missing or invalid API key"));
        })
        .await;
    let err = client(&server).wallet().balance().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(err.request_id(), Some("req-42"));
    assert_eq!(
        err.to_string(),
        "rohopay: UNAUTHORIZED: Missing or invalid API key (HTTP 401, request req-42)"
    );
}
