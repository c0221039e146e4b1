//! After the merge: stories of the post-merge guard (a merge that turns the base branch red is
//! reverted once; a red that passes on a re-run closes the revert; a human push in between
//! leaves the revert to a maintainer) and of earned autonomy (a revert lowers the ceiling, five
//! clean merges raise it), on the fake GitHub with real git remotes.

use super::fix_flows::{MAINTAINER, REPO, Scene};
use crate::config::Automerge;
use crate::db::fixes::{self, FixPr};
use crate::db::outcomes;
use crate::fix::lifecycle::{self, Decision};
use crate::fix::{FixState, Tier, autonomy};
use crate::github::ids::{InstallationId, RepoName};
use crate::github::model::NewPullRequest;
use crate::github::repo_config::RepoConfig;
use crate::testing::fake_github::git;
use crate::testing::harness::{INSTALLATION, TestApp};

/// A GlobalLM fix merged by GlobalLM after green CI, with `test` green on the commit before
/// the merge (as CI on the base branch leaves it): the merge commit and that parent.
async fn merged_scene() -> (Scene, String, String) {
    let scene = Scene::new("low").await;
    let parent = git::branch_head(&scene.bare, "main").expect("main");
    scene
        .app
        .github
        .complete_check(REPO, &parent, "test", "success", "12 passed");
    scene.check("test", "success", "12 passed").await;
    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(pull.merged, "the LOW fix merges itself");
    let said = scene.bot_comments();
    assert!(said[0].starts_with("Merged as"), "{said:?}");
    let merge = pull.merge_sha.expect("a merge commit");
    assert_eq!(
        git::branch_head(&scene.bare, "main").as_deref(),
        Some(merge.as_str())
    );
    (scene, merge, parent)
}

/// `name` finishes with `conclusion` on `sha`, delivered and processed.
async fn check(app: &TestApp, sha: &str, name: &str, conclusion: &str, summary: &str) {
    let run = app
        .github
        .complete_check(REPO, sha, name, conclusion, summary);
    app.deliver("check_run", &app.github.check_run_delivery(REPO, run))
        .await;
    app.drain().await;
}

async fn ceiling(app: &TestApp) -> autonomy::Ceiling {
    autonomy::ceiling(&app.ctx, REPO, &RepoConfig::default())
        .await
        .expect("the ceiling")
}

fn issue_state(app: &TestApp, number: u64) -> String {
    app.github.world().repos[REPO].issues[&number].state.clone()
}

fn bot_comments(app: &TestApp, number: u64) -> Vec<String> {
    app.github.bot_comments(REPO, number)
}

fn revert_pulls(app: &TestApp) -> Vec<crate::testing::fake_github::world::FakePull> {
    app.github
        .pulls(REPO)
        .into_iter()
        .filter(|p| p.head_branch.starts_with("globallm/revert-"))
        .collect()
}

