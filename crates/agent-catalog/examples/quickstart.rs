//! The provider's integration flow, end to end:
//! health → sync catalog → check balance → create a top-up order with an idempotency key →
//! poll until completed or failed → deliver the voucher or keep the vendor id → reconcile
//! deposits → low-balance alerts.
//!
//! Offline, against the in-process sandbox (no key, no network):
//! ```sh
//! cargo run -p agent-catalog --example quickstart
//! ```
//! Against Plexy Gate:
//! ```sh
//! export AGENT_CATALOG_API_KEY=...            # sandbox key
//! export AGENT_CATALOG_AGENT_ID=a12d5be1-...  # your agent UUID
//! export AGENT_CATALOG_BASE_URL=https://...   # the sandbox host you were given
//! export STEAM_LOGIN=player123                # the buyer's account for the top-up
//! cargo run -p agent-catalog --example quickstart
//! ```
//!
//! It creates a *test* order (`"test": true`).

use std::time::Duration;

use agent_catalog::{
    CircuitBreaker, Client, CreateOrder, Decimal, DepositFilter, DepositStatus, ErrorCode, Keyed,
    LowBalanceThresholds, Order, PollOptions, ProductTypeCode, Timestamp, TopupRequest,
};
use futures_util::TryStreamExt;

type BoxError = Box<dyn std::error::Error>;

/// One transcript line: `-> METHOD /path   <- what came back`.
fn line(call: &str, result: impl std::fmt::Display) {
    println!("-> {call:<42} <- {result}");
}

