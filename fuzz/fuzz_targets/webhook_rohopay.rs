//! RohoPay webhooks: `Verifier::verify_headers` then `Verified::parse`, on raw bytes with
//! arbitrary headers (nothing may verify without the secret) and on correctly signed arbitrary
//! bodies (they must verify; parsing and `dedup_key` never panic).
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use payout_core::SecretString;
use payout_fuzz::webhook_headers;
use rohopay::webhook::{SIGNATURE_HEADER, Verifier, sign};

const SECRET: &str = "rohopay-fuzz-secret-3c0f";

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let verifier = Verifier::new(SecretString::from(SECRET));
    if mode & 1 == 1 {
        let body = rest;
        let headers = sign(SECRET, body, UNIX_EPOCH + Duration::from_secs(1_764_547_200));
        let v = verifier
            .verify(&headers, body)
            .unwrap_or_else(|e| panic!("a correctly signed delivery was refused: {e}"));
        if let Ok(event) = v.parse() {
            let _ = (
                event.event_type(),
                event.shape(),
                event.transaction(),
                event.dedup_key(),
            );
        }
    } else {
        let mut u = arbitrary::Unstructured::new(rest);
        let headers = webhook_headers(&mut u, &[SIGNATURE_HEADER]);
        let body = u.take_rest();
        if verifier.verify_headers(&headers[..], body).is_ok() {
            panic!("verified without the secret: {headers:?}");
        }
    }
});
