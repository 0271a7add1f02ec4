//! Per-call control: `RequestOptions` through `ApiClient::send_with` / `Transport::send_with`,
//! on the client's own pool (no second client).

use std::sync::Arc;
use std::time::{Duration, Instant};

use httpmock::prelude::*;
use payout_core::reconcile::send_reconciled_with;
use payout_core::{
    ApiClient, AuthScheme, ClientOptions, Endpoint, EndpointMeta, Error, ErrorInfo, ErrorKind, HttpMethod,
    IdempotencyKey, Keyed, Reconcile, ReconcilePolicy, Request, RequestOptions, Response, Result,
    RetryPolicy, Safety, SecretString, Transport, TransportConfig,
};
use serde_json::json;

struct Fake {
    t: Transport,
}

impl ApiClient for Fake {
    const PROVIDER: &'static str = "optpay";
    fn transport(&self) -> &Transport {
        &self.t
    }
}

fn client(base: &str) -> Fake {
    let t = Transport::new(TransportConfig {
        provider: "optpay",
        version: "0",
        base_url: base.to_string(),
        credential: Some(SecretString::from("sk_opt")),
        auth: AuthScheme::Bearer,
        request_id_headers: &[],
        error_decoder: Arc::new(|_: u16, _: &payout_core::reqwest::header::HeaderMap, _: &[u8]| {
            ErrorInfo::default()
        }),
        options: ClientOptions::default().retry_policy(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(2))
                .jitter_seed(9),
        ),
    })
    .unwrap();
    Fake { t }
}

/// `GET /slow`.
struct Slow;

impl Endpoint for Slow {
    type Output = serde_json::Value;
    const META: EndpointMeta = EndpointMeta {
        operation: "slow.get",
        method: HttpMethod::Get,
        path: "/slow",
        safety: Safety::Idempotent,
    };
    fn to_request(&self) -> Result<Request> {
        Ok(Self::META.request())
    }
    fn decode(resp: &Response) -> Result<serde_json::Value> {
        resp.json()
    }
}

/// `POST /payouts`, key in the `Idempotency-Key` header (`header`) or in the body.
struct Payout {
    key: &'static str,
    header: bool,
}

impl Endpoint for Payout {
    type Output = serde_json::Value;
    const META: EndpointMeta = EndpointMeta {
        operation: "payouts.create",
        method: HttpMethod::Post,
        path: "/payouts",
        safety: Safety::KeyProtected,
    };
    fn to_request(&self) -> Result<Request> {
        let key = IdempotencyKey::new(self.key).map_err(|_| Error::invalid_input("optpay", "key", "bad"))?;
        let req = Self::META
            .request()
            .json(&json!({"amount": 5, "ref": self.key}))?;
        Ok(if self.header {
            req.idempotency_header("idempotency-key", key)
        } else {
            req.idempotency_key(key).safety(Safety::KeyProtected)
        })
    }
    fn decode(resp: &Response) -> Result<serde_json::Value> {
        resp.json()
    }
}

impl Keyed for Payout {
    const KEY_NAME: &'static str = "Idempotency-Key";
    fn key(&self) -> &str {
        self.key
    }
}

impl Reconcile for Payout {
    async fn lookup<C: ApiClient>(&self, _client: &C) -> Result<Option<serde_json::Value>> {
        Ok(None)
    }
    fn matches(&self, _found: &serde_json::Value) -> std::result::Result<(), &'static str> {
        Ok(())
    }
}

#[tokio::test]
async fn a_timeout_override_applies_to_that_call_only() {
    let server = MockServer::start_async().await;
    let slow = server
        .mock_async(|when, then| {
            when.method(GET).path("/slow");
            then.status(200)
                .delay(Duration::from_millis(700))
                .json_body(json!({}));
        })
        .await;
    let c = client(&server.base_url());
    let started = Instant::now();
    let e = c
        .send_with(&Slow, &RequestOptions::new().timeout(Duration::from_millis(150)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );

    // The attempt timeout can be overridden alone: every attempt times out, then retries stop.
    let e = c
        .send_with(
            &Slow,
            &RequestOptions::new().attempt_timeout(Duration::from_millis(100)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(e.attempts(), 3);

    // The client's own settings are untouched.
    c.send(&Slow).await.unwrap();
    assert!(slow.calls_async().await >= 5);
}

#[tokio::test]
async fn send_once_never_retries() {
    let server = MockServer::start_async().await;
    let busy = server
        .mock_async(|when, then| {
            when.method(GET).path("/slow");
            then.status(503);
        })
        .await;
    let c = client(&server.base_url());
    let e = c.send(&Slow).await.unwrap_err();
    assert_eq!(e.attempts(), 3, "the client retries by default");
    busy.assert_calls_async(3).await;
    busy.delete_async().await;

    let busy = server
        .mock_async(|when, then| {
            when.method(GET).path("/slow");
            then.status(503);
        })
        .await;
    let e = c
        .send_with(&Slow, &RequestOptions::new().send_once())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.attempts(), 1);
    busy.assert_calls_async(1).await;
}

#[tokio::test]
async fn the_key_override_is_what_goes_on_the_wire() {
    let server = MockServer::start_async().await;
    let with_override = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/payouts")
                .header("idempotency-key", "persisted-key-42");
            then.status(503);
        })
        .await;
    let c = client(&server.base_url());
    let opts = RequestOptions::new().idempotency_key(IdempotencyKey::new("persisted-key-42").unwrap());
    let e = c
        .send_with(
            &Payout {
                key: "fresh-key-1",
                header: true,
            },
            &opts,
        )
        .await
        .unwrap_err();
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("persisted-key-42"));
    with_override.assert_calls_async(3).await; // every retry carries the same overridden key
}

#[tokio::test]
async fn a_key_that_is_not_in_a_header_cannot_be_overridden() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(json!({}));
        })
        .await;
    let c = client(&server.base_url());
    let opts = RequestOptions::new().idempotency_key(IdempotencyKey::new("other").unwrap());
    let e = c
        .send_with(
            &Payout {
                key: "body-key-1",
                header: false,
            },
            &opts,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(!e.was_sent());

    // A reconciled call looks up by its own key: an override is refused before sending.
    let e = send_reconciled_with(
        &c,
        &Payout {
            key: "fresh-key-2",
            header: true,
        },
        &ReconcilePolicy::once(),
        &opts,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.field(), Some("Idempotency-Key"));
    any.assert_calls_async(0).await;

    // Timeouts and retries do pass through a reconciled call.
    send_reconciled_with(
        &c,
        &Payout {
            key: "fresh-key-3",
            header: true,
        },
        &ReconcilePolicy::once(),
        &RequestOptions::new().send_once(),
    )
    .await
    .unwrap();
    any.assert_calls_async(1).await;
}
