//! The fix flow end to end on the CI side: a GlobalLM pull request on a real git branch of the
//! fake GitHub, CI events delivered as GitHub sends them, and what the risk policy does —
//! merge (LOW), merge and notify (MEDIUM), review (HIGH, then `/globallm merge`), nothing
//! (CRITICAL); zero checks and missing required checks never merge; red re-runs a flaky
//! failure once, asks for a repair, and stops at the bound; a human push and `/globallm stop`
//! stop everything; commands need write access.

use crate::db::fixes::{self, FixPr};
use crate::fix::lifecycle::{self, Decision};
use crate::fix::{FixState, Tier};
use crate::github::ids::{InstallationId, RepoName};
use crate::github::model::NewPullRequest;
use crate::testing::fake_github::git;
use crate::testing::harness::{INSTALLATION, TestApp};
use axum::http::StatusCode;

pub(super) const REPO: &str = "acme/shop";
pub(super) const MAINTAINER: &str = "maria-maint";
pub(super) const BRANCH: &str = "globallm/issue-1";

pub(super) struct Scene {
    pub(super) app: TestApp,
    pub(super) id: i64,
    pub(super) pr: u64,
    pub(super) head: String,
    pub(super) bare: std::path::PathBuf,
}

impl Scene {
    /// A repository with an issue and GlobalLM's draft pull request fixing it, of `tier`.
    pub(super) async fn new(tier: &str) -> Self {
        Self::with_env(tier, &[]).await
    }

    pub(super) async fn with_env(tier: &str, env: &[(&str, &str)]) -> Self {
        Self::on(TestApp::start_with_env(env).await, tier, None).await
    }

    /// The scene in `app`, the repository's `.github/globallm.yml` holding `config` if given.
    pub(super) async fn on(app: TestApp, tier: &str, config: Option<&str>) -> Self {
        let mut files = vec![
            ("shop/cart.py", "def total(items):\n    return sum(items)\n"),
            (
                "tests/test_cart.py",
                "from shop.cart import total\n\ndef test_total():\n    assert total([1, 2]) == 3\n",
            ),
        ];
        if let Some(config) = config {
            files.push((".github/globallm.yml", config));
        }
        let bare = app
            .github
            .add_git_repo(REPO, INSTALLATION, app.dir.path(), &files);
        app.github.set_permission(REPO, MAINTAINER, "write");
        let issue = app.github.add_issue(
            REPO,
            "Totals are not rounded",
            "0.1 + 0.2 shows 0.30000000000000004",
            MAINTAINER,
        );
        let head = git::create_branch(
            &bare,
            BRANCH,
            &[(
                "shop/cart.py",
                "def total(items):\n    return round(sum(items), 2)\n",
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
                    title: "Fix #1: Totals are not rounded".to_owned(),
                    head: BRANCH.to_owned(),
                    base: "main".to_owned(),
                    body: "Fixes #1".to_owned(),
                    draft: true,
                },
            )
            .await
            .expect("the pull request opens");
        let now = app.ctx.clock.now_ms();
        let mut tx = app.ctx.db.write().await.expect("a transaction");
        let id = fixes::start(
            tx.conn(),
            REPO,
            issue as i64,
            INSTALLATION as i64,
            BRANCH,
            now,
        )
        .await
        .expect("stored")
        .expect("the first fix of the issue");
        tx.commit().await.expect("committed");
        // The branch only changes a function's body and the repository has tests, so the
        // issue's complexity sets the tier of the whole branch (recomputed at every decision
        // to merge): 2 LOW, 4 MEDIUM, 6 HIGH, 9 CRITICAL.
        let tier: Tier = tier.parse().expect("a tier");
        let complexity = match tier {
            Tier::Low => 2,
            Tier::Medium => 4,
            Tier::High => 6,
            Tier::Critical => 9,
        };
        let scene = Self {
            id,
            pr: pull.number.0,
            head: head.clone(),
            bare,
            app,
        };
        scene
            .set(|fix| {
                fix.pr_number = Some(pull.number.0 as i64);
                fix.head_sha = Some(head.clone());
                fix.state = FixState::Open;
                fix.tier = Some(tier);
                fix.risk_reasons = Some(format!(r#"["the tier under test is {}"]"#, tier.as_str()));
                fix.requested_by = Some(MAINTAINER.to_owned());
                fix.category = Some("bug".to_owned());
                fix.complexity = Some(complexity);
            })
            .await;
        scene
    }

    /// Changes the fix's row as a test arranges it.
    pub(super) async fn set(&self, change: impl Fn(&mut FixPr)) {
        lifecycle::transition(&self.app.ctx, self.id, |fix| {
            change(fix);
            Decision::Write(())
        })
        .await
        .expect("written");
    }

    pub(super) async fn fix(&self) -> FixPr {
        fixes::for_pull_request(self.app.ctx.db.pool(), REPO, self.pr as i64)
            .await
            .expect("read")
            .expect("the fix")
    }

    /// A check run finishing on the head, delivered.
    pub(super) async fn check(&self, name: &str, conclusion: &str, summary: &str) {
        let run = self
            .app
            .github
            .complete_check(REPO, &self.head, name, conclusion, summary);
        let (_, answer) = self
            .app
            .deliver("check_run", &self.app.github.check_run_delivery(REPO, run))
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED);
        self.app.drain().await;
    }

    /// `author` comments `body` on the pull request, delivered.
    pub(super) async fn comment(&self, author: &str, body: &str) {
        let id = self.app.github.add_comment(REPO, self.pr, author, body);
        self.app
            .deliver(
                "issue_comment",
                &self.app.github.comment_delivery("created", REPO, id, None),
            )
            .await;
        self.app.drain().await;
    }

    pub(super) fn bot_comments(&self) -> Vec<String> {
        self.app.github.bot_comments(REPO, self.pr)
    }

    pub(super) fn merges(&self) -> Vec<String> {
        self.app
            .github
            .calls()
            .into_iter()
            .filter(|c| c.method == "PUT" && c.path.ends_with("/merge"))
            .map(|c| c.path)
            .collect()
    }
}

#[tokio::test]
async fn green_ci_on_a_low_tier_change_merges_it_with_the_expected_head() {
    let scene = Scene::new("low").await;
    scene.check("test", "success", "12 passed").await;

    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(pull.merged, "merged");
    assert!(!pull.draft, "marked ready before merging");
    let fix = scene.fix().await;
    assert_eq!(fix.state, FixState::Merged);
    assert_eq!(fix.merge_sha, pull.merge_sha);
    let comments = scene.bot_comments();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].contains("**LOW**-tier"), "{}", comments[0]);

