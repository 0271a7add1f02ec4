//! Shared pieces of the payout-rs fuzz targets.
//!
//! * [`Loopback`]: a tiny HTTP/1.1 server on 127.0.0.1 that answers every request with the
//!   response the current fuzz input describes, so a provider's whole response path (transport,
//!   error decoder, envelope, `Endpoint::decode`) runs on arbitrary status, headers and bytes.
//! * [`FuzzResponse`]: that response, structure-aware: raw bytes, or a documented body with
//!   mutations applied (a value replaced by another type, a key dropped or added, the text cut
//!   short), which reaches far deeper into the decoders than random bytes do.
//! * [`check_outcome`]: the property every response target asserts: nothing panics, a non-2xx
//!   status always ends in an error that keeps that status, a 2xx error keeps it too, and no
//!   error's `Display` or `Debug` carries the credential.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arbitrary::Arbitrary;
use serde_json::Value;

/// The credential every response target configures (`test_` so RohoPay takes it as a sandbox
/// key); the fuzzer may echo it in bodies.
pub const CREDENTIAL: &str = "test_fuzz-credential-5f1c9a7e";

/// One canned HTTP response.
#[derive(Debug, Clone, Default)]
pub struct Canned {
    /// Status code (200..=599).
    pub status: u16,
    /// Extra headers (already valid).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// A loopback HTTP server answering with [`Canned`].
pub struct Loopback {
    base_url: String,
    canned: Arc<Mutex<Canned>>,
}

impl Loopback {
    /// Starts the server (threads, blocking I/O; one thread per connection).
    pub fn start() -> Loopback {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let canned = Arc::new(Mutex::new(Canned {
            status: 200,
            ..Canned::default()
        }));
        let c = canned.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let c = c.clone();
                std::thread::spawn(move || serve(stream, &c));
            }
        });
        Loopback {
            base_url: format!("http://{addr}"),
            canned,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sets the response for the next requests.
    pub fn set(&self, canned: Canned) {
        *self.canned.lock().unwrap_or_else(|p| p.into_inner()) = canned;
    }
}

fn serve(stream: TcpStream, canned: &Mutex<Canned>) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut out = stream;
    loop {
        // Request head.
        let mut content_length = 0usize;
        let mut first = true;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" || line == "\n" {
                if first {
                    continue;
                }
                break;
            }
            first = false;
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                content_length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let c = canned.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut resp = format!("HTTP/1.1 {} Fuzz\r\n", c.status).into_bytes();
        for (k, v) in &c.headers {
            resp.extend_from_slice(k.as_bytes());
            resp.extend_from_slice(b": ");
            resp.extend_from_slice(v.as_bytes());
            resp.extend_from_slice(b"\r\n");
        }
        // 204 and 304 carry no body by definition; every other status gets an exact length.
        let no_body = matches!(c.status, 204 | 304);
        if !no_body {
            resp.extend_from_slice(format!("content-length: {}\r\n", c.body.len()).as_bytes());
        }
        resp.extend_from_slice(b"\r\n");
        if !no_body {
            resp.extend_from_slice(&c.body);
        }
        if out.write_all(&resp).is_err() {
            return;
        }
    }
}

