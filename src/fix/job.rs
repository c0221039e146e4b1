//! The fix job: from an issue (or a pull request's feedback) to a pushed commit and a draft
//! pull request. Guards first (issue open, automation allowed, one fix per issue, the
//! repository's limit of open pull requests, a fix attempt in the budget); then a fresh work
//! tree and the drafting pipeline ([`crate::solution::draft`]); then [`super::publish`].
//!
//! Idempotent: the `fix_prs` unique key allows one fix being drafted or open per issue, the
//! budget reservation is keyed by the attempt, the push leases on the head GlobalLM knows, and
//! the pull request and comments are written at most once.

use super::lifecycle;
use super::publish::{self, Draft};
use super::render;
use crate::budget::{BudgetError, ReserveRequest, Settlement};
use crate::config::Language;
use crate::context::Context;
use crate::db::fixes::{self, FixPr};
use crate::db::jobs::Job;
use crate::event::model::{Issue, Repository};
use crate::github::GithubClient;
use crate::github::ids::{IssueNumber, RepoName};
use crate::github::repo_config::RepoSettings;
use crate::jobs::{BackgroundJob, Done, JobError};
use crate::solution::checkout;
use crate::solution::draft::{self, DraftError, DraftInput, DraftOptions, Feedback, IssueInput};
use crate::triage::category::Category;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What asked for the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// The fix label was put on the issue.
    Label,
    /// `/globallm fix` on the issue.
    Command,
    /// `/globallm retry` on the pull request: start over with this feedback.
    Retry {
        /// The maintainer's words and the last CI output.
        feedback: String,
    },
    /// CI failed on the change: repair it on top of the branch.
    Repair {
        /// The failing checks' output.
        ci_output: String,
    },
    /// `globallm fix --issue-url …` from an operator.
    Cli,
}

impl Trigger {
    /// A new version of an open pull request, not a first draft.
    pub fn is_redraft(&self) -> bool {
        matches!(self, Trigger::Retry { .. } | Trigger::Repair { .. })
    }
}

/// Drafts (or redrafts) the fix of one issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixIssue {
    /// The installation to act through.
    pub installation: u64,
    /// `owner/name`.
    pub repo: String,
    /// The issue.
    pub issue: u64,
    /// Who asked (notified on merge, asked for review on HIGH).
    pub requested_by: String,
    /// What asked.
    pub trigger: Trigger,
}

impl BackgroundJob for FixIssue {
    const KIND: &'static str = "fix_issue";

    async fn run(self, ctx: Arc<Context>, job: &Job) -> Result<Done, JobError> {
        match self.fix(&ctx, job.id, job.attempts > 1).await {
            Ok(outcome) => {
                tracing::info!(repo = %self.repo, issue = self.issue, "fix job: {outcome}");
                Ok(Done::default())
            }
            Err(err) => {
                let last =
                    matches!(err, JobError::Permanent(_)) || job.attempts >= job.max_attempts;
                if last && !self.trigger.is_redraft() {
                    self.abandon(&ctx, job.attempts).await;
                }
                Err(err)
            }
        }
    }

    /// Stopped at its deadline (stuck in a clone, a model that never answers): the fix it
    /// started is marked failed and the issue told, as after a last failed attempt.
    async fn stopped(self, ctx: Arc<Context>, job: &Job) {
        if !self.trigger.is_redraft() {
            self.abandon(&ctx, job.attempts).await;
        }
    }
}

/// What a fix job did, in words (logged, and what `fix` prints).
pub type Outcome = String;

/// Why a fix job ended early.
pub(super) enum Failure {
    /// Worth another attempt of the job (or dead).
    Job(JobError),
    /// Ended, and the reason was said on GitHub (or needed no saying).
    Said(String),
}

impl From<JobError> for Failure {
    fn from(err: JobError) -> Self {
        Failure::Job(err)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Failure::Job(crate::jobs::classify(err))
    }
}

impl From<crate::github::GithubError> for Failure {
    fn from(err: crate::github::GithubError) -> Self {
        Failure::Job(err.into())
    }
}

