//! Transfers: create, info, list, mass transfers, both namings, and the proof that a retry
//! never pays twice.

use std::time::Duration;

use futures_util::StreamExt;
use httpmock::prelude::*;
use payout_core::test_util::{DropMode, DropServer};
use serde_json::json;
use xrocket::{
    Asset, Client, CreateTransfer, Decimal, ErrorCode, ErrorKind, ListTransfers, MassTransfer,
    MassTransferItem, TargetType, TransferId, TransferNaming, TransferStatus,
};

use crate::{KEY, authed, authed_json, client, exact_query, transfer_json, wait_calls};

fn excerpt_transfer() -> CreateTransfer {
    CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, Decimal::new(123, 2))
        .client_transfer_id("123456789")
        .description("You are awesome!")
}

fn excerpt_body() -> serde_json::Value {
    json!({
        "target": "87209764",
        "targetType": "telegram_user_id",
        "asset": "TONCOIN",
        "amount": "1.23",
        "clientTransferId": "123456789",
        "description": "You are awesome!"
    })
}

#[tokio::test]
async fn create_transfer_sends_documented_body() {
    let server = MockServer::start_async().await;
    let mut answer = transfer_json();
    answer["status"] = json!("finished");
    let m = server
        .mock_async(|when, then| {
            exact_query(authed_json(when.method(POST).path("/api/v1/transfers")), &[])
                .json_body(excerpt_body());
            then.status(200).json_body(answer);
        })
        .await;
    let t = client(&server.base_url())
        .transfers()
        .create(&excerpt_transfer())
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(t.transfer_id, TransferId::from("123321232"));
    assert_eq!(t.client_transfer_id.as_deref(), Some("123456789"));
    assert_eq!(t.target.as_deref(), Some("87209764"));
    assert_eq!(t.target_type, Some(TargetType::TelegramUserId));
    assert_eq!(t.asset, Asset::Toncoin);
    assert_eq!(t.amount, Decimal::new(123, 2));
    assert_eq!(t.description.as_deref(), Some("You are awesome!"));
    assert_eq!(t.status, Some(TransferStatus::Finished));
    assert!(t.status.unwrap().is_final());
}

#[tokio::test]
async fn create_generates_a_client_id_and_returns_it() {
    let server = MockServer::start_async().await;
    let req = CreateTransfer::new("alice", TargetType::TelegramUsername, "USDT", Decimal::new(5, 0));
    let generated = payout_core::Keyed::key(&req).to_string();
    assert_eq!(generated.len(), 36, "a UUID");
    let m = server
        .mock_async(|when, then| {
            authed_json(when.method(POST).path("/api/v1/transfers")).json_body(json!({
                "target": "alice",
                "targetType": "telegram_username",
                "asset": "USDT",
                "amount": "5",
                "clientTransferId": generated,
            }));
            // The response leaves the client id out: the crate fills it in.
            then.status(200).json_body(json!({
                "transferId": "77", "target": "alice", "targetType": "telegram_username",
                "asset": "USDT", "amount": "5", "status": "pending"
            }));
        })
        .await;
    let t = client(&server.base_url()).transfers().create(&req).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(
        t.client_transfer_id.as_deref(),
        Some(payout_core::Keyed::key(&req))
    );
    assert_eq!(t.status, Some(TransferStatus::Pending));
}

#[tokio::test]
async fn get_transfer_by_id_or_client_id() {
    let server = MockServer::start_async().await;
    let by_id = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/transfer")),
                &[("transferId", "123321232")],
            );
            then.status(200).json_body(transfer_json());
        })
        .await;
    let by_client = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/transfer")),
                &[("clientTransferId", "123456789")],
            );
            then.status(200).json_body(transfer_json());
        })
        .await;
    let c = client(&server.base_url());
    let a = c.transfers().get(&TransferId::from("123321232")).await.unwrap();
    let b = c.transfers().by_client_id("123456789").await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a.amount.to_string(), "1.23");
    by_id.assert_calls_async(1).await;
    by_client.assert_calls_async(1).await;
}

