//! The budget report `globallm budget --show` prints: for the current window, every cap with
//! used / limit, the spend by repository and by language, and the estimated cost in USD.

use super::{BudgetError, Cap, Window};
use crate::config::Config;
use crate::db::Db;
use crate::db::budget::{self as ledger, Spend};
use crate::time::{Millis, format_ms};
use serde::Serialize;

/// The report of one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The window reported.
    pub window: ReportWindow,
    /// Every cap, with what is used (or held) and its limit.
    pub caps: Vec<CapLine>,
    /// Spend per repository, largest first.
    pub by_repo: Vec<Spend>,
    /// Spend per language, largest first.
    pub by_language: Vec<Spend>,
    /// The window's totals.
    pub total: Totals,
}

/// The window, in Unix ms and as text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportWindow {
    /// Its start, Unix ms.
    pub start_ms: Millis,
    /// Its end (the next window's start), Unix ms.
    pub end_ms: Millis,
    /// Its start, UTC.
    pub start: String,
    /// Its end, UTC.
    pub end: String,
}

/// One cap for one scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapLine {
    /// The cap.
    pub cap: Cap,
    /// `all`, a repository, a language, or `each repository` when none has spent yet.
    pub scope: String,
    /// Used or held.
    pub used: u64,
    /// The limit.
    pub limit: u64,
}

/// Totals of a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Input tokens used.
    pub input_tokens: u64,
    /// Output tokens used.
    pub output_tokens: u64,
    /// Tokens held by active reservations.
    pub tokens_held: u64,
    /// Estimated cost, USD (priced models).
    pub cost_usd: f64,
    /// Settled reservations.
    pub settled: u64,
    /// … whose usage is an estimate.
    pub estimated: u64,
    /// … whose model has no price.
    pub unpriced: u64,
    /// Reservations the caps refused.
    pub denied: u64,
}

fn n(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl Report {
    /// Reads the report of `window` from the ledger.
    pub async fn read(db: &Db, config: &Config, window: Window) -> Result<Self, BudgetError> {
        let by_repo = ledger::spend_by_repo(db.pool(), window.start).await?;
        let mut by_language = ledger::spend_by_language(db.pool(), window.start).await?;
        let denied = ledger::denied_count(db.pool(), window.start).await?;
        for language in &config.discovery.languages {
            let name = super::language_name(*language);
            if !by_language.iter().any(|s| s.key == name) {
                by_language.push(Spend {
                    key: name.to_owned(),
                    ..Spend::default()
                });
            }
        }
        let caps = &config.budget;
        let mut total = Totals {
            denied: n(denied),
            ..Totals::default()
        };
        for spend in &by_repo {
            total.input_tokens += n(spend.input_tokens);
            total.output_tokens += n(spend.output_tokens);
            total.tokens_held += n(spend.tokens_held);
            total.cost_usd += spend.cost_usd;
            total.settled += n(spend.settled);
            total.estimated += n(spend.estimated);
            total.unpriced += n(spend.unpriced);
        }
        let tokens = |s: &Spend| n(s.input_tokens + s.output_tokens + s.tokens_held);
        let mut lines = vec![CapLine {
            cap: Cap::TokensTotal,
            scope: "all".to_owned(),
            used: total.input_tokens + total.output_tokens + total.tokens_held,
            limit: caps.tokens_total,
        }];
        let empty = [Spend {
            key: "each repository".to_owned(),
            ..Spend::default()
        }];
        let repos = if by_repo.is_empty() {
            &empty[..]
        } else {
            &by_repo[..]
        };
        for (cap, limit, used) in [
            (
                Cap::TokensPerRepo,
                caps.tokens_per_repo,
                &tokens as &dyn Fn(&Spend) -> u64,
            ),
            (Cap::SecondsPerRepo, caps.seconds_per_repo, &|s: &Spend| {
                n(s.seconds)
            }),
            (
                Cap::FixAttemptsPerRepo,
                u64::from(caps.fix_attempts_per_repo),
                &|s: &Spend| n(s.fix_attempts),
            ),
        ] {
            lines.extend(repos.iter().map(|s| CapLine {
                cap,
                scope: s.key.clone(),
                used: used(s),
                limit,
            }));
        }
        lines.extend(by_language.iter().map(|s| CapLine {
            cap: Cap::FixAttemptsPerLanguage,
            scope: s.key.clone(),
            used: n(s.fix_attempts),
            limit: u64::from(caps.fix_attempts_per_language),
        }));
        Ok(Self {
            window: ReportWindow {
                start_ms: window.start,
                end_ms: window.end,
                start: format_ms(window.start),
                end: format_ms(window.end),
            },
            caps: lines,
            by_repo,
            by_language,
            total,
        })
    }

    /// The report as tables, for people.
    pub fn render(&self) -> String {
        let mut out = format!(
            "Budget window {} → {}\n\nCaps\n",
            self.window.start, self.window.end
        );
        let mut caps = table(&["cap", "scope", "used", "limit", "left"]);
        for line in &self.caps {
            caps.add_row([
                line.cap.as_str().to_owned(),
                line.scope.clone(),
                thousands(line.used),
                thousands(line.limit),
                percent_left(line.used, line.limit),
            ]);
        }
        out.push_str(&format!("{caps}\n"));
        for (title, rows) in [
            ("Spend by repository", &self.by_repo),
            ("Spend by language", &self.by_language),
        ] {
            out.push_str(&format!("\n{title}\n"));
            if rows.is_empty() {
                out.push_str("(nothing spent in this window)\n");
                continue;
            }
            out.push_str(&format!("{}\n", spend_table(rows)));
        }
        let t = &self.total;
        out.push_str(&format!(
            "\nTotal: {} tokens used ({} in, {} out), {} held; estimated cost ${:.4}\n",
            thousands(t.input_tokens + t.output_tokens),
            thousands(t.input_tokens),
            thousands(t.output_tokens),
            thousands(t.tokens_held),
            t.cost_usd
        ));
        out.push_str(&format!(
            "{} calls settled ({} with estimated usage, {} of unpriced models); {} reservations denied\n",
            t.settled, t.estimated, t.unpriced, t.denied
        ));
        out
    }
}

fn table(header: &[&str]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(header.iter().map(|h| (*h).to_owned()));
    table
}

fn spend_table(rows: &[Spend]) -> comfy_table::Table {
    let mut table = table(&[
        "",
        "input",
        "output",
        "held",
        "seconds",
        "fix attempts",
        "calls",
        "cost (USD)",
    ]);
    for s in rows {
        table.add_row([
            s.key.clone(),
            thousands(n(s.input_tokens)),
            thousands(n(s.output_tokens)),
            thousands(n(s.tokens_held)),
            thousands(n(s.seconds)),
            s.fix_attempts.to_string(),
            s.settled.to_string(),
            format!("{:.4}", s.cost_usd),
        ]);
    }
    table
}

fn percent_left(used: u64, limit: u64) -> String {
    if limit == 0 {
        return "-".to_owned();
    }
    let left = limit.saturating_sub(used) as f64 / limit as f64 * 100.0;
    format!("{left:.1}%")
}

/// `1234567` → `1,234,567`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(5_000_000), "5,000,000");
    }

    #[test]
    fn what_is_left_is_a_percentage_of_the_limit() {
        assert_eq!(percent_left(25, 100), "75.0%");
        assert_eq!(percent_left(120, 100), "0.0%");
        assert_eq!(percent_left(0, 0), "-");
    }
}
