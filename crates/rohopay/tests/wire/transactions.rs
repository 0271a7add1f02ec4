//! `GET /api/v1/transactions/{reference}` and `GET /api/v1/transactions`.

use std::time::Duration;

use futures_util::StreamExt;
use httpmock::prelude::*;
use rohopay::{
    Currency, Decimal, ErrorCode, ErrorKind, ListTransactions, PaymentMethod, PollOptions, Timestamp,
    Transaction, TransactionEnvironment, TransactionStatus, TransactionType, UpstreamProvider,
};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn get_transaction_by_reference() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/transactions/RHP-2024-ABC123")
                .query_param_count(".*", ".*", 0)
                .header("authorization", format!("Bearer {LIVE_KEY}"))
                .header_missing("content-type");
            then.status(200).json_body(json!({
                "success": true,
                "data": transaction_json("RHP-2024-ABC123", "successful")
            }));
        })
        .await;
    let tx = client(&server)
        .transactions()
        .get("RHP-2024-ABC123")
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(
        tx.id.as_ref().map(|i| i.as_str()),
        Some("01j2k3m4n5p6q7r8s9t0uvwxyz")
    );
    assert_eq!(tx.internal_reference.as_str(), "RHP-2024-ABC123");
    assert_eq!(tx.provider_reference.as_deref(), Some("relworx-ref"));
    assert_eq!(tx.kind, Some(TransactionType::Collection));
    assert_eq!(tx.status, Some(TransactionStatus::Successful));
    assert_eq!(tx.payment_method, Some(PaymentMethod::Card));
    assert_eq!(tx.provider, Some(UpstreamProvider::Relworx));
    assert_eq!(tx.provider_status.as_deref(), Some("SUCCESSFUL"));
    assert_eq!(tx.phone_number.as_deref(), Some("256712345678"));
    assert_eq!(tx.amount, Some(Decimal::from(75_000)));
    assert_eq!(tx.currency, Some(Currency::Ugx));
    assert_eq!(tx.commission_amount, Some(Decimal::from(750)));
    // Rates arrive as JSON floats and are read exactly.
    assert_eq!(tx.commission_rate, Some(Decimal::new(1, 2)));
    assert_eq!(tx.provider_fee_amount, Some(Decimal::from(1500)));
    assert_eq!(tx.provider_fee_rate, Some(Decimal::new(2, 2)));
    assert_eq!(tx.net_amount, Some(Decimal::from(72_750)));
    assert_eq!(tx.description.as_deref(), Some("Premium subscription"));
    assert_eq!(
        tx.callback_url.as_deref(),
        Some("https://your-app.com/webhooks/rohopay")
    );
    assert_eq!(tx.failover_reason.as_deref(), Some(""));
    assert_eq!(tx.environment, Some(TransactionEnvironment::Live));
    let (created, updated) = (tx.created_at.as_ref().unwrap(), tx.updated_at.as_ref().unwrap());
    assert_eq!(created.as_str(), "2024-07-01T10:00:00Z");
    assert_eq!(updated.as_str(), "2024-07-01T10:01:30Z");
    // 2024-07-01T10:00:00Z = 1719828000; updated 90 s later.
    assert_eq!(created.unix_seconds(), Some(1_719_828_000));
    assert_eq!(updated.unix_seconds(), Some(1_719_828_090));
    assert!(tx.is_final() && tx.is_successful());
    assert!(tx.has_reference("relworx-ref"));
}

#[tokio::test]
async fn get_encodes_the_reference_and_refuses_an_empty_one() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/relworx%2F1%20a");
            then.status(200).json_body(json!({"success": true, "data": {"internal_reference": "RHP-1", "provider_reference": "relworx/1 a"}}));
        })
        .await;
    let c = client(&server);
    let tx = c.transactions().get("relworx/1 a").await.unwrap();
    assert!(tx.has_reference("relworx/1 a"));
    m.assert_calls_async(1).await;
    let err = c.transactions().get(" ").await.unwrap_err();
    assert_eq!(err.field(), Some("reference"));
}

