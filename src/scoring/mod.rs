//! The scores of DESIGN §5, as pure functions over typed inputs with every weight and threshold
//! from the configuration: health (OpenSSF criticality_score's method), impact, solvability,
//! urgency, the redundancy penalty, and `Priority = wH·H + wI·I + wS·S + wU·U − wR·R`.
//! Health and solvability are also given as their [`Part`]s, so `explain` and reports show
//! every signal with its value and weight.

mod solvability;

pub use solvability::{SolvabilityInputs, TrackRecord, solvability, solvability_parts};

use crate::config::{HealthSignals, ScoringConfig, Signal};
use crate::triage::category::Category;
use serde::{Deserialize, Serialize};

/// `ln(1 + min(v, T)) / ln(1 + T)`: a raw signal squashed into [0, 1], saturating at `T`.
pub fn norm(value: f64, threshold: f64) -> f64 {
    if threshold <= 0.0 || !value.is_finite() {
        return 0.0;
    }
    (1.0 + value.clamp(0.0, threshold)).ln() / (1.0 + threshold).ln()
}

/// The weighted mean of the signals that are present; a missing signal leaves both sums.
/// `None` when no signal is present.
pub fn weighted_mean(terms: impl IntoIterator<Item = (Option<f64>, Signal)>) -> Option<f64> {
    let (mut sum, mut weights) = (0.0, 0.0);
    for (value, signal) in terms {
        let Some(value) = value else { continue };
        let normalized = norm(value, signal.threshold);
        sum += signal.weight
            * if signal.smaller_is_better {
                1.0 - normalized
            } else {
                normalized
            };
        weights += signal.weight;
    }
    (weights > 0.0).then(|| sum / weights)
}

/// The raw health signals of a repository, named as criticality_score names them. Any may be
/// missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HealthInputs {
    /// Months since the repository was created.
    pub created_since: Option<f64>,
    /// Months since the last commit (smaller is better).
    pub updated_since: Option<f64>,
    /// Contributors.
    pub contributor_count: Option<f64>,
    /// Organizations the contributors belong to.
    pub org_count: Option<f64>,
    /// Commits per week over the last year.
    pub commit_frequency: Option<f64>,
    /// Releases in the last year.
    pub recent_release_count: Option<f64>,
    /// Issues updated in the last 90 days.
    pub updated_issues_count: Option<f64>,
    /// Issues closed in the last 90 days.
    pub closed_issues_count: Option<f64>,
    /// Comments per issue in the last 90 days.
    pub issue_comment_frequency: Option<f64>,
    /// Mentions of the repository in commit messages across GitHub.
    pub github_mention_count: Option<f64>,
    /// Packages depending on it (deps.dev).
    pub dependent_count: Option<f64>,
    /// The default branch's CI state (`SUCCESS`, `FAILURE`, `PENDING`, …), GraphQL's
    /// `statusCheckRollup` spelling.
    #[serde(default)]
    pub ci_state: Option<String>,
    /// Issues closed / issues updated in the last 90 days, in [0, 1].
    #[serde(default)]
    pub issue_resolution_rate: Option<f64>,
    /// Archived repositories have health 0.
    #[serde(default)]
    pub archived: bool,
}

/// One term of a score as `explain` shows it: its name, what was measured, its value in
/// [0, 1] (`None`: not measured, left out of both sums) and its weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// The signal's name (`contributor_count`, `tests`, …).
    pub name: String,
    /// What was measured, for people (`120 people`, `yes`), when it was.
    pub measured: Option<String>,
    /// Its value in [0, 1] (higher is better), when measured.
    pub value: Option<f64>,
    /// Its weight in the mean.
    pub weight: f64,
}

impl Part {
    fn new(name: &str, measured: Option<String>, value: Option<f64>, weight: f64) -> Self {
        Self {
            name: name.to_owned(),
            measured,
            value,
            weight,
        }
    }
}

/// The weighted mean of the measured parts; `None` when none is measured (or all weigh 0).
pub fn mean_of_parts(parts: &[Part]) -> Option<f64> {
    let (mut sum, mut weights) = (0.0, 0.0);
    for part in parts {
        if let Some(value) = part.value {
            sum += part.weight * value;
            weights += part.weight;
        }
    }
    (weights > 0.0).then(|| sum / weights)
}

