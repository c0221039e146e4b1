//! Read-only reports (consent first: a repository that has not installed GlobalLM is read,
//! never written): who a repository is read as (`access`), reading and scoring its open
//! issues (`fetch`), the report a maintainer reads (`render`), and the ranked candidates
//! report each discovery run ends with (`candidates`).

pub mod access;
pub mod fetch;
pub mod render;
