//! `POST /api/v1/collect` and `POST /api/v1/disburse`: exact wire format, the
//! `Idempotency-Key` on every attempt, and the documented errors.

use std::time::Duration;

use httpmock::prelude::*;
use payout_core::test_util::{DropMode, DropServer};
use rohopay::{
    CollectRequest, Currency, DisburseRequest, ErrorCode, ErrorKind, IdempotencyKey, Keyed, PaymentMethod,
    TransactionStatus, TransactionType,
};
use serde_json::{Value, json};

use crate::common::*;

pub(crate) fn collect_response() -> Value {
    json!({
        "success": true,
        "message": "Payment initiated",
        "data": {
            "id": "01j2k3m4n5p6q7r8s9t0uvwxyz",
            "internal_reference": "RHP-2024-ABC123",
            "type": "collection",
            "status": "pending",
            "payment_method": "mobile_money",
            "provider": "relworx",
            "phone_number": "256712345678",
            "amount": 50000,
            "currency": "UGX",
            "commission_amount": 500,
            "net_amount": 49500,
            "environment": "live",
            "created_at": "2024-07-01T10:00:00Z"
        }
    })
}

pub(crate) fn disburse_response() -> Value {
    json!({
        "success": true,
        "data": {
            "id": "01j2k3m4n5p6q7r8s9t0disbur",
            "internal_reference": "RHP-2024-DSB001",
            "type": "disbursement",
            "status": "pending",
            "payment_method": "mobile_money",
            "phone_number": "256701234567",
            "amount": 25000,
            "currency": "UGX",
            "environment": "live"
        }
    })
}

#[tokio::test]
async fn collect_sends_documented_body_and_idempotency_key() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/collect")
                .query_param_count(".*", ".*", 0)
                .header("authorization", format!("Bearer {LIVE_KEY}"))
                .header("content-type", "application/json")
                .header("idempotency-key", "order-1001-collect")
                .json_body(json!({
                    "phone": "256712345678",
                    "amount": 50000,
                    "currency": "UGX",
                    "description": "Order #1001",
                    "callback_url": "https://shop.example/webhooks/rohopay"
                }));
            then.status(200).json_body(collect_response());
        })
        .await;
    let key = IdempotencyKey::new("order-1001-collect").unwrap();
    let req = CollectRequest::new("256712345678", 50_000, Currency::Ugx)
        .description("Order #1001")
        .callback_url("https://shop.example/webhooks/rohopay")
        .idempotency_key(key.clone());
    let initiated = client(&server).mobile_money().collect(&req).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(initiated.idempotency_key, key);
    assert_eq!(initiated.message.as_deref(), Some("Payment initiated"));
    let tx = initiated.transaction;
    assert_eq!(tx.internal_reference.as_str(), "RHP-2024-ABC123");
    assert_eq!(tx.status, Some(TransactionStatus::Pending));
    assert_eq!(tx.kind, Some(TransactionType::Collection));
    assert_eq!(tx.payment_method, Some(PaymentMethod::MobileMoney));
    assert_eq!(tx.amount, Some(50_000.into()));
    assert_eq!(tx.net_amount, Some(49_500.into()));
    assert!(!tx.is_final());
}

#[tokio::test]
async fn collect_generates_a_key_and_can_send_payment_method() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/collect")
                .header_exists("idempotency-key")
                .json_body(json!({
                    "phone": "254712345678",
                    "amount": 1500,
                    "currency": "KES",
                    "payment_method": "mobile_money"
                }));
            then.status(201).json_body(collect_response());
        })
        .await;
    let req =
        CollectRequest::new("254712345678", 1500, Currency::Kes).payment_method(PaymentMethod::MobileMoney);
    let initiated = client(&server).mobile_money().collect(&req).await.unwrap();
    m.assert_calls_async(1).await;
    // A generated key is a UUID v4, returned so it can be stored.
    assert_eq!(initiated.idempotency_key.as_str().len(), 36);
}

