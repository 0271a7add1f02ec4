//! The documented flows end to end against the offline sandbox, its documented errors and
//! limits, and the fault scenarios that prove from the sandbox's own record that nothing is
//! created, charged or paid twice.

use std::time::Duration;

use payout_core::reqwest;
use payout_core::sandbox::{Fault, WebhookInbox};
use rohopay::sandbox::{FAILING_PHONE, SANDBOX_TEST_KEY, Sandbox, ThreeDs, signed_webhook};
use rohopay::webhook::{self, EventType, Verifier};
use rohopay::{
    Card, CheckoutRequest, CollectRequest, Currency, DisburseRequest, ErrorCode, ErrorKind, IdempotencyKey,
    Keyed, ListTransactions, PollOptions, ReturnStatus, SecretString, TransactionEnvironment,
    TransactionStatus, TransactionType, UntrustedCheckoutReturn,
};
use serde_json::{Value, json};

const PHONE: &str = "256712345678";
const CARD_NUMBER: &str = "4111111111111111";

fn card_checkout(amount: u64) -> CheckoutRequest {
    CheckoutRequest::new(
        amount,
        Currency::Ugx,
        "Jane Mukasa",
        "jane@example.com",
        "https://shop.example/checkout/return?order=1001",
        Card::new(CARD_NUMBER, "12/30", "123"),
    )
    .description("Premium subscription")
}

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}

/// A browser that does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn checkout_json(overrides: Value) -> Value {
    let mut body = json!({
        "api_key": SANDBOX_TEST_KEY,
        "amount": 75000,
        "currency": "UGX",
        "customer_name": "Jane Mukasa",
        "customer_email": "jane@example.com",
        "return_url": "https://shop.example/checkout/return",
        "card_number": CARD_NUMBER,
        "card_expiry": "12/30",
        "card_cvv": "123"
    });
    for (k, v) in overrides.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

async fn post_checkout(
    http: &reqwest::Client,
    sandbox: &Sandbox,
    body: &Value,
) -> (u16, Option<String>, Value) {
    let resp = http
        .post(format!("{}/api/v1/checkout", sandbox.base_url()))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap();
    assert!(!text.contains(CARD_NUMBER), "the sandbox echoed the card number");
    (status, retry_after, serde_json::from_str(&text).unwrap())
}

