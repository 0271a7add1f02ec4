//! Webhook crypto shared by the provider crates: HMAC-SHA256, constant-time comparison,
//! hex and `sha256=` signature forms, timestamp tolerance with an injectable clock, and
//! several active secrets (rotation). Each provider crate builds its own scheme from these.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Why a webhook was refused. Each variant says what the integrator most likely got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A required header is absent.
    #[error(
        "webhook header `{0}` is missing: is the request really from the provider, and does your framework pass headers through?"
    )]
    MissingHeader(&'static str),
    /// A header is present but not in the documented form.
    #[error("webhook header `{header}` is malformed: {reason}")]
    MalformedHeader {
        /// The header.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No secret matched the signature.
    #[error(
        "webhook signature does not match: pass the raw request body exactly as received (not re-serialized JSON), and check the secret ({hint})"
    )]
    SignatureMismatch {
        /// Which secret the provider signs with.
        hint: &'static str,
    },
    /// The signed timestamp is too old or too far in the future (replay protection).
    #[error(
        "webhook timestamp is {age_secs}s away from now, outside the {tolerance_secs}s tolerance: a replay, or a server clock that is off"
    )]
    TimestampOutsideTolerance {
        /// Distance from now, in seconds.
        age_secs: u64,
        /// The allowed tolerance, in seconds.
        tolerance_secs: u64,
    },
    /// No verification secret was configured.
    #[error("no webhook secret configured: pass at least one secret")]
    NoSecret,
    /// The (verified) body is not the JSON the provider documents.
    #[error("webhook body is not valid JSON for this provider: {0}")]
    InvalidBody(String),
}

/// Computes HMAC-SHA256 of the concatenation of `parts` with `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = new_mac(key);
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length (long keys are hashed), so this cannot fail;
    // an empty Mac from an empty key is still well defined.
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable_hmac(),
    }
}

#[cold]
fn unreachable_hmac() -> HmacSha256 {
    // `new_from_slice` only fails for fixed-size-key MACs; HMAC has none. Fall back to a
    // zero key rather than panic in a library.
    match <HmacSha256 as KeyInit>::new_from_slice(&[0u8; 32]) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC-SHA256 accepts 32-byte keys"),
    }
}

/// Lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

/// Decodes hex (either case). `None` if the length is odd or a character is not hex.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let val = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.chunks(2).map(|p| Some(val(p[0])? << 4 | val(p[1])?)).collect()
}

/// Strips the documented `prefix` (as `sha256=` in `x-rohopay-signature: sha256=<hex>`)
/// from a signature header. The prefix must be there exactly as documented: a signature
/// without it, with another case, or with surrounding spaces is [`WebhookError::MalformedHeader`].
pub fn strip_documented_prefix<'s>(
    signature: &'s str,
    prefix: &str,
    header: &'static str,
) -> Result<&'s str, WebhookError> {
    signature
        .strip_prefix(prefix)
        .ok_or(WebhookError::MalformedHeader {
            header,
            reason: "the signature does not start with the documented prefix",
        })
}

/// Decodes a signature that must be exactly 64 **lowercase** hex characters, the form every
/// provider we support sends. Anything else (uppercase, a prefix, spaces, another length) is
/// [`WebhookError::MalformedHeader`]: accepting other spellings of a valid MAC makes the
/// signature malleable, which breaks replay protection keyed on the signature.
pub fn strict_hex_digest(signature: &str, header: &'static str) -> Result<[u8; 32], WebhookError> {
    let bytes = signature.as_bytes();
    if bytes.len() != 64 {
        return Err(WebhookError::MalformedHeader {
            header,
            reason: "expected exactly 64 lowercase hex characters (an HMAC-SHA256 digest)",
        });
    }
    let val = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        match (val(pair[0]), val(pair[1])) {
            (Some(h), Some(l)) => out[i] = h << 4 | l,
            _ => {
                return Err(WebhookError::MalformedHeader {
                    header,
                    reason: "expected lowercase hex characters only (0-9, a-f)",
                });
            }
        }
    }
    Ok(out)
}

/// True if `expected` equals HMAC-SHA256(`secret`, `parts`) for **any** of `secrets`.
/// Compared in constant time; during a rotation configure both the old and the new secret.
pub fn any_secret_matches<'a>(
    secrets: impl IntoIterator<Item = &'a SecretString>,
    parts: &[&[u8]],
    expected: &[u8],
) -> bool {
    let mut matched = false;
    for secret in secrets {
        let mut mac = new_mac(secret.expose_secret().as_bytes());
        for p in parts {
            mac.update(p);
        }
        // `verify_slice` is constant-time in the digest comparison.
        matched |= mac.verify_slice(expected).is_ok();
    }
    matched
}

/// Verifies a signature of exactly 64 lowercase hex characters (see [`strict_hex_digest`];
/// strip a documented prefix first with [`strip_documented_prefix`]) over `parts` against any
/// of `secrets`. `header` names the header in errors; `hint` says which secret signs.
pub fn verify_hex_signature<'a>(
    secrets: impl IntoIterator<Item = &'a SecretString>,
    parts: &[&[u8]],
    signature: &str,
    header: &'static str,
    hint: &'static str,
) -> Result<(), WebhookError> {
    let expected = strict_hex_digest(signature, header)?;
    let mut any = false;
    let mut matched = false;
    for s in secrets {
        any = true;
        matched |= any_secret_matches([s], parts, &expected);
    }
    if !any {
        return Err(WebhookError::NoSecret);
    }
    if matched {
        Ok(())
    } else {
        Err(WebhookError::SignatureMismatch { hint })
    }
}