#[tokio::test]
async fn list_transfers_follows_the_cursor() {
    let server = MockServer::start_async().await;
    let page1 = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/transfers")),
                &[
                    ("fromDate", "2026-01-01T00:00:00Z"),
                    ("toDate", "2026-02-01T00:00:00Z"),
                    ("limit", "1"),
                ],
            );
            then.status(200)
                .json_body(json!({"items": [transfer_json()], "pagination": {"total": 2, "next": "c2"}}));
        })
        .await;
    let page2 = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/transfers")),
                &[
                    ("fromDate", "2026-01-01T00:00:00Z"),
                    ("toDate", "2026-02-01T00:00:00Z"),
                    ("cursor", "c2"),
                    ("limit", "1"),
                ],
            );
            let mut t = transfer_json();
            t["transferId"] = json!("2");
            then.status(200)
                .json_body(json!({"items": [t], "pagination": {"total": 2, "next": null}}));
        })
        .await;
    let c = client(&server.base_url());
    let filter = ListTransfers::new()
        .from_date("2026-01-01T00:00:00Z")
        .to_date("2026-02-01T00:00:00Z")
        .limit(1);
    let first = c.transfers().list(&filter).await.unwrap();
    assert_eq!(first.items.len(), 1);
    assert_eq!(first.next.as_deref(), Some("c2"));
    assert_eq!(first.total, Some(2));
    let all: Vec<_> = c.transfers().stream(filter.clone()).collect().await;
    let ids: Vec<String> = all
        .into_iter()
        .map(|r| r.unwrap().transfer_id.into_string())
        .collect();
    assert_eq!(ids, ["123321232", "2"]);
    let capped = c.transfers().collect_all(filter, 1).await.unwrap();
    assert_eq!(capped.len(), 1);
    page1.assert_calls_async(3).await;
    page2.assert_calls_async(1).await;
}

#[tokio::test]
async fn mass_transfer_reports_successes_and_failures() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            authed_json(when.method(POST).path("/api/v1/mass-transfers")).json_body(json!({
                "asset": "USDT",
                "transfers": [
                    {"target": "87209764", "targetType": "telegram_user_id", "amount": "5", "clientTransferId": "bonus-1", "description": "Bonus"},
                    {"target": "11111111", "targetType": "telegram_user_id", "amount": "2.50", "clientTransferId": "bonus-2"}
                ]
            }));
            then.status(200).json_body(json!({
                "successTransfers": [{
                    "transferId": "501", "clientTransferId": "bonus-1", "target": "87209764",
                    "targetType": "telegram_user_id", "asset": "USDT", "amount": "5",
                    "description": "Bonus", "status": "finished"
                }],
                "errorTransfers": [{
                    "target": "11111111", "targetType": "telegram_user_id", "amount": "2.50",
                    "clientTransferId": "bonus-2", "description": null,
                    "reason": {
                        "type": "/api/problems/target_user_not_found", "title": "Bad Request",
                        "status": 400, "detail": "Target user not found",
                        "instance": "/api/problems/instances/5b7a", "kind": "validation"
                    }
                }]
            }));
        })
        .await;
    let batch = MassTransfer::new(Asset::Usdt)
        .item(
            MassTransferItem::new(87209764, Decimal::new(5, 0))
                .client_transfer_id("bonus-1")
                .description("Bonus"),
        )
        .item(MassTransferItem::new(11111111, Decimal::new(250, 2)).client_transfer_id("bonus-2"));
    let r = client(&server.base_url()).transfers().mass(&batch).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(r.successes.len(), 1);
    assert_eq!(r.successes[0].transfer_id.as_str(), "501");
    assert_eq!(r.failures.len(), 1);
    let f = &r.failures[0];
    assert_eq!(f.client_transfer_id.as_deref(), Some("bonus-2"));
    assert_eq!(f.amount, Some(Decimal::new(250, 2)));
    assert_eq!(f.reason.code(), ErrorCode::TargetUserNotFound);
    assert_eq!(f.reason.message(), "Target user not found");
}

