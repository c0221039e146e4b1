//! Several `serve` replicas sharing one PostgreSQL database: they migrate once, never claim the
//! same job, wake each other when a job is added; and `db copy` moves an installation without
//! losing a row. The replica stories need PostgreSQL (CI provides it; elsewhere they say they
//! skipped); the copy story runs on whichever backend the tests use.

use super::fix_flows::{REPO, Scene};
use crate::db::jobs::{self, NewJob};
use crate::db::{Db, Location, copy, scratch};
use crate::testing::fake_github::git;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

async fn replica(location: &Location) -> Db {
    Db::connect(location, Duration::from_secs(5), 4)
        .await
        .expect("the replica connects and migrates")
}

fn job(n: usize) -> NewJob {
    NewJob {
        kind: "noop",
        payload: format!("{{\"n\":{n}}}"),
        max_attempts: 3,
        run_at: 0,
        delivery_id: None,
        dedup_key: None,
    }
}

#[tokio::test]
async fn replicas_starting_together_apply_each_migration_once() {
    if !scratch::available_or_skip("replicas_starting_together_apply_each_migration_once") {
        return;
    }
    let url = scratch::fresh_database().await.expect("a database");
    let location = Location::Postgres(url);
    let started = futures_util::future::join_all((0..4).map(|_| replica(&location))).await;
    let versions: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT version, count(*) FROM _sqlx_migrations GROUP BY version ORDER BY version",
    )
    .fetch_all(started[0].pool())
    .await
    .expect("the migrations table");
    assert_eq!(versions.len(), crate::db::PG_MIGRATOR.iter().count());
    assert!(versions.iter().all(|(_, n)| *n == 1), "{versions:?}");
    for db in &started {
        assert_eq!(db.readiness().await, Ok(()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_claiming_at_once_never_take_the_same_job() {
    if !scratch::available_or_skip("replicas_claiming_at_once_never_take_the_same_job") {
        return;
    }
    let location = Location::Postgres(scratch::fresh_database().await.expect("a database"));
    let (a, b) = (replica(&location).await, replica(&location).await);
    let mut tx = a.write().await.expect("a write");
    for n in 0..300 {
        jobs::enqueue(tx.conn(), &job(n), 0)
            .await
            .expect("enqueued");
    }
    tx.commit().await.expect("committed");

    // Eight workers, four per replica, claim as fast as they can.
    let mut claimers = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let db = if worker % 2 == 0 {
            a.clone()
        } else {
            b.clone()
        };
        claimers.spawn(async move {
            let name = format!("replica-{}/worker-{worker}", worker % 2);
            let mut claimed = Vec::new();
            loop {
                let mut conn = db.write_conn().await.expect("a connection");
                match jobs::claim(conn.conn(), &name, 1, 60_000)
                    .await
                    .expect("claim")
                {
                    Some(job) => claimed.push(job.id),
                    None => return claimed,
                }
            }
        });
    }
    let mut all = Vec::new();
    while let Some(claimed) = claimers.join_next().await {
        all.extend(claimed.expect("the claimer finishes"));
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 300, "every job is claimed");
    assert_eq!(distinct.len(), 300, "no job is claimed twice");
}

#[tokio::test]
async fn a_job_added_on_one_replica_wakes_the_others_workers() {
    if !scratch::available_or_skip("a_job_added_on_one_replica_wakes_the_others_workers") {
        return;
    }
    let location = Location::Postgres(scratch::fresh_database().await.expect("a database"));
    let (a, b) = (replica(&location).await, replica(&location).await);
    let wake = Arc::new(tokio::sync::Notify::new());
    let stop = tokio_util::sync::CancellationToken::new();
    crate::db::wakeups::spawn_listener(&b, wake.clone(), stop.clone());
    // The listener wakes once when it starts listening; wait for that.
    tokio::time::timeout(Duration::from_secs(10), wake.notified())
        .await
        .expect("the listener starts");

    let woken = wake.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    let mut tx = a.write().await.expect("a write");
    jobs::enqueue(tx.conn(), &job(1), 0)
        .await
        .expect("enqueued");
    // Nothing is sent before the commit.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), woken.as_mut())
            .await
            .is_err(),
        "woken before the job was committed"
    );
    tx.commit().await.expect("committed");
    tokio::time::timeout(Duration::from_secs(10), woken)
        .await
        .expect("the other replica is woken by the commit, not by its polling");
    stop.cancel();
}

#[tokio::test]
async fn copy_moves_every_row_and_the_copy_goes_on_numbering_after_them() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // The source is an embedded SQLite file, as an installation moving to PostgreSQL has,
    // holding what a real story leaves: the deliveries, the triage, GlobalLM's fix merged after
    // green CI and its post-merge watch.
    let url = format!("sqlite://{}", dir.path().join("source.db").display());
    let scene = Scene::with_env("low", &[("GLOBALLM_DATABASE_URL", &url)]).await;
    let parent = git::branch_head(&scene.bare, "main").expect("main");
    scene
        .app
        .github
        .complete_check(REPO, &parent, "test", "success", "12 passed");
    scene.check("test", "success", "12 passed").await;
    assert!(
        scene.app.github.pull(REPO, scene.pr).merged,
        "the fix merged"
    );
    let said = scene.bot_comments();
    assert!(said[0].starts_with("Merged as"), "{said:?}");
    super::merge_order::triaged(&scene.app, 2, 0.5).await;
    let source = scene.app.ctx.db.clone();
    assert_eq!(source.backend(), crate::db::Backend::Sqlite);
    // The destination is the backend the tests run on.
    let target = replica(&scratch::location(dir.path(), "target").await).await;

    let copied = copy::copy(&source, &target).await.expect("copied");
    for (table, rows) in &copied.tables {
        assert_eq!(
            dump(&target, table).await,
            dump(&source, table).await,
            "{table} ({rows} rows) is copied as it was"
        );
    }
    let filled: Vec<&str> = copied
        .tables
        .iter()
        .filter(|(_, rows)| *rows > 0)
        .map(|(table, _)| *table)
        .collect();
    for table in ["deliveries", "triaged_issues", "fix_prs", "merge_watches"] {
        assert!(
            filled.contains(&table),
            "{table} has rows to copy: {copied:?}"
        );
    }

    // New rows are numbered after the copied ones.
    let mut tx = target.write().await.expect("a write");
    let id = crate::db::fixes::start(tx.conn(), REPO, 99, 1, "globallm/issue-99", 0)
        .await
        .expect("started")
        .expect("a new fix");
    tx.commit().await.expect("committed");
    let copied_max: i64 = sqlx::query_scalar("SELECT max(id) FROM fix_prs WHERE id <> $1")
        .bind(id)
        .fetch_one(target.pool())
        .await
        .expect("max id");
    assert!(id > copied_max, "fix {id} is numbered after {copied_max}");

    // A second copy is refused: the destination is no longer empty.
    let again = copy::copy(&source, &target).await.expect_err("refused");
    assert!(again.to_string().contains("not empty"), "{again}");
}

