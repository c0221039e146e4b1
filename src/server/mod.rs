//! The HTTP server: the router, its shared state, the guards of the operator's routes, and
//! serving with graceful shutdown.

pub mod access;
pub mod dashboard;
mod ops;
pub mod setup;
pub mod setup_token;
pub mod webhook;

use crate::config::watch::Reloader;
use crate::context::Context;
use crate::db::ingest::Ingest;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
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

/// The application's routes, behind their guards.
pub fn router(state: AppState) -> Router {
    let operator = Router::new()
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard.json", get(dashboard::json))
        .route_layer(from_fn_with_state(state.clone(), access::require_operator));
    let metrics = Router::new()
        .route("/metrics", get(ops::metrics))
        .route_layer(from_fn_with_state(state.clone(), access::require_metrics));
    Router::new()
        .route("/", get(setup::index))
        .route("/app/register", post(setup::register))
        .route("/app/callback", get(setup::callback))
        .route(
            "/webhook",
            post(webhook::receive).layer(DefaultBodyLimit::max(webhook::BODY_LIMIT)),
        )
        .merge(operator)
        .merge(metrics)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets requests in flight
/// finish (each waits for its delivery to be stored) and returns. Each request carries its
/// TCP peer (`ConnectInfo`), which `access` reads.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
}
