//! The documented flow end to end against the offline sandbox, and one fault scenario per
//! money-moving endpoint proving from the sandbox's own record (requests, objects, balances)
//! that nothing is created or paid twice.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use xrocket::sandbox::{
    BLOCKED_TELEGRAM_USER, Fault, SANDBOX_WEBHOOK_SECRET, Sandbox, SignedWebhook, UNKNOWN_TELEGRAM_USER,
    WebhookInbox,
};
use xrocket::webhook::{EventKind, Verifier};
use xrocket::{
    Asset, ChequeState, CreateCheque, CreateInvoice, CreateTransfer, CreateWithdrawal, CurrencyKind, Decimal,
    ErrorCode, ErrorKind, HealthStatus, InvoiceStatus, ListInvoicePayments, ListTransfers, MassTransfer,
    MassTransferItem, Network, PaymentStatus, RatesQuery, RetryPolicy, TransferNaming, TransferStatus,
    UpdateCheque, WithdrawalLinkRequest, WithdrawalStatus,
};

const TON_ADDRESS: &str = "UQBvI0aFLnw2QbZgjMPCLRdtRHxhUyinQudg6sdiohIwg5jL";

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The `clientXxxId` of every recorded POST to `path`.
fn posted_client_ids(sandbox: &Sandbox, path: &str, key: &str) -> Vec<String> {
    sandbox
        .server()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .map(|r| r.json().unwrap()[key].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn documented_flow_with_signed_webhooks() {
    let sandbox = Sandbox::start().await.unwrap();
    let inbox = WebhookInbox::start().await.unwrap();
    sandbox.set_webhook_url(inbox.url());
    let client = sandbox.client();
    let verifier = Verifier::new(sandbox.webhook_secret());

    assert_eq!(client.health().await.unwrap().status, HealthStatus::Ok);
    assert_eq!(client.app().info().await.unwrap().name, "xRocket sandbox app");
    let usdt = |b: &[xrocket::Balance]| b.iter().find(|b| b.asset == Asset::Usdt).cloned().unwrap();
    let start = usdt(&client.app().balances().await.unwrap());
    assert_eq!(start.balance, d("1000"));

    let fiat = client.currencies().list(Some(CurrencyKind::Fiat)).await.unwrap();
    assert!(fiat.iter().all(|c| c.kind == Some(CurrencyKind::Fiat)) && !fiat.is_empty());
    let rates = client
        .currencies()
        .rates(&RatesQuery::new("USD").assets(["TONCOIN", "BTC"]))
        .await
        .unwrap();
    assert_eq!(rates.len(), 2);
    let q = client
        .withdrawals()
        .quotas(Network::Ton, Asset::Toncoin)
        .await
        .unwrap();
    assert_eq!((q.withdraw_fee, q.precision), (Some(d("0.01")), Some(9)));

    // Invoice: create, pay (testnet call), both invoice events, balance credited.
    let invoice = client
        .invoices()
        .create(&CreateInvoice::new("USDT", d("19.99")).client_invoice_id("order-1"))
        .await
        .unwrap();
    assert_eq!(invoice.status, InvoiceStatus::Active);
    assert!(invoice.links.telegram_bot_link.is_some());
    client.invoices().pay_test(&invoice.id).await.unwrap();
    let paid = client.invoices().by_client_id("order-1").await.unwrap();
    assert_eq!(paid.status, InvoiceStatus::Paid);
    let payments = client
        .invoices()
        .payments(&ListInvoicePayments::new(&invoice.id))
        .await
        .unwrap();
    assert_eq!(payments.items[0].status, PaymentStatus::Paid);
    assert_eq!(sandbox.balance("USDT").balance, d("1019.99"));
    let hooks = inbox.wait_for(2, Duration::from_secs(5)).await;
    let mut seen = Vec::new();
    for h in &hooks {
        match verifier
            .verify(&h.headers, &h.body)
            .unwrap()
            .parse()
            .unwrap()
            .kind
        {
            EventKind::PaymentStatusChanged { payment, .. } => {
                assert_eq!(payment.status, PaymentStatus::Paid);
                seen.push("payment");
            }
            EventKind::InvoiceStatusChanged { invoice } => {
                assert_eq!(invoice.status, InvoiceStatus::Paid);
                seen.push("invoice");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    seen.sort();
    assert_eq!(seen, ["invoice", "payment"]);
    let e = client.invoices().pay_test(&invoice.id).await.unwrap_err();
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::ValidationError));

    // Cheque: reserve, update, delete (released); another one redeemed (debited).
    let cheque = client
        .cheques()
        .create(&CreateCheque::new(Asset::Toncoin, d("2.5")).client_cheque_id("gift-1"))
        .await
        .unwrap();
    assert_eq!(sandbox.balance("TONCOIN").holds, d("2.5"));
    assert_eq!(sandbox.balance("TONCOIN").available, d("997.5"));
    let updated = client
        .cheques()
        .update(&cheque.cheque_id, &UpdateCheque::description("for you"))
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("for you"));
    client.cheques().delete(&cheque.cheque_id).await.unwrap();
    assert_eq!(sandbox.balance("TONCOIN").holds, Decimal::ZERO);
    assert!(client.cheques().get(&cheque.cheque_id).await.unwrap().deleted);
    let gift = client
        .cheques()
        .create(&CreateCheque::new(Asset::Toncoin, d("1")))
        .await
        .unwrap();
    assert!(sandbox.redeem_cheque(&gift.cheque_id).await);
    assert_eq!(
        client.cheques().get(&gift.cheque_id).await.unwrap().state,
        ChequeState::Completed
    );
    assert_eq!(sandbox.balance("TONCOIN").balance, d("999"));
    let e = client.cheques().delete(&gift.cheque_id).await.unwrap_err();
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::ChequeAlreadyUsed));

    // Transfer: debited at once, pending -> finished with a webhook.
    let t = client
        .transfers()
        .create(&CreateTransfer::to_telegram_user(
            87209764,
            Asset::Toncoin,
            d("1.23"),
        ))
        .await
        .unwrap();
    assert_eq!(t.status, Some(TransferStatus::Pending));
    assert_eq!(sandbox.balance("TONCOIN").balance, d("997.77"));

    // Withdrawal: amount + fee held, then debited when it completes.
    let w = client
        .withdrawals()
        .create(&CreateWithdrawal::new(
            Network::Ton,
            TON_ADDRESS,
            Asset::Toncoin,
            d("2.5"),
        ))
        .await
        .unwrap();
    assert_eq!(w.status, WithdrawalStatus::Created);
    assert_eq!(sandbox.balance("TONCOIN").holds, d("2.51"));
    let link = client
        .withdrawals()
        .link(&WithdrawalLinkRequest::new(
            Network::Ton,
            TON_ADDRESS,
            Asset::Toncoin,
            d("1"),
        ))
        .await
        .unwrap();
    assert!(!link.telegram_bot_link.is_empty());

    // Two invoice events, then the cheque deleted and the cheque redeemed.
    let before = inbox.wait_for(4, Duration::from_secs(5)).await.len();
    assert_eq!(before, 4);
    assert_eq!(sandbox.advance().await.len(), 2);
    let hooks = inbox.wait_for(before + 2, Duration::from_secs(5)).await;
    let mut kinds = Vec::new();
    for h in &hooks[before..] {
        match verifier
            .verify(&h.headers, &h.body)
            .unwrap()
            .parse()
            .unwrap()
            .kind
        {
            EventKind::Transfer(x) => {
                assert_eq!(x.status, Some(TransferStatus::Finished));
                kinds.push("transfer");
            }
            EventKind::Withdrawal(x) => {
                assert_eq!(x.status, WithdrawalStatus::Completed);
                assert!(x.tx_hash.is_some());
                kinds.push("withdrawal");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(kinds, ["transfer", "withdrawal"]);
    let done = client.withdrawals().get(&w.withdrawal_id).await.unwrap();
    assert_eq!(done.status, WithdrawalStatus::Completed);
    assert_eq!(sandbox.balance("TONCOIN").balance, d("995.26"));
    assert_eq!(sandbox.balance("TONCOIN").holds, Decimal::ZERO);

    // Cursor pagination: pages of one follow pagination.next.
    for n in 0..3 {
        client
            .transfers()
            .create(&CreateTransfer::to_telegram_user(1000 + n, Asset::Usdt, d("1")))
            .await
            .unwrap();
    }
    let first = client
        .transfers()
        .list(&ListTransfers::new().limit(1))
        .await
        .unwrap();
    assert_eq!((first.items.len(), first.total), (1, Some(4)));
    assert!(first.next.is_some());
    let all: Vec<_> = client
        .transfers()
        .stream(ListTransfers::new().limit(1))
        .collect()
        .await;
    assert_eq!(all.len(), 4);
}

#[tokio::test]
async fn wrong_token_is_a_401_problem() {
    let sandbox = Sandbox::start().await.unwrap();
    let c = xrocket::Client::builder()
        .api_key("not-the-token")
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let e = c.app().balances().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(e.status(), Some(401));
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::Unauthorized));
    assert!(e.request_id().unwrap().starts_with("/api/problems/instances/"));
    let r = &sandbox.server().requests()[0];
    assert_eq!(r.header("authorization"), Some("Bearer not-the-token"));
    // Public calls still work without a token.
    let anon = xrocket::Client::builder()
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    assert!(!anon.currencies().list(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_input_gets_the_documented_problem_codes() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let code = |e: xrocket::Error| ErrorCode::of(&e).unwrap();

    sandbox.set_balance("BTC", d("0.001"));
    let e = client
        .transfers()
        .create(&CreateTransfer::to_telegram_user(1, Asset::Btc, d("1")))
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::AmountMoreThanAppBalance);
    let e = client
        .transfers()
        .create(&CreateTransfer::to_telegram_user(
            UNKNOWN_TELEGRAM_USER,
            Asset::Usdt,
            d("1"),
        ))
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::TargetUserNotFound);
    let e = client
        .withdrawals()
        .create(&CreateWithdrawal::new(
            Network::Ton,
            "UQ-too-short",
            Asset::Toncoin,
            d("1"),
        ))
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::WithdrawalIncorrectAddress);
    let e = client
        .withdrawals()
        .create(&CreateWithdrawal::new(
            Network::Ton,
            TON_ADDRESS,
            Asset::Toncoin,
            d("0.01"),
        ))
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::AmountLessThanMinimum);
    let e = client
        .withdrawals()
        .create(&CreateWithdrawal::new(
            Network::Btc,
            TON_ADDRESS,
            Asset::Toncoin,
            d("1"),
        ))
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::WithdrawalAssetNotAllowed);
    let e = client.invoices().get("nope").await.unwrap_err();
    assert_eq!(
        (e.kind(), code(e)),
        (ErrorKind::NotFound, ErrorCode::InvoiceNotFound)
    );

    // Invoices expire on the sandbox's clock; paying one afterwards is refused.
    let inv = client
        .invoices()
        .create(&CreateInvoice::new("USD", d("5")).expires_in_ms(60_000))
        .await
        .unwrap();
    sandbox.advance_clock(Duration::from_secs(61)).await;
    assert_eq!(
        client.invoices().get(&inv.id).await.unwrap().status,
        InvoiceStatus::Expired
    );
    let e = client.invoices().pay_test(&inv.id).await.unwrap_err();
    assert_eq!(code(e), ErrorCode::InvoiceExpired);

    // Amounts travel as strings; a JSON number is refused.
    let e = client
        .raw()
        .post::<_, serde_json::Value>(
            "/api/v1/cheques",
            &serde_json::json!({"asset": "USDT", "amount": 1.5, "clientChequeId": "n-1"}),
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::ValidationError);
    assert_eq!(sandbox.cheques_created(), 0);
}

