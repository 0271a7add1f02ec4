#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod balance;
mod catalog;
mod client;
mod deposits;
mod error;
mod health;
mod list;
mod orders;
#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use balance::{Balance, BalanceApi, Balances, LowBalance, LowBalanceThresholds};
pub use catalog::{
    Catalog, CategoryId, Product, ProductCategories, ProductCategory, ProductFilter, ProductId, ProductType,
    ProductTypeCode, ProductTypeId, ProductTypes, Products,
};
pub use client::{AgentId, Client, ClientBuilder, ENV_AGENT_ID, ENV_API_KEY, ENV_BASE_URL};
pub use deposits::{Deposit, DepositFilter, DepositId, DepositMethod, DepositStatus, Deposits};
pub use error::{ErrorCode, ErrorExt};
pub use health::Health;
pub use orders::{
    CreateOrder, IDEMPOTENCY_HEADER, MAX_EXTERNAL_REF_LEN, Order, OrderContent, OrderFilter, OrderId,
    OrderStatus, Orders, PollOptions, TopupRequest,
};
pub use payout_core::{
    CircuitBreaker, CircuitState, Decimal, Error, ErrorKind, IdempotencyKey, Page, RateLimiter, Result,
    RetryPolicy, SecretString,
};
