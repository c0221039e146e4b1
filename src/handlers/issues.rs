//! `issues`: triage when an issue is opened, reopened, or edited in its title or body (or
//! GlobalLM is re-enabled on it), and record when it is closed.

use super::Handled;
use crate::context::Context;
use crate::db::triage as db;
use crate::event::IssuesEvent;
use crate::event::model::IssuesAction;
use crate::fix::request::{self, Refusal};
use crate::fix::{Trigger, guard, render};
use crate::github::ids::InstallationId;
use crate::triage;
use anyhow::Context as _;

/// Handles an `issues` delivery.
pub async fn handle_issues(ctx: &Context, event: &IssuesEvent) -> anyhow::Result<Handled> {
    match &event.action {
        IssuesAction::Edited => {
            // Only the title and body change a triage; the LLM is not asked again for an
            // edit that left both as they were.
            let stored = db::content_hash(
                ctx.db.pool(),
                &event.repository.name.to_string(),
                event.issue.number.as_db(),
            )
            .await?;
            if stored.is_some_and(|hash| {
                hash == triage::content_hash(&event.issue.title, &event.issue.body)
            }) {
                return Ok(Handled::Skipped(
                    "the edit changed neither the title nor the body".to_owned(),
                ));
            }
            triage_issue(ctx, event).await
        }
        IssuesAction::Opened | IssuesAction::Reopened => triage_issue(ctx, event).await,
        IssuesAction::Closed => {
            let mut tx = ctx.db.write().await?;
            let known = db::set_state(
                tx.conn(),
                &event.repository.name.to_string(),
                event.issue.number.as_db(),
                "closed",
            )
            .await?;
            tx.commit().await?;
            Ok(if known {
                Handled::Done
            } else {
                Handled::Skipped("a closed issue GlobalLM never triaged".to_owned())
            })
        }
        IssuesAction::Labeled | IssuesAction::Unlabeled => {
            if guard::is_bot(&event.sender) {
                return Ok(Handled::Skipped("a label change by a bot".to_owned()));
            }
            let Some(inst) = event.installation else {
                return Ok(Handled::Skipped(
                    "not delivered through an installation".to_owned(),
                ));
            };
            let github = ctx.github()?;
            let repo_config = ctx
                .repo_configs
                .get(&github, inst, &event.repository.name)
                .await;
            let label = event.label.as_deref().unwrap_or_default();
            if event.action == IssuesAction::Unlabeled && label == repo_config.labels.disabled {
                return triage_issue(ctx, event).await;
            }
            if event.action == IssuesAction::Labeled && label == repo_config.labels.fix {
                return fix_label(ctx, event, inst, label).await;
            }
            Ok(Handled::Skipped(format!(
                "the label `{label}` does not change the triage"
            )))
        }
        other => Ok(Handled::Skipped(format!(
            "nothing to do on `{}`",
            other.as_str()
        ))),
    }
}

/// The fix label was put on an issue: a fix is queued if the sender may ask for one; from
/// anyone else the label is taken off again, with one polite comment.
async fn fix_label(
    ctx: &Context,
    event: &IssuesEvent,
    inst: InstallationId,
    label: &str,
) -> anyhow::Result<Handled> {
    let github = ctx.github()?;
    let repo = &event.repository.name;
    match request::ask(
        ctx,
        &github,
        inst,
        repo,
        &event.issue,
        &event.sender,
        Trigger::Label,
    )
    .await?
    {
        Ok(()) => Ok(Handled::Done),
        Err(Refusal::Other(reason)) => Ok(Handled::Skipped(reason)),
        Err(Refusal::Permission) => {
            // Said once per person and issue (a label added again, a retry of this job);
            // said before the label goes, so a failure in between loses neither.
            let number = event.issue.number;
            let key = format!("fix-label-refused:{number}:{}", event.sender.login);
            let said = github
                .find_keyed(inst, repo, number, &key, None)
                .await
                .context("looking for the earlier answer")?;
            if said.is_none() {
                github
                    .create_comment(
                        inst,
                        repo,
                        number,
                        &key,
                        &render::label_refused(&event.sender.login, label),
                    )
                    .await
                    .context("saying why the label was removed")?;
            }
            let issue = github
                .get_issue(inst, repo, number)
                .await
                .context("reading the issue")?;
            if issue.labels.iter().any(|l| l == label) {
                github
                    .remove_label(inst, repo, number, label)
                    .await
                    .context("removing the fix label")?;
            }
            Ok(Handled::Skipped(format!(
                "`{label}` by @{}, who may not ask for fixes: removed",
                event.sender.login
            )))
        }
    }
}

async fn triage_issue(ctx: &Context, event: &IssuesEvent) -> anyhow::Result<Handled> {
    let Some(inst) = event.installation else {
        return Ok(Handled::Skipped(
            "not delivered through an installation".to_owned(),
        ));
    };
    if ctx.config().github.app_id.is_none() {
        return Ok(Handled::Skipped(
            "the GitHub App is not configured".to_owned(),
        ));
    }
    triage::triage_issue(ctx, inst, &event.repository, event.issue.number).await
}
