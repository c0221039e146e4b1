//! The discovery tables: runs (one per night for scheduled runs), search windows (the
//! checkpoints a run resumes from), the repositories found and why some were filtered out,
//! packages, dependency edges and per-run snapshots.

use super::{Conn, Pool};
use crate::time::Millis;

/// A discovery run.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RunRow {
    /// Its id.
    pub id: i64,
    /// The night of a scheduled run (YYYY-MM-DD, UTC).
    pub night: Option<String>,
    /// `schedule` or `manual`.
    pub trigger: String,
    /// JSON array of languages.
    pub languages: String,
    /// The star threshold searched above.
    pub min_stars: i64,
    /// `running`, `finished` or `failed`.
    pub state: String,
    /// When it started.
    pub started_at: Millis,
    /// When it finished.
    pub finished_at: Option<Millis>,
    /// Search calls made.
    pub search_calls: i64,
    /// GraphQL queries made.
    pub graphql_calls: i64,
    /// GraphQL rate-limit points spent.
    pub graphql_points: i64,
    /// Registry requests made.
    pub registry_calls: i64,
    /// Why it failed.
    pub last_error: Option<String>,
}

const RUN_COLUMNS: &str = "id, night, trigger, languages, min_stars, state, started_at, finished_at, \
     search_calls, graphql_calls, graphql_points, registry_calls, last_error";

/// Starts a run; `None` when `night` already has one (a night runs once).
pub async fn start_run(
    conn: &mut Conn,
    night: Option<&str>,
    trigger: &str,
    languages: &str,
    min_stars: i64,
    now: Millis,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO discovery_runs (night, trigger, languages, min_stars, state, started_at)
         VALUES ($1, $2, $3, $4, 'running', $5)
         ON CONFLICT (night) DO NOTHING
         RETURNING id",
    )
    .bind(night)
    .bind(trigger)
    .bind(languages)
    .bind(min_stars)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// A run by id.
pub async fn get_run(pool: &Pool, id: i64) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM discovery_runs WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The newest unfinished run with these languages and threshold: the one to resume.
pub async fn unfinished_run(
    pool: &Pool,
    languages: &str,
    min_stars: i64,
) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM discovery_runs
         WHERE state IN ('running', 'failed') AND languages = $1 AND min_stars = $2
         ORDER BY id DESC LIMIT 1"
    )))
    .bind(languages)
    .bind(min_stars)
    .fetch_optional(pool)
    .await
}

/// The newest scheduled run, whatever its state.
pub async fn last_scheduled_run(pool: &Pool) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM discovery_runs WHERE night IS NOT NULL
         ORDER BY started_at DESC, id DESC LIMIT 1"
    )))
    .fetch_optional(pool)
    .await
}

/// The newest finished run before `before` (any trigger).
pub async fn previous_finished_run(pool: &Pool, before: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM discovery_runs WHERE state = 'finished' AND id < $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(before)
    .fetch_optional(pool)
    .await
}

/// Adds to a run's counters.
pub async fn add_counts(
    conn: &mut Conn,
    id: i64,
    search_calls: i64,
    graphql_calls: i64,
    graphql_points: i64,
    registry_calls: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE discovery_runs SET search_calls = search_calls + $1,
             graphql_calls = graphql_calls + $2, graphql_points = graphql_points + $3,
             registry_calls = registry_calls + $4
         WHERE id = $5",
    )
    .bind(search_calls)
    .bind(graphql_calls)
    .bind(graphql_points)
    .bind(registry_calls)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a run `finished` or `failed` (with the error).
