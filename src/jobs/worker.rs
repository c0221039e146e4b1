//! The worker pool: each worker claims a job, runs it under a renewed lease with panics caught
//! and a deadline (`jobs.max_run_secs`: past it the attempt is stopped, its lease no longer
//! renewed, and the job dead-lettered saying so), then deletes it, schedules a retry with
//! exponential backoff and jitter, or dead-letters it. Due times and leases are read on the
//! context's clock (the system clock in production), so a test that moves its clock forward
//! wakes the jobs scheduled for then.

use super::{Done, JobError, Registry};
use crate::config::JobsConfig;
use crate::context::Context;
use crate::db::deliveries::{self, Outcome};
use crate::db::jobs::{self, Job};
use crate::time::Millis;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How the pool is told to stop.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    /// Cancelled first: workers claim nothing new and finish the job they hold.
    pub stop_claiming: CancellationToken,
    /// Cancelled when the shutdown deadline passes: running jobs are abandoned and handed back
    /// to the queue, to be claimed again at the next start.
    pub abandon: CancellationToken,
}

/// Starts `workers` workers; the returned set finishes once they all stopped.
pub fn start(
    ctx: Arc<Context>,
    registry: Arc<Registry>,
    workers: u32,
    shutdown: Shutdown,
) -> JoinSet<()> {
    let pool_id = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let mut set = JoinSet::new();
    for n in 0..workers {
        let worker = Worker {
            id: format!("{pool_id}-{n}"),
            ctx: ctx.clone(),
            registry: registry.clone(),
            shutdown: shutdown.clone(),
        };
        set.spawn(worker.run());
    }
    set
}

/// Runs every job that is due, one after the other, until none is left; returns how many
/// ran. Tests drain the queue this way, deterministically.
pub async fn drain(ctx: Arc<Context>, registry: Arc<Registry>) -> usize {
    let worker = Worker {
        id: "drain".to_owned(),
        ctx,
        registry,
        shutdown: Shutdown::default(),
    };
    let mut ran = 0;
    loop {
        let config = worker.ctx.config().jobs.clone();
        match worker.claim(&config).await {
            Ok(Some(job)) => {
                worker.run_job(job, &config).await;
                ran += 1;
            }
            Ok(None) => return ran,
            Err(err) => {
                tracing::error!("claiming a job failed: {err:#}");
                return ran;
            }
        }
    }
}

struct Worker {
    id: String,
    ctx: Arc<Context>,
    registry: Arc<Registry>,
    shutdown: Shutdown,
}

impl Worker {
    async fn run(self) {
        tracing::debug!(worker = %self.id, "worker started");
        while !self.shutdown.stop_claiming.is_cancelled() {
            // Listen before looking, so a job added between the look and the wait still wakes us.
            let added = self.ctx.jobs_added.notified();
            tokio::pin!(added);
            added.as_mut().enable();
            let config = self.ctx.config().jobs.clone();
            match self.claim(&config).await {
                Ok(Some(job)) => self.run_job(job, &config).await,
                Ok(None) => {
                    tokio::select! {
                        () = added => {}
                        () = tokio::time::sleep(Duration::from_millis(config.poll_interval_ms)) => {}
                        () = self.shutdown.stop_claiming.cancelled() => {}
                    }
                }
                Err(err) => {
                    tracing::error!(worker = %self.id, "claiming a job failed: {err:#}");
                    tokio::time::sleep(Duration::from_millis(config.poll_interval_ms)).await;
                }
            }
        }
        tracing::debug!(worker = %self.id, "worker stopped");
    }

    async fn claim(&self, config: &JobsConfig) -> anyhow::Result<Option<Job>> {
        let mut conn = self.ctx.db.write_conn().await?;
        let lease_ms = secs_to_ms(config.lease_secs);
        Ok(jobs::claim(conn.conn(), &self.id, self.ctx.clock.now_ms(), lease_ms).await?)
    }