fn verified_events(
    inbox_received: &[payout_core::sandbox::RecordedRequest],
    secret: &SecretString,
) -> Vec<webhook::WebhookEvent> {
    inbox_received
        .iter()
        .map(|r| {
            Verifier::new(secret.clone())
                .verify_headers(&r.headers, &r.body)
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn card_checkout_3ds_return_url_and_confirm() {
    let sandbox = Sandbox::start().await.unwrap();
    let inbox = WebhookInbox::start().await.unwrap();
    sandbox.set_webhook_url(inbox.url());
    let client = sandbox.client();

    let session = client.checkout().create(&card_checkout(75_000)).await.unwrap();
    assert_eq!(session.status, Some(TransactionStatus::Pending));
    assert_eq!(session.amount, Some(75_000.into()));
    let reference = session.internal_reference.clone().into_string();
    assert!(reference.starts_with("RHP-"));
    assert!(session.transaction_id.is_some());
    assert!(
        session
            .payment_url
            .starts_with(&format!("{}/3ds/", sandbox.base_url()))
    );
    // The key went in the body, not in a header.
    let sent = &sandbox.server().requests()[0];
    assert!(sent.header("authorization").is_none());
    assert_eq!(sent.json().unwrap()["api_key"], SANDBOX_TEST_KEY);

    // Abandoned so far: still pending, nothing credited.
    assert_eq!(
        client
            .checkout()
            .confirm(reference.as_str())
            .await
            .unwrap()
            .status(),
        TransactionStatus::Pending
    );

    // The 3-D Secure page, then approval, then the redirect to the return URL.
    let b = browser();
    let page = b.get(&session.payment_url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("outcome") && html.contains("approve") && html.contains("decline"));
    assert!(
        !html.contains("4111") && !html.contains("1111"),
        "no card data on the page"
    );
    let redirect = b
        .get(format!("{}?outcome=approve", session.payment_url))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status().as_u16(), 302);
    let location = redirect.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("https://shop.example/checkout/return?order=1001&status=success&"));
    let ret = UntrustedCheckoutReturn::parse(&location);
    assert_eq!(ret.claimed_status(), Some(&ReturnStatus::Success));
    assert_eq!(ret.claimed_reference(), Some(reference.as_str()));
    assert!(ret.claimed_order_ref().unwrap().starts_with("relworx-"));

    // The authoritative answer.
    let confirmation = client
        .checkout()
        .confirm_return(&ret, reference.as_str())
        .await
        .unwrap();
    assert!(confirmation.is_paid_for(75_000, &Currency::Ugx));
    assert!(!confirmation.is_paid_for(80_000, &Currency::Ugx));
    assert!(confirmation.return_matches);
    assert!(!confirmation.redirect_disagrees());
    assert_eq!(
        confirmation.transaction.payment_method,
        Some(rohopay::PaymentMethod::Card)
    );

    // One-time link.
    let again = b.get(&session.payment_url).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 410);
    let again = b
        .get(format!("{}?outcome=approve", session.payment_url))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 410);

    // Credited once to the test wallet (1 % commission), and a signed webhook.
    assert_eq!(sandbox.balance_test(), 74_250);
    assert_eq!(sandbox.balance_live(), 0);
    let got = inbox.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    let events = verified_events(&got, &sandbox.webhook_secret());
    assert_eq!(events[0].event_type(), EventType::DepositSuccessful);
    let tx = events[0].transaction().unwrap();
    assert_eq!(tx.internal_reference.as_str(), reference.as_str());
    assert!(tx.is_successful());
    assert!(!String::from_utf8_lossy(&got[0].body).contains(CARD_NUMBER));
    // Signed with the webhook secret, not the API key.
    let api_key = SecretString::from(SANDBOX_TEST_KEY);
    assert!(
        Verifier::new(api_key)
            .verify_headers(&got[0].headers, &got[0].body)
            .is_err()
    );
    assert!(
        got[0]
            .header("x-rohopay-signature")
            .unwrap()
            .starts_with("sha256=")
    );
    // No request to the sandbox ever carried the card back.
    assert_eq!(sandbox.checkout_sessions_created(), 1);
}

#[tokio::test]
async fn declined_3ds_redirects_failed_and_moves_no_money() {
    let sandbox = Sandbox::start().await.unwrap();
    let inbox = WebhookInbox::start().await.unwrap();
    sandbox.set_webhook_url(inbox.url());
    let client = sandbox.client();
    let session = client.checkout().create(&card_checkout(10_000)).await.unwrap();
    let reference = session.internal_reference.into_string();
    let location = sandbox
        .complete_3ds(&session.payment_url, ThreeDs::Decline)
        .await
        .unwrap();
    let ret = UntrustedCheckoutReturn::parse(&location);
    assert_eq!(ret.claimed_status(), Some(&ReturnStatus::Failed));
    let confirmation = client
        .checkout()
        .confirm_return(&ret, reference.as_str())
        .await
        .unwrap();
    assert_eq!(confirmation.status(), TransactionStatus::Failed);
    assert!(!confirmation.is_paid());
    assert_eq!(sandbox.balance_test(), 0);
    // A forged success for the same reference does not fool confirm.
    let forged = UntrustedCheckoutReturn::parse(&format!("?status=success&reference={reference}"));
    let c = client
        .checkout()
        .confirm_return(&forged, reference.as_str())
        .await
        .unwrap();
    assert!(c.redirect_disagrees() && !c.is_paid());
    // RohoPay documents no webhook for a failed deposit.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(inbox.received().is_empty());
    assert!(
        sandbox
            .complete_3ds(&session.payment_url, ThreeDs::Approve)
            .await
            .is_err(),
        "one-time"
    );
}

