//! The throw-away copy of a work tree the tests run in: its files, directories and symlinks
//! (as symlinks, never followed), without `.git`; and removing it, whatever modes the tests
//! left on its directories.

use std::io;
use std::path::{Path, PathBuf};

/// A fresh directory beside `work_tree` for its copy (outside it, so git never sees it).
pub(super) fn copy_path(work_tree: &Path) -> PathBuf {
    let mut name = work_tree.as_os_str().to_owned();
    name.push(format!(".tests-{}", uuid::Uuid::new_v4().simple()));
    PathBuf::from(name)
}

/// Copies the work tree at `from` into the new directory `to`, leaving out `.git`.
pub(super) fn copy_work_tree(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir(to)?;
    copy_dir(from, to, true)
}

fn copy_dir(from: &Path, to: &Path, top: bool) -> io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if top && name == ".git" {
            continue;
        }
        let source = entry.path();
        let target = to.join(&name);
        // `file_type` of a directory entry does not follow symlinks.
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
        } else if kind.is_dir() {
            std::fs::create_dir(&target)?;
            copy_dir(&source, &target, false)?;
        } else if kind.is_file() {
            std::fs::copy(&source, &target)?;
        }
        // Sockets, FIFOs and devices are not copied (git cannot hold them).
    }
    Ok(())
}

/// Removes the copy; directories the tests made unreadable or unwritable are opened first.
pub(super) fn remove_copy(path: &Path) {
    if std::fs::remove_dir_all(path).is_ok() || !path.exists() {
        return;
    }
    open_up(path);
    if let Err(err) = std::fs::remove_dir_all(path) {
        tracing::warn!(path = %path.display(), "cannot remove the tests' copy of the work tree: {err}");
    }
}

fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            open_up(&entry.path());
        }
    }
}
