//! What a file holds whatever the issue is — its content terms, identifiers, short string
//! literals and symbols — computed once per file content, so the index of a tree can be kept
//! ([`super::cache`]) and matched against any issue without reading the file's syntax again.

use super::signals::{IDENT, word_terms};
use crate::solution::parse::{self, Lang, SymbolKind};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

/// A file's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum FileFacts {
    /// Not text: a NUL byte early on, or not UTF-8.
    Binary,
    /// Generated (`DO NOT EDIT`, `@generated`) or minified.
    Generated,
    /// A text file.
    Text(TextFacts),
}

/// The facts of a text file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct TextFacts {
    /// Each search term of the content with its count, sorted by term.
    pub terms: Vec<(String, u32)>,
    /// The content's length in terms.
    pub len: u32,
    /// Its identifiers, each once, in the order of their first occurrence.
    pub idents: Vec<String>,
    /// Its short string literals (`"--ignore-paths"` as `ignore-paths`), each once with the
    /// line of the first, in order.
    pub literals: Vec<(String, usize)>,
    /// Its symbols (none when the language is not parsed or the file is too large).
    pub symbols: Vec<FactSymbol>,
    /// What a package's index file (`__init__.py`, `index.js`, `index.ts`) or a Rust module
    /// (`pub use`) re-exports.
    #[serde(default)]
    pub reexports: Vec<Reexport>,
    /// The modules it imports, as written ([`import_specifiers`]).
    #[serde(default)]
    pub imports: Vec<String>,
}

/// `from .core.computation import where, merge as combine`,
/// `export { parse } from './parse'` or `pub use crate::de::{from_str, Deserializer};`: names
/// a package takes from one of its modules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Reexport {
    /// The module as written: `.core.computation`, `xarray.core`, `./parse`, `crate::de`.
    pub from: String,
    /// Each name as exported, and as the module declares it; none for `*`.
    pub names: Vec<(String, String)>,
}

/// A declared symbol, as much of it as ranking uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct FactSymbol {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// The innermost enclosing class or type (`Parser` for `mod.Parser.parse`).
    pub container: Option<String>,
    /// `container.name` as the LLM is shown it.
    pub qualified: String,
    /// Public by the language's rules.
    pub public: bool,
    /// Its first line, from 1.
    pub line: usize,
}

/// `from MODULE import NAMES` (Python), the names possibly in parentheses over several lines.
static PY_FROM_IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]+)")
        .expect("valid regex")
});
/// `export { a, b as c } from './x'` and `export * from './x'` (JavaScript, TypeScript).
static JS_EXPORT_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"export\s*(?:type\s*)?(\{[^}]*\}|\*)\s*from\s*['"]([^'"]+)['"]"#)
        .expect("valid regex")
});

/// `pub use TREE;` or `pub(crate) use TREE;` (Rust), the tree possibly over several lines.
static RUST_PUB_USE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*pub(?:[ \t]*\([^)]*\))?[ \t]+use[ \t]+([^;]+);").expect("valid regex")
});

/// One path a Rust `use` tree brings in: the module it names and the item, or `*` (`None`).
#[derive(Debug, Clone, PartialEq)]
struct RustUse {
    /// The module path: `crate::de`, `self::index`, `super::error`, `value`.
    module: String,
    /// The item as brought in (`as` alias) and as the module declares it; `None` for `*`.
    item: Option<(String, String)>,
}

