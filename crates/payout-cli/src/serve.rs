//! `payout sandbox serve <provider>`: a provider's stateful sandbox as a stand-alone server on
//! loopback, with a control API on a second loopback port.
//!
//! The sandbox answers the provider's documented API exactly as the crate's in-process
//! `Sandbox` does (same state, same signed webhooks, same faults). The control API:
//!
//! | request | what it does |
//! |---|---|
//! | `GET /` | the base URL, the test key, the webhook secret, the environment for `from_env` |
//! | `POST /advance` | moves every open order one step; `{"advanced": [ids]}` |
//! | `POST /fault` | `{"kind": "503", "count": 1, "method": "POST", "path_prefix": "/create_order"}` |
//! | `GET /requests`, `DELETE /requests` | the record of every request the sandbox received; forget it |
//! | `GET /deliveries` | every webhook delivered (url, headers, raw body, status answered, every attempt) |
//! | `POST /webhook-url` | `{"url": "..."}`: where signed webhooks go from now on |

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use payout_core::ExposeSecret;
use payout_core::sandbox::axum::extract::State;
use payout_core::sandbox::axum::http::StatusCode;
use payout_core::sandbox::axum::response::{IntoResponse, Response};
use payout_core::sandbox::axum::routing::{get, post};
use payout_core::sandbox::axum::{self, Json, Router};
use payout_core::sandbox::{Delivery, RecordedRequest, SandboxServer, WebhookRetry};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::net::{TcpListener, TcpStream};

use crate::fault::{self, FaultSpec};
use crate::{Failure, Provider};

/// `payout sandbox serve` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The provider to serve.
    #[arg(value_enum)]
    provider: Provider,
    /// The port of the provider API on 127.0.0.1 (0: a free one, printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The port of the control API on 127.0.0.1 (0: a free one, printed).
    #[arg(long, default_value_t = 0)]
    control_port: u16,
    /// A fault scripted at start, `KIND[*N][@METHOD/path/prefix]`; KIND is `status:CODE` (or
    /// `CODE`), `rate-limited[:SECONDS]`, `html[:CODE]`, `delay:MS`, `drop-after-processing` or
    /// `drop-after-read`, `status-after-processing:CODE` or `truncated-json`. Repeat for more.
    #[arg(long = "fault", value_name = "KIND", value_parser = fault::parse_spec)]
    faults: Vec<FaultSpec>,
    /// Deliver signed webhooks to this URL.
    #[arg(long, value_name = "URL")]
    webhook_url: Option<String>,
    /// When a webhook not answered 2xx is delivered again: `none`, `default` (10s,1m,5m,30m,2h,
    /// ours: no provider publishes a schedule), or the delays before each retry, e.g.
    /// `200ms,1s,5s` or `3*500ms` (at most 25 retries, each at most 24h).
    #[arg(long, value_name = "SCHEDULE", value_parser = parse_retry)]
    webhook_retries: Option<WebhookRetry>,
    /// Also advance every open order every MS milliseconds.
    #[arg(long, value_name = "MS")]
    auto_advance_ms: Option<u64>,
}

/// A running sandbox of one provider.
enum Running {
    Rocheap(rocheap::sandbox::Sandbox),
    Romplhub(romplhub::sandbox::Sandbox),
    AgentCatalog(agent_catalog::sandbox::Sandbox),
    Xrocket(xrocket::sandbox::Sandbox),
    Rohopay(rohopay::sandbox::Sandbox),
}

