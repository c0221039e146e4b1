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

mod cache;
mod facts;
mod history;
mod index;
mod reexports;
mod rescore;
mod signals;

pub use cache::{CacheUse, IndexCache};
pub use history::History;
pub use index::{Limits, Skipped};

use super::paths;
use anyhow::Context as _;
use index::{CONTENT, Corpus, Doc, PATH, SYMBOLS, TitleClass};
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
    /// What the score is made of, when asked for (`localize --features`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Features>,
}

/// What a candidate's score is made of: the first stage's terms (each before the file-kind
/// factor), its score, and what the second stage adds. The second stage's model
/// (`rescore::score`) weighs them all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Features {
    /// BM25F of the issue's terms, relative to the best file.
    pub lexical: f64,
    /// The stack-trace boost (its best frame).
    pub frame: f64,
    /// The boost of a path the issue names or links to.
    pub path_mention: f64,
    /// Holds the text of an error message the issue quotes.
    pub message: f64,
    /// Holds a registered name of the issue as a string literal.
    pub literal: f64,
    /// Defines a public name the package index takes from it.
    pub reexport: f64,
    /// Declares the `Class.member` of a dotted name the issue uses.
    pub member: f64,
    /// The module a dotted name resolves to.
    pub module: f64,
    /// Declares identifiers the issue names (rarer ones weigh more).
    pub defines: f64,
    /// Mentions identifiers the issue names.
    pub mentions: f64,
    /// 1 for a test file.
    pub is_test: f64,
    /// 1 for a non-code file (docs, examples, configuration).
    pub non_code: f64,
    /// 1 for code in a language the repository hardly uses.
    pub minority: f64,
    /// 1 when the issue is about tests.
    pub about_tests: f64,
    /// The content's length in terms.
    pub length: f64,
    /// The best window of lines (second stage), relative to the best of the files read.
    pub window: f64,
    /// The first stage's score.
    pub first: f64,
    /// The share of the file name's terms the issue uses (`typehints.py`: 1 when it says
    /// "typehints"; `mock.py`: 1 when it says "mocked").
    pub name: f64,
    /// A package index (`__init__.py`, `index.js`, `mod.rs`).
    pub index: f64,
    /// BM25F of the title's terms alone, relative to the best.
    pub title: f64,
    /// Imported by one of the best files of the first stage: that file's score relative to
    /// the best.
    pub imported: f64,
    /// 1 for a module much of the tree imports (at least [`rescore::HUB`] files): a hub such
    /// as `application.py` that matches every issue a little.
    pub hub: f64,
    /// The share of the files importing it that are among the files the second stage reads:
    /// the issue's neighbourhood leans on it.
    pub neighbours: f64,
    /// Changed by a commit citing an issue this one cites (`Fix #8164: …`): `1 / n` for a
    /// commit changing n code files.
    pub cited: f64,
    /// 1 when the title itself names the file's re-exported name, `Class.member` or module
    /// ("`Contains.as_set` returns Contains", "xr.where not preserving attributes"): the report
    /// is about that name, not about what its example goes through.
    pub titled: f64,
    /// 1 when a word of the title, singular or plural, is the type the file is named after
    /// ("float16 quantities get upgraded" and `Quantity` of `quantity.py`): the report is
    /// about that type's home, not about the module its example goes through.
    pub title_type: f64,
    /// `1 / n` when the title writes, as it is spelled, a class (struct, trait, …) that the
    /// file declares at its top level or implements methods of, and n files of the tree do:
    /// "Rational calc value error" and `Rational` of sympy's `numbers.py`.
    pub title_class: f64,
    /// How well the title matches the subjects of the commits that changed the file (the last
    /// 5,000 up to the revision; BM25 of the title's terms, relative to the best of the files
    /// the second stage reads): what the file is for, in its maintainers' words.
    pub subjects: f64,
    /// 1 when the model's best file imports a name from this one and uses it near the lines it
    /// matches the issue at (its excerpts, give or take [`rescore::USED_MARGIN`] lines):
    /// `TypedField` of `docfields.py` in the field types of sphinx's `domains/python.py`. The
    /// code those lines call, when the fix has to go there too.
    pub used: f64,
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
    /// Whether the index came from the cache.
    pub index_cache: CacheUse,
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
/// A file holding a name of the issue as a whole string literal: where a program registers
/// an option (`"--ignore-paths"`), a setting, a reST directive or a message by name.
const LITERAL_BOOST: f64 = 0.5;
/// A literal held by more files than this is a common word, not a registration.
const MAX_LITERAL_FILES: usize = 3;
/// The file a package index takes a name of the issue from (`xr.where` → `from
/// .core.computation import where`): the public API's definition among all files declaring
/// that name.
const REEXPORT_BOOST: f64 = 0.6;
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
/// Code in a language the repository hardly uses (below this share of its code files).
const MINORITY_SHARE: f64 = 0.05;
const MINORITY_FACTOR: f64 = 0.6;
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
    localize_with(repo, issue, top, limits, None, None)
}

