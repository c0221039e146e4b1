//! Driving a GlobalLM pull request once CI has spoken: read what CI reported on the head
//! ([`super::checks`]), judge it ([`super::ci::evaluate`]), then act by the tier of the whole
//! branch ([`super::branch`]) — merge (LOW), merge and notify (MEDIUM), request a review (HIGH,
//! or anything the `automerge` ceiling keeps from merging; a maintainer's `/globallm merge` of
//! this very head merges it), nothing (CRITICAL); on red re-run a flaky failure once, hand a
//! code failure to a bounded repair, or stop and say so.
//!
//! Every action is claimed once per head through [`lifecycle::claim`] before it is taken, so
//! the same CI event delivered twice (or ten check runs finishing) acts once, and a stop that
//! came first wins. Just before the merge call, the stop, the kill-switch label and the
//! repository's settings are read again; a freeze, a closed merge window ([`super::window`]) or
//! a merge queue ([`super::queue`]) keeps GlobalLM from calling merge itself.

use super::ci::{self, CiReport, Verdict};
use super::lifecycle::{self, Bump, Claim};
use super::render;
use super::risk::{self, Tier};
use super::{FixIssue, Trigger};
use crate::config::schedule::Opening;
use crate::context::Context;
use crate::db::fixes::{self, FixPr};
use crate::event::Handled;
use crate::event::model::{PullRequest, State};
use crate::github::GithubClient;
use crate::github::GithubError;
use crate::github::ids::{InstallationId, IssueNumber, RepoName};
use crate::github::model::{CheckRunOutput, Label, NewCheckRun};
use crate::github::repo_config::{CONFIG_CHECK, MergeMethod, RepoSettings};
use crate::jobs::BackgroundJob as _;
use anyhow::Context as _;

/// CI reported on commit `sha` of `repo`: judge it if it is the head of an open GlobalLM pull
/// request.
pub async fn on_commit(ctx: &Context, repo: &str, sha: &str) -> anyhow::Result<Handled> {
    let Some(fix) = fixes::open_for_head(ctx.db.pool(), repo, sha).await? else {
        if ctx.config().github.app_id.is_some() {
            let github = ctx.github()?;
            if let Some(handled) = super::aftermath::on_commit(ctx, &github, repo, sha).await? {
                return Ok(handled);
            }
        }
        return Ok(Handled::Skipped(format!(
            "{} is not the head of an open GlobalLM pull request",
            render::short(sha)
        )));
    };
    let github = ctx.github()?;
    evaluate(ctx, &github, fix).await
}

