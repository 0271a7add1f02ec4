#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub(crate) mod api;
pub mod app;
pub mod cheques;
mod client;
pub mod common;
pub mod currencies;
mod endpoints;
pub mod error;
pub mod invoices;
pub mod legacy;
#[cfg(feature = "sandbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "sandbox")))]
pub mod sandbox;
pub mod transfers;
pub mod webhook;
pub mod withdrawals;

pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, Environment, TESTNET_BASE_URL, TransferNaming};
pub use common::{Asset, Callback, Links, Lookup, Network, RedirectUrls, TargetType};
pub use error::{ErrorCode, Problem};
pub use payout_core::webhook::WebhookError;
pub use payout_core::{
    ApiClient, CircuitBreaker, ClientOptions, Decimal, Endpoint, Error, ErrorKind, IdempotencyKey, Keyed,
    OnLookupError, Page, PollOptions, RateLimiter, ReconcilePolicy, Result, RetryPolicy, SecretString,
    Timestamp,
};

pub use app::{App, AppInfo, Balance, GetAppInfo, GetBalances, Health, HealthCheck, HealthStatus};
pub use cheques::{
    Cheque, ChequeId, ChequeState, Cheques, CreateCheque, DeleteCheque, GetCheque, ListCheques, UpdateCheque,
    UpdateChequeRequest,
};
pub use currencies::{Currencies, Currency, CurrencyKind, CurrencyNetwork, ListCurrencies, Rate, RatesQuery};
pub use invoices::{
    ChainTx, CreateInvoice, Customer, DeleteInvoice, GetInvoice, GetPaymentAddress, Invoice, InvoiceId,
    InvoicePayment, InvoiceStatus, Invoices, ListInvoicePayments, ListInvoices, PayInvoiceTest, Payer,
    PaymentAddress, PaymentStatus, Transaction, TransactionStatus, TransactionType,
};
pub use transfers::{
    CreateTransfer, GetTransfer, ListTransfers, MassTransfer, MassTransferFailure, MassTransferItem,
    MassTransferResult, Transfer, TransferId, TransferStatus, Transfers,
};
pub use withdrawals::{
    CreateWithdrawal, GetWithdrawal, GetWithdrawalQuotas, ListWithdrawals, Withdrawal, WithdrawalId,
    WithdrawalLink, WithdrawalLinkRequest, WithdrawalQuotas, WithdrawalStatus, Withdrawals,
};
