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

#[tokio::test]
async fn status_after_processing_does_the_work_then_answers_the_5xx() {
    let (srv, processed) = counting_server().await;
    srv.fail_next_on("POST", "/pay", 1, Fault::StatusAfterProcessing(503));
    let e = transport(srv.base_url())
        .send(Request::post("pay", "/pay").json(&serde_json::json!({})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Ambiguous,
        "an unprotected call is not resent after a 5xx"
    );
    assert_eq!(e.status(), Some(503));
    assert_eq!(processed.load(Ordering::SeqCst), 1, "the payment did happen");
    assert_eq!(srv.count("POST", "/pay"), 1);
}

#[tokio::test]
async fn truncated_json_keeps_the_status_and_cuts_the_processed_body_in_half() {
    let (srv, processed) = counting_server().await;
    srv.fail_next(1, Fault::TruncatedJson);
    let client = payout_core::reqwest::Client::new();
    let resp = client
        .post(format!("{}/pay", srv.base_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.text().await.unwrap(),
        "{\"ok\"",
        "the first half of {{\"ok\":true}}"
    );
    assert_eq!(processed.load(Ordering::SeqCst), 1, "the work was done");
}

/// Which of `n` sequential requests got a fault, as the status answered (0 = dropped).
async fn random_run(seed: u64, n: usize) -> (Vec<u16>, Vec<(Fault, usize)>) {
    let (srv, _) = counting_server().await;
    srv.random_faults(
        20,
        seed,
        vec![Fault::Status(503), Fault::HtmlPage(502), Fault::DropAfterRead],
    );
    let client = payout_core::reqwest::Client::new();
    let mut seen = Vec::new();
    for _ in 0..n {
        let r = client
            .post(format!("{}/pay", srv.base_url()))
            .body("{}")
            .send()
            .await;
        seen.push(r.map(|r| r.status().as_u16()).unwrap_or(0));
    }
    (seen, srv.faults_injected())
}

#[tokio::test]
async fn random_faults_are_seeded_cycle_through_the_kinds_and_are_counted() {
    let (a, counts) = random_run(7, 200).await;
    let (b, _) = random_run(7, 200).await;
    assert_eq!(
        a, b,
        "the same seed gives the same faults on the same sequence of requests"
    );
    let faulted = a.iter().filter(|s| **s != 200).count();
    assert!((20..=60).contains(&faulted), "about 20 % of 200, got {faulted}");
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    assert_eq!(total, faulted);
    // Cycling: the kinds are used in turn, so their counts differ by at most one.
    let per: Vec<usize> = counts.iter().map(|(_, n)| *n).collect();
    assert!(
        per.iter().max().unwrap() - per.iter().min().unwrap() <= 1,
        "{per:?}"
    );
    let first_faults: Vec<u16> = a.iter().copied().filter(|s| *s != 200).take(3).collect();
    assert_eq!(first_faults, vec![503, 502, 0], "in the order given");
    let (c, _) = random_run(8, 200).await;
    assert_ne!(a, c, "another seed, other faults");
}

#[tokio::test]
async fn scripted_faults_win_over_random_ones_and_random_mode_stops() {
    let (srv, processed) = counting_server().await;
    srv.random_faults(100, 1, vec![Fault::Status(500)]);
    srv.fail_next(1, Fault::HtmlPage(502));
    let client = payout_core::reqwest::Client::new();
    let url = format!("{}/pay", srv.base_url());
    assert_eq!(client.post(&url).send().await.unwrap().status().as_u16(), 502);
    assert_eq!(client.post(&url).send().await.unwrap().status().as_u16(), 500);
    srv.stop_random_faults();
    assert_eq!(client.post(&url).send().await.unwrap().status().as_u16(), 200);
    assert_eq!(srv.faults_injected(), vec![(Fault::Status(500), 1)]);
    assert_eq!(processed.load(Ordering::SeqCst), 1);
}
