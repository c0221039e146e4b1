//! The Anthropic adapter against the recorded real exchanges of `../shared/data/llm/anthropic`
//! (served over loopback HTTP, streams chunk by chunk) and our own fixtures in
//! `tests/fixtures/llm/`: the request it sends (headers, model, body), the mapping of every
//! answer, stream and error.

mod llm_support;

use globallm::config::ProviderKind;
use globallm::llm::anthropic::Anthropic;
use globallm::llm::{JsonSchema, LlmError, LlmRequest, Message, Provider, Role, StopReason};
use llm_support::{
    ReplayServer, Reply, endpoint, fixture, key, options, read_json, shared_llm_dir,
};
use serde_json::{Value, json};

fn adapter(server: &ReplayServer, stream: bool) -> Anthropic {
    let endpoint = endpoint(ProviderKind::Anthropic, "claude-sonnet-4-5", &server.url);
    Anthropic::new(&endpoint, key("sk-ant-test-key"), options(stream)).expect("adapter")
}

/// The request a recorded body describes, when it uses only what GlobalLM sends.
fn request_of(body: &Value) -> Option<LlmRequest> {
    let known = [
        "model",
        "max_tokens",
        "messages",
        "system",
        "temperature",
        "stream",
        "output_config",
    ];
    if body
        .as_object()?
        .keys()
        .any(|k| !known.contains(&k.as_str()))
    {
        return None;
    }
    let messages = body["messages"]
        .as_array()?
        .iter()
        .map(|m| {
            let content = m["content"].as_str()?.to_owned();
            Some(match m["role"].as_str()? {
                "user" => Message::user(content),
                _ => Message::assistant(content),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(LlmRequest {
        system: body["system"].as_str().unwrap_or_default().to_owned(),
        messages,
        max_output_tokens: body["max_tokens"].as_u64()? as u32,
        temperature: body["temperature"].as_f64(),
        json_schema: body["output_config"]["format"]["schema"]
            .as_object()
            .map(|schema| JsonSchema {
                name: "recorded".to_owned(),
                schema: Value::Object(schema.clone()),
            }),
    })
}

fn simple_request() -> LlmRequest {
    LlmRequest {
        system: "You are terse.".to_owned(),
        messages: vec![Message::user("Say hello.")],
        max_output_tokens: 64,
        temperature: Some(0.0),
        json_schema: None,
    }
}

/// The text and usage a recorded response carries, read independently of the adapter.
fn expected_answer(body: &Value) -> (String, u64, u64) {
    match body {
        Value::String(sse) => {
            let mut text = String::new();
            let (mut input, mut output) = (0, 0);
            for line in sse.lines().filter_map(|l| l.strip_prefix("data: ")) {
                let event: Value = serde_json::from_str(line.trim()).expect("recorded event");
                if event["type"] == "content_block_delta" && event["delta"]["type"] == "text_delta"
                {
                    text.push_str(event["delta"]["text"].as_str().expect("text"));
                }
                let usage = match event["type"].as_str() {
                    Some("message_start") => &event["message"]["usage"],
                    Some("message_delta") => &event["usage"],
                    _ => &Value::Null,
                };
                input = usage["input_tokens"].as_u64().unwrap_or(input);
                output = usage["output_tokens"].as_u64().unwrap_or(output);
            }
            (text, input, output)
        }
        message => {
            let text = message["content"]
                .as_array()
                .expect("content")
                .iter()
                .filter(|b| b["type"] == "text")
                .map(|b| b["text"].as_str().expect("text"))
                .collect();
            let usage = &message["usage"];
            let input = [
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
            ]
            .iter()
            .map(|k| usage[k].as_u64().unwrap_or(0))
            .sum();
            (
                text,
                input,
                usage["output_tokens"].as_u64().expect("output"),
            )
        }
    }
}

#[tokio::test]
async fn every_recorded_exchange_is_sent_and_read_as_recorded() {
    let Some(dir) = shared_llm_dir() else { return };
    let mut checked_requests = 0;
    let mut checked_answers = 0;
    let mut files: Vec<_> = std::fs::read_dir(dir.join("anthropic/http-recorded"))
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for file in files {
        for exchange in read_json(&file).as_array().expect("exchanges") {
            let recorded_request = &exchange["request"]["body"];
            let response = &exchange["response"];
            let stream = recorded_request["stream"] == true;
            let request = request_of(recorded_request);
            let server = ReplayServer::start(vec![Reply::recorded(response)]).await;
            let result = adapter(&server, stream)
                .complete(request.as_ref().unwrap_or(&simple_request()))
                .await;
            let sent = &server.received()[0];
            assert_eq!(sent.method, "POST");
            assert_eq!(sent.path, "/v1/messages");
            assert_eq!(sent.headers["x-api-key"], "sk-ant-test-key");
            assert_eq!(sent.headers["anthropic-version"], "2023-06-01");
            assert_eq!(sent.headers["content-type"], "application/json");
            if request.is_some() {
                assert_eq!(&sent.body, recorded_request, "{}", file.display());
                checked_requests += 1;
            }
            let status = response["status_code"].as_u64().expect("status");
            let context = format!("{} → {status}", file.display());
            match status {
                200 => {
                    let answer = result.unwrap_or_else(|e| panic!("{context}: {e}"));
                    let (text, input, output) = expected_answer(&response["body"]);
                    assert_eq!(answer.text, text, "{context}");
                    assert_eq!(answer.usage.input_tokens, input, "{context}");
                    assert_eq!(answer.usage.output_tokens, output, "{context}");
                    assert!(!answer.usage.estimated);
                    assert!(answer.model.starts_with("claude-"), "{context}");
                    assert!(
                        answer
                            .request_id
                            .as_deref()
                            .is_some_and(|id| id.starts_with("msg_"))
                    );
                    checked_answers += 1;
                }
                429 => match result {
                    Err(err @ LlmError::RateLimited { .. }) => {
                        assert!(err.is_retryable());
                        assert_eq!(err.request_id(), response["body"]["request_id"].as_str());
                    }
                    other => panic!("{context}: {other:?}"),
                },
                400 => match result {
                    Err(err @ LlmError::BadRequest { status: 400, .. }) => {
                        assert!(!err.is_retryable());
                        assert!(err.to_string().contains("tool_use_id"), "{err}");
                    }
                    other => panic!("{context}: {other:?}"),
                },
                other => panic!("unexpected recorded status {other}"),
            }
        }
    }
    assert_eq!(checked_requests, 12, "every plain-text recorded request");
    assert_eq!(checked_answers, 27, "every recorded 200");
}

#[tokio::test]
async fn a_recorded_structured_stream_becomes_text_stop_reason_and_usage() {
    let Some(dir) = shared_llm_dir() else { return };
    let exchanges = read_json(
        &dir.join("anthropic/http-recorded/_parse__test_messages__TestAsyncStream__a8b7dbb8-2321-4624-abdb-7ba2136b5c38.json"),
    );
    let recorded = &exchanges[2];
    let server = ReplayServer::start(vec![Reply::recorded(&recorded["response"])]).await;
    let request = request_of(&recorded["request"]["body"]).expect("plain request");
    let answer = adapter(&server, true)
        .complete(&request)
        .await
        .expect("answer");
    assert_eq!(answer.text, "[12345,67890]");
    assert_eq!(answer.stop_reason, StopReason::EndTurn);
    assert_eq!(
        (answer.usage.input_tokens, answer.usage.output_tokens),
        (135, 10)
    );
    assert_eq!(answer.model, "claude-sonnet-4-5-20250929");
    assert_eq!(server.received()[0].headers["accept"], "text/event-stream");
}

#[tokio::test]
async fn every_recorded_sse_stream_is_read() {
    let Some(dir) = shared_llm_dir() else { return };
    // (file, text, stop reason, input, output)
    let cases = [
        (
            "basic_response.sse",
            "Hello there!",
            StopReason::EndTurn,
            11,
            6,
        ),
        (
            "compaction_response.sse",
            "Hello there!",
            StopReason::EndTurn,
            30,
            8,
        ),
        (
            "fallback_credit_response.sse",
            "Hello there!",
            StopReason::EndTurn,
            25,
            8,
        ),
        (
            "fallback_response.sse",
            "Hello there!",
            StopReason::EndTurn,
            25,
            8,
        ),
        (
            "incomplete_partial_json_response.sse",
            "I'll create a comprehensive tax guide for someone with multiple W2s and save it in a file called taxes.txt. Let me do that for you now.",
            StopReason::MaxTokens,
            450,
            124,
        ),
        ("refusal_response.sse", "", StopReason::Refusal, 20, 0),
        (
            "tool_use_response.sse",
            "I'll check the current weather in Paris for you.",
            StopReason::ToolUse,
            377,
            65,
        ),
    ];
    for (file, text, stop, input, output) in cases {
        let body =
            std::fs::read_to_string(dir.join("anthropic/sse-recorded").join(file)).expect("sse");
        let server = ReplayServer::start(vec![Reply::sse(&body)]).await;
        let answer = adapter(&server, true)
            .complete(&simple_request())
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(answer.text, text, "{file}");
        assert_eq!(answer.stop_reason, stop, "{file}");
        assert_eq!(
            (answer.usage.input_tokens, answer.usage.output_tokens),
            (input, output),
            "{file}"
        );
        let sent = &server.received()[0].body;
        assert_eq!(sent["stream"], true);
        assert_eq!(sent["model"], "claude-sonnet-4-5");
        assert_eq!(sent["system"], "You are terse.");
        assert_eq!(sent["temperature"], 0.0);
        assert_eq!(
            sent["messages"],
            json!([{"role": "user", "content": "Say hello."}])
        );
        assert_eq!(sent["max_tokens"], 64);
    }
}

#[tokio::test]
async fn observed_error_bodies_map_to_typed_errors() {
    let Some(dir) = shared_llm_dir() else { return };
    let observed = read_json(&dir.join("observed-error-bodies.json"));
    let mut checked = 0;
    for case in observed.as_array().expect("cases") {
        if case["provider"] != "anthropic" || case["file"].is_string() {
            continue;
        }
        let kind = case["kind"].as_str().expect("kind");
        let (reply, stream) = match case["sse"].as_str() {
            // The stream begins normally, then the error event arrives after HTTP 200.
            Some(event) => (
                Reply::sse(&format!("{}{event}", fixture("anthropic-stream-start.sse"))),
                true,
            ),
            None => (
                Reply::json(
                    case["status"].as_u64().expect("status") as u16,
                    &case["body"],
                ),
                false,
            ),
        };
        let server = ReplayServer::start(vec![reply]).await;
        let err = adapter(&server, stream)
            .complete(&simple_request())
            .await
            .expect_err(kind);
        match &err {
            LlmError::Overloaded { message, .. } => {
                assert!(kind.starts_with("overloaded"), "{kind}: {err}");
                assert_eq!(message, "Overloaded");
                assert!(err.is_retryable() && err.wants_fallback_now());
            }
            LlmError::ContextTooLong { tokens, limit, .. } => {
                assert!(kind.starts_with("context too long"), "{kind}");
                assert!(tokens.is_some_and(|t| t > 200_000), "{tokens:?}");
                assert!(matches!(limit, Some(199_999 | 200_000)), "{limit:?}");
                assert!(!err.is_retryable());
            }
            other => panic!("{kind}: unexpected {other:?}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 4);
}

#[tokio::test]
async fn rate_limit_headers_give_the_wait() {
    let body = json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your per-minute rate limit"}});
    let server = ReplayServer::start(vec![
        Reply::json(429, &body).with_header("retry-after", "17"),
        Reply::json(429, &body)
            .with_header("anthropic-ratelimit-requests-remaining", "3")
            .with_header("anthropic-ratelimit-requests-reset", "2026-11-25T10:00:05Z")
            .with_header("anthropic-ratelimit-input-tokens-remaining", "0")
            .with_header(
                "anthropic-ratelimit-input-tokens-reset",
                "2026-11-25T10:00:42Z",
            ),
    ])
    .await;
    let anthropic = adapter(&server, false);
    let first = anthropic
        .complete(&simple_request())
        .await
        .expect_err("429");
    assert_eq!(
        first.retry_after(0),
        Some(std::time::Duration::from_secs(17))
    );
    let second = anthropic
        .complete(&simple_request())
        .await
        .expect_err("429");
    assert_eq!(
        second.retry_after(llm_support::WEDNESDAY),
        Some(std::time::Duration::from_secs(42)),
        "the reset of the exhausted limit, not of the others"
    );
}

#[tokio::test]
async fn authentication_errors_name_the_variable_to_set_and_are_not_retried() {
    let server = ReplayServer::start(vec![Reply::json(
        401,
        &json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
    )])
    .await;
    let err = adapter(&server, false)
        .complete(&simple_request())
        .await
        .expect_err("401");
    assert!(matches!(err, LlmError::Authentication { .. }));
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("ANTHROPIC_API_KEY") && text.contains("invalid x-api-key"),
        "{text}"
    );
    assert!(!text.contains("sk-ant-test-key"), "the key is never shown");

    let endpoint = endpoint(ProviderKind::Anthropic, "claude-sonnet-4-5", &server.url);
    let missing = Anthropic::new(&endpoint, None, options(false)).expect_err("no key");
    assert!(
        missing
            .to_string()
            .contains("set the environment variable ANTHROPIC_API_KEY")
    );
}

#[tokio::test]
async fn server_errors_and_cut_streams_are_retryable_errors_not_answers() {
    let server = ReplayServer::start(vec![
        Reply::json(500, &json!({"type": "error", "error": {"type": "api_error", "message": "Internal server error"}})),
        Reply::json(529, &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
        Reply::sse(&fixture("anthropic-stream-start.sse")),
        Reply::json(404, &json!({"type": "error", "error": {"type": "not_found_error", "message": "model: claude-nope"}})),
    ])
    .await;
    let anthropic = adapter(&server, true);
    let server_error = anthropic
        .complete(&simple_request())
        .await
        .expect_err("500");
    assert!(
        matches!(server_error, LlmError::Server { status: 500, .. }) && server_error.is_retryable()
    );
    let overloaded = anthropic
        .complete(&simple_request())
        .await
        .expect_err("529");
    assert!(matches!(overloaded, LlmError::Overloaded { .. }));
    let cut = anthropic
        .complete(&simple_request())
        .await
        .expect_err("no message_stop");
    assert!(
        matches!(cut, LlmError::Truncated { .. }) && cut.is_retryable(),
        "{cut:?}"
    );
    let unknown_model = anthropic
        .complete(&simple_request())
        .await
        .expect_err("404");
    assert!(
        matches!(unknown_model, LlmError::BadRequest { status: 404, .. })
            && !unknown_model.is_retryable()
    );
}

#[tokio::test]
async fn a_stream_that_goes_silent_times_out() {
    let server = ReplayServer::start(vec![
        Reply::sse(&fixture("anthropic-stream-start.sse")).stalling(),
    ])
    .await;
    let endpoint = endpoint(ProviderKind::Anthropic, "claude-sonnet-4-5", &server.url);
    let mut quick = options(true);
    quick.idle_timeout = std::time::Duration::from_millis(300);
    let anthropic = Anthropic::new(&endpoint, key("k"), quick).expect("adapter");
    let err = anthropic
        .complete(&simple_request())
        .await
        .expect_err("silent");
    assert!(
        matches!(
            err,
            LlmError::Timeout {
                phase: "for the next chunk",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn roles_and_the_schema_are_sent_as_anthropic_expects() {
    let server = ReplayServer::start(vec![Reply::sse(&fixture("anthropic-json-answer.sse"))]).await;
    let request = LlmRequest {
        system: "Answer in JSON.".to_owned(),
        messages: vec![
            Message::user("Classify."),
            Message::assistant("not json"),
            Message::user("Again, as JSON."),
        ],
        max_output_tokens: 100,
        temperature: None,
        json_schema: Some(JsonSchema {
            name: "t".to_owned(),
            schema: json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"], "additionalProperties": false}),
        }),
    };
    let answer = adapter(&server, true)
        .complete(&request)
        .await
        .expect("answer");
    assert_eq!(answer.text, "{\"ok\": true}");
    let sent = &server.received()[0].body;
    assert_eq!(
        sent["messages"][1],
        json!({"role": "assistant", "content": "not json"})
    );
    assert_eq!(sent["output_config"]["format"]["type"], "json_schema");
    assert_eq!(
        sent["output_config"]["format"]["schema"]["required"],
        json!(["ok"])
    );
    assert!(
        sent.get("temperature").is_none(),
        "no temperature → provider default"
    );
    assert_eq!(request.messages[1].role, Role::Assistant);
}
