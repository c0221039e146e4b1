//! Discovery against the fake GitHub on a manual clock: star-window slicing against a search
//! that serves at most 1,000 results per query (every repository above the threshold found,
//! exactly once), search's 30-a-minute limit respected, filter reasons stored, a run resumed
//! after it was dropped mid-way (Ctrl-C) or failed (a crash of GitHub), health measured with
//! batched GraphQL under one rate-limit point per repository, and one scheduled run per night.

use crate::clock::ManualClock;
use crate::config::{Config, Language};
use crate::db::Db;
use crate::db::discovery as store;
use crate::discovery::run::{self, Outcome, Progress, RunOptions, Summary, Trigger};
use crate::github::auth::AppAuth;
use crate::github::ids::{AppId, InstallationId};
use crate::github::{Auth, GithubClient, Settings};
use crate::testing::fake_github::world::{FakeHealth, FakeRepo, Fault};
use crate::testing::fake_github::{self, APP_ID, FakeGithub};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

const INSTALLATION: u64 = 77;
/// 2026-11-26T00:00:00Z.
const NOW: i64 = 1_795_651_200_000;
const DAY: i64 = 86_400_000;

struct Scene {
    fake: FakeGithub,
    client: Arc<GithubClient>,
    db: Db,
    config: Config,
    _dir: tempfile::TempDir,
}

/// A small deterministic generator, so the population is the same in every scene.
fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

/// The population: Python repositories with heavy-tailed stars, 1,150 of them with exactly
/// 1,500 stars (more than search serves for one star count, so only creation dates can split
/// them), JavaScript and TypeScript ones, some below the threshold, and the excluded kinds.
fn populate(fake: &FakeGithub) {
    let mut world = fake.world();
    let mut seed = 7;
    let add = |world: &mut crate::testing::fake_github::world::World,
               name: String,
               language: &str,
               stars: u64,
               created: i64,
               tweak: fn(&mut FakeRepo)| {
        let id = world.next_id();
        let (owner, repo) = name.split_once('/').expect("owner/name");
        let mut r = FakeRepo {
            id,
            owner: owner.to_owned(),
            name: repo.to_owned(),
            default_branch: "main".to_owned(),
            language: Some(language.to_owned()),
            stars,
            created_at: created,
            pushed_at: NOW - 3 * DAY,
            health: FakeHealth {
                commits_last_year: 520,
                mentionable_users: 40,
                companies: vec![
                    Some("@acme".to_owned()),
                    Some("Acme, Inc.".to_owned()),
                    None,
                    Some("University of Somewhere".to_owned()),
                    Some(" ".to_owned()),
                ],
                releases: vec![NOW - 30 * DAY, NOW - 200 * DAY, NOW - 500 * DAY],
                issues: vec![
                    (NOW - 20 * DAY, NOW - 2 * DAY, Some(NOW - 2 * DAY), 4),
                    (NOW - 50 * DAY, NOW - 10 * DAY, None, 2),
                ],
                ci_state: Some("SUCCESS".to_owned()),
                readme: None,
                root_files: BTreeMap::new(),
            },
            ..FakeRepo::default()
        };
        tweak(&mut r);
        world.repos.insert(name, r);
    };
    for i in 0..1_800u64 {
        let u = lcg(&mut seed) % 10_000;
        // Heavy tail: most near the threshold, a few huge.
        let stars = 1_001 + (1_000_000 / (u + 10)) + lcg(&mut seed) % 300;
        let created = NOW - (100 + (lcg(&mut seed) % 5_000) as i64) * DAY;
        add(
            &mut world,
            format!("py{i}/lib{i}"),
            "Python",
            stars,
            created,
            |_| {},
        );
    }
    for i in 0..1_150u64 {
        let created = NOW - (30 + (i as i64 * 3)) * DAY;
        add(
            &mut world,
            format!("same{i}/tool{i}"),
            "Python",
            1_500,
            created,
            |_| {},
        );
    }
    for i in 0..40u64 {
        add(
            &mut world,
            format!("small{i}/thing"),
            "Python",
            10 + i * 20,
            NOW - 400 * DAY,
            |_| {},
        );
    }
    add(
        &mut world,
        "old/archived".to_owned(),
        "Python",
        5_000,
        NOW - 3_000 * DAY,
        |r| r.archived = true,
    );
    add(
        &mut world,
        "gone/disabled".to_owned(),
        "Python",
        4_000,
        NOW - 3_000 * DAY,
        |r| r.disabled = true,
    );
    add(
        &mut world,
        "else/mirror".to_owned(),
        "Python",
        3_000,
        NOW - 3_000 * DAY,
        |r| r.mirror = true,
    );
    add(
        &mut world,
        "copy/fork".to_owned(),
        "Python",
        9_000,
        NOW - 3_000 * DAY,
        |r| r.fork = true,
    );
    for i in 0..300u64 {
        let language = if i % 3 == 0 {
            "TypeScript"
        } else {
            "JavaScript"
        };
        add(
            &mut world,
            format!("js{i}/pkg"),
            language,
            1_001 + i * 37,
            NOW - (i as i64 + 10) * DAY,
            |_| {},
        );
    }
    add(
        &mut world,
        "rusty/crate".to_owned(),
        "Rust",
        50_000,
        NOW - 100 * DAY,
        |_| {},
    );
}

