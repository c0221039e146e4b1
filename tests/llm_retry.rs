//! Retries and fallback, on a manual clock (nothing sleeps): jittered exponential backoff
//! bounded in count and total time, the provider's requested wait honoured, non-retryable
//! errors returned at once, the fallback used on overload and on exhausted retries — and a
//! retried call reserved and settled once in the budget.

mod llm_support;

use globallm::config::{Config, ProviderKind};
use globallm::llm::anthropic::Anthropic;
use globallm::llm::client::{Llm, Scope};
use globallm::llm::clock::{Clock, ManualClock};
use globallm::llm::retry::{Resilient, RetryPolicy};
use globallm::llm::scripted::ScriptedProvider;
use globallm::llm::{LlmError, LlmRequest, Message, Provider};
use llm_support::{ReplayServer, Reply, endpoint, key, options, read_json, shared_llm_dir};
use std::sync::Arc;
use std::time::Duration;

fn policy(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(30),
        max_total: Duration::from_secs(120),
        jitter_seed: Some(7),
    }
}

fn request() -> LlmRequest {
    LlmRequest {
        system: String::new(),
        messages: vec![Message::user("Categorize this issue.")],
        max_output_tokens: 200,
        temperature: Some(0.0),
        json_schema: None,
    }
}

fn server_error() -> LlmError {
    LlmError::Server {
        provider: "primary".into(),
        status: 500,
        message: "Internal server error".into(),
        request_id: None,
    }
}

fn overloaded() -> LlmError {
    LlmError::Overloaded {
        provider: "primary".into(),
        message: "Overloaded".into(),
        request_id: None,
    }
}

fn resilient(
    primary: &Arc<ScriptedProvider>,
    fallback: Option<&Arc<ScriptedProvider>>,
    policy: RetryPolicy,
    clock: &Arc<ManualClock>,
) -> Resilient {
    Resilient::new(
        primary.clone(),
        fallback.map(|f| f.clone() as Arc<dyn Provider>),
        policy,
        clock.clone(),
    )
}

#[tokio::test]
async fn transient_errors_are_retried_with_growing_jittered_delays() {
    let clock = Arc::new(ManualClock::new(0));
    let primary = Arc::new(
        ScriptedProvider::new("primary", "m")
            .fail(server_error())
            .fail(LlmError::Timeout {
                provider: "primary".into(),
                after: Duration::from_secs(60),
                phase: "for the next chunk",
            })
            .fail(LlmError::Transport {
                provider: "primary".into(),
                message: "connection reset".into(),
            })
            .answer("ok"),
    );
    let answer = resilient(&primary, None, policy(5), &clock)
        .complete(&request())
        .await
        .expect("succeeds on the fourth attempt");
    assert_eq!(answer.text, "ok");
    assert_eq!(primary.requests().len(), 4);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 3);
    for (i, sleep) in sleeps.iter().enumerate() {
        let base = Duration::from_secs(1 << i);
        assert!(
            *sleep >= base && *sleep < base * 2,
            "retry {i}: {sleep:?} not in [{base:?}, {:?})",
            base * 2
        );
    }
}

#[tokio::test]
async fn retries_stop_at_the_count_bound() {
    let clock = Arc::new(ManualClock::new(0));
    let mut script = ScriptedProvider::new("primary", "m");
    for _ in 0..10 {
        script = script.fail(server_error());
    }
    let primary = Arc::new(script);
    let err = resilient(&primary, None, policy(2), &clock)
        .complete(&request())
        .await
        .expect_err("exhausted");
    assert!(matches!(err, LlmError::Server { .. }));
    assert_eq!(primary.requests().len(), 3, "one attempt and two retries");
    assert_eq!(clock.sleeps().len(), 2);
}

