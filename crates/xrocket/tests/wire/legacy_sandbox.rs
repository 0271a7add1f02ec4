//! The legacy sandbox: state, webhooks signed as xRocket signs them, and faults that make an
//! outcome unknown (the client must neither pay twice nor forget the payment).

use std::time::Duration;

use payout_core::sandbox::{Fault, WebhookInbox};
use xrocket::legacy::sandbox::{Sandbox, UNKNOWN_TELEGRAM_USER};
use xrocket::legacy::webhook::{EventKind, Verifier};
use xrocket::legacy::{
    ChequeState, CreateCheque, CreateInvoice, CreateTransfer, CreateWithdrawal, ErrorCode, InvoiceStatus,
    ListCheques, ListInvoices, Network, UpdateCheque, WithdrawalStatus,
};
use xrocket::{Decimal, ErrorKind, PollOptions};

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

const ADDR: &str = "EQB1cmpxb3R-YLA3HLDV01Rx6OHpMQA_7MOglhqL2CwJx_dz";

#[tokio::test]
async fn legacy_sandbox_moves_money_and_refuses_a_reused_id() {
    let sb = Sandbox::start().await.unwrap();
    let c = sb.client();
    assert_eq!(c.version().await.unwrap().version, "1.3.1");
    let info = c.app().info().await.unwrap();
    assert!(
        info.balances
            .iter()
            .any(|b| b.currency == "TONCOIN" && b.balance == d("1000"))
    );
    let req = CreateTransfer::new(87209764, "TONCOIN", d("1.25")).transfer_id("t-1");
    let t = c.transfers().create(&req).await.unwrap();
    assert_eq!(t.amount, d("1.25"));
    assert_eq!(sb.balance("TONCOIN"), d("998.75"));
    // The same transferId again: refused, nothing moves.
    let e = c.transfers().create(&req).await.unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert_eq!(sb.balance("TONCOIN"), d("998.75"));
    assert_eq!(sb.transfers_created(), 1);
    let e = c
        .transfers()
        .create(&CreateTransfer::new(
            UNKNOWN_TELEGRAM_USER,
            "TONCOIN",
            Decimal::ONE,
        ))
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::UserNotFound));
    let e = c
        .transfers()
        .create(&CreateTransfer::new(1, "TONCOIN", d("5000")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);

    // Withdrawals: created, advanced, completed; a failing address is refunded.
    let w = c
        .withdrawals()
        .create(&CreateWithdrawal::new(Network::Ton, ADDR, "TONCOIN", d("10")).withdrawal_id("w-1"))
        .await
        .unwrap();
    assert_eq!(w.status, Some(WithdrawalStatus::Created));
    assert_eq!(sb.balance("TONCOIN"), d("988.74"));
    sb.fail_withdrawals_to("bad-address");
    c.withdrawals()
        .create(&CreateWithdrawal::new(Network::Ton, "bad-address", "TONCOIN", d("1")).withdrawal_id("w-2"))
        .await
        .unwrap();
    assert_eq!(sb.advance().await, ["w-1", "w-2"]);
    let opts = PollOptions::default()
        .interval(Duration::from_millis(5))
        .timeout(Duration::from_secs(2));
    let done = c.withdrawals().wait_until_final("w-1", &opts).await.unwrap();
    assert_eq!(done.status, Some(WithdrawalStatus::Completed));
    assert!(done.tx_hash.is_some());
    let failed = c.withdrawals().get("w-2").await.unwrap();
    assert_eq!(failed.status, Some(WithdrawalStatus::Fail));
    assert_eq!(
        sb.balance("TONCOIN"),
        d("988.74"),
        "the failed withdrawal was refunded"
    );
    let fees = c.withdrawals().fees(&Default::default()).await.unwrap();
    assert!(fees.iter().any(|f| f.code == "TONCOIN"));
    assert!(!c.currencies().list().await.unwrap().is_empty());

    // Cheques reserve their total; a delete refunds the unclaimed part.
    let ch = c
        .cheques()
        .create(&CreateCheque::new("USDT", d("0.5"), 10).description("promo"))
        .await
        .unwrap();
    assert_eq!(ch.cheque.total, Some(d("5")));
    assert_eq!(sb.balance("USDT"), d("995"));
    let page = c.cheques().list(&ListCheques::new().limit(10)).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].state, ChequeState::Active);
    let upd = c
        .cheques()
        .update(&UpdateCheque::new(ch.cheque.id.clone()).description("promo 2"))
        .await
        .unwrap();
    assert_eq!(upd.cheque.description.as_deref(), Some("promo 2"));
    c.cheques().delete(ch.cheque.id.clone()).await.unwrap();
    assert_eq!(sb.balance("USDT"), d("1000"));
}

