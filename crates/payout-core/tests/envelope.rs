//! `envelope::decode`: success true / false / missing, a missing payload field, and a 2xx
//! payload that does not decode; plus `failure_info` on a body that is not JSON.

use std::sync::Arc;

use httpmock::prelude::*;
use payout_core::envelope::{Payload, decode, failure_info};
use payout_core::{
    AuthScheme, ClientOptions, ErrorInfo, ErrorKind, Request, Response, RetryPolicy, SecretString, Transport,
    TransportConfig,
};
use serde::Deserialize;
use serde_json::json;

const KEY: &str = "sk_env_SECRET_77";

#[derive(Debug, Deserialize, PartialEq)]
struct Order {
    id: u64,
}

#[derive(Deserialize)]
struct Failure {
    code: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
}

fn failure(body: &[u8]) -> ErrorInfo {
    failure_info(body, |f: Failure| ErrorInfo {
        code: f.code,
        message: f.message,
        request_id: f.request_id,
        kind: None,
    })
}

async fn respond(status: u16, body: serde_json::Value) -> (MockServer, Response) {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/x");
            then.status(status)
                .header("x-request-id", "req-1")
                .json_body(body);
        })
        .await;
    let t = Transport::new(TransportConfig {
        provider: "envpay",
        version: "0",
        base_url: server.base_url(),
        credential: Some(SecretString::from(KEY)),
        auth: AuthScheme::Bearer,
        request_id_headers: &[],
        error_decoder: Arc::new(|_: u16, _: &payout_core::reqwest::header::HeaderMap, _: &[u8]| {
            ErrorInfo::default()
        }),
        options: ClientOptions::default().retry_policy(RetryPolicy::none()),
    })
    .unwrap();
    let resp = t.send(Request::get("x.get", "/x")).await.unwrap();
    (server, resp)
}

#[tokio::test]
async fn success_true_decodes_the_root_or_the_field() {
    let (_s, resp) = respond(200, json!({"success": true, "id": 7})).await;
    assert_eq!(
        decode::<Order>(&resp, Payload::Root, failure).unwrap(),
        Order { id: 7 }
    );
    let (_s, resp) = respond(200, json!({"success": true, "data": {"id": 8}, "extra": [1]})).await;
    assert_eq!(
        decode::<Order>(&resp, Payload::Field("data"), failure).unwrap(),
        Order { id: 8 }
    );
}

#[tokio::test]
async fn success_false_is_a_provider_error_keeping_status_and_scrubbed() {
    let (_s, resp) = respond(
        200,
        json!({"success": false, "code": format!("bad_{KEY}"), "message": format!("key {KEY} refused"), "request_id": format!("r-{KEY}")}),
    )
    .await;
    let e = decode::<Order>(&resp, Payload::Root, failure).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(e.status(), Some(200));
    assert!(!e.may_have_succeeded());
    let shown = format!("{e} {e:?} {:?} {:?}", e.provider_code(), e.request_id());
    assert!(!shown.contains(KEY), "{shown}");
    assert!(e.message().contains("refused"));
    assert!(e.request_id().unwrap().starts_with("r-"));

    // Without a message or request id of its own: a fixed message, the header's request id.
    let (_s, resp) = respond(200, json!({"success": false})).await;
    let e = decode::<Order>(&resp, Payload::Root, failure).unwrap_err();
    assert!(e.message().contains("success: false"), "{}", e.message());
    assert_eq!(e.request_id(), Some("req-1"));
}

#[tokio::test]
async fn a_missing_success_field_is_a_decode_error_that_may_have_succeeded() {
    let (_s, resp) = respond(201, json!({"id": 7})).await;
    let e = decode::<Order>(&resp, Payload::Root, failure).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert_eq!(e.status(), Some(201));
    assert!(e.may_have_succeeded());
    assert!(e.message().contains("no `success` field"), "{}", e.message());
    assert_eq!(e.request_id(), Some("req-1"));
}

#[tokio::test]
async fn a_missing_payload_field_is_a_decode_error_naming_it() {
    let (_s, resp) = respond(200, json!({"success": true, "result": {"id": 1}})).await;
    let e = decode::<Order>(&resp, Payload::Field("data"), failure).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert_eq!(e.status(), Some(200));
    assert!(e.message().contains("`data`"), "{}", e.message());
    assert!(e.may_have_succeeded());
}

#[tokio::test]
async fn a_2xx_payload_that_does_not_decode_may_have_succeeded() {
    let (_s, resp) = respond(200, json!({"success": true, "data": {"id": "seven"}})).await;
    let e = decode::<Order>(&resp, Payload::Field("data"), failure).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.may_have_succeeded());
    assert_eq!(e.status(), Some(200));

    let (_s, resp) = respond(200, json!({"success": true, "id": "seven"})).await;
    let e = decode::<Order>(&resp, Payload::Root, failure).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.may_have_succeeded());
    assert!(e.message().contains("id"), "{}", e.message());

    // Not an object at all.
    let (_s, resp) = respond(200, json!([1, 2])).await;
    let e = decode::<Order>(&resp, Payload::Root, failure).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.may_have_succeeded());
}

#[test]
fn failure_info_of_a_page_that_is_not_json_is_empty() {
    let info = failure(b"<html><body>502 Bad Gateway</body></html>");
    assert!(info.code.is_none() && info.message.is_none() && info.request_id.is_none());
    let info = failure(br#"{"code":"x","message":"y"}"#);
    assert_eq!(info.code.as_deref(), Some("x"));
    assert_eq!(info.message.as_deref(), Some("y"));
}
