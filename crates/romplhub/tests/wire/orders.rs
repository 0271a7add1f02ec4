use std::time::Duration;

use futures_util::StreamExt;
use httpmock::prelude::*;
use romplhub::{CreateOrder, ErrorKind, ListOrders, Order, OrderStatus, PollOptions, Timestamp, WlidTokens};
use serde_json::json;

use crate::{API_KEY, client, products_json};

pub(crate) const PASSWORD: &str = "account_password_DO_NOT_LEAK_71";
pub(crate) const BACKUP: &str = "backup-93418275";
pub(crate) const REFRESH: &str = "M.C507_BAY.refresh-DO-NOT-LEAK";
pub(crate) const WLID: &str = "EwA.wlid-DO-NOT-LEAK";
pub(crate) const CODE: &str = "29817346";

#[tokio::test]
async fn create_order_sends_documented_body() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/orders")
                .header("x-api-key", API_KEY)
                .header("content-type", "application/json")
                // The documented variant 1, except that an unset `backup_code` is omitted
                // rather than sent as `null` (FastAPI treats both alike).
                .json_body(json!({
                    "login": "user@roblox.com",
                    "password": PASSWORD,
                    "product": "robux_2200",
                    "quantity": 1,
                    "webhook_url": "https://your-site.com/hook"
                }));
            then.status(201).json_body(json!({
                "order_uid": "VX-5A8115EA", "status": "pending", "tokens_charged": 100, "product_robux": 2200
            }));
        })
        .await;
    let order = client(&server.base_url())
        .orders()
        .create(
            &CreateOrder::new("user@roblox.com", PASSWORD, "robux_2200")
                .quantity(1)
                .webhook_url("https://your-site.com/hook"),
        )
        .await
        .unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(order.order_uid.as_str(), "VX-5A8115EA");
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.tokens_charged, Some(100));
    assert_eq!(order.product_robux, Some(2200));
}

#[tokio::test]
async fn create_order_with_wlid_tokens_and_backup_code() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/orders").json_body(json!({
                "login": "user@roblox.com",
                "password": PASSWORD,
                "product": "robux_2200",
                "backup_code": BACKUP,
                "wlid_tokens": {"refresh_token": REFRESH, "wlid_token": WLID}
            }));
            then.status(201).json_body(json!({
                "order_uid": "VX-5A8115EA", "status": "pending", "tokens_charged": 3, "product_robux": 2200
            }));
        })
        .await;
    let req = CreateOrder::new("user@roblox.com", PASSWORD, "robux_2200")
        .backup_code(BACKUP)
        .wlid_tokens(WlidTokens::new(REFRESH, WLID));
    let order = client(&server.base_url()).orders().create(&req).await.unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(order.tokens_charged, Some(3));
    // The estimate agrees with the documented flat fee.
    let products: Vec<romplhub::Product> = serde_json::from_value(products_json()).unwrap();
    let est = req.estimate(&products).unwrap();
    assert_eq!((est.tokens, est.robux), (3, 2200));
    let full = CreateOrder::new("u", "p", "robux_550")
        .quantity(2)
        .estimate(&products)
        .unwrap();
    assert_eq!((full.tokens, full.robux), (50, 1100));
}

#[tokio::test]
async fn create_order_validates_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(201);
        })
        .await;
    let orders_client = client(&server.base_url());
    let cases = [
        (CreateOrder::new("", PASSWORD, "robux_88"), "login"),
        (CreateOrder::new("u", "", "robux_88"), "password"),
        (CreateOrder::new("u", PASSWORD, " "), "product"),
        (
            CreateOrder::new("u", PASSWORD, "robux_88").quantity(0),
            "quantity",
        ),
        (
            CreateOrder::new("u", PASSWORD, "robux_88").backup_code(" "),
            "backup_code",
        ),
        (
            CreateOrder::new("u", PASSWORD, "robux_88").webhook_url("not a url"),
            "webhook_url",
        ),
        (
            CreateOrder::new("u", PASSWORD, "robux_88").webhook_url("ftp://x.example/h"),
            "webhook_url",
        ),
        (
            CreateOrder::new("u", PASSWORD, "robux_88").wlid_tokens(WlidTokens::new("", WLID)),
            "wlid_tokens.refresh_token",
        ),
    ];
    for (req, field) in cases {
        let err = orders_client.orders().create(&req).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{field}");
        assert_eq!(err.field(), Some(field));
        assert!(!err.to_string().contains(PASSWORD));
    }
    let products: Vec<romplhub::Product> = serde_json::from_value(products_json()).unwrap();
    let err = CreateOrder::new("u", "p", "robux_99")
        .estimate(&products)
        .unwrap_err();
    assert_eq!(err.field(), Some("product"));
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn get_order_reads_the_documented_response() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/orders/VX-5A8115EA")
                .header("x-api-key", API_KEY);
            then.status(200).json_body(json!({
                "order_uid": "VX-5A8115EA",
                "status": "completed",
                "product_name": "2200 Robux",
                "tokens_charged": 100,
                "robux_before": 150,
                "robux_after": 2350,
                "robux_granted": 2200
            }));
        })
        .await;
    let order = client(&server.base_url())
        .orders()
        .get("VX-5A8115EA")
        .await
        .unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(order.status, OrderStatus::Completed);
    assert!(order.is_final());
    assert_eq!(order.product_name.as_deref(), Some("2200 Robux"));
    assert_eq!(
        (order.robux_before, order.robux_after, order.robux_granted),
        (Some(150), Some(2350), Some(2200))
    );
    assert_eq!(order.tokens_charged, Some(100));
    assert_eq!(order.created_at, None, "the documented example shows no time");
}

