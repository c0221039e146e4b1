//! Judging CI on a commit: every check suite, check run and commit status completed and
//! passing, every check branch protection requires present and passing, every check expected
//! of the repository (its `required_checks`, else what ran on the base branch's last green
//! commit) present — a check that has not been created yet is not green — and the pull request
//! mergeable. Zero checks is never green. A pure function over what the API reported, so every
//! rule is tested on its own.

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
    /// The check run, for check runs (for GitHub Actions, also its job's id).
    pub run: Option<crate::github::ids::CheckRunId>,
    /// The App that ran it (`github-actions`, …), for check runs.
    pub app: Option<String>,
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

/// A check suite on the commit, as far as the verdict needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    /// The App that runs it (`github-actions`, …).
    pub app: String,
    /// Whether it completed.
    pub completed: bool,
    /// Its conclusion, once completed.
    pub conclusion: Option<String>,
    /// Check runs it has created so far.
    pub runs: u64,
    /// Its id, to re-run it.
    pub id: crate::github::ids::CheckSuiteId,
}

/// The checks a commit must have before it can be green, beside branch protection's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// Check (or status context) names that must be present and passing.
    pub names: Vec<String>,
    /// Apps whose check suites must have run their checks.
    pub apps: Vec<String>,
    /// Where the expectation comes from, for people (`the repository's required_checks`, `the
    /// base branch's last green commit abc1234`).
    pub source: String,
}

/// Everything CI reported for one commit.
#[derive(Debug, Clone, Copy)]
pub struct CiReport<'a> {
    /// The commit's check runs.
    pub check_runs: &'a [CheckRun],
    /// Its check suites (GlobalLM's own left out).
    pub suites: &'a [Suite],
    /// The checks expected of the repository.
    pub expected: &'a Expected,
    /// Its combined status.
    pub statuses: &'a CombinedStatus,
    /// The base branch's required checks, when protected.
    pub required: Option<&'a RequiredChecks>,
    /// The pull request's mergeability (`None`: not computed yet).
    pub mergeable: Option<bool>,
    /// Check runs to leave out (GlobalLM's own config check).
    pub ignore: &'a [&'a str],
}

/// Where one check (or status context) stands on a commit: its latest run counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not completed yet.
    Running,
    /// Completed and passing.
    Passed,
    /// Completed and failing.
    Failed(Failure),
}

/// The latest outcome of every check run (but those in `ignore`) and status context of a
/// commit, by name.
pub fn outcomes(
    check_runs: &[CheckRun],
    statuses: &CombinedStatus,
    ignore: &[&str],
) -> BTreeMap<String, Outcome> {
    let failure = |name: &str, conclusion: &str, output: Option<String>, run: Option<&CheckRun>| {
        Outcome::Failed(Failure {
            name: name.to_owned(),
            flaky: looks_flaky(conclusion, output.as_deref()),
            conclusion: conclusion.to_owned(),
            output,
            suite: run.and_then(|r| r.check_suite),
            run: run.map(|r| r.id),
            app: run.and_then(|r| r.app_slug.clone()),
        })
    };
    let mut latest: BTreeMap<String, (u64, Outcome)> = BTreeMap::new();
    for run in check_runs
        .iter()
        .filter(|r| !ignore.contains(&r.name.as_str()))
    {
        let outcome = match (&run.status, run.conclusion.as_deref()) {
            (CheckStatus::Completed, Some(c)) if PASSING.contains(&c) => Outcome::Passed,
            (CheckStatus::Completed, conclusion) => failure(
                &run.name,
                conclusion.unwrap_or("unknown"),
                run.output.clone(),
                Some(run),
            ),
            _ => Outcome::Running,
        };
        let newer = latest.get(&run.name).is_none_or(|(id, _)| run.id.0 > *id);
        if newer {
            latest.insert(run.name.clone(), (run.id.0, outcome));
        }
    }
    for status in &statuses.statuses {
        let outcome = match status.state.as_str() {
            "success" => Outcome::Passed,
            "pending" => Outcome::Running,
            other => failure(&status.context, other, status.description.clone(), None),
        };
        latest.entry(status.context.clone()).or_insert((0, outcome));
    }
    latest
        .into_iter()
        .map(|(name, (_, outcome))| (name, outcome))
        .collect()
}

