//! Settings every provider client shares: timeouts, retries, user agent, proxy, an injected
//! `reqwest::Client`, the rate limiter, the retry budget and the circuit breaker.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::limit::{CircuitBreaker, RateLimit, RateLimiter, RetryBudget};
use crate::retry::RetryPolicy;

/// Transport settings shared by every provider's `ClientBuilder` (each builder forwards
/// these setters, so `rocheap::Client::builder().timeout(..)` and
/// `xrocket::Client::builder().timeout(..)` read the same).
///
/// Defaults: connect 5 s, one attempt 30 s, the whole call (retries and back-off included)
/// 60 s, [`RetryPolicy::default`] (2 retries), a [`RetryBudget::default`] (500 tokens, a
/// retry costs 5, one after a timeout 10, a first-time success refunds 1), no client-side
/// rate limit, no breaker.
#[derive(Clone)]
pub struct ClientOptions {
    pub(crate) connect_timeout: Duration,
    pub(crate) attempt_timeout: Duration,
    pub(crate) total_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) user_agent_suffix: Option<String>,
    pub(crate) proxy: Option<SecretString>,
    pub(crate) http_client: Option<reqwest::Client>,
    /// The in-process limiter, when that is the one set (for [`ClientOptions::get_rate_limiter`]).
    pub(crate) rate_limiter: Option<RateLimiter>,
    pub(crate) rate_limit: Option<Arc<dyn RateLimit>>,
    pub(crate) retry_budget: Option<RetryBudget>,
    pub(crate) circuit_breaker: Option<CircuitBreaker>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            user_agent_suffix: None,
            proxy: None,
            http_client: None,
            rate_limiter: None,
            rate_limit: None,
            retry_budget: Some(RetryBudget::default()),
            circuit_breaker: None,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("retry", &self.retry)
            .field("user_agent_suffix", &self.user_agent_suffix)
            // A proxy URL can carry a password.
            .field("proxy", &self.proxy.as_ref().map(|_| "[REDACTED]"))
            .field("http_client", &self.http_client.as_ref().map(|_| "custom"))
            .field("rate_limit", &self.rate_limit)
            .field("retry_budget", &self.retry_budget)
            .field("circuit_breaker", &self.circuit_breaker)
            .finish()
    }
}

impl ClientOptions {
    /// The deadline for a whole call, retries and back-off included.
    pub fn timeout(mut self, total: Duration) -> Self {
        self.total_timeout = total;
        self
    }
    /// The time allowed to open a connection (ignored with [`ClientOptions::http_client`]).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    /// The time allowed for one attempt, from sending to the last byte of the response.
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.attempt_timeout = d;
        self
    }
    /// The retry policy ([`RetryPolicy::none`] to never retry).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
    /// Appended to the user agent, e.g. `"my-shop/1.4"`.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }
    /// Routes every request through this proxy URL (`HTTP(S)_PROXY` are honoured anyway).
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(SecretString::from(url.into()));
        self
    }
    /// Uses your own `reqwest::Client` (connection pool, TLS roots, proxy). The connect
    /// timeout and proxy settings above are then yours to set on it.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }
    /// Limits the request rate on the client side: any [`RateLimit`], such as the in-process
    /// [`RateLimiter`] or, with the `redis` feature, a `RedisRateLimiter` shared by several
    /// instances (see the provider crate for its documented limits). Every attempt waits for
    /// a slot up to the call's deadline, then fails with [`crate::ErrorKind::RateLimited`]
    /// without being sent.
    pub fn rate_limiter(mut self, limiter: impl RateLimit + 'static) -> Self {
        self.rate_limiter = (&limiter as &dyn std::any::Any)
            .downcast_ref::<RateLimiter>()
            .cloned();
        self.rate_limit = Some(Arc::new(limiter));
        self
    }
    /// Sets the per-client [`RetryBudget`] (on by default with [`RetryBudget::default`]).
    pub fn retry_budget(mut self, budget: RetryBudget) -> Self {
        self.retry_budget = Some(budget);
        self
    }
    /// Turns the retry budget off: every call may make all the retries its policy allows,
    /// whatever the others did.
    pub fn no_retry_budget(mut self) -> Self {
        self.retry_budget = None;
        self
    }
    /// Fails fast while the provider keeps failing (see [`CircuitBreaker`]).
    pub fn circuit_breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.circuit_breaker = Some(breaker);
        self
    }

    /// The circuit breaker, if one is set (for health endpoints: `state()`).
    pub fn get_circuit_breaker(&self) -> Option<&CircuitBreaker> {
        self.circuit_breaker.as_ref()
    }
    /// The client-side rate limiter, if one is set and it is the in-process [`RateLimiter`]
    /// (see [`ClientOptions::get_rate_limit`] for any kind).
    pub fn get_rate_limiter(&self) -> Option<&RateLimiter> {
        self.rate_limiter.as_ref()
    }
    /// The client-side rate limit, whatever its implementation, if one is set.
    pub fn get_rate_limit(&self) -> Option<&Arc<dyn RateLimit>> {
        self.rate_limit.as_ref()
    }
    /// The retry budget, unless it was turned off.
    pub fn get_retry_budget(&self) -> Option<&RetryBudget> {
        self.retry_budget.as_ref()
    }
    /// The deadline for a whole call.
    pub fn get_timeout(&self) -> Duration {
        self.total_timeout
    }
    /// The time allowed for one attempt.
    pub fn get_attempt_timeout(&self) -> Duration {
        self.attempt_timeout
    }
    /// The retry policy.
    pub fn get_retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}

