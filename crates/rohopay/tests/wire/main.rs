//! Wire tests for every RohoPay endpoint against httpmock on loopback: exact method, path,
//! query, auth, content type and body as documented, the documented responses and errors,
//! the retry/idempotency behaviour of the money-moving calls, webhooks and the leak test.

mod checkout;
mod client;
mod common;
mod contract;
#[cfg(feature = "axum")]
mod intake;
mod keys;
mod leak;
mod mobile_money;
#[cfg(feature = "sandbox")]
mod sandbox;
mod transactions;
mod wallet;
mod webhook;
