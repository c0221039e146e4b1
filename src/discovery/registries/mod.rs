//! Package registries and aggregators: one adapter per registry (PyPI, npm, crates.io,
//! pkg.go.dev, Maven Central, deps.dev, ecosyste.ms, libraries.io), each with its base URL
//! and pace from `discovery.registries`, typed errors ([`RegistryError`]), and the
//! repository ↔ package mapping ([`repo_url`]). [`Registries`] puts them together: a
//! package's metadata from its own registry, its dependents from the best source that knows.

pub mod crates_io;
pub mod deps_dev;
pub mod ecosystems;
pub mod go;
pub mod http;
pub mod libraries_io;
pub mod maven;
pub mod npm;
pub mod pypi;
pub mod repo_url;

pub use http::RegistryError;

use crate::config::{Language, RegistriesConfig, Secret};

/// What discovery knows of one package.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageInfo {
    /// Its ecosystem.
    pub language: Language,
    /// Its name in that ecosystem (PyPI names normalized as PEP 503 does; Maven
    /// `groupId:artifactId`; Go the module path).
    pub name: String,
    /// The version looked at (the latest stable one).
    pub version: Option<String>,
    /// The GitHub repository it is published from, `owner/name` in lower case.
    pub repository: Option<String>,
    /// Downloads (last month on npm, all time on crates.io and ecosyste.ms).
    pub downloads: Option<u64>,
    /// Packages depending on it directly.
    pub dependents: Option<u64>,
    /// Where `dependents` came from.
    pub dependents_source: Option<&'static str>,
    /// The names of its direct dependencies.
    pub dependencies: Vec<String>,
}

impl Default for PackageInfo {
    /// An empty record; every adapter sets the ecosystem it serves.
    fn default() -> Self {
        Self {
            language: Language::Python,
            name: String::new(),
            version: None,
            repository: None,
            downloads: None,
            dependents: None,
            dependents_source: None,
            dependencies: Vec::new(),
        }
    }
}

/// A PyPI name normalized as PEP 503 does: lower case, runs of `-_.` become `-`.
pub fn normalize_python(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Every adapter, sharing one HTTP client.
#[derive(Debug, Clone)]
pub struct Registries {
    http: http::Http,
    /// PyPI.
    pub pypi: pypi::Pypi,
    /// npm and its downloads API.
    pub npm: npm::Npm,
    /// crates.io.
    pub crates_io: crates_io::CratesIo,
    /// pkg.go.dev.
    pub go: go::GoPkg,
    /// Maven Central.
    pub maven: maven::Maven,
    /// deps.dev.
    pub deps_dev: deps_dev::DepsDev,
    /// ecosyste.ms.
    pub ecosystems: ecosystems::Ecosystems,
    /// libraries.io.
    pub libraries_io: libraries_io::LibrariesIo,
}

impl Registries {
    /// The adapters as configured; `libraries_io_key` from `GLOBALLM_LIBRARIES_IO_API_KEY`.
    pub fn new(
        config: &RegistriesConfig,
        libraries_io_key: Option<Secret>,
    ) -> Result<Self, RegistryError> {
        let http = http::Http::new(config)?;
        Ok(Self {
            pypi: pypi::Pypi::new(http.endpoint("PyPI", &config.pypi)),
            npm: npm::Npm::new(
                http.endpoint("npm", &config.npm),
                http.endpoint("npm downloads", &config.npm_downloads),
            ),
            crates_io: crates_io::CratesIo::new(http.endpoint("crates.io", &config.crates_io)),
            go: go::GoPkg::new(http.endpoint("pkg.go.dev", &config.go)),
            maven: maven::Maven::new(
                http.endpoint("Maven Central search", &config.maven_search),
                http.endpoint("Maven Central", &config.maven_repo),
            ),
            deps_dev: deps_dev::DepsDev::new(http.endpoint("deps.dev", &config.deps_dev)),
            ecosystems: ecosystems::Ecosystems::new(
                http.endpoint("ecosyste.ms", &config.ecosystems),
            ),
            libraries_io: libraries_io::LibrariesIo::new(
                http.endpoint("libraries.io", &config.libraries_io),
                libraries_io_key,
            ),
            http,
        })
    }

    /// Registry requests sent so far.
    pub fn calls(&self) -> u64 {
        self.http.calls()
    }

    /// A package from its own registry, with its dependents from the first source that
    /// knows them: crates.io's reverse dependencies, pkg.go.dev's importers, else deps.dev,
    /// ecosyste.ms, libraries.io (when it has a key). A package its registry does not know
    /// is [`RegistryError::NotFound`]; a failing aggregator only leaves `dependents` empty.
    pub async fn package(
        &self,
        language: Language,
        name: &str,
    ) -> Result<PackageInfo, RegistryError> {
        let mut info = match language {
            Language::Python => self.pypi.package(name).await?,
            Language::Javascript => {
                let mut info = self.npm.package(name).await?;
                info.downloads = soft(self.npm.downloads_last_month(name).await);
                info
            }
            Language::Rust => {
                let mut info = self.crates_io.package(name).await?;
                info.dependents = soft(self.crates_io.dependents(name).await);
                info.dependents_source = info.dependents.map(|_| "crates.io");
                info
            }
            Language::Go => {
                let mut info = self.go.package(name).await?;
                info.dependents_source = Some("pkg.go.dev");
                info
            }
            Language::Java => self.maven.package(name).await?,
        };
        let version = match &info.version {
            Some(v) => Some(v.clone()),
            None => soft(self.deps_dev.default_version(language, name).await),
        };
        if let Some(version) = &version {
            if info.dependents.is_none()
                && let Some(counts) = soft(self.deps_dev.dependents(language, name, version).await)
            {
                info.dependents = Some(counts.direct);
                info.dependents_source = Some("deps.dev");
            }
            if info.dependencies.is_empty()
                && let Some(deps) = soft(self.deps_dev.dependencies(language, name, version).await)
            {
                info.dependencies = deps;
            }
        }
        if info.dependents.is_none()
            && let Some(other) = soft(self.ecosystems.package(language, name).await)
            && let Some(count) = other.dependents
        {
            info.dependents = Some(count);
            info.dependents_source = Some("ecosyste.ms");
            info.repository = info.repository.or(other.repository);
        }
        if info.dependents.is_none()
            && self.libraries_io.is_configured()
            && let Some(other) = soft(self.libraries_io.package(language, name).await)
            && let Some(count) = other.dependents
        {
            info.dependents = Some(count);
            info.dependents_source = Some("libraries.io");
        }
        Ok(info)
    }
}

/// A secondary source's answer, whose failure must not fail the package: a missing
/// package, a rate limit, a failing server or a bad answer leave the field empty (logged).
fn soft<T>(result: Result<T, RegistryError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(err) => {
            if !err.is_not_found() {
                tracing::info!("a secondary registry source failed: {err}");
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_names_are_normalized_as_pep_503_says() {
        assert_eq!(
            normalize_python("Django_REST.framework"),
            "django-rest-framework"
        );
        assert_eq!(normalize_python("zope.interface"), "zope-interface");
        assert_eq!(normalize_python("a--b"), "a-b");
    }
}
