//! The xRocket Pay integration flow end to end: app info, balances, an invoice, a cheque, a
//! transfer, and a webhook check.
//!
//! ```sh
//! export XROCKET_API_KEY=...                                          # from the testnet bot
//! export XROCKET_BASE_URL=https://pay.api.testnet.xrocket.exchange    # omit for production
//! export XROCKET_TRANSFER_TO=87209764                                 # optional: a Telegram user id
//! cargo run -p xrocket --example quickstart
//! ```
//!
//! Without `XROCKET_TRANSFER_TO` no funds leave the app (the cheque is cancelled at the end).

use std::time::{SystemTime, UNIX_EPOCH};

use xrocket::webhook::{EventKind, Verifier, sign};
use xrocket::{Asset, Client, CreateCheque, CreateInvoice, CreateTransfer, Decimal, Lookup};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    println!("creating invoice {}", invoice.client_id());
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
        let id = transfer.client_id().to_string();
        match client.transfers().create(&transfer).await {
            Ok(t) => println!("transfer {} is {:?}", t.transfer_id, t.status),
            Err(e) if e.may_have_succeeded() || e.is_retryable() => {
                // Safe to look up (or to re-send the same `transfer` value): same client id.
                let t = client.transfers().get(Lookup::client_id(&id)).await?;
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
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)?
        .as_millis()
        .to_string();
    let headers = [
        ("Signature", sign(&secret, &ts, body.as_bytes())),
        ("Signature-Timestamp", ts),
        ("Signature-Version", "v1".to_string()),
    ];
    let event = Verifier::new(secret).verify(&headers, body.as_bytes())?.parse()?;
    if let EventKind::InvoiceStatusChanged { invoice } = &event.kind {
        println!(
            "webhook {}: invoice {} is {}",
            event.id, invoice.id, invoice.status
        );
    }
    Ok(())
}
