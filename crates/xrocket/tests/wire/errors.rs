//! Error shapes: RFC 9457 problems, 401/403/404/429, HTML pages, undecodable bodies, unknown
//! enum values.

use std::time::{Duration, Instant};

use httpmock::prelude::*;
use serde_json::json;
use xrocket::{
    Asset, Client, CreateTransfer, Decimal, ErrorCode, ErrorKind, InvoiceId, InvoiceStatus, RetryPolicy,
    TransferId, TransferStatus,
};

use crate::{KEY, client, wait_calls};

#[tokio::test]
async fn problem_json_maps_to_the_core_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/invoice");
            then.status(404)
                .header("content-type", "application/problem+json")
                .json_body(json!({
                    "type": "/api/problems/invoice_not_found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "Invoice not found",
                    "instance": "/api/problems/instances/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab",
                    "kind": "not_found"
                }));
        })
        .await;
    let err = client(&server.base_url())
        .invoices()
        .get(&InvoiceId::from("nope"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.provider_code(), Some("invoice_not_found"));
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::InvoiceNotFound));
    assert_eq!(err.message(), "Invoice not found");
    assert_eq!(
        err.request_id(),
        Some("/api/problems/instances/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab")
    );
    assert_eq!(
        err.to_string(),
        "xrocket: invoice_not_found: Invoice not found (HTTP 404, request /api/problems/instances/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab)"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn unauthorized_says_which_environment_to_check() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/app-info");
            then.status(401).json_body(json!({
                "type": "/api/problems/unauthorized", "title": "Unauthorized", "status": 401,
                "detail": "Unknown JWT", "kind": "unauthorized"
            }));
        })
        .await;
    let err = client(&server.base_url()).app().info().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::Unauthorized));
    assert!(
        err.message().starts_with("Unknown JWT: check the Bearer token"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("a custom base URL"));
    assert!(err.message().contains("Environment::Testnet"));
    assert!(!err.to_string().contains(KEY));
}

#[tokio::test]
async fn forbidden_operation_is_a_provider_error_not_auth() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/invoices/payments/address");
            then.status(403).json_body(json!({
                "type": "/api/problems/coin_deposit_disabled", "status": 403, "detail": "Deposits of this coin are disabled"
            }));
        })
        .await;
    let err = client(&server.base_url())
        .invoices()
        .payment_address(&InvoiceId::from("inv-1"), xrocket::Network::Btc)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::CoinDepositDisabled));
}

#[tokio::test]
async fn rate_limited_429_is_retried_after_retry_after() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/balances");
            then.status(429).header("Retry-After", "1").json_body(json!({
                "type": "/api/problems/rate_limit_exceeded", "status": 429, "detail": "Too many requests"
            }));
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/balances");
            then.status(200).json_body(json!({"balances": []}));
        })
        .await;
    let c = client(&server.base_url());
    let started = Instant::now();
    let call = tokio::spawn(async move { c.app().balances().await });
    wait_calls(&limited, 1).await;
    limited.delete_async().await;
    assert!(call.await.unwrap().unwrap().is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After was not honoured"
    );
    ok.assert_calls_async(1).await;
}

#[tokio::test]
async fn rate_limit_longer_than_the_deadline_is_reported() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/balances");
            then.status(429).header("Retry-After", "120").json_body(json!({
                "type": "/api/problems/rate_limit_exceeded", "status": 429, "detail": "Too many requests"
            }));
        })
        .await;
    let err = client(&server.base_url()).app().balances().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::RateLimitExceeded));
    assert!(err.is_retryable());
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn html_error_page_keeps_status_and_snippet() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/app-info");
            then.status(502)
                .header("content-type", "text/html")
                .body("<html><body><h1>502 Bad Gateway</h1>nginx</body></html>");
        })
        .await;
    let err = client(&server.base_url()).app().info().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(err.status(), Some(502));
    assert_eq!(err.provider_code(), None);
    assert_eq!(err.message(), "HTTP 502 Bad Gateway");
    assert!(err.body_snippet().unwrap().contains("nginx"));
    assert_eq!(err.attempts(), 3, "a read is retried");
    m.assert_calls_async(3).await;
}

