//! Personal cheques: an amount reserved on your balance that a recipient redeems through a
//! link (optionally only one user, optionally behind a password), or that you cancel to get
//! the funds back.

use std::borrow::Cow;
use std::future::Future;

use futures_core::Stream;
use payout_core::reconcile::send_reconciled;
use payout_core::{
    ApiClient, Decimal, Error, KeySlot, Keyed, Page, PollOptions, Reconcile, Request, Result, SecretString,
    Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::client::{Client, PROVIDER};
use crate::common::{
    Asset, Callback, Links, Lookup, RedirectUrls, TargetType, check_amount, check_client_id, check_len,
    check_limit, check_required, date_range, judge, key_of, lookup_from_id, max_decimals,
    opt_string_or_number, stream_pages, with_json,
};

payout_core::id! {
    /// xRocket's id of a cheque. A JSON number is accepted too.
    pub struct ChequeId(String);
}
lookup_from_id!(ChequeId);

/// One page of cheques.
pub type ChequePage = Page<Cheque, String>;

payout_core::open_enum! {
    /// The state of a cheque.
    pub enum ChequeState {
        /// Waiting to be redeemed; the amount is reserved.
        Active => "active",
        /// Redeemed.
        Completed => "completed",
        /// Not yet active.
        Draft => "draft",
        /// Failed.
        Error => "error",
    }
}

/// A cheque as xRocket reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Cheque {
    /// xRocket's id.
    pub cheque_id: ChequeId,
    /// Your client id (filled in by the crate after a create if the response leaves it out).
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub client_cheque_id: Option<String>,
    /// The asset reserved.
    #[serde(default)]
    pub asset: Option<Asset>,
    /// The amount reserved. The docs mention it but public clients do not model it, so it
    /// may be absent.
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub amount: Option<Decimal>,
    /// Your description.
    #[serde(default)]
    pub description: Option<String>,
    /// Who may redeem it, when restricted.
    #[serde(default)]
    pub target_type: Option<TargetType>,
    /// The only recipient allowed, when restricted.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub target: Option<String>,
    /// Links to hand to the recipient.
    #[serde(default)]
    pub links: Links,
    /// The state.
    #[serde(default = "unknown_state")]
    pub state: ChequeState,
    /// True once cancelled (deleted cheques still answer `GET /api/v1/cheque`).
    #[serde(default)]
    pub deleted: bool,
    /// The per-cheque webhook, if set.
    #[serde(default)]
    pub callback: Option<Callback>,
    /// Redirect URLs, if set.
    #[serde(default)]
    pub url: Option<RedirectUrls>,
}

fn unknown_state() -> ChequeState {
    ChequeState::Unknown(String::new())
}

impl Cheque {
    /// True once nothing more can happen to it: redeemed (`completed`), failed (`error`) or
    /// cancelled (`deleted`).
    pub fn is_final(&self) -> bool {
        self.deleted || matches!(self.state, ChequeState::Completed | ChequeState::Error)
    }
}

/// `POST /api/v1/cheques`: reserve `amount` of `asset` in a personal cheque.
///
/// ```
/// use xrocket::{Asset, CreateCheque, Decimal, TargetType};
/// let cheque = CreateCheque::new(Asset::Toncoin, Decimal::new(5, 1))
///     .client_cheque_id("gift-42")
///     .password("open sesame")
///     .description("Happy birthday")
///     .for_recipient(TargetType::TelegramUserId, "87209764");
/// cheque.validate()?;
/// assert!(!format!("{cheque:?}").contains("open sesame"));
/// assert!(!serde_json::to_string(&cheque).unwrap().contains("open sesame"));
/// # Ok::<(), xrocket::Error>(())
/// ```
///
/// Serializes (for a journal) with its client id but **without the password**, which is
/// never written in clear: a value read back has no password (the cheque it created keeps
/// its own).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCheque {
    asset: Asset,
    #[serde(with = "payout_core::money::decimal")]
    amount: Decimal,
    client_cheque_id: KeySlot,
    #[serde(skip)]
    password: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    callback: Option<Callback>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<RedirectUrls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recipient: Option<(TargetType, String)>,
    #[serde(default, skip)]
    places: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChequeBody<'a> {
    asset: &'a Asset,
    #[serde(with = "payout_core::money::decimal")]
    amount: Decimal,
    client_cheque_id: &'a str,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "payout_core::secret::expose_option"
    )]
    password: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback: Option<&'a Callback>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a RedirectUrls>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_type: Option<&'a TargetType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a str>,
}

