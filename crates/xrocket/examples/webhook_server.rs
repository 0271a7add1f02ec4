//! An xRocket Pay webhook receiver on axum: the route from `xrocket::webhook::axum`, served
//! on 127.0.0.1, receiving real signed webhooks from the in-process sandbox over HTTP.
//!
//! ```text
//! cargo run -p xrocket --example webhook_server
//! ```
//! Offline, no token. In your bot, mount the same `router(..)` in your app, set its HTTPS URL
//! as the app's webhook URL in the xRocket bot, and verify with the app's webhook secret
//! (not the API token).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use payout_core::intake::axum;
use xrocket::sandbox::{SANDBOX_WEBHOOK_SECRET, Sandbox};
use xrocket::webhook::{Event, EventKind, Verifier};
use xrocket::{CreateInvoice, Decimal};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sandbox = Sandbox::start().await?;
    let client = sandbox.client();

    // What your handler sees: verified, deduplicated, typed events.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().merge(xrocket::webhook::axum::router(
        Verifier::new(SANDBOX_WEBHOOK_SECRET),
        move |event: Event| {
            let log = log.clone();
            async move {
                let what = match &event.kind {
                    EventKind::InvoiceStatusChanged { invoice } => format!("invoice {:?}", invoice.status),
                    EventKind::PaymentStatusChanged { payment, .. } => {
                        format!("payment {:?}", payment.status)
                    }
                    other => format!("{other:?}"),
                };
                println!("   handler: event {} = {what}", event.id);
                log.lock().map_err(|_| "poisoned")?.push(event.id);
                Ok::<(), BoxError>(())
            }
        },
    ));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!(
        "http://{}{}",
        listener.local_addr()?,
        xrocket::webhook::axum::DEFAULT_PATH
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    sandbox.set_webhook_url(&url);
    println!("listening on {url}");

    let invoice = client
        .invoices()
        .create(&CreateInvoice::new("USDT", Decimal::new(1999, 2)).client_invoice_id("order-1"))
        .await?;
    println!("-> POST /api/v1/invoices  <- invoice {}", invoice.id);
    client.invoices().pay_test(&invoice.id).await?; // two signed invoice events follow

    for _ in 0..250 {
        // A delivery is listed as soon as it starts: wait until both have been answered.
        let answered = sandbox.deliveries().iter().filter(|d| d.status.is_some()).count();
        if seen.lock().map_err(|_| "poisoned")?.len() >= 2 && answered >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deliveries = sandbox.deliveries();
    for d in &deliveries {
        println!("<- webhook {:<40} answered {:?}", d.label, d.status);
    }

    // xRocket re-delivers until it reads 200, with the same event id: answered 200, not
    // handled twice.
    let first = deliveries.first().ok_or("no webhook was delivered")?;
    let http = payout_core::reqwest::Client::new();
    let again = http
        .post(&url)
        .headers(first.header_map())
        .body(first.body.clone())
        .send()
        .await?;
    println!("redelivered the first event: answered {}", again.status());

    // The same body signed ten minutes ago is outside xRocket's five-minute window: refused.
    let old = std::time::SystemTime::now() - Duration::from_secs(600);
    let stale = http
        .post(&url)
        .headers(xrocket::webhook::sign(SANDBOX_WEBHOOK_SECRET, &first.body, old))
        .body(first.body.clone())
        .send()
        .await?;
    println!("a stale signature: answered {}", stale.status());

    let handled = seen.lock().map_err(|_| "poisoned")?.len();
    println!(
        "handler ran {handled} time(s) for {} deliveries",
        deliveries.len() + 2
    );
    if handled != deliveries.len() {
        return Err(format!("expected {} handled events, got {handled}", deliveries.len()).into());
    }
    Ok(())
}
