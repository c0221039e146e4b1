//! Every text triage writes on GitHub, built in one place: the triage comment (found again by
//! its hidden marker and edited in place), the `explain` reply, and the labels' names, colours
//! and descriptions.

use super::categorize::{Categorized, Source};
use super::category::Category;
use crate::config::ScoringConfig;
use crate::github::model::Label;
use crate::github::repo_config::RepoLabels;
use crate::scoring::{self, HealthInputs, Level, Part, Priority, SolvabilityInputs};
use std::fmt::Write as _;

/// The hidden marker that identifies GlobalLM's triage comment on an issue.
pub const TRIAGE_MARKER: &str = "<!-- globallm:triage -->";

/// What a triage comment or an explanation shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown<'a> {
    /// The categorization.
    pub categorized: &'a Categorized,
    /// The priority and its terms.
    pub priority: Priority,
    /// Days the issue has been open (for urgency).
    pub age_days: f64,
    /// Comments and reactions (for urgency).
    pub engagement: u64,
    /// Where health and impact came from (`live` or `discovery`).
    pub repo_source: &'a str,
    /// What health was computed from.
    pub health: &'a HealthInputs,
    /// What solvability was computed from.
    pub solvability: &'a SolvabilityInputs,
}

/// A score's terms as a table (each measured one with its value and weight), then the names
/// of those not measured, which are left out of the mean.
pub fn parts_table(out: &mut String, parts: &[Part]) {
    out.push_str("| signal | measured | value | weight |\n|---|---|---:|---:|\n");
    for part in parts.iter().filter(|p| p.value.is_some()) {
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} | {} |",
            part.name,
            part.measured.as_deref().unwrap_or(""),
            part.value.unwrap_or_default(),
            part.weight
        );
    }
    let missing: Vec<&str> = parts
        .iter()
        .filter(|p| p.value.is_none())
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(
            out,
            "\nNot measured (left out of the mean): {}.",
            missing.join(", ")
        );
    }
}

fn terms_table(out: &mut String, breakdown: &Breakdown<'_>, config: &ScoringConfig) {
    let t = breakdown.priority.terms;
    let w = &config.weights;
    out.push_str("| term | value | weight | contribution |\n|---|---:|---:|---:|\n");
    for (name, value, weight, sign) in [
        ("Health (H)", t.health, w.health, "+"),
        ("Impact (I)", t.impact, w.impact, "+"),
        ("Solvability (S)", t.solvability, w.solvability, "+"),
        ("Urgency (U)", t.urgency, w.urgency, "+"),
        ("Redundancy (R)", t.redundancy, w.redundancy, "−"),
    ] {
        let _ = writeln!(
            out,
            "| {name} | {value:.2} | {weight:.2} | {sign}{:.3} |",
            value * weight
        );
    }
    let _ = writeln!(
        out,
        "| **Priority** | | | **{:.3}** |",
        breakdown.priority.score
    );
}

fn source_line(categorized: &Categorized) -> String {
    let who = match categorized.source {
        Source::Llm => "the LLM",
        Source::Offline => "the offline classifier",
    };
    let area = categorized
        .area
        .as_ref()
        .map(|a| format!(" Area: `{a}`."))
        .unwrap_or_default();
    format!(
        "Categorized by {who} (confidence {:.2}). Complexity {}: {}.{area}",
        categorized.confidence, categorized.complexity, categorized.complexity_reason
    )
}

/// The triage comment: category, priority, complexity, and every term of the score.
pub fn triage_comment(breakdown: &Breakdown<'_>, config: &ScoringConfig) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{TRIAGE_MARKER}\n### GlobalLM triage\n");
    let _ = writeln!(
        out,
        "**Category:** {} · **Priority:** {} ({:.2}) · **Complexity:** {}/10\n",
        breakdown.categorized.category,
        breakdown.priority.level.as_str(),
        breakdown.priority.score,
        breakdown.categorized.complexity
    );
    terms_table(&mut out, breakdown, config);
    let _ = writeln!(out, "\n{}\n", source_line(breakdown.categorized));
    out.push_str(
        "<sub>Comment `/globallm explain` for how each term was computed, `/globallm help` for the \
         commands. This comment is updated when the issue changes.</sub>\n",
    );
    out
}