fn signal_part(name: &str, value: Option<f64>, unit: &str, signal: Signal) -> Part {
    let normalized = value.map(|v| {
        let n = norm(v, signal.threshold);
        if signal.smaller_is_better { 1.0 - n } else { n }
    });
    Part::new(
        name,
        value.map(|v| format!("{} {unit}", round2(v))),
        normalized,
        signal.weight,
    )
}

/// A number with at most two decimals, without trailing zeros.
fn round2(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The value of a CI state: green 1, pending ½, red 0; unknown states are not measured.
pub fn ci_value(state: &str) -> Option<f64> {
    match state.to_ascii_uppercase().as_str() {
        "SUCCESS" => Some(1.0),
        "PENDING" | "EXPECTED" => Some(0.5),
        "FAILURE" | "ERROR" => Some(0.0),
        _ => None,
    }
}

/// Every term of health: the criticality_score signals (normalized by their thresholds),
/// the default branch's CI state and the issue resolution rate (already in [0, 1]).
pub fn health_parts(inputs: &HealthInputs, signals: &HealthSignals) -> Vec<Part> {
    let s = signals;
    vec![
        signal_part(
            "created_since",
            inputs.created_since,
            "months",
            s.created_since,
        ),
        signal_part(
            "updated_since",
            inputs.updated_since,
            "months",
            s.updated_since,
        ),
        signal_part(
            "contributor_count",
            inputs.contributor_count,
            "people",
            s.contributor_count,
        ),
        signal_part("org_count", inputs.org_count, "organizations", s.org_count),
        signal_part(
            "commit_frequency",
            inputs.commit_frequency,
            "per week",
            s.commit_frequency,
        ),
        signal_part(
            "recent_release_count",
            inputs.recent_release_count,
            "per year",
            s.recent_release_count,
        ),
        signal_part(
            "updated_issues_count",
            inputs.updated_issues_count,
            "in 90 days",
            s.updated_issues_count,
        ),
        signal_part(
            "closed_issues_count",
            inputs.closed_issues_count,
            "in 90 days",
            s.closed_issues_count,
        ),
        signal_part(
            "issue_comment_frequency",
            inputs.issue_comment_frequency,
            "per issue",
            s.issue_comment_frequency,
        ),
        signal_part(
            "github_mention_count",
            inputs.github_mention_count,
            "mentions",
            s.github_mention_count,
        ),
        signal_part(
            "dependent_count",
            inputs.dependent_count,
            "packages",
            s.dependent_count,
        ),
        Part::new(
            "default_branch_ci",
            inputs.ci_state.clone(),
            inputs.ci_state.as_deref().and_then(ci_value),
            s.default_branch_ci,
        ),
        Part::new(
            "issue_resolution_rate",
            inputs
                .issue_resolution_rate
                .map(|r| format!("{} closed per updated", round2(r))),
            inputs.issue_resolution_rate.map(|r| r.clamp(0.0, 1.0)),
            s.issue_resolution_rate,
        ),
    ]
}

/// Health in [0, 1]: the criticality_score method over the present signals, with the default
/// branch's CI and the issue resolution rate beside them (0 when archived or when nothing is
/// known).
pub fn health(inputs: &HealthInputs, signals: &HealthSignals) -> f64 {
    if inputs.archived {
        return 0.0;
    }
    mean_of_parts(&health_parts(inputs, signals)).unwrap_or(0.0)
}

/// What the urgency of an issue is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UrgencyInputs {
    /// The category.
    pub category: Category,
    /// Days since the issue was opened.
    pub age_days: f64,
    /// Comments, reactions and linked duplicates.
    pub engagement: f64,
}

/// Urgency in [0, 1]: the category's weight relative to the heaviest category, then age and
/// engagement, each squashed by its threshold, mixed by their weights.
pub fn urgency(inputs: &UrgencyInputs, config: &ScoringConfig) -> f64 {
    let weights = &config.category_weights;
    let heaviest = [
        weights.security,
        weights.bug,
        weights.feature,
        weights.docs,
        weights.question,
        weights.other,
    ]
    .into_iter()
    .fold(0.0_f64, f64::max);
    let category = if heaviest > 0.0 {
        category_weight(inputs.category, config) / heaviest
    } else {
        0.0
    };
    let mix = &config.urgency;
    let total = mix.category + mix.age + mix.engagement;
    if total <= 0.0 {
        return 0.0;
    }
    (mix.category * category
        + mix.age * norm(inputs.age_days, mix.age_threshold_days)
        + mix.engagement * norm(inputs.engagement, mix.engagement_threshold))
        / total
}

