//! The command line: every subcommand, its flags, and the logging set-up.

mod analyze_cmd;
pub(crate) mod analyze_repo;
mod app_cmd;
mod budget_cmd;
mod classifier_cmd;
mod config_cmd;
mod db_cmd;
mod discover_cmd;
pub use discover_cmd::discovery_auth;
mod fix_cmd;
mod jobs_cmd;
mod localize_cmd;
mod redundancy_cmd;
mod replay;
pub mod report_cmd;
pub mod serve;
mod status_cmd;
pub mod triage_cmd;

use crate::config::{LogFormat, LoggingConfig, Overrides, Sources};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// GlobalLM: a GitHub App that triages issues, drafts fixes with LLMs and merges them under a
/// risk policy.
#[derive(Debug, Parser)]
#[command(name = "globallm", version, about, propagate_version = true)]
pub struct Cli {
    /// The config file [default: $XDG_CONFIG_HOME/globallm/config.yaml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The data directory, holding the database [default: $XDG_DATA_HOME/globallm]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log output format
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: webhook server, job workers and config hot reload
    Serve {
        /// Address to listen on [default: 127.0.0.1:3000]
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Manage the GitHub App registered from `/` (`app reset` forgets it)
    App {
        /// What to do
        #[command(subcommand)]
        command: app_cmd::AppCommand,
    },
    /// Inspect and requeue background jobs
    Jobs {
        /// Which jobs
        #[command(subcommand)]
        command: jobs_cmd::JobsCommand,
    },
    /// Migrate the database, or copy an installation from one database to another
    Db {
        /// What to do
        #[command(subcommand)]
        command: db_cmd::DbCommand,
    },
    /// Show or change the configuration
    Config(config_cmd::ConfigArgs),
    /// Sign a payload file and send it as GitHub would
    Replay(replay::ReplayArgs),
    /// Fetch, categorize, score and rank a repository's open issues
    Issues(triage_cmd::IssuesArgs),
    /// Report on any public repository: health, impact, ranked issues, which look fixable
    /// (read-only when the App is not installed there)
    Report(report_cmd::ReportArgs),
    /// Rank the stored issues of every repository (or one language) by priority
    Prioritize(triage_cmd::PrioritizeArgs),
    /// What GlobalLM spends and achieves: budget, repositories, queue, recent events
    Status(status_cmd::StatusArgs),
    /// Train, cross-validate and try the offline issue classifier
    Classifier {
        /// What to do with it
        #[command(subcommand)]
        command: classifier_cmd::ClassifierCommand,
    },
    /// Show the LLM budget: caps, spend by repository and language, cost
    Budget(budget_cmd::BudgetArgs),
    /// Rank the files of a local repository most likely to need the fix for an issue
    Localize(localize_cmd::LocalizeArgs),
    /// Draft the fix of one issue (`--dry-run`: show it, push nothing)
    Fix(fix_cmd::FixArgs),
    /// Graph metrics of an edge list, or what discovery knows of a repository
    Analyze(analyze_cmd::AnalyzeArgs),
    /// Find the repositories that matter (GitHub search, filter, health), resumably
    Discover(discover_cmd::DiscoverArgs),
    /// Clusters of projects that do the same thing, and which to archive
    Redundancy(redundancy_cmd::RedundancyArgs),
}

/// Parses the command line, runs the command, and turns an error into a message and exit code 1.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<()> {
    let listen = match &cli.command {
        Command::Serve { listen } => *listen,
        _ => None,
    };
    let sources = Sources::from_process(
        cli.config.clone(),
        Overrides {
            listen,
            data_dir: cli.data_dir.clone(),
            log_format: cli.log_format,
        },
    );
    match cli.command {
        Command::Serve { .. } => serve::serve(sources).await,
        Command::Jobs { command } => {
            init_logging(&quiet_logging(&sources), None);
            jobs_cmd::run(&sources, command).await
        }
        Command::Db { command } => {
            init_logging(&quiet_logging(&sources), None);
            db_cmd::run(&sources, &command).await
        }
        Command::Config(args) => config_cmd::run(&sources, &args),
        Command::App { command } => app_cmd::run(&sources, &command),
        Command::Classifier { command } => classifier_cmd::run(command),
        Command::Localize(args) => localize_cmd::run(&args),
        Command::Analyze(args) => {
            if args.is_repo() {
                init_logging(&quiet_logging(&sources), None);
            }
            analyze_cmd::run(&sources, &args).await
        }
        Command::Budget(args) => {
            init_logging(&quiet_logging(&sources), None);
            budget_cmd::run(&sources, &args).await
        }
        Command::Replay(args) => {
            init_logging(&quiet_logging(&sources), None);
            replay::run(&sources, &args).await
        }
        Command::Issues(args) => {
            init_logging(&quiet_logging(&sources), None);
            triage_cmd::issues(&sources, &args).await
        }
        Command::Report(args) => {
            init_logging(&quiet_logging(&sources), None);
            report_cmd::run(&sources, &args).await
        }
        Command::Prioritize(args) => {
            init_logging(&quiet_logging(&sources), None);
            triage_cmd::prioritize(&sources, &args).await
        }
        Command::Discover(args) => {
            init_logging(&quiet_logging(&sources), None);
            discover_cmd::run(&sources, &args).await
        }
        Command::Redundancy(args) => {
            init_logging(&quiet_logging(&sources), None);
            redundancy_cmd::run(&sources, &args).await
        }
        Command::Status(args) => {
            init_logging(&quiet_logging(&sources), None);
            status_cmd::run(&sources, &args).await
        }
        Command::Fix(args) => {
            init_logging(&quiet_logging(&sources), None);
            fix_cmd::run(&sources, &args).await
        }
    }
}

/// The context one-shot commands share with the service: the configuration (no hot reload)
/// and the database.
async fn context(sources: &Sources) -> anyhow::Result<std::sync::Arc<crate::context::Context>> {
    let config = sources.load()?.config;
    let db = crate::db::Db::connect(
        &config.database_location()?,
        std::time::Duration::from_millis(config.storage.busy_timeout_ms),
        4,
    )
    .await?;
    let (_reloader, config) = crate::config::watch::Reloader::new(sources.clone(), config);
    Ok(std::sync::Arc::new(crate::context::Context::new(
        db, config,
    )))
}

/// Logging for one-shot commands: warnings and errors only, unless `RUST_LOG` says otherwise.
fn quiet_logging(sources: &Sources) -> LoggingConfig {
    LoggingConfig {
        format: sources.overrides.log_format.unwrap_or(LogFormat::Pretty),
        filter: "warn".to_owned(),
    }
}

/// Sends tracing output to stderr in the configured format. `rust_log` (the `RUST_LOG`
/// variable) wins over the configured filter.
pub fn init_logging(config: &LoggingConfig, rust_log: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let directive = rust_log.unwrap_or(&config.filter);
    let filter = EnvFilter::try_new(directive).unwrap_or_else(|err| {
        eprintln!("warning: ignoring the log filter `{directive}`: {err}");
        EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let result = match config.format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    // Already initialized (tests start several services in one process): keep the first.
    drop(result);
}
