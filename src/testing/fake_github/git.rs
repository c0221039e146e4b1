//! Real git behind the fake GitHub: a bare repository per repository that needs one, so that
//! cloning and pushing a branch in tests is real git.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Fake GitHub")
        .env("GIT_AUTHOR_EMAIL", "fake@github.invalid")
        .env("GIT_COMMITTER_NAME", "Fake GitHub")
        .env("GIT_COMMITTER_EMAIL", "fake@github.invalid")
        .output()
        .expect("git runs")
}

fn git_ok(dir: &Path, args: &[&str]) -> String {
    let output = git(dir, args);
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Creates a bare repository under `parent` whose `main` holds `files`; returns its path.
pub fn create_bare(parent: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let bare = parent.join(format!("{}.git", name.replace('/', "__")));
    let work = parent.join(format!("{}.work", name.replace('/', "__")));
    std::fs::create_dir_all(&bare).expect("bare dir");
    std::fs::create_dir_all(&work).expect("work dir");
    git_ok(
        &bare,
        &["init", "--bare", "--quiet", "--initial-branch=main"],
    );
    git_ok(&work, &["init", "--quiet", "--initial-branch=main"]);
    write_files(&work, files);
    git_ok(&work, &["add", "-A"]);
    git_ok(&work, &["commit", "--quiet", "-m", "Initial commit"]);
    git_ok(
        &work,
        &[
            "push",
            "--quiet",
            bare.to_str().expect("utf-8 path"),
            "main",
        ],
    );
    std::fs::remove_dir_all(&work).ok();
    bare
}

/// A file at a ref: (blob sha, content), or `None` when there is no such file.
pub fn read_file(bare: &Path, git_ref: &str, path: &str) -> Option<(String, Vec<u8>)> {
    let spec = format!("{git_ref}:{path}");
    let sha = git(bare, &["rev-parse", "--verify", "--quiet", &spec]);
    if !sha.status.success() {
        return None;
    }
    let content = git(bare, &["cat-file", "blob", &spec]);
    content.status.success().then(|| {
        (
            String::from_utf8_lossy(&sha.stdout).trim().to_owned(),
            content.stdout,
        )
    })
}

/// Every file at a ref with its size in bytes, as `git ls-tree -r -l` lists them; `None`
/// when the ref does not exist.
pub fn tree(bare: &Path, git_ref: &str) -> Option<Vec<(String, u64)>> {
    let output = git(bare, &["ls-tree", "-r", "-l", "--full-tree", git_ref]);
    if !output.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                // `<mode> blob <sha> <size>\t<path>`
                let (meta, path) = line.split_once('\t')?;
                let size = meta.split_whitespace().nth(3)?.parse().ok()?;
                Some((path.to_owned(), size))
            })
            .collect(),
    )
}

/// The commit a branch points at, when it exists. Read from the ref files as git lays them
/// out (a loose ref, else `packed-refs`) rather than by a `git` process: the fake reads every
/// open pull request's head on every request, and a process each time was most of what the
/// fix stories spent.
pub fn branch_head(bare: &Path, branch: &str) -> Option<String> {
    let is_sha = |s: &str| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let name = format!("refs/heads/{branch}");
    if let Ok(loose) = std::fs::read_to_string(bare.join(&name)) {
        let sha = loose.trim();
        if is_sha(sha) {
            return Some(sha.to_owned());
        }
        // A symbolic ref: git resolves it.
        let output = git(bare, &["rev-parse", "--verify", "--quiet", &name]);
        return output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    let packed = std::fs::read_to_string(bare.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (sha, reference) = line.split_once(' ')?;
        (reference == name && is_sha(sha)).then(|| sha.to_owned())
    })
}

