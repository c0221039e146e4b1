//! Publishing a draft: a commit authored by the App's bot, the tier of the whole branch, a push
//! with a lease (only GlobalLM's own last push is ever replaced, and a stop that landed while
//! the model drafted wins), then the draft pull request — opened once, or updated — and what
//! is said about it. Also giving up, said once.

use super::job::{Failure, Outcome, Scene, Trigger};
use super::lifecycle::{self, Drafted, PushRefused};
use super::render;
use crate::db::fixes::{self, FixPr};
use crate::github::ids::{InstallationId, IssueNumber};
use crate::github::model::{NewPullRequest, PullRequestUpdate};
use crate::jobs::JobError;
use crate::solution::checkout::{self, Author, WorkTree};
use crate::solution::draft::FixDraft;
use crate::triage::category::Category;
use anyhow::Context as _;
use secrecy::SecretString;

/// A draft ready to publish, and where it came from.
pub(super) struct Draft<'a> {
    pub draft: &'a FixDraft,
    pub work: &'a WorkTree,
    pub clone_url: &'a str,
    pub token: &'a SecretString,
    pub default_branch: &'a str,
    pub category: Category,
    pub complexity: u8,
    pub attempt: i64,
}

/// Commits, pushes and opens (or updates) the pull request.
pub(super) async fn publish(
    scene: &Scene<'_>,
    fix: FixPr,
    d: Draft<'_>,
) -> Result<Outcome, Failure> {
    let ctx = scene.ctx;
    let job = scene.job;
    let inst = InstallationId(job.installation);
    let issue_title = &scene.issue.title;
    let author = bot_author(ctx).await?;
    let message = format!(
        "{}\n\n{}\n\nFixes #{}",
        render::pr_title(job.issue, issue_title),
        render::neutralize(&d.draft.summary),
        job.issue
    );
    // Exactly the validated change: nothing else the work tree may hold is committed.
    let paths: Vec<&str> = d.draft.changes.iter().map(|c| c.path.as_str()).collect();
    let Some(sha) = checkout::commit_paths(d.work, &author, &message, &paths)
        .await
        .context("committing the change")
        .map_err(JobError::Retry)?
    else {
        let text = render::draft_failed(d.draft.attempts, "the model's edits changed nothing");
        return give_up(scene, &fix, &text, 0).await;
    };
    // The tier of the whole branch against the default branch, not of this push alone: a
    // repair on top of a HIGH draft is still HIGH.
    let mut judged = fix.clone();
    judged.category = Some(d.category.to_string());
    judged.complexity = Some(i64::from(d.complexity));
    let branch = checkout::branch_changes(
        d.work.path(),
        d.work.limits(),
        &format!("refs/remotes/origin/{}", d.default_branch),
        "HEAD",
    )
    .await
    .context("reading the branch's changes")
    .map_err(JobError::Retry)?;
    let assessment = super::branch::assess(
        &branch,
        &judged,
        issue_title,
        &scene.issue.body,
        &ctx.config().risk,
        &scene.settings.config,
    )?;
    // What the branch holds, as far as GlobalLM knows: its own last push for this fix (a
    // redraft, or a rerun after a push that went through), else what a failed earlier fix of
    // the issue pushed there. Only that is overwritten; anyone else's commit is not.
    let (expected, left_by_failed) = match &fix.head_sha {
        Some(sha) => (Some(sha.clone()), false),
        None if !job.trigger.is_redraft() => {
            let left = fixes::failed_head(ctx.db.pool(), &job.repo, job.issue as i64)
                .await
                .map_err(anyhow::Error::from)?;
            let found = left.is_some();
            (left, found)
        }
        None => (None, false),
    };
    // A new version of an open pull request (a repair, or a retry — which resumed automation
    // when it was asked for) yields to a stop that landed while it was drafted.
    let automated = job.trigger.is_redraft();
    match lifecycle::begin_push(ctx, fix.id, fix.head_sha.as_deref(), &sha, automated).await? {
        Ok(_) => {}
        Err(PushRefused::Stopped(reason)) => {
            return Err(Failure::Said(format!(
                "automation was stopped while the repair was drafted ({reason}): nothing pushed"
            )));
        }
        Err(PushRefused::State(state)) => {
            return Err(Failure::Said(format!(
                "the fix became {state} while it was drafted: nothing pushed"
            )));
        }
        Err(PushRefused::Moved) => {
            let text = render::branch_moved("the branch moved while the new version was drafted");
            return give_up(scene, &fix, &text, 0).await;
        }
    }
    let mut pushed = checkout::push(
        d.work,
        d.clone_url,
        Some(d.token),
        &fix.branch,
        expected.as_deref(),
    )
    .await;
    if pushed.is_err() && left_by_failed {
        // The failed fix's branch is gone (deleted by a maintainer): a plain push creates it.
        pushed = checkout::push(d.work, d.clone_url, Some(d.token), &fix.branch, None).await;
    }
    if let Err(err) = pushed {
        lifecycle::push_failed(ctx, fix.id, &sha, fix.head_sha.as_deref()).await?;
        if job.trigger.is_redraft() {
            // The lease failed: someone else pushed. Their work is not overwritten.
            let text = render::branch_moved(&err.to_string());
            return give_up(scene, &fix, &text, 0).await;
        }
        return Err(Failure::Job(JobError::Retry(err.into())));
    }
    let reasons: Vec<String> = assessment.reasons.iter().map(|r| r.text.clone()).collect();
    let fix = lifecycle::drafted(
        ctx,
        fix.id,
        &Drafted {
            head: sha.clone(),
            tier: assessment.tier,
            reasons,
            base: branch.merge_base.clone(),
            category: d.category.to_string(),
            complexity: d.complexity,
            attempt: d.attempt,
            tokens: i64::try_from(d.draft.usage.total()).unwrap_or(i64::MAX),
            cost_usd: d.draft.cost_usd.unwrap_or(0.0),
            spent_ms: scene.spent_ms(),
        },
    )
    .await?;
    let ceiling = super::autonomy::ceiling(ctx, &fix.repo, &scene.settings.config)
        .await
        .map_err(JobError::Retry)?
        .effective;
    let body = render::pr_body(&render::PrContent {
        issue: job.issue,
        draft: d.draft,
        assessment: &assessment,
        merges_itself: super::risk::may_merge(assessment.tier, ceiling),
        tokens: fix.tokens,
        cost_usd: fix.cost_usd,
        attempts: fix.attempts,
    });
    let github = scene.github;
    let (fix, opened) = match fix.pr_number {
        Some(n) => {
            github
                .update_pull(
                    inst,
                    &scene.repo,
                    IssueNumber(n as u64),
                    &PullRequestUpdate {
                        body: Some(body),
                        ..PullRequestUpdate::default()
                    },
                )
                .await?;
            (fix, false)
        }
        None => {
            let existing = github
                .pulls_for_branch(inst, &scene.repo, &fix.branch, "open")
                .await?;
            let pull = match existing.into_iter().next() {
                Some(pull) => pull,
                None => {
                    github
                        .create_pull(
                            inst,
                            &scene.repo,
                            &NewPullRequest {
                                title: render::pr_title(job.issue, issue_title),
                                head: fix.branch.clone(),
                                base: d.default_branch.to_owned(),
                                body,
                                draft: true,
                            },
                        )
                        .await?
                }
            };
            (lifecycle::opened(ctx, fix.id, pull.number.0).await?, true)
        }
    };
    let pr = fix.pr_number.unwrap_or_default() as u64;
    let tier = assessment.tier;
    if opened {
        metrics::counter!("globallm_prs_total", "tier" => tier.as_str(), "event" => "opened")
            .increment(1);
        if job.trigger == Trigger::Command {
            github
                .create_comment(
                    inst,
                    &scene.repo,
                    IssueNumber(job.issue),
                    &format!("fix:{}:opened", fix.id),
                    &render::opened(pr, tier),
                )
                .await?;
        }
    } else {
        github
            .create_comment(
                inst,
                &scene.repo,
                IssueNumber(pr),
                &format!("fix:{}:pushed@{sha}", fix.id),
                &render::pushed(
                    matches!(job.trigger, Trigger::Repair { .. }),
                    &sha,
                    tier,
                    fix.attempts,
                ),
            )
            .await?;
    }
    Ok(format!(
        "pull request #{pr} at {} ({tier})",
        render::short(&sha)
    ))
}

