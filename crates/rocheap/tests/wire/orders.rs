use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use httpmock::prelude::*;
use payout_core::test_util::{DropMode, DropServer};
use rocheap::{CreateOrder, Decimal, ErrorCode, ErrorKind, OrderId, OrderStatus, PollOptions};
use serde_json::json;

use crate::{KEY, client, order_json};

#[tokio::test]
async fn create_order_sends_documented_body() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/create_order")
                .header("rocheap-api-key", KEY)
                .header("content-type", "application/json")
                .json_body(json!({
                    "robux": 10,
                    "roblox_user_id": 1,
                    "universe_id": 4284924817u64,
                    "place_id": 3927852479u64,
                    "custom_order_id": "inv-1001"
                }));
            then.status(200).json_body(order_json("CREATED"));
        })
        .await;
    let order = client(&server.base_url())
        .orders()
        .create(CreateOrder::new(10, 1, 4284924817, 3927852479).custom_order_id("inv-1001"))
        .await
        .unwrap();
    assert_eq!(order.status.code, OrderStatus::Created);
    assert!(!order.status.code.is_final());
    assert_eq!(order.order_id.as_str(), "cz577bf0-93c4-4e6d-9b3c-0c9d8b2a1f00");
    assert_eq!(order.cost, Some(Decimal::new(475, 4)));
    assert_eq!(order.after_tax_robux, Some(7));
    assert_eq!(order.gamepass_product_id, Some(242536));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn create_order_generates_and_returns_a_custom_order_id() {
    let server = MockServer::start_async().await;
    let seen = Arc::new(Mutex::new(None::<String>));
    let s2 = seen.clone();
    server
        .mock_async(move |when, then| {
            when.method(POST).path("/create_order").is_true(move |req| {
                let v: serde_json::Value = serde_json::from_slice(req.body().as_ref()).unwrap_or_default();
                *s2.lock().unwrap() = v["custom_order_id"].as_str().map(str::to_string);
                true
            });
            let mut body = order_json("CREATED");
            body["custom_order_id"] = serde_json::Value::Null;
            then.status(200).json_body(body);
        })
        .await;
    let order = client(&server.base_url())
        .orders()
        .create(CreateOrder::new(10, 1, 2, 3))
        .await
        .unwrap();
    let sent = seen.lock().unwrap().clone().expect("a custom_order_id was sent");
    assert!(sent.starts_with("payout-rs-"), "{sent}");
    assert_eq!(order.custom_order_id.as_deref(), Some(sent.as_str()));
}

#[tokio::test]
async fn create_order_validates_before_sending() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(order_json("CREATED"));
        })
        .await;
    let c = client(&server.base_url());
    let cases = [
        (CreateOrder::new(0, 1, 2, 3), "robux"),
        (CreateOrder::new(1, 0, 2, 3), "roblox_user_id"),
        (CreateOrder::new(1, 1, 0, 3), "universe_id"),
        (CreateOrder::new(1, 1, 2, 0), "place_id"),
        (
            CreateOrder::new(1, 1, 2, 3).custom_order_id("x".repeat(256)),
            "custom_order_id",
        ),
        (
            CreateOrder::new(1, 1, 2, 3).custom_order_id(""),
            "custom_order_id",
        ),
    ];
    for (req, field) in cases {
        let e = c.orders().create(req).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.field(), Some(field));
        assert!(e.to_string().contains("nothing was sent"));
    }
    assert!(
        CreateOrder::new(1, 1, 2, 3)
            .custom_order_id("x".repeat(255))
            .validate()
            .is_ok()
    );
    m.assert_calls_async(0).await;
}

