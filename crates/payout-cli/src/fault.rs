//! Fault specs, as given to `--fault` and to the control API's `POST /fault`.
//!
//! A kind is one of `status:CODE` (or just `CODE`), `rate-limited[:SECONDS]`, `html[:CODE]`,
//! `delay:MILLISECONDS`, `drop-after-processing`, `drop-after-read`,
//! `status-after-processing:CODE` (the work is done, the answer says it failed) and
//! `truncated-json` (the work is done, the answer is cut off mid-body). On the command line a
//! spec may add a count and a target: `KIND[*N][@METHOD/path/prefix]`, e.g.
//! `drop-after-processing@POST/create_order` or `503*2`.

use std::time::Duration;

use payout_core::sandbox::{Fault, SandboxServer};

/// A fault with how many requests it applies to and which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FaultSpec {
    pub(crate) fault: Fault,
    pub(crate) count: usize,
    pub(crate) method: Option<String>,
    pub(crate) path_prefix: Option<String>,
}

const KINDS: &str = "status:CODE (or CODE), rate-limited[:SECONDS], html[:CODE], delay:MS, \
                     drop-after-processing, drop-after-read, status-after-processing:CODE, truncated-json";

/// Parses a fault kind (no count, no target).
pub(crate) fn parse_kind(kind: &str) -> Result<Fault, String> {
    let kind = kind.trim();
    let (name, arg) = match kind.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (kind, None),
    };
    let number = |what: &str| -> Result<u64, String> {
        match arg {
            Some(a) => a
                .parse::<u64>()
                .map_err(|_| format!("fault `{kind}`: {what} must be a number")),
            None => Err(format!("fault `{kind}`: needs `:{what}`")),
        }
    };
    let status = |v: u64| -> Result<u16, String> {
        u16::try_from(v)
            .ok()
            .filter(|s| (400..=599).contains(s))
            .ok_or_else(|| format!("fault `{kind}`: the status must be 400..=599"))
    };
    match name {
        "status" => Ok(Fault::Status(status(number("CODE")?)?)),
        "rate-limited" => {
            let secs = if arg.is_some() { number("SECONDS")? } else { 1 };
            Ok(Fault::RateLimited(Duration::from_secs(secs)))
        }
        "html" => {
            let code = if arg.is_some() {
                status(number("CODE")?)?
            } else {
                502
            };
            Ok(Fault::HtmlPage(code))
        }
        "delay" => Ok(Fault::Delay(Duration::from_millis(number("MS")?))),
        "drop-after-processing" if arg.is_none() => Ok(Fault::DropAfterProcessing),
        "status-after-processing" => Ok(Fault::StatusAfterProcessing(status(number("CODE")?)?)),
        "truncated-json" if arg.is_none() => Ok(Fault::TruncatedJson),
        "drop-after-read" if arg.is_none() => Ok(Fault::DropAfterRead),
        n if arg.is_none() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => Ok(Fault::Status(
            status(n.parse::<u64>().map_err(|e| e.to_string())?)?,
        )),
        _ => Err(format!("unknown fault `{kind}`; one of: {KINDS}")),
    }
}

/// Parses `KIND[*N][@METHOD/path/prefix]`.
pub(crate) fn parse_spec(spec: &str) -> Result<FaultSpec, String> {
    let (rest, target) = match spec.split_once('@') {
        Some((r, t)) => (r, Some(t)),
        None => (spec, None),
    };
    let (kind, count) = match rest.split_once('*') {
        Some((k, n)) => (
            k,
            n.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("fault `{spec}`: the count after `*` must be a positive number"))?,
        ),
        None => (rest, 1),
    };
    let (method, path_prefix) = match target {
        None => (None, None),
        Some(t) => {
            let (m, p) = match t.find('/') {
                Some(i) => (&t[..i], &t[i..]),
                None => (t, "/"),
            };
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(format!(
                    "fault `{spec}`: the target is METHOD/path/prefix, e.g. @POST/orders"
                ));
            }
            (Some(m.to_ascii_uppercase()), Some(p.to_string()))
        }
    };
    Ok(FaultSpec {
        fault: parse_kind(kind)?,
        count,
        method,
        path_prefix,
    })
}

impl FaultSpec {
    /// Checks the combination and scripts it on `server`.
    pub(crate) fn apply(&self, server: &SandboxServer) -> Result<(), String> {
        if self.count == 0 {
            return Err("count must be at least 1".into());
        }
        match (&self.method, &self.path_prefix) {
            (None, None) => server.fail_next(self.count, self.fault.clone()),
            (Some(m), p) => {
                server.fail_next_on(m, p.as_deref().unwrap_or("/"), self.count, self.fault.clone())
            }
            (None, Some(_)) => return Err("a path_prefix needs a method too".into()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse() {
        assert_eq!(parse_kind("503"), Ok(Fault::Status(503)));
        assert_eq!(parse_kind("status:500"), Ok(Fault::Status(500)));
        assert_eq!(parse_kind("429"), Ok(Fault::Status(429)));
        assert_eq!(
            parse_kind("rate-limited:3"),
            Ok(Fault::RateLimited(Duration::from_secs(3)))
        );
        assert_eq!(
            parse_kind("rate-limited"),
            Ok(Fault::RateLimited(Duration::from_secs(1)))
        );
        assert_eq!(parse_kind("html"), Ok(Fault::HtmlPage(502)));
        assert_eq!(parse_kind("html:504"), Ok(Fault::HtmlPage(504)));
        assert_eq!(
            parse_kind("delay:1500"),
            Ok(Fault::Delay(Duration::from_millis(1500)))
        );
        assert_eq!(
            parse_kind("drop-after-processing"),
            Ok(Fault::DropAfterProcessing)
        );
        assert_eq!(parse_kind("drop-after-read"), Ok(Fault::DropAfterRead));
        assert_eq!(
            parse_kind("status-after-processing:502"),
            Ok(Fault::StatusAfterProcessing(502))
        );
        assert_eq!(parse_kind("truncated-json"), Ok(Fault::TruncatedJson));
        for bad in [
            "",
            "200",
            "status",
            "status:abc",
            "delay",
            "boom",
            "drop-after-read:1",
            "70000",
        ] {
            assert!(parse_kind(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn specs_parse() {
        assert_eq!(
            parse_spec("drop-after-processing@post/create_order"),
            Ok(FaultSpec {
                fault: Fault::DropAfterProcessing,
                count: 1,
                method: Some("POST".into()),
                path_prefix: Some("/create_order".into()),
            })
        );
        assert_eq!(
            parse_spec("503*2"),
            Ok(FaultSpec {
                fault: Fault::Status(503),
                count: 2,
                method: None,
                path_prefix: None,
            })
        );
        assert_eq!(parse_spec("500@GET").map(|s| s.path_prefix), Ok(Some("/".into())));
        for bad in ["503*0", "503*x", "503@/x", "503@P1/x"] {
            assert!(parse_spec(bad).is_err(), "{bad}");
        }
    }
}
