//! No secret (API token, cheque password, webhook secret) reaches logs, `Debug` output or
//! errors, even at TRACE level and on failure paths.

use httpmock::prelude::*;
use payout_core::test_util::{LogCapture, assert_no_secret};
use serde_json::json;
use xrocket::webhook::{Verifier, sign};
use xrocket::{
    Asset, CreateCheque, CreateInvoice, CreateTransfer, CreateWithdrawal, Decimal, ListCheques, ListInvoices,
    ListTransfers, ListWithdrawals, MassTransfer, MassTransferItem, Network, RatesQuery, UpdateCheque,
    WithdrawalLinkRequest,
};

use crate::{KEY, client};

const PASSWORD: &str = "cheque-PASSWORD-never-logged";
const WEBHOOK_SECRET: &str = "whsec-NEVER-LOGGED-77";

#[tokio::test]
async fn secrets_never_reach_logs_debug_or_errors() {
    let capture = LogCapture::start();
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/cheques");
            then.status(200)
                .json_body(json!({"chequeId": "c-1", "asset": "TONCOIN", "state": "active", "links": {}}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/transfers");
            // A provider echoing the token back must not make us leak it.
            then.status(401).body(format!("bad token {KEY}"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transfer");
            then.status(500).body("down");
        })
        .await;
    let c = client(&server.base_url());
    let cheque = CreateCheque::new(Asset::Toncoin, Decimal::ONE).password(PASSWORD);
    let created = c.cheques().create(&cheque).await.unwrap();
    let err = c
        .transfers()
        .create(&CreateTransfer::to_telegram_user(1, Asset::Toncoin, Decimal::ONE))
        .await
        .unwrap_err();
    let bad_pw =
        CreateCheque::new(Asset::Toncoin, Decimal::ONE).password(format!("{PASSWORD}{}", "x".repeat(100)));
    let invalid = c.cheques().create(&bad_pw).await.unwrap_err();

    let ts = "1767225600000";
    let body = br#"{"id":"1","type":"ping","data":{}}"#;
    let verifier = Verifier::new(WEBHOOK_SECRET).clock(xrocket::webhook::FixedClock(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_767_225_600_000),
    ));
    let headers = sign(
        WEBHOOK_SECRET,
        body,
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ts.parse().unwrap()),
    );
    let verified = verifier.verify(&headers, body).unwrap();
    let wrong = Verifier::new("other").verify(&headers, body).unwrap_err();

    let mut seen = capture.contents();
    for d in [
        format!("{c:?}"),
        format!("{cheque:?}"),
        format!("{bad_pw:?}"),
        format!("{created:?}"),
        format!("{err:?} {err}"),
        format!("{invalid:?} {invalid}"),
        format!("{verifier:?} {verified:?} {wrong:?} {wrong}"),
        format!(
            "{:?}",
            CreateTransfer::to_telegram_user(1, Asset::Usdt, Decimal::ONE)
        ),
        format!(
            "{:?}",
            MassTransfer::new(Asset::Usdt).item(MassTransferItem::new(1, Decimal::ONE))
        ),
        format!("{:?}", CreateInvoice::new("USDT", Decimal::ONE)),
        format!(
            "{:?}",
            CreateWithdrawal::new(Network::Ton, "UQ", Asset::Toncoin, Decimal::ONE)
        ),
        format!(
            "{:?}",
            WithdrawalLinkRequest::new(Network::Ton, "UQ", Asset::Toncoin, Decimal::ONE)
        ),
        format!("{:?}", UpdateCheque::description("d")),
        format!("{:?}", RatesQuery::new("USD")),
        format!(
            "{:?} {:?} {:?} {:?}",
            ListCheques::new(),
            ListInvoices::new(),
            ListTransfers::new(),
            ListWithdrawals::new()
        ),
        format!("{:?}", xrocket::Client::builder().api_key(KEY)),
    ] {
        seen.push_str(&d);
        seen.push('\n');
    }
    assert!(seen.contains("payout.call"), "tracing was captured");
    assert_no_secret(
        &seen,
        &[
            ("api key", KEY),
            ("cheque password", PASSWORD),
            ("webhook secret", WEBHOOK_SECRET),
        ],
        "logs, Debug output or errors",
    );
}
