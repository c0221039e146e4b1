//! crates.io: `GET /api/v1/crates/<name>` (repository, downloads, newest version) and
//! `GET /api/v1/crates/<name>/reverse_dependencies?per_page=1` (its `meta.total` is the number
//! of crates depending on it). crates.io asks for at most one request a second and a
//! descriptive `User-Agent`; both come from `discovery.registries`.

use super::PackageInfo;
use super::http::{Endpoint, RegistryError, escape};
use super::repo_url::github_repo;
use crate::config::Language;
use serde::Deserialize;

#[derive(Deserialize)]
struct Show {
    #[serde(rename = "crate")]
    krate: Crate,
}

#[derive(Deserialize)]
struct Crate {
    name: String,
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    downloads: Option<u64>,
    #[serde(default)]
    max_stable_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
}

#[derive(Deserialize)]
struct ReverseDependencies {
    meta: Meta,
}

#[derive(Deserialize)]
struct Meta {
    total: u64,
}

/// crates.io.
#[derive(Debug, Clone)]
pub struct CratesIo {
    endpoint: Endpoint,
}

impl CratesIo {
    /// crates.io at `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }

    /// A crate's repository, total downloads and newest stable version.
    pub async fn package(&self, name: &str) -> Result<PackageInfo, RegistryError> {
        let show: Show = self
            .endpoint
            .get_json(&format!("/api/v1/crates/{}", escape(name)), name, None)
            .await?;
        let krate = show.krate;
        Ok(PackageInfo {
            language: Language::Rust,
            name: krate.name,
            version: krate.max_stable_version.or(krate.max_version),
            repository: krate.repository.as_deref().and_then(github_repo),
            downloads: krate.downloads,
            ..PackageInfo::default()
        })
    }

    /// How many crates depend on this one (`reverse_dependencies`' `meta.total`).
    pub async fn dependents(&self, name: &str) -> Result<u64, RegistryError> {
        let answer: ReverseDependencies = self
            .endpoint
            .get_json(
                &format!(
                    "/api/v1/crates/{}/reverse_dependencies?per_page=1",
                    escape(name)
                ),
                name,
                None,
            )
            .await?;
        Ok(answer.meta.total)
    }
}
