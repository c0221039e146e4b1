//! `prioritize` over a million stored issues: every priority recomputed from its stored
//! inputs with the current weights, the top 100 kept.
//!
//! `cargo bench --bench prioritize [-- --issues N]`

use globallm::config::Config;
use globallm::db::Db;
use globallm::triage::rank;
use std::time::{Duration, Instant};

const LANGUAGES: [&str; 5] = ["python", "javascript", "go", "rust", "java"];
const CATEGORIES: [&str; 6] = ["security", "bug", "feature", "docs", "question", "other"];

fn main() {
    let issues: usize = std::env::args()
        .skip_while(|a| a != "--issues")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(&dir.path().join("bench.db"), Duration::from_secs(5), 4)
            .await
            .expect("opens");
        let seeded = Instant::now();
        seed(&db, issues).await;
        // As `serve` keeps it: the write-ahead log copied into the database file.
        db.checkpoint().await.expect("checkpoint");
        println!(
            "seeded {issues} issues across {} repositories in {:.1} s",
            issues / 100,
            seeded.elapsed().as_secs_f64()
        );
        let config = Config::default();
        let now = globallm::time::now_ms();
        for (label, language) in [
            ("all languages", None),
            ("--language python", Some("python")),
        ] {
            let mut times = Vec::new();
            let mut considered = 0;
            for _ in 0..3 {
                let started = Instant::now();
                let (top, n) = rank::prioritize(db.pool(), &config, language, 100, now)
                    .await
                    .expect("ranked");
                times.push(started.elapsed());
                considered = n;
                assert_eq!(top.len(), 100);
            }
            times.sort();
            let best = times[0];
            println!(
                "prioritize {label}: {considered} issues in {:.2} s (best of 3) = {:.0} issues/s",
                best.as_secs_f64(),
                considered as f64 / best.as_secs_f64()
            );
        }
    });
}

async fn seed(db: &Db, issues: usize) {
    let repos = (issues / 100).max(1);
    let mut tx = db.write().await.expect("write");
    for r in 0..repos {
        sqlx::query(
            "INSERT INTO repo_signals (repo, language, health, impact, redundancy, has_tests, source, fetched_at)
             VALUES (?, ?, ?, ?, ?, ?, 'discovery', 0)",
        )
        .bind(format!("org{r}/repo{r}"))
        .bind(LANGUAGES[r % LANGUAGES.len()])
        .bind(format!("{{\"created_since\":{},\"updated_since\":{},\"contributor_count\":{}}}", r % 120, r % 24, r % 900))
        .bind(format!("{{\"stars\":{},\"dependents\":{}}}", (r * 37) % 90_000, (r * 11) % 5_000))
        .bind((r % 10) as f64 / 20.0)
        .bind(r % 3 != 0)
        .execute(tx.conn())
        .await
        .expect("insert repo");
    }
    const BATCH: usize = 200;
    let mut sql = String::from(
        "INSERT INTO triaged_issues (repo, number, title, state, language, category, complexity, confidence,
         categorized_by, opened_at, engagement, health, impact, redundancy, has_tests, priority, level, triaged_at) VALUES ",
    );
    for i in 0..BATCH {
        sql.push_str(if i == 0 {
            "(?,?,?,'open',?,?,?,0.9,'offline',?,?,0.5,0.5,0,1,0.5,'medium',0)"
        } else {
            ",(?,?,?,'open',?,?,?,0.9,'offline',?,?,0.5,0.5,0,1,0.5,'medium',0)"
        });
    }
    let now = globallm::time::now_ms();
    for start in (0..issues).step_by(BATCH) {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
        for i in start..start + BATCH {
            let r = i % repos;
            query = query
                .bind(format!("org{r}/repo{r}"))
                .bind(i64::try_from(i / repos + 1).expect("fits"))
                .bind(format!("Issue {i}: something to fix in module {}", i % 97))
                .bind(LANGUAGES[r % LANGUAGES.len()])
                .bind(CATEGORIES[(i * 7) % CATEGORIES.len()])
                .bind(i64::try_from(i % 10 + 1).expect("fits"))
                .bind(now - i64::try_from((i * 7_919) % 1_000).expect("fits") * 86_400_000)
                .bind(i64::try_from(i % 60).expect("fits"));
        }
        query.execute(tx.conn()).await.expect("insert issues");
    }
    tx.commit().await.expect("commit");
}
