//! The typed configuration: every setting with its default, read once from YAML, the
//! environment and command-line flags (see [`load`]), validated, and hot-reloaded by [`watch`].

mod edit;
mod llm;
mod load;
pub mod schedule;
mod scoring;
mod secret;
mod validate;
pub mod watch;

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

pub use edit::set_in_yaml;
pub use llm::*;
pub(crate) use load::closest;
pub use load::{ConfigError, Loaded, Overrides, Sources, parse_assignment};
pub use scoring::*;
pub use secret::{Secret, Secrets};

/// The whole configuration. Every field has a default, so an empty file (or none) is valid.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The HTTP server.
    pub server: ServerConfig,
    /// Where GlobalLM keeps its data.
    pub storage: StorageConfig,
    /// The GitHub App and the GitHub API.
    pub github: GithubConfig,
    /// The durable job queue and its workers.
    pub jobs: JobsConfig,
    /// Log output.
    pub logging: LoggingConfig,
    /// Which repositories are important enough to look at.
    pub filter: FilterConfig,
    /// The nightly discovery run.
    pub discovery: DiscoveryConfig,
    /// Token, time and attempt caps on LLM work (DESIGN §7).
    pub budget: BudgetConfig,
    /// Weights and thresholds of the scores (DESIGN §5).
    pub scoring: ScoringConfig,
    /// The auto-merge risk policy (DESIGN §6).
    pub risk: RiskConfig,
    /// Drafting fixes and driving their pull requests.
    pub fix: FixConfig,
    /// Issue triage.
    pub triage: TriageConfig,
    /// `/globallm` commands.
    pub commands: CommandsConfig,
    /// The LLM provider, its fallback, retries and prices.
    pub llm: LlmConfig,
    /// Secrets, read only from the environment or from files; never serialized.
    #[serde(skip)]
    pub secrets: Secrets,
}

impl GithubConfig {
    /// The web root: `web_url`, else `https://github.com` for the public API, else the
    /// Enterprise Server's root (`https://HOST` for `https://HOST/api/v3`).
    pub fn web_root(&self) -> String {
        if let Some(web) = &self.web_url {
            return web.trim_end_matches('/').to_owned();
        }
        let api = self.api_url.trim_end_matches('/');
        if api == "https://api.github.com" {
            return "https://github.com".to_owned();
        }
        api.strip_suffix("/api/v3").unwrap_or(api).to_owned()
    }
}

impl Config {
    /// Where the database is: `storage.database_url`, else the SQLite file
    /// [`Config::database_path`].
    pub fn database_location(&self) -> anyhow::Result<crate::db::Location> {
        match &self.storage.database_url {
            Some(url) => crate::db::Location::parse(url),
            None => Ok(crate::db::Location::Sqlite(self.database_path())),
        }
    }

    /// The SQLite database file: `storage.database`, or `globallm.db` in the data directory.
    pub fn database_path(&self) -> PathBuf {
        self.storage
            .database
            .clone()
            .unwrap_or_else(|| self.storage.data_dir.join("globallm.db"))
    }
}

/// `server.*`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on (`GLOBALLM_LISTEN`, `--listen`).
    pub listen: SocketAddr,
    /// The public URL GitHub reaches this service at (`GLOBALLM_PUBLIC_URL`); used for the App
    /// manifest's webhook and redirect URLs, and to mark cookies `Secure` when it is https.
    pub public_url: Option<String>,
    /// A file holding the token that opens `/`, `/dashboard` and `/metrics` (or
    /// `GLOBALLM_DASHBOARD_TOKEN`). Without one they are served only to loopback clients that
    /// did not come through a proxy.
    pub dashboard_token_file: Option<PathBuf>,
    /// A file holding the bearer token Prometheus sends to `/metrics` (or
    /// `GLOBALLM_METRICS_TOKEN`).
    pub metrics_token_file: Option<PathBuf>,
    /// The longest a request may take from its headers to its answer, in seconds (`408`).
    pub request_timeout_secs: u64,
    /// The longest a client may take to send a request's headers, and the longest it may
    /// pause while sending its body, in seconds; slower connections are closed.
    pub read_timeout_secs: u64,
    /// Requests handled at once (health checks aside); beyond it a request is answered `503`
    /// with `Retry-After` at once.
    pub max_concurrent_requests: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: None,
            dashboard_token_file: None,
            metrics_token_file: None,
            request_timeout_secs: 30,
            read_timeout_secs: 10,
            max_concurrent_requests: 512,
        }
    }
}

