//! Wire tests for the xrocket crate: one binary, one module per resource. Every test runs
//! against httpmock on loopback (or payout-core's connection-dropping server); nothing
//! touches the internet.

mod app;
mod cheques;
mod client;
mod contract;
mod currencies;
mod errors;
#[cfg(feature = "axum")]
mod intake;
mod invoices;
mod keys;
mod leak;
mod legacy;
#[cfg(feature = "sandbox")]
mod legacy_sandbox;
mod legacy_webhook;
#[cfg(feature = "sandbox")]
mod sandbox;
mod timestamps;
mod transfers;
mod webhook;
mod withdrawals;

use std::time::{Duration, Instant};

use httpmock::When;
use xrocket::{Client, ReconcilePolicy, RetryPolicy};

/// The API token used by every test; the leak test proves it never shows up in logs.
pub const KEY: &str = "xr_test_TOKEN_DO_NOT_LEAK_8c1f2e7a";

/// `Authorization: Bearer <KEY>`.
pub fn bearer() -> String {
    format!("Bearer {KEY}")
}

/// A client for `base` with fast, deterministic retries.
pub fn client(base: &str) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(base)
        .retry_policy(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(10))
                .max_delay(Duration::from_millis(20))
                .jitter_seed(7),
        )
        .attempt_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        // One lookup per reconcile, so tests can count requests exactly.
        .reconcile_policy(ReconcilePolicy::once())
        .build()
        .unwrap()
}

/// Matches exactly these query parameters and no others.
pub fn exact_query(when: When, pairs: &[(&str, &str)]) -> When {
    let mut w = when;
    for (k, v) in pairs {
        w = w.query_param(*k, *v);
    }
    w.query_param_count(".*", ".*", pairs.len())
}

/// The headers of an authenticated JSON call.
pub fn authed_json(when: When) -> When {
    when.header("authorization", bearer())
        .header("content-type", "application/json")
        .header("accept", "application/json")
}

/// The headers of an authenticated call without a body.
pub fn authed(when: When) -> When {
    when.header("authorization", bearer())
        .header("accept", "application/json")
        .header_missing("content-type")
}

/// Waits until `mock` has been called `n` times (the client runs concurrently).
pub async fn wait_calls(mock: &httpmock::Mock<'_>, n: usize) {
    let start = Instant::now();
    while mock.calls_async().await < n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "mock never reached {n} calls"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The excerpt's example transfer.
pub fn transfer_json() -> serde_json::Value {
    serde_json::json!({
        "transferId": "123321232",
        "clientTransferId": "123456789",
        "target": "87209764",
        "targetType": "telegram_user_id",
        "asset": "TONCOIN",
        "amount": "1.23",
        "description": "You are awesome!"
    })
}

/// What [`ScriptedServer`] does with the n-th connection.
pub enum Step {
    /// Read the request, then close without answering (the request arrived: its outcome is
    /// unknown to the client).
    Drop,
    /// Read the request, answer with this status and JSON body, then close.
    Reply(u16, serde_json::Value),
}

/// A loopback HTTP server that plays a script, one step per connection, and records every
/// request. It lets a test drop the connection of the first attempt and answer the next ones,
/// which neither httpmock nor `DropServer` can do.
pub struct ScriptedServer {
    addr: std::net::SocketAddr,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ScriptedServer {
    /// Starts the server on a random loopback port; it stops after the last step.
    pub fn start(script: Vec<Step>) -> Self {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for step in script {
                let Ok((mut conn, _)) = listener.accept() else {
                    return;
                };
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = conn.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .to_ascii_lowercase()
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if data.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&data).into_owned());
                if let Step::Reply(status, body) = step {
                    let body = body.to_string();
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    conn.write_all(head.as_bytes()).unwrap();
                    conn.write_all(body.as_bytes()).unwrap();
                    conn.flush().unwrap();
                }
                let _ = conn.shutdown(std::net::Shutdown::Both);
            }
        });
        ScriptedServer { addr, requests }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received, head and body, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}
