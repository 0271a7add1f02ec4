//! RohoPay's documented integration flow, end to end:
//!
//! 1. start a card checkout and send the cardholder to the one-time `payment_url`;
//! 2. read the return URL the browser lands on (untrusted) and confirm with RohoPay;
//! 3. collect mobile money (and, offline, pay some of it out) and wait for the final status;
//! 4. verify and parse the webhooks.
//!
//! Offline, against the in-process sandbox (no key, no network):
//! ```sh
//! cargo run -p rohopay --example quickstart
//! ```
//! Against RohoPay, with a test key:
//! ```sh
//! ROHOPAY_API_KEY=test_... ROHOPAY_WEBHOOK_SECRET=... cargo run -p rohopay --example quickstart
//! ```
//!
//! `ROHOPAY_BASE_URL` points it at another host (a local mock). It refuses `live_` keys: the
//! card below is a test card.

use std::io::BufRead;
use std::time::Duration;

use rohopay::webhook::{self, EventType};
use rohopay::{
    Card, CheckoutRequest, Client, CollectRequest, Currency, Environment, ErrorKind, IdempotencyKey,
    PollOptions, UntrustedCheckoutReturn,
};

type BoxError = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if std::env::var("ROHOPAY_API_KEY").is_ok_and(|k| !k.trim().is_empty()) {
        return online().await;
    }
    #[cfg(feature = "sandbox")]
    return offline().await;
    #[cfg(not(feature = "sandbox"))]
    {
        eprintln!(
            "ROHOPAY_API_KEY is not set. Run offline against the sandbox with\n    cargo run -p rohopay --example quickstart\nor export a `test_` key (and ROHOPAY_WEBHOOK_SECRET) to run against RohoPay."
        );
        std::process::exit(2);
    }
}

