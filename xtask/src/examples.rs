//! `cargo xtask test`'s examples step: each provider crate's teaching examples (`errors`,
//! `pagination`) run once, offline against the crate's sandbox, with no key in the environment.

use std::path::Path;
use std::process::Command;

use crate::codegen::PROVIDERS;

/// The examples that teach, beside each crate's quickstart (which `cargo xtask demo` runs).
const EXAMPLES: &[&str] = &["errors", "pagination"];

pub fn run_all(root: &Path) -> Result<(), String> {
    let mut failed = Vec::new();
    for (krate, _, _) in PROVIDERS {
        let dir = root.join("crates").join(krate);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        let package = crate::release::package_name(&manifest).unwrap_or_else(|| krate.to_string());
        for example in EXAMPLES {
            if !dir.join("examples").join(format!("{example}.rs")).is_file() {
                println!("    {package}: no examples/{example}.rs yet");
                continue;
            }
            let args = ["run", "-q", "-p", &package, "--example", example];
            println!("    $ cargo {}", args.join(" "));
            let mut cmd = Command::new(crate::cargo_bin());
            cmd.args(args).current_dir(root);
            for (k, _) in std::env::vars() {
                // Offline: no provider key or base URL reaches an example.
                if k.ends_with("_API_KEY") || k.ends_with("_BASE_URL") || k.ends_with("_TOKEN") {
                    cmd.env_remove(k);
                }
            }
            let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
            if !out.status.success() {
                println!("{}", String::from_utf8_lossy(&out.stderr));
                failed.push(format!("{package} --example {example}"));
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("examples failed: {}", failed.join(", ")))
    }
}
