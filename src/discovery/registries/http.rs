//! The HTTP side shared by every registry adapter: one reqwest client with GlobalLM's
//! `User-Agent`, a pace per registry (the least time between two of its requests), bounded
//! retries on 429 / 5xx / no answer honouring `Retry-After`, and typed errors that tell a
//! missing package from a rate limit from a failing server. Query strings that carry an API
//! key are never put into an error or a log line.

use crate::config::{RegistriesConfig, RegistryEndpoint};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The longest `Retry-After` a call waits for before it gives up with
/// [`RegistryError::RateLimited`].
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// A registry call that failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// 404 (or 410): the registry does not know the package.
    #[error("{registry} does not know {package}")]
    NotFound {
        /// The registry.
        registry: &'static str,
        /// The package (or the path asked for).
        package: String,
    },
    /// 429 (or 403 with `Retry-After`), still in force after the retries.
    #[error("{registry} rate-limited us (retry after {retry_after:?})")]
    RateLimited {
        /// The registry.
        registry: &'static str,
        /// How long it asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// 5xx after the retries.
    #[error("{registry} failed ({status}) after {attempts} attempts")]
    Server {
        /// The registry.
        registry: &'static str,
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// Another 4xx: the request was refused (a bad key, a bad name).
    #[error("{registry} refused the request ({status}): {message}")]
    Refused {
        /// The registry.
        registry: &'static str,
        /// The status.
        status: u16,
        /// The start of its answer.
        message: String,
    },
    /// No answer (connection refused, timeout) after the retries.
    #[error("no answer from {registry} after {attempts} attempts: {message}")]
    Transport {
        /// The registry.
        registry: &'static str,
        /// Attempts made.
        attempts: u32,
        /// What went wrong (without the URL, which may carry a key).
        message: String,
    },
    /// An answer of an unexpected shape.
    #[error("unexpected answer from {registry} for {what}: {message}")]
    Decode {
        /// The registry.
        registry: &'static str,
        /// What was asked.
        what: String,
        /// The parser's message.
        message: String,
    },
    /// The answer's body was longer than `discovery.registries.max_response_bytes`; reading
    /// stopped there.
    #[error(
        "the answer of {registry} for {what} is larger than \
         discovery.registries.max_response_bytes ({limit} bytes)"
    )]
    TooLarge {
        /// The registry.
        registry: &'static str,
        /// What was asked.
        what: String,
        /// The cap, in bytes.
        limit: u64,
    },
    /// The adapter is not usable as configured (no API key, no URL).
    #[error("{registry} is not configured: {reason}")]
    NotConfigured {
        /// The registry.
        registry: &'static str,
        /// What is missing.
        reason: String,
    },
}

impl RegistryError {
    /// Whether the package does not exist there (as opposed to the registry failing).
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::NotFound { .. })
    }
}

/// Spaces the requests of one registry at least `interval` apart, across tasks.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer letting one request through every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            next: Mutex::new(None),
        }
    }

    /// Waits for this registry's next slot.
    pub async fn wait(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if let Some(at) = *next
            && at > now
        {
            tokio::time::sleep_until(at).await;
        }
        *next = Some(Instant::now() + self.interval);
    }
}

/// One registry as the adapters use it: its name, base URL, pace and the shared client.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The registry's name in errors and logs.
    pub registry: &'static str,
    base: String,
    pacer: Arc<Pacer>,
    http: Http,
}

/// The client every registry shares, with its call counter.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    max_retries: u32,
    max_response_bytes: u64,
    calls: Arc<AtomicU64>,
}

impl Http {
    /// A client with the configured `User-Agent`, timeout and retries.
    pub fn new(config: &RegistriesConfig) -> Result<Self, RegistryError> {
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(Duration::from_secs(config.request_timeout_secs.max(1)))
            .build()
            .map_err(|err| RegistryError::NotConfigured {
                registry: "registries",
                reason: format!("cannot build the HTTP client: {err}"),
            })?;
        Ok(Self {
            client,
            max_retries: config.max_retries,
            max_response_bytes: config.max_response_bytes,
            calls: Arc::new(AtomicU64::new(0)),
        })
    }

    /// An endpoint of this client for one registry.
    pub fn endpoint(&self, registry: &'static str, config: &RegistryEndpoint) -> Endpoint {
        Endpoint {
            registry,
            base: config.url.trim_end_matches('/').to_owned(),
            pacer: Arc::new(Pacer::new(Duration::from_millis(config.interval_ms))),
            http: self.clone(),
        }
    }

