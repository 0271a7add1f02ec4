//! The client, its builder and the two ways RomplHub authenticates.

use std::sync::Arc;

use payout_core::reqwest::header::HeaderName;
use payout_core::{
    ApiClient, AuthScheme, ClientOptions, Endpoint, Error, ExposeSecret, RateLimitSpec, RateLimiter, RawApi,
    Request, Result, SecretString, Transport, TransportConfig,
};

use crate::PROVIDER;
use crate::auth::{Auth, AuthToken, Login};
use crate::balance::BalanceApi;
use crate::orders::Orders;
use crate::packs::Packs;
use crate::products::Products;

/// The production base URL. RomplHub's page only shows the placeholder
/// `https://your-domain.com/api/v1`; this host is an ASSUMPTION, so set
/// [`ClientBuilder::base_url`] (or `ROMPLHUB_BASE_URL`) if your account lives elsewhere.
pub const DEFAULT_BASE_URL: &str = "https://romplhub.com/api/v1";

/// The environment variable [`Client::from_env`] reads the API key (`vx_...`) from.
pub const ENV_API_KEY: &str = "ROMPLHUB_API_KEY";
/// The environment variable [`Client::from_env`] reads an optional base URL from.
pub const ENV_BASE_URL: &str = "ROMPLHUB_BASE_URL";

/// RomplHub's documented limit: 60 requests per minute, answered with HTTP 429 beyond it.
pub const RATE_LIMIT_PER_MINUTE: u32 = 60;

/// A client-side limiter matching RomplHub's documented 60 requests per minute. Share one
/// limiter between every client that uses the same account, since the provider counts per
/// account:
///
/// ```
/// let client = romplhub::Client::builder()
///     .api_key("vx_example")
///     .rate_limiter(romplhub::rate_limiter())
///     .build()?;
/// # Ok::<(), romplhub::Error>(())
/// ```
///
/// It is a [`RateLimitSpec::per_minute`] schedule ([`rate_limit_spec`]): no sliding minute holds
/// more than 60 requests, so calls are spaced about 1 s apart instead of let through in a burst.
pub fn rate_limiter() -> RateLimiter {
    RateLimiter::from_spec(rate_limit_spec())
}

/// RomplHub's documented limit, `RateLimitSpec::per_minute(60)` per account, for a limiter
/// shared between instances (e.g. `payout_core::redis::RedisRateLimiter`, see
/// `docs/rate-limits.md`). [`rate_limiter`] is the in-process limiter of the same spec.
pub fn rate_limit_spec() -> RateLimitSpec {
    RateLimitSpec::per_minute(RATE_LIMIT_PER_MINUTE)
}

/// How the client authenticates; fixed when the client is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMode {
    /// `X-API-Key: vx_...`.
    ApiKey,
    /// `Authorization: Bearer <JWT>`, the JWT coming from register or login.
    Bearer,
}

/// A RomplHub API client. Cheap to clone: clones share one connection pool, one credential
/// and one rate limiter.
///
/// Build it with an API key ([`Client::new`], [`Client::from_env`]), a JWT
/// ([`ClientBuilder::access_token`]), or account credentials ([`ClientBuilder::credentials`],
/// then [`Client::log_in`]). Reach the endpoints through one handler per resource:
/// [`Client::auth`], [`Client::products`], [`Client::orders`], [`Client::packs`],
/// [`Client::balance`].
#[derive(Clone)]
pub struct Client {
    pub(crate) transport: Transport,
    pub(crate) mode: AuthMode,
    credentials: Option<Arc<Login>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `Transport` and `Login` redact their secrets themselves.
        f.debug_struct("Client")
            .field("transport", &self.transport)
            .field("auth", &self.mode)
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// Builds a [`Client`]. Set at most one way to authenticate: [`ClientBuilder::api_key`],
/// [`ClientBuilder::access_token`] or [`ClientBuilder::credentials`]; with none, the client
/// can only call [`Auth::register`] and [`Auth::login`], which then arm it with the JWT.
#[derive(Debug, Default)]
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    access_token: Option<SecretString>,
    credentials: Option<Login>,
    base_url: Option<String>,
    options: ClientOptions,
}

