//! What an issue's text says about where the fix goes: its search terms, the identifiers it
//! names (backticked, CamelCase, snake_case, error types, calls), the stack-trace frames and
//! file paths it quotes.

use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Words too common in issues and code to tell files apart.
const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "been",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "for",
    "from",
    "get",
    "got",
    "has",
    "have",
    "how",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "me",
    "my",
    "no",
    "not",
    "of",
    "on",
    "or",
    "our",
    "should",
    "so",
    "than",
    "that",
    "the",
    "their",
    "then",
    "there",
    "these",
    "this",
    "to",
    "too",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "also",
    "any",
    "all",
    "some",
    "just",
    "like",
    "use",
    "used",
    "using",
    "way",
    "one",
    "two",
    "still",
    "instead",
    "expected",
    "actual",
    "behavior",
    "behaviour",
    "issue",
    "bug",
    "error",
    "problem",
    "works",
    "work",
    "fix",
    "please",
    "thanks",
    "here",
    "example",
    "version",
    "def",
    "self",
    "return",
    "function",
    "const",
    "let",
    "var",
    "import",
    "from",
    "class",
    "new",
    "true",
    "false",
    "none",
    "null",
    "nil",
    "func",
    "fn",
    "pub",
    "mut",
    "impl",
    "public",
    "private",
    "static",
    "void",
    "int",
    "str",
    "string",
    "package",
    "end",
    "else",
    "elif",
    "try",
    "except",
    "catch",
    "throw",
    "raise",
    "type",
    "print",
    "println",
    "console",
    "log",
    "py",
    "js",
    "ts",
    "go",
    "rs",
    "java",
    "line",
    "file",
    "call",
    "last",
    "most",
    "recent",
    "traceback",
    "main",
    "args",
    "kwargs",
    "value",
    "result",
    "test",
];

/// An identifier named in the issue and why it was taken as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identifier {
    /// As written.
    pub text: String,
    /// Backticked, CamelCase, snake_case, an error type, a call.
    pub how: &'static str,
}

/// One stack-trace frame quoted in the issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Frame {
    /// The path as written (absolute, relative, or a Java package path).
    pub path: String,
    /// Its line.
    pub line: Option<usize>,
    /// 0 for the innermost frame (where it failed), then outward.
    pub depth: usize,
}

/// Everything taken from the issue.
#[derive(Debug, Clone, Default)]
pub(super) struct IssueSignals {
    /// Search terms with their weight (title terms weigh double).
    pub terms: Vec<(String, f64)>,
    /// Per term (same order as `terms`): whether the title uses it.
    pub in_title: Vec<bool>,
    /// Identifiers, without repeats.
    pub identifiers: Vec<Identifier>,
    /// Stack-trace frames.
    pub frames: Vec<Frame>,
    /// File paths or names quoted without a line.
    pub paths: Vec<String>,
    /// Fragments of error messages and quoted strings, to find as text in the files (the
    /// string literal that raised them); each at least three words.
    pub messages: Vec<String>,
    /// Dotted names the issue uses (`xr.Dataset.interp`, `sympy.polys.ring`), each as its
    /// components: the last two name a member of a class, the others a module path.
    pub dotted: Vec<Vec<String>>,
    /// Names a program would hold as a whole string literal where it registers them, each
    /// without leading dashes: command-line options (`--ignore-paths`), configuration keys
    /// (`autodoc_typehints`), reST directives and roles (`.. literalinclude::`, `:kbd:`),
    /// message names (`unused-import`).
    pub literals: Vec<String>,
    /// The issue is about tests themselves (a flaky or failing test of the project, a test
    /// file named): test files are then not ranked lower.
    pub about_tests: bool,
    /// Numbers of the earlier issues and pull requests it cites (`#8164`, a link to
    /// `github.com/o/r/issues/8164`), in order, at most [`MAX_CITED`].
    pub cited: Vec<u64>,
    /// The title, as written.
    pub title: String,
    /// The title's words (letters, digits and `_`), as written, each once.
    title_words: std::collections::HashSet<String>,
}

/// Earlier issues an issue's citations are followed for.
const MAX_CITED: usize = 5;
/// `#8164`: what precedes the `#` is checked apart (`owner/repo#12` cites another repository,
/// `&#123;` is an HTML entity).
static CITATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"#([0-9]{1,7})\b").expect("valid regex"));
static ISSUE_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/(?:issues|pull)/([0-9]{1,7})\b")
        .expect("valid regex")
});

/// The issue numbers `text` cites, in order of appearance, without repeats.
fn cited_numbers(text: &str) -> Vec<u64> {
    let bare = CITATION.captures_iter(text).filter(|c| {
        let start = c.get(0).map_or(0, |m| m.start());
        text[..start]
            .chars()
            .next_back()
            .is_none_or(|p| !(p.is_alphanumeric() || matches!(p, '_' | '/' | '&' | '#')))
    });
    let mut found: Vec<(usize, u64)> = bare
        .chain(ISSUE_LINK.captures_iter(text))
        .filter_map(|c| Some((c.get(1)?.start(), c[1].parse().ok()?)))
        .filter(|&(_, n)| n > 0)
        .collect();
    found.sort_unstable();
    let mut numbers: Vec<u64> = Vec::new();
    for (_, n) in found {
        if !numbers.contains(&n) && numbers.len() < MAX_CITED {
            numbers.push(n);
        }
    }
    numbers
}

