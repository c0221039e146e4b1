//! Drafting a fix in a checked-out work tree, the one entry point of the fix flow's local part
//! ([`draft_fix`]): localize the files, ask the LLM (`draft_fix` prompt, with the repository's
//! language and test framework) for search/replace edits that include a test, apply them,
//! validate the result (parses, no forbidden path, size limits, a test touched, optionally the
//! repository's test command in the sandbox), and on any failure send the precise problem back
//! to the LLM — at most `max_attempts` answers, every call within the budget. The accepted
//! change is left in the work tree, uncommitted; the caller commits and pushes it, and judges
//! its risk (`crate::fix::risk`): this module knows neither GitHub nor the policy.
//!
//! Issue text, comments, CI output and repository files reach the LLM only as delimited data
//! (`llm::prompts`). Whatever the LLM answers, a change to a forbidden path (CI workflows,
//! secrets, the repository's `forbidden_paths`) never passes validation, so it never reaches
//! the work tree.

mod prompt;
mod tree;

use prompt::{diff_paths, files_for_prompt, localize_in, put_first, rerank, tests_for_prompt};
use tree::{git, reset_to, revert, undo, work_tree_diff};

use super::blocks::{self, Answer, Proposal};
use super::conventions::{self, Conventions};
use super::edit::{self, FileChange};
use super::localize::{CacheUse, IndexCache};
use super::sandbox::{self, SandboxOptions, TestRun};
use super::validate::{self, ForbiddenPaths};
use crate::budget::BudgetError;
use crate::config::{Config, Language};
use crate::llm::client::{Llm, Scope};
use crate::llm::prompts::{self, DRAFT_FIX};
use crate::llm::{LlmError, Message, StopReason, Usage};
use crate::triage::category::Category;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The issue a fix is drafted for.
#[derive(Debug, Clone, Copy)]
pub struct IssueInput<'a> {
    /// Its number.
    pub number: u64,
    /// Its title.
    pub title: &'a str,
    /// Its body (Markdown).
    pub body: &'a str,
    /// Its category (from triage).
    pub category: Category,
    /// Its complexity, 1 to 10 (from triage).
    pub complexity: u8,
}

/// What a retry or a repair adds to the issue.
#[derive(Debug, Clone, Copy, Default)]
pub struct Feedback<'a> {
    /// A maintainer's comment (e.g. the text of `/globallm retry …`).
    pub request: Option<&'a str>,
    /// The failing CI output of the previous change (a repair).
    pub ci_output: Option<&'a str>,
    /// The previous change's unified diff: its files are shown to the LLM first.
    pub previous_diff: Option<&'a str>,
}

/// Knobs of the pipeline; the defaults suit the service.
#[derive(Debug, Clone)]
pub struct DraftOptions {
    /// Size limits of a change.
    pub limits: validate::Limits,
    /// Files localized.
    pub candidates: usize,
    /// Of those, files shown to the LLM in full (or by excerpts when larger than
    /// `max_file_chars`).
    pub prompt_files: usize,
    /// The largest file shown in full, in characters.
    pub max_file_chars: usize,
    /// Whether the LLM re-ranks the localized files first (`localize_files`, one more call).
    pub rerank: bool,
    /// Where localization keeps each tree's index (`<data dir>/index`), so a second fix in
    /// the same repository does not parse its files again; `None` indexes every time.
    pub index_cache: Option<IndexCache>,
    /// Whether the repository's `test_command` runs in the sandbox before a change is accepted
    /// (also needs the repository to set one).
    pub run_tests: bool,
    /// How the test command runs.
    pub sandbox: SandboxOptions,
}

impl DraftOptions {
    /// The options the service's configuration sets (`fix.*`, the index cache in the data
    /// directory), the rest their defaults.
    pub fn from_config(config: &Config) -> Self {
        Self {
            run_tests: config.fix.run_tests,
            rerank: config.fix.rerank,
            sandbox: SandboxOptions::from_config(&config.fix),
            index_cache: Some(IndexCache::new(config.storage.index_dir())),
            ..Self::default()
        }
    }
}

