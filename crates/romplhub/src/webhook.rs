//! Webhooks: RomplHub POSTs `order.completed` and `order.failed` to the order's `webhook_url`.
//!
//! **RomplHub does not sign its webhooks**, so anyone who learns your URL can send you a
//! forged "completed". Treat a webhook as a hint only:
//!
//! 1. [`parse`] the raw body into a [`WebhookEvent`] (unknown event types are kept raw, and a
//!    known event whose order does not decode is [`WebhookEvent::Unparsed`], never refused);
//! 2. [`confirm`] it: the order is fetched again with your own credentials
//!    (`GET /orders/{order_uid}`), and you act only on the status in that answer;
//! 3. optionally put a random per-order token in the `webhook_url` query string
//!    (`https://shop.example/hook?t=...`) and reject calls without it, to shed junk early.
//!
//! ```no_run
//! # async fn handle(client: romplhub::Client, raw_body: &[u8]) -> romplhub::Result<()> {
//! let event = romplhub::webhook::parse(raw_body).map_err(|e| {
//!     romplhub::Error::new(romplhub::ErrorKind::Decode, "romplhub", e.to_string())
//! })?;
//! let confirmed = romplhub::webhook::confirm(&client, &event).await?;
//! if confirmed.order.status == romplhub::OrderStatus::Completed {
//!     // deliver: this status came from RomplHub over your authenticated connection
//! }
//! # Ok(()) }
//! ```

use payout_core::webhook::WebhookError;
use payout_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::PROVIDER;
use crate::client::Client;
use crate::orders::{Order, OrderStatus, OrderUid};

#[cfg(feature = "axum")]
pub mod axum;

/// The order inside a webhook. Note the id is `id` here, `order_uid` elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookOrder {
    /// The order id (`VX-...`).
    pub id: OrderUid,
    /// The status the sender claims.
    pub status: OrderStatus,
    /// The product's display name (e.g. `"2200 Robux"`).
    #[serde(default)]
    pub product: Option<String>,
    /// Robux granted.
    #[serde(default, deserialize_with = "crate::serde_util::opt_u64_lenient")]
    pub robux_granted: Option<u64>,
    /// Tokens charged.
    #[serde(default, deserialize_with = "crate::serde_util::opt_u64_lenient")]
    pub tokens_charged: Option<u64>,
    /// Why the order failed, if sent.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A parsed (unverified) webhook.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `order.completed`: the Robux were delivered (as claimed; [`confirm`] it).
    OrderCompleted(WebhookOrder),
    /// `order.failed`: the order failed and its tokens were refunded (as claimed).
    OrderFailed(WebhookOrder),
    /// A known event type (`order.completed`, `order.failed`) whose `order` did not decode
    /// (RomplHub changed a field's type, or left it out): kept whole with the decode error, so
    /// a delivery is never unreadable. [`confirm`] still works when an order id can be read.
    Unparsed {
        /// The `event` value.
        event: String,
        /// The whole payload.
        raw: serde_json::Value,
        /// Why the `order` did not decode.
        error: String,
    },
    /// An event type this version does not know, kept whole.
    Unknown {
        /// The `event` value.
        event: String,
        /// The whole payload.
        raw: serde_json::Value,
    },
}

impl WebhookEvent {
    /// The event type as sent (`"order.completed"`).
    pub fn event_type(&self) -> &str {
        match self {
            WebhookEvent::OrderCompleted(_) => "order.completed",
            WebhookEvent::OrderFailed(_) => "order.failed",
            WebhookEvent::Unparsed { event, .. } | WebhookEvent::Unknown { event, .. } => event,
        }
    }

    /// The order of a known event.
    pub fn order(&self) -> Option<&WebhookOrder> {
        match self {
            WebhookEvent::OrderCompleted(o) | WebhookEvent::OrderFailed(o) => Some(o),
            WebhookEvent::Unparsed { .. } | WebhookEvent::Unknown { .. } => None,
        }
    }

