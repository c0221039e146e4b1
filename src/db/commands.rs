//! The `command_runs` table: commands carried out, one row each; and `command_rate`: how many
//! commands each user ran in each repository in the current window.

use super::{Conn, Pool};
use crate::time::Millis;

/// Whether a command was carried out already.
pub async fn ran(
    pool: &Pool,
    repo: &str,
    comment_id: i64,
    verb: &str,
    occurrence: i64,
) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM command_runs WHERE repo = $1 AND comment_id = $2 AND verb = $3 AND occurrence = $4",
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
    conn: &mut Conn,
    repo: &str,
    comment_id: i64,
    verb: &str,
    occurrence: i64,
    outcome: &str,
    now: Millis,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO command_runs (repo, comment_id, verb, occurrence, outcome, ran_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
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

/// Whether a user may run one more command in a repository now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Yes; it is counted.
    Allowed,
    /// No: the window's commands are used up until `resets_at`; `notified` says whether the
    /// one reply saying so was already written.
    Limited {
        /// When the window ends.
        resets_at: Millis,
        /// Whether the user was already told in this window.
        notified: bool,
    },
}

/// Counts one command of `login` in `repo` against `limit` commands per `window_ms` (a fixed
/// window that starts with the first command after the previous one ended).
pub async fn admit(
    conn: &mut Conn,
    repo: &str,
    login: &str,
    limit: u32,
    window_ms: Millis,
    now: Millis,
) -> sqlx::Result<Admission> {
    let row: Option<(Millis, i64, super::Flag)> = sqlx::query_as(
        "SELECT window_start, used, notified FROM command_rate WHERE repo = $1 AND login = $2",
    )
    .bind(repo)
    .bind(login)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some((start, used, super::Flag(notified))) if now < start.saturating_add(window_ms) => {
            if used >= i64::from(limit) {
                return Ok(Admission::Limited {
                    resets_at: start.saturating_add(window_ms),
                    notified,
                });
            }
            sqlx::query("UPDATE command_rate SET used = used + 1 WHERE repo = $1 AND login = $2")
                .bind(repo)
                .bind(login)
                .execute(&mut *conn)
                .await?;
        }
        _ => {
            sqlx::query(
                "INSERT INTO command_rate (repo, login, window_start, used, notified)
                 VALUES ($1, $2, $3, 1, 0)
                 ON CONFLICT (repo, login) DO UPDATE SET
                     window_start = excluded.window_start, used = 1, notified = 0",
            )
            .bind(repo)
            .bind(login)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(Admission::Allowed)
}

/// Records that `login` was told about the limit in the current window of `repo`.
pub async fn set_rate_notified(conn: &mut Conn, repo: &str, login: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE command_rate SET notified = 1 WHERE repo = $1 AND login = $2")
        .bind(repo)
        .bind(login)
        .execute(conn)
        .await?;
    Ok(())
}
