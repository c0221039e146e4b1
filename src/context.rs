//! The state every request handler and job shares, built once at start.

use crate::config::Config;
use crate::config::watch::ConfigRx;
use crate::db::Db;
use std::sync::Arc;
use tokio::sync::Notify;

/// Shared state: the database and the live configuration.
#[derive(Debug)]
pub struct Context {
    /// The database.
    pub db: Db,
    config: ConfigRx,
    /// Notified when jobs are added, so idle workers wake at once.
    pub jobs_added: Arc<Notify>,
}

impl Context {
    /// A context over `db`, reading the configuration from `config`.
    pub fn new(db: Db, config: ConfigRx) -> Self {
        Self {
            db,
            config,
            jobs_added: Arc::new(Notify::new()),
        }
    }

    /// The configuration as of now (the newest valid one after a hot reload).
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }
}
