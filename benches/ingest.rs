//! Webhook ingest under load, against the release binary over loopback.
//!
//! `cargo bench --bench ingest` runs two scenarios:
//!
//! 1. **throughput** — signed `issues` deliveries (the real ~10 KB `opened` payload from
//!    `../shared`, else the project's own fixture) sent by concurrent keep-alive connections;
//!    reports acknowledged deliveries per second, p50/p99/max time to acknowledge, and how
//!    long the workers take to drain the queue afterwards.
//! 2. **crash** — a 10,000-delivery load, `kill -9` once half of it is acknowledged, a
//!    restart, and a check that every acknowledged delivery was stored and processed, none
//!    lost and none given a second job.
//!
//! Options (after `--`): `--deliveries N` (throughput run, default 50000), `--concurrency C`
//! (default 32), `--skip-crash`.

use globallm::github::signature;
use secrecy::SecretString;
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SECRET: &str = "bench-webhook-secret";

struct Options {
    deliveries: usize,
    concurrency: usize,
    crash: bool,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
    };
    Options {
        deliveries: value("--deliveries").unwrap_or(50_000),
        concurrency: value("--concurrency").unwrap_or(32),
        crash: !args.iter().any(|a| a == "--skip-crash"),
    }
}

fn payload() -> (Vec<u8>, &'static str) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let real = manifest.join("../shared/data/github/webhooks/issues/opened.payload.json");
    match std::fs::read(&real) {
        Ok(body) => (
            body,
            "../shared/data/github/webhooks/issues/opened.payload.json",
        ),
        Err(_) => (
            std::fs::read(manifest.join("tests/fixtures/webhooks/issues.json"))
                .expect("the project's own fixture"),
            "tests/fixtures/webhooks/issues.json (../shared is absent)",
        ),
    }
}

struct Service {
    child: Child,
    addr: String,
}

fn start(data_dir: &Path) -> Service {
    let mut child = Command::new(env!("CARGO_BIN_EXE_globallm"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_clear()
        .env("HOME", data_dir)
        .env("GLOBALLM_WEBHOOK_SECRET", SECRET)
        .env("RUST_LOG", "warn,globallm::cli::serve=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the release binary starts");
    let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
    let addr = loop {
        let line = lines.next().expect("logs its address").expect("readable");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split([' ', '"']).next().expect("address").to_owned();
        }
    };
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains("WARN") || line.contains("ERROR") {
                eprintln!("service: {line}");
            }
        }
    });
    Service { child, addr }
}

struct Load {
    acked: Vec<String>,
    latencies_us: Vec<u64>,
    failures: usize,
    elapsed: Duration,
}

/// Sends `total` deliveries over `concurrency` connections; stops early when `stop` is set.
async fn load(
    addr: &str,
    body: Arc<Vec<u8>>,
    total: usize,
    concurrency: usize,
    prefix: &str,
    acked_count: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> Load {
    let signature = signature::sign(&SecretString::from(SECRET.to_owned()), &body);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, body, signature, next) = (
            client.clone(),
            body.clone(),
            signature.clone(),
            next.clone(),
        );
        let (acked_count, stop) = (acked_count.clone(), stop.clone());
        let url = format!("http://{addr}/webhook");
        let prefix = prefix.to_owned();
        tasks.spawn(async move {
            let (mut acked, mut latencies, mut failures) = (Vec::new(), Vec::new(), 0);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total || stop.load(Ordering::Relaxed) {
                    break;
                }
                let guid = format!("{prefix}-{n}");
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("x-github-event", "issues")
                    .header("x-github-delivery", &guid)
                    .header("x-hub-signature-256", &signature)
                    .header("content-type", "application/json")
                    .body(body.as_ref().clone())
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().as_u16() == 202 => {
                        latencies.push(sent.elapsed().as_micros() as u64);
                        acked.push(guid);
                        acked_count.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => failures += 1,
                }
            }
            (acked, latencies, failures)
        });
    }
    let mut result = Load {
        acked: Vec::new(),
        latencies_us: Vec::new(),
        failures: 0,
        elapsed: Duration::ZERO,
    };
    while let Some(joined) = tasks.join_next().await {
        let (acked, latencies, failures) = joined.expect("sender task");
        result.acked.extend(acked);
        result.latencies_us.extend(latencies);
        result.failures += failures;
    }
    result.elapsed = started.elapsed();
    result
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank] as f64 / 1000.0
}

async fn open_db(data_dir: &Path) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(data_dir.join("globallm.db"))
        .busy_timeout(Duration::from_secs(10));
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("the database opens")
}

