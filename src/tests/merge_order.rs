//! Merge only what was tested: stories of GlobalLM pull requests whose base branch moves after
//! CI ran — another GlobalLM merge, a human push, a conflict — and of a freeze.

use super::fix_e2e::{CART, CART_TEST, CATEGORIZE, DRAFT};
use super::fix_flows::{MAINTAINER, REPO, Scene};
use crate::db::fixes;
use crate::llm::scripted::ScriptedProvider;
use crate::testing::fake_github::git;
use crate::testing::fake_github::world::FakePull;
use crate::testing::harness::{INSTALLATION, TestApp};

pub(super) const DRAFT_TAX: &str = "SUMMARY: Add a tax helper.\n\nFILE: shop/tax.py\nWHY: the issue asks for one\n<<<<<<< SEARCH\n=======\ndef with_tax(amount, rate):\n    return amount * (1 + rate)\n>>>>>>> REPLACE\n\nFILE: tests/test_tax.py\nWHY: a test for it\n<<<<<<< SEARCH\n=======\nfrom shop.tax import with_tax\n\n\ndef test_with_tax():\n    assert with_tax(100, 0.5) == 150\n>>>>>>> REPLACE\n";

/// `name` green on `sha` of `repo`, delivered and processed.
async fn green(app: &TestApp, repo: &str, sha: &str, name: &str) {
    let run = app
        .github
        .complete_check(repo, sha, name, "success", "all passed");
    app.deliver("check_run", &app.github.check_run_delivery(repo, run))
        .await;
    app.drain().await;
}

fn is_ancestor(bare: &std::path::Path, ancestor: &str, of: &str) -> bool {
    std::process::Command::new("git")
        .args(["merge-base", "--is-ancestor", ancestor, of])
        .current_dir(bare)
        .status()
        .expect("git runs")
        .success()
}

/// Triage ranked `issue` at `priority`.
pub(super) async fn triaged(app: &TestApp, issue: u64, priority: f64) {
    sqlx::query(
        "INSERT INTO triaged_issues (repo, number, title, state, category, complexity, confidence,
             categorized_by, opened_at, engagement, health, impact, redundancy, priority, level, triaged_at)
         VALUES ($1, $2, 't', 'open', 'bug', 2, 0.9, 'llm', 0, 0, 0.5, 0.5, 0, $3, 'medium', 0)",
    )
    .bind(REPO)
    .bind(issue as i64)
    .bind(priority)
    .execute(app.ctx.db.pool())
    .await
    .expect("triaged");
}

fn bot_comments(app: &TestApp, number: u64) -> Vec<String> {
    app.github.bot_comments(REPO, number)
}

