//! ROCheap's response envelope: every body carries `success`, and ROCheap's "Getting Started"
//! page tells integrators to decide on it, not on the HTTP status, because failures arrive
//! inside HTTP 200 too. Decoded by [`payout_core::envelope::decode`]; only the failure fields
//! are ROCheap's own ([`crate::error`]).

use payout_core::envelope::Payload;
use payout_core::{Response, Result};
use serde::de::DeserializeOwned;

/// Decodes a 2xx response: `success: true` into `T` (the fields sit at the top level, no
/// `data` wrapper), `success: false` into a provider error that keeps the HTTP status, a body
/// without `success` into a decode error.
pub(crate) fn decode<T: DeserializeOwned>(resp: &Response) -> Result<T> {
    payout_core::envelope::decode(resp, Payload::Root, crate::error::failure_info)
}
