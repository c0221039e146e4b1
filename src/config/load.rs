//! Loading the configuration: defaults, then the YAML file, then the environment, then
//! command-line flags, each layer over the one before; unknown keys are errors with the
//! closest valid key suggested; secrets come only from the environment or from files.

use super::{Config, LogFormat, Secret, Secrets, validate};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Environment variables that name one configuration key each.
const ENV_ALIASES: &[(&str, &str)] = &[
    ("GLOBALLM_LISTEN", "server.listen"),
    ("GLOBALLM_PUBLIC_URL", "server.public_url"),
    ("GLOBALLM_DATA_DIR", "storage.data_dir"),
    ("GLOBALLM_DATABASE_URL", "storage.database_url"),
    ("GLOBALLM_GITHUB_APP_ID", "github.app_id"),
    (
        "GLOBALLM_GITHUB_PRIVATE_KEY_PATH",
        "github.private_key_path",
    ),
    ("GLOBALLM_GITHUB_API_URL", "github.api_url"),
    ("GLOBALLM_LOG_FORMAT", "logging.format"),
];

/// `GLOBALLM_*` variables that are not configuration keys.
const ENV_NOT_KEYS: &[&str] = &[
    "GLOBALLM_CONFIG",
    ENV_WEBHOOK_SECRET,
    ENV_WEBHOOK_SECRET_PREVIOUS,
    ENV_GITHUB_PRIVATE_KEY,
    ENV_DASHBOARD_TOKEN,
    ENV_METRICS_TOKEN,
    ENV_LIBRARIES_IO_API_KEY,
    ENV_GITHUB_TOKEN,
];

/// The webhook secret.
pub const ENV_WEBHOOK_SECRET: &str = "GLOBALLM_WEBHOOK_SECRET";
/// The previous webhook secret, accepted too while a rotation is under way.
pub const ENV_WEBHOOK_SECRET_PREVIOUS: &str = "GLOBALLM_WEBHOOK_SECRET_PREVIOUS";
/// The App's private key, PEM.
pub const ENV_GITHUB_PRIVATE_KEY: &str = "GLOBALLM_GITHUB_PRIVATE_KEY";
/// The token that opens the web dashboard.
pub const ENV_DASHBOARD_TOKEN: &str = "GLOBALLM_DASHBOARD_TOKEN";
/// The bearer token Prometheus sends to `/metrics`.
pub const ENV_METRICS_TOKEN: &str = "GLOBALLM_METRICS_TOKEN";

/// A read-only GitHub token for reports on repositories that have not installed the App.
pub const ENV_GITHUB_TOKEN: &str = "GLOBALLM_GITHUB_TOKEN";

/// The libraries.io API key.
pub const ENV_LIBRARIES_IO_API_KEY: &str = "GLOBALLM_LIBRARIES_IO_API_KEY";

/// Keys that hold secrets: refused in the file, with the way to set them instead.
const SECRET_KEYS: &[(&str, &str)] = &[
    (
        "github.webhook_secret",
        "set GLOBALLM_WEBHOOK_SECRET or github.webhook_secret_file",
    ),
    (
        "github.webhook_secret_previous",
        "set GLOBALLM_WEBHOOK_SECRET_PREVIOUS or github.webhook_secret_previous_file",
    ),
    (
        "server.dashboard_token",
        "set GLOBALLM_DASHBOARD_TOKEN or server.dashboard_token_file",
    ),
    (
        "server.metrics_token",
        "set GLOBALLM_METRICS_TOKEN or server.metrics_token_file",
    ),
    (
        "github.private_key",
        "set GLOBALLM_GITHUB_PRIVATE_KEY or github.private_key_path",
    ),
    (
        "llm.api_key",
        "set the environment variable llm.api_key_env names (ANTHROPIC_API_KEY or OPENAI_API_KEY by default)",
    ),
];