impl ServerConfig {
    /// Whether browsers reach the service over https (`server.public_url`), so cookies it
    /// sets are marked `Secure`.
    pub fn is_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.to_ascii_lowercase().starts_with("https://"))
    }
}

/// `storage.*`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// The data directory (`GLOBALLM_DATA_DIR`, `--data-dir`); default
    /// `$XDG_DATA_HOME/globallm`, i.e. `~/.local/share/globallm`.
    pub data_dir: PathBuf,
    /// The SQLite database file; default `<data_dir>/globallm.db`.
    pub database: Option<PathBuf>,
    /// Where the state is kept (`GLOBALLM_DATABASE_URL`): `sqlite://PATH` or `postgres://…`.
    /// Unset, the SQLite file above. Several `serve` replicas can share one PostgreSQL database.
    /// Shown with its password replaced by `***`.
    #[serde(serialize_with = "serialize_database_url")]
    pub database_url: Option<String>,
    /// How long a database write waits for another process's lock, in milliseconds.
    pub busy_timeout_ms: u64,
    /// Days history is kept: processed deliveries, dead jobs, command runs, redelivery
    /// requests, closed budget windows and discovery runs older than this are pruned daily.
    pub retention_days: u32,
}

fn serialize_database_url<S: serde::Serializer>(
    url: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    url.as_deref()
        .map(crate::db::redact_url)
        .serialize(serializer)
}

impl StorageConfig {
    /// Where localization keeps each tree's index (`<data dir>/index`): private, it holds
    /// every file's identifiers and string literals.
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            // Replaced by the XDG default when the configuration is loaded.
            data_dir: PathBuf::from("globallm-data"),
            database: None,
            database_url: None,
            busy_timeout_ms: 5_000,
            retention_days: 30,
        }
    }
}

/// `github.*`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GithubConfig {
    /// The REST API root (`GLOBALLM_GITHUB_API_URL`); `https://HOST/api/v3` for GitHub
    /// Enterprise Server.
    pub api_url: String,
    /// The web root (`https://github.com`, or the Enterprise Server's); derived from
    /// `api_url` when unset.
    pub web_url: Option<String>,
    /// The GitHub App's id (`GLOBALLM_GITHUB_APP_ID`).
    pub app_id: Option<u64>,
    /// The App's slug (its URL name); its bot account is `<slug>[bot]`. Filled in from the
    /// registered App, else asked from GitHub.
    pub app_slug: Option<String>,
    /// The App's private key, a PEM file (`GLOBALLM_GITHUB_PRIVATE_KEY_PATH`).
    pub private_key_path: Option<PathBuf>,
    /// A file holding the webhook secret, as an alternative to `GLOBALLM_WEBHOOK_SECRET`.
    pub webhook_secret_file: Option<PathBuf>,
    /// A file holding the previous webhook secret, accepted during a rotation.
    pub webhook_secret_previous_file: Option<PathBuf>,
    /// Retries after a GitHub 5xx, timeout or connection error.
    pub max_retries: u32,
    /// The first such retry's delay in milliseconds, doubled for each further one (jittered).
    pub retry_base_ms: u64,
    /// How long one GitHub request may take, in seconds.
    pub request_timeout_secs: u64,
    /// The longest a call waits for a rate limit to reset before the job is retried later.
    pub max_rate_limit_wait_secs: u64,
    /// The least time between two writes of one installation, in milliseconds (GitHub asks
    /// for a second, to stay under its content-creation limits).
    pub write_interval_ms: u64,
    /// The most bytes one GitHub answer's body may have; a longer one fails the call with
    /// an error saying so instead of being read into memory.
    pub max_response_bytes: u64,
    /// How often failed webhook deliveries are looked for in the App's delivery log and
    /// redelivered, in seconds (0: never).
    pub catch_up_interval_secs: u64,
}

