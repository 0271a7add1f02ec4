#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub(crate) mod api;
pub mod auth;
pub mod balance;
mod client;
mod endpoints;
pub mod error;
pub mod orders;
pub mod packs;
pub mod products;
#[cfg(feature = "sandbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "sandbox")))]
pub mod sandbox;
mod serde_util;
pub mod webhook;

pub use auth::{ApiKey, AuthToken, CreateApiKey, Login, Register, UserId};
pub use balance::{Balance, GetBalance, TopUp, TopUpRequest, TopUpStatus};
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, ENV_API_KEY, ENV_BASE_URL, RATE_LIMIT_PER_MINUTE,
    rate_limit_spec, rate_limiter,
};
pub use error::ErrorCode;
pub use orders::{
    CANDIDATE_SCAN_LIMIT, CreateOrder, DEFAULT_PAGE_SIZE, GetOrder, ListOrders, Order, OrderList,
    OrderStatus, OrderUid, SubmitTwoFactor, TwoFactorSubmitted, WLID_FEE_TOKENS, WlidTokens,
};
pub use packs::{CreatePack, DeletePack, Deleted, ListPacks, OrderPack, Pack, PackId, PackItem, Totals};
pub use payout_core::webhook::WebhookError;
pub use products::{ListProducts, Product, ProductId};
pub use webhook::{Confirmation, WebhookEvent, WebhookOrder};

pub use payout_core::{
    ApiClient, CircuitBreaker, ClientOptions, Decimal, Endpoint, Error, ErrorKind, OnLookupError, Page,
    PollOptions, RateLimiter, Result, RetryPolicy, Safety, SecretString, Timestamp,
};

/// The provider name used in errors and traces.
pub(crate) const PROVIDER: &str = "romplhub";
