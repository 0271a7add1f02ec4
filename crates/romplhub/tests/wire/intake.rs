//! The `axum` webhook route (`romplhub::webhook::axum`) on a real server bound to 127.0.0.1,
//! fed by the sandbox's (unsigned) webhooks over HTTP: the URL token is checked before any
//! look-up, every claim is confirmed by `GET /orders/{uid}` before the handler sees it,
//! redeliveries reach the handler once, and a handler failure is answered 500 with the key
//! released so a retry is handled.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use payout_core::intake::axum;
use romplhub::sandbox::{BAD_PASSWORD_LOGIN, Sandbox};
use romplhub::webhook::Confirmation;
use romplhub::webhook::axum::{DEFAULT_PATH, Receiver, router, webhook_url};
use romplhub::{CreateOrder, OrderStatus};

const TOKEN: &str = "bot token/with+odd&chars";

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}{DEFAULT_PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A handler recording the confirmed orders; fails the first `fail_first` calls.
#[derive(Clone, Default)]
struct Counter {
    calls: Arc<AtomicUsize>,
    fail_first: usize,
    seen: Arc<Mutex<Vec<(OrderStatus, bool)>>>,
}

impl Counter {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn seen(&self) -> Vec<(OrderStatus, bool)> {
        self.seen.lock().unwrap().clone()
    }
    fn route(&self, client: romplhub::Client) -> Receiver {
        let me = self.clone();
        router(client, TOKEN, move |c: Confirmation| {
            let me = me.clone();
            async move {
                if me.calls.fetch_add(1, Ordering::SeqCst) < me.fail_first {
                    return Err("the bot's database is down".into());
                }
                me.seen.lock().unwrap().push((c.order.status.clone(), c.agrees()));
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            }
        })
    }
}

async fn post(url: &str, body: impl Into<Vec<u8>>) -> u16 {
    payout_core::reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.into())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn lookups(sandbox: &Sandbox) -> usize {
    sandbox
        .server()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/orders/"))
        .count()
}

#[tokio::test]
async fn confirmed_webhooks_reach_the_handler_once_even_redelivered_five_times() {
    let sandbox = Sandbox::start().await.unwrap();
    let counter = Counter::default();
    let base = serve(axum::Router::new().merge(counter.route(sandbox.client()))).await;
    let url = webhook_url(&base, TOKEN);
    let created = sandbox
        .client()
        .orders()
        .create(&CreateOrder::new("plain@roblox.com", "pw", "robux_88").webhook_url(&url))
        .await
        .unwrap();
    sandbox.settle().await;
    let deliveries = sandbox.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, Some(200));
    assert_eq!(counter.seen(), [(OrderStatus::Completed, true)]);
    assert_eq!(lookups(&sandbox), 1, "confirmed by GET /orders/{{uid}}");
    assert!(sandbox.server().requests().iter().any(|r| {
        r.method == "GET"
            && r.path
                .ends_with(&format!("/orders/{}", created.order_uid.as_str()))
    }));

    for _ in 0..5 {
        assert_eq!(post(&url, deliveries[0].body.clone()).await, 200);
    }
    assert_eq!(counter.calls(), 1, "redeliveries never reach the handler");
}

#[tokio::test]
async fn missing_or_wrong_tokens_are_401_before_any_lookup_and_claims_are_confirmed() {
    let sandbox = Sandbox::start().await.unwrap();
    let counter = Counter::default();
    let base = serve(axum::Router::new().merge(counter.route(sandbox.client()))).await;
    let url = webhook_url(&base, TOKEN);
    let failed = sandbox
        .client()
        .orders()
        .create(&CreateOrder::new(BAD_PASSWORD_LOGIN, "nope", "robux_88").webhook_url(&url))
        .await
        .unwrap();
    sandbox.settle().await;
    assert_eq!(counter.seen(), [(OrderStatus::Failed, true)]);
    let before = lookups(&sandbox);

    let forged = serde_json::to_vec(&serde_json::json!({
        "event": "order.completed",
        "order": {"id": failed.order_uid.as_str(), "status": "completed", "product": "88 Robux",
                  "robux_granted": 88, "tokens_charged": 6}
    }))
    .unwrap();
    assert_eq!(post(&base, forged.clone()).await, 401, "no token");
    assert_eq!(
        post(&webhook_url(&base, "guess"), forged.clone()).await,
        401,
        "wrong token"
    );
    assert_eq!(
        post(&format!("{base}?t="), forged.clone()).await,
        401,
        "empty token"
    );
    assert_eq!(lookups(&sandbox), before, "a refused call spends no look-up");

    // With the token (leaked, say): the claim is checked against RomplHub's answer. The
    // order failed, so the forged "completed" is the already handled (uid, failed): a duplicate.
    assert_eq!(post(&url, forged).await, 200);
    assert_eq!(lookups(&sandbox), before + 1);
    assert_eq!(
        counter.seen(),
        [(OrderStatus::Failed, true)],
        "never handled as completed"
    );

    // An order RomplHub does not know is a forgery: 401.
    let unknown = br#"{"event":"order.completed","order":{"id":"VX-00000000","status":"completed"}}"#;
    assert_eq!(post(&url, unknown.to_vec()).await, 401);
    // Not a RomplHub webhook at all: 400.
    assert_eq!(post(&url, b"not json".to_vec()).await, 400);
    assert_eq!(counter.calls(), 1);
}

#[tokio::test]
async fn a_handler_failure_is_500_and_the_retry_is_handled() {
    let sandbox = Sandbox::start().await.unwrap();
    let counter = Counter {
        fail_first: 1,
        ..Counter::default()
    };
    let base = serve(axum::Router::new().merge(counter.route(sandbox.client()))).await;
    let url = webhook_url(&base, TOKEN);
    sandbox
        .client()
        .orders()
        .create(&CreateOrder::new("plain@roblox.com", "pw", "robux_88").webhook_url(&url))
        .await
        .unwrap();
    sandbox.settle().await;
    let d = sandbox.deliveries();
    assert_eq!(d[0].status, Some(500));
    assert!(counter.seen().is_empty());
    assert_eq!(post(&url, d[0].body.clone()).await, 200, "the retry is handled");
    assert_eq!(counter.seen(), [(OrderStatus::Completed, true)]);
    assert_eq!(post(&url, d[0].body.clone()).await, 200);
    assert_eq!(counter.calls(), 2);
}