/// 500 then 200: the retry carries the same `Idempotency-Key`, which RohoPay deduplicates.
#[tokio::test]
async fn collect_500_then_200_reuses_the_same_idempotency_key() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/collect")
                .header("idempotency-key", "order-77");
            then.status(500)
                .header("Retry-After", "1")
                .json_body(error_body("INTERNAL_ERROR", "try again"));
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/collect")
                .header("idempotency-key", "order-77");
            then.status(200).json_body(collect_response());
        })
        .await;
    let c = client(&server);
    let req = CollectRequest::new("256712345678", 50_000, Currency::Ugx)
        .idempotency_key(IdempotencyKey::new("order-77").unwrap());
    let call = tokio::spawn(async move { c.mobile_money().collect(&req).await });
    wait_calls(&failing, 1).await;
    failing.delete_async().await;
    let initiated = call.await.unwrap().unwrap();
    assert_eq!(initiated.idempotency_key.as_str(), "order-77");
    ok.assert_calls_async(1).await;
}

/// A dropped connection after sending is retried, always with the same key.
#[tokio::test]
async fn dropped_connection_is_retried_with_the_same_key() {
    for disburse in [false, true] {
        let srv = DropServer::start(DropMode::CloseAfterRequest);
        let c = client_for(&srv.base_url(), LIVE_KEY);
        let err = if disburse {
            c.mobile_money()
                .disburse(&DisburseRequest::new("256701234567", 25_000, Currency::Ugx))
                .await
        } else {
            c.mobile_money()
                .collect(&CollectRequest::new("256712345678", 50_000, Currency::Ugx))
                .await
        }
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transport);
        // RohoPay may have it; repeating with the key on the error cannot charge twice.
        assert!(err.is_retryable());
        let key = err
            .idempotency_key()
            .expect("the key is on the error")
            .as_str()
            .to_string();
        let raw = srv.raw_requests();
        assert_eq!(raw.len(), 3, "1 attempt + 2 retries");
        for r in raw {
            let head = String::from_utf8_lossy(&r).to_ascii_lowercase();
            assert!(head.contains(&format!("idempotency-key: {key}")), "{head}");
        }
    }
}

#[tokio::test]
async fn disburse_sends_documented_body_and_idempotency_key() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/disburse")
                .query_param_count(".*", ".*", 0)
                .header("authorization", format!("Bearer {LIVE_KEY}"))
                .header("content-type", "application/json")
                .header("idempotency-key", "refund-1001")
                .json_body(json!({
                    "phone": "256701234567",
                    "amount": 25000,
                    "currency": "UGX",
                    "description": "Refund #1001",
                    "callback_url": "https://shop.example/webhooks/rohopay"
                }));
            then.status(200).json_body(disburse_response());
        })
        .await;
    let req = DisburseRequest::new("256701234567", 25_000, Currency::Ugx)
        .description("Refund #1001")
        .callback_url("https://shop.example/webhooks/rohopay")
        .idempotency_key(IdempotencyKey::new("refund-1001").unwrap());
    let initiated = client(&server).mobile_money().disburse(&req).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(initiated.transaction.kind, Some(TransactionType::Disbursement));
    assert_eq!(
        initiated.transaction.internal_reference.as_str(),
        "RHP-2024-DSB001"
    );
    assert_eq!(initiated.idempotency_key.as_str(), "refund-1001");
}

#[tokio::test]
async fn disburse_timeout_is_retried_with_the_same_key_not_reported_ambiguous() {
    let server = MockServer::start_async().await;
    let slow = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/disburse")
                .header("idempotency-key", "payout-9");
            then.status(200)
                .delay(Duration::from_millis(800))
                .json_body(disburse_response());
        })
        .await;
    let c = rohopay::Client::builder()
        .api_key(LIVE_KEY)
        .base_url(server.base_url())
        .retry_policy(fast_retries())
        .attempt_timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let req = DisburseRequest::new("256701234567", 25_000, Currency::Ugx)
        .idempotency_key(IdempotencyKey::new("payout-9").unwrap());
    let err = c.mobile_money().disburse(&req).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    // The payout may have gone through (each attempt timed out after sending), and repeating
    // it with the same key is safe: RohoPay answers a repeat with the first result.
    assert!(err.may_have_succeeded());
    assert!(err.is_retryable(), "safe to repeat with the same key");
    assert!(
        err.to_string()
            .contains("repeat it only with the same key `payout-9`"),
        "{err}"
    );
    assert_eq!(err.idempotency_key().map(|k| k.as_str()), Some("payout-9"));
    assert_eq!(err.attempts(), 3);
    slow.assert_calls_async(3).await;
}

