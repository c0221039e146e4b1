//! The one writer of `fix_prs`: every change to a fix is a transition here. A transition reads
//! the current row, decides on it (a pure function of the row and the caller's facts), and
//! writes it back only if nothing else wrote it meanwhile (the row's `version`); a lost race
//! reads the row again and decides again. So a `/globallm stop` that lands while a repair
//! drafts is never undone by the repair's save: the repair's next transition sees the stop.
//!
//! Transitions say what the caller may do next; the GitHub calls that follow happen outside
//! (after the write committed), so a crash in between loses an action, never doubles it.

use super::state::{FixState, Tier};
use crate::context::Context;
use crate::db::fixes::{self, FixPr};
use anyhow::Context as _;

/// How often a transition reads again after losing a race before giving up (the job retries).
const MAX_RACES: u32 = 16;

/// What a decision does with the row it was given.
#[derive(Debug)]
pub enum Decision<T> {
    /// Write the (changed) row and return `T`.
    Write(T),
    /// Leave the row as it is and return `T`.
    Keep(T),
}

/// Reads fix `id`, lets `decide` change it, and writes it with the version it was read at;
/// after a lost race, reads and decides again. Returns what `decide` returned and the row as
/// written (or as read, for [`Decision::Keep`]).
pub async fn transition<T>(
    ctx: &Context,
    id: i64,
    mut decide: impl FnMut(&mut FixPr) -> Decision<T>,
) -> anyhow::Result<(T, FixPr)> {
    for _ in 0..MAX_RACES {
        let mut fix = fixes::get(ctx.db.pool(), id)
            .await
            .context("reading the fix")?
            .with_context(|| format!("fix {id} is gone"))?;
        match decide(&mut fix) {
            Decision::Keep(out) => return Ok((out, fix)),
            Decision::Write(out) => {
                let mut tx = ctx.db.write().await?;
                let written = fixes::update(tx.conn(), &fix, ctx.clock.now_ms())
                    .await
                    .context("writing the fix")?;
                tx.commit().await?;
                if written {
                    fix.version += 1;
                    return Ok((out, fix));
                }
                tracing::debug!(fix = id, "lost a race on the fix row: deciding again");
            }
        }
    }
    anyhow::bail!("fix {id} kept changing under {MAX_RACES} attempts to update it")
}

/// Starts a fix of an issue (state `drafting`); `None` when one is being drafted or is open.
pub async fn start(
    ctx: &Context,
    repo: &str,
    issue: u64,
    installation: u64,
    requested_by: &str,
) -> anyhow::Result<Option<FixPr>> {
    let mut tx = ctx.db.write().await?;
    let id = fixes::start(
        tx.conn(),
        repo,
        issue as i64,
        installation as i64,
        &super::branch_name(issue),
        ctx.clock.now_ms(),
    )
    .await?;
    tx.commit().await?;
    let Some(id) = id else { return Ok(None) };
    let (_, fix) = transition(ctx, id, |fix| {
        fix.requested_by = Some(requested_by.to_owned());
        Decision::Write(())
    })
    .await?;
    Ok(Some(fix))
}

/// Why a push may not go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushRefused {
    /// Automation was stopped meanwhile (`/globallm stop`, a human push, a bound).
    Stopped(String),
    /// The fix is not in a state this push belongs to.
    State(FixState),
    /// The branch moved since the job read it: someone else pushed.
    Moved,
}

/// Before a push of `new_head` over `expected` (what the branch holds as far as GlobalLM
/// knows): records the new head — so the CI events and the `synchronize` the push causes find
/// it and never take it for someone else's — unless a stop won the race or the branch moved.
/// `automated`: the push was not asked for by a maintainer (a repair), so a stop wins.
pub async fn begin_push(
    ctx: &Context,
    id: i64,
    expected: Option<&str>,
    new_head: &str,
    automated: bool,
) -> anyhow::Result<Result<FixPr, PushRefused>> {
    let (decided, fix) = transition(ctx, id, |fix| {
        if !fix.state.is_active() {
            return Decision::Keep(Err(PushRefused::State(fix.state)));
        }
        if fix.stopped && automated {
            let reason = fix.stop_reason.clone().unwrap_or_default();
            return Decision::Keep(Err(PushRefused::Stopped(reason)));
        }
        if fix.state == FixState::Open && fix.head_sha.as_deref() != expected {
            return Decision::Keep(Err(PushRefused::Moved));
        }
        fix.head_sha = Some(new_head.to_owned());
        fix.acted = None;
        fix.last_ci = Some("pending".to_owned());
        Decision::Write(Ok(()))
    })
    .await?;
    Ok(decided.map(|()| fix))
}

