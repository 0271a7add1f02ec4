//! `payout_core::Timestamp`: what is interpreted and what is only kept, serde byte for byte,
//! order agreeing with equality, the decode hot path's allocations, and round trips through
//! the formatter (proptest).

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use payout_core::{ErrorKind, Timestamp};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

const JAN_1_2024: i64 = 1_704_067_200;

fn instant(text: &str) -> Option<(i64, u32, i32)> {
    let t = Timestamp::parse(text);
    assert_eq!(t.as_str(), text, "the text is always kept");
    assert_eq!(t.is_parsed(), t.unix_seconds().is_some());
    Some((t.unix_seconds()?, t.subsec_nanos()?, t.utc_offset_seconds()?))
}

// ---------------------------------------------------------------------------------------------
// Interpreted
// ---------------------------------------------------------------------------------------------

#[test]
fn utc_z_and_its_lowercase() {
    assert_eq!(instant("2024-01-01T00:00:00Z"), Some((JAN_1_2024, 0, 0)));
    assert_eq!(instant("2024-01-01t00:00:00z"), Some((JAN_1_2024, 0, 0)));
    assert_eq!(instant("2024-01-01 00:00:00Z"), Some((JAN_1_2024, 0, 0)));
}

#[test]
fn offsets_east_west_and_unknown() {
    assert_eq!(
        instant("2024-01-01T05:30:00+05:30"),
        Some((JAN_1_2024, 0, 19_800))
    );
    assert_eq!(
        instant("2023-12-31T19:00:00-05:00"),
        Some((JAN_1_2024, 0, -18_000))
    );
    // RFC 3339 §4.3: "-00:00" is UTC with the local offset unknown.
    assert_eq!(instant("2024-01-01T00:00:00-00:00"), Some((JAN_1_2024, 0, 0)));
    assert_eq!(instant("2024-01-01T00:00:00+00:00"), Some((JAN_1_2024, 0, 0)));
    assert_eq!(
        instant("2024-01-01T23:59:00+23:59"),
        Some((JAN_1_2024, 0, 86_340))
    );
    assert_eq!(
        instant("2023-12-31T00:01:00-23:59"),
        Some((JAN_1_2024, 0, -86_340))
    );
}

#[test]
fn fractions_of_one_to_nine_digits() {
    let cases = [
        ("2024-01-01T00:00:00.1Z", 100_000_000),
        ("2024-01-01T00:00:00.12Z", 120_000_000),
        ("2024-01-01T00:00:00.123Z", 123_000_000),
        ("2024-01-01T00:00:00.1234Z", 123_400_000),
        ("2024-01-01T00:00:00.12345Z", 123_450_000),
        ("2024-01-01T00:00:00.123456Z", 123_456_000),
        ("2024-01-01T00:00:00.1234567Z", 123_456_700),
        ("2024-01-01T00:00:00.12345678Z", 123_456_780),
        ("2024-01-01T00:00:00.123456789Z", 123_456_789),
        ("2024-01-01T00:00:00.000Z", 0),
        ("2024-01-01T00:00:00.000000001Z", 1),
    ];
    for (text, nanos) in cases {
        assert_eq!(instant(text), Some((JAN_1_2024, nanos, 0)), "{text}");
    }
}

#[test]
fn fractions_longer_than_nine_digits_are_truncated_to_nanoseconds() {
    assert_eq!(
        instant("2024-01-01T00:00:00.1234567899Z"),
        Some((JAN_1_2024, 123_456_789, 0))
    );
    assert_eq!(
        instant("2024-01-01T00:00:00.999999999999999999999+00:00"),
        Some((JAN_1_2024, 999_999_999, 0))
    );
}

