//! The one API shape (docs/api-conventions.md): request values and the generic `send`, keys
//! readable before sending, serialized request values that never carry card data, and
//! models strict about what RohoPay documents (a missing container or reference is a
//! `Decode` error that keeps the status, never an empty page or an anonymous transaction).

use httpmock::prelude::*;
use payout_core::{ApiClient, Endpoint, Safety};
use rohopay::{
    Card, CheckoutRequest, CollectRequest, Currency, DisburseRequest, ErrorKind, GetTransaction,
    GetWalletBalance, IdempotencyKey, Keyed, ListTransactions,
};
use serde_json::{Value, json};

use crate::common::*;

#[test]
fn declared_safety_of_every_endpoint() {
    assert_eq!(<CheckoutRequest as Endpoint>::META.safety, Safety::KeyProtected);
    assert_eq!(<CollectRequest as Endpoint>::META.safety, Safety::KeyProtected);
    assert_eq!(<DisburseRequest as Endpoint>::META.safety, Safety::KeyProtected);
    assert_eq!(<GetTransaction as Endpoint>::META.safety, Safety::Idempotent);
    assert_eq!(<ListTransactions as Endpoint>::META.safety, Safety::Idempotent);
    assert_eq!(<GetWalletBalance as Endpoint>::META.safety, Safety::Idempotent);
    assert_eq!(<CheckoutRequest as Endpoint>::META.operation, "checkout.create");
}

/// Every money-moving request value carries its key from construction, readable before
/// anything is sent, and the wire request carries exactly that key.
#[test]
fn keys_are_readable_before_sending_and_are_what_is_sent() {
    let checkout = excerpt_checkout();
    let collect = CollectRequest::new("256712345678", 50_000, Currency::Ugx);
    let disburse = DisburseRequest::new("256712345678", 50_000, Currency::Ugx);
    for (key, wire) in [
        (checkout.key(), checkout.to_request().unwrap()),
        (collect.key(), collect.to_request().unwrap()),
        (disburse.key(), disburse.to_request().unwrap()),
    ] {
        assert_eq!(key.len(), 36);
        assert_eq!(wire.get_idempotency_key().map(|k| k.as_str()), Some(key));
        assert_eq!(wire.get_safety(), Safety::KeyProtected);
    }
    assert_eq!(<CheckoutRequest as Keyed>::KEY_NAME, "Idempotency-Key");
    // Invalid input is refused while building, before any byte is sent.
    let bad = CollectRequest::new("+256712345678", 50_000, Currency::Ugx);
    assert_eq!(bad.to_request().unwrap_err().field(), Some("phone"));
}

/// Request values serialize for a journal; a checkout's card is masked, so a stored
/// checkout cannot be re-sent with card data (it fails validation), while collect and
/// disburse round-trip with their key.
#[test]
fn request_values_serialize_without_card_data() {
    let collect = CollectRequest::new("256712345678", 50_000, Currency::Ugx)
        .idempotency_key(IdempotencyKey::new("order-1").unwrap());
    let back: CollectRequest = serde_json::from_str(&serde_json::to_string(&collect).unwrap()).unwrap();
    assert_eq!(back, collect);
    assert_eq!(back.key(), "order-1");

    let checkout = CheckoutRequest::new(
        75_000,
        Currency::Ugx,
        "Jane Mukasa",
        "jane@example.com",
        "https://shop.example/r",
        Card::new("5425233430109903", "08/29", "947"),
    );
    let stored = serde_json::to_value(&checkout).unwrap();
    let text = stored.to_string();
    for secret in ["5425233430109903", "08/29", "08\\/29", "947"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(stored["card"]["cvv"], "[REDACTED]");
    assert_eq!(stored["idempotency_key"], checkout.key());
    let back: CheckoutRequest = serde_json::from_value(stored).unwrap();
    assert_eq!(back.key(), checkout.key());
    let err = back.to_request().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("card_number"));
}

