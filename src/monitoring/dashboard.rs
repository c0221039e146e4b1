//! What the operator sees — `globallm status` (plain, JSON or live in the terminal) and the
//! web dashboard — read from the database in one place: budget used of the weekly total, a
//! row per repository (issues triaged, PRs opened and merged, impact), the job queue, recent
//! events, the last deliveries, failed jobs, GlobalLM's pull requests and the spend by
//! repository and language.

use crate::budget::report::Report;
pub use crate::budget::report::thousands;
use crate::budget::window::window_at;
use crate::config::Config;
use crate::db::Db;
use crate::db::jobs::Depth;
use crate::time::{Millis, format_ms};
use serde::Serialize;

/// Rows of the lists shown.
const LIST: u32 = 20;

/// The budget line: tokens used (and held) of the window's total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetLine {
    /// Tokens used or held this window.
    pub used: u64,
    /// The window's total cap.
    pub total: u64,
    /// `used / total`, in percent.
    pub percent: f64,
    /// Estimated cost so far, USD.
    pub cost_usd: f64,
    /// The window's start, UTC.
    pub window_start: String,
    /// The window's end, UTC.
    pub window_end: String,
}

/// One repository's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoRow {
    /// `owner/name`.
    pub repo: String,
    /// Issues triaged.
    pub issues: i64,
    /// GlobalLM pull requests opened.
    pub prs: i64,
    /// … of which merged.
    pub merged: i64,
    /// Impact score × 100, when known.
    pub impact: Option<f64>,
}

/// One recent event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    /// When, UTC.
    pub at: String,
    /// `delivery`, `job` or `pr`.
    pub kind: &'static str,
    /// What happened.
    pub text: String,
}

/// A failed (dead) job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedJob {
    /// Its id.
    pub id: i64,
    /// Its kind.
    pub kind: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last error's first line.
    pub error: String,
    /// When it died, UTC.
    pub at: String,
}

/// One of GlobalLM's pull requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrRow {
    /// `owner/name`.
    pub repo: String,
    /// The pull request's number.
    pub number: Option<i64>,
    /// The issue it fixes.
    pub issue: i64,
    /// Its risk tier.
    pub tier: Option<String>,
    /// `drafting`, `open`, `merged`, `closed` or `failed`.
    pub state: String,
    /// The last CI verdict.
    pub ci: Option<String>,
    /// When it last changed, UTC.
    pub updated: String,
}

/// Spend of one repository or language this window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendRow {
    /// The repository or language.
    pub key: String,
    /// Tokens used and held.
    pub tokens: u64,
    /// Cost, USD.
    pub cost_usd: f64,
}

/// Everything the dashboards show, as of one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// When it was read, UTC.
    pub at: String,
    /// The budget line.
    pub budget: BudgetLine,
    /// One row per repository, most active first.
    pub repos: Vec<RepoRow>,
    /// The job queue.
    pub queue: Depth,
    /// Recent events, newest first.
    pub events: Vec<EventRow>,
    /// Failed jobs, newest first.
    pub failed_jobs: Vec<FailedJob>,
    /// GlobalLM's pull requests, most recently changed first.
    pub prs: Vec<PrRow>,
    /// Spend by repository, largest first.
    pub spend_by_repo: Vec<SpendRow>,
    /// Spend by language, largest first.
    pub spend_by_language: Vec<SpendRow>,
    /// The outcome ledger, earned ceilings and merges per week.
    pub outcomes: super::ledger::Outcomes,
    /// Green GlobalLM pull requests waiting to merge, by repository in order of priority.
    pub merge_waits: Vec<WaitRow>,
}

/// A green pull request on a repository's wait list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitRow {
    /// `owner/name`.
    pub repo: String,
    /// Its place in the repository's list, from 1.
    pub place: usize,
    /// The pull request.
    pub pr: Option<i64>,
    /// The issue it fixes.
    pub issue: i64,
    /// The issue's triage priority.
    pub priority: Option<f64>,
    /// What it waits for: `slot`, `window`, `freeze`, `update` or `queue`.
    pub reason: String,
    /// The freeze's cause, when the window opens, …
    pub detail: Option<String>,
    /// Since when, UTC.
    pub since: String,
}

