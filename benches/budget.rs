//! Budget reservations under contention, on a real SQLite file.
//!
//! `cargo bench --bench budget` runs three scenarios, each bounded in count:
//!
//! 1. **reserve + settle** — C tasks in one process, each reserving then settling, N pairs in
//!    all: reservations per second with every cap checked in its transaction.
//! 2. **two processes** — the same load split over two connection pools on one file (as two
//!    `globallm` processes would be), meeting in SQLite's lock rather than the in-process one.
//! 3. **racing for a cap** — rounds of 50 tasks reserving at once against a cap that fits only
//!    some of them: attempts per second, and a check that no round ever passed the cap.
//!
//! Options (after `--`): `--reservations N` (default 4000), `--concurrency C` (default 32),
//! `--rounds R` (default 40).

use globallm::budget::{Budget, BudgetError, ReserveRequest, Settlement};
use globallm::config::{Config, Language};
use globallm::db::Db;
use globallm::llm::Usage;
use globallm::llm::clock::SystemClock;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Options {
    reservations: usize,
    concurrency: usize,
    rounds: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
    };
    Options {
        reservations: value("--reservations").unwrap_or(4_000),
        concurrency: value("--concurrency").unwrap_or(32),
        rounds: value("--rounds").unwrap_or(40),
    }
}

const REPOS: [&str; 8] = [
    "acme/a", "acme/b", "acme/c", "acme/d", "acme/e", "acme/f", "acme/g", "acme/h",
];

/// `count` reserve-then-settle pairs spread over `concurrency` tasks and the given budgets.
async fn reserve_and_settle(budgets: &[Budget], count: usize, concurrency: usize) -> Duration {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let budget = budgets[task % budgets.len()].clone();
        let share = count / concurrency + usize::from(task < count % concurrency);
        tasks.push(tokio::spawn(async move {
            for i in 0..share {
                let repo = REPOS[(task + i) % REPOS.len()];
                let reservation = budget
                    .reserve(repo, Language::Rust, ReserveRequest::tokens(5_000))
                    .await
                    .expect("the caps are large enough for the whole run");
                let settlement = Settlement {
                    usage: Usage {
                        input_tokens: 1_200,
                        output_tokens: 300,
                        estimated: false,
                    },
                    model: Some("claude-sonnet-4-5-20250929"),
                    provider: Some("anthropic"),
                    ..Settlement::default()
                };
                budget
                    .settle(reservation.id, &settlement)
                    .await
                    .expect("settled");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    started.elapsed()
}

fn large_caps() -> Arc<Config> {
    let mut config = Config::default();
    config.budget.tokens_total = u64::MAX / 4;
    config.budget.tokens_per_repo = u64::MAX / 4;
    Arc::new(config)
}

async fn open(path: &std::path::Path) -> Db {
    Db::open(path, Duration::from_secs(30), 8)
        .await
        .expect("database")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = options();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("globallm.db");
    let db = open(&path).await;
    // As `serve` does, checkpoint the WAL in the background so it does not grow unbounded.
    let checkpointer = db.clone();
    let checkpoints = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let _ = checkpointer.checkpoint().await;
        }
    });
    let config = large_caps();
    let budget = Budget::new(db.clone(), config.clone(), Arc::new(SystemClock));

    let n = options.reservations;
    let elapsed = reserve_and_settle(std::slice::from_ref(&budget), n, options.concurrency).await;
    println!(
        "reserve + settle, {} tasks, one process: {n} reservations in {:.2} s → {:.0} reservations/s ({:.0} transactions/s)",
        options.concurrency,
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        2.0 * n as f64 / elapsed.as_secs_f64()
    );

    let second = open(&path).await;
    let budgets = [
        budget.clone(),
        Budget::new(second.clone(), config.clone(), Arc::new(SystemClock)),
    ];
    let elapsed = reserve_and_settle(&budgets, n, options.concurrency).await;
    println!(
        "reserve + settle, {} tasks, two connection pools on one file: {n} in {:.2} s → {:.0} reservations/s",
        options.concurrency,
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );

    // Racing: each round gets a fresh repository whose cap fits 7 of 50 reservations.
    let mut capped = Config::default();
    capped.budget.tokens_total = u64::MAX / 4;
    capped.budget.tokens_per_repo = 7_000;
    let capped = Arc::new(capped);
    let racers = [
        Budget::new(db.clone(), capped.clone(), Arc::new(SystemClock)),
        Budget::new(second.clone(), capped.clone(), Arc::new(SystemClock)),
    ];
    let started = Instant::now();
    let (mut attempts, mut worst) = (0usize, 0usize);
    for round in 0..options.rounds {
        let repo = format!("race/round-{round}");
        let mut tasks = Vec::new();
        for i in 0..50 {
            let budget = racers[i % 2].clone();
            let repo = repo.clone();
            tasks.push(tokio::spawn(async move {
                budget
                    .reserve(&repo, Language::Go, ReserveRequest::tokens(1_000))
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
            attempts += 1;
        }
        assert_eq!(granted, 7, "round {round}: the cap fits exactly 7");
        worst = worst.max(granted);
    }
    let elapsed = started.elapsed();
    println!(
        "racing for a cap: {} rounds of 50 → {attempts} attempts in {:.2} s → {:.0} attempts/s; at most {worst} granted per round (cap fits 7)",
        options.rounds,
        elapsed.as_secs_f64(),
        attempts as f64 / elapsed.as_secs_f64()
    );
    checkpoints.abort();
    db.close().await;
    second.close().await;
}
