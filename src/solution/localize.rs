//! Localization: which files of a repository an issue is most likely about. BM25F over three
//! fields of each file — its path, its symbol names (tree-sitter) and its content — boosted by
//! what the issue quotes: stack-trace frames, file paths, and identifiers the file declares or
//! mentions. The result (scores, reasons, excerpts) is the `candidates` input of the LLM's
//! `localize_files` prompt and the output of `globallm localize`.
//!
//! BM25 rather than TF-IDF: term-frequency saturation keeps a file that repeats `config` 300
//! times from beating one that defines the issue's function, and length normalization keeps the
//! largest files from winning by size. Per-field weights (BM25F) let a term in a path or a
//! symbol name count for more than one in a comment.

mod index;
mod signals;

pub use index::{Limits, Skipped};

use anyhow::Context as _;
use index::{CONTENT, Corpus, Doc, PATH, SYMBOLS};
use serde::{Deserialize, Serialize};
use signals::IssueSignals;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

/// An issue's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueText {
    /// Its title.
    pub title: String,
    /// Its body (Markdown).
    #[serde(default)]
    pub body: String,
}

impl IssueText {
    /// Reads an issue file: JSON `{"title": …, "body": …}` when the name ends in `.json`,
    /// otherwise the first line is the title and the rest the body.
    pub fn from_file_text(file_name: &str, text: &str) -> anyhow::Result<Self> {
        if file_name.ends_with(".json") {
            return serde_json::from_str(text)
                .with_context(|| format!("{file_name}: expected {{\"title\": …, \"body\": …}}"));
        }
        let (title, body) = text.split_once('\n').unwrap_or((text, ""));
        Ok(IssueText {
            title: title.trim().to_owned(),
            body: body.trim().to_owned(),
        })
    }
}

/// A file the fix may have to change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Its path in the repository, `/`-separated.
    pub path: String,
    /// The ranking score (relative; the best lexical match alone scores 1).
    pub score: f64,
    /// Why it ranks here, for people and for the LLM.
    pub reasons: Vec<String>,
    /// Its first public symbols.
    pub symbols: Vec<String>,
    /// Short excerpts around its best-matching lines.
    pub excerpts: Vec<Excerpt>,
}

/// Consecutive lines of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Excerpt {
    /// First line, from 1.
    pub start_line: usize,
    /// Last line, inclusive.
    pub end_line: usize,
    /// The lines (each cut at 200 characters).
    pub text: String,
}

/// The ranking and what was indexed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The best files, best first.
    pub candidates: Vec<Candidate>,
    /// Files indexed.
    pub files_indexed: usize,
    /// Files left out, by reason.
    pub skipped: Skipped,
    /// Whether the walk stopped at `Limits::max_files`.
    pub truncated: bool,
}

/// BM25 term-frequency saturation.
const K1: f64 = 1.2;
/// Field weights and length normalization: path, symbol names, content.
const FIELD_WEIGHT: [f64; 3] = [3.0, 2.0, 1.0];
const FIELD_B: [f64; 3] = [0.3, 0.5, 0.75];
/// Boosts, in units of the best lexical score.
const FRAME_BOOST: f64 = 1.2;
const PATH_MENTION_BOOST: f64 = 1.0;
const DEFINES_BOOST: f64 = 0.6;
const MENTIONS_BOOST: f64 = 0.15;
/// A file holding the text of an error message the issue quotes (its string literal).
const MESSAGE_BOOST: f64 = 0.8;
/// A file declaring `Class.member` of a dotted name the issue uses (`xr.Dataset.interp`).
const MEMBER_BOOST: f64 = 0.8;
/// The module a dotted name resolves to (`sympy.physics.units` → `sympy/physics/units/…`).
const MODULE_BOOST: f64 = 0.3;
/// Tests and non-code files rarely hold the fix of a bug report; unless the issue is about a
/// test, they rank well below the code (on real reports the fix is in a test file almost
/// never, and a test mentions the same names as the code it tests, so it competes hard).
const TEST_FACTOR: f64 = 0.4;
const ABOUT_TESTS_TEST_FACTOR: f64 = 0.9;
const NON_CODE_FACTOR: f64 = 0.6;
/// A trace frame in a test file (the reporter's test or the project's) says less about where
/// the fix goes than one in the library code.
const TEST_FRAME_FACTOR: f64 = 0.5;
/// Excerpt lines around a hit, and the longest excerpt merged from several hits.
const CONTEXT_LINES: usize = 3;
const MAX_EXCERPT_LINES: usize = 15;

