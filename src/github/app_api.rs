//! The calls GlobalLM makes as the App itself (JWT) or without credentials: the App, its
//! installations, its webhook delivery log, and the manifest flow's code conversion.

use super::client::{Auth, GithubClient};
use super::error::GithubError;
use super::ids::{InstallationId, RepoName};
use super::model::{AppConversion, AppInfo, HookDelivery, InstallationInfo};
use http::Method;
use serde::Deserialize;

#[derive(Deserialize)]
struct RawInstallationInfo {
    id: u64,
    account: Option<RawAccount>,
}

#[derive(Deserialize)]
struct RawAccount {
    login: String,
}

impl From<RawInstallationInfo> for InstallationInfo {
    fn from(raw: RawInstallationInfo) -> Self {
        InstallationInfo {
            id: InstallationId(raw.id),
            account: raw.account.map(|a| a.login).unwrap_or_default(),
        }
    }
}

impl GithubClient {
    /// `GET /app`: the App as GitHub knows it (checks the JWT).
    pub async fn get_app(&self) -> Result<AppInfo, GithubError> {
        self.get(Auth::App, "/app").await
    }

    /// `GET /app/installations`, all pages.
    pub async fn list_installations(&self) -> Result<Vec<InstallationInfo>, GithubError> {
        let raw = self
            .get_pages(
                Auth::App,
                "/app/installations?per_page=100",
                100_000,
                |page: Vec<RawInstallationInfo>| page,
            )
            .await?;
        Ok(raw.into_iter().map(InstallationInfo::from).collect())
    }

    /// `GET /repos/{owner}/{repo}/installation`: the installation covering a repository, so
    /// the CLI can act on a repository given by name.
    pub async fn repo_installation(
        &self,
        repo: &RepoName,
    ) -> Result<InstallationInfo, GithubError> {
        match self
            .get::<RawInstallationInfo>(Auth::App, &format!("/repos/{repo}/installation"))
            .await
        {
            Ok(raw) => Ok(raw.into()),
            Err(GithubError::NotFound(_)) => Err(GithubError::NotFound(format!(
                "the App is not installed on {repo} (install it from the App's page on GitHub)"
            ))),
            Err(err) => Err(err),
        }
    }

    /// `GET /app/hook/deliveries`, newest first, up to `max` entries.
    pub async fn hook_deliveries(&self, max: usize) -> Result<Vec<HookDelivery>, GithubError> {
        self.get_pages(
            Auth::App,
            "/app/hook/deliveries?per_page=100",
            max,
            |page: Vec<HookDelivery>| page,
        )
        .await
    }

    /// `POST /app/hook/deliveries/{id}/attempts`: GitHub sends that delivery again.
    pub async fn redeliver(&self, delivery_id: u64) -> Result<(), GithubError> {
        let path = format!("/app/hook/deliveries/{delivery_id}/attempts");
        self.call::<()>(Method::POST, Auth::App, &path, None)
            .await
            .map(drop)
    }

    /// `POST /app-manifests/{code}/conversions`: the manifest flow's last step, turning the
    /// one-time code GitHub redirected with into the new App's credentials.
    pub async fn convert_manifest(&self, code: &str) -> Result<AppConversion, GithubError> {
        if code.is_empty()
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(GithubError::Validation {
                status: 400,
                message: "the manifest code is malformed".to_owned(),
            });
        }
        let path = format!("/app-manifests/{code}/conversions");
        let response = self
            .call::<()>(Method::POST, Auth::None, &path, None)
            .await?;
        response.json(&path)
    }
}
