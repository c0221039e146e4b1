//! GlobalLM: a GitHub App that triages issues, drafts fixes with LLMs and merges them under a
//! risk policy. `main.rs` only calls [`cli::run`]; everything else lives in these modules.

pub mod analysis;
pub mod app;
pub mod budget;
pub mod cli;
pub mod clock;
pub mod command;
pub mod config;
pub mod context;
pub mod db;
pub mod discovery;
pub mod event;
pub mod fix;
pub mod github;
pub mod handlers;
pub mod jobs;
pub mod llm;
pub mod monitoring;
pub mod private_fs;
pub mod report;
pub mod scoring;
pub mod server;
pub mod solution;
pub mod time;
pub mod triage;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