    // The same event again changes nothing.
    let run = scene.app.github.world().repos[REPO].check_runs[0].id;
    scene
        .app
        .deliver("check_run", &scene.app.github.check_run_delivery(REPO, run))
        .await;
    scene.app.drain().await;
    assert_eq!(scene.merges().len(), 1);
    assert_eq!(scene.bot_comments().len(), 1);
}

#[tokio::test]
async fn a_medium_tier_change_merges_and_notifies_the_maintainers() {
    // A repository where GlobalLM has earned MEDIUM (earned autonomy has its own stories).
    let scene = Scene::with_env("medium", &[("GLOBALLM_RISK__INITIAL_CEILING", "medium")]).await;
    scene.check("test", "success", "12 passed").await;
    assert!(scene.app.github.pull(REPO, scene.pr).merged);
    let comments = scene.bot_comments();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].contains("**MEDIUM**"), "{}", comments[0]);
    assert!(
        comments[0].contains("@maria-maint"),
        "the requester is notified"
    );
    assert!(comments[0].contains("@acme"), "the owner is notified");
}

#[tokio::test]
async fn an_automerge_ceiling_of_low_turns_a_medium_merge_into_a_review() {
    let scene = Scene::with_env("medium", &[("GLOBALLM_RISK__AUTOMERGE", "low")]).await;
    scene.check("test", "success", "12 passed").await;
    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(!pull.merged);
    assert_eq!(pull.requested_reviewers, vec![MAINTAINER.to_owned()]);
    let comments = scene.bot_comments();
    assert!(
        comments[0].contains("`automerge` setting"),
        "{}",
        comments[0]
    );
}

