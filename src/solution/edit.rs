//! Applying the LLM's edits (`EditSet` of `llm::prompts`) to a work tree. Each edit replaces
//! one unique excerpt (`search`) of a file with `replace`; an empty `search` creates a file.
//! Whitespace drift is tolerated — trailing spaces, CRLF against LF, a consistent indentation
//! shift (`replace` is re-indented to match), tabs against spaces — and every failure is
//! described precisely enough to be fed back to the LLM. Edits are planned in memory first:
//! either all of them apply, or nothing is written.

mod matching;

use crate::llm::prompts::Edit;
use matching::Found;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// A file the edits changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Its path in the repository, `/`-separated.
    pub path: String,
    /// Its content before (`None`: the edits created it).
    pub before: Option<String>,
    /// Its content after.
    pub after: String,
}

impl FileChange {
    /// Whether the file is a test (by its path).
    pub fn is_test(&self) -> bool {
        super::paths::is_test_path(&self.path)
    }

    /// Lines added and removed.
    pub fn line_counts(&self) -> (usize, usize) {
        let before = self.before.as_deref().unwrap_or_default();
        let diff = similar::TextDiff::from_lines(before, &self.after);
        let mut counts = (0, 0);
        for change in diff.iter_all_changes() {
            match change.tag() {
                similar::ChangeTag::Insert => counts.0 += 1,
                similar::ChangeTag::Delete => counts.1 += 1,
                similar::ChangeTag::Equal => {}
            }
        }
        counts
    }
}

/// Why one edit cannot apply. Each message names the edit (from 1) and its file, and says what
/// to do, because it goes back to the LLM as feedback.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    /// The path is empty, absolute, leaves the tree, goes through `.git` or a symlink out.
    #[error("edit {edit} (`{path}`): the path is not allowed: {reason}")]
    UnsafePath {
        /// The edit, from 1.
        edit: usize,
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `search` appears nowhere, not even with whitespace ignored.
    #[error("edit {edit} (`{path}`): the search text was not found{}", closest_hint(.closest.as_deref()))]
    NotFound {
        /// The edit, from 1.
        edit: usize,
        /// The file.
        path: String,
        /// The region that resembles it the most, with its numbered lines (boxed: it is large
        /// and rare).
        closest: Option<Box<ClosestRegion>>,
    },
    /// `search` appears more than once.
    #[error("edit {edit} (`{path}`): the search text was found {} times, at lines {}; include more surrounding lines so it matches exactly once", .lines.len(), join_lines(.lines))]
    Ambiguous {
        /// The edit, from 1.
        edit: usize,
        /// The file.
        path: String,
        /// The first line of each occurrence.
        lines: Vec<usize>,
    },
    /// An empty `search` asks to create a file that exists.
    #[error(
        "edit {edit} (`{path}`): the file already exists; to change it, give a non-empty search text copied from it"
    )]
    FileExists {
        /// The edit, from 1.
        edit: usize,
        /// The file.
        path: String,
    },
    /// A non-empty `search` in a file that does not exist.
    #[error("edit {edit} (`{path}`): no such file; to create it, give an empty search text")]
    NoSuchFile {
        /// The edit, from 1.
        edit: usize,
        /// The file.
        path: String,
    },
    /// `search` is only whitespace, or both texts are empty.
    #[error(
        "edit {edit} (`{path}`): the search text is blank; copy the lines to replace verbatim from the file"
    )]
    BlankSearch {
        /// The edit, from 1.
        edit: usize,
        /// The file.
        path: String,
    },
    /// The file is not UTF-8 text.
    #[error("edit {edit} (`{path}`): the file is not UTF-8 text and cannot be edited")]
    NotText {
        /// The edit, from 1.
        edit: usize,
        /// The file.
        path: String,
    },
    /// Reading or writing failed.
    #[error("`{path}`: {message}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
}

