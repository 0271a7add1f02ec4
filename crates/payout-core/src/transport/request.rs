//! [`Request`]: one logical API call as the transport sends it.

use std::borrow::Cow;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::AuthScheme;
use crate::error::{Error, Result};
use crate::idempotency::IdempotencyKey;
use crate::retry::Safety;

/// One logical API call: method, path, query, body, and how it may be retried.
///
/// Built by provider crates; the path is already expanded and percent-encoded (see
/// [`crate::encode_path_segment`]), the template is kept for tracing so ids never become
/// span names. POST and PATCH default to [`Safety::Unprotected`] (never re-sent after the
/// request may have left); GET, HEAD, PUT and DELETE to [`Safety::Idempotent`].
#[derive(Clone)]
pub struct Request {
    pub(super) method: Method,
    pub(super) operation: &'static str,
    pub(super) template: &'static str,
    /// The template itself until [`Request::path`] sets the expanded path (no allocation for
    /// a path without parameters).
    pub(super) path: Cow<'static, str>,
    pub(super) query: Vec<(&'static str, String)>,
    pub(super) body: Option<Bytes>,
    pub(super) safety: Safety,
    pub(super) idempotency: Option<IdempotencyKey>,
    pub(super) idempotency_header: Option<HeaderName>,
    pub(super) auth: Option<AuthScheme>,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    pub(super) redact: Vec<SecretString>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the body: it may carry a card number, a password or an embedded key.
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("operation", &self.operation)
            .field("path", &self.template)
            .field(
                "query_params",
                &self.query.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.as_ref().map(|b| b.len()))
            .field("safety", &self.safety)
            .field("idempotency_key", &self.idempotency)
            .finish()
    }
}

impl Request {
    /// A request for `operation` (a stable name such as `"orders.create"`) on `template`
    /// (the documented path, e.g. `"/orders/{order_uid}"`; also used as the path until
    /// [`Request::path`] sets the expanded one).
    pub fn new(method: Method, operation: &'static str, template: &'static str) -> Self {
        let safety = match method {
            Method::POST | Method::PATCH => Safety::Unprotected,
            _ => Safety::Idempotent,
        };
        Request {
            method,
            operation,
            template,
            path: Cow::Borrowed(template),
            query: Vec::new(),
            body: None,
            safety,
            idempotency: None,
            idempotency_header: None,
            auth: None,
            headers: Vec::new(),
            redact: Vec::new(),
        }
    }
    /// A GET request.
    pub fn get(operation: &'static str, template: &'static str) -> Self {
        Request::new(Method::GET, operation, template)
    }
    /// A POST request (unprotected until you say otherwise).
    pub fn post(operation: &'static str, template: &'static str) -> Self {
        Request::new(Method::POST, operation, template)
    }
    /// A DELETE request.
    pub fn delete(operation: &'static str, template: &'static str) -> Self {
        Request::new(Method::DELETE, operation, template)
    }
    /// A PUT request (idempotent unless you declare otherwise).
    pub fn put(operation: &'static str, template: &'static str) -> Self {
        Request::new(Method::PUT, operation, template)
    }
    /// A PATCH request (unprotected until you say otherwise).
    pub fn patch(operation: &'static str, template: &'static str) -> Self {
        Request::new(Method::PATCH, operation, template)
    }
    /// The expanded path, with every dynamic segment percent-encoded.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Cow::Owned(path.into());
        self
    }
    /// Adds a query parameter.
    pub fn query(mut self, name: &'static str, value: impl ToString) -> Self {
        self.query.push((name, value.to_string()));
        self
    }
    /// Adds a query parameter when `value` is `Some`.
    pub fn query_opt<V: ToString>(self, name: &'static str, value: Option<V>) -> Self {
        match value {
            Some(v) => self.query(name, v),
            None => self,
        }
    }
    /// Serializes `body` as the JSON body, once; retries reuse the same bytes.
    ///
    /// A body that cannot be serialized (a map with non-string keys, a failing custom
    /// `Serialize`) is an [`crate::ErrorKind::InvalidInput`] error naming the field `body`
    /// and the operation; nothing is sent. Its provider name is `"payout-core"` until the
    /// caller names its own ([`crate::transport::RawApi`] does).
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.body = Some(Bytes::from(bytes));
                Ok(self)
            }
            Err(e) => Err(Error::invalid_input(
                "payout-core",
                "body",
                format!("the body of `{}` could not be serialized as JSON", self.operation),
            )
            .with_source(e)),
        }
    }
    /// Uses already-serialized JSON bytes as the body.
    pub fn json_bytes(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }
    /// Declares how the request may be retried.
    pub fn safety(mut self, safety: Safety) -> Self {
        self.safety = safety;
        self
    }
    /// Records the key (or client reference) protecting this call, without sending a header:
    /// for providers that deduplicate on a body field. Returned on the response and errors.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency = Some(key);
        self
    }
    /// Sends `key` in header `name` on every attempt and marks the call key-protected.
    pub fn idempotency_header(mut self, name: &'static str, key: IdempotencyKey) -> Self {
        self.idempotency = Some(key);
        self.idempotency_header = Some(HeaderName::from_static(name));
        self.safety = Safety::KeyProtected;
        self
    }
    /// Overrides where the credential goes for this request.
    pub fn auth(mut self, scheme: AuthScheme) -> Self {
        self.auth = Some(scheme);
        self
    }
    /// Masks `secret` (a password, card number or code the body carries) wherever the
    /// provider might echo it back: this call's error messages, codes and body snippets, in
    /// plain and JSON-escaped form, before anything is truncated. The client's own credential
    /// is always masked; use this for the secrets of the request itself.
    pub fn redact(mut self, secret: &SecretString) -> Self {
        if !secret.expose_secret().is_empty() {
            self.redact.push(secret.clone());
        }
        self
    }
    /// Adds a header (never a secret: header values here are not redacted).
    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers
            .push((HeaderName::from_static(name), HeaderValue::from_static(value)));
        self
    }
    /// The operation name.
    pub fn operation(&self) -> &'static str {
        self.operation
    }
    /// The declared safety.
    pub fn get_safety(&self) -> Safety {
        self.safety
    }
    /// The idempotency key, if any.
    pub fn get_idempotency_key(&self) -> Option<&IdempotencyKey> {
        self.idempotency.as_ref()
    }
}
