//! `globallm analyze --repo owner/name`: what discovery knows of a repository — its health
//! score with every signal (raw value, normalized, weight), its impact (dependents, downstream
//! reach, PageRank and betweenness percentiles in its ecosystem), the trend since the previous
//! snapshot, its redundancy cluster, and its top triaged issues. A repository discovery has
//! not measured is read live instead ([`render_live`]), installed or not (read-only then).

use crate::config::{Config, Signal};
use crate::db::Db;
use crate::db::discovery as store;
use crate::discovery::health::ExtraSignals;
use crate::scoring::{self, HealthInputs, ImpactInputs};
use anyhow::Context as _;
use std::fmt::Write as _;

fn signal_line(out: &mut String, name: &str, value: Option<f64>, unit: &str, signal: &Signal) {
    match value {
        Some(v) => {
            let n = scoring::norm(v, signal.threshold);
            let n = if signal.smaller_is_better { 1.0 - n } else { n };
            let _ = writeln!(
                out,
                "    {name:<24} {v:>12.2} {unit:<10} → {n:.3} × weight {}",
                signal.weight
            );
        }
        None => {
            let _ = writeln!(
                out,
                "    {name:<24} {:>12} {unit:<10}   (left out of the mean)",
                "not measured"
            );
        }
    }
}

fn delta(now: f64, before: Option<f64>) -> String {
    match before {
        Some(b) => format!(" ({:+.3} since the previous run)", now - b),
        None => String::new(),
    }
}

/// Whether discovery has measured `repo`.
pub async fn has_snapshot(db: &Db, repo: &str) -> anyhow::Result<bool> {
    Ok(!store::snapshots_of(db.pool(), &repo.to_lowercase(), 1)
        .await?
        .is_empty())
}

fn parts_lines(out: &mut String, parts: &[scoring::Part]) {
    for part in parts {
        match part.value {
            Some(value) => {
                let _ = writeln!(
                    out,
                    "    {:<24} {:>28} → {value:.3} × weight {}",
                    part.name,
                    part.measured.as_deref().unwrap_or(""),
                    part.weight
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "    {:<24} {:>28}   (left out of the mean)",
                    part.name, "not measured"
                );
            }
        }
    }
}