#[tokio::test]
async fn a_merge_that_turns_the_base_red_is_reverted_once_and_the_ceiling_drops() {
    let (scene, merge, parent) = merged_scene().await;
    let app = &scene.app;
    let fix = scene.fix().await;
    assert_eq!(fix.merged_by.as_deref(), Some("globallm"));
    assert_eq!(ceiling(app).await.effective, Automerge::Low);
    assert_eq!(
        issue_state(app, fix.issue as u64),
        "closed",
        "Fixes #1 closed it"
    );

    // The base branch's CI on the merge commit: `test` passed before the merge and fails now,
    // reported twice (a re-delivery, a second workflow finishing).
    check(
        app,
        &merge,
        "test",
        "failure",
        "AssertionError: 0.3 != 0.30000000000000004",
    )
    .await;
    check(
        app,
        &merge,
        "test",
        "failure",
        "AssertionError: 0.3 != 0.30000000000000004",
    )
    .await;

    let reverts = revert_pulls(app);
    assert_eq!(reverts.len(), 1, "reverted once");
    let revert = &reverts[0];
    assert_eq!(revert.title, "Revert \"Fix #1: Totals are not rounded\"");
    assert!(
        revert
            .body
            .starts_with(&format!("Reverts {REPO}#{}", scene.pr))
    );
    assert!(revert.body.contains("`test` (failure)"), "{}", revert.body);
    assert!(!revert.draft);
    // The revert's tree is the tree before the merge.
    let (_, before) = git::read_file(&scene.bare, &parent, "shop/cart.py").expect("cart");
    let (_, reverted) =
        git::read_file(&scene.bare, &revert.head_branch, "shop/cart.py").expect("cart");
    assert_eq!(before, reverted);

    let said = bot_comments(app, scene.pr);
    let told: Vec<_> = said
        .iter()
        .filter(|c| c.contains("checks of `main` that passed before it fail"))
        .collect();
    assert_eq!(told.len(), 1, "{said:?}");
    assert!(told[0].contains(&format!("#{}", revert.number)));
    let on_issue = bot_comments(app, fix.issue as u64);
    assert_eq!(
        on_issue
            .iter()
            .filter(|c| c.contains("GlobalLM opened #"))
            .count(),
        1
    );
    assert_eq!(
        issue_state(app, fix.issue as u64),
        "open",
        "the issue is reopened"
    );
    let now = ceiling(app).await;
    assert_eq!(now.effective, Automerge::None, "LOW falls to nothing");
    assert!(
        now.explain()
            .contains("turned the base branch's checks red"),
        "{}",
        now.explain()
    );

    // The revert's own CI is green: a revert of GlobalLM's own change is LOW, the repository
    // lets LOW merge itself, and nobody pushed to main since: it merges, once.
    check(app, &revert.head_sha, "test", "success", "12 passed").await;
    check(app, &revert.head_sha, "test", "success", "12 passed").await;
    let revert = app.github.pull(REPO, revert.number);
    assert!(revert.merged);
    assert_eq!(scene.merges().len(), 2, "the fix, then its revert");
    let (_, main_now) = git::read_file(&scene.bare, "main", "shop/cart.py").expect("cart");
    assert_eq!(main_now, before);
    let fix = scene.fix().await;
    assert!(fix.reverted);
    assert_eq!(fix.reverted_by.as_deref(), Some("globallm"));
    let watch = outcomes::watch_of(app.ctx.db.pool(), fix.id)
        .await
        .expect("read")
        .expect("watched");
    assert_eq!(watch.state, "reverted");
    // The revert's own merge event (and the merged revert) count one revert, not two.
    let body = app
        .github
        .pull_delivery("closed", REPO, revert.number, "globallm[bot]", None, None);
    app.deliver("pull_request", &body).await;
    app.drain().await;
    assert_eq!(ceiling(app).await.effective, Automerge::None);
    assert!(
        bot_comments(app, revert.number)
            .iter()
            .any(|c| c.starts_with("Merged as"))
    );
}

#[tokio::test]
async fn a_red_that_passes_on_a_re_run_closes_the_revert_and_restores_the_ceiling() {
    let (scene, merge, _) = merged_scene().await;
    let app = &scene.app;
    let issue = scene.fix().await.issue as u64;

    // An infrastructure failure is re-run once, not reverted.
    check(
        app,
        &merge,
        "test",
        "timed_out",
        "The job exceeded the maximum execution time",
    )
    .await;
    assert!(revert_pulls(app).is_empty());
    let reruns = app
        .github
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/rerequest"))
        .count();
    assert_eq!(reruns, 1);

    // The re-run fails for real: reverted.
    check(app, &merge, "test", "failure", "1 failed").await;
    let reverts = revert_pulls(app);
    assert_eq!(reverts.len(), 1);
    for on in [scene.pr, issue] {
        let opened = format!("GlobalLM opened #{}", reverts[0].number);
        let said = bot_comments(app, on);
        assert_eq!(
            said.iter().filter(|c| c.contains(&opened)).count(),
            1,
            "{said:?}"
        );
    }
    assert_eq!(ceiling(app).await.effective, Automerge::None);

    // A maintainer re-runs it and it passes: the merge did not break it.
    check(app, &merge, "test", "success", "12 passed").await;
    let revert = app.github.pull(REPO, reverts[0].number);
    assert_eq!(revert.state, "closed");
    assert!(!revert.merged);
    let said = bot_comments(app, revert.number);
    assert_eq!(
        said.iter()
            .filter(|c| c.contains("pass on a re-run"))
            .count(),
        1,
        "{said:?}"
    );
    assert_eq!(issue_state(app, issue), "closed");
    assert_eq!(ceiling(app).await.effective, Automerge::Low, "restored");
    let fix = scene.fix().await;
    assert!(!fix.reverted);
    // Nothing more happens on later reports.
    check(app, &reverts[0].head_sha, "test", "success", "12 passed").await;
    assert_eq!(scene.merges().len(), 1);
}

