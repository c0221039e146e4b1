//! The fix lifecycle's invariants told as attacks on the fake GitHub: a hostile or careless
//! person, or GitHub failing after it applied a write, tries to make GlobalLM merge above its
//! policy, act for someone without write access, or write something twice. Each story failed
//! before the lifecycle became one state machine (`crate::fix`).

use super::fix_e2e::{self as e2e, CATEGORIZE, DRAFT, REPAIR, Story};
use super::fix_flows::Scene;
use crate::db::fixes;
use crate::fix::{FixState, Tier};
use crate::llm::scripted::{Gate, ScriptedProvider};
use crate::testing::fake_github::git;
use crate::testing::harness::{INSTALLATION, TestApp};
use std::sync::Arc;

const REPO: &str = e2e::REPO;
const MAINTAINER: &str = e2e::MAINTAINER;
/// May label and close issues, not push: GitHub's `triage` role.
const TRIAGER: &str = "tom-triage";

/// A first draft that changes the signature of the public `total` (HIGH).
const DRAFT_HIGH: &str = "SUMMARY: Let callers choose the rounding.\n\nFILE: shop/cart.py\nWHY: totals need rounding to a number of digits\n<<<<<<< SEARCH\ndef total(items):\n    return sum(items)\n=======\ndef total(items, digits=2):\n    return round(sum(items), digits)\n>>>>>>> REPLACE\n\nFILE: tests/test_cart.py\nWHY: a test for the rounding\n<<<<<<< SEARCH\n    assert total([1, 2]) == 3\n=======\n    assert total([1, 2]) == 3\n\n\ndef test_total_is_rounded_to_cents():\n    assert total([0.1, 0.2]) == 0.3\n>>>>>>> REPLACE\n";

/// A repair of [`DRAFT_HIGH`] that only touches the test: alone, a LOW change.
const REPAIR_TEST: &str = "SUMMARY: Pin the digits in the test.\n\nFILE: tests/test_cart.py\nWHY: the failing test relied on the default\n<<<<<<< SEARCH\n    assert total([0.1, 0.2]) == 0.3\n=======\n    assert total([0.1, 0.2], digits=2) == 0.3\n>>>>>>> REPLACE\n";

/// `author` comments `body` on issue or pull request `number`, delivered and processed.
async fn comment(app: &TestApp, number: u64, author: &str, body: &str) {
    let id = app.github.add_comment(REPO, number, author, body);
    app.deliver(
        "issue_comment",
        &app.github.comment_delivery("created", REPO, id, None),
    )
    .await;
    app.drain().await;
}

async fn fix_of(app: &TestApp) -> fixes::FixPr {
    let all = fixes::recent(app.ctx.db.pool(), 10).await.expect("read");
    assert_eq!(all.len(), 1, "one fix: {all:#?}");
    all.into_iter().next().expect("one")
}

fn count(app: &TestApp, method: &str, path_end: &str) -> usize {
    app.github
        .calls()
        .iter()
        .filter(|c| c.method == method && c.path.ends_with(path_end))
        .count()
}

#[tokio::test]
async fn a_triage_role_user_labels_an_issue_and_the_label_comes_off_with_one_comment() {
    let story = Story::rounding(&[]).await;
    story.app.github.set_permission(REPO, TRIAGER, "triage");
    for _ in 0..2 {
        let labeled = story
            .app
            .github
            .labeled_delivery(REPO, story.issue, "globallm:fix", TRIAGER);
        story.app.deliver("issues", &labeled).await;
        story.app.drain().await;
    }

    assert!(
        !story
            .app
            .github
            .labels(REPO, story.issue)
            .contains(&"globallm:fix".to_owned()),
        "the label is removed"
    );
    let comments = story.bot_comments(story.issue);
    assert_eq!(comments.len(), 1, "one polite comment: {comments:?}");
    assert!(
        comments[0].contains("only when someone with write access"),
        "{}",
        comments[0]
    );
    assert!(story.app.github.pulls(REPO).is_empty());
    assert!(story.llm.requests().is_empty(), "no LLM call");
    assert!(
        fixes::recent(story.app.ctx.db.pool(), 10)
            .await
            .expect("read")
            .is_empty(),
        "no fix started"
    );
}

