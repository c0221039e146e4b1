//! The OpenAI Chat Completions adapter, also for OpenAI-compatible servers (Ollama, vLLM,
//! llama.cpp, LiteLLM): `POST {base}/chat/completions`, `Authorization: Bearer` when a key is
//! set, `usage.prompt_tokens`/`completion_tokens` — estimated and marked so when a server
//! reports none or zero — streaming with `stream_options.include_usage`, and the error
//! mapping (`context_length_exceeded`, `insufficient_quota`, rate-limit reset headers).

use super::error::{self, LlmError, header};
use super::http::Http;
use super::tokens::TokenEstimator;
use super::{BoxFuture, HttpOptions, LlmRequest, LlmResponse, Provider, Role, StopReason, Usage};
use crate::config::{Endpoint, ProviderKind, Secret};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A client of a Chat Completions API for one model.
#[derive(Debug)]
pub struct OpenAi {
    http: Http,
    kind: ProviderKind,
    url: String,
    embeddings_url: String,
    model: String,
    api_key: Option<Secret>,
    api_key_env: Option<String>,
    estimator: TokenEstimator,
}

impl OpenAi {
    /// An adapter for `endpoint`. OpenAI itself requires a key; a compatible server does not.
    pub fn new(
        endpoint: &Endpoint,
        api_key: Option<Secret>,
        options: HttpOptions,
        estimator: TokenEstimator,
    ) -> Result<Self, LlmError> {
        let kind = endpoint.provider;
        if kind == ProviderKind::Openai && api_key.is_none() {
            return Err(LlmError::Authentication {
                provider: kind.as_str().to_owned(),
                env_var: endpoint.api_key_env.clone(),
                message: "no API key is set".to_owned(),
            });
        }
        Ok(Self {
            http: Http::new(kind.as_str(), options)?,
            kind,
            url: format!("{}/chat/completions", endpoint.base_url),
            embeddings_url: format!("{}/embeddings", endpoint.base_url),
            model: endpoint.model.clone(),
            api_key,
            api_key_env: endpoint.api_key_env.clone(),
            estimator,
        })
    }

    fn provider(&self) -> String {
        self.kind.as_str().to_owned()
    }

