//! Tests that need the crate's insides, written against the fake GitHub and the end-to-end
//! harness in `crate::testing`.

mod aftermath;
mod app_flows;
mod discovery_flows;
mod fix_attacks;
mod fix_e2e;
mod fix_flows;
mod github_client;
mod hardening;
mod merge_order;
mod merge_queue;
mod merge_windows;
mod replicas;
mod reports;
mod status;
mod triage_flows;
