//! Tree-sitter parsing for the languages GlobalLM fixes (Python, JavaScript, TypeScript and TSX,
//! Go, Rust, Java): which language a path is, whether a file still parses, and the symbols it
//! declares with whether each is public API by the language's own rules.

mod symbols;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use tree_sitter::{Node, Parser, Tree};

/// A language GlobalLM parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// `.py`, `.pyi`
    Python,
    /// `.js`, `.mjs`, `.cjs`, `.jsx` (the grammar reads JSX)
    JavaScript,
    /// `.ts`, `.mts`, `.cts`
    TypeScript,
    /// `.tsx`
    Tsx,
    /// `.go`
    Go,
    /// `.rs`
    Rust,
    /// `.java`
    Java,
}

impl Lang {
    /// Every language, in the order above.
    pub const ALL: [Lang; 7] = [
        Lang::Python,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Tsx,
        Lang::Go,
        Lang::Rust,
        Lang::Java,
    ];

    /// The language of a file, from its extension; `None` for anything else.
    pub fn from_path(path: &Path) -> Option<Lang> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "py" | "pyi" => Lang::Python,
            "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            "rs" => Lang::Rust,
            "java" => Lang::Java,
            _ => return None,
        })
    }

    /// The lowercase name (`python`, `tsx`, …).
    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Go => "go",
            Lang::Rust => "rust",
            Lang::Java => "java",
        }
    }

    fn grammar(self) -> tree_sitter::Language {
        match self {
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a file does not parse. Lines and columns count from 1; columns in characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseProblem {
    /// Text the grammar cannot place.
    #[error("syntax error at line {line}, column {column}: `{excerpt}`")]
    Syntax {
        /// Where the unparsable text starts.
        line: usize,
        /// Its column.
        column: usize,
        /// The source line there, trimmed.
        excerpt: String,
    },
    /// Something the grammar expected is missing (an unclosed bracket, a missing `;`).
    #[error("missing `{expected}` at line {line}, column {column}: `{excerpt}`")]
    Missing {
        /// Where it is expected.
        line: usize,
        /// Its column.
        column: usize,
        /// What is expected.
        expected: String,
        /// The source line there, trimmed.
        excerpt: String,
    },
    /// The parser gave no tree at all.
    #[error("the {0} parser produced no tree")]
    NoTree(Lang),
}

impl ParseProblem {
    /// The line the problem is on, if it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ParseProblem::Syntax { line, .. } | ParseProblem::Missing { line, .. } => Some(*line),
            ParseProblem::NoTree(_) => None,
        }
    }
}

/// What a symbol is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolKind {
    /// A free function.
    Function,
    /// A function inside a class, impl block or type (a constructor too).
    Method,
    /// A class.
    Class,
    /// A struct (Go, Rust) or a record (Java).
    Struct,
    /// An interface (Go, TypeScript, Java).
    Interface,
    /// A trait (Rust).
    Trait,
    /// An enum.
    Enum,
    /// A type alias or other named type.
    Type,
    /// A constant (Go `const`, Rust `const`/`static`, Java `static final`, JS `const`).
    Const,
    /// A module-level variable.
    Variable,
    /// A module (Rust `mod`).
    Module,
}

impl SymbolKind {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Class => "class",
            SymbolKind::Struct => "struct",
            SymbolKind::Interface => "interface",
            SymbolKind::Trait => "trait",
            SymbolKind::Enum => "enum",
            SymbolKind::Type => "type",
            SymbolKind::Const => "const",
            SymbolKind::Variable => "variable",
            SymbolKind::Module => "module",
        }
    }

    /// A class, struct, interface, trait, enum or named type.
    pub fn is_type(self) -> bool {
        matches!(
            self,
            SymbolKind::Class
                | SymbolKind::Struct
                | SymbolKind::Interface
                | SymbolKind::Trait
                | SymbolKind::Enum
                | SymbolKind::Type
        )
    }
}

