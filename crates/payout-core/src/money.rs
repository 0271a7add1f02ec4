//! Money on the wire: `Decimal` from a JSON string or number without float drift, written
//! back as a string, and integer minor units.
//!
//! Use in models as `#[serde(with = "payout_core::money::decimal")]` (or
//! `payout_core::money::option_decimal` for an `Option<Decimal>`).

use std::fmt;

use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// Parses a decimal string exactly (`"1.23"`, `"-0.5"`, `"1e-3"`).
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    Decimal::from_str_exact(s)
        .or_else(|_| Decimal::from_scientific(s))
        .ok()
}

/// Converts a JSON float to the decimal it was written as: Rust prints an `f64` as the
/// shortest string that reads back to the same value, so `0.044` becomes exactly `0.044`,
/// not `0.04399999999999999911182158029987`.
pub fn decimal_from_f64(v: f64) -> Option<Decimal> {
    if !v.is_finite() {
        return None;
    }
    parse_decimal(&format!("{v}"))
}

/// Amount in minor units (cents, or the currency's smallest unit) for a currency with
/// `exponent` decimal places. `None` if the amount has more precision than that or overflows.
///
/// ```
/// use rust_decimal::Decimal;
/// use payout_core::money::{to_minor_units, from_minor_units};
/// assert_eq!(to_minor_units(Decimal::new(1234, 2), 2), Some(1234));
/// assert_eq!(to_minor_units(Decimal::new(12345, 3), 2), None);
/// assert_eq!(from_minor_units(1234, 2), Some(Decimal::new(1234, 2)));
/// ```
pub fn to_minor_units(amount: Decimal, exponent: u32) -> Option<i64> {
    let scaled = amount.checked_mul(Decimal::from(10i64.checked_pow(exponent)?))?;
    if scaled.fract() != Decimal::ZERO {
        return None;
    }
    i64::try_from(scaled.trunc()).ok()
}

/// The most decimal places a [`Decimal`] holds, so the largest exponent
/// [`from_minor_units`] accepts.
pub const MAX_EXPONENT: u32 = Decimal::MAX_SCALE;

/// The decimal value of `minor` units with `exponent` decimal places (`1234` at exponent 2 is
/// `12.34`, printed with exactly `exponent` places).
///
/// `None` if `exponent` is above [`MAX_EXPONENT`] (28): a `Decimal` cannot hold that many
/// places, and any value returned would be off by a power of ten. No currency comes near
/// (ISO 4217 currencies have 0 to 4, the common crypto assets up to 18).
///
/// ```
/// use rust_decimal::Decimal;
/// use payout_core::money::from_minor_units;
/// assert_eq!(from_minor_units(-5, 0), Some(Decimal::from(-5)));
/// assert_eq!(from_minor_units(1, 28).map(|d| d.to_string()), Some(format!("0.{:0>28}", 1)));
/// assert_eq!(from_minor_units(1, 29), None);
/// ```
pub fn from_minor_units(minor: i64, exponent: u32) -> Option<Decimal> {
    if exponent > MAX_EXPONENT {
        return None;
    }
    Decimal::try_from_i128_with_scale(i128::from(minor), exponent).ok()
}

/// True if `amount` has at most `places` decimal places (trailing zeros ignored).
pub fn fits_precision(amount: Decimal, places: u32) -> bool {
    amount.normalize().scale() <= places
}

struct DecimalVisitor;

impl<'de> Visitor<'de> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal amount as a string or a number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        parse_decimal(v).ok_or_else(|| E::custom(format_args!("`{v}` is not a decimal amount")))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        decimal_from_f64(v).ok_or_else(|| E::custom("number out of range for a decimal amount"))
    }
}

/// Serde adapter: writes a `Decimal` as a JSON string, reads a string or a number exactly.
pub mod decimal {
    use super::*;

    /// Writes the decimal as a string (`"1.50"` keeps its scale).
    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }
    /// Reads a string or a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        d.deserialize_any(DecimalVisitor)
    }
}

/// Serde adapter for `Option<Decimal>`: `null` or absent is `None`.
pub mod option_decimal {
    use super::*;

    /// Writes `Some` as a string and `None` as `null`.
    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.collect_str(d),
            None => s.serialize_none(),
        }
    }
    /// Reads `null`, a string or a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        struct Opt;
        impl<'de> Visitor<'de> for Opt {
            type Value = Option<Decimal>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null or a decimal amount")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(DecimalVisitor).map(Some)
            }
        }
        d.deserialize_option(Opt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct M {
        #[serde(with = "decimal")]
        a: Decimal,
        #[serde(with = "option_decimal", default)]
        b: Option<Decimal>,
    }

    #[test]
    fn reads_strings_and_numbers_exactly() {
        let m: M = serde_json::from_str(r#"{"a":0.044,"b":"1.10"}"#).unwrap();
        assert_eq!(m.a.to_string(), "0.044");
        assert_eq!(m.b.unwrap().to_string(), "1.10");
        let m: M = serde_json::from_str(r#"{"a":"12345678901234567890.123456789","b":null}"#).unwrap();
        assert_eq!(m.a.to_string(), "12345678901234567890.123456789");
        assert_eq!(m.b, None);
        let m: M = serde_json::from_str(r#"{"a":5}"#).unwrap();
        assert_eq!(m.a, Decimal::from(5));
        assert!(serde_json::from_str::<M>(r#"{"a":"ten"}"#).is_err());
        assert!(serde_json::from_str::<M>(r#"{"a":true}"#).is_err());
    }

    #[test]
    fn writes_strings() {
        let m = M {
            a: Decimal::new(150, 2),
            b: None,
        };
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"a":"1.50","b":null}"#);
    }

    #[test]
    fn minor_units_and_precision() {
        assert_eq!(to_minor_units(Decimal::from(5000), 0), Some(5000));
        assert_eq!(to_minor_units(Decimal::new(5, 1), 0), None);
        assert!(fits_precision(Decimal::new(1230, 3), 2));
        assert!(!fits_precision(Decimal::new(1231, 3), 2));
        assert_eq!(decimal_from_f64(1e-7).unwrap().to_string(), "0.0000001");
    }

    #[test]
    fn minor_units_refuse_an_exponent_a_decimal_cannot_hold() {
        // 28 places: the most a Decimal holds, exact for the whole i64 range.
        let d = from_minor_units(1, 28).unwrap();
        assert_eq!(d.scale(), 28);
        assert_eq!(d.to_string(), "0.0000000000000000000000000001");
        assert_eq!(
            from_minor_units(i64::MAX, 28).unwrap().mantissa(),
            i128::from(i64::MAX)
        );
        assert_eq!(
            from_minor_units(i64::MIN, 28).unwrap().mantissa(),
            i128::from(i64::MIN)
        );
        assert_eq!(from_minor_units(-1234, 2), Some(Decimal::new(-1234, 2)));
        // Above 28 it used to clamp to 28 and return a value ten (or 10^n) times too big.
        assert_eq!(from_minor_units(1, 29), None);
        assert_eq!(from_minor_units(0, 29), None);
        assert_eq!(from_minor_units(1234, u32::MAX), None);
        assert_eq!(from_minor_units(i64::MIN, u32::MAX), None);
        assert_eq!(MAX_EXPONENT, 28);
    }
}
