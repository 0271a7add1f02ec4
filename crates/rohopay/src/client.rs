//! The client, its builder, and the live/sandbox environment.

use std::sync::Arc;
use std::time::SystemTime;

use payout_core::webhook::{Clock, SystemClock};
use payout_core::{
    AuthScheme, ClientOptions, Error, RawApi, Result, SecretString, Transport, TransportConfig,
};
use secrecy::ExposeSecret;

use crate::checkout::Checkout;
use crate::mobile_money::MobileMoney;
use crate::transactions::Transactions;
use crate::wallet::Wallet;

pub(crate) const PROVIDER: &str = "rohopay";

/// The production host. Every endpoint lives under `/api/v1` on it; RohoPay's documentation
/// uses this host for both `live_` and `test_` keys (the key decides the environment).
pub const DEFAULT_BASE_URL: &str = "https://api.rohopay.com";

/// The sandbox host the official Python SDK uses. RohoPay's documentation never mentions it
/// (it shows `test_` keys against [`DEFAULT_BASE_URL`]), so the client does not pick it by
/// itself; pass it to [`ClientBuilder::base_url`] if RohoPay tells you to.
pub const SANDBOX_BASE_URL: &str = "https://sandbox.api.rohopay.com";

/// Which RohoPay environment a key belongs to, read from its prefix.
///
/// `live_` keys move real money; `test_` keys (the sandbox) complete instantly, move no
/// money, are quota'd, and cannot disburse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Environment {
    /// A `live_` key: real money.
    Live,
    /// A `test_` key: no real money.
    Sandbox,
}

impl Environment {
    /// The environment a key belongs to, from its `live_` / `test_` prefix; `None` for any
    /// other key.
    pub fn of_key(key: &str) -> Option<Environment> {
        if key.starts_with("live_") {
            Some(Environment::Live)
        } else if key.starts_with("test_") {
            Some(Environment::Sandbox)
        } else {
            None
        }
    }

    /// The key prefix of this environment (`"live_"` or `"test_"`).
    pub fn key_prefix(self) -> &'static str {
        match self {
            Environment::Live => "live_",
            Environment::Sandbox => "test_",
        }
    }

    /// The value RohoPay uses for it on the wire (`"live"` or `"test"`), as in
    /// [`crate::Transaction::environment`] and the `environment` list filter.
    pub fn as_wire(self) -> &'static str {
        match self {
            Environment::Live => "live",
            Environment::Sandbox => "test",
        }
    }

    fn parse(value: &str) -> Option<Environment> {
        match value.trim().to_ascii_lowercase().as_str() {
            "live" | "production" | "prod" => Some(Environment::Live),
            "sandbox" | "test" => Some(Environment::Sandbox),
            _ => None,
        }
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Environment::Live => "live",
            Environment::Sandbox => "sandbox",
        })
    }
}

/// Client-side rate limits for RohoPay's published limits, for [`ClientBuilder::rate_limiter`].
///
/// RohoPay counts per IP: `POST /api/v1/checkout` 30 a minute and `POST /api/v1/collect` 100 a
/// minute, each on its own. [`per_operation`](rate_limits::per_operation) limits both on one client (other calls are not
/// limited). [`checkout`](rate_limits::checkout) and [`collect`](rate_limits::collect) limit *every* call of the client they are set on. The
/// specs ([`checkout_spec`](rate_limits::checkout_spec), [`collect_spec`](rate_limits::collect_spec)) are for a limiter shared between instances, e.g.
/// `payout_core::redis::RedisRateLimiter` (see `docs/rate-limits.md`).
///
/// Every limiter here is a [`RateLimitSpec::per_minute`](payout_core::RateLimitSpec::per_minute) schedule: no sliding minute holds more
/// than the provider's limit, so checkouts are spaced about 2 s apart rather than let through
/// in a burst of 30 that the next minute's window would answer with 429s.
pub mod rate_limits {
    use payout_core::{PerOperation, RateLimitSpec, RateLimiter};

    /// `POST /api/v1/checkout`: 30 requests per minute per IP.
    pub const CHECKOUT_PER_MINUTE: u32 = 30;
    /// `POST /api/v1/collect`: 100 requests per minute per IP.
    pub const COLLECT_PER_MINUTE: u32 = 100;

