//! What the classifier reads in an issue: the title and body cleaned of boilerplate, and the
//! tokens of every feature block (word and character n-grams, template headings and their
//! answers, phrasing markers, the shape of the report).

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// How much of the raw body is read at all: long logs say nothing more about the category.
const RAW_BODY_LIMIT: usize = 8_000;
/// How much of the cleaned body the word and character blocks read.
const CLEAN_BODY_LIMIT: usize = 3_000;
/// How much of the body the phrasing markers look at (the opening states the intent).
const MARKER_BODY_LIMIT: usize = 1_500;

/// A group of features with its own vocabulary, TF-IDF normalization and weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    /// Words and word bigrams of the title.
    TitleWords,
    /// Character 2–5-grams inside the title's words.
    TitleChars,
    /// Words and word bigrams of the cleaned body (code, links and comments replaced).
    BodyWords,
    /// Character 3–5-grams inside the cleaned body's words.
    BodyChars,
    /// Markdown headings of the body and the short answers under them (issue templates).
    Headings,
    /// Phrasing markers: stack traces, code blocks, versions, question and request phrasing,
    /// question cues (a title shaped like a question, asking for help, question marks in the
    /// prose), bug-template phrasing.
    Markers,
    /// The report's shape: length buckets, template comments, lists, tables, title prefix.
    Structure,
}

impl Block {
    /// Every block, in model order.
    pub const ALL: [Block; 7] = [
        Block::TitleWords,
        Block::TitleChars,
        Block::BodyWords,
        Block::BodyChars,
        Block::Headings,
        Block::Markers,
        Block::Structure,
    ];
}

/// An issue as the feature extractor sees it: prepared once, then read by every block.
#[derive(Debug)]
pub struct PreparedText {
    title: String,
    clean_body: String,
    /// The body's opening, lowercased, with the title in front, for the phrasing markers.
    marker_text: String,
    headings: Vec<String>,
    markers: Vec<&'static str>,
    structure: Vec<String>,
}

/// A regex whose `\b` are ASCII word boundaries: Unicode ones would push long bodies off the
/// fast DFA engine.
fn ascii_words(pattern: &str) -> Regex {
    Regex::new(&pattern.replace(r"\b", r"(?-u:\b)")).expect("valid regex")
}

static HTML_COMMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<!--(.*?)(?:-->|$)").expect("valid regex"));
static DETAILS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<details>.*?(?:</details>|$)").expect("valid regex"));
static IMAGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"!\[[^\]]*\]\([^)]*\)|<img[^>]*>").expect("valid regex"));
static CODE_BLOCK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)```.*?(?:```|$)").expect("valid regex"));
static URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"https?://\S+").expect("valid regex"));
static HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*#{1,6}\s*(.+?)\s*$").expect("valid regex"));
static TRACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)Traceback \(most recent call last\)|^[ \t]+at [\w.$<>]+ ?\(|^[ \t]+File "[^"\n]*", line [0-9]+|Exception|Error:|panicked at|Segmentation fault|core dumped"#,
    )
    .expect("valid regex")
});
static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)v?[0-9]+\.[0-9]+(\.[0-9]+)?(?-u:\b)").expect("valid regex")
});
static QUESTION_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_words(
        r"\b(how (do|can|to|should)|is (it|there) (possible|a way)|why (does|is|do)|what is|can i|can someone|any (idea|help)|help me|please help)\b",
    )
});
static FEATURE_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_words(
        r"\b(it would be (nice|great|useful|helpful)|feature request|would like to (have|see)|add (support|an? option)|proposal|suggest)\b",
    )
});
static BUG_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_words(
        r"\b(steps to reproduce|expected behaviou?r|actual behaviou?r|crash|regression|broken|fails?|error)\b",
    )
});
/// A title that opens like a question: "How do I …", "Is it possible …", "Why does …".
static TITLE_QUESTION_START: LazyLock<Regex> = LazyLock::new(|| {
    ascii_words(
        r"^\W*(how|why|what|where|which|when|who|is (it|there|this)|are there|can (i|we|you|one)|could|should|does|do (i|we|you)|did|will|would)\b",
    )
});
/// A reporter asking for help or unsure whether what they see is a bug.
static HELP_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_words(
        r"\b(i'?m trying to|i am trying to|i was trying to|any (ideas?|suggestions?|pointers|advice)|not sure (if|whether|how)|is this (a bug|expected|normal|intended|possible)|am i (missing|doing)|what am i doing wrong|i wonder|wondering|is it possible|is there a way|what is the (best|right|correct|recommended) way|how (do|can|should) i|need (some )?help|appreciate|thanks in advance|my question|a question|questions?:)",
    )
});
/// A bug template's headings or their usual words.
static REPRO_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    ascii_words(
        r"\b(steps to reproduce|repro steps|to reproduce|expected (behaviou?r|result)|actual (behaviou?r|result)|current behaviou?r|observed behaviou?r)\b",
    )
});
static TYPE_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Type: <b>(.*?)</b>").expect("valid regex"));
static LIST_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^\s*(\d+\.|-|\*)\s").expect("valid regex"));
static CHECKBOX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"- \[[ x]\]").expect("valid regex"));
static TITLE_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*\[?([A-Za-z][\w /-]{0,20})[\]:]").expect("valid regex"));

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The body without its HTML comments and `<details>` sections: issue templates put their
/// instructions in comments ("report security vulnerabilities privately", "see the
/// documentation") and reporters fold system information there (extension lists, logs).
pub fn strip_boilerplate(body: &str) -> String {
    let body = HTML_COMMENT.replace_all(body, " ");
    DETAILS.replace_all(&body, " ").into_owned()
}

