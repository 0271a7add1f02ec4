use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use httpmock::prelude::*;
use payout_core::test_util::{DropMode, DropServer};
use rocheap::{
    Client, CreateOrder, Decimal, ErrorCode, ErrorKind, GetOrder, Keyed, Order, OrderId, OrderStatus,
    PollOptions, ReconcilePolicy,
};
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
        .create(
            &CreateOrder::new(10, 1, 4284924817, 3927852479)
                .custom_order_id("inv-1001")
                .unwrap(),
        )
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

/// The generated custom id exists from construction: readable (and storable) before
/// sending, and exactly what goes on the wire.
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
    let req = CreateOrder::new(10, 1, 2, 3);
    let key_before_sending = req.key().to_string();
    assert!(
        key_before_sending.starts_with("payout-rs-"),
        "{key_before_sending}"
    );
    assert_eq!(key_before_sending.len(), "payout-rs-".len() + 36);
    assert_ne!(
        CreateOrder::new(10, 1, 2, 3).key(),
        key_before_sending,
        "unique per value"
    );
    let order = client(&server.base_url()).orders().create(&req).await.unwrap();
    let sent = seen.lock().unwrap().clone().expect("a custom_order_id was sent");
    assert_eq!(sent, key_before_sending);
    assert_eq!(order.custom_order_id.as_deref(), Some(sent.as_str()));
    assert_eq!(req.key(), key_before_sending, "the value keeps its key");
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
    ];
    for (req, field) in cases {
        let e = c.orders().create(&req).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.field(), Some(field));
        assert!(e.to_string().contains("nothing was sent"));
    }
    assert!(
        CreateOrder::new(1, 1, 2, 3)
            .custom_order_id("x".repeat(255))
            .unwrap()
            .validate()
            .is_ok()
    );
    // A request value read back from a journal is checked again before sending.
    let mut stored = serde_json::to_value(CreateOrder::new(1, 1, 2, 3)).unwrap();
    stored["custom_order_id"] = json!("has space");
    let from_journal: CreateOrder = serde_json::from_value(stored).unwrap();
    let e = c.orders().create(&from_journal).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.field(), Some("custom_order_id"));
    m.assert_calls_async(0).await;
}

