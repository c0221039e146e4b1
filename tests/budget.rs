//! The budget manager on real SQLite files, with a manual clock: every cap checked in one
//! transaction, concurrent reservations (tasks and separate connections, as separate
//! processes) racing for a cap, settle and release, crashed workers' reservations expiring,
//! window roll-over, idempotency (a retry never counts twice), the ledger and the cost.

mod llm_support;

use globallm::budget::{Budget, BudgetError, Cap, ReserveRequest, Settlement};
use globallm::config::{Config, Language, Weekday};
use globallm::db::Db;
use globallm::llm::Usage;
use llm_support::{budget, clock, temp_db};
use std::sync::Arc;
use std::time::Duration;

fn config(edit: impl FnOnce(&mut Config)) -> Arc<Config> {
    let mut config = Config::default();
    edit(&mut config);
    Arc::new(config)
}

fn usage(input: u64, output: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        estimated: false,
    }
}

fn settled<'a>(input: u64, output: u64, model: &'a str) -> Settlement<'a> {
    Settlement {
        usage: usage(input, output),
        model: Some(model),
        provider: Some("anthropic"),
        ..Settlement::default()
    }
}

async fn ledger_events(db: &Db) -> Vec<String> {
    sqlx::query_scalar("SELECT event FROM budget_ledger ORDER BY id")
        .fetch_all(db.pool())
        .await
        .expect("ledger")
}

fn denied_by(result: Result<globallm::budget::Reservation, BudgetError>) -> Cap {
    match result {
        Err(BudgetError::Exceeded { cap, .. }) => cap,
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[tokio::test]
async fn every_cap_refuses_what_would_pass_it() {
    let (_dir, db) = temp_db().await;
    let clock = clock();
    let config = config(|c| {
        c.budget.tokens_total = 1_000;
        c.budget.tokens_per_repo = 600;
        c.budget.seconds_per_repo = 100;
        c.budget.fix_attempts_per_repo = 2;
        c.budget.fix_attempts_per_language = 3;
    });
    let budget = budget(&db, &config, &clock);
    let rust = Language::Rust;
    budget
        .reserve("a/one", rust, ReserveRequest::tokens(600))
        .await
        .expect("at the repo cap");
    assert_eq!(
        denied_by(
            budget
                .reserve("a/one", rust, ReserveRequest::tokens(1))
                .await
        ),
        Cap::TokensPerRepo
    );
    budget
        .reserve("a/two", rust, ReserveRequest::tokens(400))
        .await
        .expect("at the total cap");
    assert_eq!(
        denied_by(
            budget
                .reserve("a/three", rust, ReserveRequest::tokens(1))
                .await
        ),
        Cap::TokensTotal
    );
    assert_eq!(
        denied_by(
            budget
                .reserve("a/three", rust, ReserveRequest::fix_attempt(101))
                .await
        ),
        Cap::SecondsPerRepo
    );
    budget
        .reserve("a/three", rust, ReserveRequest::fix_attempt(10))
        .await
        .expect("attempt 1");
    budget
        .reserve("a/three", rust, ReserveRequest::fix_attempt(10))
        .await
        .expect("attempt 2");
    assert_eq!(
        denied_by(
            budget
                .reserve("a/three", rust, ReserveRequest::fix_attempt(10))
                .await
        ),
        Cap::FixAttemptsPerRepo
    );
    budget
        .reserve("a/four", rust, ReserveRequest::fix_attempt(10))
        .await
        .expect("attempt 3 of rust");
    assert_eq!(
        denied_by(
            budget
                .reserve("a/five", rust, ReserveRequest::fix_attempt(10))
                .await
        ),
        Cap::FixAttemptsPerLanguage
    );
    budget
        .reserve("a/five", Language::Go, ReserveRequest::fix_attempt(10))
        .await
        .expect("another language");

    let err = budget
        .reserve("a/one", rust, ReserveRequest::tokens(5))
        .await
        .expect_err("denied");
    let text = err.to_string();
    assert!(
        text.contains("tokens_total of all has no room: 1000 used + 5 asked > 1000"),
        "{text}"
    );
    assert!(text.contains("resets at 2026-11-30 00:00:00Z"), "{text}");
    let denials: i64 =
        sqlx::query_scalar("SELECT count(*) FROM budget_ledger WHERE event = 'deny'")
            .fetch_one(db.pool())
            .await
            .expect("count");
    assert_eq!(denials, 6, "every refusal is in the ledger");
}

/// Reserves `size` tokens 50 times at once on `handles` (several connections to one file,
/// as several processes would have); returns how many were granted.
async fn race(handles: &[Budget], size: u64) -> usize {
    let mut tasks = Vec::new();
    for i in 0..50 {
        let budget = handles[i % handles.len()].clone();
        let repo = if i % 2 == 0 {
            "acme/widgets"
        } else {
            "acme/gadgets"
        };
        tasks.push(tokio::spawn(async move {
            budget
                .reserve(repo, Language::Python, ReserveRequest::tokens(size))
                .await
        }));
    }
    let mut granted = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => granted += 1,
            Err(BudgetError::Exceeded { .. }) => {}
            Err(other) => panic!("{other}"),
        }
    }
    granted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_reservations_racing_for_a_cap_never_exceed_it() {
    let (_dir, db) = temp_db().await;
    let clock = clock();
    let config = config(|c| {
        c.budget.tokens_total = 1_000;
        c.budget.tokens_per_repo = 1_000;
    });
    // A second pool on the same database, as a second process (or replica) would hold.
    let second_process = Db::connect(db.location(), Duration::from_secs(10), 8)
        .await
        .expect("second connection pool");
    let handles = [
        budget(&db, &config, &clock),
        budget(&second_process, &config, &clock),
    ];
    let granted = race(&handles, 70).await;
    assert_eq!(granted, 14, "⌊1000 / 70⌋ fit, no more");
    let held: i64 = sqlx::query_scalar(
        "SELECT CAST(sum(tokens_reserved) AS BIGINT) FROM budget_reservations WHERE state = 'active'",
    )
    .fetch_one(db.pool())
    .await
    .expect("sum");
    assert_eq!(held, 980);
    assert_eq!(
        handles[0].report().await.expect("report").total.tokens_held,
        980
    );
    let events = ledger_events(&db).await;
    assert_eq!(events.iter().filter(|e| *e == "reserve").count(), 14);
    assert_eq!(events.iter().filter(|e| *e == "deny").count(), 36);

    // Fix attempts: 50 at once for one language with a cap of 5.
    let config = config_with_attempts(5);
    let handles = [
        budget(&db, &config, &clock),
        budget(&second_process, &config, &clock),
    ];
    let mut tasks = Vec::new();
    for i in 0..50 {
        let budget = handles[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            budget
                .reserve(
                    &format!("acme/r{i}"),
                    Language::Java,
                    ReserveRequest::fix_attempt(1),
                )
                .await
        }));
    }
    let mut granted = 0;
    for task in tasks {
        granted += usize::from(task.await.expect("task").is_ok());
    }
    assert_eq!(granted, 5);
    second_process.close().await;
}

