//! The dependency graph and impact. The registry stage maps each kept repository to its
//! packages (ecosyste.ms's repository lookup), looks each package up in its registry
//! (dependents, dependencies — resolved by deps.dev where the registry does not list them) and
//! stores packages and edges (dependent → dependency). The impact stage builds one graph per
//! ecosystem from the stored edges and computes, with `crate::analysis`, PageRank (networkx
//! semantics), betweenness (exact up to 256 nodes, else 256 pivots sampled with seed 0),
//! downstream reach and their percentiles; a repository takes the metrics of its most central
//! package, and its impact score is recomputed with them.

use super::registries::Registries;
use crate::analysis::{self, Graph, PageRankOptions, Pivots, ReachMethod};
use crate::config::{Config, Language};
use crate::db::Db;
use crate::db::discovery::{self as store, PackageRow};
use crate::scoring::{self, ImpactInputs};
use crate::time::Millis;
use std::collections::HashMap;

/// Pivots sampled for betweenness above this many nodes (networkx's `k`).
const BETWEENNESS_PIVOTS: usize = 256;

/// Looks up the packages of every kept repository of a run that has none fetched since the
/// run started (so a resumed run goes on where it was), and stores them with their edges.
/// A failing registry skips that package (logged); returns the registry requests made.
pub async fn collect_packages(
    db: &Db,
    registries: &Registries,
    run: i64,
    run_started: Millis,
    now: impl Fn() -> Millis,
) -> anyhow::Result<u64> {
    let calls_before = registries.calls();
    let kept: Vec<store::DiscoveredRepo> = store::run_repos(db.pool(), run)
        .await?
        .into_iter()
        .filter(|r| r.filtered.is_none())
        .collect();
    for repo in kept {
        let known = store::packages_of_repo(db.pool(), &repo.repo).await?;
        if known.iter().any(|p| p.fetched_at >= run_started) {
            continue;
        }
        let language = Language::ALL
            .into_iter()
            .find(|l| l.as_str() == repo.language);
        let found = match registries.ecosystems.packages_of_repo(&repo.repo).await {
            Ok(found) => found,
            Err(err) => {
                tracing::info!(repo = %repo.repo, "no packages for the repository: {err}");
                continue;
            }
        };
        for listed in found.into_iter().filter(|p| Some(p.language) == language) {
            let info = match registries.package(listed.language, &listed.name).await {
                Ok(info) => info,
                Err(err) => {
                    tracing::info!(package = %listed.name, "registry lookup failed: {err}");
                    listed
                }
            };
            let mut tx = db.write().await?;
            store::put_package(
                tx.conn(),
                &PackageRow {
                    language: info.language.as_str().to_owned(),
                    name: info.name.clone(),
                    repo: Some(repo.repo.clone()),
                    version: info.version.clone(),
                    dependents: info
                        .dependents
                        .map(|d| i64::try_from(d).unwrap_or(i64::MAX)),
                    dependents_source: info.dependents_source.map(str::to_owned),
                    downloads: info.downloads.map(|d| i64::try_from(d).unwrap_or(i64::MAX)),
                    fetched_at: now(),
                },
            )
            .await?;
            store::replace_edges(
                tx.conn(),
                info.language.as_str(),
                &info.name,
                &info.dependencies,
                "registry",
            )
            .await?;
            tx.commit().await?;
        }
    }
    let calls = registries.calls() - calls_before;
    let mut tx = db.write().await?;
    store::add_counts(
        tx.conn(),
        run,
        0,
        0,
        0,
        i64::try_from(calls).unwrap_or(i64::MAX),
    )
    .await?;
    tx.commit().await?;
    Ok(calls)
}

/// Graph metrics of one package.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeMetrics {
    /// PageRank.
    pub pagerank: f64,
    /// Betweenness (normalized as networkx does).
    pub betweenness: f64,
    /// Transitive dependents.
    pub reach: u32,
    /// PageRank percentile in the ecosystem, 0–100.
    pub pagerank_percentile: f64,
    /// Betweenness percentile, 0–100.
    pub betweenness_percentile: f64,
}

