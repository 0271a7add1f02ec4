//! Webhook verification (the reference's test vector, the one documented signature form and
//! everything else refused, key rotation, tampering) and parsing of both payload shapes.

use std::collections::HashMap;
use std::time::SystemTime;

use payout_core::WebhookVerifier;
use payout_core::reqwest::header::HeaderMap;
use rohopay::webhook::{self, EventType, PayloadShape, Verifier, WebhookError, WebhookEvent};
use rohopay::{Currency, Decimal, TransactionStatus, TransactionType};

use crate::common::LIVE_KEY;

/// The reference's test vector.
const BODY: &[u8] = br#"{"event":"deposit.successful","internal_reference":"RHP-2024-ABC123","status":"successful","amount":50000,"currency":"UGX"}"#;
const SECRET: &str = "test_webhook_secret";
const SIGNATURE: &str = "sha256=2d2740d65b86820b9f6d8efb394c040fba23ba10de280dbc3fad4cc238529abe";
const SIGNATURE_B64: &str = "LSdA1luGggufbY77OUwED7ojuhDeKA28P61MwjhSmr4=";

fn headers(sig: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-rohopay-signature", sig.parse().unwrap());
    h
}

fn known(event: WebhookEvent) -> webhook::TransactionEvent {
    match event {
        WebhookEvent::Transaction(t) => t,
        other => panic!("expected a transaction event, got {other:?}"),
    }
}

#[test]
fn reference_test_vector_verifies_and_parses() {
    let verified = Verifier::new(SECRET).verify(&headers(SIGNATURE), BODY).unwrap();
    assert_eq!(verified.body(), BODY);
    let event = verified.parse().unwrap();
    assert_eq!(event.event_type(), EventType::DepositSuccessful);
    assert_eq!(
        event.dedup_key().as_deref(),
        Some("RHP-2024-ABC123:deposit.successful")
    );
    let event = known(event);
    assert_eq!(event.shape, PayloadShape::Flat);
    let tx = &event.transaction;
    assert_eq!(tx.internal_reference.as_str(), "RHP-2024-ABC123");
    assert_eq!(tx.status, Some(TransactionStatus::Successful));
    assert_eq!(tx.amount, Some(Decimal::from(50_000)));
    assert_eq!(tx.currency, Some(Currency::Ugx));
    let signed = webhook::sign(SECRET, BODY, SystemTime::now());
    assert_eq!(signed.get("x-rohopay-signature").unwrap(), SIGNATURE);
    assert_eq!(signed.get("content-type").unwrap(), "application/json");
}

/// The shared trait runs the same verification (a receiver written once for every provider).
#[test]
fn verifier_implements_the_shared_trait() {
    fn through<V: WebhookVerifier>(v: &V, h: &HeaderMap, body: &[u8]) -> bool {
        v.verify(h, body).is_ok()
    }
    assert!(through(&Verifier::new(SECRET), &headers(SIGNATURE), BODY));
    assert!(!through(&Verifier::new("other"), &headers(SIGNATURE), BODY));
}

#[test]
fn header_name_is_case_insensitive_across_header_types() {
    let v = Verifier::new(SECRET);
    let pairs = vec![("X-RohoPay-Signature".to_string(), SIGNATURE.to_string())];
    assert!(v.verify_headers(&pairs, BODY).is_ok());
    let mut map = HashMap::new();
    map.insert("X-ROHOPAY-SIGNATURE".to_string(), SIGNATURE);
    assert!(v.verify_headers(&map, BODY).is_ok());
    let mut hm = HeaderMap::new();
    hm.insert("X-RohoPay-Signature", SIGNATURE.parse().unwrap());
    assert!(v.verify(&hm, BODY).is_ok());
}

