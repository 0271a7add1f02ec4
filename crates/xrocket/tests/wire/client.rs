//! Client construction: environments, keys, env vars.

use xrocket::{Client, Environment, ErrorKind, TransferNaming};

use crate::KEY;

#[test]
fn environments_map_to_the_documented_hosts() {
    let prod = Client::new(KEY).unwrap();
    assert_eq!(prod.environment(), &Environment::Production);
    assert_eq!(xrocket::DEFAULT_BASE_URL, "https://pay.api.xrocket.exchange");
    assert_eq!(
        xrocket::TESTNET_BASE_URL,
        "https://pay.api.testnet.xrocket.exchange"
    );
    let test = Client::builder()
        .api_key(KEY)
        .base_url("https://pay.api.testnet.xrocket.exchange/")
        .build()
        .unwrap();
    assert_eq!(test.environment(), &Environment::Testnet);
    let custom = Client::builder()
        .api_key(KEY)
        .environment(Environment::Custom("https://pay.api.pp.xrocket.tg".into()))
        .build()
        .unwrap();
    assert_eq!(custom.environment().base_url(), "https://pay.api.pp.xrocket.tg");
    assert_eq!(custom.transfer_naming(), TransferNaming::Transfers);
}

#[test]
fn bad_keys_and_urls_are_config_errors() {
    for key in ["", "   ", "Bearer abc", "abc\n"] {
        let err = Client::new(key).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{key:?}");
    }
    let err = Client::builder()
        .api_key(KEY)
        .base_url("ftp://x")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = Client::builder()
        .api_key(KEY)
        .base_url("not a url")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn from_env_names_the_missing_variable() {
    // Tests cannot set variables (unsafe in edition 2024), so only check the unset case.
    if std::env::var_os("XROCKET_API_KEY").is_none() {
        let err = Client::from_env().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("XROCKET_API_KEY"), "{err}");
    }
}

#[test]
fn client_is_cheap_to_clone_and_hides_the_key() {
    let c = Client::new(KEY).unwrap();
    let c2 = c.clone();
    let d = format!("{c2:?}");
    assert!(!d.contains(KEY), "{d}");
    assert!(d.contains("Production"));
}
