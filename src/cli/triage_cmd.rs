//! `globallm issues --repo owner/name` (fetch, categorize, score and rank a repository's open
//! issues — any public repository: read-only when the App is not installed there) and
//! `globallm prioritize` (rank stored issues across repositories).

use crate::config::{Language, Sources};
use crate::github::ids::RepoName;
use crate::triage::rank;
use std::io::IsTerminal as _;

/// `globallm issues …`
#[derive(Debug, clap::Args)]
pub struct IssuesArgs {
    /// The repository, owner/name
    #[arg(long)]
    repo: RepoName,
    /// How many open issues to fetch (oldest first)
    #[arg(long, default_value_t = 50)]
    max_issues: usize,
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// A local checkout of the repository: the localizer then measures each issue's scope
    /// (files, code size, public symbols) for solvability
    #[arg(long, value_name = "DIR")]
    checkout: Option<std::path::PathBuf>,
}

/// `globallm prioritize …`
#[derive(Debug, clap::Args)]
pub struct PrioritizeArgs {
    /// Only repositories of this ecosystem
    #[arg(long, value_enum)]
    language: Option<Language>,
    /// How many issues to show
    #[arg(long, default_value_t = 100)]
    top: usize,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub(super) fn progress(len: u64, message: &'static str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

/// Runs `issues`.
pub async fn issues(sources: &Sources, args: &IssuesArgs) -> anyhow::Result<()> {
    let ctx = super::context(sources).await?;
    let scored = super::report_cmd::read_and_score(
        &ctx,
        &args.repo,
        args.max_issues,
        args.checkout.as_deref(),
    )
    .await?;
    let ranked: Vec<rank::Ranked> = scored.issues.iter().map(|i| i.ranked.clone()).collect();
    print!("{}", render_ranking(&ranked, args.json, false)?);
    if !args.json {
        let w = &ctx.config().scoring.weights;
        println!(
            "Priority = {}·H + {}·I + {}·S + {}·U − {}·R (health, impact, solvability, urgency, redundancy); `globallm report --repo {}` shows every signal.",
            w.health, w.impact, w.solvability, w.urgency, w.redundancy, args.repo
        );
    }
    Ok(())
}

/// Runs `prioritize`.
pub async fn prioritize(sources: &Sources, args: &PrioritizeArgs) -> anyhow::Result<()> {
    let ctx = super::context(sources).await?;
    let language = args.language.map(Language::as_str);
    let (ranked, considered) = rank::prioritize(
        ctx.db.pool(),
        &ctx.config(),
        language,
        args.top,
        ctx.clock.now_ms(),
    )
    .await?;
    if !args.json && ranked.is_empty() {
        println!(
            "No open issues stored{}: triage some first (`globallm issues --repo owner/name`, or let the service triage them).",
            language.map(|l| format!(" for {l}")).unwrap_or_default()
        );
        return Ok(());
    }
    print!("{}", render_ranking(&ranked, args.json, true)?);
    if !args.json {
        println!(
            "{} of {considered} open issues, ranked with the current weights.",
            ranked.len()
        );
    }
    Ok(())
}

/// A ranking as a table (or JSON).
pub fn render_ranking(
    ranked: &[rank::Ranked],
    json: bool,
    with_repo: bool,
) -> anyhow::Result<String> {
    if json {
        let rows: Vec<serde_json::Value> = ranked
            .iter()
            .enumerate()
            .map(|(i, r)| {
                serde_json::json!({
                    "rank": i + 1,
                    "repo": r.repo,
                    "number": r.number,
                    "title": r.title,
                    "category": r.category,
                    "complexity": r.complexity,
                    "age_days": r.age_days,
                    "score": r.priority.score,
                    "level": r.priority.level,
                    "terms": r.priority.terms,
                })
            })
            .collect();
        return Ok(format!("{}\n", serde_json::to_string_pretty(&rows)?));
    }
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    let mut header = vec![
        "rank",
        "score",
        "level",
        "category",
        "complexity",
        "age (days)",
        "H",
        "I",
        "S",
        "U",
        "R",
    ];
    if with_repo {
        header.push("repository");
    }
    header.extend(["#", "title"]);
    table.set_header(header);
    for (i, r) in ranked.iter().enumerate() {
        let title: String = if r.title.chars().count() > 60 {
            format!("{}…", r.title.chars().take(59).collect::<String>())
        } else {
            r.title.clone()
        };
        let mut row = vec![
            (i + 1).to_string(),
            format!("{:.3}", r.priority.score),
            r.priority.level.as_str().to_owned(),
            r.category.to_string(),
            r.complexity.to_string(),
            format!("{:.0}", r.age_days),
        ];
        let t = r.priority.terms;
        row.extend(
            [t.health, t.impact, t.solvability, t.urgency, t.redundancy].map(|v| format!("{v:.2}")),
        );
        if with_repo {
            row.push(r.repo.clone());
        }
        row.extend([r.number.to_string(), title]);
        table.add_row(row);
    }
    Ok(format!("{table}\n"))
}