#[tokio::test]
async fn a_human_push_before_the_revert_merges_leaves_it_to_a_maintainer() {
    let (scene, merge, _) = merged_scene().await;
    let app = &scene.app;
    check(app, &merge, "test", "failure", "1 failed").await;
    let revert = revert_pulls(app).remove(0);
    let issue = scene.fix().await.issue as u64;
    for on in [scene.pr, issue] {
        let said = bot_comments(app, on);
        assert!(
            said.iter().any(|c| c.contains("GlobalLM opened #")),
            "{said:?}"
        );
    }
    git::push_commit(
        &scene.bare,
        "main",
        "docs/CHANGES.md",
        "- a note\n",
        MAINTAINER,
    );

    check(app, &revert.head_sha, "test", "success", "12 passed").await;
    assert!(!app.github.pull(REPO, revert.number).merged);
    assert_eq!(scene.merges().len(), 1);
    let said = bot_comments(app, revert.number);
    assert!(
        said.iter().any(
            |c| c.contains("GlobalLM does not merge this revert by itself")
                && c.contains("`main` gained commits")
        ),
        "{said:?}"
    );
}

#[tokio::test]
async fn a_human_revert_drops_the_ceiling() {
    let (scene, merge, _) = merged_scene().await;
    let app = &scene.app;
    // The merge stays green: the guard is done with it.
    check(app, &merge, "test", "success", "12 passed").await;
    let fix = scene.fix().await;
    let watch = outcomes::watch_of(app.ctx.db.pool(), fix.id)
        .await
        .expect("read")
        .expect("watched");
    assert_eq!(watch.state, "clean");
    assert_eq!(ceiling(app).await.effective, Automerge::Low);

    let body = app.github.merged_revert(REPO, scene.pr, MAINTAINER);
    app.deliver("pull_request", &body).await;
    app.drain().await;
    let fix = scene.fix().await;
    assert!(fix.reverted);
    assert_eq!(fix.reverted_by.as_deref(), Some(MAINTAINER));
    let now = ceiling(app).await;
    assert_eq!(now.effective, Automerge::None);
    // `/globallm explain` says what merges itself here now, and why.
    scene.comment(MAINTAINER, "/globallm explain").await;
    let said = bot_comments(app, scene.pr);
    let explained = said.last().expect("a reply");
    assert!(
        explained.contains("GlobalLM merges by itself up to **nothing**")
            && explained.contains(&format!("#{} was reverted by @{MAINTAINER}", scene.pr))
            && explained.contains("0 of 5 clean merges toward LOW"),
        "{explained}"
    );

    // Nothing merges above it: the next LOW fix, green, asks for a review instead.
    let (_, pr, head) = open_fix(&scene, 2, Tier::Low).await;
    check(app, &head, "test", "success", "12 passed").await;
    let pull = app.github.pull(REPO, pr);
    assert!(!pull.merged);
    assert_eq!(pull.requested_reviewers, [MAINTAINER]);
    let said = bot_comments(app, pr);
    assert!(
        said.iter().any(|c| c.contains("a review is requested")),
        "{said:?}"
    );
}

#[tokio::test]
async fn a_revert_whose_creation_github_applied_then_answered_502_is_opened_once() {
    let (scene, merge, _) = merged_scene().await;
    let app = &scene.app;
    app.github
        .fail_after_applying("POST", &format!("/repos/{REPO}/pulls"), 502, 1);
    check(app, &merge, "test", "failure", "1 failed").await;
    check(app, &merge, "test", "failure", "1 failed").await;
    let reverts = revert_pulls(app);
    assert_eq!(reverts.len(), 1, "adopted, not opened again");
    let failed_then_applied = app
        .github
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/pulls") && c.status == 502)
        .count();
    assert_eq!(failed_then_applied, 1, "the fault happened");
    let issue = scene.fix().await.issue as u64;
    for on in [scene.pr, issue] {
        let said = bot_comments(app, on);
        let opened = format!("GlobalLM opened #{}", reverts[0].number);
        assert_eq!(
            said.iter().filter(|c| c.contains(&opened)).count(),
            1,
            "{said:?}"
        );
    }
}

