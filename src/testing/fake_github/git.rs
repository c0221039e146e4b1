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
    for (path, content) in files {
        let file = work.join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("dirs");
        std::fs::write(file, content).expect("written");
    }
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

/// The commit a branch points at, when it exists.
pub fn branch_head(bare: &Path, branch: &str) -> Option<String> {
    let output = git(
        bare,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    );
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