payout_core::impl_client_options!(ClientBuilder);

impl ClientBuilder {
    /// Authenticates every request with `X-API-Key: <key>` (a `vx_...` key from
    /// [`Auth::create_api_key`] or the RomplHub dashboard).
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Authenticates every request with `Authorization: Bearer <token>` (a JWT from register
    /// or login). JWTs expire: on a 401, log in again.
    pub fn access_token(mut self, token: impl Into<SecretString>) -> Self {
        self.access_token = Some(token.into());
        self
    }

    /// Keeps the account's username and password so [`Client::log_in`] can fetch (and later
    /// renew) a JWT; requests then use `Authorization: Bearer`.
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        self.credentials = Some(Login::new(username, password));
        self
    }

    /// Overrides the base URL (default [`DEFAULT_BASE_URL`]), e.g. a white-label host or a
    /// local mock. Include the `/api/v1` prefix.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Builds the client. Fails with [`payout_core::ErrorKind::Config`] when an API key and a
    /// JWT/credentials are both set, a credential is empty, or the base URL is invalid.
    pub fn build(self) -> Result<Client> {
        if self.api_key.is_some() && (self.access_token.is_some() || self.credentials.is_some()) {
            return Err(Error::config(
                PROVIDER,
                "set either api_key() or access_token()/credentials(), not both: RomplHub takes one credential per request",
            ));
        }
        let (mode, credential) = match (self.api_key, self.access_token) {
            (Some(k), _) => (AuthMode::ApiKey, Some(k)),
            (None, t) => (AuthMode::Bearer, t),
        };
        if credential
            .as_ref()
            .is_some_and(|c| c.expose_secret().trim().is_empty())
        {
            return Err(Error::config(PROVIDER, "the API key or access token is empty"));
        }
        if let Some(l) = &self.credentials {
            l.validate().map_err(|e| {
                Error::config(
                    PROVIDER,
                    format!("credentials: `{}` {}", e.field().unwrap_or("login"), e.message()),
                )
            })?;
        }
        let transport = build_transport(
            self.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
            credential,
            mode,
            self.options,
        )?;
        Ok(Client {
            transport,
            mode,
            credentials: self.credentials.map(Arc::new),
        })
    }
}

fn build_transport(
    base_url: String,
    credential: Option<SecretString>,
    mode: AuthMode,
    options: ClientOptions,
) -> Result<Transport> {
    let auth = match mode {
        AuthMode::ApiKey => AuthScheme::Header(HeaderName::from_static("x-api-key")),
        AuthMode::Bearer => AuthScheme::Bearer,
    };
    Transport::new(TransportConfig {
        provider: PROVIDER,
        version: env!("CARGO_PKG_VERSION"),
        base_url,
        credential,
        auth,
        request_id_headers: &["x-request-id"],
        error_decoder: Arc::new(crate::error::decode_error),
        options,
    })
}

impl Client {
    /// A client for the production API authenticated with an API key (`vx_...`).
    pub fn new(api_key: impl Into<SecretString>) -> Result<Self> {
        Client::builder().api_key(api_key).build()
    }

    /// A builder for every other setting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `ROMPLHUB_API_KEY` (required) and `ROMPLHUB_BASE_URL` (optional). The
    /// error names the missing variable.
    pub fn from_env() -> Result<Self> {
        Client::builder_from_env()?.build()
    }

    /// A builder preset from `ROMPLHUB_API_KEY` (required) and `ROMPLHUB_BASE_URL`
    /// (optional), for changing other settings before [`ClientBuilder::build`].
    pub fn builder_from_env() -> Result<ClientBuilder> {
        let key = payout_core::require_env(PROVIDER, ENV_API_KEY)?;
        let mut b = Client::builder().api_key(key);
        if let Some(url) = payout_core::env_var(PROVIDER, ENV_BASE_URL)? {
            b = b.base_url(url);
        }
        Ok(b)
    }

