//! The repository side of localization: walking the tree within [`Limits`], skipping what is
//! not source, and the per-file statistics BM25F needs — only for the issue's own terms and
//! identifiers, so the index costs one pass over the files and little memory.

use super::signals::{IDENT, IssueSignals, terms, word_terms};
use crate::solution::parse::{self, Lang, SymbolKind};
use crate::solution::paths;
use anyhow::Context as _;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// How much of a repository localization reads. On the default limits a large repository
/// (20,000 files, 64 MiB of text) is indexed in a few seconds on one core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Files indexed at most; the walk stops there (sorted by path, so deterministic).
    pub max_files: usize,
    /// Files above this size are indexed by their path only.
    pub max_file_bytes: u64,
    /// Bytes of file content read in all; later files are indexed by their path only.
    pub max_total_bytes: u64,
    /// Files above this size are not parsed for symbols.
    pub max_parse_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_files: 20_000,
            max_file_bytes: 512 * 1024,
            max_total_bytes: 64 * 1024 * 1024,
            max_parse_bytes: 256 * 1024,
        }
    }
}

/// What the walk left out, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Lockfiles, minified, generated (`DO NOT EDIT`, `@generated`) files.
    pub generated: usize,
    /// Binary files (by extension or a NUL byte) and files that are not UTF-8.
    pub binary: usize,
    /// Files over `max_file_bytes`, indexed by their path only.
    pub huge: usize,
    /// Files past `max_total_bytes`, indexed by their path only.
    pub unread: usize,
}

/// The three fields of BM25F.
pub(super) const PATH: usize = 0;
pub(super) const SYMBOLS: usize = 1;
pub(super) const CONTENT: usize = 2;

/// A symbol of the file whose name the issue mentions.
#[derive(Debug, Clone)]
pub(super) struct Defined {
    pub ident: usize,
    pub kind: SymbolKind,
    pub line: usize,
}

/// One indexed file.
#[derive(Debug, Clone)]
pub(super) struct Doc {
    /// Relative, `/`-separated.
    pub path: String,
    /// Per issue term (same order as `IssueSignals::terms`), its frequency in each field.
    pub tf: Vec<[f32; 3]>,
    /// Each field's length in terms.
    pub len: [f32; 3],
    /// Symbols named in the issue that this file declares.
    pub defined: Vec<Defined>,
    /// Identifiers of the issue found in the content (indices into `identifiers`).
    pub mentioned: Vec<usize>,
    /// Message fragments of the issue (indices into `messages`) the content holds, with the line.
    pub messages: Vec<(usize, usize)>,
    /// `Class.member` pairs of the issue's dotted names (indices into `dotted`) the file
    /// declares, with the line.
    pub members: Vec<(usize, usize)>,
    /// Names of the file's first public symbols, shown to the LLM.
    pub public_symbols: Vec<String>,
    /// Under a test directory or named like a test.
    pub is_test: bool,
    /// A source file (not docs or configuration).
    pub is_code: bool,
}

/// The indexed repository.
#[derive(Debug, Default)]
pub(super) struct Corpus {
    pub docs: Vec<Doc>,
    pub skipped: Skipped,
    /// The walk stopped at `max_files`.
    pub truncated: bool,
}

const BINARY_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "webp", "svg", "pdf", "zip", "gz", "tgz", "bz2",
    "xz", "zst", "7z", "tar", "jar", "war", "class", "so", "dylib", "dll", "exe", "o", "a", "lib",
    "bin", "wasm", "woff", "woff2", "ttf", "otf", "eot", "mp3", "mp4", "wav", "ogg", "mov", "pyc",
    "pyo", "whl", "egg", "db", "sqlite", "parquet", "npy", "pkl", "onnx", "pt",
];

const CODE_EXTENSIONS: &[&str] = &[
    "py", "pyi", "js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx", "go", "rs", "java", "kt",
    "kts", "scala", "c", "h", "cc", "cpp", "hpp", "cs", "rb", "php", "swift", "m", "sh", "lua",
    "pl", "ex", "exs", "hs", "dart", "vue", "svelte", "pyx",
];