/// Adds the [`ClientOptions`] setters to a provider's `ClientBuilder`, which must have a
/// field `options: payout_core::ClientOptions`. One definition, so the five crates cannot
/// drift apart.
#[macro_export]
macro_rules! impl_client_options {
    ($builder:ty) => {
        impl $builder {
            /// The deadline for a whole call, retries and back-off included (default 60 s).
            pub fn timeout(mut self, total: ::std::time::Duration) -> Self {
                self.options = self.options.timeout(total);
                self
            }
            /// The time allowed to open a connection (default 5 s).
            pub fn connect_timeout(mut self, d: ::std::time::Duration) -> Self {
                self.options = self.options.connect_timeout(d);
                self
            }
            /// The time allowed for one attempt, from sending to the last byte (default 30 s).
            pub fn attempt_timeout(mut self, d: ::std::time::Duration) -> Self {
                self.options = self.options.attempt_timeout(d);
                self
            }
            /// The retry policy (default: 2 retries with jittered back-off). Money-moving calls
            /// are only ever retried when that cannot pay twice; see the crate docs.
            pub fn retry_policy(mut self, policy: $crate::RetryPolicy) -> Self {
                self.options = self.options.retry_policy(policy);
                self
            }
            /// Appended to the user agent, e.g. `"my-shop/1.4"`.
            pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
                self.options = self.options.user_agent_suffix(suffix);
                self
            }
            /// Routes every request through this proxy URL.
            pub fn proxy(mut self, url: impl Into<String>) -> Self {
                self.options = self.options.proxy(url);
                self
            }
            /// Uses your own `reqwest::Client` (pool, TLS roots, proxy).
            pub fn http_client(mut self, client: $crate::reqwest::Client) -> Self {
                self.options = self.options.http_client(client);
                self
            }
            /// Limits the request rate on the client side: the in-process
            /// `payout_core::RateLimiter`, or any `payout_core::RateLimit` (a
            /// `payout_core::redis::RedisRateLimiter` shares one limit between instances).
            /// A call waits for a slot up to its deadline, then fails with `RateLimited`,
            /// never sent.
            pub fn rate_limiter(mut self, limiter: impl $crate::RateLimit + 'static) -> Self {
                self.options = self.options.rate_limiter(limiter);
                self
            }
            /// Sets the per-client retry budget (on by default: 500 tokens, a retry costs 5,
            /// one after a timeout 10, a first-time success gives back 1).
            pub fn retry_budget(mut self, budget: $crate::RetryBudget) -> Self {
                self.options = self.options.retry_budget(budget);
                self
            }
            /// Turns the retry budget off.
            pub fn no_retry_budget(mut self) -> Self {
                self.options = self.options.no_retry_budget();
                self
            }
            /// Fails fast after repeated failures (opt-in).
            pub fn circuit_breaker(mut self, breaker: $crate::CircuitBreaker) -> Self {
                self.options = self.options.circuit_breaker(breaker);
                self
            }
            /// Replaces all transport settings at once.
            pub fn options(mut self, options: $crate::ClientOptions) -> Self {
                self.options = options;
                self
            }
        }
    };
}

/// Per-call overrides of the client's settings, without building a second client: the
/// deadline, the time allowed for one attempt, the retry policy (e.g.
/// [`RequestOptions::send_once`]) and the idempotency key.
///
/// Pass them with [`crate::ApiClient::send_with`] (or [`crate::Transport::send_with`]).
/// The safety rules do not move: a call that may pay twice is never retried, whatever the
/// policy says; a policy can only retry less or differently.
///
/// ```
/// use std::time::Duration;
/// use payout_core::{IdempotencyKey, RequestOptions};
/// let opts = RequestOptions::new()
///     .timeout(Duration::from_secs(5))
///     .send_once()
///     .idempotency_key(IdempotencyKey::new("order-1842-payout").unwrap());
/// assert_eq!(opts.get_timeout(), Some(Duration::from_secs(5)));
/// assert_eq!(opts.get_retry_policy().map(|p| p.get_max_retries()), Some(0));
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) idempotency_key: Option<crate::IdempotencyKey>,
}

impl RequestOptions {
    /// No overrides: the client's settings.
    pub fn new() -> Self {
        RequestOptions::default()
    }
    /// The deadline for this call, retries and back-off included.
    pub fn timeout(mut self, total: Duration) -> Self {
        self.timeout = Some(total);
        self
    }
    /// The time allowed for one attempt of this call.
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.attempt_timeout = Some(d);
        self
    }
    /// The retry policy for this call.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// Send once, never retry (same as `retry_policy(RetryPolicy::none())`).
    pub fn send_once(self) -> Self {
        self.retry_policy(RetryPolicy::none())
    }
    /// The key sent in the request's idempotency header instead of the one it was built with
    /// (to resume a call under the key you persisted). Only for endpoints that send their
    /// key in a header: where the key is part of the body (a client id, a custom order id),
    /// the call fails with [`crate::ErrorKind::Config`] before anything is sent; build the
    /// request value with that key instead.
    pub fn idempotency_key(mut self, key: crate::IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }
    /// The deadline override, if any.
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }
    /// The attempt timeout override, if any.
    pub fn get_attempt_timeout(&self) -> Option<Duration> {
        self.attempt_timeout
    }
    /// The retry policy override, if any.
    pub fn get_retry_policy(&self) -> Option<&RetryPolicy> {
        self.retry.as_ref()
    }
    /// The idempotency key override, if any.
    pub fn get_idempotency_key(&self) -> Option<&crate::IdempotencyKey> {
        self.idempotency_key.as_ref()
    }
}