    /// A new client with the same base URL and transport settings that authenticates with
    /// `api_key` (`X-API-Key`), e.g. right after [`Auth::create_api_key`].
    pub fn with_api_key(&self, api_key: impl Into<SecretString>) -> Result<Client> {
        let key = api_key.into();
        if key.expose_secret().trim().is_empty() {
            return Err(Error::config(PROVIDER, "the API key is empty"));
        }
        let transport = build_transport(
            self.transport.base_url().to_string(),
            Some(key),
            AuthMode::ApiKey,
            self.transport.options().clone(),
        )?;
        Ok(Client {
            transport,
            mode: AuthMode::ApiKey,
            credentials: None,
        })
    }

    /// Logs in with the credentials given to [`ClientBuilder::credentials`] and from then on
    /// sends the JWT as `Authorization: Bearer` on every clone of this client. Call it again
    /// when a call fails with [`payout_core::ErrorKind::Auth`] because the JWT expired.
    pub async fn log_in(&self) -> Result<AuthToken> {
        let Some(login) = self.credentials.as_deref() else {
            return Err(Error::config(
                PROVIDER,
                "no credentials configured: build the client with ClientBuilder::credentials(username, password)",
            ));
        };
        self.auth().login(login).await
    }

    /// True when requests carry `X-API-Key`; false when they carry a JWT as a bearer token.
    pub fn uses_api_key(&self) -> bool {
        self.mode == AuthMode::ApiKey
    }

    /// True when a credential (API key or JWT) is configured.
    pub fn is_authenticated(&self) -> bool {
        self.transport.has_credential()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    /// Register, log in, mint an API key.
    pub fn auth(&self) -> Auth<'_> {
        Auth { client: self }
    }

    /// The Robux products and their token prices.
    pub fn products(&self) -> Products<'_> {
        Products { client: self }
    }

    /// Create, list, read orders and submit 2FA codes.
    pub fn orders(&self) -> Orders<'_> {
        Orders { client: self }
    }

    /// Create, list, delete and order packs.
    pub fn packs(&self) -> Packs<'_> {
        Packs { client: self }
    }

    /// The token balance and USDT top-ups.
    pub fn balance(&self) -> BalanceApi<'_> {
        BalanceApi { client: self }
    }

    /// The raw escape hatch for endpoints this crate does not model yet; same auth, retries,
    /// timeouts and tracing. Raw POSTs are never re-sent once they may have left.
    pub fn raw(&self) -> RawApi {
        RawApi::new(self.transport.clone())
    }

    /// Sends any request value of this crate (every type in `api/endpoints.json`, e.g.
    /// [`crate::CreateOrder`], [`crate::GetOrder`], [`crate::ListOrders`]) and decodes its
    /// output. Retries follow the endpoint's declared safety: `POST /orders` and the other
    /// unprotected calls are never re-sent once they may have left. The resource handlers
    /// ([`Client::orders`], ...) are sugar over this; `register` and `login` through the
    /// handler also arm the client with the JWT, which a bare `send` does not.
    pub async fn send<E: Endpoint>(&self, req: &E) -> Result<E::Output> {
        payout_core::endpoint::send_via(&self.transport, req).await
    }
}

impl ApiClient for Client {
    const PROVIDER: &'static str = PROVIDER;
    fn transport(&self) -> &Transport {
        &self.transport
    }
}

/// Serializes a request body, mapping the (practically impossible) failure to an input error.
pub(crate) fn json_body<B: serde::Serialize + ?Sized>(req: Request, body: &B) -> Result<Request> {
    req.json(body)
        .map_err(|e| Error::invalid_input(PROVIDER, "body", "could not be serialized as JSON").with_source(e))
}

/// Hands the request's own secrets (an account password, a backup code, WLID tokens, a 2FA
/// code) to the transport, which masks them wherever RomplHub might echo them back: error
/// messages, codes and body snippets, in plain and JSON-escaped form, before truncation. The
/// transport already masks the client's credential.
pub(crate) fn redact_all(req: Request, secrets: &[&SecretString]) -> Request {
    secrets.iter().fold(req, |r, s| r.redact(s))
}
