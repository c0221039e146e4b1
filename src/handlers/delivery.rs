//! The job that processes one stored webhook delivery: parse it into a typed event and hand it
//! to its handler.

use super::Handled;
use crate::context::Context;
use crate::db::deliveries::{self, Outcome};
use crate::db::jobs::Job;
use crate::event;
use crate::jobs::{BackgroundJob, Done, JobError};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracing::Instrument;

/// Processes the delivery the job row links to (`jobs.delivery_id`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProcessDelivery {}

impl BackgroundJob for ProcessDelivery {
    const KIND: &'static str = "process_delivery";

    async fn run(self, ctx: Arc<Context>, job: &Job) -> Result<Done, JobError> {
        let id = job.delivery_id.ok_or_else(|| {
            JobError::Permanent(anyhow::anyhow!(
                "job {} is not linked to a delivery",
                job.id
            ))
        })?;
        let delivery = deliveries::get_with_body(ctx.db.pool(), id)
            .await
            .context("loading the delivery")?
            .ok_or_else(|| JobError::Permanent(anyhow::anyhow!("delivery {id} was deleted")))?;
        let (delivery, body) = delivery;
        let span = tracing::info_span!(
            "delivery",
            delivery = %delivery.delivery_guid,
            event = %delivery.event,
            action = delivery.action.as_deref().unwrap_or(""),
        );
        async {
            if delivery.outcome != Outcome::Queued.as_str() {
                // An earlier attempt finished the work; recording it is all that is left.
                tracing::info!(outcome = %delivery.outcome, "already processed");
                return Ok(Done::default());
            }
            let parsed = event::parse(&delivery.event, &body)
                .map_err(|err| JobError::Permanent(err.into()))?;
            let (outcome, note) = match parsed {
                None => (Outcome::Unsupported, None),
                // A GitHub error that will fail the same way again fails the job at once.
                Some(event) => match super::dispatch(&ctx, event).await? {
                    Handled::Done => (Outcome::Processed, None),
                    Handled::Skipped(reason) => (Outcome::Skipped, Some(reason)),
                },
            };
            metrics::counter!(
                "globallm_deliveries_processed_total",
                "event" => delivery.event.clone(),
                "outcome" => outcome.as_str(),
            )
            .increment(1);
            tracing::info!(
                outcome = outcome.as_str(),
                note = note.as_deref(),
                "delivery processed"
            );
            Ok(Done {
                delivery: Some((outcome, note)),
            })
        }
        .instrument(span)
        .await
    }
}
