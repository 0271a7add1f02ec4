//! Test helpers shared by the provider crates' tests and by users testing their own
//! integrations (feature `test-util`): capture every tracing event at TRACE level, a server
//! that drops connections after reading the request, a port nothing listens on, and an
//! assertion that no secret leaked.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Captures all tracing output (TRACE level, spans included) emitted on the current thread
/// while alive. Use it in current-thread tests (`#[tokio::test]`'s default flavour) so every
/// event of the code under test lands here.
///
/// One global TRACE subscriber is installed on first use and routes each thread's output to
/// that thread's capture (or nowhere). A per-test `set_default` subscriber would be simpler but
/// is unreliable when tests run in parallel: tracing caches per-callsite interest globally, so
/// a callsite first hit on a thread without a subscriber can stay disabled for everyone.
pub struct LogCapture {
    buf: Arc<Mutex<Vec<u8>>>,
    _fallback: Option<tracing::subscriber::DefaultGuard>,
}

thread_local! {
    static CURRENT: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { std::cell::RefCell::new(None) };
}

static GLOBAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

#[derive(Clone, Copy)]
struct ThreadWriter;

impl Write for ThreadWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        CURRENT.with(|c| {
            if let Some(buf) = &*c.borrow() {
                buf.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(data);
            }
        });
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for ThreadWriter {
    type Writer = ThreadWriter;
    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

fn subscriber() -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(ThreadWriter)
        .finish()
}

impl LogCapture {
    /// Starts capturing on this thread.
    pub fn start() -> Self {
        let global = *GLOBAL.get_or_init(|| tracing::subscriber::set_global_default(subscriber()).is_ok());
        let buf = Arc::new(Mutex::new(Vec::new()));
        CURRENT.with(|c| *c.borrow_mut() = Some(buf.clone()));
        // If the test binary already had a global subscriber, fall back to a scoped one.
        let fallback = (!global).then(|| tracing::subscriber::set_default(subscriber()));
        LogCapture {
            buf,
            _fallback: fallback,
        }
    }

    /// Everything captured so far.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

/// Panics if any of `secrets` (label, value) occurs in `haystack`. The panic names the
/// label and where it was found, never the value.
#[track_caller]
pub fn assert_no_secret(haystack: &str, secrets: &[(&str, &str)], what: &str) {
    for (label, value) in secrets {
        assert!(
            !value.is_empty(),
            "secret `{label}` is empty: the check would prove nothing"
        );
        if haystack.contains(value) {
            panic!("secret `{label}` leaked into {what}");
        }
    }
}

/// What [`DropServer`] does after reading a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropMode {
    /// Close the connection without answering (the request was received: an ambiguous outcome).
    CloseAfterRequest,
    /// Send half a response, then close.
    TruncatedResponse,
}

/// A TCP server on loopback that reads each request in full and then misbehaves as
/// [`DropMode`] says, counting requests so a test can prove a payout was not re-sent.
pub struct DropServer {
    addr: std::net::SocketAddr,
    requests: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
}

impl DropServer {
    /// Starts the server on a random loopback port.
    pub fn start(mode: DropMode) -> Self {
        let listener = match TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l,
            Err(e) => panic!("cannot bind a loopback port: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("no local address: {e}"),
        };
        let requests = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, b, s) = (requests.clone(), bodies.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let req = read_request(&mut conn);
                r.fetch_add(1, Ordering::SeqCst);
                b.lock().unwrap_or_else(PoisonError::into_inner).push(req);
                if mode == DropMode::TruncatedResponse {
                    let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"id\":");
                    let _ = conn.flush();
                }
                let _ = conn.shutdown(std::net::Shutdown::Both);
            }
        });
        DropServer {
            addr,
            requests,
            bodies,
            stop,
        }
    }

    /// The base URL (`http://127.0.0.1:<port>`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests were received in full.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The raw bytes of every request received (head and body).
    pub fn raw_requests(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for DropServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so the thread ends.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(50));
    }
}

fn read_request(conn: &mut TcpStream) -> Vec<u8> {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = find(&data, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + len {
                break;
            }
        }
    }
    data
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A base URL on which nothing listens: connecting fails, so nothing is ever sent.
pub fn refused_base_url() -> String {
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => panic!("cannot bind a loopback port: {e}"),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => panic!("no local address: {e}"),
    };
    drop(listener);
    format!("http://{addr}")
}
