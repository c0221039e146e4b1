//! `installation` and `installation_repositories`: keep the installations of the App and
//! their repositories in the database.

use super::Handled;
use crate::context::Context;
use crate::db::installations::{self as db, InstallationFields};
use crate::event::model::{
    AccountKind, Installation, InstallationAction, InstallationRepositoriesAction, RepoRef,
};
use crate::event::{InstallationEvent, InstallationRepositoriesEvent};
use crate::github::ids::RepoId;
use crate::time::now_ms;
use anyhow::Context as _;

fn fields(installation: &Installation) -> InstallationFields<'_> {
    InstallationFields {
        id: installation.id,
        account_login: &installation.account.login,
        account_type: match installation.account.kind {
            AccountKind::Organization => "Organization",
            AccountKind::User | AccountKind::Bot => "User",
        },
        repository_selection: installation.repository_selection.as_deref(),
        suspended: installation.suspended,
    }
}

fn repo_rows(repos: &[RepoRef]) -> Vec<(RepoId, String, bool)> {
    repos
        .iter()
        .map(|r| (r.id, r.name.to_string(), r.private))
        .collect()
}

/// Queues the backfill triage of newly covered repositories, in the same transaction as the
/// installation's record.
async fn enqueue_backfills(
    ctx: &Context,
    conn: &mut crate::db::Conn,
    installation: crate::github::ids::InstallationId,
    repos: &[RepoRef],
    now: crate::time::Millis,
) -> anyhow::Result<()> {
    let config = ctx.config();
    if config.triage.backfill_issues == 0 || config.github.app_id.is_none() {
        return Ok(());
    }
    for repo in repos {
        let job = crate::jobs::BackfillTriage {
            installation,
            repo: repo.name.clone(),
        };
        crate::db::jobs::enqueue(conn, &job.new_job(&config, now), now).await?;
    }
    ctx.jobs_added.notify_one();
    Ok(())
}

/// The App was installed, uninstalled, suspended or given new permissions.
pub async fn handle_installation(
    ctx: &Context,
    event: &InstallationEvent,
) -> anyhow::Result<Handled> {
    let installation = &event.installation;
    let now = now_ms();
    let mut tx = ctx.db.write().await?;
    match &event.action {
        InstallationAction::Deleted => {
            db::delete(tx.conn(), installation.id).await?;
        }
        InstallationAction::Created => {
            db::upsert(tx.conn(), &fields(installation), now).await?;
            db::add_repos(
                tx.conn(),
                installation.id,
                &repo_rows(&event.repositories),
                now,
            )
            .await?;
            enqueue_backfills(ctx, tx.conn(), installation.id, &event.repositories, now).await?;
        }
        InstallationAction::Suspend
        | InstallationAction::Unsuspend
        | InstallationAction::NewPermissionsAccepted
        | InstallationAction::Other(_) => {
            let mut fields = fields(installation);
            fields.suspended = match &event.action {
                InstallationAction::Suspend => true,
                InstallationAction::Unsuspend => false,
                _ => installation.suspended,
            };
            db::upsert(tx.conn(), &fields, now).await?;
        }
    }
    tx.commit()
        .await
        .with_context(|| format!("recording installation {}", installation.id))?;
    tracing::info!(
        installation = %installation.id,
        account = %installation.account.login,
        action = event.action.as_str(),
        repositories = event.repositories.len(),
        "installation updated"
    );
    Ok(Handled::Done)
}

/// Repositories were added to or removed from an installation.
pub async fn handle_installation_repositories(
    ctx: &Context,
    event: &InstallationRepositoriesEvent,
) -> anyhow::Result<Handled> {
    if let InstallationRepositoriesAction::Other(action) = &event.action {
        return Ok(Handled::Skipped(format!("unknown action `{action}`")));
    }
    let installation = &event.installation;
    let now = now_ms();
    let mut tx = ctx.db.write().await?;
    db::upsert(tx.conn(), &fields(installation), now).await?;
    db::add_repos(tx.conn(), installation.id, &repo_rows(&event.added), now).await?;
    enqueue_backfills(ctx, tx.conn(), installation.id, &event.added, now).await?;
    let removed: Vec<RepoId> = event.removed.iter().map(|r| r.id).collect();
    db::remove_repos(tx.conn(), installation.id, &removed, now).await?;
    tx.commit().await.with_context(|| {
        format!(
            "recording the repositories of installation {}",
            installation.id
        )
    })?;
    tracing::info!(
        installation = %installation.id,
        added = event.added.len(),
        removed = event.removed.len(),
        "installation repositories updated"
    );
    Ok(Handled::Done)
}
