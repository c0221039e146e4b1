//! The post-merge guard: after GlobalLM merges a pull request it watches the base branch's
//! checks on the merge commit (the CI events it already receives, and a timed re-check). A
//! check that passed on the merge commit's first parent and fails on the merge commit is a
//! regression: GlobalLM opens a revert pull request at once (re-running first, once, failures
//! that look like infrastructure), says so on the pull request and its issue, reopens the
//! issue, and the repository's earned ceiling drops ([`super::autonomy`]). The revert merges
//! itself when the repository lets LOW changes merge themselves and nobody pushed to the base
//! since; a green re-run of the failing checks before that closes it.
//!
//! Every step is claimed on the watch's row (`version`) before it is taken, so ten check runs
//! finishing at once revert once.

use super::ci::{self, Failure, Outcome, Verdict};
use super::render::{self, guard};
use crate::config::Automerge;
use crate::context::Context;
use crate::db::fixes::{self, FixPr};
use crate::db::outcomes::{self, MergeWatch, NewWatch};
use crate::event::Handled;
use crate::event::model::State;
use crate::github::GithubClient;
use crate::github::GithubError;
use crate::github::ids::{InstallationId, IssueNumber, RepoName};
use crate::github::model::NewPullRequest;
use crate::github::repo_config::CONFIG_CHECK;
use crate::solution::checkout;
use anyhow::Context as _;
use std::collections::BTreeMap;

/// How long a claimed revert may take to open before another judgement opens it again.
const REOPEN_AFTER_MS: i64 = 10 * 60_000;

/// How the ledger names GlobalLM when it merged or reverted something itself.
pub const GLOBALLM: &str = "globallm";

