//! The sandbox against a hostile test command: what it may not read, reach or write. Tests
//! that need bubblewrap skip with a message where it cannot run, except in CI (`CI=true`),
//! where they fail.

use super::*;

fn options(timeout_ms: u64) -> SandboxOptions {
    SandboxOptions {
        timeout: Duration::from_millis(timeout_ms),
        ..SandboxOptions::default()
    }
}

/// Whether bubblewrap runs on this machine; in CI it must.
pub(crate) async fn bwrap_here() -> bool {
    match check(&SandboxOptions::default()).await {
        Ok(()) => true,
        Err(err) => {
            let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!in_ci, "CI must run the sandbox tests, but: {err}");
            eprintln!("skipped: {err}");
            false
        }
    }
}

/// A work tree with a tracked-looking file and a `.git` directory.
fn work_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.py"), "x = 1\n").expect("write");
    std::fs::create_dir_all(dir.path().join(".git/hooks")).expect("mkdir");
    std::fs::write(dir.path().join(".git/config"), "[core]\n").expect("write");
    dir
}

#[tokio::test]
async fn a_passing_and_a_failing_command_with_their_output() {
    if !bwrap_here().await {
        return;
    }
    let dir = work_tree();
    let run = run_tests(dir.path(), "cat a.py; echo oops >&2", &options(60_000))
        .await
        .expect("runs");
    assert!(run.passed(), "{run:?}");
    assert!(run.sandboxed);
    assert!(
        run.output.contains("x = 1") && run.output.contains("oops"),
        "{run:?}"
    );
    let run = run_tests(dir.path(), "exit 3", &options(60_000))
        .await
        .expect("runs");
    assert_eq!(run.outcome, Outcome::Failed(Some(3)));
}

#[tokio::test]
async fn the_environment_holds_no_secret() {
    if !bwrap_here().await {
        return;
    }
    // Neither the service's own environment nor another process's (`/proc` is its own).
    let dir = work_tree();
    let run = run_tests(
        dir.path(),
        "env | cut -d= -f1 | sort | tr '\\n' ' '; cat /proc/*/environ | tr '\\0' '\\n' | grep -c CARGO || true",
        &options(60_000),
    )
    .await
    .expect("runs");
    let mut words: Vec<&str> = run.output.split_whitespace().collect();
    assert_eq!(
        words.pop(),
        Some("0"),
        "another process's environment: {run:?}"
    );
    for name in &words {
        assert!(
            [
                "PATH", "HOME", "TMPDIR", "LANG", "CI", "PWD", "SHLVL", "_", "OLDPWD"
            ]
            .contains(name),
            "unexpected variable {name} in {words:?}"
        );
    }
}

#[tokio::test]
async fn a_command_past_its_timeout_is_killed() {
    if !bwrap_here().await {
        return;
    }
    let dir = work_tree();
    let run = run_tests(dir.path(), "sleep 30", &options(300))
        .await
        .expect("runs");
    assert_eq!(run.outcome, Outcome::TimedOut);
    assert!(run.elapsed < Duration::from_secs(10));
}

#[tokio::test]
async fn a_hostile_test_cannot_read_a_secret_outside_the_work_tree() {
    if !bwrap_here().await {
        return;
    }
    // A fake App key in a data directory beside the checkout, named by its absolute path and
    // through a symlink committed in the tree.
    let data = tempfile::tempdir().expect("tempdir");
    let key = data.path().join("github-app.json");
    std::fs::write(&key, "FAKE-APP-KEY-51c2").expect("write");
    let dir = work_tree();
    std::os::unix::fs::symlink(&key, dir.path().join("key.json")).expect("symlink");
    let command = format!("cat '{}'; cat key.json; true", key.display());
    let run = run_tests(dir.path(), &command, &options(60_000))
        .await
        .expect("runs");
    assert!(run.passed(), "{run:?}");
    assert!(!run.output.contains("FAKE-APP-KEY"), "{run:?}");
    assert!(run.output.contains("No such file"), "{run:?}");
}

