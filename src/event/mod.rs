//! Typed webhook events. [`parse`] turns a delivery's event name and body into an [`Event`];
//! no raw JSON and no octocrab type goes past this module.

pub mod model;
pub(crate) mod raw;

use crate::github::ids::{AppId, CommitSha, InstallationId, IssueNumber};
use model::*;
use serde::de::DeserializeOwned;

/// The events GlobalLM understands. Others are stored and acknowledged, and marked
/// `unsupported`.
pub const SUPPORTED_EVENTS: &[&str] = &[
    "ping",
    "installation",
    "installation_repositories",
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "check_run",
    "check_suite",
    "status",
    "push",
    "merge_group",
];

/// Whether GlobalLM understands an event.
pub fn is_supported(event: &str) -> bool {
    SUPPORTED_EVENTS.contains(&event)
}

/// What became of an event (or a command about one): acted on, or skipped and why (kept with
/// the delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// It was acted on.
    Done,
    /// Nothing to do, and why.
    Skipped(String),
}

/// A webhook event, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The webhook was created (or pinged by hand).
    Ping(PingEvent),
    /// The App was installed, uninstalled, suspended, …
    Installation(InstallationEvent),
    /// Repositories were added to or removed from an installation.
    InstallationRepositories(InstallationRepositoriesEvent),
    /// Something happened to an issue.
    Issues(IssuesEvent),
    /// A comment on an issue or pull request.
    IssueComment(IssueCommentEvent),
    /// Something happened to a pull request.
    PullRequest(PullRequestEvent),
    /// A pull request review.
    PullRequestReview(PullRequestReviewEvent),
    /// A check run changed.
    CheckRun(CheckRunEvent),
    /// A check suite changed.
    CheckSuite(CheckSuiteEvent),
    /// A commit status was set.
    Status(StatusEvent),
    /// Commits were pushed.
    Push(PushEvent),
    /// A merge group of the merge queue was formed or destroyed.
    MergeGroup(MergeGroupEvent),
}

/// `merge_group`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeGroupEvent {
    /// What happened.
    pub action: MergeGroupAction,
    /// The merge group's commit (what the queue's checks run on).
    pub head_sha: CommitSha,
    /// Its ref, `refs/heads/gh-readonly-queue/<base>/pr-<number>-<base sha>`.
    pub head_ref: String,
    /// The branch it merges into, `refs/heads/<base>`.
    pub base_ref: String,
    /// Why it was destroyed: `merged`, `invalidated` or `dequeued`.
    pub reason: Option<String>,
    /// The repository.
    pub repository: Repository,
    /// The installation the delivery came through.
    pub installation: Option<InstallationId>,
}

impl MergeGroupEvent {
    /// The pull request the group ends with, read from its ref (GitHub names each group after
    /// the last pull request in it).
    pub fn pull_number(&self) -> Option<IssueNumber> {
        let name = self.head_ref.rsplit('/').next()?;
        let number = name.strip_prefix("pr-")?.split('-').next()?;
        number.parse().ok().map(IssueNumber)
    }
}

/// `ping`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingEvent {
    /// GitHub's zen line.
    pub zen: Option<String>,
    /// The webhook's id.
    pub hook_id: Option<u64>,
    /// The App the webhook belongs to, for an App's webhook.
    pub app_id: Option<AppId>,
    /// The repository, for a repository webhook.
    pub repository: Option<Repository>,
    /// Who created the webhook.
    pub sender: Option<User>,
}

/// `installation`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationEvent {
    /// What happened.
    pub action: InstallationAction,
    /// The installation.
    pub installation: Installation,
    /// The repositories it covers (for `created`).
    pub repositories: Vec<RepoRef>,
    /// Who did it.
    pub sender: User,
}

/// `installation_repositories`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationRepositoriesEvent {
    /// Added or removed.
    pub action: InstallationRepositoriesAction,
    /// The installation.
    pub installation: Installation,
    /// Repositories added.
    pub added: Vec<RepoRef>,
    /// Repositories removed.
    pub removed: Vec<RepoRef>,
    /// Who did it.
    pub sender: User,
}

/// `issues`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuesEvent {
    /// What happened.
    pub action: IssuesAction,
    /// The issue, as it is now.
    pub issue: Issue,
    /// Its repository.
    pub repository: Repository,
    /// Who did it.
    pub sender: User,
    /// The label added or removed (for `labeled` and `unlabeled`).
    pub label: Option<String>,
    /// The installation the delivery came through.
    pub installation: Option<InstallationId>,
    /// The title before an edit.
    pub previous_title: Option<String>,
    /// The body before an edit.
    pub previous_body: Option<String>,
}