fn config_with_attempts(per_language: u32) -> Arc<Config> {
    config(|c| c.budget.fix_attempts_per_language = per_language)
}

#[tokio::test]
async fn settling_counts_the_real_usage_and_frees_the_rest() {
    let (_dir, db) = temp_db().await;
    let clock = clock();
    let config = config(|c| c.budget.tokens_per_repo = 1_000);
    let budget = budget(&db, &config, &clock);
    let r = budget
        .reserve("acme/widgets", Language::Go, ReserveRequest::tokens(900))
        .await
        .expect("granted");
    assert_eq!(
        denied_by(
            budget
                .reserve("acme/widgets", Language::Go, ReserveRequest::tokens(200))
                .await
        ),
        Cap::TokensPerRepo
    );
    assert!(
        budget
            .settle(r.id, &settled(250, 50, "claude-sonnet-4-5-20250929"))
            .await
            .expect("settle")
    );
    budget
        .reserve("acme/widgets", Language::Go, ReserveRequest::tokens(700))
        .await
        .expect("300 used, 700 fit");
    let released = budget
        .reserve("acme/other", Language::Go, ReserveRequest::tokens(10))
        .await
        .expect("granted");
    assert!(
        budget
            .release(released.id, "the provider failed")
            .await
            .expect("release")
    );
    let report = budget.report().await.expect("report");
    assert_eq!(
        (
            report.total.input_tokens,
            report.total.output_tokens,
            report.total.tokens_held
        ),
        (250, 50, 700)
    );
    assert_eq!(
        ledger_events(&db).await,
        ["reserve", "deny", "settle", "reserve", "reserve", "release"]
    );
}

