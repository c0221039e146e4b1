//! libraries.io (`GET /api/<platform>/<name>?api_key=…`): dependents counts. The API key comes
//! from `GLOBALLM_LIBRARIES_IO_API_KEY`; it travels only in the query string and never appears
//! in an error or a log line. Without a key the adapter answers
//! [`RegistryError::NotConfigured`] and discovery carries on without it.

use super::PackageInfo;
use super::http::{Endpoint, RegistryError, escape};
use super::repo_url::github_repo;
use crate::config::{Language, Secret};
use secrecy::ExposeSecret;
use serde::Deserialize;

#[derive(Deserialize)]
struct Project {
    name: String,
    #[serde(default)]
    repository_url: Option<String>,
    #[serde(default)]
    dependents_count: Option<u64>,
    #[serde(default)]
    latest_release_number: Option<String>,
}

/// libraries.io.
#[derive(Debug, Clone)]
pub struct LibrariesIo {
    endpoint: Endpoint,
    key: Option<Secret>,
}

/// libraries.io's platform name of an ecosystem.
pub fn platform(language: Language) -> &'static str {
    match language {
        Language::Python => "pypi",
        Language::Javascript => "npm",
        Language::Go => "go",
        Language::Rust => "cargo",
        Language::Java => "maven",
    }
}

impl LibrariesIo {
    /// libraries.io at `endpoint`, with its API key when there is one.
    pub fn new(endpoint: Endpoint, key: Option<Secret>) -> Self {
        Self { endpoint, key }
    }

    /// Whether a key is configured.
    pub fn is_configured(&self) -> bool {
        self.key.is_some()
    }

    /// A package's dependents and repository.
    pub async fn package(
        &self,
        language: Language,
        name: &str,
    ) -> Result<PackageInfo, RegistryError> {
        let Some(key) = &self.key else {
            return Err(RegistryError::NotConfigured {
                registry: self.endpoint.registry,
                reason: "set GLOBALLM_LIBRARIES_IO_API_KEY".to_owned(),
            });
        };
        let path = format!("/api/{}/{}", platform(language), escape(name));
        let project: Project = self
            .endpoint
            .get_json(&path, name, Some(("api_key", key.value().expose_secret())))
            .await?;
        Ok(PackageInfo {
            language,
            name: project.name,
            version: project.latest_release_number,
            repository: project.repository_url.as_deref().and_then(github_repo),
            dependents: project.dependents_count,
            ..PackageInfo::default()
        })
    }
}
