//! Hardening (issue 14) through the real router: the setup token and the browser-bound,
//! single-use registration; no second registration once an App is configured; the operator's
//! pages and the metrics behind their tokens; every subscribed event handled; the daily
//! prune, what it deletes and what it keeps.

use super::app_flows::cookie_pair;
use crate::db::installations::{self, InstallationFields};
use crate::github::app::AppCredentials;
use crate::github::ids::{InstallationId, RepoId};
use crate::jobs::prune::{self, PruneReport};
use crate::jobs::{BackgroundJob as _, scheduler};
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

#[tokio::test]
async fn the_scheduler_enqueues_one_prune_a_day() {
    let app = TestApp::start_unregistered().await;
    let entries: Vec<_> = scheduler::entries()
        .into_iter()
        .filter(|entry| entry.kind == prune::Prune::KIND)
        .collect();
    let day = 24 * 60 * 60 * 1000;
    // Two days ago, so both days' jobs are due now.
    let t0 = (crate::time::now_ms() / day - 2) * day;
    let tick = |now| scheduler::tick(&app.ctx, &entries, now);
    assert_eq!(tick(t0 + 1_000).await.expect("tick"), 1);
    assert_eq!(tick(t0 + 3_600_000).await.expect("tick"), 0, "same day");
    assert_eq!(tick(t0 + day).await.expect("tick"), 1, "the next day");
    assert_eq!(app.drain().await, 2, "the prune jobs run");
}

async fn exec(app: &TestApp, sql: &'static str, binds: &[i64]) {
    let mut query = sqlx::query(sql);
    for value in binds {
        query = query.bind(*value);
    }
    let mut tx = app.ctx.db.write().await.expect("write");
    query.execute(tx.conn()).await.expect(sql);
    tx.commit().await.expect("commit");
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.ctx.db.pool())
        .await
        .expect(sql)
}

const DELIVERY: &str =
    "INSERT INTO deliveries (id, delivery_guid, event, headers, body, received_at, outcome)
     VALUES ($1, 'guid-' || $2, 'issues', '{}', $5, $3, $4)";