pub async fn finish_run(
    conn: &mut Conn,
    id: i64,
    state: &str,
    error: Option<&str>,
    now: Millis,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE discovery_runs SET state = $1, last_error = $2, finished_at = $3 WHERE id = $4",
    )
    .bind(state)
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A run back to `running` (resumed).
pub async fn resume_run(conn: &mut Conn, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE discovery_runs SET state = 'running', last_error = NULL WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A search window (see `discovery::search::Window`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WindowRow {
    /// The GitHub language searched.
    pub gh_language: String,
    /// The least stars.
    pub stars_min: i64,
    /// The most stars; `None`: unbounded.
    pub stars_max: Option<i64>,
    /// The earliest creation date (YYYY-MM-DD).
    pub created_from: Option<String>,
    /// The latest creation date.
    pub created_to: Option<String>,
    /// Its search qualifiers, its identity in the run.
    pub qualifiers: String,
    /// `pending`, `split` or `done`.
    pub state: String,
    /// Results search said it holds.
    pub total: Option<i64>,
    /// Results read.
    pub fetched: i64,
}

/// Adds a pending window (nothing when the run has it already).
pub async fn add_window(conn: &mut Conn, run: i64, window: &WindowRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO discovery_windows
             (run_id, gh_language, stars_min, stars_max, created_from, created_to, qualifiers, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')
         ON CONFLICT DO NOTHING",
    )
    .bind(run)
    .bind(&window.gh_language)
    .bind(window.stars_min)
    .bind(window.stars_max)
    .bind(&window.created_from)
    .bind(&window.created_to)
    .bind(&window.qualifiers)
    .execute(conn)
    .await?;
    Ok(())
}

/// A run's windows still to search, in the order they were added.
pub async fn pending_windows(pool: &Pool, run: i64) -> sqlx::Result<Vec<WindowRow>> {
    let order = super::backend_of_pool(pool).window_order();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT gh_language, stars_min, stars_max, created_from, created_to, qualifiers, state,
                total, fetched
         FROM discovery_windows WHERE run_id = $1 AND state = 'pending' ORDER BY {order}"
    )))
    .bind(run)
    .fetch_all(pool)
    .await
}

/// Every window of a run.
pub async fn windows(pool: &Pool, run: i64) -> sqlx::Result<Vec<WindowRow>> {
    let order = super::backend_of_pool(pool).window_order();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT gh_language, stars_min, stars_max, created_from, created_to, qualifiers, state,
                total, fetched
         FROM discovery_windows WHERE run_id = $1 ORDER BY {order}"
    )))
    .bind(run)
    .fetch_all(pool)
    .await
}

/// Marks a window `split` or `done`, with what search said and what was read.
pub async fn close_window(
    conn: &mut Conn,
    run: i64,
    gh_language: &str,
    qualifiers: &str,
    state: &str,
    total: i64,
    fetched: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE discovery_windows SET state = $1, total = $2, fetched = $3
         WHERE run_id = $4 AND gh_language = $5 AND qualifiers = $6",
    )
    .bind(state)
    .bind(total)
    .bind(fetched)
    .bind(run)
    .bind(gh_language)
    .bind(qualifiers)
    .execute(conn)
    .await?;
    Ok(())
}

/// A repository a run found.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DiscoveredRepo {
    /// `owner/name`, lower case.
    pub repo: String,
    /// GitHub's id.
    pub github_id: i64,
    /// Its ecosystem (`python`, `javascript`, …).
    pub language: String,
    /// Stars.
    pub stars: i64,
    /// Archived.
    #[sqlx(try_from = "crate::db::Flag")]
    pub archived: bool,
    /// Disabled.
    #[sqlx(try_from = "crate::db::Flag")]
    pub disabled: bool,
    /// A fork.
    #[sqlx(try_from = "crate::db::Flag")]
    pub fork: bool,
    /// A mirror.
    #[sqlx(try_from = "crate::db::Flag")]
    pub mirror: bool,
    /// Created.
    pub created_at: Option<Millis>,
    /// Last push.
    pub pushed_at: Option<Millis>,
    /// Why it was filtered out; `None` when kept.
    pub filtered: Option<String>,
}

/// Records a repository of a run (again: the newer record wins).
pub async fn put_repo(conn: &mut Conn, run: i64, repo: &DiscoveredRepo) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO discovered_repos
             (run_id, repo, github_id, language, stars, archived, disabled, fork, mirror,
              created_at, pushed_at, filtered)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (run_id, repo) DO UPDATE SET
             stars = excluded.stars, archived = excluded.archived, disabled = excluded.disabled,
             fork = excluded.fork, mirror = excluded.mirror, pushed_at = excluded.pushed_at,
             filtered = excluded.filtered",
    )
    .bind(run)
    .bind(&repo.repo)
    .bind(repo.github_id)
    .bind(&repo.language)
    .bind(repo.stars)
    .bind(i64::from(repo.archived))
    .bind(i64::from(repo.disabled))
    .bind(i64::from(repo.fork))
    .bind(i64::from(repo.mirror))
    .bind(repo.created_at)
    .bind(repo.pushed_at)
    .bind(&repo.filtered)
    .execute(conn)
    .await?;
    Ok(())
}

