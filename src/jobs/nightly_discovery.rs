//! The nightly discovery: the scheduler enqueues one job per night of `discovery.schedule`
//! (a cron expression, UTC), keyed by the night so it is never enqueued twice; the run itself
//! is keyed by its night too (`discovery_runs.night` is unique), so a night never runs twice
//! even across restarts. At start (and at every tick) the latest slot of the schedule that has
//! passed is looked at: when its night has no run — the service was down, or this is its first
//! start — it runs now, which is the catch-up when the last run is more than a day old.

use super::{BackgroundJob, Done, JobError};
use crate::context::Context;
use crate::db::jobs::Job;
use crate::discovery::run::{self, Outcome, RunOptions, Trigger};
use crate::time::Millis;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How far back the latest slot is looked for (a weekly schedule's slot is at most 7 days
/// back; a monthly one's up to 31).
const LOOK_BACK_DAYS: i64 = 32;

/// One night's discovery run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NightlyDiscovery {
    /// The night (YYYY-MM-DD, UTC) of the slot it runs for.
    pub night: String,
}

impl BackgroundJob for NightlyDiscovery {
    const KIND: &'static str = "nightly_discovery";

    fn max_run_secs(config: &crate::config::JobsConfig) -> u64 {
        config.discovery_max_run_secs
    }

    async fn run(self, ctx: Arc<Context>, _job: &Job) -> Result<Done, JobError> {
        let config = ctx.config();
        let github = ctx.github()?;
        let auth = crate::cli::discovery_auth(&github).await?;
        let options = RunOptions {
            languages: config.discovery.languages.clone(),
            min_stars: config.filter.min_stars,
            trigger: Trigger::Scheduled {
                night: self.night.clone(),
            },
            registries: true,
        };
        match run::discover(&ctx.db, &config, github, auth, &options, &mut |_| {}).await? {
            Outcome::Finished(summary) => tracing::info!(
                night = %self.night,
                found = summary.found,
                kept = summary.kept,
                search_calls = summary.search_calls,
                graphql_points = summary.graphql_points,
                "nightly discovery done"
            ),
            Outcome::AlreadyRan { night } => {
                tracing::info!(%night, "nightly discovery: this night already ran")
            }
        }
        Ok(Done::default())
    }
}

/// The latest slot of `schedule` at or before `now`, when one is within the look-back.
pub fn latest_slot(schedule: &str, now: Millis) -> anyhow::Result<Option<DateTime<Utc>>> {
    let cron: croner::Cron = schedule
        .parse()
        .with_context(|| format!("discovery.schedule `{schedule}` is not a cron expression"))?;
    let now = DateTime::<Utc>::from_timestamp_millis(now).context("an impossible time")?;
    let slot = cron.find_previous_occurrence(&now, true).ok();
    Ok(slot.filter(|s| (now - *s).num_days() < LOOK_BACK_DAYS))
}

/// The night a slot belongs to.
pub fn night_of(slot: DateTime<Utc>) -> String {
    slot.format("%Y-%m-%d").to_string()
}

/// The night to run now, if any: the latest passed slot's, unless that night has a run.
pub async fn due_night(
    pool: &crate::db::Pool,
    schedule: &str,
    now: Millis,
) -> anyhow::Result<Option<String>> {
    let Some(slot) = latest_slot(schedule, now)? else {
        return Ok(None);
    };
    let night = night_of(slot);
    let last = crate::db::discovery::last_scheduled_run(pool).await?;
    let ran = match last {
        Some(run) if run.night.as_deref() == Some(night.as_str()) => true,
        // Any run of that night, even an older one.
        _ => crate::db::discovery::night_has_run(pool, &night).await?,
    };
    Ok((!ran).then_some(night))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Millis {
        crate::time::parse_rfc3339_ms(text).expect("a time")
    }

    #[test]
    fn the_latest_slot_is_the_last_fire_time_not_after_now() {
        let slot = latest_slot("0 3 * * *", at("2026-11-26T02:59:59Z")).expect("parses");
        assert_eq!(slot.map(night_of).as_deref(), Some("2026-11-25"));
        let slot = latest_slot("0 3 * * *", at("2026-11-26T03:00:00Z")).expect("parses");
        assert_eq!(slot.map(night_of).as_deref(), Some("2026-11-26"));
        assert!(latest_slot("not cron", 0).is_err());
    }
}