/// The push of `pushed` did not happen: the branch still holds `previous`.
pub async fn push_failed(
    ctx: &Context,
    id: i64,
    pushed: &str,
    previous: Option<&str>,
) -> anyhow::Result<()> {
    transition(ctx, id, |fix| {
        if fix.head_sha.as_deref() != Some(pushed) {
            return Decision::Keep(());
        }
        fix.head_sha = previous.map(str::to_owned);
        Decision::Write(())
    })
    .await?;
    Ok(())
}

/// What a pushed draft (first draft, retry or repair) brings to its row.
#[derive(Debug, Clone)]
pub struct Drafted {
    /// The head pushed.
    pub head: String,
    /// The tier of the whole branch against its merge base, and why.
    pub tier: Tier,
    /// The reasons, in order.
    pub reasons: Vec<String>,
    /// The merge base the tier was computed against.
    pub base: String,
    /// The issue's category and complexity the draft was made for.
    pub category: String,
    /// Its complexity.
    pub complexity: u8,
    /// The drafting attempt this was (1 for the first draft).
    pub attempt: i64,
    /// Tokens and cost the draft spent.
    pub tokens: i64,
    /// Its cost in USD.
    pub cost_usd: f64,
    /// Milliseconds the job spent on it.
    pub spent_ms: i64,
}

/// A draft was pushed: its tier, spending and head are recorded (whatever else changed the
/// row meanwhile — a stop — is kept).
pub async fn drafted(ctx: &Context, id: i64, d: &Drafted) -> anyhow::Result<FixPr> {
    let (_, fix) = transition(ctx, id, |fix| {
        fix.head_sha = Some(d.head.clone());
        fix.tier = Some(d.tier);
        fix.risk_reasons = Some(serde_json::to_string(&d.reasons).unwrap_or_default());
        fix.tier_base = Some(d.base.clone());
        fix.tier_head = Some(d.head.clone());
        fix.category = Some(d.category.clone());
        fix.complexity = Some(i64::from(d.complexity));
        fix.attempts = d.attempt;
        fix.tokens += d.tokens;
        fix.cost_usd += d.cost_usd;
        fix.spent_ms += d.spent_ms;
        Decision::Write(())
    })
    .await?;
    Ok(fix)
}

/// The pull request is open (or found open): the fix is `open`.
pub async fn opened(ctx: &Context, id: i64, pr_number: u64) -> anyhow::Result<FixPr> {
    let (_, fix) = transition(ctx, id, |fix| {
        fix.pr_number = Some(pr_number as i64);
        if fix.state == FixState::Drafting {
            fix.state = FixState::Open;
        }
        Decision::Write(())
    })
    .await?;
    Ok(fix)
}

/// Drafting ended without a push: a fix with no pull request is `failed` (a later request
/// starts again); an open one keeps its pull request and stops, with `reason`.
pub async fn gave_up(
    ctx: &Context,
    id: i64,
    reason: &str,
    tokens: i64,
    spent_ms: i64,
) -> anyhow::Result<FixPr> {
    let (_, fix) = transition(ctx, id, |fix| {
        fix.tokens += tokens;
        fix.spent_ms += spent_ms;
        match fix.state {
            FixState::Drafting if fix.pr_number.is_none() => fix.state = FixState::Failed,
            FixState::Open | FixState::Drafting => {
                fix.stopped = true;
                fix.stop_reason = Some(reason.to_owned());
            }
            _ => {}
        }
        Decision::Write(())
    })
    .await?;
    Ok(fix)
}

