//! `cargo xtask bench`: the payout-rs SDK against a raw-reqwest baseline, in one run.
//!
//! Both sides send the same requests (same headers, same body) to the same loopback server
//! (`bench-server`, a separate process, 127.0.0.1 only) and decode into the same struct (the
//! SDK's own output type). Reps are interleaved (SDK first on even reps, raw first on odd
//! ones), on a current-thread and a multi-thread tokio runtime. Reported per scenario:
//! client CPU per call (or per item for pagination), throughput, allocations per call
//! (a counting global allocator), TCP connections opened (counted by the server), and where
//! valgrind is installed, callgrind instruction counts per call (an N-call run minus a 0-call
//! run of the same mode).
//!
//! Modes: `payout-bench all [--reps N] [--calls N] [--items N] [--quick] [--cg-per-task N]
//! [--cg-reps N] [--out FILE]` (the default; spawns its own server) and `payout-bench cg --port P
//! --provider xrocket|catalog --scenario get|post|pages|concurrent --side sdk|raw --n N
//! [--tasks T] [--rt current|multi]` (one side, N calls, or T tasks of N calls each on the
//! multi-thread runtime for `concurrent`: for callgrind, `strace -f -c` or `perf stat`; its last
//! line, `bench-cg: cpu_us U`, is the whole process's user+system CPU, start-up included).
//!
//! `payout-bench pairs [--pairs N] [--quick] [--calls N] [--items N] [--per-task N]
//! [--zero-runs N] [--out FILE]` (`cargo xtask bench --pairs [N]`): whole-process pairs, pinned.
//! The server runs on CPU 1 and every measured process is a `cg` child on CPU 0 (`taskset`;
//! neither on a 1-CPU machine). Per provider and row (GET, POST create, pagination, 64 tasks
//! of GET on the multi-thread and on the current-thread runtime): each side's fixed cost is
//! the median CPU of `--zero-runs` (5) 0-call processes; then N pairs (21) of N-call processes
//! (5,000 calls, 200,000 items, 64 x 80 calls: about 0.5 s each), SDK first on even pairs and
//! raw first on odd ones. CPU per unit = (process CPU - fixed cost) / units; the ratio is
//! SDK/raw within a pair; reported: its min / median / max and a 95% percentile-bootstrap
//! interval of the median (2,000 resamples, splitmix64 with a fixed seed). Written under
//! `"pairs"` in the results file; the other keys are kept (and `all` keeps `"pairs"`).

// Bench only (this crate has its own workspace and is never published): a counting
// `GlobalAlloc` wrapper and `getrusage` need unsafe. The library crates stay `forbid(unsafe_code)`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use payout_core::reqwest;
use payout_core::reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use serde::{Deserialize, Serialize};
use serde_json::json;

// ---------------------------------------------------------------- counting allocator

struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// User + system CPU time of the whole process (every runtime thread).
fn cpu_now() -> Duration {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv =
        |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

// ---------------------------------------------------------------- settings

const API_KEY: &str = "bench-key-3f9a0c1d5e7b";
const AGENT: &str = "a12d5be1-3456-4c18-b111-33cdd0a1cc99";
const PAGE_SIZE: u32 = 100;
const TASKS: u64 = 64;
const PER_TASK: u64 = 500;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Prov {
    Xrocket,
    Catalog,
}
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scen {
    Get,
    Post,
    Concurrent,
    Pages,
}
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Sdk,
    Raw,
}
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Rt {
    Current,
    Multi,
}

impl Prov {
    fn name(self) -> &'static str {
        match self {
            Prov::Xrocket => "xrocket",
            Prov::Catalog => "agent-catalog",
        }
    }
}
impl Scen {
    fn name(self) -> &'static str {
        match self {
            Scen::Get => "GET",
            Scen::Post => "POST create",
            Scen::Concurrent => "64 tasks x 500 GET",
            Scen::Pages => "pagination",
        }
    }
    fn unit(self) -> &'static str {
        if self == Scen::Pages { "item" } else { "call" }
    }
}
impl Rt {
    fn name(self) -> &'static str {
        match self {
            Rt::Current => "current-thread",
            Rt::Multi => "multi-thread",
        }
    }
    fn build(self) -> tokio::runtime::Runtime {
        match self {
            Rt::Current => tokio::runtime::Builder::new_current_thread().enable_all().build(),
            Rt::Multi => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build(),
        }
        .expect("runtime")
    }
}

// ---------------------------------------------------------------- the two sides

/// The raw baseline: one `reqwest::Client`, headers built once, the same requests, decoded
/// with `serde_json` into the SDK's own output types.
struct Raw {
    http: reqwest::Client,
    x_base: String,
    c_base: String,
    x_auth: HeaderValue,
    c_auth: HeaderValue,
    x_ua: HeaderValue,
    c_ua: HeaderValue,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RawTransferBody<'a> {
    target: &'a str,
    target_type: &'a str,
    asset: &'a str,
    amount: &'a str,
    client_transfer_id: &'a str,
    description: &'a str,
}

#[derive(Serialize)]
struct RawOrderBody<'a> {
    product_id: i64,
    external_ref: &'a str,
    quantity: u32,
}

#[derive(Deserialize)]
struct RawCatalogPage {
    items: Vec<agent_catalog::Product>,
    total: u64,
}

#[derive(Deserialize)]
struct RawXPage {
    items: Vec<xrocket::Transfer>,
    pagination: RawXPagination,
}
#[derive(Deserialize)]
struct RawXPagination {
    next: Option<String>,
}

type Res<T> = Result<T, String>;

impl Raw {
    fn new(port: u16) -> Raw {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .expect("reqwest client");
        Raw {
            http,
            x_base: format!("http://127.0.0.1:{port}"),
            c_base: format!("http://127.0.0.1:{port}/agent/{AGENT}"),
            x_auth: HeaderValue::from_str(&format!("Bearer {API_KEY}")).expect("header"),
            c_auth: HeaderValue::from_static(API_KEY),
            x_ua: HeaderValue::from_static("xrocket/0.1.0 (payout-rs)"),
            c_ua: HeaderValue::from_static("agent-catalog/0.1.0 (payout-rs)"),
        }
    }

