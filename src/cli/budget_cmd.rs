//! `globallm budget --show [--json]`: the current budget window — every cap with used /
//! limit, the spend by repository and by language, and the estimated cost in USD.

use crate::budget::Budget;
use crate::config::Sources;
use crate::db::Db;
use crate::llm::clock::SystemClock;
use anyhow::Context as _;
use std::sync::Arc;
use std::time::Duration;

/// `globallm budget …`
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("action").required(true).args(["show"]))]
pub struct BudgetArgs {
    /// Print the current window's caps, spend and cost
    #[arg(long)]
    show: bool,
    /// With --show: print JSON
    #[arg(long, requires = "show")]
    json: bool,
}

/// Runs `budget`.
pub async fn run(sources: &Sources, args: &BudgetArgs) -> anyhow::Result<()> {
    let config = Arc::new(sources.load()?.config);
    let db = Db::connect(
        &config.database_location()?,
        Duration::from_millis(config.storage.busy_timeout_ms),
        2,
    )
    .await?;
    let budget = Budget::new(db.clone(), config, Arc::new(SystemClock));
    let report = budget.report().await.context("reading the budget ledger");
    db.close().await;
    let report = report?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(())
}
