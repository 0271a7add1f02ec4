//! `POST /api/v1/checkout`, the untrusted return URL and `confirm`.

use std::time::Duration;

use httpmock::prelude::*;
use payout_core::test_util::{DropMode, DropServer};
use rohopay::webhook::FixedClock;
use rohopay::{
    Card, CheckoutRequest, Client, Currency, ErrorCode, ErrorKind, IdempotencyKey, Keyed, ReturnStatus,
    TransactionStatus, UntrustedCheckoutReturn,
};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn checkout_sends_documented_body() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/checkout")
                .query_param_count(".*", ".*", 0)
                .header("content-type", "application/json")
                .header_missing("authorization")
                .header("idempotency-key", "order-1001-checkout-1")
                .json_body(excerpt_checkout_body(LIVE_KEY));
            then.status(200).json_body(excerpt_checkout_response());
        })
        .await;
    let req = excerpt_checkout().idempotency_key(IdempotencyKey::new("order-1001-checkout-1").unwrap());
    assert_eq!(req.key(), "order-1001-checkout-1");
    let session = client(&server).checkout().create(&req).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(
        session.transaction_id.as_ref().map(|t| t.as_str()),
        Some("01j5m6n7p8q9r0s1t2u3vwxy")
    );
    assert_eq!(session.internal_reference.as_str(), "RHP-2024-CARD001");
    assert_eq!(session.payment_url, "https://payments.rohopay.com/3ds/abc123xyz");
    assert_eq!(session.status, Some(TransactionStatus::Pending));
    assert_eq!(session.amount, Some(75_000.into()));
    assert_eq!(session.currency, Some(Currency::Ugx));
}

#[tokio::test]
async fn checkout_with_sandbox_key_and_grouped_card_number() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/checkout")
                .header_missing("authorization")
                .json_body(json!({
                    "api_key": TEST_KEY,
                    "amount": 5000,
                    "currency": "KES",
                    "customer_name": "Wanjiru K",
                    "customer_email": "w@example.co.ke",
                    "return_url": "http://localhost:3000/return",
                    "card_number": "5555555555554444",
                    "card_expiry": "06/26",
                    "card_cvv": "321"
                }));
            then.status(200).json_body(excerpt_checkout_response());
        })
        .await;
    let req = CheckoutRequest::new(
        5000,
        Currency::Kes,
        "Wanjiru K",
        "w@example.co.ke",
        "http://localhost:3000/return",
        Card::new("5555-5555-5555-4444", " 06/26 ", "321"),
    );
    client_for(&server.base_url(), TEST_KEY)
        .checkout()
        .create(&req)
        .await
        .unwrap();
    m.assert_calls_async(1).await;
}

/// Each invalid input is refused before sending, naming the field and never the value.
#[tokio::test]
async fn checkout_validates_before_sending() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(excerpt_checkout_response());
        })
        .await;
    let c = client(&server);
    let card = || Card::new("4111111111111111", "10/26", "123");
    let base = |card: Card| {
        CheckoutRequest::new(
            75_000,
            Currency::Ugx,
            "Jane Mukasa",
            "jane@example.com",
            "https://your-app.com/checkout/return",
            card,
        )
    };
    let with = |amount, currency, name: &str, email: &str, url: &str| {
        CheckoutRequest::new(amount, currency, name, email, url, card())
    };
    let ok_url = "https://your-app.com/r";
    let cases: Vec<(CheckoutRequest, &str, &[&str])> = vec![
        (
            base(Card::new("4111111111111112", "10/26", "123")),
            "card_number",
            &["4111111111111112"],
        ),
        (
            base(Card::new("411111111111111", "10/26", "123")),
            "card_number",
            &["411111111111111"],
        ),
        (
            base(Card::new("6011111111111117", "10/26", "123")),
            "card_number",
            &["6011111111111117"],
        ),
        (
            base(Card::new("4111x11111111111", "10/26", "123")),
            "card_number",
            &["4111x"],
        ),
        (
            base(Card::new("4111111111111111", "05/26", "123")),
            "card_expiry",
            &["05/26"],
        ),
        (
            base(Card::new("4111111111111111", "13/27", "123")),
            "card_expiry",
            &["13/27"],
        ),
        (
            base(Card::new("4111111111111111", "1026", "123")),
            "card_expiry",
            &["1026"],
        ),
        (
            base(Card::new("4111111111111111", "10/26", "12")),
            "card_cvv",
            &["\"12\""],
        ),
        (
            base(Card::new("4111111111111111", "10/26", "1234")),
            "card_cvv",
            &["1234"],
        ),
        (
            base(Card::new("4111111111111111", "10/26", "12a")),
            "card_cvv",
            &["12a"],
        ),
        (
            with(0, Currency::Ugx, "Jane", "jane@example.com", ok_url),
            "amount",
            &[],
        ),
        (
            with(10, Currency::from("USD"), "Jane", "jane@example.com", ok_url),
            "currency",
            &["USD"],
        ),
        (
            with(10, Currency::Ugx, "  ", "jane@example.com", ok_url),
            "customer_name",
            &[],
        ),
        (
            with(10, Currency::Ugx, "Jane", "jane.example.com", ok_url),
            "customer_email",
            &["jane.example.com"],
        ),
        (
            with(10, Currency::Ugx, "Jane", "jane@example", ok_url),
            "customer_email",
            &["jane@example"],
        ),
        (
            with(10, Currency::Ugx, "Jane", "jane@example.com", "/return"),
            "return_url",
            &["/return"],
        ),
        (
            with(10, Currency::Ugx, "Jane", "jane@example.com", "ftp://x.example/r"),
            "return_url",
            &["ftp://"],
        ),
    ];
    for (req, field, must_not_contain) in cases {
        let err = c.checkout().create(&req).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{field}");
        assert_eq!(err.field(), Some(field));
        assert_eq!(err.attempts(), 0);
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(field), "{field}: {shown}");
        for value in must_not_contain {
            assert!(!shown.contains(value), "{field}: the value was echoed");
        }
    }
    // Rule words are there to help: the Luhn and expiry rules say what is wrong.
    let luhn = c
        .checkout()
        .create(&base(Card::new("4111111111111112", "10/26", "123")))
        .await
        .unwrap_err();
    assert!(luhn.to_string().contains("Luhn"), "{luhn}");
    m.assert_calls_async(0).await;
}

