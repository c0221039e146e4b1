//! Judging CI on a commit: every check run and commit status completed and passing, every
//! check branch protection requires present and passing, and the pull request mergeable.
//! Zero checks is never green. A pure function over what the API reported, so every rule is
//! tested on its own.

use crate::event::model::{CheckRun, CheckStatus};
use crate::github::model::{CombinedStatus, RequiredChecks};
use std::collections::BTreeMap;

/// Conclusions that count as passing.
const PASSING: &[&str] = &["success", "neutral", "skipped"];
/// Conclusions that say more about the CI machine than about the change.
const INFRASTRUCTURE: &[&str] = &["cancelled", "timed_out", "startup_failure", "stale"];
/// Words in a failing check's output that point at infrastructure, not at the change.
const INFRASTRUCTURE_WORDS: &[&str] = &[
    "econnreset",
    "etimedout",
    "connection reset",
    "no space left on device",
    "runner has received a shutdown signal",
    "the operation was canceled",
    "rate limit exceeded",
    "503 service unavailable",
    "could not resolve host",
];

/// One failing check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The check's (or status context's) name.
    pub name: String,
    /// Its conclusion or state.
    pub conclusion: String,
    /// What it reported, when it said.
    pub output: Option<String>,
    /// Whether it looks like an infrastructure problem worth one re-run.
    pub flaky: bool,
    /// The suite to re-run it with, for check runs.
    pub suite: Option<crate::github::ids::CheckSuiteId>,
}

/// What CI says about a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Checks are still running (or GitHub is still computing mergeability).
    Pending {
        /// What is being waited for.
        waiting: Vec<String>,
    },
    /// Everything passed, every required check is there, and it can be merged.
    Green,
    /// Something failed.
    Red {
        /// The failures.
        failed: Vec<Failure>,
    },
    /// It cannot be merged as it is, and waiting will not change that.
    Blocked {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// The name stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Pending { .. } => "pending",
            Verdict::Green => "green",
            Verdict::Red { .. } => "red",
            Verdict::Blocked { .. } => "blocked",
        }
    }
}

/// Everything CI reported for one commit.
#[derive(Debug, Clone, Copy)]
pub struct CiReport<'a> {
    /// The commit's check runs.
    pub check_runs: &'a [CheckRun],
    /// Its combined status.
    pub statuses: &'a CombinedStatus,
    /// The base branch's required checks, when protected.
    pub required: Option<&'a RequiredChecks>,
    /// The pull request's mergeability (`None`: not computed yet).
    pub mergeable: Option<bool>,
    /// Check runs to leave out (GlobalLM's own config check).
    pub ignore: &'a [&'a str],
}

#[derive(Debug)]
enum Outcome {
    Running,
    Passed,
    Failed {
        conclusion: String,
        output: Option<String>,
        suite: Option<crate::github::ids::CheckSuiteId>,
    },
}

