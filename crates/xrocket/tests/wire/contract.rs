//! The shared contract (docs/api-conventions.md): request values and the generic send, the
//! key from construction, wait_until_final's deadline, and strict containers.

use std::time::Duration;

use httpmock::prelude::*;
use payout_core::{ApiClient, Keyed, PollOptions};
use serde_json::json;
use xrocket::{
    Asset, Cheque, CreateCheque, CreateInvoice, CreateTransfer, CreateWithdrawal, Decimal, ErrorKind,
    GetTransfer, Invoice, ListCheques, ListInvoicePayments, ListInvoices, ListTransfers, ListWithdrawals,
    Lookup, MassTransfer, MassTransferItem, Network, Transfer, TransferId, TransferStatus, Withdrawal,
    WithdrawalLinkRequest, WithdrawalStatus,
};

use crate::{client, transfer_json};

const ADDR: &str = "UQBvI0aFLnw2QbZgjMPCLRdtRHxhUyinQudg6sdiohIwg5jL";

fn quick_poll() -> PollOptions {
    PollOptions::default()
        .interval(Duration::from_millis(10))
        .backoff(1.0)
        .timeout(Duration::from_millis(150))
}

#[tokio::test]
async fn the_key_is_readable_before_sending_and_is_what_goes_on_the_wire() {
    let server = MockServer::start_async().await;
    let req = CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, Decimal::new(123, 2));
    let key = req.key().to_string();
    assert!(!key.is_empty());
    // Reading it again, cloning the value or serializing it never changes it.
    assert_eq!(req.clone().key(), key);
    let stored: CreateTransfer = serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
    assert_eq!(stored.key(), key);
    assert_eq!(stored, req);
    let mut body = transfer_json();
    body["clientTransferId"] = json!(key);
    let create = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/transfers")
                .json_body_includes(json!({"clientTransferId": key}).to_string());
            then.status(201).json_body(body.clone());
        })
        .await;
    let c = client(&server.base_url());
    let t = c.transfers().create(&req).await.unwrap();
    assert_eq!(t.client_transfer_id.as_deref(), Some(key.as_str()));
    // The same value sent again carries the same key (xRocket deduplicates it).
    c.transfers().create(&req).await.unwrap();
    create.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_caller_given_invalid_key_is_invalid_input_and_nothing_is_sent() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let c = client(&server.base_url());
    let amount = Decimal::ONE;
    let t = CreateTransfer::to_telegram_user(1, Asset::Toncoin, amount).client_transfer_id("has space");
    assert_eq!(t.key(), "has space");
    let e = c.transfers().create(&t).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.field()),
        (ErrorKind::InvalidInput, Some("clientTransferId"))
    );
    let e = c.send(&t).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let w = CreateWithdrawal::new(Network::Ton, ADDR, Asset::Toncoin, amount).client_withdrawal_id("");
    let e = c.withdrawals().create(&w).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.field()),
        (ErrorKind::InvalidInput, Some("clientWithdrawalId"))
    );
    let ch = CreateCheque::new(Asset::Toncoin, amount).client_cheque_id("x".repeat(51));
    let e = c.cheques().create(&ch).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.field()),
        (ErrorKind::InvalidInput, Some("clientChequeId"))
    );
    let inv = CreateInvoice::new("USDT", amount).client_invoice_id("é");
    let e = c.invoices().create(&inv).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.field()),
        (ErrorKind::InvalidInput, Some("clientInvoiceId"))
    );
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn any_request_value_runs_through_the_generic_send() {
    let server = MockServer::start_async().await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/transfer")
                .query_param("clientTransferId", "123456789");
            then.status(200).json_body(transfer_json());
        })
        .await;
    let c = client(&server.base_url());
    let inherent = c
        .send(&GetTransfer::new(Lookup::client_id("123456789")))
        .await
        .unwrap();
    // The same call through the shared trait, as generic code (a journal) would make it.
    async fn via_trait<C: ApiClient>(c: &C) -> xrocket::Result<Transfer> {
        c.send(&GetTransfer::new(Lookup::client_id("123456789"))).await
    }
    assert_eq!(via_trait(&c).await.unwrap(), inherent);
    get.assert_calls_async(2).await;
}

