//! Tolerant deserializers: RomplHub's response schemas are only partly documented, so numbers
//! may arrive as strings and ids as numbers without breaking decoding.

use std::fmt;

use payout_core::SecretString;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// Reads a secret string (a JWT or an API key) straight into a `SecretString`.
pub(crate) fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
    let s = String::deserialize(d)?;
    Ok(SecretString::from(s))
}

/// The empty secret a request value read back from a journal carries in place of a secret
/// that was never serialized: it fails validation, so such a value can never be sent.
pub(crate) fn no_secret() -> SecretString {
    SecretString::from(String::new())
}

/// Serializes an optional borrowed secret in clear: only for the wire body.
pub(crate) fn expose_opt_ref<S: serde::Serializer>(
    secret: &Option<&SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use payout_core::ExposeSecret;
    match secret {
        Some(v) => s.serialize_some(v.expose_secret()),
        None => s.serialize_none(),
    }
}

struct U64Visitor;

impl<'de> Visitor<'de> for U64Visitor {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer as a number or a string")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom("expected a non-negative integer"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        // `2200.0` from a loosely typed backend is still 2200; a fraction is an error.
        if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 {
            Ok(v as u64)
        } else {
            Err(E::custom("expected a non-negative integer"))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        v.trim()
            .parse()
            .map_err(|_| E::custom("expected a non-negative integer"))
    }
}

/// A `u64` from a JSON number or a numeric string.
pub(crate) fn u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(U64Visitor)
}

/// An `Option<u64>` from `null`, a JSON number or a numeric string.
pub(crate) fn opt_u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct Opt;
    impl<'de> Visitor<'de> for Opt {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("null or a non-negative integer")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(U64Visitor).map(Some)
        }
    }
    d.deserialize_option(Opt)
}
