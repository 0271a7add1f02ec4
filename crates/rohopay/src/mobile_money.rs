//! Mobile money: collections (`POST /api/v1/collect`) and payouts (`POST /api/v1/disburse`).
//!
//! Both carry an `Idempotency-Key` header, which RohoPay requires and deduplicates on for
//! 24 hours: a repeat with the same key returns the first result instead of charging or
//! paying twice. The key is made when the request value is built (or given by you with
//! `idempotency_key(...)`), so sending the same [`CollectRequest`] or [`DisburseRequest`]
//! again after an error is answered with the first result, never a second charge or
//! payout. It is sent on every retry and returned on the result and on the error. Store it
//! with your order ([`payout_core::Keyed::key`] reads it before sending); build a new request
//! value only for a new payment.
//!
//! RohoPay documents no lookup by `Idempotency-Key` (a transaction is looked up only by the
//! `RHP-…` reference its answer carries), so an unknown outcome is settled by sending the
//! same request value again, which RohoPay answers with the first result: that is the
//! reconcile of these calls (see the "Deviations" of `docs/api-conventions.md`).

use payout_core::{Error, IdempotencyKey, KeySlot, Keyed, Request, Response, Result};
use serde::{Deserialize, Serialize};

use crate::client::{Client, PROVIDER};
use crate::transactions::{Currency, PaymentMethod, Transaction};
use crate::validate;

/// The header RohoPay deduplicates `/collect` and `/disburse` on.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The smallest payout RohoPay accepts in UGX.
pub const MIN_DISBURSE_UGX: u64 = 1000;

/// `POST /api/v1/collect`: ask a payer to approve a mobile-money payment (USSD prompt).
///
/// ```
/// use rohopay::{CollectRequest, Currency, IdempotencyKey};
/// let req = CollectRequest::new("256712345678", 50_000, Currency::Ugx)
///     .description("Order #1001")
///     .callback_url("https://shop.example/webhooks/rohopay")
///     .idempotency_key(IdempotencyKey::new("order-1001-collect").unwrap());
/// assert!(req.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectRequest {
    phone: String,
    amount: u64,
    currency: Currency,
    description: Option<String>,
    callback_url: Option<String>,
    payment_method: Option<PaymentMethod>,
    #[serde(deserialize_with = "KeySlot::deserialize_checked")]
    idempotency_key: KeySlot,
}

#[derive(Serialize)]
struct MobileMoneyBody<'a> {
    phone: &'a str,
    amount: u64,
    currency: &'a Currency,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_method: Option<&'a PaymentMethod>,
}

impl CollectRequest {
    /// Collect `amount` (smallest unit: UGX 50,000 is `50000`) in `currency` from `phone`,
    /// written internationally without `+` (`256712345678`).
    pub fn new(phone: impl Into<String>, amount: u64, currency: Currency) -> Self {
        CollectRequest {
            phone: phone.into(),
            amount,
            currency,
            description: None,
            callback_url: None,
            payment_method: None,
            idempotency_key: KeySlot::generated(),
        }
    }
    /// Shown in the dashboard; at most 255 characters.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
    /// The HTTPS URL RohoPay posts this transaction's webhooks to (recommended).
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }
    /// Sends `payment_method` (RohoPay's API reference shows `"mobile_money"`; it is optional
    /// and the official SDK never sends it).
    pub fn payment_method(mut self, method: PaymentMethod) -> Self {
        self.payment_method = Some(method);
        self
    }
    /// Your key for this collection (one per business event, e.g. derived from your order
    /// id, so a restart of your process reuses it). Without it, [`CollectRequest::new`] makes
    /// a fresh UUID on first read that stays with this value and its clones: sending the same
    /// request again reuses it. Given here, no UUID is generated at all.
    /// Reusing a key with different parameters is refused with HTTP 409.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = KeySlot::from(key);
        self
    }
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        build(req, &self.body(), &self.idempotency_key)
    }
    /// Checks the request as [`MobileMoney::collect`] does before sending.
    pub fn validate(&self) -> Result<()> {
        validate::phone("phone", &self.phone)?;
        validate::amount("amount", self.amount)?;
        validate::currency("currency", &self.currency)?;
        if let Some(d) = &self.description {
            validate::max_chars("description", d, 255)?;
        }
        if let Some(u) = &self.callback_url {
            validate::url("callback_url", u, true)?;
        }
        Ok(())
    }
    fn body(&self) -> MobileMoneyBody<'_> {
        MobileMoneyBody {
            phone: &self.phone,
            amount: self.amount,
            currency: &self.currency,
            description: self.description.as_deref(),
            callback_url: self.callback_url.as_deref(),
            payment_method: self.payment_method.as_ref(),
        }
    }
}

/// `POST /api/v1/disburse`: pay out from your live wallet to a mobile-money number.
///
/// Needs a `live_` key (RohoPay answers a `test_` key with 403 `DISBURSE_TEST_BLOCKED`);
/// check [`crate::Wallet::balance`] first.
///
/// ```
/// use rohopay::{Currency, DisburseRequest};
/// let req = DisburseRequest::new("256712345678", 25_000, Currency::Ugx).description("Refund #1001");
/// assert!(req.validate().is_ok());
/// assert!(DisburseRequest::new("256712345678", 999, Currency::Ugx).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisburseRequest {
    phone: String,
    amount: u64,
    currency: Currency,
    description: Option<String>,
    callback_url: Option<String>,
    #[serde(deserialize_with = "KeySlot::deserialize_checked")]
    idempotency_key: KeySlot,
}

