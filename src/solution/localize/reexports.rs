//! Following a public API name to its definition: `xr.where` is `where` of
//! `xarray/__init__.py`, which takes it `from .core.computation import where`, so the file to
//! look at is `xarray/core/computation.py` — not the dozen other files declaring a `where`.
//! Chains of package indexes (`sympy/__init__.py` → `sympy/core/__init__.py` →
//! `sympy/core/numbers.py`) and `*` imports are followed; Python `__init__.py`, JavaScript
//! or TypeScript `index` files, and Rust modules (`pub use crate::de::from_str;` in `lib.rs`
//! or a `mod.rs`).

use super::index::Doc;
use std::collections::HashMap;

/// Hops followed from one package index to the next.
const MAX_DEPTH: usize = 4;

/// Each file's doc by its path: what [`resolve`] looks modules up in.
pub(super) fn by_path(docs: &[Doc]) -> HashMap<&str, usize> {
    (docs.iter().enumerate())
        .map(|(i, d)| (d.path.as_str(), i))
        .collect()
}

/// Per file: (the identifier it defines as public API, the package index exporting it, how
/// many files the identifier leads to).
pub(super) fn targets(
    docs: &[Doc],
    by_path: &HashMap<&str, usize>,
    identifiers: usize,
) -> HashMap<usize, (usize, usize, usize)> {
    let mut per_ident: Vec<Vec<(usize, usize)>> = vec![Vec::new(); identifiers];
    for (i, doc) in docs.iter().enumerate() {
        for r in doc.reexports.iter().filter(|r| !r.star) {
            for (ident, _) in &r.names {
                let Some(module) = resolve(&doc.path, &r.from, by_path) else {
                    continue;
                };
                let target = follow(docs, by_path, module, *ident, 0).unwrap_or(module);
                if target != i && !per_ident[*ident].iter().any(|(t, _)| *t == target) {
                    per_ident[*ident].push((target, i));
                }
            }
        }
    }
    // A package's top index (`xarray/__init__.py`, its parent no package) passes on every
    // name its `*` imports bring.
    for (i, doc) in docs.iter().enumerate() {
        if !doc.reexports.iter().any(|r| r.star) || !is_top_index(&doc.path, by_path) {
            continue;
        }
        for (ident, hits) in per_ident.iter_mut().enumerate() {
            if let Some(target) = follow(docs, by_path, i, ident, 0)
                && target != i
                && !hits.iter().any(|(t, _)| *t == target)
            {
                hits.push((target, i));
            }
        }
    }
    let mut found = HashMap::new();
    for (ident, hits) in per_ident.iter().enumerate() {
        for (target, via) in hits {
            found.entry(*target).or_insert((ident, *via, hits.len()));
        }
    }
    found
}

/// A package index whose directory's parent is not a package.
fn is_top_index(path: &str, by_path: &HashMap<&str, usize>) -> bool {
    if path.ends_with(".rs") {
        return path == "lib.rs" || path.ends_with("/lib.rs");
    }
    let Some(dir) = path.strip_suffix("/__init__.py") else {
        return path.ends_with("/index.js") || path.ends_with("/index.ts");
    };
    let parent = dir.rsplit_once('/').map_or("", |(p, _)| p);
    !by_path.contains_key(format!("{parent}/__init__.py").trim_start_matches('/'))
}

/// Where `ident` ends up from the file `at`: the file itself unless it is a package index
/// passing the name on (by name or by a `*` import of a module declaring it).
fn follow(
    docs: &[Doc],
    by_path: &HashMap<&str, usize>,
    at: usize,
    ident: usize,
    depth: usize,
) -> Option<usize> {
    let doc = &docs[at];
    if doc.reexports.is_empty() || depth >= MAX_DEPTH {
        return Some(at);
    }
    for r in doc.reexports.iter().filter(|r| !r.star) {
        if r.names.iter().any(|(i, _)| *i == ident)
            && let Some(next) = resolve(&doc.path, &r.from, by_path)
        {
            return follow(docs, by_path, next, ident, depth + 1);
        }
    }
    for r in doc.reexports.iter().filter(|r| r.star) {
        let Some(next) = resolve(&doc.path, &r.from, by_path) else {
            continue;
        };
        let declares = docs[next].defined.iter().any(|d| d.ident == ident);
        if declares {
            return Some(next);
        }
        if !docs[next].reexports.is_empty()
            && let Some(found) = follow(docs, by_path, next, ident, depth + 1)
            && found != next
        {
            return Some(found);
        }
    }
    doc.defined.iter().any(|d| d.ident == ident).then_some(at)
}