#[tokio::test]
async fn a_repeated_settle_or_release_never_counts_twice() {
    let (_dir, db) = temp_db().await;
    let clock = clock();
    let config = config(|_| {});
    let budget = budget(&db, &config, &clock);
    let r = budget
        .reserve(
            "acme/widgets",
            Language::Rust,
            ReserveRequest::tokens(5_000),
        )
        .await
        .expect("granted");
    assert!(
        budget
            .settle(r.id, &settled(1_000, 100, "gpt-4o"))
            .await
            .expect("first")
    );
    assert!(
        !budget
            .settle(r.id, &settled(1_000, 100, "gpt-4o"))
            .await
            .expect("second is a no-op")
    );
    assert!(
        !budget
            .release(r.id, "late failure")
            .await
            .expect("no release after settle")
    );
    let report = budget.report().await.expect("report");
    assert_eq!(
        report.total.input_tokens + report.total.output_tokens,
        1_100
    );
    assert_eq!(ledger_events(&db).await, ["reserve", "settle"]);

    // A job re-run after a crash reserves again with its key: the same reservation.
    let first = budget
        .reserve(
            "acme/widgets",
            Language::Rust,
            ReserveRequest::fix_attempt(600).key("fix:acme/widgets#12:1"),
        )
        .await
        .expect("granted");
    let again = budget
        .reserve(
            "acme/widgets",
            Language::Rust,
            ReserveRequest::fix_attempt(600).key("fix:acme/widgets#12:1"),
        )
        .await
        .expect("found");
    assert_eq!(
        (again.id, again.reused, again.settled),
        (first.id, true, false)
    );
    budget
        .settle(
            first.id,
            &Settlement {
                seconds: 420,
                ..Settlement::default()
            },
        )
        .await
        .expect("settle");
    let after = budget
        .reserve(
            "acme/widgets",
            Language::Rust,
            ReserveRequest::fix_attempt(600).key("fix:acme/widgets#12:1"),
        )
        .await
        .expect("found");
    assert_eq!(
        (after.id, after.reused, after.settled),
        (first.id, true, true)
    );
    let report = budget.report().await.expect("report");
    let repo = report
        .by_repo
        .iter()
        .find(|s| s.key == "acme/widgets")
        .expect("spend");
    assert_eq!(
        (repo.fix_attempts, repo.seconds),
        (1, 420),
        "one attempt, its real seconds"
    );

    // A keyed reservation that expired frees its key; when its slow worker settles it after
    // a re-run took the key, both are recorded.
    let slow = budget
        .reserve(
            "acme/widgets",
            Language::Rust,
            ReserveRequest::tokens(10).key("triage:7"),
        )
        .await
        .expect("granted");
    clock.advance(Duration::from_secs(config.budget.reservation_ttl_secs));
    let rerun = budget
        .reserve(
            "acme/widgets",
            Language::Rust,
            ReserveRequest::tokens(10).key("triage:7"),
        )
        .await
        .expect("granted");
    assert!(
        !rerun.reused && rerun.id != slow.id,
        "the expired one is not handed out again"
    );
    assert!(
        budget
            .settle(slow.id, &settled(5, 5, "gpt-4o"))
            .await
            .expect("late settle")
    );
    assert!(
        budget
            .settle(rerun.id, &settled(6, 6, "gpt-4o"))
            .await
            .expect("settle")
    );
    let again = budget
        .reserve(
            "acme/widgets",
            Language::Rust,
            ReserveRequest::tokens(10).key("triage:7"),
        )
        .await
        .expect("found");
    assert_eq!((again.id, again.settled), (rerun.id, true));
}

#[tokio::test]
async fn a_crashed_workers_reservation_expires_and_frees_its_share() {
    let (_dir, db) = temp_db().await;
    let clock = clock();
    let config = config(|c| {
        c.budget.tokens_per_repo = 1_000;
        c.budget.reservation_ttl_secs = 600;
    });
    let budget = budget(&db, &config, &clock);
    // A worker reserves the whole cap, then dies without settling or releasing.
    let lost = budget
        .reserve(
            "acme/widgets",
            Language::Python,
            ReserveRequest::tokens(1_000),
        )
        .await
        .expect("granted");
    clock.advance(Duration::from_secs(599));
    assert_eq!(
        denied_by(
            budget
                .reserve("acme/widgets", Language::Python, ReserveRequest::tokens(1))
                .await
        ),
        Cap::TokensPerRepo
    );
    clock.advance(Duration::from_secs(1));
    let next = budget
        .reserve(
            "acme/widgets",
            Language::Python,
            ReserveRequest::tokens(800),
        )
        .await
        .expect("expired, room again");
    let state: String = sqlx::query_scalar("SELECT state FROM budget_reservations WHERE id = $1")
        .bind(lost.id)
        .fetch_one(db.pool())
        .await
        .expect("state");
    assert_eq!(state, "expired");
    assert_eq!(
        ledger_events(&db).await,
        ["reserve", "deny", "expire", "reserve"]
    );

    // A worker that was only slow still gets its usage counted.
    assert!(
        budget
            .settle(lost.id, &settled(150, 50, "gpt-4o"))
            .await
            .expect("late settle")
    );
    assert_eq!(
        denied_by(
            budget
                .reserve("acme/widgets", Language::Python, ReserveRequest::tokens(1))
                .await
        ),
        Cap::TokensPerRepo
    );

    // Long work renews its reservation before the TTL.
    clock.advance(Duration::from_secs(500));
    assert!(budget.renew(next.id).await.expect("renew"));
    clock.advance(Duration::from_secs(500));
    assert_eq!(
        budget.expire_due().await.expect("sweep"),
        0,
        "renewed, still held"
    );
    clock.advance(Duration::from_secs(101));
    assert_eq!(budget.expire_due().await.expect("sweep"), 1);
}