    /// The order id the event is about (also read from `order.id` of an unknown event).
    pub fn order_uid(&self) -> Option<OrderUid> {
        match self {
            WebhookEvent::OrderCompleted(o) | WebhookEvent::OrderFailed(o) => Some(o.id.clone()),
            WebhookEvent::Unparsed { raw, .. } | WebhookEvent::Unknown { raw, .. } => {
                let o = raw.get("order")?;
                let id = o.get("id").or_else(|| o.get("order_uid"))?;
                match id {
                    serde_json::Value::String(s) if !s.is_empty() => Some(OrderUid::new(s.clone())),
                    serde_json::Value::Number(n) => Some(OrderUid::new(n.to_string())),
                    _ => None,
                }
            }
        }
    }

    /// The status the sender claims, if any.
    pub fn claimed_status(&self) -> Option<OrderStatus> {
        match self {
            WebhookEvent::OrderCompleted(o) | WebhookEvent::OrderFailed(o) => Some(o.status.clone()),
            WebhookEvent::Unparsed { raw, .. } | WebhookEvent::Unknown { raw, .. } => raw
                .get("order")
                .and_then(|o| o.get("status"))
                .and_then(|s| s.as_str())
                .map(OrderStatus::from),
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    event: String,
}

/// Parses a webhook body. Pass the raw bytes as received. Nothing is trusted yet: there is
/// no signature to check, so [`confirm`] the event before acting on it.
///
/// Refused ([`WebhookError::InvalidBody`]) only when the body is not JSON or has no string
/// `event`. A known event whose `order` does not decode is [`WebhookEvent::Unparsed`]; an
/// unknown event type is [`WebhookEvent::Unknown`].
pub fn parse(raw_body: &[u8]) -> std::result::Result<WebhookEvent, WebhookError> {
    let raw: serde_json::Value =
        serde_json::from_slice(raw_body).map_err(|e| WebhookError::InvalidBody(format!("not JSON: {e}")))?;
    let env = Envelope::deserialize(&raw)
        .map_err(|_| WebhookError::InvalidBody("no string `event` member".to_string()))?;
    let order = |raw: &serde_json::Value| -> std::result::Result<WebhookOrder, String> {
        let o = raw.get("order").ok_or_else(|| "no `order` member".to_string())?;
        WebhookOrder::deserialize(o).map_err(|e| format!("`order`: {e}"))
    };
    let known =
        |event: String, raw: serde_json::Value, wrap: fn(WebhookOrder) -> WebhookEvent| match order(&raw) {
            Ok(o) => wrap(o),
            Err(error) => WebhookEvent::Unparsed { event, raw, error },
        };
    Ok(match env.event.as_str() {
        "order.completed" => known(env.event, raw, WebhookEvent::OrderCompleted),
        "order.failed" => known(env.event, raw, WebhookEvent::OrderFailed),
        _ => WebhookEvent::Unknown {
            event: env.event,
            raw,
        },
    })
}

/// The authoritative state of a webhook's order, fetched with your own credentials.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Confirmation {
    /// The order as RomplHub reports it now: act on `order.status`, not on the webhook.
    pub order: Order,
    /// The status the webhook claimed.
    pub claimed: Option<OrderStatus>,
}

impl Confirmation {
    /// True when the webhook's claim matches RomplHub's answer. False means a forged or
    /// stale webhook (or one overtaken by a later change): trust [`Confirmation::order`].
    pub fn agrees(&self) -> bool {
        self.claimed.as_ref() == Some(&self.order.status)
    }
}

/// Confirms a webhook by fetching its order (`GET /orders/{order_uid}`) with `client`'s own
/// credentials. Fails with [`payout_core::ErrorKind::InvalidInput`] (field `order.id`) when
/// the event names no order, and [`payout_core::ErrorKind::NotFound`] when RomplHub does not
/// know it (a forged id).
pub async fn confirm(client: &Client, event: &WebhookEvent) -> Result<Confirmation> {
    let uid = event
        .order_uid()
        .ok_or_else(|| Error::invalid_input(PROVIDER, "order.id", "is missing from the webhook"))?;
    let order = client.orders().get(uid).await?;
    Ok(Confirmation {
        order,
        claimed: event.claimed_status(),
    })
}
