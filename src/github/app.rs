//! The App's credentials as the manifest flow stores them: `<data dir>/github-app.json`,
//! readable by the service's user only. The configuration loader reads it, so a registered
//! App works without a restart and without setting anything by hand.

use super::model::AppConversion;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name in the data directory.
pub const CREDENTIALS_FILE: &str = "github-app.json";

/// What the file holds.
#[derive(Clone, Serialize, Deserialize)]
pub struct AppCredentials {
    /// The App's id.
    pub id: u64,
    /// Its slug; its bot is `<slug>[bot]`.
    pub slug: String,
    /// Its page on GitHub.
    #[serde(default)]
    pub html_url: String,
    /// The private key, PEM.
    pub pem: String,
    /// The webhook secret.
    pub webhook_secret: String,
    /// The OAuth client id.
    #[serde(default)]
    pub client_id: String,
    /// The OAuth client secret.
    #[serde(default)]
    pub client_secret: String,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("id", &self.id)
            .field("slug", &self.slug)
            .finish_non_exhaustive()
    }
}

impl AppCredentials {
    /// The credentials of a freshly converted App.
    pub fn from_conversion(app: AppConversion) -> Result<Self, String> {
        Ok(Self {
            id: app.id.0,
            slug: app.slug,
            html_url: app.html_url,
            pem: app.pem,
            webhook_secret: app
                .webhook_secret
                .filter(|s| !s.is_empty())
                .ok_or("GitHub returned no webhook secret for the App")?,
            client_id: app.client_id,
            client_secret: app.client_secret,
        })
    }

    /// The file in `data_dir`.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(CREDENTIALS_FILE)
    }

    /// Reads the file (never through a symlink); `Ok(None)` when there is none.
    pub fn load(data_dir: &Path) -> Result<Option<Self>, String> {
        let path = Self::path(data_dir);
        let read = crate::private_fs::open_private_file(&path).and_then(|mut file| {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut file, &mut text).map(|_| text)
        });
        let text = match read {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|err| format!("{} is not valid: {err}", path.display()))
    }

    /// Writes the file, readable and writable by its owner only (created 0600, never through
    /// a symlink), replacing any previous one in one step.
    pub fn store(&self, data_dir: &Path) -> std::io::Result<PathBuf> {
        use std::io::Write as _;
        crate::private_fs::create_private_dir(data_dir)?;
        let path = Self::path(data_dir);
        let temp = data_dir.join(format!(".{CREDENTIALS_FILE}.tmp"));
        // A temporary file left by a crash (or anything planted there) goes; `remove_file`
        // removes a symlink itself, never its target.
        match std::fs::remove_file(&temp) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        let mut file = crate::private_fs::create_new_private_file(&temp)?;
        file.write_all(
            serde_json::to_string_pretty(self)
                .map_err(std::io::Error::other)?
                .as_bytes(),
        )?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)?;
        Ok(path)
    }

    /// Removes the file (`globallm app reset`). Returns `false` when there was none.
    pub fn remove(data_dir: &Path) -> std::io::Result<bool> {
        let _ = std::fs::remove_file(data_dir.join(format!(".{CREDENTIALS_FILE}.tmp")));
        match std::fs::remove_file(Self::path(data_dir)) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(err),
        }
    }
}
