//! Catch-up: GitHub does not send a failed delivery again on its own. This job reads the App's
//! delivery log, and for each delivery that never reached GlobalLM (no attempt succeeded and
//! its GUID is not stored here) asks GitHub to redeliver it. A redelivery carries the same
//! GUID, so the ingest's dedup makes sure nothing runs twice even if one slips through.

use super::{BackgroundJob, Done, JobError};
use crate::context::Context;
use crate::db::jobs::Job;
use crate::db::{deliveries, redeliveries};
use crate::github::model::HookDelivery;
use crate::time::{Millis, parse_rfc3339_ms};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most log entries read per run.
const LOG_ENTRIES: usize = 1_000;
/// GitHub keeps deliveries for three days; older ones cannot be redelivered.
const MAX_AGE_MS: Millis = 3 * 24 * 60 * 60 * 1000;
/// Before asking again for a delivery whose redelivery failed too.
const ASK_AGAIN_AFTER_MS: Millis = 60 * 60 * 1000;
/// How many times one delivery is asked for.
const MAX_REQUESTS: i64 = 3;

/// One pass over the App's delivery log.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CatchUp {}

/// What one pass found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatchUpReport {
    /// Distinct deliveries in the log.
    pub seen: usize,
    /// Deliveries that never reached GlobalLM.
    pub failed: usize,
    /// Redeliveries asked for now.
    pub redelivered: usize,
}

impl BackgroundJob for CatchUp {
    const KIND: &'static str = "catch_up";

    async fn run(self, ctx: Arc<Context>, _job: &Job) -> Result<Done, JobError> {
        let report = catch_up(&ctx).await?;
        tracing::info!(
            seen = report.seen,
            failed = report.failed,
            redelivered = report.redelivered,
            "catch-up done"
        );
        Ok(Done::default())
    }
}

/// Reads the log and asks for the redeliveries; see the module's doc.
pub async fn catch_up(ctx: &Context) -> anyhow::Result<CatchUpReport> {
    let github = ctx.github()?;
    let log = github
        .hook_deliveries(LOG_ENTRIES)
        .await
        .context("reading the App's delivery log")?;
    let now = ctx.clock.now_ms();
    // Every attempt of a delivery shares its GUID; the newest attempt comes first.
    let mut by_guid: BTreeMap<&str, Vec<&HookDelivery>> = BTreeMap::new();
    for entry in &log {
        by_guid.entry(entry.guid.as_str()).or_default().push(entry);
    }
    let mut report = CatchUpReport {
        seen: by_guid.len(),
        ..CatchUpReport::default()
    };
    for (guid, attempts) in by_guid {
        if attempts.iter().any(|a| a.succeeded()) {
            continue;
        }
        let newest = attempts[0];
        let sent = parse_rfc3339_ms(&newest.delivered_at).unwrap_or(now);
        if now - sent > MAX_AGE_MS {
            continue;
        }
        if deliveries::get_by_guid(ctx.db.pool(), guid)
            .await?
            .is_some()
        {
            // It reached us; only GitHub's view of the answer was lost.
            continue;
        }
        report.failed += 1;
        if let Some((requests, last)) = redeliveries::get(ctx.db.pool(), guid).await?
            && (requests >= MAX_REQUESTS || now - last < ASK_AGAIN_AFTER_MS)
        {
            continue;
        }
        github
            .redeliver(newest.id)
            .await
            .with_context(|| format!("asking GitHub to redeliver {guid}"))?;
        let mut tx = ctx.db.write().await?;
        redeliveries::record(tx.conn(), guid, newest.id, now).await?;
        tx.commit().await?;
        tracing::info!(delivery = guid, event = %newest.event, "asked GitHub to redeliver a failed delivery");
        report.redelivered += 1;
    }
    Ok(report)
}
