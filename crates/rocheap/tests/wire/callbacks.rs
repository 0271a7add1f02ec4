use rocheap::webhook::{self, SIGNATURE_HEADER};
use rocheap::{ErrorCode, OrderStatus, SecretString, WebhookError};

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

fn key() -> SecretString {
    SecretString::from(VECTOR_KEY)
}

#[test]
fn reference_test_vector_verifies() {
    let headers = [(SIGNATURE_HEADER, VECTOR_SIG)];
    let verified = webhook::verify(&headers, CANONICAL.as_bytes(), &key()).unwrap();
    let order = verified.parse().unwrap();
    assert_eq!(order.status.code, OrderStatus::Failed);
    assert_eq!(order.failure(), Some(&ErrorCode::OrderFailedUserError));
    assert_eq!(order.cost.unwrap().to_string(), "0.044");
    assert_eq!(webhook::sign(CANONICAL.as_bytes(), &key()).unwrap(), VECTOR_SIG);
}

#[test]
fn reordered_and_reformatted_keys_still_verify() {
    let headers = [(SIGNATURE_HEADER, VECTOR_SIG)];
    assert!(webhook::verify(&headers, SHUFFLED.as_bytes(), &key()).is_ok());
    // Header names are case-insensitive, and an http::HeaderMap works as is.
    let mut map = payout_core::reqwest::header::HeaderMap::new();
    map.insert("Rocheap-Api-Signature", VECTOR_SIG.parse().unwrap());
    assert!(webhook::verify(&map, SHUFFLED.as_bytes(), &key()).is_ok());
}

#[test]
fn uppercase_hex_signature_is_accepted() {
    let headers = [(SIGNATURE_HEADER, VECTOR_SIG.to_ascii_uppercase())];
    assert!(webhook::verify(&headers, CANONICAL.as_bytes(), &key()).is_ok());
}

#[test]
fn tampered_body_fails() {
    let headers = [(SIGNATURE_HEADER, VECTOR_SIG)];
    let tampered = CANONICAL.replace("\"robux\":8", "\"robux\":800");
    let e = webhook::verify(&headers, tampered.as_bytes(), &key()).unwrap_err();
    assert!(matches!(e, WebhookError::SignatureMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("raw request body"));
    // A body that is no longer JSON fails earlier, with its own error.
    let e = webhook::verify(&headers, &CANONICAL.as_bytes()[..40], &key()).unwrap_err();
    assert!(matches!(e, WebhookError::InvalidBody(_)), "{e:?}");
}

#[test]
fn wrong_key_fails() {
    let headers = [(SIGNATURE_HEADER, VECTOR_SIG)];
    let e = webhook::verify(&headers, CANONICAL.as_bytes(), &SecretString::from("another_key")).unwrap_err();
    assert!(matches!(e, WebhookError::SignatureMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("your API key"));
}

#[test]
fn missing_or_malformed_header_fails_distinctly() {
    let none: [(&str, &str); 0] = [];
    assert_eq!(
        webhook::verify(&none, CANONICAL.as_bytes(), &key()).unwrap_err(),
        WebhookError::MissingHeader(SIGNATURE_HEADER)
    );
    let bad = [(SIGNATURE_HEADER, "not-hex")];
    assert!(matches!(
        webhook::verify(&bad, CANONICAL.as_bytes(), &key()).unwrap_err(),
        WebhookError::MalformedHeader { .. }
    ));
    let short = [(SIGNATURE_HEADER, "abcd")];
    assert!(matches!(
        webhook::verify(&short, CANONICAL.as_bytes(), &key()).unwrap_err(),
        WebhookError::MalformedHeader { .. }
    ));
}

#[test]
fn any_of_several_keys_verifies_during_rotation() {
    let headers = [(SIGNATURE_HEADER, VECTOR_SIG)];
    let keys = [SecretString::from("new_key"), key()];
    assert!(webhook::verify_any(&headers, SHUFFLED.as_bytes(), &keys).is_ok());
    assert_eq!(
        webhook::verify_any(&headers, SHUFFLED.as_bytes(), &[]).unwrap_err(),
        WebhookError::NoSecret
    );
}

#[test]
fn signature_over_the_raw_body_is_accepted_too() {
    // A sender that signs exactly the bytes it sends (already compact and sorted or not).
    let raw = br#"{"status":{"code":"COMPLETED"},"order_id":"o1","success":true}"#;
    let sig = payout_core::webhook::to_hex(&payout_core::webhook::hmac_sha256(VECTOR_KEY.as_bytes(), &[raw]));
    let headers = [(SIGNATURE_HEADER, sig.as_str())];
    assert!(webhook::verify(&headers, raw, &key()).is_ok());
}

#[test]
fn verified_body_that_is_not_an_order_fails_to_parse() {
    let body = br#"{"success":true}"#;
    let sig = webhook::sign(body, &key()).unwrap();
    let headers = [(SIGNATURE_HEADER, sig.as_str())];
    let v = webhook::verify(&headers, body, &key()).unwrap();
    assert!(matches!(v.parse().unwrap_err(), WebhookError::InvalidBody(_)));
}