#[tokio::test]
async fn card_expiry_is_checked_against_the_injected_clock() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/checkout");
            then.status(200).json_body(excerpt_checkout_response());
        })
        .await;
    // The excerpt's 10/26 card is fine in June 2026 ...
    client(&server)
        .checkout()
        .create(&excerpt_checkout())
        .await
        .unwrap();
    // ... and expired in November 2026: refused before sending.
    let later = Client::builder()
        .api_key(LIVE_KEY)
        .base_url(server.base_url())
        .clock(FixedClock(november_2026()))
        .build()
        .unwrap();
    let err = later.checkout().create(&excerpt_checkout()).await.unwrap_err();
    assert_eq!(err.field(), Some("card_expiry"));
    assert_eq!(
        err.to_string(),
        "rohopay: invalid input: `card_expiry` is in the past: the card has expired (nothing was sent)"
    );
    m.assert_calls_async(1).await;
    // The same check is available without a client.
    assert!(excerpt_checkout().validate_at(june_2026()).is_ok());
    assert!(excerpt_checkout().validate_at(november_2026()).is_err());
}

#[tokio::test]
async fn checkout_documented_errors_map_to_kinds() {
    let server = MockServer::start_async().await;
    let cases = [
        (
            400,
            "VALIDATION_ERROR",
            "Invalid card number, expiry, CVV, or email",
            ErrorKind::Provider,
            ErrorCode::ValidationError,
        ),
        (
            400,
            "CARD_EXPIRED",
            "Card expiry date is in the past",
            ErrorKind::Provider,
            ErrorCode::CardExpired,
        ),
        (
            401,
            "UNAUTHORIZED",
            "Invalid api_key in body",
            ErrorKind::Auth,
            ErrorCode::Unauthorized,
        ),
    ];
    for (status, code, message, kind, typed) in cases {
        let m = server
            .mock_async(|when, then| {
                when.method(POST).path("/api/v1/checkout");
                then.status(status).json_body(json!({
                    "success": false,
                    "error": {"code": code, "message": message, "reference": "RHP-2024-CARD001"}
                }));
            })
            .await;
        let err = client(&server)
            .checkout()
            .create(&excerpt_checkout())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{code}");
        assert_eq!(err.status(), Some(status));
        assert_eq!(ErrorCode::of(&err), Some(typed));
        assert_eq!(err.message(), message);
        assert_eq!(err.request_id(), Some("RHP-2024-CARD001"));
        assert!(!err.is_retryable());
        assert_eq!(
            err.to_string(),
            format!("rohopay: {code}: {message} (HTTP {status}, request RHP-2024-CARD001)")
        );
        m.assert_calls_async(1).await;
        m.delete_async().await;
    }
}

