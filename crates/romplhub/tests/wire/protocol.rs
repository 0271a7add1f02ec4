//! The one call protocol (issue 11): request values through `client.send`, the metadata
//! generated from `api/endpoints.json`, wrong-shaped lists, journal serialization without
//! secrets, and finding the order after an ambiguous create.

use httpmock::prelude::*;
use romplhub::{
    ApiClient, CreateOrder, CreatePack, Endpoint, ErrorCode, ErrorKind, GetBalance, GetOrder, ListOrders,
    ListPacks, ListProducts, OrderPack, OrderStatus, OrderUid, Safety, SubmitTwoFactor, TopUpRequest,
    WlidTokens,
};
use serde_json::json;

use crate::{API_KEY, client};

const PASSWORD: &str = "roblox-password-DO-NOT-LEAK-77";
const BACKUP: &str = "backup-code-DO-NOT-LEAK-55";
const REFRESH: &str = "M.C507_BAY.refresh-DO-NOT-LEAK";
const WLID: &str = "EwA-wlid-DO-NOT-LEAK";

#[test]
fn metadata_matches_the_documented_endpoints() {
    assert_eq!(CreateOrder::META.operation, "orders.create");
    assert_eq!(CreateOrder::META.path, "/orders");
    assert_eq!(CreateOrder::META.safety, Safety::Unprotected);
    assert_eq!(OrderPack::META.path, "/packs/{id}/order");
    assert_eq!(OrderPack::META.safety, Safety::Unprotected);
    assert_eq!(GetOrder::META.safety, Safety::Idempotent);
    assert_eq!(SubmitTwoFactor::META.safety, Safety::Unprotected);
    assert_eq!(<romplhub::Client as ApiClient>::PROVIDER, "romplhub");
}

#[tokio::test]
async fn generic_send_runs_any_request_value() {
    let server = MockServer::start_async().await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/orders/VX-1%2F2")
                .header("x-api-key", API_KEY);
            then.status(200)
                .json_body(json!({"order_uid": "VX-1/2", "status": "granting"}));
        })
        .await;
    let balance = server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(200)
                .json_body(json!({"tokens": 485, "pending_topups": 0}));
        })
        .await;
    let list = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/orders")
                .query_param("status", "completed")
                .query_param("limit", "2");
            then.status(200).json_body(json!({"total": 9, "orders": []}));
        })
        .await;
    let c = client(&server.base_url());
    let order = c.send(&GetOrder::new("VX-1/2")).await.unwrap();
    assert_eq!(order.status, OrderStatus::Granting);
    // The trait method is the same call.
    let order = ApiClient::send(&c, &GetOrder::new(&order.order_uid))
        .await
        .unwrap();
    assert_eq!(order.order_uid.as_str(), "VX-1/2");
    assert_eq!(c.send(&GetBalance).await.unwrap().tokens, 485);
    let page = c
        .send(&ListOrders::new().status(OrderStatus::Completed).limit(2))
        .await
        .unwrap();
    assert_eq!((page.total, page.orders.len()), (Some(9), 0));
    get.assert_calls_async(2).await;
    balance.assert_calls_async(1).await;
    list.assert_calls_async(1).await;
}

#[tokio::test]
async fn invalid_values_are_refused_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|_, then| {
            then.status(200).json_body(json!({}));
        })
        .await;
    let c = client(&server.base_url());
    let e = c.send(&GetOrder::new(" ")).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.field()),
        (ErrorKind::InvalidInput, Some("order_uid"))
    );
    let e = c.send(&SubmitTwoFactor::new("VX-1", "84 72")).await.unwrap_err();
    assert_eq!((e.kind(), e.field()), (ErrorKind::InvalidInput, Some("code")));
    let e = c
        .send(&CreateOrder::new("u", PASSWORD, "robux_88").quantity(0))
        .await
        .unwrap_err();
    assert_eq!((e.kind(), e.field()), (ErrorKind::InvalidInput, Some("quantity")));
    let e = c.send(&CreatePack::new("empty")).await.unwrap_err();
    assert_eq!((e.kind(), e.field()), (ErrorKind::InvalidInput, Some("items")));
    let e = c
        .send(&TopUpRequest::new(romplhub::Decimal::ZERO))
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("amount_usdt"));
    any.assert_calls_async(0).await;
}

