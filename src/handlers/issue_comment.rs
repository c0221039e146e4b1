//! `issue_comment`: commands (`/globallm <verb>`). Each gets a reaction at once (👀), then a
//! reply and 👍 or 😕. Comments by bots, GlobalLM's own included, are ignored; on an edit
//! only the commands the comment did not have before run; a command that needs write access is
//! refused politely to anyone without it (asked from the API), and nothing else happens.

use super::Handled;
use crate::automation::{fix, pull, risk};
use crate::command::{self, Command, CommandParseError};
use crate::context::Context;
use crate::db::commands;
use crate::db::fixes::{self, FixPr};
use crate::event::IssueCommentEvent;
use crate::event::model::{AccountKind, CommentAction};
use crate::github::GithubClient;
use crate::github::ids::InstallationId;
use crate::github::repo_config::RepoConfig;
use crate::triage;
use anyhow::Context as _;
use std::collections::HashMap;

/// Handles an `issue_comment` delivery.
pub async fn handle_issue_comment(
    ctx: &Context,
    event: &IssueCommentEvent,
) -> anyhow::Result<Handled> {
    let author = &event.comment.author;
    if author.kind == AccountKind::Bot || author.login.ends_with("[bot]") {
        return Ok(Handled::Skipped("comments by bots are ignored".to_owned()));
    }
    let commands = match &event.action {
        CommentAction::Created => command::parse_commands(&event.comment.body),
        CommentAction::Edited => command::new_commands(
            event.previous_body.as_deref().unwrap_or_default(),
            &event.comment.body,
        ),
        _ => return Ok(Handled::Skipped("nothing to do".to_owned())),
    };
    if commands.is_empty() {
        return Ok(Handled::Skipped("no command".to_owned()));
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
    let repo_config = ctx
        .repo_configs
        .get(&github, inst, &event.repository.name)
        .await;
    if !repo_config.enabled {
        return Ok(Handled::Skipped(
            "GlobalLM is disabled in this repository".to_owned(),
        ));
    }
    // Each command is known by its verb and which occurrence of that verb in the comment it
    // is: the new commands of an edit are the last occurrences of their verbs.
    let verb_of = |c: &Result<Command, CommandParseError>| {
        c.as_ref().map_or("unknown", Command::verb).to_owned()
    };
    let mut totals: HashMap<String, i64> = HashMap::new();
    for existing in command::parse_commands(&event.comment.body) {
        *totals.entry(verb_of(&existing)).or_default() += 1;
    }
    let mut remaining: HashMap<String, i64> = HashMap::new();
    for new in &commands {
        *remaining.entry(verb_of(new)).or_default() += 1;
    }
    for parsed in commands {
        let verb = verb_of(&parsed);
        let left = remaining.get_mut(&verb).expect("counted above");
        let occurrence = totals.get(&verb).copied().unwrap_or(0) - *left + 1;
        *left -= 1;
        let repo = event.repository.name.to_string();
        let comment_id = event.comment.id.as_db();
        if commands::ran(ctx.db.pool(), &repo, comment_id, &verb, occurrence).await? {
            continue;
        }
        github
            .add_reaction(inst, &event.repository.name, event.comment.id, "eyes")
            .await
            .context("acknowledging the command")?;
        let (reply, ok) = run(ctx, &github, inst, event, &repo_config, parsed).await?;
        let quoted = format!("> {}\n\n{reply}", command_line(&event.comment.body, &verb));
        github
            .create_comment(inst, &event.repository.name, event.issue.number, &quoted)
            .await
            .context("replying to the command")?;
        github
            .add_reaction(
                inst,
                &event.repository.name,
                event.comment.id,
                if ok { "+1" } else { "confused" },
            )
            .await
            .context("reacting to the command")?;
        let mut tx = ctx.db.write().await?;
        commands::record(
            tx.conn(),
            &repo,
            comment_id,
            &verb,
            occurrence,
            if ok { "done" } else { "refused" },
            ctx.clock.now_ms(),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(Handled::Done)
}

/// The line of the comment holding the command, for the reply's quote.
fn command_line(body: &str, verb: &str) -> String {
    body.lines()
        .find(|l| {
            l.trim_start().starts_with(command::parser::PREFIX)
                && (verb == "unknown" || l.to_lowercase().contains(verb))
        })
        .unwrap_or(command::parser::PREFIX)
        .trim()
        .to_owned()
}

/// Carries out one command; returns the reply and whether it succeeded.
async fn run(
    ctx: &Context,
    github: &GithubClient,
    inst: InstallationId,
    event: &IssueCommentEvent,
    repo_config: &RepoConfig,
    parsed: Result<Command, CommandParseError>,
) -> anyhow::Result<(String, bool)> {
    let command = match parsed {
        Ok(command) => command,
        Err(err) => return Ok((format!("{err}."), false)),
    };
    let author = &event.comment.author.login;
    if !repo_config.command_enabled(command.verb()) {
        return Ok((
            format!(
                "`/globallm {}` is disabled in this repository (`.github/globallm.yml`).",
                command.verb()
            ),
            false,
        ));
    }
    if command.needs_write() {
        let permission = github
            .collaborator_permission(inst, &event.repository.name, author)
            .await
            .context("checking the commenter's permission")?;
        if !permission.can_write() {
            return Ok((
                format!(
                    "Sorry @{author}, `/globallm {}` needs write, maintain or admin permission on this repository.",
                    command.verb()
                ),
                false,
            ));
        }
    }
    match command {
        Command::Help => Ok((
            command::help_text(|verb| repo_config.command_enabled(verb)),
            true,
        )),
        Command::Explain if !event.issue.is_pull_request => {
            let assessment =
                triage::assess(ctx, &event.repository, &event.issue, ctx.clock.now_ms()).await?;
            Ok((
                triage::render::explanation(&assessment.breakdown(), &ctx.config().scoring),
                true,
            ))
        }
        Command::Fix if event.issue.is_pull_request => Ok((
            "`/globallm fix` works on issues; on a GlobalLM pull request use `/globallm retry`."
                .to_owned(),
            false,
        )),
        Command::Fix => {
            if let Some(reason) = fix::skip_reason(&event.issue, repo_config) {
                return Ok((format!("GlobalLM will not draft a fix: {reason}."), false));
            }
            let repo = event.repository.name.to_string();
            let number = i64::try_from(event.issue.number.0).unwrap_or_default();
            if let Some(active) = fixes::active_for_issue(ctx.db.pool(), &repo, number).await? {
                return Ok((
                    match active.pr_number {
                        Some(pr) => format!("A GlobalLM fix is already open: #{pr}."),
                        None => "GlobalLM is already drafting a fix for this issue.".to_owned(),
                    },
                    false,
                ));
            }
            fix::enqueue(
                ctx,
                &fix::FixIssue {
                    installation: inst.0,
                    repo,
                    issue: event.issue.number.0,
                    requested_by: author.clone(),
                    trigger: fix::Trigger::Command,
                },
            )
            .await?;
            Ok((
                "On it: GlobalLM is drafting a fix and will link the pull request here.".to_owned(),
                true,
            ))
        }
        pr_command => on_pull_request(ctx, github, event, pr_command).await,
    }
}

/// The commands about a GlobalLM pull request: `retry`, `stop`, `resume`, `merge`, `explain`.
async fn on_pull_request(
    ctx: &Context,
    github: &GithubClient,
    event: &IssueCommentEvent,
    command: Command,
) -> anyhow::Result<(String, bool)> {
    let repo = event.repository.name.to_string();
    let number = i64::try_from(event.issue.number.0).unwrap_or_default();
    let found = if event.issue.is_pull_request {
        fixes::for_pull_request(ctx.db.pool(), &repo, number).await?
    } else {
        None
    };
    let Some(mut fix) = found else {
        return Ok((
            format!(
                "`/globallm {}` works on pull requests GlobalLM opened; this is not one.",
                command.verb()
            ),
            false,
        ));
    };
    let save = |fix: FixPr| async move {
        let mut tx = ctx.db.write().await?;
        fixes::save(tx.conn(), &fix, ctx.clock.now_ms()).await?;
        tx.commit().await?;
        anyhow::Ok(())
    };
    let tier = pull::tier_of(&fix);
    match command {
        Command::Explain => Ok((explain_fix(&fix), true)),
        _ if fix.state != "open" => Ok((
            format!(
                "This pull request is {}: there is nothing left to automate.",
                fix.state
            ),
            false,
        )),
        Command::Stop => {
            if fix.stopped {
                return Ok(("Automation was already stopped here.".to_owned(), true));
            }
            fix.stopped = true;
            fix.stop_reason = Some(format!(
                "`/globallm stop` by @{}",
                event.comment.author.login
            ));
            save(fix).await?;
            Ok((
                "Stopped: GlobalLM will not push, re-run or merge this pull request until `/globallm resume`.".to_owned(),
                true,
            ))
        }
        Command::Resume => {
            fix.stopped = false;
            fix.stop_reason = None;
            fix.acted = None;
            save(fix.clone()).await?;
            let outcome = pull::evaluate(ctx, github, fix).await?;
            Ok((format!("Resumed. {}", outcome_text(&outcome)), true))
        }
        Command::Merge => {
            if !risk::may_merge_on_command(tier) {
                return Ok((
                    "This change is **CRITICAL**: GlobalLM never merges it, not even on command. A maintainer can review and merge it by hand.".to_owned(),
                    false,
                ));
            }
            if fix.stopped {
                return Ok((
                    "Automation is stopped here; `/globallm resume` first.".to_owned(),
                    false,
                ));
            }
            fix.merge_approved = true;
            fix.acted = None;
            save(fix.clone()).await?;
            let outcome = pull::evaluate(ctx, github, fix).await?;
            let merged = fixes::for_pull_request(ctx.db.pool(), &repo, number)
                .await?
                .is_some_and(|f| f.state == "merged");
            Ok(if merged {
                ("Merged.".to_owned(), true)
            } else {
                (
                    format!(
                        "Noted: it merges as soon as CI is green. {}",
                        outcome_text(&outcome)
                    ),
                    true,
                )
            })
        }
        Command::Retry { feedback } => {
            let mut text = feedback.trim().to_owned();
            if let Some(ci) = fix.ci_output.as_deref() {
                text.push_str(&format!("\n\nThe last CI failure:\n{ci}"));
            }
            fix::enqueue(
                ctx,
                &fix::FixIssue {
                    installation: fix.installation as u64,
                    repo,
                    issue: fix.issue as u64,
                    requested_by: event.comment.author.login.clone(),
                    trigger: fix::Trigger::Retry { feedback: text },
                },
            )
            .await?;
            Ok((
                "On it: GlobalLM is drafting a new version with your feedback.".to_owned(),
                true,
            ))
        }
        Command::Fix | Command::Help => Ok((command::help_text(|_| true), true)),
    }
}

fn outcome_text(outcome: &Handled) -> String {
    match outcome {
        Handled::Done => "CI was judged and acted on.".to_owned(),
        Handled::Skipped(why) => format!("Nothing to do yet: {why}."),
    }
}

/// `/globallm explain` on a GlobalLM pull request: its tier, the reasons, and its state.
fn explain_fix(fix: &FixPr) -> String {
    let tier = pull::tier_of(fix);
    let reasons = pull::reasons(fix);
    let mut text = format!(
        "**Risk: {tier}** (issue category {}, complexity {}/10)\n\n",
        fix.category.as_deref().unwrap_or("unknown"),
        fix.complexity.map_or("?".to_owned(), |c| c.to_string())
    );
    for reason in &reasons {
        text.push_str(&format!("- {reason}\n"));
    }
    text.push_str(&format!(
        "\nCI: {}. Attempts {}, repairs {}, re-runs {}; {} tokens (≈ ${:.2}).",
        fix.last_ci.as_deref().unwrap_or("not reported"),
        fix.attempts,
        fix.repairs,
        fix.reruns,
        crate::budget::report::thousands(u64::try_from(fix.tokens).unwrap_or(0)),
        fix.cost_usd
    ));
    if fix.stopped {
        text.push_str(&format!(
            "\n\nAutomation is stopped: {}.",
            fix.stop_reason.as_deref().unwrap_or("no reason kept")
        ));
    }
    text
}
