//! The xRocket Pay integration flow end to end: app info, balances, an invoice, a cheque, a
//! transfer, and a webhook check.
//!
//! Offline, against the in-process sandbox (no token, no network, no Telegram bot):
//! ```sh
//! cargo run -p xrocket-pay --example quickstart
//! ```
//!
//! Against xRocket:
//! ```sh
//! export XROCKET_API_KEY=...                                          # from the testnet bot
//! export XROCKET_BASE_URL=https://pay.api.testnet.xrocket.exchange    # omit for production
//! export XROCKET_TRANSFER_TO=87209764                                 # optional: a Telegram user id
//! cargo run -p xrocket-pay --example quickstart
//! ```
//!
//! Without `XROCKET_TRANSFER_TO` no funds leave the app (the cheque is cancelled at the end).

use std::time::SystemTime;

use xrocket::webhook::{EventKind, Verifier, sign};
use xrocket::{Asset, Client, CreateCheque, CreateInvoice, CreateTransfer, Decimal, Keyed};

type BoxError = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    if std::env::var("XROCKET_API_KEY").is_ok_and(|k| !k.trim().is_empty()) {
        return online().await;
    }
    #[cfg(feature = "sandbox")]
    return offline::run().await;
    #[cfg(not(feature = "sandbox"))]
    {
        eprintln!(
            "XROCKET_API_KEY is not set. Run offline with `cargo run -p xrocket-pay --example quickstart`, or export a token (see the top of examples/quickstart.rs)."
        );
        std::process::exit(2);
    }
}

/// Against xRocket itself (testnet or production), with `XROCKET_API_KEY`.
async fn online() -> Result<(), BoxError> {
    let client = Client::from_env()?;
    println!("environment: {:?}", client.environment());

    let app = client.app().info().await?;
    println!("app {} ({})", app.name, app.id);
    for b in client.app().balances().await? {
        println!("  {:>10} {} (available {:?})", b.balance, b.asset, b.available);
    }

    // An invoice: store the client id with your order before sending.
    let invoice = CreateInvoice::new("USDT", Decimal::new(150, 2))
        .description("quickstart invoice")
        .expires_in_ms(15 * 60 * 1000);
    println!("creating invoice {}", invoice.key());
    let invoice = client.invoices().create(&invoice).await?;
    println!("  pay at {:?}", invoice.links.telegram_bot_link);

    // A cheque reserves funds until redeemed or cancelled.
    let cheque = CreateCheque::new(Asset::Toncoin, Decimal::new(1, 2)).description("quickstart cheque");
    let cheque = client.cheques().create(&cheque).await?;
    println!(
        "cheque {} at {:?}",
        cheque.cheque_id, cheque.links.telegram_bot_link
    );
    client.cheques().delete(&cheque.cheque_id).await?;
    println!("  cancelled; the funds are back on the balance");

    // A transfer is irreversible: only with an explicit recipient.
    if let Ok(to) = std::env::var("XROCKET_TRANSFER_TO") {
        let user: i64 = to.trim().parse()?;
        let transfer = CreateTransfer::to_telegram_user(user, Asset::Toncoin, Decimal::new(1, 2))
            .description("quickstart transfer");
        let id = transfer.key().to_string();
        match client.transfers().create(&transfer).await {
            Ok(t) => println!("transfer {} is {:?}", t.transfer_id, t.status),
            Err(e) if e.may_have_succeeded() || e.is_retryable() => {
                // Safe to look up (or to re-send the same `transfer` value): same client id.
                let t = client.transfers().by_client_id(&id).await?;
                println!("transfer {} found after `{e}`", t.transfer_id);
            }
            Err(e) => return Err(e.into()),
        }
    }

    // Webhooks: this is what your HTTP handler does with the raw body and headers.
    let secret = std::env::var("XROCKET_WEBHOOK_SECRET").unwrap_or_else(|_| "demo-webhook-secret".into());
    let body = format!(
        r#"{{"id":"demo-1","timestamp":"2026-01-01T00:00:00Z","type":"invoice","data":{{"event":"invoice_status_changed","invoice":{{"id":"{}","priceCurrency":"USDT","status":"paid","links":{{}}}}}}}}"#,
        invoice.id
    );
    let headers = sign(&secret, body.as_bytes(), SystemTime::now());
    let event = Verifier::new(secret).verify(&headers, body.as_bytes())?.parse()?;
    if let EventKind::InvoiceStatusChanged { invoice } = &event.kind {
        println!(
            "webhook {}: invoice {} is {}",
            event.id, invoice.id, invoice.status
        );
    }
    Ok(())
}

/// The same integration flow against the offline sandbox, as a short transcript.
#[cfg(feature = "sandbox")]
mod offline {
    use std::time::Duration;