/// What drafting needs beside the job: the GitHub client, the repository and its settings.
pub(super) struct Scene<'a> {
    pub ctx: &'a Context,
    pub github: &'a GithubClient,
    pub job: &'a FixIssue,
    pub job_id: i64,
    pub repo: RepoName,
    pub settings: RepoSettings,
    pub issue: Issue,
    /// When the job started, for the time it spent (the outcome ledger).
    pub started: std::time::Instant,
}

impl Scene<'_> {
    /// Milliseconds the job has spent so far.
    pub fn spent_ms(&self) -> i64 {
        i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}

impl FixIssue {
    /// The job's last attempt failed: a fix it started and never got to a pull request is
    /// marked failed — else it would stand in the way of every later request for this issue —
    /// and the issue is told, so a maintainer knows to ask again. The error itself stays in
    /// the log and on the operator's dashboard (failed jobs): it can name internals.
    async fn abandon(&self, ctx: &Context, attempts: i64) {
        let abandoned = async {
            let Some(fix) =
                fixes::active_for_issue(ctx.db.pool(), &self.repo, self.issue as i64).await?
            else {
                return anyhow::Ok(None);
            };
            Ok(lifecycle::abandoned(ctx, fix.id).await?.then_some(fix.id))
        };
        let id = match abandoned.await {
            Ok(Some(id)) => id,
            Ok(None) => return,
            Err(err) => {
                tracing::error!(repo = %self.repo, issue = self.issue,
                    "marking the abandoned fix failed did not work: {err:#}");
                return;
            }
        };
        let said = async {
            let github = ctx.github()?;
            let repo: RepoName = self.repo.parse().map_err(|err| anyhow::anyhow!("{err}"))?;
            github
                .create_comment(
                    crate::github::ids::InstallationId(self.installation),
                    &repo,
                    IssueNumber(self.issue),
                    &format!("fix:{id}:abandoned"),
                    &render::abandoned(attempts),
                )
                .await?;
            anyhow::Ok(())
        };
        if let Err(err) = said.await {
            tracing::warn!(repo = %self.repo, issue = self.issue,
                "the abandoned fix could not be announced on the issue: {err:#}");
        }
    }

    /// Runs the whole flow as job `job_id` (0 from the CLI); `rerun` says an earlier attempt
    /// of this job may have started it.
    pub async fn fix(&self, ctx: &Context, job_id: i64, rerun: bool) -> Result<Outcome, JobError> {
        let github = ctx.github()?;
        let inst = crate::github::ids::InstallationId(self.installation);
        let repo: RepoName = self
            .repo
            .parse()
            .map_err(|err| JobError::Permanent(anyhow::anyhow!("{err}")))?;
        let settings = ctx.repo_configs.settings(&github, inst, &repo).await;
        let issue = github
            .get_issue(inst, &repo, IssueNumber(self.issue))
            .await?;
        if let Some(reason) = super::skip_reason(&issue, &settings) {
            return Ok(reason);
        }
        let scene = Scene {
            ctx,
            github: &github,
            job: self,
            job_id,
            repo,
            settings,
            issue,
            started: std::time::Instant::now(),
        };
        let fix = match self.row(&scene, rerun).await {
            Ok(fix) => fix,
            Err(Failure::Job(err)) => return Err(err),
            Err(Failure::Said(outcome)) => return Ok(outcome),
        };
        match self.draft_and_publish(&scene, fix).await {
            Ok(outcome) => Ok(outcome),
            Err(Failure::Job(err)) => Err(err),
            Err(Failure::Said(outcome)) => Ok(outcome),
        }
    }

