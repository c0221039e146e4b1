//! The fix job: from an issue (or a pull request's feedback) to a pushed commit and a draft
//! pull request. Guards first (issue open, automation allowed, one fix per issue, the
//! repository's limit of open pull requests, a fix attempt in the budget); then a fresh work
//! tree, the drafting pipeline ([`crate::solution::draft`]), a commit authored by the App's
//! bot, a push with a lease, and the pull request with a body built in [`super::render`].
//!
//! Idempotent: the `fix_prs` unique key allows one fix being drafted or open per issue, the
//! budget reservation is keyed by the attempt, and an existing pull request for the branch is
//! updated rather than opened twice.

use super::pull::tier_name;
use super::render;
use crate::budget::{BudgetError, ReserveRequest, Settlement};
use crate::config::Language;
use crate::context::Context;
use crate::db::fixes::{self, FixPr};
use crate::db::jobs::Job;
use crate::event::model::{Issue, Repository, State};
use crate::github::GithubClient;
use crate::github::ids::{InstallationId, IssueNumber, RepoName};
use crate::github::model::{NewPullRequest, PullRequestUpdate};
use crate::github::repo_config::RepoConfig;
use crate::jobs::{BackgroundJob, Done, JobError};
use crate::solution::checkout::{self, Author};
use crate::solution::draft::{
    self, DraftError, DraftInput, DraftOptions, Feedback, FixDraft, IssueInput,
};
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
        match self.fix(&ctx, job.attempts > 1).await {
            Ok(outcome) => {
                tracing::info!(repo = %self.repo, issue = self.issue, "fix job: {outcome}");
                Ok(Done::default())
            }
            Err(err) => {
                let last =
                    matches!(err, JobError::Permanent(_)) || job.attempts >= job.max_attempts;
                if last && !self.is_redraft() {
                    self.abandon(&ctx, job.attempts).await;
                }
                Err(err)
            }
        }
    }
}

/// What a fix job did, in words (logged, and what `fix` prints).
pub type Outcome = String;

impl FixIssue {
    fn is_redraft(&self) -> bool {
        matches!(self.trigger, Trigger::Retry { .. } | Trigger::Repair { .. })
    }

    /// The job's last attempt failed: a fix it started and never got to a pull request is
    /// marked failed — else it would stand in the way of every later request for this issue —
    /// and the issue is told, so a maintainer knows to ask again. The error itself stays in
    /// the log and on the operator's dashboard (failed jobs): it can name internals.
    async fn abandon(&self, ctx: &Context, attempts: i64) {
        let abandoned = async {
            let Some(mut fix) =
                fixes::active_for_issue(ctx.db.pool(), &self.repo, self.issue as i64).await?
            else {
                return anyhow::Ok(false);
            };
            if fix.state != "drafting" || fix.pr_number.is_some() {
                return Ok(false);
            }
            fix.state = "failed".to_owned();
            let mut tx = ctx.db.write().await?;
            fixes::save(tx.conn(), &fix, ctx.clock.now_ms()).await?;
            tx.commit().await?;
            Ok(true)
        };
        match abandoned.await {
            Ok(true) => {}
            Ok(false) => return,
            Err(err) => {
                tracing::error!(repo = %self.repo, issue = self.issue,
                    "marking the abandoned fix failed did not work: {err:#}");
                return;
            }
        }
        let text = format!(
            "GlobalLM could not draft a fix for this issue: it failed {attempts} time{} on an error it could not get past, and has stopped. The operator's log and dashboard have the error. Ask again with `/globallm fix` (or the `globallm:fix` label) once it is resolved.",
            if attempts == 1 { "" } else { "s" }
        );
        let said = async {
            let github = ctx.github()?;
            let repo: RepoName = self.repo.parse().map_err(|err| anyhow::anyhow!("{err}"))?;
            github
                .create_comment(
                    InstallationId(self.installation),
                    &repo,
                    IssueNumber(self.issue),
                    &text,
                )
                .await?;
            anyhow::Ok(())
        };
        if let Err(err) = said.await {
            tracing::warn!(repo = %self.repo, issue = self.issue,
                "the abandoned fix could not be announced on the issue: {err:#}");
        }
    }

