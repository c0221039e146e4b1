//! Health through batched GraphQL: the DESIGN §5 signals of many repositories in one query
//! (aliases `r0`, `r1`, … over one fragment), so a night costs well under one rate-limit point
//! per repository; the cost GitHub reports (`rateLimit { cost }`) is summed per run. Each
//! measurement becomes a snapshot of the run (signals, scores) and the repository's stored
//! score inputs (`repo_signals`, source `discovery`), which triage prefers to live signals.
//!
//! Signals and how they are read: months since creation and since the last push; commits per
//! week over the last year (default branch history); contributors (mentionable users, a proxy:
//! GraphQL has no contributor count); organizations (the distinct `company` of the first 100
//! mentionable users, normalized as the criticality score normalizes it — `@acme`, `Acme, Inc.`
//! and `acme` are one); releases in the last year (of the newest 30); issues
//! updated and closed in the last 90 days (`filterBy.since`, which is *updated* since — a
//! closed issue was updated when it was closed); comments per issue over the newest 30 issues
//! updated in 90 days; the default branch's CI rollup state and the issue resolution rate
//! (closed / updated), both part of health; dependents from the registries.
//! The GitHub mention count is not measured (a missing signal leaves both sums of the weighted
//! mean).

use crate::config::Config;
use crate::db::Db;
use crate::db::discovery::{self as store, SnapshotRow};
use crate::db::triage::{self as signals_db, RepoSignals};
use crate::github::{Auth, GithubClient};
use crate::scoring::{self, HealthInputs, ImpactInputs};
use crate::time::Millis;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::run::Progress;

const DAY_MS: i64 = 86_400_000;
const MONTH_DAYS: f64 = 30.44;
/// The newest issues whose comments are counted.
const COMMENT_SAMPLE: usize = 30;
/// The newest releases looked at.
const RELEASE_SAMPLE: usize = 30;

/// The fragment every alias uses.
/// It spreads the filter's fragment ([`super::dependents::FILTER_FRAGMENT`]) for the fields
/// the filter reads.
const FRAGMENT: &str = r#"fragment discoveryHealth on Repository {
  ...discoveryFilter
  mentionableUsers(first: 100) { totalCount nodes { company } }
  defaultBranchRef {
    target {
      ... on Commit {
        history(since: $since) { totalCount }
        statusCheckRollup { state }
      }
    }
  }
  releases(first: 30, orderBy: {field: CREATED_AT, direction: DESC}) { nodes { createdAt } }
  updatedIssues: issues(filterBy: {since: $issuesSince}) { totalCount }
  closedIssues: issues(states: CLOSED, filterBy: {since: $issuesSince}) { totalCount }
  recentIssues: issues(first: 30, orderBy: {field: UPDATED_AT, direction: DESC}, filterBy: {since: $issuesSince}) {
    nodes { comments { totalCount } }
  }
  readme: object(expression: "HEAD:README.md") { ... on Blob { text } }
  cargoToml: object(expression: "HEAD:Cargo.toml") { ... on Blob { text } }
  packageJson: object(expression: "HEAD:package.json") { ... on Blob { text } }
  pyprojectToml: object(expression: "HEAD:pyproject.toml") { ... on Blob { text } }
  requirementsTxt: object(expression: "HEAD:requirements.txt") { ... on Blob { text } }
  goMod: object(expression: "HEAD:go.mod") { ... on Blob { text } }
  pomXml: object(expression: "HEAD:pom.xml") { ... on Blob { text } }
}"#;

/// The manifest aliases of the fragment and the files they read.
const MANIFEST_ALIASES: [(&str, &str); 6] = [
    ("cargoToml", "Cargo.toml"),
    ("packageJson", "package.json"),
    ("pyprojectToml", "pyproject.toml"),
    ("requirementsTxt", "requirements.txt"),
    ("goMod", "go.mod"),
    ("pomXml", "pom.xml"),
];

