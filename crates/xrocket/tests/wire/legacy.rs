//! The legacy Pay API (`xrocket::legacy`): every endpoint at the wire (method, path, query,
//! `Rocket-Pay-Key`, exact JSON bodies with amounts as exact numbers), the documented bodies of
//! xRocket Pay API 1.3.1 and its SDK's mocks, the error envelope, and the proof that a payout
//! is never sent twice.

use std::time::Duration;

use futures_util::StreamExt;
use httpmock::prelude::*;
use payout_core::test_util::{DropMode, DropServer, LogCapture, assert_no_secret};
use secrecy::ExposeSecret;
use serde_json::json;
use xrocket::legacy::{
    ChequeState, Client, CreateCheque, CreateInvoice, CreateTransfer, CreateWithdrawal, ErrorCode,
    FieldError, GetWithdrawalFees, GetWithdrawalLink, InvoiceStatus, ListCheques, ListInvoices, Network,
    UpdateCheque, WithdrawalStatus,
};
use xrocket::{Decimal, ErrorKind, Keyed, PollOptions, ReconcilePolicy, RetryPolicy};

/// The legacy app token used by these tests; the leak test proves it never shows up.
const LKEY: &str = "1234567:AAHk-LEGACY_TOKEN_DO_NOT_LEAK";

fn lclient(base: &str) -> Client {
    Client::builder()
        .api_key(LKEY)
        .base_url(base)
        .retry_policy(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(10))
                .max_delay(Duration::from_millis(20))
                .jitter_seed(7),
        )
        .attempt_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .reconcile_policy(ReconcilePolicy::once())
        .build()
        .unwrap()
}

fn keyless(base: &str) -> Client {
    Client::builder().base_url(base).build().unwrap()
}

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

const WITHDRAWAL: &str = r#"{"success":true,"data":{"network":"TON","address":"EQB1cmpxb3R-YLA3HLDV01Rx6OHpMQA_7MOglhqL2CwJx_dz","currency":"TONCOIN","amount":1.23,"withdrawalId":"abc-def","status":"CREATED","comment":"You are awesome!"}}"#;
const ADDRESS: &str = "EQB1cmpxb3R-YLA3HLDV01Rx6OHpMQA_7MOglhqL2CwJx_dz";

fn withdrawal() -> CreateWithdrawal {
    CreateWithdrawal::new(Network::Ton, ADDRESS, "TONCOIN", d("1.23"))
        .withdrawal_id("abc-def")
        .comment("You are awesome!")
}

#[tokio::test]
async fn legacy_version_and_health_are_public_and_unwrapped() {
    let server = MockServer::start_async().await;
    let v = server
        .mock_async(|when, then| {
            when.method(GET).path("/version").header_missing("rocket-pay-key");
            then.status(200).body(r#"{"version":"1.3.1"}"#);
        })
        .await;
    let h = server
        .mock_async(|when, then| {
            when.method(GET).path("/health").header_missing("rocket-pay-key");
            then.status(200)
                .body(r#"{"status":"ok","info":{"db":{"status":"up"}},"error":{},"details":{"db":{"status":"up"}}}"#);
        })
        .await;
    let c = keyless(&server.base_url());
    assert_eq!(c.version().await.unwrap().version, "1.3.1");
    assert_eq!(c.health().await.unwrap().status, "ok");
    v.assert_async().await;
    h.assert_async().await;
    // The spec's example is the number 0.1.
    let v2: xrocket::legacy::Version = serde_json::from_str(r#"{"version":0.1}"#).unwrap();
    assert_eq!(v2.version, "0.1");
}

#[tokio::test]
async fn legacy_app_info() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/app/info")
                .header("rocket-pay-key", LKEY)
                .query_param_count(".*", ".*", 0);
            then.status(200).body(
                r#"{"success":true,"data":{"name":"My App","feePercents":"1.5","balances":[{"currency":"TONCOIN","balance":10.123}]}}"#,
            );
        })
        .await;
    let app = lclient(&server.base_url()).app().info().await.unwrap();
    m.assert_async().await;
    assert_eq!(app.name, "My App");
    assert_eq!(app.fee_percents, d("1.5"));
    assert_eq!(app.balances[0].currency, "TONCOIN");
    assert_eq!(app.balances[0].balance, d("10.123"));
}

