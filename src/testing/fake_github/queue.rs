//! The fake GitHub's merge queue: a branch may require one (`Repository.mergeQueue(branch:)`
//! answers non-null), `enqueuePullRequest` forms a merge group — a real merge commit of the
//! pull request onto the base, on a `gh-readonly-queue/<base>/pr-<n>-<base sha>` branch — and
//! the test settles the queue from the checks reported on that commit: all green merges it
//! (the base moves to the group's commit, the pull request closes as merged), a failure
//! removes it (`dequeued`). Each step returns the deliveries GitHub would send.

use super::FakeGithub;
use super::server::{Answer, Request};
use super::world::{self, World};
use serde_json::{Value, json};

/// The bot GitHub's merge queue acts as.
const QUEUE_BOT: &str = "github-merge-queue[bot]";

fn var<'a>(req: &'a Request<'_>, name: &str) -> Option<&'a Value> {
    req.body.pointer(&format!("/variables/{name}"))
}

/// `repository(owner, name) { mergeQueue(branch) { id } }`
pub(super) fn merge_queue_query(world: &World, req: &Request<'_>) -> Answer {
    let full_name = format!(
        "{}/{}",
        var(req, "owner")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        var(req, "name").and_then(Value::as_str).unwrap_or_default()
    );
    let branch = var(req, "branch")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(repo) = world.repos.get(&full_name) else {
        return Answer::ok(
            json!({ "data": { "repository": null }, "errors": [{ "message": "Could not resolve to a Repository" }] }),
        );
    };
    let queue = repo
        .merge_queue_branches
        .iter()
        .any(|b| b == branch)
        .then(|| json!({ "id": format!("MQ_{}_{branch}", repo.id) }));
    Answer::ok(json!({ "data": { "repository": { "mergeQueue": queue } } }))
}

/// `enqueuePullRequest(input: {pullRequestId, expectedHeadOid})`
pub(super) fn enqueue(world: &mut World, req: &Request<'_>) -> Answer {
    let refuse =
        |message: &str| Answer::ok(json!({ "data": null, "errors": [{ "message": message }] }));
    let id = var(req, "id").and_then(Value::as_str).unwrap_or_default();
    let expected = var(req, "head").and_then(Value::as_str);
    let Some(repo) = world
        .repos
        .values_mut()
        .find(|r| r.pulls.values().any(|p| p.node_id == id))
    else {
        return refuse(&format!(
            "Could not resolve to a node with the global id of '{id}'"
        ));
    };
    let pull = repo
        .pulls
        .values()
        .find(|p| p.node_id == id)
        .expect("found above")
        .clone();
    if !repo.merge_queue_branches.contains(&pull.base_branch) {
        return refuse("Pull request's base branch does not require a merge queue");
    }
    if pull.state != "open" || pull.draft {
        return refuse("Pull request is not in a mergeable state");
    }
    if expected.is_some_and(|e| e != pull.head_sha) {
        return refuse("Expected head OID does not match the pull request's head");
    }
    if repo.merge_queue.iter().any(|(n, _, _)| *n == pull.number) {
        return refuse("Pull request is already in the merge queue");
    }
    let Some(bare) = repo.git_dir.clone() else {
        return refuse("the fake merge queue needs a repository backed by git");
    };
    let base_sha = super::git::branch_head(&bare, &pull.base_branch).unwrap_or_default();
    let group_ref = format!(
        "gh-readonly-queue/{}/pr-{}-{base_sha}",
        pull.base_branch, pull.number
    );
    let Some(group) =
        super::git::merge_group(&bare, &pull.base_branch, &pull.head_branch, &group_ref)
    else {
        return refuse("Pull request has merge conflicts");
    };
    repo.merge_queue.push((pull.number, group_ref, group));
    let position = repo.merge_queue.len();
    Answer::ok(
        json!({ "data": { "enqueuePullRequest": { "mergeQueueEntry": { "position": position } } } }),
    )
}

impl FakeGithub {
    /// Makes merges into `branch` of `repo` go through a merge queue.
    pub fn require_merge_queue(&self, repo: &str, branch: &str) {
        let mut world = self.world();
        let fake = world.repos.get_mut(repo).expect("the repository exists");
        fake.merge_queue_branches.push(branch.to_owned());
    }

    /// The commit of the merge group of pull request `number`, while it is in the queue.
    pub fn merge_group_head(&self, repo: &str, number: u64) -> Option<String> {
        let world = self.world();
        world.repos[repo]
            .merge_queue
            .iter()
            .find(|(n, _, _)| *n == number)
            .map(|(_, _, head)| head.clone())
    }