/// `issue_comment`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueCommentEvent {
    /// What happened.
    pub action: CommentAction,
    /// The issue or pull request commented on.
    pub issue: Issue,
    /// The comment, as it is now.
    pub comment: Comment,
    /// Its repository.
    pub repository: Repository,
    /// Who did it.
    pub sender: User,
    /// The installation the delivery came through.
    pub installation: Option<InstallationId>,
    /// The text before an edit.
    pub previous_body: Option<String>,
}

/// `pull_request`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestEvent {
    /// What happened.
    pub action: PullRequestAction,
    /// The pull request, as it is now.
    pub pull_request: PullRequest,
    /// Its (base) repository.
    pub repository: Repository,
    /// Who did it.
    pub sender: User,
    /// The label added or removed.
    pub label: Option<String>,
    /// The installation the delivery came through.
    pub installation: Option<InstallationId>,
    /// The head before a `synchronize`.
    pub before: Option<CommitSha>,
    /// The head after a `synchronize`.
    pub after: Option<CommitSha>,
    /// Why it left the merge queue (`dequeued`), as GitHub says it.
    pub reason: Option<String>,
}

/// `pull_request_review`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestReviewEvent {
    /// What happened.
    pub action: ReviewAction,
    /// The review.
    pub review: Review,
    /// The pull request reviewed.
    pub pull_request: PullRequest,
    /// Its repository.
    pub repository: Repository,
    /// Who did it.
    pub sender: User,
    /// The installation the delivery came through.
    pub installation: Option<InstallationId>,
}

/// `check_run`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRunEvent {
    /// What happened.
    pub action: CheckRunAction,
    /// The check run.
    pub check_run: CheckRun,
    /// Its repository.
    pub repository: Repository,
    /// Who did it.
    pub sender: User,
    /// The installation the delivery came through.
    pub installation: Option<InstallationId>,
}

/// `check_suite`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSuiteEvent {
    /// What happened.
    pub action: CheckSuiteAction,
    /// The check suite.
    pub check_suite: CheckSuite,
    /// Its repository.
    pub repository: Repository,
    /// Who did it.
    pub sender: User,
    /// The installation the delivery came through.
    pub installation: Option<InstallationId>,
}

/// `status`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    /// The commit.
    pub sha: CommitSha,
    /// `pending`, `success`, `failure` or `error`.
    pub state: String,
    /// The status's name (the check's name in branch protection).
    pub context: String,
    /// Its description.
    pub description: Option<String>,
    /// Where its details are.
    pub target_url: Option<String>,
    /// The branches whose head is this commit.
    pub branches: Vec<String>,
    /// Its repository.
    pub repository: Repository,
    /// Who set it.
    pub sender: User,
    /// The installation the delivery came through.
    pub installation: Option<InstallationId>,
}

/// `push`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// The full ref pushed (`refs/heads/main`).
    pub ref_name: String,
    /// The ref's commit before.
    pub before: CommitSha,
    /// The ref's commit after.
    pub after: CommitSha,
    /// Whether the push created the ref.
    pub created: bool,
    /// Whether the push deleted the ref.
    pub deleted: bool,
    /// Whether it was a force push.
    pub forced: bool,
    /// How many commits were pushed.
    pub commit_count: usize,
    /// The pusher's name.
    pub pusher: String,
    /// Its repository.
    pub repository: Repository,
    /// Who pushed.
    pub sender: User,
    /// The installation the delivery came through.
    pub installation: Option<InstallationId>,
}

/// A body that does not match its event's shape.
#[derive(Debug, thiserror::Error)]
#[error("`{event}` payload does not parse at `{path}`: {message}")]
pub struct EventParseError {
    /// The event name.
    pub event: String,
    /// Where in the JSON it failed.
    pub path: String,
    /// The parser's message.
    pub message: String,
}

fn from_body<R, T>(event: &str, body: &[u8]) -> Result<T, EventParseError>
where
    R: DeserializeOwned + Into<T>,
{
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize::<_, R>(&mut deserializer)
        .map(Into::into)
        .map_err(|err| EventParseError {
            event: event.to_owned(),
            path: err.path().to_string(),
            message: err.into_inner().to_string(),
        })
}