impl DisburseRequest {
    /// Pay `amount` (smallest unit; at least UGX 1,000) in `currency` to `phone`, written
    /// internationally without `+` (`256712345678`).
    pub fn new(phone: impl Into<String>, amount: u64, currency: Currency) -> Self {
        DisburseRequest {
            phone: phone.into(),
            amount,
            currency,
            description: None,
            callback_url: None,
            idempotency_key: KeySlot::generated(),
        }
    }
    /// Appears in the provider's records; at most 255 characters.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
    /// The HTTPS URL RohoPay posts this payout's webhooks to.
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }
    /// Your key for this payout (one per business event, e.g. derived from your order id, so
    /// a restart of your process reuses it). Without it, [`DisburseRequest::new`] makes a
    /// fresh UUID on first read that stays with this value and its clones: sending the same
    /// request again reuses it. Given here, no UUID is generated at all.
    /// Reusing a key with different parameters is refused with HTTP 409.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = KeySlot::from(key);
        self
    }
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        build(req, &self.body(), &self.idempotency_key)
    }
    /// Checks the request as [`MobileMoney::disburse`] does before sending.
    pub fn validate(&self) -> Result<()> {
        validate::phone("phone", &self.phone)?;
        validate::amount("amount", self.amount)?;
        validate::currency("currency", &self.currency)?;
        if self.currency == Currency::Ugx && self.amount < MIN_DISBURSE_UGX {
            return Err(validate::invalid(
                "amount",
                "must be at least 1000 for a UGX payout",
            ));
        }
        if let Some(d) = &self.description {
            validate::max_chars("description", d, 255)?;
        }
        if let Some(u) = &self.callback_url {
            validate::url("callback_url", u, true)?;
        }
        Ok(())
    }
    fn body(&self) -> MobileMoneyBody<'_> {
        MobileMoneyBody {
            phone: &self.phone,
            amount: self.amount,
            currency: &self.currency,
            description: self.description.as_deref(),
            callback_url: self.callback_url.as_deref(),
            payment_method: None,
        }
    }
}

impl Keyed for CollectRequest {
    const KEY_NAME: &'static str = "Idempotency-Key";
    fn key(&self) -> &str {
        self.idempotency_key.get()
    }
}

impl Keyed for DisburseRequest {
    const KEY_NAME: &'static str = "Idempotency-Key";
    fn key(&self) -> &str {
        self.idempotency_key.get()
    }
}

fn build(req: Request, body: &MobileMoneyBody<'_>, key: &KeySlot) -> Result<Request> {
    let key = key
        .to_key()
        .map_err(|e| Error::invalid_input(PROVIDER, "Idempotency-Key", e.to_string()))?;
    Ok(req
        .json(body)
        .map_err(|e| Error::invalid_input(PROVIDER, "body", "could not be serialized").with_source(e))?
        .idempotency_header(IDEMPOTENCY_HEADER, key))
}

/// A collection or payout RohoPay accepted, usually still `pending` (sandbox keys may
/// already be final). Wait for the webhook or poll
/// [`crate::Transactions::wait_until_final`] before fulfilling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Initiated {
    /// The transaction as RohoPay returned it.
    pub transaction: Transaction,
    /// The key the call was protected by: store it with your order.
    pub idempotency_key: IdempotencyKey,
    /// RohoPay's message (`"Payment initiated"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The decoder of `/collect` and `/disburse`: the enveloped transaction, RohoPay's optional
/// top-level `message`, and the key the call was sent with.
pub(crate) fn decode_initiated(resp: &Response) -> Result<Initiated> {
    #[derive(Deserialize)]
    struct Message {
        #[serde(default)]
        message: Option<String>,
    }
    let transaction: Transaction = crate::api::decode(resp)?;
    let message = resp.json::<Message>().ok().and_then(|m| m.message);
    let idempotency_key = resp
        .idempotency_key()
        .cloned()
        .ok_or_else(|| resp.decode_error("the answer carries no Idempotency-Key (a bug in rohopay)"))?;
    Ok(Initiated {
        transaction,
        idempotency_key,
        message,
    })
}

/// `client.mobile_money()`: collections and payouts.
#[derive(Debug, Clone, Copy)]
pub struct MobileMoney<'a> {
    pub(crate) client: &'a Client,
}

impl MobileMoney<'_> {
    /// `POST /api/v1/collect` with the request's `Idempotency-Key`. Retried on 5xx, timeouts
    /// and dropped connections with the same key, which RohoPay deduplicates, so the payer is
    /// prompted (and charged) at most once; calling it again with the same `req` after an
    /// error reuses that key too, and RohoPay answers with the first result.
    pub async fn collect(&self, req: &CollectRequest) -> Result<Initiated> {
        self.client.send(req).await
    }

    /// `POST /api/v1/disburse` with the request's `Idempotency-Key`. Retried only with the
    /// same key, and calling it again with the same `req` after an error reuses that key, so
    /// the payee is paid at most once.
    pub async fn disburse(&self, req: &DisburseRequest) -> Result<Initiated> {
        self.client.send(req).await
    }
}