#[tokio::test]
async fn unknown_enum_values_decode_to_unknown() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/RHP-1");
            then.status(200).json_body(json!({
                "success": true,
                "data": {
                    "internal_reference": "RHP-1",
                    "status": "reversed",
                    "type": "refund",
                    "payment_method": "bank",
                    "provider": "newco",
                    "currency": "USD",
                    "environment": "staging"
                }
            }));
        })
        .await;
    let tx = client(&server).transactions().get("RHP-1").await.unwrap();
    assert_eq!(tx.status, Some(TransactionStatus::Unknown("reversed".into())));
    assert!(!tx.is_final());
    assert_eq!(tx.kind, Some(TransactionType::Unknown("refund".into())));
    assert_eq!(tx.payment_method, Some(PaymentMethod::Unknown("bank".into())));
    assert_eq!(tx.provider, Some(UpstreamProvider::Unknown("newco".into())));
    assert_eq!(tx.currency, Some(Currency::Unknown("USD".into())));
    assert_eq!(
        tx.environment,
        Some(TransactionEnvironment::Unknown("staging".into()))
    );
}

#[tokio::test]
async fn get_unknown_reference_is_not_found() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/RHP-2024-NOPE");
            then.status(404).json_body(json!({
                "success": false,
                "error": {"code": "NOT_FOUND", "message": "Transaction not found", "reference": "RHP-2024-NOPE"}
            }));
        })
        .await;
    let err = client(&server)
        .transactions()
        .get("RHP-2024-NOPE")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::NotFound));
    assert_eq!(err.request_id(), Some("RHP-2024-NOPE"));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn get_undecodable_200_is_a_decode_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/RHP-1");
            then.status(200)
                .json_body(json!({"success": true, "data": {"amount": "lots"}}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/RHP-2");
            then.status(200).json_body(json!({"success": true}));
        })
        .await;
    let c = client(&server);
    let err = c.transactions().get("RHP-1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.message().contains("amount"), "{err}");
    assert_eq!(err.status(), Some(200));
    let err = c.transactions().get("RHP-2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.message().contains("data"), "{err}");
}

#[tokio::test]
async fn list_sends_every_filter_as_documented() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/transactions")
                .header("authorization", format!("Bearer {LIVE_KEY}"))
                .query_param("status", "successful")
                .query_param("type", "disbursement")
                .query_param("environment", "live")
                .query_param("from", "2024-06-01T00:00:00Z")
                .query_param("to", "2024-06-30T23:59:59Z")
                .query_param("limit", "50")
                .query_param("offset", "100")
                .query_param_count(".*", ".*", 7);
            then.status(200).json_body(json!({
                "success": true,
                "data": [transaction_json("RHP-2024-A", "successful"), transaction_json("RHP-2024-B", "successful")]
            }));
        })
        .await;
    let filter = ListTransactions::new()
        .status(TransactionStatus::Successful)
        .kind(TransactionType::Disbursement)
        .environment(rohopay::Environment::Live)
        .from("2024-06-01T00:00:00Z")
        .to("2024-06-30T23:59:59Z")
        .limit(50)
        .offset(100);
    let page = client(&server).transactions().list(&filter).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[1].internal_reference.as_str(), "RHP-2024-B");
    // A page shorter than `limit` is the last one; RohoPay reports no total.
    assert_eq!(page.next, None);
    assert_eq!(page.total, None);
}

#[tokio::test]
async fn list_without_filters_sends_no_query() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/transactions")
                .query_param_count(".*", ".*", 0);
            then.status(200).json_body(json!({
                "success": true,
                "data": (0..20).map(|i| transaction_json(&format!("RHP-{i}"), "pending")).collect::<Vec<Value>>()
            }));
        })
        .await;
    let page = client(&server)
        .transactions()
        .list(&ListTransactions::new())
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    // A full default page (20): the next one starts at offset 20.
    assert_eq!(page.next, Some(20));
}

