//! Dependency manifests, for the graph when a registry does not list a package's dependencies:
//! `Cargo.toml`, `package.json`, `pyproject.toml` (PEP 621 and Poetry), `requirements*.txt`,
//! `go.mod` and `pom.xml`. Each parser gives the package's own name (when the manifest says)
//! and the names of its direct, non-development dependencies. Line-oriented readers, enough
//! for the tables and arrays manifests use in practice, not full TOML/XML parsers.

use super::registries::maven::parse_pom;
use super::registries::normalize_python;
use super::registries::pypi::requirement_name;
use crate::config::Language;

/// What a manifest says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The package's name.
    pub name: Option<String>,
    /// Its direct dependencies.
    pub dependencies: Vec<String>,
}

/// The manifest files read per ecosystem, as paths from the repository root.
pub fn files(language: Language) -> &'static [&'static str] {
    match language {
        Language::Python => &["pyproject.toml", "requirements.txt"],
        Language::Javascript => &["package.json"],
        Language::Go => &["go.mod"],
        Language::Rust => &["Cargo.toml"],
        Language::Java => &["pom.xml"],
    }
}

/// Parses a manifest by its file name; `None` for a file it does not know.
pub fn parse(file: &str, text: &str) -> Option<Manifest> {
    let base = file.rsplit('/').next().unwrap_or(file);
    let mut manifest = match base {
        "Cargo.toml" => cargo(text),
        "package.json" => package_json(text),
        "pyproject.toml" => pyproject(text),
        "go.mod" => go_mod(text),
        "pom.xml" => pom(text),
        b if b.starts_with("requirements") && b.ends_with(".txt") => requirements(text),
        _ => return None,
    };
    manifest.dependencies.sort();
    manifest.dependencies.dedup();
    Some(manifest)
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches(|c| c == '"' || c == '\'')
}

fn cargo(text: &str) -> Manifest {
    let mut out = Manifest::default();
    let mut section = String::new();
    for line in text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
    {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = header.trim().to_owned();
            // `[dependencies.serde]`
            for table in ["dependencies.", "build-dependencies."] {
                if let Some(name) = section.strip_prefix(table) {
                    out.dependencies.push(unquote(name).to_owned());
                }
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = unquote(key.split('.').next().unwrap_or(key));
        if section == "package" && key == "name" && out.name.is_none() {
            out.name = Some(unquote(value).to_owned());
        }
        let is_deps = section == "dependencies"
            || section == "build-dependencies"
            || (section.starts_with("target.") && section.ends_with(".dependencies"));
        if is_deps && !key.is_empty() {
            // `alias = { package = "real" }` depends on `real`.
            let real = value
                .split("package")
                .nth(1)
                .and_then(|rest| rest.split('"').nth(1))
                .unwrap_or(key);
            out.dependencies.push(real.to_owned());
        }
    }
    out
}

fn package_json(text: &str) -> Manifest {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Manifest::default();
    };
    Manifest {
        name: value
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_owned),
        dependencies: value
            .get("dependencies")
            .and_then(|d| d.as_object())
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default(),
    }
}

fn pyproject(text: &str) -> Manifest {
    let mut out = Manifest::default();
    let mut section = String::new();
    let mut in_array = false;
    for raw in text.lines() {
        let line = raw.split(" #").next().unwrap_or("").trim();
        if in_array {
            for item in line.split(',') {
                let item = unquote(item.trim_end_matches(']'));
                if let Some(name) = requirement_name(item) {
                    out.dependencies.push(name);
                }
            }
            if line.contains(']') {
                in_array = false;
            }
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = header.trim().to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        match (section.as_str(), key) {
            ("project" | "tool.poetry", "name") => {
                out.name = Some(normalize_python(unquote(value)));
            }
            ("project", "dependencies") => {
                let value = value.trim();
                let body = value.trim_start_matches('[');
                for item in body.split(',') {
                    let item = unquote(item.trim_end_matches(']'));
                    if let Some(name) = requirement_name(item) {
                        out.dependencies.push(name);
                    }
                }
                in_array = !value.contains(']');
            }
            ("tool.poetry.dependencies", name) if name != "python" => {
                out.dependencies.push(normalize_python(unquote(name)));
            }
            _ => {}
        }
    }
    out
}

fn requirements(text: &str) -> Manifest {
    Manifest {
        name: None,
        dependencies: text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('-'))
            .filter_map(requirement_name)
            .collect(),
    }
}

