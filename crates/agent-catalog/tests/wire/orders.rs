//! Orders: the documented create body and `Idempotency-Key`, retries that reuse the key,
//! `insufficient_balance`, the balance pre-check, get, list, stream and polling.

use std::time::Duration;

use agent_catalog::{
    Catalog, CreateOrder, Decimal, ErrorCode, ErrorKind, IdempotencyKey, Keyed, Order, OrderFilter, OrderId,
    OrderStatus, PollOptions, ProductId, Timestamp, TopupRequest,
};
use futures_util::StreamExt;
use httpmock::prelude::*;
use payout_core::test_util::{DropMode, DropServer};
use serde_json::json;

use crate::{
    KEY, VOUCHER, balance_json, builder, client, completed_order_json, created_order_json, p, product_json,
    types_json, voucher_json, wait_calls,
};

/// The documented reference payload ("Create order"), built with the crate's types.
fn documented_request() -> CreateOrder {
    CreateOrder::new(456)
        .external_ref("INV-1001")
        .topup_request(
            TopupRequest::new(Decimal::new(1000, 2))
                .account("steam_login", "player123")
                .account("email", "user@example.com"),
        )
        .quantity(1)
        .test(false)
        .idempotency_key(IdempotencyKey::new("order-1001").unwrap())
}

fn documented_body() -> serde_json::Value {
    json!({
        "product_id": 456,
        "external_ref": "INV-1001",
        "topup_request": {
            "amount": "10.00",
            "customer_account": {"steam_login": "player123", "email": "user@example.com"}
        },
        "quantity": 1,
        "test": false
    })
}

#[tokio::test]
async fn create_order_sends_documented_body() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(p("/orders"))
                .header("authorization", KEY)
                .header("content-type", "application/json")
                .header("idempotency-key", "order-1001")
                .json_body(documented_body());
            then.status(201).json_body(created_order_json("order-1001"));
        })
        .await;
    let order = client(&server)
        .orders()
        .create(&documented_request())
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(order.id, OrderId::from("8f0c3b7e-6b7a-4a53-9a7e-2b8f1d1c9e01"));
    assert_eq!(order.status, OrderStatus::Pending);
    assert!(!order.is_final());
    assert_eq!(order.idempotency_key.as_ref().unwrap().as_str(), "order-1001");
    assert_eq!(order.product_id, ProductId::new(456));
    assert_eq!(order.external_ref.as_deref(), Some("INV-1001"));
    assert_eq!(order.order_content.vendor_order_id(), Some("LC-123456"));
    assert_eq!(order.order_content.voucher_code(), None);
    assert_eq!(order.charged_amount, Some(Decimal::new(1250, 2)));
    assert_eq!(order.balance_before, Some(Decimal::new(10000, 2)));
    assert_eq!(order.balance_after, Some(Decimal::new(8750, 2)));
    assert_eq!(order.currency_code.as_deref(), Some("USD"));
    assert!(!order.is_test);
    let created = order.created_at.as_ref().unwrap();
    assert_eq!(created.as_str(), "2024-11-01T10:00:00Z");
    // 2024-11-01T10:00:00Z = 1730455200
    assert_eq!(created.unix_seconds(), Some(1_730_455_200));
    assert_eq!(order.completed_at, None);
}

#[tokio::test]
async fn create_order_generates_a_key_per_attempt_and_returns_it() {
    let server = MockServer::start_async().await;
    let req = CreateOrder::new(101).currency_code("USD").quantity(2).test(true);
    let key = IdempotencyKey::new(req.key()).unwrap();
    assert_eq!(key.as_str().len(), 36, "a UUID");
    assert_ne!(
        key.as_str(),
        CreateOrder::new(101).key(),
        "a new attempt, a new key"
    );
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(p("/orders"))
                .header("idempotency-key", key.as_str())
                .json_body(json!({"product_id": 101, "currency_code": "USD", "quantity": 2, "test": true}));
            // A provider that does not echo the key: the client fills it in.
            then.status(201)
                .json_body(json!({"id": "o-2", "product_id": 101, "status": "pending", "is_test": true}));
        })
        .await;
    let order = client(&server).orders().create(&req).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(order.idempotency_key.as_ref(), Some(&key));
    assert!(order.is_test);
    assert!(order.order_content.is_empty());
}

