//! The web dashboard: refused without its token, served with it, and rendered by a real
//! browser (Debian's headless Chromium, installed by `.ci/run`) with the budget line and the
//! repositories table on screen.

mod common;

use common::Setup;
use std::path::Path;
use std::process::Command;

#[tokio::test]
async fn without_its_token_the_dashboard_is_refused_and_with_it_served() {
    let setup = Setup::new().with_env("GLOBALLM_DASHBOARD_TOKEN", "let-me-see");
    let service = setup.start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    let refused = client
        .get(service.url("/dashboard"))
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.expect("text").contains("token"));
    let wrong = client
        .get(service.url("/dashboard"))
        .bearer_auth("nope")
        .send()
        .await
        .expect("answers");
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        client
            .get(service.url("/dashboard.json"))
            .send()
            .await
            .expect("answers")
            .status(),
        401
    );

    let served = client
        .get(service.url("/dashboard"))
        .bearer_auth("let-me-see")
        .send()
        .await
        .expect("answers");
    assert_eq!(served.status(), 200);
    let page = served.text().await.expect("text");
    assert!(
        page.contains("Budget Used: 0 / 5,000,000 tokens (0.0%)"),
        "{page}"
    );
    assert!(page.contains("<table id=\"repositories\">"));

    // The token in the address is traded for a cookie, and leaves the address bar.
    let from_link = client
        .get(service.url("/dashboard?token=let-me-see"))
        .send()
        .await
        .expect("answers");
    assert_eq!(from_link.status(), 303);
    assert_eq!(from_link.headers()["location"], "/dashboard");
    let cookie = from_link.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .split(';')
        .next()
        .expect("a pair")
        .to_owned();
    assert!(cookie.starts_with("globallm_dashboard="));
    let with_cookie = client
        .get(service.url("/dashboard"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("answers");
    assert_eq!(with_cookie.status(), 200);
    let json: serde_json::Value = client
        .get(service.url("/dashboard.json"))
        .bearer_auth("let-me-see")
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(json["budget"]["total"], 5_000_000);
    service.stop().await;
}

#[tokio::test]
async fn without_a_token_only_a_direct_loopback_client_is_served() {
    let setup = Setup::new();
    let service = setup.start().await;
    let client = reqwest::Client::new();
    for path in ["/dashboard", "/dashboard.json", "/metrics"] {
        assert_eq!(
            service.get(path).await.0,
            200,
            "{path}: a browser on this machine, no proxy in between"
        );
        // Behind a local reverse proxy every request comes from loopback: the proxy's headers
        // say it is not local.
        for (name, value) in [
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=203.0.113.7"),
            ("x-real-ip", "203.0.113.7"),
        ] {
            let response = client
                .get(service.url(path))
                .header(name, value)
                .send()
                .await
                .expect("answers");
            assert_eq!(response.status(), 403, "{path} through a proxy ({name})");
            if path != "/metrics" {
                let text = response.text().await.expect("text");
                assert!(text.contains("GLOBALLM_DASHBOARD_TOKEN"), "{text}");
            }
        }
    }
    for path in ["/healthz", "/readyz"] {
        let response = client
            .get(service.url(path))
            .header("x-forwarded-for", "203.0.113.7")
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 200, "{path} stays open");
    }
    service.stop().await;
}

fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_renders_the_budget_line_and_the_table() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Chromium: `.ci/run` installs Debian's chromium"
        );
        eprintln!("skipped: Chromium is not installed (`.ci/run` installs Debian's chromium)");
        return;
    };
    let setup = Setup::new();
    let service = setup.start().await;
    let url = service.url("/dashboard");
    let profile = setup.dir.path().join("chromium-profile");
    let shot = setup.dir.path().join("dashboard.png");
    let run = {
        let (profile, url) = (profile.clone(), url.clone());
        move |extra: &str| {
            let (profile, url, extra) = (profile.clone(), url.clone(), extra.to_owned());
            tokio::task::spawn_blocking(move || run_chromium(browser, &profile, &url, &extra))
        }
    };
    let dom = run("--dump-dom").await.expect("joined");
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(
        dom.contains("Budget Used: 0 / 5,000,000 tokens"),
        "the budget line in the DOM of {url}: {dom}"
    );
    assert!(dom.contains("<table id=\"repositories\">"), "{dom}");
    let shot_run = run(&format!("--screenshot={}", shot.display()))
        .await
        .expect("joined");
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&shot_run.stderr)
    );

    // Look at the pixels: the budget bar is #2563eb, table headers #e5e7eb.
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("screenshot"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    let channels = info.color_type.samples();
    let count = |rgb: [u8; 3]| {
        pixels[..info.buffer_size()]
            .chunks(channels)
            .filter(|p| p[..3] == rgb)
            .count()
    };
    assert!(
        count([0x25, 0x63, 0xeb]) > 20,
        "the budget bar is on screen"
    );
    assert!(
        count([0xe5, 0xe7, 0xeb]) > 500,
        "the table header is on screen"
    );
    service.stop().await;
}

/// Runs headless Chromium once on `url` with one extra flag (`--dump-dom`, `--screenshot=…`).
fn run_chromium(browser: &str, profile: &Path, url: &str, extra: &str) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1000,800",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(extra)
        .arg(url)
        .output()
        .expect("Chromium runs")
}
