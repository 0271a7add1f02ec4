//! The `axum` webhook route (`rohopay::webhook::axum`) on a real server bound to 127.0.0.1,
//! fed by the sandbox's signed webhooks over HTTP: redeliveries reach the handler once,
//! forged or malformed signatures are refused with 401 before the handler, and a handler
//! failure is answered 500 with the key released so RohoPay's retry is handled.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use payout_core::intake::axum;
use payout_core::reqwest::header::{HeaderMap, HeaderValue};
use payout_core::sandbox::Delivery;
use rohopay::sandbox::{SANDBOX_WEBHOOK_SECRET, Sandbox};
use rohopay::webhook::axum::{DEFAULT_PATH, WebhookRouter, router};
use rohopay::webhook::{Verifier, WebhookEvent};
use rohopay::{CollectRequest, Currency, DisburseRequest};

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{DEFAULT_PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A handler counting its calls and the events it handled; fails the first `fail_first`.
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
        router(verifier, move |event: WebhookEvent| {
            let me = me.clone();
            async move {
                if me.calls.fetch_add(1, Ordering::SeqCst) < me.fail_first {
                    return Err("the ledger is down".into());
                }
                me.seen.lock().unwrap().push(event.event_type().to_string());
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

/// A collection made successful and a disbursement failed: two signed webhooks to `url`.
async fn two_webhooks(sandbox: &Sandbox, url: &str) -> Vec<Delivery> {
    sandbox.set_webhook_url(url);
    sandbox.set_balance_live(100_000);
    let live = sandbox.live_client();
    let c = live
        .mobile_money()
        .collect(&CollectRequest::new("256712345678", 50_000, Currency::Ugx))
        .await
        .unwrap();
    assert!(sandbox.complete(c.transaction.internal_reference.as_str()).await);
    let d = live
        .mobile_money()
        .disburse(&DisburseRequest::new("256712345678", 20_000, Currency::Ugx))
        .await
        .unwrap();
    assert!(sandbox.fail(d.transaction.internal_reference.as_str()).await);
    let deliveries = sandbox.deliveries();
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    deliveries
}

#[tokio::test]
async fn sandbox_webhooks_reach_the_handler_once_even_redelivered_five_times() {
    let sandbox = Sandbox::start().await.unwrap();
    let counter = Counter::default();
    let url = serve(axum::Router::new().merge(counter.route(Verifier::new(SANDBOX_WEBHOOK_SECRET)))).await;
    let deliveries = two_webhooks(&sandbox, &url).await;
    assert!(deliveries.iter().all(|d| d.status == Some(200)), "{deliveries:?}");
    assert_eq!(counter.seen(), ["deposit.successful", "withdraw.failed"]);
    for d in &deliveries {
        for _ in 0..5 {
            assert_eq!(post(&url, d.header_map(), d.body.clone()).await, 200);
        }
    }
    assert_eq!(counter.calls(), 2, "redeliveries never reach the handler");
}

#[tokio::test]
async fn forged_and_malformed_webhooks_are_refused_401_before_the_handler() {
    let sandbox = Sandbox::start().await.unwrap();
    let wrong = Counter::default();
    let url = serve(axum::Router::new().merge(wrong.route(Verifier::new("whsec_someone_else")))).await;
    let deliveries = two_webhooks(&sandbox, &url).await;
    assert!(
        deliveries.iter().all(|d| d.status == Some(401)),
        "wrong secret: {deliveries:?}"
    );
    assert_eq!(wrong.calls(), 0);

    let good = Counter::default();
    let url = serve(axum::Router::new().merge(good.route(Verifier::new(SANDBOX_WEBHOOK_SECRET)))).await;
    let d = &deliveries[0];
    let body = String::from_utf8(d.body.to_vec()).unwrap();
    let tampered = body.replace("50000", "500000");
    assert_ne!(tampered, body);
    assert_eq!(post(&url, d.header_map(), tampered).await, 401, "tampered body");

    let mut upper = d.header_map();
    let sig = upper
        .get("x-rohopay-signature")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let shouted = format!("sha256={}", sig.trim_start_matches("sha256=").to_uppercase());
    upper.insert("x-rohopay-signature", HeaderValue::from_str(&shouted).unwrap());
    assert_eq!(
        post(&url, upper, d.body.clone()).await,
        401,
        "uppercase signature"
    );

    let mut missing = d.header_map();
    missing.remove("x-rohopay-signature");
    assert_eq!(post(&url, missing, d.body.clone()).await, 401, "missing header");

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
    let deliveries = two_webhooks(&sandbox, &url).await;
    assert_eq!(deliveries[0].status, Some(500), "the first handler call failed");
    assert_eq!(deliveries[1].status, Some(200));
    assert_eq!(counter.seen(), ["withdraw.failed"]);

    // RohoPay's retry of the failed delivery is handled, then deduplicated.
    let d = &deliveries[0];
    assert_eq!(post(&url, d.header_map(), d.body.clone()).await, 200);
    assert_eq!(counter.seen(), ["withdraw.failed", "deposit.successful"]);
    assert_eq!(post(&url, d.header_map(), d.body.clone()).await, 200);
    assert_eq!(counter.calls(), 3);
}
