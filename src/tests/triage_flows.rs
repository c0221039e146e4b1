//! Triage end to end: an issue opened on the fake GitHub is labelled and gets one triage
//! comment; edits update it; repeats change nothing; issues GlobalLM must leave alone are left
//! alone; `/globallm explain` and the other commands answer as a maintainer would expect.

use crate::db::triage as db;
use crate::testing::harness::{INSTALLATION, TestApp, shared_payload};
use crate::triage::render::TRIAGE_MARKER;
use axum::http::StatusCode;

const REPO: &str = "acme/widgets";
const BUG_TITLE: &str = "Crash when parsing an empty widget manifest";
const BUG_BODY: &str = "Running `widgets build` on an empty `widgets.toml` raises:\n\n```\nTraceback (most recent call last):\n  File \"widgets/manifest.py\", line 88, in load\n    return parse(text)[0]\nIndexError: list index out of range\n```\n\nExpected: a clear error message.";

async fn app_with_issue() -> (TestApp, u64) {
    let app = TestApp::start().await;
    app.github.add_repo(REPO, INSTALLATION);
    let number = app.github.add_issue(REPO, BUG_TITLE, BUG_BODY, "maria-dev");
    (app, number)
}

fn writes(app: &TestApp, since: usize) -> Vec<String> {
    app.github
        .calls_since(since)
        .into_iter()
        .filter(|c| {
            c.method != "GET" && !c.path.ends_with("/access_tokens") && c.path != "/graphql"
        })
        .map(|c| format!("{} {}", c.method, c.path))
        .collect()
}

