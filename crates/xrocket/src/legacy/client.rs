//! The legacy client and its builder.

use std::sync::Arc;

use payout_core::reqwest::header::HeaderName;
use payout_core::{
    AuthScheme, ClientOptions, Endpoint, Error, RawApi, ReconcilePolicy, Result, SecretString, Transport,
    TransportConfig,
};
use secrecy::ExposeSecret;

use super::app::{App, GetHealth, GetVersion, Health, Version};
use super::cheques::Cheques;
use super::currencies::Currencies;
use super::invoices::Invoices;
use super::transfers::Transfers;
use super::withdrawals::Withdrawals;

/// The provider name legacy errors and traces carry (errors of the `/api/v1` client say
/// `xrocket`), so [`super::ErrorCode::of`] and [`crate::ErrorCode::of`] never mix.
pub(crate) const PROVIDER: &str = "xrocket-legacy";

/// The base URL of xRocket's legacy Pay API (xRocket Pay API 1.3.1, "servers"). No testnet host
/// is documented for it: use [`ClientBuilder::base_url`] for another one.
pub const DEFAULT_BASE_URL: &str = "https://pay.xrocket.tg";

/// The header the app token travels in.
pub(crate) const KEY_HEADER: &str = "rocket-pay-key";

/// Operations documented without a token (`/version`, `/health`, `/currencies/available`,
/// `/withdrawal-link`): the token is sent when the client has one, and not otherwise.
const PUBLIC_OPERATIONS: &[&str] = &[
    "legacy.version",
    "legacy.health",
    "legacy.currencies.list",
    "legacy.withdrawals.link",
];

/// A cheap-to-clone client of xRocket's legacy Pay API.
///
/// ```no_run
/// # async fn run() -> xrocket::Result<()> {
/// let client = xrocket::legacy::Client::from_env()?; // XROCKET_LEGACY_API_KEY
/// let app = client.app().info().await?;
/// println!("{}: {} balances", app.name, app.balances.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) transport: Transport,
    reconcile: Arc<ReconcilePolicy>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("legacy::Client")
            .field("transport", &self.transport)
            .finish()
    }
}

/// Builds a legacy [`Client`].
///
/// ```
/// use std::time::Duration;
/// let client = xrocket::legacy::Client::builder()
///     .api_key("1234567:AAHk-token")
///     .base_url("http://127.0.0.1:8080")
///     .timeout(Duration::from_secs(30))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), xrocket::Error>(())
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    base_url: String,
    reconcile: Option<ReconcilePolicy>,
    options: ClientOptions,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_string(),
            reconcile: None,
            options: ClientOptions::default(),
        }
    }
}

payout_core::impl_client_options!(ClientBuilder);

impl ClientBuilder {
    /// The app's API token (xRocket bot: Rocket Pay → Create App → API token), sent as
    /// `Rocket-Pay-Key`. Without one only the public calls work (version, health, currencies,
    /// withdrawal link).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// Another base URL (default [`DEFAULT_BASE_URL`]): a mock, a proxy, the sandbox.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into().trim_end_matches('/').to_string();
        self
    }

    /// How hard a withdrawal looks itself up by `withdrawalId` when its outcome is unknown
    /// (default: [`ReconcilePolicy::default`]).
    pub fn reconcile_policy(mut self, policy: ReconcilePolicy) -> Self {
        self.reconcile = Some(policy);
        self
    }

    /// Builds the client. [`payout_core::ErrorKind::Config`] for a malformed base URL or a
    /// token that cannot travel in a header.
    pub fn build(self) -> Result<Client> {
        if let Some(key) = &self.api_key {
            let k = key.expose_secret();
            if k.trim().is_empty() {
                return Err(Error::config(PROVIDER, "the API token is empty"));
            }
            if k.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::config(
                    PROVIDER,
                    "the API token contains whitespace: copy it from the xRocket bot without line breaks",
                ));
            }
        }
        let transport = Transport::new(TransportConfig {
            provider: PROVIDER,
            version: env!("CARGO_PKG_VERSION"),
            base_url: self.base_url,
            credential: self.api_key,
            auth: AuthScheme::Header(HeaderName::from_static(KEY_HEADER)),
            request_id_headers: &["x-request-id"],
            error_decoder: Arc::new(super::error::decode_error),
            options: self.options,
        })?;
        Ok(Client {
            transport,
            reconcile: Arc::new(self.reconcile.unwrap_or_default()),
        })
    }
}