#[tokio::test]
async fn legacy_transfer_sends_exact_body() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/app/transfer")
                .header("rocket-pay-key", LKEY)
                .header("content-type", "application/json")
                // Exact bytes: amounts are JSON numbers written from the decimal's digits.
                .body(r#"{"tgUserId":87209764,"currency":"TONCOIN","amount":1.23,"transferId":"payout-1001","description":"You are awesome!"}"#);
            then.status(201).body(
                r#"{"success":true,"data":{"id":3,"tgUserId":87209764,"currency":"TONCOIN","amount":1.23,"description":"You are awesome!"}}"#,
            );
        })
        .await;
    let req = CreateTransfer::new(87209764, "TONCOIN", d("1.23"))
        .transfer_id("payout-1001")
        .description("You are awesome!");
    let t = lclient(&server.base_url())
        .transfers()
        .create(&req)
        .await
        .unwrap();
    m.assert_async().await;
    assert_eq!(t.id.as_str(), "3");
    assert_eq!(t.tg_user_id, 87209764);
    assert_eq!(t.amount, d("1.23"));
    assert_eq!(t.description.as_deref(), Some("You are awesome!"));

    // 0.1 + 0.2 is written as 0.3, not 0.30000000000000004; 9 decimals survive.
    let exact = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/app/transfer")
                .body(r#"{"tgUserId":5,"currency":"USDT","amount":0.3,"transferId":"sum"}"#);
            then.status(201)
                .body(r#"{"success":true,"data":{"id":4,"tgUserId":5,"currency":"USDT","amount":0.3}}"#);
        })
        .await;
    let sum = Decimal::new(1, 1) + Decimal::new(2, 1);
    let req = CreateTransfer::new(5, "USDT", sum).transfer_id("sum");
    lclient(&server.base_url())
        .transfers()
        .create(&req)
        .await
        .unwrap();
    exact.assert_async().await;
    let nine =
        serde_json::to_string(&CreateTransfer::new(5, "TONCOIN", d("12345678.123456789")).transfer_id("n"))
            .unwrap();
    assert!(nine.contains(r#""amount":12345678.123456789"#), "{nine}");
}

#[tokio::test]
async fn legacy_keys_exist_before_sending_and_bad_input_sends_nothing() {
    let a = CreateTransfer::new(1, "TONCOIN", Decimal::ONE);
    let b = CreateTransfer::new(1, "TONCOIN", Decimal::ONE);
    assert_ne!(a.key(), b.key(), "each value is one payment");
    assert!(!a.key().is_empty() && a.key().len() <= 50);
    // A journal round trip keeps the key.
    let back: CreateTransfer = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(back.key(), a.key());
    let w = CreateWithdrawal::new(Network::Ton, ADDRESS, "TONCOIN", Decimal::ONE);
    assert_eq!(w.key().len(), 36);

    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let c = lclient(&server.base_url());
    for (req, field) in [
        (
            CreateTransfer::new(1, "TONCOIN", Decimal::ONE).transfer_id("has space"),
            "transferId",
        ),
        (
            CreateTransfer::new(1, "TONCOIN", Decimal::ONE).transfer_id("x".repeat(51)),
            "transferId",
        ),
        (CreateTransfer::new(1, "TONCOIN", d("0.0000000001")), "amount"),
        (CreateTransfer::new(1, "TONCOIN", Decimal::ZERO), "amount"),
        (CreateTransfer::new(0, "TONCOIN", Decimal::ONE), "tgUserId"),
    ] {
        let e = c.transfers().create(&req).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.field(), Some(field));
    }
    let e = c
        .withdrawals()
        .create(&withdrawal().comment("c".repeat(51)))
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("comment"));
    let e = c
        .invoices()
        .create(&CreateInvoice::new("TONCOIN").expires_in(Duration::from_secs(86_401)))
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("expiredIn"));
    let e = c
        .cheques()
        .create(&CreateCheque::new("TONCOIN", Decimal::ONE, 1).ref_program(101))
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("refProgram"));
    assert_eq!(any.calls_async().await, 0);
}

