//! Balances per currency, the pre-order check and low-balance alerts.

use std::collections::BTreeMap;

use payout_core::{Decimal, Request, Result, Timestamp};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::insufficient_balance_precheck;

/// One currency's balance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    /// ISO 4217 currency (`"USD"`).
    pub currency_code: String,
    /// What can be spent now, in major units (`"87.50"` on the wire).
    #[serde(with = "payout_core::money::decimal")]
    pub available: Decimal,
    /// The same in minor units, when the provider sends it (ASSUMPTION: the API's
    /// `amount_minor` convention; absent from the examples).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::balance::minor_units::deserialize"
    )]
    pub available_minor: Option<i64>,
    /// When it last changed (`updated_at`, an ISO 8601 UTC date-time such as
    /// `2024-11-01T10:00:00Z` in the provider's examples), as a [`Timestamp`].
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `GET /agent/{agent_id}/balance`: one entry per currency (`{"items": [...]}`; a bare array
/// is accepted too). A body without `items` is a decode error, never an empty balance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Balances {
    /// The balances.
    pub items: Vec<Balance>,
}

impl<'de> Deserialize<'de> for Balances {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let body = crate::list::ListBody::<Balance>::deserialize(d)?;
        Ok(Balances { items: body.items })
    }
}

impl Balances {
    /// The balance in `currency` (case-insensitive).
    pub fn get(&self, currency: &str) -> Option<&Balance> {
        self.items
            .iter()
            .find(|b| b.currency_code.eq_ignore_ascii_case(currency))
    }

    /// What is available in `currency`; zero when the account holds none of it.
    pub fn available(&self, currency: &str) -> Decimal {
        self.get(currency).map(|b| b.available).unwrap_or(Decimal::ZERO)
    }

    /// True when `amount` in `currency` can be paid from the available balance.
    pub fn covers(&self, currency: &str, amount: Decimal) -> bool {
        self.available(currency) >= amount
    }

    /// `Ok` when `amount` in `currency` is covered; otherwise an error with code
    /// `insufficient_balance` (`ErrorCode::of(&err) == Some(ErrorCode::InsufficientBalance)`,
    /// see [`crate::ErrorCode`]), no HTTP status, and nothing sent. The Plexy Gate agent API
    /// overview: "Block purchase if balance is insufficient."
    pub fn ensure_covers(&self, currency: &str, amount: Decimal) -> Result<()> {
        let available = self.available(currency);
        if available >= amount {
            return Ok(());
        }
        Err(insufficient_balance_precheck(format!(
            "the {} balance ({available} available) cannot cover {amount}; checked before sending, nothing was sent. Fund the account and retry after the deposit posts",
            currency.to_ascii_uppercase()
        )))
    }

    /// Every currency in `thresholds` whose available balance is at or below its threshold
    /// (a currency the account does not hold counts as zero). Empty when all is well.
    pub fn below(&self, thresholds: &LowBalanceThresholds) -> Vec<LowBalance> {
        thresholds
            .0
            .iter()
            .filter_map(|(currency, threshold)| {
                let available = self.available(currency);
                (available <= *threshold).then(|| LowBalance {
                    currency_code: currency.clone(),
                    available,
                    threshold: *threshold,
                })
            })
            .collect()
    }
}

/// Alert levels per currency, for [`Balances::below`] and [`BalanceApi::check_low`].
///
/// ```
/// use agent_catalog::{Decimal, LowBalanceThresholds};
/// let thresholds = LowBalanceThresholds::new()
///     .currency("USD", Decimal::new(10_000, 2))
///     .currency("EUR", Decimal::new(5_000, 2));
/// # let _ = thresholds;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LowBalanceThresholds(BTreeMap<String, Decimal>);

impl LowBalanceThresholds {
    /// No thresholds.
    pub fn new() -> Self {
        Self::default()
    }
    /// Alert when `currency` is at or below `threshold`.
    pub fn currency(mut self, currency: impl Into<String>, threshold: Decimal) -> Self {
        self.0.insert(currency.into().to_ascii_uppercase(), threshold);
        self
    }
}

/// A currency at or below its alert level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowBalance {
    /// The currency.
    pub currency_code: String,
    /// What is available.
    pub available: Decimal,
    /// The configured alert level.
    pub threshold: Decimal,
}

/// `GET /agent/{agent_id}/balance` as a request value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetBalance;

