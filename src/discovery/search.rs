//! Repository search over star windows. GitHub search serves at most 1,000 results per query,
//! so a language is searched in windows: `stars:>T` first; a window holding more than 1,000
//! repositories is split in two by stars (at the geometric middle, since stars are heavy-tailed),
//! and a window of a single star count by creation date, until each holds at most 1,000 —
//! so every repository above the threshold is found, once (windows are disjoint; a repository
//! whose stars change between two queries may still cross a boundary, and is then stored once
//! under its name). Every window is a checkpoint in SQLite: `pending`, `split` (replaced by its
//! halves) or `done` (its repositories stored in the same transaction), so a run resumes
//! where it stopped. Search calls are spaced `discovery.search_interval_ms` apart on the
//! client's clock (30 a minute is search's limit) and a rate limit is waited out.

use super::filter;
use crate::clock::Clock;
use crate::config::{FilterConfig, Language};
use crate::db::Db;
use crate::db::discovery::{self as store, DiscoveredRepo, WindowRow};
use crate::github::discovery_api::SearchedRepo;
use crate::github::model::SearchPage;
use crate::github::{Auth, GithubClient, GithubError};
use crate::time::Millis;
use anyhow::Context as _;
use chrono::NaiveDate;
use std::sync::Arc;
use std::time::Duration;

/// Results search serves per query, at most.
pub const SEARCH_CAP: u64 = 1_000;
/// Results per page.
const PER_PAGE: u64 = 100;
/// The earliest creation date a date split starts from: the Unix epoch, not GitHub's 2008
/// launch, so no timestamp (however odd) falls outside the first split. It costs at most one
/// more split of a single-star window.
const EPOCH: (i32, u32, u32) = (1970, 1, 1);
/// Rate limits waited out per call before the run stops (it resumes later).
const MAX_LIMIT_WAITS: u32 = 3;

/// The languages GitHub search knows for an ecosystem.
pub fn github_languages(language: Language) -> &'static [&'static str] {
    match language {
        Language::Python => &["Python"],
        Language::Javascript => &["JavaScript", "TypeScript"],
        Language::Go => &["Go"],
        Language::Rust => &["Rust"],
        Language::Java => &["Java"],
    }
}

/// A slice of one language's repositories: a star range and, when stars alone cannot split
/// it, a creation date range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The GitHub language.
    pub gh_language: String,
    /// The least stars.
    pub stars_min: u64,
    /// The most stars; `None`: unbounded.
    pub stars_max: Option<u64>,
    /// Creation dates, both ends included.
    pub created: Option<(NaiveDate, NaiveDate)>,
}

impl Window {
    /// Every repository of `gh_language` with more than `min_stars` stars.
    pub fn root(gh_language: &str, min_stars: u64) -> Self {
        Self {
            gh_language: gh_language.to_owned(),
            stars_min: min_stars + 1,
            stars_max: None,
            created: None,
        }
    }

    /// The search qualifiers beyond the language: `stars:A..B created:X..Y`.
    pub fn qualifiers(&self) -> String {
        let stars = match self.stars_max {
            Some(max) => format!("stars:{}..{max}", self.stars_min),
            None => format!("stars:>={}", self.stars_min),
        };
        match self.created {
            Some((from, to)) => format!("{stars} created:{from}..{to}"),
            None => stars,
        }
    }

    /// The search query.
    pub fn query(&self) -> String {
        format!("language:{} {}", self.gh_language, self.qualifiers())
    }

    /// The two halves of a window holding too many results: by stars while the range has
    /// more than one value (`top` is the most stars seen in it, the upper bound of an
    /// unbounded window), else by creation date; `None` when a single day of a single star
    /// count still holds more than search serves.
    pub fn split(&self, top: u64, today: NaiveDate) -> Option<[Window; 2]> {
        let hi = self.stars_max.unwrap_or(top.max(self.stars_min));
        if hi > self.stars_min {
            // The geometric middle: stars are heavy-tailed, halves by count are closer so.
            let mid = ((self.stars_min as f64) * (hi as f64)).sqrt().floor() as u64;
            let mid = mid.clamp(self.stars_min, hi - 1);
            return Some([
                Window {
                    stars_max: Some(mid),
                    ..self.clone()
                },
                Window {
                    stars_min: mid + 1,
                    ..self.clone()
                },
            ]);
        }
        let (from, to) = self.created.unwrap_or_else(|| {
            let epoch = NaiveDate::from_ymd_opt(EPOCH.0, EPOCH.1, EPOCH.2).unwrap_or(today);
            (epoch, today)
        });
        let days = (to - from).num_days();
        if days < 1 {
            return None;
        }
        let mid = from + chrono::Duration::days(days / 2);
        let next = mid.succ_opt()?;
        Some([
            Window {
                created: Some((from, mid)),
                ..self.clone()
            },
            Window {
                created: Some((next, to)),
                ..self.clone()
            },
        ])
    }

