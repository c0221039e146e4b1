//! Pruning history older than `storage.retention_days`, for the daily `prune` job. Every
//! function deletes at most `limit` rows in one statement, so that the caller can commit
//! between batches and never hold the write lock for long; each returns how many it deleted.
//! What is still needed is never deleted: a delivery that is queued or that a job (waiting or
//! dead, which `jobs retry` can revive) refers to, an active budget reservation, a running
//! discovery run, and the two newest finished discovery runs (`analyze --repo` compares them).

use crate::time::Millis;
use sqlx::SqliteConnection;

/// Deliveries received before `before` whose processing is over (processed, skipped,
/// unsupported, failed) and that no job refers to.
pub async fn prune_deliveries(
    conn: &mut SqliteConnection,
    before: Millis,
    limit: i64,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM deliveries WHERE id IN (
             SELECT d.id FROM deliveries d
             WHERE d.outcome IN ('processed', 'skipped', 'unsupported', 'failed')
               AND d.received_at < ?
               AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.delivery_id = d.id)
             LIMIT ?)",
    )
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Dead-lettered jobs that last changed before `before`.
pub async fn prune_dead_jobs(
    conn: &mut SqliteConnection,
    before: Millis,
    limit: i64,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM jobs WHERE id IN (
             SELECT id FROM jobs WHERE state = 'dead' AND updated_at < ? LIMIT ?)",
    )
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Commands carried out before `before` (their jobs are long finished).
pub async fn prune_command_runs(
    conn: &mut SqliteConnection,
    before: Millis,
    limit: i64,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM command_runs WHERE rowid IN (
             SELECT rowid FROM command_runs WHERE ran_at < ? LIMIT ?)",
    )
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Redeliveries asked for before `before` (GitHub keeps deliveries three days).
pub async fn prune_redelivery_requests(
    conn: &mut SqliteConnection,
    before: Millis,
    limit: i64,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM redelivery_requests WHERE rowid IN (
             SELECT rowid FROM redelivery_requests WHERE requested_at < ? LIMIT ?)",
    )
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected())
}

/// The ledger, the closed reservations and the usage counters of budget windows that began
/// before `window_before` (the caller passes a time at least a window before the cutoff, so
/// only windows that ended before it go), ledger rows first (they refer to reservations).
pub async fn prune_budget_windows(
    conn: &mut SqliteConnection,
    window_before: Millis,
    limit: i64,
) -> sqlx::Result<u64> {
    let ledger = sqlx::query(
        "DELETE FROM budget_ledger WHERE id IN (
             SELECT id FROM budget_ledger WHERE window_start < ? LIMIT ?)",
    )
    .bind(window_before)
    .bind(limit)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if ledger > 0 {
        return Ok(ledger);
    }
    let reservations = sqlx::query(
        "DELETE FROM budget_reservations WHERE id IN (
             SELECT r.id FROM budget_reservations r
             WHERE r.window_start < ? AND r.state <> 'active'
               AND NOT EXISTS (SELECT 1 FROM budget_ledger l WHERE l.reservation_id = r.id)
             LIMIT ?)",
    )
    .bind(window_before)
    .bind(limit)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if reservations > 0 {
        return Ok(reservations);
    }
    Ok(sqlx::query(
        "DELETE FROM budget_usage WHERE (window_start, scope) IN (
             SELECT window_start, scope FROM budget_usage WHERE window_start < ? LIMIT ?)",
    )
    .bind(window_before)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected())
}

/// The discovery runs that may go: started before `before`, not running, and not one of the
/// two newest finished runs; oldest first.
pub async fn prunable_discovery_runs(
    conn: &mut SqliteConnection,
    before: Millis,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM discovery_runs
         WHERE started_at < ? AND state <> 'running'
           AND id NOT IN (SELECT id FROM discovery_runs WHERE state = 'finished'
                          ORDER BY id DESC LIMIT 2)
         ORDER BY id",
    )
    .bind(before)
    .fetch_all(conn)
    .await
}

/// Up to `limit` rows of run `run`'s checkpoints and results (windows, candidates,
/// dependents listings, discovered repositories, snapshots); when none is left, the run's own
/// row. Returns the rows deleted (0 once the run is gone).
pub async fn prune_discovery_run(
    conn: &mut SqliteConnection,
    run: i64,
    limit: i64,
) -> sqlx::Result<u64> {
    const CHILDREN: [&str; 5] = [
        "DELETE FROM discovery_windows WHERE rowid IN
             (SELECT rowid FROM discovery_windows WHERE run_id = ? LIMIT ?)",
        "DELETE FROM discovery_candidates WHERE rowid IN
             (SELECT rowid FROM discovery_candidates WHERE run_id = ? LIMIT ?)",
        "DELETE FROM discovery_dependents_lists WHERE rowid IN
             (SELECT rowid FROM discovery_dependents_lists WHERE run_id = ? LIMIT ?)",
        "DELETE FROM discovered_repos WHERE rowid IN
             (SELECT rowid FROM discovered_repos WHERE run_id = ? LIMIT ?)",
        "DELETE FROM repo_snapshots WHERE rowid IN
             (SELECT rowid FROM repo_snapshots WHERE run_id = ? LIMIT ?)",
    ];
    for statement in CHILDREN {
        let deleted = sqlx::query(statement)
            .bind(run)
            .bind(limit)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if deleted > 0 {
            return Ok(deleted);
        }
    }
    Ok(sqlx::query("DELETE FROM discovery_runs WHERE id = ?")
        .bind(run)
        .execute(conn)
        .await?
        .rows_affected())
}
