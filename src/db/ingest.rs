//! Group commit for webhook deliveries. Every request hands its delivery (and the job that will
//! process it) to one writer task, which stores all that arrived meanwhile in a single
//! transaction on a `synchronous = FULL` connection, so one fsync covers the whole batch, and
//! only then answers each request. A request is acknowledged only after its delivery is on
//! disk; under load, batches grow instead of requests queueing behind one fsync each.

use super::Conn;
use super::Db;
use super::deliveries::{self, NewDelivery, Outcome};
use super::jobs::{self, NewJob};
use crate::time::now_ms;
use sqlx::Connection as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OwnedMutexGuard;
use tokio::sync::{Notify, mpsc, oneshot};

/// The most deliveries stored in one transaction.
const MAX_BATCH: usize = 512;
/// The longest the writer keeps the write lock across batches while deliveries keep coming.
const HOLD_LOCK_AT_MOST: Duration = Duration::from_millis(25);
/// The most idle workers one commit wakes.
const MAX_WAKEUPS: usize = 64;
/// How often the WAL is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// What storing a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored for the first time, with the id of the job that will process it (none for
    /// events nothing handles).
    New {
        /// The delivery's row id.
        delivery_id: i64,
        /// The job processing it.
        job_id: Option<i64>,
    },
    /// A delivery with this GUID was stored before; nothing was added.
    Duplicate,
}

/// The delivery could not be stored; nothing of it was kept.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the delivery could not be stored: {0}")]
pub struct IngestError(String);

struct Request {
    delivery: NewDelivery,
    job: Option<NewJob>,
    reply: oneshot::Sender<Result<Stored, IngestError>>,
}

/// The sending side of the writer; cheap to clone. The writer stops once every clone is gone.
#[derive(Debug, Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Request>,
}

impl Ingest {
    /// Starts the writer on its own durable connection. `wake` is notified after each commit
    /// that added jobs.
    pub async fn start(
        db: Db,
        wake: Arc<Notify>,
    ) -> anyhow::Result<(Self, tokio::task::JoinHandle<()>)> {
        let conn = db.connect_durable().await?;
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let checkpoints = tokio::spawn(checkpoint_while_open(db.clone(), tx.downgrade()));
        let task = tokio::spawn(async move {
            run_writer(db, conn, rx, wake).await;
            checkpoints.abort();
        });
        Ok((Self { tx }, task))
    }

    /// Stores a delivery and, when `job` is given, the job that processes it (its
    /// `delivery_id` is filled in), in one transaction. Returns once both are durable.
    pub async fn store(
        &self,
        delivery: NewDelivery,
        job: Option<NewJob>,
    ) -> Result<Stored, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request {
                delivery,
                job,
                reply,
            })
            .await
            .map_err(|_| IngestError("the service is shutting down".to_owned()))?;
        answer
            .await
            .map_err(|_| IngestError("the writer stopped before answering".to_owned()))?
    }
}

async fn run_writer(db: Db, mut conn: Conn, mut rx: mpsc::Receiver<Request>, wake: Arc<Notify>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Deliveries go before every other writer: while more keep arriving the writer keeps the
    // write lock from one batch to the next, handing it over once the queue is empty or it
    // has held it for `HOLD_LOCK_AT_MOST` (so workers still renew leases under sustained load).
    let mut held: Option<(OwnedMutexGuard<()>, Instant)> = None;
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        metrics::histogram!("globallm_ingest_batch_size").record(batch.len() as f64);
        if held
            .as_ref()
            .is_some_and(|(_, since)| since.elapsed() >= HOLD_LOCK_AT_MOST)
        {
            held = None;
            tokio::task::yield_now().await;
        }
        if held.is_none() {
            held = Some((db.lock_writes().await, Instant::now()));
        }
        let stored = store_batch(&mut conn, &batch).await;
        if rx.is_empty() {
            held = None;
        }
        match stored {
            Ok(results) => {
                let added_jobs = results
                    .iter()
                    .filter(|r| {
                        matches!(
                            r,
                            Stored::New {
                                job_id: Some(_),
                                ..
                            }
                        )
                    })
                    .count();
                for (request, result) in batch.drain(..).zip(results) {
                    let _ = request.reply.send(Ok(result));
                }
                // Wake as many idle workers as there are new jobs (each call wakes one, or
                // leaves one permit); busy workers look for more when they finish.
                for _ in 0..added_jobs.min(MAX_WAKEUPS) {
                    wake.notify_one();
                }
            }
            Err(err) => {
                tracing::error!(
                    batch = batch.len(),
                    "storing webhook deliveries failed: {err}"
                );
                let error = IngestError(err.to_string());
                for request in batch.drain(..) {
                    let _ = request.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Checkpoints the WAL every [`CHECKPOINT_EVERY`] while the writer has senders, since its own
/// commits never do.
async fn checkpoint_while_open(db: Db, sender: mpsc::WeakSender<Request>) {
    let mut ticks = tokio::time::interval(CHECKPOINT_EVERY);
    loop {
        ticks.tick().await;
        if sender.upgrade().is_none() {
            return;
        }
        if let Err(err) = db.checkpoint().await {
            tracing::warn!("WAL checkpoint failed: {err}");
        }
    }
}

/// Stores a batch in one transaction; the caller holds the write lock.
async fn store_batch(conn: &mut Conn, batch: &[Request]) -> sqlx::Result<Vec<Stored>> {
    let mut tx = match super::backend_of(conn) {
        super::Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
        // Unique keys keep replicas storing the same delivery apart; no write lock is needed.
        super::Backend::Postgres => conn.begin().await?,
    };
    let now = now_ms();
    // One multi-row statement per table: each statement is a round trip to SQLite's thread.
    let deliveries: Vec<(&NewDelivery, Outcome)> = batch
        .iter()
        .map(|r| {
            let outcome = if r.job.is_some() {
                Outcome::Queued
            } else {
                Outcome::Unsupported
            };
            (&r.delivery, outcome)
        })
        .collect();
    let inserted = deliveries::insert_many(&mut tx, &deliveries).await?;
    let mut results = Vec::with_capacity(batch.len());
    let mut new_jobs = Vec::new();
    for (request, id) in batch.iter().zip(&inserted) {
        match (id, &request.job) {
            (None, _) => results.push(Stored::Duplicate),
            (Some(delivery_id), Some(job)) => {
                new_jobs.push(NewJob {
                    delivery_id: Some(*delivery_id),
                    ..job.clone()
                });
                results.push(Stored::New {
                    delivery_id: *delivery_id,
                    job_id: None,
                });
            }
            (Some(delivery_id), None) => results.push(Stored::New {
                delivery_id: *delivery_id,
                job_id: None,
            }),
        }
    }
    let job_ids = jobs::enqueue_for_deliveries(&mut tx, &new_jobs, now).await?;
    for result in &mut results {
        if let Stored::New {
            delivery_id,
            job_id,
        } = result
        {
            *job_id = job_ids.get(delivery_id).copied();
        }
    }
    tx.commit().await?;
    Ok(results)
}
