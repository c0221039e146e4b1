//! The GitHub App end to end: installation events from real deliveries, registration through
//! the manifest flow with processing starting without a restart, the per-repository config and
//! its check on pull requests, the catch-up of failed deliveries, and the scheduler.

use crate::db::{deliveries, installations};
use crate::event::model::{InstallationAction, InstallationRepositoriesAction};
use crate::event::{self, Event};
use crate::github::ids::{InstallationId, RepoName};
use crate::github::repo_config::CONFIG_CHECK;
use crate::github::repo_config::{self, RepoConfig};
use crate::jobs::{catch_up, scheduler};
use crate::testing::fake_github::{self, APP_ID};
use crate::testing::harness::{INSTALLATION, TestApp, shared_payload};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

const REPO: &str = "acme/widgets";

#[tokio::test]
async fn installation_events_from_real_deliveries_keep_the_database_current() {
    let app = TestApp::start().await;
    let files = [
        "webhooks/installation/created.payload.json",
        "webhooks/installation_repositories/added.payload.json",
        "webhooks/installation/new_permissions_accepted.payload.json",
        "webhooks/installation/suspend.payload.json",
        "webhooks/installation/unsuspend.payload.json",
        "webhooks/installation/deleted.payload.json",
        "webhooks/installation_repositories/removed.payload.json",
    ];
    for file in files {
        let Some(body) = shared_payload(file) else {
            return;
        };
        let event_name = if file.contains("installation_repositories") {
            "installation_repositories"
        } else {
            "installation"
        };
        let (_, answer) = app.deliver(event_name, &body).await;
        assert_eq!(
            answer.status,
            StatusCode::ACCEPTED,
            "{file}: {}",
            answer.body
        );
        assert!(app.drain().await >= 1, "{file}");

        let pool = app.ctx.db.pool();
        let stored = installations::list(pool).await.expect("listed");
        match event::parse(event_name, &body)
            .expect("parses")
            .expect("known")
        {
            Event::Installation(e) => {
                let row = stored.iter().find(|i| i.id == e.installation.id.as_db());
                match e.action {
                    InstallationAction::Deleted => {
                        assert!(row.is_none(), "{file}: the installation is forgotten")
                    }
                    action => {
                        let row = row.unwrap_or_else(|| panic!("{file}: installation stored"));
                        assert_eq!(row.account_login, e.installation.account.login, "{file}");
                        assert_eq!(
                            row.suspended_at.is_some(),
                            action == InstallationAction::Suspend,
                            "{file}"
                        );
                        let repos = installations::repos_of(pool, e.installation.id)
                            .await
                            .expect("listed");
                        for repo in &e.repositories {
                            assert!(
                                repos.iter().any(|r| r.full_name == repo.name.to_string()),
                                "{file}: {} tracked",
                                repo.name
                            );
                        }
                    }
                }
            }
            Event::InstallationRepositories(e) => {
                let repos = installations::repos_of(pool, e.installation.id)
                    .await
                    .expect("listed");
                let names: Vec<&str> = repos.iter().map(|r| r.full_name.as_str()).collect();
                match e.action {
                    InstallationRepositoriesAction::Added => {
                        for repo in &e.added {
                            assert!(
                                names.contains(&repo.name.to_string().as_str()),
                                "{file}: {names:?}"
                            );
                        }
                    }
                    _ => {
                        for repo in &e.removed {
                            assert!(
                                !names.contains(&repo.name.to_string().as_str()),
                                "{file}: {names:?}"
                            );
                        }
                    }
                }
            }
            other => panic!("{file}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn registering_with_the_manifest_flow_starts_processing_without_a_restart() {
    let app = TestApp::start_unregistered_with_env(&[("GLOBALLM_DASHBOARD_TOKEN", "dash")]).await;

    // Before: no App, so no secret, so webhooks are refused.
    let (_, refused) = app.deliver("ping", b"{}").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);

    // The operator reads the setup token from the data directory and opens `/` with it.
    let locked = app.get("/").await;
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED, "{}", locked.body);
    let token = crate::server::setup_token::read_token_file(&app.setup.token_path())
        .expect("the setup token file");
    let exchanged = app.get(&format!("/?token={token}")).await;
    assert_eq!(exchanged.status, StatusCode::SEE_OTHER);
    assert_eq!(exchanged.location.as_deref(), Some("/"));
    let setup_cookie = cookie_pair(&exchanged.cookies, "globallm_setup");
    let page = app.get_with_cookies("/", &[&setup_cookie]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Register the GitHub App"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("https://globallm.example.org/webhook")
            && page
                .body
                .contains("https://globallm.example.org/app/callback"),
        "the manifest points GitHub at server.public_url: {}",
        page.body
    );

    let manifest = crate::server::setup::manifest("https://globallm.example.org").to_string();
    let form = |target: &str, org: &str| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("manifest", &manifest)
            .append_pair("target", target)
            .append_pair("org", org)
            .finish();
        Request::post("/app/register")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &setup_cookie)
            .body(Body::from(body))
            .expect("a request")
    };
    let redirect = app.request(form("organization", "acme")).await;
    assert_eq!(
        redirect.status,
        StatusCode::TEMPORARY_REDIRECT,
        "the browser posts the same form to GitHub"
    );
    let location = redirect.location.expect("a location");
    assert!(
        location.starts_with(&format!(
            "{}/organizations/acme/settings/apps/new?state=",
            app.github.api_url
        )),
        "{location}"
    );
    let personal = app.request(form("personal", "")).await;
    let location = personal.location.expect("a location");
    assert!(
        location.starts_with(&format!("{}/settings/apps/new?state=", app.github.api_url)),
        "{location}"
    );
    let state = location.split("state=").nth(1).expect("a state").to_owned();
    let browser = cookie_pair(&personal.cookies, "globallm_registration");
    assert_eq!(
        app.request(form("organization", "bad name!")).await.status,
        StatusCode::BAD_REQUEST
    );

    // GitHub created the App and sends the browser back with a code.
    app.github
        .world()
        .manifest_codes
        .insert("code-123".into(), fake_github::test_app());
    let forged = app
        .get_with_cookies(
            "/app/callback?code=code-123&state=not-ours",
            &[&setup_cookie, &browser],
        )
        .await;
    assert_eq!(
        forged.status,
        StatusCode::BAD_REQUEST,
        "a state we did not hand out is refused"
    );
    let done = app
        .get_with_cookies(
            &format!("/app/callback?code=code-123&state={state}"),
            &[&setup_cookie, &browser],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains("globallm-test") && done.body.contains("installations/new"),
        "{}",
        done.body
    );
    assert!(
        !app.setup.token_path().exists(),
        "the setup token is used up by the registration"
    );

    let stored = app
        .dir
        .path()
        .join("data")
        .join(crate::github::app::CREDENTIALS_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&stored)
            .expect("stored")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(
            mode, 0o600,
            "only the service's user can read the credentials"
        );
    }
    let config = app.ctx.config();
    assert_eq!(
        config.github.app_id,
        Some(APP_ID),
        "the configuration was reloaded"
    );
    assert_eq!(
        config.github.app_slug.as_deref(),
        Some(fake_github::APP_SLUG)
    );

    // After: deliveries signed with the new App's secret are processed, and the App can
    // authenticate with its stored key.
    let (_, accepted) = app.deliver("ping", b"{\"zen\":\"Hello\"}").await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    assert_eq!(app.drain().await, 1);
    let github = app.ctx.github().expect("a client");
    assert_eq!(
        github
            .get_app()
            .await
            .expect("the stored key signs a valid JWT")
            .id
            .0,
        APP_ID
    );
    let page = app.get("/?token=dash").await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "now behind the dashboard token"
    );
    let dashboard_cookie = cookie_pair(&page.cookies, "globallm_dashboard");
    let page = app.get_with_cookies("/", &[&dashboard_cookie]).await;
    assert!(
        page.body
            .contains("Registered as the GitHub App <b>globallm-test</b>"),
        "{}",
        page.body
    );
    let replay = app
        .get_with_cookies(
            &format!("/app/callback?code=code-123&state={state}"),
            &[&setup_cookie, &browser],
        )
        .await;
    assert_eq!(
        replay.status,
        StatusCode::CONFLICT,
        "an App is configured: no second registration"
    );
}

