//! RohoPay's documented integration flow, end to end, against the sandbox:
//!
//! 1. start a card checkout and send the cardholder to the one-time `payment_url`;
//! 2. read the return URL the browser lands on (untrusted) and confirm with RohoPay;
//! 3. collect mobile money (when `ROHOPAY_PHONE` is set) and wait for the final status;
//! 4. verify and parse a webhook.
//!
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
    UntrustedCheckoutReturn,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    let reference = session.internal_reference.clone().unwrap_or_default();
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
        let reference = initiated.transaction.internal_reference.unwrap_or_default();
        println!(
            "collection {reference} started (key {})",
            initiated.idempotency_key
        );
        let tx = client
            .transactions()
            .wait_until_final(&reference, Duration::from_secs(5), 24)
            .await?;
        println!("collection {reference}: {:?}", tx.status);
    }

    // 4. Webhooks: verify the raw body with the webhook secret (not the API key), then parse.
    let secret = webhook::secret_from_env()?;
    let body = br#"{"event":"deposit.successful","internal_reference":"RHP-2024-ABC123","status":"successful","amount":50000,"currency":"UGX"}"#;
    // In a real handler these come from the request; here we sign a sample ourselves.
    let headers = [(webhook::SIGNATURE_HEADER, webhook::sign(&secret, body))];
    let event = webhook::verify(&headers, body, [&secret])?.parse()?;
    if event.event == EventType::DepositSuccessful {
        println!(
            "webhook verified: {:?} (dedup on {:?})",
            event.event,
            event.dedup_key()
        );
    }
    Ok(())
}
