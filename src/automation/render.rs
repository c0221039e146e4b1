//! Every text the fix flow writes on GitHub, built in one place: the pull request's title and
//! body, and the comments that say what the automation did or why it did not.

use crate::budget::report::thousands;
use crate::command;

/// The marker that identifies a GlobalLM pull request body.
pub const MARKER: &str = "<!-- globallm:fix -->";

/// What a pull request body says.
#[derive(Debug, Clone)]
pub struct PrContent<'a> {
    /// The issue it fixes.
    pub issue: u64,
    /// What the change does, in a sentence or two.
    pub summary: &'a str,
    /// Each file changed, with why.
    pub files: &'a [(String, String)],
    /// The test files written or extended.
    pub tests: &'a [String],
    /// `LOW`, `MEDIUM`, `HIGH` or `CRITICAL`.
    pub tier: &'a str,
    /// Why that tier.
    pub reasons: &'a [String],
    /// What the tier means here (merges itself, review, nothing automated).
    pub policy: &'a str,
    /// LLM tokens spent on the pull request so far.
    pub tokens: i64,
    /// Their estimated cost in USD.
    pub cost_usd: f64,
    /// Drafting attempts so far.
    pub attempts: i64,
}

/// The pull request's title.
pub fn pr_title(issue: u64, issue_title: &str) -> String {
    let title: String = issue_title.chars().take(200).collect();
    format!("Fix #{issue}: {title}")
}

/// The pull request's body.
pub fn pr_body(c: &PrContent<'_>) -> String {
    let mut body = format!(
        "{MARKER}\nFixes #{}\n\n{}\n\n### Files\n\n",
        c.issue, c.summary
    );
    for (path, why) in c.files {
        body.push_str(&format!("- `{path}`: {why}\n"));
    }
    body.push_str("\n### Tests\n\n");
    if c.tests.is_empty() {
        body.push_str("- none written: the reviewer should ask for one\n");
    }
    for test in c.tests {
        body.push_str(&format!("- `{test}`\n"));
    }
    body.push_str(&format!("\n### Risk: {}\n\n{}\n\n", c.tier, c.policy));
    for reason in c.reasons {
        body.push_str(&format!("- {reason}\n"));
    }
    body.push_str(&format!(
        "\n### Cost\n\n{} LLM tokens (≈ ${:.2}) over {} drafting attempt{}.\n\n",
        thousands(u64::try_from(c.tokens).unwrap_or(0)),
        c.cost_usd,
        c.attempts,
        if c.attempts == 1 { "" } else { "s" }
    ));
    body.push_str("### Steering\n\nComment on this pull request (at the start of a line):\n\n");
    for (verb, what, write) in command::VERBS.iter().filter(|(verb, _, _)| *verb != "fix") {
        let who = if *write {
            " — needs write access"
        } else {
            ""
        };
        body.push_str(&format!("- `/globallm {verb}`: {what}{who}\n"));
    }
    body
}

/// What a tier means for this pull request, given the merge ceiling in force.
pub fn policy(tier: &str, merges_itself: bool) -> &'static str {
    match (tier, merges_itself) {
        ("CRITICAL", _) => {
            "Nothing is automated on a CRITICAL change: GlobalLM will not mark it ready, request reviews or merge it."
        }
        ("HIGH", _) => {
            "When CI is green a review is requested; it merges only after a maintainer's `/globallm merge`."
        }
        ("MEDIUM", true) => "It merges itself when CI is green, and the maintainers are notified.",
        (_, true) => "It merges itself when CI is green.",
        (_, false) => {
            "This repository's `automerge` setting keeps it from merging itself: when CI is green a review is requested."
        }
    }
}

/// The comment when the fix budget has no room.
pub fn budget_exhausted(reason: &str) -> String {
    format!(
        "GlobalLM cannot draft a fix now: the LLM budget has no room for it ({reason}). \
         Nothing was sent to the model. Ask again with `/globallm fix` once the window resets, \
         or raise the cap in the service's configuration."
    )
}

/// The comment when drafting failed for another reason than the answers (the model, the
/// work tree, the configuration).
pub fn draft_error(error: &str) -> String {
    format!(
        "GlobalLM could not draft a fix: {error}\n\nNothing was pushed. A maintainer can ask again with `/globallm fix`."
    )
}

/// The comment when no valid change came out of the attempts.
pub fn draft_failed(attempts: u32, error: &str) -> String {
    format!(
        "GlobalLM could not draft a fix it trusts after {attempts} attempt{}: {error}\n\n\
         Nothing was pushed. A maintainer can add details to the issue and ask again with `/globallm fix`.",
        if attempts == 1 { "" } else { "s" }
    )
}

/// The comment when someone else pushed to the pull request's branch.
pub fn human_push(sha: &str) -> String {
    format!(
        "Someone else pushed to this branch (`{}`), so GlobalLM has stopped all automation \
         here: it will not repair, re-run or merge this pull request. It is yours now.",
        short(sha)
    )
}

/// The first 7 characters of a commit sha.
pub fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// A bullet list of CI failures with a bounded excerpt of their output.
pub fn failures(failed: &[crate::automation::ci::Failure]) -> String {
    failed
        .iter()
        .map(|f| {
            let output = f
                .output
                .as_deref()
                .map(|o| format!(": {}", excerpt(o, 300)))
                .unwrap_or_default();
            format!("- `{}` ({}){output}", f.name, f.conclusion)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// At most `max` characters of `text`, on one line.
pub fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_says_what_closes_what_changed_the_risk_and_the_cost() {
        let files = vec![("src/cart.py".to_owned(), "rounds the total".to_owned())];
        let tests = vec!["tests/test_cart.py".to_owned()];
        let reasons = vec!["complexity 2".to_owned()];
        let body = pr_body(&PrContent {
            issue: 7,
            summary: "Round cart totals to cents.",
            files: &files,
            tests: &tests,
            tier: "LOW",
            reasons: &reasons,
            policy: policy("LOW", true),
            tokens: 12_345,
            cost_usd: 0.0412,
            attempts: 1,
        });
        assert!(body.starts_with(MARKER));
        assert!(body.contains("Fixes #7\n"));
        assert!(body.contains("- `src/cart.py`: rounds the total"));
        assert!(body.contains("- `tests/test_cart.py`"));
        assert!(body.contains("### Risk: LOW\n\nIt merges itself when CI is green."));
        assert!(body.contains("12,345 LLM tokens (≈ $0.04) over 1 drafting attempt."));
        assert!(body.contains("/globallm retry"));
        assert!(!body.contains("/globallm fix"), "fix is an issue command");
    }

    #[test]
    fn an_automerge_ceiling_turns_a_merge_into_a_review() {
        assert!(policy("MEDIUM", false).contains("review is requested"));
        assert!(policy("MEDIUM", true).contains("notified"));
        assert!(policy("CRITICAL", true).contains("Nothing is automated"));
    }

    #[test]
    fn excerpts_are_one_bounded_line() {
        assert_eq!(excerpt("a\n  b", 10), "a b");
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }
}
