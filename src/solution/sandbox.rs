//! Running a repository's own test command on a drafted change — only when the service enables
//! it (`fix.run_tests`) and the repository sets `test_command`. The command is code from the
//! repository and the LLM, so it is treated as hostile:
//!
//! - It runs in a throw-away copy of the work tree, without `.git`, removed afterwards: a
//!   tracked file it changes, a hook or a `.git/config` it writes never reaches the commit,
//!   the push, or a later git command.
//! - Inside bubblewrap (`bwrap`): new user, PID, IPC, UTS, cgroup and network namespaces (no
//!   network at all, not even the machine's loopback); an empty root with only the system's
//!   programs and libraries read-only (`/usr`, `/bin`, `/lib*`, a few files of `/etc`) and the
//!   operator's `fix.sandbox_paths`; a private `/tmp` and `/proc`; and the copy at `/repo`, the
//!   only place shared with the machine it can write. The data directory (the App's key, the
//!   database) and other processes are out of its sight.
//! - A cleared environment (`PATH`, `HOME=/tmp/home`, `TMPDIR`, `LANG`, `CI=true`); CPU time
//!   bounded by the timeout, memory (`RLIMIT_DATA`) by `fix.sandbox_memory_mb`, every file it
//!   writes by 1 GiB; its whole process tree killed at the timeout.
//!
//! Where bubblewrap cannot run (not installed, or user namespaces forbidden) the command is
//! refused ([`SandboxError::Unavailable`]), never run unisolated. `fix.sandbox: none` opts out
//! — unsafe: the command then runs in the copy with the service's file system and network,
//! only its environment cleared.

mod copy;

use crate::config::{FixConfig, SandboxMode};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// Where the copy of the work tree is mounted inside the sandbox.
const SANDBOX_WORK_DIR: &str = "/repo";

/// Files and directories of `/etc` the sandbox shows, by name or name prefix: what programs
/// and language runtimes read to start (the linker's cache, `alternatives` links, CA
/// certificates, users without passwords, the JDK's and Python's settings). Never `shadow`.
const ETC_SHOWN: &[&str] = &[
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ssl",
    "ca-certificates",
    "passwd",
    "group",
    "nsswitch.conf",
    "localtime",
    "hosts",
    "mime.types",
    "java-",
    "python3",
    "perl",
];

/// How the test command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOptions {
    /// Isolated by bubblewrap, or (unsafe) not at all.
    pub mode: SandboxMode,
    /// The bubblewrap program.
    pub bwrap: PathBuf,
    /// The longest run (also its CPU-time limit).
    pub timeout: Duration,
    /// `PATH` inside the sandbox.
    pub path_env: String,
    /// Output kept, from the end, in bytes.
    pub max_output_bytes: usize,
    /// The memory limit (`RLIMIT_DATA`), bytes.
    pub memory_bytes: u64,
    /// The largest file the command may write, bytes.
    pub max_file_bytes: u64,
    /// Directories shown read-only besides the system's.
    pub read_only: Vec<PathBuf>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            mode: SandboxMode::Bubblewrap,
            bwrap: PathBuf::from("bwrap"),
            timeout: Duration::from_secs(600),
            path_env: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
            max_output_bytes: 16 * 1024,
            memory_bytes: 4 << 30,
            max_file_bytes: 1 << 30,
            read_only: Vec::new(),
        }
    }
}

impl SandboxOptions {
    /// The options `fix.*` configures.
    pub fn from_config(fix: &FixConfig) -> Self {
        Self {
            mode: fix.sandbox,
            memory_bytes: fix.sandbox_memory_mb.saturating_mul(1 << 20),
            read_only: fix.sandbox_paths.clone(),
            ..Self::default()
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
    /// Whether it ran inside bubblewrap (`false` only with `fix.sandbox: none`).
    pub sandboxed: bool,
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

/// The test command was not run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// No isolation is available here, so the command is refused.
    #[error(
        "the repository's tests were not run: no sandbox is available on the service's machine ({reason}). The operator can install bubblewrap (`bwrap`) and allow unprivileged user namespaces, or set `fix.sandbox: none`, which runs the tests unisolated (unsafe)"
    )]
    Unavailable {
        /// What bubblewrap said.
        reason: String,
    },
    /// The command could not be started, or its copy of the work tree made.
    #[error("cannot run the test command `{command}`: {source}")]
    Start {
        /// The command.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// bubblewrap's arguments up to the command: `work` is mounted at [`SANDBOX_WORK_DIR`].
fn bwrap_args(options: &SandboxOptions, work: Option<&Path>) -> Vec<String> {
    let mut args: Vec<String> = [
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut add = |items: &[&str]| args.extend(items.iter().map(|s| (*s).to_owned()));
    // On a merged /usr these are symlinks into it; elsewhere directories.
    for dir in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
        match std::fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(dir) {
                    add(&["--symlink", &target.to_string_lossy(), dir]);
                }
            }
            Ok(meta) if meta.is_dir() => add(&["--ro-bind", dir, dir]),
            _ => {}
        }
    }
    if let Ok(entries) = std::fs::read_dir("/etc") {
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| ETC_SHOWN.iter().any(|shown| n.starts_with(shown)))
            .collect();
        names.sort();
        for name in names {
            let path = format!("/etc/{name}");
            add(&["--ro-bind-try", &path, &path]);
        }
    }
    for dir in &options.read_only {
        let dir = dir.to_string_lossy();
        add(&["--ro-bind-try", &dir, &dir]);
    }
    add(&[
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "--dir",
        "/tmp/home",
    ]);
    if let Some(work) = work {
        let work = work.to_string_lossy();
        add(&[
            "--bind",
            &work,
            SANDBOX_WORK_DIR,
            "--chdir",
            SANDBOX_WORK_DIR,
        ]);
    }
    args.push("--".to_owned());
    args
}

