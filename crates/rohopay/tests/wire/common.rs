//! Fixtures shared by the wire tests.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use httpmock::MockServer;
use rohopay::webhook::FixedClock;
use rohopay::{Card, CheckoutRequest, Client, Currency, RetryPolicy};
use serde_json::{Value, json};

/// A live key in RohoPay's documented format (`live_` + 64 hex).
pub(crate) const LIVE_KEY: &str = "live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a";
/// A sandbox key.
pub(crate) const TEST_KEY: &str = "test_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f";

/// 2026-06-09T… UTC: the excerpt's card (`10/26`) has not expired yet.
pub(crate) fn june_2026() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_781_000_000)
}

/// 2026-11-21T05:44:44Z: the excerpt's card (`10/26`) has expired.
pub(crate) fn november_2026() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_239_884)
}

/// Fast, deterministic retries so failure tests take milliseconds.
pub(crate) fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(20))
        .jitter_seed(7)
}

pub(crate) fn client_for(base_url: &str, key: &str) -> Client {
    Client::builder()
        .api_key(key)
        .base_url(base_url)
        .clock(FixedClock(june_2026()))
        .retry_policy(fast_retries())
        .attempt_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub(crate) fn client(server: &MockServer) -> Client {
    client_for(&server.base_url(), LIVE_KEY)
}

/// The excerpt's checkout request.
pub(crate) fn excerpt_checkout() -> CheckoutRequest {
    CheckoutRequest::new(
        75_000,
        Currency::Ugx,
        "Jane Mukasa",
        "jane@example.com",
        "https://your-app.com/checkout/return",
        Card::new("4111111111111111", "10/26", "123"),
    )
    .description("Premium subscription")
}

/// The excerpt's checkout body, with `api_key` as the client must splice it in.
pub(crate) fn excerpt_checkout_body(key: &str) -> Value {
    json!({
        "api_key": key,
        "amount": 75000,
        "currency": "UGX",
        "customer_name": "Jane Mukasa",
        "customer_email": "jane@example.com",
        "description": "Premium subscription",
        "return_url": "https://your-app.com/checkout/return",
        "card_number": "4111111111111111",
        "card_expiry": "10/26",
        "card_cvv": "123"
    })
}

/// The excerpt's checkout response.
pub(crate) fn excerpt_checkout_response() -> Value {
    json!({
        "success": true,
        "data": {
            "transaction_id": "01j5m6n7p8q9r0s1t2u3vwxy",
            "internal_reference": "RHP-2024-CARD001",
            "payment_url": "https://payments.rohopay.com/3ds/abc123xyz",
            "status": "pending",
            "amount": 75000,
            "currency": "UGX"
        }
    })
}

/// A transaction with every documented field.
pub(crate) fn transaction_json(reference: &str, status: &str) -> Value {
    json!({
        "id": "01j2k3m4n5p6q7r8s9t0uvwxyz",
        "internal_reference": reference,
        "provider_reference": "relworx-ref",
        "type": "collection",
        "status": status,
        "payment_method": "card",
        "provider": "relworx",
        "provider_status": "SUCCESSFUL",
        "phone_number": "256712345678",
        "amount": 75000,
        "currency": "UGX",
        "commission_amount": 750,
        "commission_rate": 0.01,
        "provider_fee_amount": 1500,
        "provider_fee_rate": 0.02,
        "net_amount": 72750,
        "description": "Premium subscription",
        "callback_url": "https://your-app.com/webhooks/rohopay",
        "failover_reason": "",
        "environment": "live",
        "created_at": "2024-07-01T10:00:00Z",
        "updated_at": "2024-07-01T10:01:30Z"
    })
}

/// The documented error envelope.
pub(crate) fn error_body(code: &str, message: &str) -> Value {
    json!({"success": false, "error": {"code": code, "message": message}})
}

/// Waits until `mock` has been called `n` times (the client runs concurrently).
pub(crate) async fn wait_calls(mock: &httpmock::Mock<'_>, n: usize) {
    let start = Instant::now();
    while mock.calls_async().await < n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "mock never reached {n} calls"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
