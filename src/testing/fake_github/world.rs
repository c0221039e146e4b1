//! The fake GitHub's state: the App, installations and their tokens, repositories with their
//! issues, labels, comments, pull requests, checks and settings, the webhook delivery log, and
//! a record of every call.

use crate::clock::Clock;
use crate::time::{Millis, format_ms};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// The App the fake knows.
#[derive(Debug, Clone)]
pub struct FakeApp {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub public_key_pem: String,
    pub private_key_pem: String,
    pub webhook_secret: String,
}

impl FakeApp {
    /// The login of the App's bot account, as GitHub names it.
    pub fn bot_login(&self) -> String {
        format!("{}[bot]", self.slug)
    }
}

#[derive(Debug, Clone)]
pub struct FakeInstallation {
    pub id: u64,
    pub account: String,
    pub account_type: String,
    pub repos: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct FakeIssue {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: String,
    pub state: String,
    pub locked: bool,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub author: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub is_pull_request: bool,
    /// Open pull requests that close it.
    pub linked_pull_requests: u64,
}

#[derive(Debug, Clone)]
pub struct FakeComment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    pub author: String,
    pub author_is_bot: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub reactions: Vec<(String, String)>,
}

/// A file a pull request changes: (path, status, additions, deletions).
pub type ChangedFile = (String, String, u64, u64);

#[derive(Debug, Clone)]
pub struct FakePull {
    pub number: u64,
    pub node_id: String,
    pub title: String,
    pub body: String,
    pub author: String,
    pub head_branch: String,
    pub head_sha: String,
    pub base_branch: String,
    pub draft: bool,
    pub state: String,
    pub merged: bool,
    pub merge_sha: Option<String>,
    /// How it was merged (`merge_method` of the merge call).
    pub merge_method: Option<String>,
    pub mergeable: Option<bool>,
    pub requested_reviewers: Vec<String>,
    pub files: Vec<ChangedFile>,
}

#[derive(Debug, Clone)]
pub struct FakeCheckRun {
    pub id: u64,
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub app_slug: String,
    pub summary: String,
}

#[derive(Debug, Clone, Default)]
pub struct FakeRepo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub private: bool,
    pub default_branch: String,
    pub language: Option<String>,
    pub stars: u64,
    /// Files on the default branch (and any ref) by path, for repositories without git.
    pub files: BTreeMap<String, Vec<u8>>,
    /// A real bare git repository behind the repository (its clone URL), when the test
    /// pushes to it.
    pub git_dir: Option<std::path::PathBuf>,
    /// Required status checks by protected branch.
    pub protection: HashMap<String, Vec<String>>,
    /// Merge methods the repository's settings disallow (`allow_squash_merge: false`, …).
    pub disallowed_merge_methods: Vec<String>,
    /// Branches whose merges go through a merge queue.
    pub merge_queue_branches: Vec<String>,
    /// The merge queue, first in line first: (pull request, its group's branch, the group's
    /// commit).
    pub merge_queue: Vec<(u64, String, String)>,
    /// Collaborators' permissions by login.
    pub collaborators: HashMap<String, String>,
    pub labels: BTreeMap<String, (String, Option<String>)>,
    pub issues: BTreeMap<u64, FakeIssue>,
    pub comments: BTreeMap<u64, FakeComment>,
    pub pulls: BTreeMap<u64, FakePull>,
    pub check_runs: Vec<FakeCheckRun>,
    /// The logs of GitHub Actions jobs, by job (= check run) id.
    pub job_logs: std::collections::HashMap<u64, String>,
    /// Check suites created on a push whose App has not created its runs yet: (suite id,
    /// head sha, app slug).
    pub queued_suites: Vec<(u64, String, String)>,
    pub statuses: Vec<(String, String, String)>,
    pub rerequested_suites: Vec<u64>,
    pub archived: bool,
    pub disabled: bool,
    pub fork: bool,
    pub mirror: bool,
    pub created_at: Millis,
    pub pushed_at: Millis,
    /// What the GraphQL health query reads (discovery).
    pub health: FakeHealth,
    /// Files of a pull request by (base commit, head commit): git diffs each pair once, not
    /// on every request.
    pub diffs: HashMap<(String, String), Vec<ChangedFile>>,
}