#[tokio::test]
async fn someone_without_write_access_edits_a_maintainers_comment_into_a_merge() {
    let scene = Scene::new("high").await;
    scene.app.github.set_permission(REPO, TRIAGER, "triage");
    scene.check("test", "success", "12 passed").await;
    let asked = scene.bot_comments();
    assert!(asked[0].contains("**HIGH**-tier"), "{asked:?}");

    // The maintainer's own words; then the triager edits them into a command.
    let id = scene
        .app
        .github
        .add_comment(REPO, scene.pr, MAINTAINER, "Thanks, I will look.");
    scene
        .app
        .github
        .world()
        .repos
        .get_mut(REPO)
        .expect("repo")
        .comments
        .get_mut(&id)
        .expect("comment")
        .body = "/globallm merge".to_owned();
    let mut edited: serde_json::Value = serde_json::from_slice(&scene.app.github.comment_delivery(
        "edited",
        REPO,
        id,
        Some("Thanks, I will look."),
    ))
    .expect("json");
    edited["sender"] = crate::testing::fake_github::world::user_json(TRIAGER);
    scene
        .app
        .deliver("issue_comment", edited.to_string().as_bytes())
        .await;
    scene.app.drain().await;

    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    assert_eq!(scene.fix().await.merge_approved_sha, None);
    let comments = scene.bot_comments();
    assert!(
        comments
            .last()
            .is_some_and(|c| c.contains("Sorry @tom-triage") && c.contains("write")),
        "{comments:?}"
    );
    assert!(scene.merges().is_empty());
}

/// Labels the issue, then fails CI on the first draft so a repair is pushed; returns the
/// first head and the repaired one.
async fn repaired(story: &Story) -> (String, String) {
    story.label().await;
    let first = story.pull().head_sha;
    story
        .red(
            &first,
            "FAILED tests/test_cart.py::test_total_is_rounded_to_cents",
        )
        .await;
    let repaired = story.pull().head_sha;
    assert_ne!(repaired, first, "a repair was pushed");
    (first, repaired)
}

#[tokio::test]
async fn a_repair_that_only_touches_a_test_after_a_high_draft_is_still_high() {
    let story = Story::rounding(&[CATEGORIZE, DRAFT_HIGH, REPAIR_TEST]).await;
    let (_, head) = repaired(&story).await;
    story.green(&head).await;

    let pull = story.pull();
    assert!(
        !pull.merged,
        "the branch as a whole changes a public signature"
    );
    assert_eq!(pull.requested_reviewers, vec![MAINTAINER.to_owned()]);
    let fix = fix_of(&story.app).await;
    assert_eq!(fix.tier, Some(Tier::High));
    assert_eq!(fix.tier_head.as_deref(), Some(head.as_str()));
    let comments = story.bot_comments(pull.number);
    assert!(
        comments
            .iter()
            .any(|c| c.contains("**HIGH**-tier") && c.contains("signature of public `total`")),
        "{comments:?}"
    );
}

#[tokio::test]
async fn a_merge_approval_is_voided_by_the_next_push() {
    let story = Story::rounding(&[CATEGORIZE, DRAFT_HIGH, REPAIR_TEST]).await;
    story.label().await;
    let approved = story.pull();
    comment(&story.app, approved.number, MAINTAINER, "/globallm merge").await;
    assert_eq!(
        fix_of(&story.app).await.merge_approved_sha.as_deref(),
        Some(approved.head_sha.as_str())
    );

    story
        .red(&approved.head_sha, "FAILED tests/test_cart.py")
        .await;
    let head = story.pull().head_sha;
    assert_ne!(head, approved.head_sha);
    story.green(&head).await;
    assert!(
        !story.pull().merged,
        "the maintainer approved another commit"
    );

    // A word on the new head merges it.
    comment(&story.app, approved.number, MAINTAINER, "/globallm merge").await;
    assert!(story.pull().merged);
    assert_eq!(count(&story.app, "PUT", "/merge"), 1);
    let comments = story.bot_comments(approved.number);
    assert!(
        comments
            .iter()
            .any(|c| c.contains(&format!("`/globallm merge` of {}", &head[..7]))),
        "{comments:?}"
    );
}