/// [`localize`], with the index of the tree read from (or written to) `cache`, and the
/// commits of `history` that cite the issues this one cites (a work tree's own history:
/// [`History::of_work_tree`]).
pub fn localize_with(
    repo: &Path,
    issue: &IssueText,
    top: usize,
    limits: Limits,
    cache: Option<&IndexCache>,
    history: Option<&History>,
) -> anyhow::Result<Report> {
    let signals = IssueSignals::from_issue(&issue.title, &issue.body);
    let corpus = index::build(repo, &signals, limits, cache)?;
    let idf = idf(&corpus.docs, &signals);
    let by_path = reexports::by_path(&corpus.docs);
    let commits = match history.map(|h| h.commits_citing(&signals.cited)) {
        Some(Ok(commits)) => commits,
        Some(Err(err)) => {
            // The ranking stands without it: the history only adds candidates.
            tracing::warn!("the issues it cites were not looked up in the history: {err:#}");
            Vec::new()
        }
        None => Vec::new(),
    };
    let cited = history::cited_docs(&commits, &corpus.docs, &by_path);
    let subjects = match history.map(History::subjects) {
        Some(Ok(subjects)) => subjects,
        Some(Err(err)) => {
            tracing::warn!("the files' past commits were not read: {err:#}");
            history::Subjects::default()
        }
        None => history::Subjects::default(),
    };
    let mut ranked = rank(&corpus, &signals, &idf, &by_path, &cited);
    let mut contents = second_stage(
        repo,
        &corpus,
        &signals,
        &idf,
        &by_path,
        &subjects,
        &mut ranked,
    );
    ranked.truncate(top);
    let mut candidates = Vec::with_capacity(ranked.len());
    for scored in ranked {
        let doc = &corpus.docs[scored.doc];
        let content = match contents.remove(&scored.doc) {
            Some(content) => content,
            None => super::tree_file::read_text(repo, &doc.path).unwrap_or_default(),
        };
        candidates.push(Candidate {
            path: doc.path.clone(),
            score: (scored.score * 1000.0).round() / 1000.0,
            reasons: scored.reasons,
            symbols: doc.public_symbols.clone(),
            excerpts: excerpts(&content, &scored.hot_lines, &signals),
            features: Some(scored.features),
        });
    }
    Ok(Report {
        candidates,
        files_indexed: corpus.docs.len(),
        skipped: corpus.skipped,
        truncated: corpus.truncated,
        index_cache: corpus.cache,
    })
}

