//! Card payments with 3-D Secure: `POST /api/v1/checkout`, the untrusted return URL, and
//! confirming the real outcome.
//!
//! The flow RohoPay documents:
//! 1. [`Checkout::create`] sends the card and returns a [`CheckoutSession`] with a one-time
//!    `payment_url`. Store its `internal_reference` with your order, then redirect the
//!    browser (full page, never an iframe) to the URL.
//! 2. After 3-D Secure the browser comes back to your `return_url` with
//!    `?status=…&reference=…&order_ref=…`. Anyone can type that URL:
//!    [`UntrustedCheckoutReturn::parse`] reads it, and proves nothing.
//! 3. [`Checkout::confirm`] fetches the transaction from RohoPay and returns its
//!    authoritative status. Fulfil only on [`Confirmation::is_paid_for`]. When a webhook and
//!    the redirect disagree, trust the webhook.
//!
//! The card number, expiry and CVV are held as [`SecretString`]: they never appear in a
//! `Debug`, a log line, an error or a serialized request (see [`Card`]). Validation errors
//! name the field, never the value.
//!
//! Checkout sends an `Idempotency-Key`, as RohoPay's official SDK does on every POST, made
//! when the [`CheckoutRequest`] is built: a timeout, a dropped connection or a 5xx (even a
//! Cloudflare HTML page) is retried with the same key, and sending the same request value
//! again after an error reuses it.

use std::time::{SystemTime, UNIX_EPOCH};

use payout_core::{
    AuthScheme, Decimal, Error, IdempotencyKey, KeySlot, Keyed, Request, Result, SecretString,
};
use secrecy::ExposeSecret;
use secrecy::zeroize::Zeroize;
use serde::{Deserialize, Serialize};

use crate::client::{Client, PROVIDER};
use crate::mobile_money::IDEMPOTENCY_HEADER;
use crate::transactions::{Currency, Transaction, TransactionId, TransactionReference, TransactionStatus};
use crate::validate;

/// The JSON body field RohoPay reads the API key from on checkout. The client splices the key
/// in while sending, so a [`CheckoutRequest`] never holds it.
pub const API_KEY_FIELD: &str = "api_key";

/// Card data: number, expiry and CVV, all secret.
///
/// `Debug` prints `[REDACTED]` for each; nothing in this crate logs or echoes them.
/// **Serializing a card writes `[REDACTED]` for each field, never the card data** (a journal
/// that stores a [`CheckoutRequest`] must not hold a card number or a CVV; card data may
/// not be stored after authorisation). A card read back from such a record fails
/// validation, so a stored checkout can never be re-sent with a masked card.
///
/// ```
/// use rohopay::Card;
/// let card = Card::new("4111 1111 1111 1111", "10/27", "123");
/// assert!(!format!("{card:?}").contains("4111"));
/// let json = serde_json::to_string(&card).unwrap();
/// assert!(!json.contains("4111") && !json.contains("10/27") && !json.contains("123"));
/// ```
#[derive(Clone)]
pub struct Card {
    number: SecretString,
    expiry: SecretString,
    cvv: SecretString,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card")
            .field("number", &"[REDACTED]")
            .field("expiry", &"[REDACTED]")
            .field("cvv", &"[REDACTED]")
            .finish()
    }
}

const MASK: &str = "[REDACTED]";

impl Serialize for Card {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Card", 3)?;
        st.serialize_field("number", MASK)?;
        st.serialize_field("expiry", MASK)?;
        st.serialize_field("cvv", MASK)?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Card {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            number: String,
            expiry: String,
            cvv: String,
        }
        let w = Wire::deserialize(d)?;
        Ok(Card::new(w.number, w.expiry, w.cvv))
    }
}

