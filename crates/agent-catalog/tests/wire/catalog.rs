//! Product types, product categories, products and the catalog snapshot.

use agent_catalog::{Catalog, CategoryId, Decimal, ProductFilter, ProductId, ProductTypeCode, ProductTypeId};
use futures_util::StreamExt;
use httpmock::prelude::*;
use serde_json::json;

use crate::{AGENT_PATH, KEY, client, p, product_json, types_json, voucher_json};

#[tokio::test]
async fn product_types_list_returns_the_canonical_types() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/product-types"))
                .header("authorization", KEY)
                .header("accept", "application/json");
            then.status(200).json_body(types_json());
        })
        .await;
    let types = client(&server).product_types().list().await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(types.len(), 3);
    assert_eq!(types[0].id, ProductTypeId::new(1));
    assert_eq!(types[0].code, ProductTypeCode::RedeemCard);
    assert_eq!(types[0].name, "Redeemable Card");
    assert_eq!(types[1].code, ProductTypeCode::DirectTransfer);
    assert_eq!(types[2].code, ProductTypeCode::DirectTopUp);
}

#[tokio::test]
async fn unknown_product_type_code_decodes_to_unknown() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/product-types"));
            then.status(200)
                .json_body(json!([{"id": 9, "code": "gift_bundle", "name": "Bundle", "new_field": true}]));
        })
        .await;
    let types = client(&server).product_types().list().await.unwrap();
    assert_eq!(types[0].code, ProductTypeCode::Unknown("gift_bundle".into()));
    assert!(types[0].code.is_unknown());
}

#[tokio::test]
async fn product_categories_list_accepts_array_and_page_object() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/product-categories"))
                .header("authorization", KEY);
            then.status(200).json_body(json!([
                {"id": 7, "name": "Gift cards", "slug": "gift-cards"},
                {"id": 12, "name": "Games", "slug": "games", "parent_id": null, "icon": "x.png"}
            ]));
        })
        .await;
    let cats = client(&server).product_categories().list().await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(cats.len(), 2);
    assert_eq!(cats[0].id, CategoryId::new(7));
    assert_eq!(cats[1].slug.as_deref(), Some("games"));
    assert_eq!(cats[1].extra["icon"], "x.png");

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/product-categories"));
            then.status(200).json_body(json!({
                "items": [{"id": 7, "name": "Gift cards"}], "page": 1, "pageSize": 50, "total": 1
            }));
        })
        .await;
    let cats = client(&server).product_categories().list().await.unwrap();
    assert_eq!(cats[0].name, "Gift cards");
}

#[tokio::test]
async fn products_list_sends_filters_and_page_size() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/products"))
                .header("authorization", KEY)
                .query_param("page", "2")
                .query_param("pageSize", "1")
                .query_param("category_id", "12")
                .query_param("product_type_id", "3")
                .query_param("region_code", "GLOBAL")
                .query_param("currency_code", "USD")
                .query_param("is_active", "true");
            then.status(200).json_body(json!({
                "items": [product_json()], "page": 2, "pageSize": 1, "total": 3
            }));
        })
        .await;
    let filter = ProductFilter::new()
        .page(2)
        .page_size(1)
        .category_id(12)
        .product_type_id(3)
        .region_code("GLOBAL")
        .currency_code("USD")
        .is_active(true);
    let page = client(&server).products().list(&filter).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(page.total, Some(3));
    assert_eq!(page.next, Some(3));
    let prod = &page.items[0];
    assert_eq!(prod.id, ProductId::new(456));
    assert_eq!(prod.price, Some(Decimal::from(10)));
    assert_eq!(prod.min_amount, Some(Decimal::from(5)));
    assert_eq!(prod.max_amount, Some(Decimal::from(100)));
    assert_eq!(prod.step, Some(Decimal::from(1)));
}

