//! The raw escape hatch: endpoints a crate does not model yet, through the same transport.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Request, Response, Transport};
use crate::error::{Error, Result};

/// The raw escape hatch: call an endpoint the crate does not model yet, with the same
/// auth, retries, timeouts and tracing. POSTs are unprotected (never re-sent after they
/// may have left) unless you build a [`Request`] with a key yourself.
#[derive(Debug, Clone)]
pub struct RawApi {
    transport: Transport,
}

impl RawApi {
    /// Wraps a transport.
    pub fn new(transport: Transport) -> Self {
        RawApi { transport }
    }
    /// `GET path` (path relative to the base URL, already encoded), decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.transport
            .send(Request::get("raw.get", "{raw}").path(path))
            .await?
            .json()
    }
    /// `DELETE path`, decoded as `T` (use `serde_json::Value` for an empty body).
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let resp = self
            .transport
            .send(Request::delete("raw.delete", "{raw}").path(path))
            .await?;
        if resp.body().is_empty() {
            return json_or_null(&resp);
        }
        resp.json()
    }
    /// `POST path` with a JSON body, decoded as `T`. Never retried once it may have been sent.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let req = Request::post("raw.post", "{raw}")
            .path(path)
            .json(body)
            .map_err(|e| e.with_provider(self.transport.provider()))?;
        self.transport.send(req).await?.json()
    }
    /// Sends a fully built request.
    pub async fn send(&self, request: Request) -> Result<Response> {
        self.transport.send(request).await
    }
}

fn json_or_null<T: DeserializeOwned>(resp: &Response) -> Result<T> {
    serde_json::from_value(serde_json::Value::Null).map_err(|e| {
        Error::decode(resp.transport().provider(), Some(resp.status()), "empty body").with_source(e)
    })
}