#[tokio::test]
async fn checkout_rate_limit_429_is_retried_because_nothing_was_processed() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/checkout");
            then.status(429)
                .json_body(error_body("RATE_LIMIT_EXCEEDED", "30 req/min exceeded"));
        })
        .await;
    let err = client(&server)
        .checkout()
        .create(&excerpt_checkout())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::RateLimitExceeded));
    assert!(err.is_retryable());
    m.assert_calls_async(3).await;
    assert_eq!(rohopay::rate_limits::CHECKOUT_PER_MINUTE, 30);
}

/// 503 PROVIDER_LINE_DOWN after the card was sent: key-protected since checkout carries an
/// `Idempotency-Key`, so retried with the same key; when every attempt fails the error keeps
/// the key, says it may have succeeded, and is retryable with that key.
#[tokio::test]
async fn checkout_503_is_retried_with_the_same_key() {
    let server = MockServer::start_async().await;
    let req = excerpt_checkout();
    let key = req.key().to_string();
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/checkout")
                .header("idempotency-key", key.as_str());
            then.status(503)
                .json_body(error_body("PROVIDER_LINE_DOWN", "Payment provider unavailable"));
        })
        .await;
    let err = client(&server).checkout().create(&req).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::ProviderLineDown));
    assert_eq!(err.idempotency_key().map(|k| k.as_str()), Some(key.as_str()));
    assert!(err.may_have_succeeded());
    assert!(err.is_retryable());
    assert_eq!(err.attempts(), 3);
    m.assert_calls_async(3).await;
}

/// A Cloudflare-style HTML 502 page, then the session: one call, the same key twice.
#[tokio::test]
async fn checkout_html_502_then_200_is_retried_with_the_same_key() {
    let server = MockServer::start_async().await;
    let req = excerpt_checkout();
    let key = req.key().to_string();
    let bad = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/checkout")
                .header("idempotency-key", key.as_str());
            then.status(502)
                .header("content-type", "text/html")
                .body("<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>");
        })
        .await;
    let client = client(&server);
    let call = tokio::spawn({
        let client = client.clone();
        let req = req.clone();
        async move { client.checkout().create(&req).await }
    });
    wait_calls(&bad, 1).await;
    bad.delete_async().await;
    let good = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/checkout")
                .header("idempotency-key", key.as_str())
                .json_body(excerpt_checkout_body(LIVE_KEY));
            then.status(200).json_body(excerpt_checkout_response());
        })
        .await;
    let session = call.await.unwrap().unwrap();
    good.assert_calls_async(1).await;
    assert_eq!(session.internal_reference.as_str(), "RHP-2024-CARD001");
}

#[tokio::test]
async fn checkout_dropped_connection_is_retried_with_the_same_key() {
    for mode in [DropMode::CloseAfterRequest, DropMode::TruncatedResponse] {
        let srv = DropServer::start(mode);
        let req = excerpt_checkout();
        let err = client_for(&srv.base_url(), LIVE_KEY)
            .checkout()
            .create(&req)
            .await
            .unwrap_err();
        assert!(err.may_have_succeeded(), "{mode:?}");
        assert_eq!(
            err.idempotency_key().map(|k| k.as_str()),
            Some(req.key()),
            "{mode:?}"
        );
        assert_eq!(srv.requests(), 3, "{mode:?}: retried with the key");
    }
}

#[tokio::test]
async fn checkout_html_error_page_keeps_status_and_snippet() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/checkout");
            then.status(400)
                .header("content-type", "text/html")
                .body("<html><body><h1>400 Bad Request</h1>nginx</body></html>");
        })
        .await;
    let err = client(&server)
        .checkout()
        .create(&excerpt_checkout())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.provider_code(), None);
    assert_eq!(err.message(), "HTTP 400 Bad Request");
    assert!(err.body_snippet().unwrap().contains("nginx"));
}

#[tokio::test]
async fn checkout_success_false_in_a_200_is_an_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/checkout");
            then.status(200)
                .json_body(error_body("SOMETHING_NEW", "a brand new failure"));
        })
        .await;
    let err = client(&server)
        .checkout()
        .create(&excerpt_checkout())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(
        ErrorCode::of(&err),
        Some(ErrorCode::Unknown("SOMETHING_NEW".into()))
    );
    assert_eq!(err.status(), Some(200));
    assert!(!err.may_have_succeeded());
}

