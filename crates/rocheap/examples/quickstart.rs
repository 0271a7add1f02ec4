//! ROCheap's documented integration flow, end to end: ping, check the balance, create a
//! payout, wait for it to finish, and verify the signed callback.
//!
//! Offline, against the in-process sandbox (no key, no network):
//! ```text
//! cargo run -p rocheap --example quickstart
//! ```
//! Against ROCheap (pays real Robux!):
//! ```text
//! ROCHEAP_API_KEY=... cargo run -p rocheap --example quickstart -- <roblox_user_id> <universe_id> <place_id> [robux]
//! ```
//! Optional: ROCHEAP_BASE_URL to point at a proxy or a mock.

use std::time::Duration;

use rocheap::{
    Client, CreateOrder, Decimal, ErrorCode, ErrorKind, Keyed, Order, PollOptions, ProviderErrorCode,
};

type BoxError = Box<dyn std::error::Error>;

/// Ping, balance, create, wait: the same against the sandbox and the real API.
async fn flow(
    client: &Client,
    user: u64,
    universe: u64,
    place: u64,
    robux: u64,
    my_id: &str,
) -> Result<Order, BoxError> {
    let pong = client.ping().await?;
    println!(
        "-> GET /ping                  <- {}",
        pong.message.as_deref().unwrap_or("ok")
    );

    // ROCheap's "Getting Started" page: check the balance at least every 10 minutes and
    // alert when it runs low.
    let balance = client.balance().await?;
    println!("-> GET /balance               <- {}", balance.amount);
    if balance.is_below(Decimal::from(5)) {
        println!("   warning: balance is low; top up before payouts fail with INSUFFICIENT_BALANCE");
    }

    // Keep your own id: it is how an order is found again after a network failure. It exists
    // before sending (`req.key()`): store it with your payout first.
    let req = CreateOrder::new(robux, user, universe, place).custom_order_id(my_id)?;
    println!("   custom_order_id {} (stored before sending)", req.key());
    let order = match client.orders().create(&req).await {
        Ok(order) => order,
        Err(e) if e.kind() == ErrorKind::Ambiguous => {
            return Err(format!("outcome unknown, do not pay again; look up `{my_id}` later: {e}").into());
        }
        Err(e) => {
            if ErrorCode::of(&e).is_some_and(|c| c.is_user_error()) {
                println!("   tell the user to fix their game pass");
            }
            return Err(e.into());
        }
    };
    println!(
        "-> POST /create_order         <- {} order {} (cost {}, receiver nets {} R$)",
        order.status.code,
        order.order_id,
        order.cost.map(|c| c.to_string()).unwrap_or_default(),
        order.after_tax_robux.unwrap_or_default()
    );

    // Callbacks are the primary signal; polling covers a callback that never comes.
    let done = client
        .orders()
        .wait_until_final(
            &order.order_id,
            &PollOptions::default()
                .interval(Duration::from_millis(200))
                .max_interval(Duration::from_secs(10))
                .timeout(Duration::from_secs(300)),
        )
        .await?;
    match done.failure() {
        None => println!(
            "-> GET /get_order_info/{{id}}  <- {} ({} R$ delivered)",
            done.status.code,
            done.robux.unwrap_or(robux)
        ),
        Some(code) if code.is_user_error() => {
            println!("   failed ({code}): ask the user to fix their game pass")
        }
        Some(code) => println!("   failed ({code}): check your account"),
    }
    Ok(done)
}

#[cfg(feature = "sandbox")]
async fn offline() -> Result<(), BoxError> {
    use rocheap::sandbox::{Fault, Sandbox, WebhookInbox};
    use rocheap::webhook::{Callback, Verifier};

    let sandbox = Sandbox::start().await?;
    let inbox = WebhookInbox::start().await?;
    sandbox.set_webhook_url(inbox.url());
    sandbox.auto_advance(Duration::from_millis(100));
    println!(
        "sandbox ROCheap at {} (no network, no credentials)",
        sandbox.base_url()
    );

    let client = sandbox.client();
    flow(&client, 1, 4284924817, 3927852479, 10, "quickstart-1").await?;

    // Your callback handler: verify the raw body with your API key, then parse.
    let verifier = Verifier::new(sandbox.api_key());
    for cb in inbox.wait_for(2, Duration::from_secs(5)).await {
        match verifier.verify(&cb.headers, &cb.body)?.parse()? {
            Callback::Order(order) => println!(
                "<= callback {:<10} signature verified (rocheap-api-signature)",
                order.status.code.as_str()
            ),
            other => println!("<= callback verified but not readable as an order: {other:?}"),
        }
    }

    // The promise that matters most: a lost response never pays twice.
    sandbox
        .server()
        .fail_next_on("POST", "/create_order", 1, Fault::DropAfterProcessing);
    let req = CreateOrder::new(10, 1, 4284924817, 3927852479).custom_order_id("quickstart-2")?;
    let order = client.orders().create(&req).await?;
    println!(
        "!! fault: connection dropped after ROCheap processed create_order -> reconciled by custom_order_id ({}), sent {} time(s), {} orders in total",
        order.order_id,
        sandbox.server().count("POST", "/create_order") - 1,
        sandbox.orders_created()
    );
    if sandbox.orders_created() != 2 {
        return Err("an order was created twice".into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if std::env::var("ROCHEAP_API_KEY").is_ok_and(|k| !k.trim().is_empty()) {
        let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
        let [user, universe, place, rest @ ..] = args.as_slice() else {
            eprintln!("usage: quickstart <roblox_user_id> <universe_id> <place_id> [robux]");
            std::process::exit(2);
        };
        let client = Client::from_env()?;
        let my_id = format!("quickstart-{}", std::process::id());
        flow(
            &client,
            *user,
            *universe,
            *place,
            rest.first().copied().unwrap_or(10),
            &my_id,
        )
        .await?;
        println!(
            "callbacks arrive at the URL in your Business Settings: verify them with rocheap::webhook::Verifier"
        );
        return Ok(());
    }
    #[cfg(feature = "sandbox")]
    return offline().await;
    #[cfg(not(feature = "sandbox"))]
    {
        eprintln!(
            "ROCHEAP_API_KEY is not set. Run offline with `cargo run -p rocheap --example quickstart` (the sandbox comes with the dev-dependencies), or export a key."
        );
        std::process::exit(2);
    }
}
