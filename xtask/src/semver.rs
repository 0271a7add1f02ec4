//! `cargo xtask semver [--baseline-rev REV]`: cargo-semver-checks for every publishable library
//! crate against a git revision.
//!
//! Nothing is published yet, so the baseline is a git revision, not crates.io: `--baseline-rev`
//! (any revision git knows). By default each crate is compared with its newest release tag,
//! `<crate>-v<version>` (the tags `cargo xtask release` pushes), else with the newest workspace
//! tag `v<version>`. With no such tag the command stops and asks for `--baseline-rev`.
//!
//! Checked: every workspace package that can be published (not `publish = false`: payout-soak,
//! xtask) and has a library target (payout-cli is a binary only: it has no Rust API to break).
//! A package missing from the baseline, or named differently there, has nothing to compare
//! and is said and skipped. Features: the defaults plus every other feature both revisions
//! have, except the TLS alternatives `rustls-ring` and `native-tls` (the same set as
//! `cargo xtask test`; they change no API, and `native-tls` would need OpenSSL headers).
//!
//! Not part of `cargo xtask test`. cargo-semver-checks is installed with `cargo install --locked`
//! on first use. It builds rustdoc JSON of both revisions under `target/semver-checks/`.

use std::path::Path;
use std::process::Command;

use super::TLS_ALTERNATIVES;

/// The cargo-semver-checks release installed on first use (builds with our 1.95 toolchain and
/// reads its rustdoc JSON; its MSRV is 1.93).
pub(crate) const SEMVER_CHECKS_VERSION: &str = "0.51.0";

/// Parsed `cargo xtask semver` arguments.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Args {
    pub(crate) baseline_rev: Option<String>,
}

const USAGE: &str = "usage: cargo xtask semver [--baseline-rev REV]";

/// Reads `[--baseline-rev REV]` (the arguments after `semver`).
pub(crate) fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut baseline_rev = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let rev = if a == "--baseline-rev" {
            it.next()
                .ok_or_else(|| format!("--baseline-rev needs a git revision ({USAGE})"))?
        } else if let Some(v) = a.strip_prefix("--baseline-rev=") {
            v
        } else {
            return Err(format!("unknown argument `{a}` ({USAGE})"));
        };
        if rev.is_empty() || rev.starts_with('-') {
            return Err(format!(
                "--baseline-rev needs a git revision, got `{rev}` ({USAGE})"
            ));
        }
        if baseline_rev.replace(rev.to_string()).is_some() {
            return Err(format!("--baseline-rev given twice ({USAGE})"));
        }
    }
    Ok(Args { baseline_rev })
}

/// The baseline of `package`: the revision the user named, else its newest release tag
/// `<package>-v<version>` (what `cargo xtask release` tags), else the newest workspace tag
/// `v<version>` (`v0.10.0` after `v0.9.1`; a release after its pre-releases). Tags of other
/// shapes are ignored.
pub(crate) fn choose_baseline(
    explicit: Option<&str>,
    tags: &[String],
    package: &str,
) -> Result<String, String> {
    if let Some(rev) = explicit {
        return Ok(rev.to_string());
    }
    let newest = |prefix: &str| {
        tags.iter()
            .filter_map(|t| t.strip_prefix(prefix).and_then(tag_version).map(|v| (v, t)))
            .max_by(|(a, _), (b, _)| a.cmp(b))
            .map(|(_, t)| t.clone())
    };
    newest(&format!("{package}-"))
        .or_else(|| newest(""))
        .ok_or_else(|| {
            format!(
                "no git tag `{package}-v*` or `v*` to compare against (nothing is released yet): pass \
             `--baseline-rev <REV>`, e.g. `cargo xtask semver --baseline-rev HEAD~20`"
            )
        })
}

/// `v1.2.3` → `(1, 2, 3, true)`; `v1.2.3-rc.1` → `(1, 2, 3, false)` (a pre-release sorts
/// before its release). Anything else: `None`.
fn tag_version(tag: &str) -> Option<(u64, u64, u64, bool)> {
    let v = tag.strip_prefix('v')?;
    let (core, pre) = match v.split_once('-') {
        Some((c, _)) => (c, true),
        None => (v, false),
    };
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let (maj, min, pat) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() {
        return None;
    }
    Some((maj, min, pat, !pre))
}

