//! Callback verification: ROCheap POSTs the order to your callback URL whenever its status
//! changes, signed in the `rocheap-api-signature` header.
//!
//! The signature is HMAC-SHA256, keyed with **your API key**, over the body with every
//! object's keys sorted recursively and printed as compact JSON (JavaScript's
//! `JSON.stringify`), in lowercase hex. [`verify`] reproduces that byte for byte, compares in
//! constant time, and never parses the body into your types; [`Verified::parse`] does that
//! afterwards.
//!
//! ```
//! use rocheap::webhook;
//! use rocheap::SecretString;
//! let key = SecretString::from("test_api_key");
//! let body = br#"{"success":true,"order_id":"o1","status":{"code":"COMPLETED","message":"done"}}"#;
//! let signature = webhook::sign(body, &key).unwrap();
//! let headers = [("rocheap-api-signature", signature.as_str())];
//! let order = webhook::verify(&headers, body, &key).unwrap().parse().unwrap();
//! assert!(order.status.code.is_final());
//! ```
//!
//! Callbacks may arrive more than once or out of order (ROCheap documents no retry policy):
//! make your handler idempotent on `(order_id, status.code)`, answer `200` quickly, and treat
//! a `COMPLETED` you already processed as a no-op.

use payout_core::SecretString;
use payout_core::webhook::{Headers, WebhookError, any_secret_matches, from_hex, hmac_sha256, to_hex};
use secrecy::ExposeSecret;

use crate::orders::Order;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "rocheap-api-signature";

const HINT: &str = "ROCheap signs callbacks with your API key, the same value you send in `rocheap-api-key`";

/// A callback whose signature checked out. Parse it with [`Verified::parse`].
#[derive(Debug, Clone, Copy)]
pub struct Verified<'a> {
    body: &'a [u8],
}

impl<'a> Verified<'a> {
    /// The verified raw body.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Parses the verified body into the order it reports.
    ///
    /// # Errors
    /// [`WebhookError::InvalidBody`] if it is not an order.
    pub fn parse(&self) -> Result<Order, WebhookError> {
        serde_json::from_slice(self.body).map_err(|e| WebhookError::InvalidBody(e.to_string()))
    }
}

/// Verifies a callback with your API key. `headers` is your framework's header map (an
/// `http::HeaderMap` as axum gives it, or a slice of name/value pairs); `body` is the raw
/// request body exactly as received.
///
/// # Errors
/// * [`WebhookError::MissingHeader`]: no `rocheap-api-signature` header;
/// * [`WebhookError::MalformedHeader`]: not 64 hex characters;
/// * [`WebhookError::InvalidBody`]: the body is not JSON (so it cannot be canonicalized);
/// * [`WebhookError::SignatureMismatch`]: a different key, or a modified body. The two
///   cannot be told apart by design: an HMAC reveals nothing about which input differs.
pub fn verify<'a, H: Headers + ?Sized>(
    headers: &H,
    body: &'a [u8],
    api_key: &SecretString,
) -> Result<Verified<'a>, WebhookError> {
    verify_any(headers, body, std::slice::from_ref(api_key))
}

/// Like [`verify`], accepting a signature made with any of `api_keys` (while you rotate keys).
///
/// # Errors
/// As [`verify`]; [`WebhookError::NoSecret`] if `api_keys` is empty.
pub fn verify_any<'a, H: Headers + ?Sized>(
    headers: &H,
    body: &'a [u8],
    api_keys: &[SecretString],
) -> Result<Verified<'a>, WebhookError> {
    let header = headers
        .header(SIGNATURE_HEADER)
        .ok_or(WebhookError::MissingHeader(SIGNATURE_HEADER))?;
    let expected =
        from_hex(header.trim())
            .filter(|d| d.len() == 32)
            .ok_or(WebhookError::MalformedHeader {
                header: SIGNATURE_HEADER,
                reason: "expected 64 hex characters (an HMAC-SHA256 digest)",
            })?;
    if api_keys.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    let canonical = crate::canonical::canonicalize(body).map_err(WebhookError::InvalidBody)?;
    // The documented scheme signs the canonical form; ROCheap usually sends it already
    // canonical, in which case it equals the raw body. Accepting an HMAC of the raw bytes
    // too costs nothing in security (it is still a MAC with your key over what you received).
    let ok = any_secret_matches(api_keys, &[canonical.as_bytes()], &expected)
        || (canonical.as_bytes() != body && any_secret_matches(api_keys, &[body], &expected));
    if ok {
        Ok(Verified { body })
    } else {
        Err(WebhookError::SignatureMismatch { hint: HINT })
    }
}

/// Computes the signature ROCheap would send for `body`: for tests of your own callback
/// handler.
///
/// # Errors
/// [`WebhookError::InvalidBody`] if `body` is not JSON.
pub fn sign(body: &[u8], api_key: &SecretString) -> Result<String, WebhookError> {
    let canonical = crate::canonical::canonicalize(body).map_err(WebhookError::InvalidBody)?;
    Ok(to_hex(&hmac_sha256(
        api_key.expose_secret().as_bytes(),
        &[canonical.as_bytes()],
    )))
}