    use xrocket::sandbox::{Fault, Sandbox, UNKNOWN_TELEGRAM_USER, WebhookInbox};
    use xrocket::webhook::{EventKind, Verifier};
    use xrocket::{
        Asset, CreateCheque, CreateInvoice, CreateTransfer, CreateWithdrawal, Decimal, MassTransfer,
        MassTransferItem, Network, PollOptions, RatesQuery, WithdrawalStatus,
    };

    use super::BoxError;

    const TON_ADDRESS: &str = "UQBvI0aFLnw2QbZgjMPCLRdtRHxhUyinQudg6sdiohIwg5jL";

    /// Verifies every webhook received since the last call (at least `want` in total) and
    /// prints one line per webhook.
    async fn webhooks(
        inbox: &WebhookInbox,
        verifier: &Verifier,
        seen: &mut usize,
        want: usize,
    ) -> Result<(), BoxError> {
        let got = inbox.wait_for(want, Duration::from_secs(5)).await;
        if got.len() < want {
            return Err(format!("expected {want} webhooks, got {}", got.len()).into());
        }
        for hook in &got[*seen..] {
            // Your handler: verify the raw body first, then parse, then deduplicate on event.id.
            let event = verifier.verify(&hook.headers, &hook.body)?.parse()?;
            let what = match &event.kind {
                EventKind::InvoiceStatusChanged { invoice } => {
                    format!("invoice/invoice_status_changed ({})", invoice.status)
                }
                EventKind::PaymentStatusChanged { payment, .. } => {
                    format!("invoice/payment_status_changed ({})", payment.status)
                }
                EventKind::Cheque(c) if c.deleted => format!("cheque {} (deleted)", c.cheque_id),
                EventKind::Cheque(c) => format!("cheque {} ({})", c.cheque_id, c.state),
                EventKind::Transfer(t) => format!(
                    "transfer {} ({})",
                    t.transfer_id,
                    t.status.as_ref().map(|s| s.to_string()).unwrap_or_default()
                ),
                EventKind::Withdrawal(w) => format!("withdrawal {} ({})", w.withdrawal_id, w.status),
                other => format!("{other:?}"),
            };
            println!("<= webhook {what:<38} signature verified (Signature v1, HMAC-SHA256)");
        }
        *seen = got.len();
        Ok(())
    }

    pub(super) async fn run() -> Result<(), BoxError> {
        let sandbox = Sandbox::start().await?;
        let inbox = WebhookInbox::start().await?;
        sandbox.set_webhook_url(inbox.url());
        sandbox.auto_advance(Duration::from_millis(50));
        println!(
            "sandbox xRocket Pay at {} (no network, no credentials)",
            sandbox.base_url()
        );
        let client = sandbox.client();
        let verifier = Verifier::new(sandbox.webhook_secret());
        let mut seen = 0;

        let health = client.health().await?;
        println!("-> GET /health                     <- {}", health.status);
        let app = client.app().info().await?;
        println!(
            "-> GET /api/v1/app-info            <- app \"{}\" ({})",
            app.name, app.id
        );
        let balances = client.app().balances().await?;
        let list: Vec<String> = balances
            .iter()
            .map(|b| format!("{} {}", b.available.unwrap_or(b.balance), b.asset))
            .collect();
        println!(
            "-> GET /api/v1/balances            <- available: {}",
            list.join(", ")
        );
        let rates = client
            .currencies()
            .rates(&RatesQuery::new("USD").assets(["TONCOIN"]))
            .await?;
        if let Some(r) = rates.first() {
            println!(
                "-> GET /api/v1/rates               <- 1 {} = {} USD",
                r.currency, r.rate
            );
        }

        // An invoice your customer pays; store the client id with your order before sending.
        let invoice = client
            .invoices()
            .create(&CreateInvoice::new("USDT", Decimal::new(1999, 2)).client_invoice_id("order-1001"))
            .await?;
        println!(
            "-> POST /api/v1/invoices           <- {} invoice {} (19.99 USDT), pay at {}",
            invoice.status,
            invoice.id,
            invoice.links.telegram_bot_link.as_deref().unwrap_or("?")
        );
        client.invoices().pay_test(&invoice.id).await?;
        println!("-> PUT /api/v1/invoices/pay        <- ok (testnet-only test payment)");
        webhooks(&inbox, &verifier, &mut seen, 2).await?;
        let paid = client.invoices().get(&invoice.id).await?;
        println!(
            "-> GET /api/v1/invoice             <- {}; USDT balance now {}",
            paid.status,
            sandbox.balance("USDT").balance
        );

        // A cheque reserves funds until redeemed or cancelled.
        let cheque = client
            .cheques()
            .create(&CreateCheque::new(Asset::Toncoin, Decimal::new(25, 1)).description("quickstart cheque"))
            .await?;
        println!(
            "-> POST /api/v1/cheques            <- {} cheque {} ({} TONCOIN held)",
            cheque.state,
            cheque.cheque_id,
            sandbox.balance("TONCOIN").holds.normalize()
        );
        client.cheques().delete(&cheque.cheque_id).await?;
        println!(
            "-> DELETE /api/v1/cheques          <- cancelled ({} TONCOIN held)",
            sandbox.balance("TONCOIN").holds.normalize()
        );
        webhooks(&inbox, &verifier, &mut seen, 3).await?;

        // Transfers are irreversible: the client id makes every retry pay once.
        let transfer = CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, Decimal::new(123, 2))
            .client_transfer_id("payout-1001");
        let t = client.transfers().create(&transfer).await?;
        println!(
            "-> POST /api/v1/transfers          <- {} transfer {} (1.23 TONCOIN to 87209764)",
            t.status.as_ref().map(|s| s.to_string()).unwrap_or_default(),
            t.transfer_id
        );
        let batch = MassTransfer::new(Asset::Usdt)
            .item(MassTransferItem::new(111111, Decimal::new(5, 0)).client_transfer_id("bonus-1"))
            .item(MassTransferItem::new(222222, Decimal::new(5, 0)).client_transfer_id("bonus-2"))
            .item(
                MassTransferItem::new(UNKNOWN_TELEGRAM_USER, Decimal::new(5, 0))
                    .client_transfer_id("bonus-3"),
            );
        let r = client.transfers().mass(&batch).await?;
        let reasons: Vec<String> = r.failures.iter().map(|f| f.reason.code().to_string()).collect();
        println!(
            "-> POST /api/v1/mass-transfers     <- {} paid, {} failed ({})",
            r.successes.len(),
            r.failures.len(),
            reasons.join(", ")
        );