/// Walks `root` and indexes every text file for the issue's terms and identifiers.
pub(super) fn build(root: &Path, signals: &IssueSignals, limits: Limits) -> anyhow::Result<Corpus> {
    let term_index: HashMap<&str, usize> = signals
        .terms
        .iter()
        .enumerate()
        .map(|(i, (t, _))| (t.as_str(), i))
        .collect();
    let ident_index: HashMap<&str, usize> = signals
        .identifiers
        .iter()
        .enumerate()
        .map(|(i, id)| (id.text.as_str(), i))
        .collect();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .parents(false)
        .ignore(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !(is_dir
                && entry.depth() > 0
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| paths::SKIPPED_DIRS.contains(&n)))
        })
        .build();
    let mut corpus = Corpus::default();
    let mut bytes_read: u64 = 0;
    for entry in walker {
        let entry = entry.with_context(|| format!("walking {}", root.display()))?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(root) else {
            continue;
        };
        let rel: String = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if paths::is_generated_name(&rel) {
            corpus.skipped.generated += 1;
            continue;
        }
        let ext = rel.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        if ext
            .as_deref()
            .is_some_and(|e| BINARY_EXTENSIONS.contains(&e))
        {
            corpus.skipped.binary += 1;
            continue;
        }
        if corpus.docs.len() >= limits.max_files {
            corpus.truncated = true;
            break;
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        let mut doc = Doc {
            tf: vec![[0.0; 3]; signals.terms.len()],
            len: [0.0; 3],
            defined: Vec::new(),
            mentioned: Vec::new(),
            messages: Vec::new(),
            members: Vec::new(),
            public_symbols: Vec::new(),
            is_test: paths::is_test_path(&rel),
            is_code: ext.as_deref().is_some_and(|e| CODE_EXTENSIONS.contains(&e)),
            path: rel,
        };
        terms(&doc.path, |t| {
            doc.len[PATH] += 1.0;
            if let Some(&i) = term_index.get(t.as_str()) {
                doc.tf[i][PATH] += 1.0;
            }
        });
        if size > limits.max_file_bytes {
            corpus.skipped.huge += 1;
        } else if bytes_read + size > limits.max_total_bytes {
            corpus.skipped.unread += 1;
        } else {
            bytes_read += size;
            let raw =
                crate::solution::tree_file::read_bytes(root, &doc.path, limits.max_file_bytes)
                    .with_context(|| format!("reading {}", entry.path().display()))?;
            let Some(content) = text_content(&raw) else {
                corpus.skipped.binary += 1;
                continue;
            };
            if looks_generated(content) {
                corpus.skipped.generated += 1;
                continue;
            }
            index_content(&mut doc, content, &term_index, &ident_index);
            index_messages(&mut doc, content, &signals.messages);
            if let Some(lang) = Lang::from_path(Path::new(&doc.path))
                && content.len() <= limits.max_parse_bytes
            {
                index_symbols(&mut doc, lang, content, &term_index, &ident_index, signals);
            }
        }
        corpus.docs.push(doc);
    }
    Ok(corpus)
}

/// The text of a file, or `None` when it is binary (a NUL byte early on) or not UTF-8.
fn text_content(raw: &[u8]) -> Option<&str> {
    if raw.iter().take(8192).any(|b| *b == 0) {
        return None;
    }
    std::str::from_utf8(raw).ok()
}

/// Generated (`Code generated … DO NOT EDIT.`, `@generated`) or minified (very long lines).
fn looks_generated(content: &str) -> bool {
    let head = content.get(..content.len().min(2048)).unwrap_or(content);
    if head.contains("DO NOT EDIT") || head.contains("@generated") {
        return true;
    }
    let sample = content
        .get(..content.len().min(16 * 1024))
        .unwrap_or(content);
    let lines = sample.lines().count().max(1);
    sample.lines().any(|l| l.len() > 2000) && sample.len() / lines > 300
}

fn index_content(
    doc: &mut Doc,
    content: &str,
    term_index: &HashMap<&str, usize>,
    ident_index: &HashMap<&str, usize>,
) {
    let mut each = |t: String| {
        doc.len[CONTENT] += 1.0;
        if let Some(&i) = term_index.get(t.as_str()) {
            doc.tf[i][CONTENT] += 1.0;
        }
    };
    let mut mentioned = Vec::new();
    for m in IDENT.find_iter(content) {
        if let Some(&i) = ident_index.get(m.as_str())
            && !mentioned.contains(&i)
        {
            mentioned.push(i);
        }
        word_terms(m.as_str(), &mut each);
    }
    doc.mentioned = mentioned;
}

/// Which of the issue's message fragments the file holds (the string literal behind an error
/// message the reporter pasted), and on which line.
fn index_messages(doc: &mut Doc, content: &str, messages: &[String]) {
    for (i, message) in messages.iter().enumerate() {
        if let Some(at) = content.find(message.as_str()) {
            let line = content[..at].bytes().filter(|b| *b == b'\n').count() + 1;
            doc.messages.push((i, line));
        }
    }
}