/// A source of "now", injectable so tolerance checks are testable.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock stopped at one instant (tests).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub SystemTime);

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// The instant `secs` seconds after the Unix epoch, or `None` if it does not fit (a hostile
/// header such as `t=18446744073709551615` must be refused, not overflow into a panic).
pub fn unix_seconds(secs: u64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// The instant `millis` milliseconds after the Unix epoch, or `None` if it does not fit.
pub fn unix_millis(millis: u64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(millis))
}

/// Checks that `signed_at` is within `tolerance` of `now`, in either direction.
pub fn check_timestamp(
    signed_at: SystemTime,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let age = match now.duration_since(signed_at) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if age > tolerance {
        return Err(WebhookError::TimestampOutsideTolerance {
            age_secs: age.as_secs(),
            tolerance_secs: tolerance.as_secs(),
        });
    }
    Ok(())
}

/// Read access to request headers, whatever your web framework uses. Lookups are
/// case-insensitive.
pub trait Headers {
    /// The value of header `name`, if present and valid UTF-8.
    fn header(&self, name: &str) -> Option<&str>;
}

impl Headers for reqwest::header::HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Headers for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<V: AsRef<str>, S: std::hash::BuildHasher> Headers for HashMap<String, V, S> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<H: Headers + ?Sized> Headers for &H {
    fn header(&self, name: &str) -> Option<&str> {
        (**self).header(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            to_hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(from_hex("00ffA0").unwrap(), vec![0, 255, 160]);
        assert!(from_hex("abc").is_none());
        assert!(from_hex("zz").is_none());
        assert_eq!(to_hex(&[0, 255, 160]), "00ffa0");
    }

    #[test]
    fn any_of_several_secrets_verifies() {
        let old = SecretString::from("old");
        let new = SecretString::from("new");
        let sig = to_hex(&hmac_sha256(b"new", &[b"body"]));
        let secrets = [old.clone(), new.clone()];
        assert!(verify_hex_signature(&secrets, &[b"body"], &sig, "sig", "h").is_ok());
        // Strict: only the exact lowercase form verifies; other spellings of the same MAC are
        // malformed, not "valid" (a malleable signature defeats replay protection).
        for bad in [
            format!("sha256={sig}"),
            sig.to_uppercase(),
            format!(" {sig}"),
            format!("{sig} "),
        ] {
            assert!(matches!(
                verify_hex_signature(&secrets, &[b"body"], &bad, "sig", "h"),
                Err(WebhookError::MalformedHeader { .. })
            ));
        }
        let prefixed = format!("sha256={sig}");
        let stripped = strip_documented_prefix(&prefixed, "sha256=", "sig").unwrap();
        assert!(verify_hex_signature(&secrets, &[b"body"], stripped, "sig", "h").is_ok());
        assert!(strip_documented_prefix(&sig, "sha256=", "sig").is_err());
        assert!(strip_documented_prefix(&format!("SHA256={sig}"), "sha256=", "sig").is_err());
        assert_eq!(
            verify_hex_signature([&old], &[b"body"], &sig, "sig", "h"),
            Err(WebhookError::SignatureMismatch { hint: "h" })
        );
        assert_eq!(
            verify_hex_signature([&new], &[b"body!"], &sig, "sig", "h"),
            Err(WebhookError::SignatureMismatch { hint: "h" })
        );
        assert!(matches!(
            verify_hex_signature([&new], &[b"body"], "xyz", "sig", "h"),
            Err(WebhookError::MalformedHeader { .. })
        ));
        let none: [SecretString; 0] = [];
        assert_eq!(
            verify_hex_signature(&none, &[b"body"], &sig, "sig", "h"),
            Err(WebhookError::NoSecret)
        );
    }

    #[test]
    fn timestamps_outside_tolerance_fail_both_ways() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let tol = Duration::from_secs(300);
        assert!(check_timestamp(now - Duration::from_secs(299), now, tol).is_ok());
        assert!(check_timestamp(now + Duration::from_secs(299), now, tol).is_ok());
        assert!(check_timestamp(now - Duration::from_secs(301), now, tol).is_err());
        assert!(check_timestamp(now + Duration::from_secs(301), now, tol).is_err());
        assert_eq!(FixedClock(now).now(), now);
        assert_eq!(unix_seconds(1_000_000), Some(now));
        assert_eq!(unix_millis(1_000_000_000), Some(now));
        assert_eq!(unix_seconds(u64::MAX), None);
    }

    #[test]
    fn header_lookup_is_case_insensitive() {
        let pairs = [("Content-Type", "a"), ("X-Sig", "b")];
        assert_eq!(pairs.header("x-sig"), Some("b"));
        let mut map = HashMap::new();
        map.insert("X-Sig".to_string(), "c".to_string());
        assert_eq!(map.header("x-SIG"), Some("c"));
        let mut hm = reqwest::header::HeaderMap::new();
        hm.insert("x-sig", "d".parse().unwrap());
        assert_eq!(hm.header("X-Sig"), Some("d"));
    }
}