/// The metrics of every package of an ecosystem graph, by name.
pub fn metrics(edges: &[(String, String)]) -> anyhow::Result<HashMap<String, NodeMetrics>> {
    let graph = Graph::from_edges(edges.iter().map(|(a, b)| (a.as_str(), b.as_str())))?;
    let n = graph.node_count();
    if n == 0 {
        return Ok(HashMap::new());
    }
    let rank = analysis::pagerank(&graph, &PageRankOptions::default())?;
    let pivots = if n > BETWEENNESS_PIVOTS {
        Pivots::Sample {
            k: BETWEENNESS_PIVOTS,
            seed: 0,
        }
    } else {
        Pivots::All
    };
    let between = analysis::betweenness(&graph, &pivots)?;
    let reach = analysis::downstream_reach(&graph, ReachMethod::Auto);
    let pr_pct = analysis::percentile_ranks(&rank.scores);
    let bc_pct = analysis::percentile_ranks(&between.scores);
    Ok((0..n)
        .map(|v| {
            (
                graph.name(v as u32).to_owned(),
                NodeMetrics {
                    pagerank: rank.scores[v],
                    betweenness: between.scores[v],
                    reach: reach.counts[v],
                    pagerank_percentile: pr_pct[v],
                    betweenness_percentile: bc_pct[v],
                },
            )
        })
        .collect())
}

/// Puts graph metrics into a run's snapshots (and the stored score inputs triage reads):
/// each repository takes its most central package's metrics.
pub async fn apply_impact(db: &Db, config: &Config, run: i64) -> anyhow::Result<()> {
    let snapshots = store::run_snapshots(db.pool(), run).await?;
    let mut by_language: HashMap<String, HashMap<String, NodeMetrics>> = HashMap::new();
    for snapshot in snapshots {
        if !by_language.contains_key(&snapshot.language) {
            let edges = store::edges(db.pool(), &snapshot.language).await?;
            by_language.insert(snapshot.language.clone(), metrics(&edges)?);
        }
        let graph = &by_language[&snapshot.language];
        let packages = store::packages_of_repo(db.pool(), &snapshot.repo).await?;
        let best = packages
            .iter()
            .filter(|p| p.language == snapshot.language)
            .filter_map(|p| graph.get(&p.name))
            .max_by(|a, b| a.pagerank.total_cmp(&b.pagerank))
            .copied();
        let Some(best) = best else { continue };
        let mut impact: ImpactInputs = serde_json::from_str(&snapshot.impact_inputs)?;
        impact.downstream_reach = Some(f64::from(best.reach));
        impact.pagerank_percentile = Some(best.pagerank_percentile / 100.0);
        impact.betweenness_percentile = Some(best.betweenness_percentile / 100.0);
        let updated = store::SnapshotRow {
            impact_inputs: serde_json::to_string(&impact)?,
            impact: scoring::impact(&impact, &config.scoring),
            pagerank: Some(best.pagerank),
            betweenness: Some(best.betweenness),
            reach: Some(i64::from(best.reach)),
            ..snapshot
        };
        let mut tx = db.write().await?;
        store::put_snapshot(tx.conn(), &updated).await?;
        store::set_signals_impact(tx.conn(), &updated.repo, &updated.impact_inputs).await?;
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_depended_on_package_ranks_highest() {
        let edges: Vec<(String, String)> = [
            ("app1", "web"),
            ("app2", "web"),
            ("app3", "web"),
            ("web", "http"),
            ("cli", "http"),
            ("http", "core"),
        ]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        let m = metrics(&edges).expect("metrics");
        assert!(m["core"].pagerank > m["web"].pagerank);
        assert_eq!(m["core"].reach, 6);
        assert_eq!(m["web"].reach, 3);
        assert!(m["http"].betweenness > 0.0);
        assert!(m["core"].pagerank_percentile > m["app1"].pagerank_percentile);
    }
}
