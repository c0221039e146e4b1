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
/// The bounds of one lookup: the log's output read at most (a commit list with its files; far
/// more than 50 commits need unless one changed thousands of files) and how long it may take.
/// Past either, the issue is ranked without the history.
const BOUNDS: Bounds = Bounds {
    output: 4 << 20,
    time: Duration::from_secs(10),
};
/// A commit changing more (code) files than this (a sweeping rename, a release) says nothing
/// of where one issue's code is, nor of what each file is for.
pub(super) const MAX_FILES: usize = 20;
/// Characters of a commit's subject shown as a reason (and so in the prompt).
const MAX_SUBJECT: usize = 100;

/// Where the history is read: a git directory and the commit the work tree is at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    git_dir: PathBuf,
    rev: String,
}

/// A commit of the log (one citing an issue's number, or one whose subject is read), and the
/// files it changed (a merge: against its first parent, what the pull request brought).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Commit {
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
    pub(super) fn commits_citing(&self, numbers: &[u64]) -> anyhow::Result<Vec<Commit>> {
        self.commits_citing_within(numbers, BOUNDS)
    }

    fn commits_citing_within(
        &self,
        numbers: &[u64],
        bounds: Bounds,
    ) -> anyhow::Result<Vec<Commit>> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let alternatives: Vec<String> = numbers.iter().map(u64::to_string).collect();
        let grep = format!("--grep=#({})([^0-9]|$)", alternatives.join("|"));
        self.log(
            &["--extended-regexp", &grep, "--diff-merges=first-parent"],
            MAX_COMMITS,
            bounds,
        )
    }

    /// The subjects of the last [`SUBJECT_COMMITS`] commits up to the revision (merges left
    /// out: their subjects name branches), with the files each changed; commits changing more
    /// than [`MAX_FILES`] files left out.
    pub(super) fn subjects(&self) -> anyhow::Result<Subjects> {
        let commits = self.log(&["--no-merges"], SUBJECT_COMMITS, SUBJECT_BOUNDS)?;
        let mut subjects = Subjects::default();
        for commit in commits {
            if commit.files.len() > MAX_FILES {
                continue;
            }
            for file in commit.files {
                subjects
                    .by_file
                    .entry(file)
                    .or_default()
                    .push(subjects.lines.len());
            }
            subjects.lines.push(commit.subject);
        }
        Ok(subjects)
    }

    /// `git log` up to the revision, newest first, at most `max` commits, with their subjects
    /// and files, narrowed by `filters`.
    fn log(&self, filters: &[&str], max: usize, bounds: Bounds) -> anyhow::Result<Vec<Commit>> {
        let max = format!("--max-count={max}");
        let mut args = vec!["log", "--no-color"];
        args.extend_from_slice(filters);
        args.extend([
            "--format=%x01%h%x00%s",
            "--name-only",
            "--no-renames",
            &max,
            "--end-of-options",
            &self.rev,
            "--",
        ]);
        Ok(parse_log(&run_git(&self.git_dir, &args, bounds)?))
    }
}

/// Commits whose subjects tell what each file's past changes were about, newest first.
const SUBJECT_COMMITS: usize = 5000;
/// The bounds of that read: 5,000 subjects with their files are about 1 MB in sympy, sphinx
/// and astropy.
const SUBJECT_BOUNDS: Bounds = Bounds {
    output: 8 << 20,
    time: Duration::from_secs(10),
};

/// The subjects of past commits, each once, and by file the ones that changed it.
#[derive(Debug, Default)]
pub(super) struct Subjects {
    /// Each commit's subject.
    pub lines: Vec<String>,
    /// Per file, `/`-separated as in the tree: indices into `lines`.
    pub by_file: HashMap<String, Vec<usize>>,
}

/// How much git may print and how long it may take.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    output: u64,
    time: Duration,
}

