//! `globallm redundancy --language L`: clusters of discovered repositories that do the same
//! thing (README and API-name similarity), the healthiest of each, and archival
//! recommendations for stale duplicates with the evidence. The penalties are stored, so the
//! priority score's R term uses them from then on.

use crate::config::{Language, Sources};
use crate::db::discovery as store;
use crate::discovery::redundancy;
use crate::scoring::HealthInputs;
use std::fmt::Write as _;

/// `globallm redundancy …`
#[derive(Debug, clap::Args)]
pub struct RedundancyArgs {
    /// The ecosystem
    #[arg(long, value_enum)]
    language: Language,
}

/// Runs `redundancy`.
pub async fn run(sources: &Sources, args: &RedundancyArgs) -> anyhow::Result<()> {
    let ctx = super::context(sources).await?;
    let language = args.language.as_str();
    let config = ctx.config();
    let embedder = crate::discovery::run::embedder(&ctx.db, &config, &ctx.clock);
    let clusters =
        redundancy::detect(&ctx.db, language, ctx.clock.now_ms(), embedder.as_ref()).await?;
    let considered = store::redundancy_inputs(ctx.db.pool(), language)
        .await?
        .len();
    let mut out = String::new();
    if clusters.is_empty() {
        let _ = writeln!(
            out,
            "No redundant {language} projects among the {considered} with a stored README \
             (discovery stores READMEs when it measures health)."
        );
    }
    for (n, cluster) in clusters.iter().enumerate() {
        let _ = writeln!(
            out,
            "Cluster {}: {} {language} projects doing the same thing",
            n + 1,
            cluster.members.len()
        );
        for m in &cluster.members {
            let snapshot = store::snapshots_of(ctx.db.pool(), &m.repo, 1).await?;
            let (health, months) = snapshot.first().map_or((0.0, None), |s| {
                let inputs: HealthInputs =
                    serde_json::from_str(&s.health_inputs).unwrap_or_default();
                (s.health, inputs.updated_since)
            });
            let pushed = months.map_or("unknown".to_owned(), |m| format!("{m:.0} months ago"));
            if m.healthiest {
                let _ = writeln!(
                    out,
                    "  healthiest: {} (health {health:.2}, last push {pushed})",
                    m.repo
                );
                continue;
            }
            let shared: Vec<&str> = m.shared_names.iter().take(8).map(String::as_str).collect();
            let _ = writeln!(
                out,
                "  {} — {}: health {health:.2}, last push {pushed}; README similarity {:.2}, \
                 API similarity {:.2}{}; penalty {:.2}",
                m.repo,
                if m.archive {
                    "recommend archiving"
                } else {
                    "keep"
                },
                m.readme_similarity,
                m.api_similarity,
                if shared.is_empty() {
                    String::new()
                } else {
                    format!(" (shared: {})", shared.join(", "))
                },
                m.penalty
            );
        }
    }
    print!("{out}");
    Ok(())
}