/// One workspace package as `cargo metadata` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Package {
    pub(crate) name: String,
    /// Directory of its manifest, relative to the workspace root (`crates/xrocket`).
    pub(crate) dir: String,
    pub(crate) publishable: bool,
    pub(crate) has_lib: bool,
    pub(crate) features: Vec<String>,
}

/// Why a package is not checked, or `None` when it is.
pub(crate) fn skip_reason(p: &Package) -> Option<&'static str> {
    if !p.publishable {
        Some("publish = false")
    } else if !p.has_lib {
        Some("binary only: no library API")
    } else {
        None
    }
}

/// The features to check: every feature the current and the baseline manifest both have, minus
/// `default` (on anyway) and the TLS alternatives.
pub(crate) fn features_to_check(current: &[String], baseline: &[String]) -> Vec<String> {
    current
        .iter()
        .filter(|f| *f != "default" && !TLS_ALTERNATIVES.contains(&f.as_str()))
        .filter(|f| baseline.contains(f))
        .cloned()
        .collect()
}

pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let args = parse_args(args)?;
    let tags = git(root, &["tag", "--list"])?;
    let tags: Vec<String> = tags.lines().map(str::to_string).collect();
    let packages = workspace_packages(root)?;
    // Every checked crate needs a baseline: stop before installing anything if one has none.
    let mut baselines = Vec::new();
    for p in &packages {
        let baseline = match skip_reason(p) {
            Some(_) => None,
            None => Some(choose_baseline(args.baseline_rev.as_deref(), &tags, &p.name)?),
        };
        baselines.push(baseline);
    }
    super::deny::ensure_tool("semver-checks", "cargo-semver-checks", SEMVER_CHECKS_VERSION)?;

    let mut results: Vec<(String, String)> = Vec::new();
    let mut failed = Vec::new();
    for (p, baseline) in packages.into_iter().zip(baselines) {
        let Some(baseline) = baseline else {
            let why = skip_reason(&p).unwrap_or("not checked");
            results.push((p.name, format!("skipped ({why})")));
            continue;
        };
        let commit = git(
            root,
            &["rev-parse", "--verify", &format!("{baseline}^{{commit}}")],
        )
        .map_err(|_| format!("`{baseline}` is not a git revision of this repository"))?;
        let commit = commit.trim().to_string();
        println!(
            "==> {}: baseline {baseline} ({})",
            p.name,
            &commit[..commit.len().min(12)]
        );
        let manifest = format!("{}/Cargo.toml", p.dir);
        let Ok(old) = git(root, &["show", &format!("{commit}:{manifest}")]) else {
            results.push((
                p.name,
                format!("skipped (no {manifest} at {baseline}: new since then)"),
            ));
            continue;
        };
        let old_name = super::release::package_name(&old).unwrap_or_default();
        if old_name != p.name {
            results.push((
                p.name,
                format!("skipped (named `{old_name}` at {baseline}: no earlier version under this name)"),
            ));
            continue;
        }
        let features = features_to_check(&p.features, &manifest_features(&old));
        let mut cmd_args = vec![
            "semver-checks".to_string(),
            "check-release".into(),
            "-p".into(),
            p.name.clone(),
            "--baseline-rev".into(),
            commit.clone(),
            "--default-features".into(),
        ];
        for f in features {
            cmd_args.push("--features".into());
            cmd_args.push(f);
        }
        println!("\n==> {}\n    $ cargo {}", p.name, cmd_args.join(" "));
        let status = Command::new(super::cargo_bin())
            .args(&cmd_args)
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run cargo semver-checks: {e}"))?;
        if status.success() {
            results.push((p.name, "ok".into()));
        } else {
            results.push((p.name.clone(), format!("FAILED ({status})")));
            failed.push(p.name);
        }
    }
    println!("\n==> summary");
    for (name, r) in &results {
        println!("    {name:<16} {r}");
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "semver-checks reported breaking changes (or could not check) in: {} \
             (nothing is published yet: a break on an unpublished version is information \
             for its CHANGELOG)",
            failed.join(", ")
        ))
    }
}

fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn workspace_packages(root: &Path) -> Result<Vec<Package>, String> {
    Ok(packages_from_metadata(&super::workspace_metadata(root)?, root))
}

/// Reads the workspace packages out of `cargo metadata --no-deps` output.
pub(crate) fn packages_from_metadata(meta: &serde_json::Value, root: &Path) -> Vec<Package> {
    let mut packages = Vec::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let manifest = Path::new(p["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest
            .parent()
            .and_then(|d| d.strip_prefix(root).ok())
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        // `publish = false` is `"publish": []`; null means any registry.
        let publishable = p["publish"].as_array().is_none_or(|r| !r.is_empty());
        let has_lib = p["targets"].as_array().into_iter().flatten().any(|t| {
            t["kind"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| matches!(k.as_str(), Some("lib" | "rlib" | "dylib" | "proc-macro")))
        });
        let features = p["features"]
            .as_object()
            .map(|f| f.keys().cloned().collect())
            .unwrap_or_default();
        packages.push(Package {
            name: p["name"].as_str().unwrap_or_default().to_string(),
            dir,
            publishable,
            has_lib,
            features,
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    packages
}

/// The feature names of a manifest's `[features]` table (keys at the start of a line).
fn manifest_features(manifest: &str) -> Vec<String> {
    let mut in_features = false;
    let mut features = Vec::new();
    for line in manifest.lines() {
        let l = line.trim();
        if l.starts_with('[') && !l.starts_with("[\"") && l.ends_with(']') && !l.contains('=') {
            in_features = l == "[features]";
            continue;
        }
        if !in_features {
            continue;
        }
        if let Some((key, _)) = l.split_once('=') {
            let key = key.trim().trim_matches('"');
            if !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '.'))
            {
                features.push(key.to_string());
            }
        }
    }
    features
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn parses_arguments() {
        assert_eq!(parse_args(&[]), Ok(Args { baseline_rev: None }));
        assert_eq!(
            parse_args(&s(&["--baseline-rev", "HEAD~20"])),
            Ok(Args {
                baseline_rev: Some("HEAD~20".into())
            })
        );
        assert_eq!(
            parse_args(&s(&["--baseline-rev=v0.1.0"])),
            Ok(Args {
                baseline_rev: Some("v0.1.0".into())
            })
        );
        assert!(
            parse_args(&s(&["--baseline-rev"]))
                .unwrap_err()
                .contains("needs a git revision")
        );
        assert!(parse_args(&s(&["--baseline-rev", "--x"])).is_err());
        assert!(parse_args(&s(&["--baseline-rev="])).is_err());
        assert!(
            parse_args(&s(&["--baseline-rev", "a", "--baseline-rev", "b"]))
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            parse_args(&s(&["HEAD"]))
                .unwrap_err()
                .contains("unknown argument `HEAD`")
        );
    }

    #[test]
    fn baseline_is_the_explicit_revision_first() {
        let tags = s(&["v0.1.0", "rocheap-v0.2.0"]);
        assert_eq!(
            choose_baseline(Some("HEAD~3"), &tags, "rocheap").unwrap(),
            "HEAD~3"
        );
    }

    #[test]
    fn baseline_is_the_highest_v_tag() {
        let tags = s(&["v0.9.1", "v0.10.0", "v0.2.0", "v0.10.0-rc.1", "vendored", "v1"]);
        assert_eq!(choose_baseline(None, &tags, "rocheap").unwrap(), "v0.10.0");
        let tags = s(&["v1.0.0-rc.2", "v0.9.0"]);
        assert_eq!(choose_baseline(None, &tags, "rocheap").unwrap(), "v1.0.0-rc.2");
    }

    #[test]
    fn baseline_is_the_crates_own_release_tag_first() {
        // The tags `cargo xtask release` pushes: `<crate>-v<version>`, one series per crate.
        let tags = s(&[
            "v0.3.0",
            "rocheap-v0.1.0",
            "rocheap-v0.1.1",
            "payout-core-v0.4.0",
            "xrocket-pay-v0.2.0",
        ]);
        assert_eq!(choose_baseline(None, &tags, "rocheap").unwrap(), "rocheap-v0.1.1");
        assert_eq!(
            choose_baseline(None, &tags, "payout-core").unwrap(),
            "payout-core-v0.4.0"
        );
        // No tag of its own: the workspace tag.
        assert_eq!(choose_baseline(None, &tags, "rohopay").unwrap(), "v0.3.0");
        // `xrocket-v…` is not `xrocket-pay`'s series (and the reverse).
        let tags = s(&["xrocket-v9.0.0", "xrocket-pay-v0.2.0"]);
        assert_eq!(
            choose_baseline(None, &tags, "xrocket-pay").unwrap(),
            "xrocket-pay-v0.2.0"
        );
    }

    #[test]
    fn no_v_tag_asks_for_a_baseline_rev() {
        for tags in [vec![], s(&["vendored", "payout-core-v0.1.0"])] {
            let err = choose_baseline(None, &tags, "rocheap").unwrap_err();
            assert!(err.contains("pass `--baseline-rev <REV>`"), "{err}");
            assert!(err.contains("rocheap-v*"), "{err}");
        }
    }

    #[test]
    fn skips_unpublishable_and_binary_only_packages() {
        let root = Path::new("/w");
        let meta = serde_json::json!({"packages": [
            {"name": "payout-core", "manifest_path": "/w/crates/payout-core/Cargo.toml", "publish": null,
             "targets": [{"kind": ["lib"]}, {"kind": ["test"]}],
             "features": {"default": ["rustls-aws-lc"], "sandbox": [], "native-tls": []}},
            {"name": "payout-cli", "manifest_path": "/w/crates/payout-cli/Cargo.toml", "publish": null,
             "targets": [{"kind": ["bin"]}], "features": {}},
            {"name": "payout-soak", "manifest_path": "/w/crates/payout-soak/Cargo.toml", "publish": [],
             "targets": [{"kind": ["lib"]}], "features": {}},
        ]});
        let pkgs = packages_from_metadata(&meta, root);
        let names: Vec<&str> = pkgs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["payout-cli", "payout-core", "payout-soak"]);
        assert_eq!(skip_reason(&pkgs[0]), Some("binary only: no library API"));
        assert_eq!(skip_reason(&pkgs[1]), None);
        assert_eq!(pkgs[1].dir, "crates/payout-core");
        assert_eq!(skip_reason(&pkgs[2]), Some("publish = false"));
    }

    #[test]
    fn the_real_workspace_checks_the_seven_libraries() {
        let root = crate::workspace_root();
        let checked: Vec<String> = workspace_packages(&root)
            .unwrap()
            .into_iter()
            .filter(|p| skip_reason(p).is_none())
            .map(|p| p.name)
            .collect();
        for lib in [
            "agent-catalog",
            "payout-core",
            "payout-journal",
            "rocheap",
            "rohopay",
            "romplhub",
            "xrocket-pay",
        ] {
            assert!(checked.iter().any(|c| c == lib), "{lib} not checked: {checked:?}");
        }
        for skipped in ["payout-cli", "payout-soak", "xtask"] {
            assert!(
                !checked.iter().any(|c| c == skipped),
                "{skipped} checked: {checked:?}"
            );
        }
    }

    #[test]
    fn features_are_the_shared_non_tls_ones() {
        let current = s(&[
            "default",
            "sandbox",
            "axum",
            "native-tls",
            "rustls-ring",
            "rustls-aws-lc",
        ]);
        let baseline = s(&["default", "sandbox", "native-tls", "rustls-aws-lc"]);
        assert_eq!(
            features_to_check(&current, &baseline),
            s(&["sandbox", "rustls-aws-lc"])
        );
    }

    #[test]
    fn reads_manifest_features() {
        let m = "[package]\nname = \"x\"\n[features]\ndefault = [\"a\"]\nsandbox = [\n  \"dep:axum\",\n]\n\
                 \"test-util\" = []\n[dependencies]\nserde = \"1\"\n";
        assert_eq!(manifest_features(m), s(&["default", "sandbox", "test-util"]));
        assert!(manifest_features("[package]\nname = \"x\"\n").is_empty());
    }
}
