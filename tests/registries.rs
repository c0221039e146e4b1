//! The registry adapters over real HTTP (reqwest) against a loopback server that serves
//! recorded responses: our own fixtures (`tests/fixtures/registries/`, always) and the recorded
//! real ones in `../shared/data/registries/` (skipped with a message when absent), including
//! missing packages, rate limits, failing servers and bad answers.
#![expect(
    clippy::unwrap_used,
    reason = "a test: a failed unwrap is a failed test, with its location"
)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use globallm::config::{Language, RegistriesConfig, RegistryEndpoint, Secret};
use globallm::discovery::registries::http::Http;
use globallm::discovery::registries::{
    Registries, RegistryError, crates_io::CratesIo, deps_dev::DepsDev, ecosystems::Ecosystems,
    go::GoPkg, libraries_io::LibrariesIo, maven::Maven, npm::Npm, pypi::Pypi,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One canned answer: for a path (and a piece of the query, when given).
#[derive(Clone)]
struct Route {
    path: String,
    query_contains: Option<String>,
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Served this many times, then the next matching route answers.
    times: Option<usize>,
}

fn route(path: &str, body: impl Into<Vec<u8>>) -> Route {
    Route {
        path: path.to_owned(),
        query_contains: None,
        status: 200,
        headers: Vec::new(),
        body: body.into(),
        times: None,
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/registries")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Clone, Debug)]
struct Seen {
    path: String,
    query: String,
    user_agent: String,
}

struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(routes: Vec<Route>) -> Server {
    let routes = Arc::new(Mutex::new(routes));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (r, s) = (routes.clone(), seen.clone());
    let app = axum::Router::new().fallback(move |req: Request<Body>| {
        let (routes, seen) = (r.clone(), s.clone());
        async move {
            let path = req.uri().path().to_owned();
            let query = req.uri().query().unwrap_or_default().to_owned();
            let headers: &HeaderMap = req.headers();
            let user_agent = headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            seen.lock().unwrap().push(Seen {
                path: path.clone(),
                query: query.clone(),
                user_agent,
            });
            let decoded: String = url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| format!("{k}={v}&"))
                .collect();
            let mut routes = routes.lock().unwrap();
            let found = routes.iter_mut().find(|r| {
                r.path == path
                    && r.times != Some(0)
                    && r.query_contains
                        .as_deref()
                        .is_none_or(|q| decoded.contains(q))
            });
            let Some(found) = found else {
                return Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(Body::from("{\"errors\":[{\"detail\":\"Not Found\"}]}"))
                    .unwrap();
            };
            if let Some(times) = found.times.as_mut() {
                *times -= 1;
            }
            let mut response = Response::builder().status(found.status);
            for (name, value) in &found.headers {
                response = response.header(*name, value);
            }
            response.body(Body::from(found.body.clone())).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server { url, seen, task }
}

/// Every registry pointed at `url`, without pauses, with `retries` retries.
fn config(url: &str, retries: u32) -> RegistriesConfig {
    let at = |interval_ms| RegistryEndpoint {
        url: url.to_owned(),
        interval_ms,
    };
    RegistriesConfig {
        max_retries: retries,
        pypi: at(0),
        npm: at(0),
        npm_downloads: at(0),
        crates_io: at(0),
        go: at(0),
        maven_search: at(0),
        maven_repo: at(0),
        deps_dev: at(0),
        ecosystems: at(0),
        libraries_io: at(0),
        ..RegistriesConfig::default()
    }
}

fn http(url: &str, retries: u32) -> Http {
    Http::new(&config(url, retries)).unwrap()
}

fn endpoint(url: &str, retries: u32) -> globallm::discovery::registries::http::Endpoint {
    http(url, retries).endpoint(
        "test registry",
        &RegistryEndpoint {
            url: url.to_owned(),
            interval_ms: 0,
        },
    )
}

#[tokio::test]
async fn pypi_gives_the_source_repository_and_dependencies_without_extras() {
    let server = serve(vec![route(
        "/pypi/tiny-http/json",
        fixture("pypi-tinyhttp.json"),
    )])
    .await;
    let info = Pypi::new(endpoint(&server.url, 0))
        .package("tiny-http")
        .await
        .unwrap();
    assert_eq!(info.name, "tiny-http");
    assert_eq!(info.version.as_deref(), Some("2.1.0"));
    assert_eq!(info.repository.as_deref(), Some("tiny/tiny-http"));
    assert_eq!(info.dependencies, vec!["urllib3", "charset-normalizer"]);
}

#[tokio::test]
async fn npm_reads_the_latest_version_of_a_scoped_package_and_its_downloads() {
    let server = serve(vec![
        route("/@tiny%2Ffetch", fixture("npm-tiny-fetch.json")),
        route(
            "/downloads/point/last-month/@tiny%2Ffetch",
            fixture("npm-downloads-tiny-fetch.json"),
        ),
    ])
    .await;
    let npm = Npm::new(endpoint(&server.url, 0), endpoint(&server.url, 0));
    let info = npm.package("@tiny/fetch").await.unwrap();
    assert_eq!(info.version.as_deref(), Some("1.2.0"));
    // The latest version's own repository wins over the package's older one.
    assert_eq!(info.repository.as_deref(), Some("tiny/fetch"));
    assert_eq!(info.dependencies, vec!["abort-controller", "node-fetch"]);
    assert_eq!(
        npm.downloads_last_month("@tiny/fetch").await.unwrap(),
        123_456
    );
}

#[tokio::test]
async fn crates_io_counts_reverse_dependencies_with_a_descriptive_user_agent() {
    let server = serve(vec![
        route("/api/v1/crates/tinyser", fixture("crates-tinyser.json")),
        route(
            "/api/v1/crates/tinyser/reverse_dependencies",
            fixture("crates-tinyser-reverse.json"),
        ),
    ])
    .await;
    let crates = CratesIo::new(endpoint(&server.url, 0));
    let info = crates.package("tinyser").await.unwrap();
    assert_eq!(info.repository.as_deref(), Some("tiny-rs/tinyser"));
    assert_eq!(
        info.version.as_deref(),
        Some("1.4.2"),
        "the newest stable version"
    );
    assert_eq!(info.downloads, Some(9_876_543));
    assert_eq!(crates.dependents("tinyser").await.unwrap(), 4_321);
    let seen = server.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .all(|s| s.user_agent.starts_with("globallm/") && s.user_agent.contains("discovery"))
    );
    assert_eq!(seen[1].path, "/api/v1/crates/tinyser/reverse_dependencies");
    assert!(seen[1].query.contains("per_page=1"), "{seen:?}");
}

#[tokio::test]
async fn each_registry_keeps_its_own_pace() {
    let server = serve(vec![route(
        "/api/v1/crates/tinyser",
        fixture("crates-tinyser.json"),
    )])
    .await;
    let http = http(&server.url, 0);
    let slow = CratesIo::new(http.endpoint(
        "crates.io",
        &RegistryEndpoint {
            url: server.url.clone(),
            interval_ms: 300,
        },
    ));
    let started = Instant::now();
    for _ in 0..3 {
        slow.package("tinyser").await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(http.calls(), 3);
}

#[tokio::test]
async fn pkg_go_dev_importers_are_read_from_the_page_and_a_page_without_them_is_an_error() {
    let server = serve(vec![
        route("/github.com/tiny/router", fixture("go-importedby.html")),
        route("/github.com/tiny/empty", fixture("go-empty.html")),
    ])
    .await;
    let go = GoPkg::new(endpoint(&server.url, 0));
    let info = go.package("github.com/tiny/router").await.unwrap();
    assert_eq!(info.dependents, Some(1_234));
    assert_eq!(info.repository.as_deref(), Some("tiny/router"));
    let err = go.package("github.com/tiny/empty").await.unwrap_err();
    assert!(matches!(err, RegistryError::Decode { .. }), "{err:?}");
    let err = go.package("github.com/tiny/missing").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn maven_central_finds_the_latest_pom_and_reads_scm_and_dependencies() {
    let server = serve(vec![
        Route {
            query_contains: Some("a:\"tinycollect\"".to_owned()),
            ..route(
                "/solrsearch/select",
                fixture("maven-search-tinycollect.json"),
            )
        },
        route("/solrsearch/select", fixture("maven-search-none.json")),
        route(
            "/org/tiny/tinycollect/3.1.0/tinycollect-3.1.0.pom",
            fixture("tinycollect-3.1.0.pom"),
        ),
    ])
    .await;
    let maven = Maven::new(endpoint(&server.url, 0), endpoint(&server.url, 0));
    let info = maven.package("org.tiny:tinycollect").await.unwrap();
    assert_eq!(info.version.as_deref(), Some("3.1.0"));
    assert_eq!(info.repository.as_deref(), Some("tiny-java/tinycollect"));
    assert_eq!(info.dependencies, vec!["org.tiny:tinybase"]);
    let err = maven.package("org.tiny:nothing").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn deps_dev_gives_the_default_version_dependents_and_direct_dependencies() {
    let server = serve(vec![
        route(
            "/v3/systems/pypi/packages/tiny-http",
            fixture("depsdev-package.json"),
        ),
        route(
            "/v3alpha/systems/pypi/packages/tiny-http/versions/2.1.0:dependents",
            fixture("depsdev-dependents.json"),
        ),
        route(
            "/v3/systems/pypi/packages/tiny-http/versions/2.1.0:dependencies",
            fixture("depsdev-dependencies.json"),
        ),
    ])
    .await;
    let deps = DepsDev::new(endpoint(&server.url, 0));
    let version = deps
        .default_version(Language::Python, "tiny-http")
        .await
        .unwrap();
    assert_eq!(version, "2.1.0");
    let counts = deps
        .dependents(Language::Python, "tiny-http", &version)
        .await
        .unwrap();
    assert_eq!((counts.direct, counts.total), (8_100, 52_000));
    let direct = deps
        .dependencies(Language::Python, "tiny-http", &version)
        .await
        .unwrap();
    assert_eq!(direct, vec!["urllib3"]);
}

#[tokio::test]
async fn ecosystems_maps_a_repository_to_its_packages_in_covered_ecosystems() {
    let server = serve(vec![
        route(
            "/api/v1/registries/repo1.maven.org/packages/org.tiny%3Atinyjava",
            fixture("ecosystems-package.json"),
        ),
        Route {
            query_contains: Some("repository_url=https://github.com/tiny/tiny-http".to_owned()),
            ..route("/api/v1/packages/lookup", fixture("ecosystems-lookup.json"))
        },
    ])
    .await;
    let eco = Ecosystems::new(endpoint(&server.url, 0));
    let info = eco
        .package(Language::Java, "org.tiny:tinyjava")
        .await
        .unwrap();
    assert_eq!(info.dependents, Some(77));
    assert_eq!(info.repository.as_deref(), Some("tiny-java/tinyjava"));
    let packages = eco.packages_of_repo("tiny/tiny-http").await.unwrap();
    let names: Vec<(Language, &str)> = packages
        .iter()
        .map(|p| (p.language, p.name.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            (Language::Python, "tiny-http"),
            (Language::Javascript, "@tiny/http")
        ],
        "conda is not a covered ecosystem"
    );
}

#[tokio::test]
async fn libraries_io_needs_its_key_and_never_shows_it() {
    let key = "s3cr3t-libraries-key";
    let server = serve(vec![
        route(
            "/api/maven/org.tiny%3Atinyjava",
            fixture("librariesio-project.json"),
        ),
        Route {
            status: 500,
            ..route("/api/pypi/broken", "oops")
        },
        Route {
            status: 401,
            ..route("/api/pypi/refused", "bad key")
        },
    ])
    .await;
    let lib = LibrariesIo::new(endpoint(&server.url, 0), Some(Secret::new(key, "test")));
    let info = lib
        .package(Language::Java, "org.tiny:tinyjava")
        .await
        .unwrap();
    assert_eq!(info.dependents, Some(88));
    assert!(
        server.seen.lock().unwrap()[0]
            .query
            .contains(&format!("api_key={key}"))
    );
    for name in ["broken", "refused"] {
        let err = lib.package(Language::Python, name).await.unwrap_err();
        assert!(!format!("{err} {err:?}").contains(key), "{err:?}");
    }
    // No answer at all: the transport error must not carry the URL with the key either.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let err = LibrariesIo::new(endpoint(&closed, 0), Some(Secret::new(key, "test")))
        .package(Language::Python, "anything")
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Transport { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(key), "{err:?}");
    let err = LibrariesIo::new(endpoint(&server.url, 0), None)
        .package(Language::Java, "org.tiny:tinyjava")
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::NotConfigured { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn errors_are_typed_missing_rate_limited_failing_and_malformed() {
    let server = serve(vec![
        Route {
            status: 429,
            headers: vec![("retry-after", "0".to_owned())],
            ..route("/pypi/limited/json", "slow down")
        },
        Route {
            status: 429,
            headers: vec![("retry-after", "0".to_owned())],
            times: Some(1),
            ..route("/pypi/once/json", "slow down")
        },
        route("/pypi/once/json", fixture("pypi-tinyhttp.json")),
        Route {
            status: 503,
            ..route("/pypi/down/json", "unavailable")
        },
        route("/pypi/garbled/json", "<!DOCTYPE html><html>JFrog</html>"),
    ])
    .await;
    let strict = Pypi::new(endpoint(&server.url, 0));
    let err = strict.package("missing").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = strict.package("limited").await.unwrap_err();
    assert!(
        matches!(err, RegistryError::RateLimited { retry_after: Some(d), .. } if d.is_zero()),
        "{err:?}"
    );
    let err = strict.package("garbled").await.unwrap_err();
    assert!(matches!(err, RegistryError::Decode { .. }), "{err:?}");

    let patient = Pypi::new(endpoint(&server.url, 1));
    let info = patient.package("once").await.unwrap();
    assert_eq!(
        info.version.as_deref(),
        Some("2.1.0"),
        "retried after Retry-After"
    );
    let err = patient.package("down").await.unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::Server {
                status: 503,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_answer_above_the_body_cap_fails_clearly() {
    let mut padded = String::from("{\"info\": {\"name\": \"big\", \"padding\": \"");
    padded.push_str(&"x".repeat(200_000));
    padded.push_str("\"}}");
    let server = serve(vec![
        route("/pypi/big/json", padded),
        route("/pypi/tinyhttp/json", fixture("pypi-tinyhttp.json")),
    ])
    .await;
    let capped = RegistriesConfig {
        max_response_bytes: 64 * 1024,
        ..config(&server.url, 0)
    };
    let pypi = Pypi::new(Http::new(&capped).unwrap().endpoint(
        "pypi",
        &RegistryEndpoint {
            url: server.url.clone(),
            interval_ms: 0,
        },
    ));
    pypi.package("tinyhttp")
        .await
        .expect("an answer under the cap is read");
    let err = pypi.package("big").await.unwrap_err();
    assert!(
        matches!(&err, RegistryError::TooLarge { limit: 65_536, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("discovery.registries.max_response_bytes"),
        "{err}"
    );
}

#[tokio::test]
async fn the_facade_takes_dependents_from_the_first_source_that_knows() {
    let server = serve(vec![
        route("/pypi/tiny-http/json", fixture("pypi-tinyhttp.json")),
        route(
            "/v3alpha/systems/pypi/packages/tiny-http/versions/2.1.0:dependents",
            fixture("depsdev-dependents.json"),
        ),
        route("/api/v1/crates/tinyser", fixture("crates-tinyser.json")),
        route(
            "/api/v1/crates/tinyser/reverse_dependencies",
            fixture("crates-tinyser-reverse.json"),
        ),
        route(
            "/v3/systems/cargo/packages/tinyser/versions/1.4.2:dependencies",
            fixture("depsdev-dependencies.json"),
        ),
    ])
    .await;
    let registries = Registries::new(&config(&server.url, 0), None).unwrap();
    let python = registries
        .package(Language::Python, "tiny-http")
        .await
        .unwrap();
    assert_eq!(python.dependents, Some(8_100));
    assert_eq!(python.dependents_source, Some("deps.dev"));
    let rust = registries.package(Language::Rust, "tinyser").await.unwrap();
    assert_eq!(
        (rust.dependents, rust.dependents_source),
        (Some(4_321), Some("crates.io"))
    );
    assert_eq!(rust.dependencies, vec!["urllib3"], "resolved by deps.dev");
    let err = registries
        .package(Language::Python, "nope")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(registries.calls() >= 6);
}

/// `../shared/data/registries/`, or `None` with a message.
fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/registries");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

#[tokio::test]
async fn recorded_pypi_responses_map_to_their_repositories() {
    let Some(dir) = shared() else { return };
    let dir = dir.join("dependabot-core/pypi");
    let cases = [
        ("pypi_response_luigi.json", Some("spotify/luigi")),
        ("pypi_response_bitbucket.json", None),
        ("pypi_response_no_source.json", None),
        (
            "pypi_response_project_urls_prefer_matching_repo.json",
            Some("example-org/geohelper"),
        ),
        (
            "pypi_response_project_urls_source.json",
            Some("xxxxx/django-split-settings"),
        ),
        ("pypi_response_pendulum.json", None),
    ];
    let routes: Vec<Route> = cases
        .iter()
        .map(|(file, _)| {
            route(
                &format!("/pypi/{file}/json"),
                std::fs::read(dir.join(file)).unwrap(),
            )
        })
        .collect();
    let server = serve(routes).await;
    let pypi = Pypi::new(endpoint(&server.url, 0));
    for (file, repo) in cases {
        let info = pypi
            .package(file)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(info.repository.as_deref(), repo, "{file}");
    }
    // Every recorded PyPI answer decodes.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let server = serve(vec![route("/pypi/x/json", std::fs::read(&path).unwrap())]).await;
        Pypi::new(endpoint(&server.url, 0))
            .package("x")
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[tokio::test]
async fn recorded_npm_packuments_give_repositories_and_a_garbled_one_is_a_decode_error() {
    let Some(dir) = shared() else { return };
    let dir = dir.join("dependabot-core/npm");
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let server = serve(vec![
        route("/chalk", read("chalk.json")),
        route("/react", read("react.json")),
        route("/left-pad", read("left-pad.json")),
        route(
            "/@dependabot-fixtures%2Fnpm-parent-dependency",
            read("@dependabot-fixtures%2Fnpm-parent-dependency.json"),
        ),
        route("/broken", read("200_with_invalid_json.json")),
    ])
    .await;
    let npm = Npm::new(endpoint(&server.url, 0), endpoint(&server.url, 0));
    let chalk = npm.package("chalk").await.unwrap();
    assert_eq!(chalk.repository.as_deref(), Some("chalk/chalk"));
    assert_eq!(chalk.version.as_deref(), Some("2.4.2"));
    assert_eq!(
        chalk.dependencies,
        vec!["ansi-styles", "escape-string-regexp", "supports-color"]
    );
    let react = npm.package("react").await.unwrap();
    assert_eq!(react.repository.as_deref(), Some("facebook/react"));
    // The package-level `repository` is missing; the latest version's own one is used.
    assert_eq!(
        npm.package("left-pad").await.unwrap().repository.as_deref(),
        Some("stevemao/left-pad")
    );
    let scoped = npm
        .package("@dependabot-fixtures/npm-parent-dependency")
        .await
        .unwrap();
    assert_eq!(
        scoped.repository.as_deref(),
        Some("dependabot-fixtures/npm-parent-dependency")
    );
    let err = npm.package("broken").await.unwrap_err();
    assert!(matches!(err, RegistryError::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn recorded_crates_io_answers_give_repositories_and_reverse_dependency_totals() {
    let Some(dir) = shared() else { return };
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let server = serve(vec![
        route("/api/v1/crates/regex", read("dependabot-core/crates_io/regex.json")),
        route("/api/v1/crates/es-entity", read("dependabot-core/crates_io/package_fetcher.json")),
        Route {
            status: 404,
            ..route("/api/v1/crates/nothing", read("dependabot-core/crates_io/not_found.json"))
        },
        route(
            "/api/v1/crates/foo_show",
            read("crates.io-repo/routes__crates__read__show-2.json"),
        ),
        route(
            "/api/v1/crates/c1/reverse_dependencies",
            read("crates.io-repo/routes__crates__reverse_dependencies__reverse_dependencies_includes_published_by_user_when_present-2.json"),
        ),
        route(
            "/api/v1/crates/c0/reverse_dependencies",
            read("crates.io-repo/routes__crates__reverse_dependencies__reverse_dependencies-4.json"),
        ),
    ])
    .await;
    let crates = CratesIo::new(endpoint(&server.url, 0));
    let regex = crates.package("regex").await.unwrap();
    assert_eq!(regex.repository.as_deref(), Some("rust-lang/regex"));
    assert_eq!(regex.downloads, Some(4_263_881));
    let es = crates.package("es-entity").await.unwrap();
    assert_eq!(es.repository.as_deref(), Some("galoymoney/cala"));
    assert_eq!(es.version.as_deref(), Some("0.3.23"));
    assert_eq!(crates.package("foo_show").await.unwrap().name, "foo_show");
    assert!(crates.package("nothing").await.unwrap_err().is_not_found());
    assert_eq!(crates.dependents("c1").await.unwrap(), 2);
    assert_eq!(crates.dependents("c0").await.unwrap(), 0);
}
