#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod cheques;
mod client;
pub mod common;
pub mod currencies;
pub mod error;
pub mod invoices;
mod reconcile;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod transfers;
pub mod webhook;
pub mod withdrawals;

pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, Environment, TESTNET_BASE_URL, TransferNaming};
pub use common::{Asset, Callback, Links, Lookup, Network, RedirectUrls, TargetType};
pub use error::{Problem, ProblemCode};
pub use payout_core::webhook::WebhookError;
pub use payout_core::{
    CircuitBreaker, ClientOptions, Decimal, Error, ErrorKind, IdempotencyKey, Page, RateLimiter, Result,
    RetryPolicy, SecretString,
};

pub use app::{App, AppInfo, Balance, Health, HealthStatus};
pub use cheques::{Cheque, ChequeId, ChequeState, Cheques, CreateCheque, ListCheques, UpdateCheque};
pub use currencies::{Currencies, Currency, CurrencyKind, CurrencyNetwork, Rate, RatesQuery};
pub use invoices::{
    ChainTx, CreateInvoice, Customer, Invoice, InvoiceId, InvoicePayment, InvoiceStatus, Invoices,
    ListInvoicePayments, ListInvoices, Payer, PaymentAddress, PaymentStatus, Transaction, TransactionStatus,
    TransactionType,
};
pub use transfers::{
    CreateTransfer, ListTransfers, MassTransfer, MassTransferFailure, MassTransferItem, MassTransferResult,
    Transfer, TransferId, TransferStatus, Transfers,
};
pub use withdrawals::{
    CreateWithdrawal, ListWithdrawals, Withdrawal, WithdrawalId, WithdrawalLink, WithdrawalLinkRequest,
    WithdrawalQuotas, WithdrawalStatus, Withdrawals,
};