/// What went wrong while loading the configuration. Each message names the key, the value
/// and where it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid YAML, or not a mapping.
    #[error("config file {path} is not valid: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the line and column.
        message: String,
    },
    /// A key that does not exist.
    #[error("unknown config key `{key}` (from {origin}){}", suggestion_text(.suggestion))]
    UnknownKey {
        /// The key as written, dotted.
        key: String,
        /// The file or environment variable it came from.
        origin: String,
        /// The closest valid key, when one is close.
        suggestion: Option<String>,
    },
    /// A value of the wrong type or out of range.
    #[error("config key `{key}` (from {origin}): value {value} is invalid: {reason}")]
    Invalid {
        /// The key, dotted.
        key: String,
        /// The offending value as written.
        value: String,
        /// Why it is refused.
        reason: String,
        /// The file, environment variable, flag or default it came from.
        origin: String,
    },
    /// The credentials the manifest flow stored (`<data dir>/github-app.json`) cannot be read.
    #[error(
        "the registered GitHub App's credentials cannot be used: {reason}; \
         `globallm app reset` removes them"
    )]
    AppCredentials {
        /// The data directory holding them.
        data_dir: PathBuf,
        /// Why they cannot be read.
        reason: String,
    },
    /// A secret in the config file.
    #[error("config key `{key}` holds a secret and is not read from {path}: {how}")]
    SecretInFile {
        /// The key.
        key: String,
        /// The file.
        path: PathBuf,
        /// How to set it instead.
        how: &'static str,
    },
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// Settings given as command-line flags; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`
    pub listen: Option<SocketAddr>,
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--log-format`
    pub log_format: Option<LogFormat>,
}

/// Everything the configuration is made from: the file's location, the environment (captured
/// once, so nothing else reads it) and the flags.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `--config PATH`, when given.
    pub explicit_path: Option<PathBuf>,
    /// The process environment.
    pub env: BTreeMap<String, String>,
    /// Command-line flags.
    pub overrides: Overrides,
}

/// A loaded configuration and the file it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The effective configuration.
    pub config: Config,
    /// The config file's path, whether or not it exists.
    pub path: PathBuf,
    /// Whether the file existed.
    pub file_found: bool,
}

impl Sources {
    /// Sources from this process's environment and the given flags.
    pub fn from_process(explicit_path: Option<PathBuf>, overrides: Overrides) -> Self {
        Self {
            explicit_path,
            env: std::env::vars().collect(),
            overrides,
        }
    }

    /// One environment variable, when set and not empty.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The config file: `--config`, else `GLOBALLM_CONFIG`, else
    /// `$XDG_CONFIG_HOME/globallm/config.yaml` (default `~/.config/globallm/config.yaml`).
    pub fn config_path(&self) -> PathBuf {
        if let Some(path) = &self.explicit_path {
            return path.clone();
        }
        if let Some(path) = self.env_var("GLOBALLM_CONFIG") {
            return PathBuf::from(path);
        }
        self.xdg_dir("XDG_CONFIG_HOME", ".config")
            .join("globallm")
            .join("config.yaml")
    }

    /// Whether the user named the config file (so a missing file is an error).
    fn path_is_explicit(&self) -> bool {
        self.explicit_path.is_some() || self.env_var("GLOBALLM_CONFIG").is_some()
    }

    fn xdg_dir(&self, var: &str, fallback_under_home: &str) -> PathBuf {
        match (self.env_var(var), self.env_var("HOME")) {
            (Some(dir), _) => PathBuf::from(dir),
            (None, Some(home)) => Path::new(home).join(fallback_under_home),
            (None, None) => PathBuf::from(fallback_under_home),
        }
    }

    /// Reads the config file (missing is fine unless it was named) and builds the configuration.
    pub fn load(&self) -> Result<Loaded, ConfigError> {
        let path = self.config_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !self.path_is_explicit() => {
                None
            }
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        let config = self.build(&path, text.as_deref())?;
        Ok(Loaded {
            config,
            file_found: text.is_some(),
            path,
        })
    }

    /// Builds the configuration from `text` as the content of the file at `path`.
    pub fn build(&self, path: &Path, text: Option<&str>) -> Result<Config, ConfigError> {
        let mut defaults = serde_json::to_value(Config::default())
            .expect("the default configuration serializes to JSON");
        let data_dir = self
            .xdg_dir("XDG_DATA_HOME", ".local/share")
            .join("globallm");
        set_path(
            &mut defaults,
            &["storage", "data_dir"],
            Value::String(data_dir.display().to_string()),
        );

        let mut origins = BTreeMap::new();
        let mut merged = defaults.clone();
        let file_origin = path.display().to_string();
        if let Some(text) = text {
            let file = parse_file(path, text)?;
            check_secrets_absent(&file, path)?;
            check_known_keys(&file, &defaults, &defaults, &mut Vec::new(), &file_origin)?;
            merge(
                &mut merged,
                file,
                &mut Vec::new(),
                &file_origin,
                &mut origins,
            );
        }
        for (name, key, value) in self.env_layer(&defaults)? {
            let origin = format!("environment variable {name}");
            origins.insert(key.clone(), origin);
            let segments: Vec<&str> = key.split('.').collect();
            set_path(&mut merged, &segments, value);
        }
        self.flag_layer(&mut merged, &mut origins);

        let mut config: Config = serde_path_to_error::deserialize(&merged).map_err(|err| {
            let key = dotted_path(err.path());
            let value = lookup(&merged, &key).map(show_value).unwrap_or_default();
            ConfigError::Invalid {
                origin: origin_of(&origins, &key),
                value,
                reason: err.inner().to_string(),
                key,
            }
        })?;
        expand_home_paths(&mut config, self.env_var("HOME"));
        validate::validate(&config).map_err(|invalid| ConfigError::Invalid {
            origin: origin_of(&origins, invalid.key),
            // A refused `*api_key_env` may be a key pasted where its variable's name belongs.
            value: if invalid.key.ends_with("api_key_env") {
                "(not shown)".to_owned()
            } else {
                lookup(&merged, invalid.key)
                    .map(show_value)
                    .unwrap_or_default()
            },
            key: invalid.key.to_owned(),
            reason: invalid.reason,
        })?;
        config.secrets = self.read_secrets(&config)?;
        apply_registered_app(&mut config)?;
        Ok(config)
    }

    /// `(variable, dotted key, value)` for every `GLOBALLM_*` variable that sets a key.
    fn env_layer(&self, defaults: &Value) -> Result<Vec<(String, String, Value)>, ConfigError> {
        let mut layer = Vec::new();
        for (name, raw) in &self.env {
            let Some(rest) = name.strip_prefix("GLOBALLM_") else {
                continue;
            };
            if ENV_NOT_KEYS.contains(&name.as_str()) {
                continue;
            }
            let key = match ENV_ALIASES.iter().find(|(alias, _)| alias == name) {
                Some((_, key)) => (*key).to_owned(),
                None if rest.contains("__") => rest.to_lowercase().replace("__", "."),
                None => {
                    let known: Vec<&str> = ENV_ALIASES
                        .iter()
                        .map(|(alias, _)| *alias)
                        .chain(ENV_NOT_KEYS.iter().copied())
                        .collect();
                    return Err(ConfigError::UnknownKey {
                        key: name.clone(),
                        origin: "the environment".to_owned(),
                        suggestion: closest(name, known.iter().copied()).map(str::to_owned),
                    });
                }
            };
            let default = lookup(defaults, &key);
            if default.is_none() || default.is_some_and(Value::is_object) {
                return Err(ConfigError::UnknownKey {
                    suggestion: closest(&key, leaf_keys(defaults).iter().map(String::as_str))
                        .map(|k| format!("GLOBALLM_{}", k.to_uppercase().replace('.', "__"))),
                    key: name.clone(),
                    origin: "the environment".to_owned(),
                });
            }
            let value = if default.is_some_and(Value::is_string) {
                Value::String(raw.clone())
            } else {
                parse_scalar(raw)
            };
            layer.push((name.clone(), key, value));
        }
        Ok(layer)
    }

    fn flag_layer(&self, merged: &mut Value, origins: &mut BTreeMap<String, String>) {
        let flags = &self.overrides;
        let mut set = |key: &str, flag: &str, value: Value| {
            let segments: Vec<&str> = key.split('.').collect();
            set_path(merged, &segments, value);
            origins.insert(key.to_owned(), format!("flag {flag}"));
        };
        if let Some(listen) = flags.listen {
            set(
                "server.listen",
                "--listen",
                Value::String(listen.to_string()),
            );
        }
        if let Some(dir) = &flags.data_dir {
            set(
                "storage.data_dir",
                "--data-dir",
                Value::String(dir.display().to_string()),
            );
        }
        if let Some(format) = flags.log_format {
            let value = serde_json::to_value(format).expect("a log format serializes");
            set("logging.format", "--log-format", value);
        }
    }

    fn read_secrets(&self, config: &Config) -> Result<Secrets, ConfigError> {
        let github = &config.github;
        Ok(Secrets {
            webhook: self.secret(
                ENV_WEBHOOK_SECRET,
                "github.webhook_secret_file",
                github.webhook_secret_file.as_deref(),
            )?,
            webhook_previous: self.secret(
                ENV_WEBHOOK_SECRET_PREVIOUS,
                "github.webhook_secret_previous_file",
                github.webhook_secret_previous_file.as_deref(),
            )?,
            github_private_key: self.secret(
                ENV_GITHUB_PRIVATE_KEY,
                "github.private_key_path",
                github.private_key_path.as_deref(),
            )?,
            dashboard_token: self.secret(
                ENV_DASHBOARD_TOKEN,
                "server.dashboard_token_file",
                config.server.dashboard_token_file.as_deref(),
            )?,
            metrics_token: self.secret(
                ENV_METRICS_TOKEN,
                "server.metrics_token_file",
                config.server.metrics_token_file.as_deref(),
            )?,
            llm_api_key: self.env_secret(config.llm.primary().api_key_env.as_deref()),
            llm_fallback_api_key: self
                .env_secret(config.llm.fallback().and_then(|f| f.api_key_env).as_deref()),
            libraries_io_api_key: self.env_secret(Some(ENV_LIBRARIES_IO_API_KEY)),
            github_token: self.env_secret(Some(ENV_GITHUB_TOKEN)),
        })
    }

    /// A secret from the environment variable a key names (LLM API keys), when set.
    fn env_secret(&self, env: Option<&str>) -> Option<Secret> {
        let env = env?;
        self.env_var(env)
            .map(|value| Secret::new(value, format!("environment variable {env}")))
    }

    /// A secret from its environment variable, else from the file a key names.
    fn secret(
        &self,
        env: &str,
        file_key: &str,
        file: Option<&Path>,
    ) -> Result<Option<Secret>, ConfigError> {
        if let Some(value) = self.env_var(env) {
            return Ok(Some(Secret::new(
                value,
                format!("environment variable {env}"),
            )));
        }
        let Some(file) = file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(file).map_err(|err| ConfigError::Invalid {
            key: file_key.to_owned(),
            value: format!("\"{}\"", file.display()),
            reason: format!("cannot read the file: {err}"),
            origin: "the configuration".to_owned(),
        })?;
        let value = text.trim_end_matches(['\r', '\n']);
        if value.is_empty() {
            return Err(ConfigError::Invalid {
                key: file_key.to_owned(),
                value: format!("\"{}\"", file.display()),
                reason: "the file is empty".to_owned(),
                origin: "the configuration".to_owned(),
            });
        }
        Ok(Some(Secret::new(value, format!("file {}", file.display()))))
    }
}

/// Fills in what the environment and the file left unset from the App the manifest flow
/// registered (`<data dir>/github-app.json`): its id, slug, private key and webhook secret.
fn apply_registered_app(config: &mut Config) -> Result<(), ConfigError> {
    use crate::github::app::AppCredentials;
    let data_dir = config.storage.data_dir.clone();
    let credentials =
        AppCredentials::load(&data_dir).map_err(|reason| ConfigError::AppCredentials {
            data_dir: data_dir.clone(),
            reason,
        })?;
    let Some(app) = credentials else {
        return Ok(());
    };
    let source = format!("file {}", AppCredentials::path(&data_dir).display());
    let github = &mut config.github;
    let secrets = &mut config.secrets;
    // Only the App the file describes: a configured App id that differs keeps its own.
    if github.app_id.is_some_and(|id| id != app.id) {
        return Ok(());
    }
    github.app_id = Some(app.id);
    github.app_slug.get_or_insert(app.slug);
    if secrets.github_private_key.is_none() {
        secrets.github_private_key = Some(Secret::new(app.pem, source.clone()));
    }
    if secrets.webhook.is_none() {
        secrets.webhook = Some(Secret::new(app.webhook_secret, source));
    }
    Ok(())
}

/// Splits `key=value` as given to `config --set`; the value is read as YAML
/// (`2000` is a number, `[python, go]` a list).
pub fn parse_assignment(assignment: &str) -> Result<(String, Value), String> {
    let (key, raw) = assignment
        .split_once('=')
        .ok_or_else(|| format!("`{assignment}` is not of the form key=value"))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(format!("`{key}` is not a dotted config key"));
    }
    Ok((key.to_owned(), parse_scalar(raw.trim())))
}

fn parse_file(path: &Path, text: &str) -> Result<Value, ConfigError> {
    let value: Value = serde_saphyr::from_str(text).map_err(|err| ConfigError::Syntax {
        path: path.to_owned(),
        message: err.to_string(),
    })?;
    match value {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(_) => Ok(value),
        other => Err(ConfigError::Syntax {
            path: path.to_owned(),
            message: format!(
                "the top level must be a mapping of keys, found {}",
                show_value(&other)
            ),
        }),
    }
}

fn parse_scalar(raw: &str) -> Value {
    serde_saphyr::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

fn check_secrets_absent(file: &Value, path: &Path) -> Result<(), ConfigError> {
    for (key, how) in SECRET_KEYS {
        if lookup(file, key).is_some() {
            return Err(ConfigError::SecretInFile {
                key: (*key).to_owned(),
                path: path.to_owned(),
                how,
            });
        }
    }
    Ok(())
}

fn check_known_keys(
    value: &Value,
    defaults: &Value,
    root: &Value,
    prefix: &mut Vec<String>,
    origin: &str,
) -> Result<(), ConfigError> {
    let (Value::Object(given), Value::Object(known)) = (value, defaults) else {
        return Ok(());
    };
    for (key, child) in given {
        prefix.push(key.clone());
        match known.get(key) {
            Some(default) => check_known_keys(child, default, root, prefix, origin)?,
            None => {
                let dotted = prefix.join(".");
                let siblings = known.keys().map(|k| {
                    let mut path = prefix[..prefix.len() - 1].to_vec();
                    path.push(k.clone());
                    path.join(".")
                });
                let siblings: Vec<String> = siblings.collect();
                let all = leaf_keys(root);
                let suggestion = closest(&dotted, siblings.iter().map(String::as_str))
                    .or_else(|| closest(&dotted, all.iter().map(String::as_str)))
                    .map(str::to_owned);
                return Err(ConfigError::UnknownKey {
                    key: dotted,
                    origin: origin.to_owned(),
                    suggestion,
                });
            }
        }
        prefix.pop();
    }
    Ok(())
}

fn merge(
    base: &mut Value,
    layer: Value,
    prefix: &mut Vec<String>,
    origin: &str,
    origins: &mut BTreeMap<String, String>,
) {
    match (base, layer) {
        (Value::Object(base), Value::Object(layer)) => {
            for (key, value) in layer {
                prefix.push(key.clone());
                match base.get_mut(&key) {
                    Some(slot) if slot.is_object() && value.is_object() => {
                        merge(slot, value, prefix, origin, origins);
                    }
                    _ => {
                        origins.insert(prefix.join("."), origin.to_owned());
                        base.insert(key, value);
                    }
                }
                prefix.pop();
            }
        }
        (base, layer) => *base = layer,
    }
}

/// Every dotted key of the tree, objects included.
fn leaf_keys(tree: &Value) -> Vec<String> {
    fn walk(value: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Value::Object(map) = value {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                out.push(path.clone());
                walk(child, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(tree, "", &mut out);
    out
}

/// The candidate closest to `wanted` by edit distance, when it is close enough to be a typo.
pub(crate) fn closest<'a>(
    wanted: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    candidates
        .map(|candidate| {
            (
                strsim::levenshtein(&wanted_lower, &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

pub(super) fn lookup<'a>(tree: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted
        .split('.')
        .try_fold(tree, |node, segment| node.as_object()?.get(segment))
}

pub(super) fn set_path(tree: &mut Value, segments: &[&str], value: Value) {
    let Some((last, parents)) = segments.split_last() else {
        *tree = value;
        return;
    };
    let mut node = tree;
    for segment in parents {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        node = node
            .as_object_mut()
            .expect("just made an object")
            .entry(segment.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    node.as_object_mut()
        .expect("just made an object")
        .insert((*last).to_owned(), value);
}

fn dotted_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

fn origin_of(origins: &BTreeMap<String, String>, key: &str) -> String {
    let key = key.split('[').next().unwrap_or(key);
    origins
        .iter()
        .filter(|(set, _)| key == set.as_str() || key.starts_with(&format!("{set}.")))
        .max_by_key(|(set, _)| set.len())
        .map(|(_, origin)| origin.clone())
        .unwrap_or_else(|| "the defaults".to_owned())
}

fn show_value(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 80 {
        format!("{}…", &text[..text.floor_char_boundary(80)])
    } else {
        text
    }
}

fn expand_home_paths(config: &mut Config, home: Option<&str>) {
    let Some(home) = home else { return };
    let expand = |path: &mut PathBuf| {
        if let Ok(rest) = path.strip_prefix("~") {
            *path = Path::new(home).join(rest);
        }
    };
    expand(&mut config.storage.data_dir);
    let github = &mut config.github;
    for path in [
        config.storage.database.as_mut(),
        github.private_key_path.as_mut(),
        github.webhook_secret_file.as_mut(),
        github.webhook_secret_previous_file.as_mut(),
        config.server.dashboard_token_file.as_mut(),
        config.server.metrics_token_file.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        expand(path);
    }
}
