//! The GitHub REST transport: the real octocrab client (base URL from config, so GitHub
//! Enterprise Server and the tests' fake GitHub work the same), with authentication as the App
//! (JWT) or as an installation (cached token), retries with backoff on 5xx and timeouts, the
//! primary and secondary rate limits honoured, GETs revalidated with ETags (a `304` costs no
//! rate limit), and writes paced to stay under GitHub's content-creation limits. One method per
//! GitHub call is in `api.rs`; this file only moves requests.

use super::auth::{AppAuth, TokenCache};
use super::error::GithubError;
use super::ids::InstallationId;
use crate::clock::Clock;
use crate::time::Millis;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Cached GET answers kept for revalidation, at most.
const ETAG_CACHE_ENTRIES: usize = 2_048;
/// The REST API version GlobalLM is written against.
const API_VERSION: &str = "2022-11-28";

/// Who a request acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// No credentials (the manifest conversion).
    None,
    /// The App itself, with a JWT.
    App,
    /// An installation, with its access token.
    Installation(InstallationId),
    /// The operator's read-only token (`GLOBALLM_GITHUB_TOKEN`), for repositories that have
    /// not installed the App: it only ever reads.
    Token,
}

/// How the client behaves; from `github.*` in the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The REST API root, e.g. `https://api.github.com` or `https://HOST/api/v3`.
    pub api_url: String,
    /// Retries after a 5xx, a timeout or a connection error.
    pub max_retries: u32,
    /// The first retry's delay; doubled for each further one.
    pub retry_base: Duration,
    /// How long one request may take.
    pub request_timeout: Duration,
    /// The longest the client waits for a rate limit to reset before giving up with
    /// [`GithubError::RateLimited`] (the job then retries later).
    pub max_rate_limit_wait: Duration,
    /// The least time between two writes of one installation (GitHub asks for a second).
    pub write_interval: Duration,
    /// The most bytes one answer's body may have; a longer one is an error, not read on.
    pub max_response_bytes: usize,
}

impl Settings {
    /// Settings for `api_url` with GlobalLM's defaults.
    pub fn new(api_url: &str) -> Self {
        Self {
            api_url: api_url.trim_end_matches('/').to_owned(),
            max_retries: 3,
            retry_base: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(900),
            write_interval: Duration::from_secs(1),
            max_response_bytes: 32 * 1024 * 1024,
        }
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status (`200` for a revalidated cached answer).
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// Whether the body came from the ETag cache after a `304`.
    pub revalidated: bool,
}

impl Response {
    /// The body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, GithubError> {
        serde_json::from_slice(&self.body).map_err(|err| GithubError::Decode {
            what: what.to_owned(),
            message: err.to_string(),
        })
    }

    /// The `rel="next"` link, for pagination.
    pub fn next_link(&self) -> Option<String> {
        let link = self.headers.get("link")?.to_str().ok()?;
        link.split(',').find_map(|part| {
            let (url, rel) = part.split_once(';')?;
            rel.contains("rel=\"next\"").then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
        })
    }
}

/// Why an answer's body was not read.
enum BodyError {
    /// It is longer than `max_response_bytes`.
    TooLarge,
    /// The connection failed or timed out while reading it.
    Failed(String),
}

#[derive(Debug, Clone, Copy)]
struct Limit {
    remaining: i64,
    reset_at: Millis,
}

/// The GitHub client. Cheap to share (`Arc`); every method takes `&self`.
#[derive(Debug)]
pub struct GithubClient {
    octo: octocrab::Octocrab,
    graphql: Option<octocrab::Octocrab>,
    settings: Settings,
    app: Option<AppAuth>,
    read_token: Option<secrecy::SecretString>,
    tokens: TokenCache,
    clock: Arc<dyn Clock>,
    etags: Mutex<HashMap<(Auth, String), (HeaderValue, Bytes)>>,
    limits: Mutex<HashMap<Auth, Limit>>,
    next_write: Mutex<HashMap<Auth, Millis>>,
}

