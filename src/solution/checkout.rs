//! Working copies of repositories, with the `git` CLI: a bare cache per repository (fetched,
//! not cloned again), a fresh work tree per attempt that shares the cache's objects, commits
//! authored as the App's bot, and pushes. The installation token travels in an HTTP header set
//! through git's environment configuration, so it is never on a command line, in a log, or in
//! a `.git/config` left behind. Every git command runs in its own process group under an
//! overall timeout (the whole group is killed when it expires), and a clone or fetch is
//! watched so the cache never grows past the configured size (the runner is in [`super::git`]).
//! A cache is changed (fetched) by one task at a time and never evicted while a work tree
//! shares its objects. [`branch_changes`] reads what a whole branch
//! changes since its merge base, for the risk tier.

use super::edit::FileChange;
pub(crate) use super::git::git_command;
pub use super::git::{GitError, GitLimits};
use super::git::{disk_usage, git, git_raw, io_error, run, too_large};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The author of GlobalLM's commits.
#[derive(Debug, Clone)]
pub struct Author {
    /// `globallm[bot]`.
    pub name: String,
    /// `<id>+globallm[bot]@users.noreply.github.com`.
    pub email: String,
}

/// Where caches and work trees live, and how many caches are kept.
#[derive(Debug, Clone)]
pub struct Checkouts {
    root: PathBuf,
    max_cached: usize,
    limits: GitLimits,
    /// One lock per cache: a fetch is not run twice at once (git would fail on its ref locks).
    locks: Arc<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>>,
    /// Work trees sharing each cache's objects: such a cache is not evicted.
    in_use: Arc<Mutex<HashMap<PathBuf, usize>>>,
}

/// A work tree for one attempt; removed when dropped.
#[derive(Debug)]
pub struct WorkTree {
    path: PathBuf,
    /// The commit it was created at.
    pub base_sha: String,
    limits: GitLimits,
    _cache: CacheUse,
}

/// A cache in use by a work tree (`clone --shared` reads its objects).
#[derive(Debug)]
struct CacheUse {
    cache: PathBuf,
    in_use: Arc<Mutex<HashMap<PathBuf, usize>>>,
}

impl CacheUse {
    fn new(cache: &Path, in_use: &Arc<Mutex<HashMap<PathBuf, usize>>>) -> Self {
        *in_use
            .lock()
            .expect("cache use lock")
            .entry(cache.to_owned())
            .or_default() += 1;
        Self {
            cache: cache.to_owned(),
            in_use: in_use.clone(),
        }
    }
}

impl Drop for CacheUse {
    fn drop(&mut self) {
        let mut in_use = self.in_use.lock().expect("cache use lock");
        if let Some(count) = in_use.get_mut(&self.cache) {
            *count -= 1;
            if *count == 0 {
                in_use.remove(&self.cache);
            }
        }
    }
}

impl WorkTree {
    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bounds its git commands run under.
    pub fn limits(&self) -> &GitLimits {
        &self.limits
    }
}

impl Drop for WorkTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl Checkouts {
    /// Caches and work trees under `root`; at most `max_cached` repositories are kept; git
    /// runs under `limits`.
    pub fn new(root: impl Into<PathBuf>, max_cached: usize, limits: GitLimits) -> Self {
        Self {
            root: root.into(),
            max_cached: max_cached.max(1),
            limits,
            locks: Arc::default(),
            in_use: Arc::default(),
        }
    }

    /// A clone or fetch (run in `dir`, writing `cache`) under the limits: the cache's size is
    /// watched while it runs and checked once more when it ends.
    async fn transfer(
        &self,
        dir: &Path,
        cache: &Path,
        token: Option<&SecretString>,
        args: &[&str],
    ) -> Result<(), GitError> {
        let name = args.first().copied().unwrap_or("").to_owned();
        let output = run(git_command(dir, token), args, &self.limits, Some(cache)).await?;
        if !output.status.success() {
            let mut message = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            if let Some(token) = token {
                message = message.replace(token.expose_secret(), "***");
            }
            return Err(GitError {
                command: name,
                message,
            });
        }
        let owned = cache.to_owned();
        let size = tokio::task::spawn_blocking(move || disk_usage(&owned))
            .await
            .unwrap_or(0);
        if size > self.limits.max_repo_bytes {
            return Err(GitError {
                command: name,
                message: too_large(&self.limits),
            });
        }
        Ok(())
    }

