//! The work tree through git: running it, the diff of a change (created files included), putting
//! refused changes back, and the changes of a branch since its base (to recompute the risk tier
//! on every push).

use crate::solution::edit::FileChange;
use std::path::Path;

pub(super) fn created(changes: &[FileChange]) -> Vec<&str> {
    changes
        .iter()
        .filter(|c| c.before.is_none())
        .map(|c| c.path.as_str())
        .collect()
}

/// Puts the files back as they were (a refused change leaves nothing behind).
pub(super) fn revert(work_tree: &Path, changes: &[FileChange]) {
    for change in changes {
        let path = work_tree.join(&change.path);
        let result = match &change.before {
            Some(before) => std::fs::write(&path, before),
            None => std::fs::remove_file(&path),
        };
        if let Err(err) = result {
            tracing::warn!(path = %change.path, "cannot revert a refused change: {err}");
        }
    }
}

/// [`revert`], and forgets the created files' intent-to-add entries.
pub(super) async fn undo(work_tree: &Path, changes: &[FileChange]) {
    revert(work_tree, changes);
    let created = created(changes);
    if !created.is_empty() {
        let mut args = vec!["reset", "--quiet", "--"];
        args.extend(created);
        if let Err(err) = git(work_tree, &args).await {
            tracing::warn!("cannot forget refused new files in the index: {err}");
        }
    }
}

/// Runs git in the work tree; the error is git's message.
pub(super) async fn git(work_tree: &Path, args: &[&str]) -> Result<String, String> {
    let output = tokio::process::Command::new("git")
        .arg("-C")
        .arg(work_tree)
        .args(["-c", "core.quotepath=off", "-c", "color.ui=never"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|err| format!("cannot run git: {err}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "git {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Records created files as intent-to-add, so `git diff` shows them and `git clean` keeps them.
pub(super) async fn mark_intent_to_add(work_tree: &Path, created: &[&str]) -> Result<(), String> {
    if created.is_empty() {
        return Ok(());
    }
    let mut args = vec!["add", "--intent-to-add", "--"];
    args.extend(created);
    git(work_tree, &args).await.map(drop)
}

/// `git diff` of the work tree for the changed files, created ones included.
pub(super) async fn work_tree_diff(
    work_tree: &Path,
    changes: &[FileChange],
) -> Result<String, String> {
    mark_intent_to_add(work_tree, &created(changes)).await?;
    let mut args = vec![
        "diff",
        "--no-ext-diff",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--",
    ];
    args.extend(changes.iter().map(|c| c.path.as_str()));
    git(work_tree, &args).await
}

/// The files a branch changed since `base` (a commit), with their content at `base` and in the
/// work tree — what [`super::assess_changes`] needs to recompute the risk tier after a push.
/// Deleted files count with an empty content after; binary files are left out.
pub async fn changes_since(work_tree: &Path, base: &str) -> Result<Vec<FileChange>, String> {
    let listing = git(
        work_tree,
        &["diff", "--name-status", "--no-renames", "-z", base, "--"],
    )
    .await?;
    let mut fields = listing.split('\0').filter(|f| !f.is_empty());
    let mut changes = Vec::new();
    while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
        let before = if status.starts_with('A') {
            None
        } else {
            match git(work_tree, &["show", &format!("{base}:{path}")]).await {
                Ok(text) => Some(text),
                Err(_) => continue,
            }
        };
        let after = if status.starts_with('D') {
            String::new()
        } else {
            match std::fs::read(work_tree.join(path)) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => text,
                    Err(_) => continue,
                },
                Err(err) => return Err(format!("reading {path}: {err}")),
            }
        };
        changes.push(FileChange {
            path: path.to_owned(),
            before,
            after,
        });
    }
    Ok(changes)
}
