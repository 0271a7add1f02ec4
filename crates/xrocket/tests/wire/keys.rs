//! Generated client ids (hot-path rule, issue "A UUID is generated even when the caller gave
//! an id"): a constructor followed by the id setter generates nothing; a constructor alone
//! generates exactly one id, on first read, and that one id goes on the wire every time the
//! value (or a clone of it) is sent.

use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use payout_core::{Endpoint, IdempotencyKey};
use serde_json::json;
use xrocket::{
    Asset, CreateCheque, CreateInvoice, CreateTransfer, CreateWithdrawal, Decimal, Keyed, MassTransfer,
    MassTransferItem, Network, legacy,
};

use crate::client;

const ADDR: &str = "UQBvI0aFLnw2QbZgjMPCLRdtRHxhUyinQudg6sdiohIwg5jL";

fn generated() -> u64 {
    IdempotencyKey::generated_on_this_thread()
}

#[test]
fn constructor_then_setter_generates_no_id() {
    let before = generated();
    let t = CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, Decimal::new(123, 2))
        .client_transfer_id("payout-1001");
    let item = MassTransferItem::new(87209764, Decimal::ONE).client_transfer_id("bonus-1");
    let batch = MassTransfer::new(Asset::Usdt).item(item.clone());
    let inv = CreateInvoice::new("USDT", Decimal::new(1999, 2)).client_invoice_id("order-1001");
    let chq = CreateCheque::new(Asset::Toncoin, Decimal::new(5, 1)).client_cheque_id("gift-42");
    let wd = CreateWithdrawal::new(Network::Ton, ADDR, Asset::Toncoin, Decimal::new(25, 1))
        .client_withdrawal_id("wd-1");
    let lt = legacy::CreateTransfer::new(1, "TONCOIN", Decimal::ONE).transfer_id("lt-1");
    let lw = legacy::CreateWithdrawal::new(legacy::Network::Ton, ADDR, "TONCOIN", Decimal::ONE)
        .withdrawal_id("lw-1");
    // Every way to read, copy or store the values: still nothing generated.
    assert_eq!(t.key(), "payout-1001");
    assert_eq!(item.client_id(), "bonus-1");
    assert_eq!(batch.key(), "bonus-1");
    assert_eq!(inv.key(), "order-1001");
    assert_eq!(chq.key(), "gift-42");
    assert_eq!(wd.key(), "wd-1");
    assert_eq!(lt.key(), "lt-1");
    assert_eq!(lw.key(), "lw-1");
    let _ = (
        t.clone(),
        batch.clone(),
        inv.clone(),
        chq.clone(),
        wd.clone(),
        lt.clone(),
        lw.clone(),
    );
    let _ = format!("{t:?}{batch:?}{inv:?}{chq:?}{wd:?}{lt:?}{lw:?}");
    serde_json::to_string(&(&t, &batch, &inv, &chq, &wd, &lt, &lw)).unwrap();
    t.validate().unwrap();
    for r in [
        t.to_request(),
        batch.to_request(),
        inv.to_request(),
        chq.to_request(),
        wd.to_request(),
        lt.to_request(),
        lw.to_request(),
    ] {
        r.unwrap();
    }
    assert_eq!(generated(), before, "a caller's id must not cost a generated one");
}

#[test]
fn a_constructor_alone_generates_one_id_on_first_read() {
    let before = generated();
    let t = CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, Decimal::ONE);
    let item = MassTransferItem::new(87209764, Decimal::ONE);
    let inv = CreateInvoice::new("USDT", Decimal::ONE);
    let chq = CreateCheque::new(Asset::Toncoin, Decimal::ONE);
    let wd = CreateWithdrawal::new(Network::Ton, ADDR, Asset::Toncoin, Decimal::ONE);
    let lt = legacy::CreateTransfer::new(1, "TONCOIN", Decimal::ONE);
    let lw = legacy::CreateWithdrawal::new(legacy::Network::Ton, ADDR, "TONCOIN", Decimal::ONE);
    assert_eq!(generated(), before, "nothing generated before the first read");
    let keys = [
        t.key().to_owned(),
        item.client_id().to_owned(),
        inv.key().to_owned(),
        chq.key().to_owned(),
        wd.key().to_owned(),
        lt.key().to_owned(),
        lw.key().to_owned(),
    ];
    assert_eq!(generated(), before + 7);
    // Read again, cloned, stored and read back: the same ids, nothing more generated.
    assert_eq!(t.key(), keys[0]);
    assert_eq!(t.clone().key(), keys[0]);
    assert_eq!(t.clone(), t);
    let back: CreateTransfer = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
    assert_eq!(back.key(), keys[0]);
    assert_eq!(item.clone().client_id(), keys[1]);
    assert_eq!(inv.clone().key(), keys[2]);
    assert_eq!(chq.clone().key(), keys[3]);
    assert_eq!(wd.clone().key(), keys[4]);
    assert_eq!(lt.clone().key(), keys[5]);
    assert_eq!(lw.clone().key(), keys[6]);
    assert_eq!(generated(), before + 7);
    for k in &keys {
        assert_eq!(k.len(), 36, "{k}");
    }
}

