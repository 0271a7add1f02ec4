//! Client construction: required settings, raw `Authorization`, the encoded agent id, `raw()`.

use agent_catalog::{Client, ErrorKind};
use httpmock::prelude::*;
use serde_json::json;

use crate::{AGENT, KEY, p};

#[test]
fn build_requires_key_agent_and_base_url() {
    let e = Client::builder()
        .agent_id(AGENT)
        .base_url("https://x.test")
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("AGENT_CATALOG_API_KEY"), "{e}");
    let e = Client::builder()
        .api_key(KEY)
        .base_url("https://x.test")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("AGENT_CATALOG_AGENT_ID"), "{e}");
    let e = Client::builder()
        .api_key(KEY)
        .agent_id(AGENT)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("AGENT_CATALOG_BASE_URL"), "{e}");
    let e = Client::new(KEY, " ", "https://x.test").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let e = Client::new(KEY, AGENT, "ftp://x.test").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(!format!("{e} {e:?}").contains(KEY));
    let e = Client::new("  ", AGENT, "https://x.test").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let c = Client::new(KEY, AGENT, "https://x.test/").unwrap();
    assert_eq!(c.agent_id().as_str(), AGENT);
    assert_eq!(c.agent_path(), "/agent/a12d5be1-3456-4c18-b111-33cdd0a1cc99");
}

#[tokio::test]
async fn the_raw_key_is_sent_without_bearer_and_the_agent_id_is_encoded() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/agent/a%2Fb%3Fc%23d/balance")
                .header("authorization", KEY)
                .header_exists("user-agent");
            then.status(200).json_body(json!({"items": []}));
        })
        .await;
    let c = Client::new(KEY, "a/b?c#d", server.base_url()).unwrap();
    let b = c.balance().get().await.unwrap();
    assert!(b.items.is_empty());
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn raw_escape_hatch_reuses_auth() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/new-endpoint"))
                .header("authorization", KEY);
            then.status(200).json_body(json!({"ok": true}));
        })
        .await;
    let c = crate::client(&server);
    let v: serde_json::Value = c
        .raw()
        .get(&format!("{}/new-endpoint", c.agent_path()))
        .await
        .unwrap();
    assert_eq!(v["ok"], true);
    m.assert_calls_async(1).await;
}

#[test]
fn from_env_names_the_missing_variable() {
    // Tests never set these (setting variables is unsafe in a threaded test binary), so this
    // only runs its check where they are absent, which is everywhere but a developer's shell.
    if std::env::var_os(agent_catalog::ENV_API_KEY).is_none() {
        let e = Client::from_env().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("AGENT_CATALOG_API_KEY"), "{e}");
    }
}