    /// Runs the whole flow; `rerun` says an earlier attempt of this job may have started it.
    pub async fn fix(&self, ctx: &Context, rerun: bool) -> Result<Outcome, JobError> {
        let github = ctx.github()?;
        let inst = InstallationId(self.installation);
        let repo: RepoName = self
            .repo
            .parse()
            .map_err(|err| JobError::Permanent(anyhow::anyhow!("{err}")))?;
        let number = IssueNumber(self.issue);
        let repo_config = ctx.repo_configs.get(&github, inst, &repo).await;
        let issue = github.get_issue(inst, &repo, number).await?;
        if let Some(reason) = skip_reason(&issue, &repo_config) {
            return Ok(reason);
        }
        let pool = ctx.db.pool();
        let existing = fixes::active_for_issue(pool, &self.repo, self.issue as i64)
            .await
            .map_err(anyhow::Error::from)?;
        let fix = match (existing, self.is_redraft()) {
            (Some(fix), true) if fix.state == "open" => fix,
            (_, true) => return Ok("no open GlobalLM pull request to redo".to_owned()),
            (Some(fix), false) if fix.state == "drafting" && rerun => fix,
            (Some(fix), false) => {
                return Ok(format!(
                    "a fix is already {} for this issue{}",
                    fix.state,
                    fix.pr_number
                        .map(|n| format!(" (#{n})"))
                        .unwrap_or_default()
                ));
            }
            (None, false) => {
                let open = fixes::count_open(pool, &self.repo)
                    .await
                    .map_err(anyhow::Error::from)?;
                if open >= i64::from(repo_config.max_open_prs) {
                    let text = format!(
                        "GlobalLM has {open} pull request{} open in this repository, its limit (`max_open_prs` in `.github/globallm.yml`); it will not draft another until one is merged or closed. Ask again with `/globallm fix` then.",
                        if open == 1 { "" } else { "s" }
                    );
                    github.create_comment(inst, &repo, number, &text).await?;
                    return Ok("the repository's limit of open pull requests is reached".to_owned());
                }
                let mut tx = ctx.db.write().await.map_err(anyhow::Error::from)?;
                let branch = branch_name(self.issue);
                let id = fixes::start(
                    tx.conn(),
                    &self.repo,
                    self.issue as i64,
                    self.installation as i64,
                    &branch,
                    ctx.clock.now_ms(),
                )
                .await
                .map_err(anyhow::Error::from)?;
                tx.commit().await.map_err(anyhow::Error::from)?;
                let Some(id) = id else {
                    return Ok("another delivery started this fix first".to_owned());
                };
                fixes::get(pool, id)
                    .await
                    .map_err(anyhow::Error::from)?
                    .ok_or_else(|| JobError::Retry(anyhow::anyhow!("fix {id} vanished")))?
            }
        };
        match self
            .draft_and_publish(ctx, &github, &repo, &issue, &repo_config, fix)
            .await
        {
            Ok(outcome) => Ok(outcome),
            Err(Failure::Job(err)) => Err(err),
            Err(Failure::Said(outcome)) => Ok(outcome),
        }
    }