/// Ranks the files of `repo` for `issue`, keeping the best `top`.
pub fn localize(
    repo: &Path,
    issue: &IssueText,
    top: usize,
    limits: Limits,
) -> anyhow::Result<Report> {
    let signals = IssueSignals::from_issue(&issue.title, &issue.body);
    let corpus = index::build(repo, &signals, limits)?;
    let mut ranked = rank(&corpus, &signals);
    ranked.truncate(top);
    let mut candidates = Vec::with_capacity(ranked.len());
    for scored in ranked {
        let doc = &corpus.docs[scored.doc];
        let content = super::tree_file::read_text(repo, &doc.path).unwrap_or_default();
        candidates.push(Candidate {
            path: doc.path.clone(),
            score: (scored.score * 1000.0).round() / 1000.0,
            reasons: scored.reasons,
            symbols: doc.public_symbols.clone(),
            excerpts: excerpts(&content, &scored.hot_lines, &signals),
        });
    }
    Ok(Report {
        candidates,
        files_indexed: corpus.docs.len(),
        skipped: corpus.skipped,
        truncated: corpus.truncated,
    })
}

struct Scored {
    doc: usize,
    score: f64,
    reasons: Vec<String>,
    /// Lines the excerpts should show, most telling first.
    hot_lines: Vec<usize>,
}