/// The repositories a run found, by name.
pub async fn run_repos(pool: &Pool, run: i64) -> sqlx::Result<Vec<DiscoveredRepo>> {
    sqlx::query_as(
        "SELECT repo, github_id, language, stars, archived, disabled, fork, mirror, created_at,
                pushed_at, filtered
         FROM discovered_repos WHERE run_id = $1 ORDER BY repo",
    )
    .bind(run)
    .fetch_all(pool)
    .await
}

/// How many repositories a run kept (`None`) and filtered out, per reason.
pub async fn filter_counts(pool: &Pool, run: i64) -> sqlx::Result<Vec<(Option<String>, i64)>> {
    sqlx::query_as(
        "SELECT filtered, COUNT(*) FROM discovered_repos WHERE run_id = $1
         GROUP BY filtered ORDER BY filtered",
    )
    .bind(run)
    .fetch_all(pool)
    .await
}

/// Whether a run has read an ecosystem's dependents listing (its checkpoint).
pub async fn dependents_list_done(pool: &Pool, run: i64, language: &str) -> sqlx::Result<bool> {
    let done: super::Flag = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM discovery_dependents_lists WHERE run_id = $1 AND language = $2)",
    )
    .bind(run)
    .bind(language)
    .fetch_one(pool)
    .await?;
    Ok(done.into())
}

/// Records that a run read an ecosystem's dependents listing (`error`: why it stopped early).
pub async fn finish_dependents_list(
    conn: &mut Conn,
    run: i64,
    language: &str,
    pages: i64,
    candidates: i64,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO discovery_dependents_lists (run_id, language, pages, candidates, error)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(run)
    .bind(language)
    .bind(pages)
    .bind(candidates)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// The dependents listings a run read: language, pages, candidates, error.
pub async fn dependents_lists(
    pool: &Pool,
    run: i64,
) -> sqlx::Result<Vec<(String, i64, i64, Option<String>)>> {
    sqlx::query_as(
        "SELECT language, pages, candidates, error FROM discovery_dependents_lists
         WHERE run_id = $1 ORDER BY language",
    )
    .bind(run)
    .fetch_all(pool)
    .await
}

/// A repository named by a package with many dependents.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Candidate {
    /// `owner/name`, lower case.
    pub repo: String,
    /// The ecosystem.
    pub language: String,
    /// Its package with the most dependents.
    pub package: String,
    /// That package's dependents.
    pub dependents: i64,
    /// pending, stored, known or missing.
    pub state: String,
}

/// Adds a candidate, or raises its dependents when another of its packages has more.
pub async fn add_candidate(conn: &mut Conn, run: i64, candidate: &Candidate) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO discovery_candidates (run_id, repo, language, package, dependents, state)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (run_id, repo) DO UPDATE SET
             package = excluded.package, dependents = excluded.dependents
         WHERE excluded.dependents > discovery_candidates.dependents",
    )
    .bind(run)
    .bind(&candidate.repo)
    .bind(&candidate.language)
    .bind(&candidate.package)
    .bind(candidate.dependents)
    .bind(&candidate.state)
    .execute(conn)
    .await?;
    Ok(())
}

/// A run's candidates, by name.
pub async fn candidates(pool: &Pool, run: i64) -> sqlx::Result<Vec<Candidate>> {
    sqlx::query_as(
        "SELECT repo, language, package, dependents, state FROM discovery_candidates
         WHERE run_id = $1 ORDER BY repo",
    )
    .bind(run)
    .fetch_all(pool)
    .await
}

