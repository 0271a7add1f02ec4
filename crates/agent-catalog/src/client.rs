//! The client, its builder and `from_env`.

use std::sync::Arc;

use payout_core::{
    AuthScheme, ClientOptions, Endpoint, Error, RawApi, ReconcilePolicy, Result, SecretString, Transport,
    TransportConfig,
};

use crate::balance::BalanceApi;
use crate::catalog::{Catalog, ProductCategories, ProductTypes, Products};
use crate::deposits::Deposits;
use crate::health::Health;
use crate::orders::Orders;

pub(crate) const PROVIDER: &str = "agent-catalog";

/// Environment variable holding the API key (sent raw in `Authorization`).
pub const ENV_API_KEY: &str = "AGENT_CATALOG_API_KEY";
/// Environment variable holding your agent id (a UUID, part of every path).
pub const ENV_AGENT_ID: &str = "AGENT_CATALOG_AGENT_ID";
/// Environment variable holding the base URL (required: the provider publishes none).
pub const ENV_BASE_URL: &str = "AGENT_CATALOG_BASE_URL";

/// Your agent id: the UUID every endpoint is scoped to (`/agent/{agent_id}/...`).
///
/// It is configuration, not a secret; it is percent-encoded into the path, so no value can
/// change which endpoint is called.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgentId(String);

impl AgentId {
    /// Wraps an agent id. Fails with [`payout_core::ErrorKind::InvalidInput`] when it is empty
    /// or contains whitespace.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        let id = id.trim().to_string();
        if id.is_empty() {
            return Err(Error::invalid_input(PROVIDER, "agent_id", "must not be empty"));
        }
        if id.chars().any(char::is_whitespace) {
            return Err(Error::invalid_input(
                PROVIDER,
                "agent_id",
                "must not contain whitespace",
            ));
        }
        // `.` and `..` are left as they are by percent-encoding, and a URL parser resolves
        // them: `/agent/../orders` would leave the agent scope.
        if id.chars().all(|c| c == '.') {
            return Err(Error::invalid_input(
                PROVIDER,
                "agent_id",
                "must not be `.` or `..`",
            ));
        }
        Ok(AgentId(id))
    }

    /// The id as configured.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AgentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The agent catalog API client. Cheap to clone: clones share one connection pool, the
/// optional rate limiter and the optional circuit breaker.
///
/// ```no_run
/// # async fn run() -> agent_catalog::Result<()> {
/// let client = agent_catalog::Client::builder()
///     .api_key("your-api-key")
///     .agent_id("a12d5be1-3456-4c18-b111-33cdd0a1cc99")
///     .base_url("https://gate.example.com")
///     .build()?;
/// let balances = client.balance().get().await?;
/// # let _ = balances; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    /// Based at `<base URL>/agent/<encoded agent id>`: every endpoint under the agent scope.
    pub(crate) transport: Transport,
    /// Based at the base URL itself: `GET /health` and [`Client::raw`].
    pub(crate) root: Transport,
    pub(crate) agent_id: AgentId,
    /// `/agent/<encoded agent id>`, computed once.
    pub(crate) agent_path: Arc<str>,
    pub(crate) reconcile: ReconcilePolicy,
}

/// Builds a [`Client`]. The API key, the agent id and the base URL are required.
///
/// Transport settings (`timeout`, `retry_policy`, `rate_limiter`, `circuit_breaker`,
/// `http_client`, `proxy`, ...) come from [`payout_core::ClientOptions`].
#[derive(Debug, Default)]
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    agent_id: Option<String>,
    base_url: Option<String>,
    reconcile: Option<ReconcilePolicy>,
    options: ClientOptions,
}

payout_core::impl_client_options!(ClientBuilder);

impl ClientBuilder {
    /// The API key for the environment you target (sandbox or production). Sent as the raw
    /// value of `Authorization`, without `Bearer`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// Your agent id (UUID), as shown in your Plexy account.
    pub fn agent_id(mut self, agent_id: impl Into<String>) -> Self {
        self.agent_id = Some(agent_id.into());
        self
    }

