//! The `fix_prs` table: GlobalLM's pull requests. A partial unique index allows one row being
//! drafted or open per issue, so a repeated delivery or a race never opens a second. Rows are
//! written back only by [`update`], which checks the row's `version` (optimistic concurrency):
//! the lifecycle (`crate::fix::lifecycle`) is the only caller.

use super::{Conn, Pool};
use crate::fix::state::{FixState, Tier};
use crate::time::Millis;

/// A GlobalLM pull request (or one being drafted).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct FixPr {
    /// Row id.
    pub id: i64,
    /// `owner/name`.
    pub repo: String,
    /// The issue it fixes.
    pub issue: i64,
    /// The installation it was made through.
    pub installation: i64,
    /// Its branch, `globallm/issue-<N>`.
    pub branch: String,
    /// The pull request's number, once opened.
    pub pr_number: Option<i64>,
    /// The head GlobalLM pushed last.
    pub head_sha: Option<String>,
    /// Where it is in its life.
    pub state: FixState,
    /// Its risk tier, computed from the whole branch (none before the first draft).
    pub tier: Option<Tier>,
    /// Why that tier (JSON array of strings).
    pub risk_reasons: Option<String>,
    /// The issue's category.
    pub category: Option<String>,
    /// The issue's complexity.
    pub complexity: Option<i64>,
    /// Whether automation is stopped on it.
    #[sqlx(try_from = "crate::db::Flag")]
    pub stopped: bool,
    /// Why it stopped.
    pub stop_reason: Option<String>,
    /// Drafting attempts (first draft and retries).
    pub attempts: i64,
    /// Repair attempts after red CI.
    pub repairs: i64,
    /// Re-runs of flaky checks.
    pub reruns: i64,
    /// LLM tokens spent on it.
    pub tokens: i64,
    /// Their cost in USD.
    pub cost_usd: f64,
    /// The merge commit.
    pub merge_sha: Option<String>,
    /// The last CI verdict: `pending`, `green`, `red` or `blocked`.
    pub last_ci: Option<String>,
    /// The head a maintainer's `/globallm merge` approved; any other head voids it.
    pub merge_approved_sha: Option<String>,
    /// Who approved it.
    pub merge_approved_by: Option<String>,
    /// The merge base the stored tier was computed against.
    pub tier_base: Option<String>,
    /// The head the stored tier was computed for.
    pub tier_head: Option<String>,
    /// Who asked for the fix.
    pub requested_by: Option<String>,
    /// The failing CI output of the last red verdict.
    pub ci_output: Option<String>,
    /// The last action taken, with the head it was taken on (`<action>@<sha>`).
    pub acted: Option<String>,
    /// Whether the merged pull request was reverted.
    #[sqlx(try_from = "crate::db::Flag")]
    pub reverted: bool,
    /// `globallm` when GlobalLM merged it, else who did.
    pub merged_by: Option<String>,
    /// When it was merged.
    pub merged_at: Option<Millis>,
    /// `globallm` when the post-merge guard's revert merged, else who reverted it.
    pub reverted_by: Option<String>,
    /// When it was reverted.
    pub reverted_at: Option<Millis>,
    /// Wall-clock milliseconds its drafting and repair jobs spent.
    pub spent_ms: i64,
    /// Bumped by every write; a write that expected another version lost a race.
    pub version: i64,
    /// When it was started.
    pub created_at: Millis,
    /// When it last changed.
    pub updated_at: Millis,
}

const COLUMNS: &str = "id, repo, issue, installation, branch, pr_number, head_sha, state, tier, \
                       risk_reasons, category, complexity, stopped, stop_reason, attempts, repairs, \
                       reruns, tokens, cost_usd, merge_sha, last_ci, merge_approved_sha, merge_approved_by, \
                       tier_base, tier_head, requested_by, ci_output, acted, reverted, merged_by, \
                       merged_at, reverted_by, reverted_at, spent_ms, version, created_at, updated_at";

/// Starts drafting a fix for an issue; `None` when one is being drafted or is open already.
pub async fn start(
    conn: &mut Conn,
    repo: &str,
    issue: i64,
    installation: i64,
    branch: &str,
    now: Millis,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO fix_prs (repo, issue, installation, branch, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'drafting', $5, $6)
         ON CONFLICT DO NOTHING
         RETURNING id",
    )
    .bind(repo)
    .bind(issue)
    .bind(installation)
    .bind(branch)
    .bind(now)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// One row.
