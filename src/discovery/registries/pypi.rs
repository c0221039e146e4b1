//! PyPI's JSON API (`GET /pypi/<name>/json`): the latest version, its repository (from
//! `project_urls`, preferring source-like labels, then `home_page`) and its direct
//! dependencies (`requires_dist`, extras excluded).

use super::http::{Endpoint, RegistryError, escape};
use super::repo_url::{first_github_repo, github_repo};
use super::{PackageInfo, normalize_python};
use crate::config::Language;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Answer {
    info: Info,
}

#[derive(Deserialize)]
struct Info {
    #[serde(default)]
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    home_page: Option<String>,
    #[serde(default)]
    project_urls: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    requires_dist: Option<Vec<String>>,
}

/// PyPI.
#[derive(Debug, Clone)]
pub struct Pypi {
    endpoint: Endpoint,
}

impl Pypi {
    /// PyPI at `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }

    /// A package's latest version, repository and dependencies.
    pub async fn package(&self, name: &str) -> Result<PackageInfo, RegistryError> {
        let answer: Answer = self
            .endpoint
            .get_json(&format!("/pypi/{}/json", escape(name)), name, None)
            .await?;
        let info = answer.info;
        let urls = info.project_urls.unwrap_or_default();
        // Labels that name the source come first; any other GitHub URL after them.
        let source_first = urls
            .iter()
            .filter(|(label, _)| {
                let l = label.to_lowercase();
                l.contains("source") || l.contains("code") || l.contains("repository")
            })
            .chain(urls.iter())
            .filter_map(|(_, url)| url.as_deref());
        let repository = first_github_repo(source_first)
            .or_else(|| info.home_page.as_deref().and_then(github_repo));
        let dependencies = info
            .requires_dist
            .unwrap_or_default()
            .iter()
            .filter(|req| !req.contains("extra =="))
            .filter_map(|req| requirement_name(req))
            .collect();
        Ok(PackageInfo {
            language: Language::Python,
            name: normalize_python(info.name.as_deref().unwrap_or(name)),
            version: info.version,
            repository,
            dependencies,
            ..PackageInfo::default()
        })
    }
}

/// The distribution a requirement names (`requests[socks] (>=2.0) ; python_version<"3"` →
/// `requests`), normalized as PEP 503 does.
pub fn requirement_name(requirement: &str) -> Option<String> {
    let name: String = requirement
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    (!name.is_empty()).then(|| normalize_python(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_names_drop_extras_versions_and_markers() {
        assert_eq!(
            requirement_name("requests[socks] (>=2.0) ; python_version<\"3\"").as_deref(),
            Some("requests")
        );
        assert_eq!(
            requirement_name("Zope.Interface>=5").as_deref(),
            Some("zope-interface")
        );
        assert_eq!(requirement_name("  ; junk"), None);
    }
}
