//! Maven Central: the search API (`GET /solrsearch/select?q=g:"G" AND a:"A"&wt=json`) for the
//! latest version, then that version's POM from the repository for its SCM URL (the GitHub
//! repository) and its declared dependencies. A package is named `groupId:artifactId`.

use super::PackageInfo;
use super::http::{Endpoint, RegistryError, escape};
use super::repo_url::first_github_repo;
use crate::config::Language;
use regex::Regex;
use serde::Deserialize;
use std::sync::LazyLock;

#[derive(Deserialize)]
struct Search {
    response: SearchResponse,
}

#[derive(Deserialize)]
struct SearchResponse {
    #[serde(rename = "numFound")]
    num_found: u64,
    docs: Vec<Doc>,
}

#[derive(Deserialize)]
struct Doc {
    #[serde(rename = "latestVersion", default)]
    latest_version: Option<String>,
    #[serde(default)]
    v: Option<String>,
}

#[expect(
    clippy::expect_used,
    reason = "constant patterns, checked by the tests"
)]
static DEPENDENCY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)<dependency>.*?<groupId>\s*([^<\s]+)\s*</groupId>.*?<artifactId>\s*([^<\s]+)\s*</artifactId>(.*?)</dependency>")
        .expect("a valid pattern")
});
#[expect(
    clippy::expect_used,
    reason = "constant patterns, checked by the tests"
)]
static SCM_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<scm>.*?</scm>|<url>[^<]*</url>").expect("a valid pattern"));

/// Maven Central.
#[derive(Debug, Clone)]
pub struct Maven {
    search: Endpoint,
    repo: Endpoint,
}

/// A POM's GitHub repository (from `<scm>` first, then any `<url>`) and its non-test
/// dependencies as `groupId:artifactId`.
pub fn parse_pom(pom: &str) -> (Option<String>, Vec<String>) {
    let urls: Vec<&str> = SCM_URL.find_iter(pom).map(|m| m.as_str()).collect();
    // `<scm>` blocks sort first: they name the source, `<url>` often the project site.
    let mut ordered: Vec<&str> = urls
        .iter()
        .copied()
        .filter(|u| u.starts_with("<scm>"))
        .collect();
    ordered.extend(urls.iter().copied().filter(|u| !u.starts_with("<scm>")));
    let repository = first_github_repo(ordered.iter().flat_map(|block| {
        block
            .split(['<', '>'])
            .filter(|part| part.contains("github.com"))
            .collect::<Vec<_>>()
    }));
    let dependencies = DEPENDENCY
        .captures_iter(pom)
        .filter(|c| {
            !c.get(3)
                .is_some_and(|rest| rest.as_str().contains("<scope>test</scope>"))
        })
        .filter_map(|c| Some(format!("{}:{}", c.get(1)?.as_str(), c.get(2)?.as_str())))
        .collect();
    (repository, dependencies)
}

impl Maven {
    /// Maven Central's search at `search`, its repository at `repo`.
    pub fn new(search: Endpoint, repo: Endpoint) -> Self {
        Self { search, repo }
    }

    /// An artifact (`groupId:artifactId`): latest version, repository and dependencies.
    pub async fn package(&self, name: &str) -> Result<PackageInfo, RegistryError> {
        let Some((group, artifact)) = name.split_once(':') else {
            return Err(RegistryError::NotFound {
                registry: self.search.registry,
                package: format!("{name} (not groupId:artifactId)"),
            });
        };
        let query = format!("g:\"{group}\" AND a:\"{artifact}\"");
        let search: Search = self
            .search
            .get_json(
                &format!("/solrsearch/select?q={}&rows=1&wt=json", escape(&query)),
                name,
                None,
            )
            .await?;
        let version = search
            .response
            .docs
            .into_iter()
            .next()
            .and_then(|d| d.latest_version.or(d.v));
        let (true, Some(version)) = (search.response.num_found > 0, version) else {
            return Err(RegistryError::NotFound {
                registry: self.search.registry,
                package: name.to_owned(),
            });
        };
        let path = format!(
            "/{}/{artifact}/{version}/{artifact}-{version}.pom",
            group.replace('.', "/")
        );
        let pom = self.repo.get(&path, name, None).await?;
        let (repository, dependencies) = parse_pom(&String::from_utf8_lossy(&pom.body));
        Ok(PackageInfo {
            language: Language::Java,
            name: name.to_owned(),
            version: Some(version),
            repository,
            dependencies,
            ..PackageInfo::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pom_gives_its_scm_repository_and_non_test_dependencies() {
        let pom = r#"<project><url>https://site.example.org</url>
          <scm><url>https://github.com/google/guava</url></scm>
          <dependencies>
            <dependency><groupId>com.google.guava</groupId><artifactId>failureaccess</artifactId><version>1</version></dependency>
            <dependency><groupId>junit</groupId><artifactId>junit</artifactId><scope>test</scope></dependency>
          </dependencies></project>"#;
        let (repo, deps) = parse_pom(pom);
        assert_eq!(repo.as_deref(), Some("google/guava"));
        assert_eq!(deps, vec!["com.google.guava:failureaccess".to_owned()]);
    }
}
