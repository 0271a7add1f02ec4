//! Money-moving and one-shot calls are never re-sent once they may have reached RomplHub.

use std::time::Duration;

use httpmock::prelude::*;
use payout_core::test_util::{DropMode, DropServer, refused_base_url};
use romplhub::{CreateOrder, Decimal, ErrorKind, OrderPack, TopUpRequest};
use serde_json::json;

use crate::client;
use crate::orders::{CODE, PASSWORD};

async fn settle() {
    // The drop server counts on its own thread; give a would-be retry time to arrive.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn create_order_dropped_connection_is_sent_once_and_ambiguous() {
    for mode in [DropMode::CloseAfterRequest, DropMode::TruncatedResponse] {
        let srv = DropServer::start(mode);
        let err = client(&srv.base_url())
            .orders()
            .create(&CreateOrder::new("u", PASSWORD, "robux_2200"))
            .await
            .unwrap_err();
        settle().await;
        assert_eq!(err.kind(), ErrorKind::Ambiguous, "{mode:?}");
        assert!(err.may_have_succeeded());
        assert!(!err.is_retryable());
        assert_eq!(srv.requests(), 1, "{mode:?}: POST /orders must never be re-sent");
        assert!(err.to_string().contains("find_candidates"), "{err}");
        let raw = String::from_utf8_lossy(&srv.raw_requests()[0]).to_string();
        assert!(raw.starts_with("POST /orders "), "{raw}");
    }
}

#[tokio::test]
async fn order_pack_dropped_connection_is_sent_once_and_ambiguous() {
    let srv = DropServer::start(DropMode::CloseAfterRequest);
    let err = client(&srv.base_url())
        .packs()
        .order(&OrderPack::new("7", "u", PASSWORD))
        .await
        .unwrap_err();
    settle().await;
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert_eq!(srv.requests(), 1);
}

#[tokio::test]
async fn top_up_and_2fa_dropped_connection_are_sent_once() {
    let srv = DropServer::start(DropMode::CloseAfterRequest);
    let c = client(&srv.base_url());
    let err = c
        .balance()
        .top_up(&TopUpRequest::new(Decimal::new(50, 0)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    let err = c.orders().submit_2fa("VX-1", CODE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    settle().await;
    assert_eq!(srv.requests(), 2);
}

#[tokio::test]
async fn create_order_5xx_is_ambiguous_and_not_retried() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/orders");
            then.status(503)
                .json_body(json!({"detail": "Service Unavailable"}));
        })
        .await;
    let err = client(&server.base_url())
        .orders()
        .create(&CreateOrder::new("u", PASSWORD, "robux_2200"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert_eq!(err.status(), Some(503));
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn reads_are_retried_after_a_dropped_connection() {
    let srv = DropServer::start(DropMode::CloseAfterRequest);
    let err = client(&srv.base_url()).orders().get("VX-1").await.unwrap_err();
    settle().await;
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert_eq!(srv.requests(), 3, "1 attempt + 2 retries");
}

#[tokio::test]
async fn nothing_sent_is_safe_to_retry_even_for_orders() {
    let err = client(&refused_base_url())
        .orders()
        .create(&CreateOrder::new("u", PASSWORD, "robux_2200"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(err.is_retryable());
    assert!(!err.may_have_succeeded());
}

#[tokio::test]
async fn get_500_then_200_is_retried() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(500).header("Retry-After", "1").body("oops");
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(200)
                .json_body(json!({"tokens": 9, "pending_topups": 1}));
        })
        .await;
    let c = client(&server.base_url());
    let call = tokio::spawn(async move { c.balance().get().await });
    while failing.calls_async().await < 1 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    failing.delete_async().await;
    let b = call.await.unwrap().unwrap();
    assert_eq!(b.pending_topups, 1);
    ok.assert_calls_async(1).await;
}
