//! Configuration: defaults, the file, the environment and flags in order; clear errors for bad
//! values and unknown keys; secrets kept out of files and output; hot reload; `config --set`.

mod common;

use common::Setup;
use globallm::config::watch::Reloader;
use globallm::config::{ConfigError, Language, Overrides};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

#[test]
fn with_no_file_every_default_of_the_brief_applies() {
    let setup = Setup::new();
    let loaded = setup.sources().load().expect("defaults load");
    assert!(!loaded.file_found);
    let config = loaded.config;
    assert_eq!(
        config.server.listen,
        "127.0.0.1:3000".parse::<SocketAddr>().expect("addr")
    );
    assert_eq!(config.filter.min_stars, 1000);
    assert_eq!(config.filter.min_dependents, 100);
    assert_eq!(config.discovery.languages, Language::ALL);
    assert_eq!(config.discovery.schedule, "0 3 * * *");
    assert_eq!(config.budget.tokens_per_repo, 100_000);
    assert_eq!(config.budget.seconds_per_repo, 3_600);
    assert_eq!(config.budget.fix_attempts_per_repo, 5);
    assert_eq!(config.budget.fix_attempts_per_language, 50);
    assert_eq!(config.budget.tokens_total, 5_000_000);
    assert_eq!(config.scoring.category_weights.security, 10.0);
    assert_eq!(config.scoring.category_weights.question, 0.5);
    assert_eq!(config.scoring.health.contributor_count.threshold, 5_000.0);
    assert!(config.scoring.health.updated_since.smaller_is_better);
    assert_eq!(config.risk.low_max_complexity, 3);
    assert!(
        config
            .risk
            .forbidden_paths
            .iter()
            .any(|p| p == ".github/workflows/**")
    );
    assert_eq!(config.jobs.workers, 4);
    assert_eq!(config.github.api_url, "https://api.github.com");
    assert_eq!(
        config.database_path(),
        setup.dir.path().join("data/globallm.db"),
        "GLOBALLM_DATA_DIR names the data directory"
    );
}

#[test]
fn the_data_directory_defaults_to_the_xdg_data_home() {
    let setup = Setup::new().without_env("GLOBALLM_DATA_DIR");
    let config = setup.sources().load().expect("loads").config;
    assert_eq!(
        config.database_path(),
        setup.dir.path().join(".local/share/globallm/globallm.db")
    );
    let setup = setup.with_env("XDG_DATA_HOME", "/srv/xdg");
    let config = setup.sources().load().expect("loads").config;
    assert_eq!(config.storage.data_dir, PathBuf::from("/srv/xdg/globallm"));
}

#[test]
fn flags_win_over_the_environment_which_wins_over_the_file() {
    let setup = Setup::new().without_env("GLOBALLM_DATA_DIR");
    setup.write_config(
        "server:\n  listen: 127.0.0.1:4000\nfilter:\n  min_stars: 2500\n  min_dependents: 7\nstorage:\n  data_dir: ~/from-file\n",
    );
    let config = setup.sources().load().expect("loads").config;
    assert_eq!(config.server.listen.port(), 4000);
    assert_eq!(config.filter.min_stars, 2500);
    assert_eq!(
        config.storage.data_dir,
        setup.dir.path().join("from-file"),
        "~ expands"
    );

    let setup = setup
        .with_env("GLOBALLM_LISTEN", "127.0.0.1:5000")
        .with_env("GLOBALLM_FILTER__MIN_STARS", "3000")
        .with_env("GLOBALLM_DATA_DIR", "/srv/env-data");
    let config = setup.sources().load().expect("loads").config;
    assert_eq!(config.server.listen.port(), 5000);
    assert_eq!(config.filter.min_stars, 3000);
    assert_eq!(
        config.filter.min_dependents, 7,
        "keys the environment does not set keep the file's value"
    );
    assert_eq!(config.storage.data_dir, PathBuf::from("/srv/env-data"));

    let mut sources = setup.sources();
    sources.overrides = Overrides {
        listen: Some("127.0.0.1:6000".parse().expect("addr")),
        data_dir: Some(PathBuf::from("/srv/flag-data")),
        log_format: None,
    };
    let config = sources.load().expect("loads").config;
    assert_eq!(config.server.listen.port(), 6000);
    assert_eq!(config.storage.data_dir, PathBuf::from("/srv/flag-data"));
}

