//! Registering the App with GitHub's manifest flow, as Probot does: `/` shows the state and,
//! while no App is configured, a button that sends `app-manifest.json` (its URLs filled from
//! `server.public_url`) to GitHub; GitHub creates the App and redirects to `/app/callback`
//! with a one-time code, which is converted into the App's credentials, stored in the data
//! directory (mode 0600), and applied at once by reloading the configuration.
//!
//! The registration pages need the setup token (`setup_token.rs`); a registration is finished
//! only in the browser that started it, once; and once an App is configured (from the
//! environment or `github-app.json`) they answer `409` until `globallm app reset`. Once an
//! App is configured, `/` lists its installations behind the dashboard token (`access.rs`).

use super::AppState;
use super::access::{self, Access, Peer};
use crate::config::Config;
use crate::db::installations;
use crate::github::app::AppCredentials;
use crate::github::ids::InstallationId;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::fmt::Write as _;

/// The cookie the setup token is kept in after `/?token=`.
pub const SETUP_COOKIE: &str = "globallm_setup";
/// The cookie that ties a registration to the browser that started it.
pub const REGISTRATION_COOKIE: &str = "globallm_registration";

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

/// A page of the service's own look.
pub(crate) fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         .warn{{background:#fff3cd;padding:.5rem 1rem;border-radius:4px}}table{{border-collapse:collapse}}td,th{{padding:.2rem .8rem;text-align:left;border-bottom:1px solid #ddd}}\
         button{{font-size:1rem;padding:.5rem 1rem}}</style></head><body>{body}</body></html>",
        title = escape(title)
    ))
}

/// Whether an App is configured: an App id (from the environment, the config file or
/// `github-app.json`), or a `github-app.json` at all. Registering is refused then.
fn app_configured(config: &Config) -> bool {
    config.github.app_id.is_some() || AppCredentials::path(&config.storage.data_dir).exists()
}

/// `409`: an App is configured, and how to start over.
fn already_configured() -> Response {
    access::refusal(
        StatusCode::CONFLICT,
        "A GitHub App is already configured",
        "This service already has its GitHub App, so registering another one here is refused \
         (it would take over the webhooks and the credentials). To register a new App: stop \
         the service, run <code>globallm app reset</code> on its machine (it removes the stored \
         App credentials, <code>&lt;data dir&gt;/github-app.json</code>, after asking), and \
         start it again. An App configured through GLOBALLM_GITHUB_APP_ID is changed there \
         instead.",
    )
}

/// The setup token check: a bearer token or the setup cookie; on `GET /`, also `?token=`
/// once (exchanged for the cookie).
fn setup_access(state: &AppState, headers: &HeaderMap, uri: Option<&Uri>) -> Access {
    let config = state.ctx.config();
    if let Err(err) = state.setup.ensure_token() {
        tracing::error!("the setup token cannot be prepared: {err}");
        return Access::Refused(access::refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Setup unavailable",
            "The setup token could not be written to the data directory; see the service's log.",
        ));
    }
    let presented = access::bearer(headers).or_else(|| access::cookie(headers, SETUP_COOKIE));
    if presented.is_some_and(|given| state.setup.token_matches(given)) {
        return Access::Granted;
    }
    if let Some(token) = uri
        .and_then(access::query_token)
        .filter(|given| state.setup.token_matches(given))
    {
        let cookie = access::set_cookie(
            SETUP_COOKIE,
            &token,
            "/",
            "Lax",
            None,
            config.server.is_https(),
        );
        return Access::Exchange(
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response(),
        );
    }
    let mut response = page(
        "GlobalLM setup",
        "<h1>GlobalLM setup</h1><p>No GitHub App is configured yet. Registering one needs the \
         <b>setup token</b>: it is in the file <code>setup-token</code> in GlobalLM's data \
         directory on the server (readable only by the service's user; the service's log names \
         the file). Copy it here:</p>\
         <form method=\"get\" action=\"/\"><p><input type=\"password\" name=\"token\" \
         autocomplete=\"off\" size=\"66\" aria-label=\"setup token\"> \
         <button type=\"submit\">Continue</button></p></form>",
    )
    .into_response();
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    Access::Refused(response)
}

