//! `/dashboard` (HTML) and `/dashboard.json`: the operator's view in a browser — budget,
//! repositories, queue, recent events, last deliveries, failed jobs with their errors, pull
//! requests with their risk tier and state, spend by repository and language. Server-rendered,
//! readable on a phone, no JavaScript. It shows repository data, so the router puts it behind
//! the dashboard token (`access.rs`; without one, only a direct loopback client sees it).

use super::AppState;
use crate::monitoring::dashboard::{self, Snapshot};
use crate::monitoring::ledger;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write as _;

async fn read(state: &AppState) -> Result<Snapshot, Response> {
    dashboard::snapshot(&state.ctx.db, &state.ctx.config(), state.ctx.clock.now_ms())
        .await
        .map_err(|err| {
            tracing::error!("reading the dashboard failed: {err:#}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the dashboard could not be read; see the logs",
            )
                .into_response()
        })
}

/// `GET /dashboard` (behind `access::require_operator`)
pub async fn page(State(state): State<AppState>) -> Response {
    match read(&state).await {
        Ok(snapshot) => {
            let candidates = dashboard::candidates_html(&state.ctx.db)
                .await
                .unwrap_or_else(|err| {
                    tracing::error!("reading the candidates report failed: {err:#}");
                    String::new()
                });
            Html(render(&snapshot, &candidates)).into_response()
        }
        Err(response) => response,
    }
}