/// A named declaration of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Symbol {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// The enclosing class, type, impl target or module, if any (`Parser` for `Parser.parse`).
    pub container: Option<String>,
    /// Whether it is public API by the language's rules: Python — module- or class-level and
    /// not starting with `_` (dunder methods count as public); JS/TS — `export`ed (members of an
    /// exported class unless `private` or `#`); Go — capitalized (a method also needs an exported
    /// receiver); Rust — `pub` (not `pub(crate)`) inside public modules; Java — `public`
    /// (interface members implicitly) inside public types.
    pub public: bool,
    /// The declaration without its body (whitespace collapsed): a change here is a signature
    /// change. For constants and variables, without the value.
    pub signature: String,
    /// First line, from 1.
    pub start_line: usize,
    /// Last line, inclusive.
    pub end_line: usize,
}

impl Symbol {
    /// `container.name`, or the name alone.
    pub fn qualified_name(&self) -> String {
        match &self.container {
            Some(container) => format!("{container}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Parses a source text; `None` only when the parser gives no tree.
pub fn parse(lang: Lang, source: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    // The grammars are compiled in and their ABI is checked by a test, so this cannot fail.
    parser
        .set_language(&lang.grammar())
        .expect("the grammar's ABI is one tree-sitter reads");
    parser.parse(source, None)
}

/// Checks that a source text parses without ERROR or MISSING nodes; the problem names the first
/// one's line and column.
pub fn check_parses(lang: Lang, source: &str) -> Result<(), ParseProblem> {
    let tree = parse(lang, source).ok_or(ParseProblem::NoTree(lang))?;
    let root = tree.root_node();
    if !root.has_error() {
        return Ok(());
    }
    match first_problem(root) {
        Some(node) => Err(problem_at(node, source)),
        // `has_error` without a node that is one: report the root rather than passing.
        None => Err(problem_at(root, source)),
    }
}

/// The symbols a source text declares, in source order. A file with syntax errors still gives
/// the symbols tree-sitter could recover.
pub fn symbols(lang: Lang, source: &str) -> Vec<Symbol> {
    match parse(lang, source) {
        Some(tree) => symbols::extract(lang, tree.root_node(), source),
        None => Vec::new(),
    }
}

/// The first ERROR or MISSING node in document order.
fn first_problem(node: Node<'_>) -> Option<Node<'_>> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    if !node.has_error() {
        return None;
    }
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
    children.into_iter().find_map(first_problem)
}

fn problem_at(node: Node<'_>, source: &str) -> ParseProblem {
    let point = node.start_position();
    let line_text = source.lines().nth(point.row).unwrap_or_default();
    let column = line_text
        .get(..point.column.min(line_text.len()))
        .map_or(point.column, |before| before.chars().count())
        + 1;
    let excerpt: String = line_text.trim().chars().take(120).collect();
    let line = point.row + 1;
    if node.is_missing() {
        ParseProblem::Missing {
            line,
            column,
            expected: node.kind().to_owned(),
            excerpt,
        }
    } else {
        ParseProblem::Syntax {
            line,
            column,
            excerpt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grammar_loads_into_the_parser() {
        for lang in Lang::ALL {
            let mut parser = Parser::new();
            parser
                .set_language(&lang.grammar())
                .unwrap_or_else(|err| panic!("{lang}: {err}"));
        }
    }

    #[test]
    fn languages_come_from_extensions() {
        let cases = [
            ("src/app.py", Some(Lang::Python)),
            ("types.pyi", Some(Lang::Python)),
            ("web/index.mjs", Some(Lang::JavaScript)),
            ("web/App.jsx", Some(Lang::JavaScript)),
            ("lib/a.ts", Some(Lang::TypeScript)),
            ("lib/a.d.ts", Some(Lang::TypeScript)),
            ("ui/View.TSX", Some(Lang::Tsx)),
            ("cmd/main.go", Some(Lang::Go)),
            ("src/lib.rs", Some(Lang::Rust)),
            ("src/main/java/A.java", Some(Lang::Java)),
            ("README.md", None),
            ("Makefile", None),
        ];
        for (path, lang) in cases {
            assert_eq!(Lang::from_path(Path::new(path)), lang, "{path}");
        }
    }

    #[test]
    fn valid_files_of_every_language_parse() {
        let cases = [
            (Lang::Python, "def f(x):\n    return x + 1\n"),
            (
                Lang::JavaScript,
                "export function f(x) { return <b>{x}</b>; }\n",
            ),
            (
                Lang::TypeScript,
                "export function f(x: number): number { return x; }\n",
            ),
            (
                Lang::Tsx,
                "export const A = (p: {n: number}) => <div>{p.n}</div>;\n",
            ),
            (Lang::Go, "package a\n\nfunc F(x int) int { return x }\n"),
            (Lang::Rust, "pub fn f(x: u8) -> u8 { x }\n"),
            (
                Lang::Java,
                "public class A { public int f(int x) { return x; } }\n",
            ),
        ];
        for (lang, source) in cases {
            assert_eq!(check_parses(lang, source), Ok(()), "{lang}");
        }
    }

    #[test]
    fn a_syntax_error_names_its_line_and_column() {
        let source = "def ok():\n    return 1\n\ndef broken(:\n    return 2\n";
        let problem = check_parses(Lang::Python, source).expect_err("broken");
        assert_eq!(problem.line(), Some(4), "{problem}");
        assert!(problem.to_string().contains("def broken(:"), "{problem}");
    }

    #[test]
    fn a_missing_token_is_reported_as_missing() {
        let problem = check_parses(Lang::Rust, "fn f() {\n    let x = (1 + 2;\n}\n")
            .expect_err("unclosed paren");
        assert_eq!(problem.line(), Some(2), "{problem}");
        let problem = check_parses(Lang::Java, "class A { void f() { int x = 1 } }\n")
            .expect_err("missing semicolon");
        match problem {
            ParseProblem::Missing {
                line, ref expected, ..
            } => {
                assert_eq!((line, expected.as_str()), (1, ";"));
            }
            other => panic!("expected a missing `;`, got {other}"),
        }
    }

    #[test]
    fn typescript_syntax_fails_the_javascript_grammar_and_jsx_fails_plain_typescript() {
        let typed = "function f(x: number): number { return x; }\n";
        assert!(check_parses(Lang::JavaScript, typed).is_err());
        assert!(check_parses(Lang::TypeScript, typed).is_ok());
        let jsx = "const a = <div className=\"x\">hi</div>;\n";
        assert!(check_parses(Lang::Tsx, jsx).is_ok());
        assert!(check_parses(Lang::TypeScript, jsx).is_err());
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        // `é` is two bytes: the missing `;` is at character 47, byte 48.
        let source = "class A { String s = \"é\"; void f() { int x = 1 } }\n";
        let problem = check_parses(Lang::Java, source).expect_err("broken");
        match problem {
            ParseProblem::Missing { line, column, .. } => assert_eq!((line, column), (1, 47)),
            other => panic!("expected a missing `;`, got {other}"),
        }
    }

    fn public_names(lang: Lang, source: &str) -> Vec<(String, SymbolKind, bool)> {
        symbols(lang, source)
            .into_iter()
            .map(|s| (s.qualified_name(), s.kind, s.public))
            .collect()
    }

    fn entry(name: &str, kind: SymbolKind, public: bool) -> (String, SymbolKind, bool) {
        (name.to_owned(), kind, public)
    }

    #[test]
    fn python_symbols_follow_the_underscore_rule() {
        let source = "MAX_SIZE = 10\n_cache = {}\n\ndef load(path):\n    def inner():\n        pass\n    return inner\n\ndef _helper():\n    pass\n\n@dataclass\nclass Config(Base):\n    def __init__(self, x):\n        self.x = x\n\n    def merge(self, other):\n        pass\n\n    def _check(self):\n        pass\n\nclass _Private:\n    def visible_name(self):\n        pass\n\ntry:\n    def fast():\n        pass\nexcept ImportError:\n    pass\n";
        use SymbolKind::*;
        assert_eq!(
            public_names(Lang::Python, source),
            vec![
                entry("MAX_SIZE", Const, true),
                entry("_cache", Variable, false),
                entry("load", Function, true),
                entry("_helper", Function, false),
                entry("Config", Class, true),
                entry("Config.__init__", Method, true),
                entry("Config.merge", Method, true),
                entry("Config._check", Method, false),
                entry("_Private", Class, false),
                entry("_Private.visible_name", Method, false),
                entry("fast", Function, true),
            ]
        );
        let all = symbols(Lang::Python, source);
        let config = all.iter().find(|s| s.name == "Config").expect("Config");
        assert_eq!(
            (config.start_line, config.end_line),
            (12, 21),
            "decorator included"
        );
        assert_eq!(config.signature, "class Config(Base)");
        let merge = all.iter().find(|s| s.name == "merge").expect("merge");
        assert_eq!(merge.signature, "def merge(self, other)");
    }

    #[test]
    fn javascript_symbols_are_public_when_exported() {
        let source = "export function parse(text) { return 1; }\nfunction local() {}\nexport const VERSION = '1';\nconst helper = (a, b) => a + b;\nexport class Client {\n  constructor(url) {}\n  send(msg) {}\n  #secret() {}\n}\nfunction later() {}\nexport { later };\n";
        use SymbolKind::*;
        assert_eq!(
            public_names(Lang::JavaScript, source),
            vec![
                entry("parse", Function, true),
                entry("local", Function, false),
                entry("VERSION", Const, true),
                entry("helper", Function, false),
                entry("Client", Class, true),
                entry("Client.constructor", Method, true),
                entry("Client.send", Method, true),
                entry("Client.#secret", Method, false),
                entry("later", Function, true),
            ]
        );
        let helper = symbols(Lang::JavaScript, source)
            .into_iter()
            .find(|s| s.name == "helper")
            .expect("helper");
        assert_eq!(helper.signature, "helper = (a, b) =>");
    }

    #[test]
    fn commonjs_exports_count_as_exported() {
        let source = "function a() {}\nfunction b() {}\nfunction c() {}\nmodule.exports = { a, bee: b };\nexports.c = c;\n";
        use SymbolKind::*;
        assert_eq!(
            public_names(Lang::JavaScript, source),
            vec![
                entry("a", Function, true),
                entry("b", Function, true),
                entry("c", Function, true),
            ]
        );
        let internal = public_names(Lang::JavaScript, "function a() {}\n");
        assert_eq!(internal, vec![entry("a", Function, false)]);
    }

    #[test]
    fn typescript_symbols_include_interfaces_types_enums_and_private_members() {
        let source = "export interface Options { depth: number }\ntype Local = string;\nexport type Id = number;\nexport enum Color { Red, Green }\nexport abstract class Store {\n  private cache(): void {}\n  protected hook(): void {}\n  public get(id: Id): string { return ''; }\n}\n";
        use SymbolKind::*;
        assert_eq!(
            public_names(Lang::TypeScript, source),
            vec![
                entry("Options", Interface, true),
                entry("Local", Type, false),
                entry("Id", Type, true),
                entry("Color", Enum, true),
                entry("Store", Class, true),
                entry("Store.cache", Method, false),
                entry("Store.hook", Method, false),
                entry("Store.get", Method, true),
            ]
        );
        let tsx = "export function View(props: { n: number }) { return <div>{props.n}</div>; }\n";
        assert_eq!(
            public_names(Lang::Tsx, tsx),
            vec![entry("View", Function, true)]
        );
    }

    #[test]
    fn go_symbols_are_public_when_capitalized() {
        let source = "package store\n\nconst MaxItems = 10\nconst minItems = 1\n\nvar (\n\tDefault = New()\n\tcount int\n)\n\ntype Store struct {\n\titems []string\n}\n\ntype reader interface {\n\tRead() error\n}\n\ntype ID int\n\nfunc New() *Store { return &Store{} }\n\nfunc (s *Store) Add(item string) error { return nil }\n\nfunc (s *Store) trim() {}\n\nfunc (r *reader) Exported() {}\n";
        use SymbolKind::*;
        assert_eq!(
            public_names(Lang::Go, source),
            vec![
                entry("MaxItems", Const, true),
                entry("minItems", Const, false),
                entry("Default", Variable, true),
                entry("count", Variable, false),
                entry("Store", Struct, true),
                entry("reader", Interface, false),
                entry("ID", Type, true),
                entry("New", Function, true),
                entry("Store.Add", Method, true),
                entry("Store.trim", Method, false),
                entry("reader.Exported", Method, false),
            ]
        );
        let add = symbols(Lang::Go, source)
            .into_iter()
            .find(|s| s.name == "Add")
            .expect("Add");
        assert_eq!(add.signature, "func (s *Store) Add(item string) error");
        assert_eq!((add.start_line, add.end_line), (23, 23));
    }

    #[test]
    fn rust_symbols_are_public_when_pub_in_public_modules() {
        let source = "pub struct Parser { depth: usize }\nstruct Hidden;\npub(crate) fn internal() {}\npub const LIMIT: usize = 3;\npub trait Visit {\n    fn visit(&self);\n}\nimpl Parser {\n    pub fn new() -> Self { Parser { depth: 0 } }\n    fn step(&mut self) {}\n}\nimpl Visit for Parser {\n    fn visit(&self) {}\n}\npub mod api {\n    pub fn open() {}\n}\nmod private {\n    pub fn hidden() {}\n}\npub enum Mode { A, B }\n";
        use SymbolKind::*;
        assert_eq!(
            public_names(Lang::Rust, source),
            vec![
                entry("Parser", Struct, true),
                entry("Hidden", Struct, false),
                entry("internal", Function, false),
                entry("LIMIT", Const, true),
                entry("Visit", Trait, true),
                entry("Visit.visit", Method, true),
                entry("Parser.new", Method, true),
                entry("Parser.step", Method, false),
                entry("Parser.visit", Method, false),
                entry("api", Module, true),
                entry("api.open", Function, true),
                entry("private", Module, false),
                entry("private.hidden", Function, false),
                entry("Mode", Enum, true),
            ]
        );
        let limit = symbols(Lang::Rust, source)
            .into_iter()
            .find(|s| s.name == "LIMIT")
            .expect("LIMIT");
        assert_eq!(limit.signature, "pub const LIMIT: usize", "value left out");
    }

    #[test]
    fn java_symbols_are_public_when_declared_public_or_in_an_interface() {
        let source = "package a;\n\npublic class Cache {\n    public static final int SIZE = 4;\n    private int hits;\n    public Cache() {}\n    public String get(String key) { return key; }\n    void reset() {}\n    public static class Entry {}\n}\n\ninterface Loader {\n    String load(String key);\n}\n\npublic enum Level {\n    LOW, HIGH;\n    public int weight() { return 1; }\n}\n";
        use SymbolKind::*;
        assert_eq!(
            public_names(Lang::Java, source),
            vec![
                entry("Cache", Class, true),
                entry("Cache.SIZE", Const, true),
                entry("Cache.hits", Variable, false),
                entry("Cache.Cache", Method, true),
                entry("Cache.get", Method, true),
                entry("Cache.reset", Method, false),
                entry("Cache.Entry", Class, true),
                entry("Loader", Interface, false),
                entry("Loader.load", Method, false),
                entry("Level", Enum, true),
                entry("Level.weight", Method, true),
            ]
        );
        let get = symbols(Lang::Java, source)
            .into_iter()
            .find(|s| s.name == "get")
            .expect("get");
        assert_eq!(get.signature, "public String get(String key)");
    }
}