/// 409: the key was used with other parameters. Distinct, not retried, key on the error.
#[tokio::test]
async fn disburse_409_is_an_idempotency_conflict() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/disburse");
            then.status(409).json_body(json!({
                "success": false,
                "error": {"message": "Idempotency key already used with different parameters"}
            }));
        })
        .await;
    let req = DisburseRequest::new("256701234567", 30_000, Currency::Ugx)
        .idempotency_key(IdempotencyKey::new("refund-1001").unwrap());
    let err = client(&server).mobile_money().disburse(&req).await.unwrap_err();
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::IdempotencyConflict));
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::IdempotencyConflict));
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(err.status(), Some(409));
    assert!(!err.is_retryable());
    assert_eq!(err.idempotency_key().map(|k| k.as_str()), Some("refund-1001"));
    assert!(err.to_string().contains("use a new key"), "{err}");
    m.assert_calls_async(1).await;

    // A 409 with RohoPay's own code keeps that code; the status and the hint say conflict.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/collect");
            then.status(409)
                .json_body(error_body("IDEMPOTENCY_KEY_REUSED", "reused"));
        })
        .await;
    let err = client(&server)
        .mobile_money()
        .collect(&CollectRequest::new("256712345678", 100, Currency::Ugx))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(err.to_string().contains("use a new key"), "{err}");
    assert_eq!(err.provider_code(), Some("IDEMPOTENCY_KEY_REUSED"));
}

#[tokio::test]
async fn disburse_documented_errors() {
    let server = MockServer::start_async().await;
    let cases = [
        (
            403,
            "DISBURSE_TEST_BLOCKED",
            ErrorKind::Auth,
            ErrorCode::DisburseTestBlocked,
        ),
        (
            422,
            "INSUFFICIENT_BALANCE",
            ErrorKind::Provider,
            ErrorCode::InsufficientBalance,
        ),
        (
            422,
            "PROVIDER_ERROR",
            ErrorKind::Provider,
            ErrorCode::ProviderError,
        ),
        (
            400,
            "MISSING_IDEMPOTENCY_KEY",
            ErrorKind::Provider,
            ErrorCode::MissingIdempotencyKey,
        ),
        (
            401,
            "API_KEY_INACTIVE",
            ErrorKind::Auth,
            ErrorCode::ApiKeyInactive,
        ),
        (
            429,
            "TEST_QUOTA_EXCEEDED",
            ErrorKind::RateLimited,
            ErrorCode::TestQuotaExceeded,
        ),
    ];
    for (status, code, kind, typed) in cases {
        let m = server
            .mock_async(|when, then| {
                when.method(POST).path("/api/v1/disburse");
                then.status(status).json_body(error_body(code, "refused"));
            })
            .await;
        let c = rohopay::Client::builder()
            .api_key(LIVE_KEY)
            .base_url(server.base_url())
            .retry_policy(rohopay::RetryPolicy::none())
            .build()
            .unwrap();
        let err = c
            .mobile_money()
            .disburse(&DisburseRequest::new("256701234567", 25_000, Currency::Ugx))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{code}");
        assert_eq!(ErrorCode::of(&err), Some(typed), "{code}");
        assert_eq!(err.status(), Some(status));
        assert!(err.idempotency_key().is_some());
        m.assert_calls_async(1).await;
        m.delete_async().await;
    }
}

/// 503 PROVIDER_LINE_DOWN on a key-protected call is retried with the same key (RohoPay
/// deduplicates), unlike checkout.
#[tokio::test]
async fn collect_503_provider_line_down_is_retried_with_the_key() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/collect")
                .header("idempotency-key", "c-503");
            then.status(503)
                .json_body(error_body("PROVIDER_LINE_DOWN", "Provider network unavailable"));
        })
        .await;
    let err = client(&server)
        .mobile_money()
        .collect(
            &CollectRequest::new("256712345678", 50_000, Currency::Ugx)
                .idempotency_key(IdempotencyKey::new("c-503").unwrap()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::ProviderLineDown));
    assert!(err.is_retryable());
    m.assert_calls_async(3).await;
}

