//! The one error type every payout-rs client returns.
//!
//! An [`Error`] answers three questions a caller has to act on:
//! *what kind of failure* ([`Error::kind`]), *may money have moved*
//! ([`ErrorKind::Ambiguous`], [`Error::may_have_succeeded`]) and *may I try again*
//! ([`Error::is_retryable`]). Everything the provider told us (HTTP status, its error
//! code and message, the request id) and the idempotency key that was used are kept,
//! so an operator can reconcile without guessing.
//!
//! Secrets never enter an error: request bodies are never stored, response snippets
//! are truncated and scrubbed of the client's own credential and of long digit runs
//! (card numbers), and a validation error names the field and the rule, never the value.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::idempotency::IdempotencyKey;

/// What went wrong, in the few categories a caller branches on.
///
/// New kinds may be added in minor releases; match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client is misconfigured: a missing environment variable, a malformed base URL,
    /// a key that does not belong to the chosen environment. Nothing was sent.
    Config,
    /// The input failed validation before any byte was sent. [`Error::field`] names the field.
    InvalidInput,
    /// The network failed. [`Error::is_retryable`] says whether the request provably never
    /// reached the provider.
    Transport,
    /// An idempotent call (or one protected by an idempotency key) ran out of time.
    Timeout,
    /// The provider (or our own client-side limiter) refused the call for rate. See
    /// [`Error::retry_after`].
    RateLimited,
    /// The credential was rejected (HTTP 401/403 or the provider's equivalent).
    Auth,
    /// The object does not exist (HTTP 404 or the provider's equivalent).
    NotFound,
    /// The provider answered with an error of its own; see [`Error::provider_code`].
    Provider,
    /// The response could not be decoded. When the HTTP status was 2xx the call may have
    /// succeeded: look the object up before doing anything else.
    Decode,
    /// A money-moving call was sent and we cannot know whether the provider processed it:
    /// a call with no idempotency protection hit a timeout, a dropped connection or a 5xx
    /// after the request left, or the provider says the operation exists but it could not be
    /// read back. **Do not simply retry**: look the operation up first, using
    /// [`Error::idempotency_key`] or your own reference.
    Ambiguous,
    /// The client-side circuit breaker is open after repeated failures; nothing was sent.
    CircuitOpen,
}