#[tokio::test]
async fn collect_disburse_list_and_wallet() {
    let sandbox = Sandbox::start().await.unwrap();
    let inbox = WebhookInbox::start().await.unwrap();
    sandbox.set_webhook_url(inbox.url());
    let live = sandbox.live_client();

    let collected = live
        .mobile_money()
        .collect(
            &CollectRequest::new(PHONE, 50_000, Currency::Ugx)
                .description("Order #1001")
                .callback_url("https://shop.example/webhooks/rohopay")
                .idempotency_key(key("order-1001-collect")),
        )
        .await
        .unwrap();
    assert_eq!(collected.message.as_deref(), Some("Payment initiated"));
    let tx = &collected.transaction;
    assert_eq!(tx.status, Some(TransactionStatus::Pending));
    assert_eq!(tx.kind, Some(TransactionType::Collection));
    assert_eq!(tx.environment, Some(TransactionEnvironment::Live));
    assert_eq!(tx.commission_amount, Some(500.into()));
    assert_eq!(tx.net_amount, Some(49_500.into()));
    let collect_ref = tx.internal_reference.clone().into_string();
    assert_eq!(sandbox.balance_live(), 0, "nothing credited while pending");
    assert_eq!(
        sandbox.server().requests()[0].header("idempotency-key"),
        Some("order-1001-collect")
    );

    assert_eq!(sandbox.advance().await, vec![collect_ref.clone()]);
    let done = live.transactions().get(collect_ref.as_str()).await.unwrap();
    assert!(done.is_successful());
    assert_eq!(done.provider_status.as_deref(), Some("SUCCESSFUL"));
    // Also found by its provider reference.
    let by_provider = live
        .transactions()
        .get(done.provider_reference.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(by_provider.internal_reference, done.internal_reference);
    let wallet = live.wallet().balance().await.unwrap();
    assert_eq!(wallet.balance_live, 49_500.into());
    assert_eq!(wallet.balance_test, 0.into());
    assert_eq!(wallet.currency, Some(Currency::Ugx));

    let paid = live
        .mobile_money()
        .disburse(&DisburseRequest::new(PHONE, 20_000, Currency::Ugx).idempotency_key(key("refund-1001")))
        .await
        .unwrap();
    let payout_ref = paid.transaction.internal_reference.clone().into_string();
    assert_eq!(paid.transaction.kind, Some(TransactionType::Disbursement));
    assert_eq!(sandbox.balance_live(), 49_500 - 20_200, "debited on acceptance");
    assert!(sandbox.complete(&payout_ref).await);
    assert!(!sandbox.complete(&payout_ref).await, "final states never change");
    assert_eq!(sandbox.balance_live(), 29_300);

    let events = verified_events(
        &inbox.wait_for(2, Duration::from_secs(5)).await,
        &sandbox.webhook_secret(),
    );
    let kinds: Vec<_> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        kinds,
        vec![EventType::DepositSuccessful, EventType::WithdrawSuccessful]
    );
    assert_eq!(
        events[1].dedup_key(),
        Some(format!("{payout_ref}:withdraw.successful"))
    );

    // The list: filters, newest first, limit and offset.
    for i in 0..3 {
        live.mobile_money()
            .collect(&CollectRequest::new(PHONE, 1_000 + i, Currency::Ugx))
            .await
            .unwrap();
    }
    let all = live.transactions().list(&ListTransactions::new()).await.unwrap();
    assert_eq!(all.items.len(), 5);
    assert_eq!(all.next, None);
    assert_eq!(all.items[0].amount, Some(1_002.into()), "newest first");
    let payouts = live
        .transactions()
        .list(&ListTransactions::new().kind(TransactionType::Disbursement))
        .await
        .unwrap();
    assert_eq!(payouts.items.len(), 1);
    assert_eq!(payouts.items[0].internal_reference.as_str(), payout_ref.as_str());
    let pending = live
        .transactions()
        .list(&ListTransactions::new().status(TransactionStatus::Pending))
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 3);
    let page = live
        .transactions()
        .list(&ListTransactions::new().limit(2).offset(2))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].amount, Some(1_000.into()));
    assert_eq!(page.next, Some(4));
    let streamed = live
        .transactions()
        .collect_all(ListTransactions::new().limit(2), 100)
        .await
        .unwrap();
    assert_eq!(streamed.len(), 5);
    let none = live
        .transactions()
        .list(&ListTransactions::new().environment(TransactionEnvironment::Test))
        .await
        .unwrap();
    assert!(none.items.is_empty());
    let old = live
        .transactions()
        .list(
            &ListTransactions::new()
                .from("2000-01-01T00:00:00+03:00")
                .to("2000-12-31T23:59:59+03:00"),
        )
        .await
        .unwrap();
    assert!(old.items.is_empty());
    let recent = live
        .transactions()
        .list(&ListTransactions::new().from("2000-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(recent.items.len(), 5);
}

#[tokio::test]
async fn failing_numbers_fail_and_payouts_are_refunded() {
    let sandbox = Sandbox::start().await.unwrap();
    let inbox = WebhookInbox::start().await.unwrap();
    sandbox.set_webhook_url(inbox.url());
    sandbox.set_balance_live(100_000);
    let live = sandbox.live_client();
    let c = live
        .mobile_money()
        .collect(&CollectRequest::new(FAILING_PHONE, 5_000, Currency::Ugx))
        .await
        .unwrap();
    let d = live
        .mobile_money()
        .disburse(&DisburseRequest::new(FAILING_PHONE, 10_000, Currency::Ugx))
        .await
        .unwrap();
    assert_eq!(sandbox.balance_live(), 100_000 - 10_100);
    sandbox.advance().await;
    for r in [&c, &d] {
        let tx = live
            .transactions()
            .get(r.transaction.internal_reference.as_str())
            .await
            .unwrap();
        assert_eq!(tx.status, Some(TransactionStatus::Failed));
    }
    assert_eq!(sandbox.balance_live(), 100_000, "refunded, nothing credited");
    let events = verified_events(
        &inbox.wait_for(1, Duration::from_secs(5)).await,
        &sandbox.webhook_secret(),
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type(), EventType::WithdrawFailed);
}

#[tokio::test]
async fn auto_advance_settles_on_a_timer() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.auto_advance(Duration::from_millis(30));
    let client = sandbox.client();
    let c = client
        .mobile_money()
        .collect(&CollectRequest::new(PHONE, 5_000, Currency::Ugx))
        .await
        .unwrap();
    let tx = client
        .transactions()
        .wait_until_final(
            c.transaction.internal_reference.as_str(),
            &PollOptions::default()
                .interval(Duration::from_millis(20))
                .timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap();
    assert!(tx.is_successful());
    assert_eq!(tx.environment, Some(TransactionEnvironment::Test));
    assert_eq!(sandbox.balance_test(), 4_950);
}

#[tokio::test]
async fn idempotency_replays_same_body_and_refuses_another() {
    let sandbox = Sandbox::start().await.unwrap();
    let live = sandbox.live_client();
    let req = CollectRequest::new(PHONE, 50_000, Currency::Ugx).idempotency_key(key("order-7"));
    let first = live.mobile_money().collect(&req).await.unwrap();
    let second = live.mobile_money().collect(&req).await.unwrap();
    assert_eq!(first.transaction, second.transaction);
    assert_eq!(sandbox.transactions_created(), 1);

    let e = live
        .mobile_money()
        .collect(&CollectRequest::new(PHONE, 60_000, Currency::Ugx).idempotency_key(key("order-7")))
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::IdempotencyConflict));
    assert_eq!(e.status(), Some(409));
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("order-7"));
    // The same key on the other endpoint is another request: refused too.
    sandbox.set_balance_live(1_000_000);
    let e = live
        .mobile_money()
        .disburse(&DisburseRequest::new(PHONE, 50_000, Currency::Ugx).idempotency_key(key("order-7")))
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::IdempotencyConflict));
    assert_eq!(sandbox.transactions_created(), 1);
    assert_eq!(sandbox.balance_live(), 1_000_000);
}

