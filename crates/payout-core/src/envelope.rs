//! The `{ "success": true, ... }` / `{ "success": false, ... }` envelope that ROCheap, RohoPay
//! and xRocket's older API wrap every answer in, decoded once for all of them.
//!
//! Success is decided by the `success` field, not the HTTP status: these providers report
//! failures inside HTTP 200 too. A body without `success` is a [`crate::ErrorKind::Decode`]
//! error that keeps the status (and, on a 2xx, "may have succeeded"), never a guess.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::transport::{ErrorInfo, Response};

/// Where the payload of a successful envelope lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// The whole object is the payload (`{"success": true, "order_id": ...}`).
    Root,
    /// The payload is one field (`{"success": true, "data": {...}}`); the field is required.
    Field(&'static str),
}

#[derive(Deserialize)]
struct Success {
    #[serde(default)]
    success: Option<bool>,
}

/// Decodes an enveloped 2xx response: `success: true` into `T` (from `payload`),
/// `success: false` into a provider error built from `failure(body)` that keeps the status,
/// the request id and the key. The provider's code and message are scrubbed of the
/// credential and the request's own secrets before they enter the error.
pub fn decode<T: DeserializeOwned>(
    resp: &Response,
    payload: Payload,
    failure: impl FnOnce(&[u8]) -> ErrorInfo,
) -> Result<T> {
    let head: Success = resp.json()?;
    match head.success {
        Some(true) => match payload {
            Payload::Root => resp.json(),
            Payload::Field(name) => resp.json_field(name),
        },
        Some(false) => Err(resp.provider_error(failure(resp.body()))),
        None => Err(resp.decode_error(
            "response has no `success` field: is the base URL right, and is this the provider's API?",
        )),
    }
}

/// Decodes the envelope's failure fields of a non-2xx body with `failure`, for the transport's
/// error decoder; an HTML page or truncated JSON yields an empty [`ErrorInfo`], never a panic.
pub fn failure_info<E: DeserializeOwned>(body: &[u8], failure: impl FnOnce(E) -> ErrorInfo) -> ErrorInfo {
    match serde_json::from_slice::<E>(body) {
        Ok(env) => failure(env),
        Err(_) => ErrorInfo::default(),
    }
}

impl Response {
    /// Decodes the required field `name` of a JSON object body as `T`. A missing field is a
    /// decode error that names it (a documented container is never read as empty).
    pub fn json_field<T: DeserializeOwned>(&self, name: &'static str) -> Result<T> {
        let picked: Picked<T> = self.json_seeded(FieldSeed::<T> {
            name,
            _t: std::marker::PhantomData,
        })?;
        match picked.0 {
            Some(v) => Ok(v),
            None => Err(self.decode_error(format!("response lacks the documented field `{name}`"))),
        }
    }

    /// A provider error (`success: false` inside a 2xx, or a refusal the provider's envelope
    /// states) from `info`, keeping the status, request id, key and attempts. Code and message
    /// are scrubbed of secrets.
    pub fn provider_error(&self, info: ErrorInfo) -> Error {
        let transport = self.transport();
        let redact = self.redactions();
        let code = info.code.map(|c| transport.scrub_with(c.as_bytes(), 128, redact));
        let message = info
            .message
            .map(|m| transport.scrub_with(m.as_bytes(), 512, redact))
            .unwrap_or_else(|| {
                format!(
                    "{} answered success: false without a message",
                    transport.provider()
                )
            });
        let request_id = info
            .request_id
            .map(|r| transport.scrub_with(r.as_bytes(), 128, redact))
            .or_else(|| self.request_id().map(str::to_string));
        let mut e = Error::provider(transport.provider(), code, message)
            .with_status(self.status())
            .with_request_id(request_id)
            .with_idempotency_key(self.idempotency_key().cloned())
            .with_attempts(self.attempts());
        if let Some(k) = info.kind {
            e = e.with_kind(k);
        }
        e
    }
}

/// The value of one named field, deserialized straight from the body (no intermediate
/// `serde_json::Value`: that would allocate for every key of every item).
struct Picked<T>(Option<T>);

struct FieldSeed<T> {
    name: &'static str,
    _t: std::marker::PhantomData<T>,
}

impl<'de, T: DeserializeOwned> serde::de::DeserializeSeed<'de> for FieldSeed<T> {
    type Value = Picked<T>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> serde::de::Visitor<'de> for FieldSeed<T> {
    type Value = Picked<T>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a JSON object with a `{}` field", self.name)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut out = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.name && out.is_none() {
                out = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(Picked(out))
    }
}
