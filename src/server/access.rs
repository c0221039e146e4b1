//! Who may see what. Three tokens open the operator's routes: the setup token (the App
//! registration pages, see `setup_token.rs`), the dashboard token (`/` once an App is
//! configured, `/dashboard`, `/dashboard.json`, and `/metrics` too) and the metrics token
//! (`/metrics`, as Prometheus sends it). Each is compared in constant time. Without a
//! configured dashboard or metrics token, their routes are served only to a client on this
//! machine that did not come through a proxy: a loopback peer carrying no `Forwarded`,
//! `X-Forwarded-For` or `X-Real-IP` header — behind a local reverse proxy every request
//! arrives from loopback, so loopback alone proves nothing. `/healthz`, `/readyz` and
//! `/webhook` (which checks its own signature) are open.

use super::AppState;
use crate::config::Config;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::convert::Infallible;
use std::net::SocketAddr;
use subtle::ConstantTimeEq as _;

/// The cookie the dashboard token is kept in after `?token=`.
pub const DASHBOARD_COOKIE: &str = "globallm_dashboard";

/// Headers a proxy adds; a request carrying one came through a proxy.
const FORWARDING_HEADERS: &[&str] = &["forwarded", "x-forwarded-for", "x-real-ip"];

/// The TCP peer of a request, when the server recorded it (`server::serve` does; a router
/// driven without a connection does not, and such requests are never trusted as local).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
        ))
    }
}

/// Whether a request comes straight from this machine: a loopback peer, and none of the
/// headers a proxy adds.
pub fn is_direct_loopback(peer: Peer, headers: &HeaderMap) -> bool {
    peer.0.is_some_and(|addr| addr.ip().is_loopback())
        && !FORWARDING_HEADERS
            .iter()
            .any(|name| headers.contains_key(*name))
}

/// Whether `given` is the token `expected`, in time independent of where they differ and of
/// their lengths (both are hashed first).
pub fn token_matches(given: &str, expected: &SecretString) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.expose_secret().as_bytes());
    bool::from(given.as_slice().ct_eq(expected.as_slice()))
}

/// The `Authorization: Bearer` token of a request.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The value of the cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The `token` query parameter (a link the operator opens once).
pub fn query_token(uri: &Uri) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
}

/// A `Set-Cookie` value: HttpOnly, `SameSite` as given, `Secure` when browsers reach the
/// service over https.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age: Option<u64>,
    secure: bool,
) -> String {
    let mut cookie = format!("{name}={value}; HttpOnly; SameSite={same_site}; Path={path}");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// What a guard decided.
#[derive(Debug)]
pub enum Access {
    /// Serve the request.
    Granted,
    /// The token came in the address: keep it in a cookie and send the browser to the same
    /// page without it, so it leaves the address bar and the history.
    Exchange(Response),
    /// Refused, with the answer to send.
    Refused(Response),
}

impl Access {
    /// The answer when not granted.
    pub fn into_refusal(self) -> Option<Response> {
        match self {
            Access::Granted => None,
            Access::Exchange(response) | Access::Refused(response) => Some(response),
        }
    }
}

/// A refusal page: a short text saying how to get in.
pub fn refusal(status: StatusCode, title: &str, message: &str) -> Response {
    let mut response =
        super::setup::page(title, &format!("<h1>{title}</h1><p>{message}</p>")).into_response();
    *response.status_mut() = status;
    response
}

/// The operator's pages (`/` once an App is configured, `/dashboard`, `/dashboard.json`):
/// the dashboard token (bearer, cookie, or `?token=` once), else a direct loopback client
/// when no token is configured.
pub fn operator(config: &Config, peer: Peer, headers: &HeaderMap, uri: &Uri) -> Access {
    let Some(expected) = config.secrets.dashboard_token.as_ref().map(|s| s.value()) else {
        return if is_direct_loopback(peer, headers) {
            Access::Granted
        } else {
            Access::Refused(refusal(
                StatusCode::FORBIDDEN,
                "Token needed",
                "These pages show installations and repository data. Without a dashboard token \
                 they are served only to a browser on this machine that does not come through a \
                 proxy. Set GLOBALLM_DASHBOARD_TOKEN (or server.dashboard_token_file) and open \
                 this page with ?token=&lt;token&gt;.",
            ))
        };
    };
    let presented = bearer(headers).or_else(|| cookie(headers, DASHBOARD_COOKIE));
    if presented.is_some_and(|given| token_matches(given, expected)) {
        return Access::Granted;
    }
    if let Some(token) = query_token(uri).filter(|given| token_matches(given, expected)) {
        let cookie = set_cookie(
            DASHBOARD_COOKIE,
            &token,
            "/",
            "Strict",
            None,
            config.server.is_https(),
        );
        return Access::Exchange(
            ([(header::SET_COOKIE, cookie)], Redirect::to(uri.path())).into_response(),
        );
    }
    Access::Refused(refusal(
        StatusCode::UNAUTHORIZED,
        "Token needed",
        "This page needs the dashboard token: open it once with ?token=&lt;token&gt;, or send \
         `Authorization: Bearer &lt;token&gt;`.",
    ))
}

/// `/metrics`: the metrics token or the dashboard token as a bearer token (or the dashboard
/// cookie), else a direct loopback client when neither is configured.
pub fn metrics(config: &Config, peer: Peer, headers: &HeaderMap) -> Access {
    let tokens: Vec<&SecretString> = [
        config.secrets.metrics_token.as_ref(),
        config.secrets.dashboard_token.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|secret| secret.value())
    .collect();
    if tokens.is_empty() {
        return if is_direct_loopback(peer, headers) {
            Access::Granted
        } else {
            Access::Refused(
                (
                    StatusCode::FORBIDDEN,
                    "metrics carry repository names: set GLOBALLM_METRICS_TOKEN (or \
                     server.metrics_token_file) and scrape with it as a bearer token\n",
                )
                    .into_response(),
            )
        };
    }
    let presented = [bearer(headers), cookie(headers, DASHBOARD_COOKIE)];
    let granted = presented
        .into_iter()
        .flatten()
        .any(|given| tokens.iter().any(|expected| token_matches(given, expected)));
    if granted {
        Access::Granted
    } else {
        Access::Refused(
            (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"globallm metrics\"",
                )],
                "send the metrics token as `Authorization: Bearer <token>`\n",
            )
                .into_response(),
        )
    }
}

