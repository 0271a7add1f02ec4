//! Typed timestamps: every date-time xRocket documents (current API: invoice `createdAt` /
//! `expiresAt`, payment `finalizedAt`, transaction `createdAt` / `finalizedAt`, deposit address
//! `expiresAt`, webhook envelope `timestamp`; legacy API: invoice `created` / `paid`,
//! `PayInvoiceStat.paid`, webhook `timestamp`) decodes to a `Timestamp` that keeps the text and
//! names the instant; text that is not a date-time still decodes; the `fromDate` / `toDate` list
//! filters send exactly what was given and refuse what is not a date-time before any request.

use std::time::{Duration, UNIX_EPOCH};

use httpmock::prelude::*;
use serde_json::json;
use xrocket::{
    Client, ErrorKind, InvoiceId, ListCheques, ListInvoicePayments, ListTransfers, ListWithdrawals, Network,
    Timestamp, WithdrawalStatus,
};

use crate::{authed, client, exact_query};

/// An invoice as xRocket Pay's "Invoice" schema shapes it (dates with milliseconds and `Z`).
fn invoice_json() -> serde_json::Value {
    json!({
        "id": "inv-1",
        "priceAmount": "19.99",
        "priceCurrency": "USDT",
        "createdAt": "2026-01-01T10:00:00.000Z",
        "expiresAt": "2026-01-01T11:00:00.000Z",
        "status": "active",
        "links": {"telegramBotLink": "https://t.me/xrocket?start=inv_1"}
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
            "id": "tx-1", "status": "confirmed", "type": "internal",
            "createdAt": "2026-01-01T10:01:00.000Z", "finalizedAt": "2026-01-01T10:05:00.000Z"
        }]
    })
}

async fn get_invoice(body: serde_json::Value) -> xrocket::Invoice {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/invoice")),
                &[("invoiceId", "inv-1")],
            );
            then.status(200).json_body(body);
        })
        .await;
    let inv = client(&server.base_url())
        .invoices()
        .get(&InvoiceId::from("inv-1"))
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    inv
}

#[tokio::test]
async fn invoice_created_and_expires_at_are_instants() {
    let inv = get_invoice(invoice_json()).await;
    let created = inv.created_at.as_ref().unwrap();
    assert_eq!(created.as_str(), "2026-01-01T10:00:00.000Z");
    assert_eq!(created.unix_seconds(), Some(1_767_261_600)); // 2026-01-01T10:00:00Z
    assert_eq!(created.unix_millis(), Some(1_767_261_600_000));
    assert_eq!(
        created.to_system_time(),
        Some(UNIX_EPOCH + Duration::from_secs(1_767_261_600))
    );
    let expires = inv.expires_at.as_ref().unwrap();
    assert_eq!(expires.unix_seconds(), Some(1_767_265_200)); // 2026-01-01T11:00:00Z
    // The lifetime the docs say to verify `expiresIn` against: one hour.
    assert_eq!(
        expires.unix_millis().unwrap() - created.unix_millis().unwrap(),
        3_600_000
    );
    // Serialized back byte for byte (what payout-journal stores).
    let v = serde_json::to_value(&inv).unwrap();
    assert_eq!(v["createdAt"], "2026-01-01T10:00:00.000Z");
    assert_eq!(v["expiresAt"], "2026-01-01T11:00:00.000Z");
}

#[tokio::test]
async fn invoice_that_never_expires_has_no_expires_at() {
    let mut body = invoice_json();
    body["expiresAt"] = json!(null);
    let inv = get_invoice(body).await;
    assert_eq!(inv.expires_at, None);
    assert!(inv.created_at.unwrap().is_parsed());
}

#[tokio::test]
async fn unparsable_or_numeric_invoice_timestamps_still_decode() {
    let mut body = invoice_json();
    body["createdAt"] = json!("2026-01-01 10:00:00"); // no offset: its zone is unknown
    body["expiresAt"] = json!(1_767_265_200_000_i64); // a number, not the documented string
    let inv = get_invoice(body).await;
    let created = inv.created_at.as_ref().unwrap();
    assert!(!created.is_parsed());
    assert_eq!(created.as_str(), "2026-01-01 10:00:00");
    assert_eq!(created.unix_seconds(), None);
    let expires = inv.expires_at.as_ref().unwrap();
    assert!(!expires.is_parsed());
    assert_eq!(expires.as_str(), "1767265200000");
}

