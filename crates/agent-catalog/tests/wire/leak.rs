//! No secret in logs, `Debug` or errors: the API key, a delivered voucher code and the buyer's
//! account fields.

use agent_catalog::{CreateOrder, Decimal, IdempotencyKey, TopupRequest};
use httpmock::prelude::*;
use payout_core::test_util::{LogCapture, assert_no_secret};
use serde_json::json;

use crate::{KEY, VOUCHER, builder, client, completed_order_json, created_order_json, p};

const ACCOUNT: &str = "steam-login-secret-player-77";

#[tokio::test]
async fn no_secret_reaches_logs_debug_or_errors() {
    let capture = LogCapture::start();
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders")).header("authorization", KEY);
            then.status(201).json_body(created_order_json("order-9"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders/o-9"));
            then.status(200).json_body(completed_order_json());
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/balance"));
            // A provider that echoes the key in its error must not make us leak it.
            then.status(401).body(format!("invalid key {KEY}"));
        })
        .await;
    let c = client(&server);
    let req = CreateOrder::new(456)
        .topup_request(TopupRequest::new(Decimal::from(10)).account("steam_login", ACCOUNT))
        .idempotency_key(IdempotencyKey::new("order-9").unwrap());
    let created = c.orders().create(&req).await.unwrap();
    let done = c.orders().get("o-9").await.unwrap();
    assert_eq!(done.order_content.voucher_code(), Some(VOUCHER));
    let err = c.balance().get().await.unwrap_err();
    let builder_debug = format!(
        "{:?}",
        builder("http://127.0.0.1:9").proxy(format!("http://u:{KEY}@127.0.0.1:9"))
    );

    let debug = format!(
        "{c:?} {builder_debug} {req:?} {:?} {created:?} {done:?} {:?} {err:?} {err} {:?} {:?} {:?} {:?}",
        req.get_topup_request(),
        done.order_content,
        err.body_snippet(),
        agent_catalog::ProductFilter::new().currency_code("USD"),
        agent_catalog::OrderFilter::new().page(1),
        agent_catalog::DepositFilter::new(),
    );
    let logs = capture.contents();
    assert!(logs.contains("attempt finished"), "capture saw nothing: {logs}");
    let secrets = [
        ("api key", KEY),
        ("voucher", VOUCHER),
        ("customer account", ACCOUNT),
    ];
    assert_no_secret(&logs, &secrets, "TRACE logs");
    assert_no_secret(&debug, &secrets, "Debug or Display output");
    // Still usable: the redaction is in Debug only.
    assert!(format!("{:?}", done.order_content).contains("voucher_code"));
    let _ = json!({});
}
