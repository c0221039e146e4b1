//! The GitHub calls of discovery: repository search with everything the filter needs
//! (archived, disabled, fork, mirror, dates), one page per call.

use super::client::{Auth, GithubClient};
use super::error::GithubError;
use super::model::SearchPage;
use crate::time::{Millis, parse_rfc3339_ms};
use serde::Deserialize;

/// A repository as repository search describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchedRepo {
    /// Its id.
    pub id: u64,
    /// `owner/name`.
    pub full_name: String,
    /// Its main language, as GitHub names it.
    pub language: Option<String>,
    /// Stars.
    pub stars: u64,
    /// Archived (read-only).
    pub archived: bool,
    /// Disabled by GitHub.
    pub disabled: bool,
    /// A fork.
    pub fork: bool,
    /// A mirror of a repository hosted elsewhere.
    pub mirror: bool,
    /// When it was created.
    pub created_at: Option<Millis>,
    /// Its last push.
    pub pushed_at: Option<Millis>,
}

impl GithubClient {
    /// `GET /search/repositories?q=…&sort=stars&order=desc&per_page=100&page=N`: one page of
    /// a query (search serves at most 1,000 results per query, 10 pages of 100).
    pub async fn search_repository_page(
        &self,
        auth: Auth,
        query: &str,
        page: u32,
    ) -> Result<SearchPage<SearchedRepo>, GithubError> {
        #[derive(Deserialize)]
        struct Item {
            id: u64,
            full_name: String,
            #[serde(default)]
            language: Option<String>,
            #[serde(default)]
            stargazers_count: u64,
            #[serde(default)]
            archived: bool,
            #[serde(default)]
            disabled: bool,
            #[serde(default)]
            fork: bool,
            #[serde(default)]
            mirror_url: Option<String>,
            #[serde(default)]
            created_at: Option<String>,
            #[serde(default)]
            pushed_at: Option<String>,
        }
        #[derive(Deserialize)]
        struct Page {
            total_count: u64,
            #[serde(default)]
            incomplete_results: bool,
            items: Vec<Item>,
        }
        let path = format!(
            "/search/repositories?q={}&sort=stars&order=desc&per_page=100&page={page}",
            super::api::segment(query)
        );
        let answer: Page = self.get(auth, &path).await?;
        Ok(SearchPage {
            total_count: answer.total_count,
            incomplete_results: answer.incomplete_results,
            items: answer
                .items
                .into_iter()
                .map(|i| SearchedRepo {
                    id: i.id,
                    full_name: i.full_name,
                    language: i.language,
                    stars: i.stargazers_count,
                    archived: i.archived,
                    disabled: i.disabled,
                    fork: i.fork,
                    mirror: i.mirror_url.is_some(),
                    created_at: i.created_at.as_deref().and_then(parse_rfc3339_ms),
                    pushed_at: i.pushed_at.as_deref().and_then(parse_rfc3339_ms),
                })
                .collect(),
        })
    }
}

/// A GraphQL answer that may be partial: `data` with a `null` for each alias GitHub could not
/// resolve, and the errors saying why.
#[derive(Debug, Clone, PartialEq)]
pub struct PartialAnswer {
    /// The data (`null` aliases included).
    pub data: serde_json::Value,
    /// The errors' messages.
    pub errors: Vec<String>,
}

impl GithubClient {
    /// `POST /graphql` for a batched query, where one unresolvable alias (a renamed or deleted
    /// repository) must not fail the others: data and errors are returned together. An answer
    /// without data is an error.
    pub async fn graphql_partial(
        &self,
        auth: Auth,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<PartialAnswer, GithubError> {
        let (data, errors) = self.post_graphql(auth, query, variables).await?;
        match data {
            Some(data) if !data.is_null() => Ok(PartialAnswer { data, errors }),
            _ => Err(GithubError::Validation {
                status: 200,
                message: if errors.is_empty() {
                    "a GraphQL answer without data".to_owned()
                } else {
                    errors.join("; ")
                },
            }),
        }
    }
}