/// RomplHub documents no time on an order; when one arrives as `created_at` it is a
/// `Timestamp` (an RFC 3339 value with an offset is read as an instant) and is written back
/// as it came.
#[test]
fn order_created_at_with_an_offset_is_an_instant() {
    let body = json!({
        "order_uid": "VX-5A8115EA", "status": "completed",
        "created_at": "2024-11-01T10:00:00.123456+00:00"
    });
    let order: Order = serde_json::from_value(body).unwrap();
    let created = order.created_at.as_ref().unwrap();
    // 2024-11-01T10:00:00Z = 1730455200
    assert_eq!(created.unix_seconds(), Some(1_730_455_200));
    assert_eq!(created.subsec_nanos(), Some(123_456_000));
    assert_eq!(created.unix_millis(), Some(1_730_455_200_123));
    assert_eq!(
        serde_json::to_value(&order).unwrap()["created_at"],
        "2024-11-01T10:00:00.123456+00:00"
    );
}

/// A `created_at` without an offset (a FastAPI naive datetime), a typo or a Unix number is
/// kept as sent with no instant; the order still decodes.
#[test]
fn order_with_an_unparsable_or_numeric_created_at_still_decodes() {
    for (value, kept) in [
        (json!("2024-11-01T10:00:00.123456"), "2024-11-01T10:00:00.123456"),
        (json!("yesterday"), "yesterday"),
        (json!(1_730_455_200), "1730455200"),
    ] {
        let order: Order =
            serde_json::from_value(json!({"order_uid": "VX-1", "status": "pending", "created_at": value}))
                .unwrap();
        let created = order.created_at.as_ref().unwrap();
        assert!(!created.is_parsed(), "{kept}");
        assert_eq!(created.unix_seconds(), None);
        assert_eq!(created.as_str(), kept);
    }
    let order: Order =
        serde_json::from_value(json!({"order_uid": "VX-1", "status": "pending", "created_at": null}))
            .unwrap();
    assert_eq!(order.created_at, None);
    assert_eq!(
        Some(Timestamp::parse("2024-11-01T10:00:00Z")),
        serde_json::from_value::<Order>(
            json!({"order_uid": "VX-1", "status": "pending", "created_at": "2024-11-01T10:00:00Z"})
        )
        .unwrap()
        .created_at
    );
}

#[tokio::test]
async fn failed_order_keeps_error_message_and_unknown_status_decodes() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-00000001");
            then.status(200).json_body(json!({
                "order_uid": "VX-00000001", "status": "failed", "error_message": "Invalid credentials", "tokens_charged": 0
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-00000002");
            then.status(200)
                .json_body(json!({"order_uid": "VX-00000002", "status": "on_hold", "eta": 5}));
        })
        .await;
    let c = client(&server.base_url());
    let failed = c.orders().get("VX-00000001").await.unwrap();
    assert_eq!(failed.status, OrderStatus::Failed);
    assert_eq!(failed.error_message.as_deref(), Some("Invalid credentials"));
    let odd = c.orders().get("VX-00000002").await.unwrap();
    assert_eq!(odd.status, OrderStatus::Unknown("on_hold".into()));
    assert!(!odd.is_final() && !odd.needs_2fa());
    assert_eq!(odd.extra["eta"], json!(5));
}

#[tokio::test]
async fn order_uid_is_percent_encoded_in_the_path() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX%2F1%3Fx");
            then.status(200)
                .json_body(json!({"order_uid": "VX/1?x", "status": "pending"}));
        })
        .await;
    client(&server.base_url()).orders().get("VX/1?x").await.unwrap();
    mock.assert_calls_async(1).await;
    let err = client(&server.base_url()).orders().get("").await.unwrap_err();
    assert_eq!(err.field(), Some("order_uid"));
}