#[tokio::test]
async fn payment_and_transaction_timestamps_are_instants() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/invoice/payments")),
                &[("invoiceId", "inv-1")],
            );
            let mut odd = payment_json();
            odd["id"] = json!("pay-2");
            odd["finalizedAt"] = json!("soon");
            odd["transactions"][0]["createdAt"] = json!(42);
            odd["transactions"][0]["finalizedAt"] = json!(null);
            then.status(200)
                .json_body(json!({"items": [payment_json(), odd], "pagination": {"next": null}}));
        })
        .await;
    let page = client(&server.base_url())
        .invoices()
        .payments(&ListInvoicePayments::new(InvoiceId::from("inv-1")))
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    let p = &page.items[0];
    let finalized = p.finalized_at.as_ref().unwrap();
    assert_eq!(finalized.unix_seconds(), Some(1_767_261_900)); // 2026-01-01T10:05:00Z
    let tx = &p.transactions[0];
    assert_eq!(
        tx.created_at.as_ref().unwrap().unix_seconds(),
        Some(1_767_261_660) // 2026-01-01T10:01:00Z
    );
    assert_eq!(
        tx.finalized_at.as_ref().unwrap().unix_seconds(),
        Some(1_767_261_900) // 2026-01-01T10:05:00Z
    );
    // Text that is not a date-time, and a number, are kept as sent.
    let odd = &page.items[1];
    let finalized = odd.finalized_at.as_ref().unwrap();
    assert_eq!((finalized.as_str(), finalized.is_parsed()), ("soon", false));
    let created = odd.transactions[0].created_at.as_ref().unwrap();
    assert_eq!((created.as_str(), created.is_parsed()), ("42", false));
    assert_eq!(odd.transactions[0].finalized_at, None);
}

#[tokio::test]
async fn payment_address_expires_at_is_an_instant() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/invoices/payments/address");
            then.status(201).json_body(json!({
                "address": "UQAddr", "payCurrency": "USDT", "payNetwork": "TON",
                "expiresAt": "2026-01-01T11:00:00.000Z"
            }));
        })
        .await;
    let a = client(&server.base_url())
        .invoices()
        .payment_address(&InvoiceId::from("inv-1"), Network::Ton)
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    let expires = a.expires_at.unwrap();
    assert_eq!(expires.unix_seconds(), Some(1_767_265_200)); // 2026-01-01T11:00:00Z
    assert_eq!(expires.as_str(), "2026-01-01T11:00:00.000Z");
}

#[tokio::test]
async fn cheque_list_sends_date_filters_exactly_as_given() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/cheques")),
                &[
                    ("fromDate", "2026-01-01T00:00:00Z"),
                    ("toDate", "2026-02-01T05:30:00+05:30"),
                ],
            );
            then.status(200).json_body(json!({"items": [], "pagination": {}}));
        })
        .await;
    // A SystemTime (written in UTC) and RFC 3339 text with an offset (sent as written).
    let filter = ListCheques::new()
        .from_date(UNIX_EPOCH + Duration::from_secs(1_767_225_600)) // 2026-01-01T00:00:00Z
        .to_date("2026-02-01T05:30:00+05:30");
    let page = client(&server.base_url()).cheques().list(&filter).await.unwrap();
    assert!(page.items.is_empty());
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn withdrawal_list_sends_date_filters_exactly_as_given() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/withdrawals")),
                &[
                    ("fromDate", "2026-01-01T00:00:00.000Z"),
                    ("toDate", "2026-01-31T23:59:59Z"),
                    ("status", "COMPLETED"),
                ],
            );
            then.status(200).json_body(json!({"items": [], "pagination": {}}));
        })
        .await;
    let filter = ListWithdrawals::new()
        .from_date(Timestamp::from_unix_millis(1_767_225_600_000).unwrap()) // 2026-01-01T00:00:00Z
        .to_date(String::from("2026-01-31T23:59:59Z"))
        .status(WithdrawalStatus::Completed);
    client(&server.base_url())
        .withdrawals()
        .list(&filter)
        .await
        .unwrap();
    m.assert_calls_async(1).await;
}

