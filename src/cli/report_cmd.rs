//! `globallm report --repo owner/name [--format md|json] [--out FILE]`: reads any public
//! repository (read-only when the App is not installed there), scores its open issues and
//! writes the report a maintainer reads — health and impact with every signal, the ranked
//! issues with their terms, which look fixable and why.

use crate::config::Sources;
use crate::context::Context;
use crate::github::ids::RepoName;
use crate::report::{access, fetch, render};
use anyhow::Context as _;
use std::path::{Path, PathBuf};

/// `globallm report …`
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The repository, owner/name
    #[arg(long)]
    repo: RepoName,
    /// The report's format
    #[arg(long, value_enum, default_value_t = Format::Md)]
    format: Format,
    /// Write the report to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// How many open issues to fetch (oldest first)
    #[arg(long, default_value_t = 50)]
    max_issues: usize,
    /// A local checkout of the repository: the localizer then measures each issue's scope
    /// (files, code size, public symbols) for solvability
    #[arg(long, value_name = "DIR")]
    checkout: Option<PathBuf>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown, for people
    Md,
    /// JSON, for programs
    Json,
}

/// Resolves who reads `repo` (saying on stderr when it is anonymous), then reads and scores
/// it with a progress bar: what `issues` and `report` share.
pub async fn read_and_score(
    ctx: &Context,
    repo: &RepoName,
    max_issues: usize,
    checkout: Option<&Path>,
) -> anyhow::Result<fetch::Scored> {
    if let Some(dir) = checkout
        && !dir.is_dir()
    {
        anyhow::bail!("--checkout {}: not a directory", dir.display());
    }
    let access = access::resolve(ctx, repo).await?;
    if let Some(note) = access.anonymous_note() {
        eprintln!("{note}");
    }
    let bar = super::triage_cmd::progress(max_issues as u64, "scoring");
    let options = fetch::Options {
        max_issues,
        checkout,
    };
    let scored = fetch::score_repository(ctx, &access, repo, options, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await;
    bar.finish_and_clear();
    scored
}

/// The report of `repo` in `format`.
pub async fn build(
    ctx: &Context,
    repo: &RepoName,
    format: Format,
    max_issues: usize,
    checkout: Option<&Path>,
) -> anyhow::Result<String> {
    let scored = read_and_score(ctx, repo, max_issues, checkout).await?;
    let config = ctx.config();
    Ok(match format {
        Format::Md => render::markdown(&scored, &config),
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&render::to_json(&scored, &config))?
        ),
    })
}

/// Runs `report`.
pub async fn run(sources: &Sources, args: &ReportArgs) -> anyhow::Result<()> {
    let ctx = super::context(sources).await?;
    let report = build(
        &ctx,
        &args.repo,
        args.format,
        args.max_issues,
        args.checkout.as_deref(),
    )
    .await?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, &report)
                .with_context(|| format!("writing the report to {}", path.display()))?;
            eprintln!("report written to {}", path.display());
        }
        None => print!("{report}"),
    }
    Ok(())
}
