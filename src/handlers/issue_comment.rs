//! `issue_comment`: commands (`/globallm <verb>`). Each gets a reaction at once (👀), then a
//! reply and 👍 or 😕. Comments by bots, GlobalLM's own included, are ignored; on an edit
//! only the commands the comment did not have before run; a command that needs write access is
//! refused politely to anyone without it (asked from the API), and nothing else happens.

use super::Handled;
use crate::command::{self, Command, CommandParseError};
use crate::context::Context;
use crate::db::commands;
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
        Command::Explain if event.issue.is_pull_request => Ok((
            "GlobalLM did not open this pull request, so it has no risk tier to explain."
                .to_owned(),
            false,
        )),
        Command::Explain => {
            let assessment =
                triage::assess(ctx, &event.repository, &event.issue, ctx.clock.now_ms()).await?;
            Ok((
                triage::render::explanation(&assessment.breakdown(), &ctx.config().scoring),
                true,
            ))
        }
        other => Ok((
            format!(
                "`/globallm {}` is not available in this version of GlobalLM yet.",
                other.verb()
            ),
            false,
        )),
    }
}
