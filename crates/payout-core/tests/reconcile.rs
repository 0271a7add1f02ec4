//! `reconcile`: every row of the module table, through a tiny fake provider on httpmock.

use std::sync::Arc;
use std::time::Duration;

use httpmock::prelude::*;
use payout_core::reconcile::{outcome_unknown, send_reconciled};
use payout_core::{
    ApiClient, AuthScheme, ClientOptions, Endpoint, EndpointMeta, Error, ErrorInfo, ErrorKind, HttpMethod,
    IdempotencyKey, Keyed, Reconcile, ReconcilePolicy, Request, Response, Result, RetryPolicy, Safety,
    SecretString, Transport, TransportConfig,
};
use serde::Deserialize;
use serde_json::json;

struct Fake {
    t: Transport,
}

impl ApiClient for Fake {
    const PROVIDER: &'static str = "fakepay";
    fn transport(&self) -> &Transport {
        &self.t
    }
}

fn client(base: &str) -> Fake {
    let t = Transport::new(TransportConfig {
        provider: "fakepay",
        version: "0",
        base_url: base.to_string(),
        credential: Some(SecretString::from("sk_fake")),
        auth: AuthScheme::Bearer,
        request_id_headers: &[],
        error_decoder: Arc::new(
            |_: u16, _: &payout_core::reqwest::header::HeaderMap, body: &[u8]| {
                let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                ErrorInfo {
                    code: v["code"].as_str().map(str::to_string),
                    message: v["message"].as_str().map(str::to_string),
                    ..ErrorInfo::default()
                }
            },
        ),
        options: ClientOptions::default().retry_policy(
            RetryPolicy::default()
                .max_retries(1)
                .base_delay(Duration::from_millis(2))
                .jitter_seed(3),
        ),
    })
    .unwrap();
    Fake { t }
}

#[derive(Debug, Deserialize, PartialEq)]
struct Payment {
    id: String,
    key: String,
    amount: u32,
}

/// `POST /payments`: key-protected (`Idempotency-Key` header) when `P`, else unprotected
/// with the key in the body.
struct Pay<const P: bool> {
    key: String,
    amount: u32,
}

impl<const P: bool> Endpoint for Pay<P> {
    type Output = Payment;
    const META: EndpointMeta = EndpointMeta {
        operation: "payments.create",
        method: HttpMethod::Post,
        path: "/payments",
        safety: if P {
            Safety::KeyProtected
        } else {
            Safety::Unprotected
        },
    };
    fn to_request(&self) -> Result<Request> {
        let key = IdempotencyKey::new(self.key.clone())
            .map_err(|_| Error::invalid_input("fakepay", "key", "bad key"))?;
        let req = Self::META
            .request()
            .json(&json!({"amount": self.amount, "key": self.key}))?;
        Ok(if P {
            req.idempotency_header("idempotency-key", key)
        } else {
            req.idempotency_key(key)
        })
    }
    fn decode(resp: &Response) -> Result<Payment> {
        resp.json()
    }
}

/// `GET /payments/by-key/{key}`.
struct ByKey(String);

impl Endpoint for ByKey {
    type Output = Payment;
    const META: EndpointMeta = EndpointMeta {
        operation: "payments.by_key",
        method: HttpMethod::Get,
        path: "/payments/by-key/{key}",
        safety: Safety::Idempotent,
    };
    fn to_request(&self) -> Result<Request> {
        Ok(Self::META.request().path(format!(
            "/payments/by-key/{}",
            payout_core::encode_path_segment(&self.0)
        )))
    }
    fn decode(resp: &Response) -> Result<Payment> {
        resp.json()
    }
}

impl<const P: bool> Keyed for Pay<P> {
    const KEY_NAME: &'static str = "Idempotency-Key";
    fn key(&self) -> &str {
        &self.key
    }
}

impl<const P: bool> Reconcile for Pay<P> {
    async fn lookup<C: ApiClient>(&self, client: &C) -> Result<Option<Payment>> {
        client.send(&ByKey(self.key.clone())).await.map(Some)
    }
    fn matches(&self, found: &Payment) -> std::result::Result<(), &'static str> {
        if found.amount != self.amount {
            return Err("amount");
        }
        Ok(())
    }
    fn already_exists(err: &Error) -> bool {
        err.provider_code() == Some("key_taken")
    }
}

const KEY: &str = "pay-7f3a-0001";

