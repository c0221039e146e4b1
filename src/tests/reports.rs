//! Reports for repositories that have not installed GlobalLM (consent first): a maintainer
//! (or an operator inviting one) gets the ranked issues with every term, read anonymously or
//! with a read-only token, and the repository never sees a write.

use crate::cli::report_cmd::{self, Format};
use crate::github::Auth;
use crate::github::ids::RepoName;
use crate::testing::fake_github::Caller;
use crate::testing::harness::{INSTALLATION, TestApp};

const PUBLIC: &str = "pallets/widgets";
const TOKEN: &str = "ghp_readonlytesttoken";

const FILES: &[(&str, &str)] = &[
    (
        "widgets/cache.py",
        "def cache_size(config):\n    return config.get('cache_size', 128)\n",
    ),
    (
        "tests/test_cache.py",
        "from widgets.cache import cache_size\n\n\ndef test_default():\n    assert cache_size({}) == 128\n",
    ),
    ("README.md", "# widgets\n"),
];

/// A public repository nobody installed GlobalLM on, with a bug, a security report, a
/// question, one closed issue and a red default branch; GlobalLM's App is installed elsewhere.
fn scene(app: &TestApp) -> (u64, u64, u64) {
    app.github.add_repo("acme/installed", INSTALLATION);
    app.github
        .add_public_repo(PUBLIC, &app.dir.path().join("remotes"), FILES);
    let bug = app.github.add_issue(
        PUBLIC,
        "cache_size ignores the configured value",
        "`cache_size({'cache_size': 10})` returns 128 in widgets/cache.py.\n\nTraceback (most recent call last):\n  File \"widgets/cache.py\", line 2, in cache_size\nAssertionError",
        "reporter",
    );
    let security = app.github.add_issue(
        PUBLIC,
        "Path traversal in the widget loader (CVE-2026-2222)",
        "An attacker can read any file on the server with `../` in the widget name.",
        "researcher",
    );
    let question = app.github.add_issue(
        PUBLIC,
        "How do I configure the widget cache?",
        "Is there an option for the cache size? Thanks!",
        "newcomer",
    );
    let closed = app
        .github
        .add_issue(PUBLIC, "Old typo", "fixed long ago", "someone");
    app.github
        .world()
        .repos
        .get_mut(PUBLIC)
        .expect("added")
        .issues
        .get_mut(&closed)
        .expect("added")
        .state = "closed".to_owned();
    app.github.conclude_on_main(PUBLIC, "tests", "failure");
    (bug, security, question)
}

fn repo() -> RepoName {
    PUBLIC.parse().expect("a repository name")
}