impl Card {
    /// A card from what the cardholder typed: `number` (16 digits; spaces and dashes are
    /// removed), `expiry` as `MM/YY` and the 3-digit `cvv`. Checked when the checkout is
    /// validated, not here.
    pub fn new(number: impl Into<String>, expiry: impl Into<String>, cvv: impl Into<String>) -> Self {
        let mut raw = number.into();
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        // The grouped copy is ours to wipe; the compact one lives on inside the secret.
        raw.zeroize();
        Card {
            number: SecretString::from(digits),
            expiry: SecretString::from(expiry.into().trim().to_string()),
            cvv: SecretString::from(cvv.into().trim().to_string()),
        }
    }

    /// Checks the card: 16 digits of a Visa or Mastercard number passing Luhn, an `MM/YY`
    /// expiry not before the month of `now` (UTC), a 3-digit CVV. The error names
    /// `card_number`, `card_expiry` or `card_cvv` and the rule, never the value.
    pub fn validate_at(&self, now: SystemTime) -> Result<()> {
        validate::card_number("card_number", self.number.expose_secret())?;
        validate::card_expiry("card_expiry", self.expiry.expose_secret(), now)?;
        validate::cvv("card_cvv", self.cvv.expose_secret())?;
        Ok(())
    }
}

/// `POST /api/v1/checkout`: a card payment. Holds no API key: the client adds it to the body
/// while sending. Carries its `Idempotency-Key` from construction ([`Keyed::key`]).
///
/// Serializes (for a journal) with the card masked: see [`Card`].
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use rohopay::{Card, CheckoutRequest, Currency};
/// let req = CheckoutRequest::new(
///     75_000,
///     Currency::Ugx,
///     "Jane Mukasa",
///     "jane@example.com",
///     "https://shop.example/checkout/return",
///     Card::new("4111111111111111", "10/26", "123"),
/// )
/// .description("Premium subscription");
/// let june_2026 = UNIX_EPOCH + Duration::from_secs(1_781_000_000);
/// assert!(req.validate_at(june_2026).is_ok());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckoutRequest {
    amount: u64,
    currency: Currency,
    customer_name: String,
    customer_email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    return_url: String,
    card: Card,
    #[serde(deserialize_with = "KeySlot::deserialize_checked")]
    idempotency_key: KeySlot,
}

#[derive(Serialize)]
struct CheckoutBody<'a> {
    amount: u64,
    currency: &'a Currency,
    customer_name: &'a str,
    customer_email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    return_url: &'a str,
    #[serde(serialize_with = "payout_core::secret::expose")]
    card_number: &'a SecretString,
    #[serde(serialize_with = "payout_core::secret::expose")]
    card_expiry: &'a SecretString,
    #[serde(serialize_with = "payout_core::secret::expose")]
    card_cvv: &'a SecretString,
}