/// Says why nothing was pushed; a fix that never got a pull request is marked failed (so a
/// later request can start again), an open one keeps its pull request and stops.
pub(super) async fn give_up(
    scene: &Scene<'_>,
    fix: &FixPr,
    text: &str,
    tokens: i64,
) -> Result<Outcome, Failure> {
    let fix = lifecycle::gave_up(
        scene.ctx,
        fix.id,
        &render::excerpt(text, 200),
        tokens,
        scene.spent_ms(),
    )
    .await?;
    // Where to speak: the pull request once there is one, else the issue.
    let on = IssueNumber(fix.pr_number.map_or(scene.job.issue, |n| n as u64));
    scene
        .github
        .create_comment(
            InstallationId(scene.job.installation),
            &scene.repo,
            on,
            &format!("fix:{}:gave-up:{}", fix.id, scene.job_id),
            text,
        )
        .await?;
    Err(Failure::Said(render::excerpt(text, 200)))
}

/// The App's bot as a commit author (`<slug>[bot]`, with GitHub's no-reply address).
pub(super) async fn bot_author(
    ctx: &crate::context::Context,
) -> Result<Author, crate::github::GithubError> {
    let login = ctx.bot_login().await?;
    Ok(Author {
        email: format!("{login}@users.noreply.github.com"),
        name: login,
    })
}
