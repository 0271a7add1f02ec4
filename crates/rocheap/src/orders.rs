//! Orders: `POST /create_order`, `GET /get_order_info/{order_id}`,
//! `GET /get_order_info_by_custom_id/{custom_order_id}` (ROCheap's "Create Order" and "Get
//! Order Info" pages), and a poller for orders that stay in `PROCESSING`.
//!
//! Each endpoint is a request value ([`CreateOrder`], [`GetOrder`], [`GetOrderByCustomId`])
//! that [`Client::send`] runs; [`Orders`] is the discoverable sugar on top.

use std::future::Future;

use payout_core::poll::{Poll, wait_until};
use payout_core::reconcile::send_reconciled;
use payout_core::{
    ApiClient, Decimal, Error, IdempotencyKey, KeySlot, Keyed, PollOptions, Reconcile, Request, Result,
    encode_path_segment,
};
use serde::{Deserialize, Serialize};

use crate::client::{Client, PROVIDER};
use crate::error::ErrorCode;

/// The longest `custom_order_id` ROCheap accepts (`String(255)` on its "Create Order" page).
pub const CUSTOM_ORDER_ID_MAX: usize = 255;

payout_core::id! {
    /// ROCheap's id for an order. Opaque: it looks like a UUID but the examples on ROCheap's
    /// "Get Order Info" page contain non-hex letters, so it is never parsed as one.
    pub struct OrderId(String);
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
    /// ROCheap's human-readable message (optional: only the code is acted upon).
    #[serde(default)]
    pub message: Option<String>,
}

/// An order, as returned by create, both lookups and the callback.
///
/// `order_id` and `status` are required: a body without them is a decode error (never an
/// order made of `None`s). Every other field is optional and unknown fields are ignored, so a
/// new field on ROCheap's side never breaks decoding.
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
    /// Your own id (this crate always sends one).
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

/// `POST /create_order`: a payout, created with [`Orders::create`] (or [`Client::send`]).
///
/// Its `custom_order_id` exists from construction: generated as `payout-rs-<uuid>` by
/// [`CreateOrder::new`], or yours through [`CreateOrder::custom_order_id`]. Read it with
/// [`Keyed::key`] and store it **before** sending: it is how the order is found again if the
/// outcome of the call is unknown.
///
/// Serializes to exactly the documented request body (for a journal of payout intents).
///
/// ```
/// use rocheap::{CreateOrder, Keyed};
/// // 10 Robux game-pass price to user 1 via a pass in universe 4284924817, place 3927852479.
/// let req = CreateOrder::new(10, 1, 4284924817, 3927852479).custom_order_id("inv-1001")?;
/// assert_eq!(req.key(), "inv-1001");
/// assert!(CreateOrder::new(10, 1, 2, 3).key().starts_with("payout-rs-"));
/// assert_eq!(CreateOrder::new(0, 1, 2, 3).validate().unwrap_err().field(), Some("robux"));
/// let bad = CreateOrder::new(10, 1, 2, 3).custom_order_id("inv 1001").unwrap_err();
/// assert_eq!(bad.field(), Some("custom_order_id"));
/// # Ok::<(), rocheap::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrder {
    robux: u64,
    roblox_user_id: u64,
    universe_id: u64,
    place_id: u64,
    custom_order_id: KeySlot,
}

impl CreateOrder {
    /// A payout of a game pass priced `robux` to `roblox_user_id`, found in `universe_id` /
    /// `place_id`, with a generated `custom_order_id` (`payout-rs-<uuid>`, made on first read
    /// and kept by this value and its clones: [`payout_core::KeySlot`]; nothing is generated
    /// when you give yours with [`CreateOrder::custom_order_id`]). `robux` is the pass price:
    /// the receiver nets about 70 % of it after Roblox's fee.
    pub fn new(robux: u64, roblox_user_id: u64, universe_id: u64, place_id: u64) -> Self {
        CreateOrder {
            robux,
            roblox_user_id,
            universe_id,
            place_id,
            custom_order_id: KeySlot::generated_with_prefix("payout-rs-"),
        }
    }