#[tokio::test]
async fn legacy_transfer_is_never_resent_and_ambiguous_with_its_id() {
    // The connection drops after the request: sent once, Ambiguous, with the transferId.
    let srv = DropServer::start(DropMode::CloseAfterRequest);
    let req = CreateTransfer::new(87209764, "TONCOIN", d("1.23")).transfer_id("payout-7");
    let e = lclient(&srv.base_url())
        .transfers()
        .create(&req)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(srv.requests(), 1, "an unprotected payout is never re-sent");
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("payout-7"));
    assert!(e.message().contains("payout-7"), "{}", e.message());

    // A 502: sent once, Ambiguous.
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/app/transfer");
            then.status(502).body("bad gateway");
        })
        .await;
    let e = lclient(&server.base_url())
        .transfers()
        .create(&req)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(m.calls_async().await, 1);

    // A 201 that does not decode: the money may have moved.
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/app/transfer");
            then.status(201).body(r#"{"success":true,"data":{"tgUserId":1}}"#);
        })
        .await;
    let e = lclient(&server.base_url())
        .transfers()
        .create(&req)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("payout-7"));
    assert_eq!(m.calls_async().await, 1);
}

#[tokio::test]
async fn legacy_withdrawal_sends_exact_body() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/app/withdrawal")
                .header("rocket-pay-key", LKEY)
                .body(format!(r#"{{"network":"TON","address":"{ADDRESS}","currency":"TONCOIN","amount":1.23,"withdrawalId":"abc-def","comment":"You are awesome!"}}"#));
            then.status(201).body(WITHDRAWAL);
        })
        .await;
    let w = lclient(&server.base_url())
        .withdrawals()
        .create(&withdrawal())
        .await
        .unwrap();
    m.assert_async().await;
    assert_eq!(w.withdrawal_id, "abc-def");
    assert_eq!(w.status, Some(WithdrawalStatus::Created));
    assert_eq!(w.amount, d("1.23"));
    assert!(!w.is_final());
}

#[tokio::test]
async fn legacy_withdrawal_status_and_wait() {
    let server = MockServer::start_async().await;
    let done = WITHDRAWAL.replace("CREATED", "COMPLETED").replace(
        r#""comment""#,
        r#""txHash":"h1","txLink":"https://tonviewer.com/h1","comment""#,
    );
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/app/withdrawal/status/abc-def")
                .header("rocket-pay-key", LKEY);
            then.status(201).body(done.clone());
        })
        .await;
    let c = lclient(&server.base_url());
    let w = c.withdrawals().get("abc-def").await.unwrap();
    assert_eq!(w.status, Some(WithdrawalStatus::Completed));
    assert_eq!(w.tx_hash.as_deref(), Some("h1"));
    let opts = PollOptions::default()
        .interval(Duration::from_millis(5))
        .timeout(Duration::from_millis(200));
    let w = c.withdrawals().wait_until_final("abc-def", &opts).await.unwrap();
    assert!(w.is_final());
    assert_eq!(m.calls_async().await, 2);

    let pending = server
        .mock_async(|when, then| {
            when.method(GET).path("/app/withdrawal/status/slow");
            then.status(201).body(WITHDRAWAL.replace("abc-def", "slow"));
        })
        .await;
    let e = c.withdrawals().wait_until_final("slow", &opts).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let last = e.last_state::<xrocket::legacy::Withdrawal>().unwrap();
    assert_eq!(last.status, Some(WithdrawalStatus::Created));
    assert!(pending.calls_async().await >= 2);

    // Path segments are percent-encoded.
    let enc = server
        .mock_async(|when, then| {
            when.method(GET).path("/app/withdrawal/status/a%2Fb");
            then.status(201).body(WITHDRAWAL);
        })
        .await;
    c.withdrawals().get("a/b").await.unwrap();
    enc.assert_async().await;
}