fn rank(corpus: &Corpus, signals: &IssueSignals) -> Vec<Scored> {
    let docs = &corpus.docs;
    let n = docs.len() as f64;
    if docs.is_empty() {
        return Vec::new();
    }
    let mut avg = [0.0; 3];
    for doc in docs {
        for (f, len) in doc.len.iter().enumerate() {
            avg[f] += f64::from(*len) / n;
        }
    }
    let idf: Vec<f64> = (0..signals.terms.len())
        .map(|t| {
            let df = docs
                .iter()
                .filter(|d| d.tf[t].iter().any(|x| *x > 0.0))
                .count() as f64;
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        })
        .collect();
    let rarity = |df: usize| {
        if n <= 1.0 || df == 0 {
            1.0
        } else {
            ((n / df as f64).ln() / n.ln()).clamp(0.0, 1.0)
        }
    };
    let mut defined_df = vec![0usize; signals.identifiers.len()];
    let mut mentioned_df = vec![0usize; signals.identifiers.len()];
    for doc in docs {
        let mut seen = Vec::new();
        for d in &doc.defined {
            if !seen.contains(&d.ident) {
                seen.push(d.ident);
                defined_df[d.ident] += 1;
            }
        }
        for m in &doc.mentioned {
            mentioned_df[*m] += 1;
        }
    }

    let lexical: Vec<(f64, Vec<(usize, f64)>)> = docs
        .iter()
        .map(|doc| bm25f(doc, signals, &idf, &avg))
        .collect();
    let best = lexical.iter().map(|(s, _)| *s).fold(0.0, f64::max);
    let boosts = StructuralBoosts::new(docs, signals);
    let frame_weight = |doc: usize| {
        if docs[doc].is_test && !signals.about_tests {
            TEST_FRAME_FACTOR
        } else {
            1.0
        }
    };

    let mut scored: Vec<Scored> = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let mut reasons = Vec::new();
        let mut hot_lines = Vec::new();
        let (raw, contributions) = &lexical[i];
        let mut score = if best > 0.0 { raw / best } else { 0.0 };

        let (frame_score, frame_reasons, frame_lines) = boosts.frames_of(i);
        score += frame_score * frame_weight(i);
        reasons.extend(frame_reasons);
        hot_lines.extend(frame_lines);
        if let Some(quoted) = boosts.path_mentions.get(&i) {
            score += PATH_MENTION_BOOST / quoted.1 as f64;
            reasons.push(format!("the issue names `{}`", quoted.0));
        }

        if !doc.messages.is_empty() {
            let boost: f64 = doc
                .messages
                .iter()
                .map(|(m, _)| MESSAGE_BOOST * rarity(boosts.message_df[*m]))
                .sum();
            score += boost.min(2.0 * MESSAGE_BOOST);
            for (m, line) in doc.messages.iter().take(3) {
                reasons.push(format!(
                    "holds the message \"{}\" (line {line}), quoted in the issue",
                    signals.messages[*m]
                ));
                hot_lines.push(*line);
            }
        }
        if let Some((d, line)) = doc.members.first() {
            score += MEMBER_BOOST / boosts.member_df[*d].max(1) as f64;
            reasons.push(format!(
                "declares `{}` (line {line}), used in the issue",
                signals.dotted[*d].join(".")
            ));
            hot_lines.push(*line);
        }
        if let Some((d, ties)) = boosts.modules.get(&i) {
            score += MODULE_BOOST / *ties as f64;
            reasons.push(format!(
                "the module of `{}`, used in the issue",
                signals.dotted[*d].join(".")
            ));
        }

        let mut defined_boost = 0.0;
        let mut defined_idents = Vec::new();
        for d in &doc.defined {
            if defined_idents.contains(&d.ident) {
                continue;
            }
            defined_idents.push(d.ident);
            let ident = &signals.identifiers[d.ident];
            defined_boost += DEFINES_BOOST * rarity(defined_df[d.ident]);
            reasons.push(format!(
                "declares `{}` ({}, line {}), named in the issue ({})",
                ident.text,
                d.kind.name(),
                d.line,
                ident.how
            ));
            hot_lines.push(d.line);
        }
        score += defined_boost.min(2.0 * DEFINES_BOOST);
        let mentions: Vec<usize> = doc
            .mentioned
            .iter()
            .copied()
            .filter(|m| !defined_idents.contains(m))
            .collect();
        if !mentions.is_empty() {
            let boost: f64 = mentions
                .iter()
                .map(|m| MENTIONS_BOOST * rarity(mentioned_df[*m]))
                .sum();
            score += boost.min(3.0 * MENTIONS_BOOST);
            let names: Vec<String> = mentions
                .iter()
                .take(5)
                .map(|m| format!("`{}`", signals.identifiers[*m].text))
                .collect();
            reasons.push(format!("mentions {}", names.join(", ")));
        }
        if !contributions.is_empty() {
            let terms: Vec<String> = contributions
                .iter()
                .take(6)
                .map(|(t, _)| signals.terms[*t].0.clone())
                .collect();
            reasons.push(format!("matching terms: {}", terms.join(", ")));
        }
        if score <= 0.0 {
            continue;
        }
        if doc.is_test {
            score *= if signals.about_tests {
                ABOUT_TESTS_TEST_FACTOR
            } else {
                TEST_FACTOR
            };
            reasons.push("a test file (ranked lower)".to_owned());
        } else if !doc.is_code {
            score *= NON_CODE_FACTOR;
        }
        scored.push(Scored {
            doc: i,
            score,
            reasons,
            hot_lines,
        });
    }
    scored.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| docs[a.doc].path.cmp(&docs[b.doc].path))
    });
    scored
}

/// A file's BM25F score and each term's share of it, largest first.
fn bm25f(
    doc: &Doc,
    signals: &IssueSignals,
    idf: &[f64],
    avg: &[f64; 3],
) -> (f64, Vec<(usize, f64)>) {
    let mut total = 0.0;
    let mut contributions = Vec::new();
    for (t, (_, query_weight)) in signals.terms.iter().enumerate() {
        let mut tf = 0.0;
        for f in [PATH, SYMBOLS, CONTENT] {
            let raw = f64::from(doc.tf[t][f]);
            if raw == 0.0 {
                continue;
            }
            let norm = if avg[f] > 0.0 {
                1.0 - FIELD_B[f] + FIELD_B[f] * f64::from(doc.len[f]) / avg[f]
            } else {
                1.0
            };
            tf += FIELD_WEIGHT[f] * raw / norm;
        }
        if tf > 0.0 {
            let share = query_weight * idf[t] * tf / (K1 + tf);
            total += share;
            contributions.push((t, share));
        }
    }
    contributions.sort_by(|a, b| b.1.total_cmp(&a.1));
    (total, contributions)
}

