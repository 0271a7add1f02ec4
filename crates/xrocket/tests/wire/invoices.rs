//! Invoices: create, info, list, delete, payments, deposit address, test payment.

use futures_util::StreamExt;
use httpmock::prelude::*;
use serde_json::json;
use xrocket::invoices::ListInvoicePayments;
use xrocket::{
    Asset, Callback, Client, CreateInvoice, Customer, Decimal, Environment, ErrorCode, ErrorKind, InvoiceId,
    InvoiceStatus, ListInvoices, Lookup, Network, PaymentStatus, RedirectUrls, TransactionStatus,
    TransactionType,
};

use crate::{KEY, authed, authed_json, client, exact_query};

pub(crate) fn invoice_json() -> serde_json::Value {
    json!({
        "id": "inv-1",
        "priceAmount": "19.99",
        "minPayment": null,
        "priceCurrency": "USDT",
        "payCurrencies": ["USDT"],
        "clientInvoiceId": "order-1001",
        "description": "Order #1001",
        "expiresIn": 3600000,
        "createdAt": "2026-01-01T10:00:00.000Z",
        "expiresAt": "2026-01-01T11:00:00.000Z",
        "status": "active",
        "callback": {"callbackUrl": "https://shop.example/hooks/xrocket", "payload": {"order": 1001}},
        "url": {"successUrl": "https://shop.example/ok", "cancelUrl": "https://shop.example/cancel"},
        "customer": {"id": "cust-9", "email": "buyer@example.com", "telegramId": 87209764, "telegramUsername": "buyer"},
        "links": {"telegramBotLink": "https://t.me/xrocket?start=inv_1", "telegramMiniAppLink": null, "webLink": null}
    })
}

fn payment_json() -> serde_json::Value {
    json!({
        "id": "pay-1",
        "status": "paid",
        "finalizedAt": "2026-01-01T10:05:00.000Z",
        "payAmount": "20.1",
        "payCurrency": "USDT",
        "receiveAmount": "19.99",
        "receiveCurrency": "USDT",
        "transactions": [{
            "id": "tx-1", "status": "confirmed", "type": "blockchain",
            "payAmount": "20.1", "payCurrency": "USDT", "receiveAmount": "19.99", "receiveCurrency": "USDT",
            "comment": null, "payer": {"telegramId": "87209764"},
            "createdAt": "2026-01-01T10:01:00.000Z", "finalizedAt": "2026-01-01T10:05:00.000Z",
            "tx": {"network": "TON", "txHash": "abc123", "amount": "20.1", "currency": "USDT", "status": "confirmed"}
        }]
    })
}

#[tokio::test]
async fn create_invoice_sends_documented_body() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(authed_json(when.method(POST).path("/api/v1/invoices")), &[]).json_body(json!({
                "priceCurrency": "USDT",
                "priceAmount": "19.99",
                "numPayments": 1,
                "payoutCurrency": "USDT",
                "payCurrencies": ["USDT"],
                "clientInvoiceId": "order-1001",
                "description": "Order #1001",
                "expiresIn": 3600000,
                "callback": {"callbackUrl": "https://shop.example/hooks/xrocket", "payload": {"order": 1001}},
                "url": {"successUrl": "https://shop.example/ok", "cancelUrl": "https://shop.example/cancel"},
                "customer": {"id": "cust-9", "email": "buyer@example.com", "telegramUsername": "buyer"},
                "isFeePaidByUser": true,
                "data": {"cart": [1, 2]},
                "platformId": "plat-1"
            }));
            then.status(200).json_body(invoice_json());
        })
        .await;
    let req = CreateInvoice::new("USDT", Decimal::new(1999, 2))
        .num_payments(1)
        .payout_currency(Asset::Usdt)
        .pay_currencies([Asset::Usdt])
        .client_invoice_id("order-1001")
        .description("Order #1001")
        .expires_in_ms(3_600_000)
        .callback(Callback::new("https://shop.example/hooks/xrocket").payload(json!({"order": 1001})))
        .url(RedirectUrls::new(
            "https://shop.example/ok",
            "https://shop.example/cancel",
        ))
        .customer(Customer {
            id: Some("cust-9".into()),
            email: Some("buyer@example.com".into()),
            telegram_id: None,
            telegram_username: Some("buyer".into()),
        })
        .fee_paid_by_user(true)
        .data(json!({"cart": [1, 2]}))
        .platform_id("plat-1");
    let inv = client(&server.base_url()).invoices().create(&req).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(inv.id, InvoiceId::from("inv-1"));
    assert_eq!(inv.price_amount, Some(Decimal::new(1999, 2)));
    assert_eq!(inv.min_payment, None);
    assert_eq!(inv.price_currency, "USDT");
    assert_eq!(inv.pay_currencies, vec![Asset::Usdt]);
    assert_eq!(inv.status, InvoiceStatus::Active);
    assert!(!inv.status.is_final());
    assert_eq!(inv.expires_in, Some(3_600_000));
    assert_eq!(inv.customer.unwrap().telegram_id.as_deref(), Some("87209764"));
    assert_eq!(
        inv.links.telegram_bot_link.as_deref(),
        Some("https://t.me/xrocket?start=inv_1")
    );
}

