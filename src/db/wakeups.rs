//! Wake-ups across replicas. On PostgreSQL a trigger (migration 0014) sends `NOTIFY
//! globallm_jobs` when jobs are added, delivered when the adding transaction commits; each
//! replica listens and wakes its idle workers, so a delivery stored by one replica is picked up
//! at once by whichever is free. Workers still poll (`jobs.poll_interval_ms`), which covers a
//! lost connection and jobs that come due later. On SQLite one process does everything, and
//! its writers wake the workers directly.

use super::{Db, Location};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The channel the trigger notifies.
pub const CHANNEL: &str = "globallm_jobs";

/// How long to wait before listening again after the connection failed.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// On PostgreSQL, spawns a task that wakes `wake`'s waiters on every notification until `stop`;
/// nothing on SQLite.
pub fn spawn_listener(db: &Db, wake: Arc<Notify>, stop: CancellationToken) {
    let Location::Postgres(url) = db.location().clone() else {
        return;
    };
    tokio::spawn(async move {
        while !stop.is_cancelled() {
            tokio::select! {
                () = stop.cancelled() => return,
                err = listen(&url, &wake) => {
                    tracing::warn!(
                        "listening for new jobs failed (workers keep polling): {err}"
                    );
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(RETRY_AFTER) => {}
            }
        }
    });
}

/// Listens until the connection fails.
async fn listen(url: &str, wake: &Notify) -> sqlx::Error {
    let mut listener = match sqlx::postgres::PgListener::connect(url).await {
        Ok(listener) => listener,
        Err(err) => return err,
    };
    if let Err(err) = listener.listen(CHANNEL).await {
        return err;
    }
    // Anything added while nobody listened is found by the first look.
    wake.notify_waiters();
    loop {
        match listener.recv().await {
            Ok(_) => wake.notify_waiters(),
            Err(err) => return err,
        }
    }
}
