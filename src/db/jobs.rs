//! The `jobs` table: the durable job queue. A job is claimed by taking a lease; success deletes
//! it; failure schedules a retry or dead-letters it with the last error.

use super::{Conn, Pool};
use crate::time::Millis;

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The job kind (its `KIND`).
    pub kind: &'static str,
    /// The job's arguments, JSON.
    pub payload: String,
    /// Attempts before it is dead-lettered.
    pub max_attempts: u32,
    /// Not before this time.
    pub run_at: Millis,
    /// The delivery this job processes, if any (at most one job per delivery).
    pub delivery_id: Option<i64>,
    /// A key under which the job runs once, ever.
    pub dedup_key: Option<String>,
}

/// A job as stored.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Job {
    /// The job's id.
    pub id: i64,
    /// Its kind.
    pub kind: String,
    /// Its arguments, JSON.
    pub payload: String,
    /// `queued` or `dead`.
    pub state: String,
    /// Attempts started so far.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Not before this time.
    pub run_at: Millis,
    /// While a worker holds it.
    pub lease_until: Option<Millis>,
    /// The worker holding it.
    pub leased_by: Option<String>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// The delivery it processes.
    pub delivery_id: Option<i64>,
    /// When it was enqueued.
    pub created_at: Millis,
    /// When it last changed.
    pub updated_at: Millis,
}

impl Job {
    /// `ready`, `scheduled` (waiting for a retry), `running` or `dead`, as of `now`.
    pub fn status(&self, now: Millis) -> &'static str {
        match (self.state.as_str(), self.lease_until) {
            ("dead", _) => "dead",
            (_, Some(until)) if until > now => "running",
            _ if self.run_at > now => "scheduled",
            _ => "ready",
        }
    }
}

const JOB_COLUMNS: &str = "id, kind, payload, state, attempts, max_attempts, run_at, lease_until, \
                           leased_by, last_error, delivery_id, created_at, updated_at";

/// Enqueues a job. Returns its id, or `None` when its dedup key was used before.
pub async fn enqueue(conn: &mut Conn, job: &NewJob, now: Millis) -> sqlx::Result<Option<i64>> {
    if let Some(key) = &job.dedup_key {
        let inserted = sqlx::query(
            "INSERT INTO job_dedup_keys (dedup_key, job_id, created_at) VALUES ($1, 0, $2)
             ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(key)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(None);
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, max_attempts, run_at, delivery_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id",
    )
    .bind(job.kind)
    .bind(&job.payload)
    .bind(i64::from(job.max_attempts))
    .bind(job.run_at)
    .bind(job.delivery_id)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    if let Some(key) = &job.dedup_key {
        sqlx::query("UPDATE job_dedup_keys SET job_id = $1 WHERE dedup_key = $2")
            .bind(id)
            .bind(key)
            .execute(&mut *conn)
            .await?;
    }
    Ok(Some(id))
}

/// Enqueues the jobs of newly stored deliveries (no dedup keys: a delivery has at most one
/// job) in one statement. Returns the new job ids by delivery id.
pub async fn enqueue_for_deliveries(
    conn: &mut Conn,
    jobs: &[NewJob],
    now: Millis,
) -> sqlx::Result<std::collections::HashMap<i64, i64>> {
    if jobs.is_empty() {
        return Ok(Default::default());
    }
    let mut sql = String::from(
        "INSERT INTO jobs (kind, payload, max_attempts, run_at, delivery_id, created_at, updated_at)
         VALUES ",
    );
    sql.push_str(&super::values_rows(jobs.len(), 7));
    sql.push_str(" RETURNING delivery_id, id");
    // Only placeholders are spliced in; every value is bound.
    let mut query = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql));
    for job in jobs {
        debug_assert!(job.dedup_key.is_none() && job.delivery_id.is_some());
        query = query
            .bind(job.kind)
            .bind(&job.payload)
            .bind(i64::from(job.max_attempts))
            .bind(job.run_at)
            .bind(job.delivery_id)
            .bind(now)
            .bind(now);
    }
    Ok(query.fetch_all(conn).await?.into_iter().collect())
}

/// Forgets dedup keys recorded before `before` (periodic jobs' old slots).
pub async fn forget_dedup_keys_before(conn: &mut Conn, before: Millis) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM job_dedup_keys WHERE created_at < $1")
            .bind(before)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Claims the next job that is due and not held (or whose holder's lease expired), leasing it
/// to `worker` until `now + lease_ms` and counting the attempt.
pub async fn claim(
    conn: &mut Conn,
    worker: &str,
    now: Millis,
    lease_ms: i64,
) -> sqlx::Result<Option<Job>> {
    // One statement, so the pick and the lease are atomic. On PostgreSQL replicas claim at
    // the same time: the pick skips rows another claim has locked rather than queue behind it.
    let skip_locked = match super::backend_of(conn) {
        super::Backend::Sqlite => "",
        super::Backend::Postgres => "FOR UPDATE SKIP LOCKED",
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE jobs
         SET lease_until = $1 + $2, leased_by = $3, attempts = attempts + 1, updated_at = $1
         WHERE id = (
             SELECT id FROM jobs
             WHERE state = 'queued' AND run_at <= $1
               AND (lease_until IS NULL OR lease_until <= $1)
             ORDER BY run_at, id
             LIMIT 1 {skip_locked})
         RETURNING {JOB_COLUMNS}"
    )))
    .bind(now)
    .bind(lease_ms)
    .bind(worker)
    .fetch_optional(conn)
    .await
}

