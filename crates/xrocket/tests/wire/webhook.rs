//! Webhook verification (fixed test vectors computed outside this crate) and parsing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use payout_core::WebhookVerifier;
use xrocket::webhook::{EventKind, FixedClock, Verifier, WebhookError, parse_event, sign};
use xrocket::{ChequeState, InvoiceStatus, PaymentStatus, TransferStatus, WithdrawalStatus};

const SECRET: &str = "whsec_test_secret_1";
const TS: &str = "1767225600000"; // 2026-01-01T00:00:00Z in milliseconds
const BODY: &[u8] = br#"{"id":"d6a1c0de-1","timestamp":"2026-01-01T00:00:00.000Z","type":"invoice","data":{"event":"payment_status_changed","invoice":{"id":"inv-1","priceAmount":"19.99","priceCurrency":"USDT","status":"paid","links":{"telegramBotLink":"https://t.me/xrocket?start=inv_1"}},"payment":{"id":"pay-1","status":"paid","finalizedAt":"2026-01-01T00:00:00.000Z","payAmount":"20.1","payCurrency":"USDT","receiveAmount":"19.99","receiveCurrency":"USDT","transactions":[]}}}"#;
/// HMAC-SHA256(SECRET, TS + "." + BODY), computed with Python's hmac module.
const SIG: &str = "6d11937a878a669608ad96fc5a9c1766da7bc2ee9bc7499e0f3c59c2c635452e";

fn at(ms: u64) -> FixedClock {
    FixedClock(UNIX_EPOCH + Duration::from_millis(ms))
}

fn now_ms() -> u64 {
    1_767_225_600_000
}

fn headers(sig: &str, ts: &str, version: &str) -> Vec<(String, String)> {
    vec![
        ("signature".to_string(), sig.to_string()),
        ("Signature-Timestamp".to_string(), ts.to_string()),
        ("SIGNATURE-VERSION".to_string(), version.to_string()),
    ]
}

/// The `Signature` header `sign` produces for `body` at `ms`.
fn sig_at(body: &[u8], ms: u64) -> String {
    let h = sign(SECRET, body, UNIX_EPOCH + Duration::from_millis(ms));
    assert_eq!(h["signature-timestamp"].to_str().unwrap(), ms.to_string());
    assert_eq!(h["signature-version"].to_str().unwrap(), "v1");
    h["signature"].to_str().unwrap().to_string()
}

fn verifier() -> Verifier {
    Verifier::new(SECRET).clock(at(now_ms() + 1_000))
}

