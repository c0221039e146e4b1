//! A repository's conventions as the `draft_fix` prompt states them: its language, the test
//! framework found in it (pytest or unittest; jest, vitest, mocha, ava or node:test; go test;
//! cargo test; JUnit 4 or 5, TestNG), where its tests live, and per-language rules for the test
//! to write. Only the repository's own files are read — manifests and test files — never run.

use super::paths;
use super::tree_file;
use crate::config::Language;
use std::path::Path;

/// What the prompt says about the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conventions {
    /// The language's name, e.g. `Python`.
    pub language: &'static str,
    /// The test framework, e.g. `pytest`.
    pub test_framework: String,
    /// How tests are written and where they go, in a sentence or two.
    pub guidance: String,
}

/// Reads a file of the tree (never through a symlink), lossily; empty when absent or larger
/// than 256 KiB.
fn read(root: &Path, rel: &str) -> String {
    const MAX: u64 = 256 * 1024;
    match tree_file::read_bytes(root, rel, MAX + 1) {
        Ok(bytes) if bytes.len() as u64 <= MAX => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    }
}

/// Detects the conventions of the tree at `root`; `test_files` are its test files (paths from
/// the root), used to tell unittest from pytest and to show where tests live.
pub fn detect(root: &Path, language: Language, test_files: &[String]) -> Conventions {
    let layout = layout(test_files);
    match language {
        Language::Python => python(root, test_files, &layout),
        Language::Javascript => javascript(root, &layout),
        Language::Go => Conventions {
            language: "Go",
            test_framework: "go test (package testing)".to_owned(),
            guidance: format!(
                "Tests are `func TestXxx(t *testing.T)` in a `_test.go` file beside the code, \
                 in the same package; prefer table-driven cases and `t.Fatalf` with the got and \
                 want values.{layout}"
            ),
        },
        Language::Rust => Conventions {
            language: "Rust",
            test_framework: "cargo test".to_owned(),
            guidance: format!(
                "Unit tests are `#[test]` functions in a `#[cfg(test)] mod tests` at the bottom \
                 of the file they test (`use super::*;`); integration tests are files under \
                 `tests/`. Use `assert_eq!` with the expected value.{layout}"
            ),
        },
        Language::Java => java(root, &layout),
    }
}

fn layout(test_files: &[String]) -> String {
    if test_files.is_empty() {
        return " The repository has no tests yet: create the first one where the framework \
                expects it."
            .to_owned();
    }
    let shown: Vec<&str> = test_files.iter().take(5).map(String::as_str).collect();
    format!(
        " Existing tests, e.g.: {}{}.",
        shown.join(", "),
        if test_files.len() > shown.len() {
            format!(" ({} in all)", test_files.len())
        } else {
            String::new()
        }
    )
}

fn python(root: &Path, test_files: &[String], layout: &str) -> Conventions {
    let config = ["pyproject.toml", "setup.cfg", "tox.ini", "pytest.ini"]
        .iter()
        .map(|f| read(root, f))
        .collect::<Vec<_>>()
        .join("\n");
    let requirements = [
        "requirements-dev.txt",
        "requirements-test.txt",
        "dev-requirements.txt",
        "test-requirements.txt",
    ]
    .iter()
    .map(|f| read(root, f))
    .collect::<Vec<_>>()
    .join("\n");
    let uses_pytest = tree_file::is_file(root, "pytest.ini")
        || config.contains("[tool.pytest")
        || config.contains("[pytest]")
        || config.contains("[tool:pytest]")
        || config.contains("pytest")
        || requirements.contains("pytest")
        || test_files.iter().any(|f| f.ends_with("conftest.py"));
    // Without any pytest sign, the test files tell: `unittest.TestCase` classes.
    let unittest = !uses_pytest
        && test_files.iter().take(20).any(|f| {
            let text = read(root, f);
            text.contains("unittest") && text.contains("TestCase")
        });
    let (framework, guidance) = if unittest {
        (
            "unittest",
            "Tests are `unittest.TestCase` subclasses with `test_*` methods and \
             `self.assertEqual`, in `test_*.py` files.",
        )
    } else {
        (
            "pytest",
            "Tests are plain `test_*` functions with bare `assert` (and `pytest.raises` for \
             errors) in `test_*.py` files, importing the package the way the existing tests do.",
        )
    };
    Conventions {
        language: "Python",
        test_framework: framework.to_owned(),
        guidance: format!("{guidance}{layout}"),
    }
}