/// One tokio runtime for the whole fuzzing process.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// The client options every response target uses: one attempt (each fuzz input is one
/// response), short timeouts, and a reqwest client that never follows redirects or proxies.
pub fn options() -> payout_core::ClientOptions {
    let http = payout_core::reqwest::Client::builder()
        .redirect(payout_core::reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("reqwest client");
    payout_core::ClientOptions::default()
        .retry_policy(payout_core::RetryPolicy::none())
        .attempt_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .http_client(http)
}

/// Header names the decoders read, plus room for anything else.
#[derive(Debug, Arbitrary)]
pub enum HeaderName {
    /// `retry-after`
    RetryAfter,
    /// `x-request-id`
    RequestId,
    /// `content-type`
    ContentType,
    /// `request-id`
    RequestIdPlain,
    /// Any other (made a valid token).
    Other(String),
}

impl HeaderName {
    fn name(&self) -> Option<String> {
        let n = match self {
            HeaderName::RetryAfter => "retry-after".to_string(),
            HeaderName::RequestId => "x-request-id".to_string(),
            HeaderName::ContentType => "content-type".to_string(),
            HeaderName::RequestIdPlain => "request-id".to_string(),
            HeaderName::Other(s) => s
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(40)
                .collect::<String>()
                .to_ascii_lowercase(),
        };
        // Framing headers are the server's business, not the fuzzer's.
        const FRAMING: [&str; 8] = [
            "content-length",
            "transfer-encoding",
            "connection",
            "keep-alive",
            "upgrade",
            "trailer",
            "te",
            "proxy-connection",
        ];
        (!n.is_empty() && !FRAMING.contains(&n.as_str())).then_some(n)
    }
}

/// A structure-aware edit of a documented JSON body.
#[derive(Debug, Arbitrary)]
pub enum Mutation {
    /// Replace the value at the `n`-th node (pre-order) with another.
    Replace(u16, Replacement),
    /// Remove the `n`-th object member.
    Remove(u16),
    /// Add an unknown member to the `n`-th object.
    AddField(u16, String, Replacement),
    /// Cut the serialized text after this many bytes (truncated JSON).
    Truncate(u16),
}

/// What a value is replaced with.
#[derive(Debug, Arbitrary)]
pub enum Replacement {
    /// `null`
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A huge unsigned.
    U64(u64),
    /// A float (non-finite ones become `null` in JSON).
    Float(f64),
    /// A number written as text, e.g. `1e400`, `-0`, `0.0000000000000000000000000000001`.
    NumberText(NumberText),
    /// A string.
    Str(String),
    /// An empty array.
    EmptyArray,
    /// An empty object.
    EmptyObject,
    /// An array of one value.
    Wrap(bool),
}

/// Numbers that are valid JSON but hard to hold.
#[derive(Debug, Arbitrary)]
pub enum NumberText {
    /// `1e400`
    Huge,
    /// `-1e400`
    NegHuge,
    /// `1e-400`
    Tiny,
    /// `-0`
    NegZero,
    /// 40 digits.
    LongInt,
    /// 30 decimal places.
    LongFraction,
    /// `18446744073709551616`
    U64Plus1,
}

impl Replacement {
    fn to_value(&self) -> Value {
        match self {
            Replacement::Null => Value::Null,
            Replacement::Bool(b) => Value::Bool(*b),
            Replacement::Int(i) => Value::from(*i),
            Replacement::U64(u) => Value::from(*u),
            Replacement::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            // Placeholders swapped for the raw text after serialization.
            Replacement::NumberText(n) => Value::String(format!("\u{1}NUM{}\u{1}", n.text())),
            Replacement::Str(s) => Value::String(s.clone()),
            Replacement::EmptyArray => Value::Array(vec![]),
            Replacement::EmptyObject => Value::Object(Default::default()),
            Replacement::Wrap(b) => Value::Array(vec![Value::Bool(*b)]),
        }
    }
}

impl NumberText {
    fn text(&self) -> &'static str {
        match self {
            NumberText::Huge => "1e400",
            NumberText::NegHuge => "-1e400",
            NumberText::Tiny => "1e-400",
            NumberText::NegZero => "-0",
            NumberText::LongInt => "1234567890123456789012345678901234567890",
            NumberText::LongFraction => "0.123456789012345678901234567890",
            NumberText::U64Plus1 => "18446744073709551616",
        }
    }
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        Value::Object(o) => o.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Visits the `n`-th node in pre-order.
fn nth_node(v: &mut Value, n: &mut usize, f: &mut dyn FnMut(&mut Value)) -> bool {
    if *n == 0 {
        f(v);
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|c| nth_node(c, n, f)),
        Value::Object(o) => o.values_mut().any(|c| nth_node(c, n, f)),
        _ => false,
    }
}

