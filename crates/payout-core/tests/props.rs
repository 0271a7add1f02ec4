//! Property tests of the safety rules (issue 16), plus the named regression tests of what the
//! fuzzers found (`cargo xtask fuzz`; see `docs/reliability.md`).
//!
//! Case counts are small enough for `cargo xtask test`: the pure properties run 256 cases, the
//! ones that go through a real socket 24.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use futures_util::StreamExt;
use payout_core::error::redact_snippet;
use payout_core::money::{self, from_minor_units, parse_decimal, to_minor_units};
use payout_core::pagination::{Page, next_offset, next_page, paginate};
use payout_core::retry::{Decision, Outcome, Stop, decide, parse_retry_after};
use payout_core::{
    AuthScheme, ClientOptions, Decimal, ErrorInfo, ErrorKind, IdempotencyKey, Request, RetryPolicy, Safety,
    SecretString, Transport, TransportConfig,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn safety() -> impl Strategy<Value = Safety> {
    prop_oneof![
        Just(Safety::Idempotent),
        Just(Safety::KeyProtected),
        Just(Safety::Unprotected)
    ]
}

fn duration(max_ms: u64) -> impl Strategy<Value = Duration> {
    prop_oneof![
        4 => (0..=max_ms).prop_map(Duration::from_millis),
        1 => Just(Duration::ZERO),
        1 => Just(Duration::from_secs(u64::MAX / 4)),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::NotSent),
        Just(Outcome::TimedOut),
        Just(Outcome::Interrupted),
        (
            prop_oneof![
                Just(429u16),
                Just(500),
                Just(502),
                Just(503),
                Just(504),
                100u16..=599,
                600u16..=999
            ],
            proptest::option::of(duration(120_000)),
        )
            .prop_map(|(status, retry_after)| Outcome::Status { status, retry_after }),
    ]
}

/// A policy with its caps (the fields are private, so the strategy hands them along).
fn policy_with_caps() -> impl Strategy<Value = (RetryPolicy, Duration, Duration)> {
    (
        0u32..6,
        duration(5_000),
        duration(30_000),
        duration(120_000),
        any::<u64>(),
    )
        .prop_map(|(retries, base, max, max_ra, seed)| {
            let p = RetryPolicy::default()
                .max_retries(retries)
                .base_delay(base)
                .max_delay(max)
                .max_retry_after(max_ra)
                .jitter_seed(seed);
            (p, max, max_ra)
        })
}

fn policy() -> impl Strategy<Value = RetryPolicy> {
    policy_with_caps().prop_map(|(p, _, _)| p)
}

/// What may have reached the provider and been processed: after one of these, an unprotected
/// call must never be sent again.
fn may_have_been_processed(o: &Outcome) -> bool {
    match o {
        Outcome::NotSent => false,
        Outcome::TimedOut | Outcome::Interrupted => true,
        // 429 is a refusal before any processing; every other status is a processed answer.
        Outcome::Status { status, .. } => *status != 429,
    }
}

