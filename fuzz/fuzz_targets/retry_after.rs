//! `Retry-After` parsing: any header value, against several clocks. Nothing may panic, and
//! what parses must be a wait the transport can actually sleep.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use payout_core::retry::parse_retry_after;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    for now in [
        UNIX_EPOCH,
        UNIX_EPOCH + Duration::from_secs(1_764_547_200), // 2025-12-01
        SystemTime::now(),
    ] {
        if let Some(wait) = parse_retry_after(value, now) {
            // An HTTP-date has a 4-digit year (RFC 9110 §5.6.7), so no date is more than
            // 10,000 years away; a plain number of seconds is taken as sent.
            if value.trim().parse::<f64>().is_err() {
                assert!(
                    wait <= Duration::from_secs(10_000 * 366 * 86_400),
                    "`{value}` parsed to an absurd wait {wait:?}"
                );
            }
            // The transport adds the wait to `Instant::now()` via `tokio::time::sleep`.
            let _ = tokio::time::Instant::now().checked_add(wait);
        }
    }
});
