//! Webhook verification (the reference's test vector, every accepted signature form, key
//! rotation, tampering) and parsing of both payload shapes.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use rohopay::webhook::{self, EventType, FixedClock, PayloadShape, WebhookError};
use rohopay::{Currency, Decimal, SecretString, TransactionStatus, TransactionType};

use crate::common::LIVE_KEY;

/// The reference's test vector.
const BODY: &[u8] = br#"{"event":"deposit.successful","internal_reference":"RHP-2024-ABC123","status":"successful","amount":50000,"currency":"UGX"}"#;
const SECRET: &str = "test_webhook_secret";
const SIGNATURE: &str = "sha256=2d2740d65b86820b9f6d8efb394c040fba23ba10de280dbc3fad4cc238529abe";
const SIGNATURE_B64: &str = "LSdA1luGggufbY77OUwED7ojuhDeKA28P61MwjhSmr4=";

fn secret() -> SecretString {
    SecretString::from(SECRET)
}

#[test]
fn reference_test_vector_verifies_and_parses() {
    let headers = [("x-rohopay-signature", SIGNATURE)];
    let s = secret();
    let verified = webhook::verify(&headers, BODY, [&s]).unwrap();
    assert_eq!(verified.body(), BODY);
    let event = verified.parse().unwrap();
    assert_eq!(event.event, EventType::DepositSuccessful);
    assert_eq!(event.shape, PayloadShape::Flat);
    let tx = event.transaction.as_ref().unwrap();
    assert_eq!(tx.internal_reference.as_deref(), Some("RHP-2024-ABC123"));
    assert_eq!(tx.status, Some(TransactionStatus::Successful));
    assert_eq!(tx.amount, Some(Decimal::from(50_000)));
    assert_eq!(tx.currency, Some(Currency::Ugx));
    assert_eq!(
        event.dedup_key().as_deref(),
        Some("RHP-2024-ABC123:deposit.successful")
    );
    assert_eq!(webhook::sign(&s, BODY), SIGNATURE);
}

#[test]
fn header_name_is_case_insensitive_across_header_types() {
    let s = secret();
    let pairs = vec![("X-RohoPay-Signature".to_string(), SIGNATURE.to_string())];
    assert!(webhook::verify(&pairs, BODY, [&s]).is_ok());
    let mut map = HashMap::new();
    map.insert("X-ROHOPAY-SIGNATURE".to_string(), SIGNATURE);
    assert!(webhook::verify(&map, BODY, [&s]).is_ok());
    let mut hm = payout_core::reqwest::header::HeaderMap::new();
    hm.insert("x-rohopay-signature", SIGNATURE.parse().unwrap());
    assert!(webhook::verify(&hm, BODY, [&s]).is_ok());
}