/// What a live read of `repo` says (no discovery snapshot yet): health and impact with every
/// signal, its tests and CI. Read as its installation, else read-only.
pub async fn render_live(
    ctx: &crate::context::Context,
    repo: &crate::github::ids::RepoName,
) -> anyhow::Result<String> {
    use crate::report::{access, fetch};
    let access = access::resolve(ctx, repo).await?;
    if let Some(note) = access.anonymous_note() {
        eprintln!("{note}");
    }
    let repository = access
        .client
        .repo_as(access.auth(), repo)
        .await
        .map_err(|err| access.explain(err, &format!("reading {repo}")))?;
    let now = ctx.clock.now_ms();
    let (facts, tree_files) = fetch::measure(&access, &repository, now).await?;
    let config = ctx.config();
    let scores = crate::triage::signals::repo_scores(
        ctx.db.pool(),
        &ctx.db,
        &repository,
        &config.scoring,
        now,
        Some(&facts),
    )
    .await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{repo} — read live (discovery has not measured it), as {}\n",
        access.describe()
    );
    let _ = writeln!(out, "Health {:.3}", scores.health);
    parts_lines(
        &mut out,
        &scoring::health_parts(&scores.health_inputs, &config.scoring.health),
    );
    let _ = writeln!(out, "\nImpact {:.3}", scores.impact);
    parts_lines(
        &mut out,
        &scoring::impact_parts(&scores.impact_inputs, &config.scoring),
    );
    let _ = writeln!(
        out,
        "\nTests: {}{}.",
        match facts.has_tests {
            Some(true) => "yes",
            Some(false) => "none found",
            None => "unknown",
        },
        tree_files
            .map(|n| format!(" ({n} files in the tree)"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "Issues: `globallm report --repo {repo}` ranks them with every term."
    );
    Ok(out)
}

/// The report for `repo`.
pub async fn render(db: &Db, config: &Config, repo: &str) -> anyhow::Result<String> {
    let key = repo.to_lowercase();
    let snapshots = store::snapshots_of(db.pool(), &key, 2).await?;
    let Some(latest) = snapshots.first() else {
        anyhow::bail!(
            "discovery has no snapshot of {repo}: run `globallm discover --language L` (or let the nightly run measure it) first"
        );
    };
    let previous = snapshots.get(1);
    let mut health: HealthInputs =
        serde_json::from_str(&latest.health_inputs).context("stored health inputs")?;
    let impact: ImpactInputs =
        serde_json::from_str(&latest.impact_inputs).context("stored impact inputs")?;
    let extra: ExtraSignals = serde_json::from_str(&latest.extra).context("stored signals")?;
    // Snapshots taken before CI and resolution joined health kept them beside it.
    if health.ci_state.is_none() {
        health.ci_state = extra.ci_state.clone();
    }
    if health.issue_resolution_rate.is_none() {
        health.issue_resolution_rate = extra.issue_resolution_rate;
    }
    let run = store::get_run(db.pool(), latest.run_id).await?;
    // Scores under the current weights, so a changed configuration shows at once.
    let h = scoring::health(&health, &config.scoring.health);
    let i = scoring::impact(&impact, &config.scoring);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{repo} ({}) — discovery run {}{}",
        latest.language,
        latest.run_id,
        run.map(|r| format!(", {}", crate::time::format_ms(r.started_at)))
            .unwrap_or_default()
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Health {h:.3}{}", delta(h, previous.map(|p| p.health)));
    if health.archived {
        let _ = writeln!(out, "    archived: health is 0");
    }
    let s = &config.scoring.health;
    signal_line(
        &mut out,
        "created_since",
        health.created_since,
        "months",
        &s.created_since,
    );
    signal_line(
        &mut out,
        "updated_since",
        health.updated_since,
        "months",
        &s.updated_since,
    );
    signal_line(
        &mut out,
        "contributor_count",
        health.contributor_count,
        "people",
        &s.contributor_count,
    );
    signal_line(
        &mut out,
        "org_count",
        health.org_count,
        "orgs",
        &s.org_count,
    );
    signal_line(
        &mut out,
        "commit_frequency",
        health.commit_frequency,
        "per week",
        &s.commit_frequency,
    );
    signal_line(
        &mut out,
        "recent_release_count",
        health.recent_release_count,
        "per year",
        &s.recent_release_count,
    );
    signal_line(
        &mut out,
        "updated_issues_count",
        health.updated_issues_count,
        "90 days",
        &s.updated_issues_count,
    );
    signal_line(
        &mut out,
        "closed_issues_count",
        health.closed_issues_count,
        "90 days",
        &s.closed_issues_count,
    );
    signal_line(
        &mut out,
        "issue_comment_frequency",
        health.issue_comment_frequency,
        "per issue",
        &s.issue_comment_frequency,
    );
    signal_line(
        &mut out,
        "github_mention_count",
        health.github_mention_count,
        "mentions",
        &s.github_mention_count,
    );
    signal_line(
        &mut out,
        "dependent_count",
        health.dependent_count,
        "packages",
        &s.dependent_count,
    );
    let _ = writeln!(
        out,
        "    CI on the default branch: {}; issue resolution (closed/updated, 90 days): {}",
        extra.ci_state.as_deref().unwrap_or("unknown"),
        extra
            .issue_resolution_rate
            .map_or("unknown".to_owned(), |r| format!("{r:.2}"))
    );
    let in_health: Vec<scoring::Part> = scoring::health_parts(&health, s)
        .into_iter()
        .filter(|p| p.name == "default_branch_ci" || p.name == "issue_resolution_rate")
        .collect();
    parts_lines(&mut out, &in_health);
    let _ = writeln!(out);
    let _ = writeln!(out, "Impact {i:.3}{}", delta(i, previous.map(|p| p.impact)));
    let show = |v: Option<f64>| v.map_or("unknown".to_owned(), |v| format!("{v:.0}"));
    let packages = store::packages_of_repo(db.pool(), &key).await?;
    let _ = writeln!(out, "    stars                    {}", show(impact.stars));
    let _ = writeln!(
        out,
        "    dependents               {}{}",
        show(impact.dependents),
        packages
            .iter()
            .find_map(|p| p.dependents_source.as_deref())
            .map(|s| format!(" (from {s})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "    downstream reach         {}",
        show(impact.downstream_reach)
    );
    let pct = |p: Option<f64>, raw: Option<f64>| match (p, raw) {
        (Some(p), Some(raw)) => format!(
            "{:.1}th percentile in {} ({raw:.3e})",
            p * 100.0,
            latest.language
        ),
        _ => "unknown (no dependency graph yet)".to_owned(),
    };
    let _ = writeln!(
        out,
        "    PageRank                 {}",
        pct(impact.pagerank_percentile, latest.pagerank)
    );
    let _ = writeln!(
        out,
        "    betweenness              {}",
        pct(impact.betweenness_percentile, latest.betweenness)
    );
    if let Some(p) = previous {
        let before: Option<ImpactInputs> = serde_json::from_str(&p.impact_inputs).ok();
        if let (Some(now), Some(then)) = (impact.stars, before.and_then(|b| b.stars)) {
            let _ = writeln!(out, "    stars since run {}: {:+.0}", p.run_id, now - then);
        }
    }
    if !packages.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Packages");
        for p in &packages {
            let _ = writeln!(
                out,
                "    {} {} {}: {} dependents, {} downloads",
                p.language,
                p.name,
                p.version.as_deref().unwrap_or(""),
                p.dependents.map_or("?".to_owned(), |d| d.to_string()),
                p.downloads.map_or("?".to_owned(), |d| d.to_string())
            );
        }
    }
    if latest.redundancy > 0.0 {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Redundancy penalty {:.3} (see `globallm redundancy --language {}`)",
            latest.redundancy, latest.language
        );
    }
    let issues = store::top_issues(db.pool(), repo, 5).await?;
    let _ = writeln!(out);
    if issues.is_empty() {
        let _ = writeln!(
            out,
            "Top issues: none triaged yet (`globallm issues --repo {repo}` triages them)"
        );
    } else {
        let _ = writeln!(out, "Top issues");
        for (number, title, category, priority, level) in issues {
            let _ = writeln!(
                out,
                "    #{number:<6} {priority:.3} {level:<8} {category:<8} {title}"
            );
        }
    }
    Ok(out)
}
