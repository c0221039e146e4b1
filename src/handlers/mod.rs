//! Event handlers: the job that processes a stored delivery ([`ProcessDelivery`]) and
//! [`dispatch`], which sends each typed event to the handler of its family, one file per
//! family. Handlers translate events into calls of the modules that own the work (`triage`,
//! `fix`); they decide nothing about a fix themselves.

mod ci;
mod delivery;
mod installation;
mod issue_comment;
mod issues;
mod merge_group;
mod ping;
mod pull_request;

pub use crate::event::Handled;
pub use delivery::ProcessDelivery;

use crate::context::Context;
use crate::event::Event;

/// Hands an event to its handler. Handlers are idempotent: the same event twice changes
/// nothing the first did not.
pub async fn dispatch(ctx: &Context, event: Event) -> anyhow::Result<Handled> {
    match event {
        Event::Ping(ping) => Ok(ping::handle_ping(&ping)),
        Event::Installation(event) => installation::handle_installation(ctx, &event).await,
        Event::InstallationRepositories(event) => {
            installation::handle_installation_repositories(ctx, &event).await
        }
        Event::PullRequest(event) => pull_request::handle_pull_request(ctx, &event).await,
        Event::Issues(event) => issues::handle_issues(ctx, &event).await,
        Event::IssueComment(event) => issue_comment::handle_issue_comment(ctx, &event).await,
        Event::CheckRun(event) => ci::handle_check_run(ctx, &event).await,
        Event::CheckSuite(event) => ci::handle_check_suite(ctx, &event).await,
        Event::Status(event) => ci::handle_status(ctx, &event).await,
        Event::MergeGroup(event) => merge_group::handle_merge_group(ctx, &event).await,
        Event::PullRequestReview(_) | Event::Push(_) => Ok(Handled::Skipped(
            "no handler for this event in this version".to_owned(),
        )),
    }
}
