//! The client, its builder and the environments.

use std::collections::HashMap;
use std::sync::Arc;

use payout_core::{
    AuthScheme, ClientOptions, Endpoint, Error, RawApi, ReconcilePolicy, Result, SecretString, Transport,
    TransportConfig,
};
use secrecy::ExposeSecret;

use crate::app::{App, Health, HealthCheck};
use crate::cheques::Cheques;
use crate::common::max_decimals;
use crate::currencies::Currencies;
use crate::invoices::Invoices;
use crate::transfers::Transfers;
use crate::withdrawals::Withdrawals;

pub(crate) const PROVIDER: &str = "xrocket";

/// The production base URL of the xRocket Pay API (`/api/v1/...` is appended per call).
pub const DEFAULT_BASE_URL: &str = "https://pay.api.xrocket.exchange";
/// The testnet base URL. Testnet tokens (from the testnet bot) work only here.
pub const TESTNET_BASE_URL: &str = "https://pay.api.testnet.xrocket.exchange";

/// Which xRocket Pay deployment the client talks to.
///
/// ```
/// use xrocket::Environment;
/// assert_eq!(Environment::Production.base_url(), "https://pay.api.xrocket.exchange");
/// assert_eq!(Environment::Testnet.base_url(), "https://pay.api.testnet.xrocket.exchange");
/// assert_eq!(Environment::Custom("http://127.0.0.1:8080".into()).base_url(), "http://127.0.0.1:8080");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Environment {
    /// `https://pay.api.xrocket.exchange`, real funds.
    #[default]
    Production,
    /// `https://pay.api.testnet.xrocket.exchange`, test funds; needs a token from the testnet bot.
    Testnet,
    /// Any other base URL: a mock server, a proxy, or a host xRocket gave you (the docs also
    /// show `https://pay.api.pp.xrocket.tg`, which no public integration uses).
    Custom(String),
}

impl Environment {
    /// The base URL of this environment, without a trailing slash.
    pub fn base_url(&self) -> &str {
        match self {
            Environment::Production => DEFAULT_BASE_URL,
            Environment::Testnet => TESTNET_BASE_URL,
            Environment::Custom(url) => url.trim_end_matches('/'),
        }
    }

    /// The environment a base URL belongs to: the two known hosts map to their variant,
    /// anything else is [`Environment::Custom`].
    pub fn from_base_url(url: &str) -> Self {
        match url.trim_end_matches('/') {
            DEFAULT_BASE_URL => Environment::Production,
            TESTNET_BASE_URL => Environment::Testnet,
            other => Environment::Custom(other.to_string()),
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Testnet => "testnet",
            Environment::Custom(_) => "a custom base URL",
        }
    }
}

/// How the transfer resource is named on the wire.
///
/// xRocket's current documentation (docs.xrocket.tg) calls the user-to-user payment a
/// **transfer** (`GET /api/v1/transfer?transferId=..`, fields `transferId` and
/// `clientTransferId`), while every public integration of the same API calls it a **payout**
/// (`POST /api/v1/payouts`, `GET /api/v1/payout?payoutId=..`, `POST /api/v1/mass-payouts`,
/// fields `payoutId` and `clientPayoutId`). Only `GET /api/v1/transfer` is confirmed by the
/// docs; the other transfer paths follow it by analogy. If your account answers 404 on
/// `/api/v1/transfers`, switch to [`TransferNaming::Payouts`]. Responses are read in both
/// namings either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TransferNaming {
    /// `/api/v1/transfers`, `/api/v1/transfer`, `/api/v1/mass-transfers`, `transferId`,
    /// `clientTransferId` (the docs' naming; the default).
    #[default]
    Transfers,
    /// `/api/v1/payouts`, `/api/v1/payout`, `/api/v1/mass-payouts`, `payoutId`,
    /// `clientPayoutId` (the naming of the published API spec used by public integrations).
    Payouts,
}

/// A cheap-to-clone xRocket Pay client (one pooled HTTP client shared by all clones).
///
/// ```no_run
/// # async fn run() -> xrocket::Result<()> {
/// let client = xrocket::Client::from_env()?; // XROCKET_API_KEY, optional XROCKET_BASE_URL
/// let app = client.app().info().await?;
/// println!("connected to app {}", app.name);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) transport: Transport,
    settings: Arc<Settings>,
}

