//! The issue categories GlobalLM triages into, shared by the LLM categorizer, the offline
//! classifier, the labels (`globallm:type/<category>`) and the scores' category weights.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What an issue is about. Serialized in lowercase (`"security"`, `"bug"`, …), the same spelling
/// as the labels and the `scoring.category_weights` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// A vulnerability or a security weakness (CVE/GHSA ids, XSS, injection, advisories, …).
    Security,
    /// Something does not work as it should: a crash, an error, a wrong result, a regression.
    Bug,
    /// A request for new behaviour or an improvement of existing behaviour.
    Feature,
    /// The documentation is wrong, missing or unclear.
    Docs,
    /// A request for help or an explanation rather than a change.
    Question,
    /// Anything else, or an issue nothing could categorize with enough confidence.
    Other,
}

impl Category {
    /// Every category, in the order above.
    pub const ALL: [Category; 6] = [
        Category::Security,
        Category::Bug,
        Category::Feature,
        Category::Docs,
        Category::Question,
        Category::Other,
    ];

    /// The lowercase name used in labels, configuration keys and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Security => "security",
            Category::Bug => "bug",
            Category::Feature => "feature",
            Category::Docs => "docs",
            Category::Question => "question",
            Category::Other => "other",
        }
    }

    /// The GitHub label GlobalLM applies for this category.
    pub fn label(self) -> String {
        format!("globallm:type/{}", self.as_str())
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A category name that is none of the six.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category `{0}` (expected one of security, bug, feature, docs, question, other)")]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;

    /// Parses a name case-insensitively; `enhancement` and `documentation` are accepted as the
    /// common GitHub spellings of `feature` and `docs`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "security" => Ok(Category::Security),
            "bug" => Ok(Category::Bug),
            "feature" | "enhancement" => Ok(Category::Feature),
            "docs" | "documentation" => Ok(Category::Docs),
            "question" => Ok(Category::Question),
            "other" => Ok(Category::Other),
            _ => Err(UnknownCategory(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_display_serde_and_from_str() {
        for category in Category::ALL {
            let name = category.to_string();
            assert_eq!(name.parse::<Category>(), Ok(category));
            let json = serde_json::to_string(&category).expect("serializes");
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<Category>(&json).expect("deserializes"),
                category
            );
        }
    }

    #[test]
    fn common_github_spellings_are_accepted_and_unknown_names_refused() {
        assert_eq!("Enhancement".parse::<Category>(), Ok(Category::Feature));
        assert_eq!("documentation".parse::<Category>(), Ok(Category::Docs));
        assert!("wontfix".parse::<Category>().is_err());
    }

    #[test]
    fn the_label_names_the_category() {
        assert_eq!(Category::Security.label(), "globallm:type/security");
    }
}
