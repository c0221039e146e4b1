//! A stateful fake GitHub served on loopback, for tests: the real octocrab-based client talks
//! to it over HTTP, so JWTs, tokens, serialization, pagination, ETags and rate limits all run
//! for real. It verifies authentication (the App's JWT against the App's public key, the
//! installation token on every installation call) so auth bugs fail tests, and it can inject
//! failures (5xx, secondary rate limits) and exhaust the primary rate limit.

pub mod git;
mod handlers;
mod public;
mod queue;
mod repo_handlers;
mod server;
pub mod world;

pub use repo_handlers::blob_sha;
pub use world::{Call, Caller, FakeApp, FakeCheckRun, FakeComment, FakePull};
use world::{Chaos, FakeIssue, FakeRepo, Fault, World};

use crate::clock::Clock;
use std::sync::{Arc, Mutex, MutexGuard};

/// The test App's id.
pub const APP_ID: u64 = 424_242;
/// The test App's slug; its bot is `globallm-test[bot]`.
pub const APP_SLUG: &str = "globallm-test";

/// The test App's private key (test-only, see `tests/fixtures/github/README.md`).
pub fn private_key_pem() -> String {
    include_str!("../../../tests/fixtures/github/test-app-private-key.pem").to_owned()
}

fn public_key_pem() -> String {
    include_str!("../../../tests/fixtures/github/test-app-public-key.pem").to_owned()
}

/// The test App.
pub fn test_app() -> FakeApp {
    FakeApp {
        id: APP_ID,
        slug: APP_SLUG.to_owned(),
        name: "GlobalLM (test)".to_owned(),
        public_key_pem: public_key_pem(),
        private_key_pem: private_key_pem(),
        webhook_secret: "fake-github-webhook-secret".to_owned(),
    }
}