/// Opens a GlobalLM pull request of `tier` for a new issue: the `n`th change of a function's
/// body in a repository with tests (so the issue's complexity sets the tier).
async fn open_fix(scene: &Scene, n: u64, tier: Tier) -> (i64, u64, String) {
    let app = &scene.app;
    let issue = app
        .github
        .add_issue(REPO, &format!("Issue {n}"), "please", MAINTAINER);
    let branch = format!("globallm/issue-{issue}");
    let head = git::create_branch(
        &scene.bare,
        &branch,
        &[(
            "shop/cart.py",
            &format!(
                "def total(items):\n    return round(sum(items), {})\n",
                n + 2
            ),
        )],
        "globallm[bot]",
    );
    let github = app.ctx.github().expect("a GitHub client");
    let repo: RepoName = REPO.parse().expect("a name");
    let pull = github
        .create_pull(
            InstallationId(INSTALLATION),
            &repo,
            &NewPullRequest {
                title: format!("Fix #{issue}: Issue {n}"),
                head: branch.clone(),
                base: "main".to_owned(),
                body: format!("Fixes #{issue}"),
                draft: true,
            },
        )
        .await
        .expect("the pull request opens");
    let fix: FixPr = lifecycle::start(&app.ctx, REPO, issue, INSTALLATION, MAINTAINER)
        .await
        .expect("stored")
        .expect("a fix");
    let complexity = if tier == Tier::Low { 2 } else { 4 };
    lifecycle::transition(&app.ctx, fix.id, |f| {
        f.pr_number = Some(pull.number.0 as i64);
        f.head_sha = Some(head.clone());
        f.state = FixState::Open;
        f.tier = Some(tier);
        f.category = Some("bug".to_owned());
        f.complexity = Some(complexity);
        Decision::Write(())
    })
    .await
    .expect("written");
    (fix.id, pull.number.0, head)
}

#[tokio::test]
async fn five_clean_merges_raise_the_ceiling_and_a_medium_change_then_merges_itself() {
    let scene = Scene::new("low").await;
    let app = &scene.app;
    let initial = git::branch_head(&scene.bare, "main").expect("main");
    app.github
        .complete_check(REPO, &initial, "test", "success", "12 passed");
    // The scene's own fix, then four more: each merges on green and stays green on main.
    scene.check("test", "success", "12 passed").await;
    let mut merged = vec![scene.pr];
    for n in 2..=5 {
        let (_, pr, head) = open_fix(&scene, n, Tier::Low).await;
        check(app, &head, "test", "success", "12 passed").await;
        merged.push(pr);
    }
    assert_eq!(
        ceiling(app).await.effective,
        Automerge::Low,
        "not before the guard said so"
    );
    for pr in &merged {
        let said = bot_comments(app, *pr);
        assert!(said.iter().any(|c| c.starts_with("Merged as")), "{said:?}");
        let merge = app.github.pull(REPO, *pr).merge_sha.expect("merged");
        check(app, &merge, "test", "success", "12 passed").await;
    }
    let now = ceiling(app).await;
    assert_eq!(now.earned.ceiling, Automerge::Medium);
    assert_eq!(now.effective, Automerge::Medium);
    assert!(
        now.explain()
            .contains("raised to MEDIUM after 5 clean merges")
    );

    // A MEDIUM change now merges itself (and notifies) instead of asking for a review.
    let (id, pr, head) = open_fix(&scene, 6, Tier::Medium).await;
    check(app, &head, "test", "success", "12 passed").await;
    assert!(app.github.pull(REPO, pr).merged);
    let said = bot_comments(app, pr);
    assert!(
        said[0].contains("a **MEDIUM**-tier change, so the maintainers are notified"),
        "{said:?}"
    );
    let fix = fixes::get(app.ctx.db.pool(), id)
        .await
        .expect("read")
        .expect("the fix");
    assert_eq!(fix.merged_by.as_deref(), Some("globallm"));

    // Triage learns from them: five of five bug fixes of complexity 1–3 merged and stayed.
    let record = outcomes::track_record(app.ctx.db.pool(), REPO, "bug", 2)
        .await
        .expect("read");
    assert_eq!((record.merged, record.decided), (5, 5));
    let parts = crate::scoring::solvability_parts(
        &crate::scoring::SolvabilityInputs {
            track_record: Some(record),
            ..crate::scoring::SolvabilityInputs::basic(2, Some(true))
        },
        &app.ctx.config().scoring,
    );
    let part = parts
        .iter()
        .find(|p| p.name == "track_record")
        .expect("a term");
    assert_eq!(
        part.measured.as_deref(),
        Some("5 of 5 similar fixes merged here")
    );
    assert_eq!(part.value, Some(1.0));

    // The ledger counts them.
    let out =
        crate::monitoring::ledger::read(&app.ctx.db, &app.ctx.config(), app.ctx.clock.now_ms())
            .await
            .expect("the ledger");
    let merged_by_globallm: i64 = out.ledger.iter().map(|r| r.merged_by_globallm).sum();
    assert_eq!(merged_by_globallm, 6);
    assert_eq!(out.ceilings[0].ceiling, "MEDIUM");
    // The dashboard shows the ledger, the ceiling and the week's six merges.
    let snapshot = crate::monitoring::dashboard::snapshot(
        &app.ctx.db,
        &app.ctx.config(),
        app.ctx.clock.now_ms(),
    )
    .await
    .expect("the snapshot");
    let page = crate::server::dashboard::render(&snapshot, "");
    for seen in [
        "id=\"ledger\"",
        "id=\"ceilings\"",
        "raised to MEDIUM after 5 clean merges",
        "6 merged</title>",
    ] {
        assert!(page.contains(seen), "{seen} not on the page");
    }
}