#[tokio::test]
async fn two_green_fixes_merge_one_after_the_other_the_second_after_ci_ran_on_the_first() {
    // The tax helper is a MEDIUM change: a repository where GlobalLM has earned MEDIUM.
    let app = TestApp::start_with_env(&[("GLOBALLM_RISK__INITIAL_CEILING", "medium")]).await;
    let bare = app.github.add_git_repo(
        REPO,
        INSTALLATION,
        app.dir.path(),
        &[
            ("shop/__init__.py", ""),
            ("shop/cart.py", CART),
            ("tests/test_cart.py", CART_TEST),
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
    for issue in [rounding, tax] {
        let labeled = app
            .github
            .labeled_delivery(REPO, issue, "globallm:fix", MAINTAINER);
        app.deliver("issues", &labeled).await;
    }
    app.drain().await;
    let pulls = app.github.pulls(REPO);
    assert_eq!(pulls.len(), 2);
    let first = pulls
        .iter()
        .find(|p| p.head_branch.ends_with(&format!("-{rounding}")))
        .expect("the rounding fix")
        .clone();
    let second = pulls
        .iter()
        .find(|p| p.head_branch.ends_with(&format!("-{tax}")))
        .expect("the tax fix")
        .clone();

    // Both are green on the base they were drafted on; the first merges.
    green(&app, REPO, &first.head_sha, "test").await;
    assert!(app.github.pull(REPO, first.number).merged);
    let main_after_first = git::branch_head(&bare, "main").expect("main");

    // The second's CI ran on the old base: it is brought up to date, not merged.
    green(&app, REPO, &second.head_sha, "test").await;
    let updated = app.github.pull(REPO, second.number);
    assert!(!updated.merged, "its CI never saw the first fix");
    assert_ne!(updated.head_sha, second.head_sha);
    assert!(is_ancestor(&bare, &main_after_first, &updated.head_sha));
    let said = bot_comments(&app, second.number);
    assert!(
        said.iter().any(|c| c.contains("`main` moved after CI ran")),
        "{said:?}"
    );

    // CI on the updated head: now it merges, with the first fix underneath.
    green(&app, REPO, &updated.head_sha, "test").await;
    assert!(app.github.pull(REPO, second.number).merged);
    let merges = app
        .github
        .calls()
        .into_iter()
        .filter(|c| c.method == "PUT" && c.path.ends_with("/merge"))
        .count();
    assert_eq!(merges, 2);
    let (_, cart) = git::read_file(&bare, "main", "shop/cart.py").expect("cart");
    assert!(String::from_utf8_lossy(&cart).contains("round("));
    assert!(git::read_file(&bare, "main", "shop/tax.py").is_some());
    for number in [rounding, tax, first.number, second.number] {
        app.github.comments(REPO, number);
    }
}

#[tokio::test]
async fn a_human_push_to_the_base_makes_globallm_update_its_branch_and_wait() {
    let scene = Scene::new("low").await;
    git::push_commit(
        &scene.bare,
        "main",
        "docs/CHANGES.md",
        "- a note\n",
        MAINTAINER,
    );
    scene.check("test", "success", "12 passed").await;
    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(!pull.merged);
    assert_ne!(pull.head_sha, scene.head, "the base was merged in");
    let fix = scene.fix().await;
    assert_eq!(fix.head_sha.as_deref(), Some(pull.head_sha.as_str()));
    assert!(!fix.stopped, "its own update is not someone else's push");

    green(&scene.app, REPO, &pull.head_sha, "test").await;
    assert!(scene.app.github.pull(REPO, scene.pr).merged);
    let comments = scene.bot_comments();
    assert!(
        comments.iter().any(|c| c.contains("moved after CI ran")),
        "{comments:?}"
    );
}

#[tokio::test]
async fn a_base_that_conflicts_stops_the_fix_and_says_so() {
    let scene = Scene::new("low").await;
    git::push_commit(
        &scene.bare,
        "main",
        "shop/cart.py",
        "def total(items):\n    return int(sum(items))\n",
        MAINTAINER,
    );
    scene.check("test", "success", "12 passed").await;
    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(!pull.merged);
    assert_eq!(pull.head_sha, scene.head, "nothing pushed");
    assert!(scene.fix().await.stopped);
    let comments = scene.bot_comments();
    assert!(
        comments
            .last()
            .is_some_and(|c| c.contains("conflicts") && c.contains("stops here")),
        "{comments:?}"
    );
}

#[tokio::test]
async fn a_freeze_label_on_an_open_issue_stops_every_merge_until_it_is_closed() {
    let scene = Scene::new("low").await;
    let freeze = scene.app.github.add_issue(
        REPO,
        "Release freeze",
        "No merges until 2.0 ships",
        MAINTAINER,
    );
    scene.app.github.label(REPO, freeze, "globallm:freeze");
    scene.check("test", "success", "12 passed").await;
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    let comments = scene.bot_comments();
    assert!(
        comments
            .last()
            .is_some_and(|c| c.contains("merges are frozen") && c.contains(&format!("#{freeze}"))),
        "{comments:?}"
    );
    scene.comment(MAINTAINER, "/globallm explain").await;
    assert!(
        scene
            .bot_comments()
            .last()
            .is_some_and(|c| c.contains("Merges are frozen")),
    );

    // The freeze ends: the next report merges it.
    scene
        .app
        .github
        .world()
        .repos
        .get_mut(REPO)
        .expect("repo")
        .issues
        .get_mut(&freeze)
        .expect("issue")
        .state = "closed".to_owned();
    scene.check("lint", "success", "clean").await;
    assert!(scene.app.github.pull(REPO, scene.pr).merged);
    assert_eq!(
        fixes::for_pull_request(scene.app.ctx.db.pool(), REPO, scene.pr as i64)
            .await
            .expect("read")
            .expect("the fix")
            .state,
        crate::fix::FixState::Merged
    );
    scene.bot_comments();
    scene.app.github.comments(REPO, freeze);
}

/// A draft adding `module` (a helper and its test) for the issue that names it.
fn draft_module(module: &str) -> String {
    format!(
        "SUMMARY: Add a {module} helper.\n\nFILE: shop/{module}.py\nWHY: the issue asks for one\n<<<<<<< SEARCH\n=======\ndef {module}(amount):\n    return amount\n>>>>>>> REPLACE\n\nFILE: tests/test_{module}.py\nWHY: a test for it\n<<<<<<< SEARCH\n=======\nfrom shop.{module} import {module}\n\n\ndef test_{module}():\n    assert {module}(100) == 100\n>>>>>>> REPLACE\n"
    )
}

/// Four GlobalLM pull requests in one repository, drafted on the same base: a rounding fix
/// (priority 0.2) and tax (0.9), discount (0.5) and shipping (0.4) helpers.
struct Line {
    app: TestApp,
    bare: std::path::PathBuf,
    issues: Vec<u64>,
    rounding: FakePull,
    tax: FakePull,
    discount: FakePull,
    shipping: FakePull,
}

impl Line {
    /// The rounding fix merges, the discount helper is brought up to date (on its way), and the
    /// tax helper, green meanwhile, waits its turn: the discount helper's new head.
    async fn discount_on_its_way_and_tax_waiting(&self) -> String {
        let app = &self.app;
        green(app, REPO, &self.rounding.head_sha, "test").await;
        green(app, REPO, &self.discount.head_sha, "test").await;
        let discount_updated = app.github.pull(REPO, self.discount.number).head_sha;
        assert_ne!(discount_updated, self.discount.head_sha);
        green(app, REPO, &self.tax.head_sha, "test").await;
        assert_eq!(
            app.github.pull(REPO, self.tax.number).head_sha,
            self.tax.head_sha,
            "it waits"
        );
        discount_updated
    }

    /// Every comment on the issues and pull requests was looked at by the story's assertions.
    fn seen_all(&self) {
        for number in self
            .issues
            .iter()
            .chain([&self.rounding, &self.tax, &self.discount, &self.shipping].map(|p| &p.number))
        {
            self.app.github.comments(REPO, *number);
        }
    }
}

async fn four_fixes() -> Line {
    // MEDIUM helpers: a repository where GlobalLM has earned MEDIUM.
    let app = TestApp::start_with_env(&[("GLOBALLM_RISK__INITIAL_CEILING", "medium")]).await;
    let bare = app.github.add_git_repo(
        REPO,
        INSTALLATION,
        app.dir.path(),
        &[
            ("shop/__init__.py", ""),
            ("shop/cart.py", CART),
            ("tests/test_cart.py", CART_TEST),
            (".github/globallm.yml", "max_open_prs: 5\n"),
        ],
    );
    app.github.set_permission(REPO, MAINTAINER, "write");
    app.script_llm(
        ScriptedProvider::new("scripted", "claude-sonnet-4-5").replying(|request| {
            let asked = format!("{:?}", request.messages);
            if request.system.starts_with("You triage") {
                CATEGORIZE.to_owned()
            } else if let Some(module) = ["tax", "discount", "shipping"]
                .into_iter()
                .find(|m| asked.contains(&format!("Add a {m} helper")))
            {
                draft_module(module)
            } else {
                DRAFT.to_owned()
            }
        }),
    );
    let mut issues = Vec::new();
    for (title, priority) in [
        ("Totals are not rounded", 0.2),
        ("Add a tax helper", 0.9),
        ("Add a discount helper", 0.5),
        ("Add a shipping helper", 0.4),
    ] {
        let issue = app.github.add_issue(
            REPO,
            title,
            &format!("{title}, next to shop/cart.py"),
            MAINTAINER,
        );
        triaged(&app, issue, priority).await;
        issues.push(issue);
    }
    for issue in &issues {
        let labeled = app
            .github
            .labeled_delivery(REPO, *issue, "globallm:fix", MAINTAINER);
        app.deliver("issues", &labeled).await;
    }
    app.drain().await;
    let pull_of = |issue: u64| {
        app.github
            .pulls(REPO)
            .into_iter()
            .find(|p| p.head_branch.ends_with(&format!("-{issue}")))
            .expect("its pull request")
    };
    let [rounding, tax, discount, shipping] = [0, 1, 2, 3].map(|i| pull_of(issues[i]));
    Line {
        app,
        bare,
        issues,
        rounding,
        tax,
        discount,
        shipping,
    }
}

#[tokio::test]
async fn green_fixes_merge_one_at_a_time_and_the_next_in_line_is_the_highest_priority() {
    let Line {
        app,
        bare,
        issues,
        rounding,
        tax,
        discount,
        shipping,
    } = four_fixes().await;

    // The rounding fix is green first and merges; the discount helper, green next on the old
    // base, is brought up to date: it is on its way.
    green(&app, REPO, &rounding.head_sha, "test").await;
    assert!(app.github.pull(REPO, rounding.number).merged);
    green(&app, REPO, &discount.head_sha, "test").await;
    let discount_updated = app.github.pull(REPO, discount.number).head_sha;
    assert_ne!(discount_updated, discount.head_sha);
    // The shipping and tax helpers turn green while it is: both wait their turn, untouched.
    for pull in [&shipping, &tax] {
        green(&app, REPO, &pull.head_sha, "test").await;
        let now = app.github.pull(REPO, pull.number);
        assert!(!now.merged);
        assert_eq!(
            now.head_sha, pull.head_sha,
            "not brought up to date out of turn"
        );
        let said = bot_comments(&app, pull.number);
        assert!(
            said.iter()
                .any(|c| c.contains(&format!("#{} is on its way", discount.number))),
            "{said:?}"
        );
    }

    // The discount helper merges; the tax helper (0.9) goes next, though the shipping helper
    // (0.4) turned green first.
    green(&app, REPO, &discount_updated, "test").await;
    assert!(app.github.pull(REPO, discount.number).merged);
    let tax_updated = app.github.pull(REPO, tax.number).head_sha;
    assert_ne!(
        tax_updated, tax.head_sha,
        "the tax helper's turn: brought up to date"
    );
    assert_eq!(
        app.github.pull(REPO, shipping.number).head_sha,
        shipping.head_sha,
        "the shipping helper still waits"
    );
    green(&app, REPO, &tax_updated, "test").await;
    assert!(app.github.pull(REPO, tax.number).merged);
    let shipping_updated = app.github.pull(REPO, shipping.number).head_sha;
    assert_ne!(shipping_updated, shipping.head_sha);
    green(&app, REPO, &shipping_updated, "test").await;
    assert!(app.github.pull(REPO, shipping.number).merged);

    let merged: Vec<String> = app
        .github
        .calls()
        .into_iter()
        .filter(|c| c.method == "PUT" && c.path.ends_with("/merge"))
        .map(|c| c.path)
        .collect();
    let order: Vec<String> = [&rounding, &discount, &tax, &shipping]
        .iter()
        .map(|p| format!("/repos/{REPO}/pulls/{}/merge", p.number))
        .collect();
    assert_eq!(merged, order, "one at a time, the next in line by priority");
    for module in ["tax", "discount", "shipping"] {
        assert!(git::read_file(&bare, "main", &format!("shop/{module}.py")).is_some());
    }
    for issue in &issues {
        app.github.comments(REPO, *issue);
    }
    for pull in [&rounding, &tax, &discount, &shipping] {
        app.github.comments(REPO, pull.number);
    }
}

#[tokio::test]
async fn the_next_in_line_goes_when_the_one_on_its_way_is_stopped() {
    let line = four_fixes().await;
    let discount_updated = line.discount_on_its_way_and_tax_waiting().await;
    let (app, tax, discount) = (&line.app, &line.tax, &line.discount);

    // A maintainer pushes to the discount helper's branch: automation stops there, and the
    // pull request on its way gives up its turn without a CI event to say so.
    git::push_commit(
        &line.bare,
        &discount.head_branch,
        "shop/discount.py",
        "def discount(amount):\n    return amount * 0.9\n",
        MAINTAINER,
    );
    let delivery = app.github.pull_delivery(
        "synchronize",
        REPO,
        discount.number,
        MAINTAINER,
        Some(&discount_updated),
        None,
    );
    app.deliver("pull_request", &delivery).await;
    app.drain().await;
    assert!(
        fixes::for_pull_request(app.ctx.db.pool(), REPO, discount.number as i64)
            .await
            .expect("read")
            .expect("the fix")
            .stopped
    );
    // The guard's periodic re-check wakes the next in line.
    crate::jobs::guard_sweep::sweep(&app.ctx)
        .await
        .expect("the re-check runs");
    app.drain().await;
    let tax_now = app.github.pull(REPO, tax.number);
    assert_ne!(
        tax_now.head_sha, tax.head_sha,
        "its turn: brought up to date"
    );
    green(app, REPO, &tax_now.head_sha, "test").await;
    assert!(app.github.pull(REPO, tax.number).merged);
    line.seen_all();
}

#[tokio::test]
async fn the_next_in_line_goes_when_the_one_on_its_way_is_blocked() {
    let line = four_fixes().await;
    let discount_updated = line.discount_on_its_way_and_tax_waiting().await;
    let (app, tax, discount) = (&line.app, &line.tax, &line.discount);

    // CI passes on the updated discount helper, but GitHub reports it cannot be merged: it
    // waits for a human now, not for its merge, and the next in line goes at once.
    app.github
        .world()
        .repos
        .get_mut(REPO)
        .expect("the repository")
        .pulls
        .get_mut(&discount.number)
        .expect("the pull request")
        .mergeable = Some(false);
    green(app, REPO, &discount_updated, "test").await;
    assert!(!app.github.pull(REPO, discount.number).merged);
    let said = bot_comments(app, discount.number);
    assert!(
        said.iter()
            .any(|c| c.contains("GlobalLM is not merging this pull request")),
        "{said:?}"
    );
    let tax_now = app.github.pull(REPO, tax.number);
    assert_ne!(
        tax_now.head_sha, tax.head_sha,
        "its turn: brought up to date"
    );
    green(app, REPO, &tax_now.head_sha, "test").await;
    assert!(app.github.pull(REPO, tax.number).merged);
    line.seen_all();
}