#[test]
fn return_url_is_parsed_but_untrusted() {
    let r = UntrustedCheckoutReturn::parse(
        "https://your-app.com/checkout/return?status=success&reference=RHP-2024-CARD001&order_ref=relworx-ref",
    );
    assert_eq!(r.claimed_status(), Some(&ReturnStatus::Success));
    assert_eq!(r.claimed_reference(), Some("RHP-2024-CARD001"));
    assert_eq!(r.claimed_order_ref(), Some("relworx-ref"));
    // Bare queries, with or without `?`, fragments, encoding, unknown statuses.
    let r = UntrustedCheckoutReturn::parse("?status=failed&reference=RHP%2D2024%2DX#top");
    assert_eq!(r.claimed_status(), Some(&ReturnStatus::Failed));
    assert_eq!(r.claimed_reference(), Some("RHP-2024-X"));
    let r = UntrustedCheckoutReturn::parse("status=cancelled");
    assert_eq!(
        r.claimed_status(),
        Some(&ReturnStatus::Unknown("cancelled".into()))
    );
    assert_eq!(r.claimed_reference(), None);
    // The first value wins, so an appended parameter cannot override it.
    let r = UntrustedCheckoutReturn::parse("/r?reference=RHP-A&status=failed&reference=RHP-B&status=success");
    assert_eq!(r.claimed_reference(), Some("RHP-A"));
    assert_eq!(r.claimed_status(), Some(&ReturnStatus::Failed));
    assert_eq!(
        UntrustedCheckoutReturn::parse("https://x.example/r"),
        UntrustedCheckoutReturn::default()
    );
    assert_eq!(
        UntrustedCheckoutReturn::parse("?reference=&status="),
        UntrustedCheckoutReturn::default()
    );
}

/// The excerpt: "Do not trust ?status=success alone". The redirect says success, RohoPay
/// says pending: `confirm` reports pending.
#[tokio::test]
async fn confirm_trusts_the_api_not_the_redirect() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/transactions/RHP-2024-CARD001")
                .header("authorization", format!("Bearer {LIVE_KEY}"));
            then.status(200).json_body(json!({
                "success": true,
                "data": transaction_json("RHP-2024-CARD001", "pending")
            }));
        })
        .await;
    let ret =
        UntrustedCheckoutReturn::parse("?status=success&reference=RHP-2024-CARD001&order_ref=relworx-ref");
    let c = client(&server);
    let confirmation = c
        .checkout()
        .confirm_return(&ret, "RHP-2024-CARD001")
        .await
        .unwrap();
    assert_eq!(confirmation.status(), TransactionStatus::Pending);
    assert!(!confirmation.is_paid());
    assert!(!confirmation.is_paid_for(75_000, &Currency::Ugx));
    assert!(confirmation.redirect_disagrees());
    assert!(confirmation.return_matches);
    assert_eq!(confirmation.claimed_status, Some(ReturnStatus::Success));

    let plain = c.checkout().confirm("RHP-2024-CARD001").await.unwrap();
    assert_eq!(plain.status(), TransactionStatus::Pending);
    assert!(!plain.redirect_disagrees());
    m.assert_calls_async(2).await;
}

#[tokio::test]
async fn confirm_paid_checks_amount_and_currency() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/RHP-2024-CARD001");
            then.status(200).json_body(json!({
                "success": true,
                "data": transaction_json("RHP-2024-CARD001", "successful")
            }));
        })
        .await;
    let ret = UntrustedCheckoutReturn::parse("?status=success&reference=RHP-2024-CARD001");
    let confirmation = client(&server)
        .checkout()
        .confirm_return(&ret, "RHP-2024-CARD001")
        .await
        .unwrap();
    assert!(confirmation.is_paid());
    assert!(confirmation.is_paid_for(75_000, &Currency::Ugx));
    assert!(!confirmation.is_paid_for(75_001, &Currency::Ugx));
    assert!(!confirmation.is_paid_for(75_000, &Currency::Kes));
    assert!(!confirmation.redirect_disagrees());
}

/// A return URL naming someone else's successful payment does not confirm yours: the lookup
/// uses the stored reference, and the mismatch is reported.
#[tokio::test]
async fn confirm_looks_up_the_stored_reference_not_the_url() {
    let server = MockServer::start_async().await;
    let mine = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/RHP-2024-MINE");
            then.status(200).json_body(json!({
                "success": true,
                "data": transaction_json("RHP-2024-MINE", "failed")
            }));
        })
        .await;
    let theirs = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/RHP-2024-OTHER");
            then.status(200).json_body(json!({
                "success": true,
                "data": transaction_json("RHP-2024-OTHER", "successful")
            }));
        })
        .await;
    let ret = UntrustedCheckoutReturn::parse("?status=success&reference=RHP-2024-OTHER");
    let confirmation = client(&server)
        .checkout()
        .confirm_return(&ret, "RHP-2024-MINE")
        .await
        .unwrap();
    assert_eq!(confirmation.status(), TransactionStatus::Failed);
    assert!(!confirmation.return_matches);
    assert!(confirmation.redirect_disagrees());
    mine.assert_calls_async(1).await;
    theirs.assert_calls_async(0).await;
}