#[tokio::test]
async fn scripted_rate_limit_answers_429_with_retry_after_and_the_client_waits() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.set_rate_limit(2, Duration::from_secs(1));
    let client = sandbox.client();
    let started = Instant::now();
    for _ in 0..3 {
        client.app().balances().await.unwrap();
    }
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(sandbox.server().count("GET", "/api/v1/balances"), 4);
    let no_retry = sandbox
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut refused = None;
    for _ in 0..3 {
        if let Err(e) = no_retry.app().balances().await {
            refused = Some(e);
            break;
        }
    }
    let e = refused.expect("the third call within the window is refused");
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::RateLimitExceeded));
    assert!(e.retry_after().is_some());
}

// ----- fault scenarios: transfers -----

#[tokio::test]
async fn transfer_500_before_processing_is_retried_and_paid_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/transfers", 1, Fault::Status(500));
    let req =
        CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, d("3")).client_transfer_id("pay-500");
    let t = sandbox.client().transfers().create(&req).await.unwrap();
    assert_eq!(t.client_transfer_id.as_deref(), Some("pay-500"));
    assert_eq!(sandbox.transfers_created(), 1);
    assert_eq!(sandbox.balance("TONCOIN").balance, d("997"));
    assert_eq!(
        posted_client_ids(&sandbox, "/api/v1/transfers", "clientTransferId"),
        ["pay-500", "pay-500"]
    );
}