/// What a client needs to talk to the sandbox: only sandbox test values.
struct Info {
    provider: &'static str,
    base_url: String,
    control_url: String,
    /// `(label, value)`: the test key and any other credential.
    credentials: Vec<(&'static str, String)>,
    /// The webhook signing secret, or why there is none.
    webhook_secret: Result<String, &'static str>,
    /// `(variable, value)` for the crate's `Client::from_env()` and for `payout <provider> ...`.
    env: Vec<(&'static str, String)>,
}

impl Running {
    async fn start(provider: Provider) -> std::io::Result<Self> {
        Ok(match provider {
            Provider::Rocheap => Running::Rocheap(rocheap::sandbox::Sandbox::start().await?),
            Provider::Romplhub => Running::Romplhub(romplhub::sandbox::Sandbox::start().await?),
            Provider::AgentCatalog => Running::AgentCatalog(agent_catalog::sandbox::Sandbox::start().await?),
            Provider::Xrocket => Running::Xrocket(xrocket::sandbox::Sandbox::start().await?),
            Provider::Rohopay => Running::Rohopay(rohopay::sandbox::Sandbox::start().await?),
        })
    }

    fn server(&self) -> &SandboxServer {
        match self {
            Running::Rocheap(s) => s.server(),
            Running::Romplhub(s) => s.server(),
            Running::AgentCatalog(s) => s.server(),
            Running::Xrocket(s) => s.server(),
            Running::Rohopay(s) => s.server(),
        }
    }

    /// The base URL clients use (the provider's path prefix included).
    fn base_url(&self) -> String {
        match self {
            Running::Rocheap(s) => s.base_url(),
            Running::Romplhub(s) => s.base_url(),
            Running::AgentCatalog(s) => s.base_url(),
            Running::Xrocket(s) => s.base_url(),
            Running::Rohopay(s) => s.base_url(),
        }
    }

    async fn advance(&self) -> Vec<String> {
        match self {
            Running::Rocheap(s) => s.advance().await,
            Running::Romplhub(s) => s.advance().await,
            Running::AgentCatalog(s) => s.advance(),
            Running::Xrocket(s) => s.advance().await,
            Running::Rohopay(s) => s.advance().await,
        }
    }

    fn auto_advance(&self, every: Duration) {
        match self {
            Running::Rocheap(s) => s.auto_advance(every),
            Running::Romplhub(s) => s.auto_advance(every),
            Running::AgentCatalog(s) => s.auto_advance(every),
            Running::Xrocket(s) => s.auto_advance(every),
            Running::Rohopay(s) => s.auto_advance(every),
        }
    }

    fn deliveries(&self) -> Vec<Delivery> {
        match self {
            Running::Rocheap(s) => s.deliveries(),
            Running::Romplhub(s) => s.deliveries(),
            Running::AgentCatalog(_) => Vec::new(),
            Running::Xrocket(s) => s.deliveries(),
            Running::Rohopay(s) => s.deliveries(),
        }
    }

    fn set_webhook_url(&self, url: &str) -> Result<(), String> {
        match self {
            Running::Rocheap(s) => s.set_webhook_url(url),
            Running::Romplhub(s) => s.set_webhook_url(url),
            Running::Xrocket(s) => s.set_webhook_url(url),
            Running::Rohopay(s) => s.set_webhook_url(url),
            Running::AgentCatalog(_) => {
                return Err("the Plexy Gate agent API sends no webhooks (orders are polled)".into());
            }
        }
        Ok(())
    }

    fn webhook_retry(&self, schedule: WebhookRetry) -> Result<(), String> {
        match self {
            Running::Rocheap(s) => s.webhook_retry(schedule),
            Running::Romplhub(s) => s.webhook_retry(schedule),
            Running::Xrocket(s) => s.webhook_retry(schedule),
            Running::Rohopay(s) => s.webhook_retry(schedule),
            Running::AgentCatalog(_) => {
                return Err("the Plexy Gate agent API sends no webhooks (orders are polled)".into());
            }
        }
        Ok(())
    }

    fn info(&self, base_url: String, control_url: String) -> Info {
        match self {
            Running::Rocheap(s) => Info {
                provider: "rocheap",
                credentials: vec![("api_key", s.api_key().to_string())],
                webhook_secret: Ok(s.api_key().to_string()),
                env: vec![
                    ("ROCHEAP_API_KEY", s.api_key().to_string()),
                    ("ROCHEAP_BASE_URL", base_url.clone()),
                ],
                base_url,
                control_url,
            },
            Running::Romplhub(s) => Info {
                provider: "romplhub",
                credentials: vec![("api_key", s.api_key().to_string())],
                webhook_secret: Err("none: RomplHub does not sign webhooks"),
                env: vec![
                    ("ROMPLHUB_API_KEY", s.api_key().to_string()),
                    ("ROMPLHUB_BASE_URL", base_url.clone()),
                ],
                base_url,
                control_url,
            },
            Running::AgentCatalog(s) => Info {
                provider: "agent-catalog",
                credentials: vec![
                    ("api_key", s.api_key().to_string()),
                    ("agent_id", s.agent_id().to_string()),
                ],
                webhook_secret: Err("none: the agent API sends no webhooks"),
                env: vec![
                    ("AGENT_CATALOG_API_KEY", s.api_key().to_string()),
                    ("AGENT_CATALOG_AGENT_ID", s.agent_id().to_string()),
                    ("AGENT_CATALOG_BASE_URL", base_url.clone()),
                ],
                base_url,
                control_url,
            },
            Running::Xrocket(s) => Info {
                provider: "xrocket",
                credentials: vec![("api_key", s.api_key().to_string())],
                webhook_secret: Ok(s.webhook_secret().to_string()),
                env: vec![
                    ("XROCKET_API_KEY", s.api_key().to_string()),
                    ("XROCKET_BASE_URL", base_url.clone()),
                ],
                base_url,
                control_url,
            },
            Running::Rohopay(s) => Info {
                provider: "rohopay",
                // The `test_` key the seeded sandbox accepts; its `live_` key (disbursements)
                // is printed too, since both are sandbox-only values.
                credentials: vec![
                    ("api_key", s.test_key().to_string()),
                    ("live_key", s.live_key().to_string()),
                ],
                webhook_secret: Ok(s.webhook_secret().expose_secret().to_string()),
                env: vec![
                    ("ROHOPAY_API_KEY", s.test_key().to_string()),
                    ("ROHOPAY_BASE_URL", base_url.clone()),
                ],
                base_url,
                control_url,
            },
        }
    }
}

impl Info {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "provider": self.provider,
            "base_url": self.base_url,
            "control_url": self.control_url,
            "env": self.env.iter().map(|(k, v)| (k.to_string(), Value::String(v.clone()))).collect::<Map<_, _>>(),
        });
        for (k, val) in &self.credentials {
            v[*k] = Value::String(val.clone());
        }
        v["webhook_secret"] = match &self.webhook_secret {
            Ok(s) => Value::String(s.clone()),
            Err(_) => Value::Null,
        };
        v
    }

    fn print(&self, json: bool) {
        if json {
            println!("{}", self.to_json());
            return;
        }
        println!("provider: {}", self.provider);
        println!("base_url: {}", self.base_url);
        println!("control_url: {}", self.control_url);
        for (k, v) in &self.credentials {
            println!("{k}: {v}");
        }
        match &self.webhook_secret {
            Ok(s) => println!("webhook_secret: {s}"),
            Err(why) => println!("webhook_secret: ({why})"),
        }
        let env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("env: {}", env.join(" "));
        println!("ready (sandbox-only values; Ctrl-C stops)");
    }
}

