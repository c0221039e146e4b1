//! Asking for a fix: the fix label on an issue, or `/globallm fix`. Only someone with write,
//! maintain or admin permission may ask (asked from the API for the sender); the repository's
//! settings must allow automation, the issue must be open and not already being fixed.

use super::job::{self, FixIssue, Trigger};
use crate::context::Context;
use crate::db::fixes;
use crate::event::model::{Issue, User};
use crate::github::GithubClient;
use crate::github::ids::{InstallationId, RepoName};

/// Why a request for a fix was not taken up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The sender may not ask (no write access, or a bot).
    Permission,
    /// Something else, said to the sender.
    Other(String),
}

/// Queues a fix of `issue` for `sender`, or says why not.
pub async fn ask(
    ctx: &Context,
    github: &GithubClient,
    inst: InstallationId,
    repo: &RepoName,
    issue: &Issue,
    sender: &User,
    trigger: Trigger,
) -> anyhow::Result<Result<(), Refusal>> {
    if !super::guard::may_steer(github, inst, repo, sender).await? {
        return Ok(Err(Refusal::Permission));
    }
    let settings = ctx.repo_configs.settings(github, inst, repo).await;
    if let Some(reason) = super::skip_reason(issue, &settings) {
        return Ok(Err(Refusal::Other(format!(
            "GlobalLM will not draft a fix: {reason}."
        ))));
    }
    let number = i64::try_from(issue.number.0).unwrap_or_default();
    if let Some(active) = fixes::active_for_issue(ctx.db.pool(), &repo.to_string(), number).await? {
        return Ok(Err(Refusal::Other(match active.pr_number {
            Some(pr) => format!("A GlobalLM fix is already open: #{pr}."),
            None => "GlobalLM is already drafting a fix for this issue.".to_owned(),
        })));
    }
    job::enqueue(
        ctx,
        &FixIssue {
            installation: inst.0,
            repo: repo.to_string(),
            issue: issue.number.0,
            requested_by: sender.login.clone(),
            trigger,
        },
    )
    .await?;
    Ok(Ok(()))
}