/// Lowercase ASCII letters, digits and `_` of `s`, everything else as `_`.
fn slug(s: &str, keep_digits: bool) -> String {
    s.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || (keep_digits && c.is_ascii_digit()) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The body without what says nothing about intent: HTML comments (template instructions),
/// images, code blocks and links become placeholder words, and empty template answers go.
fn clean_body(body: &str) -> String {
    let body = HTML_COMMENT.replace_all(body, " ");
    let body = IMAGE.replace_all(&body, " zzimage ");
    let body = CODE_BLOCK.replace_all(&body, " zzcode ");
    let body = URL.replace_all(&body, " zzurl ");
    body.replace("_No response_", " ")
}

/// `h_<heading>` for every Markdown heading and `ha_<heading>=<answer>` when the first line
/// under it is short: issue templates put the reporter's choice there ("Issue type: Bug").
fn heading_tokens(body: &str) -> Vec<String> {
    let body = HTML_COMMENT.replace_all(body, " ");
    let mut tokens = Vec::new();
    let mut current: Option<String> = None;
    let mut answered = false;
    for line in body.lines() {
        if let Some(caps) = HEADING.captures(line) {
            let text: String = caps[1]
                .to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_lowercase() || *c == ' ')
                .collect();
            let name = prefix(&text, 40).trim().replace(' ', "_");
            tokens.push(format!("h_{name}"));
            current = Some(name);
            answered = false;
        } else if let Some(name) = &current {
            let answer = line.trim();
            if !answered && !answer.is_empty() {
                answered = true;
                if answer.chars().count() <= 30 {
                    tokens.push(format!("ha_{name}={}", slug(answer, true)));
                }
            }
        }
    }
    tokens
}

/// Which phrasing markers the issue shows.
fn marker_tokens(title: &str, body: &str, marker_text: &str) -> Vec<&'static str> {
    let mut markers = Vec::new();
    if body.contains("```") {
        markers.push("mk_codeblock");
    }
    if TRACE.is_match(body) {
        markers.push("mk_trace");
    }
    if VERSION.is_match(body) {
        markers.push("mk_version");
    }
    if title.contains('?') {
        markers.push("mk_title_q");
    }
    if QUESTION_PHRASE.is_match(marker_text) {
        markers.push("mk_qphrase");
    }
    if FEATURE_PHRASE.is_match(marker_text) {
        markers.push("mk_fphrase");
    }
    if BUG_PHRASE.is_match(marker_text) {
        markers.push("mk_bphrase");
    }
    if body.len() < 200 {
        markers.push("mk_shortbody");
    }
    if title.trim_end().ends_with('?') {
        markers.push("mk_title_qend");
    }
    if TITLE_QUESTION_START.is_match(&title.to_lowercase()) {
        markers.push("mk_title_qstart");
    }
    if HELP_PHRASE.is_match(marker_text) {
        markers.push("mk_help");
    }
    if REPRO_PHRASE.is_match(marker_text) {
        markers.push("mk_repro");
    }
    markers.push(match prose_question_marks(body) {
        0 => "mk_bq0",
        1 => "mk_bq1",
        2 | 3 => "mk_bq2",
        _ => "mk_bq4",
    });
    markers
}

/// Question marks in the body's prose: outside code blocks, inline code and links, and only
/// those ending a word (not `?` in a query string or a regex).
fn prose_question_marks(body: &str) -> usize {
    let prose = CODE_BLOCK.replace_all(body, " ");
    let prose = URL.replace_all(&prose, " ");
    let prose = HTML_COMMENT.replace_all(&prose, " ");
    prose
        .split('`')
        .step_by(2)
        .map(|part| {
            part.as_bytes()
                .windows(2)
                .filter(|w| w[1] == b'?' && w[0].is_ascii_alphanumeric())
                .count()
        })
        .sum()
}

