//! The documented flow end to end against the offline sandbox, and the fault scenarios that
//! prove from the sandbox's own record (requests seen, orders held, balance) that an order is
//! never created or charged twice.

use std::time::Duration;

use agent_catalog::sandbox::{
    AMAZON_DE_10, FAILING_ACCOUNT, FREE_FIRE_100, Fault, GOOGLE_PLAY_25, KCELL_TOP_UP,
    PLAYSTATION_50_INACTIVE, STEAM_TOP_UP, Sandbox,
};
use agent_catalog::{
    Client, CreateOrder, Decimal, DepositFilter, DepositStatus, ErrorCode, ErrorKind, IdempotencyKey,
    OrderFilter, OrderStatus, PollOptions, ProductFilter, ProductTypeCode, TopupRequest,
};
use futures_util::TryStreamExt;

const ORDERS: &str = "/agent/a12d5be1-3456-4c18-b111-33cdd0a1cc99/orders";

fn steam(amount: i64, key: &str) -> CreateOrder {
    CreateOrder::new(STEAM_TOP_UP)
        .external_ref(format!("INV-{key}"))
        .topup_request(
            TopupRequest::new(Decimal::from(amount))
                .account("steam_login", "player123")
                .account("email", "user@example.com"),
        )
        .quantity(1)
        .test(false)
        .idempotency_key(IdempotencyKey::new(key).unwrap())
}

