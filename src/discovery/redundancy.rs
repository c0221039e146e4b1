//! Redundancy detection over what discovery stored: the newest snapshot of every repository
//! of an ecosystem with its README and the API names its README shows, clustered by
//! `analysis::redundancy`; the clusters are stored and each repository's penalty goes into its
//! snapshot and its stored score inputs, where the priority score's R term reads it. With an
//! embedder (`llm.embedding_model`), each README is embedded — once per README text and model,
//! the vector kept in `readme_embeddings` — and READMEs are compared by their embeddings.

use crate::analysis::redundancy::{self, Cluster, Project, Thresholds};
use crate::config::Language;
use crate::db::Db;
use crate::db::discovery::{self as store, RedundancyRow};
use crate::llm::client::Scope;
use crate::llm::embeddings::{Embedder, MAX_CHARS};
use crate::scoring::HealthInputs;
use crate::time::Millis;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// Clusters an ecosystem's repositories, stores the clusters and the penalties.
pub async fn detect(
    db: &Db,
    language: &str,
    now: Millis,
    embedder: Option<&Embedder>,
) -> anyhow::Result<Vec<Cluster>> {
    let inputs = store::redundancy_inputs(db.pool(), language).await?;
    let mut embeddings = Vec::with_capacity(inputs.len());
    for (snapshot, readme, _) in &inputs {
        embeddings.push(match embedder {
            Some(embedder) => {
                embedding(db, embedder, language, &snapshot.repo, readme, now).await?
            }
            None => None,
        });
    }
    let projects: Vec<Project> = inputs
        .iter()
        .zip(embeddings)
        .map(|((snapshot, readme, names), embedding)| {
            let health: HealthInputs =
                serde_json::from_str(&snapshot.health_inputs).unwrap_or_default();
            let api_names: BTreeSet<String> = serde_json::from_str(names).unwrap_or_default();
            Project {
                repo: snapshot.repo.clone(),
                readme: readme.clone(),
                api_names,
                health: snapshot.health,
                months_since_push: health.updated_since.unwrap_or(0.0),
                embedding,
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

/// A README's embedding: the stored one when the text and the model are unchanged, else a new
/// one (stored). A refused budget or a failing provider leaves the README to TF-IDF (logged).
async fn embedding(
    db: &Db,
    embedder: &Embedder,
    language: &str,
    repo: &str,
    readme: &str,
    now: Millis,
) -> anyhow::Result<Option<Vec<f32>>> {
    let text: String = readme.chars().take(MAX_CHARS).collect();
    let sha = hex::encode(Sha256::digest(text.as_bytes()));
    if let Some((model, stored_sha, vector)) = store::embedding(db.pool(), repo).await?
        && model == embedder.model()
        && stored_sha == sha
    {
        return Ok(Some(vector));
    }
    let Some(language) = Language::ALL.into_iter().find(|l| l.as_str() == language) else {
        return Ok(None);
    };
    match embedder.embed(Scope { repo, language }, &text).await {
        Ok(vector) => {
            let mut tx = db.write().await?;
            store::put_embedding(tx.conn(), repo, embedder.model(), &sha, &vector, now).await?;
            tx.commit().await?;
            Ok(Some(vector))
        }
        Err(err) => {
            tracing::warn!(%repo, "README not embedded, compared by TF-IDF: {err}");
            Ok(None)
        }
    }
}