// ---------------------------------------------------------------------------------------------
// retry::decide
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(256) })]

    /// `retry::decide` never sends an `Unprotected` call again once it may have left and been
    /// processed, whatever happened before, however much budget and time are left.
    #[test]
    fn unprotected_calls_are_never_resent_once_they_may_have_been_processed(
        p in policy(),
        outcomes in proptest::collection::vec(outcome(), 1..8),
        jitter in 0.0f64..1.0,
        left in proptest::option::of(duration(600_000)),
    ) {
        // Walk the attempts the way the transport does: stop at the first Stop.
        let mut retries = 0u32;
        for o in &outcomes {
            let d = decide(&p, Safety::Unprotected, o, retries, jitter, left);
            if may_have_been_processed(o) {
                prop_assert!(
                    matches!(d, Decision::Stop(_)),
                    "unprotected call re-sent after {o:?}: {d:?}"
                );
                if !matches!(o, Outcome::Status { .. }) || matches!(o, Outcome::Status { status: 500 | 502 | 503 | 504, .. }) {
                    prop_assert_eq!(d, Decision::Stop(Stop::Ambiguous), "after {:?}", o);
                }
                break;
            }
            match d {
                Decision::Retry(_) => retries += 1,
                Decision::Stop(_) => break,
            }
        }
    }

    /// It never sleeps past the deadline, beyond `max_delay` (backoff) or beyond
    /// `max_retry_after` (a provider's `Retry-After`), and never past its retry budget.
    #[test]
    fn retry_delays_respect_deadline_and_caps(
        (p, max_delay, max_ra) in policy_with_caps(),
        s in safety(),
        o in outcome(),
        retries_done in 0u32..10,
        jitter in 0.0f64..1.0,
        left in proptest::option::of(duration(600_000)),
    ) {
        let d = decide(&p, s, &o, retries_done, jitter, left);
        if let Decision::Retry(wait) = d {
            prop_assert!(retries_done < p.get_max_retries(), "retried past the budget");
            if let Some(left) = left {
                prop_assert!(wait < left, "sleeps {wait:?} with only {left:?} left");
            }
            match &o {
                Outcome::Status { retry_after: Some(ra), .. } => {
                    prop_assert_eq!(wait, *ra, "Retry-After not honoured exactly");
                    prop_assert!(wait <= max_ra, "Retry-After {ra:?} beyond max_retry_after {max_ra:?}");
                }
                _ => prop_assert!(wait <= max_delay, "backoff {wait:?} beyond max_delay {max_delay:?}"),
            }
        }
    }

    /// Any jitter value a caller can pass (the function is public) gives a decision, not a
    /// panic, and the delay stays capped.
    #[test]
    fn decide_accepts_any_jitter_in_range(
        p in policy(),
        s in safety(),
        o in outcome(),
        jitter in prop_oneof![0.0f64..1.0, Just(1.0), Just(-0.0), Just(f64::MIN_POSITIVE)],
    ) {
        let _ = decide(&p, s, &o, 0, jitter, None);
    }

    /// Parsed `Retry-After` values of the documented forms are exact.
    #[test]
    fn retry_after_delta_seconds_and_dates_are_exact(secs in 0u64..10_000_000, now in 0u64..4_000_000_000) {
        let now_t = UNIX_EPOCH + Duration::from_secs(now);
        prop_assert_eq!(parse_retry_after(&secs.to_string(), now_t), Some(Duration::from_secs(secs)));
        let at = now + secs;
        let date = imf_fixdate(at);
        prop_assert_eq!(parse_retry_after(&date, now_t), Some(Duration::from_secs(secs)), "{}", date);
    }
}