/// The verdict on a commit.
pub fn evaluate(report: &CiReport<'_>) -> Verdict {
    // The latest run of each check and the latest state of each status context count.
    let mut latest: BTreeMap<String, (u64, Outcome)> = BTreeMap::new();
    for run in report
        .check_runs
        .iter()
        .filter(|r| !report.ignore.contains(&r.name.as_str()))
    {
        let outcome = match (&run.status, run.conclusion.as_deref()) {
            (CheckStatus::Completed, Some(c)) if PASSING.contains(&c) => Outcome::Passed,
            (CheckStatus::Completed, Some(c)) => Outcome::Failed {
                conclusion: c.to_owned(),
                output: run.output.clone(),
                suite: run.check_suite,
            },
            (CheckStatus::Completed, None) => Outcome::Failed {
                conclusion: "unknown".to_owned(),
                output: run.output.clone(),
                suite: run.check_suite,
            },
            _ => Outcome::Running,
        };
        let newer = latest.get(&run.name).is_none_or(|(id, _)| run.id.0 > *id);
        if newer {
            latest.insert(run.name.clone(), (run.id.0, outcome));
        }
    }
    for status in &report.statuses.statuses {
        let outcome = match status.state.as_str() {
            "success" => Outcome::Passed,
            "pending" => Outcome::Running,
            other => Outcome::Failed {
                conclusion: other.to_owned(),
                output: status.description.clone(),
                suite: None,
            },
        };
        latest.entry(status.context.clone()).or_insert((0, outcome));
    }
    if latest.is_empty() {
        return Verdict::Blocked {
            reason: "no checks ran on this commit: GlobalLM merges only what CI has tested"
                .to_owned(),
        };
    }
    let failed: Vec<Failure> = latest
        .iter()
        .filter_map(|(name, (_, outcome))| match outcome {
            Outcome::Failed {
                conclusion,
                output,
                suite,
            } => Some(Failure {
                name: name.clone(),
                flaky: looks_flaky(conclusion, output.as_deref()),
                conclusion: conclusion.clone(),
                output: output.clone(),
                suite: *suite,
            }),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        return Verdict::Red { failed };
    }
    let waiting: Vec<String> = latest
        .iter()
        .filter(|(_, (_, o))| matches!(o, Outcome::Running))
        .map(|(name, _)| name.clone())
        .collect();
    if !waiting.is_empty() {
        return Verdict::Pending { waiting };
    }
    if let Some(required) = report.required {
        let missing: Vec<&String> = required
            .contexts
            .iter()
            .filter(|c| !latest.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
            return Verdict::Blocked {
                reason: format!(
                    "required check {} did not run on this commit",
                    names.join(", ")
                ),
            };
        }
    }
    match report.mergeable {
        Some(true) => Verdict::Green,
        Some(false) => Verdict::Blocked {
            reason: "the pull request has conflicts with its base".to_owned(),
        },
        None => Verdict::Pending {
            waiting: vec!["GitHub's mergeability check".to_owned()],
        },
    }
}

fn looks_flaky(conclusion: &str, output: Option<&str>) -> bool {
    if INFRASTRUCTURE.contains(&conclusion) || conclusion == "error" {
        return true;
    }
    let output = output.unwrap_or_default().to_lowercase();
    INFRASTRUCTURE_WORDS.iter().any(|w| output.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::ids::{CheckRunId, CommitSha};
    use crate::github::model::StatusContext;

    fn run(id: u64, name: &str, status: CheckStatus, conclusion: Option<&str>) -> CheckRun {
        CheckRun {
            id: CheckRunId(id),
            name: name.to_owned(),
            head_sha: CommitSha("a".repeat(40)),
            status,
            conclusion: conclusion.map(str::to_owned),
            app_slug: Some("github-actions".to_owned()),
            pull_requests: Vec::new(),
            check_suite: None,
            output: None,
            details_url: None,
        }
    }

    fn no_statuses() -> CombinedStatus {
        CombinedStatus {
            state: "pending".to_owned(),
            statuses: Vec::new(),
        }
    }

    fn verdict(
        runs: &[CheckRun],
        statuses: &CombinedStatus,
        required: Option<&RequiredChecks>,
        mergeable: Option<bool>,
    ) -> Verdict {
        evaluate(&CiReport {
            check_runs: runs,
            statuses,
            required,
            mergeable,
            ignore: &["GlobalLM config"],
        })
    }

    #[test]
    fn all_passing_and_mergeable_is_green() {
        let runs = [
            run(1, "test", CheckStatus::Completed, Some("success")),
            run(2, "lint", CheckStatus::Completed, Some("skipped")),
        ];
        assert_eq!(
            verdict(&runs, &no_statuses(), None, Some(true)),
            Verdict::Green
        );
    }

    #[test]
    fn zero_checks_is_never_green() {
        let own = [run(
            1,
            "GlobalLM config",
            CheckStatus::Completed,
            Some("success"),
        )];
        assert!(matches!(
            verdict(&own, &no_statuses(), None, Some(true)),
            Verdict::Blocked { .. }
        ));
    }

    #[test]
    fn a_running_check_or_pending_status_waits() {
        let runs = [run(1, "test", CheckStatus::InProgress, None)];
        assert_eq!(
            verdict(&runs, &no_statuses(), None, Some(true)),
            Verdict::Pending {
                waiting: vec!["test".to_owned()]
            }
        );
        let statuses = CombinedStatus {
            state: "pending".to_owned(),
            statuses: vec![StatusContext {
                context: "ci/legacy".into(),
                state: "pending".into(),
                description: None,
                target_url: None,
            }],
        };
        let passed = [run(1, "test", CheckStatus::Completed, Some("success"))];
        assert!(matches!(
            verdict(&passed, &statuses, None, Some(true)),
            Verdict::Pending { .. }
        ));
    }

    #[test]
    fn only_the_latest_run_of_a_check_counts() {
        let runs = [
            run(1, "test", CheckStatus::Completed, Some("failure")),
            run(5, "test", CheckStatus::Completed, Some("success")),
        ];
        assert_eq!(
            verdict(&runs, &no_statuses(), None, Some(true)),
            Verdict::Green
        );
    }

    #[test]
    fn a_missing_required_check_blocks() {
        let runs = [run(1, "test", CheckStatus::Completed, Some("success"))];
        let required = RequiredChecks {
            strict: false,
            contexts: vec!["test".to_owned(), "security-scan".to_owned()],
        };
        let Verdict::Blocked { reason } =
            verdict(&runs, &no_statuses(), Some(&required), Some(true))
        else {
            panic!("blocked");
        };
        assert!(reason.contains("`security-scan`"), "{reason}");
    }

    #[test]
    fn failures_are_told_apart() {
        let mut failing = run(1, "test", CheckStatus::Completed, Some("failure"));
        failing.output = Some("assertion failed: left == right".to_owned());
        let timed_out = run(2, "e2e", CheckStatus::Completed, Some("timed_out"));
        let mut reset = run(3, "build", CheckStatus::Completed, Some("failure"));
        reset.output = Some("npm ERR! network ECONNRESET".to_owned());
        let Verdict::Red { failed } = verdict(
            &[failing, timed_out, reset],
            &no_statuses(),
            None,
            Some(true),
        ) else {
            panic!("red");
        };
        let flaky: Vec<(&str, bool)> = failed.iter().map(|f| (f.name.as_str(), f.flaky)).collect();
        assert_eq!(flaky, [("build", true), ("e2e", true), ("test", false)]);
    }

    #[test]
    fn conflicts_block_and_unknown_mergeability_waits() {
        let runs = [run(1, "test", CheckStatus::Completed, Some("success"))];
        assert!(matches!(
            verdict(&runs, &no_statuses(), None, Some(false)),
            Verdict::Blocked { .. }
        ));
        assert!(matches!(
            verdict(&runs, &no_statuses(), None, None),
            Verdict::Pending { .. }
        ));
    }
}