impl Default for GithubConfig {
    fn default() -> Self {
        Self {
            api_url: "https://api.github.com".to_owned(),
            web_url: None,
            app_id: None,
            app_slug: None,
            private_key_path: None,
            webhook_secret_file: None,
            webhook_secret_previous_file: None,
            max_retries: 3,
            retry_base_ms: 1_000,
            request_timeout_secs: 30,
            max_rate_limit_wait_secs: 900,
            write_interval_ms: 1_000,
            max_response_bytes: 32 * 1024 * 1024,
            catch_up_interval_secs: 600,
        }
    }
}

/// `jobs.*`: the job queue's workers and retry policy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Jobs run at once.
    pub workers: u32,
    /// Attempts before a job is dead-lettered.
    pub max_attempts: u32,
    /// Delay before the first retry; doubled on each further failure, with jitter.
    pub backoff_base_secs: u64,
    /// The longest delay between two attempts.
    pub backoff_max_secs: u64,
    /// How long a claimed job is leased to its worker; renewed while it runs. A job whose lease
    /// expired (its worker died) is claimed again.
    pub lease_secs: u64,
    /// How often idle workers look for jobs that no wake-up announced (retries coming due,
    /// jobs requeued from the CLI), in milliseconds.
    pub poll_interval_ms: u64,
    /// On shutdown, how long running jobs may take to finish before they are left to be
    /// claimed again at the next start.
    pub shutdown_deadline_secs: u64,
    /// The longest one attempt of a job may run, in seconds: then it is stopped, its lease is
    /// no longer renewed, and it is dead-lettered with the reason.
    pub max_run_secs: u64,
    /// The same for the nightly discovery, which checkpoints its progress and takes hours.
    pub discovery_max_run_secs: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            max_attempts: 8,
            backoff_base_secs: 5,
            backoff_max_secs: 3_600,
            lease_secs: 300,
            poll_interval_ms: 1_000,
            shutdown_deadline_secs: 30,
            max_run_secs: 3_600,
            discovery_max_run_secs: 23 * 3_600,
        }
    }
}

/// `fix.*`: drafting fixes and driving their pull requests through CI.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FixConfig {
    /// Drafting attempts per fix (the first answer and the answers to validation errors).
    pub max_attempts: u32,
    /// Repair attempts after CI failed on the change, per pull request.
    pub max_repairs: u32,
    /// Re-runs of a failure that looks like CI infrastructure, per pull request.
    pub max_reruns: u32,
    /// Seconds of work a fix attempt reserves in the budget.
    pub attempt_seconds: u64,
    /// Repositories kept in the checkout cache (`<data dir>/checkouts`).
    pub cached_repos: usize,
    /// Whether the LLM re-ranks the localized files before drafting (`localize_files`: one
    /// more call per fix, its tokens counted in the same budget).
    pub rerank: bool,
    /// Whether a repository's `test_command` (from `.github/globallm.yml`) runs in the sandbox
    /// before a change is accepted: a throw-away copy of the work tree inside bubblewrap, no
    /// network, no secrets, bounded time and memory.
    pub run_tests: bool,
    /// How the test command is isolated; without isolation it is refused unless this is
    /// `none`.
    pub sandbox: SandboxMode,
    /// Memory the test command may use (its data segment: heap and private mappings), MiB.
    pub sandbox_memory_mb: u64,
    /// Directories the test command may read besides the system's (`/usr`, `/bin`, `/lib*`,
    /// a few files of `/etc`): toolchains installed elsewhere, such as `/opt/jdk`. Never the
    /// data directory.
    pub sandbox_paths: Vec<PathBuf>,
    /// The longest one git command (clone, fetch, push, …) may run, in seconds; then its
    /// process group is killed and the fix fails saying so.
    pub git_timeout_secs: u64,
    /// The most a repository's checkout cache may take on disk, in MiB; a clone or fetch
    /// that grows past it is stopped and the cache removed.
    pub max_repo_mb: u64,
}