    async fn run_job(&self, job: Job, config: &JobsConfig) {
        let span =
            tracing::info_span!("job", job = job.id, kind = %job.kind, attempt = job.attempts);
        async {
            if job.attempts > job.max_attempts {
                let error = format!(
                    "gave up after {} attempts: the last one's worker stopped without finishing \
                     (its lease expired)",
                    job.max_attempts
                );
                self.finish(&job, Err(JobError::Permanent(anyhow::anyhow!(error))), config)
                    .await;
                return;
            }
            let Some(runner) = self.registry.runner(&job.kind).cloned() else {
                let error = anyhow::anyhow!(
                    "no job kind `{}` in this version of GlobalLM (enqueued by another version?)",
                    job.kind
                );
                self.finish(&job, Err(JobError::Permanent(error)), config).await;
                return;
            };
            let started = Instant::now();
            let mut task = tokio::spawn(runner(self.ctx.clone(), job.clone()).in_current_span());
            let renew_every = Duration::from_millis((secs_to_ms(config.lease_secs) / 3).max(1) as u64);
            let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + renew_every, renew_every);
            let max_run_secs = self.registry.max_run_secs(&job.kind, config);
            let deadline = tokio::time::sleep(Duration::from_secs(max_run_secs));
            tokio::pin!(deadline);
            let mut timed_out = false;
            let result = loop {
                tokio::select! {
                    joined = &mut task => break match joined {
                        Ok(result) => result,
                        Err(err) if err.is_panic() => Err(JobError::Retry(anyhow::anyhow!(
                            "the job panicked: {}", panic_message(err.into_panic())
                        ))),
                        Err(err) => Err(JobError::Retry(anyhow::anyhow!("the job was cancelled: {err}"))),
                    },
                    _ = renew.tick() => self.renew_lease(&job, config).await,
                    () = &mut deadline => {
                        // A job this slow is stuck (or its work is unbounded): running it
                        // again would hold a worker as long, so it is not retried.
                        task.abort();
                        timed_out = true;
                        break Err(JobError::Permanent(anyhow::anyhow!(
                            "stopped after {max_run_secs}s: the job ran longer than \
                             jobs.max_run_secs allows"
                        )));
                    }
                    () = self.shutdown.abandon.cancelled() => {
                        task.abort();
                        self.release(&job).await;
                        return;
                    }
                }
            };
            metrics::histogram!("globallm_job_duration_seconds", "kind" => job.kind.clone())
                .record(started.elapsed().as_secs_f64());
            self.finish(&job, result, config).await;
            if timed_out {
                self.registry.stopped(self.ctx.clone(), job.clone()).await;
            }
        }
        .instrument(span)
        .await;
    }

    async fn renew_lease(&self, job: &Job, config: &JobsConfig) {
        let until = self.ctx.clock.now_ms() + secs_to_ms(config.lease_secs);
        let renewed = async {
            let mut conn = self.ctx.db.write_conn().await?;
            anyhow::Ok(jobs::extend_lease(conn.conn(), job.id, &self.id, until).await?)
        };
        match renewed.await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("lost the job's lease; another worker may run it too"),
            Err(err) => tracing::warn!("renewing the job's lease failed: {err:#}"),
        }
    }

    async fn release(&self, job: &Job) {
        tracing::warn!("shutdown deadline passed; handing the job back to the queue");
        let released = async {
            let mut conn = self.ctx.db.write_conn().await?;
            anyhow::Ok(jobs::release(conn.conn(), job.id, &self.id, self.ctx.clock.now_ms()).await?)
        };
        if let Err(err) = released.await {
            tracing::error!(
                "handing the job back failed (it is claimed again once its lease expires): {err:#}"
            );
        }
    }

    async fn finish(&self, job: &Job, result: Result<Done, JobError>, config: &JobsConfig) {
        let outcome = match &result {
            Ok(_) => "succeeded",
            Err(JobError::Retry(_)) if job.attempts < job.max_attempts => "retried",
            Err(_) => "dead",
        };
        let recorded = async {
            let now = self.ctx.clock.now_ms();
            match &result {
                Ok(done) => {
                    // Two statements, no transaction: the delivery's outcome first, then the
                    // job. A crash between them leaves the job to run again, which finds the
                    // delivery done and only deletes the job.
                    let mut conn = self.ctx.db.write_conn().await?;
                    if let (Some((outcome, note)), Some(delivery)) =
                        (&done.delivery, job.delivery_id)
                    {
                        deliveries::set_outcome(
                            conn.conn(),
                            delivery,
                            *outcome,
                            note.as_deref(),
                            now,
                        )
                        .await?;
                    }
                    if !jobs::complete(conn.conn(), jobs::Holder::of(job, &self.id)).await? {
                        tracing::warn!(
                            "the job was taken over by another worker before it finished"
                        );
                    }
                }
                Err(err) => {
                    let message = format!("{err:#}");
                    let retry_at =
                        (outcome == "retried").then(|| now + backoff_ms(config, job.attempts));
                    let mut tx = self.ctx.db.write().await?;
                    let held = jobs::fail(
                        tx.conn(),
                        jobs::Holder::of(job, &self.id),
                        &message,
                        retry_at,
                        now,
                    )
                    .await?;
                    if !held {
                        tracing::warn!(
                            "the job was taken over by another worker; its attempt is not recorded"
                        );
                    }
                    if held
                        && retry_at.is_none()
                        && let Some(delivery) = job.delivery_id
                    {
                        deliveries::set_outcome(
                            tx.conn(),
                            delivery,
                            Outcome::Failed,
                            Some(&message),
                            now,
                        )
                        .await?;
                    }
                    tx.commit().await?;
                }
            }
            anyhow::Ok(())
        };
        if let Err(err) = recorded.await {
            tracing::error!(
                "recording the job's result failed (it runs again once its lease expires): {err:#}"
            );
            return;
        }
        metrics::counter!("globallm_jobs_total", "kind" => job.kind.clone(), "outcome" => outcome)
            .increment(1);
        match result {
            Ok(_) => tracing::debug!("job succeeded"),
            Err(err) if outcome == "retried" => {
                tracing::warn!(
                    max_attempts = job.max_attempts,
                    "job failed; will retry: {err:#}"
                );
            }
            Err(err) => tracing::error!("job dead-lettered: {err:#}"),
        }
    }
}

fn secs_to_ms(secs: u64) -> Millis {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// The delay before the attempt after `attempts` failed ones: the base doubled per failure,
/// capped, then drawn uniformly from its upper half so that jobs failing together spread out.
pub fn backoff_ms(config: &JobsConfig, attempts: i64) -> Millis {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let delay = secs_to_ms(config.backoff_base_secs)
        .saturating_mul(1_i64 << exponent)
        .min(secs_to_ms(config.backoff_max_secs));
    delay / 2 + fastrand::i64(0..=delay / 2)
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let config = JobsConfig {
            backoff_base_secs: 10,
            backoff_max_secs: 60,
            ..JobsConfig::default()
        };
        for _ in 0..100 {
            let first = backoff_ms(&config, 1);
            assert!((5_000..=10_000).contains(&first), "{first}");
            let third = backoff_ms(&config, 3);
            assert!((20_000..=40_000).contains(&third), "{third}");
            let capped = backoff_ms(&config, 50);
            assert!((30_000..=60_000).contains(&capped), "{capped}");
        }
    }
}