/// Whether bubblewrap runs here: `Err` says why not.
pub async fn check(options: &SandboxOptions) -> Result<(), SandboxError> {
    if options.mode == SandboxMode::None {
        return Ok(());
    }
    let unavailable = |reason: String| SandboxError::Unavailable { reason };
    let output = Command::new(&options.bwrap)
        .args(bwrap_args(options, None))
        .arg("/bin/sh")
        .args(["-c", "exit 0"])
        .env_clear()
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|err| unavailable(format!("cannot start `{}`: {err}", options.bwrap.display())))?;
    if output.status.success() {
        Ok(())
    } else {
        let said = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        Err(unavailable(format!(
            "`{}` fails: {}",
            options.bwrap.display(),
            if said.is_empty() {
                output.status.to_string()
            } else {
                said
            }
        )))
    }
}

/// The shell script that sets the limits, then runs the command (`$4`) with both streams in
/// one pipe, so the output reads as a terminal would show it.
const LIMITED: &str = "exec 2>&1; ulimit -t \"$1\" && ulimit -d \"$2\" && ulimit -f \"$3\" || { echo 'globallm: cannot set the limits of the test command'; exit 125; }; exec /bin/sh -c \"$4\"";

/// Runs `command` on a copy of `work_tree` (see the module documentation); the work tree
/// itself is never written.
pub async fn run_tests(
    work_tree: &Path,
    command: &str,
    options: &SandboxOptions,
) -> Result<TestRun, SandboxError> {
    check(options).await?;
    let start_error = |source: std::io::Error| SandboxError::Start {
        command: command.to_owned(),
        source,
    };
    let copy = copy::copy_path(work_tree);
    let (from, to) = (work_tree.to_owned(), copy.clone());
    let copied = tokio::task::spawn_blocking(move || copy::copy_work_tree(&from, &to))
        .await
        .map_err(|err| start_error(std::io::Error::other(err)))
        .and_then(|copied| copied.map_err(start_error));
    let run = match copied {
        Ok(()) => run_in(&copy, command, options).await,
        Err(err) => Err(err),
    };
    let removed = copy.clone();
    let _ = tokio::task::spawn_blocking(move || copy::remove_copy(&removed)).await;
    run
}

async fn run_in(
    copy: &Path,
    command: &str,
    options: &SandboxOptions,
) -> Result<TestRun, SandboxError> {
    let started = Instant::now();
    let sandboxed = options.mode == SandboxMode::Bubblewrap;
    let mut cmd = if sandboxed {
        let mut c = Command::new(&options.bwrap);
        c.args(bwrap_args(options, Some(copy))).arg("/bin/sh");
        c
    } else {
        let mut c = Command::new("/bin/sh");
        c.current_dir(copy);
        c
    };
    let cpu_secs = options.timeout.as_secs().max(1).to_string();
    let memory_kib = (options.memory_bytes / 1024).max(1).to_string();
    let file_blocks = (options.max_file_bytes / 512).max(1).to_string();
    cmd.args([
        "-c",
        LIMITED,
        "sh",
        &cpu_secs,
        &memory_kib,
        &file_blocks,
        command,
    ])
    .env_clear()
    .env("PATH", &options.path_env)
    .env("LANG", "C.UTF-8")
    .env("CI", "true")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .process_group(0)
    .kill_on_drop(true);
    if sandboxed {
        cmd.env("HOME", "/tmp/home").env("TMPDIR", "/tmp");
    } else {
        cmd.env("HOME", copy);
    }
    let mut child = cmd.spawn().map_err(|source| SandboxError::Start {
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
        tokio::join!(reader, child.wait())
    })
    .await;
    let (outcome, output) = match waited {
        Ok((output, status)) => {
            let status = status.map_err(|source| SandboxError::Start {
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
    let start = output.len().saturating_sub(max);
    let mut text = String::from_utf8_lossy(&output[start..]).into_owned();
    if start > 0 {
        text.insert_str(0, "[… earlier output cut …]\n");
    }
    Ok(TestRun {
        command: command.to_owned(),
        outcome,
        sandboxed,
        output: text,
        elapsed: started.elapsed(),
    })
}

/// Kills the command's whole process group (test runners fork; inside bubblewrap, its PID
/// namespace dies with it).
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
pub(crate) mod tests;
