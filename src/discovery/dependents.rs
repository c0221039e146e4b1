//! Discovery's second way in: repositories that matter by their dependents alone. Search
//! finds what has more stars than the threshold; a library with few stars and thousands of
//! dependents is found here instead. Each ecosystem's packages are read from ecosyste.ms by
//! dependents, most first, until one has no more than `filter.min_dependents` (or
//! `discovery.dependents_pages` pages were read); each package's GitHub repository becomes a
//! candidate with the dependents of its most depended-on package. Candidates the search did
//! not already find are looked up on GitHub by batched GraphQL (the filter's fields only,
//! about one point per hundred repositories) and stored with the filter's verdict — on stars
//! or dependents — so the kept ones go through packages, health and impact like the others.
//!
//! Checkpoints: a listing read to its end is recorded per run and ecosystem, and every
//! candidate is settled (`stored`, `known`, `missing`) as its batch is answered, so a resumed
//! run neither reads a listing twice nor looks a repository up twice.

use super::filter;
use super::registries::Registries;
use super::search::discovered;
use crate::config::{Config, Language};
use crate::db::Db;
use crate::db::discovery::{self as store, Candidate};
use crate::github::discovery_api::SearchedRepo;
use crate::github::{Auth, GithubClient};
use crate::time::parse_rfc3339_ms;
use anyhow::Context as _;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashSet;

/// Packages per listing page (ecosyste.ms serves up to 100).
const PER_PAGE: u32 = 100;

/// The fields the filter needs, asked for each candidate (and spread by the health query).
pub const FILTER_FRAGMENT: &str = r#"fragment discoveryFilter on Repository {
  databaseId
  nameWithOwner
  stargazerCount
  isArchived
  isDisabled
  isFork
  isMirror
  createdAt
  pushedAt
  primaryLanguage { name }
}"#;

/// What the stage did, for the log and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// Listing pages read.
    pub pages: u64,
    /// Repositories stored with the filter's verdict.
    pub stored: u64,
    /// Candidates the search had already found.
    pub known: u64,
    /// Candidates GitHub does not know (renamed or deleted).
    pub missing: u64,
}

/// Lists each ecosystem's most depended-on packages and stores the repositories behind them.
/// A registry that fails ends its listing early, said in the log and in the run's listing
/// record; a GitHub failure fails the stage (the run resumes from the settled candidates).
pub async fn find_by_dependents(
    db: &Db,
    config: &Config,
    registries: &Registries,
    github: &GithubClient,
    auth: Auth,
    run: i64,
    languages: &[Language],
) -> anyhow::Result<Found> {
    let mut found = Found::default();
    let calls_before = registries.calls();
    for &language in languages {
        if store::dependents_list_done(db.pool(), run, language.as_str()).await? {
            continue;
        }
        found.pages += list(db, config, registries, run, language).await?;
    }
    let calls = i64::try_from(registries.calls() - calls_before).unwrap_or(i64::MAX);
    let mut tx = db.write().await?;
    store::add_counts(tx.conn(), run, 0, 0, 0, calls).await?;
    tx.commit().await?;

    let searched: HashSet<String> = store::run_repos(db.pool(), run)
        .await?
        .into_iter()
        .map(|r| r.repo)
        .collect();
    let pending: Vec<Candidate> = store::candidates(db.pool(), run)
        .await?
        .into_iter()
        .filter(|c| c.state == "pending")
        .collect();
    let (known, unknown): (Vec<Candidate>, Vec<Candidate>) = pending
        .into_iter()
        .partition(|c| searched.contains(&c.repo));
    if !known.is_empty() {
        let mut tx = db.write().await?;
        for candidate in &known {
            store::settle_candidate(tx.conn(), run, &candidate.repo, "known").await?;
        }
        tx.commit().await?;
        found.known += known.len() as u64;
    }
    for batch in unknown.chunks(config.discovery.graphql_batch.max(1)) {
        let names: Vec<String> = batch.iter().map(|c| c.repo.clone()).collect();
        let (repos, cost) = look_up(github, auth, &names).await?;
        let mut tx = db.write().await?;
        for (candidate, repo) in batch.iter().zip(repos) {
            let language = Language::ALL
                .into_iter()
                .find(|l| l.as_str() == candidate.language)
                .with_context(|| format!("candidate {} has no known ecosystem", candidate.repo))?;
            match repo {
                Some(repo) => {
                    let dependents = u64::try_from(candidate.dependents).unwrap_or(0);
                    let verdict = filter::verdict(&repo, Some(dependents), &config.filter);
                    let mut row = discovered(&repo, language, verdict);
                    // The name as the registry gave it, so packages map back to it.
                    row.repo.clone_from(&candidate.repo);
                    store::put_repo(tx.conn(), run, &row).await?;
                    store::settle_candidate(tx.conn(), run, &candidate.repo, "stored").await?;
                    found.stored += 1;
                }
                None => {
                    tracing::info!(repo = %candidate.repo, package = %candidate.package,
                        "a package's repository is unknown to GitHub (renamed or deleted)");
                    store::settle_candidate(tx.conn(), run, &candidate.repo, "missing").await?;
                    found.missing += 1;
                }
            }
        }
        store::add_counts(tx.conn(), run, 0, 1, cost, 0).await?;
        tx.commit().await?;
    }
    Ok(found)
}