#[tokio::test]
async fn create_that_fails_with_500_is_retried_with_the_same_idempotency_key() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(p("/orders"))
                .header("idempotency-key", "order-1001")
                .json_body(documented_body());
            // Retry-After keeps the timing deterministic.
            then.status(500)
                .header("Retry-After", "1")
                .json_body(json!({"error": "internal_error", "message": "try again"}));
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(p("/orders"))
                .header("idempotency-key", "order-1001")
                .json_body(documented_body());
            then.status(201).json_body(created_order_json("order-1001"));
        })
        .await;
    let c = client(&server);
    let call = tokio::spawn(async move { c.orders().create(&documented_request()).await });
    wait_calls(&failing, 1).await;
    failing.delete_async().await;
    let order = call.await.unwrap().unwrap();
    // Each attempt matched a mock that requires the same key and body: one hit on each.
    ok.assert_calls_async(1).await;
    assert_eq!(order.idempotency_key.unwrap().as_str(), "order-1001");
}

#[tokio::test]
async fn dropped_connection_on_create_is_resent_only_with_the_same_key() {
    let srv = DropServer::start(DropMode::CloseAfterRequest);
    let c = builder(&srv.base_url()).build().unwrap();
    let req = documented_request();
    let err = c.orders().create(&req).await.unwrap_err();
    let raw: Vec<String> = srv
        .raw_requests()
        .iter()
        .map(|r| String::from_utf8_lossy(r).to_ascii_lowercase())
        .collect();
    let posts: Vec<&String> = raw.iter().filter(|t| t.starts_with("post ")).collect();
    assert_eq!(posts.len(), 3, "1 attempt + 2 retries, all key-protected");
    for text in &posts {
        assert!(text.contains("idempotency-key: order-1001\r\n"), "{text}");
    }
    // Then the reconcile looked for the order by its key, and nothing else was sent.
    for text in raw.iter().filter(|t| !t.starts_with("post ")) {
        assert!(
            text.starts_with(
                &format!("get {}?page=1&pagesize=100&product_id=456 ", p("/orders")).to_ascii_lowercase()
            ),
            "{text}"
        );
    }
    assert_eq!(err.idempotency_key().map(|k| k.as_str()), Some("order-1001"));
    // The lookup could not reach the provider either: the outcome is unknown, and the error
    // says how to settle it without paying twice.
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(err.may_have_succeeded());
    let shown = err.to_string();
    assert!(
        shown.contains("Idempotency-Key `order-1001`") && shown.contains("never send it again under a new"),
        "{shown}"
    );
}

#[tokio::test]
async fn create_that_keeps_failing_with_5xx_says_to_retry_with_the_same_key() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            then.status(503).body("<html>maintenance</html>");
        })
        .await;
    let err = client(&server)
        .orders()
        .create(&documented_request())
        .await
        .unwrap_err();
    m.assert_calls_async(3).await;
    assert_eq!(err.status(), Some(503));
    // The reconcile looked the order up (the mock has no list: 404, nothing there), so the
    // original error stands: retryable, with the same key only.
    assert_ne!(err.kind(), ErrorKind::Ambiguous);
    assert!(err.is_retryable());
    assert!(err.may_have_succeeded());
    assert!(
        err.to_string().contains("only with the same key `order-1001`"),
        "{err}"
    );

    // A 4xx refusal is definitive: no such hint.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            then.status(422)
                .json_body(json!({"error": "invalid_product", "message": "no such product"}));
        })
        .await;
    let err = client(&server)
        .orders()
        .create(&documented_request())
        .await
        .unwrap_err();
    assert!(!err.may_have_succeeded());
    assert!(!err.to_string().contains("may have succeeded"), "{err}");
}