#[tokio::test]
async fn a_repository_without_the_app_gets_a_report_and_never_a_write() {
    let app = TestApp::start().await;
    let (bug, security, question) = scene(&app);

    let report = report_cmd::build(&app.ctx, &repo(), Format::Md, 50, None)
        .await
        .expect("a report");

    // What a maintainer reads: a title, a summary that says nothing was written, tables.
    assert!(
        report.starts_with("# GlobalLM report: pallets/widgets\n"),
        "{report}"
    );
    assert!(
        report.contains("GlobalLM is not installed on this repository")
            && report.contains("nothing was written to the repository"),
        "{report}"
    );
    assert!(report.contains("- **3 open issues** scored"), "{report}");
    assert!(
        report.contains("CI on `main`: FAILURE") && report.contains("Tests: yes"),
        "{report}"
    );
    assert!(
        report.contains("| default_branch_ci | FAILURE | 0.00 | 1 |"),
        "health shows the red branch with its value and weight:\n{report}"
    );
    assert!(
        report.contains("| issue_resolution_rate | 0.25 closed per updated | 0.25 | 1 |"),
        "one of four issues updated in 90 days was closed:\n{report}"
    );
    assert!(
        report.contains("| stars | 12000 stars |"),
        "impact shows its signals:\n{report}"
    );
    // The ranked issues with their terms, security first.
    let ranked: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("| 1 |") || l.starts_with("| 2 |") || l.starts_with("| 3 |"))
        .collect();
    assert_eq!(ranked.len(), 3, "{report}");
    assert!(
        ranked[0].contains(&format!("#{security} Path traversal")),
        "{report}"
    );
    assert!(
        ranked
            .iter()
            .any(|l| l.contains(&format!("#{bug} cache_size"))),
        "{report}"
    );
    // Which look fixable, and why.
    assert!(
        report.contains(&format!("- #{security} Path traversal in the widget loader (CVE-2026-2222) — not for GlobalLM: a security issue: never automated (CRITICAL)")),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "- #{question} How do I configure the widget cache? — not for GlobalLM: a question"
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "- #{bug} cache_size ignores the configured value — **fixable**: complexity"
        )),
        "{report}"
    );
    assert!(
        report.contains("the repository has tests to check a fix"),
        "{report}"
    );

    // What it cost: six anonymous requests of GitHub's 60 an hour (repository, tree, check
    // runs, statuses, recently updated issues, open issues), and the App's one look for an
    // installation.
    let anonymous: Vec<String> = app
        .github
        .calls()
        .iter()
        .filter(|c| c.caller == Caller::Anonymous)
        .map(|c| c.path.split('?').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(anonymous.len(), 6, "{anonymous:#?}");

    // `issues --repo` reads the same way.
    let scored = report_cmd::read_and_score(&app.ctx, &repo(), 50, None)
        .await
        .expect("scored");
    assert_eq!(scored.issues.len(), 3);
    assert!(!scored.installed);

    // Consent: nothing but reads, and the repository read anonymously (no App token).
    let writes = app.github.writes();
    assert!(writes.is_empty(), "GlobalLM only read: {writes:#?}");
    let calls = app.github.calls();
    let repo_calls: Vec<_> = calls
        .iter()
        .filter(|c| {
            c.path.starts_with(&format!("/repos/{PUBLIC}/")) || c.path == format!("/repos/{PUBLIC}")
        })
        .collect();
    assert!(
        repo_calls
            .iter()
            .all(|c| c.caller == Caller::Anonymous || c.path.ends_with("/installation")),
        "{repo_calls:#?}"
    );
    assert!(
        app.github.labels(PUBLIC, bug).is_empty() && app.github.comments(PUBLIC, bug).is_empty()
    );
}

