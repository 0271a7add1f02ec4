//! The HTTP transport every provider client is built on: one pooled `reqwest::Client`,
//! auth injection, timeouts, the retry loop that obeys [`crate::retry::decide`], the
//! rate limiter, the circuit breaker and tracing without bodies or secrets.
//!
//! By concern:
//! * `config`: what a provider crate declares ([`TransportConfig`], [`AuthScheme`],
//!   [`ErrorDecoder`]);
//! * `auth`: the credential and its header, built once per credential;
//! * `request` / `response`: [`Request`], [`Response`] and JSON decoding;
//! * `call`: the attempt loop;
//! * `errors`: what a failed attempt means as an [`Error`];
//! * `env`: `from_env` helpers; `raw`: the [`RawApi`] escape hatch.
//!
//! # Traces
//!
//! Each call is one INFO span `payout.call`, with one DEBUG child span `payout.attempt` per
//! attempt. Field names follow the OpenTelemetry HTTP client conventions: `http.request.method`,
//! `url.path` (the documented template, never an expanded path with ids), `server.address`,
//! `http.response.status_code`, `http.request.resend_count`, `error.type`; and ours:
//! `payout.provider`, `payout.operation`, `payout.idempotency_key`, `payout.request_id`,
//! `payout.outcome` (`ok`, `ambiguous` or `failed`). They are recorded whatever the outcome.
//! No body and no header value is ever recorded. Nothing is formatted unless a subscriber
//! wants the span.

mod auth;
mod call;
mod config;
mod env;
mod errors;
mod raw;
mod request;
mod response;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;

pub use config::{AuthScheme, ErrorDecoder, ErrorInfo, TransportConfig};
pub use env::{env_var, require_env};
pub use raw::RawApi;
pub use request::Request;
pub use response::{Response, decode_json};

use crate::error::{Error, ErrorKind, Result, redact_snippet};
use crate::options::{ClientOptions, RequestOptions};

/// The largest response body we read; anything bigger is refused as a decode error.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// How much of an undecodable body an error keeps.
const SNIPPET_LEN: usize = 240;

/// A cheap-to-clone handle on one pooled HTTP client and its settings.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    provider: &'static str,
    base_url: String,
    /// The base URL, parsed once (`None` when it has a query or fragment: then every call
    /// parses its whole URL).
    base_parsed: Option<url::Url>,
    /// The base URL's path without its trailing `/` (`""` for a bare host).
    base_path: String,
    /// The base URL's host, for traces (`server.address`).
    server_address: String,
    client: reqwest::Client,
    user_agent: HeaderValue,
    auth: AuthScheme,
    auth_state: RwLock<auth::AuthState>,
    /// How many auth headers were built (once per credential; a test holds it there).
    auth_builds: AtomicU64,
    /// The request id headers to look for, in order (the provider's, then `x-request-id` and
    /// `request-id`), parsed once here: a lookup by `&str` parses the name on every call.
    request_id_headers: Vec<reqwest::header::HeaderName>,
    error_decoder: Arc<dyn ErrorDecoder>,
    options: ClientOptions,
}

impl Inner {
    fn auth_state(&self) -> RwLockReadGuard<'_, auth::AuthState> {
        self.auth_state.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let has_cred = self.has_credential();
        f.debug_struct("Transport")
            .field("provider", &self.inner.provider)
            .field("base_url", &self.inner.base_url)
            .field("auth", &self.inner.auth)
            .field("credential", &if has_cred { "[REDACTED]" } else { "none" })
            .field("options", &self.inner.options)
            .finish()
    }
}

