//! The calls the post-merge guard makes beside the fix flow's: a commit's parents (to compare
//! the base branch's checks on a merge commit with those on the commit before it) and an
//! issue's state (to reopen the issue a reverted fix had closed).

use super::client::{Auth, GithubClient};
use super::error::GithubError;
use super::ids::{InstallationId, IssueNumber, RepoName};
use http::Method;
use serde::Deserialize;
use serde_json::json;

impl GithubClient {
    /// `GET /repos/{owner}/{repo}/commits/{sha}`: the commit's parents, first parent first.
    pub async fn commit_parents(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        sha: &str,
    ) -> Result<Vec<String>, GithubError> {
        #[derive(Deserialize)]
        struct Parent {
            sha: String,
        }
        #[derive(Deserialize)]
        struct Commit {
            parents: Vec<Parent>,
        }
        let path = format!("/repos/{repo}/commits/{}", super::api::segment(sha));
        let commit: Commit = self.get(Auth::Installation(inst), &path).await?;
        Ok(commit.parents.into_iter().map(|p| p.sha).collect())
    }

    /// `PATCH /repos/{owner}/{repo}/issues/{number}` with `state` (`open` or `closed`).
    pub async fn set_issue_state(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
        state: &str,
    ) -> Result<(), GithubError> {
        let _: serde::de::IgnoredAny = self
            .write(
                Method::PATCH,
                Auth::Installation(inst),
                &format!("/repos/{repo}/issues/{number}"),
                &json!({ "state": state }),
            )
            .await?;
        Ok(())
    }
}
