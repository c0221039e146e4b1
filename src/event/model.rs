//! The domain types events are made of. They hold what GlobalLM uses, in its own terms; the
//! wire format stays in `raw.rs`.

use crate::github::ids::{
    AppId, CheckRunId, CheckSuiteId, CommentId, CommitSha, InstallationId, IssueNumber, RepoId,
    RepoName, UserId,
};
use crate::time::Millis;

/// Declares an action enum: the known actions, plus `Other` for the ones GitHub may add.
macro_rules! actions {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// An action GlobalLM does not act on, as GitHub named it.
            Other(String),
        }

        impl $name {
            pub(super) fn from_wire(action: &str) -> Self {
                match action {
                    $($wire => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }

            /// The action as GitHub names it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Other(other) => other,
                }
            }
        }
    };
}

/// What kind of account a user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// A person.
    User,
    /// A bot (a GitHub App's account or a machine user marked as such).
    Bot,
    /// An organization.
    Organization,
}

/// A user, bot or organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Its login.
    pub login: String,
    /// Person, bot or organization.
    pub kind: AccountKind,
}

/// A repository as events describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// Its id.
    pub id: RepoId,
    /// `owner/name`.
    pub name: RepoName,
    /// Whether it is private.
    pub private: bool,
    /// Whether it is a fork.
    pub fork: bool,
    /// Whether it is archived.
    pub archived: bool,
    /// Its default branch.
    pub default_branch: String,
    /// Its main language, as GitHub detects it.
    pub language: Option<String>,
    /// Its stars.
    pub stars: u64,
    /// Where to clone it over HTTPS.
    pub clone_url: Option<String>,
    /// When it was created.
    pub created_at: Option<Millis>,
    /// When it was last pushed to.
    pub pushed_at: Option<Millis>,
}

/// A repository in an installation's list (id, name and visibility only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    /// Its id.
    pub id: RepoId,
    /// `owner/name`.
    pub name: RepoName,
    /// Whether it is private.
    pub private: bool,
}

/// An installation of the App.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// Its id.
    pub id: InstallationId,
    /// The account it is installed on.
    pub account: User,
    /// `all` or `selected`.
    pub repository_selection: Option<String>,
    /// Whether it is suspended.
    pub suspended: bool,
    /// The App it belongs to.
    pub app_id: Option<AppId>,
}

/// Open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Open.
    Open,
    /// Closed.
    Closed,
}

/// An issue (or, when `is_pull_request`, the issue side of a pull request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Its number.
    pub number: IssueNumber,
    /// Its title.
    pub title: String,
    /// Its body (empty when it has none).
    pub body: String,
    /// Open or closed.
    pub state: State,
    /// Whether it is locked.
    pub locked: bool,
    /// Its labels' names.
    pub labels: Vec<String>,
    /// Who it is assigned to.
    pub assignees: Vec<User>,
    /// Who opened it.
    pub author: User,
    /// How many comments it has.
    pub comments: u64,
    /// How many reactions it has.
    pub reactions: u64,
    /// When it was opened.
    pub created_at: Millis,
    /// When it last changed.
    pub updated_at: Millis,
    /// Whether this is a pull request.
    pub is_pull_request: bool,
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Its id.
    pub id: CommentId,
    /// Its text.
    pub body: String,
    /// Who wrote it.
    pub author: User,
    /// When it was written.
    pub created_at: Millis,
}

/// One side (head or base) of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRef {
    /// The branch name.
    pub branch: String,
    /// The commit.
    pub sha: CommitSha,
    /// The repository the branch is in (`None` when it was deleted).
    pub repo: Option<RepoName>,
}

/// A pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// Its number.
    pub number: IssueNumber,
    /// Its title.
    pub title: String,
    /// Its body (empty when it has none).
    pub body: String,
    /// Open or closed.
    pub state: State,
    /// Whether it is a draft.
    pub draft: bool,
    /// Whether it was merged.
    pub merged: bool,
    /// The commit it was merged as, once merged.
    pub merge_sha: Option<String>,
    /// The branch with the changes.
    pub head: GitRef,
    /// The branch it would merge into.
    pub base: GitRef,
    /// Who opened it.
    pub author: User,
    /// Its labels' names.
    pub labels: Vec<String>,
    /// Its GraphQL node id (for mutations REST does not offer).
    pub node_id: String,
    /// Whether it can be merged, once GitHub has computed it.
    pub mergeable: Option<bool>,
    /// GitHub's mergeability detail (`clean`, `blocked`, `dirty`, `unstable`, …).
    pub mergeable_state: Option<String>,
}

/// A pull request review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// `approved`, `changes_requested`, `commented` or `dismissed`.
    pub state: String,
    /// Who reviewed.
    pub author: User,
    /// The review's text.
    pub body: String,
}