#[test]
fn the_config_path_comes_from_the_flag_the_environment_or_xdg() {
    let setup = Setup::new();
    assert_eq!(setup.sources().config_path(), setup.config_path());
    let setup = setup.with_env("GLOBALLM_CONFIG", "/etc/globallm.yaml");
    assert_eq!(
        setup.sources().config_path(),
        PathBuf::from("/etc/globallm.yaml")
    );
    let mut sources = setup.sources();
    sources.explicit_path = Some(PathBuf::from("/tmp/mine.yaml"));
    assert_eq!(sources.config_path(), PathBuf::from("/tmp/mine.yaml"));
    let err = sources.load().expect_err("a named file must exist");
    assert!(err.to_string().contains("/tmp/mine.yaml"), "{err}");
}

#[test]
fn a_bad_value_names_the_key_the_value_and_why() {
    let setup = Setup::new();
    setup.write_config("filter:\n  min_stars: lots\n");
    let err = setup.sources().load().expect_err("refused");
    let message = err.to_string();
    assert!(message.contains("`filter.min_stars`"), "{message}");
    assert!(message.contains("\"lots\""), "{message}");
    assert!(message.contains("config.yaml"), "names the file: {message}");

    setup.write_config("jobs:\n  workers: 0\n");
    let message = setup.sources().load().expect_err("refused").to_string();
    assert!(
        message.contains("`jobs.workers`") && message.contains("between 1 and 256"),
        "{message}"
    );

    setup.write_config("discovery:\n  languages: [python, cobol]\n");
    let message = setup.sources().load().expect_err("refused").to_string();
    assert!(
        message.contains("discovery.languages[1]") && message.contains("cobol"),
        "{message}"
    );

    setup.write_config("discovery:\n  schedule: every night\n");
    let message = setup.sources().load().expect_err("refused").to_string();
    assert!(
        message.contains("`discovery.schedule`") && message.contains("cron"),
        "{message}"
    );

    let setup = Setup::new().with_env("GLOBALLM_JOBS__WORKERS", "many");
    let message = setup.sources().load().expect_err("refused").to_string();
    assert!(
        message.contains("GLOBALLM_JOBS__WORKERS"),
        "names the variable: {message}"
    );
}

#[test]
fn a_broken_file_says_where() {
    let setup = Setup::new();
    setup.write_config("filter:\n  min_stars: 10\n   min_dependents: [\n");
    let err = setup.sources().load().expect_err("refused");
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
    assert!(err.to_string().contains("line"), "{err}");
}

#[test]
fn an_unknown_key_is_an_error_with_the_closest_valid_key() {
    let setup = Setup::new();
    setup.write_config("filter:\n  min_star: 10\n");
    let message = setup.sources().load().expect_err("refused").to_string();
    assert!(
        message.contains("unknown config key `filter.min_star`"),
        "{message}"
    );
    assert!(
        message.contains("did you mean `filter.min_stars`?"),
        "{message}"
    );

    setup.write_config("serve:\n  listen: 127.0.0.1:1\n");
    let message = setup.sources().load().expect_err("refused").to_string();
    assert!(message.contains("did you mean `server`?"), "{message}");

    let setup = Setup::new().with_env("GLOBALLM_FILTER__MIN_STAR", "10");
    let message = setup.sources().load().expect_err("refused").to_string();
    assert!(
        message.contains("did you mean `GLOBALLM_FILTER__MIN_STARS`?"),
        "{message}"
    );

    let setup = Setup::new().with_env("GLOBALLM_LISTN", "127.0.0.1:1");
    let message = setup.sources().load().expect_err("refused").to_string();
    assert!(
        message.contains("did you mean `GLOBALLM_LISTEN`?"),
        "{message}"
    );
}

#[test]
fn secrets_are_refused_in_the_file_and_read_from_the_environment_or_a_file() {
    let setup = Setup::new();
    setup.write_config("github:\n  webhook_secret: hunter2\n");
    let message = setup.sources().load().expect_err("refused").to_string();
    assert!(message.contains("GLOBALLM_WEBHOOK_SECRET"), "{message}");
    assert!(
        !message.contains("hunter2"),
        "never echoes the secret: {message}"
    );

    let secret_file = setup.dir.path().join("secret");
    std::fs::write(&secret_file, "from-a-file\n").expect("written");
    setup.write_config(&format!(
        "github:\n  webhook_secret_file: {}\n",
        secret_file.display()
    ));
    let setup = setup.without_env("GLOBALLM_WEBHOOK_SECRET");
    let config = setup.sources().load().expect("loads").config;
    let secret = config.secrets.webhook.as_ref().expect("read from the file");
    assert!(secret.source().contains("secret"), "{}", secret.source());
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(secret.value()),
        "from-a-file",
        "the trailing newline is not part of it"
    );
    assert!(
        !format!("{config:?}").contains("from-a-file"),
        "Debug never shows a secret"
    );
}

