//! Files and directories only the service's user may read — the data directory, the database,
//! the App's credentials, the setup token, the checkout cache: created with explicit
//! permissions (0700 directories, 0600 files) rather than the umask's, and never through a
//! symlink, so another local user cannot read them or make the service write elsewhere.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents with mode 0700 (`mkdir` never follows a symlink
/// in the place of the directory it creates). An existing directory is used as it is — it
/// may be one the operator made, such as `/srv` — and anything else there is an error.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(io::Error::other(format!(
                "{} exists and is not a directory",
                dir.display()
            )));
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Options that never follow a symlink at the last component of the path.
fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, libc::O_NOFOLLOW);
    options
}

/// Creates `path` for writing with mode 0600; fails when anything (a file or a symlink) is
/// already there.
pub fn create_new_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    no_follow(&mut options).open(path)
}

/// Opens an existing private file for reading, refusing a symlink.
pub fn open_private_file(path: &Path) -> io::Result<File> {
    no_follow(OpenOptions::new().read(true)).open(path)
}

/// Opens `path` for writing, creating it with mode 0600 when it is missing, refusing a
/// symlink (for lock files, which stay from one start to the next).
pub fn open_or_create_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    no_follow(&mut options).open(path)
}

/// Creates the empty file `path` with mode 0600 when nothing is there (so that a program that
/// creates it later — SQLite — finds it with these permissions), and refuses a symlink.
pub fn ensure_private_file(path: &Path) -> io::Result<()> {
    match create_new_private_file(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
                Err(io::Error::other(format!(
                    "{} is a symlink; point the configuration at the real file",
                    path.display()
                )))
            } else {
                Ok(())
            }
        }
        Err(err) => Err(err),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn missing_directories_are_created_0700_and_existing_ones_kept() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("a/b");
        create_private_dir(&dir).expect("created");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);

        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).expect("mkdir");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        create_private_dir(&shared).expect("an existing directory is fine");
        assert_eq!(
            mode(&shared),
            0o755,
            "the operator's directory is left alone"
        );

        let file = root.path().join("file");
        std::fs::write(&file, "x").expect("write");
        assert!(create_private_dir(&file).is_err());
    }

    #[test]
    fn private_files_are_0600_and_symlinks_are_never_followed() {
        let root = tempfile::tempdir().expect("tempdir");
        let file = root.path().join("secret");
        ensure_private_file(&file).expect("created");
        assert_eq!(mode(&file), 0o600);
        ensure_private_file(&file).expect("an existing file is fine");

        let target = root.path().join("target");
        std::fs::write(&target, "untouched").expect("write");
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(ensure_private_file(&link).is_err());
        assert!(create_new_private_file(&link).is_err());
        assert!(open_private_file(&link).is_err());
        assert!(open_or_create_private_file(&link).is_err());
        let dangling = root.path().join("dangling");
        std::os::unix::fs::symlink(root.path().join("nowhere"), &dangling).expect("symlink");
        assert!(create_new_private_file(&dangling).is_err());
        assert!(
            !root.path().join("nowhere").exists(),
            "nothing created through the link"
        );
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "untouched");
    }
}
