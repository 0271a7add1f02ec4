//! [`Response`] and JSON decoding: `serde_json` first, `serde_path_to_error` only to
//! explain a failure.

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::SecretString;
use serde::de::DeserializeOwned;

use super::{SNIPPET_LEN, Transport};
use crate::error::{Error, Result};
use crate::idempotency::IdempotencyKey;

/// The longest request id an error or a response reports.
pub(super) const REQUEST_ID_MAX: usize = 128;

/// A successful (2xx) response, body fully read.
pub struct Response {
    pub(super) transport: Transport,
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    /// The request id header's value (a reference-counted view of the header, no copy).
    pub(super) request_id: Option<HeaderValue>,
    pub(super) idempotency_key: Option<IdempotencyKey>,
    pub(super) attempts: u32,
    pub(super) redact: Vec<SecretString>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .field("request_id", &self.request_id())
            .field("idempotency_key", &self.idempotency_key)
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// A request id header value as text, at most [`REQUEST_ID_MAX`] characters (header values
/// that are text are visible ASCII, so characters are bytes).
pub(super) fn request_id_str(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    Some(&s[..s.len().min(REQUEST_ID_MAX)])
}

impl Response {
    /// Decodes the body as JSON. A failure is an [`crate::ErrorKind::Decode`] error that keeps
    /// the status, the JSON path of the offending field and a redacted snippet, and is marked
    /// "may have succeeded" (never retried).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        decode_json_with(&self.transport, self.status, &self.body, &self.redact).map_err(|e| {
            e.with_request_id(self.request_id().map(str::to_string))
                .with_idempotency_key(self.idempotency_key.clone())
        })
    }
    /// Decodes the body with a `serde` seed (for envelope fields picked without an
    /// intermediate `Value`); a failure is a decode error like [`Response::json`]'s.
    pub fn json_seeded<'de, S: serde::de::DeserializeSeed<'de>>(&'de self, seed: S) -> Result<S::Value> {
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        seed.deserialize(&mut de)
            .and_then(|v| de.end().map(|()| v))
            .map_err(|e| {
                let msg = self
                    .transport
                    .scrub_with(e.to_string().as_bytes(), 200, &self.redact);
                self.decode_error(format!("could not decode the response: {msg}"))
            })
    }
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// The raw body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// The provider's request id, if it sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_ref().and_then(request_id_str)
    }
    /// The idempotency key the call used.
    pub fn idempotency_key(&self) -> Option<&IdempotencyKey> {
        self.idempotency_key.as_ref()
    }
    /// How many attempts it took.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
    /// The transport that produced this response.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }
    /// The secrets of the request itself (see [`super::Request::redact`]), masked in errors.
    pub fn redactions(&self) -> &[SecretString] {
        &self.redact
    }
    /// A decode error for this response, for provider crates whose envelope decides success
    /// by a field rather than the status.
    pub fn decode_error(&self, message: impl Into<String>) -> Error {
        Error::decode(self.transport.provider(), Some(self.status), message)
            .with_body_snippet(Some(self.transport.scrub_with(
                &self.body,
                SNIPPET_LEN,
                &self.redact,
            )))
            .with_request_id(self.request_id().map(str::to_string))
            .with_idempotency_key(self.idempotency_key.clone())
    }
}

/// Decodes `body` as `T`, producing a [`crate::ErrorKind::Decode`] error with the JSON path,
/// the status and a redacted snippet on failure.
pub fn decode_json<T: DeserializeOwned>(transport: &Transport, status: u16, body: &[u8]) -> Result<T> {
    decode_json_with(transport, status, body, &[])
}

pub(super) fn decode_json_with<T: DeserializeOwned>(
    transport: &Transport,
    status: u16,
    body: &[u8],
    redact: &[SecretString],
) -> Result<T> {
    // The fast path allocates only what `T` needs; `serde_path_to_error` (which allocates for
    // every key) runs again only to explain a failure: the body is already in memory.
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(_) => Err(explain_decode_failure::<T>(transport, status, body, redact)),
    }
}

