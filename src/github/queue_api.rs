//! GitHub's merge queue, which only GraphQL exposes whole: whether a branch requires one
//! (`Repository.mergeQueue(branch:)` is null without), and adding a pull request to it
//! (`enqueuePullRequest`, with the head it expects).

use super::client::{Auth, GithubClient};
use super::error::GithubError;
use super::ids::{InstallationId, RepoName};
use serde_json::json;

impl GithubClient {
    /// Whether merges into `branch` of `repo` go through a merge queue (a branch ruleset's
    /// or branch protection's "require merge queue").
    pub async fn merge_queue_required(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        branch: &str,
    ) -> Result<bool, GithubError> {
        let query = "query($owner: String!, $name: String!, $branch: String!) { repository(owner: $owner, name: $name) { mergeQueue(branch: $branch) { id } } }";
        let variables = json!({ "owner": repo.owner(), "name": repo.name(), "branch": branch });
        let data = self
            .graphql(Auth::Installation(inst), query, variables)
            .await?;
        match data.pointer("/repository/mergeQueue") {
            Some(serde_json::Value::Null) => Ok(false),
            Some(queue) if queue.get("id").is_some() => Ok(true),
            _ => Err(GithubError::Decode {
                what: "the merge queue".to_owned(),
                message: data.to_string(),
            }),
        }
    }

    /// Adds the pull request (by its node id) to its base branch's merge queue, if its head
    /// is still `head`; returns the entry's position.
    pub async fn enqueue_pull(
        &self,
        inst: InstallationId,
        node_id: &str,
        head: &str,
    ) -> Result<Option<u64>, GithubError> {
        let query = "mutation($id: ID!, $head: GitObjectID!) { enqueuePullRequest(input: {pullRequestId: $id, expectedHeadOid: $head}) { mergeQueueEntry { position } } }";
        let data = self
            .graphql(
                Auth::Installation(inst),
                query,
                json!({ "id": node_id, "head": head }),
            )
            .await?;
        Ok(data
            .pointer("/enqueuePullRequest/mergeQueueEntry/position")
            .and_then(serde_json::Value::as_u64))
    }
}
