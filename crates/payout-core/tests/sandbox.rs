//! The sandbox building blocks, exercised through the real transport.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use payout_core::sandbox::axum::{Router, routing::post};
use payout_core::sandbox::{Fault, IdempotencyStore, KeyState, SandboxServer, WebhookInbox, WebhookSender};
use payout_core::{
    AuthScheme, ClientOptions, ErrorInfo, ErrorKind, IdempotencyKey, Request, RetryPolicy, SecretString,
    Transport, TransportConfig,
};

fn transport(base: String) -> Transport {
    Transport::new(TransportConfig {
        provider: "sandboxed",
        version: "0",
        base_url: base,
        credential: Some(SecretString::from("k")),
        auth: AuthScheme::Bearer,
        request_id_headers: &[],
        error_decoder: Arc::new(|_: u16, _: &payout_core::reqwest::header::HeaderMap, _: &[u8]| {
            ErrorInfo::default()
        }),
        options: ClientOptions::default()
            .retry_policy(
                RetryPolicy::default()
                    .base_delay(Duration::from_millis(5))
                    .jitter_seed(1),
            )
            .attempt_timeout(Duration::from_millis(300)),
    })
    .unwrap()
}

async fn counting_server() -> (SandboxServer, Arc<AtomicUsize>) {
    let processed = Arc::new(AtomicUsize::new(0));
    let p = processed.clone();
    let router = Router::new().route(
        "/pay",
        post(move || {
            let p = p.clone();
            async move {
                p.fetch_add(1, Ordering::SeqCst);
                "{\"ok\":true}"
            }
        }),
    );
    (SandboxServer::start(router).await.unwrap(), processed)
}

#[tokio::test]
async fn drop_after_processing_makes_an_unprotected_call_ambiguous_and_it_is_not_resent() {
    let (srv, processed) = counting_server().await;
    srv.fail_next_on("POST", "/pay", 1, Fault::DropAfterProcessing);
    let e = transport(srv.base_url())
        .send(Request::post("pay", "/pay").json(&serde_json::json!({})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(processed.load(Ordering::SeqCst), 1, "the payment did happen");
    assert_eq!(srv.count("POST", "/pay"), 1, "and it was sent once");
}

#[tokio::test]
async fn scripted_faults_are_retried_for_key_protected_calls() {
    let (srv, processed) = counting_server().await;
    srv.fail_next(1, Fault::Status(503));
    srv.fail_next(1, Fault::HtmlPage(502));
    let key = IdempotencyKey::generate();
    let resp = transport(srv.base_url())
        .send(
            Request::post("pay", "/pay")
                .json(&serde_json::json!({}))
                .unwrap()
                .idempotency_header("idempotency-key", key.clone()),
        )
        .await
        .unwrap();
    assert_eq!(resp.attempts(), 3);
    assert_eq!(processed.load(Ordering::SeqCst), 1);
    let keys: Vec<_> = srv
        .requests()
        .iter()
        .map(|r| r.header("idempotency-key").map(str::to_string))
        .collect();
    assert_eq!(keys, vec![Some(key.as_str().to_string()); 3]);
}

#[tokio::test]
async fn delay_rate_limit_and_drop_after_read() {
    let (srv, processed) = counting_server().await;
    srv.fail_next(1, Fault::RateLimited(Duration::from_secs(1)));
    let t = transport(srv.base_url());
    let r = t
        .send(Request::post("pay", "/pay").json(&serde_json::json!({})).unwrap())
        .await
        .unwrap();
    assert_eq!(r.attempts(), 2);
    srv.fail_next(1, Fault::Delay(Duration::from_millis(600)));
    let e = t
        .send(Request::post("pay", "/pay").json(&serde_json::json!({})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    srv.fail_next(1, Fault::DropAfterRead);
    let e = t
        .send(Request::post("pay", "/pay").json(&serde_json::json!({})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    tokio::time::sleep(Duration::from_millis(700)).await;
    // 429 not processed; 1 ok; the delayed one processed after the client gave up; the dropped one not.
    assert_eq!(processed.load(Ordering::SeqCst), 2);
}

#[test]
fn idempotency_store_replays_and_refuses_reuse() {
    let s = IdempotencyStore::default();
    assert_eq!(s.begin("k", b"a"), KeyState::New);
    assert_eq!(s.begin("k", b"a"), KeyState::Conflict, "in flight");
    s.finish("k", 201, bytes::Bytes::from_static(b"{}"));
    assert_eq!(
        s.begin("k", b"a"),
        KeyState::Replay(201, bytes::Bytes::from_static(b"{}"))
    );
    assert_eq!(s.begin("k", b"b"), KeyState::Conflict);
    s.release("k");
    assert_eq!(s.begin("k", b"b"), KeyState::Conflict, "a finished key is kept");
    assert_eq!(s.begin("refused", b"a"), KeyState::New);
    s.release("refused");
    assert_eq!(
        s.begin("refused", b"a"),
        KeyState::New,
        "a refused request frees its key"
    );
}

#[tokio::test]
async fn webhooks_are_delivered_to_an_inbox() {
    let inbox = WebhookInbox::start().await.unwrap();
    let sender = WebhookSender::default();
    let status = sender
        .send(
            &inbox.url(),
            "order.completed",
            &[("x-sig", "abc".to_string())],
            b"{\"a\":1}".to_vec(),
        )
        .await;
    assert_eq!(status, Some(200));
    let got = inbox.wait_for(1, Duration::from_secs(2)).await;
    assert_eq!(got[0].header("x-sig"), Some("abc"));
    assert_eq!(&got[0].body[..], b"{\"a\":1}");
    assert_eq!(sender.deliveries()[0].status, Some(200));
}