    /// As stored.
    pub fn to_row(&self) -> WindowRow {
        WindowRow {
            gh_language: self.gh_language.clone(),
            stars_min: i64::try_from(self.stars_min).unwrap_or(i64::MAX),
            stars_max: self.stars_max.map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
            created_from: self.created.map(|(f, _)| f.to_string()),
            created_to: self.created.map(|(_, t)| t.to_string()),
            qualifiers: self.qualifiers(),
            state: "pending".to_owned(),
            total: None,
            fetched: 0,
        }
    }

    /// From storage.
    pub fn from_row(row: &WindowRow) -> anyhow::Result<Self> {
        let date = |d: &Option<String>| -> anyhow::Result<Option<NaiveDate>> {
            d.as_deref()
                .map(|d| d.parse::<NaiveDate>())
                .transpose()
                .with_context(|| format!("the stored window {}", row.qualifiers))
        };
        let created = match (date(&row.created_from)?, date(&row.created_to)?) {
            (Some(from), Some(to)) => Some((from, to)),
            _ => None,
        };
        Ok(Self {
            gh_language: row.gh_language.clone(),
            stars_min: u64::try_from(row.stars_min).unwrap_or(0),
            stars_max: row.stars_max.map(|m| u64::try_from(m).unwrap_or(0)),
            created,
        })
    }
}

/// Search calls, spaced and rate-limit aware, counted.
#[derive(Debug)]
pub struct Searcher {
    github: Arc<GithubClient>,
    auth: Auth,
    interval: Duration,
    last_call: Option<Millis>,
    /// Search calls made.
    pub calls: u64,
}

impl Searcher {
    /// Searches as `auth`, at most one call per `interval`.
    pub fn new(github: Arc<GithubClient>, auth: Auth, interval: Duration) -> Self {
        Self {
            github,
            auth,
            interval,
            last_call: None,
            calls: 0,
        }
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.github.clock().clone()
    }

    /// One page of a query.
    pub async fn page(
        &mut self,
        query: &str,
        page: u32,
    ) -> Result<SearchPage<SearchedRepo>, GithubError> {
        let clock = self.clock();
        let mut waits = 0;
        loop {
            if let Some(last) = self.last_call {
                let due = last + i64::try_from(self.interval.as_millis()).unwrap_or(i64::MAX);
                let now = clock.now_ms();
                if due > now {
                    clock
                        .sleep(Duration::from_millis(u64::try_from(due - now).unwrap_or(0)))
                        .await;
                }
            }
            self.last_call = Some(clock.now_ms());
            self.calls += 1;
            match self
                .github
                .search_repository_page(self.auth, query, page)
                .await
            {
                Err(GithubError::RateLimited { reset_at, message }) if waits < MAX_LIMIT_WAITS => {
                    waits += 1;
                    let wait = (reset_at - clock.now_ms()).max(1_000);
                    tracing::warn!(wait_ms = wait, "search rate limit: waiting ({message})");
                    clock
                        .sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(1_000)))
                        .await;
                }
                other => return other,
            }
        }
    }
}

/// What searching one window did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowOutcome {
    /// Split into two pending windows.
    Split,
    /// Searched: this many repositories stored (of `total`).
    Done {
        /// Repositories read and stored.
        fetched: u64,
        /// What search said the window holds (more than `fetched` only when a single day of
        /// a single star count holds more than 1,000).
        total: u64,
    },
}