#[test]
fn test_vector_verifies_and_parses_a_payment_event() {
    assert_eq!(sig_at(BODY, now_ms()), SIG);
    let verified = verifier().verify(&headers(SIG, TS, "v1"), BODY).unwrap();
    assert_eq!(verified.signed_at(), UNIX_EPOCH + Duration::from_millis(now_ms()));
    let event = verified.parse().unwrap();
    assert_eq!(event.id, "d6a1c0de-1");
    let ts = event.timestamp.as_ref().unwrap();
    assert_eq!(ts.as_str(), "2026-01-01T00:00:00.000Z");
    assert_eq!(ts.unix_seconds(), Some(1_767_225_600)); // 2026-01-01T00:00:00Z
    match event.kind {
        EventKind::PaymentStatusChanged { invoice, payment } => {
            assert_eq!(invoice.id.as_str(), "inv-1");
            assert_eq!(invoice.status, InvoiceStatus::Paid);
            assert_eq!(payment.status, PaymentStatus::Paid);
            assert_eq!(payment.receive_amount.unwrap().to_string(), "19.99");
            assert!(payment.finalized_at.is_some());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn tampered_body_wrong_secret_and_wrong_timestamp_fail() {
    let tampered = String::from_utf8(BODY.to_vec()).unwrap().replace("19.99", "1999");
    assert!(matches!(
        verifier().verify(&headers(SIG, TS, "v1"), tampered.as_bytes()),
        Err(WebhookError::SignatureMismatch { .. })
    ));
    // Re-serialized JSON (whitespace added) no longer verifies: the raw body is required.
    let v: serde_json::Value = serde_json::from_slice(BODY).unwrap();
    let pretty = serde_json::to_vec_pretty(&v).unwrap();
    assert!(verifier().verify(&headers(SIG, TS, "v1"), &pretty).is_err());
    let wrong = Verifier::new("another-secret").clock(at(now_ms()));
    let err = wrong.verify(&headers(SIG, TS, "v1"), BODY).unwrap_err();
    assert!(err.to_string().contains("webhook secret"), "{err}");
    // The timestamp is part of what is signed.
    assert!(matches!(
        verifier().verify(&headers(SIG, "1767225600001", "v1"), BODY),
        Err(WebhookError::SignatureMismatch { .. })
    ));
}

#[test]
fn only_the_documented_lowercase_hex_form_is_accepted() {
    // xRocket sends exactly 64 lower-case hex characters: any other spelling of the same MAC
    // (uppercase, a `sha256=` prefix, spaces around it) is malformed, so a MAC has one form.
    for bad in [
        SIG.to_uppercase(),
        format!("sha256={SIG}"),
        format!(" {SIG}"),
        format!("{SIG} "),
        format!("{SIG}00"),
        SIG[..63].to_string(),
    ] {
        match verifier().verify(&headers(&bad, TS, "v1"), BODY) {
            Err(WebhookError::MalformedHeader {
                header: "Signature", ..
            }) => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    // A padded or signed timestamp is malformed too.
    for bad_ts in [" 1767225600000", "+1767225600000", "18446744073709551615"] {
        assert!(
            matches!(
                verifier().verify(&headers(SIG, bad_ts, "v1"), BODY),
                Err(WebhookError::MalformedHeader { .. } | WebhookError::SignatureMismatch { .. })
            ),
            "{bad_ts}"
        );
    }
    assert!(verifier().verify(&headers(SIG, TS, "v1"), BODY).is_ok());
}

#[test]
fn five_minute_tolerance_in_both_directions() {
    let h = headers(SIG, TS, "v1");
    for offset in [-299_000i64, 299_000] {
        let v = Verifier::new(SECRET).clock(at((now_ms() as i64 + offset) as u64));
        assert!(v.verify(&h, BODY).is_ok(), "{offset}");
    }
    for offset in [-301_000i64, 301_000] {
        let v = Verifier::new(SECRET).clock(at((now_ms() as i64 + offset) as u64));
        assert!(
            matches!(
                v.verify(&h, BODY),
                Err(WebhookError::TimestampOutsideTolerance { .. })
            ),
            "{offset}"
        );
    }
    // A replay of a stored delivery can widen the window explicitly.
    let replay = Verifier::new(SECRET)
        .clock(at(now_ms() + 3_600_000))
        .tolerance(Duration::from_secs(7200));
    assert!(replay.verify(&h, BODY).is_ok());
    // Seconds instead of milliseconds land in 1970 and are refused.
    let secs = payout_core::webhook::to_hex(&payout_core::webhook::hmac_sha256(
        SECRET.as_bytes(),
        &[b"1767225600", b".", BODY],
    ));
    assert!(matches!(
        verifier().verify(&headers(&secs, "1767225600", "v1"), BODY),
        Err(WebhookError::TimestampOutsideTolerance { .. })
    ));
}

#[test]
fn several_secrets_rotate_without_downtime() {
    let v = Verifier::new("old-secret").secret(SECRET).clock(at(now_ms()));
    assert!(v.verify(&headers(SIG, TS, "v1"), BODY).is_ok());
    let v = Verifier::new("a").secret("b").secret(SECRET).clock(at(now_ms()));
    assert!(v.verify(&headers(SIG, TS, "v1"), BODY).is_ok());
}

#[test]
fn headers_are_checked() {
    let v = verifier();
    assert_eq!(
        v.verify(&headers(SIG, TS, "v2"), BODY).unwrap_err(),
        WebhookError::MalformedHeader {
            header: "Signature-Version",
            reason: "unsupported signature version (this crate verifies v1); upgrade the crate"
        }
    );
    let missing: Vec<(String, String)> = headers(SIG, TS, "v1").into_iter().skip(1).collect();
    assert_eq!(
        v.verify(&missing, BODY).unwrap_err(),
        WebhookError::MissingHeader("Signature")
    );
    let no_ts = [("Signature", SIG), ("Signature-Version", "v1")];
    assert_eq!(
        v.verify(&no_ts[..], BODY).unwrap_err(),
        WebhookError::MissingHeader("Signature-Timestamp")
    );
    let no_version = [("Signature", SIG), ("Signature-Timestamp", TS)];
    assert_eq!(
        v.verify(&no_version[..], BODY).unwrap_err(),
        WebhookError::MissingHeader("Signature-Version")
    );
    assert!(matches!(
        v.verify(&headers(SIG, "yesterday", "v1"), BODY),
        Err(WebhookError::MalformedHeader {
            header: "Signature-Timestamp",
            ..
        })
    ));
    assert!(matches!(
        v.verify(&headers("not-hex", TS, "v1"), BODY),
        Err(WebhookError::MalformedHeader {
            header: "Signature",
            ..
        })
    ));
    // A reqwest HeaderMap works too.
    let mut map = payout_core::reqwest::header::HeaderMap::new();
    map.insert("signature", SIG.parse().unwrap());
    map.insert("signature-timestamp", TS.parse().unwrap());
    map.insert("signature-version", "v1".parse().unwrap());
    assert!(v.verify(&map, BODY).is_ok());
    // Through the shared trait, as a framework-agnostic receiver would call it.
    let verified = WebhookVerifier::verify(&v, &map, BODY).unwrap();
    assert_eq!(verified.body(), BODY);
}

#[test]
fn sign_then_verify_with_the_system_clock() {
    let body = br#"{"id":"e1","timestamp":"2026-01-01T00:00:00Z","type":"cheque","data":{"chequeId":"c-1","asset":"TONCOIN","state":"completed","deleted":false,"links":{}}}"#;
    let h = sign(SECRET, body, SystemTime::now());
    let event = Verifier::new(SECRET).verify(&h, body).unwrap().parse().unwrap();
    match event.kind {
        EventKind::Cheque(c) => assert_eq!(c.state, ChequeState::Completed),
        other => panic!("unexpected {other:?}"),
    }
    // The stale test vector fails against the real clock.
    assert!(
        Verifier::new(SECRET)
            .verify(&headers(SIG, TS, "v1"), BODY)
            .is_err()
    );
}

#[test]
fn every_event_type_parses() {
    let invoice = br#"{"id":"1","timestamp":"t","type":"invoice","data":{"event":"invoice_status_changed","invoice":{"id":"inv-1","priceCurrency":"USD","priceAmount":"5","status":"expired","links":{}}}}"#;
    match parse_event(invoice).unwrap().kind {
        EventKind::InvoiceStatusChanged { invoice } => assert_eq!(invoice.status, InvoiceStatus::Expired),
        other => panic!("{other:?}"),
    }
    for t in ["transfer", "payout"] {
        let body = format!(
            r#"{{"id":"2","timestamp":"t","type":"{t}","data":{{"transferId":"9","asset":"TONCOIN","amount":"1.23","status":"finished","callback":{{"callbackUrl":"https://x.example","payload":{{"o":1}}}}}}}}"#
        );
        match parse_event(body.as_bytes()).unwrap().kind {
            EventKind::Transfer(tr) => {
                assert_eq!(tr.status, Some(TransferStatus::Finished));
                assert_eq!(tr.callback.unwrap().payload.unwrap()["o"], 1);
            }
            other => panic!("{other:?}"),
        }
    }
    let payout = br#"{"id":"3","type":"payout","data":{"payoutId":"10","clientPayoutId":"p","asset":"USDT","amount":"2","status":"failed"}}"#;
    match parse_event(payout).unwrap().kind {
        EventKind::Transfer(tr) => {
            assert_eq!(tr.transfer_id.as_str(), "10");
            assert_eq!(tr.client_transfer_id.as_deref(), Some("p"));
        }
        other => panic!("{other:?}"),
    }
    let wrapped = br#"{"id":4,"timestamp":1767225600000,"type":"withdrawal","data":{"event":"withdrawal_status_changed","withdrawal":{"withdrawalId":"w","network":"TON","address":"UQ","asset":"TONCOIN","amount":"1","status":"FAIL"}}}"#;
    let e = parse_event(wrapped).unwrap();
    assert_eq!(e.id, "4");
    // A number is kept as its text, not interpreted (xRocket documents a date-time string).
    let ts = e.timestamp.as_ref().unwrap();
    assert_eq!(ts.as_str(), "1767225600000");
    assert!(!ts.is_parsed());
    match e.kind {
        EventKind::Withdrawal(w) => assert_eq!(w.status, WithdrawalStatus::Fail),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_types_and_events_are_kept_raw() {
    let swap = br#"{"id":"5","timestamp":"t","type":"swap","data":{"event":"swap_status_changed","swap":{"id":"s"}}}"#;
    match parse_event(swap).unwrap().kind {
        EventKind::Unknown { event_type, data } => {
            assert_eq!(event_type, "swap/swap_status_changed");
            assert_eq!(data["swap"]["id"], "s");
        }
        other => panic!("{other:?}"),
    }
    let new_invoice_event =
        br#"{"id":"6","type":"invoice","data":{"event":"invoice_refunded","invoice":{}}}"#;
    assert!(matches!(
        parse_event(new_invoice_event).unwrap().kind,
        EventKind::Unknown { .. }
    ));
    let no_data = br#"{"id":"7","type":"ping"}"#;
    assert!(matches!(
        parse_event(no_data).unwrap().kind,
        EventKind::Unknown { .. }
    ));
}

#[test]
fn malformed_envelopes_are_errors_not_panics() {
    for body in [
        &b"not json"[..],
        br#"{"type":"invoice"}"#,
        br#"{"id":"1"}"#,
        br#"[1]"#,
    ] {
        assert!(
            matches!(parse_event(body), Err(WebhookError::InvalidBody(_))),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn a_known_type_whose_payload_does_not_decode_is_unparsed_not_refused() {
    for (body, want_type) in [
        (
            &br#"{"id":"1","type":"invoice","data":{"event":"invoice_status_changed"}}"#[..],
            "invoice/invoice_status_changed",
        ),
        (br#"{"id":"1","type":"withdrawal","data":{"amount":"x"}}"#, "withdrawal"),
        (
            br#"{"id":"1","type":"transfer","data":{"transferId":"9","asset":"TONCOIN","amount":{"v":1}}}"#,
            "transfer",
        ),
        (
            br#"{"id":"1","type":"invoice","data":{"event":"payment_status_changed","invoice":{"id":"i","status":"paid"},"payment":{"id":"p"}}}"#,
            "invoice/payment_status_changed",
        ),
    ] {
        let event = parse_event(body).unwrap();
        assert_eq!(event.id, "1");
        match event.kind {
            EventKind::Unparsed {
                event_type,
                data,
                error,
            } => {
                assert_eq!(event_type, want_type);
                assert!(data.is_object());
                assert!(!error.is_empty());
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
        }
    }
    // Through a verified delivery too: a genuine delivery is never unreadable.
    let body = br#"{"id":"9","type":"cheque","data":{"chequeId":{"nested":true}}}"#;
    let h = sign(SECRET, body, SystemTime::now());
    let event = Verifier::new(SECRET).verify(&h, body).unwrap().parse().unwrap();
    assert!(matches!(event.kind, EventKind::Unparsed { .. }));
}

#[test]
fn verifier_debug_hides_secrets() {
    let v = Verifier::new(SECRET).secret("second-secret-value");
    let d = format!("{v:?}");
    assert!(!d.contains(SECRET) && !d.contains("second-secret-value"), "{d}");
    assert!(d.contains("2 redacted"));
}

#[test]
fn a_verified_delivery_dedupes_on_the_event_id() {
    use payout_core::contract::VerifiedDelivery;
    let verified = verifier().verify(&headers(SIG, TS, "v1"), BODY).unwrap();
    assert_eq!(verified.dedupe_key(), "xrocket:d6a1c0de-1");
    assert!(matches!(
        VerifiedDelivery::parse(&verified).unwrap().kind,
        EventKind::PaymentStatusChanged { .. }
    ));
    let body = br#"{"no":"id"}"#;
    let h = sign(SECRET, body, SystemTime::now());
    let v = Verifier::new(SECRET).verify(&h, body).unwrap();
    assert!(
        v.dedupe_key().starts_with("xrocket:sha256:"),
        "{}",
        v.dedupe_key()
    );
}
