//! The loopback HTTP server the benchmark hits, in its own process so its CPU is not the
//! client's. 127.0.0.1 only; prints its port on the first line of stdout. Canned bodies for
//! xrocket and agent-catalog; `GET /__stats` answers the number of TCP connections accepted.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

const PRODUCT: &str = r#"{"id":456,"name":"Steam Wallet Top Up","slug":"steam-wallet-top-up","category_id":12,"product_type_id":3,"region_code":"GLOBAL","currency_code":"USD","logo":"https://cdn.example.com/steam.png","price":10,"min_amount":5,"max_amount":100,"step":1,"description":"Top up any Steam account","is_active":true}"#;
const ORDER: &str = r#"{"id":"9b2f0c1e-6f1d-4d8a-9a53-0d6f3f1c2b7a","product_id":456,"external_ref":"inv-1001","status":"pending","order_content":{},"currency_code":"USD","charged_amount":"10.30","balance_before":"1000.00","balance_after":"989.70","is_test":false,"region_code":"GLOBAL","quantity":1,"created_at":"2026-01-31T10:00:00Z","completed_at":null,"failed_at":null}"#;
const TRANSFER: &str = r#"{"transferId":"123321232","clientTransferId":"123456789","target":"87209764","targetType":"telegram_user_id","asset":"TONCOIN","amount":"1.23","description":"You are awesome!","status":"finished"}"#;

struct State {
    accepts: AtomicU64,
    total: u64,
}

fn query<'a>(q: &'a str, name: &str) -> Option<&'a str> {
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then_some(v)
    })
}

fn product_item(out: &mut String, id: u64) {
    use std::fmt::Write;
    let _ = write!(
        out,
        r#"{{"id":{id},"name":"Product {id}","slug":"product-{id}","category_id":12,"product_type_id":1,"region_code":"GLOBAL","currency_code":"USD","logo":"https://cdn.example.com/p.png","price":"10.00","description":"Voucher","is_active":true}}"#
    );
}

fn transfer_item(out: &mut String, id: u64) {
    use std::fmt::Write;
    let _ = write!(
        out,
        r#"{{"transferId":"{id}","clientTransferId":"c-{id}","target":"87209764","targetType":"telegram_user_id","asset":"TONCOIN","amount":"1.23","description":"Payout","status":"finished"}}"#
    );
}

fn page(total: u64, start: u64, size: u64, item: fn(&mut String, u64)) -> (String, u64) {
    let end = (start + size).min(total);
    let mut s = String::with_capacity(((end - start) as usize) * 260 + 64);
    s.push_str(r#"{"items":["#);
    for id in start..end {
        if id > start {
            s.push(',');
        }
        item(&mut s, id + 1);
    }
    s.push(']');
    (s, end)
}

fn answer(state: &State, method: &Method, path: &str, q: &str) -> (StatusCode, String) {
    let total = state.total;
    match (method, path) {
        (&Method::GET, "/__stats") => (StatusCode::OK, state.accepts.load(Ordering::SeqCst).to_string()),
        (&Method::POST, "/api/v1/transfers") => (StatusCode::OK, TRANSFER.to_string()),
        (&Method::GET, "/api/v1/transfer") => (StatusCode::OK, TRANSFER.to_string()),
        (&Method::GET, "/api/v1/transfers") => {
            let start: u64 = query(q, "cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
            let size: u64 = query(q, "limit").and_then(|c| c.parse().ok()).unwrap_or(100);
            let (mut s, end) = page(total, start, size, transfer_item);
            if end < total {
                s.push_str(&format!(r#","pagination":{{"total":{total},"next":"{end}"}}}}"#));
            } else {
                s.push_str(&format!(r#","pagination":{{"total":{total},"next":null}}}}"#));
            }
            (StatusCode::OK, s)
        }
        (&Method::POST, p) if p.starts_with("/agent/") && p.ends_with("/orders") => {
            (StatusCode::CREATED, ORDER.to_string())
        }
        (&Method::GET, p) if p.starts_with("/agent/") && p.ends_with("/products") => {
            let number: u64 = query(q, "page").and_then(|c| c.parse().ok()).unwrap_or(1);
            let size: u64 = query(q, "pageSize").and_then(|c| c.parse().ok()).unwrap_or(100);
            let (mut s, _) = page(total, (number - 1) * size, size, product_item);
            s.push_str(&format!(
                r#","page":{number},"pageSize":{size},"total":{total}}}"#
            ));
            (StatusCode::OK, s)
        }
        (&Method::GET, p) if p.starts_with("/agent/") && p.contains("/products/") => {
            (StatusCode::OK, PRODUCT.to_string())
        }
        _ => (StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#.to_string()),
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    // Read the request body in full, as a real server does.
    let _ = body.collect().await;
    let (status, text) = answer(
        &state,
        &parts.method,
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
    );
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert("content-type", "application/json".parse().unwrap());
    h.insert("x-request-id", "req-0f3a9c".parse().unwrap());
    Ok(resp)
}

fn main() {
    let total: u64 = std::env::args()
        .skip_while(|a| a != "--total")
        .nth(1)
        .and_then(|t| t.parse().ok())
        .unwrap_or(200_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("addr").port());
        let state = Arc::new(State {
            accepts: AtomicU64::new(0),
            total,
        });
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            state.accepts.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_nodelay(true);
            let state = state.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(state.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}
