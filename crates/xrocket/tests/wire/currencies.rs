//! Currencies and rates (public endpoints).

use httpmock::prelude::*;
use serde_json::json;
use xrocket::{Client, CurrencyKind, Decimal, Network, RatesQuery};

use crate::{authed, client, exact_query};

#[tokio::test]
async fn currencies_list_without_a_token() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(when.method(GET).path("/api/v1/currencies"), &[("kind", "crypto")])
                .header_missing("authorization")
                .header("accept", "application/json");
            then.status(200).json_body(json!([
                {"code": "TONCOIN", "title": "Toncoin", "kind": "crypto", "networks": [{"code": "TON"}]},
                {"code": "USDT", "title": "Tether", "kind": "crypto", "networks": [{"code": "TON"}, {"code": "TRX"}, {"code": "APTOS"}]}
            ]));
        })
        .await;
    let public = Client::builder().base_url(server.base_url()).build().unwrap();
    let list = public
        .currencies()
        .list(Some(CurrencyKind::Crypto))
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].code, "TONCOIN");
    assert_eq!(list[0].kind, Some(CurrencyKind::Crypto));
    assert_eq!(list[1].networks[1].code, Network::Trx);
    // A network this crate does not know yet still decodes.
    assert_eq!(list[1].networks[2].code, Network::Unknown("APTOS".into()));
    // A private call on a key-less client fails before sending.
    let err = public.app().info().await.unwrap_err();
    assert_eq!(err.kind(), xrocket::ErrorKind::Auth);
    assert_eq!(err.attempts(), 0);
}

#[tokio::test]
async fn currencies_list_all_with_a_token() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(authed(when.method(GET).path("/api/v1/currencies")), &[]);
            then.status(200)
                .json_body(json!([{"code": "USD", "title": "US Dollar", "kind": "fiat", "networks": []}]));
        })
        .await;
    let list = client(&server.base_url()).currencies().list(None).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(list[0].kind, Some(CurrencyKind::Fiat));
}

#[tokio::test]
async fn rates_send_base_and_repeated_assets() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            exact_query(
                authed(when.method(GET).path("/api/v1/rates")),
                &[("base", "USD"), ("assets", "TONCOIN"), ("assets", "USDT")],
            );
            then.status(200).json_body(json!([
                {"currency": "TONCOIN", "rate": "3.141592653"},
                {"currency": "USDT", "rate": "1.0001"}
            ]));
        })
        .await;
    let rates = client(&server.base_url())
        .currencies()
        .rates(&RatesQuery::new("USD").assets(["TONCOIN", "USDT"]))
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(rates[0].currency, "TONCOIN");
    assert_eq!(rates[0].rate, Decimal::new(3_141_592_653, 9));
    assert_eq!(rates[1].rate.to_string(), "1.0001");
    let err = client(&server.base_url())
        .currencies()
        .rates(&RatesQuery::new("USD").assets([""]))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("assets"));
}
