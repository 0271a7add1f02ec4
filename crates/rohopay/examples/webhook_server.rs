//! A RohoPay webhook receiver on axum: the route from `rohopay::webhook::axum`, served on
//! 127.0.0.1, receiving real signed webhooks from the in-process sandbox over HTTP.
//!
//! ```text
//! cargo run -p rohopay --example webhook_server
//! ```
//! Offline, no key. In your service, mount the same `router(..)` in your app, give its HTTPS
//! URL as the transaction's `callback_url`, and verify with your webhook secret (Dashboard →
//! Webhooks; not the API key).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use payout_core::intake::axum;
use rohopay::sandbox::{SANDBOX_WEBHOOK_SECRET, Sandbox};
use rohopay::webhook::{Verifier, WebhookEvent};
use rohopay::{CollectRequest, Currency};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sandbox = Sandbox::start().await?;
    let client = sandbox.live_client();

    // What your handler sees: verified, deduplicated, typed events.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().merge(rohopay::webhook::axum::router(
        Verifier::new(SANDBOX_WEBHOOK_SECRET),
        move |event: WebhookEvent| {
            let log = log.clone();
            async move {
                let line = match event.transaction() {
                    Some(tx) => format!("{} for {}", event.event_type(), tx.internal_reference.as_str()),
                    None => format!("{} (no transaction decoded)", event.event_type()),
                };
                println!("   handler: {line}");
                log.lock().map_err(|_| "poisoned")?.push(line);
                Ok::<(), BoxError>(())
            }
        },
    ));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!(
        "http://{}{}",
        listener.local_addr()?,
        rohopay::webhook::axum::DEFAULT_PATH
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    sandbox.set_webhook_url(&url);
    println!("listening on {url}");

    let collected = client
        .mobile_money()
        .collect(&CollectRequest::new("256712345678", 50_000, Currency::Ugx).description("Order #1001"))
        .await?;
    println!(
        "-> POST /api/v1/collect  <- {} pending",
        collected.transaction.internal_reference.as_str()
    );
    sandbox.advance().await; // pending -> successful: a signed `deposit.successful`

    for _ in 0..100 {
        if !seen.lock().map_err(|_| "poisoned")?.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = sandbox
        .deliveries()
        .into_iter()
        .next()
        .ok_or("no webhook was delivered")?;
    println!("<- webhook {} answered {:?}", first.label, first.status);

    // RohoPay retries a delivery it thinks failed: the retry is answered 200, not handled twice.
    let http = payout_core::reqwest::Client::new();
    for _ in 0..3 {
        let retry = http
            .post(&url)
            .headers(first.header_map())
            .body(first.body.clone())
            .send()
            .await?;
        println!("redelivered: answered {}", retry.status());
    }
    // A forged one is refused before the handler.
    let forged = http
        .post(&url)
        .header("x-rohopay-signature", format!("sha256={}", "0".repeat(64)))
        .body(first.body.clone())
        .send()
        .await?;
    println!("forged webhook: answered {}", forged.status());

    let handled = seen.lock().map_err(|_| "poisoned")?.len();
    println!("handler ran {handled} time(s) for 5 deliveries");
    if handled != 1 {
        return Err(format!("expected 1 handled webhook, got {handled}").into());
    }
    Ok(())
}