/// A repository's activity as discovery's GraphQL health query sees it.
#[derive(Debug, Clone, Default)]
pub struct FakeHealth {
    /// Commits on the default branch since the query's `since`.
    pub commits_last_year: u64,
    /// Users who can be mentioned (the contributor proxy).
    pub mentionable_users: u64,
    /// The `company` of the first mentionable users (the organization proxy).
    pub companies: Vec<Option<String>>,
    /// Releases, by creation time.
    pub releases: Vec<Millis>,
    /// Issues: (created, updated, closed, comments).
    pub issues: Vec<(Millis, Millis, Option<Millis>, u64)>,
    /// The default branch's status-check rollup (`SUCCESS`, `FAILURE`, …).
    pub ci_state: Option<String>,
    /// The README's text.
    pub readme: Option<String>,
    /// Files at the root of the default branch the health query reads (manifests).
    pub root_files: BTreeMap<String, String>,
}

impl FakeRepo {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// One entry of the App's webhook delivery log.
#[derive(Debug, Clone)]
pub struct FakeHookDelivery {
    pub id: u64,
    pub guid: String,
    pub event: String,
    pub status_code: u16,
    pub redelivery: bool,
    pub delivered_at: Millis,
}

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    App,
    Installation(u64),
    /// A personal (read-only) token the test registered in `World::read_tokens`.
    Token(String),
}

/// A request the fake answered.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub caller: Caller,
    pub status: u16,
}

/// A failure to inject: the next `times` requests whose path contains `path` (is `path`, when
/// `exact`) answer `status`.
#[derive(Debug, Clone, Default)]
pub struct Fault {
    /// Only requests of this method, when set.
    pub method: Option<String>,
    pub path: String,
    pub exact: bool,
    pub status: u16,
    pub retry_after: Option<u64>,
    pub times: u32,
    /// The request is applied first and then answered `status`, as GitHub sometimes does: the
    /// comment exists, the client sees a 502.
    pub after_applying: bool,
}

/// Faults on every write (POST, PATCH, PUT, DELETE) of an installation, for load stories: a
/// secondary rate limit (`Retry-After: 0`) on every `rate_limit_every`-th write, and of the
/// others `applied_then_502_percent` applied and answered 502. Deterministic: the n-th write
/// always meets the same fate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Chaos {
    pub applied_then_502_percent: u64,
    pub rate_limit_every: u64,
    pub writes: u64,
}

impl Chaos {
    /// What happens to the next write.
    pub fn fate_of_next_write(&mut self) -> Option<Fate> {
        self.writes += 1;
        let n = self.writes;
        if self.rate_limit_every > 0 && n.is_multiple_of(self.rate_limit_every) {
            return Some(Fate::SecondaryRateLimit);
        }
        // A fixed scramble of n, so failures spread over kinds of writes.
        let roll = n.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29) % 100;
        (roll < self.applied_then_502_percent).then_some(Fate::AppliedThen502)
    }
}

/// A chaotic write's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    SecondaryRateLimit,
    AppliedThen502,
}

/// The primary rate limit of one token.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub remaining: i64,
    pub reset_at: Millis,
}

/// Something that happens on GitHub right after the first `method` request whose path contains
/// `path` is answered: a person acting between two of GlobalLM's reads.
pub struct AfterCall {
    pub method: String,
    pub path: String,
    pub action: Box<dyn FnOnce(&mut World) + Send>,
}

impl std::fmt::Debug for AfterCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "after {} {}", self.method, self.path)
    }
}