/// An IMF-fixdate for `secs` after the epoch.
fn imf_fixdate(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------------------------
// Key-protected retries reuse the key, at the transport level
// ---------------------------------------------------------------------------------------------

/// What the scripted server does with one request.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Status(u16),
    /// A status with this `Retry-After` value.
    StatusRetryAfter(u16, &'static str),
    /// A redirect status with this `Location`.
    Redirect(u16, &'static str),
    /// A status with this JSON body.
    Body(u16, &'static str),
    /// Read the request, then close without answering.
    Drop,
}

/// A loopback server that answers request `i` with `script[i]` (the last entry repeats) and
/// records every request head.
struct Scripted {
    base_url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    fn start(script: Vec<Reply>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let h = heads.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let h = h.clone();
                let script = script.clone();
                std::thread::spawn(move || serve_scripted(conn, &script, &h));
            }
        });
        Scripted { base_url, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn serve_scripted(mut conn: TcpStream, script: &[Reply], heads: &Mutex<Vec<String>>) {
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    loop {
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        };
        let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while data.len() < head_end + 4 + len {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
        let reply = {
            let mut hs = heads.lock().unwrap();
            hs.push(head);
            script[(hs.len() - 1).min(script.len() - 1)]
        };
        match reply {
            Reply::Drop => {
                let _ = conn.shutdown(std::net::Shutdown::Both);
                return;
            }
            Reply::Status(_) | Reply::StatusRetryAfter(..) | Reply::Redirect(..) | Reply::Body(..) => {
                let (s, extra) = match reply {
                    Reply::StatusRetryAfter(s, ra) => (s, format!("retry-after: {ra}\r\n")),
                    Reply::Redirect(s, location) => (s, format!("location: {location}\r\n")),
                    Reply::Status(s) | Reply::Body(s, _) => (s, String::new()),
                    Reply::Drop => unreachable!(),
                };
                let body = match reply {
                    Reply::Body(_, b) => b.as_bytes(),
                    _ => br#"{"code":"X"}"#,
                };
                let resp = format!(
                    "HTTP/1.1 {s} X\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n",
                    body.len()
                );
                if conn.write_all(resp.as_bytes()).is_err() || conn.write_all(body).is_err() {
                    return;
                }
            }
        }
    }
}

fn scripted_transport(base: &str, retries: u32) -> Transport {
    Transport::new(TransportConfig {
        provider: "props",
        version: "0",
        base_url: base.to_string(),
        credential: Some(SecretString::from("sk_props_key_000")),
        auth: AuthScheme::Bearer,
        request_id_headers: &[],
        error_decoder: Arc::new(|_: u16, _: &payout_core::reqwest::header::HeaderMap, _: &[u8]| {
            ErrorInfo::default()
        }),
        options: ClientOptions::default()
            .retry_policy(
                RetryPolicy::default()
                    .max_retries(retries)
                    .base_delay(Duration::from_millis(1))
                    .max_delay(Duration::from_millis(2))
                    .jitter_seed(3),
            )
            .attempt_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20)),
    })
    .unwrap()
}

fn failing_reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        Just(Reply::Status(500)),
        Just(Reply::Status(502)),
        Just(Reply::Status(503)),
        Just(Reply::Status(504)),
        Just(Reply::Status(429)),
        Just(Reply::Drop),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(24) })]

    /// Key-protected retries reuse the key: every attempt the provider sees carries the same
    /// idempotency key and the same body, whatever mix of 5xx, 429 and dropped connections
    /// came before, and the attempts stop at the budget.
    #[test]
    fn key_protected_retries_carry_the_same_key_on_every_attempt(
        key in "[A-Za-z0-9_.:-]{1,64}",
        failures in proptest::collection::vec(failing_reply(), 0..5),
        succeed in any::<bool>(),
        retries in 0u32..5,
        amount in 1u32..100_000,
    ) {
        let mut script = failures.clone();
        script.push(if succeed { Reply::Status(201) } else { failures.last().copied().unwrap_or(Reply::Status(503)) });
        let server = Scripted::start(script);
        let t = scripted_transport(&server.base_url, retries);
        let key = IdempotencyKey::new(key).unwrap();
        let req = Request::post("orders.create", "/orders")
            .json(&serde_json::json!({"amount": amount}))
            .unwrap()
            .idempotency_header("idempotency-key", key.clone());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let result = rt.block_on(t.send(req));
        let heads = server.heads();
        prop_assert!(!heads.is_empty());
        prop_assert!(heads.len() as u32 <= retries + 1, "{} attempts for {retries} retries", heads.len());
        let wanted = format!("idempotency-key: {}", key.as_str().to_ascii_lowercase());
        for (i, h) in heads.iter().enumerate() {
            prop_assert!(h.lines().any(|l| l == wanted), "attempt {} lacks `{}`:\n{}", i + 1, wanted, h);
        }
        match result {
            Ok(resp) => prop_assert_eq!(resp.idempotency_key(), Some(&key)),
            Err(e) => {
                prop_assert_eq!(e.idempotency_key(), Some(&key));
                prop_assert_ne!(e.kind(), ErrorKind::Ambiguous, "a key-protected call is never ambiguous");
                prop_assert!(e.is_retryable(), "repeat with the same key must stay allowed: {e}");
            }
        }
    }

    /// The unprotected counterpart at the transport level: a POST without a key is sent at
    /// most once after anything that may have been processed.
    #[test]
    fn unprotected_post_is_sent_once_after_a_failure_that_may_have_been_processed(
        first in prop_oneof![Just(Reply::Status(500)), Just(Reply::Status(503)), Just(Reply::Drop)],
        retries in 0u32..5,
    ) {
        let server = Scripted::start(vec![first, Reply::Status(201)]);
        let t = scripted_transport(&server.base_url, retries);
        let req = Request::post("payouts.create", "/payouts").json(&serde_json::json!({"a": 1})).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let err = rt.block_on(t.send(req)).unwrap_err();
        prop_assert_eq!(server.heads().len(), 1);
        prop_assert_eq!(err.kind(), ErrorKind::Ambiguous);
    }
}

