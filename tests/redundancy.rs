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
        embedding: None,
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
            embedding: None,
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

#[test]
fn embeddings_decide_when_both_projects_have_one() {
    let project = |name: &str, readme: &str, embedding: Option<Vec<f32>>| Project {
        repo: format!("acme/{name}"),
        readme: readme.to_owned(),
        api_names: Default::default(),
        health: if name.ends_with("new") { 0.9 } else { 0.2 },
        months_since_push: if name.ends_with("new") { 1.0 } else { 30.0 },
        embedding,
    };
    let corpus = vec![
        // The same tool in other words: no shared vocabulary, near embeddings.
        project(
            "csv-new",
            "Streaming reader for comma separated files with typed columns",
            Some(vec![0.9, 0.1, 0.0, 0.05]),
        ),
        project(
            "csv-old",
            "Parse tabular text quickly; rows become records",
            Some(vec![0.88, 0.12, 0.02, 0.0]),
        ),
        // Near-identical words, but embeddings that say they differ: the embeddings win.
        project(
            "image-new",
            "A small fast library to resize images and crop images",
            Some(vec![0.0, 0.0, 1.0, 0.0]),
        ),
        project(
            "image-old",
            "A small fast library to resize images and crop images",
            Some(vec![0.0, 0.0, 0.0, 1.0]),
        ),
    ];
    let found = clusters(&corpus, &Thresholds::default());
    let names: Vec<Vec<&str>> = found
        .iter()
        .map(|c| c.members.iter().map(|m| m.repo.as_str()).collect())
        .collect();
    assert_eq!(names, vec![vec!["acme/csv-new", "acme/csv-old"]]);
    let stale = &found[0].members[1];
    assert!(
        stale.readme_similarity > 0.99,
        "the embeddings' cosine: {stale:?}"
    );
    assert!(stale.archive);
}