    /// HTTP requests sent so far, retries included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// What a GET answered: the status (2xx) and the body.
#[derive(Debug)]
pub struct Fetched {
    /// The body.
    pub body: bytes::Bytes,
}

impl Endpoint {
    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET base + path` (path starts with `/`, already escaped) as JSON; `package` names what
    /// was asked for in a `NotFound`. `secret_query` is appended to the URL but never shown.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        package: &str,
        secret_query: Option<(&str, &str)>,
    ) -> Result<T, RegistryError> {
        let fetched = self.get(path, package, secret_query).await?;
        serde_json::from_slice(&fetched.body).map_err(|err| RegistryError::Decode {
            registry: self.registry,
            what: package.to_owned(),
            message: err.to_string(),
        })
    }

    /// A body read chunk by chunk, at most `limit` bytes: `Err(None)` when it is longer,
    /// `Err(Some(..))` when the connection failed.
    async fn body(
        &self,
        mut response: reqwest::Response,
        package: &str,
        limit: u64,
    ) -> Result<bytes::Bytes, Option<reqwest::Error>> {
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            tracing::warn!(
                registry = self.registry,
                package,
                limit,
                "answer above the cap"
            );
            return Err(None);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(Some)? {
            if (body.len() + chunk.len()) as u64 > limit {
                tracing::warn!(
                    registry = self.registry,
                    package,
                    limit,
                    "answer above the cap"
                );
                return Err(None);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.into())
    }

    /// `GET base + path`, paced and retried; the body of a 2xx answer.
    pub async fn get(
        &self,
        path: &str,
        package: &str,
        secret_query: Option<(&str, &str)>,
    ) -> Result<Fetched, RegistryError> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.pacer.wait().await;
            self.http.calls.fetch_add(1, Ordering::Relaxed);
            let mut request = self.http.client.get(&url);
            if let Some((name, value)) = secret_query {
                request = request.query(&[(name, value)]);
            }
            let retry = attempt <= self.http.max_retries;
            let response = match request.send().await {
                Ok(response) => response,
                Err(err) => {
                    if retry {
                        tokio::time::sleep(backoff(attempt)).await;
                        continue;
                    }
                    return Err(RegistryError::Transport {
                        registry: self.registry,
                        attempts: attempt,
                        message: err.without_url().to_string(),
                    });
                }
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            if status.is_success() {
                let body = self
                    .body(response, package, self.http.max_response_bytes)
                    .await
                    .map_err(|err| match err {
                        Some(err) => RegistryError::Transport {
                            registry: self.registry,
                            attempts: attempt,
                            message: err.without_url().to_string(),
                        },
                        None => RegistryError::TooLarge {
                            registry: self.registry,
                            what: package.to_owned(),
                            limit: self.http.max_response_bytes,
                        },
                    })?;
                return Ok(Fetched { body });
            }
            let code = status.as_u16();
            match code {
                404 | 410 => {
                    return Err(RegistryError::NotFound {
                        registry: self.registry,
                        package: package.to_owned(),
                    });
                }
                429 | 403 if code == 429 || retry_after.is_some() => {
                    match retry_after {
                        Some(wait) if retry && wait <= MAX_RETRY_WAIT => {
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        None if retry => {
                            tokio::time::sleep(backoff(attempt)).await;
                            continue;
                        }
                        _ => {}
                    }
                    return Err(RegistryError::RateLimited {
                        registry: self.registry,
                        retry_after,
                    });
                }
                500..=599 => {
                    if retry {
                        tokio::time::sleep(retry_after.unwrap_or_else(|| backoff(attempt))).await;
                        continue;
                    }
                    return Err(RegistryError::Server {
                        registry: self.registry,
                        status: code,
                        attempts: attempt,
                    });
                }
                _ => {
                    // Only the start of a refusal is shown: read no more than that.
                    let text = self
                        .body(response, package, 4 * 1024)
                        .await
                        .unwrap_or_default();
                    return Err(RegistryError::Refused {
                        registry: self.registry,
                        status: code,
                        message: String::from_utf8_lossy(&text).chars().take(200).collect(),
                    });
                }
            }
        }
    }
}

/// 250 ms, doubled per attempt, at most 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << attempt.min(5))).min(Duration::from_secs(8))
}

/// A path segment with everything but unreserved characters escaped (`@scope/name` becomes
/// `%40scope%2Fname`).
pub fn escape(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
