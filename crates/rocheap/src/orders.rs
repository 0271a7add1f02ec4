//! Orders: `POST /create_order`, `GET /get_order_info/{order_id}`,
//! `GET /get_order_info_by_custom_id/{custom_order_id}`, and a poller for orders that stay
//! in `PROCESSING`.

use std::fmt;
use std::time::Duration;

use payout_core::{Decimal, Error, ErrorKind, IdempotencyKey, Request, Result, encode_path_segment};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::client::{Client, PROVIDER};
use crate::envelope;
use crate::error::ErrorCode;

/// The longest `custom_order_id` ROCheap accepts.
pub const CUSTOM_ORDER_ID_MAX: usize = 255;

/// ROCheap's id for an order. Opaque: it looks like a UUID but the docs' examples contain
/// non-hex letters, so it is never parsed as one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub String);

impl OrderId {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for OrderId {
    fn from(s: &str) -> Self {
        OrderId(s.to_string())
    }
}

impl From<String> for OrderId {
    fn from(s: String) -> Self {
        OrderId(s)
    }
}

payout_core::open_enum! {
    /// The state of an order (`status.code`).
    pub enum OrderStatus {
        /// Accepted and queued for fulfilment (what `create_order` returns).
        Created => "CREATED",
        /// Being fulfilled. Rarely, an order waits here for hours until ROCheap has stock.
        Processing => "PROCESSING",
        /// Robux delivered. Nothing more to do.
        Completed => "COMPLETED",
        /// Failed for good; see [`Order::failure_code`].
        Failed => "FAILED",
    }
}

impl OrderStatus {
    /// True once the order will not change any more (`COMPLETED` or `FAILED`). An unknown
    /// status is not final: keep polling, and read [`OrderStatus::as_str`] to log it.
    pub fn is_final(&self) -> bool {
        matches!(self, OrderStatus::Completed | OrderStatus::Failed)
    }
}

/// A `{code, message}` pair as ROCheap sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Coded<C> {
    /// The machine-readable code.
    pub code: C,
    /// ROCheap's human-readable message.
    #[serde(default)]
    pub message: Option<String>,
}

/// An order, as returned by create, both lookups and the callback.
///
/// Every field ROCheap does not guarantee is optional, and unknown fields are ignored, so a
/// new field on their side never breaks decoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Order {
    /// ROCheap's order id: keep it.
    pub order_id: OrderId,
    /// The state and its message.
    pub status: Coded<OrderStatus>,
    /// Why the order failed (present when `status` is `FAILED`).
    #[serde(default)]
    pub failure_code: Option<Coded<ErrorCode>>,
    /// Your own id, if you sent one (this crate always sends one).
    #[serde(default)]
    pub custom_order_id: Option<String>,
    /// What you were charged (currency not documented; USD is likely).
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub cost: Option<Decimal>,
    /// The game-pass price in Robux.
    #[serde(default)]
    pub robux: Option<u64>,
    /// What the receiver nets after Roblox's 30 % marketplace fee.
    #[serde(default)]
    pub after_tax_robux: Option<u64>,
    /// `"gamepass"` (the only method today).
    #[serde(default)]
    pub delivery_method: Option<String>,
    /// The receiver's universe.
    #[serde(default)]
    pub universe_id: Option<u64>,
    /// The place inside the universe.
    #[serde(default)]
    pub place_id: Option<u64>,
    /// The receiver's Roblox user id.
    #[serde(default)]
    pub receiver_roblox_user_id: Option<u64>,
    /// The receiver's Roblox user name.
    #[serde(default)]
    pub receiver_roblox_username: Option<String>,
    /// The game pass ROCheap bought (absent until one is found).
    #[serde(default)]
    pub gamepass_id: Option<u64>,
    /// The game pass's product id.
    #[serde(default)]
    pub gamepass_product_id: Option<u64>,
}

impl Order {
    /// The failure code, if the order failed.
    pub fn failure(&self) -> Option<&ErrorCode> {
        self.failure_code.as_ref().map(|f| &f.code)
    }