#[tokio::test]
async fn legacy_withdrawal_unknown_outcome_is_reconciled_by_withdrawal_id() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST).path("/app/withdrawal");
            then.status(500)
                .body(r#"{"success":false,"message":"Internal server error"}"#);
        })
        .await;
    let status = server
        .mock_async(|when, then| {
            when.method(GET).path("/app/withdrawal/status/abc-def");
            then.status(201).body(WITHDRAWAL);
        })
        .await;
    let w = lclient(&server.base_url())
        .withdrawals()
        .create(&withdrawal())
        .await
        .unwrap();
    assert_eq!(w.withdrawal_id, "abc-def");
    assert_eq!(post.calls_async().await, 1, "never re-sent");
    assert_eq!(status.calls_async().await, 1);
}

#[tokio::test]
async fn legacy_withdrawal_unknown_outcome_not_found_or_different_is_ambiguous() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST).path("/app/withdrawal");
            then.status(503);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/app/withdrawal/status/abc-def");
            then.status(404)
                .body(r#"{"success":false,"message":"Not found"}"#);
        })
        .await;
    let e = lclient(&server.base_url())
        .withdrawals()
        .create(&withdrawal())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("abc-def"));
    assert_eq!(post.calls_async().await, 1);

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/app/withdrawal");
            then.status(504);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/app/withdrawal/status/abc-def");
            then.status(201).body(WITHDRAWAL.replace("1.23", "9.99"));
        })
        .await;
    let e = lclient(&server.base_url())
        .withdrawals()
        .create(&withdrawal())
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Ambiguous,
        "another withdrawal under this id does not prove ours failed"
    );
    assert_eq!(e.field(), Some("amount"));
}

#[tokio::test]
async fn legacy_withdrawal_fees_and_link() {
    let server = MockServer::start_async().await;
    let fees = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/app/withdrawal/fees")
                .query_param("currency", "TONCOIN")
                .query_param_count(".*", ".*", 1)
                .header("rocket-pay-key", LKEY);
            then.status(200).body(
                r#"{"success":true,"data":[{"code":"TONCOIN","minWithdraw":0.001,"fees":[{"networkCode":"TON","feeWithdraw":{"fee":0.01,"currency":"TONCOIN"}}]}]}"#,
            );
        })
        .await;
    let c = lclient(&server.base_url());
    let coins = c
        .withdrawals()
        .fees(&GetWithdrawalFees::new().currency("TONCOIN"))
        .await
        .unwrap();
    fees.assert_async().await;
    assert_eq!(coins[0].code, "TONCOIN");
    assert_eq!(coins[0].fees[0].network_code, Network::Ton);
    assert_eq!(coins[0].fees[0].fee_withdraw.fee, d("0.01"));

    let link = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/withdrawal-link")
                .query_param("currency", "TONCOIN")
                .query_param("network", "TON")
                .query_param("address", ADDRESS)
                .query_param("amount", "1.23")
                .query_param("comment", "memo")
                .query_param_count(".*", ".*", 5)
                .header_missing("rocket-pay-key");
            then.status(200).body(
                r#"{"success":true,"data":{"telegramAppLink":"https://t.me/xrocket/app?startapp=w1"}}"#,
            );
        })
        .await;
    let l = keyless(&server.base_url())
        .withdrawals()
        .link(
            &GetWithdrawalLink::new("TONCOIN", Network::Ton, ADDRESS)
                .amount(d("1.230"))
                .comment("memo"),
        )
        .await
        .unwrap();
    link.assert_async().await;
    assert_eq!(l.telegram_app_link, "https://t.me/xrocket/app?startapp=w1");
}

