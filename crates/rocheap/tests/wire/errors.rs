use httpmock::prelude::*;
use rocheap::{CreateOrder, ErrorCode, ErrorKind, OrderId, ProviderErrorCode};
use serde_json::json;

use crate::client;

#[tokio::test]
async fn success_false_inside_http_200_is_an_error_with_the_code() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info/nope");
            then.status(200)
                .json_body(json!({"success": false, "error": {"code": "ORDER_NOT_FOUND", "message": "Order not found!"}}));
        })
        .await;
    let e = client(&server.base_url())
        .orders()
        .get(OrderId::from("nope"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.status(), Some(200));
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::OrderNotFound));
    assert_eq!(
        e.to_string(),
        "rocheap: ORDER_NOT_FOUND: Order not found! (HTTP 200)"
    );
}

#[tokio::test]
async fn success_false_with_a_4xx_status_is_decoded_the_same_way() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info/nope");
            then.status(404)
                .json_body(json!({"success": false, "error": {"code": "ORDER_NOT_FOUND", "message": "Order not found!"}}));
        })
        .await;
    let e = client(&server.base_url())
        .orders()
        .get(OrderId::from("nope"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.provider_code(), Some("ORDER_NOT_FOUND"));
}

#[tokio::test]
async fn invalid_api_key_text_error_is_an_auth_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/ping");
            then.status(200)
                .json_body(json!({"success": false, "error": "Invalid API key."}));
        })
        .await;
    let e = client(&server.base_url()).ping().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(e.message(), "Invalid API key.");
    assert_eq!(e.provider_code(), None);
}

#[tokio::test]
async fn rejected_create_reports_status_and_failure_code() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/create_order");
            then.status(200).json_body(json!({
                "success": false,
                "status": {"code": "FAILED", "message": "Order has failed!"},
                "failure_code": {"code": "INSUFFICIENT_BALANCE", "message": "Not enough balance"}
            }));
        })
        .await;
    let e = client(&server.base_url())
        .orders()
        .create(&CreateOrder::new(10, 1, 2, 3).custom_order_id("inv-2").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientBalance));
    assert!(ErrorCode::of(&e).unwrap().is_integrator_error());
    assert_eq!(e.message(), "Not enough balance");
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("inv-2"));
    assert!(!e.may_have_succeeded());
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn html_error_page_keeps_the_status_and_is_retried_for_lookups() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(503)
                .header("content-type", "text/html")
                .body("<!DOCTYPE html><title>Just a moment...</title> cloudflare");
        })
        .await;
    let e = client(&server.base_url()).balance().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(e.status(), Some(503));
    assert!(e.body_snippet().unwrap().contains("cloudflare"));
    assert!(e.is_retryable());
    m.assert_calls_async(3).await;
}

#[tokio::test]
async fn undecodable_200_is_a_decode_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info/o1");
            then.status(200)
                .body(r#"{"success": true, "order_id": "o1", "status": {"code""#);
        })
        .await;
    let e = client(&server.base_url()).orders().get("o1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert_eq!(e.status(), Some(200));

    // Valid JSON without the envelope: not ROCheap (a wrong base URL, a captive portal).
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/ping");
            then.status(200).json_body(json!({"hello": "world"}));
        })
        .await;
    let e = client(&server.base_url()).ping().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.message().contains("no `success` field"));
}

#[test]
fn from_env_names_the_missing_variable() {
    // SAFETY of the test: this is the only test in the binary touching this variable.
    let e = rocheap::Client::builder().build().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(rocheap::Client::new("  ").is_err());
    assert!(
        rocheap::Client::builder()
            .api_key("k")
            .base_url("not a url")
            .build()
            .is_err()
    );
    if std::env::var_os("ROCHEAP_API_KEY").is_none() {
        let e = rocheap::Client::from_env().unwrap_err();
        assert!(e.to_string().contains("ROCHEAP_API_KEY"), "{e}");
    }
}

/// A success body of the wrong shape (the order wrapped in `data`, so the documented
/// `order_id` and `status` are missing at the top level) is a Decode error that keeps the
/// status, never an order made of `None`s.
#[tokio::test]
async fn order_body_of_the_wrong_shape_is_a_decode_error_keeping_the_status() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info/o1");
            then.status(200)
                .json_body(json!({"success": true, "data": crate::order_json("COMPLETED")}));
        })
        .await;
    let e = client(&server.base_url()).orders().get("o1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
    assert_eq!(e.status(), Some(200));
    assert!(e.message().contains("order_id"), "{}", e.message());

    // The documented id present but of the wrong type: a decode error too.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info_by_custom_id/inv-1");
            then.status(200)
                .json_body(json!({"success": true, "order_id": {"id": "o1"}, "status": {"code": "CREATED"}}));
        })
        .await;
    let e = client(&server.base_url())
        .orders()
        .get_by_custom_id("inv-1")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
    assert_eq!(e.status(), Some(200));
}

#[test]
fn error_code_of_reads_only_rocheap_errors() {
    let ours = rocheap::Error::provider("rocheap", Some("ORDER_REFUNDED".into()), "refunded");
    assert_eq!(ErrorCode::of(&ours), Some(ErrorCode::OrderRefunded));
    assert!(ErrorCode::of(&ours).unwrap().is_user_error());
    let theirs = rocheap::Error::provider("xrocket", Some("ORDER_REFUNDED".into()), "x");
    assert_eq!(ErrorCode::of(&theirs), None);
    let none = rocheap::Error::provider("rocheap", None, "no code");
    assert_eq!(ErrorCode::of(&none), None);
}
