//! A rate limit shared by several processes through Redis (feature `redis`).
//!
//! Providers count requests per IP or per account, not per process: two bot instances behind
//! one IP that each honour RohoPay's 30 a minute together send 60. [`RedisRateLimiter`]
//! keeps one GCRA bucket per key in Redis (`payout:rl:<provider>:<key>`), updated by one Lua
//! script that reads the server's clock (`TIME`), so instances whose own clocks disagree
//! still agree on the schedule, and that checks and reserves a slot atomically. The script is
//! sent once (`SCRIPT LOAD`) and then called by its SHA (`EVALSHA`), falling back to `EVAL`
//! when the server lost it (a restart, a failover, `SCRIPT FLUSH`).
//!
//! The client is a small RESP2 client over tokio's TCP and Unix sockets, not the `redis`
//! crate: the limiter needs four commands, and this way the feature adds no dependency
//! (see `docs/rate-limits.md` for the measured build cost).
//!
//! ```no_run
//! use payout_core::redis::RedisRateLimiter;
//! use payout_core::{ClientOptions, RateLimitSpec};
//! // Every instance behind the same IP uses the same key and the same spec.
//! let limiter = RedisRateLimiter::new("redis://127.0.0.1:6379/", "checkout", RateLimitSpec::per_minute(30))?;
//! let options = ClientOptions::default().rate_limiter(limiter);
//! # let _ = options;
//! # Ok::<(), payout_core::Error>(())
//! ```

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::error::{Error, ErrorKind};
use crate::limit::{AcquireFuture, Denied, RateKey, RateLimit, RateLimitSpec};

/// The GCRA step, atomically, in server time. `KEYS[1]`: the bucket. `ARGV`: emission
/// interval, burst tolerance and longest acceptable wait, in microseconds. Returns
/// `{1, wait}` with the slot reserved, or `{0, wait needed}` with nothing changed.
/// `gcra_step` in `limit.rs` is the same step in Rust.
pub(crate) const SCRIPT: &str = r#"
pcall(redis.replicate_commands)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
if wait > max_wait then return {0, wait} end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 1000)
return {1, wait}
"#;

/// The longest wait sent to the script (a call without a deadline waits at most this).
const MAX_WAIT_US: u128 = 86_400 * 1_000_000;
/// Idle connections kept per limiter.
const POOL: usize = 4;

/// A [`RateLimit`] whose bucket lives in Redis, shared by every process that uses the same
/// Redis, key and spec. Cheap to clone (clones share the connections).
///
/// * URL forms: `redis://[[user]:password@]host[:port][/db]` and
///   `redis+unix:///path/to/redis.sock[?db=N]` (or `unix://`). `rediss://` (TLS) is refused:
///   put Redis on loopback, a Unix socket or a private network.
/// * The bucket is `payout:rl:<provider>:<key>`, with the provider of the client the
///   limiter is set on. Every instance must use the same spec for one key.
/// * If Redis cannot be reached or answers an error, the call is refused before it is sent
///   ([`crate::ErrorKind::Transport`], retryable), rather than risk exceeding a limit the
///   provider enforces. Each exchange is bounded by [`RedisRateLimiter::io_timeout`]
///   (default 1 s).
#[derive(Clone)]
pub struct RedisRateLimiter {
    inner: Arc<Inner>,
    key: Arc<str>,
    spec: RateLimitSpec,
    io_timeout: Duration,
}

/// The connection settings and pool, shared by the buckets of one Redis
/// ([`RedisRateLimiter::bucket`]).
struct Inner {
    addr: Addr,
    password: Option<SecretString>,
    username: Option<String>,
    db: u32,
    pool: Mutex<Vec<Conn>>,
    sha: Mutex<Option<String>>,
}

#[derive(Debug, Clone)]
enum Addr {
    Tcp(String),
    Unix(std::path::PathBuf),
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &*self.inner;
        // The address, never the password.
        f.debug_struct("RedisRateLimiter")
            .field("addr", &i.addr)
            .field("db", &i.db)
            .field("key", &self.key)
            .field("spec", &self.spec)
            .finish()
    }
}

fn config(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config, "payout-core", message)
}