/// The paths of a `use` tree (what follows `use`): `crate::de::{self, from_str, Deserializer as
/// De}` gives `crate::de` with `from_str` and `De`/`Deserializer`; `self` (the module itself,
/// no item of it) and paths of one segment (`use serde;`) name no item and are left out.
/// Line comments inside the tree are ignored.
fn rust_use_tree(tree: &str) -> Vec<RustUse> {
    fn walk(prefix: &str, tree: &str, out: &mut Vec<RustUse>) {
        let tree = tree.trim().trim_start_matches("::");
        if let Some(open) = tree.find('{') {
            let Some(close) = tree.rfind('}') else {
                return;
            };
            let head = tree[..open].trim().trim_end_matches("::");
            let prefix = join(prefix, head);
            let inner = &tree[open + 1..close];
            let (mut depth, mut start) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        walk(&prefix, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            walk(&prefix, &inner[start..], out);
            return;
        }
        let mut words = tree.split_whitespace();
        let Some(path) = words.next() else {
            return;
        };
        let alias = match (words.next(), words.next()) {
            (Some("as"), Some(alias)) => Some(alias.trim_start_matches("r#")),
            _ => None,
        };
        let path = join(prefix, path);
        let Some((module, last)) = path.rsplit_once("::") else {
            return;
        };
        let last = last.trim_start_matches("r#");
        let item = match last {
            "*" => None,
            "self" => return,
            name if is_ident(name) && alias.is_none_or(is_ident) && alias != Some("_") => {
                Some((alias.unwrap_or(name).to_owned(), name.to_owned()))
            }
            _ => return,
        };
        out.push(RustUse {
            module: module.to_owned(),
            item,
        });
    }
    fn join(prefix: &str, path: &str) -> String {
        match (prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_owned(),
            (_, true) => prefix.to_owned(),
            _ => format!("{prefix}::{path}"),
        }
    }
    // Line comments may sit inside a tree; a `//` never appears in a path.
    let tree: Vec<&str> = tree
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect();
    let mut out = Vec::new();
    walk("", &tree.join("\n"), &mut out);
    out
}

/// A name as a module exports it: letters, digits and `_`.
fn is_ident(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// The re-exports of a package's index file or a Rust module; none for other files.
fn reexports(path: &str, content: &str) -> Vec<Reexport> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let names = |list: &str| -> Vec<(String, String)> {
        list.trim_matches(|c| c == '(' || c == ')' || c == '{' || c == '}')
            .split(',')
            .filter_map(|item| {
                let item = item.split('#').next().unwrap_or_default().trim();
                let mut words = item.split_whitespace();
                let original = words.next()?;
                let exported = match (words.next(), words.next()) {
                    (Some("as"), Some(alias)) => alias,
                    _ => original,
                };
                (is_ident(original) && is_ident(exported))
                    .then(|| (exported.to_owned(), original.to_owned()))
            })
            .collect()
    };
    if name == "__init__.py" {
        PY_FROM_IMPORT
            .captures_iter(content)
            .map(|c| Reexport {
                from: c[1].to_owned(),
                names: if c[2].trim() == "*" {
                    Vec::new()
                } else {
                    names(&c[2])
                },
            })
            .collect()
    } else if matches!(name, "index.js" | "index.ts" | "index.mjs" | "index.tsx") {
        JS_EXPORT_FROM
            .captures_iter(content)
            .map(|c| Reexport {
                from: c[2].to_owned(),
                names: if &c[1] == "*" {
                    Vec::new()
                } else {
                    names(&c[1])
                },
            })
            .collect()
    } else if name.ends_with(".rs") {
        let (mut named, mut stars): (Vec<Reexport>, Vec<Reexport>) = (Vec::new(), Vec::new());
        for used in RUST_PUB_USE
            .captures_iter(content)
            .flat_map(|c| rust_use_tree(&c[1]))
        {
            let Some(item) = used.item else {
                stars.push(Reexport {
                    from: used.module,
                    names: Vec::new(),
                });
                continue;
            };
            match named.iter_mut().find(|r| r.from == used.module) {
                Some(r) => r.names.push(item),
                None => named.push(Reexport {
                    from: used.module,
                    names: vec![item],
                }),
            }
        }
        named.extend(stars);
        named
    } else {
        Vec::new()
    }
}

/// Python `from a.b import c, d` / `import a.b`, and JavaScript `from './x'` / `require('./x')`.
static IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)^\s*(?:from\s+(\.*[A-Za-z_][\w.]*|\.+)\s+import\s+\(?([\w, \t]+)|import\s+([A-Za-z_][\w.]*))|(?:from|require\()\s*['"](\.{1,2}/[^'"]+)['"]"#,
    )
    .expect("valid regex")
});