#[tokio::test]
async fn list_orders_sends_status_limit_offset_and_pages() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/orders")
                .header("x-api-key", API_KEY)
                .query_param("status", "completed")
                .query_param("limit", "50")
                .query_param("offset", "0");
            then.status(200).json_body(json!({
                "total": 51,
                "orders": (0..50).map(|i| json!({"order_uid": format!("VX-{i:08X}"), "status": "completed"})).collect::<Vec<_>>()
            }));
        })
        .await;
    let page = client(&server.base_url())
        .orders()
        .list(
            &ListOrders::new()
                .status(OrderStatus::Completed)
                .limit(50)
                .offset(0),
        )
        .await
        .unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(page.items.len(), 50);
    assert_eq!(page.total, Some(51));
    assert_eq!(page.next, Some(50));
}

#[tokio::test]
async fn list_orders_without_filters_sends_no_query() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/orders")
                .query_param_missing("status")
                .query_param_missing("limit")
                .query_param_missing("offset");
            then.status(200)
                .json_body(json!({"total": 1, "orders": [{"order_uid": "VX-1", "status": "pending"}]}));
        })
        .await;
    let page = client(&server.base_url())
        .orders()
        .list(&ListOrders::new())
        .await
        .unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next, None);
    let err = client(&server.base_url())
        .orders()
        .list(&ListOrders::new().limit(0))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("limit"));
}

#[tokio::test]
async fn stream_orders_follows_offsets_until_total() {
    let server = MockServer::start_async().await;
    let page = |offset: u64, n: u64| json!({"total": 5, "orders": (offset..offset + n).map(|i| json!({"order_uid": format!("VX-{i}"), "status": "pending"})).collect::<Vec<_>>()});
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/orders")
                .query_param("status", "pending")
                .query_param("limit", "2")
                .query_param("offset", "0");
            then.status(200).json_body(page(0, 2));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/orders")
                .query_param("limit", "2")
                .query_param("offset", "2");
            then.status(200).json_body(page(2, 2));
        })
        .await;
    let third = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/orders")
                .query_param("limit", "2")
                .query_param("offset", "4");
            then.status(200).json_body(page(4, 1));
        })
        .await;
    let c = client(&server.base_url());
    let filter = ListOrders::new().status(OrderStatus::Pending).limit(2);
    let ids: Vec<String> = c
        .orders()
        .stream(filter.clone())
        .map(|o| o.unwrap().order_uid.to_string())
        .collect()
        .await;
    assert_eq!(ids, ["VX-0", "VX-1", "VX-2", "VX-3", "VX-4"]);
    first.assert_calls_async(1).await;
    second.assert_calls_async(1).await;
    third.assert_calls_async(1).await;
    let capped = c.orders().collect_all(filter, 3).await.unwrap();
    assert_eq!(capped.len(), 3);
    third.assert_calls_async(1).await;
}

#[tokio::test]
async fn submit_2fa_sends_the_code() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/orders/VX-5A8115EA/2fa")
                .header("x-api-key", API_KEY)
                .header("content-type", "application/json")
                .json_body(json!({"code": CODE}));
            then.status(200)
                .json_body(json!({"order_uid": "VX-5A8115EA", "status": "purchasing"}));
        })
        .await;
    // A code pasted with a trailing newline is sent trimmed.
    let ack = client(&server.base_url())
        .orders()
        .submit_2fa("VX-5A8115EA", format!("{CODE}\n"))
        .await
        .unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(ack.status, Some(OrderStatus::Purchasing));
    let err = client(&server.base_url())
        .orders()
        .submit_2fa("VX-5A8115EA", "12 34")
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("code"));
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn submit_2fa_accepts_an_empty_answer() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/orders/VX-1/2fa");
            then.status(204);
        })
        .await;
    let ack = client(&server.base_url())
        .orders()
        .submit_2fa("VX-1", CODE)
        .await
        .unwrap();
    assert_eq!(ack.status, None);
}

