//! Scratch databases for tests and benchmarks (the integration tests cannot reach the
//! `testing` module, so this lives here). `.ci/run` (through `scripts/test-postgres.sh`)
//! starts a throwaway cluster and sets `GLOBALLM_TEST_DATABASE_URL` to its maintenance
//! database; each test then gets a database of its own, so tests run in parallel as they do on
//! SQLite files. Without the variable the tests run on SQLite, and the tests that need
//! PostgreSQL itself say they skipped.

use sqlx::Connection as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// The variable naming the server's maintenance database (`postgres://USER@HOST:PORT/postgres`).
pub const ENV: &str = "GLOBALLM_TEST_DATABASE_URL";

/// The server's URL, when the tests run on PostgreSQL.
pub fn server_url() -> Option<String> {
    std::env::var(ENV).ok().filter(|url| !url.is_empty())
}

/// Creates an empty database on the test server and returns its URL; `None` when the tests
/// run on SQLite.
pub async fn fresh_database() -> Option<String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let server = server_url()?;
    let name = format!(
        "t{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        crate::time::now_ms()
    );
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&server)
        .await
        .unwrap_or_else(|err| panic!("{ENV} is set but the server does not answer: {err}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("the test database is created");
    let _ = conn.close().await;
    let mut url = url::Url::parse(&server).expect("a PostgreSQL URL");
    url.set_path(&name);
    Some(url.to_string())
}

/// The database a test runs on: a fresh PostgreSQL database when [`ENV`] names a server, else
/// the SQLite file `dir/name.db`.
pub async fn location(dir: &std::path::Path, name: &str) -> super::Location {
    match fresh_database().await {
        Some(url) => super::Location::Postgres(url),
        None => super::Location::Sqlite(dir.join(format!("{name}.db"))),
    }
}

/// Set by `.ci/run` for its first pass, on SQLite: the tests that need PostgreSQL run in its
/// second pass (`scripts/test-postgres.sh`), so they may skip in the first.
pub const LATER_ENV: &str = "GLOBALLM_TEST_POSTGRES_LATER";

/// Whether the tests run on PostgreSQL; when they do not, says that `what` is skipped. On CI
/// a skip is a failure, unless [`LATER_ENV`] says a PostgreSQL pass follows.
pub fn available_or_skip(what: &str) -> bool {
    if server_url().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none() || std::env::var_os(LATER_ENV).is_some(),
        "{ENV} is not set on CI: `{what}` must run on PostgreSQL there"
    );
    eprintln!("skipped `{what}`: set {ENV} (scripts/test-postgres.sh does) to run it");
    false
}
