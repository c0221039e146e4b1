//! The caps of the budget, the error a refused reservation gets, and what a window has used of
//! each cap that concerns one repository and language.

use crate::config::BudgetConfig;
use crate::db::budget::WindowUsage;
use crate::time::Millis;

/// A cap of the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cap {
    /// `budget.tokens_total`: tokens of all repositories.
    TokensTotal,
    /// `budget.tokens_per_repo`.
    TokensPerRepo,
    /// `budget.seconds_per_repo`.
    SecondsPerRepo,
    /// `budget.fix_attempts_per_repo`.
    FixAttemptsPerRepo,
    /// `budget.fix_attempts_per_language`.
    FixAttemptsPerLanguage,
}

impl Cap {
    /// The cap's name, as in its configuration key.
    pub fn as_str(self) -> &'static str {
        match self {
            Cap::TokensTotal => "tokens_total",
            Cap::TokensPerRepo => "tokens_per_repo",
            Cap::SecondsPerRepo => "seconds_per_repo",
            Cap::FixAttemptsPerRepo => "fix_attempts_per_repo",
            Cap::FixAttemptsPerLanguage => "fix_attempts_per_language",
        }
    }
}

impl std::fmt::Display for Cap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the budget manager.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// The reservation would pass a cap: the work must wait for the next window.
    #[error(
        "budget: {cap} of {scope} has no room: {used} used + {requested} asked > {limit} (the window resets at {})",
        crate::time::format_ms(*.resets_at)
    )]
    Exceeded {
        /// The cap.
        cap: Cap,
        /// The repository, the language, or `all`.
        scope: String,
        /// Already used or held in the window.
        used: u64,
        /// Asked for.
        requested: u64,
        /// The cap's value.
        limit: u64,
        /// When the window ends, Unix ms.
        resets_at: Millis,
    },
    /// The ledger could not be read or written.
    #[error("budget ledger: {0}")]
    Database(#[from] sqlx::Error),
}

/// How much of one cap, for one scope, the window has used.
#[derive(Debug, Clone, Copy)]
pub(super) struct CapUse<'a> {
    /// The cap.
    pub cap: Cap,
    /// `all`, the repository or the language.
    pub scope: &'a str,
    /// Used or held.
    pub used: u64,
    /// The limit.
    pub limit: u64,
}

/// Every cap that concerns `repo` and `language`, with what the window used of it.
pub(super) fn cap_uses<'a>(
    caps: &BudgetConfig,
    usage: &WindowUsage,
    repo: &'a str,
    language: &'a str,
) -> [CapUse<'a>; 5] {
    let cap = |cap, scope, used, limit| CapUse {
        cap,
        scope,
        used: to_u64(used),
        limit,
    };
    [
        cap(
            Cap::TokensTotal,
            "all",
            usage.tokens_total,
            caps.tokens_total,
        ),
        cap(
            Cap::TokensPerRepo,
            repo,
            usage.repo_tokens,
            caps.tokens_per_repo,
        ),
        cap(
            Cap::SecondsPerRepo,
            repo,
            usage.repo_seconds,
            caps.seconds_per_repo,
        ),
        cap(
            Cap::FixAttemptsPerRepo,
            repo,
            usage.repo_fix_attempts,
            u64::from(caps.fix_attempts_per_repo),
        ),
        cap(
            Cap::FixAttemptsPerLanguage,
            language,
            usage.language_fix_attempts,
            u64::from(caps.fix_attempts_per_language),
        ),
    ]
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
