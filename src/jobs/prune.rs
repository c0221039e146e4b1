//! `prune`: once a day (the scheduler keys it by the UTC day), deletes history older than
//! `storage.retention_days` — finished deliveries no job refers to, dead jobs, command runs,
//! redelivery requests, closed budget windows, old discovery runs — in batches of [`BATCH`]
//! rows, each batch its own short write transaction, so deliveries arriving meanwhile wait
//! for one batch at most. Freed pages are reused by SQLite for new rows.

use super::scheduler::Periodic;
use super::{BackgroundJob, Done, JobError};
use crate::context::Context;
use crate::db::jobs::Job;
use crate::db::{Db, WriteTx, retention};
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Rows deleted per transaction.
pub const BATCH: i64 = 500;
const DAY_MS: Millis = 24 * 60 * 60 * 1000;
/// A budget window's length; only windows that ended before the cutoff are pruned.
const WEEK_MS: Millis = 7 * DAY_MS;

/// One day's pruning.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Prune {}

/// What one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Finished deliveries.
    pub deliveries: u64,
    /// Dead-lettered jobs.
    pub dead_jobs: u64,
    /// Command runs.
    pub command_runs: u64,
    /// Redelivery requests.
    pub redelivery_requests: u64,
    /// Budget ledger, reservation and usage rows.
    pub budget_rows: u64,
    /// Discovery runs (with their windows, candidates, repositories and snapshots).
    pub discovery_runs: u64,
}

impl BackgroundJob for Prune {
    const KIND: &'static str = "prune";

    async fn run(self, ctx: Arc<Context>, _job: &Job) -> Result<Done, JobError> {
        let retention_days = ctx.config().storage.retention_days;
        let report = prune(&ctx.db, retention_days, ctx.clock.now_ms()).await?;
        tracing::info!(
            retention_days,
            deliveries = report.deliveries,
            dead_jobs = report.dead_jobs,
            command_runs = report.command_runs,
            redelivery_requests = report.redelivery_requests,
            budget_rows = report.budget_rows,
            discovery_runs = report.discovery_runs,
            "history older than the retention pruned"
        );
        Ok(Done::default())
    }
}

/// The scheduler's entry: one `prune` per UTC day.
pub fn periodic() -> Periodic {
    Periodic {
        kind: Prune::KIND,
        interval: |_| Some(Duration::from_secs(24 * 60 * 60)),
        job: |config| Some(Prune::default().to_new_job(&config.jobs, crate::time::now_ms())),
    }
}

/// Deletes what is older than `retention_days` before `now`; see the module's doc.
pub async fn prune(db: &Db, retention_days: u32, now: Millis) -> anyhow::Result<PruneReport> {
    let cutoff = now - i64::from(retention_days) * DAY_MS;
    let mut report = PruneReport {
        // Dead jobs first: a delivery they referred to may go in the same pass.
        dead_jobs: batches(db, |tx| {
            Box::pin(retention::prune_dead_jobs(tx, cutoff, BATCH))
        })
        .await?,
        ..PruneReport::default()
    };
    report.deliveries = batches(db, |tx| {
        Box::pin(retention::prune_deliveries(tx, cutoff, BATCH))
    })
    .await?;
    report.command_runs = batches(db, |tx| {
        Box::pin(retention::prune_command_runs(tx, cutoff, BATCH))
    })
    .await?;
    report.redelivery_requests = batches(db, |tx| {
        Box::pin(retention::prune_redelivery_requests(tx, cutoff, BATCH))
    })
    .await?;
    report.budget_rows = batches(db, |tx| {
        Box::pin(retention::prune_budget_windows(tx, cutoff - WEEK_MS, BATCH))
    })
    .await?;
    let runs = {
        let mut tx = db.write().await?;
        let runs = retention::prunable_discovery_runs(tx.conn(), cutoff).await?;
        tx.commit().await?;
        runs
    };
    for run in runs {
        batches(db, |tx| {
            Box::pin(retention::prune_discovery_run(tx, run, BATCH))
        })
        .await?;
        report.discovery_runs += 1;
    }
    Ok(report)
}

type Batch<'a> = std::pin::Pin<Box<dyn Future<Output = sqlx::Result<u64>> + Send + 'a>>;

/// Runs `step` in its own write transaction until it deletes nothing; returns the total.
async fn batches<F>(db: &Db, step: F) -> anyhow::Result<u64>
where
    F: for<'a> Fn(&'a mut crate::db::Conn) -> Batch<'a>,
{
    let mut total = 0;
    loop {
        let mut tx: WriteTx = db.write().await?;
        let deleted = step(tx.conn()).await?;
        tx.commit().await?;
        total += deleted;
        if deleted == 0 {
            return Ok(total);
        }
        // Let other writers (the delivery writer first) take the lock between batches.
        tokio::task::yield_now().await;
    }
}
