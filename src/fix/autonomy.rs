//! Earned autonomy: how far GlobalLM may merge by itself in a repository is the lowest of the
//! service's `risk.automerge`, the repository's own `automerge`, and a ceiling earned from its
//! record there. The earned ceiling starts at `risk.initial_ceiling`, rises one tier after
//! `risk.promote_after` merged GlobalLM pull requests in a row with no revert, and falls one
//! tier on every revert (by the post-merge guard or by a human) and every regression the guard
//! is reverting. It is folded from the stored history each time it is asked for, so nothing is
//! counted twice and a changed `promote_after` applies to the whole record.

use crate::config::{Automerge, RiskConfig};
use crate::context::Context;
use crate::db::outcomes::{self, MergeRecord};
use crate::github::repo_config::RepoConfig;
use crate::time::Millis;

/// The ceiling a repository earned, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Earned {
    /// The earned ceiling.
    pub ceiling: Automerge,
    /// Clean merges since the ceiling last changed (or since the start).
    pub clean: u32,
    /// Clean merges in a row that raise it.
    pub promote_after: u32,
    /// The last change of the ceiling, said for people.
    pub last_change: Option<String>,
}

/// The ceiling that applies to a repository, with its three parts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ceiling {
    /// The lowest of the three: the highest tier that merges itself.
    pub effective: Automerge,
    /// The service's `risk.automerge`.
    pub service: Automerge,
    /// The repository's `automerge` (the service's when it sets none).
    pub repository: Automerge,
    /// What GlobalLM earned there.
    pub earned: Earned,
}

impl Ceiling {
    /// One line for `explain`, `status` and the dashboard.
    pub fn explain(&self) -> String {
        let e = &self.earned;
        let next = match raise(e.ceiling) {
            Some(up) if up != e.ceiling => format!(
                "; {} of {} clean merges toward {}",
                e.clean,
                e.promote_after,
                name(up)
            ),
            _ => String::new(),
        };
        let change = e
            .last_change
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        format!(
            "merges by itself up to **{}**: the lowest of the service's `risk.automerge` ({}), the repository's `automerge` ({}) and the ceiling GlobalLM earned here, {}{change}{next}",
            name(self.effective),
            name(self.service),
            name(self.repository),
            name(e.ceiling),
        )
    }
}

/// A ceiling as people read it.
pub fn name(ceiling: Automerge) -> &'static str {
    match ceiling {
        Automerge::None => "nothing",
        Automerge::Low => "LOW",
        Automerge::Medium => "MEDIUM",
    }
}

fn raise(ceiling: Automerge) -> Option<Automerge> {
    match ceiling {
        Automerge::None => Some(Automerge::Low),
        Automerge::Low => Some(Automerge::Medium),
        Automerge::Medium => None,
    }
}

fn lower(ceiling: Automerge) -> Automerge {
    match ceiling {
        Automerge::Medium => Automerge::Low,
        Automerge::Low | Automerge::None => Automerge::None,
    }
}

/// What one merged pull request says about GlobalLM, at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// It stayed good.
    Clean,
    /// It was reverted, or the guard is reverting it.
    Demoted(String),
}

/// The earned ceiling after a repository's merge history (oldest first).
pub fn earn(history: &[MergeRecord], initial: Automerge, promote_after: u32) -> Earned {
    let mut events: Vec<(Millis, Event)> = Vec::new();
    for merge in history {
        let pr = merge
            .pr_number
            .map_or_else(|| "a fix".to_owned(), |n| format!("#{n}"));
        if let (Some(by), Some(at)) = (&merge.reverted_by, merge.reverted_at) {
            let who = if by == super::aftermath::GLOBALLM {
                "GlobalLM's post-merge guard".to_owned()
            } else {
                format!("@{by}")
            };
            events.push((at, Event::Demoted(format!("{pr} was reverted by {who}"))));
            continue;
        }
        match merge.guard.as_deref() {
            // GlobalLM's merge, still watched: it says nothing yet.
            Some("watching") => {}
            Some("reverting" | "declined") => events.push((
                merge.merged_at,
                Event::Demoted(format!("{pr} turned the base branch's checks red")),
            )),
            // Clean, cleared by a green re-run, or merged by a human.
            _ => events.push((merge.merged_at, Event::Clean)),
        }
    }
    events.sort_by_key(|(at, _)| *at);
    let promote_after = promote_after.max(1);
    let mut earned = Earned {
        ceiling: initial,
        clean: 0,
        promote_after,
        last_change: None,
    };
    for (_, event) in events {
        match event {
            Event::Clean => {
                earned.clean += 1;
                if earned.clean >= promote_after
                    && let Some(up) = raise(earned.ceiling)
                {
                    earned.ceiling = up;
                    earned.clean = 0;
                    earned.last_change = Some(format!(
                        "raised to {} after {promote_after} clean merges",
                        name(up)
                    ));
                }
            }
            Event::Demoted(why) => {
                earned.ceiling = lower(earned.ceiling);
                earned.clean = 0;
                earned.last_change = Some(format!("lowered to {}: {why}", name(earned.ceiling)));
            }
        }
    }
    earned
}

