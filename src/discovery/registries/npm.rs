//! npm: the registry's packument (`GET /<name>`: the `latest` dist-tag, its repository and
//! dependencies) and the downloads API (`GET /downloads/point/last-month/<name>`).

use super::PackageInfo;
use super::http::{Endpoint, RegistryError, escape};
use super::repo_url::github_repo;
use crate::config::Language;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Packument {
    name: String,
    #[serde(default, rename = "dist-tags")]
    dist_tags: BTreeMap<String, String>,
    #[serde(default)]
    versions: BTreeMap<String, Version>,
    #[serde(default)]
    repository: Option<Value>,
}

#[derive(Deserialize)]
struct Version {
    #[serde(default)]
    dependencies: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    repository: Option<Value>,
}

#[derive(Deserialize)]
struct Downloads {
    downloads: u64,
}

/// The npm registry and its downloads API.
#[derive(Debug, Clone)]
pub struct Npm {
    registry: Endpoint,
    downloads: Endpoint,
}

/// `repository` is a string (`owner/name`, a URL) or `{ "type": "git", "url": … }`.
fn repository_url(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(map) => map.get("url").and_then(Value::as_str),
        _ => None,
    }
}

impl Npm {
    /// npm at `registry`, with downloads from `downloads`.
    pub fn new(registry: Endpoint, downloads: Endpoint) -> Self {
        Self {
            registry,
            downloads,
        }
    }

    /// A package's latest version, repository and dependencies (no downloads: see
    /// [`Npm::downloads_last_month`]).
    pub async fn package(&self, name: &str) -> Result<PackageInfo, RegistryError> {
        // Scoped names keep their `@` and escape the slash, as the registry expects.
        let path = format!("/{}", escape(name).replace("%40", "@"));
        let doc: Packument = self.registry.get_json(&path, name, None).await?;
        let latest = doc.dist_tags.get("latest").cloned();
        let version = latest.as_ref().and_then(|v| doc.versions.get(v));
        let repository = version
            .and_then(|v| v.repository.as_ref())
            .or(doc.repository.as_ref())
            .and_then(repository_url)
            .and_then(github_repo);
        let dependencies = version
            .and_then(|v| v.dependencies.as_ref())
            .map(|deps| deps.keys().cloned().collect())
            .unwrap_or_default();
        Ok(PackageInfo {
            language: Language::Javascript,
            name: doc.name,
            version: latest,
            repository,
            dependencies,
            ..PackageInfo::default()
        })
    }

    /// Downloads in the last month.
    pub async fn downloads_last_month(&self, name: &str) -> Result<u64, RegistryError> {
        let path = format!(
            "/downloads/point/last-month/{}",
            escape(name).replace("%40", "@")
        );
        let answer: Downloads = self.downloads.get_json(&path, name, None).await?;
        Ok(answer.downloads)
    }
}