/// Stack-trace frames and quoted paths, matched to files.
struct StructuralBoosts {
    /// Per doc: (rank among matched frames, line, tie count).
    frames: HashMap<usize, Vec<(usize, Option<usize>, usize)>>,
    /// Per doc: (the quoted path, tie count).
    path_mentions: HashMap<usize, (String, usize)>,
    /// Per message fragment: how many files hold it.
    message_df: Vec<usize>,
    /// Per dotted name: how many files declare its `Class.member`.
    member_df: Vec<usize>,
    /// Per doc: (the dotted name whose module it is, tie count).
    modules: HashMap<usize, (usize, usize)>,
}

impl StructuralBoosts {
    fn new(docs: &[Doc], signals: &IssueSignals) -> Self {
        let mut frames: HashMap<usize, Vec<(usize, Option<usize>, usize)>> = HashMap::new();
        let mut ordered = signals.frames.clone();
        ordered.sort_by_key(|f| f.depth);
        let mut rank = 0;
        for frame in &ordered {
            let matches = best_suffix_matches(docs, &frame.path);
            if matches.is_empty() {
                continue;
            }
            for doc in &matches {
                frames
                    .entry(*doc)
                    .or_default()
                    .push((rank, frame.line, matches.len()));
            }
            rank += 1;
        }
        let mut path_mentions = HashMap::new();
        for quoted in &signals.paths {
            let matches = best_suffix_matches(docs, quoted);
            for doc in &matches {
                path_mentions
                    .entry(*doc)
                    .or_insert_with(|| (quoted.clone(), matches.len()));
            }
        }
        let mut message_df = vec![0; signals.messages.len()];
        let mut member_df = vec![0; signals.dotted.len()];
        for doc in docs {
            for (m, _) in &doc.messages {
                message_df[*m] += 1;
            }
            for (d, _) in &doc.members {
                member_df[*d] += 1;
            }
        }
        StructuralBoosts {
            frames,
            path_mentions,
            message_df,
            member_df,
            modules: module_matches(docs, &signals.dotted),
        }
    }

    fn frames_of(&self, doc: usize) -> (f64, Vec<String>, Vec<usize>) {
        let Some(hits) = self.frames.get(&doc) else {
            return (0.0, Vec::new(), Vec::new());
        };
        // The best frame counts, not the sum: a file the trace passes through three times (a
        // framework's dispatch) must not outrank the innermost frame, where the error is raised.
        let mut score: f64 = 0.0;
        let mut reasons = Vec::new();
        let mut lines = Vec::new();
        for (rank, line, ties) in hits {
            score = score.max(FRAME_BOOST / (1.0 + *rank as f64) / *ties as f64);
            let at = line.map(|l| format!(" line {l}")).unwrap_or_default();
            let which = if *rank == 0 {
                "the innermost frame in this repository".to_owned()
            } else {
                format!("frame {} from the innermost", rank + 1)
            };
            reasons.push(format!("stack trace:{at} ({which})"));
            lines.extend(*line);
        }
        (score, reasons, lines)
    }
}

/// The Python module each dotted name resolves to by its longest prefix of two or more parts:
/// `sympy.physics.units.Quantity` → `sympy/physics/units/__init__.py`, and
/// `_pytest.config.Config` → `src/_pytest/config/__init__.py` (a `src/` or `lib/` layout).
fn module_matches(docs: &[Doc], dotted: &[Vec<String>]) -> HashMap<usize, (usize, usize)> {
    let mut modules: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, doc) in docs.iter().enumerate() {
        let Some(stem) = doc.path.strip_suffix(".py") else {
            continue;
        };
        let module = stem.strip_suffix("/__init__").unwrap_or(stem);
        for prefix in ["src/", "lib/"] {
            if let Some(rest) = module.strip_prefix(prefix) {
                modules.entry(rest.to_owned()).or_default().push(i);
            }
        }
        modules.entry(module.to_owned()).or_default().push(i);
    }
    let mut found = HashMap::new();
    for (d, parts) in dotted.iter().enumerate() {
        for k in (2..=parts.len()).rev() {
            if let Some(hits) = modules.get(&parts[..k].join("/")) {
                for doc in hits {
                    found.entry(*doc).or_insert((d, hits.len()));
                }
                break;
            }
        }
    }
    found
}

