//! Reading a file of a checked-out repository for a prompt: never through a symlink, never
//! from outside the work tree. A repository can commit a symlink (`tests/test_x.py ->
//! ../../github-app.json`); `read_to_string` would follow it and put whatever it names — the
//! App's key, a file of the machine — in front of the LLM. Every component of the path is
//! checked with `symlink_metadata`, the file is opened with `O_NOFOLLOW`, must be a regular
//! file, and its canonical path must lie inside the work tree's.

use std::io::{self, Read as _};
use std::path::{Component, Path, PathBuf};

/// The largest file read when the caller gives no smaller bound.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;

fn refused(rel: &str, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{rel} is not read: {why}"),
    )
}

/// The full path of `rel` inside `root`, when no component of it is a symlink and it is a
/// regular file inside the tree.
fn checked(root: &Path, rel: &str) -> io::Result<PathBuf> {
    let mut full = root.to_path_buf();
    let mut parts = 0;
    for component in Path::new(rel).components() {
        match component {
            Component::Normal(part) => {
                full.push(part);
                parts += 1;
                let meta = std::fs::symlink_metadata(&full)?;
                if meta.file_type().is_symlink() {
                    return Err(refused(rel, "it goes through a symlink"));
                }
            }
            Component::CurDir => {}
            _ => return Err(refused(rel, "it is not a path inside the repository")),
        }
    }
    if parts == 0 {
        return Err(refused(rel, "it names no file"));
    }
    // Belt and braces: whatever the components were, the file must really be in the tree.
    if !full.canonicalize()?.starts_with(root.canonicalize()?) {
        return Err(refused(rel, "it lies outside the repository"));
    }
    Ok(full)
}

/// Whether `rel` is a regular file of the tree at `root`, reached through no symlink.
pub fn is_file(root: &Path, rel: &str) -> bool {
    checked(root, rel)
        .and_then(std::fs::symlink_metadata)
        .is_ok_and(|meta| meta.is_file())
}

/// The bytes of `rel` (at most `max_bytes`), a regular file of the tree at `root` reached
/// through no symlink.
pub fn read_bytes(root: &Path, rel: &str, max_bytes: u64) -> io::Result<Vec<u8>> {
    let full = checked(root, rel)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // The last component was checked above; `O_NOFOLLOW` closes the gap until the open.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        libc::O_NOFOLLOW | libc::O_NONBLOCK,
    );
    let file = options.open(&full)?;
    if !file.metadata()?.is_file() {
        return Err(refused(rel, "it is not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(max_bytes).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The text of `rel` (UTF-8, at most [`MAX_BYTES`]), as [`read_bytes`] reads it.
pub fn read_text(root: &Path, rel: &str) -> io::Result<String> {
    String::from_utf8(read_bytes(root, rel, MAX_BYTES)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("{rel} is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_and_paths_out_of_the_tree_are_not_read() {
        let outside = tempfile::tempdir().expect("tempdir");
        let secret = outside.path().join("github-app.json");
        std::fs::write(&secret, "SECRET KEY").expect("write");
        let tree = tempfile::tempdir().expect("tempdir");
        let root = tree.path();
        std::fs::create_dir_all(root.join("src/tests")).expect("mkdir");
        std::fs::write(root.join("src/a.py"), "x = 1\n").expect("write");
        symlink(&secret, root.join("src/tests/test_key.py")).expect("symlink");
        symlink("a.py", root.join("src/b.py")).expect("symlink");
        symlink(outside.path(), root.join("out")).expect("symlink");
        std::fs::write(outside.path().join("c.py"), "SECRET TOO").expect("write");

        assert_eq!(
            read_text(root, "src/a.py").expect("a plain file"),
            "x = 1\n"
        );
        assert!(is_file(root, "src/a.py"));
        for rel in [
            "src/tests/test_key.py",
            "src/b.py",
            "out/c.py",
            "../github-app.json",
            "/etc/passwd",
            "",
            "src",
        ] {
            assert!(read_text(root, rel).is_err(), "{rel} was read");
            assert!(!is_file(root, rel), "{rel} counts as a file");
        }
    }

    #[test]
    fn a_read_stops_at_its_bound() {
        let tree = tempfile::tempdir().expect("tempdir");
        std::fs::write(tree.path().join("big.txt"), "0123456789").expect("write");
        assert_eq!(
            read_bytes(tree.path(), "big.txt", 4).expect("read"),
            b"0123"
        );
    }
}
