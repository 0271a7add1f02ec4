//! `cargo xtask demo`: every provider's quickstart flow against its offline sandbox, with no
//! network and no credentials, as a short transcript per provider and a final summary; then
//! payout-journal's crash flow: a worker killed mid-payout, restarted, and the payout settled once.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::codegen::PROVIDERS;

/// Every provider's key variable is removed, so each quickstart picks its sandbox.
const KEY_VARS: &[&str] = &[
    "ROCHEAP_API_KEY",
    "ROMPLHUB_API_KEY",
    "XROCKET_API_KEY",
    "AGENT_CATALOG_API_KEY",
    "ROHOPAY_API_KEY",
];

pub fn run(root: &Path) -> Result<(), String> {
    let started = Instant::now();
    let mut results: Vec<(&str, &str, Result<f64, String>)> = Vec::new();
    let flows = PROVIDERS
        .iter()
        .map(|(krate, provider, _)| (*krate, *provider, "sandbox", "quickstart"))
        // A worker killed with SIGKILL mid-payout, restarted, and the payout settled once by
        // the journal's recovery (the xRocket sandbox runs in the demo's process).
        .chain([("payout-journal", "journal: kill mid-payout", "", "crash_demo")]);
    for (krate, provider, feature, example) in flows {
        let dir = root.join("crates").join(krate);
        println!("\n=== {provider} (`{krate}`) ===");
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        if !feature.is_empty() && !manifest.contains("\nsandbox = ") {
            println!("    no sandbox yet");
            results.push((krate, provider, Err("no sandbox feature".into())));
            continue;
        }
        let package = crate::release::package_name(&manifest).unwrap_or_else(|| krate.to_string());
        let t = Instant::now();
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["run", "--quiet", "-p", &package, "--example", example]);
        if !feature.is_empty() {
            cmd.args(["--features", feature]);
        }
        cmd.current_dir(root);
        for v in KEY_VARS {
            cmd.env_remove(v);
        }
        let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            println!("    {line}");
        }
        let secs = t.elapsed().as_secs_f64();
        if out.status.success() {
            results.push((krate, provider, Ok(secs)));
        } else {
            for line in String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .iter()
                .rev()
            {
                println!("    ! {line}");
            }
            results.push((krate, provider, Err(format!("exited with {}", out.status))));
        }
    }
    println!("\n=== summary ({:.1}s) ===", started.elapsed().as_secs_f64());
    let mut failed = 0;
    for (krate, provider, r) in &results {
        match r {
            Ok(secs) => println!("    [ ok ] {krate:<14} {provider:<26} {secs:>5.1}s"),
            Err(e) => {
                failed += 1;
                println!("    [FAIL] {krate:<14} {provider:<26} {e}");
            }
        }
    }
    println!("flows: {} passed, {failed} failed", results.len() - failed);
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} flow(s) failed"))
    }
}
