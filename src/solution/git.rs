//! Running the `git` CLI within bounds: a cleared, prompt-free environment with the
//! installation token in an HTTP header (never on a command line or in a file), its own process
//! group, an overall timeout that kills the whole group, and — for a clone or fetch — a watch on
//! the size of the directory it writes.

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// How often a running clone or fetch has its cache's size measured.
const SIZE_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// Bounds on every git command (`fix.git_timeout_secs`, `fix.max_repo_mb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GitLimits {
    /// The longest one git command may run; then its whole process group is killed.
    pub timeout: Duration,
    /// The most bytes a repository's cache may take on disk; a clone or fetch that grows it
    /// past this is stopped and the cache removed.
    pub max_repo_bytes: u64,
}

impl Default for GitLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(600),
            max_repo_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// A git command that failed.
#[derive(Debug, thiserror::Error)]
#[error("git {command} failed: {message}")]
pub struct GitError {
    /// The subcommand.
    pub command: String,
    /// What git said (credentials scrubbed).
    pub message: String,
}

/// Variables of the service's environment git still gets: how to reach the network (a proxy,
/// the CA bundle). Everything else — `GIT_DIR`, `GIT_SSH_COMMAND`, `GIT_CONFIG_*`, the
/// service's own secrets — is cleared.
const GIT_ENV_KEPT: &[&str] = &[
    "PATH",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
];

/// `git` in `dir`, hardened: a cleared environment (only [`GIT_ENV_KEPT`]), no system or
/// global configuration, no prompt, never a hook or an fsmonitor program — whatever a
/// repository's `.git/config` or `.git/hooks` say (command-line `-c` wins over both) — and its
/// own process group, so a timeout kills git's helpers (remote-https, upload-pack, ssh) with it.
/// Blocking callers (the localizer reading the history) run it as it is; [`git_command`] makes
/// it a tokio command.
pub(crate) fn hardened_git(dir: &Path) -> std::process::Command {
    use std::os::unix::process::CommandExt as _;
    let mut command = std::process::Command::new("git");
    command.current_dir(dir).env_clear();
    for name in GIT_ENV_KEPT {
        // Taken through, not configured: these say how this machine reaches the network.
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.untrackedCache=false",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    command
}

/// [`hardened_git`] for async callers, killed when dropped; with `token`, the installation
/// token as an HTTP header (never in a URL or the remote's configuration).
pub(crate) fn git_command(dir: &Path, token: Option<&SecretString>) -> Command {
    let mut command = Command::from(hardened_git(dir));
    command.kill_on_drop(true);
    if let Some(token) = token {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("x-access-token:{}", token.expose_secret()));
        command
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "http.extraHeader")
            .env(
                "GIT_CONFIG_VALUE_0",
                format!("Authorization: Basic {basic}"),
            );
    }
    command
}

pub(super) async fn git(
    dir: &Path,
    token: Option<&SecretString>,
    limits: &GitLimits,
    args: &[&str],
) -> Result<String, GitError> {
    let output = run(git_command(dir, token), args, limits, None).await?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    let mut message = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if let Some(token) = token {
        message = message.replace(token.expose_secret(), "***");
    }
    Err(GitError {
        command: args.first().copied().unwrap_or("").to_owned(),
        message,
    })
}

/// Runs `command` with `args` under `limits`: past the timeout, or once `watch` (the
/// directory a clone or fetch writes) grows past the size cap, the whole process group is
/// killed and the command fails saying which limit it hit.
pub(super) async fn run(
    mut command: Command,
    args: &[&str],
    limits: &GitLimits,
    watch: Option<&Path>,
) -> Result<std::process::Output, GitError> {
    let name = args.first().copied().unwrap_or("").to_owned();
    let child = command
        .args(args)
        .spawn()
        .map_err(|err| io_error(&name, err))?;
    let pid = child.id();
    let output = child.wait_with_output();
    tokio::pin!(output);
    let deadline = tokio::time::sleep(limits.timeout);
    tokio::pin!(deadline);
    let mut ticks = tokio::time::interval(SIZE_CHECK_INTERVAL);
    let message = loop {
        tokio::select! {
            done = &mut output => return done.map_err(|err| io_error(&name, err)),
            () = &mut deadline => {
                break format!(
                    "stopped after {}s without finishing (fix.git_timeout_secs); \
                     the remote may be unreachable or stalled",
                    limits.timeout.as_secs_f64()
                );
            }
            _ = ticks.tick(), if watch.is_some() => {
                let dir = watch.expect("watched only with a directory").to_owned();
                let size = tokio::task::spawn_blocking(move || disk_usage(&dir))
                    .await
                    .unwrap_or(0);
                if size > limits.max_repo_bytes {
                    break too_large(limits);
                }
            }
        }
    };
    kill_group(pid);
    // The group is gone, so its pipes close; the wait is bounded all the same.
    let _ = tokio::time::timeout(Duration::from_secs(5), output).await;
    tracing::warn!(command = %name, %message, "git command stopped");
    Err(GitError {
        command: name,
        message,
    })
}

pub(super) fn too_large(limits: &GitLimits) -> String {
    format!(
        "the repository is larger than fix.max_repo_mb ({} MiB); it was not kept",
        limits.max_repo_bytes / (1024 * 1024)
    )
}

/// Kills the process group git leads (it was started with `process_group(0)`).
pub(crate) fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|pid| i32::try_from(pid).ok()) else {
        return;
    };
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// Bytes the files under `dir` take (symlinks not followed).
pub(super) fn disk_usage(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                total += meta.len();
            }
        }
    }
    total
}

/// `git` in `dir` without credentials, its output untrimmed (lossy UTF-8).
pub(super) async fn git_raw(
    dir: &Path,
    limits: &GitLimits,
    args: &[&str],
) -> Result<String, GitError> {
    let output = run(git_command(dir, None), args, limits, None).await?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(GitError {
            command: args.first().copied().unwrap_or("").to_owned(),
            message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

pub(super) fn io_error(command: &str, err: std::io::Error) -> GitError {
    GitError {
        command: command.to_owned(),
        message: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_travels_in_the_environment_never_on_the_command_line() {
        let token = SecretString::from("ghs_supersecret".to_owned());
        let command = git_command(Path::new("."), Some(&token));
        let std = command.as_std();
        assert!(
            std.get_args()
                .all(|a| !a.to_string_lossy().contains("supersecret"))
        );
        let header = std
            .get_envs()
            .find(|(k, _)| *k == "GIT_CONFIG_VALUE_0")
            .and_then(|(_, v)| v)
            .expect("the header is set");
        let encoded = header
            .to_string_lossy()
            .trim_start_matches("Authorization: Basic ")
            .to_owned();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64");
        assert_eq!(decoded, b"x-access-token:ghs_supersecret");
    }
}