/// `client.send(&req)` runs any request value, inherent or through the shared trait.
#[tokio::test]
async fn generic_send_runs_any_request_value() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/RHP-2024-ABC123");
            then.status(200).json_body(json!({
                "success": true, "data": transaction_json("RHP-2024-ABC123", "successful")
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/wallet/balance");
            then.status(200).json_body(json!({
                "success": true, "data": {"balance_live": 10, "balance_test": 0, "currency": "UGX"}
            }));
        })
        .await;
    let c = client(&server);
    let tx = c.send(&GetTransaction::new("RHP-2024-ABC123")).await.unwrap();
    assert!(tx.is_successful());
    let balance = ApiClient::send(&c, &GetWalletBalance).await.unwrap();
    assert_eq!(balance.balance_live, 10.into());
}

async fn answer(path: &str, body: Value) -> (MockServer, rohopay::Client) {
    let server = MockServer::start_async().await;
    let path = path.to_string();
    server
        .mock_async(|when, then| {
            when.path(path);
            then.status(200).json_body(body);
        })
        .await;
    let c = client(&server);
    (server, c)
}

fn assert_decode(err: &rohopay::Error, what: &str) {
    assert_eq!(err.kind(), ErrorKind::Decode, "{what}: {err}");
    assert_eq!(err.status(), Some(200), "{what}: keeps the status");
}

/// A list of the wrong shape is a decode error, never an empty page.
#[tokio::test]
async fn transaction_list_of_the_wrong_shape_is_a_decode_error() {
    for body in [
        json!({"success": true, "data": {"items": []}}),
        json!({"success": true, "transactions": []}),
        json!({"success": true, "data": null}),
        json!({"success": true, "data": "[]"}),
        json!({"data": []}),
        json!([]),
    ] {
        let (_s, c) = answer("/api/v1/transactions", body.clone()).await;
        let err = c.transactions().list(&ListTransactions::new()).await.unwrap_err();
        assert_decode(&err, &body.to_string());
    }
    // A list item without its reference is refused too, not kept anonymous.
    let (_s, c) = answer(
        "/api/v1/transactions",
        json!({"success": true, "data": [{"status": "successful", "amount": 5}]}),
    )
    .await;
    let err = c.transactions().list(&ListTransactions::new()).await.unwrap_err();
    assert_decode(&err, "item without reference");
    assert!(err.message().contains("internal_reference"), "{err}");
}

/// A transaction, a wallet or a checkout session without what RohoPay documents as required
/// is a decode error keeping the status; on a money-moving call it may have succeeded.
#[tokio::test]
async fn missing_documented_fields_are_decode_errors() {
    let (_s, c) = answer(
        "/api/v1/transactions/RHP-1",
        json!({"success": true, "data": {"status": "successful"}}),
    )
    .await;
    assert_decode(&c.transactions().get("RHP-1").await.unwrap_err(), "transaction");

    let (_s, c) = answer("/api/v1/wallet/balance", json!({"success": true, "data": {}})).await;
    assert_decode(&c.wallet().balance().await.unwrap_err(), "wallet");
    let (_s, c) = answer("/api/v1/wallet/balance", json!({"success": true})).await;
    assert_decode(&c.wallet().balance().await.unwrap_err(), "wallet without data");

    let (_s, c) = answer(
        "/api/v1/checkout",
        json!({"success": true, "data": {"payment_url": "https://p.example/3ds/x", "status": "pending"}}),
    )
    .await;
    let err = c.checkout().create(&excerpt_checkout()).await.unwrap_err();
    assert_decode(&err, "checkout without reference");
    assert!(err.may_have_succeeded());
    assert!(err.idempotency_key().is_some());

    let (_s, c) = answer(
        "/api/v1/collect",
        json!({"success": true, "message": "Payment initiated"}),
    )
    .await;
    let err = c
        .mobile_money()
        .collect(&CollectRequest::new("256712345678", 50_000, Currency::Ugx))
        .await
        .unwrap_err();
    assert_decode(&err, "collect without data");
    assert!(err.may_have_succeeded());
}
