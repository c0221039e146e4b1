//! The calls the post-merge guard makes beside the fix flow's: a commit's parents (to compare
//! the base branch's checks on a merge commit with those on the commit before it) and an
//! issue's state (to reopen the issue a reverted fix had closed); and the log of a failed GitHub
//! Actions job, which a repair after red CI reads.

use super::client::{Auth, GithubClient};
use super::error::GithubError;
use super::ids::{CheckRunId, InstallationId, IssueNumber, RepoName};
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

impl GithubClient {
    /// `GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs` (GitHub answers with a redirect
    /// to the plain-text log, which is followed): the log of a GitHub Actions job, or `None`
    /// when there is none to read — expired, not an Actions job (404, 410), or the App lacks
    /// `actions: read` (403), or it is larger than `github.max_response_bytes`.
    pub async fn job_log(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        job: CheckRunId,
    ) -> Result<Option<String>, GithubError> {
        let path = format!("/repos/{repo}/actions/jobs/{}/logs", job.0);
        match self
            .send(Method::GET, Auth::Installation(inst), &path, None)
            .await
        {
            Ok(response) => Ok(Some(String::from_utf8_lossy(&response.body).into_owned())),
            Err(GithubError::NotFound(_) | GithubError::Other { status: 410, .. }) => Ok(None),
            Err(err @ (GithubError::Forbidden(_) | GithubError::TooLarge { .. })) => {
                tracing::warn!(%repo, job = job.0, "cannot read the job's log: {err}");
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }
}