#[test]
fn money_moving_values_serialize_for_a_journal_without_secrets() {
    let cheque = CreateCheque::new(Asset::Toncoin, Decimal::ONE)
        .client_cheque_id("gift-1")
        .password("hunter2-secret");
    let text = serde_json::to_string(&cheque).unwrap();
    assert!(!text.contains("hunter2-secret"), "{text}");
    let back: CreateCheque = serde_json::from_str(&text).unwrap();
    assert_eq!(back.key(), "gift-1");
    let w = CreateWithdrawal::new(Network::Ton, ADDR, Asset::Toncoin, Decimal::ONE);
    let back: CreateWithdrawal = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
    assert_eq!(back, w);
    let inv = CreateInvoice::new("USDT", Decimal::new(1999, 2));
    let back: CreateInvoice = serde_json::from_str(&serde_json::to_string(&inv).unwrap()).unwrap();
    assert_eq!(back, inv);
    let batch = MassTransfer::new(Asset::Usdt).item(MassTransferItem::new(1, Decimal::ONE));
    let back: MassTransfer = serde_json::from_str(&serde_json::to_string(&batch).unwrap()).unwrap();
    assert_eq!(back, batch);
    assert_eq!(back.key(), batch.items()[0].client_id());
}

/// Serves `body` forever on `path`.
async fn serve(server: &MockServer, path: &str, body: serde_json::Value) {
    let path = path.to_string();
    server
        .mock_async(move |when, then| {
            when.method(GET).path(path);
            then.status(200).json_body(body);
        })
        .await;
}

#[tokio::test]
async fn wait_until_final_times_out_at_the_deadline_with_the_last_state() {
    let server = MockServer::start_async().await;
    let mut pending = transfer_json();
    pending["status"] = json!("pending");
    serve(&server, "/api/v1/transfer", pending).await;
    serve(
        &server,
        "/api/v1/withdrawal",
        json!({"withdrawalId": "w-1", "network": "TON", "address": ADDR, "asset": "TONCOIN", "amount": "1", "status": "CREATED"}),
    )
    .await;
    serve(
        &server,
        "/api/v1/invoice",
        json!({"id": "inv-1", "priceCurrency": "USDT", "priceAmount": "1", "status": "active", "links": {}}),
    )
    .await;
    serve(
        &server,
        "/api/v1/cheque",
        json!({"chequeId": "c-1", "asset": "TONCOIN", "state": "active", "deleted": false, "links": {}}),
    )
    .await;
    let c = client(&server.base_url());
    let opts = quick_poll();

    let started = std::time::Instant::now();
    let e = c
        .transfers()
        .wait_until_final("123321232", &opts)
        .await
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(
        e.last_state::<Transfer>().unwrap().status,
        Some(TransferStatus::Pending)
    );

    let e = c.withdrawals().wait_until_final("w-1", &opts).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(
        e.last_state::<Withdrawal>().unwrap().status,
        WithdrawalStatus::Created
    );

    let e = c.invoices().wait_until_final("inv-1", &opts).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(e.last_state::<Invoice>().unwrap().id.as_str(), "inv-1");

    let e = c.cheques().wait_until_final("c-1", &opts).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(!e.last_state::<Cheque>().unwrap().is_final());
}

#[tokio::test]
async fn wait_until_final_returns_a_final_state() {
    let server = MockServer::start_async().await;
    let mut finished = transfer_json();
    finished["status"] = json!("finished");
    serve(&server, "/api/v1/transfer", finished).await;
    let c = client(&server.base_url());
    let t = c
        .transfers()
        .wait_until_final(TransferId::from("123321232"), &quick_poll())
        .await
        .unwrap();
    assert_eq!(t.status, Some(TransferStatus::Finished));
}