#[test]
fn the_epoch_and_before_it() {
    assert_eq!(instant("1970-01-01T00:00:00Z"), Some((0, 0, 0)));
    assert_eq!(instant("1969-12-31T23:59:59Z"), Some((-1, 0, 0)));
    // Half a second before the epoch: the second rounds down, the nanoseconds count forward.
    assert_eq!(instant("1969-12-31T23:59:59.5Z"), Some((-1, 500_000_000, 0)));
    assert_eq!(
        Timestamp::parse("1969-12-31T23:59:59.5Z").unix_millis(),
        Some(-500)
    );
    assert_eq!(instant("1900-01-01T00:00:00Z"), Some((-2_208_988_800, 0, 0)));
    assert_eq!(instant("0000-01-01T00:00:00Z"), Some((-62_167_219_200, 0, 0)));
}

#[test]
fn the_last_second_of_9999() {
    assert_eq!(instant("9999-12-31T23:59:59Z"), Some((253_402_300_799, 0, 0)));
    assert_eq!(
        instant("9999-12-31T23:59:59.999999999Z"),
        Some((253_402_300_799, 999_999_999, 0))
    );
}

#[test]
fn february_29_only_in_leap_years() {
    assert!(Timestamp::parse("2024-02-29T00:00:00Z").is_parsed());
    assert!(Timestamp::parse("2000-02-29T00:00:00Z").is_parsed()); // divisible by 400
    assert!(Timestamp::parse("0000-02-29T00:00:00Z").is_parsed());
    assert!(!Timestamp::parse("2023-02-29T00:00:00Z").is_parsed());
    assert!(!Timestamp::parse("1900-02-29T00:00:00Z").is_parsed()); // divisible by 100
    assert!(!Timestamp::parse("2100-02-29T00:00:00Z").is_parsed());
    assert!(!Timestamp::parse("2024-02-30T00:00:00Z").is_parsed());
    assert_eq!(
        instant("2000-03-01T00:00:00Z").map(|i| i.0).unwrap()
            - instant("2000-02-28T00:00:00Z").map(|i| i.0).unwrap(),
        2 * 86_400
    );
}

#[test]
fn a_leap_second_is_the_last_instant_of_its_minute() {
    assert_eq!(
        instant("2016-12-31T23:59:60Z"),
        Some((1_483_228_799, 999_999_999, 0))
    );
    assert_eq!(
        instant("2016-12-31T23:59:60.5Z"),
        Some((1_483_228_799, 999_999_999, 0))
    );
    // Never before a real :59.
    assert!(Timestamp::parse("2016-12-31T23:59:59.9Z") < Timestamp::parse("2016-12-31T23:59:60Z"));
    assert!(!Timestamp::parse("2016-12-31T23:59:61Z").is_parsed());
}

#[test]
fn provider_examples_are_interpreted() {
    // xRocket Pay (API docs, "InvoiceDto"), Agent Catalog (API docs, "Timestamps").
    assert_eq!(
        Timestamp::parse("2025-06-26T12:00:00.000Z").unix_millis(),
        Some(1_750_939_200_000)
    );
    assert_eq!(
        Timestamp::parse("2024-11-01T10:00:00Z").unix_seconds(),
        Some(1_730_455_200)
    );
}

// ---------------------------------------------------------------------------------------------
// Kept, not interpreted
// ---------------------------------------------------------------------------------------------

