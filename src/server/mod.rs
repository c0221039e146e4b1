//! The HTTP server: the router, its shared state, the layers that bound what one client can
//! hold (timeouts, body limits, a concurrency limit), and serving with graceful shutdown.

pub mod access;
pub mod dashboard;
mod listen;
mod ops;
pub mod setup;
pub mod setup_token;
pub mod webhook;

pub use listen::{bind, serve};

use crate::config::watch::Reloader;
use crate::context::Context;
use crate::db::ingest::Ingest;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;

/// The largest body of a request other than a webhook delivery (the registration form).
const FORM_LIMIT: usize = 64 * 1024;

/// What every route can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The shared context.
    pub ctx: Arc<Context>,
    /// The delivery writer.
    pub ingest: Ingest,
    /// The metrics recorder's handle, for `/metrics`.
    pub metrics: PrometheusHandle,
    /// Reloads the configuration (after the App is registered); `None` in tests that do not
    /// need it.
    pub reloader: Option<Reloader>,
    /// The setup token and the App registrations in progress.
    pub setup: setup_token::Setup,
}

/// The application's routes, behind their guards and the server's limits (`server.*`, read
/// once: they take effect at the next start).
pub fn router(state: AppState) -> Router {
    let server = state.ctx.config().server.clone();
    let operator = Router::new()
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard.json", get(dashboard::json))
        .route_layer(from_fn_with_state(state.clone(), access::require_operator));
    let metrics = Router::new()
        .route("/metrics", get(ops::metrics))
        .route_layer(from_fn_with_state(state.clone(), access::require_metrics));
    // The webhook reads its body itself, after checking the headers (and the declared length).
    let webhook = Router::new().route("/webhook", post(webhook::receive));
    let pages = Router::new()
        .route("/", get(setup::index))
        .route("/app/register", post(setup::register))
        .route("/app/callback", get(setup::callback))
        .layer(RequestBodyLimitLayer::new(FORM_LIMIT));
    // Beyond `max_concurrent_requests` in flight, a request is answered 503 at once instead of
    // queueing; health checks stay outside the limit, so a busy service is not taken for a
    // dead one.
    let limited = Router::new()
        .merge(operator)
        .merge(metrics)
        .merge(webhook)
        .merge(pages)
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::new(
                    server.max_concurrent_requests,
                )),
        );
    let router = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .merge(limited)
        .with_state(state);
    harden(router, &server)
}

/// The layers every route gets: a span per request (with an id; the path without its query,
/// which may carry a token), a panic answered `500` without its message, the whole-request
/// timeout (`408`), and the longest pause while a body is read.
pub fn harden(router: Router, server: &crate::config::ServerConfig) -> Router {
    router
        .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(
            server.read_timeout_secs,
        )))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(server.request_timeout_secs),
        ))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = uuid::Uuid::new_v4().simple().to_string();
                tracing::info_span!(
                    "http",
                    request = %&id[..12],
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
}

/// The answer when the concurrency limit is reached (or, never expected, another layer fails).
async fn overloaded(err: tower::BoxError) -> Response {
    if err.is::<tower::load_shed::error::Overloaded>() {
        metrics::counter!("globallm_http_shed_total").increment(1);
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
            "too many requests at once; try again shortly\n",
        )
            .into_response()
    } else {
        tracing::error!("a request failed in the server's layers: {err}");
        (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
    }
}

/// A handler panicked: the message goes to the log, never to the client.
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    tracing::error!("a request handler panicked: {message}");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt as _;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_without_its_message() {
        let router: Router = Router::new().route(
            "/boom",
            get(|| async {
                if true {
                    panic!("secret internals: /home/globallm/key.pem");
                }
                "unreachable"
            }),
        );
        let response = harden(router, &crate::config::ServerConfig::default())
            .oneshot(
                Request::get("/boom")
                    .body(Body::empty())
                    .expect("a request"),
            )
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("a body");
        let text = String::from_utf8_lossy(&body);
        assert_eq!(text, "internal error\n");
    }
}
