//! What a repair reads of a failed GitHub Actions job: the tail of its log that ends at the
//! failing step's error, without GitHub's timestamps and group markers, bounded in lines and
//! bytes. A check run's own output is often only "Process completed with exit code 1"; the
//! assertion, the traceback or the compiler error is in the log.

use super::ci::Failure;
use crate::github::GithubClient;
use crate::github::ids::{InstallationId, RepoName};

/// Lines of a log a repair reads at most, per failed job.
pub const MAX_LINES: usize = 80;
/// Bytes of a log a repair reads at most, per failed job.
pub const MAX_BYTES: usize = 8 * 1024;
/// Failed jobs whose logs are read, at most.
pub const MAX_JOBS: usize = 3;

/// The log's lines without their `2024-01-01T00:00:00.0000000Z ` timestamps and terminal
/// colour codes.
fn lines(log: &str) -> Vec<String> {
    log.lines()
        .map(|line| {
            let line = line.trim_start_matches('\u{feff}');
            let line = match line.split_once(' ') {
                Some((stamp, rest)) if is_timestamp(stamp) => rest,
                _ => line,
            };
            strip_ansi(line)
        })
        .collect()
}

/// `text` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn is_timestamp(word: &str) -> bool {
    word.len() >= 20
        && word.ends_with('Z')
        && word.as_bytes()[4] == b'-'
        && word.as_bytes()[10] == b'T'
        && word[..4].bytes().all(|b| b.is_ascii_digit())
}

/// The part of a job's log a repair needs: from the start of the step that failed (its
/// `##[group]Run …` line) to its first `##[error]`, at most [`MAX_LINES`] lines and
/// [`MAX_BYTES`] bytes, the end kept. A log without an error gives its last lines.
pub fn failing_tail(log: &str) -> String {
    let lines = lines(log);
    let error = lines.iter().position(|l| l.starts_with("##[error]"));
    let end = error.map_or(lines.len(), |e| e + 1);
    let start = lines[..end]
        .iter()
        .rposition(|l| l.starts_with("##[group]Run "))
        .unwrap_or(0);
    let kept: Vec<String> = lines[start..end]
        .iter()
        .filter(|l| !l.starts_with("##[endgroup]"))
        .map(|l| match l.strip_prefix("##[group]") {
            Some(rest) => format!("▶ {rest}"),
            None => l
                .strip_prefix("##[error]")
                .map_or_else(|| l.clone(), |rest| format!("error: {rest}")),
        })
        .collect();
    let from = kept.len().saturating_sub(MAX_LINES);
    let mut text = kept[from..].join("\n");
    if text.len() > MAX_BYTES {
        let mut cut = text.len() - MAX_BYTES;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text = format!("…{}", &text[cut..]);
    }
    text
}

/// The failing steps' log tails of the failed GitHub Actions jobs among `failed`, each under
/// its check's name; empty when there are none or none can be read.
pub async fn gather(
    github: &GithubClient,
    inst: InstallationId,
    repo: &RepoName,
    failed: &[Failure],
) -> String {
    let mut out = Vec::new();
    let jobs = failed
        .iter()
        .filter(|f| f.app.as_deref() == Some("github-actions"))
        .filter_map(|f| Some((f.name.as_str(), f.run?)))
        .take(MAX_JOBS);
    for (name, run) in jobs {
        match github.job_log(inst, repo, run).await {
            Ok(Some(log)) => {
                let tail = failing_tail(&log);
                if !tail.trim().is_empty() {
                    out.push(format!(
                        "The log of `{name}`, where its failing step ends:\n```\n{tail}\n```"
                    ));
                }
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(%repo, check = name, "reading a job's log failed: {err}"),
        }
    }
    out.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = include_str!("../../tests/fixtures/actions/job-log-pytest.txt");

    #[test]
    fn the_tail_is_the_failing_step_up_to_its_error_without_timestamps() {
        let tail = failing_tail(LOG);
        assert!(tail.starts_with("▶ Run python -m pytest -q"), "{tail}");
        assert!(tail.contains("E       assert 0.30000000000000004 == 0.3"));
        assert!(
            tail.ends_with("error: Process completed with exit code 1."),
            "{tail}"
        );
        assert!(
            !tail.contains("Set up Python"),
            "earlier steps are left out"
        );
        assert!(
            !tail.contains("Post job cleanup"),
            "later steps are left out"
        );
        assert!(!tail.contains("2026-11-"), "timestamps are stripped");
        assert!(!tail.contains("##[endgroup]"));
        assert!(
            tail.contains("\npython -m pytest -q\n"),
            "colour codes are stripped"
        );
    }

    #[test]
    fn a_long_step_keeps_its_end_within_the_bounds() {
        let mut log = String::from("2026-11-30T10:00:00.0000000Z ##[group]Run make test\n");
        for i in 0..5_000 {
            log.push_str(&format!("2026-11-30T10:00:01.0000000Z line {i} ü\n"));
        }
        log.push_str("2026-11-30T10:00:02.0000000Z ##[error]Process completed with exit code 2.\n");
        let tail = failing_tail(&log);
        assert!(tail.lines().count() <= MAX_LINES);
        assert!(tail.len() <= MAX_BYTES + '…'.len_utf8());
        assert!(tail.ends_with("error: Process completed with exit code 2."));
        assert!(tail.contains("line 4999"));
        assert!(!tail.contains("line 100 "));
    }

    #[test]
    fn a_log_without_an_error_gives_its_last_lines() {
        let tail =
            failing_tail("2026-11-30T10:00:00.0000000Z one\n2026-11-30T10:00:00.0000000Z two\n");
        assert_eq!(tail, "one\ntwo");
    }
}