#[tokio::test]
async fn documented_refusals() {
    let sandbox = Sandbox::start().await.unwrap();

    // Disbursing with a test key.
    let e = sandbox
        .client()
        .mobile_money()
        .disburse(&DisburseRequest::new(PHONE, 5_000, Currency::Ugx))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403));
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::DisburseTestBlocked));

    // More than the live wallet holds: refused, nothing created, the key not used up.
    let live = sandbox.live_client();
    sandbox.set_balance_live(10_000);
    let req = DisburseRequest::new(PHONE, 10_000, Currency::Ugx).idempotency_key(key("payout-9"));
    let e = live.mobile_money().disburse(&req).await.unwrap_err();
    assert_eq!(e.status(), Some(422));
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientBalance));
    assert_eq!(e.attempts(), 1, "a 422 is final");
    assert_eq!(sandbox.transactions_created(), 0);
    sandbox.set_balance_live(10_100);
    live.mobile_money().disburse(&req).await.unwrap();
    assert_eq!(sandbox.balance_live(), 0);

    // Wrong key: 401 UNAUTHORIZED, as an Auth error.
    let wrong = rohopay::Client::builder()
        .api_key("test_0000000000000000000000000000000000000000000000000000000000000000")
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let e = wrong.wallet().balance().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(e.status(), Some(401));
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::Unauthorized));
    let e = wrong.checkout().create(&card_checkout(5_000)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(sandbox.checkout_sessions_created(), 0);

    // Unknown reference: 404 NOT_FOUND with the reference in the envelope.
    let e = live.transactions().get("RHP-2024-NOPE").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.request_id(), Some("RHP-2024-NOPE"));

    // What the client refuses before sending, the sandbox refuses too.
    let http = reqwest::Client::new();
    let no_key = http
        .post(format!("{}/api/v1/collect", sandbox.base_url()))
        .bearer_auth(SANDBOX_TEST_KEY)
        .json(&json!({"phone": PHONE, "amount": 5000, "currency": "UGX"}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status().as_u16(), 400);
    let body: Value = no_key.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "MISSING_IDEMPOTENCY_KEY");
    for (bad, code) in [
        (
            json!({"phone": "+256712345678", "amount": 5000, "currency": "UGX"}),
            "INVALID_PHONE",
        ),
        (
            json!({"phone": PHONE, "amount": 0, "currency": "UGX"}),
            "INVALID_AMOUNT",
        ),
        (
            json!({"phone": PHONE, "amount": 5000, "currency": "USD"}),
            "INVALID_CURRENCY",
        ),
    ] {
        let r = http
            .post(format!("{}/api/v1/collect", sandbox.base_url()))
            .bearer_auth(SANDBOX_TEST_KEY)
            .header("idempotency-key", format!("k-{code}"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], code);
    }

    // Checkout: expired card, bad card, bad key in the body; never echoing the card.
    let (status, _, body) =
        post_checkout(&http, &sandbox, &checkout_json(json!({"card_expiry": "01/20"}))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("CARD_EXPIRED"))
    );
    let (status, _, body) = post_checkout(
        &http,
        &sandbox,
        &checkout_json(json!({"card_number": "4111111111111112"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("card_number"));
    let (status, _, body) =
        post_checkout(&http, &sandbox, &checkout_json(json!({"customer_email": "jane"}))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
    let (status, _, body) =
        post_checkout(&http, &sandbox, &checkout_json(json!({"api_key": "live_nope"}))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("UNAUTHORIZED"))
    );
    assert_eq!(sandbox.checkout_sessions_created(), 0);
}

#[tokio::test]
async fn checkout_limit_is_30_per_minute_with_retry_after() {
    let sandbox = Sandbox::start().await.unwrap();
    let http = reqwest::Client::new();
    for _ in 0..30 {
        let (status, _, _) = post_checkout(&http, &sandbox, &checkout_json(json!({}))).await;
        assert_eq!(status, 200);
    }
    let (status, retry_after, body) = post_checkout(&http, &sandbox, &checkout_json(json!({}))).await;
    assert_eq!(status, 429);
    let secs: u64 = retry_after.unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs));
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(sandbox.checkout_sessions_created(), 30);
    // The client reports it as rate limited (the wait is longer than it will sleep).
    let e = sandbox
        .client()
        .checkout()
        .create(&card_checkout(1_000))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(sandbox.checkout_sessions_created(), 30);
}