#[tokio::test]
async fn retries_stop_at_the_total_time_bound() {
    let clock = Arc::new(ManualClock::new(0));
    let mut script = ScriptedProvider::new("primary", "m");
    for _ in 0..20 {
        script = script.fail(server_error());
    }
    let primary = Arc::new(script);
    let bounded = RetryPolicy {
        max_total: Duration::from_secs(20),
        ..policy(20)
    };
    resilient(&primary, None, bounded, &clock)
        .complete(&request())
        .await
        .expect_err("out of time");
    let slept: Duration = clock.sleeps().iter().sum();
    assert!(slept <= Duration::from_secs(20), "{slept:?}");
    assert!(
        primary.requests().len() < 10,
        "stopped by time, not count: {}",
        primary.requests().len()
    );
    assert!(clock.now_ms() <= 20_000);
}

#[tokio::test]
async fn the_providers_retry_after_is_honoured_and_a_long_one_ends_the_retries() {
    let clock = Arc::new(ManualClock::new(0));
    let limited = |after: u64| LlmError::RateLimited {
        provider: "primary".into(),
        retry_after: Some(Duration::from_secs(after)),
        reset_at_ms: None,
        message: "slow down".into(),
        request_id: None,
    };
    let primary = Arc::new(
        ScriptedProvider::new("primary", "m")
            .fail(limited(9))
            .answer("ok"),
    );
    resilient(&primary, None, policy(3), &clock)
        .complete(&request())
        .await
        .expect("ok");
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(9)],
        "waits what it was told, not 1–2 s"
    );

    let clock = Arc::new(ManualClock::new(0));
    let primary = Arc::new(
        ScriptedProvider::new("primary", "m")
            .fail(limited(3600))
            .answer("never"),
    );
    let err = resilient(&primary, None, policy(3), &clock)
        .complete(&request())
        .await
        .expect_err("too long");
    assert!(matches!(err, LlmError::RateLimited { .. }));
    assert!(clock.sleeps().is_empty());
    assert_eq!(primary.remaining(), 1);
}

#[tokio::test]
async fn errors_that_cannot_succeed_are_not_retried_nor_sent_to_the_fallback() {
    for error in [
        LlmError::Authentication {
            provider: "primary".into(),
            env_var: Some("ANTHROPIC_API_KEY".into()),
            message: "invalid x-api-key".into(),
        },
        LlmError::ContextTooLong {
            provider: "primary".into(),
            tokens: Some(208_310),
            limit: Some(200_000),
            message: "prompt is too long".into(),
        },
        LlmError::BadRequest {
            provider: "primary".into(),
            status: 400,
            message: "bad".into(),
            request_id: None,
        },
    ] {
        let clock = Arc::new(ManualClock::new(0));
        let primary = Arc::new(
            ScriptedProvider::new("primary", "m")
                .fail(error)
                .answer("unused"),
        );
        let fallback = Arc::new(ScriptedProvider::new("fallback", "f").answer("unused"));
        let err = resilient(&primary, Some(&fallback), policy(3), &clock)
            .complete(&request())
            .await
            .expect_err("not retried");
        assert!(!err.is_retryable());
        assert_eq!(primary.requests().len(), 1);
        assert!(fallback.requests().is_empty(), "{err}");
        assert!(clock.sleeps().is_empty());
    }
}