/// The files sharing the longest path suffix (whole components, at least the file name) with
/// `quoted`: `/usr/lib/python3/site-packages/pkg/core.py` finds `src/pkg/core.py`.
fn best_suffix_matches(docs: &[Doc], quoted: &str) -> Vec<usize> {
    let quoted: Vec<&str> = quoted.split('/').filter(|p| !p.is_empty()).collect();
    let mut best = 0;
    let mut found = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let common = doc
            .path
            .split('/')
            .rev()
            .zip(quoted.iter().rev())
            .take_while(|(a, b)| a == *b)
            .count();
        if common == 0 {
            continue;
        }
        if common > best {
            best = common;
            found.clear();
        }
        if common == best {
            found.push(i);
        }
    }
    found
}

/// Up to two excerpts: around the first hot lines (trace lines, declarations), else around the
/// line with the most issue terms.
fn excerpts(content: &str, hot_lines: &[usize], signals: &IssueSignals) -> Vec<Excerpt> {
    let lines: Vec<&str> = content.lines().collect();
    if lines.is_empty() {
        return Vec::new();
    }
    let mut centers: Vec<usize> = hot_lines
        .iter()
        .copied()
        .filter(|l| (1..=lines.len()).contains(l))
        .collect();
    if centers.is_empty()
        && let Some(best) = densest_line(&lines, signals)
    {
        centers.push(best);
    }
    // Windows of ±CONTEXT_LINES around each center; overlapping ones merge while short.
    let mut windows: Vec<(usize, usize)> = Vec::new();
    for center in centers {
        let start = center.saturating_sub(CONTEXT_LINES).max(1);
        let end = (center + CONTEXT_LINES).min(lines.len());
        if let Some(w) = windows
            .iter_mut()
            .find(|w| start <= w.1 + 1 && w.0 <= end + 1)
        {
            if end.max(w.1) + 1 - start.min(w.0) <= MAX_EXCERPT_LINES {
                *w = (start.min(w.0), end.max(w.1));
            }
            continue;
        }
        if windows.len() < 2 {
            windows.push((start, end));
        }
    }
    windows
        .into_iter()
        .map(|(start, end)| Excerpt {
            start_line: start,
            end_line: end,
            text: lines[start - 1..end]
                .iter()
                .map(|l| l.chars().take(200).collect::<String>())
                .collect::<Vec<_>>()
                .join("\n"),
        })
        .collect()
}

fn densest_line(lines: &[&str], signals: &IssueSignals) -> Option<usize> {
    let weights: HashMap<&str, f64> = signals
        .terms
        .iter()
        .map(|(t, w)| (t.as_str(), *w))
        .collect();
    let mut best: Option<(usize, f64)> = None;
    for (i, line) in lines.iter().enumerate() {
        let mut score = 0.0;
        signals::terms(line, |t| {
            score += weights.get(t.as_str()).copied().unwrap_or(0.0)
        });
        if score > 0.0 && best.is_none_or(|(_, s)| score > s) {
            best = Some((i + 1, score));
        }
    }
    best.map(|(line, _)| line)
}

