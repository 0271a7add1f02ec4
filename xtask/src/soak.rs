//! `cargo xtask soak [--calls N] [--release]`: the soak of issue 16 at full strength, 1,000
//! money-moving calls per provider (or N) from 64 concurrent tasks against each provider's
//! sandbox, with a seeded random fault in 20 % of requests. It runs the same test as the
//! reduced version in `cargo xtask test` (`crates/payout-soak/tests/soak.rs`, 100 calls),
//! with `PAYOUT_SOAK_CALLS` set, and prints its report (the tables of `docs/reliability.md`).

use std::path::Path;

/// Parsed `cargo xtask soak` arguments.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Args {
    pub(crate) calls: u64,
    pub(crate) release: bool,
}

/// Reads `[--calls N] [--release]` (the arguments after `soak`).
pub(crate) fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        calls: 1000,
        release: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = if a == "--calls" {
            Some(it.next().ok_or("--calls needs a number")?.as_str())
        } else {
            a.strip_prefix("--calls=")
        };
        if let Some(v) = value {
            parsed.calls = v
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("--calls needs a positive whole number, got `{v}`"))?;
        } else if a == "--release" {
            parsed.release = true;
        } else {
            return Err(format!(
                "unknown argument `{a}` (usage: cargo xtask soak [--calls N] [--release])"
            ));
        }
    }
    Ok(parsed)
}

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let args = parse_args(args)?;
    let calls = args.calls.to_string();
    let mut cargo_args = vec!["test", "-p", "payout-soak", "--test", "soak"];
    if args.release {
        cargo_args.push("--release");
    }
    cargo_args.extend(["--", "--nocapture"]);
    println!("==> soak: {calls} calls per provider");
    super::cargo(root, &cargo_args, &[("PAYOUT_SOAK_CALLS", calls.as_str())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn defaults_to_the_full_run() {
        assert_eq!(
            parse_args(&[]).unwrap(),
            Args {
                calls: 1000,
                release: false
            }
        );
    }

    #[test]
    fn reads_calls_and_release() {
        assert_eq!(
            parse_args(&s(&["--calls", "250", "--release"])).unwrap(),
            Args {
                calls: 250,
                release: true
            }
        );
        assert_eq!(parse_args(&s(&["--calls=7"])).unwrap().calls, 7);
    }

    #[test]
    fn refuses_bad_input() {
        assert!(parse_args(&s(&["--calls"])).is_err());
        assert!(parse_args(&s(&["--calls", "0"])).is_err());
        assert!(parse_args(&s(&["--calls", "many"])).is_err());
        assert!(parse_args(&s(&["--fast"])).is_err());
    }
}
