//! Path-segment encoding: whatever a caller passes as an id, the encoded segment is one
//! segment (no `/`, `?`, `#`, no raw non-ASCII), decodes back to exactly the input, and,
//! once placed in a URL the way the transport does, still addresses the same endpoint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payout_core::encode_path_segment;

fuzz_target!(|segment: &str| {
    let enc = encode_path_segment(segment);
    assert!(
        enc.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)),
        "`{enc}` carries a byte that can change the URL's structure"
    );
    let back = percent_encoding::percent_decode_str(&enc).decode_utf8();
    assert_eq!(back.as_deref().ok(), Some(segment), "encoding is not reversible");
    // The transport joins base URL and path and parses the result with the `url` crate
    // (WHATWG rules: `.`, `..`, `%2e` and `%2E%2e` are dot segments and are resolved away).
    if segment.is_empty() {
        return; // An empty id is each crate's validation to refuse (InvalidInput).
    }
    if segment == "." || segment == ".." {
        // Unreserved characters, so they stay as they are, and `%2e` would be resolved just
        // the same: no encoding can keep a dot segment. The transport refuses a path that
        // URL parsing changed (regression test `dot_segment_ids_are_refused_before_sending`).
        return;
    }
    let url = url::Url::parse(&format!("https://api.example.test/v1/orders/{enc}/status"))
        .expect("an encoded segment always forms a URL");
    assert_eq!(
        url.path(),
        format!("/v1/orders/{enc}/status"),
        "id `{segment}` changed which endpoint is called"
    );
});