impl payout_core::ApiClient for Client {
    const PROVIDER: &'static str = PROVIDER;

    fn transport(&self) -> &Transport {
        &self.transport
    }

    fn send<E: Endpoint>(&self, req: &E) -> impl std::future::Future<Output = Result<E::Output>> + Send {
        Client::send(self, req)
    }
}

impl Client {
    /// A client for the production host with default settings.
    pub fn new(api_key: impl Into<String>) -> Result<Self> {
        Client::builder().api_key(api_key).build()
    }

    /// A builder for every other setting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `XROCKET_LEGACY_API_KEY` (required) and `XROCKET_LEGACY_BASE_URL`
    /// (optional, default [`DEFAULT_BASE_URL`]). The `/api/v1` client reads `XROCKET_API_KEY`:
    /// the two APIs take different tokens.
    pub fn from_env() -> Result<Self> {
        Client::builder_from_env()?.build()
    }

    /// A builder with the token and base URL read as [`Client::from_env`] does.
    pub fn builder_from_env() -> Result<ClientBuilder> {
        let key = payout_core::require_env(PROVIDER, "XROCKET_LEGACY_API_KEY")?;
        let mut b = Client::builder().api_key(key);
        if let Some(url) = payout_core::env_var(PROVIDER, "XROCKET_LEGACY_BASE_URL")? {
            b = b.base_url(url);
        }
        Ok(b)
    }

    /// Calls a path this module does not model, with the same auth, retries and tracing.
    pub fn raw(&self) -> RawApi {
        RawApi::new(self.transport.clone())
    }

    /// Your app: info and balances.
    pub fn app(&self) -> App<'_> {
        App { client: self }
    }

    /// Transfers to Telegram users (`POST /app/transfer`).
    pub fn transfers(&self) -> Transfers<'_> {
        Transfers { client: self }
    }

    /// Withdrawals to external wallets: create, status, fees, links.
    pub fn withdrawals(&self) -> Withdrawals<'_> {
        Withdrawals { client: self }
    }

    /// Invoices paid through the bot (`/tg-invoices`).
    pub fn invoices(&self) -> Invoices<'_> {
        Invoices { client: self }
    }

    /// Multi-cheques (`/multi-cheque`).
    pub fn cheques(&self) -> Cheques<'_> {
        Cheques { client: self }
    }

    /// Available currencies (public).
    pub fn currencies(&self) -> Currencies<'_> {
        Currencies { client: self }
    }

    /// `GET /version` (public, not wrapped).
    pub async fn version(&self) -> Result<Version> {
        self.send(&GetVersion).await
    }

    /// `GET /health` (public, not wrapped).
    pub async fn health(&self) -> Result<Health> {
        self.send(&GetHealth).await
    }

    /// Sends any legacy request value and decodes its output, with the retries its endpoint
    /// declares and nothing more (the handlers add what money-moving creates need).
    pub async fn send<E: Endpoint>(&self, req: &E) -> Result<E::Output> {
        let mut request = req.to_request()?;
        if PUBLIC_OPERATIONS.contains(&E::META.operation) && !self.transport.has_credential() {
            request = request.auth(AuthScheme::None);
        }
        let resp = self.transport.send(request).await?;
        E::decode(&resp)
    }

    pub(crate) fn reconcile_policy(&self) -> &ReconcilePolicy {
        &self.reconcile
    }
}
