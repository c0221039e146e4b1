//! TEMP-INTERFACE: replaced by the solution branch at merge.
use crate::automation::risk::Assessment;
use crate::config::{Language, RiskConfig};
use crate::github::repo_config::RepoConfig;
use crate::llm::client::Llm;
use crate::triage::category::Category;
use std::path::Path;

/// Input.
#[allow(missing_debug_implementations)]
pub struct DraftInput<'a> {
    pub work_dir: &'a Path,
    pub repo: &'a str,
    pub language: Language,
    pub issue_number: u64,
    pub title: &'a str,
    pub body: &'a str,
    pub category: Category,
    pub complexity: u8,
    pub repo_config: &'a RepoConfig,
    pub risk: &'a RiskConfig,
    pub llm: &'a Llm,
    pub feedback: Option<&'a str>,
    pub max_attempts: u32,
}

#[derive(Debug)]
pub struct ChangedFile {
    pub path: String,
    pub why: String,
}

#[derive(Debug)]
pub struct FixDraft {
    pub files: Vec<ChangedFile>,
    pub diff: String,
    pub tests: Vec<String>,
    pub risk: Assessment,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    pub attempts: u32,
    pub summary: String,
}

impl FixDraft {
    pub fn render_dry_run(&self) -> String {
        self.diff.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("budget: {0}")]
    Budget(String),
    #[error("{0}")]
    Other(String),
}

pub async fn draft_fix(input: DraftInput<'_>) -> Result<FixDraft, DraftError> {
    Err(DraftError::Other(input.repo.to_owned()))
}
