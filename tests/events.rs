//! Typed events: every real delivery GitHub sends for the events GlobalLM handles parses, and
//! the project's own fixtures cover each event on machines without `../shared`.

use globallm::event::model::{
    AccountKind, CheckRunAction, CheckStatus, InstallationAction, IssuesAction,
};
use globallm::event::{self, Event, SUPPORTED_EVENTS};
use globallm::github::ids::{InstallationId, IssueNumber, RepoId};
use std::path::{Path, PathBuf};

const SHARED: &str = "../shared/data/github";

fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(SHARED);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {SHARED} is absent (the shared test data lives beside the project)");
        None
    }
}

/// The event a file in `webhooks-extra/` is a delivery of, when it is one we handle.
fn extra_event(file_name: &str) -> Option<&'static str> {
    let stem = file_name.strip_suffix(".json")?;
    // go-playground/webhooks names files after the event, with dashes.
    let go_playground = match stem {
        "check-run" => Some("check_run"),
        "check-suite" => Some("check_suite"),
        "installation-repositories" | "integration-installation-repositories" => {
            Some("installation_repositories")
        }
        "installation" | "integration-installation" => Some("installation"),
        "issue-comment" | "pull-request-issue-comment" => Some("issue_comment"),
        "issues" => Some("issues"),
        "ping" => Some("ping"),
        "pull-request" => Some("pull_request"),
        "pull-request-review" => Some("pull_request_review"),
        "push" => Some("push"),
        "status" => Some("status"),
        _ => None,
    };
    if go_playground.is_some() {
        return go_playground;
    }
    // octocrab's App deliveries: `<event>_<action>_webhook_event.json`, plus one without
    // `webhook` in the name. The longest matching event name wins (issue_comment over issues).
    let delivery = stem.strip_suffix("_webhook_event").or(match stem {
        "installation_event" => Some("installation_event"),
        _ => None,
    })?;
    SUPPORTED_EVENTS
        .iter()
        .filter(|e| delivery == **e || delivery.starts_with(&format!("{e}_")))
        .max_by_key(|e| e.len())
        .copied()
}

