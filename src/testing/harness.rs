//! The end-to-end harness: GlobalLM's real router, database, jobs and GitHub client, wired to
//! the fake GitHub. A test reads like a story: arrange the fake GitHub, send a real signed
//! delivery through the router, drain the job queue deterministically, then look at what the
//! fake GitHub (or the database) holds.

use crate::clock::{Clock, SystemClock};
use crate::config::Sources;
use crate::config::watch::Reloader;
use crate::context::Context;
use crate::db::ingest::Ingest;
use crate::db::{Db, Location};
use crate::github::signature;
use crate::jobs::{Registry, worker};
use crate::server::{self, AppState};
use crate::testing::fake_github::{self, FakeGithub};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tower::ServiceExt as _;

/// The installation the harness's repositories belong to.
pub const INSTALLATION: u64 = 5151;

/// GlobalLM and a fake GitHub, in one test.
#[derive(Debug)]
pub struct TestApp {
    pub github: FakeGithub,
    pub ctx: Arc<Context>,
    pub dir: TempDir,
    /// The setup token and registrations in progress, as the router sees them.
    pub setup: crate::server::setup_token::Setup,
    router: Router,
    registry: Arc<Registry>,
    _writer: tokio::task::JoinHandle<()>,
}

/// What a delivery got back.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
    /// The `Location` header, for redirects.
    pub location: Option<String>,
    /// The `Set-Cookie` headers.
    pub cookies: Vec<String>,
}

impl TestApp {
    /// GlobalLM configured with the fake GitHub's App.
    pub async fn start() -> Self {
        Self::start_with(true, &[]).await
    }

    /// GlobalLM with no App at all (the state before the manifest flow).
    pub async fn start_unregistered() -> Self {
        Self::start_with(false, &[]).await
    }

    /// GlobalLM with no App and these environment settings.
    pub async fn start_unregistered_with_env(settings: &[(&str, &str)]) -> Self {
        Self::start_with(false, settings).await
    }

    /// GlobalLM configured with the fake GitHub's App and these environment settings.
    pub async fn start_with_env(settings: &[(&str, &str)]) -> Self {
        Self::start_with(true, settings).await
    }

    /// GlobalLM configured with the fake GitHub's App and these environment settings, both on
    /// `clock` (a [`crate::clock::ShiftedClock`] lets a story move time forward).
    pub async fn start_with_clock(clock: Arc<dyn Clock>, settings: &[(&str, &str)]) -> Self {
        Self::start_on(clock, true, settings).await
    }

    async fn start_with(registered: bool, settings: &[(&str, &str)]) -> Self {
        Self::start_on(Arc::new(SystemClock), registered, settings).await
    }

    async fn start_on(clock: Arc<dyn Clock>, registered: bool, settings: &[(&str, &str)]) -> Self {
        let github = FakeGithub::start(clock.clone()).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path();
        let mut env = BTreeMap::from([
            ("HOME".to_owned(), root.display().to_string()),
            (
                "XDG_CONFIG_HOME".to_owned(),
                root.join("config").display().to_string(),
            ),
            (
                "GLOBALLM_DATA_DIR".to_owned(),
                root.join("data").display().to_string(),
            ),
            ("GLOBALLM_GITHUB_API_URL".to_owned(), github.api_url.clone()),
            (
                "GLOBALLM_PUBLIC_URL".to_owned(),
                "https://globallm.example.org".to_owned(),
            ),
            // The fake GitHub has no content-creation limits to respect.
            (
                "GLOBALLM_GITHUB__WRITE_INTERVAL_MS".to_owned(),
                "0".to_owned(),
            ),
        ]);
        if registered {
            let app = fake_github::test_app();
            env.insert("GLOBALLM_GITHUB_APP_ID".to_owned(), app.id.to_string());
            env.insert(
                "GLOBALLM_GITHUB_PRIVATE_KEY".to_owned(),
                app.private_key_pem,
            );
            env.insert("GLOBALLM_WEBHOOK_SECRET".to_owned(), app.webhook_secret);
        }
        if let Location::Postgres(url) = crate::db::scratch::location(root, "globallm").await {
            env.insert("GLOBALLM_DATABASE_URL".to_owned(), url);
        }
        for (name, value) in settings {
            env.insert((*name).to_owned(), (*value).to_owned());
        }
        let sources = Sources {
            env,
            ..Sources::default()
        };
        let loaded = sources.load().expect("the test configuration loads");
        let location = loaded
            .config
            .database_location()
            .expect("a database location");
        let db = Db::connect(&location, Duration::from_secs(5), 4)
            .await
            .expect("the database opens");
        let (reloader, config) = Reloader::new(sources, loaded.config);
        let ctx = Arc::new(Context::with_clock(db.clone(), config, clock));
        let (ingest, writer) = Ingest::start(db, ctx.jobs_added.clone())
            .await
            .expect("the writer starts");
        let setup = crate::server::setup_token::Setup::new(&root.join("data"));
        let state = AppState {
            ctx: ctx.clone(),
            ingest,
            metrics: crate::monitoring::install(),
            reloader: Some(reloader),
            setup: setup.clone(),
        };
        Self {
            github,
            ctx,
            dir,
            setup,
            router: server::router(state),
            registry: Arc::new(crate::app::job_registry()),
            _writer: writer,
        }
    }