#[tokio::test]
async fn mobile_money_validates_before_sending() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(collect_response());
        })
        .await;
    let c = client(&server);
    let collects = [
        (CollectRequest::new("+256712345678", 100, Currency::Ugx), "phone"),
        (CollectRequest::new("0712345678", 100, Currency::Ugx), "phone"),
        (CollectRequest::new("256712345678", 0, Currency::Ugx), "amount"),
        (
            CollectRequest::new("256712345678", 100, Currency::from("USD")),
            "currency",
        ),
        (
            CollectRequest::new("256712345678", 100, Currency::Ugx).description("x".repeat(256)),
            "description",
        ),
        (
            CollectRequest::new("256712345678", 100, Currency::Ugx).callback_url("http://shop.example/hook"),
            "callback_url",
        ),
    ];
    for (req, field) in collects {
        let err = c.mobile_money().collect(&req).await.unwrap_err();
        assert_eq!((err.kind(), err.field()), (ErrorKind::InvalidInput, Some(field)));
        assert!(!err.to_string().contains("256712345678") && !err.to_string().contains("0712345678"));
    }
    let disburses = [
        (DisburseRequest::new("256701234567", 999, Currency::Ugx), "amount"),
        (DisburseRequest::new("2567-0123", 5000, Currency::Ugx), "phone"),
        (
            DisburseRequest::new("256701234567", 5000, Currency::from("usd")),
            "currency",
        ),
    ];
    for (req, field) in disburses {
        let err = c.mobile_money().disburse(&req).await.unwrap_err();
        assert_eq!((err.kind(), err.field()), (ErrorKind::InvalidInput, Some(field)));
    }
    // 999 KES is fine: the 1,000 minimum is documented for UGX only.
    assert!(
        DisburseRequest::new("254712345678", 999, Currency::Kes)
            .validate()
            .is_ok()
    );
    m.assert_calls_async(0).await;
}

#[tokio::test]
async fn collect_sandbox_may_answer_final_status_and_3p_field_names() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/collect")
                .header("authorization", format!("Bearer {TEST_KEY}"));
            then.status(200).json_body(json!({
                "success": true,
                "data": {
                    "transaction_id": "01jsandbox",
                    "reference": "RHP-2024-SBX001",
                    "status": "successful",
                    "commission": 500,
                    "provider_fee": "250",
                    "amount": "50000",
                    "currency": "UGX",
                    "environment": "test",
                    "brand_new_field": {"nested": true}
                }
            }));
        })
        .await;
    let initiated = client_for(&server.base_url(), TEST_KEY)
        .mobile_money()
        .collect(&CollectRequest::new("256700000000", 50_000, Currency::Ugx))
        .await
        .unwrap();
    let tx = initiated.transaction;
    assert_eq!(tx.id.as_ref().map(|i| i.as_str()), Some("01jsandbox"));
    assert_eq!(tx.internal_reference.as_str(), "RHP-2024-SBX001");
    assert_eq!(tx.commission_amount, Some(500.into()));
    assert_eq!(tx.provider_fee_amount, Some(250.into()));
    assert_eq!(tx.amount, Some(50_000.into()));
    assert!(tx.is_successful());
}

/// Repeating the same request value after a retryable error (what `is_retryable()` invites)
/// must send the same `Idempotency-Key`, or RohoPay would see a new payment and pay twice.
#[tokio::test]
async fn repeating_a_request_value_reuses_its_idempotency_key() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/disburse");
            then.status(503)
                .json_body(error_body("PROVIDER_LINE_DOWN", "Provider network unavailable"));
        })
        .await;
    let c = rohopay::Client::builder()
        .api_key(LIVE_KEY)
        .base_url(server.base_url())
        .retry_policy(rohopay::RetryPolicy::none())
        .build()
        .unwrap();
    // No key given: one is made with the request value, not per call.
    let req = DisburseRequest::new("256701234567", 25_000, Currency::Ugx);
    let first = c.mobile_money().disburse(&req).await.unwrap_err();
    assert!(first.is_retryable(), "{first}");
    let second = c.mobile_money().disburse(&req).await.unwrap_err();
    let k1 = first.idempotency_key().unwrap().clone();
    let k2 = second.idempotency_key().unwrap().clone();
    assert_eq!(k1, k2, "a repeat of the same request must carry the same key");
    assert_eq!(req.key(), k1.as_str());
    m.assert_calls_async(2).await;
    let collect = CollectRequest::new("256712345678", 50_000, Currency::Ugx);
    assert_eq!(collect.key(), collect.clone().key());
    // Two request values are two payments: two keys.
    assert_ne!(
        DisburseRequest::new("256701234567", 25_000, Currency::Ugx).key(),
        req.key()
    );
}
