//! Types the GitHub API answers with (beyond those events share, in `event::model`) and the
//! requests GlobalLM sends, in GlobalLM's own terms.

use super::ids::{AppId, InstallationId};
use serde::{Deserialize, Serialize};

/// A label of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Its name.
    pub name: String,
    /// Its colour, six hex digits without `#`.
    pub color: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A pull request to open.
#[derive(Debug, Clone, Serialize)]
pub struct NewPullRequest {
    /// Its title.
    pub title: String,
    /// The branch with the changes.
    pub head: String,
    /// The branch to merge into.
    pub base: String,
    /// Its description.
    pub body: String,
    /// Whether to open it as a draft.
    pub draft: bool,
}

/// Changes to a pull request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PullRequestUpdate {
    /// A new title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A new description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `open` or `closed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// A file a pull request changes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequestFile {
    /// Its path.
    pub filename: String,
    /// `added`, `modified`, `removed`, `renamed`, …
    pub status: String,
    /// Lines added.
    #[serde(default)]
    pub additions: u64,
    /// Lines removed.
    #[serde(default)]
    pub deletions: u64,
}

/// How a merge went.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MergeResult {
    /// Whether it merged.
    pub merged: bool,
    /// The merge commit.
    #[serde(default)]
    pub sha: Option<String>,
    /// GitHub's message.
    #[serde(default)]
    pub message: String,
}

/// One commit status context.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatusContext {
    /// The status's name.
    pub context: String,
    /// `pending`, `success`, `failure` or `error`.
    pub state: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Where its details are.
    #[serde(default)]
    pub target_url: Option<String>,
}

/// The combined commit status of a ref.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CombinedStatus {
    /// `pending`, `success` or `failure` over all contexts.
    pub state: String,
    /// The latest status of each context.
    #[serde(default)]
    pub statuses: Vec<StatusContext>,
}

/// A check suite on a commit, as the check-suites listing gives it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckSuiteSummary {
    /// Its id.
    pub id: super::ids::CheckSuiteId,
    /// `queued`, `in_progress` or `completed` (and other transient states).
    pub status: Option<String>,
    /// `success`, `failure`, … once completed.
    pub conclusion: Option<String>,
    /// The App that runs it.
    pub app: Option<SuiteApp>,
    /// Check runs it has created so far.
    #[serde(default)]
    pub latest_check_runs_count: u64,
}

/// The App of a check suite.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SuiteApp {
    /// Its slug.
    pub slug: String,
}

/// The checks branch protection requires.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequiredChecks {
    /// Whether the branch must be up to date with the base before merging.
    pub strict: bool,
    /// The names (contexts) of the required checks.
    pub contexts: Vec<String>,
}

/// A collaborator's permission on a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    /// No access.
    None,
    /// Read.
    Read,
    /// Triage.
    Triage,
    /// Write.
    Write,
    /// Maintain.
    Maintain,
    /// Admin.
    Admin,
}

impl Permission {
    /// Reads GitHub's `role_name` (or `permission`) value.
    pub fn from_github(text: &str) -> Self {
        match text {
            "admin" => Permission::Admin,
            "maintain" => Permission::Maintain,
            "write" | "push" => Permission::Write,
            "triage" => Permission::Triage,
            "read" | "pull" => Permission::Read,
            _ => Permission::None,
        }
    }

    /// Whether this permission may steer GlobalLM (`fix`, `retry`, `stop`, `resume`, `merge`).
    pub fn can_write(self) -> bool {
        self >= Permission::Write
    }
}

/// A file from the contents API, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    /// Its path.
    pub path: String,
    /// Its blob sha.
    pub sha: String,
    /// Its content.
    pub content: Vec<u8>,
}

/// A check run to create.
#[derive(Debug, Clone, Serialize)]
pub struct NewCheckRun {
    /// Its name.
    pub name: String,
    /// The commit it reports on.
    pub head_sha: String,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    /// When completed: `success`, `failure`, `neutral`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    /// What it found.
    pub output: CheckRunOutput,
}

/// A check run's text.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRunOutput {
    /// One line.
    pub title: String,
    /// Markdown.
    pub summary: String,
}

/// One delivery in the App's webhook delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HookDelivery {
    /// The log entry's id (what a redelivery is asked for).
    pub id: u64,
    /// The delivery's GUID (`X-GitHub-Delivery`), shared by its redeliveries.
    pub guid: String,
    /// When it was sent.
    pub delivered_at: String,
    /// Whether this was a redelivery.
    #[serde(default)]
    pub redelivery: bool,
    /// `OK` or what went wrong.
    pub status: String,
    /// The HTTP status our endpoint answered (0 when it did not answer).
    #[serde(default)]
    pub status_code: u16,
    /// The event.
    pub event: String,
    /// The action.
    #[serde(default)]
    pub action: Option<String>,
}

impl HookDelivery {
    /// Whether our endpoint took it (any 2xx).
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status_code)
    }
}

/// What the manifest flow's code converts into: the new App's credentials.
#[derive(Clone, Deserialize, Serialize)]
pub struct AppConversion {
    /// The App's id.
    pub id: AppId,
    /// The App's slug (its URL name).
    pub slug: String,
    /// The App's name.
    #[serde(default)]
    pub name: String,
    /// The App's page on GitHub.
    #[serde(default)]
    pub html_url: String,
    /// The private key, PEM.
    pub pem: String,
    /// The webhook secret.
    pub webhook_secret: Option<String>,
    /// The OAuth client id.
    #[serde(default)]
    pub client_id: String,
    /// The OAuth client secret.
    #[serde(default)]
    pub client_secret: String,
}

impl std::fmt::Debug for AppConversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConversion")
            .field("id", &self.id)
            .field("slug", &self.slug)
            .field("html_url", &self.html_url)
            .finish_non_exhaustive()
    }
}

/// The App as GitHub describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppInfo {
    /// Its id.
    pub id: AppId,
    /// Its slug.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// Its page.
    #[serde(default)]
    pub html_url: String,
}

/// An installation of the App, as `GET /app/installations` and
/// `GET /repos/{owner}/{repo}/installation` describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationInfo {
    /// Its id.
    pub id: InstallationId,
    /// The account's login.
    pub account: String,
}

/// One page of repository search results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage<T> {
    /// How many results the query has in all (search serves at most 1,000 of them).
    pub total_count: u64,
    /// Whether GitHub gave up before finding them all.
    pub incomplete_results: bool,
    /// This page's results.
    pub items: Vec<T>,
}