fn usd(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

/// Every create request the sandbox saw carried this key.
fn keys_sent(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .server()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == ORDERS)
        .map(|r| r.header("idempotency-key").unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn documented_flow_catalog_balance_order_poll_deposits() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();

    // 7. Health.
    let health = client.health().await.unwrap();
    assert_eq!((health.path, health.status_code), ("/health", 200));
    assert!(health.is_healthy());

    // 2. Catalog: three types, three categories, seven products across pages of 3.
    let types = client.product_types().list().await.unwrap();
    let codes: Vec<_> = types.iter().map(|t| t.code.clone()).collect();
    assert_eq!(
        codes,
        [
            ProductTypeCode::RedeemCard,
            ProductTypeCode::DirectTransfer,
            ProductTypeCode::DirectTopUp
        ]
    );
    assert_eq!(client.product_categories().list().await.unwrap().len(), 3);
    let first = client
        .products()
        .list(&ProductFilter::new().page_size(3))
        .await
        .unwrap();
    assert_eq!(
        (first.items.len(), first.total, first.next),
        (3, Some(7), Some(2))
    );
    let all = client
        .products()
        .collect_all(ProductFilter::new().page_size(3), 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(
        sandbox
            .server()
            .count("GET", "/agent/a12d5be1-3456-4c18-b111-33cdd0a1cc99/products"),
        4
    );
    let catalog = client.sync_catalog().await.unwrap();
    for code in &codes {
        assert!(catalog.products_of_type(code).count() >= 2, "{code}");
    }
    let product = client.products().get(STEAM_TOP_UP).await.unwrap();
    assert_eq!(product.name, "Steam Wallet Top Up");
    assert_eq!(product.price, Some(Decimal::from(10)));
    assert_eq!(
        (product.min_amount, product.max_amount, product.step),
        (
            Some(Decimal::from(5)),
            Some(Decimal::from(100)),
            Some(Decimal::from(1))
        )
    );

    // 3. Balances per currency, as DecimalAmount and minor units.
    let balances = client.balance().get().await.unwrap();
    assert_eq!(balances.available("USD"), usd(10_000));
    assert_eq!(balances.get("USD").unwrap().available_minor, Some(10_000));
    assert_eq!(balances.available("EUR"), usd(4_000));
    assert_eq!(balances.available("KZT"), usd(5_000_000));

    // 4. A top-up with the documented payload: 201 pending, vendor id at once, 12.50 charged.
    let req = steam(10, "order-1001");
    let order = client.orders().create_checked(&req, &catalog).await.unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.idempotency_key.as_ref().unwrap().as_str(), "order-1001");
    assert_eq!(order.external_ref.as_deref(), Some("INV-order-1001"));
    assert!(order.order_content.vendor_order_id().unwrap().starts_with("LC-"));
    assert_eq!(order.charged_amount, Some(usd(1250)));
    assert_eq!(order.plexy_margin, Some(usd(250)));
    assert_eq!(
        (order.balance_before, order.balance_after),
        (Some(usd(10_000)), Some(usd(8_750)))
    );
    assert_eq!(order.currency_code.as_deref(), Some("USD"));
    let raw = sandbox
        .server()
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        raw.header("authorization"),
        Some(sandbox.api_key()),
        "raw key, no Bearer"
    );
    let after = client.balance().get().await.unwrap();
    assert_eq!(after.available("USD"), usd(8_750));
    assert_eq!(after.get("USD").unwrap().available_minor, Some(8_750));

    // A voucher and a transfer.
    let card = client
        .orders()
        .create(&CreateOrder::new(GOOGLE_PLAY_25).quantity(2))
        .await
        .unwrap();
    assert!(card.order_content.is_empty(), "the voucher comes on completion");
    assert_eq!(card.charged_amount, Some(usd(6_250)));
    let transfer = client
        .orders()
        .create(&CreateOrder::new(FREE_FIRE_100))
        .await
        .unwrap();
    assert_eq!(transfer.charged_amount, Some(usd(124))); // 0.99 + 25 % = 1.2375 -> 1.24
    assert_eq!(sandbox.balance("USD"), usd(8_750 - 6_250 - 124));

    let pending = client
        .orders()
        .list(&OrderFilter::new().status(OrderStatus::Pending))
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 3);
    assert_eq!(pending.items[0].id, transfer.id, "newest first");
    let only_cards = client
        .orders()
        .list(&OrderFilter::new().product_id(GOOGLE_PLAY_25))
        .await
        .unwrap();
    assert_eq!(only_cards.items.len(), 1);

    // 5. Track: advance, then poll until final.
    let advanced = sandbox.advance();
    assert_eq!(advanced.len(), 3);
    assert!(
        advanced.contains(&order.id.to_string()),
        "ids as strings: {advanced:?}"
    );
    let fast = PollOptions::default().interval(Duration::from_millis(20));
    let done = client.orders().wait_until_final(&order.id, &fast).await.unwrap();
    assert!(done.is_completed());
    assert_eq!(
        done.order_content.vendor_order_id(),
        order.order_content.vendor_order_id()
    );
    assert!(done.completed_at.is_some() && done.failed_at.is_none());
    let card = client.orders().get(&card.id).await.unwrap();
    assert!(card.order_content.voucher_code().unwrap().starts_with("SBX-"));
    assert_eq!(
        card.order_content
            .get("voucher_codes")
            .and_then(|v| v.as_array())
            .map(Vec::len),
        Some(2)
    );
    assert!(sandbox.advance().is_empty(), "final orders stay final");

    // 6. Deposits, paged and filtered, with minor units.
    let page = client
        .deposits()
        .list(&DepositFilter::new().page_size(2))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.total, page.next), (2, Some(5), Some(2)));
    assert_eq!(page.items[0].status, DepositStatus::Pending, "newest first");
    let posted: Vec<_> = client
        .deposits()
        .stream(DepositFilter::new().status(DepositStatus::Posted).page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(posted.len(), 4);
    let wire = posted
        .iter()
        .find(|d| d.external_ref.as_deref() == Some("WIRE-2024-10-17"))
        .unwrap();
    assert_eq!((wire.amount, wire.amount_minor), (usd(6_000), Some(6_000)));
    assert!(wire.posted_at.is_some());
}

