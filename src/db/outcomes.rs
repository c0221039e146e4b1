//! What happened to GlobalLM's pull requests after they were opened: the post-merge guard's
//! watches (`merge_watches`), the merge and revert history earned autonomy folds over, and the
//! outcome ledger (aggregates over `fix_prs`, by repository, tier and language).

use super::{Conn, Pool};
use crate::time::Millis;

/// The guard's watch of one merge commit.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct MergeWatch {
    /// The merged fix.
    pub fix_id: i64,
    /// `owner/name`.
    pub repo: String,
    /// The installation it was merged through.
    pub installation: i64,
    /// The branch it was merged into.
    pub base_branch: String,
    /// The merge commit.
    pub merge_sha: String,
    /// Its first parent: the base as it was before the merge.
    pub parent_sha: String,
    /// `watching`, `clean`, `reverting`, `reverted`, `cleared` or `declined`.
    pub state: String,
    /// The checks that turned red on the merge commit (JSON array).
    pub failing: Option<String>,
    /// The failed check runs re-run once because they looked like infrastructure (JSON array
    /// of run ids), when they were.
    pub rerun: Option<String>,
    /// The revert pull request, once opened.
    pub revert_pr: Option<i64>,
    /// Its head.
    pub revert_head: Option<String>,
    /// After this, a merge commit with no regression is clean.
    pub deadline: Millis,
    /// Bumped by every write.
    pub version: i64,
    /// When the merge was watched.
    pub created_at: Millis,
    /// When it last changed.
    pub updated_at: Millis,
}

const COLUMNS: &str = "fix_id, repo, installation, base_branch, merge_sha, parent_sha, state, \
                       failing, rerun, revert_pr, revert_head, deadline, version, created_at, \
                       updated_at";

/// A merge to watch.
#[derive(Debug, Clone)]
pub struct NewWatch<'a> {
    /// The merged fix.
    pub fix_id: i64,
    /// `owner/name`.
    pub repo: &'a str,
    /// The installation.
    pub installation: i64,
    /// The branch merged into.
    pub base_branch: &'a str,
    /// The merge commit.
    pub merge_sha: &'a str,
    /// Its first parent.
    pub parent_sha: &'a str,
    /// When the guard window closes.
    pub deadline: Millis,
}

/// Starts watching a merge; `false` when it is watched already.
pub async fn watch_merge(conn: &mut Conn, watch: &NewWatch<'_>, now: Millis) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO merge_watches (fix_id, repo, installation, base_branch, merge_sha, parent_sha,
             state, deadline, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'watching', $7, $8, $9)
         ON CONFLICT (fix_id) DO NOTHING",
    )
    .bind(watch.fix_id)
    .bind(watch.repo)
    .bind(watch.installation)
    .bind(watch.base_branch)
    .bind(watch.merge_sha)
    .bind(watch.parent_sha)
    .bind(watch.deadline)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The watch of a fix.
pub async fn watch_of(pool: &Pool, fix_id: i64) -> sqlx::Result<Option<MergeWatch>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM merge_watches WHERE fix_id = $1"
    )))
    .bind(fix_id)
    .fetch_optional(pool)
    .await
}

/// The watch whose merge commit, or whose revert's head, is `sha`.
pub async fn watch_for_commit(
    pool: &Pool,
    repo: &str,
    sha: &str,
) -> sqlx::Result<Option<MergeWatch>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM merge_watches WHERE repo = $1 AND (merge_sha = $2 OR revert_head = $3)
         ORDER BY fix_id DESC LIMIT 1"
    )))
    .bind(repo)
    .bind(sha)
    .bind(sha)
    .fetch_optional(pool)
    .await
}

/// Watches still open (watching, or a revert under way), for the timed re-check.
pub async fn open_watches(pool: &Pool, limit: u32) -> sqlx::Result<Vec<MergeWatch>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM merge_watches WHERE state IN ('watching', 'reverting')
         ORDER BY updated_at LIMIT $1"
    )))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
}

