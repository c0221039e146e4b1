//! The commands about a GlobalLM pull request — `retry`, `stop`, `resume`, `merge`, `explain` —
//! as transitions of the lifecycle. The caller (the `issue_comment` handler) has checked the
//! sender's permission; the reply it posts is built here.

use super::job::{self, FixIssue, Trigger};
use super::lifecycle::{self, Stop};
use super::state::{FixState, Tier};
use crate::command::Command;
use crate::context::Context;
use crate::db::fixes::{self, FixPr};
use crate::event::Handled;
use crate::github::GithubClient;
use crate::github::ids::{InstallationId, IssueNumber, RepoName};
use anyhow::Context as _;

/// A reply to a command, and whether it succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// What GlobalLM answers (Markdown).
    pub text: String,
    /// Whether the command did what it asked.
    pub ok: bool,
}

impl Reply {
    fn ok(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ok: true,
        }
    }

    fn refused(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ok: false,
        }
    }
}

/// Carries out `command` on pull request `number` of `repo` (`is_pull_request`: the comment is
/// on a pull request), given by `sender`.
pub async fn on_pull_request(
    ctx: &Context,
    github: &GithubClient,
    inst: InstallationId,
    repo: &RepoName,
    (number, is_pull_request): (IssueNumber, bool),
    sender: &str,
    command: Command,
) -> anyhow::Result<Reply> {
    let found = if is_pull_request {
        fixes::for_pull_request(
            ctx.db.pool(),
            &repo.to_string(),
            i64::try_from(number.0).unwrap_or_default(),
        )
        .await?
    } else {
        None
    };
    let Some(fix) = found else {
        return Ok(Reply::refused(format!(
            "`/globallm {}` works on pull requests GlobalLM opened; this is not one.",
            command.verb()
        )));
    };
    match command {
        Command::Explain => Ok(Reply::ok(explain(ctx, github, inst, repo, &fix).await)),
        _ if fix.state != FixState::Open => Ok(Reply::refused(format!(
            "This pull request is {}: there is nothing left to automate.",
            fix.state
        ))),
        Command::Stop => {
            let reason = format!("`/globallm stop` by @{sender}");
            Ok(match lifecycle::stop(ctx, fix.id, &reason).await? {
                Stop::Now => Reply::ok(
                    "Stopped: GlobalLM will not push, re-run or merge this pull request until `/globallm resume`.",
                ),
                Stop::Already => Reply::ok("Automation was already stopped here."),
                Stop::Over(state) => Reply::refused(format!(
                    "This pull request is {state}: there is nothing left to automate."
                )),
            })
        }
        Command::Resume => {
            let fix = lifecycle::resume(ctx, fix.id).await?;
            let outcome = super::merge::evaluate(ctx, github, fix).await?;
            Ok(Reply::ok(format!("Resumed. {}", outcome_text(&outcome))))
        }
        Command::Merge => merge(ctx, github, inst, repo, number, sender, fix).await,
        Command::Retry { feedback } => {
            let mut text = feedback.trim().to_owned();
            if let Some(ci) = fix.ci_output.as_deref() {
                text.push_str(&format!("\n\nThe last CI failure:\n{ci}"));
            }
            // A maintainer's retry resumes automation now; a stop after it wins again.
            lifecycle::resume(ctx, fix.id).await?;
            job::enqueue(
                ctx,
                &FixIssue {
                    installation: inst.0,
                    repo: repo.to_string(),
                    issue: u64::try_from(fix.issue).unwrap_or_default(),
                    requested_by: sender.to_owned(),
                    trigger: Trigger::Retry { feedback: text },
                },
            )
            .await?;
            Ok(Reply::ok(
                "On it: GlobalLM is drafting a new version with your feedback.",
            ))
        }
        Command::Fix | Command::Help => Ok(Reply::ok(crate::command::help_text(|_| true))),
    }
}