#[tokio::test]
async fn transfer_dropped_before_processing_is_retried_and_paid_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/transfers", 1, Fault::DropAfterRead);
    let req =
        CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, d("3")).client_transfer_id("pay-read");
    sandbox.client().transfers().create(&req).await.unwrap();
    assert_eq!(sandbox.transfers_created(), 1);
    assert_eq!(sandbox.balance("TONCOIN").balance, d("997"));
    assert_eq!(sandbox.server().count("POST", "/api/v1/transfers"), 2);
    assert!(
        sandbox.problems().is_empty(),
        "the first attempt never reached the books"
    );
}

#[tokio::test]
async fn transfer_500_after_processing_is_answered_taken_and_reconciled() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.fail_after_processing("POST", "/api/v1/transfers", 1, 500);
    let req =
        CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, d("3")).client_transfer_id("pay-500b");
    let t = sandbox.client().transfers().create(&req).await.unwrap();
    assert_eq!(t.amount, d("3"));
    assert_eq!(sandbox.transfers_created(), 1);
    assert_eq!(sandbox.balance("TONCOIN").balance, d("997"), "debited once");
    assert_eq!(
        posted_client_ids(&sandbox, "/api/v1/transfers", "clientTransferId"),
        ["pay-500b", "pay-500b"]
    );
    // The retry was refused as a duplicate, so the crate read the transfer back by client id.
    assert_eq!(
        sandbox.problems(),
        [
            "POST /api/v1/transfers internal_error",
            "POST /api/v1/transfers client_id_already_taken"
        ]
    );
    assert_eq!(sandbox.server().count("GET", "/api/v1/transfer"), 1);
}

