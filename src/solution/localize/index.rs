//! The repository side of localization: walking the tree within [`Limits`], skipping what is
//! not source, and the per-file statistics BM25F needs — only for the issue's own terms and
//! identifiers, so the index costs one pass over the files and little memory.

use super::cache::{CacheUse, IndexCache};
use super::facts::{FileFacts, TextFacts, text_content};
use super::signals::{IssueSignals, terms, type_key};
use crate::solution::parse::SymbolKind;
use crate::solution::paths;
use anyhow::Context as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
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
    /// Names of the issue (indices into `literals`) the content holds as a whole string
    /// literal, with the line of the first.
    pub literals: Vec<(usize, usize)>,
    /// `Class.member` pairs of the issue's dotted names (indices into `dotted`) the file
    /// declares, with the line.
    pub members: Vec<(usize, usize)>,
    /// The type the file is named after, with its line: `Quantity` of `quantity.py`,
    /// `Blueprint` of `blueprints.py`.
    pub own_type: Option<(String, usize)>,
    /// The types the title names that it declares at its top level or implements methods of
    /// (a Rust `impl`, a Go receiver): `SlicedLowLevelWCS` for "Inconsistent behavior of
    /// `world_to_pixel` in `SlicedLowLevelWCS`".
    pub title_classes: Vec<TitleClass>,
    /// What this package index re-exports under the issue's identifiers, and its `*` imports.
    pub reexports: Vec<Reexported>,
    /// The modules it imports, as written.
    pub imports: Vec<String>,
    /// Names of the file's first public symbols, shown to the LLM.
    pub public_symbols: Vec<String>,
    /// Under a test directory or named like a test.
    pub is_test: bool,
    /// A source file (not docs, examples or configuration).
    pub is_code: bool,
    /// Its extension, lowercased.
    pub ext: Option<String>,
}

/// A type the title names, as a file has it.
#[derive(Debug, Clone)]
pub(super) struct TitleClass {
    pub name: String,
    /// Its declaration's line, or its first method's.
    pub line: usize,
    /// Declared here (not only implemented).
    pub declared: bool,
}

/// One re-export of a package index (`from .core.computation import where`).
#[derive(Debug, Clone)]
pub(super) struct Reexported {
    /// The module as written.
    pub from: String,
    /// `from … import *`: every public name of the module.
    pub star: bool,
    /// The issue's identifiers among the names (indices into `identifiers`), each with its
    /// name in the module.
    pub names: Vec<(usize, String)>,
}

