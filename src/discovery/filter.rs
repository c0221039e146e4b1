//! The filter: a repository matters when `stars > filter.min_stars OR dependents >
//! filter.min_dependents`, unless it is archived, disabled, a fork or a mirror. Every
//! exclusion has a reason, stored with the repository.

use crate::config::FilterConfig;
use crate::github::discovery_api::SearchedRepo;

/// Why a repository was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Exclusion {
    /// Archived: read-only, nobody will merge a fix.
    Archived,
    /// Disabled by GitHub.
    Disabled,
    /// A fork: its upstream is the one that matters.
    Fork,
    /// A mirror of a repository hosted elsewhere.
    Mirror,
    /// Neither enough stars nor enough dependents.
    BelowThresholds,
}

impl Exclusion {
    /// The reason as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Exclusion::Archived => "archived",
            Exclusion::Disabled => "disabled",
            Exclusion::Fork => "fork",
            Exclusion::Mirror => "mirror",
            Exclusion::BelowThresholds => "below_thresholds",
        }
    }
}

/// The verdict on a repository: kept (`None`) or left out with the first reason that applies
/// (archived, disabled, fork, mirror, then the thresholds).
pub fn verdict(
    repo: &SearchedRepo,
    dependents: Option<u64>,
    config: &FilterConfig,
) -> Option<Exclusion> {
    if repo.archived {
        return Some(Exclusion::Archived);
    }
    if repo.disabled {
        return Some(Exclusion::Disabled);
    }
    if repo.fork {
        return Some(Exclusion::Fork);
    }
    if repo.mirror {
        return Some(Exclusion::Mirror);
    }
    let important =
        repo.stars > config.min_stars || dependents.is_some_and(|d| d > config.min_dependents);
    (!important).then_some(Exclusion::BelowThresholds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(stars: u64) -> SearchedRepo {
        SearchedRepo {
            id: 1,
            full_name: "o/r".to_owned(),
            language: Some("Python".to_owned()),
            stars,
            archived: false,
            disabled: false,
            fork: false,
            mirror: false,
            created_at: None,
            pushed_at: None,
        }
    }

    #[test]
    fn stars_or_dependents_above_the_thresholds_keep_a_repository() {
        let config = FilterConfig {
            min_stars: 1_000,
            min_dependents: 100,
        };
        assert_eq!(verdict(&repo(1_001), None, &config), None);
        assert_eq!(
            verdict(&repo(1_000), None, &config),
            Some(Exclusion::BelowThresholds),
            "strictly more stars than the threshold"
        );
        assert_eq!(
            verdict(&repo(10), Some(101), &config),
            None,
            "dependents alone"
        );
        assert_eq!(
            verdict(&repo(10), Some(100), &config),
            Some(Exclusion::BelowThresholds)
        );
    }

    #[test]
    fn archived_disabled_forks_and_mirrors_are_excluded_with_their_reason() {
        let config = FilterConfig::default();
        type Tweak = fn(&mut SearchedRepo);
        let cases: [(Tweak, Exclusion); 4] = [
            (|r| r.archived = true, Exclusion::Archived),
            (|r| r.disabled = true, Exclusion::Disabled),
            (|r| r.fork = true, Exclusion::Fork),
            (|r| r.mirror = true, Exclusion::Mirror),
        ];
        for (set, reason) in cases {
            let mut r = repo(50_000);
            set(&mut r);
            assert_eq!(verdict(&r, Some(1_000_000), &config), Some(reason));
            assert!(!reason.as_str().is_empty());
        }
        let mut both = repo(50_000);
        both.archived = true;
        both.fork = true;
        assert_eq!(verdict(&both, None, &config), Some(Exclusion::Archived));
    }
}
