use httpmock::prelude::*;
use romplhub::{Decimal, Product};
use serde_json::json;

use crate::{API_KEY, client, jwt_client, products_json};

#[tokio::test]
async fn list_products_sends_api_key_and_reads_the_documented_table() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/products")
                .header("x-api-key", API_KEY)
                .header("accept", "application/json")
                .header_missing("authorization")
                .header_missing("content-type");
            then.status(200).json_body(products_json());
        })
        .await;
    let products = client(&server.base_url()).products().list().await.unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(products.len(), 4);
    assert_eq!(products[3].id.as_str(), "robux_2200");
    assert_eq!(products[3].robux, 2200);
    assert_eq!(products[3].tokens, 100);
    assert_eq!(products[3].usd, Some(Decimal::new(1999, 2)));
}

#[tokio::test]
async fn products_tolerate_aliases_wrappers_and_string_numbers() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/products").header("authorization", format!("Bearer {}", crate::JWT));
            then.status(200).json_body(json!({"products": [
                {"product_id": "robux_88", "robux_amount": "88", "price_tokens": "11", "price_usd": "0.99", "name": "88 Robux", "new_field": true}
            ]}));
        })
        .await;
    let products = jwt_client(&server.base_url()).products().list().await.unwrap();
    let p: &Product = &products[0];
    assert_eq!((p.id.as_str(), p.robux, p.tokens), ("robux_88", 88, 11));
    assert_eq!(p.usd, Some(Decimal::new(99, 2)));
    assert_eq!(p.name.as_deref(), Some("88 Robux"));
    assert_eq!(p.extra["new_field"], json!(true));
}

#[tokio::test]
async fn products_with_two_id_spellings_prefer_the_product_id() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/products");
            then.status(200).json_body(json!([
                {"id": 3, "product_id": "robux_550", "robux": 550, "tokens": 25, "price": 99}
            ]));
        })
        .await;
    let products = client(&server.base_url()).products().list().await.unwrap();
    assert_eq!(products[0].id.as_str(), "robux_550");
    assert_eq!(products[0].tokens, 25, "`tokens` wins over the alias `price`");
    assert_eq!(products[0].extra["id"], json!(3));
}
