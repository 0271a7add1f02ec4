//! Deposits: the documented page, the status filter and the stream.

use agent_catalog::{Decimal, DepositFilter, DepositId, DepositMethod, DepositStatus};
use futures_util::TryStreamExt;
use httpmock::prelude::*;
use serde_json::json;

use crate::{KEY, client, p};

fn deposits_page() -> serde_json::Value {
    json!({
        "items": [
            {"id": 1201, "currency_code": "USD", "amount": "250.00", "method": "bank_wire",
             "status": "posted", "external_ref": "WIRE-2024-10-17",
             "created_at": "2024-10-17T09:00:00Z", "posted_at": "2024-10-17T12:00:00Z"},
            {"id": 1202, "currency_code": "EUR", "amount": "100.00", "method": "crypto",
             "status": "pending", "external_ref": null,
             "created_at": "2024-10-18T09:00:00Z", "posted_at": null}
        ],
        "page": 1, "pageSize": 50, "total": 2
    })
}

#[tokio::test]
async fn list_deposits_with_filters() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(p("/deposits"))
                .header("authorization", KEY)
                .query_param("page", "1")
                .query_param("pageSize", "50")
                .query_param("status", "posted");
            then.status(200).json_body(deposits_page());
        })
        .await;
    let filter = DepositFilter::new()
        .page(1)
        .page_size(50)
        .status(DepositStatus::Posted);
    let page = client(&server).deposits().list(&filter).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(page.total, Some(2));
    assert_eq!(page.next, None);
    let d = &page.items[0];
    assert_eq!(d.id, DepositId::new(1201));
    assert_eq!(d.amount, Decimal::new(25000, 2));
    assert_eq!(d.method, Some(DepositMethod::BankWire));
    assert!(d.is_posted());
    assert_eq!(d.external_ref.as_deref(), Some("WIRE-2024-10-17"));
    let posted = d.posted_at.as_ref().unwrap();
    assert_eq!(posted.as_str(), "2024-10-17T12:00:00Z");
    // 2024-10-17T00:00:00Z = 1729123200 (2024-11-01T00:00:00Z 1730419200 minus 15 days);
    // created 09:00 = +32400, posted 12:00 = +43200.
    assert_eq!(posted.unix_seconds(), Some(1_729_166_400));
    assert_eq!(d.created_at.as_ref().unwrap().unix_seconds(), Some(1_729_155_600));
    // An undocumented method is kept, not an error.
    assert_eq!(
        page.items[1].method,
        Some(DepositMethod::Unknown("crypto".into()))
    );
    assert_eq!(page.items[1].status, DepositStatus::Pending);
    assert_eq!(page.items[1].posted_at, None);
    // 2024-10-18T09:00:00Z = 1729155600 + 86400
    assert_eq!(
        page.items[1].created_at.as_ref().unwrap().unix_seconds(),
        Some(1_729_242_000)
    );
}

/// Deposit date-times in a shape the documentation does not show are kept as sent, with
/// no instant; the deposit still decodes (a ledger reconcile must not stop on a format).
#[test]
fn deposit_with_an_unparsable_or_numeric_timestamp_still_decodes() {
    let d: agent_catalog::Deposit = serde_json::from_value(json!({
        "id": 1203, "currency_code": "USD", "amount": "10.00", "status": "posted",
        "created_at": "2024-10-17T09:00:00", "posted_at": 1729166400
    }))
    .unwrap();
    let created = d.created_at.as_ref().unwrap();
    assert!(!created.is_parsed(), "no offset: the zone is unknown");
    assert_eq!(created.as_str(), "2024-10-17T09:00:00");
    let posted = d.posted_at.as_ref().unwrap();
    assert!(!posted.is_parsed());
    assert_eq!(posted.as_str(), "1729166400");
    assert_eq!(
        serde_json::to_value(&d).unwrap()["created_at"],
        "2024-10-17T09:00:00"
    );
}

#[tokio::test]
async fn deposits_stream_and_collect_all() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path(p("/deposits")).query_param("page", "1");
            then.status(200).json_body(deposits_page());
        })
        .await;
    let c = client(&server);
    let all: Vec<_> = c
        .deposits()
        .stream(DepositFilter::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let capped = c.deposits().collect_all(DepositFilter::new(), 1).await.unwrap();
    assert_eq!(capped.len(), 1);
    m.assert_calls_async(2).await;
    let amount_minor: agent_catalog::Deposit =
        serde_json::from_value(json!({"id": 1, "amount": "2.50", "amount_minor": 250, "status": "posted"}))
            .unwrap();
    assert_eq!(amount_minor.amount_minor, Some(250));
    // Minor units in a string (common where 53-bit floats are feared) must not make the whole
    // deposit page undecodable and stop reconciliation.
    let as_string: agent_catalog::Deposit =
        serde_json::from_value(json!({"id": 2, "amount": "2.50", "amount_minor": "250", "status": "posted"}))
            .unwrap();
    assert_eq!(as_string.amount_minor, Some(250));
}

#[tokio::test]
async fn page_zero_is_refused_before_sending() {
    let server = MockServer::start_async().await;
    let err = client(&server)
        .deposits()
        .list(&DepositFilter::new().page(0))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("page"));
    let err = client(&server)
        .deposits()
        .list(&DepositFilter::new().page_size(0))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("pageSize"));
}
