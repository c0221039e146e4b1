//! The operator's view: the dashboard's data query on a seeded database, and the plain
//! `status` output (both snapshots).

use crate::budget::{Budget, ReserveRequest, Settlement};
use crate::clock::{Clock, ManualClock};
use crate::config::{Config, Language};
use crate::db::Db;
use crate::llm::Usage;
use crate::monitoring::dashboard;
use std::sync::Arc;
use std::time::Duration;

/// Tuesday 2025-11-25 12:00 UTC.
const NOW: i64 = 1_764_072_000_000;

async fn seeded() -> (tempfile::TempDir, Db, Arc<Config>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::connect(
        &crate::db::scratch::location(dir.path(), "status").await,
        Duration::from_secs(5),
        4,
    )
    .await
    .expect("opens");
    let config = Arc::new(Config::default());
    let seed = [
        "INSERT INTO repositories (id, full_name, installation_id, created_at, updated_at) VALUES (1, 'django/django', NULL, 0, 0)",
        "INSERT INTO repo_signals (repo, language, health, impact, redundancy, has_tests, source, fetched_at)
         VALUES ('django/django', 'python', '{}', '{\"stars\":80000,\"dependents\":90000}', 0, 1, 'discovery', 0)",
        "INSERT INTO triaged_issues (repo, number, title, state, language, category, complexity, confidence, categorized_by,
             opened_at, engagement, health, impact, redundancy, has_tests, priority, level, triaged_at)
         VALUES ('django/django', 1, 'a', 'open', 'python', 'bug', 3, 0.9, 'offline', 0, 1, 0.5, 0.5, 0, 1, 0.6, 'high', 0),
                ('django/django', 2, 'b', 'open', 'python', 'bug', 3, 0.9, 'offline', 0, 1, 0.5, 0.5, 0, 1, 0.6, 'high', 0),
                ('pallets/flask', 7, 'c', 'open', 'python', 'feature', 5, 0.8, 'llm', 0, 0, 0.4, 0.3, 0, NULL, 0.4, 'medium', 0)",
        "INSERT INTO fix_prs (repo, issue, installation, branch, pr_number, head_sha, state, tier, last_ci, created_at, updated_at)
         VALUES ('django/django', 1, 5, 'globallm/issue-1', 11, 'aaa', 'merged', 'low', 'green', 1764000000000, 1764000000000),
                ('django/django', 2, 5, 'globallm/issue-2', 12, 'bbb', 'open', 'high', 'pending', 1764050000000, 1764050000000)",
        "INSERT INTO deliveries (delivery_guid, event, action, repository, headers, body, received_at, outcome, note)
         VALUES ('g1', 'issues', 'opened', 'django/django', '{}', '', 1764070000000, 'processed', NULL),
                ('g2', 'star', 'created', 'django/django', '{}', '', 1764071000000, 'unsupported', NULL)",
        "INSERT INTO jobs (kind, payload, state, attempts, max_attempts, run_at, last_error, created_at, updated_at)
         VALUES ('catch_up', '{}', 'dead', 8, 8, 0, 'GitHub failed (502) after 4 attempts: Server Error', 0, 1764071500000),
                ('process_delivery', '{}', 'queued', 0, 8, 0, NULL, 0, 0)",
        // The open fix waits for its repository's merge window; the merged one's wait is stale.
        "INSERT INTO merge_waits (fix_id, repo, head, reason, detail, until, since)
         VALUES (2, 'django/django', 'bbb', 'window', 'Wed 2025-11-26 09:00 +01:00', 1764144000000, 1764060000000),
                (1, 'django/django', 'aaa', 'freeze', NULL, NULL, 1764000000000)",
    ];
    for sql in seed {
        sqlx::query(sql).execute(db.pool()).await.expect("seed");
    }
    let clock = Arc::new(ManualClock::new(NOW - 3_600_000));
    let budget = Budget::new(db.clone(), config.clone(), clock.clone() as Arc<dyn Clock>);
    let held = budget
        .reserve(
            "django/django",
            Language::Python,
            ReserveRequest::tokens(5_000),
        )
        .await
        .expect("reserved");
    let settlement = Settlement {
        usage: Usage {
            input_tokens: 200_000,
            output_tokens: 34_567,
            estimated: false,
        },
        seconds: 0,
        provider: Some("anthropic"),
        model: Some("claude-sonnet-4-5"),
        request_id: None,
    };
    budget.settle(held.id, &settlement).await.expect("settled");
    (dir, db, config)
}

#[tokio::test]
async fn the_dashboard_data_on_a_seeded_database() {
    let (_dir, db, config) = seeded().await;
    let snapshot = dashboard::snapshot(&db, &config, NOW).await.expect("read");
    insta::assert_json_snapshot!(snapshot);
}

#[tokio::test]
async fn the_plain_status_output() {
    let (_dir, db, config) = seeded().await;
    let snapshot = dashboard::snapshot(&db, &config, NOW).await.expect("read");
    let text = dashboard::render_text(&snapshot);
    assert!(!text.contains('\u{1b}'), "no terminal codes");
    insta::assert_snapshot!(text);
}
