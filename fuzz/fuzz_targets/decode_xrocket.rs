//! xRocket Pay's response decoders (every endpoint's `decode`, cursor pages, and the
//! problem+json error decoder for non-2xx) on arbitrary and mutated documented bodies.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use payout_core::ApiClient;
use payout_fuzz::{CREDENTIAL, Decode, ProviderHarness, decoder};

const DECODERS: &[Decode] = &[
    decoder::<xrocket::app::HealthCheck>,
    decoder::<xrocket::app::GetAppInfo>,
    decoder::<xrocket::app::GetBalances>,
    decoder::<xrocket::currencies::ListCurrencies>,
    decoder::<xrocket::currencies::RatesQuery>,
    decoder::<xrocket::invoices::CreateInvoice>,
    decoder::<xrocket::invoices::ListInvoices>,
    decoder::<xrocket::invoices::GetInvoice>,
    decoder::<xrocket::invoices::DeleteInvoice>,
    decoder::<xrocket::invoices::ListInvoicePayments>,
    decoder::<xrocket::invoices::GetPaymentAddress>,
    decoder::<xrocket::invoices::PayInvoiceTest>,
    decoder::<xrocket::cheques::CreateCheque>,
    decoder::<xrocket::cheques::ListCheques>,
    decoder::<xrocket::cheques::GetCheque>,
    decoder::<xrocket::cheques::UpdateChequeRequest>,
    decoder::<xrocket::cheques::DeleteCheque>,
    decoder::<xrocket::transfers::CreateTransfer>,
    decoder::<xrocket::transfers::ListTransfers>,
    decoder::<xrocket::transfers::GetTransfer>,
    decoder::<xrocket::transfers::MassTransfer>,
    decoder::<xrocket::withdrawals::WithdrawalLinkRequest>,
    decoder::<xrocket::withdrawals::CreateWithdrawal>,
    decoder::<xrocket::withdrawals::ListWithdrawals>,
    decoder::<xrocket::withdrawals::GetWithdrawal>,
    decoder::<xrocket::withdrawals::GetWithdrawalQuotas>,
];

const SEEDS: &[&str] = &[
    r#"{"transferId":"123321232","clientTransferId":"123456789","target":"87209764","targetType":"telegram_user_id","asset":"TONCOIN","amount":"1.23","description":"You are awesome!"}"#,
    r#"{"withdrawalId":"9","clientWithdrawalId":"w-1","network":"TON","address":"UQ..","asset":"TONCOIN","amount":"2.5","status":"COMPLETED"}"#,
    r#"{"chequeId":"77","clientChequeId":"c-1","asset":"USDT","amount":"10","status":"active"}"#,
    r#"{"items":[{"transferId":"1","clientTransferId":"a","asset":"TONCOIN","amount":"1"}],"pagination":{"nextCursor":"abc"}}"#,
    r#"{"type":"about:blank","title":"Bad Request","status":400,"detail":"amount must be positive","code":"validation_error"}"#,
    r#"{"status":"ok"}"#,
];

fn harness() -> &'static ProviderHarness {
    static H: OnceLock<ProviderHarness> = OnceLock::new();
    H.get_or_init(|| {
        ProviderHarness::start(|base, options| {
            let client = xrocket::Client::builder()
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