/// The indexed repository.
#[derive(Debug, Default)]
pub(super) struct Corpus {
    pub docs: Vec<Doc>,
    pub skipped: Skipped,
    /// The walk stopped at `max_files`.
    pub truncated: bool,
    /// Whether the facts came from the index cache.
    pub cache: CacheUse,
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

/// Directories of documentation and examples: their code (`doc/conf.py`, `examples/plot.py`)
/// shows how the project is used, where a bug report's fix almost never goes.
const DOC_DIRS: &[&str] = &["doc", "docs", "example", "examples"];

/// Whether a directory of `path` is named one of `names` (`testing/`: pytest's and others'
/// test trees, and test helpers such as `sympy/testing/`).
fn in_dir(path: &str, names: &[&str]) -> bool {
    let mut dirs = path.split('/').rev().skip(1);
    dirs.any(|d| names.contains(&d))
}

/// A file the walk kept, before it is read.
struct Listed {
    path: String,
    ext: Option<String>,
    /// Within the size bounds: its content is read.
    read: bool,
}

/// Walks `root` and indexes every text file for the issue's terms and identifiers; with a
/// cache, the files' [`FileFacts`] come from the tree's pack when there is one.
pub(super) fn build(
    root: &Path,
    signals: &IssueSignals,
    limits: Limits,
    cache: Option<&IndexCache>,
) -> anyhow::Result<Corpus> {
    let mut corpus = Corpus::default();
    let listed = walk(root, limits, &mut corpus)?;
    let read: Vec<&str> = listed
        .iter()
        .filter(|l| l.read)
        .map(|l| l.path.as_str())
        .collect();
    let key = match cache {
        Some(_) => Some(IndexCache::key(
            root,
            &read,
            limits.max_file_bytes,
            limits.max_parse_bytes,
        )?),
        None => None,
    };
    let stored = cache.zip(key.as_ref()).and_then(|(c, k)| c.load(k));
    corpus.cache = match (cache, &stored) {
        (None, _) => CacheUse::Off,
        (Some(_), Some(_)) => CacheUse::Hit,
        (Some(_), None) => CacheUse::Miss,
    };
    let mut stored = stored.map(Vec::into_iter);
    let mut fresh: Vec<FileFacts> = Vec::new();
    // A file changed between hashing and parsing: its facts are used but not stored.
    let mut changed = false;
    let matcher = Matcher::new(signals);
    for file in listed {
        let mut doc = Doc {
            tf: vec![[0.0; 3]; signals.terms.len()],
            len: [0.0; 3],
            defined: Vec::new(),
            mentioned: Vec::new(),
            messages: Vec::new(),
            literals: Vec::new(),
            members: Vec::new(),
            own_type: None,
            title_classes: Vec::new(),
            reexports: Vec::new(),
            imports: Vec::new(),
            public_symbols: Vec::new(),
            is_test: paths::is_test_path(&file.path) || in_dir(&file.path, &["testing"]),
            is_code: file
                .ext
                .as_deref()
                .is_some_and(|e| CODE_EXTENSIONS.contains(&e))
                && !in_dir(&file.path, DOC_DIRS),
            ext: file.ext,
            path: file.path,
        };
        terms(&doc.path, |t| {
            doc.len[PATH] += 1.0;
            if let Some(&i) = matcher.terms.get(t.as_str()) {
                doc.tf[i][PATH] += 1.0;
            }
        });
        if file.read {
            // Messages are looked for in the text itself; the rest comes from the facts.
            let raw = if stored.is_none() || !signals.messages.is_empty() {
                Some(
                    crate::solution::tree_file::read_bytes(root, &doc.path, limits.max_file_bytes)
                        .with_context(|| format!("reading {}", root.join(&doc.path).display()))?,
                )
            } else {
                None
            };
            let facts = match (stored.as_mut(), &raw) {
                (Some(stored), _) => stored.next().context("an index pack ended early")?,
                (None, Some(raw)) => {
                    let facts = FileFacts::of(&doc.path, raw, limits.max_parse_bytes);
                    if let Some(key) = &key {
                        let digest: [u8; 32] = Sha256::digest(raw).into();
                        changed |= key.digests.get(fresh.len()) != Some(&digest);
                        fresh.push(facts.clone());
                    }
                    facts
                }
                (None, None) => unreachable!("a file without stored facts is read"),
            };
            match &facts {
                FileFacts::Binary => {
                    corpus.skipped.binary += 1;
                    continue;
                }
                FileFacts::Generated => {
                    corpus.skipped.generated += 1;
                    continue;
                }
                FileFacts::Text(text) => {
                    matcher.apply(&mut doc, text, signals);
                    if let Some(content) = raw.as_deref().and_then(text_content) {
                        index_messages(&mut doc, content, &signals.messages);
                    }
                }
            }
        }
        corpus.docs.push(doc);
    }
    if let (Some(cache), Some(key), CacheUse::Miss) = (cache, &key, corpus.cache) {
        if changed {
            tracing::info!("the tree changed while it was indexed: its index is not kept");
        } else if let Err(err) = cache.store(key, fresh) {
            tracing::warn!("keeping the index: {err:#}");
        }
    }
    Ok(corpus)
}

/// The files of `root` in path order, honouring `.gitignore` and skipping what is not source;
/// counts what it leaves out in `corpus`.
fn walk(root: &Path, limits: Limits, corpus: &mut Corpus) -> anyhow::Result<Vec<Listed>> {
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
    let mut listed = Vec::new();
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
        if listed.len() >= limits.max_files {
            corpus.truncated = true;
            break;
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        let read = if size > limits.max_file_bytes {
            corpus.skipped.huge += 1;
            false
        } else if bytes_read + size > limits.max_total_bytes {
            corpus.skipped.unread += 1;
            false
        } else {
            bytes_read += size;
            true
        };
        listed.push(Listed {
            path: rel,
            ext,
            read,
        });
    }
    Ok(listed)
}

/// The issue's terms, identifiers and literal names by their text, to match facts against.
struct Matcher<'a> {
    terms: HashMap<&'a str, usize>,
    idents: HashMap<&'a str, usize>,
    literals: HashMap<&'a str, usize>,
}

