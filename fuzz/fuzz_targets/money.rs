//! Money parsing: any text or JSON amount. Nothing panics; what parses round-trips exactly
//! through the wire string and, where it fits, through minor units.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payout_core::money::{decimal_from_f64, fits_precision, from_minor_units, parse_decimal, to_minor_units};
use rust_decimal::Decimal;

#[derive(serde::Deserialize)]
struct Amount {
    #[serde(with = "payout_core::money::decimal")]
    #[allow(dead_code)]
    a: Decimal,
    #[serde(with = "payout_core::money::option_decimal", default)]
    #[allow(dead_code)]
    b: Option<Decimal>,
}

fuzz_target!(|input: (u8, &str)| {
    let (exp, text) = input;
    let exponent = u32::from(exp % 40);
    if let Some(d) = parse_decimal(text) {
        // Wire string: written with its scale, read back to the same value and scale.
        let wire = d.to_string();
        let back = parse_decimal(&wire).expect("our own wire string parses");
        assert_eq!(back, d, "`{text}` -> `{wire}` changed value");
        assert_eq!(back.scale(), d.scale(), "`{text}` -> `{wire}` changed scale");
        // Minor units: exact when they exist, and back to the same amount.
        if let Some(minor) = to_minor_units(d, exponent) {
            assert!(fits_precision(d, exponent));
            let again = from_minor_units(minor, exponent).expect("an exponent to_minor_units took");
            assert_eq!(again, d, "`{text}` at exponent {exponent}: {minor} minor units");
        } else if exponent <= 18 && fits_precision(d, exponent) {
            // Refused only because it does not fit an i64.
            let scaled = d.checked_mul(Decimal::from(10i64.pow(exponent)));
            assert!(scaled.is_none_or(|s| i64::try_from(s.trunc()).is_err()));
        }
        // A JSON string or number of the same text reads the same.
        let _ = serde_json::from_str::<Amount>(&format!(r#"{{"a":"{wire}","b":{wire}}}"#));
    }
    // As a JSON document in a money field: any outcome but a panic.
    let _ = serde_json::from_str::<Amount>(text);
    let _ = serde_json::from_str::<Amount>(&format!(r#"{{"a":{text}}}"#));
    // The float path (JSON numbers arrive as f64 without arbitrary_precision).
    if let Ok(f) = text.trim().parse::<f64>()
        && let Some(d) = decimal_from_f64(f)
    {
        assert_eq!(d.to_string().parse::<f64>().ok(), Some(f), "{f} became {d}");
    }
});