#[test]
fn text_that_is_not_rfc3339_with_an_offset_is_kept_without_an_instant() {
    let cases = [
        "2024-01-01T00:00:00",          // no offset: the zone is unknown
        "2024-01-01 10:00:00",          // no offset
        "2024-01-01T00:00:00.123",      // no offset
        "2024-01-01",                   // a date alone
        "2024-13-01T00:00:00Z",         // month 13
        "2024-00-01T00:00:00Z",         // month 0
        "2024-04-31T00:00:00Z",         // April has 30 days
        "2024-01-00T00:00:00Z",         // day 0
        "2024-01-01T24:00:00Z",         // hour 24
        "2024-01-01T00:60:00Z",         // minute 60
        "2024-01-01T00:00:00+24:00",    // offset hours
        "2024-01-01T00:00:00+05:60",    // offset minutes
        "2024-01-01T00:00:00+0530",     // offset without colon
        "2024-01-01T00:00:00+05",       // offset without minutes
        "2024-01-01T00:00:00.Z",        // empty fraction
        "2024-01-01T00:00:00,5Z",       // comma fraction
        "2024-01-01T00:00Z",            // no seconds
        "2024-01-01X00:00:00Z",         // separator
        "2024-1-01T00:00:00Z",          // one-digit month
        "24-01-01T00:00:00Z",           // two-digit year
        "12024-01-01T00:00:00Z",        // five-digit year
        "-0001-01-01T00:00:00Z",        // negative year
        "2024-01-01T00:00:00Zjunk",     // trailing text
        "2024-01-01T00:00:00Z ",        // trailing space
        " 2024-01-01T00:00:00Z",        // leading space
        "2024-01-01T00:00:00+05:30:00", // seconds in the offset
        "２０２４-01-01T00:00:00Z",     // fullwidth digits
        "2024-01-01T00:00:00\u{0664}Z", // Arabic-Indic digit
        "2024-01-01T0٠:00:00Z",
        "",
        "garbage",
        "null",
        "1704067200",
        "Mon, 01 Jan 2024 00:00:00 GMT",
    ];
    for text in cases {
        let t = Timestamp::parse(text);
        assert!(!t.is_parsed(), "`{text}` must not be interpreted");
        assert_eq!(t.as_str(), text);
        assert_eq!(t.unix_seconds(), None);
        assert_eq!(t.unix_millis(), None);
        assert_eq!(t.subsec_nanos(), None);
        assert_eq!(t.utc_offset_seconds(), None);
        assert_eq!(t.to_system_time(), None);
        assert!(Timestamp::try_parse(text).is_err(), "`{text}`");
    }
}

#[test]
fn try_parse_names_the_rule_and_the_reason_never_the_text() {
    let cases = [
        ("2023-05-06T07:08:09", "no UTC offset"),
        ("2024-13-01T00:00:00Z", "month must be 01 to 12"),
        ("2024-04-31T00:00:00Z", "no such day in that month"),
        ("2024-01-01T24:00:00Z", "hour must be 00 to 23"),
        ("2024-01-01T00:00:00+24:00", "the offset must be Z or ±HH:MM"),
        ("2024-01-01T00:00:00Zjunk", "unexpected text after the offset"),
        ("secret-1234", "expected YYYY-MM-DD"),
    ];
    for (text, reason) in cases {
        let e = Timestamp::try_parse(text).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.starts_with("must be an RFC 3339 date-time with an offset, e.g. 2024-01-01T00:00:00Z ("),
            "{shown}"
        );
        assert!(e.reason().starts_with(reason), "`{text}`: {}", e.reason());
        assert!(!shown.contains(text), "{shown}");
    }
    let ok = Timestamp::try_parse("2024-01-01T00:00:00Z").unwrap();
    assert_eq!(ok, Timestamp::parse("2024-01-01T00:00:00Z"));
}

#[test]
fn check_refuses_an_uninterpreted_value_naming_provider_field_and_rule() {
    let good = Timestamp::parse("2024-01-01T00:00:00+05:30");
    assert_eq!(
        good.check("xrocket", "fromDate").unwrap(),
        "2024-01-01T00:00:00+05:30"
    );

    let e = Timestamp::parse("2024-01-01 00:00:00")
        .check("xrocket", "fromDate")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.field(), Some("fromDate"));
    assert!(!e.was_sent());
    assert_eq!(
        e.to_string(),
        "xrocket: invalid input: `fromDate` must be an RFC 3339 date-time with an offset, \
         e.g. 2024-01-01T00:00:00Z (no UTC offset: add Z or ±HH:MM; a local time names no instant) \
         (nothing was sent)"
    );
    // An integer kept from JSON is refused too.
    let n: Timestamp = serde_json::from_str("1704067200").unwrap();
    assert_eq!(
        n.check("rohopay", "created_at").unwrap_err().field(),
        Some("created_at")
    );
}

