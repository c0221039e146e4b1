//! What the `draft_fix` prompt is built from: the localized candidates (lexical, the previous
//! change's files first in a repair, optionally re-ranked by the LLM), the candidates' content
//! and their related tests.

use super::{DraftError, DraftOptions, IssueInput, Spent};
use crate::llm::LlmError;
use crate::llm::client::{Llm, Scope};
use crate::llm::prompts::{LOCALIZE_FILES, Localization};
use crate::solution::conventions;
use crate::solution::localize::{self, CacheUse, Candidate, IndexCache, IssueText};
use crate::solution::paths;
use crate::solution::tree_file;
use std::fmt::Write as _;
use std::path::Path;

/// Runs localization off the async threads, through the index cache when there is one.
pub(super) async fn localize_in(
    work_tree: &Path,
    issue: IssueInput<'_>,
    top: usize,
    cache: Option<IndexCache>,
) -> Result<(Vec<Candidate>, CacheUse), String> {
    let root = work_tree.to_path_buf();
    let text = IssueText {
        title: issue.title.to_owned(),
        body: issue.body.to_owned(),
    };
    tokio::task::spawn_blocking(move || {
        localize::localize_with(
            &root,
            &text,
            top,
            localize::Limits::default(),
            cache.as_ref(),
            localize::History::of_work_tree(&root).as_ref(),
        )
    })
    .await
    .map_err(|err| format!("localization stopped: {err}"))?
    .map(|report| (report.candidates, report.index_cache))
    .map_err(|err| format!("localization failed: {err:#}"))
}

/// The files of a unified diff (`+++ b/…` lines, and `--- a/…` for deletions).
pub(super) fn diff_paths(diff: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in diff.lines() {
        let path = line
            .strip_prefix("+++ b/")
            .or_else(|| line.strip_prefix("--- a/"));
        if let Some(path) = path.map(str::trim)
            && !out.iter().any(|p| p == path)
        {
            out.push(path.to_owned());
        }
    }
    out
}

/// Moves (or adds) `first` files to the front of the candidates, in order.
pub(super) fn put_first(candidates: &mut Vec<Candidate>, first: &[String], work_tree: &Path) {
    for path in first.iter().rev() {
        if let Some(at) = candidates.iter().position(|c| &c.path == path) {
            let c = candidates.remove(at);
            candidates.insert(0, c);
        } else if tree_file::is_file(work_tree, path) {
            candidates.insert(
                0,
                Candidate {
                    path: path.clone(),
                    score: 0.0,
                    reasons: vec!["changed by the previous attempt".to_owned()],
                    symbols: Vec::new(),
                    excerpts: Vec::new(),
                    features: None,
                },
            );
        }
    }
}

/// The LLM's re-rank of the candidates: the files it picks first, in its order, then the rest.
/// A failed call keeps the lexical order; only a budget refusal stops the draft.
pub(super) async fn rerank(
    llm: &Llm,
    scope: Scope<'_>,
    issue: IssueInput<'_>,
    candidates: &mut Vec<Candidate>,
    spent: &mut Spent,
) -> Result<(), DraftError> {
    let listing = localize::render_candidates(candidates);
    let prompt = match LOCALIZE_FILES.render(&[
        ("repo", scope.repo),
        ("title", issue.title),
        ("body", issue.body),
        ("candidates", &listing),
    ]) {
        Ok(prompt) => prompt,
        Err(err) => {
            tracing::error!("localize_files prompt: {err}");
            return Ok(());
        }
    };
    match llm.ask::<Localization>(scope, &prompt).await {
        Ok(answer) => {
            // Every ask `ask` made, not only the last.
            spent.add(llm, &answer.response.model, answer.usage);
            let picked: Vec<String> = answer
                .value
                .files
                .into_iter()
                .map(|f| f.path.trim_start_matches("./").to_owned())
                .collect();
            let mut reordered = Vec::with_capacity(candidates.len());
            for path in &picked {
                if let Some(at) = candidates.iter().position(|c| &c.path == path) {
                    let mut c = candidates.remove(at);
                    c.reasons.insert(0, "chosen by the LLM re-rank".to_owned());
                    reordered.push(c);
                }
            }
            reordered.append(candidates);
            *candidates = reordered;
            Ok(())
        }
        Err(LlmError::Budget(source)) => Err(DraftError::Budget {
            source,
            attempts: 0,
        }),
        Err(err) => {
            tracing::warn!(
                repo = scope.repo,
                "LLM re-rank failed, keeping the lexical order: {err}"
            );
            Ok(())
        }
    }
}

/// The candidate files' content for the prompt: whole when small enough, else the excerpts.
pub(super) fn files_for_prompt(
    work_tree: &Path,
    candidates: &[Candidate],
    options: &DraftOptions,
) -> String {
    let mut out = String::new();
    for c in candidates.iter().take(options.prompt_files) {
        let Ok(text) = tree_file::read_text(work_tree, &c.path) else {
            continue;
        };
        let reasons = if c.reasons.is_empty() {
            String::new()
        } else {
            format!(" — {}", c.reasons.join("; "))
        };
        if text.chars().count() <= options.max_file_chars {
            let _ = writeln!(
                out,
                "FILE {}{reasons}\n{}",
                c.path,
                text.trim_end_matches('\n')
            );
        } else {
            let _ = writeln!(
                out,
                "FILE {}{reasons} ({} lines; too large to show whole: excerpts, copy SEARCH lines from them)",
                c.path,
                text.lines().count()
            );
            for e in &c.excerpts {
                let _ = writeln!(out, "[lines {}-{}]\n{}", e.start_line, e.end_line, e.text);
            }
        }
        out.push('\n');
    }
    let others: Vec<&str> = candidates
        .iter()
        .skip(options.prompt_files)
        .map(|c| c.path.as_str())
        .collect();
    if !others.is_empty() {
        let _ = writeln!(
            out,
            "Other candidate files (not shown): {}",
            others.join(", ")
        );
    }
    out
}

/// The tests related to the first candidates, each cut at 8,000 characters.
pub(super) fn tests_for_prompt(
    work_tree: &Path,
    candidates: &[Candidate],
    tests: &[String],
) -> String {
    let mut shown: Vec<&str> = Vec::new();
    for c in candidates.iter().take(2) {
        if c.is_test() {
            continue;
        }
        if let Some(t) = conventions::related_tests(&c.path, tests)
            .into_iter()
            .find(|t| !shown.contains(t))
        {
            shown.push(t);
        }
    }
    let mut out = String::new();
    for t in shown {
        let Ok(text) = tree_file::read_text(work_tree, t) else {
            continue;
        };
        let cut: String = text.chars().take(8_000).collect();
        let more = if cut.len() < text.len() {
            "\n[… cut …]"
        } else {
            ""
        };
        let _ = writeln!(out, "FILE {t}\n{}{more}\n", cut.trim_end_matches('\n'));
    }
    if out.is_empty() {
        out.push_str("(no related test found)");
    }
    out
}

impl Candidate {
    fn is_test(&self) -> bool {
        paths::is_test_path(&self.path)
    }
}
