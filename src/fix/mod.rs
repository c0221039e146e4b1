//! The fix lifecycle, in one place: from a maintainer's request to a merged (or stopped) pull
//! request. Handlers only translate events into calls of this module; `solution/` drafts the
//! change without knowing GitHub or the policy.
//!
//! A fix is a row of `fix_prs` in one of the states of [`FixState`], changed only by the
//! transitions of [`lifecycle`] (each reads the row, decides, and writes with a version check).
//! The invariants below are each enforced in one place, and each has a story test on the fake
//! GitHub (`src/tests/fix_attacks.rs`):
//!
//! 1. The tier of a pull request is computed from the whole branch against its merge base with
//!    the base branch, at every decision to merge ([`merge`], [`branch`]).
//! 2. A `/globallm merge` approval names the head it approved; a new head voids it ([`merge`]).
//! 3. Only write, maintain or admin (asked from the API, for the sender) starts a fix, by label
//!    or command, or runs a command by editing a comment ([`guard`]).
//! 4. Build- and CI-adjacent paths are CRITICAL or forbidden ([`risk`],
//!    `solution::validate`).
//! 5. A stop, the kill-switch label and `enabled: false` are read again just before a merge call;
//!    a stop wins every race ([`lifecycle::begin_merge`], [`merge`]).
//! 6. A merge needs every check suite and run on the head green, and the checks expected of the
//!    repository present ([`checks`], [`ci`]).
//! 7. The repository config fails closed ([`crate::github::repo_config::RepoSettings`]).
//! 8. Every non-idempotent GitHub write happens at most once
//!    ([`crate::github::GithubClient::create_once`]).
//! 9. Text from the LLM cannot close other issues or mention people ([`render::neutralize`]).
//! 10. A merge that turns the base branch's checks red is reverted once, by a revert that holds
//!     GlobalLM's revert and nothing else, and merges itself only under a policy that lets LOW
//!     merge and a base nobody pushed to since ([`aftermath`]).
//! 11. What merges itself is capped by what GlobalLM earned in the repository ([`autonomy`]).

pub mod aftermath;
pub mod autonomy;
pub mod branch;
pub mod checks;
pub mod ci;
pub mod ci_log;
pub mod commands;
pub mod dry_run;
pub mod guard;
pub mod job;
pub mod lifecycle;
pub mod merge;
pub mod publish;
pub mod queue;
pub mod render;
pub mod request;
pub mod risk;
pub mod state;
mod update;
pub mod waits;
pub mod window;

pub use job::{FixIssue, Trigger};
pub use state::{FixState, Tier};

use crate::db::fixes::FixPr;
use crate::event::model::{Issue, State};
use crate::github::ids::{InstallationId, RepoName};
use crate::github::repo_config::RepoSettings;

/// The installation and repository a fix acts through.
pub fn target(fix: &FixPr) -> anyhow::Result<(InstallationId, RepoName)> {
    let repo = fix
        .repo
        .parse()
        .map_err(|err: String| anyhow::anyhow!("the stored repository name: {err}"))?;
    Ok((
        InstallationId(u64::try_from(fix.installation).unwrap_or_default()),
        repo,
    ))
}

/// Where git clones and pushes `repo`: the URL GitHub gives, else the web root's.
pub fn clone_url(
    config: &crate::config::Config,
    meta: &crate::event::model::Repository,
    repo: &impl std::fmt::Display,
) -> String {
    meta.clone_url
        .clone()
        .unwrap_or_else(|| format!("{}/{repo}.git", config.github.web_root()))
}

/// `globallm/issue-<N>`.
pub fn branch_name(issue: u64) -> String {
    format!("globallm/issue-{issue}")
}

/// Why no fix should be drafted for this issue now, if so.
pub fn skip_reason(issue: &Issue, settings: &RepoSettings) -> Option<String> {
    if let Err(why) = settings.automation() {
        return Some(why);
    }
    if issue.is_pull_request {
        return Some("a pull request, not an issue".to_owned());
    }
    if issue.state != State::Open {
        return Some("the issue is closed".to_owned());
    }
    if issue.labels.contains(&settings.config.labels.disabled) {
        return Some(format!(
            "the issue is labelled `{}`",
            settings.config.labels.disabled
        ));
    }
    None
}

/// `https://github.com/owner/name/issues/N` (any host) → (`owner/name`, N).
pub fn parse_issue_url(url: &str) -> Result<(RepoName, u64), String> {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        [owner, name, "issues", n] => {
            let number = n
                .parse::<u64>()
                .map_err(|_| format!("`{n}` in {url} is not an issue number"))?;
            let repo = format!("{owner}/{name}").parse()?;
            Ok((repo, number))
        }
        _ => Err(format!(
            "{url} is not an issue URL (https://github.com/OWNER/REPO/issues/NUMBER)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_urls_of_github_and_enterprise_servers_parse() {
        let (repo, n) =
            parse_issue_url("https://github.com/django/django/issues/123").expect("parses");
        assert_eq!((repo.to_string(), n), ("django/django".to_owned(), 123));
        let (repo, n) = parse_issue_url("https://ghe.example.com/o/r/issues/9/").expect("parses");
        assert_eq!((repo.to_string(), n), ("o/r".to_owned(), 9));
        assert!(parse_issue_url("https://github.com/o/r/pull/9").is_err());
        assert!(parse_issue_url("https://github.com/o/r/issues/x").is_err());
    }

    #[test]
    fn fix_branches_are_named_after_the_issue() {
        assert_eq!(branch_name(42), "globallm/issue-42");
    }
}
