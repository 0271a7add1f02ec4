//! Legacy webhooks (`rocket-pay-signature`): the reference vectors, strictness, rotation and
//! typed events.

use payout_core::contract::VerifiedDelivery;
use payout_core::reqwest::header::{HeaderMap, HeaderValue};
use xrocket::WebhookError;
use xrocket::legacy::webhook::{EventKind, Verifier, parse_event, sign};
use xrocket::legacy::{InvoiceId, InvoiceStatus};

const TOKEN1: &str = "test-token-0001";
const BODY1: &str = r#"{"type":"invoicePay","timestamp":"2025-06-26T12:00:00.000Z","data":{"id":3,"amount":5,"minPayment":5,"totalActivations":5,"activationsLeft":4,"currency":"TONCOIN","created":"2025-06-26T11:59:00.000Z","paid":"2025-06-26T12:00:00.000Z","status":"active","expiredIn":0,"link":"https://t.me/xRocket?start=inv_qwerty123","payload":"order-42","payment":{"userId":87209764,"paymentNum":1,"paymentAmount":5,"paymentAmountReceived":4.925,"comment":"","paid":"2025-06-26T12:00:00.000Z"}}}"#;
const SIG1: &str = "9b9bc1bca6cd310b0b0756a4914879f8cb605045a6f08c6333ba3deb6620cd66";

const TOKEN2: &str = "1234567:AAHk-xRocketPayExampleToken";
const BODY2: &str = r#"{"type":"invoicePay","timestamp":"2025-06-26T12:05:00.000Z","data":{"id":12345,"amount":0,"minPayment":1,"totalActivations":0,"activationsLeft":0,"currency":"USDT","created":"2025-06-26T10:00:00.000Z","status":"active","link":"https://t.me/xRocket?start=inv_abc","description":"Спасибо ❤","payment":{"userId":14357874663,"paymentNum":1,"paymentAmount":2.5,"paymentAmountReceived":2.4625,"comment":"tip","paid":"2025-06-26T12:04:59.000Z"}}}"#;
const SIG2: &str = "852c0b470f2334f1d994185f655f131816791a901077ec545d45837c2ab33445";

fn headers(sig: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("rocket-pay-signature", HeaderValue::from_str(sig).unwrap());
    h
}

#[test]
fn legacy_webhook_reference_vectors_verify() {
    assert_eq!(BODY1.len(), 478);
    assert_eq!(BODY2.len(), 448);
    let v1 = Verifier::new(TOKEN1)
        .verify(&headers(SIG1), BODY1.as_bytes())
        .unwrap();
    let e = v1.parse().unwrap();
    assert_eq!(e.event_type, "invoicePay");
    let ts = e.timestamp.as_ref().unwrap();
    assert_eq!(ts.as_str(), "2025-06-26T12:00:00.000Z");
    assert_eq!(ts.unix_seconds(), Some(1_750_939_200)); // 2025-06-26T12:00:00Z
    match e.kind {
        EventKind::InvoicePay { invoice, payment } => {
            assert_eq!(invoice.id, InvoiceId::from("3"));
            assert_eq!(invoice.status, InvoiceStatus::Active);
            assert_eq!(invoice.payload.as_deref(), Some("order-42"));
            assert_eq!(payment.user_id, "87209764");
            assert_eq!(
                payment.payment_amount_received,
                Some(xrocket::Decimal::new(4925, 3))
            );
        }
        other => panic!("{other:?}"),
    }
    let v2 = Verifier::new(TOKEN2)
        .verify(&headers(SIG2), BODY2.as_bytes())
        .unwrap();
    match v2.parse().unwrap().kind {
        EventKind::InvoicePay { invoice, payment } => {
            assert_eq!(invoice.description.as_deref(), Some("Спасибо ❤"));
            assert_eq!(payment.user_id, "14357874663");
        }
        other => panic!("{other:?}"),
    }
    // sign() reproduces the vectors.
    let h = sign(TOKEN1, BODY1.as_bytes(), std::time::SystemTime::now());
    assert_eq!(h.get("rocket-pay-signature").unwrap(), SIG1);
    assert_eq!(
        sign(TOKEN2, BODY2.as_bytes(), std::time::UNIX_EPOCH)
            .get("rocket-pay-signature")
            .unwrap(),
        SIG2
    );
}