#[tokio::test]
async fn a_hostile_test_cannot_reach_the_network() {
    if !bwrap_here().await {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let dir = work_tree();
    let command = format!(
        "bash -c 'echo hello > /dev/tcp/127.0.0.1/{port}' && echo CONNECTED; curl -sS -m 5 http://127.0.0.1:{port}/ && echo CONNECTED; true"
    );
    let run = run_tests(dir.path(), &command, &options(60_000))
        .await
        .expect("runs");
    assert!(!run.output.contains("CONNECTED"), "{run:?}");
    match listener.accept() {
        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the test command reached the listener: {other:?}"),
    }
}

#[tokio::test]
async fn a_hostile_test_writes_only_its_throw_away_copy() {
    if !bwrap_here().await {
        return;
    }
    let dir = work_tree();
    let tree = dir.path().display().to_string();
    let command = format!(
        "echo STOLEN >> a.py; echo junk > junk.txt; mkdir -p .git/hooks; echo 'touch /tmp/x' > .git/hooks/pre-push; echo '[alias]' >> .git/config; echo STOLEN >> '{tree}/a.py'; true"
    );
    let run = run_tests(dir.path(), &command, &options(60_000))
        .await
        .expect("runs");
    assert!(run.passed(), "{run:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.py")).expect("read"),
        "x = 1\n"
    );
    assert!(!dir.path().join("junk.txt").exists());
    assert!(!dir.path().join(".git/hooks/pre-push").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".git/config")).expect("read"),
        "[core]\n"
    );
    let siblings: Vec<_> = std::fs::read_dir(dir.path().parent().expect("parent"))
        .expect("list")
        .flatten()
        .filter(|e| {
            e.file_name().to_string_lossy().starts_with(&format!(
                "{}.tests-",
                dir.path().file_name().expect("name").to_string_lossy()
            ))
        })
        .collect();
    assert!(siblings.is_empty(), "the copy is removed");
}

#[tokio::test]
async fn memory_beyond_the_limit_fails_the_tests() {
    if !bwrap_here().await {
        return;
    }
    let dir = work_tree();
    let mut limited = options(60_000);
    limited.memory_bytes = 64 << 20;
    // A 200 MB string in the shell's memory.
    let command = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo length ${#x}";
    let run = run_tests(dir.path(), command, &limited)
        .await
        .expect("runs");
    assert!(!run.output.contains("length 200000000"), "{run:?}");
    assert!(!run.passed(), "{run:?}");
}

#[tokio::test]
async fn without_bubblewrap_the_tests_are_refused_not_run_unisolated() {
    let dir = work_tree();
    let ran = dir.path().join("ran");
    let mut missing = options(60_000);
    missing.bwrap = PathBuf::from("/nonexistent/bwrap");
    let err = run_tests(dir.path(), &format!("touch '{}'", ran.display()), &missing)
        .await
        .expect_err("refused");
    assert!(matches!(err, SandboxError::Unavailable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("the repository's tests were not run: no sandbox is available")
            && text.contains("install bubblewrap")
            && text.contains("`fix.sandbox: none`"),
        "{text}"
    );
    assert!(!ran.exists(), "the command ran");
}

#[tokio::test]
async fn sandbox_none_runs_unisolated_but_still_on_a_copy() {
    let dir = work_tree();
    let mut none = options(60_000);
    none.mode = SandboxMode::None;
    none.bwrap = PathBuf::from("/nonexistent/bwrap");
    let run = run_tests(dir.path(), "echo STOLEN >> a.py; cat a.py", &none)
        .await
        .expect("runs");
    assert!(run.passed() && !run.sandboxed, "{run:?}");
    assert!(run.output.contains("STOLEN"), "{run:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.py")).expect("read"),
        "x = 1\n"
    );
}
