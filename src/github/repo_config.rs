//! A repository's own settings, `.github/globallm.yml` on its default branch: whether GlobalLM
//! acts there, its label names, how far auto-merge may go, paths never to touch, how many
//! GlobalLM pull requests may be open, which commands are enabled. Read through the ETag-
//! revalidated client and parsed again only when the file's blob sha changes. An invalid or
//! unreadable file keeps the last valid config in force; with none known, GlobalLM fails
//! closed — no automation there (triage goes on with the defaults' labels) — and says why
//! ([`RepoSettings::automation`]). Problems are reported on any pull request that changes the
//! file, and on GlobalLM's own pull requests when they stop automation.

use super::GithubClient;
use super::ids::{InstallationId, RepoName};
use crate::config::Automerge;
use crate::config::schedule::{MergeWindow, Schedule};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// Where the file lives.
pub const PATH: &str = ".github/globallm.yml";

/// The check run that reports on the file (on pull requests that change it, and on GlobalLM's
/// pull requests when the file stops automation).
pub const CONFIG_CHECK: &str = "GlobalLM config";

/// The commands a repository can enable.
pub const COMMANDS: &[&str] = &["fix", "retry", "stop", "resume", "explain", "merge", "help"];

/// `.github/globallm.yml`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepoConfig {
    /// `false` stops all automation in the repository.
    pub enabled: bool,
    /// Label names.
    pub labels: RepoLabels,
    /// The highest tier that merges itself here; it can lower the service's `risk.automerge`,
    /// never raise it.
    pub automerge: Option<Automerge>,
    /// More paths (globs) GlobalLM never changes here, beside the built-in ones.
    pub forbidden_paths: Vec<String>,
    /// How many GlobalLM pull requests may be open at once.
    pub max_open_prs: u32,
    /// The commands enabled here (all by default).
    pub commands: Vec<String>,
    /// The repository's test command, run in a sandbox before pushing (off when unset).
    pub test_command: Option<String>,
    /// Checks that must have run and passed on a GlobalLM pull request's head before it
    /// merges. Empty: the checks that ran on the base branch's last green commit.
    pub required_checks: Vec<String>,
    /// `true` stops every merge here (pull requests are still drafted and judged).
    pub freeze: bool,
    /// When GlobalLM may merge here (empty: whenever the service's schedule allows); see
    /// [`crate::config::schedule`].
    pub automerge_schedule: Vec<MergeWindow>,
    /// How GitHub merges GlobalLM's pull requests here, as the repository's settings allow.
    pub merge: MergeMethod,
}

/// `merge:` of `.github/globallm.yml`, GitHub's `merge_method`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeMethod {
    /// One commit with the whole change on the base branch.
    #[default]
    Squash,
    /// A merge commit joining the branch's commits to the base branch.
    Merge,
    /// The branch's commits replayed one by one onto the base branch.
    Rebase,
}

impl MergeMethod {
    /// GitHub's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Squash => "squash",
            MergeMethod::Merge => "merge",
            MergeMethod::Rebase => "rebase",
        }
    }
}