#[test]
fn legacy_webhook_failing_vectors_and_malformed_signatures_are_refused() {
    let v = Verifier::new(TOKEN1);
    // The body plus a newline.
    let mut nl = BODY1.as_bytes().to_vec();
    nl.push(b'\n');
    assert!(matches!(
        v.verify(&headers(SIG1), &nl),
        Err(WebhookError::SignatureMismatch { .. })
    ));
    // The signature of the body with a newline, over the body without.
    let with_nl = "c24bbd400cad1a8ab9c6839badb4f545aa6677cdf6c4823c7a555e4a6aaa7c66";
    assert!(matches!(
        v.verify(&headers(with_nl), BODY1.as_bytes()),
        Err(WebhookError::SignatureMismatch { .. })
    ));
    assert!(v.verify(&headers(with_nl), &nl).is_ok());
    // A key made from the hex text of SHA-256(token) is not xRocket's key.
    let hex_key = "5ec7b7c79aef6bfd478f4abf6ae56f8de2863b5cdf2aa068cec327b1029503e0";
    assert!(matches!(
        v.verify(&headers(hex_key), BODY1.as_bytes()),
        Err(WebhookError::SignatureMismatch { .. })
    ));
    // The wrong token.
    assert!(
        Verifier::new(TOKEN2)
            .verify(&headers(SIG1), BODY1.as_bytes())
            .is_err()
    );
    // One MAC, one spelling.
    for bad in [
        SIG1.to_uppercase(),
        format!("sha256={SIG1}"),
        format!(" {SIG1}"),
        SIG1[..62].to_string(),
    ] {
        assert!(
            matches!(
                v.verify(&headers(&bad), BODY1.as_bytes()),
                Err(WebhookError::MalformedHeader { .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        v.verify(&HeaderMap::new(), BODY1.as_bytes()),
        Err(WebhookError::MissingHeader("rocket-pay-signature"))
    ));
}

#[test]
fn legacy_webhook_rotation_and_trait() {
    let v = Verifier::new("old-token").secret(TOKEN1);
    assert!(v.verify(&headers(SIG1), BODY1.as_bytes()).is_ok());
    fn generic<V: payout_core::WebhookVerifier>(v: &V, h: &HeaderMap, b: &[u8]) -> bool {
        v.verify(h, b).is_ok()
    }
    assert!(generic(&v, &headers(SIG1), BODY1.as_bytes()));
    let verified = v.verify(&headers(SIG1), BODY1.as_bytes()).unwrap();
    assert_eq!(
        verified.dedupe_key(),
        "xrocket-legacy:invoicePay:3:87209764:2025-06-26T12:00:00.000Z:1"
    );
    // A retry re-stamped with another timestamp keeps the key.
    let retried = BODY1.replace(
        "\"timestamp\":\"2025-06-26T12:00:00.000Z\"",
        "\"timestamp\":\"2025-06-26T12:01:00.000Z\"",
    );
    let h = sign(TOKEN1, retried.as_bytes(), std::time::SystemTime::now());
    assert_eq!(
        v.verify(&h, retried.as_bytes()).unwrap().dedupe_key(),
        verified.dedupe_key()
    );
}

#[test]
fn legacy_webhook_unknown_and_unparsed_events() {
    let e =
        parse_event(br#"{"type":"subscriptionPay","timestamp":"2025-06-26T12:00:00.000Z","data":{"x":1}}"#)
            .unwrap();
    assert!(matches!(e.kind, EventKind::Unknown { ref event_type, .. } if event_type == "subscriptionPay"));
    let e = parse_event(br#"{"type":"invoicePay","data":{"id":3}}"#).unwrap();
    match e.kind {
        EventKind::Unparsed {
            event_type,
            data,
            error,
        } => {
            assert_eq!(event_type, "invoicePay");
            assert_eq!(data["id"], 3);
            assert!(!error.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(parse_event(b"[1]"), Err(WebhookError::InvalidBody(_))));
    // A delivery that is not invoicePay is deduplicated on its body's SHA-256.
    let body = br#"{"type":"exchangeOrderComplete","timestamp":"t","data":{}}"#;
    let v = Verifier::new(TOKEN1)
        .verify(&sign(TOKEN1, body, std::time::SystemTime::now()), body)
        .unwrap();
    assert!(v.dedupe_key().starts_with("xrocket-legacy:sha256:"));
}