#[tokio::test]
async fn transfer_response_lost_after_processing_is_reconciled_and_paid_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/transfers", 1, Fault::DropAfterProcessing);
    let req = CreateTransfer::to_telegram_user(87209764, Asset::Usdt, d("10")).client_transfer_id("pay-drop");
    let t = sandbox.client().transfers().create(&req).await.unwrap();
    assert_eq!(t.transfer_id, sandbox.transfer("pay-drop").unwrap().transfer_id);
    assert_eq!(sandbox.transfers_created(), 1);
    assert_eq!(sandbox.balance("USDT").balance, d("990"));
    assert_eq!(sandbox.server().count("POST", "/api/v1/transfers"), 2);
    assert_eq!(
        sandbox.problems(),
        ["POST /api/v1/transfers client_id_already_taken"]
    );
    assert_eq!(sandbox.server().count("GET", "/api/v1/transfer"), 1);

    // The caller re-sending the same value later still pays once.
    sandbox.client().transfers().create(&req).await.unwrap();
    assert_eq!(sandbox.transfers_created(), 1);
    assert_eq!(sandbox.balance("USDT").balance, d("990"));

    // A reused client id for another amount is refused; nothing moves.
    let other =
        CreateTransfer::to_telegram_user(87209764, Asset::Usdt, d("11")).client_transfer_id("pay-drop");
    let e = sandbox.client().transfers().create(&other).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(sandbox.balance("USDT").balance, d("990"));
}

