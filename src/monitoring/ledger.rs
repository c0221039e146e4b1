//! The outcome ledger as the operator sees it: per repository, tier and language, what became
//! of GlobalLM's pull requests (opened, merged by GlobalLM or a human, closed, reverted and by
//! whom, repaired, time to merge, tokens and seconds); each repository's earned ceiling and why;
//! merges and reverts per week. Shown by `status` (text and `--json`), the dashboard and
//! `/metrics`.

use crate::config::Config;
use crate::db::Db;
use crate::db::outcomes::{self, LedgerRow, WeekRow};
use crate::fix::autonomy;
use crate::github::repo_config::RepoConfig;
use crate::time::{Millis, format_ms};
use serde::Serialize;

/// How far back the ledger and the chart look.
const WEEKS: i64 = 12;
const WEEK_MS: Millis = 7 * 24 * 3_600_000;

/// One repository's ceiling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CeilingRow {
    /// `owner/name`.
    pub repo: String,
    /// What merges itself there at most, before the repository's own `automerge` (which can
    /// only lower it): the lower of the service's ceiling and the earned one.
    pub ceiling: String,
    /// The earned ceiling.
    pub earned: String,
    /// Clean merges counted toward the next tier.
    pub clean: u32,
    /// Clean merges that raise it.
    pub promote_after: u32,
    /// The last change, said for people.
    pub why: String,
}

/// The ledger, the ceilings and the weekly chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcomes {
    /// Since when the ledger counts (fixes started since), UTC.
    pub since: String,
    /// One row per repository, tier and language.
    pub ledger: Vec<LedgerRow>,
    /// One row per repository GlobalLM has opened pull requests in.
    pub ceilings: Vec<CeilingRow>,
    /// Merges and reverts per week, oldest first.
    pub weeks: Vec<WeekRow>,
}

/// Reads the ledger as of `now`.
pub async fn read(db: &Db, config: &Config, now: Millis) -> anyhow::Result<Outcomes> {
    let pool = db.pool();
    let since = now - WEEKS * WEEK_MS;
    let ledger = outcomes::ledger(pool, since).await?;
    let mut ceilings = Vec::new();
    for repo in outcomes::repositories(pool).await? {
        let history = outcomes::merge_history(pool, &repo).await?;
        let ceiling = autonomy::of(&config.risk, &RepoConfig::default(), &history);
        ceilings.push(CeilingRow {
            repo,
            ceiling: autonomy::name(ceiling.service.min(ceiling.earned.ceiling)).to_owned(),
            earned: autonomy::name(ceiling.earned.ceiling).to_owned(),
            clean: ceiling.earned.clean,
            promote_after: ceiling.earned.promote_after,
            why: ceiling.earned.last_change.unwrap_or_else(|| {
                format!(
                    "the start: `risk.initial_ceiling` is {}",
                    autonomy::name(config.risk.initial_ceiling)
                )
            }),
        });
    }
    Ok(Outcomes {
        since: format_ms(since),
        ledger,
        ceilings,
        weeks: outcomes::weekly(pool, now, WEEKS).await?,
    })
}

/// The ledger's table header.
pub const LEDGER_HEADER: [&str; 13] = [
    "Repository",
    "Tier",
    "Language",
    "Opened",
    "Merged (GlobalLM)",
    "Merged (human)",
    "Closed",
    "Reverted (guard)",
    "Reverted (human)",
    "Repaired",
    "Hours to merge",
    "Tokens",
    "Seconds",
];

/// A ledger row's cells, in [`LEDGER_HEADER`]'s order.
pub fn ledger_cells(row: &LedgerRow) -> Vec<String> {
    vec![
        row.repo.clone(),
        row.tier.clone(),
        row.language.clone(),
        row.opened.to_string(),
        row.merged_by_globallm.to_string(),
        row.merged_by_human.to_string(),
        row.closed_unmerged.to_string(),
        row.reverted_by_globallm.to_string(),
        row.reverted_by_human.to_string(),
        row.repaired.to_string(),
        row.mean_hours_to_merge
            .map_or("–".to_owned(), |h| format!("{h:.1}")),
        crate::budget::report::thousands(u64::try_from(row.tokens).unwrap_or(0)),
        format!("{:.0}", row.seconds),
    ]
}

/// The ceilings' table header.
pub const CEILING_HEADER: [&str; 4] = ["Repository", "Merges itself up to", "Toward next", "Why"];

/// A ceiling row's cells, in [`CEILING_HEADER`]'s order.
pub fn ceiling_cells(row: &CeilingRow) -> Vec<String> {
    vec![
        row.repo.clone(),
        row.ceiling.clone(),
        if row.earned == "MEDIUM" {
            "–".to_owned()
        } else {
            format!("{}/{}", row.clean, row.promote_after)
        },
        row.why.clone(),
    ]
}

/// One line per week: `2026-11-30  merged ####  reverted #`.
pub fn week_lines(weeks: &[WeekRow]) -> Vec<String> {
    weeks
        .iter()
        .map(|w| {
            let day: String = format_ms(w.week_start).chars().take(10).collect();
            format!(
                "{day}  merged {:>3} {}  reverted {:>3} {}",
                w.merged,
                "#".repeat(usize::try_from(w.merged.min(40)).unwrap_or(0)),
                w.reverted,
                "!".repeat(usize::try_from(w.reverted.min(40)).unwrap_or(0)),
            )
        })
        .collect()
}

/// The ledger as plain text, for `globallm status`.
pub fn render_text(outcomes: &Outcomes) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "Outcomes of fixes started since {}:", outcomes.since);
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(LEDGER_HEADER);
    for row in &outcomes.ledger {
        table.add_row(ledger_cells(row));
    }
    if outcomes.ledger.is_empty() {
        table.add_row(["(no pull requests yet)"]);
    }
    let _ = writeln!(out, "{table}");
    if !outcomes.ceilings.is_empty() {
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header(CEILING_HEADER);
        for row in &outcomes.ceilings {
            table.add_row(ceiling_cells(row));
        }
        let _ = writeln!(out, "Earned autonomy:\n{table}");
    }
    if !outcomes.weeks.is_empty() {
        let _ = writeln!(out, "Merges and reverts per week:");
        for line in week_lines(&outcomes.weeks) {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// Sets the ledger's gauges for `/metrics`.
pub fn export(outcomes: &Outcomes) {
    for row in &outcomes.ledger {
        for (outcome, count) in [
            ("opened", row.opened),
            ("merged_by_globallm", row.merged_by_globallm),
            ("merged_by_human", row.merged_by_human),
            ("closed_unmerged", row.closed_unmerged),
            ("reverted_by_globallm", row.reverted_by_globallm),
            ("reverted_by_human", row.reverted_by_human),
            ("repaired", row.repaired),
        ] {
            metrics::gauge!(
                "globallm_outcomes",
                "repo" => row.repo.clone(),
                "tier" => row.tier.clone(),
                "language" => row.language.clone(),
                "outcome" => outcome
            )
            .set(count as f64);
        }
    }
    for row in &outcomes.ceilings {
        let level = match row.ceiling.as_str() {
            "MEDIUM" => 2.0,
            "LOW" => 1.0,
            _ => 0.0,
        };
        metrics::gauge!("globallm_automerge_ceiling", "repo" => row.repo.clone()).set(level);
    }
}