// ---------------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(256) })]

    /// Offset walks: never the same offset twice, always terminate, and every item is seen
    /// when the provider reports a total (even if it silently caps the page size).
    #[test]
    fn offset_walks_terminate_without_repeats(
        items in 0u64..2_000,
        limit in 1u64..200,
        cap in 1u64..200,
        report_total in any::<bool>(),
        lie in 0u64..50,
    ) {
        let served = cap.min(limit);
        let total = report_total.then_some(items + lie);
        let mut seen = HashSet::new();
        let mut offset = 0u64;
        let mut got = 0u64;
        for _ in 0..10_000 {
            prop_assert!(seen.insert(offset), "offset {offset} requested twice");
            let received = served.min(items.saturating_sub(offset)) as usize;
            got += received as u64;
            match next_offset(offset, limit, received, total) {
                Some(n) => {
                    prop_assert!(n > offset);
                    offset = n;
                }
                None => break,
            }
        }
        prop_assert!(seen.len() < 10_000, "did not terminate");
        if report_total || served == limit {
            prop_assert_eq!(got, items, "items lost");
        }
    }

    /// Page-number walks: never the same page twice, always terminate.
    #[test]
    fn page_walks_terminate_without_repeats(
        items in 0u64..5_000,
        size in 1u32..100,
        report_total in any::<bool>(),
    ) {
        let mut seen = HashSet::new();
        let mut page = 1u32;
        let mut got = 0u64;
        loop {
            prop_assert!(seen.insert(page), "page {page} requested twice");
            prop_assert!(seen.len() <= 10_000, "did not terminate");
            let start = u64::from(page - 1) * u64::from(size);
            let received = u64::from(size).min(items.saturating_sub(start)) as usize;
            got += received as u64;
            match next_page(page, size, received, report_total.then_some(items)) {
                Some(n) => page = n,
                None => break,
            }
        }
        prop_assert_eq!(got, items);
    }

    /// The cursor stream: whatever cursors a provider hands back (including ones that lead
    /// back to an earlier page, A -> B -> A), `paginate` never requests the same position
    /// twice and always ends.
    #[test]
    fn cursor_streams_never_request_a_position_twice_and_end(
        links in proptest::collection::vec(proptest::option::of(0u8..6), 6),
        sizes in proptest::collection::vec(0usize..4, 6),
    ) {
        let requested: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(Vec::new()));
        let r = requested.clone();
        let links2 = links.clone();
        let stream = paginate("props", 0u8, move |pos| {
            let r = r.clone();
            let next = links2[pos as usize];
            let size = sizes[pos as usize];
            async move {
                let mut req = r.lock().unwrap();
                req.push(pos);
                if req.len() > 50 {
                    // Break the loop for the test; the assertion below reports it.
                    return Err(payout_core::Error::new(ErrorKind::Provider, "props", "runaway"));
                }
                Ok(Page { items: vec![pos; size], next, total: None })
            }
        });
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let _: Vec<_> = rt.block_on(stream.collect::<Vec<_>>());
        let req = requested.lock().unwrap().clone();
        let unique: HashSet<u8> = req.iter().copied().collect();
        prop_assert_eq!(unique.len(), req.len(), "positions requested: {:?} (links {:?})", req, links);
    }
}

