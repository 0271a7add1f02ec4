use httpmock::prelude::*;
use payout_core::test_util::{LogCapture, assert_no_secret};
use rocheap::CreateOrder;
use serde_json::json;

use crate::{KEY, client, order_json};

#[tokio::test]
async fn the_api_key_never_reaches_logs_debug_or_errors() {
    let capture = LogCapture::start();
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/create_order");
            then.status(200).json_body(order_json("CREATED"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info/bad");
            // An error that echoes the key must not make us repeat it.
            then.status(401)
                .json_body(json!({"success": false, "error": format!("Invalid API key {KEY}")}));
        })
        .await;
    let c = client(&server.base_url());
    let req = CreateOrder::new(10, 1, 2, 3).custom_order_id("inv-leak").unwrap();
    let mut seen = format!(
        "{c:?} {req:?} {:?} {:?}",
        rocheap::Client::builder().api_key(KEY),
        rocheap::webhook::Verifier::new(KEY).secret(KEY)
    );
    let order = c.orders().create(&req).await.unwrap();
    seen.push_str(&format!("{order:?}"));
    let e = c.orders().get("bad").await.unwrap_err();
    seen.push_str(&format!("{e:?} {e}"));
    let logs = capture.contents();
    assert!(logs.contains("create_order"), "the capture saw the calls: {logs}");
    assert_no_secret(&logs, &[("ROCheap API key", KEY)], "TRACE logs");
    assert_no_secret(&seen, &[("ROCheap API key", KEY)], "Debug/Display output");
}