/// Every repository a discovery of Python and JavaScript above 1,000 stars must find (forks
/// are not search results unless asked for), by lower-case name.
/// Asserts two name sets are equal, showing only the differences.
fn assert_same(found: &BTreeSet<String>, want: &BTreeSet<String>) {
    let missing: Vec<&String> = want.difference(found).collect();
    let extra: Vec<&String> = found.difference(want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {} {:?}…, unexpected {} {:?}…",
        missing.len(),
        &missing[..missing.len().min(10)],
        extra.len(),
        &extra[..extra.len().min(10)]
    );
}

fn expected(fake: &FakeGithub) -> BTreeSet<String> {
    fake.world()
        .repos
        .values()
        .filter(|r| {
            matches!(
                r.language.as_deref(),
                Some("Python" | "JavaScript" | "TypeScript")
            ) && r.stars > 1_000
                && !r.fork
        })
        .map(|r| r.full_name().to_lowercase())
        .collect()
}

async fn scene() -> Scene {
    let clock = Arc::new(ManualClock::new(NOW));
    let fake = FakeGithub::start(clock.clone()).await;
    fake.add_repo("acme/installed", INSTALLATION);
    populate(&fake);
    let app = AppAuth::new(AppId(APP_ID), fake_github::private_key_pem().as_bytes())
        .expect("the test key loads");
    let settings = Settings {
        write_interval: Duration::ZERO,
        ..Settings::new(&fake.api_url)
    };
    let client = Arc::new(GithubClient::new(settings, Some(app), clock).expect("a client"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = Db::connect(
        &crate::db::scratch::location(dir.path(), "globallm").await,
        Duration::from_secs(5),
        4,
    )
    .await
    .expect("the database opens");
    Scene {
        fake,
        client,
        db,
        config: Config::default(),
        _dir: dir,
    }
}

fn options(trigger: Trigger) -> RunOptions {
    RunOptions {
        languages: vec![Language::Python, Language::Javascript],
        min_stars: 1_000,
        trigger,
        registries: false,
    }
}

const AUTH: Auth = Auth::Installation(InstallationId(INSTALLATION));

async fn discover(scene: &Scene, trigger: Trigger) -> anyhow::Result<Outcome> {
    run_with(scene, &options(trigger)).await
}

async fn run_with(scene: &Scene, options: &RunOptions) -> anyhow::Result<Outcome> {
    run::discover(
        &scene.db,
        &scene.config,
        scene.client.clone(),
        AUTH,
        options,
        &mut |_| {},
    )
    .await
}

/// A run with `options`, to its summary.
async fn discover_with(scene: &Scene, options: &RunOptions) -> Summary {
    finished(run_with(scene, options).await.expect("discovers"))
}

fn finished(outcome: Outcome) -> Summary {
    match outcome {
        Outcome::Finished(summary) => summary,
        other => panic!("expected a finished run, got {other:?}"),
    }
}

fn search_calls(fake: &FakeGithub) -> Vec<u16> {
    fake.calls()
        .iter()
        .filter(|c| c.path.starts_with("/search/repositories"))
        .map(|c| c.status)
        .collect()
}

async fn stored(scene: &Scene, run: i64) -> BTreeMap<String, Option<String>> {
    store::run_repos(scene.db.pool(), run)
        .await
        .expect("repos")
        .into_iter()
        .map(|r| (r.repo, r.filtered))
        .collect()
}

#[tokio::test]
async fn star_windows_find_every_repository_above_the_threshold_exactly_once() {
    let scene = scene().await;
    let summary = finished(discover(&scene, Trigger::Manual).await.expect("discovers"));
    let found = stored(&scene, summary.run_id).await;
    let want = expected(&scene.fake);
    assert!(want.len() > 3_000, "more than search serves for one query");
    assert_same(&found.keys().cloned().collect(), &want);

    // Exactly once: the windows that were read are disjoint and together hold every result.
    let windows = store::windows(scene.db.pool(), summary.run_id)
        .await
        .expect("windows");
    let fetched: i64 = windows
        .iter()
        .filter(|w| w.state == "done")
        .map(|w| w.fetched)
        .sum();
    assert_eq!(
        fetched as usize,
        want.len(),
        "each repository read by one window only"
    );
    assert!(windows.iter().all(|w| w.state != "pending"));
    assert!(
        windows
            .iter()
            .any(|w| w.created_from.is_some() && w.state == "done"),
        "1,150 repositories with the same star count are split by creation date"
    );
    assert!(
        windows
            .iter()
            .filter(|w| w.state == "done")
            .all(|w| w.fetched <= 1_000)
    );
    assert_eq!(summary.windows_truncated, 0);

    // Search's cap and its rate limit were never hit: every call answered 200.
    let calls = search_calls(&scene.fake);
    assert!(calls.iter().all(|s| *s == 200), "{calls:?}");
    assert_eq!(summary.search_calls as usize, calls.len());

    // Filter reasons.
    assert_eq!(found["old/archived"].as_deref(), Some("archived"));
    assert_eq!(found["gone/disabled"].as_deref(), Some("disabled"));
    assert_eq!(found["else/mirror"].as_deref(), Some("mirror"));
    assert_eq!(found["py0/lib0"], None);
    assert_eq!(summary.found as usize, want.len());
    assert_eq!(summary.kept as usize, want.len() - 3);
    assert_eq!(
        summary.filtered,
        vec![
            ("archived".to_owned(), 1),
            ("disabled".to_owned(), 1),
            ("mirror".to_owned(), 1)
        ]
    );
}

#[tokio::test]
async fn health_is_measured_in_batches_under_one_point_per_repository() {
    let scene = scene().await;
    let summary = finished(discover(&scene, Trigger::Manual).await.expect("discovers"));
    assert_eq!(summary.measured, summary.kept);
    let per_repo = summary.points_per_repo().expect("measured");
    eprintln!(
        "health of {} repositories: {} GraphQL queries, {} rate-limit points, {per_repo:.3} per repository; {} search calls",
        summary.measured, summary.graphql_calls, summary.graphql_points, summary.search_calls
    );
    assert!(per_repo <= 1.0, "{per_repo} points per repository");
    // The run ends with the ranked candidates report, stored for the dashboard.
    let candidates: crate::discovery::candidates::Candidates = serde_json::from_str(
        &crate::db::reports::latest_candidates(scene.db.pool())
            .await
            .expect("read")
            .expect("a candidates report"),
    )
    .expect("JSON");
    assert_eq!(candidates.run_id, summary.run_id);
    assert_eq!(
        candidates.repos.len(),
        crate::discovery::candidates::TOP_REPOS
    );
    assert!(
        candidates
            .repos
            .windows(2)
            .all(|pair| pair[0].score >= pair[1].score),
        "best first"
    );
    let graphql = scene
        .fake
        .calls()
        .iter()
        .filter(|c| c.path == "/graphql")
        .count() as i64;
    assert_eq!(graphql, summary.graphql_calls);
    assert_eq!(
        graphql,
        (summary.kept + 49) / 50,
        "50 repositories per query"
    );
    let snapshot = &store::snapshots_of(scene.db.pool(), "py0/lib0", 1)
        .await
        .expect("snapshots")[0];
    let health: crate::scoring::HealthInputs =
        serde_json::from_str(&snapshot.health_inputs).expect("health inputs");
    assert_eq!(health.commit_frequency, Some(10.0));
    assert_eq!(health.contributor_count, Some(40.0));
    assert_eq!(
        health.org_count,
        Some(2.0),
        "@acme and Acme, Inc. are one; the university is another"
    );
    assert_eq!(health.recent_release_count, Some(2.0));
    assert_eq!(health.updated_issues_count, Some(2.0));
    assert_eq!(health.closed_issues_count, Some(1.0));
    assert_eq!(health.issue_comment_frequency, Some(3.0));
    assert!(snapshot.health > 0.0 && snapshot.health < 1.0);
    assert!(snapshot.extra.contains("SUCCESS"), "{}", snapshot.extra);
    // Triage now prefers what discovery stored.
    let signals = crate::db::triage::get_signals(scene.db.pool(), "py0/lib0")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(signals.source, "discovery");
}

#[tokio::test]
async fn a_run_dropped_midway_resumes_from_its_checkpoints() {
    // The reference: one uninterrupted run.
    let reference = scene().await;
    let full = finished(
        discover(&reference, Trigger::Manual)
            .await
            .expect("discovers"),
    );

    let scene = scene().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut stop = Some(stop);
    let mut windows_seen = 0;
    let mut on_progress = |p: Progress| {
        if matches!(p, Progress::Search { .. }) {
            windows_seen += 1;
            if windows_seen == 5
                && let Some(stop) = stop.take()
            {
                let _ = stop.send(());
            }
        }
    };
    let options = options(Trigger::Manual);
    tokio::select! {
        result = run::discover(&scene.db, &scene.config, scene.client.clone(), AUTH, &options, &mut on_progress) => {
            panic!("the run should have been stopped, got {result:?}")
        }
        _ = stopped => {}
    }
    let partial = store::unfinished_run(scene.db.pool(), "[\"python\",\"javascript\"]", 1_000)
        .await
        .expect("read")
        .expect("the stopped run is unfinished");
    let calls_before = search_calls(&scene.fake).len();
    assert!(calls_before > 0 && calls_before < full.search_calls as usize);

    let resumed = finished(discover(&scene, Trigger::Manual).await.expect("resumes"));
    assert!(resumed.resumed);
    assert_eq!(resumed.run_id, partial.id);
    let found = stored(&scene, resumed.run_id).await;
    assert_same(&found.keys().cloned().collect(), &expected(&scene.fake));
    // No finished window was searched again: the calls of both halves are the full run's,
    // plus at most the pages of the one window that was cut off.
    let total = search_calls(&scene.fake).len();
    assert!(
        total <= full.search_calls as usize + 10,
        "{total} calls in all against {} for an uninterrupted run",
        full.search_calls
    );
    assert_eq!(resumed.found, full.found);
}

#[tokio::test]
async fn a_run_failed_by_github_resumes_and_finishes() {
    let scene = scene().await;
    scene.fake.world().faults.push(Fault {
        path: "/graphql".to_owned(),
        status: 502,
        times: 100,
        ..Fault::default()
    });
    let err = discover(&scene, Trigger::Manual)
        .await
        .expect_err("GitHub fails");
    assert!(format!("{err:#}").contains("502"), "{err:#}");
    let run = store::unfinished_run(scene.db.pool(), "[\"python\",\"javascript\"]", 1_000)
        .await
        .expect("read")
        .expect("failed runs are resumable");
    assert_eq!(run.state, "failed");
    let searched = search_calls(&scene.fake).len();
    scene.fake.world().faults.clear();
    let summary = finished(discover(&scene, Trigger::Manual).await.expect("resumes"));
    assert_eq!(summary.run_id, run.id);
    assert_eq!(summary.measured, summary.kept);
    assert_eq!(
        search_calls(&scene.fake).len(),
        searched,
        "search was complete: resuming only measures health"
    );
}

#[tokio::test]
async fn a_night_is_discovered_once() {
    let scene = scene().await;
    let night = Trigger::Scheduled {
        night: "2026-11-26".to_owned(),
    };
    finished(discover(&scene, night.clone()).await.expect("runs"));
    let again = discover(&scene, night).await.expect("answers");
    assert_eq!(
        again,
        Outcome::AlreadyRan {
            night: "2026-11-26".to_owned()
        }
    );
}

#[tokio::test]
async fn the_scheduler_enqueues_one_discovery_per_night_and_catches_up_at_start() {
    use crate::jobs::scheduler::enqueue_nightly_discovery;
    let app = crate::testing::harness::TestApp::start().await;
    let ctx = &app.ctx;
    let config = ctx.config();
    let at = |t: &str| crate::time::parse_rfc3339_ms(t).expect("a time");
    let queued = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT payload FROM jobs WHERE kind = 'nightly_discovery' ORDER BY id",
        )
        .fetch_all(ctx.db.pool())
        .await
        .expect("jobs")
    };

    // First start, no run ever: the latest slot (last night's 03:00) is caught up at once.
    assert!(
        enqueue_nightly_discovery(ctx, &config, at("2026-11-26T01:00:00Z"))
            .await
            .expect("ticks")
    );
    assert!(
        !enqueue_nightly_discovery(ctx, &config, at("2026-11-26T01:00:15Z"))
            .await
            .expect("ticks")
    );
    assert_eq!(queued().await, vec![r#"{"night":"2026-11-25"}"#]);

    // That night runs; nothing more is due until 03:00.
    let mut tx = ctx.db.write().await.expect("tx");
    store::start_run(
        tx.conn(),
        Some("2026-11-25"),
        "schedule",
        "[]",
        1_000,
        at("2026-11-26T01:00:20Z"),
    )
    .await
    .expect("starts");
    tx.commit().await.expect("commits");
    assert!(
        !enqueue_nightly_discovery(ctx, &config, at("2026-11-26T02:59:59Z"))
            .await
            .expect("ticks")
    );
    assert!(
        enqueue_nightly_discovery(ctx, &config, at("2026-11-26T03:00:10Z"))
            .await
            .expect("ticks")
    );
    assert!(
        !enqueue_nightly_discovery(ctx, &config, at("2026-11-26T03:00:25Z"))
            .await
            .expect("ticks")
    );
    let mut tx = ctx.db.write().await.expect("tx");
    store::start_run(
        tx.conn(),
        Some("2026-11-26"),
        "schedule",
        "[]",
        1_000,
        at("2026-11-26T03:00:30Z"),
    )
    .await
    .expect("starts");
    // The same night can never get a second run.
    assert_eq!(
        store::start_run(
            tx.conn(),
            Some("2026-11-26"),
            "schedule",
            "[]",
            1_000,
            at("2026-11-26T04:00:00Z")
        )
        .await
        .expect("answers"),
        None
    );
    tx.commit().await.expect("commits");

    // Down for three days: at start only the latest missed night runs, once.
    assert!(
        enqueue_nightly_discovery(ctx, &config, at("2026-11-29T10:00:00Z"))
            .await
            .expect("ticks")
    );
    assert!(
        !enqueue_nightly_discovery(ctx, &config, at("2026-11-29T10:00:15Z"))
            .await
            .expect("ticks")
    );
    assert_eq!(
        queued().await,
        vec![
            r#"{"night":"2026-11-25"}"#,
            r#"{"night":"2026-11-26"}"#,
            r#"{"night":"2026-11-29"}"#
        ]
    );
}

#[tokio::test]
async fn analyze_shows_every_signal_the_trend_and_redundancy_feeds_the_penalty() {
    let scene = scene().await;
    let readme = |what: &str| {
        format!(
            "# {what}\n\nPromise based HTTP client for the browser and Node.js: intercept request \
             and response, transform response data, cancel requests, timeouts, JSON bodies, \
             XMLHttpRequest in the browser.\n\n```js\nclient.get('/user');\nclient.post('/user');\n```\n"
        )
    };
    {
        let mut world = scene.fake.world();
        let fresh = world.repos.get_mut("py0/lib0").expect("a repository");
        fresh.health.readme = Some(readme("lib0"));
        let stale = world.repos.get_mut("py1/lib1").expect("a repository");
        stale.health.readme = Some(readme("lib1"));
        stale.pushed_at = NOW - 900 * DAY;
        stale.health.commits_last_year = 0;
        stale.health.releases.clear();
        stale.health.issues.clear();
        // A small dependency graph from manifests: lib4..lib8 depend on lib3, lib9 on lib4.
        for i in 3..10 {
            let deps = match i {
                3 => String::new(),
                9 => "\"lib4>=1\"".to_owned(),
                _ => "\"lib3\", \"requests\"".to_owned(),
            };
            let repo = world
                .repos
                .get_mut(&format!("py{i}/lib{i}"))
                .expect("a repository");
            repo.health.root_files.insert(
                "pyproject.toml".to_owned(),
                format!("[project]\nname = \"lib{i}\"\ndependencies = [{deps}]\n"),
            );
        }
        let other = world.repos.get_mut("py2/lib2").expect("a repository");
        other.health.readme = Some(
            "# lib2\n\nResize, crop and rotate JPEG and PNG images; thumbnails with Lanczos \
             resampling; EXIF orientation kept."
                .to_owned(),
        );
    }
    finished(discover(&scene, Trigger::Manual).await.expect("discovers"));
    scene
        .fake
        .world()
        .repos
        .get_mut("py0/lib0")
        .expect("a repository")
        .stars += 250;
    finished(
        discover(&scene, Trigger::Manual)
            .await
            .expect("discovers again"),
    );

    let report = crate::cli::analyze_repo::render(&scene.db, &scene.config, "py0/lib0")
        .await
        .expect("renders");
    for expected in [
        "Health",
        "created_since",
        "commit_frequency",
        "issue_comment_frequency",
        "since the previous run",
        "org_count",
        "not measured",
        "CI on the default branch: SUCCESS",
        "Impact",
        "stars since run",
        "+250",
        "Top issues",
    ] {
        assert!(
            report.contains(expected),
            "{expected:?} missing from\n{report}"
        );
    }

    // Impact from the manifests' graph: lib3 is the most depended on.
    let core = &store::snapshots_of(scene.db.pool(), "py3/lib3", 1)
        .await
        .expect("snapshots")[0];
    assert_eq!(core.reach, Some(6));
    let leaf = &store::snapshots_of(scene.db.pool(), "py9/lib9", 1)
        .await
        .expect("snapshots")[0];
    assert!(core.pagerank > leaf.pagerank);
    let core_impact: crate::scoring::ImpactInputs =
        serde_json::from_str(&core.impact_inputs).expect("impact");
    assert!(core_impact.pagerank_percentile.expect("percentile") > 0.8);
    let core_report = crate::cli::analyze_repo::render(&scene.db, &scene.config, "py3/lib3")
        .await
        .expect("renders");
    assert!(
        core_report.contains("downstream reach         6"),
        "{core_report}"
    );
    assert!(
        core_report.contains("th percentile in python"),
        "{core_report}"
    );

    let members = sqlx::query_as::<_, (String, crate::db::Flag, f64, String)>(
        "SELECT repo, healthiest, penalty, recommendation FROM redundancy_members ORDER BY repo",
    )
    .fetch_all(scene.db.pool())
    .await
    .expect("clusters");
    assert_eq!(
        members
            .iter()
            .map(|(r, h, _, rec)| (r.as_str(), h.0, rec.as_str()))
            .collect::<Vec<_>>(),
        vec![("py0/lib0", true, "keep"), ("py1/lib1", false, "archive")]
    );
    let stale = crate::db::triage::get_signals(scene.db.pool(), "py1/lib1")
        .await
        .expect("read")
        .expect("stored");
    assert!(stale.redundancy > 0.0, "the penalty feeds the R term");
    let unrelated = crate::db::triage::get_signals(scene.db.pool(), "py2/lib2")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(unrelated.redundancy, 0.0);
}

/// Every registry at `url`, unpaced and never retried.
fn every_registry_at(url: &str) -> crate::config::RegistriesConfig {
    let at = || crate::config::RegistryEndpoint {
        url: url.to_owned(),
        interval_ms: 0,
    };
    crate::config::RegistriesConfig {
        max_retries: 0,
        pypi: at(),
        npm: at(),
        npm_downloads: at(),
        crates_io: at(),
        go: at(),
        maven_search: at(),
        maven_repo: at(),
        deps_dev: at(),
        ecosystems: at(),
        libraries_io: at(),
        ..Default::default()
    }
}

/// A registry on loopback serving canned JSON by path (everything else is a 404).
async fn registry(
    routes: Vec<(&'static str, &'static str)>,
) -> (String, tokio::task::JoinHandle<()>) {
    let routes: Arc<BTreeMap<&'static str, &'static str>> = Arc::new(routes.into_iter().collect());
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let routes = routes.clone();
        async move {
            let key = match uri.query() {
                Some(q) => format!("{}?{q}", uri.path()),
                None => uri.path().to_owned(),
            };
            match routes.get(key.as_str()) {
                Some(body) => (axum::http::StatusCode::OK, (*body).to_owned()),
                None => (axum::http::StatusCode::NOT_FOUND, "{}".to_owned()),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serves");
    });
    (url, task)
}

#[tokio::test]
async fn registries_give_packages_dependents_and_edges_that_feed_health_and_impact() {
    let mut scene = scene().await;
    let (url, server) = registry(vec![
        (
            "/api/v1/packages/lookup?repository_url=https%3A%2F%2Fgithub.com%2Fpy0%2Flib0",
            r#"[{"name": "lib0", "ecosystem": "pypi", "repository_url": "https://github.com/py0/lib0"},
                {"name": "lib0-js", "ecosystem": "npm", "repository_url": "https://github.com/py0/lib0"}]"#,
        ),
        (
            "/pypi/lib0/json",
            r#"{"info": {"name": "lib0", "version": "1.0.0", "project_urls": {"Source": "https://github.com/py0/lib0"},
                "requires_dist": ["lib1>=2", "pytest; extra == \"test\""]}}"#,
        ),
        (
            "/v3alpha/systems/pypi/packages/lib0/versions/1.0.0:dependents",
            r#"{"dependentCount": 9000, "directDependentCount": 500}"#,
        ),
    ])
    .await;
    scene.config.discovery.registries = every_registry_at(&url);
    let options = RunOptions {
        registries: true,
        ..options(Trigger::Manual)
    };
    let summary = discover_with(&scene, &options).await;
    server.abort();
    assert!(
        summary.registry_calls > summary.kept,
        "one lookup per repository at least"
    );

    let packages = store::packages_of_repo(scene.db.pool(), "py0/lib0")
        .await
        .expect("packages");
    assert_eq!(
        packages.len(),
        1,
        "only the repository's own ecosystem: {packages:?}"
    );
    assert_eq!(packages[0].name, "lib0");
    assert_eq!(packages[0].dependents, Some(500));
    assert_eq!(packages[0].dependents_source.as_deref(), Some("deps.dev"));
    assert_eq!(
        store::edges(scene.db.pool(), "python")
            .await
            .expect("edges"),
        vec![("lib0".to_owned(), "lib1".to_owned())]
    );
    let snapshot = &store::snapshots_of(scene.db.pool(), "py0/lib0", 1)
        .await
        .expect("snapshots")[0];
    let health: crate::scoring::HealthInputs =
        serde_json::from_str(&snapshot.health_inputs).expect("health");
    assert_eq!(health.dependent_count, Some(500.0));
    let impact: crate::scoring::ImpactInputs =
        serde_json::from_str(&snapshot.impact_inputs).expect("impact");
    assert_eq!(impact.dependents, Some(500.0));
}