#[tokio::test]
async fn transfer_under_payout_naming_is_reconciled_too() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox
        .client_builder()
        .transfer_naming(TransferNaming::Payouts)
        .build()
        .unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/payouts", 1, Fault::DropAfterProcessing);
    let req = CreateTransfer::to_telegram_user(5, Asset::Usdt, d("2")).client_transfer_id("po-1");
    let t = client.transfers().create(&req).await.unwrap();
    assert_eq!(t.client_transfer_id.as_deref(), Some("po-1"));
    assert_eq!(sandbox.transfers_created(), 1);
    assert_eq!(sandbox.balance("USDT").balance, d("998"));
    assert_eq!(
        posted_client_ids(&sandbox, "/api/v1/payouts", "clientPayoutId"),
        ["po-1", "po-1"]
    );
    assert_eq!(sandbox.server().count("GET", "/api/v1/payout"), 1);
}

#[tokio::test]
async fn mass_transfer_retried_after_a_lost_response_pays_no_item_twice() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.set_balance("USDT", d("20"));
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/mass-transfers", 1, Fault::DropAfterProcessing);
    let batch = MassTransfer::new(Asset::Usdt)
        .item(MassTransferItem::new(111, d("5")).client_transfer_id("m-1"))
        .item(MassTransferItem::new(UNKNOWN_TELEGRAM_USER, d("1")).client_transfer_id("m-2"))
        .item(MassTransferItem::new(222, d("100")).client_transfer_id("m-3"))
        .item(MassTransferItem::new(333, d("3")).client_transfer_id("m-4"))
        .item(MassTransferItem::new(BLOCKED_TELEGRAM_USER, d("1")).client_transfer_id("m-5"));
    let client = sandbox.client();
    let r = client.transfers().mass(&batch).await.unwrap();
    let mut ok: Vec<_> = r
        .successes
        .iter()
        .map(|t| t.client_transfer_id.clone().unwrap())
        .collect();
    ok.sort();
    assert_eq!(ok, ["m-1", "m-4"]);
    let mut failed: Vec<_> = r
        .failures
        .iter()
        .map(|f| (f.client_transfer_id.clone().unwrap(), f.reason.code()))
        .collect();
    failed.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        failed,
        [
            ("m-2".to_string(), ErrorCode::TargetUserNotFound),
            ("m-3".to_string(), ErrorCode::AmountMoreThanAppBalance),
            ("m-5".to_string(), ErrorCode::PayoutUserBlocked),
        ]
    );
    assert_eq!(sandbox.server().count("POST", "/api/v1/mass-transfers"), 2);
    assert_eq!(sandbox.transfers_created(), 2);
    assert_eq!((sandbox.transfers_to("111"), sandbox.transfers_to("333")), (1, 1));
    assert_eq!(sandbox.balance("USDT").balance, d("12"));

    // Sending the same batch again (a restarted job) still pays nobody twice.
    let again = client.transfers().mass(&batch).await.unwrap();
    assert_eq!(again.successes.len(), 2);
    assert_eq!(sandbox.transfers_created(), 2);
    assert_eq!(sandbox.balance("USDT").balance, d("12"));
}

