//! The fake GitHub's repository endpoints: issues, labels, comments, reactions, pull requests,
//! checks and statuses, branch protection, collaborators and contents.

use super::handlers::paginate;
use super::server::{Answer, Request};
use super::world::*;
use axum::http::{Method, StatusCode};
use base64::Engine as _;
use serde_json::{Value, json};

pub fn route(world: &mut World, req: &Request<'_>, full_name: &str, rest: &[&str]) -> Answer {
    let now = world.now();
    let bot = world.app.bot_login();
    let caller_login = match req.caller {
        Caller::Installation(_) => bot.clone(),
        _ => "someone".to_owned(),
    };
    let next_id = world.next_id();
    let Some(repo) = world.repos.get_mut(full_name) else {
        return Answer::not_found();
    };
    let base = req.base;
    let number = |text: &str| text.parse::<u64>().ok();
    sync_pulls_with_git(repo);
    match (req.method.clone(), rest) {
        (Method::GET, []) => Answer::ok(repo_json(repo, base)),
        (Method::GET, ["issues"]) => {
            let state = req.query("state").unwrap_or("open");
            let since = req
                .query("since")
                .and_then(crate::time::parse_rfc3339_ms)
                .unwrap_or(i64::MIN);
            let labels: Vec<&str> = req
                .query("labels")
                .map(|l| l.split(',').collect())
                .unwrap_or_default();
            let items: Vec<Value> = repo
                .issues
                .values()
                .filter(|i| state == "all" || i.state == state)
                .filter(|i| i.updated_at >= since)
                .filter(|i| labels.iter().all(|l| i.labels.iter().any(|have| have == l)))
                .map(|i| issue_json(repo, i, base))
                .collect();
            paginate(req, items, |items, _| Value::Array(items))
        }
        (Method::GET, ["issues", n]) => match number(n).and_then(|n| repo.issues.get(&n)) {
            Some(issue) => Answer::ok(issue_json(repo, issue, base)),
            None => Answer::not_found(),
        },
        (Method::PATCH, ["issues", n]) => {
            let Some(issue) = number(n).and_then(|n| repo.issues.get_mut(&n)) else {
                return Answer::not_found();
            };
            if let Some(state) = req.body.get("state").and_then(Value::as_str) {
                state.clone_into(&mut issue.state);
            }
            let issue = issue.clone();
            Answer::ok(issue_json(repo, &issue, base))
        }
        (Method::GET, ["labels", name]) => match repo.labels.contains_key(*name) {
            true => Answer::ok(label_json(repo, name)),
            false => Answer::not_found(),
        },
        (Method::POST, ["labels"]) => {
            let Some(name) = req.body.get("name").and_then(Value::as_str) else {
                return Answer::error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
            };
            if repo.labels.contains_key(name) {
                return Answer::json(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({ "message": "Validation Failed", "errors": [{ "resource": "Label", "code": "already_exists", "field": "name" }] }),
                );
            }
            let color = req
                .body
                .get("color")
                .and_then(Value::as_str)
                .unwrap_or("ededed")
                .to_owned();
            let description = req
                .body
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned);
            repo.labels.insert(name.to_owned(), (color, description));
            Answer::json(StatusCode::CREATED, label_json(repo, name))
        }
        (Method::POST, ["issues", n, "labels"]) => {
            let Some(issue) = number(n).and_then(|n| repo.issues.get_mut(&n)) else {
                return Answer::not_found();
            };
            let wanted: Vec<String> = req
                .body
                .get("labels")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            for label in wanted {
                if !issue.labels.contains(&label) {
                    issue.labels.push(label.clone());
                }
                repo.labels
                    .entry(label)
                    .or_insert_with(|| ("ededed".to_owned(), None));
            }
            issue.updated_at = now;
            let labels = issue.labels.clone();
            Answer::ok(Value::Array(
                labels.iter().map(|l| label_json(repo, l)).collect(),
            ))
        }
        (Method::DELETE, ["issues", n, "labels", name]) => {
            let Some(issue) = number(n).and_then(|n| repo.issues.get_mut(&n)) else {
                return Answer::not_found();
            };
            let before = issue.labels.len();
            issue.labels.retain(|l| l != name);
            if issue.labels.len() == before {
                return Answer::error(StatusCode::NOT_FOUND, "Label does not exist");
            }
            let labels = issue.labels.clone();
            Answer::ok(Value::Array(
                labels.iter().map(|l| label_json(repo, l)).collect(),
            ))
        }
        (Method::GET, ["issues", n, "comments"]) => {
            let Some(n) = number(n).filter(|n| repo.issues.contains_key(n)) else {
                return Answer::not_found();
            };
            let items: Vec<Value> = repo
                .comments
                .values()
                .filter(|c| c.issue == n)
                .map(|c| comment_json(repo, c, base))
                .collect();
            paginate(req, items, |items, _| Value::Array(items))
        }
        (Method::POST, ["issues", n, "comments"]) => {
            let Some(n) = number(n).filter(|n| repo.issues.contains_key(n)) else {
                return Answer::not_found();
            };
            let body = req
                .body
                .get("body")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let comment = FakeComment {
                id: next_id,
                issue: n,
                body,
                author: caller_login,
                author_is_bot: true,
                created_at: now,
                updated_at: now,
                reactions: Vec::new(),
            };
            let json = comment_json(repo, &comment, base);
            repo.comments.insert(next_id, comment);
            Answer::json(StatusCode::CREATED, json)
        }
        (Method::PATCH, ["issues", "comments", id]) => {
            let Some(comment) = number(id).and_then(|id| repo.comments.get_mut(&id)) else {
                return Answer::not_found();
            };
            if let Some(body) = req.body.get("body").and_then(Value::as_str) {
                comment.body = body.to_owned();
                comment.updated_at = now;
            }
            let comment = comment.clone();
            Answer::ok(comment_json(repo, &comment, base))
        }
        (Method::POST, ["issues", "comments", id, "reactions"]) => {
            let Some(comment) = number(id).and_then(|id| repo.comments.get_mut(&id)) else {
                return Answer::not_found();
            };
            let content = req
                .body
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            comment
                .reactions
                .push((caller_login.clone(), content.clone()));
            Answer::json(
                StatusCode::CREATED,
                json!({ "id": next_id, "content": content, "user": user_json(&caller_login) }),
            )
        }
        (Method::POST, ["pulls"]) => create_pull(repo, req, caller_login, next_id, now),
        (Method::GET, ["pulls"]) => {
            let head = req
                .query("head")
                .map(|h| h.split_once(':').map_or(h, |(_, b)| b).to_owned());
            let state = req.query("state").unwrap_or("open");
            let items: Vec<Value> = repo
                .pulls
                .values()
                .filter(|p| {
                    (state == "all" || p.state == state)
                        && head.as_deref().is_none_or(|h| p.head_branch == h)
                })
                .map(|p| pull_json(repo, p, base))
                .collect();
            paginate(req, items, |items, _| Value::Array(items))
        }
        (Method::GET, ["pulls", n]) => match number(n).and_then(|n| repo.pulls.get(&n)) {
            Some(pull) => Answer::ok(pull_json(repo, pull, base)),
            None => Answer::not_found(),
        },
        (Method::PATCH, ["pulls", n]) => {
            let Some(pull) = number(n).and_then(|n| repo.pulls.get_mut(&n)) else {
                return Answer::not_found();
            };
            for (field, slot) in [
                ("title", &mut pull.title),
                ("body", &mut pull.body),
                ("state", &mut pull.state),
            ] {
                if let Some(value) = req.body.get(field).and_then(Value::as_str) {
                    *slot = value.to_owned();
                }
            }
            let pull = pull.clone();
            if let Some(issue) = repo.issues.get_mut(&pull.number) {
                issue.title.clone_from(&pull.title);
                issue.body.clone_from(&pull.body);
                issue.state.clone_from(&pull.state);
            }
            Answer::ok(pull_json(repo, &pull, base))
        }
        (Method::GET, ["pulls", n, "files"]) => match number(n).and_then(|n| repo.pulls.get(&n)) {
            Some(pull) => {
                let files: Vec<Value> = pull
                    .files
                    .iter()
                    .map(|(f, s, a, d)| json!({ "filename": f, "status": s, "additions": a, "deletions": d, "changes": a + d }))
                    .collect();
                paginate(req, files, |items, _| Value::Array(items))
            }
            None => Answer::not_found(),
        },
        (Method::PUT, ["pulls", n, "merge"]) => merge_pull(repo, req, number(n), next_id),
        (Method::POST, ["pulls", n, "requested_reviewers"]) => {
            let Some(pull) = number(n).and_then(|n| repo.pulls.get_mut(&n)) else {
                return Answer::not_found();
            };
            let reviewers = req
                .body
                .get("reviewers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            // Requesting someone already requested changes nothing, as on GitHub.
            for reviewer in reviewers.iter().filter_map(Value::as_str) {
                if !pull.requested_reviewers.iter().any(|r| r == reviewer) {
                    pull.requested_reviewers.push(reviewer.to_owned());
                }
            }
            let pull = pull.clone();
            Answer::json(StatusCode::CREATED, pull_json(repo, &pull, base))
        }
        (Method::GET, ["commits", git_ref, "check-runs"]) => {
            let sha = resolve(repo, git_ref);
            let items: Vec<Value> = repo
                .check_runs
                .iter()
                .filter(|r| r.head_sha == sha)
                .map(check_run_json)
                .collect();
            paginate(
                req,
                items,
                |items, total| json!({ "total_count": total, "check_runs": items }),
            )
        }
        (Method::GET, ["commits", git_ref, "check-suites"]) => {
            let sha = resolve(repo, git_ref);
            // Each run stands for its own suite (its `check_suite.id`), beside suites that
            // have not created their runs yet.
            let mut items: Vec<Value> = repo
                .check_runs
                .iter()
                .filter(|r| r.head_sha == sha)
                .map(|r| {
                    json!({
                        "id": r.id + 7,
                        "head_sha": r.head_sha,
                        "status": r.status,
                        "conclusion": r.conclusion,
                        "app": { "id": 1, "slug": r.app_slug },
                        "latest_check_runs_count": 1,
                    })
                })
                .collect();
            items.extend(repo.queued_suites.iter().filter(|(_, s, _)| *s == sha).map(
                |(id, sha, app)| {
                    json!({
                        "id": id,
                        "head_sha": sha,
                        "status": "queued",
                        "conclusion": null,
                        "app": { "id": 1, "slug": app },
                        "latest_check_runs_count": 0,
                    })
                },
            ));
            paginate(
                req,
                items,
                |items, total| json!({ "total_count": total, "check_suites": items }),
            )
        }
        (Method::GET, ["commits"]) => {
            let branch = req.query("sha").unwrap_or(&repo.default_branch).to_owned();
            let count = req
                .query("per_page")
                .and_then(|n| n.parse().ok())
                .unwrap_or(30);
            let commits: Vec<Value> = repo
                .git_dir
                .as_deref()
                .map(|bare| super::git::recent_commits(bare, &branch, count))
                .unwrap_or_default()
                .into_iter()
                .map(|sha| json!({ "sha": sha }))
                .collect();
            Answer::ok(Value::Array(commits))
        }
        (Method::GET, ["actions", "jobs", id, "logs"]) => {
            match number(id).filter(|id| repo.job_logs.contains_key(id)) {
                Some(id) => Answer::redirect(format!("{base}/_job-logs/{full_name}/{id}")),
                None => Answer::not_found(),
            }
        }
        (Method::GET, ["commits", sha]) => {
            let parents = repo
                .git_dir
                .as_deref()
                .and_then(|bare| super::git::parents(bare, sha));
            match parents {
                Some(parents) => Answer::ok(json!({
                    "sha": sha,
                    "parents": parents.iter().map(|p| json!({ "sha": p })).collect::<Vec<_>>(),
                })),
                None => Answer::not_found(),
            }
        }
        (Method::GET, ["commits", git_ref, "status"]) => {
            let sha = resolve(repo, git_ref);
            let mut latest: Vec<(String, String)> = Vec::new();
            for (s, context, state) in repo.statuses.iter().rev().filter(|(s, _, _)| *s == sha) {
                let _ = s;
                if !latest.iter().any(|(c, _)| c == context) {
                    latest.push((context.clone(), state.clone()));
                }
            }
            let combined = if latest.is_empty() || latest.iter().any(|(_, s)| s == "pending") {
                "pending"
            } else if latest.iter().all(|(_, s)| s == "success") {
                "success"
            } else {
                "failure"
            };
            let statuses: Vec<Value> = latest.iter().map(|(c, s)| json!({ "context": c, "state": s, "description": null, "target_url": null })).collect();
            Answer::ok(
                json!({ "state": combined, "sha": sha, "total_count": statuses.len(), "statuses": statuses }),
            )
        }
        (Method::POST, ["check-runs"]) => {
            let run = FakeCheckRun {
                id: next_id,
                name: req
                    .body
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                head_sha: req
                    .body
                    .get("head_sha")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                status: req
                    .body
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("queued")
                    .to_owned(),
                conclusion: req
                    .body
                    .get("conclusion")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                app_slug: caller_login.trim_end_matches("[bot]").to_owned(),
                summary: req
                    .body
                    .pointer("/output/summary")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            };
            let json = check_run_json(&run);
            repo.check_runs.push(run);
            Answer::json(StatusCode::CREATED, json)
        }
        (Method::POST, ["check-suites", id, "rerequest"]) => {
            let Some(id) = number(id) else {
                return Answer::not_found();
            };
            repo.rerequested_suites.push(id);
            Answer::json(StatusCode::CREATED, json!({}))
        }
        (Method::GET, ["branches", branch, "protection", "required_status_checks"]) => {
            match repo.protection.get(*branch) {
                Some(contexts) => Answer::ok(json!({
                    "strict": false,
                    "contexts": contexts,
                    "checks": contexts.iter().map(|c| json!({ "context": c, "app_id": null })).collect::<Vec<_>>(),
                })),
                None => Answer::error(StatusCode::NOT_FOUND, "Branch not protected"),
            }
        }
        (Method::GET, ["collaborators", login, "permission"]) => {
            let permission = repo
                .collaborators
                .get(*login)
                .cloned()
                .unwrap_or_else(|| "read".to_owned());
            let legacy = match permission.as_str() {
                "maintain" => "write",
                "triage" => "read",
                other => other,
            };
            Answer::ok(
                json!({ "permission": legacy, "role_name": permission, "user": user_json(login) }),
            )
        }
        (Method::GET, ["git", "trees", git_ref]) => {
            let entries = match &repo.git_dir {
                Some(bare) => super::git::tree(bare, git_ref),
                None => Some(
                    repo.files
                        .iter()
                        .map(|(path, content)| (path.clone(), content.len() as u64))
                        .collect(),
                ),
            };
            match entries {
                Some(entries) => Answer::ok(json!({
                    "sha": resolve(repo, git_ref),
                    "truncated": false,
                    "tree": entries
                        .iter()
                        .map(|(path, size)| json!({ "path": path, "mode": "100644", "type": "blob", "size": size }))
                        .collect::<Vec<_>>(),
                })),
                None => Answer::not_found(),
            }
        }
        (Method::GET, ["contents", path @ ..]) => {
            let path = path.join("/");
            let git_ref = req.query("ref").unwrap_or(&repo.default_branch).to_owned();
            let from_git = repo
                .git_dir
                .as_ref()
                .map(|dir| super::git::read_file(dir, &git_ref, &path));
            let found = match from_git {
                Some(found) => found,
                None => repo
                    .files
                    .get(&path)
                    .map(|content| (blob_sha(content), content.clone())),
            };
            match found {
                Some((sha, content)) => Answer::ok(json!({
                    "type": "file",
                    "encoding": "base64",
                    "size": content.len(),
                    "name": path.rsplit('/').next(),
                    "path": path,
                    "sha": sha,
                    // GitHub wraps base64 at 60 characters.
                    "content": base64::engine::general_purpose::STANDARD
                        .encode(&content)
                        .as_bytes()
                        .chunks(60)
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect::<Vec<_>>()
                        .join("\n"),
                })),
                None => Answer::not_found(),
            }
        }
        _ => Answer::not_found(),
    }
}

