//! `cargo xtask bench [--quick] [--pin] [--reps N] [--calls N] [--items N]`: the SDK against a
//! raw-reqwest baseline, one run (see `bench/src/main.rs` and `docs/performance.md`).
//!
//! `cargo xtask bench --pairs [N] [--quick] [--calls N] [--items N] [--per-task N] [--zero-runs N]`:
//! whole-process pairs instead (N pairs per row, default 21): the server on CPU 1, each
//! `payout-bench cg` child on CPU 0, SDK and raw processes alternating; per row the median CPU
//! per call after subtracting a 0-call process's fixed cost, the SDK/raw ratio per pair (min,
//! median, max) and a bootstrap 95% interval of the median ratio; written under `"pairs"` in
//! `target/bench/results.json` (the other keys are kept). The driver itself is not pinned.
//!
//! Not part of `cargo xtask test`: `bench/` is its own Cargo workspace (the main workspace
//! never builds it), compiled in release mode into `target/bench-build`. The benchmark starts
//! its own loopback server (`bench-server`, a separate process), prints a table and writes
//! `target/bench/results.json`; with valgrind installed it adds callgrind instruction counts
//! (sequential scenarios on the current-thread runtime, and the 64-task scenario on the
//! multi-thread runtime: `--cg-per-task N` calls per task, median of `--cg-reps N` pairs).

use std::path::Path;
use std::process::Command;

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let manifest = root.join("bench").join("Cargo.toml");
    let target_dir = root.join("target").join("bench-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    println!(
        "    $ cargo build --release --manifest-path bench/Cargo.toml (CARGO_TARGET_DIR=target/bench-build)"
    );
    let status = Command::new(&cargo)
        .args(["build", "--release", "--bins", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building the benchmark failed".into());
    }
    let out = root.join("target").join("bench").join("results.json");
    let bench = target_dir.join("release").join("payout-bench");
    let pairs = args.iter().any(|a| a == "--pairs");
    // `--pin`: the client on CPU 0 (the bench starts its server on CPU 1). `--pairs` pins its
    // child processes itself; the driver, which only waits for them, runs anywhere.
    let mut cmd = if args.iter().any(|a| a == "--pin") && !pairs {
        let mut c = Command::new("taskset");
        c.arg("-c").arg("0").arg(&bench);
        c
    } else {
        Command::new(&bench)
    };
    let status = cmd
        .arg(if pairs { "pairs" } else { "all" })
        .args(args)
        .arg("--out")
        .arg(&out)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run the benchmark: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the benchmark failed ({status})"))
    }
}