    async fn fetch<T: serde::de::DeserializeOwned>(&self, rb: reqwest::RequestBuilder) -> Res<T> {
        let resp = rb.send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("status {}", resp.status()));
        }
        let body = resp.bytes().await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    }

    fn x(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.header(USER_AGENT, self.x_ua.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(AUTHORIZATION, self.x_auth.clone())
    }

    fn c(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.header(USER_AGENT, self.c_ua.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(AUTHORIZATION, self.c_auth.clone())
    }

    async fn x_get(&self) -> Res<()> {
        let url = format!("{}/api/v1/transfer?transferId=123321232", self.x_base);
        let t: xrocket::Transfer = self.fetch(self.x(self.http.get(url))).await?;
        std::hint::black_box(t);
        Ok(())
    }

    async fn x_post(&self, i: u64) -> Res<()> {
        let id = format!("bench-{i}");
        let body = RawTransferBody {
            target: "87209764",
            target_type: "telegram_user_id",
            asset: "TONCOIN",
            amount: "1.23",
            client_transfer_id: &id,
            description: "You are awesome!",
        };
        let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let rb = self
            .x(self.http.post(format!("{}/api/v1/transfers", self.x_base)))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(bytes);
        let t: xrocket::Transfer = self.fetch(rb).await?;
        std::hint::black_box(t);
        Ok(())
    }

    async fn c_get(&self) -> Res<()> {
        let url = format!("{}/products/456", self.c_base);
        let p: agent_catalog::Product = self.fetch(self.c(self.http.get(url))).await?;
        std::hint::black_box(p);
        Ok(())
    }

    async fn c_post(&self, i: u64) -> Res<()> {
        let key = HeaderValue::from_str(&format!("bench-{i}")).map_err(|e| e.to_string())?;
        let body = RawOrderBody {
            product_id: 456,
            external_ref: "inv-1001",
            quantity: 1,
        };
        let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let rb = self
            .c(self.http.post(format!("{}/orders", self.c_base)))
            .header("idempotency-key", key)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(bytes);
        let o: agent_catalog::Order = self.fetch(rb).await?;
        std::hint::black_box(o);
        Ok(())
    }

    async fn x_pages(&self, max: u64) -> Res<u64> {
        let mut n = 0u64;
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{}/api/v1/transfers?cursor={c}&limit={PAGE_SIZE}", self.x_base),
                None => format!("{}/api/v1/transfers?limit={PAGE_SIZE}", self.x_base),
            };
            let page: RawXPage = self.fetch(self.x(self.http.get(url))).await?;
            for t in page.items {
                std::hint::black_box(t);
                n += 1;
                if n >= max {
                    return Ok(n);
                }
            }
            match page.pagination.next {
                Some(c) if !c.is_empty() => cursor = Some(c),
                _ => return Ok(n),
            }
        }
    }

    async fn c_pages(&self, max: u64) -> Res<u64> {
        let mut n = 0u64;
        let mut page_no = 1u32;
        loop {
            let url = format!("{}/products?page={page_no}&pageSize={PAGE_SIZE}", self.c_base);
            let page: RawCatalogPage = self.fetch(self.c(self.http.get(url))).await?;
            let total = page.total;
            let empty = page.items.is_empty();
            for p in page.items {
                std::hint::black_box(p);
                n += 1;
                if n >= max {
                    return Ok(n);
                }
            }
            if empty || u64::from(page_no) * u64::from(PAGE_SIZE) >= total {
                return Ok(n);
            }
            page_no += 1;
        }
    }
}

struct Sdk {
    x: xrocket::Client,
    c: agent_catalog::Client,
}

impl Sdk {
    fn new(port: u16) -> Sdk {
        let x = xrocket::Client::builder()
            .api_key(API_KEY)
            .base_url(format!("http://127.0.0.1:{port}"))
            .build()
            .expect("xrocket client");
        let c = agent_catalog::Client::builder()
            .api_key(API_KEY)
            .agent_id(AGENT)
            .base_url(format!("http://127.0.0.1:{port}"))
            .build()
            .expect("agent-catalog client");
        Sdk { x, c }
    }

    async fn x_get(&self) -> Res<()> {
        let t = self
            .x
            .transfers()
            .get("123321232")
            .await
            .map_err(|e| e.to_string())?;
        std::hint::black_box(t);
        Ok(())
    }

    async fn x_post(&self, i: u64) -> Res<()> {
        let req = xrocket::CreateTransfer::to_telegram_user(
            87209764,
            xrocket::Asset::Toncoin,
            payout_core::Decimal::new(123, 2),
        )
        .client_transfer_id(format!("bench-{i}"))
        .description("You are awesome!");
        let t = self.x.transfers().create(&req).await.map_err(|e| e.to_string())?;
        std::hint::black_box(t);
        Ok(())
    }

    async fn c_get(&self) -> Res<()> {
        let p = self.c.products().get(456).await.map_err(|e| e.to_string())?;
        std::hint::black_box(p);
        Ok(())
    }

    async fn c_post(&self, i: u64) -> Res<()> {
        let req = agent_catalog::CreateOrder::with_key(456, format!("bench-{i}"))
            .map_err(|e| e.to_string())?
            .external_ref("inv-1001")
            .quantity(1);
        let o = self.c.orders().create(&req).await.map_err(|e| e.to_string())?;
        std::hint::black_box(o);
        Ok(())
    }

    async fn x_pages(&self, max: u64) -> Res<u64> {
        let mut s = std::pin::pin!(
            self.x
                .transfers()
                .stream(xrocket::ListTransfers::new().limit(PAGE_SIZE))
        );
        let mut n = 0;
        while let Some(t) = s.next().await {
            std::hint::black_box(t.map_err(|e| e.to_string())?);
            n += 1;
            if n >= max {
                break;
            }
        }
        Ok(n)
    }

    async fn c_pages(&self, max: u64) -> Res<u64> {
        let mut s = std::pin::pin!(
            self.c
                .products()
                .stream(agent_catalog::ProductFilter::new().page_size(PAGE_SIZE))
        );
        let mut n = 0;
        while let Some(p) = s.next().await {
            std::hint::black_box(p.map_err(|e| e.to_string())?);
            n += 1;
            if n >= max {
                break;
            }
        }
        Ok(n)
    }
}

