//! `globallm localize`, run as the real binary on the multi-language fixture repository.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/solution/shop")
}

fn localize(repo: &Path, issue_file: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_globallm"))
        .arg("localize")
        .arg("--repo-path")
        .arg(repo)
        .arg("--issue-file")
        .arg(issue_file)
        .args(extra)
        .env_clear()
        .output()
        .expect("the binary runs")
}

#[test]
fn localize_prints_json_candidates_for_a_json_issue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let issue = dir.path().join("issue.json");
    std::fs::write(
        &issue,
        r#"{"title": "Restock panics on a new store", "body": "panic: assignment to entry in nil map\n\t/home/dev/go/inventory/store.go:30 +0x1d"}"#,
    )
    .expect("write");
    let output = localize(&shop(), &issue, &["--top", "2", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let candidates = report["candidates"].as_array().expect("candidates");
    assert_eq!(candidates.len(), 2);
    assert_eq!(candidates[0]["path"], "go/inventory/store.go");
    assert_eq!(candidates[0]["excerpts"][0]["start_line"], 27);
    assert_eq!(report["files_indexed"], 15);
    assert_eq!(report["truncated"], false);
}

#[test]
fn localize_prints_text_for_a_text_issue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let issue = dir.path().join("issue.md");
    std::fs::write(
        &issue,
        "LruCache evicts the wrong entry\n\nThe eldest entry should go, not the newest.\n",
    )
    .expect("write");
    let output = localize(&shop(), &issue, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("1. java/src/main/java/com/acme/cache/LruCache.java (score "),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n15 files indexed; skipped: 0 generated or lockfiles, 0 binary"),
        "{stdout}"
    );
}

#[test]
fn localize_fails_clearly_without_a_repository_or_issue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let issue = dir.path().join("issue.txt");
    std::fs::write(&issue, "title\n").expect("write");
    let output = localize(&dir.path().join("nope"), &issue, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nope is not a directory"));
    let output = localize(&shop(), &dir.path().join("missing.json"), &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("reading the issue file"));
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

/// A tree exported without its history (as the benchmark's checkouts are) is ranked with the
/// history of a repository named apart, up to the commit the tree is at.
#[test]
fn localize_reads_the_commits_citing_the_issues_citations_from_a_git_dir_at_a_revision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clone = dir.path().join("clone");
    std::fs::create_dir_all(clone.join("app")).expect("mkdir");
    std::fs::write(
        clone.join("app/tax.py"),
        "def rate(region):\n    return 0.2\n",
    )
    .expect("write");
    git(&clone, &["init", "-q", "-b", "main"]);
    git(&clone, &["add", "-A"]);
    git(&clone, &["commit", "-q", "-m", "Start"]);
    std::fs::write(
        clone.join("app/tax.py"),
        "def rate(region):\n    return 0.21\n",
    )
    .expect("write");
    git(
        &clone,
        &["commit", "-q", "-am", "Fix #12: the rate of a new region"],
    );
    git(&clone, &["tag", "base"]);
    git(
        &clone,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "Fix #12 once more, later",
        ],
    );
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("app")).expect("mkdir");
    std::fs::copy(clone.join("app/tax.py"), tree.join("app/tax.py")).expect("copy");
    let issue = dir.path().join("issue.md");
    std::fs::write(&issue, "Checkout total is off again\n\nAs in #12.\n").expect("write");

    let git_dir = clone.join(".git");
    let git_dir = git_dir.to_str().expect("UTF-8");
    let output = localize(
        &tree,
        &issue,
        &["--json", "--git-dir", git_dir, "--rev", "base"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let first = &report["candidates"][0];
    assert_eq!(first["path"], "app/tax.py");
    let reasons: Vec<&str> = (first["reasons"].as_array().expect("reasons").iter())
        .filter_map(|r| r.as_str())
        .collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("changed by ")
            && r.ends_with(
                " \"Fix #12: the rate of a new region\", a commit citing an issue the issue cites"
            )),
        "{reasons:?}"
    );

    // Without the history the tree matches nothing of the issue.
    let output = localize(&tree, &issue, &["--json"]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["candidates"].as_array().map(Vec::len), Some(0));

    let output = localize(&tree, &issue, &["--rev", "base"]);
    assert_eq!(output.status.code(), Some(2), "--rev needs --git-dir");
    let output = localize(&tree, &issue, &["--git-dir", "/nonexistent/.git"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("--git-dir /nonexistent/.git is not a directory")
    );
}