/// Every bad bound is refused as `InvalidInput` naming its field; the mock proves nothing left.
#[tokio::test]
async fn bad_date_filters_are_refused_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(json!({"items": []}));
        })
        .await;
    let c: Client = client(&server.base_url());
    let cases: [(&str, &str, &str); 5] = [
        ("2026-01-01", "fromDate", "a date alone"),
        ("2026-01-01T00:00:00", "fromDate", "no UTC offset"),
        ("yesterday", "fromDate", "expected YYYY-MM-DD"),
        ("2026-02-30T00:00:00Z", "toDate", "no such day"),
        ("1767225600", "toDate", "expected YYYY-MM-DD"),
    ];
    for (text, field, reason) in cases {
        let (cheques, withdrawals, transfers) = if field == "fromDate" {
            (
                ListCheques::new().from_date(text),
                ListWithdrawals::new().from_date(text),
                ListTransfers::new().from_date(text),
            )
        } else {
            (
                ListCheques::new().to_date(text),
                ListWithdrawals::new().to_date(text),
                ListTransfers::new().to_date(text),
            )
        };
        for err in [
            c.cheques().list(&cheques).await.unwrap_err(),
            c.withdrawals().list(&withdrawals).await.unwrap_err(),
            c.transfers().list(&transfers).await.unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{text}");
            assert_eq!(err.field(), Some(field), "{text}");
            let msg = err.to_string();
            assert!(
                msg.contains("must be an RFC 3339 date-time with an offset"),
                "{msg}"
            );
            assert!(msg.contains(reason), "{text}: {msg}");
        }
    }
    // A range that ends before it starts (compared by instant, not by text).
    let backwards = ListCheques::new()
        .from_date("2026-01-02T00:00:00Z")
        .to_date("2026-01-01T23:59:59Z");
    let err = c.cheques().list(&backwards).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.field()),
        (ErrorKind::InvalidInput, Some("fromDate"))
    );
    let backwards = ListWithdrawals::new()
        .from_date("2026-01-01T00:00:00+01:00") // 2025-12-31T23:00:00Z
        .to_date("2025-12-31T22:59:59.999Z");
    let err = c.withdrawals().list(&backwards).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.field()),
        (ErrorKind::InvalidInput, Some("fromDate"))
    );
    let backwards = ListTransfers::new()
        .from_date("2026-01-01T00:00:00.001Z")
        .to_date("2026-01-01T00:00:00Z");
    let err = c.transfers().list(&backwards).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.field()),
        (ErrorKind::InvalidInput, Some("fromDate"))
    );
    any.assert_calls_async(0).await;

    // The same instant written two ways is a valid (one-instant) range.
    let same = ListCheques::new()
        .from_date("2026-01-01T00:00:00Z")
        .to_date("2026-01-01T00:00:00.000Z");
    c.cheques().list(&same).await.unwrap();
    any.assert_calls_async(1).await;
}

// ----- legacy API (xRocket Pay API 1.3.1) -----

mod legacy {
    use httpmock::prelude::*;
    use xrocket::legacy::webhook::{EventKind, parse_event};
    use xrocket::legacy::{Client, InvoiceId, ListInvoices};

    fn lclient(base: &str) -> Client {
        Client::builder()
            .api_key("1234567:AAHk-LEGACY_TOKEN_DO_NOT_LEAK")
            .base_url(base)
            .build()
            .unwrap()
    }

    /// `GET /tg-invoices/{id}`, the spec-literal example of the provider notes.
    const FULL: &str = r#"{"success":true,"data":{"id":3,"amount":5,"minPayment":5,"totalActivations":5,"activationsLeft":3,"payload":"order-42","commentsEnabled":false,"currency":"TONCOIN","created":"2025-06-26T12:00:00.000Z","status":"active","expiredIn":10,"link":"https://t.me/xRocket?start=inv_qwerty123","payments":[{"userId":"14357874663","paymentNum":2,"paymentAmount":2,"paymentAmountReceived":1.5,"comment":"","paid":"2025-06-26T12:10:00.000Z"}]}}"#;
    /// `GET /tg-invoices`, the live-API example (`paid: null`).
    const LIST: &str = r#"{"success":true,"data":{"total":1,"limit":100,"offset":0,"results":[{"id":"12345","amount":null,"minPayment":1,"totalActivations":null,"activationsLeft":null,"description":null,"payload":null,"commentsEnabled":0,"currency":"USDT","created":"2025-06-26T10:00:00.000Z","paid":null,"status":"active","expiredIn":0,"link":"https://t.me/xRocket?start=inv_abc"}]}}"#;
    /// The `invoicePay` webhook example of xRocket Pay API 1.3.1.
    const PAY: &str = r#"{"type":"invoicePay","timestamp":"2025-06-26T12:00:00.000Z","data":{"id":3,"amount":5,"minPayment":5,"totalActivations":5,"activationsLeft":4,"currency":"TONCOIN","created":"2025-06-26T11:59:00.000Z","paid":"2025-06-26T12:00:00.000Z","status":"active","expiredIn":0,"link":"https://t.me/xRocket?start=inv_qwerty123","payload":"order-42","payment":{"userId":87209764,"paymentNum":1,"paymentAmount":5,"paymentAmountReceived":4.925,"comment":"","paid":"2025-06-26T12:00:00.000Z"}}}"#;