// ----- fault scenarios: withdrawals -----

fn withdrawal(id: &str) -> CreateWithdrawal {
    CreateWithdrawal::new(Network::Ton, TON_ADDRESS, Asset::Toncoin, d("10")).client_withdrawal_id(id)
}

#[tokio::test]
async fn withdrawal_500_before_processing_is_retried_and_held_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/withdrawals", 1, Fault::Status(500));
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/withdrawals", 1, Fault::HtmlPage(502));
    let w = sandbox
        .client()
        .withdrawals()
        .create(&withdrawal("wd-500"))
        .await
        .unwrap();
    assert_eq!(sandbox.withdrawals_created(), 1);
    assert_eq!(sandbox.balance("TONCOIN").holds, d("10.01"));
    assert_eq!(
        posted_client_ids(&sandbox, "/api/v1/withdrawals", "clientWithdrawalId"),
        ["wd-500", "wd-500", "wd-500"]
    );
    assert!(sandbox.complete_withdrawal(&w.withdrawal_id).await);
    assert!(!sandbox.fail_withdrawal(&w.withdrawal_id).await, "already final");
    assert_eq!(sandbox.balance("TONCOIN").balance, d("989.99"));
    assert_eq!(sandbox.balance("TONCOIN").holds, Decimal::ZERO);
}

#[tokio::test]
async fn withdrawal_500_after_processing_is_answered_taken_and_reconciled() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.fail_after_processing("POST", "/api/v1/withdrawals", 1, 500);
    let w = sandbox
        .client()
        .withdrawals()
        .create(&withdrawal("wd-500b"))
        .await
        .unwrap();
    assert_eq!(w.client_withdrawal_id.as_deref(), Some("wd-500b"));
    assert_eq!(sandbox.withdrawals_created(), 1);
    assert_eq!(sandbox.server().count("POST", "/api/v1/withdrawals"), 2);
    assert_eq!(
        sandbox.problems(),
        [
            "POST /api/v1/withdrawals internal_error",
            "POST /api/v1/withdrawals client_id_already_taken"
        ]
    );
    assert_eq!(sandbox.server().count("GET", "/api/v1/withdrawal"), 1);
    sandbox.advance().await;
    assert_eq!(sandbox.balance("TONCOIN").balance, d("989.99"), "debited once");
    assert_eq!(sandbox.balance("TONCOIN").holds, Decimal::ZERO);
}

#[tokio::test]
async fn withdrawal_response_lost_after_processing_is_reconciled_and_debited_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/withdrawals", 1, Fault::DropAfterProcessing);
    let w = sandbox
        .client()
        .withdrawals()
        .create(&withdrawal("wd-drop"))
        .await
        .unwrap();
    assert_eq!(
        w.withdrawal_id,
        sandbox.withdrawal("wd-drop").unwrap().withdrawal_id
    );
    assert_eq!(sandbox.withdrawals_created(), 1);
    assert_eq!(
        posted_client_ids(&sandbox, "/api/v1/withdrawals", "clientWithdrawalId"),
        ["wd-drop", "wd-drop"]
    );
    assert_eq!(
        sandbox.problems(),
        ["POST /api/v1/withdrawals client_id_already_taken"]
    );
    sandbox.advance().await;
    assert_eq!(sandbox.balance("TONCOIN").balance, d("989.99"));
}

#[tokio::test]
async fn failed_withdrawal_releases_its_hold() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.fail_withdrawals_to(TON_ADDRESS);
    let client = sandbox.client();
    let w = client.withdrawals().create(&withdrawal("wd-fail")).await.unwrap();
    sandbox.auto_advance(Duration::from_millis(20));
    let start = Instant::now();
    loop {
        let now = client.withdrawals().get(&w.withdrawal_id).await.unwrap();
        if now.status.is_final() {
            assert_eq!(now.status, WithdrawalStatus::Fail);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sandbox.balance("TONCOIN").balance, d("1000"));
    assert_eq!(sandbox.balance("TONCOIN").holds, Decimal::ZERO);
}

