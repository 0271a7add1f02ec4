//! Transactions: the object every endpoint and webhook returns, one lookup by reference, and
//! the filtered, offset-paginated list.

use futures_core::Stream;
use payout_core::pagination::{self, Page, next_offset};
use payout_core::poll::{Poll, wait_until};
use payout_core::{Decimal, PollOptions, Request, Result, Timestamp};
use serde::{Deserialize, Serialize};

use crate::client::{Client, PROVIDER};
use crate::validate::{invalid, max_chars, not_blank};

payout_core::id! {
    /// RohoPay's internal transaction id (`01j2k3m4…`; `transaction_id` in the checkout
    /// answer). Not what lookups take: see [`TransactionReference`].
    pub struct TransactionId(String);
}

payout_core::id! {
    /// What `GET /api/v1/transactions/{reference}` looks a transaction up by: its
    /// `RHP-<year>-<code>` internal reference, or the upstream provider's reference (RohoPay
    /// API reference, `docs.rohopay.com/api-reference/transactions`). Store it with your order.
    pub struct TransactionReference(String);
}

payout_core::open_enum! {
    /// A currency. RohoPay documents UGX, KES, TZS and RWF; requests refuse any other before
    /// sending, responses keep whatever RohoPay sends.
    pub enum Currency {
        /// Ugandan shilling.
        Ugx => "UGX",
        /// Kenyan shilling.
        Kes => "KES",
        /// Tanzanian shilling.
        Tzs => "TZS",
        /// Rwandan franc.
        Rwf => "RWF",
    }
}

payout_core::open_enum! {
    /// Where a transaction is: `pending` until it becomes `successful` or `failed`, which never
    /// change again.
    pub enum TransactionStatus {
        /// Waiting for the payer (USSD prompt, 3-D Secure) or the provider. Never fulfil on it.
        Pending => "pending",
        /// Money moved. Final.
        Successful => "successful",
        /// No money moved. Final.
        Failed => "failed",
    }
}

impl TransactionStatus {
    /// True for `successful` and `failed`, which never change.
    pub fn is_final(&self) -> bool {
        matches!(self, TransactionStatus::Successful | TransactionStatus::Failed)
    }
}

payout_core::open_enum! {
    /// The direction of a transaction.
    pub enum TransactionType {
        /// Money in: a mobile-money collection or a card payment.
        Collection => "collection",
        /// Money out: a mobile-money payout from the wallet.
        Disbursement => "disbursement",
    }
}

payout_core::open_enum! {
    /// How the payer paid.
    pub enum PaymentMethod {
        /// MTN, Airtel or M-Pesa mobile money.
        MobileMoney => "mobile_money",
        /// Visa or Mastercard with 3-D Secure.
        Card => "card",
    }
}

payout_core::open_enum! {
    /// The upstream provider RohoPay routed the transaction through (it fails over between them).
    pub enum UpstreamProvider {
        /// Relworx (mobile money and card).
        Relworx => "relworx",
        /// Iotec (mobile money).
        Iotec => "iotec",
        /// Seen on wallet withdrawals.
        Primary => "primary",
    }
}

payout_core::open_enum! {
    /// The environment a transaction ran in, as RohoPay writes it.
    pub enum TransactionEnvironment {
        /// Made with a `test_` key: no real money.
        Test => "test",
        /// Made with a `live_` key: real money.
        Live => "live",
    }
}

impl From<crate::Environment> for TransactionEnvironment {
    fn from(e: crate::Environment) -> Self {
        TransactionEnvironment::from(e.as_wire())
    }
}