    fn lock_of(&self, cache: &Path) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .expect("cache locks")
            .entry(cache.to_owned())
            .or_default()
            .clone()
    }

    /// Brings the repository's cache up to date with `url`, cloning it the first time; the
    /// caller holds the cache's lock.
    async fn refresh(
        &self,
        cache: &Path,
        url: &str,
        token: Option<&SecretString>,
    ) -> Result<(), GitError> {
        let parent = cache.parent().expect("the cache has a parent");
        std::fs::create_dir_all(parent).map_err(|err| io_error("mkdir", err))?;
        let cloning = !cache.join("HEAD").exists();
        let fetched = if !cloning {
            self.transfer(
                cache,
                cache,
                token,
                &[
                    "fetch",
                    "--quiet",
                    "--prune",
                    url,
                    "+refs/heads/*:refs/heads/*",
                ],
            )
            .await
        } else {
            let cache_str = cache
                .to_str()
                .ok_or_else(|| io_error("clone", std::io::Error::other("non-UTF-8 path")))?;
            self.transfer(
                parent,
                cache,
                token,
                &["clone", "--quiet", "--bare", "--no-tags", url, cache_str],
            )
            .await
        };
        if let Err(err) = fetched {
            // A clone cut short, or a cache grown past the cap, is not kept half-written.
            if cloning || err.message.contains("fix.max_repo_mb") {
                let _ = std::fs::remove_dir_all(cache);
            }
            return Err(err);
        }
        // Touch the cache so eviction keeps the most recently used.
        let _ = std::fs::File::open(cache.join("HEAD"))
            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        self.evict(cache);
        Ok(())
    }

    /// What the branch at `head` changes since its merge base with `base_branch`, read from
    /// the repository's cache brought up to date with `url` first.
    pub async fn branch_changes(
        &self,
        repo: &str,
        url: &str,
        token: Option<&SecretString>,
        base_branch: &str,
        head: &str,
    ) -> Result<BranchChanges, GitError> {
        let cache = self.cache_dir(repo);
        let lock = self.lock_of(&cache);
        let _held = lock.lock().await;
        self.refresh(&cache, url, token).await?;
        branch_changes(
            &cache,
            &self.limits,
            &format!("refs/heads/{base_branch}"),
            head,
        )
        .await
    }

    fn cache_dir(&self, repo: &str) -> PathBuf {
        self.root
            .join("cache")
            .join(format!("{}.git", repo.replace('/', "__")))
    }

    /// Brings the repository's cache up to date with `url` (cloning it the first time), then
    /// makes a fresh work tree at the tip of `branch`.
    pub async fn work_tree(
        &self,
        repo: &str,
        url: &str,
        token: Option<&SecretString>,
        branch: &str,
    ) -> Result<WorkTree, GitError> {
        let cache = self.cache_dir(repo);
        let parent = cache.parent().expect("the cache has a parent").to_owned();
        let lock = self.lock_of(&cache);
        let held = lock.lock().await;
        self.refresh(&cache, url, token).await?;
        let cache_use = CacheUse::new(&cache, &self.in_use);
        drop(held);

        let work = self
            .root
            .join("work")
            .join(uuid::Uuid::new_v4().simple().to_string());
        std::fs::create_dir_all(self.root.join("work")).map_err(|err| io_error("mkdir", err))?;
        let work_str = work
            .to_str()
            .ok_or_else(|| io_error("clone", std::io::Error::other("non-UTF-8 path")))?;
        let cache_str = cache
            .to_str()
            .ok_or_else(|| io_error("clone", std::io::Error::other("non-UTF-8 path")))?;
        git(
            &parent,
            None,
            &self.limits,
            &[
                "clone", "--quiet", "--shared", "--branch", branch, cache_str, work_str,
            ],
        )
        .await?;
        let base_sha = git(&work, None, &self.limits, &["rev-parse", "HEAD"]).await?;
        Ok(WorkTree {
            path: work,
            base_sha,
            limits: self.limits,
            _cache: cache_use,
        })
    }

    /// Forgets the least recently used caches beyond the limit (never `keep`, nor a cache a
    /// work tree uses or a task holds).
    fn evict(&self, keep: &Path) {
        let busy: Vec<PathBuf> = {
            let in_use = self.in_use.lock().expect("cache use lock");
            let locks = self.locks.lock().expect("cache locks");
            in_use
                .keys()
                .cloned()
                .chain(
                    locks
                        .iter()
                        .filter(|(_, lock)| lock.try_lock().is_err())
                        .map(|(path, _)| path.clone()),
                )
                .collect()
        };
        let Ok(entries) = std::fs::read_dir(self.root.join("cache")) else {
            return;
        };
        let mut caches: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p != keep && !busy.contains(p))
            .filter_map(|p| Some((std::fs::metadata(p.join("HEAD")).ok()?.modified().ok()?, p)))
            .collect();
        caches.sort();
        while !caches.is_empty() && caches.len() + 1 > self.max_cached {
            let (_, oldest) = caches.remove(0);
            let _ = std::fs::remove_dir_all(oldest);
        }
    }
}