/// A job that started drafting and failed for good: the row stops standing in the way of a
/// later request. `true` when it was marked failed (so the issue is told).
pub async fn abandoned(ctx: &Context, id: i64) -> anyhow::Result<bool> {
    let (marked, _) = transition(ctx, id, |fix| {
        if fix.state != FixState::Drafting || fix.pr_number.is_some() {
            return Decision::Keep(false);
        }
        fix.state = FixState::Failed;
        Decision::Write(true)
    })
    .await?;
    Ok(marked)
}

/// What a stop found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Stopped now.
    Now,
    /// It was stopped already.
    Already,
    /// Nothing left to stop: the fix is merged, closed or failed.
    Over(FixState),
}

/// Stops all automation on the fix, with `reason`. A stop always wins: every later transition
/// that pushes, re-runs or merges reads it.
pub async fn stop(ctx: &Context, id: i64, reason: &str) -> anyhow::Result<Stop> {
    let (stop, _) = transition(ctx, id, |fix| {
        if !fix.state.is_active() {
            return Decision::Keep(Stop::Over(fix.state));
        }
        if fix.stopped {
            return Decision::Keep(Stop::Already);
        }
        fix.stopped = true;
        fix.stop_reason = Some(reason.to_owned());
        Decision::Write(Stop::Now)
    })
    .await?;
    Ok(stop)
}

/// Resumes automation after a stop (a maintainer's `/globallm resume` or `retry`); actions
/// taken on the current head may be taken again.
pub async fn resume(ctx: &Context, id: i64) -> anyhow::Result<FixPr> {
    let (_, fix) = transition(ctx, id, |fix| {
        fix.stopped = false;
        fix.stop_reason = None;
        fix.acted = None;
        Decision::Write(())
    })
    .await?;
    Ok(fix)
}

/// Someone else pushed `head` to the branch: automation stops for good. `true` when this call
/// stopped it (so it is said once).
pub async fn human_push(ctx: &Context, id: i64, head: &str) -> anyhow::Result<bool> {
    let reason = format!(
        "someone else pushed {} to the branch",
        super::render::short(head)
    );
    Ok(stop(ctx, id, &reason).await? == Stop::Now)
}

/// A maintainer's `/globallm merge` approves `head` (and only `head`).
pub async fn approve_merge(ctx: &Context, id: i64, head: &str, by: &str) -> anyhow::Result<()> {
    transition(ctx, id, |fix| {
        fix.merge_approved_sha = Some(head.to_owned());
        fix.merge_approved_by = Some(by.to_owned());
        fix.acted = None;
        Decision::Write(())
    })
    .await?;
    Ok(())
}

/// The tier of the whole branch at `head`, recomputed at a decision to merge.
pub async fn tier_computed(
    ctx: &Context,
    id: i64,
    head: &str,
    base: &str,
    tier: Tier,
    reasons: &[String],
) -> anyhow::Result<FixPr> {
    let (_, fix) = transition(ctx, id, |fix| {
        if fix.tier == Some(tier)
            && fix.tier_head.as_deref() == Some(head)
            && fix.tier_base.as_deref() == Some(base)
        {
            return Decision::Keep(());
        }
        fix.tier = Some(tier);
        fix.risk_reasons = Some(serde_json::to_string(reasons).unwrap_or_default());
        fix.tier_head = Some(head.to_owned());
        fix.tier_base = Some(base.to_owned());
        Decision::Write(())
    })
    .await?;
    Ok(fix)
}

/// CI's verdict on `head` (and the failing output of a red one).
pub async fn verdict(
    ctx: &Context,
    id: i64,
    head: &str,
    verdict: &str,
    ci_output: Option<&str>,
) -> anyhow::Result<()> {
    transition(ctx, id, |fix| {
        if fix.head_sha.as_deref() != Some(head) {
            return Decision::Keep(());
        }
        let output = ci_output
            .map(str::to_owned)
            .or_else(|| fix.ci_output.clone());
        if fix.last_ci.as_deref() == Some(verdict) && fix.ci_output == output {
            return Decision::Keep(());
        }
        fix.last_ci = Some(verdict.to_owned());
        fix.ci_output = output;
        Decision::Write(())
    })
    .await?;
    Ok(())
}