#[tokio::test]
async fn insufficient_balance_is_its_own_error_and_is_not_retried() {
    let capture = payout_core::test_util::LogCapture::start();
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            then.status(400).json_body(json!({
                "error": "insufficient_balance",
                "message": "Agent balance is insufficient for this order"
            }));
        })
        .await;
    let err = client(&server)
        .orders()
        .create(&documented_request())
        .await
        .unwrap_err();
    m.assert_calls_async(1).await;
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::InsufficientBalance));
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::InsufficientBalance));
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_retryable());
    assert!(!err.may_have_succeeded());
    assert_eq!(err.idempotency_key().unwrap().as_str(), "order-1001");
    assert_eq!(
        err.to_string(),
        "agent-catalog: insufficient_balance: Agent balance is insufficient for this order (HTTP 400)"
    );
    // Surfaced to operations as a WARN event carrying the key to retry with.
    let logs = capture.contents();
    assert!(
        logs.contains("WARN")
            && logs.contains("order refused: insufficient_balance")
            && logs.contains("order-1001"),
        "{logs}"
    );

    // The nested shape Plexy uses elsewhere is understood too.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            then.status(400).json_body(json!({
                "error": {"type": "invalid_request_error", "code": "insufficient_balance", "message": "low", "request_id": "req_1"}
            }));
        })
        .await;
    let err = client(&server)
        .orders()
        .create(&documented_request())
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::InsufficientBalance));
    assert_eq!(err.request_id(), Some("req_1"));
}

fn catalog() -> Catalog {
    Catalog::from_parts(
        serde_json::from_value(types_json()).unwrap(),
        vec![],
        vec![
            serde_json::from_value(product_json()).unwrap(),
            serde_json::from_value(voucher_json()).unwrap(),
        ],
    )
}

#[tokio::test]
async fn create_checked_refuses_an_order_the_balance_cannot_cover() {
    let server = MockServer::start_async().await;
    let bal = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/balance"));
            then.status(200).json_body(balance_json());
        })
        .await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            then.status(201).json_body(created_order_json("x"));
        })
        .await;
    // 4 vouchers at 25.00 USD = 100.00 > 87.50 available.
    let req = CreateOrder::new(101).quantity(4);
    let err = client(&server)
        .orders()
        .create_checked(&req, &catalog())
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::InsufficientBalance), "{err}");
    assert_eq!(err.status(), None, "decided before sending");
    assert!(!err.was_sent(), "nothing reached the provider");
    assert_eq!(err.idempotency_key().map(|k| k.as_str()), Some(req.key()));
    bal.assert_calls_async(1).await;
    create.assert_calls_async(0).await;
}

#[tokio::test]
async fn create_checked_validates_then_creates() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/balance"));
            then.status(200).json_body(balance_json());
        })
        .await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(p("/orders"))
                .header("idempotency-key", "order-1001")
                .json_body(documented_body());
            then.status(201).json_body(created_order_json("order-1001"));
        })
        .await;
    let c = client(&server);
    let order = c
        .orders()
        .create_checked(&documented_request(), &catalog())
        .await
        .unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
    create.assert_calls_async(1).await;

    // Product rules are checked before anything is sent.
    let cases = [
        (CreateOrder::new(456), "topup_request"),
        (
            CreateOrder::new(456)
                .topup_request(TopupRequest::new(Decimal::from(101)).account("email", "a@b.c")),
            "topup_request.amount",
        ),
        (
            CreateOrder::new(456)
                .topup_request(TopupRequest::new(Decimal::new(1050, 2)).account("email", "a@b.c")),
            "topup_request.amount",
        ),
        (
            CreateOrder::new(101)
                .topup_request(TopupRequest::new(Decimal::from(10)).account("email", "a@b.c")),
            "topup_request",
        ),
        (CreateOrder::new(101).currency_code("EUR"), "currency_code"),
        (CreateOrder::new(999), "product_id"),
    ];
    for (req, field) in cases {
        let err = c.orders().create_checked(&req, &catalog()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.field(), Some(field), "{err}");
    }
    create.assert_calls_async(1).await;
}

