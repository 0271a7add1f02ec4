//! RohoPay's `{"success": true, "data": ...}` envelope, decoded by payout-core's one envelope
//! decoder: every endpoint's default `decode`.

use payout_core::envelope::{self, Payload};
use payout_core::{Response, Result};
use serde::de::DeserializeOwned;

/// Decodes a 2xx answer: `success: true` yields the required `data` field as `T` (a missing
/// `data`, or one of another shape, is a `Decode` error that keeps the status);
/// `success: false` inside a 2xx is a provider error with RohoPay's code, as the official
/// SDK treats it.
pub(crate) fn decode<T: DeserializeOwned>(resp: &Response) -> Result<T> {
    envelope::decode(resp, Payload::Field("data"), crate::error::envelope_failure)
}