#[tokio::test]
async fn a_short_rate_window_lets_the_client_retry_after_it() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.set_rate_window(Duration::from_secs(2));
    // One HTTP client for the 30 requests, so they take milliseconds, well inside the window.
    let http = reqwest::Client::new();
    for _ in 0..30 {
        let r = http
            .post(format!("{}/api/v1/checkout", sandbox.base_url()))
            .json(&checkout_json(json!({})))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    sandbox.server().clear_requests();
    let client = rohopay::Client::builder()
        .api_key(SANDBOX_TEST_KEY)
        .base_url(sandbox.base_url())
        .retry_policy(rohopay::RetryPolicy::default().max_retry_after(Duration::from_secs(5)))
        .build()
        .unwrap();
    let session = client.checkout().create(&card_checkout(1_000)).await.unwrap();
    assert!(session.payment_url.contains("/3ds/"));
    // Refused once unprocessed (429), then accepted after Retry-After: one new session.
    assert_eq!(sandbox.server().count("POST", "/api/v1/checkout"), 2);
    assert_eq!(sandbox.checkout_sessions_created(), 31);
}

// ----- Fault scenarios: one per money-moving endpoint, asserted from the sandbox's record -----

/// The checkout's answer is lost after the sandbox created it: retried with the same
/// `Idempotency-Key`, which the sandbox (like RohoPay) answers with the first session. One
/// session exists.
#[tokio::test]
async fn checkout_response_lost_is_retried_with_the_same_key_and_created_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/checkout", 1, Fault::DropAfterProcessing);
    let req = card_checkout(75_000);
    let session = sandbox.client().checkout().create(&req).await.unwrap();
    let posts: Vec<_> = sandbox
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v1/checkout")
        .collect();
    assert_eq!(posts.len(), 2, "retried once");
    for p in &posts {
        assert_eq!(p.header("idempotency-key"), Some(req.key()));
    }
    assert_eq!(sandbox.checkout_sessions_created(), 1);
    assert_eq!(sandbox.transactions_created(), 1);
    let listed = sandbox
        .client()
        .transactions()
        .list(&ListTransactions::new())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].internal_reference, session.internal_reference);
    assert_eq!(listed.items[0].status, Some(TransactionStatus::Pending));
    assert_eq!(sandbox.balance_test(), 0);
}