impl ErrorKind {
    /// A short lowercase name, stable across releases, for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Transport => "transport",
            ErrorKind::Timeout => "timeout",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Auth => "auth",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Provider => "provider",
            ErrorKind::Decode => "decode",
            ErrorKind::Ambiguous => "ambiguous",
            ErrorKind::CircuitOpen => "circuit_open",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned by every payout-rs client.
///
/// Cheap to move (one box). Build one with the constructors below when a provider crate
/// maps its own error envelope; read it with the accessors.
///
/// ```
/// use payout_core::{Error, ErrorKind};
/// let e = Error::invalid_input("rocheap", "robux", "must be greater than zero");
/// assert_eq!(e.kind(), ErrorKind::InvalidInput);
/// assert_eq!(e.field(), Some("robux"));
/// assert!(!e.was_sent());
/// assert_eq!(e.to_string(), "rocheap: invalid input: `robux` must be greater than zero (nothing was sent)");
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    provider: &'static str,
    status: Option<u16>,
    code: Option<String>,
    message: String,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    idempotency_key: Option<IdempotencyKey>,
    field: Option<&'static str>,
    body_snippet: Option<String>,
    may_have_succeeded: bool,
    retryable: bool,
    attempts: u32,
    sent: bool,
    advice: Option<String>,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
    last_state: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Error {
    /// A new error of `kind` for `provider` with a human-readable `message`.
    ///
    /// The message must not contain secrets; provider crates pass only fixed text or text
    /// the provider returned.
    pub fn new(kind: ErrorKind, provider: &'static str, message: impl Into<String>) -> Self {
        let retryable = matches!(
            kind,
            ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::RateLimited
        );
        Error {
            inner: Box::new(Inner {
                kind,
                provider,
                status: None,
                code: None,
                message: message.into(),
                request_id: None,
                retry_after: None,
                idempotency_key: None,
                field: None,
                body_snippet: None,
                may_have_succeeded: kind == ErrorKind::Ambiguous,
                retryable,
                attempts: 0,
                // Errors built from a response (provider, decode, auth...) were sent; the
                // transport sets this precisely for the rest.
                sent: !matches!(
                    kind,
                    ErrorKind::Config
                        | ErrorKind::InvalidInput
                        | ErrorKind::CircuitOpen
                        | ErrorKind::Transport
                ),
                advice: None,
                source: None,
                last_state: None,
            }),
        }
    }

    /// Bad input, caught before sending: names the `field` and the `rule` it broke, never
    /// the value (which may be a card number or a password).
    pub fn invalid_input(provider: &'static str, field: &'static str, rule: impl Into<String>) -> Self {
        let mut e = Error::new(ErrorKind::InvalidInput, provider, rule);
        e.inner.field = Some(field);
        e
    }

    /// A configuration problem (missing variable, bad URL, key for the wrong environment).
    pub fn config(provider: &'static str, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, provider, message)
    }

    /// An error the provider reported (its envelope decoded by the provider crate).
    pub fn provider(provider: &'static str, code: Option<String>, message: impl Into<String>) -> Self {
        let mut e = Error::new(ErrorKind::Provider, provider, message);
        e.inner.code = code;
        e
    }

    /// A response that could not be decoded. With a 2xx `status`, the error is marked
    /// "may have succeeded" and is never retryable.
    pub fn decode(provider: &'static str, status: Option<u16>, message: impl Into<String>) -> Self {
        let mut e = Error::new(ErrorKind::Decode, provider, message);
        e.inner.status = status;
        e.inner.may_have_succeeded = status.is_some_and(|s| (200..300).contains(&s));
        e
    }

    // ----- builder-style setters, for provider crates mapping their envelopes -----

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }
    /// Sets the provider's own error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.inner.code = Some(code.into());
        self
    }
    /// Replaces the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = message.into();
        self
    }
    /// Sets the provider's request id.
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        if request_id.is_some() {
            self.inner.request_id = request_id;
        }
        self
    }
    /// Sets how long the provider asked us to wait.
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.inner.retry_after = retry_after;
        self
    }
    /// Records the idempotency key (or client reference) the call used.
    pub fn with_idempotency_key(mut self, key: Option<IdempotencyKey>) -> Self {
        if key.is_some() {
            self.inner.idempotency_key = key;
        }
        self
    }
    /// Names the input field at fault.
    pub fn with_field(mut self, field: &'static str) -> Self {
        self.inner.field = Some(field);
        self
    }
    /// Keeps a short, already-redacted snippet of the response body for diagnosis.
    pub fn with_body_snippet(mut self, snippet: Option<String>) -> Self {
        self.inner.body_snippet = snippet;
        self
    }
    /// Changes the kind. An [`ErrorKind::Ambiguous`] error is never downgraded: once money may
    /// have moved, the caller must be told so.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        if self.inner.kind != ErrorKind::Ambiguous {
            self.inner.kind = kind;
            if kind == ErrorKind::Ambiguous {
                self.inner.may_have_succeeded = true;
                self.inner.retryable = false;
            }
        }
        self
    }
    /// Marks whether the caller may safely repeat the call as is.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        let undecodable_success = self.inner.kind == ErrorKind::Decode && self.inner.may_have_succeeded;
        self.inner.retryable = retryable && self.inner.kind != ErrorKind::Ambiguous && !undecodable_success;
        self
    }
    /// Marks that the operation may have taken effect. For a call protected by an idempotency
    /// key this goes with [`Error::is_retryable`]: repeating it *with the same key* is safe.
    pub fn with_may_have_succeeded(mut self, may: bool) -> Self {
        self.inner.may_have_succeeded = may || self.inner.kind == ErrorKind::Ambiguous;
        if may {
            self.inner.sent = true;
        }
        self
    }
    /// Replaces the default recovery advice at the end of the `Display` text, for providers
    /// where the generic "look it up" does not apply (a checkout with nothing to look up by).
    pub fn with_advice(mut self, advice: impl Into<String>) -> Self {
        self.inner.advice = Some(advice.into());
        self
    }
    /// Records whether any attempt may have reached the provider.
    pub fn with_sent(mut self, sent: bool) -> Self {
        self.inner.sent = sent || self.inner.kind == ErrorKind::Ambiguous;
        self
    }
    /// Names the provider of an error built before the provider was known (a request body
    /// that failed to serialize).
    pub(crate) fn with_provider(mut self, provider: &'static str) -> Self {
        self.inner.provider = provider;
        self
    }
    /// Records how many attempts were made.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = attempts;
        self
    }
    /// Attaches the underlying cause (a reqwest or serde_json error, boxed so their types
    /// never become part of our public API).
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }
    /// Attaches an already boxed cause.
    pub fn with_boxed_source(mut self, source: Box<dyn StdError + Send + Sync + 'static>) -> Self {
        self.inner.source = Some(source);
        self
    }

    /// Attaches the last state a poll saw before its deadline (see
    /// [`crate::poll::wait_until`]); read it back with [`Error::last_state`].
    pub fn with_last_state<T: std::any::Any + Send + Sync>(mut self, state: T) -> Self {
        self.inner.last_state = Some(Box::new(state));
        self
    }

    /// The last state a poll saw before it timed out, if this error came from a
    /// `wait_until_final` and the state has type `T` (the resource's model, e.g. an order).
    pub fn last_state<T: std::any::Any>(&self) -> Option<&T> {
        self.inner.last_state.as_ref()?.downcast_ref::<T>()
    }

    // ----- accessors -----

    /// The category of the failure.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }
    /// The provider crate that produced the error (`"rocheap"`, `"xrocket"`, ...).
    pub fn provider_name(&self) -> &'static str {
        self.inner.provider
    }
    /// The HTTP status of the last response, if one was received.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }
    /// The provider's own error code (`"INSUFFICIENT_BALANCE"`, `"client_id_already_taken"`).
    pub fn provider_code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }
    /// A human-readable description (provider text when there was one).
    pub fn message(&self) -> &str {
        &self.inner.message
    }
    /// The provider's request id, to quote to their support.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }
    /// How long the provider asked us to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }
    /// The idempotency key or client reference the call used: persist it and use it to look
    /// the operation up after an [`ErrorKind::Ambiguous`] error.
    pub fn idempotency_key(&self) -> Option<&IdempotencyKey> {
        self.inner.idempotency_key.as_ref()
    }
    /// For [`ErrorKind::InvalidInput`]: the field that failed validation.
    pub fn field(&self) -> Option<&'static str> {
        self.inner.field
    }
    /// A truncated, redacted snippet of the response body, for diagnosis only.
    pub fn body_snippet(&self) -> Option<&str> {
        self.inner.body_snippet.as_deref()
    }
    /// True when the operation may have taken effect despite the error: an
    /// [`ErrorKind::Ambiguous`] failure, a 2xx response that did not decode, or a
    /// key-protected call whose last attempts failed after they may have been processed
    /// (then [`Error::is_retryable`] is true too: repeat it only with the same key).
    pub fn may_have_succeeded(&self) -> bool {
        self.inner.may_have_succeeded
    }
    /// True when repeating the same call is safe and may succeed: the request provably
    /// never arrived, or it is idempotent, or it is key-protected and is repeated **with the
    /// same key** (see [`Error::idempotency_key`]). Never true for [`ErrorKind::Ambiguous`] or
    /// a 2xx [`ErrorKind::Decode`].
    pub fn is_retryable(&self) -> bool {
        self.inner.retryable
    }
    /// How many HTTP attempts were made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }
    /// False when the request provably never reached the provider: input refused before
    /// sending, the breaker or limiter refused it, or every attempt failed to connect. True
    /// when any attempt may have arrived (a response came back, or the connection broke or
    /// timed out after it was opened). Use it to skip a pointless reconciliation lookup.
    pub fn was_sent(&self) -> bool {
        self.inner.sent
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        write!(f, "{}: ", i.provider)?;
        match i.kind {
            ErrorKind::InvalidInput => {
                if let Some(field) = i.field {
                    write!(f, "invalid input: `{field}` {}", i.message)?;
                } else {
                    write!(f, "invalid input: {}", i.message)?;
                }
                return f.write_str(" (nothing was sent)");
            }
            ErrorKind::Config => return write!(f, "configuration: {}", i.message),
            _ => {}
        }
        if let Some(code) = &i.code {
            write!(f, "{code}: ")?;
        } else if i.kind != ErrorKind::Provider {
            write!(f, "{}: ", i.kind)?;
        }
        f.write_str(&i.message)?;
        let mut parts: Vec<String> = Vec::new();
        if let Some(s) = i.status {
            parts.push(format!("HTTP {s}"));
        }
        if let Some(r) = &i.request_id {
            parts.push(format!("request {r}"));
        }
        if let Some(ra) = i.retry_after {
            parts.push(format!("retry after {:.1}s", ra.as_secs_f64()));
        }
        if i.attempts > 1 {
            parts.push(format!("{} attempts", i.attempts));
        }
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        if let Some(advice) = &i.advice {
            write!(f, "; {advice}")?;
        } else if i.may_have_succeeded {
            match (&i.idempotency_key, i.retryable) {
                (Some(k), true) => write!(
                    f,
                    "; the operation may have succeeded: repeat it only with the same key `{k}`, which the provider deduplicates"
                )?,
                (Some(k), false) => write!(
                    f,
                    "; the operation may have succeeded: look it up by `{k}` before retrying"
                )?,
                (None, _) => f.write_str("; the operation may have succeeded: look it up before retrying")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &i.kind).field("provider", &i.provider);
        if let Some(s) = i.status {
            d.field("status", &s);
        }
        if let Some(c) = &i.code {
            d.field("code", c);
        }
        d.field("message", &i.message);
        if let Some(r) = &i.request_id {
            d.field("request_id", r);
        }
        if let Some(r) = &i.retry_after {
            d.field("retry_after", r);
        }
        if let Some(k) = &i.idempotency_key {
            d.field("idempotency_key", &k.as_str());
        }
        if let Some(fl) = i.field {
            d.field("field", &fl);
        }
        if let Some(b) = &i.body_snippet {
            d.field("body_snippet", b);
        }
        d.field("may_have_succeeded", &i.may_have_succeeded)
            .field("retryable", &self.is_retryable())
            .field("attempts", &i.attempts)
            .field("sent", &i.sent);
        if let Some(s) = &i.source {
            d.field("source", &s.to_string());
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| &**s as &(dyn StdError + 'static))
    }
}

/// `Result<T, payout_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Truncates `body` to at most `max` characters and masks what must never be echoed: runs
/// of 12 or more digits (card and account numbers) and every occurrence of `secrets`.
pub fn redact_snippet(body: &[u8], max: usize, secrets: &[&str]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut text = text.into_owned();
    for s in secrets {
        if s.len() >= 4 {
            text = text.replace(s, "[REDACTED]");
        } else if s.len() == 3 {
            // A 3-character secret (a CVV) is masked only where it stands as a whole token
            // (`"cvv":"123"`, `cvv=123&`), so unrelated longer numbers are not mangled.
            text = replace_whole_token(&text, s);
        }
    }
    let mut out = String::with_capacity(text.len().min(max + 8));
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.bytes().filter(u8::is_ascii_digit).count() >= 12 {
            out.push_str("[REDACTED-NUMBER]");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        if (ch == ' ' || ch == '-') && !digits.is_empty() {
            // Card numbers are often grouped: "4242 4242 4242 4242".
            digits.push(ch);
            continue;
        }
        flush(&mut digits, &mut out);
        out.push(ch);
    }
    flush(&mut digits, &mut out);
    let out = out.trim().to_string();
    if out.chars().count() > max {
        let cut: String = out.chars().take(max).collect();
        format!("{cut}…")
    } else {
        out
    }
}

/// Replaces every occurrence of `needle` that is not adjacent to an ASCII letter or digit.
fn replace_whole_token(text: &str, needle: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(needle) {
        if i < last {
            continue;
        }
        let end = i + needle.len();
        let before = i.checked_sub(1).and_then(|j| bytes.get(j));
        let after = bytes.get(end);
        let word = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
        if !word(before) && !word(after) {
            out.push_str(&text[last..i]);
            out.push_str("[REDACTED]");
            last = end;
        }
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_character_secrets_are_masked_as_whole_tokens_only() {
        let out = redact_snippet(br#"{"cvv":"123","n":"91234","x":"cvv=123&a=1"}"#, 500, &["123"]);
        assert_eq!(
            out,
            r#"{"cvv":"[REDACTED]","n":"91234","x":"cvv=[REDACTED]&a=1"}"#
        );
        let out = redact_snippet(br#"{"cvv":123}"#, 500, &["123"]);
        assert_eq!(out, r#"{"cvv":[REDACTED]}"#);
    }

    #[test]
    fn display_reads_like_a_sentence() {
        let e = Error::provider(
            "rocheap",
            Some("INSUFFICIENT_BALANCE".into()),
            "not enough credit",
        )
        .with_status(200)
        .with_request_id(Some("7f3a".into()));
        assert_eq!(
            e.to_string(),
            "rocheap: INSUFFICIENT_BALANCE: not enough credit (HTTP 200, request 7f3a)"
        );
    }

    #[test]
    fn ambiguous_is_never_downgraded_or_retryable() {
        let key = IdempotencyKey::new("k-1").ok();
        let e = Error::new(ErrorKind::Ambiguous, "xrocket", "timed out after sending")
            .with_idempotency_key(key)
            .with_kind(ErrorKind::Provider)
            .with_retryable(true);
        assert_eq!(e.kind(), ErrorKind::Ambiguous);
        assert!(!e.is_retryable());
        assert!(e.may_have_succeeded());
        assert!(e.to_string().contains("look it up by `k-1`"));
    }

    #[test]
    fn decode_of_2xx_may_have_succeeded() {
        let e = Error::decode("x", Some(200), "bad json");
        assert!(e.may_have_succeeded());
        assert!(!e.is_retryable());
        let e = Error::decode("x", Some(502), "html page");
        assert!(!e.may_have_succeeded());
    }

    #[test]
    fn key_protected_may_have_succeeded_stays_retryable_with_the_same_key() {
        let e = Error::new(ErrorKind::Timeout, "agent-catalog", "timed out")
            .with_idempotency_key(IdempotencyKey::new("k-9").ok())
            .with_may_have_succeeded(true);
        assert!(e.is_retryable());
        assert!(e.may_have_succeeded());
        assert!(
            e.to_string().contains("repeat it only with the same key `k-9`"),
            "{e}"
        );
        let e = Error::new(ErrorKind::Ambiguous, "rohopay", "lost").with_advice("start a new checkout");
        assert!(e.to_string().ends_with("; start a new checkout"), "{e}");
        let e = Error::decode("x", Some(200), "bad").with_retryable(true);
        assert!(!e.is_retryable(), "an undecodable success is never retryable");
    }

    #[test]
    fn snippet_masks_card_numbers_and_secrets() {
        let s = redact_snippet(
            b"card 4242 4242 4242 4242 key sk_live_abc len 12",
            200,
            &["sk_live_abc"],
        );
        assert!(!s.contains("4242"), "{s}");
        assert!(!s.contains("sk_live_abc"), "{s}");
        assert!(s.contains("len 12"), "{s}");
        let long = redact_snippet("é".repeat(500).as_bytes(), 10, &[]);
        assert_eq!(long.chars().count(), 11);
    }
}
