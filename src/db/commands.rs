//! The `command_runs` table: commands carried out, one row each.

use crate::time::Millis;
use sqlx::{SqliteConnection, SqlitePool};

/// Whether a command was carried out already.
pub async fn ran(
    pool: &SqlitePool,
    repo: &str,
    comment_id: i64,
    verb: &str,
    occurrence: i64,
) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM command_runs WHERE repo = ? AND comment_id = ? AND verb = ? AND occurrence = ?",
    )
    .bind(repo)
    .bind(comment_id)
    .bind(verb)
    .bind(occurrence)
    .fetch_optional(pool)
    .await?;
    Ok(found.is_some())
}

/// Records a command as carried out.
pub async fn record(
    conn: &mut SqliteConnection,
    repo: &str,
    comment_id: i64,
    verb: &str,
    occurrence: i64,
    outcome: &str,
    now: Millis,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO command_runs (repo, comment_id, verb, occurrence, outcome, ran_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(repo)
    .bind(comment_id)
    .bind(verb)
    .bind(occurrence)
    .bind(outcome)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
