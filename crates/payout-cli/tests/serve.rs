//! `payout sandbox serve`, driven from another process with plain HTTP, as a Python or Node
//! bot (or curl) would drive it.

mod common;

use std::time::Duration;

use common::serve;
use payout_core::sandbox::WebhookInbox;
use serde_json::{Value, json};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn json_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    )
}

async fn create_rocheap_order(base: &str, key: &str, custom_id: &str) -> reqwest::Result<reqwest::Response> {
    http()
        .post(format!("{base}/create_order"))
        .header("rocheap-api-key", key)
        .json(&json!({"robux": 10, "roblox_user_id": 1, "universe_id": 2, "place_id": 3, "custom_order_id": custom_id}))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn rocheap_orders_advance_faults_and_signed_webhooks_over_http() {
    let inbox = WebhookInbox::start().await.unwrap();
    let served = serve(&["rocheap", "--port", "0", "--webhook-url", &inbox.url()]).await;
    let base = served.base_url().to_string();
    let key = served.get("api_key").to_string();
    assert_eq!(key, rocheap::sandbox::SANDBOX_API_KEY);
    assert_eq!(
        served.get("webhook_secret"),
        key,
        "ROCheap signs with the API key"
    );
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(served.get("control_url").starts_with("http://127.0.0.1:"));

    // A wrong key is refused as ROCheap does.
    let (status, body) = json_of(create_rocheap_order(&base, "wrong", "bot-0").await.unwrap()).await;
    assert_eq!((status, &body["error"]), (401, &json!("Invalid API key.")));

    // Create with the printed test key.
    let (status, order) = json_of(create_rocheap_order(&base, &key, "bot-1").await.unwrap()).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["status"]["code"], "CREATED");
    let id = order["order_id"].as_str().unwrap().to_string();

    // Advance it through the control API: the ids advanced come back.
    let (status, advanced) = json_of(http().post(served.control("/advance")).send().await.unwrap()).await;
    assert_eq!((status, advanced), (200, json!({"advanced": [id.clone()]})));
    let (_, got) = json_of(
        http()
            .get(format!("{base}/get_order_info/{id}"))
            .header("rocheap-api-key", &key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got["status"]["code"], "PROCESSING");

    // The status change was delivered, signed: the crate's own Verifier accepts it.
    let received = inbox.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1);
    let verified = rocheap::webhook::Verifier::new(key.clone())
        .verify(&received[0].headers, &received[0].body)
        .expect("the delivered callback verifies");
    assert!(
        matches!(verified.parse().unwrap(), rocheap::webhook::Callback::Order(o) if o.order_id.as_str() == id)
    );
    let (_, deliveries) = json_of(http().get(served.control("/deliveries")).send().await.unwrap()).await;
    assert_eq!(deliveries.as_array().unwrap().len(), 1);
    assert_eq!(deliveries[0]["status"], 200);
    assert_eq!(deliveries[0]["url"], inbox.url());
    assert_eq!(deliveries[0]["json"]["order_id"], id);
    assert!(deliveries[0]["headers"]["rocheap-api-signature"].is_string());

    // Script a fault on the create path: the next create answers 503, the one after works.
    let (status, scripted) = json_of(
        http()
            .post(served.control("/fault"))
            .json(&json!({"kind": "503", "count": 1, "method": "post", "path_prefix": "/create_order"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{scripted}");
    assert_eq!(scripted["scripted"], 1);
    // A GET is not affected by a POST fault.
    let ping = http()
        .get(format!("{base}/ping"))
        .header("rocheap-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status().as_u16(), 200);
    let (status, _) = json_of(create_rocheap_order(&base, &key, "bot-2").await.unwrap()).await;
    assert_eq!(status, 503);
    let (status, _) = json_of(create_rocheap_order(&base, &key, "bot-2").await.unwrap()).await;
    assert_eq!(status, 200);

    // The record: every create, in order, with its body.
    let (_, requests) = json_of(http().get(served.control("/requests")).send().await.unwrap()).await;
    let creates: Vec<&Value> = requests
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/create_order")
        .collect();
    assert_eq!(creates.len(), 4);
    assert_eq!(creates[3]["json"]["custom_order_id"], "bot-2");
    assert_eq!(creates[3]["headers"]["rocheap-api-key"], key);
    let cleared = http().delete(served.control("/requests")).send().await.unwrap();
    assert_eq!(cleared.status().as_u16(), 204);
    let (_, requests) = json_of(http().get(served.control("/requests")).send().await.unwrap()).await;
    assert_eq!(requests, json!([]));

    // Bad fault requests are refused with the reason, and script nothing.
    for bad in [
        json!({"kind": "boom"}),
        json!({"kind": "503", "count": 0}),
        json!({"kind": "503", "path_prefix": "/x"}),
        json!({"kind": "503", "cuont": 2}),
    ] {
        let (status, body) = json_of(
            http()
                .post(served.control("/fault"))
                .json(&bad)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{bad} -> {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{body}");
    }
    let ping = http()
        .get(format!("{base}/ping"))
        .header("rocheap-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status().as_u16(), 200);

    served.kill().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fixed_port_and_start_faults_reach_the_client_unchanged() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let served = serve(&[
        "rocheap",
        "--port",
        &port.to_string(),
        "--fault",
        "drop-after-processing@POST/create_order",
        "--fault",
        "html:502*2@GET/balance",
    ])
    .await;
    let base = served.base_url().to_string();
    assert_eq!(base, format!("http://127.0.0.1:{port}"));
    let key = served.get("api_key").to_string();

    // The create is processed, but the connection drops before the answer: the ambiguous case.
    let err = create_rocheap_order(&base, &key, "amb-1").await.unwrap_err();
    assert!(!err.is_status(), "{err}");
    let (_, found) = json_of(
        http()
            .get(format!("{base}/get_order_info_by_custom_id/amb-1"))
            .header("rocheap-api-key", &key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        found["success"], true,
        "the dropped create was processed: {found}"
    );

    // Two HTML error pages on GET /balance, then the real answer.
    for _ in 0..2 {
        let r = http()
            .get(format!("{base}/balance"))
            .header("rocheap-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 502);
        assert!(r.text().await.unwrap().contains("<html>"));
    }
    let (status, balance) = json_of(
        http()
            .get(format!("{base}/balance"))
            .header("rocheap-api-key", &key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, &balance["success"]), (200, &json!(true)));

    served.kill().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn agent_catalog_served_and_queried_by_a_second_payout_process() {
    let served = serve(&["agent-catalog"]).await;
    assert_eq!(served.get("api_key"), agent_catalog::sandbox::SANDBOX_API_KEY);
    assert_eq!(served.get("agent_id"), agent_catalog::sandbox::SANDBOX_AGENT_ID);
    let env = served.env();
    assert!(
        env.iter()
            .any(|(k, v)| k == "AGENT_CATALOG_BASE_URL" && v == served.base_url())
    );

    // The SDK pointed at the printed values, as a user's program would be.
    let client = agent_catalog::Client::builder()
        .api_key(served.get("api_key"))
        .agent_id(served.get("agent_id"))
        .base_url(served.base_url())
        .build()
        .unwrap();
    let req = agent_catalog::CreateOrder::new(agent_catalog::sandbox::STEAM_TOP_UP).topup_request(
        agent_catalog::TopupRequest::new(agent_catalog::Decimal::from(10))
            .account("steam_login", "player123"),
    );
    let order = client.orders().create(&req).await.unwrap();

    // `payout agent-catalog get` from the printed environment: pending, then advanced.
    let out = common::run(&["agent-catalog", "get", order.id.as_str(), "--json"], &env, b"").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let got: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(got["status"], "pending");
    let (_, advanced) = json_of(http().post(served.control("/advance")).send().await.unwrap()).await;
    assert_eq!(advanced, json!({"advanced": [order.id.as_str()]}));
    let out = common::run(&["agent-catalog", "get", order.id.as_str(), "--json"], &env, b"").await;
    let got: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(got["status"], "completed");

    // Balance after the 12.50 charge.
    let out = common::run(&["agent-catalog", "balance", "--json"], &env, b"").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let balances: Value = serde_json::from_str(&out.stdout).unwrap();
    let usd = balances["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency_code"] == "USD")
        .unwrap();
    assert_eq!(usd["available"], "87.50", "{balances}");

    // No webhooks: asking for a webhook URL is refused with the reason.
    let r = http()
        .post(served.control("/webhook-url"))
        .json(&json!({"url": "http://127.0.0.1:9/"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    served.kill().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_the_server_cleanly() {
    let mut served = serve(&["romplhub"]).await;
    assert!(served.base_url().ends_with("/api/v1"), "{}", served.base_url());
    assert!(served.get("webhook_secret").contains("does not sign"));
    let pid = served.child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(20), served.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_arguments_are_refused_before_serving() {
    let out = common::run(&["sandbox", "serve", "rocheap", "--fault", "boom"], &[], b"").await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("unknown fault `boom`"), "{}", out.stderr);
    let out = common::run(&["sandbox", "serve", "nowhere"], &[], b"").await;
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("rocheap"),
        "lists the providers: {}",
        out.stderr
    );
    let out = common::run(
        &[
            "sandbox",
            "serve",
            "agent-catalog",
            "--webhook-url",
            "http://127.0.0.1:9/",
        ],
        &[],
        b"",
    )
    .await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("no webhooks"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn rohopay_delivery_verified_by_a_second_payout_process() {
    let inbox = WebhookInbox::start().await.unwrap();
    let served = serve(&["rohopay", "--webhook-url", &inbox.url()]).await;
    let secret = served.get("webhook_secret").to_string();
    assert_eq!(secret, rohopay::sandbox::SANDBOX_WEBHOOK_SECRET);
    let client = rohopay::Client::builder()
        .api_key(served.get("api_key").to_string())
        .base_url(served.base_url())
        .build()
        .unwrap();
    let started = client
        .mobile_money()
        .collect(&rohopay::CollectRequest::new(
            "256712345678",
            50_000,
            rohopay::Currency::Ugx,
        ))
        .await
        .unwrap();
    let (_, advanced) = json_of(http().post(served.control("/advance")).send().await.unwrap()).await;
    assert_eq!(
        advanced,
        json!({"advanced": [started.transaction.internal_reference.to_string()]})
    );
    let received = inbox.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1);

    // `payout rohopay webhook verify` accepts the delivery exactly as it arrived.
    let mut args = vec![
        "rohopay".to_string(),
        "webhook".into(),
        "verify".into(),
        "--secret-env".into(),
        "HOOK".into(),
    ];
    for (k, v) in &received[0].headers {
        args.extend(["--header".to_string(), format!("{k}: {v}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run(&args, &common::env(&[("HOOK", &secret)]), &received[0].body).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut tampered = received[0].body.to_vec();
    tampered.push(b' ');
    let out = common::run(&args, &common::env(&[("HOOK", &secret)]), &tampered).await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);

    served.kill().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn json_banner_is_one_line_a_bot_can_parse() {
    use tokio::io::AsyncBufReadExt;
    let mut child = common::payout()
        .args(["sandbox", "serve", "xrocket", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let banner: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(banner["provider"], "xrocket");
    assert_eq!(banner["api_key"], xrocket::sandbox::SANDBOX_API_KEY);
    assert_eq!(banner["webhook_secret"], xrocket::sandbox::SANDBOX_WEBHOOK_SECRET);
    assert_eq!(banner["env"]["XROCKET_BASE_URL"], banner["base_url"]);
    // The control API answers the same banner.
    let control = banner["control_url"].as_str().unwrap();
    let (_, info) = json_of(http().get(control).send().await.unwrap()).await;
    assert_eq!(info, banner);
    // And the API is there: a wrong token is refused.
    let r = http()
        .get(format!(
            "{}/api/v1/app-info",
            banner["base_url"].as_str().unwrap()
        ))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "{}", r.text().await.unwrap());
    assert!(child.try_wait().unwrap().is_none());
    child.kill().await.unwrap();
}
