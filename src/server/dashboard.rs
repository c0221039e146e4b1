//! `/dashboard` (HTML) and `/dashboard.json`: the operator's view in a browser — budget,
//! repositories, queue, recent events, last deliveries, failed jobs with their errors, pull
//! requests with their risk tier and state, spend by repository and language. Server-rendered,
//! readable on a phone, no JavaScript. It shows repository data, so it is off unless a token is
//! configured (`GLOBALLM_DASHBOARD_TOKEN`) or the server listens on loopback only.

use super::AppState;
use crate::monitoring::dashboard::{self, Snapshot};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use secrecy::ExposeSecret;
use std::fmt::Write as _;
use subtle::ConstantTimeEq as _;

const COOKIE: &str = "globallm_dashboard";

/// `?token=…`, accepted once and turned into a cookie so it leaves the address bar.
#[derive(Debug, serde::Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

enum Access {
    Granted,
    /// The token from the query string: set it as a cookie and redirect.
    GrantedFromQuery(String),
    Refused(StatusCode, &'static str),
}

fn access(state: &AppState, headers: &HeaderMap, query: &TokenQuery) -> Access {
    let config = state.ctx.config();
    let Some(expected) = config.secrets.dashboard_token.as_ref() else {
        return if config.server.listen.ip().is_loopback() {
            Access::Granted
        } else {
            Access::Refused(
                StatusCode::FORBIDDEN,
                "The dashboard shows repository data, so it is off while the server listens beyond \
                 loopback without a token. Set GLOBALLM_DASHBOARD_TOKEN (or server.dashboard_token_file).",
            )
        };
    };
    let expected = expected.value().expose_secret().as_bytes();
    let matches = |given: &str| bool::from(given.as_bytes().ct_eq(expected));
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(&format!("{COOKIE}=")))
        .next();
    if bearer.is_some_and(matches) || cookie.is_some_and(matches) {
        return Access::Granted;
    }
    if let Some(token) = query.token.as_deref().filter(|t| matches(t)) {
        return Access::GrantedFromQuery(token.to_owned());
    }
    Access::Refused(
        StatusCode::UNAUTHORIZED,
        "The dashboard needs its token: open /dashboard?token=<token> once, or send \
         `Authorization: Bearer <token>`.",
    )
}

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

fn guard(
    state: &AppState,
    headers: &HeaderMap,
    query: &TokenQuery,
    path: &'static str,
) -> Option<Response> {
    match access(state, headers, query) {
        Access::Granted => None,
        Access::GrantedFromQuery(token) => {
            let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
            Some(([(header::SET_COOKIE, cookie)], Redirect::to(path)).into_response())
        }
        Access::Refused(status, message) => Some((status, message).into_response()),
    }
}

/// `GET /dashboard`
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    if let Some(refused) = guard(&state, &headers, &query, "/dashboard") {
        return refused;
    }
    match read(&state).await {
        Ok(snapshot) => Html(render(&snapshot)).into_response(),
        Err(response) => response,
    }
}

/// `GET /dashboard.json`
pub async fn json(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    if let Some(refused) = guard(&state, &headers, &query, "/dashboard.json") {
        return refused;
    }
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

/// The page. Colours double as hooks for the browser test: the budget bar is `#2563eb`, table
/// headers `#e5e7eb`.
pub fn render(s: &Snapshot) -> String {
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
    out.push_str("<p><a href=\"/metrics\">/metrics</a> · <a href=\"/dashboard.json\">JSON</a></p></body></html>");
    out
}