impl<'a> Matcher<'a> {
    fn new(signals: &'a IssueSignals) -> Self {
        let index = |names: Vec<&'a str>| -> HashMap<&'a str, usize> {
            names.into_iter().enumerate().map(|(i, n)| (n, i)).collect()
        };
        Matcher {
            terms: index(signals.terms.iter().map(|(t, _)| t.as_str()).collect()),
            idents: index(
                signals
                    .identifiers
                    .iter()
                    .map(|i| i.text.as_str())
                    .collect(),
            ),
            literals: index(signals.literals.iter().map(String::as_str).collect()),
        }
    }

    /// Fills the content and symbol fields of `doc` from a text file's facts.
    fn apply(&self, doc: &mut Doc, facts: &TextFacts, signals: &IssueSignals) {
        doc.len[CONTENT] = facts.len as f32;
        for (term, count) in &facts.terms {
            if let Some(&i) = self.terms.get(term.as_str()) {
                doc.tf[i][CONTENT] += *count as f32;
            }
        }
        doc.mentioned = facts
            .idents
            .iter()
            .filter_map(|i| self.idents.get(i.as_str()).copied())
            .collect();
        doc.literals = facts
            .literals
            .iter()
            .filter_map(|(l, line)| self.literals.get(l.as_str()).map(|i| (*i, *line)))
            .collect();
        doc.imports.clone_from(&facts.imports);
        doc.reexports = facts
            .reexports
            .iter()
            .filter_map(|r| {
                let names: Vec<(usize, String)> = r
                    .names
                    .iter()
                    .filter_map(|(exported, original)| {
                        Some((*self.idents.get(exported.as_str())?, original.clone()))
                    })
                    .collect();
                let star = r.names.is_empty();
                (star || !names.is_empty()).then(|| Reexported {
                    from: r.from.clone(),
                    star,
                    names,
                })
            })
            .collect();
        let file_key = {
            let file = paths::file_name(&doc.path);
            type_key(file.split('.').next().unwrap_or(file))
        };
        for symbol in &facts.symbols {
            if doc.own_type.is_none() && symbol.kind.is_type() && type_key(&symbol.name) == file_key
            {
                doc.own_type = Some((symbol.name.clone(), symbol.line));
            }
            let typed = match (symbol.kind, &symbol.container) {
                (kind, None) if kind.is_type() => Some((&symbol.name, true)),
                (SymbolKind::Method, Some(container)) => Some((container, false)),
                _ => None,
            };
            if let Some((name, declared)) = typed
                && signals.title_names_type_as_written(name)
                && !doc.title_classes.iter().any(|known| known.name == *name)
            {
                doc.title_classes.push(TitleClass {
                    name: name.clone(),
                    line: symbol.line,
                    declared,
                });
            }
            if let Some(container) = &symbol.container {
                let found = signals.dotted.iter().position(|parts| {
                    parts.len() >= 2
                        && parts[parts.len() - 1] == symbol.name
                        && parts[parts.len() - 2] == *container
                });
                if let Some(d) = found
                    && !doc.members.iter().any(|(m, _)| *m == d)
                {
                    doc.members.push((d, symbol.line));
                }
            }
            terms(&symbol.name, |t| {
                doc.len[SYMBOLS] += 1.0;
                if let Some(&i) = self.terms.get(t.as_str()) {
                    doc.tf[i][SYMBOLS] += 1.0;
                }
            });
            if let Some(&ident) = self.idents.get(symbol.name.as_str()) {
                doc.defined.push(Defined {
                    ident,
                    kind: symbol.kind,
                    line: symbol.line,
                });
            }
            if symbol.public && doc.public_symbols.len() < 12 {
                doc.public_symbols.push(symbol.qualified.clone());
            }
        }
    }
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
        let corpus = build(root, &signals, limits, None).expect("builds");
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
        let corpus = build(dir.path(), &signals, few_files, None).expect("builds");
        assert_eq!((corpus.docs.len(), corpus.truncated), (3, true));

        let few_bytes = Limits {
            max_total_bytes: 25,
            ..Limits::default()
        };
        let corpus = build(dir.path(), &signals, few_bytes, None).expect("builds");
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
        let corpus = build(
            dir.path(),
            &IssueSignals::default(),
            Limits::default(),
            None,
        )
        .expect("builds");
        let paths: Vec<&str> = corpus.docs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["src/real.py"]);
    }
}
