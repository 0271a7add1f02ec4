//! `payout <provider> balance | get | webhook verify` as a child process, configured through the
//! same environment variables as `Client::from_env()`, against sandboxes started in-process.

mod common;

use std::time::SystemTime;

use common::{env, run};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn rocheap_balance_and_get_from_the_environment() {
    let sandbox = rocheap::sandbox::Sandbox::start().await.unwrap();
    sandbox.set_balance(rocheap::Decimal::new(1234, 2));
    let vars = env(&[
        ("ROCHEAP_API_KEY", sandbox.api_key()),
        ("ROCHEAP_BASE_URL", &sandbox.base_url()),
    ]);

    let out = run(&["rocheap", "balance", "--json"], &vars, b"").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"balance": "12.34"}));
    let out = run(&["rocheap", "balance"], &vars, b"").await;
    assert_eq!(out.stdout.trim(), "balance: 12.34");
    assert_eq!(sandbox.server().count("GET", "/balance"), 2);

    let order = sandbox
        .client()
        .orders()
        .create(&rocheap::CreateOrder::new(10, 1, 2, 3))
        .await
        .unwrap();
    let out = run(&["rocheap", "get", order.order_id.as_str(), "--json"], &vars, b"").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["order_id"], order.order_id.as_str());
    assert_eq!(v["status"]["code"], "CREATED");
    let out = run(&["rocheap", "get", order.order_id.as_str()], &vars, b"").await;
    assert!(
        out.stdout.lines().any(|l| l == "status.code: CREATED"),
        "{}",
        out.stdout
    );

    // A provider error: its Display on stderr, exit 1, nothing on stdout.
    let out = run(&["rocheap", "get", "no-such-order"], &vars, b"").await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("ORDER_NOT_FOUND"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_exit_non_zero_and_never_print_the_key() {
    let sandbox = rocheap::sandbox::Sandbox::start().await.unwrap();
    let wrong_key = "rk_live_this_must_never_be_printed_123";
    let vars = env(&[
        ("ROCHEAP_API_KEY", wrong_key),
        ("ROCHEAP_BASE_URL", &sandbox.base_url()),
    ]);
    for args in [
        &["rocheap", "balance"][..],
        &["rocheap", "balance", "--json"],
        &["rocheap", "get", "x"],
    ] {
        let out = run(args, &vars, b"").await;
        assert_eq!(out.code, Some(1), "{args:?}");
        assert!(out.stderr.starts_with("payout: rocheap"), "{}", out.stderr);
        assert!(
            !out.stderr.contains(wrong_key) && !out.stdout.contains(wrong_key),
            "{}",
            out.stderr
        );
    }

    // No configuration: the missing variable is named.
    let out = run(&["rocheap", "balance"], &[], b"").await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("ROCHEAP_API_KEY"), "{}", out.stderr);
    let out = run(&["agent-catalog", "balance"], &[], b"").await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("AGENT_CATALOG_API_KEY"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn romplhub_and_agent_catalog_balance_json() {
    let romplhub = romplhub::sandbox::Sandbox::start().await.unwrap();
    let vars = env(&[
        ("ROMPLHUB_API_KEY", romplhub.api_key()),
        ("ROMPLHUB_BASE_URL", &romplhub.base_url()),
    ]);
    let out = run(&["romplhub", "balance", "--json"], &vars, b"").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let expected = serde_json::to_value(romplhub.client().balance().get().await.unwrap()).unwrap();
    assert_eq!(v, expected);
    assert!(
        out.stdout
            .contains(&romplhub::sandbox::SANDBOX_TOKENS.to_string()),
        "{}",
        out.stdout
    );

    let catalog = agent_catalog::sandbox::Sandbox::start().await.unwrap();
    let vars = env(&[
        ("AGENT_CATALOG_API_KEY", catalog.api_key()),
        ("AGENT_CATALOG_AGENT_ID", catalog.agent_id()),
        ("AGENT_CATALOG_BASE_URL", &catalog.base_url()),
    ]);
    let out = run(&["agent-catalog", "balance", "--json"], &vars, b"").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let usd = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency_code"] == "USD")
        .unwrap();
    assert_eq!(usd["available"], "100.00", "{v}");
    let out = run(&["agent-catalog", "balance"], &vars, b"").await;
    assert!(
        out.stdout.lines().any(|l| l.ends_with("currency_code: USD")),
        "{}",
        out.stdout
    );
}

fn header_args(headers: &payout_core::reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .iter()
        .map(|(k, v)| format!("{}: {}", k, v.to_str().unwrap()))
        .collect()
}

async fn verify(provider: &str, secret: &str, headers: &[String], body: &[u8]) -> common::Output {
    let mut args = vec![provider, "webhook", "verify", "--secret-env", "HOOK_SECRET"];
    for h in headers {
        args.extend(["--header", h]);
    }
    run(&args, &env(&[("HOOK_SECRET", secret)]), body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn rocheap_webhook_verify_accepts_a_valid_signature_and_refuses_a_tampered_body() {
    let key = "rocheap_hook_key_never_printed";
    let body = br#"{"success":true,"order_id":"o1","status":{"code":"COMPLETED","message":"done"}}"#;
    let headers = header_args(&rocheap::webhook::sign(key, body, SystemTime::now()));

    let out = verify("rocheap", key, &headers, body).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.starts_with("valid"), "{}", out.stdout);
    assert!(out.stdout.contains("status.code: COMPLETED"), "{}", out.stdout);

    let mut args = vec![
        "rocheap",
        "webhook",
        "verify",
        "--secret-env",
        "HOOK_SECRET",
        "--json",
    ];
    for h in &headers {
        args.extend(["--header", h.as_str()]);
    }
    let out = run(&args, &env(&[("HOOK_SECRET", key)]), body).await;
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["body"]["order_id"], "o1");

    let tampered = br#"{"success":true,"order_id":"o1","status":{"code":"FAILED","message":"done"}}"#;
    let out = verify("rocheap", key, &headers, tampered).await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("webhook refused"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);

    // Another key, a missing header, a missing secret: refused, the key never printed.
    let out = verify("rocheap", "another_key", &headers, body).await;
    assert_eq!(out.code, Some(1));
    let out = verify("rocheap", key, &[], body).await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("rocheap-api-signature"), "{}", out.stderr);
    let out = run(
        &["rocheap", "webhook", "verify", "--secret-env", "NOT_SET_ANYWHERE"],
        &[],
        body,
    )
    .await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("NOT_SET_ANYWHERE is not set"),
        "{}",
        out.stderr
    );
    for o in [&out.stdout, &out.stderr] {
        assert!(!o.contains(key));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unsigned_providers_say_why_there_is_nothing_to_verify() {
    let out = verify("romplhub", "s", &[], b"{}").await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("does not sign"), "{}", out.stderr);
    let out = verify("agent-catalog", "s", &[], b"{}").await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("no webhooks"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn xrocket_balance_get_and_webhook_verify() {
    let sandbox = xrocket::sandbox::Sandbox::start().await.unwrap();
    let vars = env(&[
        ("XROCKET_API_KEY", sandbox.api_key()),
        ("XROCKET_BASE_URL", &sandbox.base_url()),
    ]);
    let client = sandbox.client();

    let out = run(&["xrocket", "balance", "--json"], &vars, b"").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::to_value(client.app().balances().await.unwrap()).unwrap()
    );

    let req = xrocket::CreateTransfer::to_telegram_user(
        87209764,
        xrocket::Asset::Toncoin,
        xrocket::Decimal::new(123, 2),
    );
    let transfer = client.transfers().create(&req).await.unwrap();
    let id = transfer.transfer_id.to_string();
    let out = run(&["xrocket", "get", &id, "--json"], &vars, b"").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::to_value(client.transfers().get(id.as_str()).await.unwrap()).unwrap()
    );

    let secret = sandbox.webhook_secret().to_string();
    let body = br#"{"type":"invoicePay","timestamp":"2026-12-01T14:00:00Z","data":{"id":1,"status":"paid"}}"#;
    let headers = header_args(&xrocket::webhook::sign(&secret, body, SystemTime::now()));
    let out = verify("xrocket", &secret, &headers, body).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.starts_with("valid"), "{}", out.stdout);
    let tampered =
        br#"{"type":"invoicePay","timestamp":"2026-12-01T14:00:00Z","data":{"id":2,"status":"paid"}}"#;
    let out = verify("xrocket", &secret, &headers, tampered).await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("webhook refused"), "{}", out.stderr);
    assert!(!out.stderr.contains(&secret));
}

