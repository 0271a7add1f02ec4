use httpmock::prelude::*;
use romplhub::{Client, ErrorKind, Login, Register};
use serde_json::json;

use crate::{API_KEY, JWT, client, fast_retries};

fn anonymous(base: &str) -> Client {
    Client::builder()
        .base_url(base)
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

#[tokio::test]
async fn register_sends_documented_body_and_arms_the_client() {
    let server = MockServer::start_async().await;
    let register = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/auth/register")
                .header("content-type", "application/json")
                .header_missing("authorization")
                .header_missing("x-api-key")
                .json_body(
                    json!({"username": "myuser", "email": "user@example.com", "password": "securepass123"}),
                );
            then.status(201).json_body(json!({
                "access_token": JWT, "token_type": "bearer", "user_id": 1, "username": "myuser"
            }));
        })
        .await;
    let balance = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/balance")
                .header("authorization", format!("Bearer {JWT}"))
                .header_missing("x-api-key");
            then.status(200)
                .json_body(json!({"tokens": 0, "pending_topups": 0}));
        })
        .await;
    let client = anonymous(&server.base_url());
    assert!(!client.is_authenticated());
    let token = client
        .auth()
        .register(&Register::new("myuser", "user@example.com", "securepass123"))
        .await
        .unwrap();
    assert_eq!(token.token_type, "bearer");
    assert_eq!(token.user_id.map(|u| u.get()), Some(1));
    assert_eq!(token.username.as_deref(), Some("myuser"));
    assert!(client.is_authenticated());
    // The JWT from register authenticates later calls, on clones too.
    client.clone().balance().get().await.unwrap();
    register.assert_calls_async(1).await;
    balance.assert_calls_async(1).await;
}

#[tokio::test]
async fn credentials_client_logs_in_mints_an_api_key_and_switches_to_it() {
    let server = MockServer::start_async().await;
    let login = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/auth/login")
                .header("content-type", "application/json")
                .header_missing("authorization")
                .json_body(json!({"username": "myuser", "password": "securepass123"}));
            then.status(200).json_body(json!({
                "access_token": JWT, "token_type": "bearer", "user_id": 1, "username": "myuser"
            }));
        })
        .await;
    let mint = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/auth/api-key")
                .header("authorization", format!("Bearer {JWT}"))
                .header_missing("x-api-key")
                .header_missing("content-type")
                .body("");
            then.status(201).json_body(json!({"api_key": API_KEY}));
        })
        .await;
    let balance = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/balance")
                .header("x-api-key", API_KEY)
                .header_missing("authorization");
            then.status(200)
                .json_body(json!({"tokens": 485, "pending_topups": 0}));
        })
        .await;
    let client = Client::builder()
        .credentials("myuser", "securepass123")
        .base_url(server.base_url())
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    assert!(!client.uses_api_key());
    let token = client.log_in().await.unwrap();
    assert_eq!(token.username.as_deref(), Some("myuser"));
    let key = client.auth().create_api_key().await.unwrap();
    let keyed = client.with_api_key(key.key).unwrap();
    assert!(keyed.uses_api_key());
    assert_eq!(keyed.balance().get().await.unwrap().tokens, 485);
    login.assert_calls_async(1).await;
    mint.assert_calls_async(1).await;
    balance.assert_calls_async(1).await;
}

#[tokio::test]
async fn api_key_answer_may_be_a_bare_string_or_use_key() {
    let server = MockServer::start_async().await;
    let mut mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/api-key");
            then.status(201).json_body(json!(API_KEY));
        })
        .await;
    let client = crate::jwt_client(&server.base_url());
    let key = client.auth().create_api_key().await.unwrap();
    assert_eq!(payout_core::ExposeSecret::expose_secret(&key.key), API_KEY);
    mock.delete_async().await;
    mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/api-key");
            then.status(201)
                .json_body(json!({"key": API_KEY, "created_at": "2026-01-01"}));
        })
        .await;
    let key = client.auth().create_api_key().await.unwrap();
    assert_eq!(payout_core::ExposeSecret::expose_secret(&key.key), API_KEY);
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn an_api_key_client_keeps_its_key_after_login() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/login");
            then.status(200)
                .json_body(json!({"access_token": JWT, "token_type": "bearer"}));
        })
        .await;
    let balance = server
        .mock_async(|when, then| {
            when.method(GET).path("/balance").header("x-api-key", API_KEY);
            then.status(200)
                .json_body(json!({"tokens": 1, "pending_topups": 0}));
        })
        .await;
    let client = client(&server.base_url());
    let token = client.auth().login(&Login::new("myuser", "pw")).await.unwrap();
    assert!(token.user_id.is_none());
    client.balance().get().await.unwrap();
    balance.assert_calls_async(1).await;
}

#[tokio::test]
async fn invalid_auth_input_is_refused_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let client = anonymous(&server.base_url());
    let err = client
        .auth()
        .register(&Register::new("u", "not-an-email", "pw"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("email"));
    let err = client.auth().login(&Login::new("u", "")).await.unwrap_err();
    assert_eq!(err.field(), Some("password"));
    let err = client.log_in().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    // No credential at all: refused locally with an Auth error, nothing sent.
    let err = client.balance().get().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    any.assert_calls_async(0).await;
}

#[test]
fn builder_refuses_two_credentials_and_empty_ones() {
    let err = Client::builder()
        .api_key(API_KEY)
        .access_token(JWT)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = Client::new("  ").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = Client::builder().credentials("", "pw").build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = Client::builder()
        .api_key(API_KEY)
        .base_url("ftp://x")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let c = Client::new(API_KEY).unwrap();
    assert_eq!(c.base_url(), romplhub::DEFAULT_BASE_URL);
}

#[tokio::test]
async fn an_undecodable_auth_answer_never_quotes_the_secret() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/api-key");
            then.status(201).json_body(json!({"new_key_field": API_KEY}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/login");
            then.status(200)
                .json_body(json!({"access_token": JWT, "user_id": "not-a-number"}));
        })
        .await;
    let c = crate::jwt_client(&server.base_url());
    let e1 = c.auth().create_api_key().await.unwrap_err();
    let e2 = c.auth().login(&Login::new("u", "pw")).await.unwrap_err();
    for e in [e1, e2] {
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(e.may_have_succeeded());
        let shown = format!("{e} {e:?} {}", e.body_snippet().unwrap_or(""));
        assert!(!shown.contains(API_KEY) && !shown.contains(JWT), "{shown}");
    }
}

#[test]
fn from_env_names_the_missing_variable() {
    // Only checkable when the variable is unset: tests cannot set it without `unsafe`.
    if std::env::var(romplhub::ENV_API_KEY).is_err() {
        let err = Client::from_env().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("ROMPLHUB_API_KEY"), "{err}");
    }
}
