//! Registering the App with GitHub's manifest flow, as Probot does: `/` shows the state and,
//! while no App is configured, a button that sends `app-manifest.json` (its URLs filled from
//! `server.public_url`) to GitHub; GitHub creates the App and redirects to `/app/callback`
//! with a one-time code, which is converted into the App's credentials, stored in the data
//! directory (mode 0600), and applied at once by reloading the configuration.

use super::AppState;
use crate::db::installations;
use crate::github::app::AppCredentials;
use crate::github::ids::InstallationId;
use crate::time::{Millis, now_ms};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// How long a registration started from `/` may take to come back.
const STATE_TTL_MS: Millis = 60 * 60 * 1000;

/// The `state` values of registrations in progress (against cross-site request forgery).
#[derive(Debug, Clone, Default)]
pub struct Registrations {
    pending: Arc<Mutex<HashMap<String, Millis>>>,
}

impl Registrations {
    fn start(&self) -> String {
        let state = uuid::Uuid::new_v4().simple().to_string();
        let now = now_ms();
        let mut pending = self.pending.lock().expect("registrations lock");
        pending.retain(|_, started| now - *started < STATE_TTL_MS);
        pending.insert(state.clone(), now);
        state
    }

    fn finish(&self, state: &str) -> bool {
        let mut pending = self.pending.lock().expect("registrations lock");
        pending
            .remove(state)
            .is_some_and(|started| now_ms() - started < STATE_TTL_MS)
    }
}

/// The manifest GitHub receives: `app-manifest.json` with its URLs pointing at `base`.
pub fn manifest(base: &str) -> serde_json::Value {
    let mut manifest: serde_json::Value =
        serde_json::from_str(include_str!("../../app-manifest.json"))
            .expect("app-manifest.json is valid JSON");
    let base = base.trim_end_matches('/');
    manifest["url"] = base.into();
    manifest["hook_attributes"]["url"] = format!("{base}/webhook").into();
    manifest["redirect_url"] = format!("{base}/app/callback").into();
    manifest
}

/// The URL GitHub and browsers reach this service at: `server.public_url`, else what the
/// browser used (fine for the callback, too local for webhooks — the page says so).
fn base_url(state: &AppState, headers: &HeaderMap) -> (String, bool) {
    if let Some(url) = &state.ctx.config().server.public_url {
        return (url.trim_end_matches('/').to_owned(), true);
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:3000");
    (format!("http://{host}"), false)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         .warn{{background:#fff3cd;padding:.5rem 1rem;border-radius:4px}}table{{border-collapse:collapse}}td,th{{padding:.2rem .8rem;text-align:left;border-bottom:1px solid #ddd}}\
         button{{font-size:1rem;padding:.5rem 1rem}}</style></head><body>{body}</body></html>",
        title = escape(title)
    ))
}

/// `GET /`: the App's state, its installations, and the registration button while there is
/// no App.
pub async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let config = state.ctx.config();
    let (base, public) = base_url(&state, &headers);
    let mut body = String::from("<h1>GlobalLM</h1>");
    let registered = config.github.app_id.is_some() && config.secrets.github_private_key.is_some();
    if registered {
        let slug = config.github.app_slug.clone().unwrap_or_default();
        let web = config.github.web_root();
        let _ = write!(
            body,
            "<p>Registered as the GitHub App <b>{}</b> (id {}). \
             <a href=\"{web}/apps/{}/installations/new\">Install it on repositories</a>.</p>",
            escape(&slug),
            config.github.app_id.unwrap_or_default(),
            escape(&slug)
        );
        body.push_str(&installations_table(&state).await);
    } else {
        if !public {
            body.push_str(
                "<p class=\"warn\">server.public_url is not set (GLOBALLM_PUBLIC_URL): the App would \
                 send webhooks to this local address, which GitHub cannot reach. Set it to the \
                 public URL of this service first.</p>",
            );
        }
        let manifest = manifest(&base).to_string();
        let _ = write!(
            body,
            "<p>No GitHub App is configured yet. Register one from GlobalLM's manifest: GitHub \
             creates the App with the permissions and events GlobalLM needs and sends you back \
             here, and the service starts processing its webhooks at once.</p>\
             <form method=\"post\" action=\"/app/register\">\
             <input type=\"hidden\" name=\"manifest\" value=\"{}\">\
             <p><label><input type=\"radio\" name=\"target\" value=\"personal\" checked> on my account</label><br>\
             <label><input type=\"radio\" name=\"target\" value=\"organization\"> on the organization \
             <input name=\"org\" placeholder=\"organization\" pattern=\"[A-Za-z0-9-]+\"></label></p>\
             <p><button type=\"submit\">Register the GitHub App</button></p></form>\
             <p>Or configure an existing App: GLOBALLM_GITHUB_APP_ID, GLOBALLM_GITHUB_PRIVATE_KEY_PATH \
             and GLOBALLM_WEBHOOK_SECRET.</p>",
            escape(&manifest)
        );
    }
    body.push_str("<p><a href=\"/healthz\">/healthz</a> · <a href=\"/readyz\">/readyz</a> · <a href=\"/metrics\">/metrics</a> · POST /webhook</p>");
    page("GlobalLM", &body).into_response()
}

