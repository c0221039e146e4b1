//! Recording why a green GlobalLM pull request has not merged yet, for the ordered wait list
//! of `globallm status` and the dashboard (`db::merge_waits`): it waits for the repository's
//! merge slot (another merge is under way), a freeze, the merge window, CI on its updated
//! branch, GitHub's merge queue, or its turn (one pull request per repository between "ready"
//! and "merged", the others in order of priority). The slots themselves ([`MergeSlots`]) live
//! here too.

use super::merge::Act;
use super::render;
use crate::db::merge_waits::{self, NewWait, WaitReason};
use crate::event::Handled;
use tokio::sync::OwnedMutexGuard;

/// Records that the pull request of `act` waits for `reason`, with its head.
pub(super) async fn record(
    act: &Act<'_>,
    reason: WaitReason,
    detail: Option<&str>,
    until: Option<crate::time::Millis>,
) -> anyhow::Result<()> {
    record_for(act, act.head, reason, detail, until).await
}

/// Records that the pull request of `act` waits for `reason`, with `head`.
pub(super) async fn record_for(
    act: &Act<'_>,
    head: &str,
    reason: WaitReason,
    detail: Option<&str>,
    until: Option<crate::time::Millis>,
) -> anyhow::Result<()> {
    let repo = act.repo.to_string();
    let wait = NewWait {
        fix_id: act.fix_id,
        repo: &repo,
        head,
        reason,
        detail,
        until,
    };
    let mut tx = act.ctx.db.write().await?;
    merge_waits::set(tx.conn(), &wait, act.ctx.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

/// Takes the repository's merge slot; while another merge holds it, the pull request is on
/// the wait list for it.
pub(super) async fn hold_slot(act: &Act<'_>) -> anyhow::Result<OwnedMutexGuard<()>> {
    let repo = act.repo.to_string();
    if let Some(slot) = act.ctx.merge_slots.try_hold(&repo) {
        return Ok(slot);
    }
    record(act, WaitReason::Slot, None, None).await?;
    let slot = act.ctx.merge_slots.hold(&repo).await;
    let mut tx = act.ctx.db.write().await?;
    merge_waits::clear(tx.conn(), act.fix_id, WaitReason::Slot).await?;
    tx.commit().await?;
    Ok(slot)
}

/// One GlobalLM pull request per repository between "ready" and "merged": while another is on
/// its way (brought up to date, its CI running), this one waits its turn, says so once, and is
/// woken by [`wake_next`] in order of priority. `None` when it is this one's turn.
pub(super) async fn turn(act: &Act<'_>) -> anyhow::Result<Option<Handled>> {
    let repo = act.repo.to_string();
    let Some(ahead) = merge_waits::in_flight(act.ctx.db.pool(), &repo, act.fix_id).await? else {
        return Ok(None);
    };
    let detail = format!("after #{ahead}");
    record(act, WaitReason::Turn, Some(&detail), None).await?;
    act.say_once("turn", &render::turn(ahead)).await.map(Some)
}

/// The pull request no longer waits to merge (it waits for a maintainer, or is blocked).
pub(super) async fn forget(ctx: &crate::context::Context, fix_id: i64) -> anyhow::Result<()> {
    let mut tx = ctx.db.write().await?;
    merge_waits::forget(tx.conn(), fix_id).await?;
    tx.commit().await?;
    Ok(())
}

/// When no GlobalLM pull request of `repo` is on its way to merge, wakes the one whose turn is
/// next (the highest priority, then the longest waiting): it is judged again at once, as a CI
/// report would. `true` when one was woken.
pub async fn wake_next(ctx: &crate::context::Context, repo: &str) -> anyhow::Result<bool> {
    let pool = ctx.db.pool();
    if merge_waits::in_flight(pool, repo, -1).await?.is_some() {
        return Ok(false);
    }
    let Some((fix, head)) = merge_waits::next_turn(pool, repo).await? else {
        return Ok(false);
    };
    let now = ctx.clock.now_ms();
    let job = super::window::MergeWindowOpens {
        fix,
        head: head.clone(),
    };
    let mut new_job = crate::jobs::BackgroundJob::to_new_job(&job, &ctx.config().jobs, now);
    // Once a minute at most per head, however many merges and re-checks wake it.
    new_job.dedup_key = Some(format!("turn:{fix}@{head}:{}", now / 60_000));
    let mut tx = ctx.db.write().await?;
    crate::db::jobs::enqueue(tx.conn(), &new_job, now).await?;
    tx.commit().await?;
    ctx.jobs_added.notify_waiters();
    Ok(true)
}

/// Merges are frozen: the pull request waits, and says so once.
pub(super) async fn frozen(act: &Act<'_>, why: &str) -> anyhow::Result<Handled> {
    record(act, WaitReason::Freeze, Some(why), None).await?;
    act.say_once("frozen", &render::frozen(why)).await
}

/// One merge at a time per repository in this process: between reading the base branch's tip
/// and the merge call, no other GlobalLM merge lands there.
#[derive(Debug, Default)]
pub struct MergeSlots(
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
);

impl MergeSlots {
    /// Waits for the repository's slot.
    pub async fn hold(&self, repo: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let slot = self
            .0
            .lock()
            .expect("merge slots lock")
            .entry(repo.to_owned())
            .or_default()
            .clone();
        slot.lock_owned().await
    }

    /// The repository's slot if it is free now.
    pub fn try_hold(&self, repo: &str) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        let slot = self
            .0
            .lock()
            .expect("merge slots lock")
            .entry(repo.to_owned())
            .or_default()
            .clone();
        slot.try_lock_owned().ok()
    }
}