/// The verdict on a commit.
pub fn evaluate(report: &CiReport<'_>) -> Verdict {
    let latest = outcomes(report.check_runs, report.statuses, report.ignore);
    if latest.is_empty() && report.expected.names.is_empty() {
        return Verdict::Blocked {
            reason: "no checks ran on this commit: GlobalLM merges only what CI has tested"
                .to_owned(),
        };
    }
    let mut failed: Vec<Failure> = latest
        .values()
        .filter_map(|outcome| match outcome {
            Outcome::Failed(failure) => Some(failure.clone()),
            _ => None,
        })
        .collect();
    // A suite that failed without a failing run to show for it (a workflow that did not
    // start) is red too.
    for suite in report.suites.iter().filter(|s| s.completed) {
        let conclusion = suite.conclusion.as_deref().unwrap_or("unknown");
        if !PASSING.contains(&conclusion) && failed.is_empty() && suite.runs == 0 {
            failed.push(Failure {
                name: format!("{} check suite", suite.app),
                conclusion: conclusion.to_owned(),
                output: None,
                flaky: looks_flaky(conclusion, None),
                suite: Some(suite.id),
                run: None,
                app: Some(suite.app.clone()),
            });
        }
    }
    if !failed.is_empty() {
        return Verdict::Red { failed };
    }
    let mut waiting: Vec<String> = latest
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Running))
        .map(|(name, _)| name.clone())
        .collect();
    for suite in report.suites.iter().filter(|s| !s.completed) {
        if suite.runs > 0 || report.expected.apps.contains(&suite.app) {
            waiting.push(format!("the check suite of `{}`", suite.app));
        }
    }
    for name in &report.expected.names {
        if !latest.contains_key(name) {
            waiting.push(format!(
                "`{name}`, which has not started (expected: {})",
                report.expected.source
            ));
        }
    }
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
            suites: &[],
            expected: &Expected::default(),
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

    fn suite(app: &str, completed: bool, conclusion: Option<&str>, runs: u64) -> Suite {
        Suite {
            app: app.to_owned(),
            completed,
            conclusion: conclusion.map(str::to_owned),
            runs,
            id: crate::github::ids::CheckSuiteId(9),
        }
    }

    #[test]
    fn a_check_that_ran_on_the_base_but_not_yet_here_is_not_green() {
        let expected = Expected {
            names: vec!["lint".to_owned(), "test".to_owned()],
            apps: vec!["github-actions".to_owned()],
            source: "the base branch's last green commit 1234567".to_owned(),
        };
        // The fast lint finished first; the tests have not been created yet.
        let lint = [run(1, "lint", CheckStatus::Completed, Some("success"))];
        let report = |runs: &[CheckRun], suites: &[Suite]| {
            evaluate(&CiReport {
                check_runs: runs,
                suites,
                expected: &expected,
                statuses: &no_statuses(),
                required: None,
                mergeable: Some(true),
                ignore: &[],
            })
        };
        let Verdict::Pending { waiting } = report(&lint, &[]) else {
            panic!("pending");
        };
        assert_eq!(
            waiting,
            [
                "`test`, which has not started (expected: the base branch's last green commit 1234567)"
            ]
        );
        // A suite that has not created its runs yet is waited for too.
        let both = [
            run(1, "lint", CheckStatus::Completed, Some("success")),
            run(2, "test", CheckStatus::Completed, Some("success")),
        ];
        let queued = [suite("github-actions", false, None, 0)];
        assert!(matches!(report(&both, &queued), Verdict::Pending { .. }));
        // An App that never runs checks here leaves an idle suite: it is not waited for.
        let idle = [suite("some-other-app", false, None, 0)];
        assert_eq!(report(&both, &idle), Verdict::Green);
        // Nothing at all yet, but checks are expected: wait, do not give up.
        assert!(matches!(report(&[], &[]), Verdict::Pending { .. }));
    }

    #[test]
    fn a_suite_that_failed_without_runs_is_red() {
        let runs = [run(1, "lint", CheckStatus::Completed, Some("success"))];
        let broken = [suite("github-actions", true, Some("startup_failure"), 0)];
        let Verdict::Red { failed } = evaluate(&CiReport {
            check_runs: &runs,
            suites: &broken,
            expected: &Expected::default(),
            statuses: &no_statuses(),
            required: None,
            mergeable: Some(true),
            ignore: &[],
        }) else {
            panic!("red");
        };
        assert_eq!(failed[0].name, "github-actions check suite");
    }
}