    /// A `merge_group` delivery for pull request `number`'s group.
    pub fn merge_group_delivery(
        &self,
        repo: &str,
        number: u64,
        action: &str,
        reason: Option<&str>,
    ) -> Vec<u8> {
        let world = self.world();
        let fake = &world.repos[repo];
        let (_, group_ref, head) = fake
            .merge_queue
            .iter()
            .find(|(n, _, _)| *n == number)
            .expect("the pull request is in the merge queue");
        self::group_delivery(&world, repo, group_ref, head, action, reason, &self.api_url)
    }

    /// A maintainer removes pull request `number` from the queue: returns its `dequeued`
    /// delivery (reason `MANUAL`).
    pub fn dequeue_by_hand(&self, repo: &str, number: u64, sender: &str) -> Vec<u8> {
        {
            let mut world = self.world();
            let fake = world.repos.get_mut(repo).expect("the repository exists");
            let at = fake
                .merge_queue
                .iter()
                .position(|(n, _, _)| *n == number)
                .expect("the pull request is in the merge queue");
            let (_, group_ref, _) = fake.merge_queue.remove(at);
            let bare = fake.git_dir.clone().expect("a repository backed by git");
            super::git::delete_branch(&bare, &group_ref);
        }
        let body = self.pull_delivery("dequeued", repo, number, sender, None, None);
        let mut value: Value = serde_json::from_slice(&body).expect("JSON");
        value["reason"] = json!("MANUAL");
        value.to_string().into_bytes()
    }

    /// Settles the first entry of the queue from the checks on its group's commit: all
    /// completed and green merges it; one failed removes it; otherwise nothing happens.
    /// Returns the deliveries GitHub sends, in order, as `(event, body)`.
    pub fn settle_merge_queue(&self, repo: &str) -> Vec<(&'static str, Vec<u8>)> {
        let (number, group_ref, head, green) = {
            let world = self.world();
            let fake = &world.repos[repo];
            let Some((number, group_ref, head)) = fake.merge_queue.first().cloned() else {
                return Vec::new();
            };
            let runs: Vec<_> = fake
                .check_runs
                .iter()
                .filter(|r| r.head_sha == head)
                .collect();
            if runs.is_empty() || runs.iter().any(|r| r.status != "completed") {
                return Vec::new();
            }
            let green = runs.iter().all(|r| {
                matches!(
                    r.conclusion.as_deref(),
                    Some("success" | "neutral" | "skipped")
                )
            });
            (number, group_ref, head, green)
        };
        let reason = if green { "merged" } else { "dequeued" };
        let destroyed = {
            let world = self.world();
            group_delivery(
                &world,
                repo,
                &group_ref,
                &head,
                "destroyed",
                Some(reason),
                &self.api_url,
            )
        };
        {
            let mut world = self.world();
            let fake = world.repos.get_mut(repo).expect("the repository exists");
            fake.merge_queue.remove(0);
            let bare = fake.git_dir.clone().expect("a repository backed by git");
            let pull = fake.pulls.get_mut(&number).expect("the pull request");
            if green {
                let base = super::git::branch_head(&bare, &pull.base_branch).unwrap_or_default();
                let (parents, _) = super::git::commit_info(&bare, &head);
                assert!(
                    parents.first() == Some(&base)
                        && super::git::move_branch(&bare, &pull.base_branch, &head, &base),
                    "the fake merge queue merges only onto the base its group was built on"
                );
                pull.merged = true;
                pull.state = "closed".to_owned();
                pull.merge_sha = Some(head.clone());
                pull.merge_method = Some("merge".to_owned());
            }
            super::git::delete_branch(&bare, &group_ref);
        }
        let pull = if green {
            self.pull_delivery("closed", repo, number, QUEUE_BOT, None, None)
        } else {
            let body = self.pull_delivery("dequeued", repo, number, QUEUE_BOT, None, None);
            let mut value: Value = serde_json::from_slice(&body).expect("JSON");
            value["reason"] = json!("CI_FAILURE");
            value.to_string().into_bytes()
        };
        vec![("merge_group", destroyed), ("pull_request", pull)]
    }
}

fn group_delivery(
    world: &World,
    repo: &str,
    group_ref: &str,
    head: &str,
    action: &str,
    reason: Option<&str>,
    api_url: &str,
) -> Vec<u8> {
    let fake = &world.repos[repo];
    let base = group_ref
        .strip_prefix("gh-readonly-queue/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("main");
    let mut delivery = json!({
        "action": action,
        "merge_group": {
            "head_sha": head,
            "head_ref": format!("refs/heads/{group_ref}"),
            "base_sha": group_ref.rsplit('-').next().unwrap_or_default(),
            "base_ref": format!("refs/heads/{base}"),
            "head_commit": { "id": head, "message": "Merge queue" },
        },
        "repository": world::repo_json(fake, api_url),
        "sender": world::user_json(QUEUE_BOT),
        "installation": { "id": world.installation_of(repo).expect("installed") },
    });
    if let Some(reason) = reason {
        delivery["reason"] = json!(reason);
    }
    delivery.to_string().into_bytes()
}
