//! A discovery run from start to summary: start (or resume) the run, search every language's
//! windows, measure health of the kept repositories with batched GraphQL, store snapshots,
//! end with the ranked candidates report (top repositories × top issues, `candidates`),
//! and finish with the counts of what was found, kept and filtered and what it cost. Every
//! stage checkpoints in SQLite, so a run stopped by Ctrl-C or a crash resumes where it was.

use super::registries::Registries;
use super::search::{self, Searcher, Window, WindowOutcome};
use super::{candidates, dependents, graph, health, redundancy};
use crate::config::{Config, Language};
use crate::db::Db;
use crate::db::discovery as store;
use crate::github::{Auth, GithubClient};
use crate::llm::embeddings::Embedder;
use crate::time::Millis;
use anyhow::Context as _;
use std::sync::Arc;
use std::time::Duration;

/// The least time between two anonymous search calls (10 a minute).
const ANONYMOUS_SEARCH_INTERVAL_MS: u64 = 6_000;

/// Why a run was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// `globallm discover`: resumes the last unfinished run with the same languages and
    /// threshold, else starts one.
    Manual,
    /// The nightly schedule: one run per night (YYYY-MM-DD, UTC).
    Scheduled {
        /// The night.
        night: String,
    },
}

/// What to discover.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The ecosystems.
    pub languages: Vec<Language>,
    /// Search repositories with more stars than this.
    pub min_stars: u64,
    /// Manual or scheduled.
    pub trigger: Trigger,
    /// Whether to ask the package registries (packages, dependents, the dependency graph).
    pub registries: bool,
}

/// Progress reported while a run goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A search window was done or split.
    Search {
        /// Windows done.
        done: u64,
        /// Windows still pending.
        pending: u64,
        /// Repositories stored so far.
        found: u64,
    },
    /// Health was measured for a batch.
    Health {
        /// Repositories measured.
        done: u64,
        /// Repositories to measure.
        total: u64,
    },
}

/// What a run found and spent.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The run.
    pub run_id: i64,
    /// Whether an interrupted run was resumed.
    pub resumed: bool,
    /// Repositories found.
    pub found: i64,
    /// Repositories kept.
    pub kept: i64,
    /// Repositories filtered out, per reason.
    pub filtered: Vec<(String, i64)>,
    /// Search windows searched (`done`) and split.
    pub windows_done: i64,
    /// Windows that were split.
    pub windows_split: i64,
    /// Windows where search held more than it serves even after every split.
    pub windows_truncated: i64,
    /// Search calls (1 point each of search's 30-a-minute limit).
    pub search_calls: i64,
    /// GraphQL queries.
    pub graphql_calls: i64,
    /// GraphQL rate-limit points, as GitHub reported their cost.
    pub graphql_points: i64,
    /// Repositories whose health was measured.
    pub measured: i64,
    /// Registry requests.
    pub registry_calls: i64,
    /// Repositories found through the registries' packages by dependents (not by search),
    /// with the filter's verdict like the others.
    pub by_dependents: i64,
    /// Repositories a package names that GitHub does not know (renamed or deleted).
    pub dependents_missing: i64,
    /// Dependents listings that stopped early: the ecosystem and why.
    pub listing_errors: Vec<(String, String)>,
}

impl Summary {
    /// GraphQL points per measured repository.
    pub fn points_per_repo(&self) -> Option<f64> {
        (self.measured > 0).then(|| self.graphql_points as f64 / self.measured as f64)
    }
}

/// The outcome of asking for a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It ran to the end.
    Finished(Summary),
    /// The night already has a run.
    AlreadyRan {
        /// The night.
        night: String,
    },
}

