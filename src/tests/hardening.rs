//! Hardening (issue 14) through the real router: the setup token and the browser-bound,
//! single-use registration; no second registration once an App is configured; the operator's
//! pages and the metrics behind their tokens; every subscribed event handled.

use super::app_flows::cookie_pair;
use crate::db::installations::{self, InstallationFields};
use crate::github::app::AppCredentials;
use crate::github::ids::{InstallationId, RepoId};
use crate::server::setup_token::{self, MAX_PENDING};
use crate::testing::fake_github;
use crate::testing::harness::TestApp;
use axum::body::Body;
use axum::http::{Request, StatusCode};

fn register_form(cookie: Option<&str>) -> Request<Body> {
    let manifest = crate::server::setup::manifest("https://globallm.example.org").to_string();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("manifest", &manifest)
        .append_pair("target", "personal")
        .finish();
    let mut request =
        Request::post("/app/register").header("content-type", "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.body(Body::from(body)).expect("a request")
}

/// The `globallm_setup=<token>` cookie the operator's browser holds after `/?token=`.
async fn setup_cookie(app: &TestApp) -> String {
    let path = app.setup.ensure_token().expect("a setup token");
    let token = setup_token::read_token_file(&path).expect("readable");
    let answer = app.get(&format!("/?token={token}")).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    cookie_pair(&answer.cookies, "globallm_setup")
}

#[tokio::test]
async fn registration_pages_need_the_setup_token() {
    let app = TestApp::start_unregistered().await;

    let index = app.get("/").await;
    assert_eq!(index.status, StatusCode::UNAUTHORIZED);
    assert!(
        !index.body.contains("Register the GitHub App"),
        "{}",
        index.body
    );
    assert!(
        index.body.contains("setup-token"),
        "says where the token is"
    );
    assert_eq!(
        app.get("/?token=guessed").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.request(register_form(None)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.request(register_form(Some("globallm_setup=guessed")))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/app/callback?code=c&state=s").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.setup.pending_registrations(), 0, "nothing started");

    let cookie = setup_cookie(&app).await;
    let redirect = app.request(register_form(Some(&cookie))).await;
    assert_eq!(redirect.status, StatusCode::TEMPORARY_REDIRECT);
}

#[tokio::test]
async fn a_registration_finishes_only_in_the_browser_that_started_it() {
    let app = TestApp::start_unregistered().await;
    app.github
        .world()
        .manifest_codes
        .insert("code-1".into(), fake_github::test_app());
    let setup = setup_cookie(&app).await;

    // The victim starts a registration; an attacker who learns (or forces) the redirect URL
    // cannot finish it from another browser, nor from the victim's browser with their state.
    let started = app.request(register_form(Some(&setup))).await;
    let location = started.location.expect("a location");
    let state = location.split("state=").nth(1).expect("a state").to_owned();
    let set_cookie = started
        .cookies
        .iter()
        .find(|c| c.starts_with("globallm_registration="))
        .expect("a registration cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/app/callback", "Secure"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    let browser = cookie_pair(&started.cookies, "globallm_registration");
    let callback = format!("/app/callback?code=code-1&state={state}");

    let elsewhere = app
        .get_with_cookies(&callback, &[&setup, "globallm_registration=someone-else"])
        .await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
    let without = app.get_with_cookies(&callback, &[&setup]).await;
    assert_eq!(without.status, StatusCode::BAD_REQUEST);
    assert!(
        AppCredentials::load(&app.ctx.config().storage.data_dir)
            .expect("readable")
            .is_none()
    );

    let done = app.get_with_cookies(&callback, &[&setup, &browser]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.cookies
            .iter()
            .any(|c| c.starts_with("globallm_setup=;") && c.contains("Max-Age=0")),
        "the used setup cookie is dropped: {:?}",
        done.cookies
    );
}

#[tokio::test]
async fn once_an_app_is_configured_registration_is_refused_with_how_to_reset() {
    // Configured from the environment.
    let app = TestApp::start().await;
    let register = app.request(register_form(None)).await;
    assert_eq!(register.status, StatusCode::CONFLICT);
    assert!(
        register.body.contains("globallm app reset"),
        "{}",
        register.body
    );
    app.github
        .world()
        .manifest_codes
        .insert("code-2".into(), fake_github::test_app());
    let callback = app.get("/app/callback?code=code-2&state=x").await;
    assert_eq!(callback.status, StatusCode::CONFLICT);
    let data_dir = app.ctx.config().storage.data_dir.clone();
    assert!(
        !AppCredentials::path(&data_dir).exists(),
        "nothing was converted or stored"
    );

    // Configured by an earlier registration: the stored file alone refuses a new one, even
    // before the configuration was reloaded.
    let unregistered = TestApp::start_unregistered().await;
    let setup = setup_cookie(&unregistered).await;
    let credentials = AppCredentials::from_conversion(crate::github::model::AppConversion {
        id: crate::github::ids::AppId(1),
        slug: "earlier".to_owned(),
        name: String::new(),
        html_url: String::new(),
        pem: "pem".to_owned(),
        webhook_secret: Some("secret".to_owned()),
        client_id: String::new(),
        client_secret: String::new(),
    })
    .expect("credentials");
    credentials
        .store(&unregistered.ctx.config().storage.data_dir)
        .expect("stored");
    assert_eq!(
        unregistered
            .request(register_form(Some(&setup)))
            .await
            .status,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn a_flood_of_registrations_keeps_a_bounded_number_pending() {
    let app = TestApp::start_unregistered().await;
    let setup = setup_cookie(&app).await;
    for _ in 0..(MAX_PENDING * 20) {
        let answer = app.request(register_form(Some(&setup))).await;
        assert_eq!(answer.status, StatusCode::TEMPORARY_REDIRECT);
    }
    assert_eq!(app.setup.pending_registrations(), MAX_PENDING);
}

async fn install_private_repo(app: &TestApp) {
    let mut tx = app.ctx.db.write().await.expect("write");
    installations::upsert(
        tx.conn(),
        &InstallationFields {
            id: InstallationId(77),
            account_login: "acme",
            account_type: "Organization",
            repository_selection: Some("selected"),
            suspended: false,
        },
        crate::time::now_ms(),
    )
    .await
    .expect("installation");
    installations::add_repos(
        tx.conn(),
        InstallationId(77),
        &[(RepoId(9), "acme/secret-plans".to_owned(), true)],
        crate::time::now_ms(),
    )
    .await
    .expect("repos");
    tx.commit().await.expect("commit");
}

/// `GET path` from another machine (or through a proxy).
fn remote(path: &str, proxy_header: Option<&str>) -> Request<Body> {
    let peer = if proxy_header.is_some() {
        std::net::SocketAddr::from(([127, 0, 0, 1], 40_001))
    } else {
        std::net::SocketAddr::from(([203, 0, 113, 7], 40_001))
    };
    let mut request = Request::get(path);
    if let Some(name) = proxy_header {
        request = request.header(name, "203.0.113.7");
    }
    let mut request = request.body(Body::empty()).expect("a request");
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    request
}

#[tokio::test]
async fn the_installations_page_needs_the_dashboard_token() {
    // No token configured: a browser on this machine sees it; another machine, or a request
    // through a local proxy, does not.
    let app = TestApp::start().await;
    install_private_repo(&app).await;
    let local = app.get("/").await;
    assert_eq!(local.status, StatusCode::OK);
    assert!(local.body.contains("acme/secret-plans"), "{}", local.body);
    for request in [
        remote("/", None),
        remote("/", Some("x-forwarded-for")),
        remote("/dashboard", None),
    ] {
        let refused = app.request(request).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(!refused.body.contains("secret-plans"));
    }

    let app = TestApp::start_with_env(&[("GLOBALLM_DASHBOARD_TOKEN", "dash")]).await;
    install_private_repo(&app).await;
    let refused = app.get("/").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(!refused.body.contains("secret-plans"));
    let served = app
        .request(
            Request::get("/")
                .header("authorization", "Bearer dash")
                .body(Body::empty())
                .expect("a request"),
        )
        .await;
    assert_eq!(served.status, StatusCode::OK);
    assert!(served.body.contains("acme/secret-plans"), "{}", served.body);
}

#[tokio::test]
async fn metrics_need_the_metrics_or_dashboard_token() {
    let get = |bearer: Option<&str>| {
        let mut request = Request::get("/metrics");
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(Body::empty()).expect("a request")
    };
    let open = TestApp::start().await;
    assert_eq!(open.request(get(None)).await.status, StatusCode::OK);
    assert_eq!(
        open.request(remote("/metrics", None)).await.status,
        StatusCode::FORBIDDEN,
        "without tokens only a direct loopback client scrapes"
    );

    let app = TestApp::start_with_env(&[
        ("GLOBALLM_METRICS_TOKEN", "prom"),
        ("GLOBALLM_DASHBOARD_TOKEN", "dash"),
    ])
    .await;
    assert_eq!(
        app.request(get(None)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.request(get(Some("wrong"))).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.request(get(Some("prom"))).await.status, StatusCode::OK);
    assert_eq!(app.request(get(Some("dash"))).await.status, StatusCode::OK);
    for open in ["/healthz", "/readyz"] {
        assert_eq!(app.get(open).await.status, StatusCode::OK, "{open}");
    }
}

#[tokio::test]
async fn every_event_the_manifest_subscribes_to_has_a_handler() {
    // Without an App every handler that acts fails for want of a client; one that has nothing
    // to do with the event says so.
    let app = TestApp::start_unregistered().await;
    let manifest = crate::server::setup::manifest("https://globallm.example.org");
    let events = manifest["default_events"].as_array().expect("events");
    assert!(!events.is_empty());
    for event in events {
        let name = event.as_str().expect("a name");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/webhooks")
            .join(format!("{name}.json"));
        let body = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let parsed = crate::event::parse(name, &body)
            .expect("parses")
            .unwrap_or_else(|| panic!("the manifest subscribes to `{name}`, which is not parsed"));
        if let Ok(crate::handlers::Handled::Skipped(note)) =
            crate::handlers::dispatch(&app.ctx, parsed).await
        {
            assert!(
                !note.contains("no handler"),
                "the manifest subscribes to `{name}`, which nothing handles"
            );
        }
    }
}