/// A branch name or a sha, as a sha: a pull request's branch is its head; a name checks were
/// recorded under is kept; a branch of the git repository behind the fake is its commit.
fn resolve(repo: &FakeRepo, git_ref: &str) -> String {
    if let Some(pull) = repo.pulls.values().find(|p| p.head_branch == git_ref) {
        return pull.head_sha.clone();
    }
    let recorded = repo.check_runs.iter().any(|r| r.head_sha == git_ref)
        || repo.statuses.iter().any(|(sha, _, _)| sha == git_ref);
    if recorded {
        return git_ref.to_owned();
    }
    repo.git_dir
        .as_deref()
        .and_then(|bare| super::git::branch_head(bare, git_ref))
        .unwrap_or_else(|| git_ref.to_owned())
}

/// Git's blob id of `content` (SHA-1 of `blob <len>\0<content>`), as GitHub reports it; a
/// stand-in hash of the same shape is enough for the fake.
pub fn blob_sha(content: &[u8]) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(format!("blob {}\0", content.len()).as_bytes());
    hasher.update(content);
    hex::encode(&hasher.finalize()[..20])
}

fn create_pull(
    repo: &mut FakeRepo,
    req: &Request<'_>,
    author: String,
    id: u64,
    now: i64,
) -> Answer {
    let field = |name: &str| {
        req.body
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let head = field("head");
    let head_branch = head
        .split_once(':')
        .map_or(head.as_str(), |(_, b)| b)
        .to_owned();
    if repo
        .pulls
        .values()
        .any(|p| p.head_branch == head_branch && p.state == "open")
    {
        return Answer::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "message": "Validation Failed", "errors": [{ "resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for {}:{head_branch}.", repo.owner) }] }),
        );
    }
    let number = repo
        .issues
        .keys()
        .chain(repo.pulls.keys())
        .max()
        .copied()
        .unwrap_or(0)
        + 1;
    let pull = FakePull {
        number,
        node_id: format!("PR_{id}"),
        title: field("title"),
        body: field("body"),
        author: author.clone(),
        head_branch,
        head_sha: format!("{id:040x}"),
        base_branch: field("base"),
        draft: req
            .body
            .get("draft")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        state: "open".to_owned(),
        merged: false,
        merge_sha: None,
        merge_method: None,
        mergeable: Some(true),
        requested_reviewers: Vec::new(),
        files: Vec::new(),
    };
    // As on GitHub, the answer names the branch's head as git has it.
    let mut pull = pull;
    if let Some(sha) = repo
        .git_dir
        .as_deref()
        .and_then(|bare| super::git::branch_head(bare, &pull.head_branch))
    {
        pull.head_sha = sha;
    }
    repo.issues.insert(
        number,
        FakeIssue {
            id,
            number,
            title: pull.title.clone(),
            body: pull.body.clone(),
            state: "open".to_owned(),
            locked: false,
            labels: Vec::new(),
            assignees: Vec::new(),
            author,
            created_at: now,
            updated_at: now,
            is_pull_request: true,
            linked_pull_requests: 0,
        },
    );
    let json = pull_json(repo, &pull, req.base);
    repo.pulls.insert(number, pull);
    Answer::json(StatusCode::CREATED, json)
}

