//! `pull_request`: on GlobalLM's own pull requests, a push by someone else stops all
//! automation, a new head of its own is judged, a merge or a close is recorded (and a revert
//! of a merged one counted), a removal from the merge queue is handled like red CI; on any pull request that changes `.github/globallm.yml`, a check
//! run says whether the new file is valid, and exactly what is wrong when it is not.

use super::Handled;
use crate::context::Context;
use crate::db::fixes;
use crate::event::PullRequestEvent;
use crate::event::model::PullRequestAction;
use crate::fix::{FixState, lifecycle, merge};
use crate::github::model::{CheckRunOutput, NewCheckRun};
use crate::github::repo_config::{self, CONFIG_CHECK, RepoConfig};
use anyhow::Context as _;

/// Handles a `pull_request` delivery.
pub async fn handle_pull_request(
    ctx: &Context,
    event: &PullRequestEvent,
) -> anyhow::Result<Handled> {
    let fix = fix_pull_request(ctx, event).await?;
    let config = check_config(ctx, event).await?;
    Ok(match (fix, config) {
        (Handled::Skipped(a), Handled::Skipped(b)) => Handled::Skipped(format!("{a}; {b}")),
        _ => Handled::Done,
    })
}

/// What a `pull_request` event means for a GlobalLM pull request (or for one it reverts).
async fn fix_pull_request(ctx: &Context, event: &PullRequestEvent) -> anyhow::Result<Handled> {
    let repo = event.repository.name.to_string();
    let pull = &event.pull_request;
    let number = i64::try_from(pull.number.0).unwrap_or_default();
    let Some(fix) = fixes::for_pull_request(ctx.db.pool(), &repo, number).await? else {
        if event.action == PullRequestAction::Closed && pull.merged {
            return record_revert(ctx, &repo, &pull.body, &event.sender.login).await;
        }
        return Ok(Handled::Skipped("not a GlobalLM pull request".to_owned()));
    };
    if event.installation.is_none() || ctx.config().github.app_id.is_none() {
        return Ok(Handled::Skipped(
            "not delivered through a configured installation".to_owned(),
        ));
    }
    match &event.action {
        PullRequestAction::Closed => {
            let changed = if pull.merged {
                // A merge by GitHub's merge queue of a head GlobalLM enqueued is GlobalLM's:
                // recorded so, and watched like its own merges.
                let queued = crate::fix::queue::queued_by_globallm(ctx, &fix, pull).await?;
                let by = if queued {
                    crate::fix::aftermath::GLOBALLM.to_owned()
                } else {
                    merger(ctx, &event.sender.login).await?
                };
                if let (true, Some(sha)) = (queued, pull.merge_sha.as_deref()) {
                    let github = ctx.github()?;
                    crate::fix::aftermath::watch(ctx, &github, &fix, &pull.base.branch, sha, None)
                        .await?;
                }
                lifecycle::merged(ctx, fix.id, pull.merge_sha.as_deref(), &by).await?
            } else {
                lifecycle::closed(ctx, fix.id).await?
            };
            // A merged or closed pull request gives up its turn: the next in line goes.
            crate::fix::waits::wake_next(ctx, &repo).await?;
            if !changed {
                return Ok(Handled::Skipped(format!("already {}", fix.state)));
            }
            if pull.merged {
                let tier = fix.tier.unwrap_or(crate::fix::Tier::Critical).as_str();
                metrics::counter!("globallm_prs_total", "tier" => tier, "event" => "merged")
                    .increment(1);
                crate::fix::queue::merged_by_queue(ctx, &fix, pull).await?;
            }
            Ok(Handled::Done)
        }
        PullRequestAction::Dequeued => {
            let github = ctx.github()?;
            let reason = event.reason.as_deref().unwrap_or("no reason given");
            crate::fix::queue::dequeued(ctx, &github, fix, reason).await
        }
        PullRequestAction::Synchronize => {
            let github = ctx.github()?;
            let head = event
                .after
                .as_ref()
                .map_or(pull.head.sha.0.as_str(), |a| a.0.as_str());
            let ours = event.sender.login == ctx.bot_login().await?;
            if !ours && fix.head_sha.as_deref() != Some(head) && fix.state == FixState::Open {
                return merge::stop_for_human_push(ctx, &github, &fix, head).await;
            }
            merge::evaluate(ctx, &github, fix).await
        }
        PullRequestAction::Unlabeled | PullRequestAction::ReadyForReview => {
            let github = ctx.github()?;
            merge::evaluate(ctx, &github, fix).await
        }
        other => Ok(Handled::Skipped(format!(
            "nothing to do on `{}` of a GlobalLM pull request",
            other.as_str()
        ))),
    }
}

