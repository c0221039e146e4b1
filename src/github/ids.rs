//! Newtypes for GitHub identifiers, so an issue number is never passed where a repository id
//! is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl $name {
            /// The id as the database stores it (SQLite integers are signed 64-bit).
            pub fn as_db(self) -> i64 {
                i64::try_from(self.0).unwrap_or(i64::MAX)
            }
        }
    };
}

numeric_id!(
    /// A repository's numeric id (stable across renames and transfers).
    RepoId
);
numeric_id!(
    /// An installation of the GitHub App on an account.
    InstallationId
);
numeric_id!(
    /// An issue or pull request number within a repository.
    IssueNumber
);
numeric_id!(
    /// A user's, bot's or organization's numeric id.
    UserId
);
numeric_id!(
    /// A comment's numeric id.
    CommentId
);
numeric_id!(
    /// A check run's numeric id.
    CheckRunId
);
numeric_id!(
    /// A check suite's numeric id.
    CheckSuiteId
);
numeric_id!(
    /// The GitHub App's numeric id.
    AppId
);

/// A commit's SHA as GitHub writes it (40 lower-case hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommitSha(pub String);

impl fmt::Display for CommitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoName {
    owner: String,
    name: String,
}

impl RepoName {
    /// Builds a name from its two parts.
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            name: name.into(),
        }
    }

    /// The account that owns the repository.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The repository's name within its owner.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl std::str::FromStr for RepoName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('/') {
            Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(Self::new(owner, name))
            }
            _ => Err(format!(
                "`{s}` is not a repository name of the form owner/name"
            )),
        }
    }
}

impl TryFrom<String> for RepoName {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<RepoName> for String {
    fn from(value: RepoName) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names_parse_only_owner_slash_name() {
        let name: RepoName = "rust-lang/bors".parse().expect("valid");
        assert_eq!(name.owner(), "rust-lang");
        assert_eq!(name.name(), "bors");
        assert_eq!(name.to_string(), "rust-lang/bors");
        for bad in ["bors", "/bors", "rust-lang/", "a/b/c"] {
            assert!(bad.parse::<RepoName>().is_err(), "{bad} should be rejected");
        }
    }
}