// ---------------------------------------------------------------------------------------------
// Money
// ---------------------------------------------------------------------------------------------

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..=28, any::<bool>()).prop_map(|(m, scale, wide)| {
        let m = if wide {
            i128::from(m) * 1_000_003
        } else {
            i128::from(m)
        };
        Decimal::from_i128_with_scale(m, scale)
    })
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Wire {
    #[serde(with = "money::decimal")]
    amount: Decimal,
    #[serde(with = "money::option_decimal", default)]
    fee: Option<Decimal>,
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(256) })]

    /// Decimal -> wire string -> Decimal is exact, scale included; so is the serde adapter.
    #[test]
    fn decimals_round_trip_through_wire_strings(d in decimal(), fee in proptest::option::of(decimal())) {
        let wire = d.to_string();
        let back = parse_decimal(&wire).unwrap();
        prop_assert_eq!(back, d);
        prop_assert_eq!(back.scale(), d.scale(), "{}", wire);
        let json = serde_json::to_string(&Wire { amount: d, fee }).unwrap();
        let w: Wire = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(w.amount.to_string(), wire);
        prop_assert_eq!(w.fee.map(|f| f.to_string()), fee.map(|f| f.to_string()));
    }

    /// Minor units -> Decimal -> minor units is exact for every currency exponent an i64
    /// can hold (0..=18), and the Decimal prints with exactly that many places.
    #[test]
    fn minor_units_round_trip(minor in any::<i64>(), exponent in 0u32..=18) {
        let d = from_minor_units(minor, exponent).unwrap();
        prop_assert_eq!(d.scale(), exponent);
        prop_assert_eq!(to_minor_units(d, exponent), Some(minor));
        let wire = d.to_string();
        prop_assert_eq!(to_minor_units(parse_decimal(&wire).unwrap(), exponent), Some(minor), "{}", wire);
    }

    /// An amount with more places than the currency has is refused, never rounded.
    #[test]
    fn extra_precision_is_refused_not_rounded(minor in any::<i32>(), exponent in 0u32..=8, extra in 1i64..10) {
        let d = from_minor_units(i64::from(minor) * 10 + extra, exponent + 1).unwrap();
        prop_assert_eq!(to_minor_units(d, exponent), None);
    }

    /// JSON numbers with up to 15 significant digits read back as the value written.
    #[test]
    fn json_numbers_read_exactly(m in -999_999_999_999_999i64..=999_999_999_999_999, scale in 0u32..=15) {
        let d = Decimal::new(m, scale);
        let json = format!(r#"{{"amount":{d}}}"#);
        let w: Wire = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(w.amount, d, "{}", json);
    }
}

// ---------------------------------------------------------------------------------------------
// Redaction
// ---------------------------------------------------------------------------------------------

/// Secrets as users have them: API keys, passwords with punctuation (quotes, backslashes,
/// slashes included), never containing the mask's own characters (`[`, `]`, upper case) so that
/// finding one in the output is a leak, not the mask spelling it.
fn secret() -> impl Strategy<Value = String> {
    "[a-z0-9_\\-!@#$%^&*()+=,.;:'\"\\\\/<>?~` ]{4,40}"
}

fn surrounding() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80),
        "[ -~]{0,80}".prop_map(String::into_bytes),
        "[0-9 -]{0,40}".prop_map(String::into_bytes),
    ]
}

/// The forms the transport promises to mask (see `Transport::scrub_with`).
fn embed(secret: &str, form: u8) -> String {
    let json = serde_json::to_string(secret).unwrap();
    let json = json[1..json.len() - 1].to_string();
    match form % 3 {
        0 => secret.to_string(),
        1 => json,
        _ => json.replace('/', "\\/"),
    }
}

fn scrubber() -> Transport {
    Transport::new(TransportConfig {
        provider: "props",
        version: "0",
        base_url: "http://127.0.0.1:9".into(),
        credential: Some(SecretString::from("sk_live_props_credential")),
        auth: AuthScheme::Bearer,
        request_id_headers: &[],
        error_decoder: Arc::new(|_: u16, _: &payout_core::reqwest::header::HeaderMap, _: &[u8]| {
            ErrorInfo::default()
        }),
        options: ClientOptions::default(),
    })
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(256) })]

    /// `redact_snippet` removes every secret it is given, whatever bytes surround it
    /// (invalid UTF-8, digit runs, the secret repeated), and respects the length.
    #[test]
    fn redact_snippet_removes_every_secret(
        s in secret(),
        before in surrounding(),
        after in surrounding(),
        times in 1usize..3,
        max in 1usize..400,
    ) {
        let mut body = before.clone();
        for _ in 0..times {
            body.extend_from_slice(s.as_bytes());
            body.extend_from_slice(&after);
        }
        let out = redact_snippet(&body, max, &[&s]);
        prop_assert!(!out.contains(&s), "`{}` leaked: {}", s, out);
        prop_assert!(out.chars().count() <= max + 1);
    }

    /// `Transport::scrub_with` removes the credential and the request's own secrets in plain
    /// and JSON-escaped form (as serde_json and PHP write them), whatever surrounds them.
    #[test]
    fn scrub_with_removes_secrets_in_every_promised_form(
        s in secret(),
        form in any::<u8>(),
        cred_form in any::<u8>(),
        before in surrounding(),
        middle in surrounding(),
        after in surrounding(),
    ) {
        let t = scrubber();
        let mut body = before.clone();
        body.extend_from_slice(embed(&s, form).as_bytes());
        body.extend_from_slice(&middle);
        body.extend_from_slice(embed("sk_live_props_credential", cred_form).as_bytes());
        body.extend_from_slice(&after);
        let out = t.scrub_with(&body, 10_000, &[SecretString::from(s.clone())]);
        for f in [s.clone(), embed(&s, form)] {
            prop_assert!(!out.contains(&f), "`{}` leaked as `{}`: {}", s, f, out);
        }
        prop_assert!(!out.contains("sk_live_props_credential"), "credential leaked: {}", out);
    }
}