#[tokio::test]
async fn mass_transfer_retry_reconciles_items_already_done() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            authed_json(when.method(POST).path("/api/v1/mass-transfers"));
            then.status(200).json_body(json!({
                "successTransfers": [],
                "errorTransfers": [{
                    "target": "87209764", "targetType": "telegram_user_id", "amount": "5",
                    "clientTransferId": "bonus-1",
                    "reason": {"type": "/api/problems/client_id_already_taken", "status": 400, "detail": "Client id already taken"}
                }]
            }));
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/transfer")),
                &[("clientTransferId", "bonus-1")],
            );
            then.status(200).json_body(json!({
                "transferId": "501", "clientTransferId": "bonus-1", "target": "87209764",
                "targetType": "telegram_user_id", "asset": "USDT", "amount": "5", "status": "finished"
            }));
        })
        .await;
    let batch = MassTransfer::new(Asset::Usdt)
        .item(MassTransferItem::new(87209764, Decimal::new(5, 0)).client_transfer_id("bonus-1"));
    let r = client(&server.base_url()).transfers().mass(&batch).await.unwrap();
    m.assert_calls_async(1).await;
    lookup.assert_calls_async(1).await;
    assert!(r.failures.is_empty());
    assert_eq!(r.successes.len(), 1);
    assert_eq!(r.successes[0].transfer_id.as_str(), "501");
}

#[tokio::test]
async fn payouts_naming_uses_payout_paths_and_fields() {
    let server = MockServer::start_async().await;
    let payout = json!({
        "payoutId": "9", "clientPayoutId": "p-1", "target": "87209764", "targetType": "telegram_user_id",
        "asset": "TONCOIN", "amount": "1.23", "status": "finished"
    });
    let create = server
        .mock_async(|when, then| {
            authed_json(when.method(POST).path("/api/v1/payouts")).json_body(json!({
                "target": "87209764", "targetType": "telegram_user_id", "asset": "TONCOIN",
                "amount": "1.23", "clientPayoutId": "p-1"
            }));
            then.status(200).json_body(payout.clone());
        })
        .await;
    let get = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/payout")),
                &[("payoutId", "9")],
            );
            then.status(200).json_body(payout.clone());
        })
        .await;
    let list = server
        .mock_async(|when, then| {
            exact_query(authed(when.method(GET).path("/api/v1/payouts")), &[]);
            then.status(200)
                .json_body(json!({"items": [payout.clone()], "pagination": {"next": null}}));
        })
        .await;
    let mass = server
        .mock_async(|when, then| {
            authed_json(when.method(POST).path("/api/v1/mass-payouts")).json_body(json!({
                "asset": "TONCOIN",
                "payouts": [{"target": "87209764", "targetType": "telegram_user_id", "amount": "1.23", "clientPayoutId": "p-1"}]
            }));
            then.status(200).json_body(json!({"successPayouts": [payout.clone()], "errorPayouts": []}));
        })
        .await;
    let c = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .transfer_naming(TransferNaming::Payouts)
        .build()
        .unwrap();
    let req =
        CreateTransfer::to_telegram_user(87209764, "TONCOIN", Decimal::new(123, 2)).client_transfer_id("p-1");
    let t = c.transfers().create(&req).await.unwrap();
    assert_eq!(t.transfer_id.as_str(), "9");
    assert_eq!(t.client_transfer_id.as_deref(), Some("p-1"));
    assert_eq!(c.transfers().get(&t.transfer_id).await.unwrap(), t);
    assert_eq!(
        c.transfers().list(&ListTransfers::new()).await.unwrap().items,
        vec![t.clone()]
    );
    let batch = MassTransfer::new("TONCOIN")
        .item(MassTransferItem::new(87209764, Decimal::new(123, 2)).client_transfer_id("p-1"));
    assert_eq!(c.transfers().mass(&batch).await.unwrap().successes, vec![t]);
    for m in [&create, &get, &list, &mass] {
        m.assert_calls_async(1).await;
    }
}

