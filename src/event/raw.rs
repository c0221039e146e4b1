//! The webhook wire format: serde structs shaped like GitHub's JSON, holding only the fields
//! GlobalLM reads, and their conversion into the domain events. Nothing here leaves this
//! module's parent.

use super::model::*;
use super::*;
use crate::github::ids::{
    AppId, CheckRunId, CheckSuiteId, CommentId, CommitSha, InstallationId, IssueNumber, RepoId,
    RepoName, UserId,
};
use crate::time::{Millis, parse_rfc3339_ms};
use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Deserialize)]
pub(crate) struct RawUser {
    id: u64,
    login: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

impl From<RawUser> for User {
    fn from(raw: RawUser) -> Self {
        let kind = match raw.kind.as_deref() {
            Some("Bot") => AccountKind::Bot,
            Some("Organization") => AccountKind::Organization,
            _ => AccountKind::User,
        };
        User {
            id: UserId(raw.id),
            login: raw.login,
            kind,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawRepository {
    id: u64,
    full_name: RepoName,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    fork: bool,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    stargazers_count: u64,
    #[serde(default)]
    clone_url: Option<String>,
    #[serde(default)]
    created_at: Option<RawTime>,
    #[serde(default)]
    pushed_at: Option<RawTime>,
}

/// A time as repositories carry it: RFC 3339 text, or (in `push` deliveries) Unix seconds.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawTime {
    Text(String),
    Seconds(i64),
}

impl RawTime {
    fn millis(self) -> Option<Millis> {
        match self {
            RawTime::Text(text) => parse_rfc3339_ms(&text),
            RawTime::Seconds(secs) => Some(secs * 1000),
        }
    }
}

impl From<RawRepository> for Repository {
    fn from(raw: RawRepository) -> Self {
        Repository {
            id: RepoId(raw.id),
            name: raw.full_name,
            private: raw.private,
            fork: raw.fork,
            archived: raw.archived,
            default_branch: raw.default_branch.unwrap_or_else(|| "main".to_owned()),
            language: raw.language,
            stars: raw.stargazers_count,
            clone_url: raw.clone_url,
            created_at: raw.created_at.and_then(RawTime::millis),
            pushed_at: raw.pushed_at.and_then(RawTime::millis),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawRepoRef {
    id: u64,
    full_name: RepoName,
    #[serde(default)]
    private: bool,
}

impl From<RawRepoRef> for RepoRef {
    fn from(raw: RawRepoRef) -> Self {
        RepoRef {
            id: RepoId(raw.id),
            name: raw.full_name,
            private: raw.private,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawInstallationRef {
    id: u64,
}

#[derive(Deserialize)]
pub(crate) struct RawInstallation {
    id: u64,
    account: RawUser,
    #[serde(default)]
    repository_selection: Option<String>,
    #[serde(default)]
    suspended_at: Option<String>,
    #[serde(default)]
    app_id: Option<u64>,
}

impl From<RawInstallation> for Installation {
    fn from(raw: RawInstallation) -> Self {
        Installation {
            id: InstallationId(raw.id),
            account: raw.account.into(),
            repository_selection: raw.repository_selection,
            suspended: raw.suspended_at.is_some(),
            app_id: raw.app_id.map(AppId),
        }
    }
}

#[derive(Deserialize)]
struct RawLabel {
    name: String,
}

fn label_names(labels: Option<Vec<RawLabel>>) -> Vec<String> {
    labels
        .unwrap_or_default()
        .into_iter()
        .map(|l| l.name)
        .collect()
}

fn state(text: &str) -> State {
    if text == "closed" {
        State::Closed
    } else {
        State::Open
    }
}

fn time(text: &str) -> Millis {
    parse_rfc3339_ms(text).unwrap_or_default()
}

#[derive(Deserialize)]
struct RawReactions {
    #[serde(default)]
    total_count: u64,
}

#[derive(Deserialize)]
pub(crate) struct RawIssue {
    number: u64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    // Absent from `pinned` and `unpinned` deliveries.
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    locked: bool,
    #[serde(default)]
    labels: Option<Vec<RawLabel>>,
    #[serde(default)]
    assignees: Option<Vec<RawUser>>,
    user: RawUser,
    #[serde(default)]
    comments: u64,
    #[serde(default)]
    reactions: Option<RawReactions>,
    created_at: String,
    updated_at: String,
    #[serde(default)]
    pull_request: Option<IgnoredAny>,
}

impl From<RawIssue> for Issue {
    fn from(raw: RawIssue) -> Self {
        Issue {
            number: IssueNumber(raw.number),
            title: raw.title,
            body: raw.body.unwrap_or_default(),
            state: state(raw.state.as_deref().unwrap_or("open")),
            locked: raw.locked,
            labels: label_names(raw.labels),
            assignees: raw
                .assignees
                .unwrap_or_default()
                .into_iter()
                .map(User::from)
                .collect(),
            author: raw.user.into(),
            comments: raw.comments,
            reactions: raw.reactions.map_or(0, |r| r.total_count),
            created_at: time(&raw.created_at),
            updated_at: time(&raw.updated_at),
            is_pull_request: raw.pull_request.is_some(),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawComment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    user: RawUser,
    created_at: String,
}

impl From<RawComment> for Comment {
    fn from(raw: RawComment) -> Self {
        Comment {
            id: CommentId(raw.id),
            body: raw.body.unwrap_or_default(),
            author: raw.user.into(),
            created_at: time(&raw.created_at),
        }
    }
}

#[derive(Deserialize)]
struct RawRepoName {
    full_name: RepoName,
}

#[derive(Deserialize)]
struct RawGitRef {
    #[serde(rename = "ref")]
    branch: String,
    sha: CommitSha,
    #[serde(default)]
    repo: Option<RawRepoName>,
}

impl From<RawGitRef> for GitRef {
    fn from(raw: RawGitRef) -> Self {
        GitRef {
            branch: raw.branch,
            sha: raw.sha,
            repo: raw.repo.map(|r| r.full_name),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawPullRequest {
    number: u64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    state: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
    head: RawGitRef,
    base: RawGitRef,
    user: RawUser,
    #[serde(default)]
    labels: Option<Vec<RawLabel>>,
    #[serde(default)]
    node_id: String,
    #[serde(default)]
    mergeable: Option<bool>,
    #[serde(default)]
    mergeable_state: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
}

impl From<RawPullRequest> for PullRequest {
    fn from(raw: RawPullRequest) -> Self {
        let merged = raw.merged.unwrap_or(raw.merged_at.is_some());
        PullRequest {
            number: IssueNumber(raw.number),
            title: raw.title,
            body: raw.body.unwrap_or_default(),
            state: state(&raw.state),
            draft: raw.draft,
            merged,
            // Before a merge, GitHub's `merge_commit_sha` is a test merge: not kept.
            merge_sha: raw.merge_commit_sha.filter(|_| merged),
            head: raw.head.into(),
            base: raw.base.into(),
            author: raw.user.into(),
            labels: label_names(raw.labels),
            node_id: raw.node_id,
            mergeable: raw.mergeable,
            mergeable_state: raw.mergeable_state,
        }
    }
}

#[derive(Deserialize)]
struct RawNumber {
    number: u64,
}

#[derive(Deserialize)]
struct RawApp {
    #[serde(default)]
    slug: Option<String>,
}

fn check_status(text: Option<&str>) -> CheckStatus {
    match text {
        Some("queued") => CheckStatus::Queued,
        Some("in_progress") => CheckStatus::InProgress,
        Some("completed") => CheckStatus::Completed,
        Some(other) => CheckStatus::Other(other.to_owned()),
        None => CheckStatus::Other("unknown".to_owned()),
    }
}

#[derive(Deserialize)]
pub(crate) struct RawCheckRun {
    id: u64,
    name: String,
    head_sha: CommitSha,
    status: String,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    app: Option<RawApp>,
    #[serde(default)]
    pull_requests: Vec<RawNumber>,
    #[serde(default)]
    check_suite: Option<RawSuiteRef>,
    #[serde(default)]
    output: Option<RawCheckOutput>,
    #[serde(default)]
    details_url: Option<String>,
}

#[derive(Deserialize)]
struct RawSuiteRef {
    id: u64,
}

#[derive(Deserialize)]
struct RawCheckOutput {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

impl RawCheckOutput {
    fn joined(self) -> Option<String> {
        let parts: Vec<String> = [self.title, self.summary, self.text]
            .into_iter()
            .flatten()
            .filter(|p| !p.trim().is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }
}

impl From<RawCheckRun> for CheckRun {
    fn from(raw: RawCheckRun) -> Self {
        CheckRun {
            id: CheckRunId(raw.id),
            name: raw.name,
            head_sha: raw.head_sha,
            status: check_status(Some(&raw.status)),
            conclusion: raw.conclusion,
            app_slug: raw.app.and_then(|a| a.slug),
            pull_requests: raw
                .pull_requests
                .into_iter()
                .map(|p| IssueNumber(p.number))
                .collect(),
            check_suite: raw.check_suite.map(|s| CheckSuiteId(s.id)),
            output: raw.output.and_then(RawCheckOutput::joined),
            details_url: raw.details_url,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawCheckSuite {
    id: u64,
    #[serde(default)]
    head_branch: Option<String>,
    head_sha: CommitSha,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    app: Option<RawApp>,
    #[serde(default)]
    pull_requests: Vec<RawNumber>,
}

impl From<RawCheckSuite> for CheckSuite {
    fn from(raw: RawCheckSuite) -> Self {
        CheckSuite {
            id: CheckSuiteId(raw.id),
            head_branch: raw.head_branch,
            head_sha: raw.head_sha,
            status: check_status(raw.status.as_deref()),
            conclusion: raw.conclusion,
            app_slug: raw.app.and_then(|a| a.slug),
            pull_requests: raw
                .pull_requests
                .into_iter()
                .map(|p| IssueNumber(p.number))
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct RawBodyChange {
    from: String,
}

#[derive(Deserialize, Default)]
struct RawChanges {
    #[serde(default)]
    title: Option<RawBodyChange>,
    #[serde(default)]
    body: Option<RawBodyChange>,
}

fn installation_id(raw: Option<RawInstallationRef>) -> Option<InstallationId> {
    raw.map(|i| InstallationId(i.id))
}

#[derive(Deserialize)]
pub(crate) struct RawPing {
    #[serde(default)]
    zen: Option<String>,
    #[serde(default)]
    hook_id: Option<u64>,
    #[serde(default)]
    hook: Option<RawHook>,
    #[serde(default)]
    repository: Option<RawRepository>,
    #[serde(default)]
    sender: Option<RawUser>,
}

#[derive(Deserialize)]
pub(crate) struct RawHook {
    #[serde(default)]
    app_id: Option<u64>,
}

impl From<RawPing> for PingEvent {
    fn from(raw: RawPing) -> Self {
        PingEvent {
            zen: raw.zen,
            hook_id: raw.hook_id,
            app_id: raw.hook.and_then(|h| h.app_id).map(AppId),
            repository: raw.repository.map(Repository::from),
            sender: raw.sender.map(User::from),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawInstallationEvent {
    action: String,
    installation: RawInstallation,
    #[serde(default)]
    repositories: Option<Vec<RawRepoRef>>,
    sender: RawUser,
}

impl From<RawInstallationEvent> for InstallationEvent {
    fn from(raw: RawInstallationEvent) -> Self {
        InstallationEvent {
            action: InstallationAction::from_wire(&raw.action),
            installation: raw.installation.into(),
            repositories: raw
                .repositories
                .unwrap_or_default()
                .into_iter()
                .map(RepoRef::from)
                .collect(),
            sender: raw.sender.into(),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawInstallationRepositoriesEvent {
    action: String,
    installation: RawInstallation,
    #[serde(default)]
    repositories_added: Vec<RawRepoRef>,
    #[serde(default)]
    repositories_removed: Vec<RawRepoRef>,
    sender: RawUser,
}

impl From<RawInstallationRepositoriesEvent> for InstallationRepositoriesEvent {
    fn from(raw: RawInstallationRepositoriesEvent) -> Self {
        let refs = |list: Vec<RawRepoRef>| list.into_iter().map(RepoRef::from).collect();
        InstallationRepositoriesEvent {
            action: InstallationRepositoriesAction::from_wire(&raw.action),
            installation: raw.installation.into(),
            added: refs(raw.repositories_added),
            removed: refs(raw.repositories_removed),
            sender: raw.sender.into(),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawIssuesEvent {
    action: String,
    issue: RawIssue,
    repository: RawRepository,
    sender: RawUser,
    #[serde(default)]
    label: Option<RawLabel>,
    #[serde(default)]
    installation: Option<RawInstallationRef>,
    #[serde(default)]
    changes: Option<RawChanges>,
}

impl From<RawIssuesEvent> for IssuesEvent {
    fn from(raw: RawIssuesEvent) -> Self {
        let changes = raw.changes.unwrap_or_default();
        IssuesEvent {
            action: IssuesAction::from_wire(&raw.action),
            issue: raw.issue.into(),
            repository: raw.repository.into(),
            sender: raw.sender.into(),
            label: raw.label.map(|l| l.name),
            installation: installation_id(raw.installation),
            previous_title: changes.title.map(|c| c.from),
            previous_body: changes.body.map(|c| c.from),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawIssueCommentEvent {
    action: String,
    issue: RawIssue,
    comment: RawComment,
    repository: RawRepository,
    sender: RawUser,
    #[serde(default)]
    installation: Option<RawInstallationRef>,
    #[serde(default)]
    changes: Option<RawChanges>,
}

impl From<RawIssueCommentEvent> for IssueCommentEvent {
    fn from(raw: RawIssueCommentEvent) -> Self {
        IssueCommentEvent {
            action: CommentAction::from_wire(&raw.action),
            issue: raw.issue.into(),
            comment: raw.comment.into(),
            repository: raw.repository.into(),
            sender: raw.sender.into(),
            installation: installation_id(raw.installation),
            previous_body: raw.changes.and_then(|c| c.body).map(|c| c.from),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawPullRequestEvent {
    action: String,
    pull_request: RawPullRequest,
    repository: RawRepository,
    sender: RawUser,
    #[serde(default)]
    label: Option<RawLabel>,
    #[serde(default)]
    installation: Option<RawInstallationRef>,
    #[serde(default)]
    before: Option<CommitSha>,
    #[serde(default)]
    after: Option<CommitSha>,
    #[serde(default)]
    reason: Option<String>,
}

impl From<RawPullRequestEvent> for PullRequestEvent {
    fn from(raw: RawPullRequestEvent) -> Self {
        PullRequestEvent {
            action: PullRequestAction::from_wire(&raw.action),
            pull_request: raw.pull_request.into(),
            repository: raw.repository.into(),
            sender: raw.sender.into(),
            label: raw.label.map(|l| l.name),
            installation: installation_id(raw.installation),
            before: raw.before,
            after: raw.after,
            reason: raw.reason,
        }
    }
}

#[derive(Deserialize)]
struct RawMergeGroup {
    head_sha: CommitSha,
    head_ref: String,
    base_ref: String,
}

#[derive(Deserialize)]
pub(crate) struct RawMergeGroupEvent {
    action: String,
    merge_group: RawMergeGroup,
    #[serde(default)]
    reason: Option<String>,
    repository: RawRepository,
    #[serde(default)]
    installation: Option<RawInstallationRef>,
}

impl From<RawMergeGroupEvent> for MergeGroupEvent {
    fn from(raw: RawMergeGroupEvent) -> Self {
        MergeGroupEvent {
            action: MergeGroupAction::from_wire(&raw.action),
            head_sha: raw.merge_group.head_sha,
            head_ref: raw.merge_group.head_ref,
            base_ref: raw.merge_group.base_ref,
            reason: raw.reason,
            repository: raw.repository.into(),
            installation: installation_id(raw.installation),
        }
    }
}

#[derive(Deserialize)]
struct RawReview {
    state: String,
    user: RawUser,
    #[serde(default)]
    body: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct RawPullRequestReviewEvent {
    action: String,
    review: RawReview,
    pull_request: RawPullRequest,
    repository: RawRepository,
    sender: RawUser,
    #[serde(default)]
    installation: Option<RawInstallationRef>,
}

impl From<RawPullRequestReviewEvent> for PullRequestReviewEvent {
    fn from(raw: RawPullRequestReviewEvent) -> Self {
        PullRequestReviewEvent {
            action: ReviewAction::from_wire(&raw.action),
            review: Review {
                state: raw.review.state.to_lowercase(),
                author: raw.review.user.into(),
                body: raw.review.body.unwrap_or_default(),
            },
            pull_request: raw.pull_request.into(),
            repository: raw.repository.into(),
            sender: raw.sender.into(),
            installation: installation_id(raw.installation),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawCheckRunEvent {
    action: String,
    check_run: RawCheckRun,
    repository: RawRepository,
    sender: RawUser,
    #[serde(default)]
    installation: Option<RawInstallationRef>,
}

impl From<RawCheckRunEvent> for CheckRunEvent {
    fn from(raw: RawCheckRunEvent) -> Self {
        CheckRunEvent {
            action: CheckRunAction::from_wire(&raw.action),
            check_run: raw.check_run.into(),
            repository: raw.repository.into(),
            sender: raw.sender.into(),
            installation: installation_id(raw.installation),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RawCheckSuiteEvent {
    action: String,
    check_suite: RawCheckSuite,
    repository: RawRepository,
    sender: RawUser,
    #[serde(default)]
    installation: Option<RawInstallationRef>,
}

impl From<RawCheckSuiteEvent> for CheckSuiteEvent {
    fn from(raw: RawCheckSuiteEvent) -> Self {
        CheckSuiteEvent {
            action: CheckSuiteAction::from_wire(&raw.action),
            check_suite: raw.check_suite.into(),
            repository: raw.repository.into(),
            sender: raw.sender.into(),
            installation: installation_id(raw.installation),
        }
    }
}

#[derive(Deserialize)]
struct RawBranch {
    name: String,
}

#[derive(Deserialize)]
pub(crate) struct RawStatusEvent {
    sha: CommitSha,
    state: String,
    context: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    target_url: Option<String>,
    #[serde(default)]
    branches: Vec<RawBranch>,
    repository: RawRepository,
    sender: RawUser,
    #[serde(default)]
    installation: Option<RawInstallationRef>,
}

impl From<RawStatusEvent> for StatusEvent {
    fn from(raw: RawStatusEvent) -> Self {
        StatusEvent {
            sha: raw.sha,
            state: raw.state,
            context: raw.context,
            description: raw.description,
            target_url: raw.target_url,
            branches: raw.branches.into_iter().map(|b| b.name).collect(),
            repository: raw.repository.into(),
            sender: raw.sender.into(),
            installation: installation_id(raw.installation),
        }
    }
}

#[derive(Deserialize)]
struct RawPusher {
    name: String,
}

#[derive(Deserialize)]
pub(crate) struct RawPushEvent {
    #[serde(rename = "ref")]
    ref_name: String,
    before: CommitSha,
    after: CommitSha,
    #[serde(default)]
    created: bool,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    forced: bool,
    #[serde(default)]
    commits: Vec<IgnoredAny>,
    pusher: RawPusher,
    repository: RawRepository,
    sender: RawUser,
    #[serde(default)]
    installation: Option<RawInstallationRef>,
}

impl From<RawPushEvent> for PushEvent {
    fn from(raw: RawPushEvent) -> Self {
        PushEvent {
            ref_name: raw.ref_name,
            before: raw.before,
            after: raw.after,
            created: raw.created,
            deleted: raw.deleted,
            forced: raw.forced,
            commit_count: raw.commits.len(),
            pusher: raw.pusher.name,
            repository: raw.repository.into(),
            sender: raw.sender.into(),
            installation: installation_id(raw.installation),
        }
    }
}

/// The few fields read from every payload at ingest, to index the stored delivery.
#[derive(Deserialize)]
pub(crate) struct RawEnvelope {
    #[serde(default)]
    pub(super) action: Option<String>,
    #[serde(default)]
    pub(super) installation: Option<RawInstallationRef>,
    #[serde(default)]
    pub(super) repository: Option<RawEnvelopeRepo>,
}

#[derive(Deserialize)]
pub(crate) struct RawEnvelopeRepo {
    #[serde(default)]
    pub(super) full_name: Option<String>,
}

impl RawInstallationRef {
    pub(super) fn id(&self) -> u64 {
        self.id
    }
}
