//! Your app: its identity, its balances, and the API's health check.

use payout_core::{AuthScheme, Decimal, Request, Response, Result};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::common::{Asset, string_or_number};

/// `GET /api/v1/app-info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AppInfo {
    /// The app id.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// The app name.
    #[serde(default)]
    pub name: String,
}

/// One asset of your app's balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Balance {
    /// The asset.
    pub asset: Asset,
    /// The total balance.
    #[serde(with = "payout_core::money::decimal")]
    pub balance: Decimal,
    /// What you can spend now.
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub available: Option<Decimal>,
    /// What is reserved (open cheques, pending withdrawals).
    #[serde(default, with = "payout_core::money::option_decimal")]
    pub holds: Option<Decimal>,
}

/// The app's balance per asset.
pub type Balances = Vec<Balance>;

/// `{balances: [...]}`: the container is required; a body without it is a decode error that
/// keeps the status, never an empty balance list.
#[derive(Deserialize)]
struct BalancesBody {
    balances: Vec<Balance>,
}

pub(crate) fn decode_balances(resp: &Response) -> Result<Balances> {
    Ok(resp.json::<BalancesBody>()?.balances)
}

/// `GET /health`: whether the API is up. Public; no token is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealthCheck;

impl HealthCheck {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req.auth(AuthScheme::None))
    }
}

/// `GET /api/v1/app-info`: the app the token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GetAppInfo;

impl GetAppInfo {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
}

/// `GET /api/v1/balances`: the app's balance per asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GetBalances;

impl GetBalances {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
}

payout_core::open_enum! {
    /// The API's health.
    pub enum HealthStatus {
        /// Up.
        Ok => "ok",
        /// Something is failing (see [`Health::error`]).
        Error => "error",
        /// Going down.
        ShuttingDown => "shutting_down",
    }
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Health {
    /// The overall status.
    pub status: HealthStatus,
    /// Healthy components, as xRocket reports them.
    #[serde(default)]
    pub info: Option<serde_json::Value>,
    /// Failing components.
    #[serde(default)]
    pub error: Option<serde_json::Value>,
    /// Every component.
    #[serde(default)]
    pub details: Option<serde_json::Value>,
}

/// The app handler: `client.app()`.
#[derive(Debug, Clone, Copy)]
pub struct App<'a> {
    pub(crate) client: &'a Client,
}

impl App<'_> {
    /// `GET /api/v1/app-info`: the app the token belongs to. A cheap way to check a token.
    pub async fn info(&self) -> Result<AppInfo> {
        self.client.send(&GetAppInfo).await
    }

    /// `GET /api/v1/balances`: the app's balance per asset.
    pub async fn balances(&self) -> Result<Vec<Balance>> {
        self.client.send(&GetBalances).await
    }
}
