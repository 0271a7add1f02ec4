#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod account;
pub(crate) mod api;
mod canonical;
mod client;
mod endpoints;
pub mod error;
pub mod orders;
#[cfg(feature = "sandbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "sandbox")))]
pub mod sandbox;
pub mod webhook;

pub use account::{Balance, GetBalance, Ping, Pong};
pub use client::{API_KEY_HEADER, Client, ClientBuilder, DEFAULT_BASE_URL};
pub use error::ErrorCode;
pub use orders::{CreateOrder, GetOrder, GetOrderByCustomId, Order, OrderId, OrderStatus, Orders};
pub use payout_core::webhook::WebhookError;
pub use payout_core::{
    ApiClient, CircuitBreaker, ClientOptions, Decimal, Endpoint, Error, ErrorKind, IdempotencyKey, Keyed,
    PollOptions, ProviderErrorCode, RateLimiter, ReconcilePolicy, Result, RetryPolicy, SecretString,
    Timestamp,
};
