//! The liveness probe.
//!
//! ASSUMPTION: the Plexy Gate agent API documentation names `/health` under "System" and
//! "Monitor health" without showing it. The probe calls
//! `GET /health` at the base URL; if that is 404 it tries `GET /agent/{agent_id}/health`. The
//! API key is sent on both (harmless on a public endpoint, needed on a protected one).

use std::time::Duration;

use payout_core::{ErrorKind, Request, Response, Result};
use serde::{Deserialize, Serialize};
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
    /// How long the probe took, retries included ([`Client::health`]; zero when the
    /// [`HealthCheck`] value is sent with [`Client::send`], which does not time it).
    pub latency: Duration,
}

/// `GET /health` as a request value (no fallback: [`Client::health`] adds the
/// agent-scoped one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck;

impl HealthCheck {
    pub(crate) fn build_request(&self, req: Request) -> Result<Request> {
        Ok(req)
    }
}

/// Any 2xx body: JSON as is, other text as a JSON string.
pub(crate) fn decode(resp: &Response) -> Result<Health> {
    Ok(read(resp, "/health", Duration::ZERO))
}

fn read(resp: &Response, path: &'static str, latency: Duration) -> Health {
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
    Health {
        path,
        status_code: resp.status(),
        status,
        body,
        latency,
    }
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
    match client.send(&HealthCheck).await {
        Ok(health) => Ok(Health {
            latency: started.elapsed(),
            ..health
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            // Not a documented endpoint of its own: the agent-scoped fallback.
            let scoped = Request::get("health.agent", "/agent/{agent_id}/health").path("/health");
            let resp = client.transport.send(scoped).await?;
            Ok(read(&resp, "/agent/{agent_id}/health", started.elapsed()))
        }
        Err(e) => Err(e),
    }
}
