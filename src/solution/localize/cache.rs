//! The index of a tree kept on disk, so a second issue in the same tree does not parse every
//! file again. A pack holds the [`FileFacts`] of every file read, in walk order, under the
//! content hash of the tree: SHA-256 over each file's path and the SHA-256 of its bytes (and
//! the index format and parse bound). Keying by content rather than by a commit or git tree
//! id keeps it right for a work tree with uncommitted changes and for a plain tree without
//! `.git` alike: any changed, added or removed file gives another key, so a pack can never
//! be read for a tree it was not made from.

use super::facts::FileFacts;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Bumped whenever [`FileFacts`] or how it is computed changes: packs of another version are
/// never read.
const INDEX_VERSION: u32 = 4;
/// Packs kept in a cache directory; the least recently written go first.
const MAX_PACKS: usize = 16;

/// A directory of index packs.
#[derive(Debug, Clone)]
pub struct IndexCache {
    dir: PathBuf,
}

/// Whether the index came from the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheUse {
    /// No cache directory was given.
    #[default]
    Off,
    /// The tree's pack was read: no file was parsed.
    Hit,
    /// There was no pack for this tree: every file was parsed and the pack written.
    Miss,
}

/// A tree's content key and each read file's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TreeKey {
    /// The pack's name.
    pub hex: String,
    /// SHA-256 of each read file, in walk order.
    pub digests: Vec<[u8; 32]>,
}

#[derive(Serialize, Deserialize)]
struct Pack {
    version: u32,
    key: String,
    files: Vec<FileFacts>,
}