/// Lists, balances, quotas, links and mass results answered with a body of the wrong shape:
/// a `Decode` error that keeps the status, never an empty list or a struct of `None`s.
#[tokio::test]
async fn bodies_of_the_wrong_shape_are_decode_errors_keeping_the_status() {
    for body in [json!({}), json!({"data": []}), json!({"items": null}), json!([])] {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.any_request();
                then.status(200).json_body(body.clone());
            })
            .await;
        let c = client(&server.base_url());
        let check = |what: &str, r: Result<(), xrocket::Error>| {
            let e = r.expect_err(what);
            assert_eq!(e.kind(), ErrorKind::Decode, "{what} {body}");
            assert_eq!(e.status(), Some(200), "{what} {body}");
        };
        check(
            "transfers",
            c.transfers().list(&ListTransfers::new()).await.map(drop),
        );
        check("cheques", c.cheques().list(&ListCheques::new()).await.map(drop));
        check(
            "invoices",
            c.invoices().list(&ListInvoices::new()).await.map(drop),
        );
        check(
            "withdrawals",
            c.withdrawals().list(&ListWithdrawals::new()).await.map(drop),
        );
        check(
            "payments",
            c.invoices()
                .payments(&ListInvoicePayments::new(Lookup::id("1")))
                .await
                .map(drop),
        );
        check("balances", c.app().balances().await.map(drop));
        check(
            "quotas",
            c.withdrawals()
                .quotas(Network::Ton, Asset::Toncoin)
                .await
                .map(drop),
        );
        let link = WithdrawalLinkRequest::new(Network::Ton, ADDR, Asset::Toncoin, Decimal::ONE);
        check("link", c.withdrawals().link(&link).await.map(drop));
        // A mass transfer is a create: its undecodable 2xx may have paid, so it is never
        // an empty result.
        let batch = MassTransfer::new(Asset::Usdt).item(MassTransferItem::new(1, Decimal::ONE));
        let e = c.transfers().mass(&batch).await.unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Decode | ErrorKind::Ambiguous),
            "{e:?}"
        );
        assert_eq!(e.status(), Some(200));
    }
}

#[tokio::test]
async fn an_empty_list_and_null_quota_values_still_decode() {
    let server = MockServer::start_async().await;
    serve(
        &server,
        "/api/v1/transfers",
        json!({"items": [], "pagination": {"total": 0, "next": null}}),
    )
    .await;
    serve(&server, "/api/v1/balances", json!({"balances": []})).await;
    serve(
        &server,
        "/api/v1/withdrawal-quotas",
        json!({"withdrawMinSize": null, "withdrawFee": "0.01", "withdrawFeeAsset": "TONCOIN", "precision": 9}),
    )
    .await;
    let c = client(&server.base_url());
    assert!(
        c.transfers()
            .list(&ListTransfers::new())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(c.app().balances().await.unwrap().is_empty());
    let q = c
        .withdrawals()
        .quotas(Network::Ton, Asset::Toncoin)
        .await
        .unwrap();
    assert_eq!(q.withdraw_min_size, None);
    assert_eq!(q.withdraw_fee, Some(Decimal::new(1, 2)));
}

/// A request value sent through the generic send uses its own naming; the handler applies
/// the client's.
#[tokio::test]
async fn generic_send_uses_the_naming_on_the_value() {
    let server = MockServer::start_async().await;
    let payout = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/payout")
                .query_param("payoutId", "9");
            then.status(200)
                .json_body(json!({"payoutId": "9", "asset": "TONCOIN", "amount": "1"}));
        })
        .await;
    let c = client(&server.base_url());
    let t = c
        .send(&GetTransfer::new(TransferId::from("9")).naming(xrocket::TransferNaming::Payouts))
        .await
        .unwrap();
    assert_eq!(t.transfer_id.as_str(), "9");
    payout.assert_calls_async(1).await;
}

/// The testnet-only payment is refused by a production client even through the generic
/// send, before any byte leaves.
#[tokio::test]
async fn generic_send_refuses_the_test_payment_on_production() {
    let c = xrocket::Client::new("token").unwrap();
    let e = c
        .send(&xrocket::PayInvoiceTest::new(Lookup::id("1")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(!e.was_sent());
}

/// `client_id_already_taken` on a withdrawal: the object under that client id is fetched and
/// compared; a different network is an error naming the field, never the other withdrawal.
#[tokio::test]
async fn a_taken_client_id_on_another_withdrawal_names_the_differing_field() {
    let server = MockServer::start_async().await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/withdrawals");
            then.status(400).json_body(json!({
                "type": "/api/problems/client_id_already_taken", "status": 400, "detail": "taken"
            }));
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/withdrawal")
                .query_param("clientWithdrawalId", "wd-1");
            then.status(200).json_body(json!({
                "withdrawalId": "w-1", "clientWithdrawalId": "wd-1", "network": "BSC", "address": ADDR,
                "asset": "TONCOIN", "amount": "2", "status": "CREATED"
            }));
        })
        .await;
    let c = client(&server.base_url());
    let req = CreateWithdrawal::new(Network::Ton, ADDR, Asset::Toncoin, Decimal::new(2, 0))
        .client_withdrawal_id("wd-1");
    let e = c.withdrawals().create(&req).await.unwrap_err();
    assert_eq!((e.kind(), e.field()), (ErrorKind::Provider, Some("network")));
    assert!(!e.is_retryable());
    create.assert_calls_async(1).await;
    lookup.assert_calls_async(1).await;
}