impl RedisRateLimiter {
    /// A limiter for the bucket `key` (the scope the provider counts: `"checkout"`, an
    /// account name, an IP) at `spec`. Connects lazily, on the first call; fails only for a
    /// URL it cannot use ([`crate::ErrorKind::Config`], the URL not repeated since it may
    /// hold a password).
    pub fn new(url: &str, key: impl Into<String>, spec: RateLimitSpec) -> crate::Result<Self> {
        let parsed = url::Url::parse(url).map_err(|_| config("the Redis URL is not a valid URL"))?;
        let db_query = parsed
            .query_pairs()
            .find(|(k, _)| k == "db")
            .map(|(_, v)| v.into_owned());
        let (addr, db_path) = match parsed.scheme() {
            "redis" => {
                let host = parsed
                    .host_str()
                    .ok_or_else(|| config("the Redis URL has no host"))?;
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let port = parsed.port().unwrap_or(6379);
                let addr = if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                };
                (Addr::Tcp(addr), parsed.path().trim_start_matches('/').to_string())
            }
            "redis+unix" | "unix" => (Addr::Unix(parsed.path().into()), String::new()),
            "rediss" => {
                return Err(config(
                    "rediss:// (TLS) is not supported by the built-in Redis client: use a loopback address, a Unix socket or a private network",
                ));
            }
            _ => {
                return Err(config(
                    "the Redis URL must start with redis://, redis+unix:// or unix://",
                ));
            }
        };
        let db_text = db_query.unwrap_or(db_path);
        let db = if db_text.is_empty() {
            0
        } else {
            db_text
                .parse()
                .map_err(|_| config("the Redis database in the URL must be a number"))?
        };
        let username = (!parsed.username().is_empty()).then(|| decode(parsed.username()));
        let password = parsed.password().map(|p| SecretString::from(decode(p)));
        let inner = Arc::new(Inner {
            addr,
            password,
            username,
            db,
            pool: Mutex::new(Vec::new()),
            sha: Mutex::new(None),
        });
        RedisRateLimiter::on(inner, key.into(), spec, Duration::from_secs(1))
    }

    fn on(inner: Arc<Inner>, key: String, spec: RateLimitSpec, io_timeout: Duration) -> crate::Result<Self> {
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(config("the rate-limit key must be non-empty, without spaces"));
        }
        Ok(RedisRateLimiter {
            inner,
            key: key.into(),
            spec,
            io_timeout,
        })
    }

    /// Another bucket on the same Redis, sharing this limiter's connections: a second limit
    /// of the same client (RohoPay's collections beside its checkouts, with
    /// [`crate::PerOperation`]).
    pub fn bucket(&self, key: impl Into<String>, spec: RateLimitSpec) -> crate::Result<Self> {
        RedisRateLimiter::on(self.inner.clone(), key.into(), spec, self.io_timeout)
    }

    /// The longest one exchange with Redis may take (connecting included) before the call is
    /// refused as unavailable. Default 1 s.
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout;
        self
    }

    /// The rate it holds to.
    pub fn spec(&self) -> RateLimitSpec {
        self.spec
    }

    /// The Redis key of this limiter's bucket for `provider`.
    pub fn redis_key(&self, provider: &str) -> String {
        format!("payout:rl:{provider}:{}", self.key)
    }

    /// One GCRA step in Redis: `Ok(wait)` with the slot reserved, `Err(Denied)` otherwise.
    async fn reserve(&self, provider: &str, max_wait: Duration) -> Result<Duration, Denied> {
        let spec = self.spec;
        let args = [
            spec.emission_interval().as_micros().to_string(),
            spec.burst_tolerance().as_micros().to_string(),
            max_wait.as_micros().min(MAX_WAIT_US).to_string(),
        ];
        let key = self.redis_key(provider);
        let exchange = self.eval(&key, &args);
        let reply = match tokio::time::timeout(self.io_timeout, exchange).await {
            Ok(r) => r.map_err(|e| Denied::Unavailable(Box::new(e)))?,
            Err(_) => {
                return Err(Denied::Unavailable(Box::new(RedisError::Io(
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "Redis did not answer in time"),
                ))));
            }
        };
        let (admitted, wait_us) = match reply {
            Reply::Array(items) => match items.as_slice() {
                [Reply::Int(a), Reply::Int(w)] => (*a == 1, (*w).max(0) as u64),
                _ => return Err(unexpected()),
            },
            _ => return Err(unexpected()),
        };
        let wait = Duration::from_micros(wait_us);
        if admitted {
            Ok(wait)
        } else {
            Err(Denied::Wait(wait))
        }
    }

    /// `EVALSHA`, loading the script first if needed; `EVAL` when the server lost it.
    async fn eval(&self, key: &str, args: &[String; 3]) -> Result<Reply, RedisError> {
        let mut conn = self.conn().await?;
        let result = self.eval_on(&mut conn, key, args).await;
        if result.is_ok() {
            let mut pool = self.inner.pool.lock().unwrap_or_else(PoisonError::into_inner);
            if pool.len() < POOL {
                pool.push(conn);
            }
        }
        result
    }

    async fn eval_on(&self, conn: &mut Conn, key: &str, args: &[String; 3]) -> Result<Reply, RedisError> {
        let known = self
            .inner
            .sha
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let sha = match known {
            Some(s) => s,
            None => match conn.command(&["SCRIPT", "LOAD", SCRIPT]).await? {
                Reply::Bulk(s) => {
                    let s = String::from_utf8_lossy(&s).into_owned();
                    *self.inner.sha.lock().unwrap_or_else(PoisonError::into_inner) = Some(s.clone());
                    s
                }
                // SCRIPT disabled (some managed services): EVAL every time.
                _ => String::new(),
            },
        };
        if !sha.is_empty() {
            match conn
                .command(&["EVALSHA", &sha, "1", key, &args[0], &args[1], &args[2]])
                .await
            {
                Err(RedisError::Server(m)) if m.starts_with("NOSCRIPT") => {}
                other => return other,
            }
        }
        conn.command(&["EVAL", SCRIPT, "1", key, &args[0], &args[1], &args[2]])
            .await
    }

    /// An idle pooled connection, or a new one (authenticated, database selected).
    async fn conn(&self) -> Result<Conn, RedisError> {
        if let Some(c) = self
            .inner
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
        {
            return Ok(c);
        }
        let i = &*self.inner;
        let stream: Box<dyn Stream> = match &i.addr {
            Addr::Tcp(a) => {
                let s = tokio::net::TcpStream::connect(a.as_str()).await?;
                s.set_nodelay(true)?;
                Box::new(s)
            }
            #[cfg(unix)]
            Addr::Unix(p) => Box::new(tokio::net::UnixStream::connect(p).await?),
            #[cfg(not(unix))]
            Addr::Unix(_) => {
                return Err(RedisError::Io(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "Unix sockets are not available on this platform",
                )));
            }
        };
        let mut conn = Conn {
            io: BufReader::new(stream),
        };
        if let Some(p) = &i.password {
            match &i.username {
                Some(u) => conn.command(&["AUTH", u, p.expose_secret()]).await?,
                None => conn.command(&["AUTH", p.expose_secret()]).await?,
            };
        }
        if i.db != 0 {
            conn.command(&["SELECT", &i.db.to_string()]).await?;
        }
        Ok(conn)
    }

    /// Sends one command on a fresh connection and returns the reply as text (tests:
    /// `SCRIPT FLUSH`, `PTTL`).
    #[doc(hidden)]
    pub async fn raw_command(&self, args: &[&str]) -> Result<String, Denied> {
        let mut c = self.conn().await.map_err(|e| Denied::Unavailable(Box::new(e)))?;
        let reply = c
            .command(args)
            .await
            .map_err(|e| Denied::Unavailable(Box::new(e)))?;
        Ok(match reply {
            Reply::Simple(s) => s,
            Reply::Int(i) => i.to_string(),
            Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            Reply::Nil => "(nil)".to_string(),
            Reply::Array(items) => format!("{items:?}"),
        })
    }
}

