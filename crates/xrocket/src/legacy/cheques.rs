//! Multi-cheques (`/multi-cheque`): a claim link for N users, paid from your app's balance.
//!
//! **Never pays twice.** Creating a cheque reserves `chequePerUser × usersNumber` from your
//! balance, and the legacy API has no id of yours for it and no lookup: a repeated create
//! can debit twice. [`Cheques::create`] sends once; an unknown outcome is
//! [`crate::ErrorKind::Ambiguous`]. Put a unique marker in the description and look for it with
//! [`Cheques::list`] before creating another.

use futures_core::Stream;
use payout_core::reconcile::outcome_unknown;
use payout_core::{Decimal, Error, ErrorKind, Request, Result, SecretString};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::Page;
use super::client::{Client, PROVIDER};
use super::wire::{
    check_amount, check_len, check_limit, check_required, opt_flag, opt_number, opt_text, opt_u64, segment,
    string_list, with_json,
};

payout_core::id! {
    /// xRocket's id of a multi-cheque.
    pub struct ChequeId(String);
}

payout_core::open_enum! {
    /// The cheque's state.
    pub enum ChequeState {
        /// Claims are left.
        Active => "active",
        /// Fully claimed.
        Completed => "completed",
        /// Not yet activated.
        Draft => "draft",
    }
}

/// A group or channel the cheque requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TgResource {
    /// The chat id (`-1001799549067`), as text.
    #[serde(deserialize_with = "payout_core::id::string_or_number")]
    pub telegram_id: String,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its username.
    #[serde(default, deserialize_with = "opt_text")]
    pub username: Option<String>,
}

/// Text kept as a secret (`null` or absent is `None`).
fn opt_secret<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<SecretString>, D::Error> {
    Ok(opt_text(d)?.map(SecretString::from))
}

/// A cheque in a list (`ShortCheque`): only `id`, `currency` and `state` are required, the
/// rest may be missing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ShortCheque {
    /// xRocket's id.
    pub id: ChequeId,
    /// The currency.
    pub currency: String,
    /// Charged from your balance.
    #[serde(default, with = "opt_number")]
    pub total: Option<Decimal>,
    /// Per user.
    #[serde(default, with = "opt_number")]
    pub per_user: Option<Decimal>,
    /// How many users.
    #[serde(default, deserialize_with = "opt_u64")]
    pub users: Option<u64>,
    /// The password, if any: a secret (masked in `Debug`, never serialized; read it with
    /// `secrecy::ExposeSecret`).
    #[serde(default, deserialize_with = "opt_secret", skip_serializing)]
    pub password: Option<SecretString>,
    /// The description, if any.
    #[serde(default, deserialize_with = "opt_text")]
    pub description: Option<String>,
    /// Whether claimers are notified.
    #[serde(default, deserialize_with = "opt_flag")]
    pub send_notifications: Option<bool>,
    /// Whether a captcha is required.
    #[serde(default, deserialize_with = "opt_flag")]
    pub captcha_enabled: Option<bool>,
    /// Referral percent.
    #[serde(default, with = "opt_number")]
    pub ref_program_percents: Option<Decimal>,
    /// Referral reward per user.
    #[serde(default, with = "opt_number")]
    pub ref_reward_per_user: Option<Decimal>,
    /// The state.
    pub state: ChequeState,
    /// The claim link.
    #[serde(default)]
    pub link: Option<String>,
    /// Languages that may not claim.
    #[serde(default, deserialize_with = "string_list")]
    pub disabled_languages: Vec<String>,
    /// Countries that may claim (ISO 3166 alpha-2; an array or one string on the wire).
    #[serde(default, deserialize_with = "string_list")]
    pub enabled_countries: Vec<String>,
    /// Premium users only (`0`/`1` in the spec, booleans from the SDK).
    #[serde(default, deserialize_with = "opt_flag")]
    pub for_premium: Option<bool>,
    /// New users only.
    #[serde(default, deserialize_with = "opt_flag")]
    pub for_new_users_only: Option<bool>,
    /// Users with a linked wallet only.
    #[serde(default, deserialize_with = "opt_flag")]
    pub linked_wallet: Option<bool>,
    /// Times claimed (sent in the list by some versions).
    #[serde(default, deserialize_with = "opt_u64")]
    pub activations: Option<u64>,
}

/// A full cheque (`GET`, `POST`, `PUT`): the list fields plus the required resources,
/// activations and referral rewards.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Cheque {
    /// The list fields.
    #[serde(flatten)]
    pub cheque: ShortCheque,
    /// Required groups or channels.
    #[serde(default)]
    pub tg_resources: Vec<TgResource>,
    /// Referral rewards paid.
    #[serde(default, with = "opt_number")]
    pub ref_rewards: Option<Decimal>,
}