#[tokio::test]
async fn get_order_info_reads_a_failed_order() {
    let server = MockServer::start_async().await;
    let mut body = order_json("FAILED");
    body["status"]["message"] = json!("Order has failed!");
    body["failure_code"] = json!({"code": "ORDER_FAILED_USER_ERROR", "message": "Gamepass price was wrong"});
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/get_order_info/cz577bf0-93c4-4e6d-9b3c-0c9d8b2a1f00")
                .header("rocheap-api-key", KEY);
            then.status(200).json_body(body);
        })
        .await;
    let order = client(&server.base_url())
        .orders()
        .get(&OrderId::from("cz577bf0-93c4-4e6d-9b3c-0c9d8b2a1f00"))
        .await
        .unwrap();
    assert_eq!(order.status.code, OrderStatus::Failed);
    assert!(order.status.code.is_final());
    assert_eq!(order.failure(), Some(&ErrorCode::OrderFailedUserError));
    assert!(order.is_user_error());
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn get_order_info_by_custom_id_url_encodes_the_id() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/get_order_info_by_custom_id/inv%201%2F2%3F")
                .header("rocheap-api-key", KEY);
            then.status(200).json_body(order_json("COMPLETED"));
        })
        .await;
    let order = client(&server.base_url())
        .orders()
        .get_by_custom_id("inv 1/2?")
        .await
        .unwrap();
    assert_eq!(order.status.code, OrderStatus::Completed);
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn unknown_status_and_codes_decode_as_unknown() {
    let server = MockServer::start_async().await;
    let mut body = order_json("ON_HOLD");
    body["failure_code"] = json!({"code": "NEW_CODE", "message": "?"});
    body["brand_new_field"] = json!({"nested": [1, 2]});
    server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info/o1");
            then.status(200).json_body(body);
        })
        .await;
    let order = client(&server.base_url())
        .orders()
        .get(&"o1".into())
        .await
        .unwrap();
    assert_eq!(order.status.code, OrderStatus::Unknown("ON_HOLD".into()));
    assert!(!order.status.code.is_final());
    assert_eq!(order.failure(), Some(&ErrorCode::Unknown("NEW_CODE".into())));
}

#[tokio::test]
async fn create_order_whose_connection_drops_after_sending_is_never_sent_twice() {
    let srv = DropServer::start(DropMode::CloseAfterRequest);
    let e = client(&srv.base_url())
        .orders()
        .create(CreateOrder::new(10, 1, 2, 3).custom_order_id("inv-drop"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert!(e.may_have_succeeded());
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("inv-drop"));
    assert!(
        e.message().contains("lookup by custom id failed"),
        "{}",
        e.message()
    );
    let raw = srv.raw_requests();
    let posts = raw
        .iter()
        .filter(|r| r.starts_with(b"POST /create_order"))
        .count();
    let lookups = raw
        .iter()
        .filter(|r| r.starts_with(b"GET /get_order_info_by_custom_id/inv-drop"))
        .count();
    assert_eq!(posts, 1, "create_order must be sent exactly once");
    assert!(
        lookups >= 2,
        "the outcome was looked up by custom id ({lookups} lookups)"
    );
}

#[tokio::test]
async fn create_order_timeout_is_reconciled_by_custom_id() {
    let server = MockServer::start_async().await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST).path("/create_order");
            then.status(200)
                .delay(Duration::from_millis(1500))
                .json_body(order_json("CREATED"));
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/get_order_info_by_custom_id/inv-1001")
                .header("rocheap-api-key", KEY);
            then.status(200).json_body(order_json("PROCESSING"));
        })
        .await;
    let c = rocheap::Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .attempt_timeout(Duration::from_millis(200))
        .reconcile(2, Duration::from_millis(10))
        .build()
        .unwrap();
    let order = c
        .orders()
        .create(CreateOrder::new(10, 1, 4284924817, 3927852479).custom_order_id("inv-1001"))
        .await
        .unwrap();
    assert_eq!(order.status.code, OrderStatus::Processing);
    tokio::time::sleep(Duration::from_millis(300)).await;
    create.assert_calls_async(1).await;
    lookup.assert_calls_async(1).await;
}

