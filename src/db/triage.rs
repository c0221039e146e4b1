//! The `repo_signals` and `triaged_issues` tables: repositories' score inputs and triaged
//! issues with everything their priority was computed from.

use super::{Conn, Pool};
use crate::time::Millis;

/// A repository's stored score inputs.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RepoSignals {
    /// `owner/name`.
    pub repo: String,
    /// Its main language.
    pub language: Option<String>,
    /// `scoring::HealthInputs`, JSON.
    pub health: String,
    /// `scoring::ImpactInputs`, JSON.
    pub impact: String,
    /// The redundancy penalty in [0, 1].
    pub redundancy: f64,
    /// Whether it has tests, when known.
    #[sqlx(try_from = "crate::db::OptionalFlag")]
    pub has_tests: Option<bool>,
    /// `live` or `discovery`.
    pub source: String,
    /// When they were gathered.
    pub fetched_at: Millis,
}

/// A repository's stored inputs.
pub async fn get_signals(pool: &Pool, repo: &str) -> sqlx::Result<Option<RepoSignals>> {
    sqlx::query_as(
        "SELECT repo, language, health, impact, redundancy, has_tests, source, fetched_at
         FROM repo_signals WHERE repo = $1",
    )
    .bind(repo)
    .fetch_optional(pool)
    .await
}

/// Stores a repository's inputs, replacing older ones.
pub async fn put_signals(conn: &mut Conn, signals: &RepoSignals) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO repo_signals (repo, language, health, impact, redundancy, has_tests, source, fetched_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (repo) DO UPDATE SET
             language = excluded.language, health = excluded.health, impact = excluded.impact,
             redundancy = excluded.redundancy, has_tests = excluded.has_tests,
             source = excluded.source, fetched_at = excluded.fetched_at",
    )
    .bind(&signals.repo)
    .bind(&signals.language)
    .bind(&signals.health)
    .bind(&signals.impact)
    .bind(signals.redundancy)
    .bind(signals.has_tests.map(i64::from))
    .bind(&signals.source)
    .bind(signals.fetched_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A triaged issue.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct TriagedIssue {
    /// `owner/name`.
    pub repo: String,
    /// Its number.
    pub number: i64,
    /// Its title.
    pub title: String,
    /// `open` or `closed`.
    pub state: String,
    /// Its repository's language.
    pub language: Option<String>,
    /// Its category.
    pub category: String,
    /// Its complexity, 1–10.
    pub complexity: i64,
    /// Why that complexity.
    pub complexity_note: Option<String>,
    /// The part of the code it is about.
    pub area: Option<String>,
    /// How sure the categorization is.
    pub confidence: f64,
    /// `llm` or `offline`.
    pub categorized_by: String,
    /// When it was opened.
    pub opened_at: Millis,
    /// Comments and reactions.
    pub engagement: i64,
    /// H when it was triaged.
    pub health: f64,
    /// I when it was triaged.
    pub impact: f64,
    /// R when it was triaged.
    pub redundancy: f64,
    /// Whether the repository has tests, when known.
    #[sqlx(try_from = "crate::db::OptionalFlag")]
    pub has_tests: Option<bool>,
    /// The solvability inputs when it was triaged (`scoring::SolvabilityInputs`, JSON).
    pub solvability: Option<String>,
    /// The priority when it was triaged.
    pub priority: f64,
    /// Its level then.
    pub level: String,
    /// GlobalLM's triage comment.
    pub comment_id: Option<i64>,
    /// The triage comment as last written.
    pub comment_body: Option<String>,
    /// When it was triaged.
    pub triaged_at: Millis,
}

const COLUMNS: &str = "repo, number, title, state, language, category, complexity, complexity_note, area, \
                       confidence, categorized_by, opened_at, engagement, health, impact, redundancy, \
                       has_tests, solvability, priority, level, comment_id, comment_body, triaged_at";

/// One triaged issue.
pub async fn get(pool: &Pool, repo: &str, number: i64) -> sqlx::Result<Option<TriagedIssue>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM triaged_issues WHERE repo = $1 AND number = $2"
    )))
    .bind(repo)
    .bind(number)
    .fetch_optional(pool)
    .await
}

