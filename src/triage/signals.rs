//! A repository's health, impact and redundancy for the priority score: what the nightly
//! discovery stored, or, when nothing is stored yet, cheap live signals from the repository's
//! own description (age, last push, stars, archived) and, when they were measured
//! ([`LiveFacts`]: its tree, its default branch's CI, its issue resolution rate), kept for a
//! day. Also the per-issue [`Scope`] the localizer measured, for solvability.

use crate::config::ScoringConfig;
use crate::db::triage::{self as db, RepoSignals};
use crate::event::model::Repository;
use crate::scoring::{self, HealthInputs, ImpactInputs};
use crate::time::Millis;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

/// Live signals are fetched again after this long.
pub const LIVE_TTL_MS: Millis = 24 * 60 * 60 * 1000;
const DAY_MS: f64 = 86_400_000.0;
const MONTH_DAYS: f64 = 30.44;

/// A repository's score terms and what they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoScores {
    /// Its main language.
    pub language: Option<String>,
    /// H.
    pub health: f64,
    /// I.
    pub impact: f64,
    /// R.
    pub redundancy: f64,
    /// Whether it has tests, when known.
    pub has_tests: Option<bool>,
    /// `discovery` or `live`.
    pub source: String,
    /// What health was computed from, for `explain`.
    pub health_inputs: HealthInputs,
    /// What impact was computed from, for reports.
    pub impact_inputs: ImpactInputs,
}

/// What a live look at a repository measured beyond its description.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveFacts {
    /// Whether its tree holds tests.
    pub has_tests: Option<bool>,
    /// Its default branch's CI state (`SUCCESS`, `FAILURE`, `PENDING`).
    pub ci_state: Option<String>,
    /// Issues closed / updated in the last 90 days.
    pub issue_resolution_rate: Option<f64>,
}

/// What the localizer expects a fix of one issue to touch, for solvability.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    /// Bytes of code in the likely files.
    pub code_bytes: Option<f64>,
    /// How many files the fix likely touches.
    pub expected_files: Option<f64>,
    /// Whether those files declare public symbols.
    pub public_api: Option<bool>,
}

impl RepoScores {
    /// The terms of stored inputs under the current weights.
    pub fn from_stored(stored: &RepoSignals, config: &ScoringConfig) -> anyhow::Result<Self> {
        let health: HealthInputs =
            serde_json::from_str(&stored.health).context("stored health inputs")?;
        let impact: ImpactInputs =
            serde_json::from_str(&stored.impact).context("stored impact inputs")?;
        Ok(Self {
            language: stored.language.clone(),
            health: scoring::health(&health, &config.health),
            impact: scoring::impact(&impact, config),
            redundancy: stored.redundancy.clamp(0.0, 1.0),
            has_tests: stored.has_tests,
            source: stored.source.clone(),
            health_inputs: health,
            impact_inputs: impact,
        })
    }
}

/// The ecosystem a GitHub language belongs to, as `--language` names it: TypeScript counts as
/// `javascript` (both publish to npm); others are the language in lower case.
pub fn ecosystem(github_language: &str) -> String {
    match github_language.to_lowercase().as_str() {
        "typescript" => "javascript".to_owned(),
        other => other.to_owned(),
    }
}

/// The live signals a repository's description gives.
pub fn live_inputs(repo: &Repository, now: Millis) -> (HealthInputs, ImpactInputs) {
    let months_since =
        |t: Option<Millis>| t.map(|t| ((now - t).max(0) as f64 / DAY_MS) / MONTH_DAYS);
    let health = HealthInputs {
        created_since: months_since(repo.created_at),
        updated_since: months_since(repo.pushed_at),
        archived: repo.archived,
        ..HealthInputs::default()
    };
    let impact = ImpactInputs {
        stars: Some(repo.stars as f64),
        ..ImpactInputs::default()
    };
    (health, impact)
}

/// The repository's scores: stored discovery results, stored live signals younger than a day,
/// or live signals from `repo` (with `facts` when they were measured), stored for the next
/// time. Fresh `facts` are always used: they are newer than what is stored.
pub async fn repo_scores(
    pool: &SqlitePool,
    db_writer: &crate::db::Db,
    repo: &Repository,
    config: &ScoringConfig,
    now: Millis,
    facts: Option<&LiveFacts>,
) -> anyhow::Result<RepoScores> {
    let name = repo.name.to_string();
    let stored = db::get_signals(pool, &name).await?;
    if let Some(stored) = &stored
        && stored.source == "discovery"
    {
        let mut scores = RepoScores::from_stored(stored, config)?;
        // Discovery measures CI and resolution; the tree is only seen live.
        if scores.has_tests.is_none() {
            scores.has_tests = facts.and_then(|f| f.has_tests);
        }
        return Ok(scores);
    }
    if let Some(stored) = &stored
        && facts.is_none()
        && now - stored.fetched_at < LIVE_TTL_MS
    {
        return RepoScores::from_stored(stored, config);
    }
    let (mut health, impact) = live_inputs(repo, now);
    // Without a new measurement, what was measured before still says more than nothing.
    let earlier: Option<HealthInputs> = stored
        .as_ref()
        .and_then(|s| serde_json::from_str(&s.health).ok());
    health.ci_state = match facts {
        Some(f) => f.ci_state.clone(),
        None => earlier.as_ref().and_then(|h| h.ci_state.clone()),
    };
    health.issue_resolution_rate = match facts {
        Some(f) => f.issue_resolution_rate,
        None => earlier.as_ref().and_then(|h| h.issue_resolution_rate),
    };
    let has_tests = match facts {
        Some(f) => f.has_tests,
        None => stored.as_ref().and_then(|s| s.has_tests),
    };
    let stored = RepoSignals {
        repo: name,
        language: repo.language.as_deref().map(ecosystem),
        health: serde_json::to_string(&health)?,
        impact: serde_json::to_string(&impact)?,
        redundancy: 0.0,
        has_tests,
        source: "live".to_owned(),
        fetched_at: now,
    };
    let mut tx = db_writer.write().await?;
    db::put_signals(tx.conn(), &stored).await?;
    tx.commit().await?;
    RepoScores::from_stored(&stored, config)
}
