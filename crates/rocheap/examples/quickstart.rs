//! ROCheap's documented integration flow, end to end:
//! ping, check the balance, create a payout, then wait for it (or verify a callback).
//!
//! ```text
//! ROCHEAP_API_KEY=... cargo run -p rocheap --example quickstart -- <roblox_user_id> <universe_id> <place_id> [robux]
//! ```
//! Optional: ROCHEAP_BASE_URL to point at a proxy or a mock.

use std::time::Duration;

use rocheap::{Client, CreateOrder, Decimal, ErrorKind, PollOptions, SecretString, webhook};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let [user, universe, place, rest @ ..] = args.as_slice() else {
        eprintln!("usage: quickstart <roblox_user_id> <universe_id> <place_id> [robux]");
        std::process::exit(2);
    };
    let robux = rest.first().copied().unwrap_or(10);

    let client = Client::from_env()?;
    client.ping().await?;
    println!("ping: ok");

    // The excerpt: check the balance at least every 10 minutes and alert when it runs low.
    let balance = client.balance().await?;
    println!("balance: {}", balance.amount);
    if balance.is_below(Decimal::from(5)) {
        eprintln!("warning: balance is low, top up before payouts fail with INSUFFICIENT_BALANCE");
    }

    // Keep your own id: it is how an order is found again after a network failure.
    let my_id = format!("quickstart-{}", std::process::id());
    let order = match client
        .orders()
        .create(CreateOrder::new(robux, *user, *universe, *place).custom_order_id(&my_id))
        .await
    {
        Ok(order) => order,
        Err(e) if e.kind() == ErrorKind::Ambiguous => {
            eprintln!("outcome unknown, do not pay again; look up `{my_id}` later: {e}");
            return Ok(());
        }
        Err(e) => {
            if rocheap::error::error_code(&e).is_some_and(|c| c.is_user_error()) {
                eprintln!("tell the user to fix their game pass: {e}");
            }
            return Err(e.into());
        }
    };
    println!(
        "created {} ({}), receiver nets {:?} R$",
        order.order_id, order.status.code, order.after_tax_robux
    );

    // Callbacks are the primary signal; polling covers a callback that never comes.
    let done = client
        .orders()
        .wait_until_final(
            &order.order_id,
            PollOptions::default()
                .interval(Duration::from_secs(10))
                .timeout(Duration::from_secs(300)),
        )
        .await?;
    match done.failure() {
        None => println!("completed: {} R$ delivered", done.robux.unwrap_or(robux)),
        Some(code) if code.is_user_error() => {
            println!("failed ({code}): ask the user to fix their game pass")
        }
        Some(code) => println!("failed ({code}): check your account"),
    }

    // What your callback handler does with ROCheap's POST (raw body, header map):
    let api_key = SecretString::from(std::env::var("ROCHEAP_API_KEY")?);
    let body = serde_json::to_vec(&done)?;
    let headers = [(webhook::SIGNATURE_HEADER, webhook::sign(&body, &api_key)?)];
    let verified = webhook::verify(&headers, &body, &api_key)?.parse()?;
    println!("callback verified for order {}", verified.order_id);
    Ok(())
}