/// The query for `repos` (`owner/name` each), with its variables.
pub fn batch_query(repos: &[String], now: Millis) -> (String, Value) {
    let mut query = String::from("query($since: GitTimestamp!, $issuesSince: DateTime!");
    for i in 0..repos.len() {
        query.push_str(&format!(", $o{i}: String!, $n{i}: String!"));
    }
    query.push_str(") {\n  rateLimit { cost remaining resetAt }\n");
    let mut variables = serde_json::Map::new();
    let iso = |ms: Millis| crate::time::format_ms(ms).replace(' ', "T");
    variables.insert("since".to_owned(), json!(iso(now - 365 * DAY_MS)));
    variables.insert("issuesSince".to_owned(), json!(iso(now - 90 * DAY_MS)));
    for (i, repo) in repos.iter().enumerate() {
        let (owner, name) = repo.split_once('/').unwrap_or((repo.as_str(), ""));
        query.push_str(&format!(
            "  r{i}: repository(owner: $o{i}, name: $n{i}) {{ ...discoveryHealth }}\n"
        ));
        variables.insert(format!("o{i}"), json!(owner));
        variables.insert(format!("n{i}"), json!(name));
    }
    query.push_str("}\n");
    query.push_str(FRAGMENT);
    query.push('\n');
    query.push_str(super::dependents::FILTER_FRAGMENT);
    (query, Value::Object(variables))
}

/// Signals measured beside the health inputs (CI and resolution are in both, for `analyze`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtraSignals {
    /// The default branch's CI rollup (`SUCCESS`, `FAILURE`, `PENDING`, …).
    pub ci_state: Option<String>,
    /// Issues closed / issues updated, last 90 days.
    pub issue_resolution_rate: Option<f64>,
    /// Stars.
    pub stars: u64,
    /// GitHub's primary language.
    pub primary_language: Option<String>,
    /// Archived, disabled, fork or mirror.
    pub archived: bool,
}

/// One repository's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// `owner/name` as GitHub spells it.
    pub name_with_owner: String,
    /// The score's inputs.
    pub health: HealthInputs,
    /// The rest.
    pub extra: ExtraSignals,
    /// The README, for redundancy.
    pub readme: Option<String>,
    /// Dependency manifests at the root of the default branch: (file, text).
    pub manifests: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRepo {
    name_with_owner: String,
    #[serde(default)]
    stargazer_count: u64,
    #[serde(default)]
    is_archived: bool,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    pushed_at: Option<String>,
    #[serde(default)]
    primary_language: Option<Named>,
    #[serde(default)]
    mentionable_users: Option<Users>,
    #[serde(default)]
    default_branch_ref: Option<BranchRef>,
    #[serde(default)]
    releases: Option<Nodes<Created>>,
    #[serde(default)]
    updated_issues: Option<Count>,
    #[serde(default)]
    closed_issues: Option<Count>,
    #[serde(default)]
    recent_issues: Option<Nodes<IssueComments>>,
    #[serde(default)]
    readme: Option<Blob>,
}