impl CheckoutRequest {
    /// Charge `card` `amount` (smallest unit: UGX 75,000 is `75000`) in `currency`;
    /// `customer_name` is the cardholder, `return_url` where the browser lands after
    /// 3-D Secure, whatever the outcome.
    pub fn new(
        amount: u64,
        currency: Currency,
        customer_name: impl Into<String>,
        customer_email: impl Into<String>,
        return_url: impl Into<String>,
        card: Card,
    ) -> Self {
        CheckoutRequest {
            amount,
            currency,
            customer_name: customer_name.into(),
            customer_email: customer_email.into(),
            description: None,
            return_url: return_url.into(),
            card,
            idempotency_key: KeySlot::generated(),
        }
    }
    /// Your key for this checkout (one per payment attempt of an order). Without it,
    /// [`CheckoutRequest::new`] makes a fresh UUID on first read that stays with this value
    /// and its clones; given here, no UUID is generated at all.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = KeySlot::from(key);
        self
    }
    /// A description of the payment.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
    /// The amount, in the smallest unit.
    pub fn amount(&self) -> u64 {
        self.amount
    }
    /// The currency.
    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    /// Checks everything RohoPay documents, with `now` deciding whether the card has expired.
    /// [`Checkout::create`] runs this with the client's clock before sending.
    pub fn validate_at(&self, now: SystemTime) -> Result<()> {
        validate::amount("amount", self.amount)?;
        validate::currency("currency", &self.currency)?;
        validate::not_blank("customer_name", &self.customer_name)?;
        validate::max_chars("customer_name", &self.customer_name, 255)?;
        validate::email("customer_email", &self.customer_email)?;
        validate::url("return_url", &self.return_url, false)?;
        self.card.validate_at(now)
    }

    /// Everything [`CheckoutRequest::validate_at`] checks except whether the card has expired
    /// by now (only that its expiry is a well-formed `MM/YY`): `build_request` has no clock,
    /// [`Checkout::create`] checks the expiry against the client's.
    fn validate_offline(&self) -> Result<()> {
        self.validate_at(UNIX_EPOCH)
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate_offline()?;
        let key = self
            .idempotency_key
            .to_key()
            .map_err(|e| Error::invalid_input(PROVIDER, "Idempotency-Key", e.to_string()))?;
        Ok(req
            .json(&self.body())
            .map_err(|e| Error::invalid_input(PROVIDER, "body", "could not be serialized").with_source(e))?
            .auth(AuthScheme::JsonBodyField(API_KEY_FIELD))
            .idempotency_header(IDEMPOTENCY_HEADER, key)
            // Masked by the transport wherever RohoPay might echo them (messages, codes, body
            // snippets; plain, JSON-escaped and as whole tokens), before any truncation.
            .redact(&self.card.number)
            .redact(&self.card.expiry)
            .redact(&self.card.cvv))
    }

    fn body(&self) -> CheckoutBody<'_> {
        CheckoutBody {
            amount: self.amount,
            currency: &self.currency,
            customer_name: &self.customer_name,
            customer_email: &self.customer_email,
            description: self.description.as_deref(),
            return_url: &self.return_url,
            card_number: &self.card.number,
            card_expiry: &self.card.expiry,
            card_cvv: &self.card.cvv,
        }
    }
}

/// What `POST /api/v1/checkout` returns: where to send the cardholder for 3-D Secure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CheckoutSessionWire")]
#[non_exhaustive]
pub struct CheckoutSession {
    /// RohoPay's transaction id (`transaction_id` on the wire, not `id`; `id` is accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<TransactionId>,
    /// The `RHP-…` reference. **Store it with your order**: it is what
    /// [`Checkout::confirm`] looks up. (`reference` is accepted.) Required: an answer without
    /// it is a decode error.
    pub internal_reference: TransactionReference,
    /// The one-time 3-D Secure link: redirect the browser to it (full page, not an iframe).
    pub payment_url: String,
    /// `pending` until the cardholder finishes 3-D Secure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TransactionStatus>,
    /// The amount, smallest unit.
    #[serde(
        default,
        with = "payout_core::money::option_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub amount: Option<Decimal>,
    /// The currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
}

/// The checkout response as it arrives: documented and alternative names as separate
/// fields, so a body carrying both decodes instead of failing on a duplicate field.
#[derive(Deserialize)]
struct CheckoutSessionWire {
    #[serde(default)]
    transaction_id: Option<TransactionId>,
    #[serde(default)]
    id: Option<TransactionId>,
    #[serde(default)]
    internal_reference: Option<TransactionReference>,
    #[serde(default)]
    reference: Option<TransactionReference>,
    #[serde(default)]
    payment_url: Option<String>,
    #[serde(default)]
    status: Option<TransactionStatus>,
    #[serde(default, with = "payout_core::money::option_decimal")]
    amount: Option<Decimal>,
    #[serde(default)]
    currency: Option<Currency>,
}

impl TryFrom<CheckoutSessionWire> for CheckoutSession {
    type Error = &'static str;
    fn try_from(w: CheckoutSessionWire) -> std::result::Result<Self, Self::Error> {
        Ok(CheckoutSession {
            transaction_id: w.transaction_id.or(w.id),
            internal_reference: w
                .internal_reference
                .or(w.reference)
                .ok_or("missing field `internal_reference`")?,
            payment_url: w.payment_url.ok_or("missing field `payment_url`")?,
            status: w.status,
            amount: w.amount,
            currency: w.currency,
        })
    }
}