/// Reads one ecosystem's listing and stores its candidates and its checkpoint; the pages read.
async fn list(
    db: &Db,
    config: &Config,
    registries: &Registries,
    run: i64,
    language: Language,
) -> anyhow::Result<u64> {
    let min = config.filter.min_dependents;
    let mut pages = 0u64;
    let mut candidates = 0i64;
    let mut error = None;
    for page in 1..=config.discovery.dependents_pages {
        let packages = match registries
            .ecosystems
            .top_by_dependents(language, page, PER_PAGE)
            .await
        {
            Ok(packages) => packages,
            Err(err) => {
                tracing::warn!(
                    language = language.as_str(),
                    page,
                    "the dependents listing stopped early: {err}"
                );
                error = Some(format!("page {page}: {err}"));
                break;
            }
        };
        pages += 1;
        let last_page = packages.len() < PER_PAGE as usize;
        let mut below = false;
        let mut tx = db.write().await?;
        for package in packages {
            let dependents = package.dependents.unwrap_or(0);
            if dependents <= min {
                below = true;
                continue;
            }
            let Some(repo) = package.repository else {
                continue;
            };
            store::add_candidate(
                tx.conn(),
                run,
                &Candidate {
                    repo: repo.to_lowercase(),
                    language: language.as_str().to_owned(),
                    package: package.name,
                    dependents: i64::try_from(dependents).unwrap_or(i64::MAX),
                    state: "pending".to_owned(),
                },
            )
            .await?;
            candidates += 1;
        }
        tx.commit().await?;
        if below || last_page {
            break;
        }
    }
    let mut tx = db.write().await?;
    store::finish_dependents_list(
        tx.conn(),
        run,
        language.as_str(),
        i64::try_from(pages).unwrap_or(i64::MAX),
        candidates,
        error.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok(pages)
}

/// Looks repositories up by name in one GraphQL query: each one's filter fields (`None` when
/// GitHub does not know it) and the query's cost in rate-limit points.
async fn look_up(
    github: &GithubClient,
    auth: Auth,
    repos: &[String],
) -> anyhow::Result<(Vec<Option<SearchedRepo>>, i64)> {
    let (query, variables) = lookup_query(repos);
    let answer = github
        .graphql_partial(auth, &query, variables)
        .await
        .with_context(|| format!("looking up {} repositories by name", repos.len()))?;
    let cost = answer
        .data
        .pointer("/rateLimit/cost")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let found = (0..repos.len())
        .map(|i| match answer.data.get(format!("r{i}")) {
            Some(value) if !value.is_null() => parse(value).map(Some),
            _ => Ok(None),
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((found, cost))
}

/// The lookup query for `repos` (`owner/name` each), with its variables.
fn lookup_query(repos: &[String]) -> (String, Value) {
    let mut query = String::from("query(");
    let mut variables = serde_json::Map::new();
    for (i, repo) in repos.iter().enumerate() {
        let (owner, name) = repo.split_once('/').unwrap_or((repo.as_str(), ""));
        if i > 0 {
            query.push_str(", ");
        }
        query.push_str(&format!("$o{i}: String!, $n{i}: String!"));
        variables.insert(format!("o{i}"), json!(owner));
        variables.insert(format!("n{i}"), json!(name));
    }
    query.push_str(") {\n  rateLimit { cost remaining resetAt }\n");
    for i in 0..repos.len() {
        query.push_str(&format!(
            "  r{i}: repository(owner: $o{i}, name: $n{i}) {{ ...discoveryFilter }}\n"
        ));
    }
    query.push_str("}\n");
    query.push_str(FILTER_FRAGMENT);
    (query, Value::Object(variables))
}

/// One repository of the answer, as the filter reads it.
fn parse(value: &Value) -> anyhow::Result<SearchedRepo> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        database_id: u64,
        name_with_owner: String,
        stargazer_count: u64,
        is_archived: bool,
        is_disabled: bool,
        is_fork: bool,
        is_mirror: bool,
        created_at: Option<String>,
        pushed_at: Option<String>,
        primary_language: Option<Name>,
    }
    #[derive(Deserialize)]
    struct Name {
        name: String,
    }
    let raw: Raw = serde_json::from_value(value.clone()).context("a repository's filter fields")?;
    Ok(SearchedRepo {
        id: raw.database_id,
        full_name: raw.name_with_owner,
        language: raw.primary_language.map(|l| l.name),
        stars: raw.stargazer_count,
        archived: raw.is_archived,
        disabled: raw.is_disabled,
        fork: raw.is_fork,
        mirror: raw.is_mirror,
        created_at: raw.created_at.as_deref().and_then(parse_rfc3339_ms),
        pushed_at: raw.pushed_at.as_deref().and_then(parse_rfc3339_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookup_query_names_each_repository_once_with_its_variables() {
        let (query, variables) = lookup_query(&["psf/requests".to_owned(), "a/b".to_owned()]);
        assert!(query.starts_with("query($o0: String!, $n0: String!, $o1: String!, $n1: String!)"));
        assert!(query.contains("r1: repository(owner: $o1, name: $n1) { ...discoveryFilter }"));
        assert!(query.contains("fragment discoveryFilter on Repository"));
        assert_eq!(variables["o0"], "psf");
        assert_eq!(variables["n1"], "b");
    }
}