/// `GET /`: once an App is configured, the App and its installations (behind the dashboard
/// token); before, the registration button (behind the setup token).
pub async fn index(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let config = state.ctx.config();
    let registered = app_configured(&config);
    let guard = if registered {
        access::operator(&config, peer, &headers, &uri)
    } else {
        setup_access(&state, &headers, Some(&uri))
    };
    if let Some(refused) = guard.into_refusal() {
        return refused;
    }
    let (base, public) = base_url(&state, &headers);
    let mut body = String::from("<h1>GlobalLM</h1>");
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
/// GitHub's App creation page, with a fresh `state`, and keeps the registration's cookie.
pub async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Response {
    let config = state.ctx.config();
    if app_configured(&config) {
        return already_configured();
    }
    if let Some(refused) = setup_access(&state, &headers, None).into_refusal() {
        return refused;
    }
    if serde_json::from_str::<serde_json::Value>(&form.manifest).is_err() {
        return (
            StatusCode::BAD_REQUEST,
            "the form carries no valid manifest; start again from /",
        )
            .into_response();
    }
    let web = config.github.web_root();
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
    let (registration, browser) = state.setup.start_registration();
    let cookie = access::set_cookie(
        REGISTRATION_COOKIE,
        &browser,
        "/app/callback",
        "Lax",
        Some(u64::try_from(super::setup_token::STATE_TTL_MS / 1000).unwrap_or(3600)),
        config.server.is_https(),
    );
    let location = format!("{web}{path}?state={registration}");
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, location), (header::SET_COOKIE, cookie)],
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
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Callback>,
) -> Response {
    if app_configured(&state.ctx.config()) {
        return already_configured();
    }
    if let Some(refused) = setup_access(&state, &headers, None).into_refusal() {
        return refused;
    }
    let (Some(code), Some(registration)) = (query.code, query.state) else {
        return (
            StatusCode::BAD_REQUEST,
            "GitHub's redirect lacks the code or the state",
        )
            .into_response();
    };
    let browser = access::cookie(&headers, REGISTRATION_COOKIE);
    if !state.setup.finish_registration(&registration, browser) {
        return (
            StatusCode::BAD_REQUEST,
            "this registration was not started in this browser, was used already or has \
             expired; start again from /",
        )
            .into_response();
    }
    let _completing = state.setup.completing.lock().await;
    if app_configured(&state.ctx.config()) {
        return already_configured();
    }
    match complete_registration(&state, &code).await {
        Ok(credentials) => {
            state.setup.consume_token();
            tracing::info!(app_id = credentials.id, slug = %credentials.slug, "GitHub App registered");
            let install = format!(
                "{}/installations/new",
                credentials.html_url.trim_end_matches('/')
            );
            let secure = state.ctx.config().server.is_https();
            let forget = [
                access::set_cookie(
                    REGISTRATION_COOKIE,
                    "",
                    "/app/callback",
                    "Lax",
                    Some(0),
                    secure,
                ),
                access::set_cookie(SETUP_COOKIE, "", "/", "Lax", Some(0), secure),
            ];
            let page = page(
                "GlobalLM registered",
                &format!(
                    "<h1>GlobalLM is registered</h1><p>The GitHub App <b>{}</b> (id {}) was created and \
                     its credentials stored. Webhooks are processed from now on. The setup token is \
                     used up; this page and the installations are now behind the dashboard token.</p>\
                     <p>Next: <a href=\"{}\">install it on your repositories</a>.</p><p><a href=\"/\">Back</a></p>",
                    escape(&credentials.slug),
                    credentials.id,
                    escape(&install)
                ),
            );
            let mut response = page.into_response();
            for cookie in forget {
                if let Ok(value) = header::HeaderValue::from_str(&cookie) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
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
