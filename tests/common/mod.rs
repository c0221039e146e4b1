//! The test harness: a whole GlobalLM service started in-process on a loopback port, over a
//! real SQLite file in a temporary directory (or a fresh PostgreSQL database when
//! `GLOBALLM_TEST_DATABASE_URL` names a server), and a client that signs deliveries as GitHub
//! does.

#![allow(dead_code, reason = "each test file uses its part of the harness")]

use globallm::config::Sources;
use globallm::db::{Backend, Db, Location};
use globallm::github::signature;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The webhook secret the harness configures and signs with.
pub const SECRET: &str = "test-webhook-secret";

/// A test's directory, environment and config file; starts services over them.
pub struct Setup {
    pub dir: TempDir,
    pub env: BTreeMap<String, String>,
}

impl Setup {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().to_owned();
        let env = BTreeMap::from([
            ("HOME".to_owned(), root.display().to_string()),
            (
                "XDG_CONFIG_HOME".to_owned(),
                root.join("config").display().to_string(),
            ),
            (
                "GLOBALLM_DATA_DIR".to_owned(),
                root.join("data").display().to_string(),
            ),
            ("GLOBALLM_WEBHOOK_SECRET".to_owned(), SECRET.to_owned()),
            // Fast tests: idle workers look often, shutdown does not wait long.
            (
                "GLOBALLM_JOBS__POLL_INTERVAL_MS".to_owned(),
                "50".to_owned(),
            ),
            (
                "GLOBALLM_JOBS__SHUTDOWN_DEADLINE_SECS".to_owned(),
                "5".to_owned(),
            ),
        ]);
        let mut setup = Self { dir, env };
        if let Some(url) = scratch_postgres() {
            setup.env.insert("GLOBALLM_DATABASE_URL".to_owned(), url);
        }
        setup
    }

    /// On the embedded SQLite file whatever backend the tests run on, for what only SQLite
    /// has: the database file itself and its lock.
    pub fn on_sqlite() -> Self {
        Self::new().without_env("GLOBALLM_DATABASE_URL")
    }

    pub fn without_env(mut self, name: &str) -> Self {
        self.env.remove(name);
        self
    }

    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config/globallm/config.yaml")
    }

    pub fn write_config(&self, yaml: &str) {
        let path = self.config_path();
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("config dir");
        std::fs::write(&path, yaml).expect("config written");
    }

    pub fn sources(&self) -> Sources {
        Sources {
            env: self.env.clone(),
            ..Sources::default()
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("data/globallm.db")
    }

    /// Where the service's database is.
    pub fn db_location(&self) -> Location {
        match self.env.get("GLOBALLM_DATABASE_URL") {
            Some(url) => Location::parse(url).expect("a database URL"),
            None => Location::Sqlite(self.db_path()),
        }
    }

    /// Opens the service's database beside it (WAL lets both read and write).
    pub async fn db(&self) -> Db {
        Db::connect(&self.db_location(), Duration::from_secs(5), 2)
            .await
            .expect("the database opens")
    }

    pub async fn start(&self) -> TestService {
        // As `serve` binds it, with its backlog.
        let listener =
            globallm::server::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("a loopback port");
        let addr = listener.local_addr().expect("bound");
        let sources = self.sources();
        let loaded = sources.load().expect("the test configuration loads");
        let stop = CancellationToken::new();
        let task = tokio::spawn(globallm::cli::serve::run(
            sources,
            loaded,
            listener,
            stop.clone(),
        ));
        let service = TestService {
            addr,
            stop,
            task,
            client: reqwest::Client::new(),
            db_location: self.db_location(),
        };
        service.wait_ready().await;
        service
    }
}

/// A running service.
pub struct TestService {
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    client: reqwest::Client,
    db_location: Location,
}

/// A delivery to send, with every part that can be left out or spoiled.
pub struct Delivery<'a> {
    pub event: Option<&'a str>,
    pub guid: Option<String>,
    pub body: Vec<u8>,
    pub signature: Option<String>,
}

impl<'a> Delivery<'a> {
    /// A delivery signed with [`SECRET`], with a fresh id.
    pub fn signed(event: &'a str, body: &[u8]) -> Self {
        Self {
            event: Some(event),
            guid: Some(uuid::Uuid::new_v4().to_string()),
            signature: Some(sign(SECRET, body)),
            body: body.to_vec(),
        }
    }
}

pub fn sign(secret: &str, body: &[u8]) -> String {
    signature::sign(&SecretString::from(secret.to_owned()), body)
}

