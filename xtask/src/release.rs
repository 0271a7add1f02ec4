//! `cargo xtask release --dry-run`: what a release would do, without publishing anything.
//!
//! For every publishable crate, in dependency order (payout-core first): the version is read,
//! its `CHANGELOG.md` must have a `## [<version>]` section and a README must exist; then
//! `cargo package` builds the `.crate` files for all of them at once (cargo resolves the
//! unpublished payout-core from the workspace), and the tags a release would push are listed.
//!
//! It runs offline (`cargo package --offline` against the path dependencies). When the registry
//! can be reached, every package name is looked up (`cargo info`): a name that exists with
//! another repository (or none) than ours fails the dry run; an unreachable registry is said
//! and does not fail it.

use std::fs;
use std::path::Path;
use std::process::Command;

/// Publishing order (directories under `crates/`): the core before the crates that depend on it.
/// The package name is read from each manifest (`crates/xrocket` is the package `xrocket-pay`).
const ORDER: &[&str] = &[
    "payout-core",
    "rocheap",
    "romplhub",
    "xrocket",
    "agent-catalog",
    "rohopay",
    "payout-journal",
    "payout-cli", // the `payout` binary; depends on every provider crate, so it goes last
];

/// Our repository, as a published crate of ours would name it; `None` while the workspace has
/// none (then every name that already exists on the registry belongs to someone else).
const OUR_REPOSITORY: Option<&str> = None;

pub fn run(root: &Path, dry_run: bool) -> Result<(), String> {
    if !dry_run {
        return Err(
            "only `cargo xtask release --dry-run` exists: publishing needs a registry token and a maintainer \
             running `cargo publish -p <crate>` in the order the dry run prints"
                .into(),
        );
    }
    let mut problems = Vec::new();
    let mut plan = Vec::new();
    for krate in ORDER {
        let dir = root.join("crates").join(krate);
        if !dir.exists() {
            continue;
        }
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).map_err(|e| format!("{krate}: {e}"))?;
        let Some(name) = package_field(&manifest, "name") else {
            problems.push(format!("{krate}: no name in Cargo.toml"));
            continue;
        };
        let Some(version) = package_version(&manifest) else {
            problems.push(format!("{krate}: no version in Cargo.toml"));
            continue;
        };
        match fs::read_to_string(dir.join("CHANGELOG.md")) {
            Ok(log) if log.contains(&format!("## [{version}]")) => {}
            Ok(_) => problems.push(format!("{krate}: CHANGELOG.md has no `## [{version}]` section")),
            Err(_) => problems.push(format!("{krate}: CHANGELOG.md is missing")),
        }
        if !dir.join("README.md").exists() {
            problems.push(format!("{krate}: README.md is missing"));
        }
        if manifest.contains("publish = false") {
            problems.push(format!("{krate}: marked publish = false"));
        }
        plan.push((name, version));
    }
    check_names(&plan, &mut problems);
    if !problems.is_empty() {
        return Err(format!("release checks failed:\n  - {}", problems.join("\n  - ")));
    }
    let mut args = vec![
        "package".to_string(),
        "--allow-dirty".to_string(),
        "--no-verify".to_string(),
        "--offline".to_string(),
    ];
    for (k, _) in &plan {
        args.push("-p".into());
        args.push(k.clone());
    }
    println!("$ cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(&args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo package failed ({status})"));
    }
    println!("\nrelease plan (dry run; nothing was published or tagged):");
    for (i, (k, v)) in plan.iter().enumerate() {
        println!(
            "  {}. cargo publish -p {k}   tag {k}-v{v}   (target/package/{k}-{v}.crate)",
            i + 1
        );
    }
    Ok(())
}

/// Looks every package name up on crates.io with `cargo info` (the sparse index and the API).
/// Taken by someone else: a problem. Unreachable registry: said, not a failure.
fn check_names(plan: &[(String, String)], problems: &mut Vec<String>) {
    println!("package names on crates.io:");
    for (name, _) in plan {
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["info", "--registry", "crates-io", name])
            // Outside the workspace, so cargo info asks the registry, not our path crates.
            .current_dir(std::env::temp_dir())
            .env("CARGO_HTTP_TIMEOUT", "15")
            .env("CARGO_NET_RETRY", "0")
            .output();
        let Ok(out) = out else {
            println!("  {name}: not checked (cannot run `cargo info`)");
            continue;
        };
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        match name_status(out.status.success(), &text) {
            NameStatus::Free => println!("  {name}: free"),
            NameStatus::Unreachable => {
                println!(
                    "  {name}: not checked: the registry could not be reached (the dry run does not fail)"
                )
            }
            NameStatus::Taken(repo) => {
                if OUR_REPOSITORY.is_some() && repo.as_deref() == OUR_REPOSITORY {
                    println!("  {name}: ours (published before)");
                } else {
                    let by = repo.unwrap_or_else(|| "no repository".into());
                    println!("  {name}: TAKEN ({by})");
                    problems.push(format!(
                        "{name}: the name exists on crates.io with another repository ({by})"
                    ));
                }
            }
        }
    }
}

#[derive(Debug, PartialEq)]
enum NameStatus {
    Free,
    Taken(Option<String>),
    Unreachable,
}

/// Reads `cargo info`'s answer: success prints the crate with a `repository:` line; a missing
/// crate says "could not find"; anything else (DNS, timeout, offline) is unreachable.
fn name_status(success: bool, text: &str) -> NameStatus {
    if success {
        let repo = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("repository:"))
            .map(|r| r.trim().to_string());
        return NameStatus::Taken(repo);
    }
    if text.contains("could not find") {
        NameStatus::Free
    } else {
        NameStatus::Unreachable
    }
}

fn package_version(manifest: &str) -> Option<String> {
    package_field(manifest, "version")
}

/// A `key = "value"` of the `[package]` table.
fn package_field(manifest: &str, key: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_package = l == "[package]";
            continue;
        }
        if in_package && let Some(v) = l.strip_prefix(key) {
            let Some(v) = v.trim_start().strip_prefix('=') else {
                continue;
            };
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

/// The package name of a crate directory's manifest (`crates/xrocket` is `xrocket-pay`).
pub fn package_name(manifest: &str) -> Option<String> {
    package_field(manifest, "name")
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_package_version_only() {
        let m = "[package]\nname = \"x\"\nversion = \"1.2.3\"\n[dependencies]\nversion = \"9\"\n";
        assert_eq!(super::package_version(m).as_deref(), Some("1.2.3"));
        assert_eq!(super::package_version("[dependencies]\nversion = \"9\"\n"), None);
    }

    #[test]
    fn reads_the_package_name_past_comments() {
        let m = "[package]\n# `xrocket` is taken\nname = \"xrocket-pay\"\n[lib]\nname = \"xrocket\"\n";
        assert_eq!(super::package_name(m).as_deref(), Some("xrocket-pay"));
    }

    #[test]
    fn name_status_reads_cargo_info() {
        use super::NameStatus::*;
        let taken = "xrocket #api\nxRocket API Client\nversion: 0.1.0\nrepository: https://github.com/x/y\n";
        assert_eq!(
            super::name_status(true, taken),
            Taken(Some("https://github.com/x/y".into()))
        );
        assert_eq!(super::name_status(true, "xrocket\nversion: 0.1.0\n"), Taken(None));
        let free = "error: could not find `xrocket-pay` in registry `crates-io`";
        assert_eq!(super::name_status(false, free), Free);
        let off = "error: failed to query replaced source registry `crates-io`\nCaused by: [6] Couldn't resolve host name";
        assert_eq!(super::name_status(false, off), Unreachable);
    }
}
