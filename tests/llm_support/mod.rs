//! Helpers of the LLM and budget tests: a loopback HTTP server that replays recorded responses
//! (chunk by chunk, as a real server streams them) and records every request it gets; the
//! recorded data in `../shared/data/llm/` (skipped with a message when absent) and our own
//! fixtures in `tests/fixtures/llm/`; configurations and databases in temporary directories.

#![allow(dead_code, reason = "each test file uses its part of the helpers")]

use globallm::budget::Budget;
use globallm::config::{Config, Endpoint, ProviderKind, Secret};
use globallm::db::Db;
use globallm::llm::HttpOptions;
use globallm::llm::clock::ManualClock;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `../shared/data/llm`, when it is there.
pub fn shared_llm_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/llm");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} is absent (the recorded LLM responses live in ../shared)",
            dir.display()
        );
        None
    }
}

/// A file of `tests/fixtures/llm/`.
pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/llm")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A response the server plays.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sent in pieces of this many bytes, each flushed (a stream arriving over time).
    pub chunk: usize,
    /// After the body, keep the connection open without ending the response.
    pub stall: bool,
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).expect("serializes"),
            chunk: usize::MAX,
            stall: false,
        }
    }

    pub fn sse(body: &str) -> Self {
        Self {
            status: 200,
            headers: vec![(
                "content-type".into(),
                "text/event-stream; charset=utf-8".into(),
            )],
            body: body.as_bytes().to_vec(),
            chunk: 37,
            stall: false,
        }
    }

    /// A recorded exchange's response (`{status_code, headers, body}`), its body JSON or SSE
    /// text; content-length and encoding headers are dropped (the server sets its own).
    pub fn recorded(response: &Value) -> Self {
        let status = response["status_code"].as_u64().expect("status") as u16;
        let headers = response["headers"]
            .as_object()
            .expect("headers")
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "content-length" | "transfer-encoding" | "connection" | "content-encoding"
                )
            })
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        let body = match &response["body"] {
            Value::String(text) => text.as_bytes().to_vec(),
            other => serde_json::to_vec(other).expect("serializes"),
        };
        Self {
            status,
            headers,
            body,
            chunk: 53,
            stall: false,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn stalling(mut self) -> Self {
        self.stall = true;
        self
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

/// The replay server.
pub struct ReplayServer {
    pub url: String,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReplayServer {
    /// Serves `replies` in order, one per request; a request beyond them gets a 599.
    pub async fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("loopback port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (r, q) = (replies.clone(), received.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (r, q) = (r.clone(), q.clone());
                tokio::spawn(async move { serve_connection(stream, r, q).await });
            }
        });
        Self {
            url,
            replies,
            received,
            task,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    pub fn unplayed(&self) -> usize {
        self.replies.lock().expect("lock").len()
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    received: Arc<Mutex<Vec<Received>>>,
) {
    loop {
        let Some(request) = read_request(&mut stream).await else {
            return;
        };
        received.lock().expect("lock").push(request);
        let reply = replies.lock().expect("lock").pop_front().unwrap_or(Reply {
            status: 599,
            headers: vec![],
            body: b"no more replies scripted".to_vec(),
            chunk: usize::MAX,
            stall: false,
        });
        let mut head = format!(
            "HTTP/1.1 {} Replay\r\ntransfer-encoding: chunked\r\n",
            reply.status
        );
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for piece in reply.body.chunks(reply.chunk.max(1)) {
            let frame = [format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat();
            if stream.write_all(&frame).await.is_err() || stream.flush().await.is_err() {
                return;
            }
        }
        if reply.stall {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
        if stream.write_all(b"0\r\n\r\n").await.is_err() {
            return;
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        method,
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}

/// Adapter options for tests: short timeouts.
pub fn options(stream: bool) -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(2),
        stream,
        max_response_bytes: 1024 * 1024,
        structured_output: true,
    }
}

pub fn endpoint(provider: ProviderKind, model: &str, base_url: &str) -> Endpoint {
    Endpoint {
        provider,
        model: model.to_owned(),
        base_url: base_url.to_owned(),
        api_key_env: provider.default_api_key_env().map(str::to_owned),
    }
}

pub fn key(value: &str) -> Option<Secret> {
    Some(Secret::new(value, "test"))
}

/// A database in a temporary directory (or on the PostgreSQL test server).
pub async fn temp_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("temp dir");
    let location = globallm::db::scratch::location(dir.path(), "globallm").await;
    let db = Db::connect(&location, Duration::from_secs(5), 8)
        .await
        .expect("database opens");
    (dir, db)
}

/// 2026-11-25 10:00:00 UTC, a Wednesday (windows start Monday 00:00 by default).
pub const WEDNESDAY: i64 = 1_795_600_800_000;

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(WEDNESDAY))
}

pub fn budget(db: &Db, config: &Arc<Config>, clock: &Arc<ManualClock>) -> Budget {
    Budget::new(db.clone(), config.clone(), clock.clone())
}
