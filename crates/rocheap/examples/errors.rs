//! Every `ErrorKind` a ROCheap user must handle, each provoked against the offline sandbox
//! (scripted faults, no key, no network), with what to do about it.
//!
//! ```text
//! cargo run -p rocheap --example errors
//! ```

use std::time::Duration;

use rocheap::sandbox::{Fault, Sandbox};
use rocheap::{
    Client, CreateOrder, Decimal, ErrorCode, ErrorKind, Keyed, ProviderErrorCode, ReconcilePolicy,
    RetryPolicy,
};

type BoxError = Box<dyn std::error::Error>;

fn show(what: &str, e: &rocheap::Error, todo: &str) {
    println!(
        "{what:<44} kind={:<14} sent={:<5} retryable={:<5} -> {todo}",
        e.kind().to_string(),
        e.was_sent(),
        e.is_retryable()
    );
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let sandbox = Sandbox::start().await?;
    let client = sandbox.client();
    let order = || CreateOrder::new(10, 1, 2, 3);
    // For the scripted faults: one attempt per call and one reconciling lookup, so each fault
    // below is used up by exactly the call that shows it. Your client keeps the defaults.
    let once = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .retry_policy(RetryPolicy::none())
        .reconcile_policy(ReconcilePolicy {
            lookups: 1,
            spacing: Duration::from_millis(10),
        })
        .timeout(Duration::from_millis(500))
        .build()?;

    // Config: the client cannot be built (no key, bad URL). A programming or deployment error.
    let e = Client::builder()
        .build()
        .err()
        .ok_or("a client without a key was built")?;
    assert_eq!(e.kind(), ErrorKind::Config);
    show("no API key", &e, "fix the configuration; never retry");

    // InvalidInput: refused before any byte is sent, naming the field.
    let e = client
        .orders()
        .create(&CreateOrder::new(0, 1, 2, 3))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    show(
        "0 Robux",
        &e,
        &format!("fix field `{}`; nothing was sent", e.field().unwrap_or("?")),
    );

    // Auth: the key is wrong or revoked.
    let wrong = Client::builder()
        .api_key("not-the-key")
        .base_url(sandbox.base_url())
        .build()?;
    let e = wrong.balance().await.unwrap_err();
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

    // Provider: a documented refusal, with its code. Nothing was paid.
    sandbox.set_balance(Decimal::ZERO);
    let e = client.orders().create(&order()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientBalance));
    show(
        "balance too low",
        &e,
        "top the balance up, then send the same request again",
    );
    sandbox.set_balance(Decimal::new(10000, 2));

    // RateLimited: a 429 that outlasts the retries (one attempt here).
    sandbox
        .server()
        .fail_next(1, Fault::RateLimited(Duration::from_millis(10)));
    let e = once.balance().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    show(
        "429 every time",
        &e,
        "wait `retry_after()`, then try again; lower your rate",
    );

    // Transport: the connection failed (here: dropped before an answer to a read).
    sandbox.server().fail_next(1, Fault::DropAfterRead);
    let e = once.balance().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    show(
        "connection dropped (read)",
        &e,
        "retry later; a read is always safe to repeat",
    );

    // Timeout: the provider is slower than the client's deadline.
    sandbox
        .server()
        .fail_next(1, Fault::Delay(Duration::from_secs(1)));
    let e = once.balance().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    show(
        "answer after the deadline",
        &e,
        "retry later, or raise `.timeout(..)`",
    );

    // Decode: the answer is not what ROCheap documents (here: cut-off JSON to a read).
    sandbox.server().fail_next(1, Fault::TruncatedJson);
    let e = once.balance().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    show(
        "truncated JSON",
        &e,
        "report it with `body_snippet()`; for a create, look the order up",
    );

    // Ambiguous: the create may have gone through and no lookup could tell. NEVER send a new
    // order: keep the key, and look it up (`get_by_custom_id`) until the answer is known.
    let req = order();
    sandbox.server().fail_next(2, Fault::DropAfterProcessing); // the create and its one lookup
    let e = once.orders().create(&req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    assert_eq!(e.idempotency_key().map(|k| k.as_str()), Some(req.key()));
    show(
        "dropped after the order was made",
        &e,
        "keep the key; reconcile by lookup, never re-create",
    );
    let found = client.orders().get_by_custom_id(req.key()).await?;
    println!("{:<44} found {} by its key: paid once", "", found.order_id);

    // CircuitOpen only happens with an opt-in `CircuitBreaker`: wait for it to half-open.
    Ok(())
}
