use httpmock::prelude::*;
use romplhub::{Decimal, ErrorKind, TopUpRequest, TopUpStatus};
use serde_json::json;

use crate::{API_KEY, client};

#[tokio::test]
async fn get_balance_reads_the_documented_response() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/balance")
                .header("x-api-key", API_KEY)
                .header_missing("content-type");
            then.status(200)
                .json_body(json!({"tokens": 485, "pending_topups": 0}));
        })
        .await;
    let b = client(&server.base_url()).balance().get().await.unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(b.tokens, 485);
    assert_eq!(b.pending_topups, 0);
}

#[tokio::test]
async fn top_up_sends_the_amount_as_an_exact_json_number() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/balance/topup")
                .header("x-api-key", API_KEY)
                .header("content-type", "application/json")
                // Byte-exact: the documented `50.00`, not `50.0` or `"50.00"`.
                .body(r#"{"amount_usdt":50.00}"#);
            then.status(201).json_body(json!({
                "tokens_amount": 250, "wallet_address": "TXkG9f3w...Rp4mD7", "status": "pending"
            }));
        })
        .await;
    let t = client(&server.base_url())
        .balance()
        .top_up(&TopUpRequest::new(Decimal::new(5000, 2)))
        .await
        .unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(t.tokens_amount, 250);
    assert_eq!(t.wallet_address, "TXkG9f3w...Rp4mD7");
    assert_eq!(t.status, TopUpStatus::Pending);
}

#[tokio::test]
async fn top_up_validates_the_amount() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(201);
        })
        .await;
    let c = client(&server.base_url());
    for amount in [Decimal::ZERO, Decimal::new(-5, 0), Decimal::new(1, 7)] {
        let err = c.balance().top_up(&TopUpRequest::new(amount)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.field(), Some("amount_usdt"));
    }
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn unknown_top_up_status_and_new_fields_decode() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/balance/topup").body(r#"{"amount_usdt":12.5}"#);
            then.status(201).json_body(json!({
                "tokens_amount": "62", "wallet_address": "TX1", "status": "awaiting_review", "expires_in": 3600
            }));
        })
        .await;
    let t = client(&server.base_url())
        .balance()
        .top_up(&TopUpRequest::new(Decimal::new(125, 1)))
        .await
        .unwrap();
    assert_eq!(t.tokens_amount, 62);
    assert_eq!(t.status, TopUpStatus::Unknown("awaiting_review".into()));
    assert_eq!(t.extra["expires_in"], json!(3600));
}
