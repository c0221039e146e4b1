//! What guards the App registration: the one-time setup token and the registrations in
//! progress.
//!
//! The setup token is written to `<data dir>/setup-token` (mode 0600, created new, never
//! through a symlink) when the service starts without an App, and its path — never the token
//! — is logged, as Jenkins and Grafana do with their first-run secrets: whoever can read the
//! service's files may register the App, nobody else. A completed registration consumes it
//! (the file is removed). Each registration started from `/` gets a `state` for GitHub's
//! redirect and a second random value in a cookie, so the redirect is accepted only in the
//! browser that started it, once; at most [`MAX_PENDING`] are kept, the oldest dropped first.

use crate::private_fs;
use crate::time::{Millis, now_ms};
use secrecy::SecretString;
use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The setup token's file in the data directory.
pub const TOKEN_FILE: &str = "setup-token";
/// How long a registration started from `/` may take to come back.
pub const STATE_TTL_MS: Millis = 60 * 60 * 1000;
/// Registrations in progress kept at once; a new one beyond drops the oldest.
pub const MAX_PENDING: usize = 32;

/// A fresh random value (256 bits from the OS's generator), hex.
fn random_hex() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("{a}{b}")
}

#[derive(Debug)]
struct Pending {
    started: Millis,
    browser: SecretString,
}

#[derive(Debug, Default)]
struct Inner {
    token: Option<SecretString>,
    pending: HashMap<String, Pending>,
}

/// The setup token and the registrations in progress, shared by the setup routes.
#[derive(Debug, Clone)]
pub struct Setup {
    data_dir: PathBuf,
    inner: Arc<Mutex<Inner>>,
    /// Held while a registration is being completed, so two cannot both store an App.
    pub completing: Arc<tokio::sync::Mutex<()>>,
}

impl Setup {
    /// The guard of a service whose data directory is `data_dir`; no token is read or written
    /// until [`Setup::ensure_token`].
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
            inner: Arc::default(),
            completing: Arc::default(),
        }
    }

    /// The token file.
    pub fn token_path(&self) -> PathBuf {
        self.data_dir.join(TOKEN_FILE)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves nothing half-written: keep going.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes sure a setup token exists: read from the file, or created in it (and the file's
    /// path logged, once). Returns the file's path.
    pub fn ensure_token(&self) -> std::io::Result<PathBuf> {
        let path = self.token_path();
        let mut inner = self.lock();
        if inner.token.is_some() {
            return Ok(path);
        }
        let (token, created) = read_or_create(&self.data_dir, &path)?;
        inner.token = Some(token);
        if created {
            tracing::warn!(
                path = %path.display(),
                "no GitHub App is configured: open / in a browser and enter the setup token \
                 from this file to register one (the token is not logged)"
            );
        } else {
            tracing::warn!(
                path = %path.display(),
                "no GitHub App is configured: open / and enter the setup token from this file"
            );
        }
        Ok(path)
    }

    /// Whether `given` is the setup token (false when there is none).
    pub fn token_matches(&self, given: &str) -> bool {
        self.lock()
            .token
            .as_ref()
            .is_some_and(|token| super::access::token_matches(given, token))
    }

    /// Forgets the token and removes its file: the registration it allowed is complete.
    pub fn consume_token(&self) {
        self.lock().token = None;
        match std::fs::remove_file(self.token_path()) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => tracing::warn!(
                path = %self.token_path().display(),
                "the used setup token could not be removed: {err}"
            ),
        }
    }

    /// Starts a registration: returns its `state` (for GitHub's redirect) and the value the
    /// browser keeps in a cookie.
    pub fn start_registration(&self) -> (String, String) {
        let state = uuid::Uuid::new_v4().simple().to_string();
        let browser = random_hex();
        let now = now_ms();
        let mut inner = self.lock();
        inner
            .pending
            .retain(|_, pending| now - pending.started < STATE_TTL_MS);
        while inner.pending.len() >= MAX_PENDING {
            let oldest = inner
                .pending
                .iter()
                .min_by_key(|(_, pending)| pending.started)
                .map(|(state, _)| state.clone());
            match oldest {
                Some(oldest) => inner.pending.remove(&oldest),
                None => break,
            };
        }
        inner.pending.insert(
            state.clone(),
            Pending {
                started: now,
                browser: SecretString::from(browser.clone()),
            },
        );
        (state, browser)
    }

    /// Ends the registration `state` when it is pending, not expired, and `browser` is the
    /// cookie it was started with; each is accepted once.
    pub fn finish_registration(&self, state: &str, browser: Option<&str>) -> bool {
        let mut inner = self.lock();
        let Some(pending) = inner.pending.get(state) else {
            return false;
        };
        let same_browser =
            browser.is_some_and(|given| super::access::token_matches(given, &pending.browser));
        if !same_browser {
            return false;
        }
        let fresh = now_ms() - pending.started < STATE_TTL_MS;
        inner.pending.remove(state);
        fresh
    }

    /// Registrations in progress.
    pub fn pending_registrations(&self) -> usize {
        self.lock().pending.len()
    }
}