/// The region of a file closest to a search text that was not found.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosestRegion {
    /// 1-based first line.
    pub start_line: usize,
    /// Last line, inclusive.
    pub end_line: usize,
    /// Line similarity, 0 to 1.
    pub similarity: f64,
    /// The region's lines, numbered.
    pub excerpt: String,
    /// The first line that differs: (line, the file's text, the search's text).
    pub first_difference: Option<(usize, String, String)>,
}

fn closest_hint(closest: Option<&ClosestRegion>) -> String {
    let Some(c) = closest else {
        return "; nothing in the file resembles it — check the file path".to_owned();
    };
    let mut out = format!(
        "; the closest region is lines {}-{} ({:.0}% similar):\n{}",
        c.start_line,
        c.end_line,
        c.similarity * 100.0,
        c.excerpt
    );
    if let Some((line, file, search)) = &c.first_difference {
        out.push_str(&format!(
            "\nfirst difference at line {line}: the file has `{}`, the search text has `{}`",
            file.trim(),
            search.trim()
        ));
    }
    out
}

fn join_lines(lines: &[usize]) -> String {
    lines
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every edit that failed; nothing was written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct EditErrors(pub Vec<EditError>);

impl fmt::Display for EditErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// A file as the plan holds it: LF line endings, and whether to write CRLF back.
struct Working {
    before: Option<String>,
    text: String,
    crlf: bool,
}

/// Applies `edits` in order to the tree at `root` in memory and returns the changed files,
/// without writing anything. Every failing edit is reported, not only the first.
pub fn plan_edits(root: &Path, edits: &[Edit]) -> Result<Vec<FileChange>, EditErrors> {
    let mut files: BTreeMap<String, Working> = BTreeMap::new();
    let mut errors = Vec::new();
    for (i, edit) in edits.iter().enumerate() {
        if let Err(error) = plan_one(root, i + 1, edit, &mut files) {
            errors.push(error);
        }
    }
    if !errors.is_empty() {
        return Err(EditErrors(errors));
    }
    Ok(files
        .into_iter()
        .map(|(path, w)| {
            let after = if w.crlf {
                w.text.replace('\n', "\r\n")
            } else {
                w.text
            };
            FileChange {
                path,
                before: w.before,
                after,
            }
        })
        .filter(|c| c.before.as_deref() != Some(c.after.as_str()))
        .collect())
}

/// [`plan_edits`], then writes the changed files (creating directories as needed).
pub fn apply_edits(root: &Path, edits: &[Edit]) -> Result<Vec<FileChange>, EditErrors> {
    let changes = plan_edits(root, edits)?;
    for change in &changes {
        let full = root.join(&change.path);
        let written = full
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&full, &change.after));
        if let Err(err) = written {
            return Err(EditErrors(vec![EditError::Io {
                path: change.path.clone(),
                message: err.to_string(),
            }]));
        }
    }
    Ok(changes)
}

