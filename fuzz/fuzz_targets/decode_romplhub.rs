//! RomplHub's response decoders (every endpoint's `decode`, its own decoders for secrets,
//! product and pack lists, 2FA answers and deletions, and the FastAPI-style `{"detail": ...}`
//! error decoder for non-2xx) on arbitrary and mutated documented bodies.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use payout_core::ApiClient;
use payout_fuzz::{CREDENTIAL, Decode, ProviderHarness, decoder};

const DECODERS: &[Decode] = &[
    decoder::<romplhub::auth::Register>,
    decoder::<romplhub::auth::Login>,
    decoder::<romplhub::auth::CreateApiKey>,
    decoder::<romplhub::products::ListProducts>,
    decoder::<romplhub::orders::CreateOrder>,
    decoder::<romplhub::orders::ListOrders>,
    decoder::<romplhub::orders::GetOrder>,
    decoder::<romplhub::orders::SubmitTwoFactor>,
    decoder::<romplhub::packs::CreatePack>,
    decoder::<romplhub::packs::ListPacks>,
    decoder::<romplhub::packs::DeletePack>,
    decoder::<romplhub::packs::OrderPack>,
    decoder::<romplhub::balance::GetBalance>,
    decoder::<romplhub::balance::TopUpRequest>,
];

/// RomplHub's documented bodies (API Documentation page), plus the FastAPI error shapes.
const SEEDS: &[&str] = &[
    r#"{"access_token":"eyJhbG...","token_type":"bearer","user_id":1,"username":"myuser"}"#,
    r#"{"order_uid":"VX-5A8115EA","status":"pending","tokens_charged":3,"product_robux":2200}"#,
    r#"{"order_uid":"VX-5A8115EA","status":"completed","product_name":"2200 Robux","tokens_charged":100,"robux_before":150,"robux_after":2350,"robux_granted":2200}"#,
    r#"{"total":1,"orders":[{"order_uid":"VX-5A8115EA","status":"failed","error_message":"x","tokens_charged":100}]}"#,
    r#"[{"id":"robux_2200","robux":2200,"tokens":100,"usd":19.99}]"#,
    r#"{"id":7,"name":"Starter Bundle","items":[{"product":"robux_550","quantity":2},{"product":"robux_1000","quantity":1}],"total_tokens":95,"total_robux":2100}"#,
    r#"{"tokens":485,"pending_topups":0}"#,
    r#"{"tokens_amount":250,"wallet_address":"TXkG9f3w...Rp4mD7","status":"pending"}"#,
    r#"{"api_key":"vx_abc"}"#,
    r#"{"detail":"Insufficient token balance"}"#,
    r#"{"detail":[{"loc":["body","quantity"],"msg":"ensure this value is greater than 0","type":"value_error"}]}"#,
];

fn harness() -> &'static ProviderHarness {
    static H: OnceLock<ProviderHarness> = OnceLock::new();
    H.get_or_init(|| {
        ProviderHarness::start(|base, options| {
            let client = romplhub::Client::builder()
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
