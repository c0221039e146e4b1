//! Operational routes: liveness and readiness (open, outside the concurrency limit), and
//! metrics (behind the metrics or dashboard token, `access::require_metrics`: its labels name
//! repositories).

use super::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

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
