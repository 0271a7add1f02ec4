use httpmock::prelude::*;
use payout_core::webhook::WebhookError;
use romplhub::webhook::{self, WebhookEvent};
use romplhub::{ErrorKind, OrderStatus};
use serde_json::json;

use crate::{API_KEY, client};

const COMPLETED: &str = r#"{
  "event": "order.completed",
  "order": {
    "id": "VX-5A8115EA",
    "status": "completed",
    "product": "2200 Robux",
    "robux_granted": 2200,
    "tokens_charged": 100
  }
}"#;

#[test]
fn parses_the_documented_completed_payload() {
    let event = webhook::parse(COMPLETED.as_bytes()).unwrap();
    let WebhookEvent::OrderCompleted(order) = &event else {
        panic!("expected order.completed, got {event:?}");
    };
    assert_eq!(order.id.as_str(), "VX-5A8115EA");
    assert_eq!(order.status, OrderStatus::Completed);
    assert_eq!(order.product.as_deref(), Some("2200 Robux"));
    assert_eq!(order.robux_granted, Some(2200));
    assert_eq!(order.tokens_charged, Some(100));
    assert_eq!(event.event_type(), "order.completed");
    assert_eq!(event.order_uid().unwrap().as_str(), "VX-5A8115EA");
}

#[test]
fn parses_failed_and_keeps_unknown_events_raw() {
    let failed = br#"{"event":"order.failed","order":{"id":"VX-1","status":"failed","error_message":"Wrong password","tokens_charged":0}}"#;
    let event = webhook::parse(failed).unwrap();
    let WebhookEvent::OrderFailed(order) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(order.error_message.as_deref(), Some("Wrong password"));
    assert_eq!(event.claimed_status(), Some(OrderStatus::Failed));

    let unknown = br#"{"event":"order.refunded","order":{"id":"VX-2","status":"refunded"},"at":1}"#;
    let event = webhook::parse(unknown).unwrap();
    let WebhookEvent::Unknown { event: name, raw } = &event else {
        panic!("{event:?}")
    };
    assert_eq!(name, "order.refunded");
    assert_eq!(raw["at"], json!(1));
    assert_eq!(event.order_uid().unwrap().as_str(), "VX-2");
    assert_eq!(
        event.claimed_status(),
        Some(OrderStatus::Unknown("refunded".into()))
    );
    assert!(event.order().is_none());
}

#[test]
fn rejects_only_bodies_without_json_or_event() {
    for body in [&b"not json"[..], br#"{"order":{}}"#, br#"{"event":7}"#, b"[]"] {
        assert!(matches!(webhook::parse(body), Err(WebhookError::InvalidBody(_))));
    }
}

/// A known event whose order does not decode (RomplHub left out the id, or changed a type)
/// is kept as `Unparsed` with its raw JSON and the decode error: never a refused delivery.
#[test]
fn known_event_with_an_undecodable_order_is_unparsed_not_refused() {
    for (body, has_id) in [
        (&br#"{"event":"order.completed"}"#[..], false),
        (
            br#"{"event":"order.completed","order":{"status":"completed"}}"#,
            false,
        ),
        (
            br#"{"event":"order.failed","order":{"id":"VX-1","status":"failed","robux_granted":"lots"}}"#,
            true,
        ),
    ] {
        let event = webhook::parse(body).unwrap();
        let WebhookEvent::Unparsed {
            event: name,
            raw,
            error,
        } = &event
        else {
            panic!("expected Unparsed, got {event:?}");
        };
        assert!(name.starts_with("order."), "{name}");
        assert_eq!(raw, &serde_json::from_slice::<serde_json::Value>(body).unwrap());
        assert!(error.contains("order"), "{error}");
        assert_eq!(event.event_type(), name.as_str());
        assert!(event.order().is_none());
        // confirm() can still re-fetch it when an id is readable.
        assert_eq!(event.order_uid().is_some(), has_id);
    }
    let event = webhook::parse(
        br#"{"event":"order.failed","order":{"id":"VX-1","status":"failed","robux_granted":"lots"}}"#,
    )
    .unwrap();
    assert_eq!(event.claimed_status(), Some(romplhub::OrderStatus::Failed));
}

#[tokio::test]
async fn confirm_refetches_the_order_with_the_clients_credentials() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-5A8115EA").header("x-api-key", API_KEY);
            then.status(200).json_body(json!({
                "order_uid": "VX-5A8115EA", "status": "completed", "robux_granted": 2200, "tokens_charged": 100
            }));
        })
        .await;
    let event = webhook::parse(COMPLETED.as_bytes()).unwrap();
    let confirmed = webhook::confirm(&client(&server.base_url()), &event)
        .await
        .unwrap();
    mock.assert_calls_async(1).await;
    assert!(confirmed.agrees());
    assert_eq!(confirmed.order.status, OrderStatus::Completed);
}

#[tokio::test]
async fn confirm_exposes_a_forged_claim() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-5A8115EA");
            then.status(200)
                .json_body(json!({"order_uid": "VX-5A8115EA", "status": "purchasing"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-FORGED");
            then.status(404).json_body(json!({"detail": "Order not found"}));
        })
        .await;
    let c = client(&server.base_url());
    let event = webhook::parse(COMPLETED.as_bytes()).unwrap();
    let confirmed = webhook::confirm(&c, &event).await.unwrap();
    assert!(
        !confirmed.agrees(),
        "the webhook claims completed, RomplHub says purchasing"
    );
    assert_eq!(confirmed.order.status, OrderStatus::Purchasing);

    let forged =
        webhook::parse(br#"{"event":"order.completed","order":{"id":"VX-FORGED","status":"completed"}}"#)
            .unwrap();
    let err = webhook::confirm(&c, &forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    let no_id = webhook::parse(br#"{"event":"ping"}"#).unwrap();
    let err = webhook::confirm(&c, &no_id).await.unwrap_err();
    assert_eq!(err.field(), Some("order.id"));
}
