//! The durable job queue: leases, retries with backoff, dead letters, dedup keys, shutdown,
//! and jobs surviving a restart — on real SQLite files with the real workers.

mod common;

use common::{Setup, fixture};
use globallm::config::{Config, JobsConfig};
use globallm::context::Context;
use globallm::db::Db;
use globallm::db::deliveries::{self, NewDelivery};
use globallm::db::ingest::{Ingest, Stored};
use globallm::db::jobs::{self, Holder, Job, NewJob};
use globallm::handlers::ProcessDelivery;
use globallm::jobs::worker::{self, Shutdown};
use globallm::jobs::{BackgroundJob, Done, JobError};
use globallm::time::now_ms;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Attempts seen by test jobs, by tag: (attempt number, when it started).
static SEEN: Mutex<BTreeMap<String, Vec<(i64, Instant)>>> = Mutex::new(BTreeMap::new());

fn seen(tag: &str) -> Vec<(i64, Instant)> {
    SEEN.lock()
        .expect("not poisoned")
        .get(tag)
        .cloned()
        .unwrap_or_default()
}

/// A job that fails its first attempts, or panics, or takes its time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Scripted {
    tag: String,
    fail_first: i64,
    permanent: bool,
    panic: bool,
    sleep_ms: u64,
}

impl BackgroundJob for Scripted {
    const KIND: &'static str = "test_scripted";

    async fn run(self, _ctx: Arc<Context>, job: &Job) -> Result<Done, JobError> {
        SEEN.lock()
            .expect("not poisoned")
            .entry(self.tag.clone())
            .or_default()
            .push((job.attempts, Instant::now()));
        tokio::time::sleep(Duration::from_millis(self.sleep_ms)).await;
        assert!(!self.panic, "scripted panic in {}", self.tag);
        if job.attempts <= self.fail_first {
            let error = anyhow::anyhow!("scripted failure {} of {}", job.attempts, self.tag);
            return Err(if self.permanent {
                JobError::Permanent(error)
            } else {
                JobError::Retry(error)
            });
        }
        Ok(Done::default())
    }
}

struct Pool {
    db: Db,
    workers: JoinSet<()>,
    shutdown: Shutdown,
    config: JobsConfig,
    _dir: tempfile::TempDir,
}

impl Pool {
    async fn start(config: JobsConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::connect(
            &globallm::db::scratch::location(dir.path(), "jobs").await,
            Duration::from_secs(5),
            8,
        )
        .await
        .expect("opens");
        Self::start_on(db, config, dir)
    }

    fn start_on(db: Db, config: JobsConfig, dir: tempfile::TempDir) -> Self {
        let full = Config {
            jobs: config.clone(),
            ..Config::default()
        };
        let (_tx, rx) = tokio::sync::watch::channel(Arc::new(full));
        let ctx = Arc::new(Context::new(db.clone(), rx));
        let mut registry = globallm::app::job_registry();
        registry.register::<Scripted>();
        let shutdown = Shutdown::default();
        let workers = worker::start(ctx, Arc::new(registry), config.workers, shutdown.clone());
        Self {
            db,
            workers,
            shutdown,
            config,
            _dir: dir,
        }
    }

    async fn enqueue(&self, job: &Scripted) -> i64 {
        let mut tx = self.db.write().await.expect("write");
        let id = jobs::enqueue(tx.conn(), &job.to_new_job(&self.config, now_ms()), now_ms())
            .await
            .expect("enqueue")
            .expect("no dedup key");
        tx.commit().await.expect("commit");
        id
    }