    /// The fix row this job works on: the open one for a redraft, a new one (or this job's
    /// own, on a rerun) for a first draft.
    async fn row(&self, scene: &Scene<'_>, rerun: bool) -> Result<FixPr, Failure> {
        let ctx = scene.ctx;
        let existing = fixes::active_for_issue(ctx.db.pool(), &self.repo, self.issue as i64)
            .await
            .map_err(anyhow::Error::from)?;
        match (existing, self.trigger.is_redraft()) {
            (Some(fix), true) if fix.state == super::FixState::Open => Ok(fix),
            (_, true) => Err(Failure::Said(
                "no open GlobalLM pull request to redo".to_owned(),
            )),
            (Some(fix), false) if fix.state == super::FixState::Drafting && rerun => Ok(fix),
            (Some(fix), false) => Err(Failure::Said(format!(
                "a fix is already {} for this issue{}",
                fix.state,
                fix.pr_number
                    .map(|n| format!(" (#{n})"))
                    .unwrap_or_default()
            ))),
            (None, false) => {
                let open = fixes::count_open(ctx.db.pool(), &self.repo)
                    .await
                    .map_err(anyhow::Error::from)?;
                let limit = scene.settings.config.max_open_prs;
                if open >= i64::from(limit) {
                    scene
                        .github
                        .create_comment(
                            crate::github::ids::InstallationId(self.installation),
                            &scene.repo,
                            IssueNumber(self.issue),
                            &format!("fix-limit:{}:{}", self.issue, scene.job_id),
                            &render::open_limit(open),
                        )
                        .await?;
                    return Err(Failure::Said(
                        "the repository's limit of open pull requests is reached".to_owned(),
                    ));
                }
                lifecycle::start(
                    ctx,
                    &self.repo,
                    self.issue,
                    self.installation,
                    &self.requested_by,
                )
                .await?
                .ok_or_else(|| Failure::Said("another delivery started this fix first".to_owned()))
            }
        }
    }

