//! What a provider crate tells the transport: where the credential goes, how its error
//! envelope decodes, and the user's settings.

use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName};
use secrecy::SecretString;

use crate::error::ErrorKind;
use crate::options::ClientOptions;

/// Where the credential goes on each request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthScheme {
    /// No credential (public endpoints).
    None,
    /// A custom header carrying the key as is (`rocheap-api-key: <key>`, `X-API-Key: <key>`).
    Header(HeaderName),
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: <key>`, no scheme word (the agent catalog API).
    RawAuthorization,
    /// The key as a string field of the JSON request body (RohoPay checkout:
    /// `{"api_key": "...", ...}`). The body must be a JSON object.
    JsonBodyField(&'static str),
}

/// What a provider's error envelope said, decoded by the provider crate.
#[derive(Debug, Clone, Default)]
pub struct ErrorInfo {
    /// The provider's error code.
    pub code: Option<String>,
    /// The provider's message.
    pub message: Option<String>,
    /// A request id found in the body.
    pub request_id: Option<String>,
    /// A more precise kind than the HTTP status suggests (an ambiguous outcome is never
    /// downgraded by it).
    pub kind: Option<ErrorKind>,
}

/// Turns a provider's non-2xx response into [`ErrorInfo`]. Implemented by each provider crate;
/// any `Fn(u16, &HeaderMap, &[u8]) -> ErrorInfo` works.
pub trait ErrorDecoder: Send + Sync + 'static {
    /// Decodes the error body. Must not panic on any input (HTML pages, truncated JSON).
    fn decode(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> ErrorInfo;
}

impl<F> ErrorDecoder for F
where
    F: Fn(u16, &HeaderMap, &[u8]) -> ErrorInfo + Send + Sync + 'static,
{
    fn decode(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> ErrorInfo {
        self(status, headers, body)
    }
}

/// What a provider crate tells [`super::Transport::new`].
pub struct TransportConfig {
    /// Short provider name used in errors and traces (`"rocheap"`).
    pub provider: &'static str,
    /// The crate's version, for the user agent `<provider>/<version>`.
    pub version: &'static str,
    /// The base URL every path is appended to (no trailing slash needed).
    pub base_url: String,
    /// The credential, if the provider needs one.
    pub credential: Option<SecretString>,
    /// Where the credential goes by default (a request may override it).
    pub auth: AuthScheme,
    /// Response headers that carry the provider's request id, checked in order.
    pub request_id_headers: &'static [&'static str],
    /// Decodes the provider's error envelope.
    pub error_decoder: Arc<dyn ErrorDecoder>,
    /// The user's transport settings.
    pub options: ClientOptions,
}
