//! A ROCheap callback receiver on axum: the route from `rocheap::webhook::axum`, served on
//! 127.0.0.1, receiving real signed callbacks from the in-process sandbox over HTTP.
//!
//! ```text
//! cargo run -p rocheap --example webhook_server
//! ```
//! Offline, no key. In your bot, mount the same `router(..)` in your app, give ROCheap its
//! URL in Business Settings, and verify with your API key.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use payout_core::intake::axum;
use rocheap::CreateOrder;
use rocheap::sandbox::Sandbox;
use rocheap::webhook::{Callback, Verifier};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sandbox = Sandbox::start().await?;
    let client = sandbox.client();

    // What your handler sees: verified, deduplicated, typed callbacks.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().merge(rocheap::webhook::axum::router(
        Verifier::new(sandbox.api_key()),
        move |callback: Callback| {
            let log = log.clone();
            async move {
                match callback.order() {
                    Some(order) => {
                        let line = format!("order {} is {:?}", order.order_id, order.status.code);
                        println!("   handler: {line}");
                        log.lock().map_err(|_| "poisoned")?.push(line);
                    }
                    None => println!("   handler: a callback that did not decode; look the order up"),
                }
                Ok::<(), BoxError>(())
            }
        },
    ));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!(
        "http://{}{}",
        listener.local_addr()?,
        rocheap::webhook::axum::DEFAULT_PATH
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    sandbox.set_webhook_url(&url);
    println!("listening on {url}");

    let order = client
        .orders()
        .create(&CreateOrder::new(10, 1, 4284924817, 3927852479))
        .await?;
    println!("-> POST /create_order  <- {}", order.order_id);
    sandbox.advance().await; // CREATED -> PROCESSING: a signed callback
    sandbox.advance().await; // PROCESSING -> COMPLETED: another

    for _ in 0..100 {
        if seen.lock().map_err(|_| "poisoned")?.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for d in sandbox.deliveries() {
        println!("<- callback {:<40} answered {:?}", d.label, d.status);
    }

    // A replayed callback (ROCheap's signature has no timestamp: anyone holding one can
    // replay it) is answered 200 and never reaches the handler again.
    let first = sandbox
        .deliveries()
        .into_iter()
        .next()
        .ok_or("no callback was delivered")?;
    let replay = payout_core::reqwest::Client::new()
        .post(&url)
        .headers(first.header_map())
        .body(first.body.clone())
        .send()
        .await?;
    println!("replayed the first callback: answered {}", replay.status());

    // A forged one is refused before the handler.
    let forged = payout_core::reqwest::Client::new()
        .post(&url)
        .header("rocheap-api-signature", "0".repeat(64))
        .body(first.body.clone())
        .send()
        .await?;
    println!("forged callback: answered {}", forged.status());

    let handled = seen.lock().map_err(|_| "poisoned")?.len();
    println!(
        "handler ran {handled} time(s) for {} deliveries",
        sandbox.deliveries().len() + 2
    );
    if handled != 2 {
        return Err(format!("expected 2 handled callbacks, got {handled}").into());
    }
    Ok(())
}
