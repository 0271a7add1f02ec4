use httpmock::prelude::*;
use rocheap::Decimal;
use serde_json::json;

use crate::{KEY, client};

#[tokio::test]
async fn ping_sends_the_key_header_and_reads_pong() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/ping")
                .header("rocheap-api-key", KEY)
                .header("accept", "application/json")
                .header_missing("content-type");
            then.status(200)
                .json_body(json!({"success": true, "message": "pong"}));
        })
        .await;
    let pong = client(&server.base_url()).ping().await.unwrap();
    assert_eq!(pong.message.as_deref(), Some("pong"));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn balance_reads_a_number_exactly() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/balance").header("rocheap-api-key", KEY);
            then.status(200)
                .json_body(json!({"success": true, "balance": 12.0475}));
        })
        .await;
    let b = client(&server.base_url()).balance().await.unwrap();
    assert_eq!(b.amount, Decimal::new(120475, 4));
    assert!(b.is_below(Decimal::from(20)));
    assert!(!b.is_below(Decimal::from(10)));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn balance_accepts_a_string_under_another_name() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(200)
                .json_body(json!({"success": true, "credits": "3.50"}));
        })
        .await;
    let b = client(&server.base_url()).balance().await.unwrap();
    assert_eq!(b.amount.to_string(), "3.50");
    assert_eq!(b.raw["credits"], "3.50");
}

#[tokio::test]
async fn balance_without_a_known_field_is_a_decode_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(200)
                .json_body(json!({"success": true, "funds": {"usd": 1}}));
        })
        .await;
    let e = client(&server.base_url()).balance().await.unwrap_err();
    assert_eq!(e.kind(), rocheap::ErrorKind::Decode);
    assert_eq!(e.status(), Some(200));
}
