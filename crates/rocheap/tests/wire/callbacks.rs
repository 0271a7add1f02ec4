use std::time::{Duration, SystemTime};

use payout_core::WebhookVerifier;
use payout_core::reqwest::header::HeaderMap;
use rocheap::webhook::{self, Callback, FixedClock, SIGNATURE_HEADER, Verified, Verifier, WebhookError};
use rocheap::{ErrorCode, Order, OrderStatus};

/// The test vector of rocheap.md §5.4 (computed with the documented algorithm in Node 20).
const VECTOR_KEY: &str = "test_api_key";
const VECTOR_SIG: &str = "79dfc270388e6fdaed9def21dbac5b52116dc924d47ef6e963cf6fb328af28fd";
/// The same body in the order a framework might produce: keys shuffled, pretty-printed.
const SHUFFLED: &str = r#"{
  "success": true,
  "status": {"message": "Order has failed!", "code": "FAILED"},
  "delivery_method": "gamepass",
  "cost": 0.044,
  "robux": 8,
  "after_tax_robux": 6,
  "order_id": "38d7e48a-74e2-4022-b018-4cd1431599cf",
  "custom_order_id": null,
  "universe_id": 25,
  "place_id": 366,
  "receiver_roblox_user_id": 261,
  "receiver_roblox_username": "Shedletsky",
  "gamepass_id": 424,
  "gamepass_product_id": 242536,
  "failure_code": {"message": "x", "code": "ORDER_FAILED_USER_ERROR"}
}"#;
const CANONICAL: &str = r#"{"after_tax_robux":6,"cost":0.044,"custom_order_id":null,"delivery_method":"gamepass","failure_code":{"code":"ORDER_FAILED_USER_ERROR","message":"x"},"gamepass_id":424,"gamepass_product_id":242536,"order_id":"38d7e48a-74e2-4022-b018-4cd1431599cf","place_id":366,"receiver_roblox_user_id":261,"receiver_roblox_username":"Shedletsky","robux":8,"status":{"code":"FAILED","message":"Order has failed!"},"success":true,"universe_id":25}"#;

fn verifier() -> Verifier {
    Verifier::new(VECTOR_KEY)
}

fn headers(sig: &str) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(SIGNATURE_HEADER, sig.parse().unwrap());
    map
}

fn order_of(v: &Verified) -> Order {
    match v.parse().unwrap() {
        Callback::Order(o) => *o,
        other => panic!("not an order: {other:?}"),
    }
}

#[test]
fn reference_test_vector_verifies() {
    let verified = verifier()
        .verify(&headers(VECTOR_SIG), CANONICAL.as_bytes())
        .unwrap();
    assert_eq!(verified.body(), CANONICAL.as_bytes());
    let order = order_of(&verified);
    assert_eq!(order.status.code, OrderStatus::Failed);
    assert_eq!(order.failure(), Some(&ErrorCode::OrderFailedUserError));
    assert_eq!(order.cost.unwrap().to_string(), "0.044");
    let signed = webhook::sign(VECTOR_KEY, CANONICAL.as_bytes(), SystemTime::now());
    assert_eq!(signed.get(SIGNATURE_HEADER).unwrap(), VECTOR_SIG);
}

#[test]
fn reordered_and_reformatted_keys_still_verify() {
    assert!(
        verifier()
            .verify(&headers(VECTOR_SIG), SHUFFLED.as_bytes())
            .is_ok()
    );
    // Header names are case-insensitive, and name/value pairs work as well as a HeaderMap.
    let pairs = [("Rocheap-Api-Signature", VECTOR_SIG)];
    assert!(verifier().verify(&pairs, SHUFFLED.as_bytes()).is_ok());
    // Through the shared trait, as a generic receiver would call it.
    let v: &dyn WebhookVerifier<Verified = Verified, Error = WebhookError> = &verifier();
    assert!(v.verify(&headers(VECTOR_SIG), SHUFFLED.as_bytes()).is_ok());
}