fn merge_pull(repo: &mut FakeRepo, req: &Request<'_>, number: Option<u64>, id: u64) -> Answer {
    let Some(pull) = number.and_then(|n| repo.pulls.get_mut(&n)) else {
        return Answer::not_found();
    };
    if pull.merged || pull.state != "open" || pull.draft || pull.mergeable != Some(true) {
        return Answer::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Pull Request is not mergeable",
        );
    }
    if let Some(sha) = req.body.get("sha").and_then(Value::as_str)
        && sha != pull.head_sha
    {
        return Answer::error(
            StatusCode::CONFLICT,
            "Head branch was modified. Review and try the merge again.",
        );
    }
    // GitHub's default method is a merge commit; the repository's settings may disallow any.
    let method = req
        .body
        .get("merge_method")
        .and_then(Value::as_str)
        .unwrap_or("merge");
    let refused = match method {
        "merge" => "Merge commits are not allowed on this repository.",
        "squash" => "Squash merges are not allowed on this repository.",
        "rebase" => "Rebase merges are not allowed on this repository.",
        _ => {
            return Answer::error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid merge_method: must be one of merge, squash, rebase",
            );
        }
    };
    if repo.disallowed_merge_methods.iter().any(|m| m == method) {
        return Answer::error(StatusCode::METHOD_NOT_ALLOWED, refused);
    }
    // A repository backed by git gets the merged commits on its base branch.
    let squashed = match &repo.git_dir {
        Some(bare) => {
            let title = req
                .body
                .get("commit_title")
                .and_then(Value::as_str)
                .map_or_else(
                    || format!("{} (#{})", pull.title, pull.number),
                    str::to_owned,
                );
            match super::git::merge_by(bare, &pull.base_branch, &pull.head_branch, &title, method) {
                Some(sha) => Some(sha),
                None => {
                    return Answer::error(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "Pull Request is not mergeable",
                    );
                }
            }
        }
        None => None,
    };
    pull.merge_method = Some(method.to_owned());
    pull.merged = true;
    pull.state = "closed".to_owned();
    let sha = squashed.unwrap_or_else(|| format!("{id:040x}"));
    pull.merge_sha = Some(sha.clone());
    let number = pull.number;
    // As on GitHub, a merge into the default branch closes the issues the body says it fixes.
    let fixes = if pull.base_branch == repo.default_branch {
        closing_references(&pull.body)
    } else {
        Vec::new()
    };
    for n in fixes.into_iter().chain([number]) {
        if let Some(issue) = repo.issues.get_mut(&n) {
            issue.state = "closed".to_owned();
        }
    }
    Answer::ok(json!({ "sha": sha, "merged": true, "message": "Pull Request successfully merged" }))
}

