//! The graph metrics against networkx: every fixture graph in `tests/fixtures/graph/` with the
//! values `scripts/networkx_reference.py` computed (networkx 3.6.1; the script is the record of
//! how). PageRank and betweenness must agree within 1e-6, reach and in-degree exactly, and a
//! seeded betweenness sample must draw networkx's pivots and give its values.

use globallm::analysis::{
    self, Graph, PageRankOptions, Pivots, ReachMethod, betweenness, downstream_reach, pagerank,
};
use std::collections::HashMap;
use std::path::PathBuf;

const GRAPHS: [&str; 6] = [
    "small",
    "cycles",
    "disconnected",
    "dangling",
    "random_cycles",
    "scale_free",
];
const TOLERANCE: f64 = 1e-6;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/graph")
        .join(name)
}

fn load(name: &str) -> Graph {
    analysis::read_edge_list(&fixture(&format!("{name}.edges.tsv"))).expect("fixture graph")
}

/// A networkx output: comment lines (returned apart), a header, then one row per node.
struct Expected {
    comments: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Expected {
    fn read(file: &str) -> Self {
        let text = std::fs::read_to_string(fixture(file)).expect("expected values");
        let (comments, rest): (Vec<&str>, Vec<&str>) =
            text.lines().partition(|l| l.starts_with('#'));
        Self {
            comments: comments.into_iter().map(str::to_owned).collect(),
            rows: rest[1..]
                .iter()
                .map(|l| l.split('\t').map(str::to_owned).collect())
                .collect(),
        }
    }

    fn column(&self, index: usize) -> HashMap<&str, f64> {
        self.rows
            .iter()
            .map(|r| (r[0].as_str(), r[index].parse().expect("a number")))
            .collect()
    }
}

/// The largest difference between ours (by node index) and networkx's (by name).
fn max_difference(graph: &Graph, ours: &[f64], theirs: &HashMap<&str, f64>) -> f64 {
    assert_eq!(theirs.len(), graph.node_count());
    (0..graph.node_count() as u32)
        .map(|v| (ours[v as usize] - theirs[graph.name(v)]).abs())
        .fold(0.0, f64::max)
}

#[test]
fn nodes_are_numbered_in_networkx_order() {
    for name in GRAPHS {
        let graph = load(name);
        let expected = Expected::read(&format!("{name}.networkx.tsv"));
        let ours: Vec<&str> = (0..graph.node_count() as u32)
            .map(|v| graph.name(v))
            .collect();
        let theirs: Vec<&str> = expected.rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(ours, theirs, "{name}");
    }
}

#[test]
fn pagerank_agrees_with_networkx() {
    for name in GRAPHS {
        let graph = load(name);
        let expected = Expected::read(&format!("{name}.networkx.tsv"));
        let rank = pagerank(&graph, &PageRankOptions::default()).expect("converges");
        let difference = max_difference(&graph, &rank.scores, &expected.column(1));
        println!(
            "{name}: PageRank in {} iterations, max |ours - networkx| = {difference:e}",
            rank.iterations
        );
        assert!(difference <= TOLERANCE, "{name}: {difference}");
    }
}

#[test]
fn exact_betweenness_agrees_with_networkx() {
    for name in GRAPHS {
        let graph = load(name);
        let expected = Expected::read(&format!("{name}.networkx.tsv"));
        let ours = betweenness(&graph, &Pivots::All).expect("exact");
        let difference = max_difference(&graph, &ours.scores, &expected.column(2));
        println!("{name}: betweenness max |ours - networkx| = {difference:e}");
        assert!(difference <= TOLERANCE, "{name}: {difference}");
    }
}

#[test]
fn reach_and_in_degree_equal_networkx_ancestors_and_in_degree() {
    for name in GRAPHS {
        let graph = load(name);
        let expected = Expected::read(&format!("{name}.networkx.tsv"));
        let reach = downstream_reach(&graph, ReachMethod::Exact);
        let auto = downstream_reach(&graph, ReachMethod::Auto);
        assert!(
            reach.exact && auto.exact,
            "{name}: small graphs are counted exactly"
        );
        assert_eq!(auto, reach);
        let in_degrees = graph.in_degrees();
        for row in &expected.rows {
            let v = graph.index(&row[0]).expect("same nodes") as usize;
            assert_eq!(
                reach.counts[v].to_string(),
                row[3],
                "{name}: reach of {}",
                row[0]
            );
            assert_eq!(
                in_degrees[v].to_string(),
                row[4],
                "{name}: in-degree of {}",
                row[0]
            );
        }
    }
}

#[test]
fn sampled_betweenness_draws_networkx_pivots_and_agrees_with_it() {
    for (name, k, seed) in [
        ("scale_free", 64, 7),
        ("scale_free", 300, 42),
        ("random_cycles", 16, 3),
    ] {
        let graph = load(name);
        let expected = Expected::read(&format!("{name}.k{k}.seed{seed}.networkx.tsv"));
        let their_pivots: Vec<&str> = expected
            .comments
            .iter()
            .find_map(|c| c.strip_prefix("# pivots: "))
            .expect("a pivots line")
            .split('\t')
            .collect();
        let sampled = betweenness(&graph, &Pivots::Sample { k, seed }).expect("sampled");
        let our_pivots = sampled.pivots.as_ref().expect("a sample");
        let names: Vec<&str> = our_pivots.iter().map(|&p| graph.name(p)).collect();
        assert_eq!(names, their_pivots, "{name} k={k} seed={seed}");
        let difference = max_difference(&graph, &sampled.scores, &expected.column(1));
        println!("{name} k={k} seed={seed}: max |ours - networkx| = {difference:e}");
        assert!(difference <= TOLERANCE, "{name}: {difference}");
        // The same pivot set given explicitly gives the same values.
        let given = betweenness(&graph, &Pivots::Given(our_pivots.clone())).expect("given");
        assert_eq!(given.scores, sampled.scores);
        // A sample is not the exact value: the test would notice wrong scaling.
        let exact = betweenness(&graph, &Pivots::All).expect("exact");
        assert_ne!(exact.scores, sampled.scores);
    }
}

#[test]
fn estimated_reach_stays_within_its_stated_error() {
    let graph = load("scale_free");
    let exact = downstream_reach(&graph, ReachMethod::Exact);
    let estimate = downstream_reach(&graph, ReachMethod::Estimate);
    assert!(!estimate.exact);
    let mut squares = 0.0;
    let mut large = 0;
    let mut worst: f64 = 0.0;
    for (&e, &x) in estimate.counts.iter().zip(&exact.counts) {
        let error = f64::from(e) - f64::from(x);
        if x >= 100 {
            let relative = error / f64::from(x);
            squares += relative * relative;
            large += 1;
            worst = worst.max(relative.abs());
        } else {
            // Small reaches are nearly exact: sketches of a few elements rarely collide.
            assert!(error.abs() <= 2.0 + 0.1 * f64::from(x), "{e} for {x}");
        }
    }
    let rms = (squares / f64::from(large)).sqrt();
    println!("{large} nodes with reach >= 100: RMS relative error {rms:.4}, worst {worst:.4}");
    assert!(large > 50, "the fixture has large reaches");
    assert!(rms < 0.08, "RMS relative error {rms}");
    assert!(worst < 0.25, "worst relative error {worst}");
}