impl CreateCheque {
    /// A cheque of `amount` `asset`. Its client cheque id is a UUID generated on first read and kept by this
    /// value and its clones, unless you give one.
    pub fn new(asset: impl Into<Asset>, amount: Decimal) -> Self {
        CreateCheque {
            asset: asset.into(),
            amount,
            client_cheque_id: KeySlot::generated(),
            password: None,
            description: None,
            callback: None,
            url: None,
            recipient: None,
            places: None,
        }
    }
    /// Your id for this cheque (1 to 50 printable ASCII characters), replacing the generated
    /// one; an id that breaks the rule is refused as [`payout_core::ErrorKind::InvalidInput`]
    /// before anything is sent.
    pub fn client_cheque_id(mut self, id: impl Into<String>) -> Self {
        self.client_cheque_id = KeySlot::given(id);
        self
    }
    /// A password the recipient must enter (at most 100 characters). Kept as a secret.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(SecretString::from(password.into()));
        self
    }
    /// A description (at most 1000 characters).
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
    /// A webhook for this cheque only.
    pub fn callback(mut self, callback: Callback) -> Self {
        self.callback = Some(callback);
        self
    }
    /// Where the recipient is sent afterwards.
    pub fn url(mut self, url: RedirectUrls) -> Self {
        self.url = Some(url);
        self
    }
    /// Only this user may redeem the cheque (`target` at most 100 characters).
    pub fn for_recipient(mut self, target_type: TargetType, target: impl Into<String>) -> Self {
        self.recipient = Some((target_type, target.into()));
        self
    }
    /// Checks the request with the crate's default precisions.
    pub fn validate(&self) -> Result<()> {
        self.check(&|code| self.places.unwrap_or_else(|| max_decimals(code)))
    }

    pub(crate) fn in_context(&self, c: &Client) -> Cow<'_, Self> {
        let places = Some(c.precision(self.asset.as_str()));
        // Borrowed when the precision the value would use on its own is the client's: no copy
        // of the request per call.
        if self.places.unwrap_or_else(|| max_decimals(self.asset.as_str()))
            == c.precision(self.asset.as_str())
        {
            return Cow::Borrowed(self);
        }
        let mut v = self.clone();
        v.places = places;
        Cow::Owned(v)
    }

    /// Validates the value and builds `POST /api/v1/cheques`, keyed by its client id.
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let key = key_of("clientChequeId", self.client_cheque_id.get())?;
        let mut req = with_json(req, &self.body())?.idempotency_key(key);
        if let Some(p) = &self.password {
            req = req.redact(p);
        }
        Ok(req)
    }

    pub(crate) fn check(&self, precision: &dyn Fn(&str) -> u32) -> Result<()> {
        check_required("asset", self.asset.as_str(), 50)?;
        check_amount("amount", self.amount, precision(self.asset.as_str()))?;
        check_client_id("clientChequeId", self.client_cheque_id.get(), 50)?;
        if let Some(p) = &self.password {
            use secrecy::ExposeSecret;
            check_required("password", p.expose_secret(), 100)?;
        }
        if let Some(d) = &self.description {
            check_len("description", d, 1000)?;
        }
        if let Some((_, t)) = &self.recipient {
            check_required("target", t, 100)?;
        }
        if let Some(c) = &self.callback {
            c.check("callback")?;
        }
        if let Some(u) = &self.url {
            u.check("url")?;
        }
        Ok(())
    }

    fn body(&self) -> ChequeBody<'_> {
        ChequeBody {
            asset: &self.asset,
            amount: self.amount,
            client_cheque_id: self.client_cheque_id.get(),
            password: self.password.clone(),
            description: self.description.as_deref(),
            callback: self.callback.as_ref(),
            url: self.url.as_ref(),
            target_type: self.recipient.as_ref().map(|(t, _)| t),
            target: self.recipient.as_ref().map(|(_, t)| t.as_str()),
        }
    }
}

impl Keyed for CreateCheque {
    const KEY_NAME: &'static str = "clientChequeId";
    fn key(&self) -> &str {
        self.client_cheque_id.get()
    }
}