impl FixConfig {
    /// The bounds git runs under.
    pub fn git_limits(&self) -> crate::solution::checkout::GitLimits {
        crate::solution::checkout::GitLimits {
            timeout: std::time::Duration::from_secs(self.git_timeout_secs),
            max_repo_bytes: self.max_repo_mb.saturating_mul(1024 * 1024),
        }
    }
}

/// `fix.sandbox`: how a repository's test command is isolated.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum SandboxMode {
    /// Inside bubblewrap (`bwrap`), or not at all when it cannot run here.
    #[default]
    Bubblewrap,
    /// Unsafe: the command runs with the service's file system and network (only the
    /// environment is cleared). For machines without user namespaces, at the operator's risk.
    None,
}

impl Default for FixConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            max_repairs: 1,
            max_reruns: 1,
            attempt_seconds: 600,
            cached_repos: 20,
            rerank: false,
            run_tests: false,
            sandbox: SandboxMode::Bubblewrap,
            sandbox_memory_mb: 4_096,
            sandbox_paths: Vec::new(),
            git_timeout_secs: 600,
            max_repo_mb: 1024,
        }
    }
}

/// `logging.*`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// `pretty` for people, `json` for log collectors (`--log-format`).
    pub format: LogFormat,
    /// A tracing filter directive, e.g. `info` or `globallm=debug,info` (`RUST_LOG` wins).
    pub filter: String,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info".to_owned(),
        }
    }
}

/// The log output format.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// `filter.*`: a repository matters when `stars > min_stars OR dependents > min_dependents`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FilterConfig {
    /// Stars above which a repository is kept.
    pub min_stars: u64,
    /// Dependent packages above which a repository is kept.
    pub min_dependents: u64,
}

impl Default for FilterConfig {
    fn default() -> Self {
        Self {
            min_stars: 1_000,
            min_dependents: 100,
        }
    }
}

/// The ecosystems GlobalLM covers.
#[derive(
    Debug,
    Clone,
    Copy,
    Serialize,
    Deserialize,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Python (PyPI).
    Python,
    /// JavaScript and TypeScript (npm).
    Javascript,
    /// Go (Go modules).
    Go,
    /// Rust (crates.io).
    Rust,
    /// Java (Maven Central).
    Java,
}

impl Language {
    /// The name used in configuration, `--language` and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Javascript => "javascript",
            Language::Go => "go",
            Language::Rust => "rust",
            Language::Java => "java",
        }
    }

    /// The ecosystem of a repository's GitHub language (`TypeScript` is `javascript`), when
    /// it is one GlobalLM covers.
    pub fn from_github(language: &str) -> Option<Self> {
        match language.to_lowercase().as_str() {
            "python" => Some(Language::Python),
            "javascript" | "typescript" => Some(Language::Javascript),
            "go" => Some(Language::Go),
            "rust" => Some(Language::Rust),
            "java" => Some(Language::Java),
            _ => None,
        }
    }

    /// Every supported language.
    pub const ALL: [Language; 5] = [
        Language::Python,
        Language::Javascript,
        Language::Go,
        Language::Rust,
        Language::Java,
    ];
}

/// `discovery.*`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// When the nightly run starts: a cron expression, UTC.
    pub schedule: String,
    /// The ecosystems discovered.
    pub languages: Vec<Language>,
    /// The least time between two GitHub search calls, in milliseconds (search allows 30
    /// calls a minute to an authenticated client: 2,000 ms keeps under it).
    pub search_interval_ms: u64,
    /// Repositories per batched GraphQL health query.
    pub graphql_batch: usize,
    /// Pages of 100 packages read per ecosystem from ecosyste.ms's packages by dependents, to
    /// find the repositories that pass the filter by dependents alone (0: none).
    pub dependents_pages: u32,
    /// The package registries and aggregators, each with its base URL and its own pace.
    pub registries: RegistriesConfig,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            schedule: "0 3 * * *".to_owned(),
            languages: Language::ALL.to_vec(),
            search_interval_ms: 2_000,
            graphql_batch: 50,
            dependents_pages: 50,
            registries: RegistriesConfig::default(),
        }
    }
}