async fn wait_drained(data_dir: &Path) -> Duration {
    let started = Instant::now();
    let pool = open_db(data_dir).await;
    loop {
        let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'queued'")
            .fetch_one(&pool)
            .await
            .expect("count");
        if pending == 0 {
            pool.close().await;
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("globallm-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

async fn throughput(options: &Options, body: Arc<Vec<u8>>) {
    let dir = temp_dir("throughput");
    let mut service = start(&dir);
    // Warm up connections and the database.
    load(
        &service.addr,
        body.clone(),
        500,
        options.concurrency,
        "warmup",
        Arc::default(),
        Arc::default(),
    )
    .await;
    wait_drained(&dir).await;

    let result = load(
        &service.addr,
        body.clone(),
        options.deliveries,
        options.concurrency,
        "load",
        Arc::default(),
        Arc::default(),
    )
    .await;
    let drain = wait_drained(&dir).await;
    let mut latencies = result.latencies_us.clone();
    latencies.sort_unstable();
    let rate = result.acked.len() as f64 / result.elapsed.as_secs_f64();
    println!(
        "throughput: {} deliveries of {} bytes, {} connections",
        options.deliveries,
        body.len(),
        options.concurrency
    );
    println!(
        "  acknowledged      {} ({} failed)",
        result.acked.len(),
        result.failures
    );
    println!(
        "  rate              {rate:.0} deliveries/s over {:.2} s",
        result.elapsed.as_secs_f64()
    );
    println!(
        "  time to 202       p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0)
    );
    println!(
        "  queue drained     {:.2} s after the load ended ({:.0} jobs/s overall)",
        drain.as_secs_f64(),
        result.acked.len() as f64 / (result.elapsed + drain).as_secs_f64()
    );
    service.child.kill().ok();
    service.child.wait().ok();
    let _ = std::fs::remove_dir_all(&dir);
}

async fn crash(options: &Options, body: Arc<Vec<u8>>) {
    const TOTAL: usize = 10_000;
    let dir = temp_dir("crash");
    let mut service = start(&dir);
    let acked_count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let running = tokio::spawn({
        let (addr, body, acked_count, stop) = (
            service.addr.clone(),
            body.clone(),
            acked_count.clone(),
            stop.clone(),
        );
        let concurrency = options.concurrency;
        async move { load(&addr, body, TOTAL, concurrency, "crash", acked_count, stop).await }
    });
    while acked_count.load(Ordering::Relaxed) < TOTAL / 2 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    service.child.kill().expect("kill -9");
    service.child.wait().ok();
    stop.store(true, Ordering::Relaxed);
    let result = running.await.expect("load task");
    let acked: HashSet<String> = result.acked.into_iter().collect();

    let mut service = start(&dir);
    let drain = wait_drained(&dir).await;
    let pool = open_db(&dir).await;
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT delivery_guid, outcome FROM deliveries")
            .fetch_all(&pool)
            .await
            .expect("deliveries");
    let jobs_created: i64 = sqlx::query_scalar(
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0)",
    )
    .fetch_one(&pool)
    .await
    .expect("sequence");
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'dead'")
        .fetch_one(&pool)
        .await
        .expect("dead");
    pool.close().await;
    service.child.kill().ok();
    service.child.wait().ok();

    let stored_guids: HashSet<&str> = stored.iter().map(|(g, _)| g.as_str()).collect();
    let lost = acked
        .iter()
        .filter(|g| !stored_guids.contains(g.as_str()))
        .count();
    let unprocessed = stored
        .iter()
        .filter(|(_, o)| o != "skipped" && o != "processed")
        .count();
    println!("crash: kill -9 during a {TOTAL}-delivery load, then restart");
    println!("  acknowledged before the kill   {}", acked.len());
    println!("  stored (acknowledged or not)   {}", stored.len());
    println!("  acknowledged but lost          {lost}");
    println!(
        "  not processed after restart    {unprocessed} (drained in {:.2} s)",
        drain.as_secs_f64()
    );
    println!(
        "  jobs ever created              {jobs_created} (one per stored delivery: {})",
        jobs_created as usize == stored.len()
    );
    println!("  dead jobs                      {dead}");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(lost, 0, "acknowledged deliveries were lost");
    assert_eq!(unprocessed, 0);
    assert_eq!(jobs_created as usize, stored.len());
}

fn main() {
    let options = options();
    let (body, source) = payload();
    println!("payload: {source}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let body = Arc::new(body);
    runtime.block_on(throughput(&options, body.clone()));
    if options.crash {
        runtime.block_on(crash(&options, body));
    }
}