#[tokio::test]
async fn stream_pages_with_limit_and_offset_until_a_short_page() {
    let server = MockServer::start_async().await;
    let page = |offset: &'static str, refs: &[&str]| {
        let data: Vec<Value> = refs.iter().map(|r| transaction_json(r, "successful")).collect();
        (offset, json!({"success": true, "data": data}))
    };
    let mut mocks = Vec::new();
    for (offset, body) in [page("0", &["A", "B"]), page("2", &["C", "D"]), page("4", &["E"])] {
        mocks.push(
            server
                .mock_async(|when, then| {
                    when.method(GET)
                        .path("/api/v1/transactions")
                        .query_param("status", "successful")
                        .query_param("limit", "2")
                        .query_param("offset", offset);
                    then.status(200).json_body(body);
                })
                .await,
        );
    }
    let c = client(&server);
    let filter = ListTransactions::new()
        .status(TransactionStatus::Successful)
        .limit(2);
    let refs: Vec<String> = c
        .transactions()
        .stream(filter.clone())
        .map(|r| r.unwrap().internal_reference.into_string())
        .collect()
        .await;
    assert_eq!(refs, ["A", "B", "C", "D", "E"]);
    for m in &mocks {
        m.assert_calls_async(1).await;
    }
    // collect_all stops fetching at the cap.
    let three = c.transactions().collect_all(filter, 3).await.unwrap();
    assert_eq!(three.len(), 3);
    mocks[2].assert_calls_async(1).await;
}

#[tokio::test]
async fn list_validates_limit_before_sending() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(json!({"success": true, "data": []}));
        })
        .await;
    let c = client(&server);
    for limit in [0, 101] {
        let err = c
            .transactions()
            .list(&ListTransactions::new().limit(limit))
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("limit"));
    }
    let err = c
        .transactions()
        .list(&ListTransactions::new().from(""))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("from"));
    m.assert_calls_async(0).await;
}

/// `from` / `to` name instants: a date alone, a local time without an offset or a typo is
/// refused with `InvalidInput` naming the field and the rule, before any request.
#[tokio::test]
async fn list_refuses_a_date_filter_that_names_no_instant_before_sending() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(json!({"success": true, "data": []}));
        })
        .await;
    let c = client(&server);
    for (filter, field) in [
        (ListTransactions::new().from("2024-06-01"), "from"),
        (ListTransactions::new().from("2024-06-01T00:00:00"), "from"),
        (ListTransactions::new().to("30/06/2024"), "to"),
        (
            ListTransactions::new()
                .from("2024-06-01T00:00:00Z")
                .to("2024-06-31T00:00:00Z"),
            "to",
        ),
    ] {
        let err = c.transactions().list(&filter).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{filter:?}");
        assert_eq!(err.field(), Some(field), "{filter:?}");
        assert!(err.message().contains("RFC 3339"), "{err}");
        assert!(!err.was_sent());
    }
    // A reversed range is refused; the same instant written two ways is not reversed
    // (12:00+03:00 is 09:00Z).
    let reversed = ListTransactions::new()
        .from("2024-06-02T00:00:00Z")
        .to("2024-06-01T23:59:59Z");
    let err = c.transactions().list(&reversed).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("from"));
    assert!(err.message().contains("must not be later than to"), "{err}");
    let same = ListTransactions::new()
        .from("2024-06-01T12:00:00+03:00")
        .to("2024-06-01T09:00:00Z");
    assert!(same.validate().is_ok());
    m.assert_calls_async(0).await;
}

/// `from` / `to` take any instant (a `SystemTime`, `Timestamp::from_unix`, text with an
/// offset) and send its text as is.
#[tokio::test]
async fn list_sends_date_filters_from_instants_as_rfc3339() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/transactions")
                // 1717189200 = 2024-06-01T00:00:00+03:00 = 2024-05-31T21:00:00Z
                .query_param("from", "2024-05-31T21:00:00Z")
                .query_param("to", "2024-06-30T23:59:59+03:00")
                .query_param_count(".*", ".*", 2);
            then.status(200).json_body(json!({"success": true, "data": []}));
        })
        .await;
    let from = std::time::UNIX_EPOCH + Duration::from_secs(1_717_189_200);
    let page = client(&server)
        .transactions()
        .list(&ListTransactions::new().from(from).to("2024-06-30T23:59:59+03:00"))
        .await
        .unwrap();
    assert!(page.items.is_empty());
    let page = client(&server)
        .transactions()
        .list(
            &ListTransactions::new()
                .from(Timestamp::from_unix(1_717_189_200, 0).unwrap())
                .to(String::from("2024-06-30T23:59:59+03:00")),
        )
        .await
        .unwrap();
    assert!(page.items.is_empty());
    m.assert_calls_async(2).await;
}

