//! Issue triage: what kind of issue it is (the category shared by every triage step), the
//! offline classifier, and the triage of one issue.

pub mod category;
