//! RomplHub's documented flow, end to end: check the balance, price an order from the product
//! list, create it, wait, submit a 2FA code if the account asks for one, and read the result.
//!
//! Offline, against the in-process sandbox (no key, no network): registers an account, mints a
//! `vx_` key, tops up, orders for an account with 2FA, confirms the unsigned webhooks, orders
//! the example pack from RomplHub's API page and shows that a lost answer never orders twice:
//! ```sh
//! cargo run -p romplhub --example quickstart
//! ```
//!
//! Against RomplHub (spends real tokens when ROBLOX_LOGIN is set!):
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
use std::time::Duration;

use futures_util::StreamExt;
use romplhub::{Client, CreateOrder, ErrorKind, ListOrders, PollOptions};

type BoxError = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    if std::env::var(romplhub::ENV_API_KEY).is_ok_and(|k| !k.trim().is_empty()) {
        return online().await;
    }
    #[cfg(feature = "sandbox")]
    return offline::run().await;
    #[cfg(not(feature = "sandbox"))]
    {
        eprintln!(
            "ROMPLHUB_API_KEY is not set. Run offline against the sandbox with\n  cargo run -p romplhub --example quickstart\nor export a key (vx_...) to use RomplHub itself."
        );
        std::process::exit(2);
    }
}