/// The second stage: the first [`rescore::DEPTH`] files read again for the features only
/// their text gives (the best window of lines, the files the best ones import), then ranked
/// by the fitted model. Returns the contents read, by doc.
fn second_stage(
    repo: &Path,
    corpus: &Corpus,
    signals: &IssueSignals,
    idf: &[f64],
    by_path: &HashMap<&str, usize>,
    subjects: &history::Subjects,
    ranked: &mut [Scored],
) -> HashMap<usize, String> {
    let mut contents: HashMap<usize, String> = HashMap::new();
    let depth = ranked.len().min(rescore::DEPTH);
    read_the_titles_best_and_the_cited(ranked, depth);
    let query = rescore::Query::new(signals, idf);
    let mut best = 0.0_f64;
    let mut windows = Vec::with_capacity(depth);
    for scored in &mut ranked[..depth] {
        let doc = &corpus.docs[scored.doc];
        let content = super::tree_file::read_text(repo, &doc.path).unwrap_or_default();
        let window = query.best_window(&content);
        scored.features.window = window.0;
        best = best.max(window.0);
        windows.push(window);
        contents.insert(scored.doc, content);
    }
    if best > 0.0 {
        for scored in &mut ranked[..depth] {
            scored.features.window /= best;
        }
    }

    // Who imports each file of the tree, resolved once. A file the best five import is code a
    // snippet's entry point calls into; a file much of the tree imports is a hub.
    let importers_of = rescore::importers(&corpus.docs, by_path);
    let at: HashMap<usize, usize> = (ranked[..depth].iter().enumerate())
        .map(|(k, s)| (s.doc, k))
        .collect();
    let read: Vec<usize> = ranked[..depth].iter().map(|s| s.doc).collect();
    let first_best = ranked.first().map_or(0.0, |s| s.features.first);
    // Per file read, its first-stage score relative to the best when it is one of the best five.
    let shares: Vec<f64> = (ranked[..depth].iter().enumerate())
        .map(|(k, s)| {
            if k < rescore::IMPORTERS && first_best > 0.0 {
                s.features.first / first_best
            } else {
                0.0
            }
        })
        .collect();
    // Per file read, the doc of the best file importing it.
    let mut importers: Vec<Option<usize>> = vec![None; depth];
    for (k, scored) in ranked[..depth].iter_mut().enumerate() {
        let by = &importers_of[scored.doc];
        let by_read: Vec<usize> = by.iter().filter_map(|doc| at.get(doc).copied()).collect();
        if !by.is_empty() {
            scored.features.neighbours = by_read.len() as f64 / by.len() as f64;
        }
        scored.features.hub = f64::from(u8::from(by.len() >= rescore::HUB));
        // The importer with the highest share, the better ranked on a tie.
        let best = (by_read.iter().copied())
            .filter(|&r| shares[r] > 0.0)
            .max_by(|&a, &b| shares[a].total_cmp(&shares[b]).then(b.cmp(&a)));
        if let Some(r) = best {
            scored.features.imported = shares[r];
            importers[k] = Some(read[r]);
        }
    }

    let paths: Vec<&str> = (ranked[..depth].iter())
        .map(|s| corpus.docs[s.doc].path.as_str())
        .collect();
    let past = rescore::past_subjects(signals, subjects, &paths);
    for (scored, (share, terms)) in ranked[..depth].iter_mut().zip(past) {
        scored.features.subjects = share;
        if share >= rescore::SUBJECTS_REASON {
            let about = backticked(terms.iter().map(String::as_str));
            scored
                .reasons
                .push(format!("its past commits were about {about}"));
        }
    }

    let mut model: Vec<f64> = ranked.iter().map(|s| rescore::score(&s.features)).collect();
    // The model's best file, and the files it imports names from that it uses near the lines
    // it matched the issue at (its excerpts): scored again with that feature.
    let mut used_by = Vec::new();
    if let Some(best) = (0..depth).max_by(|&a, &b| model[a].total_cmp(&model[b]).then(b.cmp(&a))) {
        let doc = &corpus.docs[ranked[best].doc];
        let content = contents.get(&ranked[best].doc).map_or("", String::as_str);
        let shown: Vec<(usize, usize)> = excerpts(content, &ranked[best].hot_lines, signals)
            .iter()
            .map(|e| (e.start_line, e.end_line))
            .collect();
        for (target, names) in rescore::used_near(&doc.path, content, &shown, by_path) {
            if let Some(&k) = at.get(&target)
                && k != best
            {
                ranked[k].features.used = 1.0;
                model[k] = rescore::score(&ranked[k].features);
                used_by.push((k, names, doc.path.clone()));
            }
        }
    }
    let top = model[..depth]
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let floor = model[..depth].iter().copied().fold(f64::INFINITY, f64::min);
    for (k, scored) in ranked.iter_mut().enumerate() {
        // Below the files read, the model has no window: they stay below them.
        let m = if k < depth {
            model[k]
        } else {
            model[k].min(floor)
        };
        scored.score = (m - top).exp();
        if k >= depth {
            continue;
        }
        let (_, from, to) = windows[k];
        if scored.features.window >= rescore::WINDOW_REASON {
            scored
                .reasons
                .push(format!("the issue's terms meet in lines {from}-{to}"));
        }
        if let Some(by) = importers[k] {
            scored.reasons.push(format!(
                "imported by `{}`, one of the best matches",
                corpus.docs[by].path
            ));
        }
        if let Some((_, names, by)) = used_by.iter().find(|u| u.0 == k) {
            scored.reasons.push(format!(
                "{} used by `{by}` near the lines that match the issue",
                backticked(names.iter().map(String::as_str)),
            ));
        }
    }
    ranked[..depth].sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| corpus.docs[a.doc].path.cmp(&corpus.docs[b.doc].path))
    });
    contents
}