#[derive(Deserialize)]
struct Blob {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Users {
    total_count: u64,
    #[serde(default)]
    nodes: Option<Vec<Company>>,
}
#[derive(Deserialize)]
struct Company {
    #[serde(default)]
    company: Option<String>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Count {
    total_count: u64,
}
#[derive(Deserialize)]
struct BranchRef {
    target: Option<Target>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    #[serde(default)]
    history: Option<Count>,
    #[serde(default)]
    status_check_rollup: Option<Rollup>,
}
#[derive(Deserialize)]
struct Rollup {
    state: String,
}
#[derive(Deserialize)]
struct Nodes<T> {
    nodes: Vec<T>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    created_at: String,
}
#[derive(Deserialize)]
struct IssueComments {
    comments: Count,
}

/// How many distinct organizations a list of `company` fields names: lower case, without a
/// leading `@` and a legal suffix (`inc`, `llc`, `ltd`, `gmbh`, `corp`, …), blanks ignored.
pub fn organizations<'a>(companies: impl IntoIterator<Item = &'a str>) -> usize {
    const SUFFIXES: &[&str] = &[
        "inc",
        "llc",
        "ltd",
        "limited",
        "gmbh",
        "corp",
        "corporation",
        "co",
        "sa",
        "ag",
        "bv",
        "plc",
    ];
    let mut seen = std::collections::BTreeSet::new();
    for company in companies {
        let mut name = company.trim().trim_start_matches('@').to_lowercase();
        loop {
            let trimmed = name.trim_end_matches(['.', ',', ' ']);
            let stripped = SUFFIXES.iter().find_map(|s| {
                trimmed
                    .strip_suffix(s)
                    .filter(|rest| rest.ends_with([' ', ',']))
            });
            match stripped {
                Some(rest) => name = rest.to_owned(),
                None => {
                    name = trimmed.to_owned();
                    break;
                }
            }
        }
        if !name.is_empty() && !matches!(name.as_str(), "none" | "n/a" | "-") {
            seen.insert(name);
        }
    }
    seen.len()
}

/// Reads one alias of the answer.
pub fn parse_repo(value: &Value, now: Millis) -> anyhow::Result<Measured> {
    let raw: RawRepo = serde_json::from_value(value.clone()).context("a repository's health")?;
    let months = |t: Option<&str>| {
        t.and_then(crate::time::parse_rfc3339_ms)
            .map(|t| ((now - t).max(0) as f64 / DAY_MS as f64) / MONTH_DAYS)
    };
    let target = raw.default_branch_ref.and_then(|b| b.target);
    let commits = target
        .as_ref()
        .and_then(|t| t.history.as_ref())
        .map(|h| h.total_count);
    let year_ago = now - 365 * DAY_MS;
    let releases = raw.releases.map(|r| {
        r.nodes
            .iter()
            .take(RELEASE_SAMPLE)
            .filter(|n| crate::time::parse_rfc3339_ms(&n.created_at).is_some_and(|t| t >= year_ago))
            .count() as f64
    });
    let comment_frequency = raw.recent_issues.and_then(|r| {
        let sample: Vec<u64> = r
            .nodes
            .iter()
            .take(COMMENT_SAMPLE)
            .map(|n| n.comments.total_count)
            .collect();
        (!sample.is_empty()).then(|| sample.iter().sum::<u64>() as f64 / sample.len() as f64)
    });
    let updated = raw.updated_issues.map(|c| c.total_count);
    let closed = raw.closed_issues.map(|c| c.total_count);
    let ci_state = target.and_then(|t| t.status_check_rollup).map(|r| r.state);
    let issue_resolution_rate = match (closed, updated) {
        (Some(c), Some(u)) if u > 0 => Some(c as f64 / u as f64),
        _ => None,
    };
    let health = HealthInputs {
        created_since: months(raw.created_at.as_deref()),
        updated_since: months(raw.pushed_at.as_deref()),
        contributor_count: raw.mentionable_users.as_ref().map(|m| m.total_count as f64),
        org_count: raw
            .mentionable_users
            .as_ref()
            .and_then(|m| m.nodes.as_ref())
            .map(|users| organizations(users.iter().filter_map(|u| u.company.as_deref())) as f64),
        commit_frequency: commits.map(|c| c as f64 / 52.0),
        recent_release_count: releases,
        updated_issues_count: updated.map(|u| u as f64),
        closed_issues_count: closed.map(|c| c as f64),
        issue_comment_frequency: comment_frequency,
        github_mention_count: None,
        dependent_count: None,
        ci_state: ci_state.clone(),
        issue_resolution_rate,
        archived: raw.is_archived,
    };
    let extra = ExtraSignals {
        ci_state,
        issue_resolution_rate,
        stars: raw.stargazer_count,
        primary_language: raw.primary_language.map(|l| l.name),
        archived: raw.is_archived,
    };
    Ok(Measured {
        name_with_owner: raw.name_with_owner,
        health,
        extra,
        readme: raw.readme.and_then(|b| b.text),
        manifests: MANIFEST_ALIASES
            .iter()
            .filter_map(|(alias, file)| {
                let text = value.pointer(&format!("/{alias}/text"))?.as_str()?;
                Some(((*file).to_owned(), text.to_owned()))
            })
            .collect(),
    })
}

/// Stores the dependency edges a repository's manifests give its package, unless a registry
/// already gave that package's edges. The package is the one the manifest names, else the
/// repository's known package of its ecosystem.
async fn store_manifests(
    conn: &mut crate::db::Conn,
    db: &Db,
    found: &store::DiscoveredRepo,
    m: &Measured,
    now: Millis,
) -> anyhow::Result<()> {
    let Some(language) = crate::config::Language::ALL
        .into_iter()
        .find(|l| l.as_str() == found.language)
    else {
        return Ok(());
    };
    let wanted = super::manifests::files(language);
    for (file, text) in m
        .manifests
        .iter()
        .filter(|(f, _)| wanted.contains(&f.as_str()))
    {
        let Some(manifest) = super::manifests::parse(file, text) else {
            continue;
        };
        let known = store::packages_of_repo(db.pool(), &found.repo).await?;
        let name = match manifest.name.clone() {
            Some(name) => name,
            None => match known.iter().find(|p| p.language == found.language) {
                Some(p) => p.name.clone(),
                None => continue,
            },
        };
        if store::edge_source(db.pool(), language.as_str(), &name)
            .await?
            .as_deref()
            == Some("registry")
        {
            continue;
        }
        if !known.iter().any(|p| p.name == name) {
            store::put_package(
                conn,
                &store::PackageRow {
                    language: language.as_str().to_owned(),
                    name: name.clone(),
                    repo: Some(found.repo.clone()),
                    version: None,
                    dependents: None,
                    dependents_source: None,
                    downloads: None,
                    fetched_at: now,
                },
            )
            .await?;
        }
        store::replace_edges(
            conn,
            language.as_str(),
            &name,
            &manifest.dependencies,
            "manifest",
        )
        .await?;
    }
    Ok(())
}

/// One batch: the measured repositories (by the lower-case name asked for), the names GitHub
/// could not resolve, and the query's cost in rate-limit points.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Measured, keyed by the name asked for.
    pub measured: Vec<(String, Measured)>,
    /// Names GitHub could not resolve.
    pub missing: Vec<String>,
    /// `rateLimit.cost`.
    pub cost: i64,
}

