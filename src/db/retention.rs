//! Pruning history older than `storage.retention_days`, for the daily `prune` job. Every
//! function deletes at most `limit` rows in one statement, so that the caller can commit
//! between batches and never hold the write lock for long; each returns how many it deleted.
//! What is still needed is never deleted: a delivery that is queued or that a job (waiting or
//! dead, which `jobs retry` can revive) refers to, an active budget reservation, a running
//! discovery run, and the two newest finished discovery runs (`analyze --repo` compares them).

use crate::db::Conn;
use crate::time::Millis;

/// Deliveries received before `before` whose processing is over (processed, skipped,
/// unsupported, failed) and that no job refers to.
pub async fn prune_deliveries(conn: &mut Conn, before: Millis, limit: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM deliveries WHERE id IN (
             SELECT d.id FROM deliveries d
             WHERE d.outcome IN ('processed', 'skipped', 'unsupported', 'failed')
               AND d.received_at < $1
               AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.delivery_id = d.id)
             LIMIT $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Dead-lettered jobs that last changed before `before`.
pub async fn prune_dead_jobs(conn: &mut Conn, before: Millis, limit: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM jobs WHERE id IN (
             SELECT id FROM jobs WHERE state = 'dead' AND updated_at < $1 LIMIT $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Commands carried out before `before` (their jobs are long finished).
pub async fn prune_command_runs(conn: &mut Conn, before: Millis, limit: i64) -> sqlx::Result<u64> {
    let row = super::backend_of(conn).row_id();
    Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM command_runs WHERE {row} IN (
             SELECT {row} FROM command_runs WHERE ran_at < $1 LIMIT $2)"
    )))
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Redeliveries asked for before `before` (GitHub keeps deliveries three days).
pub async fn prune_redelivery_requests(
    conn: &mut Conn,
    before: Millis,
    limit: i64,
) -> sqlx::Result<u64> {
    let row = super::backend_of(conn).row_id();
    Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM redelivery_requests WHERE {row} IN (
             SELECT {row} FROM redelivery_requests WHERE requested_at < $1 LIMIT $2)"
    )))
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
    conn: &mut Conn,
    window_before: Millis,
    limit: i64,
) -> sqlx::Result<u64> {
    let ledger = sqlx::query(
        "DELETE FROM budget_ledger WHERE id IN (
             SELECT id FROM budget_ledger WHERE window_start < $1 LIMIT $2)",
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
             WHERE r.window_start < $1 AND r.state <> 'active'
               AND NOT EXISTS (SELECT 1 FROM budget_ledger l WHERE l.reservation_id = r.id)
             LIMIT $2)",
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
             SELECT window_start, scope FROM budget_usage WHERE window_start < $1 LIMIT $2)",
    )
    .bind(window_before)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected())
}

/// The discovery runs that may go: started before `before`, not running, and not one of the
/// two newest finished runs; oldest first.
pub async fn prunable_discovery_runs(conn: &mut Conn, before: Millis) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM discovery_runs
         WHERE started_at < $1 AND state <> 'running'
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
pub async fn prune_discovery_run(conn: &mut Conn, run: i64, limit: i64) -> sqlx::Result<u64> {
    const CHILDREN: [&str; 5] = [
        "discovery_windows",
        "discovery_candidates",
        "discovery_dependents_lists",
        "discovered_repos",
        "repo_snapshots",
    ];
    let row = super::backend_of(conn).row_id();
    for table in CHILDREN {
        let deleted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE {row} IN
                 (SELECT {row} FROM {table} WHERE run_id = $1 LIMIT $2)"
        )))
        .bind(run)
        .bind(limit)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if deleted > 0 {
            return Ok(deleted);
        }
    }
    Ok(sqlx::query("DELETE FROM discovery_runs WHERE id = $1")
        .bind(run)
        .execute(conn)
        .await?
        .rows_affected())
}