    /// True if the order failed for a reason the receiving user caused and can fix
    /// (tell them, e.g. "put your game pass on sale at R$ 10").
    pub fn is_user_error(&self) -> bool {
        self.failure().is_some_and(ErrorCode::is_user_error)
    }
}

/// A payout to create with [`Orders::create`].
///
/// ```
/// use rocheap::CreateOrder;
/// // 10 Robux game-pass price to user 1 via a pass in universe 4284924817, place 3927852479.
/// let req = CreateOrder::new(10, 1, 4284924817, 3927852479).custom_order_id("inv-1001");
/// assert!(req.validate().is_ok());
/// assert_eq!(CreateOrder::new(0, 1, 2, 3).validate().unwrap_err().field(), Some("robux"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrder {
    robux: u64,
    roblox_user_id: u64,
    universe_id: u64,
    place_id: u64,
    custom_order_id: Option<String>,
}

#[derive(Serialize)]
struct CreateOrderBody<'a> {
    robux: u64,
    roblox_user_id: u64,
    universe_id: u64,
    place_id: u64,
    custom_order_id: &'a str,
}

impl CreateOrder {
    /// A payout of a game pass priced `robux` to `roblox_user_id`, found in `universe_id` /
    /// `place_id`. `robux` is the pass price: the receiver nets about 70 % of it after Roblox's fee.
    pub fn new(robux: u64, roblox_user_id: u64, universe_id: u64, place_id: u64) -> Self {
        CreateOrder {
            robux,
            roblox_user_id,
            universe_id,
            place_id,
            custom_order_id: None,
        }
    }

    /// Your own id for the order (at most 255 characters). Strongly recommended: it is how the
    /// order is found again after a network failure. When you give none, one is generated
    /// and returned on the order.
    pub fn custom_order_id(mut self, id: impl Into<String>) -> Self {
        self.custom_order_id = Some(id.into());
        self
    }

    /// Checks the documented rules without sending anything.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, rule| Err(Error::invalid_input(PROVIDER, field, rule));
        if self.robux == 0 {
            return bad("robux", "must be greater than zero");
        }
        if self.roblox_user_id == 0 {
            return bad("roblox_user_id", "must be a Roblox user id (non-zero)");
        }
        if self.universe_id == 0 {
            return bad("universe_id", "must be a Roblox universe id (non-zero)");
        }
        if self.place_id == 0 {
            return bad("place_id", "must be a Roblox place id (non-zero)");
        }
        if let Some(id) = &self.custom_order_id {
            if id.is_empty() {
                return bad(
                    "custom_order_id",
                    "must not be empty (omit it to have one generated)",
                );
            }
            if id.chars().count() > CUSTOM_ORDER_ID_MAX {
                return bad("custom_order_id", "must be at most 255 characters");
            }
        }
        Ok(())
    }
}

impl CreateOrder {
    /// The first field in which `order` contradicts this request, if any. Fields the order
    /// does not carry are not held against it.
    fn mismatch(&self, order: &Order) -> Option<&'static str> {
        let differs = |sent: u64, got: Option<u64>| got.is_some_and(|g| g != sent);
        if differs(self.robux, order.robux) {
            Some("robux")
        } else if differs(self.roblox_user_id, order.receiver_roblox_user_id) {
            Some("receiver_roblox_user_id")
        } else if differs(self.universe_id, order.universe_id) {
            Some("universe_id")
        } else if differs(self.place_id, order.place_id) {
            Some("place_id")
        } else {
            None
        }
    }
}

/// How [`Orders::wait_until_final`] polls.
#[derive(Debug, Clone, Copy)]
pub struct PollOptions {
    interval: Duration,
    max_interval: Duration,
    timeout: Duration,
}

impl Default for PollOptions {
    /// Every 30 s, backing off to every 10 min, for up to 24 h: ROCheap orders normally finish
    /// quickly but can wait hours for stock.
    fn default() -> Self {
        PollOptions {
            interval: Duration::from_secs(30),
            max_interval: Duration::from_secs(600),
            timeout: Duration::from_secs(24 * 3600),
        }
    }
}

