//! Token estimation: exact counts on sample texts, and the estimate against the usage the
//! providers reported in the recorded responses — printed as a table with the error in
//! percent (`cargo test --test llm_tokens -- --nocapture`) and bounded by assertions.

mod llm_support;

use globallm::config::{LlmConfig, ProviderKind};
use globallm::llm::tokens::TokenEstimator;
use globallm::llm::{JsonSchema, LlmRequest, Message};
use llm_support::{read_json, shared_llm_dir};
use serde_json::Value;

#[test]
fn sample_texts_have_their_exact_token_counts() {
    let o200k = TokenEstimator::for_model(ProviderKind::Openai, "gpt-4o", 1.0);
    let cl100k = TokenEstimator::for_model(ProviderKind::Openai, "gpt-3.5-turbo", 1.0);
    // Counts of OpenAI's tiktoken for the same strings (its README and cookbook examples).
    for (text, o200k_count, cl100k_count) in [
        ("Hello world", 2, 2),
        ("tiktoken is great!", 6, 6),
        ("", 0, 0),
    ] {
        assert_eq!(o200k.raw_count(text), o200k_count, "o200k {text:?}");
        assert_eq!(cl100k.raw_count(text), cl100k_count, "cl100k {text:?}");
    }
    // Code and non-English text are far from characters / 4.
    let rust = "impl<T: Clone> From<&[T]> for Vec<T> { fn from(s: &[T]) -> Vec<T> { s.to_vec() } }";
    let japanese = "設定ファイルが空のときにクラッシュします";
    for text in [rust, japanese] {
        let counted = o200k.raw_count(text) as f64;
        let quarter = text.len() as f64 / 4.0;
        assert!(
            (counted - quarter).abs() / counted > 0.1,
            "{text}: {counted} vs {quarter}"
        );
    }
}

struct Row {
    source: String,
    estimated: u64,
    reported: u64,
}

impl Row {
    fn error_percent(&self) -> f64 {
        (self.estimated as f64 - self.reported as f64) / self.reported as f64 * 100.0
    }
}

fn print_table(title: &str, rows: &[Row]) -> f64 {
    println!("\n{title}");
    println!(
        "{:<70} {:>9} {:>9} {:>8}",
        "recorded response", "estimated", "reported", "error"
    );
    for row in rows {
        println!(
            "{:<70} {:>9} {:>9} {:>7.1}%",
            row.source,
            row.estimated,
            row.reported,
            row.error_percent()
        );
    }
    let mean_abs = rows.iter().map(|r| r.error_percent().abs()).sum::<f64>() / rows.len() as f64;
    println!("{} responses, mean |error| {mean_abs:.1}%", rows.len());
    mean_abs
}

/// The request a recorded Anthropic body describes, when it is plain text.
fn anthropic_request(body: &Value) -> Option<LlmRequest> {
    if body.get("tools").is_some() {
        return None;
    }
    let messages = body["messages"]
        .as_array()?
        .iter()
        .map(|m| Some(Message::user(m["content"].as_str()?)))
        .collect::<Option<Vec<_>>>()?;
    Some(LlmRequest {
        system: body["system"].as_str().unwrap_or_default().to_owned(),
        messages,
        max_output_tokens: 1,
        temperature: None,
        json_schema: body["output_config"]["format"]["schema"]
            .as_object()
            .map(|s| JsonSchema {
                name: "recorded".into(),
                schema: Value::Object(s.clone()),
            }),
    })
}

/// A recorded Anthropic answer (a message or an SSE stream): whether it is text only, its
/// text, and the input and output tokens reported.
fn answer_of(body: &Value) -> Option<(bool, String, u64, u64)> {
    if let Some(sse) = body.as_str() {
        let (mut text_only, mut text, mut input, mut output) = (true, String::new(), 0, 0);
        for data in sse.lines().filter_map(|l| l.strip_prefix("data: ")) {
            let event: Value = serde_json::from_str(data.trim()).ok()?;
            match event["type"].as_str()? {
                "message_start" => input = event["message"]["usage"]["input_tokens"].as_u64()?,
                "content_block_start" => text_only &= event["content_block"]["type"] == "text",
                "content_block_delta" => {
                    text.push_str(event["delta"]["text"].as_str().unwrap_or_default())
                }
                "message_delta" => output = event["usage"]["output_tokens"].as_u64()?,
                _ => {}
            }
        }
        return Some((text_only, text, input, output));
    }
    let blocks = body["content"].as_array()?;
    let text = blocks.iter().filter_map(|b| b["text"].as_str()).collect();
    let usage = &body["usage"];
    Some((
        blocks.iter().all(|b| b["type"] == "text"),
        text,
        usage["input_tokens"].as_u64()?,
        usage["output_tokens"].as_u64()?,
    ))
}