    async fn send(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let options = self.http.options();
        let stream = options.stream;
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if !request.system.is_empty() {
            messages.push(WireMessage {
                role: "system",
                content: &request.system,
            });
        }
        messages.extend(request.messages.iter().map(|m| WireMessage {
            role: match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            },
            content: &m.content,
        }));
        // OpenAI's reasoning models refuse `max_tokens`; compatible servers know only it.
        let (max_completion_tokens, max_tokens) = match self.kind {
            ProviderKind::Openai => (Some(request.max_output_tokens), None),
            _ => (None, Some(request.max_output_tokens)),
        };
        let body = WireRequest {
            model: &self.model,
            messages,
            max_completion_tokens,
            max_tokens,
            temperature: request.temperature,
            stream,
            stream_options: stream.then_some(StreamOptions {
                include_usage: true,
            }),
            response_format: request
                .json_schema
                .as_ref()
                .filter(|_| options.structured_output)
                .map(|schema| ResponseFormat {
                    kind: "json_schema",
                    json_schema: NamedSchema {
                        name: &schema.name,
                        schema: &schema.schema,
                        strict: true,
                    },
                }),
        };
        let mut builder = self.http.client().post(&self.url).json(&body);
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key.value().expose_secret());
        }
        let mut response = self.http.send(builder, stream).await?;
        let status = response.status();
        let header_id = header(response.headers(), "x-request-id").map(str::to_owned);
        if !status.is_success() {
            let headers = response.headers().clone();
            let text = self.http.text(response, true).await?;
            return Err(self.map_error(status, &headers, &text));
        }
        let mut answer = if stream {
            let mut state = Streamed::default();
            let done = self
                .http
                .events(&mut response, |event| state.on_event(self, &event.data))
                .await?;
            // Some compatible servers close without `[DONE]`; a finish reason is enough.
            if !done && state.finish_reason.is_none() {
                return Err(LlmError::Truncated {
                    provider: self.provider(),
                    message: "the stream ended without a finish reason or [DONE]".to_owned(),
                });
            }
            state.answer
        } else {
            let text = self.http.text(response, false).await?;
            let completion: WireCompletion = serde_json::from_str(&text)
                .map_err(|err| self.http.invalid(format!("not a chat completion: {err}")))?;
            let choice = completion.choices.into_iter().next().ok_or_else(|| {
                self.http
                    .invalid("a chat completion without choices".to_owned())
            })?;
            Answer {
                id: completion.id,
                model: completion.model,
                text: choice.message.content.unwrap_or_default(),
                refusal: choice.message.refusal,
                finish_reason: choice.finish_reason,
                usage: completion.usage,
            }
        };
        let request_id = header_id.or_else(|| answer.id.take());
        Ok(self.finish(request, answer, request_id))
    }

    /// `POST {base}/embeddings` with `model`: one vector per text, in the texts' order, and
    /// the input tokens (estimated, and marked so, when the server reports none).
    pub async fn embed(
        &self,
        model: &str,
        texts: &[String],
    ) -> Result<(Vec<Vec<f32>>, Usage), LlmError> {
        #[derive(Serialize)]
        struct Body<'a> {
            model: &'a str,
            input: &'a [String],
        }
        #[derive(Deserialize)]
        struct Item {
            embedding: Vec<f32>,
            index: usize,
        }
        #[derive(Deserialize)]
        struct Tokens {
            #[serde(default)]
            prompt_tokens: Option<u64>,
        }
        #[derive(Deserialize)]
        struct Embeddings {
            data: Vec<Item>,
            #[serde(default)]
            usage: Option<Tokens>,
        }
        let mut builder = self.http.client().post(&self.embeddings_url).json(&Body {
            model,
            input: texts,
        });
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key.value().expose_secret());
        }
        let response = self.http.send(builder, false).await?;
        let status = response.status();
        if !status.is_success() {
            let headers = response.headers().clone();
            let text = self.http.text(response, true).await?;
            return Err(self.map_error(status, &headers, &text));
        }
        let text = self.http.text(response, false).await?;
        let answer: Embeddings = serde_json::from_str(&text).map_err(|err| {
            self.http
                .invalid(format!("not an embeddings answer: {err}"))
        })?;
        let mut vectors: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for item in answer.data {
            match vectors.get_mut(item.index) {
                Some(slot @ None) => *slot = Some(item.embedding),
                _ => {
                    return Err(self.http.invalid(format!(
                        "embedding {} is repeated or out of the {} asked for",
                        item.index,
                        texts.len()
                    )));
                }
            }
        }
        let vectors: Vec<Vec<f32>> = vectors.into_iter().flatten().collect();
        if vectors.len() != texts.len() {
            return Err(self.http.invalid(format!(
                "{} embeddings for {} texts",
                vectors.len(),
                texts.len()
            )));
        }
        let reported = answer.usage.and_then(|u| u.prompt_tokens).unwrap_or(0);
        let usage = if reported > 0 {
            Usage {
                input_tokens: reported,
                output_tokens: 0,
                estimated: false,
            }
        } else {
            Usage {
                input_tokens: texts.iter().map(|t| self.estimator.count_text(t)).sum(),
                output_tokens: 0,
                estimated: true,
            }
        };
        Ok((vectors, usage))
    }

    /// The response, with usage estimated (and marked) where the server reported none.
    fn finish(
        &self,
        request: &LlmRequest,
        answer: Answer,
        request_id: Option<String>,
    ) -> LlmResponse {
        let reported = answer.usage.unwrap_or_default();
        let refused = answer.refusal.as_deref().is_some_and(|r| !r.is_empty());
        let text = match answer.refusal {
            Some(refusal) if refused => refusal,
            _ => answer.text,
        };
        let mut usage = Usage {
            input_tokens: reported.prompt_tokens.unwrap_or(0),
            output_tokens: reported.completion_tokens.unwrap_or(0),
            estimated: false,
        };
        if usage.input_tokens == 0 {
            usage.input_tokens = self.estimator.count_request(request);
            usage.estimated = true;
        }
        if usage.output_tokens == 0 && !text.is_empty() {
            usage.output_tokens = self.estimator.count_text(&text);
            usage.estimated = true;
        }
        let stop_reason = if refused {
            StopReason::Refusal
        } else {
            match answer.finish_reason.as_deref() {
                Some("stop") | None => StopReason::EndTurn,
                Some("length") => StopReason::MaxTokens,
                Some("content_filter") => StopReason::ContentFilter,
                Some("tool_calls" | "function_call") => StopReason::ToolUse,
                Some(other) => StopReason::Other(other.to_owned()),
            }
        };
        LlmResponse {
            text,
            stop_reason,
            usage,
            request_id,
            model: if answer.model.is_empty() {
                self.model.clone()
            } else {
                answer.model
            },
            provider: self.provider(),
        }
    }

    /// Maps an HTTP error (or an error object inside a stream, `status` 200) to [`LlmError`].
    fn map_error(&self, status: StatusCode, headers: &HeaderMap, body: &str) -> LlmError {
        let parsed: Option<WireErrorEnvelope> = serde_json::from_str(body).ok();
        let error = parsed.map(|e| e.error).unwrap_or_else(|| WireError {
            message: body.trim().to_owned(),
            ..WireError::default()
        });
        let request_id = header(headers, "x-request-id").map(str::to_owned);
        self.error_of(status.as_u16(), error, headers, request_id)
    }

    fn error_of(
        &self,
        status: u16,
        error: WireError,
        headers: &HeaderMap,
        request_id: Option<String>,
    ) -> LlmError {
        let provider = self.provider();
        let code = error.code.as_deref().unwrap_or_default();
        let kind = error.kind.as_deref().unwrap_or_default();
        let message = error.message;
        if code == "context_length_exceeded" || message.contains("maximum context length") {
            return LlmError::ContextTooLong {
                provider,
                tokens: error::number_after(&message, "resulted in")
                    .or_else(|| error::number_after(&message, "you requested")),
                limit: error::number_after(&message, "maximum context length is"),
                message,
            };
        }
        if code == "insufficient_quota" || kind == "insufficient_quota" {
            return LlmError::QuotaExhausted { provider, message };
        }
        match status {
            401 | 403 => LlmError::Authentication {
                provider,
                env_var: self.api_key_env.clone(),
                message,
            },
            429 => LlmError::RateLimited {
                provider,
                retry_after: error::retry_after(headers).or_else(|| reset_after(headers)),
                reset_at_ms: error::retry_after_date(headers),
                message,
                request_id,
            },
            503 => LlmError::Overloaded {
                provider,
                message,
                request_id,
            },
            408 | 500.. => LlmError::Server {
                provider,
                status,
                message,
                request_id,
            },
            200 => LlmError::Server {
                provider,
                status,
                message: format!("{kind}: {message}"),
                request_id,
            },
            _ => LlmError::BadRequest {
                provider,
                status,
                message,
                request_id,
            },
        }
    }
}

