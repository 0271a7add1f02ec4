//! The one call protocol: request values through `client.send`, the key from construction,
//! the reconcile of an unknown create outcome, and lists that refuse a body of the wrong shape.

use agent_catalog::{
    CreateOrder, DepositFilter, ErrorCode, ErrorKind, GetBalance, GetOrder, GetProduct, HealthCheck, Keyed,
    ListProductCategories, ListProductTypes, OrderFilter, ProductFilter,
};
use httpmock::prelude::*;
use serde_json::{Value, json};

use crate::{KEY, balance_json, client, created_order_json, p, product_json};

/// The documented create for product 456 with key `order-1001`.
fn request() -> CreateOrder {
    CreateOrder::with_key(456, "order-1001")
        .unwrap()
        .external_ref("INV-1001")
        .quantity(1)
}

#[tokio::test]
async fn send_runs_any_request_value_on_its_documented_path() {
    let server = MockServer::start_async().await;
    let balance = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/balance")).header("authorization", KEY);
            then.status(200).json_body(balance_json());
        })
        .await;
    let health = server
        .mock_async(|when, then| {
            when.method(GET).path("/health");
            then.status(200).json_body(json!({"status": "ok"}));
        })
        .await;
    let product = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/products/456"));
            then.status(200).json_body(product_json());
        })
        .await;
    let products = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/products"))
                .query_param("page", "2")
                .query_param("pageSize", "1");
            then.status(200)
                .json_body(json!({"items": [product_json()], "page": 2, "pageSize": 1, "total": 3}));
        })
        .await;
    let c = client(&server);
    let b = c.send(&GetBalance).await.unwrap();
    assert_eq!(b.items.len(), 2);
    let h = c.send(&HealthCheck).await.unwrap();
    assert_eq!((h.path, h.status.as_deref()), ("/health", Some("ok")));
    assert_eq!(c.send(&GetProduct::new(456)).await.unwrap().id.get(), 456);
    let page = c.send(&ProductFilter::new().page(2).page_size(1)).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next_page(2, Some(1)), Some(3));
    // Through the shared trait too, as payout-core's reconcile and poll call it.
    let via_trait = payout_core::ApiClient::send(&c, &GetBalance).await.unwrap();
    assert_eq!(via_trait, b);
    // Per-call options take the same route: `/health` at the root, the rest in the agent scope.
    let once = payout_core::RequestOptions::new().send_once();
    payout_core::ApiClient::send_with(&c, &HealthCheck, &once)
        .await
        .unwrap();
    payout_core::ApiClient::send_with(&c, &GetBalance, &once)
        .await
        .unwrap();
    balance.assert_calls_async(3).await;
    health.assert_calls_async(2).await;
    product.assert_calls_async(1).await;
    products.assert_calls_async(1).await;
    // Bad values are refused before any byte is sent.
    let e = c.send(&GetOrder::new(" ")).await.unwrap_err();
    assert_eq!((e.kind(), e.field()), (ErrorKind::InvalidInput, Some("orderId")));
    let e = c.send(&OrderFilter::new().page(0)).await.unwrap_err();
    assert_eq!((e.kind(), e.field()), (ErrorKind::InvalidInput, Some("page")));
}

#[test]
fn the_key_is_set_at_construction_and_a_bad_one_is_refused() {
    let req = request();
    assert_eq!(req.key(), "order-1001");
    assert_eq!(<CreateOrder as Keyed>::KEY_NAME, "Idempotency-Key");
    // A generated key is there before anything is sent, and stays the same on clones.
    let generated = CreateOrder::new(101);
    assert_eq!(generated.key().len(), 36);
    assert_eq!(generated.clone().key(), generated.key());
    let too_long = "k".repeat(256);
    for bad in ["", "order 1001", "order-1001\n", "ключ", too_long.as_str()] {
        let e = CreateOrder::with_key(456, bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
        assert_eq!(e.field(), Some("Idempotency-Key"), "{bad:?}");
        assert!(!e.was_sent());
    }
}

#[test]
fn a_create_request_is_stored_with_its_key_and_sent_without_it() {
    let req = request();
    let stored = serde_json::to_value(&req).unwrap();
    assert_eq!(stored["idempotency_key"], "order-1001");
    assert_eq!(stored["product_id"], 456);
    let back: CreateOrder = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(back, req);
    assert_eq!(back.key(), "order-1001");
    // A stored key is checked like a new one.
    let mut bad = stored;
    bad["idempotency_key"] = json!("order 1001");
    let e = serde_json::from_value::<CreateOrder>(bad).unwrap_err();
    assert!(e.to_string().contains("idempotency_key"), "{e}");
    // The wire body (exact JSON match in orders.rs) carries no key; see
    // `create_order_sends_documented_body`.
}

/// A list page of orders for product 456 that holds `order` among others.
fn orders_page(order: Value) -> Value {
    let mut other = created_order_json("order-0999");
    other["id"] = json!("0d2a9c1e-0000-4000-8000-000000000999");
    json!({"items": [other, order], "page": 1, "pageSize": 100, "total": 2})
}

#[tokio::test]
async fn an_unknown_create_outcome_is_settled_by_looking_the_key_up() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(p("/orders"))
                .header("idempotency-key", "order-1001");
            then.status(503).body("<html>maintenance</html>");
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/orders"))
                .header("authorization", KEY)
                .query_param("product_id", "456")
                .query_param("page", "1")
                .query_param("pageSize", "100");
            then.status(200)
                .json_body(orders_page(created_order_json("order-1001")));
        })
        .await;
    let order = client(&server).orders().create(&request()).await.unwrap();
    post.assert_calls_async(3).await;
    lookup.assert_calls_async(1).await;
    assert_eq!(order.id.as_str(), "8f0c3b7e-6b7a-4a53-9a7e-2b8f1d1c9e01");
    assert_eq!(order.idempotency_key.unwrap().as_str(), "order-1001");
}