#[tokio::test]
async fn invalid_create_requests_send_nothing() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let c = client(&server);
    let cases = [
        (CreateOrder::new(0), "product_id"),
        (CreateOrder::new(1).quantity(0), "quantity"),
        (CreateOrder::new(1).external_ref(" "), "external_ref"),
        (CreateOrder::new(1).external_ref("x".repeat(256)), "external_ref"),
        (CreateOrder::new(1).currency_code("US"), "currency_code"),
        (
            CreateOrder::new(1).topup_request(TopupRequest::new(Decimal::ZERO).account("email", "a@b.c")),
            "topup_request.amount",
        ),
        (
            CreateOrder::new(1).topup_request(TopupRequest::new(Decimal::ONE)),
            "topup_request.customer_account",
        ),
    ];
    for (req, field) in cases {
        let err = c.orders().create(&req).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.field(), Some(field));
        assert!(err.to_string().ends_with("(nothing was sent)"), "{err}");
    }
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn get_order_returns_the_voucher() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/orders/8f0c3b7e-6b7a-4a53-9a7e-2b8f1d1c9e01"))
                .header("authorization", KEY);
            then.status(200).json_body(completed_order_json());
        })
        .await;
    let order = client(&server)
        .orders()
        .get("8f0c3b7e-6b7a-4a53-9a7e-2b8f1d1c9e01")
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(order.status, OrderStatus::Completed);
    assert!(order.is_final() && order.is_completed() && !order.is_failed());
    assert_eq!(order.order_content.voucher_code(), Some(VOUCHER));
    let completed = order.completed_at.as_ref().unwrap();
    assert_eq!(completed.as_str(), "2024-11-01T10:00:05Z");
    // 2024-11-01T10:00:05Z = 1730455200 + 5
    assert_eq!(completed.unix_seconds(), Some(1_730_455_205));
    assert_eq!(
        order.created_at.as_ref().and_then(Timestamp::unix_seconds),
        Some(1_730_455_200)
    );
    assert_eq!(order.failed_at, None);
}

/// The documented Get order example decodes its three date-times to instants, and writes
/// them back byte for byte (what payout-journal stores).
#[test]
fn order_timestamps_are_instants_and_round_trip() {
    let mut body = completed_order_json();
    body["failed_at"] = json!("2024-11-01T10:01:00+00:00");
    let order: Order = serde_json::from_value(body.clone()).unwrap();
    // 2024-11-01T10:00:00Z = 1730455200; 10:00:05 is 5 s later, 10:01:00 60 s later.
    assert_eq!(
        order.created_at.as_ref().unwrap().unix_seconds(),
        Some(1_730_455_200)
    );
    assert_eq!(
        order.completed_at.as_ref().unwrap().unix_millis(),
        Some(1_730_455_205_000)
    );
    assert_eq!(
        order.failed_at.as_ref().unwrap().unix_seconds(),
        Some(1_730_455_260)
    );
    assert_eq!(
        order.completed_at.as_ref().unwrap().to_system_time(),
        Some(std::time::UNIX_EPOCH + Duration::from_secs(1_730_455_205))
    );
    let back = serde_json::to_value(&order).unwrap();
    assert_eq!(back["created_at"], body["created_at"]);
    assert_eq!(back["completed_at"], body["completed_at"]);
    assert_eq!(back["failed_at"], "2024-11-01T10:01:00+00:00", "the text as sent");
}