/// Writes a watch back if it is still at the version it was read at.
pub async fn update_watch(conn: &mut Conn, watch: &MergeWatch, now: Millis) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE merge_watches SET state = $1, failing = $2, rerun = $3, revert_pr = $4,
             revert_head = $5, version = version + 1, updated_at = $6
         WHERE fix_id = $7 AND version = $8",
    )
    .bind(&watch.state)
    .bind(&watch.failing)
    .bind(&watch.rerun)
    .bind(watch.revert_pr)
    .bind(&watch.revert_head)
    .bind(now)
    .bind(watch.fix_id)
    .bind(watch.version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One merged GlobalLM pull request as earned autonomy sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MergeRecord {
    /// Its pull request.
    pub pr_number: Option<i64>,
    /// When it was merged.
    pub merged_at: Millis,
    /// Who reverted it, if anyone did.
    pub reverted_by: Option<String>,
    /// When.
    pub reverted_at: Option<Millis>,
    /// The guard's verdict, when GlobalLM merged it (`None`: a human merged it).
    pub guard: Option<String>,
}

/// Every merged GlobalLM pull request of a repository, oldest first.
pub async fn merge_history(pool: &Pool, repo: &str) -> sqlx::Result<Vec<MergeRecord>> {
    sqlx::query_as(
        "SELECT f.pr_number, COALESCE(f.merged_at, f.updated_at) AS merged_at,
                CASE WHEN f.reverted <> 0 THEN COALESCE(f.reverted_by, 'someone') END AS reverted_by,
                CASE WHEN f.reverted <> 0 THEN COALESCE(f.reverted_at, f.updated_at) END AS reverted_at,
                w.state AS guard
         FROM fix_prs f LEFT JOIN merge_watches w ON w.fix_id = f.id
         WHERE f.repo = $1 AND f.state = 'merged'
         ORDER BY merged_at, f.id",
    )
    .bind(repo)
    .fetch_all(pool)
    .await
}

/// Repositories with at least one GlobalLM pull request.
pub async fn repositories(pool: &Pool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT DISTINCT repo FROM fix_prs ORDER BY repo")
        .fetch_all(pool)
        .await
}

/// One row of the outcome ledger.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct LedgerRow {
    /// `owner/name`.
    pub repo: String,
    /// The tier (`unassessed` before a draft was pushed).
    pub tier: String,
    /// The language, as triage recorded it (`unknown` when it did not).
    pub language: String,
    /// Pull requests opened.
    pub opened: i64,
    /// Merged by GlobalLM.
    pub merged_by_globallm: i64,
    /// Merged by a human (merges recorded before the ledger existed name nobody and count in
    /// neither column).
    pub merged_by_human: i64,
    /// Closed without a merge.
    pub closed_unmerged: i64,
    /// Reverted by GlobalLM's post-merge guard.
    pub reverted_by_globallm: i64,
    /// Reverted by a human.
    pub reverted_by_human: i64,
    /// Pull requests that needed at least one repair after red CI.
    pub repaired: i64,
    /// Mean hours from the fix's start to its merge (merged ones only).
    pub mean_hours_to_merge: Option<f64>,
    /// LLM tokens spent.
    pub tokens: i64,
    /// Seconds the drafting and repair jobs spent.
    pub seconds: f64,
}

