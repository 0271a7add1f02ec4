//! The documented flow end to end against the offline sandbox, and one fault scenario per
//! money-moving endpoint that proves from the sandbox's own record that nothing was created or
//! paid twice.

use std::time::Duration;

use romplhub::sandbox::{
    BAD_PASSWORD_LOGIN, BAD_PASSWORD_MESSAGE, Fault, INVALID_2FA_MESSAGE, SANDBOX_API_KEY, SANDBOX_PASSWORD,
    SANDBOX_TOKENS, SANDBOX_USERNAME, Sandbox, TWO_FA_CODE, TWO_FA_LOGIN, WebhookInbox,
};
use romplhub::{
    Client, CreateOrder, CreatePack, Decimal, ErrorCode, ErrorKind, ListOrders, Login, OrderPack,
    OrderStatus, PollOptions, Register, TopUpRequest, TopUpStatus, WebhookEvent, WlidTokens, webhook,
};
use serde_json::{Value, json};

fn quick_poll() -> PollOptions {
    PollOptions::default()
        .interval(Duration::from_millis(20))
        .backoff(1.0)
        .timeout(Duration::from_secs(5))
}

/// A raw request to the sandbox, bypassing the client's own input checks.
async fn raw(
    sandbox: &Sandbox,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Option<String>, Value) {
    let http = payout_core::reqwest::Client::new();
    let url = format!("{}{path}", sandbox.base_url());
    let mut req = match method {
        "GET" => http.get(url),
        "DELETE" => http.delete(url),
        _ => http.post(url),
    };
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

#[tokio::test]
async fn documented_flow_register_key_topup_2fa_pack_and_webhooks() {
    let sandbox = Sandbox::start().await.unwrap();
    let inbox = WebhookInbox::start().await.unwrap();
    let hook = format!("{}?t=per-order-secret", inbox.url());

    // Register: a JWT, sent as Bearer from then on.
    let jwt_client = sandbox.unauthenticated_client();
    let token = jwt_client
        .auth()
        .register(&Register::new("shop", "shop@example.com", "shop-password"))
        .await
        .unwrap();
    assert_eq!(token.token_type, "bearer");
    assert_eq!(token.username.as_deref(), Some("shop"));
    // Mint a vx_ key with the JWT; both are accepted afterwards.
    let key = jwt_client.auth().create_api_key().await.unwrap();
    use secrecy::ExposeSecret;
    assert!(key.key.expose_secret().starts_with("vx_"));
    let client = jwt_client.with_api_key(key.key.clone()).unwrap();
    assert!(client.uses_api_key());
    assert_eq!(client.balance().get().await.unwrap().tokens, 0);
    assert_eq!(jwt_client.balance().get().await.unwrap().tokens, 0);

    // Top up: pending until the administrator approves, then credited.
    let top_up = client
        .balance()
        .top_up(&TopUpRequest::new(Decimal::new(5000, 2)))
        .await
        .unwrap();
    assert_eq!(top_up.tokens_amount, 250);
    assert_eq!(top_up.status, TopUpStatus::Pending);
    assert!(top_up.wallet_address.starts_with('T') && top_up.wallet_address.len() == 34);
    assert_eq!(client.balance().get().await.unwrap().pending_topups, 1);
    assert_eq!(sandbox.approve_topups(), 250);
    let balance = client.balance().get().await.unwrap();
    assert_eq!((balance.tokens, balance.pending_topups), (250, 0));

    // An order for an account with 2FA: it stops at waiting_2fa until the code comes.
    let products = client.products().list().await.unwrap();
    assert_eq!(products.len(), 4);
    let order = CreateOrder::new(TWO_FA_LOGIN, "account-password", "robux_2200").webhook_url(&hook);
    assert_eq!(order.estimate(&products).unwrap().tokens, 100);
    let created = client.orders().create(&order).await.unwrap();
    assert_eq!(created.status, OrderStatus::Pending);
    assert_eq!(created.tokens_charged, Some(100));
    assert_eq!(created.product_robux, Some(2200));
    assert!(created.order_uid.as_str().starts_with("VX-") && created.order_uid.as_str().len() == 11);
    assert_eq!(sandbox.tokens_of("shop"), Some(150));

    sandbox.settle().await;
    let waiting = client
        .orders()
        .wait_until_final(&created.order_uid, &quick_poll())
        .await
        .unwrap();
    assert!(waiting.needs_2fa());
    sandbox.settle().await;
    assert_eq!(
        sandbox.order(&created.order_uid).unwrap().status,
        OrderStatus::Waiting2fa,
        "stays until a code is submitted"
    );
    let submitted = client
        .orders()
        .submit_2fa(&created.order_uid, TWO_FA_CODE)
        .await
        .unwrap();
    assert_eq!(submitted.status, Some(OrderStatus::Authenticating));
    sandbox.settle().await;
    let done = client.orders().get(&created.order_uid).await.unwrap();
    assert_eq!(done.status, OrderStatus::Completed);
    assert_eq!(
        (done.robux_before, done.robux_after, done.robux_granted),
        (Some(150), Some(2350), Some(2200))
    );
    assert_eq!(done.product_name.as_deref(), Some("2200 Robux"));

    // The webhook: unsigned, with the query token, confirmed by re-fetching the order.
    let received = inbox.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].query.as_deref(), Some("t=per-order-secret"));
    assert!(received[0].headers.iter().all(|(k, _)| !k.contains("signature")));
    let event = webhook::parse(&received[0].body).unwrap();
    assert!(matches!(event, WebhookEvent::OrderCompleted(_)));
    assert_eq!(event.order().unwrap().robux_granted, Some(2200));
    let confirmation = webhook::confirm(&client, &event).await.unwrap();
    assert!(confirmation.agrees());

    // The excerpt's pack: 2 × robux_550 + 1 × robux_1000 = 95 tokens, 2100 Robux.
    let pack_req = CreatePack::new("Starter Bundle")
        .item("robux_550", 2)
        .item("robux_1000", 1);
    let totals = pack_req.totals(&products).unwrap();
    assert_eq!((totals.tokens, totals.robux), (95, 2100));
    let pack = client.packs().create(&pack_req).await.unwrap();
    assert_eq!((pack.total_tokens, pack.total_robux), (Some(95), Some(2100)));
    assert_eq!(client.packs().list().await.unwrap().len(), 1);
    let orders = client
        .packs()
        .order(&OrderPack::new(&pack.id, "user@roblox.com", "pw").webhook_url(&hook))
        .await
        .unwrap();
    assert_eq!(orders.len(), 2, "one order per item");
    assert_eq!(orders.iter().map(|o| o.tokens_charged.unwrap()).sum::<u64>(), 95);
    assert_eq!(sandbox.tokens_of("shop"), Some(55));
    sandbox.settle().await;
    for o in &orders {
        assert_eq!(
            client.orders().get(&o.order_uid).await.unwrap().status,
            OrderStatus::Completed
        );
    }
    assert_eq!(inbox.wait_for(3, Duration::from_secs(5)).await.len(), 3);

    // Listing: status filter and limit/offset, newest first.
    let page = client
        .orders()
        .list(&ListOrders::new().status(OrderStatus::Completed))
        .await
        .unwrap();
    assert_eq!(page.total, Some(3));
    assert_eq!(page.items[2].order_uid, created.order_uid);
    let page = client
        .orders()
        .list(&ListOrders::new().limit(1).offset(1))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.next), (1, Some(2)));
    let all = client
        .orders()
        .collect_all(ListOrders::new().limit(2), 10)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(
        client
            .orders()
            .list(&ListOrders::new().status(OrderStatus::Failed))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Delete the pack; deleting again is a 404.
    client.packs().delete(&pack.id).await.unwrap();
    assert!(client.packs().list().await.unwrap().is_empty());
    let e = client.packs().delete(&pack.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    // Other accounts see none of it.
    let e = sandbox
        .client()
        .orders()
        .get(&created.order_uid)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn wrong_2fa_code_fails_the_order_refunds_and_sends_order_failed() {
    let sandbox = Sandbox::start().await.unwrap();
    let inbox = WebhookInbox::start().await.unwrap();
    let client = sandbox.client();
    let created = client
        .orders()
        .create(&CreateOrder::new(TWO_FA_LOGIN, "pw", "robux_1000").webhook_url(inbox.url()))
        .await
        .unwrap();
    assert_eq!(sandbox.tokens(), SANDBOX_TOKENS - 45);
    sandbox.settle().await;
    // A code for an order not waiting for one is refused.
    let other = client
        .orders()
        .create(&CreateOrder::new("plain@roblox.com", "pw", "robux_88"))
        .await
        .unwrap();
    let e = client
        .orders()
        .submit_2fa(&other.order_uid, "123456")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    client
        .orders()
        .submit_2fa(&created.order_uid, "000000")
        .await
        .unwrap();
    sandbox.settle().await;
    let failed = client.orders().get(&created.order_uid).await.unwrap();
    assert_eq!(failed.status, OrderStatus::Failed);
    assert_eq!(failed.error_message.as_deref(), Some(INVALID_2FA_MESSAGE));
    assert_eq!(
        sandbox.tokens(),
        SANDBOX_TOKENS - 11,
        "the 45 tokens were refunded"
    );
    let hooks = inbox.wait_for(1, Duration::from_secs(5)).await;
    let event = webhook::parse(&hooks[0].body).unwrap();
    assert_eq!(event.event_type(), "order.failed");
    assert_eq!(
        event.order().unwrap().error_message.as_deref(),
        Some(INVALID_2FA_MESSAGE)
    );
}

#[tokio::test]
async fn backup_code_skips_2fa_and_wlid_charges_the_flat_fee() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let created = client
        .orders()
        .create(
            &CreateOrder::new(TWO_FA_LOGIN, "pw", "robux_2200")
                .backup_code("backup-1234")
                .wlid_tokens(WlidTokens::new("M.C507_BAY.x", "EwA.y")),
        )
        .await
        .unwrap();
    assert_eq!(created.tokens_charged, Some(3));
    assert_eq!(sandbox.tokens(), SANDBOX_TOKENS - 3);
    sandbox.settle().await;
    assert_eq!(
        sandbox.order(&created.order_uid).unwrap().status,
        OrderStatus::Completed
    );
}

#[tokio::test]
async fn failed_login_sets_error_message_and_refunds() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let created = client
        .orders()
        .create(&CreateOrder::new(BAD_PASSWORD_LOGIN, "nope", "robux_550").quantity(2))
        .await
        .unwrap();
    assert_eq!(created.tokens_charged, Some(50));
    assert_eq!(sandbox.tokens(), SANDBOX_TOKENS - 50);
    let done = {
        sandbox.auto_advance(Duration::from_millis(10));
        client
            .orders()
            .wait_until_final(&created.order_uid, &quick_poll())
            .await
            .unwrap()
    };
    assert_eq!(done.status, OrderStatus::Failed);
    assert_eq!(done.error_message.as_deref(), Some(BAD_PASSWORD_MESSAGE));
    assert_eq!(sandbox.tokens(), SANDBOX_TOKENS, "auto-refunded");
}

