//! Issue triage: the category shared by every triage step, the offline classifier, the
//! categorization, the repository's score inputs, the texts written on GitHub, and the triage
//! of one issue — assessing it ([`assess`]) and publishing the result ([`publish`]).

pub mod categorize;
pub mod category;
pub mod classifier;
pub mod rank;
pub mod render;
pub mod signals;

use crate::context::Context;
use crate::db::triage::{self as db, TriagedIssue};
use crate::event::model::{AccountKind, Issue, Repository, State};
use crate::github::GithubClient;
use crate::github::GithubError;
use crate::github::ids::{CommentId, InstallationId};
use crate::github::repo_config::RepoConfig;
use crate::scoring::{self, Priority, SolvabilityInputs, Terms, UrgencyInputs};
use crate::time::Millis;
use anyhow::Context as _;
use categorize::Categorized;
use render::Breakdown;
use signals::{LiveFacts, RepoScores, Scope};

const DAY_MS: f64 = 86_400_000.0;

/// Everything one triage decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Category, complexity, area.
    pub categorized: Categorized,
    /// The priority and its terms.
    pub priority: Priority,
    /// Days the issue had been open, as of the assessment.
    pub age_days: f64,
    /// Comments and reactions.
    pub engagement: u64,
    /// The repository's terms.
    pub repo: RepoScores,
    /// What solvability was computed from.
    pub solvability: SolvabilityInputs,
}

/// What was measured for an assessment beyond the issue and the repository's description;
/// what is missing is taken from the last stored measurement.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured<'a> {
    /// The repository's tree, CI and resolution rate, just measured.
    pub facts: Option<&'a LiveFacts>,
    /// What the localizer expects the issue's fix to touch.
    pub scope: Option<Scope>,
}

impl Assessment {
    /// What the comment and `explain` show.
    pub fn breakdown(&self) -> Breakdown<'_> {
        Breakdown {
            categorized: &self.categorized,
            priority: self.priority,
            age_days: self.age_days,
            engagement: self.engagement,
            repo_source: &self.repo.source,
            health: &self.repo.health_inputs,
            solvability: &self.solvability,
        }
    }
}

/// Triages one issue of an installed repository as it is now (a delivery or a job may be
/// stale): skips what must be left alone, assesses it and publishes the result.
pub async fn triage_issue(
    ctx: &Context,
    inst: InstallationId,
    repo: &Repository,
    number: crate::github::ids::IssueNumber,
) -> anyhow::Result<crate::event::Handled> {
    use crate::event::Handled;
    let github = ctx.github()?;
    let issue = github
        .get_issue(inst, &repo.name, number)
        .await
        .context("reading the issue")?;
    let repo_config = ctx.repo_configs.get(&github, inst, &repo.name).await;
    if let Some(reason) = skip_reason(&issue, &repo_config) {
        return Ok(Handled::Skipped(reason));
    }
    let linked = github
        .linked_pull_requests(inst, &repo.name, issue.number)
        .await
        .context("looking for pull requests that close the issue")?;
    if linked > 0 {
        return Ok(Handled::Skipped(
            "a pull request already addresses the issue".to_owned(),
        ));
    }
    let now = ctx.clock.now_ms();
    // Tests, CI and resolution, measured at most once a day per repository.
    let facts = if signals::needs_measuring(ctx.db.pool(), &repo.name.to_string(), now).await? {
        match signals::measure(&github, crate::github::Auth::Installation(inst), repo, now).await {
            Ok((facts, _)) => Some(facts),
            Err(err) => {
                tracing::warn!(repo = %repo.name, "measuring the repository's tests and CI failed; scoring without them: {err}");
                None
            }
        }
    } else {
        None
    };
    let measured = Measured {
        facts: facts.as_ref(),
        scope: None,
    };
    let assessment = assess_measured(ctx, repo, &issue, now, measured).await?;
    let published = publish(ctx, &github, inst, repo, &issue, &assessment, &repo_config).await?;
    tracing::info!(
        issue = issue.number.0,
        category = %assessment.categorized.category,
        priority = assessment.priority.score,
        level = assessment.priority.level.as_str(),
        labels_added = published.labels_added.len(),
        comment = published.comment,
        "issue triaged"
    );
    Ok(Handled::Done)
}

