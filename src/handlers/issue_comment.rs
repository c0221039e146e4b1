//! `issue_comment`: commands (`/globallm <verb>`). Each gets a reaction at once (👀), then a
//! reply and 👍 or 😕. Comments by bots, GlobalLM's own included, are ignored, and so are
//! edits made by a bot; on an edit only the commands the comment did not have before run, and
//! only for a sender (the one who edited, not the comment's author) with write access. A
//! command that needs write access is refused politely to anyone without it (asked from the
//! API). A command that fails for good inside gets a reply saying so (`:x:`).

use super::Handled;
use crate::command::{self, Command, CommandParseError};
use crate::context::Context;
use crate::db::commands;
use crate::event::IssueCommentEvent;
use crate::event::model::CommentAction;
use crate::fix::commands::Reply;
use crate::fix::request::{self, Refusal};
use crate::fix::{Trigger, guard};
use crate::github::GithubClient;
use crate::github::ids::InstallationId;
use crate::github::repo_config::RepoConfig;
use crate::jobs::JobError;
use crate::triage;
use anyhow::Context as _;
use std::collections::HashMap;

/// Handles an `issue_comment` delivery.
pub async fn handle_issue_comment(
    ctx: &Context,
    event: &IssueCommentEvent,
) -> anyhow::Result<Handled> {
    if guard::is_bot(&event.comment.author) || guard::is_bot(&event.sender) {
        return Ok(Handled::Skipped(
            "comments by bots, and edits by bots, are ignored".to_owned(),
        ));
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
        if !admitted(ctx, &github, inst, event).await? {
            let mut tx = ctx.db.write().await?;
            commands::record(
                tx.conn(),
                &repo,
                comment_id,
                &verb,
                occurrence,
                "rate_limited",
                ctx.clock.now_ms(),
            )
            .await?;
            tx.commit().await?;
            continue;
        }
        github
            .add_reaction(inst, &event.repository.name, event.comment.id, "eyes")
            .await
            .context("acknowledging the command")?;
        let (reply, outcome) = match run(ctx, &github, inst, event, &repo_config, parsed).await {
            Ok(Reply { text, ok }) => (text, if ok { "done" } else { "refused" }),
            Err(err) => match crate::jobs::classify(err) {
                // GitHub down or rate limited: the job tries again (and could not reply now).
                JobError::Retry(err) => return Err(err),
                JobError::Permanent(err) => {
                    tracing::warn!(%verb, "a command failed for good: {err:#}");
                    (failed_reply(&err), "failed")
                }
            },
        };
        let ok = outcome == "done";
        let quoted = format!("> {}\n\n{reply}", command_line(&event.comment.body, &verb));
        github
            .create_comment(
                inst,
                &event.repository.name,
                event.issue.number,
                &format!("command:{comment_id}:{verb}:{occurrence}"),
                &quoted,
            )
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
            outcome,
            ctx.clock.now_ms(),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(Handled::Done)
}

/// Whether the sender may run one more command in this repository now
/// (`commands.rate_limit` per `commands.rate_window_secs`). The first command past the limit
/// gets one reply saying so; the window's later ones are ignored without a word, so a flood
/// of commands cannot become a flood of replies (nor of LLM calls).
async fn admitted(
    ctx: &Context,
    github: &GithubClient,
    inst: InstallationId,
    event: &IssueCommentEvent,
) -> anyhow::Result<bool> {
    let rate = ctx.config().commands.clone();
    if rate.rate_limit == 0 {
        return Ok(true);
    }
    let repo = event.repository.name.to_string();
    let login = &event.sender.login;
    let window_ms = i64::try_from(rate.rate_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let mut tx = ctx.db.write().await?;
    let admission = commands::admit(
        tx.conn(),
        &repo,
        login,
        rate.rate_limit,
        window_ms,
        ctx.clock.now_ms(),
    )
    .await?;
    tx.commit().await?;
    let commands::Admission::Limited {
        resets_at,
        notified,
    } = admission
    else {
        return Ok(true);
    };
    tracing::info!(%repo, user = %login, "command rate limit reached");
    if !notified {
        // Written before it is marked: a retry finds the reply by its key, never writes two.
        github
            .create_comment(
                inst,
                &event.repository.name,
                event.issue.number,
                &format!("rate-limited:{login}:{resets_at}"),
                &rate_limited_reply(login, rate.rate_limit, rate.rate_window_secs, resets_at),
            )
            .await
            .context("saying the command rate limit was reached")?;
        let mut tx = ctx.db.write().await?;
        commands::set_rate_notified(tx.conn(), &repo, login).await?;
        tx.commit().await?;
    }
    Ok(false)
}

/// The one reply to a user past the command rate limit.
fn rate_limited_reply(login: &str, limit: u32, window_secs: u64, resets_at: i64) -> String {
    format!(
        "Sorry @{login}, you have run {limit} GlobalLM commands in this repository within {}; \
         further commands from you here are ignored until {}. This is the only reply until then.",
        window_text(window_secs),
        crate::time::format_ms(resets_at)
    )
}

fn window_text(secs: u64) -> String {
    match secs {
        s if s % 3_600 == 0 && s > 3_600 => format!("{} hours", s / 3_600),
        3_600 => "an hour".to_owned(),
        s if s % 60 == 0 && s > 60 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
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

/// The reply to a command that failed for good: what went wrong, without internals.
fn failed_reply(err: &anyhow::Error) -> String {
    let github = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<crate::github::GithubError>());
    match github {
        Some(github) => format!(
            ":x: GlobalLM could not carry this out: GitHub refused a request it needed ({github})."
        ),
        None => ":x: GlobalLM could not carry this out: it hit an internal error (the operator's log has it).".to_owned(),
    }
}

/// Carries out one command; returns the reply.
async fn run(
    ctx: &Context,
    github: &GithubClient,
    inst: InstallationId,
    event: &IssueCommentEvent,
    repo_config: &RepoConfig,
    parsed: Result<Command, CommandParseError>,
) -> anyhow::Result<Reply> {
    let refused = |text: String| Reply { text, ok: false };
    let command = match parsed {
        Ok(command) => command,
        Err(err) => return Ok(refused(format!("{err}."))),
    };
    // Who steers is who sent the event: on an edit, the editor, not the comment's author.
    let sender = &event.sender;
    if !repo_config.command_enabled(command.verb()) {
        return Ok(refused(format!(
            "`/globallm {}` is disabled in this repository (`.github/globallm.yml`).",
            command.verb()
        )));
    }
    let edited = event.action == CommentAction::Edited;
    if (command.needs_write() || edited)
        && !guard::may_steer(github, inst, &event.repository.name, sender)
            .await
            .context("checking the sender's permission")?
    {
        return Ok(refused(if command.needs_write() {
            format!(
                "Sorry @{}, `/globallm {}` needs write, maintain or admin permission on this repository.",
                sender.login,
                command.verb()
            )
        } else {
            format!(
                "Sorry @{}, a command added by editing a comment runs only for someone with write, maintain or admin permission on this repository.",
                sender.login
            )
        }));
    }
    match command {
        Command::Help => Ok(Reply {
            text: command::help_text(|verb| repo_config.command_enabled(verb)),
            ok: true,
        }),
        Command::Explain if !event.issue.is_pull_request => {
            let assessment = triage::assess_for_explain(
                ctx,
                &event.repository,
                &event.issue,
                ctx.clock.now_ms(),
            )
            .await?;
            Ok(Reply {
                text: triage::render::explanation(&assessment.breakdown(), &ctx.config().scoring),
                ok: true,
            })
        }
        Command::Fix if event.issue.is_pull_request => Ok(refused(
            "`/globallm fix` works on issues; on a GlobalLM pull request use `/globallm retry`."
                .to_owned(),
        )),
        Command::Fix => {
            let asked = request::ask(
                ctx,
                github,
                inst,
                &event.repository.name,
                &event.issue,
                sender,
                Trigger::Command,
            )
            .await?;
            Ok(match asked {
                Ok(()) => Reply {
                    text: "On it: GlobalLM is drafting a fix and will link the pull request here."
                        .to_owned(),
                    ok: true,
                },
                Err(Refusal::Other(text)) => refused(text),
                Err(Refusal::Permission) => refused(format!(
                    "Sorry @{}, `/globallm fix` needs write, maintain or admin permission on this repository.",
                    sender.login
                )),
            })
        }
        pr_command => {
            crate::fix::commands::on_pull_request(
                ctx,
                github,
                inst,
                &event.repository.name,
                (event.issue.number, event.issue.is_pull_request),
                &sender.login,
                pr_command,
            )
            .await
        }
    }
}
