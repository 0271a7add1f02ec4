//! The health probe.

use httpmock::prelude::*;
use serde_json::json;

use crate::{client, p};

#[tokio::test]
async fn health_probe_reads_root_health() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/health");
            then.status(200)
                .json_body(json!({"status": "ok", "time": "2024-11-01T10:00:00Z"}));
        })
        .await;
    let h = client(&server).health().await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(h.path, "/health");
    assert_eq!(h.status_code, 200);
    assert_eq!(h.status.as_deref(), Some("ok"));
    assert!(h.is_healthy());
    assert_eq!(h.body["time"], "2024-11-01T10:00:00Z");
}

#[tokio::test]
async fn health_probe_falls_back_to_the_agent_path_and_reads_text() {
    let server = MockServer::start_async().await;
    let root = server
        .mock_async(|when, then| {
            when.method(GET).path("/health");
            then.status(404);
        })
        .await;
    let scoped = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/health"));
            then.status(200).body("OK\n");
        })
        .await;
    let h = client(&server).health().await.unwrap();
    root.assert_calls_async(1).await;
    scoped.assert_calls_async(1).await;
    assert_eq!(h.path, "/agent/{agent_id}/health");
    assert_eq!(h.body, json!("OK"));
    assert!(h.is_healthy());
}

#[tokio::test]
async fn health_reports_a_degraded_body_and_errors_on_5xx() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/health");
            then.status(200).json_body(json!({"status": "DOWN"}));
        })
        .await;
    assert!(!client(&server).health().await.unwrap().is_healthy());

    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/health");
            then.status(503).body("<html>maintenance</html>");
        })
        .await;
    let err = client(&server).health().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    m.assert_calls_async(3).await;
}
