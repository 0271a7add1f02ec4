//! Spawning the built `payout` binary.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// The environment variables of every provider, removed from each child so the machine's own
/// settings never leak into a test.
pub const PROVIDER_VARS: &[&str] = &[
    "ROCHEAP_API_KEY",
    "ROCHEAP_BASE_URL",
    "ROMPLHUB_API_KEY",
    "ROMPLHUB_BASE_URL",
    "AGENT_CATALOG_API_KEY",
    "AGENT_CATALOG_AGENT_ID",
    "AGENT_CATALOG_BASE_URL",
    "XROCKET_API_KEY",
    "XROCKET_BASE_URL",
    "ROHOPAY_API_KEY",
    "ROHOPAY_BASE_URL",
];

pub fn payout() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_payout"));
    for v in PROVIDER_VARS {
        cmd.env_remove(v);
    }
    cmd.kill_on_drop(true);
    cmd
}

/// A `payout sandbox serve` child and what it printed.
pub struct Served {
    pub child: Child,
    pub values: HashMap<String, String>,
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl Served {
    pub fn get(&self, key: &str) -> &str {
        self.values
            .get(key)
            .unwrap_or_else(|| panic!("`{key}` not printed; got {:?}", self.values))
    }
    pub fn base_url(&self) -> &str {
        self.get("base_url")
    }
    pub fn control(&self, path: &str) -> String {
        format!("{}{path}", self.get("control_url"))
    }
    /// The `env:` line as pairs.
    pub fn env(&self) -> Vec<(String, String)> {
        self.get("env")
            .split(' ')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
    /// Kills the server, after checking it was still running (it runs until told to stop).
    pub async fn kill(mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the sandbox exited on its own"
        );
        self.child.kill().await.unwrap();
    }
}

/// Starts `payout sandbox serve <args>` and reads its banner up to `ready`.
pub async fn serve(args: &[&str]) -> Served {
    let mut child = payout()
        .arg("sandbox")
        .arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn payout");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut values = HashMap::new();
    let banner = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("ready") {
                return true;
            }
            if let Some((k, v)) = line.split_once(": ") {
                values.insert(k.to_string(), v.to_string());
            }
        }
        false
    })
    .await
    .expect("no banner within 60 s");
    if !banner {
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .await
            .unwrap();
        panic!("payout sandbox serve {args:?} exited before `ready`: {err}");
    }
    Served {
        child,
        values,
        _stdout: lines,
    }
}

/// What a finished command gave.
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `payout <args>` with `env`, `stdin` fed in, and waits for it.
pub async fn run(args: &[&str], env: &[(String, String)], stdin: &[u8]) -> Output {
    let mut child = payout()
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn payout");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("payout did not finish within 60 s")
        .unwrap();
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
