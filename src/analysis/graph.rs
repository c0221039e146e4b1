//! The compact directed graph the metrics run on: node ids (strings) interned to dense `u32`
//! indices in order of first appearance, and the adjacency in CSR form both ways.
//!
//! Edges point from dependent to dependency. Parallel edges collapse into one and self-loops are
//! kept, exactly as `networkx.DiGraph` stores the same edge list, so every metric can be compared
//! with networkx node for node.

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

/// The node ids of a graph, interned: each distinct string gets the next dense index.
#[derive(Default, Clone)]
pub struct NodeNames {
    /// Every name, concatenated.
    text: String,
    /// `ends[i]` is where name `i` ends in `text` (it starts where name `i - 1` ends).
    ends: Vec<usize>,
    /// The names found by their hash. Each entry carries where its name lies in `text`, so
    /// a lookup reads the table and the text only: interning ten million edges is bound by
    /// cache misses, and `ends` would be a third one.
    table: HashTable<Slot>,
    hasher: FxBuildHasher,
}

/// A name in the table: its index, where it lies in the text, and its first bytes. A name
/// that fits in `head` is compared there, without reading the text at all.
#[derive(Debug, Clone, Copy)]
struct Slot {
    start: usize,
    len: u32,
    index: u32,
    head: [u8; HEAD],
}

/// Names up to this long are compared inside the table.
const HEAD: usize = 16;

impl Slot {
    fn new(start: usize, name: &str, index: u32) -> Result<Self, TooManyNodes> {
        let len = u32::try_from(name.len()).map_err(|_| TooManyNodes)?;
        let mut head = [0; HEAD];
        let shown = name.len().min(HEAD);
        head[..shown].copy_from_slice(&name.as_bytes()[..shown]);
        Ok(Slot {
            start,
            len,
            index,
            head,
        })
    }

    fn name<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start..self.start + self.len as usize]
    }

    fn is(&self, name: &str, text: &str) -> bool {
        if self.len as usize != name.len() {
            return false;
        }
        if name.len() <= HEAD {
            &self.head[..name.len()] == name.as_bytes()
        } else {
            self.head == name.as_bytes()[..HEAD] && self.name(text) == name
        }
    }
}

impl NodeNames {
    /// How many names there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The name of node `index`.
    ///
    /// # Panics
    /// When `index` is not a node of this graph.
    pub fn name(&self, index: u32) -> &str {
        let index = index as usize;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.text[start..self.ends[index]]
    }

    /// The index of the node called `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        self.table
            .find(hash, |slot| slot.is(name, &self.text))
            .map(|slot| slot.index)
    }

    /// The index of `name`, adding it as the next node when it is new.
    ///
    /// # Errors
    /// When the graph already holds `u32::MAX` nodes, or `name` is 4 GiB long.
    pub fn intern(&mut self, name: &str) -> Result<u32, TooManyNodes> {
        let hash = self.hasher.hash_one(name);
        let Self {
            text,
            ends,
            table,
            hasher,
        } = self;
        if let Some(slot) = table.find(hash, |slot| slot.is(name, text)) {
            return Ok(slot.index);
        }
        let index = u32::try_from(ends.len()).map_err(|_| TooManyNodes)?;
        if index == u32::MAX {
            return Err(TooManyNodes);
        }
        let slot = Slot::new(text.len(), name, index)?;
        text.push_str(name);
        ends.push(text.len());
        table.insert_unique(hash, slot, |slot| hasher.hash_one(slot.name(text)));
        Ok(index)
    }
}

impl std::fmt::Debug for NodeNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeNames")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// A graph cannot hold more than `u32::MAX` nodes (indices are `u32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more than {} distinct nodes", u32::MAX)]
pub struct TooManyNodes;

/// A directed graph in compressed sparse row form, both ways.
#[derive(Debug, Clone)]
pub struct Graph {
    names: NodeNames,
    out_offsets: Vec<usize>,
    out_targets: Vec<u32>,
    in_offsets: Vec<usize>,
    in_sources: Vec<u32>,
}