/// Extends the lease of a job `worker` still holds. Returns `false` when it lost the job.
pub async fn extend_lease(
    conn: &mut Conn,
    id: i64,
    worker: &str,
    until: Millis,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND leased_by = $3 AND state = 'queued'",
    )
    .bind(until)
    .bind(id)
    .bind(worker)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Who holds a job: the worker that claimed it and the attempt its claim counted. A lease
/// that expired and was claimed again counted another attempt, so the earlier holder no
/// longer matches, even when the same worker id claimed it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder<'a> {
    /// The job.
    pub id: i64,
    /// The worker that claimed it.
    pub worker: &'a str,
    /// The attempt the claim counted (`Job::attempts` as `claim` returned it).
    pub attempt: i64,
}

impl<'a> Holder<'a> {
    /// The holder of `job`, as `worker` claimed it.
    pub fn of(job: &Job, worker: &'a str) -> Self {
        Self {
            id: job.id,
            worker,
            attempt: job.attempts,
        }
    }
}

/// Deletes a job its holder finished. Returns `false` (and changes nothing) when the holder
/// lost the job: its lease expired and the job was claimed again.
pub async fn complete(conn: &mut Conn, holder: Holder<'_>) -> sqlx::Result<bool> {
    let deleted = sqlx::query(
        "DELETE FROM jobs WHERE id = $1 AND leased_by = $2 AND attempts = $3 AND state = 'queued'",
    )
    .bind(holder.id)
    .bind(holder.worker)
    .bind(holder.attempt)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(deleted == 1)
}

/// Records a failed attempt of its holder: the job runs again at `retry_at`, or, when that is
/// `None`, is dead-lettered. The error is kept either way. Returns `false` (and changes
/// nothing) when the holder lost the job, so a worker whose lease expired cannot reschedule
/// or dead-letter the attempt another worker is running.
pub async fn fail(
    conn: &mut Conn,
    holder: Holder<'_>,
    error: &str,
    retry_at: Option<Millis>,
    now: Millis,
) -> sqlx::Result<bool> {
    let (state, run_at) = match retry_at {
        Some(at) => ("queued", at),
        None => ("dead", now),
    };
    let updated = sqlx::query(
        "UPDATE jobs SET state = $1, run_at = $2, lease_until = NULL, leased_by = NULL,
                         last_error = $3, updated_at = $4
         WHERE id = $5 AND leased_by = $6 AND attempts = $7 AND state = 'queued'",
    )
    .bind(state)
    .bind(run_at)
    .bind(error)
    .bind(now)
    .bind(holder.id)
    .bind(holder.worker)
    .bind(holder.attempt)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Gives a job back without counting the attempt (its worker is shutting down).
pub async fn release(conn: &mut Conn, id: i64, worker: &str, now: Millis) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE jobs SET lease_until = NULL, leased_by = NULL, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
                         updated_at = $1
         WHERE id = $2 AND leased_by = $3",
    )
    .bind(now)
    .bind(id)
    .bind(worker)
    .execute(conn)
    .await?;
    Ok(())
}

/// Frees every lease: at the start of the only process allowed to run workers on this
/// database, any lease left is from a process that died. Returns how many were freed; those
/// jobs keep their attempt count.
pub async fn release_orphaned_leases(conn: &mut Conn, now: Millis) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE jobs SET lease_until = NULL, leased_by = NULL, updated_at = $1
         WHERE state = 'queued' AND lease_until IS NOT NULL",
    )
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Puts a job (dead or waiting) back in the queue to run now, with its attempts reset.
/// Returns `false` when there is no such job.
pub async fn requeue(conn: &mut Conn, id: i64, now: Millis) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, lease_until = NULL,
                         leased_by = NULL, updated_at = $2
         WHERE id = $3 AND (lease_until IS NULL OR lease_until <= $4)",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // A dead delivery job marked its delivery failed; it is pending again.
    sqlx::query(
        "UPDATE deliveries SET outcome = 'queued', note = NULL, processed_at = NULL
         WHERE outcome = 'failed' AND id = (SELECT delivery_id FROM jobs WHERE id = $1)",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(updated == 1)
}

/// One job.
pub async fn get(pool: &Pool, id: i64) -> sqlx::Result<Option<Job>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Jobs in the queue (`dead = false`) or dead-lettered (`dead = true`), oldest first.
pub async fn list(pool: &Pool, dead: bool, limit: u32) -> sqlx::Result<Vec<Job>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1 ORDER BY id LIMIT $2"
    )))
    .bind(if dead { "dead" } else { "queued" })
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
}

/// The queue's depth by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Depth {
    /// Due and waiting for a worker.
    pub ready: i64,
    /// Waiting for a retry.
    pub scheduled: i64,
    /// Held by a worker.
    pub running: i64,
    /// Dead-lettered.
    pub dead: i64,
}

/// Counts the queue's jobs by status as of `now`.
pub async fn depth(pool: &Pool, now: Millis) -> sqlx::Result<Depth> {
    let (ready, scheduled, running, dead): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT
             count(*) FILTER (WHERE state = 'queued'
                              AND (lease_until IS NULL OR lease_until <= $1) AND run_at <= $1),
             count(*) FILTER (WHERE state = 'queued'
                              AND (lease_until IS NULL OR lease_until <= $1) AND run_at > $1),
             count(*) FILTER (WHERE state = 'queued' AND lease_until > $1),
             count(*) FILTER (WHERE state = 'dead')
         FROM jobs",
    )
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok(Depth {
        ready,
        scheduled,
        running,
        dead,
    })
}
