//! Driving a GlobalLM pull request once CI has spoken: read the head's check runs, statuses,
//! the base's required checks and mergeability, judge them ([`super::ci::evaluate`]), then act
//! by risk tier — merge (LOW), merge and notify (MEDIUM), request a review (HIGH, or anything
//! the `automerge` ceiling keeps from merging), nothing (CRITICAL); on red re-run a flaky
//! failure once, hand a code failure to a bounded repair, or stop and say so.
//!
//! Every action is taken once per head: the row remembers `<action>@<sha>`, so the same CI
//! event delivered twice (or ten check runs finishing) acts once.

use super::ci::{self, CiReport, Verdict};
use super::fix::{FixIssue, Trigger};
use super::render;
use super::risk::{self, Tier};
use crate::context::Context;
use crate::db::fixes::{self, FixPr};
use crate::github::GithubClient;
use crate::github::GithubError;
use crate::github::ids::{InstallationId, IssueNumber, RepoName};
use crate::github::model::Label;
use crate::github::repo_config::RepoConfig;
use crate::handlers::Handled;
use crate::handlers::pull_request::CONFIG_CHECK;
use crate::jobs::BackgroundJob as _;
use crate::solution::draft::automerge_ceiling;
use anyhow::Context as _;

/// A stored tier name (`low` … `critical`) as a [`Tier`]; unknown or missing is CRITICAL, so
/// a row GlobalLM cannot read is never automated.
pub fn tier_of(fix: &FixPr) -> Tier {
    match fix.tier.as_deref() {
        Some("low") => Tier::Low,
        Some("medium") => Tier::Medium,
        Some("high") => Tier::High,
        _ => Tier::Critical,
    }
}

/// The name a tier is stored under.
pub fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::Low => "low",
        Tier::Medium => "medium",
        Tier::High => "high",
        Tier::Critical => "critical",
    }
}

/// Why the fix has its tier, as stored.
pub fn reasons(fix: &FixPr) -> Vec<String> {
    fix.risk_reasons
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default()
}

/// Judges CI on the pull request's head and acts on the verdict.
pub async fn evaluate(ctx: &Context, github: &GithubClient, fix: FixPr) -> anyhow::Result<Handled> {
    if fix.state != "open" {
        return Ok(Handled::Skipped(format!("the fix is {}", fix.state)));
    }
    if fix.stopped {
        return Ok(Handled::Skipped(format!(
            "automation is stopped on this pull request: {}",
            fix.stop_reason.as_deref().unwrap_or("no reason kept")
        )));
    }
    let Some(number) = fix.pr_number else {
        return Ok(Handled::Skipped(
            "the pull request is not open yet".to_owned(),
        ));
    };
    let inst = InstallationId(u64::try_from(fix.installation).unwrap_or_default());
    let repo: RepoName = fix
        .repo
        .parse()
        .map_err(|err: String| anyhow::anyhow!("the stored repository name: {err}"))?;
    let number = IssueNumber(u64::try_from(number).unwrap_or_default());
    let repo_config = ctx.repo_configs.get(github, inst, &repo).await;
    if !repo_config.enabled {
        return Ok(Handled::Skipped(
            "GlobalLM is disabled in this repository".to_owned(),
        ));
    }
    let pull = github
        .get_pull(inst, &repo, number)
        .await
        .context("reading the pull request")?;
    if pull.merged || pull.state != crate::event::model::State::Open {
        return Ok(Handled::Skipped("the pull request is closed".to_owned()));
    }
    if pull.labels.contains(&repo_config.labels.disabled) {
        return Ok(Handled::Skipped(format!(
            "the pull request is labelled `{}`",
            repo_config.labels.disabled
        )));
    }
    let head = pull.head.sha.0.clone();
    if fix.head_sha.as_deref() != Some(head.as_str()) {
        return stop_for_human_push(ctx, github, fix, &head).await;
    }
    let check_runs = github
        .check_runs(inst, &repo, &head)
        .await
        .context("listing the head's check runs")?;
    let statuses = github
        .combined_status(inst, &repo, &head)
        .await
        .context("reading the head's statuses")?;
    let required = github
        .required_checks(inst, &repo, &pull.base.branch)
        .await
        .context("reading the base branch's required checks")?;
    let verdict = ci::evaluate(&CiReport {
        check_runs: &check_runs,
        statuses: &statuses,
        required: required.as_ref(),
        mergeable: pull.mergeable,
        ignore: &[CONFIG_CHECK],
    });
    let mut fix = fix;
    fix.last_ci = Some(verdict.as_str().to_owned());
    let act = Act {
        ctx,
        github,
        inst,
        repo: &repo,
        number,
        head: &head,
    };
    let tier = tier_of(&fix);
    match verdict {
        Verdict::Pending { waiting } => {
            act.save(&fix).await?;
            Ok(Handled::Skipped(format!(
                "waiting for {}",
                waiting.join(", ")
            )))
        }
        Verdict::Blocked { reason } => {
            let text = format!(
                "GlobalLM is not merging this pull request: {reason}. It will look again when CI reports on a new commit."
            );
            act.once(&mut fix, "blocked", &text).await
        }
        Verdict::Red { failed } => on_red(&act, fix, failed).await,
        Verdict::Green if tier == Tier::Critical => {
            let text = format!(
                "CI is green, but this change is **CRITICAL**, so nothing is automated: GlobalLM will not mark it ready, request reviews or merge it.\n\n{}",
                reasons_list(&fix)
            );
            act.once(&mut fix, "critical", &text).await
        }
        Verdict::Green => {
            let ceiling = automerge_ceiling(&ctx.config().risk, &repo_config);
            let merges = risk::may_merge(tier, ceiling)
                || (fix.merge_approved && risk::may_merge_on_command(tier));
            if merges {
                merge(&act, fix, &pull, tier).await
            } else {
                request_review(&act, fix, &pull, &repo_config, tier).await
            }
        }
    }
}