/// A RohoPay transaction (collect, disburse, card checkout), as returned by
/// `GET /api/v1/transactions/{reference}`, the list, `/collect`, `/disburse` and webhooks.
///
/// Every field but `internal_reference` is optional: RohoPay's responses have been seen with
/// other field names than documented (`reference`, `transaction_id`, `commission`, `provider_fee`, `phone`), which
/// are accepted as fallbacks, also when both names are present (the documented one wins).
/// Amounts are in the currency's smallest unit, exact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TransactionWire")]
#[non_exhaustive]
pub struct Transaction {
    /// RohoPay's internal id (`01j2k3m4…`; `transaction_id` in some responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<TransactionId>,
    /// The `RHP-<year>-<code>` reference: store it, look transactions up by it. Required: a
    /// transaction without it (and without its `reference` alias) is a decode error, never
    /// an anonymous transaction a reconcile or a poll could mistake for another.
    pub internal_reference: TransactionReference,
    /// The upstream provider's reference (also accepted by the lookup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    /// Collection or disbursement.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<TransactionType>,
    /// The authoritative status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TransactionStatus>,
    /// Mobile money or card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<PaymentMethod>,
    /// The upstream provider used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<UpstreamProvider>,
    /// The upstream provider's raw status (e.g. `SUCCESSFUL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_status: Option<String>,
    /// The payer's or payee's phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The amount, in the currency's smallest unit.
    #[serde(
        default,
        with = "payout_core::money::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub amount: Option<Decimal>,
    /// The currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// RohoPay's commission, in the smallest unit.
    #[serde(
        default,
        with = "payout_core::money::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub commission_amount: Option<Decimal>,
    /// The commission rate (`0.01` is 1 %).
    #[serde(
        default,
        with = "payout_core::money::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub commission_rate: Option<Decimal>,
    /// The upstream provider's fee, in the smallest unit.
    #[serde(
        default,
        with = "payout_core::money::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_fee_amount: Option<Decimal>,
    /// The upstream provider's fee rate.
    #[serde(
        default,
        with = "payout_core::money::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_fee_rate: Option<Decimal>,
    /// What was credited or debited after commission, in the smallest unit.
    #[serde(
        default,
        with = "payout_core::money::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub net_amount: Option<Decimal>,
    /// Your description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The webhook URL of this transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Why RohoPay switched upstream provider (empty when it did not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_reason: Option<String>,
    /// `test` or `live`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<TransactionEnvironment>,
    /// When the transaction was created (`created_at`, ISO 8601 per RohoPay's transaction
    /// reference), as a [`Timestamp`]: the text as sent, and the instant when it is an
    /// RFC 3339 date-time with an offset (other text, or a number, is kept with no instant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When the transaction last changed (`updated_at`, ISO 8601; for a final transaction,
    /// when it became final), as a [`Timestamp`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

/// How a transaction arrives: the documented names and the other names seen in the wild as
/// separate fields, so a body carrying both (`internal_reference` and `reference`) decodes
/// instead of failing with a duplicate-field error (which on `/collect` would turn an
/// accepted payment into a "may have succeeded" decode error).
#[derive(Deserialize, Default)]
#[serde(default)]
struct TransactionWire {
    id: Option<TransactionId>,
    transaction_id: Option<TransactionId>,
    internal_reference: Option<TransactionReference>,
    reference: Option<TransactionReference>,
    provider_reference: Option<String>,
    #[serde(rename = "type")]
    kind: Option<TransactionType>,
    status: Option<TransactionStatus>,
    payment_method: Option<PaymentMethod>,
    provider: Option<UpstreamProvider>,
    provider_status: Option<String>,
    phone_number: Option<String>,
    phone: Option<String>,
    #[serde(with = "payout_core::money::option_decimal")]
    amount: Option<Decimal>,
    currency: Option<Currency>,
    #[serde(with = "payout_core::money::option_decimal")]
    commission_amount: Option<Decimal>,
    #[serde(with = "payout_core::money::option_decimal")]
    commission: Option<Decimal>,
    #[serde(with = "payout_core::money::option_decimal")]
    commission_rate: Option<Decimal>,
    #[serde(with = "payout_core::money::option_decimal")]
    provider_fee_amount: Option<Decimal>,
    #[serde(with = "payout_core::money::option_decimal")]
    provider_fee: Option<Decimal>,
    #[serde(with = "payout_core::money::option_decimal")]
    provider_fee_rate: Option<Decimal>,
    #[serde(with = "payout_core::money::option_decimal")]
    net_amount: Option<Decimal>,
    description: Option<String>,
    callback_url: Option<String>,
    failover_reason: Option<String>,
    environment: Option<TransactionEnvironment>,
    created_at: Option<Timestamp>,
    updated_at: Option<Timestamp>,
}

impl TryFrom<TransactionWire> for Transaction {
    type Error = &'static str;
    fn try_from(w: TransactionWire) -> std::result::Result<Self, Self::Error> {
        Ok(Transaction {
            id: w.id.or(w.transaction_id),
            internal_reference: w
                .internal_reference
                .or(w.reference)
                .ok_or("missing field `internal_reference`")?,
            provider_reference: w.provider_reference,
            kind: w.kind,
            status: w.status,
            payment_method: w.payment_method,
            provider: w.provider,
            provider_status: w.provider_status,
            phone_number: w.phone_number.or(w.phone),
            amount: w.amount,
            currency: w.currency,
            commission_amount: w.commission_amount.or(w.commission),
            commission_rate: w.commission_rate,
            provider_fee_amount: w.provider_fee_amount.or(w.provider_fee),
            provider_fee_rate: w.provider_fee_rate,
            net_amount: w.net_amount,
            description: w.description,
            callback_url: w.callback_url,
            failover_reason: w.failover_reason,
            environment: w.environment,
            created_at: w.created_at,
            updated_at: w.updated_at,
        })
    }
}

impl Transaction {
    /// True once the status is `successful` or `failed`.
    pub fn is_final(&self) -> bool {
        self.status.as_ref().is_some_and(TransactionStatus::is_final)
    }
    /// True only for `successful`: the one state to fulfil an order on.
    pub fn is_successful(&self) -> bool {
        self.status == Some(TransactionStatus::Successful)
    }
    /// True if this is the transaction known by `reference` (its internal or provider
    /// reference).
    pub fn has_reference(&self, reference: &str) -> bool {
        self.internal_reference.as_str() == reference || self.provider_reference.as_deref() == Some(reference)
    }
}

/// What `GET /api/v1/transactions` answers in `data`: one page of transactions, newest first.
/// A `data` that is not a list is a decode error, never an empty page.
pub type TransactionList = Vec<Transaction>;

/// `GET /api/v1/transactions/{reference}`: one transaction, as a request value for
/// [`Client::send`]; [`Transactions::get`] is the usual way to send it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GetTransaction {
    reference: TransactionReference,
}

