//! Test support shared by the crate's tests and its benchmarks (feature `testing`): the fake
//! GitHub and the end-to-end harness built on it. Never compiled into the released binary.

pub mod fake_github;
pub mod harness;