/// The issues a pull request body closes: `Fixes #N`, `Closes #N`, `Resolves #N`.
fn closing_references(body: &str) -> Vec<u64> {
    let lower = body.to_lowercase();
    let mut found = Vec::new();
    for keyword in ["fixes #", "closes #", "resolves #"] {
        for (at, _) in lower.match_indices(keyword) {
            let digits: String = lower[at + keyword.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                found.push(n);
            }
        }
    }
    found
}

/// Open pull requests of a repository backed by git follow their branches: head and files as
/// git has them (a push to the branch moves the head, as on GitHub).
pub fn sync_pulls_with_git(repo: &mut FakeRepo) {
    let Some(bare) = repo.git_dir.clone() else {
        return;
    };
    for pull in repo.pulls.values_mut().filter(|p| p.state == "open") {
        let Some(head) = super::git::branch_head(&bare, &pull.head_branch) else {
            continue;
        };
        let base = super::git::branch_head(&bare, &pull.base_branch)
            .unwrap_or_else(|| pull.base_branch.clone());
        pull.files = repo
            .diffs
            .entry((base.clone(), head.clone()))
            .or_insert_with(|| super::git::changed_files(&bare, &base, &head))
            .clone();
        pull.head_sha = head;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fake_github::git;

    /// A pull request's head and files follow git: a push to its branch, or to its base, is
    /// seen at the next read even though the diff of an unchanged pair is kept.
    #[test]
    fn a_pull_requests_files_follow_pushes_to_its_branch_and_its_base() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bare = git::create_bare(dir.path(), "o/r", &[("a.txt", "a\n"), ("b.txt", "b\n")]);
        let head = git::create_branch(&bare, "fix", &[("a.txt", "a2\n")], "bot");
        let mut repo = FakeRepo {
            git_dir: Some(bare.clone()),
            ..FakeRepo::default()
        };
        repo.pulls.insert(
            1,
            FakePull {
                number: 1,
                node_id: "PR_1".to_owned(),
                title: "Fix a".to_owned(),
                body: String::new(),
                author: "bot".to_owned(),
                head_branch: "fix".to_owned(),
                head_sha: head.clone(),
                base_branch: "main".to_owned(),
                draft: true,
                state: "open".to_owned(),
                merged: false,
                merge_sha: None,
                merge_method: None,
                mergeable: None,
                requested_reviewers: Vec::new(),
                files: Vec::new(),
            },
        );
        let files = |repo: &mut FakeRepo| {
            sync_pulls_with_git(repo);
            let pull = &repo.pulls[&1];
            let paths: Vec<String> = pull.files.iter().map(|f| f.0.clone()).collect();
            (pull.head_sha.clone(), paths)
        };
        assert_eq!(files(&mut repo), (head.clone(), vec!["a.txt".to_owned()]));
        assert_eq!(
            files(&mut repo),
            (head, vec!["a.txt".to_owned()]),
            "read again"
        );

        let pushed = git::push_commit(&bare, "fix", "b.txt", "b2\n", "maintainer");
        assert_eq!(
            files(&mut repo),
            (pushed.clone(), vec!["a.txt".to_owned(), "b.txt".to_owned()]),
            "a push to the branch"
        );
        // A push to the base alone is a new pair; as on GitHub the files are still those since
        // the merge base (three dots).
        git::push_commit(&bare, "main", "c.txt", "c\n", "maintainer");
        let (_, paths) = files(&mut repo);
        assert_eq!(
            paths,
            ["a.txt", "b.txt"],
            "the base's own change is not the pull's"
        );
        assert_eq!(repo.diffs.len(), 3, "one diff per (base, head) pair");
    }
}
