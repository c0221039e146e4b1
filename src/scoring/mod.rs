//! The scores of DESIGN §5, as pure functions over typed inputs with every weight and threshold
//! from the configuration: health (OpenSSF criticality_score's method), impact, solvability,
//! urgency, the redundancy penalty, and `Priority = wH·H + wI·I + wS·S + wU·U − wR·R`.

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
    /// Archived repositories have health 0.
    #[serde(default)]
    pub archived: bool,
}

/// Health in [0, 1]: the criticality_score method over the present signals (0 when archived
/// or when nothing is known).
pub fn health(inputs: &HealthInputs, signals: &HealthSignals) -> f64 {
    if inputs.archived {
        return 0.0;
    }
    weighted_mean([
        (inputs.created_since, signals.created_since),
        (inputs.updated_since, signals.updated_since),
        (inputs.contributor_count, signals.contributor_count),
        (inputs.org_count, signals.org_count),
        (inputs.commit_frequency, signals.commit_frequency),
        (inputs.recent_release_count, signals.recent_release_count),
        (inputs.updated_issues_count, signals.updated_issues_count),
        (inputs.closed_issues_count, signals.closed_issues_count),
        (
            inputs.issue_comment_frequency,
            signals.issue_comment_frequency,
        ),
        (inputs.github_mention_count, signals.github_mention_count),
        (inputs.dependent_count, signals.dependent_count),
    ])
    .unwrap_or(0.0)
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

/// Solvability in [0, 1]: simpler issues (complexity 1–10) in repositories with tests are
/// likelier to get a correct automated fix.
pub fn solvability(complexity: u8, has_tests: Option<bool>, config: &ScoringConfig) -> f64 {
    let mix = &config.solvability;
    let simplicity = (10.0 - f64::from(complexity.clamp(1, 10))) / 9.0;
    match has_tests {
        Some(tests) => {
            let total = mix.complexity + mix.tests;
            if total <= 0.0 {
                return 0.0;
            }
            (mix.complexity * simplicity + mix.tests * if tests { 1.0 } else { 0.0 }) / total
        }
        None => simplicity,
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

/// Impact in [0, 1]: the weighted mean of the present inputs, counts squashed by their
/// thresholds, percentiles as they are.
pub fn impact(inputs: &ImpactInputs, config: &ScoringConfig) -> f64 {
    let weights = &config.impact;
    let counted = |value: Option<f64>, weight: f64, threshold: f64| {
        (value.map(|v| norm(v, threshold)), weight)
    };
    let terms = [
        counted(inputs.stars, weights.stars, weights.stars_threshold),
        counted(
            inputs.dependents,
            weights.dependents,
            weights.dependents_threshold,
        ),
        counted(
            inputs.downstream_reach,
            weights.downstream_reach,
            weights.reach_threshold,
        ),
        (
            inputs.pagerank_percentile.map(|p| p.clamp(0.0, 1.0)),
            weights.pagerank,
        ),
        (
            inputs.betweenness_percentile.map(|p| p.clamp(0.0, 1.0)),
            weights.betweenness,
        ),
    ];
    let (mut sum, mut total) = (0.0, 0.0);
    for (value, weight) in terms {
        if let Some(value) = value {
            sum += weight * value;
            total += weight;
        }
    }
    if total > 0.0 { sum / total } else { 0.0 }
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
    fn simpler_issues_are_more_solvable() {
        let config = ScoringConfig::default();
        assert!(solvability(2, Some(true), &config) > solvability(8, Some(true), &config));
        assert!(solvability(2, Some(true), &config) > solvability(2, Some(false), &config));
        assert_eq!(solvability(1, None, &config), 1.0);
        assert_eq!(solvability(10, None, &config), 0.0);
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