impl PollOptions {
    /// The first wait between lookups; it grows by half each time up to `max_interval`.
    pub fn interval(mut self, d: Duration) -> Self {
        self.interval = d;
        self
    }
    /// The longest wait between lookups.
    pub fn max_interval(mut self, d: Duration) -> Self {
        self.max_interval = d;
        self
    }
    /// How long to keep polling before giving up with [`ErrorKind::Timeout`].
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
}

/// Order endpoints. Get it with [`Client::orders`].
#[derive(Debug, Clone, Copy)]
pub struct Orders<'a> {
    pub(crate) client: &'a Client,
}

impl Orders<'_> {
    /// `POST /create_order`: schedules a payout. Success means *queued*: the result arrives
    /// by callback or through [`Orders::get`].
    ///
    /// **Never sent twice.** ROCheap has no idempotency protection, so once the request may
    /// have left, it is not repeated. If the outcome is unknown (timeout, dropped connection,
    /// 5xx), the order is looked up by its `custom_order_id` (generated if you gave none);
    /// if found, it is returned. Only if it cannot be found does the call fail with
    /// [`ErrorKind::Ambiguous`], carrying the custom id in
    /// [`Error::idempotency_key`]: look it up again later before paying anew.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] before sending; [`ErrorKind::Provider`] with
    /// [`ErrorCode::InsufficientBalance`] and friends when ROCheap refuses; `Ambiguous` as above.
    pub async fn create(&self, order: CreateOrder) -> Result<Order> {
        order.validate()?;
        let custom_id = match &order.custom_order_id {
            Some(id) => id.clone(),
            None => format!("payout-rs-{}", IdempotencyKey::generate()),
        };
        let body = CreateOrderBody {
            robux: order.robux,
            roblox_user_id: order.roblox_user_id,
            universe_id: order.universe_id,
            place_id: order.place_id,
            custom_order_id: &custom_id,
        };
        let key = IdempotencyKey::new(custom_id.clone()).ok();
        let mut req = Request::post("create_order", "/create_order")
            .json(&body)
            .map_err(|e| Error::invalid_input(PROVIDER, "order", "could not be serialized").with_source(e))?;
        if let Some(k) = key {
            req = req.idempotency_key(k);
        }
        let result = match self.client.transport.send(req).await {
            // A 2xx whose body does not decode (no `success`, a changed shape, a proxy page)
            // "may have succeeded" just like a timeout: the order may exist, so it goes
            // through the same reconciliation instead of reaching the caller as a bare
            // decode error.
            Ok(resp) => envelope::decode::<Order>(&resp),
            Err(e) => Err(e),
        };
        match result {
            Ok(mut created) => {
                if created.custom_order_id.is_none() {
                    created.custom_order_id = Some(custom_id);
                }
                Ok(created)
            }
            Err(e) if e.kind() == ErrorKind::Ambiguous || e.may_have_succeeded() => {
                self.reconcile(&order, &custom_id, e).await
            }
            Err(e) => Err(e),
        }
    }

    /// Looks an ambiguous create up by its custom id; the original error (as
    /// [`ErrorKind::Ambiguous`]) if it stays unknown.
    ///
    /// An order found under the custom id is only accepted if it is the one we tried to
    /// create: a `custom_order_id` reused from an earlier payout would otherwise make a
    /// payout that never happened look created (ROCheap does not document rejecting
    /// duplicate custom ids).
    async fn reconcile(&self, request: &CreateOrder, custom_id: &str, original: Error) -> Result<Order> {
        let original = original.with_kind(ErrorKind::Ambiguous);
        let policy = self.client.reconcile;
        tracing::warn!(
            custom_order_id = custom_id,
            "create_order outcome unknown; looking the order up by custom id"
        );
        let mut last_lookup = None;
        let mut mismatch: Option<&'static str> = None;
        for i in 0..policy.lookups {
            if i > 0 {
                tokio::time::sleep(policy.spacing).await;
            }
            match self.get_by_custom_id(custom_id).await {
                Ok(order) => match request.mismatch(&order) {
                    None => {
                        tracing::info!(custom_order_id = custom_id, "ambiguous create_order reconciled");
                        return Ok(order);
                    }
                    Some(field) => {
                        tracing::warn!(
                            custom_order_id = custom_id,
                            field,
                            "the order found by custom id is not the one just created"
                        );
                        mismatch = Some(field);
                        // Looking again will find the same order: stop here.
                        break;
                    }
                },
                // Not there yet, or the lookup failed too: try again.
                Err(e) => last_lookup = Some(e),
            }
        }
        let mismatch_why;
        let why = match (&mismatch, &last_lookup) {
            (Some(field), _) => {
                mismatch_why = format!(
                    "an order with that custom id exists but its `{field}` differs from this request, \
                     so it is an earlier order: use a unique custom_order_id per payout"
                );
                mismatch_why.as_str()
            }
            (None, Some(e)) if e.kind() == ErrorKind::NotFound => {
                "no order with that custom id was found yet"
            }
            (None, Some(_)) => "the lookup by custom id failed as well",
            (None, None) => "no lookup was configured",
        };
        Err(original.with_message(format!(
            "create_order outcome unknown ({why}); look it up by custom_order_id `{custom_id}` before creating it again"
        )))
    }

    /// `GET /get_order_info/{order_id}`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] (code `ORDER_NOT_FOUND`) for an unknown id.
    pub async fn get(&self, order_id: &OrderId) -> Result<Order> {
        if order_id.0.is_empty() {
            return Err(Error::invalid_input(PROVIDER, "order_id", "must not be empty"));
        }
        let req = Request::get("get_order_info", "/get_order_info/{order_id}")
            .path(format!("/get_order_info/{}", encode_path_segment(&order_id.0)));
        let resp = self.client.transport.send(req).await?;
        envelope::decode(&resp)
    }

    /// `GET /get_order_info_by_custom_id/{custom_order_id}` (the id is URL-encoded for you).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] (code `ORDER_NOT_FOUND`) for an unknown id.
    pub async fn get_by_custom_id(&self, custom_order_id: &str) -> Result<Order> {
        if custom_order_id.is_empty() || custom_order_id.chars().count() > CUSTOM_ORDER_ID_MAX {
            return Err(Error::invalid_input(
                PROVIDER,
                "custom_order_id",
                "must be 1 to 255 characters",
            ));
        }
        let req = Request::get(
            "get_order_info_by_custom_id",
            "/get_order_info_by_custom_id/{custom_order_id}",
        )
        .path(format!(
            "/get_order_info_by_custom_id/{}",
            encode_path_segment(custom_order_id)
        ));
        let resp = self.client.transport.send(req).await?;
        envelope::decode(&resp)
    }

    /// Polls [`Orders::get`] until the order is `COMPLETED` or `FAILED`, for orders whose
    /// callback did not come (the excerpt: orders can sit in `PROCESSING` for hours).
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`] if it is still not final after `options.timeout`; lookup
    /// errors that are not retryable are returned at once.
    pub async fn wait_until_final(&self, order_id: &OrderId, options: PollOptions) -> Result<Order> {
        let deadline = Instant::now() + options.timeout;
        let mut interval = options.interval;
        loop {
            match self.get(order_id).await {
                Ok(order) if order.status.code.is_final() => return Ok(order),
                Ok(order) => {
                    tracing::debug!(order_id = %order_id, status = %order.status.code, "order not final yet");
                }
                Err(e) if e.is_retryable() => {
                    tracing::debug!(order_id = %order_id, error = %e, "lookup failed; polling on");
                }
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            if now + interval > deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    PROVIDER,
                    format!(
                        "order {order_id} is still not final after {:?}; keep polling or wait for the callback",
                        options.timeout
                    ),
                ));
            }
            tokio::time::sleep(interval).await;
            interval = interval.mul_f64(1.5).min(options.max_interval);
        }
    }
}