    /// Uses your own id for the order instead of the generated one (unique per payout).
    ///
    /// ROCheap's "Create Order" page documents `custom_order_id` as `String(255)`. This crate
    /// also requires printable ASCII without spaces, because the id is what an unknown outcome
    /// is looked up by (in a URL path) and what errors carry as the key.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](payout_core::ErrorKind::InvalidInput) naming `custom_order_id` if it is empty, longer than 255
    /// characters, or contains whitespace, control or non-ASCII characters. It is never
    /// silently replaced.
    pub fn custom_order_id(mut self, id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        check_custom_order_id(&id)?;
        self.custom_order_id = KeySlot::given(id);
        Ok(self)
    }

    /// The Robux amount (the game-pass price).
    pub fn robux(&self) -> u64 {
        self.robux
    }

    /// The receiver's Roblox user id.
    pub fn roblox_user_id(&self) -> u64 {
        self.roblox_user_id
    }

    /// Checks the documented rules without sending anything.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](payout_core::ErrorKind::InvalidInput) naming the field.
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
        check_custom_order_id(self.custom_order_id.get())
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        self.validate()?;
        let key = self
            .custom_order_id
            .to_key()
            .map_err(|e| Error::invalid_input(PROVIDER, "custom_order_id", e.to_string()))?;
        req.json(self)
            .map(|r| r.idempotency_key(key))
            .map_err(|e| Error::invalid_input(PROVIDER, "order", "could not be serialized").with_source(e))
    }

    /// The first field in which `order` contradicts this request, if any. Fields the order
    /// does not carry are not held against it.
    fn mismatch(&self, order: &Order) -> Option<&'static str> {
        let differs = |sent: u64, got: Option<u64>| got.is_some_and(|g| g != sent);
        if order
            .custom_order_id
            .as_deref()
            .is_some_and(|id| id != self.custom_order_id.get())
        {
            Some("custom_order_id")
        } else if differs(self.robux, order.robux) {
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

fn check_custom_order_id(id: &str) -> Result<()> {
    IdempotencyKey::check(id, CUSTOM_ORDER_ID_MAX).map_err(|e| {
        Error::invalid_input(
            PROVIDER,
            "custom_order_id",
            format!("{e} (1 to 255 printable ASCII characters, no spaces)"),
        )
    })
}

impl Keyed for CreateOrder {
    const KEY_NAME: &'static str = "custom_order_id";
    fn key(&self) -> &str {
        self.custom_order_id.get()
    }
}

impl Reconcile for CreateOrder {
    /// `GET /get_order_info_by_custom_id/{custom_order_id}`.
    fn lookup<C: ApiClient>(&self, client: &C) -> impl Future<Output = Result<Option<Order>>> + Send {
        let req = GetOrderByCustomId::new(self.custom_order_id.get());
        async move { client.send(&req).await.map(Some) }
    }

    /// An order found under the custom id is the one this request creates only if its custom
    /// id, Robux amount, receiver, universe and place agree (fields the order does not carry
    /// are not held against it): a `custom_order_id` reused from an earlier
    /// payout must not make a payout that never happened look created.
    fn matches(&self, found: &Order) -> std::result::Result<(), &'static str> {
        match self.mismatch(found) {
            None => Ok(()),
            Some(field) => Err(field),
        }
    }
}

/// `GET /get_order_info/{order_id}`: an order by ROCheap's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetOrder {
    order_id: OrderId,
}

impl GetOrder {
    /// The lookup of `order_id`.
    pub fn new(order_id: impl Into<OrderId>) -> Self {
        GetOrder {
            order_id: order_id.into(),
        }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        if self.order_id.as_str().is_empty() {
            return Err(Error::invalid_input(PROVIDER, "order_id", "must not be empty"));
        }
        Ok(req.path(format!(
            "/get_order_info/{}",
            encode_path_segment(self.order_id.as_str())
        )))
    }
}

