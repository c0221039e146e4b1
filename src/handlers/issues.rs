//! `issues`: triage when an issue is opened, edited or reopened (or GlobalLM is re-enabled on
//! it), and record when it is closed.

use super::Handled;
use crate::automation::fix;
use crate::context::Context;
use crate::db::triage as db;
use crate::event::IssuesEvent;
use crate::event::model::{AccountKind, IssuesAction};
use crate::triage;
use anyhow::Context as _;

/// Handles an `issues` delivery.
pub async fn handle_issues(ctx: &Context, event: &IssuesEvent) -> anyhow::Result<Handled> {
    match &event.action {
        IssuesAction::Opened | IssuesAction::Edited | IssuesAction::Reopened => {
            triage_issue(ctx, event).await
        }
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
            if event.sender.kind == AccountKind::Bot {
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
                if let Some(reason) = fix::skip_reason(&event.issue, &repo_config) {
                    return Ok(Handled::Skipped(reason));
                }
                fix::enqueue(
                    ctx,
                    &fix::FixIssue {
                        installation: inst.0,
                        repo: event.repository.name.to_string(),
                        issue: event.issue.number.0,
                        requested_by: event.sender.login.clone(),
                        trigger: fix::Trigger::Label,
                    },
                )
                .await?;
                return Ok(Handled::Done);
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
    let github = ctx.github()?;
    let repo = &event.repository;
    // The delivery may be stale (a retry, a redelivery): decide on the issue as it is now.
    let issue = github
        .get_issue(inst, &repo.name, event.issue.number)
        .await
        .context("reading the issue")?;
    let issue = &issue;
    let repo_config = ctx.repo_configs.get(&github, inst, &repo.name).await;
    if let Some(reason) = triage::skip_reason(issue, &repo_config) {
        return Ok(Handled::Skipped(reason));
    }
    let linked = github
        .linked_pull_requests(inst, &repo.name, issue.number)
        .await
        .context("looking for pull requests that close the issue")?;
    if linked > 0 {
        return Ok(Handled::Skipped(
            "a pull request already addresses the issue".to_owned(),
        ));
    }
    let assessment = triage::assess(ctx, repo, issue, ctx.clock.now_ms()).await?;
    let published =
        triage::publish(ctx, &github, inst, repo, issue, &assessment, &repo_config).await?;
    tracing::info!(
        issue = issue.number.0,
        category = %assessment.categorized.category,
        priority = assessment.priority.score,
        level = assessment.priority.level.as_str(),
        labels_added = published.labels_added.len(),
        comment = published.comment,
        "issue triaged"
    );
    Ok(Handled::Done)
}
