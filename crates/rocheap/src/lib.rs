#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod account;
mod canonical;
mod client;
mod envelope;
pub mod error;
pub mod orders;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod webhook;

pub use account::{Balance, Pong};
pub use client::{API_KEY_HEADER, Client, ClientBuilder, DEFAULT_BASE_URL};
pub use error::ErrorCode;
pub use orders::{CreateOrder, Order, OrderId, OrderStatus, Orders, PollOptions};
pub use payout_core::webhook::WebhookError;
pub use payout_core::{
    CircuitBreaker, ClientOptions, Decimal, Error, ErrorKind, IdempotencyKey, RateLimiter, Result,
    RetryPolicy, SecretString,
};
