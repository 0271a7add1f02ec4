//! RomplHub orders carry no key: through the journal they are recorded before sending, never
//! sent again once they may have left, and recovery only reports them, with the candidates
//! RomplHub's own order list offers. Against the romplhub crate's sandbox.

use payout_core::sandbox::Fault;
use payout_journal::{Candidates, Decision, Error, Journal, State};
use romplhub::{Client, CreateOrder, Order};

fn candidates<'a>(c: &'a Client, r: &'a CreateOrder) -> Candidates<'a, Order> {
    Box::pin(async move { c.orders().find_candidates(r, None).await })
}

fn temp_db(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("payout-journal-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join("journal.db")
}

#[tokio::test]
async fn an_ambiguous_romplhub_order_is_reported_with_candidates_never_resent() {
    let sb = romplhub::sandbox::Sandbox::start().await.unwrap();
    let client = sb.client();
    let j = Journal::open(temp_db("romplhub")).await.unwrap();
    let req = CreateOrder::new("plain@roblox.com", "pw", "robux_88");
    // RomplHub makes the order; the answer is lost.
    sb.server()
        .fail_next_on("POST", "/", 1, Fault::DropAfterProcessing);
    let err = j.pay_unprotected(&client, "topup-7", &req).await.unwrap_err();
    assert!(err.is_unresolved() || err.payout().is_some(), "{err:?}");
    assert_eq!(sb.orders_created(), 1);
    let rec = j.get("topup-7").await.unwrap().unwrap();
    assert_eq!(rec.state, State::Ambiguous);
    assert!(!rec.request.contains("\"pw\""), "the password is never journaled");
    // Asked again: a decision is needed, nothing is sent.
    let again = j.pay_unprotected(&client, "topup-7", &req).await.unwrap_err();
    assert!(matches!(again, Error::NeedsDecision { .. }), "{again:?}");
    let report = j
        .recover_unprotected_with::<_, CreateOrder, _>(&client, candidates)
        .await
        .unwrap();
    assert_eq!(report.needs_decision.len(), 1, "{report:?}");
    assert!(!report.needs_decision[0].candidates.is_empty(), "{report:?}");
    assert_eq!(sb.orders_created(), 1, "never sent again");
    j.decide(
        "topup-7",
        Decision::Happened(report.needs_decision[0].candidates[0].clone()),
    )
    .await
    .unwrap();
    let order = j.pay_unprotected(&client, "topup-7", &req).await.unwrap();
    assert_eq!(sb.orders_created(), 1);
    assert_eq!(j.get("topup-7").await.unwrap().unwrap().state, State::Settled);
    let _ = order;
}

#[tokio::test]
async fn a_fine_romplhub_order_settles_once() {
    let sb = romplhub::sandbox::Sandbox::start().await.unwrap();
    let client = sb.client();
    let j = Journal::open(temp_db("romplhub-ok")).await.unwrap();
    let req = CreateOrder::new("plain@roblox.com", "pw", "robux_88");
    let a = j.pay_unprotected(&client, "topup-8", &req).await.unwrap();
    let b = j.pay_unprotected(&client, "topup-8", &req).await.unwrap();
    assert_eq!(a.order_uid, b.order_uid);
    assert_eq!(sb.orders_created(), 1);
}