/// Why an issue is left alone, when it is.
pub fn skip_reason(issue: &Issue, config: &RepoConfig) -> Option<String> {
    if !config.enabled {
        return Some("GlobalLM is disabled in this repository (.github/globallm.yml)".to_owned());
    }
    if issue.state == State::Closed {
        return Some("the issue is closed".to_owned());
    }
    if issue.locked {
        return Some("the issue is locked".to_owned());
    }
    if issue.labels.contains(&config.labels.disabled) {
        return Some(format!("the issue is labelled {}", config.labels.disabled));
    }
    if let Some(person) = issue.assignees.iter().find(|a| a.kind != AccountKind::Bot) {
        return Some(format!("the issue is assigned to {}", person.login));
    }
    None
}

/// Categorizes and scores an issue as of `as_of`. Its age counts whole days, so triaging it
/// again the same day gives the same result (and writes nothing).
pub async fn assess(
    ctx: &Context,
    repo: &Repository,
    issue: &Issue,
    as_of: Millis,
) -> anyhow::Result<Assessment> {
    assess_measured(ctx, repo, issue, as_of, Measured::default()).await
}

/// [`assess`] with what was just measured of the repository and the issue's scope.
pub async fn assess_measured(
    ctx: &Context,
    repo: &Repository,
    issue: &Issue,
    as_of: Millis,
    measured: Measured<'_>,
) -> anyhow::Result<Assessment> {
    let categorized = categorize_issue(ctx, repo, issue).await;
    score(ctx, repo, issue, categorized, as_of, measured).await
}

/// What `/globallm explain` shows: the stored triage's categorization (else the offline
/// classifier's) scored as of `as_of`. It never calls the LLM — anyone may ask, as often as
/// the command rate limit allows, and it costs no budget.
pub async fn assess_for_explain(
    ctx: &Context,
    repo: &Repository,
    issue: &Issue,
    as_of: Millis,
) -> anyhow::Result<Assessment> {
    let stored = db::get(ctx.db.pool(), &repo.name.to_string(), issue.number.as_db()).await?;
    let categorized = match stored {
        Some(stored) => stored_categorization(&stored),
        None => categorize::offline(Some(&repo.name.to_string()), &issue.title, &issue.body),
    };
    score(ctx, repo, issue, categorized, as_of, Measured::default()).await
}

/// The categorization a stored triage recorded.
fn stored_categorization(stored: &TriagedIssue) -> Categorized {
    Categorized {
        category: stored.category.parse().unwrap_or(category::Category::Other),
        complexity: u8::try_from(stored.complexity.clamp(1, 10)).unwrap_or(5),
        complexity_reason: stored.complexity_note.clone().unwrap_or_default(),
        area: stored.area.clone(),
        confidence: stored.confidence,
        source: if stored.categorized_by == categorize::Source::Llm.as_str() {
            categorize::Source::Llm
        } else {
            categorize::Source::Offline
        },
    }
}

/// The hash of an issue's title and body, stored with its triage: an edit that leaves both
/// as they were does not triage it again.
pub fn content_hash(title: &str, body: &str) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(title.as_bytes());
    hasher.update([0]);
    hasher.update(body.as_bytes());
    hex::encode(hasher.finalize())
}

/// Scores a categorized issue as of `as_of`.
async fn score(
    ctx: &Context,
    repo: &Repository,
    issue: &Issue,
    categorized: Categorized,
    as_of: Millis,
    measured: Measured<'_>,
) -> anyhow::Result<Assessment> {
    let config = ctx.config();
    let name = repo.name.to_string();
    let repo_scores = signals::repo_scores(
        ctx.db.pool(),
        &ctx.db,
        repo,
        &config.scoring,
        ctx.clock.now_ms(),
        measured.facts,
    )
    .await
    .context("the repository's health and impact")?;
    let stored = db::get(ctx.db.pool(), &name, issue.number.as_db()).await?;
    // Engagement is other people's: GlobalLM's own triage comment does not count.
    let own_comment = stored.as_ref().is_some_and(|t| t.comment_id.is_some());
    let engagement = issue.comments.saturating_sub(u64::from(own_comment)) + issue.reactions;
    let scope = measured.scope.or_else(|| {
        stored
            .as_ref()
            .and_then(|t| t.solvability.as_deref())
            .and_then(|json| serde_json::from_str::<SolvabilityInputs>(json).ok())
            .map(|s| Scope {
                code_bytes: s.code_bytes,
                expected_files: s.expected_files,
                public_api: s.public_api,
                track_record: None,
            })
    });
    // GlobalLM's record on issues like this one here, once it has one.
    let mut scope = scope.unwrap_or_default();
    let record = crate::db::outcomes::track_record(
        ctx.db.pool(),
        &name,
        &categorized.category.to_string(),
        i64::from(categorized.complexity),
    )
    .await?;
    scope.track_record = (record.decided > 0).then_some(record);
    Ok(score_offline(
        &config.scoring,
        repo_scores,
        issue,
        categorized,
        as_of,
        engagement,
        scope,
    ))
}