impl GetTransaction {
    /// Looks up `reference`: the `RHP-…` internal reference or the provider reference.
    pub fn new(reference: impl Into<TransactionReference>) -> Self {
        GetTransaction {
            reference: reference.into(),
        }
    }
    /// The reference looked up.
    pub fn reference(&self) -> &TransactionReference {
        &self.reference
    }
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        let reference = self.reference.as_str();
        not_blank("reference", reference)?;
        max_chars("reference", reference, 255)?;
        Ok(req.path(format!(
            "/api/v1/transactions/{}",
            payout_core::encode_path_segment(reference)
        )))
    }
}

/// Filters and paging for `GET /api/v1/transactions` (newest first).
///
/// ```
/// use rohopay::{ListTransactions, TransactionStatus, TransactionType};
/// let filter = ListTransactions::new()
///     .status(TransactionStatus::Successful)
///     .kind(TransactionType::Collection)
///     .from("2024-06-01T00:00:00+03:00")
///     .to(std::time::SystemTime::now())
///     .limit(100);
/// # let _ = filter;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListTransactions {
    status: Option<TransactionStatus>,
    kind: Option<TransactionType>,
    environment: Option<TransactionEnvironment>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListTransactions {
    /// The page size RohoPay uses when none is given.
    pub const DEFAULT_LIMIT: u32 = 20;
    /// The largest page size RohoPay accepts.
    pub const MAX_LIMIT: u32 = 100;

    /// No filter: the newest 20 transactions of the project.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only transactions in this status.
    pub fn status(mut self, status: TransactionStatus) -> Self {
        self.status = Some(status);
        self
    }
    /// Only collections or only disbursements (`type=`).
    pub fn kind(mut self, kind: TransactionType) -> Self {
        self.kind = Some(kind);
        self
    }
    /// Only `test` or only `live` transactions.
    pub fn environment(mut self, environment: impl Into<TransactionEnvironment>) -> Self {
        self.environment = Some(environment.into());
        self
    }
    /// Created at or after this time (`from=`, ISO 8601 per RohoPay's transaction reference):
    /// anything that converts into a [`Timestamp`] (a `SystemTime`, [`Timestamp::from_unix`],
    /// or text such as `"2024-06-01T00:00:00+03:00"`), sent as its text.
    ///
    /// It must be an RFC 3339 date-time with an offset: anything else (a date alone such as
    /// `2024-06-01`, a local time without an offset) names no instant, since its zone is
    /// unknown, and the list is refused with an `InvalidInput` error naming `from` before
    /// anything is sent.
    pub fn from(mut self, from: impl Into<Timestamp>) -> Self {
        self.from = Some(from.into());
        self
    }
    /// Created at or before this time (`to=`), with the same rules as
    /// [`ListTransactions::from`]; a `to` earlier than `from` is refused (field `from`).
    pub fn to(mut self, to: impl Into<Timestamp>) -> Self {
        self.to = Some(to.into());
        self
    }
    /// Page size, 1 to 100 (RohoPay's default is 20).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// How many transactions to skip.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        Ok(req
            .query_opt("status", self.status.as_ref())
            .query_opt("type", self.kind.as_ref())
            .query_opt("environment", self.environment.as_ref())
            .query_opt("from", self.from.as_ref().map(Timestamp::as_str))
            .query_opt("to", self.to.as_ref().map(Timestamp::as_str))
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset))
    }

    /// Checks the filter as [`Transactions::list`] does before sending.
    pub fn validate(&self) -> Result<()> {
        if let Some(l) = self.limit
            && !(1..=Self::MAX_LIMIT).contains(&l)
        {
            return Err(invalid("limit", "must be between 1 and 100"));
        }
        Timestamp::check_range(PROVIDER, ("from", self.from.as_ref()), ("to", self.to.as_ref()))?;
        Ok(())
    }
}