/// Strict: only `sha256=` + 64 lowercase hex verifies. Every other spelling of the same valid
/// MAC (uppercase, no prefix, another prefix, padding, base64, the SDK's `t=,v=` form) is a
/// malformed header, never a match.
#[test]
fn only_the_documented_signature_form_verifies() {
    let v = Verifier::new(SECRET);
    let hex = SIGNATURE.trim_start_matches("sha256=");
    for sig in [
        hex.to_string(),
        format!("sha256={}", hex.to_ascii_uppercase()),
        format!("SHA256={hex}"),
        format!("Sha256={hex}"),
        format!("sha-256={hex}"),
        format!("sha1={hex}"),
        format!("sha256= {hex}"),
        format!(" {SIGNATURE}"),
        format!("{SIGNATURE} "),
        format!("{SIGNATURE}00"),
        format!("sha256={SIGNATURE_B64}"),
        SIGNATURE_B64.to_string(),
        format!("t=1700000000,v={hex}"),
        format!("t=1700000000,v={SIGNATURE}"),
    ] {
        let h = match sig.parse() {
            Ok(value) => {
                let mut h = HeaderMap::new();
                h.insert("x-rohopay-signature", value);
                h
            }
            // A header value the HTTP stack itself refuses never reaches us.
            Err(_) => continue,
        };
        let err = v.verify(&h, BODY).unwrap_err();
        assert!(
            matches!(err, WebhookError::MalformedHeader { .. }),
            "{sig:?}: {err}"
        );
        let pairs = [("x-rohopay-signature", sig.as_str())];
        let err = v.verify_headers(&pairs, BODY).unwrap_err();
        assert!(
            matches!(err, WebhookError::MalformedHeader { .. }),
            "{sig:?}: {err}"
        );
    }
    // Surrounding spaces never survive a HeaderMap, but do survive other header types.
    let padded = [("x-rohopay-signature", format!("  {SIGNATURE}"))];
    assert!(matches!(
        v.verify_headers(&padded, BODY).unwrap_err(),
        WebhookError::MalformedHeader { .. }
    ));
}

#[test]
fn several_secrets_verify_during_rotation() {
    let h = headers(SIGNATURE);
    assert!(
        Verifier::new("old_webhook_secret")
            .secret(SECRET)
            .verify(&h, BODY)
            .is_ok()
    );
    assert!(
        Verifier::new(SECRET)
            .secret("old_webhook_secret")
            .verify(&h, BODY)
            .is_ok()
    );
    let err = Verifier::new("old_webhook_secret").verify(&h, BODY).unwrap_err();
    assert!(matches!(err, WebhookError::SignatureMismatch { .. }));
}

#[test]
fn tampered_body_and_wrong_secret_are_refused() {
    let v = Verifier::new(SECRET);
    let h = headers(SIGNATURE);
    let tampered = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace("50000", "500000");
    let err = v.verify(&h, tampered.as_bytes()).unwrap_err();
    assert!(matches!(err, WebhookError::SignatureMismatch { .. }));
    // Re-serialized JSON (spaces) is not the raw body.
    let reserialized =
        serde_json::to_string_pretty(&serde_json::from_slice::<serde_json::Value>(BODY).unwrap()).unwrap();
    assert!(v.verify(&h, reserialized.as_bytes()).is_err());
    // Signing with the API key instead of the webhook secret is the classic mistake: the
    // error says which secret to use.
    let err = Verifier::new(LIVE_KEY).verify(&h, BODY).unwrap_err();
    assert!(err.to_string().contains("webhook secret"), "{err}");
    assert!(err.to_string().contains("raw request body"), "{err}");
    assert!(!err.to_string().contains(LIVE_KEY));
    assert!(!format!("{:?}", Verifier::new(LIVE_KEY)).contains(LIVE_KEY));
}

#[test]
fn missing_and_malformed_headers() {
    let v = Verifier::new(SECRET);
    assert_eq!(
        v.verify(&HeaderMap::new(), BODY).unwrap_err(),
        WebhookError::MissingHeader("x-rohopay-signature")
    );
    for bad in ["sha256=zz", "sha256=abcd", "", "t=1,v=", "md5=2d27"] {
        let pairs = [("x-rohopay-signature", bad)];
        let err = v.verify_headers(&pairs, BODY).unwrap_err();
        assert!(
            matches!(err, WebhookError::MalformedHeader { .. }),
            "{bad}: {err}"
        );
    }
}