/// The newest `count` commits of a branch, newest first.
pub fn recent_commits(bare: &Path, branch: &str, count: usize) -> Vec<String> {
    let output = git(
        bare,
        &[
            "log",
            "--format=%H",
            "-n",
            &count.to_string(),
            &format!("refs/heads/{branch}"),
        ],
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The parents of a commit, first parent first; `None` when there is no such commit.
pub fn parents(bare: &Path, sha: &str) -> Option<Vec<String>> {
    let output = git(bare, &["rev-list", "--parents", "-n", "1", sha, "--"]);
    if !output.status.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Some(line.split_whitespace().skip(1).map(str::to_owned).collect())
}

/// Files changed on `branch` since it left `base`: (path, status, additions, deletions).
pub fn changed_files(bare: &Path, base: &str, branch: &str) -> Vec<super::world::ChangedFile> {
    let range = format!("{base}...{branch}");
    let numstat = git(bare, &["diff", "--numstat", &range]);
    let statuses = git(bare, &["diff", "--name-status", &range]);
    let status_of: std::collections::HashMap<String, String> =
        String::from_utf8_lossy(&statuses.stdout)
            .lines()
            .filter_map(|l| {
                let (status, path) = l.split_once('\t')?;
                let status = match status.chars().next()? {
                    'A' => "added",
                    'D' => "removed",
                    'R' => "renamed",
                    _ => "modified",
                };
                Some((path.to_owned(), status.to_owned()))
            })
            .collect();
    String::from_utf8_lossy(&numstat.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let added = parts.next()?.parse().unwrap_or(0);
            let deleted = parts.next()?.parse().unwrap_or(0);
            let path = parts.next()?.to_owned();
            let status = status_of
                .get(&path)
                .cloned()
                .unwrap_or_else(|| "modified".to_owned());
            Some((path, status, added, deleted))
        })
        .collect()
}

/// Pushes a commit by someone else (a maintainer) onto `branch`, changing `path`; returns the
/// new head.
pub fn push_commit(bare: &Path, branch: &str, path: &str, content: &str, author: &str) -> String {
    commit_and_push(
        bare,
        branch,
        branch,
        &[(path, content)],
        author,
        "A change by hand",
    )
}

/// Merges `head` into `base` by GitHub's `method` and moves `base`; returns the new tip of
/// `base`, or `None` when they conflict. `squash`: one commit with the tree of both merged;
/// `merge`: a merge commit whose parents are the base and the head; `rebase`: the head's own
/// commits (merge commits left out) replayed one by one onto the base, messages kept.
pub fn merge_by(
    bare: &Path,
    base: &str,
    head: &str,
    message: &str,
    method: &str,
) -> Option<String> {
    let parent = git_ok(bare, &["rev-parse", base]);
    let tip = if method == "rebase" {
        let own = git_ok(
            bare,
            &[
                "rev-list",
                "--reverse",
                "--no-merges",
                &format!("{base}..{head}"),
            ],
        );
        let mut tip = parent.clone();
        for commit in own.lines() {
            let tree = merged_tree(bare, &[&format!("--merge-base={commit}^"), &tip, commit])?;
            let message = git_ok(bare, &["log", "-1", "--format=%B", commit]);
            tip = commit_tree(bare, &tree, &[&tip], &message);
        }
        tip
    } else {
        let tree = merged_tree(bare, &[base, head])?;
        let head_sha = git_ok(bare, &["rev-parse", head]);
        let parents: Vec<&str> = if method == "merge" {
            vec![&parent, &head_sha]
        } else {
            vec![&parent]
        };
        commit_tree(bare, &tree, &parents, message)
    };
    git_ok(
        bare,
        &["update-ref", &format!("refs/heads/{base}"), &tip, &parent],
    );
    Some(tip)
}

/// A merge queue's group: a merge commit of `head` onto `base`'s tip at `group_ref`, as
/// GitHub builds one to test; returns it, or `None` when they conflict. `base` is not moved.
pub fn merge_group(bare: &Path, base: &str, head: &str, group_ref: &str) -> Option<String> {
    let tree = merged_tree(bare, &[base, head])?;
    let base_sha = git_ok(bare, &["rev-parse", base]);
    let head_sha = git_ok(bare, &["rev-parse", head]);
    let commit = commit_tree(
        bare,
        &tree,
        &[&base_sha, &head_sha],
        &format!("Merge queue: {head} into {base}"),
    );
    git_ok(
        bare,
        &["update-ref", &format!("refs/heads/{group_ref}"), &commit],
    );
    Some(commit)
}

/// Moves `branch` to `commit` if it is still at `expected`; whether it moved.
pub fn move_branch(bare: &Path, branch: &str, commit: &str, expected: &str) -> bool {
    git(
        bare,
        &[
            "update-ref",
            &format!("refs/heads/{branch}"),
            commit,
            expected,
        ],
    )
    .status
    .success()
}

/// Deletes `branch`.
pub fn delete_branch(bare: &Path, branch: &str) {
    git_ok(bare, &["update-ref", "-d", &format!("refs/heads/{branch}")]);
}

fn merged_tree(bare: &Path, args: &[&str]) -> Option<String> {
    let mut all = vec!["merge-tree", "--write-tree"];
    all.extend_from_slice(args);
    let merged = git(bare, &all);
    if !merged.status.success() {
        return None;
    }
    let stdout = String::from_utf8_lossy(&merged.stdout);
    Some(stdout.lines().next()?.trim().to_owned())
}

fn commit_tree(bare: &Path, tree: &str, parents: &[&str], message: &str) -> String {
    let mut args = vec![
        "-c",
        "user.name=GitHub",
        "-c",
        "user.email=noreply@github.com",
        "commit-tree",
        tree,
    ];
    for parent in parents {
        args.extend(["-p", parent]);
    }
    args.extend(["-m", message]);
    git_ok(bare, &args)
}

/// The parents of `commit` and its message's first line.
pub fn commit_info(bare: &Path, commit: &str) -> (Vec<String>, String) {
    let parents = git_ok(bare, &["log", "-1", "--format=%P", commit]);
    let subject = git_ok(bare, &["log", "-1", "--format=%s", commit]);
    (
        parents.split_whitespace().map(str::to_owned).collect(),
        subject,
    )
}

/// Creates `branch` off `main` with one commit writing `files`, as a pushed branch; returns
/// its head.
pub fn create_branch(bare: &Path, branch: &str, files: &[(&str, &str)], author: &str) -> String {
    commit_and_push(bare, "main", branch, files, author, "A change")
}

/// Clones `from`, writes `files` on `branch` (created from `from` when they differ), commits
/// them as `author` and pushes `branch`; returns its new head.
fn commit_and_push(
    bare: &Path,
    from: &str,
    branch: &str,
    files: &[(&str, &str)],
    author: &str,
    message: &str,
) -> String {
    let work = bare.with_extension(format!("work-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let url = bare.to_str().expect("utf-8 path");
    let parent = work.parent().expect("a parent");
    let dir = work.to_str().expect("utf-8 path");
    git_ok(parent, &["clone", "--quiet", "--branch", from, url, dir]);
    if from != branch {
        git_ok(&work, &["checkout", "--quiet", "-b", branch]);
    }
    write_files(&work, files);
    git_ok(&work, &["add", "-A"]);
    let name = format!("user.name={author}");
    let email = format!("user.email={author}@example.org");
    git_ok(
        &work,
        &[
            "-c", &name, "-c", &email, "commit", "--quiet", "-m", message,
        ],
    );
    git_ok(&work, &["push", "--quiet", "origin", branch]);
    let head = git_ok(&work, &["rev-parse", "HEAD"]);
    std::fs::remove_dir_all(&work).ok();
    head
}

fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("dirs");
        std::fs::write(file, content).expect("written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fake reads heads from ref files: it must agree with git whether a branch's ref is
    /// loose, packed (`git gc` packs them), moved after packing, or absent.
    #[test]
    fn branch_heads_read_from_ref_files_agree_with_git() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bare = create_bare(dir.path(), "o/r", &[("a.txt", "one\n")]);
        let first = git_ok(&bare, &["rev-parse", "refs/heads/main"]);
        assert_eq!(branch_head(&bare, "main"), Some(first.clone()));
        git_ok(&bare, &["branch", "globallm/issue-1", "main"]);
        git_ok(&bare, &["pack-refs", "--all"]);
        assert!(
            !bare.join("refs/heads/main").exists(),
            "the refs are packed"
        );
        assert_eq!(branch_head(&bare, "globallm/issue-1"), Some(first.clone()));
        let second = push_commit(&bare, "globallm/issue-1", "a.txt", "two\n", "maintainer");
        assert_ne!(second, first);
        assert_eq!(branch_head(&bare, "globallm/issue-1"), Some(second));
        assert_eq!(branch_head(&bare, "main"), Some(first));
        assert_eq!(
            branch_head(&bare, "globallm"),
            None,
            "a ref directory is no branch"
        );
        assert_eq!(branch_head(&bare, "gone"), None);
    }
}
