#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod dedupe;
mod error;
mod journal;
#[cfg(feature = "postgres")]
mod pool;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
pub mod sqlite;
pub mod store;

pub use error::{Error, Result};
#[doc(hidden)]
pub use journal::Checkpoint;
pub use journal::{Candidates, Decision, Journal, RecoveryReport, Unresolved};
pub use store::{IntentRecord, State, Store};