#[derive(Debug)]
pub struct World {
    pub clock: Arc<dyn Clock>,
    pub app: FakeApp,
    pub installations: BTreeMap<u64, FakeInstallation>,
    /// Issued installation tokens: token → (installation, expiry).
    pub tokens: HashMap<String, (u64, Millis)>,
    pub repos: BTreeMap<String, FakeRepo>,
    pub next_id: u64,
    pub hook_deliveries: Vec<FakeHookDelivery>,
    pub redeliveries: Vec<u64>,
    /// Manifest codes GitHub would hand out, converting to these Apps.
    pub manifest_codes: HashMap<String, FakeApp>,
    pub calls: Vec<Call>,
    pub faults: Vec<Fault>,
    pub chaos: Option<Chaos>,
    pub after_calls: Vec<AfterCall>,
    /// Rate limits per credential (`app`, or the installation id).
    pub rates: HashMap<String, Rate>,
    /// Search calls per caller in the last minute (search allows 30 a minute).
    pub search_log: HashMap<String, Vec<Millis>>,
    /// Comments of the bot a test has looked at (by id).
    pub seen_comments: BTreeSet<u64>,
    /// Personal tokens GitHub accepts (read-only: they may read public repositories).
    pub read_tokens: BTreeSet<String>,
    /// The primary rate limit of anonymous callers per hour (GitHub's is 60), when the test
    /// sets one; unlimited otherwise.
    pub anonymous_limit: Option<i64>,
}

impl World {
    pub fn new(clock: Arc<dyn Clock>, app: FakeApp) -> Self {
        Self {
            clock,
            app,
            installations: BTreeMap::new(),
            tokens: HashMap::new(),
            repos: BTreeMap::new(),
            next_id: 1_000,
            hook_deliveries: Vec::new(),
            redeliveries: Vec::new(),
            manifest_codes: HashMap::new(),
            calls: Vec::new(),
            faults: Vec::new(),
            chaos: None,
            after_calls: Vec::new(),
            rates: HashMap::new(),
            search_log: HashMap::new(),
            seen_comments: BTreeSet::new(),
            read_tokens: BTreeSet::new(),
            anonymous_limit: None,
        }
    }

    /// Puts `label` on an issue or pull request.
    pub fn label(&mut self, repo: &str, issue: u64, label: &str) {
        let fake = self.repos.get_mut(repo).expect("the repository exists");
        let issue = fake.issues.get_mut(&issue).expect("the issue exists");
        if !issue.labels.iter().any(|l| l == label) {
            issue.labels.push(label.to_owned());
        }
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn now(&self) -> Millis {
        self.clock.now_ms()
    }

    /// The installation covering a repository.
    pub fn installation_of(&self, repo: &str) -> Option<u64> {
        self.installations
            .values()
            .find(|i| i.repos.contains(repo))
            .map(|i| i.id)
    }
}

pub fn time(ms: Millis) -> String {
    format_ms(ms).replace(' ', "T")
}

pub fn user_json(login: &str) -> Value {
    let is_bot = login.ends_with("[bot]");
    json!({
        "login": login,
        "id": login.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) % 100_000_000,
        "node_id": format!("U_{login}"),
        "type": if is_bot { "Bot" } else { "User" },
        "site_admin": false,
    })
}

pub fn repo_json(repo: &FakeRepo, base: &str) -> Value {
    let full_name = repo.full_name();
    json!({
        "id": repo.id,
        "node_id": format!("R_{}", repo.id),
        "name": repo.name,
        "full_name": full_name,
        "private": repo.private,
        "owner": user_json(&repo.owner),
        "html_url": format!("https://github.com/{full_name}"),
        "url": format!("{base}/repos/{full_name}"),
        "fork": repo.fork,
        "archived": repo.archived,
        "disabled": repo.disabled,
        "mirror_url": repo.mirror.then(|| format!("https://git.example.org/{full_name}.git")),
        "created_at": time(repo.created_at),
        "pushed_at": time(repo.pushed_at),
        "default_branch": repo.default_branch,
        "clone_url": repo.git_dir.as_ref().map_or_else(
            || format!("https://github.com/{full_name}.git"),
            |dir| format!("file://{}", dir.display()),
        ),
        "language": repo.language,
        "stargazers_count": repo.stars,
        "open_issues_count": repo.issues.values().filter(|i| i.state == "open").count(),
    })
}

pub fn label_json(repo: &FakeRepo, name: &str) -> Value {
    let (color, description) = repo
        .labels
        .get(name)
        .cloned()
        .unwrap_or_else(|| ("ededed".to_owned(), None));
    json!({ "id": name.len(), "node_id": format!("LA_{name}"), "name": name, "color": color, "description": description, "default": false })
}