#[tokio::test]
async fn a_high_tier_change_asks_for_review_and_merges_on_a_maintainers_word() {
    let scene = Scene::new("high").await;
    scene.check("test", "success", "12 passed").await;

    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(!pull.merged, "HIGH never merges itself");
    assert!(!pull.draft, "marked ready for review");
    assert_eq!(pull.requested_reviewers, vec![MAINTAINER.to_owned()]);
    assert!(
        scene
            .app
            .github
            .labels(REPO, scene.pr)
            .contains(&"globallm:needs-review".to_owned())
    );
    let comments = scene.bot_comments();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].contains("**HIGH**-tier"), "{}", comments[0]);

    // Someone without write access cannot merge it.
    scene.comment("drive-by", "/globallm merge").await;
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    let comments = scene.bot_comments();
    assert!(
        comments.last().is_some_and(|c| c.contains("needs write")),
        "{comments:?}"
    );

    scene.comment(MAINTAINER, "/globallm merge").await;
    assert!(
        scene.app.github.pull(REPO, scene.pr).merged,
        "merged on command"
    );
    assert_eq!(scene.fix().await.state, FixState::Merged);
    let comments = scene.bot_comments();
    assert!(
        comments
            .iter()
            .any(|c| c.contains("on @maria-maint's `/globallm merge` of")),
        "{comments:?}"
    );
}

#[tokio::test]
async fn a_critical_change_is_never_automated_not_even_on_command() {
    let scene = Scene::new("critical").await;
    scene.check("test", "success", "12 passed").await;
    scene.check("lint", "success", "clean").await;

    let pull = scene.app.github.pull(REPO, scene.pr);
    assert!(!pull.merged);
    assert!(pull.draft, "not even marked ready");
    assert!(pull.requested_reviewers.is_empty());
    let comments = scene.bot_comments();
    assert_eq!(comments.len(), 1, "said once per head: {comments:?}");
    assert!(comments[0].contains("**CRITICAL**"), "{}", comments[0]);
    assert!(
        comments[0].contains("complexity 9 (above 7)"),
        "{}",
        comments[0]
    );

    scene.comment(MAINTAINER, "/globallm merge").await;
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    let comments = scene.bot_comments();
    assert!(
        comments
            .last()
            .is_some_and(|c| c.contains("never merges it")),
        "{comments:?}"
    );
}

#[tokio::test]
async fn zero_checks_is_never_green() {
    let scene = Scene::new("low").await;
    // The only status is GlobalLM's own config check, which does not count.
    scene.check("GlobalLM config", "success", "valid").await;
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    // A merge command finds no checks either.
    scene.comment(MAINTAINER, "/globallm merge").await;
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    let comments = scene.bot_comments();
    assert!(
        comments
            .iter()
            .any(|c| c.contains("no checks ran on this commit")),
        "{comments:?}"
    );
}

#[tokio::test]
async fn a_missing_required_check_blocks_the_merge() {
    let scene = Scene::new("low").await;
    scene
        .app
        .github
        .protect(REPO, "main", &["test", "security-scan"]);
    scene.check("test", "success", "12 passed").await;
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    let comments = scene.bot_comments();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].contains("`security-scan` did not run"),
        "{}",
        comments[0]
    );
    assert_eq!(scene.fix().await.last_ci.as_deref(), Some("blocked"));
}

#[tokio::test]
async fn a_commit_status_counts_like_a_check() {
    let scene = Scene::new("low").await;
    let body = scene
        .app
        .github
        .status_delivery(REPO, &scene.head, "ci/jenkins", "success");
    scene.app.deliver("status", &body).await;
    scene.app.drain().await;
    assert!(scene.app.github.pull(REPO, scene.pr).merged);
    assert_eq!(scene.bot_comments().len(), 1);
}

