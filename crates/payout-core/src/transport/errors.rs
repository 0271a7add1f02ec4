//! Turning what an attempt ended with into an [`Error`]: a non-2xx status through the
//! provider's decoder, or a transport failure.

use secrecy::SecretString;

use super::call::Answer;
use super::{SNIPPET_LEN, Transport};
use crate::error::{Error, ErrorKind};
use crate::retry::{Outcome, Safety, Stop, is_transient_status};

impl Transport {
    /// The error for a non-2xx answer the loop stopped on. The provider's code, message and
    /// request id are scrubbed of the credential and the request's own secrets.
    pub(super) fn status_error(
        &self,
        redact: &[SecretString],
        safety: Safety,
        stop: &Stop,
        answer: &Answer,
    ) -> Error {
        let provider = self.inner.provider;
        let (status, headers, body) = (answer.status, &answer.headers, &answer.body[..]);
        let info = self.inner.error_decoder.decode(status, headers, body);
        let kind = match (status, stop) {
            (_, Stop::Ambiguous) => ErrorKind::Ambiguous,
            (429, _) => ErrorKind::RateLimited,
            (401 | 403, _) => ErrorKind::Auth,
            (404, _) => ErrorKind::NotFound,
            _ => ErrorKind::Provider,
        };
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error");
        let mut message = info
            .message
            .map(|m| self.scrub_with(m.as_bytes(), 500, redact))
            .unwrap_or_else(|| format!("HTTP {status} {reason}"));
        if kind == ErrorKind::Ambiguous {
            message = format!("{message}; the {status} came after the request was sent");
        }
        let snippet = if info.code.is_none() && !body.is_empty() {
            Some(self.scrub_with(body, SNIPPET_LEN, redact))
        } else {
            None
        };
        let retryable = status == 429 || (is_transient_status(status) && safety != Safety::Unprotected);
        let mut e = Error::new(kind, provider, message)
            .with_status(status)
            .with_retry_after(answer.retry_after)
            .with_request_id(
                info.request_id
                    .map(|r| self.scrub_with(r.as_bytes(), super::response::REQUEST_ID_MAX, redact)),
            )
            .with_body_snippet(snippet)
            .with_retryable(retryable);
        if let Some(c) = info.code {
            e = e.with_code(self.scrub_with(c.as_bytes(), 120, redact));
        }
        if let Some(k) = info.kind {
            e = e.with_kind(k);
        }
        e
    }
}

/// The error for an attempt that got no HTTP answer.
pub(super) fn transport_error(
    provider: &'static str,
    safety: Safety,
    stop: &Stop,
    outcome: &Outcome,
) -> Error {
    match (outcome, stop) {
        (_, Stop::Ambiguous) => {
            let what = if *outcome == Outcome::TimedOut {
                "timed out after the request was sent"
            } else {
                "the connection broke after the request was sent"
            };
            Error::new(ErrorKind::Ambiguous, provider, what)
        }
        (Outcome::NotSent, _) => Error::new(
            ErrorKind::Transport,
            provider,
            "could not connect; the request was not sent",
        )
        .with_retryable(true),
        (Outcome::TimedOut, _) => {
            Error::new(ErrorKind::Timeout, provider, "timed out waiting for the provider")
                .with_retryable(safety != Safety::Unprotected)
        }
        _ => Error::new(
            ErrorKind::Transport,
            provider,
            "the connection broke before a response arrived",
        )
        .with_retryable(safety != Safety::Unprotected),
    }
}

/// Logs why a call stopped (an unknown outcome at WARN, with its key).
pub(super) fn log_stop(e: &Error) {
    if e.kind() == ErrorKind::Ambiguous {
        tracing::warn!(
            kind = %e.kind(),
            status = e.status(),
            idempotency_key = e.idempotency_key().map(|k| k.as_str()).unwrap_or(""),
            "outcome unknown: not retried"
        );
    } else {
        tracing::debug!(kind = %e.kind(), status = e.status(), "call failed");
    }
}