/// `GET /get_order_info_by_custom_id/{custom_order_id}`: an order by your own id (URL-encoded
/// for you, so an id created elsewhere with spaces or slashes is found too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetOrderByCustomId {
    custom_order_id: String,
}

impl GetOrderByCustomId {
    /// The lookup of `custom_order_id`.
    pub fn new(custom_order_id: impl Into<String>) -> Self {
        GetOrderByCustomId {
            custom_order_id: custom_order_id.into(),
        }
    }

    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        let id = &self.custom_order_id;
        if id.is_empty() || id.chars().count() > CUSTOM_ORDER_ID_MAX || id.chars().any(char::is_control) {
            return Err(Error::invalid_input(
                PROVIDER,
                "custom_order_id",
                "must be 1 to 255 characters without control characters",
            ));
        }
        Ok(req.path(format!(
            "/get_order_info_by_custom_id/{}",
            encode_path_segment(id)
        )))
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
    /// 5xx, a 2xx that does not decode), the order is looked up by its `custom_order_id`
    /// ([`payout_core::reconcile::send_reconciled`]); if found and it matches the request, it
    /// is returned. Otherwise the call fails with [`ErrorKind::Ambiguous`](payout_core::ErrorKind::Ambiguous), carrying the
    /// custom id in [`Error::idempotency_key`]: look it up again later before paying anew.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](payout_core::ErrorKind::InvalidInput) before sending; [`ErrorKind::Provider`](payout_core::ErrorKind::Provider) with
    /// [`ErrorCode::InsufficientBalance`] and friends when ROCheap refuses; `Ambiguous` as above.
    pub async fn create(&self, req: &CreateOrder) -> Result<Order> {
        // Another order found under this custom id makes the outcome Ambiguous (core's rule
        // for unprotected calls): ROCheap does not document refusing a repeated custom id.
        let mut created = send_reconciled(self.client, req, &self.client.reconcile).await?;
        if created.custom_order_id.is_none() {
            created.custom_order_id = Some(req.custom_order_id.get().to_owned());
        }
        Ok(created)
    }

    /// `GET /get_order_info/{order_id}`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](payout_core::ErrorKind::NotFound) (code `ORDER_NOT_FOUND`) for an unknown id.
    pub async fn get(&self, order_id: impl Into<OrderId>) -> Result<Order> {
        self.client.send(&GetOrder::new(order_id)).await
    }

    /// `GET /get_order_info_by_custom_id/{custom_order_id}` (the id is URL-encoded for you).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](payout_core::ErrorKind::NotFound) (code `ORDER_NOT_FOUND`) for an unknown id.
    pub async fn get_by_custom_id(&self, custom_order_id: impl Into<String>) -> Result<Order> {
        self.client.send(&GetOrderByCustomId::new(custom_order_id)).await
    }

    /// Polls [`Orders::get`] until the order is `COMPLETED` or `FAILED`, for orders whose
    /// callback did not come (ROCheap's "Getting Started" page: orders can sit in
    /// `PROCESSING` for hours until ROCheap has stock; give `options` a long timeout).
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`](payout_core::ErrorKind::Timeout) if it is still not final at the deadline, with the last order
    /// seen in [`Error::last_state`] (`err.last_state::<Order>()`); lookup errors as
    /// `options` says.
    pub async fn wait_until_final(
        &self,
        order_id: impl Into<OrderId>,
        options: &PollOptions,
    ) -> Result<Order> {
        let id = order_id.into();
        wait_until(
            PROVIDER,
            options,
            || self.get(&id),
            |order: &Order| {
                if order.status.code.is_final() {
                    Poll::Final
                } else {
                    Poll::Pending
                }
            },
        )
        .await
    }
}