/// Runs git on `git_dir` with `args`, hardened as every git the service runs (no hook, no
/// configuration of the machine, a cleared environment), within `bounds`.
fn run_git(git_dir: &Path, args: &[&str], bounds: Bounds) -> anyhow::Result<String> {
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
        let _ = (&mut stdout).take(bounds.output).read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stderr).take(64 << 10).read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + bounds.time;
    let status = loop {
        // The deadline first: a git seen finished only after it did not finish within it (a
        // busy machine may run all of a short git before this loop starts).
        if Instant::now() >= deadline {
            crate::solution::git::kill_group(Some(child.id()));
            let _ = child.wait();
            bail!("git {name} stopped after {:?}", bounds.time);
        }
        if let Some(status) = child.try_wait().context("waiting for git")? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if out.len() as u64 >= bounds.output {
        // Cut short: a partial list would rank by the commits that happened to come first.
        bail!("git {name} printed more than {} bytes", bounds.output);
    }
    if !status.success() {
        bail!("git {name}: {}", String::from_utf8_lossy(&err).trim());
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A file changed by a commit citing an issue the issue cites.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Citation {
    /// `1 / n` for a commit changing n code files (the best of the commits).
    pub share: f64,
    /// That commit, as the file's reason.
    pub reason: String,
}

/// Per doc of the tree changed by one of `commits` (its code, not tests, docs or
/// configuration), its [`Citation`] by the commit changing the fewest such files (the newest
/// on a tie).
pub(super) fn cited_docs(
    commits: &[Commit],
    docs: &[Doc],
    by_path: &HashMap<&str, usize>,
) -> HashMap<usize, Citation> {
    let mut best: HashMap<usize, (f64, &Commit)> = HashMap::new();
    for commit in commits {
        let code: Vec<usize> = (commit.files.iter())
            .filter_map(|f| by_path.get(f.as_str()).copied())
            .filter(|&d| docs[d].is_code && !docs[d].is_test)
            .collect();
        if code.is_empty() || code.len() > MAX_FILES {
            continue;
        }
        let share = 1.0 / code.len() as f64;
        for doc in code {
            let entry = best.entry(doc).or_insert((share, commit));
            if share > entry.0 {
                *entry = (share, commit);
            }
        }
    }
    (best.into_iter())
        .map(|(doc, (share, commit))| {
            let mut subject: String = commit.subject.chars().take(MAX_SUBJECT).collect();
            if subject.len() < commit.subject.len() {
                subject.push('…');
            }
            let reason = format!(
                "changed by {} \"{subject}\", a commit citing an issue the issue cites",
                commit.hash
            );
            (doc, Citation { share, reason })
        })
        .collect()
}

/// `\x01HASH\0SUBJECT\n\nFILE\nFILE\n…` per commit.
fn parse_log(output: &str) -> Vec<Commit> {
    output
        .split('\x01')
        .filter_map(|record| {
            let mut lines = record.lines();
            let (hash, subject) = lines.next()?.split_once('\0')?;
            Some(Commit {
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
    use crate::solution::test_support::{commit, git, git_repo};

    #[test]
    fn the_subjects_of_past_commits_are_kept_by_file_without_sweeps_or_later_commits() {
        let dir = git_repo();
        let root = dir.path();
        commit(root, "pkg/grid.py", "Draw the border of wide cells");
        // A sweep over more files than MAX_FILES says nothing about each.
        for k in 0..=MAX_FILES {
            crate::solution::test_support::write(root, &format!("pkg/m{k}.py"), "x = 1\n");
        }
        commit(root, "pkg/grid.py", "Reformat everything");
        commit(root, "pkg/table.py", "Sort the rows");
        git(root, &["tag", "base"]);
        commit(root, "pkg/grid.py", "After the base");

        let history = History::new(root.join(".git"), "base").expect("a revision");
        let subjects = history.subjects().expect("git log");
        let of = |file: &str| -> Vec<&str> {
            subjects.by_file[file]
                .iter()
                .map(|&k| subjects.lines[k].as_str())
                .collect()
        };
        assert_eq!(of("pkg/grid.py"), ["Draw the border of wide cells"]);
        assert_eq!(of("pkg/table.py"), ["Sort the rows"]);
        assert!(!subjects.by_file.contains_key("pkg/m0.py"), "{subjects:?}");
    }

    #[test]
    fn the_commits_citing_a_number_are_found_with_their_files_and_no_later_one() {
        let dir = git_repo();
        let root = dir.path();
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
        let dir = git_repo();
        let root = dir.path();
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

    /// An attack through a checkout's own `.git/config` (`issues --checkout` reads the
    /// operator's clone): it asks git to show signatures with a program of its choosing, and a
    /// citing commit carries a signature. Plain `git log` runs that program; the localizer's
    /// lookup must not.
    #[test]
    fn a_signature_program_planted_in_the_checkouts_config_never_runs_when_the_history_is_read() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("clone");
        std::fs::create_dir_all(&root).expect("mkdir");
        git(&root, &["init", "-q", "-b", "main"]);
        commit(&root, "pkg/mock.py", "Fix #8164: keep the name");
        // The same commit, signed.
        let object = git(&root, &["cat-file", "commit", "HEAD"]);
        let (head, message) = object.split_once("\n\n").expect("a commit");
        let signed = format!(
            "{head}\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----\n\n{message}"
        );
        let path = dir.path().join("signed");
        std::fs::write(&path, signed).expect("write");
        let id = git(
            &root,
            &[
                "hash-object",
                "-t",
                "commit",
                "-w",
                path.to_str().expect("UTF-8"),
            ],
        );
        git(&root, &["update-ref", "refs/heads/main", id.trim()]);
        let marker = dir.path().join("ran");
        let program = dir.path().join("gpg.sh");
        std::fs::write(
            &program,
            format!("#!/bin/sh\ntouch {}\nexit 1\n", marker.display()),
        )
        .expect("write");
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        git(&root, &["config", "log.showSignature", "true"]);
        git(
            &root,
            &["config", "gpg.program", program.to_str().expect("UTF-8")],
        );

        git(&root, &["log", "-1"]);
        assert!(
            marker.exists(),
            "the premise: plain git log runs the program"
        );
        std::fs::remove_file(&marker).expect("rm");

        let history = History::of_work_tree(&root).expect("a clone");
        let found = history.commits_citing(&[8164]).expect("git log");
        assert_eq!(found[0].files, ["pkg/mock.py"]);
        assert!(!marker.exists(), "the planted program ran");
        // The subjects' log, the one every issue with a history reads, runs nothing either.
        let subjects = history.subjects().expect("git log");
        assert!(subjects.by_file.contains_key("pkg/mock.py"), "{subjects:?}");
        assert!(!marker.exists(), "the planted program ran for the subjects");
    }

    /// A history too long to read or too slow to walk is not read in part: the issue is
    /// ranked without it (a partial list would rank by whichever commits came first).
    #[test]
    fn a_lookup_past_its_output_or_time_bound_is_an_error_not_a_partial_answer() {
        let dir = git_repo();
        let root = dir.path();
        commit(root, "pkg/core.py", "Start");
        for i in 0..30 {
            commit(
                root,
                &format!("pkg/m{i:02}.py"),
                &format!("Fix #12, part {i}"),
            );
        }
        let history = History::of_work_tree(root).expect("a clone");
        let all = history.commits_citing(&[12]).expect("within the bounds");
        assert_eq!(all.len(), 30);

        let short = Bounds {
            output: 256,
            time: BOUNDS.time,
        };
        let err = (history.commits_citing_within(&[12], short)).expect_err("past the output");
        assert_eq!(err.to_string(), "git log printed more than 256 bytes");

        let hasty = Bounds {
            output: BOUNDS.output,
            time: Duration::ZERO,
        };
        let err = (history.commits_citing_within(&[12], hasty)).expect_err("past the time");
        assert_eq!(err.to_string(), "git log stopped after 0ns");
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
