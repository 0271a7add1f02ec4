//! The agent catalog's response decoders (every endpoint's `decode`, lists that refuse a wrong
//! shape, and the error decoder for non-2xx) on arbitrary and mutated documented bodies.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use payout_core::ApiClient;
use payout_fuzz::{CREDENTIAL, Decode, ProviderHarness, decoder};

const DECODERS: &[Decode] = &[
    decoder::<agent_catalog::catalog::ListProductTypes>,
    decoder::<agent_catalog::catalog::ListProductCategories>,
    decoder::<agent_catalog::catalog::ProductFilter>,
    decoder::<agent_catalog::catalog::GetProduct>,
    decoder::<agent_catalog::orders::OrderFilter>,
    decoder::<agent_catalog::orders::CreateOrder>,
    decoder::<agent_catalog::orders::GetOrder>,
    decoder::<agent_catalog::balance::GetBalance>,
    decoder::<agent_catalog::deposits::DepositFilter>,
    decoder::<agent_catalog::health::HealthCheck>,
];

const SEEDS: &[&str] = &[
    r#"{"items":[{"id":456,"name":"Steam 10 USD","slug":"steam-10","category_id":1,"product_type_id":2,"region_code":"US","currency_code":"USD","logo":null,"price":10,"min_amount":null,"max_amount":null,"step":null,"description":"","is_active":true}],"page":1,"pageSize":20,"total":1}"#,
    r#"{"id":9001,"product_id":456,"external_ref":"INV-1001","status":"completed","quantity":1,"price":"10.00","currency_code":"USD","content":{"voucher_code":"ABCD-EFGH-IJKL"}}"#,
    r#"{"items":[{"currency_code":"USD","available":"87.50","available_minor":8750,"updated_at":"2026-12-01T10:00:00Z"}]}"#,
    r#"{"error":"insufficient_balance","message":"Not enough balance"}"#,
    r#"{"status":"ok"}"#,
];

fn harness() -> &'static ProviderHarness {
    static H: OnceLock<ProviderHarness> = OnceLock::new();
    H.get_or_init(|| {
        ProviderHarness::start(|base, options| {
            let client = agent_catalog::Client::builder()
                .api_key(CREDENTIAL)
                .agent_id("5f0c6a8e-1b2c-4d3e-8f9a-0b1c2d3e4f50")
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