struct Served {
    sandbox: Running,
    info: Value,
}

pub(crate) async fn run(args: ServeArgs, json: bool) -> Result<(), Failure> {
    let sandbox = Running::start(args.provider)
        .await
        .map_err(|e| format!("cannot start the {} sandbox: {e}", args.provider.name()))?;
    let mut base_url = sandbox.base_url();
    if args.port != 0 {
        // The sandbox listens on a free port; a fixed port forwards to it byte for byte, so
        // every fault (a dropped connection included) reaches the client unchanged.
        let listener = bind(args.port).await?;
        let upstream: SocketAddr = sandbox
            .server()
            .base_url()
            .trim_start_matches("http://")
            .parse()
            .map_err(|e| format!("sandbox address: {e}"))?;
        let public = format!("http://{}", listener.local_addr()?);
        base_url = base_url.replacen(&sandbox.server().base_url(), &public, 1);
        tokio::spawn(forward(listener, upstream));
    }
    for spec in &args.faults {
        spec.apply(sandbox.server())?;
    }
    if let Some(schedule) = &args.webhook_retries {
        sandbox.webhook_retry(schedule.clone())?;
    }
    if let Some(url) = &args.webhook_url {
        sandbox.set_webhook_url(url)?;
    }
    if let Some(ms) = args.auto_advance_ms {
        sandbox.auto_advance(Duration::from_millis(ms.max(1)));
    }
    let control = bind(args.control_port).await?;
    let control_url = format!("http://{}", control.local_addr()?);
    let info = sandbox.info(base_url, control_url);
    let served = Arc::new(Served {
        info: info.to_json(),
        sandbox,
    });
    let app = Router::new()
        .route("/", get(info_route))
        .route("/advance", post(advance_route))
        .route("/fault", post(fault_route))
        .route("/requests", get(requests_route).delete(clear_requests_route))
        .route("/deliveries", get(deliveries_route))
        .route("/webhook-url", post(webhook_url_route))
        .with_state(served.clone());
    let control_task = tokio::spawn(async move { axum::serve(control, app).await });
    // The signal handlers exist before "ready" is printed: a caller that reads the banner and
    // sends SIGINT at once must get a clean stop, not the default kill.
    let shutdown = Shutdown::listen();
    info.print(json);

    tokio::select! {
        () = shutdown.wait() => {}
        ended = control_task => {
            return Err(Failure(match ended {
                Ok(Ok(())) => "the control API stopped".into(),
                Ok(Err(e)) => format!("the control API stopped: {e}"),
                Err(e) => format!("the control API stopped: {e}"),
            }));
        }
    }
    eprintln!("payout: sandbox stopped");
    drop(served);
    Ok(())
}