const INVOICE: &str = r#"{"success":true,"data":{"id":3,"amount":5,"minPayment":5,"totalActivations":5,"activationsLeft":3,"payload":"order-42","commentsEnabled":false,"currency":"TONCOIN","created":"2025-06-26T12:00:00.000Z","status":"active","expiredIn":10,"link":"https://t.me/xRocket?start=inv_qwerty123","payments":[{"userId":"14357874663","paymentNum":2,"paymentAmount":2,"paymentAmountReceived":1.5,"comment":"","paid":"2025-06-26T12:10:00.000Z"}]}}"#;

#[tokio::test]
async fn legacy_invoice_create_sends_exact_body() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/tg-invoices")
                .header("rocket-pay-key", LKEY)
                .body(r#"{"amount":5.5,"numPayments":1,"currency":"TONCOIN","description":"Coffee","commentsEnabled":true,"payload":"order-42","expiredIn":3600}"#);
            then.status(201).body(INVOICE);
        })
        .await;
    let req = CreateInvoice::new("TONCOIN")
        .amount(d("5.50"))
        .description("Coffee")
        .comments_enabled(true)
        .payload("order-42")
        .expires_in(Duration::from_secs(3600));
    let inv = lclient(&server.base_url()).invoices().create(&req).await.unwrap();
    m.assert_async().await;
    assert_eq!(inv.id.as_str(), "3");
    assert_eq!(inv.status, InvoiceStatus::Active);
    assert_eq!(inv.expired_in, Some(10));
}

#[tokio::test]
async fn legacy_invoices_list_get_delete() {
    let server = MockServer::start_async().await;
    let list = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/tg-invoices")
                .query_param("limit", "100")
                .query_param("offset", "0")
                .query_param_count(".*", ".*", 2)
                .header("rocket-pay-key", LKEY);
            then.status(200).body(r#"{"success":true,"data":{"total":1,"limit":100,"offset":0,"results":[{"id":"12345","amount":null,"minPayment":1,"totalActivations":null,"activationsLeft":null,"description":null,"payload":null,"commentsEnabled":0,"currency":"USDT","created":"2025-06-26T10:00:00.000Z","paid":null,"status":"active","expiredIn":0,"link":"https://t.me/xRocket?start=inv_abc"}]}}"#);
        })
        .await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/tg-invoices/3")
                .header("rocket-pay-key", LKEY);
            then.status(200).body(INVOICE);
        })
        .await;
    let del = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/tg-invoices/3")
                .header("rocket-pay-key", LKEY);
            then.status(200).body(r#"{"success":true}"#);
        })
        .await;
    let c = lclient(&server.base_url());
    let page = c
        .invoices()
        .list(&ListInvoices::new().limit(100).offset(0))
        .await
        .unwrap();
    list.assert_async().await;
    assert_eq!(page.total, Some(1));
    assert_eq!(page.next, None);
    assert_eq!(page.items[0].id.as_str(), "12345");
    assert_eq!(page.items[0].comments_enabled, Some(false));
    assert_eq!(page.items[0].amount, None);
    let full = c.invoices().get("3").await.unwrap();
    get.assert_async().await;
    assert_eq!(full.invoice.payload.as_deref(), Some("order-42"));
    assert_eq!(full.payments[0].user_id, "14357874663");
    assert_eq!(full.payments[0].payment_amount_received, Some(d("1.5")));
    c.invoices().delete("3").await.unwrap();
    del.assert_async().await;
}