/// The `explain` reply: the breakdown, and what each term was computed from.
pub fn explanation(breakdown: &Breakdown<'_>, config: &ScoringConfig) -> String {
    let mut out = String::new();
    let p = breakdown.priority;
    let _ = writeln!(
        out,
        "**Priority {:.3} ({})** = wH·H + wI·I + wS·S + wU·U − wR·R\n",
        p.score,
        p.level.as_str()
    );
    terms_table(&mut out, breakdown, config);
    let c = breakdown.categorized;
    let weight = crate::scoring::category_weight(c.category, config);
    let _ = writeln!(
        out,
        "\n- **Urgency** mixes the category ({} × {weight}) with the age ({:.0} days, saturating at {}) \
         and the engagement ({} comments and reactions, saturating at {}).",
        c.category,
        breakdown.age_days,
        config.urgency.age_threshold_days,
        breakdown.engagement,
        config.urgency.engagement_threshold
    );
    let _ = writeln!(
        out,
        "- **Solvability** comes from the complexity, {}/10: {}; with every term below.",
        c.complexity, c.complexity_reason
    );
    let _ = writeln!(
        out,
        "- **Health** and **impact** come from {} signals of the repository{}.",
        breakdown.repo_source,
        if breakdown.repo_source == "live" {
            " (its age, last push and stars, and its tree, CI and issues when a report measured them) until the nightly discovery measures it"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "- {}", source_line(c));
    let _ = writeln!(out, "\n**Solvability {:.2}**\n", p.terms.solvability);
    parts_table(
        &mut out,
        &scoring::solvability_parts(breakdown.solvability, config),
    );
    if breakdown.health.archived {
        let _ = writeln!(out, "\n**Health 0**: the repository is archived.");
    } else {
        let _ = writeln!(out, "\n**Health {:.2}**\n", p.terms.health);
        parts_table(
            &mut out,
            &scoring::health_parts(breakdown.health, &config.health),
        );
    }
    let levels = &config.levels;
    let _ = writeln!(
        out,
        "\nLevels: critical ≥ {}, high ≥ {}, medium ≥ {}, else low.",
        levels.critical, levels.high, levels.medium
    );
    out
}

/// The category label, with its colour and description.
pub fn category_label(category: Category, labels: &RepoLabels) -> Label {
    let (color, what) = match category {
        Category::Security => ("b60205", "a security issue"),
        Category::Bug => ("d73a4a", "a bug"),
        Category::Feature => ("a2eeef", "a feature request"),
        Category::Docs => ("0075ca", "a documentation issue"),
        Category::Question => ("d876e3", "a question"),
        Category::Other => ("ededed", "none of the other categories"),
    };
    Label {
        name: format!("{}{}", labels.type_prefix, category.as_str()),
        color: color.to_owned(),
        description: Some(format!("GlobalLM triage: {what}")),
    }
}

/// The priority label, with its colour and description.
pub fn priority_label(level: Level, labels: &RepoLabels) -> Label {
    let color = match level {
        Level::Critical => "b60205",
        Level::High => "d93f0b",
        Level::Medium => "fbca04",
        Level::Low => "0e8a16",
    };
    Label {
        name: format!("{}{}", labels.priority_prefix, level.as_str()),
        color: color.to_owned(),
        description: Some(format!("GlobalLM triage: {} priority", level.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{Terms, priority};

    fn inputs() -> (HealthInputs, SolvabilityInputs) {
        (
            HealthInputs {
                created_since: Some(40.0),
                updated_since: Some(0.5),
                ci_state: Some("FAILURE".to_owned()),
                issue_resolution_rate: Some(0.5),
                ..HealthInputs::default()
            },
            SolvabilityInputs {
                complexity: 3,
                has_tests: Some(true),
                expected_files: Some(2.0),
                ..SolvabilityInputs::default()
            },
        )
    }

    fn sample() -> (Categorized, Priority) {
        let categorized = Categorized {
            category: Category::Bug,
            complexity: 3,
            complexity_reason: "a bug fix; pinned to one file and line".to_owned(),
            area: Some("widgets".to_owned()),
            confidence: 0.81,
            source: Source::Offline,
        };
        let terms = Terms {
            health: 0.71,
            impact: 0.42,
            solvability: 0.78,
            urgency: 0.55,
            redundancy: 0.0,
        };
        (categorized, priority(terms, &ScoringConfig::default()))
    }

    #[test]
    fn the_triage_comment_shows_every_term() {
        let (categorized, priority) = sample();
        let (health, solvability) = inputs();
        let breakdown = Breakdown {
            categorized: &categorized,
            priority,
            age_days: 3.0,
            engagement: 5,
            repo_source: "live",
            health: &health,
            solvability: &solvability,
        };
        insta::assert_snapshot!(triage_comment(&breakdown, &ScoringConfig::default()), @r"
        <!-- globallm:triage -->
        ### GlobalLM triage

        **Category:** bug · **Priority:** high (0.58) · **Complexity:** 3/10

        | term | value | weight | contribution |
        |---|---:|---:|---:|
        | Health (H) | 0.71 | 0.15 | +0.106 |
        | Impact (I) | 0.42 | 0.30 | +0.126 |
        | Solvability (S) | 0.78 | 0.20 | +0.156 |
        | Urgency (U) | 0.55 | 0.35 | +0.193 |
        | Redundancy (R) | 0.00 | 0.10 | −0.000 |
        | **Priority** | | | **0.581** |

        Categorized by the offline classifier (confidence 0.81). Complexity 3: a bug fix; pinned to one file and line. Area: `widgets`.

        <sub>Comment `/globallm explain` for how each term was computed, `/globallm help` for the commands. This comment is updated when the issue changes.</sub>
        ");
    }

    #[test]
    fn the_explanation_says_what_each_term_comes_from() {
        let (categorized, priority) = sample();
        let (health, solvability) = inputs();
        let breakdown = Breakdown {
            categorized: &categorized,
            priority,
            age_days: 3.0,
            engagement: 5,
            repo_source: "live",
            health: &health,
            solvability: &solvability,
        };
        insta::assert_snapshot!(explanation(&breakdown, &ScoringConfig::default()), @r"
        **Priority 0.581 (high)** = wH·H + wI·I + wS·S + wU·U − wR·R

        | term | value | weight | contribution |
        |---|---:|---:|---:|
        | Health (H) | 0.71 | 0.15 | +0.106 |
        | Impact (I) | 0.42 | 0.30 | +0.126 |
        | Solvability (S) | 0.78 | 0.20 | +0.156 |
        | Urgency (U) | 0.55 | 0.35 | +0.193 |
        | Redundancy (R) | 0.00 | 0.10 | −0.000 |
        | **Priority** | | | **0.581** |

        - **Urgency** mixes the category (bug × 5) with the age (3 days, saturating at 365) and the engagement (5 comments and reactions, saturating at 50).
        - **Solvability** comes from the complexity, 3/10: a bug fix; pinned to one file and line; with every term below.
        - **Health** and **impact** come from live signals of the repository (its age, last push and stars, and its tree, CI and issues when a report measured them) until the nightly discovery measures it.
        - Categorized by the offline classifier (confidence 0.81). Complexity 3: a bug fix; pinned to one file and line. Area: `widgets`.

        **Solvability 0.78**

        | signal | measured | value | weight |
        |---|---|---:|---:|
        | complexity | 3/10 | 0.78 | 0.7 |
        | tests | yes | 1.00 | 0.3 |
        | expected_files | 2 files | 0.71 | 0.2 |

        Not measured (left out of the mean): code_size, breaking_risk, track_record.

        **Health 0.71**

        | signal | measured | value | weight |
        |---|---|---:|---:|
        | created_since | 40 months | 0.77 | 1 |
        | updated_since | 0.5 months | 0.92 | 1 |
        | default_branch_ci | FAILURE | 0.00 | 1 |
        | issue_resolution_rate | 0.5 closed per updated | 0.50 | 1 |

        Not measured (left out of the mean): contributor_count, org_count, commit_frequency, recent_release_count, updated_issues_count, closed_issues_count, issue_comment_frequency, github_mention_count, dependent_count.

        Levels: critical ≥ 0.75, high ≥ 0.55, medium ≥ 0.35, else low.
        ");
    }

    #[test]
    fn labels_carry_colours_and_descriptions() {
        let labels = RepoLabels::default();
        let bug = category_label(Category::Bug, &labels);
        assert_eq!(
            (bug.name.as_str(), bug.color.as_str()),
            ("globallm:type/bug", "d73a4a")
        );
        let high = priority_label(Level::High, &labels);
        assert_eq!(high.name, "globallm:priority/high");
        assert!(
            high.description
                .expect("described")
                .contains("high priority")
        );
    }
}
