//! The generic webhook receiver (`payout_core::intake`, feature `axum`) with a toy verifier:
//! the statuses of every outcome, a failing dedupe store, a panicking handler, and a real
//! axum server on loopback taking the raw body.
#![cfg(feature = "axum")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use payout_core::dedupe::{Claim, Dedupe, DedupeError, DedupeFuture, MemoryDedupe};
use payout_core::intake::{Outcome, WebhookRouter, axum, deliver, handler_fn, token_matches};
use payout_core::reqwest::header::HeaderMap;
use payout_core::{VerifiedDelivery, WebhookVerifier};

/// Accepts a body when the `x-sig` header equals `"ok"`; the key is the body itself.
struct Toy;
struct ToyVerified(Vec<u8>);

#[derive(Debug)]
struct ToyError(&'static str);
impl std::fmt::Display for ToyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for ToyError {}

impl WebhookVerifier for Toy {
    type Verified = ToyVerified;
    type Error = ToyError;
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<ToyVerified, ToyError> {
        match headers.get("x-sig").map(|v| v.as_bytes()) {
            Some(b"ok") => Ok(ToyVerified(body.to_vec())),
            Some(_) => Err(ToyError("bad signature")),
            None => Err(ToyError("missing header")),
        }
    }
}

impl VerifiedDelivery for ToyVerified {
    type Event = String;
    type Error = ToyError;
    fn dedupe_key(&self) -> String {
        format!("toy:{}", String::from_utf8_lossy(&self.0))
    }
    fn parse(&self) -> Result<String, ToyError> {
        String::from_utf8(self.0.clone()).map_err(|_| ToyError("not text"))
    }
}

fn headers(sig: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(s) = sig {
        h.insert("x-sig", s.parse().unwrap());
    }
    h
}

fn route(calls: Arc<AtomicUsize>) -> WebhookRouter<Toy> {
    WebhookRouter::new(
        "toy",
        "/hook",
        Toy,
        handler_fn(move |event: String| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                match event.as_str() {
                    "fail" => Err::<(), _>(std::io::Error::other("handler failed")),
                    "panic" => panic!("handler panicked"),
                    _ => Ok(()),
                }
            }
        }),
    )
}

#[tokio::test]
async fn every_outcome_has_its_status() {
    let calls = Arc::new(AtomicUsize::new(0));
    let r = route(calls.clone());
    assert_eq!(r.receive(&headers(None), b"a").await, Outcome::Refused);
    assert_eq!(r.receive(&headers(Some("no")), b"a").await, Outcome::Refused);
    assert_eq!(
        r.receive(&headers(Some("ok")), b"\xff").await,
        Outcome::Unreadable
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(r.receive(&headers(Some("ok")), b"a").await, Outcome::Handled);
    assert_eq!(r.receive(&headers(Some("ok")), b"a").await, Outcome::Duplicate);
    assert_eq!(
        r.receive(&headers(Some("ok")), b"fail").await,
        Outcome::HandlerFailed
    );
    assert_eq!(
        r.receive(&headers(Some("ok")), b"fail").await,
        Outcome::HandlerFailed,
        "released, so retried"
    );
    assert_eq!(
        r.receive(&headers(Some("ok")), b"panic").await,
        Outcome::HandlerFailed
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    let statuses: Vec<u16> = [
        Outcome::Handled,
        Outcome::Duplicate,
        Outcome::InFlight,
        Outcome::Refused,
        Outcome::Unreadable,
        Outcome::HandlerFailed,
        Outcome::Unavailable,
    ]
    .iter()
    .map(|o| o.status().as_u16())
    .collect();
    assert_eq!(statuses, [200, 200, 409, 401, 400, 500, 503]);
}

/// A store whose database is down.
struct Down;
impl Dedupe for Down {
    fn claim<'a>(&'a self, _: &'a str) -> DedupeFuture<'a, Claim> {
        Box::pin(async { Err(DedupeError::msg("connection refused")) })
    }
    fn commit<'a>(&'a self, _: &'a str) -> DedupeFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
    fn release<'a>(&'a self, _: &'a str) -> DedupeFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn a_failed_store_is_503_and_the_handler_is_not_called() {
    let calls = Arc::new(AtomicUsize::new(0));
    let r = route(calls.clone()).with_dedupe(Down);
    assert_eq!(r.receive(&headers(Some("ok")), b"a").await, Outcome::Unavailable);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn deliver_releases_after_a_panic() {
    let store = MemoryDedupe::new(10);
    let out = deliver("toy", &store, "k", async { panic!("boom") }).await;
    assert_eq!(out, Outcome::HandlerFailed);
    assert_eq!(store.claim("k").await.unwrap(), Claim::New, "released");
}

#[tokio::test]
async fn served_on_loopback_it_reads_the_raw_body() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app: axum::Router = route(calls.clone()).into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = payout_core::reqwest::Client::new();
    // Not JSON, no content type: a JSON extractor would refuse it before the verifier.
    let post = |sig: &'static str, body: &'static str| {
        let http = http.clone();
        let url = url.clone();
        async move {
            http.post(&url)
                .header("x-sig", sig)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(post("ok", "plain text").await, 200);
    assert_eq!(post("ok", "plain text").await, 200);
    assert_eq!(post("no", "plain text").await, 401);
    assert_eq!(post("ok", "fail").await, 500);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn tokens_compare_whole() {
    assert!(token_matches("s3cret", "s3cret"));
    assert!(!token_matches("s3cret", "s3cre"));
    assert!(!token_matches("s3cret", ""));
    assert!(
        !token_matches("", ""),
        "an empty expected token authenticates nothing"
    );
}