struct Clients {
    sdk: Sdk,
    raw: Raw,
}

impl Clients {
    async fn get(&self, p: Prov, side: Side) -> Res<()> {
        match (p, side) {
            (Prov::Xrocket, Side::Sdk) => self.sdk.x_get().await,
            (Prov::Xrocket, Side::Raw) => self.raw.x_get().await,
            (Prov::Catalog, Side::Sdk) => self.sdk.c_get().await,
            (Prov::Catalog, Side::Raw) => self.raw.c_get().await,
        }
    }
    async fn post(&self, p: Prov, side: Side, i: u64) -> Res<()> {
        match (p, side) {
            (Prov::Xrocket, Side::Sdk) => self.sdk.x_post(i).await,
            (Prov::Xrocket, Side::Raw) => self.raw.x_post(i).await,
            (Prov::Catalog, Side::Sdk) => self.sdk.c_post(i).await,
            (Prov::Catalog, Side::Raw) => self.raw.c_post(i).await,
        }
    }
    async fn pages(&self, p: Prov, side: Side, max: u64) -> Res<u64> {
        match (p, side) {
            (Prov::Xrocket, Side::Sdk) => self.sdk.x_pages(max).await,
            (Prov::Xrocket, Side::Raw) => self.raw.x_pages(max).await,
            (Prov::Catalog, Side::Sdk) => self.sdk.c_pages(max).await,
            (Prov::Catalog, Side::Raw) => self.raw.c_pages(max).await,
        }
    }

    /// Runs one scenario; returns how many units (calls or items) it did.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        self: &Arc<Self>,
        p: Prov,
        side: Side,
        s: Scen,
        calls: u64,
        items: u64,
        tasks: u64,
        per_task: u64,
        seq0: u64,
    ) -> Res<u64> {
        match s {
            Scen::Get => {
                for _ in 0..calls {
                    self.get(p, side).await?;
                }
                Ok(calls)
            }
            Scen::Post => {
                for i in 0..calls {
                    self.post(p, side, seq0 + i).await?;
                }
                Ok(calls)
            }
            Scen::Concurrent => {
                let mut handles = Vec::with_capacity(tasks as usize);
                for _ in 0..tasks {
                    let me = self.clone();
                    handles.push(tokio::spawn(async move {
                        for _ in 0..per_task {
                            me.get(p, side).await?;
                        }
                        Ok::<_, String>(())
                    }));
                }
                for h in handles {
                    h.await.map_err(|e| e.to_string())??;
                }
                Ok(tasks * per_task)
            }
            Scen::Pages => {
                let n = self.pages(p, side, items).await?;
                if n != items {
                    return Err(format!("pagination returned {n} items, expected {items}"));
                }
                Ok(n)
            }
        }
    }
}

// ---------------------------------------------------------------- server

struct Server {
    child: std::process::Child,
    port: u16,
}