#[tokio::test]
async fn legacy_sandbox_invoice_payment_delivers_a_verifiable_webhook() {
    let sb = Sandbox::start().await.unwrap();
    let inbox = WebhookInbox::start().await.unwrap();
    sb.set_webhook_url(inbox.url());
    let c = sb.client();
    let inv = c
        .invoices()
        .create(
            &CreateInvoice::new("TONCOIN")
                .amount(d("5"))
                .payload("order-42")
                .expires_in(Duration::from_secs(600)),
        )
        .await
        .unwrap();
    assert_eq!(inv.status, InvoiceStatus::Active);
    assert!(sb.pay_invoice(inv.id.as_str(), 87209764, d("5")).await);
    let full = c.invoices().get(inv.id.clone()).await.unwrap();
    assert_eq!(full.invoice.status, InvoiceStatus::Paid);
    assert_eq!(full.payments.len(), 1);
    assert_eq!(full.payments[0].payment_amount_received, Some(d("4.925")));
    assert_eq!(sb.balance("TONCOIN"), d("1004.925"));
    let opts = PollOptions::default()
        .interval(Duration::from_millis(5))
        .timeout(Duration::from_secs(2));
    assert!(c.invoices().wait_until_final(inv.id.clone(), &opts).await.is_ok());

    let deliveries = sb.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, Some(200));
    let event = Verifier::new(sb.api_key())
        .verify(&deliveries[0].header_map(), &deliveries[0].body)
        .unwrap()
        .parse()
        .unwrap();
    match event.kind {
        EventKind::InvoicePay { invoice, payment } => {
            assert_eq!(invoice.payload.as_deref(), Some("order-42"));
            assert_eq!(payment.payment_amount, d("5"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(inbox.received().len(), 1);
    let page = c.invoices().list(&ListInvoices::new()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    c.invoices().delete(inv.id.clone()).await.unwrap();
    assert!(c.invoices().get(inv.id).await.is_err());
}

#[tokio::test]
async fn legacy_sandbox_faults_never_pay_twice() {
    let sb = Sandbox::start().await.unwrap();
    let c = sb.client();
    // The transfer is made, then the connection drops: Ambiguous, sent once, paid once.
    sb.server()
        .fail_next_on("POST", "/app/transfer", 1, Fault::DropAfterProcessing);
    let req = CreateTransfer::new(87209764, "TONCOIN", d("2")).transfer_id("t-drop");
    let e = c.transfers().create(&req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(sb.server().count("POST", "/app/transfer"), 1);
    assert_eq!(sb.transfers_created(), 1);
    assert_eq!(sb.balance("TONCOIN"), d("998"));

    // The withdrawal is made, then a 500: reconciled by withdrawalId, made once.
    sb.server()
        .fail_next_on("POST", "/app/withdrawal", 1, Fault::StatusAfterProcessing(500));
    let w = c
        .withdrawals()
        .create(&CreateWithdrawal::new(Network::Ton, ADDR, "TONCOIN", d("3")).withdrawal_id("w-500"))
        .await
        .unwrap();
    assert_eq!(w.withdrawal_id, "w-500");
    assert_eq!(sb.withdrawals_created(), 1);
    assert_eq!(sb.server().count("POST", "/app/withdrawal"), 1);

    // Refused before processing (503) and nothing was made: Ambiguous all the same, since
    // the client cannot know; the lookup finds nothing, and nothing was paid.
    sb.server()
        .fail_next_on("POST", "/app/withdrawal", 1, Fault::Status(503));
    let e = c
        .withdrawals()
        .create(&CreateWithdrawal::new(Network::Ton, ADDR, "TONCOIN", d("3")).withdrawal_id("w-503"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(sb.withdrawals_created(), 1);

    // A cheque whose answer is lost: Ambiguous, one cheque.
    sb.server()
        .fail_next_on("POST", "/multi-cheque", 1, Fault::DropAfterProcessing);
    let e = c
        .cheques()
        .create(&CreateCheque::new("TONCOIN", d("1"), 2))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(sb.cheques_created(), 1);
    assert_eq!(sb.server().count("POST", "/multi-cheque"), 1);

    // A wrong token.
    let bad = sb.client_builder().api_key("wrong").build().unwrap();
    assert_eq!(bad.app().info().await.unwrap_err().kind(), ErrorKind::Auth);
}
