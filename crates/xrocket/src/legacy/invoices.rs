//! Invoices paid through the bot (`/tg-invoices`): create, list, get, delete.
//!
//! An invoice moves no money out, and the legacy API has no id of yours for it: put your
//! order id in [`CreateInvoice::payload`] (returned by `get` and in the webhook). The create
//! is sent once; an unknown outcome is [`crate::ErrorKind::Ambiguous`] (find it in the list by
//! its payload, or create another: an unpaid invoice costs nothing).

use std::time::Duration;

use futures_core::Stream;
use payout_core::{Decimal, Error, PollOptions, Request, Result, Timestamp};
use serde::{Deserialize, Serialize};

use super::Page;
use super::client::{Client, PROVIDER};
use super::wire::{
    check_len, check_limit, check_places, check_required, opt_flag, opt_number, opt_u64, segment, with_json,
};

payout_core::id! {
    /// xRocket's id of an invoice (a number in the spec, a string from the live API: kept as
    /// text).
    pub struct InvoiceId(String);
}

payout_core::open_enum! {
    /// The invoice's state. A multi-payment invoice stays `active` until no activations are
    /// left: count payments from the webhook or `payments`, not from this status.
    pub enum InvoiceStatus {
        /// Can be paid.
        Active => "active",
        /// Fully paid.
        Paid => "paid",
        /// Expired unpaid.
        Expired => "expired",
    }
}

impl InvoiceStatus {
    /// `paid` and `expired`.
    pub fn is_final(&self) -> bool {
        matches!(self, InvoiceStatus::Paid | InvoiceStatus::Expired)
    }
}

/// An invoice (`InvoiceDto`). Fields the live API may send as `null` are optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Invoice {
    /// xRocket's id.
    pub id: InvoiceId,
    /// The price per payment (`0` or absent: any amount).
    #[serde(default, with = "opt_number")]
    pub amount: Option<Decimal>,
    /// The minimum payment of a multi-payment invoice.
    #[serde(default, with = "opt_number")]
    pub min_payment: Option<Decimal>,
    /// How many payments the invoice takes (`0`: unlimited).
    #[serde(default, deserialize_with = "opt_u64")]
    pub total_activations: Option<u64>,
    /// How many payments are left.
    #[serde(default, deserialize_with = "opt_u64")]
    pub activations_left: Option<u64>,
    /// Shown to the payer.
    #[serde(default)]
    pub description: Option<String>,
    /// Shown after payment.
    #[serde(default)]
    pub hidden_message: Option<String>,
    /// Your data, hidden from the payer.
    #[serde(default)]
    pub payload: Option<String>,
    /// The Return-button URL.
    #[serde(default)]
    pub callback_url: Option<String>,
    /// Whether payers may comment (a bool or `0`/`1` on the wire).
    #[serde(default, deserialize_with = "opt_flag")]
    pub comments_enabled: Option<bool>,
    /// The currency.
    pub currency: String,
    /// When it was created (`created`, a date-time in xRocket Pay API 1.3.1's `InvoiceDto`,
    /// e.g. `2025-06-26T12:00:00.000Z`), as a [`Timestamp`]: the text as sent, and the instant
    /// ([`Timestamp::unix_seconds`]) when it parses.
    pub created: Timestamp,
    /// When it was last paid (`paid`, a date-time), as a [`Timestamp`]; `None` if never.
    #[serde(default)]
    pub paid: Option<Timestamp>,
    /// The state.
    pub status: InvoiceStatus,
    /// Lifetime in seconds (`0`: never expires).
    #[serde(default, deserialize_with = "opt_u64")]
    pub expired_in: Option<u64>,
    /// The payment link (`https://t.me/xRocket?start=inv_...`).
    pub link: String,
}

/// An invoice with its payments (`GET /tg-invoices/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FullInvoice {
    /// The invoice.
    #[serde(flatten)]
    pub invoice: Invoice,
    /// Every payment so far (required: a body without it is a decode error).
    pub payments: Vec<InvoicePayment>,
}