#[tokio::test]
async fn the_json_report_gives_every_term_with_its_weight() {
    let app = TestApp::start().await;
    let (_, security, _) = scene(&app);
    let json = report_cmd::build(&app.ctx, &repo(), Format::Json, 50, None)
        .await
        .expect("a report");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(report["repo"], PUBLIC);
    assert_eq!(report["installed"], false);
    assert_eq!(report["issues"][0]["rank"], 1);
    assert_eq!(report["issues"][0]["number"], security);
    assert_eq!(report["issues"][0]["fixability"]["fixable"], false);
    let tests = report["issues"][0]["solvability"]
        .as_array()
        .expect("parts")
        .iter()
        .find(|p| p["name"] == "tests")
        .expect("a tests term")
        .clone();
    assert_eq!(
        (tests["value"].as_f64(), tests["weight"].as_f64()),
        (Some(1.0), Some(0.3)),
        "the tree has tests/test_cache.py"
    );
    let ci = report["health"]["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .find(|p| p["name"] == "default_branch_ci")
        .expect("a CI term")
        .clone();
    assert_eq!(ci["value"].as_f64(), Some(0.0));
    assert!(
        report["issues"][0]["terms"]["solvability"]
            .as_f64()
            .is_some()
    );
}

#[tokio::test]
async fn a_read_token_reads_and_is_refused_every_write() {
    let app = TestApp::start_with_env(&[("GLOBALLM_GITHUB_TOKEN", TOKEN)]).await;
    app.github.accept_read_token(TOKEN);
    let (bug, _, _) = scene(&app);

    let scored = report_cmd::read_and_score(&app.ctx, &repo(), 50, None)
        .await
        .expect("scored");
    assert_eq!(scored.issues.len(), 3);
    assert!(
        scored.read_as.contains("GLOBALLM_GITHUB_TOKEN"),
        "{}",
        scored.read_as
    );
    assert!(
        app.github
            .calls()
            .iter()
            .any(|c| c.caller == Caller::Token(TOKEN.to_owned())),
        "read with the token"
    );

    // Even asked to, the read-only client never sends a write.
    let before = app.github.calls().len();
    let client = app.ctx.read_only_github().expect("a client");
    let refused = client
        .call(
            http::Method::POST,
            Auth::Token,
            &format!("/repos/{PUBLIC}/issues/{bug}/comments"),
            Some(&serde_json::json!({ "body": "hello" })),
        )
        .await;
    assert!(
        matches!(refused, Err(crate::github::GithubError::Forbidden(ref m)) if m.contains("never writes")),
        "{refused:?}"
    );
    assert_eq!(app.github.calls().len(), before, "nothing was sent");
    let writes = app.github.writes();
    assert!(writes.is_empty(), "{writes:#?}");
}

#[tokio::test]
async fn the_anonymous_limit_is_named_with_its_reset_time() {
    let app = TestApp::start_unregistered().await;
    scene(&app);
    app.github.limit_anonymous(3);
    let err = report_cmd::build(&app.ctx, &repo(), Format::Md, 50, None)
        .await
        .expect_err("the limit runs out");
    let message = format!("{err:#}");
    assert!(
        message.contains("GitHub's limit for anonymous requests (60 an hour) is used up")
            && message.contains("GLOBALLM_GITHUB_TOKEN")
            && message.contains("it resets at 20"),
        "{message}"
    );
    let writes = app.github.writes();
    assert!(writes.is_empty(), "{writes:#?}");
}

#[tokio::test]
async fn analyze_reads_a_repository_discovery_has_not_measured_live_and_read_only() {
    let app = TestApp::start().await;
    scene(&app);
    assert!(
        !crate::cli::analyze_repo::has_snapshot(&app.ctx.db, PUBLIC)
            .await
            .expect("read")
    );
    let text = crate::cli::analyze_repo::render_live(&app.ctx, &repo())
        .await
        .expect("analyzed");
    assert!(
        text.starts_with(
            "pallets/widgets — read live (discovery has not measured it), as anonymous requests"
        ),
        "{text}"
    );
    assert!(text.contains("default_branch_ci"), "{text}");
    assert!(text.contains("FAILURE → 0.000 × weight 1"), "{text}");
    assert!(text.contains("Tests: yes (3 files in the tree)."), "{text}");
    let writes = app.github.writes();
    assert!(writes.is_empty(), "{writes:#?}");
}

/// A discovery run's snapshot of `repo` with health `h` and impact `i`.
async fn snapshot(app: &TestApp, run: i64, repo: &str, h: f64, i: f64) {
    let mut tx = app.ctx.db.write().await.expect("a transaction");
    crate::db::discovery::put_snapshot(
        tx.conn(),
        &crate::db::discovery::SnapshotRow {
            run_id: run,
            repo: repo.to_owned(),
            language: "python".to_owned(),
            health_inputs: "{}".to_owned(),
            impact_inputs: "{}".to_owned(),
            extra: "{}".to_owned(),
            health: h,
            impact: i,
            redundancy: 0.0,
            pagerank: None,
            betweenness: None,
            reach: None,
            taken_at: 0,
        },
    )
    .await
    .expect("stored");
    tx.commit().await.expect("committed");
}

#[tokio::test]
async fn discovery_ends_with_ranked_candidates_the_dashboard_shows() {
    let app = TestApp::start().await;
    let (_, security, _) = scene(&app);
    app.github.add_public_repo(
        "tiny/left-pad",
        &app.dir.path().join("remotes"),
        &[("index.js", "module.exports = x => x;\n")],
    );
    let run = {
        let mut tx = app.ctx.db.write().await.expect("a transaction");
        let run =
            crate::db::discovery::start_run(tx.conn(), None, "manual", "[\"python\"]", 1_000, 0)
                .await
                .expect("started")
                .expect("a run");
        tx.commit().await.expect("committed");
        run
    };
    snapshot(&app, run, "tiny/left-pad", 0.3, 0.1).await;
    snapshot(&app, run, PUBLIC, 0.6, 0.8).await;

    let github = app.ctx.github().expect("a client");
    let auth = crate::cli::discovery_auth(&github).await.expect("auth");
    let report = crate::discovery::candidates::build_and_store(
        &app.ctx.db,
        &app.ctx.config(),
        &github,
        auth,
        run,
    )
    .await
    .expect("built");
    let order: Vec<&str> = report.repos.iter().map(|r| r.repo.as_str()).collect();
    assert_eq!(order, [PUBLIC, "tiny/left-pad"], "by wH·H + wI·I − wR·R");
    let top = &report.repos[0];
    assert_eq!(top.issues.len(), 3, "{top:?}");
    assert_eq!(
        top.issues[0].number,
        i64::try_from(security).expect("small")
    );
    assert!(top.issues.iter().any(|i| i.fixable), "{top:?}");
    assert!(report.repos[1].issues.is_empty() && report.repos[1].note.is_none());

    // The dashboard shows it.
    let page = app.get("/dashboard").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Where GlobalLM would help most")
            && page.body.contains("pallets/widgets")
            && page.body.contains("Path traversal in the widget loader"),
        "{}",
        page.body
    );
    let writes = app.github.writes();
    assert!(writes.is_empty(), "{writes:#?}");
}

