//! Operational routes: liveness, readiness, metrics and the index page.

use super::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

/// `GET /`: what this service is and where its endpoints are.
pub async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "GlobalLM is running.\n\
         \n\
         POST /webhook   GitHub webhook deliveries (signed with the webhook secret)\n\
         GET  /healthz   liveness\n\
         GET  /readyz    readiness (database reachable, migrations applied)\n\
         GET  /metrics   Prometheus metrics\n",
    )
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the database answers and its migrations are applied.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.ctx.db.readiness().await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        ),
    }
}

/// `GET /metrics`: every metric in the Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let text = crate::monitoring::render(&state.ctx, &state.metrics).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
