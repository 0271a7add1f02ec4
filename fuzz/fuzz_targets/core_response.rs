//! The shared response path: transport, error decoder and the `{success, ...}` envelope,
//! driven by a loopback server answering with a fuzzed status, headers and body (raw bytes
//! or mutations of an enveloped body). Nothing panics; every error keeps the HTTP status;
//! the credential never shows in an error.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use payout_core::envelope::{self, Payload};
use payout_core::{
    AuthScheme, Decimal, Endpoint, EndpointMeta, ErrorInfo, HttpMethod, Request, Response, Result, Safety,
    Transport, TransportConfig,
};
use payout_fuzz::{CREDENTIAL, FuzzResponse, Loopback, check_outcome, options, runtime};

payout_core::open_enum! {
    /// A status.
    pub enum Status {
        /// Done.
        Done => "done",
        /// Pending.
        Pending => "pending",
    }
}

payout_core::id! {
    /// An order id.
    pub struct OrderId(String);
}

/// A typed payload with the field kinds provider models use.
#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Order {
    id: OrderId,
    status: Status,
    #[serde(with = "payout_core::money::decimal")]
    amount: Decimal,
    #[serde(default, with = "payout_core::money::option_decimal")]
    fee: Option<Decimal>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Failure {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

fn failure(body: &[u8]) -> ErrorInfo {
    envelope::failure_info::<Failure>(body, |f| ErrorInfo {
        code: f.code,
        message: f.message,
        ..ErrorInfo::default()
    })
}

struct GetOrder;

impl Endpoint for GetOrder {
    type Output = Order;
    const META: EndpointMeta = EndpointMeta {
        operation: "orders.get",
        method: HttpMethod::Get,
        path: "/orders/{id}",
        safety: Safety::Idempotent,
    };
    fn to_request(&self) -> Result<Request> {
        Ok(Self::META.request().path("/orders/o-1"))
    }
    fn decode(resp: &Response) -> Result<Order> {
        envelope::decode(resp, Payload::Field("data"), failure)
    }
}

struct CreateOrder;

impl Endpoint for CreateOrder {
    type Output = serde_json::Value;
    const META: EndpointMeta = EndpointMeta {
        operation: "orders.create",
        method: HttpMethod::Post,
        path: "/orders",
        safety: Safety::Unprotected,
    };
    fn to_request(&self) -> Result<Request> {
        Self::META
            .request()
            .json(&serde_json::json!({"amount": "5.00"}))
            .map_err(|_| payout_core::Error::invalid_input("fuzz", "body", "serializes"))
    }
    fn decode(resp: &Response) -> Result<serde_json::Value> {
        envelope::decode(resp, Payload::Root, failure)
    }
}

struct Harness {
    server: Loopback,
    transport: Transport,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let server = Loopback::start();
        let transport = Transport::new(TransportConfig {
            provider: "fuzz",
            version: "0",
            base_url: server.base_url().to_string(),
            credential: Some(CREDENTIAL.to_string().into()),
            auth: AuthScheme::Bearer,
            request_id_headers: &["x-fuzz-request-id"],
            error_decoder: Arc::new(
                |_: u16, _: &payout_core::reqwest::header::HeaderMap, body: &[u8]| failure(body),
            ),
            options: options(),
        })
        .expect("transport");
        Harness { server, transport }
    })
}

const SEEDS: &[&str] = &[
    r#"{"success":true,"data":{"id":"o-1","status":"done","amount":"5.00","fee":0.25,"tags":["a"]}}"#,
    r#"{"success":false,"code":"INSUFFICIENT_BALANCE","message":"not enough credit"}"#,
    r#"{"success":true,"id":"o-2","status":"pending","amount":12}"#,
];

fuzz_target!(|input: (bool, FuzzResponse)| {
    let (create, response) = input;
    let h = harness();
    let canned = response.canned(SEEDS);
    let status = canned.status;
    h.server.set(canned);
    let rt = runtime();
    if create {
        let r = rt.block_on(payout_core::endpoint::send_via(&h.transport, &CreateOrder));
        check_outcome(status, &r);
    } else {
        let r = rt.block_on(payout_core::endpoint::send_via(&h.transport, &GetOrder));
        check_outcome(status, &r);
    }
});