/// The connection drops after every request: the transfer is re-sent with the same client
/// id each time (xRocket would deduplicate it), then looked up by that id, and the error
/// hands the caller the id to reconcile with. Never a second id, so never a second payment.
#[tokio::test]
async fn dropped_connection_after_sending_transfer_never_pays_twice() {
    let srv = DropServer::start(DropMode::CloseAfterRequest);
    let req = excerpt_transfer().client_transfer_id("payout-1001");
    let err = client(&srv.base_url())
        .transfers()
        .create(&req)
        .await
        .unwrap_err();
    // Every POST and every lookup broke: nobody knows whether the transfer was made, so the
    // caller must not read this as a failure (and must not pay again under a new client id).
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(err.may_have_succeeded());
    assert!(!err.is_retryable());
    assert!(
        err.message().contains("same clientTransferId"),
        "{}",
        err.message()
    );
    assert_eq!(err.attempts(), 3);
    assert_eq!(err.idempotency_key().map(|k| k.as_str()), Some("payout-1001"));
    let raw: Vec<String> = srv
        .raw_requests()
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    let posts: Vec<&String> = raw.iter().filter(|r| r.starts_with("POST ")).collect();
    assert_eq!(posts.len(), 3, "1 attempt + 2 retries");
    for p in &posts {
        assert!(p.starts_with("POST /api/v1/transfers "), "{p}");
        assert_eq!(p.matches("\"clientTransferId\":\"payout-1001\"").count(), 1);
    }
    let gets: Vec<&String> = raw.iter().filter(|r| r.starts_with("GET ")).collect();
    assert_eq!(
        gets.len(),
        3,
        "the crate looks the transfer up (a read, retried) before giving up"
    );
    for g in &gets {
        assert!(
            g.starts_with("GET /api/v1/transfer?clientTransferId=payout-1001 "),
            "{g}"
        );
    }
    assert_eq!(raw.len(), posts.len() + gets.len());
}

/// 500 after the transfer went through, then the retry (same client id) is answered
/// `client_id_already_taken`: the crate fetches the transfer and returns it, once.
#[tokio::test]
async fn server_error_then_already_taken_returns_the_existing_transfer() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            authed_json(when.method(POST).path("/api/v1/transfers")).json_body(excerpt_body());
            then.status(500).header("Retry-After", "1").json_body(json!({
                "type": "/api/problems/internal_error", "title": "Internal Server Error", "status": 500,
                "detail": "Internal error", "instance": "/api/problems/instances/aa11"
            }));
        })
        .await;
    let taken =
        server
            .mock_async(|when, then| {
                authed_json(when.method(POST).path("/api/v1/transfers")).json_body(excerpt_body());
                then.status(400).header("content-type", "application/problem+json").json_body(json!({
                "type": "/api/problems/client_id_already_taken", "title": "Bad Request", "status": 400,
                "detail": "Client transfer id already taken", "instance": "/api/problems/instances/bb22"
            }));
            })
            .await;
    let lookup = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/transfer")),
                &[("clientTransferId", "123456789")],
            );
            then.status(200).json_body(transfer_json());
        })
        .await;
    let c = client(&server.base_url());
    let call = tokio::spawn(async move { c.transfers().create(&excerpt_transfer()).await });
    wait_calls(&failing, 1).await;
    failing.delete_async().await;
    let t = call.await.unwrap().unwrap();
    assert_eq!(t.transfer_id.as_str(), "123321232");
    assert_eq!(t.amount, Decimal::new(123, 2));
    // Both POSTs matched mocks that require the same body, client id included.
    taken.assert_calls_async(1).await;
    lookup.assert_calls_async(1).await;
}

#[tokio::test]
async fn already_taken_by_a_different_transfer_is_an_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/transfers");
            then.status(400).json_body(json!({
                "type": "/api/problems/client_id_already_taken", "status": 400, "detail": "Client id already taken"
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transfer");
            let mut other = transfer_json();
            other["amount"] = json!("99");
            then.status(200).json_body(other);
        })
        .await;
    let err = client(&server.base_url())
        .transfers()
        .create(&excerpt_transfer())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::ClientIdAlreadyTaken));
    assert!(err.message().contains("`amount` differs"), "{}", err.message());
    assert_eq!(err.field(), Some("amount"));
    assert_eq!(err.idempotency_key().map(|k| k.as_str()), Some("123456789"));
}