pub fn issue_json(repo: &FakeRepo, issue: &FakeIssue, base: &str) -> Value {
    let full_name = repo.full_name();
    let mut value = json!({
        "id": issue.id,
        "node_id": format!("I_{}", issue.id),
        "url": format!("{base}/repos/{full_name}/issues/{}", issue.number),
        "html_url": format!("https://github.com/{full_name}/issues/{}", issue.number),
        "number": issue.number,
        "title": issue.title,
        "body": issue.body,
        "state": issue.state,
        "locked": issue.locked,
        "labels": issue.labels.iter().map(|l| label_json(repo, l)).collect::<Vec<_>>(),
        "assignees": issue.assignees.iter().map(|a| user_json(a)).collect::<Vec<_>>(),
        "user": user_json(&issue.author),
        "comments": repo.comments.values().filter(|c| c.issue == issue.number).count(),
        "created_at": time(issue.created_at),
        "updated_at": time(issue.updated_at),
        "author_association": "CONTRIBUTOR",
    });
    if issue.is_pull_request {
        value["pull_request"] =
            json!({ "url": format!("{base}/repos/{full_name}/pulls/{}", issue.number) });
    }
    value
}

pub fn comment_json(repo: &FakeRepo, comment: &FakeComment, base: &str) -> Value {
    let full_name = repo.full_name();
    let user = if comment.author_is_bot {
        json!({ "login": comment.author, "id": 41_898_282, "type": "Bot" })
    } else {
        user_json(&comment.author)
    };
    json!({
        "id": comment.id,
        "node_id": format!("IC_{}", comment.id),
        "url": format!("{base}/repos/{full_name}/issues/comments/{}", comment.id),
        "html_url": format!("https://github.com/{full_name}/issues/{}#issuecomment-{}", comment.issue, comment.id),
        "body": comment.body,
        "user": user,
        "created_at": time(comment.created_at),
        "updated_at": time(comment.updated_at),
        "author_association": "NONE",
    })
}

pub fn pull_json(repo: &FakeRepo, pull: &FakePull, base: &str) -> Value {
    let full_name = repo.full_name();
    let side = |branch: &str, sha: &str| json!({ "label": format!("{}:{branch}", repo.owner), "ref": branch, "sha": sha, "repo": repo_json(repo, base) });
    let base_sha = "0000000000000000000000000000000000000001";
    json!({
        "id": pull.number * 10,
        "node_id": pull.node_id,
        "number": pull.number,
        "url": format!("{base}/repos/{full_name}/pulls/{}", pull.number),
        "html_url": format!("https://github.com/{full_name}/pull/{}", pull.number),
        "state": pull.state,
        "title": pull.title,
        "body": pull.body,
        "user": user_json(&pull.author),
        "labels": repo.issues.get(&pull.number).map(|i| i.labels.iter().map(|l| label_json(repo, l)).collect::<Vec<_>>()).unwrap_or_default(),
        "draft": pull.draft,
        "merged": pull.merged,
        "mergeable": pull.mergeable,
        "mergeable_state": match pull.mergeable { Some(true) => "clean", Some(false) => "dirty", None => "unknown" },
        "merge_commit_sha": pull.merge_sha,
        "head": side(&pull.head_branch, &pull.head_sha),
        "base": side(&pull.base_branch, base_sha),
        "requested_reviewers": pull.requested_reviewers.iter().map(|r| user_json(r)).collect::<Vec<_>>(),
    })
}

pub fn check_run_json(run: &FakeCheckRun) -> Value {
    json!({
        "id": run.id,
        "node_id": format!("CR_{}", run.id),
        "name": run.name,
        "head_sha": run.head_sha,
        "status": run.status,
        "conclusion": run.conclusion,
        "app": { "id": 1, "slug": run.app_slug, "name": run.app_slug },
        "output": { "title": run.name, "summary": run.summary },
        "check_suite": { "id": run.id + 7 },
        "pull_requests": [],
    })
}