    #[tokio::test]
    async fn legacy_invoice_created_and_payment_paid_are_instants() {
        let server = MockServer::start_async().await;
        let get = server
            .mock_async(|when, then| {
                when.method(GET).path("/tg-invoices/3");
                then.status(200).body(FULL);
            })
            .await;
        let list = server
            .mock_async(|when, then| {
                when.method(GET).path("/tg-invoices");
                then.status(200).body(LIST);
            })
            .await;
        let c = lclient(&server.base_url());
        let full = c.invoices().get(InvoiceId::from("3")).await.unwrap();
        assert_eq!(full.invoice.created.as_str(), "2025-06-26T12:00:00.000Z");
        assert_eq!(full.invoice.created.unix_seconds(), Some(1_750_939_200)); // 2025-06-26T12:00:00Z
        assert_eq!(full.invoice.paid, None);
        let paid = &full.payments[0].paid;
        assert_eq!(paid.unix_seconds(), Some(1_750_939_800)); // 2025-06-26T12:10:00Z
        let page = c.invoices().list(&ListInvoices::new()).await.unwrap();
        let inv = &page.items[0];
        assert_eq!(inv.created.unix_seconds(), Some(1_750_932_000)); // 2025-06-26T10:00:00Z
        assert_eq!(inv.paid, None);
        // Serialized back byte for byte.
        let v = serde_json::to_value(&full).unwrap();
        assert_eq!(v["created"], "2025-06-26T12:00:00.000Z");
        assert_eq!(v["payments"][0]["paid"], "2025-06-26T12:10:00.000Z");
        get.assert_calls_async(1).await;
        list.assert_calls_async(1).await;
    }

    #[test]
    fn legacy_webhook_timestamps_are_instants() {
        let e = parse_event(PAY.as_bytes()).unwrap();
        let ts = e.timestamp.as_ref().unwrap();
        assert_eq!(ts.unix_seconds(), Some(1_750_939_200)); // 2025-06-26T12:00:00Z
        let EventKind::InvoicePay { invoice, payment } = e.kind else {
            panic!("not an invoicePay");
        };
        assert_eq!(invoice.created.unix_seconds(), Some(1_750_939_140)); // 2025-06-26T11:59:00Z
        assert_eq!(
            invoice.paid.as_ref().unwrap().unix_seconds(),
            Some(1_750_939_200) // 2025-06-26T12:00:00Z
        );
        assert_eq!(payment.paid.unix_seconds(), Some(1_750_939_200)); // 2025-06-26T12:00:00Z
        assert_eq!(payment.paid.as_str(), "2025-06-26T12:00:00.000Z");
    }

    #[test]
    fn unparsable_or_numeric_legacy_timestamps_still_decode() {
        let odd = PAY
            .replace(
                r#""timestamp":"2025-06-26T12:00:00.000Z""#,
                r#""timestamp":1750939200000"#,
            )
            .replace(
                r#""created":"2025-06-26T11:59:00.000Z""#,
                r#""created":"26.06.2025 11:59""#,
            )
            .replace(
                r#""comment":"","paid":"2025-06-26T12:00:00.000Z""#,
                r#""comment":"","paid":1750939200"#,
            );
        let e = parse_event(odd.as_bytes()).unwrap();
        let ts = e.timestamp.as_ref().unwrap();
        assert_eq!((ts.as_str(), ts.is_parsed()), ("1750939200000", false));
        let EventKind::InvoicePay { invoice, payment } = e.kind else {
            panic!("an odd date must not make the payment unparsed");
        };
        assert_eq!(
            (invoice.created.as_str(), invoice.created.is_parsed()),
            ("26.06.2025 11:59", false)
        );
        assert_eq!(
            (payment.paid.as_str(), payment.paid.is_parsed()),
            ("1750939200", false)
        );
        // The dedupe key keeps using the text as sent.
        assert!(invoice.paid.unwrap().is_parsed());
    }
}
