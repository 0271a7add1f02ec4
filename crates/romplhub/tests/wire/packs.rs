use httpmock::prelude::*;
use romplhub::{CreatePack, ErrorKind, OrderPack, OrderStatus, PackItem, Product, Totals, WlidTokens};
use serde_json::json;

use crate::orders::{BACKUP, PASSWORD, REFRESH, WLID};
use crate::{API_KEY, client, products_json};

fn products() -> Vec<Product> {
    serde_json::from_value(products_json()).unwrap()
}

#[test]
fn pack_totals_match_the_documented_example() {
    let pack = CreatePack::new("Starter Bundle")
        .item("robux_550", 2)
        .item("robux_1000", 1);
    let t = pack.totals(&products()).unwrap();
    assert_eq!((t.tokens, t.robux), (95, 2100));
    let err = CreatePack::new("x")
        .item("robux_77", 1)
        .totals(&products())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("items.product"));
    let huge = [
        PackItem::new("robux_2200", u32::MAX),
        PackItem::new("robux_2200", u32::MAX),
    ];
    let big = [Product::new("robux_2200", u64::MAX / 2, 1)];
    assert!(
        Totals::of(&huge, &big).is_err(),
        "overflow is an error, not a wrap"
    );
    // Ordered with WLID tokens: one flat fee per resulting order.
    let items = pack.items().to_vec();
    let est = OrderPack::new("7", "u", "p")
        .wlid_tokens(WlidTokens::new(REFRESH, WLID))
        .estimate(&items, &products())
        .unwrap();
    assert_eq!((est.tokens, est.robux), (6, 2100));
}

#[tokio::test]
async fn create_pack_sends_documented_body() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/packs")
                .header("x-api-key", API_KEY)
                .header("content-type", "application/json")
                .json_body(json!({
                    "name": "Starter Bundle",
                    "items": [
                        {"product": "robux_550", "quantity": 2},
                        {"product": "robux_1000", "quantity": 1}
                    ]
                }));
            then.status(201).json_body(json!({
                "id": 7, "name": "Starter Bundle",
                "items": [{"product": "robux_550", "quantity": 2}, {"product": "robux_1000", "quantity": 1}],
                "total_tokens": 95, "total_robux": 2100
            }));
        })
        .await;
    let pack = client(&server.base_url())
        .packs()
        .create(
            &CreatePack::new("Starter Bundle")
                .item("robux_550", 2)
                .item("robux_1000", 1),
        )
        .await
        .unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(pack.id.as_str(), "7");
    assert_eq!(pack.total_tokens, Some(95));
    assert_eq!(pack.total_robux, Some(2100));
    assert_eq!(pack.items.as_ref().map(Vec::len), Some(2));
    assert_eq!(pack.totals(&products()).unwrap().tokens, 95);
}

#[tokio::test]
async fn create_pack_validates_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(201);
        })
        .await;
    let c = client(&server.base_url());
    for (req, field) in [
        (CreatePack::new(" ").item("robux_88", 1), "name"),
        (CreatePack::new("x"), "items"),
        (CreatePack::new("x").item("robux_88", 0), "items.quantity"),
        (CreatePack::new("x").item("", 1), "items.product"),
    ] {
        let err = c.packs().create(&req).await.unwrap_err();
        assert_eq!(err.field(), Some(field));
    }
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn list_packs_reads_a_bare_array_or_a_wrapper() {
    let server = MockServer::start_async().await;
    let mut mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/packs").header("x-api-key", API_KEY);
            then.status(200).json_body(json!([
                {"id": 7, "name": "Starter Bundle", "items": [{"product": "robux_550", "quantity": 2}]},
                {"id": "p-8", "name": "Empty"}
            ]));
        })
        .await;
    let c = client(&server.base_url());
    let packs = c.packs().list().await.unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(packs.len(), 2);
    assert_eq!(packs[0].id.as_str(), "7");
    assert_eq!(packs[0].items.as_ref().unwrap()[0], PackItem::new("robux_550", 2));
    assert_eq!(packs[1].id.as_str(), "p-8");
    mock.delete_async().await;
    mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/packs");
            then.status(200).json_body(json!({"packs": [{"id": 1}]}));
        })
        .await;
    assert_eq!(c.packs().list().await.unwrap().len(), 1);
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn delete_pack_sends_delete_and_accepts_204_or_json() {
    let server = MockServer::start_async().await;
    let no_content = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/packs/7")
                .header("x-api-key", API_KEY)
                .body("");
            then.status(204);
        })
        .await;
    let json_ack = server
        .mock_async(|when, then| {
            when.method(DELETE).path("/packs/8");
            then.status(200).json_body(json!({"ok": true}));
        })
        .await;
    let c = client(&server.base_url());
    c.packs().delete("7").await.unwrap();
    c.packs().delete(romplhub::PackId::new("8")).await.unwrap();
    no_content.assert_calls_async(1).await;
    json_ack.assert_calls_async(1).await;
}

#[tokio::test]
async fn order_pack_sends_the_account_and_returns_one_order_per_item() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/packs/7/order")
                .header("x-api-key", API_KEY)
                .header("content-type", "application/json")
                .json_body(json!({
                    "login": "user@roblox.com",
                    "password": PASSWORD,
                    "backup_code": BACKUP,
                    "webhook_url": "https://your-site.com/hook",
                    "wlid_tokens": {"refresh_token": REFRESH, "wlid_token": WLID}
                }));
            then.status(201).json_body(json!([
                {"order_uid": "VX-00000001", "status": "pending", "tokens_charged": 3, "product_robux": 550},
                {"order_uid": "VX-00000002", "status": "pending", "tokens_charged": 3, "product_robux": 550},
                {"order_uid": "VX-00000003", "status": "pending", "tokens_charged": 3, "product_robux": 1000}
            ]));
        })
        .await;
    let orders = client(&server.base_url())
        .packs()
        .order(
            &OrderPack::new("7", "user@roblox.com", PASSWORD)
                .backup_code(BACKUP)
                .webhook_url("https://your-site.com/hook")
                .wlid_tokens(WlidTokens::new(REFRESH, WLID)),
        )
        .await
        .unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(orders.len(), 3);
    assert!(orders.iter().all(|o| o.status == OrderStatus::Pending));
    assert_eq!(orders[2].product_robux, Some(1000));
}

#[tokio::test]
async fn order_pack_minimal_body_and_wrapped_answer() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/packs/7/order")
                .json_body(json!({"login": "user@roblox.com", "password": PASSWORD}));
            then.status(201)
                .json_body(json!({"orders": [{"order_uid": "VX-1", "status": "pending"}]}));
        })
        .await;
    let c = client(&server.base_url());
    let orders = c
        .packs()
        .order(&OrderPack::new("7", "user@roblox.com", PASSWORD))
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    mock.assert_calls_async(1).await;
    let err = c
        .packs()
        .order(&OrderPack::new("7", "user@roblox.com", ""))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("password"));
    let err = c
        .packs()
        .order(&OrderPack::new("", "u", PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("id"));
    mock.assert_calls_async(1).await;
}
