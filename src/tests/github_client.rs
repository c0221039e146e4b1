//! The GitHub client against the fake GitHub: authentication, token caching, every API
//! method, retries, rate limits (on a manual clock, never sleeping), ETags, pacing, pagination
//! and GitHub Enterprise Server paths.

use crate::clock::ManualClock;
use crate::github::auth::AppAuth;
use crate::github::ids::{AppId, CommentId, InstallationId, IssueNumber, RepoName};
use crate::github::model::{CheckRunOutput, Label, NewCheckRun, NewPullRequest, Permission};
use crate::github::repo_config::MergeMethod;
use crate::github::{Auth, GithubClient, GithubError, Settings};
use crate::testing::fake_github::{self, APP_ID, Caller, FakeGithub};
use std::sync::Arc;
use std::time::Duration;

const INSTALLATION: InstallationId = InstallationId(77);
const REPO: &str = "acme/widgets";

fn repo() -> RepoName {
    REPO.parse().expect("a repository name")
}

struct Scene {
    fake: FakeGithub,
    clock: Arc<ManualClock>,
    client: GithubClient,
}

async fn scene() -> Scene {
    scene_with(|s| s).await
}

async fn scene_with(settings: impl FnOnce(Settings) -> Settings) -> Scene {
    let clock = Arc::new(ManualClock::new(crate::time::now_ms()));
    let fake = FakeGithub::start(clock.clone()).await;
    fake.add_repo(REPO, INSTALLATION.0);
    let client = client_for(&fake.api_url, clock.clone(), settings);
    Scene {
        fake,
        clock,
        client,
    }
}

fn client_for(
    api_url: &str,
    clock: Arc<ManualClock>,
    settings: impl FnOnce(Settings) -> Settings,
) -> GithubClient {
    let app = AppAuth::new(AppId(APP_ID), fake_github::private_key_pem().as_bytes())
        .expect("the test key loads");
    GithubClient::new(settings(Settings::new(api_url)), Some(app), clock)
        .expect("the client builds")
}

fn token_mints(fake: &FakeGithub) -> usize {
    fake.calls()
        .iter()
        .filter(|c| c.path.ends_with("/access_tokens"))
        .count()
}

#[tokio::test]
async fn the_apps_jwt_is_accepted_and_a_wrong_one_refused() {
    let scene = scene().await;
    let app = scene.client.get_app().await.expect("the JWT verifies");
    assert_eq!(
        (app.id, app.slug.as_str()),
        (AppId(APP_ID), fake_github::APP_SLUG)
    );

    // Signed by the right key but claiming another App.
    let impostor =
        AppAuth::new(AppId(1), fake_github::private_key_pem().as_bytes()).expect("loads");
    let client = GithubClient::new(
        Settings::new(&scene.fake.api_url),
        Some(impostor),
        scene.clock.clone(),
    )
    .expect("builds");
    assert!(
        matches!(client.get_app().await, Err(GithubError::Unauthorized(m)) if m.contains("iss"))
    );

    // A JWT from twenty minutes ago has expired.
    let stale = AppAuth::new(AppId(APP_ID), fake_github::private_key_pem().as_bytes())
        .expect("loads")
        .jwt(scene.clock.now_ms_for_test() - 20 * 60 * 1000)
        .expect("signs");
    let answer = reqwest::Client::new()
        .get(format!("{}/app", scene.fake.api_url))
        .bearer_auth(stale)
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 401);
}

impl ManualClock {
    fn now_ms_for_test(&self) -> i64 {
        crate::clock::Clock::now_ms(self)
    }
}

