//! App info, version and health.

use payout_core::{Decimal, Request, Result};
use serde::{Deserialize, Serialize};

use super::client::Client;
use super::wire::number;

/// `GET /app/info`: your app's name, fee and balances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetAppInfo;

impl GetAppInfo {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
}

/// Your app, as `GET /app/info` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AppInfo {
    /// The app's name.
    pub name: String,
    /// The fee on incoming payments, in percent (a number or a numeric string on the wire).
    #[serde(with = "number")]
    pub fee_percents: Decimal,
    /// One balance per currency.
    pub balances: Vec<AppBalance>,
}

/// One balance of your app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AppBalance {
    /// The currency code (`TONCOIN`).
    pub currency: String,
    /// The amount (a number or a numeric string on the wire).
    #[serde(with = "number")]
    pub balance: Decimal,
}

/// `GET /version` (public, not wrapped in `{success, data}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetVersion;

impl GetVersion {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
}

/// The API version (`"1.3.1"`; the spec's example is the number `0.1`, read as `"0.1"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Version {
    /// The version text.
    #[serde(deserialize_with = "super::wire::text")]
    pub version: String,
}

/// `GET /health` (public, not wrapped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GetHealth;

/// Written by hand, not generated: `api/endpoints.json` keys endpoints by method and path,
/// and the `/api/v1` client's `GET /health` already holds that key.
impl payout_core::Endpoint for GetHealth {
    type Output = Health;
    const META: payout_core::EndpointMeta = payout_core::EndpointMeta {
        operation: "legacy.health",
        method: payout_core::HttpMethod::Get,
        path: "/health",
        safety: payout_core::Safety::Idempotent,
    };
    fn to_request(&self) -> Result<Request> {
        Ok(<Self as payout_core::Endpoint>::META.request())
    }
    fn decode(resp: &payout_core::Response) -> Result<Self::Output> {
        super::wire::decode_bare(resp)
    }
}

/// `GET /health`: `status` is `ok`, `error` or `shutting_down`; the component lists are kept
/// as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Health {
    /// `ok`, `error` or `shutting_down`.
    pub status: String,
    /// Components that are up.
    #[serde(default)]
    pub info: serde_json::Value,
    /// Components that are down.
    #[serde(default)]
    pub error: serde_json::Value,
    /// Every component.
    #[serde(default)]
    pub details: serde_json::Value,
}

/// Your app (`client.app()`).
#[derive(Debug, Clone, Copy)]
pub struct App<'a> {
    pub(crate) client: &'a Client,
}

impl App<'_> {
    /// `GET /app/info`: name, fee and balances (the only place balances appear).
    pub async fn info(&self) -> Result<AppInfo> {
        self.client.send(&GetAppInfo).await
    }
}