/// Runs (or resumes) discovery.
pub async fn discover(
    db: &Db,
    config: &Config,
    github: Arc<GithubClient>,
    auth: Auth,
    options: &RunOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> anyhow::Result<Outcome> {
    let clock = github.clock().clone();
    let languages = serde_json::to_string(&options.languages)?;
    let min_stars = i64::try_from(options.min_stars).unwrap_or(i64::MAX);
    let (run, resumed) = match &options.trigger {
        Trigger::Manual => match store::unfinished_run(db.pool(), &languages, min_stars).await? {
            Some(run) => {
                let mut tx = db.write().await?;
                store::resume_run(tx.conn(), run.id).await?;
                tx.commit().await?;
                (run.id, true)
            }
            None => (
                start(db, None, "manual", &languages, min_stars, clock.now_ms())
                    .await?
                    .context("a manual run has no night to collide with")?,
                false,
            ),
        },
        Trigger::Scheduled { night } => {
            match start(
                db,
                Some(night),
                "schedule",
                &languages,
                min_stars,
                clock.now_ms(),
            )
            .await?
            {
                Some(id) => (id, false),
                None => {
                    // The night has a run: resume it when it was interrupted, else it is done.
                    let last = store::last_scheduled_run(db.pool()).await?;
                    match last {
                        Some(run)
                            if run.night.as_deref() == Some(night) && run.state != "finished" =>
                        {
                            let mut tx = db.write().await?;
                            store::resume_run(tx.conn(), run.id).await?;
                            tx.commit().await?;
                            (run.id, true)
                        }
                        _ => {
                            return Ok(Outcome::AlreadyRan {
                                night: night.clone(),
                            });
                        }
                    }
                }
            }
        }
    };
    let result = run_stages(db, config, github, auth, run, options, progress).await;
    let mut tx = db.write().await?;
    match &result {
        Ok(()) => store::finish_run(tx.conn(), run, "finished", None, clock.now_ms()).await?,
        Err(err) => {
            store::finish_run(
                tx.conn(),
                run,
                "failed",
                Some(&format!("{err:#}")),
                clock.now_ms(),
            )
            .await?
        }
    }
    tx.commit().await?;
    result?;
    let mut summary = summarize(db, run).await?;
    summary.resumed = resumed;
    Ok(Outcome::Finished(summary))
}

async fn start(
    db: &Db,
    night: Option<&str>,
    trigger: &str,
    languages: &str,
    min_stars: i64,
    now: Millis,
) -> anyhow::Result<Option<i64>> {
    let mut tx = db.write().await?;
    let id = store::start_run(tx.conn(), night, trigger, languages, min_stars, now).await?;
    if let Some(id) = id {
        // The root windows: the first checkpoints.
        let threshold = u64::try_from(min_stars).unwrap_or(0);
        let langs: Vec<Language> = serde_json::from_str(languages)?;
        for language in langs {
            for gh in search::github_languages(language) {
                store::add_window(tx.conn(), id, &Window::root(gh, threshold).to_row()).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(id)
}

async fn run_stages(
    db: &Db,
    config: &Config,
    github: Arc<GithubClient>,
    auth: Auth,
    run: i64,
    options: &RunOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> anyhow::Result<()> {
    let clock = github.clock().clone();
    // Anonymous search is allowed 10 calls a minute, not 30.
    let interval = match auth {
        Auth::None => config
            .discovery
            .search_interval_ms
            .max(ANONYMOUS_SEARCH_INTERVAL_MS),
        _ => config.discovery.search_interval_ms,
    };
    let mut searcher = Searcher::new(github.clone(), auth, Duration::from_millis(interval));
    let today = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(clock.now_ms())
        .map(|t| t.date_naive())
        .context("the clock shows an impossible time")?;
    loop {
        let pending = store::pending_windows(db.pool(), run).await?;
        let Some(row) = pending.first() else { break };
        let window = Window::from_row(row)?;
        let language = options
            .languages
            .iter()
            .copied()
            .find(|l| search::github_languages(*l).contains(&window.gh_language.as_str()))
            .with_context(|| format!("no ecosystem searches {}", window.gh_language))?;
        let outcome = search::search_window(
            db,
            run,
            language,
            &window,
            &mut searcher,
            &config.filter,
            today,
        )
        .await?;
        let windows = store::windows(db.pool(), run).await?;
        let found = store::filter_counts(db.pool(), run)
            .await?
            .iter()
            .map(|(_, n)| *n)
            .sum::<i64>();
        progress(Progress::Search {
            done: windows.iter().filter(|w| w.state == "done").count() as u64,
            pending: windows.iter().filter(|w| w.state == "pending").count() as u64,
            found: u64::try_from(found).unwrap_or(0),
        });
        if let WindowOutcome::Done { fetched, total } = outcome
            && total > fetched
        {
            tracing::warn!(query = %window.query(), total, fetched, "search served only part of a window");
        }
    }
    if options.registries {
        let registries = Registries::new(
            &config.discovery.registries,
            config.secrets.libraries_io_api_key.clone(),
        )?;
        let found = dependents::find_by_dependents(
            db,
            config,
            &registries,
            &github,
            auth,
            run,
            &options.languages,
        )
        .await?;
        tracing::info!(?found, "repositories found by their dependents");
        let started = store::get_run(db.pool(), run)
            .await?
            .map_or(0, |r| r.started_at);
        let clock = clock.clone();
        graph::collect_packages(db, &registries, run, started, || clock.now_ms()).await?;
    }
    health::measure_run(db, config, &github, auth, run, progress).await?;
    graph::apply_impact(db, config, run).await?;
    let embedder = embedder(db, config, &clock);
    for language in &options.languages {
        redundancy::detect(db, language.as_str(), clock.now_ms(), embedder.as_ref()).await?;
    }
    let report = candidates::build_and_store(db, config, &github, auth, run).await?;
    tracing::info!(
        run,
        repos = report.repos.len(),
        "the ranked candidates report is stored"
    );
    Ok(())
}

/// The README embedder `llm.embedding_model` configures, if any; a provider that cannot be
/// built (no API key) leaves redundancy to TF-IDF, said in the log.
pub fn embedder(
    db: &Db,
    config: &Config,
    clock: &Arc<dyn crate::clock::Clock>,
) -> Option<Embedder> {
    Embedder::from_config(db.clone(), Arc::new(config.clone()), clock.clone()).unwrap_or_else(
        |err| {
            tracing::warn!("README embeddings are off, READMEs are compared by TF-IDF: {err}");
            None
        },
    )
}

/// The summary of a run as stored.
pub async fn summarize(db: &Db, run: i64) -> anyhow::Result<Summary> {
    let row = store::get_run(db.pool(), run)
        .await?
        .with_context(|| format!("discovery run {run} is not stored"))?;
    let counts = store::filter_counts(db.pool(), run).await?;
    let found: i64 = counts.iter().map(|(_, n)| n).sum();
    let kept = counts
        .iter()
        .filter(|(reason, _)| reason.is_none())
        .map(|(_, n)| n)
        .sum();
    let filtered = counts
        .into_iter()
        .filter_map(|(reason, n)| reason.map(|r| (r, n)))
        .collect();
    let windows = store::windows(db.pool(), run).await?;
    let measured = store::run_snapshots(db.pool(), run).await?.len() as i64;
    let candidates = store::candidates(db.pool(), run).await?;
    let count = |state: &str| candidates.iter().filter(|c| c.state == state).count() as i64;
    let listing_errors = store::dependents_lists(db.pool(), run)
        .await?
        .into_iter()
        .filter_map(|(language, _, _, error)| error.map(|e| (language, e)))
        .collect();
    Ok(Summary {
        run_id: run,
        resumed: false,
        found,
        kept,
        filtered,
        windows_done: windows.iter().filter(|w| w.state == "done").count() as i64,
        windows_split: windows.iter().filter(|w| w.state == "split").count() as i64,
        windows_truncated: windows
            .iter()
            .filter(|w| w.state == "done" && w.total.unwrap_or(0) > w.fetched)
            .count() as i64,
        search_calls: row.search_calls,
        graphql_calls: row.graphql_calls,
        graphql_points: row.graphql_points,
        measured,
        registry_calls: row.registry_calls,
        by_dependents: count("stored"),
        dependents_missing: count("missing"),
        listing_errors,
    })
}