    async fn wait_for(&self, what: &str, mut done: impl AsyncFnMut(&Db) -> bool) {
        for _ in 0..500 {
            if done(&self.db).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for {what}");
    }

    async fn stop(mut self) {
        self.shutdown.stop_claiming.cancel();
        while self.workers.join_next().await.is_some() {}
    }
}

fn fast_config() -> JobsConfig {
    JobsConfig {
        workers: 2,
        poll_interval_ms: 20,
        backoff_base_secs: 1,
        backoff_max_secs: 60,
        ..JobsConfig::default()
    }
}

/// A job as the transaction in progress sees it.
async fn job_in(conn: &mut globallm::db::Conn, id: i64) -> Job {
    sqlx::query_as(
        "SELECT id, kind, payload, state, attempts, max_attempts, run_at, lease_until, leased_by,
                last_error, delivery_id, created_at, updated_at
         FROM jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await
    .expect("the job")
}

async fn job_gone(db: &Db, id: i64) -> bool {
    jobs::get(db.pool(), id).await.expect("query").is_none()
}

#[tokio::test]
async fn an_expired_lease_makes_the_job_claimable_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::connect(
        &globallm::db::scratch::location(dir.path(), "q").await,
        Duration::from_secs(5),
        2,
    )
    .await
    .expect("opens");
    let t0 = 1_700_000_000_000;
    let mut tx = db.write().await.expect("write");
    let new = NewJob {
        kind: "k",
        payload: "{}".to_owned(),
        max_attempts: 3,
        run_at: t0,
        delivery_id: None,
        dedup_key: None,
    };
    let id = jobs::enqueue(tx.conn(), &new, t0)
        .await
        .expect("enqueue")
        .expect("new");
    let first = jobs::claim(tx.conn(), "worker-a", t0, 1_000)
        .await
        .expect("claim")
        .expect("due");
    assert_eq!((first.id, first.attempts), (id, 1));
    assert!(
        jobs::claim(tx.conn(), "worker-b", t0 + 999, 1_000)
            .await
            .expect("claim")
            .is_none(),
        "held while the lease lasts"
    );
    let again = jobs::claim(tx.conn(), "worker-b", t0 + 1_000, 1_000)
        .await
        .expect("claim")
        .expect("claimable once the lease expired");
    assert_eq!(
        (again.id, again.attempts, again.leased_by.as_deref()),
        (id, 2, Some("worker-b"))
    );
    assert!(
        !jobs::complete(tx.conn(), Holder::of(&first, "worker-a"))
            .await
            .expect("complete"),
        "the worker that lost the lease cannot delete the job"
    );
    assert!(
        jobs::complete(tx.conn(), Holder::of(&again, "worker-b"))
            .await
            .expect("complete")
    );
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn a_worker_whose_lease_expired_cannot_fail_the_job_its_new_holder_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::connect(
        &globallm::db::scratch::location(dir.path(), "q").await,
        Duration::from_secs(5),
        2,
    )
    .await
    .expect("opens");
    let t0 = 1_000_000;
    let mut tx = db.write().await.expect("write");
    let new = NewJob {
        kind: "k",
        payload: "{}".to_owned(),
        max_attempts: 5,
        run_at: t0,
        delivery_id: None,
        dedup_key: None,
    };
    let id = jobs::enqueue(tx.conn(), &new, t0)
        .await
        .expect("enqueue")
        .expect("new");
    let stale = jobs::claim(tx.conn(), "worker-a", t0, 1_000)
        .await
        .expect("claim")
        .expect("due");
    // The lease expires; worker B claims the job and runs it.
    let current = jobs::claim(tx.conn(), "worker-b", t0 + 1_000, 1_000)
        .await
        .expect("claim")
        .expect("claimable once the lease expired");

    for retry_at in [Some(t0 + 60_000), None] {
        assert!(
            !jobs::fail(
                tx.conn(),
                Holder::of(&stale, "worker-a"),
                "late",
                retry_at,
                t0 + 1_500
            )
            .await
            .expect("fail"),
            "the worker that lost the lease cannot reschedule or dead-letter the job"
        );
    }
    let job = job_in(tx.conn(), id).await;
    assert_eq!(
        (
            job.state.as_str(),
            job.leased_by.as_deref(),
            job.last_error.as_deref()
        ),
        ("queued", Some("worker-b"), None),
        "worker B still holds the job, untouched"
    );

    // Even the same worker id that claims the job again is a new holder: its old claim is stale.
    let reclaimed = jobs::claim(tx.conn(), "worker-b", t0 + 2_000, 1_000)
        .await
        .expect("claim")
        .expect("claimable once the lease expired");
    assert!(
        !jobs::fail(
            tx.conn(),
            Holder::of(&current, "worker-b"),
            "late",
            None,
            t0 + 2_500
        )
        .await
        .expect("fail")
    );
    assert!(
        !jobs::complete(tx.conn(), Holder::of(&current, "worker-b"))
            .await
            .expect("complete")
    );
    assert!(
        jobs::fail(
            tx.conn(),
            Holder::of(&reclaimed, "worker-b"),
            "boom",
            None,
            t0 + 2_500
        )
        .await
        .expect("fail"),
        "the current holder records its failure"
    );
    let job = job_in(tx.conn(), id).await;
    assert_eq!(
        (job.state.as_str(), job.last_error.as_deref()),
        ("dead", Some("boom"))
    );
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn a_job_whose_worker_died_is_run_again_by_a_live_worker() {
    let pool = Pool::start(JobsConfig {
        workers: 1,
        ..fast_config()
    })
    .await;
    pool.shutdown.stop_claiming.cancel();
    let mut workers = std::mem::take(&mut { pool.workers });
    while workers.join_next().await.is_some() {}

    // A worker claims the job with a short lease, then "dies" (never finishes it).
    let db = pool.db.clone();
    let id = {
        let mut tx = db.write().await.expect("write");
        let job = Scripted {
            tag: "orphan".into(),
            ..Scripted::default()
        };
        let id = jobs::enqueue(
            tx.conn(),
            &job.to_new_job(&fast_config(), now_ms()),
            now_ms(),
        )
        .await
        .expect("enqueue")
        .expect("new");
        jobs::claim(tx.conn(), "dead-worker", now_ms(), 300)
            .await
            .expect("claim")
            .expect("due");
        tx.commit().await.expect("commit");
        id
    };
    let pool = Pool::start_on(
        db,
        JobsConfig {
            workers: 1,
            ..fast_config()
        },
        pool._dir,
    );
    pool.wait_for("the orphaned job to finish", async |db| {
        job_gone(db, id).await
    })
    .await;
    let attempts: Vec<i64> = seen("orphan").iter().map(|(n, _)| *n).collect();
    assert_eq!(attempts, [2], "run once more, as the second attempt");
    pool.stop().await;
}

#[tokio::test]
async fn failures_are_retried_with_growing_delays_until_they_succeed() {
    let pool = Pool::start(JobsConfig {
        max_attempts: 5,
        ..fast_config()
    })
    .await;
    let id = pool
        .enqueue(&Scripted {
            tag: "flaky".into(),
            fail_first: 2,
            ..Scripted::default()
        })
        .await;
    pool.wait_for("the flaky job to succeed", async |db| {
        job_gone(db, id).await
    })
    .await;

    let attempts = seen("flaky");
    let numbers: Vec<i64> = attempts.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, [1, 2, 3]);
    let first_gap = attempts[1].1 - attempts[0].1;
    let second_gap = attempts[2].1 - attempts[1].1;
    // Base 1 s with jitter in the upper half: the first retry waits 0.5–1 s, the second 1–2 s.
    assert!(first_gap >= Duration::from_millis(500), "{first_gap:?}");
    assert!(second_gap >= Duration::from_millis(1_000), "{second_gap:?}");
    pool.stop().await;
}

#[tokio::test]
async fn a_job_failing_every_attempt_is_dead_lettered_with_its_last_error() {
    let pool = Pool::start(JobsConfig {
        max_attempts: 2,
        ..fast_config()
    })
    .await;
    let id = pool
        .enqueue(&Scripted {
            tag: "doomed".into(),
            fail_first: 99,
            ..Scripted::default()
        })
        .await;
    pool.wait_for("the job to die", async |db| {
        jobs::get(db.pool(), id)
            .await
            .expect("query")
            .is_some_and(|j| j.state == "dead")
    })
    .await;
    let dead = jobs::list(pool.db.pool(), true, 10).await.expect("list");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 2);
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("scripted failure 2 of doomed")
    );
    assert_eq!(seen("doomed").len(), 2, "no attempt after the last");
    pool.stop().await;
}