impl IndexCache {
    /// A cache in `dir` (created when the first pack is written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        IndexCache { dir: dir.into() }
    }

    /// The key of the tree whose read files are `files` (relative paths, walk order), each
    /// read as the index reads it (at most `max_file_bytes`).
    pub(super) fn key(
        root: &Path,
        files: &[&str],
        max_file_bytes: u64,
        max_parse_bytes: usize,
    ) -> anyhow::Result<TreeKey> {
        let mut tree = Sha256::new();
        tree.update(INDEX_VERSION.to_le_bytes());
        tree.update((max_parse_bytes as u64).to_le_bytes());
        let mut digests = Vec::with_capacity(files.len());
        for path in files {
            let raw = crate::solution::tree_file::read_bytes(root, path, max_file_bytes)
                .with_context(|| format!("reading {path}"))?;
            let digest: [u8; 32] = Sha256::digest(&raw).into();
            tree.update((path.len() as u64).to_le_bytes());
            tree.update(path.as_bytes());
            tree.update(digest);
            digests.push(digest);
        }
        Ok(TreeKey {
            hex: hex::encode(tree.finalize()),
            digests,
        })
    }

    fn pack_path(&self, key: &TreeKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.hex))
    }

    /// The facts of the tree `key` names, when a whole, current pack holds them.
    pub(super) fn load(&self, key: &TreeKey) -> Option<Vec<FileFacts>> {
        let text = std::fs::read(self.pack_path(key)).ok()?;
        let pack: Pack = match serde_json::from_slice(&text) {
            Ok(pack) => pack,
            Err(err) => {
                tracing::warn!(
                    key = key.hex,
                    "unreadable index pack, indexing again: {err}"
                );
                return None;
            }
        };
        (pack.version == INDEX_VERSION
            && pack.key == key.hex
            && pack.files.len() == key.digests.len())
        .then_some(pack.files)
    }

    /// Writes the pack of `key` (whole or not at all: a temporary file renamed), then drops
    /// the oldest packs beyond [`MAX_PACKS`]. A pack holds the identifiers and string
    /// literals of private code: the directory is created 0700 and each pack 0600, whoever
    /// writes first (`serve`, `fix --dry-run`, `report --checkout`).
    pub(super) fn store(&self, key: &TreeKey, files: Vec<FileFacts>) -> anyhow::Result<()> {
        crate::private_fs::create_private_dir(&self.dir)
            .with_context(|| format!("creating the index cache {}", self.dir.display()))?;
        let pack = Pack {
            version: INDEX_VERSION,
            key: key.hex.clone(),
            files,
        };
        let mut tmp = tempfile_in(&self.dir)?;
        serde_json::to_writer(std::io::BufWriter::new(&mut tmp.1), &pack)
            .context("writing an index pack")?;
        tmp.1.flush().context("writing an index pack")?;
        std::fs::rename(&tmp.0, self.pack_path(key)).context("storing an index pack")?;
        self.prune();
        Ok(())
    }

    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut packs: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if packs.len() <= MAX_PACKS {
            return;
        }
        packs.sort();
        for (_, path) in &packs[..packs.len() - MAX_PACKS] {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A new file in `dir` with a unique name (not `.json`, so never read as a pack).
fn tempfile_in(dir: &Path) -> anyhow::Result<(PathBuf, std::fs::File)> {
    let path = dir.join(format!(".pack-{}.tmp", uuid::Uuid::new_v4()));
    let file = crate::private_fs::create_new_private_file(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solution::localize::{IssueText, Limits, Report, localize_with};

    fn write(root: &Path, path: &str, content: &str) {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(full, content).expect("write");
    }

    fn run(root: &Path, cache: &IndexCache) -> Report {
        let issue = IssueText {
            title: "`apply_coupon` rejects lowercase codes".to_owned(),
            body: String::new(),
        };
        localize_with(root, &issue, 5, Limits::default(), Some(cache), None).expect("localizes")
    }

    fn paths(report: &Report) -> Vec<&str> {
        report.candidates.iter().map(|c| c.path.as_str()).collect()
    }

    #[test]
    fn a_second_run_on_the_same_tree_reads_the_index_and_ranks_the_same() {
        let tree = tempfile::tempdir().expect("tempdir");
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            tree.path(),
            "shop/coupons.py",
            "def apply_coupon(code):\n    return code\n",
        );
        write(
            tree.path(),
            "shop/cart.py",
            "from shop.coupons import apply_coupon\n\n\ndef total(items):\n    return apply_coupon(items)\n",
        );
        let cache = IndexCache::new(dir.path().join("index"));
        let first = run(tree.path(), &cache);
        let second = run(tree.path(), &cache);
        assert_eq!(
            (first.index_cache, second.index_cache),
            (CacheUse::Miss, CacheUse::Hit)
        );
        assert_eq!(first.candidates, second.candidates);
        assert_eq!(paths(&second)[0], "shop/coupons.py");
        // The imports come back from the pack: the cart, read too, imports the coupons.
        let coupons = second.candidates[0].features.expect("features");
        assert_eq!(coupons.neighbours, 1.0, "{coupons:?}");
        let uncached = crate::solution::localize::localize(
            tree.path(),
            &IssueText {
                title: "`apply_coupon` rejects lowercase codes".to_owned(),
                body: String::new(),
            },
            5,
            Limits::default(),
        )
        .expect("localizes");
        assert_eq!(uncached.index_cache, CacheUse::Off);
        assert_eq!(uncached.candidates, second.candidates);
    }

    #[cfg(unix)]
    #[test]
    fn only_the_service_user_can_read_the_cache_and_its_packs() {
        use std::os::unix::fs::PermissionsExt as _;
        let tree = tempfile::tempdir().expect("tempdir");
        write(
            tree.path(),
            "shop/coupons.py",
            "SECRET_SALT = 'do-not-share'\n\ndef apply_coupon(code):\n    return code\n",
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = IndexCache::new(dir.path().join("data/index"));
        assert_eq!(run(tree.path(), &cache).index_cache, CacheUse::Miss);
        let mode = |path: &Path| {
            let meta = std::fs::metadata(path).expect("exists");
            meta.permissions().mode() & 0o777
        };
        let index = dir.path().join("data/index");
        assert_eq!(mode(&index), 0o700, "created by the first pack's writer");
        let packs: Vec<PathBuf> = (std::fs::read_dir(&index).expect("read"))
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(packs.len(), 1, "{packs:?}");
        assert_eq!(mode(&packs[0]), 0o600, "a pack holds the tree's literals");
        let text = std::fs::read_to_string(&packs[0]).expect("read");
        assert!(text.contains("do-not-share"), "the literal is in the pack");
    }

    #[test]
    fn a_changed_added_or_removed_file_is_indexed_again() {
        let tree = tempfile::tempdir().expect("tempdir");
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            tree.path(),
            "shop/coupons.py",
            "def apply_coupon(code):\n    return code\n",
        );
        write(
            tree.path(),
            "shop/cart.py",
            "def total(items):\n    return items\n",
        );
        let cache = IndexCache::new(dir.path());
        assert_eq!(run(tree.path(), &cache).index_cache, CacheUse::Miss);
        // The declaration moves: a stale index would still point at coupons.py.
        write(tree.path(), "shop/coupons.py", "COUPONS = {}\n");
        write(
            tree.path(),
            "shop/cart.py",
            "def apply_coupon(code):\n    return code\n",
        );
        let moved = run(tree.path(), &cache);
        assert_eq!(moved.index_cache, CacheUse::Miss);
        assert_eq!(paths(&moved)[0], "shop/cart.py");
        write(tree.path(), "shop/new.py", "x = 1\n");
        assert_eq!(run(tree.path(), &cache).index_cache, CacheUse::Miss);
        std::fs::remove_file(tree.path().join("shop/new.py")).expect("rm");
        assert_eq!(
            run(tree.path(), &cache).index_cache,
            CacheUse::Hit,
            "the tree is back to one already indexed"
        );
    }

    #[test]
    fn a_damaged_pack_is_ignored_and_written_again() {
        let tree = tempfile::tempdir().expect("tempdir");
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            tree.path(),
            "shop/coupons.py",
            "def apply_coupon(code):\n    return code\n",
        );
        let cache = IndexCache::new(dir.path());
        let first = run(tree.path(), &cache);
        let pack = std::fs::read_dir(dir.path())
            .expect("the cache directory")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "json"))
            .expect("a pack was written");
        std::fs::write(&pack, "{\"version\": 2, \"key\": \"trunc").expect("damage");
        let second = run(tree.path(), &cache);
        assert_eq!(second.index_cache, CacheUse::Miss);
        assert_eq!(second.candidates, first.candidates);
        assert_eq!(run(tree.path(), &cache).index_cache, CacheUse::Hit);
    }
}
