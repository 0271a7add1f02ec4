//! The strict webhook signature form: exactly 64 lowercase hex characters, nothing else,
//! and the accepted form is the only spelling of that digest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payout_core::webhook::{from_hex, strict_hex_digest, to_hex};

fuzz_target!(|sig: &str| {
    let expected_ok = sig.len() == 64 && sig.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match strict_hex_digest(sig, "x-signature") {
        Ok(digest) => {
            assert!(expected_ok, "`{sig}` accepted");
            assert_eq!(to_hex(&digest), sig, "not the one spelling of the digest");
        }
        Err(e) => {
            assert!(!expected_ok, "`{sig}` refused: {e}");
            // The message names the header and the rule, never echoes the value.
            let msg = e.to_string();
            assert!(
                msg == "webhook header `x-signature` is malformed: expected exactly 64 lowercase hex characters (an HMAC-SHA256 digest)"
                    || msg
                        == "webhook header `x-signature` is malformed: expected lowercase hex characters only (0-9, a-f)",
                "unexpected message: {msg}"
            );
        }
    }
    // The lenient decoder agrees with to_hex on anything it accepts.
    if let Some(bytes) = from_hex(sig) {
        assert_eq!(to_hex(&bytes), sig.to_ascii_lowercase());
    }
});