/// A transaction whose date-times are not RFC 3339 (a local time, a Unix number) still
/// decodes: the text is kept, with no instant, and written back as it came.
#[test]
fn transaction_with_unparsable_or_numeric_timestamps_still_decodes() {
    let mut body = transaction_json("RHP-2024-ABC123", "successful");
    body["created_at"] = json!("2024-07-01 10:00:00");
    body["updated_at"] = json!(1_719_828_090);
    let tx: Transaction = serde_json::from_value(body).unwrap();
    let created = tx.created_at.as_ref().unwrap();
    assert!(!created.is_parsed());
    assert_eq!(created.as_str(), "2024-07-01 10:00:00");
    let updated = tx.updated_at.as_ref().unwrap();
    assert!(!updated.is_parsed());
    assert_eq!(updated.unix_seconds(), None);
    assert_eq!(updated.as_str(), "1719828090");
    let back = serde_json::to_value(&tx).unwrap();
    assert_eq!(back["created_at"], "2024-07-01 10:00:00");
    assert!(tx.is_successful());
}

#[tokio::test]
async fn wait_until_final_polls_until_the_status_is_final() {
    let server = MockServer::start_async().await;
    let pending = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/RHP-9");
            then.status(200).json_body(json!({
                "success": true, "data": transaction_json("RHP-9", "pending")
            }));
        })
        .await;
    let c = client(&server);
    // Still pending at the deadline: a Timeout error carrying the last transaction seen,
    // never Ok with a pending one.
    let opts = PollOptions::default()
        .interval(Duration::from_millis(5))
        .backoff(1.0)
        .timeout(Duration::from_millis(60));
    let err = c
        .transactions()
        .wait_until_final("RHP-9", &opts)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    let last = err
        .last_state::<Transaction>()
        .expect("the last state is attached");
    assert_eq!(last.status, Some(TransactionStatus::Pending));
    assert_eq!(last.internal_reference.as_str(), "RHP-9");
    assert!(pending.calls_async().await >= 3);

    let c2 = c.clone();
    let call = tokio::spawn(async move {
        c2.transactions()
            .wait_until_final(
                "RHP-9",
                &PollOptions::default()
                    .interval(Duration::from_millis(20))
                    .timeout(Duration::from_secs(10)),
            )
            .await
    });
    wait_calls(&pending, 4).await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/RHP-9");
            then.status(200).json_body(json!({
                "success": true, "data": transaction_json("RHP-9", "failed")
            }));
        })
        .await;
    pending.delete_async().await;
    let tx = call.await.unwrap().unwrap();
    assert_eq!(tx.status, Some(TransactionStatus::Failed));
}

/// A body carrying both a documented name and the alternative seen in the wild
/// (`internal_reference` and `reference`, ...) decodes, the documented one winning, instead
/// of failing with serde's duplicate-field error.
#[tokio::test]
async fn documented_and_alternative_names_together_decode() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/RHP-2024-ABC123");
            then.status(200).json_body(json!({
                "success": true,
                "data": {
                    "id": "01jdocumented",
                    "transaction_id": "01jalias",
                    "internal_reference": "RHP-2024-ABC123",
                    "reference": "RHP-2024-ABC123",
                    "status": "successful",
                    "commission_amount": 500,
                    "commission": 500,
                    "provider_fee_amount": 250,
                    "provider_fee": 250,
                    "phone_number": "256712345678",
                    "phone": "256712345678",
                    "amount": 50000
                }
            }));
        })
        .await;
    let tx = client(&server)
        .transactions()
        .get("RHP-2024-ABC123")
        .await
        .unwrap();
    assert_eq!(tx.id.as_ref().map(|i| i.as_str()), Some("01jdocumented"));
    assert_eq!(tx.internal_reference.as_str(), "RHP-2024-ABC123");
    assert_eq!(tx.commission_amount, Some(Decimal::from(500)));
    assert_eq!(tx.provider_fee_amount, Some(Decimal::from(250)));
    assert_eq!(tx.phone_number.as_deref(), Some("256712345678"));
    // And a transaction still round-trips through its documented names.
    let back: Transaction = serde_json::from_value(serde_json::to_value(&tx).unwrap()).unwrap();
    assert_eq!(back, tx);
}