/// The flow against RohoPay itself (a `test_` key), the browser step done by you.
async fn online() -> Result<(), BoxError> {
    let client = Client::from_env()?;
    if client.environment() != Environment::Sandbox {
        return Err("this example uses a test card: run it with a `test_` key".into());
    }

    // 1. Card checkout. Validation happens before anything is sent.
    let amount = 75_000;
    let session = match client
        .checkout()
        .create(
            &CheckoutRequest::new(
                amount,
                Currency::Ugx,
                "Jane Mukasa",
                "jane@example.com",
                "https://your-app.com/checkout/return",
                Card::new("4111 1111 1111 1111", "12/30", "123"),
            )
            .description("payout-rs quickstart"),
        )
        .await
    {
        Ok(session) => session,
        Err(e) if e.kind() == ErrorKind::Ambiguous => {
            // The request left and no answer came back: look it up before trying again.
            return Err(format!("checkout outcome unknown, check the dashboard: {e}").into());
        }
        Err(e) => return Err(e.into()),
    };
    let reference = session.internal_reference.clone();
    println!("checkout {reference}: open {} in a browser", session.payment_url);

    // 2. After 3-D Secure the browser lands on the return URL. Paste it here.
    println!("paste the URL the browser returned to (or press enter to skip):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let ret = UntrustedCheckoutReturn::parse(&line);
    println!(
        "the redirect claims {:?} (not proof of anything)",
        ret.claimed_status()
    );
    let confirmation = client.checkout().confirm_return(&ret, &reference).await?;
    println!(
        "RohoPay says {} (paid for this order: {}, redirect disagrees: {})",
        confirmation.status(),
        confirmation.is_paid_for(amount, &Currency::Ugx),
        confirmation.redirect_disagrees()
    );

    // 3. Mobile money, protected by an idempotency key you would store with your order.
    if let Ok(phone) = std::env::var("ROHOPAY_PHONE") {
        let key = IdempotencyKey::generate();
        let initiated = client
            .mobile_money()
            .collect(&CollectRequest::new(phone, 5_000, Currency::Ugx).idempotency_key(key))
            .await?;
        let reference = initiated.transaction.internal_reference;
        println!(
            "collection {reference} started (key {})",
            initiated.idempotency_key
        );
        let tx = client
            .transactions()
            .wait_until_final(
                &reference,
                &PollOptions::default()
                    .interval(Duration::from_secs(5))
                    .backoff(1.0)
                    .timeout(Duration::from_secs(120)),
            )
            .await?;
        println!("collection {reference}: {:?}", tx.status);
    }

    // 4. Webhooks: verify the raw body with the webhook secret (not the API key), then parse.
    let secret = std::env::var("ROHOPAY_WEBHOOK_SECRET")?;
    let verifier = webhook::Verifier::new(secret.as_str()); // or Verifier::from_env()
    let body = br#"{"event":"deposit.successful","internal_reference":"RHP-2024-ABC123","status":"successful","amount":50000,"currency":"UGX"}"#;
    // In a real handler these come from the request; here we sign a sample ourselves.
    let headers = webhook::sign(&secret, body, std::time::SystemTime::now());
    let event = verifier.verify(&headers, body)?.parse()?;
    if event.event_type() == EventType::DepositSuccessful {
        println!(
            "webhook verified: {:?} (dedup on {:?})",
            event.event_type(),
            event.dedup_key()
        );
    }
    Ok(())
}

/// The same flow against the in-process sandbox, with a browser that does not follow
/// redirects standing in for the cardholder, and one fault that must not pay twice.
#[cfg(feature = "sandbox")]
async fn offline() -> Result<(), BoxError> {
    use rohopay::sandbox::{Fault, Sandbox, ThreeDs, WebhookInbox};
    use rohopay::{DisburseRequest, ErrorCode, ListTransactions, TransactionType};

    let sandbox = Sandbox::start().await?;
    let inbox = WebhookInbox::start().await?;
    sandbox.set_webhook_url(inbox.url());
    // The payer approves the USSD prompt a moment later.
    sandbox.auto_advance(Duration::from_millis(40));
    println!(
        "sandbox RohoPay at {} (no network, no credentials)",
        sandbox.base_url()
    );

    // 1. Card checkout with the test key (in the JSON body).
    let client = sandbox.client();
    let amount = 75_000;
    let session = client
        .checkout()
        .create(
            &CheckoutRequest::new(
                amount,
                Currency::Ugx,
                "Jane Mukasa",
                "jane@example.com",
                "https://your-app.com/checkout/return",
                Card::new("4111 1111 1111 1111", "12/30", "123"),
            )
            .description("payout-rs quickstart"),
        )
        .await?;
    let reference = session.internal_reference.clone();
    call(
        "POST",
        "/api/v1/checkout",
        format!(
            "{} {reference}, one-time payment_url",
            status_text(session.status.as_ref())
        ),
    );

    // 2. The browser: the 3-D Secure page, the cardholder approves, the redirect comes back.
    // A plain HTTP client that does not follow redirects: the Location is the return URL.
    let browser = payout_core::reqwest::Client::builder()
        .redirect(payout_core::reqwest::redirect::Policy::none())
        .build()?;
    let page = browser.get(&session.payment_url).send().await?;
    call(
        "GET",
        "/3ds/{token}",
        format!("{} 3-D Secure page", page.status().as_u16()),
    );
    if page.status().as_u16() != 200 {
        return Err("the 3-D Secure page did not open".into());
    }
    let submitted = browser
        .get(format!(
            "{}?outcome={}",
            session.payment_url,
            ThreeDs::Approve.as_query()
        ))
        .send()
        .await?;
    let location = submitted
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    call(
        "GET",
        "/3ds/{token}?outcome=approve",
        format!("{} to {location}", submitted.status().as_u16()),
    );
    if submitted.status().as_u16() != 302 {
        return Err("the 3-D Secure step did not redirect".into());
    }
    let ret = UntrustedCheckoutReturn::parse(&location);
    println!(
        "   the return URL claims {} for {} (untrusted: confirming)",
        ret.claimed_status().map(|s| s.as_str()).unwrap_or("nothing"),
        ret.claimed_reference().unwrap_or("?")
    );
    let confirmation = client.checkout().confirm_return(&ret, &reference).await?;
    let paid = confirmation.is_paid_for(amount, &Currency::Ugx);
    call(
        "GET",
        &format!("/api/v1/transactions/{reference}"),
        format!("{}, paid for this order: {paid}", confirmation.status()),
    );
    if !paid || !confirmation.return_matches {
        return Err("the card payment was not confirmed".into());
    }
    let again = browser.get(&session.payment_url).send().await?;
    call(
        "GET",
        "/3ds/{token}",
        format!("{} (one-time link already used)", again.status().as_u16()),
    );
    if again.status().as_u16() != 410 {
        return Err("the payment_url was usable twice".into());
    }

    // 3. Mobile money. Disbursing needs a live key: the sandbox has its own, moving no money.
    let live = sandbox.live_client();
    let collected = live
        .mobile_money()
        .collect(
            &CollectRequest::new("256712345678", 50_000, Currency::Ugx)
                .description("Order #1001")
                .idempotency_key(IdempotencyKey::new("quickstart-collect-1")?),
        )
        .await?;
    let collect_ref = collected.transaction.internal_reference.clone();
    call(
        "POST",
        "/api/v1/collect",
        format!(
            "{} {collect_ref} (Idempotency-Key {})",
            status_text(collected.transaction.status.as_ref()),
            collected.idempotency_key
        ),
    );
    let tx = live
        .transactions()
        .wait_until_final(&collect_ref, &fast_poll())
        .await?;
    call(
        "GET",
        &format!("/api/v1/transactions/{collect_ref}"),
        format!(
            "{} (net {} UGX after commission)",
            status_text(tx.status.as_ref()),
            tx.net_amount.unwrap_or_default()
        ),
    );
    if !tx.is_successful() {
        return Err("the collection did not succeed".into());
    }

    let refused = client
        .mobile_money()
        .disburse(&DisburseRequest::new("256712345678", 20_000, Currency::Ugx))
        .await;
    match refused {
        Err(e) if e.status() == Some(403) => call(
            "POST",
            "/api/v1/disburse (test_ key)",
            format!(
                "403 {}",
                ErrorCode::of(&e).map(|c| c.to_string()).unwrap_or_default()
            ),
        ),
        _ => return Err("a test key was allowed to disburse".into()),
    }
    let payout = live
        .mobile_money()
        .disburse(
            &DisburseRequest::new("256712345678", 20_000, Currency::Ugx)
                .idempotency_key(IdempotencyKey::new("quickstart-payout-1")?),
        )
        .await?;
    let payout_ref = payout.transaction.internal_reference.clone();
    call(
        "POST",
        "/api/v1/disburse",
        format!(
            "{} {payout_ref} (Idempotency-Key {})",
            status_text(payout.transaction.status.as_ref()),
            payout.idempotency_key
        ),
    );
    let tx = live
        .transactions()
        .wait_until_final(&payout_ref, &fast_poll())
        .await?;
    call(
        "GET",
        &format!("/api/v1/transactions/{payout_ref}"),
        status_text(tx.status.as_ref()).to_string(),
    );
    if !tx.is_successful() {
        return Err("the disbursement did not succeed".into());
    }

    let listed = live
        .transactions()
        .list(&ListTransactions::new().limit(10))
        .await?;
    call(
        "GET",
        "/api/v1/transactions?limit=10",
        format!(
            "{} transactions, newest first: {}",
            listed.items.len(),
            listed
                .items
                .iter()
                .map(|t| format!(
                    "{} {} {}",
                    t.kind.as_ref().map(|k| k.as_str()).unwrap_or("?"),
                    t.amount.unwrap_or_default(),
                    status_text(t.status.as_ref())
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let wallet = live.wallet().balance().await?;
    let before = wallet.balance_live;
    call(
        "GET",
        "/api/v1/wallet/balance",
        format!("live {} UGX, test {} UGX", before, wallet.balance_test),
    );

    // 4. Webhooks: verify the raw body with the webhook secret (not the API key), then parse.
    let secret = sandbox.webhook_secret();
    let received = inbox.wait_for(3, Duration::from_secs(5)).await;
    let verifier = webhook::Verifier::new(secret);
    for hook in &received {
        let event = verifier.verify_headers(&hook.headers, &hook.body)?.parse()?;
        println!(
            "<= webhook {:<20} signature verified ({})",
            event.event_type().as_str(),
            webhook::SIGNATURE_HEADER
        );
    }
    if received.len() != 3 {
        return Err(format!("expected 3 webhooks, got {}", received.len()).into());
    }

    // The promise that matters most: a lost response never pays twice.
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/disburse", 1, Fault::DropAfterProcessing);
    let sent_before = sandbox.server().count("POST", "/api/v1/disburse");
    let payout = live
        .mobile_money()
        .disburse(&DisburseRequest::new("256712345678", 10_000, Currency::Ugx))
        .await?;
    let sent = sandbox.server().count("POST", "/api/v1/disburse") - sent_before;
    let payouts = sandbox.transactions_of(TransactionType::Disbursement);
    let after = live.wallet().balance().await?.balance_live;
    println!(
        "!! fault: connection dropped after RohoPay processed disburse -> retried with the same Idempotency-Key ({sent} requests), {} payout created, wallet {before} -> {after} UGX (debited once)",
        payouts - 1
    );
    let debited_once = before - after == payout.transaction.net_amount.unwrap_or_default();
    if sent != 2 || payouts != 2 || !debited_once {
        return Err("a payout was created or debited twice".into());
    }
    Ok(())
}

#[cfg(feature = "sandbox")]
fn status_text(status: Option<&rohopay::TransactionStatus>) -> &str {
    status.map(|s| s.as_str()).unwrap_or("?")
}

/// One transcript line: `-> METHOD /path   <- what came back`.
#[cfg(feature = "sandbox")]
fn call(method: &str, path: &str, what: String) {
    println!("-> {method:<4} {path:<40} <- {what}");
}

/// Fast polling for the offline sandbox.
#[cfg(feature = "sandbox")]
fn fast_poll() -> PollOptions {
    PollOptions::default()
        .interval(Duration::from_millis(25))
        .backoff(1.0)
        .timeout(Duration::from_secs(5))
}