impl Graph {
    /// Builds a graph from named edges `(dependent, dependency)`, for tests and small graphs.
    ///
    /// # Errors
    /// When there are more than `u32::MAX` distinct names.
    pub fn from_edges<'a>(
        edges: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, TooManyNodes> {
        let mut names = NodeNames::default();
        let mut pairs = Vec::new();
        for (dependent, dependency) in edges {
            let from = names.intern(dependent)?;
            let to = names.intern(dependency)?;
            pairs.push((from, to));
        }
        Ok(Self::from_parts(names, &[pairs]))
    }

    /// Builds the graph from interned names and edges given by index, in any number of batches
    /// (the edge-list reader hands over one batch per thread). Parallel edges collapse into one.
    ///
    /// # Panics
    /// When an edge names an index that `names` does not hold.
    pub fn from_parts(names: NodeNames, batches: &[Vec<(u32, u32)>]) -> Self {
        let n = names.len();
        // Bucket by dependency first, then by dependent: each out-row comes out sorted, so
        // duplicates are neighbours and collapse in one pass, with no comparison sort.
        let (by_target_offsets, by_target_sources) = {
            let mut counts = vec![0usize; n + 1];
            for &(_, to) in batches.iter().flatten() {
                counts[to as usize + 1] += 1;
            }
            prefix_sum(&mut counts);
            let mut next = counts.clone();
            let mut sources = vec![0u32; counts[n]];
            for &(from, to) in batches.iter().flatten() {
                sources[next[to as usize]] = from;
                next[to as usize] += 1;
            }
            (counts, sources)
        };
        let mut out_offsets = vec![0usize; n + 1];
        for &from in &by_target_sources {
            out_offsets[from as usize + 1] += 1;
        }
        prefix_sum(&mut out_offsets);
        let mut next = out_offsets.clone();
        let mut out_targets = vec![0u32; by_target_sources.len()];
        for to in 0..n {
            for &from in &by_target_sources[by_target_offsets[to]..by_target_offsets[to + 1]] {
                out_targets[next[from as usize]] = to as u32;
                next[from as usize] += 1;
            }
        }
        drop(by_target_sources);
        drop(by_target_offsets);
        // Collapse parallel edges in place.
        let mut write = 0;
        let mut row_start = 0;
        for node in 0..n {
            let row_end = out_offsets[node + 1];
            let mut last = None;
            for read in row_start..row_end {
                let target = out_targets[read];
                if last != Some(target) {
                    out_targets[write] = target;
                    write += 1;
                    last = Some(target);
                }
            }
            row_start = row_end;
            out_offsets[node + 1] = write;
        }
        out_targets.truncate(write);
        out_targets.shrink_to_fit();
        // The reverse rows, filled in increasing dependent order, come out sorted too.
        let mut in_offsets = vec![0usize; n + 1];
        for &to in &out_targets {
            in_offsets[to as usize + 1] += 1;
        }
        prefix_sum(&mut in_offsets);
        let mut next = in_offsets.clone();
        let mut in_sources = vec![0u32; out_targets.len()];
        for from in 0..n {
            for &to in &out_targets[out_offsets[from]..out_offsets[from + 1]] {
                in_sources[next[to as usize]] = from as u32;
                next[to as usize] += 1;
            }
        }
        Self {
            names,
            out_offsets,
            out_targets,
            in_offsets,
            in_sources,
        }
    }

    /// How many nodes.
    pub fn node_count(&self) -> usize {
        self.names.len()
    }

    /// How many distinct edges (self-loops included, parallel edges counted once).
    pub fn edge_count(&self) -> usize {
        self.out_targets.len()
    }

    /// The node ids.
    pub fn names(&self) -> &NodeNames {
        &self.names
    }

    /// The name of node `index`.
    pub fn name(&self, index: u32) -> &str {
        self.names.name(index)
    }

    /// The index of the node called `name`.
    pub fn index(&self, name: &str) -> Option<u32> {
        self.names.get(name)
    }

    /// The dependencies of `node` (its out-neighbours), sorted.
    pub fn successors(&self, node: u32) -> &[u32] {
        let node = node as usize;
        &self.out_targets[self.out_offsets[node]..self.out_offsets[node + 1]]
    }

    /// The direct dependents of `node` (its in-neighbours), sorted.
    pub fn predecessors(&self, node: u32) -> &[u32] {
        let node = node as usize;
        &self.in_sources[self.in_offsets[node]..self.in_offsets[node + 1]]
    }

