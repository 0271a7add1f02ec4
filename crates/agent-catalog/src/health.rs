//! The liveness probe.
//!
//! ASSUMPTION: the docs name `/health` under "System" without showing it. The probe calls
//! `GET /health` at the base URL; if that is 404 it tries `GET /agent/{agent_id}/health`. The
//! API key is sent on both (harmless on a public endpoint, needed on a protected one).

use std::time::Duration;

use payout_core::{ErrorKind, Request, Result};
use tokio::time::Instant;

use crate::client::Client;

/// What the health endpoint answered (only 2xx answers are `Ok`; anything else is the
/// usual [`payout_core::Error`], which is what your monitoring should alert on).
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// The path that answered (`"/health"` or the agent-scoped fallback template).
    pub path: &'static str,
    /// The HTTP status.
    pub status_code: u16,
    /// The body's `status` field, if it is JSON with one (`"ok"`).
    pub status: Option<String>,
    /// The whole body: JSON as is, any other text as a JSON string, `null` when empty.
    pub body: serde_json::Value,
    /// How long the probe took, retries included.
    pub latency: Duration,
}

impl Health {
    /// True unless the body says otherwise (`status` of `down`, `error`, `fail`, `failed`
    /// or `unhealthy`, any case).
    pub fn is_healthy(&self) -> bool {
        !self.status.as_deref().is_some_and(|s| {
            ["down", "error", "fail", "failed", "unhealthy"]
                .iter()
                .any(|bad| s.eq_ignore_ascii_case(bad))
        })
    }
}

pub(crate) async fn probe(client: &Client) -> Result<Health> {
    let started = Instant::now();
    let root = Request::get("health", "/health");
    let (path, resp) = match client.transport.send(root).await {
        Ok(resp) => ("/health", resp),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let scoped =
                Request::get("health.agent", "/agent/{agent_id}/health").path(client.path("/health"));
            ("/agent/{agent_id}/health", client.transport.send(scoped).await?)
        }
        Err(e) => return Err(e),
    };
    let body: serde_json::Value = if resp.body().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(resp.body()).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(resp.body()).trim().to_string())
        })
    };
    let status = body
        .get("status")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    Ok(Health {
        path,
        status_code: resp.status(),
        status,
        body,
        latency: started.elapsed(),
    })
}