#[tokio::test]
async fn products_without_filter_send_no_query() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/products"))
                .query_param_missing("page")
                .query_param_missing("pageSize")
                .query_param_missing("is_active");
            then.status(200)
                .json_body(json!({"items": [], "page": 1, "pageSize": 50, "total": 0}));
        })
        .await;
    let page = client(&server)
        .products()
        .list(&ProductFilter::new())
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert!(page.items.is_empty());
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn products_stream_walks_every_page_once() {
    let server = MockServer::start_async().await;
    let p1 = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/products"))
                .query_param("page", "1")
                .query_param("pageSize", "2");
            then.status(200).json_body(json!({
                "items": [voucher_json(), product_json()], "page": 1, "pageSize": 2, "total": 3
            }));
        })
        .await;
    let p2 = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/products"))
                .query_param("page", "2")
                .query_param("pageSize", "2");
            then.status(200).json_body(json!({
                "items": [{"id": 789, "product_type_id": 1, "name": "Spotify", "price": "9.99", "is_active": false}],
                "page": 2, "pageSize": 2, "total": 3
            }));
        })
        .await;
    let c = client(&server);
    let all: Vec<_> = c
        .products()
        .stream(ProductFilter::new().page_size(2))
        .map(|r| r.unwrap())
        .collect()
        .await;
    p1.assert_calls_async(1).await;
    p2.assert_calls_async(1).await;
    let ids: Vec<i64> = all.iter().map(|p| p.id.get()).collect();
    assert_eq!(ids, vec![101, 456, 789]);
    assert_eq!(all[2].price, Some(Decimal::new(999, 2)));
    assert!(!all[2].is_active);

    // The cap stops fetching: only the first page is needed for two items.
    let capped = c
        .products()
        .collect_all(ProductFilter::new().page_size(2), 2)
        .await
        .unwrap();
    assert_eq!(capped.len(), 2);
    p2.assert_calls_async(1).await;
}

#[tokio::test]
async fn product_get_reads_the_documented_product() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/products/456"))
                .header("authorization", KEY);
            then.status(200).json_body(product_json());
        })
        .await;
    let prod = client(&server).products().get(456).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(prod.name, "Steam Wallet Top Up");
    assert_eq!(prod.slug.as_deref(), Some("steam-wallet-top-up"));
    assert_eq!(prod.category_id, Some(CategoryId::new(12)));
    assert_eq!(prod.product_type_id, ProductTypeId::new(3));
    assert_eq!(prod.region_code.as_deref(), Some("GLOBAL"));
    assert_eq!(prod.currency_code.as_deref(), Some("USD"));
    assert_eq!(prod.logo.as_deref(), Some("https://cdn.example.com/steam.png"));
    assert_eq!(prod.description.as_deref(), Some("Top up any Steam account"));
    assert!(prod.is_active);
    // A fractional JSON number is read exactly, not through f64 drift.
    let exact: agent_catalog::Product =
        serde_json::from_value(json!({"id": 1, "product_type_id": 3, "price": 0.1, "min_amount": "5.10"}))
            .unwrap();
    assert_eq!(exact.price.unwrap().to_string(), "0.1");
    assert_eq!(exact.min_amount.unwrap().to_string(), "5.10");
}

async fn mock_catalog(server: &MockServer, products: serde_json::Value) -> Vec<httpmock::Mock<'_>> {
    let a = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/product-types"));
            then.status(200).json_body(types_json());
        })
        .await;
    let b = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/product-categories"));
            then.status(200).json_body(json!([
                {"id": 7, "name": "Gift cards", "slug": "gift-cards"},
                {"id": 12, "name": "Games", "slug": "games"}
            ]));
        })
        .await;
    let c = server
        .mock_async(move |when, then| {
            when.method(GET).path(p("/products"));
            then.status(200).json_body(products);
        })
        .await;
    vec![a, b, c]
}