    /// Card checkout's limit: `RateLimitSpec::per_minute(30)`.
    pub fn checkout_spec() -> RateLimitSpec {
        RateLimitSpec::per_minute(CHECKOUT_PER_MINUTE)
    }

    /// Mobile-money collection's limit: `RateLimitSpec::per_minute(100)`.
    pub fn collect_spec() -> RateLimitSpec {
        RateLimitSpec::per_minute(COLLECT_PER_MINUTE)
    }

    /// A limiter for card checkout ([`checkout_spec`]); it counts every call of its client.
    pub fn checkout() -> RateLimiter {
        RateLimiter::from_spec(checkout_spec())
    }

    /// A limiter for mobile-money collection ([`collect_spec`]); it counts every call of its
    /// client.
    pub fn collect() -> RateLimiter {
        RateLimiter::from_spec(collect_spec())
    }

    /// Both limits on one client: `checkout.create` through [`checkout`], `mobile_money.collect`
    /// through [`collect`]; every other call is not limited.
    ///
    /// ```
    /// let client = rohopay::Client::builder()
    ///     .api_key("test_example")
    ///     .rate_limiter(rohopay::rate_limits::per_operation())
    ///     .build()?;
    /// # Ok::<(), rohopay::Error>(())
    /// ```
    pub fn per_operation() -> PerOperation {
        PerOperation::new()
            .operation("checkout.create", checkout())
            .operation("mobile_money.collect", collect())
    }
}

/// A RohoPay API client. Cheap to clone: clones share one connection pool.
///
/// ```no_run
/// # async fn run() -> rohopay::Result<()> {
/// let client = rohopay::Client::from_env()?; // ROHOPAY_API_KEY, optional ROHOPAY_BASE_URL
/// let balance = client.wallet().balance().await?;
/// println!("live balance: {:?} {:?}", balance.balance_live, balance.currency);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) transport: Transport,
    pub(crate) environment: Environment,
    pub(crate) clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("environment", &self.environment)
            .field("transport", &self.transport)
            .finish()
    }
}

/// Builds a [`Client`]. Get one from [`Client::builder`].
#[derive(Default)]
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    base_url: Option<String>,
    environment: Option<Environment>,
    clock: Option<Arc<dyn Clock>>,
    options: ClientOptions,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("base_url", &self.base_url)
            .field("environment", &self.environment)
            .field("clock", &self.clock.as_ref().map(|_| "custom"))
            .field("options", &self.options)
            .finish()
    }
}

payout_core::impl_client_options!(ClientBuilder);

impl ClientBuilder {
    /// The project API key (`live_...` or `test_...`), from Dashboard → Projects → API Keys.
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sends requests to another host (a local mock, [`SANDBOX_BASE_URL`], a proxy). Paths
    /// (`/api/v1/...`) are appended to it. Default: [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Asserts which environment this client is for. [`ClientBuilder::build`] then refuses a
    /// key of the other environment with an [`payout_core::ErrorKind::Config`] error, so a
    /// production deployment cannot silently run on a `test_` key (or a test suite on a
    /// `live_` one). Without it, the environment is read from the key prefix.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// The source of "now" for checks that depend on the date (card expiry, webhook
    /// timestamps). Default: the system clock. Tests pass a
    /// [`payout_core::webhook::FixedClock`].
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Builds the client. Fails with a [`payout_core::ErrorKind::Config`] error when the key
    /// is missing, when its prefix is neither `live_` nor `test_` (and no
    /// [`ClientBuilder::environment`] was given), when it belongs to another environment than
    /// the one asserted, or when the base URL is not a URL.
    pub fn build(self) -> Result<Client> {
        let key = self.api_key.ok_or_else(|| {
            Error::config(
                PROVIDER,
                "no API key: call ClientBuilder::api_key or set ROHOPAY_API_KEY",
            )
        })?;
        let from_key = Environment::of_key(key.expose_secret());
        let environment = match (self.environment, from_key) {
            (Some(wanted), Some(actual)) if wanted != actual => {
                return Err(Error::config(
                    PROVIDER,
                    format!(
                        "the API key is a `{}` key ({actual}) but the client was configured for the {wanted} environment; use a `{}` key or change the environment",
                        actual.key_prefix(),
                        wanted.key_prefix()
                    ),
                ));
            }
            (Some(wanted), _) => wanted,
            (None, Some(actual)) => actual,
            (None, None) => {
                return Err(Error::config(
                    PROVIDER,
                    "cannot tell live from sandbox: RohoPay API keys start with `live_` or `test_`; check that the whole key was copied, or call ClientBuilder::environment if RohoPay changed its key format",
                ));
            }
        };
        let base_url = self.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let error_decoder = Arc::new(crate::error::decode_error);
        let transport = Transport::new(TransportConfig {
            provider: PROVIDER,
            version: env!("CARGO_PKG_VERSION"),
            base_url,
            credential: Some(key),
            auth: AuthScheme::Bearer,
            request_id_headers: &["x-request-id"],
            error_decoder,
            options: self.options,
        })?;
        Ok(Client {
            transport,
            environment,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
        })
    }
}

