//! Discovery: which repositories of the covered ecosystems matter, how healthy they are and
//! how much depends on them. GitHub search per language over star windows ([`search`]), the
//! filter ([`filter`]), the repositories that matter by their dependents alone
//! ([`dependents`]), package registries for dependents and the dependency graph
//! ([`registries`]), health through batched GraphQL ([`health`]), checkpointed in SQLite so a
//! run resumes where it stopped ([`run`]).

pub mod candidates;
pub mod dependents;
pub mod filter;
pub mod graph;
pub mod health;
pub mod manifests;
pub mod redundancy;
pub mod registries;
pub mod run;
pub mod search;
