//! Time from an `issues` delivery to its labels, on the fake GitHub, with the offline
//! classifier (no LLM): each delivery goes through the real router, its job runs, and the
//! clock stops when the labels are on the issue. Also counts the GitHub calls one triage costs.
//!
//! `cargo bench --features testing --bench triage [-- --issues N]`

use globallm::testing::harness::{INSTALLATION, TestApp};
use std::time::Instant;

const REPO: &str = "acme/widgets";

fn main() {
    let issues: usize = std::env::args()
        .skip_while(|a| a != "--issues")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let app = TestApp::start().await;
        app.github.add_repo(REPO, INSTALLATION);
        let bodies = [
            ("Crash when parsing an empty manifest", "Traceback (most recent call last):\n  File \"widgets/manifest.py\", line 88\nIndexError: list index out of range"),
            ("Add a --quiet flag to the build command", "It would be nice to silence the progress output in CI."),
            ("How do I configure the cache size?", "I could not find the option in the docs. Is there one?"),
        ];
        let mut latencies = Vec::with_capacity(issues);
        let mut calls_per_triage = Vec::with_capacity(issues);
        for n in 0..issues {
            let (title, body) = bodies[n % bodies.len()];
            let number = app.github.add_issue(REPO, &format!("{title} ({n})"), body, "someone");
            let delivery = app.github.issue_delivery("opened", REPO, number, "someone");
            let before = app.github.calls().len();
            let started = Instant::now();
            app.deliver("issues", &delivery).await;
            app.drain().await;
            let labelled = app.github.labels(REPO, number).len() == 2;
            latencies.push(started.elapsed());
            assert!(labelled, "issue {number} was not labelled");
            calls_per_triage.push(app.github.calls_since(before));
            let _ = app.github.comments(REPO, number);
        }
        latencies.sort();
        let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
        println!("triage: {issues} issues delivered one at a time, offline classifier, fake GitHub on loopback");
        println!("  delivery → labels  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms", ms(at(0.5)), ms(at(0.99)), ms(at(1.0)));
        let describe = |calls: &[globallm::testing::fake_github::Call]| {
            calls.iter().map(|c| format!("{} {} → {}", c.method, c.path, c.status)).collect::<Vec<_>>().join("\n      ")
        };
        println!("  GitHub calls of the first triage ({}):\n      {}", calls_per_triage[0].len(), describe(&calls_per_triage[0]));
        let steady = &calls_per_triage[calls_per_triage.len() - 1];
        let points = steady.iter().filter(|c| c.status != 304 && !c.path.ends_with("/access_tokens")).count();
        println!("  GitHub calls of a later triage ({}, {points} rate-limit points):\n      {}", steady.len(), describe(steady));
    });
}

fn ms(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