/// Settles a candidate: `stored`, `known` or `missing`.
pub async fn settle_candidate(
    conn: &mut Conn,
    run: i64,
    repo: &str,
    state: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE discovery_candidates SET state = $1 WHERE run_id = $2 AND repo = $3")
        .bind(state)
        .bind(run)
        .bind(repo)
        .execute(conn)
        .await?;
    Ok(())
}

/// A repository's stored README embedding: the model, the SHA-256 of the text and the vector.
pub async fn embedding(
    pool: &Pool,
    repo: &str,
) -> sqlx::Result<Option<(String, String, Vec<f32>)>> {
    let row: Option<(String, String, Vec<u8>)> =
        sqlx::query_as("SELECT model, text_sha256, vector FROM readme_embeddings WHERE repo = $1")
            .bind(repo)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(model, sha, bytes)| {
        let vector = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        (model, sha, vector)
    }))
}

/// Stores a repository's README embedding, replacing the previous one.
pub async fn put_embedding(
    conn: &mut Conn,
    repo: &str,
    model: &str,
    text_sha256: &str,
    vector: &[f32],
    now: Millis,
) -> sqlx::Result<()> {
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    sqlx::query(
        "INSERT INTO readme_embeddings (repo, model, text_sha256, vector, computed_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (repo) DO UPDATE SET model = excluded.model,
             text_sha256 = excluded.text_sha256, vector = excluded.vector,
             computed_at = excluded.computed_at",
    )
    .bind(repo)
    .bind(model)
    .bind(text_sha256)
    .bind(bytes)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A package and the repository it is published from.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PackageRow {
    /// Its ecosystem.
    pub language: String,
    /// Its name.
    pub name: String,
    /// `owner/name`, lower case.
    pub repo: Option<String>,
    /// The version looked at.
    pub version: Option<String>,
    /// Direct dependents.
    pub dependents: Option<i64>,
    /// Where `dependents` came from.
    pub dependents_source: Option<String>,
    /// Downloads.
    pub downloads: Option<i64>,
    /// When it was looked up.
    pub fetched_at: Millis,
}

/// Stores a package, replacing what was known.
pub async fn put_package(conn: &mut Conn, package: &PackageRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO packages (language, name, repo, version, dependents, dependents_source,
                               downloads, fetched_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (language, name) DO UPDATE SET
             repo = excluded.repo, version = excluded.version, dependents = excluded.dependents,
             dependents_source = excluded.dependents_source, downloads = excluded.downloads,
             fetched_at = excluded.fetched_at",
    )
    .bind(&package.language)
    .bind(&package.name)
    .bind(&package.repo)
    .bind(&package.version)
    .bind(package.dependents)
    .bind(&package.dependents_source)
    .bind(package.downloads)
    .bind(package.fetched_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The packages published from a repository.
pub async fn packages_of_repo(pool: &Pool, repo: &str) -> sqlx::Result<Vec<PackageRow>> {
    sqlx::query_as(
        "SELECT language, name, repo, version, dependents, dependents_source, downloads, fetched_at
         FROM packages WHERE repo = $1 ORDER BY language, name",
    )
    .bind(repo)
    .fetch_all(pool)
    .await
}

/// Every package of an ecosystem.
pub async fn packages(pool: &Pool, language: &str) -> sqlx::Result<Vec<PackageRow>> {
    sqlx::query_as(
        "SELECT language, name, repo, version, dependents, dependents_source, downloads, fetched_at
         FROM packages WHERE language = $1 ORDER BY name",
    )
    .bind(language)
    .fetch_all(pool)
    .await
}

/// Replaces a package's outgoing dependency edges.
pub async fn replace_edges(
    conn: &mut Conn,
    language: &str,
    dependent: &str,
    dependencies: &[String],
    source: &str,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM package_edges WHERE language = $1 AND dependent = $2")
        .bind(language)
        .bind(dependent)
        .execute(&mut *conn)
        .await?;
    for dependency in dependencies {
        sqlx::query(
            "INSERT INTO package_edges (language, dependent, dependency, source)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(language)
        .bind(dependent)
        .bind(dependency)
        .bind(source)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Every edge (dependent, dependency) of an ecosystem.
pub async fn edges(pool: &Pool, language: &str) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "SELECT dependent, dependency FROM package_edges WHERE language = $1
         ORDER BY dependent, dependency",
    )
    .bind(language)
    .fetch_all(pool)
    .await
}

/// What a run measured of a repository.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SnapshotRow {
    /// The run.
    pub run_id: i64,
    /// `owner/name`, lower case.
    pub repo: String,
    /// Its ecosystem.
    pub language: String,
    /// `scoring::HealthInputs`, JSON.
    pub health_inputs: String,
    /// `scoring::ImpactInputs`, JSON.
    pub impact_inputs: String,
    /// Signals outside the score, JSON.
    pub extra: String,
    /// H.
    pub health: f64,
    /// I.
    pub impact: f64,
    /// R.
    pub redundancy: f64,
    /// PageRank of its main package.
    pub pagerank: Option<f64>,
    /// Betweenness of its main package.
    pub betweenness: Option<f64>,
    /// Downstream reach of its main package.
    pub reach: Option<i64>,
    /// When.
    pub taken_at: Millis,
}

/// Stores a snapshot, replacing the run's earlier one of the repository.
pub async fn put_snapshot(conn: &mut Conn, s: &SnapshotRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO repo_snapshots (run_id, repo, language, health_inputs, impact_inputs, extra,
                                     health, impact, redundancy, pagerank, betweenness, reach,
                                     taken_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (run_id, repo) DO UPDATE SET
             language = excluded.language, health_inputs = excluded.health_inputs,
             impact_inputs = excluded.impact_inputs, extra = excluded.extra,
             health = excluded.health, impact = excluded.impact, redundancy = excluded.redundancy,
             pagerank = excluded.pagerank, betweenness = excluded.betweenness,
             reach = excluded.reach, taken_at = excluded.taken_at",
    )
    .bind(s.run_id)
    .bind(&s.repo)
    .bind(&s.language)
    .bind(&s.health_inputs)
    .bind(&s.impact_inputs)
    .bind(&s.extra)
    .bind(s.health)
    .bind(s.impact)
    .bind(s.redundancy)
    .bind(super::NullableReal(s.pagerank))
    .bind(super::NullableReal(s.betweenness))
    .bind(s.reach)
    .bind(s.taken_at)
    .execute(conn)
    .await?;
    Ok(())
}

const SNAPSHOT_COLUMNS: &str = "run_id, repo, language, health_inputs, impact_inputs, extra, health, \
     impact, redundancy, pagerank, betweenness, reach, taken_at";

/// A repository's newest snapshots, newest first.
pub async fn snapshots_of(pool: &Pool, repo: &str, limit: i64) -> sqlx::Result<Vec<SnapshotRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SNAPSHOT_COLUMNS} FROM repo_snapshots WHERE repo = $1
         ORDER BY run_id DESC LIMIT $2"
    )))
    .bind(repo)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Every snapshot of a run.
