//! The sandbox re-delivers a callback the receiver did not answer 2xx, like a provider that
//! retries; the `axum` route's dedupe makes the handler's effect happen exactly once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use payout_core::intake::axum;
use rocheap::CreateOrder;
use rocheap::sandbox::{Sandbox, WebhookRetry};
use rocheap::webhook::axum::{DEFAULT_PATH, router};
use rocheap::webhook::{Callback, Verifier};

/// Serves `app` on a random loopback port; returns the callback URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{DEFAULT_PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A bot crediting each order status once: `effects` is what it did, `calls` how often its
/// handler ran.
#[derive(Clone, Default)]
struct Bot {
    calls: Arc<AtomicUsize>,
    effects: Arc<Mutex<Vec<String>>>,
}

async fn order_with_one_callback(sandbox: &Sandbox, url: &str) {
    sandbox.set_webhook_url(url);
    sandbox
        .client()
        .orders()
        .create(&CreateOrder::new(10, 1, 4284924817, 3927852479))
        .await
        .unwrap();
    sandbox.advance().await; // CREATED -> PROCESSING: one signed callback
}

#[tokio::test]
async fn a_handler_that_fails_once_is_delivered_to_again_and_acts_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.webhook_retry(WebhookRetry::every(Duration::from_millis(30), 3));
    let bot = Bot::default();
    let b = bot.clone();
    let url = serve(
        router(Verifier::new(sandbox.api_key()), move |cb: Callback| {
            let b = b.clone();
            async move {
                if b.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err("the database is down".into());
                }
                let order = cb.order().ok_or("not an order")?;
                b.effects.lock().unwrap().push(format!(
                    "{} {}",
                    order.order_id.as_str(),
                    order.status.code.as_str()
                ));
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            }
        })
        .into(),
    )
    .await;
    order_with_one_callback(&sandbox, &url).await;

    let first = sandbox.deliveries();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts[0].status, Some(500), "the handler failed: 500");
    assert!(bot.effects.lock().unwrap().is_empty());

    // No re-POST by hand: the sandbox delivers again on its own.
    let d = wait_finished(&sandbox).await;
    let statuses: Vec<_> = d.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(200)]);
    assert_eq!(d.delivered_on(), Some(2));
    let order_id = d.body_json()["order_id"].as_str().unwrap().to_string();
    assert_eq!(
        *bot.effects.lock().unwrap(),
        [format!("{order_id} PROCESSING")],
        "handled once, on the re-delivery"
    );
    assert_eq!(bot.calls.load(Ordering::SeqCst), 2, "failed once, handled once");
    // Every attempt carried the same body and the same signature (ROCheap signs no timestamp).
    assert_eq!(d.attempts[0].headers, d.attempts[1].headers);
}

#[tokio::test]
async fn a_handler_slower_than_the_attempt_timeout_acts_once_across_re_deliveries() {
    let sandbox = Sandbox::start().await.unwrap();
    // The sandbox gives up on an attempt after 100 ms, while the handler's first run takes
    // 400 ms and succeeds: the re-deliveries find it in flight (409), then done (200, a
    // duplicate that never reaches the handler).
    sandbox.webhook_retry(
        WebhookRetry::every(Duration::from_millis(150), 8).attempt_timeout(Duration::from_millis(100)),
    );
    let bot = Bot::default();
    let b = bot.clone();
    let url = serve(
        router(Verifier::new(sandbox.api_key()), move |cb: Callback| {
            let b = b.clone();
            async move {
                if b.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                }
                let order = cb.order().ok_or("not an order")?;
                b.effects
                    .lock()
                    .unwrap()
                    .push(order.status.code.as_str().to_string());
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            }
        })
        .into(),
    )
    .await;
    order_with_one_callback(&sandbox, &url).await;

    let d = wait_finished(&sandbox).await;
    assert_eq!(
        d.attempts[0].error.as_deref(),
        Some("no answer within 100ms"),
        "{:?}",
        d.attempts
    );
    let Some(delivered) = d.delivered_on() else {
        panic!(
            "no re-delivery answered 200: {:?}; handler calls {}, effects {:?}",
            d.attempts
                .iter()
                .map(|a| (a.status, a.error.clone()))
                .collect::<Vec<_>>(),
            bot.calls.load(Ordering::SeqCst),
            bot.effects.lock().unwrap()
        )
    };
    assert!(delivered >= 2, "{:?}", d.attempts);
    assert!(
        d.attempts[1..delivered as usize - 1]
            .iter()
            .all(|a| a.status == Some(409) || a.error.is_some()),
        "between the first attempt and the 200: in flight elsewhere, {:?}",
        d.attempts
    );
    assert_eq!(
        *bot.effects.lock().unwrap(),
        ["PROCESSING"],
        "the effect happened once"
    );
    assert_eq!(
        bot.calls.load(Ordering::SeqCst),
        1,
        "duplicates never reach the handler"
    );
}

async fn wait_finished(sandbox: &Sandbox) -> rocheap::sandbox::Delivery {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let d = sandbox.deliveries().remove(0);
        if d.finished || tokio::time::Instant::now() >= deadline {
            assert!(d.finished, "the re-deliveries ended: {:?}", d.attempts);
            return d;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

trait BodyJson {
    fn body_json(&self) -> serde_json::Value;
}

impl BodyJson for rocheap::sandbox::Delivery {
    fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}
