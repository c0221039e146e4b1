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