#[test]
fn sdk_signature_forms_are_accepted() {
    let s = secret();
    let clock = FixedClock(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let hex = SIGNATURE.trim_start_matches("sha256=");
    for sig in [
        SIGNATURE.to_string(),
        hex.to_string(),
        hex.to_ascii_uppercase(),
        SIGNATURE_B64.to_string(),
        format!("t=1700000000,v={hex}"),
        format!("t=1699999800,v={SIGNATURE_B64}"),
    ] {
        assert!(
            webhook::verify_signature(&sig, BODY, [&s], &clock).is_ok(),
            "{sig}"
        );
    }
}

#[test]
fn stale_or_future_timestamps_are_refused() {
    let s = secret();
    let clock = FixedClock(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let hex = SIGNATURE.trim_start_matches("sha256=");
    for t in [1_699_999_699u64, 1_700_000_301] {
        let err = webhook::verify_signature(&format!("t={t},v={hex}"), BODY, [&s], &clock).unwrap_err();
        assert!(
            matches!(err, WebhookError::TimestampOutsideTolerance { .. }),
            "{err}"
        );
    }
    let headers = [("x-rohopay-signature", format!("t=1700000000,v={hex}"))];
    assert!(webhook::verify_with_clock(&headers, BODY, [&s], &clock).is_ok());
}

#[test]
fn several_secrets_verify_during_rotation() {
    let old = SecretString::from("old_webhook_secret");
    let new = secret();
    let headers = [("x-rohopay-signature", SIGNATURE)];
    assert!(webhook::verify(&headers, BODY, [&old, &new]).is_ok());
    assert!(webhook::verify(&headers, BODY, &[new.clone(), old.clone()]).is_ok());
    let err = webhook::verify(&headers, BODY, [&old]).unwrap_err();
    assert!(matches!(err, WebhookError::SignatureMismatch { .. }));
}

#[test]
fn tampered_body_and_wrong_secret_are_refused() {
    let s = secret();
    let headers = [("x-rohopay-signature", SIGNATURE)];
    let tampered = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace("50000", "500000");
    let err = webhook::verify(&headers, tampered.as_bytes(), [&s]).unwrap_err();
    assert!(matches!(err, WebhookError::SignatureMismatch { .. }));
    // Re-serialized JSON (spaces) is not the raw body.
    let reserialized =
        serde_json::to_string_pretty(&serde_json::from_slice::<serde_json::Value>(BODY).unwrap()).unwrap();
    assert!(webhook::verify(&headers, reserialized.as_bytes(), [&s]).is_err());
    // Signing with the API key instead of the webhook secret is the classic mistake: the
    // error says which secret to use.
    let api_key = SecretString::from(LIVE_KEY);
    let err = webhook::verify(&headers, BODY, [&api_key]).unwrap_err();
    assert!(err.to_string().contains("webhook secret"), "{err}");
    assert!(err.to_string().contains("raw request body"), "{err}");
    assert!(!err.to_string().contains(LIVE_KEY));
}

#[test]
fn missing_malformed_and_no_secret() {
    let s = secret();
    let none: [(&str, &str); 0] = [];
    assert_eq!(
        webhook::verify(&none, BODY, [&s]).unwrap_err(),
        WebhookError::MissingHeader("x-rohopay-signature")
    );
    for bad in ["sha256=zz", "sha256=abcd", "", "t=1,v=", "md5=2d27"] {
        let headers = [("x-rohopay-signature", bad)];
        let err = webhook::verify(&headers, BODY, [&s]).unwrap_err();
        assert!(
            matches!(
                err,
                WebhookError::MalformedHeader { .. } | WebhookError::TimestampOutsideTolerance { .. }
            ),
            "{bad}: {err}"
        );
    }
    let headers = [("x-rohopay-signature", SIGNATURE)];
    let no_secrets: Vec<SecretString> = Vec::new();
    assert_eq!(
        webhook::verify(&headers, BODY, &no_secrets).unwrap_err(),
        WebhookError::NoSecret
    );
}

fn verified_parse(body: &str) -> Result<webhook::WebhookEvent, WebhookError> {
    let s = secret();
    let sig = webhook::sign(&s, body.as_bytes());
    let headers = [("x-rohopay-signature", sig)];
    webhook::verify(&headers, body.as_bytes(), [&s])?.parse()
}

#[test]
fn envelope_shape_parses() {
    let event = verified_parse(
        r#"{"id":"evt_01","created_at":"2024-07-01T10:02:00Z","type":"withdraw.successful",
            "data":{"internal_reference":"RHP-2024-DSB001","type":"disbursement","status":"successful","amount":25000,"currency":"UGX"}}"#,
    )
    .unwrap();
    assert_eq!(event.event, EventType::WithdrawSuccessful);
    assert_eq!(event.shape, PayloadShape::Envelope);
    assert_eq!(event.id.as_deref(), Some("evt_01"));
    assert_eq!(event.created_at.as_deref(), Some("2024-07-01T10:02:00Z"));
    let tx = event.transaction.as_ref().unwrap();
    assert_eq!(tx.kind, Some(TransactionType::Disbursement));
    assert!(tx.is_successful());
    assert_eq!(event.dedup_key().as_deref(), Some("evt_01"));
}

#[test]
fn flat_shape_with_documented_fields_and_the_reference_alias() {
    let event = verified_parse(
        r#"{"event":"withdraw.failed","id":"01jx","reference":"RHP-2024-DSB002","provider_reference":"iotec-1",
            "type":"disbursement","status":"failed","payment_method":"mobile_money","phone_number":"256701234567",
            "amount":25000,"currency":"UGX","commission_amount":0,"net_amount":25000,"environment":"live",
            "created_at":"2024-07-01T10:00:00Z","updated_at":"2024-07-01T10:03:00Z"}"#,
    )
    .unwrap();
    assert_eq!(event.event, EventType::WithdrawFailed);
    assert_eq!(
        event.id, None,
        "a flat payload's `id` is the transaction's, not an event id"
    );
    let tx = event.transaction.unwrap();
    assert_eq!(tx.id.as_deref(), Some("01jx"));
    assert_eq!(tx.internal_reference.as_deref(), Some("RHP-2024-DSB002"));
    assert_eq!(tx.status, Some(TransactionStatus::Failed));
    let failed =
        verified_parse(r#"{"event":"deposit.failed","internal_reference":"RHP-1","status":"failed"}"#)
            .unwrap();
    assert_eq!(failed.event, EventType::DepositFailed);
}

#[test]
fn unknown_events_are_kept_raw() {
    let event =
        verified_parse(r#"{"event":"refund.created","refund_id":"rf_1","amount":"oops-not-a-number"}"#)
            .unwrap();
    assert_eq!(event.event, EventType::Unknown("refund.created".into()));
    assert!(event.transaction.is_none());
    assert_eq!(event.raw["refund_id"], "rf_1");
    let event =
        verified_parse(r#"{"type":"payout.reversed","data":{"internal_reference":"RHP-7"}}"#).unwrap();
    assert_eq!(event.event, EventType::Unknown("payout.reversed".into()));
    assert_eq!(
        event.transaction.unwrap().internal_reference.as_deref(),
        Some("RHP-7")
    );
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
    // A known event whose transaction does not decode is refused, not half-read.
    let err = verified_parse(r#"{"event":"deposit.successful","amount":"lots"}"#).unwrap_err();
    assert!(matches!(err, WebhookError::InvalidBody(_)), "{err}");
}

/// The `t=` value is attacker-controlled: an absurd timestamp is refused, never a panic
/// (`UNIX_EPOCH + u64::MAX seconds` overflows `SystemTime`).
#[test]
fn absurd_timestamps_are_refused_without_panicking() {
    let s = secret();
    let clock = FixedClock(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let hex = SIGNATURE.trim_start_matches("sha256=");
    for t in [u64::MAX, u64::MAX / 2, i64::MAX as u64, 1u64 << 62] {
        let sig = format!("t={t},v={hex}");
        let result =
            std::panic::catch_unwind(|| webhook::verify_signature(&sig, BODY, [&s], &clock).map(|_| ()));
        let err = result.unwrap_or_else(|_| panic!("t={t} panicked")).unwrap_err();
        assert!(
            matches!(err, WebhookError::TimestampOutsideTolerance { .. }),
            "{t}: {err}"
        );
    }
}

/// A verified webhook carrying both `internal_reference` and `reference` (the dashboard
/// sample's name) parses; refusing it would make RohoPay retry the delivery forever.
#[test]
fn flat_shape_with_both_reference_names_parses() {
    let event = verified_parse(
        r#"{"event":"deposit.successful","internal_reference":"RHP-2024-ABC123","reference":"RHP-2024-ABC123",
            "id":"01jx","transaction_id":"01jx","status":"successful","amount":50000,"currency":"UGX"}"#,
    )
    .unwrap();
    let tx = event.transaction.unwrap();
    assert_eq!(tx.internal_reference.as_deref(), Some("RHP-2024-ABC123"));
    assert_eq!(tx.id.as_deref(), Some("01jx"));
}