/// Searches one window: splits it when it holds more than search serves, else reads all its
/// pages and stores its repositories (with the filter's verdict) and the checkpoint together.
pub async fn search_window(
    db: &Db,
    run: i64,
    language: Language,
    window: &Window,
    searcher: &mut Searcher,
    filter_config: &FilterConfig,
    today: NaiveDate,
) -> anyhow::Result<WindowOutcome> {
    let query = window.query();
    let calls_before = searcher.calls;
    let first = searcher
        .page(&query, 1)
        .await
        .with_context(|| format!("searching `{query}`"))?;
    let total = first.total_count;
    if total > SEARCH_CAP {
        let top = first.items.first().map_or(window.stars_min, |r| r.stars);
        if let Some(halves) = window.split(top, today) {
            let mut tx = db.write().await?;
            for half in &halves {
                store::add_window(tx.conn(), run, &half.to_row()).await?;
            }
            store::close_window(
                tx.conn(),
                run,
                &window.gh_language,
                &window.qualifiers(),
                "split",
                i64::try_from(total).unwrap_or(i64::MAX),
                0,
            )
            .await?;
            let calls = i64::try_from(searcher.calls - calls_before).unwrap_or(0);
            store::add_counts(tx.conn(), run, calls, 0, 0, 0).await?;
            tx.commit().await?;
            return Ok(WindowOutcome::Split);
        }
        tracing::warn!(
            %query, total,
            "a single day of a single star count holds more than search serves: keeping the first 1,000"
        );
    }
    let mut items = first.items;
    let pages = total.min(SEARCH_CAP).div_ceil(PER_PAGE);
    for page in 2..=pages {
        let next = searcher
            .page(&query, u32::try_from(page).unwrap_or(u32::MAX))
            .await
            .with_context(|| format!("searching `{query}`, page {page}"))?;
        if next.items.is_empty() {
            break;
        }
        items.extend(next.items);
    }
    let mut tx = db.write().await?;
    for item in &items {
        let verdict = filter::verdict(item, None, filter_config);
        store::put_repo(tx.conn(), run, &discovered(item, language, verdict)).await?;
    }
    store::close_window(
        tx.conn(),
        run,
        &window.gh_language,
        &window.qualifiers(),
        "done",
        i64::try_from(total).unwrap_or(i64::MAX),
        i64::try_from(items.len()).unwrap_or(i64::MAX),
    )
    .await?;
    let calls = i64::try_from(searcher.calls - calls_before).unwrap_or(0);
    store::add_counts(tx.conn(), run, calls, 0, 0, 0).await?;
    tx.commit().await?;
    Ok(WindowOutcome::Done {
        fetched: items.len() as u64,
        total,
    })
}

/// A search result as stored, with the filter's verdict.
pub fn discovered(
    item: &SearchedRepo,
    language: Language,
    verdict: Option<filter::Exclusion>,
) -> DiscoveredRepo {
    DiscoveredRepo {
        repo: item.full_name.to_lowercase(),
        github_id: i64::try_from(item.id).unwrap_or(i64::MAX),
        language: language.as_str().to_owned(),
        stars: i64::try_from(item.stars).unwrap_or(i64::MAX),
        archived: item.archived,
        disabled: item.disabled,
        fork: item.fork,
        mirror: item.mirror,
        created_at: item.created_at,
        pushed_at: item.pushed_at,
        filtered: verdict.map(|v| v.as_str().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    #[test]
    fn an_unbounded_window_splits_by_stars_and_keeps_its_open_end() {
        let root = Window::root("Python", 1_000);
        assert_eq!(root.query(), "language:Python stars:>=1001");
        let [low, high] = root.split(100_000, day("2026-11-26")).expect("splits");
        assert_eq!(low.qualifiers(), "stars:1001..10004");
        assert_eq!(high.qualifiers(), "stars:>=10005");
    }

    #[test]
    fn a_single_star_count_splits_by_creation_date_down_to_one_day() {
        let w = Window {
            gh_language: "Go".to_owned(),
            stars_min: 1_500,
            stars_max: Some(1_500),
            created: Some((day("2020-01-01"), day("2020-01-03"))),
        };
        let [a, b] = w.split(1_500, day("2026-11-26")).expect("splits");
        assert_eq!(
            a.qualifiers(),
            "stars:1500..1500 created:2020-01-01..2020-01-02"
        );
        assert_eq!(
            b.qualifiers(),
            "stars:1500..1500 created:2020-01-03..2020-01-03"
        );
        assert_eq!(b.split(1_500, day("2026-11-26")), None);
        let row = a.to_row();
        assert_eq!(Window::from_row(&row).expect("reads back"), a);
    }
}
