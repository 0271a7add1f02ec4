//! No secret reaches TRACE logs, `Debug`, `Display` or error snippets.

use httpmock::prelude::*;
use payout_core::test_util::{LogCapture, assert_no_secret};
use romplhub::{Client, CreateOrder, Login, OrderPack, Register, TopUpRequest, WlidTokens};
use serde_json::json;

use crate::orders::{BACKUP, CODE, PASSWORD, REFRESH, WLID};
use crate::{API_KEY, JWT, fast_retries};

const ACCOUNT_PASSWORD: &str = "romplhub-account-pw-DO-NOT-LEAK";
const MINTED: &str = "vx_minted_key_DO_NOT_LEAK_5521";

fn secrets() -> Vec<(&'static str, &'static str)> {
    vec![
        ("api key", API_KEY),
        ("jwt", JWT),
        ("roblox password", PASSWORD),
        ("backup code", BACKUP),
        ("2fa code", CODE),
        ("wlid refresh token", REFRESH),
        ("wlid token", WLID),
        ("romplhub password", ACCOUNT_PASSWORD),
        ("minted key", MINTED),
    ]
}

#[tokio::test]
async fn secrets_never_reach_logs_debug_or_errors() {
    let capture = LogCapture::start();
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/login");
            then.status(200).json_body(
                json!({"access_token": JWT, "token_type": "bearer", "user_id": 1, "username": "me"}),
            );
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/register");
            then.status(201).json_body(
                json!({"access_token": JWT, "token_type": "bearer", "user_id": 2, "username": "me2"}),
            );
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/api-key");
            then.status(201).json_body(json!({"api_key": MINTED}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/orders");
            then.status(201)
                .json_body(json!({"order_uid": "VX-1", "status": "pending", "tokens_charged": 3}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/orders/VX-1/2fa");
            then.status(200).json_body(json!({"status": "purchasing"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/packs/7/order");
            // A careless provider echoing the input in its validation error.
            then.status(422).json_body(json!({"detail": [{"loc": ["body", "password"], "msg": "bad", "type": "x", "input": PASSWORD}]}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/balance");
            // ... and echoing the credential in a 401 and a 500.
            then.status(401)
                .json_body(json!({"detail": format!("invalid token {JWT}")}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/products");
            then.status(500).body(format!("crash: key={MINTED}"));
        })
        .await;

    let client = Client::builder()
        .credentials("me", ACCOUNT_PASSWORD)
        .base_url(server.base_url())
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let mut debug = String::new();
    let token = client.log_in().await.unwrap();
    let reg = Register::new("me2", "me2@example.com", ACCOUNT_PASSWORD);
    let token2 = client.auth().register(&reg).await.unwrap();
    let key = client.auth().create_api_key().await.unwrap();
    let keyed = client.with_api_key(key.key.clone()).unwrap();
    let order = CreateOrder::new("user@roblox.com", PASSWORD, "robux_2200")
        .backup_code(BACKUP)
        .wlid_tokens(WlidTokens::new(REFRESH, WLID));
    let created = client.orders().create(&order).await.unwrap();
    client
        .orders()
        .submit_2fa(&created.order_uid, CODE)
        .await
        .unwrap();
    let pack = OrderPack::new("7", "user@roblox.com", PASSWORD)
        .backup_code(BACKUP)
        .wlid_tokens(WlidTokens::new(REFRESH, WLID));
    let e1 = client.packs().order(&pack).await.unwrap_err();
    let e2 = client.balance().get().await.unwrap_err();
    let e3 = keyed.products().list().await.unwrap_err();
    let keyed_by_env_style = Client::new(API_KEY).unwrap();

    for e in [&e1, &e2, &e3] {
        debug.push_str(&format!("{e} {e:?} {}\n", e.body_snippet().unwrap_or("")));
    }
    debug.push_str(&format!(
        "{token:?} {token2:?} {key:?} {client:?} {keyed:?} {keyed_by_env_style:?} {order:?} {pack:?} {reg:?} {:?} {:?} {:?} {created:?}",
        Login::new("me", ACCOUNT_PASSWORD),
        WlidTokens::new(REFRESH, WLID),
        TopUpRequest::new(romplhub::Decimal::new(5000, 2)),
    ));
    let logs = capture.contents();
    assert!(
        logs.contains("orders.create"),
        "the capture saw the calls: {logs}"
    );
    assert_no_secret(&logs, &secrets(), "TRACE logs");
    assert_no_secret(&debug, &secrets(), "Debug, Display or error snippets");
}

/// A provider that echoes the request in its error (a 400 page, a 500 dump, a `detail`
/// text) must not make the client repeat the account password, backup code, WLID tokens or
/// 2FA code in the error's message, `Debug` or body snippet. The transport only masks the
/// client's own credential, so these calls mask the secrets of their request themselves.
#[tokio::test]
async fn request_secrets_echoed_in_error_bodies_are_masked() {
    let server = MockServer::start_async().await;
    let echo = format!(
        r#"{{"detail":{{"received":{{"password":"{PASSWORD}","backup_code":"{BACKUP}","wlid_tokens":{{"refresh_token":"{REFRESH}","wlid_token":"{WLID}"}}}}}}}}"#
    );
    let e400 = echo.clone();
    server
        .mock_async(move |when, then| {
            when.method(POST).path("/orders");
            then.status(400).body(e400);
        })
        .await;
    server
        .mock_async(move |when, then| {
            when.method(POST).path("/packs/7/order");
            then.status(500)
                .body(format!("Traceback: login failed with {PASSWORD} / {BACKUP}"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/orders/VX-1/2fa");
            then.status(400)
                .json_body(json!({"detail": format!("code {CODE} was rejected")}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/login");
            then.status(401)
                .json_body(json!({"detail": format!("wrong password {ACCOUNT_PASSWORD}")}));
        })
        .await;
    let login_client = Client::builder()
        .credentials("me", ACCOUNT_PASSWORD)
        .base_url(server.base_url())
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let client = crate::client(&server.base_url());
    let order = CreateOrder::new("user@roblox.com", PASSWORD, "robux_2200")
        .backup_code(BACKUP)
        .wlid_tokens(WlidTokens::new(REFRESH, WLID));
    let pack = OrderPack::new("7", "user@roblox.com", PASSWORD).backup_code(BACKUP);
    let errors = [
        client.orders().create(&order).await.unwrap_err(),
        client.packs().order(&pack).await.unwrap_err(),
        client.orders().submit_2fa("VX-1", CODE).await.unwrap_err(),
        login_client.log_in().await.unwrap_err(),
    ];
    assert_eq!(errors[1].kind(), romplhub::ErrorKind::Ambiguous);
    let mut seen = String::new();
    for e in &errors {
        seen.push_str(&format!("{e} {e:?} {}\n", e.body_snippet().unwrap_or("")));
    }
    assert!(seen.contains("[REDACTED]"), "{seen}");
    assert!(
        seen.contains("was rejected"),
        "the rest of the message is kept: {seen}"
    );
    assert_no_secret(&seen, &secrets(), "errors of secret-bearing calls");
}

/// The crate advises a secret token in the `webhook_url` query (webhooks are unsigned);
/// `Debug` of a request must not print it.
#[test]
fn webhook_url_token_is_not_in_debug() {
    const HOOK_TOKEN: &str = "hooktok_DO_NOT_LEAK_4471";
    let url = format!("https://user:pw-DO-NOT-LEAK@shop.example/hook?t={HOOK_TOKEN}#frag");
    let order = CreateOrder::new("user@roblox.com", PASSWORD, "robux_2200").webhook_url(&url);
    let pack = OrderPack::new("7", "user@roblox.com", PASSWORD).webhook_url(&url);
    let debug = format!("{order:?} {pack:?}");
    assert!(debug.contains("https://shop.example/hook?[REDACTED]"), "{debug}");
    assert_no_secret(
        &debug,
        &[("webhook token", HOOK_TOKEN), ("url password", "pw-DO-NOT-LEAK")],
        "Debug of requests",
    );
}

/// A 2FA answer that echoes the code does not carry it into `Debug` of the result.
#[tokio::test]
async fn echoed_2fa_code_is_dropped_from_the_answer() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/orders/VX-1/2fa");
            then.status(200)
                .json_body(json!({"status": "purchasing", "code": CODE, "note": "ok"}));
        })
        .await;
    let ack = crate::client(&server.base_url())
        .orders()
        .submit_2fa("VX-1", CODE)
        .await
        .unwrap();
    assert_eq!(ack.extra["note"], json!("ok"));
    assert_no_secret(
        &format!("{ack:?}"),
        &[("2fa code", CODE)],
        "Debug of the 2FA answer",
    );
}
