//! `cargo xtask deny [--advisories]`: the dependency policy in `deny.toml`, checked by cargo-deny.
//!
//! Offline by default: licences, bans and sources, which need only `Cargo.lock` and the crate
//! sources already downloaded. `--advisories` also checks the RustSec advisory database, which
//! cargo-deny fetches first (network).
//!
//! cargo-deny cannot ban a crate for one feature set only, so the policy "no OpenSSL unless the
//! user picks `native-tls`" is two runs (both explained in `deny.toml`):
//!
//! 1. `deny.toml` as written: all features; OpenSSL crates only as direct dependencies of their
//!    `wrappers` (reqwest's native-tls backend); licences, bans and sources.
//! 2. a copy with `all-features = false` and the `wrappers` removed, written to
//!    `target/xtask/deny-default-features.toml`: bans over the default features, where the
//!    OpenSSL crates are banned outright.
//!
//! Only the main workspace is checked (`bench/` and `fuzz/` are their own workspaces and ship
//! nothing). Not part of `cargo xtask test`. cargo-deny is installed with `cargo install
//! --locked` on first use.

use std::path::Path;
use std::process::Command;

/// The cargo-deny release installed on first use (builds with our 1.95 toolchain; its MSRV is 1.88).
pub(crate) const CARGO_DENY_VERSION: &str = "0.20.2";

/// Parsed `cargo xtask deny` arguments.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Args {
    /// Also check the RustSec advisories (fetches the database).
    pub(crate) advisories: bool,
}

/// Reads `[--advisories]` (the arguments after `deny`).
pub(crate) fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut advisories = false;
    for a in args {
        match a.as_str() {
            "--advisories" => advisories = true,
            other => {
                return Err(format!(
                    "unknown argument `{other}` (usage: cargo xtask deny [--advisories])"
                ));
            }
        }
    }
    Ok(Args { advisories })
}

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let args = parse_args(args)?;
    ensure_tool("deny", "cargo-deny", CARGO_DENY_VERSION)?;
    let config = root.join("deny.toml");
    let text =
        std::fs::read_to_string(&config).map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let default_config = default_features_config(&text)?;
    let dir = root.join("target").join("xtask");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let default_path = dir.join("deny-default-features.toml");
    std::fs::write(&default_path, default_config)
        .map_err(|e| format!("cannot write {}: {e}", default_path.display()))?;

    let mut failed = Vec::new();
    let steps = if args.advisories { 3 } else { 2 };
    // No network: cargo metadata from Cargo.lock and the downloaded sources.
    let offline = ["--locked", "--offline"];
    println!("==> 1/{steps} all features: licenses, bans, sources (deny.toml)");
    if let Err(e) = cargo_deny(root, &offline, &config, &["licenses", "bans", "sources"]) {
        failed.push(format!(
            "all features: {e} (if cargo could not find a crate's source offline, run `cargo fetch` once)"
        ));
    }
    println!(
        "==> 2/{steps} default features: bans, OpenSSL banned outright ({})",
        default_path.display()
    );
    if let Err(e) = cargo_deny(root, &offline, &default_path, &["bans"]) {
        failed.push(format!("default features: {e}"));
    }
    if args.advisories {
        println!(
            "==> 3/3 advisories: cargo-deny fetches the RustSec advisory database \
             (https://github.com/rustsec/advisory-db, network) into ~/.cargo/advisory-dbs, then checks it"
        );
        if let Err(e) = cargo_deny(root, &["--locked"], &config, &["advisories"]) {
            failed.push(format!(
                "advisories: {e} (an advisory above, or the database could not be fetched: see the log)"
            ));
        }
    }
    if failed.is_empty() {
        println!("==> cargo deny: ok (warnings above, if any, do not fail the check)");
        Ok(())
    } else {
        Err(format!("cargo deny failed: {}", failed.join("; ")))
    }
}

fn cargo_deny(root: &Path, global: &[&str], config: &Path, checks: &[&str]) -> Result<(), String> {
    let config = config.to_string_lossy();
    let mut args = vec!["deny", "--config", &config];
    args.extend_from_slice(global);
    args.push("check");
    args.extend_from_slice(checks);
    println!("    $ cargo {}", args.join(" "));
    let status = Command::new(super::cargo_bin())
        .args(&args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo deny: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("exited with {status}"))
    }
}