#[tokio::test]
async fn prune_deletes_old_finished_history_in_batches_and_keeps_what_is_needed() {
    let app = TestApp::start_unregistered().await;
    let day = 24 * 60 * 60 * 1000;
    let now = 1_800_000_000_000;
    let old = now - 31 * day;
    let recent = now - day;

    // 1,234 old processed deliveries: more than two batches.
    let mut tx = app.ctx.db.write().await.expect("write");
    for id in 1..=1_234 {
        sqlx::query(DELIVERY)
            .bind(id)
            .bind(id)
            .bind(old)
            .bind("processed")
            .bind(b"{}".as_slice())
            .execute(tx.conn())
            .await
            .expect("insert");
    }
    tx.commit().await.expect("commit");
    let keep = [
        (5_001, recent, "processed"), // within the retention
        (5_002, old, "queued"),       // not processed yet
        (5_003, old, "failed"),       // its job is waiting for a retry
    ];
    for (id, at, outcome) in keep {
        let mut tx = app.ctx.db.write().await.expect("write");
        sqlx::query(DELIVERY)
            .bind(id)
            .bind(id)
            .bind(at)
            .bind(outcome)
            .bind(b"{}".as_slice())
            .execute(tx.conn())
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
    }
    exec(
        &app,
        "INSERT INTO jobs (kind, payload, max_attempts, run_at, delivery_id, created_at, updated_at)
         VALUES ('process_delivery', '{}', 8, $1, 5003, $1, $1)",
        &[now + day],
    )
    .await;
    // A dead job past the retention, and its delivery: both go.
    exec(
        &app,
        "INSERT INTO deliveries (id, delivery_guid, event, headers, body, received_at, outcome)
         VALUES (6001, 'dead', 'issues', '{}', '', $1, 'failed')",
        &[old],
    )
    .await;
    exec(
        &app,
        "INSERT INTO jobs (kind, payload, state, max_attempts, run_at, delivery_id, created_at, updated_at)
         VALUES ('process_delivery', '{}', 'dead', 8, $1, 6001, $1, $1)",
        &[old],
    )
    .await;
    exec(
        &app,
        "INSERT INTO command_runs (repo, comment_id, verb, occurrence, outcome, ran_at)
         VALUES ('a/b', 1, 'fix', 0, 'done', $1), ('a/b', 2, 'fix', 0, 'done', $2)",
        &[old, recent],
    )
    .await;
    exec(
        &app,
        "INSERT INTO redelivery_requests (guid, hook_delivery_id, requests, requested_at)
         VALUES ('g1', 1, 1, $1), ('g2', 2, 1, $2)",
        &[old, recent],
    )
    .await;
    // A budget window that ended long ago, and the current one.
    let old_window = now - 60 * day;
    exec(
        &app,
        "INSERT INTO budget_reservations (id, window_start, repo, language, purpose, state,
             tokens_reserved, seconds_reserved, fix_attempts, created_at, expires_at)
         VALUES (1, $1, 'a/b', 'rust', 'triage', 'settled', 10, 0, 0, $1, $1),
                (2, $2, 'a/b', 'rust', 'triage', 'active', 10, 0, 0, $2, $2)",
        &[old_window, now - day],
    )
    .await;
    exec(
        &app,
        "INSERT INTO budget_ledger (reservation_id, event, window_start, repo, language, at)
         VALUES (1, 'reserve', $1, 'a/b', 'rust', $1), (2, 'reserve', $2, 'a/b', 'rust', $2)",
        &[old_window, now - day],
    )
    .await;
    exec(
        &app,
        "INSERT INTO budget_usage (window_start, scope, tokens) VALUES ($1, 'all', 10), ($2, 'all', 10)",
        &[old_window, now - day],
    )
    .await;
    // Discovery: three old finished runs (the newest two stay) and a running one.
    for (id, state) in [
        (1, "finished"),
        (2, "finished"),
        (3, "finished"),
        (4, "running"),
    ] {
        let mut tx = app.ctx.db.write().await.expect("write");
        sqlx::query(
            "INSERT INTO discovery_runs (id, trigger, languages, min_stars, state, started_at)
             VALUES ($1, 'manual', 'rust', 1000, $2, $3)",
        )
        .bind(id)
        .bind(state)
        .bind(old)
        .execute(tx.conn())
        .await
        .expect("run");
        for n in 0..3 {
            sqlx::query(
                "INSERT INTO discovered_repos (run_id, repo, github_id, language, stars, archived,
                     disabled, fork, mirror) VALUES ($1, $2, $3, 'rust', 5000, 0, 0, 0, 0)",
            )
            .bind(id)
            .bind(format!("o/r{n}"))
            .bind(n)
            .execute(tx.conn())
            .await
            .expect("repo");
        }
        tx.commit().await.expect("commit");
    }

    let report = prune::prune(&app.ctx.db, 30, now).await.expect("pruned");
    assert_eq!(
        report,
        PruneReport {
            deliveries: 1_235,
            dead_jobs: 1,
            command_runs: 1,
            redelivery_requests: 1,
            budget_rows: 3,
            discovery_runs: 1,
        }
    );
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM deliveries ORDER BY id")
        .fetch_all(app.ctx.db.pool())
        .await
        .expect("ids");
    assert_eq!(ids, vec![5_001, 5_002, 5_003]);
    for (sql, left) in [
        ("SELECT count(*) FROM jobs", 1),
        ("SELECT count(*) FROM command_runs", 1),
        ("SELECT count(*) FROM redelivery_requests", 1),
        ("SELECT count(*) FROM budget_ledger", 1),
        ("SELECT count(*) FROM budget_reservations", 1),
        ("SELECT count(*) FROM budget_usage", 1),
        ("SELECT count(*) FROM discovered_repos", 9),
    ] {
        assert_eq!(count(&app, sql).await, left, "{sql}");
    }
    let runs: Vec<i64> = sqlx::query_scalar("SELECT id FROM discovery_runs ORDER BY id")
        .fetch_all(app.ctx.db.pool())
        .await
        .expect("runs");
    assert_eq!(
        runs,
        vec![2, 3, 4],
        "the newest two finished runs and the running one stay"
    );
    assert_eq!(
        prune::prune(&app.ctx.db, 30, now).await.expect("pruned"),
        PruneReport::default(),
        "a second pass finds nothing"
    );
}