impl RateLimit for RedisRateLimiter {
    fn acquire<'a>(&'a self, key: &'a RateKey<'a>, max_wait: Duration) -> AcquireFuture<'a> {
        Box::pin(async move {
            let wait = self.reserve(key.provider, max_wait).await?;
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            Ok(())
        })
    }
}

fn unexpected() -> Denied {
    Denied::Unavailable(Box::new(RedisError::Protocol(
        "unexpected reply to the rate-limit script",
    )))
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// What went wrong talking to Redis. Never carries the URL or the password.
#[derive(Debug)]
enum RedisError {
    Io(std::io::Error),
    /// An error reply (`-ERR ...`, `-NOSCRIPT ...`, `-WRONGPASS ...`).
    Server(String),
    Protocol(&'static str),
}

impl std::fmt::Display for RedisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisError::Io(e) => write!(f, "Redis I/O: {e}"),
            RedisError::Server(m) => write!(f, "Redis answered: {m}"),
            RedisError::Protocol(m) => write!(f, "Redis protocol: {m}"),
        }
    }
}

impl std::error::Error for RedisError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RedisError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for RedisError {
    fn from(e: std::io::Error) -> Self {
        RedisError::Io(e)
    }
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// One RESP2 connection.
struct Conn {
    io: BufReader<Box<dyn Stream>>,
}

/// A RESP2 reply (the kinds the limiter's commands return).
#[derive(Debug, PartialEq)]
enum Reply {
    Simple(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
}

/// The largest bulk string or array we accept from Redis.
const MAX_LEN: i64 = 1 << 20;

impl Conn {
    async fn command(&mut self, args: &[&str]) -> Result<Reply, RedisError> {
        let mut out = Vec::with_capacity(64 + args.iter().map(|a| a.len() + 16).sum::<usize>());
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let w = self.io.get_mut();
        w.write_all(&out).await?;
        w.flush().await?;
        self.read_reply().await
    }

