//! `cargo xtask release --dry-run`: what a release would do, without publishing anything.
//!
//! For every publishable crate, in dependency order (payout-core first): the version is read,
//! its `CHANGELOG.md` must have a `## [<version>]` section and a README must exist; then
//! `cargo package` builds the `.crate` files for all of them at once (cargo resolves the
//! unpublished payout-core from the workspace), and the tags a release would push are listed.

use std::fs;
use std::path::Path;
use std::process::Command;

/// Publishing order: the core before the providers that depend on it.
const ORDER: &[&str] = &[
    "payout-core",
    "rocheap",
    "romplhub",
    "xrocket",
    "agent-catalog",
    "rohopay",
    "payout-cli", // the `payout` binary; depends on every provider crate, so it goes last
];

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
        plan.push((krate.to_string(), version));
    }
    if !problems.is_empty() {
        return Err(format!("release checks failed:\n  - {}", problems.join("\n  - ")));
    }
    let mut args = vec![
        "package".to_string(),
        "--allow-dirty".to_string(),
        "--no-verify".to_string(),
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

fn package_version(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_package = l == "[package]";
            continue;
        }
        if in_package && let Some(v) = l.strip_prefix("version") {
            let v = v.trim_start().strip_prefix('=')?.trim().trim_matches('"');
            return Some(v.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_package_version_only() {
        let m = "[package]\nname = \"x\"\nversion = \"1.2.3\"\n[dependencies]\nversion = \"9\"\n";
        assert_eq!(super::package_version(m).as_deref(), Some("1.2.3"));
        assert_eq!(super::package_version("[dependencies]\nversion = \"9\"\n"), None);
    }
}