impl Reconcile for CreateCheque {
    fn lookup<C: ApiClient>(&self, client: &C) -> impl Future<Output = Result<Option<Cheque>>> + Send {
        let get = GetCheque::new(Lookup::client_id(self.client_cheque_id.get()));
        async move { client.send(&get).await.map(Some) }
    }

    /// The asset and amount, where xRocket reports them (the cheque response may omit the
    /// amount).
    fn matches(&self, c: &Cheque) -> std::result::Result<(), &'static str> {
        if c.asset.as_ref().is_some_and(|a| *a != self.asset) {
            return Err("asset");
        }
        if c.amount.is_some_and(|a| a != self.amount) {
            return Err("amount");
        }
        Ok(())
    }

    fn already_exists(err: &Error) -> bool {
        crate::transfers::client_id_already_taken(err)
    }
}

/// `GET /api/v1/cheque?chequeId=..|clientChequeId=..`: one cheque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetCheque {
    lookup: Lookup,
}

impl GetCheque {
    /// The cheque with this id (a [`ChequeId`]) or client id ([`Lookup::client_id`]).
    pub fn new(lookup: impl Into<Lookup>) -> Self {
        GetCheque {
            lookup: lookup.into(),
        }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        let (name, value) = self.lookup.query("chequeId", "clientChequeId")?;
        Ok(req.query(name, value))
    }
}

/// `DELETE /api/v1/cheques?chequeId=..|clientChequeId=..`: cancels an unredeemed cheque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteCheque {
    lookup: Lookup,
}

impl DeleteCheque {
    /// The cheque with this id or client id.
    pub fn new(lookup: impl Into<Lookup>) -> Self {
        DeleteCheque {
            lookup: lookup.into(),
        }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        let (name, value) = self.lookup.query("chequeId", "clientChequeId")?;
        Ok(req.query(name, value))
    }
}

/// `PUT /api/v1/cheques?chequeId=..`: applies an [`UpdateCheque`] to one cheque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateChequeRequest {
    lookup: Lookup,
    update: UpdateCheque,
}

impl UpdateChequeRequest {
    /// Changes the cheque with this id or client id.
    pub fn new(lookup: impl Into<Lookup>, update: UpdateCheque) -> Self {
        UpdateChequeRequest {
            lookup: lookup.into(),
            update,
        }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_len("description", &self.update.description, 1000)?;
        let (name, value) = self.lookup.query("chequeId", "clientChequeId")?;
        with_json(req.query(name, value), &self.update)
    }
}

/// `PUT /api/v1/cheques`: change an active, unredeemed cheque. Only the description can
/// change; an empty string clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateCheque {
    description: String,
}

impl UpdateCheque {
    /// Sets the description (at most 1000 characters; empty clears it).
    pub fn description(text: impl Into<String>) -> Self {
        UpdateCheque {
            description: text.into(),
        }
    }
}

/// Filters for `GET /api/v1/cheques` (cancelled cheques are never listed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListCheques {
    from_date: Option<Timestamp>,
    to_date: Option<Timestamp>,
    recipient: Option<(TargetType, String)>,
    state: Option<ChequeState>,
    cursor: Option<String>,
    limit: Option<u32>,
}

impl ListCheques {
    /// No filter.
    pub fn new() -> Self {
        Self::default()
    }
    /// Cheques created at or after this date-time (`fromDate`): a [`Timestamp`], a
    /// [`std::time::SystemTime`], or RFC 3339 text with an offset (`"2026-01-01T00:00:00Z"`),
    /// sent as written. Text that is not such a date-time is refused as
    /// [`crate::ErrorKind::InvalidInput`] (field `fromDate`) before anything is sent.
    pub fn from_date(mut self, date: impl Into<Timestamp>) -> Self {
        self.from_date = Some(date.into());
        self
    }
    /// Cheques created at or before this date-time (`toDate`), taken like
    /// [`Self::from_date`]; a `toDate` earlier than `fromDate` is refused (field `fromDate`).
    pub fn to_date(mut self, date: impl Into<Timestamp>) -> Self {
        self.to_date = Some(date.into());
        self
    }
    /// Only cheques restricted to this recipient (`targetType` and `target` go together).
    pub fn recipient(mut self, target_type: TargetType, target: impl Into<String>) -> Self {
        self.recipient = Some((target_type, target.into()));
        self
    }
    /// Only cheques in this state.
    pub fn state(mut self, state: ChequeState) -> Self {
        self.state = Some(state);
        self
    }
    /// Continue from a cursor returned as [`Page::next`].
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }
    /// Page size, 1 to 1000.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_limit(self.limit)?;
        let (from, to) = date_range(self.from_date.as_ref(), self.to_date.as_ref())?;
        let mut req = req.query_opt("fromDate", from).query_opt("toDate", to);
        if let Some((t, target)) = &self.recipient {
            if target.trim().is_empty() {
                return Err(Error::invalid_input(PROVIDER, "target", "must not be empty"));
            }
            req = req.query("targetType", t).query("target", target);
        }
        Ok(req
            .query_opt("state", self.state.as_ref())
            .query_opt("cursor", self.cursor.as_deref())
            .query_opt("limit", self.limit))
    }
}