/// The modules `content` imports, as written, in the order a resolver should try them: each
/// module, then for `from a import b` also the submodule `a.b`.
pub(super) fn import_specifiers(content: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut add = |module: String| {
        if !found.contains(&module) {
            found.push(module);
        }
    };
    for caps in IMPORT.captures_iter(content) {
        if let Some(module) = caps.get(1).or_else(|| caps.get(3)) {
            let module = module.as_str();
            add(module.to_owned());
            let names = caps.get(2).map_or("", |n| n.as_str());
            for name in names.split(',').filter_map(|n| n.split_whitespace().next()) {
                add(submodule(module, name));
            }
        } else if let Some(relative) = caps.get(4) {
            add(relative.as_str().to_owned());
        }
    }
    found
}

/// The module `from module import name` names when `name` is a submodule: `sphinx.util` and
/// `docfields` give `sphinx.util.docfields`, `.` and `utils` give `.utils`.
pub(super) fn submodule(module: &str, name: &str) -> String {
    let dot = if module.ends_with('.') { "" } else { "." };
    format!("{module}{dot}{name}")
}

/// A Python `from M import a, b as c` (parenthesized over lines too) or a JavaScript
/// `import { a, b as c } from './m'` / `import a from './m'`.
static IMPORTED_NAMES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)^[ \t]*from[ \t]+(\.*[A-Za-z_][\w.]*|\.+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)|^[ \t]*import[ \t]+(\{[^}]*\}|[A-Za-z_$][\w$]*)[ \t]+from[ \t]+['"]([^'"]+)['"]"#,
    )
    .expect("valid regex")
});

/// One import statement's names, as [`imported_names`] reads them.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ImportedNames {
    /// The module, as written (`.docfields`, `sphinx.util`, `./parse`).
    pub module: String,
    /// Each name with the name it is bound to: `TypedField as TF` is `("TypedField", "TF")`.
    pub names: Vec<(String, String)>,
    /// The statement's first and last lines, from 1.
    pub lines: (usize, usize),
}

/// The names `content` imports from each module, statement by statement.
pub(super) fn imported_names(content: &str) -> Vec<ImportedNames> {
    // Line numbers counted on from the previous statement: the statements come in order.
    let (mut counted_to, mut line) = (0, 1);
    let mut line_of = |at: usize| {
        line += content[counted_to..at].matches('\n').count();
        counted_to = at;
        line
    };
    IMPORTED_NAMES
        .captures_iter(content)
        .filter_map(|caps| {
            let (module, list) = match (caps.get(1), caps.get(2), caps.get(3), caps.get(4)) {
                (Some(m), Some(l), _, _) | (_, _, Some(l), Some(m)) => (m.as_str(), l.as_str()),
                _ => return None,
            };
            let ident = |w: &str| {
                w.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
            };
            let names: Vec<(String, String)> = list
                .trim_matches(|c| matches!(c, '(' | ')' | '{' | '}'))
                .split(',')
                .filter_map(|item| {
                    let mut words = item.split_whitespace();
                    let name = words.next()?;
                    let bound = match (words.next(), words.next()) {
                        (Some("as"), Some(alias)) => alias,
                        _ => name,
                    };
                    (ident(name) && ident(bound)).then(|| (name.to_owned(), bound.to_owned()))
                })
                .collect();
            let whole = caps.get(0)?;
            (!names.is_empty()).then(|| ImportedNames {
                module: module.to_owned(),
                names,
                lines: (
                    line_of(whole.start()),
                    line_of(whole.end().max(whole.start() + 1) - 1),
                ),
            })
        })
        .collect()
}

/// A short string literal in any of the languages: `"--ignore-paths"`, `'kbd'`.
static STRING_LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""-{0,2}([A-Za-z][A-Za-z0-9_.:-]{1,80})"|'-{0,2}([A-Za-z][A-Za-z0-9_.:-]{1,80})'"#)
        .expect("valid regex")
});

