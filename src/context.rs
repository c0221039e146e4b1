//! The state every request handler and job shares, built once at start.

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::config::watch::ConfigRx;
use crate::db::Db;
use crate::github::auth::AppAuth;
use crate::github::ids::AppId;
use crate::github::repo_config::RepoConfigs;
use crate::github::{GithubClient, GithubError, Settings};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Shared state: the database, the live configuration, the GitHub client.
#[derive(Debug)]
pub struct Context {
    /// The database.
    pub db: Db,
    config: ConfigRx,
    /// Notified when jobs are added, so idle workers wake at once.
    pub jobs_added: Arc<Notify>,
    /// The clock GitHub calls wait on (a manual one in tests).
    pub clock: Arc<dyn Clock>,
    github: Mutex<Option<(GithubIdentity, Arc<GithubClient>)>>,
    /// Repositories' `.github/globallm.yml`, cached by blob sha.
    pub repo_configs: RepoConfigs,
    /// Clones of repositories and work trees for fixes (`<data dir>/checkouts`).
    pub checkouts: crate::solution::checkout::Checkouts,
    /// One merge at a time per repository.
    pub merge_slots: crate::fix::merge::MergeSlots,
    bot_login: Mutex<Option<String>>,
    llm: Mutex<Option<(Arc<Config>, Option<crate::llm::client::Llm>)>>,
    known_labels: Mutex<std::collections::HashSet<(String, String)>>,
}

/// What a GitHub client is built from; a change (a hot reload, an App just registered) builds
/// a new one.
#[derive(Debug, Clone, PartialEq)]
struct GithubIdentity {
    api_url: String,
    app: Option<(u64, String)>,
    max_retries: u32,
    retry_base_ms: u64,
    request_timeout_secs: u64,
    max_rate_limit_wait_secs: u64,
    write_interval_ms: u64,
    max_response_bytes: u64,
}

impl GithubIdentity {
    fn of(config: &Config) -> Self {
        let github = &config.github;
        let key = config
            .secrets
            .github_private_key
            .as_ref()
            .map(|k| secrecy::ExposeSecret::expose_secret(k.value()).to_owned());
        Self {
            api_url: github.api_url.clone(),
            app: github.app_id.zip(key),
            max_retries: github.max_retries,
            retry_base_ms: github.retry_base_ms,
            request_timeout_secs: github.request_timeout_secs,
            max_rate_limit_wait_secs: github.max_rate_limit_wait_secs,
            write_interval_ms: github.write_interval_ms,
            max_response_bytes: github.max_response_bytes,
        }
    }

    fn build(&self, clock: Arc<dyn Clock>) -> Result<GithubClient, GithubError> {
        let settings = self.settings();
        let app = self
            .app
            .as_ref()
            .map(|(id, pem)| AppAuth::new(AppId(*id), pem.as_bytes()))
            .transpose()?;
        GithubClient::new(settings, app, clock)
    }

    fn settings(&self) -> Settings {
        let mut settings = Settings::new(&self.api_url);
        settings.max_retries = self.max_retries;
        settings.retry_base = Duration::from_millis(self.retry_base_ms);
        settings.request_timeout = Duration::from_secs(self.request_timeout_secs);
        settings.max_rate_limit_wait = Duration::from_secs(self.max_rate_limit_wait_secs);
        settings.write_interval = Duration::from_millis(self.write_interval_ms);
        settings.max_response_bytes =
            usize::try_from(self.max_response_bytes).unwrap_or(usize::MAX);
        settings
    }
}

/// The longest a read-only client waits for a rate limit: past it, the command stops and
/// says when the limit resets (an anonymous hour is long to wait in a terminal).
const READ_ONLY_MAX_WAIT: Duration = Duration::from_secs(60);

impl Context {
    /// A context over `db`, reading the configuration from `config`, on the system clock.
    pub fn new(db: Db, config: ConfigRx) -> Self {
        Self::with_clock(db, config, Arc::new(SystemClock))
    }