/// A date-time in a shape the documentation does not show (no offset, a typo, a Unix number)
/// never makes an order undecodable: it is kept as sent, with no instant.
#[test]
fn order_with_an_unparsable_or_numeric_timestamp_still_decodes() {
    let mut body = completed_order_json();
    body["created_at"] = json!("2024-11-01 10:00:00");
    body["completed_at"] = json!(1_730_455_205);
    body["failed_at"] = json!("not a date");
    let order: Order = serde_json::from_value(body).unwrap();
    let created = order.created_at.as_ref().unwrap();
    assert!(!created.is_parsed());
    assert_eq!(created.as_str(), "2024-11-01 10:00:00");
    assert_eq!(created.unix_seconds(), None);
    let completed = order.completed_at.as_ref().unwrap();
    assert!(!completed.is_parsed());
    assert_eq!(completed.as_str(), "1730455205");
    assert_eq!(
        order.failed_at.as_ref().map(Timestamp::as_str),
        Some("not a date")
    );
    assert!(
        order.is_final(),
        "a failed_at kept raw still marks the order final"
    );
}

#[tokio::test]
async fn order_ids_are_percent_encoded() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders/a%2F..%2Fbalance"));
            then.status(200).json_body(completed_order_json());
        })
        .await;
    client(&server).orders().get("a/../balance").await.unwrap();
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn list_orders_sends_filters() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/orders"))
                .header("authorization", KEY)
                .query_param("page", "1")
                .query_param("pageSize", "50")
                .query_param("status", "completed")
                .query_param("product_id", "456");
            then.status(200).json_body(json!({
                "items": [completed_order_json()], "page": 1, "pageSize": 50, "total": 1
            }));
        })
        .await;
    let filter = OrderFilter::new()
        .page(1)
        .page_size(50)
        .status(OrderStatus::Completed)
        .product_id(456);
    let page = client(&server).orders().list(&filter).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.total, Some(1));
    assert_eq!(page.next, None);
    assert_eq!(page.items[0].order_content.voucher_code(), Some(VOUCHER));
}

#[tokio::test]
async fn orders_stream_and_collect_all() {
    let server = MockServer::start_async().await;
    let mut second = completed_order_json();
    second["id"] = json!("o-2");
    second["status"] = json!("failed");
    second["failed_at"] = json!("2024-11-01T10:01:00Z");
    let p1 = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders")).query_param("page", "1");
            then.status(200).json_body(json!({
                "items": [completed_order_json()], "page": 1, "pageSize": 1, "total": 2
            }));
        })
        .await;
    let p2 = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders")).query_param("page", "2");
            then.status(200)
                .json_body(json!({"items": [second], "page": 2, "pageSize": 1, "total": 2}));
        })
        .await;
    let c = client(&server);
    let all: Vec<_> = c
        .orders()
        .stream(OrderFilter::new())
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(all.len(), 2);
    assert!(all[1].is_failed());
    p1.assert_calls_async(1).await;
    p2.assert_calls_async(1).await;
    let all = c.orders().collect_all(OrderFilter::new(), 10).await.unwrap();
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn unknown_order_status_is_kept_and_not_final() {
    let mut v = created_order_json("k");
    v["status"] = json!("processing");
    v["plexy_margin"] = json!("2.50");
    v["agent_charge"] = json!(12.5);
    v["vendor_meta"] = json!({"a": 1});
    let order: agent_catalog::Order = serde_json::from_value(v).unwrap();
    assert_eq!(order.status, OrderStatus::Unknown("processing".into()));
    assert!(!order.is_final());
    assert_eq!(order.plexy_margin, Some(Decimal::new(250, 2)));
    assert_eq!(order.agent_charge, Some(Decimal::new(125, 1)));
    assert_eq!(order.extra["vendor_meta"]["a"], 1);
}

