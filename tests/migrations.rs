//! Migrations: applied at start to an empty database and to one holding data from any
//! earlier schema version, without losing that data.

use globallm::db::{Db, MIGRATOR};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::time::Duration;

async fn tables(db: &Db) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .fetch_all(db.pool())
        .await
        .expect("sqlite_master")
}

#[tokio::test]
async fn an_empty_database_is_created_and_fully_migrated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested/dir/globallm.db");
    let db = Db::open(&path, Duration::from_secs(5), 2)
        .await
        .expect("opens");
    assert!(path.exists(), "the file and its directories are created");
    assert_eq!(db.readiness().await, Ok(()));
    let tables = tables(&db).await;
    for table in [
        "deliveries",
        "jobs",
        "job_dedup_keys",
        "installations",
        "repositories",
    ] {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing from {tables:?}"
        );
    }
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(db.pool())
        .await
        .expect("pragma");
    assert_eq!(journal, "wal");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(db.pool())
        .await
        .expect("pragma");
    assert_eq!(foreign_keys, 1);
}

#[tokio::test]
async fn a_populated_database_from_every_earlier_version_migrates_keeping_its_data() {
    for migration in MIGRATOR.iter() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("old.db");
        {
            // A database left by a GlobalLM whose schema stopped at this version.
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true);
            let pool = SqlitePoolOptions::new()
                .connect_with(options)
                .await
                .expect("opens");
            MIGRATOR
                .run_to(migration.version, &pool)
                .await
                .expect("older migrations apply");
            for seed in [
                "INSERT INTO deliveries (delivery_guid, event, headers, body, received_at, outcome)
                 VALUES ('guid-1', 'issues', '{}', x'7b7d', 1, 'processed')",
                "INSERT INTO installations (id, account_login, account_type, created_at, updated_at)
                 VALUES (5151, 'acme', 'Organization', 1, 1)",
                "INSERT INTO repositories (id, full_name, installation_id, created_at, updated_at)
                 VALUES (4242, 'acme/widgets', 5151, 1, 1)",
                "INSERT INTO jobs (kind, payload, max_attempts, run_at, created_at, updated_at)
                 VALUES ('process_delivery', '{}', 8, 1, 1, 1)",
            ] {
                sqlx::query(seed).execute(&pool).await.expect("seed row");
            }
            pool.close().await;
        }
        let db = Db::open(&path, Duration::from_secs(5), 2)
            .await
            .expect("migrates");
        assert_eq!(
            db.readiness().await,
            Ok(()),
            "after version {}",
            migration.version
        );
        let kept: (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM deliveries WHERE delivery_guid = 'guid-1'),
                    (SELECT count(*) FROM installations WHERE id = 5151),
                    (SELECT count(*) FROM repositories WHERE full_name = 'acme/widgets'),
                    (SELECT count(*) FROM jobs)",
        )
        .fetch_one(db.pool())
        .await
        .expect("query");
        assert_eq!(
            kept,
            (1, 1, 1, 1),
            "data from version {} kept",
            migration.version
        );
        db.close().await;
        // Opening again applies nothing and changes nothing.
        let db = Db::open(&path, Duration::from_secs(5), 2)
            .await
            .expect("reopens");
        assert_eq!(db.readiness().await, Ok(()));
    }
}
