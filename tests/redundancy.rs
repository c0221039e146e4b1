//! Redundancy on a small hand-made corpus (`tests/fixtures/redundancy/`): two READMEs of the
//! same kind of tool cluster, unrelated ones do not; the healthiest member is named, the stale
//! duplicate is recommended for archival with the evidence.

use globallm::analysis::redundancy::{Project, Thresholds, clusters, exported_names};
use std::path::Path;

fn project(name: &str, language: &str, ext: &str, health: f64, months: f64) -> Project {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/redundancy");
    let readme = std::fs::read_to_string(dir.join(format!("{name}.md"))).expect("readme");
    let source = std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).expect("source");
    Project {
        repo: format!("acme/{name}"),
        readme,
        api_names: exported_names(language, &source),
        health,
        months_since_push: months,
    }
}

fn corpus() -> Vec<Project> {
    vec![
        project("fetchy", "javascript", "js", 0.8, 1.0),
        project("requestor", "javascript", "js", 0.3, 30.0),
        project("argsy", "python", "py", 0.4, 2.0),
        project("flagparse", "python", "py", 0.6, 1.0),
        project("pixelsize", "python", "py", 0.7, 1.0),
        project("markup", "javascript", "js", 0.5, 40.0),
        project("chrono-lite", "python", "py", 0.5, 3.0),
    ]
}

#[test]
fn tools_of_the_same_kind_cluster_and_unrelated_ones_do_not() {
    let found = clusters(&corpus(), &Thresholds::default());
    let names: Vec<Vec<&str>> = found
        .iter()
        .map(|c| c.members.iter().map(|m| m.repo.as_str()).collect())
        .collect();
    assert_eq!(
        names,
        vec![
            vec!["acme/fetchy", "acme/requestor"],
            vec!["acme/flagparse", "acme/argsy"],
        ],
        "healthiest first; pixelsize, markup and chrono-lite stand alone"
    );
}

#[test]
fn the_stale_duplicate_is_recommended_for_archival_with_evidence() {
    let found = clusters(&corpus(), &Thresholds::default());
    let http = &found[0];
    let best = &http.members[0];
    assert!(best.healthiest && !best.archive && best.penalty == 0.0);
    let stale = &http.members[1];
    assert_eq!(stale.repo, "acme/requestor");
    assert!(stale.archive, "{stale:?}");
    assert!(stale.readme_similarity >= 0.2, "{stale:?}");
    for name in ["get", "post", "request", "interceptors", "create"] {
        assert!(stale.shared_names.iter().any(|n| n == name), "{stale:?}");
    }
    assert!(stale.penalty > 0.0 && stale.penalty <= 1.0);
    // argsy is less healthy than flagparse but recently pushed: a duplicate, not stale.
    let args = &found[1];
    assert!(!args.members[1].archive, "{:?}", args.members[1]);
    assert!(args.members[1].penalty < stale.penalty);
}

#[test]
fn a_large_corpus_is_not_compared_pairwise() {
    // 400 unrelated documents: LSH proposes few candidate pairs, far fewer than the 79,800 pairs.
    let docs: Vec<Project> = (0..400)
        .map(|i| Project {
            repo: format!("o/p{i}"),
            readme: format!("word{i} alpha{i} beta{i} gamma{i} delta{i} topic{} ", i % 7),
            api_names: Default::default(),
            health: 0.5,
            months_since_push: 1.0,
        })
        .collect();
    let sets: Vec<std::collections::HashSet<&str>> = docs
        .iter()
        .map(|d| d.readme.split_whitespace().collect())
        .collect();
    let pairs = globallm::analysis::redundancy::candidates(&sets);
    assert!(pairs.len() < 79_800 / 4, "{} candidate pairs", pairs.len());
    assert!(clusters(&docs, &Thresholds::default()).is_empty());
}
