//! The legacy wire format: the `{success, data}` envelope, offset pages, amounts written as
//! exact JSON numbers, and the lenient readers xRocket's inconsistent schema needs.

use payout_core::envelope::{self, Payload};
use payout_core::{Decimal, Error, Page, Response, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::client::PROVIDER;
use super::error::failure_info;

/// `{success: true, data: T}`; `success: false` is a provider error with xRocket's message
/// and field errors; a body without `success` or `data` is a decode error keeping the status.
pub(crate) fn decode<T: DeserializeOwned>(resp: &Response) -> Result<T> {
    envelope::decode(resp, Payload::Field("data"), failure_info)
}

/// `{success: true}` with no data (both DELETEs).
pub(crate) fn decode_ok(resp: &Response) -> Result<()> {
    envelope::decode::<serde::de::IgnoredAny>(resp, Payload::Root, failure_info).map(|_| ())
}

/// A body that is not wrapped (`/version`, `/health`).
pub(crate) fn decode_bare<T: DeserializeOwned>(resp: &Response) -> Result<T> {
    resp.json()
}

/// `data = {total, limit, offset, results}`. `results` is required: a page without it is a
/// decode error, never an empty list.
#[derive(Deserialize)]
struct RawPage<T> {
    #[serde(default, deserialize_with = "opt_u64")]
    total: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    limit: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    offset: Option<u64>,
    results: Vec<T>,
}

/// An offset page; `next` is the offset of the next page (`None` on the last).
pub(crate) fn decode_page<T: DeserializeOwned>(resp: &Response) -> Result<Page<T, u64>> {
    let raw: RawPage<T> = decode(resp)?;
    let offset = raw.offset.unwrap_or(0);
    let limit = raw.limit.unwrap_or(100);
    let next = payout_core::pagination::next_offset(offset, limit, raw.results.len(), raw.total);
    Ok(Page {
        items: raw.results,
        next,
        total: raw.total,
    })
}

/// `data = {results: [...]}` (currencies): `results` required.
pub(crate) fn decode_results<T: DeserializeOwned>(resp: &Response) -> Result<Vec<T>> {
    #[derive(Deserialize)]
    struct Results<T> {
        results: Vec<T>,
    }
    decode::<Results<T>>(resp).map(|r| r.results)
}

/// Amounts as JSON **numbers** written from the decimal's own digits (`0.3`, never through
/// `f64`), read from a number or a numeric string.
pub(crate) mod number {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Decimal, s: S) -> std::result::Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(v.normalize().to_string())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Decimal, D::Error> {
        payout_core::money::decimal::deserialize(d)
    }
}

/// [`number`] for an `Option<Decimal>` (`null` or absent is `None`).
pub(crate) mod opt_number {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        v: &Option<Decimal>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match v {
            Some(d) => number::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Option<Decimal>, D::Error> {
        payout_core::money::option_decimal::deserialize(d)
    }
}

/// A count or id as a number or numeric string; anything else is `None`.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A flag sent as `true`/`false` or `1`/`0` (the spec and the SDK disagree).
pub(crate) fn opt_flag<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<bool>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => Some(b),
        serde_json::Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        serde_json::Value::String(s) => match s.trim() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

/// Text typed `object` in the spec: a string, or `None` for `null`; another JSON value is
/// kept as its JSON text.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

/// Text that may arrive as a JSON number (`/version`'s `0.1`): kept as written.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format_args!(
            "expected text, found {other}"
        ))),
    }
}

/// A list of strings, or one lone string (`enabledCountries`).
pub(crate) fn string_list<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::String(s) if s.is_empty() => Vec::new(),
        serde_json::Value::String(s) => vec![s],
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        other => vec![other.to_string()],
    })
}

// ----- checks run before sending -----

/// The legacy API keeps at most 9 decimals and silently cuts the rest off: refuse instead.
pub(crate) fn check_amount(field: &'static str, amount: Decimal) -> Result<()> {
    if amount <= Decimal::ZERO {
        return Err(Error::invalid_input(PROVIDER, field, "must be greater than zero"));
    }
    check_places(field, amount)
}

pub(crate) fn check_places(field: &'static str, amount: Decimal) -> Result<()> {
    if !payout_core::money::fits_precision(amount, 9) {
        return Err(Error::invalid_input(
            PROVIDER,
            field,
            "has more than 9 decimal places (xRocket would cut the rest off)",
        ));
    }
    Ok(())
}

pub(crate) fn check_len(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        return Err(Error::invalid_input(
            PROVIDER,
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

pub(crate) fn check_required(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid_input(PROVIDER, field, "must not be empty"));
    }
    check_len(field, value, max)
}

/// A caller id (`transferId`, `withdrawalId`): `[A-Za-z0-9_-]{1,max}`, which needs no escaping
/// in the status path and fits the documented 50-character limit.
pub(crate) fn check_caller_id(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() || value.len() > max {
        return Err(Error::invalid_input(
            PROVIDER,
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::invalid_input(
            PROVIDER,
            field,
            "must contain only letters, digits, '-' and '_'",
        ));
    }
    Ok(())
}

pub(crate) fn check_limit(limit: Option<u32>) -> Result<()> {
    if let Some(l) = limit
        && !(1..=1000).contains(&l)
    {
        return Err(Error::invalid_input(
            PROVIDER,
            "limit",
            "must be between 1 and 1000",
        ));
    }
    Ok(())
}

/// A new caller id: a UUID v4, hyphenated (36 characters), generated on first read (so a
/// caller's id set right after costs nothing).
pub(crate) fn new_caller_id() -> payout_core::KeySlot {
    payout_core::KeySlot::generated()
}

/// Percent-encodes one path segment.
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sets a typed JSON body.
pub(crate) fn with_json<B: Serialize + ?Sized>(
    req: payout_core::Request,
    body: &B,
) -> Result<payout_core::Request> {
    req.json(body)
        .map_err(|e| Error::invalid_input(PROVIDER, "body", "could not be serialized as JSON").with_source(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct A {
        #[serde(with = "number")]
        a: Decimal,
    }

    #[test]
    fn amounts_are_exact_json_numbers() {
        let sum = Decimal::new(1, 1) + Decimal::new(2, 1);
        assert_eq!(serde_json::to_string(&A { a: sum }).unwrap(), r#"{"a":0.3}"#);
        let a = Decimal::from_str_exact("12345678901.123456789").unwrap();
        assert_eq!(
            serde_json::to_string(&A { a }).unwrap(),
            r#"{"a":12345678901.123456789}"#
        );
        assert_eq!(
            serde_json::to_string(&A {
                a: Decimal::new(150, 2)
            })
            .unwrap(),
            r#"{"a":1.5}"#
        );
        assert_eq!(
            serde_json::to_string(&A {
                a: Decimal::new(5, 0)
            })
            .unwrap(),
            r#"{"a":5}"#
        );
    }

    #[test]
    fn caller_ids() {
        let id = new_caller_id();
        assert!(check_caller_id("transferId", id.get(), 50).is_ok(), "{id}");
        assert!(check_caller_id("transferId", "a b", 50).is_err());
        assert!(check_caller_id("transferId", "", 50).is_err());
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
