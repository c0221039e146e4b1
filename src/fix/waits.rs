//! Recording why a green GlobalLM pull request has not merged yet, for the ordered wait list
//! of `globallm status` and the dashboard (`db::merge_waits`): it waits for the repository's
//! merge slot (another merge is under way), a freeze, the merge window, CI on its updated
//! branch, or GitHub's merge queue. The slots themselves ([`MergeSlots`]) live here too.

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