pub async fn run_snapshots(pool: &Pool, run: i64) -> sqlx::Result<Vec<SnapshotRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SNAPSHOT_COLUMNS} FROM repo_snapshots WHERE run_id = $1 ORDER BY repo"
    )))
    .bind(run)
    .fetch_all(pool)
    .await
}

/// Whether a night has a run (whatever its state).
pub async fn night_has_run(pool: &Pool, night: &str) -> sqlx::Result<bool> {
    let ran: super::Flag =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM discovery_runs WHERE night = $1)")
            .bind(night)
            .fetch_one(pool)
            .await?;
    Ok(ran.into())
}

/// Replaces the impact inputs of a repository's stored score inputs (`repo_signals`, keyed by
/// the name as GitHub spells it; matched without regard to case).
pub async fn set_signals_impact(conn: &mut Conn, repo: &str, impact: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE repo_signals SET impact = $1 WHERE lower(repo) = lower($2)")
        .bind(impact)
        .bind(repo)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets the redundancy penalty of a repository's snapshot in a run and of its stored score
/// inputs.
pub async fn set_redundancy(
    conn: &mut Conn,
    run: Option<i64>,
    repo: &str,
    penalty: f64,
) -> sqlx::Result<()> {
    if let Some(run) = run {
        sqlx::query("UPDATE repo_snapshots SET redundancy = $1 WHERE run_id = $2 AND repo = $3")
            .bind(penalty)
            .bind(run)
            .bind(repo)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("UPDATE repo_signals SET redundancy = $1 WHERE lower(repo) = lower($2)")
        .bind(penalty)
        .bind(repo)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A repository's open triaged issues with the highest priority:
/// `(number, title, category, priority, level)`.
pub async fn top_issues(
    pool: &Pool,
    repo: &str,
    limit: i64,
) -> sqlx::Result<Vec<(i64, String, String, f64, String)>> {
    sqlx::query_as(
        "SELECT number, title, category, priority, level FROM triaged_issues
         WHERE lower(repo) = lower($1) AND state = 'open'
         ORDER BY priority DESC, number LIMIT $2",
    )
    .bind(repo)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Stores a repository's README and API names.
pub async fn put_text(
    conn: &mut Conn,
    repo: &str,
    readme: &str,
    api_names: &str,
    now: Millis,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO repo_texts (repo, readme, api_names, fetched_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (repo) DO UPDATE SET readme = excluded.readme,
             api_names = excluded.api_names, fetched_at = excluded.fetched_at",
    )
    .bind(repo)
    .bind(readme)
    .bind(api_names)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest snapshot of every repository of an ecosystem that has a stored README, with
/// that README and its API names.
pub async fn redundancy_inputs(
    pool: &Pool,
    language: &str,
) -> sqlx::Result<Vec<(SnapshotRow, String, String)>> {
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT s.run_id, s.repo, t.readme, t.api_names FROM repo_snapshots s
         JOIN repo_texts t ON t.repo = s.repo
         WHERE s.language = $1 AND s.run_id = (SELECT MAX(run_id) FROM repo_snapshots x WHERE x.repo = s.repo)
         ORDER BY s.repo",
    )
    .bind(language)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (run, repo, readme, names) in rows {
        let snapshot: SnapshotRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM repo_snapshots WHERE run_id = $1 AND repo = $2"
        )))
        .bind(run)
        .bind(&repo)
        .fetch_one(pool)
        .await?;
        out.push((snapshot, readme, names));
    }
    Ok(out)
}

/// A stored cluster member.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RedundancyRow {
    /// The ecosystem.
    pub language: String,
    /// The cluster's number (0 is the largest).
    pub cluster: i64,
    /// `owner/name`.
    pub repo: String,
    /// README cosine to the healthiest member.
    pub readme_similarity: f64,
    /// API-name Jaccard to the healthiest member.
    pub api_similarity: f64,
    /// Shared names, JSON array.
    pub shared_names: String,
    /// Whether it is the healthiest member.
    #[sqlx(try_from = "crate::db::Flag")]
    pub healthiest: bool,
    /// The penalty R.
    pub penalty: f64,
    /// `archive` or `keep`.
    pub recommendation: String,
    /// When computed.
    pub computed_at: Millis,
}

/// Replaces an ecosystem's clusters.
pub async fn replace_redundancy(
    conn: &mut Conn,
    language: &str,
    rows: &[RedundancyRow],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM redundancy_members WHERE language = $1")
        .bind(language)
        .execute(&mut *conn)
        .await?;
    for r in rows {
        sqlx::query(
            "INSERT INTO redundancy_members (language, cluster, repo, readme_similarity,
                 api_similarity, shared_names, healthiest, penalty, recommendation, computed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&r.language)
        .bind(r.cluster)
        .bind(&r.repo)
        .bind(r.readme_similarity)
        .bind(r.api_similarity)
        .bind(&r.shared_names)
        .bind(i64::from(r.healthiest))
        .bind(r.penalty)
        .bind(&r.recommendation)
        .bind(r.computed_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Where a package's stored outgoing edges came from (`registry`, `manifest`), if it has any.
pub async fn edge_source(
    pool: &Pool,
    language: &str,
    dependent: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT source FROM package_edges WHERE language = $1 AND dependent = $2 LIMIT 1",
    )
    .bind(language)
    .bind(dependent)
    .fetch_optional(pool)
    .await
}
