//! The report of one repository, as a maintainer reads it (Markdown: a title, a short summary,
//! tables) or as a program does (JSON): health and impact with every signal, the ranked
//! issues with their score terms, and which issues look fixable and why.

use super::fetch::{Fixability, Scored};
use crate::config::Config;
use crate::scoring::{self, Part, Terms};
use serde::Serialize;
use std::fmt::Write as _;

/// A score and its parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreJson {
    /// The score, in [0, 1].
    pub score: f64,
    /// Its parts, measured or not.
    pub parts: Vec<Part>,
}

/// One issue of the JSON report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueJson {
    /// 1 for the highest priority.
    pub rank: usize,
    /// Its number.
    pub number: i64,
    /// Its title.
    pub title: String,
    /// Its category.
    pub category: String,
    /// Its complexity, 1–10.
    pub complexity: i64,
    /// Whole days open.
    pub age_days: f64,
    /// The priority.
    pub priority: f64,
    /// Its level.
    pub level: String,
    /// H, I, S, U and R.
    pub terms: Terms,
    /// The parts of S.
    pub solvability: Vec<Part>,
    /// Whether it looks fixable, and why.
    pub fixability: Fixability,
}

/// The JSON report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportJson {
    /// `owner/name`.
    pub repo: String,
    /// When it was read, UTC.
    pub generated_at: String,
    /// How it was read.
    pub read_as: String,
    /// Whether the repository has installed GlobalLM.
    pub installed: bool,
    /// The priority's weights: health, impact, solvability, urgency, redundancy.
    pub weights: crate::config::PriorityWeights,
    /// Health.
    pub health: ScoreJson,
    /// Impact.
    pub impact: ScoreJson,
    /// The open issues, best first.
    pub issues: Vec<IssueJson>,
}

/// The report as JSON data.
pub fn to_json(scored: &Scored, config: &Config) -> ReportJson {
    let health_inputs = &scored.scores.health_inputs;
    let impact_inputs = &scored.scores.impact_inputs;
    ReportJson {
        repo: scored.repository.name.to_string(),
        generated_at: crate::time::format_ms(scored.at),
        read_as: scored.read_as.clone(),
        installed: scored.installed,
        weights: config.scoring.weights.clone(),
        health: ScoreJson {
            score: scoring::health(health_inputs, &config.scoring.health),
            parts: scoring::health_parts(health_inputs, &config.scoring.health),
        },
        impact: ScoreJson {
            score: scoring::impact(impact_inputs, &config.scoring),
            parts: scoring::impact_parts(impact_inputs, &config.scoring),
        },
        issues: scored
            .issues
            .iter()
            .enumerate()
            .map(|(i, s)| IssueJson {
                rank: i + 1,
                number: s.ranked.number,
                title: s.ranked.title.clone(),
                category: s.ranked.category.to_string(),
                complexity: s.ranked.complexity,
                age_days: s.ranked.age_days,
                priority: s.ranked.priority.score,
                level: s.ranked.priority.level.as_str().to_owned(),
                terms: s.ranked.priority.terms,
                solvability: scoring::solvability_parts(&s.assessment.solvability, &config.scoring),
                fixability: s.fixability.clone(),
            })
            .collect(),
    }
}

/// Text safe in a Markdown table cell.
fn cell(text: &str) -> String {
    let one_line: String = text.replace(['\n', '\r'], " ").replace('|', "\\|");
    if one_line.chars().count() > 80 {
        format!("{}…", one_line.chars().take(79).collect::<String>())
    } else {
        one_line
    }
}

fn parts_section(out: &mut String, title: &str, score: &ScoreJson) {
    let _ = writeln!(out, "## {title} {:.2}\n", score.score);
    crate::triage::render::parts_table(out, &score.parts);
    out.push('\n');
}

/// The report as Markdown.
pub fn markdown(scored: &Scored, config: &Config) -> String {
    let report = to_json(scored, config);
    let mut out = String::new();
    let _ = writeln!(out, "# GlobalLM report: {}\n", report.repo);
    let consent = if report.installed {
        "GlobalLM is installed on this repository."
    } else {
        "GlobalLM is not installed on this repository: this report was made from public data, and nothing was written to the repository."
    };
    let _ = writeln!(
        out,
        "Generated {}, read as {}. {consent}\n",
        report.generated_at, report.read_as
    );
    out.push_str("## Summary\n\n");
    let fixable = report
        .issues
        .iter()
        .filter(|i| i.fixability.fixable)
        .count();
    let _ = writeln!(
        out,
        "- **{} open issues** scored; **{fixable}** look fixable by GlobalLM.",
        report.issues.len()
    );
    if let Some(top) = report.issues.first() {
        let _ = writeln!(
            out,
            "- Highest priority: #{} {} ({:.2}, {}).",
            top.number,
            cell(&top.title),
            top.priority,
            top.level
        );
    }
    let facts = &scored.facts;
    let _ = writeln!(
        out,
        "- Health **{:.2}**, impact **{:.2}**. Tests: {}. CI on `{}`: {}. Issues closed per issue updated (90 days): {}.\n",
        report.health.score,
        report.impact.score,
        match facts.has_tests {
            Some(true) => "yes",
            Some(false) => "none found",
            None => "unknown",
        },
        scored.repository.default_branch,
        facts.ci_state.as_deref().unwrap_or("unknown"),
        facts
            .issue_resolution_rate
            .map_or("unknown".to_owned(), |r| format!("{r:.2}"))
    );
    parts_section(&mut out, "Health", &report.health);
    parts_section(&mut out, "Impact", &report.impact);
    let w = &report.weights;
    let _ = writeln!(
        out,
        "## Ranked issues\n\nPriority = {}·H + {}·I + {}·S + {}·U − {}·R\n",
        w.health, w.impact, w.solvability, w.urgency, w.redundancy
    );
    if report.issues.is_empty() {
        out.push_str("No open issues.\n\n");
    } else {
        out.push_str("| rank | issue | category | complexity | H | I | S | U | R | priority | level |\n|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for issue in &report.issues {
            let t = issue.terms;
            let _ = writeln!(
                out,
                "| {} | #{} {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | **{:.3}** | {} |",
                issue.rank,
                issue.number,
                cell(&issue.title),
                issue.category,
                issue.complexity,
                t.health,
                t.impact,
                t.solvability,
                t.urgency,
                t.redundancy,
                issue.priority,
                issue.level
            );
        }
        out.push('\n');
    }
    out.push_str("## Which issues look fixable\n\n");
    for issue in &report.issues {
        let verdict = if issue.fixability.fixable {
            "**fixable**"
        } else {
            "not for GlobalLM"
        };
        let _ = writeln!(
            out,
            "- #{} {} — {verdict}: {}.",
            issue.number,
            cell(&issue.title),
            issue.fixability.reasons.join("; ")
        );
    }
    if report.issues.is_empty() {
        out.push_str("Nothing to fix.\n");
    }
    out.push_str("\n## How solvability was computed\n\n");
    // For the issues that look fixable (else the highest priority): what a fix would face.
    let mut shown: Vec<&IssueJson> = report
        .issues
        .iter()
        .filter(|i| i.fixability.fixable)
        .collect();
    if shown.is_empty() {
        shown.extend(report.issues.first());
    }
    if shown.is_empty() {
        out.push_str("No issue to show.\n");
    }
    for issue in shown {
        let _ = writeln!(
            out,
            "#{} {} — S = {:.2}\n",
            issue.number,
            cell(&issue.title),
            issue.terms.solvability
        );
        crate::triage::render::parts_table(&mut out, &issue.solvability);
        out.push('\n');
    }
    out
}
