//! When the App is installed on a repository, its open issues are triaged once: a bounded
//! backfill (`triage.backfill_issues`, oldest first), the same triage a new issue gets. The
//! backfill only lists the issues; each is triaged by its own [`TriageIssue`] job, so one
//! issue's failure (a GraphQL error, a deleted issue) is retried — or dead-lettered — alone.

use super::{BackgroundJob, Done, JobError};
use crate::context::Context;
use crate::db::jobs::{Job, NewJob};
use crate::github::ids::{InstallationId, IssueNumber, RepoName};
use crate::triage;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Lists the open issues of one repository of an installation and queues their triage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillTriage {
    /// The installation.
    pub installation: InstallationId,
    /// The repository.
    pub repo: RepoName,
}

impl BackfillTriage {
    /// The job, deduplicated per repository and installation (a repeated event adds nothing).
    pub fn new_job(&self, config: &crate::config::Config, now: crate::time::Millis) -> NewJob {
        NewJob {
            dedup_key: Some(format!("backfill:{}:{}", self.installation, self.repo)),
            ..self.to_new_job(&config.jobs, now)
        }
    }
}

impl BackgroundJob for BackfillTriage {
    const KIND: &'static str = "backfill_triage";

    async fn run(self, ctx: Arc<Context>, job: &Job) -> Result<Done, JobError> {
        let config = ctx.config();
        let max = config.triage.backfill_issues;
        if max == 0 {
            return Ok(Done::default());
        }
        let github = ctx.github()?;
        let repo_config = ctx
            .repo_configs
            .get(&github, self.installation, &self.repo)
            .await;
        if !repo_config.enabled {
            return Ok(Done::default());
        }
        let issues = github
            .list_open_issues(self.installation, &self.repo, max)
            .await
            .context("listing open issues")?;
        let now = ctx.clock.now_ms();
        let mut tx = ctx.db.write().await.map_err(anyhow::Error::from)?;
        let mut queued = 0;
        for issue in issues
            .iter()
            .filter(|i| triage::skip_reason(i, &repo_config).is_none())
        {
            let triage = TriageIssue {
                installation: self.installation,
                repo: self.repo.clone(),
                issue: issue.number,
            };
            let mut new_job = triage.to_new_job(&config.jobs, now);
            // A re-run of this backfill queues nothing twice.
            new_job.dedup_key = Some(format!("backfill:{}:{}", job.id, issue.number));
            if crate::db::jobs::enqueue(tx.conn(), &new_job, now)
                .await
                .map_err(anyhow::Error::from)?
                .is_some()
            {
                queued += 1;
            }
        }
        tx.commit().await.map_err(anyhow::Error::from)?;
        ctx.jobs_added.notify_waiters();
        tracing::info!(repo = %self.repo, listed = issues.len(), queued, "backfill: issues queued for triage");
        Ok(Done::default())
    }
}

/// Triages one issue (a backfill's), with its own attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageIssue {
    /// The installation.
    pub installation: InstallationId,
    /// The repository.
    pub repo: RepoName,
    /// The issue.
    pub issue: IssueNumber,
}

impl BackgroundJob for TriageIssue {
    const KIND: &'static str = "triage_issue";

    async fn run(self, ctx: Arc<Context>, _job: &Job) -> Result<Done, JobError> {
        let github = ctx.github()?;
        let repository = github
            .get_repo(self.installation, &self.repo)
            .await
            .context("reading the repository")?;
        let handled =
            triage::triage_issue(&ctx, self.installation, &repository, self.issue).await?;
        tracing::info!(repo = %self.repo, issue = self.issue.0, ?handled, "backfill triage of one issue");
        Ok(Done::default())
    }
}