/// Against RomplHub itself, with `ROMPLHUB_API_KEY` (unchanged behaviour).
async fn online() -> Result<(), BoxError> {
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
        .wait_until_final(&created.order_uid, &wait)
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
            .wait_after_2fa(&created.order_uid, Duration::from_secs(60), &wait)
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

/// The same flow against the in-process sandbox, with a transcript of every call.
#[cfg(feature = "sandbox")]
mod offline {
    use std::time::Duration;

    use romplhub::sandbox::{Fault, Sandbox, TWO_FA_CODE, TWO_FA_LOGIN, WebhookInbox};
    use romplhub::{
        Client, CreateOrder, CreatePack, Decimal, ErrorKind, ListOrders, OrderPack, OrderStatus, PollOptions,
        Register, TopUpRequest, webhook,
    };

    use super::BoxError;

    fn poll() -> PollOptions {
        PollOptions::default()
            .interval(Duration::from_millis(40))
            .backoff(1.0)
            .timeout(Duration::from_secs(5))
    }

    /// Reads the webhook, checks the per-order token in its URL, and confirms it by fetching
    /// the order: RomplHub does not sign webhooks.
    async fn confirm(
        client: &Client,
        delivery: &romplhub::sandbox::RecordedRequest,
        token: &str,
    ) -> Result<(), BoxError> {
        if delivery.query.as_deref() != Some(&format!("t={token}")) {
            return Err("webhook without our URL token".into());
        }
        let event = webhook::parse(&delivery.body)?;
        let confirmation = webhook::confirm(client, &event).await?;
        if !confirmation.agrees() {
            return Err(format!(
                "webhook claims {:?}, RomplHub says {}",
                event.claimed_status(),
                confirmation.order.status
            )
            .into());
        }
        println!(
            "<= webhook {} {} unsigned (RomplHub does not sign): URL token ok, confirmed by GET /orders/{{uid}} -> {}",
            event.event_type(),
            confirmation.order.order_uid,
            confirmation.order.status
        );
        Ok(())
    }

    pub(super) async fn run() -> Result<(), BoxError> {
        let sandbox = Sandbox::start().await?;
        let inbox = WebhookInbox::start().await?;
        sandbox.auto_advance(Duration::from_millis(20));
        println!(
            "sandbox RomplHub at {} (no network, no credentials)",
            sandbox.base_url()
        );

        // Register and mint a long-lived key with the JWT.
        let anon = sandbox.unauthenticated_client();
        let token = anon
            .auth()
            .register(&Register::new("shop", "shop@example.com", "shop-password"))
            .await?;
        println!(
            "-> POST /auth/register            <- 201 user {} `{}`, JWT ({}), sent as Bearer",
            token.user_id.map(|u| u.to_string()).unwrap_or_default(),
            token.username.as_deref().unwrap_or("?"),
            token.token_type
        );
        let key = anon.auth().create_api_key().await?;
        let client = anon.with_api_key(key.key)?;
        println!("-> POST /auth/api-key             <- 201 vx_... key (shown once), now sent as X-API-Key");

        // Buy tokens: a pending top-up, credited once an administrator approves it.
        let top_up = client
            .balance()
            .top_up(&TopUpRequest::new(Decimal::new(5000, 2)))
            .await?;
        println!(
            "-> POST /balance/topup            <- 201 50.00 USDT -> {} tokens, send USDT (TRC-20) to {}, {}",
            top_up.tokens_amount, top_up.wallet_address, top_up.status
        );
        let approved = sandbox.approve_topups();
        println!("   (the sandbox's administrator approves: +{approved} tokens)");
        let balance = client.balance().get().await?;
        println!(
            "-> GET /balance                   <- {} tokens, {} top-ups pending",
            balance.tokens, balance.pending_topups
        );
        let products = client.products().list().await?;
        println!(
            "-> GET /products                  <- {}",
            products
                .iter()
                .map(|p| format!("{} {}t", p.id, p.tokens))
                .collect::<Vec<_>>()
                .join(", ")
        );

        // An order for an account with two-step verification.
        let hook_token = "3f9c1e";
        let hook = format!("{}?t={hook_token}", inbox.url());
        let order = CreateOrder::new(TWO_FA_LOGIN, "account-password", "robux_2200").webhook_url(&hook);
        let estimate = order.estimate(&products)?;
        let created = client.orders().create(&order).await?;
        println!(
            "-> POST /orders                   <- 201 {} {}: {} tokens for {} R$ (estimated {})",
            created.order_uid,
            created.status,
            created.tokens_charged.unwrap_or(0),
            created.product_robux.unwrap_or(0),
            estimate.tokens
        );
        let mut current = client
            .orders()
            .wait_until_final(&created.order_uid, &poll())
            .await?;
        println!(
            "-> GET /orders/{{uid}}              <- {}: the account owner gets a code",
            current.status
        );
        if !current.needs_2fa() {
            return Err("expected the order to wait for a 2FA code".into());
        }
        let submitted = client
            .orders()
            .submit_2fa(&created.order_uid, TWO_FA_CODE)
            .await?;
        println!(
            "-> POST /orders/{{uid}}/2fa         <- {}",
            submitted
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "accepted".into())
        );
        current = client
            .orders()
            .wait_after_2fa(&created.order_uid, Duration::from_secs(5), &poll())
            .await?;
        println!(
            "-> GET /orders/{{uid}}              <- {}: {} R$ granted ({} -> {})",
            current.status,
            current.robux_granted.unwrap_or(0),
            current.robux_before.unwrap_or(0),
            current.robux_after.unwrap_or(0)
        );
        if current.status != OrderStatus::Completed {
            return Err(format!("order ended {}: {:?}", current.status, current.error_message).into());
        }
        let received = inbox.wait_for(1, Duration::from_secs(5)).await;
        let first = received.first().ok_or("no webhook arrived")?;
        confirm(&client, first, hook_token).await?;

        // The example pack on RomplHub's API page: 2 x robux_550 + 1 x robux_1000.
        let pack = client
            .packs()
            .create(
                &CreatePack::new("Starter Bundle")
                    .item("robux_550", 2)
                    .item("robux_1000", 1),
            )
            .await?;
        println!(
            "-> POST /packs                    <- 201 pack {} \"{}\": {} tokens, {} R$",
            pack.id,
            pack.name.as_deref().unwrap_or(""),
            pack.total_tokens.unwrap_or(0),
            pack.total_robux.unwrap_or(0)
        );
        let orders = client
            .packs()
            .order(&OrderPack::new(&pack.id, "user@roblox.com", "account-password").webhook_url(&hook))
            .await?;
        println!(
            "-> POST /packs/{}/order            <- 201 {} orders: {}",
            pack.id,
            orders.len(),
            orders
                .iter()
                .map(|o| format!("{} ({} tokens)", o.order_uid, o.tokens_charged.unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut statuses = Vec::new();
        for o in &orders {
            statuses.push(
                client
                    .orders()
                    .wait_until_final(&o.order_uid, &poll())
                    .await?
                    .status,
            );
        }
        println!(
            "-> GET /orders/{{uid}} x{}           <- {}",
            statuses.len(),
            statuses
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for delivery in inbox.wait_for(3, Duration::from_secs(5)).await.iter().skip(1) {
            confirm(&client, delivery, hook_token).await?;
        }
        let completed = client
            .orders()
            .list(&ListOrders::new().status(OrderStatus::Completed))
            .await?;
        println!(
            "-> GET /orders?status=completed   <- total {}",
            completed.total.unwrap_or(0)
        );
        let before = client.balance().get().await?.tokens;
        println!("-> GET /balance                   <- {before} tokens");
        if completed.total != Some(3) || before != 55 {
            return Err("unexpected totals after the pack".into());
        }

        // The promise that matters most: a lost answer never orders twice.
        // Remember the newest order id before sending: find_candidates stops there.
        let since = client.orders().list(&ListOrders::new().limit(1)).await?.items;
        let since = since.first().map(|o| o.order_uid.clone());
        let orders_before = sandbox.orders_created();
        let posts_before = sandbox.count("POST", "/orders");
        sandbox
            .server()
            .fail_next_on("POST", "/api/v1/orders", 1, Fault::DropAfterProcessing);
        let req = CreateOrder::new("user@roblox.com", "account-password", "robux_88");
        let lost = client.orders().create(&req).await;
        let Err(e) = lost else {
            return Err("the dropped connection went unnoticed".into());
        };
        if e.kind() != ErrorKind::Ambiguous {
            return Err(format!("expected an ambiguous outcome, got {e}").into());
        }
        // As the crate advises: find the order before ordering again (RomplHub has no key).
        let candidates = client.orders().find_candidates(&req, since.as_ref()).await?;
        let after = client.balance().get().await?.tokens;
        let sent = sandbox.count("POST", "/orders") - posts_before;
        let made = sandbox.orders_created() - orders_before;
        println!(
            "!! fault: connection dropped after RomplHub processed POST /orders -> Ambiguous, not re-sent (sent {sent}x); find_candidates finds {:?} ({} tokens), {made} order created, tokens debited once ({before} -> {after})",
            candidates
                .iter()
                .map(|o| o.order_uid.as_str())
                .collect::<Vec<_>>(),
            candidates.first().and_then(|o| o.tokens_charged).unwrap_or(0),
        );
        if sent != 1 || made != 1 || candidates.len() != 1 || after != before - 11 {
            return Err("an order was created or paid twice".into());
        }
        Ok(())
    }
}
