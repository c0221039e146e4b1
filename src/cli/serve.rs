//! `globallm serve`: the webhook server, the job workers and config hot reload in one process,
//! with graceful shutdown on SIGINT / SIGTERM.

use crate::config::watch::Reloader;
use crate::config::{Loaded, Sources};
use crate::context::Context;
use crate::db::ingest::Ingest;
use crate::db::{Backend, Db, Location};
use crate::jobs::worker;
use crate::server::{self, AppState};
use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Runs the service until SIGINT or SIGTERM.
pub async fn serve(sources: Sources) -> anyhow::Result<()> {
    let loaded = sources.load()?;
    super::init_logging(&loaded.config.logging, sources.env_var("RUST_LOG"));
    let listen = loaded.config.server.listen;
    let listener = server::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    let stop = CancellationToken::new();
    tokio::spawn(stop_on_signal(stop.clone()));
    run(sources, loaded, listener, stop).await
}

/// Runs the service on `listener` until `stop` is cancelled. Separate from [`serve`] so tests
/// run the whole service in-process, stop it, and start it again on the same database.
pub async fn run(
    sources: Sources,
    loaded: Loaded,
    listener: TcpListener,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let config = loaded.config.clone();
    describe_start(&loaded, &listener);
    let location = config.database_location()?;
    // On SQLite this process is the only one running workers on the file; on PostgreSQL
    // replicas share the database, and a lease left by one that died expires on its own.
    let _lock = match &location {
        Location::Sqlite(path) => Some(lock_database(path)?),
        Location::Postgres(_) => None,
    };
    // The data directory, the checkout cache and the index cache hold credentials and private
    // code (the index keeps every file's identifiers and string literals): only the
    // service's user may open them.
    for dir in [
        config.storage.data_dir.clone(),
        config.storage.data_dir.join("checkouts"),
        config.storage.index_dir(),
    ] {
        crate::private_fs::create_private_dir(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let db = Db::connect(
        &location,
        Duration::from_millis(config.storage.busy_timeout_ms),
        config.jobs.workers + 4,
    )
    .await?;
    if db.backend() == Backend::Sqlite {
        release_orphaned_leases(&db).await?;
    }
    let (reloader, config_rx) = Reloader::new(sources, loaded.config);
    let ctx = Arc::new(Context::new(db.clone(), config_rx));
    let metrics = crate::monitoring::install();
    let (ingest, writer) = Ingest::start(db.clone(), ctx.jobs_added.clone())
        .await
        .context("cannot open the database for webhook deliveries")?;

    let listening = CancellationToken::new();
    crate::db::wakeups::spawn_listener(&db, ctx.jobs_added.clone(), listening.clone());
    let shutdown = worker::Shutdown::default();
    let mut workers = worker::start(
        ctx.clone(),
        Arc::new(crate::app::job_registry()),
        config.jobs.workers,
        shutdown.clone(),
    );
    let watching = CancellationToken::new();
    let watcher = reloader.clone().watch(watching.clone());
    let scheduler = tokio::spawn(crate::jobs::scheduler::run(ctx.clone(), watching.clone()));

    let setup = server::setup_token::Setup::new(&config.storage.data_dir);
    if config.github.app_id.is_none() {
        // Written now, so its path is in the log before anyone opens `/`.
        setup
            .ensure_token()
            .context("cannot write the setup token to the data directory")?;
    }
    let state = AppState {
        ctx: ctx.clone(),
        ingest,
        metrics,
        reloader: Some(reloader.clone()),
        setup,
    };
    let stopping = stop.clone();
    let claims = shutdown.stop_claiming.clone();
    tokio::spawn(async move {
        stopping.cancelled().await;
        claims.cancel();
    });
    let read_timeout = Duration::from_secs(config.server.read_timeout_secs);
    let served = server::serve(listener, server::router(state), stop, read_timeout).await;
    tracing::info!("no longer accepting deliveries; finishing running jobs");

    // Every request has been answered and the router (with its writer handle) dropped: the
    // writer stores what it holds and stops.
    if let Err(err) = writer.await {
        tracing::error!("the delivery writer failed: {err}");
    }
    let deadline = Duration::from_secs(ctx.config().jobs.shutdown_deadline_secs);
    let finished = tokio::time::timeout(deadline, async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            deadline_secs = deadline.as_secs(),
            "jobs still running at the shutdown deadline are handed back to the queue"
        );
        shutdown.abandon.cancel();
        while workers.join_next().await.is_some() {}
    }
    watching.cancel();
    listening.cancel();
    if let Some(watcher) = watcher {
        let _ = watcher.await;
    }
    let _ = scheduler.await;
    db.close().await;
    tracing::info!("stopped");
    served.context("the HTTP server failed")
}

/// Takes `<database>.lock`, so that one `serve` at a time runs workers on a database: the
/// leases a previous process left can then be freed at once instead of waiting to expire.
fn lock_database(db_path: &Path) -> anyhow::Result<std::fs::File> {
    let lock_path = db_path.with_extension("db.lock");
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::private_fs::create_private_dir(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    }
    let file = crate::private_fs::open_or_create_private_file(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another `globallm serve` is running on {} (it holds {}); stop it first or give \
             this one its own --data-dir",
            db_path.display(),
            lock_path.display()
        ),
        Err(std::fs::TryLockError::Error(err)) => {
            Err(err).with_context(|| format!("cannot lock {}", lock_path.display()))
        }
    }
}

async fn release_orphaned_leases(db: &Db) -> anyhow::Result<()> {
    let mut tx = db.write().await?;
    let freed = crate::db::jobs::release_orphaned_leases(tx.conn(), crate::time::now_ms()).await?;
    tx.commit().await?;
    if freed > 0 {
        tracing::warn!(
            jobs = freed,
            "jobs held by a previous process that stopped abruptly are claimable again"
        );
    }
    Ok(())
}

fn describe_start(loaded: &Loaded, listener: &TcpListener) {
    let config = &loaded.config;
    if loaded.file_found {
        tracing::info!(path = %loaded.path.display(), "configuration loaded");
    } else {
        tracing::info!(path = %loaded.path.display(), "no config file; using defaults");
    }
    tracing::info!(
        data_dir = %config.storage.data_dir.display(),
        database = %config
            .database_location()
            .map(|l| l.redacted())
            .unwrap_or_default(),
        workers = config.jobs.workers,
        "starting"
    );
    if config.secrets.webhook.is_none() {
        tracing::warn!(
            "no webhook secret configured: POST /webhook refuses every delivery (503) until \
             GLOBALLM_WEBHOOK_SECRET or github.webhook_secret_file is set"
        );
    }
    match listener.local_addr() {
        Ok(addr) => {
            tracing::info!("listening on http://{addr} (webhooks: POST http://{addr}/webhook)")
        }
        Err(err) => tracing::warn!("listening, but the address is unknown: {err}"),
    }
}

/// Cancels `stop` on the first SIGINT or SIGTERM.
async fn stop_on_signal(stop: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!("cannot listen for SIGTERM: {err}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
    stop.cancel();
}
