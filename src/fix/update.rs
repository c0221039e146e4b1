//! Bringing a green pull request up to date with its base branch: when the base moved after
//! CI ran (another merge, a human push), the result of merging was never tested, so GlobalLM
//! merges the base into its own branch (a merge commit as its bot, pushed under a lease on the
//! head CI judged) and decides again once CI has run on the new head — as bors and GitHub's
//! "require branches to be up to date" do. The new head voids a `/globallm merge` approval of
//! the old one.

use super::lifecycle::{self, Bump, Claim, PushRefused};
use super::merge::Act;
use super::render;
use crate::db::merge_waits::WaitReason;
use crate::event::Handled;
use crate::solution::checkout;
use anyhow::Context as _;

/// Merges `base_branch` into the fix's `branch` and pushes it, once per head.
pub(super) async fn update_branch(
    act: &Act<'_>,
    branch: &str,
    base_branch: &str,
) -> anyhow::Result<Handled> {
    let id = act.fix_id;
    match lifecycle::claim(act.ctx, id, act.head, "update", None).await? {
        Claim::Act => {}
        Claim::Done => {
            return Ok(Handled::Skipped(
                "this head is being brought up to date already".to_owned(),
            ));
        }
        Claim::Refused(why) => return Ok(Handled::Skipped(why)),
    }
    let meta = act
        .github
        .get_repo(act.inst, act.repo)
        .await
        .context("reading the repository")?;
    let token = act
        .github
        .installation_token(act.inst)
        .await
        .context("a token for git")?;
    let url = super::clone_url(&act.ctx.config(), &meta, act.repo);
    let work = act
        .ctx
        .checkouts
        .work_tree(&act.repo.to_string(), &url, Some(&token), branch)
        .await
        .context("checking out the branch")?;
    let author = super::publish::bot_author(act.ctx).await?;
    let Some(new_head) = checkout::merge_base_branch(&work, &author, base_branch)
        .await
        .context("merging the base branch")?
    else {
        let reason = "the base branch conflicts with the fix";
        if let Claim::Act =
            lifecycle::claim(act.ctx, id, act.head, "conflicts", Some(Bump::Stop(reason))).await?
        {
            act.comment("conflicts", &render::update_conflicts(base_branch))
                .await?;
        }
        return Ok(Handled::Done);
    };
    match lifecycle::begin_push(act.ctx, id, Some(act.head), &new_head, true).await? {
        Ok(_) => {}
        Err(PushRefused::Stopped(why)) => return Ok(Handled::Skipped(why)),
        Err(PushRefused::State(state)) => {
            return Ok(Handled::Skipped(format!("the fix is {state}")));
        }
        Err(PushRefused::Moved) => {
            return Ok(Handled::Skipped(
                "the branch moved while it was brought up to date".to_owned(),
            ));
        }
    }
    if let Err(err) = checkout::push(&work, &url, Some(&token), branch, Some(act.head)).await {
        lifecycle::push_failed(act.ctx, id, &new_head, Some(act.head)).await?;
        return Err(err).context("pushing the updated branch");
    }
    super::waits::record_for(
        act,
        &new_head,
        WaitReason::Update,
        Some(&format!("CI on the branch with `{base_branch}` merged in")),
        None,
    )
    .await?;
    act.comment("update", &render::updated(base_branch, act.head, &new_head))
        .await?;
    Ok(Handled::Done)
}