/// Issue 11's scenario: a Cloudflare-style HTML 502 on the checkout POST (nothing processed,
/// no `payment_url` delivered) is retried with the same key and succeeds; the sandbox's
/// record shows one checkout.
#[tokio::test]
async fn checkout_html_502_is_retried_with_the_same_key_and_succeeds() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/checkout", 1, Fault::HtmlPage(502));
    let req = card_checkout(75_000);
    let session = sandbox.client().checkout().create(&req).await.unwrap();
    assert!(session.payment_url.contains("/3ds/"));
    let posts: Vec<_> = sandbox
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v1/checkout")
        .collect();
    assert_eq!(posts.len(), 2);
    assert!(
        posts
            .iter()
            .all(|p| p.header("idempotency-key") == Some(req.key()))
    );
    assert_eq!(sandbox.checkout_sessions_created(), 1);
    assert_eq!(sandbox.transactions_created(), 1);
    // Sending the same request value again replays the same session: still one.
    let again = sandbox.client().checkout().create(&req).await.unwrap();
    assert_eq!(again, session);
    assert_eq!(sandbox.checkout_sessions_created(), 1);
    // A new request value is a new checkout.
    sandbox
        .client()
        .checkout()
        .create(&card_checkout(75_000))
        .await
        .unwrap();
    assert_eq!(sandbox.checkout_sessions_created(), 2);
}

#[tokio::test]
async fn checkout_500_is_retried_with_the_same_key_and_created_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/checkout", 1, Fault::Status(500));
    sandbox
        .client()
        .checkout()
        .create(&card_checkout(75_000))
        .await
        .unwrap();
    assert_eq!(sandbox.server().count("POST", "/api/v1/checkout"), 2);
    assert_eq!(sandbox.checkout_sessions_created(), 1);
}