/// The outcome ledger of fixes started since `since`: one row per repository, tier and
/// language.
pub async fn ledger(pool: &Pool, since: Millis) -> sqlx::Result<Vec<LedgerRow>> {
    sqlx::query_as(
        "SELECT f.repo AS repo, COALESCE(f.tier, 'unassessed') AS tier,
                COALESCE(t.language, 'unknown') AS language,
                count(*) FILTER (WHERE f.pr_number IS NOT NULL) AS opened,
                count(*) FILTER (WHERE f.state = 'merged'
                                 AND COALESCE(f.merged_by, '') = 'globallm') AS merged_by_globallm,
                count(*) FILTER (WHERE f.state = 'merged'
                                 AND COALESCE(f.merged_by, 'globallm') != 'globallm')
                    AS merged_by_human,
                count(*) FILTER (WHERE f.state = 'closed') AS closed_unmerged,
                count(*) FILTER (WHERE f.reverted <> 0
                                 AND COALESCE(f.reverted_by, '') = 'globallm')
                    AS reverted_by_globallm,
                count(*) FILTER (WHERE f.reverted <> 0
                                 AND COALESCE(f.reverted_by, 'globallm') != 'globallm')
                    AS reverted_by_human,
                count(*) FILTER (WHERE f.repairs > 0) AS repaired,
                CAST(AVG(CASE WHEN f.state = 'merged' AND f.merged_at IS NOT NULL
                              THEN (f.merged_at - f.created_at) / 3600000.0 END)
                     AS DOUBLE PRECISION) AS mean_hours_to_merge,
                CAST(SUM(f.tokens) AS BIGINT) AS tokens,
                CAST(SUM(f.spent_ms) AS DOUBLE PRECISION) / 1000.0 AS seconds
         FROM fix_prs f LEFT JOIN triaged_issues t ON t.repo = f.repo AND t.number = f.issue
         WHERE f.created_at >= $1
         GROUP BY f.repo, COALESCE(f.tier, 'unassessed'), COALESCE(t.language, 'unknown')
         ORDER BY f.repo, tier, language",
    )
    .bind(since)
    .fetch_all(pool)
    .await
}

/// Merges and reverts per week (weeks since the Unix epoch, Monday-aligned), for the
/// dashboard's chart.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct WeekRow {
    /// The week's first day, in milliseconds.
    pub week_start: Millis,
    /// Pull requests merged that week (by anyone).
    pub merged: i64,
    /// Pull requests reverted that week.
    pub reverted: i64,
}

/// Merges and reverts of the last `weeks` weeks before `now`, oldest first.
pub async fn weekly(pool: &Pool, now: Millis, weeks: i64) -> sqlx::Result<Vec<WeekRow>> {
    // 1970-01-01 was a Thursday: shifted by three days, weeks start on Mondays.
    const WEEK: Millis = 7 * 24 * 3_600_000;
    const SHIFT: Millis = 3 * 24 * 3_600_000;
    let since = now - weeks * WEEK;
    sqlx::query_as(
        "WITH events AS (
             SELECT merged_at AS at, 1 AS merged, 0 AS reverted FROM fix_prs
                 WHERE state = 'merged' AND merged_at >= $1
             UNION ALL
             SELECT reverted_at, 0, 1 FROM fix_prs WHERE reverted <> 0 AND reverted_at >= $1
         )
         SELECT ((at + $2) / $3) * $3 - $2 AS week_start, CAST(SUM(merged) AS BIGINT) AS merged,
                CAST(SUM(reverted) AS BIGINT) AS reverted
         FROM events GROUP BY week_start ORDER BY week_start",
    )
    .bind(since)
    .bind(SHIFT)
    .bind(WEEK)
    .fetch_all(pool)
    .await
}

/// How GlobalLM's fixes of issues of `category` with a complexity within one of `complexity`
/// ended in `repo` (solvability's track record).
pub async fn track_record(
    pool: &Pool,
    repo: &str,
    category: &str,
    complexity: i64,
) -> sqlx::Result<crate::scoring::TrackRecord> {
    let (merged, decided): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'merged' AND reverted = 0),
                count(*) FILTER (WHERE state IN ('merged', 'closed', 'failed'))
         FROM fix_prs
         WHERE repo = $1 AND category = $2 AND complexity BETWEEN $3 AND $4",
    )
    .bind(repo)
    .bind(category)
    .bind(complexity - 1)
    .bind(complexity + 1)
    .fetch_one(pool)
    .await?;
    Ok(crate::scoring::TrackRecord {
        merged: u32::try_from(merged).unwrap_or(0),
        decided: u32::try_from(decided).unwrap_or(0),
    })
}
