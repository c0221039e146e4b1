//! `globallm analyze --graph`, run as the real binary on the fixture graphs: the TSV it writes
//! agrees with networkx, the timings go to stderr, and bad input fails with the line named.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/graph")
        .join(name)
        .display()
        .to_string()
}

fn globallm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_globallm"))
        .args(args)
        .env_clear()
        .output()
        .expect("the binary runs")
}

/// Rows of a TSV by their first column, comments and the header left out.
fn rows(text: &str) -> HashMap<String, Vec<String>> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| {
            let fields: Vec<String> = l.split('\t').map(str::to_owned).collect();
            (fields[0].clone(), fields)
        })
        .collect()
}

fn number(field: &str) -> f64 {
    field.parse().expect("a number")
}

#[test]
fn analyze_writes_every_metric_of_every_node_as_networkx_computes_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("metrics.tsv");
    let output = globallm(&[
        "analyze",
        "--graph",
        &fixture("scale_free.edges.tsv"),
        "--out",
        &out.display().to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(output.stdout.is_empty());
    for phase in [
        "read: 1904 nodes, 7697 distinct edges in ",
        "pagerank: ",
        "betweenness: exact in ",
        "reach: exact (",
        "in-degree: ",
        "write: ",
        "total: ",
    ] {
        assert!(stderr.contains(phase), "no `{phase}` in:\n{stderr}");
    }
    let written = std::fs::read_to_string(&out).expect("the metrics file");
    assert!(written.starts_with("node\tpagerank\tbetweenness\treach\tin_degree\n"));
    let ours = rows(&written);
    let theirs = rows(&std::fs::read_to_string(fixture("scale_free.networkx.tsv")).expect("reads"));
    assert_eq!(ours.len(), theirs.len());
    for (node, expected) in &theirs {
        let row = &ours[node];
        for column in [1, 2] {
            let difference = (number(&row[column]) - number(&expected[column])).abs();
            assert!(
                difference <= 1e-6,
                "{node} column {column}: {row:?} vs {expected:?}"
            );
        }
        assert_eq!(row[3..], expected[3..], "{node}: reach and in-degree");
    }
}

#[test]
fn analyze_samples_pivots_like_networkx_and_prints_to_stdout() {
    let output = globallm(&[
        "analyze",
        "--graph",
        &fixture("scale_free.edges.tsv"),
        "--k",
        "64",
        "--seed",
        "7",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("betweenness: 64 pivots (seed 7) in "),
        "{stderr}"
    );
    let ours = rows(&String::from_utf8_lossy(&output.stdout));
    let theirs = rows(
        &std::fs::read_to_string(fixture("scale_free.k64.seed7.networkx.tsv")).expect("reads"),
    );
    assert_eq!(ours.len(), 1904);
    for (node, expected) in &theirs {
        let difference = (number(&ours[node][2]) - number(&expected[1])).abs();
        assert!(
            difference <= 1e-6,
            "{node}: {} vs {}",
            ours[node][2],
            expected[1]
        );
    }
}

#[test]
fn a_malformed_line_fails_with_its_number() {
    let dir = tempfile::tempdir().expect("temp dir");
    let graph = dir.path().join("bad.tsv");
    std::fs::write(&graph, "# deps\na\tb\nb c\n").expect("writes");
    let output = globallm(&["analyze", "--graph", &graph.display().to_string()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.tsv: line 3: expected `dependent<TAB>dependency`, found no tab"),
        "{stderr}"
    );
}

#[test]
fn analyze_needs_a_graph_and_a_usable_k() {
    let output = globallm(&["analyze"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&output.stderr).contains("--graph"));

    let output = globallm(&[
        "analyze",
        "--graph",
        &fixture("small.edges.tsv"),
        "--k",
        "11",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot take 11 pivots from a graph of 10 nodes"),
        "{stderr}"
    );

    let output = globallm(&["analyze", "--graph", "/nonexistent/edges.tsv"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/edges.tsv"));
}
