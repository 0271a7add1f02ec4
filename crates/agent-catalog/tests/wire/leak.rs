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
        TopupRequest::new(Decimal::from(10)).account("steam_login", ACCOUNT),
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

/// An order body that fails to decode must not carry the delivered voucher into the error's
/// body snippet (printed by `Debug`, which is what ends up in logs).
#[tokio::test]
async fn an_undecodable_order_does_not_leak_its_voucher() {
    let server = MockServer::start_async().await;
    let mut bad = completed_order_json();
    bad["charged_amount"] = json!("twelve fifty");
    let bad_page = json!({"items": [bad.clone()], "page": 1, "pageSize": 50, "total": 1});
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders/o-1"));
            then.status(200).json_body(bad.clone());
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders"));
            then.status(200).json_body(bad_page);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            // Truncated: cannot be parsed, so cannot be redacted field by field.
            then.status(201).body(format!(
                r#"{{"id":"o-1","status":"completed","order_content":{{"voucher_code":"{VOUCHER}""#
            ));
        })
        .await;
    let c = client(&server);
    let secrets = [("voucher", VOUCHER)];
    let e1 = c.orders().get("o-1").await.unwrap_err();
    let e2 = c
        .orders()
        .list(&agent_catalog::OrderFilter::new())
        .await
        .unwrap_err();
    // The create's outcome is unknown and its lookup (the same undecodable list) fails too:
    // Ambiguous, still without the voucher.
    let e3 = c.orders().create(&CreateOrder::new(101)).await.unwrap_err();
    for e in [&e1, &e2] {
        assert_eq!(e.kind(), agent_catalog::ErrorKind::Decode);
    }
    assert_eq!(e3.kind(), agent_catalog::ErrorKind::Ambiguous);
    for e in [&e1, &e2, &e3] {
        assert_no_secret(&format!("{e:?} {e}"), &secrets, "a decode error");
    }
    assert!(e3.may_have_succeeded());
    // What is left is still useful for diagnosis.
    let snippet = e1.body_snippet().unwrap();
    assert!(snippet.contains("twelve fifty"), "{snippet}");
}