/// A running fake GitHub.
#[derive(Debug)]
pub struct FakeGithub {
    /// The API root clients use.
    pub api_url: String,
    world: Arc<Mutex<World>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeGithub {
    /// Starts a fake serving the REST API at the root of a loopback port.
    pub async fn start(clock: Arc<dyn Clock>) -> Self {
        Self::start_at(clock, "").await
    }

    /// Starts a fake shaped like GitHub Enterprise Server: REST under `/api/v3`, GraphQL at
    /// `/api/graphql`.
    pub async fn start_enterprise(clock: Arc<dyn Clock>) -> Self {
        Self::start_at(clock, "/api/v3").await
    }

    async fn start_at(clock: Arc<dyn Clock>, prefix: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("bound");
        let api_url = format!("http://{addr}{prefix}");
        let world = Arc::new(Mutex::new(World::new(clock, test_app())));
        let shared = server::Shared {
            world: world.clone(),
            base: api_url.clone(),
            prefix: prefix.to_owned(),
        };
        let router = axum::Router::new()
            .fallback(server::handle)
            .with_state(shared);
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the fake GitHub serves");
        });
        Self {
            api_url,
            world,
            server,
        }
    }

    /// The fake's state, to arrange a scene or look at the outcome.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().expect("fake GitHub lock")
    }

    /// Adds a repository (default branch `main`) covered by installation `installation`
    /// (created on the repository's owner when new).
    pub fn add_repo(&self, full_name: &str, installation: u64) -> u64 {
        let mut world = self.world();
        let id = world.next_id();
        let (owner, name) = full_name.split_once('/').expect("owner/name");
        world.repos.insert(
            full_name.to_owned(),
            FakeRepo {
                id,
                owner: owner.to_owned(),
                name: name.to_owned(),
                default_branch: "main".to_owned(),
                language: Some("Python".to_owned()),
                stars: 1_500,
                ..FakeRepo::default()
            },
        );
        world
            .installations
            .entry(installation)
            .or_insert_with(|| world::FakeInstallation {
                id: installation,
                account: owner.to_owned(),
                account_type: "Organization".to_owned(),
                repos: Default::default(),
            })
            .repos
            .insert(full_name.to_owned());
        id
    }

    /// Adds a repository backed by a real bare git repository holding `files` on `main`
    /// (its clone URL is a `file://` URL), under `parent`.
    pub fn add_git_repo(
        &self,
        full_name: &str,
        installation: u64,
        parent: &std::path::Path,
        files: &[(&str, &str)],
    ) -> std::path::PathBuf {
        self.add_repo(full_name, installation);
        let bare = git::create_bare(parent, full_name, files);
        self.world()
            .repos
            .get_mut(full_name)
            .expect("just added")
            .git_dir = Some(bare.clone());
        bare
    }

    /// Opens an issue; returns its number.
    pub fn add_issue(&self, repo: &str, title: &str, body: &str, author: &str) -> u64 {
        let mut world = self.world();
        let id = world.next_id();
        let now = world.now();
        let repo = world.repos.get_mut(repo).expect("the repository exists");
        let number = repo
            .issues
            .keys()
            .chain(repo.pulls.keys())
            .max()
            .copied()
            .unwrap_or(0)
            + 1;
        repo.issues.insert(
            number,
            FakeIssue {
                id,
                number,
                title: title.to_owned(),
                body: body.to_owned(),
                state: "open".to_owned(),
                locked: false,
                labels: Vec::new(),
                assignees: Vec::new(),
                author: author.to_owned(),
                created_at: now,
                updated_at: now,
                is_pull_request: false,
                linked_pull_requests: 0,
            },
        );
        number
    }

    /// A comment by someone (not the bot) on an issue; returns its id.
    pub fn add_comment(&self, repo: &str, issue: u64, author: &str, body: &str) -> u64 {
        let mut world = self.world();
        let id = world.next_id();
        let now = world.now();
        let repo = world.repos.get_mut(repo).expect("the repository exists");
        repo.comments.insert(
            id,
            FakeComment {
                id,
                issue,
                body: body.to_owned(),
                author: author.to_owned(),
                author_is_bot: author.ends_with("[bot]"),
                created_at: now,
                updated_at: now,
                reactions: Vec::new(),
            },
        );
        id
    }

    /// An `issues` delivery for an issue as the fake holds it now.
    pub fn issue_delivery(&self, action: &str, repo: &str, issue: u64, sender: &str) -> Vec<u8> {
        let world = self.world();
        let fake = &world.repos[repo];
        serde_json::json!({
            "action": action,
            "issue": world::issue_json(fake, &fake.issues[&issue], &self.api_url),
            "repository": world::repo_json(fake, &self.api_url),
            "sender": world::user_json(sender),
            "installation": { "id": world.installation_of(repo).expect("installed") },
        })
        .to_string()
        .into_bytes()
    }

    /// An `issue_comment` delivery for a comment as the fake holds it now.
    pub fn comment_delivery(
        &self,
        action: &str,
        repo: &str,
        comment: u64,
        previous: Option<&str>,
    ) -> Vec<u8> {
        let world = self.world();
        let fake = &world.repos[repo];
        let comment = &fake.comments[&comment];
        let mut delivery = serde_json::json!({
            "action": action,
            "issue": world::issue_json(fake, &fake.issues[&comment.issue], &self.api_url),
            "comment": world::comment_json(fake, comment, &self.api_url),
            "repository": world::repo_json(fake, &self.api_url),
            "sender": world::user_json(&comment.author),
            "installation": { "id": world.installation_of(repo).expect("installed") },
        });
        if let Some(previous) = previous {
            delivery["changes"] = serde_json::json!({ "body": { "from": previous } });
        }
        delivery.to_string().into_bytes()
    }

    /// Writes calls made from now on, to count what a step cost.
    pub fn calls_since(&self, mark: usize) -> Vec<Call> {
        self.world().calls[mark..].to_vec()
    }

    /// Puts a file on a repository's default branch.
    pub fn put_file(&self, repo: &str, path: &str, content: &str) {
        let mut world = self.world();
        let repo = world.repos.get_mut(repo).expect("the repository exists");
        repo.files
            .insert(path.to_owned(), content.as_bytes().to_vec());
    }

    /// Disallows merge methods in the repository's settings (`merge`, `squash`, `rebase`).
    pub fn disallow_merge_methods(&self, repo: &str, methods: &[&str]) {
        let mut world = self.world();
        let repo = world.repos.get_mut(repo).expect("the repository exists");
        repo.disallowed_merge_methods = methods.iter().map(|m| (*m).to_owned()).collect();
    }

    /// Makes the next `times` requests whose path contains `path` fail with `status`.
    pub fn fail(&self, path: &str, status: u16, times: u32) {
        self.world().faults.push(Fault {
            path: path.to_owned(),
            status,
            times,
            ..Fault::default()
        });
    }

    /// Makes the next `times` requests to exactly `path` (no query) fail with `status`.
    pub fn fail_exact(&self, path: &str, status: u16, times: u32) {
        self.world().faults.push(Fault {
            path: path.to_owned(),
            exact: true,
            status,
            times,
            ..Fault::default()
        });
    }

    /// Makes the next `times` `method` requests whose path contains `path` take effect and
    /// then answer `status`, as GitHub does when a proxy times out after the write.
    pub fn fail_after_applying(&self, method: &str, path: &str, status: u16, times: u32) {
        self.world().faults.push(Fault {
            method: Some(method.to_owned()),
            path: path.to_owned(),
            status,
            times,
            after_applying: true,
            ..Fault::default()
        });
    }

    /// Right after the first `method` request whose path contains `path` is answered, `action`
    /// changes the world (someone acts between two of GlobalLM's reads).
    pub fn after_call(
        &self,
        method: &str,
        path: &str,
        action: impl FnOnce(&mut World) + Send + 'static,
    ) {
        self.world().after_calls.push(world::AfterCall {
            method: method.to_owned(),
            path: path.to_owned(),
            action: Box::new(action),
        });
    }

    /// Turns on chaos for installations' writes: `percent` of them applied and answered 502,
    /// every `rate_limit_every`-th one a secondary rate limit with `Retry-After: 0`.
    pub fn chaos(&self, percent: u64, rate_limit_every: u64) {
        self.world().chaos = Some(Chaos {
            applied_then_502_percent: percent,
            rate_limit_every,
            writes: 0,
        });
    }

    /// Makes the next request whose path contains `path` hit a secondary rate limit.
    pub fn secondary_rate_limit(&self, path: &str, retry_after_secs: u64) {
        self.world().faults.push(Fault {
            path: path.to_owned(),
            status: 403,
            retry_after: Some(retry_after_secs),
            times: 1,
            ..Fault::default()
        });
    }

    /// Every request answered so far.
    pub fn calls(&self) -> Vec<Call> {
        self.world().calls.clone()
    }

    /// Labels of an issue.
    pub fn labels(&self, repo: &str, issue: u64) -> Vec<String> {
        self.world().repos[repo].issues[&issue].labels.clone()
    }

    /// Comments on an issue, oldest first, marking the bot's as seen (see [`FakeGithub::unseen_bot_comments`]).
    pub fn comments(&self, repo: &str, issue: u64) -> Vec<FakeComment> {
        let mut world = self.world();
        let comments: Vec<FakeComment> = world.repos[repo]
            .comments
            .values()
            .filter(|c| c.issue == issue)
            .cloned()
            .collect();
        world.seen_comments.extend(comments.iter().map(|c| c.id));
        comments
    }

    /// The bodies of the bot's comments on an issue or pull request, oldest first (marked seen).
    pub fn bot_comments(&self, repo: &str, issue: u64) -> Vec<String> {
        self.comments(repo, issue)
            .into_iter()
            .filter(|c| c.author_is_bot)
            .map(|c| c.body)
            .collect()
    }

    /// The bot's comments no test looked at: a story test ends by asserting there are none, so
    /// the bot cannot post something nobody checked.
    pub fn unseen_bot_comments(&self) -> Vec<FakeComment> {
        let world = self.world();
        world
            .repos
            .values()
            .flat_map(|r| r.comments.values())
            .filter(|c| c.author_is_bot && !world.seen_comments.contains(&c.id))
            .cloned()
            .collect()
    }

    /// A pull request as the fake holds it now (following its git branch).
    pub fn pull(&self, repo: &str, number: u64) -> FakePull {
        let mut world = self.world();
        let fake = world.repos.get_mut(repo).expect("the repository exists");
        repo_handlers::sync_pulls_with_git(fake);
        fake.pulls
            .get(&number)
            .cloned()
            .expect("the pull request exists")
    }

    /// Every pull request of a repository, by number.
    pub fn pulls(&self, repo: &str) -> Vec<FakePull> {
        let mut world = self.world();
        let fake = world.repos.get_mut(repo).expect("the repository exists");
        repo_handlers::sync_pulls_with_git(fake);
        fake.pulls.values().cloned().collect()
    }

    /// Puts a label on an issue or pull request (as a person would).
    pub fn label(&self, repo: &str, issue: u64, label: &str) {
        self.world().label(repo, issue, label);
    }

    /// Gives `login` a permission (`admin`, `maintain`, `write`, `triage`, `read`) on `repo`.
    pub fn set_permission(&self, repo: &str, login: &str, permission: &str) {
        self.world()
            .repos
            .get_mut(repo)
            .expect("the repository exists")
            .collaborators
            .insert(login.to_owned(), permission.to_owned());
    }

    /// Requires these checks on `branch` (branch protection).
    pub fn protect(&self, repo: &str, branch: &str, checks: &[&str]) {
        self.world()
            .repos
            .get_mut(repo)
            .expect("the repository exists")
            .protection
            .insert(
                branch.to_owned(),
                checks.iter().map(|c| (*c).to_owned()).collect(),
            );
    }

    /// The check suite of the CI App `app` on `sha`, created by a push before any of its runs
    /// (GitHub Actions' suites are replaced when [`FakeGithub::complete_check`] completes a run).
    pub fn queue_suite(&self, repo: &str, sha: &str, app: &str) {
        let mut world = self.world();
        let id = world.next_id();
        world
            .repos
            .get_mut(repo)
            .expect("the repository exists")
            .queued_suites
            .push((id, sha.to_owned(), app.to_owned()));
    }

    /// A completed check run by GitHub Actions on `sha`; returns its id.
    pub fn complete_check(
        &self,
        repo: &str,
        sha: &str,
        name: &str,
        conclusion: &str,
        summary: &str,
    ) -> u64 {
        let mut world = self.world();
        let id = world.next_id();
        let fake = world.repos.get_mut(repo).expect("the repository exists");
        fake.queued_suites
            .retain(|(_, s, app)| !(s == sha && app == "github-actions"));
        fake.check_runs.push(FakeCheckRun {
            id,
            name: name.to_owned(),
            head_sha: sha.to_owned(),
            status: "completed".to_owned(),
            conclusion: Some(conclusion.to_owned()),
            app_slug: "github-actions".to_owned(),
            summary: summary.to_owned(),
        });
        id
    }

    /// The log of the GitHub Actions job behind check run `run` (for Actions, a check run's id
    /// is its job's id).
    pub fn job_log(&self, repo: &str, run: u64, log: &str) {
        self.world()
            .repos
            .get_mut(repo)
            .expect("the repository exists")
            .job_logs
            .insert(run, log.to_owned());
    }

    /// A `check_run` `completed` delivery for a run the fake holds.
    pub fn check_run_delivery(&self, repo: &str, run: u64) -> Vec<u8> {
        let world = self.world();
        let fake = &world.repos[repo];
        let run = fake
            .check_runs
            .iter()
            .find(|r| r.id == run)
            .expect("the run exists");
        let mut check_run = world::check_run_json(run);
        let pulls: Vec<serde_json::Value> = fake
            .pulls
            .values()
            .filter(|p| p.head_sha == run.head_sha)
            .map(|p| serde_json::json!({ "number": p.number, "head": { "sha": p.head_sha, "ref": p.head_branch }, "base": { "sha": "0000000000000000000000000000000000000001", "ref": p.base_branch } }))
            .collect();
        check_run["pull_requests"] = serde_json::Value::Array(pulls);
        serde_json::json!({
            "action": "completed",
            "check_run": check_run,
            "repository": world::repo_json(fake, &self.api_url),
            "sender": world::user_json("github-actions[bot]"),
            "installation": { "id": world.installation_of(repo).expect("installed") },
        })
        .to_string()
        .into_bytes()
    }

    /// A commit status on `sha`, and its `status` delivery.
    pub fn status_delivery(&self, repo: &str, sha: &str, context: &str, state: &str) -> Vec<u8> {
        let mut world = self.world();
        let installation = world.installation_of(repo).expect("installed");
        let fake = world.repos.get_mut(repo).expect("the repository exists");
        fake.statuses
            .push((sha.to_owned(), context.to_owned(), state.to_owned()));
        let fake = &world.repos[repo];
        serde_json::json!({
            "id": 1,
            "sha": sha,
            "name": fake.full_name(),
            "state": state,
            "context": context,
            "description": null,
            "target_url": null,
            "branches": [],
            "repository": world::repo_json(fake, &self.api_url),
            "sender": world::user_json("ci-bot"),
            "installation": { "id": installation },
        })
        .to_string()
        .into_bytes()
    }

    /// A `pull_request` delivery (`synchronize` carries `before`/`after`; `labeled` the label).
    pub fn pull_delivery(
        &self,
        action: &str,
        repo: &str,
        number: u64,
        sender: &str,
        before: Option<&str>,
        label: Option<&str>,
    ) -> Vec<u8> {
        let mut world = self.world();
        let fake = world.repos.get_mut(repo).expect("the repository exists");
        repo_handlers::sync_pulls_with_git(fake);
        let fake = &world.repos[repo];
        let pull = &fake.pulls[&number];
        let mut delivery = serde_json::json!({
            "action": action,
            "number": number,
            "pull_request": world::pull_json(fake, pull, &self.api_url),
            "repository": world::repo_json(fake, &self.api_url),
            "sender": world::user_json(sender),
            "installation": { "id": world.installation_of(repo).expect("installed") },
        });
        if let Some(before) = before {
            delivery["before"] = serde_json::json!(before);
            delivery["after"] = serde_json::json!(pull.head_sha);
        }
        if let Some(label) = label {
            delivery["label"] = world::label_json(fake, label);
        }
        delivery.to_string().into_bytes()
    }

    /// A maintainer reverts pull request `reverted` with GitHub's button, and the revert is
    /// merged: returns its `pull_request` `closed` delivery.
    pub fn merged_revert(&self, repo: &str, reverted: u64, author: &str) -> Vec<u8> {
        let number = {
            let mut world = self.world();
            let id = world.next_id();
            let fake = world.repos.get_mut(repo).expect("the repository exists");
            let number = fake
                .issues
                .keys()
                .chain(fake.pulls.keys())
                .max()
                .copied()
                .unwrap_or(0)
                + 1;
            fake.pulls.insert(
                number,
                FakePull {
                    number,
                    node_id: format!("PR_{id}"),
                    title: format!("Revert #{reverted}"),
                    body: format!("Reverts {repo}#{reverted}"),
                    author: author.to_owned(),
                    head_branch: format!("revert-{reverted}"),
                    head_sha: format!("{id:040x}"),
                    base_branch: "main".to_owned(),
                    draft: false,
                    state: "closed".to_owned(),
                    merged: true,
                    merge_sha: Some(format!("{:040x}", id + 1)),
                    merge_method: Some("merge".to_owned()),
                    mergeable: Some(true),
                    requested_reviewers: Vec::new(),
                    files: Vec::new(),
                },
            );
            number
        };
        self.pull_delivery("closed", repo, number, author, None, None)
    }

    /// An `installation` `created` delivery: `repo`'s installation, as its owner installed it
    /// on that repository.
    pub fn installation_created(&self, repo: &str) -> Vec<u8> {
        let world = self.world();
        let id = world.installation_of(repo).expect("installed");
        let owner = repo.split('/').next().unwrap_or(repo);
        serde_json::json!({
            "action": "created",
            "installation": { "id": id, "account": { "login": owner, "id": 9, "type": "Organization" } },
            "repositories": [{ "id": 1, "full_name": repo, "private": false }],
            "sender": { "login": format!("{owner}-admin"), "id": 10, "type": "User" },
        })
        .to_string()
        .into_bytes()
    }

    /// An `issues` `labeled` delivery: `sender` put `label` on the issue.
    pub fn labeled_delivery(&self, repo: &str, issue: u64, label: &str, sender: &str) -> Vec<u8> {
        self.label(repo, issue, label);
        let world = self.world();
        let fake = &world.repos[repo];
        serde_json::json!({
            "action": "labeled",
            "issue": world::issue_json(fake, &fake.issues[&issue], &self.api_url),
            "label": world::label_json(fake, label),
            "repository": world::repo_json(fake, &self.api_url),
            "sender": world::user_json(sender),
            "installation": { "id": world.installation_of(repo).expect("installed") },
        })
        .to_string()
        .into_bytes()
    }
}
