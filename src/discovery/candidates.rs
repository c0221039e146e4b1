//! The ranked candidates report a discovery run ends with: the repositories where GlobalLM
//! would help most (health and impact weighed as the priority weighs them, less redundancy),
//! each with its top open issues — read (never written: most have not installed GlobalLM),
//! categorized by the offline classifier (no LLM, no budget) and scored — stored for the
//! dashboard, so an operator can see whom to invite.

use crate::config::Config;
use crate::db::Db;
use crate::db::discovery as store;
use crate::db::triage::RepoSignals;
use crate::github::ids::RepoName;
use crate::github::{Auth, GithubClient};
use crate::time::Millis;
use crate::triage::signals::{RepoScores, Scope};
use serde::{Deserialize, Serialize};

/// Repositories in the report.
pub const TOP_REPOS: usize = 10;
/// Issues shown per repository.
pub const TOP_ISSUES: usize = 5;
/// Open issues read per repository (oldest first).
const ISSUES_READ: usize = 30;

/// One issue of a candidate repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateIssue {
    /// Its number.
    pub number: i64,
    /// Its title.
    pub title: String,
    /// Its category.
    pub category: String,
    /// Its priority.
    pub priority: f64,
    /// Its level.
    pub level: String,
    /// Whether it looks fixable by GlobalLM.
    pub fixable: bool,
}

/// One candidate repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateRepo {
    /// `owner/name`.
    pub repo: String,
    /// Its ecosystem.
    pub language: String,
    /// H.
    pub health: f64,
    /// I.
    pub impact: f64,
    /// `wH·H + wI·I − wR·R`: how the repositories are ranked.
    pub score: f64,
    /// Its top open issues, best first.
    pub issues: Vec<CandidateIssue>,
    /// Why its issues are missing, when they are.
    pub note: Option<String>,
}

/// The report of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidates {
    /// The discovery run.
    pub run_id: i64,
    /// When it was made.
    pub generated_at: Millis,
    /// The repositories, best first.
    pub repos: Vec<CandidateRepo>,
}

/// Ranks the run's measured repositories, reads the top ones' issues, and stores the report.
pub async fn build_and_store(
    db: &Db,
    config: &Config,
    github: &GithubClient,
    auth: Auth,
    run: i64,
) -> anyhow::Result<Candidates> {
    let w = &config.scoring.weights;
    let mut ranked: Vec<(f64, store::SnapshotRow)> = store::run_snapshots(db.pool(), run)
        .await?
        .into_iter()
        .map(|s| {
            (
                w.health * s.health + w.impact * s.impact - w.redundancy * s.redundancy,
                s,
            )
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.repo.cmp(&b.1.repo)));
    ranked.truncate(TOP_REPOS);
    let now = github.clock().now_ms();
    let mut repos = Vec::with_capacity(ranked.len());
    for (score, snapshot) in ranked {
        let (issues, note) = match top_issues(config, github, auth, &snapshot, now).await {
            Ok(issues) => (issues, None),
            Err(err) => {
                tracing::info!(repo = %snapshot.repo, "candidates report: issues not read: {err:#}");
                (Vec::new(), Some(format!("issues not read: {err}")))
            }
        };
        repos.push(CandidateRepo {
            repo: snapshot.repo.clone(),
            language: snapshot.language.clone(),
            health: snapshot.health,
            impact: snapshot.impact,
            score,
            issues,
            note,
        });
    }
    let report = Candidates {
        run_id: run,
        generated_at: now,
        repos,
    };
    let mut tx = db.write().await?;
    crate::db::reports::put_candidates(tx.conn(), run, now, &serde_json::to_string(&report)?)
        .await?;
    tx.commit().await?;
    Ok(report)
}

/// A repository's best open issues, scored offline from its snapshot's terms.
async fn top_issues(
    config: &Config,
    github: &GithubClient,
    auth: Auth,
    snapshot: &store::SnapshotRow,
    now: Millis,
) -> anyhow::Result<Vec<CandidateIssue>> {
    let name: RepoName = snapshot.repo.parse().map_err(anyhow::Error::msg)?;
    // A public repository the installation cannot see (GitHub lets it; a GitHub Enterprise
    // Server may not) is read anonymously.
    let open = match github.open_issues_as(auth, &name, ISSUES_READ).await {
        Err(crate::github::GithubError::NotFound(_)) if auth != Auth::None => {
            github
                .open_issues_as(Auth::None, &name, ISSUES_READ)
                .await?
        }
        other => other?,
    };
    let scores = RepoScores::from_stored(
        &RepoSignals {
            repo: snapshot.repo.clone(),
            language: Some(snapshot.language.clone()),
            health: snapshot.health_inputs.clone(),
            impact: snapshot.impact_inputs.clone(),
            redundancy: snapshot.redundancy,
            has_tests: None,
            source: "discovery".to_owned(),
            fetched_at: snapshot.taken_at,
        },
        &config.scoring,
    )?;
    let mut issues: Vec<CandidateIssue> = open
        .iter()
        .map(|issue| {
            let categorized =
                crate::triage::categorize::offline(Some(&snapshot.repo), &issue.title, &issue.body);
            let assessment = crate::triage::score_offline(
                &config.scoring,
                scores.clone(),
                issue,
                categorized,
                now,
                issue.comments + issue.reactions,
                Scope::default(),
            );
            CandidateIssue {
                number: issue.number.as_db(),
                title: issue.title.clone(),
                category: assessment.categorized.category.to_string(),
                priority: assessment.priority.score,
                level: assessment.priority.level.as_str().to_owned(),
                fixable: crate::report::fetch::fixability(&assessment, config).fixable,
            }
        })
        .collect();
    issues.sort_by(|a, b| {
        b.priority
            .total_cmp(&a.priority)
            .then(a.number.cmp(&b.number))
    });
    issues.truncate(TOP_ISSUES);
    Ok(issues)
}
