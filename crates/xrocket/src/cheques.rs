//! Personal cheques: an amount reserved on your balance that a recipient redeems through a
//! link (optionally only one user, optionally behind a password), or that you cancel to get
//! the funds back.

use futures_core::Stream;
use payout_core::reqwest::Method;
use payout_core::{Decimal, Error, IdempotencyKey, Page, Request, Result, Safety, SecretString};
use serde::{Deserialize, Serialize};

use crate::client::{Client, PROVIDER};
use crate::common::{
    Asset, Callback, Links, ListResponse, Lookup, RedirectUrls, TargetType, check_amount, check_client_id,
    check_len, check_limit, check_required, id_newtype, key_of, opt_string_or_number, stream_pages,
};
use crate::reconcile::create_reconciling;

id_newtype! {
    /// xRocket's id of a cheque.
    ChequeId
}

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
/// # Ok::<(), xrocket::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CreateCheque {
    asset: Asset,
    amount: Decimal,
    client_cheque_id: String,
    password: Option<SecretString>,
    description: Option<String>,
    callback: Option<Callback>,
    url: Option<RedirectUrls>,
    recipient: Option<(TargetType, String)>,
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
    /// A cheque of `amount` `asset`. A client cheque id is generated now.
    pub fn new(asset: impl Into<Asset>, amount: Decimal) -> Self {
        CreateCheque {
            asset: asset.into(),
            amount,
            client_cheque_id: IdempotencyKey::generate().into_string(),
            password: None,
            description: None,
            callback: None,
            url: None,
            recipient: None,
        }
    }
    /// Your id for this cheque (1 to 50 printable ASCII characters).
    pub fn client_cheque_id(mut self, id: impl Into<String>) -> Self {
        self.client_cheque_id = id.into();
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
    /// The client cheque id that will be sent. Persist it.
    pub fn client_id(&self) -> &str {
        &self.client_cheque_id
    }

    /// Checks the request with the crate's default precisions.
    pub fn validate(&self) -> Result<()> {
        self.check(&|code| crate::common::max_decimals(code))
    }

    pub(crate) fn check(&self, precision: &dyn Fn(&str) -> u32) -> Result<()> {
        check_required("asset", self.asset.as_str(), 50)?;
        check_amount("amount", self.amount, precision(self.asset.as_str()))?;
        check_client_id("clientChequeId", &self.client_cheque_id, 50)?;
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
            client_cheque_id: &self.client_cheque_id,
            password: self.password.clone(),
            description: self.description.as_deref(),
            callback: self.callback.as_ref(),
            url: self.url.as_ref(),
            target_type: self.recipient.as_ref().map(|(t, _)| t),
            target: self.recipient.as_ref().map(|(_, t)| t.as_str()),
        }
    }

    fn matches(&self, c: &Cheque) -> bool {
        c.asset.as_ref().is_none_or(|a| *a == self.asset) && c.amount.is_none_or(|a| a == self.amount)
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
    from_date: Option<String>,
    to_date: Option<String>,
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
    /// Created at or after this ISO 8601 date-time.
    pub fn from_date(mut self, date: impl Into<String>) -> Self {
        self.from_date = Some(date.into());
        self
    }
    /// Created at or before this ISO 8601 date-time.
    pub fn to_date(mut self, date: impl Into<String>) -> Self {
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
        req.check(&|code| c.precision(code))?;
        let key = key_of("clientChequeId", &req.client_cheque_id)?;
        let request = c
            .with_body(Request::post("cheques.create", "/api/v1/cheques"), &req.body())?
            .idempotency_key(key)
            .safety(Safety::KeyProtected);
        let lookup = Lookup::ClientId(req.client_cheque_id.clone());
        let mut cheque =
            create_reconciling(c, request, "cheque", || self.get(lookup), |x| req.matches(x)).await?;
        cheque
            .client_cheque_id
            .get_or_insert_with(|| req.client_cheque_id.clone());
        Ok(cheque)
    }

    /// `GET /api/v1/cheque?chequeId=..|clientChequeId=..`: one cheque (cancelled ones come
    /// back with `deleted: true`).
    pub async fn get(&self, lookup: impl Into<Lookup>) -> Result<Cheque> {
        let lookup = lookup.into();
        let (name, value) = lookup.query("chequeId", "clientChequeId")?;
        self.client
            .fetch(Request::get("cheques.get", "/api/v1/cheque").query(name, value))
            .await
    }

    /// `PUT /api/v1/cheques?chequeId=..`: changes the description of an active cheque.
    pub async fn update(&self, lookup: impl Into<Lookup>, update: &UpdateCheque) -> Result<Cheque> {
        check_len("description", &update.description, 1000)?;
        let lookup = lookup.into();
        let (name, value) = lookup.query("chequeId", "clientChequeId")?;
        let req = Request::new(Method::PUT, "cheques.update", "/api/v1/cheques").query(name, value);
        self.client.fetch(self.client.with_body(req, update)?).await
    }

    /// `DELETE /api/v1/cheques?chequeId=..`: cancels an unredeemed cheque; the reserved
    /// funds return to your balance.
    pub async fn delete(&self, lookup: impl Into<Lookup>) -> Result<()> {
        let lookup = lookup.into();
        let (name, value) = lookup.query("chequeId", "clientChequeId")?;
        self.client
            .send_ignoring_body(Request::delete("cheques.delete", "/api/v1/cheques").query(name, value))
            .await
    }

    /// `GET /api/v1/cheques`: one page of cheques.
    pub async fn list(&self, filter: &ListCheques) -> Result<Page<Cheque, String>> {
        check_limit(filter.limit)?;
        let mut req = Request::get("cheques.list", "/api/v1/cheques")
            .query_opt("fromDate", filter.from_date.as_deref())
            .query_opt("toDate", filter.to_date.as_deref());
        if let Some((t, target)) = &filter.recipient {
            if target.trim().is_empty() {
                return Err(Error::invalid_input(PROVIDER, "target", "must not be empty"));
            }
            req = req.query("targetType", t).query("target", target);
        }
        let req = req
            .query_opt("state", filter.state.as_ref())
            .query_opt("cursor", filter.cursor.as_deref())
            .query_opt("limit", filter.limit);
        Ok(self.client.fetch::<ListResponse<Cheque>>(req).await?.into_page())
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
