//! RohoPay's response decoders (every endpoint's `decode`, through the `{success, data}`
//! envelope, and the error decoder for non-2xx) on arbitrary and mutated documented bodies.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use payout_core::ApiClient;
use payout_fuzz::{CREDENTIAL, Decode, ProviderHarness, decoder};

const DECODERS: &[Decode] = &[
    decoder::<rohopay::checkout::CheckoutRequest>,
    decoder::<rohopay::mobile_money::CollectRequest>,
    decoder::<rohopay::mobile_money::DisburseRequest>,
    decoder::<rohopay::transactions::GetTransaction>,
    decoder::<rohopay::transactions::ListTransactions>,
    decoder::<rohopay::wallet::GetWalletBalance>,
];

const SEEDS: &[&str] = &[
    r#"{"success":true,"data":{"transaction_id":"01j5m6n7p8q9r0s1t2u3vwxy","internal_reference":"RHP-2024-CARD001","payment_url":"https://payments.rohopay.com/3ds/abc123xyz","status":"pending","amount":75000,"currency":"UGX"}}"#,
    r#"{"success":true,"data":{"internal_reference":"RHP-2024-ABC123","status":"successful","amount":50000,"currency":"UGX"}}"#,
    r#"{"success":false,"message":"Insufficient balance","error_code":"INSUFFICIENT_FUNDS"}"#,
    r#"{"success":true,"data":{"balance":150000,"currency":"UGX"}}"#,
    r#"{"success":true,"data":[{"internal_reference":"RHP-1","status":"failed","amount":1000,"currency":"UGX"}]}"#,
];

fn harness() -> &'static ProviderHarness {
    static H: OnceLock<ProviderHarness> = OnceLock::new();
    H.get_or_init(|| {
        ProviderHarness::start(|base, options| {
            let client = rohopay::Client::builder()
                .api_key(CREDENTIAL.to_string())
                .base_url(base)
                .options(options)
                .build()
                .expect("client");
            client.transport().clone()
        })
    })
}

fuzz_target!(|data: &[u8]| {
    harness().run(DECODERS, SEEDS, data);
});