/// An identifier, in any of the languages.
pub(super) static IDENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").expect("valid regex"));
static BACKTICKED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`([^`\n]{1,120})`").expect("valid regex"));
static CAMEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+|[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+)\b")
        .expect("valid regex")
});
static SNAKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b_*[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b").expect("valid regex")
});
static ERROR_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z][A-Za-z0-9]*(?:Error|Exception|Panic|Warning)\b").expect("valid regex")
});
static CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Za-z_][A-Za-z0-9_]+)\(").expect("valid regex"));
/// `path.ext:LINE`, `path.ext", line LINE`, `path.ext(LINE` — Python, Node, Go, Rust, most tools.
static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"([A-Za-z0-9_.@~/\\-]*[A-Za-z0-9_-]\.[A-Za-z]{1,6})(?:"?, line |:)(\d+)"#)
        .expect("valid regex")
});
/// A Python frame line: `File "pkg/core.py", line 12` as Python prints it, `File
/// ~/pkg/core.py:12, in func` as IPython does.
static PYTHON_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^\s*File (?:"[^"\n]+", line [0-9]+|[^"\n]+:[0-9]+, in )"#)
        .expect("valid regex")
});
/// `at com.acme.Cache.get(Cache.java:42)`
static JAVA_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"at ([A-Za-z0-9_$.]+)\.[A-Za-z0-9_$<>]+\(([A-Za-z0-9_$]+\.(?:java|kt)):(\d+)\)")
        .expect("valid regex")
});
static PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s`'(\[])((?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_-]+\.(?:py|pyi|js|mjs|cjs|jsx|ts|tsx|go|rs|java|kt|rb|c|h|cc|cpp|toml|json|ya?ml|cfg|md|rst|txt))\b")
        .expect("valid regex")
});

/// Where a name is used as a name rather than a word: a long option (`--ignore-paths`), a
/// reST directive (`.. literalinclude::`) or role (`:kbd:`), a hyphenated name in backticks,
/// quotes or parentheses (`unused-import`, as linters print their messages).
static NAME_USE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)(?:^|[\s`'"(\[=])--([A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9])|^\s*\.\. ([A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9])::|:([A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9]):`|[`'"(:]([a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)+)[`'"):]"#)
        .expect("valid regex")
});
/// A hyphenated name (`unused-import`) opening a title, as linters' bug reports start.
static TITLE_HYPHENATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^`?([a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)+)\b").expect("valid regex")
});
/// Literals searched for at most, so a long issue does not cost a long index.
const MAX_LITERALS: usize = 32;

/// The names of [`IssueSignals::literals`], in the order found: a hyphenated name opening the
/// title, then names in option, directive, role or quoted hyphenated form. Plain words and
/// snake_case names are left out: as string literals they are everywhere (`"foo"`,
/// `"keep_attrs"`, `__all__` lists), so they would point at many files for no reason.
fn literal_names(title: &str, text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if name.len() >= 3
            && name.len() <= 80
            && !names.iter().any(|n| n == name)
            && names.len() < MAX_LITERALS
        {
            names.push(name.to_owned());
        }
    };
    for caps in TITLE_HYPHENATED.captures_iter(title.trim_start()) {
        add(&caps[1]);
    }
    for caps in NAME_USE.captures_iter(text) {
        if let Some(m) = caps.iter().skip(1).flatten().next() {
            add(m.as_str());
        }
    }
    names
}

/// An HTML comment: GitHub does not show it, and issue templates fill it with their own
/// guidance (links to the contributing guide, checklists) that is not the reporter's words.
static HTML_COMMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<!--.*?-->").expect("valid regex"));

/// A link to a file of a GitHub repository, `github.com/OWNER/REPO/blob/REF/PATH#L12`: the
/// reporter pointing at the code they suspect.
static GITHUB_BLOB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/blob/[^/\s]+/([^\s#?)\]>'`]+)")
        .expect("valid regex")
});

/// One line of a pasted environment report: `pandas: 1.0.3`, `numpy    1.18.1`, `OS: Linux`.
static ENVIRONMENT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*[-*]?\s*[A-Za-z][A-Za-z0-9_.\- ]{0,40}?(?:\s*:\s*|\s{2,}|==)(?:None|[vV]?[0-9][A-Za-z0-9_.+\-]*|[A-Za-z0-9_.+\-/ ()#,:]{0,80})\s*$")
        .expect("valid regex")
});
/// One line of an environment report printed as JSON (`python -m requests.help`, `envinfo
/// --json`): `"idna": {`, `"version": "3.3"`, `},`.
static JSON_ENVIRONMENT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:"[^"\n]{1,40}"\s*:\s*(?:\{|\[|"[^"\n]{0,80}"|null|true|false|-?[0-9][0-9.]*)\s*,?|[\[\]{}]+,?)\s*$"#)
        .expect("valid regex")
});
/// Consecutive environment lines from which a block is taken as an environment report.
const ENVIRONMENT_RUN: usize = 6;

