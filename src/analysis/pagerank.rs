//! PageRank with networkx's semantics (`nx.pagerank` with no personalization, no weights and
//! no `dangling` dict): uniform start and teleport, dangling nodes' mass spread uniformly,
//! stop when the L1 change of an iteration falls below `N · tol`, fail after `max_iter`
//! iterations. Sparse power iteration pulling over the in-rows, in parallel.

use super::graph::Graph;
use rayon::prelude::*;

/// The parameters of [`pagerank`], networkx's defaults unless changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageRankOptions {
    /// The damping factor (networkx's `alpha`).
    pub alpha: f64,
    /// Per-node tolerance: iteration stops when the L1 change is below `N · tolerance`
    /// (networkx's `tol`).
    pub tolerance: f64,
    /// Iterations before giving up (networkx's `max_iter`).
    pub max_iterations: usize,
}

impl Default for PageRankOptions {
    fn default() -> Self {
        Self {
            alpha: 0.85,
            tolerance: 1e-6,
            max_iterations: 100,
        }
    }
}

/// The scores and how they were reached.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRank {
    /// One score per node, in index order; they sum to 1 (up to rounding).
    pub scores: Vec<f64>,
    /// Iterations run.
    pub iterations: usize,
    /// The L1 change of the last iteration.
    pub last_change: f64,
}

/// PageRank did not converge (networkx raises `PowerIterationFailedConvergence`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "PageRank did not converge in {iterations} iterations: the last L1 change was {last_change:e}, above the tolerance {threshold:e}"
)]
pub struct PowerIterationFailedConvergence {
    /// Iterations run.
    pub iterations: usize,
    /// The L1 change of the last one.
    pub last_change: f64,
    /// What it had to fall below (`N · tolerance`).
    pub threshold: f64,
}

/// Rows per parallel task: enough work to amortize the task, small enough to balance.
const CHUNK: usize = 16 * 1024;

/// Computes PageRank.
///
/// # Errors
/// When the L1 change is still at or above `N · tolerance` after `max_iterations` iterations.
pub fn pagerank(
    graph: &Graph,
    options: &PageRankOptions,
) -> Result<PageRank, PowerIterationFailedConvergence> {
    let n = graph.node_count();
    if n == 0 {
        return Ok(PageRank {
            scores: Vec::new(),
            iterations: 0,
            last_change: 0.0,
        });
    }
    let (out_offsets, _) = graph.out_csr();
    let (in_offsets, in_sources) = graph.in_csr();
    let alpha = options.alpha;
    let uniform = 1.0 / n as f64;
    let threshold = n as f64 * options.tolerance;
    // networkx scales each row by the inverse of its out-degree (0 for dangling nodes).
    let inverse_out: Vec<f64> = out_offsets
        .par_windows(2)
        .map(|w| match w[1] - w[0] {
            0 => 0.0,
            d => 1.0 / d as f64,
        })
        .collect();
    let dangling: Vec<u32> = (0..n as u32)
        .filter(|&v| out_offsets[v as usize + 1] == out_offsets[v as usize])
        .collect();
    let mut x = vec![uniform; n];
    let mut next = vec![0.0; n];
    let mut share = vec![0.0; n];
    let mut last_change = f64::INFINITY;
    for iteration in 1..=options.max_iterations {
        share
            .par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK).zip(inverse_out.par_chunks(CHUNK)))
            .for_each(|(share, (x, inverse))| {
                for ((s, &x), &inverse) in share.iter_mut().zip(x).zip(inverse) {
                    *s = x * inverse;
                }
            });
        let dangling_mass: f64 = dangling.iter().map(|&v| x[v as usize]).sum();
        let base = alpha * dangling_mass * uniform + (1.0 - alpha) * uniform;
        last_change = next
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(chunk, next)| {
                let first = chunk * CHUNK;
                let mut change = 0.0;
                for (i, value) in next.iter_mut().enumerate() {
                    let v = first + i;
                    let pulled: f64 = in_sources[in_offsets[v]..in_offsets[v + 1]]
                        .iter()
                        .map(|&u| share[u as usize])
                        .sum();
                    *value = alpha * pulled + base;
                    change += (*value - x[v]).abs();
                }
                change
            })
            .sum();
        std::mem::swap(&mut x, &mut next);
        if last_change < threshold {
            return Ok(PageRank {
                scores: x,
                iterations: iteration,
                last_change,
            });
        }
    }
    Err(PowerIterationFailedConvergence {
        iterations: options.max_iterations,
        last_change,
        threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_two_cycle_splits_rank_evenly() {
        let graph = Graph::from_edges([("a", "b"), ("b", "a")]).expect("small");
        let rank = pagerank(&graph, &PageRankOptions::default()).expect("converges");
        assert!(close(rank.scores[0], 0.5) && close(rank.scores[1], 0.5));
    }

    #[test]
    fn a_dangling_dependency_gets_the_closed_form_score() {
        // a -> b, b dangling: x_a = 0.85 · x_b / 2 + 0.15 / 2 with x_a + x_b = 1, so
        // x_a = 0.5 / 1.425.
        let graph = Graph::from_edges([("a", "b")]).expect("small");
        let options = PageRankOptions {
            tolerance: 1e-15,
            ..PageRankOptions::default()
        };
        let rank = pagerank(&graph, &options).expect("converges");
        let x_a = 0.5 / 1.425;
        assert!((rank.scores[0] - x_a).abs() < 1e-12, "{rank:?} vs {x_a}");
        assert!((rank.scores[0] + rank.scores[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn too_few_iterations_is_the_networkx_error() {
        let graph =
            Graph::from_edges([("a", "b"), ("b", "c"), ("c", "a"), ("c", "b")]).expect("small");
        let options = PageRankOptions {
            max_iterations: 2,
            tolerance: 1e-12,
            ..PageRankOptions::default()
        };
        let err = pagerank(&graph, &options).expect_err("cannot converge in 2 iterations");
        assert_eq!(err.iterations, 2);
        assert!(err.last_change >= err.threshold);
    }

    #[test]
    fn the_empty_graph_has_no_scores() {
        let graph = Graph::from_edges([]).expect("empty");
        let rank = pagerank(&graph, &PageRankOptions::default()).expect("trivially");
        assert!(rank.scores.is_empty());
    }
}
