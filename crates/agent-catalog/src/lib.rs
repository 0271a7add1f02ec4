#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod balance;
pub mod catalog;
mod client;
pub mod deposits;
mod endpoints;
pub mod error;
pub mod health;
mod list;
pub mod orders;
#[cfg(feature = "sandbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "sandbox")))]
pub mod sandbox;

pub use balance::{Balance, BalanceApi, Balances, GetBalance, LowBalance, LowBalanceThresholds};
pub use catalog::{
    Catalog, CategoryId, GetProduct, ListProductCategories, ListProductTypes, Product, ProductCategories,
    ProductCategory, ProductFilter, ProductId, ProductType, ProductTypeCode, ProductTypeId, ProductTypes,
    Products,
};
pub use client::{AgentId, Client, ClientBuilder, ENV_AGENT_ID, ENV_API_KEY, ENV_BASE_URL};
pub use deposits::{Deposit, DepositFilter, DepositId, DepositMethod, DepositStatus, Deposits};
pub use error::ErrorCode;
pub use health::{Health, HealthCheck};
pub use list::Listing;
pub use orders::{
    CreateOrder, GetOrder, IDEMPOTENCY_HEADER, MAX_EXTERNAL_REF_LEN, Order, OrderContent, OrderFilter,
    OrderId, OrderStatus, Orders, TopupRequest,
};
pub use payout_core::{
    ApiClient, CircuitBreaker, CircuitState, Decimal, Endpoint, Error, ErrorKind, IdempotencyKey, Keyed,
    Page, PollOptions, ProviderErrorCode, RateLimiter, ReconcilePolicy, Result, RetryPolicy, SecretString,
    Timestamp,
};

/// The default decoder of every endpoint's 2xx body (`api/endpoints.json` names another
/// where an endpoint needs one).
pub(crate) mod api {
    use payout_core::{Response, Result};
    use serde::de::DeserializeOwned;

    /// The body as JSON; a body that does not decode is a `Decode` error keeping the status.
    pub(crate) fn decode<T: DeserializeOwned>(resp: &Response) -> Result<T> {
        resp.json()
    }
}
