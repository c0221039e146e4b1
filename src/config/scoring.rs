//! `scoring.*`: the weights and thresholds of the scores of DESIGN §5 — priority weights,
//! category weights, levels, health signals (the `criticality` preset), urgency, solvability
//! and impact.

use serde::{Deserialize, Serialize};

/// `scoring.*`
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    /// `Priority = wH·H + wI·I + wS·S + wU·U − wR·R`.
    pub weights: PriorityWeights,
    /// Urgency weight of each issue category.
    pub category_weights: CategoryWeights,
    /// Priority levels by score.
    pub levels: PriorityLevels,
    /// The health score's signals: the `criticality` preset (OpenSSF criticality_score's
    /// `original_pike.yml`) by default.
    pub health: HealthSignals,
    /// How urgency mixes the category, the issue's age and its engagement.
    pub urgency: UrgencyMix,
    /// How solvability mixes complexity, tests, code size, scope and breaking risk.
    pub solvability: SolvabilityMix,
    /// How impact weighs stars, dependents, reach and graph centrality.
    pub impact: ImpactWeights,
}

/// `scoring.urgency.*`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UrgencyMix {
    /// Weight of the category's weight (relative to the heaviest category).
    pub category: f64,
    /// Weight of the issue's age.
    pub age: f64,
    /// Weight of its engagement (comments, reactions, linked duplicates).
    pub engagement: f64,
    /// Age at which the age term saturates, in days.
    pub age_threshold_days: f64,
    /// Engagement at which the engagement term saturates.
    pub engagement_threshold: f64,
}

impl Default for UrgencyMix {
    fn default() -> Self {
        Self {
            category: 0.6,
            age: 0.2,
            engagement: 0.2,
            age_threshold_days: 365.0,
            engagement_threshold: 50.0,
        }
    }
}

/// `scoring.solvability.*`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SolvabilityMix {
    /// Weight of simplicity (`(10 − complexity) / 9`).
    pub complexity: f64,
    /// Weight of the repository having tests (from its tree).
    pub tests: f64,
    /// Weight of the size of the files the fix would likely touch (smaller is better).
    pub code_size: f64,
    /// The size, in bytes, at which the code-size term reaches 0.
    pub code_size_threshold_bytes: f64,
    /// Weight of the number of files the localizer expects the fix to touch (fewer is
    /// better).
    pub files: f64,
    /// Files above one at which the files term reaches 0.
    pub files_threshold: f64,
    /// Weight of the breaking risk: 0 when the likely files declare public symbols.
    pub breaking: f64,
    /// Weight of GlobalLM's record in the repository: the share of its fixes of issues of the
    /// same category and a complexity within one that merged and stayed merged.
    pub track_record: f64,
    /// Decided fixes (merged, closed or failed) of such issues before the record counts.
    pub min_outcomes: u32,
}

impl Default for SolvabilityMix {
    fn default() -> Self {
        Self {
            complexity: 0.7,
            tests: 0.3,
            code_size: 0.2,
            code_size_threshold_bytes: 200_000.0,
            files: 0.2,
            files_threshold: 10.0,
            breaking: 0.2,
            track_record: 0.5,
            min_outcomes: 5,
        }
    }
}

/// `scoring.impact.*`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImpactWeights {
    /// Weight of stars.
    pub stars: f64,
    /// Stars at which that term saturates.
    pub stars_threshold: f64,
    /// Weight of direct dependents.
    pub dependents: f64,
    /// Dependents at which that term saturates.
    pub dependents_threshold: f64,
    /// Weight of downstream reach (transitive dependents).
    pub downstream_reach: f64,
    /// Reach at which that term saturates.
    pub reach_threshold: f64,
    /// Weight of the PageRank percentile.
    pub pagerank: f64,
    /// Weight of the betweenness percentile.
    pub betweenness: f64,
}

impl Default for ImpactWeights {
    fn default() -> Self {
        Self {
            stars: 1.0,
            stars_threshold: 100_000.0,
            dependents: 2.0,
            dependents_threshold: 100_000.0,
            downstream_reach: 2.0,
            reach_threshold: 1_000_000.0,
            pagerank: 2.0,
            betweenness: 1.0,
        }
    }
}

