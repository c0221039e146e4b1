//! Drafting fixes: working copies of repositories (`checkout`) and the bounded git runner
//! (`git`), parsing source files with
//! tree-sitter (`parse`), finding the files an issue is about (`localize`), the repository's
//! conventions (`conventions`), reading the LLM's search/replace blocks (`blocks`), applying
//! them to a work tree (`edit`), checking the result before anything is pushed (`validate`,
//! `sandbox`), and the pipeline that ties them together (`draft::draft_fix`).

pub mod blocks;
pub mod checkout;
pub mod conventions;
pub mod draft;
pub mod edit;
pub mod git;
pub mod localize;
pub mod parse;
pub mod paths;
pub mod sandbox;
pub mod tree_file;
pub mod validate;

/// Test support shared by the modules' tests.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::{Path, PathBuf};

    /// `tests/fixtures/solution/<name>`.
    pub fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/solution")
            .join(name)
    }

    /// Runs git in `dir` as a test's committer; its output. Panics when git fails.
    pub fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A fresh, empty git repository (branch `main`) in a temporary directory.
    pub fn git_repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        git(dir.path(), &["init", "-q", "-b", "main"]);
        dir
    }

    /// Writes `text` to `path` under `root`, making its directories.
    pub fn write(root: &Path, path: &str, text: &str) {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().expect("a parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }

    /// Commits everything in the work tree `root` with `message`, after adding the message as
    /// a line of `file` (so the commit changes it).
    pub fn commit(root: &Path, file: &str, message: &str) {
        let old = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        write(root, file, &format!("{old}# {message}\n"));
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", message]);
    }

    /// A copy of a fixture repository in a fresh temporary directory.
    pub fn copy_fixture(name: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(&fixture(name), dir.path());
        dir
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("fixture exists") {
            let entry = entry.expect("entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("type").is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }
}
