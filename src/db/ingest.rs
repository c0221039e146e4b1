//! Group commit for webhook deliveries. Every request hands its delivery (and the job that will
//! process it) to one writer task, which stores all that arrived meanwhile in a single
//! transaction on a `synchronous = FULL` connection, so one fsync covers the whole batch, and
//! only then answers each request. A request is acknowledged only after its delivery is on
//! disk; under load, batches grow instead of requests queueing behind one fsync each.

use super::Db;
use super::deliveries::{self, NewDelivery, Outcome};
use super::jobs::{self, NewJob};
use crate::time::now_ms;
use sqlx::SqliteConnection;
use std::sync::Arc;
use tokio::sync::{Notify, mpsc, oneshot};

/// The most deliveries stored in one transaction.
const MAX_BATCH: usize = 512;

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
        let task = tokio::spawn(run_writer(db, conn, rx, wake));
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

async fn run_writer(
    db: Db,
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Request>,
    wake: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        metrics::histogram!("globallm_ingest_batch_size").record(batch.len() as f64);
        match store_batch(&db, &mut conn, &batch).await {
            Ok(results) => {
                let added_jobs = results.iter().any(|r| {
                    matches!(
                        r,
                        Stored::New {
                            job_id: Some(_),
                            ..
                        }
                    )
                });
                for (request, result) in batch.drain(..).zip(results) {
                    let _ = request.reply.send(Ok(result));
                }
                if added_jobs {
                    wake.notify_waiters();
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

async fn store_batch(
    db: &Db,
    conn: &mut SqliteConnection,
    batch: &[Request],
) -> sqlx::Result<Vec<Stored>> {
    let (mut tx, _lock) = db.write_on(conn).await?;
    let now = now_ms();
    let mut results = Vec::with_capacity(batch.len());
    for request in batch {
        let outcome = if request.job.is_some() {
            Outcome::Queued
        } else {
            Outcome::Unsupported
        };
        let Some(delivery_id) = deliveries::insert(&mut tx, &request.delivery, outcome).await?
        else {
            results.push(Stored::Duplicate);
            continue;
        };
        let job_id = match &request.job {
            Some(job) => {
                let job = NewJob {
                    delivery_id: Some(delivery_id),
                    ..job.clone()
                };
                jobs::enqueue(&mut tx, &job, now).await?
            }
            None => None,
        };
        results.push(Stored::New {
            delivery_id,
            job_id,
        });
    }
    tx.commit().await?;
    Ok(results)
}