#[tokio::test]
async fn wait_until_final_polls_until_completed() {
    let server = MockServer::start_async().await;
    let path = p("/orders/8f0c3b7e-6b7a-4a53-9a7e-2b8f1d1c9e01");
    let path2 = path.clone();
    let pending = server
        .mock_async(|when, then| {
            when.method(GET).path(path);
            then.status(200).json_body(created_order_json("order-1001"));
        })
        .await;
    let done = server
        .mock_async(|when, then| {
            when.method(GET).path(path2);
            then.status(200).json_body(completed_order_json());
        })
        .await;
    let c = client(&server);
    let opts = PollOptions::default()
        .interval(Duration::from_millis(10))
        .max_interval(Duration::from_millis(40))
        .timeout(Duration::from_secs(10));
    let call = tokio::spawn(async move {
        c.orders()
            .wait_until_final("8f0c3b7e-6b7a-4a53-9a7e-2b8f1d1c9e01", &opts)
            .await
    });
    wait_calls(&pending, 2).await;
    pending.delete_async().await;
    let order = call.await.unwrap().unwrap();
    assert!(order.is_completed());
    assert_eq!(order.order_content.voucher_code(), Some(VOUCHER));
    assert!(done.calls_async().await >= 1);
}

#[tokio::test]
async fn wait_until_final_gives_up_with_a_timeout_that_says_not_to_recreate() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders/o-1"));
            then.status(200).json_body(created_order_json("k"));
        })
        .await;
    let opts = PollOptions::default()
        .interval(Duration::from_millis(10))
        .max_interval(Duration::from_millis(20))
        .timeout(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let err = client(&server)
        .orders()
        .wait_until_final("o-1", &opts)
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(100) && waited < Duration::from_secs(2),
        "at the deadline: {waited:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.message().contains("never create it again"), "{err}");
    // The last order seen comes with the error: still pending, never an `Ok`.
    let last = err
        .last_state::<agent_catalog::Order>()
        .expect("the last order seen");
    assert_eq!(last.status, OrderStatus::Pending);
    assert!(!last.is_final());
}

#[tokio::test]
async fn topup_amount_is_a_decimal_string_with_two_decimals() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders")).json_body(json!({
                "product_id": 456,
                "topup_request": {"amount": "10.00", "customer_account": {"email": "user@example.com"}}
            }));
            then.status(201).json_body(created_order_json("k"));
        })
        .await;
    let req = CreateOrder::new(456)
        .topup_request(TopupRequest::new(Decimal::from(10)).account("email", "user@example.com"));
    client(&server).orders().create(&req).await.unwrap();
    m.assert_calls_async(1).await;
    // More precision than two decimals is kept as given.
    let v = serde_json::to_value(
        CreateOrder::new(1).topup_request(TopupRequest::new(Decimal::new(10125, 3)).account("a", "b")),
    )
    .unwrap();
    assert_eq!(v["topup_request"]["amount"], "10.125");
}

#[tokio::test]
async fn idempotency_conflict_409_is_reported_not_retried() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            then.status(409).json_body(json!({
                "error": "idempotency_key_reused",
                "message": "Idempotency-Key was used with a different request"
            }));
        })
        .await;
    let err = client(&server)
        .orders()
        .create(&documented_request())
        .await
        .unwrap_err();
    m.assert_calls_async(1).await;
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(err.status(), Some(409));
    assert_eq!(
        ErrorCode::of(&err),
        Some(ErrorCode::Unknown("idempotency_key_reused".into()))
    );
    assert!(!err.is_retryable());
    assert_eq!(err.idempotency_key().unwrap().as_str(), "order-1001");
}

/// The create response must decode whenever the order exists: a `null` flag would otherwise
/// turn a successful purchase into a "may have succeeded" error on every replay.
#[tokio::test]
async fn a_created_order_with_null_flags_still_decodes() {
    let server = MockServer::start_async().await;
    let mut body = created_order_json("order-1001");
    body["is_test"] = json!(null);
    server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            then.status(201).json_body(body);
        })
        .await;
    let order = client(&server)
        .orders()
        .create(&documented_request())
        .await
        .unwrap();
    assert!(!order.is_test);
    let mut product = product_json();
    product["is_active"] = json!(null);
    let product: agent_catalog::Product = serde_json::from_value(product).unwrap();
    assert!(product.is_active);
}

