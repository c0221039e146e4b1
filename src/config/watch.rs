//! Hot reload: the config file's directory is watched (editors replace files by renaming, so
//! watching the file itself would miss them); a changed file is validated and applied, an
//! invalid one is logged and the running configuration kept.

use super::{Config, ConfigError, Sources};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How long to wait for an editor's burst of writes to settle before reloading.
const SETTLE: Duration = Duration::from_millis(150);

/// The live configuration: every reader sees the newest valid one.
pub type ConfigRx = watch::Receiver<Arc<Config>>;

/// Reloads the configuration from its sources and publishes it when it changed.
#[derive(Debug, Clone)]
pub struct Reloader {
    sources: Sources,
    tx: watch::Sender<Arc<Config>>,
}

impl Reloader {
    /// A reloader publishing to a new channel that starts with `initial`.
    pub fn new(sources: Sources, initial: Config) -> (Self, ConfigRx) {
        let (tx, rx) = watch::channel(Arc::new(initial));
        (Self { sources, tx }, rx)
    }

    /// Loads the configuration again. A valid, changed configuration is published and `true`
    /// returned; an invalid one changes nothing and is returned as the error.
    pub fn reload(&self) -> Result<bool, ConfigError> {
        let loaded = self.sources.load()?;
        let current = self.tx.borrow().clone();
        if *current == loaded.config {
            return Ok(false);
        }
        warn_about_restart_only_keys(&current, &loaded.config);
        self.tx.send_replace(Arc::new(loaded.config));
        Ok(true)
    }

    /// Watches the config file's directory until `shutdown`, reloading on every change.
    /// Returns `None` (and logs why) when the directory does not exist.
    pub fn watch(self, shutdown: CancellationToken) -> Option<tokio::task::JoinHandle<()>> {
        use notify::Watcher;

        let path = self.sources.config_path();
        let dir = path.parent()?.to_owned();
        if !dir.is_dir() {
            tracing::info!(
                dir = %dir.display(),
                "config directory does not exist; hot reload starts after a restart once it does"
            );
            return None;
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let file_name = path.file_name().map(ToOwned::to_owned);
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                let ours = event
                    .paths
                    .iter()
                    .any(|p| p.file_name().map(ToOwned::to_owned) == file_name);
                if ours && !matches!(event.kind, notify::EventKind::Access(_)) {
                    let _ = tx.send(());
                }
            }
        });
        let mut watcher = match watcher {
            Ok(watcher) => watcher,
            Err(err) => {
                tracing::warn!(%err, "cannot watch the config file; hot reload is off");
                return None;
            }
        };
        if let Err(err) = watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
            tracing::warn!(%err, dir = %dir.display(), "cannot watch the config directory; hot reload is off");
            return None;
        }
        Some(tokio::spawn(async move {
            let _watcher = watcher;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    changed = rx.recv() => if changed.is_none() { break },
                }
                tokio::time::sleep(SETTLE).await;
                while rx.try_recv().is_ok() {}
                match self.reload() {
                    Ok(true) => tracing::info!(path = %path.display(), "configuration reloaded"),
                    Ok(false) => {}
                    Err(err) => tracing::error!(
                        path = %path.display(),
                        "config file is invalid; keeping the running configuration: {err}"
                    ),
                }
            }
        }))
    }
}

fn warn_about_restart_only_keys(old: &Config, new: &Config) {
    let restart_only = [
        ("server.listen", old.server.listen != new.server.listen),
        (
            "server (timeouts and max_concurrent_requests)",
            (
                old.server.request_timeout_secs,
                old.server.read_timeout_secs,
                old.server.max_concurrent_requests,
            ) != (
                new.server.request_timeout_secs,
                new.server.read_timeout_secs,
                new.server.max_concurrent_requests,
            ),
        ),
        (
            "storage",
            // The retention is read by each day's prune job, so it needs no restart.
            (
                &old.storage.data_dir,
                old.storage.busy_timeout_ms,
                old.database_path(),
                &old.storage.database_url,
            ) != (
                &new.storage.data_dir,
                new.storage.busy_timeout_ms,
                new.database_path(),
                &new.storage.database_url,
            ),
        ),
        ("jobs.workers", old.jobs.workers != new.jobs.workers),
        ("logging", old.logging != new.logging),
        (
            // The checkout cache is built once, with its git limits.
            "fix (cached_repos, git_timeout_secs, max_repo_mb)",
            (
                old.fix.cached_repos,
                old.fix.git_timeout_secs,
                old.fix.max_repo_mb,
            ) != (
                new.fix.cached_repos,
                new.fix.git_timeout_secs,
                new.fix.max_repo_mb,
            ),
        ),
    ];
    for (key, changed) in restart_only {
        if changed {
            tracing::warn!(
                key,
                "changed in the config file; takes effect at the next restart"
            );
        }
    }
}