/// Mocks `POST path`, answering `answer` and recording the JSON body of every call.
async fn recording(
    server: &MockServer,
    path: &str,
    answer: serde_json::Value,
) -> Arc<Mutex<Vec<serde_json::Value>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    server
        .mock_async(move |when, then| {
            when.method(POST).path(path.to_string()).is_true(move |req| {
                let v = serde_json::from_slice(req.body().as_ref()).unwrap_or_default();
                s2.lock().unwrap().push(v);
                true
            });
            then.status(200).json_body(answer);
        })
        .await;
    seen
}

/// Sends `req` twice and then a clone of it, none of them read before: the one id generated
/// by the first send goes on the wire all three times (under `field`), and is the key.
async fn same_id_on_every_send<E>(path: &str, field: &str, answer: serde_json::Value, req: E)
where
    E: Endpoint + Keyed + Clone,
{
    let server = MockServer::start_async().await;
    let seen = recording(&server, path, answer).await;
    let c = client(&server.base_url());
    let before = generated();
    c.send(&req).await.unwrap();
    c.send(&req).await.unwrap();
    c.send(&req.clone()).await.unwrap();
    assert_eq!(generated(), before + 1, "one id for the value and its clone");
    let ids: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|b| b[field].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(ids[0].len(), 36, "{ids:?}");
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(req.key(), ids[0]);
}

#[tokio::test]
async fn a_transfer_sends_its_one_generated_id_every_time() {
    let answer = crate::transfer_json();
    same_id_on_every_send(
        "/api/v1/transfers",
        "clientTransferId",
        answer,
        CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, Decimal::new(123, 2)),
    )
    .await;
}

#[tokio::test]
async fn an_invoice_sends_its_one_generated_id_every_time() {
    same_id_on_every_send(
        "/api/v1/invoices",
        "clientInvoiceId",
        crate::invoices::invoice_json(),
        CreateInvoice::new("USDT", Decimal::new(1999, 2)),
    )
    .await;
}

#[tokio::test]
async fn a_cheque_sends_its_one_generated_id_every_time() {
    same_id_on_every_send(
        "/api/v1/cheques",
        "clientChequeId",
        crate::cheques::cheque_json(),
        CreateCheque::new(Asset::Toncoin, Decimal::new(5, 1)),
    )
    .await;
}

#[tokio::test]
async fn a_withdrawal_sends_its_one_generated_id_every_time() {
    same_id_on_every_send(
        "/api/v1/withdrawals",
        "clientWithdrawalId",
        crate::withdrawals::withdrawal_json("CREATED"),
        CreateWithdrawal::new(Network::Ton, ADDR, Asset::Toncoin, Decimal::new(25, 1)),
    )
    .await;
}

#[tokio::test]
async fn a_batch_sends_each_items_one_generated_id_every_time() {
    let server = MockServer::start_async().await;
    let seen = recording(
        &server,
        "/api/v1/mass-transfers",
        json!({"successTransfers": [], "errorTransfers": []}),
    )
    .await;
    let c = client(&server.base_url());
    let before = generated();
    let batch = MassTransfer::new(Asset::Usdt)
        .item(MassTransferItem::new(87209764, Decimal::ONE))
        .item(MassTransferItem::new(11111111, Decimal::ONE).client_transfer_id("mine"));
    c.send(&batch).await.unwrap();
    c.send(&batch).await.unwrap();
    c.send(&batch.clone()).await.unwrap();
    assert_eq!(generated(), before + 1, "one id for the one item without yours");
    let sent: Vec<(String, String)> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|b| {
            let t = &b["transfers"];
            let id = |i: usize| t[i]["clientTransferId"].as_str().unwrap_or_default().to_owned();
            (id(0), id(1))
        })
        .collect();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent.iter().all(|s| *s == sent[0]), "{sent:?}");
    assert_eq!(sent[0].0, batch.items()[0].client_id());
    assert_eq!(sent[0].0.len(), 36);
    assert_eq!(sent[0].1, "mine");
}