#[tokio::test]
async fn an_opened_issue_gets_its_labels_and_one_triage_comment() {
    let (app, number) = app_with_issue().await;
    let (_, answer) = app
        .deliver(
            "issues",
            &app.github
                .issue_delivery("opened", REPO, number, "maria-dev"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(app.drain().await, 1);

    let mut labels = app.github.labels(REPO, number);
    labels.sort();
    assert_eq!(labels.len(), 2, "{labels:?}");
    assert_eq!(labels[0].split('/').next(), Some("globallm:priority"));
    assert_eq!(labels[1], "globallm:type/bug");
    let colors = app.github.world().repos[REPO].labels.clone();
    assert_eq!(
        colors["globallm:type/bug"].0, "d73a4a",
        "created with its colour"
    );
    assert!(
        colors["globallm:type/bug"]
            .1
            .as_deref()
            .is_some_and(|d| d.contains("a bug"))
    );

    let comments = app.github.comments(REPO, number);
    assert_eq!(comments.len(), 1);
    let body = &comments[0].body;
    assert!(body.starts_with(TRIAGE_MARKER), "{body}");
    for term in [
        "Health (H)",
        "Impact (I)",
        "Solvability (S)",
        "Urgency (U)",
        "Redundancy (R)",
        "**Category:** bug",
    ] {
        assert!(body.contains(term), "`{term}` missing from {body}");
    }
    let stored = db::get(
        app.ctx.db.pool(),
        REPO,
        i64::try_from(number).expect("small"),
    )
    .await
    .expect("query")
    .expect("stored");
    assert_eq!(
        (stored.category.as_str(), stored.categorized_by.as_str()),
        ("bug", "offline")
    );
    assert!(labels[0].ends_with(&stored.level));
    assert_eq!(
        stored.comment_id,
        Some(i64::try_from(comments[0].id).expect("small"))
    );
}

#[tokio::test]
async fn an_edit_updates_the_comment_and_a_repeat_changes_nothing() {
    let (app, number) = app_with_issue().await;
    let opened = app
        .github
        .issue_delivery("opened", REPO, number, "maria-dev");
    let (guid, _) = app.deliver("issues", &opened).await;
    app.drain().await;
    let first = app.github.comments(REPO, number);

    // The same delivery again: a duplicate, nothing queued.
    let again = app.deliver_as(&guid, "issues", &opened).await;
    assert_eq!(again.status, StatusCode::OK);
    // The same content under a new id (say, a job run twice): nothing written.
    let mark = app.github.calls().len();
    app.deliver("issues", &opened).await;
    app.drain().await;
    assert!(writes(&app, mark).is_empty(), "{:?}", writes(&app, mark));

    // An edit that turns the report into a security report changes the category.
    {
        let mut world = app.github.world();
        let issue = world
            .repos
            .get_mut(REPO)
            .expect("repo")
            .issues
            .get_mut(&number)
            .expect("issue");
        issue.title = "XSS in the manifest preview (CVE-2026-12345)".to_owned();
        issue.body = "A crafted manifest name runs script in the preview page: cross-site scripting vulnerability.".to_owned();
        issue.updated_at += 60_000;
    }
    let mark = app.github.calls().len();
    app.deliver(
        "issues",
        &app.github
            .issue_delivery("edited", REPO, number, "maria-dev"),
    )
    .await;
    app.drain().await;
    let comments = app.github.comments(REPO, number);
    assert_eq!(comments.len(), 1, "edited in place, never a second comment");
    assert_eq!(comments[0].id, first[0].id);
    assert!(
        comments[0].body.contains("**Category:** security"),
        "{}",
        comments[0].body
    );
    let labels = app.github.labels(REPO, number);
    assert!(
        labels.contains(&"globallm:type/security".to_owned())
            && !labels.contains(&"globallm:type/bug".to_owned()),
        "{labels:?}"
    );
    let made = writes(&app, mark);
    assert!(
        made.iter()
            .any(|w| w.starts_with("PATCH") && w.contains("/issues/comments/")),
        "{made:?}"
    );
    assert!(
        made.iter()
            .any(|w| w.starts_with("DELETE") && w.ends_with("globallm%3Atype%2Fbug")),
        "{made:?}"
    );
}

#[tokio::test]
async fn issues_to_leave_alone_are_left_alone() {
    let app = TestApp::start().await;
    app.github.add_repo(REPO, INSTALLATION);
    let locked = app.github.add_issue(REPO, "Locked", BUG_BODY, "a");
    let assigned = app.github.add_issue(REPO, "Assigned", BUG_BODY, "a");
    let disabled = app.github.add_issue(REPO, "Disabled", BUG_BODY, "a");
    let linked = app.github.add_issue(REPO, "Linked", BUG_BODY, "a");
    {
        let mut world = app.github.world();
        let issues = &mut world.repos.get_mut(REPO).expect("repo").issues;
        issues.get_mut(&locked).expect("issue").locked = true;
        issues.get_mut(&assigned).expect("issue").assignees = vec!["a-maintainer".to_owned()];
        issues.get_mut(&disabled).expect("issue").labels = vec!["globallm:disabled".to_owned()];
        issues.get_mut(&linked).expect("issue").linked_pull_requests = 1;
    }
    for number in [locked, assigned, disabled, linked] {
        app.deliver(
            "issues",
            &app.github.issue_delivery("opened", REPO, number, "a"),
        )
        .await;
    }
    app.drain().await;
    for number in [locked, assigned, linked] {
        assert!(app.github.labels(REPO, number).is_empty(), "#{number}");
    }
    assert_eq!(app.github.labels(REPO, disabled), ["globallm:disabled"]);
    for number in [locked, assigned, disabled, linked] {
        assert!(app.github.comments(REPO, number).is_empty(), "#{number}");
    }
    let notes: Vec<String> =
        sqlx::query_scalar("SELECT note FROM deliveries WHERE outcome = 'skipped' ORDER BY id")
            .fetch_all(app.ctx.db.pool())
            .await
            .expect("query");
    assert_eq!(
        notes,
        [
            "the issue is locked",
            "the issue is assigned to a-maintainer",
            "the issue is labelled globallm:disabled",
            "a pull request already addresses the issue",
        ]
    );

    // Removing the label re-enables GlobalLM on the issue.
    app.github
        .world()
        .repos
        .get_mut(REPO)
        .expect("repo")
        .issues
        .get_mut(&disabled)
        .expect("issue")
        .labels
        .clear();
    let mut unlabeled: serde_json::Value =
        serde_json::from_slice(&app.github.issue_delivery("unlabeled", REPO, disabled, "a"))
            .expect("json");
    unlabeled["label"] = serde_json::json!({ "name": "globallm:disabled" });
    app.deliver("issues", unlabeled.to_string().as_bytes())
        .await;
    app.drain().await;
    assert_eq!(app.github.labels(REPO, disabled).len(), 2);
    assert_eq!(app.github.comments(REPO, disabled).len(), 1);
}

#[tokio::test]
async fn a_repository_can_turn_globallm_off() {
    let (app, number) = app_with_issue().await;
    app.github
        .put_file(REPO, ".github/globallm.yml", "enabled: false\n");
    app.deliver(
        "issues",
        &app.github
            .issue_delivery("opened", REPO, number, "maria-dev"),
    )
    .await;
    app.drain().await;
    assert!(app.github.labels(REPO, number).is_empty());
    assert!(app.github.comments(REPO, number).is_empty());
}

#[tokio::test]
async fn a_real_opened_delivery_is_triaged() {
    let Some(body) = shared_payload("webhooks/issues/opened.payload.json") else {
        return;
    };
    let app = TestApp::start().await;
    let mut delivery: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let repo = delivery["repository"]["full_name"]
        .as_str()
        .expect("a repository")
        .to_owned();
    let title = delivery["issue"]["title"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.github.add_repo(&repo, INSTALLATION);
    let number = app.github.add_issue(&repo, &title, "", "Codertocat");
    assert_eq!(
        Some(number),
        delivery["issue"]["number"].as_u64(),
        "the fake numbers it the same"
    );
    delivery["installation"] = serde_json::json!({ "id": INSTALLATION });
    let (_, answer) = app.deliver("issues", delivery.to_string().as_bytes()).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    app.drain().await;
    assert_eq!(app.github.labels(&repo, number).len(), 2);
    assert_eq!(app.github.comments(&repo, number).len(), 1);
}

async fn comment(app: &TestApp, number: u64, author: &str, body: &str) -> u64 {
    let id = app.github.add_comment(REPO, number, author, body);
    app.deliver(
        "issue_comment",
        &app.github.comment_delivery("created", REPO, id, None),
    )
    .await;
    app.drain().await;
    id
}

fn reactions(app: &TestApp, comment: u64) -> Vec<String> {
    app.github.world().repos[REPO].comments[&comment]
        .reactions
        .iter()
        .map(|(_, r)| r.clone())
        .collect()
}

#[tokio::test]
async fn explain_replies_with_the_breakdown_for_anyone() {
    let (app, number) = app_with_issue().await;
    let id = comment(
        &app,
        number,
        "drive-by",
        "Why is this not critical?\n/globallm explain",
    )
    .await;
    let comments = app.github.comments(REPO, number);
    let reply = comments.iter().find(|c| c.author_is_bot).expect("a reply");
    assert!(
        reply.body.starts_with("> /globallm explain\n\n**Priority"),
        "{}",
        reply.body
    );
    assert!(
        reply
            .body
            .contains("**Urgency** mixes the category (bug × 5)"),
        "{}",
        reply.body
    );
    assert_eq!(reactions(&app, id), ["eyes", "+1"]);

    // The job running again (a crash after the reply) answers nothing twice.
    app.deliver(
        "issue_comment",
        &app.github.comment_delivery("created", REPO, id, None),
    )
    .await;
    app.drain().await;
    assert_eq!(
        app.github
            .comments(REPO, number)
            .iter()
            .filter(|c| c.author_is_bot)
            .count(),
        1
    );
}

#[tokio::test]
async fn commands_in_code_quotes_or_from_bots_are_ignored() {
    let (app, number) = app_with_issue().await;
    let fenced = comment(
        &app,
        number,
        "maria-dev",
        "Try:\n```\n/globallm explain\n```",
    )
    .await;
    let quoted = comment(&app, number, "maria-dev", "> /globallm explain\nI agree").await;
    let bot = comment(&app, number, "dependabot[bot]", "/globallm explain").await;
    for id in [fenced, quoted, bot] {
        assert!(reactions(&app, id).is_empty(), "comment {id}");
    }
    assert_eq!(
        app.github
            .comments(REPO, number)
            .iter()
            .filter(|c| c.author_is_bot && c.author != "dependabot[bot]")
            .count(),
        0
    );
}

#[tokio::test]
async fn help_unknown_commands_and_permissions() {
    let (app, number) = app_with_issue().await;
    app.github
        .world()
        .repos
        .get_mut(REPO)
        .expect("repo")
        .collaborators
        .insert("lead".into(), "maintain".into());
    let help = comment(&app, number, "drive-by", "/globallm help").await;
    let typo = comment(&app, number, "drive-by", "/globallm explian").await;
    let refused = comment(&app, number, "drive-by", "/globallm fix").await;
    assert_eq!(reactions(&app, help), ["eyes", "+1"]);
    assert_eq!(reactions(&app, typo), ["eyes", "confused"]);
    assert_eq!(reactions(&app, refused), ["eyes", "confused"]);
    let replies: Vec<String> = app
        .github
        .comments(REPO, number)
        .into_iter()
        .filter(|c| c.author_is_bot)
        .map(|c| c.body)
        .collect();
    assert_eq!(replies.len(), 3);
    assert!(
        replies[0].contains("- `/globallm merge`: merge a HIGH-tier pull request"),
        "{}",
        replies[0]
    );
    assert!(
        replies[1].contains("unknown command `explian`; did you mean `/globallm explain`?"),
        "{}",
        replies[1]
    );
    assert!(
        replies[2].starts_with(
            "> /globallm fix\n\nSorry @drive-by, `/globallm fix` needs write, maintain or admin permission on this repository.\n\n<!-- globallm:command:"
        ),
        "{}",
        replies[2]
    );
    assert!(
        app.github
            .calls()
            .iter()
            .any(|c| c.path.ends_with("/collaborators/drive-by/permission")),
        "asked from the API"
    );
}

#[tokio::test]
async fn an_edited_comment_runs_only_its_new_commands() {
    let (app, number) = app_with_issue().await;
    let id = comment(&app, number, "maria-dev", "/globallm help").await;
    let previous = "/globallm help";
    {
        let mut world = app.github.world();
        world
            .repos
            .get_mut(REPO)
            .expect("repo")
            .comments
            .get_mut(&id)
            .expect("comment")
            .body = "/globallm help\n/globallm explain".to_owned();
    }
    app.deliver(
        "issue_comment",
        &app.github
            .comment_delivery("edited", REPO, id, Some(previous)),
    )
    .await;
    app.drain().await;
    let replies: Vec<String> = app
        .github
        .comments(REPO, number)
        .into_iter()
        .filter(|c| c.author_is_bot)
        .map(|c| c.body)
        .collect();
    assert_eq!(replies.len(), 2, "help once, then explain");
    assert!(
        replies[1].starts_with("> /globallm explain"),
        "{}",
        replies[1]
    );
}

#[tokio::test]
async fn issues_are_fetched_ranked_and_stored_for_the_cli() {
    let app = TestApp::start().await;
    app.github.add_repo(REPO, INSTALLATION);
    let question = app.github.add_issue(
        REPO,
        "How do I configure the widget cache?",
        "Is there an option for the cache size? Thanks!",
        "a",
    );
    let security = app.github.add_issue(
        REPO,
        "SQL injection in the search endpoint (CVE-2026-1111)",
        "The `q` parameter is concatenated into SQL: an attacker can dump the database.",
        "b",
    );
    let bug = app.github.add_issue(REPO, BUG_TITLE, BUG_BODY, "c");
    let repo: crate::github::ids::RepoName = REPO.parse().expect("name");
    let mut seen = Vec::new();
    let access = crate::report::access::resolve(&app.ctx, &repo)
        .await
        .expect("resolved");
    assert!(access.installed(), "read as its installation");
    let options = crate::report::fetch::Options {
        max_issues: 50,
        checkout: None,
    };
    let scored =
        crate::report::fetch::score_repository(&app.ctx, &access, &repo, options, |done, total| {
            seen.push((done, total))
        })
        .await
        .expect("ranked");
    let ranked: Vec<crate::triage::rank::Ranked> =
        scored.issues.iter().map(|i| i.ranked.clone()).collect();
    assert_eq!(seen.last(), Some(&(3, 3)));
    let order: Vec<u64> = ranked
        .iter()
        .map(|r| u64::try_from(r.number).expect("positive"))
        .collect();
    assert_eq!(order, [security, bug, question], "{ranked:#?}");
    assert!(
        app.github.labels(REPO, bug).is_empty(),
        "the CLI writes nothing on GitHub"
    );

    let table = crate::cli::triage_cmd::render_ranking(&ranked, false, false).expect("rendered");
    let first_row = table.lines().nth(3).expect("a row");
    assert!(
        first_row.contains("security") && first_row.contains("SQL injection"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &crate::cli::triage_cmd::render_ranking(&ranked, true, false).expect("rendered"),
    )
    .expect("JSON");
    assert_eq!(json[0]["rank"], 1);
    assert_eq!(json[0]["category"], "security");
    assert!(json[0]["terms"]["urgency"].as_f64().is_some());

    // Stored with their inputs: ranking again with other weights needs no GitHub call.
    let calls = app.github.calls().len();
    let config = app.ctx.config();
    let (stored, considered) = crate::triage::rank::prioritize(
        app.ctx.db.pool(),
        &config,
        Some("python"),
        10,
        app.ctx.clock.now_ms(),
    )
    .await
    .expect("ranked");
    assert_eq!((stored.len(), considered), (3, 3));
    assert_eq!(stored[0].number, ranked[0].number);
    let mut reweighted = (*config).clone();
    reweighted.scoring.weights.urgency = 0.0;
    reweighted.scoring.category_weights.question = 50.0;
    reweighted.scoring.weights.solvability = 1.0;
    let (stored, _) = crate::triage::rank::prioritize(
        app.ctx.db.pool(),
        &reweighted,
        None,
        1,
        app.ctx.clock.now_ms(),
    )
    .await
    .expect("ranked");
    assert_eq!(
        u64::try_from(stored[0].number).expect("positive"),
        question,
        "only solvability counts: the simple question wins"
    );
    let (none, _) = crate::triage::rank::prioritize(
        app.ctx.db.pool(),
        &config,
        Some("rust"),
        10,
        app.ctx.clock.now_ms(),
    )
    .await
    .expect("ranked");
    assert!(none.is_empty(), "no rust repositories stored");
    assert_eq!(app.github.calls().len(), calls);
}

fn scripted_llm(
    app: &TestApp,
    answer: &str,
) -> std::sync::Arc<crate::llm::scripted::ScriptedProvider> {
    app.script_llm(
        crate::llm::scripted::ScriptedProvider::new("scripted", "claude-sonnet-4-5")
            .answer_with_usage(answer, 900, 60),
    )
}

#[tokio::test]
async fn with_an_llm_configured_it_categorizes_and_the_call_is_budgeted() {
    let (app, number) = app_with_issue().await;
    let answer = r#"{"category":"docs","complexity":2,"complexity_reason":"one paragraph of the manual","area":"docs/manifest.md","summary":"The manual does not say empty manifests are invalid.","confidence":0.93}"#;
    let provider = scripted_llm(&app, answer);
    app.deliver(
        "issues",
        &app.github
            .issue_delivery("opened", REPO, number, "maria-dev"),
    )
    .await;
    app.drain().await;

    assert!(
        app.github
            .labels(REPO, number)
            .contains(&"globallm:type/docs".to_owned())
    );
    let body = &app.github.comments(REPO, number)[0].body;
    assert!(body.contains("Categorized by the LLM (confidence 0.93). Complexity 2: one paragraph of the manual. Area: `docs/manifest.md`."), "{body}");
    let requests = provider.requests();
    assert_eq!(requests.len(), 1);
    let sent = serde_json::to_string(&requests[0].messages).expect("serializes");
    assert!(
        sent.contains("untrusted-data") && sent.contains("IndexError"),
        "the issue goes as delimited data: {sent}"
    );
    let settled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM budget_ledger WHERE event = 'settle' AND repo = $1",
    )
    .bind(REPO)
    .fetch_one(app.ctx.db.pool())
    .await
    .expect("query");
    assert_eq!(
        settled, 1,
        "the call was reserved and settled in the budget"
    );
}

#[tokio::test]
async fn with_the_budget_spent_the_offline_classifier_decides_without_calling_the_llm() {
    let app = TestApp::start_with_env(&[("GLOBALLM_BUDGET__TOKENS_PER_REPO", "10")]).await;
    app.github.add_repo(REPO, INSTALLATION);
    let number = app.github.add_issue(REPO, BUG_TITLE, BUG_BODY, "maria-dev");
    let provider = scripted_llm(
        &app,
        r#"{"category":"docs","complexity":2,"area":"a","summary":"s"}"#,
    );
    app.deliver(
        "issues",
        &app.github
            .issue_delivery("opened", REPO, number, "maria-dev"),
    )
    .await;
    app.drain().await;
    assert!(provider.requests().is_empty(), "no call past the cap");
    assert!(
        app.github
            .labels(REPO, number)
            .contains(&"globallm:type/bug".to_owned())
    );
    assert!(
        app.github.comments(REPO, number)[0]
            .body
            .contains("Categorized by the offline classifier")
    );
}

#[tokio::test]
async fn explain_answers_from_the_stored_triage_without_calling_the_llm() {
    let (app, number) = app_with_issue().await;
    let answer = r#"{"category":"docs","complexity":2,"complexity_reason":"one paragraph of the manual","area":"docs/manifest.md","summary":"s","confidence":0.93}"#;
    let provider = app.script_llm(
        crate::llm::scripted::ScriptedProvider::new("scripted", "claude-sonnet-4-5")
            .answer_with_usage(answer, 900, 60)
            .answer_with_usage(answer, 900, 60),
    );
    app.deliver(
        "issues",
        &app.github
            .issue_delivery("opened", REPO, number, "maria-dev"),
    )
    .await;
    app.drain().await;
    assert_eq!(provider.requests().len(), 1, "triage asked the LLM once");
    let triage = app.github.comments(REPO, number);
    assert_eq!(triage.len(), 1);

    let id = comment(&app, number, "drive-by", "/globallm explain").await;
    assert_eq!(
        provider.requests().len(),
        1,
        "explain made no LLM call: it reads the stored triage"
    );
    let reply = app
        .github
        .comments(REPO, number)
        .into_iter()
        .find(|c| c.author_is_bot && c.id != triage[0].id)
        .expect("a reply");
    assert!(
        reply.body.starts_with("> /globallm explain\n\n**Priority")
            && reply
                .body
                .contains("complexity, 2/10: one paragraph of the manual")
            && reply.body.contains("docs × 1"),
        "the stored categorization is explained: {}",
        reply.body
    );
    assert_eq!(reactions(&app, id), ["eyes", "+1"]);
}

#[tokio::test]
async fn an_edit_that_changes_only_labels_does_not_triage_again_but_a_body_edit_does() {
    let (app, number) = app_with_issue().await;
    let answer = r#"{"category":"bug","complexity":3,"complexity_reason":"an index check","area":"widgets/manifest.py","summary":"s","confidence":0.9}"#;
    let provider = app.script_llm(
        crate::llm::scripted::ScriptedProvider::new("scripted", "claude-sonnet-4-5")
            .answer_with_usage(answer, 900, 60)
            .answer_with_usage(answer, 900, 60),
    );
    app.deliver(
        "issues",
        &app.github
            .issue_delivery("opened", REPO, number, "maria-dev"),
    )
    .await;
    app.drain().await;
    assert_eq!(provider.requests().len(), 1);
    assert_eq!(app.github.comments(REPO, number).len(), 1);

    // A label (and the milestone, say) changes; title and body stay.
    app.github.label(REPO, number, "needs-triage");
    let mark = app.github.calls().len();
    app.deliver(
        "issues",
        &app.github
            .issue_delivery("edited", REPO, number, "maria-dev"),
    )
    .await;
    app.drain().await;
    assert_eq!(
        provider.requests().len(),
        1,
        "no LLM call for an edit that left the title and body alone"
    );
    assert!(
        app.github.calls_since(mark).is_empty(),
        "nothing asked of GitHub either: {:?}",
        app.github.calls_since(mark)
    );

    {
        let mut world = app.github.world();
        let issue = world
            .repos
            .get_mut(REPO)
            .expect("repo")
            .issues
            .get_mut(&number)
            .expect("issue");
        issue
            .body
            .push_str("\n\nAlso happens with a manifest holding only comments.");
        issue.updated_at += 60_000;
    }
    app.deliver(
        "issues",
        &app.github
            .issue_delivery("edited", REPO, number, "maria-dev"),
    )
    .await;
    app.drain().await;
    assert_eq!(
        provider.requests().len(),
        2,
        "a body edit is categorized again"
    );
    assert_eq!(app.github.comments(REPO, number).len(), 1);
}

#[tokio::test]
async fn past_the_command_rate_limit_a_user_gets_one_reply_then_silence() {
    let app = TestApp::start_with_env(&[("GLOBALLM_COMMANDS__RATE_LIMIT", "2")]).await;
    app.github.add_repo(REPO, INSTALLATION);
    let number = app.github.add_issue(REPO, BUG_TITLE, BUG_BODY, "maria-dev");
    let first = comment(&app, number, "drive-by", "/globallm help").await;
    let second = comment(&app, number, "drive-by", "/globallm help").await;
    let third = comment(&app, number, "drive-by", "/globallm help").await;
    let fourth = comment(&app, number, "drive-by", "/globallm explain").await;
    let other = comment(&app, number, "maria-dev", "/globallm help").await;
    assert_eq!(reactions(&app, first), ["eyes", "+1"]);
    assert_eq!(reactions(&app, second), ["eyes", "+1"]);
    assert!(
        reactions(&app, third).is_empty(),
        "{:?}",
        reactions(&app, third)
    );
    assert!(
        reactions(&app, fourth).is_empty(),
        "{:?}",
        reactions(&app, fourth)
    );
    assert_eq!(
        reactions(&app, other),
        ["eyes", "+1"],
        "others are not limited"
    );
    let replies: Vec<String> = app
        .github
        .comments(REPO, number)
        .into_iter()
        .filter(|c| c.author_is_bot)
        .map(|c| c.body)
        .collect();
    assert_eq!(
        replies.len(),
        4,
        "two answers, one notice, one answer to another user: {replies:#?}"
    );
    let limited: Vec<&String> = replies
        .iter()
        .filter(|r| r.contains("GlobalLM commands in this repository"))
        .collect();
    assert_eq!(
        limited.len(),
        1,
        "one notice, not one per attempt: {replies:#?}"
    );
    assert!(
        limited[0].starts_with(
            "Sorry @drive-by, you have run 2 GlobalLM commands in this repository within an hour; further commands from you here are ignored until "
        ),
        "{}",
        limited[0]
    );
}
