//! The credential: kept once, its header built once per credential (not per call), or
//! spliced into a JSON body for providers that want it there.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use reqwest::header::{self, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use super::{AuthScheme, Request, Transport};
use crate::error::{Error, ErrorKind, Result};

/// An auth header: name and (sensitive) value.
pub(super) type AuthHeader = (HeaderName, HeaderValue);

/// The credential and the header of the transport's default scheme, rebuilt only by
/// [`Transport::set_credential`].
pub(super) struct AuthState {
    pub(super) credential: Option<SecretString>,
    pub(super) header: Cached,
}

/// The default scheme's header, as built from the current credential.
#[derive(Clone)]
pub(super) enum Cached {
    /// The scheme puts no header (none, or a body field), or there is no credential.
    NoHeader,
    /// Ready to clone onto each request (a reference-count increment, no copy).
    Ready(AuthHeader),
    /// The credential cannot be a header value; reported as a config error at call time.
    Invalid,
}

impl AuthState {
    pub(super) fn new(scheme: &AuthScheme, credential: Option<SecretString>, builds: &AtomicU64) -> Self {
        let header = match &credential {
            Some(c) => match build_header(scheme, c, builds) {
                Some(Ok(h)) => Cached::Ready(h),
                Some(Err(())) => Cached::Invalid,
                None => Cached::NoHeader,
            },
            None => Cached::NoHeader,
        };
        AuthState { credential, header }
    }
}

/// Builds the header `scheme` puts the credential in (`None` for a scheme without one),
/// marked sensitive so no `Debug` of it prints the value.
fn build_header(
    scheme: &AuthScheme,
    cred: &SecretString,
    builds: &AtomicU64,
) -> Option<std::result::Result<AuthHeader, ()>> {
    let cred = cred.expose_secret();
    let (name, value) = match scheme {
        AuthScheme::None | AuthScheme::JsonBodyField(_) => return None,
        AuthScheme::Header(name) => (name.clone(), HeaderValue::from_str(cred)),
        AuthScheme::Bearer => (
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {cred}")),
        ),
        AuthScheme::RawAuthorization => (header::AUTHORIZATION, HeaderValue::from_str(cred)),
    };
    builds.fetch_add(1, Ordering::Relaxed);
    Some(match value {
        Ok(mut v) => {
            v.set_sensitive(true);
            Ok((name, v))
        }
        Err(_) => Err(()),
    })
}

impl Transport {
    /// The auth header for `req` (the cached one for the default scheme) and the body to send
    /// (the request's own, or with the key spliced in), once per call.
    pub(super) fn prepare_auth(&self, req: &Request) -> Result<(Option<AuthHeader>, Option<Bytes>)> {
        let inner = &*self.inner;
        let provider = inner.provider;
        let scheme = match &req.auth {
            Some(s) => s,
            None => &inner.auth,
        };
        if *scheme == AuthScheme::None {
            return Ok((None, req.body.clone()));
        }
        let state = inner.auth_state();
        let Some(cred) = &state.credential else {
            return Err(Error::new(
                ErrorKind::Auth,
                provider,
                "no credential configured for an endpoint that needs one; nothing was sent",
            )
            .with_sent(false));
        };
        let bad = || {
            Error::config(
                provider,
                "the credential contains characters not allowed in an HTTP header",
            )
        };
        if let AuthScheme::JsonBodyField(field) = scheme {
            let body = req.body.as_deref().unwrap_or(b"{}");
            return Ok((
                None,
                Some(splice_json_field(provider, body, field, cred.expose_secret())?),
            ));
        }
        let header = if *scheme == inner.auth {
            match &state.header {
                Cached::Ready(h) => Some(h.clone()),
                Cached::Invalid => return Err(bad()),
                Cached::NoHeader => None,
            }
        } else {
            // A per-request scheme other than the default: rare, built for this call.
            match build_header(scheme, cred, &inner.auth_builds) {
                Some(Ok(h)) => Some(h),
                Some(Err(())) => return Err(bad()),
                None => None,
            }
        };
        Ok((header, req.body.clone()))
    }
}

/// Inserts `"field": "<secret>"` as the first member of a JSON object body.
pub(super) fn splice_json_field(
    provider: &'static str,
    body: &[u8],
    field: &str,
    secret: &str,
) -> Result<Bytes> {
    let trimmed = body.trim_ascii_start();
    if trimmed.first() != Some(&b'{') {
        return Err(Error::config(
            provider,
            "a body-key request needs a JSON object body",
        ));
    }
    let rest = trimmed[1..].trim_ascii_start();
    let field_json =
        serde_json::to_string(field).map_err(|e| Error::config(provider, "bad field").with_source(e))?;
    let secret_json = serde_json::to_string(secret)
        .map_err(|_| Error::config(provider, "the credential could not be encoded"))?;
    let mut out = Vec::with_capacity(body.len() + field_json.len() + secret_json.len() + 3);
    out.push(b'{');
    out.extend_from_slice(field_json.as_bytes());
    out.push(b':');
    out.extend_from_slice(secret_json.as_bytes());
    if rest.first() != Some(&b'}') {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_key_into_json_object() {
        let out = splice_json_field("p", br#"{"amount":5}"#, "api_key", "k\"1").unwrap();
        assert_eq!(&out[..], br#"{"api_key":"k\"1","amount":5}"#);
        let out = splice_json_field("p", b"{ }", "api_key", "k").unwrap();
        assert_eq!(&out[..], br#"{"api_key":"k"}"#);
        assert!(splice_json_field("p", b"[1]", "api_key", "k").is_err());
    }
}
