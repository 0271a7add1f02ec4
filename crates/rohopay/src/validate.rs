//! Input checks run before any byte is sent. Every failure names the field and the rule,
//! never the value: the value may be a card number or a CVV.

use std::time::{SystemTime, UNIX_EPOCH};

use payout_core::{Error, Result};

use crate::client::PROVIDER;
use crate::transactions::Currency;

pub(crate) fn invalid(field: &'static str, rule: &str) -> Error {
    Error::invalid_input(PROVIDER, field, rule)
}

pub(crate) fn amount(field: &'static str, amount: u64) -> Result<()> {
    if amount == 0 {
        return Err(invalid(
            field,
            "must be a positive integer in the currency's smallest unit (UGX 50,000 is 50000)",
        ));
    }
    Ok(())
}

pub(crate) fn currency(field: &'static str, currency: &Currency) -> Result<()> {
    match currency {
        Currency::Ugx | Currency::Kes | Currency::Tzs | Currency::Rwf => Ok(()),
        _ => Err(invalid(field, "must be one of UGX, KES, TZS or RWF")),
    }
}

pub(crate) fn max_chars(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        return Err(invalid(field, &format!("must be at most {max} characters")));
    }
    Ok(())
}

pub(crate) fn not_blank(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    Ok(())
}

/// International format without `+`: `2567XXXXXXXX`.
pub(crate) fn phone(field: &'static str, value: &str) -> Result<()> {
    let ok = (10..=15).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_digit())
        && !value.starts_with('0');
    if !ok {
        return Err(invalid(
            field,
            "must be the international number without `+`, spaces or a leading 0 (10 to 15 digits, e.g. 2567XXXXXXXX)",
        ));
    }
    Ok(())
}

/// Something a mail server could plausibly deliver to; RohoPay does the real check.
pub(crate) fn email(field: &'static str, value: &str) -> Result<()> {
    let plausible = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && domain.split('.').all(|label| !label.is_empty())
            }
            None => false,
        };
    if !plausible {
        return Err(invalid(
            field,
            "must be an e-mail address such as name@example.com",
        ));
    }
    Ok(())
}

/// An absolute `http(s)` URL (`https` only when `https_only`).
pub(crate) fn url(field: &'static str, value: &str, https_only: bool) -> Result<()> {
    let parsed = url::Url::parse(value).ok();
    let scheme_ok = match parsed.as_ref().map(url::Url::scheme) {
        Some("https") => true,
        Some("http") => !https_only,
        _ => false,
    };
    if !scheme_ok || parsed.as_ref().and_then(url::Url::host_str).is_none() {
        return Err(invalid(
            field,
            if https_only {
                "must be an absolute https:// URL"
            } else {
                "must be an absolute http:// or https:// URL"
            },
        ));
    }
    Ok(())
}

/// 16 digits, Visa or Mastercard, passing the Luhn check.
pub(crate) fn card_number(field: &'static str, digits: &str) -> Result<()> {
    if digits.len() != 16 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(field, "must be 16 digits"));
    }
    let prefix2: u32 = digits[..2].parse().unwrap_or(0);
    let prefix4: u32 = digits[..4].parse().unwrap_or(0);
    let visa = digits.starts_with('4');
    let mastercard = (51..=55).contains(&prefix2) || (2221..=2720).contains(&prefix4);
    if !visa && !mastercard {
        return Err(invalid(
            field,
            "must be a Visa or Mastercard number (the only brands RohoPay accepts)",
        ));
    }
    if !luhn(digits) {
        return Err(invalid(
            field,
            "fails the Luhn check: a digit is probably mistyped",
        ));
    }
    Ok(())
}

pub(crate) fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// `MM/YY`, not before the current month (UTC). A card is valid through the last day of
/// its expiry month.
pub(crate) fn card_expiry(field: &'static str, value: &str, now: SystemTime) -> Result<()> {
    let b = value.as_bytes();
    let well_formed = b.len() == 5 && b[2] == b'/' && b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit);
    if !well_formed {
        return Err(invalid(field, "must be MM/YY, e.g. 10/27"));
    }
    let month = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    let year = 2000 + u32::from(b[3] - b'0') * 10 + u32::from(b[4] - b'0');
    if !(1..=12).contains(&month) {
        return Err(invalid(field, "must be MM/YY with a month from 01 to 12"));
    }
    let (this_year, this_month) = year_month_utc(now);
    if (year, month) < (this_year, this_month) {
        return Err(invalid(field, "is in the past: the card has expired"));
    }
    Ok(())
}

pub(crate) fn cvv(field: &'static str, value: &str) -> Result<()> {
    if value.len() != 3 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(field, "must be 3 digits"));
    }
    Ok(())
}

/// The UTC calendar year and month of `t` (days-to-civil, Howard Hinnant's algorithm).
pub(crate) fn year_month_utc(t: SystemTime) -> (u32, u32) {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year.clamp(0, i64::from(u32::MAX)) as u32, month as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn calendar_conversion() {
        assert_eq!(year_month_utc(at(0)), (1970, 1));
        // 2024-02-29T23:59:59Z and the next second.
        assert_eq!(year_month_utc(at(1_709_251_199)), (2024, 2));
        assert_eq!(year_month_utc(at(1_709_251_200)), (2024, 3));
        // 2026-11-21T05:44:44Z
        assert_eq!(year_month_utc(at(1_795_239_884)), (2026, 11));
        assert_eq!(year_month_utc(at(1_798_761_599)), (2026, 12));
        assert_eq!(year_month_utc(at(1_798_761_600)), (2027, 1));
    }

    #[test]
    fn luhn_and_brands() {
        assert!(card_number("n", "4111111111111111").is_ok());
        assert!(card_number("n", "5555555555554444").is_ok());
        assert!(card_number("n", "2223003122003222").is_ok());
        assert!(card_number("n", "4111111111111112").is_err());
        assert!(card_number("n", "6011111111111117").is_err());
        assert!(card_number("n", "411111111111111").is_err());
    }

    #[test]
    fn expiry_is_compared_by_month() {
        let nov_2026 = at(1_795_239_884);
        assert!(card_expiry("e", "11/26", nov_2026).is_ok());
        assert!(card_expiry("e", "12/26", nov_2026).is_ok());
        assert!(card_expiry("e", "10/26", nov_2026).is_err());
        assert!(card_expiry("e", "13/27", nov_2026).is_err());
        assert!(card_expiry("e", "1/27", nov_2026).is_err());
        assert!(card_expiry("e", "01/2027", nov_2026).is_err());
    }

    #[test]
    fn emails_phones_urls() {
        assert!(email("e", "jane@example.com").is_ok());
        for bad in [
            "jane",
            "jane@",
            "@x.com",
            "jane@example",
            "ja ne@x.com",
            "a@b@c.com",
            "a@x..com",
        ] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
        assert!(phone("p", "256712345678").is_ok());
        for bad in ["+256712345678", "0712345678", "2567 1234567", "123"] {
            assert!(phone("p", bad).is_err(), "{bad}");
        }
        assert!(url("u", "https://a.example/x?y=1", true).is_ok());
        assert!(url("u", "http://a.example/x", true).is_err());
        assert!(url("u", "http://localhost:3000/return", false).is_ok());
        assert!(url("u", "/relative", false).is_err());
    }
}