/// `discovery.registries.*`: where each registry is and how politely it is asked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RegistriesConfig {
    /// The `User-Agent` sent to every registry (crates.io asks for one that says who calls
    /// and how to reach them).
    pub user_agent: String,
    /// Retries of a registry call after a 429, a 5xx or no answer.
    pub max_retries: u32,
    /// How long one registry request may take, in seconds.
    pub request_timeout_secs: u64,
    /// The most bytes one registry answer's body may have; a longer one is an error.
    pub max_response_bytes: u64,
    /// PyPI's JSON API (`/pypi/<name>/json`).
    pub pypi: RegistryEndpoint,
    /// The npm registry (`/<name>`).
    pub npm: RegistryEndpoint,
    /// npm's downloads API (`/downloads/point/last-month/<name>`).
    pub npm_downloads: RegistryEndpoint,
    /// crates.io (`/api/v1/crates/<name>` and its `reverse_dependencies`); one request a second.
    pub crates_io: RegistryEndpoint,
    /// pkg.go.dev (`/<module>?tab=importedby`).
    pub go: RegistryEndpoint,
    /// Maven Central's search (`/solrsearch/select`).
    pub maven_search: RegistryEndpoint,
    /// Maven Central's repository (POM files).
    pub maven_repo: RegistryEndpoint,
    /// deps.dev (dependents counts, resolved dependencies).
    pub deps_dev: RegistryEndpoint,
    /// ecosyste.ms packages (dependents, repository to packages).
    pub ecosystems: RegistryEndpoint,
    /// libraries.io (dependents), with its key from `GLOBALLM_LIBRARIES_IO_API_KEY`; skipped
    /// without one.
    pub libraries_io: RegistryEndpoint,
}

/// One registry: its base URL and the least time between two of its requests.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryEndpoint {
    /// The base URL.
    pub url: String,
    /// The least time between two requests, in milliseconds.
    pub interval_ms: u64,
}

impl Default for RegistryEndpoint {
    fn default() -> Self {
        Self {
            url: String::new(),
            interval_ms: 1_000,
        }
    }
}

fn endpoint(url: &str, interval_ms: u64) -> RegistryEndpoint {
    RegistryEndpoint {
        url: url.to_owned(),
        interval_ms,
    }
}

impl Default for RegistriesConfig {
    fn default() -> Self {
        Self {
            user_agent: concat!(
                "globallm/",
                env!("CARGO_PKG_VERSION"),
                " (nightly discovery of critical open-source repositories)"
            )
            .to_owned(),
            max_retries: 2,
            request_timeout_secs: 30,
            max_response_bytes: 64 * 1024 * 1024,
            pypi: endpoint("https://pypi.org", 200),
            npm: endpoint("https://registry.npmjs.org", 100),
            npm_downloads: endpoint("https://api.npmjs.org", 200),
            crates_io: endpoint("https://crates.io", 1_000),
            go: endpoint("https://pkg.go.dev", 1_000),
            maven_search: endpoint("https://search.maven.org", 1_000),
            maven_repo: endpoint("https://repo1.maven.org/maven2", 200),
            deps_dev: endpoint("https://api.deps.dev", 100),
            ecosystems: endpoint("https://packages.ecosyste.ms", 500),
            libraries_io: endpoint("https://libraries.io", 1_000),
        }
    }
}