fn go_mod(text: &str) -> Manifest {
    let mut out = Manifest::default();
    let mut in_block = false;
    for line in text.lines().map(str::trim) {
        if let Some(module) = line.strip_prefix("module ") {
            out.name = Some(unquote(module).to_owned());
        } else if line.starts_with("require (") {
            in_block = true;
        } else if in_block && line == ")" {
            in_block = false;
        } else if let Some(req) = line.strip_prefix("require ").or(in_block.then_some(line)) {
            if req.contains("// indirect") || req.is_empty() || req.starts_with("//") {
                continue;
            }
            if let Some(path) = req.split_whitespace().next() {
                out.dependencies.push(path.to_owned());
            }
        }
    }
    out
}

fn pom(text: &str) -> Manifest {
    let (_, dependencies) = parse_pom(text);
    // The project's own coordinates: outside <parent> and <dependencies>.
    let mut own = text.to_owned();
    for (open, close) in [
        ("<parent>", "</parent>"),
        ("<dependencies>", "</dependencies>"),
        ("<dependencyManagement>", "</dependencyManagement>"),
        ("<build>", "</build>"),
    ] {
        while let (Some(a), Some(b)) = (own.find(open), own.find(close)) {
            if b < a {
                break;
            }
            own.replace_range(a..b + close.len(), "");
        }
    }
    let tag = |t: &str| {
        let start = own.find(&format!("<{t}>"))? + t.len() + 2;
        let end = own[start..].find(&format!("</{t}>"))? + start;
        Some(own[start..end].trim().to_owned())
    };
    Manifest {
        name: tag("groupId")
            .zip(tag("artifactId"))
            .map(|(g, a)| format!("{g}:{a}")),
        dependencies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_toml_dependencies_without_dev_dependencies() {
        let text = r#"
[package]
name = "tinyser"
version = "1.0.0"

[dependencies]
serde = { version = "1", features = ["derive"] }
log = "0.4"
json = { package = "serde_json", version = "1" }
tokio.workspace = true

[dev-dependencies]
proptest = "1"

[dependencies.regex]
version = "1"

[target.'cfg(unix)'.dependencies]
libc = "0.2"
"#;
        let m = parse("Cargo.toml", text).expect("known");
        assert_eq!(m.name.as_deref(), Some("tinyser"));
        assert_eq!(
            m.dependencies,
            ["libc", "log", "regex", "serde", "serde_json", "tokio"]
        );
    }

    #[test]
    fn package_json_and_requirements_and_pyproject() {
        let m = parse(
            "package.json",
            r#"{"name":"@a/b","dependencies":{"x":"1","y":"2"},"devDependencies":{"z":"3"}}"#,
        )
        .expect("known");
        assert_eq!(
            (m.name.as_deref(), m.dependencies),
            (Some("@a/b"), vec!["x".to_owned(), "y".to_owned()])
        );
        let m = parse(
            "requirements-prod.txt",
            "# pinned\nrequests==2.31\n-r base.txt\nDjango_Filter>=2\n",
        )
        .expect("known");
        assert_eq!(m.dependencies, ["django-filter", "requests"]);
        let py = "[project]\nname = \"My_Pkg\"\ndependencies = [\n  \"httpx>=0.27\",\n  \"rich\",\n]\n[tool.poetry.dependencies]\npython = \"^3.10\"\nclick = \"^8\"\n";
        let m = parse("pyproject.toml", py).expect("known");
        assert_eq!(m.name.as_deref(), Some("my-pkg"));
        assert_eq!(m.dependencies, ["click", "httpx", "rich"]);
    }

    #[test]
    fn go_mod_and_pom() {
        let m = parse("go.mod", "module github.com/a/b\n\ngo 1.22\n\nrequire github.com/x/y v1.2.3\nrequire (\n\tgithub.com/p/q v0.1.0\n\tgolang.org/x/sys v0.1.0 // indirect\n)\n").expect("known");
        assert_eq!(m.name.as_deref(), Some("github.com/a/b"));
        assert_eq!(m.dependencies, ["github.com/p/q", "github.com/x/y"]);
        let pom = "<project><parent><groupId>org.parent</groupId><artifactId>p</artifactId></parent><groupId>org.tiny</groupId><artifactId>tinycollect</artifactId><dependencies><dependency><groupId>org.tiny</groupId><artifactId>tinybase</artifactId></dependency></dependencies></project>";
        let m = parse("pom.xml", pom).expect("known");
        assert_eq!(m.name.as_deref(), Some("org.tiny:tinycollect"));
        assert_eq!(m.dependencies, ["org.tiny:tinybase"]);
        assert_eq!(parse("setup.cfg", ""), None);
    }
}
