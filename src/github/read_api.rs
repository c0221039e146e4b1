//! The reads a report needs, for any [`Auth`] — an installation, the operator's read-only
//! token or nobody — so a repository that has not installed GlobalLM can be scored: the
//! repository, its open issues, its tree, its default branch's CI state and its issue
//! resolution rate. Nothing here writes.

use super::client::{Auth, GithubClient};
use super::error::GithubError;
use super::ids::RepoName;
use crate::event::model::{Issue, Repository};
use crate::event::raw::{RawIssue, RawRepository};
use crate::time::Millis;
use serde::Deserialize;

/// The issues read to measure the resolution rate, at most (one page).
const RESOLUTION_SAMPLE: usize = 100;

/// One file of a repository's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Its path, `/`-separated.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A repository's files at a ref.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tree {
    /// The files (blobs), not the directories.
    pub files: Vec<TreeFile>,
    /// Whether GitHub cut the listing short (over 100,000 entries or 7 MB).
    pub truncated: bool,
}

impl GithubClient {
    /// `GET /repos/{owner}/{repo}` as `auth`.
    pub async fn repo_as(&self, auth: Auth, repo: &RepoName) -> Result<Repository, GithubError> {
        let raw: RawRepository = self.get(auth, &format!("/repos/{repo}")).await?;
        Ok(raw.into())
    }

    /// `GET /repos/{owner}/{repo}/issues?state=open` as `auth`, pull requests left out, oldest
    /// first, at most `max`.
    pub async fn open_issues_as(
        &self,
        auth: Auth,
        repo: &RepoName,
        max: usize,
    ) -> Result<Vec<Issue>, GithubError> {
        let path =
            format!("/repos/{repo}/issues?state=open&sort=created&direction=asc&per_page=100");
        // Pull requests come in the same list; fetch a little more and drop them.
        let issues = self
            .get_pages(
                auth,
                &path,
                max.saturating_mul(2).min(super::api::MAX_LIST * 5),
                |page: Vec<RawIssue>| page,
            )
            .await?;
        Ok(issues
            .into_iter()
            .map(Issue::from)
            .filter(|i| !i.is_pull_request)
            .take(max)
            .collect())
    }

    /// `GET /repos/{owner}/{repo}/git/trees/{ref}?recursive=1`: every file at `git_ref`.
    pub async fn tree(
        &self,
        auth: Auth,
        repo: &RepoName,
        git_ref: &str,
    ) -> Result<Tree, GithubError> {
        #[derive(Deserialize)]
        struct Entry {
            path: String,
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            size: Option<u64>,
        }
        #[derive(Deserialize)]
        struct Answer {
            tree: Vec<Entry>,
            #[serde(default)]
            truncated: bool,
        }
        let path = format!(
            "/repos/{repo}/git/trees/{}?recursive=1",
            super::api::segment(git_ref)
        );
        let answer: Answer = self.get(auth, &path).await?;
        Ok(Tree {
            files: answer
                .tree
                .into_iter()
                .filter(|e| e.kind == "blob")
                .map(|e| TreeFile {
                    path: e.path,
                    size: e.size.unwrap_or(0),
                })
                .collect(),
            truncated: answer.truncated,
        })
    }

    /// The CI state of a branch's head, spelled as GraphQL's `statusCheckRollup`: `FAILURE`
    /// when a check run or status failed, `PENDING` while one runs, `SUCCESS` when all passed;
    /// `None` when the branch has neither check runs nor statuses.
    pub async fn branch_ci_state(
        &self,
        auth: Auth,
        repo: &RepoName,
        branch: &str,
    ) -> Result<Option<String>, GithubError> {
        #[derive(Deserialize)]
        struct Run {
            status: String,
            #[serde(default)]
            conclusion: Option<String>,
        }
        #[derive(Deserialize)]
        struct Runs {
            check_runs: Vec<Run>,
        }
        #[derive(Deserialize)]
        struct Combined {
            state: String,
            #[serde(default)]
            total_count: u64,
        }
        let branch = super::api::segment(branch);
        let runs: Runs = self
            .get(
                auth,
                &format!("/repos/{repo}/commits/{branch}/check-runs?per_page=100"),
            )
            .await?;
        let combined: Combined = self
            .get(auth, &format!("/repos/{repo}/commits/{branch}/status"))
            .await?;
        let mut states: Vec<&str> = runs
            .check_runs
            .iter()
            .map(|r| match (r.status.as_str(), r.conclusion.as_deref()) {
                ("completed", Some("success" | "neutral" | "skipped")) => "SUCCESS",
                ("completed", _) => "FAILURE",
                _ => "PENDING",
            })
            .collect();
        // With no statuses at all the combined state is `pending`: it says nothing.
        if combined.total_count > 0 {
            states.push(match combined.state.as_str() {
                "success" => "SUCCESS",
                "pending" => "PENDING",
                _ => "FAILURE",
            });
        }
        Ok(if states.is_empty() {
            None
        } else if states.contains(&"FAILURE") {
            Some("FAILURE".to_owned())
        } else if states.contains(&"PENDING") {
            Some("PENDING".to_owned())
        } else {
            Some("SUCCESS".to_owned())
        })
    }

    /// Issues closed / issues updated since `since` (pull requests left out), over the newest
    /// page of at most 100 issues updated since then; `None` when none was.
    pub async fn resolution_rate(
        &self,
        auth: Auth,
        repo: &RepoName,
        since: Millis,
    ) -> Result<Option<f64>, GithubError> {
        let since = crate::time::iso8601(since);
        let path = format!(
            "/repos/{repo}/issues?state=all&since={}&sort=updated&direction=desc&per_page={RESOLUTION_SAMPLE}",
            super::api::segment(&since)
        );
        let page: Vec<RawIssue> = self.get(auth, &path).await?;
        let issues: Vec<Issue> = page
            .into_iter()
            .map(Issue::from)
            .filter(|i| !i.is_pull_request)
            .collect();
        if issues.is_empty() {
            return Ok(None);
        }
        let closed = issues
            .iter()
            .filter(|i| i.state == crate::event::model::State::Closed)
            .count();
        Ok(Some(closed as f64 / issues.len() as f64))
    }
}