/// What an automated action on a head may do.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This caller acts (the action is recorded for the head first).
    Act,
    /// It was taken on this head already.
    Done,
    /// Automation is stopped, or the fix moved on (another head, another state): why.
    Refused(String),
}

/// Claims `action` on `head` once: recorded before it is taken, so the same CI event twice (or
/// ten check runs finishing) acts once, and a stop that came first wins. `bump` counts it
/// (re-runs, repairs) within `bound`.
pub async fn claim(
    ctx: &Context,
    id: i64,
    head: &str,
    action: &str,
    bump: Option<Bump>,
) -> anyhow::Result<Claim> {
    enum Decided {
        Refused(String),
        Taken,
        Claimed,
    }
    let key = format!("{action}@{head}");
    let (decided, _) = transition(ctx, id, |fix| {
        if let Some(why) = refusal(fix, head) {
            return Decision::Keep(Decided::Refused(why));
        }
        if fix.acted.as_deref() == Some(key.as_str()) {
            return Decision::Keep(Decided::Taken);
        }
        match bump {
            Some(Bump::Repair) => fix.repairs += 1,
            Some(Bump::Rerun) => fix.reruns += 1,
            Some(Bump::Stop(reason)) => {
                fix.stopped = true;
                fix.stop_reason = Some(reason.to_owned());
            }
            None => {}
        }
        fix.acted = Some(key.clone());
        Decision::Write(Decided::Claimed)
    })
    .await?;
    Ok(match decided {
        Decided::Refused(why) => Claim::Refused(why),
        Decided::Taken => Claim::Done,
        Decided::Claimed => Claim::Act,
    })
}

/// What a claimed action counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bump {
    /// A repair attempt.
    Repair,
    /// A re-run of flaky checks.
    Rerun,
    /// Giving up: automation stops, for this reason.
    Stop(&'static str),
}

/// Why nothing automated may happen on `head` of this fix now, if so.
pub fn refusal(fix: &FixPr, head: &str) -> Option<String> {
    if fix.state != FixState::Open {
        return Some(format!("the fix is {}", fix.state));
    }
    if fix.stopped {
        return Some(format!(
            "automation is stopped on this pull request: {}",
            fix.stop_reason.as_deref().unwrap_or("no reason kept")
        ));
    }
    if fix.head_sha.as_deref() != Some(head) {
        return Some("the pull request has a newer head".to_owned());
    }
    None
}

/// The last word before a merge call: the row is read again (a stop, a new head or a merge by
/// another worker wins) and the merge is claimed for `head`.
pub async fn begin_merge(ctx: &Context, id: i64, head: &str) -> anyhow::Result<Claim> {
    claim(ctx, id, head, "merging", None).await
}

/// GitHub did not merge `head`: the claim is given back, so the next CI event decides again.
pub async fn merge_failed(ctx: &Context, id: i64, head: &str) -> anyhow::Result<()> {
    let key = format!("merging@{head}");
    transition(ctx, id, |fix| {
        if fix.acted.as_deref() != Some(key.as_str()) {
            return Decision::Keep(());
        }
        fix.acted = None;
        Decision::Write(())
    })
    .await?;
    Ok(())
}

/// The pull request was merged (by GlobalLM as `merge_sha`, or by someone).
pub async fn merged(
    ctx: &Context,
    id: i64,
    merge_sha: Option<&str>,
    by: &str,
) -> anyhow::Result<bool> {
    let now = ctx.clock.now_ms();
    let (changed, _) = transition(ctx, id, |fix| {
        if fix.state != FixState::Open {
            return Decision::Keep(false);
        }
        fix.state = FixState::Merged;
        fix.merge_sha = merge_sha
            .map(str::to_owned)
            .or_else(|| fix.merge_sha.clone());
        fix.merged_by = Some(by.to_owned());
        fix.merged_at = Some(now);
        if let Some(head) = fix.head_sha.clone() {
            fix.acted = Some(format!("merged@{head}"));
        }
        Decision::Write(true)
    })
    .await?;
    Ok(changed)
}