// ---------------------------------------------------------------------------------------------
// Made from an instant
// ---------------------------------------------------------------------------------------------

#[test]
fn from_unix_writes_utc_with_the_shortest_exact_fraction() {
    let f = |s, n| Timestamp::from_unix(s, n).unwrap().as_str().to_owned();
    assert_eq!(f(JAN_1_2024, 0), "2024-01-01T00:00:00Z");
    assert_eq!(f(JAN_1_2024, 500_000_000), "2024-01-01T00:00:00.500Z");
    assert_eq!(f(JAN_1_2024, 123_000_000), "2024-01-01T00:00:00.123Z");
    assert_eq!(f(JAN_1_2024, 123_456_000), "2024-01-01T00:00:00.123456Z");
    assert_eq!(f(JAN_1_2024, 1_000), "2024-01-01T00:00:00.000001Z");
    assert_eq!(f(JAN_1_2024, 123_456_789), "2024-01-01T00:00:00.123456789Z");
    assert_eq!(f(JAN_1_2024, 1), "2024-01-01T00:00:00.000000001Z");
    assert_eq!(f(0, 0), "1970-01-01T00:00:00Z");
    assert_eq!(f(-1, 999_999_999), "1969-12-31T23:59:59.999999999Z");
    assert_eq!(f(-62_167_219_200, 0), "0000-01-01T00:00:00Z");
    assert_eq!(f(253_402_300_799, 999_999_999), "9999-12-31T23:59:59.999999999Z");
    assert_eq!(Timestamp::from_unix(-62_167_219_201, 0), None);
    assert_eq!(Timestamp::from_unix(253_402_300_800, 0), None);
    assert_eq!(Timestamp::from_unix(0, 1_000_000_000), None);
    assert_eq!(Timestamp::from_unix(i64::MIN, 0), None);
    assert_eq!(Timestamp::from_unix(i64::MAX, 0), None);
    let t = Timestamp::from_unix(JAN_1_2024, 0).unwrap();
    assert_eq!(t.utc_offset_seconds(), Some(0));
}

#[test]
fn from_unix_millis_always_writes_three_digits() {
    let t = Timestamp::from_unix_millis(1_750_939_200_000).unwrap();
    assert_eq!(t.as_str(), "2025-06-26T12:00:00.000Z");
    assert_eq!(
        Timestamp::from_unix_millis(1_750_939_200_120).unwrap().as_str(),
        "2025-06-26T12:00:00.120Z"
    );
    assert_eq!(
        Timestamp::from_unix_millis(-1).unwrap().as_str(),
        "1969-12-31T23:59:59.999Z"
    );
    assert_eq!(Timestamp::from_unix_millis(-1).unwrap().unix_millis(), Some(-1));
    assert_eq!(Timestamp::from_unix_millis(i64::MAX), None);
    assert_eq!(Timestamp::from_unix_millis(i64::MIN), None);
}

#[test]
fn system_time_both_sides_of_the_epoch() {
    let after = UNIX_EPOCH + Duration::new(JAN_1_2024 as u64, 250_000_000);
    let t = Timestamp::from(after);
    assert_eq!(t.as_str(), "2024-01-01T00:00:00.250Z");
    assert_eq!(t.to_system_time(), Some(after));

    let before = UNIX_EPOCH - Duration::from_millis(1_500);
    let t = Timestamp::from(before);
    assert_eq!(t.as_str(), "1969-12-31T23:59:58.500Z");
    assert_eq!(t.unix_seconds(), Some(-2));
    assert_eq!(t.to_system_time(), Some(before));

    let t = Timestamp::from(UNIX_EPOCH - Duration::from_secs(86_400));
    assert_eq!(t.as_str(), "1969-12-31T00:00:00Z");
}