#[tokio::test]
async fn product_filters_and_bad_paging() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let list = |f: ProductFilter| {
        let client = client.clone();
        async move { client.products().collect_all(f, 100).await.unwrap() }
    };
    let top_ups = list(ProductFilter::new().product_type_id(3)).await;
    assert_eq!(top_ups.len(), 2);
    assert_eq!(list(ProductFilter::new().category_id(7)).await.len(), 2);
    assert_eq!(
        list(ProductFilter::new().currency_code("EUR")).await[0].id,
        AMAZON_DE_10
    );
    assert_eq!(
        list(ProductFilter::new().region_code("KZ")).await[0].id,
        KCELL_TOP_UP
    );
    let inactive = list(ProductFilter::new().is_active(false)).await;
    assert_eq!(inactive.len(), 1);
    assert_eq!(inactive[0].id, PLAYSTATION_50_INACTIVE);
    let past_the_end = client
        .products()
        .list(&ProductFilter::new().page(9))
        .await
        .unwrap();
    assert!(past_the_end.items.is_empty());

    let e = client.products().get(999).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.provider_code()),
        (ErrorKind::NotFound, Some("not_found"))
    );
    let e = client
        .raw()
        .get::<serde_json::Value>(&format!("{}/products?pageSize=abc", client.agent_path()))
        .await;
    let e = e.unwrap_err();
    assert_eq!(
        (e.status(), e.provider_code()),
        (Some(400), Some("invalid_request"))
    );
}

#[tokio::test]
async fn wrong_key_is_401_and_wrong_agent_is_404() {
    let sandbox = Sandbox::start().await.unwrap();
    let with = |key: &str, agent: &str| {
        Client::builder()
            .api_key(key)
            .agent_id(agent)
            .base_url(sandbox.base_url())
            .build()
            .unwrap()
    };
    let e = with("wrong", sandbox.agent_id())
        .balance()
        .get()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!((e.status(), e.provider_code()), (Some(401), Some("unauthorized")));
    assert_eq!(e.message(), "Invalid API key");
    let bearer = format!("Bearer {}", sandbox.api_key());
    let e = with(&bearer, sandbox.agent_id())
        .balance()
        .get()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.message().contains("without Bearer"), "{e}");

    let e = with(sandbox.api_key(), "00000000-0000-4000-8000-000000000000")
        .balance()
        .get()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.message(), "Agent not found");
    // Health is public.
    assert!(with("wrong", sandbox.agent_id()).health().await.is_ok());
    assert_eq!(sandbox.orders_created(), 0);
}

#[tokio::test]
async fn same_key_same_body_replays_and_other_body_is_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let req = steam(10, "order-2001");
    let first = client.orders().create(&req).await.unwrap();
    let again = client.orders().create(&req).await.unwrap();
    assert_eq!(again, first, "the first response, replayed");
    let replayed = sandbox.server().requests().last().unwrap().clone();
    assert_eq!(replayed.header("idempotency-key"), Some("order-2001"));
    assert_eq!(sandbox.orders_created(), 1);
    assert_eq!(sandbox.balance("USD"), usd(8_750), "charged once");

    let other = steam(20, "order-2001");
    let e = client.orders().create(&other).await.unwrap_err();
    assert_eq!(
        (e.status(), e.provider_code()),
        (Some(409), Some("idempotency_conflict"))
    );
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some("order-2001"));
    assert_eq!(sandbox.server().count("POST", ORDERS), 3, "409 is not retried");
    assert_eq!(sandbox.orders_created(), 1);
    assert_eq!(sandbox.balance("USD"), usd(8_750));
}

#[tokio::test]
async fn insufficient_balance_is_400_never_retried_and_the_same_key_works_after_a_deposit() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let req = CreateOrder::new(AMAZON_DE_10)
        .quantity(4)
        .idempotency_key(IdempotencyKey::new("order-3001").unwrap()); // 4 × 10.00 + 25 % = 50.00 EUR > 40.00
    let e = client.orders().create(&req).await.unwrap_err();
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientBalance));
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientBalance));
    assert_eq!(e.status(), Some(400));
    assert_eq!(sandbox.server().count("POST", ORDERS), 1, "never retried");
    assert_eq!(
        (sandbox.orders_created(), sandbox.balance("EUR")),
        (0, usd(4_000))
    );

    // The client-side pre-check refuses it too, before sending anything.
    let catalog = client.sync_catalog().await.unwrap();
    let e = client
        .orders()
        .create_checked(&req.clone().quantity(5), &catalog)
        .await
        .unwrap_err();
    assert!(ErrorCode::of(&e) == Some(ErrorCode::InsufficientBalance) && e.status().is_none());
    assert_eq!(sandbox.server().count("POST", ORDERS), 1);

    // Fund the account; once the deposit posts, the same order with the same key succeeds.
    let wire = sandbox.add_deposit("EUR", Decimal::from(20));
    let e = client.orders().create(&req).await.unwrap_err();
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientBalance));
    assert!(sandbox.post_deposit(wire));
    let order = client.orders().create(&req).await.unwrap();
    assert_eq!(order.idempotency_key.as_ref().unwrap().as_str(), "order-3001");
    assert_eq!(order.charged_amount, Some(usd(5_000)));
    assert_eq!(
        (sandbox.orders_created(), sandbox.balance("EUR")),
        (1, usd(1_000))
    );
    let newest = client.deposits().list(&DepositFilter::new()).await.unwrap().items;
    assert_eq!(
        (newest[0].id, newest[0].status.clone()),
        (wire, DepositStatus::Posted)
    );
}