#[tokio::test]
async fn a_stop_that_arrives_while_a_repair_drafts_wins() {
    let gate = Arc::new(Gate::default());
    let provider = ScriptedProvider::new("scripted", "claude-sonnet-4-5")
        .answer(CATEGORIZE)
        .answer(DRAFT)
        .answer(REPAIR)
        .hold(3, gate.clone());
    let story = Story::rounding_with_llm(provider, &[]).await;
    story.label().await;
    let pull = story.pull();
    let run = story
        .app
        .github
        .complete_check(REPO, &pull.head_sha, "test", "failure", "FAILED");
    story
        .app
        .deliver("check_run", &story.app.github.check_run_delivery(REPO, run))
        .await;
    let repairing = story.app.drain_in_background();
    gate.reached().await;

    // While the model drafts the repair, the maintainer says stop (another worker runs it).
    comment(&story.app, pull.number, MAINTAINER, "/globallm stop").await;
    gate.release();
    repairing.await.expect("the drain finished");

    let after = story.pull();
    assert_eq!(after.head_sha, pull.head_sha, "the repair was not pushed");
    let fix = fix_of(&story.app).await;
    assert!(fix.stopped, "the stop was not undone by the repair");
    let comments = story.bot_comments(pull.number);
    assert!(
        !comments.iter().any(|c| c.contains("Pushed a repair")),
        "{comments:?}"
    );
    story.green(&pull.head_sha).await;
    assert!(!story.pull().merged);
}

#[tokio::test]
async fn a_fix_stuck_past_its_deadline_is_marked_failed_and_the_issue_told() {
    // The model never answers the draft; the job's deadline is a second.
    let gate = Arc::new(Gate::default());
    let provider = ScriptedProvider::new("scripted", "claude-sonnet-4-5")
        .answer(CATEGORIZE)
        .answer(DRAFT)
        .hold(2, gate.clone());
    let story = Story::rounding_with_llm(provider, &[("GLOBALLM_JOBS__MAX_RUN_SECS", "1")]).await;
    story.label().await;

    assert!(story.app.github.pulls(REPO).is_empty());
    let fix = fix_of(&story.app).await;
    assert_eq!(fix.state, FixState::Failed, "it no longer blocks the issue");
    let comments = story.bot_comments(story.issue);
    assert!(
        comments
            .iter()
            .any(|c| c.contains("could not draft a fix for this issue")),
        "{comments:?}"
    );
    let dead: Vec<(String,)> =
        sqlx::query_as("SELECT last_error FROM jobs WHERE state = 'dead' AND kind = 'fix_issue'")
            .fetch_all(story.app.ctx.db.pool())
            .await
            .expect("read");
    assert!(
        dead.iter().any(|(e,)| e.contains("jobs.max_run_secs")),
        "{dead:?}"
    );
}

#[tokio::test]
async fn the_kill_switch_label_put_on_while_ci_is_judged_stops_the_merge() {
    let scene = Scene::new("low").await;
    // A maintainer labels the pull request after GlobalLM read it and while it reads CI.
    let pr = scene.pr;
    scene.app.github.after_call(
        "GET",
        &format!("/commits/{}/check-runs", scene.head),
        move |world| world.label(REPO, pr, "globallm:disabled"),
    );
    scene.check("test", "success", "12 passed").await;
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    assert!(scene.merges().is_empty());
}

#[tokio::test]
async fn enabled_false_pushed_while_ci_is_judged_stops_the_merge() {
    let scene = Scene::new("low").await;
    // The owner turns GlobalLM off after it read the settings and while it reads CI.
    let bare = scene.bare.clone();
    scene.app.github.after_call(
        "GET",
        &format!("/commits/{}/check-runs", scene.head),
        move |_| {
            git::push_commit(
                &bare,
                "main",
                ".github/globallm.yml",
                "enabled: false\n",
                MAINTAINER,
            );
        },
    );
    scene.check("test", "success", "12 passed").await;
    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(!pull.merged);
    assert_eq!(pull.head_sha, scene.head, "nor brought up to date");
    assert!(scene.merges().is_empty());
}

