//! The tier of a pull request, from its whole branch: every file the head changes since its
//! merge base with the base branch, judged with the issue's category and complexity. Never
//! from the last push alone — a repair that only touches a test does not make a first draft
//! that changed a public signature any less HIGH.

use super::risk::{self, Assessment, IssueFacts};
use crate::config::RiskConfig;
use crate::context::Context;
use crate::db::fixes::FixPr;
use crate::github::GithubClient;
use crate::github::ids::IssueNumber;
use crate::github::repo_config::RepoConfig;
use crate::solution::checkout::BranchChanges;
use crate::triage::category::Category;
use anyhow::Context as _;

/// The tier of a branch's changes for the issue it fixes. A fix whose category or complexity
/// is unknown is judged as an `other` issue of complexity 10 (CRITICAL): what GlobalLM cannot
/// read, it does not automate.
pub fn assess(
    branch: &BranchChanges,
    fix: &FixPr,
    issue_title: &str,
    issue_body: &str,
    risk_config: &RiskConfig,
    repo_config: &RepoConfig,
) -> anyhow::Result<Assessment> {
    let forbidden = risk::forbidden_paths(risk_config, repo_config, issue_title, issue_body)
        .context("the forbidden-path rules")?;
    let category = fix
        .category
        .as_deref()
        .and_then(|c| c.parse::<Category>().ok())
        .unwrap_or(Category::Other);
    let complexity = fix
        .complexity
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(10);
    let issue = IssueFacts {
        category,
        complexity,
        repo_has_tests: branch.has_tests,
    };
    Ok(risk::assess_changes(
        &branch.changes,
        &forbidden,
        issue,
        risk_config,
    ))
}

/// The tier of pull request `head` against `base_branch`, read from the repository's git
/// cache (fetched first): the branch's changes (with its merge base) and the assessment.
pub async fn of_pull_request(
    ctx: &Context,
    github: &GithubClient,
    fix: &FixPr,
    base_branch: &str,
    head: &str,
    repo_config: &RepoConfig,
) -> anyhow::Result<(BranchChanges, Assessment)> {
    let (inst, repo) = super::target(fix)?;
    let repo = &repo;
    let meta = github
        .get_repo(inst, repo)
        .await
        .context("reading the repository")?;
    let issue = github
        .get_issue(
            inst,
            repo,
            IssueNumber(u64::try_from(fix.issue).unwrap_or_default()),
        )
        .await
        .context("reading the issue")?;
    let token = github
        .installation_token(inst)
        .await
        .context("a token for git")?;
    let config = ctx.config();
    let url = super::clone_url(&config, &meta, repo);
    let branch = ctx
        .checkouts
        .branch_changes(&repo.to_string(), &url, Some(&token), base_branch, head)
        .await
        .context("reading the branch's changes")?;
    let assessment = assess(
        &branch,
        fix,
        &issue.title,
        &issue.body,
        &config.risk,
        repo_config,
    )?;
    Ok((branch, assessment))
}
