//! `cargo xtask fuzz [--seconds N] [TARGET...]`: runs every cargo-fuzz target in `fuzz/` (or
//! the named ones) for N seconds each (default 60), one after another, and prints the
//! executions per target and whether anything crashed.
//!
//! Not part of `cargo xtask test`: it needs the nightly toolchain and minutes of CPU.
//! cargo-fuzz is installed from crates.io on first use. Targets are built with debug
//! assertions (overflow checks on) and without a sanitizer: the code under test forbids
//! `unsafe`, so a panic is the failure we look for, and uninstrumented runs are several
//! times faster. All targets are built once, then each binary runs directly (no rebuild between
//! targets). Each reads its checked-in seeds from `fuzz/corpus/<target>` and grows a working
//! corpus in `fuzz/target/work-corpus/<target>` (git-ignored), so reruns continue where the
//! last one stopped. A crash leaves its input in `fuzz/artifacts/<target>/`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Parsed `cargo xtask fuzz` arguments.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Args {
    pub(crate) seconds: u64,
    pub(crate) targets: Vec<String>,
}

/// Reads `[--seconds N] [TARGET...]` (the arguments after `fuzz`).
pub(crate) fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut seconds = 60;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--seconds" {
            let v = it.next().ok_or("--seconds needs a number")?;
            seconds = v
                .parse()
                .map_err(|_| format!("--seconds needs a whole number of seconds, got `{v}`"))?;
        } else if let Some(v) = a.strip_prefix("--seconds=") {
            seconds = v
                .parse()
                .map_err(|_| format!("--seconds needs a whole number of seconds, got `{v}`"))?;
        } else if a.starts_with('-') {
            return Err(format!(
                "unknown option `{a}` (usage: cargo xtask fuzz [--seconds N] [TARGET...])"
            ));
        } else {
            targets.push(a.clone());
        }
    }
    if seconds == 0 {
        return Err("--seconds must be at least 1".into());
    }
    Ok(Args { seconds, targets })
}

/// What one target's run produced.
struct Outcome {
    target: String,
    executions: Option<u64>,
    secs: f64,
    crashed: bool,
    log: String,
}

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let args = parse_args(args)?;
    let fuzz_dir = root.join("fuzz");
    ensure_cargo_fuzz()?;
    let all = list_targets(&fuzz_dir)?;
    let targets: Vec<String> = if args.targets.is_empty() {
        all
    } else {
        for t in &args.targets {
            if !all.contains(t) {
                return Err(format!("no fuzz target `{t}`; targets: {}", all.join(", ")));
            }
        }
        args.targets
    };
    println!("==> building {} fuzz target(s)", targets.len());
    let status = nightly(&fuzz_dir)
        .args(["fuzz", "build", "--debug-assertions", "--sanitizer", "none"])
        .status()
        .map_err(|e| format!("cannot run cargo +nightly fuzz: {e}"))?;
    if !status.success() {
        return Err("building the fuzz targets failed".into());
    }
    let logs = fuzz_dir.join("target").join("fuzz-logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let mut outcomes = Vec::new();
    for t in &targets {
        println!("==> {t}: {} s", args.seconds);
        outcomes.push(run_one(&fuzz_dir, &logs, t, args.seconds)?);
    }
    println!("\n==> summary ({} s per target)", args.seconds);
    println!(
        "    {:<24} {:>14} {:>10}  result",
        "target", "executions", "exec/s"
    );
    for o in &outcomes {
        let execs = o.executions.map_or("?".to_string(), |n| n.to_string());
        let rate = o
            .executions
            .map_or("?".to_string(), |n| format!("{:.0}", n as f64 / o.secs.max(1.0)));
        let result = if o.crashed {
            format!("CRASH (log: {})", o.log)
        } else {
            "ok".to_string()
        };
        println!("    {:<24} {:>14} {:>10}  {result}", o.target, execs, rate);
    }
    let crashed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.crashed)
        .map(|o| o.target.as_str())
        .collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "crashes in: {} (inputs in fuzz/artifacts/<target>/; reproduce with `cargo +nightly fuzz run -a -s none <target> <input>` in fuzz/, then add a named regression test)",
            crashed.join(", ")
        ))
    }
}