/// One payment of an invoice (`PayInvoiceStat`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InvoicePayment {
    /// The payer's Telegram id (a number or a string on the wire; kept as text).
    #[serde(deserialize_with = "payout_core::id::string_or_number")]
    pub user_id: String,
    /// Units bought.
    #[serde(default, deserialize_with = "opt_u64")]
    pub payment_num: Option<u64>,
    /// Paid, gross.
    #[serde(with = "super::wire::number")]
    pub payment_amount: Decimal,
    /// Received, net of xRocket's fee.
    #[serde(default, with = "opt_number")]
    pub payment_amount_received: Option<Decimal>,
    /// The payer's comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// When it was paid (`paid`, a date-time in `PayInvoiceStat`), as a [`Timestamp`].
    pub paid: Timestamp,
}

/// `POST /tg-invoices`.
///
/// ```
/// use std::time::Duration;
/// use xrocket::Decimal;
/// use xrocket::legacy::CreateInvoice;
/// let inv = CreateInvoice::new("TONCOIN")
///     .amount(Decimal::new(5, 0))
///     .num_payments(1)
///     .payload("order-42")
///     .expires_in(Duration::from_secs(3600));
/// # inv.validate()?;
/// # Ok::<(), xrocket::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateInvoice {
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_number")]
    amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_number")]
    min_payment: Option<Decimal>,
    num_payments: u64,
    currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hidden_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comments_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    callback_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expired_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    platform_id: Option<String>,
    #[serde(skip)]
    expires_in_error: Option<&'static str>,
}

const MAX_AMOUNT: i64 = 1_000_000;

impl CreateInvoice {
    /// An invoice in `currency` for one payment (`numPayments: 1`); set the price with
    /// [`CreateInvoice::amount`].
    pub fn new(currency: impl Into<String>) -> Self {
        CreateInvoice {
            amount: None,
            min_payment: None,
            num_payments: 1,
            currency: currency.into(),
            description: None,
            hidden_message: None,
            comments_enabled: None,
            callback_url: None,
            payload: None,
            expired_in: None,
            platform_id: None,
            expires_in_error: None,
        }
    }
    /// The price per payment (0 to 1,000,000, at most 9 decimals).
    pub fn amount(mut self, amount: Decimal) -> Self {
        self.amount = Some(amount);
        self
    }
    /// The minimum payment of a multi-payment invoice without an `amount`.
    pub fn min_payment(mut self, amount: Decimal) -> Self {
        self.min_payment = Some(amount);
        self
    }
    /// How many payments it takes (default 1; `0` with amount `0`: any amount, any number of
    /// payments, per xRocket's 1.3.1 changelog).
    pub fn num_payments(mut self, n: u64) -> Self {
        self.num_payments = n;
        self
    }
    /// Shown to the payer (≤ 1000 characters).
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
    /// Shown after payment (≤ 2000 characters).
    pub fn hidden_message(mut self, text: impl Into<String>) -> Self {
        self.hidden_message = Some(text.into());
        self
    }
    /// Whether payers may leave a comment.
    pub fn comments_enabled(mut self, on: bool) -> Self {
        self.comments_enabled = Some(on);
        self
    }
    /// The **Return-button** URL (≤ 500), not the webhook (set that in the bot).
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }
    /// Your data (≤ 4000), hidden from the payer: put your order id here.
    pub fn payload(mut self, payload: impl Into<String>) -> Self {
        self.payload = Some(payload.into());
        self
    }
    /// How long it can be paid: whole seconds, at most 24 h (`expiredIn`, sent in seconds);
    /// `Duration::ZERO` means never.
    pub fn expires_in(mut self, d: Duration) -> Self {
        self.expires_in_error = None;
        if d.subsec_nanos() != 0 {
            self.expires_in_error = Some("must be whole seconds");
        } else if d.as_secs() > 86_400 {
            self.expires_in_error = Some("must be at most 86400 seconds (24 hours)");
        }
        self.expired_in = Some(d.as_secs());
        self
    }
    /// A platform id, only if xRocket issued you one.
    pub fn platform_id(mut self, id: impl Into<String>) -> Self {
        self.platform_id = Some(id.into());
        self
    }

    /// Checks the value as it will be checked before sending.
    pub fn validate(&self) -> Result<()> {
        check_required("currency", &self.currency, 50)?;
        for (field, v) in [("amount", self.amount), ("minPayment", self.min_payment)] {
            if let Some(a) = v {
                if a < Decimal::ZERO || a > Decimal::from(MAX_AMOUNT) {
                    return Err(Error::invalid_input(
                        PROVIDER,
                        field,
                        "must be between 0 and 1000000",
                    ));
                }
                check_places(field, a)?;
            }
        }
        if self.num_payments > MAX_AMOUNT as u64 {
            return Err(Error::invalid_input(
                PROVIDER,
                "numPayments",
                "must be at most 1000000",
            ));
        }
        if let Some(why) = self.expires_in_error {
            return Err(Error::invalid_input(PROVIDER, "expiredIn", why));
        }
        for (field, v, max) in [
            ("description", &self.description, 1000),
            ("hiddenMessage", &self.hidden_message, 2000),
            ("callbackUrl", &self.callback_url, 500),
            ("payload", &self.payload, 4000),
        ] {
            if let Some(v) = v {
                check_len(field, v, max)?;
            }
        }
        Ok(())
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        with_json(req, self)
    }
}