payout_core::open_enum! {
    /// The `status` the browser brought back on the return URL. Provisional: it proves
    /// nothing.
    pub enum ReturnStatus {
        /// The redirect claims success.
        Success => "success",
        /// The redirect claims failure.
        Failed => "failed",
    }
}

/// The query of the return URL after 3-D Secure (`?status=success&reference=RHP-…&order_ref=…`).
///
/// **Untrusted.** Anyone can open your return URL with any parameters, so nothing here may
/// decide whether to fulfil an order. Use it to know which payment the browser is talking
/// about, show a "checking…" page, and call [`Checkout::confirm`].
///
/// ```
/// use rohopay::{ReturnStatus, UntrustedCheckoutReturn};
/// let ret = UntrustedCheckoutReturn::parse(
///     "https://shop.example/checkout/return?status=success&reference=RHP-2024-CARD001&order_ref=relworx-ref",
/// );
/// assert_eq!(ret.claimed_status(), Some(&ReturnStatus::Success));
/// assert_eq!(ret.claimed_reference(), Some("RHP-2024-CARD001"));
/// assert_eq!(ret.claimed_order_ref(), Some("relworx-ref"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UntrustedCheckoutReturn {
    status: Option<ReturnStatus>,
    reference: Option<String>,
    order_ref: Option<String>,
}

impl UntrustedCheckoutReturn {
    /// Reads `status`, `reference` and `order_ref` from a full URL, a path with a query, or
    /// the bare query string (with or without `?`). Missing or empty parameters are `None`;
    /// nothing is rejected, since nothing is trusted.
    pub fn parse(url_or_query: &str) -> Self {
        let s = url_or_query.trim();
        let query = match s.split_once('?') {
            Some((_, q)) => q,
            None if s.contains('=') => s,
            None => "",
        };
        let query = query.split('#').next().unwrap_or("");
        let mut out = UntrustedCheckoutReturn::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            // First occurrence wins, so an appended duplicate cannot override it.
            match k.as_ref() {
                "status" if out.status.is_none() => out.status = Some(ReturnStatus::from(v)),
                "reference" if out.reference.is_none() => out.reference = Some(v.to_string()),
                "order_ref" if out.order_ref.is_none() => out.order_ref = Some(v.to_string()),
                _ => {}
            }
        }
        out
    }

    /// What the redirect claims happened. Not proof of payment.
    pub fn claimed_status(&self) -> Option<&ReturnStatus> {
        self.status.as_ref()
    }
    /// The `RHP-…` reference the redirect names. Not proof it is your order's payment:
    /// compare it with the reference you stored.
    pub fn claimed_reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }
    /// The upstream provider's reference the redirect names.
    pub fn claimed_order_ref(&self) -> Option<&str> {
        self.order_ref.as_deref()
    }
}

/// The authoritative outcome of a card payment, fetched from RohoPay.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Confirmation {
    /// The transaction as RohoPay reports it now.
    pub transaction: Transaction,
    /// What the return URL claimed, if one was given (for logging disagreements).
    pub claimed_status: Option<ReturnStatus>,
    /// False when a return URL was given and it did not name the payment confirmed (another
    /// reference, or none).
    /// Someone may be replaying another payment's return URL; the confirmation itself is
    /// still about the reference you asked for.
    pub return_matches: bool,
}