#[tokio::test]
async fn open_amount_invoice_sends_min_payment_only() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            authed_json(when.method(POST).path("/api/v1/invoices")).json_body(json!({
                "priceCurrency": "TONCOIN", "minPayment": "0.1", "numPayments": 100, "clientInvoiceId": "tips"
            }));
            let mut inv = invoice_json();
            inv["priceAmount"] = json!(null);
            inv["minPayment"] = json!("0.1");
            inv["priceCurrency"] = json!("TONCOIN");
            then.status(200).json_body(inv);
        })
        .await;
    let req = CreateInvoice::open_amount("TONCOIN", Decimal::new(1, 1))
        .num_payments(100)
        .client_invoice_id("tips");
    let inv = client(&server.base_url()).invoices().create(&req).await.unwrap();
    assert_eq!(inv.min_payment, Some(Decimal::new(1, 1)));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn get_delete_and_list_invoices() {
    let server = MockServer::start_async().await;
    let get = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/invoice")),
                &[("invoiceId", "inv-1")],
            );
            let mut paid = invoice_json();
            paid["status"] = json!("paid");
            then.status(200).json_body(paid);
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(DELETE).path("/api/v1/invoice")),
                &[("clientInvoiceId", "order-1001")],
            );
            then.status(200).body("");
        })
        .await;
    let list = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/invoices")),
                &[
                    ("asset", "USDT"),
                    ("ids", "inv-1"),
                    ("ids", "inv-2"),
                    ("status", "paid"),
                    ("limit", "50"),
                ],
            );
            then.status(200)
                .json_body(json!({"items": [invoice_json()], "pagination": {"total": 1, "next": null}}));
        })
        .await;
    let c = client(&server.base_url());
    let inv = c.invoices().get(&InvoiceId::from("inv-1")).await.unwrap();
    assert!(inv.status.is_final());
    c.invoices()
        .delete(Lookup::client_id("order-1001"))
        .await
        .unwrap();
    let page = c
        .invoices()
        .list(
            &ListInvoices::new()
                .asset("USDT")
                .ids(["inv-1", "inv-2"])
                .status(InvoiceStatus::Paid)
                .limit(50),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next, None);
    assert_eq!(page.total, Some(1));
    get.assert_calls_async(1).await;
    delete.assert_calls_async(1).await;
    list.assert_calls_async(1).await;
}

#[tokio::test]
async fn list_invoices_by_fiat_streams_every_page() {
    let server = MockServer::start_async().await;
    let p1 = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/invoices")),
                &[("fiat", "USD")],
            );
            then.status(200)
                .json_body(json!({"items": [invoice_json()], "pagination": {"next": "k2"}}));
        })
        .await;
    let p2 = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/invoices")),
                &[("fiat", "USD"), ("cursor", "k2")],
            );
            then.status(200).json_body(json!({"items": [invoice_json()]}));
        })
        .await;
    let c = client(&server.base_url());
    let all = c
        .invoices()
        .collect_all(ListInvoices::new().fiat("USD"), 10)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    p1.assert_calls_async(1).await;
    p2.assert_calls_async(1).await;
}

#[tokio::test]
async fn invoice_payments_are_typed_and_paginated() {
    let server = MockServer::start_async().await;
    let p1 = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/invoice/payments")),
                &[("invoiceId", "inv-1"), ("limit", "1")],
            );
            then.status(200)
                .json_body(json!({"items": [payment_json()], "pagination": {"next": "pp2"}}));
        })
        .await;
    let p2 = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/invoice/payments")),
                &[("invoiceId", "inv-1"), ("cursor", "pp2"), ("limit", "1")],
            );
            let mut pending = payment_json();
            pending["id"] = json!("pay-2");
            pending["status"] = json!("pending");
            pending["finalizedAt"] = json!(null);
            then.status(200)
                .json_body(json!({"items": [pending], "pagination": {"next": null}}));
        })
        .await;
    let c = client(&server.base_url());
    let filter = ListInvoicePayments::new(InvoiceId::from("inv-1")).limit(1);
    let page = c.invoices().payments(&filter).await.unwrap();
    let p = &page.items[0];
    assert_eq!(p.status, PaymentStatus::Paid);
    assert_eq!(p.receive_amount, Some(Decimal::new(1999, 2)));
    let tx = &p.transactions[0];
    assert_eq!(tx.status, TransactionStatus::Confirmed);
    assert_eq!(tx.type_, Some(TransactionType::Blockchain));
    assert_eq!(tx.tx.as_ref().unwrap().network, Some(Network::Ton));
    let all: Vec<_> = c.invoices().payments_stream(filter).collect().await;
    assert_eq!(all.len(), 2);
    assert!(all[1].as_ref().unwrap().finalized_at.is_none());
    p1.assert_calls_async(2).await;
    p2.assert_calls_async(1).await;
}

