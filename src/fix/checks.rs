//! What CI reported on a head, gathered from GitHub for [`super::ci::evaluate`]: the head's
//! check runs, check suites and statuses, the base branch's required checks, and the checks
//! expected of the repository — its `required_checks`, else the checks that ran on the base
//! branch's last green commit. That last rule is what keeps a fast check that finishes first
//! from merging a change before the slow ones have even been created.

use super::ci::{Expected, Suite};
use crate::event::model::{CheckRun, CheckStatus};
use crate::github::ids::{InstallationId, RepoName};
use crate::github::model::{CombinedStatus, RequiredChecks};
use crate::github::repo_config::{CONFIG_CHECK, RepoConfig};
use crate::github::{GithubClient, GithubError};

/// Newest commits of the base branch looked at for its last green one.
const BASE_COMMITS: usize = 5;

/// What CI reported on a head, and what is expected of it.
#[derive(Debug, Clone)]
pub struct Reported {
    /// The head's check runs.
    pub check_runs: Vec<CheckRun>,
    /// Its check suites, GlobalLM's own left out.
    pub suites: Vec<Suite>,
    /// Its combined status.
    pub statuses: CombinedStatus,
    /// The base branch's required checks (branch protection), when protected.
    pub required: Option<RequiredChecks>,
    /// The checks expected of the repository.
    pub expected: Expected,
}

/// Reads what CI reported on `head` of a pull request into `base_branch`. `own_app`: GlobalLM's
/// App slug (its own checks say nothing about the change).
pub async fn gather(
    github: &GithubClient,
    inst: InstallationId,
    repo: &RepoName,
    head: &str,
    base_branch: &str,
    repo_config: &RepoConfig,
    own_app: &str,
) -> Result<Reported, GithubError> {
    let check_runs = github.check_runs(inst, repo, head).await?;
    let suites = github
        .check_suites(inst, repo, head)
        .await?
        .into_iter()
        .filter_map(|s| {
            let app = s.app?.slug;
            (app != own_app).then(|| Suite {
                app,
                completed: s.status.as_deref() == Some("completed"),
                conclusion: s.conclusion,
                runs: s.latest_check_runs_count,
                id: s.id,
            })
        })
        .collect();
    let statuses = github.combined_status(inst, repo, head).await?;
    let required = github.required_checks(inst, repo, base_branch).await?;
    let expected = expected(github, inst, repo, base_branch, repo_config, own_app).await?;
    Ok(Reported {
        check_runs,
        suites,
        statuses,
        required,
        expected,
    })
}

/// The checks a head must have: the repository's `required_checks`, else those of the newest
/// of the base branch's last commits on which every check ran and passed (none known: none
/// expected beyond branch protection, and zero checks stays never green).
async fn expected(
    github: &GithubClient,
    inst: InstallationId,
    repo: &RepoName,
    base_branch: &str,
    repo_config: &RepoConfig,
    own_app: &str,
) -> Result<Expected, GithubError> {
    if !repo_config.required_checks.is_empty() {
        return Ok(Expected {
            names: repo_config.required_checks.clone(),
            apps: Vec::new(),
            source: "the repository's `required_checks`".to_owned(),
        });
    }
    for sha in github
        .recent_commits(inst, repo, base_branch, BASE_COMMITS)
        .await?
    {
        let runs: Vec<CheckRun> = github
            .check_runs(inst, repo, &sha)
            .await?
            .into_iter()
            .filter(|r| r.name != CONFIG_CHECK && r.app_slug.as_deref() != Some(own_app))
            .collect();
        let statuses = github.combined_status(inst, repo, &sha).await?;
        if runs.is_empty() && statuses.statuses.is_empty() {
            continue;
        }
        let green = runs.iter().all(|r| {
            r.status == CheckStatus::Completed
                && r.conclusion
                    .as_deref()
                    .is_some_and(|c| ["success", "neutral", "skipped"].contains(&c))
        }) && statuses.statuses.iter().all(|s| s.state == "success");
        if !green {
            continue;
        }
        let mut names: Vec<String> = runs
            .iter()
            .map(|r| r.name.clone())
            .chain(statuses.statuses.iter().map(|s| s.context.clone()))
            .collect();
        names.sort();
        names.dedup();
        let mut apps: Vec<String> = runs.iter().filter_map(|r| r.app_slug.clone()).collect();
        apps.sort();
        apps.dedup();
        return Ok(Expected {
            names,
            apps,
            source: format!(
                "it ran on the base branch's last green commit {}",
                super::render::short(&sha)
            ),
        });
    }
    Ok(Expected::default())
}