impl FileFacts {
    /// The facts of the file at `path` (relative) holding `raw`; symbols only up to
    /// `max_parse_bytes`.
    pub(super) fn of(path: &str, raw: &[u8], max_parse_bytes: usize) -> Self {
        let Some(content) = text_content(raw) else {
            return FileFacts::Binary;
        };
        if looks_generated(content) {
            return FileFacts::Generated;
        }
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut len = 0;
        let mut idents: Vec<String> = Vec::new();
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for m in IDENT.find_iter(content) {
            if seen.insert(m.as_str()) {
                idents.push(m.as_str().to_owned());
            }
            word_terms(m.as_str(), &mut |t| {
                len += 1;
                *counts.entry(t).or_default() += 1;
            });
        }
        let mut terms: Vec<(String, u32)> = counts.into_iter().collect();
        terms.sort_unstable();
        let symbols = match Lang::from_path(Path::new(path)) {
            Some(lang) if content.len() <= max_parse_bytes => parse::symbols(lang, content)
                .into_iter()
                .map(|s| FactSymbol {
                    qualified: s.qualified_name(),
                    container: s
                        .container
                        .as_deref()
                        .map(|c| c.rsplit('.').next().unwrap_or(c).to_owned()),
                    name: s.name,
                    kind: s.kind,
                    public: s.public,
                    line: s.start_line,
                })
                .collect(),
            _ => Vec::new(),
        };
        FileFacts::Text(TextFacts {
            terms,
            len,
            idents,
            literals: literals(content),
            symbols,
            reexports: reexports(path, content),
            imports: import_specifiers(content),
        })
    }
}

/// The short string literals of `content`, each once with the line of its first occurrence.
fn literals(content: &str) -> Vec<(String, usize)> {
    let mut found: Vec<(String, usize)> = Vec::new();
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let (mut line, mut counted) = (1, 0);
    for caps in STRING_LITERAL.captures_iter(content) {
        let Some(name) = caps.get(1).or_else(|| caps.get(2)) else {
            continue;
        };
        if !seen.insert(name.as_str()) {
            continue;
        }
        line += content[counted..name.start()]
            .bytes()
            .filter(|b| *b == b'\n')
            .count();
        counted = name.start();
        found.push((name.as_str().to_owned(), line));
    }
    found
}