#[tokio::test]
async fn the_window_rolls_over_at_the_configured_weekday_and_hour() {
    let (_dir, db) = temp_db().await;
    let clock = clock();
    let config = config(|c| {
        c.budget.window_start_weekday = Weekday::Thursday;
        c.budget.window_start_hour = 6;
        c.budget.fix_attempts_per_repo = 1;
    });
    let budget = budget(&db, &config, &clock);
    let window = budget.window();
    assert_eq!(
        globallm::time::format_ms(window.start),
        "2026-11-19 06:00:00Z"
    );
    let attempt = budget
        .reserve(
            "acme/widgets",
            Language::Rust,
            ReserveRequest::fix_attempt(60),
        )
        .await
        .expect("granted");
    budget
        .settle(
            attempt.id,
            &Settlement {
                seconds: 60,
                ..Settlement::default()
            },
        )
        .await
        .expect("settled");
    assert_eq!(
        denied_by(
            budget
                .reserve(
                    "acme/widgets",
                    Language::Rust,
                    ReserveRequest::fix_attempt(60)
                )
                .await
        ),
        Cap::FixAttemptsPerRepo
    );
    // Thursday 2026-11-26 05:59:59.999 is still the old window …
    clock.set(window.end - 1);
    assert_eq!(
        denied_by(
            budget
                .reserve(
                    "acme/widgets",
                    Language::Rust,
                    ReserveRequest::fix_attempt(60)
                )
                .await
        ),
        Cap::FixAttemptsPerRepo
    );
    // … 06:00 starts the next one.
    clock.set(window.end);
    let fresh = budget
        .reserve(
            "acme/widgets",
            Language::Rust,
            ReserveRequest::fix_attempt(60),
        )
        .await
        .expect("new window");
    assert_eq!(fresh.window.start, window.end);
    let report = budget.report().await.expect("report");
    assert_eq!(report.window.start, "2026-11-26 06:00:00Z");
    assert_eq!(
        report.by_repo[0].fix_attempts, 1,
        "only this window's attempt"
    );
}

#[tokio::test]
async fn the_cost_comes_from_the_price_table_of_the_model_that_answered() {
    let (_dir, db) = temp_db().await;
    let clock = clock();
    let config = config(|_| {});
    let budget = budget(&db, &config, &clock);
    for (repo, model, input, output) in [
        ("acme/a", "claude-sonnet-4-5-20250929", 1_000_000, 100_000),
        ("acme/b", "gpt-4o-mini-2024-07-18", 2_000_000, 0),
        ("acme/c", "qwen2.5-coder:7b", 5_000, 500),
    ] {
        let r = budget
            .reserve(repo, Language::Go, ReserveRequest::tokens(10))
            .await
            .expect("granted");
        budget
            .settle(r.id, &settled(input, output, model))
            .await
            .expect("settle");
    }
    let report = budget.report().await.expect("report");
    // 1M × $3 + 0.1M × $15, then 2M × $0.15; the local model is unpriced.
    assert!(
        (report.total.cost_usd - (3.0 + 1.5 + 0.3)).abs() < 1e-9,
        "{}",
        report.total.cost_usd
    );
    assert_eq!((report.total.settled, report.total.unpriced), (3, 1));
    let costs: Vec<Option<f64>> =
        sqlx::query_scalar("SELECT cost_usd FROM budget_ledger WHERE event = 'settle' ORDER BY id")
            .fetch_all(db.pool())
            .await
            .expect("ledger");
    assert_eq!(costs[2], None);
}