#[tokio::test]
async fn create_order_500_not_found_afterwards_stays_ambiguous() {
    let server = MockServer::start_async().await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST).path("/create_order");
            then.status(500).body("<html>Internal Server Error</html>");
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info_by_custom_id/inv-500");
            then.status(200)
                .json_body(json!({"success": false, "error": {"code": "ORDER_NOT_FOUND", "message": "Order not found!"}}));
        })
        .await;
    let e = client(&server.base_url())
        .orders()
        .create(CreateOrder::new(10, 1, 2, 3).custom_order_id("inv-500"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(e.status(), Some(500));
    assert!(
        e.message().contains("no order with that custom id was found yet"),
        "{}",
        e.message()
    );
    assert!(e.to_string().contains("inv-500"));
    create.assert_calls_async(1).await;
    lookup.assert_calls_async(2).await;
}

#[tokio::test]
async fn wait_until_final_polls_a_processing_order_to_completion() {
    let server = MockServer::start_async().await;
    let processing = server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info/o-9");
            then.status(200).json_body(order_json("PROCESSING"));
        })
        .await;
    let completed = server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info/o-9");
            then.status(200).json_body(order_json("COMPLETED"));
        })
        .await;
    let c = client(&server.base_url());
    let poll = tokio::spawn(async move {
        c.orders()
            .wait_until_final(
                &OrderId::from("o-9"),
                PollOptions::default()
                    .interval(Duration::from_millis(100))
                    .timeout(Duration::from_secs(10)),
            )
            .await
    });
    let start = Instant::now();
    while processing.calls_async().await < 2 {
        assert!(start.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    processing.delete_async().await;
    let order = poll.await.unwrap().unwrap();
    assert_eq!(order.status.code, OrderStatus::Completed);
    completed.assert_calls_async(1).await;
}

#[tokio::test]
async fn wait_until_final_gives_up_at_its_timeout() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info/o-stuck");
            then.status(200).json_body(order_json("PROCESSING"));
        })
        .await;
    let e = client(&server.base_url())
        .orders()
        .wait_until_final(
            &OrderId::from("o-stuck"),
            PollOptions::default()
                .interval(Duration::from_millis(20))
                .timeout(Duration::from_millis(200)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.message().contains("still not final"));
}

/// A `custom_order_id` reused from an earlier payout: the order found by it is a different
/// payout, so reconciliation must not report it as the one just created.
#[tokio::test]
async fn create_order_reconciliation_rejects_an_earlier_order_with_the_same_custom_id() {
    let server = MockServer::start_async().await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST).path("/create_order");
            then.status(502).body("<html>Bad Gateway</html>");
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info_by_custom_id/inv-reused");
            // The earlier order under this id: 10 Robux to user 1 (order_json).
            let mut body = order_json("COMPLETED");
            body["custom_order_id"] = json!("inv-reused");
            then.status(200).json_body(body);
        })
        .await;
    let e = client(&server.base_url())
        .orders()
        .create(CreateOrder::new(25, 1, 4284924817, 3927852479).custom_order_id("inv-reused"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert!(e.may_have_succeeded());
    assert!(e.message().contains("`robux` differs"), "{}", e.message());
    create.assert_calls_async(1).await;
    lookup.assert_calls_async(1).await;

    // The same lookup for the matching request is accepted.
    let order = client(&server.base_url())
        .orders()
        .create(CreateOrder::new(10, 1, 4284924817, 3927852479).custom_order_id("inv-reused"))
        .await
        .unwrap();
    assert_eq!(order.status.code, OrderStatus::Completed);
}

/// A 2xx whose body cannot be decoded may be a created order: it is reconciled by custom id
/// like a timeout, and reported as Ambiguous (never as a plain decode error) if not found.
#[tokio::test]
async fn create_order_undecodable_2xx_is_reconciled_not_reported_as_decode() {
    let server = MockServer::start_async().await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST).path("/create_order");
            then.status(200).body("<html>Order queued</html>");
        })
        .await;
    let found = server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info_by_custom_id/inv-html");
            then.status(200).json_body(order_json("CREATED"));
        })
        .await;
    let order = client(&server.base_url())
        .orders()
        .create(CreateOrder::new(10, 1, 4284924817, 3927852479).custom_order_id("inv-html"))
        .await
        .unwrap();
    assert_eq!(order.status.code, OrderStatus::Created);
    create.assert_calls_async(1).await;
    found.assert_calls_async(1).await;
    found.delete_async().await;

    server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info_by_custom_id/inv-html");
            then.status(200)
                .json_body(json!({"success": false, "error": {"code": "ORDER_NOT_FOUND", "message": "Order not found!"}}));
        })
        .await;
    let e = client(&server.base_url())
        .orders()
        .create(CreateOrder::new(10, 1, 4284924817, 3927852479).custom_order_id("inv-html"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous, "{e:?}");
    assert!(e.may_have_succeeded());
    assert_eq!(e.status(), Some(200));
    assert!(e.to_string().contains("inv-html"), "{e}");
    create.assert_calls_async(2).await;
}
