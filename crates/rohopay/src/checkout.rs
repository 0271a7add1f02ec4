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
//! `Debug`, a log line or an error. Validation errors name the field, never the value.

use std::time::SystemTime;

use payout_core::{AuthScheme, Decimal, Error, ErrorKind, Request, Result, SecretString};
use secrecy::ExposeSecret;
use secrecy::zeroize::Zeroize;
use serde::{Deserialize, Serialize};

use crate::client::{Client, PROVIDER};
use crate::error::{scrub_error, unwrap_data};
use crate::transactions::{Currency, Transaction, TransactionStatus};
use crate::validate;

/// The JSON body field RohoPay reads the API key from on checkout. The client splices the key
/// in while sending, so a [`CheckoutRequest`] never holds it.
pub const API_KEY_FIELD: &str = "api_key";

/// Card data: number, expiry and CVV, all secret.
///
/// `Debug` prints `[REDACTED]` for each; nothing in this crate logs or echoes them.
///
/// ```
/// use rohopay::Card;
/// let card = Card::new("4111 1111 1111 1111", "10/27", "123");
/// assert!(!format!("{card:?}").contains("4111"));
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
/// while sending.
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
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    amount: u64,
    currency: Currency,
    customer_name: String,
    customer_email: String,
    description: Option<String>,
    return_url: String,
    card: Card,
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
        }
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
    pub transaction_id: Option<String>,
    /// The `RHP-…` reference. **Store it with your order**: it is what
    /// [`Checkout::confirm`] looks up. (`reference` is accepted.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_reference: Option<String>,
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
    transaction_id: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    internal_reference: Option<String>,
    #[serde(default)]
    reference: Option<String>,
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
            internal_reference: w.internal_reference.or(w.reference),
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

impl Checkout<'_> {
    /// `POST /api/v1/checkout`: validates the request (card expiry against the client's
    /// clock), then sends it with the API key in the JSON body, not in a header.
    ///
    /// Never re-sent once it may have reached RohoPay (no idempotency key is documented for
    /// checkout): a timeout or 5xx after sending is an [`payout_core::ErrorKind::Ambiguous`]
    /// error. No money moves until the cardholder completes 3-D Secure on the one-time
    /// `payment_url`, which a lost answer never delivered: RohoPay documents that an
    /// abandoned session stays `pending`, expires and charges nothing. So after an ambiguous
    /// checkout, starting a new one for the same order is safe (there is no reference to
    /// look the lost one up by). RohoPay allows 30 checkouts per minute per IP
    /// ([`crate::rate_limits::checkout`]).
    pub async fn create(&self, req: &CheckoutRequest) -> Result<CheckoutSession> {
        req.validate_at(self.client.now())?;
        let http = Request::post("checkout.create", "/api/v1/checkout")
            .json(&req.body())
            .map_err(|e| Error::invalid_input(PROVIDER, "body", "could not be serialized").with_source(e))?
            .auth(AuthScheme::JsonBodyField(API_KEY_FIELD))
            // Masked by the transport before any truncation, in plain and JSON-escaped form.
            .redact(&req.card.number)
            .redact(&req.card.expiry)
            .redact(&req.card.cvv);
        let card = &req.card;
        let secrets = [
            card.number.expose_secret(),
            card.expiry.expose_secret(),
            card.cvv.expose_secret(),
        ];
        // RohoPay's error messages may quote what it rejected; never hand card data back.
        let transport = &self.client.transport;
        let result = transport
            .send(http)
            .await
            .and_then(|resp| unwrap_data(transport, &resp));
        result.map(|(session, _)| session).map_err(|e| {
            let e = scrub_error(e, &secrets);
            if e.kind() == ErrorKind::Ambiguous {
                // Nothing to look up by, and nothing charged without 3-D Secure on a
                // payment_url the caller never got: the generic advice would mislead.
                e.with_advice(
                    "no card is charged until 3-D Secure is completed on the payment_url, which this answer never delivered: starting a new checkout for the order is safe",
                )
            } else {
                e
            }
        })
    }

    /// Fetches `GET /api/v1/transactions/{reference}` for the reference you stored from
    /// [`CheckoutSession::internal_reference`] and returns its authoritative status.
    ///
    /// Refuses (as a provider error) an answer about another transaction.
    pub async fn confirm(&self, stored_reference: &str) -> Result<Confirmation> {
        let transaction = self.fetch(stored_reference).await?;
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
        stored_reference: &str,
    ) -> Result<Confirmation> {
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
        let names_another = (transaction.internal_reference.is_some()
            || transaction.provider_reference.is_some())
            && !transaction.has_reference(reference);
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