/// A Markdown heading: one to six `#` then whitespace.
fn is_heading_line(line: &str) -> bool {
    let rest = line.trim_start();
    let hashes = rest.bytes().take_while(|&b| b == b'#').count();
    (1..=6).contains(&hashes) && rest[hashes..].starts_with(char::is_whitespace)
}

/// Number of thresholds in `limits` that `value` exceeds: a length bucket.
fn bucket(value: usize, limits: &[usize]) -> usize {
    limits.iter().filter(|&&limit| value > limit).count()
}

/// The report's shape: who filed it and how (template comments, the VS Code reporter's
/// `Type: <b>…</b>`), how long it is, lists, tables, screenshots, the title's `[area]` prefix.
fn structure_tokens(title: &str, body: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let comments: Vec<&str> = HTML_COMMENT
        .captures_iter(body)
        .filter_map(|caps| caps.get(1).map(|m| m.as_str()))
        .collect();
    tokens.push(format!("cm_n{}", comments.len().min(5)));
    for comment in comments {
        for word in comment
            .to_lowercase()
            .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        {
            if word.len() >= 3 {
                tokens.push(format!("cw_{word}"));
            }
        }
    }
    for caps in TYPE_TAG.captures_iter(body) {
        tokens.push(format!("type_{}", slug(&caps[1], true)));
    }
    tokens.push(format!(
        "blen_{}",
        bucket(body.len(), &[0, 100, 300, 1_000, 3_000, 10_000])
    ));
    tokens.push(format!(
        "tlen_{}",
        bucket(title.chars().count(), &[20, 40, 70, 100])
    ));
    let headings = body.lines().filter(|line| is_heading_line(line)).count();
    tokens.push(format!("nh_{}", headings.min(6) / 2));
    let flags = [
        (LIST_ITEM.is_match(body), "has_list"),
        (CHECKBOX.is_match(body), "has_checkbox"),
        (body.contains("|-"), "has_table"),
        (body.contains("<details>"), "has_details"),
        (IMAGE.is_match(body), "has_image"),
        (
            body.contains("http://") || body.contains("https://"),
            "has_url",
        ),
    ];
    tokens.extend(
        flags
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| (*name).to_owned()),
    );
    if let Some(caps) = TITLE_PREFIX.captures(title) {
        tokens.push(format!("tprefix_{}", slug(&caps[1], true)));
    }
    tokens
}

/// Calls `emit` with every word (two or more letters, digits or `_`) of `text`, lowercased,
/// then with every bigram of consecutive words.
fn word_ngrams(text: &str, emit: &mut dyn FnMut(&str)) {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().nth(1).is_some())
        .collect();
    let mut buffer = String::new();
    for word in &words {
        emit(word);
    }
    for pair in words.windows(2) {
        buffer.clear();
        buffer.push_str(pair[0]);
        buffer.push(' ');
        buffer.push_str(pair[1]);
        emit(&buffer);
    }
}

/// Calls `emit` with the character `min..=max`-grams of every whitespace-separated word of
/// `text`, lowercased and padded with one space each side (n-grams never cross words).
fn char_ngrams(text: &str, min: usize, max: usize, emit: &mut dyn FnMut(&str)) {
    let lower = text.to_lowercase();
    let mut padded = String::new();
    let mut bounds: Vec<usize> = Vec::new();
    for word in lower.split_whitespace() {
        padded.clear();
        padded.push(' ');
        padded.push_str(word);
        padded.push(' ');
        bounds.clear();
        bounds.extend(padded.char_indices().map(|(i, _)| i));
        bounds.push(padded.len());
        let chars = bounds.len() - 1;
        for n in min..=max {
            if chars < n {
                // A short word counts once, whole.
                emit(&padded);
                break;
            }
            for start in 0..=chars - n {
                emit(&padded[bounds[start]..bounds[start + n]]);
            }
            if chars == n {
                // The whole word was this n-gram; longer ones would repeat it.
                break;
            }
        }
    }
}

impl PreparedText {
    /// Reads an issue's title and body once for every block.
    pub fn new(title: &str, body: &str) -> Self {
        let raw = prefix(body, RAW_BODY_LIMIT);
        let cleaned = clean_body(prefix(raw, 2 * CLEAN_BODY_LIMIT));
        let marker_text = format!("{} {}", title, prefix(raw, MARKER_BODY_LIMIT)).to_lowercase();
        PreparedText {
            title: title.to_owned(),
            clean_body: prefix(&cleaned, CLEAN_BODY_LIMIT).to_owned(),
            markers: marker_tokens(title, raw, &marker_text),
            marker_text,
            headings: heading_tokens(raw),
            structure: structure_tokens(title, raw),
        }
    }