/// The longest `x-ratelimit-reset-*` among the limits whose `x-ratelimit-remaining-*` is 0.
fn reset_after(headers: &HeaderMap) -> Option<Duration> {
    ["requests", "tokens"]
        .iter()
        .filter(|limit| header(headers, &format!("x-ratelimit-remaining-{limit}")) == Some("0"))
        .filter_map(|limit| header(headers, &format!("x-ratelimit-reset-{limit}")))
        .filter_map(error::parse_go_duration)
        .max()
}

impl Provider for OpenAi {
    fn name(&self) -> &str {
        self.kind.as_str()
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn complete<'a>(
        &'a self,
        request: &'a LlmRequest,
    ) -> BoxFuture<'a, Result<LlmResponse, LlmError>> {
        Box::pin(self.send(request))
    }
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<ResponseFormat<'a>>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct ResponseFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    json_schema: NamedSchema<'a>,
}

#[derive(Serialize)]
struct NamedSchema<'a> {
    name: &'a str,
    schema: &'a serde_json::Value,
    strict: bool,
}

#[derive(Deserialize)]
struct WireErrorEnvelope {
    error: WireError,
}

#[derive(Deserialize, Default)]
struct WireError {
    #[serde(default)]
    message: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct WireUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct WireCompletion {
    id: Option<String>,
    #[serde(default)]
    model: String,
    #[serde(default)]
    choices: Vec<WireChoice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireAnswerMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireAnswerMessage {
    content: Option<String>,
    refusal: Option<String>,
}

/// One streamed chunk: a delta, the final usage, or an error.
#[derive(Deserialize)]
struct WireChunk {
    id: Option<String>,
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChunkChoice>,
    usage: Option<WireUsage>,
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct WireChunkChoice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: WireDelta,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireDelta {
    content: Option<String>,
    refusal: Option<String>,
}

/// An answer as read, before usage is completed.
#[derive(Default)]
struct Answer {
    id: Option<String>,
    model: String,
    text: String,
    refusal: Option<String>,
    finish_reason: Option<String>,
    usage: Option<WireUsage>,
}

#[derive(Default)]
struct Streamed {
    answer: Answer,
    finish_reason: Option<String>,
}

impl Streamed {
    /// Takes one event; `true` at `[DONE]`.
    fn on_event(&mut self, adapter: &OpenAi, data: &str) -> Result<bool, LlmError> {
        if data.trim() == "[DONE]" {
            return Ok(true);
        }
        let chunk: WireChunk = serde_json::from_str(data).map_err(|err| {
            adapter
                .http
                .invalid(format!("unreadable stream chunk: {err}"))
        })?;
        if let Some(error) = chunk.error {
            return Err(adapter.error_of(200, error, &HeaderMap::new(), chunk.id));
        }
        let answer = &mut self.answer;
        if answer.id.is_none() {
            answer.id = chunk.id;
        }
        if let Some(model) = chunk.model {
            answer.model = model;
        }
        // Only the first choice is read: GlobalLM never asks for more than one.
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(content) = choice.delta.content {
                answer.text.push_str(&content);
            }
            if let Some(refusal) = choice.delta.refusal {
                answer.refusal.get_or_insert_default().push_str(&refusal);
            }
            if choice.finish_reason.is_some() {
                answer.finish_reason = choice.finish_reason.clone();
                self.finish_reason = choice.finish_reason;
            }
        }
        if chunk.usage.is_some() {
            answer.usage = chunk.usage;
        }
        Ok(false)
    }
}