/// ROCheap sends 64 lowercase hex characters (Node's `digest('hex')`). Any other spelling
/// of the same MAC is refused as malformed: a malleable signature defeats dedupe on it.
#[test]
fn uppercase_prefixed_or_padded_signatures_are_malformed() {
    for bad in [
        VECTOR_SIG.to_ascii_uppercase(),
        format!("sha256={VECTOR_SIG}"),
        format!(" {VECTOR_SIG}"),
        format!("{VECTOR_SIG} "),
        format!("{} {}", &VECTOR_SIG[..32], &VECTOR_SIG[32..]),
        format!("{VECTOR_SIG}00"),
        VECTOR_SIG[..62].to_string(),
    ] {
        let pairs = [(SIGNATURE_HEADER, bad.as_str())];
        let e = verifier().verify(&pairs, CANONICAL.as_bytes()).unwrap_err();
        assert!(
            matches!(
                e,
                WebhookError::MalformedHeader {
                    header: SIGNATURE_HEADER,
                    ..
                }
            ),
            "{bad:?}: {e:?}"
        );
    }
}

#[test]
fn tampered_body_fails() {
    let tampered = CANONICAL.replace("\"robux\":8", "\"robux\":800");
    let e = verifier()
        .verify(&headers(VECTOR_SIG), tampered.as_bytes())
        .unwrap_err();
    assert!(matches!(e, WebhookError::SignatureMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("raw request body"));
    // A body that is no longer JSON fails earlier, with its own error.
    let e = verifier()
        .verify(&headers(VECTOR_SIG), &CANONICAL.as_bytes()[..40])
        .unwrap_err();
    assert!(matches!(e, WebhookError::InvalidBody(_)), "{e:?}");
}

#[test]
fn wrong_key_fails() {
    let e = Verifier::new("another_key")
        .verify(&headers(VECTOR_SIG), CANONICAL.as_bytes())
        .unwrap_err();
    assert!(matches!(e, WebhookError::SignatureMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("your API key"));
}

#[test]
fn missing_or_malformed_header_fails_distinctly() {
    let none: [(&str, &str); 0] = [];
    assert_eq!(
        verifier().verify(&none, CANONICAL.as_bytes()).unwrap_err(),
        WebhookError::MissingHeader(SIGNATURE_HEADER)
    );
    for bad in ["not-hex", "abcd", ""] {
        let pairs = [(SIGNATURE_HEADER, bad)];
        assert!(matches!(
            verifier().verify(&pairs, CANONICAL.as_bytes()).unwrap_err(),
            WebhookError::MalformedHeader { .. }
        ));
    }
}

#[test]
fn any_of_several_keys_verifies_during_rotation() {
    let rotating = Verifier::new("new_key").secret(VECTOR_KEY);
    assert!(rotating.verify(&headers(VECTOR_SIG), SHUFFLED.as_bytes()).is_ok());
    assert!(
        Verifier::new("new_key")
            .verify(&headers(VECTOR_SIG), SHUFFLED.as_bytes())
            .is_err()
    );
    // An empty key authenticates nothing: it is not configured at all.
    assert_eq!(
        Verifier::new("")
            .verify(&headers(VECTOR_SIG), SHUFFLED.as_bytes())
            .unwrap_err(),
        WebhookError::NoSecret
    );
    assert!(!format!("{rotating:?}").contains(VECTOR_KEY));
}

#[test]
fn verified_at_reads_the_injected_clock() {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let v = verifier()
        .clock(FixedClock(at))
        .verify(&headers(VECTOR_SIG), CANONICAL.as_bytes())
        .unwrap();
    assert_eq!(v.received_at(), at);
}

#[test]
fn signature_over_the_raw_body_is_accepted_too() {
    // A sender that signs exactly the bytes it sends (already compact and sorted or not).
    let raw = br#"{"status":{"code":"COMPLETED"},"order_id":"o1","success":true}"#;
    let sig = payout_core::webhook::to_hex(&payout_core::webhook::hmac_sha256(VECTOR_KEY.as_bytes(), &[raw]));
    assert!(verifier().verify(&headers(&sig), raw).is_ok());
}

/// A verified callback whose body is not the order shape we know (a type changed, a field
/// missing) is not rejected: it parses to `Unparsed` with the raw JSON and the decode error.
#[test]
fn verified_body_that_does_not_decode_as_an_order_is_unparsed_not_rejected() {
    for body in [
        &br#"{"success":true}"#[..],
        br#"{"success":true,"order_id":"o1","status":{"code":"COMPLETED"},"robux":"ten"}"#,
    ] {
        let signed = webhook::sign(VECTOR_KEY, body, SystemTime::now());
        let v = verifier().verify(&signed, body).unwrap();
        match v.parse().unwrap() {
            Callback::Unparsed { raw, error } => {
                assert_eq!(raw["success"], true);
                assert!(!error.is_empty());
            }
            other => panic!("expected Unparsed, got {other:?}"),
        }
    }
}