fn parse_retry(s: &str) -> Result<WebhookRetry, String> {
    s.parse()
}

async fn bind(port: u16) -> Result<TcpListener, Failure> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| Failure(format!("cannot listen on 127.0.0.1:{port}: {e}")))
}

async fn forward(listener: TcpListener, upstream: SocketAddr) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

/// SIGINT (Ctrl-C) or SIGTERM, listened for from the moment it is made.
struct Shutdown {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Shutdown {
    fn listen() -> Shutdown {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signals = match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
                (Ok(int), Ok(term)) => Some((int, term)),
                _ => None,
            };
            Shutdown { signals }
        }
        #[cfg(not(unix))]
        {
            Shutdown {}
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut int, mut term)) = self.signals {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

type Shared = State<Arc<Served>>;

fn bad_request(message: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message.into() }))).into_response()
}

async fn info_route(State(s): Shared) -> Json<Value> {
    Json(s.info.clone())
}

async fn advance_route(State(s): Shared) -> Json<Value> {
    Json(json!({ "advanced": s.sandbox.advance().await }))
}

/// The body of `POST /fault`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    kind: String,
    #[serde(default = "one")]
    count: usize,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path_prefix: Option<String>,
}

fn one() -> usize {
    1
}

async fn fault_route(State(s): Shared, body: axum::body::Bytes) -> Response {
    // A typo in a field name must not script a different fault than meant: unknown fields
    // and a wrong shape are refused with the reason.
    let body: FaultBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return bad_request(format!(
                "expected {{\"kind\": \"...\", \"count\": n, \"method\": \"...\", \"path_prefix\": \"...\"}}: {e}"
            ));
        }
    };
    let spec = match fault::parse_kind(&body.kind) {
        Ok(fault) => FaultSpec {
            fault,
            count: body.count,
            method: body.method.map(|m| m.to_ascii_uppercase()),
            path_prefix: body.path_prefix,
        },
        Err(e) => return bad_request(e),
    };
    match spec.apply(s.sandbox.server()) {
        Ok(()) => Json(json!({
            "scripted": spec.count,
            "kind": body.kind,
            "method": spec.method,
            "path_prefix": spec.path_prefix,
        }))
        .into_response(),
        Err(e) => bad_request(e),
    }
}

fn headers_json(headers: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (k, v) in headers {
        match map.get_mut(k) {
            Some(Value::String(prev)) => {
                prev.push_str(", ");
                prev.push_str(v);
            }
            _ => {
                map.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    Value::Object(map)
}

fn body_json(body: &[u8]) -> (Value, Value) {
    (
        Value::String(String::from_utf8_lossy(body).into_owned()),
        serde_json::from_slice(body).unwrap_or(Value::Null),
    )
}

fn request_json(r: &RecordedRequest) -> Value {
    let (body, parsed) = body_json(&r.body);
    json!({
        "method": r.method,
        "path": r.path,
        "query": r.query,
        "headers": headers_json(&r.headers),
        "body": body,
        "json": parsed,
    })
}

fn delivery_json(d: &Delivery) -> Value {
    let (body, parsed) = body_json(&d.body);
    json!({
        "url": d.url,
        "label": d.label,
        "status": d.status,
        "headers": headers_json(&d.headers),
        "body": body,
        "json": parsed,
        "delivered_on": d.delivered_on(),
        "finished": d.finished,
        "attempts": d.attempts.iter().map(|a| json!({
            "number": a.number,
            "at_ms": a.at.duration_since(std::time::UNIX_EPOCH).map(|t| t.as_millis() as u64).unwrap_or(0),
            "status": a.status,
            "error": a.error,
        })).collect::<Vec<_>>(),
    })
}

async fn requests_route(State(s): Shared) -> Json<Value> {
    Json(Value::Array(
        s.sandbox.server().requests().iter().map(request_json).collect(),
    ))
}

async fn clear_requests_route(State(s): Shared) -> StatusCode {
    s.sandbox.server().clear_requests();
    StatusCode::NO_CONTENT
}

async fn deliveries_route(State(s): Shared) -> Json<Value> {
    Json(Value::Array(
        s.sandbox.deliveries().iter().map(delivery_json).collect(),
    ))
}

async fn webhook_url_route(State(s): Shared, body: axum::body::Bytes) -> Response {
    let url = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("url").and_then(Value::as_str).map(str::to_string));
    let Some(url) = url else {
        return bad_request("expected {\"url\": \"http://...\"}");
    };
    match s.sandbox.set_webhook_url(&url) {
        Ok(()) => Json(json!({ "webhook_url": url })).into_response(),
        Err(e) => bad_request(e),
    }
}