#[tokio::test]
async fn validation_problem_with_unknown_code_and_info() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/transfers");
            then.status(400).json_body(json!({
                "type": "/api/problems/transfer_amount_too_small", "title": "Bad Request", "status": 400,
                "detail": "Amount is below the minimum transfer", "info": {"min": "0.01"}
            }));
        })
        .await;
    let err = client(&server.base_url())
        .transfers()
        .create(&CreateTransfer::to_telegram_user(
            1,
            Asset::Toncoin,
            Decimal::new(1, 3),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(
        ErrorCode::of(&err),
        Some(ErrorCode::Unknown("transfer_amount_too_small".into()))
    );
    assert_eq!(err.message(), "Amount is below the minimum transfer");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn persistent_5xx_on_a_transfer_is_retried_with_the_same_id_then_reported() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/transfers")
                .json_body_includes(r#"{"clientTransferId":"t-5xx"}"#);
            then.status(500).json_body(
                json!({"type": "/api/problems/internal_error", "status": 500, "detail": "Internal error"}),
            );
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/transfer")
                .query_param("clientTransferId", "t-5xx");
            then.status(404)
                .json_body(json!({"type": "/api/problems/app_payout_not_found", "status": 404}));
        })
        .await;
    let req = CreateTransfer::to_telegram_user(1, Asset::Toncoin, Decimal::ONE).client_transfer_id("t-5xx");
    let err = client(&server.base_url())
        .transfers()
        .create(&req)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::InternalError));
    assert_eq!(err.idempotency_key().map(|k| k.as_str()), Some("t-5xx"));
    assert!(err.is_retryable(), "re-sending the same request value is safe");
    assert_eq!(err.attempts(), 3);
    post.assert_calls_async(3).await;
    lookup.assert_calls_async(1).await;
}

#[tokio::test]
async fn unknown_enum_values_decode_to_unknown() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transfer");
            then.status(200).json_body(json!({
                "transferId": 5, "asset": "NEWCOIN", "amount": 1.5, "targetType": "phone_number",
                "status": "on_hold", "someNewField": {"x": 1}
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/invoice");
            then.status(200)
                .json_body(json!({"id": "i", "status": "refunded", "links": {}}));
        })
        .await;
    let c = client(&server.base_url());
    let t = c.transfers().get(&TransferId::from("5")).await.unwrap();
    assert_eq!(t.transfer_id.as_str(), "5");
    assert_eq!(t.asset, Asset::Unknown("NEWCOIN".into()));
    assert_eq!(t.amount, Decimal::new(15, 1));
    assert_eq!(
        t.target_type,
        Some(xrocket::TargetType::Unknown("phone_number".into()))
    );
    assert_eq!(t.status, Some(TransferStatus::Unknown("on_hold".into())));
    assert!(!t.status.unwrap().is_final());
    let inv = c.invoices().get(&InvoiceId::from("i")).await.unwrap();
    assert_eq!(inv.status, InvoiceStatus::Unknown("refunded".into()));
}

#[tokio::test]
async fn undecodable_success_is_a_decode_error_that_may_have_succeeded() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/transfers");
            then.status(200).body(r#"{"transferId": "1", "amount": "#);
        })
        .await;
    let c = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let req = CreateTransfer::to_telegram_user(1, Asset::Toncoin, Decimal::ONE).client_transfer_id("t-dec");
    let err = c.transfers().create(&req).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.may_have_succeeded());
    assert!(!err.is_retryable());
    assert_eq!(err.idempotency_key().map(|k| k.as_str()), Some("t-dec"));
    assert!(err.to_string().contains("look it up by `t-dec`"), "{err}");
    m.assert_calls_async(1).await;
}

/// A problem whose other fields have unexpected types (`status` as a string, `detail` as a
/// list, `kind` as an object) still yields its code: `client_id_already_taken` is recognised
/// and the transfer reconciled, instead of a plain provider error that reads as "failed".
#[tokio::test]
async fn problem_with_odd_field_types_keeps_its_code() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/transfers");
            then.status(400)
                .header("content-type", "application/problem+json")
                .json_body(json!({
                    "type": "/api/problems/client_id_already_taken",
                    "title": "Bad Request",
                    "status": "400",
                    "detail": ["clientTransferId is already taken"],
                    "kind": {"category": "validation"},
                    "instance": "/api/problems/instances/dd44"
                }));
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/transfer")
                .query_param("clientTransferId", "odd-1");
            then.status(200).json_body(json!({
                "transferId": "42", "clientTransferId": "odd-1", "target": "1",
                "targetType": "telegram_user_id", "asset": "TONCOIN", "amount": "1"
            }));
        })
        .await;
    let req = CreateTransfer::to_telegram_user(1, Asset::Toncoin, Decimal::ONE).client_transfer_id("odd-1");
    let t = client(&server.base_url()).transfers().create(&req).await.unwrap();
    post.assert_calls_async(1).await;
    lookup.assert_calls_async(1).await;
    assert_eq!(t.transfer_id, TransferId::from("42"));
}