impl Server {
    /// `pin`: the server runs on CPU 1 (`taskset -c 1`), apart from the client, which
    /// `cargo xtask bench --pin` runs on CPU 0: on a 2-core machine the two then never
    /// compete for a core, which removes most of the rep-to-rep noise of the wall figures.
    fn start(total: u64, pin: bool) -> Server {
        let exe = std::env::current_exe()
            .expect("current exe")
            .with_file_name("bench-server");
        let mut cmd = if pin {
            let mut c = Command::new("taskset");
            c.arg("-c").arg("1").arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let mut child = cmd
            .arg("--total")
            .arg(total.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", exe.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port line");
        let port = line.trim().parse().expect("port");
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// TCP connections the server has accepted so far, not counting this query's own.
fn accepts(port: u16) -> u64 {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("stats connect");
    s.write_all(b"GET /__stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("stats write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("stats read");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("0");
    body.trim().parse::<u64>().expect("stats body") - 1
}

// ---------------------------------------------------------------- measuring

#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    units: u64,
    wall: Duration,
    cpu: Duration,
    conns: u64,
}

impl Sample {
    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.units as f64
    }
    fn per_sec(&self) -> f64 {
        self.units as f64 / self.wall.as_secs_f64()
    }
}

struct Cfg {
    reps: usize,
    calls: u64,
    items: u64,
    tasks: u64,
    per_task: u64,
    cg_calls: u64,
    cg_items: u64,
    /// Calls per task in the concurrent callgrind run (64 tasks).
    cg_per_task: u64,
    /// How many callgrind pairs the concurrent scenario takes the median of.
    cg_reps: usize,
    out: String,
    /// Client on CPU 0, server on CPU 1 (`--pin`).
    pin: bool,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

const PROVS: [Prov; 2] = [Prov::Xrocket, Prov::Catalog];
const SCENS: [Scen; 4] = [Scen::Get, Scen::Post, Scen::Concurrent, Scen::Pages];
const RTS: [Rt; 2] = [Rt::Current, Rt::Multi];

type Key = (Prov, Scen, Rt);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("cg") {
        return cg_mode(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("pairs") || args.iter().any(|a| a == "--pairs") {
        return pairs_mode(&args);
    }
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let quick = args.iter().any(|a| a == "--quick");
    let cfg = Cfg {
        reps: flag("--reps")
            .and_then(|v| v.parse().ok())
            .unwrap_or(if quick { 2 } else { 5 }),
        calls: flag("--calls")
            .and_then(|v| v.parse().ok())
            .unwrap_or(if quick { 1000 } else { 5000 }),
        items: flag("--items")
            .and_then(|v| v.parse().ok())
            .unwrap_or(if quick { 20_000 } else { 200_000 }),
        tasks: TASKS,
        per_task: if quick { 50 } else { PER_TASK },
        cg_calls: 200,
        cg_items: 2_000,
        cg_per_task: flag("--cg-per-task").and_then(|v| v.parse().ok()).unwrap_or(10),
        cg_reps: flag("--cg-reps")
            .and_then(|v| v.parse().ok())
            .unwrap_or(if quick { 1 } else { 3 }),
        out: flag("--out").unwrap_or_else(|| "target/bench/results.json".to_string()),
        pin: args.iter().any(|a| a == "--pin"),
    };
    let server = Server::start(cfg.items.max(cfg.cg_items), cfg.pin);
    let port = server.port;
    eprintln!(
        "bench: server on 127.0.0.1:{port} (pid {}); {} reps, {} calls, {} items, {}x{} concurrent",
        server.child.id(),
        cfg.reps,
        cfg.calls,
        cfg.items,
        cfg.tasks,
        cfg.per_task
    );

    // ---- timed reps, interleaved
    let mut samples: std::collections::BTreeMap<String, (Key, Vec<Sample>, Vec<Sample>)> = Default::default();
    let mut seq = 0u64;
    for rep in 0..cfg.reps {
        for rt_kind in RTS {
            let rt = rt_kind.build();
            let clients = rt.block_on(async {
                Arc::new(Clients {
                    sdk: Sdk::new(port),
                    raw: Raw::new(port),
                })
            });
            // Warm up: connections for the concurrent run, lazy statics, first-page code paths.
            rt.block_on(async {
                for p in PROVS {
                    for side in [Side::Sdk, Side::Raw] {
                        clients
                            .run(p, side, Scen::Concurrent, 0, 0, cfg.tasks, 3, 0)
                            .await
                            .expect("warm-up");
                        clients
                            .run(p, side, Scen::Post, 20, 0, 0, 0, 1 << 40)
                            .await
                            .expect("warm-up");
                        clients.pages(p, side, 300).await.expect("warm-up");
                    }
                }
            });
            for p in PROVS {
                for s in SCENS {
                    let order = if rep % 2 == 0 {
                        [Side::Sdk, Side::Raw]
                    } else {
                        [Side::Raw, Side::Sdk]
                    };
                    for side in order {
                        let before_conns = accepts(port);
                        let cpu0 = cpu_now();
                        let t0 = Instant::now();
                        let units = rt
                            .block_on(clients.run(
                                p,
                                side,
                                s,
                                cfg.calls,
                                cfg.items,
                                cfg.tasks,
                                cfg.per_task,
                                seq,
                            ))
                            .unwrap_or_else(|e| panic!("{} {} {:?}: {e}", p.name(), s.name(), side));
                        let wall = t0.elapsed();
                        let cpu = cpu_now() - cpu0;
                        seq += cfg.calls;
                        let conns = accepts(port) - before_conns - 1;
                        let sample = Sample {
                            units,
                            wall,
                            cpu,
                            conns,
                        };
                        let k = format!("{}|{}|{}", p.name(), s.name(), rt_kind.name());
                        let e = samples.entry(k).or_insert(((p, s, rt_kind), vec![], vec![]));
                        match side {
                            Side::Sdk => e.1.push(sample),
                            Side::Raw => e.2.push(sample),
                        }
                    }
                }
            }
            drop(clients);
            rt.shutdown_timeout(Duration::from_secs(1));
            eprintln!("bench: rep {}/{} on {} done", rep + 1, cfg.reps, rt_kind.name());
        }
    }

    // ---- allocations per call (current-thread runtime, counted over the whole process)
    let mut allocs: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
    {
        let rt = Rt::Current.build();
        let clients = rt.block_on(async {
            Arc::new(Clients {
                sdk: Sdk::new(port),
                raw: Raw::new(port),
            })
        });
        for p in PROVS {
            for s in [Scen::Get, Scen::Post, Scen::Pages] {
                let mut per = [0.0f64; 2];
                for (j, side) in [Side::Sdk, Side::Raw].into_iter().enumerate() {
                    let (n, items) = if s == Scen::Pages { (0, 20_000) } else { (500, 0) };
                    rt.block_on(clients.run(p, side, s, 20, 300, 0, 0, 1 << 41))
                        .expect("warm-up");
                    ALLOCS.store(0, Ordering::SeqCst);
                    COUNTING.store(true, Ordering::SeqCst);
                    let units = rt
                        .block_on(clients.run(p, side, s, n, items, 0, 0, 1 << 42))
                        .expect("alloc run");
                    COUNTING.store(false, Ordering::SeqCst);
                    per[j] = ALLOCS.load(Ordering::SeqCst) as f64 / units as f64;
                }
                allocs.insert(format!("{}|{}", p.name(), s.name()), (per[0], per[1]));
            }
        }
    }

    // ---- callgrind
    let cg = callgrind(port, &cfg);

    // ---- report
    report(&cfg, &samples, &allocs, &cg);
    drop(server);
}

/// Instructions per unit, (sdk, raw), keyed "provider|scenario" (the concurrent scenario on
/// the multi-thread runtime); empty without valgrind. Also the connections each side opened
/// in its concurrent callgrind runs, keyed "provider|conns".
fn callgrind(port: u16, cfg: &Cfg) -> std::collections::BTreeMap<String, (f64, f64)> {
    let mut out = std::collections::BTreeMap::new();
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("bench: valgrind not installed; no instruction counts");
        return out;
    }
    for p in PROVS {
        for s in CG_SCENS {
            let (n, units) = match s {
                Scen::Pages => (cfg.cg_items, cfg.cg_items),
                Scen::Concurrent => (cfg.cg_per_task, cfg.tasks * cfg.cg_per_task),
                _ => (cfg.cg_calls, cfg.cg_calls),
            };
            let mut per = [f64::NAN; 2];
            let mut conns = [0u64; 2];
            for (j, side) in [Side::Sdk, Side::Raw].into_iter().enumerate() {
                // The multi-thread runs vary a little with the interleaving valgrind picks:
                // the median of `cg_reps` pairs.
                let reps = if s == Scen::Concurrent { cfg.cg_reps } else { 1 };
                let mut v = Vec::new();
                for _ in 0..reps {
                    if let (Some((zero, _)), Some((full, c))) = (
                        callgrind_once(port, p, s, side, 0, cfg.tasks, None),
                        callgrind_once(port, p, s, side, n, cfg.tasks, None),
                    ) {
                        v.push((full as f64 - zero as f64) / units as f64);
                        conns[j] += c;
                    }
                }
                per[j] = median(&mut v);
            }
            eprintln!(
                "bench: callgrind {} {}{}: sdk {:.0} raw {:.0} instr/{}{}",
                p.name(),
                if s == Scen::Concurrent {
                    "64 tasks GET"
                } else {
                    s.name()
                },
                if s == Scen::Concurrent {
                    format!(" (multi-thread, {} calls per task)", cfg.cg_per_task)
                } else {
                    String::new()
                },
                per[0],
                per[1],
                s.unit(),
                if s == Scen::Concurrent {
                    format!("; connections opened sdk {} raw {}", conns[0], conns[1])
                } else {
                    String::new()
                }
            );
            out.insert(format!("{}|{}", p.name(), s.name()), (per[0], per[1]));
            if s == Scen::Concurrent {
                out.insert(format!("{}|conns", p.name()), (conns[0] as f64, conns[1] as f64));
            }
        }
    }
    out
}

/// The scenarios callgrind counts; the concurrent one on the multi-thread runtime.
const CG_SCENS: [Scen; 4] = [Scen::Get, Scen::Post, Scen::Concurrent, Scen::Pages];

/// One `payout-bench cg` run under callgrind: (instructions, connections opened). With
/// `keep`, the callgrind output file is written there (for `callgrind_annotate`).
fn callgrind_once(
    port: u16,
    p: Prov,
    s: Scen,
    side: Side,
    n: u64,
    tasks: u64,
    keep: Option<&std::path::Path>,
) -> Option<(u64, u64)> {
    let exe = std::env::current_exe().expect("exe");
    let tmp = std::env::temp_dir().join(format!("payout-bench-cg.{}.out", std::process::id()));
    let file = keep.unwrap_or(&tmp);
    let o = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", file.display()))
        .arg(&exe)
        .args(cg_args(port, p, s, side, n, tasks))
        .output()
        .ok()?;
    if keep.is_none() {
        let _ = std::fs::remove_file(&tmp);
    }
    let err = String::from_utf8_lossy(&o.stderr);
    if !o.status.success() {
        eprintln!("bench: callgrind run failed: {err}");
        return None;
    }
    let instr = err
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|v| v.trim().parse().ok())?;
    let conns = err
        .lines()
        .find_map(|l| l.split("bench-cg: connections ").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Some((instr, conns))
}

/// The command line of one `payout-bench cg` run (without `--rt`).
fn cg_args(port: u16, p: Prov, s: Scen, side: Side, n: u64, tasks: u64) -> Vec<String> {
    let scen = match s {
        Scen::Get => "get",
        Scen::Post => "post",
        Scen::Concurrent => "concurrent",
        Scen::Pages => "pages",
    };
    [
        "cg",
        "--port",
        &port.to_string(),
        "--provider",
        if p == Prov::Xrocket { "xrocket" } else { "catalog" },
        "--scenario",
        scen,
        "--side",
        if side == Side::Sdk { "sdk" } else { "raw" },
        "--n",
        &n.to_string(),
        "--tasks",
        &tasks.to_string(),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

/// One side, N calls (or N items), after a fixed warm-up: run under callgrind.
///
/// `--scenario concurrent` runs `--tasks` tasks (64 by default) of N calls each, on the
/// runtime `--rt` names (`multi`: 2 workers, the default for it; `current`). Valgrind runs
/// one thread at a time, but counts every instruction of every thread: the runtime's
/// scheduling, timer and wake-up work that a side causes is in its figure. The connections
/// the server accepted during the N-call part are printed (`bench-cg: connections N`).
fn cg_mode(args: &[String]) {
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_default()
    };
    let port: u16 = flag("--port").parse().expect("--port");
    let p = if flag("--provider") == "xrocket" {
        Prov::Xrocket
    } else {
        Prov::Catalog
    };
    let side = if flag("--side") == "sdk" {
        Side::Sdk
    } else {
        Side::Raw
    };
    let s = match flag("--scenario").as_str() {
        "get" => Scen::Get,
        "post" => Scen::Post,
        "concurrent" => Scen::Concurrent,
        _ => Scen::Pages,
    };
    let n: u64 = flag("--n").parse().expect("--n");
    let tasks: u64 = flag("--tasks").parse().unwrap_or(TASKS);
    let rt_kind = match flag("--rt").as_str() {
        "multi" => Rt::Multi,
        "current" => Rt::Current,
        _ if s == Scen::Concurrent => Rt::Multi,
        _ => Rt::Current,
    };
    let rt = rt_kind.build();
    let conns = rt.block_on(async {
        let c = Arc::new(Clients {
            sdk: Sdk::new(port),
            raw: Raw::new(port),
        });
        // Warm-up: the connection(s), lazy statics, the first page.
        if s == Scen::Concurrent {
            c.run(p, side, s, 0, 0, tasks, 3, 0).await.expect("warm-up");
        } else {
            c.run(p, side, s, 3, 200, 0, 0, 1 << 43).await.expect("warm-up");
        }
        let before = tokio::task::spawn_blocking(move || accepts(port))
            .await
            .expect("stats");
        if n > 0 {
            if s == Scen::Concurrent {
                c.run(p, side, s, 0, 0, tasks, n, 0).await.expect("run");
            } else {
                c.run(p, side, s, n, n, 0, 0, 1 << 44).await.expect("run");
            }
        }
        let after = tokio::task::spawn_blocking(move || accepts(port))
            .await
            .expect("stats");
        after - before - 1
    });
    eprintln!("bench-cg: connections {conns}");
    // The size of one call's future on each side: what every task of the concurrent run holds
    // (and what each `.await` layer moves) per call.
    let c = Clients {
        sdk: Sdk::new(port),
        raw: Raw::new(port),
    };
    let (sdk, raw) = match p {
        Prov::Xrocket => (
            std::mem::size_of_val(&c.sdk.x_get()),
            std::mem::size_of_val(&c.raw.x_get()),
        ),
        Prov::Catalog => (
            std::mem::size_of_val(&c.sdk.c_get()),
            std::mem::size_of_val(&c.raw.c_get()),
        ),
    };
    eprintln!("bench-cg: future bytes per GET: sdk {sdk} raw {raw}");
    // The whole process's CPU, start-up, client build, warm-up and runtime shutdown included
    // (`cargo xtask bench --pairs` subtracts a 0-call run of the same mode to get per call).
    drop(c);
    drop(rt);
    eprintln!("bench-cg: cpu_us {}", cpu_now().as_micros());
}

fn report(
    cfg: &Cfg,
    samples: &std::collections::BTreeMap<String, (Key, Vec<Sample>, Vec<Sample>)>,
    allocs: &std::collections::BTreeMap<String, (f64, f64)>,
    cg: &std::collections::BTreeMap<String, (f64, f64)>,
) {
    let mut rows = Vec::new();
    println!(
        "\n{:<14} {:<20} {:<15} {:>10} {:>10} {:>7} {:>7} {:>11} {:>11} {:>7} {:>7} {:>6}",
        "provider",
        "scenario",
        "runtime",
        "sdk µs/u",
        "raw µs/u",
        "cpu min",
        "cpu med",
        "sdk u/s",
        "raw u/s",
        "tp min",
        "tp med",
        "conns"
    );
    let mut keys: Vec<&String> = samples.keys().collect();
    keys.sort_by_key(|k| {
        let (key, _, _) = &samples[*k];
        (
            PROVS.iter().position(|p| *p == key.0),
            SCENS.iter().position(|s| *s == key.1),
            RTS.iter().position(|r| *r == key.2),
        )
    });
    for k in keys {
        let ((p, s, rt), sdk, raw) = &samples[k];
        let cpu_ratios: Vec<f64> = sdk
            .iter()
            .zip(raw)
            .map(|(a, b)| a.cpu_us() / b.cpu_us())
            .collect();
        let tp_ratios: Vec<f64> = sdk
            .iter()
            .zip(raw)
            .map(|(a, b)| a.per_sec() / b.per_sec())
            .collect();
        let sdk_cpu = median(&mut sdk.iter().map(Sample::cpu_us).collect::<Vec<_>>());
        let raw_cpu = median(&mut raw.iter().map(Sample::cpu_us).collect::<Vec<_>>());
        let sdk_tp = median(&mut sdk.iter().map(Sample::per_sec).collect::<Vec<_>>());
        let raw_tp = median(&mut raw.iter().map(Sample::per_sec).collect::<Vec<_>>());
        let sdk_conns: u64 = sdk.iter().map(|x| x.conns).sum();
        let raw_conns: u64 = raw.iter().map(|x| x.conns).sum();
        let cpu_min = min(&cpu_ratios);
        let cpu_med = median(&mut cpu_ratios.clone());
        let tp_min = min(&tp_ratios);
        let tp_med = median(&mut tp_ratios.clone());
        println!(
            "{:<14} {:<20} {:<15} {:>10.2} {:>10.2} {:>7.3} {:>7.3} {:>11.0} {:>11.0} {:>7.3} {:>7.3} {:>3}/{:<3}",
            p.name(),
            s.name(),
            rt.name(),
            sdk_cpu,
            raw_cpu,
            cpu_min,
            cpu_med,
            sdk_tp,
            raw_tp,
            tp_min,
            tp_med,
            sdk_conns,
            raw_conns
        );
        rows.push(json!({
            "provider": p.name(), "scenario": s.name(), "runtime": rt.name(), "unit": s.unit(),
            "sdk": {"cpu_us_per_unit_median": sdk_cpu, "units_per_sec_median": sdk_tp, "connections_opened": sdk_conns,
                     "cpu_us_per_unit": sdk.iter().map(Sample::cpu_us).collect::<Vec<_>>(),
                     "units_per_sec": sdk.iter().map(Sample::per_sec).collect::<Vec<_>>()},
            "raw": {"cpu_us_per_unit_median": raw_cpu, "units_per_sec_median": raw_tp, "connections_opened": raw_conns,
                     "cpu_us_per_unit": raw.iter().map(Sample::cpu_us).collect::<Vec<_>>(),
                     "units_per_sec": raw.iter().map(Sample::per_sec).collect::<Vec<_>>()},
            "cpu_ratio": {"min": cpu_min, "median": cpu_med, "per_rep": cpu_ratios},
            "throughput_ratio": {"min": tp_min, "median": tp_med, "per_rep": tp_ratios},
        }));
    }
    println!(
        "\n{:<14} {:<20} {:>12} {:>12} {:>7} {:>14} {:>14} {:>7}",
        "provider", "scenario", "sdk allocs", "raw allocs", "diff", "sdk instr", "raw instr", "ratio"
    );
    let mut per_call = Vec::new();
    for p in PROVS {
        for s in CG_SCENS {
            let k = format!("{}|{}", p.name(), s.name());
            // Instructions of the concurrent scenario: 64 tasks x `cg_per_task` calls on the
            // multi-thread runtime (allocations are not counted for it).
            let label = if s == Scen::Concurrent {
                "64 tasks GET, multi"
            } else {
                s.name()
            };
            let (sa, ra) = allocs.get(&k).copied().unwrap_or((f64::NAN, f64::NAN));
            let (si, ri) = cg.get(&k).copied().unwrap_or((f64::NAN, f64::NAN));
            // A figure not measured for this row prints as `-`, never `NaN`.
            let cell = |v: f64, width: usize, prec: usize, sign: bool| {
                if !v.is_finite() {
                    format!("{:>width$}", "-")
                } else if sign {
                    format!("{v:>+width$.prec$}")
                } else {
                    format!("{v:>width$.prec$}")
                }
            };
            println!(
                "{:<14} {:<20} {} {} {} {} {} {}",
                p.name(),
                label,
                cell(sa, 12, 1, false),
                cell(ra, 12, 1, false),
                cell(sa - ra, 7, 1, true),
                cell(si, 14, 0, false),
                cell(ri, 14, 0, false),
                cell(si / ri, 7, 3, false)
            );
            let num = |v: f64| {
                if v.is_finite() {
                    json!(v)
                } else {
                    serde_json::Value::Null
                }
            };
            let runtime = if s == Scen::Concurrent {
                "multi-thread"
            } else {
                "current-thread"
            };
            let conns = cg.get(&format!("{}|conns", p.name())).copied();
            per_call.push(json!({
                "provider": p.name(), "scenario": label, "unit": s.unit(), "runtime": runtime,
                "callgrind_connections_opened": if s == Scen::Concurrent {
                    conns.map(|(a, b)| json!({"sdk": a, "raw": b})).unwrap_or(serde_json::Value::Null)
                } else {
                    serde_json::Value::Null
                },
                "allocations": {"sdk": num(sa), "raw": num(ra), "diff": num(sa - ra)},
                "instructions": {"sdk": num(si), "raw": num(ri), "ratio": num(si / ri)},
            }));
        }
    }
    println!(
        "(µs/u: client CPU per call, or per item for pagination; ratios are SDK/raw per rep; conns: TCP connections opened during the timed runs, SDK/raw)"
    );
    let doc = json!({
        "settings": {"reps": cfg.reps, "calls": cfg.calls, "items": cfg.items, "page_size": PAGE_SIZE,
                     "concurrent_tasks": cfg.tasks, "calls_per_task": cfg.per_task,
                     "callgrind_calls": cfg.cg_calls, "callgrind_items": cfg.cg_items,
                     "callgrind_concurrent": {"tasks": cfg.tasks, "calls_per_task": cfg.cg_per_task,
                                              "runtime": "multi-thread, 2 workers", "reps": cfg.cg_reps},
                     "pinned": cfg.pin},
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                    "loadavg": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()},
        "timed": rows,
        "per_call": per_call,
    });
    let serde_json::Value::Object(mut doc) = doc else {
        unreachable!("a json! object")
    };
    // The last `--pairs` run stays in the file (it carries its own settings and time).
    if let Some(pairs) = read_results(&cfg.out).remove("pairs") {
        doc.insert("pairs".to_string(), pairs);
    }
    write_results(&cfg.out, doc);
}

// ---------------------------------------------------------------- whole-process pairs

/// The rows `--pairs` measures, per provider: (scenario, runtime).
const PAIR_ROWS: [(Scen, Rt); 5] = [
    (Scen::Get, Rt::Current),
    (Scen::Post, Rt::Current),
    (Scen::Pages, Rt::Current),
    (Scen::Concurrent, Rt::Multi),
    (Scen::Concurrent, Rt::Current),
];

/// Bootstrap resamples for the confidence interval of the median ratio.
const RESAMPLES: usize = 2_000;
/// The bootstrap's fixed seed: the same ratios always give the same interval.
const SEED: u64 = 0x5eed_9a70_u64;

/// splitmix64 (Steele, Lea and Flood): a small deterministic PRNG for the bootstrap.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// 95% percentile-bootstrap interval of the median of `v`: `RESAMPLES` resamples of
/// `v.len()` values drawn with replacement, the 2.5th and 97.5th percentiles of their medians.
fn bootstrap_median_ci(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = SplitMix64(SEED);
    let mut meds = Vec::with_capacity(RESAMPLES);
    let mut draw = vec![0.0; v.len()];
    for _ in 0..RESAMPLES {
        for d in draw.iter_mut() {
            *d = v[(rng.next() % v.len() as u64) as usize];
        }
        meds.push(median(&mut draw));
    }
    meds.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let lo = (RESAMPLES as f64 * 0.025).floor() as usize;
    let hi = (RESAMPLES as f64 * 0.975).ceil() as usize - 1;
    (meds[lo], meds[hi])
}

/// One `payout-bench cg` child process (under `taskset -c 0` with `pin`): (its own user+sys
/// CPU in µs, connections the server accepted during its N-call part).
#[allow(clippy::too_many_arguments)]
fn pair_child(pin: bool, port: u16, p: Prov, s: Scen, rt: Rt, side: Side, n: u64, tasks: u64) -> (f64, u64) {
    let exe = std::env::current_exe().expect("exe");
    let mut cmd = if pin {
        let mut c = Command::new("taskset");
        c.arg("-c").arg("0").arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let o = cmd
        .args(cg_args(port, p, s, side, n, tasks))
        .args([
            "--rt",
            match rt {
                Rt::Current => "current",
                Rt::Multi => "multi",
            },
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    let err = String::from_utf8_lossy(&o.stderr);
    if !o.status.success() {
        panic!(
            "bench: {} {} {:?} --n {n} failed ({}): {err}",
            p.name(),
            s.name(),
            side,
            o.status
        );
    }
    let field = |name: &str| {
        err.lines()
            .find_map(|l| l.split(name).nth(1))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let cpu = field("bench-cg: cpu_us ").unwrap_or_else(|| panic!("no cpu_us line in: {err}"));
    (cpu as f64, field("bench-cg: connections ").unwrap_or(0))
}

/// `--pairs [N]`: whole-process pairs, pinned. For each provider and row of `PAIR_ROWS`: the
/// fixed cost of a process (median of `zero_runs` 0-call runs per side), then N pairs of
/// N-call processes (SDK first on even pairs, raw first on odd ones), each child on CPU 0
/// and the server on CPU 1. Per pair: the CPU per unit of each side (process CPU minus the
/// side's fixed cost, divided by the units) and their ratio SDK/raw.
fn pairs_mode(args: &[String]) {
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let quick = args.iter().any(|a| a == "--quick");
    let n_pairs = flag("--pairs").unwrap_or(21).max(1) as usize;
    let calls = flag("--calls").unwrap_or(if quick { 1_000 } else { 5_000 });
    let items = flag("--items").unwrap_or(if quick { 40_000 } else { 200_000 });
    let per_task = flag("--per-task").unwrap_or(if quick { 16 } else { 80 });
    let zero_runs = flag("--zero-runs").unwrap_or(5).max(1) as usize;
    let tasks = TASKS;
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "target/bench/results.json".to_string());

    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let taskset = Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let pin = cpus >= 2 && taskset;
    if pin {
        eprintln!("bench: pairs: server pinned to CPU 1, each child process to CPU 0 (taskset)");
    } else {
        eprintln!(
            "bench: pairs: NOT pinned ({}): server and children share the CPUs",
            if cpus < 2 {
                format!("{cpus} CPU")
            } else {
                "taskset not found".to_string()
            }
        );
    }
    // Each pagination process pages through `items` from the first page.
    let server = Server::start(items.max(2_000), pin);
    let port = server.port;
    let loadavg = || {
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let load_start = loadavg();
    eprintln!(
        "bench: pairs: server on 127.0.0.1:{port}; {n_pairs} pairs per row, {zero_runs} 0-call runs per side; \
         {calls} calls, {items} items, {tasks} tasks x {per_task} calls per process"
    );

    struct Row {
        p: Prov,
        label: String,
        rt: Rt,
        unit: &'static str,
        units: u64,
        fixed: [f64; 2],
        fixed_runs: [Vec<f64>; 2],
        per_unit: [Vec<f64>; 2],
        conns: [Vec<u64>; 2],
        ratios: Vec<f64>,
    }
    let mut rows = Vec::new();
    for p in PROVS {
        for (s, rt) in PAIR_ROWS {
            let (n, units) = match s {
                Scen::Pages => (items, items),
                Scen::Concurrent => (per_task, tasks * per_task),
                _ => (calls, calls),
            };
            let label = if s == Scen::Concurrent {
                format!("{tasks} tasks x {per_task} GET")
            } else {
                s.name().to_string()
            };
            let order = |i: usize| {
                if i.is_multiple_of(2) {
                    [(0, Side::Sdk), (1, Side::Raw)]
                } else {
                    [(1, Side::Raw), (0, Side::Sdk)]
                }
            };
            let mut fixed_runs: [Vec<f64>; 2] = Default::default();
            for i in 0..zero_runs {
                for (j, side) in order(i) {
                    fixed_runs[j].push(pair_child(pin, port, p, s, rt, side, 0, tasks).0);
                }
            }
            let fixed = [
                median(&mut fixed_runs[0].clone()),
                median(&mut fixed_runs[1].clone()),
            ];
            let mut per_unit: [Vec<f64>; 2] = Default::default();
            let mut conns: [Vec<u64>; 2] = Default::default();
            for i in 0..n_pairs {
                for (j, side) in order(i) {
                    let (cpu, c) = pair_child(pin, port, p, s, rt, side, n, tasks);
                    per_unit[j].push((cpu - fixed[j]) / units as f64);
                    conns[j].push(c);
                }
            }
            let ratios: Vec<f64> = per_unit[0].iter().zip(&per_unit[1]).map(|(a, b)| a / b).collect();
            eprintln!(
                "bench: pairs {} {label} {}: sdk {:.2} raw {:.2} µs/{} (fixed {:.1} / {:.1} ms), ratio median {:.3}",
                p.name(),
                rt.name(),
                median(&mut per_unit[0].clone()),
                median(&mut per_unit[1].clone()),
                s.unit(),
                fixed[0] / 1e3,
                fixed[1] / 1e3,
                median(&mut ratios.clone()),
            );
            rows.push(Row {
                p,
                label,
                rt,
                unit: s.unit(),
                units,
                fixed,
                fixed_runs,
                per_unit,
                conns,
                ratios,
            });
        }
    }
    drop(server);

    println!(
        "\n{:<14} {:<20} {:<15} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6} {:>6} {:>13} {:>7}",
        "provider",
        "scenario",
        "runtime",
        "fixed sdk",
        "fixed raw",
        "sdk µs/u",
        "raw µs/u",
        "r min",
        "r med",
        "r max",
        "95% CI med",
        "conns"
    );
    let mut json_rows = Vec::new();
    for r in &rows {
        let sdk = median(&mut r.per_unit[0].clone());
        let raw = median(&mut r.per_unit[1].clone());
        let r_min = min(&r.ratios);
        let r_max = r.ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let r_med = median(&mut r.ratios.clone());
        let (lo, hi) = bootstrap_median_ci(&r.ratios);
        let conns = [r.conns[0].iter().sum::<u64>(), r.conns[1].iter().sum::<u64>()];
        println!(
            "{:<14} {:<20} {:<15} {:>9.1} {:>9.1} {:>9.2} {:>9.2} {:>6.3} {:>6.3} {:>6.3} {:>13} {:>3}/{:<3}",
            r.p.name(),
            r.label,
            r.rt.name(),
            r.fixed[0] / 1e3,
            r.fixed[1] / 1e3,
            sdk,
            raw,
            r_min,
            r_med,
            r_max,
            format!("{lo:.3}..{hi:.3}"),
            conns[0],
            conns[1]
        );
        let side = |j: usize, med: f64| {
            json!({
                "fixed_cpu_us": r.fixed[j], "fixed_cpu_us_runs": r.fixed_runs[j],
                "cpu_us_per_unit_median": med, "cpu_us_per_unit": r.per_unit[j],
                "connections_opened": r.conns[j],
            })
        };
        json_rows.push(json!({
            "provider": r.p.name(), "scenario": r.label, "runtime": r.rt.name(), "unit": r.unit,
            "units_per_process": r.units,
            "sdk": side(0, sdk), "raw": side(1, raw),
            "cpu_ratio": {"min": r_min, "median": r_med, "max": r_max, "ci95_median": [lo, hi],
                          "per_pair": r.ratios},
        }));
    }
    println!(
        "(whole-process pairs{}: fixed = median CPU ms of a 0-call process per side; µs/u = (process CPU - fixed) / units, \
         median over {n_pairs} processes; r = SDK/raw per pair; 95% CI of the median ratio by bootstrap, {RESAMPLES} resamples; \
         conns: TCP connections opened during the N-call parts, SDK/raw)",
        if pin {
            ", children on CPU 0, server on CPU 1"
        } else {
            ", NOT pinned"
        }
    );

    let pairs = json!({
        "settings": {"pairs": n_pairs, "zero_runs": zero_runs, "calls": calls, "items": items,
                     "page_size": PAGE_SIZE, "concurrent_tasks": tasks, "calls_per_task": per_task,
                     "bootstrap_resamples": RESAMPLES, "bootstrap_seed": SEED, "pinned": pin},
        "machine": {"cpus": cpus, "loadavg_start": load_start, "loadavg_end": loadavg()},
        "measured_at_unix": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        "rows": json_rows,
    });
    let mut doc = read_results(&out);
    doc.insert("pairs".to_string(), pairs);
    write_results(&out, doc);
}

/// The keys of an existing results file (empty when there is none or it does not parse).
fn read_results(path: &str) -> serde_json::Map<String, serde_json::Value> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| match v {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default()
}

fn write_results(path: &str, doc: serde_json::Map<String, serde_json::Value>) {
    if let Some(dir) = std::path::Path::new(path).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(path, serde_json::to_string_pretty(&doc).expect("json")).expect("write results");
    eprintln!("bench: wrote {path}");
}
