//! Traces: one `payout.call` span per operation and one `payout.attempt` child per attempt,
//! with OpenTelemetry field names, recorded on failure too, and never a body or a header value.

use std::sync::Arc;
use std::time::Duration;

use httpmock::prelude::*;
use payout_core::test_util::{LogCapture, assert_no_secret};
use payout_core::{
    AuthScheme, ClientOptions, ErrorInfo, ErrorKind, IdempotencyKey, Request, RetryPolicy, SecretString,
    Transport, TransportConfig,
};
use serde_json::json;

const CREDENTIAL: &str = "sk_trace_SECRET_91";
const CARD: &str = "4111111111111111";

fn transport(base: &str) -> Transport {
    Transport::new(TransportConfig {
        provider: "tracepay",
        version: "0",
        base_url: base.to_string(),
        credential: Some(SecretString::from(CREDENTIAL)),
        auth: AuthScheme::Bearer,
        request_id_headers: &[],
        error_decoder: Arc::new(|_: u16, _: &payout_core::reqwest::header::HeaderMap, _: &[u8]| {
            ErrorInfo::default()
        }),
        options: ClientOptions::default().retry_policy(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(2))
                .jitter_seed(5),
        ),
    })
    .unwrap()
}

/// The lines of `log` that close a span named `name` (the innermost span of the line), with
/// their fields.
fn closes<'a>(log: &'a str, name: &str) -> Vec<&'a str> {
    log.lines()
        .filter(|l| l.contains(" close time.busy"))
        .filter(|l| {
            let inner = match (l.rfind("payout.call{"), l.rfind("payout.attempt{")) {
                (_, Some(_)) => "payout.attempt",
                (Some(_), None) => "payout.call",
                _ => "",
            };
            inner == name
        })
        .collect()
}

#[tokio::test]
async fn a_failed_retried_call_records_every_field() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/cards/c_77/payouts");
            then.status(503)
                .header("x-request-id", "req-503")
                .body(format!("card {CARD} busy"));
        })
        .await;
    let key = IdempotencyKey::new("trace-key-0001").unwrap();
    let capture = LogCapture::start();
    let e = transport(&server.base_url())
        .send(
            Request::post("payouts.create", "/cards/{card_id}/payouts")
                .path("/cards/c_77/payouts")
                .json(&json!({"card": CARD}))
                .unwrap()
                .idempotency_header("idempotency-key", key),
        )
        .await
        .unwrap_err();
    let log = capture.contents();
    assert_eq!(e.attempts(), 3);
    if std::env::var("SHOW_TRACES").is_ok() {
        eprintln!("{log}");
    }
    assert!(e.may_have_succeeded());

    let calls = closes(&log, "payout.call");
    assert_eq!(calls.len(), 1, "one operation span:\n{log}");
    let call = calls[0];
    for field in [
        "payout.provider=\"tracepay\"",
        "payout.operation=\"payouts.create\"",
        "http.request.method=\"POST\"",
        "url.path=\"/cards/{card_id}/payouts\"",
        "server.address=\"127.0.0.1\"",
        "payout.idempotency_key=\"trace-key-0001\"",
        "http.response.status_code=503",
        "http.request.resend_count=2",
        "error.type=\"provider\"",
        "payout.request_id=\"req-503\"",
        "payout.outcome=\"ambiguous\"",
    ] {
        assert!(call.contains(field), "missing {field} in:\n{call}");
    }
    assert!(!call.contains("c_77"), "the expanded path (an id) leaked: {call}");

    let attempts = closes(&log, "payout.attempt");
    assert_eq!(attempts.len(), 3, "one span per attempt:\n{log}");
    for (i, a) in attempts.iter().enumerate() {
        assert!(a.contains(&format!("http.request.resend_count={i}")), "{a}");
        assert!(a.contains("http.response.status_code=503"), "{a}");
        assert!(a.contains("error.type=\"503\""), "{a}");
        assert!(
            a.contains("payout.call{"),
            "an attempt is a child of the call: {a}"
        );
    }
    assert_no_secret(
        &log,
        &[
            ("credential", CREDENTIAL),
            ("card", CARD),
            ("request body", "\"card\""),
        ],
        "traces",
    );
}

#[tokio::test]
async fn an_unprotected_5xx_is_ambiguous_and_a_refusal_failed() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/pay");
            then.status(502);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/missing");
            then.status(404);
        })
        .await;
    let t = transport(&server.base_url());
    let capture = LogCapture::start();
    let e = t
        .send(Request::post("pay", "/pay").json(&json!({})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    let e = t.send(Request::get("thing.get", "/missing")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let log = capture.contents();
    let calls = closes(&log, "payout.call");
    assert_eq!(calls.len(), 2, "{log}");
    assert!(calls[0].contains("payout.outcome=\"ambiguous\""), "{}", calls[0]);
    assert!(calls[0].contains("error.type=\"ambiguous\""), "{}", calls[0]);
    assert!(calls[0].contains("http.request.resend_count=0"), "{}", calls[0]);
    assert!(calls[1].contains("payout.outcome=\"failed\""), "{}", calls[1]);
    assert!(calls[1].contains("error.type=\"not_found\""), "{}", calls[1]);
    assert!(calls[1].contains("http.response.status_code=404"), "{}", calls[1]);
}

#[tokio::test]
async fn a_connect_failure_and_a_success_are_recorded_too() {
    let t = transport(&payout_core::test_util::refused_base_url());
    let capture = LogCapture::start();
    let e = t.send(Request::get("thing.get", "/thing")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    let log = capture.contents();
    let call = closes(&log, "payout.call")[0].to_string();
    assert!(call.contains("error.type=\"transport\""), "{call}");
    assert!(call.contains("payout.outcome=\"failed\""), "{call}");
    assert!(call.contains("http.request.resend_count=2"), "{call}");
    assert!(!call.contains("http.response.status_code"), "{call}");
    let attempts = closes(&log, "payout.attempt");
    assert!(
        attempts.iter().all(|a| a.contains("error.type=\"not_sent\"")),
        "{log}"
    );
    drop(capture);

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/thing");
            then.status(200)
                .header("x-request-id", "req-ok")
                .json_body(json!({}));
        })
        .await;
    let capture = LogCapture::start();
    transport(&server.base_url())
        .send(Request::get("thing.get", "/thing"))
        .await
        .unwrap();
    let log = capture.contents();
    let call = closes(&log, "payout.call")[0].to_string();
    assert!(call.contains("payout.outcome=\"ok\""), "{call}");
    assert!(call.contains("http.response.status_code=200"), "{call}");
    assert!(call.contains("payout.request_id=\"req-ok\""), "{call}");
    assert!(!call.contains("error.type"), "{call}");
}