// ----- fault scenarios: cheques and invoices -----

#[tokio::test]
async fn cheque_response_lost_after_processing_reserves_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/cheques", 1, Fault::DropAfterProcessing);
    let req = CreateCheque::new(Asset::Usdt, d("7")).client_cheque_id("chq-1");
    let c = sandbox.client().cheques().create(&req).await.unwrap();
    assert_eq!(c.client_cheque_id.as_deref(), Some("chq-1"));
    assert_eq!(sandbox.cheques_created(), 1);
    assert_eq!(sandbox.balance("USDT").holds, d("7"), "reserved once");
    assert_eq!(
        posted_client_ids(&sandbox, "/api/v1/cheques", "clientChequeId"),
        ["chq-1", "chq-1"]
    );

    // A 503 after xRocket reserved the funds: the retry is answered taken and reconciled.
    sandbox.fail_after_processing("POST", "/api/v1/cheques", 1, 503);
    let req = CreateCheque::new(Asset::Usdt, d("3")).client_cheque_id("chq-2");
    sandbox.client().cheques().create(&req).await.unwrap();
    assert_eq!(sandbox.cheques_created(), 2);
    assert_eq!(sandbox.balance("USDT").holds, d("10"));
    assert_eq!(sandbox.server().count("POST", "/api/v1/cheques"), 4);
    assert_eq!(sandbox.server().count("GET", "/api/v1/cheque"), 2);
}

#[tokio::test]
async fn invoice_create_after_500_and_lost_response_exists_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/invoices", 1, Fault::Status(500));
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/invoices", 1, Fault::DropAfterProcessing);
    let req = CreateInvoice::new("TONCOIN", d("4")).client_invoice_id("inv-1");
    let inv = sandbox.client().invoices().create(&req).await.unwrap();
    assert_eq!(inv.id, sandbox.invoice("inv-1").unwrap().id);
    assert_eq!(sandbox.invoices_created(), 1);
    assert_eq!(sandbox.server().count("POST", "/api/v1/invoices"), 3);
    assert_eq!(sandbox.server().count("GET", "/api/v1/invoice"), 1);
    assert_eq!(
        sandbox.problems(),
        ["POST /api/v1/invoices client_id_already_taken"]
    );

    // Slower than the client's patience: the first attempt times out but is processed; the
    // retry (or the slow original) is refused as a duplicate. Still one invoice.
    let impatient = sandbox
        .client_builder()
        .attempt_timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    sandbox.server().fail_next_on(
        "POST",
        "/api/v1/invoices",
        1,
        Fault::Delay(Duration::from_millis(400)),
    );
    let req = CreateInvoice::new("USDT", d("1")).client_invoice_id("inv-slow");
    impatient.invoices().create(&req).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sandbox.invoices_created(), 2);
    assert_eq!(
        posted_client_ids(&sandbox, "/api/v1/invoices", "clientInvoiceId"),
        ["inv-1", "inv-1", "inv-1", "inv-slow", "inv-slow"]
    );
}

// ----- webhook builder -----