#[tokio::test]
async fn an_order_under_the_key_that_differs_is_reported_not_returned() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            then.status(502);
        })
        .await;
    let mut earlier = created_order_json("order-1001");
    earlier["external_ref"] = json!("INV-0001");
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders"));
            then.status(200).json_body(orders_page(earlier));
        })
        .await;
    let e = client(&server).orders().create(&request()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(e.field(), Some("external_ref"));
    assert!(!e.is_retryable());
    assert!(!e.may_have_succeeded());
    assert!(e.to_string().contains("use a new Idempotency-Key"), "{e}");
}

#[tokio::test]
async fn a_failed_lookup_leaves_the_outcome_ambiguous_with_the_key() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            then.status(500);
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders"));
            then.status(401).json_body(json!({"error": "unauthorized"}));
        })
        .await;
    let e = client(&server).orders().create(&request()).await.unwrap_err();
    lookup.assert_calls_async(2).await;
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert!(e.may_have_succeeded());
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("order-1001"));
    assert!(e.to_string().contains("`order-1001`"), "{e}");
}

#[tokio::test]
async fn a_definite_refusal_is_never_looked_up() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(p("/orders"));
            then.status(400)
                .json_body(json!({"error": "insufficient_balance", "message": "Balance too low"}));
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/orders"));
            then.status(200).json_body(json!({"items": []}));
        })
        .await;
    let e = client(&server).orders().create(&request()).await.unwrap_err();
    lookup.assert_calls_async(0).await;
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientBalance));
    assert_eq!(e.status(), Some(400));
    assert!(!e.is_retryable());
}

/// Bodies that are not a list: none of them may read as an empty list.
fn wrong_shapes() -> Vec<Value> {
    vec![
        json!({"page": 1, "pageSize": 50, "total": 3}),
        json!({"items": null, "page": 1}),
        json!({"items": {"id": 1}}),
        json!({}),
        json!("items"),
        json!(42),
        json!(null),
    ]
}

async fn assert_decode_error<T: std::fmt::Debug>(what: &str, body: &Value, r: agent_catalog::Result<T>) {
    let e = r.expect_err(what);
    assert_eq!(e.kind(), ErrorKind::Decode, "{what} {body}: {e}");
    assert_eq!(e.status(), Some(200), "{what} {body}: the status is kept");
}

#[tokio::test]
async fn every_list_refuses_a_body_of_the_wrong_shape() {
    for body in wrong_shapes() {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.method(GET);
                then.status(200).json_body(body.clone());
            })
            .await;
        let c = client(&server);
        assert_decode_error("product types", &body, c.product_types().list().await).await;
        assert_decode_error("types value", &body, c.send(&ListProductTypes).await).await;
        assert_decode_error("categories", &body, c.product_categories().list().await).await;
        assert_decode_error(
            "categories value",
            &body,
            c.send(&ListProductCategories::new()).await,
        )
        .await;
        assert_decode_error("products", &body, c.products().list(&ProductFilter::new()).await).await;
        assert_decode_error("orders", &body, c.orders().list(&OrderFilter::new()).await).await;
        assert_decode_error("deposits", &body, c.deposits().list(&DepositFilter::new()).await).await;
        assert_decode_error("balance", &body, c.balance().get().await).await;
    }
}

#[tokio::test]
async fn a_missing_documented_id_is_a_decode_error() {
    let server = MockServer::start_async().await;
    let mut order = created_order_json("k");
    order.as_object_mut().unwrap().remove("id");
    let mut product = product_json();
    product.as_object_mut().unwrap().remove("id");
    let mut untyped = product_json();
    untyped.as_object_mut().unwrap().remove("product_type_id");
    let mut unproduct = created_order_json("k");
    unproduct.as_object_mut().unwrap().remove("product_id");
    let deposit = json!({"currency_code": "USD", "amount": "250.00", "status": "posted"});
    let balance = json!({"items": [{"available": "1.00"}]});
    for (path, body) in [
        ("/orders/o-1", order.clone()),
        ("/orders", json!({"items": [order]})),
        ("/products/456", product.clone()),
        ("/products/457", untyped),
        ("/orders/o-2", unproduct),
        ("/products", json!([product])),
        ("/deposits", json!({"items": [deposit]})),
        ("/balance", balance),
    ] {
        server
            .mock_async(|when, then| {
                when.method(GET).path(p(path));
                then.status(200).json_body(body);
            })
            .await;
    }
    let c = client(&server);
    let none = json!(null);
    assert_decode_error("order", &none, c.orders().get("o-1").await).await;
    assert_decode_error("orders", &none, c.orders().list(&OrderFilter::new()).await).await;
    assert_decode_error("product", &none, c.products().get(456).await).await;
    assert_decode_error("product type id", &none, c.products().get(457).await).await;
    assert_decode_error("order product id", &none, c.orders().get("o-2").await).await;
    assert_decode_error("products", &none, c.products().list(&ProductFilter::new()).await).await;
    assert_decode_error("deposits", &none, c.deposits().list(&DepositFilter::new()).await).await;
    assert_decode_error("balance currency", &none, c.balance().get().await).await;
}