/// `client.transactions()`: look transactions up and list them.
#[derive(Debug, Clone, Copy)]
pub struct Transactions<'a> {
    pub(crate) client: &'a Client,
}

impl Transactions<'_> {
    /// `GET /api/v1/transactions/{reference}`: one transaction, by its `RHP-…` internal
    /// reference or its provider reference. The authoritative status of a payment.
    pub async fn get(&self, reference: impl Into<TransactionReference>) -> Result<Transaction> {
        self.client.send(&GetTransaction::new(reference)).await
    }

    /// `GET /api/v1/transactions`: one page, newest first. RohoPay reports no total; the
    /// page's `next` is the offset of the following page, `None` after a short page.
    pub async fn list(&self, filter: &ListTransactions) -> Result<Page<Transaction, u64>> {
        let items = self.client.send(filter).await?;
        let offset = filter.offset.unwrap_or(0);
        let limit = u64::from(filter.limit.unwrap_or(ListTransactions::DEFAULT_LIMIT));
        let next = next_offset(offset, limit, items.len(), None);
        Ok(Page {
            items,
            next,
            total: None,
        })
    }

    /// Every transaction matching `filter`, page after page (the filter's `limit` is the page
    /// size). Stops after a short page; an error is yielded once and ends the stream.
    pub fn stream(
        &self,
        filter: ListTransactions,
    ) -> impl Stream<Item = Result<Transaction>> + Send + 'static {
        let client = self.client.clone();
        let start = filter.offset.unwrap_or(0);
        pagination::paginate(PROVIDER, start, move |offset| {
            let client = client.clone();
            let filter = filter.clone().offset(offset);
            async move { client.transactions().list(&filter).await }
        })
    }

    /// At most `max` transactions matching `filter`, fetched page by page.
    pub async fn collect_all(&self, filter: ListTransactions, max: usize) -> Result<Vec<Transaction>> {
        pagination::collect_all(self.stream(filter), max).await
    }

    /// Polls `GET /api/v1/transactions/{reference}` as `opts` says until the status is final
    /// (`successful` or `failed`) and returns that transaction.
    ///
    /// At the deadline the result is an [`payout_core::ErrorKind::Timeout`] error carrying the
    /// last transaction seen (`err.last_state::<Transaction>()`), never `Ok` with a
    /// transaction that is still `pending`: it is still in progress, so wait longer or rely
    /// on the webhook, and never pay again. RohoPay's status-polling guide (`docs.rohopay.com/mobile-money/status-polling`) suggests every 5 s
    /// for about 2 minutes: `PollOptions::default().interval(Duration::from_secs(5))
    /// .backoff(1.0).timeout(Duration::from_secs(120))`.
    pub async fn wait_until_final(
        &self,
        reference: impl Into<TransactionReference>,
        opts: &PollOptions,
    ) -> Result<Transaction> {
        let req = GetTransaction::new(reference);
        let req = &req;
        let client = self.client;
        wait_until(
            PROVIDER,
            opts,
            || client.send(req),
            |tx: &Transaction| {
                if tx.is_final() { Poll::Final } else { Poll::Pending }
            },
        )
        .await
    }
}
