//! The secret-leak test: card number, expiry, CVV and API key never reach TRACE-level logs,
//! a `Debug`, an error's `Display`/`Debug`/message/snippet, across the checkout flows
//! (success, validation failures, provider errors echoing the card, 5xx, dropped
//! connections) and the key-bearing mobile-money calls.

use httpmock::prelude::*;
use payout_core::test_util::{DropMode, DropServer, LogCapture, assert_no_secret};
use rohopay::{
    Card, CheckoutRequest, Client, CollectRequest, Currency, DisburseRequest, Error, ListTransactions,
    UntrustedCheckoutReturn,
};
use serde_json::json;

use crate::common::*;

/// Distinct values, so a match cannot be a coincidence.
const CARD: &str = "5425233430109903";
const EXPIRY: &str = "08/29";
const CVV: &str = "947";

fn checkout() -> CheckoutRequest {
    CheckoutRequest::new(
        120_000,
        Currency::Ugx,
        "Jane Mukasa",
        "jane@example.com",
        "https://your-app.com/checkout/return",
        Card::new(CARD, EXPIRY, CVV),
    )
}

fn secrets() -> Vec<(&'static str, &'static str)> {
    vec![
        ("card number", CARD),
        ("card number, grouped", "5425 2334 3010 9903"),
        ("card expiry", EXPIRY),
        ("API key", LIVE_KEY),
        ("API key body", &LIVE_KEY[5..]),
    ]
}

/// A 3-digit CVV can occur by chance in timestamps, ports and latencies, so in free text
/// it is searched in the forms it would take if a body or field leaked.
fn cvv_forms() -> Vec<(&'static str, String)> {
    vec![
        ("CVV as a JSON value", format!("\"{CVV}\"")),
        ("CVV as a field", format!("cvv\":\"{CVV}")),
        ("CVV in a message", format!("cvv {CVV}")),
    ]
}

fn assert_clean(text: &str, what: &str) {
    assert_no_secret(text, &secrets(), what);
    let cvv = cvv_forms();
    let cvv: Vec<(&str, &str)> = cvv.iter().map(|(l, v)| (*l, v.as_str())).collect();
    assert_no_secret(text, &cvv, what);
}

fn show(e: &Error) -> String {
    format!(
        "{e} | {e:?} | {} | {:?} | {:?}",
        e.message(),
        e.body_snippet(),
        e.request_id()
    )
}

/// The field forms RohoPay's validation could echo: `"cvv":"947"`, `"card_cvv": "947"`,
/// `cvv=947`, in an error body kept as a snippet, in a message and in a 200's message.
async fn echo_field_forms(shown: &mut String) {
    for body in [
        format!(
            r#"{{"success":false,"error":{{"code":"VALIDATION_ERROR","message":"{{\"cvv\":\"{CVV}\",\"card_cvv\": \"{CVV}\"}}"}}}}"#
        ),
        format!(
            r#"{{"success":false,"errors":{{"cvv":"{CVV}","card_cvv": "{CVV}","card_expiry":"{EXPIRY}","card_number":"{CARD}"}}}}"#
        ),
        format!("card_cvv={CVV}&card_expiry={EXPIRY}&card_number={CARD}"),
    ] {
        for status in [400u16, 200] {
            let server = MockServer::start_async().await;
            let b = body.clone();
            server
                .mock_async(|when, then| {
                    when.method(POST).path("/api/v1/checkout");
                    then.status(status)
                        .header("content-type", "application/json")
                        .body(b);
                })
                .await;
            let err = client(&server).checkout().create(&checkout()).await.unwrap_err();
            shown.push_str(&show(&err));
            shown.push_str(err.body_snippet().unwrap_or_default());
            shown.push_str(err.message());
        }
    }
}