/// `budget.*`: caps per window (a week starting at `window_start_weekday`
/// `window_start_hour`:00 UTC).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    /// The weekday a budget window starts on (`monday` … `sunday`).
    pub window_start_weekday: Weekday,
    /// The hour (UTC, 0–23) a budget window starts at.
    pub window_start_hour: u32,
    /// LLM tokens per repository per window.
    pub tokens_per_repo: u64,
    /// Seconds of work per repository per window.
    pub seconds_per_repo: u64,
    /// Fix attempts per repository per window.
    pub fix_attempts_per_repo: u32,
    /// Fix attempts per language per window.
    pub fix_attempts_per_language: u32,
    /// LLM tokens per window, all repositories together.
    pub tokens_total: u64,
    /// How long a reservation holds its share of the caps when it is neither settled nor
    /// released (its worker crashed), in seconds.
    pub reservation_ttl_secs: u64,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            window_start_weekday: Weekday::Monday,
            window_start_hour: 0,
            tokens_per_repo: 100_000,
            seconds_per_repo: 3_600,
            fix_attempts_per_repo: 5,
            fix_attempts_per_language: 50,
            tokens_total: 5_000_000,
            reservation_ttl_secs: 3_600,
        }
    }
}

/// A day of the week.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[expect(missing_docs, reason = "the variants are the days of the week")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// `triage.*`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TriageConfig {
    /// Open issues triaged when the App is installed on a repository (oldest first; 0: none).
    pub backfill_issues: usize,
}

impl Default for TriageConfig {
    fn default() -> Self {
        Self {
            backfill_issues: 50,
        }
    }
}

/// `commands.*`: how often one user may run `/globallm` commands in one repository.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CommandsConfig {
    /// Commands one user may run in one repository per window (0: no limit). Past it the
    /// user gets one reply saying so, then the window's further commands are ignored.
    pub rate_limit: u32,
    /// The window, in seconds.
    pub rate_window_secs: u64,
}

impl Default for CommandsConfig {
    fn default() -> Self {
        Self {
            rate_limit: 20,
            rate_window_secs: 3_600,
        }
    }
}

/// `risk.*` (DESIGN §6).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// The highest tier that merges itself: `none`, `low` or `medium`. A repository's own
    /// `.github/globallm.yml` can only lower it.
    pub automerge: Automerge,
    /// Complexity up to which a change can be LOW.
    pub low_max_complexity: u8,
    /// Complexity up to which a change can be MEDIUM.
    pub medium_max_complexity: u8,
    /// Complexity up to which a change can be HIGH; above is CRITICAL.
    pub high_max_complexity: u8,
    /// Public symbols a change may add and still be a minor (MEDIUM) API change; more is a
    /// significant one (HIGH). Changing the signature of one is significant (HIGH); removing one is breaking (CRITICAL).
    pub minor_api_max_symbols: u32,
    /// Paths (globs) GlobalLM never changes; a change touching one is CRITICAL.
    pub forbidden_paths: Vec<String>,
    /// The ceiling a repository starts with before GlobalLM has a record there: `none`, `low`
    /// or `medium` (earned autonomy, `src/fix/autonomy.rs`).
    pub initial_ceiling: Automerge,
    /// Merged GlobalLM pull requests in a row with no revert that raise a repository's earned
    /// ceiling one tier.
    pub promote_after: u32,
    /// How long the post-merge guard watches the base branch's checks on a merge commit.
    pub guard_hours: u32,
    /// How often the post-merge guard looks again at the merges it watches, whether or not a
    /// CI event came (0: only on events).
    pub guard_recheck_secs: u64,
    /// When GlobalLM may merge anywhere (empty: at any time). A repository's own
    /// `automerge_schedule` narrows it further: a merge needs both open.
    pub automerge_schedule: Vec<schedule::MergeWindow>,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            automerge: Automerge::Medium,
            low_max_complexity: 3,
            medium_max_complexity: 5,
            high_max_complexity: 7,
            minor_api_max_symbols: 2,
            forbidden_paths: [
                ".github/workflows/**",
                ".github/actions/**",
                "**/*.pem",
                "**/*.key",
                "**/.env",
                "**/.env.*",
                "**/secrets/**",
            ]
            .map(str::to_owned)
            .to_vec(),
            initial_ceiling: Automerge::Low,
            promote_after: 5,
            guard_hours: 24,
            guard_recheck_secs: 900,
            automerge_schedule: Vec::new(),
        }
    }
}

/// The highest risk tier that merges itself.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Automerge {
    /// Nothing merges itself.
    None,
    /// LOW merges itself.
    Low,
    /// LOW and MEDIUM merge themselves.
    Medium,
}
