//! The `axum` webhook route (`xrocket::webhook::axum`) on a real server bound to 127.0.0.1,
//! fed by the sandbox's signed webhooks over HTTP: redeliveries reach the handler once;
//! tampered, wrongly signed, stale, uppercase and header-less deliveries are refused with 401
//! before the handler; a handler failure is answered 500 and xRocket's retry is handled.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use payout_core::intake::axum;
use payout_core::reqwest::header::{HeaderMap, HeaderValue};
use payout_core::sandbox::Delivery;
use xrocket::sandbox::{SANDBOX_WEBHOOK_SECRET, Sandbox};
use xrocket::webhook::axum::{DEFAULT_PATH, WebhookRouter, router};
use xrocket::webhook::{Event, Verifier, sign};
use xrocket::{CreateInvoice, Decimal};

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{DEFAULT_PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A handler counting its calls and the event ids it handled; fails the first `fail_first`.
#[derive(Clone, Default)]
struct Counter {
    calls: Arc<AtomicUsize>,
    fail_first: usize,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Counter {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
    fn route(&self, verifier: Verifier) -> WebhookRouter<Verifier> {
        let me = self.clone();
        router(verifier, move |event: Event| {
            let me = me.clone();
            async move {
                if me.calls.fetch_add(1, Ordering::SeqCst) < me.fail_first {
                    return Err("the shop's database is down".into());
                }
                me.seen.lock().unwrap().push(event.id);
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            }
        })
    }
}

async fn post(url: &str, headers: HeaderMap, body: impl Into<Vec<u8>>) -> u16 {
    payout_core::reqwest::Client::new()
        .post(url)
        .headers(headers)
        .body(body.into())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// An invoice paid in the sandbox: its two signed invoice events, delivered to `url`.
async fn invoice_events(sandbox: &Sandbox, url: &str) -> Vec<Delivery> {
    sandbox.set_webhook_url(url);
    let client = sandbox.client();
    let invoice = client
        .invoices()
        .create(&CreateInvoice::new("USDT", Decimal::new(1999, 2)))
        .await
        .unwrap();
    // The sandbox delivers the two invoice events in the background after the test payment.
    client.invoices().pay_test(&invoice.id).await.unwrap();
    // A delivery is listed as soon as it starts: wait until both have been answered.
    for _ in 0..1000 {
        let d = sandbox.deliveries();
        if d.len() >= 2 && d.iter().all(|d| d.status.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let d = sandbox.deliveries();
    assert_eq!(d.len(), 2, "{d:?}");
    d
}

fn event_id(d: &Delivery) -> String {
    let v: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn sandbox_webhooks_reach_the_handler_once_even_redelivered_five_times() {
    let sandbox = Sandbox::start().await.unwrap();
    let counter = Counter::default();
    let url = serve(axum::Router::new().merge(counter.route(Verifier::new(SANDBOX_WEBHOOK_SECRET)))).await;
    let deliveries = invoice_events(&sandbox, &url).await;
    assert!(deliveries.iter().all(|d| d.status == Some(200)), "{deliveries:?}");
    assert_eq!(
        counter.seen(),
        deliveries.iter().map(event_id).collect::<Vec<_>>()
    );
    for d in &deliveries {
        for _ in 0..5 {
            assert_eq!(post(&url, d.header_map(), d.body.clone()).await, 200);
        }
    }
    assert_eq!(counter.calls(), 2, "redeliveries never reach the handler");

    // xRocket's retry is signed afresh (a new timestamp) but keeps the event id: a duplicate.
    let d = &deliveries[0];
    let later = SystemTime::now() + Duration::from_secs(2);
    assert_eq!(
        post(&url, sign(SANDBOX_WEBHOOK_SECRET, &d.body, later), d.body.clone()).await,
        200
    );
    assert_eq!(counter.calls(), 2);
}

#[tokio::test]
async fn forged_stale_and_malformed_webhooks_are_refused_401_before_the_handler() {
    let sandbox = Sandbox::start().await.unwrap();
    let wrong = Counter::default();
    let url = serve(axum::Router::new().merge(wrong.route(Verifier::new("another app's secret")))).await;
    let deliveries = invoice_events(&sandbox, &url).await;
    assert!(
        deliveries.iter().all(|d| d.status == Some(401)),
        "wrong secret: {deliveries:?}"
    );
    assert_eq!(wrong.calls(), 0);

    let good = Counter::default();
    let url = serve(axum::Router::new().merge(good.route(Verifier::new(SANDBOX_WEBHOOK_SECRET)))).await;
    let d = &deliveries[0];
    let body = String::from_utf8(d.body.to_vec()).unwrap();
    let tampered = body.replace("19.99", "1999");
    assert_ne!(tampered, body);
    assert_eq!(post(&url, d.header_map(), tampered).await, 401, "tampered body");

    let old = SystemTime::now() - Duration::from_secs(6 * 60);
    assert_eq!(
        post(&url, sign(SANDBOX_WEBHOOK_SECRET, &d.body, old), d.body.clone()).await,
        401,
        "old timestamp"
    );

    let mut upper = d.header_map();
    let sig = upper.get("signature").unwrap().to_str().unwrap().to_uppercase();
    upper.insert("signature", HeaderValue::from_str(&sig).unwrap());
    assert_eq!(
        post(&url, upper, d.body.clone()).await,
        401,
        "uppercase signature"
    );

    for header in ["signature", "signature-timestamp", "signature-version"] {
        let mut missing = d.header_map();
        missing.remove(header);
        assert_eq!(post(&url, missing, d.body.clone()).await, 401, "missing {header}");
    }

    assert_eq!(good.calls(), 0, "no refused webhook reaches the handler");
    assert_eq!(post(&url, d.header_map(), d.body.clone()).await, 200);
    assert_eq!(good.calls(), 1);
}

#[tokio::test]
async fn a_handler_failure_is_500_and_the_retry_is_handled() {
    let sandbox = Sandbox::start().await.unwrap();
    let counter = Counter {
        fail_first: 1,
        ..Counter::default()
    };
    let url = serve(axum::Router::new().merge(counter.route(Verifier::new(SANDBOX_WEBHOOK_SECRET)))).await;
    let deliveries = invoice_events(&sandbox, &url).await;
    assert_eq!(deliveries[0].status, Some(500));
    assert_eq!(deliveries[1].status, Some(200));
    let d = &deliveries[0];
    assert_eq!(
        post(&url, d.header_map(), d.body.clone()).await,
        200,
        "the retry is handled"
    );
    assert_eq!(counter.seen(), [event_id(&deliveries[1]), event_id(d)]);
    assert_eq!(post(&url, d.header_map(), d.body.clone()).await, 200);
    assert_eq!(counter.calls(), 3);
}
