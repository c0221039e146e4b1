//! When the App is installed on a repository, its open issues are triaged once: a bounded
//! backfill (`triage.backfill_issues`, oldest first), the same triage a new issue gets.

use super::{BackgroundJob, Done, JobError};
use crate::context::Context;
use crate::db::jobs::{Job, NewJob};
use crate::github::ids::{InstallationId, RepoName};
use crate::triage;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Triages the open issues of one repository of an installation.
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

    async fn run(self, ctx: Arc<Context>, _job: &Job) -> Result<Done, JobError> {
        let max = ctx.config().triage.backfill_issues;
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
        let repository = github
            .get_repo(self.installation, &self.repo)
            .await
            .context("reading the repository")?;
        let issues = github
            .list_open_issues(self.installation, &self.repo, max)
            .await
            .context("listing open issues")?;
        let (mut triaged, mut skipped) = (0, 0);
        for issue in &issues {
            if triage::skip_reason(issue, &repo_config).is_some()
                || github
                    .linked_pull_requests(self.installation, &self.repo, issue.number)
                    .await?
                    > 0
            {
                skipped += 1;
                continue;
            }
            let assessment = triage::assess(&ctx, &repository, issue, ctx.clock.now_ms()).await?;
            triage::publish(
                &ctx,
                &github,
                self.installation,
                &repository,
                issue,
                &assessment,
                &repo_config,
            )
            .await?;
            triaged += 1;
        }
        tracing::info!(repo = %self.repo, triaged, skipped, "backfill triage done");
        Ok(Done::default())
    }
}