/// `deny.toml` for the default-features run: `all-features = false`, and every `wrappers = ...`
/// line removed so the `[[bans.deny]]` crates (OpenSSL) are banned outright. Fails when the file
/// no longer has the lines it expects, so the two runs cannot silently become one.
pub(crate) fn default_features_config(deny_toml: &str) -> Result<String, String> {
    let mut out = String::with_capacity(deny_toml.len());
    let (mut all_features, mut wrappers) = (0, 0);
    for line in deny_toml.lines() {
        let t = line.trim_start();
        if t.starts_with("wrappers") && t[8..].trim_start().starts_with('=') {
            wrappers += 1;
            continue;
        }
        if t.starts_with("all-features") && t[12..].trim_start().starts_with('=') {
            all_features += 1;
            out.push_str("all-features = false\n");
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if all_features != 1 {
        return Err(format!(
            "deny.toml: expected one `all-features = ...` line in [graph], found {all_features}"
        ));
    }
    if wrappers == 0 {
        return Err(
            "deny.toml: no `wrappers = [...]` line in [[bans.deny]]: the OpenSSL policy is missing".into(),
        );
    }
    Ok(out)
}

/// Makes sure `cargo <subcommand>` exists; if not, says so and runs
/// `cargo install --locked <krate>@<version>`.
pub(crate) fn ensure_tool(subcommand: &str, krate: &str, version: &str) -> Result<(), String> {
    let out = Command::new(super::cargo_bin())
        .args([subcommand, "--version"])
        .output();
    if let Ok(out) = &out
        && out.status.success()
    {
        println!("==> using {}", String::from_utf8_lossy(&out.stdout).trim());
        return Ok(());
    }
    println!(
        "==> `cargo {subcommand}` is not installed: running `cargo install --locked {krate}@{version}` \
         (a one-time build of several minutes)"
    );
    let status = Command::new(super::cargo_bin())
        .args(["install", "--locked", &format!("{krate}@{version}")])
        .status()
        .map_err(|e| format!("cannot run cargo install: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo install --locked {krate}@{version}` failed ({status})"
        ))
    }
}

/// The quoted strings of `key = [ ... ]` in `[section]` of a TOML file (comments skipped).
/// Enough for `deny.toml`'s flat string arrays; xtask has no TOML parser.
#[cfg(test)]
pub(crate) fn toml_string_array(text: &str, section: &str, key: &str) -> Option<Vec<String>> {
    let header = format!("[{section}]");
    let mut in_section = false;
    let mut collecting = false;
    let mut values = Vec::new();
    for line in text.lines() {
        let l = line.split('#').next().unwrap_or_default().trim();
        if !collecting && l.starts_with('[') {
            in_section = l == header;
            continue;
        }
        if !in_section {
            continue;
        }
        let rest = if collecting {
            l
        } else if let Some(r) = l.strip_prefix(key).map(str::trim_start)
            && let Some(r) = r.strip_prefix('=')
        {
            collecting = true;
            r.trim_start().strip_prefix('[')?
        } else {
            continue;
        };
        let (body, done) = match rest.find(']') {
            Some(i) => (&rest[..i], true),
            None => (rest, false),
        };
        values.extend(body.split('"').skip(1).step_by(2).map(str::to_string));
        if done {
            return Some(values);
        }
    }
    None
}

/// A parsed SPDX licence expression (`/` read as `OR`, as cargo and cargo-deny do for old crates).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Spdx {
    /// One licence, with its `WITH` exception if any (cargo-deny treats `A WITH E` as distinct from `A`).
    Id(String),
    And(Vec<Spdx>),
    Or(Vec<Spdx>),
}

#[cfg(test)]
impl Spdx {
    pub(crate) fn parse(expr: &str) -> Result<Spdx, String> {
        let spaced = expr.replace('(', " ( ").replace(')', " ) ").replace('/', " OR ");
        let tokens: Vec<&str> = spaced.split_whitespace().collect();
        let mut pos = 0;
        let e = Self::or(&tokens, &mut pos)?;
        if pos != tokens.len() {
            return Err(format!("`{expr}`: unexpected `{}`", tokens[pos]));
        }
        Ok(e)
    }

    fn or(t: &[&str], pos: &mut usize) -> Result<Spdx, String> {
        let mut parts = vec![Self::and(t, pos)?];
        while t.get(*pos) == Some(&"OR") {
            *pos += 1;
            parts.push(Self::and(t, pos)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Spdx::Or(parts)
        })
    }