fn pay<const P: bool>() -> Pay<P> {
    Pay {
        key: KEY.to_string(),
        amount: 500,
    }
}

fn found(amount: u32) -> serde_json::Value {
    json!({"id": "p_1", "key": KEY, "amount": amount})
}

async fn mocks<'a>(
    server: &'a MockServer,
    create: (u16, serde_json::Value),
    lookup: (u16, serde_json::Value),
) -> (httpmock::Mock<'a>, httpmock::Mock<'a>) {
    let c = server
        .mock_async(|when, then| {
            when.method(POST).path("/payments");
            then.status(create.0).json_body(create.1.clone());
        })
        .await;
    let l = server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/payments/by-key/{KEY}"));
            then.status(lookup.0).json_body(lookup.1.clone());
        })
        .await;
    (c, l)
}

#[tokio::test]
async fn success_needs_no_lookup() {
    let server = MockServer::start_async().await;
    let (c, l) = mocks(&server, (201, found(500)), (200, found(500))).await;
    let out = send_reconciled(
        &client(&server.base_url()),
        &pay::<true>(),
        &ReconcilePolicy::once(),
    )
    .await
    .unwrap();
    assert_eq!(out.amount, 500);
    c.assert_calls_async(1).await;
    l.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_definite_refusal_is_returned_without_a_lookup() {
    let server = MockServer::start_async().await;
    let (c, l) = mocks(
        &server,
        (400, json!({"code": "bad_amount", "message": "amount too small"})),
        (200, found(500)),
    )
    .await;
    let e = send_reconciled(
        &client(&server.base_url()),
        &pay::<true>(),
        &ReconcilePolicy::once(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(e.status(), Some(400));
    assert_eq!(e.provider_code(), Some("bad_amount"));
    assert!(!outcome_unknown(&e));
    c.assert_calls_async(1).await;
    l.assert_calls_async(0).await;
}

#[tokio::test]
async fn unknown_outcome_and_a_matching_object_is_ok() {
    let server = MockServer::start_async().await;
    let (c, l) = mocks(&server, (503, json!({"message": "busy"})), (200, found(500))).await;
    let out = send_reconciled(
        &client(&server.base_url()),
        &pay::<true>(),
        &ReconcilePolicy::once(),
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        Payment {
            id: "p_1".into(),
            key: KEY.into(),
            amount: 500
        }
    );
    c.assert_calls_async(2).await; // key-protected: retried once with the same key
    l.assert_calls_async(1).await;
}

#[tokio::test]
async fn unprotected_unknown_outcome_and_a_matching_object_is_ok() {
    let server = MockServer::start_async().await;
    let (c, l) = mocks(&server, (502, json!({})), (200, found(500))).await;
    let out = send_reconciled(
        &client(&server.base_url()),
        &pay::<false>(),
        &ReconcilePolicy::once(),
    )
    .await
    .unwrap();
    assert_eq!(out.id, "p_1");
    c.assert_calls_async(1).await; // unprotected: never re-sent
    l.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_mismatch_is_a_provider_error_naming_the_field() {
    let server = MockServer::start_async().await;
    let (_c, _l) = mocks(&server, (503, json!({})), (200, found(999))).await;
    let e = send_reconciled(
        &client(&server.base_url()),
        &pay::<true>(),
        &ReconcilePolicy::once(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(e.field(), Some("amount"));
    assert!(e.message().contains("`amount` differs"), "{}", e.message());
    assert!(e.message().contains(KEY), "{}", e.message());
    assert!(!e.is_retryable());
    assert!(!e.may_have_succeeded());
}

#[tokio::test]
async fn key_protected_and_absent_returns_the_original_retryable_error() {
    let server = MockServer::start_async().await;
    let (_c, l) = mocks(&server, (503, json!({"message": "busy"})), (404, json!({}))).await;
    let e = send_reconciled(
        &client(&server.base_url()),
        &pay::<true>(),
        &ReconcilePolicy::once(),
    )
    .await
    .unwrap_err();
    assert_ne!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(e.status(), Some(503));
    assert!(e.is_retryable(), "retry with the same key: {e:?}");
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some(KEY));
    l.assert_calls_async(1).await;
}

#[tokio::test]
async fn unprotected_and_absent_is_ambiguous_with_the_key() {
    let server = MockServer::start_async().await;
    let (_c, l) = mocks(&server, (504, json!({})), (404, json!({}))).await;
    let policy = ReconcilePolicy {
        lookups: 2,
        spacing: Duration::from_millis(1),
    };
    let e = send_reconciled(&client(&server.base_url()), &pay::<false>(), &policy)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert!(e.message().contains(KEY), "{}", e.message());
    assert!(e.message().contains("never send it again"), "{}", e.message());
    l.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_failed_lookup_is_ambiguous() {
    let server = MockServer::start_async().await;
    let (_c, _l) = mocks(&server, (503, json!({})), (401, json!({"message": "no"}))).await;
    let e = send_reconciled(
        &client(&server.base_url()),
        &pay::<true>(),
        &ReconcilePolicy::once(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert!(e.message().contains("looking it up"), "{}", e.message());
    assert!(e.message().contains(KEY), "{}", e.message());
}

#[tokio::test]
async fn already_exists_is_looked_up_and_a_match_is_ok() {
    let server = MockServer::start_async().await;
    let (c, l) = mocks(
        &server,
        (409, json!({"code": "key_taken", "message": "exists"})),
        (200, found(500)),
    )
    .await;
    let out = send_reconciled(
        &client(&server.base_url()),
        &pay::<true>(),
        &ReconcilePolicy::once(),
    )
    .await
    .unwrap();
    assert_eq!(out.amount, 500);
    c.assert_calls_async(1).await;
    l.assert_calls_async(1).await;
}

#[tokio::test]
async fn already_exists_and_absent_is_ambiguous_even_when_key_protected() {
    let server = MockServer::start_async().await;
    let (_c, _l) = mocks(&server, (409, json!({"code": "key_taken"})), (404, json!({}))).await;
    let e = send_reconciled(
        &client(&server.base_url()),
        &pay::<true>(),
        &ReconcilePolicy::once(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert!(e.message().contains(KEY), "{}", e.message());
}

#[tokio::test]
async fn nothing_sent_needs_no_lookup() {
    let base = payout_core::test_util::refused_base_url();
    let e = send_reconciled(&client(&base), &pay::<false>(), &ReconcilePolicy::once())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(!e.was_sent());
    assert!(!outcome_unknown(&e));
}

/// An unprotected call whose key turns out to belong to an earlier, different object stays
/// Ambiguous: the provider does not deduplicate on the key, so ours may exist beside it.
#[tokio::test]
async fn an_unprotected_mismatch_stays_ambiguous() {
    let server = MockServer::start_async().await;
    let (_c, _l) = mocks(&server, (503, json!({})), (200, found(999))).await;
    let e = send_reconciled(
        &client(&server.base_url()),
        &pay::<false>(),
        &ReconcilePolicy::once(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(e.field(), Some("amount"));
    assert!(e.may_have_succeeded());
    assert!(!e.is_retryable());
    assert!(e.message().contains(KEY), "{}", e.message());
}

#[tokio::test]
async fn the_lookups_end_at_the_calls_total_deadline() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/payments");
            then.status(503).json_body(json!({}));
        })
        .await;
    let slow = server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/payments/by-key/{KEY}"));
            then.status(200)
                .json_body(found(500))
                .delay(Duration::from_secs(2));
        })
        .await;
    let t = Transport::new(TransportConfig {
        provider: "fakepay",
        version: "0",
        base_url: server.base_url(),
        credential: Some(SecretString::from("sk_fake")),
        auth: AuthScheme::Bearer,
        request_id_headers: &[],
        error_decoder: Arc::new(|_: u16, _: &payout_core::reqwest::header::HeaderMap, _: &[u8]| {
            ErrorInfo::default()
        }),
        options: ClientOptions::default()
            .timeout(Duration::from_millis(400))
            .retry_policy(RetryPolicy::none()),
    })
    .unwrap();
    let policy = ReconcilePolicy {
        lookups: 3,
        spacing: Duration::from_millis(1),
    };
    let start = std::time::Instant::now();
    let e = send_reconciled(&Fake { t }, &pay::<false>(), &policy)
        .await
        .unwrap_err();
    let took = start.elapsed();
    // Before: each of the 3 lookups had its own 400 ms, so the call took over 1.2 s.
    assert!(took < Duration::from_millis(700), "took {took:?}");
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert!(e.message().contains(KEY), "{}", e.message());
    assert_eq!(slow.calls_async().await, 1, "no lookup starts after the deadline");
}