/// The optional fields of a create and of an update.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Options {
    /// Never serialized with the value (journals) and masked in `Debug`; the wire body adds it.
    #[serde(skip)]
    password: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    send_notifications: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enable_captcha: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    telegram_resources_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    for_premium: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    linked_wallet: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    disabled_languages: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enabled_countries: Option<Vec<String>>,
}

impl Options {
    fn check(&self) -> Result<()> {
        if let Some(p) = &self.password {
            check_len("password", p.expose_secret(), 100)?;
        }
        if let Some(d) = &self.description {
            check_len("description", d, 1000)?;
        }
        Ok(())
    }
}

/// The wire body of a create or an update: the value's fields with the password in clear.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChequeBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_number")]
    cheque_per_user: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users_number: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ref_program: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(flatten)]
    options: &'a Options,
}

/// Scrubs the password from anything this call's errors and traces could echo.
fn redact(req: Request, options: &Options) -> Request {
    match &options.password {
        Some(p) => req.redact(p),
        None => req,
    }
}

macro_rules! cheque_options {
    ($t:ty) => {
        impl $t {
            /// A password claimers must enter (≤ 100 characters). Masked in `Debug`, scrubbed
            /// from errors, and not serialized with the value (a journal stores it without).
            pub fn password(mut self, password: impl Into<String>) -> Self {
                self.options.password = Some(SecretString::from(password.into()));
                self
            }
            /// A description (≤ 1000 characters).
            pub fn description(mut self, text: impl Into<String>) -> Self {
                self.options.description = Some(text.into());
                self
            }
            /// Notify claimers (default true).
            pub fn send_notifications(mut self, on: bool) -> Self {
                self.options.send_notifications = Some(on);
                self
            }
            /// Require a captcha (default true).
            pub fn enable_captcha(mut self, on: bool) -> Self {
                self.options.enable_captcha = Some(on);
                self
            }
            /// Groups or channels a claimer must be in (`"-1001799549067"`).
            pub fn telegram_resources_ids(
                mut self,
                ids: impl IntoIterator<Item = impl Into<String>>,
            ) -> Self {
                self.options.telegram_resources_ids = Some(ids.into_iter().map(Into::into).collect());
                self
            }
            /// Premium users only (default false).
            pub fn for_premium(mut self, on: bool) -> Self {
                self.options.for_premium = Some(on);
                self
            }
            /// Users with a linked wallet only (default false).
            pub fn linked_wallet(mut self, on: bool) -> Self {
                self.options.linked_wallet = Some(on);
                self
            }
            /// Languages that may not claim (`["NL", "FR"]`).
            pub fn disabled_languages(mut self, codes: impl IntoIterator<Item = impl Into<String>>) -> Self {
                self.options.disabled_languages = Some(codes.into_iter().map(Into::into).collect());
                self
            }
            /// Countries that may claim (ISO 3166 alpha-2; sent as an array).
            pub fn enabled_countries(mut self, codes: impl IntoIterator<Item = impl Into<String>>) -> Self {
                self.options.enabled_countries = Some(codes.into_iter().map(Into::into).collect());
                self
            }
        }
    };
}

/// `POST /multi-cheque`.
///
/// ```
/// use xrocket::Decimal;
/// use xrocket::legacy::CreateCheque;
/// let c = CreateCheque::new("TONCOIN", Decimal::new(5, 2), 10)
///     .ref_program(0)
///     .description("promo #7 (marker 9f1c)");
/// # c.validate()?;
/// # Ok::<(), xrocket::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCheque {
    currency: String,
    #[serde(with = "super::wire::number")]
    cheque_per_user: Decimal,
    users_number: u64,
    ref_program: u8,
    #[serde(flatten)]
    options: Options,
}

cheque_options!(CreateCheque);

impl CreateCheque {
    /// `per_user` of `currency` for each of `users` claimers; referral program 0 %.
    pub fn new(currency: impl Into<String>, per_user: Decimal, users: u64) -> Self {
        CreateCheque {
            currency: currency.into(),
            cheque_per_user: per_user,
            users_number: users,
            ref_program: 0,
            options: Options::default(),
        }
    }
    /// The referral percentage, 0 to 100.
    pub fn ref_program(mut self, percent: u8) -> Self {
        self.ref_program = percent;
        self
    }