#[tokio::test]
async fn explain_on_an_installed_repository_shows_its_tests_and_ci_with_their_weights() {
    const INSTALLED: &str = "acme/shop";
    let app = TestApp::start().await;
    app.github.add_git_repo(
        INSTALLED,
        INSTALLATION,
        &app.dir.path().join("remotes"),
        FILES,
    );
    app.github.conclude_on_main(INSTALLED, "tests", "success");
    let number = app.github.add_issue(
        INSTALLED,
        "cache_size ignores the configured value",
        "`cache_size({'cache_size': 10})` returns 128.",
        "reporter",
    );
    app.deliver(
        "issues",
        &app.github
            .issue_delivery("opened", INSTALLED, number, "reporter"),
    )
    .await;
    app.drain().await;
    let id = app
        .github
        .add_comment(INSTALLED, number, "drive-by", "/globallm explain");
    app.deliver(
        "issue_comment",
        &app.github.comment_delivery("created", INSTALLED, id, None),
    )
    .await;
    app.drain().await;
    let reply = app
        .github
        .comments(INSTALLED, number)
        .into_iter()
        .filter(|c| c.author_is_bot)
        .map(|c| c.body)
        .find(|b| b.starts_with("> /globallm explain"))
        .expect("an explain reply");
    assert!(reply.contains("| tests | yes | 1.00 | 0.3 |"), "{reply}");
    assert!(
        reply.contains("| default_branch_ci | SUCCESS | 1.00 | 1 |"),
        "{reply}"
    );
    assert!(
        reply.contains(
            "Not measured (left out of the mean): code_size, expected_files, breaking_risk, track_record."
        ),
        "the localizer's terms need a checkout: {reply}"
    );
}

#[tokio::test]
async fn with_a_local_checkout_the_localizer_measures_each_issues_scope() {
    let app = TestApp::start().await;
    let (bug, _, _) = scene(&app);
    let bare = app.dir.path().join("remotes/pallets__widgets.git");
    let checkout = app.dir.path().join("checkout");
    let cloned = std::process::Command::new("git")
        .args(["clone", "--quiet"])
        .arg(&bare)
        .arg(&checkout)
        .status()
        .expect("git runs");
    assert!(cloned.success());

    let scored = report_cmd::read_and_score(&app.ctx, &repo(), 50, Some(&checkout))
        .await
        .expect("scored");
    let index = app.ctx.config().storage.index_dir();
    let packs = std::fs::read_dir(&index).expect("the index cache").count();
    assert_eq!(
        (scored.issues.len(), packs),
        (3, 1),
        "three issues, one checkout indexed once"
    );
    let issue = scored
        .issues
        .iter()
        .find(|i| i.ranked.number == i64::try_from(bug).expect("small"))
        .expect("the bug");
    let s = &issue.assessment.solvability;
    assert_eq!(
        (s.expected_files, s.public_api, s.has_tests),
        (Some(1.0), Some(true), Some(true)),
        "{s:?}"
    );
    assert_eq!(s.code_bytes, Some(FILES[0].1.len() as f64));
    assert!(
        issue
            .fixability
            .reasons
            .contains(&"the likely files declare public symbols: a breaking risk".to_owned()),
        "{:?}",
        issue.fixability
    );

    // Stored with the triage, the scope still counts when the ranking is recomputed.
    let config = app.ctx.config();
    let (stored, _) = crate::triage::rank::prioritize(
        app.ctx.db.pool(),
        &config,
        None,
        10,
        app.ctx.clock.now_ms(),
    )
    .await
    .expect("ranked");
    let again = stored
        .iter()
        .find(|r| r.number == issue.ranked.number)
        .expect("stored");
    assert!(
        (again.priority.terms.solvability - issue.ranked.priority.terms.solvability).abs() < 1e-9,
        "{} vs {}",
        again.priority.terms.solvability,
        issue.ranked.priority.terms.solvability
    );
}
