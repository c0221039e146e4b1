//! Background jobs: the [`BackgroundJob`] trait every kind implements, the registry the
//! workers look kinds up in, and enqueueing. The queue itself is `db::jobs`; the workers are
//! in [`worker`].

pub mod backfill;
pub mod catch_up;
pub mod guard_sweep;
pub mod nightly_discovery;
pub mod prune;
pub mod scheduler;
pub mod worker;

pub use backfill::{BackfillTriage, TriageIssue};
pub use catch_up::CatchUp;
pub use nightly_discovery::NightlyDiscovery;

use crate::config::JobsConfig;
use crate::context::Context;
use crate::db::deliveries::Outcome;
use crate::db::jobs::{Job, NewJob};
use crate::time::Millis;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Why a job attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (a network error, GitHub being down).
    #[error(transparent)]
    Retry(anyhow::Error),
    /// Will fail the same way every time (a payload that does not parse): dead-lettered at once.
    #[error(transparent)]
    Permanent(anyhow::Error),
}

impl From<crate::github::GithubError> for JobError {
    /// GitHub being down or rate limited is worth retrying; a missing repository, a refused
    /// permission or an unconfigured App will fail the same way every time.
    fn from(err: crate::github::GithubError) -> Self {
        if err.is_transient() {
            JobError::Retry(err.into())
        } else {
            JobError::Permanent(err.into())
        }
    }
}

impl From<anyhow::Error> for JobError {
    fn from(err: anyhow::Error) -> Self {
        classify(err)
    }
}

/// The kind of an error from a handler or a job, read from its causes: a GitHub error that
/// will fail the same way every time (a 404, a 403 that is not a rate limit, a 422) is
/// permanent — the job fails at once instead of retrying — and anything else (GitHub down or
/// rate limited, the database busy, a network error) is worth another attempt.
pub fn classify(err: anyhow::Error) -> JobError {
    let permanent = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<crate::github::GithubError>())
        .is_some_and(crate::github::GithubError::is_permanent);
    if permanent {
        JobError::Permanent(err)
    } else {
        JobError::Retry(err)
    }
}

/// What a successful attempt leaves to be recorded in the transaction that deletes the job,
/// so the record and the deletion happen together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Done {
    /// For a job processing a delivery: what became of the delivery, and why.
    pub delivery: Option<(Outcome, Option<String>)>,
}

/// A kind of background job. Implementations must be idempotent: a job may run again after
/// a crash that came after its side effects but before it was marked done.
pub trait BackgroundJob: Serialize + DeserializeOwned + Send + 'static {
    /// The kind's name, stored with each job.
    const KIND: &'static str;

    /// Runs one attempt.
    fn run(
        self,
        ctx: Arc<Context>,
        job: &Job,
    ) -> impl Future<Output = Result<Done, JobError>> + Send;

    /// The longest one attempt may run before it is stopped and dead-lettered, in seconds.
    fn max_run_secs(config: &JobsConfig) -> u64 {
        config.max_run_secs
    }

    /// An attempt was stopped from outside (its deadline passed) and the job dead-lettered:
    /// the run had no chance to leave its records straight, so this does (once, after it).
    fn stopped(self, ctx: Arc<Context>, job: &Job) -> impl Future<Output = ()> + Send {
        let _ = (ctx, job);
        async {}
    }

    /// The job as a row to enqueue, due at `run_at`.
    fn to_new_job(&self, config: &JobsConfig, run_at: Millis) -> NewJob {
        NewJob {
            kind: Self::KIND,
            payload: serde_json::to_string(self).expect("job payloads serialize to JSON"),
            max_attempts: config.max_attempts,
            run_at,
            delivery_id: None,
            dedup_key: None,
        }
    }
}

type JobFuture = Pin<Box<dyn Future<Output = Result<Done, JobError>> + Send>>;
type Runner = Arc<dyn Fn(Arc<Context>, Job) -> JobFuture + Send + Sync>;
type Stopper =
    Arc<dyn Fn(Arc<Context>, Job) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Job kinds by name, for the workers.
#[derive(Clone, Default)]
pub struct Registry {
    runners: HashMap<&'static str, Runner>,
    stoppers: HashMap<&'static str, Stopper>,
    deadlines: HashMap<&'static str, fn(&JobsConfig) -> u64>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.runners.keys()).finish()
    }
}

impl Registry {
    /// Adds a job kind.
    pub fn register<J: BackgroundJob>(&mut self) {
        let runner: Runner = Arc::new(|ctx, job: Job| {
            Box::pin(async move {
                let payload: J = serde_json::from_str(&job.payload).map_err(|err| {
                    JobError::Permanent(anyhow::anyhow!(
                        "the `{}` job's payload does not parse: {err}",
                        J::KIND
                    ))
                })?;
                payload.run(ctx, &job).await
            })
        });
        self.runners.insert(J::KIND, runner);
        let stopper: Stopper = Arc::new(|ctx, job: Job| {
            Box::pin(async move {
                match serde_json::from_str::<J>(&job.payload) {
                    Ok(payload) => payload.stopped(ctx, &job).await,
                    Err(err) => tracing::warn!("the stopped job's payload does not parse: {err}"),
                }
            })
        });
        self.stoppers.insert(J::KIND, stopper);
        self.deadlines.insert(J::KIND, J::max_run_secs);
    }

    fn runner(&self, kind: &str) -> Option<&Runner> {
        self.runners.get(kind)
    }

    /// Lets `job`'s kind leave its records straight after an attempt was stopped.
    async fn stopped(&self, ctx: Arc<Context>, job: Job) {
        if let Some(stopper) = self.stoppers.get(job.kind.as_str()).cloned() {
            stopper(ctx, job).await;
        }
    }

    /// The longest one attempt of `kind` may run, in seconds.
    fn max_run_secs(&self, kind: &str, config: &JobsConfig) -> u64 {
        self.deadlines
            .get(kind)
            .map_or(config.max_run_secs, |deadline| deadline(config))
    }
}