/// The same key with another body is refused (409), as for collect and disburse.
#[tokio::test]
async fn checkout_key_reused_with_another_body_is_a_conflict() {
    let sandbox = Sandbox::start().await.unwrap();
    let k = key("order-7-checkout");
    let client = sandbox.client();
    client
        .checkout()
        .create(&card_checkout(75_000).idempotency_key(k.clone()))
        .await
        .unwrap();
    let err = client
        .checkout()
        .create(&card_checkout(80_000).idempotency_key(k))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(ErrorCode::of(&err), Some(ErrorCode::IdempotencyConflict));
    assert_eq!(sandbox.checkout_sessions_created(), 1);
}

/// Sends a collection through `fault` and checks it was created and credited exactly once.
async fn collect_through(fault: Fault) {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.server().fail_next_on("POST", "/api/v1/collect", 1, fault);
    let live = sandbox.live_client();
    let initiated = live
        .mobile_money()
        .collect(&CollectRequest::new(PHONE, 50_000, Currency::Ugx))
        .await
        .unwrap();
    let requests: Vec<_> = sandbox
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/collect")
        .collect();
    assert_eq!(requests.len(), 2, "retried once");
    let sent_key = initiated.idempotency_key.as_str();
    assert!(
        requests
            .iter()
            .all(|r| r.header("idempotency-key") == Some(sent_key))
    );
    assert_eq!(sandbox.transactions_created(), 1);
    sandbox.advance().await;
    sandbox.advance().await;
    assert_eq!(sandbox.balance_live(), 49_500, "credited once");
    let wallet = live.wallet().balance().await.unwrap();
    assert_eq!(wallet.balance_live, 49_500.into());
    let listed = live.transactions().list(&ListTransactions::new()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test]
async fn collect_after_500_is_retried_with_the_same_key_and_created_once() {
    collect_through(Fault::Status(500)).await;
}

#[tokio::test]
async fn collect_response_lost_is_retried_with_the_same_key_and_created_once() {
    collect_through(Fault::DropAfterProcessing).await;
}

/// Sends a payout through `fault` and checks it was created and debited exactly once.
async fn disburse_through(fault: Fault) {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.set_balance_live(100_000);
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/disburse", 1, fault);
    let live = sandbox.live_client();
    let paid = live
        .mobile_money()
        .disburse(&DisburseRequest::new(PHONE, 20_000, Currency::Ugx).idempotency_key(key("payout-42")))
        .await
        .unwrap();
    assert_eq!(paid.idempotency_key.as_str(), "payout-42");
    let requests: Vec<_> = sandbox
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/disburse")
        .collect();
    assert_eq!(requests.len(), 2, "retried once");
    assert!(
        requests
            .iter()
            .all(|r| r.header("idempotency-key") == Some("payout-42"))
    );
    assert_eq!(sandbox.transactions_of(TransactionType::Disbursement), 1);
    assert_eq!(sandbox.balance_live(), 100_000 - 20_200, "debited once");
    sandbox.advance().await;
    let wallet = live.wallet().balance().await.unwrap();
    assert_eq!(wallet.balance_live, (100_000 - 20_200).into());
    let listed = live
        .transactions()
        .list(&ListTransactions::new().kind(TransactionType::Disbursement))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(listed.items[0].is_successful());
}

#[tokio::test]
async fn disburse_after_500_is_retried_with_the_same_key_and_paid_once() {
    disburse_through(Fault::Status(500)).await;
}

#[tokio::test]
async fn disburse_response_lost_is_retried_with_the_same_key_and_paid_once() {
    disburse_through(Fault::DropAfterProcessing).await;
}

#[tokio::test]
async fn disburse_retries_exhausted_then_resent_with_the_key_pays_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.set_balance_live(100_000);
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/disburse", 3, Fault::DropAfterProcessing);
    let live = sandbox.live_client();
    let req = DisburseRequest::new(PHONE, 20_000, Currency::Ugx);
    let e = live.mobile_money().disburse(&req).await.unwrap_err();
    // The retries ran out; the key comes back on the error, and sending it again is safe.
    let k = e.idempotency_key().cloned().unwrap();
    let paid = live
        .mobile_money()
        .disburse(&req.idempotency_key(k.clone()))
        .await
        .unwrap();
    assert_eq!(paid.idempotency_key, k);
    assert_eq!(sandbox.server().count("POST", "/api/v1/disburse"), 4);
    assert_eq!(sandbox.transactions_created(), 1);
    assert_eq!(sandbox.balance_live(), 100_000 - 20_200);
}