impl Transport {
    /// Builds the transport and its one pooled `reqwest::Client` (unless one was injected).
    pub fn new(config: TransportConfig) -> Result<Self> {
        let provider = config.provider;
        let base = config.base_url.trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&base)
            .map_err(|e| Error::config(provider, format!("base URL `{base}` is not a valid URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::config(
                provider,
                format!("base URL `{base}` must start with https:// (or http:// for a local mock)"),
            ));
        }
        let server_address = parsed.host_str().unwrap_or("").to_string();
        let base_path = parsed.path().trim_end_matches('/').to_string();
        let base_parsed =
            (parsed.query().is_none() && parsed.fragment().is_none() && !parsed.cannot_be_a_base())
                .then_some(parsed);
        let mut ua = format!("{}/{} (payout-rs)", provider, config.version);
        if let Some(s) = &config.options.user_agent_suffix {
            ua.push(' ');
            ua.push_str(s);
        }
        let user_agent = HeaderValue::from_str(&ua)
            .map_err(|_| Error::config(provider, "user agent suffix must be visible ASCII"))?;
        let client = match &config.options.http_client {
            Some(c) => c.clone(),
            None => {
                // Feature `rustls-ring`: reqwest's rustls has no provider of its own, so ring
                // becomes the process default here, the one place a client is built. A provider
                // installed before (by the application, or by an earlier client) is kept.
                #[cfg(feature = "rustls-ring")]
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut b = reqwest::Client::builder()
                    .connect_timeout(config.options.connect_timeout)
                    // Below the ~60 s keep-alive most providers' load balancers use, so we do
                    // not pick a socket the server is about to close.
                    .pool_idle_timeout(Duration::from_secs(50))
                    // Never follow redirects: reqwest's default follows ten, and re-sends the
                    // body on a 307/308, so one unprotected payout could leave several times
                    // behind the retry table's back. A 3xx is returned as a typed error instead.
                    .redirect(reqwest::redirect::Policy::none());
                if let Some(p) = &config.options.proxy {
                    let proxy = reqwest::Proxy::all(p.expose_secret())
                        .map_err(|_| Error::config(provider, "proxy URL is not valid"))?;
                    b = b.proxy(proxy);
                }
                b.build()
                    .map_err(|e| Error::config(provider, "could not build the HTTP client").with_source(e))?
            }
        };
        let auth_builds = AtomicU64::new(0);
        let auth_state = auth::AuthState::new(&config.auth, config.credential, &auth_builds);
        Ok(Transport {
            inner: Arc::new(Inner {
                provider,
                base_url: base,
                base_parsed,
                base_path,
                server_address,
                client,
                user_agent,
                auth: config.auth,
                auth_state: RwLock::new(auth_state),
                auth_builds,
                request_id_headers: config
                    .request_id_headers
                    .iter()
                    .chain(["x-request-id", "request-id"].iter())
                    // A name that is not a valid header name can never be present (a lookup by
                    // `&str` found nothing for it either).
                    .filter_map(|h| reqwest::header::HeaderName::from_bytes(h.as_bytes()).ok())
                    .collect(),
                error_decoder: config.error_decoder,
                options: config.options,
            }),
        })
    }

    /// The provider name used in errors and traces.
    pub fn provider(&self) -> &'static str {
        self.inner.provider
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The transport settings.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// Replaces the credential for every clone of this transport (a JWT after login). The
    /// auth header is built here, once, not on every call.
    pub fn set_credential(&self, credential: SecretString) {
        let state = auth::AuthState::new(&self.inner.auth, Some(credential), &self.inner.auth_builds);
        *self
            .inner
            .auth_state
            .write()
            .unwrap_or_else(PoisonError::into_inner) = state;
    }

    /// True if a credential is configured.
    pub fn has_credential(&self) -> bool {
        self.inner.auth_state().credential.is_some()
    }

    /// How many auth headers this transport has built: one per credential, never one per
    /// call. For tests that hold the hot path to that.
    #[doc(hidden)]
    pub fn auth_header_builds(&self) -> u64 {
        self.inner.auth_builds.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Truncates and scrubs a body for an error message (the credential and long digit runs
    /// are masked).
    pub fn snippet(&self, body: &[u8]) -> String {
        self.scrub(body, SNIPPET_LEN)
    }

    /// Truncates `text` to `max` characters and masks the credential and long digit runs:
    /// for anything the provider sent that ends up in an error (it may echo what it got).
    pub fn scrub(&self, text: &[u8], max: usize) -> String {
        self.scrub_with(text, max, &[])
    }

    /// Like [`Transport::scrub`], also masking `extra` secrets (a request's own, see
    /// [`Request::redact`]), each in plain and JSON-escaped form, before truncating.
    pub fn scrub_with(&self, text: &[u8], max: usize, extra: &[SecretString]) -> String {
        let state = self.inner.auth_state();
        let mut forms: Vec<String> = Vec::new();
        for secret in state.credential.iter().chain(extra.iter()) {
            let plain = secret.expose_secret();
            // The provider may echo it JSON-escaped (`\"`, `\/` as PHP writes slashes).
            let json = serde_json::to_string(plain).unwrap_or_default();
            let json = json
                .get(1..json.len().saturating_sub(1))
                .unwrap_or("")
                .to_string();
            let slashes = json.replace('/', "\\/");
            // PHP's default `json_encode` and Python's `json.dumps` write non-ASCII as `\u00e9`;
            // Go's `encoding/json` writes `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`.
            let ascii = unicode_escaped(&json, |c| !c.is_ascii());
            let ascii_slashes = ascii.replace('/', "\\/");
            let go = unicode_escaped(&json, |c| matches!(c, '<' | '>' | '&'));
            for form in [plain.to_string(), json, slashes, ascii, ascii_slashes, go] {
                if !form.is_empty() && !forms.contains(&form) {
                    forms.push(form);
                }
            }
        }
        drop(state);
        // Longest first, so a form that contains another is masked whole.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        let refs: Vec<&str> = forms.iter().map(String::as_str).collect();
        redact_snippet(text, max, &refs)
    }

    /// Sends `req`, retrying as [`crate::retry::decide`] allows, and returns the first 2xx
    /// response. Every other outcome is an [`Error`] that keeps the status, the provider's
    /// code and message, the request id and the idempotency key.
    #[expect(
        clippy::manual_async_fn,
        reason = "an `async fn` stores a by-value argument twice in its future (see `a_call_future_stays_small`)"
    )]
    pub fn send(&self, mut req: Request) -> impl Future<Output = Result<Response>> + Send + '_ {
        // Not an `async fn`: it would keep the request (about 300 bytes) twice in the future
        // that every layer above holds and copies.
        async move {
            let opts = &self.inner.options;
            let settings = call::Settings {
                retry: &opts.retry,
                attempt_timeout: opts.attempt_timeout,
                total_timeout: opts.total_timeout,
                // Moved, not cloned: the call owns the request.
                key: req.idempotency.take(),
            };
            self.traced(&req, settings).await
        }
    }

    /// Like [`Transport::send`], with this call's overrides of the client's settings (see
    /// [`RequestOptions`]): no second client, same pool.
    #[expect(
        clippy::manual_async_fn,
        reason = "an `async fn` stores a by-value argument twice in its future (see `a_call_future_stays_small`)"
    )]
    pub fn send_with<'a>(
        &'a self,
        mut req: Request,
        overrides: &'a RequestOptions,
    ) -> impl Future<Output = Result<Response>> + Send + 'a {
        async move {
            let opts = &self.inner.options;
            let key = match &overrides.idempotency_key {
                Some(_) if req.idempotency_header.is_none() => {
                    return Err(Error::config(
                        self.inner.provider,
                        format!(
                            "operation `{}` sends no idempotency header, so its key cannot be overridden per call: build the request value with the key you want",
                            req.operation
                        ),
                    ));
                }
                Some(k) => Some(k.clone()),
                None => req.idempotency.take(),
            };
            let settings = call::Settings {
                retry: overrides.retry.as_ref().unwrap_or(&opts.retry),
                attempt_timeout: overrides.attempt_timeout.unwrap_or(opts.attempt_timeout),
                total_timeout: overrides.timeout.unwrap_or(opts.total_timeout),
                key,
            };
            self.traced(&req, settings).await
        }
    }

    /// Runs the call inside its `payout.call` span and records how it ended.
    #[expect(
        clippy::manual_async_fn,
        reason = "an `async fn` stores a by-value argument twice in its future (see `a_call_future_stays_small`)"
    )]
    fn traced<'a>(
        &'a self,
        req: &'a Request,
        settings: call::Settings<'a>,
    ) -> impl Future<Output = Result<Response>> + 'a {
        async move {
            let inner = &*self.inner;
            let span = tracing::info_span!(
                "payout.call",
                payout.provider = inner.provider,
                payout.operation = req.operation,
                http.request.method = req.method.as_str(),
                url.path = req.template,
                server.address = inner.server_address.as_str(),
                payout.idempotency_key = tracing::field::Empty,
                http.response.status_code = tracing::field::Empty,
                http.request.resend_count = tracing::field::Empty,
                error.type = tracing::field::Empty,
                payout.request_id = tracing::field::Empty,
                payout.outcome = tracing::field::Empty,
            );
            if !span.is_disabled()
                && let Some(k) = &settings.key
            {
                span.record("payout.idempotency_key", k.as_str());
            }
            // No subscriber wants the span: no `Instrumented` layer (it would be moved and polled
            // on every wake-up for nothing).
            if span.is_disabled() {
                return self.run(req, settings).await;
            }
            let result = self.run(req, settings).instrument(span.clone()).await;
            record_outcome(&span, &result);
            result
        }
    }
}

/// Records how a call ended on its span, success or failure alike.
fn record_outcome(span: &tracing::Span, result: &Result<Response>) {
    match result {
        Ok(resp) => {
            span.record("http.response.status_code", resp.status());
            span.record("http.request.resend_count", resp.attempts().saturating_sub(1));
            if let Some(r) = resp.request_id() {
                span.record("payout.request_id", r);
            }
            span.record("payout.outcome", "ok");
        }
        Err(e) => {
            if let Some(s) = e.status() {
                span.record("http.response.status_code", s);
            }
            span.record("http.request.resend_count", e.attempts().saturating_sub(1));
            span.record("error.type", e.kind().as_str());
            if let Some(r) = e.request_id() {
                span.record("payout.request_id", r);
            }
            let outcome = if e.kind() == ErrorKind::Ambiguous || e.may_have_succeeded() {
                "ambiguous"
            } else {
                "failed"
            };
            span.record("payout.outcome", outcome);
        }
    }
}

/// `text` with every character `escape` selects written as JSON `\uXXXX` escapes (lowercase
/// hex, UTF-16 surrogate pairs above U+FFFF), as other JSON encoders write them.
fn unicode_escaped(text: &str, escape: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if escape(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}