fn index_symbols(
    doc: &mut Doc,
    lang: Lang,
    content: &str,
    term_index: &HashMap<&str, usize>,
    ident_index: &HashMap<&str, usize>,
    signals: &IssueSignals,
) {
    for symbol in parse::symbols(lang, content) {
        if let Some(container) = &symbol.container {
            let container = container.rsplit('.').next().unwrap_or(container);
            let found = signals.dotted.iter().position(|parts| {
                parts.len() >= 2
                    && parts[parts.len() - 1] == symbol.name
                    && parts[parts.len() - 2] == container
            });
            if let Some(d) = found
                && !doc.members.iter().any(|(m, _)| *m == d)
            {
                doc.members.push((d, symbol.start_line));
            }
        }
        terms(&symbol.name, |t| {
            doc.len[SYMBOLS] += 1.0;
            if let Some(&i) = term_index.get(t.as_str()) {
                doc.tf[i][SYMBOLS] += 1.0;
            }
        });
        if let Some(&ident) = ident_index.get(symbol.name.as_str()) {
            doc.defined.push(Defined {
                ident,
                kind: symbol.kind,
                line: symbol.start_line,
            });
        }
        if symbol.public && doc.public_symbols.len() < 12 {
            doc.public_symbols.push(symbol.qualified_name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(root: &Path, path: &str, content: &[u8]) {
        let full = root.join(path);
        fs::create_dir_all(full.parent().expect("has a parent")).expect("mkdir");
        fs::write(full, content).expect("write");
    }

    #[test]
    fn the_walk_skips_vendored_generated_binary_and_hidden_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "src/app.py", b"def parse_header(x):\n    return x\n");
        write(
            root,
            "node_modules/lib/index.js",
            b"function parse_header() {}\n",
        );
        write(root, "a/__pycache__/app.py", b"x = 1\n");
        write(root, "target/debug/gen.rs", b"fn f() {}\n");
        write(root, ".git/config", b"[core]\n");
        write(root, "Cargo.lock", b"# lock\n");
        write(root, "static/app.min.js", b"var a=1;\n");
        write(
            root,
            "api/gen.go",
            b"// Code generated by protoc. DO NOT EDIT.\npackage api\n",
        );
        write(root, "logo.png", b"\x89PNG\r\n");
        write(root, "data.bin2", b"ab\0cd");
        write(root, "docs/big.md", &vec![b'a'; 2048]);
        let signals = IssueSignals::from_issue("parse_header fails", "");
        let limits = Limits {
            max_file_bytes: 1024,
            ..Limits::default()
        };
        let corpus = build(root, &signals, limits).expect("builds");
        let paths: Vec<&str> = corpus.docs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["docs/big.md", "src/app.py"]);
        assert_eq!(
            corpus.skipped,
            Skipped {
                generated: 3,
                binary: 2,
                huge: 1,
                unread: 0
            }
        );
        let app = &corpus.docs[1];
        assert_eq!(app.defined.len(), 1, "parse_header is declared there");
        assert_eq!(app.mentioned, [0]);
        assert_eq!(app.public_symbols, ["parse_header"]);
    }

    #[test]
    fn the_limits_bound_files_and_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 0..5 {
            write(dir.path(), &format!("m{i}.py"), b"amount = 1\n");
        }
        let signals = IssueSignals::from_issue("amount", "");
        let few_files = Limits {
            max_files: 3,
            ..Limits::default()
        };
        let corpus = build(dir.path(), &signals, few_files).expect("builds");
        assert_eq!((corpus.docs.len(), corpus.truncated), (3, true));

        let few_bytes = Limits {
            max_total_bytes: 25,
            ..Limits::default()
        };
        let corpus = build(dir.path(), &signals, few_bytes).expect("builds");
        assert_eq!(
            corpus.docs.len(),
            5,
            "every file is still indexed by its path"
        );
        assert_eq!(corpus.skipped.unread, 3, "11 bytes each, 25 bytes allowed");
        assert_eq!(corpus.docs[0].tf[0][CONTENT], 1.0);
        assert_eq!(corpus.docs[4].tf[0][CONTENT], 0.0);
    }

    #[test]
    fn a_gitignored_file_is_not_indexed() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), ".gitignore", b"generated/\n");
        write(dir.path(), "generated/out.py", b"x = 1\n");
        write(dir.path(), "src/real.py", b"x = 1\n");
        let corpus =
            build(dir.path(), &IssueSignals::default(), Limits::default()).expect("builds");
        let paths: Vec<&str> = corpus.docs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["src/real.py"]);
    }
}