#[tokio::test]
async fn invalid_transfers_are_refused_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let c = client(&server.base_url());
    let cases = [
        (
            CreateTransfer::to_telegram_user(1, Asset::Toncoin, Decimal::ZERO),
            "amount",
            "greater than zero",
        ),
        (
            CreateTransfer::to_telegram_user(1, Asset::Btc, Decimal::new(1, 9)),
            "amount",
            "more than 8 decimal places",
        ),
        (
            CreateTransfer::new("@alice", TargetType::TelegramUserId, Asset::Usdt, Decimal::ONE),
            "target",
            "numeric Telegram user id",
        ),
        (
            CreateTransfer::new("@alice", TargetType::TelegramUsername, Asset::Usdt, Decimal::ONE),
            "target",
            "without the leading @",
        ),
        (
            CreateTransfer::to_telegram_user(1, Asset::Usdt, Decimal::ONE)
                .client_transfer_id("x".repeat(101)),
            "clientTransferId",
            "at most 100",
        ),
        (
            CreateTransfer::to_telegram_user(1, Asset::Usdt, Decimal::ONE).client_transfer_id("has space"),
            "clientTransferId",
            "printable ASCII",
        ),
    ];
    for (req, field, rule) in cases {
        let err = c.transfers().create(&req).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.field(), Some(field));
        assert!(err.message().contains(rule), "{field}: {}", err.message());
    }
    let empty = MassTransfer::new(Asset::Usdt);
    assert_eq!(
        c.transfers().mass(&empty).await.unwrap_err().field(),
        Some("transfers")
    );
    let dup = MassTransfer::new(Asset::Usdt)
        .item(MassTransferItem::new(1, Decimal::ONE).client_transfer_id("a"))
        .item(MassTransferItem::new(2, Decimal::ONE).client_transfer_id("a"));
    assert_eq!(
        c.transfers().mass(&dup).await.unwrap_err().field(),
        Some("clientTransferId")
    );
    let too_many =
        MassTransfer::new(Asset::Usdt).items_from((0..501).map(|i| MassTransferItem::new(i, Decimal::ONE)));
    assert_eq!(
        c.transfers().mass(&too_many).await.unwrap_err().field(),
        Some("transfers")
    );
    assert_eq!(
        c.transfers()
            .list(&ListTransfers::new().limit(0))
            .await
            .unwrap_err()
            .field(),
        Some("limit")
    );
    // A client override tightens the precision.
    let strict = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .asset_precision("TONCOIN", 2)
        .build()
        .unwrap();
    let err = strict
        .transfers()
        .create(&CreateTransfer::to_telegram_user(
            1,
            Asset::Toncoin,
            Decimal::new(1234, 3),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("amount"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    any.assert_calls_async(0).await;
}

/// A re-sent batch refused as a whole because a client id is taken: every item is looked up
/// by its client id; done items are successes, unknown ones were not sent.
#[tokio::test]
async fn mass_transfer_refused_as_a_duplicate_is_reconciled_item_by_item() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            authed_json(when.method(POST).path("/api/v1/mass-transfers"));
            then.status(400).json_body(json!({
                "type": "/api/problems/client_id_already_taken", "status": 400,
                "detail": "Client id already taken", "instance": "/api/problems/instances/cc33"
            }));
        })
        .await;
    let done = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/transfer")),
                &[("clientTransferId", "bonus-1")],
            );
            then.status(200).json_body(json!({
                "transferId": "501", "clientTransferId": "bonus-1", "target": "87209764",
                "targetType": "telegram_user_id", "asset": "USDT", "amount": "5", "status": "finished"
            }));
        })
        .await;
    let unknown = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/transfer")),
                &[("clientTransferId", "bonus-2")],
            );
            then.status(404)
                .json_body(json!({"type": "/api/problems/app_payout_not_found", "status": 404}));
        })
        .await;
    let batch = MassTransfer::new(Asset::Usdt)
        .item(MassTransferItem::new(87209764, Decimal::new(5, 0)).client_transfer_id("bonus-1"))
        .item(MassTransferItem::new(11111111, Decimal::new(250, 2)).client_transfer_id("bonus-2"));
    let r = client(&server.base_url()).transfers().mass(&batch).await.unwrap();
    post.assert_calls_async(1).await;
    done.assert_calls_async(1).await;
    unknown.assert_calls_async(1).await;
    assert_eq!(r.successes.len(), 1);
    assert_eq!(r.successes[0].transfer_id.as_str(), "501");
    assert_eq!(r.failures.len(), 1);
    let f = &r.failures[0];
    assert_eq!(f.client_transfer_id.as_deref(), Some("bonus-2"));
    assert_eq!(
        f.reason.code(),
        ErrorCode::from(xrocket::transfers::BATCH_REFUSED)
    );
    assert!(!f.reason.code().is_client_id_taken());
    assert_eq!(f.reason.instance.as_deref(), Some("/api/problems/instances/cc33"));
}

