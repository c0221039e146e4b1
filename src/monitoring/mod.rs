//! Metrics: the Prometheus recorder, the names and help texts of every metric, and the
//! gauges read from the database at scrape time; the operator's dashboards (`dashboard`) and
//! the outcome ledger (`ledger`).

pub mod dashboard;
pub mod ledger;

use crate::context::Context;
use crate::time::now_ms;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle).
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".to_owned()),
                    &[
                        0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0,
                    ],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("globallm_ingest_batch_size".to_owned()),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
                    )
                })
                .expect("bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first, in which case our handle
            // renders nothing: acceptable for embedding, never the case in the binary.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "globallm_deliveries_total",
        "Webhook deliveries received, by event and ingest outcome"
    );
    describe_counter!(
        "globallm_deliveries_processed_total",
        "Webhook deliveries processed, by event and outcome"
    );
    describe_counter!(
        "globallm_jobs_total",
        "Job attempts finished, by kind and outcome"
    );
    describe_histogram!(
        "globallm_job_duration_seconds",
        "Duration of job attempts, by kind"
    );
    describe_histogram!(
        "globallm_ingest_batch_size",
        "Deliveries stored per transaction (group commit)"
    );
    describe_gauge!("globallm_queue_depth", "Jobs in the queue, by state");
    describe_gauge!(
        "globallm_outcomes",
        "GlobalLM pull requests of the last 12 weeks, by repository, tier, language and outcome"
    );
    describe_gauge!(
        "globallm_automerge_ceiling",
        "What merges itself per repository (0 nothing, 1 LOW, 2 MEDIUM), before its own automerge"
    );
}

/// Renders every metric in the Prometheus text format, the queue depth read fresh.
pub async fn render(ctx: &Context, handle: &PrometheusHandle) -> String {
    match crate::db::jobs::depth(ctx.db.pool(), now_ms()).await {
        Ok(depth) => {
            for (state, count) in [
                ("ready", depth.ready),
                ("scheduled", depth.scheduled),
                ("running", depth.running),
                ("dead", depth.dead),
            ] {
                metrics::gauge!("globallm_queue_depth", "state" => state).set(count as f64);
            }
        }
        Err(err) => tracing::warn!("reading the queue depth for /metrics failed: {err}"),
    }
    match ledger::read(&ctx.db, &ctx.config(), now_ms()).await {
        Ok(outcomes) => ledger::export(&outcomes),
        Err(err) => tracing::warn!("reading the outcome ledger for /metrics failed: {err}"),
    }
    handle.run_upkeep();
    handle.render()
}
