//! Betweenness centrality by Brandes' algorithm with networkx's semantics
//! (`nx.betweenness_centrality(G, k, normalized=True, endpoints=False, seed)` on a directed
//! graph): exact over every source, or from `k` pivots drawn as networkx draws them.
//!
//! Each source costs one BFS and one backward sweep over the out-rows, O(E) time; the
//! sources are split over the cores, each with its own O(N) scratch and accumulator. The
//! backward sweep walks successors on the shortest-path DAG rather than keeping predecessor
//! lists, so no per-source lists are allocated.

use super::graph::Graph;
use super::pyrandom::PyRandom;
use rayon::prelude::*;

/// Which sources the shortest paths are counted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pivots {
    /// Every node: exact betweenness, O(N·E).
    All,
    /// `k` pivots drawn like networkx's `seed.sample(list(G), k)` with
    /// `seed = random.Random(seed)`; `k` equal to the node count is exact, as in networkx.
    Sample {
        /// How many pivots.
        k: usize,
        /// The seed of Python's Mersenne Twister.
        seed: u64,
    },
    /// These distinct nodes, scaled as a sample of their size (to check against networkx with
    /// a pivot set chosen elsewhere).
    Given(Vec<u32>),
}

/// Pivots that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BetweennessError {
    /// More pivots than nodes (networkx's `sample` raises `ValueError`).
    #[error("cannot take {k} pivots from a graph of {nodes} nodes")]
    TooManyPivots {
        /// Pivots asked for.
        k: usize,
        /// Nodes there are.
        nodes: usize,
    },
    /// Fewer than two pivots: networkx scales a pivot's own score by `1 / ((k - 1)(n - 2))`,
    /// undefined (NaN) for one.
    #[error("at least 2 pivots are needed, {k} given")]
    TooFewPivots {
        /// Pivots asked for.
        k: usize,
    },
    /// A given pivot is not a node, or is given twice.
    #[error("pivot {0} is not a node of the graph or is given twice")]
    BadPivot(u32),
}

/// Betweenness scores and the sources they were counted from.
#[derive(Debug, Clone, PartialEq)]
pub struct Betweenness {
    /// One normalized score per node, in index order.
    pub scores: Vec<f64>,
    /// The pivots, in the order they were drawn; `None` when every node was a source.
    pub pivots: Option<Vec<u32>>,
}

/// Computes betweenness centrality.
///
/// # Errors
/// When the pivots cannot be used (see [`BetweennessError`]).
pub fn betweenness(graph: &Graph, pivots: &Pivots) -> Result<Betweenness, BetweennessError> {
    let n = graph.node_count();
    let chosen: Option<Vec<u32>> = match pivots {
        Pivots::All => None,
        Pivots::Sample { k, .. } if *k == n => None,
        Pivots::Sample { k, .. } if *k > n => {
            return Err(BetweennessError::TooManyPivots { k: *k, nodes: n });
        }
        Pivots::Sample { k, seed } => Some(PyRandom::new(*seed).sample(n as u32, *k as u32)),
        Pivots::Given(given) => {
            let mut seen = vec![false; n];
            for &p in given {
                match seen.get_mut(p as usize) {
                    Some(seen) if !*seen => *seen = true,
                    _ => return Err(BetweennessError::BadPivot(p)),
                }
            }
            (given.len() < n).then(|| given.clone())
        }
    };
    if let Some(chosen) = &chosen
        && chosen.len() < 2
    {
        return Err(BetweennessError::TooFewPivots { k: chosen.len() });
    }
    let sources: Vec<u32> = match &chosen {
        Some(chosen) => chosen.clone(),
        None => (0..n as u32).collect(),
    };
    let mut scores = accumulate(graph, &sources);
    rescale(&mut scores, chosen.as_deref());
    Ok(Betweenness {
        scores,
        pivots: chosen,
    })
}

/// The raw (unnormalized) sums of pair dependencies over `sources`.
fn accumulate(graph: &Graph, sources: &[u32]) -> Vec<f64> {
    let n = graph.node_count();
    if sources.is_empty() {
        return vec![0.0; n];
    }
    // A few tasks per core balance uneven sources and a core that joins late (reach runs
    // beside betweenness); partial sums are added in a fixed order, so a run gives the same
    // floats every time.
    let tasks = (rayon::current_num_threads() * 4).clamp(1, sources.len());
    let per_task = sources.len().div_ceil(tasks);
    let partials: Vec<Vec<f64>> = sources
        .par_chunks(per_task)
        .map(|sources| {
            let mut scratch = Scratch::new(n);
            let mut sums = vec![0.0; n];
            for &s in sources {
                scratch.single_source(graph, s, &mut sums);
            }
            sums
        })
        .collect();
    let mut partials = partials.into_iter();
    let mut total = partials.next().unwrap_or_else(|| vec![0.0; n]);
    for partial in partials {
        for (t, p) in total.iter_mut().zip(partial) {
            *t += p;
        }
    }
    total
}

const UNSEEN: u32 = u32::MAX;

/// One source's BFS state, reset after each source by walking only the nodes it reached.
struct Scratch {
    nodes: Vec<NodeState>,
    order: Vec<u32>,
}

