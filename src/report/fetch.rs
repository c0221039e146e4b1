//! Reading and scoring one repository for `issues --repo` and `report`: its description, its
//! tree (tests), its default branch's CI, its issue resolution rate and its open issues, each
//! triaged and stored (never written on GitHub), with the scope the localizer expects when a
//! local checkout is given, and which issues look fixable and why.

use super::access::RepoAccess;
use crate::config::Config;
use crate::context::Context;
use crate::event::model::{Issue, Repository};
use crate::github::ids::RepoName;
use crate::solution::localize::{self, IndexCache, IssueText, Limits};
use crate::time::Millis;
use crate::triage::category::Category;
use crate::triage::rank::Ranked;
use crate::triage::signals::{self, LiveFacts, RepoScores, Scope};
use crate::triage::{self, Assessment, Measured};
use std::path::Path;

/// Files the localizer ranks for an issue's scope.
const SCOPE_CANDIDATES: usize = 5;
/// A candidate within this share of the best one's score is a file the fix likely touches.
const LIKELY_SHARE: f64 = 0.5;

/// What to read.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// Open issues to fetch at most (oldest first).
    pub max_issues: usize,
    /// A local checkout of the repository, for the localizer's scope of each issue.
    pub checkout: Option<&'a Path>,
}

/// Whether an issue looks like one GlobalLM could fix, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fixability {
    /// Whether it looks fixable.
    pub fixable: bool,
    /// Why (or why not), one reason each.
    pub reasons: Vec<String>,
}

/// One scored issue.
#[derive(Debug, Clone)]
pub struct ScoredIssue {
    /// Its rank entry (number, title, category, priority with its terms).
    pub ranked: Ranked,
    /// Everything its triage decided.
    pub assessment: Assessment,
    /// Whether it looks fixable.
    pub fixability: Fixability,
}

/// A repository read and scored.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The repository.
    pub repository: Repository,
    /// How it was read, for people.
    pub read_as: String,
    /// Whether it has installed the App.
    pub installed: bool,
    /// What was measured beyond its description.
    pub facts: LiveFacts,
    /// Its health, impact and redundancy, with their inputs.
    pub scores: RepoScores,
    /// Files in its tree, when it was read.
    pub tree_files: Option<usize>,
    /// Its open issues, best first.
    pub issues: Vec<ScoredIssue>,
    /// When it was read.
    pub at: Millis,
}

/// Measures the repository's tree, CI and resolution rate (90 days), a rate limit explained.
pub async fn measure(
    access: &RepoAccess,
    repository: &Repository,
    now: Millis,
) -> anyhow::Result<(LiveFacts, Option<usize>)> {
    signals::measure(&access.client, access.auth(), repository, now)
        .await
        .map_err(|err| access.explain(err, &format!("measuring {}", repository.name)))
}

/// Whether a local checkout holds tests (any path a test by `paths::is_test_path`), looked
/// at when the tree listing could not say (an empty answer, or cut short on a huge tree).
pub fn checkout_has_tests(checkout: &Path) -> bool {
    ignore::WalkBuilder::new(checkout)
        .hidden(true)
        .parents(false)
        .ignore(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| {
            e.path().strip_prefix(checkout).ok().map(|relative| {
                relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/")
            })
        })
        .any(|path| crate::solution::paths::is_test_path(&path))
}

/// What the localizer expects a fix of `issue` to touch in the checkout: the files within
/// [`LIKELY_SHARE`] of the best one, their size and whether they declare public symbols.
/// With `cache`, the checkout is indexed once for all its issues.
pub fn scope_of(
    checkout: &Path,
    issue: &Issue,
    cache: Option<&IndexCache>,
) -> anyhow::Result<Scope> {
    let text = IssueText {
        title: issue.title.clone(),
        body: issue.body.clone(),
    };
    let found = localize::localize_with(
        checkout,
        &text,
        SCOPE_CANDIDATES,
        Limits::default(),
        cache,
        localize::History::of_work_tree(checkout).as_ref(),
    )?;
    let Some(best) = found.candidates.first() else {
        return Ok(Scope::default());
    };
    let likely: Vec<_> = found
        .candidates
        .iter()
        .filter(|c| c.score >= best.score * LIKELY_SHARE)
        .collect();
    let bytes: u64 = likely
        .iter()
        .filter_map(|c| std::fs::metadata(checkout.join(&c.path)).ok())
        .map(|m| m.len())
        .sum();
    Ok(Scope {
        code_bytes: Some(bytes as f64),
        expected_files: Some(likely.len() as f64),
        public_api: Some(likely.iter().any(|c| !c.symbols.is_empty())),
        track_record: None,
    })
}

/// Whether an issue looks fixable under the risk policy, and why: questions and security
/// issues are never automated, complexity above `risk.medium_max_complexity` does not merge
/// itself, and a repository without tests cannot check a fix.
pub fn fixability(assessment: &Assessment, config: &Config) -> Fixability {
    let risk = &config.risk;
    let c = &assessment.categorized;
    let s = &assessment.solvability;
    let mut reasons = Vec::new();
    let mut fixable = true;
    match c.category {
        Category::Security => {
            fixable = false;
            reasons.push("a security issue: never automated (CRITICAL)".to_owned());
        }
        Category::Question => {
            fixable = false;
            reasons.push("a question: it needs an answer, not a code change".to_owned());
        }
        _ => {}
    }
    if c.complexity <= risk.low_max_complexity {
        reasons.push(format!("complexity {}/10: a LOW-risk change", c.complexity));
    } else if c.complexity <= risk.medium_max_complexity {
        reasons.push(format!(
            "complexity {}/10: a MEDIUM-risk change",
            c.complexity
        ));
    } else {
        fixable = false;
        reasons.push(format!(
            "complexity {}/10: above {}, too risky to automate",
            c.complexity, risk.medium_max_complexity
        ));
    }
    match s.has_tests {
        Some(true) => reasons.push("the repository has tests to check a fix".to_owned()),
        Some(false) => {
            fixable = false;
            reasons.push("the repository has no tests to check a fix".to_owned());
        }
        None => reasons.push("whether the repository has tests is unknown".to_owned()),
    }
    if let Some(files) = s.expected_files {
        reasons.push(format!("the fix likely touches {files:.0} file(s)"));
    }
    if s.public_api == Some(true) {
        reasons.push("the likely files declare public symbols: a breaking risk".to_owned());
    }
    Fixability { fixable, reasons }
}

