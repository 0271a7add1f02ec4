//! The default decoder of every endpoint declared in `api/endpoints.json`: RomplHub answers
//! bare JSON resources (no `{success, data}` envelope), so a 2xx body is the output itself.

use payout_core::{Response, Result};
use serde::de::DeserializeOwned;

/// Decodes a 2xx body as `T`. A body that does not decode is a `Decode` error that keeps the
/// status and is marked "may have succeeded" (see [`Response::json`]).
pub(crate) fn decode<T: DeserializeOwned>(resp: &Response) -> Result<T> {
    resp.json()
}