/// A list whose documented container is missing or of another shape is a `Decode` error that
/// keeps the status: never an empty page a reconcile or a poll could misread.
#[tokio::test]
async fn lists_of_the_wrong_shape_are_decode_errors_keeping_the_status() {
    for body in [
        json!({"total": 3}),
        json!({"total": 3, "data": []}),
        json!({"total": 3, "orders": {"VX-1": {}}}),
        json!([]),
    ] {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(GET).path("/orders");
                then.status(200).json_body(body.clone());
            })
            .await;
        let e = client(&server.base_url())
            .orders()
            .list(&ListOrders::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{body}");
        assert_eq!(e.status(), Some(200), "{body}");
    }
    for body in [
        json!({"data": []}),
        json!({"total": 1}),
        json!("robux_88"),
        json!(null),
    ] {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(GET).path("/products");
                then.status(200).json_body(body.clone());
            })
            .await;
        server
            .mock_async(|when, then| {
                when.method(GET).path("/packs");
                then.status(200).json_body(body.clone());
            })
            .await;
        server
            .mock_async(|when, then| {
                when.method(POST).path("/packs/7/order");
                then.status(201).json_body(body.clone());
            })
            .await;
        let c = client(&server.base_url());
        let e = c.send(&ListProducts).await.unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::Decode, Some(200)), "{body}");
        let e = c.send(&ListPacks).await.unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::Decode, Some(200)), "{body}");
        // Tokens were spent: an answer that cannot be read may have succeeded.
        let e = c
            .packs()
            .order(&OrderPack::new("7", "u", PASSWORD))
            .await
            .unwrap_err();
        assert_eq!(
            (e.kind(), e.status()),
            (ErrorKind::Ambiguous, Some(201)),
            "{body}"
        );
        assert!(e.may_have_succeeded());
        assert!(e.to_string().contains("find_candidates"), "{e}");
    }
    // A pack without its items is not an empty pack.
    let pack: romplhub::Pack = serde_json::from_value(json!({"id": 7, "name": "p"})).unwrap();
    assert_eq!(pack.items, None);
    assert_eq!(pack.totals(&[]).unwrap_err().kind(), ErrorKind::Decode);
    // An order without its documented id is a decode error too.
    assert!(serde_json::from_value::<romplhub::Order>(json!({"status": "pending"})).is_err());
}

/// Order requests are stored by payout-journal: they serialize, but never with a secret,
/// and a value read back cannot be sent (its password is gone).
#[tokio::test]
async fn order_requests_serialize_for_a_journal_without_secrets() {
    let req = CreateOrder::new("user@roblox.com", PASSWORD, "robux_2200")
        .quantity(2)
        .backup_code(BACKUP)
        .wlid_tokens(WlidTokens::new(REFRESH, WLID))
        .webhook_url("https://shop.example/hook");
    let stored = serde_json::to_string(&req).unwrap();
    for secret in [PASSWORD, BACKUP, REFRESH, WLID] {
        assert!(!stored.contains(secret), "{secret} leaked into {stored}");
    }
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored).unwrap(),
        json!({"login": "user@roblox.com", "product": "robux_2200", "quantity": 2, "webhook_url": "https://shop.example/hook"})
    );
    let back: CreateOrder = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        (back.login(), back.product().as_str(), back.units()),
        ("user@roblox.com", "robux_2200", 2)
    );
    let e = back.validate().unwrap_err();
    assert_eq!(e.field(), Some("password"));

    let pack = OrderPack::new("7", "user@roblox.com", PASSWORD).backup_code(BACKUP);
    let stored = serde_json::to_string(&pack).unwrap();
    assert!(!stored.contains(PASSWORD) && !stored.contains(BACKUP), "{stored}");
    let back: OrderPack = serde_json::from_str(&stored).unwrap();
    assert_eq!(back.pack().as_str(), "7");
    assert!(back.validate().is_err());
    // The output of a create is stored too.
    let order: romplhub::Order =
        serde_json::from_value(json!({"order_uid": "VX-1", "status": "pending", "tokens_charged": 100}))
            .unwrap();
    let again: romplhub::Order = serde_json::from_str(&serde_json::to_string(&order).unwrap()).unwrap();
    assert_eq!(again, order);
}