#[tokio::test]
async fn a_flaky_failure_is_rerun_once_and_a_code_failure_past_the_repair_bound_stops() {
    let scene = Scene::new("low").await;
    scene
        .check(
            "test",
            "failure",
            "npm ERR! network ECONNRESET while fetching",
        )
        .await;
    assert_eq!(
        scene.app.github.world().repos[REPO]
            .rerequested_suites
            .len(),
        1,
        "re-run once"
    );
    assert_eq!(scene.fix().await.reruns, 1);

    // The repair attempts are used up: a code failure stops everything.
    scene.set(|fix| fix.repairs = 1).await;
    scene
        .check(
            "test",
            "failure",
            "AssertionError: assert 0.30000000000000004 == 0.3",
        )
        .await;
    let fix = scene.fix().await;
    assert!(fix.stopped);
    assert!(
        fix.ci_output
            .as_deref()
            .is_some_and(|o| o.contains("AssertionError"))
    );
    let jobs = crate::db::jobs::list(scene.app.ctx.db.pool(), false, 50)
        .await
        .expect("jobs");
    assert!(
        jobs.iter().all(|j| j.kind != "fix_issue"),
        "no repair: {jobs:?}"
    );
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    // A second flaky-looking failure is not re-run again.
    scene.check("lint", "cancelled", "").await;
    assert_eq!(
        scene.app.github.world().repos[REPO]
            .rerequested_suites
            .len(),
        1
    );
    let comments = scene.bot_comments();
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(comments[0].contains("re-running it once"));
    assert!(comments[1].contains("it stops here"), "{}", comments[1]);
}

#[tokio::test]
async fn a_push_by_someone_else_stops_all_automation() {
    let scene = Scene::new("low").await;
    let head = git::push_commit(
        &scene.bare,
        BRANCH,
        "shop/cart.py",
        "# mine now\n",
        MAINTAINER,
    );
    let body = scene.app.github.pull_delivery(
        "synchronize",
        REPO,
        scene.pr,
        MAINTAINER,
        Some(&scene.head),
        None,
    );
    scene.app.deliver("pull_request", &body).await;
    scene.app.drain().await;
    let fix = scene.fix().await;
    assert!(fix.stopped);
    assert!(
        fix.stop_reason
            .as_deref()
            .is_some_and(|r| r.contains(&head[..7]))
    );

    // Green CI on the new head merges nothing.
    let run = scene
        .app
        .github
        .complete_check(REPO, &head, "test", "success", "ok");
    scene
        .app
        .deliver("check_run", &scene.app.github.check_run_delivery(REPO, run))
        .await;
    scene.app.drain().await;
    assert!(!scene.app.github.pull(REPO, scene.pr).merged);
    let comments = scene.bot_comments();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].contains("Someone else pushed"),
        "{}",
        comments[0]
    );
}

#[tokio::test]
async fn stop_then_green_merges_nothing_and_resume_merges() {
    let scene = Scene::new("low").await;
    scene.comment(MAINTAINER, "/globallm stop").await;
    assert!(scene.fix().await.stopped);
    scene.check("test", "success", "12 passed").await;
    assert!(!scene.app.github.pull(REPO, scene.pr).merged, "stopped");

    scene.comment(MAINTAINER, "/globallm resume").await;
    assert!(
        scene.app.github.pull(REPO, scene.pr).merged,
        "resumed and green"
    );
    let comments = scene.bot_comments();
    assert!(comments[0].contains("Stopped"), "{comments:?}");
    assert!(
        comments.iter().any(|c| c.contains("Merged as")),
        "{comments:?}"
    );
    assert!(
        comments.iter().any(|c| c.contains("Resumed")),
        "{comments:?}"
    );
}

#[tokio::test]
async fn retry_from_a_user_without_write_access_is_refused_and_nothing_else_happens() {
    let scene = Scene::new("low").await;
    let before = scene.app.github.calls().len();
    scene
        .comment("drive-by", "/globallm retry use Decimal")
        .await;
    let jobs = crate::db::jobs::list(scene.app.ctx.db.pool(), false, 50)
        .await
        .expect("jobs");
    assert!(jobs.iter().all(|j| j.kind != "fix_issue"), "{jobs:?}");
    let writes: Vec<String> = scene
        .app
        .github
        .calls_since(before)
        .into_iter()
        .filter(|c| c.method != "GET" && !c.path.ends_with("/access_tokens"))
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert_eq!(writes.len(), 3, "👀, the refusal, 😕: {writes:?}");
    let comments = scene.bot_comments();
    assert!(comments[0].contains("needs write"), "{comments:?}");

    // A maintainer's retry queues a new attempt with the feedback.
    scene
        .comment(MAINTAINER, "/globallm retry use Decimal")
        .await;
    let comments = scene.bot_comments();
    assert!(
        comments
            .iter()
            .any(|c| c.contains("drafting a new version")),
        "{comments:?}"
    );
    // The attempt ran: without a model configured it says so and pushes nothing.
    assert!(
        comments
            .last()
            .is_some_and(|c| c.contains("no LLM provider configured")),
        "{comments:?}"
    );
    assert_eq!(scene.app.github.pull(REPO, scene.pr).head_sha, scene.head);
}