/// One ecosyste.ms package as its listing shows it.
fn listed(name: &str, repo: Option<&str>, dependents: u64) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "ecosystem": "pypi",
        "repository_url": repo.map(|r| format!("https://github.com/{r}")),
        "dependent_packages_count": dependents,
    })
}

#[tokio::test]
async fn repositories_with_few_stars_and_many_dependents_are_found_through_the_registries() {
    let mut scene = scene().await;
    scene
        .fake
        .world()
        .repos
        .get_mut("small5/thing")
        .expect("populated")
        .archived = true;
    // Page 1: a full page, most depended-on first — 30 small repositories (10 to 590 stars,
    // below the search's threshold), one of them twice, one the search finds anyway, one
    // GitHub does not know, and packages without a GitHub repository.
    let mut first = vec![
        listed("thing0", Some("small0/thing"), 50_000),
        listed("lib0", Some("py0/lib0"), 40_000),
        listed("ghost", Some("ghost/gone"), 30_000),
        listed("thing1-extras", Some("small1/thing"), 300),
    ];
    for i in 1..30 {
        first.push(listed(
            &format!("thing{i}"),
            Some(&format!("small{i}/thing")),
            20_000 - i * 100,
        ));
    }
    while first.len() < 100 {
        first.push(listed(&format!("elsewhere{}", first.len()), None, 1_000));
    }
    // Page 2: one more above the threshold, then one at it: the listing stops there, so no
    // third page is asked for (it would be a 404, recorded as an error).
    let second = vec![
        listed("thing30", Some("small30/thing"), 101),
        listed("thing31", Some("small31/thing"), 100),
        listed("thing32", Some("small32/thing"), 99),
    ];
    let page = |n: u32| -> &'static str {
        Box::leak(
            format!("/api/v1/registries/pypi.org/packages?sort=dependent_packages_count&order=desc&per_page=100&page={n}")
                .into_boxed_str(),
        )
    };
    let body = |packages: Vec<serde_json::Value>| -> &'static str {
        Box::leak(
            serde_json::Value::Array(packages)
                .to_string()
                .into_boxed_str(),
        )
    };
    let (url, server) = registry(vec![(page(1), body(first)), (page(2), body(second))]).await;
    scene.config.discovery.registries = every_registry_at(&url);
    let options = RunOptions {
        registries: true,
        ..options(Trigger::Manual)
    };
    let summary = discover_with(&scene, &options).await;

    // small0..small30 (31 repositories) stored; py0/lib0 was already found; ghost/gone is
    // unknown; small31 and small32 are at or below the threshold.
    assert_eq!(summary.by_dependents, 31);
    assert_eq!(summary.dependents_missing, 1);
    assert_eq!(
        summary.listing_errors.len(),
        1,
        "only npm's listing, which this registry does not serve, stopped early: {:?}",
        summary.listing_errors
    );
    assert_eq!(summary.listing_errors[0].0, "javascript");
    assert!(summary.listing_errors[0].1.starts_with("page 1:"));

    let repos = stored(&scene, summary.run_id).await;
    assert_eq!(
        repos.get("small0/thing"),
        Some(&None),
        "kept by its dependents"
    );
    assert_eq!(repos.get("small30/thing"), Some(&None));
    assert_eq!(
        repos.get("small5/thing"),
        Some(&Some("archived".to_owned()))
    );
    assert!(
        !repos.contains_key("small31/thing"),
        "100 dependents is not more than 100"
    );
    assert!(!repos.contains_key("ghost/gone"));
    let candidates = store::candidates(scene.db.pool(), summary.run_id)
        .await
        .expect("candidates");
    let state = |repo: &str| {
        candidates
            .iter()
            .find(|c| c.repo == repo)
            .map(|c| (c.state.as_str(), c.dependents))
    };
    assert_eq!(state("py0/lib0"), Some(("known", 40_000)));
    assert_eq!(state("ghost/gone"), Some(("missing", 30_000)));
    assert_eq!(
        state("small1/thing"),
        Some(("stored", 19_900)),
        "the repository's most depended-on package counts"
    );
    // Found by dependents, measured like the others.
    let snapshot = store::snapshots_of(scene.db.pool(), "small0/thing", 1)
        .await
        .expect("snapshots");
    assert_eq!(snapshot.len(), 1, "health measured");

    // Resumed, the stage reads no listing and looks nothing up again.
    let registries =
        crate::discovery::registries::Registries::new(&scene.config.discovery.registries, None)
            .expect("registries");
    let graphql_before = scene.fake.calls().len();
    let again = crate::discovery::dependents::find_by_dependents(
        &scene.db,
        &scene.config,
        &registries,
        &scene.client,
        AUTH,
        summary.run_id,
        &options.languages,
    )
    .await
    .expect("resumes");
    server.abort();
    assert_eq!(again, crate::discovery::dependents::Found::default());
    assert_eq!(registries.calls(), 0);
    assert_eq!(scene.fake.calls().len(), graphql_before);
}