/// The file a module named in the package index `index` is: `.core.computation` from
/// `xarray/__init__.py` → `xarray/core/computation.py` (or its `__init__.py`); `xarray.core`
/// by its absolute name (also under `src/` or `lib/`); `./parse` → `lib/parse.js`;
/// `crate::value` from `src/lib.rs` → `src/value/mod.rs`.
pub(super) fn resolve(index: &str, from: &str, by_path: &HashMap<&str, usize>) -> Option<usize> {
    if index.ends_with(".rs") {
        return resolve_rust(index, from, by_path);
    }
    let dir = index.rsplit_once('/').map_or("", |(d, _)| d);
    let find = |stem: &str, suffixes: &[&str]| {
        suffixes.iter().find_map(|s| {
            let path = format!("{stem}{s}");
            by_path.get(path.trim_start_matches('/')).copied()
        })
    };
    if from.starts_with("./") || from.starts_with("../") {
        let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        for part in from.split('/') {
            match part {
                "." | "" => {}
                ".." => {
                    parts.pop()?;
                }
                p => parts.push(p),
            }
        }
        let stem = parts.join("/");
        let js = [
            "",
            ".js",
            ".ts",
            ".mjs",
            ".tsx",
            "/index.js",
            "/index.ts",
            "/index.mjs",
        ];
        return find(&stem, &js);
    }
    if !index.ends_with(".py") {
        return None;
    }
    let python = [".py", "/__init__.py"];
    let dots = from.chars().take_while(|c| *c == '.').count();
    let rest = from[dots..].replace('.', "/");
    if dots > 0 {
        let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        for _ in 1..dots {
            parts.pop()?;
        }
        let base = parts.join("/");
        if rest.is_empty() {
            return find(&base, &["/__init__.py"]);
        }
        return find(&format!("{base}/{rest}"), &python);
    }
    ["", "src/", "lib/"]
        .iter()
        .find_map(|prefix| find(&format!("{prefix}{rest}"), &python))
}