/// The ceiling that applies to `repo` now.
pub async fn ceiling(ctx: &Context, repo: &str, config: &RepoConfig) -> anyhow::Result<Ceiling> {
    let risk: RiskConfig = ctx.config().risk.clone();
    let history = outcomes::merge_history(ctx.db.pool(), repo).await?;
    Ok(of(&risk, config, &history))
}

/// The ceiling under a configuration and a history.
pub fn of(risk: &RiskConfig, config: &RepoConfig, history: &[MergeRecord]) -> Ceiling {
    let repository = config.automerge(risk.automerge);
    let earned = earn(history, risk.initial_ceiling, risk.promote_after);
    Ceiling {
        effective: risk.automerge.min(repository).min(earned.ceiling),
        service: risk.automerge,
        repository,
        earned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(at: Millis) -> MergeRecord {
        MergeRecord {
            pr_number: Some(at),
            merged_at: at,
            reverted_by: None,
            reverted_at: None,
            guard: Some("clean".to_owned()),
        }
    }

    #[test]
    fn a_new_installation_starts_at_the_initial_ceiling() {
        let earned = earn(&[], Automerge::Low, 5);
        assert_eq!(earned.ceiling, Automerge::Low);
        assert_eq!(earned.clean, 0);
        assert_eq!(earned.last_change, None);
    }

    #[test]
    fn five_clean_merges_raise_it_one_tier_and_the_count_starts_again() {
        let history: Vec<_> = (1..=6).map(merged).collect();
        let earned = earn(&history, Automerge::Low, 5);
        assert_eq!(earned.ceiling, Automerge::Medium);
        assert_eq!(earned.clean, 1);
        assert_eq!(
            earned.last_change.as_deref(),
            Some("raised to MEDIUM after 5 clean merges")
        );
        // Four are not enough.
        assert_eq!(
            earn(&history[..4], Automerge::Low, 5).ceiling,
            Automerge::Low
        );
    }

    #[test]
    fn a_revert_lowers_it_one_tier_at_the_time_of_the_revert_and_resets_the_count() {
        let mut history: Vec<_> = (1..=5).map(merged).collect();
        // #2 was reverted by a maintainer after #5 merged: MEDIUM was earned, then lost.
        history[1].reverted_by = Some("maria".to_owned());
        history[1].reverted_at = Some(10);
        history.push(merged(11));
        let earned = earn(&history, Automerge::Low, 4);
        assert_eq!(earned.ceiling, Automerge::Low);
        assert_eq!(earned.clean, 1);
        assert_eq!(
            earned.last_change.as_deref(),
            Some("lowered to LOW: #2 was reverted by @maria")
        );
    }

    #[test]
    fn the_guard_reverting_a_merge_lowers_it_and_a_watched_merge_counts_for_nothing_yet() {
        let mut red = merged(1);
        red.guard = Some("reverting".to_owned());
        let mut watched = merged(2);
        watched.guard = Some("watching".to_owned());
        let earned = earn(&[red, watched], Automerge::Low, 5);
        assert_eq!(earned.ceiling, Automerge::None);
        assert_eq!(earned.clean, 0);
        // Nothing is below nothing; human merges earn it back.
        let mut history = vec![merged(1); 1];
        history[0].guard = Some("reverting".to_owned());
        history.extend((2..=4).map(|at| MergeRecord {
            guard: None,
            ..merged(at)
        }));
        assert_eq!(earn(&history, Automerge::None, 3).ceiling, Automerge::Low);
    }

    #[test]
    fn the_effective_ceiling_is_the_lowest_of_the_three() {
        let risk = RiskConfig::default();
        let history: Vec<_> = (1..=5).map(merged).collect();
        let ceiling = of(&risk, &RepoConfig::default(), &history);
        assert_eq!(ceiling.earned.ceiling, Automerge::Medium);
        assert_eq!(ceiling.effective, Automerge::Medium);
        let ceiling = of(&risk, &RepoConfig::default(), &[]);
        assert_eq!(ceiling.effective, Automerge::Low);
        assert!(
            ceiling
                .explain()
                .contains("0 of 5 clean merges toward MEDIUM"),
            "{}",
            ceiling.explain()
        );
    }
}