    fn and(t: &[&str], pos: &mut usize) -> Result<Spdx, String> {
        let mut parts = vec![Self::atom(t, pos)?];
        while t.get(*pos) == Some(&"AND") {
            *pos += 1;
            parts.push(Self::atom(t, pos)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Spdx::And(parts)
        })
    }

    fn atom(t: &[&str], pos: &mut usize) -> Result<Spdx, String> {
        match t.get(*pos) {
            Some(&"(") => {
                *pos += 1;
                let e = Self::or(t, pos)?;
                if t.get(*pos) != Some(&")") {
                    return Err("missing `)`".into());
                }
                *pos += 1;
                Ok(e)
            }
            Some(id) if !matches!(*id, ")" | "AND" | "OR" | "WITH") => {
                *pos += 1;
                if t.get(*pos) == Some(&"WITH") {
                    let exception = t.get(*pos + 1).ok_or("WITH without an exception")?;
                    *pos += 2;
                    Ok(Spdx::Id(format!("{id} WITH {exception}")))
                } else {
                    Ok(Spdx::Id((*id).to_string()))
                }
            }
            other => Err(format!("expected a licence, found {other:?}")),
        }
    }

    /// Whether the allowed licences satisfy the expression.
    pub(crate) fn allowed_by(&self, allowed: &[&str]) -> bool {
        match self {
            Spdx::Id(id) => allowed.contains(&id.as_str()),
            Spdx::And(v) => v.iter().all(|e| e.allowed_by(allowed)),
            Spdx::Or(v) => v.iter().any(|e| e.allowed_by(allowed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|a| a.to_string()).collect()
    }

    fn deny_toml() -> String {
        std::fs::read_to_string(crate::workspace_root().join("deny.toml")).expect("deny.toml at the root")
    }

    #[test]
    fn parses_arguments() {
        assert_eq!(parse_args(&[]), Ok(Args { advisories: false }));
        assert_eq!(parse_args(&s(&["--advisories"])), Ok(Args { advisories: true }));
        let err = parse_args(&s(&["--advisory"])).unwrap_err();
        assert!(err.contains("unknown argument `--advisory`"), "{err}");
        assert!(parse_args(&s(&["licenses"])).is_err());
    }

    #[test]
    fn default_features_config_bans_openssl_outright() {
        let text = deny_toml();
        let derived = default_features_config(&text).unwrap();
        assert!(text.contains("all-features = true"));
        assert!(derived.contains("all-features = false"));
        assert!(!derived.contains("all-features = true"));
        assert!(!derived.lines().any(|l| l.trim_start().starts_with("wrappers")));
        // The ban entries themselves survive, now without wrappers.
        for krate in ["openssl-sys", "openssl", "native-tls"] {
            assert!(
                derived.contains(&format!("crate = \"{krate}\"")),
                "{krate} no longer banned"
            );
        }
        // Everything else is unchanged (same licences, same sources rules).
        assert_eq!(
            toml_string_array(&derived, "licenses", "allow"),
            toml_string_array(&text, "licenses", "allow")
        );
        assert_eq!(text.lines().count() - derived.lines().count(), 3);
    }

    #[test]
    fn default_features_config_refuses_a_file_without_the_policy() {
        let no_wrappers = "[graph]\nall-features = true\n[[bans.deny]]\ncrate = \"openssl\"\n";
        assert!(
            default_features_config(no_wrappers)
                .unwrap_err()
                .contains("wrappers")
        );
        let no_graph = "[[bans.deny]]\ncrate = \"openssl\"\nwrappers = [\"native-tls\"]\n";
        assert!(
            default_features_config(no_graph)
                .unwrap_err()
                .contains("all-features")
        );
    }

    #[test]
    fn reads_toml_string_arrays() {
        let t = "[graph]\ntargets = [\n  \"a\", # one\n  \"b\",\n]\n[licenses]\nallow = [\"MIT\", \"ISC\"]\n";
        assert_eq!(toml_string_array(t, "graph", "targets"), Some(s(&["a", "b"])));
        assert_eq!(
            toml_string_array(t, "licenses", "allow"),
            Some(s(&["MIT", "ISC"]))
        );
        assert_eq!(toml_string_array(t, "licenses", "deny"), None);
        assert_eq!(toml_string_array(t, "bans", "allow"), None);
    }

    #[test]
    fn spdx_expressions_evaluate_like_cargo_deny() {
        let allowed = ["MIT", "Apache-2.0", "ISC"];
        let ok = |e: &str| Spdx::parse(e).unwrap().allowed_by(&allowed);
        assert!(ok("MIT OR Apache-2.0"));
        assert!(ok("MIT/Apache-2.0"));
        assert!(ok("Unlicense OR MIT"));
        assert!(ok("ISC AND (Apache-2.0 OR ISC)"));
        assert!(!ok("(MIT OR Apache-2.0) AND Unicode-3.0"));
        assert!(!ok("MIT AND BSD-3-Clause"));
        assert!(ok("Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT"));
        assert!(!ok("Apache-2.0 WITH LLVM-exception"));
        assert!(Spdx::parse("MIT AND").is_err());
        assert!(Spdx::parse("(MIT").is_err());
    }

    /// Every licence of the tree cargo-deny checks (every workspace member, all features,
    /// normal and build dependencies, deny.toml's targets), from `cargo metadata --offline`.
    /// Falls back to the host target alone when the other targets' crate sources are not
    /// downloaded (a CI cache filled by a Linux build), so the test never needs the network.
    fn tree_licences(targets: &[String]) -> BTreeMap<String, Vec<String>> {
        let root = crate::workspace_root();
        let metadata = |targets: &[String]| {
            let mut cmd = Command::new(crate::cargo_bin());
            cmd.args(["metadata", "--offline", "--all-features", "--format-version", "1"]);
            for t in targets {
                cmd.args(["--filter-platform", t]);
            }
            cmd.current_dir(&root).output().expect("cargo metadata runs")
        };
        let mut out = metadata(targets);
        if !out.status.success() {
            let host = Command::new("rustc").arg("-vV").output().expect("rustc -vV");
            let host = String::from_utf8_lossy(&host.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
                .expect("rustc -vV names the host");
            eprintln!("crate sources for deny.toml's other targets are not downloaded; checking {host} only");
            out = metadata(&[host]);
        }
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let packages: BTreeMap<&str, &serde_json::Value> = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap(), p))
            .collect();
        let nodes: BTreeMap<&str, &serde_json::Value> = meta["resolve"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["id"].as_str().unwrap(), n))
            .collect();
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = meta["workspace_members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            for dep in nodes[id]["deps"].as_array().unwrap() {
                let shipped = dep["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null() || k["kind"] == "build");
                if shipped {
                    stack.push(dep["pkg"].as_str().unwrap());
                }
            }
        }
        let mut by_licence: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for id in seen {
            let p = packages[id];
            let licence = p["license"]
                .as_str()
                .unwrap_or("<no `license` field>")
                .to_string();
            by_licence.entry(licence).or_default().push(format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            ));
        }
        by_licence
    }

    /// deny.toml's licence list is exactly what the tree needs: a new dependency with a licence
    /// not listed fails here (offline, before anyone runs cargo-deny), and so does an entry no
    /// crate needs any more (the list must not be broader than the tree).
    #[test]
    fn licence_list_is_exactly_what_the_tree_needs() {
        let text = deny_toml();
        let allow = toml_string_array(&text, "licenses", "allow").expect("[licenses] allow");
        let targets = toml_string_array(&text, "graph", "targets").expect("[graph] targets");
        let allowed: Vec<&str> = allow.iter().map(String::as_str).collect();
        let tree = tree_licences(&targets);
        assert!(
            tree.values().map(Vec::len).sum::<usize>() > 100,
            "the tree is too small: {tree:?}"
        );
        let parsed: Vec<(Spdx, &String, &Vec<String>)> = tree
            .iter()
            .map(|(l, pkgs)| {
                (
                    Spdx::parse(l).unwrap_or_else(|e| panic!("{pkgs:?}: {e}")),
                    l,
                    pkgs,
                )
            })
            .collect();
        let refused: Vec<String> = parsed
            .iter()
            .filter(|(e, _, _)| !e.allowed_by(&allowed))
            .map(|(_, l, pkgs)| format!("{l} ({})", pkgs.join(", ")))
            .collect();
        assert!(
            refused.is_empty(),
            "licences not in deny.toml's [licenses] allow: {refused:#?}\n\
             review them, then add the licence to deny.toml with the crate that needs it"
        );
        for licence in &allowed {
            let without: Vec<&str> = allowed.iter().copied().filter(|a| a != licence).collect();
            assert!(
                parsed.iter().any(|(e, _, _)| !e.allowed_by(&without)),
                "deny.toml allows {licence}, but no crate in the tree needs it: remove it"
            );
        }
    }
}