async fn installations_table(state: &AppState) -> String {
    let pool = state.ctx.db.pool();
    let Ok(list) = installations::list(pool).await else {
        return "<p>The installations could not be read.</p>".to_owned();
    };
    if list.is_empty() {
        return "<p>No installations yet.</p>".to_owned();
    }
    let mut table =
        String::from("<table><tr><th>Installation</th><th>Account</th><th>Repositories</th></tr>");
    for installation in list {
        let repos = installations::repos_of(
            pool,
            InstallationId(u64::try_from(installation.id).unwrap_or_default()),
        )
        .await
        .unwrap_or_default();
        let names: Vec<String> = repos.iter().map(|r| escape(&r.full_name)).collect();
        let suspended = if installation.suspended_at.is_some() {
            " (suspended)"
        } else {
            ""
        };
        let _ = write!(
            table,
            "<tr><td>{}</td><td>{}{suspended}</td><td>{}</td></tr>",
            installation.id,
            escape(&installation.account_login),
            names.join(", ")
        );
    }
    table.push_str("</table>");
    table
}

/// The registration form's fields.
#[derive(Debug, Deserialize)]
pub struct RegisterForm {
    /// The manifest, JSON (passed on to GitHub unchanged).
    #[serde(default)]
    pub manifest: String,
    /// `personal` or `organization`.
    #[serde(default)]
    pub target: String,
    /// The organization's login.
    #[serde(default)]
    pub org: String,
}

/// `POST /app/register`: answers `307`, so the browser posts the same form (the manifest) to
/// GitHub's App creation page, with a fresh `state`.
pub async fn register(State(state): State<AppState>, Form(form): Form<RegisterForm>) -> Response {
    if serde_json::from_str::<serde_json::Value>(&form.manifest).is_err() {
        return (
            StatusCode::BAD_REQUEST,
            "the form carries no valid manifest; start again from /",
        )
            .into_response();
    }
    let web = state.ctx.config().github.web_root();
    let path = match form.target.as_str() {
        "organization" => {
            let org = form.org.trim();
            if org.is_empty() || !org.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return (
                    StatusCode::BAD_REQUEST,
                    "name the organization (letters, digits and dashes)",
                )
                    .into_response();
            }
            format!("/organizations/{org}/settings/apps/new")
        }
        _ => "/settings/apps/new".to_owned(),
    };
    let location = format!("{web}{path}?state={}", state.registrations.start());
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}

/// The callback's query.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
}

/// `GET /app/callback?code=…&state=…`: converts the code into the App's credentials, stores
/// them, and reloads the configuration so the App is used at once.
pub async fn callback(State(state): State<AppState>, Query(query): Query<Callback>) -> Response {
    let (Some(code), Some(registration)) = (query.code, query.state) else {
        return (
            StatusCode::BAD_REQUEST,
            "GitHub's redirect lacks the code or the state",
        )
            .into_response();
    };
    if !state.registrations.finish(&registration) {
        return (
            StatusCode::BAD_REQUEST,
            "this registration was not started here or has expired; start again from /",
        )
            .into_response();
    }
    match complete_registration(&state, &code).await {
        Ok(credentials) => {
            tracing::info!(app_id = credentials.id, slug = %credentials.slug, "GitHub App registered");
            let install = format!(
                "{}/installations/new",
                credentials.html_url.trim_end_matches('/')
            );
            page(
                "GlobalLM registered",
                &format!(
                    "<h1>GlobalLM is registered</h1><p>The GitHub App <b>{}</b> (id {}) was created and \
                     its credentials stored. Webhooks are processed from now on.</p>\
                     <p>Next: <a href=\"{}\">install it on your repositories</a>.</p><p><a href=\"/\">Back</a></p>",
                    escape(&credentials.slug),
                    credentials.id,
                    escape(&install)
                ),
            )
            .into_response()
        }
        Err(message) => {
            tracing::error!("registering the GitHub App failed: {message}");
            (
                StatusCode::BAD_GATEWAY,
                format!("registering the GitHub App failed: {message}"),
            )
                .into_response()
        }
    }
}

async fn complete_registration(state: &AppState, code: &str) -> Result<AppCredentials, String> {
    let github = state.ctx.github().map_err(|err| err.to_string())?;
    let conversion = github
        .convert_manifest(code)
        .await
        .map_err(|err| err.to_string())?;
    let credentials = AppCredentials::from_conversion(conversion)?;
    let data_dir = state.ctx.config().storage.data_dir.clone();
    let path = credentials.store(&data_dir).map_err(|err| {
        format!(
            "cannot store the credentials in {}: {err}",
            data_dir.display()
        )
    })?;
    tracing::info!(path = %path.display(), "GitHub App credentials stored");
    if let Some(reloader) = &state.reloader {
        reloader.reload().map_err(|err| {
            format!("the credentials are stored but the configuration did not reload: {err}")
        })?;
    }
    Ok(credentials)
}