#[tokio::test]
async fn a_branch_planted_under_the_revert_name_is_replaced_and_a_push_to_the_revert_stops_its_merge()
 {
    let (scene, merge, parent) = merged_scene().await;
    let app = &scene.app;
    // Someone with push access plants a branch where GlobalLM will put its revert.
    let branch = format!("globallm/revert-{}", scene.pr);
    git::create_branch(
        &scene.bare,
        &branch,
        &[("shop/evil.py", "import os\n")],
        "mallory",
    );

    check(app, &merge, "test", "failure", "1 failed").await;
    let revert = revert_pulls(app).remove(0);
    assert_eq!(revert.head_branch, branch);
    assert!(
        git::read_file(&scene.bare, &branch, "shop/evil.py").is_none(),
        "the branch holds GlobalLM's revert and nothing else"
    );
    let (_, before) = git::read_file(&scene.bare, &parent, "shop/cart.py").expect("cart");
    let (_, reverted) = git::read_file(&scene.bare, &branch, "shop/cart.py").expect("cart");
    assert_eq!(before, reverted);
    let issue = scene.fix().await.issue as u64;
    for on in [scene.pr, issue] {
        assert!(
            bot_comments(app, on)
                .iter()
                .any(|c| c.contains("GlobalLM opened #"))
        );
    }

    // Then pushes to the revert itself; CI is green on that head.
    let pushed = git::push_commit(
        &scene.bare,
        &branch,
        "shop/evil.py",
        "import os\n",
        "mallory",
    );
    check(app, &pushed, "test", "success", "12 passed").await;
    crate::jobs::guard_sweep::sweep(&app.ctx)
        .await
        .expect("the re-check runs");
    assert!(!app.github.pull(REPO, revert.number).merged);
    assert_eq!(scene.merges().len(), 1, "only the fix itself");
    let said = bot_comments(app, revert.number);
    assert_eq!(
        said.iter()
            .filter(|c| c.contains("someone pushed to its branch"))
            .count(),
        1,
        "{said:?}"
    );
}

#[tokio::test]
async fn a_red_whose_event_was_lost_is_found_by_the_timed_re_check_and_reverted_once() {
    let (scene, merge, _) = merged_scene().await;
    let app = &scene.app;
    // CI fails on the merge commit, but its event never arrives.
    app.github
        .complete_check(REPO, &merge, "test", "failure", "1 failed");
    assert!(revert_pulls(app).is_empty());
    for _ in 0..2 {
        crate::jobs::guard_sweep::sweep(&app.ctx)
            .await
            .expect("the re-check runs");
        app.drain().await;
    }
    assert_eq!(revert_pulls(app).len(), 1);
    let issue = scene.fix().await.issue as u64;
    for on in [scene.pr, issue] {
        let said = bot_comments(app, on);
        assert_eq!(
            said.iter()
                .filter(|c| c.contains("GlobalLM opened #"))
                .count(),
            1,
            "{said:?}"
        );
    }
}

#[tokio::test]
async fn a_quiet_merge_is_clean_once_the_guard_window_closes() {
    // A guard window of no time: the first re-check closes it.
    let scene = Scene::with_env("low", &[("GLOBALLM_RISK__GUARD_HOURS", "0")]).await;
    let app = &scene.app;
    scene.check("test", "success", "12 passed").await;
    assert!(scene.bot_comments()[0].starts_with("Merged as"));
    let fix = scene.fix().await;
    let watched = || async {
        outcomes::watch_of(app.ctx.db.pool(), fix.id)
            .await
            .expect("read")
            .expect("watched")
            .state
    };
    assert_eq!(
        watched().await,
        "watching",
        "no CI has reported on the merge commit"
    );
    crate::jobs::guard_sweep::sweep(&app.ctx)
        .await
        .expect("the re-check runs");
    assert_eq!(watched().await, "clean");
    assert_eq!(ceiling(app).await.earned.clean, 1);
}