type Counters = Vec<(i64, String, i64, i64, i64)>;

/// The counters, and the same figures summed from the reservations themselves.
async fn counters_and_recount(db: &Db) -> (Counters, Counters) {
    let counters = sqlx::query_as(
        "SELECT window_start, scope, tokens, seconds, fix_attempts FROM budget_usage ORDER BY 1, 2",
    )
    .fetch_all(db.pool())
    .await
    .expect("counters");
    let recount = sqlx::query_as(
        "WITH v AS (
             SELECT window_start, repo, language,
                    CASE state WHEN 'active' THEN tokens_reserved
                               ELSE input_tokens + output_tokens END AS t,
                    CASE state WHEN 'active' THEN seconds_reserved ELSE seconds_used END AS s,
                    CASE WHEN state IN ('active', 'settled') THEN fix_attempts ELSE 0 END AS a
             FROM budget_reservations)
         SELECT window_start, CAST('all' AS TEXT), CAST(sum(t) AS BIGINT), CAST(sum(s) AS BIGINT), CAST(sum(a) AS BIGINT) FROM v GROUP BY window_start
         UNION ALL
         SELECT window_start, 'repo:' || repo, CAST(sum(t) AS BIGINT), CAST(sum(s) AS BIGINT), CAST(sum(a) AS BIGINT) FROM v
         GROUP BY window_start, repo
         UNION ALL
         SELECT window_start, 'language:' || language, CAST(sum(t) AS BIGINT), CAST(sum(s) AS BIGINT), CAST(sum(a) AS BIGINT) FROM v
         GROUP BY window_start, language
         ORDER BY 1, 2",
    )
    .fetch_all(db.pool())
    .await
    .expect("recount");
    (counters, recount)
}

#[tokio::test]
async fn the_counters_always_equal_a_recount_of_the_reservations() {
    let (_dir, db) = temp_db().await;
    let clock = clock();
    let config = config(|c| {
        c.budget.tokens_per_repo = 40_000;
        c.budget.tokens_total = 90_000;
        c.budget.fix_attempts_per_repo = 3;
        c.budget.reservation_ttl_secs = 120;
    });
    let budget = budget(&db, &config, &clock);
    let mut rng = fastrand::Rng::with_seed(42);
    let repos = ["acme/a", "acme/b", "acme/c"];
    let languages = [Language::Rust, Language::Go];
    let mut open = Vec::new();
    let mut expired_once = Vec::new();
    for step in 0..600 {
        let repo = repos[rng.usize(..repos.len())];
        let language = languages[rng.usize(..languages.len())];
        match rng.u8(..10) {
            0..=3 => {
                let request = if rng.bool() {
                    ReserveRequest::tokens(rng.u64(100..6_000))
                } else {
                    ReserveRequest::fix_attempt(rng.u64(10..300))
                };
                let request = if rng.u8(..5) == 0 {
                    request.key(format!("k{}", rng.u8(..8)))
                } else {
                    request
                };
                if let Ok(r) = budget.reserve(repo, language, request).await {
                    open.push(r.id);
                }
            }
            4..=6 if !open.is_empty() => {
                let id = open.swap_remove(rng.usize(..open.len()));
                let settlement = Settlement {
                    usage: usage(rng.u64(0..5_000), rng.u64(0..2_000)),
                    seconds: rng.u64(0..400),
                    model: Some("gpt-4o"),
                    ..Settlement::default()
                };
                budget.settle(id, &settlement).await.expect("settle");
            }
            7 if !open.is_empty() => {
                let id = open.swap_remove(rng.usize(..open.len()));
                budget.release(id, "failed").await.expect("release");
            }
            8 => clock.advance(Duration::from_secs(rng.u64(1..200))),
            _ => {
                // A slow worker settles a reservation after it expired, or settles twice.
                if let Some(id) = expired_once.pop() {
                    budget
                        .settle(id, &settled(100, 10, "gpt-4o"))
                        .await
                        .expect("late settle");
                } else if let Some(id) = open.first().copied() {
                    expired_once.push(id);
                }
            }
        }
        if step % 50 == 0 {
            clock.advance(Duration::from_secs(36 * 3_600)); // windows roll over too
        }
        let (counters, recount) = counters_and_recount(&db).await;
        assert_eq!(counters, recount, "step {step}");
    }
    let events = ledger_events(&db).await;
    for event in ["reserve", "settle", "release", "expire", "deny", "renew"] {
        assert!(
            events.iter().any(|e| e == event),
            "the workload exercised {event}"
        );
    }
}