/// Switches the work tree to a new local branch.
pub async fn create_branch(work: &WorkTree, branch: &str) -> Result<(), GitError> {
    git(
        work.path(),
        None,
        &work.limits,
        &["checkout", "--quiet", "-B", branch],
    )
    .await
    .map(drop)
}

/// Commits the changes of `paths` (and nothing else the work tree holds) as `author`;
/// returns the commit's sha, or `None` when they change nothing.
pub async fn commit_paths(
    work: &WorkTree,
    author: &Author,
    message: &str,
    paths: &[&str],
) -> Result<Option<String>, GitError> {
    if paths.is_empty() {
        return Ok(None);
    }
    let mut add = vec!["add", "--all", "--"];
    add.extend(paths);
    git(work.path(), None, &work.limits, &add).await?;
    if git(
        work.path(),
        None,
        &work.limits,
        &["diff", "--cached", "--name-only"],
    )
    .await?
    .is_empty()
    {
        return Ok(None);
    }
    commit_staged(work, author, message).await.map(Some)
}

/// Commits what is staged as `author` (no hooks); returns the new head.
async fn commit_staged(
    work: &WorkTree,
    author: &Author,
    message: &str,
) -> Result<String, GitError> {
    let name = format!("user.name={}", author.name);
    let email = format!("user.email={}", author.email);
    git(
        work.path(),
        None,
        &work.limits,
        &[
            "-c",
            &name,
            "-c",
            &email,
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            message,
        ],
    )
    .await?;
    git(work.path(), None, &work.limits, &["rev-parse", "HEAD"]).await
}

/// Merges `origin/<base_branch>` into the work tree's branch as `author`: the new head, or
/// `None` when they conflict (the merge is then aborted and the work tree left as it was).
pub async fn merge_base_branch(
    work: &WorkTree,
    author: &Author,
    base_branch: &str,
) -> Result<Option<String>, GitError> {
    let name = format!("user.name={}", author.name);
    let email = format!("user.email={}", author.email);
    let theirs = format!("origin/{base_branch}");
    let message = format!("Merge branch '{base_branch}' into the fix");
    let merged = git(
        work.path(),
        None,
        &work.limits,
        &[
            "-c",
            &name,
            "-c",
            &email,
            "merge",
            "--quiet",
            "--no-ff",
            "--no-verify",
            "-m",
            &message,
            &theirs,
        ],
    )
    .await;
    match merged {
        Ok(_) => git(work.path(), None, &work.limits, &["rev-parse", "HEAD"])
            .await
            .map(Some),
        // A merge that stopped on conflicts can be aborted; any other failure cannot.
        Err(err) => match git(work.path(), None, &work.limits, &["merge", "--abort"]).await {
            Ok(_) => Ok(None),
            Err(_) => Err(err),
        },
    }
}

/// Undoes what a merge brought to the base branch, on the work tree's branch as `author`, with
/// `message`: a merge commit is reverted against its first parent (`-m 1`); a squash or a
/// rebase, every commit from `parent` (the base before the merge) to `merged`. The new head, or
/// `None` when the revert conflicts with what came after it (the revert is then aborted).
pub async fn revert_merge(
    work: &WorkTree,
    author: &Author,
    parent: &str,
    merged: &str,
    message: &str,
) -> Result<Option<String>, GitError> {
    let name = format!("user.name={}", author.name);
    let email = format!("user.email={}", author.email);
    let second_parent = format!("{merged}^2");
    let is_merge_commit = git(
        work.path(),
        None,
        &work.limits,
        &["rev-parse", "--verify", "--quiet", &second_parent],
    )
    .await
    .is_ok();
    let range = format!("{parent}..{merged}");
    let mut args = vec![
        "-c",
        name.as_str(),
        "-c",
        email.as_str(),
        "revert",
        "--no-edit",
        "--no-commit",
    ];
    if is_merge_commit {
        args.extend(["-m", "1", merged]);
    } else {
        args.push(range.as_str());
    }
    let reverted = git(work.path(), None, &work.limits, &args).await;
    if let Err(err) = reverted {
        // A revert that stopped on conflicts can be aborted; any other failure cannot.
        return match git(work.path(), None, &work.limits, &["revert", "--abort"]).await {
            Ok(_) => Ok(None),
            Err(_) => Err(err),
        };
    }
    commit_staged(work, author, message).await.map(Some)
}

