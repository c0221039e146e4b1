//! `globallm db copy`: moves an installation's whole state from one database to another (in
//! practice from the embedded SQLite file to PostgreSQL), table by table in one transaction on
//! the destination, then checks that every table holds as many rows as the source's.
//!
//! The destination must be migrated to the same version and empty, so a copy is never applied
//! twice or over live data; the source is only read.

use super::{Backend, Conn, Db, Driver, NullableReal};
use anyhow::Context as _;
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{Column as _, Row as _, TypeInfo as _};

/// Every table, parents before the tables that refer to them (the order the migrations create
/// them in). A test checks it against the schema, so a new table cannot be left behind.
pub const TABLES: &[&str] = &[
    "deliveries",
    "jobs",
    "job_dedup_keys",
    "installations",
    "repositories",
    "budget_reservations",
    "budget_usage",
    "budget_ledger",
    "redelivery_requests",
    "repo_signals",
    "triaged_issues",
    "command_runs",
    "fix_prs",
    "discovery_runs",
    "discovery_windows",
    "discovered_repos",
    "packages",
    "package_edges",
    "repo_snapshots",
    "redundancy_members",
    "repo_texts",
    "discovery_dependents_lists",
    "discovery_candidates",
    "readme_embeddings",
    "command_rate",
    "merge_watches",
    "candidate_reports",
    "merge_waits",
];

/// PostgreSQL identity columns: after the copy each sequence continues past the largest value.
const IDENTITIES: &[(&str, &str)] = &[
    ("deliveries", "id"),
    ("jobs", "id"),
    ("budget_reservations", "id"),
    ("budget_ledger", "id"),
    ("fix_prs", "id"),
    ("discovery_runs", "id"),
    ("discovery_windows", "seq"),
];

/// Rows per `INSERT`: well under both backends' limit of bound parameters.
const BATCH_ROWS: usize = 200;

/// What a copy moved: rows per table, in [`TABLES`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// `(table, rows)`.
    pub tables: Vec<(&'static str, i64)>,
}

/// Copies every row of `from` into `to`. `to` must be empty and at the same migration.
pub async fn copy(from: &Db, to: &Db) -> anyhow::Result<Copied> {
    from.readiness()
        .await
        .map_err(|err| anyhow::anyhow!("the source is not ready: {err}"))?;
    let (source_version, target_version) = (latest(from).await?, latest(to).await?);
    anyhow::ensure!(
        source_version == target_version,
        "the source is at migration {source_version} and the destination at \
         {target_version}: run the same globallm on both"
    );
    for table in TABLES {
        let rows = count(to.pool(), table).await?;
        anyhow::ensure!(
            rows == 0,
            "the destination is not empty ({table} holds {rows} rows): copy into a new database"
        );
    }
    let mut tx = to.write().await?;
    let mut copied = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let rows = copy_table(from, tx.conn(), table)
            .await
            .with_context(|| format!("copying {table}"))?;
        copied.push((*table, rows));
    }
    if to.backend() == Backend::Postgres {
        for (table, column) in IDENTITIES {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                               coalesce(max({column}), 0) + 1, false) FROM {table}"
            )))
            .execute(&mut *tx.conn())
            .await
            .with_context(|| format!("advancing the {table}.{column} sequence"))?;
        }
    }
    tx.commit().await?;
    for (table, rows) in &copied {
        let there = count(to.pool(), table).await?;
        anyhow::ensure!(
            there == *rows,
            "{table}: {rows} rows read but {there} in the destination"
        );
    }
    Ok(Copied { tables: copied })
}

async fn latest(db: &Db) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(db.pool())
            .await?,
    )
}

async fn count(pool: &super::Pool, table: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(pool)
            .await?,
    )
}

/// Copies one table in batches; returns the rows copied.
async fn copy_table(from: &Db, to: &mut Conn, table: &str) -> anyhow::Result<i64> {
    // `discovery_windows` are read in the order they were added (SQLite's rowid, PostgreSQL's
    // `seq`), which the destination's own numbering then keeps; other tables have keys.
    let order = match (table, from.backend()) {
        ("discovery_windows", backend) => format!(" ORDER BY {}", backend.window_order()),
        _ => String::new(),
    };
    let rows: Vec<AnyRow> =
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}{order}")))
            .fetch_all(from.pool())
            .await?;
    let Some(first) = rows.first() else {
        return Ok(0);
    };
    let columns: Vec<(usize, String)> = first
        .columns()
        .iter()
        .filter(|c| c.name() != "seq")
        .map(|c| (c.ordinal(), c.name().to_owned()))
        .collect();
    let names = columns
        .iter()
        .map(|(_, name)| name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    for batch in rows.chunks(BATCH_ROWS) {
        let sql = format!(
            "INSERT INTO {table} ({names}) VALUES {}",
            super::values_rows(batch.len(), columns.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in batch {
            for (ordinal, name) in &columns {
                query = bind_value(query, row, *ordinal)
                    .with_context(|| format!("reading {table}.{name}"))?;
            }
        }
        query.execute(&mut *to).await?;
    }
    Ok(rows.len() as i64)
}

type Query<'q> = sqlx::query::Query<'q, Driver, sqlx::any::AnyArguments>;

/// Binds column `ordinal` of `row` with the type the source declared for it.
fn bind_value<'q>(query: Query<'q>, row: &AnyRow, ordinal: usize) -> anyhow::Result<Query<'q>> {
    let kind = row.columns()[ordinal].type_info().kind();
    Ok(match kind {
        AnyTypeInfoKind::Bool => query.bind(
            row.try_get::<Option<super::Flag>, _>(ordinal)?
                .map(|flag| i64::from(flag.0)),
        ),
        AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
            query.bind(row.try_get::<Option<i64>, _>(ordinal)?)
        }
        AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => {
            query.bind(NullableReal(row.try_get::<Option<f64>, _>(ordinal)?))
        }
        AnyTypeInfoKind::Text => query.bind(row.try_get::<Option<String>, _>(ordinal)?),
        AnyTypeInfoKind::Blob => query.bind(row.try_get::<Option<Vec<u8>>, _>(ordinal)?),
        AnyTypeInfoKind::Null => anyhow::bail!(
            "column {} has no declared type",
            row.columns()[ordinal].type_info().name()
        ),
    })
}