/// The whole 2FA flow: create, poll to `waiting_2fa`, submit the code, poll to `completed`.
#[tokio::test]
async fn two_factor_flow_end_to_end() {
    let server = MockServer::start_async().await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST).path("/orders").json_body(json!({
                "login": "user@roblox.com", "password": PASSWORD, "product": "robux_2200"
            }));
            then.status(201).json_body(json!({
                "order_uid": "VX-5A8115EA", "status": "pending", "tokens_charged": 100, "product_robux": 2200
            }));
        })
        .await;
    let authenticating = server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-5A8115EA");
            then.status(200)
                .json_body(json!({"order_uid": "VX-5A8115EA", "status": "authenticating"}));
        })
        .await;
    let c = client(&server.base_url());
    let created = c
        .orders()
        .create(&CreateOrder::new("user@roblox.com", PASSWORD, "robux_2200"))
        .await
        .unwrap();
    assert_eq!(created.status, OrderStatus::Pending);

    let fast = PollOptions::default()
        .interval(Duration::from_millis(20))
        .backoff(1.0)
        .timeout(Duration::from_secs(10));
    // The order authenticates for a while, then stops for 2FA.
    let waiter = {
        let c = c.clone();
        let uid = created.order_uid.clone();

        tokio::spawn(async move { c.orders().wait_until_final(uid, &fast).await })
    };
    while authenticating.calls_async().await < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let waiting = server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-5A8115EA");
            then.status(200)
                .json_body(json!({"order_uid": "VX-5A8115EA", "status": "waiting_2fa"}));
        })
        .await;
    authenticating.delete_async().await;
    let order = waiter.await.unwrap().unwrap();
    assert!(order.needs_2fa());
    assert_eq!(order.status, OrderStatus::Waiting2fa);

    let submit = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/orders/VX-5A8115EA/2fa")
                .json_body(json!({"code": CODE}));
            then.status(200).json_body(json!({"ok": true}));
        })
        .await;
    let ack = c.orders().submit_2fa(&created.order_uid, CODE).await.unwrap();
    assert_eq!(ack.extra["ok"], json!(true));
    waiting.delete_async().await;
    let completed = server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-5A8115EA");
            then.status(200).json_body(json!({
                "order_uid": "VX-5A8115EA", "status": "completed", "product_name": "2200 Robux",
                "tokens_charged": 100, "robux_before": 150, "robux_after": 2350, "robux_granted": 2200
            }));
        })
        .await;
    let done = c
        .orders()
        .wait_after_2fa(&created.order_uid, Duration::from_secs(60), &fast)
        .await
        .unwrap();
    assert_eq!(done.status, OrderStatus::Completed);
    assert_eq!(done.robux_granted, Some(2200));
    create.assert_calls_async(1).await;
    submit.assert_calls_async(1).await;
    completed.assert_calls_async(1).await;
}

#[tokio::test]
async fn wait_gives_up_with_a_timeout_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-1");
            then.status(200)
                .json_body(json!({"order_uid": "VX-1", "status": "purchasing"}));
        })
        .await;
    let err = client(&server.base_url())
        .orders()
        .wait_until_final(
            "VX-1",
            &PollOptions::default()
                .interval(Duration::from_millis(20))
                .timeout(Duration::from_millis(100)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    let last = err
        .last_state::<Order>()
        .expect("the last order seen rides on the timeout");
    assert_eq!(last.status, OrderStatus::Purchasing);
    assert!(err.was_sent());
}

/// Right after a code is submitted the order still reads `waiting_2fa` for a moment:
/// `wait_after_2fa` must not hand that stale state back (the application would ask the
/// account owner for a second, single-use code), but wait until the order moves on.
#[tokio::test]
async fn wait_after_2fa_skips_the_stale_waiting_state() {
    let server = MockServer::start_async().await;
    let still_waiting = server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-2FA");
            then.status(200)
                .json_body(json!({"order_uid": "VX-2FA", "status": "waiting_2fa"}));
        })
        .await;
    let c = client(&server.base_url());
    let fast = PollOptions::default()
        .interval(Duration::from_millis(20))
        .backoff(1.0)
        .timeout(Duration::from_secs(10));
    // What the old flow did: the first poll after submitting returns the stale state.
    let stale = c.orders().wait_until_final("VX-2FA", &fast).await.unwrap();
    assert!(stale.needs_2fa());

    let waiter = {
        let c = c.clone();

        tokio::spawn(async move {
            c.orders()
                .wait_after_2fa("VX-2FA", Duration::from_secs(60), &fast)
                .await
        })
    };
    while still_waiting.calls_async().await < 4 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!waiter.is_finished(), "a stale waiting_2fa must not end the wait");
    still_waiting.delete_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-2FA");
            then.status(200)
                .json_body(json!({"order_uid": "VX-2FA", "status": "completed", "robux_granted": 2200}));
        })
        .await;
    let done = waiter.await.unwrap().unwrap();
    assert_eq!(done.status, OrderStatus::Completed);
}

/// A code that is refused leaves the order in `waiting_2fa`: after the grace period the
/// order is returned as needing a new code, not held until the overall timeout.
#[tokio::test]
async fn wait_after_2fa_returns_a_renewed_prompt_after_the_grace() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/VX-2FA");
            then.status(200)
                .json_body(json!({"order_uid": "VX-2FA", "status": "waiting_2fa"}));
        })
        .await;
    let opts = PollOptions::default()
        .interval(Duration::from_millis(20))
        .backoff(1.0)
        .timeout(Duration::from_secs(30));
    let started = std::time::Instant::now();
    let order = client(&server.base_url())
        .orders()
        .wait_after_2fa("VX-2FA", Duration::from_millis(150), &opts)
        .await
        .unwrap();
    assert!(order.needs_2fa());
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(started.elapsed() < Duration::from_secs(5));
}