impl GithubClient {
    /// A client for `settings.api_url`, acting as `app` when one is configured.
    pub fn new(
        settings: Settings,
        app: Option<AppAuth>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, GithubError> {
        let octo = transport(&settings.api_url, &settings)?;
        // GitHub Enterprise Server serves GraphQL at /api/graphql, beside (not under) /api/v3.
        let graphql = match settings.api_url.strip_suffix("/v3") {
            Some(api_root) if settings.api_url.ends_with("/api/v3") => {
                Some(transport(api_root, &settings)?)
            }
            _ => None,
        };
        Ok(Self {
            octo,
            graphql,
            tokens: TokenCache::default(),
            settings,
            app,
            read_token: None,
            clock,
            etags: Mutex::default(),
            limits: Mutex::default(),
            next_write: Mutex::default(),
        })
    }

    /// The same client acting with `token` for [`Auth::Token`].
    pub fn with_read_token(mut self, token: Option<secrecy::SecretString>) -> Self {
        self.read_token = token;
        self
    }

    /// Whether a read-only token is set for [`Auth::Token`].
    pub fn has_read_token(&self) -> bool {
        self.read_token.is_some()
    }

    /// The App's credentials, when configured.
    pub fn app(&self) -> Option<&AppAuth> {
        self.app.as_ref()
    }

    /// The clock the client waits on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The REST API root.
    pub fn api_url(&self) -> &str {
        &self.settings.api_url
    }

    /// What GitHub last said about the rate limit left for `auth`: (remaining, reset time).
    pub fn rate_limit(&self, auth: Auth) -> Option<(i64, Millis)> {
        self.limits
            .lock()
            .expect("limits lock")
            .get(&auth)
            .map(|l| (l.remaining, l.reset_at))
    }

    /// A token for an installation, for `git` over HTTPS; valid for at least five minutes.
    pub async fn installation_token(
        &self,
        installation: InstallationId,
    ) -> Result<secrecy::SecretString, GithubError> {
        self.tokens.get(self, installation).await
    }

    /// `GET path` as JSON.
    pub async fn get<T: DeserializeOwned>(&self, auth: Auth, path: &str) -> Result<T, GithubError> {
        self.send(Method::GET, auth, path, None).await?.json(path)
    }

    /// `GET path` following `rel="next"` links, concatenating the pages' items, up to
    /// `max_items`. `items` picks the list out of a page (the page itself, or a field of it).
    pub async fn get_pages<P, T>(
        &self,
        auth: Auth,
        path: &str,
        max_items: usize,
        items: impl Fn(P) -> Vec<T>,
    ) -> Result<Vec<T>, GithubError>
    where
        P: DeserializeOwned,
    {
        let mut all = Vec::new();
        let mut next = Some(path.to_owned());
        while let Some(path) = next.take() {
            let response = self.send(Method::GET, auth, &path, None).await?;
            all.extend(items(response.json(&path)?));
            if all.len() >= max_items {
                all.truncate(max_items);
                break;
            }
            next = response
                .next_link()
                .map(|url| self.relative(&url))
                .transpose()?;
        }
        Ok(all)
    }

    /// `method path` with a JSON body, answered with JSON.
    pub async fn write<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        auth: Auth,
        path: &str,
        body: &B,
    ) -> Result<T, GithubError> {
        let body = serde_json::to_vec(body).map_err(|err| GithubError::Decode {
            what: path.to_owned(),
            message: err.to_string(),
        })?;
        self.send(method, auth, path, Some(body)).await?.json(path)
    }

