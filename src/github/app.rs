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

    /// Reads the file; `Ok(None)` when there is none.
    pub fn load(data_dir: &Path) -> Result<Option<Self>, String> {
        let path = Self::path(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|err| format!("{} is not valid: {err}", path.display()))
    }

    /// Writes the file, readable and writable by its owner only, replacing any previous one
    /// in one step.
    pub fn store(&self, data_dir: &Path) -> std::io::Result<PathBuf> {
        use std::io::Write as _;
        std::fs::create_dir_all(data_dir)?;
        let path = Self::path(data_dir);
        let temp = data_dir.join(format!(".{CREDENTIALS_FILE}.tmp"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp)?;
        file.write_all(
            serde_json::to_string_pretty(self)
                .map_err(std::io::Error::other)?
                .as_bytes(),
        )?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)?;
        Ok(path)
    }
}