/// `GET /tg-invoices?limit&offset`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListInvoices {
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListInvoices {
    /// The first page, xRocket's default size (100).
    pub fn new() -> Self {
        Self::default()
    }
    /// Page size, 1 to 1000.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Skip this many invoices ([`payout_core::Page::next`] of the previous page).
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_limit(self.limit)?;
        Ok(req
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset))
    }
}

/// `GET /tg-invoices/{id}`: an invoice with its payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetInvoice {
    id: InvoiceId,
}

impl GetInvoice {
    /// The invoice with this id.
    pub fn new(id: impl Into<InvoiceId>) -> Self {
        GetInvoice { id: id.into() }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_required("id", self.id.as_str(), 100)?;
        Ok(req.path(format!("/tg-invoices/{}", segment(self.id.as_str()))))
    }
}

/// `DELETE /tg-invoices/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteInvoice {
    id: InvoiceId,
}

impl DeleteInvoice {
    /// Delete the invoice with this id.
    pub fn new(id: impl Into<InvoiceId>) -> Self {
        DeleteInvoice { id: id.into() }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_required("id", self.id.as_str(), 100)?;
        Ok(req.path(format!("/tg-invoices/{}", segment(self.id.as_str()))))
    }
}

/// Invoices (`client.invoices()`).
#[derive(Debug, Clone, Copy)]
pub struct Invoices<'a> {
    pub(crate) client: &'a Client,
}

impl Invoices<'_> {
    /// Creates an invoice (sent once; see the module docs).
    pub async fn create(&self, req: &CreateInvoice) -> Result<Invoice> {
        self.client.send(req).await
    }

    /// One page.
    pub async fn list(&self, query: &ListInvoices) -> Result<Page<Invoice>> {
        self.client.send(query).await
    }

    /// Every invoice from `query`'s offset on, page by page (`limit` per page).
    pub fn stream(&self, query: &ListInvoices) -> impl Stream<Item = Result<Invoice>> + Send + '_ {
        let base = query.clone();
        let client = self.client;
        payout_core::paginate(PROVIDER, base.offset.unwrap_or(0), move |offset| {
            let q = base.clone().offset(offset);
            async move { client.send(&q).await }
        })
    }

    /// An invoice with its payments.
    pub async fn get(&self, id: impl Into<InvoiceId>) -> Result<FullInvoice> {
        self.client.send(&GetInvoice::new(id)).await
    }

    /// Deletes an invoice.
    pub async fn delete(&self, id: impl Into<InvoiceId>) -> Result<()> {
        self.client.send(&DeleteInvoice::new(id)).await
    }

    /// Polls [`Invoices::get`] until `paid` or `expired`. A multi-payment invoice stays
    /// `active` while it takes payments. At the deadline: [`crate::ErrorKind::Timeout`] with
    /// the last state.
    pub async fn wait_until_final(
        &self,
        id: impl Into<InvoiceId>,
        opts: &PollOptions,
    ) -> Result<FullInvoice> {
        let id: InvoiceId = id.into();
        payout_core::poll::wait_until(
            PROVIDER,
            opts,
            || self.get(id.clone()),
            |i: &FullInvoice| {
                if i.invoice.status.is_final() {
                    payout_core::Poll::Final
                } else {
                    payout_core::Poll::Pending
                }
            },
        )
        .await
    }
}

/// One page of invoices.
pub type InvoicePage = Page<Invoice>;