/// A merged pull request that reverts a merged GlobalLM one (GitHub's "Revert" button writes
/// `Reverts owner/repo#N`) is counted, by the reverted one's tier.
async fn record_revert(
    ctx: &Context,
    repo: &str,
    body: &str,
    sender: &str,
) -> anyhow::Result<Handled> {
    let marker = format!("Reverts {repo}#");
    let Some(number) = body
        .find(&marker)
        .map(|at| &body[at + marker.len()..])
        .and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<i64>().ok()
        })
    else {
        return Ok(Handled::Skipped("not a GlobalLM pull request".to_owned()));
    };
    let Some(reverted) = fixes::for_pull_request(ctx.db.pool(), repo, number).await? else {
        return Ok(Handled::Skipped(format!(
            "reverts #{number}, not GlobalLM's"
        )));
    };
    let by = merger(ctx, sender).await?;
    crate::fix::aftermath::revert_merged(ctx, reverted.id).await?;
    if !lifecycle::reverted(ctx, reverted.id, &by).await? {
        return Ok(Handled::Skipped(format!(
            "#{number} was not a merged, unreverted fix"
        )));
    }
    let tier = reverted.tier.unwrap_or(crate::fix::Tier::Critical).as_str();
    metrics::counter!("globallm_prs_total", "tier" => tier, "event" => "reverted").increment(1);
    Ok(Handled::Done)
}

/// Who merged, as the ledger names them: `globallm` for the App's own bot.
async fn merger(ctx: &Context, sender: &str) -> anyhow::Result<String> {
    Ok(if sender == ctx.bot_login().await? {
        crate::fix::aftermath::GLOBALLM.to_owned()
    } else {
        sender.to_owned()
    })
}

/// Checks a changed `.github/globallm.yml`.
async fn check_config(ctx: &Context, event: &PullRequestEvent) -> anyhow::Result<Handled> {
    if !matches!(
        event.action,
        PullRequestAction::Opened | PullRequestAction::Synchronize | PullRequestAction::Reopened
    ) {
        return Ok(Handled::Skipped(format!(
            "nothing to do on `{}`",
            event.action.as_str()
        )));
    }
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
    let repo = &event.repository.name;
    let pull = &event.pull_request;
    let files = github
        .pull_files(inst, repo, pull.number)
        .await
        .context("listing the pull request's files")?;
    if !files.iter().any(|f| f.filename == repo_config::PATH) {
        return Ok(Handled::Skipped(format!(
            "does not change {}",
            repo_config::PATH
        )));
    }
    let sha = &pull.head.sha.0;
    let runs = github
        .check_runs(inst, repo, sha)
        .await
        .context("listing check runs")?;
    if runs.iter().any(|r| r.name == CONFIG_CHECK) {
        return Ok(Handled::Skipped(format!(
            "{CONFIG_CHECK} already reported on {sha}"
        )));
    }
    let file = github
        .get_file(inst, repo, repo_config::PATH, Some(sha))
        .await
        .context("reading the new config file")?;
    let (conclusion, title, summary) = match file {
        None => (
            "success",
            "removed: the defaults apply".to_owned(),
            "GlobalLM will use its defaults here.".to_owned(),
        ),
        Some(file) => match RepoConfig::parse(&String::from_utf8_lossy(&file.content)) {
            Ok(_) => (
                "success",
                format!("{} is valid", repo_config::PATH),
                "GlobalLM will use this configuration once it is merged.".to_owned(),
            ),
            Err(problems) => (
                "failure",
                format!("{} is invalid", repo_config::PATH),
                format!(
                    "GlobalLM would ignore this file and keep its last valid configuration:\n\n{}",
                    problems
                        .iter()
                        .map(|p| format!("- {p}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            ),
        },
    };
    let run = NewCheckRun {
        name: CONFIG_CHECK.to_owned(),
        head_sha: sha.clone(),
        status: "completed".to_owned(),
        conclusion: Some(conclusion.to_owned()),
        output: CheckRunOutput { title, summary },
    };
    github
        .create_check_run(inst, repo, &run)
        .await
        .context("reporting the config check")?;
    Ok(Handled::Done)
}