/// Applies `mutations` to `seed` and serializes it.
pub fn mutate(seed: &Value, mutations: &[Mutation]) -> Vec<u8> {
    let mut v = seed.clone();
    let mut cut: Option<usize> = None;
    for m in mutations.iter().take(8) {
        let total = count_nodes(&v).max(1);
        match m {
            Mutation::Replace(i, r) => {
                let mut n = *i as usize % total;
                let new = r.to_value();
                nth_node(&mut v, &mut n, &mut |node| *node = new.clone());
            }
            Mutation::Remove(i) => {
                let mut n = *i as usize % total;
                nth_node(&mut v, &mut n, &mut |node| {
                    if let Value::Object(o) = node
                        && let Some(k) = o.keys().next().cloned()
                    {
                        o.remove(&k);
                    }
                });
            }
            Mutation::AddField(i, k, r) => {
                let mut n = *i as usize % total;
                let new = r.to_value();
                nth_node(&mut v, &mut n, &mut |node| {
                    if let Value::Object(o) = node {
                        o.insert(k.clone(), new.clone());
                    }
                });
            }
            Mutation::Truncate(at) => cut = Some(*at as usize),
        }
    }
    let mut text = serde_json::to_string(&v).unwrap_or_default();
    // Swap number placeholders (`"\u0001NUM1e400\u0001"`) for the raw number text.
    while let Some(start) = text.find("\"\\u0001NUM") {
        let Some(len) = text[start + 10..].find("\\u0001\"") else {
            break;
        };
        let num = text[start + 10..start + 10 + len].to_string();
        text.replace_range(start..start + 10 + len + 7, &num);
    }
    let mut bytes = text.into_bytes();
    if let Some(at) = cut {
        bytes.truncate(at);
    }
    bytes
}

/// What the body of a fuzzed response is.
#[derive(Debug, Arbitrary)]
pub enum Body {
    /// Any bytes.
    Raw(Vec<u8>),
    /// The `n`-th documented body of the target, mutated.
    Documented(u8, Vec<Mutation>),
    /// A documented body with the credential placed in a string value (a provider echoing
    /// what it got): no error may repeat it.
    EchoCredential(u8, u16),
}

/// A fuzzed response: status, headers and body.
#[derive(Debug, Arbitrary)]
pub struct FuzzResponse {
    /// Mapped into 200..=599.
    pub status: u16,
    /// Header names and values (values cleaned to visible ASCII).
    pub headers: Vec<(HeaderName, String)>,
    /// The body.
    pub body: Body,
}

impl FuzzResponse {
    /// The status the loopback server sends (200..=599; 2xx for half of all inputs).
    pub fn status(&self) -> u16 {
        if self.status & 1 == 0 {
            200 + (self.status >> 1) % 8
        } else {
            200 + (self.status >> 1) % 400
        }
    }

    /// The response, with the documented `seeds` of the target to mutate.
    pub fn canned(&self, seeds: &[&str]) -> Canned {
        let seed = |i: u8| -> Value {
            if seeds.is_empty() {
                return Value::Null;
            }
            serde_json::from_str(seeds[i as usize % seeds.len()]).unwrap_or(Value::Null)
        };
        let body = match &self.body {
            Body::Raw(b) => b.clone(),
            Body::Documented(i, m) => mutate(&seed(*i), m),
            Body::EchoCredential(i, at) => {
                let mut v = seed(*i);
                let total = count_nodes(&v);
                let mut n = *at as usize % total.max(1);
                nth_node(&mut v, &mut n, &mut |node| {
                    *node = Value::String(format!("you sent {CREDENTIAL}, which is wrong"));
                });
                serde_json::to_vec(&v).unwrap_or_default()
            }
        };
        let headers = self
            .headers
            .iter()
            .take(12)
            .filter_map(|(n, v)| {
                let name = n.name()?;
                let value: String = v
                    .chars()
                    .filter(|c| (' '..='~').contains(c))
                    .take(200)
                    .collect::<String>()
                    .trim()
                    .to_string();
                Some((name, value))
            })
            .collect();
        Canned {
            status: self.status(),
            headers,
            body,
        }
    }
}

/// The property of every response target. `result` is what the client returned for a
/// response with `status`.
pub fn check_outcome<T>(status: u16, result: &payout_core::Result<T>) {
    match result {
        Ok(_) => assert!(
            (200..300).contains(&status),
            "a {status} response was returned as a success"
        ),
        Err(e) => {
            assert_eq!(
                e.status(),
                Some(status),
                "the error lost the HTTP status {status}: {e:?}"
            );
            let shown = format!("{e} {e:?} {:?}", e.body_snippet());
            assert!(
                !shown.contains(CREDENTIAL),
                "the credential leaked into an error: {shown}"
            );
        }
    }
}

/// Statuses a byte picks from: the documented ones first, then the odd ones.
pub const STATUSES: [u16; 20] = [
    200, 201, 202, 204, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504, 301, 418, 451, 520, 599,
];