#[tokio::test]
async fn installation_tokens_are_cached_then_replaced_five_minutes_before_they_expire() {
    let scene = scene().await;
    scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect("first call");
    scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect("second call");
    assert_eq!(token_mints(&scene.fake), 1, "the token is reused");

    // Tokens live an hour: at 54 minutes six are left, still reused …
    scene.clock.advance(Duration::from_secs(54 * 60));
    scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect("call");
    assert_eq!(token_mints(&scene.fake), 1);
    // … at 56 minutes four are left, so a new token is minted first.
    scene.clock.advance(Duration::from_secs(2 * 60));
    scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect("call");
    assert_eq!(token_mints(&scene.fake), 2);
    assert!(
        scene.fake.calls().iter().all(|c| c.status != 401),
        "no call ever went out with an expired token"
    );
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once() {
    let scene = scene().await;
    scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect("call");
    scene.fake.world().tokens.clear();
    scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect("succeeds with a new token");
    assert_eq!(token_mints(&scene.fake), 2);
}

#[tokio::test]
async fn issues_labels_comments_and_reactions() {
    let scene = scene().await;
    let (client, fake) = (&scene.client, &scene.fake);
    let number =
        IssueNumber(fake.add_issue(REPO, "Crash on empty manifest", "IndexError", "maria-dev"));

    let issue = client
        .get_issue(INSTALLATION, &repo(), number)
        .await
        .expect("get issue");
    assert_eq!(
        (issue.title.as_str(), issue.author.login.as_str()),
        ("Crash on empty manifest", "maria-dev")
    );

    let label = Label {
        name: "globallm:type/bug".into(),
        color: "d73a4a".into(),
        description: Some("A bug".into()),
    };
    client
        .ensure_label(INSTALLATION, &repo(), &label)
        .await
        .expect("created");
    client
        .ensure_label(INSTALLATION, &repo(), &label)
        .await
        .expect("found, not created twice");
    assert_eq!(
        fake.calls()
            .iter()
            .filter(|c| c.method == "POST" && c.path.ends_with("/labels"))
            .count(),
        1
    );
    assert_eq!(
        fake.world().repos[REPO].labels["globallm:type/bug"].0,
        "d73a4a"
    );

    let labels = vec![
        "globallm:type/bug".to_owned(),
        "globallm:priority/high".to_owned(),
    ];
    client
        .add_labels(INSTALLATION, &repo(), number, &labels)
        .await
        .expect("labelled");
    client
        .remove_label(INSTALLATION, &repo(), number, "globallm:priority/high")
        .await
        .expect("removed");
    client
        .remove_label(INSTALLATION, &repo(), number, "not-there")
        .await
        .expect("a missing label is fine");
    assert_eq!(fake.labels(REPO, number.0), ["globallm:type/bug"]);

    let comment = client
        .create_comment(
            INSTALLATION,
            &repo(),
            number,
            "triage",
            "<!-- globallm:triage -->\nfirst",
        )
        .await
        .expect("created");
    assert_eq!(comment.author.login, "globallm-test[bot]");
    client
        .update_comment(
            INSTALLATION,
            &repo(),
            comment.id,
            "<!-- globallm:triage -->\nsecond",
        )
        .await
        .expect("updated");
    let found = client
        .find_comment(
            INSTALLATION,
            &repo(),
            number,
            "globallm-test[bot]",
            "<!-- globallm:triage -->",
        )
        .await
        .expect("listed")
        .expect("found by its marker");
    assert_eq!(
        (found.id, found.body.ends_with("second")),
        (comment.id, true)
    );
    client
        .add_reaction(INSTALLATION, &repo(), CommentId(comment.id.0), "eyes")
        .await
        .expect("reacted");
    let comments = fake.comments(REPO, number.0);
    assert_eq!(comments.len(), 1);
    assert_eq!(
        comments[0].reactions,
        [("globallm-test[bot]".to_owned(), "eyes".to_owned())]
    );
}

#[tokio::test]
async fn listing_follows_every_page() {
    let scene = scene().await;
    for n in 0..250 {
        scene
            .fake
            .add_issue(REPO, &format!("issue {n}"), "", "someone");
    }
    let issues = scene
        .client
        .list_open_issues(INSTALLATION, &repo(), 1_000)
        .await
        .expect("listed");
    assert_eq!(issues.len(), 250);
    assert_eq!(issues[249].title, "issue 249");
    let pages = scene
        .fake
        .calls()
        .iter()
        .filter(|c| c.path.ends_with("/issues") && c.method == "GET")
        .count();
    assert_eq!(pages, 3, "100 per page");
    let first_ten = scene
        .client
        .list_open_issues(INSTALLATION, &repo(), 10)
        .await
        .expect("listed");
    assert_eq!(first_ten.len(), 10);
}

#[tokio::test]
async fn pull_requests_checks_statuses_protection_and_permissions() {
    let scene = scene().await;
    let (client, fake) = (&scene.client, &scene.fake);
    let new = NewPullRequest {
        title: "Fix crash".into(),
        head: "globallm/issue-1".into(),
        base: "main".into(),
        body: "Fixes #1".into(),
        draft: true,
    };
    let pull = client
        .create_pull(INSTALLATION, &repo(), &new)
        .await
        .expect("opened");
    assert!(pull.draft);
    let again = client.create_pull(INSTALLATION, &repo(), &new).await;
    assert!(
        matches!(again, Err(GithubError::Validation { status: 422, .. })),
        "{again:?}"
    );
    let open = client
        .pulls_for_branch(INSTALLATION, &repo(), "globallm/issue-1", "open")
        .await
        .expect("listed");
    assert_eq!(open.len(), 1);

    client
        .mark_ready_for_review(INSTALLATION, &pull)
        .await
        .expect("ready");
    assert!(
        !client
            .get_pull(INSTALLATION, &repo(), pull.number)
            .await
            .expect("get")
            .draft
    );
    client
        .request_reviewers(INSTALLATION, &repo(), pull.number, &["lead".to_owned()])
        .await
        .expect("requested");

    let sha = pull.head.sha.0.clone();
    let run = NewCheckRun {
        name: "GlobalLM config".into(),
        head_sha: sha.clone(),
        status: "completed".into(),
        conclusion: Some("success".into()),
        output: CheckRunOutput {
            title: "valid".into(),
            summary: "ok".into(),
        },
    };
    client
        .create_check_run(INSTALLATION, &repo(), &run)
        .await
        .expect("created");
    let runs = client
        .check_runs(INSTALLATION, &repo(), &sha)
        .await
        .expect("listed");
    assert_eq!(
        (runs.len(), runs[0].conclusion.as_deref()),
        (1, Some("success"))
    );
    fake.world()
        .repos
        .get_mut(REPO)
        .expect("repo")
        .statuses
        .push((sha.clone(), "ci/legacy".into(), "success".into()));
    let status = client
        .combined_status(INSTALLATION, &repo(), &sha)
        .await
        .expect("status");
    assert_eq!(
        (status.state.as_str(), status.statuses.len()),
        ("success", 1)
    );

    assert_eq!(
        client
            .required_checks(INSTALLATION, &repo(), "main")
            .await
            .expect("read"),
        None
    );
    fake.world()
        .repos
        .get_mut(REPO)
        .expect("repo")
        .protection
        .insert("main".into(), vec!["test".into()]);
    let required = client
        .required_checks(INSTALLATION, &repo(), "main")
        .await
        .expect("read")
        .expect("protected");
    assert_eq!(required.contexts, ["test"]);

    fake.world()
        .repos
        .get_mut(REPO)
        .expect("repo")
        .collaborators
        .insert("lead".into(), "maintain".into());
    assert_eq!(
        client
            .collaborator_permission(INSTALLATION, &repo(), "lead")
            .await
            .expect("read"),
        Permission::Maintain
    );
    assert!(
        !client
            .collaborator_permission(INSTALLATION, &repo(), "drive-by")
            .await
            .expect("read")
            .can_write()
    );

    let merged = client
        .merge_pull(
            INSTALLATION,
            &repo(),
            pull.number,
            "0000000000000000000000000000000000000bad",
            "t",
            MergeMethod::Squash,
        )
        .await;
    assert!(
        matches!(merged, Err(GithubError::Validation { status: 409, .. })),
        "a moved head is refused: {merged:?}"
    );
    let merged = client
        .merge_pull(
            INSTALLATION,
            &repo(),
            pull.number,
            &sha,
            "Fix crash (#2)",
            MergeMethod::Squash,
        )
        .await
        .expect("merged");
    assert!(merged.merged);
}

#[tokio::test]
async fn repositories_contents_installations_and_search() {
    let scene = scene().await;
    let (client, fake) = (&scene.client, &scene.fake);
    fake.put_file(REPO, ".github/globallm.yml", "enabled: true\n");
    let file = client
        .get_file(INSTALLATION, &repo(), ".github/globallm.yml", None)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(file.content, b"enabled: true\n");
    assert_eq!(file.sha, fake_github::blob_sha(b"enabled: true\n"));
    assert_eq!(
        client
            .get_file(INSTALLATION, &repo(), "missing.yml", None)
            .await
            .expect("read"),
        None
    );

    let repository = client.get_repo(INSTALLATION, &repo()).await.expect("read");
    assert_eq!(repository.default_branch, "main");
    let repos = client
        .installation_repositories(INSTALLATION)
        .await
        .expect("listed");
    assert_eq!(
        repos.iter().map(|r| r.name.to_string()).collect::<Vec<_>>(),
        [REPO]
    );
    assert_eq!(
        client.repo_installation(&repo()).await.expect("found").id,
        INSTALLATION
    );
    let elsewhere: RepoName = "other/repo".parse().expect("name");
    assert!(
        matches!(client.repo_installation(&elsewhere).await, Err(GithubError::NotFound(m)) if m.contains("not installed"))
    );
    assert_eq!(
        client.list_installations().await.expect("listed")[0].id,
        INSTALLATION
    );

    fake.add_issue(REPO, "Panic in parser", "stack trace", "a");
    fake.add_issue(REPO, "Docs typo", "", "b");
    let found = client
        .search_issues(INSTALLATION, &format!("repo:{REPO} panic"), 10)
        .await
        .expect("searched");
    assert_eq!(
        found.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(),
        ["Panic in parser"]
    );
    let page = client
        .search_repository_page(
            Auth::Installation(INSTALLATION),
            "language:python stars:>1000",
            1,
        )
        .await
        .expect("searched");
    assert_eq!(page.total_count, 1);
}

#[tokio::test]
async fn a_repository_outside_the_installation_is_not_found() {
    let scene = scene().await;
    scene.fake.add_repo("other/secret", 99);
    let other: RepoName = "other/secret".parse().expect("name");
    assert!(matches!(
        scene.client.get_repo(INSTALLATION, &other).await,
        Err(GithubError::NotFound(_))
    ));
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_reported() {
    let scene = scene().await;
    scene.fake.fail("/repos/acme/widgets", 502, 2);
    scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect("succeeds on the third attempt");
    let sleeps = scene.clock.sleeps();
    assert_eq!(sleeps.len(), 2, "{sleeps:?}");
    assert!(
        sleeps[0] >= Duration::from_millis(500) && sleeps[1] >= Duration::from_millis(1_000),
        "{sleeps:?}"
    );

    scene.fake.fail("/repos/acme/widgets", 503, 10);
    let err = scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect_err("gives up");
    assert!(
        matches!(
            err,
            GithubError::Server {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_used_up_rate_limit_is_waited_out_on_the_clock() {
    let scene = scene().await;
    scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect("a first call mints the token");
    let reset_at = scene.clock.now_ms_for_test() + 120_000;
    scene.fake.world().rates.insert(
        INSTALLATION.0.to_string(),
        fake_github::world::Rate {
            remaining: 0,
            reset_at,
        },
    );
    scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect("succeeds after the reset");
    let waited: Duration = scene.clock.sleeps().iter().sum();
    assert!(
        waited >= Duration::from_secs(120) && waited <= Duration::from_secs(125),
        "{waited:?}"
    );
    assert!(scene.clock.now_ms_for_test() >= reset_at);
}

#[tokio::test]
async fn after_an_answer_says_nothing_is_left_the_next_call_waits_first() {
    let scene = scene().await;
    scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect("token");
    let reset_at = scene.clock.now_ms_for_test() + 60_000;
    scene.fake.world().rates.insert(
        INSTALLATION.0.to_string(),
        fake_github::world::Rate {
            remaining: 1,
            reset_at,
        },
    );
    // Not the same read again: that would be a 304, which costs nothing.
    let number = IssueNumber(scene.fake.add_issue(REPO, "t", "", "u"));
    scene
        .client
        .get_issue(INSTALLATION, &repo(), number)
        .await
        .expect("the last one left");
    assert_eq!(
        scene
            .client
            .rate_limit(Auth::Installation(INSTALLATION))
            .map(|l| l.0),
        Some(0)
    );
    let before = scene.fake.calls().len();
    scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect("after waiting");
    assert_eq!(
        scene.fake.calls().len(),
        before + 1,
        "no request was spent on a 403"
    );
    assert!(scene.clock.sleeps().iter().sum::<Duration>() >= Duration::from_secs(60));
}

#[tokio::test]
async fn a_rate_limit_resetting_too_late_is_an_error_not_a_long_sleep() {
    let scene = scene().await;
    scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect("token");
    let reset_at = scene.clock.now_ms_for_test() + 2 * 3_600_000;
    scene.fake.world().rates.insert(
        INSTALLATION.0.to_string(),
        fake_github::world::Rate {
            remaining: 0,
            reset_at,
        },
    );
    let err = scene
        .client
        .get_repo(INSTALLATION, &repo())
        .await
        .expect_err("too long to wait");
    assert!(matches!(err, GithubError::RateLimited { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(scene.clock.sleeps().is_empty());
}

#[tokio::test]
async fn a_secondary_rate_limit_waits_for_retry_after() {
    let scene = scene().await;
    scene.fake.secondary_rate_limit("/issues", 30);
    let number = IssueNumber(scene.fake.add_issue(REPO, "t", "", "u"));
    scene
        .client
        .get_issue(INSTALLATION, &repo(), number)
        .await
        .expect("succeeds after waiting");
    assert!(
        scene.clock.sleeps().contains(&Duration::from_secs(30)),
        "{:?}",
        scene.clock.sleeps()
    );
}

#[tokio::test]
async fn repeated_reads_are_revalidated_and_a_304_costs_no_rate_limit() {
    let scene = scene().await;
    let number = IssueNumber(scene.fake.add_issue(REPO, "t", "", "u"));
    scene
        .client
        .get_issue(INSTALLATION, &repo(), number)
        .await
        .expect("first read");
    let after_first = scene
        .client
        .rate_limit(Auth::Installation(INSTALLATION))
        .expect("known")
        .0;
    let again = scene
        .client
        .get_issue(INSTALLATION, &repo(), number)
        .await
        .expect("second read");
    assert_eq!(again.title, "t");
    let statuses: Vec<u16> = scene
        .fake
        .calls()
        .iter()
        .filter(|c| c.path.ends_with("/issues/1"))
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [200, 304]);
    assert_eq!(
        scene
            .client
            .rate_limit(Auth::Installation(INSTALLATION))
            .expect("known")
            .0,
        after_first
    );

    // A change is seen at once.
    scene
        .fake
        .world()
        .repos
        .get_mut(REPO)
        .expect("repo")
        .issues
        .get_mut(&1)
        .expect("issue")
        .title = "t2".into();
    assert_eq!(
        scene
            .client
            .get_issue(INSTALLATION, &repo(), number)
            .await
            .expect("third read")
            .title,
        "t2"
    );
}

#[tokio::test]
async fn writes_of_one_installation_are_spaced_a_second_apart() {
    let scene = scene_with(|mut s| {
        s.write_interval = Duration::from_secs(1);
        s
    })
    .await;
    let number = IssueNumber(scene.fake.add_issue(REPO, "t", "", "u"));
    for n in 0..3 {
        scene
            .client
            .create_comment(
                INSTALLATION,
                &repo(),
                number,
                &format!("pacing:{n}"),
                &format!("comment {n}"),
            )
            .await
            .expect("commented");
    }
    let sleeps = scene.clock.sleeps();
    assert_eq!(sleeps.len(), 2, "the first write goes at once: {sleeps:?}");
    assert!(
        sleeps.iter().all(|s| *s >= Duration::from_millis(990)),
        "{sleeps:?}"
    );
    assert_eq!(scene.fake.comments(REPO, number.0).len(), 3);
}

#[tokio::test]
async fn github_enterprise_server_paths_work() {
    let clock = Arc::new(ManualClock::new(crate::time::now_ms()));
    let fake = FakeGithub::start_enterprise(clock.clone()).await;
    assert!(fake.api_url.ends_with("/api/v3"));
    fake.add_repo(REPO, INSTALLATION.0);
    let client = client_for(&fake.api_url, clock, |s| s);
    let new = NewPullRequest {
        title: "t".into(),
        head: "b".into(),
        base: "main".into(),
        body: String::new(),
        draft: true,
    };
    let pull = client
        .create_pull(INSTALLATION, &repo(), &new)
        .await
        .expect("REST under /api/v3");
    client
        .mark_ready_for_review(INSTALLATION, &pull)
        .await
        .expect("GraphQL at /api/graphql");
    assert!(
        fake.calls()
            .iter()
            .any(|c| c.path == "/graphql" && c.caller == Caller::Installation(INSTALLATION.0))
    );
}

#[tokio::test]
async fn the_manifest_code_converts_into_the_apps_credentials() {
    let scene = scene().await;
    scene
        .fake
        .world()
        .manifest_codes
        .insert("a1b2c3".into(), fake_github::test_app());
    let app = scene
        .client
        .convert_manifest("a1b2c3")
        .await
        .expect("converted");
    assert_eq!(
        (app.id, app.slug.as_str()),
        (AppId(APP_ID), fake_github::APP_SLUG)
    );
    assert!(app.pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(
        !format!("{app:?}").contains("PRIVATE KEY"),
        "Debug never shows the key"
    );
    assert!(
        matches!(
            scene.client.convert_manifest("a1b2c3").await,
            Err(GithubError::NotFound(_))
        ),
        "codes are single-use"
    );
    assert!(matches!(
        scene.client.convert_manifest("../x").await,
        Err(GithubError::Validation { .. })
    ));
}

#[tokio::test]
async fn hook_deliveries_are_listed_and_redelivered() {
    let scene = scene().await;
    {
        let mut world = scene.fake.world();
        let now = world.now();
        world
            .hook_deliveries
            .push(fake_github::world::FakeHookDelivery {
                id: 9,
                guid: "g-1".into(),
                event: "issues".into(),
                status_code: 502,
                redelivery: false,
                delivered_at: now,
            });
    }
    let deliveries = scene.client.hook_deliveries(100).await.expect("listed");
    assert_eq!((deliveries.len(), deliveries[0].succeeded()), (1, false));
    scene.client.redeliver(9).await.expect("asked");
    assert_eq!(scene.fake.world().redeliveries, [9]);
}

#[tokio::test]
async fn without_app_credentials_app_calls_fail_with_how_to_configure() {
    let clock = Arc::new(ManualClock::new(crate::time::now_ms()));
    let fake = FakeGithub::start(clock.clone()).await;
    let client = GithubClient::new(Settings::new(&fake.api_url), None, clock).expect("builds");
    let err = client.get_app().await.expect_err("no credentials");
    assert!(matches!(err, GithubError::NotConfigured));
    assert!(err.to_string().contains("GLOBALLM_GITHUB_APP_ID"));
}

#[tokio::test]
async fn a_repository_backed_by_git_clones_and_takes_pushes_for_real() {
    let scene = scene().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let bare = scene.fake.add_git_repo(
        "acme/gears",
        INSTALLATION.0,
        dir.path(),
        &[
            ("README.md", "# Gears\n"),
            ("src/lib.rs", "pub fn gear() {}\n"),
        ],
    );
    let gears: RepoName = "acme/gears".parse().expect("name");
    let repository = scene
        .client
        .get_repo(INSTALLATION, &gears)
        .await
        .expect("read");
    let clone_url = repository.clone_url.expect("a clone URL");
    assert!(clone_url.starts_with("file://"), "{clone_url}");

    let work = dir.path().join("work");
    let git = |args: &[&str]| crate::solution::test_support::git(&work, args);
    std::fs::create_dir_all(&work).expect("dir");
    git(&["clone", "--quiet", &clone_url, "."]);
    std::fs::write(work.join("src/lib.rs"), "pub fn gear() -> u8 { 1 }\n").expect("written");
    git(&["checkout", "--quiet", "-b", "globallm/issue-1"]);
    git(&["commit", "--quiet", "-am", "Fix"]);
    git(&["push", "--quiet", "origin", "globallm/issue-1"]);

    let head =
        fake_github::git::branch_head(&bare, "globallm/issue-1").expect("the branch was pushed");
    assert_eq!(head.len(), 40);
    let on_branch = scene
        .client
        .get_file(INSTALLATION, &gears, "src/lib.rs", Some("globallm/issue-1"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(on_branch.content, b"pub fn gear() -> u8 { 1 }\n");
    let on_main = scene
        .client
        .get_file(INSTALLATION, &gears, "src/lib.rs", None)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(on_main.content, b"pub fn gear() {}\n");
    assert_ne!(on_main.sha, on_branch.sha, "real blob ids");
}

#[tokio::test]
async fn an_answer_above_the_body_cap_fails_clearly_and_a_small_one_is_read() {
    let scene = scene_with(|s| Settings {
        max_response_bytes: 64 * 1024,
        ..s
    })
    .await;
    let small = scene
        .fake
        .add_issue(REPO, "Small", "a short body", "octocat");
    let huge = scene
        .fake
        .add_issue(REPO, "Huge", &"x".repeat(256 * 1024), "octocat");
    scene
        .client
        .get_issue(INSTALLATION, &repo(), IssueNumber(small))
        .await
        .expect("an answer under the cap is read");
    let err = scene
        .client
        .get_issue(INSTALLATION, &repo(), IssueNumber(huge))
        .await
        .expect_err("an answer above the cap is refused");
    assert!(
        matches!(&err, GithubError::TooLarge { limit: 65_536, what } if what.ends_with(&format!("/issues/{huge}"))),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("github.max_response_bytes"),
        "{err}"
    );
}