/// Brings the [`rescore::TITLE_READS`] files the title alone matches best, and up to
/// [`rescore::CITED_READS`] files changed by a commit citing an issue the issue cites, among
/// the first `depth` (the files the second stage reads), in place of the last of them: a long
/// report's reproduction steps can sink the file its title names below the first stage's
/// hundred (`autodoc_typehints = "description"` causes autoclass to put a return type →
/// `typehints.py`, 128th on the whole text), and the words of a report that cites #8164 need
/// not match the code #8164's fix changed at all.
fn read_the_titles_best_and_the_cited(ranked: &mut [Scored], depth: usize) {
    // The places of the `n` files best by `feature` (those it is positive for), best first.
    let best_by = |feature: fn(&Features) -> f64, n: usize| {
        let mut places: Vec<usize> = (0..ranked.len())
            .filter(|&k| feature(&ranked[k].features) > 0.0)
            .collect();
        places.sort_by(|&a, &b| {
            feature(&ranked[b].features)
                .total_cmp(&feature(&ranked[a].features))
                .then(a.cmp(&b))
        });
        places.truncate(n);
        places
    };
    let titles = best_by(|f| f.title, rescore::TITLE_READS);
    let cited = best_by(|f| f.cited, rescore::CITED_READS);
    let below: std::collections::HashSet<usize> = (titles.into_iter().chain(cited))
        .filter(|&k| k >= depth)
        .map(|k| ranked[k].doc)
        .collect();
    if below.is_empty() {
        return;
    }
    // A stable sort of the tail: the files brought in first, each part in first-stage order.
    ranked[depth - below.len().min(depth)..].sort_by_key(|s| !below.contains(&s.doc));
}

struct Scored {
    doc: usize,
    score: f64,
    features: Features,
    reasons: Vec<String>,
    /// Lines the excerpts should show, most telling first.
    hot_lines: Vec<usize>,
}