/// Reads the token file, or creates it with a new token; `true` when it was created. A file
/// that others could read, or that is not a plain file, is replaced.
fn read_or_create(data_dir: &Path, path: &Path) -> std::io::Result<(SecretString, bool)> {
    private_fs::create_private_dir(data_dir)?;
    match private_fs::open_private_file(path) {
        Ok(mut file) => {
            let meta = file.metadata()?;
            let mut text = String::new();
            file.read_to_string(&mut text)?;
            let token = text.trim();
            if meta.is_file() && !token.is_empty() && private_mode(&meta) {
                return Ok((SecretString::from(token.to_owned()), false));
            }
            tracing::warn!(
                path = %path.display(),
                "the setup token file was empty or readable by others; writing a new one"
            );
            std::fs::remove_file(path)?;
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(std::io::Error::new(
                err.kind(),
                format!(
                    "cannot read the setup token {} (a symlink is refused): {err}",
                    path.display()
                ),
            ));
        }
    }
    let token = random_hex();
    let mut file = private_fs::create_new_private_file(path)?;
    file.write_all(format!("{token}\n").as_bytes())?;
    file.sync_all()?;
    Ok((SecretString::from(token), true))
}

#[cfg(unix)]
fn private_mode(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    meta.permissions().mode() & 0o077 == 0
}

#[cfg(not(unix))]
fn private_mode(_meta: &std::fs::Metadata) -> bool {
    true
}

/// Reads the token a test (or the operator) would copy from the file.
pub fn read_token_file(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    private_fs::open_private_file(path)?.read_to_string(&mut text)?;
    Ok(text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setup_token_is_created_once_private_and_kept_across_starts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let setup = Setup::new(&data);
        assert!(!setup.token_matches(""), "no token before it is made");
        let path = setup.ensure_token().expect("created");
        let token = read_token_file(&path).expect("readable by the owner");
        assert_eq!(token.len(), 64);
        assert!(setup.token_matches(&token));
        assert!(!setup.token_matches(&token[..63]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // The next start reads the same token.
        let restarted = Setup::new(&data);
        restarted.ensure_token().expect("read");
        assert!(restarted.token_matches(&token));

        // A registration consumes it.
        restarted.consume_token();
        assert!(!restarted.token_matches(&token));
        assert!(!path.exists());
        let again = Setup::new(&data);
        again.ensure_token().expect("a new one");
        assert!(
            !again.token_matches(&token),
            "a consumed token never comes back"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_in_place_of_the_token_file_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        let target = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, data.join(TOKEN_FILE)).expect("symlink");
        let setup = Setup::new(&data);
        assert!(setup.ensure_token().is_err());
        assert!(!target.exists(), "nothing was written through the link");
    }

    #[test]
    fn a_registration_is_accepted_once_and_only_with_its_browser_cookie() {
        let dir = tempfile::tempdir().expect("tempdir");
        let setup = Setup::new(dir.path());
        let (state, browser) = setup.start_registration();
        assert!(!setup.finish_registration(&state, None));
        assert!(!setup.finish_registration(&state, Some("another browser")));
        assert!(!setup.finish_registration("not-ours", Some(&browser)));
        assert!(setup.finish_registration(&state, Some(&browser)));
        assert!(
            !setup.finish_registration(&state, Some(&browser)),
            "used once"
        );
    }

    #[test]
    fn a_flood_of_registrations_keeps_a_bounded_number_the_newest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let setup = Setup::new(dir.path());
        let first = setup.start_registration();
        let mut last = first.clone();
        for _ in 0..10_000 {
            last = setup.start_registration();
        }
        assert_eq!(setup.pending_registrations(), MAX_PENDING);
        assert!(
            !setup.finish_registration(&first.0, Some(&first.1)),
            "the oldest went"
        );
        assert!(setup.finish_registration(&last.0, Some(&last.1)));
    }
}
