//! Every `ErrorKind` a RomplHub user must handle, each provoked against the offline sandbox
//! (scripted faults, no key, no network), with what to do about it.
//!
//! ```text
//! cargo run -p romplhub --example errors
//! ```

use std::time::Duration;

use romplhub::sandbox::{Fault, Sandbox};
use romplhub::{Client, CreateOrder, ErrorCode, ErrorKind, RetryPolicy};

type BoxError = Box<dyn std::error::Error>;

fn show(what: &str, e: &romplhub::Error, todo: &str) {
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
    let order = || CreateOrder::new("user@roblox.com", "account-password", "robux_88");
    // For the scripted faults: one attempt per call, so each fault is used up by the call that
    // shows it. Your client keeps the defaults.
    let once = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .retry_policy(RetryPolicy::none())
        .timeout(Duration::from_millis(500))
        .build()?;

    // Config: the client cannot be built (here a base URL that is not a URL). A programming or
    // deployment error. (A client with no key builds: it can only log in or register.)
    let e = Client::builder()
        .api_key("vx_key")
        .base_url("not a url")
        .build()
        .err()
        .ok_or("built")?;
    assert_eq!(e.kind(), ErrorKind::Config);
    show("bad base URL", &e, "fix the configuration; never retry");

    // InvalidInput: refused before any byte is sent, naming the field.
    let e = client
        .orders()
        .create(&CreateOrder::new("", "pw", "robux_88"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    show(
        "empty login",
        &e,
        &format!("fix field `{}`; nothing was sent", e.field().unwrap_or("?")),
    );

    // Auth: the key is wrong or revoked.
    let wrong = Client::builder()
        .api_key("vx_not_the_key")
        .base_url(sandbox.base_url())
        .build()?;
    let e = wrong.balance().get().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    show("wrong API key", &e, "alert an operator; retrying will not help");

    // NotFound: no such order.
    let e = client.orders().get("VX-NOPE").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    show(
        "unknown order uid",
        &e,
        "the uid is wrong, or the order was never created",
    );

    // Provider: a documented refusal, with its code. Nothing was spent.
    sandbox.set_tokens(0);
    let e = client.orders().create(&order()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::InsufficientTokens));
    show(
        "no tokens left",
        &e,
        "top up (`balance().top_up(..)`), then order again",
    );
    sandbox.set_tokens(485);

    // RateLimited: a 429 that outlasts the retries (one attempt here). RomplHub allows 60/min.
    sandbox
        .server()
        .fail_next(1, Fault::RateLimited(Duration::from_millis(10)));
    let e = once.balance().get().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    show("429", &e, "wait `retry_after()`; use `romplhub::rate_limiter()`");

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

    // Decode: the answer is not what RomplHub documents.
    sandbox.server().fail_next(1, Fault::TruncatedJson);
    let e = once.balance().get().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    show("truncated JSON", &e, "report it with `body_snippet()`");

    // Ambiguous: the order may exist. RomplHub has no idempotency key: NEVER order again
    // blindly; look for it with `find_candidates` first.
    let req = order();
    sandbox
        .server()
        .fail_next_on("POST", "/api/v1/orders", 1, Fault::DropAfterProcessing);
    let e = client.orders().create(&req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    show(
        "dropped after the order was made",
        &e,
        "find_candidates(&req, since), never re-order",
    );
    let candidates = client.orders().find_candidates(&req, None).await?;
    println!(
        "{:<40} {} candidate(s) found: check them before ordering again",
        "",
        candidates.len()
    );

    // CircuitOpen only happens with an opt-in `CircuitBreaker`: wait for it to half-open.
    Ok(())
}
