//! Cheques: create, info, update, delete, list.

use futures_util::StreamExt;
use httpmock::prelude::*;
use serde_json::json;
use xrocket::{
    Asset, ChequeId, ChequeState, CreateCheque, Decimal, ErrorKind, ListCheques, Lookup, RedirectUrls,
    TargetType, UpdateCheque,
};

use crate::{authed, authed_json, client, exact_query, wait_calls};

pub(crate) fn cheque_json() -> serde_json::Value {
    json!({
        "chequeId": "c-777",
        "clientChequeId": "gift-42",
        "asset": "TONCOIN",
        "amount": "0.5",
        "description": "Happy birthday",
        "targetType": "telegram_user_id",
        "target": "87209764",
        "links": {"telegramBotLink": "https://t.me/xrocket?start=chq_777", "telegramMiniAppLink": null, "webLink": null},
        "state": "active",
        "deleted": false,
        "callback": {"callbackUrl": "https://shop.example/hooks/xrocket", "payload": {"order": 42}},
        "url": {"successUrl": "https://shop.example/ok", "cancelUrl": "https://shop.example/no"}
    })
}

fn gift() -> CreateCheque {
    CreateCheque::new(Asset::Toncoin, Decimal::new(5, 1))
        .client_cheque_id("gift-42")
        .password("open-sesame-pw")
        .description("Happy birthday")
        .for_recipient(TargetType::TelegramUserId, "87209764")
        .callback(xrocket::Callback::new("https://shop.example/hooks/xrocket").payload(json!({"order": 42})))
        .url(RedirectUrls::new(
            "https://shop.example/ok",
            "https://shop.example/no",
        ))
}

#[tokio::test]
async fn create_cheque_sends_documented_body() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(authed_json(when.method(POST).path("/api/v1/cheques")), &[]).json_body(json!({
                "asset": "TONCOIN",
                "amount": "0.5",
                "clientChequeId": "gift-42",
                "password": "open-sesame-pw",
                "description": "Happy birthday",
                "callback": {"callbackUrl": "https://shop.example/hooks/xrocket", "payload": {"order": 42}},
                "url": {"successUrl": "https://shop.example/ok", "cancelUrl": "https://shop.example/no"},
                "targetType": "telegram_user_id",
                "target": "87209764"
            }));
            then.status(200).json_body(cheque_json());
        })
        .await;
    let c = client(&server.base_url())
        .cheques()
        .create(&gift())
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(c.cheque_id, ChequeId::from("c-777"));
    assert_eq!(c.client_cheque_id.as_deref(), Some("gift-42"));
    assert_eq!(c.asset, Some(Asset::Toncoin));
    assert_eq!(c.amount, Some(Decimal::new(5, 1)));
    assert_eq!(c.state, ChequeState::Active);
    assert!(!c.deleted);
    assert_eq!(
        c.links.telegram_bot_link.as_deref(),
        Some("https://t.me/xrocket?start=chq_777")
    );
    assert_eq!(c.callback.unwrap().payload, Some(json!({"order": 42})));
}

#[tokio::test]
async fn create_cheque_retry_answered_already_taken_returns_the_cheque() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/cheques")
                .json_body_includes(r#"{"clientChequeId":"gift-42"}"#);
            then.status(503).header("Retry-After", "1");
        })
        .await;
    let taken = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/cheques")
                .json_body_includes(r#"{"clientChequeId":"gift-42"}"#);
            then.status(400)
                .json_body(json!({"type": "/api/problems/client_id_already_taken", "status": 400}));
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/cheque")),
                &[("clientChequeId", "gift-42")],
            );
            then.status(200).json_body(cheque_json());
        })
        .await;
    let c = client(&server.base_url());
    let call = tokio::spawn(async move { c.cheques().create(&gift()).await });
    wait_calls(&failing, 1).await;
    failing.delete_async().await;
    let cheque = call.await.unwrap().unwrap();
    assert_eq!(cheque.cheque_id.as_str(), "c-777");
    taken.assert_calls_async(1).await;
    lookup.assert_calls_async(1).await;
}

