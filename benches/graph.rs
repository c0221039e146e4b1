//! The graph metrics on a synthetic scale-free dependency graph (default 1,000,000 nodes and
//! 10,000,000 edges), phase by phase, in process; and the generator of that graph, which
//! `bench/graph.sh` uses to time the real binary against networkx.
//!
//! `cargo bench --bench graph [-- --nodes N --edges M --k K --seed S]` generates the graph into a
//! temporary file, reads it and times every phase; `--graph PATH` measures an existing file;
//! `--generate PATH` only writes the graph.
//!
//! The model (Price-style preferential attachment, like a package ecosystem): packages arrive
//! one by one; each depends on a number of earlier packages drawn uniformly from 0 to twice the
//! mean out-degree (`edges / nodes`); each dependency is, with probability 0.7, the target of a
//! uniformly chosen earlier edge (so a package is picked in proportion to its dependents — a
//! heavy-tailed in-degree) and otherwise a uniformly chosen earlier package. One edge in 10,000
//! points from an older package to a newer one, making some cycles. Lines come grouped by
//! dependent, as a registry dump would list them.

use globallm::analysis::{
    self, PageRankOptions, Pivots, ReachMethod, betweenness, downstream_reach, pagerank,
};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .and_then(|v| v.parse().ok())
}

fn main() {
    let nodes: u32 = arg("--nodes").unwrap_or(1_000_000);
    let edges: u64 = arg("--edges").unwrap_or(10_000_000);
    let seed: u64 = arg("--seed").unwrap_or(1);
    if let Some(path) = arg::<PathBuf>("--generate") {
        let started = Instant::now();
        generate(&path, nodes, edges, seed).expect("writes the graph");
        eprintln!(
            "generated {} ({nodes} nodes, {edges} edges) in {:.1} s",
            path.display(),
            started.elapsed().as_secs_f64()
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = match arg::<PathBuf>("--graph") {
        Some(path) => path,
        None => {
            let path = dir.path().join("edges.tsv");
            generate(&path, nodes, edges, seed).expect("writes the graph");
            path
        }
    };
    measure(&path, arg("--k").unwrap_or(256));
}

fn measure(path: &Path, k: usize) {
    let size = std::fs::metadata(path).expect("the graph file").len();
    let started = Instant::now();
    let graph = analysis::read_edge_list(path).expect("reads");
    println!(
        "read {:.0} MB: {} nodes, {} distinct edges in {:.2} s (graph holds {:.0} MB)",
        size as f64 / 1e6,
        graph.node_count(),
        graph.edge_count(),
        started.elapsed().as_secs_f64(),
        graph.heap_bytes() as f64 / 1e6
    );

    let phase = Instant::now();
    let rank = pagerank(&graph, &PageRankOptions::default()).expect("converges");
    println!(
        "pagerank (networkx tolerance N·1e-6): {} iterations in {:.3} s",
        rank.iterations,
        phase.elapsed().as_secs_f64()
    );
    // networkx's tolerance grows with N, so a big graph stops after a few iterations; time a
    // full 100 as well (a tolerance no iteration meets), the cost of a strict convergence.
    let strict = PageRankOptions {
        tolerance: 0.0,
        ..PageRankOptions::default()
    };
    let phase = Instant::now();
    let failed = pagerank(&graph, &strict).expect_err("a tolerance of 0 is never met");
    println!(
        "pagerank: {} iterations in {:.3} s ({:.1} ms per iteration; last L1 change {:.1e})",
        failed.iterations,
        phase.elapsed().as_secs_f64(),
        phase.elapsed().as_secs_f64() * 1e3 / failed.iterations as f64,
        failed.last_change
    );

    let phase = Instant::now();
    let b = betweenness(&graph, &Pivots::Sample { k, seed: 0 }).expect("sampled");
    println!(
        "betweenness: {k} pivots in {:.3} s ({:.1} ms per pivot); top score {:.3e}",
        phase.elapsed().as_secs_f64(),
        phase.elapsed().as_secs_f64() * 1e3 / k as f64,
        b.scores.iter().copied().fold(0.0, f64::max)
    );

    let phase = Instant::now();
    let reach = downstream_reach(&graph, ReachMethod::Auto);
    println!(
        "reach: {} in {:.3} s; {} strongly connected components, largest reach {}",
        if reach.exact { "exact" } else { "estimated" },
        phase.elapsed().as_secs_f64(),
        reach.components,
        reach.counts.iter().max().copied().unwrap_or(0)
    );

    let phase = Instant::now();
    let ranks = analysis::percentile_ranks(&rank.scores);
    println!(
        "pagerank percentiles: {:.3} s (median node at {:.1})",
        phase.elapsed().as_secs_f64(),
        ranks.get(ranks.len() / 2).copied().unwrap_or(0.0)
    );
    println!("total: {:.2} s", started.elapsed().as_secs_f64());
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM"))
    {
        println!("peak memory: {}", line.trim_start_matches("VmHWM:").trim());
    }
}

/// Writes the synthetic graph described in the module docs.
fn generate(path: &Path, nodes: u32, edges: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mean = (edges as f64 / f64::from(nodes)).max(1.0);
    let max_degree = (2.0 * mean).round() as u32;
    let mut targets: Vec<u32> = Vec::with_capacity(edges as usize);
    let mut written = 0u64;
    let mut chosen = Vec::new();
    writeln!(
        out,
        "# synthetic scale-free dependency graph: {nodes} nodes, {edges} edges, seed {seed}"
    )?;
    for v in 1..nodes {
        if written >= edges {
            break;
        }
        let remaining_nodes = u64::from(nodes - v);
        let left = edges - written;
        // Spend what is left evenly if the draw would run out before the last node.
        let degree = if left > remaining_nodes * u64::from(max_degree) {
            u64::from(max_degree)
        } else {
            u64::from(rng.u32(0..=max_degree)).min(left)
        };
        let degree = degree.min(u64::from(v)) as usize;
        chosen.clear();
        while chosen.len() < degree {
            let target = if !targets.is_empty() && rng.f32() < 0.7 {
                targets[rng.usize(0..targets.len())]
            } else {
                rng.u32(0..v)
            };
            let target = if rng.u32(0..10_000) == 0 {
                // An edge to a newer package: a cycle whenever that one depends back on it.
                rng.u32(v..nodes)
            } else {
                target
            };
            if target != v && !chosen.contains(&target) {
                chosen.push(target);
            }
        }
        for &t in &chosen {
            writeln!(out, "pkg{v}\tpkg{t}")?;
            targets.push(t);
        }
        written += chosen.len() as u64;
    }
    out.flush()
}