impl Default for DraftOptions {
    fn default() -> Self {
        Self {
            limits: validate::Limits::default(),
            candidates: 8,
            prompt_files: 3,
            max_file_chars: 16_000,
            rerank: false,
            index_cache: None,
            run_tests: false,
            sandbox: SandboxOptions::default(),
        }
    }
}

/// Everything [`draft_fix`] needs.
#[derive(Debug, Clone)]
pub struct DraftInput<'a> {
    /// The work tree, checked out on a clean branch.
    pub work_tree: &'a Path,
    /// `owner/name`.
    pub repo: &'a str,
    /// The repository's language (its budget scope and prompt).
    pub language: Language,
    /// The issue.
    pub issue: IssueInput<'a>,
    /// The paths no change may touch (built-in, the service's and the repository's rules).
    pub forbidden: &'a ForbiddenPaths,
    /// The repository's test command (`test_command` of its `.github/globallm.yml`).
    pub test_command: Option<&'a str>,
    /// The budgeted LLM client.
    pub llm: &'a Llm,
    /// A maintainer's request and/or failing CI output.
    pub feedback: Feedback<'a>,
    /// LLM answers at most (0 counts as 1).
    pub max_attempts: u32,
    /// Knobs.
    pub options: DraftOptions,
}

/// A file of the accepted change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedFile {
    /// Its path.
    pub path: String,
    /// Why it changes, in one line (the LLM's `WHY:`).
    pub why: String,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// Whether the change creates it.
    pub created: bool,
    /// Whether it is a test file.
    pub is_test: bool,
}

/// An accepted fix, applied (uncommitted) in the work tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixDraft {
    /// The issue's number.
    pub issue: u64,
    /// The issue's title.
    pub title: String,
    /// What the change does, in one line (for the pull request).
    pub summary: String,
    /// The changed files and why.
    pub files: Vec<ChangedFile>,
    /// `git diff` of the work tree (created files included).
    pub diff: String,
    /// The test files touched.
    pub tests: Vec<String>,
    /// The change, file by file (content before and after), for the risk assessment.
    #[serde(skip)]
    pub changes: Vec<FileChange>,
    /// Whether the repository has tests beside the ones the change touches.
    pub repo_has_tests: bool,
    /// Tokens of every call (localization re-rank and every attempt).
    pub usage: Usage,
    /// Estimated cost in USD (`None`: no configured price for the model).
    pub cost_usd: Option<f64>,
    /// LLM answers asked for the edits.
    pub attempts: u32,
    /// The files localization ranked first, best first.
    pub localized: Vec<String>,
    /// Whether localization read the tree's index from the cache.
    #[serde(skip)]
    pub index_cache: CacheUse,
    /// The repository's test command's run, when it ran.
    pub test_run: Option<TestRun>,
}