#[test]
fn estimates_against_the_usage_anthropic_reported() {
    let Some(dir) = shared_llm_dir() else { return };
    let factor = LlmConfig::default().anthropic_token_factor;
    let claude = TokenEstimator::for_model(ProviderKind::Anthropic, "claude-sonnet-4-5", factor);
    let (mut input_rows, mut output_rows) = (Vec::new(), Vec::new());
    let mut files: Vec<_> = std::fs::read_dir(dir.join("anthropic/http-recorded"))
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut seen_inputs = std::collections::BTreeSet::new();
    for file in &files {
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .chars()
            .take(60)
            .collect::<String>();
        for exchange in read_json(file).as_array().expect("exchanges") {
            let response = &exchange["response"];
            if response["status_code"] != 200 {
                continue;
            }
            let Some((text_only, text, input, output)) = answer_of(&response["body"]) else {
                continue;
            };
            if let Some(request) = anthropic_request(&exchange["request"]["body"])
                && seen_inputs.insert((exchange["request"]["body"].to_string(), input))
            {
                input_rows.push(Row {
                    source: format!("{name} (input)"),
                    estimated: claude.count_request(&request),
                    reported: input,
                });
            }
            if text_only && !text.is_empty() {
                output_rows.push(Row {
                    source: format!("{name} (output)"),
                    estimated: claude.count_text(&text),
                    reported: output,
                });
            }
        }
    }
    println!("Anthropic: o200k × {factor} (+ the structured-output prompt when a schema is sent)");
    let input_error = print_table("input tokens", &input_rows);
    let output_error = print_table("output tokens", &output_rows);
    assert!(input_rows.len() >= 5 && output_rows.len() >= 10);
    assert!(
        input_error < 25.0,
        "input estimate off by {input_error:.1}% on average"
    );
    assert!(
        output_error < 25.0,
        "output estimate off by {output_error:.1}% on average"
    );
    // The factor is a safety margin: what is reserved is rarely below what is used.
    let under = input_rows
        .iter()
        .chain(&output_rows)
        .filter(|r| r.estimated < r.reported)
        .count();
    assert!(
        under * 4 <= input_rows.len() + output_rows.len(),
        "{under} estimates below the usage"
    );
}

#[test]
fn estimates_against_the_usage_openai_reported() {
    let Some(dir) = shared_llm_dir() else { return };
    let gpt = TokenEstimator::for_model(ProviderKind::Openai, "gpt-4o", 1.0);
    let examples = dir.join("openai/chat-completions");
    let mut rows = Vec::new();
    for name in ["default", "logprobs"] {
        let request = read_json(&examples.join(format!("{name}.request.json")));
        let response = read_json(&examples.join(format!("{name}.response.json")));
        let messages = request["messages"].as_array().expect("messages");
        let system = messages
            .iter()
            .find(|m| m["role"] != "user")
            .map(|m| m["content"].as_str().expect("text"));
        let estimate = gpt.count_request(&LlmRequest {
            system: system.unwrap_or_default().to_owned(),
            messages: messages
                .iter()
                .filter(|m| m["role"] == "user")
                .map(|m| Message::user(m["content"].as_str().expect("text")))
                .collect(),
            max_output_tokens: 1,
            temperature: None,
            json_schema: None,
        });
        rows.push(Row {
            source: format!("chat-completions/{name} (input)"),
            estimated: estimate,
            reported: response["usage"]["prompt_tokens"].as_u64().expect("usage"),
        });
        let text = response["choices"][0]["message"]["content"]
            .as_str()
            .expect("text");
        rows.push(Row {
            source: format!("chat-completions/{name} (output)"),
            estimated: gpt.count_text(text),
            reported: response["usage"]["completion_tokens"]
                .as_u64()
                .expect("usage"),
        });
    }
    let mut files: Vec<_> = std::fs::read_dir(dir.join("openai/sse-recorded"))
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sse"))
        .collect();
    files.sort();
    for file in files {
        let sse = std::fs::read_to_string(&file).expect("sse");
        let (mut text, mut completion, mut single_text_choice) = (String::new(), 0, true);
        for data in sse
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter(|d| *d != "[DONE]")
        {
            let chunk: Value = serde_json::from_str(data).expect("chunk");
            for choice in chunk["choices"].as_array().expect("choices") {
                single_text_choice &=
                    choice["index"] == 0 && choice["delta"]["tool_calls"].is_null();
                for field in ["content", "refusal"] {
                    text.push_str(choice["delta"][field].as_str().unwrap_or_default());
                }
            }
            completion = chunk["usage"]["completion_tokens"]
                .as_u64()
                .unwrap_or(completion);
        }
        if single_text_choice && !text.is_empty() {
            rows.push(Row {
                source: format!(
                    "sse-recorded/{} (output)",
                    &file.file_name().expect("name").to_string_lossy()[..16]
                ),
                estimated: gpt.count_text(&text),
                reported: completion,
            });
        }
    }
    let error = print_table("OpenAI gpt-4o: o200k, chat framing of the cookbook", &rows);
    assert!(rows.len() >= 8);
    assert!(
        error < 5.0,
        "OpenAI counts are exact up to framing: {error:.1}%"
    );
}