/// What one BFS knows of a node, kept together: each edge looked at reads one cache line, not
/// one per array (the walk is bound by memory, not arithmetic).
#[derive(Clone, Copy)]
struct NodeState {
    /// Shortest paths from the source.
    sigma: f64,
    /// The source's dependency on the node.
    delta: f64,
    /// Distance from the source, or [`UNSEEN`].
    dist: u32,
}

const FRESH: NodeState = NodeState {
    sigma: 0.0,
    delta: 0.0,
    dist: UNSEEN,
};

impl Scratch {
    fn new(n: usize) -> Self {
        Self {
            nodes: vec![FRESH; n],
            order: Vec::new(),
        }
    }

    /// Adds the dependencies of source `s` to `sums`.
    fn single_source(&mut self, graph: &Graph, s: u32, sums: &mut [f64]) {
        let (offsets, targets) = graph.out_csr();
        let Self { nodes, order } = self;
        order.clear();
        nodes[s as usize].dist = 0;
        nodes[s as usize].sigma = 1.0;
        order.push(s);
        let mut head = 0;
        while head < order.len() {
            let v = order[head] as usize;
            head += 1;
            let NodeState { dist, sigma, .. } = nodes[v];
            let next = dist + 1;
            for &w in &targets[offsets[v]..offsets[v + 1]] {
                let node = &mut nodes[w as usize];
                if node.dist == UNSEEN {
                    node.dist = next;
                    order.push(w);
                }
                if node.dist == next {
                    node.sigma += sigma;
                }
            }
        }
        // Backward in BFS order: every successor on a shortest path is one level further,
        // so it is finished before `v`.
        for &v in order.iter().rev() {
            let v = v as usize;
            let next = nodes[v].dist + 1;
            let mut coefficient = 0.0;
            for &w in &targets[offsets[v]..offsets[v + 1]] {
                let node = &nodes[w as usize];
                if node.dist == next {
                    coefficient += (1.0 + node.delta) / node.sigma;
                }
            }
            nodes[v].delta = nodes[v].sigma * coefficient;
        }
        for &v in order.iter() {
            let v = v as usize;
            if v != s as usize {
                sums[v] += nodes[v].delta;
            }
            nodes[v] = FRESH;
        }
    }
}

/// networkx's `_rescale` for `normalized=True, endpoints=False` on a directed graph (3.5 and
/// later): `1 / ((n - 1)(n - 2))` exactly; with `k` sampled pivots, `1 / ((k - 1)(n - 2))` for
/// a pivot and `1 / (k (n - 2))` for any other node.
fn rescale(scores: &mut [f64], pivots: Option<&[u32]>) {
    let n = scores.len();
    if n < 3 {
        return;
    }
    let pairs_through = (n - 2) as f64;
    match pivots {
        None => {
            let scale = 1.0 / ((n - 1) as f64 * pairs_through);
            scores.iter_mut().for_each(|s| *s *= scale);
        }
        Some(pivots) => {
            let k = pivots.len() as f64;
            let other = 1.0 / (k * pairs_through);
            let pivot = 1.0 / ((k - 1.0) * pairs_through);
            let mut is_pivot = vec![false; n];
            for &p in pivots {
                is_pivot[p as usize] = true;
            }
            for (s, is_pivot) in scores.iter_mut().zip(is_pivot) {
                *s *= if is_pivot { pivot } else { other };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_middle_of_a_path_carries_every_path() {
        // a -> b -> c: only (a, c) has an inner node; normalized by (n-1)(n-2) = 2.
        let graph = Graph::from_edges([("a", "b"), ("b", "c")]).expect("small");
        let b = betweenness(&graph, &Pivots::All).expect("exact");
        assert_eq!(b.scores, vec![0.0, 0.5, 0.0]);
        assert_eq!(b.pivots, None);
    }

    #[test]
    fn shortest_paths_split_between_equal_routes() {
        // s -> {x, y} -> t: the pair (s, t) has two shortest paths, one through each.
        let graph =
            Graph::from_edges([("s", "x"), ("s", "y"), ("x", "t"), ("y", "t")]).expect("small");
        let b = betweenness(&graph, &Pivots::All).expect("exact");
        let x = graph.index("x").expect("node") as usize;
        assert!((b.scores[x] - 0.5 / 6.0).abs() < 1e-15, "{:?}", b.scores);
    }

    #[test]
    fn pivots_are_checked() {
        let graph = Graph::from_edges([("a", "b"), ("b", "c")]).expect("small");
        assert_eq!(
            betweenness(&graph, &Pivots::Sample { k: 4, seed: 1 }),
            Err(BetweennessError::TooManyPivots { k: 4, nodes: 3 })
        );
        assert_eq!(
            betweenness(&graph, &Pivots::Sample { k: 1, seed: 1 }),
            Err(BetweennessError::TooFewPivots { k: 1 })
        );
        assert_eq!(
            betweenness(&graph, &Pivots::Given(vec![0, 0])),
            Err(BetweennessError::BadPivot(0))
        );
        assert_eq!(
            betweenness(&graph, &Pivots::Given(vec![0, 7])),
            Err(BetweennessError::BadPivot(7))
        );
        // k = n is the exact computation, as in networkx.
        let all = betweenness(&graph, &Pivots::Sample { k: 3, seed: 1 }).expect("exact");
        assert_eq!(all.pivots, None);
        assert_eq!(all.scores, vec![0.0, 0.5, 0.0]);
    }
}