/// `name=value` of the cookie `name` among `Set-Cookie` headers.
pub(crate) fn cookie_pair(cookies: &[String], name: &str) -> String {
    cookies
        .iter()
        .filter_map(|c| c.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
        .to_owned()
}

#[tokio::test]
async fn the_repository_config_is_read_validated_and_cached_by_sha() {
    let app = TestApp::start().await;
    app.github.add_repo(REPO, INSTALLATION);
    let github = app.ctx.github().expect("a client");
    let repo: RepoName = REPO.parse().expect("name");
    let inst = InstallationId(INSTALLATION);
    let configs = &app.ctx.repo_configs;

    assert_eq!(
        configs.get(&github, inst, &repo).await,
        RepoConfig::default(),
        "missing: the defaults"
    );
    assert_eq!(
        configs.get(&github, inst, &repo).await,
        RepoConfig::default()
    );
    let misses = app
        .github
        .calls()
        .iter()
        .filter(|c| c.path.contains("/contents/"))
        .count();
    assert_eq!(
        misses, 1,
        "a missing file is not asked for again within a minute"
    );

    // Another process (or a minute later): the file is there now.
    let configs = &crate::github::repo_config::RepoConfigs::default();
    app.github
        .put_file(REPO, repo_config::PATH, "automerge: low\nmax_open_prs: 1\n");
    let valid = configs.get(&github, inst, &repo).await;
    assert_eq!(
        (valid.automerge, valid.max_open_prs),
        (Some(crate::config::Automerge::Low), 1)
    );
    assert_eq!(configs.get(&github, inst, &repo).await, valid);
    let reads: Vec<u16> = app
        .github
        .calls()
        .iter()
        .filter(|c| c.path.contains("/contents/"))
        .map(|c| c.status)
        .collect();
    assert_eq!(
        reads,
        [404, 200, 304],
        "unchanged files are revalidated, not fetched again"
    );

    app.github
        .put_file(REPO, repo_config::PATH, "automerge: sometimes\n");
    assert_eq!(
        configs.get(&github, inst, &repo).await,
        valid,
        "an invalid file keeps the last valid config"
    );
}

#[tokio::test]
async fn a_pull_request_changing_the_repository_config_gets_a_check_run() {
    let app = TestApp::start().await;
    app.github.add_repo(REPO, INSTALLATION);
    let pull = |number: u64, sha: &str| {
        json!({
            "action": "opened",
            "number": number,
            "installation": { "id": INSTALLATION },
            "sender": { "login": "maria-dev", "id": 31, "type": "User" },
            "repository": { "id": 1, "full_name": REPO, "default_branch": "main" },
            "pull_request": {
                "number": number, "title": "Tune GlobalLM", "state": "open", "node_id": "PR_1",
                "user": { "login": "maria-dev", "id": 31, "type": "User" },
                "head": { "ref": "tune", "sha": sha, "repo": { "full_name": REPO } },
                "base": { "ref": "main", "sha": "0000000000000000000000000000000000000001", "repo": { "full_name": REPO } },
            },
        })
        .to_string()
        .into_bytes()
    };
    let add_pull = |number: u64, sha: &str, files: &[&str]| {
        let mut world = app.github.world();
        let repo = world.repos.get_mut(REPO).expect("repo");
        repo.pulls.insert(
            number,
            fake_github::world::FakePull {
                number,
                node_id: format!("PR_{number}"),
                title: "t".into(),
                body: String::new(),
                author: "maria-dev".into(),
                head_branch: format!("b{number}"),
                head_sha: sha.into(),
                base_branch: "main".into(),
                draft: false,
                state: "open".into(),
                merged: false,
                merge_sha: None,
                merge_method: None,
                mergeable: Some(true),
                requested_reviewers: Vec::new(),
                files: files
                    .iter()
                    .map(|f| ((*f).to_owned(), "modified".to_owned(), 1, 1))
                    .collect(),
            },
        );
    };

    // The fake serves one version of the file for every ref: invalid first.
    app.github
        .put_file(REPO, repo_config::PATH, "enabeld: false\n");
    add_pull(10, "a".repeat(40).as_str(), &[repo_config::PATH]);
    app.deliver("pull_request", &pull(10, &"a".repeat(40)))
        .await;
    app.drain().await;
    let runs = app.github.world().repos[REPO].check_runs.clone();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].name.as_str(), runs[0].conclusion.as_deref()),
        (CONFIG_CHECK, Some("failure"))
    );
    assert!(
        runs[0]
            .summary
            .contains("unknown key `enabeld`; did you mean `enabled`?"),
        "{}",
        runs[0].summary
    );

    // The same delivery again adds nothing.
    app.deliver("pull_request", &pull(10, &"a".repeat(40)))
        .await;
    app.drain().await;
    assert_eq!(app.github.world().repos[REPO].check_runs.len(), 1);

    app.github
        .put_file(REPO, repo_config::PATH, "enabled: false\n");
    add_pull(
        11,
        "b".repeat(40).as_str(),
        &[repo_config::PATH, "README.md"],
    );
    app.deliver("pull_request", &pull(11, &"b".repeat(40)))
        .await;
    add_pull(12, "c".repeat(40).as_str(), &["src/lib.rs"]);
    app.deliver("pull_request", &pull(12, &"c".repeat(40)))
        .await;
    app.drain().await;
    let runs = app.github.world().repos[REPO].check_runs.clone();
    assert_eq!(
        runs.len(),
        2,
        "a pull request not touching the file gets no check"
    );
    assert_eq!(runs[1].conclusion.as_deref(), Some("success"));
    assert!(
        app.github.unseen_bot_comments().is_empty(),
        "the check needs no comment"
    );
}

