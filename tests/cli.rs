//! The operator's commands, run as the real binary: `replay`, `jobs`, and the guard against two
//! services on one database.

mod common;

use common::Setup;
use std::path::Path;
use std::process::{Command, Output};

fn globallm(setup: &Setup, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_globallm"))
        .args(args)
        .env_clear()
        .envs(&setup.env)
        .output()
        .expect("the binary runs")
}

fn fixture_path(event: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/webhooks")
        .join(format!("{event}.json"))
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_signs_and_sends_a_payload_as_github_would() {
    let setup = Setup::new();
    let service = setup.start().await;
    let url = service.url("/webhook");

    let output = globallm(
        &setup,
        &[
            "replay",
            &fixture_path("ping"),
            "--event",
            "ping",
            "--url",
            &url,
            "--delivery",
            "replayed-1",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with("202 Accepted replayed-1"), "{stdout}");

    // Sent again with the same id, it is a duplicate.
    let output = globallm(
        &setup,
        &[
            "replay",
            &fixture_path("ping"),
            "--event",
            "ping",
            "--url",
            &url,
            "--delivery",
            "replayed-1",
        ],
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("\"duplicate\""));

    // Signed with another secret, GlobalLM refuses it and replay says so.
    let setup_other = Setup::new().with_env("OTHER_SECRET", "wrong");
    let output = globallm(
        &setup_other,
        &[
            "replay",
            &fixture_path("ping"),
            "--event",
            "ping",
            "--url",
            &url,
            "--secret-env",
            "OTHER_SECRET",
        ],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("401"));

    let output = globallm(
        &setup_other,
        &[
            "replay",
            &fixture_path("ping"),
            "--event",
            "ping",
            "--url",
            &url,
            "--secret-env",
            "NOT_SET",
        ],
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("NOT_SET is not set"));
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_commands_show_dead_jobs_and_requeue_them() {
    let setup = Setup::new();
    let service = setup.start().await;
    service
        .deliver("issues", br#"{"action":"opened","issue":{}}"#)
        .await;
    service.wait_until_idle().await;
    service.stop().await;

    let output = globallm(&setup, &["jobs", "dead"]);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        table.contains("process_delivery") && table.contains("dead"),
        "{table}"
    );
    assert!(
        table.contains("does not parse"),
        "the last error is shown: {table}"
    );

    let output = globallm(&setup, &["jobs", "dead", "--json"]);
    let dead: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let id = dead[0]["id"].as_i64().expect("an id");

    let output = globallm(&setup, &["jobs", "show", &id.to_string()]);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("delivery") && shown.contains("issues.opened"),
        "{shown}"
    );

    assert!(
        String::from_utf8_lossy(&globallm(&setup, &["jobs", "list"]).stdout)
            .contains("The queue is empty")
    );
    let output = globallm(&setup, &["jobs", "retry", &id.to_string()]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("Job {id} requeued")));
    let listed = String::from_utf8_lossy(&globallm(&setup, &["jobs", "list"]).stdout).into_owned();
    assert!(
        listed.contains("ready") && listed.contains("0/8"),
        "{listed}"
    );

    let output = globallm(&setup, &["jobs", "show", "9999"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("there is no job 9999"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_service_on_the_same_database_is_refused() {
    // On PostgreSQL a second `serve` is a replica (see `tests/crash.rs`).
    let setup = Setup::on_sqlite();
    let service = setup.start().await;
    let output = globallm(&setup, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("another `globallm serve` is running"),
        "{stderr}"
    );
    service.stop().await;
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn serve_keeps_its_files_private_and_logs_only_the_setup_tokens_path() {
    use std::io::{BufRead as _, BufReader};
    let setup = Setup::on_sqlite();
    let mut child = Command::new(env!("CARGO_BIN_EXE_globallm"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_clear()
        .envs(&setup.env)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the binary runs");
    let mut log = String::new();
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    for line in lines.by_ref() {
        let line = line.expect("a log line");
        log.push_str(&line);
        log.push('\n');
        if log.contains("listening on") && log.contains("setup-token") {
            break;
        }
    }
    let data = setup.dir.path().join("data");
    let token_file = data.join("setup-token");
    let token = std::fs::read_to_string(&token_file).expect("the setup token is written");
    let modes = [
        (data.clone(), 0o700),
        (data.join("checkouts"), 0o700),
        (data.join("globallm.db"), 0o600),
        (data.join("globallm.db-wal"), 0o600),
        (data.join("globallm.db.lock"), 0o600),
        (token_file.clone(), 0o600),
    ];
    child.kill().expect("stopped");
    child.wait().expect("reaped");
    for line in lines {
        log.push_str(&line.unwrap_or_default());
    }

    assert!(
        log.contains(&token_file.display().to_string()),
        "the token's path is logged: {log}"
    );
    assert_eq!(
        log.matches("setup-token").count(),
        1,
        "the path is logged once: {log}"
    );
    assert!(
        !log.contains(token.trim()),
        "the token itself never is: {log}"
    );
    for (path, expected) in modes {
        assert_eq!(mode(&path), expected, "{}", path.display());
    }
}

fn store_app(setup: &Setup) -> std::path::PathBuf {
    let data = setup.dir.path().join("data");
    let credentials: globallm::github::app::AppCredentials =
        serde_json::from_value(serde_json::json!({
            "id": 4242, "slug": "our-globallm", "pem": "-----BEGIN…", "webhook_secret": "s",
            "client_secret": "c"
        }))
        .expect("credentials");
    credentials.store(&data).expect("stored")
}

#[test]
fn app_reset_says_what_it_removes_and_asks_first() {
    let setup = Setup::new().without_env("GLOBALLM_WEBHOOK_SECRET");
    let stored = store_app(&setup);
    assert_eq!(mode(&stored), 0o600);

    // No terminal to ask on and no --yes: nothing is removed.
    let output = Command::new(env!("CARGO_BIN_EXE_globallm"))
        .args(["app", "reset"])
        .env_clear()
        .envs(&setup.env)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains(&stored.display().to_string())
            && stdout.contains("our-globallm")
            && stdout.contains("4242")
            && stdout.contains("private key"),
        "it says exactly what goes: {stdout}"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--yes"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stored.exists(), "nothing removed without confirmation");

    let output = globallm(&setup, &["app", "reset", "--yes"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Removed"));
    assert!(!stored.exists());

    let output = globallm(&setup, &["app", "reset", "--yes"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("Nothing to remove"));
}

#[tokio::test]
async fn db_copy_moves_a_served_installation_and_refuses_to_copy_twice() {
    // An installation that served deliveries on its SQLite file…
    let source = Setup::on_sqlite();
    let service = source.start().await;
    for event in ["issues", "ping"] {
        let (status, answer) = service.deliver(event, &common::fixture(event)).await;
        assert_eq!(status, 202, "{answer}");
    }
    service.wait_until_idle().await;
    service.stop().await;
    let from = format!("sqlite://{}", source.db_path().display());

    // …copied to the backend the tests run on (a new PostgreSQL database, or another file).
    let target = Setup::new();
    let to = match target.db_location() {
        globallm::db::Location::Postgres(url) => url,
        globallm::db::Location::Sqlite(path) => format!("sqlite://{}", path.display()),
    };
    let output = globallm(&target, &["db", "copy", "--from", &from, "--to", &to]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("deliveries"), "{stdout}");
    assert!(
        stdout.contains("every table holds as many rows as the source"),
        "{stdout}"
    );
    assert!(!stdout.contains("PASSWORD"), "{stdout}");
    let copied = target.db().await;
    assert_eq!(common::count(&copied, "deliveries").await, 2);

    let again = globallm(&target, &["db", "copy", "--from", &from, "--to", &to]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("not empty"), "{stderr}");
}
