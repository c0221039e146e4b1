//! TEMP-INTERFACE: replaced by the solution branch at merge.
use crate::config::Automerge;
use serde::Serialize;
use std::fmt;

/// How risky a change is, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Tier {
    /// Merges itself when CI is green.
    Low,
    /// Merges itself when CI is green; the maintainers are notified.
    Medium,
    /// A maintainer's review is requested; never merges itself.
    High,
    /// Nothing is automated.
    Critical,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Low => "LOW",
            Tier::Medium => "MEDIUM",
            Tier::High => "HIGH",
            Tier::Critical => "CRITICAL",
        })
    }
}

/// Whether a change of this tier merges itself under the `automerge` ceiling (the lower of the
/// service's and the repository's). HIGH and CRITICAL never do.
pub fn may_merge(tier: Tier, automerge: Automerge) -> bool {
    match tier {
        Tier::Low => automerge >= Automerge::Low,
        Tier::Medium => automerge >= Automerge::Medium,
        Tier::High | Tier::Critical => false,
    }
}

/// Whether a maintainer's `/globallm merge` may merge it once green: anything but CRITICAL.
pub fn may_merge_on_command(tier: Tier) -> bool {
    tier != Tier::Critical
}

/// Whether GlobalLM may act on the pull request at all (mark ready, request review, merge):
/// never for CRITICAL.
pub fn automated(tier: Tier) -> bool {
    tier != Tier::Critical
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The tier this rule asks for.
    pub tier: Tier,
    /// What it found (Markdown).
    pub text: String,
}

/// A change's tier and every reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// The highest tier any reason asks for.
    pub tier: Tier,
    /// Every rule that fired.
    pub reasons: Vec<Reason>,
}
