//! One method per GitHub call GlobalLM makes as an installation, each returning GlobalLM's own
//! types. The permission each needs is in `docs/architecture.md`.

use super::client::{Auth, GithubClient};
use super::error::GithubError;
use super::ids::{CheckSuiteId, CommentId, InstallationId, IssueNumber, RepoName};
use super::model::*;
use super::repo_config::MergeMethod;
use crate::event::model::{CheckRun, Comment, Issue, PullRequest, RepoRef, Repository};
use crate::event::raw::{RawCheckRun, RawComment, RawIssue, RawPullRequest, RawRepoRef};
use http::Method;
use serde::Deserialize;
use serde_json::json;

/// The most items a listing fetches unless a caller asks for fewer.
pub const MAX_LIST: usize = 1_000;

/// The hidden marker that names what a comment of GlobalLM's says once: how it finds its own
/// comment again (to edit it, or to adopt it after a write whose answer was lost).
pub fn marker(key: &str) -> String {
    format!("<!-- globallm:{key} -->")
}

/// Escapes a path segment (a label name, a file path piece, a login) or a query.
pub(crate) fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl GithubClient {
    /// `GET /repos/{owner}/{repo}/issues/{number}`
    pub async fn get_issue(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
    ) -> Result<Issue, GithubError> {
        let raw: RawIssue = self
            .get(
                Auth::Installation(inst),
                &format!("/repos/{repo}/issues/{number}"),
            )
            .await?;
        Ok(raw.into())
    }

    /// `GET /repos/{owner}/{repo}/issues?state=open`, pull requests left out, oldest first.
    pub async fn list_open_issues(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        max: usize,
    ) -> Result<Vec<Issue>, GithubError> {
        self.open_issues_as(Auth::Installation(inst), repo, max)
            .await
    }

    /// The numbers of open issues (pull requests left out) labelled `label`, at most 100.
    pub async fn open_issues_labelled(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        label: &str,
    ) -> Result<Vec<u64>, GithubError> {
        let path = format!(
            "/repos/{repo}/issues?state=open&labels={}&per_page=100",
            segment(label)
        );
        let issues = self
            .get_pages(Auth::Installation(inst), &path, 1, |page: Vec<RawIssue>| {
                page
            })
            .await?;
        Ok(issues
            .into_iter()
            .map(Issue::from)
            .filter(|i| !i.is_pull_request)
            .map(|i| i.number.0)
            .collect())
    }

    /// `GET /repos/{owner}/{repo}/labels/{name}`, and `POST /repos/{owner}/{repo}/labels` when
    /// it is missing.
    pub async fn ensure_label(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        label: &Label,
    ) -> Result<Label, GithubError> {
        let auth = Auth::Installation(inst);
        match self
            .get::<Label>(
                auth,
                &format!("/repos/{repo}/labels/{}", segment(&label.name)),
            )
            .await
        {
            Ok(existing) => Ok(existing),
            Err(GithubError::NotFound(_)) => {
                match self
                    .write(Method::POST, auth, &format!("/repos/{repo}/labels"), label)
                    .await
                {
                    Ok(created) => Ok(created),
                    // Created meanwhile by someone else.
                    Err(GithubError::Validation { status: 422, .. }) => Ok(label.clone()),
                    Err(err) => Err(err),
                }
            }
            Err(err) => Err(err),
        }
    }

    /// `POST /repos/{owner}/{repo}/issues/{number}/labels`
    pub async fn add_labels(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
        labels: &[String],
    ) -> Result<Vec<Label>, GithubError> {
        let path = format!("/repos/{repo}/issues/{number}/labels");
        self.write(
            Method::POST,
            Auth::Installation(inst),
            &path,
            &json!({ "labels": labels }),
        )
        .await
    }

    /// `DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name}`; a label that is not there
    /// is not an error.
    pub async fn remove_label(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
        label: &str,
    ) -> Result<(), GithubError> {
        let path = format!("/repos/{repo}/issues/{number}/labels/{}", segment(label));
        match self
            .call::<()>(Method::DELETE, Auth::Installation(inst), &path, None)
            .await
        {
            Ok(_) | Err(GithubError::NotFound(_)) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// `GET /repos/{owner}/{repo}/issues/{number}/comments`, all pages.
    pub async fn list_comments(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
    ) -> Result<Vec<Comment>, GithubError> {
        let path = format!("/repos/{repo}/issues/{number}/comments?per_page=100");
        let raw = self
            .get_pages(
                Auth::Installation(inst),
                &path,
                MAX_LIST,
                |page: Vec<RawComment>| page,
            )
            .await?;
        Ok(raw.into_iter().map(Comment::from).collect())
    }

    /// The first comment on an issue that contains `marker` and was written by `author`: how
    /// the bot finds its own comment again to edit it instead of writing a second one.
    pub async fn find_comment(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
        author: &str,
        marker: &str,
    ) -> Result<Option<Comment>, GithubError> {
        let comments = self.list_comments(inst, repo, number).await?;
        Ok(comments
            .into_iter()
            .find(|c| c.author.login == author && c.body.contains(marker)))
    }

    /// `POST /repos/{owner}/{repo}/issues/{number}/comments`, at most once per `key`: the body
    /// carries the hidden marker of `key` ([`marker`]), and when the answer is lost the
    /// comment is looked up by that marker (among comments by bots written since) before the
    /// request is sent again. A `key` names what the comment says once (`triage`,
    /// `command:…`, `fix:…@<sha>`).
    pub async fn create_comment(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
        key: &str,
        body: &str,
    ) -> Result<Comment, GithubError> {
        let marker = marker(key);
        let body = if body.contains(&marker) {
            body.to_owned()
        } else {
            format!("{body}\n\n{marker}")
        };
        let path = format!("/repos/{repo}/issues/{number}/comments");
        // GitHub's clock and ours may differ: look a few minutes further back.
        let since = self.clock().now_ms() - 10 * 60_000;
        self.create_once(
            Auth::Installation(inst),
            &path,
            &json!({ "body": body }),
            |answer| answer.json::<RawComment>(&path).map(Comment::from),
            || self.find_keyed(inst, repo, number, key, Some(since)),
        )
        .await
    }

    /// The bot's comment carrying `key`'s marker on an issue or pull request, among those
    /// updated since `since` (all, when `None`; at most [`MAX_LIST`] pages).
    pub async fn find_keyed(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
        key: &str,
        since: Option<crate::time::Millis>,
    ) -> Result<Option<Comment>, GithubError> {
        let marker = marker(key);
        let since = since
            .map(|ms| format!("&since={}", segment(&crate::time::iso8601(ms))))
            .unwrap_or_default();
        let path = format!("/repos/{repo}/issues/{number}/comments?per_page=100{since}");
        let comments = self
            .get_pages(
                Auth::Installation(inst),
                &path,
                MAX_LIST,
                |page: Vec<RawComment>| page,
            )
            .await?;
        Ok(comments.into_iter().map(Comment::from).find(|c| {
            c.author.kind == crate::event::model::AccountKind::Bot && c.body.contains(&marker)
        }))
    }

    /// `PATCH /repos/{owner}/{repo}/issues/comments/{id}`
    pub async fn update_comment(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        id: CommentId,
        body: &str,
    ) -> Result<Comment, GithubError> {
        let path = format!("/repos/{repo}/issues/comments/{id}");
        let raw: RawComment = self
            .write(
                Method::PATCH,
                Auth::Installation(inst),
                &path,
                &json!({ "body": body }),
            )
            .await?;
        Ok(raw.into())
    }

    /// `POST /repos/{owner}/{repo}/issues/comments/{id}/reactions` with `content` one of
    /// `+1`, `-1`, `laugh`, `confused`, `heart`, `hooray`, `rocket`, `eyes`.
    pub async fn add_reaction(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        id: CommentId,
        content: &str,
    ) -> Result<(), GithubError> {
        let path = format!("/repos/{repo}/issues/comments/{id}/reactions");
        self.call(
            Method::POST,
            Auth::Installation(inst),
            &path,
            Some(&json!({ "content": content })),
        )
        .await
        .map(drop)
    }

    /// `POST /repos/{owner}/{repo}/pulls`, at most once: when the answer is lost, an open pull
    /// request from the same head branch is adopted instead of opening a second.
    pub async fn create_pull(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        pull: &NewPullRequest,
    ) -> Result<PullRequest, GithubError> {
        let path = format!("/repos/{repo}/pulls");
        let find = || async {
            let open = self
                .pulls_for_branch(inst, repo, &pull.head, "open")
                .await?;
            Ok(open.into_iter().next())
        };
        self.create_once(
            Auth::Installation(inst),
            &path,
            pull,
            |answer| answer.json::<RawPullRequest>(&path).map(PullRequest::from),
            find,
        )
        .await
    }

    /// `GET /repos/{owner}/{repo}/pulls/{number}`
    pub async fn get_pull(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
    ) -> Result<PullRequest, GithubError> {
        let raw: RawPullRequest = self
            .get(
                Auth::Installation(inst),
                &format!("/repos/{repo}/pulls/{number}"),
            )
            .await?;
        Ok(raw.into())
    }

    /// `GET /repos/{owner}/{repo}/pulls?head={owner}:{branch}&state={state}`
    pub async fn pulls_for_branch(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        branch: &str,
        state: &str,
    ) -> Result<Vec<PullRequest>, GithubError> {
        let path = format!(
            "/repos/{repo}/pulls?head={}:{}&state={state}&per_page=100",
            segment(repo.owner()),
            segment(branch)
        );
        let raw = self
            .get_pages(
                Auth::Installation(inst),
                &path,
                MAX_LIST,
                |page: Vec<RawPullRequest>| page,
            )
            .await?;
        Ok(raw.into_iter().map(PullRequest::from).collect())
    }

    /// `PATCH /repos/{owner}/{repo}/pulls/{number}`
    pub async fn update_pull(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
        update: &PullRequestUpdate,
    ) -> Result<PullRequest, GithubError> {
        let raw: RawPullRequest = self
            .write(
                Method::PATCH,
                Auth::Installation(inst),
                &format!("/repos/{repo}/pulls/{number}"),
                update,
            )
            .await?;
        Ok(raw.into())
    }

    /// `GET /repos/{owner}/{repo}/pulls/{number}/files`
    pub async fn pull_files(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
    ) -> Result<Vec<PullRequestFile>, GithubError> {
        let path = format!("/repos/{repo}/pulls/{number}/files?per_page=100");
        self.get_pages(
            Auth::Installation(inst),
            &path,
            3_000,
            |page: Vec<PullRequestFile>| page,
        )
        .await
    }

    /// `PUT /repos/{owner}/{repo}/pulls/{number}/merge` by `method`, only if the head is still
    /// `sha`: a moved head is refused by GitHub with 409 ([`GithubError::Validation`]), a
    /// method the repository's settings disallow with 405. `title` names the squashed or merge
    /// commit (a rebase keeps the branch's commits).
    pub async fn merge_pull(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
        sha: &str,
        title: &str,
        method: MergeMethod,
    ) -> Result<MergeResult, GithubError> {
        let path = format!("/repos/{repo}/pulls/{number}/merge");
        let mut body = json!({ "sha": sha, "merge_method": method.as_str() });
        if method != MergeMethod::Rebase {
            body["commit_title"] = json!(title);
        }
        self.write(Method::PUT, Auth::Installation(inst), &path, &body)
            .await
    }

    /// `POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers`
    pub async fn request_reviewers(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
        reviewers: &[String],
    ) -> Result<(), GithubError> {
        let path = format!("/repos/{repo}/pulls/{number}/requested_reviewers");
        self.call(
            Method::POST,
            Auth::Installation(inst),
            &path,
            Some(&json!({ "reviewers": reviewers })),
        )
        .await
        .map(drop)
    }

    /// Marks a draft pull request ready for review (GraphQL `markPullRequestReadyForReview`;
    /// REST cannot).
    pub async fn mark_ready_for_review(
        &self,
        inst: InstallationId,
        pull: &PullRequest,
    ) -> Result<(), GithubError> {
        let query = "mutation($id: ID!) { markPullRequestReadyForReview(input: {pullRequestId: $id}) { pullRequest { isDraft } } }";
        self.graphql(
            Auth::Installation(inst),
            query,
            json!({ "id": pull.node_id }),
        )
        .await
        .map(drop)
    }

    /// How many open pull requests will close an issue when merged (GraphQL
    /// `closedByPullRequestsReferences`, one rate-limit point).
    pub async fn linked_pull_requests(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: IssueNumber,
    ) -> Result<u64, GithubError> {
        let query = "query($owner: String!, $name: String!, $number: Int!) { repository(owner: $owner, name: $name) { \
                     issue(number: $number) { closedByPullRequestsReferences(first: 1, includeClosedPrs: false) { totalCount } } } }";
        let variables = json!({ "owner": repo.owner(), "name": repo.name(), "number": number.0 });
        let data = self
            .graphql(Auth::Installation(inst), query, variables)
            .await?;
        data.pointer("/repository/issue/closedByPullRequestsReferences/totalCount")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| GithubError::Decode {
                what: "linked pull requests".to_owned(),
                message: data.to_string(),
            })
    }

    /// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`, all pages.
    pub async fn check_runs(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        git_ref: &str,
    ) -> Result<Vec<CheckRun>, GithubError> {
        #[derive(Deserialize)]
        struct Page {
            check_runs: Vec<RawCheckRun>,
        }
        let path = format!(
            "/repos/{repo}/commits/{}/check-runs?per_page=100",
            segment(git_ref)
        );
        let raw = self
            .get_pages(Auth::Installation(inst), &path, MAX_LIST, |page: Page| {
                page.check_runs
            })
            .await?;
        Ok(raw.into_iter().map(CheckRun::from).collect())
    }

    /// `GET /repos/{owner}/{repo}/commits/{ref}/check-suites`, all pages.
    pub async fn check_suites(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        git_ref: &str,
    ) -> Result<Vec<CheckSuiteSummary>, GithubError> {
        #[derive(Deserialize)]
        struct Page {
            check_suites: Vec<CheckSuiteSummary>,
        }
        let path = format!(
            "/repos/{repo}/commits/{}/check-suites?per_page=100",
            segment(git_ref)
        );
        self.get_pages(Auth::Installation(inst), &path, MAX_LIST, |page: Page| {
            page.check_suites
        })
        .await
    }

    /// `GET /repos/{owner}/{repo}/commits?sha={branch}`: the shas of the branch's newest
    /// commits, newest first.
    pub async fn recent_commits(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        branch: &str,
        count: usize,
    ) -> Result<Vec<String>, GithubError> {
        #[derive(Deserialize)]
        struct Commit {
            sha: String,
        }
        let path = format!(
            "/repos/{repo}/commits?sha={}&per_page={count}",
            segment(branch)
        );
        let commits: Vec<Commit> = self.get(Auth::Installation(inst), &path).await?;
        Ok(commits.into_iter().take(count).map(|c| c.sha).collect())
    }

    /// `GET /repos/{owner}/{repo}/commits/{ref}/status`
    pub async fn combined_status(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        git_ref: &str,
    ) -> Result<CombinedStatus, GithubError> {
        self.get(
            Auth::Installation(inst),
            &format!(
                "/repos/{repo}/commits/{}/status?per_page=100",
                segment(git_ref)
            ),
        )
        .await
    }

    /// `POST /repos/{owner}/{repo}/check-runs`, at most once: when the answer is lost, a run
    /// of the same name on the same head is adopted instead of creating a second.
    pub async fn create_check_run(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        run: &NewCheckRun,
    ) -> Result<CheckRun, GithubError> {
        let path = format!("/repos/{repo}/check-runs");
        let find = || async {
            let runs = self.check_runs(inst, repo, &run.head_sha).await?;
            Ok(runs.into_iter().find(|r| r.name == run.name))
        };
        self.create_once(
            Auth::Installation(inst),
            &path,
            run,
            |answer| answer.json::<RawCheckRun>(&path).map(CheckRun::from),
            find,
        )
        .await
    }

    /// `POST /repos/{owner}/{repo}/check-suites/{id}/rerequest`: runs a suite again.
    pub async fn rerequest_check_suite(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        suite: CheckSuiteId,
    ) -> Result<(), GithubError> {
        let path = format!("/repos/{repo}/check-suites/{suite}/rerequest");
        self.call::<()>(Method::POST, Auth::Installation(inst), &path, None)
            .await
            .map(drop)
    }

    /// `GET /repos/{owner}/{repo}`
    pub async fn get_repo(
        &self,
        inst: InstallationId,
        repo: &RepoName,
    ) -> Result<Repository, GithubError> {
        self.repo_as(Auth::Installation(inst), repo).await
    }

    /// `GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks`;
    /// `None` when the branch is not protected or requires no checks.
    pub async fn required_checks(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        branch: &str,
    ) -> Result<Option<RequiredChecks>, GithubError> {
        #[derive(Deserialize)]
        struct Check {
            context: String,
        }
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            strict: bool,
            #[serde(default)]
            contexts: Vec<String>,
            #[serde(default)]
            checks: Vec<Check>,
        }
        let path = format!(
            "/repos/{repo}/branches/{}/protection/required_status_checks",
            segment(branch)
        );
        match self.get::<Answer>(Auth::Installation(inst), &path).await {
            Ok(answer) => {
                let mut contexts = answer.contexts;
                contexts.extend(answer.checks.into_iter().map(|c| c.context));
                contexts.sort();
                contexts.dedup();
                Ok(Some(RequiredChecks {
                    strict: answer.strict,
                    contexts,
                }))
            }
            Err(GithubError::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `GET /repos/{owner}/{repo}/collaborators/{login}/permission`; someone who is not a
    /// collaborator has [`Permission::None`] (or the repository's base permission).
    pub async fn collaborator_permission(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        login: &str,
    ) -> Result<Permission, GithubError> {
        #[derive(Deserialize)]
        struct Answer {
            permission: String,
            #[serde(default)]
            role_name: Option<String>,
        }
        let path = format!("/repos/{repo}/collaborators/{}/permission", segment(login));
        match self.get::<Answer>(Auth::Installation(inst), &path).await {
            Ok(answer) => Ok(Permission::from_github(
                answer.role_name.as_deref().unwrap_or(&answer.permission),
            )),
            Err(GithubError::NotFound(_)) => Ok(Permission::None),
            Err(err) => Err(err),
        }
    }

    /// `GET /repos/{owner}/{repo}/contents/{path}?ref={ref}`; `None` when there is no such file.
    pub async fn get_file(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        path: &str,
        git_ref: Option<&str>,
    ) -> Result<Option<FileContent>, GithubError> {
        use base64::Engine as _;
        #[derive(Deserialize)]
        struct Answer {
            #[serde(rename = "type")]
            kind: String,
            path: String,
            sha: String,
            #[serde(default)]
            content: String,
        }
        let encoded: Vec<String> = path.split('/').map(segment).collect();
        let mut url = format!("/repos/{repo}/contents/{}", encoded.join("/"));
        if let Some(git_ref) = git_ref {
            url.push_str(&format!("?ref={}", segment(git_ref)));
        }
        let answer = match self.get::<Answer>(Auth::Installation(inst), &url).await {
            Ok(answer) => answer,
            Err(GithubError::NotFound(_)) => return Ok(None),
            Err(err) => return Err(err),
        };
        if answer.kind != "file" {
            return Ok(None);
        }
        let compact: String = answer.content.split_whitespace().collect();
        let content = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|err| GithubError::Decode {
                what: url.clone(),
                message: format!("content is not base64: {err}"),
            })?;
        Ok(Some(FileContent {
            path: answer.path,
            sha: answer.sha,
            content,
        }))
    }

    /// `GET /installation/repositories`, all pages.
    pub async fn installation_repositories(
        &self,
        inst: InstallationId,
    ) -> Result<Vec<RepoRef>, GithubError> {
        #[derive(Deserialize)]
        struct Page {
            repositories: Vec<RawRepoRef>,
        }
        let raw = self
            .get_pages(
                Auth::Installation(inst),
                "/installation/repositories?per_page=100",
                100_000,
                |page: Page| page.repositories,
            )
            .await?;
        Ok(raw.into_iter().map(RepoRef::from).collect())
    }

    /// `GET /search/issues?q=…`, up to `max` results.
    pub async fn search_issues(
        &self,
        inst: InstallationId,
        query: &str,
        max: usize,
    ) -> Result<Vec<Issue>, GithubError> {
        #[derive(Deserialize)]
        struct Page {
            items: Vec<RawIssue>,
        }
        let path = format!("/search/issues?q={}&per_page=100", segment(query));
        let raw = self
            .get_pages(Auth::Installation(inst), &path, max, |page: Page| {
                page.items
            })
            .await?;
        Ok(raw.into_iter().map(Issue::from).collect())
    }

    /// `POST /graphql`; GraphQL errors become [`GithubError::Validation`].
    pub async fn graphql(
        &self,
        auth: Auth,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<serde_json::Value, GithubError> {
        let (data, errors) = self.post_graphql(auth, query, variables).await?;
        if !errors.is_empty() {
            return Err(GithubError::Validation {
                status: 200,
                message: errors.join("; "),
            });
        }
        data.ok_or_else(|| GithubError::Decode {
            what: "graphql".to_owned(),
            message: "no data".to_owned(),
        })
    }

    /// `POST /graphql`: the answer's `data` and its errors' messages, as GitHub sent them.
    pub(crate) async fn post_graphql(
        &self,
        auth: Auth,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<(Option<serde_json::Value>, Vec<String>), GithubError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            data: Option<serde_json::Value>,
            #[serde(default)]
            errors: Vec<serde_json::Value>,
        }
        let answer: Answer = self
            .write(
                Method::POST,
                auth,
                "/graphql",
                &json!({ "query": query, "variables": variables }),
            )
            .await?;
        let errors = answer
            .errors
            .iter()
            .map(|e| {
                e.get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("error")
                    .to_owned()
            })
            .collect();
        Ok((answer.data, errors))
    }
}