/// The documented flow, the same against the sandbox and the real API. `None` when there is
/// nothing to order or the balance cannot cover it (not an error for a real account).
async fn flow(
    client: &Client,
    buyer: &str,
    my_order_id: &str,
    poll: PollOptions,
) -> Result<Option<Order>, BoxError> {
    // 7. Monitor health (first, so a broken setup fails fast).
    let health = client.health().await?;
    line(
        &format!("GET {}", health.path),
        format_args!(
            "{} {}",
            health.status_code,
            health.status.as_deref().unwrap_or("(no status)")
        ),
    );

    // 2. Sync catalog: types → categories → products, kept as a snapshot with lookups.
    let catalog = client.sync_catalog().await?;
    let codes: Vec<&str> = catalog.product_types().iter().map(|t| t.code.as_str()).collect();
    line(
        "GET /agent/{agent_id}/product-types",
        format_args!("{} types: {}", codes.len(), codes.join(", ")),
    );
    line(
        "GET /agent/{agent_id}/product-categories",
        format_args!("{} categories", catalog.categories().len()),
    );
    line(
        "GET /agent/{agent_id}/products",
        format_args!(
            "{} products, {} active",
            catalog.products().len(),
            catalog.products().iter().filter(|p| p.is_active).count()
        ),
    );
    let Some(product) = catalog
        .products_of_type(&ProductTypeCode::DirectTopUp)
        .find(|p| p.is_active)
    else {
        println!("   no active direct_top_up product in this catalog");
        return Ok(None);
    };
    let amount = product.min_amount.unwrap_or(Decimal::new(1000, 2));
    let currency = product.currency_code.clone().unwrap_or_default();
    let mut shown_amount = amount; // for the transcript: 5 -> 5.00, as it is sent
    if shown_amount.scale() < 2 {
        shown_amount.rescale(2);
    }

    // 3. Show balances before checkout.
    let balances = client.balance().get().await?;
    let shown: Vec<String> = balances
        .items
        .iter()
        .map(|b| format!("{} {}", b.currency_code, b.available))
        .collect();
    line("GET /agent/{agent_id}/balance", shown.join(", "));

    // 4. Create the order. The key is fixed per business attempt: derive it from your own
    //    order id and store it with that id *before* sending, so a crash and a restart
    //    retry the same attempt instead of buying twice.
    // The key comes from your own order id, so a restart retries the same attempt; a key
    // that cannot travel in a header is refused here, before anything is sent.
    let req = CreateOrder::with_key(product.id, format!("order-{my_order_id}"))?
        .external_ref(my_order_id)
        .topup_request(TopupRequest::new(amount).account("steam_login", buyer))
        .quantity(1)
        .test(true);
    println!("   persist: {my_order_id} -> Idempotency-Key {}", req.key());

    // Validates against the product, refuses what the balance cannot cover, then creates.
    let order = match client.orders().create_checked(&req, &catalog).await {
        Ok(order) => order,
        Err(e) if ErrorCode::of(&e) == Some(ErrorCode::InsufficientBalance) => {
            // Do not retry blindly: tell finance, wait for a deposit to post, then send the
            // same `req` again (same key).
            println!("   insufficient balance, tell finance: {e}");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    line(
        "POST /agent/{agent_id}/orders",
        format_args!(
            "{} {} ({} {shown_amount} {currency}, charged {}, vendor_order_id {})",
            order.status,
            order.id,
            product.name,
            order.charged_amount.map(|c| c.to_string()).unwrap_or_default(),
            order.order_content.vendor_order_id().unwrap_or("-")
        ),
    );

    // 5. Track the order by polling until completed or failed (there are no webhooks).
    let order = client.orders().wait_until_final(&order.id, &poll).await?;
    // `created_at` / `completed_at` are `Timestamp`s: the provider's text, and the instant
    // when it is an RFC 3339 date-time (`unix_seconds()` is `None` for any other text).
    let took = match (
        order.created_at.as_ref().and_then(Timestamp::unix_seconds),
        order.completed_at.as_ref().and_then(Timestamp::unix_seconds),
    ) {
        (Some(created), Some(completed)) => format!(" in {} s", completed - created),
        _ => String::new(),
    };
    let outcome = if order.is_completed() {
        match (
            order.order_content.voucher_code(),
            order.order_content.vendor_order_id(),
        ) {
            // A real shop hands the voucher to the buyer; never log it.
            (Some(_voucher), _) => format!("completed{took}: voucher ready for delivery"),
            (None, Some(vendor)) => format!("completed{took} (vendor order {vendor})"),
            (None, None) => format!("completed{took}"),
        }
    } else {
        format!(
            "failed at {}",
            order
                .failed_at
                .as_ref()
                .map_or("(unknown time)", Timestamp::as_str)
        )
    };
    line("GET /agent/{agent_id}/orders/{orderId}", outcome);

    // 6. Reconcile deposits with your ledger.
    let posted: Vec<_> = client
        .deposits()
        .stream(DepositFilter::new().status(DepositStatus::Posted).page_size(50))
        .try_collect()
        .await?;
    let refs: Vec<String> = posted
        .iter()
        .map(|d| {
            format!(
                "{} {} {}",
                d.currency_code.as_deref().unwrap_or("?"),
                d.amount,
                d.external_ref.as_deref().unwrap_or("-")
            )
        })
        .collect();
    line(
        "GET /agent/{agent_id}/deposits",
        format_args!("{} posted: {}", posted.len(), refs.join("; ")),
    );

    // Alert when balances approach your thresholds.
    let low = client
        .balance()
        .check_low(&LowBalanceThresholds::new().currency("USD", Decimal::from(100)))
        .await?;
    let alert: Vec<String> = low
        .iter()
        .map(|l| {
            format!(
                "LOW {} {} (alert at {})",
                l.currency_code, l.available, l.threshold
            )
        })
        .collect();
    line(
        "GET /agent/{agent_id}/balance",
        if alert.is_empty() {
            "no balance at or below its alert level".to_string()
        } else {
            alert.join(", ")
        },
    );
    Ok(Some(order))
}

#[cfg(feature = "sandbox")]
async fn offline() -> Result<(), BoxError> {
    use agent_catalog::sandbox::{AMAZON_DE_10, Fault, GOOGLE_PLAY_25, Sandbox};

    let sandbox = Sandbox::start().await?;
    sandbox.auto_advance(Duration::from_millis(50));
    println!(
        "sandbox Plexy Gate at {} (agent {}, no network, no credentials)",
        sandbox.base_url(),
        sandbox.agent_id()
    );
    let client = sandbox.client();
    let poll = PollOptions::default()
        .interval(Duration::from_millis(40))
        .max_interval(Duration::from_millis(200))
        .timeout(Duration::from_secs(5));

    let Some(order) = flow(&client, "player123", "quickstart-0001", poll).await? else {
        return Err("the sandbox flow did not place its order".into());
    };
    if !order.is_completed() {
        return Err(format!("order {} ended {}", order.id, order.status).into());
    }

    // A voucher: its code arrives with completion, in `order_content`.
    let card = client.orders().create(&CreateOrder::new(GOOGLE_PLAY_25)).await?;
    line(
        "POST /agent/{agent_id}/orders",
        format_args!("{} {} (Google Play 25 USD, redeem_card)", card.status, card.id),
    );
    let card = client.orders().wait_until_final(&card.id, &poll).await?;
    let Some(code) = card.order_content.voucher_code() else {
        return Err("a completed voucher order carries no voucher_code".into());
    };
    // Show only the last group: a voucher code is money.
    let tail = code.rsplit('-').next().unwrap_or("");
    line(
        "GET /agent/{agent_id}/orders/{orderId}",
        format_args!(
            "{}: voucher_code SBX-****-****-{tail} ready for delivery",
            card.status
        ),
    );

    // 400 insufficient_balance: fund, wait for the deposit to post, same order, same key.
    let big = CreateOrder::with_key(AMAZON_DE_10, "order-quickstart-0002")?.quantity(4);
    let refused = match client.orders().create(&big).await {
        Err(e) if ErrorCode::of(&e) == Some(ErrorCode::InsufficientBalance) => e,
        other => return Err(format!("expected insufficient_balance, got {other:?}").into()),
    };
    line(
        "POST /agent/{agent_id}/orders",
        format_args!("{} insufficient_balance", refused.status().unwrap_or(0)),
    );
    sandbox.deposit("EUR", Decimal::from(20));
    let funded = client.orders().create(&big).await?;
    line(
        "POST /agent/{agent_id}/orders (same key)",
        format_args!(
            "{} {} after a EUR 20.00 deposit posted (charged {})",
            funded.status,
            funded.id,
            funded.charged_amount.unwrap_or_default()
        ),
    );

    // The promise that matters most: a 500 and a lost response never charge twice.
    let before = sandbox.balance("USD");
    let orders_before = sandbox.orders_created();
    let server = sandbox.server();
    let path = format!("{}/orders", client.agent_path());
    server.clear_requests();
    server.fail_next_on("POST", &path, 1, Fault::Status(500));
    server.fail_next_on("POST", &path, 1, Fault::DropAfterProcessing);
    let req = CreateOrder::with_key(GOOGLE_PLAY_25, "order-quickstart-0003")?;
    let order = client.orders().create(&req).await?;
    let sent = server.count("POST", &path);
    let created = sandbox.orders_created() - orders_before;
    let after = sandbox.balance("USD");
    println!(
        "!! fault: 500, then connection dropped after processing, on POST /orders -> retried with the same Idempotency-Key: {sent} requests, {created} order ({}), charged once (USD {before} -> {after})",
        order.id
    );
    if sent != 3 || created != 1 || before - after != order.charged_amount.unwrap_or_default() {
        return Err("an order was created or charged twice".into());
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    if std::env::var(agent_catalog::ENV_API_KEY).is_ok_and(|k| !k.trim().is_empty()) {
        // Stop calling a provider that keeps failing; probe again after 30 s.
        let client: Client = Client::builder_from_env()?
            .circuit_breaker(CircuitBreaker::new(5, Duration::from_secs(30)))
            .build()?;
        let buyer = std::env::var("STEAM_LOGIN").unwrap_or_default();
        flow(&client, &buyer, "quickstart-0001", PollOptions::default()).await?;
        return Ok(());
    }
    #[cfg(feature = "sandbox")]
    return offline().await;
    #[cfg(not(feature = "sandbox"))]
    {
        eprintln!(
            "AGENT_CATALOG_API_KEY is not set. Run offline with\n    cargo run -p agent-catalog --example quickstart\nor export AGENT_CATALOG_API_KEY, AGENT_CATALOG_AGENT_ID and AGENT_CATALOG_BASE_URL."
        );
        std::process::exit(2);
    }
}