    async fn draft_and_publish(&self, scene: &Scene<'_>, fix: FixPr) -> Result<Outcome, Failure> {
        let ctx = scene.ctx;
        let github = scene.github;
        let inst = crate::github::ids::InstallationId(self.installation);
        let config = ctx.config();
        let meta = github.get_repo(inst, &scene.repo).await?;
        let Some(language) = meta.language.as_deref().and_then(Language::from_github) else {
            let text = render::unsupported_language(meta.language.as_deref());
            return publish::give_up(scene, &fix, &text, 0).await;
        };
        let Some(llm) = ctx.llm() else {
            return publish::give_up(scene, &fix, render::NO_LLM, 0).await;
        };
        let attempt = fix.attempts + 1;
        let budget = llm.budget().clone();
        let reservation = match budget
            .reserve(
                &self.repo,
                language,
                ReserveRequest::fix_attempt(config.fix.attempt_seconds)
                    .purpose("fix_attempt")
                    .key(format!(
                        "fix:{}#{}:{}:{attempt}",
                        self.repo, self.issue, fix.repairs
                    )),
            )
            .await
        {
            Ok(r) => r,
            Err(err @ BudgetError::Exceeded { .. }) => {
                let text = render::budget_exhausted(&err.to_string());
                return publish::give_up(scene, &fix, &text, 0).await;
            }
            Err(err) => return Err(Failure::Job(JobError::Retry(err.into()))),
        };
        let started = std::time::Instant::now();
        // A redraft keeps the category the first draft was made for (no second LLM call).
        let known = fix
            .category
            .as_deref()
            .and_then(|c| c.parse::<Category>().ok())
            .zip(fix.complexity.and_then(|c| u8::try_from(c).ok()));
        let (category, complexity) = match known {
            Some(known) => known,
            None => self.category(ctx, &meta, &scene.issue).await,
        };
        let token = github.installation_token(inst).await?;
        let clone_url = super::clone_url(&config, &meta, &self.repo);
        // A repair builds on the branch; anything else starts from the default branch.
        let base = match self.trigger {
            Trigger::Repair { .. } => fix.branch.clone(),
            _ => meta.default_branch.clone(),
        };
        let work = ctx
            .checkouts
            .work_tree(&self.repo, &clone_url, Some(&token), &base)
            .await
            .context("checking out the repository")
            .map_err(JobError::Retry)?;
        checkout::create_branch(&work, &fix.branch)
            .await
            .context("creating the branch")
            .map_err(JobError::Retry)?;
        let (request, ci_output) = match &self.trigger {
            Trigger::Retry { feedback } => (Some(feedback.as_str()), None),
            Trigger::Repair { ci_output } => (None, Some(ci_output.as_str())),
            _ => (None, None),
        };
        // A retry starts again from the default branch; the model sees what it tried before.
        let previous_diff = match self.trigger {
            Trigger::Retry { .. } => checkout::diff_of_branch(&work, &fix.branch).await.ok(),
            _ => None,
        };
        let issue = &scene.issue;
        let forbidden = super::risk::forbidden_paths(
            &config.risk,
            &scene.settings.config,
            &issue.title,
            &issue.body,
        )
        .map_err(|err| Failure::Job(JobError::Permanent(err.into())))?;
        let drafted = draft::draft_fix(DraftInput {
            work_tree: work.path(),
            repo: &self.repo,
            language,
            issue: IssueInput {
                number: self.issue,
                title: &issue.title,
                body: &issue.body,
                category,
                complexity,
            },
            forbidden: &forbidden,
            test_command: scene.settings.config.test_command.as_deref(),
            llm: &llm,
            feedback: Feedback {
                request,
                ci_output,
                previous_diff: previous_diff.as_deref(),
            },
            max_attempts: config.fix.max_attempts,
            options: DraftOptions::from_config(&config),
        })
        .await;
        let draft = match drafted {
            Ok(draft) => draft,
            Err(err) => {
                let _ = budget.release(reservation.id, &err.to_string()).await;
                let spent = match &err {
                    DraftError::Declined { usage, .. } | DraftError::Exhausted { usage, .. } => {
                        usage.total()
                    }
                    _ => 0,
                };
                let text = render::draft_error_text(&err);
                let tokens = i64::try_from(spent).unwrap_or(i64::MAX);
                return publish::give_up(scene, &fix, &text, tokens).await;
            }
        };
        let outcome = publish::publish(
            scene,
            fix,
            Draft {
                draft: &draft,
                work: &work,
                clone_url: &clone_url,
                token: &token,
                default_branch: &meta.default_branch,
                category,
                complexity,
                attempt,
            },
        )
        .await;
        match &outcome {
            Ok(_) => {
                let settlement = Settlement {
                    seconds: started.elapsed().as_secs(),
                    ..Settlement::default()
                };
                let _ = budget.settle(reservation.id, &settlement).await;
            }
            Err(Failure::Said(_)) => {
                let _ = budget.release(reservation.id, "nothing was pushed").await;
            }
            // The job runs again and finds its reservation by its key.
            Err(Failure::Job(_)) => {}
        }
        outcome
    }

    /// The issue's category and complexity: as triage stored them, else assessed now.
    pub(super) async fn category(
        &self,
        ctx: &Context,
        meta: &Repository,
        issue: &Issue,
    ) -> (Category, u8) {
        if let Ok(Some(t)) =
            crate::db::triage::get(ctx.db.pool(), &self.repo, self.issue as i64).await
            && let Ok(category) = t.category.parse::<Category>()
        {
            return (category, u8::try_from(t.complexity).unwrap_or(10));
        }
        match crate::triage::assess(ctx, meta, issue, ctx.clock.now_ms()).await {
            Ok(a) => (a.categorized.category, a.categorized.complexity),
            Err(err) => {
                tracing::warn!("assessing issue #{} for its fix failed: {err}", self.issue);
                (Category::Other, 10)
            }
        }
    }
}

/// Queues a fix job (in its own transaction) and wakes a worker.
pub async fn enqueue(ctx: &Context, job: &FixIssue) -> anyhow::Result<()> {
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.write().await?;
    crate::db::jobs::enqueue(tx.conn(), &job.to_new_job(&ctx.config().jobs, now), now).await?;
    tx.commit().await?;
    ctx.jobs_added.notify_waiters();
    Ok(())
}