pub async fn get(pool: &Pool, id: i64) -> sqlx::Result<Option<FixPr>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM fix_prs WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The head the newest failed fix of an issue pushed without opening a pull request: what
/// its branch still holds, as far as GlobalLM knows.
pub async fn failed_head(pool: &Pool, repo: &str, issue: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT head_sha FROM fix_prs WHERE repo = $1 AND issue = $2 AND state = 'failed'
             AND head_sha IS NOT NULL AND pr_number IS NULL
         ORDER BY id DESC LIMIT 1",
    )
    .bind(repo)
    .bind(issue)
    .fetch_optional(pool)
    .await
}

/// The fix being drafted or open for an issue.
pub async fn active_for_issue(pool: &Pool, repo: &str, issue: i64) -> sqlx::Result<Option<FixPr>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM fix_prs WHERE repo = $1 AND issue = $2 AND state IN ('drafting', 'open')"
    )))
    .bind(repo)
    .bind(issue)
    .fetch_optional(pool)
    .await
}

/// The row of a pull request.
pub async fn for_pull_request(pool: &Pool, repo: &str, number: i64) -> sqlx::Result<Option<FixPr>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM fix_prs WHERE repo = $1 AND pr_number = $2 ORDER BY id DESC LIMIT 1"
    )))
    .bind(repo)
    .bind(number)
    .fetch_optional(pool)
    .await
}

/// The open row whose head is `sha` (what a check run or a status names).
pub async fn open_for_head(pool: &Pool, repo: &str, sha: &str) -> sqlx::Result<Option<FixPr>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM fix_prs WHERE repo = $1 AND head_sha = $2 AND state = 'open' ORDER BY id DESC LIMIT 1"
    )))
    .bind(repo)
    .bind(sha)
    .fetch_optional(pool)
    .await
}

/// Open GlobalLM pull requests in a repository.
pub async fn count_open(pool: &Pool, repo: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM fix_prs WHERE repo = $1 AND state = 'open'")
        .bind(repo)
        .fetch_one(pool)
        .await
}

/// The most recently changed fixes, for the dashboard and status.
pub async fn recent(pool: &Pool, limit: u32) -> sqlx::Result<Vec<FixPr>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM fix_prs ORDER BY updated_at DESC, id DESC LIMIT $1"
    )))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
}

/// Writes a row back (every mutable field) if it is still at the version it was read at;
/// `false` when another write came first (the caller reads it again and decides again).
pub async fn update(conn: &mut Conn, fix: &FixPr, now: Millis) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE fix_prs SET pr_number = $1, head_sha = $2, state = $3, tier = $4, risk_reasons = $5,
             category = $6, complexity = $7, stopped = $8, stop_reason = $9, attempts = $10, repairs = $11,
             reruns = $12, tokens = $13, cost_usd = $14, merge_sha = $15, last_ci = $16,
             merge_approved_sha = $17, merge_approved_by = $18, tier_base = $19, tier_head = $20,
             requested_by = $21, ci_output = $22, acted = $23, reverted = $24, merged_by = $25,
             merged_at = $26, reverted_by = $27, reverted_at = $28, spent_ms = $29, version = version + 1,
             updated_at = $30
         WHERE id = $31 AND version = $32",
    )
    .bind(fix.pr_number)
    .bind(&fix.head_sha)
    .bind(fix.state)
    .bind(fix.tier)
    .bind(&fix.risk_reasons)
    .bind(&fix.category)
    .bind(fix.complexity)
    .bind(i64::from(fix.stopped))
    .bind(&fix.stop_reason)
    .bind(fix.attempts)
    .bind(fix.repairs)
    .bind(fix.reruns)
    .bind(fix.tokens)
    .bind(fix.cost_usd)
    .bind(&fix.merge_sha)
    .bind(&fix.last_ci)
    .bind(&fix.merge_approved_sha)
    .bind(&fix.merge_approved_by)
    .bind(&fix.tier_base)
    .bind(&fix.tier_head)
    .bind(&fix.requested_by)
    .bind(&fix.ci_output)
    .bind(&fix.acted)
    .bind(i64::from(fix.reverted))
    .bind(&fix.merged_by)
    .bind(fix.merged_at)
    .bind(&fix.reverted_by)
    .bind(fix.reverted_at)
    .bind(fix.spent_ms)
    .bind(now)
    .bind(fix.id)
    .bind(fix.version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
