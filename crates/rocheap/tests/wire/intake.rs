//! The `axum` callback route (`rocheap::webhook::axum`) on a real server bound to 127.0.0.1,
//! fed by the sandbox's signed callbacks over HTTP: replays reach the handler once, forged or
//! malformed signatures are refused with 401 before the handler, and a handler failure is
//! answered 500 with the key released so the retry is handled.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use payout_core::intake::axum;
use payout_core::reqwest::header::{HeaderMap, HeaderValue};
use payout_core::sandbox::Delivery;
use rocheap::CreateOrder;
use rocheap::sandbox::Sandbox;
use rocheap::webhook::axum::{DEFAULT_PATH, MemoryDedupe, WebhookRouter, router};
use rocheap::webhook::{Callback, Verifier};

/// Serves `app` on a random loopback port; returns the callback URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{DEFAULT_PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A handler counting its calls (and the statuses it saw); fails the first `fail_first` calls.
#[derive(Clone, Default)]
struct Counter {
    calls: Arc<AtomicUsize>,
    fail_first: usize,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Counter {
    fn failing(n: usize) -> Self {
        Counter {
            fail_first: n,
            ..Counter::default()
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn route(&self, verifier: Verifier) -> WebhookRouter<Verifier> {
        let me = self.clone();
        router(verifier, move |cb: Callback| {
            let me = me.clone();
            async move {
                let n = me.calls.fetch_add(1, Ordering::SeqCst);
                if n < me.fail_first {
                    return Err("the database is down".into());
                }
                let order = cb.order().ok_or("not an order")?;
                me.seen
                    .lock()
                    .unwrap()
                    .push(order.status.code.as_str().to_string());
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            }
        })
    }
}

/// Re-posts a recorded delivery (what a provider's retry, or an attacker's replay, sends).
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

/// A sandbox whose callbacks go to `url`, with one order moved `CREATED → PROCESSING →
/// COMPLETED` (two signed callbacks).
async fn two_callbacks(sandbox: &Sandbox, url: &str) -> Vec<Delivery> {
    sandbox.set_webhook_url(url);
    sandbox
        .client()
        .orders()
        .create(&CreateOrder::new(10, 1, 4284924817, 3927852479))
        .await
        .unwrap();
    sandbox.advance().await;
    sandbox.advance().await;
    let d = sandbox.deliveries();
    assert_eq!(d.len(), 2);
    d
}

#[tokio::test]
async fn sandbox_callbacks_reach_the_handler_once_even_replayed_five_times() {
    let sandbox = Sandbox::start().await.unwrap();
    let counter = Counter::default();
    let url = serve(axum::Router::new().merge(counter.route(Verifier::new(sandbox.api_key())))).await;
    let deliveries = two_callbacks(&sandbox, &url).await;
    assert!(deliveries.iter().all(|d| d.status == Some(200)), "{deliveries:?}");
    assert_eq!(counter.calls(), 2);
    assert_eq!(*counter.seen.lock().unwrap(), ["PROCESSING", "COMPLETED"]);

    for d in &deliveries {
        for _ in 0..5 {
            assert_eq!(
                post(&url, d.header_map(), d.body.clone()).await,
                200,
                "a duplicate is 200"
            );
        }
    }
    assert_eq!(counter.calls(), 2, "replays never reach the handler");

    // The same callback with its keys re-ordered is the same signed content: still a duplicate.
    let v: serde_json::Value = serde_json::from_slice(&deliveries[1].body).unwrap();
    let mut pairs: Vec<(String, serde_json::Value)> = v.as_object().unwrap().clone().into_iter().collect();
    pairs.reverse();
    let reordered = format!(
        "{{{}}}",
        pairs
            .iter()
            .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_ne!(reordered.as_bytes(), &deliveries[1].body[..]);
    assert_eq!(post(&url, deliveries[1].header_map(), reordered).await, 200);
    assert_eq!(counter.calls(), 2);
}

#[tokio::test]
async fn forged_and_malformed_callbacks_are_refused_401_before_the_handler() {
    let sandbox = Sandbox::start().await.unwrap();
    let counter = Counter::default();
    let url = serve(axum::Router::new().merge(counter.route(Verifier::new("not the sandbox key")))).await;

    // Wrong secret: the sandbox's own deliveries are refused, as its record shows.
    let deliveries = two_callbacks(&sandbox, &url).await;
    assert!(deliveries.iter().all(|d| d.status == Some(401)), "{deliveries:?}");
    assert_eq!(counter.calls(), 0);

    // Against a receiver with the right key: tampered, uppercase, missing header.
    let good = Counter::default();
    let url = serve(axum::Router::new().merge(good.route(Verifier::new(sandbox.api_key())))).await;
    let d = &deliveries[1];
    let tampered = String::from_utf8(d.body.to_vec())
        .unwrap()
        .replace("\"robux\":10", "\"robux\":1000");
    assert_ne!(tampered.as_bytes(), &d.body[..]);
    assert_eq!(post(&url, d.header_map(), tampered).await, 401, "tampered body");

    let mut upper = d.header_map();
    let sig = upper
        .get("rocheap-api-signature")
        .unwrap()
        .to_str()
        .unwrap()
        .to_uppercase();
    upper.insert("rocheap-api-signature", HeaderValue::from_str(&sig).unwrap());
    assert_eq!(
        post(&url, upper, d.body.clone()).await,
        401,
        "uppercase signature"
    );

    let mut missing = d.header_map();
    missing.remove("rocheap-api-signature");
    assert_eq!(post(&url, missing, d.body.clone()).await, 401, "missing header");

    assert_eq!(good.calls(), 0, "no refused callback reaches the handler");
    // And the genuine delivery still goes through: refusals claimed no key.
    assert_eq!(post(&url, d.header_map(), d.body.clone()).await, 200);
    assert_eq!(good.calls(), 1);
}

#[tokio::test]
async fn a_handler_failure_is_500_and_the_retry_is_handled() {
    let sandbox = Sandbox::start().await.unwrap();
    let counter = Counter::failing(1);
    let url = serve(axum::Router::new().merge(counter.route(Verifier::new(sandbox.api_key())))).await;
    let deliveries = two_callbacks(&sandbox, &url).await;
    assert_eq!(
        deliveries[0].status,
        Some(500),
        "the first callback's handler failed"
    );
    assert_eq!(deliveries[1].status, Some(200));
    assert_eq!(*counter.seen.lock().unwrap(), ["COMPLETED"]);

    // The provider's retry of the failed callback is handled this time, then deduplicated.
    let d = &deliveries[0];
    assert_eq!(post(&url, d.header_map(), d.body.clone()).await, 200);
    assert_eq!(*counter.seen.lock().unwrap(), ["COMPLETED", "PROCESSING"]);
    assert_eq!(post(&url, d.header_map(), d.body.clone()).await, 200);
    assert_eq!(counter.calls(), 3, "failed once, handled once, then a duplicate");
}

#[tokio::test]
async fn a_concurrent_duplicate_is_409_and_instances_share_a_store() {
    let sandbox = Sandbox::start().await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    // The first handler run holds until the test has seen the duplicate answered: no timing
    // guess, so a loaded machine cannot reorder the two deliveries.
    let release = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let store = Arc::new(MemoryDedupe::new(1000));
    let slow = |calls: Arc<AtomicUsize>, release: Arc<std::sync::atomic::AtomicBool>| {
        move |_cb: Callback| {
            let (calls, release) = (calls.clone(), release.clone());
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let deadline = std::time::Instant::now() + Duration::from_secs(20);
                while !release.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok::<(), std::io::Error>(())
            }
        }
    };
    // Two instances of the bot behind one URL each, one store between them.
    let a = serve(
        router(
            Verifier::new(sandbox.api_key()),
            slow(calls.clone(), release.clone()),
        )
        .with_dedupe(store.clone())
        .into(),
    )
    .await;
    let b = serve(
        router(
            Verifier::new(sandbox.api_key()),
            slow(calls.clone(), release.clone()),
        )
        .with_dedupe(store.clone())
        .into(),
    )
    .await;
    let body = br#"{"success":true,"order_id":"o1","status":{"code":"COMPLETED","message":"done"}}"#;
    let headers = rocheap::webhook::sign(sandbox.api_key(), body, std::time::SystemTime::now());
    let first = {
        let (a, headers) = (a.clone(), headers.clone());
        tokio::spawn(async move { post(&a, headers, body.to_vec()).await })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while calls.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "instance A is handling the delivery"
    );
    assert_eq!(
        post(&b, headers.clone(), body.to_vec()).await,
        409,
        "in flight elsewhere: retry later"
    );
    release.store(true, Ordering::SeqCst);
    assert_eq!(first.await.unwrap(), 200);
    assert_eq!(post(&b, headers.clone(), body.to_vec()).await, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