#[cold]
fn explain_decode_failure<T: DeserializeOwned>(
    transport: &Transport,
    status: u16,
    body: &[u8],
    redact: &[SecretString],
) -> Error {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let (path, msg) = match serde_path_to_error::deserialize::<_, T>(de) {
        Err(e) => {
            let path = e.path().to_string();
            (path, e.into_inner().to_string())
        }
        // Cannot happen (the same input failed a moment ago); say so rather than panic.
        Ok(_) => (String::new(), "the body did not decode".to_string()),
    };
    // serde_json messages can quote the offending value, and the path is made of the body's own
    // keys (a provider can echo a secret as a key): scrub both like a body.
    let msg = transport.scrub_with(msg.as_bytes(), 200, redact);
    let path = transport.scrub_with(path.as_bytes(), 200, redact);
    let what = short_type_name(std::any::type_name::<T>());
    let message = if path == "." || path.is_empty() {
        format!("could not decode {what}: {msg}")
    } else {
        format!("could not decode {what} at `{path}`: {msg}")
    };
    Error::decode(transport.provider(), Some(status), message).with_body_snippet(Some(transport.scrub_with(
        body,
        SNIPPET_LEN,
        redact,
    )))
}

/// A type name as a reader writes it: every path inside it shortened to its last segment, so
/// `payout_core::Page<agent_catalog::ProductType>` reads `Page<ProductType>` and
/// `(alloc::string::String, u32)` reads `(String, u32)`. Used in decode errors.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    // Start of the current path (identifiers joined by `::`), or `None` between paths.
    let mut path_start: Option<usize> = None;
    let flush = |out: &mut String, path: &str| {
        out.push_str(path.rsplit("::").next().unwrap_or(path));
    };
    for (i, c) in full.char_indices() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            path_start.get_or_insert(i);
        } else {
            if let Some(start) = path_start.take() {
                flush(&mut out, &full[start..i]);
            }
            out.push(c);
        }
    }
    if let Some(start) = path_start {
        flush(&mut out, &full[start..]);
    }
    if out.is_empty() {
        "response".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn plain_paths_keep_their_last_segment() {
        assert_eq!(short_type_name("agent_catalog::orders::Order"), "Order");
        assert_eq!(short_type_name("u32"), "u32");
        assert_eq!(short_type_name("Order"), "Order");
        assert_eq!(short_type_name(""), "response");
    }

    #[test]
    fn generics_are_shortened_inside_and_out() {
        assert_eq!(
            short_type_name("payout_core::pagination::Page<agent_catalog::catalog::ProductType>"),
            "Page<ProductType>"
        );
        assert_eq!(
            short_type_name("alloc::vec::Vec<rocheap::orders::Order>"),
            "Vec<Order>"
        );
        assert_eq!(
            short_type_name(
                "core::option::Option<alloc::vec::Vec<payout_core::envelope::Envelope<xrocket::Transfer>>>"
            ),
            "Option<Vec<Envelope<Transfer>>>"
        );
        assert_eq!(
            short_type_name(
                "std::collections::hash::map::HashMap<alloc::string::String, alloc::vec::Vec<u8>>"
            ),
            "HashMap<String, Vec<u8>>"
        );
        assert_eq!(
            short_type_name("alloc::vec::Vec<alloc::vec::Vec<romplhub::Offer>>"),
            "Vec<Vec<Offer>>"
        );
    }

    #[test]
    fn tuples_slices_arrays_and_references() {
        assert_eq!(short_type_name("(alloc::string::String, u32)"), "(String, u32)");
        assert_eq!(short_type_name("()"), "()");
        assert_eq!(short_type_name("(a::A, (b::B, c::C<d::D>))"), "(A, (B, C<D>))");
        assert_eq!(short_type_name("&[rohopay::Payout]"), "&[Payout]");
        assert_eq!(short_type_name("[rohopay::Payout; 3]"), "[Payout; 3]");
        assert_eq!(short_type_name("&'static str"), "&'static str");
        assert_eq!(
            short_type_name("alloc::boxed::Box<dyn core::any::Any + core::marker::Send>"),
            "Box<dyn Any + Send>"
        );
    }

    #[test]
    fn real_type_names_read_without_a_stray_bracket() {
        #[allow(dead_code)]
        struct ProductType;
        let name = short_type_name(std::any::type_name::<crate::Page<ProductType, u32>>());
        assert_eq!(name, "Page<ProductType, u32>");
        let name = short_type_name(std::any::type_name::<Vec<(String, Option<u8>)>>());
        assert_eq!(name, "Vec<(String, Option<u8>)>");
    }
}