fn run_one(fuzz_dir: &Path, logs: &Path, target: &str, seconds: u64) -> Result<Outcome, String> {
    let work = fuzz_dir.join("target").join("work-corpus").join(target);
    let seeds = fuzz_dir.join("corpus").join(target);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    for d in [&work, &seeds, &artifacts] {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    // The binary built above, run directly: `cargo fuzz run` would rebuild first, and on a tree
    // others are editing every target would be rebuilt in turn.
    let bin = built_binary(fuzz_dir, target)?;
    let log = logs.join(format!("{target}.log"));
    let started = Instant::now();
    let out = Command::new(&bin)
        .arg(&work)
        .arg(&seeds)
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .current_dir(fuzz_dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let secs = started.elapsed().as_secs_f64();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    std::fs::write(&log, &text).map_err(|e| format!("cannot write {}: {e}", log.display()))?;
    let executions = executions(&text);
    let fuzz_secs = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Done ").and_then(done_secs))
        .unwrap_or(secs);
    Ok(Outcome {
        target: target.to_string(),
        executions,
        secs: fuzz_secs,
        crashed: !out.status.success(),
        log: log.display().to_string(),
    })
}

/// `fuzz/target/<host triple>/release/<target>`, the newest if several triples were built.
fn built_binary(fuzz_dir: &Path, target: &str) -> Result<std::path::PathBuf, String> {
    let dir = fuzz_dir.join("target");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    entries
        .flatten()
        .map(|e| e.path().join("release").join(target))
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .ok_or_else(|| format!("fuzz target `{target}` was not built under {}", dir.display()))
}

/// `stat::number_of_executed_units: 123`, or the `Done 123 runs in 60 second(s)` line.
pub(crate) fn executions(log: &str) -> Option<u64> {
    log.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("stat::number_of_executed_units:")
                .and_then(|v| v.trim().parse().ok())
        })
        .or_else(|| {
            log.lines().find_map(|l| {
                l.trim()
                    .strip_prefix("Done ")
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|n| n.parse().ok())
            })
        })
}

/// `123 runs in 60 second(s)` -> 60.
fn done_secs(rest: &str) -> Option<f64> {
    let mut words = rest.split_whitespace();
    words.next()?;
    (words.next()? == "runs").then_some(())?;
    (words.next()? == "in").then_some(())?;
    words.next()?.parse().ok()
}

/// `cargo +nightly ...` in `dir`, through the rustup proxy on PATH (not `$CARGO`, which is the
/// pinned stable toolchain running xtask) and without the variables the outer cargo set.
fn nightly(dir: &Path) -> Command {
    let mut c = Command::new("cargo");
    c.arg("+nightly").current_dir(dir);
    for v in [
        "RUSTUP_TOOLCHAIN",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WRAPPER",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        c.env_remove(v);
    }
    c
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    let found = nightly(Path::new("."))
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Ok(());
    }
    println!("==> installing cargo-fuzz from crates.io (first use)");
    let status = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .status()
        .map_err(|e| format!("cannot run cargo install: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("`cargo install cargo-fuzz` failed; is the nightly toolchain installed (`rustup toolchain install nightly`)?".into())
    }
}

fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let out = nightly(fuzz_dir)
        .args(["fuzz", "list"])
        .output()
        .map_err(|e| format!("cannot run cargo +nightly fuzz list: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo +nightly fuzz list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let targets: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if targets.is_empty() {
        return Err("no fuzz targets in fuzz/Cargo.toml".into());
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_seconds_and_targets() {
        assert_eq!(
            parse_args(&[]).unwrap(),
            Args {
                seconds: 60,
                targets: vec![]
            }
        );
        assert_eq!(
            parse_args(&s(&["--seconds", "5", "money"])).unwrap(),
            Args {
                seconds: 5,
                targets: s(&["money"])
            }
        );
        assert_eq!(parse_args(&s(&["--seconds=7"])).unwrap().seconds, 7);
        assert!(parse_args(&s(&["--seconds"])).is_err());
        assert!(parse_args(&s(&["--seconds", "x"])).is_err());
        assert!(parse_args(&s(&["--seconds", "0"])).is_err());
        assert!(parse_args(&s(&["--minutes", "1"])).is_err());
    }

    #[test]
    fn reads_executions_from_libfuzzer_output() {
        let log = "#65536\tpulse  cov: 10\nDone 659307 runs in 21 second(s)\nstat::number_of_executed_units: 659307\n";
        assert_eq!(executions(log), Some(659_307));
        assert_eq!(executions("Done 12 runs in 1 second(s)"), Some(12));
        assert_eq!(executions("crash"), None);
        assert_eq!(done_secs("659307 runs in 21 second(s)"), Some(21.0));
    }
}