#[tokio::test]
async fn a_build_hook_the_model_wrote_is_critical_and_never_merged() {
    // The model slips code into `tests/conftest.py`, which pytest runs before every test —
    // in CI, with CI's secrets.
    let hostile = DRAFT.replace(
        "FILE: tests/test_cart.py\n",
        "FILE: tests/conftest.py\nWHY: a fixture for the test\n<<<<<<< SEARCH\n=======\nimport os\n\nTOKEN = os.environ.get(\"NPM_TOKEN\")\n>>>>>>> REPLACE\n\nFILE: tests/test_cart.py\n",
    );
    let story = Story::rounding(&[CATEGORIZE, &hostile]).await;
    story.label().await;
    let pull = story.pull();
    assert!(
        pull.files.iter().any(|f| f.0 == "tests/conftest.py"),
        "{:?}",
        pull.files
    );
    story.green(&pull.head_sha).await;
    let after = story.pull();
    assert!(!after.merged);
    assert!(after.draft, "not even marked ready");
    assert_eq!(fix_of(&story.app).await.tier, Some(Tier::Critical));
    let comments = story.bot_comments(pull.number);
    assert!(
        comments
            .iter()
            .any(|c| c.contains("**CRITICAL**") && c.contains("conftest.py")),
        "{comments:?}"
    );
    assert_eq!(count(&story.app, "PUT", "/merge"), 0);
    story.bot_comments(story.issue);
}

#[tokio::test]
async fn a_fast_lint_cannot_merge_before_the_tests_have_started() {
    let scene = Scene::new("low").await;
    // The base branch's last green commit ran a lint and the tests.
    let main = git::branch_head(&scene.bare, "main").expect("main");
    scene
        .app
        .github
        .complete_check(REPO, &main, "lint", "success", "clean");
    scene
        .app
        .github
        .complete_check(REPO, &main, "tests", "success", "12 passed");

    scene.check("lint", "success", "clean").await;
    assert!(
        !scene.app.github.pull(REPO, scene.pr).merged,
        "`tests` has not been created on the head yet"
    );
    assert!(scene.merges().is_empty());
    scene.check("tests", "success", "12 passed").await;
    assert!(scene.app.github.pull(REPO, scene.pr).merged);
    let comments = scene.bot_comments();
    assert_eq!(comments.len(), 1, "{comments:?}");
}

/// A completed check run of the CI App `app` on `sha` (its queued suite replaced by it).
fn complete_check_of(scene: &Scene, app: &str, sha: &str, name: &str) -> u64 {
    let run = scene
        .app
        .github
        .complete_check(REPO, sha, name, "success", "ok");
    let mut world = scene.app.github.world();
    let repo = world.repos.get_mut(REPO).expect("the repository");
    repo.queued_suites
        .retain(|(_, s, a)| !(s == sha && a == app));
    let created = repo
        .check_runs
        .iter_mut()
        .find(|r| r.id == run)
        .expect("the run");
    created.app_slug = app.to_owned();
    run
}

#[tokio::test]
async fn another_cis_queued_suite_holds_the_merge_until_its_checks_ran() {
    let scene = Scene::new("low").await;
    // On the base branch's last green commit, GitHub Actions and CircleCI both reported.
    let main = git::branch_head(&scene.bare, "main").expect("main");
    scene
        .app
        .github
        .complete_check(REPO, &main, "test", "success", "12 passed");
    complete_check_of(&scene, "circleci-checks", &main, "ci/circleci: build");
    // On the head, CircleCI's suite is queued, and so is one of an App that never runs
    // anything (GitHub creates a suite for every App that may write checks).
    scene
        .app
        .github
        .queue_suite(REPO, &scene.head, "circleci-checks");
    scene.app.github.queue_suite(REPO, &scene.head, "idle-app");

    scene.check("test", "success", "12 passed").await;
    assert!(
        !scene.app.github.pull(REPO, scene.pr).merged,
        "CircleCI has not run its checks yet"
    );
    assert!(scene.merges().is_empty());

    let run = complete_check_of(&scene, "circleci-checks", &scene.head, "ci/circleci: build");
    scene
        .app
        .deliver("check_run", &scene.app.github.check_run_delivery(REPO, run))
        .await;
    scene.app.drain().await;
    assert!(
        scene.app.github.pull(REPO, scene.pr).merged,
        "a suite no expected App owns does not hold it forever"
    );
    assert_eq!(scene.bot_comments().len(), 1);
}

