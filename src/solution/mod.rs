//! Drafting fixes: working copies of repositories, localization, edits and their validation.

pub mod checkout;
pub mod draft;