/// xRocket says the client id is taken but the transfer cannot be read back: the caller is
/// told the transfer exists and must not be created again.
#[tokio::test]
async fn already_taken_but_unreadable_is_ambiguous() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/transfers");
            then.status(400)
                .json_body(json!({"type": "/api/problems/client_id_already_taken", "status": 400}));
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transfer");
            then.status(404)
                .json_body(json!({"type": "/api/problems/app_payout_not_found", "status": 404}));
        })
        .await;
    let err = client(&server.base_url())
        .transfers()
        .create(&excerpt_transfer())
        .await
        .unwrap_err();
    lookup.assert_calls_async(1).await;
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(err.may_have_succeeded());
    assert!(!err.is_retryable());
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::ClientIdAlreadyTaken));
    assert!(err.to_string().contains("look it up by `123456789`"), "{err}");
}

#[tokio::test]
async fn reconciliation_tolerates_a_normalised_username() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/transfers");
            then.status(400)
                .json_body(json!({"type": "/api/problems/payout_client_id_duplicate", "status": 400}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/transfer")
                .query_param("clientTransferId", "u-1");
            then.status(200).json_body(json!({
                "transferId": "8", "clientTransferId": "u-1", "target": "alice",
                "targetType": "telegram_username", "asset": "USDT", "amount": "2.000"
            }));
        })
        .await;
    let req = CreateTransfer::new("Alice", TargetType::TelegramUsername, Asset::Usdt, Decimal::TWO)
        .client_transfer_id("u-1");
    let t = client(&server.base_url()).transfers().create(&req).await.unwrap();
    assert_eq!(t.transfer_id.as_str(), "8");
}

/// The connection of the first attempt drops after the transfer was sent (xRocket executed
/// it). The retry carries the same client id, xRocket answers `client_id_already_taken`, and
/// the crate returns the one transfer: funds moved once, and the caller sees success.
#[tokio::test]
async fn dropped_connection_then_already_taken_returns_the_one_transfer() {
    let srv = crate::ScriptedServer::start(vec![
        crate::Step::Drop,
        crate::Step::Reply(
            400,
            json!({"type": "/api/problems/client_id_already_taken", "status": 400, "detail": "Client id already taken"}),
        ),
        crate::Step::Reply(200, transfer_json()),
    ]);
    let t = client(&srv.base_url())
        .transfers()
        .create(&excerpt_transfer())
        .await
        .unwrap();
    assert_eq!(t.transfer_id.as_str(), "123321232");
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 3);
    for post in &reqs[..2] {
        assert!(post.starts_with("POST /api/v1/transfers "), "{post}");
        assert!(post.contains("\"clientTransferId\":\"123456789\""), "{post}");
        assert!(
            post.to_ascii_lowercase()
                .contains(&format!("authorization: bearer {}", KEY.to_ascii_lowercase()))
        );
    }
    assert!(
        reqs[2].starts_with("GET /api/v1/transfer?clientTransferId=123456789 "),
        "{}",
        reqs[2]
    );
}

/// A persistent 500 on the transfer, and the lookup by client id fails with a 500 too: the
/// transfer may have been made, so the error is Ambiguous (it used to be a retryable 500
/// with `may_have_succeeded() == false`, read by callers as "failed").
#[tokio::test]
async fn persistent_5xx_and_failed_lookup_is_ambiguous() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/transfers");
            then.status(503)
                .json_body(json!({"type": "/api/problems/internal_error", "status": 503}));
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/transfer")
                .query_param("clientTransferId", "123456789");
            then.status(500)
                .json_body(json!({"type": "/api/problems/internal_error", "status": 500}));
        })
        .await;
    let err = client(&server.base_url())
        .transfers()
        .create(&excerpt_transfer())
        .await
        .unwrap_err();
    post.assert_calls_async(3).await;
    lookup.assert_calls_async(3).await;
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(err.may_have_succeeded());
    assert!(!err.is_retryable());
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.idempotency_key().map(|k| k.as_str()), Some("123456789"));
    assert!(err.message().contains("unknown"), "{}", err.message());
}

