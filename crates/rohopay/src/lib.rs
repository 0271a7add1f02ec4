#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod checkout;
mod client;
pub mod error;
pub mod mobile_money;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod transactions;
mod validate;
pub mod wallet;
pub mod webhook;

pub use checkout::{
    Card, Checkout, CheckoutRequest, CheckoutSession, Confirmation, ReturnStatus, UntrustedCheckoutReturn,
};
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, Environment, SANDBOX_BASE_URL, rate_limits};
pub use error::{ErrorCode, ErrorExt};
pub use mobile_money::{CollectRequest, DisburseRequest, Initiated, MobileMoney};
pub use transactions::{
    Currency, ListTransactions, PaymentMethod, Transaction, TransactionEnvironment, TransactionStatus,
    TransactionType, Transactions, UpstreamProvider,
};
pub use wallet::{Wallet, WalletBalance};

pub use payout_core::{
    CircuitBreaker, Decimal, Error, ErrorKind, IdempotencyKey, Page, RateLimiter, Result, RetryPolicy,
    SecretString,
};