#[tokio::test]
async fn catalog_snapshot_has_lookups_and_an_explicit_refresh() {
    let server = MockServer::start_async().await;
    let mocks = mock_catalog(
        &server,
        json!({"items": [voucher_json(), product_json()], "page": 1, "pageSize": 50, "total": 2}),
    )
    .await;
    let c = client(&server);
    let mut catalog = c.sync_catalog().await.unwrap();
    assert_eq!(catalog.products().len(), 2);
    let top_up = catalog.product(456).unwrap();
    assert_eq!(catalog.type_code_of(top_up), Some(&ProductTypeCode::DirectTopUp));
    assert_eq!(catalog.category_of(top_up).unwrap().name, "Games");
    assert_eq!(
        catalog
            .product_type_by_code(&ProductTypeCode::RedeemCard)
            .unwrap()
            .id,
        ProductTypeId::new(1)
    );
    assert_eq!(
        catalog.product_by_slug("google-play-25-usd").unwrap().id,
        ProductId::new(101)
    );
    assert_eq!(
        catalog.category_by_slug("gift-cards").unwrap().id,
        CategoryId::new(7)
    );
    let vouchers: Vec<_> = catalog.products_of_type(&ProductTypeCode::RedeemCard).collect();
    assert_eq!(vouchers.len(), 1);
    assert_eq!(catalog.products_in_category(12).count(), 1);
    assert!(catalog.product(999).is_none());
    assert!(!catalog.is_older_than(std::time::Duration::from_secs(60)));

    // Refresh picks up a change; a failed refresh keeps the old snapshot.
    for m in mocks {
        m.delete_async().await;
    }
    let _mocks = mock_catalog(
        &server,
        json!({"items": [product_json()], "page": 1, "pageSize": 50, "total": 1}),
    )
    .await;
    catalog.refresh(&c).await.unwrap();
    assert_eq!(catalog.products().len(), 1);
    assert!(catalog.product(101).is_none());

    let down = MockServer::start_async().await;
    down.mock_async(|when, then| {
        when.any_request();
        then.status(404).json_body(json!({"error": "not_found"}));
    })
    .await;
    let other = crate::client(&down);
    assert!(catalog.refresh(&other).await.is_err());
    assert_eq!(catalog.products().len(), 1, "the old snapshot is kept");
    let _ = AGENT_PATH;
}

#[test]
fn catalog_from_parts_works_offline() {
    let types = serde_json::from_value(types_json()).unwrap();
    let products = vec![serde_json::from_value(product_json()).unwrap()];
    let catalog = Catalog::from_parts(types, vec![], products);
    assert_eq!(
        catalog.type_code_of(catalog.product(ProductId::new(456)).unwrap()),
        Some(&ProductTypeCode::DirectTopUp)
    );
}

/// A products endpoint that answers a bare array (no `page`, `pageSize` or `total`) is not
/// paginated: the array is the whole list. Before the fix the stream asked for page 2, 3, ...
/// forever (the server ignores `page` and repeats the array), so `sync_catalog` sent
/// thousands of requests and filled the snapshot with duplicates.
#[tokio::test]
async fn a_bare_array_product_list_is_the_whole_list() {
    let server = MockServer::start_async().await;
    let mocks = mock_catalog(&server, json!([voucher_json(), product_json()])).await;
    let c = client(&server);
    let catalog = c.sync_catalog().await.unwrap();
    mocks[2].assert_calls_async(1).await;
    assert_eq!(catalog.products().len(), 2);
    assert!(!catalog.is_truncated());
    let page = c.products().list(&ProductFilter::new()).await.unwrap();
    assert_eq!(page.next, None);
}

/// Categories answered as a page object are followed to the last page (the shape of this
/// endpoint is not published; a paged answer must not silently drop categories).
#[tokio::test]
async fn paged_product_categories_are_all_fetched() {
    let server = MockServer::start_async().await;
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/product-categories"))
                .query_param_missing("page");
            then.status(200).json_body(json!({
                "items": [{"id": 7, "name": "Gift cards"}, {"id": 8, "name": "Games"}],
                "page": 1, "pageSize": 2, "total": 3
            }));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/product-categories"))
                .query_param("page", "2")
                .query_param("pageSize", "2");
            then.status(200).json_body(json!({
                "items": [{"id": 9, "name": "Mobile"}], "page": 2, "pageSize": 2, "total": 3
            }));
        })
        .await;
    let cats = client(&server).product_categories().list().await.unwrap();
    first.assert_calls_async(1).await;
    second.assert_calls_async(1).await;
    let ids: Vec<i64> = cats.iter().map(|c| c.id.get()).collect();
    assert_eq!(ids, vec![7, 8, 9]);
}
