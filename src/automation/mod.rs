//! Automation after a fix is drafted: judging CI, the risk policy and merging.

pub mod ci;