    async fn draft_and_publish(
        &self,
        ctx: &Context,
        github: &GithubClient,
        repo: &RepoName,
        issue: &Issue,
        repo_config: &RepoConfig,
        mut fix: FixPr,
    ) -> Result<Outcome, Failure> {
        let inst = InstallationId(self.installation);
        let config = ctx.config();
        // Where to speak: the pull request once there is one, else the issue.
        let speak_on = IssueNumber(fix.pr_number.map_or(self.issue, |n| n as u64));
        let meta = github.get_repo(inst, repo).await.map_err(JobError::from)?;
        let Some(language) = meta.language.as_deref().and_then(Language::from_github) else {
            let text = format!(
                "GlobalLM drafts fixes for Python, JavaScript/TypeScript, Go, Rust and Java; this repository's language is {}.",
                meta.language.as_deref().unwrap_or("unknown")
            );
            return self.give_up(ctx, github, speak_on, fix, &text).await;
        };
        let Some(llm) = ctx.llm() else {
            let text = "GlobalLM has no LLM provider configured (`llm.provider`), so it cannot draft fixes here.";
            return self.give_up(ctx, github, speak_on, fix, text).await;
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
                return self.give_up(ctx, github, speak_on, fix, &text).await;
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
            None => self.category(ctx, &meta, issue).await,
        };
        let token = github
            .installation_token(inst)
            .await
            .map_err(JobError::from)?;
        let clone_url = meta
            .clone_url
            .clone()
            .unwrap_or_else(|| format!("{}/{}.git", config.github.web_root(), self.repo));
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
            repo_config,
            risk: &config.risk,
            llm: &llm,
            feedback: Feedback {
                request,
                ci_output,
                previous_diff: previous_diff.as_deref(),
            },
            max_attempts: config.fix.max_attempts,
            options: DraftOptions {
                run_tests: config.fix.run_tests,
                ..DraftOptions::default()
            },
        })
        .await;
        let settle = |seconds: u64| Settlement {
            seconds,
            ..Settlement::default()
        };
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
                fix.tokens += i64::try_from(spent).unwrap_or(i64::MAX);
                let text = match &err {
                    DraftError::Budget { source, .. } => {
                        render::budget_exhausted(&source.to_string())
                    }
                    DraftError::Exhausted { attempts, .. } => {
                        render::draft_failed(*attempts, &err.to_string())
                    }
                    other => render::draft_error(&other.to_string()),
                };
                return self.give_up(ctx, github, speak_on, fix, &text).await;
            }
        };
        let author = bot_author(ctx).await.map_err(JobError::from)?;
        let message = format!(
            "{}\n\n{}\n\nFixes #{}",
            render::pr_title(self.issue, &issue.title),
            draft.summary,
            self.issue
        );
        let Some(sha) = checkout::commit_all(&work, &author, &message)
            .await
            .context("committing the change")
            .map_err(JobError::Retry)?
        else {
            let text = render::draft_failed(draft.attempts, "the model's edits changed nothing");
            return self.give_up(ctx, github, speak_on, fix, &text).await;
        };
        // What the branch holds, as far as GlobalLM knows: its own last push for this fix (a
        // redraft, or a rerun after a push that went through), else what a failed earlier fix
        // of the issue pushed there. Only that is overwritten; anyone else's commit is not.
        let (expected, left_by_failed) = match &fix.head_sha {
            Some(sha) => (Some(sha.clone()), false),
            None if !self.is_redraft() => {
                let left = fixes::failed_head(ctx.db.pool(), &self.repo, self.issue as i64)
                    .await
                    .map_err(anyhow::Error::from)?;
                let found = left.is_some();
                (left, found)
            }
            None => (None, false),
        };
        // The new head is recorded before the push, so the CI events and the `synchronize` it
        // causes find it (and never take GlobalLM's own push for someone else's).
        fix.head_sha = Some(sha.clone());
        self.save(ctx, &fix).await?;
        let mut pushed = checkout::push(
            &work,
            &clone_url,
            Some(&token),
            &fix.branch,
            expected.as_deref(),
        )
        .await;
        if pushed.is_err() && left_by_failed {
            // The failed fix's branch is gone (deleted by a maintainer): a plain push creates it.
            pushed = checkout::push(&work, &clone_url, Some(&token), &fix.branch, None).await;
        }
        if let Err(err) = pushed {
            fix.head_sha.clone_from(&expected);
            self.save(ctx, &fix).await?;
            if self.is_redraft() {
                // The lease failed: someone else pushed. Their work is not overwritten.
                let text = format!(
                    "GlobalLM did not push its new version: the branch moved since its last push ({err}). Nothing was overwritten."
                );
                let _ = budget.release(reservation.id, "push refused").await;
                return self.give_up(ctx, github, speak_on, fix, &text).await;
            }
            return Err(Failure::Job(JobError::Retry(err.into())));
        }
        let _ = budget
            .settle(reservation.id, &settle(started.elapsed().as_secs()))
            .await;
        let tier = draft.risk.tier;
        let reasons: Vec<String> = draft.risk.reasons.iter().map(|r| r.text.clone()).collect();
        fix.head_sha = Some(sha.clone());
        fix.tier = Some(tier_name(tier).to_owned());
        fix.risk_reasons = Some(serde_json::to_string(&reasons).unwrap_or_default());
        fix.category = Some(category.to_string());
        fix.complexity = Some(i64::from(complexity));
        fix.attempts = attempt;
        fix.tokens += i64::try_from(draft.usage.total()).unwrap_or(i64::MAX);
        fix.cost_usd += draft.cost_usd.unwrap_or(0.0);
        fix.acted = None;
        fix.last_ci = Some("pending".to_owned());
        if fix.requested_by.is_none() {
            fix.requested_by = Some(self.requested_by.clone());
        }
        if matches!(self.trigger, Trigger::Retry { .. }) {
            fix.stopped = false;
            fix.stop_reason = None;
        }
        // Saved before the pull request is opened: the CI events of the new head find it.
        self.save(ctx, &fix).await?;
        let ceiling = draft::automerge_ceiling(&config.risk, repo_config);
        let body = pr_body(self.issue, &draft, &fix, ceiling);
        let title = render::pr_title(self.issue, &issue.title);
        let opened = match fix.pr_number {
            Some(n) => {
                github
                    .update_pull(
                        inst,
                        repo,
                        IssueNumber(n as u64),
                        &PullRequestUpdate {
                            body: Some(body),
                            ..PullRequestUpdate::default()
                        },
                    )
                    .await
                    .map_err(JobError::from)?;
                false
            }
            None => {
                let existing = github
                    .pulls_for_branch(inst, repo, &fix.branch, "open")
                    .await
                    .map_err(JobError::from)?;
                let pull = match existing.into_iter().next() {
                    Some(pull) => pull,
                    None => github
                        .create_pull(
                            inst,
                            repo,
                            &NewPullRequest {
                                title,
                                head: fix.branch.clone(),
                                base: meta.default_branch.clone(),
                                body,
                                draft: true,
                            },
                        )
                        .await
                        .map_err(JobError::from)?,
                };
                fix.pr_number = Some(pull.number.0 as i64);
                true
            }
        };
        fix.state = "open".to_owned();
        self.save(ctx, &fix).await?;
        let pr = fix.pr_number.unwrap_or_default();
        if opened {
            metrics::counter!("globallm_prs_total", "tier" => tier_name(tier), "event" => "opened")
                .increment(1);
            if self.trigger == Trigger::Command {
                let text = format!(
                    "Opened draft pull request #{pr} ({tier} risk). CI decides what happens next."
                );
                github
                    .create_comment(inst, repo, IssueNumber(self.issue), &text)
                    .await
                    .map_err(JobError::from)?;
            }
        } else {
            let what = match self.trigger {
                Trigger::Repair { .. } => "a repair",
                _ => "a new version",
            };
            let text = format!(
                "Pushed {what} ({}, {tier} risk, attempt {}). CI decides what happens next.",
                render::short(&sha),
                fix.attempts
            );
            github
                .create_comment(inst, repo, IssueNumber(pr as u64), &text)
                .await
                .map_err(JobError::from)?;
        }
        Ok(format!(
            "pull request #{pr} at {} ({tier})",
            render::short(&sha)
        ))
    }

    /// Says why nothing was pushed; a fix that never got a pull request is marked failed (so a
    /// later request can start again), an open one keeps its pull request and stops.
    async fn give_up(
        &self,
        ctx: &Context,
        github: &GithubClient,
        on: IssueNumber,
        mut fix: FixPr,
        text: &str,
    ) -> Result<Outcome, Failure> {
        if fix.pr_number.is_none() {
            fix.state = "failed".to_owned();
        } else {
            fix.stopped = true;
            fix.stop_reason = Some(render::excerpt(text, 200));
        }
        self.save(ctx, &fix).await?;
        let repo: RepoName = self
            .repo
            .parse()
            .map_err(|err| JobError::Permanent(anyhow::anyhow!("{err}")))?;
        github
            .create_comment(InstallationId(self.installation), &repo, on, text)
            .await
            .map_err(JobError::from)?;
        Err(Failure::Said(render::excerpt(text, 200)))
    }

    async fn save(&self, ctx: &Context, fix: &FixPr) -> Result<(), Failure> {
        let mut tx = ctx.db.write().await.map_err(anyhow::Error::from)?;
        fixes::save(tx.conn(), fix, ctx.clock.now_ms())
            .await
            .map_err(anyhow::Error::from)?;
        tx.commit().await.map_err(anyhow::Error::from)?;
        Ok(())
    }

    /// The issue's category and complexity: as triage stored them, else assessed now.
    async fn category(&self, ctx: &Context, meta: &Repository, issue: &Issue) -> (Category, u8) {
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

/// Why a fix job ended early.
enum Failure {
    /// Worth another attempt of the job (or dead).
    Job(JobError),
    /// Ended, and the reason was said on GitHub.
    Said(String),
}

impl From<JobError> for Failure {
    fn from(err: JobError) -> Self {
        Failure::Job(err)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Failure::Job(JobError::Retry(err))
    }
}

/// `globallm/issue-<N>`.
pub fn branch_name(issue: u64) -> String {
    format!("globallm/issue-{issue}")
}

/// Why no fix should be drafted for this issue now, if so.
pub fn skip_reason(issue: &Issue, repo_config: &RepoConfig) -> Option<String> {
    if !repo_config.enabled {
        return Some("GlobalLM is disabled in this repository".to_owned());
    }
    if issue.is_pull_request {
        return Some("a pull request, not an issue".to_owned());
    }
    if issue.state != State::Open {
        return Some("the issue is closed".to_owned());
    }
    if issue.labels.contains(&repo_config.labels.disabled) {
        return Some(format!(
            "the issue is labelled `{}`",
            repo_config.labels.disabled
        ));
    }
    None
}

/// The App's bot as a commit author (`<slug>[bot]`, with GitHub's no-reply address).
async fn bot_author(ctx: &Context) -> Result<Author, crate::github::GithubError> {
    let login = ctx.bot_login().await?;
    Ok(Author {
        email: format!("{login}@users.noreply.github.com"),
        name: login,
    })
}

fn pr_body(issue: u64, draft: &FixDraft, fix: &FixPr, ceiling: crate::config::Automerge) -> String {
    let tier = draft.risk.tier;
    let files: Vec<(String, String)> = draft
        .files
        .iter()
        .map(|f| (f.path.clone(), f.why.clone()))
        .collect();
    let reasons: Vec<String> = draft.risk.reasons.iter().map(|r| r.text.clone()).collect();
    let merges = super::risk::may_merge(tier, ceiling);
    render::pr_body(&render::PrContent {
        issue,
        summary: &draft.summary,
        files: &files,
        tests: &draft.tests,
        tier: &tier.to_string(),
        reasons: &reasons,
        policy: render::policy(&tier.to_string(), merges),
        tokens: fix.tokens,
        cost_usd: fix.cost_usd,
        attempts: fix.attempts,
    })
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

/// `globallm fix --dry-run`: checks out the repository, drafts the fix as the job would (the
/// LLM calls are real and budgeted), and returns what it would push — nothing is pushed,
/// commented or stored.
pub async fn dry_run(ctx: &Context, repo: &RepoName, number: u64) -> anyhow::Result<String> {
    let github = ctx.github()?;
    let inst = github
        .repo_installation(repo)
        .await
        .with_context(|| format!("finding the App's installation on {repo}"))?
        .id;
    let repo_config = ctx.repo_configs.get(&github, inst, repo).await;
    let issue = github.get_issue(inst, repo, IssueNumber(number)).await?;
    if let Some(reason) = skip_reason(&issue, &repo_config) {
        anyhow::bail!("GlobalLM would not draft a fix for {repo}#{number}: {reason}");
    }
    let meta = github.get_repo(inst, repo).await?;
    let language = meta
        .language
        .as_deref()
        .and_then(Language::from_github)
        .with_context(|| {
            format!(
                "{repo}'s language ({}) is not one GlobalLM drafts fixes for",
                meta.language.as_deref().unwrap_or("unknown")
            )
        })?;
    let llm = ctx
        .llm()
        .context("no LLM provider is configured (`llm.provider` and its API key)")?;
    let job = FixIssue {
        installation: inst.0,
        repo: repo.to_string(),
        issue: number,
        requested_by: String::new(),
        trigger: Trigger::Cli,
    };
    let (category, complexity) = job.category(ctx, &meta, &issue).await;
    let token = github.installation_token(inst).await?;
    let clone_url = meta
        .clone_url
        .clone()
        .unwrap_or_else(|| format!("{}/{repo}.git", ctx.config().github.web_root()));
    let work = ctx
        .checkouts
        .work_tree(&job.repo, &clone_url, Some(&token), &meta.default_branch)
        .await?;
    let config = ctx.config();
    let draft = draft::draft_fix(DraftInput {
        work_tree: work.path(),
        repo: &job.repo,
        language,
        issue: IssueInput {
            number,
            title: &issue.title,
            body: &issue.body,
            category,
            complexity,
        },
        repo_config: &repo_config,
        risk: &config.risk,
        llm: &llm,
        feedback: Feedback::default(),
        max_attempts: config.fix.max_attempts,
        options: DraftOptions {
            run_tests: config.fix.run_tests,
            ..DraftOptions::default()
        },
    })
    .await
    .map_err(|err| anyhow::anyhow!("no fix drafted for {repo}#{number}: {err}"))?;
    Ok(draft.render_dry_run())
}

/// `https://github.com/owner/name/issues/N` (any host) → (`owner/name`, N).
pub fn parse_issue_url(url: &str) -> Result<(RepoName, u64), String> {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        [owner, name, "issues", n] => {
            let number = n
                .parse::<u64>()
                .map_err(|_| format!("`{n}` in {url} is not an issue number"))?;
            let repo = format!("{owner}/{name}").parse::<RepoName>()?;
            Ok((repo, number))
        }
        _ => Err(format!(
            "{url} is not an issue URL (https://github.com/OWNER/REPO/issues/NUMBER)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_urls_of_github_and_enterprise_servers_parse() {
        let (repo, n) =
            parse_issue_url("https://github.com/django/django/issues/123").expect("parses");
        assert_eq!((repo.to_string(), n), ("django/django".to_owned(), 123));
        let (repo, n) = parse_issue_url("https://ghe.example.com/o/r/issues/9/").expect("parses");
        assert_eq!((repo.to_string(), n), ("o/r".to_owned(), 9));
        assert!(parse_issue_url("https://github.com/o/r/pull/9").is_err());
        assert!(parse_issue_url("https://github.com/o/r/issues/x").is_err());
    }

    #[test]
    fn fix_branches_are_named_after_the_issue() {
        assert_eq!(branch_name(42), "globallm/issue-42");
    }
}