    /// Checks the value as it will be checked before sending.
    pub fn validate(&self) -> Result<()> {
        check_required("currency", &self.currency, 50)?;
        check_amount("chequePerUser", self.cheque_per_user)?;
        if self.users_number < 1 {
            return Err(Error::invalid_input(
                PROVIDER,
                "usersNumber",
                "must be at least 1",
            ));
        }
        if self.ref_program > 100 {
            return Err(Error::invalid_input(
                PROVIDER,
                "refProgram",
                "must be between 0 and 100",
            ));
        }
        self.options.check()
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let body = ChequeBody {
            currency: Some(&self.currency),
            cheque_per_user: Some(self.cheque_per_user),
            users_number: Some(self.users_number),
            ref_program: Some(self.ref_program),
            password: self.options.password.as_ref().map(|p| p.expose_secret()),
            options: &self.options,
        };
        Ok(redact(with_json(req, &body)?, &self.options))
    }
}

/// `PUT /multi-cheque/{id}`: sends only the fields you set (amount, currency and user count
/// cannot be changed). xRocket does not document whether an omitted field is kept or reset.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCheque {
    #[serde(skip)]
    id: String,
    #[serde(flatten)]
    options: Options,
}

cheque_options!(UpdateCheque);

impl UpdateCheque {
    /// An update of the cheque with this id.
    pub fn new(id: impl Into<ChequeId>) -> Self {
        UpdateCheque {
            id: id.into().into_string(),
            options: Options::default(),
        }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_required("id", &self.id, 100)?;
        self.options.check()?;
        let body = ChequeBody {
            currency: None,
            cheque_per_user: None,
            users_number: None,
            ref_program: None,
            password: self.options.password.as_ref().map(|p| p.expose_secret()),
            options: &self.options,
        };
        let req = with_json(req.path(format!("/multi-cheque/{}", segment(&self.id))), &body)?;
        Ok(redact(req, &self.options))
    }
}

/// `GET /multi-cheque?limit&offset`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListCheques {
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListCheques {
    /// The first page.
    pub fn new() -> Self {
        Self::default()
    }
    /// Page size, 1 to 1000.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Skip this many cheques.
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

/// `GET /multi-cheque/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetCheque {
    id: ChequeId,
}

impl GetCheque {
    /// The cheque with this id.
    pub fn new(id: impl Into<ChequeId>) -> Self {
        GetCheque { id: id.into() }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_required("id", self.id.as_str(), 100)?;
        Ok(req.path(format!("/multi-cheque/{}", segment(self.id.as_str()))))
    }
}

/// `DELETE /multi-cheque/{id}` (whether unclaimed funds return is undocumented).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteCheque {
    id: ChequeId,
}

impl DeleteCheque {
    /// Delete the cheque with this id.
    pub fn new(id: impl Into<ChequeId>) -> Self {
        DeleteCheque { id: id.into() }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        check_required("id", self.id.as_str(), 100)?;
        Ok(req.path(format!("/multi-cheque/{}", segment(self.id.as_str()))))
    }
}

/// Multi-cheques (`client.cheques()`).
#[derive(Debug, Clone, Copy)]
pub struct Cheques<'a> {
    pub(crate) client: &'a Client,
}

impl Cheques<'_> {
    /// Creates a cheque, sent once (see the module docs): an unknown outcome is
    /// [`ErrorKind::Ambiguous`].
    pub async fn create(&self, req: &CreateCheque) -> Result<Cheque> {
        match self.client.send(req).await {
            Err(e) if outcome_unknown(&e) => {
                let message = format!(
                    "{}; the cheque may have been created and its total reserved: the legacy API cannot look it up, so it was not sent again. Look for it in cheques().list() before creating another",
                    e.message()
                );
                Err(e
                    .with_kind(ErrorKind::Ambiguous)
                    .with_retryable(false)
                    .with_message(message))
            }
            other => other,
        }
    }

    /// One page.
    pub async fn list(&self, query: &ListCheques) -> Result<Page<ShortCheque>> {
        self.client.send(query).await
    }

    /// Every cheque from `query`'s offset on.
    pub fn stream(&self, query: &ListCheques) -> impl Stream<Item = Result<ShortCheque>> + Send + '_ {
        let base = query.clone();
        let client = self.client;
        payout_core::paginate(PROVIDER, base.offset.unwrap_or(0), move |offset| {
            let q = base.clone().offset(offset);
            async move { client.send(&q).await }
        })
    }

    /// One cheque.
    pub async fn get(&self, id: impl Into<ChequeId>) -> Result<Cheque> {
        self.client.send(&GetCheque::new(id)).await
    }

    /// Changes a cheque's optional settings.
    pub async fn update(&self, req: &UpdateCheque) -> Result<Cheque> {
        self.client.send(req).await
    }

    /// Deletes a cheque.
    pub async fn delete(&self, id: impl Into<ChequeId>) -> Result<()> {
        self.client.send(&DeleteCheque::new(id)).await
    }
}

/// One page of cheques.
pub type ChequePage = Page<ShortCheque>;