#[test]
fn now_is_now_and_now_millis_has_three_digits() {
    let before = SystemTime::now() - Duration::from_secs(1);
    let now = Timestamp::now();
    let ms = Timestamp::now_millis();
    let after = SystemTime::now() + Duration::from_secs(1);
    for t in [&now, &ms] {
        let st = t.to_system_time().unwrap();
        assert!(before <= st && st <= after, "{t}");
        assert!(t.as_str().ends_with('Z'));
    }
    let s = ms.as_str();
    assert_eq!(s.len(), "2024-01-01T00:00:00.000Z".len(), "{s}");
    assert_eq!(&s[19..20], ".");
    assert_eq!(ms.subsec_nanos().unwrap() % 1_000_000, 0);
}

// ---------------------------------------------------------------------------------------------
// Display, Debug, equality and order
// ---------------------------------------------------------------------------------------------

#[test]
fn display_is_the_text_and_debug_names_the_type() {
    let t = Timestamp::parse("2024-01-01T00:00:00.000Z");
    assert_eq!(t.to_string(), "2024-01-01T00:00:00.000Z");
    assert_eq!(format!("{t:?}"), r#"Timestamp("2024-01-01T00:00:00.000Z")"#);
    assert_eq!(format!("{:?}", Timestamp::parse("x")), r#"Timestamp("x")"#);
    assert_eq!(t.clone().into_string(), "2024-01-01T00:00:00.000Z");
    assert_eq!(AsRef::<str>::as_ref(&t), t.as_str());
    assert_eq!(Timestamp::from("a"), Timestamp::from(String::from("a")));
}

#[test]
fn equality_is_by_text_and_order_by_instant_then_text() {
    let z = Timestamp::parse("2024-01-01T00:00:00Z");
    let ms = Timestamp::parse("2024-01-01T00:00:00.000Z");
    let ist = Timestamp::parse("2024-01-01T05:30:00+05:30");
    let later = Timestamp::parse("2024-01-01T00:00:00.001Z");
    let earlier = Timestamp::parse("2023-12-31T23:59:59Z");
    let raw_a = Timestamp::parse("a");
    let raw_b = Timestamp::parse("b");

    // Same instant, different text: not equal, but ordered next to each other.
    assert_ne!(z, ms);
    assert_eq!(z.unix_seconds(), ms.unix_seconds());
    let mut all = vec![
        raw_b.clone(),
        later.clone(),
        ist.clone(),
        raw_a.clone(),
        ms.clone(),
        earlier.clone(),
        z.clone(),
    ];
    all.sort();
    // Same instant: by text (`.` sorts before `Z`, `0` before `2`).
    assert_eq!(all, vec![earlier, ms, z.clone(), ist, later, raw_a, raw_b]);

    let set: HashSet<Timestamp> = [z.clone(), Timestamp::parse("2024-01-01T00:00:00Z")].into();
    assert_eq!(set.len(), 1);
    assert_eq!(z.cmp(&z.clone()), std::cmp::Ordering::Equal);
}

// ---------------------------------------------------------------------------------------------
// Serde
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Invoice {
    #[serde(rename = "createdAt")]
    created_at: Timestamp,
    #[serde(rename = "expiresAt", default)]
    expires_at: Option<Timestamp>,
}

#[test]
fn serde_round_trip_is_byte_exact_parsed_or_not() {
    for json in [
        r#"{"createdAt":"2025-06-26T12:00:00.000Z","expiresAt":"2025-06-26T12:10:00+03:00"}"#,
        r#"{"createdAt":"2025-06-26 12:00:00","expiresAt":"soon"}"#,
        r#"{"createdAt":"2025-06-26T12:00:00.1234567890123Z","expiresAt":null}"#,
        r#"{"createdAt":"","expiresAt":"2024-01-01t00:00:00z"}"#,
        r#"{"createdAt":"caf\u00e9 \"quoted\"","expiresAt":null}"#,
    ] {
        let inv: Invoice = serde_json::from_str(json).unwrap();
        let back = serde_json::to_string(&inv).unwrap();
        let again: Invoice = serde_json::from_str(&back).unwrap();
        assert_eq!(again, inv, "{json}");
        if !json.contains('\\') {
            assert_eq!(back, json);
        }
    }
    let escaped: Invoice = serde_json::from_str(r#"{"createdAt":"2024-01-01T00:00:00\u005A"}"#).unwrap();
    assert_eq!(escaped.created_at.unix_seconds(), Some(JAN_1_2024));
}

#[test]
fn null_and_absent_are_none_through_option() {
    let inv: Invoice = serde_json::from_str(r#"{"createdAt":"x","expiresAt":null}"#).unwrap();
    assert_eq!(inv.expires_at, None);
    let inv: Invoice = serde_json::from_str(r#"{"createdAt":"x"}"#).unwrap();
    assert_eq!(inv.expires_at, None);
    // Without Option, null is an error naming what was expected.
    let e = serde_json::from_str::<Invoice>(r#"{"createdAt":null}"#).unwrap_err();
    assert!(e.to_string().contains("a date-time string"), "{e}");
}

#[test]
fn a_number_decodes_and_is_kept_as_its_text_without_an_instant() {
    let cases = [
        ("1704067200", "1704067200"),
        ("1704067200000", "1704067200000"),
        ("-5", "-5"),
        ("18446744073709551615", "18446744073709551615"),
        ("1704067200.5", "1704067200.5"),
    ];
    for (json, text) in cases {
        let t: Timestamp = serde_json::from_str(json).unwrap();
        assert_eq!(t.as_str(), text);
        assert!(!t.is_parsed());
        let inv: Invoice = serde_json::from_str(&format!(r#"{{"createdAt":{json}}}"#)).unwrap();
        assert_eq!(inv.created_at.as_str(), text);
    }
    // Other JSON types are refused.
    for json in ["true", "{}", "[]"] {
        assert!(serde_json::from_str::<Timestamp>(json).is_err(), "{json}");
    }
}

#[test]
fn decoding_allocates_exactly_what_an_option_string_did() {
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Old {
        created_at: Option<String>,
        id: u64,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct New {
        created_at: Option<Timestamp>,
        id: u64,
    }
    for body in [
        br#"{"id":1,"created_at":"2025-06-26T12:00:00.000Z"}"#.as_slice(),
        br#"{"id":1,"created_at":"2025-06-26 12:00:00"}"#.as_slice(),
        br#"{"id":1,"created_at":"2025-06-26T12:00:00\u002e000Z"}"#.as_slice(),
        br#"{"id":1,"created_at":null}"#.as_slice(),
    ] {
        let old = allocation_counter::measure(|| {
            let v: Old = serde_json::from_slice(body).unwrap();
            std::hint::black_box(v);
        });
        let new = allocation_counter::measure(|| {
            let v: New = serde_json::from_slice(body).unwrap();
            std::hint::black_box(v);
        });
        assert_eq!(
            new.count_total,
            old.count_total,
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(new.bytes_total, old.bytes_total);
    }
}

// ---------------------------------------------------------------------------------------------
// Feature conversions
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "jiff")]
#[test]
fn jiff_conversions_keep_the_instant() {
    let t = Timestamp::parse("2024-01-01T05:30:00.123456789+05:30");
    let j = t.to_jiff().unwrap();
    assert_eq!(j.as_second(), JAN_1_2024);
    assert_eq!(j.subsec_nanosecond(), 123_456_789);
    assert_eq!(j.to_string(), "2024-01-01T00:00:00.123456789Z");
    let back = Timestamp::from(j);
    assert_eq!(back.as_str(), "2024-01-01T00:00:00.123456789Z");

    let before: jiff::Timestamp = "1969-12-31T23:59:59.5Z".parse().unwrap();
    assert_eq!(Timestamp::from(before).as_str(), "1969-12-31T23:59:59.500Z");
    assert_eq!(Timestamp::from(before).to_jiff(), Some(before));
    // jiff reaches back to year -9999, which has no instant here; its MAX is in year 9999.
    let min = Timestamp::from(jiff::Timestamp::MIN);
    assert!(!min.is_parsed());
    assert!(min.as_str().starts_with("-9999-"), "{min}");
    let max = Timestamp::from(jiff::Timestamp::MAX);
    assert_eq!(max.to_jiff(), Some(jiff::Timestamp::MAX));
    assert_eq!(Timestamp::parse("x").to_jiff(), None);
}

#[cfg(feature = "time")]
#[test]
fn time_conversions_keep_the_instant_and_the_offset() {
    let t = Timestamp::parse("2024-01-01T05:30:00.5+05:30");
    let odt = t.to_offset_date_time().unwrap();
    assert_eq!(odt.unix_timestamp(), JAN_1_2024);
    assert_eq!(odt.nanosecond(), 500_000_000);
    assert_eq!(odt.offset().whole_seconds(), 19_800);
    assert_eq!(odt.hour(), 5);
    assert_eq!(Timestamp::from(odt).as_str(), "2024-01-01T00:00:00.500Z");

    // The first local time of year 0000 east of UTC is an instant in year -1.
    let t = Timestamp::parse("0000-01-01T00:00:00+23:59");
    assert!(t.unix_seconds().unwrap() < -62_167_219_200);
    let min = t.to_offset_date_time().unwrap();
    assert_eq!(
        (min.year(), min.hour(), min.offset().whole_minutes()),
        (0, 0, 23 * 60 + 59)
    );
    assert_eq!(Timestamp::from(min).as_str(), "-0001-12-31T00:01:00Z");
    let pre = time::OffsetDateTime::from_unix_timestamp(-1).unwrap();
    assert_eq!(Timestamp::from(pre).as_str(), "1969-12-31T23:59:59Z");
    assert_eq!(Timestamp::parse("x").to_offset_date_time(), None);
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const MIN_UNIX: i64 = -62_167_219_200;
const MAX_UNIX: i64 = 253_402_300_799;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn from_unix_then_parse_gives_back_the_instant(
        secs in MIN_UNIX..=MAX_UNIX,
        nanos in prop_oneof![Just(0u32), (0u32..1000).prop_map(|m| m * 1_000_000), 0u32..1_000_000_000],
    ) {
        let t = Timestamp::from_unix(secs, nanos).unwrap();
        let again = Timestamp::parse(t.as_str());
        prop_assert_eq!(again.unix_seconds(), Some(secs));
        prop_assert_eq!(again.subsec_nanos(), Some(nanos));
        prop_assert_eq!(again.utc_offset_seconds(), Some(0));
        prop_assert_eq!(&again, &t);
        prop_assert_eq!(again.cmp(&t), std::cmp::Ordering::Equal);
        prop_assert_eq!(Timestamp::from(t.to_system_time().unwrap()), t);
    }

    #[test]
    fn from_unix_millis_then_parse_gives_back_the_millis(ms in MIN_UNIX * 1000..=MAX_UNIX * 1000 + 999) {
        let t = Timestamp::from_unix_millis(ms).unwrap();
        prop_assert_eq!(t.as_str().len(), 24);
        prop_assert_eq!(Timestamp::parse(t.as_str()).unix_millis(), Some(ms));
    }

    #[test]
    fn an_offset_moves_the_text_not_the_instant(
        secs in MIN_UNIX + 86_400..=MAX_UNIX - 86_400,
        offset_min in -(23 * 60 + 59)..=(23i32 * 60 + 59),
    ) {
        // Write the UTC instant's local time at the offset, then read it back.
        let local = Timestamp::from_unix(secs + i64::from(offset_min) * 60, 0).unwrap();
        let sign = if offset_min < 0 { '-' } else { '+' };
        let m = offset_min.unsigned_abs();
        let text = format!("{}{sign}{:02}:{:02}", &local.as_str()[..19], m / 60, m % 60);
        let t = Timestamp::parse(text.as_str());
        prop_assert_eq!(t.unix_seconds(), Some(secs), "{}", text);
        prop_assert_eq!(t.utc_offset_seconds(), Some(offset_min * 60));
    }

    #[test]
    fn parse_never_panics_and_agrees_with_try_parse(text in "\\PC{0,40}") {
        let t = Timestamp::parse(text.as_str());
        prop_assert_eq!(t.as_str(), text.as_str());
        prop_assert_eq!(Timestamp::try_parse(&text).is_ok(), t.is_parsed());
        let _ = t.to_system_time();
    }

    #[test]
    fn parse_never_panics_on_near_misses(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?([Zz]|[+-][0-9]{2}:[0-9]{2})?") {
        let t = Timestamp::parse(text.as_str());
        if let Some(secs) = t.unix_seconds() {
            prop_assert!((MIN_UNIX - 86_400..=MAX_UNIX + 86_400).contains(&secs));
        }
    }

    #[test]
    fn order_agrees_with_equality(a in "\\PC{0,30}", b in "\\PC{0,30}", s in MIN_UNIX..=MAX_UNIX) {
        let c = Timestamp::from_unix(s, 0).unwrap();
        for (x, y) in [(&a, &b), (&a, &a)] {
            let (x, y) = (Timestamp::parse(x.as_str()), Timestamp::parse(y.as_str()));
            prop_assert_eq!(x.cmp(&y) == std::cmp::Ordering::Equal, x == y);
            prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
            prop_assert_eq!(x.cmp(&c) == std::cmp::Ordering::Equal, x == c);
        }
    }
}

/// Every day at noon UTC of three 400-year windows (a full Gregorian cycle each: the first, the
/// one around now, the last): written, read back to the same instant, and each written date is
/// the calendar's next day. (The calendar arithmetic itself is checked on every day of
/// 0000-9999 by the unit test `every_day_from_0000_to_9999_converts_both_ways`.)
#[test]
fn every_day_of_three_gregorian_cycles_round_trips() {
    for (first_year, days) in [(0i64, 146_097i64), (1800, 146_097), (9600, 146_097)] {
        let start = Timestamp::parse(format!("{first_year:04}-01-01T12:00:00Z"))
            .unix_seconds()
            .unwrap();
        let mut prev: Option<(u32, u32, u32)> = None;
        for i in 0..days {
            let secs = start + i * 86_400;
            let t = Timestamp::from_unix(secs, 0).unwrap();
            let s = t.as_str();
            let y: u32 = s[0..4].parse().unwrap();
            let m: u32 = s[5..7].parse().unwrap();
            let d: u32 = s[8..10].parse().unwrap();
            assert_eq!(&s[10..], "T12:00:00Z");
            if let Some((py, pm, pd)) = prev {
                let next = if d == 1 {
                    if m == 1 { (py + 1, 1, 1) } else { (py, pm + 1, 1) }
                } else {
                    (py, pm, pd + 1)
                };
                assert_eq!((y, m, d), next, "{s}");
                if d == 1 {
                    // The previous day was the last of its month.
                    let past_end = format!("{py:04}-{pm:02}-{:02}T00:00:00Z", pd + 1);
                    assert!(!Timestamp::parse(past_end).is_parsed());
                }
            }
            assert_eq!(Timestamp::parse(s).unix_seconds(), Some(secs));
            prev = Some((y, m, d));
        }
        let last_year = u32::try_from(first_year + 399).unwrap();
        assert_eq!(prev, Some((last_year, 12, 31)));
    }
}