/// Pushes the work tree's `HEAD` to `branch` of `url`; `expected` (the sha the branch should
/// have now) makes the push fail if someone else pushed meanwhile.
pub async fn push(
    work: &WorkTree,
    url: &str,
    token: Option<&SecretString>,
    branch: &str,
    expected: Option<&str>,
) -> Result<(), GitError> {
    let refspec = format!("HEAD:refs/heads/{branch}");
    let lease = expected.map(|sha| format!("--force-with-lease=refs/heads/{branch}:{sha}"));
    let mut args = vec!["push", "--quiet"];
    if let Some(lease) = &lease {
        args.push(lease);
    }
    args.extend([url, refspec.as_str()]);
    git(work.path(), token, &work.limits, &args).await.map(drop)
}

/// The unified diff `branch` of the cache makes against the work tree's base (what an earlier
/// attempt on that branch changed).
pub async fn diff_of_branch(work: &WorkTree, branch: &str) -> Result<String, GitError> {
    let range = format!("{}...origin/{branch}", work.base_sha);
    git(work.path(), None, &work.limits, &["diff", &range]).await
}

/// The unified diff of the work tree's commits since its base.
pub async fn diff_since_base(work: &WorkTree) -> Result<String, GitError> {
    git(
        work.path(),
        None,
        &work.limits,
        &["diff", "--no-color", &work.base_sha, "HEAD"],
    )
    .await
}

/// What a branch changes since its merge base with a base branch.
#[derive(Debug, Clone)]
pub struct BranchChanges {
    /// The merge base.
    pub merge_base: String,
    /// Every file changed, with its content at the merge base and at the head (binary files
    /// as lossy text, so path rules still see them).
    pub changes: Vec<FileChange>,
    /// Whether the head's tree has tests.
    pub has_tests: bool,
}