/// Middleware for the dashboard routes.
pub async fn require_operator(
    State(state): State<AppState>,
    peer: Peer,
    request: Request,
    next: Next,
) -> Response {
    let config = state.ctx.config();
    match operator(&config, peer, request.headers(), request.uri()).into_refusal() {
        Some(refused) => refused,
        None => next.run(request).await,
    }
}

/// Middleware for `/metrics`.
pub async fn require_metrics(
    State(state): State<AppState>,
    peer: Peer,
    request: Request,
    next: Next,
) -> Response {
    let config = state.ctx.config();
    match metrics(&config, peer, request.headers()).into_refusal() {
        Some(refused) => refused,
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn loopback_is_trusted_only_without_forwarding_headers() {
        let local = Peer(Some(SocketAddr::from(([127, 0, 0, 1], 5000))));
        let local6 = Peer(Some("[::1]:5000".parse().expect("an address")));
        let remote = Peer(Some(SocketAddr::from(([203, 0, 113, 7], 5000))));
        let none = HeaderMap::new();
        assert!(is_direct_loopback(local, &none));
        assert!(is_direct_loopback(local6, &none));
        assert!(!is_direct_loopback(remote, &none));
        assert!(
            !is_direct_loopback(Peer(None), &none),
            "no connection, no trust"
        );
        for name in FORWARDING_HEADERS {
            let mut proxied = HeaderMap::new();
            proxied.insert(*name, HeaderValue::from_static("203.0.113.7"));
            assert!(!is_direct_loopback(local, &proxied), "{name}");
        }
    }

    #[test]
    fn tokens_match_exactly() {
        let expected = SecretString::from("s3cret-token".to_owned());
        assert!(token_matches("s3cret-token", &expected));
        assert!(!token_matches("s3cret-toke", &expected));
        assert!(!token_matches("s3cret-token ", &expected));
        assert!(!token_matches("", &expected));
    }

    #[test]
    fn cookies_and_bearer_tokens_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; globallm_dashboard=tok; b=2"),
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer xyz"),
        );
        assert_eq!(cookie(&headers, DASHBOARD_COOKIE), Some("tok"));
        assert_eq!(cookie(&headers, "globallm"), None);
        assert_eq!(bearer(&headers), Some("xyz"));
        assert_eq!(
            query_token(&"/x?a=1&token=t%2Bk".parse().expect("a uri")),
            Some("t+k".to_owned())
        );
    }

    #[test]
    fn cookies_are_http_only_and_secure_over_https() {
        let cookie = set_cookie("n", "v", "/app/callback", "Lax", Some(60), true);
        assert_eq!(
            cookie,
            "n=v; HttpOnly; SameSite=Lax; Path=/app/callback; Max-Age=60; Secure"
        );
        assert!(!set_cookie("n", "v", "/", "Lax", None, false).contains("Secure"));
    }
}
