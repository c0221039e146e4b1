//! `globallm localize`: rank the files of a local repository for an issue, as the fix flow does
//! before asking the LLM — to see why a file was chosen, and to measure recall.

use crate::solution::localize::{self, CacheUse, History, IndexCache, IssueText, Limits, Report};
use anyhow::Context as _;
use clap::Args;
use std::fmt::Write as _;
use std::path::PathBuf;

/// `globallm localize` flags.
#[derive(Debug, Args)]
pub struct LocalizeArgs {
    /// The repository's work tree
    #[arg(long, value_name = "DIR")]
    pub repo_path: PathBuf,
    /// The issue: JSON `{"title": …, "body": …}` when it ends in `.json`, otherwise the first
    /// line is the title and the rest the body
    #[arg(long, value_name = "FILE")]
    pub issue_file: PathBuf,
    /// How many files to show
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub top: usize,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Keep the tree's index in DIR, keyed by the content of the tree, so a second issue in
    /// the same tree does not parse its files again
    #[arg(long, value_name = "DIR")]
    pub index_cache: Option<PathBuf>,
    /// With --json: each candidate's score terms (to measure and fit the ranker)
    #[arg(long)]
    pub features: bool,
    /// Read the commits citing the issues the issue cites (`#8164`) from this git directory
    /// rather than the work tree's own `.git` (a tree exported without its history)
    #[arg(long, value_name = "DIR")]
    pub git_dir: Option<PathBuf>,
    /// With --git-dir: the commit the tree is at (default HEAD)
    #[arg(long, value_name = "REV", requires = "git_dir")]
    pub rev: Option<String>,
}

/// Runs the command.
pub fn run(args: &LocalizeArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.issue_file)
        .with_context(|| format!("reading the issue file {}", args.issue_file.display()))?;
    let name = args.issue_file.to_string_lossy();
    let issue = IssueText::from_file_text(&name, &text)?;
    if !args.repo_path.is_dir() {
        anyhow::bail!("{} is not a directory", args.repo_path.display());
    }
    let cache = args.index_cache.as_ref().map(IndexCache::new);
    let history = match &args.git_dir {
        Some(dir) => {
            if !dir.is_dir() {
                anyhow::bail!("--git-dir {} is not a directory", dir.display());
            }
            Some(History::new(dir, args.rev.as_deref().unwrap_or("HEAD"))?)
        }
        None => History::of_work_tree(&args.repo_path),
    };
    let mut report = localize::localize_with(
        &args.repo_path,
        &issue,
        args.top,
        Limits::default(),
        cache.as_ref(),
        history.as_ref(),
    )
    .with_context(|| format!("localizing in {}", args.repo_path.display()))?;
    if !args.features {
        for candidate in &mut report.candidates {
            candidate.features = None;
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

/// The report as text: the candidates as the LLM sees them, then what was indexed.
pub fn render(report: &Report) -> String {
    let mut out = if report.candidates.is_empty() {
        "No file matches the issue.\n".to_owned()
    } else {
        localize::render_candidates(&report.candidates)
    };
    let s = report.skipped;
    let _ = writeln!(
        out,
        "\n{} files indexed; skipped: {} generated or lockfiles, {} binary; by path only: {} too large, {} over the read budget{}",
        report.files_indexed,
        s.generated,
        s.binary,
        s.huge,
        s.unread,
        if report.truncated {
            " (stopped at the file limit)"
        } else {
            ""
        }
    );
    match report.index_cache {
        CacheUse::Off => {}
        CacheUse::Hit => out.push_str("index read from the cache\n"),
        CacheUse::Miss => out.push_str("index built and kept in the cache\n"),
    }
    out
}