// ---------------------------------------------------------------------------------------------
// Regression tests for what the fuzzers found (docs/reliability.md)
// ---------------------------------------------------------------------------------------------

/// F1: a `Retry-After` HTTP-date with a huge year overflowed `UNIX_EPOCH + secs` and panicked
/// (in release builds too), inside `Transport::send`, on any response carrying it.
#[test]
fn retry_after_date_with_a_huge_year_is_refused_not_a_panic() {
    let now = UNIX_EPOCH + Duration::from_secs(1_764_547_200);
    for v in [
        "Sun, 06 Nov 300000000000 08:49:37 GMT",
        "Sun, 06 Nov 9223372036854775807 08:49:37 GMT",
        "Sun, 06 Nov 19940 08:49:37 GMT",
    ] {
        assert_eq!(parse_retry_after(v, now), None, "{v}");
    }
    // The four-digit years of RFC 9110 still parse.
    assert_eq!(
        parse_retry_after(
            "Tue, 01 Dec 2026 00:00:10 GMT",
            UNIX_EPOCH + Duration::from_secs(1_796_083_200)
        ),
        Some(Duration::from_secs(10))
    );
}

/// F1 at the transport: a 503 whose `Retry-After` is such a date ends in a typed error that
/// keeps the status, not a panic in the caller's task.
#[test]
fn hostile_retry_after_on_a_response_is_an_error_not_a_panic() {
    let server = Scripted::start(vec![Reply::StatusRetryAfter(
        503,
        "Sun, 06 Nov 300000000000 08:49:37 GMT",
    )]);
    let t = scripted_transport(&server.base_url, 2);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(t.send(Request::get("balance.get", "/balance")))
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
}

