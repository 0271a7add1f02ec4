//! ROCheap's response decoders (every endpoint's `decode`, through the `{success}` envelope, and
//! the error decoder for non-2xx) on arbitrary and mutated documented bodies.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use payout_core::ApiClient;
use payout_fuzz::{CREDENTIAL, Decode, ProviderHarness, decoder};

const DECODERS: &[Decode] = &[
    decoder::<rocheap::Ping>,
    decoder::<rocheap::CreateOrder>,
    decoder::<rocheap::GetOrder>,
    decoder::<rocheap::GetOrderByCustomId>,
    decoder::<rocheap::GetBalance>,
];

const SEEDS: &[&str] = &[
    r#"{"after_tax_robux":6,"cost":0.044,"custom_order_id":null,"delivery_method":"gamepass","failure_code":{"code":"ORDER_FAILED_USER_ERROR","message":"x"},"gamepass_id":424,"gamepass_product_id":242536,"order_id":"38d7e48a-74e2-4022-b018-4cd1431599cf","place_id":366,"receiver_roblox_user_id":261,"receiver_roblox_username":"Shedletsky","robux":8,"status":{"code":"FAILED","message":"Order has failed!"},"success":true,"universe_id":25}"#,
    r#"{"success":false,"error":{"code":"INSUFFICIENT_BALANCE","message":"Not enough credit"}}"#,
    r#"{"success":true,"message":"pong"}"#,
    r#"{"success":true,"balance":12.5,"credit":"12.50"}"#,
];

fn harness() -> &'static ProviderHarness {
    static H: OnceLock<ProviderHarness> = OnceLock::new();
    H.get_or_init(|| {
        ProviderHarness::start(|base, options| {
            let client = rocheap::Client::builder()
                .api_key(CREDENTIAL)
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