fn javascript(root: &Path, layout: &str) -> Conventions {
    // The root manifest, or the first one a level down (a monorepo's package).
    let mut manifest = read(root, "package.json");
    let mut typescript = tree_file::is_file(root, "tsconfig.json");
    if manifest.is_empty()
        && let Ok(entries) = std::fs::read_dir(root)
    {
        // Named from the root, so a symlinked directory is not followed out of the tree.
        let mut dirs: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        dirs.sort();
        for dir in dirs {
            let package = format!("{dir}/package.json");
            if tree_file::is_file(root, &package) {
                manifest = read(root, &package);
                typescript |= tree_file::is_file(root, &format!("{dir}/tsconfig.json"));
                break;
            }
        }
    }
    let has = |name: &str| manifest.contains(&format!("\"{name}\"")) || manifest.contains(name);
    let framework = if has("vitest") {
        "vitest"
    } else if has("jest") {
        "jest"
    } else if has("mocha") {
        "mocha"
    } else if has("\"ava\"") {
        "ava"
    } else if manifest.contains("node --test") || manifest.contains("node:test") {
        "node:test"
    } else {
        "none found (use node:test)"
    };
    let style = match framework {
        "vitest" => "`describe`/`it` with `expect(...)` imported from `vitest`",
        "jest" => "`describe`/`test` with `expect(...)` (jest globals)",
        "mocha" => "`describe`/`it` with the assertion library the existing tests use",
        "ava" => "`test('…', t => …)` with `t.is` / `t.deepEqual`",
        _ => "`test` from `node:test` with `node:assert/strict`",
    };
    Conventions {
        language: if typescript {
            "TypeScript"
        } else {
            "JavaScript"
        },
        test_framework: framework.to_owned(),
        guidance: format!(
            "Tests use {style}, in `*.test.*` / `*.spec.*` files or a `__tests__`/`test` \
             directory, in the module system (ESM or CommonJS) of the existing files.{layout}"
        ),
    }
}

fn java(root: &Path, layout: &str) -> Conventions {
    let build = ["pom.xml", "build.gradle", "build.gradle.kts"]
        .iter()
        .map(|f| read(root, f))
        .collect::<Vec<_>>()
        .join("\n");
    let framework = if build.contains("junit-jupiter") || build.contains("org.junit.jupiter") {
        "JUnit 5"
    } else if build.contains("testng") {
        "TestNG"
    } else if build.contains("junit") {
        "JUnit 4"
    } else {
        "JUnit 5"
    };
    let style = match framework {
        "JUnit 4" => "`@Test` methods (`org.junit.Test`) with `org.junit.Assert` assertions",
        "TestNG" => "`@Test` methods (`org.testng.annotations.Test`) with TestNG `Assert`",
        _ => "`@Test` methods (`org.junit.jupiter.api.Test`) with `Assertions.assertEquals`",
    };
    Conventions {
        language: "Java",
        test_framework: framework.to_owned(),
        guidance: format!(
            "Tests use {style}, in a `<Class>Test.java` under `src/test/java` mirroring the \
             package of the class under test.{layout}"
        ),
    }
}

/// The test files of a list of repository paths.
pub fn test_files<'a>(all: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    all.into_iter()
        .filter(|p| paths::is_test_path(p) && super::parse::Lang::from_path(Path::new(p)).is_some())
        .map(str::to_owned)
        .collect()
}

