//! Every text the fix flow writes on GitHub, built in one place: the pull request's title and
//! body, and the comments that say what the automation did or why it did not. Text GlobalLM
//! did not write itself (the model's summary and reasons, an issue's title, CI output) goes
//! through [`neutralize`] first, so it cannot close issues or mention people.

use super::ci::Failure;
use super::risk::Assessment;
use super::state::Tier;
use crate::budget::report::thousands;
use crate::command;
use crate::solution::draft::{DraftError, FixDraft};
use regex::Regex;
use std::sync::LazyLock;

/// The marker that identifies a GlobalLM pull request body.
pub const MARKER: &str = "<!-- globallm:fix -->";

/// What a pull request body says.
#[derive(Debug, Clone)]
pub struct PrContent<'a> {
    /// The issue it fixes.
    pub issue: u64,
    /// The draft: summary, files and why, tests.
    pub draft: &'a FixDraft,
    /// The tier of the whole branch, and why.
    pub assessment: &'a Assessment,
    /// Whether that tier merges itself under the ceiling in force.
    pub merges_itself: bool,
    /// LLM tokens spent on the pull request so far.
    pub tokens: i64,
    /// Their estimated cost in USD.
    pub cost_usd: f64,
    /// Drafting attempts so far.
    pub attempts: i64,
}

/// The pull request's title (the issue's title, neutralized).
pub fn pr_title(issue: u64, issue_title: &str) -> String {
    let title: String = issue_title.chars().take(200).collect();
    format!("Fix #{issue}: {}", neutralize(&title))
}