        // A withdrawal: check the quota first; amount + fee are held until it completes.
        let q = client.withdrawals().quotas(Network::Ton, Asset::Toncoin).await?;
        println!(
            "-> GET /api/v1/withdrawal-quotas   <- min {} TONCOIN, fee {} TONCOIN",
            q.withdraw_min_size.unwrap_or_default(),
            q.withdraw_fee.unwrap_or_default()
        );
        let w = client
            .withdrawals()
            .create(
                &CreateWithdrawal::new(Network::Ton, TON_ADDRESS, Asset::Toncoin, Decimal::new(25, 1))
                    .client_withdrawal_id("wd-1001"),
            )
            .await?;
        println!(
            "-> POST /api/v1/withdrawals        <- {} withdrawal {} ({} TONCOIN held)",
            w.status,
            w.withdrawal_id,
            sandbox.balance("TONCOIN").holds.normalize()
        );
        // Poll until COMPLETED or FAIL; at the deadline a Timeout error carries the last state.
        let poll = PollOptions::default()
            .interval(Duration::from_millis(25))
            .timeout(Duration::from_secs(5));
        let done = client
            .withdrawals()
            .wait_until_final(&w.withdrawal_id, &poll)
            .await?;
        println!(
            "-> GET /api/v1/withdrawal          <- {} (tx {})",
            done.status,
            done.tx_hash
                .as_deref()
                .map(|h| &h[h.len().saturating_sub(12)..])
                .unwrap_or("-")
        );
        if done.status != WithdrawalStatus::Completed {
            return Err("the withdrawal failed".into());
        }
        // transfer + 2 mass items finished, withdrawal completed.
        webhooks(&inbox, &verifier, &mut seen, 7).await?;

        // The promise that matters most: a lost response never pays twice.
        let before = sandbox.balance("TONCOIN").balance;
        let transfers = sandbox.transfers_created();
        sandbox
            .server()
            .fail_next_on("POST", "/api/v1/transfers", 1, Fault::DropAfterProcessing);
        let again = CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, Decimal::new(2, 0))
            .client_transfer_id("payout-1002");
        let t = client.transfers().create(&again).await?;
        let sent = sandbox.server().count("POST", "/api/v1/transfers") - 1;
        let debited = before - sandbox.balance("TONCOIN").balance;
        println!(
            "!! fault: connection dropped after xRocket made transfer {} -> re-sent with the same clientTransferId ({} POSTs), answered client_id_already_taken, reconciled by client id; {} new transfer, {} TONCOIN debited once",
            t.transfer_id,
            sent,
            sandbox.transfers_created() - transfers,
            debited.normalize()
        );
        let looked_up = sandbox.server().count("GET", "/api/v1/transfer");
        let refused = sandbox.problems().last().cloned().unwrap_or_default();
        if refused != "POST /api/v1/transfers client_id_already_taken" {
            return Err(format!("the retry was not refused as a duplicate: {refused}").into());
        }
        if sandbox.transfers_created() != transfers + 1 || debited != Decimal::new(2, 0) || looked_up != 1 {
            return Err("a transfer was paid twice".into());
        }
        Ok(())
    }
}