/// The test files most likely to test `source`: same stem (`test_cart.py`, `cart_test.go`,
/// `CartTest.java`, `cart.test.ts`), else in the same or a sibling directory, best first.
pub fn related_tests<'a>(source: &str, tests: &'a [String]) -> Vec<&'a str> {
    let name = paths::file_name(source);
    let stem = name.split('.').next().unwrap_or(name).to_ascii_lowercase();
    let dir = source.rsplit_once('/').map_or("", |(d, _)| d);
    let parent = dir.rsplit_once('/').map_or("", |(d, _)| d);
    let mut scored: Vec<(u8, &str)> = tests
        .iter()
        .filter_map(|t| {
            let tname = paths::file_name(t).to_ascii_lowercase();
            let tstem = tname.split('.').next().unwrap_or(&tname).to_owned();
            let same_stem = !stem.is_empty()
                && (tstem == format!("test_{stem}")
                    || tstem == format!("{stem}_test")
                    || tstem == format!("{stem}test")
                    || tstem == format!("{stem}tests")
                    || tstem == format!("{stem}_tests")
                    || (tstem == stem && tname != name.to_ascii_lowercase()));
            let tdir = t.rsplit_once('/').map_or("", |(d, _)| d);
            let near =
                tdir == dir || (!parent.is_empty() && tdir.starts_with(&format!("{parent}/")));
            match (same_stem, near) {
                (true, _) => Some((0, t.as_str())),
                (false, true) => Some((1, t.as_str())),
                _ => None,
            }
        })
        .collect();
    scored.sort();
    scored.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solution::test_support::fixture;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn frameworks_are_found_from_manifests_and_test_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let tests = vec!["tests/test_a.py".to_owned()];
        write(
            root,
            "tests/test_a.py",
            "import unittest\nclass T(unittest.TestCase): pass\n",
        );
        assert_eq!(
            detect(root, Language::Python, &tests).test_framework,
            "unittest"
        );
        write(root, "pyproject.toml", "[tool.pytest.ini_options]\n");
        assert_eq!(
            detect(root, Language::Python, &tests).test_framework,
            "pytest"
        );

        write(
            root,
            "package.json",
            r#"{"devDependencies": {"vitest": "^2"}}"#,
        );
        assert_eq!(
            detect(root, Language::Javascript, &[]).test_framework,
            "vitest"
        );
        write(root, "package.json", r#"{"scripts": {"test": "mocha"}}"#);
        assert_eq!(
            detect(root, Language::Javascript, &[]).test_framework,
            "mocha"
        );
        write(
            root,
            "package.json",
            r#"{"scripts": {"test": "node --test"}}"#,
        );
        let js = detect(root, Language::Javascript, &[]);
        assert_eq!(js.test_framework, "node:test");
        assert!(js.guidance.contains("no tests yet"), "{}", js.guidance);

        write(
            root,
            "pom.xml",
            "<artifactId>junit</artifactId><version>4.13</version>",
        );
        assert_eq!(detect(root, Language::Java, &[]).test_framework, "JUnit 4");
        write(root, "pom.xml", "<groupId>org.junit.jupiter</groupId>");
        assert_eq!(detect(root, Language::Java, &[]).test_framework, "JUnit 5");
        assert_eq!(
            detect(root, Language::Go, &[]).test_framework,
            "go test (package testing)"
        );
        assert_eq!(
            detect(root, Language::Rust, &[]).test_framework,
            "cargo test"
        );
    }

    #[test]
    fn the_shop_fixture_names_its_tests() {
        let shop = fixture("shop");
        let js = detect(&shop.join("js"), Language::Javascript, &[]);
        assert_eq!(js.language, "JavaScript");
        assert_eq!(js.test_framework, "none found (use node:test)");
        let tests = vec!["py/tests/test_cart.py".to_owned()];
        let py = detect(&shop, Language::Python, &tests);
        assert!(
            py.guidance.contains("py/tests/test_cart.py"),
            "{}",
            py.guidance
        );
    }

    #[test]
    fn related_tests_prefer_the_same_stem_then_the_same_area() {
        let tests: Vec<String> = [
            "py/tests/test_cart.py",
            "py/tests/test_pricing.py",
            "go/inventory/store_test.go",
            "java/src/test/java/com/acme/cache/LruCacheTest.java",
            "js/src/format.test.js",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(
            related_tests("py/shop/cart.py", &tests),
            vec!["py/tests/test_cart.py", "py/tests/test_pricing.py"]
        );
        assert_eq!(
            related_tests("go/inventory/store.go", &tests),
            vec!["go/inventory/store_test.go"]
        );
        assert_eq!(
            related_tests("java/src/main/java/com/acme/cache/LruCache.java", &tests),
            vec!["java/src/test/java/com/acme/cache/LruCacheTest.java"]
        );
        assert_eq!(
            related_tests("js/src/format.js", &tests),
            vec!["js/src/format.test.js"]
        );
        assert!(related_tests("rs/src/parser.rs", &tests).is_empty());
    }
}
