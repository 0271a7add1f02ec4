//! Wire tests for the ROCheap client: every endpoint against httpmock with the documented
//! method, path, headers and body, every error shape, the never-pay-twice behaviour of
//! `create_order`, callback verification, and the secret-leak check.

mod account;
mod callbacks;
mod errors;
#[cfg(feature = "axum")]
mod intake;
mod leak;
mod orders;
#[cfg(feature = "sandbox")]
mod sandbox;

use std::time::Duration;

use rocheap::{Client, ReconcilePolicy, RetryPolicy};

pub(crate) const KEY: &str = "rk_live_9f8e7d6c5b4a_SECRET";

/// A client for `base` with fast retries and short reconcile spacing, so tests stay quick.
pub(crate) fn client(base: &str) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(base)
        .retry_policy(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(10))
                .max_delay(Duration::from_millis(20))
                .jitter_seed(3),
        )
        .reconcile_policy(ReconcilePolicy {
            lookups: 2,
            spacing: Duration::from_millis(50),
        })
        .build()
        .unwrap()
}

/// The documented order object (get-order page), as ROCheap returns it.
pub(crate) fn order_json(status: &str) -> serde_json::Value {
    serde_json::json!({
        "success": true,
        "status": {"code": status, "message": "Order has been created!"},
        "delivery_method": "gamepass",
        "cost": 0.0475,
        "robux": 10,
        "after_tax_robux": 7,
        "order_id": "cz577bf0-93c4-4e6d-9b3c-0c9d8b2a1f00",
        "custom_order_id": "inv-1001",
        "universe_id": 4284924817u64,
        "place_id": 3927852479u64,
        "receiver_roblox_user_id": 1,
        "receiver_roblox_username": "Roblox",
        "gamepass_id": 424,
        "gamepass_product_id": 242536
    })
}
