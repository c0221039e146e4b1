//! Repository ↔ package mapping: the GitHub repository (`owner/name`, lower case) a package's
//! metadata points at, from the many spellings registries use (`git+https://…​.git`,
//! `git@github.com:…`, `github:owner/name`, npm's `owner/name` shorthand, `…/tree/main/sub`).

/// The GitHub repository a URL (or shorthand) names, as `owner/name` in lower case.
pub fn github_repo(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = if let Some(rest) = url.strip_prefix("github:") {
        rest
    } else if let Some(idx) = url.find("github.com") {
        url[idx + "github.com".len()..].trim_start_matches([':', '/'])
    } else if is_shorthand(url) {
        url
    } else {
        return None;
    };
    let mut parts = rest.split(['/', '#', '?']).filter(|p| !p.is_empty());
    let owner = parts.next()?;
    let name = parts.next()?;
    let name = name.strip_suffix(".git").unwrap_or(name);
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    (valid(owner) && valid(name) && owner != "sponsors" && owner != "orgs")
        .then(|| format!("{}/{}", owner.to_lowercase(), name.to_lowercase()))
}

/// npm's `owner/name` shorthand: exactly one slash, no scheme, no dots in the owner.
fn is_shorthand(url: &str) -> bool {
    !url.contains(':')
        && url.matches('/').count() == 1
        && url.split('/').next().is_some_and(|o| !o.contains('.'))
}

/// The first GitHub repository among candidate URLs, in order.
pub fn first_github_repo<'a>(urls: impl IntoIterator<Item = &'a str>) -> Option<String> {
    urls.into_iter().find_map(github_repo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_github_repository_maps_to_owner_name() {
        for url in [
            "git+https://github.com/chalk/chalk.git",
            "https://github.com/Chalk/Chalk",
            "git://github.com/chalk/chalk.git",
            "git@github.com:chalk/chalk.git",
            "github:chalk/chalk",
            "chalk/chalk",
            "https://github.com/chalk/chalk/tree/main/packages/x",
            "https://www.github.com/chalk/chalk#readme",
            "scm:git:git://github.com/chalk/chalk.git",
        ] {
            assert_eq!(github_repo(url).as_deref(), Some("chalk/chalk"), "{url}");
        }
    }

    #[test]
    fn other_hosts_and_non_repositories_are_not_mapped() {
        for url in [
            "https://gitlab.com/a/b",
            "https://bitbucket.org/a/b",
            "https://github.com/sponsors/someone",
            "https://github.com/chalk",
            "https://example.com/a/b",
            "",
        ] {
            assert_eq!(github_repo(url), None, "{url}");
        }
    }
}