fn verified_parse(body: &str) -> Result<WebhookEvent, WebhookError> {
    let h = webhook::sign(SECRET, body.as_bytes(), SystemTime::now());
    Verifier::new(SECRET).verify(&h, body.as_bytes())?.parse()
}

#[test]
fn envelope_shape_parses() {
    let event = verified_parse(
        r#"{"id":"evt_01","created_at":"2024-07-01T10:02:00Z","type":"withdraw.successful",
            "data":{"internal_reference":"RHP-2024-DSB001","type":"disbursement","status":"successful","amount":25000,"currency":"UGX"}}"#,
    )
    .unwrap();
    assert_eq!(event.dedup_key().as_deref(), Some("evt_01"));
    let event = known(event);
    assert_eq!(event.event, EventType::WithdrawSuccessful);
    assert_eq!(event.shape, PayloadShape::Envelope);
    assert_eq!(event.id.as_deref(), Some("evt_01"));
    let created = event.created_at.as_ref().unwrap();
    assert_eq!(created.as_str(), "2024-07-01T10:02:00Z");
    // 2024-07-01T10:02:00Z = 1719828000 (10:00:00Z) + 120
    assert_eq!(created.unix_seconds(), Some(1_719_828_120));
    assert_eq!(event.transaction.kind, Some(TransactionType::Disbursement));
    assert!(event.transaction.is_successful());
}

/// An envelope `created_at` that is not RFC 3339 (or is a number) is kept as sent; the
/// delivery still parses.
#[test]
fn envelope_with_an_unparsable_or_numeric_created_at_still_parses() {
    for (created, kept) in [
        (r#""01/07/2024 10:02""#, "01/07/2024 10:02"),
        ("1719828120", "1719828120"),
    ] {
        let body = format!(
            r#"{{"id":"evt_02","created_at":{created},"type":"deposit.successful",
                "data":{{"internal_reference":"RHP-2024-ABC123","status":"successful","created_at":{created}}}}}"#
        );
        let event = known(verified_parse(&body).unwrap());
        let at = event.created_at.as_ref().unwrap();
        assert!(!at.is_parsed());
        assert_eq!(at.as_str(), kept);
        let tx_at = event.transaction.created_at.as_ref().unwrap();
        assert!(!tx_at.is_parsed());
        assert_eq!(tx_at.as_str(), kept);
    }
    let event = known(
        verified_parse(
            r#"{"id":"evt_03","created_at":null,"type":"deposit.successful","data":{"internal_reference":"RHP-1"}}"#,
        )
        .unwrap(),
    );
    assert_eq!(event.created_at, None);
}

#[test]
fn flat_shape_with_documented_fields_and_the_reference_alias() {
    let event = known(
        verified_parse(
            r#"{"event":"withdraw.failed","id":"01jx","reference":"RHP-2024-DSB002","provider_reference":"iotec-1",
            "type":"disbursement","status":"failed","payment_method":"mobile_money","phone_number":"256701234567",
            "amount":25000,"currency":"UGX","commission_amount":0,"net_amount":25000,"environment":"live",
            "created_at":"2024-07-01T10:00:00Z","updated_at":"2024-07-01T10:03:00Z"}"#,
        )
        .unwrap(),
    );
    assert_eq!(event.event, EventType::WithdrawFailed);
    assert_eq!(
        event.id, None,
        "a flat payload's `id` is the transaction's, not an event id"
    );
    let tx = event.transaction;
    // 2024-07-01T10:00:00Z = 1719828000; 10:03:00Z = +180
    assert_eq!(
        tx.created_at.as_ref().and_then(|t| t.unix_seconds()),
        Some(1_719_828_000)
    );
    assert_eq!(
        tx.updated_at.as_ref().and_then(|t| t.unix_seconds()),
        Some(1_719_828_180)
    );
    assert_eq!(tx.id.as_ref().map(|i| i.as_str()), Some("01jx"));
    assert_eq!(tx.internal_reference.as_str(), "RHP-2024-DSB002");
    assert_eq!(tx.status, Some(TransactionStatus::Failed));
    let failed =
        verified_parse(r#"{"event":"deposit.failed","internal_reference":"RHP-1","status":"failed"}"#)
            .unwrap();
    assert_eq!(failed.event_type(), EventType::DepositFailed);
}

