//! Graph analysis of dependency graphs: the compact graph type and its edge-list reader,
//! PageRank and betweenness with networkx's semantics, downstream reach, and percentile ranks.
//!
//! Edges point from dependent to dependency. Node indices follow the order in which nodes first
//! appear in the input, as networkx lists them, so every metric can be checked against networkx
//! node for node — including sampled betweenness, whose pivots are drawn with Python's own
//! random number generator ([`pyrandom`]).

pub mod betweenness;
pub mod edge_list;
pub mod graph;
pub mod hll;
pub mod pagerank;
pub mod percentile;
pub mod pyrandom;
pub mod reach;
pub mod redundancy;

pub use betweenness::{Betweenness, BetweennessError, Pivots, betweenness};
pub use edge_list::{EdgeListError, parse_edge_list, read_edge_list};
pub use graph::{Graph, NodeNames, TooManyNodes};
pub use pagerank::{PageRank, PageRankOptions, PowerIterationFailedConvergence, pagerank};
pub use percentile::percentile_ranks;
pub use reach::{Reach, ReachMethod, downstream_reach};