/// The wait lists of every repository (see [`crate::db::merge_waits::waiting`]).
async fn merge_waits(db: &Db) -> anyhow::Result<Vec<WaitRow>> {
    let mut rows: Vec<WaitRow> = Vec::new();
    for w in crate::db::merge_waits::waiting(db.pool()).await? {
        let place = match rows.last() {
            Some(last) if last.repo == w.repo => last.place + 1,
            _ => 1,
        };
        rows.push(WaitRow {
            repo: w.repo,
            place,
            pr: w.pr_number,
            issue: w.issue,
            priority: w.priority,
            reason: w.reason,
            detail: w.detail,
            since: format_ms(w.since),
        });
    }
    Ok(rows)
}

fn render_waits(out: &mut String, waits: &[WaitRow]) {
    use std::fmt::Write as _;
    let _ = writeln!(out, "Waiting to merge:");
    if waits.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for w in waits {
        let pr = w.pr.map_or("?".to_owned(), |n| format!("#{n}"));
        let priority = w.priority.map_or("–".to_owned(), |p| format!("{p:.2}"));
        let detail = w
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {}. {pr} (issue #{}, priority {priority}): {}{detail}, since {}",
            w.repo, w.place, w.issue, w.reason, w.since
        );
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 120 {
        format!("{}…", line.chars().take(119).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// Reads the snapshot as of `now`.
pub async fn snapshot(db: &Db, config: &Config, now: Millis) -> anyhow::Result<Snapshot> {
    let pool = db.pool();
    let window = window_at(
        now,
        config.budget.window_start_weekday,
        config.budget.window_start_hour,
    );
    let report = Report::read(db, config, window).await?;
    let used = report.total.input_tokens + report.total.output_tokens + report.total.tokens_held;
    let total = config.budget.tokens_total;
    let budget = BudgetLine {
        used,
        total,
        percent: if total > 0 {
            used as f64 * 100.0 / total as f64
        } else {
            0.0
        },
        cost_usd: report.total.cost_usd,
        window_start: report.window.start.clone(),
        window_end: report.window.end.clone(),
    };
    let spend = |rows: &[crate::db::budget::Spend]| -> Vec<SpendRow> {
        rows.iter()
            .map(|s| SpendRow {
                key: s.key.clone(),
                tokens: u64::try_from(s.input_tokens + s.output_tokens + s.tokens_held)
                    .unwrap_or(0),
                cost_usd: s.cost_usd,
            })
            .collect()
    };
    let repos: Vec<RepoRow> = crate::db::triage::repo_activity(pool, 50)
        .await?
        .into_iter()
        .map(|a| RepoRow {
            repo: a.repo,
            issues: a.issues,
            prs: a.prs,
            merged: a.merged,
            impact: None,
        })
        .collect();
    let mut repos = repos;
    for row in &mut repos {
        if let Some(signals) = crate::db::triage::get_signals(pool, &row.repo).await? {
            let scores =
                crate::triage::signals::RepoScores::from_stored(&signals, &config.scoring)?;
            row.impact = Some((scores.impact * 1000.0).round() / 10.0);
        }
    }
    let queue = crate::db::jobs::depth(pool, now).await?;

    let deliveries = crate::db::deliveries::recent(pool, LIST).await?;
    let dead = crate::db::jobs::list(pool, true, LIST).await?;
    let prs: Vec<PrRow> = crate::db::fixes::recent(pool, LIST)
        .await?
        .into_iter()
        .map(|f| PrRow {
            repo: f.repo,
            number: f.pr_number,
            issue: f.issue,
            tier: f.tier.map(|t| t.as_str().to_owned()),
            state: f.state.as_str().to_owned(),
            ci: f.last_ci,
            updated: format_ms(f.updated_at),
        })
        .collect();

    let mut events: Vec<(Millis, EventRow)> = Vec::new();
    for d in &deliveries {
        let action = d
            .action
            .as_ref()
            .map(|a| format!(".{a}"))
            .unwrap_or_default();
        let repo = d
            .repository
            .as_ref()
            .map(|r| format!(" on {r}"))
            .unwrap_or_default();
        let note = d
            .note
            .as_ref()
            .map(|n| format!(" — {}", first_line(n)))
            .unwrap_or_default();
        events.push((
            d.received_at,
            EventRow {
                at: format_ms(d.received_at),
                kind: "delivery",
                text: format!("{}{action}{repo}: {}{note}", d.event, d.outcome),
            },
        ));
    }
    for j in &dead {
        let error = j.last_error.as_deref().map(first_line).unwrap_or_default();
        events.push((
            j.updated_at,
            EventRow {
                at: format_ms(j.updated_at),
                kind: "job",
                text: format!("{} #{} failed: {error}", j.kind, j.id),
            },
        ));
    }
    events.sort_by_key(|e| std::cmp::Reverse(e.0));
    events.truncate(LIST as usize);

    Ok(Snapshot {
        at: format_ms(now),
        budget,
        repos,
        queue,
        events: events.into_iter().map(|(_, e)| e).collect(),
        failed_jobs: dead
            .into_iter()
            .map(|j| FailedJob {
                id: j.id,
                kind: j.kind,
                attempts: j.attempts,
                error: j.last_error.as_deref().map(first_line).unwrap_or_default(),
                at: format_ms(j.updated_at),
            })
            .collect(),
        prs,
        spend_by_repo: spend(&report.by_repo),
        spend_by_language: spend(&report.by_language),
        outcomes: super::ledger::read(db, config, now).await?,
        merge_waits: merge_waits(db).await?,
    })
}

/// The newest ranked candidates report (top repositories × top issues of the last discovery
/// run, `discovery::candidates`) as an HTML section for `/dashboard`; a line saying none yet
/// until a run has ended with one.
pub async fn candidates_html(db: &Db) -> anyhow::Result<String> {
    use crate::discovery::candidates::Candidates;
    use std::fmt::Write as _;
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut out = String::from("<section><h2>Where GlobalLM would help most</h2>");
    let Some(json) = crate::db::reports::latest_candidates(db.pool()).await? else {
        out.push_str("<p>No discovery run has ranked candidates yet.</p></section>");
        return Ok(out);
    };
    let report: Candidates = serde_json::from_str(&json)?;
    let _ = write!(
        out,
        "<p>Discovery run {}, {}: repositories by wH·H + wI·I − wR·R, each with its best open issues (read only).</p>\
         <div class=\"scroll\"><table id=\"candidates\"><thead><tr><th>Repository</th><th>Language</th>\
         <th>Score</th><th>Health</th><th>Impact</th><th>Top issues</th></tr></thead><tbody>",
        report.run_id,
        format_ms(report.generated_at)
    );
    for repo in &report.repos {
        let issues = if repo.issues.is_empty() {
            escape(repo.note.as_deref().unwrap_or("no open issues"))
        } else {
            repo.issues
                .iter()
                .map(|i| {
                    format!(
                        "#{} {} ({}, {:.2} {}{})",
                        i.number,
                        escape(&i.title),
                        escape(&i.category),
                        i.priority,
                        escape(&i.level),
                        if i.fixable { ", fixable" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.2}</td><td>{:.2}</td><td>{issues}</td></tr>",
            escape(&repo.repo),
            escape(&repo.language),
            repo.score,
            repo.health,
            repo.impact
        );
    }
    out.push_str("</tbody></table></div></section>");
    Ok(out)
}

/// The snapshot as plain text: no colours or terminal codes, fine in a pipe or over SSH.
pub fn render_text(snapshot: &Snapshot) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let b = &snapshot.budget;
    let _ = writeln!(
        out,
        "Budget Used: {} / {} tokens ({:.1}%)  ${:.2}  window {} → {}",
        thousands(b.used),
        thousands(b.total),
        b.percent,
        b.cost_usd,
        b.window_start,
        b.window_end
    );
    let _ = writeln!(out, "{}", bar(b.percent, 50));
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["Repository", "Issues", "PRs", "Merged", "Impact"]);
    for r in &snapshot.repos {
        table.add_row([
            r.repo.clone(),
            r.issues.to_string(),
            r.prs.to_string(),
            r.merged.to_string(),
            r.impact.map_or("–".to_owned(), |i| format!("{i:.1}")),
        ]);
    }
    if snapshot.repos.is_empty() {
        table.add_row(["(no repositories yet)", "", "", "", ""]);
    }
    let _ = writeln!(out, "{table}");
    let q = snapshot.queue;
    let _ = writeln!(
        out,
        "Jobs: {} pending, {} scheduled, {} running, {} dead",
        q.ready, q.scheduled, q.running, q.dead
    );
    let _ = writeln!(out, "Recent events:");
    if snapshot.events.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for e in &snapshot.events {
        let _ = writeln!(out, "  {}  {:<8}  {}", e.at, e.kind, e.text);
    }
    out.push_str(&super::ledger::render_text(&snapshot.outcomes));
    render_waits(&mut out, &snapshot.merge_waits);
    out
}

/// `[#####.....]` for a percentage.
pub fn bar(percent: f64, width: usize) -> String {
    let filled = ((percent.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled))
}
