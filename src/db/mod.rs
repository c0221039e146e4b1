//! The database: opening it (an embedded SQLite file in WAL mode by default, or PostgreSQL
//! shared by several replicas), the migrations embedded for each backend and run at start, the
//! write lock, and one module per table holding every query on it.
//!
//! Both backends sit behind sqlx's `Any` driver, so callers hold a [`Pool`] or a [`Conn`] and
//! never see which. The SQL is written once, in the subset both speak: `$N` placeholders,
//! `ON CONFLICT`, `RETURNING`, integers for times and flags. Where they differ (claiming a job,
//! deleting in batches) the query asks [`Db::backend`] or [`backend_of`].

pub mod budget;
pub mod commands;
pub mod copy;
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
pub mod scratch;
pub mod triage;
pub mod wakeups;

use anyhow::Context as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Connection as _, Executor as _};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// A pool of connections to either backend.
pub type Pool = sqlx::AnyPool;
/// A connection to either backend.
pub type Conn = sqlx::AnyConnection;
/// The driver both backends are reached through.
pub type Driver = sqlx::Any;

/// The SQLite migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
/// The PostgreSQL migrations in `migrations/postgres/`: the same versions, the same schema.
pub static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The key of the PostgreSQL advisory lock every write transaction takes (`"GLOBALLM"`).
const WRITE_LOCK_KEY: i64 = 0x474c_4f42_414c_4c4d;

/// Which database GlobalLM stores its state in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (the default).
    Sqlite,
    /// A PostgreSQL server, possibly shared by several replicas.
    Postgres,
}

/// Where the database is: `storage.database_url`, or the SQLite file by default.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A `postgres://` URL (it may hold a password: shown only through [`Location::redacted`]).
    Postgres(String),
}

impl Location {
    /// Parses `sqlite://PATH`, `sqlite:PATH` or `postgres://…` (`postgresql://…`).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or_default();
            anyhow::ensure!(
                !path.is_empty(),
                "storage.database_url `{url}` names no SQLite file"
            );
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let parsed = url::Url::parse(url).map_err(|err| {
                anyhow::anyhow!("storage.database_url is not a valid PostgreSQL URL: {err}")
            })?;
            anyhow::ensure!(
                parsed.host_str().is_some() || parsed.query().is_some_and(|q| q.contains("host=")),
                "storage.database_url names no PostgreSQL host"
            );
            return Ok(Self::Postgres(url.to_owned()));
        }
        anyhow::bail!(
            "storage.database_url must start with sqlite:// or postgres:// (got `{}`)",
            redact_url(url)
        )
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The location with any password replaced by `***`, for messages and logs.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => redact_url(url),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `url` with its password (and a `password=` parameter) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<unparsable URL>".to_owned();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k.eq_ignore_ascii_case("password") {
                "***".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if !pairs.is_empty() {
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// A handle on the database, cheap to clone.
///
/// SQLite allows one writer at a time. Rather than let this process's writers find each other
/// through `busy_timeout` (which sleeps in steps of milliseconds), every write transaction here
/// first takes [`Db::write`]'s async lock, so writers queue in order and never sleep;
/// `busy_timeout` remains for other processes (the CLI) sharing the file. On PostgreSQL a write
/// transaction also takes one advisory lock, so transactions that read and then write stay
/// serial across replicas, as they are on SQLite; single statements (claiming a job, storing
/// deliveries) do not, and rely on row locks and unique keys.
#[derive(Debug, Clone)]
pub struct Db {
    pool: Pool,
    write_lock: Arc<Mutex<()>>,
    location: Location,
    busy_timeout: Duration,
}

/// A write transaction holding the write lock until it is committed or dropped.
#[derive(Debug)]
pub struct WriteTx {
    // Field order matters: the transaction rolls back before the lock is released.
    tx: sqlx::Transaction<'static, Driver>,
    _lock: OwnedMutexGuard<()>,
}

/// A pooled connection holding the process-wide write lock until dropped.
#[derive(Debug)]
pub struct WriteConn {
    conn: sqlx::pool::PoolConnection<Driver>,
    _lock: OwnedMutexGuard<()>,
}

impl WriteConn {
    /// The connection to run statements on.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl WriteTx {
    /// The connection to run statements on.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.tx
    }

    /// Commits the transaction.
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}

impl Backend {
    /// The column that names a row where a table has no single key, for deletes in batches:
    /// SQLite's `rowid`, PostgreSQL's `ctid`.
    pub(crate) fn row_id(self) -> &'static str {
        match self {
            Backend::Sqlite => "rowid",
            Backend::Postgres => "ctid",
        }
    }

    /// The column giving `discovery_windows` in the order they were added: SQLite's `rowid`,
    /// a `seq` identity column on PostgreSQL.
    pub(crate) fn window_order(self) -> &'static str {
        match self {
            Backend::Sqlite => "rowid",
            Backend::Postgres => "seq",
        }
    }
}

