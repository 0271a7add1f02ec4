//! App info, balances and health.

use httpmock::prelude::*;
use serde_json::json;
use xrocket::{Asset, Client, Decimal, HealthStatus};

use crate::{authed, client, exact_query};

#[tokio::test]
async fn app_info() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(authed(when.method(GET).path("/api/v1/app-info")), &[]);
            then.status(200)
                .json_body(json!({"id": "app-31", "name": "My Shop"}));
        })
        .await;
    let info = client(&server.base_url()).app().info().await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(info.id, "app-31");
    assert_eq!(info.name, "My Shop");
}

#[tokio::test]
async fn app_balances() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(authed(when.method(GET).path("/api/v1/balances")), &[]);
            then.status(200).json_body(json!({"balances": [
                {"asset": "TONCOIN", "balance": "12.345678901", "available": "10.345678901", "holds": "2"},
                {"asset": "SCALE", "balance": "0", "available": "0", "holds": "0"}
            ]}));
        })
        .await;
    let b = client(&server.base_url()).app().balances().await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(b[0].asset, Asset::Toncoin);
    assert_eq!(b[0].balance, Decimal::new(12_345_678_901, 9));
    assert_eq!(b[0].available, Some(Decimal::new(10_345_678_901, 9)));
    assert_eq!(b[0].holds, Some(Decimal::TWO));
    // An asset this crate does not know stays usable.
    assert_eq!(b[1].asset, Asset::Unknown("SCALE".into()));
    assert_eq!(b[1].asset.as_str(), "SCALE");
}

#[tokio::test]
async fn health_is_public_and_unprefixed() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(when.method(GET).path("/health"), &[]).header_missing("authorization");
            then.status(200).json_body(json!({
                "status": "ok", "info": {"database": {"status": "up"}}, "error": {}, "details": {"database": {"status": "up"}}
            }));
        })
        .await;
    // Even a client with a token sends none to /health.
    let h = client(&server.base_url()).health().await.unwrap();
    assert_eq!(h.status, HealthStatus::Ok);
    assert_eq!(h.info.unwrap()["database"]["status"], "up");
    let public = Client::builder().base_url(server.base_url()).build().unwrap();
    assert_eq!(public.health().await.unwrap().status, HealthStatus::Ok);
    m.assert_calls_async(2).await;
}