/// What `head` changes since its merge base with `base` (commits or refs of the git directory
/// or work tree `dir`): the whole branch, however many pushes made it.
pub async fn branch_changes(
    dir: &Path,
    limits: &GitLimits,
    base: &str,
    head: &str,
) -> Result<BranchChanges, GitError> {
    let merge_base = git(dir, None, limits, &["merge-base", base, head]).await?;
    let listing = git_raw(
        dir,
        limits,
        &[
            "diff",
            "--name-status",
            "--no-renames",
            "-z",
            &merge_base,
            head,
            "--",
        ],
    )
    .await?;
    let mut fields = listing.split('\0').filter(|f| !f.is_empty());
    let mut changes = Vec::new();
    while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
        let before = if status.starts_with('A') {
            None
        } else {
            Some(git_raw(dir, limits, &["show", &format!("{merge_base}:{path}")]).await?)
        };
        let after = if status.starts_with('D') {
            String::new()
        } else {
            git_raw(dir, limits, &["show", &format!("{head}:{path}")]).await?
        };
        changes.push(FileChange {
            path: path.to_owned(),
            before,
            after,
        });
    }
    let tree = git_raw(dir, limits, &["ls-tree", "-r", "-z", "--name-only", head]).await?;
    let has_tests =
        !super::conventions::test_files(tree.split('\0').filter(|p| !p.is_empty())).is_empty();
    Ok(BranchChanges {
        merge_base,
        changes,
        has_tests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn author() -> Author {
        Author {
            name: "globallm-test[bot]".into(),
            email: "1+globallm-test[bot]@users.noreply.github.com".into(),
        }
    }

    fn bare_with(dir: &Path, files: &[(&str, &str)]) -> String {
        let bare = crate::testing::fake_github::git::create_bare(dir, "acme/widgets", files);
        format!("file://{}", bare.display())
    }

    #[tokio::test]
    async fn a_work_tree_commits_and_pushes_a_branch() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = bare_with(dir.path(), &[("README.md", "# Widgets\n")]);
        let checkouts = Checkouts::new(dir.path().join("data"), 5, GitLimits::default());
        let work = checkouts
            .work_tree("acme/widgets", &url, None, "main")
            .await
            .expect("cloned");
        assert_eq!(
            std::fs::read_to_string(work.path().join("README.md")).expect("read"),
            "# Widgets\n"
        );
        create_branch(&work, "globallm/issue-1")
            .await
            .expect("branch");
        assert_eq!(
            commit_paths(&work, &author(), "nothing", &["README.md"])
                .await
                .expect("no-op"),
            None,
            "nothing to commit"
        );
        std::fs::write(work.path().join("README.md"), "# Widgets\n\nFixed.\n").expect("written");
        let sha = commit_paths(&work, &author(), "Fix #1", &["README.md"])
            .await
            .expect("committed")
            .expect("a commit");
        push(&work, &url, None, "globallm/issue-1", None)
            .await
            .expect("pushed");
        let bare = dir.path().join("acme__widgets.git");
        assert_eq!(
            crate::testing::fake_github::git::branch_head(&bare, "globallm/issue-1"),
            Some(sha.clone())
        );
        let log = git(
            work.path(),
            None,
            &work.limits,
            &["log", "-1", "--format=%an <%ae>"],
        )
        .await
        .expect("log");
        assert_eq!(
            log,
            "globallm-test[bot] <1+globallm-test[bot]@users.noreply.github.com>"
        );
        let diff = diff_since_base(&work).await.expect("diff");
        assert!(diff.contains("+Fixed."), "{diff}");
        let path = work.path().to_owned();
        drop(work);
        assert!(!path.exists(), "the work tree is removed after the attempt");
    }

    #[tokio::test]
    async fn hooks_and_an_fsmonitor_planted_in_the_work_tree_never_run() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let url = bare_with(dir.path(), &[("README.md", "# Widgets\n")]);
        let checkouts = Checkouts::new(dir.path().join("data"), 5, GitLimits::default());
        let work = checkouts
            .work_tree("acme/widgets", &url, None, "main")
            .await
            .expect("cloned");
        // What a hostile test run could have left in `.git`: hooks and a config naming a
        // program, each recording that it ran.
        let ran = dir.path().join("ran");
        let script = format!("#!/bin/sh\necho \"$0\" >> '{}'\n", ran.display());
        let git_dir = work.path().join(".git");
        let executable = |path: &Path| {
            std::fs::write(path, &script).expect("written");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        };
        std::fs::create_dir_all(git_dir.join("hooks")).expect("hooks dir");
        for hook in [
            "pre-commit",
            "commit-msg",
            "post-commit",
            "post-checkout",
            "reference-transaction",
            "pre-push",
        ] {
            executable(&git_dir.join("hooks").join(hook));
        }
        executable(&git_dir.join("fsmonitor.sh"));
        let mut config = std::fs::read_to_string(git_dir.join("config")).expect("config");
        config.push_str(&format!(
            "[core]\n\tfsmonitor = {}\n",
            git_dir.join("fsmonitor.sh").display()
        ));
        std::fs::write(git_dir.join("config"), config).expect("config written");

        create_branch(&work, "globallm/issue-2")
            .await
            .expect("branch");
        std::fs::write(work.path().join("README.md"), "# Widgets\n\nFixed.\n").expect("written");
        let sha = commit_paths(&work, &author(), "Fix #2", &["README.md"])
            .await
            .expect("committed")
            .expect("a commit");
        push(&work, &url, None, "globallm/issue-2", None)
            .await
            .expect("pushed");
        let bare = dir.path().join("acme__widgets.git");
        assert_eq!(
            crate::testing::fake_github::git::branch_head(&bare, "globallm/issue-2"),
            Some(sha)
        );
        assert!(
            !ran.exists(),
            "planted programs ran: {}",
            std::fs::read_to_string(&ran).unwrap_or_default()
        );
    }

    #[tokio::test]
    async fn only_the_named_paths_are_committed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = bare_with(dir.path(), &[("a.txt", "1\n"), ("b.txt", "1\n")]);
        let checkouts = Checkouts::new(dir.path().join("data"), 5, GitLimits::default());
        let work = checkouts
            .work_tree("acme/widgets", &url, None, "main")
            .await
            .expect("cloned");
        std::fs::write(work.path().join("a.txt"), "2\n").expect("written");
        std::fs::write(work.path().join("b.txt"), "tampered\n").expect("written");
        std::fs::write(work.path().join("stray.txt"), "left behind\n").expect("written");
        commit_paths(&work, &author(), "a only", &["a.txt"])
            .await
            .expect("committed")
            .expect("a commit");
        let changed = git(
            work.path(),
            None,
            &work.limits,
            &["diff", "--name-only", &work.base_sha, "HEAD"],
        )
        .await
        .expect("diff");
        assert_eq!(changed, "a.txt");
    }

    #[tokio::test]
    async fn a_push_over_someone_elses_commit_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = bare_with(dir.path(), &[("a.txt", "1\n")]);
        let checkouts = Checkouts::new(dir.path().join("data"), 5, GitLimits::default());
        let first = checkouts
            .work_tree("acme/widgets", &url, None, "main")
            .await
            .expect("cloned");
        create_branch(&first, "b").await.expect("branch");
        std::fs::write(first.path().join("a.txt"), "2\n").expect("written");
        let ours = commit_paths(&first, &author(), "ours", &["a.txt"])
            .await
            .expect("ok")
            .expect("commit");
        push(&first, &url, None, "b", None).await.expect("pushed");
        // Someone else pushes on top of ours.
        let theirs = checkouts
            .work_tree("acme/widgets", &url, None, "b")
            .await
            .expect("cloned");
        std::fs::write(theirs.path().join("a.txt"), "3\n").expect("written");
        commit_paths(&theirs, &author(), "theirs", &["a.txt"])
            .await
            .expect("ok")
            .expect("commit");
        push(&theirs, &url, None, "b", None).await.expect("pushed");
        // Our next push expects the branch to still be ours: refused.
        let retry = checkouts
            .work_tree("acme/widgets", &url, None, "main")
            .await
            .expect("cloned");
        create_branch(&retry, "b").await.expect("branch");
        std::fs::write(retry.path().join("a.txt"), "4\n").expect("written");
        commit_paths(&retry, &author(), "retry", &["a.txt"])
            .await
            .expect("ok")
            .expect("commit");
        let err = push(&retry, &url, None, "b", Some(&ours))
            .await
            .expect_err("lease broken");
        assert!(
            err.message.contains("stale info") || err.message.contains("rejected"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn a_clone_from_a_git_server_that_never_answers_fails_after_the_timeout() {
        // A server that accepts connections and never says a word.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let server = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let checkouts = Checkouts::new(
            dir.path().join("data"),
            5,
            GitLimits {
                timeout: std::time::Duration::from_secs(1),
                ..GitLimits::default()
            },
        );
        let err = checkouts
            .work_tree(
                "acme/widgets",
                &format!("http://{addr}/acme/widgets.git"),
                None,
                "main",
            )
            .await
            .expect_err("the clone is stopped");
        assert_eq!(err.command, "clone");
        assert!(
            err.message.contains("fix.git_timeout_secs") && err.message.contains("stalled"),
            "{}",
            err.message
        );
        assert!(
            !checkouts.cache_dir("acme/widgets").exists(),
            "a clone cut short leaves no cache behind"
        );
        server.abort();
    }

    #[tokio::test]
    async fn a_repository_larger_than_the_cap_is_refused_and_not_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        // Hex of a pseudo-random sequence: compresses to about half, so the pack is ~1 MiB.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let noise: String = (0..256 * 1024)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                format!("{:08x}", state >> 32)
            })
            .collect();
        let url = bare_with(
            dir.path(),
            &[("README.md", "# Big\n"), ("blob.txt", &noise)],
        );
        let small = Checkouts::new(
            dir.path().join("data"),
            5,
            GitLimits {
                max_repo_bytes: 256 * 1024,
                ..GitLimits::default()
            },
        );
        let err = small
            .work_tree("acme/widgets", &url, None, "main")
            .await
            .expect_err("too large");
        assert!(
            err.message.contains("larger than fix.max_repo_mb"),
            "{}",
            err.message
        );
        assert!(!small.cache_dir("acme/widgets").exists(), "not kept");
        let roomy = Checkouts::new(dir.path().join("data"), 5, GitLimits::default());
        roomy
            .work_tree("acme/widgets", &url, None, "main")
            .await
            .expect("under the default cap it clones");
    }
}
