//! The candidates report each discovery run ends with (`candidate_reports`), one per run.

use super::{Conn, Pool};
use crate::time::Millis;

/// Stores a run's candidates report (JSON), replacing an earlier one of the same run (a
/// resumed run writes it again).
pub async fn put_candidates(
    conn: &mut Conn,
    run_id: i64,
    created_at: Millis,
    report: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO candidate_reports (run_id, created_at, report) VALUES ($1, $2, $3)
         ON CONFLICT (run_id) DO UPDATE SET created_at = excluded.created_at, report = excluded.report",
    )
    .bind(run_id)
    .bind(created_at)
    .bind(report)
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest candidates report (JSON), if any run wrote one.
pub async fn latest_candidates(pool: &Pool) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT report FROM candidate_reports ORDER BY run_id DESC LIMIT 1")
        .fetch_optional(pool)
        .await
}