/// Scores a categorized issue from what is known, without reading or writing anything: the
/// pure end of triage, also used by discovery's candidates report.
pub fn score_offline(
    config: &crate::config::ScoringConfig,
    repo_scores: RepoScores,
    issue: &Issue,
    categorized: Categorized,
    as_of: Millis,
    engagement: u64,
    scope: Scope,
) -> Assessment {
    let age_days = (((as_of - issue.created_at).max(0) as f64) / DAY_MS).floor();
    let urgency = scoring::urgency(
        &UrgencyInputs {
            category: categorized.category,
            age_days,
            engagement: engagement as f64,
        },
        config,
    );
    let solvability = SolvabilityInputs {
        complexity: categorized.complexity,
        has_tests: repo_scores.has_tests,
        code_bytes: scope.code_bytes,
        expected_files: scope.expected_files,
        public_api: scope.public_api,
        track_record: scope.track_record,
    };
    let terms = Terms {
        health: repo_scores.health,
        impact: repo_scores.impact,
        solvability: scoring::solvability(&solvability, config),
        urgency,
        redundancy: repo_scores.redundancy,
    };
    Assessment {
        categorized,
        priority: scoring::priority(terms, config),
        age_days,
        engagement,
        repo: repo_scores,
        solvability,
    }
}

/// The LLM's categorization when one is configured, the repository is of a covered ecosystem
/// and the budget allows it; the offline classifier's otherwise, and whenever the LLM fails.
async fn categorize_issue(ctx: &Context, repo: &Repository, issue: &Issue) -> Categorized {
    let name = repo.name.to_string();
    let language = repo
        .language
        .as_deref()
        .and_then(crate::config::Language::from_github);
    if let (Some(llm), Some(language)) = (ctx.llm(), language) {
        let scope = crate::llm::client::Scope {
            repo: &name,
            language,
        };
        match categorize::with_llm(&llm, scope, &issue.title, &issue.body, &issue.labels).await {
            Ok(categorized) => return categorized,
            Err(err) => {
                tracing::warn!(repo = %name, issue = issue.number.0, "the LLM could not categorize the issue; using the offline classifier: {err:#}")
            }
        }
    }
    categorize::offline(Some(&name), &issue.title, &issue.body)
}

/// What publishing changed on GitHub.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// Labels added.
    pub labels_added: Vec<String>,
    /// Stale GlobalLM labels removed.
    pub labels_removed: Vec<String>,
    /// `created`, `updated` or `unchanged`.
    pub comment: &'static str,
}