#[tokio::test]
async fn a_permanent_error_is_dead_lettered_at_once() {
    let pool = Pool::start(fast_config()).await;
    let id = pool
        .enqueue(&Scripted {
            tag: "bad-input".into(),
            fail_first: 99,
            permanent: true,
            ..Scripted::default()
        })
        .await;
    pool.wait_for("the job to die", async |db| {
        jobs::get(db.pool(), id)
            .await
            .expect("query")
            .is_some_and(|j| j.state == "dead")
    })
    .await;
    assert_eq!(seen("bad-input").len(), 1);
    pool.stop().await;
}

#[tokio::test]
async fn a_job_past_its_deadline_is_stopped_and_dead_lettered_saying_why() {
    let pool = Pool::start(JobsConfig {
        max_run_secs: 1,
        ..fast_config()
    })
    .await;
    let id = pool
        .enqueue(&Scripted {
            tag: "stuck".into(),
            sleep_ms: 600_000,
            ..Scripted::default()
        })
        .await;
    pool.wait_for("the job to die", async |db| {
        jobs::get(db.pool(), id)
            .await
            .expect("query")
            .is_some_and(|j| j.state == "dead")
    })
    .await;
    let job = jobs::get(pool.db.pool(), id)
        .await
        .expect("query")
        .expect("kept as a dead letter");
    let error = job.last_error.expect("the reason is recorded");
    assert!(
        error.contains("jobs.max_run_secs") && error.contains("stopped after 1s"),
        "{error}"
    );
    assert_eq!(job.lease_until, None, "no lease is held any more");
    assert_eq!(seen("stuck").len(), 1, "not retried");
    pool.stop().await;
}

