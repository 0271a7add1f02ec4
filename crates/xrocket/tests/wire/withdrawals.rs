//! Withdrawals: create (with the never-twice proof), info, list, quotas, links.

use httpmock::prelude::*;
use payout_core::test_util::{DropMode, DropServer};
use serde_json::json;
use xrocket::{
    Asset, CreateWithdrawal, Decimal, ErrorKind, ListWithdrawals, Network, WithdrawalId,
    WithdrawalLinkRequest, WithdrawalStatus,
};

use crate::{authed, authed_json, client, exact_query, wait_calls};

const ADDR: &str = "UQBvI0aFLnw2QbZgjMPCLRdtRHxhUyinQudg6sdiohIwg5jL";

pub(crate) fn withdrawal_json(status: &str) -> serde_json::Value {
    json!({
        "withdrawalId": "w-55",
        "network": "TON",
        "address": ADDR,
        "asset": "TONCOIN",
        "amount": "2.5",
        "status": status,
        "comment": "invoice 77",
        "txHash": if status == "COMPLETED" { json!("f00d") } else { json!(null) },
        "txLink": if status == "COMPLETED" { json!("https://tonviewer.com/transaction/f00d") } else { json!(null) },
        "callback": null
    })
}

fn request() -> CreateWithdrawal {
    CreateWithdrawal::new(Network::Ton, ADDR, Asset::Toncoin, Decimal::new(25, 1))
        .client_withdrawal_id("wd-2026-0001")
        .comment("invoice 77")
}

fn body() -> serde_json::Value {
    json!({
        "network": "TON", "address": ADDR, "asset": "TONCOIN", "amount": "2.5",
        "clientWithdrawalId": "wd-2026-0001", "comment": "invoice 77"
    })
}

#[tokio::test]
async fn create_withdrawal_sends_documented_body() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(authed_json(when.method(POST).path("/api/v1/withdrawals")), &[]).json_body(body());
            then.status(200).json_body(withdrawal_json("CREATED"));
        })
        .await;
    let w = client(&server.base_url())
        .withdrawals()
        .create(&request())
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(w.withdrawal_id, WithdrawalId::from("w-55"));
    // The response does not echo the client id; the crate returns it anyway.
    assert_eq!(w.client_withdrawal_id.as_deref(), Some("wd-2026-0001"));
    assert_eq!(w.network, Network::Ton);
    assert_eq!(w.amount, Decimal::new(25, 1));
    assert_eq!(w.status, WithdrawalStatus::Created);
    assert!(!w.status.is_final());
    assert_eq!(w.tx_hash, None);
}

/// The connection drops after every request: every attempt carries the same client
/// withdrawal id, so xRocket can only ever execute one withdrawal.
#[tokio::test]
async fn dropped_connection_after_sending_withdrawal_never_pays_twice() {
    let srv = DropServer::start(DropMode::TruncatedResponse);
    let err = client(&srv.base_url())
        .withdrawals()
        .create(&request())
        .await
        .unwrap_err();
    // The lookup broke too: the outcome is unknown, never reported as a plain failure.
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(err.may_have_succeeded());
    assert_eq!(err.idempotency_key().map(|k| k.as_str()), Some("wd-2026-0001"));
    let raw: Vec<String> = srv
        .raw_requests()
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    let posts: Vec<&String> = raw
        .iter()
        .filter(|r| r.starts_with("POST /api/v1/withdrawals "))
        .collect();
    assert_eq!(posts.len(), 3);
    assert!(
        posts
            .iter()
            .all(|p| p.contains("\"clientWithdrawalId\":\"wd-2026-0001\""))
    );
    assert!(
        raw.iter()
            .filter(|r| !r.starts_with("POST"))
            .all(|r| r.starts_with("GET /api/v1/withdrawal?clientWithdrawalId=wd-2026-0001 "))
    );
}

/// The first attempt went through but its answer was lost (504); the retry carries the same
/// client id, is refused as a duplicate, and the crate returns the one withdrawal.
#[tokio::test]
async fn gateway_timeout_then_already_taken_returns_the_existing_withdrawal() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            authed_json(when.method(POST).path("/api/v1/withdrawals")).json_body(body());
            then.status(504)
                .header("Retry-After", "1")
                .body("<html>504 Gateway Time-out</html>");
        })
        .await;
    let taken = server
        .mock_async(|when, then| {
            authed_json(when.method(POST).path("/api/v1/withdrawals")).json_body(body());
            then.status(400).json_body(json!({
                "type": "/api/problems/client_id_already_taken", "status": 400, "detail": "Already taken"
            }));
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/withdrawal")),
                &[("clientWithdrawalId", "wd-2026-0001")],
            );
            then.status(200).json_body(withdrawal_json("COMPLETED"));
        })
        .await;
    let c = client(&server.base_url());
    let call = tokio::spawn(async move { c.withdrawals().create(&request()).await });
    wait_calls(&failing, 1).await;
    failing.delete_async().await;
    let w = call.await.unwrap().unwrap();
    assert_eq!(w.status, WithdrawalStatus::Completed);
    assert_eq!(w.tx_hash.as_deref(), Some("f00d"));
    taken.assert_calls_async(1).await;
    lookup.assert_calls_async(1).await;
}