#[tokio::test]
async fn copy_knows_every_table_of_the_schema() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = replica(&scratch::location(dir.path(), "schema").await).await;
    let sql = match db.backend() {
        crate::db::Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table'
               AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name"
        }
        crate::db::Backend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' ORDER BY 1"
        }
    };
    let tables: Vec<String> = sqlx::query_scalar(sql)
        .fetch_all(db.pool())
        .await
        .expect("the tables");
    let mut known: Vec<&str> = copy::TABLES.to_vec();
    known.sort_unstable();
    assert_eq!(tables, known);
}

/// A table's rows as text, in a fixed order (the columns both backends have).
async fn dump(db: &Db, table: &str) -> Vec<String> {
    use sqlx::{Column as _, Row as _};
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
        .fetch_all(db.pool())
        .await
        .expect("the rows");
    let mut lines: Vec<String> = rows
        .iter()
        .map(|row| {
            row.columns()
                .iter()
                .filter(|c| c.name() != "seq")
                .map(|c| {
                    let i = c.ordinal();
                    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                        format!("{}={v:?}", c.name())
                    } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                        format!("{}={v:?}", c.name())
                    } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                        format!("{}={v:?}", c.name())
                    } else {
                        let v = row.try_get::<Option<Vec<u8>>, _>(i).expect("a blob");
                        format!("{}={v:?}", c.name())
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    lines.sort();
    lines
}