/// Parses a delivery. `Ok(None)` for an event GlobalLM does not handle.
pub fn parse(event: &str, body: &[u8]) -> Result<Option<Event>, EventParseError> {
    use raw::*;
    let parsed = match event {
        "ping" => Event::Ping(from_body::<RawPing, _>(event, body)?),
        "installation" | "integration_installation" => {
            Event::Installation(from_body::<RawInstallationEvent, _>(event, body)?)
        }
        "installation_repositories" | "integration_installation_repositories" => {
            Event::InstallationRepositories(from_body::<RawInstallationRepositoriesEvent, _>(
                event, body,
            )?)
        }
        "issues" => Event::Issues(from_body::<RawIssuesEvent, _>(event, body)?),
        "issue_comment" => Event::IssueComment(from_body::<RawIssueCommentEvent, _>(event, body)?),
        "pull_request" => Event::PullRequest(from_body::<RawPullRequestEvent, _>(event, body)?),
        "pull_request_review" => {
            Event::PullRequestReview(from_body::<RawPullRequestReviewEvent, _>(event, body)?)
        }
        "check_run" => Event::CheckRun(from_body::<RawCheckRunEvent, _>(event, body)?),
        "check_suite" => Event::CheckSuite(from_body::<RawCheckSuiteEvent, _>(event, body)?),
        "status" => Event::Status(from_body::<RawStatusEvent, _>(event, body)?),
        "push" => Event::Push(from_body::<RawPushEvent, _>(event, body)?),
        "merge_group" => Event::MergeGroup(from_body::<RawMergeGroupEvent, _>(event, body)?),
        _ => return Ok(None),
    };
    Ok(Some(parsed))
}

/// The fields every stored delivery is indexed by, read at ingest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The payload's `action`.
    pub action: Option<String>,
    /// The payload's `installation.id`.
    pub installation: Option<InstallationId>,
    /// The payload's `repository.full_name`.
    pub repository: Option<String>,
}

/// Reads the envelope of a body, which must be a JSON object; this also checks the whole
/// body is well-formed JSON.
pub fn envelope(body: &[u8]) -> Result<Envelope, serde_json::Error> {
    let raw: raw::RawEnvelope = serde_json::from_slice(body)?;
    Ok(Envelope {
        action: raw.action,
        installation: raw.installation.map(|i| InstallationId(i.id())),
        repository: raw.repository.and_then(|r| r.full_name),
    })
}

impl Event {
    /// The installation the delivery came through, when it says.
    pub fn installation(&self) -> Option<InstallationId> {
        match self {
            Event::Ping(_) => None,
            Event::Installation(e) => Some(e.installation.id),
            Event::InstallationRepositories(e) => Some(e.installation.id),
            Event::Issues(e) => e.installation,
            Event::IssueComment(e) => e.installation,
            Event::PullRequest(e) => e.installation,
            Event::PullRequestReview(e) => e.installation,
            Event::CheckRun(e) => e.installation,
            Event::CheckSuite(e) => e.installation,
            Event::Status(e) => e.installation,
            Event::Push(e) => e.installation,
            Event::MergeGroup(e) => e.installation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_merge_group_delivery_names_its_pull_request() {
        let Some(body) = crate::testing::harness::shared_payload(
            "webhooks/merge_group/checks_requested.payload.json",
        ) else {
            return;
        };
        let Ok(Some(Event::MergeGroup(group))) = parse("merge_group", &body) else {
            panic!("a merge_group event");
        };
        assert_eq!(group.action, MergeGroupAction::ChecksRequested);
        assert_eq!(group.pull_number(), Some(IssueNumber(104)));
        assert_eq!(group.base_ref, "refs/heads/main");
        assert_eq!(group.head_sha.0, "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d");
    }

    #[test]
    fn unknown_events_parse_to_none() {
        assert!(matches!(parse("star", b"{}"), Ok(None)));
    }

    #[test]
    fn a_wrong_shape_names_the_failing_field() {
        let err = parse(
            "issues",
            br#"{"action": "opened", "issue": {"number": "x"}}"#,
        )
        .expect_err("does not parse");
        assert_eq!(err.path, "issue.number");
        assert!(err.to_string().contains("`issues` payload"), "{err}");
    }

    #[test]
    fn envelopes_need_a_json_object() {
        assert!(envelope(b"[1, 2]").is_err());
        assert!(envelope(b"{\"action\": \"opened\"").is_err());
        let env = envelope(
            br#"{"action":"opened","installation":{"id":7},"repository":{"full_name":"o/r"}}"#,
        )
        .expect("parses");
        assert_eq!(env.action.as_deref(), Some("opened"));
        assert_eq!(env.installation, Some(InstallationId(7)));
        assert_eq!(env.repository.as_deref(), Some("o/r"));
    }
}
