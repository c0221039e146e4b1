//! `globallm db migrate|copy`: applies the migrations to the configured database, and moves an
//! installation's state from one database to another.

use crate::config::Sources;
use crate::db::{Db, Location};
use clap::Subcommand;
use std::time::Duration;

/// `globallm db …`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the configured database (`storage.database_url`, else the SQLite file) when
    /// missing and apply every pending migration (`serve` does this at start too)
    Migrate,
    /// Copy every row of one database into another, new one (migrated here first), then check
    /// that each table holds as many rows as the source; stop `serve` on the source first
    Copy {
        /// The database to read: `sqlite://PATH` or `postgres://…`
        #[arg(long, value_name = "URL")]
        from: String,
        /// The database to fill, which must be empty: `sqlite://PATH` or `postgres://…`
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

/// Runs a `db` subcommand.
pub async fn run(sources: &Sources, command: &DbCommand) -> anyhow::Result<()> {
    let config = sources.load()?.config;
    let busy = Duration::from_millis(config.storage.busy_timeout_ms);
    match command {
        DbCommand::Migrate => {
            let location = config.database_location()?;
            let db = Db::connect(&location, busy, 2).await?;
            let applied = db.migrator().iter().count();
            println!(
                "{}: migrated ({applied} migrations applied)",
                location.redacted()
            );
            db.close().await;
        }
        DbCommand::Copy { from, to } => {
            let (from, to) = (Location::parse(from)?, Location::parse(to)?);
            anyhow::ensure!(from != to, "--from and --to name the same database");
            if let Location::Sqlite(path) = &from {
                anyhow::ensure!(path.exists(), "{} does not exist", path.display());
            }
            let source = Db::connect(&from, busy, 2).await?;
            let target = Db::connect(&to, busy, 2).await?;
            let copied = crate::db::copy::copy(&source, &target).await?;
            let total: i64 = copied.tables.iter().map(|(_, rows)| rows).sum();
            for (table, rows) in copied.tables.iter().filter(|(_, rows)| *rows > 0) {
                println!("{table:<28} {rows:>9}");
            }
            println!(
                "copied {total} rows from {} to {}; every table holds as many rows as the source",
                from.redacted(),
                to.redacted()
            );
            source.close().await;
            target.close().await;
        }
    }
    Ok(())
}
