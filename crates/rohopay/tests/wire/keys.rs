//! Generated idempotency keys (hot-path rule, issue "A UUID is generated even when the caller
//! gave an id"): a constructor followed by `.idempotency_key(..)` generates nothing; a
//! constructor alone generates exactly one key, on first read, and that one key goes in the
//! `Idempotency-Key` header every time the value (or a clone of it) is sent.

use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use payout_core::Endpoint;
use rohopay::{CheckoutRequest, CollectRequest, Currency, DisburseRequest, IdempotencyKey, Keyed};
use serde_json::Value;

use crate::common::*;

fn generated() -> u64 {
    IdempotencyKey::generated_on_this_thread()
}

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}

#[test]
fn constructor_then_key_generates_no_key() {
    let before = generated();
    let collect = CollectRequest::new("256712345678", 50_000, Currency::Ugx).idempotency_key(key("c-1"));
    let disburse = DisburseRequest::new("256712345678", 25_000, Currency::Ugx).idempotency_key(key("d-1"));
    let checkout = excerpt_checkout().idempotency_key(key("k-1"));
    assert_eq!(collect.key(), "c-1");
    assert_eq!(disburse.key(), "d-1");
    assert_eq!(checkout.key(), "k-1");
    let _ = (collect.clone(), disburse.clone(), checkout.clone());
    let _ = format!("{collect:?}{disburse:?}{checkout:?}");
    let json = serde_json::to_string(&(&collect, &disburse, &checkout)).unwrap();
    let (c2, d2, k2): (CollectRequest, DisburseRequest, CheckoutRequest) =
        serde_json::from_str(&json).unwrap();
    assert_eq!((c2.key(), d2.key(), k2.key()), ("c-1", "d-1", "k-1"));
    collect.to_request().unwrap();
    disburse.to_request().unwrap();
    checkout.to_request().unwrap();
    assert_eq!(
        generated(),
        before,
        "a caller's key must not cost a generated one"
    );
}

#[test]
fn a_constructor_alone_generates_one_key_on_first_read() {
    let before = generated();
    let collect = CollectRequest::new("256712345678", 50_000, Currency::Ugx);
    let disburse = DisburseRequest::new("256712345678", 25_000, Currency::Ugx);
    let checkout = excerpt_checkout();
    assert_eq!(generated(), before, "nothing generated before the first read");
    let keys = [
        collect.key().to_owned(),
        disburse.key().to_owned(),
        checkout.key().to_owned(),
    ];
    assert_eq!(generated(), before + 3);
    assert_eq!(collect.clone().key(), keys[0]);
    assert_eq!(collect.clone(), collect);
    assert_eq!(disburse.clone().key(), keys[1]);
    assert_eq!(checkout.clone().key(), keys[2]);
    let back: DisburseRequest = serde_json::from_str(&serde_json::to_string(&disburse).unwrap()).unwrap();
    assert_eq!(back.key(), keys[1]);
    assert_eq!(generated(), before + 3);
    for k in &keys {
        assert_eq!(k.len(), 36, "{k}");
    }
}

#[test]
fn a_stored_key_is_still_checked_when_read_back() {
    let req = CollectRequest::new("256712345678", 50_000, Currency::Ugx).idempotency_key(key("c-1"));
    let mut stored: Value = serde_json::to_value(&req).unwrap();
    assert_eq!(stored["idempotency_key"], "c-1");
    stored["idempotency_key"] = Value::from("has space");
    assert!(serde_json::from_value::<CollectRequest>(stored).is_err());
}

/// Sends `req` twice and then a clone of it, none of them read before: the one key generated
/// by the first send goes in the `Idempotency-Key` header all three times, and is the key.
async fn same_key_on_every_send<E>(path: &str, answer: Value, req: E)
where
    E: Endpoint + Keyed + Clone,
{
    let server = MockServer::start_async().await;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s2 = seen.clone();
    server
        .mock_async(move |when, then| {
            when.method(POST).path(path.to_string()).is_true(move |req| {
                let headers = req.headers();
                let k = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
                s2.lock().unwrap().push(k.unwrap_or_default().to_owned());
                true
            });
            then.status(200).json_body(answer);
        })
        .await;
    let c = client(&server);
    let before = generated();
    c.send(&req).await.unwrap();
    c.send(&req).await.unwrap();
    c.send(&req.clone()).await.unwrap();
    assert_eq!(generated(), before + 1, "one key for the value and its clone");
    let ids = seen.lock().unwrap().clone();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(ids[0].len(), 36, "{ids:?}");
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(req.key(), ids[0]);
}

#[tokio::test]
async fn a_collect_sends_its_one_generated_key_every_time() {
    same_key_on_every_send(
        "/api/v1/collect",
        crate::mobile_money::collect_response(),
        CollectRequest::new("256712345678", 50_000, Currency::Ugx),
    )
    .await;
}

#[tokio::test]
async fn a_disburse_sends_its_one_generated_key_every_time() {
    same_key_on_every_send(
        "/api/v1/disburse",
        crate::mobile_money::disburse_response(),
        DisburseRequest::new("256701234567", 25_000, Currency::Ugx),
    )
    .await;
}

#[tokio::test]
async fn a_checkout_sends_its_one_generated_key_every_time() {
    same_key_on_every_send(
        "/api/v1/checkout",
        excerpt_checkout_response(),
        excerpt_checkout(),
    )
    .await;
}
