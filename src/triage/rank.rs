//! Ranking stored issues: every priority recomputed from its stored inputs with the current
//! weights (so changing a weight changes the ranking without fetching anything), the best
//! `top` kept in a bounded heap while the rows stream by.

use super::category::Category;
use super::signals::RepoScores;
use crate::config::Config;
use crate::db::Pool;
use crate::db::triage::{self as db, RankInput};
use crate::scoring::{self, Priority, SolvabilityInputs, Terms, UrgencyInputs};
use crate::time::Millis;
use serde::Serialize;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

const DAY_MS: f64 = 86_400_000.0;

/// One ranked issue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    /// `owner/name`.
    pub repo: String,
    /// The number.
    pub number: i64,
    /// Its title.
    pub title: String,
    /// Its category.
    pub category: Category,
    /// Its complexity.
    pub complexity: i64,
    /// Whole days open.
    pub age_days: f64,
    /// Its priority and terms.
    pub priority: Priority,
}

struct ByScore(Ranked);

impl PartialEq for ByScore {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ByScore {}
impl PartialOrd for ByScore {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByScore {
    /// Higher scores first; ties broken by repository and number, so rankings are stable.
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .priority
            .score
            .total_cmp(&other.0.priority.score)
            .then_with(|| other.0.repo.cmp(&self.0.repo))
            .then_with(|| other.0.number.cmp(&self.0.number))
    }
}

/// The priority of a stored issue under `config`, with the repository's current terms when
/// they are known (else the ones stored with the issue).
pub fn rescore(
    input: &RankInput,
    repo: Option<&(f64, f64, f64)>,
    config: &Config,
    now: Millis,
) -> Ranked {
    let category = input.category.parse().unwrap_or(Category::Other);
    let (health, impact, redundancy) =
        repo.copied()
            .unwrap_or((input.health, input.impact, input.redundancy));
    let age_days = (((now - input.opened_at).max(0) as f64) / DAY_MS).floor();
    let complexity = u8::try_from(input.complexity.clamp(1, 10)).unwrap_or(5);
    let urgency = scoring::urgency(
        &UrgencyInputs {
            category,
            age_days,
            engagement: input.engagement as f64,
        },
        &config.scoring,
    );
    // The stored inputs keep the scope the localizer measured; the complexity and tests
    // columns are the truth for the rest.
    let stored: SolvabilityInputs = input
        .solvability
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    let solvability = SolvabilityInputs {
        complexity,
        has_tests: input.has_tests,
        ..stored
    };
    let terms = Terms {
        health,
        impact,
        solvability: scoring::solvability(&solvability, &config.scoring),
        urgency,
        redundancy,
    };
    Ranked {
        repo: input.repo.clone(),
        number: input.number,
        title: input.title.clone(),
        category,
        complexity: input.complexity,
        age_days,
        priority: scoring::priority(terms, &config.scoring),
    }
}

/// The `top` open issues (of `language`, when given) by priority, best first, and how many
/// were considered.
pub async fn prioritize(
    pool: &Pool,
    config: &Config,
    language: Option<&str>,
    top: usize,
    now: Millis,
) -> anyhow::Result<(Vec<Ranked>, u64)> {
    let mut repos: HashMap<String, (f64, f64, f64)> = HashMap::new();
    for stored in db::all_signals(pool).await? {
        let scores = RepoScores::from_stored(&stored, &config.scoring)?;
        repos.insert(
            stored.repo,
            (scores.health, scores.impact, scores.redundancy),
        );
    }
    let mut heap: BinaryHeap<Reverse<ByScore>> = BinaryHeap::with_capacity(top + 1);
    let considered = db::for_each_open(pool, language, |input| {
        if top == 0 {
            return;
        }
        let ranked = ByScore(rescore(&input, repos.get(&input.repo), config, now));
        if heap.len() < top {
            heap.push(Reverse(ranked));
        } else if heap.peek().is_some_and(|Reverse(worst)| ranked > *worst) {
            heap.pop();
            heap.push(Reverse(ranked));
        }
    })
    .await?;
    let mut best: Vec<ByScore> = heap.into_iter().map(|Reverse(ranked)| ranked).collect();
    best.sort_by(|a, b| b.cmp(a));
    Ok((best.into_iter().map(|b| b.0).collect(), considered))
}
