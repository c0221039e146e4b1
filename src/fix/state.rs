//! The states of a fix and the risk tiers, as the types the lifecycle decides on and the
//! database stores (lower-case text). A leaf module: `db::fixes` stores these types.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Where a fix is in its life. Every change of state goes through one transition of
/// [`super::lifecycle`].
///
/// ```text
///            ┌──────────── failed (nothing opened; a later request starts again)
/// drafting ──┤
///            └──▶ open ──▶ merged      (GlobalLM merged it, or a maintainer did)
///                   └────▶ closed      (closed unmerged)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FixState {
    /// A fix job is drafting it; no pull request yet.
    Drafting,
    /// Its pull request is open.
    Open,
    /// Its pull request was merged.
    Merged,
    /// Its pull request was closed without a merge.
    Closed,
    /// Drafting failed before a pull request was opened.
    Failed,
}

crate::db::text_column!(FixState, [Drafting, Open, Merged, Closed, Failed]);
crate::db::text_column!(Tier, [Low, Medium, High, Critical]);

impl FixState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            FixState::Drafting => "drafting",
            FixState::Open => "open",
            FixState::Merged => "merged",
            FixState::Closed => "closed",
            FixState::Failed => "failed",
        }
    }

    /// Whether the fix still stands in the way of another fix of its issue.
    pub fn is_active(self) -> bool {
        matches!(self, FixState::Drafting | FixState::Open)
    }
}

impl fmt::Display for FixState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How risky a change is, lowest first (DESIGN §6).
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

impl Tier {
    /// The name stored (`low` … `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Medium => "medium",
            Tier::High => "high",
            Tier::Critical => "critical",
        }
    }
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

impl FromStr for Tier {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Tier::Low),
            "medium" => Ok(Tier::Medium),
            "high" => Ok(Tier::High),
            "critical" => Ok(Tier::Critical),
            other => Err(format!("`{other}` is not a risk tier")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_order_from_low_to_critical_and_read_back_their_names() {
        assert!(
            Tier::Low < Tier::Medium && Tier::Medium < Tier::High && Tier::High < Tier::Critical
        );
        for tier in [Tier::Low, Tier::Medium, Tier::High, Tier::Critical] {
            assert_eq!(tier.as_str().parse::<Tier>(), Ok(tier));
        }
        assert!("urgent".parse::<Tier>().is_err());
    }
}