#[test]
fn signed_webhook_builder_verifies_with_the_crate_verifier() {
    let hook = SignedWebhook::new(
        "whsec-1",
        "transfer",
        serde_json::json!({"transferId": "7", "asset": "USDT", "amount": "1.5", "status": "finished"}),
    );
    let event = Verifier::new("whsec-1")
        .verify(&hook.headers, &hook.body)
        .unwrap()
        .parse()
        .unwrap();
    assert!(matches!(event.kind, EventKind::Transfer(t) if t.amount == d("1.5")));
    assert!(Verifier::new("other").verify(&hook.headers, &hook.body).is_err());
    assert!(
        Verifier::new("wrong")
            .secret("whsec-1")
            .verify(&hook.headers, &hook.body)
            .is_ok()
    );

    let stale_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64 - 600_000;
    let stale = SignedWebhook::from_body(SANDBOX_WEBHOOK_SECRET, stale_ms, hook.body.clone());
    assert!(
        Verifier::new(SANDBOX_WEBHOOK_SECRET)
            .verify(&stale.headers, &stale.body)
            .is_err()
    );

    let invoice: xrocket::Invoice = serde_json::from_value(serde_json::json!({
        "id": "55", "priceCurrency": "USDT", "status": "paid", "links": {}
    }))
    .unwrap();
    let h = SignedWebhook::invoice_status_changed("whsec-1", &invoice);
    let e = Verifier::new("whsec-1")
        .verify(&h.headers, &h.body)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        matches!(e.kind, EventKind::InvoiceStatusChanged { invoice } if invoice.status == InvoiceStatus::Paid)
    );
}

/// `advance()` names what it moved, and every recorded delivery carries the headers and raw
/// body that were sent: the crate's own Verifier accepts each one, and a changed byte fails.
#[tokio::test]
async fn every_delivery_verifies_with_the_verifier() {
    let sandbox = Sandbox::start().await.unwrap();
    let inbox = WebhookInbox::start().await.unwrap();
    sandbox.set_webhook_url(inbox.url());
    let client = sandbox.client();
    let t = client
        .transfers()
        .create(&CreateTransfer::to_telegram_user(
            87209764,
            Asset::Toncoin,
            d("1.5"),
        ))
        .await
        .unwrap();
    let w = client
        .withdrawals()
        .create(&CreateWithdrawal::new(
            Network::Ton,
            TON_ADDRESS,
            Asset::Toncoin,
            d("2"),
        ))
        .await
        .unwrap();
    let mut advanced = sandbox.advance().await;
    advanced.sort();
    let mut want = vec![t.transfer_id.to_string(), w.withdrawal_id.to_string()];
    want.sort();
    assert_eq!(advanced, want);
    assert!(sandbox.advance().await.is_empty());

    let deliveries = sandbox.deliveries();
    assert!(deliveries.len() >= 2, "{deliveries:?}");
    let verifier = Verifier::new(sandbox.webhook_secret());
    let mut kinds = Vec::new();
    for delivery in &deliveries {
        assert_eq!(delivery.status, Some(200));
        let event = verifier
            .verify(&delivery.header_map(), &delivery.body)
            .unwrap()
            .parse()
            .unwrap();
        kinds.push(match event.kind {
            EventKind::Transfer(_) => "transfer",
            EventKind::Withdrawal(_) => "withdrawal",
            _ => "other",
        });
        let mut tampered = delivery.body.to_vec();
        tampered.push(b' ');
        assert!(verifier.verify(&delivery.header_map(), &tampered).is_err());
    }
    assert!(
        kinds.contains(&"transfer") && kinds.contains(&"withdrawal"),
        "{kinds:?}"
    );
}

/// `Sandbox::pay_invoice` takes xRocket's invoice id (what `Invoice::id` holds); it used to look
/// it up among client invoice ids only and always answered false.
#[tokio::test]
async fn pay_invoice_finds_the_invoice_by_its_xrocket_id() {
    let sandbox = Sandbox::start().await.unwrap();
    let req = CreateInvoice::new("TONCOIN", d("4")).client_invoice_id("inv-pay-1");
    let inv = sandbox.client().invoices().create(&req).await.unwrap();
    assert!(sandbox.pay_invoice(&inv.id).await);
    let paid = sandbox.client().invoices().get(&inv.id).await.unwrap();
    assert_ne!(paid.status, inv.status, "paying must move the invoice on");
}