#[tokio::test]
async fn confirm_refuses_an_answer_about_another_transaction() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/transactions/RHP-2024-MINE");
            then.status(200).json_body(json!({
                "success": true,
                "data": transaction_json("RHP-2024-OTHER", "successful")
            }));
        })
        .await;
    let err = client(&server)
        .checkout()
        .confirm("RHP-2024-MINE")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert!(err.message().contains("different transaction"), "{err}");
}

/// The checkout preset enforces RohoPay's 30 per minute on the client side: the 31st call
/// within the minute is refused before sending when no slot frees up before the deadline.
#[tokio::test]
async fn checkout_rate_limit_preset_spaces_checkouts_two_seconds_apart() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/checkout");
            then.status(200).json_body(excerpt_checkout_response());
        })
        .await;
    let c = Client::builder()
        .api_key(LIVE_KEY)
        .base_url(server.base_url())
        .clock(FixedClock(june_2026()))
        .rate_limiter(rohopay::rate_limits::checkout())
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    // 30 a minute as a window bound: one checkout every ~2.07 s, never a burst of 30 (a token
    // bucket let 30 through at once and up to 59 into a sliding minute).
    c.checkout().create(&excerpt_checkout()).await.unwrap();
    let err = c.checkout().create(&excerpt_checkout()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.attempts(), 0);
    assert!(!err.was_sent());
    let wait = err.retry_after().unwrap();
    assert!(
        wait > Duration::from_millis(1_500) && wait <= Duration::from_millis(2_100),
        "{wait:?}"
    );
    m.assert_calls_async(1).await;
}

/// The checkout answer with both `transaction_id` and `id` (and `reference`) decodes: a
/// duplicate-field error here would hide the one-time `payment_url` behind a "may have
/// succeeded" decode error.
#[tokio::test]
async fn checkout_response_with_id_and_transaction_id_decodes() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/checkout");
            then.status(200).json_body(json!({
                "success": true,
                "data": {
                    "transaction_id": "01j5m6n7p8q9r0s1t2u3vwxy",
                    "id": "01j5m6n7p8q9r0s1t2u3vwxy",
                    "internal_reference": "RHP-2024-CARD001",
                    "reference": "RHP-2024-CARD001",
                    "payment_url": "https://payments.rohopay.com/3ds/abc123xyz",
                    "status": "pending"
                }
            }));
        })
        .await;
    let session = client(&server)
        .checkout()
        .create(&excerpt_checkout())
        .await
        .unwrap();
    assert_eq!(
        session.transaction_id.as_ref().map(|t| t.as_str()),
        Some("01j5m6n7p8q9r0s1t2u3vwxy")
    );
    assert_eq!(session.internal_reference.as_str(), "RHP-2024-CARD001");
    assert_eq!(session.payment_url, "https://payments.rohopay.com/3ds/abc123xyz");
    // Only `id` and `reference` (older shape) still work; no payment_url, or no reference
    // by either name, is an error: never a session the order cannot be confirmed by.
    let only_id: rohopay::CheckoutSession = serde_json::from_value(
        json!({"id": "01jx", "reference": "RHP-1", "payment_url": "https://p.example/3ds"}),
    )
    .unwrap();
    assert_eq!(only_id.transaction_id.as_ref().map(|t| t.as_str()), Some("01jx"));
    assert_eq!(only_id.internal_reference.as_str(), "RHP-1");
    assert!(
        serde_json::from_value::<rohopay::CheckoutSession>(json!({"id": "01jx", "reference": "RHP-1"}))
            .is_err()
    );
    assert!(
        serde_json::from_value::<rohopay::CheckoutSession>(json!({"id": "01jx", "payment_url": "https://p"}))
            .is_err()
    );
}

/// `per_operation()` routes `checkout.create` to the checkout limit: the second checkout within
/// a second is refused unsent.
#[tokio::test]
async fn per_operation_preset_limits_checkout() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/checkout");
            then.status(200).json_body(excerpt_checkout_response());
        })
        .await;
    let c = Client::builder()
        .api_key(LIVE_KEY)
        .base_url(server.base_url())
        .clock(FixedClock(june_2026()))
        .rate_limiter(rohopay::rate_limits::per_operation())
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    c.checkout().create(&excerpt_checkout()).await.unwrap();
    let err = c.checkout().create(&excerpt_checkout()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(!err.was_sent());
    m.assert_calls_async(1).await;
}