#[tokio::test]
async fn get_update_delete_cheque() {
    let server = MockServer::start_async().await;
    let get = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/cheque")),
                &[("chequeId", "c-777")],
            );
            let mut deleted = cheque_json();
            deleted["deleted"] = json!(true);
            then.status(200).json_body(deleted);
        })
        .await;
    let update = server
        .mock_async(|when, then| {
            exact_query(
                authed_json(when.method(PUT).path("/api/v1/cheques")),
                &[("clientChequeId", "gift-42")],
            )
            .json_body(json!({"description": ""}));
            then.status(200).json_body(cheque_json());
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(DELETE).path("/api/v1/cheques")),
                &[("chequeId", "c-777")],
            );
            then.status(200);
        })
        .await;
    let c = client(&server.base_url());
    let got = c.cheques().get(&ChequeId::from("c-777")).await.unwrap();
    assert!(got.deleted);
    let updated = c
        .cheques()
        .update(Lookup::client_id("gift-42"), &UpdateCheque::description(""))
        .await
        .unwrap();
    assert_eq!(updated.cheque_id.as_str(), "c-777");
    c.cheques().delete(&ChequeId::from("c-777")).await.unwrap();
    get.assert_calls_async(1).await;
    update.assert_calls_async(1).await;
    delete.assert_calls_async(1).await;
}

#[tokio::test]
async fn list_cheques_with_filters_and_cursor() {
    let server = MockServer::start_async().await;
    let p1 = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/cheques")),
                &[
                    ("fromDate", "2026-01-01T00:00:00Z"),
                    ("targetType", "telegram_user_id"),
                    ("target", "87209764"),
                    ("state", "active"),
                    ("limit", "100"),
                ],
            );
            then.status(200)
                .json_body(json!({"items": [cheque_json()], "pagination": {"next": "n2"}}));
        })
        .await;
    let p2 = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/cheques")
                .query_param("cursor", "n2");
            then.status(200).json_body(json!({"items": [], "pagination": {}}));
        })
        .await;
    let filter = ListCheques::new()
        .from_date("2026-01-01T00:00:00Z")
        .recipient(TargetType::TelegramUserId, "87209764")
        .state(ChequeState::Active)
        .limit(100);
    let c = client(&server.base_url());
    let all: Vec<_> = c.cheques().stream(filter).collect().await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].as_ref().unwrap().cheque_id.as_str(), "c-777");
    p1.assert_calls_async(1).await;
    p2.assert_calls_async(1).await;
}

#[tokio::test]
async fn invalid_cheques_are_refused_before_sending() {
    let c = client(&payout_core::test_util::refused_base_url());
    let long_pw = CreateCheque::new(Asset::Toncoin, Decimal::ONE).password("p".repeat(101));
    let err = c.cheques().create(&long_pw).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.field()),
        (ErrorKind::InvalidInput, Some("password"))
    );
    assert_eq!(err.attempts(), 0);
    let long_id = CreateCheque::new(Asset::Toncoin, Decimal::ONE).client_cheque_id("x".repeat(51));
    assert_eq!(
        c.cheques().create(&long_id).await.unwrap_err().field(),
        Some("clientChequeId")
    );
    let neg = CreateCheque::new(Asset::Toncoin, Decimal::NEGATIVE_ONE);
    assert_eq!(
        c.cheques().create(&neg).await.unwrap_err().field(),
        Some("amount")
    );
    let desc = CreateCheque::new(Asset::Toncoin, Decimal::ONE).description("d".repeat(1001));
    assert_eq!(
        c.cheques().create(&desc).await.unwrap_err().field(),
        Some("description")
    );
    let bad_cb = CreateCheque::new(Asset::Toncoin, Decimal::ONE).callback(xrocket::Callback::new("ftp://x"));
    assert_eq!(
        c.cheques().create(&bad_cb).await.unwrap_err().field(),
        Some("callback")
    );
    let big_payload = xrocket::Callback::new("https://x.example").payload(json!({"a": "b".repeat(5000)}));
    let big = CreateCheque::new(Asset::Toncoin, Decimal::ONE).callback(big_payload);
    assert_eq!(
        c.cheques().create(&big).await.unwrap_err().field(),
        Some("callback")
    );
    assert_eq!(
        c.cheques().by_client_id("").await.unwrap_err().field(),
        Some("clientChequeId")
    );
    assert_eq!(
        c.cheques()
            .delete(Lookup::id("9".repeat(101)))
            .await
            .unwrap_err()
            .field(),
        Some("chequeId")
    );
}
