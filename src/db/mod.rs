//! The database: opening it (SQLite in WAL mode, migrations embedded and run at start), the
//! write lock, and one module per table holding every query on it. Nothing outside `db/`
//! writes SQL, so another backend (PostgreSQL) can be added here without touching callers.

pub mod budget;
pub mod commands;
pub mod deliveries;
pub mod discovery;
pub mod fixes;
pub mod ingest;
pub mod installations;
pub mod jobs;
pub mod merge_waits;
pub mod outcomes;
pub mod redeliveries;
pub mod reports;
pub mod retention;
pub mod triage;

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection as _, SqliteConnection, SqlitePool};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A handle on the database, cheap to clone.
///
/// SQLite allows one writer at a time. Rather than let this process's writers find each other
/// through `busy_timeout` (which sleeps in steps of milliseconds), every write transaction here
/// first takes [`Db::write`]'s async lock, so writers queue in order and never sleep;
/// `busy_timeout` remains for other processes (the CLI) sharing the file.
#[derive(Debug, Clone)]
pub struct Db {
    pool: SqlitePool,
    write_lock: Arc<Mutex<()>>,
    options: SqliteConnectOptions,
    path: PathBuf,
}

/// A write transaction holding the process-wide write lock until it is committed or dropped.
#[derive(Debug)]
pub struct WriteTx {
    // Field order matters: the transaction rolls back before the lock is released.
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _lock: OwnedMutexGuard<()>,
}

/// A pooled connection holding the process-wide write lock until dropped.
#[derive(Debug)]
pub struct WriteConn {
    conn: sqlx::pool::PoolConnection<sqlx::Sqlite>,
    _lock: OwnedMutexGuard<()>,
}

impl WriteConn {
    /// The connection to run statements on.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

impl WriteTx {
    /// The connection to run statements on.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }

    /// Commits the transaction.
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}

impl Db {
    /// Opens (creating when missing, mode 0600 in a 0700 directory) the database at `path`
    /// and applies pending migrations.
    ///
    /// Durability: connections use `synchronous = NORMAL`, under which a commit is in the WAL
    /// file (the OS has it) before it returns, so it survives the process being killed; the
    /// connection that stores webhook deliveries uses `FULL` (see [`Db::connect_durable`]).
    pub async fn open(
        path: &Path,
        busy_timeout: Duration,
        max_connections: u32,
    ) -> anyhow::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::private_fs::create_private_dir(parent).with_context(|| {
                format!("cannot create the data directory {}", parent.display())
            })?;
        }
        // Created here, 0600 and not through a symlink, before SQLite opens it: SQLite would
        // create it with the umask's permissions, and gives its WAL the database's.
        crate::private_fs::ensure_private_file(path)
            .with_context(|| format!("cannot create the database {}", path.display()))?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(busy_timeout)
            // No commit copies the WAL into the database file: that would happen inside the
            // write lock, holding up every writer. `serve` checkpoints in the background
            // (see `ingest`); SQLite also checkpoints when the last connection closes.
            .pragma("wal_autocheckpoint", "0");
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(2))
            // A local file does not go stale; pinging it on every acquire would double the
            // round trips to SQLite's thread.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        MIGRATOR
            .run(&pool)
            .await
            .with_context(|| format!("cannot migrate the database {}", path.display()))?;
        Ok(Self {
            pool,
            write_lock: Arc::new(Mutex::new(())),
            options,
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pool, for reads (and for writes through [`Db::write`]).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`, so it holds SQLite's write lock from the
    /// start and cannot fail later on a lock upgrade).
    pub async fn write(&self) -> sqlx::Result<WriteTx> {
        let lock = self.write_lock.clone().lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { tx, _lock: lock })
    }

    /// A connection holding the write lock, for writes that are one statement each (atomic on
    /// their own, so they need no `BEGIN`/`COMMIT` round trips).
    pub async fn write_conn(&self) -> sqlx::Result<WriteConn> {
        let lock = self.write_lock.clone().lock_owned().await;
        let conn = self.pool.acquire().await?;
        Ok(WriteConn { conn, _lock: lock })
    }

    /// Takes the write lock, for a connection of this database outside the pool (from
    /// [`Db::connect_durable`]). Writers queue for it in order.
    pub async fn lock_writes(&self) -> OwnedMutexGuard<()> {
        self.write_lock.clone().lock_owned().await
    }

    /// A dedicated connection with `synchronous = FULL`: each commit is fsynced (it survives a
    /// power cut, not only a crash). Used for storing webhook deliveries, which GitHub never
    /// sends again once they are acknowledged.
    pub async fn connect_durable(&self) -> sqlx::Result<SqliteConnection> {
        let options = self.options.clone().synchronous(SqliteSynchronous::Full);
        SqliteConnection::connect_with(&options).await
    }

    /// Copies what the WAL holds into the database file as far as readers allow, without
    /// blocking writers (a passive checkpoint), so the log stays small.
    pub async fn checkpoint(&self) -> sqlx::Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether the database answers and every embedded migration has been applied.
    pub async fn readiness(&self) -> Result<(), String> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1")
                .fetch_all(&self.pool)
                .await
                .map_err(|err| format!("database unreachable: {err}"))?;
        let missing: Vec<i64> = MIGRATOR
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("migrations not applied: {missing:?}"))
        }
    }

    /// Closes every connection, waiting for them to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
