//! xRocket's **older Pay API** (`https://pay.xrocket.tg/`, a `Rocket-Pay-Key` header,
//! `{success, data}` bodies, `tg-invoices`, `multi-cheque` and `app/transfer`): the API that
//! xRocket's own TypeScript SDK and the Python clients speak. The crate root covers the current
//! `/api/v1` API; the two are different APIs with different tokens, paths and webhooks.
//! `docs/xrocket.md` says which one your app uses.
//!
//! Everything here follows the same contract as the crate root (and every other provider
//! crate of this workspace): [`Client::from_env`], [`Client::builder`], resource handlers
//! (`client.transfers().create(&req)`), request values sent with [`Client::send`],
//! [`ErrorCode::of`], `wait_until_final(id, &PollOptions)`.
//!
//! ```no_run
//! # async fn run() -> xrocket::Result<()> {
//! use xrocket::legacy::{Client, CreateTransfer};
//! use xrocket::{Decimal, Keyed};
//! let client = Client::from_env()?; // XROCKET_LEGACY_API_KEY, optional XROCKET_LEGACY_BASE_URL
//! let req = CreateTransfer::new(87209764, "TONCOIN", Decimal::new(123, 2));
//! println!("store this before sending: {}", req.key()); // the transferId
//! let transfer = client.transfers().create(&req).await?;
//! println!("xRocket's id: {}", transfer.id);
//! # Ok(()) }
//! ```
//!
//! **Which call is protected how** (xRocket Pay API 1.3.1):
//!
//! | call | your id | lookup by it | on an unknown outcome |
//! |---|---|---|---|
//! | [`Transfers::create`] | `transferId` (generated when the value is built) | none | never re-sent; [`crate::ErrorKind::Ambiguous`] with the `transferId` |
//! | [`Withdrawals::create`] | `withdrawalId` (generated when the value is built) | `GET /app/withdrawal/status/{withdrawalId}` | never re-sent; looked up by `withdrawalId`, `Ok` if found and equal, else `Ambiguous` |
//! | [`Cheques::create`] | none | none | never re-sent; `Ambiguous` (find it in the list by a marker in `description`) |
//! | [`Invoices::create`] | none (put yours in `payload`) | none | never re-sent; `Ambiguous` (moves no money: find it in the list or create another) |

pub(crate) mod client;
pub(crate) mod error;
pub(crate) mod wire;

pub mod app;
pub mod cheques;
pub mod currencies;
pub mod invoices;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod transfers;
pub mod webhook;
pub mod withdrawals;

pub use app::{AppBalance, AppInfo, GetAppInfo, GetHealth, GetVersion, Health, Version};
pub use cheques::{
    Cheque, ChequeId, ChequeState, Cheques, CreateCheque, DeleteCheque, GetCheque, ListCheques, ShortCheque,
    TgResource, UpdateCheque,
};
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL};
pub use currencies::{Coin, CoinFee, CoinNetwork, Fee, ListCurrencies};
pub use error::{ErrorCode, FieldError};
pub use invoices::{
    CreateInvoice, DeleteInvoice, FullInvoice, GetInvoice, Invoice, InvoiceId, InvoicePayment, InvoiceStatus,
    Invoices, ListInvoices,
};
pub use transfers::{CreateTransfer, Transfer, TransferId, Transfers};
pub use withdrawals::{
    CreateWithdrawal, GetWithdrawalFees, GetWithdrawalLink, GetWithdrawalStatus, Network, NetworkFee,
    Withdrawal, WithdrawalCoin, WithdrawalLink, WithdrawalStatus, Withdrawals,
};

/// One page of a legacy list (`limit`/`offset` paging; `next` is the next offset).
pub type Page<T> = payout_core::Page<T, u64>;