/// The Rust module path `from` (`crate::de`, `self::index`, `super::error`, `value::ser`) as
/// written in the file `at`: its file (`src/de.rs`, `src/value/index.rs` or `…/mod.rs`, the
/// crate's `lib.rs` for `crate`). A path that is not the crate's own (`serde::de`) is none.
fn resolve_rust(at: &str, from: &str, by_path: &HashMap<&str, usize>) -> Option<usize> {
    let under = |dir: &str, name: &str| {
        if dir.is_empty() {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        }
    };
    let doc = |path: &str| by_path.get(path).copied();
    let crate_file = |dir: &str| doc(&under(dir, "lib.rs")).or_else(|| doc(&under(dir, "main.rs")));
    // The module's file, or the crate's root file when `dir` is the crate's root.
    let module_file = |dir: &str| {
        crate_file(dir)
            .or_else(|| doc(&format!("{dir}.rs")))
            .or_else(|| doc(&under(dir, "mod.rs")))
    };
    let (dir, file) = at.rsplit_once('/').unwrap_or(("", at));
    // Where `at`'s child modules live: beside a `lib.rs`, `main.rs` or `mod.rs`, else in the
    // directory named as the file.
    let own = match file {
        "lib.rs" | "main.rs" | "mod.rs" => dir.to_owned(),
        _ => under(dir, file.trim_end_matches(".rs")),
    };
    let mut ancestors = std::iter::successors(Some(dir), |d| {
        (!d.is_empty()).then(|| d.rsplit_once('/').map_or("", |(p, _)| p))
    });
    let root = ancestors.find(|d| crate_file(d).is_some())?;
    let mut segments = from.split("::").filter(|s| !s.is_empty()).peekable();
    let starts: Vec<String> = match segments.peek().copied() {
        Some("crate") => {
            segments.next();
            vec![root.to_owned()]
        }
        Some("self") | Some("super") => {
            let mut base = own.clone();
            while let Some(&step) = segments.peek() {
                match step {
                    "self" => {}
                    "super" => base = base.rsplit_once('/').map_or("", |(p, _)| p).to_owned(),
                    _ => break,
                }
                segments.next();
            }
            vec![base]
        }
        // A child module (2018 edition), else a path from the crate's root (2015).
        _ => vec![own.clone(), root.to_owned()],
    };
    let rest: Vec<&str> = segments.collect();
    starts.iter().find_map(|start| {
        let dir = rest.iter().fold(start.clone(), |dir, s| under(&dir, s));
        if rest.is_empty() && dir == own {
            return doc(at);
        }
        module_file(&dir)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`resolve`] in a tree of `paths`: the path a module named in a file resolves to.
    fn resolver<'a>(paths: &'a [&'a str]) -> impl Fn(&str, &str) -> Option<&'a str> {
        let by_path: HashMap<&str, usize> =
            paths.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        move |file, from| resolve(file, from, &by_path).map(|i| paths[i])
    }

    #[test]
    fn relative_absolute_and_javascript_modules_resolve_to_files() {
        let paths = [
            "xarray/__init__.py",
            "xarray/core/__init__.py",
            "xarray/core/computation.py",
            "src/_pytest/python.py",
            "lib/index.js",
            "lib/parse.ts",
            "lib/range/index.js",
        ];
        let at = resolver(&paths);
        assert_eq!(
            at("xarray/__init__.py", ".core.computation"),
            Some("xarray/core/computation.py")
        );
        assert_eq!(
            at("xarray/__init__.py", ".core"),
            Some("xarray/core/__init__.py")
        );
        assert_eq!(
            at("xarray/core/__init__.py", "..core.computation"),
            Some("xarray/core/computation.py")
        );
        assert_eq!(
            at("xarray/core/__init__.py", ".."),
            Some("xarray/__init__.py")
        );
        assert_eq!(
            at("src/pytest/__init__.py", "_pytest.python"),
            Some("src/_pytest/python.py")
        );
        assert_eq!(at("lib/index.js", "./parse"), Some("lib/parse.ts"));
        assert_eq!(at("lib/index.js", "./range"), Some("lib/range/index.js"));
        assert_eq!(at("xarray/__init__.py", ".missing"), None);
    }

    #[test]
    fn rust_module_paths_resolve_to_their_files() {
        let paths = [
            "src/lib.rs",
            "src/de.rs",
            "src/map.rs",
            "src/value/mod.rs",
            "src/value/index.rs",
            "src/read/mod.rs",
            "src/read/fused.rs",
            "crates/glob/src/lib.rs",
            "crates/glob/src/pattern.rs",
        ];
        let at = resolver(&paths);
        assert_eq!(at("src/lib.rs", "crate::de"), Some("src/de.rs"));
        assert_eq!(at("src/lib.rs", "crate::value"), Some("src/value/mod.rs"));
        assert_eq!(at("src/lib.rs", "value"), Some("src/value/mod.rs"), "2018");
        assert_eq!(at("src/lib.rs", "crate"), Some("src/lib.rs"));
        assert_eq!(
            at("src/value/mod.rs", "self::index"),
            Some("src/value/index.rs")
        );
        assert_eq!(at("src/value/mod.rs", "crate::map"), Some("src/map.rs"));
        assert_eq!(at("src/value/mod.rs", "super::map"), Some("src/map.rs"));
        assert_eq!(
            at("src/value/index.rs", "super::super::de"),
            Some("src/de.rs")
        );
        assert_eq!(at("src/value/index.rs", "super"), Some("src/value/mod.rs"));
        assert_eq!(
            at("src/value/mod.rs", "de"),
            Some("src/de.rs"),
            "2015: from the root"
        );
        assert_eq!(
            at("src/read/mod.rs", "self::fused"),
            Some("src/read/fused.rs")
        );
        assert_eq!(
            at("crates/glob/src/lib.rs", "crate::pattern"),
            Some("crates/glob/src/pattern.rs"),
            "a workspace member's crate root"
        );
        assert_eq!(at("src/lib.rs", "serde::de"), None, "another crate");
        assert_eq!(at("src/lib.rs", "crate::missing"), None);
    }
}