#[tokio::test]
async fn a_panicking_job_is_caught_and_counted_as_a_failed_attempt() {
    let pool = Pool::start(JobsConfig {
        max_attempts: 1,
        ..fast_config()
    })
    .await;
    let id = pool
        .enqueue(&Scripted {
            tag: "panics".into(),
            panic: true,
            ..Scripted::default()
        })
        .await;
    pool.wait_for("the job to die", async |db| {
        jobs::get(db.pool(), id)
            .await
            .expect("query")
            .is_some_and(|j| j.state == "dead")
    })
    .await;
    let job = jobs::get(pool.db.pool(), id)
        .await
        .expect("query")
        .expect("kept");
    let error = job.last_error.unwrap_or_default();
    assert!(
        error.contains("panicked") && error.contains("scripted panic in panics"),
        "{error}"
    );
    pool.stop().await;
}

#[tokio::test]
async fn a_dedup_key_lets_a_job_run_once_ever() {
    let pool = Pool::start(fast_config()).await;
    let keyed = |key: &str| NewJob {
        dedup_key: Some(key.to_owned()),
        ..Scripted {
            tag: "nightly".into(),
            ..Scripted::default()
        }
        .to_new_job(&fast_config(), now_ms())
    };
    let mut tx = pool.db.write().await.expect("write");
    let first = jobs::enqueue(tx.conn(), &keyed("discovery:2026-11-25"), now_ms())
        .await
        .expect("enqueue");
    let twin = jobs::enqueue(tx.conn(), &keyed("discovery:2026-11-25"), now_ms())
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    let id = first.expect("the first is enqueued");
    assert_eq!(twin, None, "the same key is not enqueued twice");

    pool.wait_for("the job to run", async |db| job_gone(db, id).await)
        .await;
    let mut tx = pool.db.write().await.expect("write");
    let after = jobs::enqueue(tx.conn(), &keyed("discovery:2026-11-25"), now_ms())
        .await
        .expect("enqueue");
    let next = jobs::enqueue(tx.conn(), &keyed("discovery:2026-11-26"), now_ms())
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    assert_eq!(after, None, "nor after the job finished");
    assert!(next.is_some(), "another key is another job");
    pool.stop().await;
}

