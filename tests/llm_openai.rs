//! The OpenAI Chat Completions adapter, for OpenAI and for OpenAI-compatible servers, against
//! the recorded real responses of `../shared/data/llm/openai` and `observed-error-bodies.json`
//! (served over loopback HTTP, streams chunk by chunk) and our own fixtures: the request it
//! sends, the mapping of every answer, stream and error, and usage estimated where a server
//! reports none.

mod llm_support;

use globallm::config::ProviderKind;
use globallm::llm::openai::OpenAi;
use globallm::llm::tokens::TokenEstimator;
use globallm::llm::{JsonSchema, LlmError, LlmRequest, Message, Provider, StopReason};
use llm_support::{
    ReplayServer, Reply, endpoint, fixture, key, options, read_json, shared_llm_dir,
};
use serde_json::{Value, json};
use std::time::Duration;

fn adapter(server: &ReplayServer, kind: ProviderKind, model: &str, stream: bool) -> OpenAi {
    let base = format!("{}/v1", server.url);
    let endpoint = endpoint(kind, model, &base);
    let key = match kind {
        ProviderKind::Openai => key("sk-openai-test-key"),
        _ => None,
    };
    OpenAi::new(
        &endpoint,
        key,
        options(stream),
        TokenEstimator::for_model(kind, model, 1.3),
    )
    .expect("adapter")
}

fn openai(server: &ReplayServer, stream: bool) -> OpenAi {
    adapter(server, ProviderKind::Openai, "gpt-4o", stream)
}

fn hello() -> LlmRequest {
    LlmRequest {
        system: "You are a helpful assistant.".to_owned(),
        messages: vec![Message::user("Hello!")],
        max_output_tokens: 256,
        temperature: Some(0.0),
        json_schema: None,
    }
}

#[tokio::test]
async fn the_recorded_example_exchanges_are_sent_and_read() {
    let Some(dir) = shared_llm_dir() else { return };
    let examples = dir.join("openai/chat-completions");
    // (example, text, stop reason)
    let cases = [
        (
            "default",
            Some("Hello! How can I assist you today?"),
            StopReason::EndTurn,
        ),
        ("functions", Some(""), StopReason::ToolUse),
        ("image_input", None, StopReason::EndTurn),
        (
            "logprobs",
            Some("Hello! How can I assist you today?"),
            StopReason::EndTurn,
        ),
    ];
    for (name, text, stop) in cases {
        let recorded = read_json(&examples.join(format!("{name}.response.json")));
        let server = ReplayServer::start(vec![Reply::json(200, &recorded)]).await;
        let answer = openai(&server, false).complete(&hello()).await.expect(name);
        if let Some(text) = text {
            assert_eq!(answer.text, text, "{name}");
        } else {
            assert!(
                answer
                    .text
                    .starts_with("The image shows a wooden boardwalk"),
                "{name}"
            );
        }
        assert_eq!(answer.stop_reason, stop, "{name}");
        assert_eq!(
            answer.usage.input_tokens,
            recorded["usage"]["prompt_tokens"].as_u64().expect("usage")
        );
        assert_eq!(
            answer.usage.output_tokens,
            recorded["usage"]["completion_tokens"]
                .as_u64()
                .expect("usage")
        );
        assert!(!answer.usage.estimated, "{name}");
        assert_eq!(answer.model, recorded["model"].as_str().expect("model"));
        assert_eq!(answer.request_id.as_deref(), recorded["id"].as_str());
        assert_eq!(answer.provider, "openai");
    }
    // The request, against the recorded `default` request (which names the system prompt's
    // role `developer`; `system` is accepted by OpenAI and by every compatible server).
    let recorded_request = read_json(&examples.join("default.request.json"));
    let server = ReplayServer::start(vec![Reply::json(
        200,
        &read_json(&examples.join("default.response.json")),
    )])
    .await;
    openai(&server, false)
        .complete(&hello())
        .await
        .expect("answer");
    let sent = &server.received()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.headers["authorization"], "Bearer sk-openai-test-key");
    assert_eq!(sent.headers["content-type"], "application/json");
    let mut expected_messages = recorded_request["messages"].clone();
    expected_messages[0]["role"] = json!("system");
    assert_eq!(sent.body["messages"], expected_messages);
    assert_eq!(sent.body["model"], "gpt-4o");
    assert_eq!(sent.body["max_completion_tokens"], 256);
    assert_eq!(sent.body["temperature"], 0.0);
    assert!(sent.body.get("max_tokens").is_none() && sent.body.get("stream").is_none());
}