#[derive(Debug)]
struct Settings {
    environment: Environment,
    naming: TransferNaming,
    precisions: HashMap<String, u32>,
    reconcile: ReconcilePolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.transport)
            .field("environment", &self.settings.environment)
            .field("transfer_naming", &self.settings.naming)
            .finish()
    }
}

/// Builds a [`Client`]: credential, environment and transport settings.
///
/// ```
/// use std::time::Duration;
/// use xrocket::{Client, Environment};
/// let client = Client::builder()
///     .api_key("my-testnet-token")
///     .environment(Environment::Testnet)
///     .timeout(Duration::from_secs(20))
///     .build()?;
/// assert_eq!(client.environment(), &Environment::Testnet);
/// # Ok::<(), xrocket::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    environment: Environment,
    naming: TransferNaming,
    precisions: HashMap<String, u32>,
    reconcile: Option<ReconcilePolicy>,
    options: ClientOptions,
}

payout_core::impl_client_options!(ClientBuilder);

impl ClientBuilder {
    /// The app's Bearer token (xRocket bot: Settings → Exchange settings → API token).
    /// Without one, only the public calls work ([`Client::health`],
    /// [`crate::currencies::Currencies::list`], [`crate::currencies::Currencies::rates`]).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// Production (the default), testnet, or a custom base URL.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// A base URL (`https://...`, or `http://127.0.0.1:...` for a mock). The two known hosts
    /// are recognised as [`Environment::Production`] and [`Environment::Testnet`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.environment = Environment::from_base_url(&url.into());
        self
    }

    /// The transfer paths and field names to send (see [`TransferNaming`]).
    pub fn transfer_naming(mut self, naming: TransferNaming) -> Self {
        self.naming = naming;
        self
    }

    /// Overrides how many decimal places amounts in `asset` may have (checked before any
    /// request is sent). `client.withdrawals().quotas(..)` reports the precision xRocket uses.
    /// Without an override the crate uses [`crate::common::max_decimals`].
    pub fn asset_precision(mut self, asset: impl Into<String>, places: u32) -> Self {
        self.precisions.insert(asset.into(), places.min(28));
        self
    }

    /// How hard a money-moving create looks its object up by client id when its outcome is
    /// unknown (default: [`ReconcilePolicy::default`], two lookups half a second apart).
    pub fn reconcile_policy(mut self, policy: ReconcilePolicy) -> Self {
        self.reconcile = Some(policy);
        self
    }

    /// Builds the client. Fails with [`payout_core::ErrorKind::Config`] for a malformed base URL or a
    /// token that cannot travel in an HTTP header.
    pub fn build(self) -> Result<Client> {
        if let Some(key) = &self.api_key {
            let k = key.expose_secret();
            if k.trim().is_empty() {
                return Err(Error::config(PROVIDER, "the API key is empty"));
            }
            if k.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::config(
                    PROVIDER,
                    "the API key contains whitespace: copy the token from the xRocket bot without `Bearer ` or line breaks",
                ));
            }
        }
        let environment = self.environment;
        let label = environment.label();
        let transport = Transport::new(TransportConfig {
            provider: PROVIDER,
            version: env!("CARGO_PKG_VERSION"),
            base_url: environment.base_url().to_string(),
            credential: self.api_key,
            // Without a key, private calls fail before sending; public ones opt out per call.
            auth: AuthScheme::Bearer,
            request_id_headers: &["x-request-id"],
            error_decoder: Arc::new(move |status: u16, headers: &_, body: &[u8]| {
                crate::error::decode_error(status, headers, body, label)
            }),
            options: self.options,
        })?;
        Ok(Client {
            transport,
            settings: Arc::new(Settings {
                environment,
                naming: self.naming,
                precisions: self.precisions,
                reconcile: self.reconcile.unwrap_or_default(),
            }),
        })
    }
}