#[tokio::test]
async fn a_broken_config_with_nothing_cached_turns_automation_off_and_says_why() {
    let scene = Scene::new("low").await;
    git::push_commit(
        &scene.bare,
        "main",
        ".github/globallm.yml",
        "automerge: [low\n",
        MAINTAINER,
    );
    // The check run's answer is lost after GitHub created it: still one check run.
    scene
        .app
        .github
        .fail_after_applying("POST", "/check-runs", 502, 1);
    scene.check("test", "success", "12 passed").await;
    scene.check("lint", "success", "clean").await;

    assert!(
        !scene.app.github.pull(REPO, scene.pr).merged,
        "the defaults do not apply"
    );
    let world = scene.app.github.world();
    let config_runs: Vec<_> = world.repos[REPO]
        .check_runs
        .iter()
        .filter(|r| r.name == "GlobalLM config" && r.head_sha == scene.head)
        .cloned()
        .collect();
    drop(world);
    assert_eq!(config_runs.len(), 1, "{config_runs:#?}");
    assert_eq!(config_runs[0].conclusion.as_deref(), Some("failure"));
    assert!(
        config_runs[0]
            .summary
            .contains("no earlier valid version is known"),
        "{}",
        config_runs[0].summary
    );
    assert_eq!(count(&scene.app, "POST", "/check-runs"), 1);
}

#[tokio::test]
async fn writes_github_applied_but_answered_502_are_not_made_twice() {
    let story = Story::rounding(&[CATEGORIZE, DRAFT]).await;
    let github = &story.app.github;
    github.fail_after_applying("POST", "/pulls", 502, 1);
    github.fail_after_applying("POST", "/comments", 502, 2);
    story.label().await;
    let pull = story.pull();
    assert_eq!(
        count(&story.app, "POST", "/pulls"),
        1,
        "adopted, not retried: {:#?}",
        story.app.github.calls()
    );

    github.fail_after_applying("PUT", "/merge", 502, 1);
    github.fail_after_applying("POST", "/comments", 502, 1);
    story.green(&pull.head_sha).await;
    assert!(story.pull().merged);
    let merges: Vec<u16> = story
        .app
        .github
        .calls()
        .iter()
        .filter(|c| c.method == "PUT" && c.path.ends_with("/merge"))
        .map(|c| c.status)
        .collect();
    // The merge call names the head, so a replay cannot merge twice: GitHub refuses it (405)
    // and the pull request, read again, shows the merge that was lost.
    assert_eq!(merges, [502, 405], "applied once");
    assert_eq!(fix_of(&story.app).await.state, FixState::Merged);
    for number in [story.issue, pull.number] {
        let comments = story.bot_comments(number);
        let mut unique = comments.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), comments.len(), "#{number}: {comments:#?}");
    }
    assert!(
        story
            .bot_comments(pull.number)
            .iter()
            .filter(|c| c.contains("Merged"))
            .count()
            <= 1
    );
}

#[tokio::test]
async fn a_review_request_and_its_comment_answered_502_are_made_once() {
    let scene = Scene::new("high").await;
    scene
        .app
        .github
        .fail_after_applying("POST", "/requested_reviewers", 502, 1);
    scene
        .app
        .github
        .fail_after_applying("POST", "/comments", 502, 1);
    scene.check("test", "success", "12 passed").await;
    let pull = scene.app.github.pull(REPO, scene.pr);
    assert_eq!(pull.requested_reviewers, vec![MAINTAINER.to_owned()]);
    let comments = scene.bot_comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert_eq!(count(&scene.app, "POST", "/comments"), 1);
}