    /// A context on the given clock.
    pub fn with_clock(db: Db, config: ConfigRx, clock: Arc<dyn Clock>) -> Self {
        let checkouts = {
            let current = config.borrow();
            crate::solution::checkout::Checkouts::new(
                current.storage.data_dir.join("checkouts"),
                current.fix.cached_repos,
                current.fix.git_limits(),
            )
        };
        Self {
            checkouts,
            db,
            config,
            jobs_added: Arc::new(Notify::new()),
            clock,
            github: Mutex::new(None),
            repo_configs: RepoConfigs::default(),
            merge_slots: crate::fix::merge::MergeSlots::default(),
            bot_login: Mutex::new(None),
            llm: Mutex::new(None),
            known_labels: Mutex::default(),
        }
    }

    /// The configuration as of now (the newest valid one after a hot reload).
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    /// The budgeted LLM client, when one is configured (its provider has the API key it
    /// needs); `None` means "use the offline paths". Built again after a configuration change.
    pub fn llm(&self) -> Option<crate::llm::client::Llm> {
        let config = self.config();
        let mut cached = self.llm.lock().expect("llm lock");
        if let Some((built_for, llm)) = cached.as_ref()
            && Arc::ptr_eq(built_for, &config)
        {
            return llm.clone();
        }
        let llm = match crate::llm::client::Llm::from_config(
            self.db.clone(),
            config.clone(),
            self.clock.clone(),
        ) {
            Ok(llm) => Some(llm),
            Err(err) => {
                tracing::debug!("no LLM: {err}");
                None
            }
        };
        *cached = Some((config, llm.clone()));
        llm
    }

    /// Uses `llm` until the configuration changes (tests give a scripted provider this way).
    pub fn use_llm(&self, llm: crate::llm::client::Llm) {
        *self.llm.lock().expect("llm lock") = Some((self.config(), Some(llm)));
    }

    /// The login of the App's bot account (`<slug>[bot]`): from `github.app_slug` (filled in
    /// by a registered App), else asked from GitHub once.
    pub async fn bot_login(&self) -> Result<String, GithubError> {
        if let Some(slug) = &self.config().github.app_slug {
            return Ok(format!("{slug}[bot]"));
        }
        if let Some(login) = self.bot_login.lock().expect("bot login lock").clone() {
            return Ok(login);
        }
        let login = format!("{}[bot]", self.github()?.get_app().await?.slug);
        *self.bot_login.lock().expect("bot login lock") = Some(login.clone());
        Ok(login)
    }

    /// Makes sure a label exists in a repository (created with its colour and description if
    /// missing), asking GitHub once per label and repository in this process.
    pub async fn ensure_label(
        &self,
        github: &GithubClient,
        inst: crate::github::ids::InstallationId,
        repo: &crate::github::ids::RepoName,
        label: &crate::github::model::Label,
    ) -> Result<(), GithubError> {
        let key = (repo.to_string(), label.name.clone());
        if self
            .known_labels
            .lock()
            .expect("labels lock")
            .contains(&key)
        {
            return Ok(());
        }
        github.ensure_label(inst, repo, label).await?;
        self.known_labels.lock().expect("labels lock").insert(key);
        Ok(())
    }

    /// A GitHub client for repositories that have not installed the App: it holds no App
    /// credentials, so it can act only as the operator's read-only token
    /// (`GLOBALLM_GITHUB_TOKEN`, refused every write by the client) or as nobody.
    pub fn read_only_github(&self) -> Result<Arc<GithubClient>, GithubError> {
        let config = self.config();
        let mut settings = GithubIdentity::of(&config).settings();
        settings.max_rate_limit_wait = settings.max_rate_limit_wait.min(READ_ONLY_MAX_WAIT);
        let token = config
            .secrets
            .github_token
            .as_ref()
            .map(|t| t.value().clone());
        Ok(Arc::new(
            GithubClient::new(settings, None, self.clock.clone())?.with_read_token(token),
        ))
    }

    /// The GitHub client for the current configuration, built again when the App's
    /// credentials or the API settings changed (keeping tokens and ETags otherwise).
    pub fn github(&self) -> Result<Arc<GithubClient>, GithubError> {
        let identity = GithubIdentity::of(&self.config());
        let mut cached = self.github.lock().expect("github client lock");
        if let Some((built_for, client)) = cached.as_ref()
            && *built_for == identity
        {
            return Ok(client.clone());
        }
        let client = Arc::new(identity.build(self.clock.clone())?);
        *cached = Some((identity, client.clone()));
        Ok(client)
    }
}
