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
    assert_eq!(d.posted_at.as_deref(), Some("2024-10-17T12:00:00Z"));
    // An undocumented method is kept, not an error.
    assert_eq!(
        page.items[1].method,
        Some(DepositMethod::Unknown("crypto".into()))
    );
    assert_eq!(page.items[1].status, DepositStatus::Pending);
    assert_eq!(page.items[1].posted_at, None);
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
