//! Every `ErrorKind` a RohoPay user must handle, each provoked against the offline sandbox
//! (scripted faults, no key, no network), with what to do about it.
//!
//! ```text
//! cargo run -p rohopay --example errors
//! ```

use std::time::Duration;

use rohopay::sandbox::{Fault, Sandbox};
use rohopay::{Client, Currency, DisburseRequest, ErrorCode, ErrorKind, RetryPolicy};

type BoxError = Box<dyn std::error::Error>;

fn show(what: &str, e: &rohopay::Error, todo: &str) {
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
    // Disbursing needs a live key: the sandbox has its own, moving no money.
    let client = sandbox.live_client();
    let payout = || DisburseRequest::new("256712345678", 20_000, Currency::Ugx);
    // For the scripted faults: one attempt per call, so each fault is used up by the call that
    // shows it. Your client keeps the defaults.
    let once = Client::builder()
        .api_key(sandbox.live_key())
        .base_url(sandbox.base_url())
        .retry_policy(RetryPolicy::none())
        .timeout(Duration::from_millis(500))
        .build()?;

    // Config: the client cannot be built (a key of no known shape). Fix the configuration.
    let e = Client::builder()
        .api_key("rp_unknown")
        .build()
        .err()
        .ok_or("built")?;
    assert_eq!(e.kind(), ErrorKind::Config);
    show(
        "key neither live_ nor test_",
        &e,
        "fix the configuration; never retry",
    );

    // InvalidInput: refused before any byte is sent, naming the field.
    let e = client
        .mobile_money()
        .disburse(&DisburseRequest::new("12", 20_000, Currency::Ugx))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    show(
        "phone number too short",
        &e,
        &format!("fix field `{}`; nothing was sent", e.field().unwrap_or("?")),
    );

    // Auth: the key is wrong or revoked.
    let wrong = Client::builder()
        .api_key("live_not_the_key")
        .base_url(sandbox.base_url())
        .build()?;
    let e = wrong.wallet().balance().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    show("wrong API key", &e, "alert an operator; retrying will not help");

    // NotFound: no such transaction.
    let e = client.transactions().get("RHP-2026-NOPE").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    show(
        "unknown transaction",
        &e,
        "the reference is wrong, or it was never created",
    );

    // Provider: a documented refusal, with its code. Nothing was paid.
    sandbox.set_balance_live(0);
    let e = client.mobile_money().disburse(&payout()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientBalance));
    show(
        "wallet empty",
        &e,
        "top the wallet up, then send the same request again",
    );
    sandbox.set_balance_live(1_000_000);

    // RateLimited: a 429 that outlasts the retries (one attempt here).
    sandbox
        .server()
        .fail_next(1, Fault::RateLimited(Duration::from_millis(10)));
    let e = once.wallet().balance().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    show("429", &e, "wait `retry_after()`; see `rohopay::rate_limits`");

    // Transport: the connection failed before an answer to a read.
    sandbox.server().fail_next(1, Fault::DropAfterRead);
    let e = once.wallet().balance().await.unwrap_err();
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
    let e = once.wallet().balance().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    show(
        "answer after the deadline",
        &e,
        "retry later, or raise `.timeout(..)`",
    );

    // Decode: the answer is not what RohoPay documents.
    sandbox.server().fail_next(1, Fault::TruncatedJson);
    let e = once.wallet().balance().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    show("truncated JSON", &e, "report it with `body_snippet()`");

    // A lost answer to a payout. RohoPay deduplicates `Idempotency-Key`, so this is NOT
    // `Ambiguous` here: the error is retryable and carries the key; send the same request value
    // again (the key is in it) and RohoPay answers with the first payout: paid once.
    // (`Ambiguous` stays possible for a call RohoPay cannot deduplicate: treat it as "may have
    // succeeded", keep the key and look the transaction up; never send a new request.)
    let req = payout();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/disburse", 1, Fault::DropAfterProcessing);
    let e = once.mobile_money().disburse(&req).await.unwrap_err();
    assert!(e.is_retryable() && e.idempotency_key().is_some());
    show(
        "payout answer lost",
        &e,
        "send the SAME request again: the key makes it once",
    );
    let paid = client.mobile_money().disburse(&req).await?;
    assert_eq!(Some(&paid.idempotency_key), e.idempotency_key());
    assert_eq!(sandbox.transactions_of(rohopay::TransactionType::Disbursement), 1);
    println!("{:<40} paid once under {}", "", paid.idempotency_key);

    // CircuitOpen only happens with an opt-in `CircuitBreaker`: wait for it to half-open.
    Ok(())
}