#[tokio::test]
async fn an_unknown_job_kind_is_dead_lettered_with_a_message() {
    let pool = Pool::start(fast_config()).await;
    let mut tx = pool.db.write().await.expect("write");
    let new = NewJob {
        kind: "from_the_future",
        payload: "{}".to_owned(),
        max_attempts: 3,
        run_at: now_ms(),
        delivery_id: None,
        dedup_key: None,
    };
    let id = jobs::enqueue(tx.conn(), &new, now_ms())
        .await
        .expect("enqueue")
        .expect("new");
    tx.commit().await.expect("commit");
    pool.wait_for("the job to die", async |db| {
        jobs::get(db.pool(), id)
            .await
            .expect("query")
            .is_some_and(|j| j.state == "dead")
    })
    .await;
    let job = jobs::get(pool.db.pool(), id)
        .await
        .expect("query")
        .expect("kept");
    assert!(
        job.last_error
            .unwrap_or_default()
            .contains("no job kind `from_the_future`")
    );
    pool.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_running_job_finish() {
    let mut pool = Pool::start(fast_config()).await;
    let id = pool
        .enqueue(&Scripted {
            tag: "finishing".into(),
            sleep_ms: 300,
            ..Scripted::default()
        })
        .await;
    pool.wait_for("the job to start", async |_| !seen("finishing").is_empty())
        .await;
    pool.shutdown.stop_claiming.cancel();
    while pool.workers.join_next().await.is_some() {}
    assert!(
        job_gone(&pool.db, id).await,
        "finished and deleted before the workers stopped"
    );
}

#[tokio::test]
async fn at_the_shutdown_deadline_a_running_job_is_handed_back_uncounted() {
    let mut pool = Pool::start(fast_config()).await;
    let id = pool
        .enqueue(&Scripted {
            tag: "too-slow".into(),
            sleep_ms: 60_000,
            ..Scripted::default()
        })
        .await;
    pool.wait_for("the job to start", async |_| !seen("too-slow").is_empty())
        .await;
    pool.shutdown.stop_claiming.cancel();
    pool.shutdown.abandon.cancel();
    while pool.workers.join_next().await.is_some() {}
    let job = jobs::get(pool.db.pool(), id)
        .await
        .expect("query")
        .expect("still queued");
    assert_eq!(job.state, "queued");
    assert_eq!(job.attempts, 0, "the interrupted attempt does not count");
    assert_eq!(job.lease_until, None, "claimable at once by the next start");
}

#[tokio::test]
async fn deliveries_acknowledged_before_a_restart_are_processed_after_it() {
    let setup = Setup::new();
    // The first life: deliveries stored and acknowledged, then the process is gone before any
    // worker ran (no workers were started at all).
    {
        let db = setup.db().await;
        let (ingest, writer) = Ingest::start(db.clone(), Arc::default())
            .await
            .expect("writer");
        for (n, event) in ["installation", "ping", "issues"].into_iter().enumerate() {
            let delivery = NewDelivery {
                guid: format!("before-restart-{n}"),
                event: event.to_owned(),
                action: None,
                installation_id: None,
                repository: None,
                headers: "{}".to_owned(),
                body: fixture(event).into(),
                received_at: now_ms(),
            };
            let job = ProcessDelivery::default().to_new_job(&JobsConfig::default(), now_ms());
            let stored = ingest.store(delivery, Some(job)).await.expect("stored");
            assert!(matches!(
                stored,
                Stored::New {
                    job_id: Some(_),
                    ..
                }
            ));
        }
        drop(ingest);
        writer.await.expect("writer stops");
        db.close().await;
    }
    // The second life.
    let service = setup.start().await;
    service.wait_until_idle().await;
    let db = setup.db().await;
    for n in 0..3 {
        let delivery = deliveries::get_by_guid(db.pool(), &format!("before-restart-{n}"))
            .await
            .expect("query")
            .expect("stored");
        assert!(
            matches!(delivery.outcome.as_str(), "processed" | "skipped"),
            "{}: {}",
            delivery.delivery_guid,
            delivery.outcome
        );
    }
    service.stop().await;
}

#[tokio::test]
async fn a_requeued_dead_delivery_job_is_processed() {
    let setup = Setup::new();
    let service = setup.start().await;
    // A delivery whose body does not match its event's shape fails permanently.
    let (status, _) = service
        .deliver("issues", br#"{"action":"opened","issue":{}}"#)
        .await;
    assert_eq!(status, 202);
    service.wait_until_idle().await;
    let db = setup.db().await;
    let dead = jobs::list(db.pool(), true, 10).await.expect("list");
    assert_eq!(dead.len(), 1);
    let delivery_id = dead[0].delivery_id.expect("linked");
    let delivery = deliveries::get(db.pool(), delivery_id)
        .await
        .expect("query")
        .expect("kept");
    assert_eq!(delivery.outcome, "failed");
    assert!(
        delivery
            .note
            .unwrap_or_default()
            .contains("does not parse at `issue")
    );

    // After a fix (here: the same delivery made valid in place), `jobs retry` runs it again.
    let valid = fixture("issues");
    sqlx::query("UPDATE deliveries SET body = $1 WHERE id = $2")
        .bind(valid)
        .bind(delivery_id)
        .execute(db.pool())
        .await
        .expect("update");
    let mut tx = db.write().await.expect("write");
    assert!(
        jobs::requeue(tx.conn(), dead[0].id, now_ms())
            .await
            .expect("requeue")
    );
    tx.commit().await.expect("commit");
    service.wait_until_idle().await;
    let delivery = deliveries::get(db.pool(), delivery_id)
        .await
        .expect("query")
        .expect("kept");
    assert_ne!(delivery.outcome, "failed");
    assert!(
        jobs::get(db.pool(), dead[0].id)
            .await
            .expect("query")
            .is_none()
    );
    service.stop().await;
}
