//! Every `ErrorKind` a Plexy Gate (agent catalog) user must handle, each provoked against the
//! offline sandbox (scripted faults, no key, no network), with what to do about it.
//!
//! ```text
//! cargo run -p agent-catalog --example errors
//! ```

use std::time::Duration;

use agent_catalog::sandbox::{AMAZON_DE_10, Fault, GOOGLE_PLAY_25, Sandbox};
use agent_catalog::{Client, CreateOrder, ErrorCode, ErrorKind, Keyed, ReconcilePolicy, RetryPolicy};

type BoxError = Box<dyn std::error::Error>;

fn show(what: &str, e: &agent_catalog::Error, todo: &str) {
    println!(
        "{what:<40} kind={:<14} sent={:<5} retryable={:<5} -> {todo}",
        e.kind().to_string(),
        e.was_sent(),
        e.is_retryable()
    );
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sandbox = Sandbox::start().await?;
    let client = sandbox.client();
    // For the scripted faults: one attempt per call and one reconciling lookup, so each fault
    // is used up by the call that shows it. Your client keeps the defaults.
    let once = Client::builder()
        .api_key(sandbox.api_key())
        .agent_id(sandbox.agent_id())
        .base_url(sandbox.base_url())
        .retry_policy(RetryPolicy::none())
        .reconcile_policy(ReconcilePolicy {
            lookups: 1,
            spacing: Duration::from_millis(10),
        })
        .timeout(Duration::from_millis(500))
        .build()?;

    // Config: the client cannot be built (no agent id). Fix the configuration; never retry.
    let e = Client::builder()
        .api_key(sandbox.api_key())
        .build()
        .err()
        .ok_or("built")?;
    assert_eq!(e.kind(), ErrorKind::Config);
    show("no agent id", &e, "fix the configuration; never retry");

    // InvalidInput: refused before any byte is sent, naming the field.
    let e = CreateOrder::with_key(GOOGLE_PLAY_25, "")
        .err()
        .ok_or("an empty key was accepted")?;
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    show(
        "empty idempotency key",
        &e,
        &format!("fix field `{}`; nothing was sent", e.field().unwrap_or("?")),
    );

    // Auth: the key is wrong or revoked.
    let wrong = Client::builder()
        .api_key("not-the-key")
        .agent_id(sandbox.agent_id())
        .base_url(sandbox.base_url())
        .build()?;
    let e = wrong.balance().get().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    show("wrong API key", &e, "alert an operator; retrying will not help");

    // NotFound: no such order.
    let e = client.orders().get("no-such-order").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    show(
        "unknown order id",
        &e,
        "the id is wrong, or the order was never created",
    );

    // Provider: a documented refusal, with its code. Nothing was bought.
    let eur = sandbox.balance("EUR");
    sandbox.set_balance("EUR", agent_catalog::Decimal::ZERO);
    let big = CreateOrder::with_key(AMAZON_DE_10, "errors-example-big")?.quantity(4);
    let e = client.orders().create(&big).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientBalance));
    show(
        "balance too low",
        &e,
        "fund the account, then send the same request (same key)",
    );
    sandbox.set_balance("EUR", eur);

    // RateLimited: a 429 that outlasts the retries (one attempt here).
    sandbox
        .server()
        .fail_next(1, Fault::RateLimited(Duration::from_millis(10)));
    let e = once.balance().get().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    show("429", &e, "wait `retry_after()`, then try again");

    // Transport: the connection failed before an answer to a read.
    sandbox.server().fail_next(1, Fault::DropAfterRead);
    let e = once.balance().get().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    show(
        "connection dropped (read)",
        &e,
        "retry later; a read is always safe to repeat",
    );

    // Timeout: slower than the client's deadline.
    sandbox
        .server()
        .fail_next(1, Fault::Delay(Duration::from_secs(1)));
    let e = once.balance().get().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    show(
        "answer after the deadline",
        &e,
        "retry later, or raise `.timeout(..)`",
    );

    // Decode: the answer is not what Plexy Gate documents.
    sandbox.server().fail_next(1, Fault::TruncatedJson);
    let e = once.balance().get().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    show("truncated JSON", &e, "report it with `body_snippet()`");

    // Ambiguous: a lost answer to an order, and its lookup lost too: the outcome is unknown.
    // Never build a new order: Plexy Gate deduplicates `Idempotency-Key`, so the same request
    // value (same key) sent again returns the first order, or makes it once.
    let req = CreateOrder::new(GOOGLE_PLAY_25);
    sandbox.server().fail_next(2, Fault::DropAfterProcessing);
    let e = once.orders().create(&req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    show(
        "order answer and lookup lost",
        &e,
        "keep the key; send the SAME request again",
    );
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some(req.key()));
    let order = client.orders().create(&req).await?;
    assert_eq!(sandbox.orders_created(), 1);
    println!("{:<40} same key again: order {} made once", "", order.id);

    // CircuitOpen only happens with an opt-in `CircuitBreaker`: wait for it to half-open.
    Ok(())
}
