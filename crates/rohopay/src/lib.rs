#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub(crate) mod api;
pub mod checkout;
mod client;
mod endpoints;
pub mod error;
pub mod mobile_money;
#[cfg(feature = "sandbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "sandbox")))]
pub mod sandbox;
pub mod transactions;
mod validate;
pub mod wallet;
pub mod webhook;

pub use checkout::{
    Card, Checkout, CheckoutRequest, CheckoutSession, Confirmation, ReturnStatus, UntrustedCheckoutReturn,
};
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, Environment, SANDBOX_BASE_URL, rate_limits};
pub use error::ErrorCode;
pub use mobile_money::{CollectRequest, DisburseRequest, Initiated, MobileMoney};
pub use transactions::{
    Currency, GetTransaction, ListTransactions, PaymentMethod, Transaction, TransactionEnvironment,
    TransactionId, TransactionList, TransactionReference, TransactionStatus, TransactionType, Transactions,
    UpstreamProvider,
};
pub use wallet::{GetWalletBalance, Wallet, WalletBalance};

/// The `reqwest` version payout-core uses (its `HeaderMap` is what [`webhook::Verifier::verify`] takes).
pub use payout_core::reqwest;
pub use payout_core::{
    ApiClient, CircuitBreaker, Decimal, Endpoint, Error, ErrorKind, IdempotencyKey, Keyed, OnLookupError,
    Page, PollOptions, RateLimiter, Result, RetryPolicy, SecretString, Timestamp,
};
