//! A repository's health, impact and redundancy for the priority score: what the nightly
//! discovery stored, or, when nothing is stored yet, cheap live signals from the repository's
//! own description (age, last push, stars, archived) and, when they were measured
//! ([`LiveFacts`]: its tree, its default branch's CI, its issue resolution rate), kept for a
//! day. Also the per-issue [`Scope`] the localizer measured, for solvability.

use crate::config::ScoringConfig;
use crate::db::Pool;
use crate::db::triage::{self as db, RepoSignals};
use crate::event::model::Repository;
use crate::github::read_api::Tree;
use crate::github::{Auth, GithubClient, GithubError};
use crate::scoring::{self, HealthInputs, ImpactInputs};
use crate::solution::paths;
use crate::time::Millis;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// Live signals are fetched again after this long.
pub const LIVE_TTL_MS: Millis = 24 * 60 * 60 * 1000;
const DAY_MS: f64 = 86_400_000.0;
/// The window of the issue resolution rate: 90 days, as discovery measures it.
const RESOLUTION_WINDOW_MS: Millis = 90 * 86_400_000;
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
    /// GlobalLM's record on similar issues of the repository (not the localizer's: what the
    /// outcome ledger says of fixes like this one).
    #[serde(default)]
    pub track_record: Option<crate::scoring::TrackRecord>,
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

/// Whether the repository's tree holds tests: `None` when the listing was cut short before
/// one was seen.
pub fn has_tests(tree: &Tree) -> Option<bool> {
    if tree.files.iter().any(|f| paths::is_test_path(&f.path)) {
        Some(true)
    } else if tree.truncated {
        None
    } else {
        Some(false)
    }
}

/// Measures a repository as `auth`: its tree (tests), its default branch's CI state and its
/// issue resolution rate over 90 days; also how many files the tree has. Only reads.
pub async fn measure(
    client: &GithubClient,
    auth: Auth,
    repository: &Repository,
    now: Millis,
) -> Result<(LiveFacts, Option<usize>), GithubError> {
    let (name, branch) = (&repository.name, &repository.default_branch);
    // An empty repository has no tree: nothing to say about its tests.
    let tree = match client.tree(auth, name, branch).await {
        Ok(tree) => Some(tree),
        Err(GithubError::NotFound(_)) => None,
        Err(err) => return Err(err),
    };
    let ci_state = client.branch_ci_state(auth, name, branch).await?;
    let issue_resolution_rate = client
        .resolution_rate(auth, name, now - RESOLUTION_WINDOW_MS)
        .await?;
    Ok((
        LiveFacts {
            has_tests: tree.as_ref().and_then(has_tests),
            ci_state,
            issue_resolution_rate,
        },
        tree.map(|t| t.files.len()),
    ))
}

/// Whether triage should measure the repository again: nothing stored, stored live signals
/// older than [`LIVE_TTL_MS`], or discovery's without the tests the tree tells.
pub async fn needs_measuring(pool: &Pool, repo: &str, now: Millis) -> anyhow::Result<bool> {
    Ok(match db::get_signals(pool, repo).await? {
        None => true,
        Some(stored) if stored.source == "discovery" => stored.has_tests.is_none(),
        Some(stored) => now - stored.fetched_at >= LIVE_TTL_MS,
    })
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
    pool: &Pool,
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
        // Discovery measures CI and resolution; the tree is only seen live, and kept.
        if let Some(tests) = facts.and_then(|f| f.has_tests)
            && scores.has_tests != Some(tests)
        {
            scores.has_tests = Some(tests);
            let mut tx = db_writer.write().await?;
            db::put_signals(
                tx.conn(),
                &RepoSignals {
                    has_tests: Some(tests),
                    ..stored.clone()
                },
            )
            .await?;
            tx.commit().await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_in_the_tree_are_found_and_a_cut_listing_is_unknown() {
        let file = |path: &str| crate::github::read_api::TreeFile {
            path: path.to_owned(),
            size: 10,
        };
        let with = Tree {
            files: vec![file("src/lib.rs"), file("tests/it.rs")],
            truncated: false,
        };
        assert_eq!(has_tests(&with), Some(true));
        let without = Tree {
            files: vec![file("src/lib.rs")],
            truncated: false,
        };
        assert_eq!(has_tests(&without), Some(false));
        let cut = Tree {
            truncated: true,
            ..without
        };
        assert_eq!(has_tests(&cut), None);
    }
}