/// Starts watching the merge of a fix (once; a second call changes nothing).
///
/// `before` is the base's tip just before the merge when GlobalLM knows it and the merge commit's
/// first parent is not it (a rebase lands several commits: the first parent of the last is the
/// one before it, which CI never ran on).
pub async fn watch(
    ctx: &Context,
    github: &GithubClient,
    fix: &FixPr,
    base_branch: &str,
    merge_sha: &str,
    before: Option<&str>,
) -> anyhow::Result<()> {
    if outcomes::watch_of(ctx.db.pool(), fix.id).await?.is_some() {
        return Ok(());
    }
    let (inst, repo) = super::target(fix)?;
    let parents = match before {
        Some(before) => vec![before.to_owned()],
        None => github
            .commit_parents(inst, &repo, merge_sha)
            .await
            .context("reading the merge commit")?,
    };
    let Some(parent) = parents.first() else {
        tracing::warn!(%repo, merge_sha, "the merge commit has no parent: nothing to compare with");
        return Ok(());
    };
    let now = ctx.clock.now_ms();
    let window = i64::from(ctx.config().risk.guard_hours) * 3_600_000;
    let mut tx = ctx.db.write().await?;
    outcomes::watch_merge(
        tx.conn(),
        &NewWatch {
            fix_id: fix.id,
            repo: &fix.repo,
            installation: fix.installation,
            base_branch,
            merge_sha,
            parent_sha: parent,
            deadline: now + window,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// CI reported on `sha` of `repo`: judge it if it is a merge commit the guard watches or the
/// head of a revert it opened; `None` when it is neither.
pub async fn on_commit(
    ctx: &Context,
    github: &GithubClient,
    repo: &str,
    sha: &str,
) -> anyhow::Result<Option<Handled>> {
    match outcomes::watch_for_commit(ctx.db.pool(), repo, sha).await? {
        Some(watch) => judge(ctx, github, watch).await.map(Some),
        None => Ok(None),
    }
}

/// Looks at a watched merge again: its checks, and its revert when one is under way.
pub async fn judge(
    ctx: &Context,
    github: &GithubClient,
    watch: MergeWatch,
) -> anyhow::Result<Handled> {
    let guard = Guard::of(ctx, github, &watch)?;
    match watch.state.as_str() {
        "watching" => guard.judge_merge(watch).await,
        "reverting" => guard.judge_revert(watch).await,
        other => Ok(Handled::Skipped(format!("the merge is {other}"))),
    }
}

/// The revert of a fix merged (by GlobalLM or by someone): its watch, if any, is done.
pub async fn revert_merged(ctx: &Context, fix_id: i64) -> anyhow::Result<()> {
    if let Some(watch) = outcomes::watch_of(ctx.db.pool(), fix_id).await? {
        set_state(ctx, watch, "reverted", |_| {}).await?;
    }
    Ok(())
}

/// The checks that passed on the commit before the merge and do not on the merge commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Failing on the merge commit.
    pub regressed: Vec<Failure>,
    /// Not completed (or not started) on the merge commit yet.
    pub waiting: Vec<String>,
    /// How many passed on the commit before.
    pub passed_before: usize,
}

/// Compares the checks of the commit before a merge with those of the merge commit.
pub fn compare(
    before: &BTreeMap<String, Outcome>,
    after: &BTreeMap<String, Outcome>,
) -> Comparison {
    let mut comparison = Comparison::default();
    for (name, outcome) in before {
        if *outcome != Outcome::Passed {
            continue;
        }
        comparison.passed_before += 1;
        match after.get(name) {
            Some(Outcome::Passed) => {}
            Some(Outcome::Failed(failure)) => comparison.regressed.push(failure.clone()),
            Some(Outcome::Running) | None => comparison.waiting.push(name.clone()),
        }
    }
    comparison
}

/// Writes `state` (and what `change` sets) on the watch; `None` when another write came first.
async fn set_state(
    ctx: &Context,
    mut watch: MergeWatch,
    state: &str,
    change: impl FnOnce(&mut MergeWatch),
) -> anyhow::Result<Option<MergeWatch>> {
    state.clone_into(&mut watch.state);
    change(&mut watch);
    let mut tx = ctx.db.write().await?;
    let written = outcomes::update_watch(tx.conn(), &watch, ctx.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(written.then(|| {
        watch.version += 1;
        watch
    }))
}

/// What every step of the guard needs.
struct Guard<'a> {
    ctx: &'a Context,
    github: &'a GithubClient,
    inst: InstallationId,
    repo: RepoName,
}

impl<'a> Guard<'a> {
    fn of(ctx: &'a Context, github: &'a GithubClient, watch: &MergeWatch) -> anyhow::Result<Self> {
        Ok(Self {
            ctx,
            github,
            inst: InstallationId(u64::try_from(watch.installation).unwrap_or_default()),
            repo: watch
                .repo
                .parse()
                .map_err(|err| anyhow::anyhow!("{}: {err}", watch.repo))?,
        })
    }

    async fn outcomes(&self, sha: &str) -> anyhow::Result<BTreeMap<String, Outcome>> {
        let runs = self
            .github
            .check_runs(self.inst, &self.repo, sha)
            .await
            .context("listing check runs")?;
        let statuses = self
            .github
            .combined_status(self.inst, &self.repo, sha)
            .await
            .context("reading commit statuses")?;
        Ok(ci::outcomes(&runs, &statuses, &[CONFIG_CHECK]))
    }

    async fn comparison(&self, watch: &MergeWatch) -> anyhow::Result<Comparison> {
        let before = self.outcomes(&watch.parent_sha).await?;
        let after = self.outcomes(&watch.merge_sha).await?;
        Ok(compare(&before, &after))
    }

    async fn fix(&self, watch: &MergeWatch) -> anyhow::Result<FixPr> {
        fixes::get(self.ctx.db.pool(), watch.fix_id)
            .await?
            .context("the merged fix")
    }

    /// The merge is watched: clean, still running, or a regression to revert.
    async fn judge_merge(&self, watch: MergeWatch) -> anyhow::Result<Handled> {
        let comparison = self.comparison(&watch).await?;
        if comparison.regressed.is_empty() {
            let all_ran = comparison.waiting.is_empty() && comparison.passed_before > 0;
            if all_ran || self.ctx.clock.now_ms() >= watch.deadline {
                if set_state(self.ctx, watch, "clean", |_| {}).await?.is_some() {
                    return Ok(Handled::Done);
                }
                return Ok(Handled::Skipped("the watch changed meanwhile".to_owned()));
            }
            return Ok(Handled::Skipped(format!(
                "waiting for {} on the merge commit",
                comparison.waiting.join(", ")
            )));
        }
        let failed = comparison.regressed;
        // The runs re-run once are waited for: their failures are the ones before the re-run.
        let rerun: Vec<u64> = watch
            .rerun
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        if !rerun.is_empty()
            && failed
                .iter()
                .all(|f| f.run.is_some_and(|r| rerun.contains(&r.0)))
        {
            return Ok(Handled::Skipped(
                "waiting for the re-run of the failed checks".to_owned(),
            ));
        }
        let suites: Vec<_> = failed.iter().filter_map(|f| f.suite).collect();
        if watch.rerun.is_none() && suites.len() == failed.len() && failed.iter().all(|f| f.flaky) {
            let runs: Vec<u64> = failed.iter().filter_map(|f| f.run.map(|r| r.0)).collect();
            let runs = serde_json::to_string(&runs)?;
            if set_state(self.ctx, watch, "watching", |w| w.rerun = Some(runs))
                .await?
                .is_none()
            {
                return Ok(Handled::Skipped("the watch changed meanwhile".to_owned()));
            }
            let mut unique = suites;
            unique.sort_by_key(|s| s.0);
            unique.dedup();
            for suite in unique {
                self.github
                    .rerequest_check_suite(self.inst, &self.repo, suite)
                    .await
                    .context("re-running a check suite on the merge commit")?;
            }
            return Ok(Handled::Done);
        }
        let names: Vec<&str> = failed.iter().map(|f| f.name.as_str()).collect();
        let failing = serde_json::to_string(&names)?;
        let Some(watch) = set_state(self.ctx, watch, "reverting", |w| {
            w.failing = Some(failing);
        })
        .await?
        else {
            return Ok(Handled::Skipped("the watch changed meanwhile".to_owned()));
        };
        self.open_revert(watch, &failed).await
    }

    /// Opens the revert pull request and says so on the reverted one and its issue.
    async fn open_revert(&self, watch: MergeWatch, failed: &[Failure]) -> anyhow::Result<Handled> {
        let ctx = self.ctx;
        let fix = self.fix(&watch).await?;
        let pr = fix.pr_number.unwrap_or_default();
        let original = self
            .github
            .get_pull(self.inst, &self.repo, number(pr))
            .await
            .context("reading the merged pull request")?;
        let meta = self
            .github
            .get_repo(self.inst, &self.repo)
            .await
            .context("reading the repository")?;
        let token = self
            .github
            .installation_token(self.inst)
            .await
            .context("a token for git")?;
        let url = super::clone_url(&ctx.config(), &meta, &self.repo);
        let work = ctx
            .checkouts
            .work_tree(&watch.repo, &url, Some(&token), &watch.base_branch)
            .await
            .context("checking out the base branch")?;
        let branch = format!("globallm/revert-{pr}");
        checkout::create_branch(&work, &branch)
            .await
            .context("creating the revert branch")?;
        let author = super::publish::bot_author(ctx).await?;
        let message = format!(
            "{}\n\nThis reverts commit {}: checks of `{}` that passed before it fail after it.",
            guard::revert_title(&original.title),
            watch.merge_sha,
            watch.base_branch
        );
        let reverted = checkout::revert_merge(
            &work,
            &author,
            &watch.parent_sha,
            &watch.merge_sha,
            &message,
        )
        .await
        .context("reverting the merge commit")?;
        let Some(revert_sha) = reverted else {
            let text = guard::unrevertable(&watch.merge_sha, &watch.base_branch, failed);
            self.say(
                number(pr),
                &format!("guard:unrevertable@{}", watch.merge_sha),
                &text,
            )
            .await?;
            set_state(ctx, watch, "declined", |_| {}).await?;
            return Ok(Handled::Done);
        };
        // The revert branch holds exactly GlobalLM's revert: pushed where no branch is, else
        // over whatever the branch holds (an earlier attempt's, or anyone's), under a lease.
        if let Err(err) = checkout::push(&work, &url, Some(&token), &branch, Some("")).await {
            tracing::info!(%branch, "the revert branch exists, replacing it: {err}");
            let there = self
                .github
                .recent_commits(self.inst, &self.repo, &branch, 1)
                .await
                .context("reading the revert branch")?;
            let there = there.first().map_or("", String::as_str);
            checkout::push(&work, &url, Some(&token), &branch, Some(there))
                .await
                .context("pushing the revert")?;
        }
        let open = self
            .github
            .pulls_for_branch(self.inst, &self.repo, &branch, "open")
            .await
            .context("looking for an open revert")?;
        let revert = match open.into_iter().next() {
            Some(revert) => revert,
            None => self
                .github
                .create_pull(
                    self.inst,
                    &self.repo,
                    &NewPullRequest {
                        title: guard::revert_title(&original.title),
                        head: branch,
                        base: watch.base_branch.clone(),
                        body: guard::revert_body(
                            &watch.repo,
                            pr,
                            &watch.merge_sha,
                            &watch.parent_sha,
                            &watch.base_branch,
                            failed,
                        ),
                        draft: false,
                    },
                )
                .await
                .context("opening the revert pull request")?,
        };
        let text = guard::reverting(
            &watch.merge_sha,
            revert.number.0,
            &watch.base_branch,
            failed,
        );
        let key = format!("guard:reverting@{}", watch.merge_sha);
        let head = revert_sha;
        let revert_number = i64::try_from(revert.number.0).unwrap_or_default();
        set_state(ctx, watch, "reverting", |w| {
            w.revert_pr = Some(revert_number);
            w.revert_head = Some(head);
        })
        .await?;
        self.say(number(pr), &key, &text).await?;
        let issue = number(fix.issue);
        self.say(issue, &key, &text).await?;
        self.github
            .set_issue_state(self.inst, &self.repo, issue, "open")
            .await
            .context("reopening the issue")?;
        Ok(Handled::Done)
    }

    /// A revert is under way: closed when the failing checks pass on a re-run, merged when
    /// its CI is green and policy allows, else left to a maintainer.
    async fn judge_revert(&self, watch: MergeWatch) -> anyhow::Result<Handled> {
        let failing: Vec<String> = watch
            .failing
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok())
            .unwrap_or_default();
        let after = self.outcomes(&watch.merge_sha).await?;
        let passing_again = !failing.is_empty()
            && failing
                .iter()
                .all(|name| after.get(name) == Some(&Outcome::Passed));
        let Some(revert_pr) = watch.revert_pr else {
            // Claimed, but the revert was not opened (a crash, a GitHub error): again, unless
            // the checks recovered meanwhile — once the claim is older than the time opening
            // takes, and under a new claim, so concurrent events do not open it side by side.
            if self.ctx.clock.now_ms() - watch.updated_at < REOPEN_AFTER_MS {
                return Ok(Handled::Skipped("the revert is being opened".to_owned()));
            }
            let Some(watch) = set_state(self.ctx, watch, "reverting", |_| {}).await? else {
                return Ok(Handled::Skipped("the watch changed meanwhile".to_owned()));
            };
            let comparison = self.comparison(&watch).await?;
            if comparison.regressed.is_empty() && comparison.waiting.is_empty() {
                set_state(self.ctx, watch, "cleared", |_| {}).await?;
                return Ok(Handled::Done);
            }
            if comparison.regressed.is_empty() {
                return Ok(Handled::Skipped(
                    "the failing checks are running again".to_owned(),
                ));
            }
            return self.open_revert(watch, &comparison.regressed).await;
        };
        let revert_number = number(revert_pr);
        let pull = self
            .github
            .get_pull(self.inst, &self.repo, revert_number)
            .await
            .context("reading the revert pull request")?;
        if pull.merged {
            // Merged by someone (GlobalLM's own merge records itself): its event records who;
            // when that event was lost, the revert is recorded here.
            let fix_id = watch.fix_id;
            set_state(self.ctx, watch, "reverted", |_| {}).await?;
            super::lifecycle::reverted(self.ctx, fix_id, "someone").await?;
            return Ok(Handled::Skipped("the revert is merged".to_owned()));
        }
        if pull.state != State::Open {
            set_state(self.ctx, watch, "declined", |_| {}).await?;
            return Ok(Handled::Skipped(
                "the revert pull request was closed".to_owned(),
            ));
        }
        if passing_again {
            return self.clear(watch, &failing).await;
        }
        let head = pull.head.sha.0.clone();
        if watch.revert_head.as_deref() != Some(head.as_str()) {
            let why = format!(
                "someone pushed to its branch ({}), so it is no longer only GlobalLM's revert",
                render::short(&head)
            );
            let key = format!("guard:pushed@{head}");
            self.say(revert_number, &key, &guard::revert_proposed(&why))
                .await?;
            return Ok(Handled::Done);
        }
        let settings = self
            .ctx
            .repo_configs
            .settings_now(self.github, self.inst, &self.repo)
            .await;
        let own_app = self
            .ctx
            .bot_login()
            .await?
            .trim_end_matches("[bot]")
            .to_owned();
        let reported = super::checks::gather(
            self.github,
            self.inst,
            &self.repo,
            &head,
            &pull.base.branch,
            &settings.config,
            &own_app,
        )
        .await
        .context("reading what CI reported on the revert")?;
        let verdict = ci::evaluate(&ci::CiReport {
            check_runs: &reported.check_runs,
            suites: &reported.suites,
            expected: &reported.expected,
            statuses: &reported.statuses,
            required: reported.required.as_ref(),
            mergeable: pull.mergeable,
            ignore: &[CONFIG_CHECK],
        });
        let key = |what: &str| format!("guard:{what}@{head}");
        match verdict {
            Verdict::Pending { waiting } => Ok(Handled::Skipped(format!(
                "waiting for {} on the revert",
                waiting.join(", ")
            ))),
            Verdict::Red { failed } => {
                let why = format!("its CI failed too:\n\n{}", render::failures(&failed));
                self.say(revert_number, &key("red"), &guard::revert_proposed(&why))
                    .await?;
                Ok(Handled::Done)
            }
            Verdict::Blocked { reason } => {
                self.say(
                    revert_number,
                    &key("blocked"),
                    &guard::revert_proposed(&reason),
                )
                .await?;
                Ok(Handled::Done)
            }
            Verdict::Green => {
                let policy = self
                    .ctx
                    .config()
                    .risk
                    .automerge
                    .min(settings.config.automerge(self.ctx.config().risk.automerge));
                let why = if settings.automation().is_err() || policy < Automerge::Low {
                    Some("this repository does not let LOW changes merge themselves".to_owned())
                } else {
                    super::merge::frozen(self.github, self.inst, &self.repo, &settings)
                        .await?
                        .map(|frozen| format!("merges are frozen ({frozen})"))
                };
                if let Some(why) = why {
                    self.say(
                        revert_number,
                        &key("proposed"),
                        &guard::revert_proposed(&why),
                    )
                    .await?;
                    return Ok(Handled::Done);
                }
                self.merge_revert(
                    watch,
                    &pull.title,
                    revert_number,
                    &head,
                    settings.config.merge,
                )
                .await
            }
        }
    }

    async fn merge_revert(
        &self,
        watch: MergeWatch,
        title: &str,
        revert_number: IssueNumber,
        head: &str,
        method: crate::github::repo_config::MergeMethod,
    ) -> anyhow::Result<Handled> {
        let _slot = self.ctx.merge_slots.hold(&watch.repo).await;
        // Nobody pushed to the base since the merge it reverts: read under the slot, just
        // before the merge call.
        let tip = self
            .github
            .recent_commits(self.inst, &self.repo, &watch.base_branch, 1)
            .await
            .context("reading the base branch")?;
        if tip.first() != Some(&watch.merge_sha) {
            let why = format!(
                "`{}` gained commits after the merge it reverts, and what they need was not decided by GlobalLM",
                watch.base_branch
            );
            self.say(
                revert_number,
                &format!("guard:proposed@{head}"),
                &guard::revert_proposed(&why),
            )
            .await?;
            return Ok(Handled::Done);
        }
        let title = format!("{title} (#{revert_number})");
        let sha = match self
            .github
            .merge_pull(self.inst, &self.repo, revert_number, head, &title, method)
            .await
        {
            Ok(merged) => merged.sha,
            // Merged already by this very call, whose first answer was lost? Look.
            Err(
                GithubError::Validation { status, message }
                | GithubError::Other { status, message },
            ) if status == 405 || status == 409 => {
                let now = self
                    .github
                    .get_pull(self.inst, &self.repo, revert_number)
                    .await
                    .context("reading the revert after a refused merge")?;
                if !(now.merged && now.head.sha.0 == head) {
                    return Ok(Handled::Skipped(format!(
                        "GitHub would not merge the revert ({status}): {message}"
                    )));
                }
                now.merge_sha
            }
            Err(err) => return Err(err).context("merging the revert"),
        };
        let fix_id = watch.fix_id;
        set_state(self.ctx, watch, "reverted", |_| {}).await?;
        super::lifecycle::reverted(self.ctx, fix_id, GLOBALLM).await?;
        let sha = sha.unwrap_or_default();
        self.say(
            revert_number,
            &format!("guard:merged@{head}"),
            &guard::revert_merged(&sha),
        )
        .await?;
        Ok(Handled::Done)
    }

    /// The failing checks pass on a re-run: the revert is closed, the issue closed again.
    async fn clear(&self, watch: MergeWatch, failing: &[String]) -> anyhow::Result<Handled> {
        let Some(revert_pr) = watch.revert_pr else {
            return Ok(Handled::Skipped("no revert to close".to_owned()));
        };
        let fix = self.fix(&watch).await?;
        let revert_number = number(revert_pr);
        self.say(
            revert_number,
            &format!("guard:cleared@{}", watch.merge_sha),
            &guard::cleared(&watch.merge_sha, failing),
        )
        .await?;
        self.github
            .update_pull(
                self.inst,
                &self.repo,
                revert_number,
                &crate::github::model::PullRequestUpdate {
                    title: None,
                    body: None,
                    state: Some("closed".to_owned()),
                },
            )
            .await
            .context("closing the revert")?;
        self.github
            .set_issue_state(self.inst, &self.repo, number(fix.issue), "closed")
            .await
            .context("closing the issue again")?;
        set_state(self.ctx, watch, "cleared", |_| {}).await?;
        Ok(Handled::Done)
    }

    /// Comments once under `key`.
    async fn say(&self, on: IssueNumber, key: &str, text: &str) -> anyhow::Result<()> {
        let said = self
            .github
            .find_keyed(self.inst, &self.repo, on, key, None)
            .await
            .context("looking for what was said")?;
        if said.is_none() {
            self.github
                .create_comment(self.inst, &self.repo, on, key, text)
                .await
                .context("commenting")?;
        }
        Ok(())
    }
}

fn number(n: i64) -> IssueNumber {
    IssueNumber(u64::try_from(n).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(name: &str) -> Outcome {
        Outcome::Failed(Failure {
            name: name.to_owned(),
            conclusion: "failure".to_owned(),
            output: None,
            flaky: false,
            suite: None,
            run: None,
            app: None,
        })
    }

    fn checks(list: &[(&str, Outcome)]) -> BTreeMap<String, Outcome> {
        list.iter()
            .map(|(n, o)| ((*n).to_owned(), o.clone()))
            .collect()
    }

    #[test]
    fn only_a_check_green_before_the_merge_and_red_after_it_is_a_regression() {
        let before = checks(&[
            ("test", Outcome::Passed),
            ("lint", failed("lint")),
            ("docs", Outcome::Passed),
            ("bench", Outcome::Running),
        ]);
        let after = checks(&[
            ("test", failed("test")),
            ("lint", failed("lint")),
            ("bench", failed("bench")),
            ("new", failed("new")),
        ]);
        let comparison = compare(&before, &after);
        let names: Vec<&str> = comparison
            .regressed
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["test"],
            "red before, unknown before, or new: not ours"
        );
        assert_eq!(comparison.waiting, ["docs"]);
        assert_eq!(comparison.passed_before, 2);
    }
}