/// The pull request was closed unmerged.
pub async fn closed(ctx: &Context, id: i64) -> anyhow::Result<bool> {
    let (changed, _) = transition(ctx, id, |fix| {
        if fix.state != FixState::Open {
            return Decision::Keep(false);
        }
        fix.state = FixState::Closed;
        Decision::Write(true)
    })
    .await?;
    Ok(changed)
}

/// The merged pull request was reverted by `by` (`globallm` for the post-merge guard's own
/// revert); `true` the first time.
pub async fn reverted(ctx: &Context, id: i64, by: &str) -> anyhow::Result<bool> {
    let now = ctx.clock.now_ms();
    let (changed, _) = transition(ctx, id, |fix| {
        if fix.state != FixState::Merged || fix.reverted {
            return Decision::Keep(false);
        }
        fix.reverted = true;
        fix.reverted_by = Some(by.to_owned());
        fix.reverted_at = Some(now);
        Decision::Write(true)
    })
    .await?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::harness::TestApp;

    async fn fix_of(app: &TestApp) -> FixPr {
        start(&app.ctx, "acme/shop", 1, 5151, "maria")
            .await
            .expect("stored")
            .expect("the first fix of the issue")
    }

    #[tokio::test]
    async fn a_stop_that_lands_while_a_repair_drafts_wins_the_repairs_push() {
        let app = TestApp::start().await;
        let fix = fix_of(&app).await;
        begin_push(&app.ctx, fix.id, None, "a1", false)
            .await
            .expect("written")
            .expect("the first push goes ahead");
        opened(&app.ctx, fix.id, 7).await.expect("opened");
        // The repair job read the row before the stop...
        let stale = fixes::get(app.ctx.db.pool(), fix.id)
            .await
            .expect("read")
            .expect("there");
        assert_eq!(
            stop(&app.ctx, fix.id, "`/globallm stop`")
                .await
                .expect("stopped"),
            Stop::Now
        );
        // ...and its push, decided on the row as it is now, is refused.
        let push = begin_push(&app.ctx, fix.id, stale.head_sha.as_deref(), "b2", true)
            .await
            .expect("decided");
        assert!(matches!(push, Err(PushRefused::Stopped(_))), "{push:?}");
        let now = fixes::get(app.ctx.db.pool(), fix.id)
            .await
            .expect("read")
            .expect("there");
        assert!(now.stopped);
        assert_eq!(now.head_sha.as_deref(), Some("a1"));
    }

    #[tokio::test]
    async fn a_write_from_a_stale_copy_loses_and_the_decision_is_made_again() {
        let app = TestApp::start().await;
        let fix = fix_of(&app).await;
        let mut stale = fixes::get(app.ctx.db.pool(), fix.id)
            .await
            .expect("read")
            .expect("there");
        stop(&app.ctx, fix.id, "stop").await.expect("stopped");
        stale.stopped = false;
        let mut tx = app.ctx.db.write().await.expect("tx");
        let written = fixes::update(tx.conn(), &stale, 1).await.expect("ran");
        tx.commit().await.expect("commit");
        assert!(!written, "a stale copy does not overwrite the stop");
        let mut decisions = 0;
        let (_, after) = transition(&app.ctx, fix.id, |f| {
            decisions += 1;
            f.tokens += 10;
            Decision::Write(())
        })
        .await
        .expect("written");
        assert_eq!(decisions, 1);
        assert!(after.stopped, "the stop is kept");
        assert_eq!(after.tokens, 10);
    }

    #[tokio::test]
    async fn an_action_is_claimed_once_per_head() {
        let app = TestApp::start().await;
        let fix = fix_of(&app).await;
        begin_push(&app.ctx, fix.id, None, "a1", false)
            .await
            .expect("written")
            .expect("goes ahead");
        opened(&app.ctx, fix.id, 7).await.expect("opened");
        let first = claim(&app.ctx, fix.id, "a1", "review", None)
            .await
            .expect("ran");
        assert!(matches!(first, Claim::Act));
        let second = claim(&app.ctx, fix.id, "a1", "review", None)
            .await
            .expect("ran");
        assert_eq!(second, Claim::Done);
        let other = claim(&app.ctx, fix.id, "b2", "review", None)
            .await
            .expect("ran");
        assert!(matches!(other, Claim::Refused(_)), "{other:?}");
    }
}