#[tokio::test]
async fn insufficient_tokens_is_402_and_creates_nothing() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    sandbox.set_tokens(90);
    let e = client
        .orders()
        .create(&CreateOrder::new("user@roblox.com", "pw", "robux_2200"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(402));
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientTokens));
    let pack = client
        .packs()
        .create(
            &CreatePack::new("Starter Bundle")
                .item("robux_550", 2)
                .item("robux_1000", 1),
        )
        .await
        .unwrap();
    let e = client
        .packs()
        .order(&OrderPack::new(&pack.id, "user@roblox.com", "pw"))
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientTokens));
    assert_eq!(sandbox.orders_created(), 0, "no order of the pack was created");
    assert_eq!(sandbox.tokens(), 90);
}

#[tokio::test]
async fn wrong_credentials_are_401() {
    let sandbox = Sandbox::start().await.unwrap();
    let anon = sandbox.unauthenticated_client();
    let e = anon
        .auth()
        .login(&Login::new(SANDBOX_USERNAME, "wrong"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::Unauthorized));
    // The right password gives a JWT that works as Bearer.
    let login_client = Client::builder()
        .credentials(SANDBOX_USERNAME, SANDBOX_PASSWORD)
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    login_client.log_in().await.unwrap();
    assert_eq!(login_client.balance().get().await.unwrap().tokens, SANDBOX_TOKENS);

    let bad_key = Client::builder()
        .api_key("vx_not_a_key")
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let e = bad_key.balance().get().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(e.status(), Some(401));
    let (status, _, body) = raw(&sandbox, "GET", "/balance", None, None).await;
    assert_eq!((status, body), (401, json!({"detail": "Not authenticated"})));
    let (status, _, _) = raw(&sandbox, "GET", "/balance", Some(SANDBOX_API_KEY), None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bad_input_is_a_fastapi_422() {
    let sandbox = Sandbox::start().await.unwrap();
    let (status, _, body) = raw(
        &sandbox,
        "POST",
        "/orders",
        Some(SANDBOX_API_KEY),
        Some(json!({"password": "pw", "product": "robux_2200", "quantity": 0})),
    )
    .await;
    assert_eq!(status, 422);
    let detail = body["detail"].as_array().unwrap();
    assert_eq!(detail[0]["loc"], json!(["body", "login"]));
    assert_eq!(detail[0]["type"], "missing");
    assert_eq!(detail[1]["loc"], json!(["body", "quantity"]));
    let (status, _, body) = raw(
        &sandbox,
        "GET",
        "/orders?limit=500&status=lost",
        Some(SANDBOX_API_KEY),
        None,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"].as_array().unwrap().len(), 2);
    let (status, _, _) = raw(
        &sandbox,
        "POST",
        "/balance/topup",
        Some(SANDBOX_API_KEY),
        Some(json!({"amount_usdt": -5})),
    )
    .await;
    assert_eq!(status, 422);

    // Unknown routes, methods and ids answer like FastAPI.
    let (status, _, body) = raw(&sandbox, "GET", "/nope", Some(SANDBOX_API_KEY), None).await;
    assert_eq!((status, body), (404, json!({"detail": "Not Found"})));
    let (status, _, body) = raw(&sandbox, "DELETE", "/orders", Some(SANDBOX_API_KEY), None).await;
    assert_eq!((status, body), (405, json!({"detail": "Method Not Allowed"})));
    let (status, _, body) = raw(&sandbox, "GET", "/orders/VX-NOPE", Some(SANDBOX_API_KEY), None).await;
    assert_eq!((status, body), (404, json!({"detail": "Order not found"})));
    let (status, _, body) = raw(&sandbox, "DELETE", "/packs/abc", Some(SANDBOX_API_KEY), None).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["path", "pack_id"]));
    let (status, _, body) = raw(
        &sandbox,
        "POST",
        "/balance/topup",
        Some(SANDBOX_API_KEY),
        Some(json!({"amount_usdt": "79228162514264337593543950335"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");

    // Through the client: an unknown product passes the client's own checks, not RomplHub's.
    let e = sandbox
        .client()
        .orders()
        .create(&CreateOrder::new("user@roblox.com", "pw", "robux_99999"))
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::ValidationError));
    assert!(e.message().contains("body.product"), "{}", e.message());
    assert_eq!(sandbox.orders_created(), 0);
    assert_eq!(sandbox.tokens(), SANDBOX_TOKENS);
}

#[tokio::test]
async fn sixty_requests_a_minute_then_429_with_retry_after() {
    let sandbox = Sandbox::start().await.unwrap();
    for _ in 0..60 {
        let (status, _, _) = raw(&sandbox, "GET", "/balance", Some(SANDBOX_API_KEY), None).await;
        assert_eq!(status, 200);
    }
    let (status, retry_after, body) = raw(&sandbox, "GET", "/balance", Some(SANDBOX_API_KEY), None).await;
    assert_eq!(status, 429);
    let secs: u64 = retry_after.unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs));
    assert!(body["detail"].as_str().unwrap().contains("Rate limit"));
    // The client does not wait a whole minute: it reports the limit.
    let e = sandbox.client().balance().get().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::RateLimited));

    // With a short window, the client waits out Retry-After and succeeds.
    sandbox.set_rate_limit(2, Duration::from_millis(300));
    let client = sandbox.client();
    sandbox.server().clear_requests();
    for _ in 0..3 {
        client.balance().get().await.unwrap();
    }
    assert_eq!(sandbox.count("GET", "/balance"), 4, "one 429, retried once");
}