/// What a recorded stream says, read line by line independently of the adapter:
/// (first choice's text or refusal, finish reason, prompt tokens, completion tokens).
fn expected_stream(sse: &str) -> (String, Option<String>, u64, u64) {
    let (mut text, mut finish, mut usage) = (String::new(), None, (0, 0));
    for data in sse.lines().filter_map(|l| l.strip_prefix("data: ")) {
        if data == "[DONE]" {
            break;
        }
        let chunk: Value = serde_json::from_str(data).expect("recorded chunk");
        for choice in chunk["choices"].as_array().expect("choices") {
            if choice["index"] != 0 {
                continue;
            }
            for field in ["content", "refusal"] {
                if let Some(piece) = choice["delta"][field].as_str() {
                    text.push_str(piece);
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                finish = Some(reason.to_owned());
            }
        }
        if let Some(u) = chunk["usage"].as_object() {
            usage = (
                u["prompt_tokens"].as_u64().expect("p"),
                u["completion_tokens"].as_u64().expect("c"),
            );
        }
    }
    (text, finish, usage.0, usage.1)
}

#[tokio::test]
async fn every_recorded_stream_is_read_with_its_usage() {
    let Some(dir) = shared_llm_dir() else { return };
    let mut files: Vec<_> = std::fs::read_dir(dir.join("openai/sse-recorded"))
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sse"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 12);
    let mut refusals = 0;
    for file in files {
        let sse = std::fs::read_to_string(&file).expect("sse");
        let (text, finish, input, output) = expected_stream(&sse);
        let server = ReplayServer::start(vec![Reply::sse(&sse)]).await;
        let answer = openai(&server, true)
            .complete(&hello())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = file.display();
        assert_eq!(answer.text, text, "{name}");
        assert_eq!(
            (answer.usage.input_tokens, answer.usage.output_tokens),
            (input, output),
            "{name}"
        );
        assert!(!answer.usage.estimated, "{name}");
        let expected_stop = match finish.as_deref() {
            _ if sse.contains("\"refusal\":\"I'm") => {
                refusals += 1;
                StopReason::Refusal
            }
            Some("length") => StopReason::MaxTokens,
            Some("tool_calls") => StopReason::ToolUse,
            _ => StopReason::EndTurn,
        };
        assert_eq!(answer.stop_reason, expected_stop, "{name}");
        assert_eq!(answer.model, "gpt-4o-2024-08-06");
        assert!(
            answer
                .request_id
                .as_deref()
                .is_some_and(|id| id.starts_with("chatcmpl-"))
        );
        let sent = &server.received()[0].body;
        assert_eq!(sent["stream"], true);
        assert_eq!(sent["stream_options"], json!({"include_usage": true}));
    }
    assert!(
        refusals >= 1,
        "the recorded refusal stream is read as a refusal"
    );
}

#[tokio::test]
async fn observed_error_bodies_map_to_typed_errors() {
    let Some(dir) = shared_llm_dir() else { return };
    let observed = read_json(&dir.join("observed-error-bodies.json"));
    let mut checked = 0;
    for case in observed.as_array().expect("cases") {
        if case["provider"] != "openai" || case["body"].is_null() {
            continue;
        }
        let server = ReplayServer::start(vec![Reply::json(400, &case["body"])]).await;
        let err = openai(&server, false)
            .complete(&hello())
            .await
            .expect_err("400");
        let LlmError::ContextTooLong { tokens, limit, .. } = &err else {
            panic!("{}: {err:?}", case["kind"]);
        };
        assert!(matches!(tokens, Some(4294 | 4120)), "{tokens:?}");
        assert_eq!(*limit, Some(4097));
        assert!(!err.is_retryable());
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[tokio::test]
async fn our_recorded_errors_map_to_typed_errors() {
    // tests/fixtures/llm/openai-errors.json: exchanges in the recorded format, each with the
    // error it must become.
    let exchanges: Value = serde_json::from_str(&fixture("openai-errors.json")).expect("fixture");
    for exchange in exchanges.as_array().expect("exchanges") {
        let expect = exchange["expect"].as_str().expect("expect");
        let kind = match exchange["provider"].as_str() {
            Some("openai_compatible") => ProviderKind::OpenaiCompatible,
            _ => ProviderKind::Openai,
        };
        let server = ReplayServer::start(vec![Reply::recorded(&exchange["response"])]).await;
        let err = adapter(&server, kind, "gpt-4o", false)
            .complete(&hello())
            .await
            .expect_err(expect);
        let ok = match (expect, &err) {
            ("rate_limited", LlmError::RateLimited { .. }) => {
                let wait = exchange["wait_secs"].as_f64().expect("wait_secs");
                err.retry_after(0) == Some(Duration::from_secs_f64(wait))
            }
            ("quota_exhausted", LlmError::QuotaExhausted { .. }) => true,
            ("authentication", LlmError::Authentication { .. }) => {
                let text = err.to_string();
                text.contains("OPENAI_API_KEY") && !text.contains("sk-openai-test-key")
            }
            ("overloaded", LlmError::Overloaded { .. }) => true,
            ("server", LlmError::Server { .. }) => true,
            ("bad_request", LlmError::BadRequest { .. }) => true,
            _ => false,
        };
        assert!(ok, "{expect}: got {err:?}");
        let retryable = matches!(expect, "rate_limited" | "overloaded" | "server");
        assert_eq!(err.is_retryable(), retryable, "{expect}");
        if let Some(id) = exchange["response"]["headers"]["x-request-id"].as_str()
            && err.request_id().is_some()
        {
            assert_eq!(err.request_id(), Some(id));
        }
    }
}

#[tokio::test]
async fn a_compatible_server_needs_no_key_and_gets_max_tokens() {
    let server = ReplayServer::start(vec![Reply::json(
        200,
        &serde_json::from_str(&fixture("ollama-response.json")).expect("fixture"),
    )])
    .await;
    let local = adapter(
        &server,
        ProviderKind::OpenaiCompatible,
        "qwen2.5-coder:7b",
        false,
    );
    let answer = local.complete(&hello()).await.expect("answer");
    let sent = &server.received()[0];
    assert!(!sent.headers.contains_key("authorization"));
    assert_eq!(sent.body["max_tokens"], 256);
    assert!(sent.body.get("max_completion_tokens").is_none());
    assert_eq!(sent.body["model"], "qwen2.5-coder:7b");
    assert_eq!(answer.provider, "openai_compatible");
    // Ollama reports prompt_tokens 0 for a cached prompt: estimated and marked.
    assert!(answer.usage.estimated);
    let estimator =
        TokenEstimator::for_model(ProviderKind::OpenaiCompatible, "qwen2.5-coder:7b", 1.3);
    assert_eq!(answer.usage.input_tokens, estimator.count_request(&hello()));
    assert_eq!(answer.usage.output_tokens, 9, "reported, kept");

    let openai_without_key = OpenAi::new(
        &endpoint(ProviderKind::Openai, "gpt-4o", &server.url),
        None,
        options(false),
        estimator,
    )
    .expect_err("OpenAI needs a key");
    assert!(openai_without_key.to_string().contains("OPENAI_API_KEY"));
}

#[tokio::test]
async fn a_stream_without_usage_is_estimated_and_marked() {
    let server =
        ReplayServer::start(vec![Reply::sse(&fixture("llamacpp-stream-no-usage.sse"))]).await;
    let local = adapter(
        &server,
        ProviderKind::OpenaiCompatible,
        "llama-3.1-8b-instruct",
        true,
    );
    let answer = local.complete(&hello()).await.expect("answer");
    assert_eq!(answer.text, "Hello! How can I help?");
    assert_eq!(answer.stop_reason, StopReason::EndTurn);
    assert!(answer.usage.estimated);
    let estimator =
        TokenEstimator::for_model(ProviderKind::OpenaiCompatible, "llama-3.1-8b-instruct", 1.3);
    assert_eq!(answer.usage.input_tokens, estimator.count_request(&hello()));
    assert_eq!(
        answer.usage.output_tokens,
        estimator.count_text("Hello! How can I help?")
    );
}

#[tokio::test]
async fn an_error_inside_a_stream_is_an_error_and_a_cut_stream_is_truncated() {
    let start = "data: {\"id\":\"chatcmpl-x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n";
    let error = "data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\",\"code\":null}}\n\n";
    let server = ReplayServer::start(vec![
        Reply::sse(&format!("{start}{error}")),
        Reply::sse(start),
    ])
    .await;
    let client = openai(&server, true);
    let err = client.complete(&hello()).await.expect_err("error event");
    assert!(
        matches!(err, LlmError::Server { status: 200, .. }) && err.is_retryable(),
        "{err:?}"
    );
    let cut = client.complete(&hello()).await.expect_err("cut");
    assert!(matches!(cut, LlmError::Truncated { .. }), "{cut:?}");
}

#[tokio::test]
async fn the_answer_schema_is_sent_as_a_strict_response_format() {
    let server = ReplayServer::start(vec![Reply::json(
        200,
        &serde_json::from_str(&fixture("ollama-response.json")).expect("fixture"),
    )])
    .await;
    let mut request = hello();
    request.temperature = None;
    request.json_schema = Some(JsonSchema {
        name: "categorize_issue".to_owned(),
        schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
    });
    openai(&server, false)
        .complete(&request)
        .await
        .expect("answer");
    let sent = &server.received()[0].body;
    assert_eq!(
        sent["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "categorize_issue", "schema": {"type": "object", "properties": {}, "additionalProperties": false}, "strict": true}})
    );
    assert!(sent.get("temperature").is_none());
}

#[tokio::test]
async fn an_answer_larger_than_the_cap_fails_with_a_clear_error() {
    let piece = format!(
        "data: {{\"id\":\"chatcmpl-x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}},\"finish_reason\":null}}]}}\n\n",
        "x".repeat(1_000)
    );
    let endless = piece.repeat(100);
    let big_json = json!({"id": "chatcmpl-y", "padding": "y".repeat(100_000)});
    let server = ReplayServer::start(vec![Reply::sse(&endless), Reply::json(200, &big_json)]).await;
    let small = |stream| {
        let mut options = options(stream);
        options.max_response_bytes = 64 * 1024;
        OpenAi::new(
            &endpoint(
                ProviderKind::Openai,
                "gpt-4o",
                &format!("{}/v1", server.url),
            ),
            key("sk-openai-test-key"),
            options,
            TokenEstimator::for_model(ProviderKind::Openai, "gpt-4o", 1.3),
        )
        .expect("adapter")
    };
    let streamed = small(true)
        .complete(&hello())
        .await
        .expect_err("a stream above the cap");
    assert!(
        matches!(streamed, LlmError::TooLarge { limit: 65_536, .. }) && !streamed.is_retryable(),
        "{streamed:?}"
    );
    assert!(
        streamed.to_string().contains("llm.max_response_bytes"),
        "{streamed}"
    );
    let whole = small(false)
        .complete(&hello())
        .await
        .expect_err("a body above the cap");
    assert!(matches!(whole, LlmError::TooLarge { .. }), "{whole:?}");
}
