//! The HTTP server: the router, its shared state, and serving with graceful shutdown.

pub mod dashboard;
mod ops;
pub mod setup;
pub mod webhook;

use crate::config::watch::Reloader;
use crate::context::Context;
use crate::db::ingest::Ingest;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
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
    /// App registrations in progress.
    pub registrations: setup::Registrations,
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(setup::index))
        .route("/app/register", post(setup::register))
        .route("/app/callback", get(setup::callback))
        .route(
            "/webhook",
            post(webhook::receive).layer(DefaultBodyLimit::max(webhook::BODY_LIMIT)),
        )
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard.json", get(dashboard::json))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets requests in flight
/// finish (each waits for its delivery to be stored) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