#[tokio::test]
async fn readme_embeddings_find_the_same_tool_in_other_words_once_per_readme() {
    let mut scene = scene().await;
    {
        let mut world = scene.fake.world();
        let mut set = |repo: &str, readme: &str| {
            world
                .repos
                .get_mut(repo)
                .expect("a repository")
                .health
                .readme = Some(readme.to_owned());
        };
        set(
            "py0/lib0",
            "# lib0\n\nStreaming reader for comma separated files with typed columns.",
        );
        set(
            "py1/lib1",
            "# lib1\n\nParse tabular text quickly; every row becomes a record.",
        );
        set(
            "py2/lib2",
            "# lib2\n\nResize, crop and rotate JPEG and PNG images.",
        );
        set(
            "py3/lib3",
            "# lib3\n\nA colour palette generator. The embeddings server refuses this one.",
        );
        let stale = world.repos.get_mut("py1/lib1").expect("a repository");
        stale.pushed_at = NOW - 900 * DAY;
    }
    finished(discover(&scene, Trigger::Manual).await.expect("discovers"));

    // An OpenAI-compatible embeddings endpoint on loopback: the two CSV READMEs point the same
    // way, the image one elsewhere; the palette one gets a 400.
    let seen: Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/v1/embeddings",
        axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let log = log.clone();
            async move {
                log.lock().expect("log").push(body.clone());
                let text = body["input"][0].as_str().unwrap_or_default().to_owned();
                let vector = if text.contains("refuses") {
                    return (
                        axum::http::StatusCode::BAD_REQUEST,
                        axum::Json(serde_json::json!({"error": {"message": "bad input", "type": "invalid_request_error"}})),
                    );
                } else if text.contains("comma separated") {
                    [0.9, 0.1, 0.0]
                } else if text.contains("tabular") {
                    [0.88, 0.14, 0.01]
                } else {
                    [0.0, 0.2, 0.95]
                };
                (
                    axum::http::StatusCode::OK,
                    axum::Json(serde_json::json!({
                        "object": "list",
                        "data": [{"object": "embedding", "index": 0, "embedding": vector}],
                        "model": body["model"],
                        "usage": {"prompt_tokens": 12, "total_tokens": 12},
                    })),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}/v1", listener.local_addr().expect("bound"));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serves");
    });
    scene.config.llm.provider = crate::config::ProviderKind::OpenaiCompatible;
    scene.config.llm.model = "local-chat".to_owned();
    scene.config.llm.base_url = Some(url);
    scene.config.llm.embedding_model = Some("nomic-embed-text".to_owned());
    let clock: Arc<dyn crate::clock::Clock> = scene.client.clock().clone();
    let embedder = run::embedder(&scene.db, &scene.config, &clock).expect("an embedder");

    let clusters = crate::discovery::redundancy::detect(&scene.db, "python", NOW, Some(&embedder))
        .await
        .expect("detects");
    let names: Vec<Vec<&str>> = clusters
        .iter()
        .map(|c| c.members.iter().map(|m| m.repo.as_str()).collect())
        .collect();
    assert_eq!(
        names,
        vec![vec!["py0/lib0", "py1/lib1"]],
        "no shared words, near embeddings"
    );
    let requests = seen.lock().expect("log").clone();
    assert_eq!(requests.len(), 4, "one request per README");
    assert!(requests.iter().all(|r| r["model"] == "nomic-embed-text"));
    let ledger: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM budget_reservations WHERE purpose = 'embedding' AND state = 'settled'",
    )
    .fetch_one(scene.db.pool())
    .await
    .expect("the ledger");
    assert_eq!(
        ledger, 3,
        "each embedding is charged; the refused one is released"
    );

    // The next time, only the README that has no stored embedding is asked for again.
    crate::discovery::redundancy::detect(&scene.db, "python", NOW, Some(&embedder))
        .await
        .expect("detects again");
    server.abort();
    let again = seen.lock().expect("log").clone();
    assert_eq!(again.len(), 5, "{again:?}");
    assert!(
        again[4]["input"][0]
            .as_str()
            .unwrap_or_default()
            .contains("palette")
    );
}
