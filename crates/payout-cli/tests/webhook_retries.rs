//! `payout sandbox serve --webhook-retries`: a webhook the receiver does not answer 2xx is
//! delivered again on the given schedule, and `/deliveries` shows every attempt.

mod common;

use std::time::Duration;

use common::{payout, serve};
use payout_core::sandbox::{Fault, WebhookInbox};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_webhook_is_delivered_again_on_the_schedule_given() {
    let inbox = WebhookInbox::start().await.unwrap();
    inbox.server().fail_next(2, Fault::Status(500));
    let served = serve(&[
        "rocheap",
        "--webhook-url",
        &inbox.url(),
        "--webhook-retries",
        "3*50ms",
    ])
    .await;
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{}/create_order", served.base_url()))
        .header("rocheap-api-key", served.get("api_key"))
        .json(&json!({"robux": 10, "roblox_user_id": 1, "universe_id": 2, "place_id": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 200);
    http.post(served.control("/advance")).send().await.unwrap();

    let received = inbox.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 3, "500, 500, then 200");
    assert!(received.iter().all(|r| r.body == received[0].body));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let d = loop {
        let all: Value = http
            .get(served.control("/deliveries"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let d = all[0].clone();
        if d["finished"] == json!(true) || tokio::time::Instant::now() >= deadline {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(d["delivered_on"], json!(3), "{d}");
    let statuses: Vec<&Value> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(statuses, [&json!(500), &json!(500), &json!(200)]);
    served.kill().await;
}

#[tokio::test]
async fn a_bad_schedule_is_refused_with_the_rule() {
    let out = payout()
        .args(["sandbox", "serve", "rocheap", "--webhook-retries", "26*1ms"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at most 25 retries"), "{err}");
}
