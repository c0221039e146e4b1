//! The `merge_waits` table: green GlobalLM pull requests waiting to merge, and for what (the
//! repository's merge slot, its merge window, a freeze, CI on a branch brought up to date,
//! GitHub's merge queue). The list shown in `globallm status` and on the dashboard reads only
//! rows whose fix is still open, unstopped, on the head the row was written for, and not red:
//! a newer head, a merge or a stop needs no clean-up to leave the list.

use super::{Conn, Pool};
use crate::time::Millis;

/// What a green pull request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// Another GlobalLM merge in the repository holds its slot.
    Slot,
    /// The repository's (or the service's) merge window is closed.
    Window,
    /// Merges are frozen in the repository.
    Freeze,
    /// The branch was brought up to date with its base; CI runs again.
    Update,
    /// It is in GitHub's merge queue.
    Queue,
    /// Another GlobalLM pull request of the repository is on its way to merge (brought up to
    /// date, its CI running): this one follows, in order of priority.
    Turn,
}

impl WaitReason {
    /// Every reason.
    pub const ALL: [WaitReason; 6] = [
        WaitReason::Slot,
        WaitReason::Window,
        WaitReason::Freeze,
        WaitReason::Update,
        WaitReason::Queue,
        WaitReason::Turn,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::Slot => "slot",
            WaitReason::Window => "window",
            WaitReason::Freeze => "freeze",
            WaitReason::Update => "update",
            WaitReason::Queue => "queue",
            WaitReason::Turn => "turn",
        }
    }
}

/// A wait to record.
#[derive(Debug, Clone, Copy)]
pub struct NewWait<'a> {
    /// The fix's row id.
    pub fix_id: i64,
    /// `owner/name`.
    pub repo: &'a str,
    /// The head that waits.
    pub head: &'a str,
    /// For what.
    pub reason: WaitReason,
    /// What a reader needs (the freeze's cause, when the window opens).
    pub detail: Option<&'a str>,
    /// When the wait ends by itself, if known.
    pub until: Option<Millis>,
}

/// Records that the fix waits; a wait for the same reason on the same head keeps its `since`.
pub async fn set(conn: &mut Conn, wait: &NewWait<'_>, now: Millis) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO merge_waits (fix_id, repo, head, reason, detail, until, since)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (fix_id) DO UPDATE SET
             since = CASE WHEN merge_waits.head = excluded.head AND merge_waits.reason = excluded.reason
                          THEN merge_waits.since ELSE excluded.since END,
             repo = excluded.repo, head = excluded.head, reason = excluded.reason,
             detail = excluded.detail, until = excluded.until",
    )
    .bind(wait.fix_id)
    .bind(wait.repo)
    .bind(wait.head)
    .bind(wait.reason.as_str())
    .bind(wait.detail)
    .bind(wait.until)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the fix's wait if it is for `reason`.
pub async fn clear(conn: &mut Conn, fix_id: i64, reason: WaitReason) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM merge_waits WHERE fix_id = $1 AND reason = $2")
        .bind(fix_id)
        .bind(reason.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets whatever the fix waits for.
pub async fn forget(conn: &mut Conn, fix_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM merge_waits WHERE fix_id = $1")
        .bind(fix_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// What the fix waits for with `head`, if it does.
pub async fn reason_of(pool: &Pool, fix_id: i64, head: &str) -> sqlx::Result<Option<WaitReason>> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT reason FROM merge_waits WHERE fix_id = $1 AND head = $2")
            .bind(fix_id)
            .bind(head)
            .fetch_optional(pool)
            .await?;
    Ok(stored.and_then(|s| WaitReason::ALL.into_iter().find(|r| r.as_str() == s)))
}

/// A pull request on the wait list.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct Waiting {
    /// `owner/name`.
    pub repo: String,
    /// The pull request.
    pub pr_number: Option<i64>,
    /// The issue it fixes.
    pub issue: i64,
    /// The issue's triage priority (none when it was never triaged).
    pub priority: Option<f64>,
    /// `slot`, `window`, `freeze`, `update` or `queue`.
    pub reason: String,
    /// The freeze's cause, when the window opens, …
    pub detail: Option<String>,
    /// When the wait ends by itself, if known.
    pub until: Option<Millis>,
    /// Since when it waits.
    pub since: Millis,
}

/// A wait that still stands: its fix open, unstopped, on the head it waited with, not red.
const STANDING: &str = "f.state = 'open' AND f.stopped = 0 AND f.head_sha = w.head
           AND (f.last_ci IS NULL OR f.last_ci <> 'red')";

/// The pull request of `repo` other than `except` that is on its way to merge — brought up to
/// date, its CI running on the new head — if one is. Once CI has spoken on that head it is no
/// longer on its way: it merges (under the slot), or waits for a human, or goes red.
pub async fn in_flight(pool: &Pool, repo: &str, except: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT f.pr_number FROM merge_waits w JOIN fix_prs f ON f.id = w.fix_id
         WHERE w.repo = $1 AND w.fix_id <> $2 AND w.reason = 'update' AND {STANDING}
           AND (f.last_ci IS NULL OR f.last_ci = 'pending')
         LIMIT 1"
    )))
    .bind(repo)
    .bind(except)
    .fetch_optional(pool)
    .await
    .map(Option::flatten)
}

/// The pull request of `repo` whose turn is next: the standing `turn` wait of the highest
/// priority (then the longest waiting): its fix and head.
pub async fn next_turn(pool: &Pool, repo: &str) -> sqlx::Result<Option<(i64, String)>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT w.fix_id, w.head FROM merge_waits w
         JOIN fix_prs f ON f.id = w.fix_id
         LEFT JOIN triaged_issues t ON t.repo = f.repo AND t.number = f.issue
         WHERE w.repo = $1 AND w.reason = 'turn' AND {STANDING}
         ORDER BY COALESCE(t.priority, -1) DESC, w.since, f.pr_number
         LIMIT 1"
    )))
    .bind(repo)
    .fetch_optional(pool)
    .await
}

/// Repositories with a standing `turn` wait.
pub async fn repos_with_turns(pool: &Pool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT DISTINCT w.repo FROM merge_waits w JOIN fix_prs f ON f.id = w.fix_id
         WHERE w.reason = 'turn' AND {STANDING}"
    )))
    .fetch_all(pool)
    .await
}

/// Every waiting pull request, by repository, then by the issue's priority (highest first),
/// then by how long it has waited.
pub async fn waiting(pool: &Pool) -> sqlx::Result<Vec<Waiting>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT w.repo, f.pr_number, f.issue, t.priority, w.reason, w.detail, w.until, w.since
         FROM merge_waits w
         JOIN fix_prs f ON f.id = w.fix_id
         LEFT JOIN triaged_issues t ON t.repo = f.repo AND t.number = f.issue
         WHERE {STANDING}
         ORDER BY w.repo, COALESCE(t.priority, -1) DESC, w.since, f.pr_number"
    )))
    .fetch_all(pool)
    .await
}