    /// Sends a request through the router, from a client on this machine (a loopback peer)
    /// unless the request names its peer (`ConnectInfo`) itself.
    pub async fn request(&self, mut request: Request<Body>) -> Answer {
        use axum::extract::ConnectInfo;
        use std::net::SocketAddr;
        if request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_none()
        {
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
        }
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|c| c.to_str().ok())
            .map(str::to_owned)
            .collect();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        Answer {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            location,
            cookies,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Answer {
        self.request(Request::get(path).body(Body::empty()).expect("a request"))
            .await
    }

    /// `GET path` with these `name=value` cookies.
    pub async fn get_with_cookies(&self, path: &str, cookies: &[&str]) -> Answer {
        self.request(
            Request::get(path)
                .header("cookie", cookies.join("; "))
                .body(Body::empty())
                .expect("a request"),
        )
        .await
    }

    /// Sends a delivery as GitHub does, signed with the configured webhook secret, with a
    /// fresh id; returns the id and the answer.
    pub async fn deliver(&self, event: &str, body: &[u8]) -> (String, Answer) {
        let guid = uuid::Uuid::new_v4().to_string();
        let answer = self.deliver_as(&guid, event, body).await;
        (guid, answer)
    }

    /// Sends a delivery with a given id (a redelivery keeps its id).
    pub async fn deliver_as(&self, guid: &str, event: &str, body: &[u8]) -> Answer {
        let secret = self
            .ctx
            .config()
            .secrets
            .webhook
            .as_ref()
            .map(|s| secrecy::ExposeSecret::expose_secret(s.value()).to_owned())
            .unwrap_or_else(|| fake_github::test_app().webhook_secret);
        let signature = signature::sign(&SecretString::from(secret), body);
        let request = Request::post("/webhook")
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", guid)
            .header("x-hub-signature-256", signature)
            .body(Body::from(body.to_vec()))
            .expect("a request");
        self.request(request).await
    }

    /// Makes `provider` the model every feature calls, budgeted as configured; returns it so
    /// a test can look at the requests it got.
    pub fn script_llm(
        &self,
        provider: crate::llm::scripted::ScriptedProvider,
    ) -> Arc<crate::llm::scripted::ScriptedProvider> {
        let provider = Arc::new(provider);
        let config = self.ctx.config();
        let budget =
            crate::budget::Budget::new(self.ctx.db.clone(), config.clone(), self.ctx.clock.clone());
        self.ctx.use_llm(crate::llm::client::Llm::new(
            provider.clone(),
            budget,
            config,
        ));
        provider
    }

    /// Drains the queue in a task of its own, as a second worker would, while the test goes
    /// on.
    pub fn drain_in_background(&self) -> tokio::task::JoinHandle<usize> {
        tokio::spawn(worker::drain(self.ctx.clone(), self.registry.clone()))
    }

    /// Runs every due job until the queue is idle; returns how many ran.
    pub async fn drain(&self) -> usize {
        worker::drain(self.ctx.clone(), self.registry.clone()).await
    }
}

/// A story may not end with a comment by the bot that no assertion looked at
/// ([`FakeGithub::comments`] marks them as seen).
impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let unseen = self.github.unseen_bot_comments();
        assert!(
            unseen.is_empty(),
            "the bot wrote comments no test looked at: {unseen:#?}"
        );
    }
}

/// A payload from `../shared/data/github/`, or `None` (with a message) when it is absent.
pub fn shared_payload(relative: &str) -> Option<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/github")
        .join(relative);
    match std::fs::read(&path) {
        Ok(body) => Some(body),
        Err(_) => {
            eprintln!("skipped: {} is absent", path.display());
            None
        }
    }
}