    /// The API's base URL, e.g. `https://gate.example.com` (the provider documents none,
    /// and each environment has its own host; paths `/agent/{agent_id}/...` and `/health`
    /// are appended to it).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// How hard [`crate::orders::Orders::create`] looks for the order when the outcome of a
    /// create is unknown (default: 2 lookups, 500 ms apart); see
    /// [`payout_core::reconcile::send_reconciled`].
    pub fn reconcile_policy(mut self, policy: ReconcilePolicy) -> Self {
        self.reconcile = Some(policy);
        self
    }

    /// Builds the client. Fails with [`payout_core::ErrorKind::Config`] when the key, the
    /// agent id or the base URL is missing or malformed; nothing is sent.
    pub fn build(self) -> Result<Client> {
        use secrecy::ExposeSecret;
        let key = self.api_key.ok_or_else(|| {
            Error::config(
                PROVIDER,
                format!("no API key: call .api_key(..) or set {ENV_API_KEY}"),
            )
        })?;
        if key.expose_secret().trim().is_empty() {
            return Err(Error::config(PROVIDER, "the API key is empty"));
        }
        let agent_id = self.agent_id.ok_or_else(|| {
            Error::config(
                PROVIDER,
                format!("no agent id: call .agent_id(..) or set {ENV_AGENT_ID}"),
            )
        })?;
        let agent_id = AgentId::new(agent_id)
            .map_err(|e| Error::config(PROVIDER, format!("agent id {}", e.message())))?;
        let base_url = self.base_url.ok_or_else(|| {
            Error::config(
                PROVIDER,
                format!(
                    "no base URL: the provider publishes none, so call .base_url(..) or set {ENV_BASE_URL}"
                ),
            )
        })?;
        let agent_path: Arc<str> =
            format!("/agent/{}", payout_core::encode_path_segment(agent_id.as_str())).into();
        let config = |base_url: String, options: ClientOptions| TransportConfig {
            provider: PROVIDER,
            version: env!("CARGO_PKG_VERSION"),
            base_url,
            credential: Some(key.clone()),
            auth: AuthScheme::RawAuthorization,
            request_id_headers: &["x-request-id", "x-correlation-id"],
            error_decoder: Arc::new(crate::error::decode_error),
            options,
        };
        // Two transports over the same settings (the rate limiter and circuit breaker are
        // shared handles): request values build paths relative to the agent scope, because
        // a request value does not know which agent sends it.
        let root = Transport::new(config(base_url, self.options.clone()))?;
        let scoped_base = format!("{}{agent_path}", root.base_url());
        let transport = Transport::new(config(scoped_base, self.options))?;
        Ok(Client {
            transport,
            root,
            agent_id,
            agent_path,
            reconcile: self.reconcile.unwrap_or_default(),
        })
    }
}

impl Client {
    /// A client with default settings. All three values are required because the provider
    /// publishes no base URL.
    pub fn new(
        api_key: impl Into<String>,
        agent_id: impl Into<String>,
        base_url: impl Into<String>,
    ) -> Result<Self> {
        Client::builder()
            .api_key(api_key)
            .agent_id(agent_id)
            .base_url(base_url)
            .build()
    }

    /// A builder for custom settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `AGENT_CATALOG_API_KEY`, `AGENT_CATALOG_AGENT_ID` and
    /// `AGENT_CATALOG_BASE_URL`; the error names the first missing variable.
    pub fn from_env() -> Result<Self> {
        Client::builder_from_env()?.build()
    }

    /// A builder pre-filled from the environment (see [`Client::from_env`]), for adding
    /// transport settings such as a circuit breaker.
    pub fn builder_from_env() -> Result<ClientBuilder> {
        let key = payout_core::require_env(PROVIDER, ENV_API_KEY)?;
        let agent = payout_core::require_env(PROVIDER, ENV_AGENT_ID)?;
        let base = payout_core::require_env(PROVIDER, ENV_BASE_URL)?;
        Ok(Client::builder().api_key(key).agent_id(agent).base_url(base))
    }