/// Judges CI on the pull request's head and acts on the verdict.
pub async fn evaluate(ctx: &Context, github: &GithubClient, fix: FixPr) -> anyhow::Result<Handled> {
    if fix.state != super::FixState::Open {
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
    let (inst, repo) = super::target(&fix)?;
    let number = IssueNumber(u64::try_from(number).unwrap_or_default());
    let pull = github
        .get_pull(inst, &repo, number)
        .await
        .context("reading the pull request")?;
    let act = Act {
        ctx,
        github,
        inst,
        repo: &repo,
        number,
        head: &pull.head.sha.0,
        fix_id: fix.id,
    };
    if pull.merged {
        return act.adopt_merge(&fix, &pull).await;
    }
    if pull.state != State::Open {
        return Ok(Handled::Skipped("the pull request is closed".to_owned()));
    }
    let settings = ctx.repo_configs.settings(github, inst, &repo).await;
    if let Err(why) = settings.automation() {
        act.report_config(&settings, &why).await?;
        return Ok(Handled::Skipped(why));
    }
    if pull.labels.contains(&settings.config.labels.disabled) {
        return Ok(Handled::Skipped(format!(
            "the pull request is labelled `{}`",
            settings.config.labels.disabled
        )));
    }
    let head = act.head;
    if fix.head_sha.as_deref() != Some(head) {
        return stop_for_human_push(ctx, github, &fix, head).await;
    }
    let own_app = ctx.bot_login().await?.trim_end_matches("[bot]").to_owned();
    let reported = super::checks::gather(
        github,
        inst,
        &repo,
        head,
        &pull.base.branch,
        &settings.config,
        &own_app,
    )
    .await
    .context("reading what CI reported")?;
    let verdict = ci::evaluate(&CiReport {
        check_runs: &reported.check_runs,
        suites: &reported.suites,
        expected: &reported.expected,
        statuses: &reported.statuses,
        required: reported.required.as_ref(),
        mergeable: pull.mergeable,
        ignore: &[CONFIG_CHECK],
    });
    let output = match &verdict {
        Verdict::Red { failed } => Some(failure_output(failed)),
        _ => None,
    };
    lifecycle::verdict(ctx, fix.id, head, verdict.as_str(), output.as_deref()).await?;
    let handled = match verdict {
        Verdict::Pending { waiting } => {
            return Ok(Handled::Skipped(format!(
                "waiting for {}",
                waiting.join(", ")
            )));
        }
        Verdict::Blocked { reason } => {
            // Waiting for a human now, not to merge: off the wait list.
            super::waits::forget(ctx, fix.id).await?;
            let text = format!(
                "GlobalLM is not merging this pull request: {reason}. It will look again when CI reports on a new commit."
            );
            act.say_once("blocked", &text).await?
        }
        Verdict::Red { failed } => on_red(&act, &fix, failed, output.unwrap_or_default()).await?,
        Verdict::Green => decide(&act, &fix, &pull, &settings).await?,
    };
    // A pull request on its way to merge that merged, turned red or now waits for a human gives
    // up its turn: the next in line goes (nothing happens while one is still on its way).
    super::waits::wake_next(ctx, &fix.repo).await?;
    Ok(handled)
}

/// CI is green: the tier of the whole branch decides.
async fn decide(
    act: &Act<'_>,
    fix: &FixPr,
    pull: &PullRequest,
    settings: &RepoSettings,
) -> anyhow::Result<Handled> {
    let ctx = act.ctx;
    let (branch, assessment) = super::branch::of_pull_request(
        ctx,
        act.github,
        fix,
        &pull.base.branch,
        act.head,
        &settings.config,
    )
    .await?;
    let reasons: Vec<String> = assessment.reasons.iter().map(|r| r.text.clone()).collect();
    let fix = lifecycle::tier_computed(
        ctx,
        fix.id,
        act.head,
        &branch.merge_base,
        assessment.tier,
        &reasons,
    )
    .await?;
    let tier = assessment.tier;
    if tier == Tier::Critical {
        let text = format!(
            "CI is green, but this change is **CRITICAL**, so nothing is automated: GlobalLM will not mark it ready, request reviews or merge it.\n\n{}",
            reasons_list(&reasons)
        );
        return act.say_once("critical", &text).await;
    }
    let ceiling = super::autonomy::ceiling(ctx, &fix.repo, &settings.config)
        .await?
        .effective;
    // An approval names the head it saw: any push since voids it.
    let approved = fix.merge_approved_sha.as_deref() == Some(act.head);
    if risk::may_merge(tier, ceiling) || (approved && risk::may_merge_on_command(tier)) {
        merge(act, pull, &fix.branch, tier, &branch.merge_base).await
    } else {
        request_review(act, &fix, pull, settings, tier, &reasons).await
    }
}

/// Why merges are frozen in the repository, if they are: `freeze: true` in its config, or the
/// freeze label on an open issue.
pub(super) async fn frozen(
    github: &GithubClient,
    inst: InstallationId,
    repo: &RepoName,
    settings: &RepoSettings,
) -> anyhow::Result<Option<String>> {
    if settings.config.freeze {
        return Ok(Some("`freeze: true` in `.github/globallm.yml`".to_owned()));
    }
    let label = &settings.config.labels.freeze;
    let issues = github
        .open_issues_labelled(inst, repo, label)
        .await
        .context("looking for a freeze")?;
    Ok(issues
        .first()
        .map(|n| format!("the `{label}` label on #{n}")))
}

pub use super::waits::MergeSlots;

/// What every action needs.
pub(super) struct Act<'a> {
    pub(super) ctx: &'a Context,
    pub(super) github: &'a GithubClient,
    pub(super) inst: InstallationId,
    pub(super) repo: &'a RepoName,
    pub(super) number: IssueNumber,
    pub(super) head: &'a str,
    pub(super) fix_id: i64,
}