/// RomplHub has no idempotency key: after an ambiguous create, `find_candidates` lists the
/// recent orders (newest first) that could be the one, and stops at the order known before.
#[tokio::test]
async fn find_candidates_lists_matching_recent_orders_back_to_since() {
    let server = MockServer::start_async().await;
    let page1 = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/orders")
                .query_param("limit", "50")
                .query_param("offset", "0");
            then.status(200).json_body(json!({"total": 6, "orders": [
                {"order_uid": "VX-6", "status": "pending", "product": "robux_2200", "quantity": 1},
                {"order_uid": "VX-5", "status": "pending", "product": "robux_88", "quantity": 1},
                {"order_uid": "VX-4", "status": "completed", "product": "robux_2200", "quantity": 2},
                {"order_uid": "VX-3", "status": "purchasing"},
                {"order_uid": "VX-2", "status": "pending", "product": "robux_2200", "login": "other@roblox.com"},
                {"order_uid": "VX-1", "status": "completed", "product": "robux_2200", "quantity": 1}
            ]}));
        })
        .await;
    let c = client(&server.base_url());
    let req = CreateOrder::new("user@roblox.com", PASSWORD, "robux_2200");
    let since = OrderUid::new("VX-1");
    let found = c.orders().find_candidates(&req, Some(&since)).await.unwrap();
    let ids: Vec<&str> = found.iter().map(|o| o.order_uid.as_str()).collect();
    // VX-5: another product; VX-4: another quantity; VX-2: another account; VX-1: `since`.
    // VX-3 reports no product: it cannot be ruled out.
    assert_eq!(ids, ["VX-6", "VX-3"]);
    // Without `since`, older matches count too.
    let found = c.orders().find_candidates(&req, None).await.unwrap();
    assert_eq!(found.len(), 3);
    page1.assert_calls_async(2).await;
}

#[test]
fn error_codes_come_only_from_romplhub_errors() {
    let mine = romplhub::Error::new(ErrorKind::Provider, "romplhub", "x").with_code("insufficient_tokens");
    assert_eq!(ErrorCode::of(&mine), Some(ErrorCode::InsufficientTokens));
    let theirs = romplhub::Error::new(ErrorKind::Provider, "rocheap", "x").with_code("insufficient_tokens");
    assert_eq!(ErrorCode::of(&theirs), None);
    assert_eq!(
        <ErrorCode as payout_core::ProviderErrorCode>::of(&mine),
        Some(ErrorCode::InsufficientTokens)
    );
}

/// The documented balance fields are required: a body without `pending_topups` is not read as
/// "no top-up pending".
#[tokio::test]
async fn a_balance_without_its_documented_fields_is_a_decode_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            then.status(200).json_body(json!({"tokens": 485}));
        })
        .await;
    let e = client(&server.base_url()).balance().get().await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Decode, Some(200)));
}

/// Request values never show a secret in `Debug`.
#[test]
fn request_values_redact_their_secrets_in_debug() {
    let shown = format!(
        "{:?} {:?} {:?}",
        SubmitTwoFactor::new("VX-1", "847291"),
        CreateOrder::new("u", PASSWORD, "robux_88")
            .backup_code(BACKUP)
            .wlid_tokens(WlidTokens::new(REFRESH, WLID)),
        OrderPack::new("7", "u", PASSWORD).backup_code(BACKUP),
    );
    for secret in ["847291", PASSWORD, BACKUP, REFRESH, WLID] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("VX-1") && shown.contains("robux_88"), "{shown}");
}