/// Labels the issue and writes (or edits) its one triage comment, then stores the triage.
/// Nothing is written when nothing changed.
pub async fn publish(
    ctx: &Context,
    github: &GithubClient,
    inst: InstallationId,
    repo: &Repository,
    issue: &Issue,
    assessment: &Assessment,
    repo_config: &RepoConfig,
) -> anyhow::Result<Published> {
    let config = ctx.config();
    let name = repo.name.to_string();
    let labels = &repo_config.labels;
    let wanted = [
        render::category_label(assessment.categorized.category, labels),
        render::priority_label(assessment.priority.level, labels),
    ];
    let mut published = Published::default();
    let missing: Vec<String> = wanted
        .iter()
        .filter(|l| !issue.labels.contains(&l.name))
        .map(|l| l.name.clone())
        .collect();
    if !missing.is_empty() {
        for label in wanted.iter().filter(|l| missing.contains(&l.name)) {
            ctx.ensure_label(github, inst, &repo.name, label).await?;
        }
        github
            .add_labels(inst, &repo.name, issue.number, &missing)
            .await
            .context("labelling the issue")?;
        published.labels_added = missing;
    }
    for stale in issue.labels.iter().filter(|l| {
        (l.starts_with(&labels.type_prefix) || l.starts_with(&labels.priority_prefix))
            && !wanted.iter().any(|w| w.name == **l)
    }) {
        github
            .remove_label(inst, &repo.name, issue.number, stale)
            .await
            .context("removing a stale label")?;
        published.labels_removed.push(stale.clone());
    }

    let body = render::triage_comment(&assessment.breakdown(), &config.scoring);
    let stored = db::get(ctx.db.pool(), &name, issue.number.as_db()).await?;
    let (comment_id, action) = match stored
        .as_ref()
        .and_then(|s| s.comment_id.zip(s.comment_body.as_ref()))
    {
        Some((_, previous)) if *previous == body => {
            (stored.as_ref().and_then(|s| s.comment_id), "unchanged")
        }
        Some((id, _)) => match github
            .update_comment(
                inst,
                &repo.name,
                CommentId(u64::try_from(id).unwrap_or_default()),
                &body,
            )
            .await
        {
            Ok(comment) => (Some(comment.id.as_db()), "updated"),
            // Deleted by someone: write it again.
            Err(GithubError::NotFound(_)) => (
                Some(
                    write_comment(ctx, github, inst, repo, issue, &body)
                        .await?
                        .0,
                ),
                "created",
            ),
            Err(err) => return Err(err).context("updating the triage comment"),
        },
        None => write_comment(ctx, github, inst, repo, issue, &body)
            .await
            .map(|(id, action)| (Some(id), action))?,
    };
    published.comment = action;

    record(ctx, repo, issue, assessment).await?;
    let mut tx = ctx.db.write().await?;
    db::set_comment(tx.conn(), &name, issue.number.as_db(), comment_id, &body).await?;
    tx.commit().await?;
    Ok(published)
}

/// Stores a triage without writing anything on GitHub (the CLI's `issues`); a triage comment
/// written before is kept on record.
pub async fn record(
    ctx: &Context,
    repo: &Repository,
    issue: &Issue,
    assessment: &Assessment,
) -> anyhow::Result<()> {
    let c = &assessment.categorized;
    let triaged = TriagedIssue {
        repo: repo.name.to_string(),
        number: issue.number.as_db(),
        title: issue.title.clone(),
        state: "open".to_owned(),
        language: assessment.repo.language.clone(),
        category: c.category.as_str().to_owned(),
        complexity: i64::from(c.complexity),
        complexity_note: Some(c.complexity_reason.clone()),
        area: c.area.clone(),
        confidence: c.confidence,
        categorized_by: c.source.as_str().to_owned(),
        opened_at: issue.created_at,
        engagement: i64::try_from(assessment.engagement).unwrap_or(i64::MAX),
        health: assessment.repo.health,
        impact: assessment.repo.impact,
        redundancy: assessment.repo.redundancy,
        has_tests: assessment.repo.has_tests,
        solvability: Some(serde_json::to_string(&assessment.solvability)?),
        priority: assessment.priority.score,
        level: assessment.priority.level.as_str().to_owned(),
        comment_id: None,
        comment_body: None,
        triaged_at: ctx.clock.now_ms(),
    };
    let mut tx = ctx.db.write().await?;
    db::put(tx.conn(), &triaged).await?;
    db::set_content_hash(
        tx.conn(),
        &triaged.repo,
        triaged.number,
        &content_hash(&issue.title, &issue.body),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Writes the triage comment, unless one is already there (found by its marker, say after a
/// crash between writing it and storing its id): then that one is edited.
async fn write_comment(
    ctx: &Context,
    github: &GithubClient,
    inst: InstallationId,
    repo: &Repository,
    issue: &Issue,
    body: &str,
) -> anyhow::Result<(i64, &'static str)> {
    // An issue without comments cannot hold one: no need to look.
    let existing = if issue.comments == 0 {
        None
    } else {
        let bot = ctx.bot_login().await?;
        github
            .find_comment(inst, &repo.name, issue.number, &bot, render::TRIAGE_MARKER)
            .await
            .context("looking for an earlier triage comment")?
    };
    Ok(match existing {
        Some(comment) if comment.body == body => (comment.id.as_db(), "unchanged"),
        Some(comment) => {
            github
                .update_comment(inst, &repo.name, comment.id, body)
                .await
                .context("updating the triage comment")?;
            (comment.id.as_db(), "updated")
        }
        None => {
            let comment = github
                .create_comment(inst, &repo.name, issue.number, "triage", body)
                .await
                .context("writing the triage comment")?;
            (comment.id.as_db(), "created")
        }
    })
}