#[tokio::test]
async fn disburse_repeated_as_is_after_retries_ran_out_pays_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.set_balance_live(100_000);
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/disburse", 3, Fault::DropAfterProcessing);
    let live = sandbox.live_client();
    let req = DisburseRequest::new(PHONE, 20_000, Currency::Ugx);
    let e = live.mobile_money().disburse(&req).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    // The natural retry: the same request value, sent again as is.
    let paid = live.mobile_money().disburse(&req).await.unwrap();
    assert_eq!(Some(&paid.idempotency_key), e.idempotency_key());
    assert_eq!(sandbox.transactions_created(), 1);
    assert_eq!(sandbox.balance_live(), 100_000 - 20_200);
}

/// `deliveries()` carries each delivery's headers and raw body: verifiable with the crate's
/// own `Verifier`, byte for byte.
#[tokio::test]
async fn deliveries_carry_headers_and_raw_body_that_verify() {
    let sandbox = Sandbox::start().await.unwrap();
    let inbox = WebhookInbox::start().await.unwrap();
    sandbox.set_webhook_url(inbox.url());
    let live = sandbox.live_client();
    let c = live
        .mobile_money()
        .collect(&CollectRequest::new(PHONE, 10_000, Currency::Ugx))
        .await
        .unwrap();
    let advanced = sandbox.advance().await;
    assert_eq!(
        advanced,
        vec![c.transaction.internal_reference.as_str().to_string()]
    );
    let deliveries = sandbox.deliveries();
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert_eq!(d.url, inbox.url());
    assert_eq!(d.status, Some(200));
    let verifier = Verifier::new(sandbox.webhook_secret());
    let event = verifier
        .verify(&d.header_map(), &d.body)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(event.event_type(), EventType::DepositSuccessful);
    assert_eq!(
        event.transaction().unwrap().internal_reference,
        c.transaction.internal_reference
    );
    // The body the receiver got is the body recorded.
    let got = inbox.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got[0].body, d.body);
    assert!(
        Verifier::new(SANDBOX_TEST_KEY)
            .verify(&d.header_map(), &d.body)
            .is_err()
    );
}

// ----- Test helpers for users -----

#[test]
fn signed_webhook_builder_verifies_with_the_crates_verify() {
    let tx: rohopay::Transaction = serde_json::from_value(json!({
        "internal_reference": "RHP-2024-ABC123",
        "type": "collection",
        "status": "successful",
        "amount": 50000,
        "currency": "UGX",
        "phone_number": PHONE
    }))
    .unwrap();
    let secret = SecretString::from("my_webhook_secret");
    let hook = signed_webhook(&EventType::DepositSuccessful, &tx, &secret);
    let event = Verifier::new(secret.clone())
        .verify_headers(&hook.headers, &hook.body)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(event.event_type(), EventType::DepositSuccessful);
    assert_eq!(*event.shape(), webhook::PayloadShape::Flat);
    let parsed = event.transaction().unwrap().clone();
    assert_eq!(parsed.internal_reference, tx.internal_reference);
    assert_eq!(parsed.amount, Some(50_000.into()));
    // Flat, with money as numbers and the phone as text, as RohoPay documents it.
    let raw: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(raw["event"], "deposit.successful");
    assert_eq!(raw["amount"], 50000);
    assert_eq!(raw["phone_number"], PHONE);
    assert!(
        Verifier::new("other")
            .verify_headers(&hook.headers, &hook.body)
            .is_err()
    );
    let mut tampered = hook.body.clone();
    tampered.push(b' ');
    assert!(
        Verifier::new(secret)
            .verify_headers(&hook.headers, &tampered)
            .is_err()
    );
}