    /// Calls `emit` with every token (repeats included) the issue has in `block`.
    pub fn tokens(&self, block: Block, emit: &mut dyn FnMut(&str)) {
        match block {
            Block::TitleWords => word_ngrams(&self.title, emit),
            Block::TitleChars => char_ngrams(&self.title, 2, 5, emit),
            Block::BodyWords => word_ngrams(&self.clean_body, emit),
            Block::BodyChars => char_ngrams(&self.clean_body, 3, 5, emit),
            Block::Headings => self.headings.iter().for_each(|t| emit(t)),
            Block::Markers => self.markers.iter().for_each(|t| emit(t)),
            Block::Structure => self.structure.iter().for_each(|t| emit(t)),
        }
    }

    /// The lowercased title and body opening the phrasing markers read.
    pub fn marker_text(&self) -> &str {
        &self.marker_text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(prepared: &PreparedText, block: Block) -> Vec<String> {
        let mut out = Vec::new();
        prepared.tokens(block, &mut |t| out.push(t.to_owned()));
        out
    }

    #[test]
    fn words_are_lowercased_with_bigrams_and_single_letters_dropped() {
        let prepared = PreparedText::new("Crash in a Parser", "");
        assert_eq!(
            collect(&prepared, Block::TitleWords),
            ["crash", "in", "parser", "crash in", "in parser"]
        );
    }

    #[test]
    fn char_ngrams_stay_inside_padded_words() {
        let mut out = Vec::new();
        char_ngrams("ab", 2, 5, &mut |t| out.push(t.to_owned()));
        assert_eq!(out, [" a", "ab", "b ", " ab", "ab ", " ab "]);
    }

    #[test]
    fn code_links_and_template_comments_are_replaced_in_the_body() {
        let body = "<!-- Please describe -->See https://x.y/z\n```\npanic\n```\nthanks";
        let prepared = PreparedText::new("t", body);
        let words = collect(&prepared, Block::BodyWords);
        assert!(words.contains(&"zzurl".to_owned()) && words.contains(&"zzcode".to_owned()));
        assert!(!words.iter().any(|w| w == "panic" || w == "describe"));
    }

    #[test]
    fn template_headings_and_their_short_answers_become_tokens() {
        let body = "### Issue type\n\nBug\n\n### Current behavior?\n\nIt crashes when I call the loader with a long path";
        let tokens = collect(&PreparedText::new("t", body), Block::Headings);
        assert_eq!(
            tokens,
            ["h_issue_type", "ha_issue_type=bug", "h_current_behavior"]
        );
    }

    #[test]
    fn markers_see_traces_and_question_phrasing() {
        let body = "Traceback (most recent call last):\n  File \"a.py\", line 3, in <module>";
        let markers = collect(
            &PreparedText::new("How do I load a model?", body),
            Block::Markers,
        );
        assert!(markers.contains(&"mk_trace".to_owned()));
        assert!(markers.contains(&"mk_qphrase".to_owned()));
        assert!(markers.contains(&"mk_title_q".to_owned()));
    }

    #[test]
    fn question_cues_fire_on_a_question_shaped_issue_and_not_on_a_bug_report() {
        let question = collect(
            &PreparedText::new(
                "Is there a way to load a model lazily?",
                "I'm trying to defer loading. Is it possible? Any ideas?",
            ),
            Block::Markers,
        );
        for cue in ["mk_title_qend", "mk_title_qstart", "mk_help", "mk_bq2"] {
            assert!(question.contains(&cue.to_owned()), "{cue} in {question:?}");
        }
        let bug = collect(
            &PreparedText::new(
                "Crash when saving",
                "Steps to reproduce:\n1. Save\n\n```\nwhy? (x?.y)\n```\nSee https://x.y/?q=1",
            ),
            Block::Markers,
        );
        assert!(bug.contains(&"mk_repro".to_owned()), "{bug:?}");
        assert!(
            bug.contains(&"mk_bq0".to_owned()),
            "code and links are not prose: {bug:?}"
        );
        for cue in ["mk_title_qend", "mk_title_qstart", "mk_help"] {
            assert!(!bug.contains(&cue.to_owned()), "{cue} in {bug:?}");
        }
    }

    #[test]
    fn prefix_never_splits_a_character() {
        assert_eq!(prefix("héllo", 2), "h");
        assert_eq!(prefix("abc", 10), "abc");
    }
}