impl Act<'_> {
    /// Comments `text` on the pull request, once for `action` on this head.
    pub(super) async fn comment(&self, action: &str, text: &str) -> anyhow::Result<()> {
        self.github
            .create_comment(
                self.inst,
                self.repo,
                self.number,
                &format!("fix:{}:{action}@{}", self.fix_id, self.head),
                text,
            )
            .await
            .context("commenting on the pull request")?;
        Ok(())
    }

    /// The pull request as it is just before a merge or an enqueue, or why not to go on: it was
    /// labelled with the kill switch, got a new head or was closed while CI was judged.
    pub(super) async fn last_look(
        &self,
        settings: &RepoSettings,
    ) -> anyhow::Result<Result<PullRequest, String>> {
        let now = self
            .github
            .get_pull(self.inst, self.repo, self.number)
            .await
            .context("reading the pull request again")?;
        let disabled = &settings.config.labels.disabled;
        if now.labels.contains(disabled) {
            return Ok(Err(format!("the pull request is labelled `{disabled}`")));
        }
        if now.head.sha.0 != self.head || now.state != State::Open {
            return Ok(Err(
                "the pull request changed while CI was judged".to_owned()
            ));
        }
        Ok(Ok(now))
    }

    /// Says `text` once for this head.
    pub(super) async fn say_once(&self, action: &str, text: &str) -> anyhow::Result<Handled> {
        match lifecycle::claim(self.ctx, self.fix_id, self.head, action, None).await? {
            Claim::Act => {
                self.comment(action, text).await?;
                Ok(Handled::Done)
            }
            Claim::Done => Ok(Handled::Skipped(format!(
                "already said `{action}` on this head"
            ))),
            Claim::Refused(why) => Ok(Handled::Skipped(why)),
        }
    }

    /// The repository's settings stop automation because the config file is unusable: the
    /// config check run on the head says why (once per head).
    async fn report_config(&self, settings: &RepoSettings, why: &str) -> anyhow::Result<()> {
        if settings.trusted {
            return Ok(());
        }
        let runs = self
            .github
            .check_runs(self.inst, self.repo, self.head)
            .await
            .context("listing check runs")?;
        if runs.iter().any(|r| r.name == CONFIG_CHECK) {
            return Ok(());
        }
        let run = NewCheckRun {
            name: CONFIG_CHECK.to_owned(),
            head_sha: self.head.to_owned(),
            status: "completed".to_owned(),
            conclusion: Some("failure".to_owned()),
            output: CheckRunOutput {
                title: "automation is off in this repository".to_owned(),
                summary: format!(
                    "{why}.\n\nNothing of this pull request is automated until `.github/globallm.yml` on the default branch is valid."
                ),
            },
        };
        self.github
            .create_check_run(self.inst, self.repo, &run)
            .await
            .context("reporting the config check")?;
        Ok(())
    }

    /// The pull request is merged: if GlobalLM's own merge call got that far (its answer lost),
    /// the merge is recorded and said as if the answer had come.
    async fn adopt_merge(&self, fix: &FixPr, pull: &PullRequest) -> anyhow::Result<Handled> {
        let ours = fix.acted.as_deref() == Some(format!("merging@{}", self.head).as_str());
        if !ours {
            return Ok(Handled::Skipped("the pull request is merged".to_owned()));
        }
        // The answer to the merge call was lost, so the method is the one in force.
        let method = self
            .ctx
            .repo_configs
            .settings(self.github, self.inst, self.repo)
            .await
            .config
            .merge;
        self.finish_merge(
            fix.tier.unwrap_or(Tier::Critical),
            pull.merge_sha.as_deref(),
            &pull.base.branch,
            method,
        )
        .await
    }

    /// Records a merge GlobalLM made (by `method`), watches it, and says so.
    async fn finish_merge(
        &self,
        tier: Tier,
        merge_sha: Option<&str>,
        base_branch: &str,
        method: MergeMethod,
    ) -> anyhow::Result<Handled> {
        let fix = fixes::get(self.ctx.db.pool(), self.fix_id)
            .await?
            .context("the merged fix")?;
        // Watched before the merge is recorded: a failure here is retried through
        // `adopt_merge`, which only a merge not yet recorded reaches.
        if let Some(sha) = merge_sha {
            // A rebase lands several commits: the base before them is the merge base CI ran on.
            let before = (method == MergeMethod::Rebase)
                .then_some(fix.tier_base.as_deref())
                .flatten();
            super::aftermath::watch(self.ctx, self.github, &fix, base_branch, sha, before).await?;
        }
        if !lifecycle::merged(self.ctx, self.fix_id, merge_sha, super::aftermath::GLOBALLM).await? {
            return Ok(Handled::Skipped("the merge is recorded already".to_owned()));
        }
        metrics::counter!("globallm_prs_total", "tier" => tier.as_str(), "event" => "merged")
            .increment(1);
        let sha = merge_sha.map(render::short).unwrap_or("?");
        let text = match tier {
            Tier::Medium => format!(
                "Merged as {sha} ({method}) after green CI: a **MEDIUM**-tier change, so the maintainers are notified{}. `git revert {sha}` undoes it.",
                notify_list(&fix, self.repo.owner())
            ),
            Tier::High => format!(
                "Merged as {sha} ({method}) after green CI, on @{}'s `/globallm merge` of {}.",
                fix.merge_approved_by.as_deref().unwrap_or("a maintainer"),
                render::short(self.head)
            ),
            _ => format!("Merged as {sha} ({method}) after green CI: a **LOW**-tier change."),
        };
        self.comment("merged", &text).await?;
        Ok(Handled::Done)
    }
}

