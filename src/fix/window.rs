//! Merge windows in the merge path: outside the service's `risk.automerge_schedule` or the
//! repository's `automerge_schedule` (both must be open; see [`crate::config::schedule`]), a
//! green pull request waits. It says so once, naming when the window next opens, is on the
//! wait list until then, and a job due at that minute ([`MergeWindowOpens`]) judges it again:
//! CI, the tier, and under the repository's merge slot the freeze, the window and the base
//! branch, exactly as a CI report would.

use super::merge::Act;
use super::{render, waits};
use crate::config::schedule::{self, Opening, Schedule};
use crate::context::Context;
use crate::db::fixes;
use crate::db::jobs::Job;
use crate::db::merge_waits::WaitReason;
use crate::event::Handled;
use crate::github::repo_config::RepoSettings;
use crate::jobs::{BackgroundJob, Done, JobError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// When the service's and the repository's windows are open together, from now. A schedule
/// that does not parse (both are checked when read, so only a bug gets here) never opens:
/// merges fail closed.
pub(super) fn opening(ctx: &Context, settings: &RepoSettings) -> Opening {
    let config = ctx.config();
    let service = Schedule::parse("risk.automerge_schedule", &config.risk.automerge_schedule);
    let repo = Schedule::parse("automerge_schedule", &settings.config.automerge_schedule);
    match (service, repo) {
        (Ok(service), Ok(repo)) => schedule::opening(&[&service, &repo], ctx.clock.now_ms()),
        (service, repo) => {
            tracing::error!(?service, ?repo, "a merge window that does not parse");
            Opening::Never
        }
    }
}

/// The window is closed: the pull request waits for `opening`, says so once, and is woken
/// when it opens.
pub(super) async fn wait(act: &Act<'_>, opening: Opening) -> anyhow::Result<Handled> {
    let Opening::At(at, offset) = opening else {
        waits::record(act, WaitReason::Window, None, None).await?;
        return act.say_once("window", &render::merge_window(None)).await;
    };
    let when = schedule::format_at(at, offset);
    waits::record(act, WaitReason::Window, Some(&when), Some(at)).await?;
    let ctx = act.ctx;
    let job = MergeWindowOpens {
        fix: act.fix_id,
        head: act.head.to_owned(),
    };
    let mut new_job = job.to_new_job(&ctx.config().jobs, at);
    // Once per head and opening, however many CI reports arrive before it.
    new_job.dedup_key = Some(format!(
        "{}:{}@{}:{at}",
        MergeWindowOpens::KIND,
        act.fix_id,
        act.head
    ));
    let mut tx = ctx.db.write().await?;
    crate::db::jobs::enqueue(tx.conn(), &new_job, ctx.clock.now_ms()).await?;
    tx.commit().await?;
    act.say_once("window", &render::merge_window(Some(&when)))
        .await
}

/// The merge window opens, or its turn comes, for a pull request that waited with `head`:
/// judge it again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergeWindowOpens {
    /// The fix's row id.
    pub fix: i64,
    /// The head that waited; a newer one is judged by its own CI reports.
    pub head: String,
}

impl BackgroundJob for MergeWindowOpens {
    const KIND: &'static str = "merge_window_opens";

    async fn run(self, ctx: Arc<Context>, _job: &Job) -> Result<Done, JobError> {
        let fix = fixes::get(ctx.db.pool(), self.fix)
            .await
            .map_err(|err| JobError::Retry(err.into()))?;
        let Some(fix) = fix.filter(|f| f.head_sha.as_deref() == Some(self.head.as_str())) else {
            tracing::info!(
                fix = self.fix,
                "the merge window opened (or the turn came) for a head no longer current"
            );
            return Ok(Done::default());
        };
        let github = ctx.github()?;
        let handled = super::merge::evaluate(&ctx, &github, fix).await?;
        tracing::info!(
            fix = self.fix,
            ?handled,
            "judged again: its window opened or its turn came"
        );
        Ok(Done::default())
    }
}