#[tokio::test]
async fn legacy_pages_stream_by_offset() {
    let server = MockServer::start_async().await;
    let item = |id: u32| json!({"id": id, "currency": "TONCOIN", "created": "2025-06-26T10:00:00.000Z", "status": "paid", "link": "l"});
    let p0 = server
        .mock_async(|when, then| {
            when.method(GET).path("/tg-invoices").query_param("limit", "2").query_param("offset", "0");
            then.status(200)
                .json_body(json!({"success": true, "data": {"total": 3, "limit": 2, "offset": 0, "results": [item(1), item(2)]}}));
        })
        .await;
    let p1 = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/tg-invoices")
                .query_param("limit", "2")
                .query_param("offset", "2");
            then.status(200).json_body(
                json!({"success": true, "data": {"total": 3, "limit": 2, "offset": 2, "results": [item(3)]}}),
            );
        })
        .await;
    let c = lclient(&server.base_url());
    let q = ListInvoices::new().limit(2);
    let ids: Vec<String> = c
        .invoices()
        .stream(&q)
        .map(|r| r.unwrap().id.into_string())
        .collect()
        .await;
    assert_eq!(ids, ["1", "2", "3"]);
    p0.assert_async().await;
    p1.assert_async().await;
}

const CHEQUE: &str = r#"{"success":true,"data":{"id":10,"currency":"TONCOIN","total":10,"perUser":10,"users":10,"password":"pwd","description":"best cheque","sendNotifications":true,"captchaEnabled":true,"refProgramPercents":50,"refRewardPerUser":0.0025,"state":"active","link":"https://t.me/xRocket?start=mc_qwerty123","disabledLanguages":["NL","FR"],"enabledCountries":["GB","DZ"],"forPremium":0,"forNewUsersOnly":0,"linkedWallet":0,"tgResources":[{"telegramId":"-1001799549067","name":"xRocket News","username":"ton_rocket"}],"activations":0,"refRewards":0}}"#;

#[tokio::test]
async fn legacy_cheque_create_sends_exact_body() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/multi-cheque")
                .header("rocket-pay-key", LKEY)
                .body(r#"{"currency":"TONCOIN","chequePerUser":0.05,"usersNumber":10,"refProgram":50,"password":"pwd","description":"best cheque","enableCaptcha":true,"telegramResourcesIds":["-1001799549067"],"forPremium":false,"disabledLanguages":["NL","FR"],"enabledCountries":["GB","DZ"]}"#);
            then.status(201).body(CHEQUE);
        })
        .await;
    let req = CreateCheque::new("TONCOIN", d("0.05"), 10)
        .ref_program(50)
        .password("pwd")
        .description("best cheque")
        .enable_captcha(true)
        .telegram_resources_ids(["-1001799549067"])
        .for_premium(false)
        .disabled_languages(["NL", "FR"])
        .enabled_countries(["GB", "DZ"]);
    let c = lclient(&server.base_url()).cheques().create(&req).await.unwrap();
    m.assert_async().await;
    assert_eq!(c.cheque.id.as_str(), "10");
    assert_eq!(c.cheque.state, ChequeState::Active);
    assert_eq!(c.cheque.for_premium, Some(false));
    assert_eq!(c.cheque.enabled_countries, ["GB", "DZ"]);
    assert_eq!(c.tg_resources[0].telegram_id, "-1001799549067");
    assert_eq!(c.cheque.ref_reward_per_user, Some(d("0.0025")));
}

#[tokio::test]
async fn legacy_cheque_create_is_never_resent() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/multi-cheque");
            then.status(502);
        })
        .await;
    let e = lclient(&server.base_url())
        .cheques()
        .create(&CreateCheque::new("TONCOIN", d("0.05"), 10))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(m.calls_async().await, 1);
}