/// Queued, in progress or completed (check runs and suites).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckStatus {
    /// Waiting to run.
    Queued,
    /// Running.
    InProgress,
    /// Done; see the conclusion.
    Completed,
    /// Another status (`waiting`, `requested`, `pending`).
    Other(String),
}

/// A check run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRun {
    /// Its id.
    pub id: CheckRunId,
    /// Its name (the check's name in branch protection).
    pub name: String,
    /// The commit it checks.
    pub head_sha: CommitSha,
    /// Its status.
    pub status: CheckStatus,
    /// `success`, `failure`, … once completed.
    pub conclusion: Option<String>,
    /// The App that runs it.
    pub app_slug: Option<String>,
    /// The pull requests it belongs to.
    pub pull_requests: Vec<IssueNumber>,
    /// The suite it belongs to (to run it again).
    pub check_suite: Option<CheckSuiteId>,
    /// What it reported: title, summary and details.
    pub output: Option<String>,
    /// Where its details are.
    pub details_url: Option<String>,
}

/// A check suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSuite {
    /// Its id.
    pub id: CheckSuiteId,
    /// The branch it ran on.
    pub head_branch: Option<String>,
    /// The commit it checks.
    pub head_sha: CommitSha,
    /// Its status.
    pub status: CheckStatus,
    /// `success`, `failure`, … once completed.
    pub conclusion: Option<String>,
    /// The App that runs it.
    pub app_slug: Option<String>,
    /// The pull requests it belongs to.
    pub pull_requests: Vec<IssueNumber>,
}

actions!(
    /// `installation` actions.
    InstallationAction {
        /// The App was installed.
        Created => "created",
        /// The App was uninstalled.
        Deleted => "deleted",
        /// The installation was suspended.
        Suspend => "suspend",
        /// The installation was unsuspended.
        Unsuspend => "unsuspend",
        /// The account accepted new permissions.
        NewPermissionsAccepted => "new_permissions_accepted",
    }
);

actions!(
    /// `installation_repositories` actions.
    InstallationRepositoriesAction {
        /// Repositories were added to the installation.
        Added => "added",
        /// Repositories were removed from it.
        Removed => "removed",
    }
);

actions!(
    /// `issues` actions.
    IssuesAction {
        /// Opened.
        Opened => "opened",
        /// Title or body edited.
        Edited => "edited",
        /// Reopened.
        Reopened => "reopened",
        /// Closed.
        Closed => "closed",
        /// A label added.
        Labeled => "labeled",
        /// A label removed.
        Unlabeled => "unlabeled",
        /// Assigned.
        Assigned => "assigned",
        /// Unassigned.
        Unassigned => "unassigned",
        /// Locked.
        Locked => "locked",
        /// Unlocked.
        Unlocked => "unlocked",
        /// Deleted.
        Deleted => "deleted",
        /// Transferred to another repository.
        Transferred => "transferred",
    }
);

actions!(
    /// `issue_comment` actions.
    CommentAction {
        /// Written.
        Created => "created",
        /// Edited.
        Edited => "edited",
        /// Deleted.
        Deleted => "deleted",
    }
);

actions!(
    /// `pull_request` actions.
    PullRequestAction {
        /// Opened.
        Opened => "opened",
        /// Title or body edited.
        Edited => "edited",
        /// Closed (merged or not).
        Closed => "closed",
        /// Reopened.
        Reopened => "reopened",
        /// New commits pushed to the head branch.
        Synchronize => "synchronize",
        /// Marked ready for review.
        ReadyForReview => "ready_for_review",
        /// Turned back into a draft.
        ConvertedToDraft => "converted_to_draft",
        /// A label added.
        Labeled => "labeled",
        /// A label removed.
        Unlabeled => "unlabeled",
        /// Added to the base branch's merge queue.
        Enqueued => "enqueued",
        /// Removed from the merge queue without being merged.
        Dequeued => "dequeued",
    }
);

actions!(
    /// `merge_group` actions.
    MergeGroupAction {
        /// A merge group was formed and its checks are asked for.
        ChecksRequested => "checks_requested",
        /// The merge group is gone: merged, invalidated or dequeued (`reason`).
        Destroyed => "destroyed",
    }
);

actions!(
    /// `pull_request_review` actions.
    ReviewAction {
        /// Submitted.
        Submitted => "submitted",
        /// Edited.
        Edited => "edited",
        /// Dismissed.
        Dismissed => "dismissed",
    }
);

actions!(
    /// `check_run` actions.
    CheckRunAction {
        /// Created.
        Created => "created",
        /// Completed.
        Completed => "completed",
        /// Someone asked to run it again.
        Rerequested => "rerequested",
        /// Someone pressed one of its buttons.
        RequestedAction => "requested_action",
    }
);

actions!(
    /// `check_suite` actions.
    CheckSuiteAction {
        /// All its runs completed.
        Completed => "completed",
        /// Requested (new commits).
        Requested => "requested",
        /// Someone asked to run it again.
        Rerequested => "rerequested",
    }
);
