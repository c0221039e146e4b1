//! Tests that need the crate's insides: the fake GitHub and the end-to-end harness built on
//! it, and the tests written against them.

mod app_flows;
mod fake_github;
mod github_client;
mod harness;
mod triage_flows;