#[tokio::test]
async fn legacy_cheques_list_get_update_delete() {
    let server = MockServer::start_async().await;
    let list = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/multi-cheque")
                .query_param("limit", "50")
                .query_param_count(".*", ".*", 1)
                .header("rocket-pay-key", LKEY);
            then.status(200).body(r#"{"success":true,"data":{"total":5,"limit":100,"offset":0,"results":[{"id":413426,"currency":"TONCOIN","total":0.01,"perUser":0.01,"users":1,"description":"","state":"active","activations":0}]}}"#);
        })
        .await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET).path("/multi-cheque/10");
            then.status(200).body(CHEQUE);
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path("/multi-cheque/10")
                .header("rocket-pay-key", LKEY)
                .body(r#"{"description":"new text","sendNotifications":false}"#);
            // The SDK's form: booleans and a lone country string.
            then.status(200).body(
                CHEQUE
                    .replace(r#""forPremium":0"#, r#""forPremium":true"#)
                    .replace(r#""enabledCountries":["GB","DZ"]"#, r#""enabledCountries":"GB""#),
            );
        })
        .await;
    let del = server
        .mock_async(|when, then| {
            when.method(DELETE).path("/multi-cheque/10");
            then.status(200).body(r#"{"success":true}"#);
        })
        .await;
    let c = lclient(&server.base_url());
    let page = c.cheques().list(&ListCheques::new().limit(50)).await.unwrap();
    list.assert_async().await;
    assert_eq!(page.total, Some(5));
    assert_eq!(page.next, Some(1), "total 5, one item seen");
    assert_eq!(page.items[0].id.as_str(), "413426");
    assert_eq!(page.items[0].description.as_deref(), Some(""));
    assert_eq!(page.items[0].link, None);
    let one = c.cheques().get("10").await.unwrap();
    get.assert_async().await;
    assert_eq!(
        one.cheque.password.as_ref().map(|p| p.expose_secret()),
        Some("pwd")
    );
    assert!(
        !format!("{one:?}").contains("pwd"),
        "a cheque's password is masked in Debug"
    );
    assert!(!serde_json::to_string(&one).unwrap().contains("pwd"));
    let upd = c
        .cheques()
        .update(
            &UpdateCheque::new("10")
                .description("new text")
                .send_notifications(false),
        )
        .await
        .unwrap();
    put.assert_async().await;
    assert_eq!(upd.cheque.for_premium, Some(true));
    assert_eq!(upd.cheque.enabled_countries, ["GB"]);
    c.cheques().delete("10").await.unwrap();
    del.assert_async().await;
}

#[tokio::test]
async fn legacy_currencies_without_a_token() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/currencies/available").header_missing("rocket-pay-key");
            then.status(200).body(r#"{"success":true,"data":{"results":[{"currency":"TONCOIN","name":"TON","minTransfer":0.001,"minCheque":0.001,"minInvoice":0.001,"minWithdraw":0.001,"feeWithdraw":{"currency":"TONCOIN","networks":[{"networkCode":"TON","feeWithdraw":{"fee":0.001,"currency":"TONCOIN"}}]}}]}}"#);
        })
        .await;
    let coins = keyless(&server.base_url()).currencies().list().await.unwrap();
    m.assert_async().await;
    assert_eq!(coins[0].currency, "TONCOIN");
    assert_eq!(coins[0].min_withdraw, d("0.001"));
    let fee = coins[0].fee_withdraw.as_ref().unwrap();
    assert_eq!(fee.networks[0].fee_withdraw.fee, d("0.001"));
}

#[tokio::test]
async fn legacy_error_envelope_keeps_message_and_field_errors() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/multi-cheque");
            then.status(400).body(r#"{"success":false,"message":"Bad request","errors":[{"property":"refProgram","error":"refProgram must not be greater than 100"},{"property":"usersNumber","error":"usersNumber must be a positive number"}]}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/app/info");
            then.status(401)
                .body(r#"{"success":false,"message":"Unauthorized"}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/app/transfer");
            then.status(400)
                .body(r#"{"success":false,"message":"User not found"}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/multi-cheque/9");
            // A failure inside a 200.
            then.status(200)
                .body(r#"{"success":false,"message":"Cheque not found"}"#);
        })
        .await;
    let c = lclient(&server.base_url());
    let e = c
        .cheques()
        .create(&CreateCheque::new("TONCOIN", d("0.05"), 10))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(e.status(), Some(400));
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::BadRequest));
    let f = FieldError::of(&e);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].property, "refProgram");
    assert_eq!(f[0].error, "refProgram must not be greater than 100");
    assert_eq!(f[1].property, "usersNumber");
    assert!(e.message().starts_with("Bad request"), "{}", e.message());

    let e = c.app().info().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::Unauthorized));
    assert!(e.message().contains("Rocket-Pay-Key"));

    let e = c
        .transfers()
        .create(&CreateTransfer::new(404, "TONCOIN", Decimal::ONE))
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::UserNotFound));
    assert_ne!(e.kind(), ErrorKind::Ambiguous, "a 400 is a definite refusal");
    assert!(FieldError::of(&e).is_empty());
    // The codes of the two APIs never mix.
    assert_eq!(xrocket::ErrorCode::of(&e), None);

    let e = c.cheques().get("9").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(e.status(), Some(200));
    assert_eq!(e.message(), "Cheque not found");
}

