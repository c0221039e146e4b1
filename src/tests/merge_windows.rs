//! When and how GlobalLM merges: stories of a merge window (`automerge_schedule`) that keeps a
//! green pull request waiting over a weekend and merges it when it opens — after checking the
//! base again — of the repository's merge method (`merge: rebase`, one the repository's
//! settings refuse), and of the wait list `globallm status` shows in order of priority.

use super::fix_flows::{MAINTAINER, REPO, Scene};
use crate::clock::ShiftedClock;
use crate::monitoring::dashboard;
use crate::testing::fake_github::git;
use crate::testing::harness::TestApp;
use std::sync::Arc;
use std::time::Duration;

/// Working hours in Central Europe's winter: 09:00–17:59, Monday to Friday.
const WORKING_HOURS: &str =
    "automerge_schedule:\n  - cron: \"* 9-17 * * Mon-Fri\"\n    utc_offset: \"+01:00\"\n";

const HOUR: Duration = Duration::from_secs(60 * 60);

fn at(text: &str) -> crate::time::Millis {
    crate::time::parse_rfc3339_ms(text).expect("a time")
}

/// `name` green on `sha`, delivered and processed.
async fn green(scene: &Scene, sha: &str, name: &str) {
    let run = scene
        .app
        .github
        .complete_check(REPO, sha, name, "success", "all passed");
    scene
        .app
        .deliver("check_run", &scene.app.github.check_run_delivery(REPO, run))
        .await;
    scene.app.drain().await;
}

async fn snapshot(scene: &Scene) -> dashboard::Snapshot {
    let ctx = &scene.app.ctx;
    dashboard::snapshot(&ctx.db, &ctx.config(), ctx.clock.now_ms())
        .await
        .expect("the snapshot")
}

#[tokio::test]
async fn a_green_pull_request_on_friday_evening_waits_for_monday_and_merges_after_checking_the_base()
 {
    // Friday 2037-01-09, 18:30 at +01:00.
    let clock = Arc::new(ShiftedClock::starting_at(at("2037-01-09T17:30:00Z")));
    let app = TestApp::start_with_clock(clock.clone(), &[]).await;
    let scene = Scene::on(app, "low", Some(WORKING_HOURS)).await;

    scene.check("test", "success", "12 passed").await;
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    let said = scene.bot_comments();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("outside this repository's merge window")
            && said[0].contains("Mon 2037-01-12 09:00 +01:00"),
        "{said:?}"
    );
    // Another report on the same head: nothing more is said.
    scene.check("lint", "success", "clean").await;
    assert_eq!(scene.bot_comments().len(), 1);
    let waits = snapshot(&scene).await.merge_waits;
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert_eq!(
        (waits[0].reason.as_str(), waits[0].detail.as_deref()),
        ("window", Some("Mon 2037-01-12 09:00 +01:00"))
    );

    // Saturday, then Monday 08:58: nothing wakes it yet.
    clock.advance(24 * HOUR);
    scene.app.drain().await;
    git::push_commit(
        &scene.bare,
        "main",
        "docs/CHANGES.md",
        "- a note from the weekend\n",
        MAINTAINER,
    );
    clock.advance(38 * HOUR + 28 * 60 * Duration::from_secs(1));
    scene.app.drain().await;
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    assert_eq!(scene.bot_comments().len(), 1);

    // 09:00: the window opens. The base moved over the weekend, so the branch is brought up
    // to date first — no merge of an untested result.
    clock.advance(2 * 60 * Duration::from_secs(1));
    scene.app.drain().await;
    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(!pull.merged);
    assert_ne!(pull.head_sha, scene.head, "the base was merged in");
    let said = scene.bot_comments();
    assert!(
        said.last()
            .is_some_and(|c| c.contains("moved after CI ran")),
        "{said:?}"
    );
    let waits = snapshot(&scene).await.merge_waits;
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0].reason, "update");

    // CI on the updated head, inside the window: it merges.
    green(&scene, &pull.head_sha, "test").await;
    assert!(scene.app.github.pull(REPO, scene.pr).merged);
    let said = scene.bot_comments();
    assert!(
        said.last()
            .is_some_and(|c| c.contains("(squash) after green CI")),
        "{said:?}"
    );
    assert!(snapshot(&scene).await.merge_waits.is_empty());
}