/// `/globallm merge`: approves the head as it is now — and only that head.
async fn merge(
    ctx: &Context,
    github: &GithubClient,
    inst: InstallationId,
    repo: &RepoName,
    number: IssueNumber,
    sender: &str,
    fix: FixPr,
) -> anyhow::Result<Reply> {
    if fix.tier.is_none_or(|t| t == Tier::Critical) {
        return Ok(Reply::refused(
            "This change is **CRITICAL**: GlobalLM never merges it, not even on command. A maintainer can review and merge it by hand.",
        ));
    }
    if fix.stopped {
        return Ok(Reply::refused(
            "Automation is stopped here; `/globallm resume` first.",
        ));
    }
    let pull = github
        .get_pull(inst, repo, number)
        .await
        .context("reading the pull request")?;
    let head = pull.head.sha.0;
    if fix.head_sha.as_deref() != Some(head.as_str()) {
        return Ok(Reply::refused(
            "Someone else pushed to this branch, so GlobalLM does not automate it any more.",
        ));
    }
    lifecycle::approve_merge(ctx, fix.id, &head, sender).await?;
    let fix = fixes::get(ctx.db.pool(), fix.id)
        .await?
        .context("the approved fix")?;
    let id = fix.id;
    let outcome = super::merge::evaluate(ctx, github, fix).await?;
    let now = fixes::get(ctx.db.pool(), id).await?;
    Ok(if now.is_some_and(|f| f.state == FixState::Merged) {
        Reply::ok("Merged.")
    } else {
        Reply::ok(format!(
            "Approved {}: it merges once CI is green on this commit. A new push voids the approval. {}",
            super::render::short(&head),
            outcome_text(&outcome)
        ))
    })
}

fn outcome_text(outcome: &Handled) -> String {
    match outcome {
        Handled::Done => "CI was judged and acted on.".to_owned(),
        Handled::Skipped(why) => format!("Nothing to do yet: {why}."),
    }
}

/// `/globallm explain` on a GlobalLM pull request: its tier (of the whole branch, as last
/// computed) and why, what the ceiling lets it do, the approval, CI and its state.
async fn explain(
    ctx: &Context,
    github: &GithubClient,
    inst: InstallationId,
    repo: &RepoName,
    fix: &FixPr,
) -> String {
    let tier = fix.tier.unwrap_or(Tier::Critical);
    let reasons: Vec<String> = fix
        .risk_reasons
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    let settings = ctx.repo_configs.settings(github, inst, repo).await;
    let ceiling = match super::autonomy::ceiling(ctx, &fix.repo, &settings.config).await {
        Ok(ceiling) => ceiling,
        Err(err) => {
            tracing::warn!(%repo, "could not read the earned ceiling: {err:#}");
            super::autonomy::of(&ctx.config().risk, &settings.config, &[])
        }
    };
    let explained = ceiling.explain();
    let ceiling = ceiling.effective;
    let mut text = format!(
        "**Risk: {tier}** — {} (issue category {}, complexity {}/10; computed from the whole branch{})\n\n",
        super::risk::action(tier, ceiling),
        fix.category.as_deref().unwrap_or("unknown"),
        fix.complexity.map_or("?".to_owned(), |c| c.to_string()),
        fix.tier_head
            .as_deref()
            .map(|h| format!(" at {}", super::render::short(h)))
            .unwrap_or_default()
    );
    for reason in &reasons {
        text.push_str(&format!("- {}\n", super::render::neutralize(reason)));
    }
    text.push_str(&format!("\nGlobalLM {explained}.\n"));
    text.push_str(&format!(
        "\nCI: {}. Attempts {}, repairs {}, re-runs {}; {} tokens (≈ ${:.2}).",
        fix.last_ci.as_deref().unwrap_or("not reported"),
        fix.attempts,
        fix.repairs,
        fix.reruns,
        crate::budget::report::thousands(u64::try_from(fix.tokens).unwrap_or(0)),
        fix.cost_usd
    ));
    match (&fix.merge_approved_sha, &fix.head_sha) {
        (Some(approved), Some(head)) if approved == head => text.push_str(&format!(
            "\n\n`/globallm merge` by @{} approved this head ({}).",
            fix.merge_approved_by.as_deref().unwrap_or("a maintainer"),
            super::render::short(head)
        )),
        (Some(approved), _) => text.push_str(&format!(
            "\n\nAn earlier `/globallm merge` approved {}, not the current head: it no longer counts.",
            super::render::short(approved)
        )),
        _ => {}
    }
    if let Err(why) = settings.automation() {
        text.push_str(&format!("\n\nAutomation is off in this repository: {why}."));
    }
    match super::merge::frozen(github, inst, repo, &settings).await {
        Ok(Some(why)) => {
            text.push_str(&format!("\n\nMerges are frozen in this repository: {why}."))
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(%repo, "could not tell whether merges are frozen: {err:#}"),
    }
    if fix.stopped {
        text.push_str(&format!(
            "\n\nAutomation is stopped: {}.",
            fix.stop_reason.as_deref().unwrap_or("no reason kept")
        ));
    }
    text
}