    /// `method path` with an optional JSON body, answer ignored.
    pub async fn call<B: Serialize + ?Sized>(
        &self,
        method: Method,
        auth: Auth,
        path: &str,
        body: Option<&B>,
    ) -> Result<Response, GithubError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|err| GithubError::Decode {
                what: path.to_owned(),
                message: err.to_string(),
            })?;
        self.send(method, auth, path, body).await
    }

    /// Turns a pagination link into a path under the API root; links elsewhere are refused,
    /// so credentials never go to another host.
    fn relative(&self, url: &str) -> Result<String, GithubError> {
        url.strip_prefix(&self.settings.api_url)
            .map(str::to_owned)
            .ok_or_else(|| GithubError::Decode {
                what: "pagination".to_owned(),
                message: format!("a next link outside the API root: {url}"),
            })
    }

    /// Creates something with a `POST` that GitHub may have applied even though the answer was
    /// an error (a 502 after the write, a timeout, a dropped connection). Such a request is
    /// never sent again blindly: `find` first looks for what it would have created (by a
    /// hidden marker, a head branch, a name and head SHA), and what it finds is adopted;
    /// only when nothing is found is the request sent again. Rate limits (which GitHub
    /// answers before doing anything) are waited out as for every request.
    /// `decode` reads the created thing from the answer.
    pub async fn create_once<B, T, F, Fut>(
        &self,
        auth: Auth,
        path: &str,
        body: &B,
        decode: impl Fn(&Response) -> Result<T, GithubError>,
        find: F,
    ) -> Result<T, GithubError>
    where
        B: Serialize + ?Sized,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, GithubError>>,
    {
        let body = serde_json::to_vec(body).map_err(|err| GithubError::Decode {
            what: path.to_owned(),
            message: err.to_string(),
        })?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self
                .send_with(Method::POST, auth, path, Some(body.clone()), false)
                .await
            {
                Ok(response) => return decode(&response),
                Err(err) if err.may_have_been_applied() => err,
                Err(err) => return Err(err),
            };
            tracing::warn!(%path, attempt, "a write may have been applied despite the error: looking for it before trying again: {err}");
            self.back_off(attempt).await;
            if let Some(found) = find().await? {
                metrics::counter!("globallm_github_writes_adopted_total").increment(1);
                tracing::info!(%path, "the write had been applied: adopting it");
                return Ok(found);
            }
            if attempt > self.settings.max_retries {
                return Err(err);
            }
        }
    }

    /// Sends a request, retrying and waiting as the rules in this module's doc say.
    pub async fn send(
        &self,
        method: Method,
        auth: Auth,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Response, GithubError> {
        self.send_with(method, auth, path, body, true).await
    }

    /// [`GithubClient::send`]; `replay`: whether a request whose answer was lost (5xx, timeout,
    /// connection error) may be sent again as it is — false for writes that are not
    /// idempotent ([`GithubClient::create_once`]).
    async fn send_with(
        &self,
        method: Method,
        auth: Auth,
        path: &str,
        body: Option<Vec<u8>>,
        replay: bool,
    ) -> Result<Response, GithubError> {
        let is_read = method == Method::GET;
        // DESIGN §9.7: without an installation GlobalLM only reads. The read-only token is
        // refused any write here, whoever asks (GraphQL's POST is a query).
        if auth == Auth::Token && !is_read && path != "/graphql" {
            return Err(GithubError::Forbidden(format!(
                "{method} {path}: the read-only token (GLOBALLM_GITHUB_TOKEN) never writes"
            )));
        }
        let cache_key = (auth, path.to_owned());
        let mut attempts = 0;
        let mut token_refreshed = false;
        loop {
            attempts += 1;
            self.wait_for_rate_limit(auth).await?;
            if !is_read && matches!(auth, Auth::Installation(_)) {
                self.pace_write(auth).await;
            }
            let cached = if is_read {
                self.etags
                    .lock()
                    .expect("etag lock")
                    .get(&cache_key)
                    .cloned()
            } else {
                None
            };
            let request = self
                .build(
                    &method,
                    auth,
                    path,
                    body.clone(),
                    cached.as_ref().map(|c| &c.0),
                )
                .await?;
            let octo = match &self.graphql {
                Some(graphql) if path == "/graphql" => graphql,
                _ => &self.octo,
            };
            let sent =
                tokio::time::timeout(self.settings.request_timeout, octo.execute(request)).await;
            let response = match sent {
                Ok(Ok(response)) => response,
                Ok(Err(err)) => {
                    self.count_call(&method, "error");
                    if replay && attempts <= self.settings.max_retries {
                        self.back_off(attempts).await;
                        continue;
                    }
                    return Err(GithubError::Transport {
                        attempts,
                        message: err.to_string(),
                    });
                }
                Err(_) => {
                    self.count_call(&method, "timeout");
                    if replay && attempts <= self.settings.max_retries {
                        self.back_off(attempts).await;
                        continue;
                    }
                    return Err(GithubError::Transport {
                        attempts,
                        message: format!("timed out after {:?}", self.settings.request_timeout),
                    });
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            self.count_call(&method, status.as_str());
            self.record_limit(auth, &headers);
            let body = match self.read_body(response, path).await {
                Ok(body) => body,
                Err(BodyError::TooLarge) => {
                    return Err(GithubError::TooLarge {
                        what: path.to_owned(),
                        limit: self.settings.max_response_bytes,
                    });
                }
                Err(BodyError::Failed(message)) => {
                    return Err(GithubError::Transport {
                        attempts,
                        message: format!("reading the answer: {message}"),
                    });
                }
            };
            match status {
                StatusCode::NOT_MODIFIED => {
                    if let Some((_, cached_body)) = cached {
                        return Ok(Response {
                            status: StatusCode::OK,
                            headers,
                            body: cached_body,
                            revalidated: true,
                        });
                    }
                    return Err(GithubError::Other {
                        status: 304,
                        message: "304 without a cached answer".to_owned(),
                    });
                }
                s if s.is_success() => {
                    if is_read && let Some(etag) = headers.get("etag") {
                        self.remember(cache_key, etag.clone(), body.clone());
                    }
                    return Ok(Response {
                        status,
                        headers,
                        body,
                        revalidated: false,
                    });
                }
                StatusCode::UNAUTHORIZED
                    if matches!(auth, Auth::Installation(_)) && !token_refreshed =>
                {
                    // The token may have been revoked early: fetch a new one, once.
                    if let Auth::Installation(id) = auth {
                        self.tokens.forget(id);
                    }
                    token_refreshed = true;
                    attempts -= 1;
                    continue;
                }
                StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
                    if let Some(wait) = self.rate_limit_wait(&headers) {
                        if wait > self.settings.max_rate_limit_wait
                            || attempts > self.settings.max_retries + 2
                        {
                            return Err(GithubError::RateLimited {
                                reset_at: self.clock.now_ms() + millis(wait),
                                message: error_message(&body),
                            });
                        }
                        tracing::warn!(wait_secs = wait.as_secs(), %path, "GitHub rate limit: waiting");
                        self.clock.sleep(wait).await;
                        continue;
                    }
                    return Err(GithubError::Forbidden(error_message(&body)));
                }
                s if s.is_server_error() => {
                    if replay && attempts <= self.settings.max_retries {
                        tracing::warn!(status = s.as_u16(), attempt = attempts, %path, "GitHub server error: retrying");
                        self.back_off(attempts).await;
                        continue;
                    }
                    return Err(GithubError::Server {
                        status: s.as_u16(),
                        attempts,
                        message: error_message(&body),
                    });
                }
                StatusCode::NOT_FOUND => {
                    return Err(GithubError::NotFound(format!("{method} {path}")));
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(GithubError::Unauthorized(error_message(&body)));
                }
                StatusCode::CONFLICT
                | StatusCode::UNPROCESSABLE_ENTITY
                | StatusCode::METHOD_NOT_ALLOWED => {
                    return Err(GithubError::Validation {
                        status: status.as_u16(),
                        message: error_message(&body),
                    });
                }
                other => {
                    return Err(GithubError::Other {
                        status: other.as_u16(),
                        message: error_message(&body),
                    });
                }
            }
        }
    }

    /// Reads an answer's body, at most `max_response_bytes` of it and within the request
    /// timeout (the headers' timeout does not cover a body that trickles in).
    async fn read_body(
        &self,
        response: http::Response<http_body_util::combinators::BoxBody<Bytes, octocrab::Error>>,
        path: &str,
    ) -> Result<Bytes, BodyError> {
        use http_body_util::BodyExt as _;
        let limited =
            http_body_util::Limited::new(response.into_body(), self.settings.max_response_bytes);
        match tokio::time::timeout(self.settings.request_timeout, limited.collect()).await {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(err)) if err.is::<http_body_util::LengthLimitError>() => {
                tracing::warn!(
                    path,
                    limit = self.settings.max_response_bytes,
                    "GitHub's answer is larger than github.max_response_bytes"
                );
                Err(BodyError::TooLarge)
            }
            Ok(Err(err)) => Err(BodyError::Failed(err.to_string())),
            Err(_) => Err(BodyError::Failed(format!(
                "timed out after {:?}",
                self.settings.request_timeout
            ))),
        }
    }

    async fn build(
        &self,
        method: &Method,
        auth: Auth,
        path: &str,
        body: Option<Vec<u8>>,
        etag: Option<&HeaderValue>,
    ) -> Result<http::Request<Vec<u8>>, GithubError> {
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", API_VERSION)
            .header(
                "user-agent",
                concat!("globallm/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(authorization) = self.authorization(auth).await? {
            request = request.header("authorization", authorization);
        }
        if let Some(etag) = etag {
            request = request.header("if-none-match", etag.clone());
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                body
            }
            None => Vec::new(),
        };
        request.body(body).map_err(|err| GithubError::Other {
            status: 0,
            message: format!("cannot build the request for {path}: {err}"),
        })
    }

    async fn authorization(&self, auth: Auth) -> Result<Option<HeaderValue>, GithubError> {
        let value = match auth {
            Auth::None => return Ok(None),
            Auth::App => {
                let app = self.app.as_ref().ok_or(GithubError::NotConfigured)?;
                format!("Bearer {}", app.jwt(self.clock.now_ms())?)
            }
            Auth::Installation(id) => {
                let token = self.tokens.get(self, id).await?;
                format!("token {}", secrecy::ExposeSecret::expose_secret(&token))
            }
            Auth::Token => {
                let token = self.read_token.as_ref().ok_or_else(|| {
                    GithubError::Unauthorized(
                        "no read token (GLOBALLM_GITHUB_TOKEN) is set".to_owned(),
                    )
                })?;
                format!("token {}", secrecy::ExposeSecret::expose_secret(token))
            }
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| GithubError::Other {
            status: 0,
            message: "credentials are not a valid header value".to_owned(),
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    fn remember(&self, key: (Auth, String), etag: HeaderValue, body: Bytes) {
        let mut cache = self.etags.lock().expect("etag lock");
        if cache.len() >= ETAG_CACHE_ENTRIES && !cache.contains_key(&key) {
            // Full: forget an arbitrary entry (a cheap bound; the next GET refetches it).
            if let Some(victim) = cache.keys().next().cloned() {
                cache.remove(&victim);
            }
        }
        cache.insert(key, (etag, body));
    }

    fn record_limit(&self, auth: Auth, headers: &HeaderMap) {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.parse::<i64>().ok();
        if let (Some(remaining), Some(reset)) =
            (number("x-ratelimit-remaining"), number("x-ratelimit-reset"))
        {
            let reset_at = reset * 1000;
            self.limits.lock().expect("limits lock").insert(
                auth,
                Limit {
                    remaining,
                    reset_at,
                },
            );
            let scope = match auth {
                Auth::None => "anonymous",
                Auth::App => "app",
                Auth::Installation(_) => "installation",
                Auth::Token => "token",
            };
            metrics::gauge!("globallm_github_rate_limit_remaining", "scope" => scope)
                .set(remaining as f64);
        }
    }

    /// Before a request: when the last answer said nothing is left, wait for the reset (or
    /// give up if that is too far away).
    async fn wait_for_rate_limit(&self, auth: Auth) -> Result<(), GithubError> {
        let limit = self.limits.lock().expect("limits lock").get(&auth).copied();
        let Some(limit) = limit.filter(|l| l.remaining <= 0) else {
            return Ok(());
        };
        let now = self.clock.now_ms();
        if limit.reset_at <= now {
            return Ok(());
        }
        let wait = Duration::from_millis(u64::try_from(limit.reset_at - now).unwrap_or(0) + 1_000);
        if wait > self.settings.max_rate_limit_wait {
            return Err(GithubError::RateLimited {
                reset_at: limit.reset_at,
                message: "the primary rate limit is used up".to_owned(),
            });
        }
        tracing::warn!(
            wait_secs = wait.as_secs(),
            "GitHub primary rate limit used up: waiting for the reset"
        );
        self.clock.sleep(wait).await;
        Ok(())
    }

    /// How long a 403/429 asks us to wait: `retry-after` (secondary limit) or the primary
    /// limit's reset. `None` when it is not a rate limit.
    fn rate_limit_wait(&self, headers: &HeaderMap) -> Option<Duration> {
        let text = |name: &str| headers.get(name)?.to_str().ok();
        if let Some(secs) = text("retry-after").and_then(|v| v.parse::<u64>().ok()) {
            return Some(Duration::from_secs(secs));
        }
        if text("x-ratelimit-remaining") == Some("0") {
            let reset = text("x-ratelimit-reset")?.parse::<i64>().ok()? * 1000;
            let wait = (reset - self.clock.now_ms()).max(0) + 1_000;
            return Some(Duration::from_millis(u64::try_from(wait).unwrap_or(0)));
        }
        None
    }

    /// Spaces the writes of one installation `write_interval` apart.
    async fn pace_write(&self, auth: Auth) {
        let interval = millis(self.settings.write_interval);
        if interval == 0 {
            return;
        }
        let now = self.clock.now_ms();
        let slot = {
            let mut next = self.next_write.lock().expect("pacing lock");
            let slot = next.get(&auth).copied().unwrap_or(now).max(now);
            next.insert(auth, slot + interval);
            slot
        };
        if slot > now {
            self.clock
                .sleep(Duration::from_millis(
                    u64::try_from(slot - now).unwrap_or(0),
                ))
                .await;
        }
    }

    async fn back_off(&self, attempt: u32) {
        let base = millis(self.settings.retry_base);
        let delay = base.saturating_mul(1 << (attempt - 1).min(10));
        let jittered = delay / 2 + fastrand::i64(0..=delay / 2);
        self.clock
            .sleep(Duration::from_millis(u64::try_from(jittered).unwrap_or(0)))
            .await;
    }

    fn count_call(&self, method: &Method, status: &str) {
        metrics::counter!(
            "globallm_github_api_calls_total",
            "method" => method.to_string(),
            "status" => status.to_owned()
        )
        .increment(1);
    }
}

/// The octocrab client for one API root: no credentials of its own (each request carries
/// them), no retries of its own.
fn transport(base: &str, settings: &Settings) -> Result<octocrab::Octocrab, GithubError> {
    octocrab::Octocrab::builder()
        .base_uri(base)
        .map_err(|err| GithubError::Other {
            status: 0,
            message: format!("invalid github.api_url `{base}`: {err}"),
        })?
        // Retries and rate limits are handled here, where side effects are known.
        .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
        .set_connect_timeout(Some(Duration::from_secs(10)))
        .set_read_timeout(Some(settings.request_timeout))
        .build()
        .map_err(|err| GithubError::Other {
            status: 0,
            message: format!("cannot build the GitHub client: {err}"),
        })
}

fn millis(duration: Duration) -> Millis {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// GitHub's `message` (and field errors) from an error body, or the body itself.
fn error_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: Option<String>,
        #[serde(default)]
        errors: Vec<serde_json::Value>,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody {
            message: Some(message),
            errors,
        }) if errors.is_empty() => message,
        Ok(ErrorBody {
            message: Some(message),
            errors,
        }) => {
            let details: Vec<String> = errors
                .iter()
                .map(|e| {
                    e.get("message")
                        .and_then(|m| m.as_str())
                        .map_or_else(|| e.to_string(), str::to_owned)
                })
                .collect();
            format!("{message} ({})", details.join("; "))
        }
        _ => String::from_utf8_lossy(body).chars().take(300).collect(),
    }
}
