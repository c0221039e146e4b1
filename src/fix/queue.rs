//! GitHub's merge queue. When the base branch requires one (a ruleset's or branch
//! protection's "require merge queue", read through GraphQL), GlobalLM does not merge a green
//! pull request: it adds it to the queue (`enqueuePullRequest`, with the head CI judged) after
//! the same last word as a merge (settings, freeze, window, labels, head, the row), and the
//! queue tests it on top of the base and the changes ahead of it. The queue's `merge_group`
//! events keep it on the wait list; its merge is recorded from the pull request's `closed`
//! event; a removal (`dequeued`) is handled like red CI — a repair while the budget lasts,
//! then a stop — except a removal by hand, which stops automation on the pull request until
//! `/globallm resume`.

use super::ci::Failure;
use super::lifecycle::{self, Bump, Claim};
use super::merge::Act;
use super::{render, waits};
use crate::context::Context;
use crate::db::fixes::FixPr;
use crate::db::merge_waits::{self, NewWait, WaitReason};
use crate::event::model::{MergeGroupAction, PullRequest};
use crate::event::{Handled, MergeGroupEvent};
use crate::github::ids::IssueNumber;
use crate::github::repo_config::RepoSettings;
use crate::github::{GithubClient, GithubError};
use anyhow::Context as _;

/// Whether merges into `base` go through GitHub's merge queue. A GitHub that cannot answer
/// the question in GraphQL (an older GitHub Enterprise Server without `mergeQueue`) has no
/// merge queue to require: the merge call goes ahead, and GitHub itself would refuse it if
/// the branch needed the queue.
pub(super) async fn required(act: &Act<'_>, base: &str) -> anyhow::Result<bool> {
    match act
        .github
        .merge_queue_required(act.inst, act.repo, base)
        .await
    {
        Ok(required) => Ok(required),
        Err(GithubError::Validation {
            status: 200,
            message,
        }) => {
            tracing::warn!(repo = %act.repo, "GitHub does not answer whether `{base}` requires a merge queue ({message}); merging directly");
            Ok(false)
        }
        Err(err) => Err(err).context("asking whether the base branch requires a merge queue"),
    }
}

/// Adds the judged head to the merge queue, once.
pub(super) async fn enqueue(act: &Act<'_>, settings: &RepoSettings) -> anyhow::Result<Handled> {
    let now = match act.last_look(settings).await? {
        Ok(now) => now,
        Err(changed) => return Ok(Handled::Skipped(changed)),
    };
    // The merge's claim: a stop or a new head wins, and a failed call releases it.
    match lifecycle::begin_merge(act.ctx, act.fix_id, act.head).await? {
        Claim::Act => {}
        Claim::Done => {
            return Ok(Handled::Skipped(
                "this head is in the merge queue already".to_owned(),
            ));
        }
        Claim::Refused(why) => return Ok(Handled::Skipped(why)),
    }
    let added = async {
        if now.draft {
            act.github
                .mark_ready_for_review(act.inst, &now)
                .await
                .context("marking the pull request ready for review")?;
        }
        act.github
            .enqueue_pull(act.inst, &now.node_id, act.head)
            .await
            .context("adding the pull request to the merge queue")
    }
    .await;
    if let Err(err) = added {
        lifecycle::merge_failed(act.ctx, act.fix_id, act.head).await?;
        return Err(err);
    }
    let base = &now.base.branch;
    let detail = format!("GitHub's merge queue for `{base}`");
    waits::record(act, WaitReason::Queue, Some(&detail), None).await?;
    act.comment("enqueue", &render::enqueued(base)).await?;
    Ok(Handled::Done)
}