fn plan_one(
    root: &Path,
    edit: usize,
    e: &Edit,
    files: &mut BTreeMap<String, Working>,
) -> Result<(), EditError> {
    let path = checked_path(root, edit, &e.path)?;
    let full = root.join(&path);
    if !files.contains_key(&path) {
        if full.is_file() {
            let raw = std::fs::read(&full).map_err(|err| EditError::Io {
                path: path.clone(),
                message: err.to_string(),
            })?;
            let text = String::from_utf8(raw).map_err(|_| EditError::NotText {
                edit,
                path: path.clone(),
            })?;
            let crlf = text.contains("\r\n");
            files.insert(
                path.clone(),
                Working {
                    text: text.replace("\r\n", "\n"),
                    before: Some(text),
                    crlf,
                },
            );
        } else if full.exists() {
            return Err(EditError::UnsafePath {
                edit,
                path,
                reason: "it is a directory or a special file".to_owned(),
            });
        }
    }
    let search = e.search.replace("\r\n", "\n");
    let replace = e.replace.replace("\r\n", "\n");
    let Some(file) = files.get_mut(&path) else {
        // A new file.
        if !search.is_empty() {
            return Err(EditError::NoSuchFile { edit, path });
        }
        files.insert(
            path,
            Working {
                before: None,
                text: replace,
                crlf: false,
            },
        );
        return Ok(());
    };
    if search.is_empty() {
        return Err(EditError::FileExists { edit, path });
    }
    if search.trim().is_empty() {
        return Err(EditError::BlankSearch { edit, path });
    }
    file.text = match matching::find(&file.text, &search) {
        Found::Exact(at) => {
            let mut text = file.text.clone();
            text.replace_range(at..at + search.len(), &replace);
            text
        }
        Found::Lines {
            start,
            len,
            shift,
            tabs,
            search_tabs,
        } => {
            let lines: Vec<&str> = file.text.split('\n').collect();
            let replace_lines = matching::search_lines(&replace);
            let replaced: Vec<String> = if shift == 0 && tabs == search_tabs {
                replace_lines.iter().map(|l| (*l).to_owned()).collect()
            } else {
                matching::reindent(&replace_lines, shift, tabs)
            };
            let mut out: Vec<String> = lines[..start].iter().map(|l| (*l).to_owned()).collect();
            out.extend(replaced);
            out.extend(lines[start + len..].iter().map(|l| (*l).to_owned()));
            out.join("\n")
        }
        Found::Many(lines) => return Err(EditError::Ambiguous { edit, path, lines }),
        Found::None(closest) => {
            let closest = closest.map(|c| {
                Box::new(ClosestRegion {
                    excerpt: numbered(&file.text, c.start_line, c.end_line),
                    start_line: c.start_line,
                    end_line: c.end_line,
                    similarity: c.similarity,
                    first_difference: c.first_difference,
                })
            });
            return Err(EditError::NotFound {
                edit,
                path,
                closest,
            });
        }
    };
    Ok(())
}

