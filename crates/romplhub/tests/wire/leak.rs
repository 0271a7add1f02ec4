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
    let pack = OrderPack::new("user@roblox.com", PASSWORD)
        .backup_code(BACKUP)
        .wlid_tokens(WlidTokens::new(REFRESH, WLID));
    let e1 = client.packs().order("7", &pack).await.unwrap_err();
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
