//! RomplHub's documented flow, end to end: check the balance, price an order from the product
//! list, create it, wait, submit a 2FA code if the account asks for one, and read the result.
//!
//! ```sh
//! export ROMPLHUB_API_KEY=vx_...            # from POST /auth/api-key or the dashboard
//! export ROMPLHUB_BASE_URL=https://romplhub.com/api/v1   # optional
//! export ROBLOX_LOGIN=user@roblox.com ROBLOX_PASSWORD=... ROMPLHUB_PRODUCT=robux_88
//! cargo run -p romplhub --example quickstart
//! ```
//!
//! Without `ROBLOX_LOGIN` it only reads the balance, products and recent orders (no tokens
//! are spent).

use std::io::BufRead;

use futures_util::StreamExt;
use romplhub::{Client, CreateOrder, ErrorKind, ListOrders, PollOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // ROMPLHUB_API_KEY (required) and ROMPLHUB_BASE_URL (optional). To stay under RomplHub's
    // 60 requests/minute from several processes, build with
    // `Client::builder().api_key(..).rate_limiter(romplhub::rate_limiter())` instead.
    let client = Client::from_env()?;

    let balance = client.balance().get().await?;
    println!(
        "balance: {} tokens ({} top-ups pending)",
        balance.tokens, balance.pending_topups
    );

    let products = client.products().list().await?;
    for p in &products {
        println!("  {:<12} {:>6} R$  {:>4} tokens", p.id, p.robux, p.tokens);
    }

    let mut recent = Box::pin(client.orders().stream(ListOrders::new().limit(10)).take(10));
    while let Some(order) = recent.next().await {
        let order = order?;
        println!("  {} {}", order.order_uid, order.status);
    }

    let (Ok(login), Ok(password)) = (std::env::var("ROBLOX_LOGIN"), std::env::var("ROBLOX_PASSWORD")) else {
        println!("ROBLOX_LOGIN / ROBLOX_PASSWORD not set: not ordering.");
        return Ok(());
    };
    let product = std::env::var("ROMPLHUB_PRODUCT").unwrap_or_else(|_| "robux_88".into());
    let order = CreateOrder::new(login, password, product);
    let cost = order.estimate(&products)?;
    println!("ordering {} Robux for {} tokens", cost.robux, cost.tokens);
    if cost.tokens > balance.tokens {
        return Err("not enough tokens: top up first (client.balance().top_up(..))".into());
    }

    let created = match client.orders().create(&order).await {
        Ok(o) => o,
        Err(e) if e.kind() == ErrorKind::Ambiguous => {
            // Never simply retry: the order may exist. Look at the newest orders first.
            eprintln!("{e}");
            return Err(
                "the order may have been placed; check client.orders().list(..) before retrying".into(),
            );
        }
        Err(e) => return Err(e.into()),
    };
    println!("created {} ({})", created.order_uid, created.status);

    let wait = PollOptions::default();
    let mut current = client
        .orders()
        .wait_until_final_or_2fa(&created.order_uid, &wait)
        .await?;
    while current.needs_2fa() {
        println!("the account asks for a 2FA code; type it and press enter:");
        let code = std::io::stdin().lock().lines().next().ok_or("no code given")??;
        client
            .orders()
            .submit_2fa(&created.order_uid, code.trim().to_string())
            .await?;
        current = client
            .orders()
            .wait_until_final_or_2fa(&created.order_uid, &wait)
            .await?;
    }
    match current.error_message {
        Some(msg) => println!("{} failed: {msg} (tokens refunded)", current.order_uid),
        None => println!(
            "{} {}: {} Robux granted",
            current.order_uid,
            current.status,
            current.robux_granted.unwrap_or(0)
        ),
    }
    Ok(())
}