/// The pull request's body: it closes its issue, and only its issue.
pub fn pr_body(c: &PrContent<'_>) -> String {
    let mut body = format!(
        "{MARKER}\nFixes #{}\n\n{}\n\n### Files\n\n",
        c.issue,
        neutralize(&c.draft.summary)
    );
    for file in &c.draft.files {
        body.push_str(&format!("- `{}`: {}\n", file.path, neutralize(&file.why)));
    }
    body.push_str("\n### Tests\n\n");
    if c.draft.tests.is_empty() {
        body.push_str("- none written: the reviewer should ask for one\n");
    }
    for test in &c.draft.tests {
        body.push_str(&format!("- `{test}`\n"));
    }
    let tier = c.assessment.tier;
    body.push_str(&format!(
        "\n### Risk: {tier}\n\n{}\n\n",
        policy(tier, c.merges_itself)
    ));
    for reason in &c.assessment.reasons {
        body.push_str(&format!("- {}\n", neutralize(&reason.text)));
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
pub fn policy(tier: Tier, merges_itself: bool) -> &'static str {
    match (tier, merges_itself) {
        (Tier::Critical, _) => {
            "Nothing is automated on a CRITICAL change: GlobalLM will not mark it ready, request reviews or merge it."
        }
        (Tier::High, _) => {
            "When CI is green a review is requested; it merges only after a maintainer's `/globallm merge`."
        }
        (Tier::Medium, true) => {
            "It merges itself when CI is green, and the maintainers are notified."
        }
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
pub fn failures(failed: &[Failure]) -> String {
    failed
        .iter()
        .map(|f| {
            let output = f
                .output
                .as_deref()
                .map(|o| format!(": {}", neutralize(&excerpt(o, 300))))
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

/// The zero-width space that keeps GitHub from reading a reference or a mention.
const BREAK: &str = "\u{200B}";

static MENTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[^A-Za-z0-9_`/])@([A-Za-z0-9][A-Za-z0-9-]*)").expect("a valid pattern")
});
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[^A-Za-z0-9_&])((?:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)?#|GH-)([0-9]+)")
        .expect("a valid pattern")
});
static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"/(issues|pull|pulls|discussions)/([0-9]+)").expect("a valid pattern")
});

/// Text GlobalLM did not write, made inert: `#12`, `owner/repo#12`, `GH-12` and links to issues
/// or pull requests no longer reference (so no closing keyword can close them, and no
/// cross-reference lands on them), and `@someone` no longer mentions (nobody is notified).
/// The text reads the same: a zero-width space is put after `#`, `@` and `GH-`.
pub fn neutralize(text: &str) -> String {
    let text = MENTION.replace_all(text, format!("${{1}}@{BREAK}${{2}}").as_str());
    let text = REFERENCE.replace_all(&text, format!("${{1}}${{2}}{BREAK}${{3}}").as_str());
    LINK.replace_all(&text, format!("/${{1}}{BREAK}/${{2}}").as_str())
        .into_owned()
}

/// The comment when no LLM provider is configured.
pub const NO_LLM: &str =
    "GlobalLM has no LLM provider configured (`llm.provider`), so it cannot draft fixes here.";

/// The comment when the repository's language is not one GlobalLM drafts fixes for.
pub fn unsupported_language(language: Option<&str>) -> String {
    format!(
        "GlobalLM drafts fixes for Python, JavaScript/TypeScript, Go, Rust and Java; this repository's language is {}.",
        language.unwrap_or("unknown")
    )
}

/// The comment when the repository already has as many GlobalLM pull requests open as it allows.
pub fn open_limit(open: i64) -> String {
    format!(
        "GlobalLM has {open} pull request{} open in this repository, its limit (`max_open_prs` in `.github/globallm.yml`); it will not draft another until one is merged or closed. Ask again with `/globallm fix` then.",
        if open == 1 { "" } else { "s" }
    )
}

/// The comment when a fix job failed for good before a pull request was opened.
pub fn abandoned(attempts: i64) -> String {
    format!(
        "GlobalLM could not draft a fix for this issue: it failed {attempts} time{} on an error it could not get past, and has stopped. The operator's log and dashboard have the error. Ask again with `/globallm fix` (or the `globallm:fix` label) once it is resolved.",
        if attempts == 1 { "" } else { "s" }
    )
}

/// The comment for a draft that failed, by why.
pub fn draft_error_text(err: &DraftError) -> String {
    match err {
        DraftError::Budget { source, .. } => budget_exhausted(&source.to_string()),
        DraftError::Exhausted { attempts, .. } => draft_failed(*attempts, &err.to_string()),
        other => draft_error(&other.to_string()),
    }
}

/// The comment when GlobalLM's push was refused because the branch moved.
pub fn branch_moved(why: &str) -> String {
    format!(
        "GlobalLM did not push its new version: the branch moved since its last push ({why}). Nothing was overwritten."
    )
}

/// The comment on the issue when `/globallm fix` opened its pull request.
pub fn opened(pr: u64, tier: Tier) -> String {
    format!("Opened draft pull request #{pr} ({tier} risk). CI decides what happens next.")
}

/// The comment on the pull request when a new version was pushed.
pub fn pushed(repair: bool, sha: &str, tier: Tier, attempt: i64) -> String {
    let what = if repair { "a repair" } else { "a new version" };
    format!(
        "Pushed {what} ({}, {tier} risk, attempt {attempt}). CI decides what happens next.",
        short(sha)
    )
}

/// The comment when a green pull request waits for a freeze to end.
pub fn frozen(why: &str) -> String {
    format!(
        "CI is green, but merges are frozen in this repository ({why}), so GlobalLM is not merging this pull request. It will look again when CI reports on a new commit, or on `/globallm merge` once the freeze ends."
    )
}

/// The comment when a green pull request is outside the merge window (`automerge_schedule`):
/// when it next opens (`None`: not within a year).
pub fn merge_window(opens: Option<&str>) -> String {
    match opens {
        Some(at) => format!(
            "CI is green, but merges are outside this repository's merge window (`automerge_schedule`) now. GlobalLM will merge it when the window next opens, at {at} (after checking that the base branch has not moved since CI ran)."
        ),
        None => "CI is green, but no minute of the next year is inside this repository's merge window (`automerge_schedule`, and the service's), so GlobalLM is not merging it. Widen the window, or merge it by hand.".to_owned(),
    }
}

/// The comment when GlobalLM added a green pull request to the base branch's merge queue.
pub fn enqueued(base: &str) -> String {
    format!(
        "CI is green. `{base}` requires a merge queue, so GlobalLM added this pull request to it instead of merging: GitHub merges it once the queue's checks pass on it together with the changes ahead of it. If the queue removes it, GlobalLM treats that like failing CI."
    )
}

/// The comment when GitHub's merge queue merged a pull request GlobalLM added to it.
pub fn merged_by_queue(sha: &str, tier: Tier) -> String {
    format!(
        "Merged by GitHub's merge queue as {} after its checks passed: a **{tier}**-tier change. `git revert {}` undoes it.",
        short(sha),
        short(sha)
    )
}

/// The comment when someone took the pull request out of the merge queue by hand.
pub fn dequeued_by_hand() -> String {
    "This pull request was taken out of the merge queue by hand, so GlobalLM stops here: it will not push, re-run, queue or merge it. `/globallm resume` hands it back to GlobalLM.".to_owned()
}

/// The comment when GitHub refused the merge method the repository's config asks for.
pub fn merge_method_refused(method: &str, message: &str) -> String {
    format!(
        "CI is green, but GitHub refused to merge with `merge: {method}` ({}). Allow that method in the repository's settings (Settings → General → Pull Requests) or choose another in `.github/globallm.yml`; GlobalLM will look again when CI reports on a new commit.",
        neutralize(message)
    )
}

/// The comment when the base branch moved after CI ran and GlobalLM brought the branch up
/// to date.
pub fn updated(base: &str, old_head: &str, new_head: &str) -> String {
    format!(
        "`{base}` moved after CI ran on {}, so the result of merging was never tested. GlobalLM merged `{base}` into this branch ({}) and will decide again once CI has run on it.",
        short(old_head),
        short(new_head)
    )
}

/// The comment when the branch cannot be brought up to date without a human.
pub fn update_conflicts(base: &str) -> String {
    format!(
        "`{base}` moved after CI ran, and merging it into this branch conflicts. GlobalLM stops here: resolve the conflict (or `/globallm retry` to start over from `{base}`)."
    )
}

/// The comment when the fix label was put on an issue by someone who may not ask for fixes.
pub fn label_refused(sender: &str, label: &str) -> String {
    format!(
        "Thanks @{sender} — GlobalLM drafts fixes only when someone with write access to this repository asks, so it removed the `{label}` label. A maintainer can add it again, or comment `/globallm fix`."
    )
}

/// The comment when a green pull request waits for another to merge first.
pub fn turn(ahead: i64) -> String {
    format!(
        "CI is green. GlobalLM merges one pull request at a time per repository, in order of priority, and #{ahead} is on its way (brought up to date, its CI running): this one follows, brought up to date in its turn."
    )
}

/// What the post-merge guard says: the revert it opens, and on the pull request it reverts.
pub mod guard {
    use super::{failures, short};
    use crate::fix::ci::Failure;

    /// The revert pull request's title (GitHub's own form; the title reverted is GlobalLM's,
    /// neutralized when it was written).
    pub fn revert_title(title: &str) -> String {
        format!("Revert \"{title}\"")
    }

    /// The revert pull request's body. `Reverts owner/repo#N` is what GitHub's own revert
    /// button writes, and how a merged revert is recognised.
    pub fn revert_body(
        repo: &str,
        pr: i64,
        merge_sha: &str,
        parent: &str,
        base: &str,
        failed: &[Failure],
    ) -> String {
        format!(
            "Reverts {repo}#{pr}\n\nGlobalLM merged #{pr} as {}. These checks of `{base}` passed on the commit before it ({}) and fail on the merge:\n\n{}\n\nThis pull request undoes that merge. GlobalLM merges it once its CI is green when this repository lets LOW changes merge themselves and nobody pushed to `{base}` since; otherwise a maintainer decides. If the failing checks pass on a re-run first, GlobalLM closes it.",
            short(merge_sha),
            short(parent),
            failures(failed)
        )
    }

    /// The comment on the reverted pull request (and its issue).
    pub fn reverting(merge_sha: &str, revert_pr: u64, base: &str, failed: &[Failure]) -> String {
        format!(
            "After this was merged as {}, checks of `{base}` that passed before it fail:\n\n{}\n\nGlobalLM opened #{revert_pr} to revert it, reopened the issue, and lowered the ceiling of what it merges by itself in this repository by one tier.",
            short(merge_sha),
            failures(failed)
        )
    }

    /// The comment when the merge cannot be reverted without a human.
    pub fn unrevertable(merge_sha: &str, base: &str, failed: &[Failure]) -> String {
        format!(
            "After this was merged as {}, checks of `{base}` that passed before it fail:\n\n{}\n\nReverting it conflicts with what `{base}` gained since, so GlobalLM cannot revert it by itself: please revert or fix it by hand. GlobalLM lowered the ceiling of what it merges by itself in this repository by one tier.",
            short(merge_sha),
            failures(failed)
        )
    }

    /// The comment when the failing checks passed on a re-run before the revert merged.
    pub fn cleared(merge_sha: &str, checks: &[String]) -> String {
        format!(
            "The checks that failed on {} ({}) pass on a re-run, so the merge did not break them: GlobalLM closes this revert and restores the ceiling it had lowered.",
            short(merge_sha),
            checks
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// The comment when GlobalLM merged its revert.
    pub fn revert_merged(sha: &str) -> String {
        format!(
            "Merged as {} after green CI: the revert of GlobalLM's own change is a **LOW**-tier change.",
            short(sha)
        )
    }

    /// The comment when the revert waits for a maintainer, and why.
    pub fn revert_proposed(why: &str) -> String {
        format!("GlobalLM does not merge this revert by itself: {why}. A maintainer decides.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::risk::Reason;
    use crate::solution::draft::ChangedFile;

    fn draft(summary: &str, why: &str) -> FixDraft {
        FixDraft {
            issue: 7,
            title: "Totals".to_owned(),
            summary: summary.to_owned(),
            files: vec![ChangedFile {
                path: "src/cart.py".to_owned(),
                why: why.to_owned(),
                added: 1,
                removed: 1,
                created: false,
                is_test: false,
            }],
            diff: String::new(),
            tests: vec!["tests/test_cart.py".to_owned()],
            changes: Vec::new(),
            repo_has_tests: true,
            usage: crate::llm::Usage::default(),
            cost_usd: None,
            attempts: 1,
            localized: Vec::new(),
            index_cache: crate::solution::localize::CacheUse::Off,
            test_run: None,
        }
    }

    fn low() -> Assessment {
        Assessment {
            tier: Tier::Low,
            reasons: vec![Reason {
                tier: Tier::Low,
                text: "complexity 2".to_owned(),
            }],
        }
    }

    #[test]
    fn the_body_says_what_closes_what_changed_the_risk_and_the_cost() {
        let draft = draft("Round cart totals to cents.", "rounds the total");
        let body = pr_body(&PrContent {
            issue: 7,
            draft: &draft,
            assessment: &low(),
            merges_itself: true,
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

    /// What GitHub reads as a closing reference or a mention, as its docs describe them.
    fn closing_references(text: &str) -> Vec<String> {
        let closing = Regex::new(
            r"(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+((?:[\w.-]+/[\w.-]+)?#\d+|https?://\S+/(?:issues|pull)/\d+)",
        )
        .expect("valid");
        closing
            .captures_iter(text)
            .map(|c| c[1].to_owned())
            .collect()
    }

    fn mentions(text: &str) -> Vec<String> {
        let mention = Regex::new(r"(?:^|[^\w`])@([A-Za-z0-9][A-Za-z0-9-]*)").expect("valid");
        mention
            .captures_iter(text)
            .map(|c| c[1].to_owned())
            .collect()
    }

    #[test]
    fn the_model_cannot_close_other_issues_or_mention_people_from_the_body() {
        let draft = draft(
            "Round totals. Closes #12, fixes acme/other#3, resolves https://github.com/acme/shop/issues/9 and GH-4. cc @maria, @acme/security-team",
            "fixes #5 as @bob asked (see #6)",
        );
        let mut assessment = low();
        assessment.reasons.push(Reason {
            tier: Tier::Low,
            text: "closes #8 for @eve".to_owned(),
        });
        let body = pr_body(&PrContent {
            issue: 7,
            draft: &draft,
            assessment: &assessment,
            merges_itself: true,
            tokens: 1,
            cost_usd: 0.0,
            attempts: 1,
        });
        assert_eq!(closing_references(&body), ["#7"], "{body}");
        assert!(mentions(&body).is_empty(), "{body}");
        assert!(!body.contains("#6") && !body.contains("GH-4"), "{body}");
        // It still reads the same.
        assert!(
            body.contains(&"Closes #12".replace('#', "#\u{200B}")),
            "{body}"
        );
        // The title (it starts the commit message) refers to its own issue only.
        let title = pr_title(7, "Crash when @admin closes #3");
        assert_eq!(closing_references(&title), ["#7"], "{title}");
        assert!(mentions(&title).is_empty(), "{title}");
        assert_eq!(neutralize("mail a@b.com, `@code`"), "mail a@b.com, `@code`");
    }

    #[test]
    fn an_automerge_ceiling_turns_a_merge_into_a_review() {
        assert!(policy(Tier::Medium, false).contains("review is requested"));
        assert!(policy(Tier::Medium, true).contains("notified"));
        assert!(policy(Tier::Critical, true).contains("Nothing is automated"));
    }

    #[test]
    fn excerpts_are_one_bounded_line() {
        assert_eq!(excerpt("a\n  b", 10), "a b");
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }
}