fn numbered(text: &str, start: usize, end: usize) -> String {
    text.split('\n')
        .enumerate()
        .skip(start - 1)
        .take(end + 1 - start)
        .map(|(i, l)| {
            if l.is_empty() {
                format!("{:>5} |", i + 1)
            } else {
                format!("{:>5} | {l}", i + 1)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The normalized relative path of an edit, if it stays inside the tree: not empty, relative,
/// no `..`, nothing under `.git`, and no symlink on the way leading out of `root`.
fn checked_path(root: &Path, edit: usize, raw: &str) -> Result<String, EditError> {
    let refuse = |reason: &str| EditError::UnsafePath {
        edit,
        path: raw.to_owned(),
        reason: reason.to_owned(),
    };
    if raw.trim().is_empty() {
        return Err(refuse("it is empty"));
    }
    if raw.contains('\\') || raw.contains('\0') {
        return Err(refuse("use `/` separators and no control characters"));
    }
    if raw.starts_with('/') || raw.as_bytes().get(1) == Some(&b':') {
        return Err(refuse(
            "it is absolute; give a path relative to the repository root",
        ));
    }
    let mut parts = Vec::new();
    for component in Path::new(raw).components() {
        match component {
            Component::Normal(part) => {
                let part = part.to_string_lossy();
                if part == ".git" {
                    return Err(refuse("it is inside `.git`"));
                }
                parts.push(part.into_owned());
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("`..` leaves the repository")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(
                    "it is absolute; give a path relative to the repository root",
                ));
            }
        }
    }
    if parts.is_empty() {
        return Err(refuse("it names the repository root"));
    }
    let root_real = root.canonicalize().map_err(|err| EditError::Io {
        path: root.display().to_string(),
        message: err.to_string(),
    })?;
    // The deepest part of the path that exists must resolve inside the tree; the path is then
    // named by where it really is, so a symlink inside the tree (`ci -> .github/workflows`)
    // cannot hide a forbidden path from validation.
    let mut existing: PathBuf = root.to_path_buf();
    let mut depth = 0;
    for part in &parts {
        let next = existing.join(part);
        if std::fs::symlink_metadata(&next).is_err() {
            break;
        }
        existing = next;
        depth += 1;
    }
    let resolved = existing
        .canonicalize()
        .map_err(|_| refuse("it is a broken symlink"))?;
    let Ok(inside) = resolved.strip_prefix(&root_real) else {
        return Err(refuse("a symlink on the way leads out of the repository"));
    };
    let mut real: Vec<String> = inside
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    real.extend(parts[depth..].iter().cloned());
    if real.iter().any(|p| p == ".git") {
        return Err(refuse("it is inside `.git`"));
    }
    if real.is_empty() {
        return Err(refuse("it names the repository root"));
    }
    Ok(real.join("/"))
}

/// A unified diff of the changes, git style (`--- a/path`, `+++ b/path`, `/dev/null` for a
/// created file), three lines of context.
pub fn unified_diff(changes: &[FileChange]) -> String {
    let mut out = String::new();
    for change in changes {
        let before = change.before.as_deref().unwrap_or_default();
        let old_name = if change.before.is_some() {
            format!("a/{}", change.path)
        } else {
            "/dev/null".to_owned()
        };
        let new_name = format!("b/{}", change.path);
        let diff = similar::TextDiff::from_lines(before, &change.after);
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&old_name, &new_name)
            .missing_newline_hint(true)
            .to_string();
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solution::test_support::copy_fixture;
    use std::fs;

    fn edit(path: &str, search: &str, replace: &str) -> Edit {
        Edit {
            path: path.to_owned(),
            search: search.to_owned(),
            replace: replace.to_owned(),
        }
    }

    fn only_error(result: Result<Vec<FileChange>, EditErrors>) -> EditError {
        let mut errors = result.expect_err("the edit fails").0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.remove(0)
    }

    #[test]
    fn an_exact_edit_is_applied_and_written() {
        let dir = copy_fixture("shop");
        let changes = apply_edits(
            dir.path(),
            &[edit(
                "py/shop/cart.py",
                "        del self.items[sku]\n",
                "        self.items.pop(sku, None)\n",
            )],
        )
        .expect("applies");
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "py/shop/cart.py");
        assert_eq!(changes[0].line_counts(), (1, 1));
        let on_disk = fs::read_to_string(dir.path().join("py/shop/cart.py")).expect("read");
        assert_eq!(on_disk, changes[0].after);
        assert!(on_disk.contains("self.items.pop(sku, None)"));
        assert!(
            changes[0]
                .before
                .as_deref()
                .is_some_and(|b| b.contains("del self.items[sku]"))
        );
    }

    #[test]
    fn an_indentation_shift_is_tolerated_and_the_replacement_reindented() {
        let dir = copy_fixture("shop");
        let changes = plan_edits(
            dir.path(),
            &[edit(
                "py/shop/cart.py",
                "def remove_item(self, sku):   \n    del self.items[sku]\n",
                "def remove_item(self, sku):\n    if sku in self.items:\n        del self.items[sku]\n",
            )],
        )
        .expect("applies");
        assert!(
            changes[0].after.contains(
                "    def remove_item(self, sku):\n        if sku in self.items:\n            del self.items[sku]\n\n    def total"
            ),
            "{}",
            changes[0].after
        );
        let on_disk = fs::read_to_string(dir.path().join("py/shop/cart.py")).expect("read");
        assert!(
            on_disk.contains("        del self.items[sku]\n"),
            "plan writes nothing"
        );
    }

    #[test]
    fn spaces_in_the_search_match_tabs_in_the_file_and_the_file_keeps_tabs() {
        let dir = copy_fixture("shop");
        let changes = plan_edits(
            dir.path(),
            &[edit(
                "go/inventory/store.go",
                "func NewStore() *Store {\n    return &Store{}\n}",
                "func NewStore() *Store {\n    return &Store{stock: map[string]int{}}\n}",
            )],
        )
        .expect("applies");
        assert!(
            changes[0]
                .after
                .contains("func NewStore() *Store {\n\treturn &Store{stock: map[string]int{}}\n}"),
            "{}",
            changes[0].after
        );
    }

    #[test]
    fn crlf_files_match_lf_searches_and_stay_crlf() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("a.py"), "x = 1\r\ny = 2\r\n").expect("write");
        let changes =
            apply_edits(dir.path(), &[edit("a.py", "y = 2\n", "y = 3\n")]).expect("applies");
        assert_eq!(changes[0].after, "x = 1\r\ny = 3\r\n");
    }

    #[test]
    fn edits_to_one_file_apply_in_order_and_a_new_file_is_created() {
        let dir = copy_fixture("shop");
        let changes = apply_edits(
            dir.path(),
            &[
                edit(
                    "rs/src/parser.rs",
                    "pub fn parse_line",
                    "pub fn parse_order_line",
                ),
                edit(
                    "rs/src/parser.rs",
                    "parse_order_line(line: &str)",
                    "parse_order_line(text: &str)",
                ),
                edit("rs/tests/parse.rs", "", "#[test]\nfn parses() {}\n"),
            ],
        )
        .expect("applies");
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["rs/src/parser.rs", "rs/tests/parse.rs"]);
        assert!(
            changes[0]
                .after
                .contains("pub fn parse_order_line(text: &str)")
        );
        assert_eq!(changes[1].before, None);
        assert_eq!(
            fs::read_to_string(dir.path().join("rs/tests/parse.rs")).expect("created"),
            "#[test]\nfn parses() {}\n"
        );
    }

    #[test]
    fn a_missing_search_names_the_closest_region_and_the_first_difference() {
        let dir = copy_fixture("shop");
        let error = only_error(plan_edits(
            dir.path(),
            &[edit(
                "py/shop/pricing.py",
                "def apply_discount(amount, coupon):\n    percent = COUPONS[coupon]\n",
                "x",
            )],
        ));
        insta::assert_snapshot!(error.to_string(), @r"
            edit 1 (`py/shop/pricing.py`): the search text was not found; the closest region is lines 10-11 (90% similar):
               10 | def apply_discount(amount, coupon):
               11 |     percent = COUPONS.get(coupon)
            first difference at line 11: the file has `percent = COUPONS.get(coupon)`, the search text has `percent = COUPONS[coupon]`
            ");
    }

    #[test]
    fn an_ambiguous_search_names_every_occurrence() {
        let dir = copy_fixture("shop");
        let error = only_error(plan_edits(
            dir.path(),
            &[edit("py/shop/cart.py", "self.items", "self._items")],
        ));
        assert!(
            matches!(&error, EditError::Ambiguous { lines, .. } if lines == &[10, 15, 15, 18, 21, 27]),
            "{error}"
        );
        assert!(error.to_string().starts_with(
            "edit 1 (`py/shop/cart.py`): the search text was found 6 times, at lines 10, 15, 15, 18, 21, 27;"
        ));
    }

    #[test]
    fn creating_an_existing_file_or_editing_a_missing_one_is_refused() {
        let dir = copy_fixture("shop");
        let errors = plan_edits(
            dir.path(),
            &[
                edit("py/shop/cart.py", "", "print()\n"),
                edit("py/shop/nope.py", "x", "y"),
                edit("py/shop/cart.py", "   \n", "y"),
            ],
        )
        .expect_err("all three fail")
        .0;
        assert!(matches!(errors[0], EditError::FileExists { edit: 1, .. }));
        assert!(matches!(errors[1], EditError::NoSuchFile { edit: 2, .. }));
        assert!(matches!(errors[2], EditError::BlankSearch { edit: 3, .. }));
    }

    #[test]
    fn one_failing_edit_writes_nothing() {
        let dir = copy_fixture("shop");
        let before = fs::read_to_string(dir.path().join("rs/src/parser.rs")).expect("read");
        let errors = apply_edits(
            dir.path(),
            &[
                edit("rs/src/parser.rs", "pub fn parse_line", "pub fn parse"),
                edit("rs/src/parser.rs", "no such text anywhere at all", "y"),
            ],
        )
        .expect_err("the second fails");
        assert_eq!(errors.0.len(), 1);
        assert!(
            errors
                .to_string()
                .starts_with("edit 2 (`rs/src/parser.rs`)")
        );
        let after = fs::read_to_string(dir.path().join("rs/src/parser.rs")).expect("read");
        assert_eq!(before, after);
    }

    #[test]
    fn paths_must_stay_inside_the_tree() {
        let dir = copy_fixture("shop");
        let outside = tempfile::tempdir().expect("tempdir");
        fs::write(outside.path().join("secret.txt"), "s").expect("write");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).expect("symlink");
        std::os::unix::fs::symlink("py", dir.path().join("inside")).expect("symlink");
        for (path, reason) in [
            ("../x.py", "`..` leaves the repository"),
            ("py/../../x.py", "`..` leaves the repository"),
            ("/etc/passwd", "absolute"),
            ("C:/x.py", "absolute"),
            (".git/hooks/pre-commit", "inside `.git`"),
            ("py\\shop\\cart.py", "separators"),
            ("", "empty"),
            ("escape/secret.txt", "a symlink on the way leads out"),
            ("escape/new.txt", "a symlink on the way leads out"),
        ] {
            let error = only_error(plan_edits(dir.path(), &[edit(path, "", "x")]));
            assert!(
                matches!(&error, EditError::UnsafePath { reason: r, .. } if r.contains(reason)),
                "{path}: {error}"
            );
        }
        let changes = plan_edits(
            dir.path(),
            &[edit("inside/shop/pricing.py", "HALF", "HALF_OFF")],
        )
        .expect("a symlink inside the tree is fine");
        assert_eq!(
            changes[0].path, "py/shop/pricing.py",
            "named by its real path, so validation sees what is really changed"
        );
        std::os::unix::fs::symlink(".github/workflows", dir.path().join("ci")).expect("symlink");
        let changes =
            plan_edits(dir.path(), &[edit("ci/ci.yml", "make test", "env")]).expect("plans");
        assert_eq!(changes[0].path, ".github/workflows/ci.yml");
        std::os::unix::fs::symlink(".git", dir.path().join("g")).ok();
        fs::create_dir_all(dir.path().join(".git")).expect("mkdir");
        let error = only_error(plan_edits(dir.path(), &[edit("g/config", "", "x")]));
        assert!(error.to_string().contains("inside `.git`"), "{error}");
    }

    #[test]
    fn an_edit_that_changes_nothing_reports_no_change() {
        let dir = copy_fixture("shop");
        let changes =
            plan_edits(dir.path(), &[edit("py/shop/pricing.py", "HALF", "HALF")]).expect("applies");
        assert!(changes.is_empty());
    }

    #[test]
    fn the_diff_is_git_style() {
        let changes = vec![
            FileChange {
                path: "src/a.py".to_owned(),
                before: Some("a\nb\nc\n".to_owned()),
                after: "a\nB\nc\n".to_owned(),
            },
            FileChange {
                path: "src/new.py".to_owned(),
                before: None,
                after: "x = 1\n".to_owned(),
            },
        ];
        insta::assert_snapshot!(unified_diff(&changes), @r"
            --- a/src/a.py
            +++ b/src/a.py
            @@ -1,3 +1,3 @@
             a
            -b
            +B
             c
            --- /dev/null
            +++ b/src/new.py
            @@ -0,0 +1 @@
            +x = 1
            ");
    }
}