/// What every action needs.
struct Act<'a> {
    ctx: &'a Context,
    github: &'a GithubClient,
    inst: InstallationId,
    repo: &'a RepoName,
    number: IssueNumber,
    head: &'a str,
}

impl Act<'_> {
    async fn save(&self, fix: &FixPr) -> anyhow::Result<()> {
        let mut tx = self.ctx.db.write().await?;
        fixes::save(tx.conn(), fix, self.ctx.clock.now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }

    fn key(&self, action: &str) -> String {
        format!("{action}@{}", self.head)
    }

    fn done(&self, fix: &FixPr, action: &str) -> bool {
        fix.acted.as_deref() == Some(self.key(action).as_str())
    }

    async fn comment(&self, text: &str) -> anyhow::Result<()> {
        self.github
            .create_comment(self.inst, self.repo, self.number, text)
            .await
            .context("commenting on the pull request")?;
        Ok(())
    }

    /// Says `text` once for this head; records it.
    async fn once(&self, fix: &mut FixPr, action: &str, text: &str) -> anyhow::Result<Handled> {
        if self.done(fix, action) {
            self.save(fix).await?;
            return Ok(Handled::Skipped(format!(
                "already said `{action}` on this head"
            )));
        }
        // Recorded before the comment: a crash in between loses a comment, never doubles it.
        fix.acted = Some(self.key(action));
        self.save(fix).await?;
        self.comment(text).await?;
        Ok(Handled::Done)
    }
}

