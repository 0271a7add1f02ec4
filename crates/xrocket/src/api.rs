//! The response decoders the generated [`payout_core::Endpoint`] impls call
//! (`src/endpoints.rs`, from `api/endpoints.json`).

use payout_core::{Page, Response, Result};
use serde::de::DeserializeOwned;

use crate::common::ListResponse;

/// The default decoder: the 2xx body is the output, as JSON. A body that does not decode is
/// an [`payout_core::ErrorKind::Decode`] error that keeps the status.
pub(crate) fn decode<T: DeserializeOwned>(resp: &Response) -> Result<T> {
    resp.json()
}

/// A cursor list `{items, pagination}`; a body without `items` is a decode error, never an
/// empty page.
pub(crate) fn decode_page<T: DeserializeOwned>(resp: &Response) -> Result<Page<T, String>> {
    Ok(resp.json::<ListResponse<T>>()?.into_page())
}

/// Calls whose success body is empty or not documented (DELETE, the test payment): any 2xx
/// is success.
pub(crate) fn ignore_body(_resp: &Response) -> Result<()> {
    Ok(())
}

/// The output of calls that return nothing useful.
pub(crate) type Empty = ();
