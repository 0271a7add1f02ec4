//! `POST /app/transfer`: pay a Telegram user from your app's balance.
//!
//! **Never pays twice.** The request carries **your** `transferId`, generated when the value is
//! built ([`CreateTransfer::key`] through [`payout_core::Keyed`]) so you can store it first.
//! The legacy API has no endpoint that reads or lists transfers, and its answer does not echo
//! `transferId`, so an unknown outcome cannot be looked up: the call is
//! [`payout_core::Safety::Unprotected`]. Once it may have left it is never sent again, and an
//! unknown outcome (timeout, reset, 5xx, an unreadable 2xx) is
//! [`crate::ErrorKind::Ambiguous`] with the `transferId`. xRocket Pay API 1.3.1 says the id
//! exists to prevent double spends (its SDK's README: a repeated `transferId` is rejected), so
//! re-sending the **same value** later cannot pay twice, but the rejection's text is
//! undocumented: after an `Ambiguous`, check the app balance before deciding, and never
//! build a new value for the same payment.

use payout_core::reconcile::outcome_unknown;
use payout_core::{Decimal, Error, ErrorKind, KeySlot, Keyed, Request, Result};
use serde::{Deserialize, Serialize};

use super::client::Client;
use super::wire::{
    check_amount, check_caller_id, check_len, check_required, new_caller_id, number, with_json,
};

payout_core::id! {
    /// xRocket's numeric id of a transfer (the `id` of its answer; not your `transferId`).
    pub struct TransferId(String);
}

/// A transfer as xRocket answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Transfer {
    /// xRocket's id.
    pub id: TransferId,
    /// The recipient's Telegram id.
    pub tg_user_id: i64,
    /// The currency sent.
    pub currency: String,
    /// The amount sent.
    #[serde(with = "number")]
    pub amount: Decimal,
    /// The note to the recipient.
    #[serde(default)]
    pub description: Option<String>,
}

/// `POST /app/transfer`.
///
/// ```
/// use xrocket::legacy::CreateTransfer;
/// use xrocket::{Decimal, Keyed};
/// let t = CreateTransfer::new(87209764, "TONCOIN", Decimal::new(123, 2))
///     .transfer_id("payout-1001")
///     .description("You are awesome!");
/// assert_eq!(t.key(), "payout-1001");
/// # t.validate()?;
/// # Ok::<(), xrocket::Error>(())
/// ```
///
/// Serializes (for a journal) with its `transferId`, so a stored value re-sent later is the
/// same payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTransfer {
    tg_user_id: i64,
    currency: String,
    #[serde(with = "number")]
    amount: Decimal,
    transfer_id: KeySlot,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl CreateTransfer {
    /// `amount` of `currency` (`TONCOIN`, `USDT`, ...) to the Telegram user `tg_user_id` (who
    /// must have started @xRocket). Its `transferId` is a UUID generated on first read and kept
    /// by this value and its clones, unless you give one.
    pub fn new(tg_user_id: i64, currency: impl Into<String>, amount: Decimal) -> Self {
        CreateTransfer {
            tg_user_id,
            currency: currency.into(),
            amount,
            transfer_id: new_caller_id(),
            description: None,
        }
    }

    /// Your id for this transfer instead of the generated one: 1 to 50 of `A-Z a-z 0-9 - _`
    /// (otherwise [`crate::ErrorKind::InvalidInput`] before sending).
    pub fn transfer_id(mut self, id: impl Into<String>) -> Self {
        self.transfer_id = KeySlot::given(id);
        self
    }

    /// A note shown to the recipient.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Checks the value as [`Transfers::create`] will before sending.
    pub fn validate(&self) -> Result<()> {
        if self.tg_user_id <= 0 {
            return Err(Error::invalid_input(
                super::client::PROVIDER,
                "tgUserId",
                "must be a positive Telegram user id",
            ));
        }
        check_required("currency", &self.currency, 50)?;
        check_amount("amount", self.amount)?;
        check_caller_id("transferId", self.transfer_id.get(), 50)?;
        if let Some(d) = &self.description {
            check_len("description", d, 1000)?;
        }
        Ok(())
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let key = self
            .transfer_id
            .to_key()
            .map_err(|e| Error::invalid_input(super::client::PROVIDER, "transferId", e.to_string()))?;
        Ok(with_json(req.path("/app/transfer"), self)?.idempotency_key(key))
    }
}

impl Keyed for CreateTransfer {
    const KEY_NAME: &'static str = "transferId";
    fn key(&self) -> &str {
        self.transfer_id.get()
    }
}

/// Transfers (`client.transfers()`).
#[derive(Debug, Clone, Copy)]
pub struct Transfers<'a> {
    pub(crate) client: &'a Client,
}

impl Transfers<'_> {
    /// Sends the transfer once. An unknown outcome is [`ErrorKind::Ambiguous`] carrying the
    /// `transferId` ([`crate::Error::idempotency_key`]); see the module docs.
    pub async fn create(&self, req: &CreateTransfer) -> Result<Transfer> {
        match self.client.send(req).await {
            Err(e) if e.kind() != ErrorKind::Ambiguous && outcome_unknown(&e) => Err(unprotected(e, req)),
            Err(e) if e.kind() == ErrorKind::Ambiguous => Err(unprotected(e, req)),
            other => other,
        }
    }
}

/// An unknown outcome of a call the legacy API lets no one look up.
fn unprotected(e: Error, req: &CreateTransfer) -> Error {
    let id = req.key();
    let message = format!(
        "{}; the transfer may have been paid: the legacy API cannot look a transfer up, so it was not sent again. Check the app balance; re-send only this same value (transferId `{id}`), never a new one",
        e.message()
    );
    let key = e
        .idempotency_key()
        .cloned()
        .or_else(|| payout_core::IdempotencyKey::new(id).ok());
    e.with_kind(ErrorKind::Ambiguous)
        .with_retryable(false)
        .with_idempotency_key(key)
        .with_message(message)
}