/// A merge group ending with a GlobalLM pull request: while its checks run, the pull request
/// waits for them.
pub async fn on_merge_group(
    ctx: &Context,
    fix: &FixPr,
    event: &MergeGroupEvent,
) -> anyhow::Result<Handled> {
    let Some(head) = fix.head_sha.as_deref() else {
        return Ok(Handled::Skipped("the fix has no head".to_owned()));
    };
    match &event.action {
        MergeGroupAction::ChecksRequested => {
            let detail = format!(
                "checks of merge group {} in GitHub's merge queue",
                render::short(&event.head_sha.0)
            );
            let wait = NewWait {
                fix_id: fix.id,
                repo: &fix.repo,
                head,
                reason: WaitReason::Queue,
                detail: Some(&detail),
                until: None,
            };
            let mut tx = ctx.db.write().await?;
            merge_waits::set(tx.conn(), &wait, ctx.clock.now_ms()).await?;
            tx.commit().await?;
            Ok(Handled::Done)
        }
        MergeGroupAction::Destroyed => Ok(Handled::Skipped(format!(
            "merge group destroyed ({}); the pull request's own event follows",
            event.reason.as_deref().unwrap_or("no reason given")
        ))),
        other => Ok(Handled::Skipped(format!(
            "nothing to do on `{}` of a merge group",
            other.as_str()
        ))),
    }
}

/// The merge queue removed the pull request: like red CI, unless it was taken out by hand.
pub async fn dequeued(
    ctx: &Context,
    github: &GithubClient,
    fix: FixPr,
    reason: &str,
) -> anyhow::Result<Handled> {
    let (Some(head), Some(number)) = (fix.head_sha.clone(), fix.pr_number) else {
        return Ok(Handled::Skipped("the fix has no pull request".to_owned()));
    };
    let (inst, repo) = super::target(&fix)?;
    let act = Act {
        ctx,
        github,
        inst,
        repo: &repo,
        number: IssueNumber(u64::try_from(number).unwrap_or_default()),
        head: &head,
        fix_id: fix.id,
    };
    if reason.eq_ignore_ascii_case("manual") {
        // A maintainer's decision, not a failure: automation stops until `/globallm resume`.
        let why = "taken out of the merge queue by hand";
        return match lifecycle::claim(ctx, fix.id, &head, "dequeued", Some(Bump::Stop(why))).await?
        {
            Claim::Act => {
                act.comment("dequeued", &render::dequeued_by_hand()).await?;
                Ok(Handled::Done)
            }
            Claim::Done => Ok(Handled::Skipped("already stopped on this head".to_owned())),
            Claim::Refused(why) => Ok(Handled::Skipped(why)),
        };
    }
    // The head may be judged (and queued) again after a re-run.
    lifecycle::merge_failed(ctx, fix.id, &head).await?;
    let output = format!("GitHub's merge queue removed this pull request: {reason}.");
    // Recorded as CI's verdict on the head: `/globallm retry` and a repair read it.
    lifecycle::verdict(ctx, fix.id, &head, "red", Some(&output)).await?;
    let failed = vec![Failure {
        name: "merge queue".to_owned(),
        conclusion: reason.to_ascii_lowercase(),
        output: Some(output.clone()),
        flaky: false,
        suite: None,
        run: None,
        app: None,
    }];
    super::merge::on_red(&act, &fix, failed, output).await
}

/// Whether GlobalLM put this head of the pull request in the merge queue: its merge is then
/// GlobalLM's (recorded so, and watched by the post-merge guard).
pub async fn queued_by_globallm(
    ctx: &Context,
    fix: &FixPr,
    pull: &PullRequest,
) -> anyhow::Result<bool> {
    let head = &pull.head.sha.0;
    // GlobalLM's enqueue is claimed as `merging@<head>`; a maintainer's enqueue is not.
    let claimed = fix.acted.as_deref() == Some(format!("merging@{head}").as_str());
    let queued = merge_waits::reason_of(ctx.db.pool(), fix.id, head).await?;
    Ok(claimed && queued == Some(WaitReason::Queue))
}

/// The pull request closed as merged: when GlobalLM had put this head in the merge queue,
/// the queue merged it, and it says so.
pub async fn merged_by_queue(ctx: &Context, fix: &FixPr, pull: &PullRequest) -> anyhow::Result<()> {
    let head = &pull.head.sha.0;
    if !queued_by_globallm(ctx, fix, pull).await? {
        return Ok(());
    }
    let github = ctx.github()?;
    let (inst, repo) = super::target(fix)?;
    let sha = pull.merge_sha.as_deref().unwrap_or("?");
    let tier = fix.tier.unwrap_or(super::Tier::Critical);
    github
        .create_comment(
            inst,
            &repo,
            pull.number,
            &format!("fix:{}:merged@{head}", fix.id),
            &render::merged_by_queue(sha, tier),
        )
        .await
        .context("saying the merge queue merged it")?;
    Ok(())
}
