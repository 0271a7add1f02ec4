//! The client, its builder, and `from_env`.

use std::sync::Arc;
use std::time::Duration;

use payout_core::reqwest::header::HeaderName;
use payout_core::{
    ApiClient, AuthScheme, ClientOptions, Endpoint, Error, RawApi, ReconcilePolicy, Result, SecretString,
    Transport, TransportConfig,
};

use crate::account::{Balance, GetBalance, Ping, Pong};
use crate::orders::Orders;

pub(crate) const PROVIDER: &str = "rocheap";

/// The production base URL (ROCheap has a single environment; no sandbox is documented).
pub const DEFAULT_BASE_URL: &str = "https://rocheap.com/business/api";

/// The header every request carries the API key in.
pub const API_KEY_HEADER: &str = "rocheap-api-key";

/// A ROCheap business API client. Cheap to clone: clones share one connection pool.
///
/// ```no_run
/// # async fn run() -> rocheap::Result<()> {
/// let client = rocheap::Client::from_env()?; // ROCHEAP_API_KEY, optional ROCHEAP_BASE_URL
/// client.ping().await?;
/// println!("balance: {}", client.balance().await?.amount);
/// // Any endpoint as a value, through the one generic `send`:
/// let balance = client.send(&rocheap::GetBalance).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) transport: Transport,
    pub(crate) reconcile: ReconcilePolicy,
}

/// Builds a [`Client`]. Start with [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    base_url: Option<String>,
    options: ClientOptions,
    reconcile: ReconcilePolicy,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api_key: None,
            base_url: None,
            options: ClientOptions::default(),
            reconcile: ReconcilePolicy {
                lookups: 3,
                spacing: Duration::from_secs(2),
            },
        }
    }
}

payout_core::impl_client_options!(ClientBuilder);

impl ClientBuilder {
    /// The API key from the Business Settings page (required).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// Overrides the base URL (a proxy, or a local mock in tests). Default [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// After a `create_order` whose outcome is unknown, look the order up by its
    /// `custom_order_id` `policy.lookups` times, `policy.spacing` apart, before reporting
    /// [`ErrorKind::Ambiguous`](payout_core::ErrorKind::Ambiguous). Default: 3 lookups, 2 s
    /// apart (a new order may take a moment to become visible).
    pub fn reconcile_policy(mut self, policy: ReconcilePolicy) -> Self {
        self.reconcile = policy;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](payout_core::ErrorKind::Config) if no API key was given or the
    /// base URL is not a valid http(s) URL.
    pub fn build(self) -> Result<Client> {
        let key = self.api_key.ok_or_else(|| {
            Error::config(
                PROVIDER,
                "an API key is required: copy it from ROCheap's Business Settings page",
            )
        })?;
        let transport = Transport::new(TransportConfig {
            provider: PROVIDER,
            version: env!("CARGO_PKG_VERSION"),
            base_url: self.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
            credential: Some(key),
            auth: AuthScheme::Header(HeaderName::from_static(API_KEY_HEADER)),
            request_id_headers: &["cf-ray"],
            error_decoder: Arc::new(crate::error::decode_error),
            options: self.options,
        })?;
        Ok(Client {
            transport,
            reconcile: self.reconcile,
        })
    }
}

impl Client {
    /// A client for the production API with default settings.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](payout_core::ErrorKind::Config) if the key is empty.
    pub fn new(api_key: impl Into<String>) -> Result<Self> {
        let key = api_key.into();
        if key.trim().is_empty() {
            return Err(Error::config(PROVIDER, "the API key is empty"));
        }
        Client::builder().api_key(key).build()
    }

    /// A builder for timeouts, retries, base URL and the rest.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Reads `ROCHEAP_API_KEY` (required) and `ROCHEAP_BASE_URL` (optional).
    ///
    /// # Errors
    /// [`ErrorKind::Config`](payout_core::ErrorKind::Config) naming the missing variable.
    pub fn from_env() -> Result<Self> {
        let key = payout_core::require_env(PROVIDER, "ROCHEAP_API_KEY")?;
        let mut b = Client::builder().api_key(key);
        if let Some(url) = payout_core::env_var(PROVIDER, "ROCHEAP_BASE_URL")? {
            b = b.base_url(url);
        }
        b.build()
    }

    /// Orders: create a payout, look one up, wait for it to finish.
    pub fn orders(&self) -> Orders<'_> {
        Orders { client: self }
    }

    /// Runs any request value of this crate and decodes its output; retries follow the
    /// endpoint's declared safety. There is no reconciliation here: send a payout through
    /// [`Orders::create`], which settles an unknown outcome by its `custom_order_id`.
    ///
    /// # Errors
    /// As the endpoint documents.
    pub async fn send<E: Endpoint>(&self, req: &E) -> Result<E::Output> {
        payout_core::endpoint::send_via(&self.transport, req).await
    }

    /// `GET /ping`: checks connectivity and that the API key is accepted.
    pub async fn ping(&self) -> Result<Pong> {
        self.send(&Ping).await
    }

    /// `GET /balance`: your credit balance. ROCheap's "Getting Started" page advises checking
    /// it at least every ten minutes and alerting when it runs low (see [`Balance::is_below`]).
    pub async fn balance(&self) -> Result<Balance> {
        self.send(&GetBalance).await
    }

    /// Calls an endpoint this crate does not model yet, with the same auth, retries and tracing.
    pub fn raw(&self) -> RawApi {
        RawApi::new(self.transport.clone())
    }
}

impl ApiClient for Client {
    const PROVIDER: &'static str = PROVIDER;
    fn transport(&self) -> &Transport {
        &self.transport
    }
}
