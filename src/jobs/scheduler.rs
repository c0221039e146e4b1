//! The scheduler: enqueues periodic jobs, once per time slot, and the nightly discovery by its
//! cron expression, once per night. The slot (the night) is part of the job's dedup key, so
//! neither a restart nor several ticks in one slot can enqueue a slot twice.

use super::{BackgroundJob, CatchUp, NightlyDiscovery};
use crate::config::Config;
use crate::context::Context;
use crate::db::jobs::{self, NewJob};
use crate::time::Millis;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the scheduler looks at its entries.
const TICK: Duration = Duration::from_secs(15);
/// Dedup keys of periodic jobs are forgotten after this long.
const KEEP_KEYS_MS: Millis = 30 * 24 * 60 * 60 * 1000;

/// A job enqueued every `interval`.
#[derive(Debug, Clone, Copy)]
pub struct Periodic {
    /// The job's kind, the first half of its dedup key.
    pub kind: &'static str,
    /// Its interval under a configuration; `None` when it is off.
    pub interval: fn(&Config) -> Option<Duration>,
    /// The job, when it should run under a configuration.
    pub job: fn(&Config) -> Option<NewJob>,
}

/// Every periodic job.
pub fn entries() -> Vec<Periodic> {
    let mut entries = vec![Periodic {
        kind: CatchUp::KIND,
        interval: |config| {
            let secs = config.github.catch_up_interval_secs;
            (secs > 0).then(|| Duration::from_secs(secs))
        },
        job: |config| {
            let registered =
                config.github.app_id.is_some() && config.secrets.github_private_key.is_some();
            registered.then(|| CatchUp::default().to_new_job(&config.jobs, crate::time::now_ms()))
        },
    }];
    entries.push(super::prune::periodic());
    entries.push(super::guard_sweep::periodic());
    entries
}

/// Enqueues every entry whose current slot has no job yet; returns how many were enqueued.
pub async fn tick(ctx: &Context, entries: &[Periodic], now: Millis) -> anyhow::Result<usize> {
    let config = ctx.config();
    let mut enqueued = 0;
    let mut tx = ctx.db.write().await?;
    for entry in entries {
        let (Some(interval), Some(mut job)) = ((entry.interval)(&config), (entry.job)(&config))
        else {
            continue;
        };
        let slot = now / i64::try_from(interval.as_millis().max(1)).unwrap_or(i64::MAX);
        job.dedup_key = Some(format!("{}:{slot}", entry.kind));
        job.run_at = now;
        if jobs::enqueue(tx.conn(), &job, now).await?.is_some() {
            enqueued += 1;
        }
    }
    jobs::forget_dedup_keys_before(tx.conn(), now - KEEP_KEYS_MS).await?;
    tx.commit().await?;
    if enqueued > 0 {
        ctx.jobs_added.notify_one();
    }
    Ok(enqueued)
}

/// Enqueues the nightly discovery when its latest slot's night has no run yet (at the slot,
/// or at start when the last run is more than a day old); the night is the dedup key.
/// Only when the App is registered: discovery searches as one of its installations.
pub async fn enqueue_nightly_discovery(
    ctx: &Context,
    config: &Config,
    now: Millis,
) -> anyhow::Result<bool> {
    if config.github.app_id.is_none() || config.secrets.github_private_key.is_none() {
        return Ok(false);
    }
    let Some(night) =
        super::nightly_discovery::due_night(ctx.db.pool(), &config.discovery.schedule, now).await?
    else {
        return Ok(false);
    };
    let mut job = NightlyDiscovery {
        night: night.clone(),
    }
    .to_new_job(&config.jobs, now);
    job.dedup_key = Some(format!("{}:{night}", NightlyDiscovery::KIND));
    let mut tx = ctx.db.write().await?;
    let enqueued = jobs::enqueue(tx.conn(), &job, now).await?.is_some();
    tx.commit().await?;
    if enqueued {
        tracing::info!(%night, "nightly discovery enqueued");
    }
    Ok(enqueued)
}

/// Ticks until `stop`.
pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let entries = entries();
    loop {
        let now = ctx.clock.now_ms();
        if let Err(err) = tick(&ctx, &entries, now).await {
            tracing::warn!("the scheduler could not enqueue its jobs: {err:#}");
        }
        match enqueue_nightly_discovery(&ctx, &ctx.config(), now).await {
            Ok(true) => ctx.jobs_added.notify_one(),
            Ok(false) => {}
            Err(err) => tracing::warn!("the scheduler could not enqueue discovery: {err:#}"),
        }
        tokio::select! {
            () = tokio::time::sleep(TICK) => {}
            () = stop.cancelled() => return,
        }
    }
}
