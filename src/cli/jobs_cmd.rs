//! `globallm jobs list|show|retry|dead`: inspect the job queue and requeue jobs.

use crate::config::Sources;
use crate::db::{self, Db};
use crate::time::{format_ms, now_ms};
use anyhow::Context as _;
use clap::Subcommand;
use std::time::Duration;

/// `globallm jobs …`
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Jobs waiting or running, oldest first
    List {
        /// At most this many
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// One job, with its payload and last error
    Show {
        /// The job's id
        id: i64,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Put a dead (or waiting) job back in the queue to run now, attempts reset
    Retry {
        /// The job's id
        id: i64,
    },
    /// Dead-lettered jobs, with their last error
    Dead {
        /// At most this many
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `jobs` subcommand against the configured database.
pub async fn run(sources: &Sources, command: JobsCommand) -> anyhow::Result<()> {
    let config = sources.load()?.config;
    let db = Db::connect(
        &config.database_location()?,
        Duration::from_millis(config.storage.busy_timeout_ms),
        2,
    )
    .await?;
    let result = match command {
        JobsCommand::List { limit, json } => print_list(&db, false, limit, json).await,
        JobsCommand::Dead { limit, json } => print_list(&db, true, limit, json).await,
        JobsCommand::Show { id, json } => show(&db, id, json).await,
        JobsCommand::Retry { id } => retry(&db, id).await,
    };
    db.close().await;
    result
}

async fn print_list(db: &Db, dead: bool, limit: u32, json: bool) -> anyhow::Result<()> {
    let jobs = db::jobs::list(db.pool(), dead, limit)
        .await
        .context("listing jobs")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&jobs)?);
        return Ok(());
    }
    if jobs.is_empty() {
        println!(
            "{}",
            if dead {
                "No dead jobs."
            } else {
                "The queue is empty."
            }
        );
        return Ok(());
    }
    let now = now_ms();
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["id", "kind", "status", "attempts", "next run", "last error"]);
    for job in &jobs {
        table.add_row([
            job.id.to_string(),
            job.kind.clone(),
            job.status(now).to_owned(),
            format!("{}/{}", job.attempts, job.max_attempts),
            format_ms(job.run_at),
            job.last_error
                .as_deref()
                .map(first_line)
                .unwrap_or_default(),
        ]);
    }
    println!("{table}");
    Ok(())
}

async fn show(db: &Db, id: i64, json: bool) -> anyhow::Result<()> {
    let job = db::jobs::get(db.pool(), id)
        .await
        .context("reading the job")?
        .with_context(|| format!("there is no job {id} (finished jobs are deleted)"))?;
    let delivery = match job.delivery_id {
        Some(delivery) => db::deliveries::get(db.pool(), delivery).await?,
        None => None,
    };
    if json {
        let value = serde_json::json!({ "job": job, "delivery": delivery });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let now = now_ms();
    println!("job {}  {}  ({})", job.id, job.kind, job.status(now));
    println!("attempts   {}/{}", job.attempts, job.max_attempts);
    println!("created    {}", format_ms(job.created_at));
    println!("next run   {}", format_ms(job.run_at));
    if let (Some(until), Some(worker)) = (job.lease_until, &job.leased_by) {
        println!("leased     to {worker} until {}", format_ms(until));
    }
    println!("payload    {}", job.payload);
    if let Some(delivery) = delivery {
        println!(
            "delivery   {} ({}{}) received {}, {}",
            delivery.delivery_guid,
            delivery.event,
            delivery.action.map(|a| format!(".{a}")).unwrap_or_default(),
            format_ms(delivery.received_at),
            delivery.outcome,
        );
    }
    if let Some(error) = &job.last_error {
        println!("last error\n{error}");
    }
    Ok(())
}

async fn retry(db: &Db, id: i64) -> anyhow::Result<()> {
    let mut tx = db.write().await?;
    let requeued = db::jobs::requeue(tx.conn(), id, now_ms()).await?;
    tx.commit().await?;
    if !requeued {
        anyhow::bail!("job {id} does not exist or is running right now");
    }
    println!("Job {id} requeued; a running `globallm serve` picks it up within its poll interval.");
    Ok(())
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(79).collect::<String>())
    } else {
        line.to_owned()
    }
}