/// `GET /dashboard.json` (behind `access::require_operator`)
pub async fn json(State(state): State<AppState>) -> Response {
    match read(&state).await {
        Ok(snapshot) => axum::Json(snapshot).into_response(),
        Err(response) => response,
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn table(out: &mut String, id: &str, title: &str, header: &[&str], rows: Vec<Vec<String>>) {
    let _ = write!(
        out,
        "<section><h2>{title}</h2><div class=\"scroll\"><table id=\"{id}\"><thead><tr>"
    );
    for h in header {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            out,
            "<tr><td colspan=\"{}\" class=\"none\">none</td></tr>",
            header.len()
        );
    }
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(&cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div></section>");
}

/// The page, with `candidates` (the ranked candidates section) before its footer. Colours
/// double as hooks for the browser test: the budget bar is `#2563eb`, table headers `#e5e7eb`.
pub fn render(s: &Snapshot, candidates: &str) -> String {
    let b = &s.budget;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"15\"><title>GlobalLM dashboard</title><style>\
         body{{font-family:system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:.5rem 1rem;color:#111}}\
         h1{{font-size:1.3rem}}h2{{font-size:1.05rem;margin:1.2rem 0 .4rem}}\
         .budget{{font-size:1.05rem;font-weight:600}}\
         .bar{{background:#e5e7eb;height:1rem;border-radius:.5rem;overflow:hidden;margin:.3rem 0}}\
         .fill{{background:#2563eb;height:100%;min-width:.5rem}}\
         .scroll{{overflow-x:auto}}table{{border-collapse:collapse;width:100%;font-size:.9rem}}\
         th{{background:#e5e7eb;text-align:left}}th,td{{padding:.3rem .5rem;border-bottom:1px solid #ddd;white-space:nowrap}}\
         .none{{color:#777}}.queue span{{margin-right:1rem}}\
         </style></head><body><h1>GlobalLM</h1>"
    );
    let _ = write!(
        out,
        "<p id=\"budget\" class=\"budget\">Budget Used: {} / {} tokens ({:.1}%) · ${:.2}</p>\
         <div class=\"bar\"><div class=\"fill\" style=\"width:{:.1}%\"></div></div>\
         <p>Window {} → {} · read {}</p>",
        dashboard::thousands(b.used),
        dashboard::thousands(b.total),
        b.percent,
        b.cost_usd,
        b.percent.clamp(0.0, 100.0),
        escape(&b.window_start),
        escape(&b.window_end),
        escape(&s.at)
    );
    table(
        &mut out,
        "repositories",
        "Repositories",
        &["Repository", "Issues", "PRs", "Merged", "Impact"],
        s.repos
            .iter()
            .map(|r| {
                vec![
                    r.repo.clone(),
                    r.issues.to_string(),
                    r.prs.to_string(),
                    r.merged.to_string(),
                    r.impact.map_or("–".to_owned(), |i| format!("{i:.1}")),
                ]
            })
            .collect(),
    );
    let q = s.queue;
    let _ = write!(
        out,
        "<section><h2>Job queue</h2><p class=\"queue\"><span>{} pending</span><span>{} scheduled</span>\
         <span>{} running</span><span>{} dead</span></p></section>",
        q.ready, q.scheduled, q.running, q.dead
    );
    table(
        &mut out,
        "prs",
        "Pull requests",
        &[
            "Repository",
            "PR",
            "Issue",
            "Tier",
            "State",
            "CI",
            "Updated",
        ],
        s.prs
            .iter()
            .map(|p| {
                vec![
                    p.repo.clone(),
                    p.number.map_or("–".to_owned(), |n| format!("#{n}")),
                    format!("#{}", p.issue),
                    p.tier.clone().unwrap_or_else(|| "–".to_owned()),
                    p.state.clone(),
                    p.ci.clone().unwrap_or_else(|| "–".to_owned()),
                    p.updated.clone(),
                ]
            })
            .collect(),
    );
    table(
        &mut out,
        "events",
        "Recent events",
        &["When", "What", "Detail"],
        s.events
            .iter()
            .map(|e| vec![e.at.clone(), e.kind.to_owned(), e.text.clone()])
            .collect(),
    );
    table(
        &mut out,
        "failed-jobs",
        "Failed jobs",
        &["Job", "Kind", "Attempts", "Error", "When"],
        s.failed_jobs
            .iter()
            .map(|j| {
                vec![
                    format!("#{}", j.id),
                    j.kind.clone(),
                    j.attempts.to_string(),
                    j.error.clone(),
                    j.at.clone(),
                ]
            })
            .collect(),
    );
    let spend = |rows: &[dashboard::SpendRow]| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| {
                vec![
                    r.key.clone(),
                    dashboard::thousands(r.tokens),
                    format!("${:.2}", r.cost_usd),
                ]
            })
            .collect()
    };
    table(
        &mut out,
        "spend-repo",
        "Budget by repository",
        &["Repository", "Tokens", "Cost"],
        spend(&s.spend_by_repo),
    );
    table(
        &mut out,
        "spend-language",
        "Budget by language",
        &["Language", "Tokens", "Cost"],
        spend(&s.spend_by_language),
    );
    table(
        &mut out,
        "merge-waits",
        "Waiting to merge",
        &[
            "Repository",
            "Place",
            "PR",
            "Issue",
            "Priority",
            "Waits for",
            "Since",
        ],
        s.merge_waits
            .iter()
            .map(|w| {
                vec![
                    w.repo.clone(),
                    w.place.to_string(),
                    w.pr.map_or("–".to_owned(), |n| format!("#{n}")),
                    format!("#{}", w.issue),
                    w.priority.map_or("–".to_owned(), |p| format!("{p:.2}")),
                    match &w.detail {
                        Some(d) => format!("{} ({d})", w.reason),
                        None => w.reason.clone(),
                    },
                    w.since.clone(),
                ]
            })
            .collect(),
    );
    let o = &s.outcomes;
    table(
        &mut out,
        "ledger",
        &format!("Outcomes of fixes started since {}", o.since),
        &ledger::LEDGER_HEADER,
        o.ledger.iter().map(ledger::ledger_cells).collect(),
    );
    table(
        &mut out,
        "ceilings",
        "Earned autonomy",
        &ledger::CEILING_HEADER,
        o.ceilings.iter().map(ledger::ceiling_cells).collect(),
    );
    weekly_chart(&mut out, &o.weeks);
    out.push_str(candidates);
    out.push_str("<p><a href=\"/metrics\">/metrics</a> · <a href=\"/dashboard.json\">JSON</a></p></body></html>");
    out
}

/// Merges and reverts per week as a small bar chart (inline SVG: no script, no asset).
fn weekly_chart(out: &mut String, weeks: &[crate::db::outcomes::WeekRow]) {
    use std::fmt::Write as _;
    out.push_str("<section id=\"weeks\"><h2>Merges and reverts per week</h2>");
    if weeks.is_empty() {
        out.push_str("<p class=\"none\">none yet</p></section>");
        return;
    }
    let top = weeks
        .iter()
        .map(|w| w.merged.max(w.reverted))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let width = weeks.len() * 28 + 10;
    let _ = write!(
        out,
        "<svg role=\"img\" aria-label=\"merges and reverts per week\" width=\"{width}\" height=\"90\">"
    );
    for (i, w) in weeks.iter().enumerate() {
        let x = i * 28 + 5;
        for (offset, count, colour, what) in [
            (0, w.merged, "#16a34a", "merged"),
            (12, w.reverted, "#dc2626", "reverted"),
        ] {
            let h = (count as f64 / top * 70.0).round();
            let day: String = crate::time::format_ms(w.week_start)
                .chars()
                .take(10)
                .collect();
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"{h}\" fill=\"{colour}\"><title>week of {day}: {count} {what}</title></rect>",
                x + offset,
                80.0 - h
            );
        }
    }
    out.push_str("</svg></section>");
}