fn reasons_list(fix: &FixPr) -> String {
    reasons(fix)
        .iter()
        .map(|r| format!("- {r}"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn on_red(
    act: &Act<'_>,
    mut fix: FixPr,
    failed: Vec<ci::Failure>,
) -> anyhow::Result<Handled> {
    let config = act.ctx.config();
    let list = render::failures(&failed);
    let suites: Vec<_> = failed.iter().filter_map(|f| f.suite).collect();
    let all_flaky = failed.iter().all(|f| f.flaky) && suites.len() == failed.len();
    if all_flaky && fix.reruns < i64::from(config.fix.max_reruns) {
        if act.done(&fix, "rerun") {
            return Ok(Handled::Skipped(
                "already re-ran CI on this head".to_owned(),
            ));
        }
        fix.reruns += 1;
        fix.acted = Some(act.key("rerun"));
        act.save(&fix).await?;
        let mut unique = suites.clone();
        unique.sort_by_key(|s| s.0);
        unique.dedup();
        for suite in unique {
            act.github
                .rerequest_check_suite(act.inst, act.repo, suite)
                .await
                .context("re-running a check suite")?;
        }
        act.comment(&format!(
            "CI failed in a way that looks like its infrastructure, not this change; re-running it once.\n\n{list}"
        ))
        .await?;
        return Ok(Handled::Done);
    }
    let output = failed
        .iter()
        .map(|f| {
            format!(
                "{} ({}):\n{}",
                f.name,
                f.conclusion,
                f.output.as_deref().unwrap_or("(no output)")
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    fix.ci_output = Some(output.clone());
    if fix.repairs < i64::from(config.fix.max_repairs) {
        if act.done(&fix, "repair") {
            act.save(&fix).await?;
            return Ok(Handled::Skipped(
                "a repair of this head is under way".to_owned(),
            ));
        }
        fix.repairs += 1;
        fix.acted = Some(act.key("repair"));
        let job = FixIssue {
            installation: act.inst.0,
            repo: act.repo.to_string(),
            issue: u64::try_from(fix.issue).unwrap_or_default(),
            requested_by: fix.requested_by.clone().unwrap_or_default(),
            trigger: Trigger::Repair { ci_output: output },
        };
        let mut tx = act.ctx.db.write().await?;
        fixes::save(tx.conn(), &fix, act.ctx.clock.now_ms()).await?;
        let now = act.ctx.clock.now_ms();
        crate::db::jobs::enqueue(tx.conn(), &job.to_new_job(&config.jobs, now), now).await?;
        tx.commit().await?;
        act.ctx.jobs_added.notify_waiters();
        act.comment(&format!(
            "CI failed on this change. GlobalLM is attempting a repair with the failing output ({} of {}).\n\n{list}",
            fix.repairs, config.fix.max_repairs
        ))
        .await?;
        return Ok(Handled::Done);
    }
    if act.done(&fix, "gave_up") {
        act.save(&fix).await?;
        return Ok(Handled::Skipped("already stopped on this head".to_owned()));
    }
    fix.stopped = true;
    fix.stop_reason = Some("CI failed and the repair attempts are used up".to_owned());
    fix.acted = Some(act.key("gave_up"));
    act.save(&fix).await?;
    act.comment(&format!(
        "CI failed again and GlobalLM has used its {} repair attempt{}, so it stops here: it will not push, re-run or merge this pull request. `/globallm retry` starts over with your feedback.\n\n{list}",
        config.fix.max_repairs,
        if config.fix.max_repairs == 1 { "" } else { "s" }
    ))
    .await?;
    Ok(Handled::Done)
}

async fn merge(
    act: &Act<'_>,
    mut fix: FixPr,
    pull: &crate::event::model::PullRequest,
    tier: Tier,
) -> anyhow::Result<Handled> {
    if pull.draft {
        act.github
            .mark_ready_for_review(act.inst, pull)
            .await
            .context("marking the pull request ready for review")?;
    }
    let title = format!("{} (#{})", pull.title, act.number);
    let merged = match act
        .github
        .merge_pull(act.inst, act.repo, act.number, act.head, &title)
        .await
    {
        Ok(merged) => merged,
        // 409: the head moved since it was read; 405: not mergeable after all. The next CI
        // event looks again; nothing is merged blindly.
        Err(
            GithubError::Validation { status, message } | GithubError::Other { status, message },
        ) if status == 405 || status == 409 => {
            act.save(&fix).await?;
            return Ok(Handled::Skipped(format!(
                "GitHub would not merge ({status}): {message}"
            )));
        }
        Err(err) => return Err(err).context("merging the pull request"),
    };
    fix.state = "merged".to_owned();
    fix.merge_sha = merged.sha.clone();
    fix.acted = Some(act.key("merged"));
    act.save(&fix).await?;
    metrics::counter!("globallm_prs_total", "tier" => tier_name(tier), "event" => "merged")
        .increment(1);
    let sha = merged.sha.as_deref().map(render::short).unwrap_or("?");
    let text = match tier {
        Tier::Medium => format!(
            "Merged as {sha} (squash) after green CI: a **MEDIUM**-tier change, so the maintainers are notified{}. `git revert {sha}` undoes it.",
            notify_list(&fix, act.repo.owner())
        ),
        Tier::High => {
            format!("Merged as {sha} (squash) after green CI, on a maintainer's `/globallm merge`.")
        }
        _ => format!("Merged as {sha} (squash) after green CI: a **LOW**-tier change."),
    };
    act.comment(&text).await?;
    Ok(Handled::Done)
}

fn notify_list(fix: &FixPr, owner: &str) -> String {
    let mut people: Vec<String> = Vec::new();
    if let Some(by) = fix.requested_by.as_deref().filter(|b| !b.is_empty()) {
        people.push(format!("@{by}"));
    }
    let owner = format!("@{owner}");
    if !people.contains(&owner) {
        people.push(owner);
    }
    format!(": {}", people.join(", "))
}

async fn request_review(
    act: &Act<'_>,
    mut fix: FixPr,
    pull: &crate::event::model::PullRequest,
    repo_config: &RepoConfig,
    tier: Tier,
) -> anyhow::Result<Handled> {
    if act.done(&fix, "review") {
        act.save(&fix).await?;
        return Ok(Handled::Skipped(
            "a review is already requested on this head".to_owned(),
        ));
    }
    fix.acted = Some(act.key("review"));
    act.save(&fix).await?;
    if pull.draft {
        act.github
            .mark_ready_for_review(act.inst, pull)
            .await
            .context("marking the pull request ready for review")?;
    }
    let reviewers: Vec<String> = fix
        .requested_by
        .iter()
        .filter(|r| !r.is_empty() && !r.ends_with("[bot]"))
        .cloned()
        .collect();
    if !reviewers.is_empty() {
        act.github
            .request_reviewers(act.inst, act.repo, act.number, &reviewers)
            .await
            .context("requesting a review")?;
    }
    let label = Label {
        name: repo_config.labels.needs_review.clone(),
        color: "fbca04".to_owned(),
        description: Some("GlobalLM: a maintainer's review is needed before merging".to_owned()),
    };
    act.ctx
        .ensure_label(act.github, act.inst, act.repo, &label)
        .await
        .context("creating the review label")?;
    act.github
        .add_labels(
            act.inst,
            act.repo,
            act.number,
            std::slice::from_ref(&label.name),
        )
        .await
        .context("labelling the pull request")?;
    let why = if tier == Tier::High {
        "a **HIGH**-tier change".to_owned()
    } else {
        format!(
            "a **{tier}**-tier change this repository's `automerge` setting keeps from merging itself"
        )
    };
    act.comment(&format!(
        "CI is green. This is {why}, so GlobalLM does not merge it: a review is requested. A maintainer's `/globallm merge` merges it.\n\n{}",
        reasons_list(&fix)
    ))
    .await?;
    Ok(Handled::Done)
}

/// Stops automation for good after someone else pushed to the branch, and says so once.
pub async fn stop_for_human_push(
    ctx: &Context,
    github: &GithubClient,
    mut fix: FixPr,
    head: &str,
) -> anyhow::Result<Handled> {
    if fix.stopped {
        return Ok(Handled::Skipped("automation is already stopped".to_owned()));
    }
    let inst = InstallationId(u64::try_from(fix.installation).unwrap_or_default());
    let repo: RepoName = fix
        .repo
        .parse()
        .map_err(|err: String| anyhow::anyhow!("the stored repository name: {err}"))?;
    let number = IssueNumber(u64::try_from(fix.pr_number.unwrap_or_default()).unwrap_or_default());
    fix.stopped = true;
    fix.stop_reason = Some(format!(
        "someone else pushed {} to the branch",
        render::short(head)
    ));
    let mut tx = ctx.db.write().await?;
    fixes::save(tx.conn(), &fix, ctx.clock.now_ms()).await?;
    tx.commit().await?;
    github
        .create_comment(inst, &repo, number, &render::human_push(head))
        .await
        .context("saying automation stopped")?;
    Ok(Handled::Done)
}