fn real_deliveries(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for event in SUPPORTED_EVENTS {
        let folder = dir.join("webhooks").join(event);
        for entry in std::fs::read_dir(&folder).expect("the event's folder exists") {
            let path = entry.expect("readable entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                found.push(((*event).to_owned(), path));
            }
        }
    }
    for source in ["go-playground", "octocrab"] {
        for entry in std::fs::read_dir(dir.join("webhooks-extra").join(source)).expect("exists") {
            let path = entry.expect("readable entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if let Some(event) = extra_event(name) {
                found.push((event.to_owned(), path));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_real_delivery_of_a_handled_event_parses() {
    let Some(dir) = shared_dir() else { return };
    let deliveries = real_deliveries(&dir);
    let mut failures = Vec::new();
    for (event_name, path) in &deliveries {
        let body = std::fs::read(path).expect("readable payload");
        match event::parse(event_name, &body) {
            Ok(Some(_)) => {}
            Ok(None) => failures.push(format!("{}: not recognized", path.display())),
            Err(err) => failures.push(format!("{}: {err}", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "deliveries that do not parse:\n{}",
        failures.join("\n")
    );
    // 103 from octokit/webhooks for these events, 15 from go-playground, 14 from octocrab.
    assert!(
        deliveries.len() >= 132,
        "only {} deliveries found",
        deliveries.len()
    );
    for event_name in SUPPORTED_EVENTS {
        assert!(
            deliveries.iter().any(|(e, _)| e == event_name),
            "no real delivery of `{event_name}` was checked"
        );
    }
}

#[test]
fn real_deliveries_keep_what_handlers_need() {
    let Some(dir) = shared_dir() else { return };
    let read = |rel: &str| std::fs::read(dir.join(rel)).expect("payload exists");

    let Some(Event::Issues(opened)) =
        event::parse("issues", &read("webhooks/issues/opened.payload.json")).expect("parses")
    else {
        panic!("an issues delivery parses as Issues");
    };
    assert_eq!(opened.action, IssuesAction::Opened);
    assert_eq!(opened.issue.number, IssueNumber(1));
    assert_eq!(opened.repository.name.to_string(), "Codertocat/Hello-World");

    let Some(Event::Installation(created)) = event::parse(
        "installation",
        &read("webhooks-extra/octocrab/installation_created_webhook_event.json"),
    )
    .expect("parses") else {
        panic!("an installation delivery parses as Installation");
    };
    assert_eq!(created.action, InstallationAction::Created);
    assert_eq!(created.installation.id, InstallationId(39593433));
    assert!(!created.repositories.is_empty());

    let Some(Event::IssueComment(on_pr)) = event::parse(
        "issue_comment",
        &read("webhooks-extra/go-playground/pull-request-issue-comment.json"),
    )
    .expect("parses") else {
        panic!("an issue_comment delivery parses as IssueComment");
    };
    assert!(
        on_pr.issue.is_pull_request,
        "a comment on a PR is recognized as such"
    );
}

fn fixture(event_name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/webhooks")
        .join(format!("{event_name}.json"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn own_fixtures_cover_every_handled_event() {
    for event_name in SUPPORTED_EVENTS {
        let parsed = event::parse(event_name, &fixture(event_name))
            .unwrap_or_else(|err| panic!("{event_name}: {err}"))
            .unwrap_or_else(|| panic!("{event_name} is not recognized"));
        let matches = matches!(
            (*event_name, &parsed),
            ("ping", Event::Ping(_))
                | ("installation", Event::Installation(_))
                | (
                    "installation_repositories",
                    Event::InstallationRepositories(_)
                )
                | ("issues", Event::Issues(_))
                | ("issue_comment", Event::IssueComment(_))
                | ("pull_request", Event::PullRequest(_))
                | ("pull_request_review", Event::PullRequestReview(_))
                | ("check_run", Event::CheckRun(_))
                | ("check_suite", Event::CheckSuite(_))
                | ("status", Event::Status(_))
                | ("push", Event::Push(_))
                | ("merge_group", Event::MergeGroup(_))
        );
        assert!(matches, "{event_name} parsed as {parsed:?}");
    }
}

#[test]
fn fixtures_parse_into_the_fields_handlers_use() {
    let Some(Event::Issues(issue)) = event::parse("issues", &fixture("issues")).expect("parses")
    else {
        panic!("issues");
    };
    assert_eq!(issue.issue.number, IssueNumber(17));
    assert_eq!(issue.issue.labels, ["bug"]);
    assert_eq!(issue.issue.author.login, "maria-dev");
    assert!(issue.issue.body.contains("IndexError"));
    assert_eq!(issue.installation, Some(InstallationId(5151)));
    assert_eq!(issue.repository.id, RepoId(4242));

    let Some(Event::CheckRun(run)) =
        event::parse("check_run", &fixture("check_run")).expect("parses")
    else {
        panic!("check_run");
    };
    assert_eq!(run.action, CheckRunAction::Completed);
    assert_eq!(run.check_run.status, CheckStatus::Completed);
    assert_eq!(run.check_run.conclusion.as_deref(), Some("success"));
    assert_eq!(run.check_run.pull_requests, [IssueNumber(18)]);
    assert_eq!(run.sender.kind, AccountKind::Bot);

    let Some(Event::PullRequest(pr)) =
        event::parse("pull_request", &fixture("pull_request")).expect("parses")
    else {
        panic!("pull_request");
    };
    assert_eq!(pr.pull_request.head.branch, "globallm/issue-17");
    assert!(pr.pull_request.draft);
    assert_eq!(
        pr.after.as_ref().map(|s| s.0.as_str()),
        Some(pr.pull_request.head.sha.0.as_str())
    );

    let Some(Event::InstallationRepositories(repos)) = event::parse(
        "installation_repositories",
        &fixture("installation_repositories"),
    )
    .expect("parses") else {
        panic!("installation_repositories");
    };
    assert_eq!(repos.added.len(), 1);
    assert_eq!(repos.removed[0].name.to_string(), "acme/gears");

    let Some(Event::Push(push)) = event::parse("push", &fixture("push")).expect("parses") else {
        panic!("push");
    };
    assert_eq!(push.commit_count, 1);
    assert_eq!(push.ref_name, "refs/heads/globallm/issue-17");
}
