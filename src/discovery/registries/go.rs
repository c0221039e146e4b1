//! Go: pkg.go.dev's "Imported by" count (`GET /<module>?tab=importedby`). pkg.go.dev has no
//! JSON API for it, so the count is read from the page: the figure after the "Imported by"
//! tab label (`Imported by: 12,345` or `Imported by <span …>12,345</span>`). A page without it
//! is a [`RegistryError::Decode`], never a zero.

use super::PackageInfo;
use super::http::{Endpoint, RegistryError};
use super::repo_url::github_repo;
use crate::config::Language;
use regex::Regex;
use std::sync::LazyLock;

#[expect(
    clippy::expect_used,
    reason = "a constant pattern, checked by the tests"
)]
static IMPORTED_BY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Imported\s+[bB]y:?\s*(?:</?[a-zA-Z][^>]*>\s*)*([0-9][0-9,]*)")
        .expect("a valid pattern")
});

/// pkg.go.dev.
#[derive(Debug, Clone)]
pub struct GoPkg {
    endpoint: Endpoint,
}

/// The "Imported by" count on a pkg.go.dev page.
pub fn imported_by(html: &str) -> Option<u64> {
    let caps = IMPORTED_BY.captures(html)?;
    caps.get(1)?.as_str().replace(',', "").parse().ok()
}

impl GoPkg {
    /// pkg.go.dev at `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }

    /// A module: how many packages import it, and its repository when the module path is
    /// on GitHub (`github.com/owner/name/...`).
    pub async fn package(&self, module: &str) -> Result<PackageInfo, RegistryError> {
        // Module paths are slash-separated URLs themselves; they go into the path unescaped.
        let page = self
            .endpoint
            .get(&format!("/{module}?tab=importedby"), module, None)
            .await?;
        let html = String::from_utf8_lossy(&page.body);
        let dependents = imported_by(&html).ok_or_else(|| RegistryError::Decode {
            registry: self.endpoint.registry,
            what: module.to_owned(),
            message: "the page has no \"Imported by\" count".to_owned(),
        })?;
        Ok(PackageInfo {
            language: Language::Go,
            name: module.to_owned(),
            repository: github_repo(module),
            dependents: Some(dependents),
            ..PackageInfo::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_imported_by_count_is_read_in_its_spellings() {
        assert_eq!(imported_by("<a>Imported by: 12,345</a>"), Some(12_345));
        assert_eq!(
            imported_by("Imported By <span class=\"go-Chip\">7</span>"),
            Some(7)
        );
        assert_eq!(imported_by("<title>Not here</title>"), None);
    }
}