#[tokio::test]
async fn an_overloaded_primary_hands_over_to_the_fallback_at_once() {
    let clock = Arc::new(ManualClock::new(0));
    let primary = Arc::new(
        ScriptedProvider::new("primary", "claude-sonnet-4-5")
            .fail(overloaded())
            .answer("unused"),
    );
    let fallback =
        Arc::new(ScriptedProvider::new("fallback", "gpt-4o").answer("from the fallback"));
    let answer = resilient(&primary, Some(&fallback), policy(3), &clock)
        .complete(&request())
        .await
        .expect("fallback answers");
    assert_eq!(
        (
            answer.text.as_str(),
            answer.provider.as_str(),
            answer.model.as_str()
        ),
        ("from the fallback", "fallback", "gpt-4o")
    );
    assert_eq!(
        primary.requests().len(),
        1,
        "an overloaded provider is not hammered"
    );
    assert_eq!(fallback.requests(), vec![request()], "the same request");
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn exhausted_retries_hand_over_to_the_fallback_and_without_one_the_error_returns() {
    let clock = Arc::new(ManualClock::new(0));
    let primary = Arc::new(
        ScriptedProvider::new("primary", "m")
            .fail(server_error())
            .fail(server_error())
            .fail(server_error()),
    );
    let fallback = Arc::new(ScriptedProvider::new("fallback", "f").answer("saved"));
    let answer = resilient(&primary, Some(&fallback), policy(2), &clock)
        .complete(&request())
        .await
        .expect("fallback");
    assert_eq!(answer.text, "saved");
    assert_eq!(primary.requests().len(), 3);

    let clock = Arc::new(ManualClock::new(0));
    let primary = Arc::new(
        ScriptedProvider::new("primary", "m")
            .fail(overloaded())
            .fail(overloaded()),
    );
    let err = resilient(&primary, None, policy(1), &clock)
        .complete(&request())
        .await
        .expect_err("no fallback");
    assert!(matches!(err, LlmError::Overloaded { .. }));
    assert_eq!(
        primary.requests().len(),
        2,
        "without a fallback, overload is retried"
    );
}

#[tokio::test]
async fn the_recorded_429s_are_retried_until_the_recorded_stream_answers() {
    let Some(dir) = shared_llm_dir() else { return };
    let exchanges = read_json(
        &dir.join("anthropic/http-recorded/_parse__test_messages__TestAsyncStream__a8b7dbb8-2321-4624-abdb-7ba2136b5c38.json"),
    );
    let replies = exchanges
        .as_array()
        .expect("exchanges")
        .iter()
        .map(|e| Reply::recorded(&e["response"]))
        .collect();
    let server = ReplayServer::start(replies).await;
    let clock = Arc::new(ManualClock::new(0));
    let adapter = Anthropic::new(
        &endpoint(ProviderKind::Anthropic, "claude-sonnet-4-5", &server.url),
        key("k"),
        options(true),
    )
    .expect("adapter");
    let resilient = Resilient::new(Arc::new(adapter), None, policy(4), clock.clone());
    let answer = resilient
        .complete(&request())
        .await
        .expect("third attempt answers");
    assert_eq!(answer.text, "[12345,67890]");
    assert_eq!(server.received().len(), 3);
    assert_eq!(clock.sleeps().len(), 2);
    assert_eq!(server.unplayed(), 0);
}

#[tokio::test]
async fn a_retried_call_is_reserved_once_and_settled_with_the_answers_usage() {
    let (_dir, db) = llm_support::temp_db().await;
    let config = Arc::new(Config::default());
    let clock = llm_support::clock();
    let primary = Arc::new(
        ScriptedProvider::new("primary", "claude-sonnet-4-5")
            .fail(server_error())
            .fail(server_error())
            .answer_with_usage("done", 1_200, 300),
    );
    let provider = Arc::new(Resilient::new(
        primary.clone(),
        None,
        policy(3),
        clock.clone(),
    ));
    let llm = Llm::new(provider, llm_support::budget(&db, &config, &clock), config);
    let scope = Scope {
        repo: "acme/widgets",
        language: globallm::config::Language::Rust,
    };
    llm.complete(scope, "categorize_issue", request())
        .await
        .expect("answer");
    assert_eq!(primary.requests().len(), 3);
    let rows: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT event, input_tokens, output_tokens FROM budget_ledger ORDER BY id")
            .fetch_all(db.pool())
            .await
            .expect("ledger");
    assert_eq!(
        rows,
        vec![("reserve".into(), 0, 0), ("settle".into(), 1_200, 300)]
    );
    let report = llm.budget().report().await.expect("report");
    assert_eq!(
        report.total.input_tokens + report.total.output_tokens,
        1_500
    );
    assert_eq!(report.total.tokens_held, 0);
}