/// The cheque handler: `client.cheques()`.
#[derive(Debug, Clone, Copy)]
pub struct Cheques<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> Cheques<'a> {
    /// Creates a cheque; the amount is reserved on your balance at once.
    ///
    /// Safe to retry like [`crate::transfers::Transfers::create`]: the client cheque id
    /// makes a repeat return the existing cheque instead of reserving funds twice.
    pub async fn create(&self, req: &CreateCheque) -> Result<Cheque> {
        let c = self.client;
        let req = req.in_context(c);
        let mut cheque = send_reconciled(c, req.as_ref(), c.reconcile_policy()).await?;
        cheque
            .client_cheque_id
            .get_or_insert_with(|| req.client_cheque_id.get().to_owned());
        Ok(cheque)
    }

    /// `GET /api/v1/cheque?chequeId=..`: one cheque (cancelled ones come back with
    /// `deleted: true`).
    pub async fn get(&self, id: impl Into<ChequeId>) -> Result<Cheque> {
        self.client.send(&GetCheque::new(id.into())).await
    }

    /// `GET /api/v1/cheque?clientChequeId=..`: one cheque by your client id.
    pub async fn by_client_id(&self, client_id: impl Into<String>) -> Result<Cheque> {
        self.client
            .send(&GetCheque::new(Lookup::client_id(client_id)))
            .await
    }

    /// Polls the cheque until it is redeemed, failed or cancelled ([`Cheque::is_final`]).
    /// At the deadline: [`payout_core::ErrorKind::Timeout`] carrying the last cheque seen.
    pub async fn wait_until_final(&self, id: impl Into<ChequeId>, opts: &PollOptions) -> Result<Cheque> {
        let id = id.into();
        payout_core::poll::wait_until(PROVIDER, opts, || self.get(&id), |c: &Cheque| judge(c.is_final()))
            .await
    }

    /// `PUT /api/v1/cheques?chequeId=..`: changes the description of an active cheque.
    pub async fn update(&self, lookup: impl Into<Lookup>, update: &UpdateCheque) -> Result<Cheque> {
        self.client
            .send(&UpdateChequeRequest::new(lookup, update.clone()))
            .await
    }

    /// `DELETE /api/v1/cheques?chequeId=..`: cancels an unredeemed cheque; the reserved
    /// funds return to your balance.
    pub async fn delete(&self, lookup: impl Into<Lookup>) -> Result<()> {
        self.client.send(&DeleteCheque::new(lookup)).await
    }

    /// `GET /api/v1/cheques`: one page of cheques.
    pub async fn list(&self, filter: &ListCheques) -> Result<Page<Cheque, String>> {
        self.client.send(filter).await
    }

    /// Every cheque matching `filter`, page after page (from the filter's cursor, if set).
    pub fn stream(&self, filter: ListCheques) -> impl Stream<Item = Result<Cheque>> + Send + 'a {
        let this = *self;
        stream_pages(filter.cursor.clone(), move |cursor| {
            let mut f = filter.clone();
            f.cursor = cursor;
            async move { this.list(&f).await }
        })
    }

    /// At most `max` cheques matching `filter`.
    pub async fn collect_all(&self, filter: ListCheques, max: usize) -> Result<Vec<Cheque>> {
        payout_core::collect_all(self.stream(filter), max).await
    }
}