/// Stores a triage, replacing the issue's previous one (its comment id is kept when the new
/// one has none).
pub async fn put(conn: &mut Conn, issue: &TriagedIssue) -> sqlx::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO triaged_issues ({COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
         ON CONFLICT (repo, number) DO UPDATE SET
             title = excluded.title, state = excluded.state, language = excluded.language,
             category = excluded.category, complexity = excluded.complexity,
             complexity_note = excluded.complexity_note, area = excluded.area,
             confidence = excluded.confidence, categorized_by = excluded.categorized_by,
             opened_at = excluded.opened_at, engagement = excluded.engagement,
             health = excluded.health, impact = excluded.impact, redundancy = excluded.redundancy,
             has_tests = excluded.has_tests, solvability = excluded.solvability,
             priority = excluded.priority, level = excluded.level,
             comment_id = coalesce(excluded.comment_id, triaged_issues.comment_id),
             comment_body = coalesce(excluded.comment_body, triaged_issues.comment_body),
             triaged_at = excluded.triaged_at"
    )))
    .bind(&issue.repo)
    .bind(issue.number)
    .bind(&issue.title)
    .bind(&issue.state)
    .bind(&issue.language)
    .bind(&issue.category)
    .bind(issue.complexity)
    .bind(&issue.complexity_note)
    .bind(&issue.area)
    .bind(issue.confidence)
    .bind(&issue.categorized_by)
    .bind(issue.opened_at)
    .bind(issue.engagement)
    .bind(issue.health)
    .bind(issue.impact)
    .bind(issue.redundancy)
    .bind(issue.has_tests.map(i64::from))
    .bind(&issue.solvability)
    .bind(issue.priority)
    .bind(&issue.level)
    .bind(issue.comment_id)
    .bind(&issue.comment_body)
    .bind(issue.triaged_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The hash of the title and body the issue's stored triage judged, when one is stored.
pub async fn content_hash(pool: &Pool, repo: &str, number: i64) -> sqlx::Result<Option<String>> {
    let hash: Option<Option<String>> = sqlx::query_scalar(
        "SELECT content_hash FROM triaged_issues WHERE repo = $1 AND number = $2",
    )
    .bind(repo)
    .bind(number)
    .fetch_optional(pool)
    .await?;
    Ok(hash.flatten())
}

/// Records the hash of the title and body a stored triage judged.
pub async fn set_content_hash(
    conn: &mut Conn,
    repo: &str,
    number: i64,
    hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE triaged_issues SET content_hash = $1 WHERE repo = $2 AND number = $3")
        .bind(hash)
        .bind(repo)
        .bind(number)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records the triage comment of an issue and the text it was last written with.
pub async fn set_comment(
    conn: &mut Conn,
    repo: &str,
    number: i64,
    comment_id: Option<i64>,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE triaged_issues SET comment_id = $1, comment_body = $2 WHERE repo = $3 AND number = $4",
    )
    .bind(comment_id)
    .bind(body)
    .bind(repo)
    .bind(number)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the issue's state (`open` or `closed`), when it was triaged.
pub async fn set_state(
    conn: &mut Conn,
    repo: &str,
    number: i64,
    state: &str,
) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("UPDATE triaged_issues SET state = $1 WHERE repo = $2 AND number = $3")
            .bind(state)
            .bind(repo)
            .bind(number)
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// What ranking an issue needs, without the texts.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RankInput {
    /// `owner/name`.
    pub repo: String,
    /// Its number.
    pub number: i64,
    /// Its title.
    pub title: String,
    /// Its category.
    pub category: String,
    /// Its complexity.
    pub complexity: i64,
    /// When it was opened.
    pub opened_at: Millis,
    /// Comments and reactions.
    pub engagement: i64,
    /// H when it was triaged.
    pub health: f64,
    /// I when it was triaged.
    pub impact: f64,
    /// R when it was triaged.
    pub redundancy: f64,
    /// Whether the repository has tests.
    #[sqlx(try_from = "crate::db::OptionalFlag")]
    pub has_tests: Option<bool>,
    /// The solvability inputs (`scoring::SolvabilityInputs`, JSON), when stored.
    pub solvability: Option<String>,
}

/// Open triaged issues, optionally of one language: the input of `prioritize`, which
/// recomputes every priority with the current weights. Streams through `visit` so a million
/// rows never sit in memory at once.
pub async fn for_each_open(
    pool: &Pool,
    language: Option<&str>,
    mut visit: impl FnMut(RankInput),
) -> sqlx::Result<u64> {
    use futures_util::TryStreamExt as _;
    const RANK_COLUMNS: &str = "repo, number, title, category, complexity, opened_at, engagement, health, impact, redundancy, has_tests, solvability";
    let sql = match language {
        Some(_) => format!(
            "SELECT {RANK_COLUMNS} FROM triaged_issues WHERE state = 'open' AND language = $1"
        ),
        None => format!("SELECT {RANK_COLUMNS} FROM triaged_issues WHERE state = 'open'"),
    };
    let mut query = sqlx::query_as::<_, RankInput>(sqlx::AssertSqlSafe(sql));
    if let Some(language) = language {
        query = query.bind(language);
    }
    let mut rows = query.fetch(pool);
    let mut count = 0;
    while let Some(row) = rows.try_next().await? {
        visit(row);
        count += 1;
    }
    Ok(count)
}

/// Every repository's stored redundancy, health and impact inputs, for recomputing.
pub async fn all_signals(pool: &Pool) -> sqlx::Result<Vec<RepoSignals>> {
    sqlx::query_as(
        "SELECT repo, language, health, impact, redundancy, has_tests, source, fetched_at FROM repo_signals",
    )
    .fetch_all(pool)
    .await
}

/// A repository's activity, for the dashboard.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RepoActivity {
    /// `owner/name`.
    pub repo: String,
    /// Issues triaged.
    pub issues: i64,
    /// GlobalLM pull requests opened.
    pub prs: i64,
    /// … of which merged.
    pub merged: i64,
}

/// The `limit` most active repositories (triaged, fixed or installed), most issues and pull
/// requests first.
pub async fn repo_activity(pool: &Pool, limit: i64) -> sqlx::Result<Vec<RepoActivity>> {
    sqlx::query_as(
        "SELECT * FROM (
             SELECT n.repo AS repo,
                    (SELECT count(*) FROM triaged_issues t WHERE t.repo = n.repo) AS issues,
                    (SELECT count(*) FROM fix_prs f
                     WHERE f.repo = n.repo AND f.pr_number IS NOT NULL) AS prs,
                    (SELECT count(*) FROM fix_prs f
                     WHERE f.repo = n.repo AND f.state = 'merged') AS merged
             FROM (SELECT repo FROM triaged_issues UNION SELECT repo FROM fix_prs
                   UNION SELECT full_name FROM repositories WHERE installation_id IS NOT NULL) n
         ) AS activity
         ORDER BY issues + prs DESC, repo LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}