#[tokio::test]
async fn catch_up_redelivers_a_delivery_that_never_arrived_exactly_once() {
    let app = TestApp::start().await;
    let ping = br#"{"zen":"Design for failure.","hook_id":1}"#;
    // Arrived and processed, but GitHub's log shows the attempt as failed (the 202 was lost).
    let arrived = "11111111-aaaa-4aaa-8aaa-000000000001";
    app.deliver_as(arrived, "ping", ping).await;
    let never = "22222222-bbbb-4bbb-8bbb-000000000002";
    let fine = "33333333-cccc-4ccc-8ccc-000000000003";
    {
        let mut world = app.github.world();
        let now = world.now();
        for (id, guid, status) in [(1, arrived, 0), (2, never, 502), (3, fine, 202)] {
            world
                .hook_deliveries
                .push(fake_github::world::FakeHookDelivery {
                    id,
                    guid: guid.into(),
                    event: "ping".into(),
                    status_code: status,
                    redelivery: false,
                    delivered_at: now - 60_000,
                });
        }
    }
    let report = catch_up::catch_up(&app.ctx).await.expect("ran");
    assert_eq!((report.seen, report.failed, report.redelivered), (3, 1, 1));
    assert_eq!(
        app.github.world().redeliveries,
        [2],
        "only the delivery that never arrived"
    );

    // GitHub sends it again, with its id.
    let answer = app.deliver_as(never, "ping", ping).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    app.drain().await;
    let stored = deliveries::get_by_guid(app.ctx.db.pool(), never)
        .await
        .expect("query")
        .expect("stored");
    assert_eq!(stored.outcome, "processed");

    // The next pass finds nothing to do, and a second copy would be a duplicate.
    let report = catch_up::catch_up(&app.ctx).await.expect("ran");
    assert_eq!(report.redelivered, 0);
    assert_eq!(app.github.world().redeliveries, [2]);
    let again = app.deliver_as(never, "ping", ping).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.body.contains("duplicate"));
}

