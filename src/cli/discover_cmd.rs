//! `globallm discover`: search the covered ecosystems for repositories that matter, measure
//! their health, and print what was found, kept and filtered and what it cost. Progress goes
//! to stderr (bars on a terminal, plain lines otherwise); Ctrl-C stops it, and running the same
//! command again resumes from the last checkpoint.

use crate::config::{Language, Sources};
use crate::discovery::run::{self, Outcome, Progress, RunOptions, Summary, Trigger};
use crate::github::{Auth, GithubClient};
use std::io::IsTerminal as _;

/// `globallm discover …`
#[derive(Debug, clap::Args)]
pub struct DiscoverArgs {
    /// An ecosystem to discover (repeatable) [default: `discovery.languages`]
    #[arg(long, value_enum)]
    language: Vec<Language>,
    /// Search repositories with more stars than this [default: `filter.min_stars`]
    #[arg(long)]
    min_stars: Option<u64>,
    /// Skip the package registries (no packages, dependents or dependency graph this run)
    #[arg(long)]
    no_registries: bool,
}

/// Who discovery acts as: the App's first installation (search, 30 calls a minute, and
/// GraphQL), else anonymous (search only, 10 a minute; no health).
pub async fn discovery_auth(github: &GithubClient) -> anyhow::Result<Auth> {
    if github.app().is_none() {
        return Ok(Auth::None);
    }
    let installations = github.list_installations().await?;
    Ok(installations
        .first()
        .map_or(Auth::None, |i| Auth::Installation(i.id)))
}

/// Shows progress on stderr.
struct Reporter {
    bar: Option<indicatif::ProgressBar>,
    last_line: std::time::Instant,
}

impl Reporter {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Self {
            bar,
            last_line: std::time::Instant::now(),
        }
    }

    fn report(&mut self, progress: Progress) {
        let (message, pos, len) = match progress {
            Progress::Search {
                done,
                pending,
                found,
            } => (
                format!("searching: {found} repositories found"),
                done,
                done + pending,
            ),
            Progress::Health { done, total } => ("measuring health".to_owned(), done, total),
        };
        match &self.bar {
            Some(bar) => {
                bar.set_message(message);
                bar.set_length(len);
                bar.set_position(pos);
            }
            None => {
                // Plain lines, at most one a second, so a log file stays readable.
                if self.last_line.elapsed().as_secs() >= 1 || pos == len {
                    eprintln!("{message}: {pos}/{len}");
                    self.last_line = std::time::Instant::now();
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Runs `discover`.
pub async fn run(sources: &Sources, args: &DiscoverArgs) -> anyhow::Result<()> {
    let ctx = super::context(sources).await?;
    let config = ctx.config();
    let languages = if args.language.is_empty() {
        config.discovery.languages.clone()
    } else {
        args.language.clone()
    };
    let min_stars = args.min_stars.unwrap_or(config.filter.min_stars);
    let github = ctx.github()?;
    let auth = discovery_auth(&github).await?;
    if auth == Auth::None {
        eprintln!(
            "note: no GitHub App installation: searching anonymously (10 searches a minute) and \
             skipping health (GraphQL needs a token)"
        );
    }
    let options = RunOptions {
        languages: languages.clone(),
        min_stars,
        trigger: Trigger::Manual,
        registries: !args.no_registries,
    };
    let mut reporter = Reporter::new();
    let mut on_progress = |p: Progress| reporter.report(p);
    let outcome = tokio::select! {
        outcome = run::discover(&ctx.db, &config, github, auth, &options, &mut on_progress) => Some(outcome),
        _ = tokio::signal::ctrl_c() => None,
    };
    reporter.finish();
    let Some(outcome) = outcome else {
        anyhow::bail!(
            "interrupted: the run is checkpointed; run the same command again to resume it"
        );
    };
    let outcome = outcome?;
    match outcome {
        Outcome::Finished(summary) => print!("{}", render(&summary, &languages, min_stars)),
        Outcome::AlreadyRan { night } => println!("The run of {night} is already done."),
    }
    Ok(())
}

/// The summary as printed.
pub fn render(summary: &Summary, languages: &[Language], min_stars: u64) -> String {
    let names: Vec<&str> = languages.iter().map(|l| l.as_str()).collect();
    let mut out = format!(
        "Discovery run {}{} — {}, stars > {min_stars}\n",
        summary.run_id,
        if summary.resumed { " (resumed)" } else { "" },
        names.join(", ")
    );
    out.push_str(&format!(
        "  repositories: {} found, {} kept, {} filtered\n",
        summary.found,
        summary.kept,
        summary.found - summary.kept
    ));
    for (reason, count) in &summary.filtered {
        out.push_str(&format!("    {reason}: {count}\n"));
    }
    out.push_str(&format!(
        "  search windows: {} searched, {} split{}\n",
        summary.windows_done,
        summary.windows_split,
        if summary.windows_truncated > 0 {
            format!(
                ", {} still above 1,000 results after every split (first 1,000 kept)",
                summary.windows_truncated
            )
        } else {
            String::new()
        }
    ));
    if summary.by_dependents > 0 || summary.dependents_missing > 0 {
        out.push_str(&format!(
            "  by dependents (few stars, found through the registries): {} looked up, {} unknown to GitHub\n",
            summary.by_dependents, summary.dependents_missing
        ));
    }
    for (language, error) in &summary.listing_errors {
        out.push_str(&format!(
            "  the {language} dependents listing stopped early: {error}\n"
        ));
    }
    out.push_str(&format!(
        "  health: {} repositories measured\n",
        summary.measured
    ));
    out.push_str(&format!(
        "  API: {} search calls ({} points of search's 30-a-minute limit), {} GraphQL queries \
         costing {} points{}, {} registry requests\n",
        summary.search_calls,
        summary.search_calls,
        summary.graphql_calls,
        summary.graphql_points,
        summary
            .points_per_repo()
            .map(|p| format!(" ({p:.3} per repository)"))
            .unwrap_or_default(),
        summary.registry_calls
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_what_was_found_filtered_and_spent() {
        let summary = Summary {
            run_id: 7,
            resumed: true,
            found: 1_204,
            kept: 1_200,
            filtered: vec![("archived".to_owned(), 3), ("mirror".to_owned(), 1)],
            windows_done: 9,
            windows_split: 8,
            windows_truncated: 0,
            search_calls: 21,
            graphql_calls: 24,
            graphql_points: 432,
            measured: 1_200,
            registry_calls: 0,
            by_dependents: 40,
            dependents_missing: 2,
            listing_errors: vec![("go".to_owned(), "page 3: 503".to_owned())],
        };
        let text = render(&summary, &[Language::Python], 1_000);
        for expected in [
            "Discovery run 7 (resumed) — python, stars > 1000",
            "1204 found, 1200 kept, 4 filtered",
            "archived: 3",
            "mirror: 1",
            "9 searched, 8 split",
            "21 search calls (21 points of search's 30-a-minute limit)",
            "24 GraphQL queries costing 432 points (0.360 per repository)",
            "by dependents (few stars, found through the registries): 40 looked up, 2 unknown to GitHub",
            "the go dependents listing stopped early: page 3: 503",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from\n{text}");
        }
    }
}
