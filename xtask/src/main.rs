//! Workspace automation for payout-rs.
//!
//! * `cargo xtask demo` — every provider's quickstart flow against its offline sandbox, no
//!   network, no credentials.
//! * `cargo xtask test` — the one command that says the tree is good: rustfmt check, clippy
//!   with `-D warnings`, a default-features check, every test and doctest, `cargo doc` with warnings denied,
//!   `codegen --check`, no `openssl-sys` in the default dependency tree, and each TLS feature
//!   (`rustls-aws-lc`, `rustls-ring`, `native-tls`, none) compiling for one provider crate.
//! * `cargo xtask codegen [--check]` — regenerate (or check) the endpoint tables from each
//!   crate's `api/endpoints.json`, and check every endpoint has a client function and a wire test.
//! * `cargo xtask journal-crash` — payout-journal's crash test at full strength (100+ SIGKILLs
//!   per provider) against a throwaway PostgreSQL.
//! * `cargo xtask bench [--quick] [--pin] [--pairs [N]]` — the SDK against a raw-reqwest
//!   baseline on a loopback server (`bench/`, its own workspace): interleaved in-process reps,
//!   or with `--pairs` whole-process pairs pinned to separate CPUs; writes
//!   `target/bench/results.json`; not part of `test`.
//! * `cargo xtask fuzz [--seconds N] [TARGET...]` — every cargo-fuzz target in `fuzz/` for N
//!   seconds each (default 60) on the nightly toolchain; not part of `test`.
//! * `cargo xtask soak [--calls N]` — the soak of 1,000 money-moving calls per provider under
//!   seeded random faults (`crates/payout-soak`); its 100-call version runs in `test`.
//! * `cargo xtask release --dry-run` — check versions and changelogs and `cargo package` every
//!   publishable crate in dependency order; it never publishes.
//! * `cargo xtask deny [--advisories]` — the dependency policy in `deny.toml` (licences, bans,
//!   sources; offline) with cargo-deny, installed on demand; not part of `test`.
//! * `cargo xtask semver [--baseline-rev REV]` — cargo-semver-checks for every publishable library
//!   against a git revision (default: the newest `v*` tag), installed on demand; not part of `test`.

mod bench;
mod codegen;
mod demo;
mod deny;
mod examples;
mod fuzz;
mod release;
mod semver;
mod services;
mod soak;
mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&root),
        Some("codegen") => codegen::run(&root, args.iter().any(|a| a == "--check")).map(|report| {
            println!("{report}");
        }),
        Some("demo") => demo::run(&root),
        Some("release") => release::run(&root, !args.iter().any(|a| a == "--execute")),
        Some("journal-crash") => journal_crash(&root),
        Some("fuzz") => fuzz::run(&root, &args[1..]),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("soak") => soak::run(&root, &args[1..]),
        Some("with-services") => with_services(&root, &args[1..]),
        Some("deny") => deny::run(&root, &args[1..]),
        Some("semver") => semver::run(&root, &args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 demo                 run every provider's quickstart flow against its offline sandbox\n  \
                 test                 fmt check, clippy -D warnings, tests, doctests, docs, codegen --check, openssl check\n  \
                 codegen [--check]    regenerate (or verify) endpoint tables from crates/*/api/endpoints.json\n  \
                 release --dry-run    check versions/changelogs and cargo package each crate in dependency order\n  \
                 deny [--advisories]  cargo-deny: licences, bans, sources (offline; --advisories fetches RustSec)\n  \
                 semver [--baseline-rev REV]  cargo-semver-checks of each library against REV (default: newest v* tag)\n  \
                 fuzz [--seconds N]   run every fuzz target N s each (default 60; nightly, cargo-fuzz installed on demand)\n  \
                 bench [--quick] [--pin] [--pairs [N]]  SDK vs raw reqwest on a loopback server; table + target/bench/results.json\n  \
                 soak [--calls N]     1,000 (N) payouts per provider against the sandboxes under random faults\n  \
                 with-services CMD..  run CMD with a throwaway PostgreSQL and Redis (PAYOUT_TEST_*_URL set)\n  \
                 journal-crash        payout-journal's full crash test (100+ SIGKILLs per provider) on a throwaway PostgreSQL"
            );
            Err("unknown or missing command".into())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// One step of `cargo xtask test`.
struct Step {
    name: &'static str,
    ok: bool,
    secs: f64,
}