// ---------------------------------------------------------------------------------------
// Fault scenarios: one per money-moving endpoint, asserted from the sandbox's own record.

#[tokio::test]
async fn create_order_response_lost_is_ambiguous_created_once_debited_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/orders", 1, Fault::DropAfterProcessing);
    let client = sandbox.client();
    let e = client
        .orders()
        .create(&CreateOrder::new("user@roblox.com", "pw", "robux_2200"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(sandbox.count("POST", "/orders"), 1, "never re-sent");
    assert_eq!(sandbox.orders_created(), 1);
    assert_eq!(sandbox.tokens(), SANDBOX_TOKENS - 100, "debited once");
    // Reconcile as the crate advises: the newest orders show it.
    let page = client.orders().list(&ListOrders::new().limit(5)).await.unwrap();
    assert_eq!(page.total, Some(1));
}

#[tokio::test]
async fn create_order_5xx_is_ambiguous_and_not_resent() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/orders", 1, Fault::Status(503));
    let e = sandbox
        .client()
        .orders()
        .create(&CreateOrder::new("user@roblox.com", "pw", "robux_88"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(e.status(), Some(503));
    assert_eq!(sandbox.count("POST", "/orders"), 1);
    assert_eq!(sandbox.orders_created(), 0);
    assert_eq!(sandbox.tokens(), SANDBOX_TOKENS);
}

#[tokio::test]
async fn create_order_429_is_retried_and_created_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.server().fail_next_on(
        "POST",
        "/api/v1/orders",
        1,
        Fault::RateLimited(Duration::from_secs(1)),
    );
    let order = sandbox
        .client()
        .orders()
        .create(&CreateOrder::new("user@roblox.com", "pw", "robux_88"))
        .await
        .unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(
        sandbox.count("POST", "/orders"),
        2,
        "a 429 is refused unprocessed: safe to resend"
    );
    assert_eq!(sandbox.orders_created(), 1);
    assert_eq!(sandbox.tokens(), SANDBOX_TOKENS - 11);
}

#[tokio::test]
async fn create_order_timeout_is_ambiguous_and_the_order_exists_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.server().fail_next_on(
        "POST",
        "/api/v1/orders",
        1,
        Fault::Delay(Duration::from_millis(400)),
    );
    let client = Client::builder()
        .api_key(SANDBOX_API_KEY)
        .base_url(sandbox.base_url())
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let e = client
        .orders()
        .create(&CreateOrder::new("user@roblox.com", "pw", "robux_550"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sandbox.count("POST", "/orders"), 1);
    assert_eq!(sandbox.orders_created(), 1, "processed anyway, once");
    assert_eq!(sandbox.tokens(), SANDBOX_TOKENS - 25);
}

#[tokio::test]
async fn pack_order_response_lost_creates_each_item_once() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let pack = client
        .packs()
        .create(
            &CreatePack::new("Starter Bundle")
                .item("robux_550", 2)
                .item("robux_1000", 1),
        )
        .await
        .unwrap();
    let path = format!("/packs/{}/order", pack.id);
    sandbox
        .server()
        .fail_next_on("POST", &format!("/api/v1{path}"), 1, Fault::DropAfterProcessing);
    let e = client
        .packs()
        .order(&OrderPack::new(&pack.id, "user@roblox.com", "pw"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(sandbox.count("POST", &path), 1, "never re-sent");
    assert_eq!(sandbox.orders_created(), 2, "one order per item, once");
    assert_eq!(sandbox.tokens(), SANDBOX_TOKENS - 95, "debited once");
}

#[tokio::test]
async fn top_up_response_lost_opens_one_top_up() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/balance/topup", 1, Fault::DropAfterProcessing);
    let client = sandbox.client();
    let e = client
        .balance()
        .top_up(&TopUpRequest::new(Decimal::new(5000, 2)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(sandbox.count("POST", "/balance/topup"), 1);
    assert_eq!(client.balance().get().await.unwrap().pending_topups, 1);
    assert_eq!(sandbox.approve_topups(), 250);
    assert_eq!(sandbox.tokens(), SANDBOX_TOKENS + 250);
}

#[tokio::test]
async fn lost_2fa_submission_is_ambiguous_and_not_resent() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let created = client
        .orders()
        .create(&CreateOrder::new(TWO_FA_LOGIN, "pw", "robux_88"))
        .await
        .unwrap();
    sandbox.settle().await;
    let path = format!("/orders/{}/2fa", created.order_uid);
    sandbox
        .server()
        .fail_next_on("POST", &format!("/api/v1{path}"), 1, Fault::DropAfterRead);
    let e = client
        .orders()
        .submit_2fa(&created.order_uid, TWO_FA_CODE)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(sandbox.count("POST", &path), 1);
    // Still waiting (the code never arrived): check, then submit again.
    assert!(client.orders().get(&created.order_uid).await.unwrap().needs_2fa());
    client
        .orders()
        .submit_2fa(&created.order_uid, TWO_FA_CODE)
        .await
        .unwrap();
    sandbox.settle().await;
    assert_eq!(
        sandbox.order(&created.order_uid).unwrap().status,
        OrderStatus::Completed
    );
    assert_eq!(sandbox.orders_created(), 1);
    assert_eq!(sandbox.tokens(), SANDBOX_TOKENS - 11);
}

#[test]
fn webhook_request_builder_matches_what_the_handler_parses() {
    let order: romplhub::Order = serde_json::from_value(json!({
        "order_uid": "VX-5A8115EA", "status": "completed", "product_name": "2200 Robux",
        "tokens_charged": 100, "robux_granted": 2200
    }))
    .unwrap();
    let req = romplhub::sandbox::webhook_request(&order).unwrap();
    assert!(
        req.headers.iter().all(|(k, _)| !k.contains("signature")),
        "unsigned"
    );
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({"event": "order.completed", "order": {"id": "VX-5A8115EA", "status": "completed",
            "product": "2200 Robux", "robux_granted": 2200, "tokens_charged": 100}}),
        "the excerpt's example payload"
    );
    let event = webhook::parse(&req.body).unwrap();
    assert_eq!(event.order_uid().unwrap().as_str(), "VX-5A8115EA");
    assert_eq!(event.claimed_status(), Some(OrderStatus::Completed));

    let pending: romplhub::Order =
        serde_json::from_value(json!({"order_uid": "VX-1", "status": "pending"})).unwrap();
    assert!(romplhub::sandbox::webhook_request(&pending).is_none());
}

/// After an ambiguous create, `find_candidates` finds the one order the lost request made,
/// and not the order that existed before it.
#[tokio::test]
async fn ambiguous_create_is_found_by_find_candidates_not_ordered_again() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let earlier = client
        .orders()
        .create(&CreateOrder::new("user@roblox.com", "pw", "robux_88"))
        .await
        .unwrap();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/orders", 1, Fault::DropAfterProcessing);
    let req = CreateOrder::new("user@roblox.com", "pw", "robux_88");
    let e = client.orders().create(&req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(sandbox.count("POST", "/orders"), 2, "never re-sent");
    let found = client
        .orders()
        .find_candidates(&req, Some(&earlier.order_uid))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_ne!(found[0].order_uid, earlier.order_uid);
    assert!(sandbox.order(&found[0].order_uid).is_some());
    // Another product is no candidate.
    let other = CreateOrder::new("user@roblox.com", "pw", "robux_550");
    assert!(
        client
            .orders()
            .find_candidates(&other, Some(&earlier.order_uid))
            .await
            .unwrap()
            .is_empty()
    );
}

/// The sandbox contract: `set_webhook_url`, `advance() -> Vec<String>`, and deliveries that
/// carry the headers and the raw body, which `webhook::parse` reads.
#[tokio::test]
async fn sandbox_contract_webhook_url_advance_and_deliveries() {
    let sandbox = Sandbox::start().await.unwrap();
    let inbox = WebhookInbox::start().await.unwrap();
    sandbox.set_webhook_url(inbox.url());
    let client = sandbox.client();
    let created = client
        .orders()
        .create(&CreateOrder::new("user@roblox.com", "pw", "robux_88"))
        .await
        .unwrap();
    let mut advanced = Vec::new();
    for _ in 0..4 {
        advanced.extend(sandbox.advance().await);
    }
    assert_eq!(advanced, vec![created.order_uid.to_string(); 4]);
    assert!(sandbox.advance().await.is_empty(), "a final order does not move");
    let deliveries = sandbox.deliveries();
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert_eq!(d.url, inbox.url());
    assert_eq!(d.status, Some(200));
    assert!(
        !d.headers
            .iter()
            .any(|(k, _)| k.to_ascii_lowercase().contains("signature")),
        "RomplHub does not sign: {:?}",
        d.headers
    );
    let event = webhook::parse(&d.body).unwrap();
    assert!(matches!(event, WebhookEvent::OrderCompleted(_)), "{event:?}");
    assert_eq!(event.order_uid(), Some(created.order_uid.clone()));
    let received = inbox.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received[0].body, d.body, "the raw body, byte for byte");
    let done = client
        .orders()
        .wait_until_final(&created.order_uid, &quick_poll())
        .await
        .unwrap();
    assert_eq!(done.status, OrderStatus::Completed);
}