impl Confirmation {
    /// The authoritative status (`pending` when RohoPay did not say).
    pub fn status(&self) -> TransactionStatus {
        self.transaction
            .status
            .clone()
            .unwrap_or(TransactionStatus::Pending)
    }
    /// True only when RohoPay says `successful`. Prefer [`Confirmation::is_paid_for`].
    pub fn is_paid(&self) -> bool {
        self.transaction.is_successful()
    }
    /// True only when RohoPay says `successful` **and** the amount and currency are the ones
    /// of your order: the check to fulfil on.
    pub fn is_paid_for(&self, amount: u64, currency: &Currency) -> bool {
        self.is_paid()
            && self.transaction.amount == Some(Decimal::from(amount))
            && self.transaction.currency.as_ref() == Some(currency)
    }
    /// True when the return URL claimed an outcome RohoPay does not (yet) confirm, e.g.
    /// `?status=success` on a payment that is still pending or failed.
    pub fn redirect_disagrees(&self) -> bool {
        !matches!(
            (&self.claimed_status, &self.transaction.status),
            (None, _)
                | (Some(ReturnStatus::Success), Some(TransactionStatus::Successful))
                | (Some(ReturnStatus::Failed), Some(TransactionStatus::Failed))
        )
    }
}

/// `client.checkout()`: card payments.
#[derive(Debug, Clone, Copy)]
pub struct Checkout<'a> {
    pub(crate) client: &'a Client,
}

impl Keyed for CheckoutRequest {
    const KEY_NAME: &'static str = "Idempotency-Key";
    fn key(&self) -> &str {
        self.idempotency_key.get()
    }
}

impl Checkout<'_> {
    /// `POST /api/v1/checkout`: validates the request (card expiry against the client's
    /// clock), then sends it with the API key in the JSON body, not in a header, and the
    /// request's `Idempotency-Key`.
    ///
    /// Retried on 5xx (HTML error pages included), timeouts and dropped connections with the
    /// same key, as the official SDK retries it; sending the same `req` again after an error
    /// reuses the key too. RohoPay documents no lookup by that key, so that re-send is how an
    /// unknown outcome is settled. In any case no card is charged until the cardholder
    /// completes 3-D Secure on the one-time `payment_url`: a session whose answer was lost
    /// stays `pending`, expires and charges nothing (RohoPay API reference,
    /// `docs.rohopay.com/api-reference/checkout`). RohoPay allows 30 checkouts per minute per IP ([`crate::rate_limits::checkout`]).
    pub async fn create(&self, req: &CheckoutRequest) -> Result<CheckoutSession> {
        req.validate_at(self.client.now())?;
        self.client.send(req).await
    }

    /// Fetches `GET /api/v1/transactions/{reference}` for the reference you stored from
    /// [`CheckoutSession::internal_reference`] and returns its authoritative status.
    ///
    /// Refuses (as a provider error) an answer about another transaction.
    pub async fn confirm(&self, stored_reference: impl Into<TransactionReference>) -> Result<Confirmation> {
        let stored_reference: TransactionReference = stored_reference.into();
        let transaction = self.fetch(stored_reference.as_str()).await?;
        Ok(Confirmation {
            transaction,
            claimed_status: None,
            return_matches: true,
        })
    }

    /// Like [`Checkout::confirm`], also recording what the return URL claimed, and whether it
    /// named the same payment, so disagreements can be logged. The lookup always uses
    /// `stored_reference`, never the URL's.
    pub async fn confirm_return(
        &self,
        ret: &UntrustedCheckoutReturn,
        stored_reference: impl Into<TransactionReference>,
    ) -> Result<Confirmation> {
        let stored_reference: TransactionReference = stored_reference.into();
        let stored_reference = stored_reference.as_str();
        let transaction = self.fetch(stored_reference).await?;
        let return_matches = match (&ret.reference, &ret.order_ref) {
            (Some(r), _) => transaction.has_reference(r) || r == stored_reference,
            (None, Some(o)) => transaction.has_reference(o),
            (None, None) => false,
        };
        Ok(Confirmation {
            transaction,
            claimed_status: ret.status.clone(),
            return_matches,
        })
    }

    async fn fetch(&self, reference: &str) -> Result<Transaction> {
        let transaction = self.client.transactions().get(reference).await?;
        let names_another = !transaction.has_reference(reference);
        if names_another {
            return Err(Error::provider(
                PROVIDER,
                None,
                "RohoPay answered the lookup with a different transaction than the one asked for; not trusting it",
            ));
        }
        Ok(transaction)
    }
}
