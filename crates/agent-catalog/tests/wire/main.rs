//! Wire tests: every endpoint against an httpmock server on loopback, asserting the exact
//! request the provider documents and the typed result of its documented response.

mod balance;
mod catalog;
mod client;
mod deposits;
mod errors;
mod health;
mod leak;
mod orders;
mod protocol;
#[cfg(feature = "sandbox")]
mod sandbox;

use std::time::{Duration, Instant};

use agent_catalog::{Client, ClientBuilder, ReconcilePolicy, RetryPolicy};
use httpmock::MockServer;
use serde_json::{Value, json};

/// Looks like a real key so a leak would be obvious; never sent anywhere but loopback.
pub(crate) const KEY: &str = "gk_live_DO_NOT_LEAK_5d1e7a9c3b";
pub(crate) const AGENT: &str = "a12d5be1-3456-4c18-b111-33cdd0a1cc99";
pub(crate) const AGENT_PATH: &str = "/agent/a12d5be1-3456-4c18-b111-33cdd0a1cc99";

/// The builder every test starts from: fast, deterministic retries.
pub(crate) fn builder(base_url: &str) -> ClientBuilder {
    Client::builder()
        .api_key(KEY)
        .agent_id(AGENT)
        .base_url(base_url)
        .retry_policy(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(20))
                .max_delay(Duration::from_millis(50))
                .jitter_seed(7),
        )
        .attempt_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .reconcile_policy(ReconcilePolicy {
            lookups: 2,
            spacing: Duration::from_millis(10),
        })
}

pub(crate) fn client(server: &MockServer) -> Client {
    builder(&server.base_url()).build().unwrap()
}

pub(crate) fn p(suffix: &str) -> String {
    format!("{AGENT_PATH}{suffix}")
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

/// The documented product (Get product example): prices are JSON numbers.
pub(crate) fn product_json() -> Value {
    json!({
        "id": 456,
        "name": "Steam Wallet Top Up",
        "slug": "steam-wallet-top-up",
        "category_id": 12,
        "product_type_id": 3,
        "region_code": "GLOBAL",
        "currency_code": "USD",
        "logo": "https://cdn.example.com/steam.png",
        "price": 10,
        "min_amount": 5,
        "max_amount": 100,
        "step": 1,
        "description": "Top up any Steam account",
        "is_active": true
    })
}

/// A voucher product.
pub(crate) fn voucher_json() -> Value {
    json!({
        "id": 101,
        "name": "Google Play 25 USD",
        "slug": "google-play-25-usd",
        "category_id": 7,
        "product_type_id": 1,
        "region_code": "US",
        "currency_code": "USD",
        "price": "25.00",
        "is_active": true
    })
}

/// The documented product types (a bare array).
pub(crate) fn types_json() -> Value {
    json!([
        {"id": 1, "code": "redeem_card", "name": "Redeemable Card"},
        {"id": 2, "code": "direct_transfer", "name": "Direct Transfer"},
        {"id": 3, "code": "direct_top_up", "name": "Direct Top-up"}
    ])
}

/// The documented Create order response (201, pending, vendor id in `order_content`).
pub(crate) fn created_order_json(key: &str) -> Value {
    json!({
        "id": "8f0c3b7e-6b7a-4a53-9a7e-2b8f1d1c9e01",
        "product_id": 456,
        "external_ref": "INV-1001",
        "idempotency_key": key,
        "status": "pending",
        "order_content": {"vendor_order_id": "LC-123456"},
        "currency_code": "USD",
        "charged_amount": "12.50",
        "balance_before": "100.00",
        "balance_after": "87.50",
        "is_test": false,
        "region_code": "GLOBAL",
        "created_at": "2024-11-01T10:00:00Z",
        "completed_at": null,
        "failed_at": null
    })
}

/// The documented Get order response (completed voucher).
pub(crate) const VOUCHER: &str = "ABCD-EFGH-IJKL";
pub(crate) fn completed_order_json() -> Value {
    json!({
        "id": "8f0c3b7e-6b7a-4a53-9a7e-2b8f1d1c9e01",
        "product_id": 456,
        "external_ref": "INV-1001",
        "idempotency_key": "order-1001",
        "status": "completed",
        "order_content": {"voucher_code": VOUCHER},
        "currency_code": "USD",
        "charged_amount": "12.50",
        "balance_before": "100.00",
        "balance_after": "87.50",
        "is_test": false,
        "region_code": "GLOBAL",
        "created_at": "2024-11-01T10:00:00Z",
        "completed_at": "2024-11-01T10:00:05Z",
        "failed_at": null
    })
}

/// The documented balance response.
pub(crate) fn balance_json() -> Value {
    json!({"items": [
        {"currency_code": "USD", "available": "87.50", "updated_at": "2024-11-01T10:00:00Z"},
        {"currency_code": "EUR", "available": "40.00", "updated_at": "2024-11-01T10:00:00Z"}
    ]})
}
