//! Wire tests for the romplhub crate: one module per resource, all against httpmock on
//! loopback (or payout-core's connection-dropping server). Nothing touches the internet.

mod auth;
mod balance;
mod errors;
#[cfg(feature = "axum")]
mod intake;
mod leak;
mod orders;
mod packs;
mod products;
mod protocol;
mod safety;
#[cfg(feature = "sandbox")]
mod sandbox;
mod webhook;

use std::time::Duration;

use romplhub::{Client, RetryPolicy};

/// A test API key; long and unique so a leak check can find it anywhere.
pub const API_KEY: &str = "vx_test_key_DO_NOT_LEAK_8c1f2e9a";
/// A test JWT.
pub const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.test-jwt-DO-NOT-LEAK.c2lnbmF0dXJl";

/// Fast, deterministic retries for tests.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(20))
        .jitter_seed(7)
}

/// A client with the API key, pointed at `base`.
pub fn client(base: &str) -> Client {
    Client::builder()
        .api_key(API_KEY)
        .base_url(base)
        .retry_policy(fast_retries())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A client with a JWT, pointed at `base`.
pub fn jwt_client(base: &str) -> Client {
    Client::builder()
        .access_token(JWT)
        .base_url(base)
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

/// The documented product table, as `GET /products` is assumed to return it.
pub fn products_json() -> serde_json::Value {
    serde_json::json!([
        {"id": "robux_88", "robux": 88, "tokens": 11, "usd": 0.99},
        {"id": "robux_550", "robux": 550, "tokens": 25, "usd": 4.99},
        {"id": "robux_1000", "robux": 1000, "tokens": 45, "usd": 9.99},
        {"id": "robux_2200", "robux": 2200, "tokens": 100, "usd": 19.99}
    ])
}
