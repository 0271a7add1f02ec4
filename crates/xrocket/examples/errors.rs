//! Every `ErrorKind` an xRocket Pay user must handle, each provoked against the offline sandbox
//! (scripted faults, no key, no network), with what to do about it.
//!
//! ```text
//! cargo run -p xrocket-pay --example errors
//! ```

use std::time::Duration;

use xrocket::sandbox::{Fault, Sandbox};
use xrocket::{
    Asset, Client, CreateTransfer, Decimal, ErrorCode, ErrorKind, Keyed, ReconcilePolicy, RetryPolicy,
};

type BoxError = Box<dyn std::error::Error>;

fn show(what: &str, e: &xrocket::Error, todo: &str) {
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
    let transfer = |id: &str| {
        CreateTransfer::to_telegram_user(87209764, Asset::Toncoin, Decimal::new(123, 2))
            .client_transfer_id(id)
    };
    // For the scripted faults: one attempt per call and one reconciling lookup, so each fault
    // is used up by the call that shows it. Your client keeps the defaults.
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

    // Config: the client cannot be built (a base URL that is not a URL). Never retry.
    let e = Client::builder()
        .api_key("key")
        .base_url("not a url")
        .build()
        .err()
        .ok_or("built")?;
    assert_eq!(e.kind(), ErrorKind::Config);
    show("bad base URL", &e, "fix the configuration; never retry");

    // InvalidInput: refused before any byte is sent, naming the field.
    let e = client.transfers().create(&transfer("")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    show(
        "empty transfer id",
        &e,
        &format!("fix field `{}`; nothing was sent", e.field().unwrap_or("?")),
    );

    // Auth: the key is wrong or revoked.
    let wrong = Client::builder()
        .api_key("not-the-key")
        .base_url(sandbox.base_url())
        .build()?;
    let e = wrong.app().info().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    show("wrong API key", &e, "alert an operator; retrying will not help");

    // NotFound: no such invoice.
    let e = client.invoices().get("999999999").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    show(
        "unknown invoice id",
        &e,
        "the id is wrong, or it was never created",
    );

    // Provider: a documented refusal, with its code. Nothing was paid.
    sandbox.set_balance("TONCOIN", Decimal::ZERO);
    let e = client
        .transfers()
        .create(&transfer("errors-example-poor"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Provider);
    assert_eq!(ErrorCode::of(&e), Some(ErrorCode::AmountMoreThanAppBalance));
    show(
        "balance too low",
        &e,
        "top up, then send the same request (same id)",
    );
    sandbox.set_balance("TONCOIN", Decimal::new(100, 0));

    // RateLimited: a 429 that outlasts the retries (one attempt here).
    sandbox
        .server()
        .fail_next(1, Fault::RateLimited(Duration::from_millis(10)));
    let e = once.app().info().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    show("429", &e, "wait `retry_after()`, then try again");

    // Transport: the connection failed before an answer to a read.
    sandbox.server().fail_next(1, Fault::DropAfterRead);
    let e = once.app().info().await.unwrap_err();
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
    let e = once.app().info().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    show(
        "answer after the deadline",
        &e,
        "retry later, or raise `.timeout(..)`",
    );

    // Decode: the answer is not what xRocket Pay documents.
    sandbox.server().fail_next(1, Fault::TruncatedJson);
    let e = once.app().info().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    show("truncated JSON", &e, "report it with `body_snippet()`");

    // Ambiguous: the transfer's answer and its lookup were lost; the outcome is unknown. Never
    // build a new transfer: the same request value (same client transfer id) is paid once.
    let req = transfer("errors-example-1");
    sandbox.server().fail_next(2, Fault::DropAfterProcessing);
    let e = once.transfers().create(&req).await.unwrap_err();
    show(
        "transfer answer and lookup lost",
        &e,
        "keep the id; look it up or send the SAME request",
    );
    assert_eq!(e.kind(), ErrorKind::Ambiguous);
    let t = client.transfers().by_client_id(req.key()).await?;
    println!("{:<40} found transfer {} by its id: paid once", "", t.transfer_id);

    // CircuitOpen only happens with an opt-in `CircuitBreaker`: wait for it to half-open.
    Ok(())
}
