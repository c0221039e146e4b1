//! ecosyste.ms packages, the aggregator: a package's dependents and downloads
//! (`GET /api/v1/registries/<registry>/packages/<name>`) and the packages published from a
//! repository (`GET /api/v1/packages/lookup?repository_url=…`) — the repo → packages half of
//! the mapping — and an ecosystem's packages by dependents, most first
//! (`GET /api/v1/registries/<registry>/packages?sort=dependent_packages_count&order=desc`),
//! which names the repositories that matter by their dependents alone.

use super::PackageInfo;
use super::http::{Endpoint, RegistryError, escape};
use super::repo_url::github_repo;
use crate::config::Language;
use serde::Deserialize;

#[derive(Deserialize)]
struct Package {
    name: String,
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    repository_url: Option<String>,
    #[serde(default)]
    dependent_packages_count: Option<u64>,
    #[serde(default)]
    downloads: Option<u64>,
    #[serde(default)]
    latest_release_number: Option<String>,
}

/// ecosyste.ms.
#[derive(Debug, Clone)]
pub struct Ecosystems {
    endpoint: Endpoint,
}

/// ecosyste.ms's registry of an ecosystem.
pub fn registry(language: Language) -> &'static str {
    match language {
        Language::Python => "pypi.org",
        Language::Javascript => "npmjs.org",
        Language::Go => "proxy.golang.org",
        Language::Rust => "crates.io",
        Language::Java => "repo1.maven.org",
    }
}

/// The ecosystem of an ecosyste.ms `ecosystem` value.
fn language(ecosystem: &str) -> Option<Language> {
    match ecosystem {
        "pypi" => Some(Language::Python),
        "npm" => Some(Language::Javascript),
        "go" => Some(Language::Go),
        "cargo" => Some(Language::Rust),
        "maven" => Some(Language::Java),
        _ => None,
    }
}

impl Package {
    fn into_info(self, language: Language) -> PackageInfo {
        PackageInfo {
            language,
            name: self.name,
            version: self.latest_release_number,
            repository: self.repository_url.as_deref().and_then(github_repo),
            downloads: self.downloads,
            dependents: self.dependent_packages_count,
            ..PackageInfo::default()
        }
    }
}

impl Ecosystems {
    /// ecosyste.ms at `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }

    /// A package's dependents, downloads and repository.
    pub async fn package(
        &self,
        language: Language,
        name: &str,
    ) -> Result<PackageInfo, RegistryError> {
        let path = format!(
            "/api/v1/registries/{}/packages/{}",
            registry(language),
            escape(name)
        );
        let package: Package = self.endpoint.get_json(&path, name, None).await?;
        Ok(package.into_info(language))
    }

    /// Page `page` (from 1) of an ecosystem's packages, the most dependents first.
    pub async fn top_by_dependents(
        &self,
        language: Language,
        page: u32,
        per_page: u32,
    ) -> Result<Vec<PackageInfo>, RegistryError> {
        let registry = registry(language);
        let path = format!(
            "/api/v1/registries/{registry}/packages?sort=dependent_packages_count&order=desc&per_page={per_page}&page={page}"
        );
        let packages: Vec<Package> = self.endpoint.get_json(&path, registry, None).await?;
        Ok(packages
            .into_iter()
            .map(|p| p.into_info(language))
            .collect())
    }

    /// The packages of the covered ecosystems published from a GitHub repository.
    pub async fn packages_of_repo(&self, repo: &str) -> Result<Vec<PackageInfo>, RegistryError> {
        let url = format!("https://github.com/{repo}");
        let path = format!("/api/v1/packages/lookup?repository_url={}", escape(&url));
        let packages: Vec<Package> = self.endpoint.get_json(&path, repo, None).await?;
        Ok(packages
            .into_iter()
            .filter_map(|p| {
                let language = p.ecosystem.as_deref().and_then(language)?;
                Some(p.into_info(language))
            })
            .collect())
    }
}