/// F3: an id of `.` or `..` is left as is by `encode_path_segment` (dots are unreserved) and
/// URL parsing then resolves it away: `GET /orders/..` became `GET /`, another endpoint. The
/// transport must refuse such a path before sending anything.
#[test]
fn dot_segment_ids_are_refused_before_sending() {
    let server = Scripted::start(vec![Reply::Status(200)]);
    let t = scripted_transport(&server.base_url, 0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for id in [".", ".."] {
        let path = format!("/orders/{}/cancel", payout_core::encode_path_segment(id));
        let req = Request::post("orders.cancel", "/orders/{id}/cancel").path(path);
        let err = rt.block_on(t.send(req)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "id `{id}`: {err}");
        assert_eq!(err.field(), Some("path"));
    }
    assert!(server.heads().is_empty(), "sent: {:?}", server.heads());
}

/// F4: the transport's default reqwest client followed redirects, and on a 307/308 re-sent
/// the body: one unprotected payout left twice (or up to ten times) behind the retry table's
/// back. A 3xx must be one attempt that ends in a typed error keeping its status.
#[test]
fn a_redirect_never_resends_a_payout() {
    for status in [307, 308] {
        let server = Scripted::start(vec![Reply::Redirect(status, "/payouts"), Reply::Status(201)]);
        let t = scripted_transport(&server.base_url, 2);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let req = Request::post("payouts.create", "/payouts")
            .json(&serde_json::json!({"amount": "5.00"}))
            .unwrap();
        let result = rt.block_on(t.send(req));
        assert_eq!(server.heads().len(), 1, "a {status} re-sent the payout");
        assert_eq!(result.unwrap_err().status(), Some(status));
    }
}

/// F8 (`decode_rocheap` fuzzer): the JSON path of a decode error is made of the body's own
/// keys, and it entered the message unscrubbed: a provider echoing the credential (or a card
/// number) as a key leaked it into `Display` and `Debug`.
#[test]
fn a_secret_echoed_as_a_json_key_never_reaches_the_error() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Typed {
        a: std::collections::HashMap<String, String>,
    }
    let server = Scripted::start(vec![Reply::Body(200, r#"{"a":{"sk_props_key_000":1}}"#)]);
    let t = scripted_transport(&server.base_url, 0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let resp = rt
        .block_on(t.send(Request::get("things.get", "/things")))
        .unwrap();
    let err = resp.json::<Typed>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("sk_props_key_000"), "credential leaked: {shown}");
    assert!(shown.contains("[REDACTED]"), "{shown}");
}

/// Ordinary ids still reach exactly the endpoint they name (guards the F3 fix).
#[test]
fn ids_with_dots_and_slashes_stay_in_their_segment() {
    let server = Scripted::start(vec![Reply::Status(200)]);
    let t = scripted_transport(&server.base_url, 0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for id in ["a.b", "...", ".x", "../x", "%2e%2e", "x/..", "inv 1/2?x#y"] {
        let path = format!("/orders/{}", payout_core::encode_path_segment(id));
        rt.block_on(t.send(Request::get("orders.get", "/orders/{id}").path(path.clone())))
            .unwrap();
        let head = server.heads().pop().unwrap();
        let line = head.lines().next().unwrap().to_string();
        assert_eq!(
            line,
            format!("get {} http/1.1", path.to_ascii_lowercase()),
            "id `{id}`"
        );
    }
}

/// F5: cursors that lead back to an earlier page (A -> B -> A) looped forever, fetching the
/// same pages again and again; the stream must end with an error instead.
#[test]
fn cursor_cycle_is_an_error_not_an_endless_walk() {
    let fetched = Arc::new(Mutex::new(Vec::new()));
    let f = fetched.clone();
    let stream = paginate("props", "a".to_string(), move |c: String| {
        let f = f.clone();
        async move {
            f.lock().unwrap().push(c.clone());
            let next = if c == "a" { "b" } else { "a" };
            Ok(Page {
                items: vec![c],
                next: Some(next.to_string()),
                total: None,
            })
        }
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out: Vec<_> = rt.block_on(stream.take(10).collect::<Vec<_>>());
    assert_eq!(fetched.lock().unwrap().as_slice(), ["a", "b"]);
    assert!(
        out.last()
            .unwrap()
            .as_ref()
            .unwrap_err()
            .message()
            .contains("did not advance")
    );
}

/// F6: PHP's default `json_encode` writes non-ASCII as `\u00e9`, and Go's `encoding/json` writes
/// `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`: a password echoed by such a backend passed
/// the scrubber.
#[test]
fn secrets_echoed_with_unicode_escapes_are_masked() {
    let t = scrubber();
    for (secret, echoed) in [
        ("pässwörd-1", r#"{"error":"bad password p\u00e4ssw\u00f6rd-1"}"#),
        ("a<b>&c=1", r#"{"error":"bad password a\u003cb\u003e\u0026c=1"}"#),
        ("pässwörd/2", r#"{"error":"bad password p\u00e4ssw\u00f6rd\/2"}"#),
    ] {
        let out = t.scrub_with(echoed.as_bytes(), 500, &[SecretString::from(secret)]);
        assert!(out.contains("[REDACTED]"), "`{secret}` leaked: {out}");
    }
}

/// F7: `decide` is public and pure; a NaN jitter from a caller's own sampler panicked in
/// `Duration::mul_f64` instead of being treated as 0.
#[test]
fn nan_jitter_does_not_panic() {
    let p = RetryPolicy::default();
    assert!(matches!(
        decide(&p, Safety::Idempotent, &Outcome::NotSent, 0, f64::NAN, None),
        Decision::Retry(_)
    ));
}

/// The money fuzzer's corner cases, kept: scientific notation, signs, huge and tiny values.
#[test]
fn money_corner_cases_parse_exactly_or_not_at_all() {
    assert_eq!(parse_decimal("1e-3").unwrap().to_string(), "0.001");
    assert_eq!(parse_decimal(" -0.50 ").unwrap().to_string(), "-0.50");
    assert_eq!(parse_decimal("1e400"), None);
    assert_eq!(
        parse_decimal("79228162514264337593543950336"),
        None,
        "one past Decimal::MAX"
    );
    assert_eq!(parse_decimal("NaN"), None);
    assert_eq!(parse_decimal(""), None);
    assert_eq!(to_minor_units(Decimal::MAX, 2), None);
    assert_eq!(
        to_minor_units(Decimal::new(1, 0), 19),
        None,
        "10^19 does not fit an i64"
    );
}
