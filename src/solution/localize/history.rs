//! The earlier issues an issue cites. A report that says "this appears to be dependent on
//! the sphinx version … see #8164, fixed in 3.4.2" points at the code the fix of #8164
//! changed: the commits whose messages cite the same number (`Fix #8164: …`, `Merge pull
//! request #8165`) are read from the repository's history up to the commit being fixed, and
//! the files they changed become candidates (`sphinx/ext/autodoc/mock.py`, which the words of
//! that report put 171st).

use super::index::Doc;
use anyhow::{Context as _, bail};
use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Commits read per issue, newest first.
const MAX_COMMITS: usize = 50;
/// The log's output read at most (a commit list with its files; far more than 50 commits
/// need unless one changed thousands of files).
const MAX_OUTPUT: u64 = 4 << 20;
/// How long the history may take: past it, the issue is ranked without it.
const TIMEOUT: Duration = Duration::from_secs(10);
/// A commit changing more code files than this (a sweeping rename, a release) says nothing of
/// where one issue's code is.
pub(super) const MAX_FILES: usize = 20;

/// Where the history is read: a git directory and the commit the work tree is at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    git_dir: PathBuf,
    rev: String,
}

/// A commit citing one of the issue's numbers, and the files it changed (a merge: against
/// its first parent, what the pull request brought).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CitingCommit {
    /// Its abbreviated hash.
    pub hash: String,
    /// The first line of its message.
    pub subject: String,
    /// The files it changed, `/`-separated, as in the tree.
    pub files: Vec<String>,
}

impl History {
    /// The history of `git_dir` (a repository's `.git`, or a bare repository) up to `rev`.
    pub fn new(git_dir: impl Into<PathBuf>, rev: impl Into<String>) -> anyhow::Result<Self> {
        let rev = rev.into();
        // A revision is handed to git as one: it must not read as an option.
        if rev.is_empty() || rev.starts_with('-') || rev.chars().any(char::is_whitespace) {
            bail!("{rev:?} is not a revision");
        }
        Ok(History {
            git_dir: git_dir.into(),
            rev,
        })
    }

    /// The history of a work tree cloned with git (its `.git` directory, at `HEAD`); `None`
    /// for a tree without one (an exported archive).
    pub fn of_work_tree(work_tree: &Path) -> Option<Self> {
        let git_dir = work_tree.join(".git");
        git_dir.is_dir().then(|| History {
            git_dir,
            rev: "HEAD".to_owned(),
        })
    }

    /// The commits up to the revision whose messages cite one of `numbers` (`#N` not
    /// followed by a digit), newest first, at most [`MAX_COMMITS`].
    pub(super) fn commits_citing(&self, numbers: &[u64]) -> anyhow::Result<Vec<CitingCommit>> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let alternatives: Vec<String> = numbers.iter().map(u64::to_string).collect();
        let grep = format!("--grep=#({})([^0-9]|$)", alternatives.join("|"));
        let max = format!("--max-count={MAX_COMMITS}");
        let output = run_git(
            &self.git_dir,
            &[
                "log",
                "--no-color",
                "--extended-regexp",
                &grep,
                "--format=%x01%h%x00%s",
                "--name-only",
                "--no-renames",
                "--diff-merges=first-parent",
                &max,
                "--end-of-options",
                &self.rev,
                "--",
            ],
        )?;
        Ok(parse_log(&output))
    }
}