impl GetBalance {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req.path("/balance"))
    }
}

/// `client.balance()`.
#[derive(Debug, Clone, Copy)]
pub struct BalanceApi<'a> {
    pub(crate) client: &'a Client,
}

impl BalanceApi<'_> {
    /// `GET /agent/{agent_id}/balance`.
    pub async fn get(&self) -> Result<Balances> {
        self.client.send(&GetBalance).await
    }

    /// Reads the balance and refuses `amount` in `currency` if it is not covered (see
    /// [`Balances::ensure_covers`]). Returns the balances read.
    pub async fn ensure_covers(&self, currency: &str, amount: Decimal) -> Result<Balances> {
        let balances = self.get().await?;
        balances.ensure_covers(currency, amount)?;
        Ok(balances)
    }

    /// Reads the balance and returns the currencies at or below their threshold, logging a
    /// `WARN` event per currency (target `agent_catalog::balance`) for your alerting.
    pub async fn check_low(&self, thresholds: &LowBalanceThresholds) -> Result<Vec<LowBalance>> {
        let low = self.get().await?.below(thresholds);
        for l in &low {
            tracing::warn!(
                currency = %l.currency_code,
                available = %l.available,
                threshold = %l.threshold,
                "agent balance at or below its alert threshold"
            );
        }
        Ok(low)
    }
}

/// `amount_minor`-style fields: integer minor units. Read leniently because where the
/// provider uses them is an ASSUMPTION: a JSON integer, an integer in a string (`"8750"`, as
/// APIs that fear 53-bit floats send it) or `null`. A fraction is refused rather than
/// rounded: minor units have none.
pub(crate) mod minor_units {
    use std::fmt;

    use serde::Deserializer;
    use serde::de::{self, Visitor};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<i64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer amount in minor units (number or string) or null")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Some(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(Some)
                    .map_err(|_| E::custom("minor units out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(Some(v as i64))
                } else {
                    Err(E::custom("minor units must be a whole number"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let t = v.trim();
                if t.is_empty() {
                    return Ok(None);
                }
                t.parse::<i64>()
                    .map(Some)
                    .map_err(|_| E::custom("minor units must be a whole number"))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balances() -> Balances {
        serde_json::from_str(
            r#"{"items":[{"currency_code":"USD","available":"87.50","updated_at":"2024-11-01T10:00:00Z"},
                          {"currency_code":"EUR","available":"12.00"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn covers_per_currency() {
        let b = balances();
        assert!(b.covers("USD", Decimal::new(8750, 2)));
        assert!(!b.covers("USD", Decimal::new(8751, 2)));
        assert!(b.covers("eur", Decimal::new(1200, 2)));
        assert!(!b.covers("GBP", Decimal::new(1, 2)));
        let e = b.ensure_covers("EUR", Decimal::new(1250, 2)).unwrap_err();
        assert_eq!(e.provider_code(), Some("insufficient_balance"));
        assert_eq!(e.status(), None);
        assert!(!e.was_sent(), "decided before sending");
        assert_eq!(e.attempts(), 0);
        assert!(!e.is_retryable());
        assert!(e.message().contains("nothing was sent"), "{e}");
    }

    #[test]
    fn minor_units_are_read_as_number_or_string() {
        let read = |v: &str| {
            serde_json::from_str::<Balance>(&format!(
                r#"{{"currency_code":"USD","available":"87.50","available_minor":{v}}}"#
            ))
            .map(|b| b.available_minor)
        };
        assert_eq!(read("8750").unwrap(), Some(8750));
        assert_eq!(read(r#""8750""#).unwrap(), Some(8750));
        assert_eq!(read("null").unwrap(), None);
        assert!(read("87.5").is_err());
        assert!(read(r#""87.50""#).is_err());
    }

    #[test]
    fn low_balance_thresholds() {
        let b = balances();
        let t = LowBalanceThresholds::new()
            .currency("usd", Decimal::new(10_000, 2))
            .currency("EUR", Decimal::new(500, 2))
            .currency("GBP", Decimal::ZERO);
        let low = b.below(&t);
        let names: Vec<&str> = low.iter().map(|l| l.currency_code.as_str()).collect();
        assert_eq!(names, vec!["GBP", "USD"]);
        assert_eq!(low[1].available, Decimal::new(8750, 2));
    }
}
