//! Deposit (funding) history, for reconciling your ledger with the provider's.

use futures_core::Stream;
use payout_core::{Decimal, Page, Request, Result, Timestamp};
use serde::{Deserialize, Serialize};

use crate::client::{Client, PROVIDER};
use crate::list::check_paging;

payout_core::id! {
    /// A deposit id (`1201`).
    pub struct DepositId(i64);
}

payout_core::open_enum! {
    /// A deposit's state. Documented: `posted`, `pending`; others decode to `Unknown`.
    pub enum DepositStatus {
        /// Credited to the balance.
        Posted => "posted",
        /// Announced, not credited yet.
        Pending => "pending",
    }
}

payout_core::open_enum! {
    /// How a deposit was made. Documented: `bank_wire`, `manual`.
    pub enum DepositMethod {
        /// A bank transfer.
        BankWire => "bank_wire",
        /// Entered by the provider's staff.
        Manual => "manual",
    }
}

/// A deposit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deposit {
    /// The deposit id.
    pub id: DepositId,
    /// ISO 4217 currency.
    #[serde(default)]
    pub currency_code: Option<String>,
    /// The amount in major units (`"250.00"` on the wire).
    #[serde(with = "payout_core::money::decimal")]
    pub amount: Decimal,
    /// The amount in minor units, when the provider sends it (ASSUMPTION: the API's
    /// `amount_minor` convention; absent from the examples).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::balance::minor_units::deserialize"
    )]
    pub amount_minor: Option<i64>,
    /// How it was made.
    #[serde(default)]
    pub method: Option<DepositMethod>,
    /// Its state.
    pub status: DepositStatus,
    /// The funding reference (`"WIRE-2024-10-17"`), to match against your bank statement.
    #[serde(default)]
    pub external_ref: Option<String>,
    /// When it was recorded (`created_at`, an ISO 8601 UTC date-time such as
    /// `2024-10-17T09:00:00Z`), as a [`Timestamp`].
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// When it was credited (`posted_at`, `null` while pending), as a [`Timestamp`].
    #[serde(default)]
    pub posted_at: Option<Timestamp>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Deposit {
    /// True once the money is on the balance.
    pub fn is_posted(&self) -> bool {
        self.status == DepositStatus::Posted
    }
}

/// `GET /agent/{agent_id}/deposits`: the filters of [`Deposits::list`] (`page`, `pageSize`,
/// `status`), and the request value of that endpoint (`client.send(&filter)` answers one
/// [`crate::Listing`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DepositFilter {
    page: Option<u32>,
    page_size: Option<u32>,
    status: Option<DepositStatus>,
}

impl DepositFilter {
    /// No filter.
    pub fn new() -> Self {
        Self::default()
    }
    /// The page to fetch, from 1.
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }
    /// Items per page (sent as `pageSize`).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }
    /// Only deposits in this state.
    pub fn status(mut self, status: DepositStatus) -> Self {
        self.status = Some(status);
        self
    }
    /// Checks the filter.
    pub fn validate(&self) -> Result<()> {
        check_paging(self.page, self.page_size)
    }
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        Ok(req
            .path("/deposits")
            .query_opt("page", self.page)
            .query_opt("pageSize", self.page_size)
            .query_opt("status", self.status.as_ref()))
    }
}

/// `client.deposits()`.
#[derive(Debug, Clone, Copy)]
pub struct Deposits<'a> {
    pub(crate) client: &'a Client,
}

impl Deposits<'_> {
    /// `GET /agent/{agent_id}/deposits`: one page of the funding history.
    pub async fn list(&self, filter: &DepositFilter) -> Result<Page<Deposit, u32>> {
        list_deposits(self.client, filter).await
    }

    /// Every deposit matching `filter`, page after page.
    pub fn stream(&self, filter: DepositFilter) -> impl Stream<Item = Result<Deposit>> + Send + 'static {
        let client = self.client.clone();
        let start = filter.page.unwrap_or(1);
        payout_core::paginate(PROVIDER, start, move |page| {
            let client = client.clone();
            let filter = filter.clone().page(page);
            async move { list_deposits(&client, &filter).await }
        })
    }

    /// At most `max` deposits matching `filter`.
    pub async fn collect_all(&self, filter: DepositFilter, max: usize) -> Result<Vec<Deposit>> {
        payout_core::collect_all(self.stream(filter), max).await
    }
}

async fn list_deposits(client: &Client, filter: &DepositFilter) -> Result<Page<Deposit, u32>> {
    let body = client.send(filter).await?;
    Ok(body.into_page(filter.page.unwrap_or(1), filter.page_size))
}
