//! The sandbox re-delivers a webhook the receiver did not answer 2xx, as xRocket does: the same
//! envelope `id` and body on every attempt, each signed with a fresh `Signature-Timestamp`.

use std::time::Duration;

use payout_core::VerifiedDelivery;
use xrocket::sandbox::{Fault, Sandbox, WebhookInbox, WebhookRetry};
use xrocket::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier};
use xrocket::{Asset, CreateTransfer, Decimal};

#[tokio::test]
async fn a_failed_delivery_is_re_sent_with_the_same_id_and_body_and_a_fresh_signature() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.webhook_retry(WebhookRetry::every(Duration::from_millis(25), 4));
    let inbox = WebhookInbox::start().await.unwrap();
    inbox.server().fail_next(2, Fault::Status(503));
    sandbox.set_webhook_url(inbox.url());
    sandbox
        .client()
        .transfers()
        .create(&CreateTransfer::to_telegram_user(
            87209764,
            Asset::Toncoin,
            Decimal::new(15, 1),
        ))
        .await
        .unwrap();
    sandbox.advance().await; // pending -> finished: one `transfer` webhook

    let received = inbox.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 3, "503, 503, then 200");
    let d = sandbox.deliveries().remove(0);
    assert_eq!(d.delivered_on(), Some(3), "{:?}", d.attempts);
    let statuses: Vec<_> = d.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(200)]);

    let verifier = Verifier::new(sandbox.webhook_secret());
    let mut ids = Vec::new();
    for r in &received {
        assert_eq!(r.body, d.body, "byte-identical on every attempt");
        let verified = verifier.verify(&r.headers, &r.body).unwrap();
        ids.push(verified.dedupe_key());
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "one dedupe key: {ids:?}");
    assert!(
        ids[0].starts_with("xrocket:"),
        "the envelope id, not a body hash: {ids:?}"
    );
    let stamps: Vec<_> = received
        .iter()
        .map(|r| r.header(TIMESTAMP_HEADER).unwrap())
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] < w[1]),
        "a fresh timestamp each time: {stamps:?}"
    );
    let sigs: Vec<_> = received
        .iter()
        .map(|r| r.header(SIGNATURE_HEADER).unwrap())
        .collect();
    assert!(sigs.windows(2).all(|w| w[0] != w[1]), "signed afresh: {sigs:?}");
}