/// ROCheap documents `custom_order_id` as String(255). An id the caller sets that is empty,
/// too long, or has whitespace, control or non-ASCII characters is refused at construction,
/// naming the field: never dropped, never replaced by a generated one.
#[test]
fn invalid_caller_custom_order_ids_are_refused_not_dropped() {
    let too_long = "x".repeat(256);
    for bad in [
        "",
        " ",
        "inv 1001",
        " inv-1",
        "inv-1 ",
        "inv\t1",
        "inv\n1",
        "inv\u{7f}1",
        "inv\u{0}",
        "заказ-1",
        too_long.as_str(),
    ] {
        let e = CreateOrder::new(10, 1, 2, 3).custom_order_id(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
        assert_eq!(e.field(), Some("custom_order_id"), "{bad:?}");
        assert!(e.to_string().contains("nothing was sent"), "{e}");
    }
    for good in ["inv-1001", "a", "order/42?x=1", &"y".repeat(255)] {
        let req = CreateOrder::new(10, 1, 2, 3).custom_order_id(good).unwrap();
        assert_eq!(req.key(), good);
    }
}

/// Request values of money-moving calls round-trip through serde (payout-journal stores
/// them), and serialize to exactly the documented request body.
#[test]
fn create_order_serializes_as_the_documented_body() {
    let req = CreateOrder::new(10, 1, 4284924817, 3927852479)
        .custom_order_id("inv-1001")
        .unwrap();
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(
        v,
        json!({"robux": 10, "roblox_user_id": 1, "universe_id": 4284924817u64, "place_id": 3927852479u64, "custom_order_id": "inv-1001"})
    );
    let back: CreateOrder = serde_json::from_value(v).unwrap();
    assert_eq!(back, req);
    let order: Order = serde_json::from_value(order_json("CREATED")).unwrap();
    let again: Order = serde_json::from_value(serde_json::to_value(&order).unwrap()).unwrap();
    assert_eq!(again, order);
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
        .get("cz577bf0-93c4-4e6d-9b3c-0c9d8b2a1f00")
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
        .get(OrderId::from("o1"))
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
        .create(&CreateOrder::new(10, 1, 2, 3).custom_order_id("inv-drop").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert!(e.may_have_succeeded());
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("inv-drop"));
    assert!(
        e.message()
            .contains("looking it up by custom_order_id `inv-drop` failed too"),
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
    let c = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .attempt_timeout(Duration::from_millis(200))
        .reconcile_policy(ReconcilePolicy {
            lookups: 2,
            spacing: Duration::from_millis(10),
        })
        .build()
        .unwrap();
    let order = c
        .orders()
        .create(
            &CreateOrder::new(10, 1, 4284924817, 3927852479)
                .custom_order_id("inv-1001")
                .unwrap(),
        )
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
        .create(&CreateOrder::new(10, 1, 2, 3).custom_order_id("inv-500").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(e.status(), Some(500));
    assert!(
        e.message()
            .contains("no object with custom_order_id `inv-500` was found yet"),
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
                "o-9",
                &PollOptions::default()
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

/// At the deadline the poll is a Timeout carrying the last order seen, never `Ok` with an
/// order that is still processing.
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
            OrderId::from("o-stuck"),
            &PollOptions::default()
                .interval(Duration::from_millis(20))
                .timeout(Duration::from_millis(200)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.message().contains("not final"), "{}", e.message());
    let last = e.last_state::<Order>().expect("the last order seen is attached");
    assert_eq!(last.status.code, OrderStatus::Processing);
    assert_eq!(last.order_id.as_str(), "cz577bf0-93c4-4e6d-9b3c-0c9d8b2a1f00");
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
        .create(
            &CreateOrder::new(25, 1, 4284924817, 3927852479)
                .custom_order_id("inv-reused")
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert!(e.may_have_succeeded());
    assert_eq!(e.field(), Some("robux"));
    assert!(e.message().contains("`robux` differs"), "{}", e.message());
    create.assert_calls_async(1).await;
    lookup.assert_calls_async(1).await;

    // The same lookup for the matching request is accepted.
    let order = client(&server.base_url())
        .orders()
        .create(
            &CreateOrder::new(10, 1, 4284924817, 3927852479)
                .custom_order_id("inv-reused")
                .unwrap(),
        )
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
            let mut body = order_json("CREATED");
            body["custom_order_id"] = json!("inv-html");
            then.status(200).json_body(body);
        })
        .await;
    let order = client(&server.base_url())
        .orders()
        .create(
            &CreateOrder::new(10, 1, 4284924817, 3927852479)
                .custom_order_id("inv-html")
                .unwrap(),
        )
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
        .create(
            &CreateOrder::new(10, 1, 4284924817, 3927852479)
                .custom_order_id("inv-html")
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous, "{e:?}");
    assert!(e.may_have_succeeded());
    assert_eq!(e.status(), Some(200));
    assert!(e.to_string().contains("inv-html"), "{e}");
    create.assert_calls_async(2).await;
}

/// The same undecodable 2xx on create, and an order under the custom id that is a different
/// payout: ROCheap does not document refusing a repeated custom id, so ours may exist beside
/// it; the outcome stays Ambiguous (never a plain refusal that invites a new payout).
#[tokio::test]
async fn create_order_undecodable_2xx_with_an_earlier_order_under_the_id_stays_ambiguous() {
    let server = MockServer::start_async().await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST).path("/create_order");
            then.status(200).body("<html>Order queued</html>");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/get_order_info_by_custom_id/inv-old");
            let mut body = order_json("COMPLETED");
            body["custom_order_id"] = json!("inv-old");
            then.status(200).json_body(body);
        })
        .await;
    let e = client(&server.base_url())
        .orders()
        .create(
            &CreateOrder::new(99, 1, 4284924817, 3927852479)
                .custom_order_id("inv-old")
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous, "{e:?}");
    assert!(e.may_have_succeeded());
    assert!(!e.is_retryable());
    assert_eq!(e.field(), Some("robux"));
    create.assert_calls_async(1).await;
}

