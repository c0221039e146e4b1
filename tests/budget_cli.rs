//! `globallm budget --show [--json]`: the report's text (a snapshot, on a manual clock) and
//! the real binary reading a ledger written through the budget manager.

mod common;
mod llm_support;

use common::Setup;
use globallm::budget::{Budget, ReserveRequest, Settlement};
use globallm::config::{Config, Language};
use globallm::llm::Usage;
use globallm::llm::clock::SystemClock;
use std::process::Command;
use std::sync::Arc;

/// A week of work: two repositories, three languages' worth of calls, a fix attempt under way,
/// a failed call, an unpriced local model and a denial.
async fn spend(budget: &Budget) {
    let calls = [
        (
            "acme/widgets",
            Language::Rust,
            "claude-sonnet-4-5-20250929",
            41_200,
            3_900,
            false,
        ),
        (
            "acme/widgets",
            Language::Rust,
            "claude-sonnet-4-5-20250929",
            12_000,
            800,
            false,
        ),
        (
            "pallets/flask",
            Language::Python,
            "gpt-4o-2024-08-06",
            8_500,
            1_200,
            false,
        ),
        (
            "golang/tools",
            Language::Go,
            "qwen2.5-coder:7b",
            2_000,
            400,
            true,
        ),
    ];
    for (repo, language, model, input, output, estimated) in calls {
        let r = budget
            .reserve(repo, language, ReserveRequest::tokens(input + 4_096))
            .await
            .expect("granted");
        let settlement = Settlement {
            usage: Usage {
                input_tokens: input,
                output_tokens: output,
                estimated,
            },
            model: Some(model),
            provider: Some("test"),
            ..Settlement::default()
        };
        budget.settle(r.id, &settlement).await.expect("settled");
    }
    let attempt = budget
        .reserve(
            "acme/widgets",
            Language::Rust,
            ReserveRequest::fix_attempt(900),
        )
        .await
        .expect("granted");
    budget.renew(attempt.id).await.expect("renewed");
    budget
        .reserve(
            "acme/widgets",
            Language::Rust,
            ReserveRequest::tokens(9_000),
        )
        .await
        .expect("held");
    let failed = budget
        .reserve(
            "pallets/flask",
            Language::Python,
            ReserveRequest::tokens(5_000),
        )
        .await
        .expect("granted");
    budget
        .release(failed.id, "overloaded")
        .await
        .expect("released");
    budget
        .reserve(
            "acme/widgets",
            Language::Rust,
            ReserveRequest::tokens(60_000),
        )
        .await
        .expect_err("over tokens_per_repo");
}

#[tokio::test]
async fn the_report_shows_every_cap_the_spend_and_the_cost() {
    let (_dir, db) = llm_support::temp_db().await;
    let config = Arc::new(Config::default());
    let clock = llm_support::clock();
    let budget = llm_support::budget(&db, &config, &clock);
    spend(&budget).await;
    let report = budget.report().await.expect("report");
    insta::assert_snapshot!("budget_show", report.render());
}

#[tokio::test]
async fn an_empty_window_still_lists_every_cap() {
    let (_dir, db) = llm_support::temp_db().await;
    let config = Arc::new(Config::default());
    let clock = llm_support::clock();
    let report = llm_support::budget(&db, &config, &clock)
        .report()
        .await
        .expect("report");
    let caps: Vec<&str> = report.caps.iter().map(|c| c.cap.as_str()).collect();
    for cap in [
        "tokens_total",
        "tokens_per_repo",
        "seconds_per_repo",
        "fix_attempts_per_repo",
        "fix_attempts_per_language",
    ] {
        assert!(caps.contains(&cap), "{cap} missing from {caps:?}");
    }
    insta::assert_snapshot!("budget_show_empty", report.render());
}

#[tokio::test]
async fn the_binary_prints_the_current_window_as_text_and_json() {
    let setup = Setup::new();
    let config = Arc::new(setup.sources().load().expect("config").config);
    let db = setup.db().await;
    spend(&Budget::new(db.clone(), config, Arc::new(SystemClock))).await;
    db.close().await;

    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_globallm"))
            .args(args)
            .env_clear()
            .envs(&setup.env)
            .output()
            .expect("the binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    let json: serde_json::Value =
        serde_json::from_str(&run(&["budget", "--show", "--json"])).expect("JSON");
    assert_eq!(json["total"]["input_tokens"], 63_700);
    assert_eq!(json["total"]["output_tokens"], 6_300);
    assert_eq!(json["total"]["tokens_held"], 9_000);
    assert_eq!(json["total"]["denied"], 1);
    assert_eq!(json["by_repo"][0]["key"], "acme/widgets");
    let cost = json["total"]["cost_usd"].as_f64().expect("cost");
    // (53,200 × $3 + 4,700 × $15) / 1M for Claude, (8,500 × $2.5 + 1,200 × $10) / 1M for gpt-4o.
    assert!((cost - (0.2301 + 0.03325)).abs() < 1e-9, "{cost}");
    let tokens_total = json["caps"]
        .as_array()
        .expect("caps")
        .iter()
        .find(|c| c["cap"] == "tokens_total")
        .expect("cap");
    assert_eq!(tokens_total["used"], 63_700 + 6_300 + 9_000);
    assert_eq!(tokens_total["limit"], 5_000_000);

    let text = run(&["budget", "--show"]);
    assert!(text.starts_with("Budget window "), "{text}");
    assert!(
        text.contains("acme/widgets") && text.contains("Spend by language"),
        "{text}"
    );

    let usage = Command::new(env!("CARGO_BIN_EXE_globallm"))
        .args(["budget"])
        .env_clear()
        .envs(&setup.env)
        .output()
        .expect("runs");
    assert_eq!(usage.status.code(), Some(2), "--show is required");
}