#[tokio::test]
async fn a_changed_file_is_applied_and_an_invalid_one_keeps_the_running_config() {
    let setup = Setup::new();
    setup.write_config("filter:\n  min_stars: 1500\n");
    let loaded = setup.sources().load().expect("loads");
    let (reloader, mut config) = Reloader::new(setup.sources(), loaded.config);
    let stop = tokio_util::sync::CancellationToken::new();
    let watcher = reloader
        .watch(stop.clone())
        .expect("the config directory exists");
    assert_eq!(config.borrow_and_update().filter.min_stars, 1500);

    setup.write_config("filter:\n  min_stars: 1750\n");
    tokio::time::timeout(Duration::from_secs(10), config.changed())
        .await
        .expect("reloaded within 10 s")
        .expect("the watcher is alive");
    assert_eq!(config.borrow_and_update().filter.min_stars, 1750);

    // An invalid file, then a valid one: only the valid one is ever published.
    setup.write_config("filter:\n  min_stars: -5\n");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !config.has_changed().expect("alive"),
        "the invalid file was not applied"
    );
    assert_eq!(config.borrow().filter.min_stars, 1750);
    setup.write_config("filter:\n  min_stars: 1800\n");
    tokio::time::timeout(Duration::from_secs(10), config.changed())
        .await
        .expect("reloaded within 10 s")
        .expect("the watcher is alive");
    assert_eq!(config.borrow().filter.min_stars, 1800);
    stop.cancel();
    watcher.await.expect("the watcher stops");
}

fn globallm(setup: &Setup, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_globallm"))
        .args(args)
        .env_clear()
        .envs(&setup.env)
        .output()
        .expect("the binary runs")
}

#[test]
fn config_set_validates_then_changes_one_key_keeping_the_rest_of_the_file() {
    let setup = Setup::new();
    let original =
        "# my settings\nfilter:\n  min_stars: 1000   # the default\n  min_dependents: 100\n";
    setup.write_config(original);

    let output = globallm(&setup, &["config", "--set", "filter.min_stars=2000"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written = std::fs::read_to_string(setup.config_path()).expect("readable");
    assert_eq!(
        written,
        original.replace("min_stars: 1000", "min_stars: 2000")
    );

    let output = globallm(&setup, &["config", "--set", "filter.min_stars=-1"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("filter.min_stars"), "{stderr}");
    let output = globallm(&setup, &["config", "--set", "filter.min_starz=5"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("did you mean `filter.min_stars`?"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(setup.config_path()).expect("readable"),
        original.replace("min_stars: 1000", "min_stars: 2000"),
        "refused changes leave the file alone"
    );
}

#[test]
fn config_show_redacts_secrets_and_config_path_prints_the_path() {
    let setup = Setup::new().with_env(
        "GLOBALLM_DATABASE_URL",
        "postgres://globallm:db-pass-word@db.internal:5432/globallm",
    );
    let output = globallm(&setup, &["config", "--show"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(shown.contains("min_stars: 1000"), "{shown}");
    assert!(
        shown.contains("webhook_secret: set, from environment variable GLOBALLM_WEBHOOK_SECRET"),
        "{shown}"
    );
    assert!(!shown.contains(common::SECRET), "{shown}");
    assert!(
        shown.contains("database_url: postgres://globallm:***@db.internal:5432/globallm"),
        "{shown}"
    );
    assert!(!shown.contains("db-pass-word"), "{shown}");

    let output = globallm(&setup, &["config", "--show", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["config"]["filter"]["min_stars"], 1000);
    assert_eq!(json["secrets"]["webhook_secret"]["set"], true);
    assert!(!String::from_utf8_lossy(&output.stdout).contains(common::SECRET));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("db-pass-word"));

    let output = globallm(&setup, &["config", "--path"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        setup.config_path().display().to_string()
    );
}