#[tokio::test]
async fn a_window_that_is_open_merges_at_once() {
    // Tuesday 2037-01-13, 10:00 at +01:00.
    let clock = Arc::new(ShiftedClock::starting_at(at("2037-01-13T09:00:00Z")));
    let app = TestApp::start_with_clock(clock, &[]).await;
    let scene = Scene::on(app, "low", Some(WORKING_HOURS)).await;
    scene.check("test", "success", "12 passed").await;
    assert!(scene.app.github.pull(REPO, scene.pr).merged);
    scene.bot_comments();
}

#[tokio::test]
async fn merge_rebase_replays_the_branch_onto_the_base_and_the_comment_names_it() {
    let scene = Scene::on(TestApp::start().await, "low", Some("merge: rebase\n")).await;
    let base = git::branch_head(&scene.bare, "main").expect("main");
    scene.check("test", "success", "12 passed").await;

    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(pull.merged);
    assert_eq!(pull.merge_method.as_deref(), Some("rebase"));
    let tip = git::branch_head(&scene.bare, "main").expect("main");
    assert_eq!(pull.merge_sha.as_deref(), Some(tip.as_str()));
    // The branch's own commit, replayed onto the base: one parent, its own message.
    let (parents, subject) = git::commit_info(&scene.bare, &tip);
    assert_eq!(parents, [base]);
    assert_eq!(subject, "A change");
    let said = scene.bot_comments();
    assert!(
        said.last()
            .is_some_and(|c| c.contains("(rebase) after green CI")),
        "{said:?}"
    );
}

#[tokio::test]
async fn a_merge_method_the_repository_disallows_is_not_merged_and_says_why() {
    let scene = Scene::on(TestApp::start().await, "low", Some("merge: merge\n")).await;
    scene
        .app
        .github
        .disallow_merge_methods(REPO, &["merge", "rebase"]);
    scene.check("test", "success", "12 passed").await;

    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    assert_eq!(scene.merges().len(), 1, "one merge call, refused");
    let said = scene.bot_comments();
    assert!(
        said.last()
            .is_some_and(|c| c.contains("refused to merge with `merge: merge`")
                && c.contains("Merge commits are not allowed on this repository")),
        "{said:?}"
    );
    // The next report tries again (the settings may have changed since) but says nothing more.
    scene.check("lint", "success", "clean").await;
    assert_eq!(scene.merges().len(), 2);
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    assert_eq!(scene.bot_comments().len(), said.len());
}

#[tokio::test]
async fn green_pull_requests_that_wait_are_listed_in_order_of_their_issues_priority() {
    use super::fix_e2e::{CART, CART_TEST, CATEGORIZE, DRAFT};
    use super::merge_order::DRAFT_TAX;
    use crate::llm::scripted::ScriptedProvider;
    use crate::testing::harness::INSTALLATION;

    // The tax helper is a MEDIUM change: a repository where GlobalLM has earned MEDIUM.
    let app = TestApp::start_with_env(&[("GLOBALLM_RISK__INITIAL_CEILING", "medium")]).await;
    app.github.add_git_repo(
        REPO,
        INSTALLATION,
        app.dir.path(),
        &[
            ("shop/__init__.py", ""),
            ("shop/cart.py", CART),
            ("tests/test_cart.py", CART_TEST),
            (".github/globallm.yml", "freeze: true\n"),
        ],
    );
    app.github.set_permission(REPO, MAINTAINER, "write");
    app.script_llm(
        ScriptedProvider::new("scripted", "claude-sonnet-4-5").replying(|request| {
            if request.system.starts_with("You triage") {
                CATEGORIZE.to_owned()
            } else if format!("{:?}", request.messages).contains("tax helper") {
                DRAFT_TAX.to_owned()
            } else {
                DRAFT.to_owned()
            }
        }),
    );
    let rounding = app.github.add_issue(
        REPO,
        "Totals are not rounded",
        "`total([0.1, 0.2])` returns 0.30000000000000004 in shop/cart.py",
        MAINTAINER,
    );
    let tax = app.github.add_issue(
        REPO,
        "Add a tax helper",
        "Please add a tax helper next to shop/cart.py",
        MAINTAINER,
    );
    // Triage ranked the tax helper above the rounding bug.
    for (issue, priority) in [(rounding, 0.31), (tax, 0.87)] {
        super::merge_order::triaged(&app, issue, priority).await;
    }
    for issue in [rounding, tax] {
        let labeled = app
            .github
            .labeled_delivery(REPO, issue, "globallm:fix", MAINTAINER);
        app.deliver("issues", &labeled).await;
    }
    app.drain().await;
    let pulls = app.github.pulls(REPO);
    let of = |issue: u64| {
        pulls
            .iter()
            .find(|p| p.head_branch.ends_with(&format!("-{issue}")))
            .expect("its pull request")
            .clone()
    };
    let (first, second) = (of(rounding), of(tax));

    // The rounding fix is green first, the tax helper second: both wait for the freeze.
    for pull in [&first, &second] {
        let run = app
            .github
            .complete_check(REPO, &pull.head_sha, "test", "success", "all passed");
        app.deliver("check_run", &app.github.check_run_delivery(REPO, run))
            .await;
        app.drain().await;
        assert!(!app.github.pull(REPO, pull.number).merged);
    }
    let snapshot = dashboard::snapshot(&app.ctx.db, &app.ctx.config(), app.ctx.clock.now_ms())
        .await
        .expect("the snapshot");
    let listed: Vec<_> = snapshot
        .merge_waits
        .iter()
        .map(|w| (w.place, w.pr, w.reason.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (1, Some(second.number as i64), "freeze"),
            (2, Some(first.number as i64), "freeze"),
        ],
        "the higher priority first, though it waits for less long"
    );
    let text = dashboard::render_text(&snapshot);
    let line = |n: u64| text.find(&format!("#{n} (issue")).expect("listed");
    assert!(line(second.number) < line(first.number), "{text}");
    assert!(
        text.contains("priority 0.87): freeze (`freeze: true`"),
        "{text}"
    );
    let json = serde_json::to_value(&snapshot).expect("JSON");
    assert_eq!(json["merge_waits"][0]["pr"], second.number);
    // The web page lists them in the same order.
    let page = crate::server::dashboard::render(&snapshot, "");
    let waits = &page[page.find("id=\"merge-waits\"").expect("the wait list")..];
    let at = |n: u64| waits.find(&format!("<td>#{n}</td>")).expect("listed");
    assert!(at(second.number) < at(first.number), "{waits}");
    for number in [rounding, tax, first.number, second.number] {
        app.github.comments(REPO, number);
    }
}