fn assert_no_field_forms(text: &str, what: &str) {
    let forms = [
        ("CVV as a JSON field", format!(r#""cvv":"{CVV}""#)),
        ("CVV as a spaced JSON field", format!(r#""card_cvv": "{CVV}""#)),
        ("CVV as an escaped JSON field", format!(r#"\"cvv\":\"{CVV}\""#)),
        ("CVV as a form field", format!("card_cvv={CVV}")),
        ("expiry as a form field", format!("card_expiry={EXPIRY}")),
    ];
    let forms: Vec<(&str, &str)> = forms.iter().map(|(l, v)| (*l, v.as_str())).collect();
    assert_no_secret(text, &forms, what);
}

#[tokio::test]
async fn no_card_data_or_key_in_logs_debug_or_errors() {
    let capture = LogCapture::start();
    let mut shown = String::new();

    // Success.
    let server = MockServer::start_async().await;
    let ok = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/checkout")
                .json_body_includes(format!(r#"{{"card_number": "{CARD}", "card_cvv": "{CVV}"}}"#));
            then.status(200).json_body(excerpt_checkout_response());
        })
        .await;
    let c = client(&server);
    let session = c.checkout().create(&checkout()).await.unwrap();
    ok.assert_calls_async(1).await;
    shown.push_str(&format!("{session:?} {c:?} {:?}", checkout()));

    // A provider that echoes the card, the CVV and the key in its error.
    let echo = MockServer::start_async().await;
    echo.mock_async(|when, then| {
        when.method(POST).path("/api/v1/checkout");
        then.status(400).json_body(json!({
            "success": false,
            "error": {
                "code": "VALIDATION_ERROR",
                "message": format!("Invalid card {CARD} exp {EXPIRY} cvv {CVV} for key {LIVE_KEY}"),
                "reference": format!("RHP-{CVV}-{EXPIRY}")
            }
        }));
    })
    .await;
    let err = client(&echo).checkout().create(&checkout()).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    shown.push_str(&show(&err));

    // The same echo, in a 200 with success: false, and in an HTML page.
    let echo200 = MockServer::start_async().await;
    echo200
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/checkout");
            then.status(200).json_body(json!({
                "success": false,
                "message": format!("card {CARD} cvv {CVV} exp {EXPIRY} key {LIVE_KEY}")
            }));
        })
        .await;
    let err = client(&echo200).checkout().create(&checkout()).await.unwrap_err();
    shown.push_str(&show(&err));
    let html = MockServer::start_async().await;
    html.mock_async(|when, then| {
        when.method(POST).path("/api/v1/checkout");
        then.status(422).header("content-type", "text/html").body(format!(
            "<html>rejected {CARD} cvv {CVV} exp {EXPIRY} key {LIVE_KEY}</html>"
        ));
    })
    .await;
    let err = client(&html).checkout().create(&checkout()).await.unwrap_err();
    assert!(err.body_snippet().is_some());
    shown.push_str(&show(&err));

    // An undecodable 200 that quotes the card.
    let bad200 = MockServer::start_async().await;
    bad200
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/checkout");
            then.status(200).body(format!(
                r#"{{"success":true,"data":{{"card":"{CARD}","cvv":"{CVV}","exp":"{EXPIRY}""#
            ));
        })
        .await;
    let err = client(&bad200).checkout().create(&checkout()).await.unwrap_err();
    shown.push_str(&show(&err));

    // 503 PROVIDER_LINE_DOWN and a dropped connection: ambiguous errors.
    let down = MockServer::start_async().await;
    down.mock_async(|when, then| {
        when.method(POST).path("/api/v1/checkout");
        then.status(503)
            .json_body(error_body("PROVIDER_LINE_DOWN", "Payment provider unavailable"));
    })
    .await;
    let err = client(&down).checkout().create(&checkout()).await.unwrap_err();
    shown.push_str(&show(&err));
    let drop = DropServer::start(DropMode::TruncatedResponse);
    let err = client_for(&drop.base_url(), LIVE_KEY)
        .checkout()
        .create(&checkout())
        .await
        .unwrap_err();
    shown.push_str(&show(&err));

    // The field forms, while the log capture runs.
    echo_field_forms(&mut shown).await;

    // Validation failures of each card field.
    for card in [
        Card::new("5425233430109904", EXPIRY, CVV),
        Card::new(CARD, "08/19", CVV),
        Card::new(CARD, EXPIRY, "9470"),
    ] {
        let req = CheckoutRequest::new(
            1,
            Currency::Ugx,
            "J",
            "j@example.com",
            "https://x.example/r",
            card.clone(),
        );
        let err = c.checkout().create(&req).await.unwrap_err();
        shown.push_str(&show(&err));
        shown.push_str(&format!("{card:?} {req:?}"));
    }

    // The key-bearing calls and every request type's Debug.
    let mm = MockServer::start_async().await;
    mm.mock_async(|when, then| {
        when.method(POST);
        then.status(401)
            .json_body(error_body("UNAUTHORIZED", &format!("bad key {LIVE_KEY}")));
    })
    .await;
    let mc = client(&mm);
    let collect = CollectRequest::new("256712345678", 50_000, Currency::Ugx);
    let disburse = DisburseRequest::new("256712345678", 50_000, Currency::Ugx);
    shown.push_str(&show(&mc.mobile_money().collect(&collect).await.unwrap_err()));
    shown.push_str(&show(&mc.mobile_money().disburse(&disburse).await.unwrap_err()));
    let builder = Client::builder()
        .api_key(LIVE_KEY)
        .proxy(format!("http://u:{LIVE_KEY}@127.0.0.1:9"));
    shown.push_str(&format!(
        "{collect:?} {disburse:?} {:?} {:?} {builder:?} {mc:?}",
        ListTransactions::new(),
        UntrustedCheckoutReturn::parse("?status=success"),
    ));
    let mismatch = Client::builder()
        .api_key(LIVE_KEY)
        .environment(rohopay::Environment::Sandbox)
        .build()
        .unwrap_err();
    shown.push_str(&show(&mismatch));

    // The bare CVV is safe to search in Debug output of the request types, and in their
    // serialized form (what a journal stores): the card is masked there too.
    assert!(!format!("{:?} {:?}", checkout(), Card::new(CARD, EXPIRY, CVV)).contains(CVV));
    let stored = serde_json::to_string(&checkout()).unwrap();
    assert!(
        !stored.contains(CVV) && !stored.contains(CARD) && !stored.contains(EXPIRY),
        "{stored}"
    );
    shown.push_str(&stored);
    assert_clean(&shown, "Debug, Display and error output");
    let logs = capture.contents();
    assert!(logs.contains("attempt finished"), "the capture saw nothing");
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "not capturing at low levels"
    );
    assert_clean(&logs, "TRACE logs");
    assert_no_field_forms(&shown, "Debug, Display and error output");
    assert_no_field_forms(&logs, "TRACE logs");
}

/// Echoes in forms the plain scrub misses: the expiry JSON-escaped (`08\/29`, what PHP's
/// `json_encode` writes) in a body kept as a snippet, and card data inside the error code.
#[tokio::test]
async fn escaped_expiry_and_card_data_in_the_code_are_scrubbed() {
    let mut shown = String::new();
    let escaped = MockServer::start_async().await;
    escaped
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/checkout");
            then.status(400)
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"success":false,"errors":{{"card_expiry":"{}","card_cvv":"{CVV}"}}}}"#,
                    EXPIRY.replace('/', "\\/")
                ));
        })
        .await;
    let err = client(&escaped).checkout().create(&checkout()).await.unwrap_err();
    // Raw, not through `Debug` (which would double the backslash and hide the match).
    shown.push_str(err.body_snippet().unwrap());
    shown.push_str(&show(&err));

    let coded = MockServer::start_async().await;
    coded
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/checkout");
            then.status(400).json_body(json!({
                "success": false,
                "error": {"code": format!("BAD_CARD_{CARD}_{CVV}_{EXPIRY}"), "message": "bad card"}
            }));
        })
        .await;
    let err = client(&coded).checkout().create(&checkout()).await.unwrap_err();
    shown.push_str(&show(&err));
    shown.push_str(&format!(" {:?}", err.provider_code()));
    let coded200 = MockServer::start_async().await;
    coded200
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/checkout");
            then.status(200).json_body(json!({
                "success": false,
                "error": {"code": format!("BAD_CARD_{CARD}_{CVV}_{EXPIRY}_{LIVE_KEY}"), "message": "bad card"}
            }));
        })
        .await;
    let err = client(&coded200)
        .checkout()
        .create(&checkout())
        .await
        .unwrap_err();
    shown.push_str(&show(&err));
    shown.push_str(&format!(" {:?}", err.provider_code()));

    echo_field_forms(&mut shown).await;

    assert_no_secret(&shown, &[("card expiry, JSON-escaped", "08\\/29")], "errors");
    assert_no_field_forms(&shown, "errors");
    assert_clean(&shown, "errors");
    assert!(!shown.contains(&format!("_{CVV}_")), "{shown}");
}

/// The transport masks a request's secrets before it truncates a kept body to 240
/// characters, so a CVV or expiry that the cut would split in half is masked whole.
#[tokio::test]
async fn card_data_cut_by_the_snippet_truncation_is_masked() {
    for (secret, label) in [(CVV, "CVV"), (EXPIRY, "expiry")] {
        let server = MockServer::start_async().await;
        // 238 characters, then the secret: the 240-character snippet would end inside it.
        let body = format!("{} {secret} and more text after it", "a".repeat(237));
        server
            .mock_async(|when, then| {
                when.method(POST).path("/api/v1/checkout");
                then.status(400).header("content-type", "text/plain").body(body);
            })
            .await;
        let err = client(&server).checkout().create(&checkout()).await.unwrap_err();
        let snippet = err.body_snippet().unwrap();
        assert!(snippet.ends_with('…'), "{snippet}");
        assert!(
            !snippet.contains(&format!(" {}", &secret[..2])),
            "{label}: the first two characters survived the cut: {snippet}"
        );
        assert!(
            snippet.ends_with(" [R…"),
            "{label}: masked whole, then cut: {snippet}"
        );
        assert!(snippet.starts_with("aaaa"), "{snippet}");
    }
}