/// Why no fix was drafted.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    /// The budget has no room: no LLM call was made for the refused request (earlier calls of
    /// this draft, if any, were spent). The caller says so in a comment.
    #[error("{source}")]
    Budget {
        /// The cap that refused.
        #[source]
        source: BudgetError,
        /// LLM answers already received for the edits.
        attempts: u32,
    },
    /// The work tree cannot be used (missing, not a git work tree, not clean) or git failed.
    #[error("work tree {path}: {message}")]
    WorkTree {
        /// The work tree.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The LLM call failed (after the LLM layer's own retries and fallback).
    #[error("the LLM call failed: {0}")]
    Llm(#[source] LlmError),
    /// The model refused to answer.
    #[error("the model refused to draft a fix: {0}")]
    Refused(String),
    /// The model answered that the issue cannot be fixed safely.
    #[error("the model declined to fix the issue: {reason}")]
    Declined {
        /// Its reason.
        reason: String,
        /// Tokens spent.
        usage: Usage,
    },
    /// No answer passed validation within `max_attempts`.
    #[error("no acceptable change after {attempts} attempts; the last problem: {last_problem}")]
    Exhausted {
        /// Answers received.
        attempts: u32,
        /// Why the last one was refused (as sent back to the LLM).
        last_problem: String,
        /// Tokens spent.
        usage: Usage,
    },
    /// A prompt was rendered with wrong inputs (a programming error).
    #[error(transparent)]
    Prompt(#[from] prompts::PromptError),
    /// The repository's test command could not be started.
    #[error(transparent)]
    Sandbox(#[from] sandbox::SandboxError),
}

/// Whether an issue is about dependencies: then lockfiles may change (validation) and a
/// manifest change is expected (the risk tier still says HIGH).
pub fn about_dependencies(title: &str, body: &str) -> bool {
    let text = format!("{title}\n{body}").to_lowercase();
    [
        "dependency",
        "dependencies",
        "lockfile",
        "lock file",
        "package-lock",
        "cargo.lock",
        "yarn.lock",
        "poetry.lock",
        "go.sum",
        "bump ",
        "upgrade ",
    ]
    .iter()
    .any(|w| text.contains(w))
}

/// Drafts a fix; see the module documentation.
pub async fn draft_fix(input: DraftInput<'_>) -> Result<FixDraft, DraftError> {
    let DraftInput {
        work_tree,
        repo,
        language,
        issue,
        forbidden,
        test_command,
        llm,
        feedback,
        max_attempts,
        options,
    } = input;
    let tree_error = |message: String| DraftError::WorkTree {
        path: work_tree.to_path_buf(),
        message,
    };
    let status = git(work_tree, &["status", "--porcelain"])
        .await
        .map_err(tree_error)?;
    if !status.trim().is_empty() {
        return Err(tree_error(format!(
            "it has uncommitted changes:\n{}",
            status.trim_end()
        )));
    }
    // Tests that are to run but cannot be isolated are refused before any LLM call.
    if options.run_tests && test_command.is_some() {
        sandbox::check(&options.sandbox).await?;
    }
    let scope = Scope { repo, language };
    let mut spent = Spent::default();

    // Localize: lexically, then (optionally) re-ranked by the LLM.
    let tracked: Vec<String> = git(work_tree, &["ls-files", "-z"])
        .await
        .map_err(tree_error)?
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let (mut candidates, index_cache) = localize_in(
        work_tree,
        issue,
        options.candidates,
        options.index_cache.clone(),
    )
    .await
    .map_err(tree_error)?;
    if let Some(diff) = feedback.previous_diff {
        put_first(&mut candidates, &diff_paths(diff), work_tree);
    }
    if options.rerank && candidates.len() > 1 {
        rerank(llm, scope, issue, &mut candidates, &mut spent).await?;
    }
    let localized: Vec<String> = candidates.iter().map(|c| c.path.clone()).collect();

    let test_files = conventions::test_files(tracked.iter().map(String::as_str));
    let conventions = conventions::detect(work_tree, language, &test_files);
    let files_text = files_for_prompt(work_tree, &candidates, &options);
    let tests_text = tests_for_prompt(work_tree, &candidates, &test_files);
    let rendered = DRAFT_FIX.render(&[
        ("repo", repo),
        ("language", conventions.language),
        ("test_framework", &conventions.test_framework),
        ("conventions", &conventions.guidance),
        ("title", issue.title),
        ("body", issue.body),
        ("request", feedback.request.unwrap_or_default()),
        ("ci_output", feedback.ci_output.unwrap_or_default()),
        ("files", &files_text),
        ("tests", &tests_text),
    ])?;
    let mut request = rendered.request;
    let attempts_allowed = max_attempts.max(1);
    let context = Context {
        work_tree,
        issue,
        forbidden,
        options: &options,
        conventions: &conventions,
        test_command,
    };
    let mut last_problem = String::new();
    for attempt in 1..=attempts_allowed {
        let response = match llm.complete(scope, DRAFT_FIX.name, request.clone()).await {
            Ok(response) => response,
            Err(LlmError::Budget(source)) => {
                return Err(DraftError::Budget {
                    source,
                    attempts: attempt - 1,
                });
            }
            Err(err) => return Err(DraftError::Llm(err)),
        };
        spent.add(llm, &response.model, response.usage);
        if response.stop_reason == StopReason::Refusal {
            return Err(DraftError::Refused(response.text));
        }
        let problem = match blocks::parse(&response.text) {
            Ok(Answer::CannotFix(reason)) => {
                return Err(DraftError::Declined {
                    reason,
                    usage: spent.usage,
                });
            }
            Ok(Answer::Edits(proposal)) => match context.accept(&proposal).await? {
                Ok((changes, test_run)) => {
                    let diff = work_tree_diff(work_tree, &changes)
                        .await
                        .map_err(tree_error)?;
                    return Ok(finish(FinishInput {
                        issue,
                        proposal,
                        changes,
                        diff,
                        repo_has_tests: !test_files.is_empty(),
                        spent,
                        attempts: attempt,
                        localized,
                        index_cache,
                        test_run,
                    }));
                }
                Err(problem) => problem,
            },
            Err(format) if response.stop_reason == StopReason::MaxTokens => format!(
                "{format} (the answer was cut at the output limit: change less, or give shorter blocks)"
            ),
            Err(format) => format.to_string(),
        };
        tracing::info!(
            repo,
            issue = issue.number,
            attempt,
            "draft refused, asking again: {}",
            first_line(&problem)
        );
        last_problem = problem;
        if attempt < attempts_allowed {
            request.messages.push(Message::assistant(response.text));
            request.messages.push(Message::user(format!(
                "Your answer cannot be used yet. The problems found (the files are unchanged):\n{}\n\nAnswer again in the same format with the complete, corrected set of edits.",
                prompts::delimit("problems", &last_problem)
            )));
        }
    }
    Err(DraftError::Exhausted {
        attempts: attempts_allowed,
        last_problem,
        usage: spent.usage,
    })
}

/// Tokens and cost of the calls so far.
#[derive(Debug, Default)]
struct Spent {
    usage: Usage,
    cost_usd: Option<f64>,
}

impl Spent {
    fn add(&mut self, llm: &Llm, model: &str, usage: Usage) {
        self.usage.input_tokens += usage.input_tokens;
        self.usage.output_tokens += usage.output_tokens;
        self.usage.estimated |= usage.estimated;
        if let Some(price) = llm.config().llm.price_of(model) {
            let cost = (usage.input_tokens as f64 * price.input_usd_per_mtok
                + usage.output_tokens as f64 * price.output_usd_per_mtok)
                / 1_000_000.0;
            *self.cost_usd.get_or_insert(0.0) += cost;
        }
    }
}

/// What checking a proposal needs.
struct Context<'a> {
    work_tree: &'a Path,
    issue: IssueInput<'a>,
    forbidden: &'a ForbiddenPaths,
    options: &'a DraftOptions,
    conventions: &'a Conventions,
    test_command: Option<&'a str>,
}

impl Context<'_> {
    /// Applies and checks a proposal. `Ok(Ok(..))`: accepted and written; `Ok(Err(problem))`:
    /// refused, nothing left in the tree, `problem` is for the LLM; `Err`: the draft cannot
    /// go on.
    async fn accept(
        &self,
        proposal: &Proposal,
    ) -> Result<Result<(Vec<FileChange>, Option<TestRun>), String>, DraftError> {
        let changes = match edit::plan_edits(self.work_tree, &proposal.edits) {
            Ok(changes) => changes,
            Err(errors) => return Ok(Err(errors.to_string())),
        };
        if changes.is_empty() {
            return Ok(Err(
                "the edits change nothing: each replacement equals its search text".to_owned(),
            ));
        }
        let problems = validate::validate(&changes, self.forbidden, &self.options.limits);
        if !problems.is_empty() {
            return Ok(Err(validate::feedback(&problems)));
        }
        if let Some(problem) = self.missing_test(&changes) {
            return Ok(Err(problem));
        }
        if let Err(errors) = edit::apply_edits(self.work_tree, &proposal.edits) {
            revert(self.work_tree, &changes);
            return Ok(Err(errors.to_string()));
        }
        let test_run = match self.test_command.filter(|_| self.options.run_tests) {
            Some(command) => {
                // The tests run on a copy; the work tree is then put back to exactly the
                // validated change all the same, so nothing they could have written survives.
                let run = sandbox::run_tests(self.work_tree, command, &self.options.sandbox).await;
                if let Err(message) = reset_to(self.work_tree, &changes).await {
                    undo(self.work_tree, &changes).await;
                    return Err(DraftError::WorkTree {
                        path: self.work_tree.to_path_buf(),
                        message,
                    });
                }
                let run = match run {
                    Ok(run) => run,
                    Err(err) => {
                        undo(self.work_tree, &changes).await;
                        return Err(err.into());
                    }
                };
                if !run.passed() {
                    undo(self.work_tree, &changes).await;
                    let how = match run.outcome {
                        sandbox::Outcome::TimedOut => {
                            format!("did not finish within {:?}", self.options.sandbox.timeout)
                        }
                        sandbox::Outcome::Failed(Some(code)) => format!("exited with {code}"),
                        _ => "was killed by a signal".to_owned(),
                    };
                    return Ok(Err(format!(
                        "the repository's tests fail with the change: `{command}` {how}. Its output:\n{}",
                        run.output
                    )));
                }
                Some(run)
            }
            None => None,
        };
        Ok(Ok((changes, test_run)))
    }

    /// The problem when a code change comes without a test (docs issues and changes to non-code
    /// files need none).
    fn missing_test(&self, changes: &[FileChange]) -> Option<String> {
        if self.issue.category == Category::Docs || changes.iter().any(|c| c.is_test()) {
            return None;
        }
        let code: Vec<&str> = changes
            .iter()
            .filter(|c| super::parse::Lang::from_path(Path::new(&c.path)).is_some())
            .map(|c| c.path.as_str())
            .collect();
        if code.is_empty() {
            return None;
        }
        Some(format!(
            "the change has no test: add or extend a {} test that fails without the fix and passes with it (changed code: {}). {}",
            self.conventions.test_framework,
            code.join(", "),
            self.conventions.guidance
        ))
    }
}

struct FinishInput<'a> {
    issue: IssueInput<'a>,
    proposal: Proposal,
    changes: Vec<FileChange>,
    diff: String,
    repo_has_tests: bool,
    spent: Spent,
    attempts: u32,
    localized: Vec<String>,
    index_cache: CacheUse,
    test_run: Option<TestRun>,
}

