//! `Timestamp`: any text, any JSON value in a timestamp field, any (seconds, nanoseconds).
//! Nothing panics; the text is always kept; what is interpreted is a real instant that
//! `from_unix` writes and `parse` reads back to the same instant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payout_core::Timestamp;

#[derive(serde::Deserialize, serde::Serialize)]
struct Model {
    #[serde(default)]
    at: Option<Timestamp>,
}

const MIN_UNIX: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
const MAX_UNIX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
const DAY: i64 = 86_400;

fuzz_target!(|input: (i64, u32, &str)| {
    let (secs, nanos, text) = input;

    // Any text: kept as is; interpreted only when try_parse agrees.
    let t = Timestamp::parse(text);
    assert_eq!(t.as_str(), text);
    assert_eq!(Timestamp::try_parse(text).is_ok(), t.is_parsed());
    assert_eq!(t.check("fuzz", "at").is_ok(), t.is_parsed());
    if let (Some(s), Some(n), Some(off)) = (t.unix_seconds(), t.subsec_nanos(), t.utc_offset_seconds()) {
        // A local time in years 0000-9999 at most ±23:59 away from UTC.
        assert!((MIN_UNIX - DAY..=MAX_UNIX + DAY).contains(&s), "`{text}` -> {s}");
        assert!(n < 1_000_000_000);
        assert!(off.abs() < 86_400);
        assert!(t.unix_millis().is_some() && t.to_system_time().is_some());
        if let Some(utc) = Timestamp::from_unix(s, n) {
            let back = Timestamp::parse(utc.as_str());
            assert_eq!((back.unix_seconds(), back.subsec_nanos()), (Some(s), Some(n)), "`{text}`");
            assert_eq!(back.cmp(&t).is_eq(), back == t);
        }
    }

    // The same text in a JSON string field: decodes, and writes back the same text.
    if let Ok(json) = serde_json::to_string(&Model { at: Some(t.clone()) }) {
        let m: Model = serde_json::from_str(&json).expect("our own JSON decodes");
        assert_eq!(m.at.as_ref().map(Timestamp::as_str), Some(text));
    }
    // The text as a raw JSON value in the field: any outcome but a panic.
    let _ = serde_json::from_str::<Model>(&format!(r#"{{"at":{text}}}"#));

    // Any instant: written, read back, equal.
    if let Some(w) = Timestamp::from_unix(secs, nanos) {
        let back = Timestamp::parse(w.as_str());
        assert_eq!((back.unix_seconds(), back.subsec_nanos()), (Some(secs), Some(nanos)));
        assert_eq!(back, w);
    } else {
        assert!(nanos >= 1_000_000_000 || !(MIN_UNIX..=MAX_UNIX).contains(&secs));
    }
    if let Some(w) = Timestamp::from_unix_millis(secs) {
        assert_eq!(Timestamp::parse(w.as_str()).unix_millis(), Some(secs));
    }
});
