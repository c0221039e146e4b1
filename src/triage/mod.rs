//! Issue triage: what kind of issue it is (the category shared by every triage step) and the
//! offline classifier that decides it when no LLM is configured or the budget is spent.

pub mod category;
pub mod classifier;
