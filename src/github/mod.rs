//! Everything GitHub-specific that is not an event: identifiers and webhook signatures.

pub mod ids;
pub mod signature;