#[tokio::test]
async fn a_window_given_as_a_time_zone_name_is_a_config_error_and_nothing_merges() {
    let config =
        "automerge_schedule:\n  - cron: \"* 9-17 * * Mon-Fri\"\n    utc_offset: Europe/Berlin\n";
    let scene = Scene::on(TestApp::start().await, "low", Some(config)).await;
    scene.check("test", "success", "12 passed").await;

    assert!(
        !scene.app.github.pull(REPO, scene.pr).merged,
        "fails closed"
    );
    assert!(scene.merges().is_empty());
    let world = scene.app.github.world();
    let summary = world.repos[REPO]
        .check_runs
        .iter()
        .find(|r| r.name == "GlobalLM config" && r.head_sha == scene.head)
        .map(|r| r.summary.clone())
        .expect("the config check run");
    drop(world);
    assert!(
        summary.contains("`automerge_schedule[0].utc_offset`")
            && summary.contains("time-zone names are not supported"),
        "{summary}"
    );
}

#[tokio::test]
async fn the_services_window_and_the_repositorys_must_both_be_open() {
    // Monday 2037-01-12, 10:00 UTC: the service merges on weekdays 09:00–17:59 UTC, this
    // repository only over lunch.
    let clock = Arc::new(ShiftedClock::starting_at(at("2037-01-12T10:00:00Z")));
    let service = [(
        "GLOBALLM_RISK__AUTOMERGE_SCHEDULE",
        r#"[{cron: "* 9-17 * * Mon-Fri", utc_offset: UTC}]"#,
    )];
    let app = TestApp::start_with_clock(clock.clone(), &service).await;
    let lunch = "automerge_schedule:\n  - cron: \"* 12-13 * * *\"\n";
    let scene = Scene::on(app, "low", Some(lunch)).await;
    assert_eq!(
        scene.app.ctx.config().risk.automerge_schedule[0].cron,
        "* 9-17 * * Mon-Fri"
    );
    scene.check("test", "success", "12 passed").await;
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    let said = scene.bot_comments();
    assert!(
        said.last()
            .is_some_and(|c| c.contains("at Mon 2037-01-12 12:00 UTC")),
        "{said:?}"
    );

    clock.advance(2 * HOUR);
    scene.app.drain().await;
    assert!(scene.app.github.pull(REPO, scene.pr).merged);
    scene.bot_comments();
}