fn reasons_list(reasons: &[String]) -> String {
    reasons
        .iter()
        .map(|r| format!("- {}", render::neutralize(r)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn failure_output(failed: &[ci::Failure]) -> String {
    failed
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
        .join("\n\n")
}

/// CI (or the merge queue) is red on the head: re-run a flaky failure once, hand a code
/// failure to a bounded repair, or stop and say so.
pub(super) async fn on_red(
    act: &Act<'_>,
    fix: &FixPr,
    failed: Vec<ci::Failure>,
    output: String,
) -> anyhow::Result<Handled> {
    let config = act.ctx.config();
    let list = render::failures(&failed);
    let suites: Vec<_> = failed.iter().filter_map(|f| f.suite).collect();
    let all_flaky = failed.iter().all(|f| f.flaky) && suites.len() == failed.len();
    if all_flaky && fix.reruns < i64::from(config.fix.max_reruns) {
        match lifecycle::claim(act.ctx, fix.id, act.head, "rerun", Some(Bump::Rerun)).await? {
            Claim::Act => {}
            Claim::Done => {
                return Ok(Handled::Skipped(
                    "already re-ran CI on this head".to_owned(),
                ));
            }
            Claim::Refused(why) => return Ok(Handled::Skipped(why)),
        }
        let mut unique = suites.clone();
        unique.sort_by_key(|s| s.0);
        unique.dedup();
        for suite in unique {
            act.github
                .rerequest_check_suite(act.inst, act.repo, suite)
                .await
                .context("re-running a check suite")?;
        }
        act.comment(
            "rerun",
            &format!(
                "CI failed in a way that looks like its infrastructure, not this change; re-running it once.\n\n{list}"
            ),
        )
        .await?;
        return Ok(Handled::Done);
    }
    if fix.repairs < i64::from(config.fix.max_repairs) {
        let claimed = match lifecycle::claim(
            act.ctx,
            fix.id,
            act.head,
            "repair",
            Some(Bump::Repair),
        )
        .await?
        {
            Claim::Refused(why) => return Ok(Handled::Skipped(why)),
            Claim::Done => false,
            Claim::Act => true,
        };
        // The check runs' own output is often only an exit code: the failing steps' log tails
        // of GitHub Actions jobs go with it (read once, by the call that claimed the repair).
        let output = if claimed {
            let logs = super::ci_log::gather(act.github, act.inst, act.repo, &failed).await;
            if logs.is_empty() {
                output
            } else {
                format!("{output}\n\n{logs}")
            }
        } else {
            output
        };
        // Enqueued under a key of this head whether this call claimed the repair or an earlier
        // one did and stopped before enqueueing it: the repair runs once either way.
        let job = FixIssue {
            installation: act.inst.0,
            repo: act.repo.to_string(),
            issue: u64::try_from(fix.issue).unwrap_or_default(),
            requested_by: fix.requested_by.clone().unwrap_or_default(),
            trigger: Trigger::Repair { ci_output: output },
        };
        let now = act.ctx.clock.now_ms();
        let mut new_job = job.to_new_job(&config.jobs, now);
        new_job.dedup_key = Some(format!("repair:{}@{}", fix.id, act.head));
        let mut tx = act.ctx.db.write().await?;
        crate::db::jobs::enqueue(tx.conn(), &new_job, now).await?;
        tx.commit().await?;
        act.ctx.jobs_added.notify_waiters();
        if !claimed {
            return Ok(Handled::Skipped(
                "a repair of this head is under way".to_owned(),
            ));
        }
        act.comment(
            "repair",
            &format!(
                "CI failed on this change. GlobalLM is attempting a repair with the failing output ({} of {}).\n\n{list}",
                fix.repairs + 1, config.fix.max_repairs
            ),
        )
        .await?;
        return Ok(Handled::Done);
    }
    let reason = "CI failed and the repair attempts are used up";
    match lifecycle::claim(
        act.ctx,
        fix.id,
        act.head,
        "gave_up",
        Some(Bump::Stop(reason)),
    )
    .await?
    {
        Claim::Act => {}
        Claim::Done => return Ok(Handled::Skipped("already stopped on this head".to_owned())),
        Claim::Refused(why) => return Ok(Handled::Skipped(why)),
    }
    act.comment(
        "gave_up",
        &format!(
            "CI failed again and GlobalLM has used its {} repair attempt{}, so it stops here: it will not push, re-run or merge this pull request. `/globallm retry` starts over with your feedback.\n\n{list}",
            config.fix.max_repairs,
            if config.fix.max_repairs == 1 { "" } else { "s" }
        ),
    )
    .await?;
    Ok(Handled::Done)
}

/// Merges the head CI judged green, whose branch forked from the base at `merge_base`.
async fn merge(
    act: &Act<'_>,
    pull: &PullRequest,
    branch: &str,
    tier: Tier,
    merge_base: &str,
) -> anyhow::Result<Handled> {
    // One GlobalLM merge at a time in this repository: what follows reads the base as the merge
    // call will find it.
    let _slot = super::waits::hold_slot(act).await?;
    // The last word before the merge call: the repository's settings and freezes as they are
    // now, then the base, the pull request's labels and head, then the row (a stop, a new head
    // or another worker's merge wins).
    let settings = act
        .ctx
        .repo_configs
        .settings_now(act.github, act.inst, act.repo)
        .await;
    if let Err(why) = settings.automation() {
        return Ok(Handled::Skipped(why));
    }
    if let Some(why) = frozen(act.github, act.inst, act.repo, &settings).await? {
        return super::waits::frozen(act, &why).await;
    }
    let opening = super::window::opening(act.ctx, &settings);
    if opening != Opening::Now {
        return super::window::wait(act, opening).await;
    }
    // A merge queue tests the result against the base itself: enqueue instead of merging.
    if super::queue::required(act, &pull.base.branch).await? {
        return super::queue::enqueue(act, &settings).await;
    }
    // One pull request between "ready" and "merged": another on its way goes first.
    if let Some(waiting) = super::waits::turn(act).await? {
        return Ok(waiting);
    }
    // Merge only what was tested: CI ran on a head that contains the base as it is now.
    let tip = act
        .github
        .recent_commits(act.inst, act.repo, &pull.base.branch, 1)
        .await
        .context("reading the base branch")?;
    if tip.first().map(String::as_str) != Some(merge_base) {
        return super::update::update_branch(act, branch, &pull.base.branch).await;
    }
    if let Err(changed) = act.last_look(&settings).await? {
        return Ok(Handled::Skipped(changed));
    }
    match lifecycle::begin_merge(act.ctx, act.fix_id, act.head).await? {
        Claim::Act => {}
        Claim::Done => return Ok(Handled::Skipped("already merging this head".to_owned())),
        Claim::Refused(why) => return Ok(Handled::Skipped(why)),
    }
    if pull.draft {
        act.github
            .mark_ready_for_review(act.inst, pull)
            .await
            .context("marking the pull request ready for review")?;
    }
    let title = format!("{} (#{})", pull.title, act.number);
    let method = settings.config.merge;
    match act
        .github
        .merge_pull(act.inst, act.repo, act.number, act.head, &title, method)
        .await
    {
        Ok(merged) => {
            act.finish_merge(tier, merged.sha.as_deref(), &pull.base.branch, method)
                .await
        }
        // 409: the head moved since it was read; 405: not mergeable — or merged already by
        // this very call, whose first answer was lost. Look before deciding.
        Err(
            GithubError::Validation { status, message } | GithubError::Other { status, message },
        ) if status == 405 || status == 409 => {
            let now = act
                .github
                .get_pull(act.inst, act.repo, act.number)
                .await
                .context("reading the pull request after a refused merge")?;
            if now.merged && now.head.sha.0 == act.head {
                return act
                    .finish_merge(tier, now.merge_sha.as_deref(), &pull.base.branch, method)
                    .await;
            }
            lifecycle::merge_failed(act.ctx, act.fix_id, act.head).await?;
            if status == 405 && message.contains("not allowed") {
                return method_refused(act, method, &message).await;
            }
            Ok(Handled::Skipped(format!(
                "GitHub would not merge ({status}): {message}"
            )))
        }
        Err(err) => {
            lifecycle::merge_failed(act.ctx, act.fix_id, act.head).await?;
            Err(err).context("merging the pull request")
        }
    }
}

/// GitHub refused the repository's `merge:` method: said once per head and method. Each CI
/// report tries again (the repository's settings may have changed since), so the claim on the
/// row cannot be what keeps it once — the comment on GitHub is.
async fn method_refused(
    act: &Act<'_>,
    method: MergeMethod,
    message: &str,
) -> anyhow::Result<Handled> {
    let action = format!("merge-method-{method}");
    let key = format!("fix:{}:{action}@{}", act.fix_id, act.head);
    let said = act
        .github
        .find_keyed(act.inst, act.repo, act.number, &key, None)
        .await
        .context("looking for the refusal's comment")?;
    if said.is_some() {
        return Ok(Handled::Skipped(format!(
            "GitHub refuses `merge: {method}` here: {message}"
        )));
    }
    act.comment(
        &action,
        &render::merge_method_refused(method.as_str(), message),
    )
    .await?;
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
    fix: &FixPr,
    pull: &PullRequest,
    settings: &RepoSettings,
    tier: Tier,
    reasons: &[String],
) -> anyhow::Result<Handled> {
    // Waiting for a maintainer now, not to merge: off the wait list, its turn given up.
    super::waits::forget(act.ctx, fix.id).await?;
    match lifecycle::claim(act.ctx, fix.id, act.head, "review", None).await? {
        Claim::Act => {}
        Claim::Done => {
            return Ok(Handled::Skipped(
                "a review is already requested on this head".to_owned(),
            ));
        }
        Claim::Refused(why) => return Ok(Handled::Skipped(why)),
    }
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
        name: settings.config.labels.needs_review.clone(),
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
    act.comment(
        "review",
        &format!(
            "CI is green. This is {why}, so GlobalLM does not merge it: a review is requested. A maintainer's `/globallm merge` merges this head ({}).\n\n{}",
            render::short(act.head),
            reasons_list(reasons)
        ),
    )
    .await?;
    Ok(Handled::Done)
}

/// Stops automation for good after someone else pushed `head` to the branch, and says so once.
pub async fn stop_for_human_push(
    ctx: &Context,
    github: &GithubClient,
    fix: &FixPr,
    head: &str,
) -> anyhow::Result<Handled> {
    if !lifecycle::human_push(ctx, fix.id, head).await? {
        return Ok(Handled::Skipped("automation is already stopped".to_owned()));
    }
    let (inst, repo) = super::target(fix)?;
    let number = IssueNumber(u64::try_from(fix.pr_number.unwrap_or_default()).unwrap_or_default());
    github
        .create_comment(
            inst,
            &repo,
            number,
            &format!("fix:{}:human-push@{head}", fix.id),
            &render::human_push(head),
        )
        .await
        .context("saying automation stopped")?;
    Ok(Handled::Done)
}
