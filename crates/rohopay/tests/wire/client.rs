//! Building the client: environments from key prefixes, mismatches refused, the raw API.

use httpmock::prelude::*;
use rohopay::{Client, Environment, ErrorKind};
use serde_json::{Value, json};

use crate::common::*;

#[test]
fn environment_is_read_from_the_key_prefix() {
    assert_eq!(Client::new(LIVE_KEY).unwrap().environment(), Environment::Live);
    assert_eq!(Client::new(TEST_KEY).unwrap().environment(), Environment::Sandbox);
    let c = Client::new(LIVE_KEY).unwrap();
    assert_eq!(c.base_url(), rohopay::DEFAULT_BASE_URL);
    assert_eq!(Environment::Sandbox.as_wire(), "test");
    assert_eq!(Environment::of_key("sk_abc"), None);
}

#[test]
fn a_key_of_the_other_environment_is_refused() {
    let err = Client::builder()
        .api_key(TEST_KEY)
        .environment(Environment::Live)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("`test_` key"), "{err}");
    assert!(!err.to_string().contains(TEST_KEY));
    let err = Client::builder()
        .api_key(LIVE_KEY)
        .environment(Environment::Sandbox)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!format!("{err:?}").contains(LIVE_KEY));
    // Matching assertions pass.
    let c = Client::builder()
        .api_key(LIVE_KEY)
        .environment(Environment::Live)
        .build()
        .unwrap();
    assert_eq!(c.environment(), Environment::Live);
}

#[test]
fn a_key_without_a_known_prefix_needs_an_explicit_environment() {
    let err = Client::new("sk_live_12345678").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("`live_` or `test_`"), "{err}");
    assert!(!err.to_string().contains("sk_live_12345678"));
    let c = Client::builder()
        .api_key("rk_future_format")
        .environment(Environment::Sandbox)
        .build()
        .unwrap();
    assert_eq!(c.environment(), Environment::Sandbox);
    let err = Client::builder().build().unwrap_err();
    assert!(err.to_string().contains("ROHOPAY_API_KEY"), "{err}");
    let err = Client::builder()
        .api_key(LIVE_KEY)
        .base_url("not a url")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn raw_api_reuses_bearer_auth() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/something-new")
                .header("authorization", format!("Bearer {LIVE_KEY}"))
                .header_exists("user-agent");
            then.status(200)
                .json_body(json!({"success": true, "data": {"x": 1}}));
        })
        .await;
    let v: Value = client(&server).raw().get("/api/v1/something-new").await.unwrap();
    assert_eq!(v["data"]["x"], 1);
    m.assert_calls_async(1).await;
}

#[test]
fn rate_limit_presets_match_the_documented_limits() {
    assert_eq!(rohopay::rate_limits::CHECKOUT_PER_MINUTE, 30);
    assert_eq!(rohopay::rate_limits::COLLECT_PER_MINUTE, 100);
    assert_eq!(
        rohopay::rate_limits::checkout_spec(),
        payout_core::RateLimitSpec::per_minute(30)
    );
    assert_eq!(
        rohopay::rate_limits::collect_spec(),
        payout_core::RateLimitSpec::per_minute(100)
    );
    // They plug into the builder.
    Client::builder()
        .api_key(LIVE_KEY)
        .rate_limiter(rohopay::rate_limits::checkout())
        .build()
        .unwrap();
    Client::builder()
        .api_key(LIVE_KEY)
        .rate_limiter(rohopay::rate_limits::per_operation())
        .build()
        .unwrap();
}