/// A response from plain bytes, so the checked-in seeds can be documented bodies as they are:
/// `[status, flags, body...]`. `flags` bit 0: the body is instead `(seed index, mutations)`
/// decoded with `arbitrary` and applied to `seeds`; bit 1: a `Retry-After`; bit 2: a request
/// id header; bit 3: the credential echoed inside the body.
pub fn canned_from_bytes(data: &[u8], seeds: &[&str]) -> Canned {
    let (status, flags, rest) = match data {
        [s, f, rest @ ..] => (STATUSES[*s as usize % STATUSES.len()], *f, rest),
        [s] => (STATUSES[*s as usize % STATUSES.len()], 0, &[][..]),
        [] => (200, 0, &[][..]),
    };
    let mut body = if flags & 1 == 1 {
        let mut u = arbitrary::Unstructured::new(rest);
        let idx: u8 = u.arbitrary().unwrap_or(0);
        let muts: Vec<Mutation> = u.arbitrary().unwrap_or_default();
        let seed = seeds
            .get(idx as usize % seeds.len().max(1))
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .unwrap_or(Value::Null);
        mutate(&seed, &muts)
    } else {
        rest.to_vec()
    };
    if flags & 8 == 8 {
        let at = body.iter().position(|b| *b == b'"').map_or(body.len(), |i| i + 1);
        body.splice(at..at, CREDENTIAL.bytes());
    }
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if flags & 2 == 2 {
        const RA: [&str; 6] = ["1", "0", "120", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"];
        headers.push(("retry-after".into(), RA[(flags >> 4) as usize % RA.len()].into()));
    }
    if flags & 4 == 4 {
        headers.push(("x-request-id".into(), "req-fuzz-1".into()));
    }
    Canned {
        status,
        headers,
        body,
    }
}

/// A type-erased `Endpoint::decode`.
pub type Decode = fn(&payout_core::Response) -> payout_core::Result<()>;

/// `E::decode`, output dropped.
pub fn decoder<E: payout_core::Endpoint>(r: &payout_core::Response) -> payout_core::Result<()> {
    E::decode(r).map(|_| ())
}

/// A provider's transport pointed at a loopback server.
pub struct ProviderHarness {
    /// The server.
    pub server: Loopback,
    /// The provider client's transport (its auth, its error decoder).
    pub transport: payout_core::Transport,
}

impl ProviderHarness {
    /// Starts a server and builds the provider's transport with `make(base_url, options)`.
    pub fn start(
        make: impl FnOnce(&str, payout_core::ClientOptions) -> payout_core::Transport,
    ) -> ProviderHarness {
        let server = Loopback::start();
        let transport = make(server.base_url(), options());
        ProviderHarness { server, transport }
    }

    /// One fuzz input: `[decoder, status, flags, body...]`. The response goes through the
    /// provider's transport (its error decoder for non-2xx) and, if 2xx, through the picked
    /// endpoint's `decode`; then [`check_outcome`].
    pub fn run(&self, decoders: &[Decode], seeds: &[&str], data: &[u8]) {
        let Some((pick, rest)) = data.split_first() else {
            return;
        };
        let decode = decoders[*pick as usize % decoders.len()];
        let canned = canned_from_bytes(rest, seeds);
        let status = canned.status;
        self.server.set(canned);
        let result = runtime().block_on(async {
            let resp = self
                .transport
                .send(payout_core::Request::get("fuzz.decode", "/fuzz"))
                .await?;
            decode(&resp)
        });
        check_outcome(status, &result);
    }
}

/// Header name/value pairs for webhook targets: the provider's own names first.
pub fn webhook_headers(u: &mut arbitrary::Unstructured<'_>, names: &[&str]) -> Vec<(String, String)> {
    let n: u8 = u.arbitrary().unwrap_or(0);
    (0..n % 6)
        .map(|_| {
            let pick: u8 = u.arbitrary().unwrap_or(0);
            let name = match names.get(pick as usize % (names.len() + 1)) {
                Some(n) => n.to_string(),
                None => u.arbitrary::<String>().unwrap_or_default(),
            };
            let value: String = u.arbitrary().unwrap_or_default();
            (name, value)
        })
        .collect()
}