#[tokio::test]
async fn legacy_wrong_shapes_are_decode_errors_never_empty_lists() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/tg-invoices");
            then.status(200)
                .body(r#"{"success":true,"data":{"total":3,"limit":100,"offset":0}}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/multi-cheque");
            then.status(200).body(r#"{"success":true}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/currencies/available");
            then.status(200).body(r#"{"results":[]}"#);
        })
        .await;
    let c = lclient(&server.base_url());
    let e = c.invoices().list(&ListInvoices::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert_eq!(e.status(), Some(200));
    let e = c.cheques().list(&ListCheques::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.message().contains("data"), "{}", e.message());
    let e = c.currencies().list().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.message().contains("success"), "{}", e.message());
}

#[tokio::test]
async fn legacy_token_never_leaks() {
    let capture = LogCapture::start();
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/app/info");
            then.status(401)
                .body(format!(r#"{{"success":false,"message":"bad key {LKEY}"}}"#));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/app/transfer");
            then.status(200)
                .body(format!(r#"{{"success":false,"message":"nope {LKEY}","errors":[{{"property":"k","error":"{LKEY}"}}]}}"#));
        })
        .await;
    const PW: &str = "cheque-PASSWORD-legacy-never-logged";
    server
        .mock_async(|when, then| {
            // The password is on the wire, where it belongs ...
            when.method(POST).path("/multi-cheque").body_includes(format!(r#""password":"{PW}""#));
            // ... and a provider echoing it back must not make us leak it.
            then.status(400)
                .body(format!(r#"{{"success":false,"message":"bad password {PW}","errors":[{{"property":"password","error":"{PW} is weak"}}]}}"#));
        })
        .await;
    let c = lclient(&server.base_url());
    let cheque = CreateCheque::new("TONCOIN", Decimal::ONE, 1).password(PW);
    let e3 = c.cheques().create(&cheque).await.unwrap_err();
    assert_eq!(e3.status(), Some(400), "the mock saw the password in the body");
    let stored = serde_json::to_string(&cheque).unwrap();
    let e1 = c.app().info().await.unwrap_err();
    let e2 = c
        .transfers()
        .create(&CreateTransfer::new(1, "TONCOIN", Decimal::ONE))
        .await
        .unwrap_err();
    let verifier = xrocket::legacy::webhook::Verifier::new(LKEY);
    let secrets = [("legacy token", LKEY), ("cheque password", PW)];
    for (what, text) in [
        ("client Debug", format!("{c:?}")),
        ("builder Debug", format!("{:?}", Client::builder().api_key(LKEY))),
        ("verifier Debug", format!("{verifier:?}")),
        ("error Display", format!("{e1} {e2} {e3}")),
        ("error Debug", format!("{e1:?} {e2:?} {e3:?}")),
        (
            "cheque Debug",
            format!("{cheque:?} {:?}", UpdateCheque::new("1").password(PW)),
        ),
        ("cheque journal form", stored),
        ("cheque field errors", format!("{:?}", FieldError::of(&e3))),
        ("field errors", format!("{:?}", FieldError::of(&e2))),
        ("logs", capture.contents()),
    ] {
        assert_no_secret(&text, &secrets, what);
    }
    assert!(
        capture.contents().contains("app/info"),
        "the capture saw the calls"
    );
}