/// Reads, triages (stored, not written on GitHub) and ranks a repository's open issues, best
/// first. `progress` hears (done, total).
pub async fn score_repository(
    ctx: &Context,
    access: &RepoAccess,
    repo: &RepoName,
    options: Options<'_>,
    mut progress: impl FnMut(usize, usize),
) -> anyhow::Result<Scored> {
    let (client, auth) = (&access.client, access.auth());
    let repository = client
        .repo_as(auth, repo)
        .await
        .map_err(|err| access.explain(err, &format!("reading {repo}")))?;
    let now = ctx.clock.now_ms();
    let (mut facts, tree_files) = measure(access, &repository, now).await?;
    if facts.has_tests.is_none()
        && let Some(dir) = options.checkout
    {
        facts.has_tests = Some(checkout_has_tests(dir));
    }
    let config = ctx.config();
    let scores = signals::repo_scores(
        ctx.db.pool(),
        &ctx.db,
        &repository,
        &config.scoring,
        now,
        Some(&facts),
    )
    .await?;
    let open = client
        .open_issues_as(auth, repo, options.max_issues)
        .await
        .map_err(|err| access.explain(err, &format!("listing the open issues of {repo}")))?;
    // Every issue is localized in the same checkout: its index is built for the first and
    // read from the service's index cache for the others.
    let cache = IndexCache::new(config.storage.index_dir());
    let mut issues = Vec::with_capacity(open.len());
    for (done, issue) in open.iter().enumerate() {
        let scope = match options.checkout {
            Some(dir) => Some(scope_of(dir, issue, Some(&cache))?),
            None => None,
        };
        // The repository's terms were stored with the facts above: read, not written again.
        let measured = Measured { facts: None, scope };
        let assessment = triage::assess_measured(ctx, &repository, issue, now, measured).await?;
        triage::record(ctx, &repository, issue, &assessment).await?;
        issues.push(ScoredIssue {
            ranked: Ranked {
                repo: repo.to_string(),
                number: issue.number.as_db(),
                title: issue.title.clone(),
                category: assessment.categorized.category,
                complexity: i64::from(assessment.categorized.complexity),
                age_days: assessment.age_days,
                priority: assessment.priority,
            },
            fixability: fixability(&assessment, &config),
            assessment,
        });
        progress(done + 1, open.len());
    }
    issues.sort_by(|a, b| {
        b.ranked
            .priority
            .score
            .total_cmp(&a.ranked.priority.score)
            .then(a.ranked.number.cmp(&b.ranked.number))
    });
    Ok(Scored {
        repository,
        read_as: access.describe(),
        installed: access.installed(),
        facts,
        scores,
        tree_files,
        issues,
        at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::model::{AccountKind, State, User};
    use crate::github::ids::IssueNumber;

    fn issue(title: &str, body: &str) -> Issue {
        Issue {
            number: IssueNumber(1),
            title: title.to_owned(),
            body: body.to_owned(),
            state: State::Open,
            locked: false,
            labels: Vec::new(),
            assignees: Vec::new(),
            author: User {
                id: crate::github::ids::UserId(7),
                login: "reporter".to_owned(),
                kind: AccountKind::User,
            },
            comments: 0,
            reactions: 0,
            created_at: 0,
            updated_at: 0,
            is_pull_request: false,
        }
    }

    #[test]
    fn a_local_checkout_gives_the_scope_the_localizer_expects() {
        let dir = tempfile::tempdir().expect("a directory");
        let write = |path: &str, text: &str| {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
            std::fs::write(file, text).expect("written");
        };
        let cart = "def cart_total(items):\n    return sum(i.price for i in items)\n";
        write("shop/cart.py", cart);
        write("shop/_util.py", "def _round(x):\n    return x\n");
        write("docs/index.md", "# Shop\n");
        write(
            "tests/test_cart.py",
            "from shop.cart import cart_total\n\n\ndef test_empty():\n    assert cart_total([]) == 0\n",
        );
        let scope = scope_of(
            dir.path(),
            &issue(
                "cart_total ignores the quantity",
                "`cart_total` in shop/cart.py sums prices and forgets each item's quantity.",
            ),
            None,
        )
        .expect("localized");
        assert_eq!(scope.expected_files, Some(1.0), "{scope:?}");
        assert_eq!(scope.code_bytes, Some(cart.len() as f64));
        assert_eq!(
            scope.public_api,
            Some(true),
            "cart_total is a public function"
        );

        let nothing = scope_of(dir.path(), &issue("zzzz qqqq", ""), None).expect("localized");
        assert_eq!(nothing, Scope::default(), "no candidate: nothing measured");

        assert!(checkout_has_tests(dir.path()), "tests/test_cart.py");
        std::fs::remove_dir_all(dir.path().join("tests")).expect("removed");
        assert!(!checkout_has_tests(dir.path()));
    }
}