/// Every attempt of a batch breaks after it was sent: any item may have been paid, so the
/// error is Ambiguous (it used to be a plain, retryable transport error).
#[tokio::test]
async fn mass_transfer_with_every_attempt_dropped_is_ambiguous() {
    let srv = DropServer::start(DropMode::CloseAfterRequest);
    let batch = MassTransfer::new(Asset::Usdt)
        .item(MassTransferItem::new(87209764, Decimal::new(5, 0)).client_transfer_id("bonus-1"))
        .item(MassTransferItem::new(11111111, Decimal::new(250, 2)).client_transfer_id("bonus-2"));
    let err = client(&srv.base_url())
        .transfers()
        .mass(&batch)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(err.may_have_succeeded());
    assert!(!err.is_retryable());
    assert!(err.message().contains("same MassTransfer"), "{}", err.message());
    let raw: Vec<String> = srv
        .raw_requests()
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    assert_eq!(raw.len(), 3, "1 attempt + 2 retries, nothing else");
    for r in &raw {
        assert!(r.starts_with("POST /api/v1/mass-transfers "), "{r}");
        assert!(r.contains("\"clientTransferId\":\"bonus-1\""), "{r}");
        assert!(r.contains("\"clientTransferId\":\"bonus-2\""), "{r}");
    }
}

/// An item reported `client_id_already_taken` whose client id belongs to a transfer to
/// another recipient is not this item: it stays a failure (it used to be counted a success
/// because only the amount was compared).
#[tokio::test]
async fn mass_item_taken_by_a_transfer_to_someone_else_stays_a_failure() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/mass-transfers");
            then.status(200).json_body(json!({
                "successTransfers": [],
                "errorTransfers": [{
                    "target": "87209764", "targetType": "telegram_user_id", "amount": "5",
                    "clientTransferId": "bonus-1",
                    "reason": {"type": "/api/problems/client_id_already_taken", "status": 400}
                }]
            }));
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/transfer")
                .query_param("clientTransferId", "bonus-1");
            then.status(200).json_body(json!({
                "transferId": "9", "clientTransferId": "bonus-1", "target": "55555555",
                "targetType": "telegram_user_id", "asset": "USDT", "amount": "5", "status": "finished"
            }));
        })
        .await;
    let batch = MassTransfer::new(Asset::Usdt)
        .item(MassTransferItem::new(87209764, Decimal::new(5, 0)).client_transfer_id("bonus-1"));
    let r = client(&server.base_url()).transfers().mass(&batch).await.unwrap();
    lookup.assert_calls_async(1).await;
    assert!(r.successes.is_empty(), "{:?}", r.successes);
    assert_eq!(r.failures.len(), 1);
    assert!(r.failures[0].reason.code().is_client_id_taken());
}

/// The first attempt gets a 500 (xRocket may have executed it), the retries are refused with
/// 429 until the budget is spent: the earlier 500 leaves the outcome unknown, so the crate
/// looks the transfer up and returns it (it used to end with a plain RateLimited error that
/// hid the payment).
#[tokio::test]
async fn server_error_then_rate_limited_is_reconciled_by_client_id() {
    let problem =
        |status: u16, code: &str| json!({"type": format!("/api/problems/{code}"), "status": status});
    let srv = crate::ScriptedServer::start(vec![
        crate::Step::Reply(500, problem(500, "internal_error")),
        crate::Step::Reply(429, problem(429, "rate_limit_exceeded")),
        crate::Step::Reply(429, problem(429, "rate_limit_exceeded")),
        crate::Step::Reply(200, transfer_json()),
    ]);
    let t = client(&srv.base_url())
        .transfers()
        .create(&excerpt_transfer())
        .await
        .unwrap();
    assert_eq!(t.transfer_id.as_str(), "123321232");
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 4);
    assert!(reqs[..3].iter().all(|r| r.starts_with("POST /api/v1/transfers ")));
    assert!(
        reqs[3].starts_with("GET /api/v1/transfer?clientTransferId=123456789 "),
        "{}",
        reqs[3]
    );
}