/// Runs git on `git_dir` with `args`, hardened as every git the service runs (no hook, no
/// configuration of the machine, a cleared environment), its output bounded by [`MAX_OUTPUT`]
/// and its time by [`TIMEOUT`].
fn run_git(git_dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let name = args.first().copied().unwrap_or("");
    if !git_dir.is_dir() {
        bail!("git {name}: {} is not a git directory", git_dir.display());
    }
    let mut child = crate::solution::git::hardened_git(git_dir)
        .arg("--git-dir")
        .arg(git_dir)
        .args(["-c", "core.quotepath=off", "-c", "log.showSignature=false"])
        .args(args)
        .spawn()
        .with_context(|| format!("running git {name}"))?;
    let mut stdout = child.stdout.take().context("git's output")?;
    let mut stderr = child.stderr.take().context("git's errors")?;
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        // Past the bound the pipe closes and git stops on it.
        let _ = (&mut stdout).take(MAX_OUTPUT).read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stderr).take(64 << 10).read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for git")? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("git log stopped after {}s", TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if !status.success() {
        bail!("git {name}: {}", String::from_utf8_lossy(&err).trim());
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Per doc of the tree changed by one of `commits` (its code, not tests, docs or
/// configuration): `1 / n` for a commit changing n such files, the best over the commits, and
/// that commit's index in `commits`.
pub(super) fn cited_docs(
    commits: &[CitingCommit],
    docs: &[Doc],
    by_path: &HashMap<&str, usize>,
) -> HashMap<usize, (f64, usize)> {
    let mut cited: HashMap<usize, (f64, usize)> = HashMap::new();
    for (c, commit) in commits.iter().enumerate() {
        let code: Vec<usize> = (commit.files.iter())
            .filter_map(|f| by_path.get(f.as_str()).copied())
            .filter(|&d| docs[d].is_code && !docs[d].is_test)
            .collect();
        if code.is_empty() || code.len() > MAX_FILES {
            continue;
        }
        let share = 1.0 / code.len() as f64;
        for doc in code {
            let best = cited.entry(doc).or_insert((share, c));
            if share > best.0 {
                *best = (share, c);
            }
        }
    }
    cited
}

/// `\x01HASH\0SUBJECT\n\nFILE\nFILE\n…` per commit.
fn parse_log(output: &str) -> Vec<CitingCommit> {
    output
        .split('\x01')
        .filter_map(|record| {
            let mut lines = record.lines();
            let (hash, subject) = lines.next()?.split_once('\0')?;
            Some(CitingCommit {
                hash: hash.to_owned(),
                subject: subject.to_owned(),
                files: lines
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .stdout(Stdio::null())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    fn commit(dir: &Path, file: &str, message: &str) {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(&path, format!("{old}# {message}\n")).expect("write");
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", message]);
    }

    #[test]
    fn the_commits_citing_a_number_are_found_with_their_files_and_no_later_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        commit(root, "pkg/core.py", "Start");
        commit(
            root,
            "pkg/mock.py",
            "Fix #8164: mocked bases keep their name",
        );
        commit(root, "pkg/other.py", "Fix #81640: a longer number");
        commit(root, "pkg/util.py", "Refactor (#816)");
        git(root, &["tag", "base"]);
        commit(root, "pkg/later.py", "Fix #8164 again, after the base");

        let history = History::new(root.join(".git"), "base").expect("a revision");
        let found = history.commits_citing(&[8164, 1]).expect("git log");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].subject, "Fix #8164: mocked bases keep their name");
        assert_eq!(found[0].files, ["pkg/mock.py"]);

        let head = History::of_work_tree(root).expect("a clone");
        let at_head = head.commits_citing(&[8164]).expect("git log");
        assert_eq!(
            at_head
                .iter()
                .map(|c| c.files[0].as_str())
                .collect::<Vec<_>>(),
            ["pkg/later.py", "pkg/mock.py"]
        );
        assert!(history.commits_citing(&[]).expect("no numbers").is_empty());
    }

    #[test]
    fn a_merged_pull_request_counts_with_what_it_brought() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        commit(root, "pkg/core.py", "Start");
        git(root, &["checkout", "-q", "-b", "topic"]);
        commit(root, "pkg/mock.py", "Keep the name of a mocked base");
        commit(root, "tests/test_mock.py", "Test it");
        git(root, &["checkout", "-q", "main"]);
        commit(root, "pkg/core.py", "Meanwhile on main");
        git(
            root,
            &[
                "merge",
                "-q",
                "--no-ff",
                "topic",
                "-m",
                "Merge pull request #8165 from someone/topic",
            ],
        );
        let history = History::of_work_tree(root).expect("a clone");
        let found = history.commits_citing(&[8165]).expect("git log");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].files, ["pkg/mock.py", "tests/test_mock.py"]);
    }

    /// Ranks the work tree at `root` for the issue, with or without its history.
    fn ranked(root: &Path, title: &str, body: &str, top: usize, history: bool) -> Vec<String> {
        use crate::solution::localize::{IssueText, Limits, localize_with};
        let issue = IssueText {
            title: title.to_owned(),
            body: body.to_owned(),
        };
        let history = history.then(|| History::of_work_tree(root).expect("a clone"));
        let report = localize_with(root, &issue, top, Limits::default(), None, history.as_ref())
            .expect("localizes");
        report.candidates.into_iter().map(|c| c.path).collect()
    }

    /// Two modules answer the report's words about as well; the one the fix of the issue it
    /// cites changed comes first.
    #[test]
    fn of_two_files_the_issue_matches_alike_the_one_an_earlier_fix_it_cites_changed_comes_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        let write = |path: &str, text: &str| {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().expect("a parent")).expect("mkdir");
            std::fs::write(full, text).expect("write");
        };
        write(
            "pkg/common.py",
            "class DataWithCoords:\n    def where(self, cond, other, keep_attrs=None):\n        \"\"\"Filter elements where cond holds; the attrs of the variables and coordinates are kept.\"\"\"\n        return ops.where_method(self, cond, other, keep_attrs)\n",
        );
        write(
            "pkg/computation.py",
            "def where(cond, x, y, keep_attrs=None):\n    \"\"\"Return elements from x or y depending on cond; keep_attrs sets the attrs.\"\"\"\n    return apply_ufunc(cond, x, y, keep_attrs=keep_attrs)\n",
        );
        write(
            "pkg/io.py",
            "def open_dataset(path):\n    \"\"\"Read a file.\"\"\"\n",
        );
        write(
            "pkg/plot.py",
            "def line(darray):\n    \"\"\"Draw a line plot.\"\"\"\n",
        );
        commit(root, "pkg/units.py", "Start");
        commit(
            root,
            "pkg/computation.py",
            "Fix #6461: keep_attrs with a scalar",
        );
        commit(root, "pkg/common.py", "Docs");
        let title = "where with keep_attrs=True overwrites the attrs of the coordinates";
        let body = "Since #6461 was fixed, `xr.where(cond, x, y, keep_attrs=True)` puts the \
                    variable's attrs on every coordinate.";
        let without = ranked(root, title, body, 2, false);
        assert_eq!(without, ["pkg/common.py", "pkg/computation.py"]);
        let with = ranked(root, title, body, 2, true);
        assert_eq!(with, ["pkg/computation.py", "pkg/common.py"]);
    }

    /// The report's reproduction steps match a hundred and twenty build modules on words, and
    /// the module the fix of the issue it cites changed hardly at all: the second stage reads
    /// it anyway.
    #[test]
    fn the_file_an_earlier_fix_changed_is_read_though_the_reports_words_sink_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        let letter = |k: usize| char::from(b'a' + (k % 26) as u8);
        let words: Vec<String> = (0..200)
            .map(|w| format!("ward{}{}", letter(w / 26), letter(w)))
            .collect();
        for i in 0..120 {
            let held: Vec<&str> = (0..20 + i / 3)
                .map(|k| words[(i * 7 + k) % 200].as_str())
                .collect();
            let path = root.join(format!("pkg/builders/b{i:03}.py"));
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            let text = format!("def run():\n    \"\"\"{}\"\"\"\n", held.join(" "));
            std::fs::write(path, text).expect("write");
        }
        commit(
            root,
            "pkg/ext/mock.py",
            "Mocked modules stand in for missing imports",
        );
        commit(
            root,
            "pkg/ext/mock.py",
            "Fix #8164: keep the name of a mocked superclass",
        );
        commit(root, "pkg/builders/b000.py", "Tidy the builders");
        let title = "The section of inherited classes shows `torch.nn.`";
        let body = format!(
            "Fixed once in #8164, broken again for modules we mock. To reproduce: {}",
            words.join(" ")
        );
        let read = crate::solution::localize::rescore::DEPTH;
        let without = ranked(root, title, &body, 200, false);
        let before = without.iter().position(|p| p == "pkg/ext/mock.py");
        assert!(before.is_some_and(|p| p >= read), "the premise: {before:?}");
        let with = ranked(root, title, &body, 200, true);
        let after = with.iter().position(|p| p == "pkg/ext/mock.py");
        assert!(after.is_some_and(|p| p < read), "{after:?}");
    }

    #[test]
    fn a_revision_that_reads_as_an_option_or_a_missing_repository_is_an_error() {
        assert!(History::new("/nowhere", "--output=/tmp/x").is_err());
        assert!(History::new("/nowhere", "").is_err());
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(History::of_work_tree(dir.path()).is_none());
        let missing = History::new(dir.path().join("no.git"), "HEAD").expect("a revision");
        let err = missing.commits_citing(&[1]).expect_err("no repository");
        assert!(err.to_string().starts_with("git log:"), "{err}");
    }
}