/// The configured weight of a category (security ×10, bug ×5, … by default).
pub fn category_weight(category: Category, config: &ScoringConfig) -> f64 {
    let weights = &config.category_weights;
    match category {
        Category::Security => weights.security,
        Category::Bug => weights.bug,
        Category::Feature => weights.feature,
        Category::Docs => weights.docs,
        Category::Question => weights.question,
        Category::Other => weights.other,
    }
}

/// What a repository's impact is computed from; any may be missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ImpactInputs {
    /// Stars.
    pub stars: Option<f64>,
    /// Direct dependents in its registry.
    pub dependents: Option<f64>,
    /// Transitive dependents in the dependency graph.
    pub downstream_reach: Option<f64>,
    /// PageRank percentile in its ecosystem, in [0, 1].
    pub pagerank_percentile: Option<f64>,
    /// Betweenness percentile in its ecosystem, in [0, 1].
    pub betweenness_percentile: Option<f64>,
}

/// Every term of impact: counts squashed by their thresholds, percentiles as they are.
pub fn impact_parts(inputs: &ImpactInputs, config: &ScoringConfig) -> Vec<Part> {
    let w = &config.impact;
    let counted = |name: &str, value: Option<f64>, unit: &str, weight: f64, threshold: f64| {
        Part::new(
            name,
            value.map(|v| format!("{} {unit}", round2(v))),
            value.map(|v| norm(v, threshold)),
            weight,
        )
    };
    let percentile = |name: &str, value: Option<f64>, weight: f64| {
        let value = value.map(|p| p.clamp(0.0, 1.0));
        Part::new(
            name,
            value.map(|p| format!("{:.1}th percentile", p * 100.0)),
            value,
            weight,
        )
    };
    vec![
        counted("stars", inputs.stars, "stars", w.stars, w.stars_threshold),
        counted(
            "dependents",
            inputs.dependents,
            "packages",
            w.dependents,
            w.dependents_threshold,
        ),
        counted(
            "downstream_reach",
            inputs.downstream_reach,
            "packages",
            w.downstream_reach,
            w.reach_threshold,
        ),
        percentile("pagerank", inputs.pagerank_percentile, w.pagerank),
        percentile("betweenness", inputs.betweenness_percentile, w.betweenness),
    ]
}

/// Impact in [0, 1]: the weighted mean of the present inputs, counts squashed by their
/// thresholds, percentiles as they are.
pub fn impact(inputs: &ImpactInputs, config: &ScoringConfig) -> f64 {
    mean_of_parts(&impact_parts(inputs, config)).unwrap_or(0.0)
}

/// Every term of a priority, kept so `explain` can show them and a ranking can be recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Terms {
    /// H
    pub health: f64,
    /// I
    pub impact: f64,
    /// S
    pub solvability: f64,
    /// U
    pub urgency: f64,
    /// R
    pub redundancy: f64,
}

/// A priority with its terms and level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Priority {
    /// The terms.
    pub terms: Terms,
    /// `wH·H + wI·I + wS·S + wU·U − wR·R`, clamped to [0, 1].
    pub score: f64,
    /// Its level.
    pub level: Level,
}

/// Priority levels, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Below `scoring.levels.medium`.
    Low,
    /// From `scoring.levels.medium`.
    Medium,
    /// From `scoring.levels.high`.
    High,
    /// From `scoring.levels.critical`.
    Critical,
}