/// The first stage: every file matching the issue (or changed by a commit citing an issue it
/// cites: `cited`, by doc) with its score, best first.
fn rank(
    corpus: &Corpus,
    signals: &IssueSignals,
    idf: &[f64],
    by_path: &HashMap<&str, usize>,
    cited: &HashMap<usize, history::Citation>,
) -> Vec<Scored> {
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
        .map(|doc| bm25f(doc, signals, idf, &avg, false))
        .collect();
    let best = lexical.iter().map(|(s, _)| *s).fold(0.0, f64::max);
    let title: Vec<f64> = docs
        .iter()
        .map(|doc| bm25f(doc, signals, idf, &avg, true).0)
        .collect();
    let best_title = title.iter().copied().fold(0.0, f64::max);
    let boosts = StructuralBoosts::new(docs, signals, by_path);
    let frame_weight = |doc: usize| {
        if docs[doc].is_test && !signals.about_tests {
            TEST_FRAME_FACTOR
        } else {
            1.0
        }
    };

    let minority = minority_languages(docs, signals);
    // A file's name is used in any inflection: "documented when mocked" uses `mock.py`.
    let issue_terms: std::collections::HashSet<String> = (signals.terms.iter())
        .flat_map(|(t, _)| std::iter::once(t.clone()).chain(signals::uninflected(t)))
        .collect();
    let mut scored: Vec<Scored> = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let mut reasons = Vec::new();
        let mut hot_lines = Vec::new();
        let (raw, contributions) = &lexical[i];
        let mut f = Features {
            lexical: if best > 0.0 { raw / best } else { 0.0 },
            title: if best_title > 0.0 {
                title[i] / best_title
            } else {
                0.0
            },
            about_tests: f64::from(u8::from(signals.about_tests)),
            length: f64::from(doc.len[CONTENT]),
            name: name_share(&doc.path, &issue_terms),
            index: f64::from(u8::from(is_index(&doc.path))),
            ..Features::default()
        };
        let mut score = f.lexical;

        let (frame_score, frame_reasons, frame_lines) = boosts.frames_of(i);
        f.frame = frame_score * frame_weight(i);
        score += f.frame;
        reasons.extend(frame_reasons);
        hot_lines.extend(frame_lines);
        if let Some(quoted) = boosts.path_mentions.get(&i) {
            f.path_mention = PATH_MENTION_BOOST / quoted.1 as f64;
            score += f.path_mention;
            reasons.push(format!("the issue names `{}`", quoted.0));
        }

        if !doc.messages.is_empty() {
            let boost: f64 = doc
                .messages
                .iter()
                .map(|(m, _)| MESSAGE_BOOST * rarity(boosts.message_df[*m]))
                .sum();
            f.message = boost.min(2.0 * MESSAGE_BOOST);
            score += f.message;
            for (m, line) in doc.messages.iter().take(3) {
                reasons.push(format!(
                    "holds the message \"{}\" (line {line}), quoted in the issue",
                    signals.messages[*m]
                ));
                hot_lines.push(*line);
            }
        }
        if !doc.literals.is_empty() {
            // Only a name few files hold says where it is registered.
            let boost: f64 = doc
                .literals
                .iter()
                .filter(|(l, _)| boosts.literal_df[*l] <= MAX_LITERAL_FILES)
                .map(|_| LITERAL_BOOST)
                .sum();
            f.literal = boost.min(2.0 * LITERAL_BOOST);
            score += f.literal;
            for (l, line) in doc.literals.iter().take(3) {
                reasons.push(format!(
                    "holds \"{}\" as a string literal (line {line}), named in the issue",
                    signals.literals[*l]
                ));
                hot_lines.push(*line);
            }
        }
        if let Some((ident, via, ties)) = boosts.reexported.get(&i) {
            f.reexport = REEXPORT_BOOST / *ties as f64;
            score += f.reexport;
            reasons.push(format!(
                "`{}` of the public API: `{}` takes it from here",
                signals.identifiers[*ident].text, docs[*via].path
            ));
        }
        if let Some((d, line)) = doc.members.first() {
            f.member = MEMBER_BOOST / boosts.member_df[*d].max(1) as f64;
            score += f.member;
            reasons.push(format!(
                "declares `{}` (line {line}), used in the issue",
                signals.dotted[*d].join(".")
            ));
            hot_lines.push(*line);
        }
        if let Some((d, ties)) = boosts.modules.get(&i) {
            f.module = MODULE_BOOST / *ties as f64;
            score += f.module;
            reasons.push(format!(
                "the module of `{}`, used in the issue",
                signals.dotted[*d].join(".")
            ));
        }
        if let Some(name) = titled_cue(signals, &boosts, doc, i) {
            f.titled = 1.0;
            reasons.push(format!("the title names `{name}`"));
        }
        if let Some((name, line)) = &doc.own_type
            && signals.title_names_type(&signals::type_key(name))
        {
            f.title_type = 1.0;
            reasons.push(format!(
                "declares `{name}` (line {line}), the type it is named after, which the title names"
            ));
            hot_lines.push(*line);
        }
        if let Some((class, df)) = boosts.title_class_of(doc) {
            f.title_class = 1.0 / df as f64;
            // A declaration the issue names as an identifier has its reason below.
            let name = &class.name;
            if !(doc.defined.iter()).any(|d| signals.identifiers[d.ident].text == *name) {
                let does = if class.declared {
                    "declares"
                } else {
                    "implements methods of"
                };
                let line = class.line;
                reasons.push(format!(
                    "{does} `{name}` (line {line}), a type the title names"
                ));
            }
            hot_lines.push(class.line);
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
        f.defines = defined_boost.min(2.0 * DEFINES_BOOST);
        score += f.defines;
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
            f.mentions = boost.min(3.0 * MENTIONS_BOOST);
            score += f.mentions;
            let names = backticked(
                (mentions.iter().take(5)).map(|m| signals.identifiers[*m].text.as_str()),
            );
            reasons.push(format!("mentions {names}"));
        }
        if !contributions.is_empty() {
            let terms: Vec<String> = contributions
                .iter()
                .take(6)
                .map(|(t, _)| signals.terms[*t].0.clone())
                .collect();
            reasons.push(format!("matching terms: {}", terms.join(", ")));
        }
        let citation = cited.get(&i);
        if let Some(citation) = citation {
            f.cited = citation.share;
        } else if score <= 0.0 {
            continue;
        }
        f.is_test = f64::from(u8::from(doc.is_test));
        f.non_code = f64::from(u8::from(!doc.is_test && !doc.is_code));
        f.minority = f64::from(u8::from(
            !doc.is_test && doc.is_code && minority.contains(&doc.ext),
        ));
        if doc.is_test {
            score *= if signals.about_tests {
                ABOUT_TESTS_TEST_FACTOR
            } else {
                TEST_FACTOR
            };
            reasons.push("a test file (ranked lower)".to_owned());
        } else if !doc.is_code {
            score *= NON_CODE_FACTOR;
        } else if minority.contains(&doc.ext) {
            score *= MINORITY_FACTOR;
            reasons.push("in a language little used here (ranked lower)".to_owned());
        }
        f.first = score;
        reasons.extend(citation.map(|c| c.reason.clone()));
        scored.push(Scored {
            doc: i,
            score,
            features: f,
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

/// The extensions of code files that are few in this repository (under [`MINORITY_SHARE`]
/// of its code files: the JavaScript of a Python project's themes, a vendored
/// `jquery-3.5.1.js`), unless the issue quotes a file of that kind.
fn minority_languages(docs: &[Doc], signals: &IssueSignals) -> Vec<Option<String>> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut code = 0;
    for doc in docs.iter().filter(|d| d.is_code) {
        if let Some(ext) = &doc.ext {
            *counts.entry(ext).or_default() += 1;
            code += 1;
        }
    }
    let quoted = |ext: &str| {
        let suffix = format!(".{ext}");
        signals.paths.iter().any(|p| p.ends_with(&suffix))
            || signals.frames.iter().any(|f| f.path.ends_with(&suffix))
    };
    counts
        .into_iter()
        .filter(|(ext, n)| (*n as f64) < MINORITY_SHARE * code as f64 && !quoted(ext))
        .map(|(ext, _)| Some(ext.to_owned()))
        .collect()
}

/// Names as a reason lists them: "`border`, `cell`".
fn backticked<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The share of the terms of a file's name (without extension) that the issue uses.
fn name_share(path: &str, issue_terms: &std::collections::HashSet<String>) -> f64 {
    let file = paths::file_name(path);
    let stem = file.split('.').next().unwrap_or(file);
    let (mut all, mut used) = (0_u32, 0_u32);
    signals::word_terms(stem, &mut |term: String| {
        all += 1;
        used += u32::from(issue_terms.contains(term.as_str()));
    });
    if all == 0 {
        0.0
    } else {
        f64::from(used) / f64::from(all)
    }
}

/// A package index: `__init__.py`, `index.js`/`index.ts`, `mod.rs`, `lib.rs`.
fn is_index(path: &str) -> bool {
    matches!(
        paths::file_name(path),
        "__init__.py" | "index.js" | "index.ts" | "index.mjs" | "mod.rs" | "lib.rs"
    )
}

/// Each term's inverse document frequency (Lucene's, never negative).
fn idf(docs: &[Doc], signals: &IssueSignals) -> Vec<f64> {
    let n = docs.len() as f64;
    (0..signals.terms.len())
        .map(|t| {
            let df = docs
                .iter()
                .filter(|d| d.tf[t].iter().any(|x| *x > 0.0))
                .count() as f64;
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        })
        .collect()
}

/// A file's BM25F score and each term's share of it, largest first.
fn bm25f(
    doc: &Doc,
    signals: &IssueSignals,
    idf: &[f64],
    avg: &[f64; 3],
    title_only: bool,
) -> (f64, Vec<(usize, f64)>) {
    let mut total = 0.0;
    let mut contributions = Vec::new();
    for (t, (_, query_weight)) in signals.terms.iter().enumerate() {
        if title_only && !signals.in_title.get(t).copied().unwrap_or(false) {
            continue;
        }
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

/// The structural cue of doc `i` that the title itself names, if any: its `Class.member`
/// (`Contains.as_set`), else its public-API name (`where` of `xr.where`), else its module.
fn titled_cue(
    signals: &IssueSignals,
    boosts: &StructuralBoosts,
    doc: &Doc,
    i: usize,
) -> Option<String> {
    let member = doc.members.first().map(|(d, _)| {
        let parts = &signals.dotted[*d];
        &parts[parts.len().saturating_sub(2)..]
    });
    if let Some(member) = member.filter(|m| signals.title_writes(m)) {
        return Some(member.join("."));
    }
    if let Some((ident, _, _)) = boosts.reexported.get(&i) {
        let name = &signals.identifiers[*ident].text;
        if signals.title_names(name) {
            return Some(name.clone());
        }
    }
    let (d, _) = boosts.modules.get(&i)?;
    let module = &signals.dotted[*d];
    signals.title_writes(module).then(|| module.join("."))
}

/// Stack-trace frames and quoted paths, matched to files.
struct StructuralBoosts<'d> {
    /// Per doc: (rank among matched frames, line, tie count).
    frames: HashMap<usize, Vec<(usize, Option<usize>, usize)>>,
    /// Per doc: (the quoted path, tie count).
    path_mentions: HashMap<usize, (String, usize)>,
    /// Per message fragment: how many files hold it.
    message_df: Vec<usize>,
    /// Per dotted name: how many files declare its `Class.member`.
    member_df: Vec<usize>,
    /// Per literal name: how many files hold it.
    literal_df: Vec<usize>,
    /// Per doc: (an identifier of the issue it defines as public API, the package index
    /// exporting it, tie count).
    reexported: HashMap<usize, (usize, usize, usize)>,
    /// Per doc: (the dotted name whose module it is, tie count).
    modules: HashMap<usize, (usize, usize)>,
    /// Per type the title names: how many files declare it or implement its methods.
    title_class_df: HashMap<&'d str, usize>,
}

impl<'d> StructuralBoosts<'d> {
    fn new(docs: &'d [Doc], signals: &IssueSignals, by_path: &HashMap<&str, usize>) -> Self {
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
        let mut literal_df = vec![0; signals.literals.len()];
        let mut title_class_df: HashMap<&str, usize> = HashMap::new();
        for doc in docs {
            for (l, _) in &doc.literals {
                literal_df[*l] += 1;
            }
            for (m, _) in &doc.messages {
                message_df[*m] += 1;
            }
            for (d, _) in &doc.members {
                member_df[*d] += 1;
            }
            for class in &doc.title_classes {
                *title_class_df.entry(class.name.as_str()).or_default() += 1;
            }
        }
        StructuralBoosts {
            frames,
            path_mentions,
            message_df,
            member_df,
            literal_df,
            reexported: reexports::targets(docs, by_path, signals.identifiers.len()),
            modules: module_matches(docs, &signals.dotted),
            title_class_df,
        }
    }

    /// Of the types the title names that this file declares or implements, the one the fewest
    /// files do, and how many do.
    fn title_class_of<'a>(&self, doc: &'a Doc) -> Option<(&'a TitleClass, usize)> {
        (doc.title_classes.iter())
            .map(|class| (class, self.title_class_df[class.name.as_str()]))
            .min_by_key(|(_, df)| *df)
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
        // A package index's name alone (`sample_package/__init__.py` of the reporter's own
        // project, `json/__init__.py` of the standard library) names none of the tree's.
        if common == 0 || (common == 1 && is_index(&doc.path)) {
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
mod tests;
