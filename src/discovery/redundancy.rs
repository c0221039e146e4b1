//! Redundancy detection over what discovery stored: the newest snapshot of every repository
//! of an ecosystem with its README and the API names its README shows, clustered by
//! `analysis::redundancy`; the clusters are stored and each repository's penalty goes into its
//! snapshot and its stored score inputs, where the priority score's R term reads it.

use crate::analysis::redundancy::{self, Cluster, Project, Thresholds};
use crate::db::Db;
use crate::db::discovery::{self as store, RedundancyRow};
use crate::scoring::HealthInputs;
use crate::time::Millis;
use std::collections::BTreeSet;

/// Clusters an ecosystem's repositories, stores the clusters and the penalties.
pub async fn detect(db: &Db, language: &str, now: Millis) -> anyhow::Result<Vec<Cluster>> {
    let inputs = store::redundancy_inputs(db.pool(), language).await?;
    let projects: Vec<Project> = inputs
        .iter()
        .map(|(snapshot, readme, names)| {
            let health: HealthInputs =
                serde_json::from_str(&snapshot.health_inputs).unwrap_or_default();
            let api_names: BTreeSet<String> = serde_json::from_str(names).unwrap_or_default();
            Project {
                repo: snapshot.repo.clone(),
                readme: readme.clone(),
                api_names,
                health: snapshot.health,
                months_since_push: health.updated_since.unwrap_or(0.0),
            }
        })
        .collect();
    let clusters = redundancy::clusters(&projects, &Thresholds::default());
    let mut rows = Vec::new();
    for (number, cluster) in clusters.iter().enumerate() {
        for m in &cluster.members {
            rows.push(RedundancyRow {
                language: language.to_owned(),
                cluster: number as i64,
                repo: m.repo.clone(),
                readme_similarity: m.readme_similarity,
                api_similarity: m.api_similarity,
                shared_names: serde_json::to_string(&m.shared_names)?,
                healthiest: m.healthiest,
                penalty: m.penalty,
                recommendation: if m.archive { "archive" } else { "keep" }.to_owned(),
                computed_at: now,
            });
        }
    }
    let mut tx = db.write().await?;
    store::replace_redundancy(tx.conn(), language, &rows).await?;
    for (snapshot, _, _) in &inputs {
        let penalty = rows
            .iter()
            .find(|r| r.repo == snapshot.repo)
            .map_or(0.0, |r| r.penalty);
        store::set_redundancy(tx.conn(), Some(snapshot.run_id), &snapshot.repo, penalty).await?;
    }
    tx.commit().await?;
    Ok(clusters)
}
