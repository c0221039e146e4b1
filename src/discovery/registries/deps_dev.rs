//! deps.dev, the aggregator: a package's default version (`GET /v3/systems/<s>/packages/<n>`),
//! its dependents counts (`GET /v3alpha/systems/<s>/packages/<n>/versions/<v>:dependents`)
//! and its resolved direct dependencies (`GET /v3/systems/<s>/packages/<n>/versions/<v>:dependencies`).

use super::http::{Endpoint, RegistryError, escape};
use crate::config::Language;
use serde::Deserialize;

#[derive(Deserialize)]
struct Package {
    versions: Vec<PackageVersion>,
}

#[derive(Deserialize)]
struct PackageVersion {
    #[serde(rename = "versionKey")]
    version_key: VersionKey,
    #[serde(rename = "isDefault", default)]
    is_default: bool,
}

#[derive(Deserialize)]
struct VersionKey {
    #[serde(default)]
    name: String,
    version: String,
}

#[derive(Deserialize)]
struct Dependents {
    #[serde(rename = "dependentCount", default)]
    dependent_count: u64,
    #[serde(rename = "directDependentCount", default)]
    direct_dependent_count: u64,
}

#[derive(Deserialize)]
struct Graph {
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    #[serde(rename = "versionKey")]
    version_key: VersionKey,
    #[serde(default)]
    relation: String,
}

/// Dependents of one package version, as deps.dev counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DependentCounts {
    /// Packages depending on it directly.
    pub direct: u64,
    /// Packages depending on it directly or transitively.
    pub total: u64,
}

/// deps.dev.
#[derive(Debug, Clone)]
pub struct DepsDev {
    endpoint: Endpoint,
}

/// deps.dev's name of an ecosystem.
pub fn system(language: Language) -> &'static str {
    match language {
        Language::Python => "pypi",
        Language::Javascript => "npm",
        Language::Go => "go",
        Language::Rust => "cargo",
        Language::Java => "maven",
    }
}

impl DepsDev {
    /// deps.dev at `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }

    /// The package's default version.
    pub async fn default_version(
        &self,
        language: Language,
        name: &str,
    ) -> Result<String, RegistryError> {
        let path = format!("/v3/systems/{}/packages/{}", system(language), escape(name));
        let package: Package = self.endpoint.get_json(&path, name, None).await?;
        package
            .versions
            .iter()
            .find(|v| v.is_default)
            .or(package.versions.last())
            .map(|v| v.version_key.version.clone())
            .ok_or_else(|| RegistryError::NotFound {
                registry: self.endpoint.registry,
                package: format!("{name} (no versions)"),
            })
    }

    /// Dependents of a version.
    pub async fn dependents(
        &self,
        language: Language,
        name: &str,
        version: &str,
    ) -> Result<DependentCounts, RegistryError> {
        let path = format!(
            "/v3alpha/systems/{}/packages/{}/versions/{}:dependents",
            system(language),
            escape(name),
            escape(version)
        );
        let answer: Dependents = self.endpoint.get_json(&path, name, None).await?;
        Ok(DependentCounts {
            direct: answer.direct_dependent_count,
            total: answer.dependent_count,
        })
    }

    /// The names of a version's direct dependencies in its resolved graph.
    pub async fn dependencies(
        &self,
        language: Language,
        name: &str,
        version: &str,
    ) -> Result<Vec<String>, RegistryError> {
        let path = format!(
            "/v3/systems/{}/packages/{}/versions/{}:dependencies",
            system(language),
            escape(name),
            escape(version)
        );
        let graph: Graph = self.endpoint.get_json(&path, name, None).await?;
        let mut names: Vec<String> = graph
            .nodes
            .into_iter()
            .filter(|n| n.relation == "DIRECT")
            .map(|n| n.version_key.name)
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }
}
