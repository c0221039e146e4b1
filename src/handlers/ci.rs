//! `check_run`, `check_suite` and `status`: when CI reports on the head of a GlobalLM pull
//! request, judge it and act ([`crate::fix::merge::on_commit`]). Reports on any other commit
//! are none of GlobalLM's business.

use super::Handled;
use crate::context::Context;
use crate::event::model::{CheckRunAction, CheckSuiteAction, Repository};
use crate::event::{CheckRunEvent, CheckSuiteEvent, StatusEvent};
use crate::github::ids::InstallationId;
use crate::github::repo_config::CONFIG_CHECK;

/// A check run finished.
pub async fn handle_check_run(ctx: &Context, event: &CheckRunEvent) -> anyhow::Result<Handled> {
    if event.check_run.name == CONFIG_CHECK {
        return Ok(Handled::Skipped("GlobalLM's own check".to_owned()));
    }
    if event.action != CheckRunAction::Completed {
        return Ok(Handled::Skipped(
            "the check run is not completed".to_owned(),
        ));
    }
    on_commit(
        ctx,
        event.installation,
        &event.repository,
        &event.check_run.head_sha.0,
    )
    .await
}

/// A check suite finished.
pub async fn handle_check_suite(ctx: &Context, event: &CheckSuiteEvent) -> anyhow::Result<Handled> {
    if event.action != CheckSuiteAction::Completed {
        return Ok(Handled::Skipped(
            "the check suite is not completed".to_owned(),
        ));
    }
    on_commit(
        ctx,
        event.installation,
        &event.repository,
        &event.check_suite.head_sha.0,
    )
    .await
}

/// A commit status changed.
pub async fn handle_status(ctx: &Context, event: &StatusEvent) -> anyhow::Result<Handled> {
    if event.state == "pending" {
        return Ok(Handled::Skipped(
            "a pending status decides nothing".to_owned(),
        ));
    }
    on_commit(ctx, event.installation, &event.repository, &event.sha.0).await
}

async fn on_commit(
    ctx: &Context,
    installation: Option<InstallationId>,
    repository: &Repository,
    sha: &str,
) -> anyhow::Result<Handled> {
    if installation.is_none() {
        return Ok(Handled::Skipped(
            "not delivered through an installation".to_owned(),
        ));
    }
    crate::fix::merge::on_commit(ctx, &repository.name.to_string(), sha).await
}
