//! The documented flow end to end against the offline sandbox, and the fault scenarios that
//! prove from the sandbox's own record that no order is ever created twice.

use std::time::Duration;

use payout_core::sandbox::{Fault, WebhookInbox};
use rocheap::sandbox::{Sandbox, USER_WITH_WRONG_PASS_PRICE};
use rocheap::webhook::{Callback, Verifier};
use rocheap::{CreateOrder, Decimal, ErrorCode, ErrorKind, Keyed, OrderStatus, ProviderErrorCode};

#[tokio::test]
async fn documented_flow_with_signed_callbacks() {
    let sandbox = Sandbox::start().await.unwrap();
    let inbox = WebhookInbox::start().await.unwrap();
    sandbox.set_webhook_url(inbox.url());
    let client = sandbox.client();

    assert_eq!(client.ping().await.unwrap().message.as_deref(), Some("pong"));
    let before = client.balance().await.unwrap().amount;
    let req = CreateOrder::new(10, 1, 4284924817, 3927852479)
        .custom_order_id("flow-1")
        .unwrap();
    let order = client.orders().create(&req).await.unwrap();
    assert_eq!(order.status.code, OrderStatus::Created);
    assert_eq!(
        client.balance().await.unwrap().amount,
        before - Decimal::new(475, 4)
    );

    assert_eq!(sandbox.advance().await, vec![order.order_id.to_string()]);
    assert_eq!(sandbox.advance().await, vec![order.order_id.to_string()]);
    assert!(sandbox.advance().await.is_empty(), "a final order does not move");
    let callbacks = inbox.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(callbacks.len(), 2);
    let verifier = Verifier::new(sandbox.api_key());
    let last = callbacks.last().unwrap();
    let headers: Vec<(String, String)> = last.headers.clone();
    let Callback::Order(verified) = verifier.verify(&headers, &last.body).unwrap().parse().unwrap() else {
        panic!("the callback is an order")
    };
    assert_eq!(verified.status.code, OrderStatus::Completed);
    assert_eq!(verified.order_id, order.order_id);

    // The sandbox's own record of what it delivered: headers and raw body, verifiable.
    let deliveries = sandbox.deliveries();
    assert_eq!(deliveries.len(), 2);
    for d in &deliveries {
        assert_eq!(d.status, Some(200));
        assert_eq!(d.url, inbox.url());
        let v = verifier.verify(&d.header_map(), &d.body).unwrap();
        let Callback::Order(o) = v.parse().unwrap() else {
            panic!("delivered an order")
        };
        assert_eq!(o.custom_order_id.as_deref(), Some(req.key()));
    }
    assert!(
        Verifier::new("another key")
            .verify(&deliveries[0].header_map(), &deliveries[0].body)
            .is_err()
    );
    assert_eq!(
        client
            .orders()
            .get_by_custom_id("flow-1")
            .await
            .unwrap()
            .status
            .code,
        OrderStatus::Completed
    );
}

#[tokio::test]
async fn response_lost_after_processing_is_reconciled_and_created_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/create_order", 1, Fault::DropAfterProcessing);
    let order = sandbox
        .client()
        .orders()
        .create(&CreateOrder::new(10, 1, 2, 3).custom_order_id("lost-1").unwrap())
        .await
        .unwrap();
    assert_eq!(order.custom_order_id.as_deref(), Some("lost-1"));
    assert_eq!(sandbox.orders_created(), 1);
    assert_eq!(sandbox.server().count("POST", "/create_order"), 1);
}

#[tokio::test]
async fn request_lost_before_processing_is_ambiguous_and_never_resent() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/create_order", 1, Fault::DropAfterRead);
    let e = sandbox
        .client()
        .orders()
        .create(&CreateOrder::new(10, 1, 2, 3).custom_order_id("lost-2").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(sandbox.orders_created(), 0);
    assert_eq!(sandbox.server().count("POST", "/create_order"), 1);
}

#[tokio::test]
async fn a_502_page_on_create_is_not_retried_blindly() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/create_order", 1, Fault::HtmlPage(502));
    let e = sandbox
        .client()
        .orders()
        .create(&CreateOrder::new(10, 1, 2, 3).custom_order_id("gw-1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(e.status(), Some(502));
    assert_eq!(sandbox.server().count("POST", "/create_order"), 1);
    assert_eq!(sandbox.orders_created(), 0);
}

#[tokio::test]
async fn user_caused_failure_refunds_and_insufficient_balance_refuses() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.fail_orders_for_user(USER_WITH_WRONG_PASS_PRICE, ErrorCode::OrderFailedUserError);
    let client = sandbox.client();
    let order = client
        .orders()
        .create(&CreateOrder::new(100, USER_WITH_WRONG_PASS_PRICE, 2, 3))
        .await
        .unwrap();
    assert_eq!(sandbox.balance(), Decimal::new(99525, 3));
    sandbox.advance().await;
    sandbox.advance().await;
    let failed = client.orders().get(&order.order_id).await.unwrap();
    assert_eq!(sandbox.order(&order.order_id), Some(failed.clone()));
    assert_eq!(failed.status.code, OrderStatus::Failed);
    assert!(failed.is_user_error());
    assert_eq!(sandbox.balance(), Decimal::new(100, 0), "refunded");

    sandbox.set_balance(Decimal::ZERO);
    let e = client
        .orders()
        .create(&CreateOrder::new(10, 1, 2, 3))
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientBalance));
    assert_eq!(sandbox.orders_created(), 1);
}

#[tokio::test]
async fn wrong_key_is_refused_like_rocheap_does() {
    let sandbox = Sandbox::start().await.unwrap();
    let c = rocheap::Client::builder()
        .api_key("wrong")
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let e = c.ping().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(e.message(), "Invalid API key.");
}

#[test]
fn signed_callback_builder_verifies_with_the_same_key() {
    let order: rocheap::Order = serde_json::from_value(serde_json::json!({
        "order_id": "o-1", "status": {"code": "COMPLETED", "message": "done"}, "cost": 0.0475
    }))
    .unwrap();
    let cb = rocheap::sandbox::signed_callback(&order, "my_key").unwrap();
    let parsed = Verifier::new("my_key")
        .verify(&cb.headers, &cb.body)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(parsed.order().map(|o| &o.order_id), Some(&order.order_id));
    assert!(Verifier::new("other").verify(&cb.headers, &cb.body).is_err());
}