/// The backend a connection talks to.
pub fn backend_of(conn: &Conn) -> Backend {
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// The backend a pool's connections talk to.
pub fn backend_of_pool(pool: &Pool) -> Backend {
    match pool.connect_options().database_url.scheme() {
        "postgres" | "postgresql" => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

impl Db {
    /// Opens (creating when missing, mode 0600 in a 0700 directory) the SQLite database at
    /// `path` and applies pending migrations.
    pub async fn open(
        path: &Path,
        busy_timeout: Duration,
        max_connections: u32,
    ) -> anyhow::Result<Self> {
        Self::connect(
            &Location::Sqlite(path.to_owned()),
            busy_timeout,
            max_connections,
        )
        .await
    }

    /// Connects to the database at `location` and applies pending migrations (on PostgreSQL
    /// under the migrator's advisory lock, so replicas starting together migrate once).
    ///
    /// SQLite durability: connections use `synchronous = NORMAL`, under which a commit is in the
    /// WAL file (the OS has it) before it returns, so it survives the process being killed; the
    /// connection that stores webhook deliveries uses `FULL` (see [`Db::connect_durable`]).
    pub async fn connect(
        location: &Location,
        busy_timeout: Duration,
        max_connections: u32,
    ) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let db = match location {
            Location::Sqlite(path) => {
                Self::connect_sqlite(path, busy_timeout, max_connections).await?
            }
            Location::Postgres(url) => {
                let options = AnyConnectOptions::from_str(url)
                    .map_err(|err| anyhow::anyhow!("{}: {err}", redact_url(url)))?;
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .with_context(|| format!("cannot connect to {}", location.redacted()))?;
                Self {
                    pool,
                    write_lock: Arc::new(Mutex::new(())),
                    location: location.clone(),
                    busy_timeout,
                }
            }
        };
        db.migrator()
            .run(&db.pool)
            .await
            .with_context(|| format!("cannot migrate the database {}", location.redacted()))?;
        Ok(db)
    }

    async fn connect_sqlite(
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
        let location = Location::Sqlite(path.to_owned());
        let options = sqlite_options(path).map_err(|err| anyhow::anyhow!(err))?;
        let pragmas = sqlite_pragmas(busy_timeout, "NORMAL");
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(2))
            // A local file does not go stale; pinging it on every acquire would double the
            // round trips to SQLite's thread.
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                let pragmas = pragmas.clone();
                Box::pin(async move {
                    conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        Ok(Self {
            pool,
            write_lock: Arc::new(Mutex::new(())),
            location,
            busy_timeout,
        })
    }

    /// The migrations of this database's backend.
    pub fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend() {
            Backend::Sqlite => &MIGRATOR,
            Backend::Postgres => &PG_MIGRATOR,
        }
    }

    /// Where the database is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.location.backend()
    }

    /// The pool, for reads (and for writes through [`Db::write`]).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Starts a write transaction: on SQLite `BEGIN IMMEDIATE`, so it holds SQLite's write lock
    /// from the start and cannot fail later on a lock upgrade; on PostgreSQL `BEGIN` and the
    /// advisory write lock, held until the transaction ends.
    pub async fn write(&self) -> sqlx::Result<WriteTx> {
        let lock = self.write_lock.clone().lock_owned().await;
        let tx = match self.backend() {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
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

    /// A dedicated connection for storing webhook deliveries, which GitHub never sends again
    /// once they are acknowledged: on SQLite with `synchronous = FULL`, so each commit is
    /// fsynced (it survives a power cut, not only a crash); PostgreSQL's commits are durable
    /// as they are.
    pub async fn connect_durable(&self) -> sqlx::Result<Conn> {
        match &self.location {
            Location::Sqlite(path) => {
                let options = sqlite_options(path).map_err(sqlx::Error::Configuration)?;
                let mut conn = Conn::connect_with(&options).await?;
                conn.execute(sqlx::AssertSqlSafe(sqlite_pragmas(
                    self.busy_timeout,
                    "FULL",
                )))
                .await?;
                Ok(conn)
            }
            Location::Postgres(url) => Conn::connect(url).await,
        }
    }

    /// Copies what the WAL holds into the database file as far as readers allow, without
    /// blocking writers (a passive checkpoint), so the log stays small. Nothing on PostgreSQL.
    pub async fn checkpoint(&self) -> sqlx::Result<()> {
        if self.backend() == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Whether the database answers and every embedded migration has been applied.
    pub async fn readiness(&self) -> Result<(), String> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .map_err(|err| format!("database unreachable: {err}"))?;
        let missing: Vec<i64> = self
            .migrator()
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

/// A yes/no column. Both backends store flags as integers (SQLite has no boolean type, and
/// the PostgreSQL schema mirrors SQLite's), but a comparison (`EXISTS`, `x > 0`) gives a
/// boolean on PostgreSQL: this reads either. Fields read it with
/// `#[sqlx(try_from = "crate::db::Flag")]`; flags are bound as `i64::from(flag)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

impl sqlx::Type<Driver> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<Driver>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<Driver>>::compatible(ty) || <bool as sqlx::Type<Driver>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Driver> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        match <bool as sqlx::Decode<'r, Driver>>::decode(value.clone()) {
            Ok(flag) => Ok(Flag(flag)),
            Err(_) => Ok(Flag(<i64 as sqlx::Decode<'r, Driver>>::decode(value)? != 0)),
        }
    }
}

/// A nullable floating-point value to bind. sqlx 0.9's `Any` driver sends `None::<f64>` to
/// PostgreSQL as a 4-byte float, so a statement first prepared with a value would be reused
/// with the wrong parameter type ("incorrect binary data format"); this sends it as `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NullableReal(pub Option<f64>);

impl sqlx::Type<Driver> for NullableReal {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <f64 as sqlx::Type<Driver>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, Driver> for NullableReal {
    fn encode_by_ref(
        &self,
        buf: &mut <Driver as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self.0 {
            Some(value) => <f64 as sqlx::Encode<'q, Driver>>::encode(value, buf),
            // The driver swaps the two: a null of `f32`'s kind goes out as an 8-byte float.
            None => <Option<f32> as sqlx::Encode<'q, Driver>>::encode_by_ref(&None, buf),
        }
    }
}

/// A yes/no/unknown column: [`Flag`] or `NULL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalFlag(pub Option<bool>);

impl From<OptionalFlag> for Option<bool> {
    fn from(flag: OptionalFlag) -> Option<bool> {
        flag.0
    }
}

impl sqlx::Type<Driver> for OptionalFlag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <Flag as sqlx::Type<Driver>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <Flag as sqlx::Type<Driver>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Driver> for OptionalFlag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        if sqlx::ValueRef::is_null(&value) {
            return Ok(OptionalFlag(None));
        }
        Ok(OptionalFlag(Some(
            <Flag as sqlx::Decode<'r, Driver>>::decode(value)?.0,
        )))
    }
}

/// Stores a fieldless enum as the text its `as_str` gives, for either backend.
macro_rules! text_column {
    ($ty:ident, [$($variant:ident),+ $(,)?]) => {
        impl sqlx::Type<sqlx::Any> for $ty {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <str as sqlx::Type<sqlx::Any>>::type_info()
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, sqlx::Any>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $ty {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                [$($ty::$variant),+]
                    .into_iter()
                    .find(|v| v.as_str() == text)
                    .ok_or_else(|| format!("`{text}` is not a {}", stringify!($ty)).into())
            }
        }
    };
}
pub(crate) use text_column;

/// `sqlite://PATH?mode=rwc`, the path percent-encoded.
fn sqlite_options(
    path: &Path,
) -> Result<AnyConnectOptions, Box<dyn std::error::Error + Send + Sync>> {
    let raw = path.to_str().ok_or("the database path is not UTF-8")?;
    let mut encoded = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(byte as char)
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    Ok(AnyConnectOptions::from_str(&format!(
        "sqlite://{encoded}?mode=rwc"
    ))?)
}

/// The pragmas every SQLite connection runs first.
fn sqlite_pragmas(busy_timeout: Duration, synchronous: &str) -> String {
    // No commit copies the WAL into the database file: that would happen inside the write
    // lock, holding up every writer. `serve` checkpoints in the background (see `ingest`);
    // SQLite also checkpoints when the last connection closes.
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; PRAGMA wal_autocheckpoint = 0;",
        busy_timeout.as_millis()
    )
}

/// `rows` parenthesized groups of `columns` placeholders, numbered from `$1`, for a
/// multi-row `VALUES`.
pub(crate) fn values_rows(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ",(" });
        for column in 0..columns {
            if column > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", row * columns + column + 1));
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_names_its_backend_and_never_shows_its_password() {
        assert_eq!(
            Location::parse("sqlite:///var/lib/globallm/g.db").expect("sqlite"),
            Location::Sqlite(PathBuf::from("/var/lib/globallm/g.db"))
        );
        let pg = Location::parse("postgres://globallm:s3cret@db.internal:5432/globallm")
            .expect("postgres");
        assert_eq!(pg.backend(), Backend::Postgres);
        assert_eq!(
            pg.redacted(),
            "postgres://globallm:***@db.internal:5432/globallm"
        );
        assert!(!format!("{pg:?}").contains("s3cret"));
        assert!(!redact_url("postgres://db.internal/g?user=a&password=s3cret").contains("s3cret"));
        let wrong = Location::parse("mysql://root:s3cret@db/g").expect_err("refused");
        assert!(
            wrong.to_string().contains("sqlite:// or postgres://"),
            "{wrong}"
        );
        assert!(!wrong.to_string().contains("s3cret"), "{wrong}");
        assert!(Location::parse("sqlite://").is_err());
    }

    #[test]
    fn multi_row_values_number_their_placeholders_in_order() {
        assert_eq!(values_rows(2, 3), "($1,$2,$3),($4,$5,$6)");
    }
}
