//! The provider's integration flow, end to end:
//! health → sync catalog → check balance → create a top-up order with an idempotency key →
//! poll until completed or failed → deliver the voucher or keep the vendor id → reconcile
//! deposits → low-balance alerts.
//!
//! ```sh
//! export AGENT_CATALOG_API_KEY=...            # sandbox key
//! export AGENT_CATALOG_AGENT_ID=a12d5be1-...  # your agent UUID
//! export AGENT_CATALOG_BASE_URL=https://...   # the sandbox host you were given
//! export STEAM_LOGIN=player123                # the buyer's account for the top-up
//! cargo run -p agent-catalog --example quickstart
//! ```
//!
//! It creates a *test* order (`"test": true`); nothing here runs without those variables.

use std::time::Duration;

use agent_catalog::{
    CircuitBreaker, Client, CreateOrder, Decimal, DepositFilter, DepositStatus, ErrorExt, IdempotencyKey,
    LowBalanceThresholds, PollOptions, ProductTypeCode, TopupRequest,
};
use futures_util::TryStreamExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Stop calling a provider that keeps failing; probe again after 30 s.
    let client: Client = Client::builder_from_env()?
        .circuit_breaker(CircuitBreaker::new(5, Duration::from_secs(30)))
        .build()?;

    // 7. Monitor health (first, so a broken setup fails fast).
    let health = client.health().await?;
    println!(
        "health: HTTP {} {:?} in {:?}",
        health.status_code, health.status, health.latency
    );

    // 2. Sync catalog: types → categories → products, kept as a snapshot with lookups.
    let catalog = client.sync_catalog().await?;
    println!(
        "catalog: {} types, {} categories, {} products",
        catalog.product_types().len(),
        catalog.categories().len(),
        catalog.products().len()
    );
    let Some(product) = catalog
        .products_of_type(&ProductTypeCode::DirectTopUp)
        .find(|p| p.is_active)
    else {
        println!("no active direct_top_up product in this catalog");
        return Ok(());
    };
    let amount = product.min_amount.unwrap_or(Decimal::new(1000, 2));
    println!("ordering {} ({}) for {amount}", product.name, product.id);

    // 3. Show balances before checkout.
    let balances = client.balance().get().await?;
    for b in &balances.items {
        println!("balance: {} {}", b.available, b.currency_code);
    }

    // 4. Create the order. The key is fixed per business attempt: derive it from your own
    //    order id and store it with that id *before* sending, so a crash and a restart
    //    retry the same attempt instead of buying twice.
    let my_order_id = "quickstart-0001";
    let req = CreateOrder::new(product.id)
        .external_ref(my_order_id)
        .topup_request(
            TopupRequest::new(amount)
                .account("steam_login", std::env::var("STEAM_LOGIN").unwrap_or_default()),
        )
        .quantity(1)
        .test(true)
        .idempotency_key(IdempotencyKey::new(format!("order-{my_order_id}"))?);
    println!(
        "persist: {my_order_id} -> idempotency key {}",
        req.get_idempotency_key()
    );

    // Validates against the product, refuses what the balance cannot cover, then creates.
    let order = match client.orders().create_checked(&req, &catalog).await {
        Ok(order) => order,
        Err(e) if e.is_insufficient_balance() => {
            // Do not retry blindly: tell finance, wait for a deposit to post, then send the
            // same `req` again (same key).
            eprintln!("insufficient balance: {e}");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    println!("order {} is {}", order.id, order.status);
    if let Some(vendor) = order.order_content.vendor_order_id() {
        println!("persist vendor_order_id {vendor} for support");
    }

    // 5. Track the order by polling until completed or failed.
    let order = client
        .orders()
        .wait_until_final(&order.id, PollOptions::default())
        .await?;
    if order.is_completed() {
        match (
            order.order_content.voucher_code(),
            order.order_content.vendor_order_id(),
        ) {
            // A real shop hands the voucher to the buyer; never log it.
            (Some(_voucher), _) => println!("completed: voucher ready for delivery"),
            (None, Some(vendor)) => println!("completed: vendor order {vendor}"),
            (None, None) => println!("completed"),
        }
        println!("charged {:?} {:?}", order.charged_amount, order.currency_code);
    } else {
        println!("order {} failed at {:?}", order.id, order.failed_at);
    }

    // 6. Reconcile deposits with your ledger.
    let posted: Vec<_> = client
        .deposits()
        .stream(DepositFilter::new().status(DepositStatus::Posted).page_size(50))
        .try_collect()
        .await?;
    for d in &posted {
        println!(
            "deposit {} {} {:?} ref {:?} posted {:?}",
            d.id, d.amount, d.currency_code, d.external_ref, d.posted_at
        );
    }

    // Alert when balances approach your thresholds.
    let low = client
        .balance()
        .check_low(&LowBalanceThresholds::new().currency("USD", Decimal::from(100)))
        .await?;
    for l in low {
        println!(
            "LOW BALANCE: {} {} (threshold {})",
            l.available, l.currency_code, l.threshold
        );
    }
    Ok(())
}