/// The text without pasted environment reports (`xr.show_versions()`, `pip list`, `conda
/// list`): dozens of package names and versions that match a version-printing module, or any
/// file naming those packages, better than the files the issue is about.
pub(super) fn without_environment_reports(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut keep = vec![true; lines.len()];
    let mut start = 0;
    while start < lines.len() {
        let mut end = start;
        let (mut json, mut versions) = (0, 0);
        while end < lines.len() {
            let line = lines[end];
            if JSON_ENVIRONMENT_LINE.is_match(line) {
                json += 1;
                versions += usize::from(line.contains("\"version\""));
            } else if !(ENVIRONMENT_LINE.is_match(line) || line.trim().is_empty()) {
                break;
            }
            end += 1;
        }
        let listed = lines[start..end]
            .iter()
            .filter(|l| !l.trim().is_empty())
            .count();
        // JSON is an environment report when it lists versions, not when it is the
        // configuration or the data the issue is about.
        if listed - json >= ENVIRONMENT_RUN || (listed >= ENVIRONMENT_RUN && versions >= 2) {
            keep[start..end].iter_mut().for_each(|k| *k = false);
        }
        start = end.max(start + 1);
    }
    lines
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(l, _)| *l)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `SomeError: message` as Python, Java and Node print it.
static ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*(?:[A-Za-z_][A-Za-z0-9_.]*\.)?[A-Z][A-Za-z0-9]*(?:Error|Exception|Warning|Exit|Interrupt)\s*:\s*(.+)$")
        .expect("valid regex")
});
/// Text in double quotes, in prose or code.
static DOUBLE_QUOTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""([^"\n]{12,200})""#).expect("valid regex"));
/// `a.b.c`: at least two identifiers joined by dots, not preceded by one (a path or URL).
static DOTTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^A-Za-z0-9_./:-])([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
        .expect("valid regex")
});
/// What a message's variable parts look like: quoted values, numbers, reprs, paths.
static MESSAGE_VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"'[^']*'|"[^"]*"|`[^`]*`|<[^>]*>|\([^)]*\)|\[[^\]]*\]|\{[^}]*\}|[^\sA-Za-z,;.!?:-]*[0-9][^\s,;]*|\S*[/\\]\S*"#)
        .expect("valid regex")
});

/// The fixed parts of a message (between its variable parts) of three words or more:
/// `Cannot convert 'x' to an integer` → `Cannot convert`, no; `to an integer` → yes.
pub(super) fn message_fragments(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in MESSAGE_VARIABLE.split(message) {
        let words: Vec<&str> = part
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '.' | '!' | '?')))
            .filter(|w| !w.is_empty())
            .collect();
        if words.len() < 3
            || words
                .iter()
                .all(|w| STOP_WORDS.contains(&w.to_ascii_lowercase().as_str()))
        {
            continue;
        }
        let fragment = words.join(" ");
        if fragment.len() >= 12 && !out.contains(&fragment) {
            out.push(fragment);
        }
    }
    out
}

/// Splits text into search terms: each identifier lowercased, plus its parts split at `_` and
/// case changes (`parseHTTPHeader` → `parsehttpheader`, `parse`, `http`, `header`), stemmed a
/// little (`headers` → `header`), without stop words and one-letter words.
pub(super) fn terms(text: &str, mut each: impl FnMut(String)) {
    for m in IDENT.find_iter(text) {
        word_terms(m.as_str(), &mut each);
    }
}

/// The search terms of one identifier (see [`terms`]).
pub(super) fn word_terms(word: &str, each: &mut impl FnMut(String)) {
    let parts = split_identifier(word);
    if parts.len() > 1 {
        let whole = word.trim_matches('_').to_ascii_lowercase();
        if keep(&whole) {
            each(whole);
        }
    }
    for part in parts {
        // A stop word is one before stemming: `this` is not kept as `thi`, nor `does` as `doe`.
        let lower = part.to_ascii_lowercase();
        if STOP_WORDS.contains(&lower.as_str()) {
            continue;
        }
        let part = stem(&lower);
        if keep(&part) {
            each(part);
        }
    }
}

fn keep(term: &str) -> bool {
    term.len() > 1
        && term.len() <= 64
        && !term.bytes().all(|b| b.is_ascii_digit())
        && !STOP_WORDS.contains(&term)
}

/// What an inflected word (`-ed`, `-ing`) may be made of: `mocked` → `mock`, `mocke`;
/// `parsed` → `pars`, `parse`; `mapping` → `mapp`, `mappe`, `map`. Nothing for other words or
/// for a stem under three letters (`red`, `sing`).
pub(super) fn uninflected(word: &str) -> Vec<String> {
    let Some(base) = ["ed", "ing"]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix))
    else {
        return Vec::new();
    };
    if base.len() < 3 {
        return Vec::new();
    }
    let mut forms = vec![base.to_owned(), format!("{base}e")];
    let bytes = base.as_bytes();
    if bytes[bytes.len() - 1] == bytes[bytes.len() - 2] {
        forms.push(base[..base.len() - 1].to_owned());
    }
    forms
}

/// A type's or a file's name as a title would write it: lowercased, without `_`, singular
/// (`Quantity` and `quantity.py` → `quantity`, `Blueprint` and `blueprints.py` → `blueprint`,
/// `NDArrayMixin` and `ndarray_mixin.py` → `ndarraymixin`).
pub(super) fn type_key(name: &str) -> String {
    stem(&name.replace('_', "").to_ascii_lowercase())
}

fn stem(word: &str) -> String {
    if word.len() > 4 && word.ends_with("ies") {
        format!("{}y", &word[..word.len() - 3])
    } else if word.len() > 3
        && word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
    {
        word[..word.len() - 1].to_owned()
    } else {
        word.to_owned()
    }
}

/// `parseHTTPHeader_v2` → `parse`, `HTTP`, `Header`, `v2`.
pub(super) fn split_identifier(word: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    for chunk in word.split('_').filter(|c| !c.is_empty()) {
        let bytes = chunk.as_bytes();
        let mut start = 0;
        for i in 1..bytes.len() {
            let (prev, cur) = (bytes[i - 1], bytes[i]);
            let next_lower = bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase);
            let boundary = (prev.is_ascii_lowercase() && cur.is_ascii_uppercase())
                || (prev.is_ascii_uppercase() && cur.is_ascii_uppercase() && next_lower);
            if boundary {
                parts.push(&chunk[start..i]);
                start = i;
            }
        }
        parts.push(&chunk[start..]);
    }
    parts
}

impl IssueSignals {
    /// Reads the signals out of an issue's title and body.
    pub(super) fn from_issue(title: &str, body: &str) -> Self {
        let body = &without_environment_reports(&HTML_COMMENT.replace_all(body, ""));
        let mut weights: HashMap<String, f64> = HashMap::new();
        let mut title_terms = std::collections::HashSet::new();
        terms(title, |t| {
            *weights.entry(t.clone()).or_default() += 2.0;
            title_terms.insert(t);
        });
        terms(body, |t| *weights.entry(t).or_default() += 1.0);
        // A term repeated many times (a log pasted 40 times) should not drown the others.
        let mut terms: Vec<(String, f64)> =
            weights.into_iter().map(|(t, w)| (t, w.min(4.0))).collect();
        terms.sort_by(|a, b| a.0.cmp(&b.0));
        let in_title = terms.iter().map(|(t, _)| title_terms.contains(t)).collect();

        let text = format!("{title}\n{body}");
        let mut identifiers: Vec<Identifier> = Vec::new();
        let mut add_named = |ident: &str, how: &'static str, qualified: bool| {
            let ident = ident.trim_matches('_');
            let plain = ident.to_ascii_lowercase();
            // A common word is no identifier, unless the issue writes it as an attribute:
            // `xr.where` names a function. Two letters are a name only when capitalized and
            // called or backticked (sympy's `Eq(a, b)`, `Ne`, `Or`), not a word of the prose.
            let short_name = ident.len() == 2
                && ident.starts_with(|c: char| c.is_ascii_uppercase())
                && matches!(how, "call" | "backticked");
            if (ident.len() < 3 && !short_name)
                || (!qualified && STOP_WORDS.contains(&plain.as_str()))
            {
                return;
            }
            if !identifiers.iter().any(|i| i.text == ident) {
                identifiers.push(Identifier {
                    text: ident.to_owned(),
                    how,
                });
            }
        };
        for caps in BACKTICKED.captures_iter(&text) {
            let code = &caps[1];
            for m in IDENT.find_iter(code) {
                let qualified = m.start() > 0
                    && code[..m.start()].ends_with('.')
                    && code[m.end()..].chars().next().is_none_or(|c| c == '(');
                add_named(m.as_str(), "backticked", qualified);
            }
        }
        let mut add = |ident: &str, how: &'static str| add_named(ident, how, false);
        for m in ERROR_TYPE.find_iter(&text) {
            add(m.as_str(), "error type");
        }
        for m in CAMEL.find_iter(&text) {
            add(m.as_str(), "CamelCase");
        }
        for m in SNAKE.find_iter(&text) {
            add(m.as_str(), "snake_case");
        }
        for caps in CALL.captures_iter(&text) {
            add(&caps[1], "call");
        }

        let frames = frames(&text);
        // Links first: a link names the file exactly, a bare name may be any file so named.
        let links = GITHUB_BLOB
            .captures_iter(&text)
            .map(|c| c[1].trim_end_matches(['.', ',', ';', ':']).to_owned())
            .filter(|p| has_source_extension(p));
        let paths = links
            .chain(PATH.captures_iter(&text).map(|c| c[1].to_owned()))
            .filter(|p| !frames.iter().any(|f| f.path.ends_with(p.as_str())))
            .fold(Vec::new(), |mut acc, p| {
                if !acc.contains(&p) {
                    acc.push(p);
                }
                acc
            });
        let mut messages: Vec<String> = Vec::new();
        let quoted = ERROR_LINE
            .captures_iter(&text)
            .chain(DOUBLE_QUOTED.captures_iter(&text));
        for caps in quoted {
            for fragment in message_fragments(&caps[1]) {
                if !messages.contains(&fragment) && messages.len() < 16 {
                    messages.push(fragment);
                }
            }
        }
        let mut dotted: Vec<Vec<String>> = Vec::new();
        for caps in DOTTED.captures_iter(&text) {
            let parts: Vec<String> = caps[1].split('.').map(str::to_owned).collect();
            // `e.g`, `i.e` and file names (`setup.py`) are not API names.
            if parts.iter().all(|p| p.len() < 2) || has_source_extension(&caps[1]) {
                continue;
            }
            if !dotted.contains(&parts) && dotted.len() < 64 {
                dotted.push(parts);
            }
        }
        // About a test itself: the title says so and the issue names a test (`test_parse`,
        // `tests/test_io.py`) — not merely a report that quotes a failing user test.
        let title_says_test = title.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
            matches!(
                w.to_ascii_lowercase().as_str(),
                "test" | "tests" | "testcase" | "flaky"
            )
        });
        let names_a_test = identifiers.iter().any(|i| i.text.starts_with("test_"))
            || paths
                .iter()
                .any(|p| crate::solution::paths::is_test_path(p));
        let about_tests = title_says_test && names_a_test;
        let literals = literal_names(title, &text);
        let cited = cited_numbers(&text);
        IssueSignals {
            terms,
            in_title,
            identifiers,
            frames,
            paths,
            messages,
            dotted,
            literals,
            about_tests,
            cited,
            title: title.to_owned(),
            title_words: (title.split(|c: char| !(c.is_alphanumeric() || c == '_')))
                .filter(|word| !word.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether the title names `ident` as a whole word (`where` in "xr.where not preserving
    /// attributes", not in "nowhere").
    pub(super) fn title_names(&self, ident: &str) -> bool {
        self.title_words.contains(ident)
    }

    /// Whether the title writes the type name `name` as a word, as it is spelled (`Rational`
    /// in "Rational calc value error", not `Keys` in "HashMap keys fail"); a stop word
    /// ("Error position for …") names no type.
    pub(super) fn title_names_type_as_written(&self, name: &str) -> bool {
        self.title_names(name) && !STOP_WORDS.contains(&name.to_ascii_lowercase().as_str())
    }

    /// Whether a word of the title, singular or plural, is the type name `key` (a
    /// [`type_key`]): "float16 quantities get upgraded" names `Quantity`, "Require a non-empty
    /// name for Blueprints" names `Blueprint`. A stop word ("Error when …") names no type.
    pub(super) fn title_names_type(&self, key: &str) -> bool {
        (self.title)
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|word| word.len() >= 3)
            .any(|word| {
                let lower = word.to_ascii_lowercase();
                !STOP_WORDS.contains(&lower.as_str()) && stem(&lower) == key
            })
    }

    /// Whether the title writes the dotted name's `parts` (`Contains.as_set`), not as a part
    /// of a longer name (`MyContains.as_settings`).
    pub(super) fn title_writes(&self, parts: &[String]) -> bool {
        if parts.is_empty() {
            return false;
        }
        let name = parts.join(".");
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        self.title.match_indices(&name).any(|(at, _)| {
            !word(self.title[..at].chars().next_back())
                && !word(self.title[at + name.len()..].chars().next())
        })
    }
}

/// The stack-trace frames of a text, innermost first. Python prints the innermost frame last
/// ("most recent call last"); Node, Go, Java and Rust print it first.
fn frames(text: &str) -> Vec<Frame> {
    let mut found: Vec<(usize, String, Option<usize>)> = Vec::new();
    for caps in JAVA_FRAME.captures_iter(text) {
        let (Some(all), qualified) = (caps.get(0), &caps[1]) else {
            continue;
        };
        // `com.acme.Cache` + `Cache.java` → `com/acme/Cache.java`; an inner class keeps the file.
        let package = qualified.rsplit_once('.').map_or("", |(p, _)| p);
        let path = if package.is_empty() {
            caps[2].to_owned()
        } else {
            format!("{}/{}", package.replace('.', "/"), &caps[2])
        };
        found.push((all.start(), path, caps[3].parse().ok()));
    }
    let java_frames = found.clone();
    for caps in FRAME.captures_iter(text) {
        let Some(all) = caps.get(0) else { continue };
        let line: Option<usize> = caps[2].parse().ok();
        // `Cache.java:42` inside `at com.acme.Cache.get(Cache.java:42)`: already read.
        let name = &caps[1];
        if java_frames
            .iter()
            .any(|(_, path, l)| *l == line && path.rsplit('/').next() == Some(name))
        {
            continue;
        }
        let path = caps[1].replace('\\', "/");
        // `example.com:443` or `1.2.3:4` are not files.
        if !path.contains('/') && !has_source_extension(&path) {
            continue;
        }
        found.push((all.start(), path, line));
    }
    found.sort_by_key(|(pos, _, _)| *pos);
    found.dedup_by(|a, b| a.1 == b.1 && a.2 == b.2);
    // Python prints the outermost frame first, with or without its header: a reporter often
    // pastes only the frames, and IPython prints them as `File path:LINE, in func`.
    let python_order = text.contains("most recent call last") || PYTHON_FRAME.is_match(text);
    let count = found.len();
    found
        .into_iter()
        .enumerate()
        .map(|(i, (_, path, line))| Frame {
            path,
            line,
            depth: if python_order { count - 1 - i } else { i },
        })
        .collect()
}

fn has_source_extension(path: &str) -> bool {
    let ext = path.rsplit('.').next().unwrap_or_default();
    matches!(
        ext,
        "py" | "pyi"
            | "js"
            | "mjs"
            | "cjs"
            | "jsx"
            | "ts"
            | "tsx"
            | "go"
            | "rs"
            | "java"
            | "kt"
            | "rb"
            | "c"
            | "h"
            | "cc"
            | "cpp"
            | "php"
            | "swift"
            | "scala"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_terms(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        terms(text, |t| out.push(t));
        out
    }

    #[test]
    fn identifiers_split_into_terms() {
        assert_eq!(
            split_identifier("parseHTTPHeader_v2"),
            ["parse", "HTTP", "Header", "v2"]
        );
        assert_eq!(split_identifier("__init__"), ["init"]);
        assert_eq!(
            all_terms("The parseHeaders() call and read_config"),
            [
                "parseheaders",
                "parse",
                "header",
                "read_config",
                "read",
                "config"
            ]
        );
        assert_eq!(
            all_terms("This does not parse headers, thanks"),
            ["parse", "header"],
            "stop words are dropped before they are stemmed"
        );
    }

    #[test]
    fn identifiers_are_found_by_shape() {
        let signals = IssueSignals::from_issue(
            "KeyError in `Session.merge_settings`",
            "Calling load_config() with a HttpAdapter raises ValueError; see parseUrl.",
        );
        let found: Vec<(&str, &str)> = signals
            .identifiers
            .iter()
            .map(|i| (i.text.as_str(), i.how))
            .collect();
        assert_eq!(
            found,
            [
                ("Session", "backticked"),
                ("merge_settings", "backticked"),
                ("KeyError", "error type"),
                ("ValueError", "error type"),
                ("HttpAdapter", "CamelCase"),
                ("parseUrl", "CamelCase"),
                ("load_config", "snake_case"),
            ]
        );
    }

    #[test]
    fn a_common_word_written_as_an_attribute_is_an_identifier() {
        let signals = IssueSignals::from_issue(
            "`xr.where` not preserving attributes",
            "Using `xr.where(cond, x, y)` on a DataArray; `where` alone and `type` are words.",
        );
        let found: Vec<&str> = signals
            .identifiers
            .iter()
            .map(|i| i.text.as_str())
            .collect();
        assert_eq!(found, ["where", "cond", "DataArray"]);
    }

    #[test]
    fn python_frames_are_innermost_last() {
        let trace = "Traceback (most recent call last):\n  File \"/home/u/app.py\", line 3, in <module>\n    main()\n  File \"/usr/lib/python3/site-packages/pkg/core.py\", line 42, in main\n    raise KeyError(k)\nKeyError: 'x'\n";
        let signals = IssueSignals::from_issue("crash", trace);
        let frames: Vec<(&str, Option<usize>, usize)> = signals
            .frames
            .iter()
            .map(|f| (f.path.as_str(), f.line, f.depth))
            .collect();
        assert_eq!(
            frames,
            [
                ("/home/u/app.py", Some(3), 1),
                ("/usr/lib/python3/site-packages/pkg/core.py", Some(42), 0),
            ]
        );
    }

    #[test]
    fn python_frames_pasted_without_their_header_are_innermost_last_too() {
        let depths = |trace: &str| -> Vec<(String, usize)> {
            (IssueSignals::from_issue("crash", trace).frames.into_iter())
                .map(|f| (f.path, f.depth))
                .collect()
        };
        // As IPython prints them, the header left out of the paste.
        let ipython = "File ~/env/site-packages/pkg/dataset.py:2110, in Dataset.chunks(self)\n-> 2110     return get_chunksizes(self.variables.values())\n\nFile ~/env/site-packages/pkg/common.py:1815, in get_chunksizes(variables)\n-> 1815     if hasattr(v.data, \"chunks\"):\n";
        assert_eq!(
            depths(ipython),
            [
                ("~/env/site-packages/pkg/dataset.py".to_owned(), 1),
                ("~/env/site-packages/pkg/common.py".to_owned(), 0),
            ]
        );
        // As Python prints them.
        let python = "  File \"/srv/pkg/app.py\", line 3, in <module>\n  File \"/srv/pkg/core.py\", line 42, in main\n";
        assert_eq!(
            depths(python),
            [
                ("/srv/pkg/app.py".to_owned(), 1),
                ("/srv/pkg/core.py".to_owned(), 0)
            ]
        );
        // Node prints the innermost first.
        let node = "TypeError: x is undefined\n    at parse (/srv/app/src/parse.js:12:5)\n    at main (/srv/app/src/main.js:3:1)\n";
        assert_eq!(
            depths(node),
            [
                ("/srv/app/src/parse.js".to_owned(), 0),
                ("/srv/app/src/main.js".to_owned(), 1),
            ]
        );
    }

    #[test]
    fn node_go_rust_and_java_frames_are_innermost_first() {
        let node = "TypeError: x is undefined\n    at parse (/app/node_modules/lib/parse.js:10:5)\n    at Object.<anonymous> (/app/index.js:3:1)\n";
        let frames = IssueSignals::from_issue("", node).frames;
        assert_eq!(frames[0].path, "/app/node_modules/lib/parse.js");
        assert_eq!((frames[0].line, frames[0].depth), (Some(10), 0));
        assert_eq!(frames[1].depth, 1);

        let go = "panic: runtime error\n\ngoroutine 1 [running]:\nexample.com/m/store.(*Store).Add(...)\n\t/home/u/m/store/store.go:25 +0x1d\nmain.main()\n\t/home/u/m/main.go:9 +0x25\n";
        let frames = IssueSignals::from_issue("", go).frames;
        assert_eq!(frames[0].path, "/home/u/m/store/store.go");
        assert_eq!(frames[0].line, Some(25));

        let rust = "thread 'main' panicked at src/parser.rs:88:17:\nindex out of bounds";
        let frames = IssueSignals::from_issue("", rust).frames;
        assert_eq!(
            (frames[0].path.as_str(), frames[0].line),
            ("src/parser.rs", Some(88))
        );

        let java = "java.lang.NullPointerException\n\tat com.acme.cache.Cache.get(Cache.java:42)\n\tat com.acme.App.main(App.java:7)\n";
        let frames = IssueSignals::from_issue("", java).frames;
        let paths: Vec<&str> = frames.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["com/acme/cache/Cache.java", "com/acme/App.java"]);
        assert_eq!(frames[0].line, Some(42));
    }

    #[test]
    fn host_ports_and_versions_are_not_frames_but_quoted_paths_are_paths() {
        let signals = IssueSignals::from_issue(
            "timeout talking to example.com:443",
            "Version 1.2.3:4 fails; the bug is in `src/net/client.py` and utils.go I think.",
        );
        assert!(signals.frames.is_empty(), "{:?}", signals.frames);
        assert_eq!(signals.paths, ["src/net/client.py", "utils.go"]);
    }

    #[test]
    fn the_earlier_issues_an_issue_cites_are_its_numbers_and_links_but_not_another_repositorys() {
        let s = IssueSignals::from_issue(
            "Bases of a mocked class are cut (regression of #8164)",
            "Fixed in 3.4.2 by https://github.com/sphinx-doc/sphinx/pull/8165 but see #8164 \
             again and numpy/numpy#12, HTML &#123; and a colour #fff; the docs build at \
             https://github.com/o/proj/issues/338.\n<!-- see #99 before filing -->",
        );
        assert_eq!(s.cited, [8164, 8165, 338]);
        let many = IssueSignals::from_issue("t", "#1 #2 #3 #4 #5 #6");
        assert_eq!(many.cited, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_link_to_a_file_on_github_names_that_file() {
        let signals = IssueSignals::from_issue(
            "jobs=0 crashes",
            "The function [_query_cpu](https://github.com/PyCQA/pylint/blob/main/pylint/lint/run.py#L34) returns 0; see also https://github.com/PyCQA/pylint/blob/ce7cccf9/pylint/__init__.py#L99.",
        );
        assert_eq!(signals.paths, ["pylint/lint/run.py", "pylint/__init__.py"]);
    }

    #[test]
    fn an_issue_templates_html_comments_are_not_read() {
        let body = "<!-- Please check out our contributing guidelines,\nhttps://github.com/astropy/astropy/blob/main/CONTRIBUTING.md and `setup_package` -->\nThe `formats` argument of write_html is ignored.";
        let signals = IssueSignals::from_issue("HTML output ignores formats", body);
        assert!(signals.paths.is_empty(), "{:?}", signals.paths);
        let idents: Vec<&str> = signals
            .identifiers
            .iter()
            .map(|i| i.text.as_str())
            .collect();
        assert_eq!(idents, ["formats", "write_html"]);
    }

    #[test]
    fn option_directive_role_and_message_names_are_literals_but_plain_words_not() {
        let signals = IssueSignals::from_issue(
            "unused-import false positive with --ignore-paths",
            "With `autodoc_typehints = \"description\"` and\n\n.. literalinclude:: pom.xml\n\nthe :kbd:`Shift` role, `min-similarity-lines` and a non-existing sphinx-build.\n\n/tmp/a.py:3:0: W0611: Unused import abc (unused-import)",
        );
        assert_eq!(
            signals.literals,
            [
                "unused-import",
                "ignore-paths",
                "literalinclude",
                "kbd",
                "min-similarity-lines"
            ]
        );
    }

    #[test]
    fn error_messages_give_their_fixed_fragments() {
        let signals = IssueSignals::from_issue(
            "",
            "```\nValueError: Cannot convert 'abc' to a number of this kind\n```\nand it logs \"could not find the module named here\".",
        );
        assert_eq!(
            signals.messages,
            [
                "to a number of this kind",
                "could not find the module named here"
            ]
        );
        assert!(message_fragments("x = 'a' + 'b'").is_empty());
    }

    #[test]
    fn dotted_api_names_are_kept_but_not_file_names() {
        let signals = IssueSignals::from_issue(
            "xr.Dataset.interp drops attrs",
            "see setup.py and sympy.physics.units, e.g. here",
        );
        let dotted: Vec<String> = signals.dotted.iter().map(|d| d.join(".")).collect();
        assert_eq!(dotted, ["xr.Dataset.interp", "sympy.physics.units"]);
    }

    #[test]
    fn environment_reports_are_not_search_terms() {
        let body = "interp fails\n\nINSTALLED VERSIONS\n------------------\ncommit: None\npython: 3.7.3\nOS: Linux\nmachine: x86_64\npandas: 0.24.2\nnumpy: 1.16.3\nscipy: 1.2.1\n";
        let signals = IssueSignals::from_issue("", body);
        let terms: Vec<&str> = signals.terms.iter().map(|(t, _)| t.as_str()).collect();
        assert!(terms.contains(&"interp"), "{terms:?}");
        assert!(!terms.contains(&"pandas"), "{terms:?}");
        assert!(!terms.contains(&"scipy"), "{terms:?}");
    }

    #[test]
    fn an_environment_report_printed_as_json_is_not_search_terms_but_json_data_is() {
        // `python -m requests.help`, as requests' issue template asks for it.
        let report = "Proxy fails with 407\n\n```json\n{\n  \"chardet\": {\n    \"version\": null\n  },\n  \"charset_normalizer\": {\n    \"version\": \"2.0.9\"\n  },\n  \"implementation\": {\n    \"name\": \"CPython\",\n    \"version\": \"3.8.12\"\n  }\n}\n```\n";
        let terms = |body: &str| -> Vec<String> {
            let signals = IssueSignals::from_issue("", body);
            signals.terms.into_iter().map(|(t, _)| t).collect()
        };
        let reported = terms(report);
        assert!(reported.contains(&"proxy".to_owned()), "{reported:?}");
        assert!(!reported.contains(&"chardet".to_owned()), "{reported:?}");
        assert!(!reported.contains(&"cpython".to_owned()), "{reported:?}");
        // A JSON document without versions is what the issue is about: kept.
        let data = "Parsing drops a key\n\n```json\n{\n  \"compilerOptions\": {\n    \"strict\": true,\n    \"outDir\": \"dist\",\n    \"paths\": {\n      \"@app\": \"src\"\n    }\n  }\n}\n```\n";
        let kept = terms(data);
        assert!(kept.contains(&"compileroptions".to_owned()), "{kept:?}");
    }

    #[test]
    fn an_issue_is_about_tests_only_when_it_says_so_and_names_one() {
        let about = |title: &str, body: &str| IssueSignals::from_issue(title, body).about_tests;
        assert!(about("Flaky test test_parse_date", ""));
        assert!(!about("Flaky test on CI", "it fails sometimes"));
        assert!(!about("parse_date fails", "my test_parse_date fails"));
    }

    #[test]
    fn title_terms_weigh_double_and_repeats_are_capped() {
        let body = "timeout ".repeat(40);
        let signals = IssueSignals::from_issue("Retry on timeout", &body);
        let weight = |t: &str| {
            signals
                .terms
                .iter()
                .find(|(term, _)| term == t)
                .map(|(_, w)| *w)
        };
        assert_eq!(weight("retry"), Some(2.0));
        assert_eq!(weight("timeout"), Some(4.0));
        assert_eq!(weight("on"), None, "stop word");
    }

    #[test]
    fn the_title_names_a_word_or_a_dotted_name_only_whole() {
        let signals = IssueSignals::from_issue("xr.where and Contains.as_set misbehave", "");
        assert!(signals.title_names("where"));
        assert!(!signals.title_names("whe"), "a part of a word");
        assert!(
            !signals.title_names("Contains.as_set"),
            "a word, not a dotted name"
        );
        let parts = |name: &str| name.split('.').map(str::to_owned).collect::<Vec<_>>();
        assert!(signals.title_writes(&parts("Contains.as_set")));
        assert!(signals.title_writes(&parts("xr.where")));
        assert!(
            !signals.title_writes(&parts("ontains.as_set")),
            "a longer name"
        );
        assert!(
            !signals.title_writes(&parts("Contains.as")),
            "a longer name"
        );
        assert!(!signals.title_writes(&[]));
    }

    #[test]
    fn an_inflected_word_is_made_of_its_stem() {
        assert_eq!(uninflected("mocked"), ["mock", "mocke"]);
        assert_eq!(uninflected("parsed"), ["pars", "parse"]);
        assert_eq!(uninflected("mapping"), ["mapp", "mappe", "map"]);
        assert!(uninflected("red").is_empty(), "too short a stem");
        assert!(uninflected("sing").is_empty(), "too short a stem");
        assert!(uninflected("mock").is_empty(), "not inflected");
    }

    #[test]
    fn the_title_names_a_type_by_its_word_singular_or_plural_but_not_by_a_stop_word() {
        let named = |title: &str, name: &str| {
            IssueSignals::from_issue(title, "").title_names_type(&type_key(name))
        };
        assert!(named(
            "float16 quantities get upgraded to float64",
            "Quantity"
        ));
        assert!(named(
            "Require a non-empty name for Blueprints",
            "Blueprint"
        ));
        assert!(named("NdarrayMixin is not round-tripped", "NDArrayMixin"));
        assert!(
            !named("Quantityless values lose their unit", "Quantity"),
            "a longer word"
        );
        assert!(
            !named("Error when the glob is empty", "Error"),
            "a stop word"
        );
        // A file's name is keyed as its type is.
        assert_eq!(type_key("ndarray_mixin"), type_key("NDArrayMixin"));
        assert_eq!(type_key("blueprints"), type_key("Blueprint"));
    }
}