fn finish(f: FinishInput<'_>) -> FixDraft {
    let files: Vec<ChangedFile> = f
        .changes
        .iter()
        .map(|c| {
            let (added, removed) = c.line_counts();
            let why = f
                .proposal
                .files
                .iter()
                .find(|(path, why)| path.trim_start_matches("./") == c.path && !why.is_empty())
                .map(|(_, why)| why.clone())
                .unwrap_or_default();
            ChangedFile {
                path: c.path.clone(),
                why,
                added,
                removed,
                created: c.before.is_none(),
                is_test: c.is_test(),
            }
        })
        .collect();
    let tests = files
        .iter()
        .filter(|f| f.is_test)
        .map(|f| f.path.clone())
        .collect();
    let summary = if f.proposal.summary.is_empty() {
        format!("Fix #{}: {}", f.issue.number, f.issue.title)
    } else {
        f.proposal.summary
    };
    FixDraft {
        issue: f.issue.number,
        title: f.issue.title.to_owned(),
        summary,
        files,
        diff: f.diff,
        tests,
        changes: f.changes,
        repo_has_tests: f.repo_has_tests,
        usage: f.spent.usage,
        cost_usd: f.spent.cost_usd,
        attempts: f.attempts,
        localized: f.localized,
        index_cache: f.index_cache,
        test_run: f.test_run,
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests;