#[tokio::test]
async fn get_and_list_withdrawals() {
    let server = MockServer::start_async().await;
    let get = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/withdrawal")),
                &[("withdrawalId", "w-55")],
            );
            then.status(200).json_body(withdrawal_json("COMPLETED"));
        })
        .await;
    let list = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/withdrawals")),
                &[
                    ("fromDate", "2026-01-01T00:00:00Z"),
                    ("toDate", "2026-01-31T23:59:59Z"),
                    ("status", "FAIL"),
                    ("cursor", "z"),
                    ("limit", "1000"),
                ],
            );
            let mut failed = withdrawal_json("FAIL");
            failed["status"] = json!("FAIL");
            then.status(200)
                .json_body(json!({"items": [failed], "pagination": {"next": null}}));
        })
        .await;
    let c = client(&server.base_url());
    let w = c.withdrawals().get(&WithdrawalId::from("w-55")).await.unwrap();
    assert_eq!(
        w.tx_link.as_deref(),
        Some("https://tonviewer.com/transaction/f00d")
    );
    let page = c
        .withdrawals()
        .list(
            &ListWithdrawals::new()
                .from_date("2026-01-01T00:00:00Z")
                .to_date("2026-01-31T23:59:59Z")
                .status(WithdrawalStatus::Fail)
                .cursor("z")
                .limit(1000),
        )
        .await
        .unwrap();
    assert_eq!(page.items[0].status, WithdrawalStatus::Fail);
    let all = c
        .withdrawals()
        .collect_all(
            ListWithdrawals::new()
                .status(WithdrawalStatus::Fail)
                .cursor("z")
                .from_date("2026-01-01T00:00:00Z")
                .to_date("2026-01-31T23:59:59Z")
                .limit(1000),
            10,
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    get.assert_calls_async(1).await;
    list.assert_calls_async(2).await;
    let by_client = c.withdrawals().by_client_id("").await.unwrap_err();
    assert_eq!(by_client.field(), Some("clientWithdrawalId"));
}

#[tokio::test]
async fn withdrawal_quotas() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/withdrawal-quotas")),
                &[("network", "TON"), ("asset", "TONCOIN")],
            );
            then.status(200).json_body(json!({
                "withdrawMinSize": "0.5", "withdrawFee": "0.05", "withdrawFeeAsset": "TONCOIN", "precision": 9
            }));
        })
        .await;
    let q = client(&server.base_url())
        .withdrawals()
        .quotas(Network::Ton, Asset::Toncoin)
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(q.withdraw_min_size, Some(Decimal::new(5, 1)));
    assert_eq!(q.withdraw_fee, Some(Decimal::new(5, 2)));
    assert_eq!(q.withdraw_fee_asset, Some(Asset::Toncoin));
    assert_eq!(q.precision, Some(9));
}

#[tokio::test]
async fn create_withdrawal_link() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(authed_json(when.method(POST).path("/api/v1/withdrawal-link")), &[]).json_body(json!({
                "network": "TON", "address": ADDR, "asset": "USDT", "amount": "10", "comment": "deposit 5", "platform": "shop"
            }));
            then.status(200).json_body(json!({
                "telegramBotLink": "https://t.me/xrocket?start=wdl_1", "telegramMiniAppLink": null, "webLink": null
            }));
        })
        .await;
    let link = client(&server.base_url())
        .withdrawals()
        .link(
            &WithdrawalLinkRequest::new(Network::Ton, ADDR, Asset::Usdt, Decimal::TEN)
                .comment("deposit 5")
                .platform("shop"),
        )
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(
        Some(link.telegram_bot_link.as_str()),
        Some("https://t.me/xrocket?start=wdl_1")
    );
    assert_eq!(link.web_link, None);
}

#[tokio::test]
async fn invalid_withdrawals_are_refused_before_sending() {
    let c = client(&payout_core::test_util::refused_base_url());
    let spaced = CreateWithdrawal::new(Network::Ton, "UQ abc", Asset::Toncoin, Decimal::ONE);
    assert_eq!(
        c.withdrawals().create(&spaced).await.unwrap_err().field(),
        Some("address")
    );
    let fine = CreateWithdrawal::new(Network::Trx, "TXYZ", Asset::Usdt, Decimal::new(1, 7));
    let err = c.withdrawals().create(&fine).await.unwrap_err();
    assert_eq!(err.field(), Some("amount"));
    assert!(err.message().contains("6 decimal places"));
    let link = WithdrawalLinkRequest::new(Network::Ton, "", Asset::Usdt, Decimal::ONE);
    assert_eq!(
        c.withdrawals().link(&link).await.unwrap_err().field(),
        Some("address")
    );
    assert_eq!(
        c.withdrawals().quotas("", Asset::Usdt).await.unwrap_err().field(),
        Some("network")
    );
}

/// Same story for a withdrawal: dropped after sending, retried with the same client id,
/// answered "taken", returned once.
#[tokio::test]
async fn dropped_connection_then_already_taken_returns_the_one_withdrawal() {
    let srv = crate::ScriptedServer::start(vec![
        crate::Step::Drop,
        crate::Step::Reply(
            400,
            json!({"type": "/api/problems/client_id_already_taken", "status": 400}),
        ),
        crate::Step::Reply(200, withdrawal_json("CREATED")),
    ]);
    let w = client(&srv.base_url())
        .withdrawals()
        .create(&request())
        .await
        .unwrap();
    assert_eq!(w.withdrawal_id.as_str(), "w-55");
    assert_eq!(w.client_withdrawal_id.as_deref(), Some("wd-2026-0001"));
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 3);
    assert!(
        reqs[..2]
            .iter()
            .all(|r| r.starts_with("POST /api/v1/withdrawals ")
                && r.contains("\"clientWithdrawalId\":\"wd-2026-0001\""))
    );
    assert!(reqs[2].starts_with("GET /api/v1/withdrawal?clientWithdrawalId=wd-2026-0001 "));
}
