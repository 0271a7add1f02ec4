//! `cargo xtask test`'s TLS step: every TLS choice compiles for one provider crate, and a user
//! who injects their own `reqwest::Client` (no TLS feature) compiles no aws-lc-sys.
//!
//! native-tls builds openssl-sys, which needs OpenSSL's headers and pkg-config: when they are
//! missing, they are installed as root with apt (as `services.rs` does for PostgreSQL), or the
//! step stops with the exact command to run.

use std::path::Path;
use std::process::Command;

/// The provider crate the combinations are checked on (the smallest one).
const CRATE: &str = "rocheap";

pub fn check(root: &Path) -> Result<(), String> {
    let combos: [&[&str]; 4] = [
        &[],
        &["--no-default-features", "--features", "rustls-ring"],
        &["--no-default-features", "--features", "native-tls"],
        &["--no-default-features"],
    ];
    for extra in combos {
        if extra.contains(&"native-tls") {
            ensure_openssl_headers()?;
        }
        let mut args = vec!["check", "-q", "-p", CRATE];
        args.extend_from_slice(extra);
        println!("    $ cargo {}", args.join(" "));
        let status = Command::new(crate::cargo_bin())
            .args(&args)
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("`cargo {}` failed ({status})", args.join(" ")));
        }
    }
    for (extra, what) in [
        (&[][..], "no TLS feature"),
        (&["--features", "rustls-ring"][..], "rustls-ring"),
    ] {
        let mut args = vec![
            "tree",
            "-p",
            CRATE,
            "--no-default-features",
            "-e",
            "normal",
            "-i",
            "aws-lc-sys",
        ];
        args.extend_from_slice(extra);
        println!("    $ cargo {}", args.join(" "));
        let out = Command::new(crate::cargo_bin())
            .args(&args)
            .current_dir(root)
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if text.lines().any(|l| l.starts_with("aws-lc-sys")) {
            return Err(format!("aws-lc-sys is compiled with {what}:\n{text}"));
        }
        println!("    ok: no aws-lc-sys with {what}");
    }
    Ok(())
}

fn has_openssl_headers() -> bool {
    Command::new("pkg-config")
        .args(["--exists", "openssl"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn ensure_openssl_headers() -> Result<(), String> {
    if has_openssl_headers() {
        return Ok(());
    }
    const CMD: &str = "apt-get update && apt-get install -y libssl-dev pkg-config";
    if !(is_root() && Path::new("/usr/bin/apt-get").is_file()) {
        return Err(format!(
            "checking the native-tls feature builds openssl-sys, which needs OpenSSL's headers and pkg-config. Install them with:\n\n    sudo {CMD}\n\nthen run `cargo xtask test` again"
        ));
    }
    println!("    native-tls needs OpenSSL's headers: installing them\n    $ {CMD}");
    let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
    if !ok(Command::new("apt-get").args(["update", "-q"]))
        || !ok(Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                "libssl-dev",
                "pkg-config",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"))
        || !has_openssl_headers()
    {
        return Err(format!("`{CMD}` did not make OpenSSL's headers available"));
    }
    Ok(())
}
