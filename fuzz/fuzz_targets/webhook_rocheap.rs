//! ROCheap callbacks: `Verifier::verify` then `Verified::parse`, on raw bytes with arbitrary
//! headers (nothing may verify without the key) and on correctly signed arbitrary bodies (the
//! canonicaliser runs on every byte sequence; any JSON serde_json accepts must verify).
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use payout_fuzz::webhook_headers;
use rocheap::webhook::{SIGNATURE_HEADER, Verifier, sign};

const KEY: &str = "rocheap-fuzz-key-7d1e";

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let verifier = Verifier::new(KEY);
    if mode & 1 == 1 {
        let body = rest;
        let headers = sign(KEY, body, UNIX_EPOCH + Duration::from_secs(1_764_547_200));
        let verified = verifier.verify(&headers, body);
        let is_json = serde_json::from_slice::<serde_json::Value>(body).is_ok();
        match verified {
            Ok(v) => {
                assert_eq!(v.body(), body);
                let parsed = v.parse();
                assert!(
                    parsed.is_ok() || !is_json,
                    "valid JSON refused by parse: {parsed:?}"
                );
            }
            Err(e) => assert!(!is_json, "a correctly signed JSON callback was refused: {e}"),
        }
    } else {
        let mut u = arbitrary::Unstructured::new(rest);
        let headers = webhook_headers(&mut u, &[SIGNATURE_HEADER, "content-type"]);
        let body = u.take_rest();
        if let Ok(v) = verifier.verify(&headers[..], body) {
            panic!("verified without the key: {headers:?} {:?}", v.body());
        }
    }
});
