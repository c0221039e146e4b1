//! `guard_sweep`: the post-merge guard's timed re-check (`risk.guard_recheck_secs`). CI events
//! can be lost and a merge commit may never get one; this job looks again at every merge the
//! guard still watches and every revert under way ([`crate::fix::aftermath::judge`]), so a
//! regression is noticed and a quiet merge becomes clean when its window closes. It also wakes
//! the next pull request waiting its turn to merge in a repository where the one on its way
//! gave up its turn silently (stopped, closed, pushed to by someone).

use super::scheduler::Periodic;
use super::{BackgroundJob, Done, JobError};
use crate::context::Context;
use crate::db::jobs::Job;
use crate::db::outcomes;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The most watches looked at per pass.
const PER_PASS: u32 = 500;

/// One pass over the watched merges.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GuardSweep {}

impl BackgroundJob for GuardSweep {
    const KIND: &'static str = "guard_sweep";

    async fn run(self, ctx: Arc<Context>, _job: &Job) -> Result<Done, JobError> {
        let judged = sweep(&ctx).await?;
        tracing::info!(judged, "post-merge guard re-check done");
        Ok(Done::default())
    }
}

/// Judges every open watch once; returns how many were judged. One watch's failure is logged
/// and does not stop the others.
pub async fn sweep(ctx: &Context) -> anyhow::Result<usize> {
    // A pull request on its way to merge that was stopped, closed or pushed to by someone
    // gave up its turn without saying so: the next in line is woken here.
    for repo in crate::db::merge_waits::repos_with_turns(ctx.db.pool()).await? {
        if let Err(err) = crate::fix::waits::wake_next(ctx, &repo).await {
            tracing::warn!(%repo, "could not wake the next pull request in line: {err:#}");
        }
    }
    let watches = outcomes::open_watches(ctx.db.pool(), PER_PASS).await?;
    if watches.is_empty() {
        return Ok(0);
    }
    let github = ctx.github()?;
    let mut judged = 0;
    for watch in watches {
        let (repo, fix) = (watch.repo.clone(), watch.fix_id);
        match crate::fix::aftermath::judge(ctx, &github, watch).await {
            Ok(_) => judged += 1,
            Err(err) => {
                tracing::warn!(%repo, fix, "the post-merge guard could not judge a merge: {err:#}")
            }
        }
    }
    Ok(judged)
}

/// The scheduler's entry, when the App is registered and the re-check is on.
pub fn periodic() -> Periodic {
    Periodic {
        kind: GuardSweep::KIND,
        interval: |config| {
            let secs = config.risk.guard_recheck_secs;
            (secs > 0).then(|| Duration::from_secs(secs))
        },
        job: |config| {
            let registered =
                config.github.app_id.is_some() && config.secrets.github_private_key.is_some();
            registered
                .then(|| GuardSweep::default().to_new_job(&config.jobs, crate::time::now_ms()))
        },
    }
}