/// `scoring.weights.*`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
#[expect(
    missing_docs,
    reason = "each field is the weight of the score it names"
)]
pub struct PriorityWeights {
    pub health: f64,
    pub impact: f64,
    pub solvability: f64,
    pub urgency: f64,
    pub redundancy: f64,
}

impl Default for PriorityWeights {
    fn default() -> Self {
        Self {
            health: 0.15,
            impact: 0.30,
            solvability: 0.20,
            urgency: 0.35,
            redundancy: 0.10,
        }
    }
}

/// `scoring.category_weights.*` (DESIGN §5: security ×10, bug ×5, feature ×2, docs ×1,
/// question ×0.5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
#[expect(
    missing_docs,
    reason = "each field is the weight of the category it names"
)]
pub struct CategoryWeights {
    pub security: f64,
    pub bug: f64,
    pub feature: f64,
    pub docs: f64,
    pub question: f64,
    pub other: f64,
}

impl Default for CategoryWeights {
    fn default() -> Self {
        Self {
            security: 10.0,
            bug: 5.0,
            feature: 2.0,
            docs: 1.0,
            question: 0.5,
            other: 0.5,
        }
    }
}

/// `scoring.levels.*`: the lowest priority score of each level; below `medium` is `low`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
#[expect(
    missing_docs,
    reason = "each field is the threshold of the level it names"
)]
pub struct PriorityLevels {
    pub critical: f64,
    pub high: f64,
    pub medium: f64,
}

impl Default for PriorityLevels {
    fn default() -> Self {
        Self {
            critical: 0.75,
            high: 0.55,
            medium: 0.35,
        }
    }
}

/// One signal of the health score: `norm(v, T) = ln(1 + min(v, T)) / ln(1 + T)`, weighted.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    /// The signal's weight in the mean.
    pub weight: f64,
    /// The value at which the signal saturates.
    pub threshold: f64,
    /// Whether smaller values are better (the score uses `1 − norm`).
    #[serde(default)]
    pub smaller_is_better: bool,
}

const fn signal(weight: f64, threshold: f64) -> Signal {
    Signal {
        weight,
        threshold,
        smaller_is_better: false,
    }
}

/// `scoring.health.*`, one entry per signal, defaults from criticality_score's
/// `original_pike.yml`; beside them the weights of the default branch's CI state and of the
/// issue resolution rate, values already in [0, 1] (a repository where neither is measured
/// scores as criticality_score does).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
#[expect(
    missing_docs,
    reason = "the fields are criticality_score's signal names"
)]
pub struct HealthSignals {
    pub created_since: Signal,
    pub updated_since: Signal,
    pub contributor_count: Signal,
    pub org_count: Signal,
    pub commit_frequency: Signal,
    pub recent_release_count: Signal,
    pub updated_issues_count: Signal,
    pub closed_issues_count: Signal,
    pub issue_comment_frequency: Signal,
    pub github_mention_count: Signal,
    pub dependent_count: Signal,
    /// Weight of the default branch's CI state (green 1, pending ½, red 0).
    pub default_branch_ci: f64,
    /// Weight of the issue resolution rate (closed / updated, 90 days).
    pub issue_resolution_rate: f64,
}

impl Default for HealthSignals {
    fn default() -> Self {
        Self {
            created_since: signal(1.0, 120.0),
            updated_since: Signal {
                smaller_is_better: true,
                ..signal(1.0, 120.0)
            },
            contributor_count: signal(2.0, 5_000.0),
            org_count: signal(1.0, 10.0),
            commit_frequency: signal(1.0, 1_000.0),
            recent_release_count: signal(0.5, 26.0),
            updated_issues_count: signal(0.5, 5_000.0),
            closed_issues_count: signal(0.5, 5_000.0),
            issue_comment_frequency: signal(1.0, 15.0),
            github_mention_count: signal(2.0, 500_000.0),
            dependent_count: signal(4.0, 200_000.0),
            default_branch_ci: 1.0,
            issue_resolution_rate: 1.0,
        }
    }
}