pub fn fixture(event: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/webhooks")
        .join(format!("{event}.json"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

impl TestService {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(response) = self.client.get(self.url("/readyz")).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the service did not become ready");
    }

    /// Posts a delivery; returns the status and the JSON answer.
    pub async fn post(&self, delivery: Delivery<'_>) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .post(self.url("/webhook"))
            .header("content-type", "application/json")
            .header("user-agent", "GitHub-Hookshot/test");
        if let Some(event) = delivery.event {
            request = request.header("x-github-event", event);
        }
        if let Some(guid) = &delivery.guid {
            request = request.header("x-github-delivery", guid);
        }
        if let Some(signature) = &delivery.signature {
            request = request.header("x-hub-signature-256", signature);
        }
        let response = request
            .body(delivery.body)
            .send()
            .await
            .expect("the service answers");
        let status = response.status().as_u16();
        let json = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    /// Sends a signed delivery of `event` with a fresh id.
    pub async fn deliver(&self, event: &str, body: &[u8]) -> (u16, serde_json::Value) {
        self.post(Delivery::signed(event, body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("answers");
        (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        )
    }

    /// Waits until no job is ready, scheduled or running.
    pub async fn wait_until_idle(&self) {
        let db = Db::connect(&self.db_location, Duration::from_secs(5), 2)
            .await
            .expect("opens");
        assert!(drained(&db, 500).await, "the queue did not drain");
        db.close().await;
    }

    /// Stops the service the way SIGTERM does and waits for it.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task
            .await
            .expect("the service task does not panic")
            .expect("the service stops cleanly");
    }
}

/// How many jobs other than the scheduler's periodic ones (the daily prune, …) were ever
/// created, less the periodic jobs, each of which keeps its dedup key. So a test can tell "no
/// second job" even after the first one finished and was deleted. On SQLite that is
/// AUTOINCREMENT's high-water mark; on PostgreSQL a sequence also advances for inserts that roll
/// back (a replica killed mid-commit), so the test database counts committed jobs in
/// `test_jobs_created`, filled by a trigger [`scratch_postgres`] installs.
pub async fn jobs_ever_created(db: &Db) -> i64 {
    let created = match db.backend() {
        Backend::Sqlite => "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0)",
        Backend::Postgres => "(SELECT count(*) FROM test_jobs_created)",
    };
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT {created} - (SELECT count(*) FROM job_dedup_keys)"
    )))
    .fetch_one(db.pool())
    .await
    .expect("the count of jobs created is readable")
}

/// Test-only, on PostgreSQL: a row in `test_jobs_created` per job inserted by a transaction
/// that committed.
const COUNT_JOBS: &[&str] = &[
    "CREATE TABLE test_jobs_created (id BIGINT NOT NULL)",
    "CREATE FUNCTION test_count_job() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN INSERT INTO test_jobs_created VALUES (NEW.id); RETURN NULL; END; $$",
    "CREATE TRIGGER test_count_jobs AFTER INSERT ON jobs
     FOR EACH ROW EXECUTE FUNCTION test_count_job()",
];

/// A fresh, migrated PostgreSQL database counting the jobs it creates, when the tests run on
/// PostgreSQL (made on a thread of its own: `Setup::new` is synchronous and runs inside the
/// test's runtime).
fn scratch_postgres() -> Option<String> {
    globallm::db::scratch::server_url()?;
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(async {
                let url = globallm::db::scratch::fresh_database().await?;
                let db = Db::connect(&Location::Postgres(url.clone()), Duration::from_secs(5), 1)
                    .await
                    .expect("the test database migrates");
                for statement in COUNT_JOBS {
                    sqlx::query(*statement)
                        .execute(db.pool())
                        .await
                        .expect("the job counter is installed");
                }
                db.close().await;
                Some(url)
            })
    })
    .join()
    .expect("the database is created")
}

/// Waits, looking every 20 ms at most `looks` times, until no job is ready, scheduled or
/// running; whether that happened.
pub async fn drained(db: &Db, looks: usize) -> bool {
    for _ in 0..looks {
        let depth = globallm::db::jobs::depth(db.pool(), globallm::time::now_ms())
            .await
            .expect("depth");
        if depth.ready + depth.scheduled + depth.running == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Every stored delivery's GUID and outcome.
pub async fn stored_deliveries(db: &Db) -> Vec<(String, String)> {
    sqlx::query_as("SELECT delivery_guid, outcome FROM deliveries")
        .fetch_all(db.pool())
        .await
        .expect("the deliveries are readable")
}

pub async fn count(db: &Db, table: &'static str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(db.pool())
        .await
        .expect("count")
}