/// A lookup by custom id that answers with an order carrying another custom id is not ours.
#[tokio::test]
async fn create_order_reconciliation_checks_the_custom_id_of_the_order_found() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/create_order");
            then.status(503).body("<html>Service Unavailable</html>");
        })
        .await;
    server
        .mock_async(|when, then| {
            // order_json carries custom_order_id "inv-1001".
            when.method(GET).path("/get_order_info_by_custom_id/inv-mine");
            then.status(200).json_body(order_json("CREATED"));
        })
        .await;
    let e = client(&server.base_url())
        .orders()
        .create(
            &CreateOrder::new(10, 1, 4284924817, 3927852479)
                .custom_order_id("inv-mine")
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous, "{e:?}");
    assert_eq!(e.field(), Some("custom_order_id"));
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("inv-mine"));
}

/// Every endpoint is a value the one generic `send` runs (here the lookup by id), and the
/// handler is sugar over it.
#[tokio::test]
async fn send_runs_a_request_value() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/get_order_info/o%2F1")
                .header("rocheap-api-key", KEY);
            then.status(200).json_body(order_json("COMPLETED"));
        })
        .await;
    let c = client(&server.base_url());
    let order = c.send(&GetOrder::new("o/1")).await.unwrap();
    assert_eq!(order.status.code, OrderStatus::Completed);
    let order = payout_core::ApiClient::send(&c, &GetOrder::new("o/1"))
        .await
        .unwrap();
    assert_eq!(order.status.code, OrderStatus::Completed);
    let e = c.send(&GetOrder::new("")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.field(), Some("order_id"));
    m.assert_calls_async(2).await;
}

/// Hot-path rule: a caller's custom id costs no generated one (a UUID is a `getrandom` call,
/// a format and an allocation per order), however the value is read, copied or stored.
#[test]
fn custom_order_id_setter_generates_no_id() {
    let before = payout_core::IdempotencyKey::generated_on_this_thread();
    let req = CreateOrder::new(10, 1, 2, 3).custom_order_id("inv-1001").unwrap();
    assert_eq!(req.key(), "inv-1001");
    let copy = req.clone();
    assert_eq!(copy, req);
    let _ = format!("{req:?}");
    let json = serde_json::to_string(&req).unwrap();
    let back: CreateOrder = serde_json::from_str(&json).unwrap();
    assert_eq!(back.key(), "inv-1001");
    payout_core::Endpoint::to_request(&req).unwrap();
    assert_eq!(payout_core::IdempotencyKey::generated_on_this_thread(), before);
}

/// A constructor alone generates exactly one id, on first read (here: the first send), and
/// the same value sent twice, and its clone, carry that one id on the wire.
#[tokio::test]
async fn a_generated_custom_order_id_is_made_once_and_sent_every_time() {
    let server = MockServer::start_async().await;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s2 = seen.clone();
    server
        .mock_async(move |when, then| {
            when.method(POST).path("/create_order").is_true(move |req| {
                let v: serde_json::Value = serde_json::from_slice(req.body().as_ref()).unwrap_or_default();
                s2.lock()
                    .unwrap()
                    .push(v["custom_order_id"].as_str().unwrap_or_default().to_string());
                true
            });
            let mut body = order_json("CREATED");
            body["custom_order_id"] = serde_json::Value::Null;
            then.status(200).json_body(body);
        })
        .await;
    let before = payout_core::IdempotencyKey::generated_on_this_thread();
    let req = CreateOrder::new(10, 1, 2, 3);
    assert_eq!(
        payout_core::IdempotencyKey::generated_on_this_thread(),
        before,
        "nothing generated before the first read"
    );
    let c = client(&server.base_url());
    let first = c.orders().create(&req).await.unwrap();
    c.orders().create(&req).await.unwrap();
    c.orders().create(&req.clone()).await.unwrap();
    assert_eq!(
        payout_core::IdempotencyKey::generated_on_this_thread(),
        before + 1
    );
    let ids = seen.lock().unwrap().clone();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids[0].starts_with("payout-rs-"), "{ids:?}");
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(req.key(), ids[0]);
    assert_eq!(first.custom_order_id.as_deref(), Some(ids[0].as_str()));
}