impl Client {
    /// A client for `api_key` against [`DEFAULT_BASE_URL`], environment read from the key.
    pub fn new(api_key: impl Into<SecretString>) -> Result<Self> {
        Client::builder().api_key(api_key).build()
    }

    /// A builder for timeouts, retries, base URL, environment assertion, rate limiter and more.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from the environment: `ROHOPAY_API_KEY` (required), `ROHOPAY_BASE_URL`
    /// (optional) and `ROHOPAY_ENVIRONMENT` (optional: `live` or `sandbox`/`test`; when set,
    /// a key of the other environment is refused). The error names any missing or bad
    /// variable.
    pub fn from_env() -> Result<Self> {
        let key = payout_core::require_env(PROVIDER, "ROHOPAY_API_KEY")?;
        let mut b = Client::builder().api_key(key);
        if let Some(url) = payout_core::env_var(PROVIDER, "ROHOPAY_BASE_URL")? {
            b = b.base_url(url);
        }
        if let Some(env) = payout_core::env_var(PROVIDER, "ROHOPAY_ENVIRONMENT")? {
            let env = Environment::parse(&env).ok_or_else(|| {
                Error::config(
                    PROVIDER,
                    "environment variable ROHOPAY_ENVIRONMENT must be `live` or `sandbox` (or `test`)",
                )
            })?;
            b = b.environment(env);
        }
        b.build()
    }

    /// The environment of the configured key.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    /// Card payments with 3-D Secure: `POST /api/v1/checkout` and confirming the result.
    pub fn checkout(&self) -> Checkout<'_> {
        Checkout { client: self }
    }

    /// Mobile money: `POST /api/v1/collect` and `POST /api/v1/disburse`.
    pub fn mobile_money(&self) -> MobileMoney<'_> {
        MobileMoney { client: self }
    }

    /// Transactions: `GET /api/v1/transactions/{reference}` and `GET /api/v1/transactions`.
    pub fn transactions(&self) -> Transactions<'_> {
        Transactions { client: self }
    }

    /// The wallet: `GET /api/v1/wallet/balance`.
    pub fn wallet(&self) -> Wallet<'_> {
        Wallet { client: self }
    }

    /// The raw escape hatch for endpoints this crate does not model yet, with the same
    /// Bearer auth, retries and tracing. Responses keep RohoPay's `{success, data}`
    /// envelope. Raw POSTs are never retried once they may have been sent.
    pub fn raw(&self) -> RawApi {
        RawApi::new(self.transport.clone())
    }

    /// Sends any RohoPay request value ([`crate::CheckoutRequest`], [`crate::CollectRequest`],
    /// [`crate::GetTransaction`], …) and decodes its output: the generic form of the resource
    /// handlers, with the same validation, retries and redaction.
    ///
    /// ```no_run
    /// # async fn run(client: rohopay::Client) -> rohopay::Result<()> {
    /// let tx = client.send(&rohopay::GetTransaction::new("RHP-2024-ABC123")).await?;
    /// # let _ = tx; Ok(()) }
    /// ```
    pub async fn send<E: payout_core::Endpoint>(&self, req: &E) -> Result<E::Output> {
        payout_core::endpoint::send_via(&self.transport, req).await
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }
}

impl payout_core::ApiClient for Client {
    const PROVIDER: &'static str = PROVIDER;
    fn transport(&self) -> &Transport {
        &self.transport
    }
}