#[tokio::test]
async fn bad_input_is_400_and_changes_nothing() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let cases = [
        steam(3, "bad-1"),              // below min_amount
        steam(101, "bad-2"),            // above max_amount
        CreateOrder::new(STEAM_TOP_UP), // top-up without topup_request
        CreateOrder::new(GOOGLE_PLAY_25).topup_request(TopupRequest::new(Decimal::ONE).account("a", "b")),
        CreateOrder::new(PLAYSTATION_50_INACTIVE), // inactive
        CreateOrder::new(999),                     // unknown product
        CreateOrder::new(GOOGLE_PLAY_25).currency_code("EUR"), // wrong currency
    ];
    for req in &cases {
        let e = client.orders().create(req).await.unwrap_err();
        assert_eq!(
            (e.status(), e.provider_code()),
            (Some(400), Some("invalid_request")),
            "{req:?}"
        );
    }
    assert_eq!(sandbox.server().count("POST", ORDERS), cases.len());
    assert_eq!(
        (sandbox.orders_created(), sandbox.balance("USD")),
        (0, usd(10_000))
    );
}

#[tokio::test]
async fn failed_orders_are_refunded_and_timer_advances() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client();
    let doomed = CreateOrder::new(KCELL_TOP_UP)
        .topup_request(TopupRequest::new(Decimal::from(1000)).account("phone", FAILING_ACCOUNT));
    let order = client.orders().create(&doomed).await.unwrap();
    assert_eq!(order.charged_amount, Some(usd(125_000)));
    assert_eq!(sandbox.balance("KZT"), usd(5_000_000 - 125_000));
    let manual = client.orders().create(&steam(5, "order-4002")).await.unwrap();
    assert!(sandbox.fail(&manual.id));
    assert!(!sandbox.complete(&manual.id), "failed is final");
    assert_eq!(sandbox.balance("USD"), usd(10_000), "refunded");

    sandbox.auto_advance(Duration::from_millis(30));
    let failed = client
        .orders()
        .wait_until_final(
            &order.id,
            &PollOptions::default().interval(Duration::from_millis(20)),
        )
        .await
        .unwrap();
    assert!(failed.is_failed());
    assert!(failed.failed_at.is_some() && failed.completed_at.is_none());
    assert_eq!(sandbox.balance("KZT"), usd(5_000_000), "refunded");
    let failed_list = client
        .orders()
        .list(&OrderFilter::new().status(OrderStatus::Failed))
        .await
        .unwrap();
    assert_eq!(failed_list.items.len(), 2);
}

// ---- Fault scenarios on the one money-moving endpoint, POST /agent/{agent_id}/orders ----

#[tokio::test]
async fn a_500_on_create_is_retried_with_the_same_key_and_charges_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", ORDERS, 1, Fault::Status(500));
    let order = sandbox
        .client()
        .orders()
        .create(&steam(10, "order-5001"))
        .await
        .unwrap();
    assert_eq!(order.idempotency_key.as_ref().unwrap().as_str(), "order-5001");
    assert_eq!(keys_sent(&sandbox), ["order-5001", "order-5001"]);
    assert_eq!(sandbox.orders_created(), 1);
    assert_eq!(sandbox.balance("USD"), usd(8_750), "one debit");
}