    /// The agent id every path is scoped to.
    pub fn agent_id(&self) -> &AgentId {
        &self.agent_id
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.root.base_url()
    }

    /// Runs any request value of this crate (see the endpoint table in the README) and
    /// decodes its output. Retries follow the endpoint's declared safety and nothing more:
    /// [`crate::orders::Orders::create`] adds the reconcile of an unknown outcome.
    ///
    /// ```no_run
    /// # async fn run(client: agent_catalog::Client) -> agent_catalog::Result<()> {
    /// use agent_catalog::balance::GetBalance;
    /// let balances = client.send(&GetBalance).await?;
    /// # let _ = balances; Ok(()) }
    /// ```
    pub async fn send<E: Endpoint>(&self, req: &E) -> Result<E::Output> {
        <Self as payout_core::ApiClient>::send(self, req).await
    }

    /// The transport an endpoint goes through: the agent-scoped one for every documented
    /// `/agent/{agent_id}/...` path, the root one for `/health`.
    fn transport_for<E: Endpoint>(&self) -> &Transport {
        if E::META.path.starts_with("/agent/{agent_id}") {
            &self.transport
        } else {
            &self.root
        }
    }

    /// The raw escape hatch: call an endpoint this crate does not model yet with the same auth,
    /// retries and tracing. Paths are relative to the base URL; see [`Client::agent_path`].
    pub fn raw(&self) -> RawApi {
        RawApi::new(self.root.clone())
    }

    /// `/agent/<agent id, percent-encoded>`, the prefix of every agent endpoint, for use with
    /// [`Client::raw`].
    pub fn agent_path(&self) -> &str {
        &self.agent_path
    }

    /// Product types (`redeem_card`, `direct_transfer`, `direct_top_up`).
    pub fn product_types(&self) -> ProductTypes<'_> {
        ProductTypes { client: self }
    }

    /// Product categories.
    pub fn product_categories(&self) -> ProductCategories<'_> {
        ProductCategories { client: self }
    }

    /// The product catalog: list with filters, stream, one product.
    pub fn products(&self) -> Products<'_> {
        Products { client: self }
    }

    /// A snapshot of the whole catalog (types, categories, products) with lookups; see
    /// [`Catalog`].
    pub async fn sync_catalog(&self) -> Result<Catalog> {
        Catalog::fetch(self).await
    }

    /// Orders: create (idempotent), get, list, wait until final.
    pub fn orders(&self) -> Orders<'_> {
        Orders { client: self }
    }

    /// Balances per currency, the pre-order check and low-balance alerts.
    pub fn balance(&self) -> BalanceApi<'_> {
        BalanceApi { client: self }
    }

    /// Deposit (funding) history, for reconciling with your ledger.
    pub fn deposits(&self) -> Deposits<'_> {
        Deposits { client: self }
    }

    /// The liveness probe (`GET /health`); see [`Health`].
    pub async fn health(&self) -> Result<Health> {
        crate::health::probe(self).await
    }
}

impl payout_core::ApiClient for Client {
    const PROVIDER: &'static str = PROVIDER;

    fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Sends through the agent-scoped transport, or the root one for `/health` (the only
    /// documented path outside `/agent/{agent_id}`).
    fn send<E: Endpoint>(&self, req: &E) -> impl std::future::Future<Output = Result<E::Output>> + Send {
        payout_core::endpoint::send_via(self.transport_for::<E>(), req)
    }

    /// Like [`payout_core::ApiClient::send`], with this call's overrides, on the same two
    /// transports.
    fn send_with<E: Endpoint>(
        &self,
        req: &E,
        options: &payout_core::RequestOptions,
    ) -> impl std::future::Future<Output = Result<E::Output>> + Send {
        payout_core::endpoint::send_via_with(self.transport_for::<E>(), req, options)
    }
}