/// The text of a file, or `None` when it is binary (a NUL byte early on) or not UTF-8.
pub(super) fn text_content(raw: &[u8]) -> Option<&str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_file_gives_its_terms_identifiers_literals_and_symbols() {
        let raw = b"class Checker:\n    options = ((\"--min-lines\", 4),)\n\n    def check_lines(self, lines):\n        return 'min-lines'\n";
        let FileFacts::Text(facts) = FileFacts::of("pkg/similar.py", raw, 1024) else {
            panic!("a text file");
        };
        let count = |t: &str| facts.terms.iter().find(|(x, _)| x == t).map(|(_, c)| *c);
        assert_eq!(count("min"), Some(2), "--min-lines and 'min-lines'");
        assert_eq!(count("check_lines"), Some(1));
        assert_eq!(count("line"), None, "a stop word");
        assert_eq!(
            facts.idents[..4],
            ["class", "Checker", "options", "min"].map(String::from)
        );
        assert_eq!(facts.literals, [("min-lines".to_owned(), 2)]);
        let symbols: Vec<(&str, Option<&str>, usize)> = facts
            .symbols
            .iter()
            .map(|s| (s.qualified.as_str(), s.container.as_deref(), s.line))
            .collect();
        assert!(
            symbols.contains(&("Checker.check_lines", Some("Checker"), 4)),
            "{symbols:?}"
        );
    }

    #[test]
    fn a_package_index_gives_what_it_re_exports() {
        let init = b"from .core.computation import where, dot as tensordot  # noqa\nfrom .core.merge import (\n    merge,\n    MergeError,\n)\nfrom .util import *\n";
        let FileFacts::Text(facts) = FileFacts::of("xarray/__init__.py", init, 4096) else {
            panic!("a text file");
        };
        let pairs = |names: &[(&str, &str)]| -> Vec<(String, String)> {
            names
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        assert_eq!(
            facts.reexports,
            [
                Reexport {
                    from: ".core.computation".to_owned(),
                    names: pairs(&[("where", "where"), ("tensordot", "dot")]),
                },
                Reexport {
                    from: ".core.merge".to_owned(),
                    names: pairs(&[("merge", "merge"), ("MergeError", "MergeError")]),
                },
                Reexport {
                    from: ".util".to_owned(),
                    names: Vec::new(),
                },
            ]
        );
        let index =
            b"export { parse, format as fmt } from './parse';\nexport * from \"./range\";\n";
        let FileFacts::Text(facts) = FileFacts::of("lib/index.js", index, 4096) else {
            panic!("a text file");
        };
        assert_eq!(facts.reexports.len(), 2);
        assert_eq!(
            facts.reexports[0].names,
            pairs(&[("parse", "parse"), ("fmt", "format")])
        );
        let FileFacts::Text(facts) = FileFacts::of("lib/other.py", init, 4096) else {
            panic!("a text file");
        };
        assert!(facts.reexports.is_empty(), "only index files re-export");
    }

    #[test]
    fn a_rust_module_gives_what_it_pub_uses() {
        let lib = "mod de;\npub mod value;\npub use crate::de::{from_str, Deserializer as De};\npub use crate::error::{Error, Result};\npub(crate) use self::read::{self, Fused};\npub use crate::{\n    de::from_slice,\n    ser::{to_string, to_vec},\n};\npub use value::*;\nuse std::io;\npub use serde;\npub use crate::number::{\n    // Größe: the arbitrary-precision one\n    Number,\n};\n".as_bytes();
        let FileFacts::Text(facts) = FileFacts::of("src/lib.rs", lib, 4096) else {
            panic!("a text file");
        };
        let found: Vec<(&str, Vec<(&str, &str)>)> = (facts.reexports.iter())
            .map(|r| {
                let names = r.names.iter().map(|(a, b)| (a.as_str(), b.as_str()));
                (r.from.as_str(), names.collect())
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "crate::de",
                    vec![
                        ("from_str", "from_str"),
                        ("De", "Deserializer"),
                        ("from_slice", "from_slice")
                    ]
                ),
                (
                    "crate::error",
                    vec![("Error", "Error"), ("Result", "Result")]
                ),
                ("self::read", vec![("Fused", "Fused")]),
                (
                    "crate::ser",
                    vec![("to_string", "to_string"), ("to_vec", "to_vec")]
                ),
                ("crate::number", vec![("Number", "Number")]),
                ("value", vec![]),
            ],
            "private `use` and a crate re-exported whole are not re-exports"
        );
    }

    #[test]
    fn binary_and_generated_files_have_no_text_facts() {
        assert_eq!(FileFacts::of("a.bin2", b"ab\0cd", 1024), FileFacts::Binary);
        assert_eq!(
            FileFacts::of(
                "gen.go",
                b"// Code generated. DO NOT EDIT.\npackage a\n",
                1024
            ),
            FileFacts::Generated
        );
    }

    #[test]
    fn imported_names_are_read_with_their_aliases_and_lines() {
        let content = "\"\"\"Doc.\"\"\"\nfrom .docfields import (\n    Field,\n    TypedField as TF,\n)\nimport os\nfrom sphinx.util import nodes  # a module\n\nimport { parse as p, stringify } from './qs';\nimport def from \"./def\";\n";
        let pair = |n: &str, b: &str| (n.to_owned(), b.to_owned());
        let statement = |module: &str, names: Vec<(String, String)>, lines| ImportedNames {
            module: module.to_owned(),
            names,
            lines,
        };
        assert_eq!(
            imported_names(content),
            vec![
                statement(
                    ".docfields",
                    vec![pair("Field", "Field"), pair("TypedField", "TF")],
                    (2, 5)
                ),
                statement("sphinx.util", vec![pair("nodes", "nodes")], (7, 7)),
                statement(
                    "./qs",
                    vec![pair("parse", "p"), pair("stringify", "stringify")],
                    (9, 9)
                ),
                statement("./def", vec![pair("def", "def")], (10, 10)),
            ]
        );
        assert_eq!(submodule("sphinx.util", "nodes"), "sphinx.util.nodes");
        assert_eq!(submodule(".", "utils"), ".utils");
    }
}