impl Level {
    /// The lowercase name used in labels and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

/// The priority of an issue from its terms.
pub fn priority(terms: Terms, config: &ScoringConfig) -> Priority {
    let w = &config.weights;
    let raw = w.health * terms.health
        + w.impact * terms.impact
        + w.solvability * terms.solvability
        + w.urgency * terms.urgency
        - w.redundancy * terms.redundancy;
    let score = raw.clamp(0.0, 1.0);
    let levels = &config.levels;
    let level = if score >= levels.critical {
        Level::Critical
    } else if score >= levels.high {
        Level::High
    } else if score >= levels.medium {
        Level::Medium
    } else {
        Level::Low
    };
    Priority {
        terms,
        score,
        level,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_squashes_and_saturates() {
        assert_eq!(norm(0.0, 10.0), 0.0);
        assert!((norm(10.0, 10.0) - 1.0).abs() < 1e-12);
        assert!(
            (norm(1_000.0, 10.0) - 1.0).abs() < 1e-12,
            "saturates at the threshold"
        );
        assert!((norm(1.0, 10.0) - 2f64.ln() / 11f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn a_missing_signal_leaves_both_sums() {
        let s = Signal {
            weight: 1.0,
            threshold: 10.0,
            smaller_is_better: false,
        };
        let with_missing = weighted_mean([(Some(10.0), s), (None, Signal { weight: 9.0, ..s })])
            .expect("one present");
        assert!((with_missing - 1.0).abs() < 1e-12);
        assert_eq!(weighted_mean([(None, s)]), None);
    }

    #[test]
    fn priority_levels_follow_the_thresholds() {
        let config = ScoringConfig::default();
        let all = |v: f64| Terms {
            health: v,
            impact: v,
            solvability: v,
            urgency: v,
            redundancy: 0.0,
        };
        assert_eq!(priority(all(1.0), &config).level, Level::Critical);
        assert_eq!(priority(all(0.6), &config).level, Level::High);
        assert_eq!(priority(all(0.4), &config).level, Level::Medium);
        assert_eq!(priority(all(0.1), &config).level, Level::Low);
        let penalized = Terms {
            redundancy: 1.0,
            ..all(0.0)
        };
        assert_eq!(priority(penalized, &config).score, 0.0, "clamped at 0");
    }

    #[test]
    fn security_is_the_most_urgent_category() {
        let config = ScoringConfig::default();
        let of = |category| {
            urgency(
                &UrgencyInputs {
                    category,
                    age_days: 10.0,
                    engagement: 3.0,
                },
                &config,
            )
        };
        assert!(of(Category::Security) > of(Category::Bug));
        assert!(of(Category::Bug) > of(Category::Feature));
        assert!(of(Category::Feature) > of(Category::Question));
    }

    #[test]
    fn a_red_default_branch_and_unresolved_issues_lower_health() {
        let signals = HealthSignals::default();
        let base = HealthInputs {
            contributor_count: Some(50.0),
            commit_frequency: Some(10.0),
            ..HealthInputs::default()
        };
        let green = HealthInputs {
            ci_state: Some("SUCCESS".to_owned()),
            issue_resolution_rate: Some(0.9),
            ..base.clone()
        };
        let red = HealthInputs {
            ci_state: Some("FAILURE".to_owned()),
            issue_resolution_rate: Some(0.1),
            ..base.clone()
        };
        assert!(health(&green, &signals) > health(&base, &signals));
        assert!(health(&red, &signals) < health(&base, &signals));
        let parts = health_parts(&red, &signals);
        let ci = parts
            .iter()
            .find(|p| p.name == "default_branch_ci")
            .expect("a CI part");
        assert_eq!(
            (ci.value, ci.weight),
            (Some(0.0), signals.default_branch_ci)
        );
        let unknown = HealthInputs {
            ci_state: Some("NEUTRAL".to_owned()),
            ..base.clone()
        };
        assert_eq!(
            health(&unknown, &signals),
            health(&base, &signals),
            "an unknown state is left out"
        );
    }

    #[test]
    fn health_is_the_mean_of_its_parts_as_criticality_score_computes_it() {
        let signals = HealthSignals::default();
        let inputs = HealthInputs {
            created_since: Some(36.0),
            updated_since: Some(1.0),
            contributor_count: Some(120.0),
            ..HealthInputs::default()
        };
        let expected = weighted_mean([
            (inputs.created_since, signals.created_since),
            (inputs.updated_since, signals.updated_since),
            (inputs.contributor_count, signals.contributor_count),
        ])
        .expect("three present");
        assert!((health(&inputs, &signals) - expected).abs() < 1e-12);
    }

    #[test]
    fn archived_repositories_have_no_health() {
        let inputs = HealthInputs {
            contributor_count: Some(50.0),
            archived: true,
            ..HealthInputs::default()
        };
        assert_eq!(health(&inputs, &HealthSignals::default()), 0.0);
    }
}