fn test(root: &Path) -> Result<(), String> {
    let started = Instant::now();
    let mut steps: Vec<Step> = Vec::new();
    let mut tests_passed = 0u64;
    let mut tests_failed = 0u64;

    // Real servers for the tests that need them (installed when missing, stopped at the end
    // even when a step fails: `Services` stops them on drop).
    let mut services: Option<services::Services> = None;
    let mut run = |name: &'static str, f: &mut dyn FnMut() -> Result<(), String>| {
        println!("\n==> {name}");
        let t = Instant::now();
        let r = f();
        if let Err(e) = &r {
            eprintln!("    FAILED: {e}");
        }
        steps.push(Step {
            name,
            ok: r.is_ok(),
            secs: t.elapsed().as_secs_f64(),
        });
    };

    run("rustfmt --check", &mut || {
        cargo(root, &["fmt", "--all", "--", "--check"], &[])
    });
    // Users who do not enable `sandbox` must build too: the libraries with default features
    // (tests and examples get `sandbox` through each crate's dev-dependency on itself).
    run("check (default features)", &mut || {
        cargo(root, &["check", "--workspace", "--lib", "--bins"], &[])
    });
    run("clippy -D warnings", &mut || {
        let features = all_but_tls_features(root)?;
        cargo(
            root,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--features",
                &features,
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )
    });
    run("PostgreSQL and Redis for the tests", &mut || {
        services = Some(services::Services::start()?);
        Ok(())
    });
    let service_env: Vec<(String, String)> = services
        .as_ref()
        .map(|s| {
            s.env()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    run("tests and doctests", &mut || {
        let (p, f, ok) = cargo_test(root, &service_env)?;
        tests_passed += p;
        tests_failed += f;
        if ok {
            Ok(())
        } else {
            Err(format!("{f} test(s) failed"))
        }
    });
    drop(services.take());
    run("cargo doc (warnings denied)", &mut || {
        let features = all_but_tls_features(root)?;
        cargo(
            root,
            &["doc", "--workspace", "--no-deps", "--features", &features],
            &[("RUSTDOCFLAGS", "-D warnings")],
        )
    });
    run("codegen --check", &mut || {
        codegen::run(root, true).map(|r| println!("{r}"))
    });
    run("no openssl-sys in the default tree", &mut || no_openssl(root));
    run("TLS choices compile; no aws-lc-sys without", &mut || {
        tls::check(root)
    });
    run("examples errors + pagination (sandbox)", &mut || {
        examples::run_all(root)
    });

    println!("\n==> summary ({:.0}s)", started.elapsed().as_secs_f64());
    for s in &steps {
        println!(
            "    [{}] {:<36} {:>6.1}s",
            if s.ok { " ok " } else { "FAIL" },
            s.name,
            s.secs
        );
    }
    let failed: Vec<&str> = steps.iter().filter(|s| !s.ok).map(|s| s.name).collect();
    // The plain closing line CI reads: how many tests ran, how many failed.
    println!("tests: {tests_passed} passed, {tests_failed} failed");
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("failed steps: {}", failed.join(", ")))
    }
}

/// `cargo xtask journal-crash`: payout-journal's crash test at full strength (at least 100
/// SIGKILLs at random instants per provider, and the two-worker PostgreSQL run).
fn journal_crash(root: &Path) -> Result<(), String> {
    let services = services::Services::start()?;
    let mut env: Vec<(String, String)> = services
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.push(("PAYOUT_JOURNAL_KILLS".to_string(), "100".to_string()));
    let (p, f, ok) = cargo_test_run(
        root,
        &[
            "test",
            "-p",
            "payout-journal",
            "--all-features",
            "--test",
            "crash",
            "--",
            "--nocapture",
        ],
        &env,
    )?;
    println!("tests: {p} passed, {f} failed");
    if ok {
        Ok(())
    } else {
        Err(format!("{f} crash test(s) failed"))
    }
}

/// `cargo xtask with-services <cmd> [args]`: what `cargo xtask test` gives its tests, for one
/// command (e.g. `cargo xtask with-services cargo test -p payout-journal --all-features`).
fn with_services(root: &Path, cmd: &[String]) -> Result<(), String> {
    let Some((program, args)) = cmd.split_first() else {
        return Err("usage: cargo xtask with-services <command> [args...]".into());
    };
    let services = services::Services::start()?;
    let status = Command::new(program)
        .args(args)
        .envs(services.env())
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    drop(services);
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} exited with {status}"))
    }
}

fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn cargo(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    println!("    $ cargo {}", args.join(" "));
    let status = Command::new(cargo_bin())
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` exited with {status}", args.join(" ")))
    }
}

/// Features that pick a TLS stack instead of adding API: left out of the all-features runs
/// (`native-tls` needs OpenSSL headers; each TLS choice is compiled on its own by `tls.rs`).
pub(crate) const TLS_ALTERNATIVES: [&str; 2] = ["rustls-ring", "native-tls"];

/// `cargo metadata --no-deps --offline` of the workspace, parsed.
pub(crate) fn workspace_metadata(root: &Path) -> Result<serde_json::Value, String> {
    let out = Command::new(cargo_bin())
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata output: {e}"))
}

/// Runs the whole test suite (unit, integration, then doctests), streaming its output, and
/// adds up the `test result:` lines.
/// `--features pkg/feat,...` for every feature of every workspace package except the TLS
/// alternatives: `--all-features` would build aws-lc, ring and OpenSSL at once (three TLS stacks,
/// and OpenSSL headers on the machine) where one is enough; the `TLS choices` step checks the
/// others one at a time.
fn all_but_tls_features(root: &Path) -> Result<String, String> {
    let meta = workspace_metadata(root)?;
    let mut features = Vec::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let name = pkg["name"].as_str().unwrap_or_default();
        for feat in pkg["features"].as_object().into_iter().flatten().map(|(k, _)| k) {
            if feat != "default" && !TLS_ALTERNATIVES.contains(&feat.as_str()) {
                features.push(format!("{name}/{feat}"));
            }
        }
    }
    Ok(features.join(","))
}

fn cargo_test(root: &Path, env: &[(String, String)]) -> Result<(u64, u64, bool), String> {
    // Examples are type-checked by clippy and `check --all-targets`; linking them here would
    // put five `quickstart` binaries on one output path (cargo's filename-collision warning).
    let features = all_but_tls_features(root)?;
    let (p1, f1, ok1) = cargo_test_run(
        root,
        &[
            "test",
            "--workspace",
            "--features",
            &features,
            "--no-fail-fast",
            "--lib",
            "--bins",
            "--tests",
        ],
        env,
    )?;
    let (p2, f2, ok2) = cargo_test_run(
        root,
        &[
            "test",
            "--workspace",
            "--features",
            &features,
            "--no-fail-fast",
            "--doc",
        ],
        env,
    )?;
    Ok((p1 + p2, f1 + f2, ok1 && ok2))
}

fn cargo_test_run(root: &Path, args: &[&str], env: &[(String, String)]) -> Result<(u64, u64, bool), String> {
    use std::io::{BufRead, BufReader};
    println!("    $ cargo {}", args.join(" "));
    let mut child = Command::new(cargo_bin())
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(root)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(rest) = line.trim().strip_prefix("test result: ") {
                passed += count(rest, " passed");
                failed += count(rest, " failed");
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    Ok((passed, failed, status.success()))
}

/// Reads `N passed` out of `ok. 12 passed; 0 failed; ...`.
fn count(line: &str, what: &str) -> u64 {
    line.split(';')
        .find_map(|part| {
            let part = part
                .trim()
                .trim_start_matches("ok.")
                .trim_start_matches("FAILED.")
                .trim();
            part.strip_suffix(what.trim_start())
                .or_else(|| part.strip_suffix(what))
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

fn no_openssl(root: &Path) -> Result<(), String> {
    let args = ["tree", "--workspace", "-e", "normal", "--prefix", "none"];
    println!("    $ cargo {}", args.join(" "));
    let out = Command::new(cargo_bin())
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    let bad: Vec<&str> = tree
        .lines()
        .filter(|l| {
            l.starts_with("openssl-sys ") || l.starts_with("openssl ") || l.starts_with("native-tls ")
        })
        .collect();
    if bad.is_empty() {
        // `cargo tree` repeats shared dependencies (marked `(*)`): count each package once.
        let unique: std::collections::BTreeSet<&str> = tree
            .lines()
            .map(|l| l.trim_end_matches(" (*)"))
            .filter(|l| !l.is_empty())
            .collect();
        println!(
            "    ok: {} packages in the default tree, none of them OpenSSL",
            unique.len()
        );
        Ok(())
    } else {
        Err(format!(
            "OpenSSL in the default dependency tree: {}",
            bad.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_test_result_lines() {
        let l = "ok. 14 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.75s";
        assert_eq!(count(l, " passed"), 14);
        assert_eq!(count(l, " failed"), 0);
        let l = "FAILED. 31 passed; 1 failed; 0 ignored";
        assert_eq!(count(l, " passed"), 31);
        assert_eq!(count(l, " failed"), 1);
    }
}
