//! Balance: the documented response, the pre-check and low-balance thresholds.

use agent_catalog::{Decimal, ErrorCode, LowBalanceThresholds};
use httpmock::prelude::*;
use payout_core::test_util::LogCapture;

use crate::{KEY, balance_json, client, p};

#[tokio::test]
async fn get_balance_reads_every_currency() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/balance")).header("authorization", KEY);
            then.status(200).json_body(balance_json());
        })
        .await;
    let b = client(&server).balance().get().await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(b.items.len(), 2);
    assert_eq!(b.items[0].currency_code, "USD");
    assert_eq!(b.items[0].available, Decimal::new(8750, 2));
    assert_eq!(b.items[0].available.to_string(), "87.50", "the scale is kept");
    let updated = b.items[0].updated_at.as_ref().unwrap();
    assert_eq!(updated.as_str(), "2024-11-01T10:00:00Z");
    // 2024-11-01T10:00:00Z = 1730455200
    assert_eq!(updated.unix_seconds(), Some(1_730_455_200));
    assert_eq!(b.available("EUR"), Decimal::new(4000, 2));
    assert_eq!(b.available("GBP"), Decimal::ZERO);
}

/// `updated_at` in a shape the documentation does not show is kept as sent, never an error.
#[test]
fn balance_with_an_unparsable_or_numeric_updated_at_still_decodes() {
    let b: agent_catalog::Balances = serde_json::from_str(
        r#"{"items":[{"currency_code":"USD","available":"87.50","updated_at":"01/11/2024 10:00"},
                     {"currency_code":"EUR","available":"40.00","updated_at":1730455200},
                     {"currency_code":"KZT","available":"1.00","updated_at":null}]}"#,
    )
    .unwrap();
    let usd = b.items[0].updated_at.as_ref().unwrap();
    assert!(!usd.is_parsed());
    assert_eq!(usd.as_str(), "01/11/2024 10:00");
    let eur = b.items[1].updated_at.as_ref().unwrap();
    assert!(!eur.is_parsed());
    assert_eq!(eur.as_str(), "1730455200");
    assert_eq!(b.items[2].updated_at, None);
    assert_eq!(b.available("USD"), Decimal::new(8750, 2));
}

#[tokio::test]
async fn balance_minor_units_are_integers_when_sent() {
    let b: agent_catalog::Balances = serde_json::from_str(
        r#"{"items":[{"currency_code":"USD","available":"87.50","available_minor":8750}]}"#,
    )
    .unwrap();
    assert_eq!(b.items[0].available_minor, Some(8750));
    assert_eq!(
        payout_core::money::to_minor_units(b.items[0].available, 2),
        b.items[0].available_minor
    );
}

#[tokio::test]
async fn ensure_covers_reads_the_balance_and_refuses_per_currency() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/balance"));
            then.status(200).json_body(balance_json());
        })
        .await;
    let c = client(&server);
    c.balance()
        .ensure_covers("USD", Decimal::new(8750, 2))
        .await
        .unwrap();
    // 50 EUR is not covered by 40 EUR even though USD holds more.
    let err = c
        .balance()
        .ensure_covers("EUR", Decimal::from(50))
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::InsufficientBalance));
    assert!(
        err.message()
            .contains("EUR balance (40.00 available) cannot cover 50"),
        "{err}"
    );
}

#[tokio::test]
async fn check_low_reports_and_logs_currencies_under_their_threshold() {
    let capture = LogCapture::start();
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(p("/balance"));
            then.status(200).json_body(balance_json());
        })
        .await;
    let thresholds = LowBalanceThresholds::new()
        .currency("USD", Decimal::from(50))
        .currency("EUR", Decimal::from(100));
    let low = client(&server).balance().check_low(&thresholds).await.unwrap();
    assert_eq!(low.len(), 1);
    assert_eq!(low[0].currency_code, "EUR");
    assert_eq!(low[0].available, Decimal::new(4000, 2));
    assert_eq!(low[0].threshold, Decimal::from(100));
    let logs = capture.contents();
    assert!(
        logs.contains("alert threshold") && logs.contains("currency=EUR"),
        "{logs}"
    );
}

#[test]
fn balances_accept_a_bare_array_too() {
    let b: agent_catalog::Balances =
        serde_json::from_str(r#"[{"currency_code":"KZT","available":"5000","extra_field":1}]"#).unwrap();
    assert_eq!(b.available("KZT"), Decimal::from(5000));
    assert_eq!(b.items[0].extra["extra_field"], 1);
}