impl std::fmt::Display for MergeMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `labels.*` of `.github/globallm.yml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepoLabels {
    /// The label that asks GlobalLM for a fix.
    pub fix: String,
    /// The label that stops all automation on an issue or pull request.
    pub disabled: String,
    /// The label GlobalLM puts on pull requests that wait for a review.
    pub needs_review: String,
    /// The prefix of category labels (`<prefix><category>`).
    pub type_prefix: String,
    /// The prefix of priority labels (`<prefix><level>`).
    pub priority_prefix: String,
    /// On an open issue, stops every merge in the repository until it is removed or the
    /// issue closed.
    pub freeze: String,
}

impl Default for RepoLabels {
    fn default() -> Self {
        Self {
            fix: "globallm:fix".to_owned(),
            disabled: "globallm:disabled".to_owned(),
            needs_review: "globallm:needs-review".to_owned(),
            type_prefix: "globallm:type/".to_owned(),
            priority_prefix: "globallm:priority/".to_owned(),
            freeze: "globallm:freeze".to_owned(),
        }
    }
}

impl Default for RepoConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            labels: RepoLabels::default(),
            automerge: None,
            forbidden_paths: Vec::new(),
            max_open_prs: 3,
            commands: COMMANDS.iter().map(|c| (*c).to_owned()).collect(),
            test_command: None,
            required_checks: Vec::new(),
            freeze: false,
            automerge_schedule: Vec::new(),
            merge: MergeMethod::Squash,
        }
    }
}

impl RepoConfig {
    /// Parses and checks the file's text; every problem is reported, each naming its key.
    pub fn parse(text: &str) -> Result<Self, Vec<String>> {
        let value: Value =
            serde_saphyr::from_str(text).map_err(|err| vec![format!("not valid YAML: {err}")])?;
        let value = match value {
            Value::Null => Value::Object(Default::default()),
            Value::Object(_) => value,
            other => {
                return Err(vec![format!(
                    "the top level must be a mapping of keys, found `{other}`"
                )]);
            }
        };
        let mut problems = unknown_keys(&value);
        if !problems.is_empty() {
            return Err(problems);
        }
        let config: RepoConfig = serde_path_to_error::deserialize(&value).map_err(|err| {
            let key = err.path().to_string();
            vec![format!("`{key}`: {}", err.inner())]
        })?;
        if config.max_open_prs > 50 {
            problems.push(format!(
                "`max_open_prs`: {} is more than 50",
                config.max_open_prs
            ));
        }
        for command in &config.commands {
            if !COMMANDS.contains(&command.as_str()) {
                let hint = crate::config::closest(command, COMMANDS.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                problems.push(format!(
                    "`commands`: unknown command `{command}` (known: {}){hint}",
                    COMMANDS.join(", ")
                ));
            }
        }
        for (key, label) in [
            ("labels.fix", &config.labels.fix),
            ("labels.disabled", &config.labels.disabled),
            ("labels.needs_review", &config.labels.needs_review),
            ("labels.type_prefix", &config.labels.type_prefix),
            ("labels.priority_prefix", &config.labels.priority_prefix),
            ("labels.freeze", &config.labels.freeze),
        ] {
            if label.trim().is_empty() || label.chars().count() > 50 {
                problems.push(format!(
                    "`{key}`: a label name must have 1 to 50 characters"
                ));
            }
        }
        if config.required_checks.iter().any(|c| c.trim().is_empty()) {
            problems.push("`required_checks`: contains an empty check name".to_owned());
        }
        if config.forbidden_paths.iter().any(|p| p.trim().is_empty()) {
            problems.push("`forbidden_paths`: contains an empty pattern".to_owned());
        }
        if config
            .test_command
            .as_deref()
            .is_some_and(|c| c.trim().is_empty())
        {
            problems.push("`test_command`: empty (leave it out to run no tests)".to_owned());
        }
        if let Err(schedule) = Schedule::parse("automerge_schedule", &config.automerge_schedule) {
            problems.extend(schedule);
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// The highest tier that merges itself, given the service's ceiling.
    pub fn automerge(&self, service: Automerge) -> Automerge {
        self.automerge.map_or(service, |repo| repo.min(service))
    }

    /// Whether a command is enabled here.
    pub fn command_enabled(&self, verb: &str) -> bool {
        self.commands.iter().any(|c| c == verb)
    }
}

fn unknown_keys(value: &Value) -> Vec<String> {
    let defaults = serde_json::to_value(RepoConfig::default()).expect("the defaults serialize");
    let mut problems = Vec::new();
    let (Value::Object(given), Value::Object(known)) = (value, &defaults) else {
        return problems;
    };
    for (key, child) in given {
        match known.get(key) {
            None => problems.push(unknown(key, known.keys())),
            Some(Value::Object(known_child)) => {
                if let Value::Object(given_child) = child {
                    for sub in given_child.keys().filter(|k| !known_child.contains_key(*k)) {
                        problems.push(unknown(
                            &format!("{key}.{sub}"),
                            known_child
                                .keys()
                                .map(|k| format!("{key}.{k}"))
                                .collect::<Vec<_>>()
                                .iter(),
                        ));
                    }
                }
            }
            Some(_) => {}
        }
    }
    problems
}

fn unknown<'a, S: AsRef<str> + 'a>(key: &str, candidates: impl Iterator<Item = &'a S>) -> String {
    let candidates: Vec<&str> = candidates.map(AsRef::as_ref).collect();
    let hint = crate::config::closest(key, candidates.iter().copied())
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    format!("unknown key `{key}`{hint}")
}

/// A repository without the file is asked again only after this long (a 404 has no ETag to
/// revalidate cheaply).
const MISSING_TTL_MS: crate::time::Millis = 60_000;

/// Why the file's own settings are not in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigProblem {
    /// The file is invalid: every problem, each naming its key.
    Invalid(Vec<String>),
    /// GitHub did not give the file.
    Unreadable(String),
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigProblem::Invalid(problems) => {
                write!(f, "`{PATH}` is invalid: {}", problems.join("; "))
            }
            ConfigProblem::Unreadable(error) => write!(f, "`{PATH}` could not be read: {error}"),
        }
    }
}

/// A repository's settings as they stand, and whether they can be trusted to automate.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoSettings {
    /// The settings in force: the file's, the last valid ones, or the defaults.
    pub config: RepoConfig,
    /// Why the file's own settings are not in force, if so.
    pub problem: Option<ConfigProblem>,
    /// Whether `config` is a valid file's (or the absent file's defaults): false when the
    /// defaults stand in for a file GlobalLM could not use.
    pub trusted: bool,
}

impl RepoSettings {
    /// Whether GlobalLM may draft, push, re-run or merge here; `Err` says why not. Fails
    /// closed: a file GlobalLM cannot use, with no valid one known, stops automation (a
    /// repository that said `enabled: false` must not be automated after a restart).
    pub fn automation(&self) -> Result<(), String> {
        if !self.trusted {
            let problem = self
                .problem
                .as_ref()
                .map_or_else(|| format!("`{PATH}` is unusable"), ToString::to_string);
            return Err(format!(
                "{problem} — and no earlier valid version is known, so GlobalLM automates nothing here until it is fixed"
            ));
        }
        if !self.config.enabled {
            return Err("GlobalLM is disabled in this repository (`enabled: false`)".to_owned());
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Cached {
    sha: Option<String>,
    settings: RepoSettings,
    /// The last valid config this process saw.
    valid: Option<RepoConfig>,
    checked_at: crate::time::Millis,
}

/// Per-repository configs, cached by the file's blob sha.
#[derive(Debug, Default)]
pub struct RepoConfigs {
    cache: Mutex<HashMap<RepoName, Cached>>,
}

impl RepoConfigs {
    /// The config in force for `repo` (see [`RepoConfigs::settings`]); for triage, which goes
    /// on with the defaults' labels when the file is unusable.
    pub async fn get(
        &self,
        github: &GithubClient,
        inst: InstallationId,
        repo: &RepoName,
    ) -> RepoConfig {
        self.settings(github, inst, repo).await.config
    }

    /// The settings of `repo`: the file's when valid, else the last valid ones, else the
    /// defaults marked untrusted. Never fails: problems are logged and carried. A missing file
    /// is looked for again after a minute.
    pub async fn settings(
        &self,
        github: &GithubClient,
        inst: InstallationId,
        repo: &RepoName,
    ) -> RepoSettings {
        self.read(github, inst, repo, false).await
    }

    /// [`RepoConfigs::settings`] read from GitHub now, a missing file too: the last word before
    /// a merge, so an owner who just added `enabled: false` is obeyed.
    pub async fn settings_now(
        &self,
        github: &GithubClient,
        inst: InstallationId,
        repo: &RepoName,
    ) -> RepoSettings {
        self.read(github, inst, repo, true).await
    }

    async fn read(
        &self,
        github: &GithubClient,
        inst: InstallationId,
        repo: &RepoName,
        now_only: bool,
    ) -> RepoSettings {
        let cached = self
            .cache
            .lock()
            .expect("repo config lock")
            .get(repo)
            .cloned();
        let now = github.clock().now_ms();
        if let Some(cached) = cached
            .as_ref()
            .filter(|c| c.sha.is_none() && c.settings.problem.is_none())
            .filter(|c| !now_only && now - c.checked_at < MISSING_TTL_MS)
        {
            return cached.settings.clone();
        }
        let valid = cached.as_ref().and_then(|c| c.valid.clone());
        let fallback = |problem: ConfigProblem, text: Option<&str>| {
            let trusted = valid.is_some();
            let mut config = valid.clone().unwrap_or_default();
            // A broken file that still says `enabled: false` is obeyed.
            if text.is_some_and(says_disabled) {
                config.enabled = false;
            }
            RepoSettings {
                config,
                problem: Some(problem),
                trusted,
            }
        };
        let file = match github.get_file(inst, repo, PATH, None).await {
            Ok(file) => file,
            Err(err) => {
                tracing::warn!(%repo, "cannot read {PATH}: {err}");
                return fallback(ConfigProblem::Unreadable(err.to_string()), None);
            }
        };
        let Some(file) = file else {
            let settings = RepoSettings {
                config: RepoConfig::default(),
                problem: None,
                trusted: true,
            };
            self.remember(repo, None, &settings, Some(RepoConfig::default()), now);
            return settings;
        };
        if let Some(cached) = cached
            .as_ref()
            .filter(|c| c.sha.as_deref() == Some(file.sha.as_str()))
        {
            return cached.settings.clone();
        }
        let text = String::from_utf8_lossy(&file.content);
        match RepoConfig::parse(&text) {
            Ok(config) => {
                let settings = RepoSettings {
                    config: config.clone(),
                    problem: None,
                    trusted: true,
                };
                self.remember(repo, Some(file.sha), &settings, Some(config), now);
                settings
            }
            Err(problems) => {
                tracing::warn!(%repo, problems = %problems.join("; "), "{PATH} is invalid; the last valid config (if any) applies");
                let settings = fallback(ConfigProblem::Invalid(problems), Some(&text));
                self.remember(repo, Some(file.sha), &settings, valid.clone(), now);
                settings
            }
        }
    }

    fn remember(
        &self,
        repo: &RepoName,
        sha: Option<String>,
        settings: &RepoSettings,
        valid: Option<RepoConfig>,
        checked_at: crate::time::Millis,
    ) {
        self.cache.lock().expect("repo config lock").insert(
            repo.clone(),
            Cached {
                sha,
                settings: settings.clone(),
                valid,
                checked_at,
            },
        );
    }
}

/// Whether a file GlobalLM cannot use still plainly says `enabled: false` at its top level.
fn says_disabled(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.split('#').next().unwrap_or_default();
        line.split_once(':').is_some_and(|(key, value)| {
            key == "enabled" && matches!(value.trim(), "false" | "no" | "off" | "False" | "FALSE")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_or_missing_file_means_the_defaults() {
        assert_eq!(RepoConfig::parse("").expect("valid"), RepoConfig::default());
        assert_eq!(
            RepoConfig::parse("# nothing\n").expect("valid"),
            RepoConfig::default()
        );
    }

    #[test]
    fn a_full_file_is_read() {
        let config = RepoConfig::parse(
            "enabled: false\nlabels:\n  fix: please-fix\nautomerge: low\nforbidden_paths: [\"vendor/**\"]\nmax_open_prs: 1\ncommands: [explain, help]\ntest_command: make test\n",
        )
        .expect("valid");
        assert!(!config.enabled);
        assert_eq!(config.labels.fix, "please-fix");
        assert_eq!(
            config.labels.disabled, "globallm:disabled",
            "unset labels keep their default"
        );
        assert_eq!(config.automerge(Automerge::Medium), Automerge::Low);
        assert_eq!(config.forbidden_paths, ["vendor/**"]);
        assert!(config.command_enabled("help") && !config.command_enabled("merge"));
        assert_eq!(config.test_command.as_deref(), Some("make test"));
    }

    #[test]
    fn a_repository_can_lower_automerge_but_not_raise_it() {
        let config = RepoConfig::parse("automerge: medium\n").expect("valid");
        assert_eq!(config.automerge(Automerge::Low), Automerge::Low);
        assert_eq!(config.automerge(Automerge::None), Automerge::None);
    }

    #[test]
    fn every_problem_is_named() {
        let problems =
            RepoConfig::parse("enabeld: true\nlabels:\n  fixx: x\n").expect_err("invalid");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("`enabeld`") && problems[0].contains("did you mean `enabled`?"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("`labels.fixx`") && problems[1].contains("`labels.fix`"),
            "{problems:?}"
        );

        let problems = RepoConfig::parse("automerge: sometimes\n").expect_err("invalid");
        assert!(
            problems[0].contains("`automerge`") && problems[0].contains("sometimes"),
            "{problems:?}"
        );
        let problems =
            RepoConfig::parse("commands: [fix, mergee]\nmax_open_prs: 99\n").expect_err("invalid");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems.iter().any(|p| p.contains("did you mean `merge`?")),
            "{problems:?}"
        );
        assert!(RepoConfig::parse("- a list\n").expect_err("invalid")[0].contains("mapping"));
        assert!(
            RepoConfig::parse("enabled: [\n").expect_err("invalid")[0].contains("not valid YAML")
        );
    }

    #[test]
    fn merge_windows_and_the_merge_method_are_read_and_checked() {
        let config = RepoConfig::parse(
            "merge: rebase\nautomerge_schedule:\n  - cron: \"* 9-17 * * Mon-Fri\"\n    utc_offset: \"+01:00\"\n",
        )
        .expect("valid");
        assert_eq!(config.merge, MergeMethod::Rebase);
        assert_eq!(config.automerge_schedule[0].utc_offset, "+01:00");
        assert_eq!(RepoConfig::default().merge, MergeMethod::Squash);

        let problems = RepoConfig::parse("merge: fast-forward\n").expect_err("not a method");
        assert!(
            problems[0].starts_with("`merge`: unknown variant `fast-forward`"),
            "{problems:?}"
        );
        let problems = RepoConfig::parse(
            "automerge_schedule:\n  - cron: \"9-17 * * Mon-Fri\"\n    timezone: Europe/Berlin\n",
        )
        .expect_err("an unknown key");
        assert!(problems[0].contains("timezone"), "{problems:?}");
        let problems = RepoConfig::parse(
            "automerge_schedule:\n  - cron: \"9-17 * * Mon-Fri\"\n    utc_offset: Europe/Berlin\n",
        )
        .expect_err("invalid");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("`automerge_schedule[0].cron`"));
        assert!(problems[1].starts_with("`automerge_schedule[0].utc_offset`"));
    }
}
