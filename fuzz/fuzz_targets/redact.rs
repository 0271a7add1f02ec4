//! Redaction: whatever surrounds a secret (any bytes, invalid UTF-8, digits, JSON escaping),
//! neither `redact_snippet` nor `Transport::scrub_with` lets it through, in plain form or in
//! the JSON-escaped forms the transport promises to mask; and snippets respect their length.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use payout_core::error::redact_snippet;
use payout_core::{SecretString, Transport, TransportConfig};

#[derive(Debug, Arbitrary)]
enum Form {
    Plain,
    /// As serde_json writes it inside a string.
    Json,
    /// As PHP's json_encode writes it by default (`/` as `\/`).
    PhpSlashes,
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    secret: &'a str,
    before: &'a [u8],
    after: &'a [u8],
    form: Form,
    max: u16,
    via_transport: bool,
}

fn transport() -> &'static Transport {
    static T: OnceLock<Transport> = OnceLock::new();
    T.get_or_init(|| {
        Transport::new(TransportConfig {
            provider: "fuzz",
            version: "0",
            base_url: "http://127.0.0.1:9".into(),
            credential: None,
            auth: payout_core::AuthScheme::Bearer,
            request_id_headers: &[],
            error_decoder: std::sync::Arc::new(
                |_: u16, _: &payout_core::reqwest::header::HeaderMap, _: &[u8]| {
                    payout_core::ErrorInfo::default()
                },
            ),
            options: payout_core::ClientOptions::default(),
        })
        .expect("transport")
    })
}

/// Characters of the masks themselves: a secret made of them could "appear" in the output
/// by spelling `[REDACTED]`, which would not be a leak.
fn could_be_spelled_by_masks(secret: &str) -> bool {
    secret.contains('[')
        || secret.contains(']')
        || secret.contains('…')
        || secret.chars().any(|c| c.is_ascii_uppercase())
}

fuzz_target!(|input: Input| {
    let secret = input.secret;
    let max = usize::from(input.max % 600) + 1;
    let embedded = match input.form {
        Form::Plain => secret.to_string(),
        Form::Json => {
            let j = serde_json::to_string(secret).unwrap_or_default();
            j[1..j.len() - 1].to_string()
        }
        Form::PhpSlashes => {
            let j = serde_json::to_string(secret).unwrap_or_default();
            j[1..j.len() - 1].replace('/', "\\/")
        }
    };
    let mut body = input.before.to_vec();
    body.extend_from_slice(embedded.as_bytes());
    body.extend_from_slice(input.after);

    let out = if input.via_transport {
        transport().scrub_with(&body, max, &[SecretString::from(secret.to_string())])
    } else {
        match input.form {
            // redact_snippet masks only the forms it is given.
            Form::Plain => redact_snippet(&body, max, &[secret]),
            _ => redact_snippet(&body, max, &[secret, &embedded]),
        }
    };
    assert!(out.chars().count() <= max + 1, "snippet longer than {max}: {out}");
    // 1- and 2-character secrets are never masked (they would mangle every body), and a
    // 3-character one only as a whole token; see `redact_snippet`.
    if secret.chars().count() < 4 || could_be_spelled_by_masks(secret) {
        return;
    }
    for form in [secret, embedded.as_str()] {
        assert!(
            !out.contains(form),
            "secret `{secret}` leaked as `{form}` in: {out}"
        );
    }
});
