//! RomplHub webhooks (unsigned; `parse` is the whole receiving path): any body parses to an
//! event or a typed `InvalidBody`, never a panic, and the accessors hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(event) = romplhub::webhook::parse(body) {
        let _ = (
            event.event_type(),
            event.order(),
            event.order_uid(),
            event.claimed_status(),
        );
    }
});