#[tokio::test]
async fn explain_on_a_fix_gives_the_tier_and_its_reasons() {
    let scene = Scene::new("medium").await;
    scene.comment("anyone", "/globallm explain").await;
    let comments = scene.bot_comments();
    assert_eq!(comments.len(), 1);
    assert!(comments[0].contains("**Risk: MEDIUM**"), "{}", comments[0]);
    assert!(comments[0].contains("the tier under test is medium"));
}

#[tokio::test]
async fn a_revert_of_a_merged_fix_is_counted() {
    let scene = Scene::new("low").await;
    scene.check("test", "success", "12 passed").await;
    assert_eq!(scene.bot_comments().len(), 1);
    // A maintainer reverts it with GitHub's button: a new pull request, merged.
    let body = scene.app.github.merged_revert(REPO, scene.pr, MAINTAINER);
    scene.app.deliver("pull_request", &body).await;
    scene.app.drain().await;
    assert!(scene.fix().await.reverted);
}

/// A scripted model with nothing to say: any request fails the test that made it.
fn silent_llm(app: &TestApp) -> std::sync::Arc<crate::llm::scripted::ScriptedProvider> {
    app.script_llm(crate::llm::scripted::ScriptedProvider::new(
        "scripted",
        "claude-sonnet-4-5",
    ))
}

#[tokio::test]
async fn with_the_budget_exhausted_the_label_gets_a_comment_and_no_llm_call() {
    let app = TestApp::start_with_env(&[("GLOBALLM_BUDGET__FIX_ATTEMPTS_PER_REPO", "0")]).await;
    app.github.add_git_repo(
        REPO,
        INSTALLATION,
        app.dir.path(),
        &[("shop/cart.py", "def total(items):\n    return sum(items)\n")],
    );
    app.github.set_permission(REPO, MAINTAINER, "write");
    let provider = silent_llm(&app);
    let issue = app
        .github
        .add_issue(REPO, "Totals are not rounded", "0.1 + 0.2", MAINTAINER);
    let body = app
        .github
        .labeled_delivery(REPO, issue, "globallm:fix", MAINTAINER);
    app.deliver("issues", &body).await;
    app.drain().await;

    assert!(provider.requests().is_empty(), "no LLM call");
    assert!(app.github.pulls(REPO).is_empty(), "no pull request");
    let comments = app.github.comments(REPO, issue);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].body.contains("the LLM budget has no room"),
        "{}",
        comments[0].body
    );
    let fix = fixes::recent(app.ctx.db.pool(), 5).await.expect("read");
    assert_eq!(fix.len(), 1);
    assert_eq!(
        fix[0].state,
        FixState::Failed,
        "a later request may start again"
    );
}

#[tokio::test]
async fn the_repositorys_limit_of_open_pull_requests_is_respected() {
    let scene = Scene::new("low").await;
    git::push_commit(
        &scene.bare,
        "main",
        ".github/globallm.yml",
        "max_open_prs: 1\n",
        MAINTAINER,
    );
    let provider = silent_llm(&scene.app);
    let issue = scene.app.github.add_issue(
        REPO,
        "Discounts are ignored",
        "apply_discount does nothing",
        MAINTAINER,
    );
    let body = scene
        .app
        .github
        .labeled_delivery(REPO, issue, "globallm:fix", MAINTAINER);
    scene.app.deliver("issues", &body).await;
    scene.app.drain().await;

    assert!(provider.requests().is_empty(), "no LLM call");
    assert_eq!(
        scene.app.github.pulls(REPO).len(),
        1,
        "no second pull request"
    );
    let comments = scene.app.github.comments(REPO, issue);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].body.contains("its limit (`max_open_prs`"),
        "{}",
        comments[0].body
    );
}