/// Operations that work without a token.
const PUBLIC_OPERATIONS: &[&str] = &["currencies.list", "currencies.rates", "withdrawals.quotas"];

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
    /// A production client with default settings.
    pub fn new(api_key: impl Into<String>) -> Result<Self> {
        Client::builder().api_key(api_key).build()
    }

    /// A builder for every other setting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `XROCKET_API_KEY` (required) and `XROCKET_BASE_URL` (optional; the
    /// testnet URL selects [`Environment::Testnet`]).
    pub fn from_env() -> Result<Self> {
        Client::builder_from_env()?.build()
    }

    /// A builder with the token and base URL read as [`Client::from_env`] does; add other
    /// settings and build.
    pub fn builder_from_env() -> Result<ClientBuilder> {
        let key = payout_core::require_env(PROVIDER, "XROCKET_API_KEY")?;
        let mut b = Client::builder().api_key(key);
        if let Some(url) = payout_core::env_var(PROVIDER, "XROCKET_BASE_URL")? {
            b = b.base_url(url);
        }
        Ok(b)
    }

    /// The environment this client talks to.
    pub fn environment(&self) -> &Environment {
        &self.settings.environment
    }

    /// The transfer naming in use.
    pub fn transfer_naming(&self) -> TransferNaming {
        self.settings.naming
    }

    /// Calls an endpoint this crate does not model yet, with the same auth, retries and
    /// tracing (`client.raw().get::<serde_json::Value>("/api/v1/swaps")`).
    pub fn raw(&self) -> RawApi {
        RawApi::new(self.transport.clone())
    }

    /// Invoices: create, list, info, delete, payments, deposit addresses, test payments.
    pub fn invoices(&self) -> Invoices<'_> {
        Invoices { client: self }
    }

    /// Personal cheques: create, list, info, update, delete.
    pub fn cheques(&self) -> Cheques<'_> {
        Cheques { client: self }
    }

    /// Transfers to xRocket users: create, list, info, mass transfers.
    pub fn transfers(&self) -> Transfers<'_> {
        Transfers { client: self }
    }

    /// Withdrawals to external wallets, withdrawal links, quotas and fees.
    pub fn withdrawals(&self) -> Withdrawals<'_> {
        Withdrawals { client: self }
    }

    /// Available currencies and rates (public).
    pub fn currencies(&self) -> Currencies<'_> {
        Currencies { client: self }
    }

    /// Your app: info and balances.
    pub fn app(&self) -> App<'_> {
        App { client: self }
    }

    /// `GET /health`: whether the API is up. Public; no token is sent.
    pub async fn health(&self) -> Result<Health> {
        self.send(&HealthCheck).await
    }

    /// Sends any request value of this crate (see [`payout_core::Endpoint`]) and decodes its
    /// output, with the retries its endpoint declares. Nothing more: the resource handlers
    /// (`client.transfers().create(&req)`) add the reconciliation of money-moving creates and
    /// apply the client's [`TransferNaming`] and asset precisions; a request value sent here
    /// uses its own (`CreateTransfer::naming`, the crate's default precisions).
    ///
    /// ```no_run
    /// # async fn run(client: xrocket::Client) -> xrocket::Result<()> {
    /// let info = client.send(&xrocket::app::GetAppInfo).await?;
    /// println!("{}", info.name);
    /// # Ok(()) }
    /// ```
    pub async fn send<E: Endpoint>(&self, req: &E) -> Result<E::Output> {
        if E::META.operation == "invoices.pay_test" {
            // Test funds only: never let a production client pay an invoice.
            self.require_not_production("invoices().pay_test")?;
        }
        let mut request = req.to_request()?;
        // Public calls send the token when there is one (rates are richer with it) and
        // nothing otherwise, so a key-less client can still use them.
        if PUBLIC_OPERATIONS.contains(&E::META.operation) && !self.transport.has_credential() {
            request = request.auth(AuthScheme::None);
        }
        let resp = self.transport.send(request).await?;
        E::decode(&resp)
    }

    pub(crate) fn reconcile_policy(&self) -> &ReconcilePolicy {
        &self.settings.reconcile
    }

    pub(crate) fn naming(&self) -> TransferNaming {
        self.settings.naming
    }

    /// How many decimal places an amount in `code` may have.
    pub(crate) fn precision(&self, code: &str) -> u32 {
        self.settings
            .precisions
            .get(code)
            .copied()
            .unwrap_or_else(|| max_decimals(code))
    }

    pub(crate) fn require_not_production(&self, operation: &'static str) -> Result<()> {
        if self.settings.environment == Environment::Production {
            return Err(Error::config(
                PROVIDER,
                format!("`{operation}` exists only on testnet; build the client with Environment::Testnet"),
            ));
        }
        Ok(())
    }
}