#[tokio::test]
async fn a_triage_comment_answered_502_is_posted_once() {
    let app = TestApp::start().await;
    app.github.add_repo(REPO, INSTALLATION);
    let issue = app.github.add_issue(
        REPO,
        "Crash on start",
        "Traceback (most recent call last):\nValueError: bad config",
        "reporter",
    );
    app.github.fail_after_applying("POST", "/comments", 502, 1);
    app.deliver(
        "issues",
        &app.github.issue_delivery("opened", REPO, issue, "reporter"),
    )
    .await;
    app.drain().await;
    assert_eq!(app.github.comments(REPO, issue).len(), 1);
}

#[tokio::test]
async fn one_issue_failing_in_a_backfill_leaves_the_others_triaged_and_is_retried_alone() {
    let app = TestApp::start_with_env(&[("GLOBALLM_GITHUB__RETRY_BASE_MS", "1")]).await;
    app.github.add_repo(REPO, INSTALLATION);
    let issues: Vec<u64> = (0..5)
        .map(|n| {
            app.github.add_issue(
                REPO,
                &format!("Crash number {n} on start"),
                "Traceback (most recent call last):\nValueError: bad config",
                "reporter",
            )
        })
        .collect();
    // The first issue's GraphQL lookup fails every retry of its call.
    app.github.fail_exact("/graphql", 502, 4);
    app.deliver("installation", &app.github.installation_created(REPO))
        .await;
    app.drain().await;
    let triaged: Vec<u64> = issues
        .iter()
        .copied()
        .filter(|n| !app.github.comments(REPO, *n).is_empty())
        .collect();
    assert_eq!(triaged.len(), 4, "every other issue is triaged");
    let failed = issues[0];
    assert!(!triaged.contains(&failed));

    // Its own job waits for its retry, with the error; then it is triaged too.
    let waiting: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT kind, last_error FROM jobs WHERE state = 'queued'")
            .fetch_all(app.ctx.db.pool())
            .await
            .expect("read");
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0].0, "triage_issue");
    assert!(waiting[0].1.is_some());
    make_due(&app).await;
    app.drain().await;
    assert_eq!(app.github.comments(REPO, failed).len(), 1);
}

#[tokio::test]
async fn the_models_words_in_a_pull_request_cannot_close_issues_or_mention_people() {
    let hostile = DRAFT.replace(
        "SUMMARY: Round cart totals to cents.",
        "SUMMARY: Round cart totals. Closes #7, fixes acme/shop#8, resolves https://github.com/acme/shop/issues/9. Thanks @octocat and @acme/admins!",
    );
    let story = Story::rounding(&[CATEGORIZE, &hostile]).await;
    story.label().await;
    let body = story.pull().body;
    assert!(body.contains(&format!("Fixes #{}", story.issue)), "{body}");
    for word in [
        "Closes #7",
        "acme/shop#8",
        "shop/issues/9",
        "@octocat",
        "@acme/admins",
    ] {
        assert!(!body.contains(word), "`{word}` survives in {body}");
    }
    assert!(body.contains("octocat"), "the words stay readable: {body}");
    story.bot_comments(story.issue);
}

/// Makes every queued job due now (their backoff skipped), as time passing would.
async fn make_due(app: &TestApp) -> u64 {
    let mut tx = app.ctx.db.write().await.expect("a transaction");
    let done = sqlx::query("UPDATE jobs SET run_at = 0 WHERE state = 'queued'")
        .execute(&mut *tx.conn())
        .await
        .expect("updated")
        .rows_affected();
    tx.commit().await.expect("committed");
    done
}

/// Runs jobs until none is left, retries included.
async fn settle(app: &TestApp) {
    for _ in 0..30 {
        app.drain().await;
        if make_due(app).await == 0 {
            return;
        }
    }
    panic!("the queue did not settle");
}

const LOAD_REPOS: usize = 4;
const ISSUES_PER_REPO: usize = 50;
const FIXES_PER_REPO: usize = 10;
/// Of each repository's fixes, these change a public signature (HIGH).
const HIGH_PER_REPO: usize = 3;