#[tokio::test(flavor = "multi_thread")]
async fn rohopay_balance_get_and_webhook_verify() {
    let sandbox = rohopay::sandbox::Sandbox::start().await.unwrap();
    let vars = env(&[
        ("ROHOPAY_API_KEY", sandbox.test_key()),
        ("ROHOPAY_BASE_URL", &sandbox.base_url()),
    ]);
    let client = sandbox.client();

    let out = run(&["rohopay", "balance", "--json"], &vars, b"").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::to_value(client.wallet().balance().await.unwrap()).unwrap()
    );

    let started = client
        .mobile_money()
        .collect(&rohopay::CollectRequest::new(
            "256712345678",
            50_000,
            rohopay::Currency::Ugx,
        ))
        .await
        .unwrap();
    let reference = started.transaction.internal_reference.to_string();
    let out = run(&["rohopay", "get", &reference, "--json"], &vars, b"").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["internal_reference"], reference.as_str(), "{v}");
    let out = run(&["rohopay", "get", "RHP-NOPE"], &vars, b"").await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.starts_with("payout: rohopay"), "{}", out.stderr);
    assert!(!out.stderr.contains(sandbox.test_key()));

    use payout_core::ExposeSecret;
    let secret = sandbox.webhook_secret().expose_secret().to_string();
    let body = br#"{"event":"payment.success","data":{"internal_reference":"RHP-1","status":"successful"}}"#;
    let headers = header_args(&rohopay::webhook::sign(&secret, body, SystemTime::now()));
    let out = verify("rohopay", &secret, &headers, body).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let tampered =
        br#"{"event":"payment.success","data":{"internal_reference":"RHP-2","status":"successful"}}"#;
    let out = verify("rohopay", &secret, &headers, tampered).await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("webhook refused"), "{}", out.stderr);
    assert!(!out.stderr.contains(&secret));
}
