//! The work tree through git: running it, the diff of a change (created files included),
//! putting refused changes back, and resetting it to exactly an accepted change.

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
    // Hardened as every git command: a cleared environment, no hook, no fsmonitor.
    let output = crate::solution::checkout::git_command(work_tree, None)
        .args(["-c", "core.quotepath=off", "-c", "color.ui=never"])
        .args(args)
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

/// Puts the work tree back to exactly `HEAD` plus `changes`: whatever else is in it —
/// changed tracked files, new or ignored files — is gone, created files are intent-to-add.
pub(super) async fn reset_to(work_tree: &Path, changes: &[FileChange]) -> Result<(), String> {
    git(work_tree, &["reset", "--quiet", "--hard", "HEAD"]).await?;
    git(work_tree, &["clean", "-ffdxq"]).await?;
    for change in changes {
        let path = work_tree.join(&change.path);
        path.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, &change.after))
            .map_err(|err| format!("cannot write {}: {err}", change.path))?;
    }
    mark_intent_to_add(work_tree, &created(changes)).await
}