#[tokio::test]
async fn under_chaos_200_triages_and_40_fixes_write_nothing_twice_and_merge_nothing_above_policy() {
    let app = TestApp::start_with_env(&[
        ("GLOBALLM_GITHUB__RETRY_BASE_MS", "1"),
        ("GLOBALLM_BUDGET__TOKENS_PER_REPO", "100000000"),
        ("GLOBALLM_BUDGET__TOKENS_TOTAL", "100000000"),
        ("GLOBALLM_BUDGET__SECONDS_PER_REPO", "100000000"),
        ("GLOBALLM_BUDGET__FIX_ATTEMPTS_PER_REPO", "1000"),
        ("GLOBALLM_BUDGET__FIX_ATTEMPTS_PER_LANGUAGE", "1000"),
        ("GLOBALLM_JOBS__MAX_ATTEMPTS", "20"),
    ])
    .await;
    let provider = ScriptedProvider::new("scripted", "claude-sonnet-4-5").replying(|request| {
        let asked = format!("{:?}", request.messages);
        if request.system.starts_with("You triage") {
            CATEGORIZE.to_owned()
        } else if asked.contains("public API") {
            DRAFT_HIGH.to_owned()
        } else {
            // Each fix adds its own files, so fixes merged one after the other never conflict.
            let n = asked
                .split("Totals are not rounded (")
                .nth(1)
                .and_then(|rest| rest.split(')').next())
                .unwrap_or("0")
                .to_owned();
            format!(
                "SUMMARY: Round totals, case {n}.\n\nFILE: shop/round_{n}.py\nWHY: a rounding helper\n<<<<<<< SEARCH\n=======\ndef _round_{n}(value):\n    return round(value, 2)\n>>>>>>> REPLACE\n\nFILE: tests/test_round_{n}.py\nWHY: its test\n<<<<<<< SEARCH\n=======\nfrom shop.round_{n} import _round_{n}\n\n\ndef test_round():\n    assert _round_{n}(0.1 + 0.2) == 0.3\n>>>>>>> REPLACE\n"
            )
        }
    });
    app.script_llm(provider);
    let mut repos = Vec::new();
    for r in 0..LOAD_REPOS {
        let name = format!("load/shop-{r}");
        app.github.add_git_repo(
            &name,
            INSTALLATION,
            app.dir.path(),
            &[
                ("shop/__init__.py", ""),
                ("shop/cart.py", e2e::CART),
                ("tests/test_cart.py", e2e::CART_TEST),
                (".github/globallm.yml", "max_open_prs: 20\n"),
            ],
        );
        app.github.set_permission(&name, MAINTAINER, "write");
        let issues: Vec<u64> = (0..ISSUES_PER_REPO)
            .map(|n| {
                let title = if n < HIGH_PER_REPO {
                    format!("Totals need a public API for rounding ({n})")
                } else {
                    format!("Totals are not rounded ({n})")
                };
                app.github.add_issue(
                    &name,
                    &title,
                    "`total([0.1, 0.2])` returns 0.30000000000000004 in shop/cart.py",
                    "reporter",
                )
            })
            .collect();
        repos.push((name, issues));
    }
    app.github.chaos(15, 7);

    for (name, issues) in &repos {
        for issue in issues {
            app.deliver(
                "issues",
                &app.github
                    .issue_delivery("opened", name, *issue, "reporter"),
            )
            .await;
        }
    }
    settle(&app).await;
    for (name, issues) in &repos {
        for issue in &issues[..FIXES_PER_REPO] {
            let labeled = app
                .github
                .labeled_delivery(name, *issue, "globallm:fix", MAINTAINER);
            app.deliver("issues", &labeled).await;
        }
    }
    settle(&app).await;
    // CI goes green on every draft. In each repository one merges; the base moved under the
    // others, so GlobalLM brings each up to date and waits for CI on the result.
    let mut judged_heads = Vec::new();
    for (name, _) in &repos {
        for pull in app.github.pulls(name) {
            judged_heads.push(pull.head_sha.clone());
            let run =
                app.github
                    .complete_check(name, &pull.head_sha, "test", "success", "3 passed");
            app.deliver("check_run", &app.github.check_run_delivery(name, run))
                .await;
        }
    }
    settle(&app).await;

    // The chaos happened.
    let calls = app.github.calls();
    let failed_after_applying = calls.iter().filter(|c| c.status == 502).count();
    let rate_limited = calls.iter().filter(|c| c.status == 403).count();
    eprintln!(
        "chaos: {} GitHub calls, {} writes, {failed_after_applying} applied then answered 502, {rate_limited} secondary rate limits",
        calls.len(),
        calls.iter().filter(|c| c.method != "GET").count()
    );
    assert!(
        failed_after_applying > 50 && rate_limited > 30,
        "{failed_after_applying} writes applied then 502, {rate_limited} rate limited"
    );
    let dead: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT kind, last_error FROM jobs WHERE state = 'dead'")
            .fetch_all(app.ctx.db.pool())
            .await
            .expect("read");
    assert!(dead.is_empty(), "{dead:#?}");

    let all_fixes = fixes::recent(app.ctx.db.pool(), 1_000).await.expect("read");
    assert_eq!(all_fixes.len(), LOAD_REPOS * FIXES_PER_REPO);
    let waiting: std::collections::HashMap<(String, i64), String> =
        crate::db::merge_waits::waiting(app.ctx.db.pool())
            .await
            .expect("read")
            .into_iter()
            .filter_map(|w| Some(((w.repo, w.pr_number?), w.reason)))
            .collect();
    let world = app.github.world();
    let mut merged = 0;
    for (name, issues) in &repos {
        let repo = &world.repos[name];
        // One triage comment per issue; no comment anywhere said twice.
        for issue in issues {
            let bot: Vec<_> = repo
                .comments
                .values()
                .filter(|c| c.issue == *issue && c.author_is_bot)
                .collect();
            let triage = bot
                .iter()
                .filter(|c| c.body.contains("<!-- globallm:triage -->"))
                .count();
            assert_eq!(triage, 1, "{name}#{issue}: {bot:#?}");
        }
        let mut markers: Vec<(u64, String)> = repo
            .comments
            .values()
            .filter(|c| c.author_is_bot)
            .filter_map(|c| {
                let start = c.body.find("<!-- globallm:")?;
                Some((c.issue, c.body[start..].to_owned()))
            })
            .collect();
        let said = markers.len();
        markers.sort();
        markers.dedup();
        assert_eq!(markers.len(), said, "{name}: a comment was written twice");
        // One pull request per fix branch. (No check run is GlobalLM's here: the config check
        // run under a lost answer is `a_broken_config_with_nothing_cached_…`'s story.)
        let mut branches: Vec<&str> = repo
            .pulls
            .values()
            .map(|p| p.head_branch.as_str())
            .collect();
        assert_eq!(branches.len(), FIXES_PER_REPO, "{name}");
        branches.sort_unstable();
        branches.dedup();
        assert_eq!(branches.len(), FIXES_PER_REPO, "{name}");
        for pull in repo.pulls.values() {
            let fix = all_fixes
                .iter()
                .find(|f| f.repo == *name && f.pr_number == Some(pull.number as i64))
                .expect("every pull request is a fix's");
            let tier = fix.tier.expect("a tier");
            if pull.merged {
                merged += 1;
                assert!(
                    tier <= Tier::Medium,
                    "{name}#{}: merged at {tier}",
                    pull.number
                );
            } else if tier >= Tier::Medium {
                // HIGH, and MEDIUM above a new installation's earned ceiling (LOW): a review.
                assert!(!pull.requested_reviewers.is_empty());
            } else {
                // Brought up to date with the merged fix and waiting for CI on that, or waiting
                // its turn behind the one that is.
                assert!(
                    !fix.stopped,
                    "{name}#{}: {:?}",
                    pull.number, fix.stop_reason
                );
                assert_eq!(fix.head_sha.as_deref(), Some(pull.head_sha.as_str()));
                let waits = waiting.get(&(name.clone(), pull.number as i64));
                assert!(
                    !judged_heads.contains(&pull.head_sha) || waits == Some(&"turn".to_owned()),
                    "{name}#{}: judged and not waiting its turn ({waits:?})",
                    pull.number
                );
            }
        }
    }
    drop(world);
    assert_eq!(merged, LOAD_REPOS, "one merge per repository and base");
    for (name, issues) in &repos {
        for issue in issues {
            app.github.comments(name, *issue);
        }
        for pull in app.github.pulls(name) {
            app.github.comments(name, pull.number);
        }
    }
}