/// One look failing with a 5xx (after the client's own retries) must not end the wait:
/// the order exists and is still being delivered.
#[tokio::test]
async fn wait_until_final_polls_through_a_transient_outage() {
    let server = MockServer::start_async().await;
    let down = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders/o-7"));
            then.status(503).body("<html>maintenance</html>");
        })
        .await;
    let c = client(&server);
    let opts = PollOptions::default()
        .interval(Duration::from_millis(10))
        .max_interval(Duration::from_millis(20))
        .timeout(Duration::from_secs(10));
    let call = tokio::spawn(async move { c.orders().wait_until_final("o-7", &opts).await });
    // 3 attempts per look (1 + 2 retries): wait for a second look to be under way.
    wait_calls(&down, 4).await;
    down.delete_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders/o-7"));
            then.status(200).json_body(completed_order_json());
        })
        .await;
    let order = call.await.unwrap().unwrap();
    assert!(order.is_completed());

    // A definitive error still ends the wait at once.
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders/nope"));
            then.status(404).json_body(json!({"message": "Order not found"}));
        })
        .await;
    let err = client(&server)
        .orders()
        .wait_until_final("nope", &opts)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    m.assert_calls_async(1).await;
}

/// A pre-check that cannot run (no price, no currency) must not pass silently for one that
/// did: the caller is told, then the provider decides.
#[tokio::test]
async fn create_checked_says_when_the_balance_cannot_be_checked() {
    let capture = payout_core::test_util::LogCapture::start();
    let server = MockServer::start_async().await;
    let bal = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/balance"));
            then.status(200).json_body(balance_json());
        })
        .await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            then.status(201).json_body(created_order_json("k"));
        })
        .await;
    let unpriced: agent_catalog::Product =
        serde_json::from_value(json!({"id": 777, "product_type_id": 1, "is_active": true})).unwrap();
    let catalog = Catalog::from_parts(
        serde_json::from_value(types_json()).unwrap(),
        vec![],
        vec![unpriced],
    );
    client(&server)
        .orders()
        .create_checked(&CreateOrder::new(777), &catalog)
        .await
        .unwrap();
    bal.assert_calls_async(0).await;
    create.assert_calls_async(1).await;
    let logs = capture.contents();
    assert!(
        logs.contains("WARN") && logs.contains("balance pre-check skipped"),
        "{logs}"
    );
}

/// Hot-path rule and one key per value: `CreateOrder::new` generates its key on first read
/// (here: the first send), exactly once, and the same value sent twice, and its clone, carry
/// that one key in the `Idempotency-Key` header.
#[tokio::test]
async fn a_generated_key_is_made_once_and_sent_every_time() {
    use std::sync::{Arc, Mutex};
    let server = MockServer::start_async().await;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s2 = seen.clone();
    server
        .mock_async(move |when, then| {
            when.method(POST).path(p("/orders")).is_true(move |req| {
                let headers = req.headers();
                let k = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
                s2.lock().unwrap().push(k.unwrap_or_default().to_owned());
                true
            });
            then.status(201)
                .json_body(json!({"id": "o-3", "product_id": 101, "status": "pending", "is_test": true}));
        })
        .await;
    let before = IdempotencyKey::generated_on_this_thread();
    let req = CreateOrder::new(101).test(true);
    assert_eq!(
        IdempotencyKey::generated_on_this_thread(),
        before,
        "nothing generated before the first read"
    );
    let c = client(&server);
    let first = c.orders().create(&req).await.unwrap();
    c.orders().create(&req).await.unwrap();
    c.orders().create(&req.clone()).await.unwrap();
    assert_eq!(IdempotencyKey::generated_on_this_thread(), before + 1);
    let keys = seen.lock().unwrap().clone();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(keys[0].len(), 36, "{keys:?}");
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    assert_eq!(req.key(), keys[0]);
    assert_eq!(
        first.idempotency_key.as_ref().map(IdempotencyKey::as_str),
        Some(keys[0].as_str())
    );
}