#[tokio::test]
async fn payment_address_for_an_invoice() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(
                authed_json(when.method(POST).path("/api/v1/invoices/payments/address")),
                &[("invoiceId", "inv-1")],
            )
            .json_body(json!({"payNetwork": "TON"}));
            then.status(201).json_body(json!({
                "address": "UQAddr", "payCurrency": "USDT", "payNetwork": "TON",
                "expiresAt": "2026-01-01T11:00:00.000Z", "minAmount": "0.5"
            }));
        })
        .await;
    let a = client(&server.base_url())
        .invoices()
        .payment_address(&InvoiceId::from("inv-1"), Network::Ton)
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(a.address, "UQAddr");
    assert_eq!(a.pay_network, Some(Network::Ton));
    assert_eq!(a.min_amount, Some(Decimal::new(5, 1)));
}

#[tokio::test]
async fn pay_test_only_on_testnet() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(PUT).path("/api/v1/invoices/pay")),
                &[("invoiceId", "inv-1")],
            );
            then.status(200).body("");
        })
        .await;
    client(&server.base_url())
        .invoices()
        .pay_test(&InvoiceId::from("inv-1"))
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    let prod = Client::builder()
        .api_key(KEY)
        .environment(Environment::Production)
        .build()
        .unwrap();
    let err = prod
        .invoices()
        .pay_test(&InvoiceId::from("inv-1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("Environment::Testnet"), "{err}");
}

#[tokio::test]
async fn create_invoice_already_taken_on_first_attempt_returns_the_same_invoice() {
    // A caller re-sending the same request value after a crash gets the invoice, not an error.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/invoices");
            then.status(400)
                .json_body(json!({"type": "/api/problems/client_id_already_taken", "status": 400}));
        })
        .await;
    let lookup = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/invoice")),
                &[("clientInvoiceId", "order-1001")],
            );
            then.status(200).json_body(invoice_json());
        })
        .await;
    let req = CreateInvoice::new("USDT", Decimal::new(1999, 2)).client_invoice_id("order-1001");
    let inv = client(&server.base_url()).invoices().create(&req).await.unwrap();
    assert_eq!(inv.id.as_str(), "inv-1");
    lookup.assert_calls_async(1).await;
}

#[tokio::test]
async fn invalid_invoices_are_refused_before_sending() {
    let c = client(&payout_core::test_util::refused_base_url());
    let cases = [
        (CreateInvoice::new("USD", Decimal::new(1001, 3)), "priceAmount"),
        (CreateInvoice::open_amount("USDT", Decimal::ZERO), "minPayment"),
        (
            CreateInvoice::new("USDT", Decimal::ONE).num_payments(0),
            "numPayments",
        ),
        (
            CreateInvoice::new("USDT", Decimal::ONE).pay_currencies([Asset::Toncoin]),
            "payCurrencies",
        ),
        (
            CreateInvoice::new("USDT", Decimal::ONE).description("d".repeat(1001)),
            "description",
        ),
        (CreateInvoice::new("USDT", Decimal::ONE).data(json!([1])), "data"),
        (CreateInvoice::new("", Decimal::ONE), "priceCurrency"),
        (
            CreateInvoice::new("USDT", Decimal::ONE).customer(Customer {
                telegram_username: Some("@buyer".into()),
                ..Customer::default()
            }),
            "customer.telegramUsername",
        ),
    ];
    for (req, field) in cases {
        let err = c.invoices().create(&req).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.field()),
            (ErrorKind::InvalidInput, Some(field)),
            "{err}"
        );
    }
    let err = c
        .invoices()
        .payments(&ListInvoicePayments::new(Lookup::client_id("x")).limit(1001))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("limit"));
    assert_eq!(ErrorCode::of(&err), None);
}
