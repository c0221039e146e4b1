//! Running a repository's own test command on a drafted change — off unless the repository sets
//! `test_command` in `.github/globallm.yml` and the caller enables it. The command runs with
//! `sh -c` in the work tree, in its own process group, killed whole at the timeout; with an
//! environment cleared of everything (no token, no API key: only `PATH`, a throw-away `HOME`,
//! `LANG`, `CI=true`); and without network when the kernel lets an unprivileged user create a
//! network namespace (`unshare --user --net`, tried first). Where it cannot (some containers
//! forbid user namespaces), the command runs with the network, and [`TestRun::network`] says so.
//! This is a guard against accidents and leaks, not a security boundary against hostile code:
//! the code run is the repository's own plus the LLM's validated edit.

use serde::Serialize;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// How the test command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOptions {
    /// The longest run.
    pub timeout: Duration,
    /// `PATH` inside the sandbox (the only variable taken from outside).
    pub path_env: String,
    /// Output kept, from the end, in bytes.
    pub max_output_bytes: usize,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(600),
            path_env: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
            max_output_bytes: 16 * 1024,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Exit status 0.
    Passed,
    /// Another exit status (or a signal: `None`).
    Failed(Option<i32>),
    /// Killed at the timeout.
    TimedOut,
}

/// One run of the test command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestRun {
    /// The command.
    pub command: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Whether it had the network (no network namespace could be made).
    pub network: bool,
    /// The end of its output (stdout and stderr interleaved as written).
    pub output: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl TestRun {
    /// Whether the tests passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }
}

/// The sandbox could not start the command at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot run the test command `{command}`: {source}")]
pub struct SandboxError {
    /// The command.
    pub command: String,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Whether `unshare --user --net` works here (probed once per call; it is cheap).
async fn can_unshare() -> bool {
    Command::new("unshare")
        .args(["--user", "--map-root-user", "--net", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// Runs `command` in `work_tree`.
pub async fn run_tests(
    work_tree: &Path,
    command: &str,
    options: &SandboxOptions,
) -> Result<TestRun, SandboxError> {
    let started = Instant::now();
    // A throw-away HOME inside `.git` (git neither shows nor cleans it) — beside the work tree
    // when `.git` is a file (a linked work tree) — removed afterwards.
    let git_dir = work_tree.join(".git");
    let home = if git_dir.is_dir() {
        git_dir.join("globallm-sandbox-home")
    } else {
        let mut name = work_tree.as_os_str().to_owned();
        name.push(".sandbox-home");
        std::path::PathBuf::from(name)
    };
    std::fs::create_dir_all(&home).map_err(|source| SandboxError {
        command: command.to_owned(),
        source,
    })?;
    let isolated = can_unshare().await;
    let mut cmd = if isolated {
        let mut c = Command::new("unshare");
        c.args(["--user", "--map-root-user", "--net", "sh", "-c"]);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c");
        c
    };
    // Both streams into one pipe, so the output reads as the terminal would show it.
    cmd.arg(format!("exec 2>&1; {command}"))
        .current_dir(work_tree)
        .env_clear()
        .env("PATH", &options.path_env)
        .env("HOME", &home)
        .env("LANG", "C.UTF-8")
        .env("CI", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|source| SandboxError {
        command: command.to_owned(),
        source,
    })?;
    let mut stdout = child.stdout.take();
    let max = options.max_output_bytes;
    let reader = async move {
        let mut kept: Vec<u8> = Vec::new();
        if let Some(out) = stdout.as_mut() {
            let mut buf = [0u8; 8192];
            while let Ok(n) = out.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * max {
                    kept.drain(..kept.len() - max);
                }
            }
        }
        kept
    };
    let waited = tokio::time::timeout(options.timeout, async {
        let (output, status) = tokio::join!(reader, child.wait());
        (output, status)
    })
    .await;
    let (outcome, output) = match waited {
        Ok((output, status)) => {
            let status = status.map_err(|source| SandboxError {
                command: command.to_owned(),
                source,
            })?;
            let outcome = if status.success() {
                Outcome::Passed
            } else {
                Outcome::Failed(status.code())
            };
            (outcome, output)
        }
        Err(_) => {
            kill_group(&child).await;
            let _ = child.kill().await;
            (Outcome::TimedOut, Vec::new())
        }
    };
    let _ = std::fs::remove_dir_all(&home);
    let start = output.len().saturating_sub(max);
    let mut text = String::from_utf8_lossy(&output[start..]).into_owned();
    if start > 0 {
        text.insert_str(0, "[… earlier output cut …]\n");
    }
    Ok(TestRun {
        command: command.to_owned(),
        outcome,
        network: !isolated,
        output: text,
        elapsed: started.elapsed(),
    })
}

/// Kills the command's whole process group (test runners fork).
async fn kill_group(child: &tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(timeout_ms: u64) -> SandboxOptions {
        SandboxOptions {
            timeout: Duration::from_millis(timeout_ms),
            ..SandboxOptions::default()
        }
    }

    #[tokio::test]
    async fn a_passing_and_a_failing_command_with_their_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("marker"), "here").expect("write");
        let run = run_tests(dir.path(), "cat marker; echo oops >&2", &options(10_000))
            .await
            .expect("runs");
        assert!(run.passed(), "{run:?}");
        assert!(
            run.output.contains("here") && run.output.contains("oops"),
            "{run:?}"
        );
        let run = run_tests(dir.path(), "exit 3", &options(10_000))
            .await
            .expect("runs");
        assert_eq!(run.outcome, Outcome::Failed(Some(3)));
    }

    #[tokio::test]
    async fn the_environment_holds_no_secret() {
        // The test process's own environment is not passed on: only the variables set here.
        let dir = tempfile::tempdir().expect("tempdir");
        let run = run_tests(
            dir.path(),
            "env | cut -d= -f1 | sort | tr '\\n' ' '",
            &options(10_000),
        )
        .await
        .expect("runs");
        let names: Vec<&str> = run.output.split_whitespace().collect();
        for name in &names {
            assert!(
                ["PATH", "HOME", "LANG", "CI", "PWD", "SHLVL", "_", "OLDPWD"].contains(name),
                "unexpected variable {name} in {names:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_command_past_its_timeout_is_killed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = run_tests(dir.path(), "sleep 30", &options(300))
            .await
            .expect("runs");
        assert_eq!(run.outcome, Outcome::TimedOut);
        assert!(run.elapsed < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn without_network_when_namespaces_are_allowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        // In a fresh network namespace only `lo` exists (and it is down).
        let run = run_tests(
            dir.path(),
            "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '",
            &options(10_000),
        )
        .await
        .expect("runs");
        if run.network {
            eprintln!("skipped: this machine does not allow unprivileged network namespaces");
            return;
        }
        let interfaces: Vec<&str> = run.output.split_whitespace().collect();
        assert_eq!(interfaces, vec!["lo"], "{run:?}");
    }
}
