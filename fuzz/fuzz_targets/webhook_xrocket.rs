//! xRocket Pay webhooks: `Verifier::verify` then `Verified::parse` (and `parse_event`), on raw
//! bytes with arbitrary headers (hostile timestamps included; nothing may verify without the
//! secret) and on correctly signed arbitrary bodies (they must verify; parsing never panics).
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use payout_core::webhook::FixedClock;
use payout_fuzz::webhook_headers;
use xrocket::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, VERSION_HEADER, Verifier, parse_event, sign};

const SECRET: &str = "xrocket-fuzz-secret-91aa";

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let now = UNIX_EPOCH + Duration::from_secs(1_764_547_200);
    let verifier = Verifier::new(SECRET).clock(FixedClock(now));
    if mode & 1 == 1 {
        let body = rest;
        let headers = sign(SECRET, body, now);
        let v = verifier
            .verify(&headers, body)
            .unwrap_or_else(|e| panic!("a correctly signed delivery was refused: {e}"));
        let _ = v.parse();
        let _ = parse_event(body);
    } else {
        let mut u = arbitrary::Unstructured::new(rest);
        let headers = webhook_headers(&mut u, &[SIGNATURE_HEADER, TIMESTAMP_HEADER, VERSION_HEADER]);
        let body = u.take_rest();
        if verifier.verify(&headers[..], body).is_ok() {
            panic!("verified without the secret: {headers:?}");
        }
        let _ = parse_event(body);
    }
});