#[tokio::test]
async fn the_scheduler_enqueues_catch_up_once_per_slot() {
    let app = TestApp::start().await;
    let entries: Vec<_> = scheduler::entries()
        .into_iter()
        .filter(|entry| entry.kind == <crate::jobs::CatchUp as crate::jobs::BackgroundJob>::KIND)
        .collect();
    let t0 = 1_800_000_000_000;
    assert_eq!(
        scheduler::tick(&app.ctx, &entries, t0).await.expect("tick"),
        1
    );
    assert_eq!(
        scheduler::tick(&app.ctx, &entries, t0 + 1_000)
            .await
            .expect("tick"),
        0,
        "same ten minutes"
    );
    assert_eq!(
        scheduler::tick(&app.ctx, &entries, t0 + 600_000)
            .await
            .expect("tick"),
        1,
        "the next slot"
    );

    let unregistered = TestApp::start_unregistered().await;
    assert_eq!(
        scheduler::tick(&unregistered.ctx, &entries, t0)
            .await
            .expect("tick"),
        0,
        "no App, no catch-up"
    );
}

#[tokio::test]
async fn a_new_installation_triages_its_open_issues_once() {
    let app = TestApp::start().await;
    app.github.add_repo(REPO, INSTALLATION);
    let first = app.github.add_issue(
        REPO,
        "Crash on start",
        "Traceback (most recent call last):\nValueError: bad config",
        "a",
    );
    let second = app.github.add_issue(
        REPO,
        "Support YAML anchors",
        "It would be nice to support anchors.",
        "b",
    );
    let created = app.github.installation_created(REPO);
    app.deliver("installation", &created).await;
    app.drain().await;
    for number in [first, second] {
        assert_eq!(app.github.labels(REPO, number).len(), 2, "#{number}");
        assert_eq!(app.github.comments(REPO, number).len(), 1, "#{number}");
    }
    // The same installation event again (a redelivery under a new id) triages nothing twice.
    let mark = app.github.calls().len();
    app.deliver("installation", &created).await;
    app.drain().await;
    assert!(
        app.github.calls_since(mark).is_empty(),
        "the backfill ran once"
    );
}
