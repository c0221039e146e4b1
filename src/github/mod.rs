//! Everything GitHub: the App's authentication, the REST client and one method per call,
//! identifiers, webhook signatures, the App's credentials and the per-repository config.

pub mod api;
pub mod app;
pub mod app_api;
pub mod auth;
pub mod client;
pub mod discovery_api;
pub mod error;
pub mod guard_api;
pub mod ids;
pub mod model;
pub mod queue_api;
pub mod read_api;
pub mod repo_config;
pub mod signature;

pub use client::{Auth, GithubClient, Settings};
pub use error::GithubError;