/// Measures one batch.
pub async fn measure_batch(
    github: &GithubClient,
    auth: Auth,
    repos: &[String],
    now: Millis,
) -> anyhow::Result<Batch> {
    let (query, variables) = batch_query(repos, now);
    let answer = github
        .graphql_partial(auth, &query, variables)
        .await
        .with_context(|| format!("the health query for {} repositories", repos.len()))?;
    let cost = answer
        .data
        .pointer("/rateLimit/cost")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let mut measured = Vec::new();
    let mut missing = Vec::new();
    for (i, repo) in repos.iter().enumerate() {
        match answer.data.get(format!("r{i}")) {
            Some(value) if !value.is_null() => {
                measured.push((repo.clone(), parse_repo(value, now)?));
            }
            _ => missing.push(repo.clone()),
        }
    }
    if !answer.errors.is_empty() {
        tracing::info!(errors = ?answer.errors, "some repositories could not be resolved");
    }
    Ok(Batch {
        measured,
        missing,
        cost,
    })
}

/// Measures every kept repository of a run not measured yet (so a resumed run measures only
/// the rest), in batches of `discovery.graphql_batch`, storing a snapshot and the repository's
/// score inputs after each batch. Without an App (no GraphQL access) it does nothing.
pub async fn measure_run(
    db: &Db,
    config: &Config,
    github: &GithubClient,
    auth: Auth,
    run: i64,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> anyhow::Result<()> {
    if matches!(auth, Auth::None) {
        tracing::warn!("no GitHub App installation to query GraphQL with: health is not measured");
        return Ok(());
    }
    let done: std::collections::HashSet<String> = store::run_snapshots(db.pool(), run)
        .await?
        .into_iter()
        .map(|s| s.repo)
        .collect();
    let kept: Vec<store::DiscoveredRepo> = store::run_repos(db.pool(), run)
        .await?
        .into_iter()
        .filter(|r| r.filtered.is_none())
        .collect();
    let total = kept.len() as u64;
    let todo: Vec<&store::DiscoveredRepo> =
        kept.iter().filter(|r| !done.contains(&r.repo)).collect();
    let mut measured_count = done.len() as u64;
    for chunk in todo.chunks(config.discovery.graphql_batch.max(1)) {
        let names: Vec<String> = chunk.iter().map(|r| r.repo.clone()).collect();
        let now = github.clock().now_ms();
        let batch = measure_batch(github, auth, &names, now).await?;
        let mut tx = db.write().await?;
        for (name, m) in &batch.measured {
            let Some(found) = chunk.iter().find(|r| &r.repo == name) else {
                continue;
            };
            let dependents = store::packages_of_repo(db.pool(), name)
                .await?
                .iter()
                .filter_map(|p| p.dependents)
                .max();
            let mut health = m.health.clone();
            health.dependent_count = dependents.map(|d| d as f64);
            let impact = ImpactInputs {
                stars: Some(m.extra.stars as f64),
                dependents: dependents.map(|d| d as f64),
                ..ImpactInputs::default()
            };
            let snapshot = SnapshotRow {
                run_id: run,
                repo: name.clone(),
                language: found.language.clone(),
                health_inputs: serde_json::to_string(&health)?,
                impact_inputs: serde_json::to_string(&impact)?,
                extra: serde_json::to_string(&m.extra)?,
                health: scoring::health(&health, &config.scoring.health),
                impact: scoring::impact(&impact, &config.scoring),
                redundancy: 0.0,
                pagerank: None,
                betweenness: None,
                reach: None,
                taken_at: now,
            };
            store::put_snapshot(tx.conn(), &snapshot).await?;
            store_manifests(tx.conn(), db, found, m, now).await?;
            if let Some(readme) = &m.readme {
                let names = crate::analysis::redundancy::readme_api_names(readme);
                store::put_text(
                    tx.conn(),
                    name,
                    readme,
                    &serde_json::to_string(&names)?,
                    now,
                )
                .await?;
            }
            signals_db::put_signals(
                tx.conn(),
                &RepoSignals {
                    repo: m.name_with_owner.clone(),
                    language: Some(found.language.clone()),
                    health: snapshot.health_inputs.clone(),
                    impact: snapshot.impact_inputs.clone(),
                    redundancy: 0.0,
                    has_tests: None,
                    source: "discovery".to_owned(),
                    fetched_at: now,
                },
            )
            .await?;
        }
        store::add_counts(tx.conn(), run, 0, 1, batch.cost, 0).await?;
        tx.commit().await?;
        measured_count += chunk.len() as u64;
        progress(Progress::Health {
            done: measured_count,
            total,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizations_are_counted_once_whatever_their_spelling() {
        assert_eq!(
            organizations([
                "@acme",
                "Acme, Inc.",
                "ACME Inc",
                "acme",
                "Globex Corporation",
                "globex corp.",
                "  ",
                "n/a",
                "Initech GmbH",
                "Co-op Labs",
            ]),
            4,
            "acme, globex, initech, co-op labs"
        );
        assert_eq!(organizations([]), 0);
    }
}