    /// How many dependencies `node` has (a self-loop counts once).
    pub fn out_degree(&self, node: u32) -> usize {
        let node = node as usize;
        self.out_offsets[node + 1] - self.out_offsets[node]
    }

    /// How many direct dependents `node` has; a self-loop counts once, as in networkx's
    /// `in_degree`.
    pub fn in_degree(&self, node: u32) -> usize {
        let node = node as usize;
        self.in_offsets[node + 1] - self.in_offsets[node]
    }

    /// The in-degree of every node, in index order.
    pub fn in_degrees(&self) -> Vec<usize> {
        self.in_offsets.windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// The out-rows as CSR arrays: row `v` is `targets[offsets[v]..offsets[v + 1]]`.
    pub fn out_csr(&self) -> (&[usize], &[u32]) {
        (&self.out_offsets, &self.out_targets)
    }

    /// The in-rows as CSR arrays: row `v` is `sources[offsets[v]..offsets[v + 1]]`.
    pub fn in_csr(&self) -> (&[usize], &[u32]) {
        (&self.in_offsets, &self.in_sources)
    }

    /// Bytes held by the adjacency and the names, for the benchmark's memory figures.
    pub fn heap_bytes(&self) -> usize {
        (self.out_offsets.capacity() + self.in_offsets.capacity()) * size_of::<usize>()
            + (self.out_targets.capacity() + self.in_sources.capacity()) * size_of::<u32>()
            + self.names.text.capacity()
            + self.names.ends.capacity() * size_of::<usize>()
            + self.names.table.capacity() * (size_of::<Slot>() + 1)
    }
}

/// Turns counts at `[i + 1]` into start offsets at `[i]`.
fn prefix_sum(counts: &mut [usize]) {
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_interned_in_order_of_first_appearance() {
        let mut names = NodeNames::default();
        assert_eq!(names.intern("b").expect("fits"), 0);
        assert_eq!(names.intern("a").expect("fits"), 1);
        assert_eq!(names.intern("b").expect("fits"), 0);
        assert_eq!(names.len(), 2);
        assert_eq!(names.name(1), "a");
        assert_eq!(names.get("a"), Some(1));
        assert_eq!(names.get("c"), None);
    }

    #[test]
    fn long_names_sharing_a_prefix_and_short_names_of_one_length_stay_apart() {
        let mut names = NodeNames::default();
        let long = [
            "github.com/example/module-one",
            "github.com/example/module-two",
            "github.com/example/module",
            "github.com/exampl",
        ];
        let short = ["abcdefghijklmnop", "abcdefghijklmnoq", "", "a"];
        let all: Vec<&str> = long.iter().chain(&short).copied().collect();
        for (i, name) in all.iter().enumerate() {
            assert_eq!(names.intern(name).expect("fits"), i as u32, "{name}");
        }
        for (i, name) in all.iter().enumerate() {
            assert_eq!(names.intern(name).expect("fits"), i as u32, "{name} again");
            assert_eq!(names.get(name), Some(i as u32));
            assert_eq!(names.name(i as u32), *name);
        }
        assert_eq!(names.get("github.com/example/module-thr"), None);
        assert_eq!(names.get("abcdefghijklmnor"), None);
    }

    #[test]
    fn parallel_edges_collapse_and_self_loops_stay() {
        let graph = Graph::from_edges([
            ("app", "lib"),
            ("app", "lib"),
            ("app", "core"),
            ("lib", "core"),
            ("core", "core"),
        ])
        .expect("small");
        let [app, lib, core] = ["app", "lib", "core"].map(|n| graph.index(n).expect("node"));
        assert_eq!(graph.node_count(), 3);
        assert_eq!(graph.edge_count(), 4);
        assert_eq!(graph.successors(app), &[lib, core]);
        assert_eq!(graph.predecessors(core), &[app, lib, core]);
        assert_eq!(graph.in_degree(core), 3);
        assert_eq!(graph.in_degree(app), 0);
        assert_eq!(graph.out_degree(core), 1);
        assert_eq!(graph.in_degrees(), vec![0, 1, 3]);
    }
}
