//! The health scorer's `criticality` preset reproduces OpenSSF criticality_score's
//! `default_score`: on the 19 published vectors in `../shared` (to 5 decimals), and on the
//! project's own vectors everywhere.

use globallm::config::HealthSignals;
use globallm::scoring::{HealthInputs, health};
use std::path::Path;

fn field(value: &str) -> Option<f64> {
    (!value.is_empty()).then(|| value.parse().expect("a number"))
}

#[test]
fn the_criticality_preset_reproduces_all_published_vectors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/scoring/criticality-score-vectors.csv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} is absent", path.display());
        return;
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("column {name}"))
    };
    let mut checked = 0;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        let get = |name: &str| field(cells[column(name)]);
        let inputs = HealthInputs {
            created_since: get("legacy.created_since"),
            updated_since: get("legacy.updated_since"),
            contributor_count: get("legacy.contributor_count"),
            org_count: get("legacy.org_count"),
            commit_frequency: get("legacy.commit_frequency"),
            recent_release_count: get("legacy.recent_release_count"),
            updated_issues_count: get("legacy.updated_issues_count"),
            closed_issues_count: get("legacy.closed_issues_count"),
            issue_comment_frequency: get("legacy.issue_comment_frequency"),
            github_mention_count: get("legacy.github_mention_count"),
            dependent_count: get("depsdev.dependent_count"),
            ci_state: None,
            issue_resolution_rate: None,
            archived: false,
        };
        let expected = get("default_score").expect("a score");
        let score = health(&inputs, &HealthSignals::default());
        assert!(
            (score - expected).abs() < 5e-6,
            "{}: {score:.5} != {expected:.5}",
            cells[column("repo.url")]
        );
        checked += 1;
    }
    assert_eq!(checked, 19);
}

#[test]
fn the_criticality_preset_on_our_own_vectors() {
    let inputs = HealthInputs {
        created_since: Some(36.0),
        updated_since: Some(1.0),
        contributor_count: Some(120.0),
        org_count: Some(8.0),
        commit_frequency: Some(14.5),
        recent_release_count: Some(6.0),
        updated_issues_count: Some(300.0),
        closed_issues_count: Some(250.0),
        issue_comment_frequency: Some(2.5),
        github_mention_count: Some(1_200.0),
        dependent_count: None,
        ci_state: None,
        issue_resolution_rate: None,
        archived: false,
    };
    let signals = HealthSignals::default();
    assert!((health(&inputs, &signals) - 0.62235).abs() < 5e-6);
    let with_dependents = HealthInputs {
        dependent_count: Some(25_000.0),
        ..inputs.clone()
    };
    assert!((health(&with_dependents, &signals) - 0.67954).abs() < 5e-6);
}
