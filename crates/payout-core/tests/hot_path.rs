//! Hot-path rules of the transport that are about behaviour rather than allocations (those
//! are in `alloc.rs`), one per test:
//!
//! * the request id header names are parsed once per transport; the lookup still finds the
//!   provider's header in any case, then `x-request-id`, then `request-id`;
//! * an attempt has one timer, at the earlier of the call's deadline and the attempt's own
//!   limit (the clock is read once when the attempt starts).

use std::sync::Arc;
use std::time::{Duration, Instant};

use httpmock::prelude::*;
use payout_core::reqwest::header::HeaderMap;
use payout_core::{
    AuthScheme, ClientOptions, ErrorInfo, ErrorKind, Request, RetryPolicy, Transport, TransportConfig,
};

fn transport(base: &str, request_id_headers: &'static [&'static str], options: ClientOptions) -> Transport {
    Transport::new(TransportConfig {
        provider: "hotpay",
        version: "0",
        base_url: base.to_string(),
        credential: None,
        auth: AuthScheme::None,
        request_id_headers,
        error_decoder: Arc::new(|_: u16, _: &HeaderMap, _: &[u8]| ErrorInfo::default()),
        options,
    })
    .unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn request_id_names_are_parsed_once_and_still_found_in_order_and_any_case() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/both");
        then.status(200)
            .header("X-HotPay-Trace", "ours")
            .header("x-request-id", "generic")
            .body("{}");
    });
    server.mock(|when, then| {
        when.method(GET).path("/generic");
        then.status(200)
            .header("x-request-id", "generic")
            .header("request-id", "last")
            .body("{}");
    });
    server.mock(|when, then| {
        when.method(GET).path("/last");
        then.status(200).header("request-id", "last").body("{}");
    });
    server.mock(|when, then| {
        when.method(GET).path("/none");
        then.status(200).body("{}");
    });
    let rt = rt();
    // Configured in mixed case, and one name that is not a valid header name at all (it can
    // never match, and must not stop the others from being looked up).
    let t = transport(
        &server.base_url(),
        &["bad name", "X-HotPay-Trace"],
        ClientOptions::default(),
    );
    let id = |path: &'static str| {
        rt.block_on(t.send(Request::get("probe", "/probe").path(path)))
            .unwrap()
            .request_id()
            .map(str::to_string)
    };
    assert_eq!(
        id("/both").as_deref(),
        Some("ours"),
        "the provider's header first"
    );
    assert_eq!(id("/generic").as_deref(), Some("generic"), "then x-request-id");
    assert_eq!(id("/last").as_deref(), Some("last"), "then request-id");
    assert_eq!(id("/none"), None);
}

/// Sends one GET to a server that answers after 3 s and returns how long the call took and
/// what it failed with.
fn timed_out_after(options: ClientOptions) -> (Duration, ErrorKind) {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/slow");
        then.status(200).delay(Duration::from_secs(3)).body("{}");
    });
    let rt = rt();
    let t = transport(&server.base_url(), &[], options.retry_policy(RetryPolicy::none()));
    let start = Instant::now();
    let err = rt
        .block_on(t.send(Request::get("slow", "/slow")))
        .expect_err("the server is slower than every limit here");
    (start.elapsed(), err.kind())
}

#[test]
fn the_attempt_timer_fires_at_the_attempt_limit_when_it_comes_first() {
    let (took, kind) = timed_out_after(
        ClientOptions::default()
            .timeout(Duration::from_secs(20))
            .attempt_timeout(Duration::from_millis(250)),
    );
    assert_eq!(kind, ErrorKind::Timeout);
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(2500),
        "{took:?}"
    );
}

#[test]
fn the_attempt_timer_fires_at_the_call_deadline_when_it_comes_first() {
    let (took, kind) = timed_out_after(
        ClientOptions::default()
            .timeout(Duration::from_millis(300))
            .attempt_timeout(Duration::from_secs(20)),
    );
    assert_eq!(kind, ErrorKind::Timeout);
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(2500),
        "{took:?}"
    );
}