    async fn read_line(&mut self) -> Result<String, RedisError> {
        let mut line = Vec::new();
        let n = (&mut self.io)
            .take(MAX_LEN as u64)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 || !line.ends_with(b"\r\n") {
            return Err(RedisError::Protocol("connection closed mid-reply"));
        }
        line.truncate(line.len() - 2);
        String::from_utf8(line).map_err(|_| RedisError::Protocol("reply line is not UTF-8"))
    }

    async fn read_reply(&mut self) -> Result<Reply, RedisError> {
        // Arrays nest (a script can return them): an explicit stack, bounded in depth.
        let mut stack: Vec<(usize, Vec<Reply>)> = Vec::new();
        loop {
            let line = self.read_line().await?;
            let (tag, rest) = match line.as_bytes().first() {
                Some(t) => (*t, &line[1..]),
                None => return Err(RedisError::Protocol("empty reply line")),
            };
            let len = || -> Result<i64, RedisError> {
                rest.parse::<i64>()
                    .map_err(|_| RedisError::Protocol("bad length or integer"))
            };
            let mut value = match tag {
                b'+' => Reply::Simple(rest.to_string()),
                b'-' => return Err(RedisError::Server(rest.to_string())),
                b':' => Reply::Int(len()?),
                b'$' => {
                    let n = len()?;
                    if n < 0 {
                        Reply::Nil
                    } else if n > MAX_LEN {
                        return Err(RedisError::Protocol("bulk reply too large"));
                    } else {
                        let mut buf = vec![0u8; n as usize + 2];
                        self.io.read_exact(&mut buf).await?;
                        buf.truncate(n as usize);
                        Reply::Bulk(buf)
                    }
                }
                b'*' => {
                    let n = len()?;
                    if n < 0 {
                        Reply::Nil
                    } else if n == 0 {
                        Reply::Array(Vec::new())
                    } else if n > MAX_LEN || stack.len() >= 8 {
                        return Err(RedisError::Protocol("array reply too large or too deep"));
                    } else {
                        stack.push((n as usize, Vec::with_capacity((n as usize).min(16))));
                        continue;
                    }
                }
                _ => return Err(RedisError::Protocol("unknown reply type")),
            };
            loop {
                let Some((want, items)) = stack.last_mut() else {
                    return Ok(value);
                };
                items.push(value);
                if items.len() < *want {
                    break;
                }
                let Some((_, done)) = stack.pop() else {
                    return Err(RedisError::Protocol("unbalanced array"));
                };
                value = Reply::Array(done);
            }
        }
    }
}