/// The candidates as the `candidates` input of the `localize_files` prompt: path, score,
/// reasons, public symbols and numbered excerpts.
pub fn render_candidates(candidates: &[Candidate]) -> String {
    let mut out = String::new();
    for (i, c) in candidates.iter().enumerate() {
        let _ = writeln!(out, "{}. {} (score {:.2})", i + 1, c.path, c.score);
        for reason in &c.reasons {
            let _ = writeln!(out, "   - {reason}");
        }
        if !c.symbols.is_empty() {
            let _ = writeln!(out, "   public symbols: {}", c.symbols.join(", "));
        }
        for excerpt in &c.excerpts {
            let _ = writeln!(out, "   lines {}-{}:", excerpt.start_line, excerpt.end_line);
            for (n, line) in excerpt.text.split('\n').enumerate() {
                let number = excerpt.start_line + n;
                if line.is_empty() {
                    let _ = writeln!(out, "   {number:>5} |");
                } else {
                    let _ = writeln!(out, "   {number:>5} | {line}");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solution::test_support::{copy_fixture, fixture};

    fn rank_of(issue: (&str, &str)) -> Report {
        let issue = IssueText {
            title: issue.0.to_owned(),
            body: issue.1.to_owned(),
        };
        localize(&fixture("shop"), &issue, 5, Limits::default()).expect("localizes")
    }

    fn paths(report: &Report) -> Vec<&str> {
        report.candidates.iter().map(|c| c.path.as_str()).collect()
    }

    #[test]
    fn a_python_traceback_points_at_its_innermost_repository_frame() {
        let trace = "Removing an item that is not in the cart crashes:\n\n```\nTraceback (most recent call last):\n  File \"<string>\", line 4, in <module>\n  File \"/home/dev/shop/py/shop/cart.py\", line 18, in remove_item\n    del self.items[sku]\nKeyError: 'pear'\n```\n";
        let report = rank_of(("KeyError when removing an unknown item", trace));
        let best = &report.candidates[0];
        assert_eq!(best.path, "py/shop/cart.py");
        assert!(
            best.reasons.contains(
                &"stack trace: line 18 (the innermost frame in this repository)".to_owned()
            ),
            "{:?}",
            best.reasons
        );
        assert_eq!(
            (best.excerpts[0].start_line, best.excerpts[0].end_line),
            (14, 21),
            "the trace line and the declaration of `remove_item`, merged"
        );
        assert!(best.excerpts[0].text.contains("del self.items[sku]"));
        assert!(best.symbols.contains(&"Cart.remove_item".to_owned()));
    }

    #[test]
    fn a_file_the_trace_passes_through_often_does_not_outrank_the_innermost_frame() {
        // Doc 0 is passed through three times (frames 2 to 4 from the innermost), doc 1 raises.
        let boosts = StructuralBoosts {
            frames: HashMap::from([
                (
                    0,
                    vec![(1, Some(20), 1), (2, Some(21), 1), (3, Some(22), 1)],
                ),
                (1, vec![(0, Some(13), 1)]),
            ]),
            path_mentions: HashMap::new(),
            message_df: Vec::new(),
            member_df: Vec::new(),
            modules: HashMap::new(),
        };
        let (through, reasons, lines) = boosts.frames_of(0);
        let (raises, _, _) = boosts.frames_of(1);
        assert!(raises > through, "{raises} > {through}");
        assert_eq!(reasons.len(), 3, "every frame is still a reason");
        assert_eq!(lines, vec![20, 21, 22]);
    }

    /// Ranks the files of a throwaway repository written from `files`.
    fn rank_in(files: &[(&str, &str)], title: &str, body: &str) -> Vec<Candidate> {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, content) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().expect("has a parent")).expect("mkdir");
            std::fs::write(full, content).expect("write");
        }
        let issue = IssueText {
            title: title.to_owned(),
            body: body.to_owned(),
        };
        localize(dir.path(), &issue, 10, Limits::default())
            .expect("localizes")
            .candidates
    }

    fn score_of(ranked: &[Candidate], path: &str) -> f64 {
        ranked
            .iter()
            .find(|c| c.path == path)
            .map(|c| c.score)
            .expect("ranked")
    }

    #[test]
    fn a_test_file_ranks_well_below_the_code_unless_the_issue_is_about_a_test() {
        // The same text in the code and in a test: only the test demotion sets them apart.
        let text = "def convert_to(expr, unit):\n    return expr\n";
        let files = [("pkg/units.py", text), ("pkg/tests/test_units.py", text)];
        let ranked = rank_in(
            &files,
            "convert_to gives joule wrong",
            "convert_to(3, 'joule')",
        );
        let (code, test) = (
            score_of(&ranked, "pkg/units.py"),
            score_of(&ranked, "pkg/tests/test_units.py"),
        );
        assert!(test < 0.5 * code, "{test} < {code} / 2");
        let ranked = rank_in(
            &files,
            "Flaky test: test_convert_to fails on joule",
            "`test_convert_to` in pkg/tests/test_units.py fails with convert_to(3, 'joule')",
        );
        assert_eq!(ranked[0].path, "pkg/tests/test_units.py", "{ranked:?}");
    }

    #[test]
    fn a_quoted_error_message_finds_the_file_raising_it() {
        let files = [
            (
                "pkg/api.py",
                "def resize(widget, size):\n    \"\"\"A widget of a negative size, of any kind: a negative widget size is rejected.\"\"\"\n    return check(widget, size)\n",
            ),
            (
                "pkg/checks.py",
                "def check(w, s):\n    if s < 0:\n        raise ValueError(f\"size {s} must not be negative for this kind\")\n",
            ),
        ];
        let body = "```\nTraceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\nValueError: size -3 must not be negative for this kind\n```\n";
        let ranked = rank_in(&files, "A widget of a negative size is rejected", body);
        assert_eq!(ranked[0].path, "pkg/checks.py", "{ranked:?}");
        assert!(ranked[0].reasons[0].starts_with("holds the message \"must not be negative"));
    }

    #[test]
    fn a_dotted_api_name_finds_the_class_member_and_its_module() {
        let files = [
            (
                "xr/core/dataset.py",
                "class Dataset:\n    def interp(self, coords):\n        return self\n",
            ),
            (
                "xr/core/dataarray.py",
                "class DataArray:\n    \"\"\"Interp keeps the attributes; dropping attributes is a bug.\"\"\"\n    def interp(self, coords):\n        return self\n    def dataset(self):\n        return Dataset()\n",
            ),
            ("xr/plot/__init__.py", "from .facet import facet\n"),
            ("xr/plot/facet.py", "def facet(data):\n    return data\n"),
        ];
        let ranked = rank_in(
            &files,
            "interp drops attributes",
            "xr.Dataset.interp(x=1) loses them",
        );
        assert_eq!(ranked[0].path, "xr/core/dataset.py", "{ranked:?}");
        assert!(
            ranked[0]
                .reasons
                .contains(&"declares `xr.Dataset.interp` (line 2), used in the issue".to_owned()),
            "{:?}",
            ranked[0].reasons
        );
        let ranked = rank_in(&files, "Plotting is slow", "calling xr.plot on big data");
        let module = ranked
            .iter()
            .find(|c| c.path == "xr/plot/__init__.py")
            .expect("the module is a candidate");
        assert_eq!(
            module.reasons[0],
            "the module of `xr.plot`, used in the issue"
        );
    }

    #[test]
    fn a_trace_frame_in_a_test_counts_less_than_one_in_the_library() {
        let files = [
            ("lib/merge.py", "def merge(a, b):\n    return a | b\n"),
            (
                "tests/test_merge.py",
                "def test_merge():\n    merge(1, 2)\n",
            ),
        ];
        let body = "Traceback (most recent call last):\n  File \"/src/proj/lib/merge.py\", line 2, in merge\n  File \"/src/proj/tests/test_merge.py\", line 2, in test_merge\nTypeError: unsupported operand\n";
        let ranked = rank_in(&files, "merge fails", body);
        assert_eq!(ranked[0].path, "lib/merge.py", "{ranked:?}");
    }

    #[test]
    fn a_go_panic_points_at_the_store() {
        let panic = "panic: assignment to entry in nil map\n\ngoroutine 1 [running]:\nexample.com/shop/inventory.(*Store).Restock(...)\n\t/home/dev/go/inventory/store.go:30\nmain.main()\n\t/home/dev/cmd/main.go:9 +0x25\n";
        let report = rank_of(("Restock panics on a new store", panic));
        assert_eq!(paths(&report)[0], "go/inventory/store.go");
    }

    #[test]
    fn a_named_identifier_finds_its_declaration() {
        let report = rank_of((
            "`LruCache.get` does not refresh recency",
            "Reading an entry should make it the most recently used one, but `get` leaves the order unchanged, so `put` evicts it.",
        ));
        let best = &report.candidates[0];
        assert_eq!(best.path, "java/src/main/java/com/acme/cache/LruCache.java");
        assert!(
            best.reasons
                .iter()
                .any(|r| r.starts_with("declares `LruCache` (class, line 7)")),
            "{:?}",
            best.reasons
        );
        let test = report
            .candidates
            .iter()
            .position(|c| c.path.ends_with("LruCacheTest.java"))
            .expect("the test is a candidate too");
        assert!(test > 0);
        assert!(
            report.candidates[test]
                .reasons
                .contains(&"a test file (ranked lower)".to_owned())
        );
    }

    #[test]
    fn plain_words_find_a_file_by_content_and_symbols() {
        let report = rank_of((
            "Negative prices are formatted wrongly",
            "Formatting a refund of -250 cents shows `-3.-50 EUR` instead of `-2.50 EUR`.",
        ));
        assert_eq!(paths(&report)[0], "js/src/format.js");
    }

    #[test]
    fn a_quoted_path_and_a_rust_panic_location_count() {
        let report = rank_of((
            "parse_line accepts a zero quantity",
            "thread 'main' panicked at rs/src/parser.rs:13:5: zero quantity",
        ));
        assert_eq!(paths(&report)[0], "rs/src/parser.rs");
        let report = rank_of((
            "Retries are not honoured",
            "See `js/src/client.ts`: the option is ignored.",
        ));
        assert_eq!(paths(&report)[0], "js/src/client.ts");
        assert!(
            report.candidates[0]
                .reasons
                .contains(&"the issue names `js/src/client.ts`".to_owned())
        );
    }

    #[test]
    fn vendored_hidden_and_unrelated_files_are_not_candidates() {
        let report = rank_of(("formatPrice rounds wrong", "formatPrice(199) gives 1.99"));
        let all = paths(&report);
        assert!(!all.iter().any(|p| p.contains("node_modules")), "{all:?}");
        assert!(!all.iter().any(|p| p.starts_with(".github")), "{all:?}");
        assert_eq!(report.files_indexed, 15);
    }

    #[test]
    fn an_issue_matching_nothing_gives_no_candidates() {
        let report = rank_of(("zzzqqq", "xyzzy plugh"));
        assert!(report.candidates.is_empty());
    }

    #[test]
    fn the_top_bound_and_an_empty_repository_are_respected() {
        let report = rank_of(("cart item quantity price stock cache order", ""));
        assert_eq!(report.candidates.len(), 5);
        let empty = tempfile::tempdir().expect("tempdir");
        let issue = IssueText::from_file_text("i.txt", "anything").expect("reads");
        let report = localize(empty.path(), &issue, 5, Limits::default()).expect("empty is fine");
        assert!(report.candidates.is_empty());
    }

    #[test]
    fn issue_files_are_json_or_text() {
        let json =
            IssueText::from_file_text("a.json", r#"{"title": "T", "body": "B"}"#).expect("json");
        assert_eq!((json.title.as_str(), json.body.as_str()), ("T", "B"));
        let text =
            IssueText::from_file_text("a.md", "Title here\n\nBody line 1\nline 2\n").expect("text");
        assert_eq!(text.title, "Title here");
        assert_eq!(text.body, "Body line 1\nline 2");
        let err = IssueText::from_file_text("a.json", "title: x").expect_err("not json");
        assert!(format!("{err:#}").contains("a.json"));
    }

    #[test]
    fn candidates_render_for_the_prompt() {
        let dir = copy_fixture("shop");
        let issue = IssueText {
            title: "apply_discount raises DiscountError for lowercase coupons".to_owned(),
            body: "`apply_discount(100, \"spring10\")` should accept the coupon.".to_owned(),
        };
        let report = localize(dir.path(), &issue, 1, Limits::default()).expect("localizes");
        insta::assert_snapshot!(render_candidates(&report.candidates), @r#"
            1. py/shop/pricing.py (score 2.20)
               - declares `DiscountError` (class, line 6), named in the issue (error type)
               - declares `apply_discount` (function, line 10), named in the issue (backticked)
               - matching terms: discount, coupon, discounterror, apply, apply_discount, spring10
               public symbols: COUPONS, DiscountError, apply_discount
               lines 3-13:
                   3 | COUPONS = {"SPRING10": 10, "HALF": 50}
                   4 |
                   5 |
                   6 | class DiscountError(Exception):
                   7 |     """A coupon that does not exist or does not apply."""
                   8 |
                   9 |
                  10 | def apply_discount(amount, coupon):
                  11 |     percent = COUPONS.get(coupon)
                  12 |     if percent is None:
                  13 |         raise DiscountError(f"unknown coupon {coupon}")
            "#);
    }
}