#[tokio::test]
async fn response_lost_after_processing_is_replayed_not_recreated() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", ORDERS, 1, Fault::DropAfterProcessing);
    let order = sandbox
        .client()
        .orders()
        .create(&steam(10, "order-5002"))
        .await
        .unwrap();
    assert_eq!(keys_sent(&sandbox), ["order-5002", "order-5002"]);
    assert_eq!(sandbox.orders_created(), 1);
    assert_eq!(
        sandbox.orders()[0].id,
        order.id,
        "the retry got the order the lost answer held"
    );
    assert_eq!(sandbox.balance("USD"), usd(8_750), "one debit");
}

#[tokio::test]
async fn every_response_lost_is_settled_by_the_key_lookup_and_charges_once() {
    let sandbox = Sandbox::start().await.unwrap();
    // The sandbox client tries 4 times; every answer is lost after processing.
    sandbox
        .server()
        .fail_next_on("POST", ORDERS, 4, Fault::DropAfterProcessing);
    let order = sandbox
        .client()
        .orders()
        .create(&steam(10, "order-5005"))
        .await
        .unwrap();
    assert_eq!(keys_sent(&sandbox).len(), 4);
    assert_eq!(sandbox.orders_created(), 1);
    assert_eq!(sandbox.orders()[0].id, order.id, "found by its Idempotency-Key");
    assert_eq!(order.idempotency_key.as_ref().unwrap().as_str(), "order-5005");
    assert_eq!(sandbox.balance("USD"), usd(8_750), "one debit");
    assert!(
        sandbox.server().count_prefix("GET", ORDERS) >= 1,
        "the reconcile listed the product's orders"
    );
}

#[tokio::test]
async fn a_500_then_a_lost_response_still_leave_one_order() {
    let sandbox = Sandbox::start().await.unwrap();
    let server = sandbox.server();
    server.fail_next_on("POST", ORDERS, 1, Fault::Status(500));
    server.fail_next_on("POST", ORDERS, 1, Fault::DropAfterProcessing);
    sandbox
        .client()
        .orders()
        .create(&steam(10, "order-5003"))
        .await
        .unwrap();
    assert_eq!(keys_sent(&sandbox).len(), 3);
    assert_eq!(
        (sandbox.orders_created(), sandbox.balance("USD")),
        (1, usd(8_750))
    );
}

#[tokio::test]
async fn request_dropped_before_processing_and_502_pages_are_retried_once_created() {
    let sandbox = Sandbox::start().await.unwrap();
    let server = sandbox.server();
    server.fail_next_on("POST", ORDERS, 1, Fault::DropAfterRead);
    server.fail_next_on("POST", ORDERS, 1, Fault::HtmlPage(502));
    sandbox
        .client()
        .orders()
        .create(&steam(10, "order-5004"))
        .await
        .unwrap();
    assert_eq!(keys_sent(&sandbox), ["order-5004", "order-5004", "order-5004"]);
    assert_eq!(
        (sandbox.orders_created(), sandbox.balance("USD")),
        (1, usd(8_750))
    );
}

#[tokio::test]
async fn a_slow_create_past_the_attempt_timeout_is_charged_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", ORDERS, 1, Fault::Delay(Duration::from_millis(600)));
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .agent_id(sandbox.agent_id())
        .base_url(sandbox.base_url())
        .attempt_timeout(Duration::from_millis(200))
        .retry_policy(
            agent_catalog::RetryPolicy::default()
                .max_retries(5)
                .base_delay(Duration::from_millis(300)),
        )
        .build()
        .unwrap();
    let order = client.orders().create(&steam(10, "order-5005")).await.unwrap();
    // Let the slow first attempt finish on the server.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(keys_sent(&sandbox).len() >= 2);
    assert_eq!(sandbox.orders_created(), 1);
    assert_eq!(sandbox.orders()[0].id, order.id);
    assert_eq!(sandbox.balance("USD"), usd(8_750), "one debit");
}

#[tokio::test]
async fn a_429_on_create_waits_for_retry_after_and_charges_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox
        .server()
        .fail_next_on("POST", ORDERS, 1, Fault::RateLimited(Duration::from_secs(1)));
    sandbox
        .client()
        .orders()
        .create(&steam(10, "order-5006"))
        .await
        .unwrap();
    assert_eq!(keys_sent(&sandbox).len(), 2);
    assert_eq!(
        (sandbox.orders_created(), sandbox.balance("USD")),
        (1, usd(8_750))
    );
}