#[test]
fn unknown_events_are_kept_raw() {
    let event =
        verified_parse(r#"{"event":"refund.created","refund_id":"rf_1","amount":"oops-not-a-number"}"#)
            .unwrap();
    assert_eq!(event.event_type(), EventType::Unknown("refund.created".into()));
    assert!(event.transaction().is_none());
    assert_eq!(event.raw()["refund_id"], "rf_1");
    let event =
        verified_parse(r#"{"type":"payout.reversed","data":{"internal_reference":"RHP-7"}}"#).unwrap();
    assert!(matches!(&event, WebhookEvent::Unknown { event, .. } if event == "payout.reversed"));
    assert_eq!(event.transaction().unwrap().internal_reference.as_str(), "RHP-7");
}

/// A known event whose transaction does not decode (RohoPay changed a type, or dropped the
/// reference) is a verified delivery kept as `Unparsed` with its raw JSON and the error,
/// never refused: refusing would make RohoPay retry it forever and hide the payment.
#[test]
fn known_event_with_an_undecodable_payload_is_unparsed_not_refused() {
    let event = verified_parse(
        r#"{"event":"deposit.successful","internal_reference":"RHP-2024-Z","amount":"lots","currency":"UGX"}"#,
    )
    .unwrap();
    match &event {
        WebhookEvent::Unparsed {
            event: kind,
            raw,
            error,
            ..
        } => {
            assert_eq!(*kind, EventType::DepositSuccessful);
            assert_eq!(raw["internal_reference"], "RHP-2024-Z");
            assert!(error.contains("amount") || !error.is_empty(), "{error}");
        }
        other => panic!("expected Unparsed, got {other:?}"),
    }
    assert_eq!(event.event_type(), EventType::DepositSuccessful);
    assert!(event.transaction().is_none());
    assert_eq!(
        event.dedup_key().as_deref(),
        Some("RHP-2024-Z:deposit.successful")
    );
    // Without its reference, a known event is Unparsed too.
    let event = verified_parse(r#"{"event":"withdraw.failed","status":"failed"}"#).unwrap();
    assert!(matches!(event, WebhookEvent::Unparsed { .. }), "{event:?}");
}

#[test]
fn bodies_that_are_neither_shape_are_refused() {
    for body in [
        r#"{"status":"successful"}"#,
        r#"[1]"#,
        "not json",
        r#"{"type":"x","data":"str"}"#,
    ] {
        let err = verified_parse(body).unwrap_err();
        assert!(matches!(err, WebhookError::InvalidBody(_)), "{body}: {err}");
    }
}

/// A verified webhook carrying both `internal_reference` and `reference` (the dashboard
/// sample's name) parses; refusing it would make RohoPay retry the delivery forever.
#[test]
fn flat_shape_with_both_reference_names_parses() {
    let event = known(
        verified_parse(
            r#"{"event":"deposit.successful","internal_reference":"RHP-2024-ABC123","reference":"RHP-2024-ABC123",
            "id":"01jx","transaction_id":"01jx","status":"successful","amount":50000,"currency":"UGX"}"#,
        )
        .unwrap(),
    );
    let tx = event.transaction;
    assert_eq!(tx.internal_reference.as_str(), "RHP-2024-ABC123");
    assert_eq!(tx.id.as_ref().map(|i| i.as_str()), Some("01jx"));
}
